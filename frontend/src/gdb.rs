//! The GDB remote stub (`x86 run --gdb tcp::1234`, `-s`, `--wait-gdb`/`-S`): GDB's
//! Remote Serial Protocol over TCP, spoken by the `gdbstub` crate; this module owns the
//! socket and maps the protocol's requests onto the machine.
//!
//! - Registers: GDB's i386 target description (gdb/features/i386/32bit-core.xml:
//!   eax…edi, eip, eflags, cs ss ds es fs gs, st0–st7, fctrl fstat ftag fiseg fioff
//!   foseg fooff fop — no SSE feature, as a Pentium II has none) plus a feature of our
//!   own, `x86.sys`, with cr0 cr2 cr3 cr4 (read-only). Descriptor caches, GDTR/IDTR and
//!   the rest: `monitor regs`.
//! - Memory: GDB's addresses are linear (CS base + EIP is where a breakpoint sits, as
//!   with QEMU), read and written through the guest's page tables without side effects;
//!   `monitor phys ADDR [LEN]` dumps physical memory, `monitor translate ADDR` walks.
//! - Breakpoints (`Z0`, `Z1`) and write watchpoints (`Z2`) are the CPU's host-debugger
//!   hooks (`cpu/src/debug.rs`): no guest memory is patched, the guest's DR0–DR7 are its
//!   own. Single steps mask interrupts for the stepped instruction (as QEMU does).
//! - The guest stops when GDB connects; detaching (or GDB going away) clears every
//!   breakpoint and lets the guest run on; `kill` ends the run. One debugger at a time;
//!   after it leaves, another may connect.
//!
//! The CPU and machine know nothing of sockets: the run loops call [`Gdb::poll`] before
//! each slice (it says whether and how far the guest may run) and [`Gdb::after_slice`]
//! after it (it reports a breakpoint, watchpoint or finished step).

use crate::run::Session;
use gdbstub::arch::{Arch, Registers};
use gdbstub::common::Signal;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStub, SingleThreadStopReason};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps,
    SwBreakpoint, SwBreakpointOps, WatchKind,
};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::target_description_xml_override::{
    TargetDescriptionXmlOverride, TargetDescriptionXmlOverrideOps,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Instructions per slice while GDB lets the guest run (as without a debugger).
const SLICE: u64 = 100_000;

/// The architecture as GDB sees it: i386 with the x87 and our control registers.
pub enum X86 {}

impl Arch for X86 {
    type Usize = u32;
    type Registers = Regs;
    type RegId = ();
    type BreakpointKind = usize;

    fn target_description_xml() -> Option<&'static str> {
        Some(TARGET_XML)
    }
}

/// The target description GDB gets: its architecture follows the CPU when GDB
/// connects — `i8086` in real and V86 mode, so GDB disassembles 16-bit code (a user's
/// `set architecture i8086` alone does not change GDB's disassembler once a target
/// description names `i386`), `i386` otherwise. GDB reads it once per connection.
pub fn target_xml(real_mode: bool) -> String {
    let arch = if real_mode { "i8086" } else { "i386" };
    TARGET_XML.replace(
        "<architecture>i386</architecture>",
        &format!("<architecture>{arch}</architecture>"),
    )
}

