//! An i686 (P6-class) CPU interpreter with a basic-block cache.
//!
//! The CPU knows nothing about the PC around it: it reaches memory and I/O ports only
//! through the [`Bus`] trait, which the machine implements, and [`Cpu::run`] returns a
//! [`Stop`] saying why it stopped. Instructions are decoded once by iced-x86 into flat
//! [`decode::Entry`] records grouped in blocks keyed by physical address; a write to a
//! physical page holding cached code drops that page's blocks before the next
//! instruction runs.

pub mod alu;
mod block;
mod debug;
pub mod decode;
mod exec;
mod flags;
pub mod fpu;
mod interrupt;
mod mem;
pub mod mmx;
mod model;
pub mod regs;
mod run;
pub mod sse;
pub mod state;
mod string;
mod system;
mod task;
mod tlb;

pub use debug::DebugStop;
pub use model::{CpuModel, ModelInfo, FEAT_APIC};
pub use regs::*;

use std::collections::HashSet;

/// Guest RAM as host memory, for the TLB's hit path: a RAM page's entry holds its host
/// address, so a load or store that hits is one tag compare and one host access, with
/// no call into the bus and no bounds check (`tlb.rs`). The CPU asks
/// [`Bus::host_ram`] at the start of every [`Cpu::run`] and drops every cached host
/// address when the answer (or [`Bus::mem_generation`]) differs from the last run's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostRam {
    /// The address of the first byte; its provenance is exposed (`new`), and the TLB
    /// turns addresses inside the block back into pointers with that provenance.
    base: usize,
    len: usize,
}

impl HostRam {
    /// Guest RAM at `ptr`, `len` bytes.
    ///
    /// # Safety
    /// For as long as the bus that returns this from [`Bus::host_ram`] lives and keeps
    /// returning it, `ptr` must be valid for reads and writes of `len` bytes, and no
    /// reference to those bytes may be live while a [`Cpu::run`] is in progress, except
    /// inside the bus's own methods (which the CPU calls) for the duration of that call:
    /// the CPU reads and writes them through raw pointers between those calls. A
    /// `Vec<u8>` that is not resized, replaced or dropped while the CPU runs, with `ptr`
    /// from `Vec::as_mut_ptr` (which materialises no reference to the elements) and
    /// the elements otherwise reached only through short-lived borrows, qualifies.
    pub unsafe fn new(ptr: *mut u8, len: usize) -> HostRam {
        HostRam {
            base: ptr.expose_provenance(),
            len,
        }
    }

    /// The host address of byte `off`, if `off..off + n` is inside the block.
    pub(crate) fn addr(&self, off: usize, n: usize) -> Option<usize> {
        (off.checked_add(n)? <= self.len).then_some(self.base + off)
    }
}

