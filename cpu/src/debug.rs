//! Host-debugger hooks (the GDB stub's view of the CPU): execution breakpoints and
//! write watchpoints on linear addresses, as GDB's remote protocol gives them (`Z0`/`Z1`
//! breakpoints, `Z2` write watchpoints), and a side-effect-free linear → physical walk
//! for the debugger's memory accesses.
//!
//! Nothing here touches the guest-visible debug registers (DR0–DR7): these are the
//! host's own, invisible to the guest, like QEMU's gdbstub breakpoints. They cost
//! nothing while none is set: the run loop already tests a few fields once per block
//! (TF, RF, DR7) and `armed` joins that test; a write tests `watching` only, one byte
//! in a line the write path has just read anyway.
//!
//! Semantics follow x86 debug exceptions (SDM Vol. 3B §17.3.1): a breakpoint stops
//! *before* the instruction at its address executes (a fault-like stop, EIP on it),
//! and a watchpoint stops *after* the writing instruction retires (trap-like, EIP on
//! the next one; a REP string instruction stops between iterations). Resuming at a
//! breakpoint address does not hit it again at once ([`Cpu::debug_resume`], like RF).

use crate::regs::*;
use crate::{Bus, Cpu};

/// Why the CPU stopped for the debugger ([`crate::Stop::Debug`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugStop {
    /// CS:EIP is at a breakpoint's linear address; the instruction has not run.
    Breakpoint(u32),
    /// An instruction wrote (part of) a watched range; `addr` is the first watched
    /// linear address written. The instruction has retired.
    Watch(u32),
}

/// The debugger's breakpoints and watchpoints.
#[derive(Default)]
pub(crate) struct DebugHooks {
    breakpoints: Vec<u32>,
    /// Watched linear ranges: (first address, length ≥ 1).
    watchpoints: Vec<(u32, u32)>,
    /// Do not stop at a breakpoint at this linear address while the instruction count
    /// is this one: resuming from a stop there (an interrupt taken first leaves the
    /// handler's breakpoints armed, and the instruction's own fires once it is due
    /// again after the handler).
    skip: Option<(u32, u64)>,
    pub(crate) hit: Option<DebugStop>,
}

impl Cpu {
    /// Sets the debugger's execution breakpoints (linear addresses, as CS base + EIP).
    pub fn set_debug_breakpoints(&mut self, addrs: &[u32]) {
        self.debug.breakpoints = addrs.to_vec();
        self.debug_armed = !addrs.is_empty();
    }

    /// Sets the debugger's write watchpoints: (first linear address, length) pairs.
    pub fn set_debug_watchpoints(&mut self, ranges: &[(u32, u32)]) {
        self.debug.watchpoints = ranges.iter().filter(|r| r.1 > 0).copied().collect();
        self.watching = !self.debug.watchpoints.is_empty();
        // Writes that hit the TLB skip the watchpoint check: refill with it.
        self.tlb.flush(false);
    }

    /// Call before resuming from a debugger stop: a breakpoint at the current CS:EIP
    /// does not fire again before that instruction has run.
    pub fn debug_resume(&mut self) {
        let lin = self.seg[CS].base.wrapping_add(self.eip);
        self.debug.skip = Some((lin, self.icount));
        self.debug.hit = None;
    }

    /// The debugger stop [`crate::Stop::Debug`] reported, once.
    pub fn take_debug_stop(&mut self) -> Option<DebugStop> {
        self.debug.hit.take()
    }

    /// No maskable interrupt is taken before the next instruction (a debugger's single
    /// step, as QEMU steps with IRQs masked, so a step lands on the next instruction).
    pub fn inhibit_irq_once(&mut self) {
        self.shadow = true;
    }

    /// Whether a breakpoint stops the CPU before the instruction at CS:EIP (and records
    /// the stop), apart from the instruction [`Cpu::debug_resume`] resumes at.
    #[cold]
    pub(crate) fn debug_break_here(&mut self) -> bool {
        if !self.debug_armed {
            return false;
        }
        let lin = self.seg[CS].base.wrapping_add(self.eip);
        if let Some(skip) = self.debug.skip {
            if skip == (lin, self.icount) {
                return false;
            }
            self.debug.skip = None;
        }
        if self.debug.breakpoints.contains(&lin) {
            self.debug.hit = Some(DebugStop::Breakpoint(lin));
            return true;
        }
        false
    }

    /// The write hook: a CPU write of `size` bytes at linear `lin` (only called while
    /// watchpoints are set). A hit ends the block after this instruction and stops the
    /// run there.
    #[cold]
    pub(crate) fn debug_watch_write(&mut self, lin: u32, size: u32) {
        let end = lin as u64 + size as u64;
        for &(a, len) in &self.debug.watchpoints {
            let (wa, wend) = (a as u64, a as u64 + len as u64);
            if (lin as u64) < wend && wa < end {
                if self.debug.hit.is_none() {
                    self.debug.hit = Some(DebugStop::Watch((lin as u64).max(wa) as u32));
                }
                self.host_stop = true;
                self.smc = true;
                return;
            }
        }
    }