/// The core feature is GDB's own `32bit-core.xml` (register names, order and types are
/// what GDB's i386 support validates); `x86.sys` is ours.
const TARGET_XML: &str = r#"<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
<architecture>i386</architecture>
<feature name="org.gnu.gdb.i386.core">
  <flags id="i386_eflags" size="4">
    <field name="CF" start="0" end="0"/>
    <field name="" start="1" end="1"/>
    <field name="PF" start="2" end="2"/>
    <field name="AF" start="4" end="4"/>
    <field name="ZF" start="6" end="6"/>
    <field name="SF" start="7" end="7"/>
    <field name="TF" start="8" end="8"/>
    <field name="IF" start="9" end="9"/>
    <field name="DF" start="10" end="10"/>
    <field name="OF" start="11" end="11"/>
    <field name="NT" start="14" end="14"/>
    <field name="RF" start="16" end="16"/>
    <field name="VM" start="17" end="17"/>
    <field name="AC" start="18" end="18"/>
    <field name="VIF" start="19" end="19"/>
    <field name="VIP" start="20" end="20"/>
    <field name="ID" start="21" end="21"/>
  </flags>
  <reg name="eax" bitsize="32" type="int32"/>
  <reg name="ecx" bitsize="32" type="int32"/>
  <reg name="edx" bitsize="32" type="int32"/>
  <reg name="ebx" bitsize="32" type="int32"/>
  <reg name="esp" bitsize="32" type="data_ptr"/>
  <reg name="ebp" bitsize="32" type="data_ptr"/>
  <reg name="esi" bitsize="32" type="int32"/>
  <reg name="edi" bitsize="32" type="int32"/>
  <reg name="eip" bitsize="32" type="code_ptr"/>
  <reg name="eflags" bitsize="32" type="i386_eflags"/>
  <reg name="cs" bitsize="32" type="int32"/>
  <reg name="ss" bitsize="32" type="int32"/>
  <reg name="ds" bitsize="32" type="int32"/>
  <reg name="es" bitsize="32" type="int32"/>
  <reg name="fs" bitsize="32" type="int32"/>
  <reg name="gs" bitsize="32" type="int32"/>
  <reg name="st0" bitsize="80" type="i387_ext"/>
  <reg name="st1" bitsize="80" type="i387_ext"/>
  <reg name="st2" bitsize="80" type="i387_ext"/>
  <reg name="st3" bitsize="80" type="i387_ext"/>
  <reg name="st4" bitsize="80" type="i387_ext"/>
  <reg name="st5" bitsize="80" type="i387_ext"/>
  <reg name="st6" bitsize="80" type="i387_ext"/>
  <reg name="st7" bitsize="80" type="i387_ext"/>
  <reg name="fctrl" bitsize="32" type="int" group="float"/>
  <reg name="fstat" bitsize="32" type="int" group="float"/>
  <reg name="ftag" bitsize="32" type="int" group="float"/>
  <reg name="fiseg" bitsize="32" type="int" group="float"/>
  <reg name="fioff" bitsize="32" type="int" group="float"/>
  <reg name="foseg" bitsize="32" type="int" group="float"/>
  <reg name="fooff" bitsize="32" type="int" group="float"/>
  <reg name="fop" bitsize="32" type="int" group="float"/>
</feature>
<feature name="x86.sys">
  <reg name="cr0" bitsize="32" type="int32"/>
  <reg name="cr2" bitsize="32" type="data_ptr"/>
  <reg name="cr3" bitsize="32" type="int32"/>
  <reg name="cr4" bitsize="32" type="int32"/>
</feature>
</target>
"#;

/// The `g` packet's registers, in the target description's order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Regs {
    /// eax ecx edx ebx esp ebp esi edi, eip, eflags, cs ss ds es fs gs.
    pub core: [u32; 16],
    /// ST(0)–ST(7), 80-bit extended, little-endian (64-bit significand, then the
    /// sign/exponent word).
    pub st: [[u8; 10]; 8],
    /// fctrl fstat ftag fiseg fioff foseg fooff fop.
    pub fpu: [u32; 8],
    /// cr0 cr2 cr3 cr4.
    pub sys: [u32; 4],
}

/// Bytes in a `g` packet: 16 × 4 + 8 × 10 + 8 × 4 + 4 × 4.
pub const REGS_BYTES: usize = 64 + 80 + 32 + 16;

impl Registers for Regs {
    type ProgramCounter = u32;

    fn pc(&self) -> u32 {
        self.core[8]
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        let words = |w: &[u32], out: &mut dyn FnMut(Option<u8>)| {
            w.iter()
                .flat_map(|v| v.to_le_bytes())
                .for_each(|b| out(Some(b)))
        };
        words(&self.core, &mut write_byte);
        self.st.iter().flatten().for_each(|&b| write_byte(Some(b)));
        words(&self.fpu, &mut write_byte);
        words(&self.sys, &mut write_byte);
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() != REGS_BYTES {
            return Err(());
        }
        let word =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        for (i, r) in self.core.iter_mut().enumerate() {
            *r = word(4 * i);
        }
        for (i, st) in self.st.iter_mut().enumerate() {
            st.copy_from_slice(&bytes[64 + 10 * i..74 + 10 * i]);
        }
        for (i, r) in self.fpu.iter_mut().enumerate() {
            *r = word(144 + 4 * i);
        }
        for (i, r) in self.sys.iter_mut().enumerate() {
            *r = word(176 + 4 * i);
        }
        Ok(())
    }
}

/// Our segment-register numbers in GDB's order (cs ss ds es fs gs).
const GDB_SEGS: [usize; 6] = [cpu::CS, cpu::SS, cpu::DS, cpu::ES, cpu::FS, cpu::GS];