/// Everything outside the CPU: physical memory, I/O ports and the interrupt controller.
/// Addresses are physical; widths larger than a byte are little-endian and may be
/// unaligned.
pub trait Bus {
    fn read8(&mut self, addr: u32) -> u8;
    fn write8(&mut self, addr: u32, value: u8);
    fn read16(&mut self, addr: u32) -> u16 {
        self.read8(addr) as u16 | (self.read8(addr.wrapping_add(1)) as u16) << 8
    }
    fn read32(&mut self, addr: u32) -> u32 {
        self.read16(addr) as u32 | (self.read16(addr.wrapping_add(2)) as u32) << 16
    }
    fn write16(&mut self, addr: u32, value: u16) {
        self.write8(addr, value as u8);
        self.write8(addr.wrapping_add(1), (value >> 8) as u8);
    }
    fn write32(&mut self, addr: u32, value: u32) {
        self.write16(addr, value as u16);
        self.write16(addr.wrapping_add(2), (value >> 16) as u16);
    }
    /// Plain-RAM window for bulk string instructions (`REP MOVS`/`REP STOS`): the index
    /// into [`Bus::ram`] of the physical range `addr..addr + len` if that range lies
    /// inside one 4 KB page and is ordinary RAM for both reads and writes (after A20
    /// masking), or `None` for anything else (ROM, VGA, MMIO, open bus, past the end of
    /// memory), which makes the CPU take the element-by-element path through
    /// `read8`/`write8`. A bus that answers `Some` promises that reading and writing
    /// those bytes of [`Bus::ram`] is exactly what the same `read8`/`write8` calls do.
    fn ram_offset(&mut self, _addr: u32, _len: u32) -> Option<usize> {
        None
    }
    /// The memory [`Bus::ram_offset`] indexes.
    fn ram(&mut self) -> &mut [u8] {
        &mut []
    }
    /// The same memory as [`Bus::ram`], for the CPU's TLB to load from and store to
    /// directly ([`HostRam`]). `None` (the default) keeps every access on the
    /// `read*`/`write*` path.
    fn host_ram(&mut self) -> Option<HostRam> {
        None
    }
    /// A number that changes whenever the answers of [`Bus::ram_offset`] may have
    /// changed (the A20 gate, the chipset's memory map, a machine reset or snapshot
    /// load). The CPU's TLB caches those answers and compares this at the start of
    /// every [`Cpu::run`]; a bus whose map changes during a run must also make
    /// [`Bus::take_stop`] return `true` after that port write, so the CPU stops right
    /// after the instruction and the next run sees the new number.
    fn mem_generation(&mut self) -> u64 {
        0
    }
    /// Called before every port access with the number of instructions retired so far
    /// (including the one doing the access), so devices can see exact virtual time.
    fn sync(&mut self, _icount: u64) {}
    /// Port input of `size` bytes (1, 2 or 4).
    fn io_read(&mut self, port: u16, size: u8) -> u32;
    fn io_write(&mut self, port: u16, size: u8, value: u32);
    /// Asked after every port write: `true` makes the CPU stop right after the
    /// instruction with [`Stop::Breakpoint`], so the machine can act on CPU state (a
    /// host-side BIOS service, a debugger).
    fn take_stop(&mut self) -> bool {
        false
    }
    /// Whether the interrupt controller has a maskable interrupt for the CPU.
    fn irq_pending(&mut self) -> bool {
        false
    }
    /// Interrupt acknowledge cycle: the vector to run, or `None` if the request went away.
    fn irq_ack(&mut self) -> Option<u8> {
        None
    }
    /// WRMSR to IA32_APIC_BASE (1Bh) on a model with a local APIC: the platform, which
    /// models the APIC, follows its base and global enable (bit 11). The CPU keeps the
    /// value for RDMSR.
    fn apic_base_written(&mut self, _value: u64) {}
}

/// Why [`Cpu::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The instruction budget is spent.
    Budget,
    /// HLT executed and no interrupt is pending (or IF = 0).
    Halt,
    /// Triple fault: the CPU entered shutdown. The machine decides whether to reset.
    Shutdown,
    /// A debug-register or host breakpoint was hit.
    Breakpoint,
    /// A debugger breakpoint or watchpoint: [`Cpu::take_debug_stop`] says which.
    Debug,
}

/// A CPU exception: vector and optional error code. Kept to four bytes so that
/// `Result<u32, Exc>` travels in registers through the hot paths; every x86 error code
/// fits in 16 bits (selector indexes, IDT vectors ×8, #PF bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exc {
    pub vector: u8,
    has_error: bool,
    code: u16,
}

pub const DE: u8 = 0;
pub const DB: u8 = 1;
pub const BP: u8 = 3;
pub const OFV: u8 = 4;
pub const BR: u8 = 5;
pub const UD: u8 = 6;
pub const NM: u8 = 7;
pub const DF_VEC: u8 = 8;
pub const TS: u8 = 10;
pub const NP: u8 = 11;
pub const SSF: u8 = 12;
pub const GP: u8 = 13;
pub const PFV: u8 = 14;
pub const MF: u8 = 16;
pub const ACV: u8 = 17;
/// SIMD floating-point exception (#XM).
pub const XM: u8 = 19;