    /// Linear → physical for a debugger access: the page walk without its side effects
    /// (no accessed/dirty bits, no TLB fill, no #PF, CR2 untouched) and without
    /// permission checks. `None` when the page is not present.
    pub fn debug_translate<B: Bus>(&self, bus: &mut B, lin: u32) -> Option<u32> {
        if self.cr0 & CR0_PG == 0 {
            return Some(lin);
        }
        const P: u64 = 1;
        const PS: u64 = 0x80;
        let rd64 = |bus: &mut B, a: u32| {
            bus.read32(a) as u64 | (bus.read32(a.wrapping_add(4)) as u64) << 32
        };
        if self.cr4 & CR4_PAE != 0 {
            let pdpte = self.pdpte[(lin >> 30) as usize];
            if pdpte & P == 0 {
                return None;
            }
            let pde = rd64(bus, (pdpte as u32 & !0xFFF) + (((lin >> 21) & 0x1FF) << 3));
            if pde & P == 0 {
                return None;
            }
            if pde & PS != 0 {
                return Some((pde as u32 & 0xFFE0_0000) | (lin & 0x1F_FFFF));
            }
            let pte = rd64(bus, (pde as u32 & !0xFFF) + (((lin >> 12) & 0x1FF) << 3));
            if pte & P == 0 {
                return None;
            }
            return Some((pte as u32 & !0xFFF) | (lin & 0xFFF));
        }
        let pde = bus.read32((self.cr3 & !0xFFF) + ((lin >> 22) << 2)) as u64;
        if pde & P == 0 {
            return None;
        }
        if pde & PS != 0 && self.cr4 & CR4_PSE != 0 {
            return Some((pde as u32 & 0xFFC0_0000) | (lin & 0x3F_FFFF));
        }
        let pte = bus.read32((pde as u32 & !0xFFF) + (((lin >> 12) & 0x3FF) << 2)) as u64;
        if pte & P == 0 {
            return None;
        }
        Some((pte as u32 & !0xFFF) | (lin & 0xFFF))
    }
}

#[cfg(test)]
mod tests {
    //! Hand-assembled real-mode programs (CS = 1000h, DS = ES = 2000h); expected stops
    //! follow the x86 debug-exception rules cited in the module comment: breakpoints
    //! before the instruction, watchpoints after it.
    use super::*;
    use crate::regs::{CS, DS, ES, ESP, SS};
    use crate::Stop;

    use crate::test_ram::Ram;

    const CODE: u32 = 0x10000;

    // 0: mov cx,3 (B9 03 00)          3: inc ax (40)
    // 4: inc bx (43)                  5: loop 3 (E2 FC)
    // 7: mov [0010h],al (A2 10 00)   10: mov di,0 (BF 00 00)
    // 13: mov cx,8 (B9 08 00)        16: rep stosb (F3 AA)
    // 18: hlt (F4)
    const PROG: [u8; 19] = [
        0xB9, 0x03, 0x00, 0x40, 0x43, 0xE2, 0xFC, 0xA2, 0x10, 0x00, 0xBF, 0x00, 0x00, 0xB9, 0x08,
        0x00, 0xF3, 0xAA, 0xF4,
    ];

    fn setup() -> (Cpu, Ram) {
        let mut ram = Ram(vec![0; 0x30000]);
        ram.0[CODE as usize..CODE as usize + PROG.len()].copy_from_slice(&PROG);
        let mut cpu = Cpu::new();
        cpu.seg[CS].load_real(0x1000);
        cpu.seg[DS].load_real(0x2000);
        cpu.seg[ES].load_real(0x2000);
        cpu.seg[SS].load_real(0x2000);
        cpu.regs[ESP] = 0xFFFE;
        cpu.eip = 0;
        (cpu, ram)
    }

    #[test]
    fn breakpoint_inside_a_cached_block_stops_before_the_instruction_each_time() {
        let (mut cpu, mut ram) = setup();
        // First run without breakpoints so the loop body sits in the block cache.
        assert_eq!(cpu.run(&mut ram, 2), Stop::Budget);
        // `inc bx` at CS:4 is in the middle of the cached block starting at CS:3.
        cpu.set_debug_breakpoints(&[CODE + 4]);
        let mut hits = 0;
        loop {
            match cpu.run(&mut ram, 1000) {
                Stop::Debug => {
                    assert_eq!(cpu.take_debug_stop(), Some(DebugStop::Breakpoint(CODE + 4)));
                    assert_eq!(cpu.eip, 4);
                    // BX counts the `inc bx` executed before this stop.
                    assert_eq!(cpu.regs[crate::regs::EBX], hits);
                    hits += 1;
                    cpu.debug_resume();
                }
                Stop::Halt => break,
                s => panic!("unexpected stop {s:?}"),
            }
        }
        // mov cx,3 + loop: the body runs three times (the first pass was cached
        // before the breakpoint was set, but `inc bx` had not run yet).
        assert_eq!(hits, 3);
    }