/// The registers GDB sees, from the CPU.
pub fn read_regs(c: &cpu::Cpu) -> Regs {
    let mut r = Regs::default();
    r.core[..8].copy_from_slice(&c.regs);
    r.core[8] = c.eip;
    r.core[9] = c.eflags;
    for (i, &s) in GDB_SEGS.iter().enumerate() {
        r.core[10 + i] = c.seg[s].selector as u32;
    }
    let f = &c.fpu;
    for (i, st) in r.st.iter_mut().enumerate() {
        let v = f.st(i);
        st[..8].copy_from_slice(&v.m.to_le_bytes());
        st[8..].copy_from_slice(&v.se.to_le_bytes());
    }
    r.fpu = [
        f.cw as u32,
        f.sw as u32,
        f.tag_word() as u32,
        f.fcs as u32,
        f.fip,
        f.fds as u32,
        f.fdp,
        f.fop as u32 & 0x7FF,
    ];
    r.sys = [c.cr0, c.cr2, c.cr3, c.cr4];
    r
}

/// Applies GDB's register values. Segment registers change only in real and V86 mode
/// (base = selector × 16); in protected mode a new selector would need a descriptor
/// load with its checks, so a changed one is refused. Control registers are
/// read-only here.
pub fn write_regs(c: &mut cpu::Cpu, r: &Regs) -> Result<(), &'static str> {
    let real = !c.protected() || c.v86();
    for (i, &s) in GDB_SEGS.iter().enumerate() {
        let sel = r.core[10 + i] as u16;
        if sel != c.seg[s].selector && !real {
            return Err("segment registers can be changed in real and V86 mode only");
        }
    }
    c.regs.copy_from_slice(&r.core[..8]);
    c.eip = r.core[8];
    // Bit 1 always reads as 1; the reserved bits 3, 5, 15 and 22–31 as 0.
    c.eflags = (r.core[9] & 0x003F_7FD5) | 2;
    for (i, &s) in GDB_SEGS.iter().enumerate() {
        let sel = r.core[10 + i] as u16;
        if sel != c.seg[s].selector {
            c.seg[s].load_real(sel);
        }
    }
    let f = &mut c.fpu;
    f.cw = (r.fpu[0] as u16 & 0x1F3F) | 0x40;
    f.sw = r.fpu[1] as u16;
    for (i, st) in r.st.iter().enumerate() {
        let m = u64::from_le_bytes(st[..8].try_into().unwrap_or_default());
        let se = u16::from_le_bytes([st[8], st[9]]);
        f.set_st(i, cpu::fpu::F80 { se, m });
    }
    // Which registers are empty comes from the tag word, as FLDENV takes it.
    f.set_tag_word(r.fpu[2] as u16);
    f.fcs = r.fpu[3] as u16;
    f.fip = r.fpu[4];
    f.fds = r.fpu[5] as u16;
    f.fdp = r.fpu[6];
    f.fop = r.fpu[7] as u16 & 0x7FF;
    Ok(())
}

/// What the debugger asked the guest to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    Continue,
    /// One instruction from this instruction count.
    Step(u64),
}

/// The debugger's state that GDB's requests change (kept in the [`Session`]).
#[derive(Default)]
pub struct DebugState {
    sw: Vec<u32>,
    hw: Vec<u32>,
    watch: Vec<(u32, u32)>,
    resume: Option<Resume>,
    /// `kill` was asked for.
    kill: bool,
    /// This connection's target description (see [`target_xml`]).
    xml: String,
}

impl DebugState {
    /// Hands the breakpoint and watchpoint lists to the CPU.
    fn sync(&self, c: &mut cpu::Cpu) {
        let mut all = self.sw.clone();
        all.extend(&self.hw);
        c.set_debug_breakpoints(&all);
        c.set_debug_watchpoints(&self.watch);
    }
}

/// Parses `--gdb`: `tcp::PORT` (127.0.0.1) or `tcp:HOST:PORT`, as QEMU's `-gdb`.
pub fn parse_spec(spec: &str) -> Result<String, String> {
    let bad = || format!("--gdb {spec}: expected tcp::PORT or tcp:HOST:PORT (e.g. tcp::1234)");
    let rest = spec.strip_prefix("tcp:").ok_or_else(bad)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    // An IPv6 address is written in brackets, as in a URL: tcp:[::1]:1234.
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(bad());
    }
    Ok(format!("{host}:{port}"))
}

/// What the run loop does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Run at most this many instructions.
    Run(u64),
    /// The guest is stopped in the debugger (or waits for one: `--wait-gdb`).
    Stopped,
    /// GDB said `kill`: end the run.
    Kill,
}

type Machine = GdbStubStateMachine<'static, Session, TcpStream>;