/// Not an exception: a handler's "completed, and the block ends here" (exec/table.rs).
/// The run loop consumes it; it never reaches exception delivery.
pub(crate) const LEAVE: Exc = Exc {
    vector: 0xFF,
    has_error: false,
    code: 0xFFFF,
};

/// Not an exception: a handler's "completed, and it may have written code or hit a
/// watchpoint: the block ends after it" (`Cpu::leave_if_smc`). Unlike `LEAVE`, EIP is
/// not set by the handler: the run loop sets it to the next instruction.
pub(crate) const STOP_AFTER: Exc = Exc {
    vector: 0xFD,
    has_error: false,
    code: 0xFFFF,
};

/// Not an exception: a fused comparison and Jcc whose branch is not taken (exec/fused.rs):
/// the run loop goes on after the Jcc's entry.
pub(crate) const SKIP: Exc = Exc {
    vector: 0xFC,
    has_error: false,
    code: 0xFFFF,
};

/// Not an exception either: the sentinel entry after a block's last instruction
/// (block.rs) returns it, so the run loop needs no end-of-block test per instruction.
pub(crate) const BLOCK_END: Exc = Exc {
    vector: 0xFE,
    has_error: false,
    code: 0xFFFF,
};

impl Exc {
    pub const fn new(vector: u8) -> Self {
        Exc {
            vector,
            has_error: false,
            code: 0,
        }
    }
    pub const fn code(vector: u8, error: u32) -> Self {
        Exc {
            vector,
            has_error: true,
            code: error as u16,
        }
    }
    /// The error code pushed with the exception, if it has one.
    pub const fn error(&self) -> Option<u32> {
        if self.has_error {
            Some(self.code as u32)
        } else {
            None
        }
    }
    pub const fn gp(error: u32) -> Self {
        Exc::code(GP, error)
    }
    pub const fn ud() -> Self {
        Exc::new(UD)
    }
}

pub type Res<T> = Result<T, Exc>;