    #[test]
    fn resuming_at_a_breakpoint_runs_its_instruction_once() {
        let (mut cpu, mut ram) = setup();
        cpu.set_debug_breakpoints(&[CODE]);
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Debug);
        assert_eq!((cpu.eip, cpu.icount), (0, 0));
        // Without debug_resume it stops again at once.
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Debug);
        assert_eq!(cpu.icount, 0);
        cpu.debug_resume();
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Halt);
    }

    #[test]
    fn resume_skips_only_the_instruction_it_resumes_at() {
        let (mut cpu, mut ram) = setup();
        // Breakpoints at CS:0 and at a handler (linear 500h); resuming at CS:0 but
        // entering the handler first (as an interrupt taken before the instruction
        // would) still stops at the handler, and again at CS:0 on the way back.
        ram.0[0x500] = 0xF4;
        cpu.set_debug_breakpoints(&[CODE, 0x500]);
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Debug);
        cpu.debug_resume();
        let (cs, eip) = (cpu.seg[CS], cpu.eip);
        cpu.seg[CS].load_real(0x0050);
        cpu.eip = 0;
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Debug);
        assert_eq!(cpu.take_debug_stop(), Some(DebugStop::Breakpoint(0x500)));
        cpu.seg[CS] = cs;
        cpu.eip = eip;
        cpu.icount += 1; // the handler ran an instruction meanwhile
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Debug);
        assert_eq!(cpu.take_debug_stop(), Some(DebugStop::Breakpoint(CODE)));
    }

    #[test]
    fn write_watchpoint_stops_after_the_writing_instruction() {
        let (mut cpu, mut ram) = setup();
        // DS:0010h = linear 20010h, written by `mov [0010h],al` at CS:7.
        cpu.set_debug_watchpoints(&[(0x20010, 1)]);
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Debug);
        assert_eq!(cpu.take_debug_stop(), Some(DebugStop::Watch(0x20010)));
        assert_eq!(cpu.eip, 10, "EIP is past the writing instruction");
        assert_eq!(cpu.take_debug_stop(), None);
        // A byte next to the watched range is no hit: REP STOSB writes ES:0..7 and
        // ES:5 is watched, so it stops between iterations after the sixth store, on
        // the REP instruction (CX = 8 − 6 = 2).
        cpu.set_debug_watchpoints(&[(0x20005, 1)]);
        cpu.debug_resume();
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Debug);
        assert_eq!(cpu.take_debug_stop(), Some(DebugStop::Watch(0x20005)));
        assert_eq!(cpu.eip, 16);
        assert_eq!(cpu.regs[crate::regs::ECX] & 0xFFFF, 2);
        cpu.set_debug_watchpoints(&[]);
        cpu.debug_resume();
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Halt);
    }

    #[test]
    fn inhibited_irq_and_no_hooks_leave_the_run_unchanged() {
        let (mut cpu, mut ram) = setup();
        cpu.inhibit_irq_once();
        assert_eq!(cpu.run(&mut ram, 1000), Stop::Halt);
        // mov cx; 3 × (inc, inc, loop); mov, mov, mov; eight REP iterations (each
        // counts as an instruction); hlt.
        assert_eq!(cpu.icount, 1 + 9 + 3 + 8 + 1);
    }

    #[test]
    fn debug_translate_walks_without_side_effects() {
        let (mut cpu, mut ram) = setup();
        // Page directory at 0, one table at 1000h mapping linear 0 to physical 5000h.
        ram.0[0..4].copy_from_slice(&0x1001u32.to_le_bytes());
        ram.0[0x1000..0x1004].copy_from_slice(&0x5001u32.to_le_bytes());
        cpu.cr0 |= CR0_PG | crate::regs::CR0_PE;
        assert_eq!(cpu.debug_translate(&mut ram, 0x123), Some(0x5123));
        assert_eq!(cpu.debug_translate(&mut ram, 0x1000), None);
        // No accessed bit was set in either entry, and CR2 is untouched.
        assert_eq!(ram.0[0] & 0x20, 0);
        assert_eq!(ram.0[0x1000] & 0x20, 0);
        assert_eq!(cpu.cr2, 0);
    }
}