/// The listening socket and the debugger connected to it, if any.
pub struct Gdb {
    listener: TcpListener,
    pub addr: String,
    conn: Option<Machine>,
    /// `--wait-gdb` and no debugger has connected yet.
    waiting: bool,
}

impl Gdb {
    /// Listens on `spec` (see [`parse_spec`]); with `wait`, the guest stays at the
    /// reset vector until a debugger connects and continues it.
    pub fn listen(spec: &str, wait: bool) -> Result<Gdb, String> {
        let addr = parse_spec(spec)?;
        let listener = TcpListener::bind(&addr)
            .map_err(|e| format!("cannot listen for GDB on {addr}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen for GDB on {addr}: {e}"))?;
        let addr = listener.local_addr().map_or(addr, |a| a.to_string());
        Ok(Gdb {
            listener,
            addr,
            conn: None,
            waiting: wait,
        })
    }

    /// Whether a debugger holds the guest stopped (or `--wait-gdb` waits for one).
    pub fn stopped(&self) -> bool {
        self.waiting || matches!(self.conn, Some(GdbStubStateMachine::Idle(_)))
    }

    /// Serves the debugger: accepts a connection, handles what GDB sent (waiting up to
    /// `wait` for it while the guest is stopped) and says what the guest does next.
    pub fn poll(&mut self, s: &mut Session, wait: Duration) -> Next {
        let deadline = Instant::now() + wait;
        if self.conn.is_none() {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    log::info!(target: "gdb", "debugger connected from {peer}");
                    self.attach(s, stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if self.waiting {
                        std::thread::sleep(wait.min(Duration::from_millis(10)));
                        return Next::Stopped;
                    }
                    return Next::Run(SLICE);
                }
                Err(e) => {
                    log::warn!(target: "gdb", "accepting a debugger failed: {e}");
                    return if self.waiting {
                        Next::Stopped
                    } else {
                        Next::Run(SLICE)
                    };
                }
            }
        }
        loop {
            let Some(machine) = self.conn.take() else {
                break;
            };
            let running = matches!(machine, GdbStubStateMachine::Running(_));
            let left = deadline.saturating_duration_since(Instant::now());
            let (machine, bytes) = read_some(machine, (!running).then_some(left));
            let mut machine = match bytes {
                Ok(b) => self.feed(s, machine, &b),
                Err(why) => {
                    log::info!(target: "gdb", "debugger connection ended: {why}");
                    self.detach(s);
                    None
                }
            };
            // Ctrl-C: stop the guest and tell GDB.
            if let Some(GdbStubStateMachine::CtrlCInterrupt(m)) = machine {
                s.dbg.resume = None;
                machine = match m
                    .interrupt_handled(s, Some(SingleThreadStopReason::Signal(Signal::SIGINT)))
                {
                    Ok(m) => Some(m),
                    Err(e) => self.fail(s, e),
                };
            }
            machine = self.settle(s, machine);
            self.conn = machine;
            if s.dbg.kill {
                return Next::Kill;
            }
            if running || !self.stopped() || Instant::now() >= deadline {
                break;
            }
        }
        if self.stopped() {
            return Next::Stopped;
        }
        match s.dbg.resume {
            Some(Resume::Step(_)) => {
                s.pc.cpu.inhibit_irq_once();
                Next::Run(1)
            }
            _ => Next::Run(SLICE),
        }
    }

    /// Reports a breakpoint, watchpoint or finished single step after a slice.
    pub fn after_slice(&mut self, s: &mut Session) {
        if !matches!(self.conn, Some(GdbStubStateMachine::Running(_))) {
            // Not debugging: a stop can only be left over from a debugger that left.
            s.pc.cpu.take_debug_stop();
            return;
        }
        let reason = match s.pc.cpu.take_debug_stop() {
            Some(cpu::DebugStop::Breakpoint(a))
                if s.dbg.hw.contains(&a) && !s.dbg.sw.contains(&a) =>
            {
                Some(SingleThreadStopReason::HwBreak(()))
            }
            Some(cpu::DebugStop::Breakpoint(_)) => Some(SingleThreadStopReason::SwBreak(())),
            Some(cpu::DebugStop::Watch(addr)) => Some(SingleThreadStopReason::Watch {
                tid: (),
                kind: WatchKind::Write,
                addr,
            }),
            None => match s.dbg.resume {
                Some(Resume::Step(from)) if s.pc.instructions() > from => {
                    Some(SingleThreadStopReason::DoneStep)
                }
                _ => None,
            },
        };
        let Some(reason) = reason else {
            return;
        };
        let Some(GdbStubStateMachine::Running(m)) = self.conn.take() else {
            return;
        };
        s.dbg.resume = None;
        self.conn = match m.report_stop(s, reason) {
            Ok(m) => self.settle(s, Some(m)),
            Err(e) => self.fail(s, e),
        };
    }

    /// The run is ending (the guest powered off, a signal, a timeout): GDB hears that
    /// the target exited.
    pub fn ended(&mut self, s: &mut Session) {
        if let Some(GdbStubStateMachine::Running(m)) = self.conn.take() {
            let _ = m.report_stop(s, SingleThreadStopReason::Exited(0));
        }
    }

    fn attach(&mut self, s: &mut Session, stream: TcpStream) {
        // The socket stays blocking for GDB's replies; reads poll (see `read_some`).
        let _ = stream.set_nodelay(true);
        let c = &s.pc.cpu;
        s.dbg = DebugState {
            xml: target_xml(!c.protected() || c.v86()),
            ..Default::default()
        };
        s.dbg.sync(&mut s.pc.cpu);
        match GdbStub::new(stream).run_state_machine(s) {
            Ok(m) => self.conn = Some(m),
            Err(e) => {
                log::warn!(target: "gdb", "debugger session failed to start: {e}");
            }
        }
        self.waiting = false;
    }

    /// Feeds received bytes to the protocol machine.
    fn feed(&mut self, s: &mut Session, mut m: Machine, bytes: &[u8]) -> Option<Machine> {
        for &b in bytes {
            let r = match m {
                GdbStubStateMachine::Idle(i) => i.incoming_data(s, b),
                GdbStubStateMachine::Running(r) => r.incoming_data(s, b),
                other => Ok(other),
            };
            m = match r {
                Ok(m) => m,
                Err(e) => return self.fail(s, e),
            };
        }
        Some(m)
    }

    /// Ends a disconnected session: a detach lets the guest run on; `kill` ends the run.
    fn settle(&mut self, s: &mut Session, m: Option<Machine>) -> Option<Machine> {
        match m {
            Some(GdbStubStateMachine::Disconnected(d)) => {
                match d.get_reason() {
                    DisconnectReason::Kill => s.dbg.kill = true,
                    r => log::info!(target: "gdb", "debugger detached ({r:?}); the guest runs on"),
                }
                self.detach(s);
                None
            }
            m => m,
        }
    }

    fn fail(
        &mut self,
        s: &mut Session,
        e: gdbstub::stub::GdbStubError<&'static str, std::io::Error>,
    ) -> Option<Machine> {
        log::warn!(target: "gdb", "debugger connection dropped: {e}");
        self.detach(s);
        None
    }

    /// No debugger any more: no breakpoints, and the guest runs.
    fn detach(&mut self, s: &mut Session) {
        let kill = s.dbg.kill;
        s.dbg = DebugState {
            kill,
            ..Default::default()
        };
        s.dbg.sync(&mut s.pc.cpu);
        s.pc.cpu.take_debug_stop();
        self.waiting = false;
    }
}