/// The CPU state. Fields are public so that machines, debuggers and test runners can
/// set up and inspect any state; the interpreter keeps no hidden copies of them except
/// the block cache (see [`Cpu::flush_cache`]).
pub struct Cpu {
    pub regs: [u32; 8],
    pub eip: u32,
    /// While a block runs: the EIP of its first instruction. `Cpu::eip` is not
    /// updated per instruction; a handler that needs its next EIP computes it as
    /// `ip_base + Entry::end` (`Cpu::next_ip`), and the run loop sets EIP whenever the
    /// block ends or faults.
    pub(crate) ip_base: u32,
    /// While a block runs: the address of its sentinel entry, whose distance from an
    /// entry says how many instructions after it were counted ahead (`run_loop`
    /// counts a block's instructions at its start). Where instructions are counted one
    /// at a time, the address just past the entry being run (none ahead).
    pub(crate) block_end: usize,
    pub eflags: u32,
    pub seg: [Segment; 6],
    pub ldtr: Segment,
    pub tr: Segment,
    pub gdtr: TableReg,
    pub idtr: TableReg,
    pub cr0: u32,
    pub cr2: u32,
    pub cr3: u32,
    pub cr4: u32,
    pub dr: [u32; 8],
    /// Current privilege level (SDM: CS.RPL in protected mode, 0 in real mode, 3 in V86).
    pub cpl: u8,
    /// TSC = icount + tsc_offset: one clock per retired instruction while running, plus
    /// the clocks of the time the machine let pass while the CPU was halted (see
    /// [`Cpu::advance_tsc`]); WRMSR 10h rewrites the offset.
    pub tsc_offset: u64,
    /// Instructions retired since reset.
    pub icount: u64,
    pub halted: bool,
    /// Whether an x87 is present (CPUID.FPU, CR0.ET). Without one, ESC opcodes do nothing
    /// beyond their memory-operand checks, like a 286/386 with an empty socket.
    pub fpu_present: bool,
    /// The x87 unit's state (used when `fpu_present`).
    pub fpu: fpu::Fpu,
    /// XMM0–XMM7 (SSE). Each register is one `u128` in memory byte order: bits 31–0 are
    /// single-precision lane 0 (the bytes at the lowest address of an m128), bits 63–0
    /// double-precision lane 0, bits 127–96 lane 3.
    pub xmm: [u128; 8],
    /// MXCSR (SDM Vol. 1 §10.2.3): flags in bits 5–0, DAZ 6, masks 12–7, RC 14–13, FTZ 15.
    pub mxcsr: u32,
    /// The model CPUID reports and whose extensions decode; fixed at creation (the block
    /// cache holds entries decoded for it).
    model: CpuModel,
    /// HLT ends the run at any CPL instead of raising #GP outside ring 0 (for test
    /// harnesses whose tests end with HLT in user mode, like a hypervisor's HLT exit).
    pub hlt_exits: bool,
    pub sysenter_cs: u32,
    pub sysenter_esp: u32,
    pub sysenter_eip: u32,
    pub apic_base: u64,
    pub mtrr: std::collections::BTreeMap<u32, u64>,
    /// Interrupts are inhibited for one instruction after STI, MOV SS and POP SS.
    pub(crate) shadow: bool,
    /// Ends the running block after the current instruction: set by a write into a
    /// page holding cached code, and by taken conditional branches (blocks run on past
    /// not-taken ones).
    pub(crate) smc: bool,
    /// The instruction count at which the current [`Cpu::run`] ends: a repeated string
    /// instruction stops there and restarts in the next run.
    pub(crate) end: u64,
    /// The bus asked to stop after the current instruction.
    pub(crate) host_stop: bool,
    /// PAE page-directory-pointer entries, loaded with CR3.
    pub(crate) pdpte: [u64; 4],
    /// The page walk met a reserved bit (for the #PF error code).
    pub(crate) rsvd_fault: bool,
    pub(crate) cache: block::BlockCache,
    pub(crate) tlb: tlb::Tlb,
    /// The host debugger's breakpoints and watchpoints (see `debug.rs`), and whether
    /// any breakpoint / watchpoint is set: the only parts the hot paths look at.
    pub(crate) debug: debug::DebugHooks,
    pub(crate) debug_armed: bool,
    pub(crate) watching: bool,
    unimpl_seen: HashSet<u32>,
    /// The lazily recorded flags of the last ALU operation (see `flags.rs`).
    pub(crate) lazy: flags::Lazy,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpu {
    /// A CPU in its power-on state (SDM Vol. 3A §9.1.1): real mode, CS:IP = F000:FFF0
    /// with CS base FFFF0000.
    pub fn new() -> Self {
        Self::with_model(CpuModel::default())
    }

    /// A CPU of `model` in its power-on state.
    pub fn with_model(model: CpuModel) -> Self {
        let mut cpu = Cpu {
            regs: [0; 8],
            eip: 0,
            eflags: 2,
            lazy: flags::Lazy::default(),
            seg: [Segment::default(); 6],
            ldtr: Segment::default(),
            tr: Segment::default(),
            gdtr: TableReg::default(),
            idtr: TableReg::default(),
            cr0: 0,
            cr2: 0,
            cr3: 0,
            cr4: 0,
            dr: [0; 8],
            block_end: 0,
            ip_base: 0,
            cpl: 0,
            tsc_offset: 0,
            icount: 0,
            halted: false,
            fpu_present: false,
            fpu: fpu::Fpu::default(),
            xmm: [0; 8],
            mxcsr: sse::MXCSR_RESET,
            model,
            hlt_exits: false,
            sysenter_cs: 0,
            sysenter_esp: 0,
            sysenter_eip: 0,
            apic_base: 0xFEE0_0900,
            mtrr: Default::default(),
            shadow: false,
            smc: false,
            host_stop: false,
            end: 0,
            pdpte: [0; 4],
            rsvd_fault: false,
            cache: block::BlockCache::new(),
            tlb: tlb::Tlb::new(),
            debug: Default::default(),
            debug_armed: false,
            watching: false,
            unimpl_seen: HashSet::new(),
        };
        cpu.reset();
        cpu
    }

    /// The model this CPU was created as.
    pub fn model(&self) -> CpuModel {
        self.model
    }

    pub fn reset(&mut self) {
        self.regs = [0; 8];
        // EDX holds the processor signature after reset (SDM Vol. 3A §9.1.4).
        self.regs[EDX] = self.model.info().signature;
        self.eflags = 2;
        self.lazy = flags::Lazy::default();
        self.eip = 0xFFF0;
        let data = ATTR_P | ATTR_S | ATTR_RW | ATTR_ACCESSED;
        for s in self.seg.iter_mut() {
            *s = Segment::new(0, 0, 0xFFFF, data);
        }
        self.seg[CS] = Segment::new(0xF000, 0xFFFF_0000, 0xFFFF, data | ATTR_CODE);
        for s in self.seg.iter_mut() {
            s.acc = ACC_READ | ACC_WRITE;
        }
        self.ldtr = Segment::new(0, 0, 0xFFFF, ATTR_P | 2);
        self.tr = Segment::new(0, 0, 0xFFFF, ATTR_P | 3);
        self.gdtr = TableReg {
            base: 0,
            limit: 0xFFFF,
        };
        self.idtr = TableReg {
            base: 0,
            limit: 0x3FF,
        };
        self.cr0 = CR0_ET | 0x6000_0000;
        self.cr2 = 0;
        self.cr3 = 0;
        self.cr4 = 0;
        self.dr = [0, 0, 0, 0, 0, 0, 0xFFFF_0FF0, 0x400];
        self.set_cpl(0);
        self.halted = false;
        self.shadow = false;
        self.fpu.reset();
        // SDM Vol. 3A Table 9-1: XMM registers cleared, MXCSR 1F80h (all masked, RC 0).
        self.xmm = [0; 8];
        self.mxcsr = sse::MXCSR_RESET;
        self.tlb.flush(false);
        self.flush_cache();
    }

    /// Drops every cached block (after the machine rewrote memory behind the CPU's back,
    /// e.g. by DMA or loading an image).
    pub fn flush_cache(&mut self) {
        self.cache.flush();
    }

    /// Up to 15 code bytes at CS:EIP as the next fetch would see them (for tracers and
    /// debuggers); stops early at the CS limit or an unmapped page.
    pub fn code_bytes<B: Bus>(&mut self, bus: &mut B) -> Vec<u8> {
        let mut buf = [0u8; 16];
        let (n, _) = self.fetch_window(bus, self.eip, &mut buf);
        buf[..n].to_vec()
    }

    /// Puts the CPU straight into flat 32-bit protected mode, as a loader or test harness
    /// would after its own GDT setup: CR0.PE, CS = `code_sel` and DS/ES/SS/FS/GS =
    /// `data_sel` as 4 GB base-0 segments with D/B = 1 and DPL = CPL = `cpl`.
    pub fn enter_flat_protected_mode(&mut self, code_sel: u16, data_sel: u16, cpl: u8) {
        self.cr0 |= CR0_PE;
        self.set_cpl(cpl & 3);
        let attr =
            ATTR_P | ATTR_S | ATTR_RW | ATTR_ACCESSED | ATTR_DB | ATTR_G | ((cpl as u16 & 3) << 5);
        self.seg[CS] = Segment::new(code_sel, 0, 0xFFFF_FFFF, attr | ATTR_CODE);
        for s in [DS, ES, SS, FS, GS] {
            self.seg[s] = Segment::new(data_sel, 0, 0xFFFF_FFFF, attr);
        }
    }

    /// The physical address a supervisor-mode write to linear address `lin` reaches, or
    /// `None` where paging maps nothing writable there. Raises no fault (CR2 is kept):
    /// for firmware services that take pointers from protected-mode callers.
    pub fn linear_to_physical<B: Bus>(&mut self, bus: &mut B, lin: u32) -> Option<u32> {
        let cr2 = self.cr2;
        let r = self.translate(bus, lin, mem::Access::Write, false).ok();
        self.cr2 = cr2;
        self.rsvd_fault = false;
        r
    }

    /// Drops all cached translations; call after changing CR0/CR3/CR4 or page tables
    /// from outside the CPU.
    pub fn flush_tlb(&mut self) {
        self.tlb.flush(false);
    }

    /// Tells the CPU that physical bytes `[addr, addr+len)` changed without a CPU write
    /// (DMA, a loader): cached code there is dropped.
    pub fn invalidate_phys(&mut self, addr: u32, len: u32) {
        let first = addr >> 12;
        let last = addr.wrapping_add(len.max(1) - 1) >> 12;
        let mut p = first;
        loop {
            self.cache.invalidate_page(p);
            if p == last {
                break;
            }
            p = p.wrapping_add(1);
        }
    }

    /// The time-stamp counter.
    pub fn tsc(&self) -> u64 {
        self.icount.wrapping_add(self.tsc_offset)
    }

    /// Advances the time-stamp counter by `ticks` without retiring instructions: the
    /// machine calls it when it skips time while the CPU is halted, since the TSC of a
    /// real CPU keeps counting in HLT (constant-rate TSC, SDM Vol. 3B §18.17).
    pub fn advance_tsc(&mut self, ticks: u64) {
        self.tsc_offset = self.tsc_offset.wrapping_add(ticks);
    }

    #[inline]
    pub fn protected(&self) -> bool {
        self.cr0 & CR0_PE != 0
    }

    #[inline]
    pub fn v86(&self) -> bool {
        self.eflags & VM != 0
    }

    /// Reads a general register of `size` bytes; for size 1, numbers 4–7 are AH..BH.
    #[inline(always)]
    pub fn get_reg(&self, r: u8, size: u32) -> u32 {
        let r = r as usize;
        match size {
            1 => {
                if r < 4 {
                    self.regs[r] & 0xFF
                } else {
                    (self.regs[r - 4] >> 8) & 0xFF
                }
            }
            2 => self.regs[r] & 0xFFFF,
            _ => self.regs[r],
        }
    }

    #[inline(always)]
    pub fn set_reg(&mut self, r: u8, size: u32, v: u32) {
        let r = r as usize;
        match size {
            1 => {
                if r < 4 {
                    self.regs[r] = (self.regs[r] & !0xFF) | (v & 0xFF);
                } else {
                    self.regs[r - 4] = (self.regs[r - 4] & !0xFF00) | ((v & 0xFF) << 8);
                }
            }
            2 => self.regs[r] = (self.regs[r] & !0xFFFF) | (v & 0xFFFF),
            _ => self.regs[r] = v,
        }
    }

    /// The 16 bits of FLAGS / 32 bits of EFLAGS as software reads them.
    #[inline]
    pub fn flags(&self) -> u32 {
        self.flags_now()
    }

    /// Logs an unimplemented opcode once per opcode, visibly.
    #[cold]
    pub(crate) fn log_unimplemented(&mut self, key: u32, what: &str) {
        if self.unimpl_seen.insert(key) {
            log::warn!(target: "cpu", "unimplemented instruction {what} at {:04x}:{:08x}: raising #UD", self.seg[CS].selector, self.eip);
        }
    }
}

/// Flat RAM for the crate's unit tests: reads past the end are all ones, writes there
/// vanish, and every port reads as all ones.
#[cfg(test)]
pub(crate) mod test_ram {
    use crate::Bus;

    pub(crate) struct Ram(pub(crate) Vec<u8>);

    impl Bus for Ram {
        fn read8(&mut self, a: u32) -> u8 {
            *self.0.get(a as usize).unwrap_or(&0xFF)
        }
        fn write8(&mut self, a: u32, v: u8) {
            if let Some(b) = self.0.get_mut(a as usize) {
                *b = v;
            }
        }
        fn io_read(&mut self, _port: u16, _size: u8) -> u32 {
            0xFFFF_FFFF
        }
        fn io_write(&mut self, _port: u16, _size: u8, _v: u32) {}
    }
}