/// Reads what GDB sent: without waiting (`None`, the guest is running: only a Ctrl-C
/// can come) or for up to `wait`. `Err` when the connection is gone.
fn read_some(mut m: Machine, wait: Option<Duration>) -> (Machine, Result<Vec<u8>, String>) {
    let conn = match &mut m {
        GdbStubStateMachine::Idle(i) => i.borrow_conn(),
        GdbStubStateMachine::Running(r) => r.borrow_conn(),
        GdbStubStateMachine::CtrlCInterrupt(c) => c.borrow_conn(),
        GdbStubStateMachine::Disconnected(d) => d.borrow_conn(),
    };
    let r = read_conn(conn, wait);
    (m, r)
}

fn read_conn(conn: &mut TcpStream, wait: Option<Duration>) -> Result<Vec<u8>, String> {
    let mut buf = [0u8; 4096];
    let setup = match wait {
        None => conn.set_nonblocking(true),
        // A zero timeout is refused by the socket API: wait a microsecond at least.
        Some(w) => conn.set_read_timeout(Some(w.max(Duration::from_micros(1)))),
    };
    setup.map_err(|e| e.to_string())?;
    let r = conn.read(&mut buf);
    if wait.is_none() {
        conn.set_nonblocking(false).map_err(|e| e.to_string())?;
    }
    match r {
        Ok(0) => Err("closed by the debugger".into()),
        Ok(n) => Ok(buf[..n].to_vec()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::Interrupted
            ) =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(e.to_string()),
    }
}

impl Target for Session {
    type Arch = X86;
    type Error = &'static str;

    #[inline(always)]
    fn base_ops(&mut self) -> BaseOps<'_, X86, &'static str> {
        BaseOps::SingleThread(self)
    }

    #[inline(always)]
    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_target_description_xml_override(
        &mut self,
    ) -> Option<TargetDescriptionXmlOverrideOps<'_, Self>> {
        Some(self)
    }
}

impl TargetDescriptionXmlOverride for Session {
    fn target_description_xml(
        &self,
        annex: &[u8],
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        if annex != b"target.xml" {
            return Err(TargetError::NonFatal);
        }
        let xml = self.dbg.xml.as_bytes();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(xml.len());
        let n = length.min(buf.len()).min(xml.len() - start);
        buf[..n].copy_from_slice(&xml[start..start + n]);
        Ok(n)
    }
}

impl SingleThreadBase for Session {
    fn read_registers(&mut self, regs: &mut Regs) -> TargetResult<(), Self> {
        *regs = read_regs(&self.pc.cpu);
        Ok(())
    }

    fn write_registers(&mut self, regs: &Regs) -> TargetResult<(), Self> {
        write_regs(&mut self.pc.cpu, regs).map_err(|e| {
            log::warn!(target: "gdb", "register write refused: {e}");
            TargetError::NonFatal
        })
    }

    fn read_addrs(&mut self, addr: u32, data: &mut [u8]) -> TargetResult<usize, Self> {
        match self.pc.debug_read(addr, false, data) {
            0 if !data.is_empty() => Err(TargetError::NonFatal),
            n => Ok(n),
        }
    }

    fn write_addrs(&mut self, addr: u32, data: &[u8]) -> TargetResult<(), Self> {
        if self.pc.debug_write(addr, false, data) == data.len() {
            Ok(())
        } else {
            Err(TargetError::NonFatal)
        }
    }

    #[inline(always)]
    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for Session {
    fn resume(&mut self, _signal: Option<Signal>) -> Result<(), &'static str> {
        // A PC has no signals to deliver: a signal GDB passes on is dropped.
        self.pc.cpu.debug_resume();
        self.dbg.resume = Some(Resume::Continue);
        Ok(())
    }

    #[inline(always)]
    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for Session {
    fn step(&mut self, _signal: Option<Signal>) -> Result<(), &'static str> {
        self.pc.cpu.debug_resume();
        self.dbg.resume = Some(Resume::Step(self.pc.instructions()));
        Ok(())
    }
}

impl Breakpoints for Session {
    #[inline(always)]
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
    #[inline(always)]
    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }
    #[inline(always)]
    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

/// Removes one `item` from `v`; false if it was not there.
fn remove_one<T: PartialEq>(v: &mut Vec<T>, item: &T) -> bool {
    match v.iter().position(|x| x == item) {
        Some(i) => {
            v.remove(i);
            true
        }
        None => false,
    }
}

impl SwBreakpoint for Session {
    fn add_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.dbg.sw.push(addr);
        self.dbg.sync(&mut self.pc.cpu);
        Ok(true)
    }
    fn remove_sw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        let found = remove_one(&mut self.dbg.sw, &addr);
        self.dbg.sync(&mut self.pc.cpu);
        Ok(found)
    }
}

impl HwBreakpoint for Session {
    fn add_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        self.dbg.hw.push(addr);
        self.dbg.sync(&mut self.pc.cpu);
        Ok(true)
    }
    fn remove_hw_breakpoint(&mut self, addr: u32, _kind: usize) -> TargetResult<bool, Self> {
        let found = remove_one(&mut self.dbg.hw, &addr);
        self.dbg.sync(&mut self.pc.cpu);
        Ok(found)
    }
}

impl HwWatchpoint for Session {
    fn add_hw_watchpoint(
        &mut self,
        addr: u32,
        len: u32,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        // Writes only: read watchpoints would need a hook on every read. GDB then says
        // it could not insert the watchpoint.
        if kind != WatchKind::Write || len == 0 {
            return Ok(false);
        }
        self.dbg.watch.push((addr, len));
        self.dbg.sync(&mut self.pc.cpu);
        Ok(true)
    }
    fn remove_hw_watchpoint(
        &mut self,
        addr: u32,
        len: u32,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        if kind != WatchKind::Write {
            return Ok(false);
        }
        let found = remove_one(&mut self.dbg.watch, &(addr, len));
        self.dbg.sync(&mut self.pc.cpu);
        Ok(found)
    }
}

/// Parses a number as GDB users write it: `0x` hex or decimal.
fn number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

const MONITOR_HELP: &str = "\
monitor commands:
  phys ADDR [LEN]    hex dump of physical memory (LEN bytes, default 64, at most 4096)
  translate ADDR     the physical address of linear ADDR through the page tables
  regs               control, descriptor-table and segment registers (with their
                     descriptor caches), CPL, mode, instructions and virtual time
  reset              press the reset button (the CPU and devices start over)
  help               this text";

impl MonitorCmd for Session {
    fn handle_monitor_cmd(
        &mut self,
        cmd: &[u8],
        mut out: ConsoleOutput<'_>,
    ) -> Result<(), &'static str> {
        use std::fmt::Write;
        let cmd = String::from_utf8_lossy(cmd);
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let text = monitor(self, &words);
        let _ = write!(out, "{text}");
        Ok(())
    }
}

/// A monitor command's answer (ends with a newline).
fn monitor(s: &mut Session, words: &[&str]) -> String {
    let c = &s.pc.cpu;
    match words {
        ["phys", addr, rest @ ..] if rest.len() <= 1 => {
            let Some(addr) = number(addr) else {
                return format!("phys: bad address {addr}\n");
            };
            let len = match rest.first() {
                Some(l) => match number(l) {
                    Some(n) if n <= 4096 => n as usize,
                    _ => return format!("phys: bad length {l} (1 to 4096)\n"),
                },
                None => 64,
            };
            let mut buf = vec![0u8; len];
            s.pc.debug_read(addr, true, &mut buf);
            hex_dump(addr, &buf)
        }
        ["translate", addr] => match number(addr) {
            Some(a) => match c.debug_translate(&mut s.pc.bus, a) {
                Some(p) => format!("linear {a:#010x} -> physical {p:#010x}\n"),
                None => format!("linear {a:#010x}: page not present\n"),
            },
            None => format!("translate: bad address {addr}\n"),
        },
        ["regs"] => {
            let mode = if !c.protected() {
                "real"
            } else if c.v86() {
                "virtual-8086"
            } else if c.cr0 & cpu::CR0_PG != 0 {
                "protected, paged"
            } else {
                "protected"
            };
            let mut t = format!(
                "mode {mode}, CPL {}\ncr0 {:08x}  cr2 {:08x}  cr3 {:08x}  cr4 {:08x}\n",
                c.cpl, c.cr0, c.cr2, c.cr3, c.cr4
            );
            t += &format!(
                "gdtr base {:08x} limit {:04x}  idtr base {:08x} limit {:04x}\n",
                c.gdtr.base, c.gdtr.limit, c.idtr.base, c.idtr.limit
            );
            let names = ["es", "cs", "ss", "ds", "fs", "gs"];
            let segs = c
                .seg
                .iter()
                .zip(names)
                .chain([(&c.ldtr, "ldtr"), (&c.tr, "tr")]);
            for (sg, n) in segs {
                t += &format!(
                    "{n:<4} {:04x}  base {:08x} limit {:08x} attr {:04x}\n",
                    sg.selector, sg.base, sg.limit, sg.attr
                );
            }
            t += &format!(
                "dr0-3 {:08x} {:08x} {:08x} {:08x}  dr6 {:08x}  dr7 {:08x}\n",
                c.dr[0], c.dr[1], c.dr[2], c.dr[3], c.dr[6], c.dr[7]
            );
            t += &format!(
                "instructions {}  virtual time {:.6} s\n",
                c.icount,
                s.pc.bus.now as f64 / 1e9
            );
            t
        }
        ["reset"] => {
            s.pc.reset();
            "reset: the machine starts over at f000:fff0\n".into()
        }
        ["help"] | [] => format!("{MONITOR_HELP}\n"),
        _ => format!(
            "unknown monitor command '{}'; try monitor help\n",
            words.join(" ")
        ),
    }
}

/// Sixteen bytes a line: address, hex bytes, ASCII.
fn hex_dump(addr: u32, bytes: &[u8]) -> String {
    let mut t = String::new();
    for (i, line) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = line
            .iter()
            .map(|&b| {
                if (0x20..0x7F).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        t += &format!(
            "{:08x}  {:<47}  {ascii}\n",
            addr.wrapping_add(16 * i as u32),
            hex.join(" ")
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_packet_layout_follows_gdbs_i386_core_feature() {
        // Offsets from GDB's 32bit-core.xml: 16 four-byte registers (eip the 9th,
        // eflags the 10th, cs the 11th), eight 10-byte st registers from byte 64,
        // eight four-byte x87 control registers from byte 144; then our cr0–cr4.
        let mut c = cpu::Cpu::new();
        c.regs = [1, 2, 3, 4, 5, 6, 7, 8];
        c.eip = 0x7C00;
        c.eflags = 0x202;
        c.seg[cpu::CS].load_real(0x1234);
        c.seg[cpu::GS].load_real(0xBEEF);
        c.fpu.cw = 0x037F;
        c.cr0 = 0x6000_0010;
        c.cr3 = 0xABCD_E000;
        let mut bytes = Vec::new();
        read_regs(&c).gdb_serialize(|b| bytes.push(b.unwrap()));
        assert_eq!(bytes.len(), REGS_BYTES);
        let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
        assert_eq!(word(0), 1, "eax");
        assert_eq!(word(28), 8, "edi");
        assert_eq!(word(32), 0x7C00, "eip");
        assert_eq!(word(36), 0x202, "eflags");
        assert_eq!(word(40), 0x1234, "cs");
        assert_eq!(word(60), 0xBEEF, "gs");
        assert_eq!(word(144), 0x037F, "fctrl");
        // Power-on x87: every register +0.0 and valid, so the tag word is 5555h (SDM
        // Vol. 3A Table 9-1).
        assert_eq!(word(152), 0x5555, "ftag");
        assert_eq!(word(176), 0x6000_0010, "cr0");
        assert_eq!(word(184), 0xABCD_E000, "cr3");
    }

    #[test]
    fn registers_round_trip_and_real_mode_segment_writes_set_the_base() {
        let mut c = cpu::Cpu::new();
        let mut r = read_regs(&c);
        r.core[0] = 0xDEAD_BEEF;
        r.core[8] = 0x100;
        r.core[13] = 0x07C0; // es
                             // st0 = 1.0: significand 8000…0h, exponent 3FFFh.
        r.st[0] = [0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F];
        r.fpu[2] = 0xFFFC; // ST(0) (physical R0 at TOP 0) valid, the rest empty
        let mut bytes = Vec::new();
        r.gdb_serialize(|b| bytes.push(b.unwrap()));
        let mut back = Regs::default();
        back.gdb_deserialize(&bytes).unwrap();
        assert_eq!(back, r);
        assert!(back.gdb_deserialize(&bytes[1..]).is_err());
        write_regs(&mut c, &back).unwrap();
        assert_eq!(c.regs[0], 0xDEAD_BEEF);
        assert_eq!(c.eip, 0x100);
        assert_eq!(
            (c.seg[cpu::ES].selector, c.seg[cpu::ES].base),
            (0x07C0, 0x7C00)
        );
        assert_eq!(
            c.fpu.st(0),
            cpu::fpu::F80 {
                se: 0x3FFF,
                m: 1 << 63
            }
        );
        assert!(!c.fpu.is_empty(0) && c.fpu.is_empty(1));
        assert_eq!(read_regs(&c), back);
    }

    #[test]
    fn protected_mode_selector_writes_are_refused() {
        let mut c = cpu::Cpu::new();
        c.enter_flat_protected_mode(0x08, 0x10, 0);
        let mut r = read_regs(&c);
        r.core[12] = 0x18; // ds
        assert!(write_regs(&mut c, &r).is_err());
        assert_eq!(c.seg[cpu::DS].selector, 0x10);
    }

    #[test]
    fn target_description_names_the_mode_and_every_register_once() {
        let x = target_xml(true);
        assert!(x.contains("<architecture>i8086</architecture>"));
        assert!(target_xml(false).contains("<architecture>i386</architecture>"));
        // 16 + 8 + 8 core registers and 4 control registers: the g packet's size.
        assert_eq!(x.matches("<reg ").count(), 36);
        let bits: usize = x
            .split("bitsize=\"")
            .skip(1)
            .map(|t| t.split('"').next().unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(bits / 8, REGS_BYTES);
    }

    #[test]
    fn gdb_specs() {
        assert_eq!(parse_spec("tcp::1234").unwrap(), "127.0.0.1:1234");
        assert_eq!(parse_spec("tcp:0.0.0.0:1234").unwrap(), "0.0.0.0:1234");
        assert_eq!(parse_spec("tcp:[::1]:9").unwrap(), "[::1]:9");
        for bad in [
            "1234",
            "tcp:1234",
            "tcp::",
            "tcp::99999",
            "udp::1",
            "tcp:::1:2",
        ] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hex_dump_lines() {
        let t = hex_dump(0x7C00, b"\xEB\x3C\x90FreeDOS\x00\x02\x01\x01\x00\x02\xE0");
        assert_eq!(
            t,
            format!(
                "00007c00  eb 3c 90 46 72 65 65 44 4f 53 00 02 01 01 00 02  .<.FreeDOS......\n\
                 00007c10  e0{}  .\n",
                " ".repeat(45)
            )
        );
    }
}
