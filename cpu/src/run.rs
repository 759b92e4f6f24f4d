//! The run loop: executes cached blocks (threaded: each handler dispatches the next
//! entry itself, see `.cargo/config.toml`), checks for interrupts between blocks, and
//! falls back to one instruction at a time while single-stepping, RF, debug-register
//! breakpoints or an interrupt shadow need a check between instructions.

use crate::block::Chain;
use crate::decode::{Entry, Op};
use crate::interrupt::Kind;
use crate::regs::*;
use crate::{Bus, Cpu, Exc, Stop, BLOCK_END, LEAVE, SKIP, STOP_AFTER};

impl Cpu {
    /// Runs until `budget` instructions have retired or something stops the CPU.
    pub fn run<B: Bus>(&mut self, bus: &mut B, budget: u64) -> Stop {
        let stop = self.run_loop(bus, budget);
        // Outside `run` EFLAGS is exact: the machine, debugger and state saves read and
        // write `eflags` directly (flags.rs).
        self.materialise_flags();
        stop
    }

    fn run_loop<B: Bus>(&mut self, bus: &mut B, budget: u64) -> Stop {
        let end = self.icount.saturating_add(budget);
        self.end = end;
        self.tlb_sync(bus);
        // The block just run, when the next one may come through its chain link.
        let mut prev: Option<Chain> = None;
        while self.icount < end {
            if prev.is_some() {
                // Straight on from a block that chains: it ended in none of the
                // instructions that set an interrupt shadow, halt, or change TF, RF or
                // DR7, so of the checks below only the interrupt one can fire.
                if self.eflags & IF != 0 && bus.irq_pending() {
                    if let Some(v) = bus.irq_ack() {
                        prev = None;
                        if let Err(x) = self.interrupt(bus, v, None, Kind::Hardware) {
                            if self.exception(bus, x).is_err() {
                                return Stop::Shutdown;
                            }
                        }
                    }
                }
            } else if let Some(stop) = self.between_blocks(bus, end) {
                match stop {
                    Some(stop) => return stop,
                    None => continue,
                }
            }
            let chain = match self.next_block(bus, prev) {
                Ok(c) => c,
                Err(x) => {
                    // A faulting fetch counts as a step, so a guest caught in a storm of
                    // exceptions still spends its budget (and virtual time) instead of
                    // looping inside `run`.
                    self.icount += 1;
                    prev = None;
                    if self.exception(bus, x).is_err() {
                        return Stop::Shutdown;
                    }
                    continue;
                }
            };
            let block = &self.cache.blocks[chain.id as usize];
            let chains_out = block.chain;
            let entries: *const [Entry] = &*block.entries;
            // SAFETY: `entries` points into the heap allocation of the block's boxed
            // slice, not into the arena vector, so the arena growing does not move it.
            // That allocation is freed only when `BlockCache::insert` replaces the slot's
            // block (flushing and dropping blocks only mark slots free), and `insert` runs
            // only from `build_block`, which only the block lookup calls — never an
            // instruction handler, so never while this loop runs. The entries are never
            // written in place either: the slice is immutable for as long as it is read.
            let entries = unsafe { &*entries };
            // The instructions; the last entry is the sentinel (block.rs).
            let n = entries.len() - 1;
            if end - self.icount < n as u64 {
                // The budget ends inside this block: one instruction at a time, exactly.
                prev = None;
                if let Some(stop) = self.run_block_stepwise(bus, end, false) {
                    return stop;
                }
                continue;
            }
            // The hot loop: no per-instruction bookkeeping at all, and no end test: the
            // sentinel ends the walk (`BLOCK_END`), and a handler ends the block early
            // by returning `LEAVE` (table.rs). With no branch before the dispatch, the
            // compiler may copy it into every handler (threaded code).
            let mut fault = None;
            // Only a block's last instruction, or one that leaves it, changes EIP other
            // than by its length, so each entry's EIP is the block's start plus its
            // offset: EIP is set only where the walk ends, and the few handlers that
            // need it compute it (`Cpu::next_ip`).
            let start = self.eip;
            self.ip_base = start;
            // The count likewise: the whole block is counted now, and where the walk
            // ends early the instructions not run are taken back (`Cpu::uncounted`).
            self.icount += n as u64;
            self.block_end = entries[n..].as_ptr() as usize;
            let mut at: *const Entry = entries.as_ptr();
            // The CPU through a pointer the optimiser cannot see through (`opaque`); the
            // loop reaches it only through `c` until it ends.
            let mut cp: *mut Cpu = &mut *self;
            loop {
                // SAFETY: `at` points at an entry of `entries`: the first; or the one after
                // an entry that completed without ending the walk, which is never the
                // sentinel (it always returns `BLOCK_END`), so the next one exists; or an
                // in-block branch target, checked to be an instruction below.
                let e = unsafe { &*at };
                let next = start.wrapping_add(e.end as u32);
                cp = opaque(cp);
                // SAFETY: `cp` is `self` (`opaque` returns its argument), and `self` is
                // not used while `c` lives: this is a reborrow of `self` for one
                // iteration.
                let c = unsafe { &mut *cp };
                if let Err(x) = c.exec(bus, e) {
                    if x.vector == SKIP.vector {
                        // A fused comparison whose Jcc is not taken: on after the Jcc.
                        // SAFETY: a fused entry is followed by its Jcc's (`fuse_pairs`),
                        // which is no sentinel, so the entry after that exists.
                        at = unsafe { at.add(2) };
                        continue;
                    }
                    if x.vector == BLOCK_END.vector {
                        // The sentinel is no instruction (its length is 0, its end the
                        // block's), and the whole block ran.
                        c.eip = next;
                        break;
                    }
                    // The instructions after `e` did not run (a fault counts, as the
                    // instruction's attempt).
                    c.icount -= c.uncounted(e);
                    if x.vector == STOP_AFTER.vector {
                        c.eip = next;
                        break;
                    }
                    if x.vector != LEAVE.vector {
                        // Handlers leave EFLAGS as they were when they fail (table.rs).
                        c.eip = next.wrapping_sub(e.len as u32);
                        fault = Some(x);
                        break;
                    }
                    // A branch taken to an entry of this same block goes on there, after
                    // the checks a chained block would get: budget (the rest of the block
                    // must fit, else the next lookup runs it exactly) and interrupts. A
                    // 32-bit target is the entry's offset from the block start at any CS
                    // base (modulo 2^32 both ways); a 16-bit one wraps at 64 KB, which the
                    // EIP test catches.
                    let t = e.jt as usize;
                    if t >= n {
                        break;
                    }
                    let te = &entries[t];
                    if (e.size == 2 && c.eip != start.wrapping_add(te.end as u32 - te.len as u32))
                        || c.icount + (n - t) as u64 > end
                        || (c.eflags & IF != 0 && bus.irq_pending())
                    {
                        break;
                    }
                    // Entries `t..n` run (again): counted now, as at the block's start.
                    c.icount += (n - t) as u64;
                    at = te;
                    continue;
                }
                // An instruction that sets EIP otherwise returns `LEAVE` (table.rs).
                // SAFETY: see `e` above: `e` was not the sentinel.
                at = unsafe { at.add(1) };
            }
            if let Some(x) = fault {
                prev = None;
                if self.exception(bus, x).is_err() {
                    return Stop::Shutdown;
                }
                continue;
            }
            prev = chains_out.then_some(chain);
            // Only HLT halts, and a block ending in it does not chain.
            if !chains_out && self.halted {
                return Stop::Halt;
            }
            if std::mem::take(&mut self.host_stop) {
                return self.host_stop_reason();
            }
        }
        Stop::Budget
    }

    /// The checks before a block that does not follow a chaining one: a pending
    /// interrupt (unless shadowed), HLT, and the one-instruction-at-a-time paths.
    /// `None`: run the next block; `Some(None)`: it ran already (start the loop over);
    /// `Some(Some(stop))`: return `stop`.
    #[inline]
    fn between_blocks<B: Bus>(&mut self, bus: &mut B, end: u64) -> Option<Option<Stop>> {
        let shadowed = std::mem::take(&mut self.shadow);
        if !shadowed && self.eflags & IF != 0 && bus.irq_pending() {
            if let Some(v) = bus.irq_ack() {
                self.halted = false;
                // A fault while delivering an external interrupt is delivered as an
                // exception (the interrupt itself is benign).
                if let Err(x) = self.interrupt(bus, v, None, Kind::Hardware) {
                    if self.exception(bus, x).is_err() {
                        return Some(Some(Stop::Shutdown));
                    }
                }
            }
        }
        if self.halted {
            return Some(Some(Stop::Halt));
        }
        // One instruction at a time while something must be checked between
        // instructions: an interrupt shadow, single-stepping, RF, or enabled
        // debug-register breakpoints.
        // The host debugger's breakpoints (`debug_armed`) are checked here too.
        if shadowed || self.eflags & (TF | RF) != 0 || self.dr[7] & 0xFF != 0 || self.debug_armed {
            let stop = if shadowed || self.eflags & (TF | RF) != 0 || self.dr[7] & 0xFF != 0 {
                self.step_checked(bus)
            } else {
                self.run_block_stepwise(bus, end, true)
            };
            return Some(stop);
        }
        None
    }

    /// What a host stop means: a debugger watchpoint, or the bus's request.
    #[cold]
    fn host_stop_reason(&self) -> Stop {
        if self.debug.hit.is_some() {
            Stop::Debug
        } else {
            Stop::Breakpoint
        }
    }

    /// One block an instruction at a time: while debugger breakpoints are set
    /// (`breaks`), with a breakpoint check before every instruction, on the linear
    /// address the instruction is fetched from now — so a breakpoint inside a cached
    /// block (or reached through another mapping of the same physical code) is hit all
    /// the same; and when the budget ends inside the block.
    #[cold]
    #[inline(never)]
    fn run_block_stepwise<B: Bus>(&mut self, bus: &mut B, end: u64, breaks: bool) -> Option<Stop> {
        if breaks && self.debug_break_here() {
            return Some(Stop::Debug);
        }
        let id = match self.block(bus) {
            Ok(id) => id,
            Err(x) => {
                self.icount += 1;
                return self.exception(bus, x).err().map(|_| Stop::Shutdown);
            }
        };
        // A copy of the entries: this path is cold, and a copy needs no argument about
        // the arena. Fused pairs run as their two instructions.
        let mut block = self.cache.blocks[id as usize].entries.clone();
        for e in block.iter_mut() {
            e.h = e.h.unfused();
        }
        // Not the sentinel.
        let n = (block.len() - 1).min((end - self.icount) as usize);
        // EIP is set and instructions are counted per instruction here; `ip_base` is
        // for the handlers (run_loop), and no instruction is counted ahead (`block_end`
        // below).
        self.ip_base = self.eip;
        for (i, e) in block[..n].iter().enumerate() {
            if breaks && i > 0 && self.debug_break_here() {
                return Some(Stop::Debug);
            }
            let ip = self.eip;
            let saved_flags = self.eflags;
            self.eip = ip.wrapping_add(e.len as u32);
            self.icount += 1;
            self.block_end = e as *const Entry as usize + std::mem::size_of::<Entry>();
            match self.exec(bus, e) {
                Err(LEAVE) | Err(STOP_AFTER) => break,
                Err(x) => {
                    self.eflags = saved_flags;
                    self.eip = ip;
                    return self.exception(bus, x).err().map(|_| Stop::Shutdown);
                }
                Ok(()) => {}
            }
        }
        if self.halted {
            return Some(Stop::Halt);
        }
        if std::mem::take(&mut self.host_stop) {
            return Some(self.host_stop_reason());
        }
        None
    }

    /// Executes one instruction with the between-instruction checks: execution
    /// breakpoints (unless RF), RF clearing, and the TF single-step trap.
    #[cold]
    fn step_checked<B: Bus>(&mut self, bus: &mut B) -> Option<Stop> {
        if self.debug_armed && self.debug_break_here() {
            return Some(Stop::Debug);
        }
        if self.eflags & RF == 0 && self.dr[7] & 0xFF != 0 {
            if let Some(hit) = self.exec_breakpoint() {
                self.dr[6] |= hit;
                self.icount += 1;
                return self
                    .exception(bus, Exc::new(crate::DB))
                    .err()
                    .map(|_| Stop::Shutdown);
            }
        }
        let id = match self.block(bus) {
            Ok(id) => id,
            Err(x) => {
                self.icount += 1;
                return self.exception(bus, x).err().map(|_| Stop::Shutdown);
            }
        };
        let e = &{
            let mut e = self.cache.blocks[id as usize].entries[0];
            e.h = e.h.unfused();
            e
        };
        let ip = self.eip;
        self.ip_base = ip;
        self.block_end = e as *const Entry as usize + std::mem::size_of::<Entry>();
        let tf = self.eflags & TF != 0;
        let saved_flags = self.eflags;
        self.eip = ip.wrapping_add(e.len as u32);
        self.icount += 1;
        self.smc = false;
        match self.exec(bus, e) {
            Err(LEAVE) | Err(STOP_AFTER) | Ok(()) => {}
            Err(x) => {
                self.eflags = saved_flags;
                self.eip = ip;
                return self.exception(bus, x).err().map(|_| Stop::Shutdown);
            }
        }
        // RF suppresses instruction breakpoints for exactly one instruction.
        self.eflags &= !RF;
        if tf && !matches!(e.op, Op::Int | Op::Int3 | Op::Into | Op::Int1) {
            // Single-step trap after the instruction (SDM Vol. 3A §17.3.1.4).
            self.dr[6] |= 1 << 14;
            if self.exception(bus, Exc::new(crate::DB)).is_err() {
                return Some(Stop::Shutdown);
            }
        }
        self.smc = false;
        if std::mem::take(&mut self.host_stop) {
            return Some(self.host_stop_reason());
        }
        self.halted.then_some(Stop::Halt)
    }

    /// The DR6 bits of the enabled execution breakpoints (DR7 R/W = 00) at CS:EIP.
    fn exec_breakpoint(&self) -> Option<u32> {
        let dr7 = self.dr[7];
        let lin = self.seg[CS].base.wrapping_add(self.eip);
        let mut hit = 0;
        for i in 0..4 {
            let enabled = (dr7 >> (2 * i)) & 3 != 0;
            let rw = (dr7 >> (16 + 4 * i)) & 3;
            if enabled && rw == 0 && self.dr[i] == lin {
                hit |= 1 << i;
            }
        }
        (hit != 0).then_some(hit)
    }

    /// Executes exactly one instruction (or delivers one pending interrupt).
    pub fn step<B: Bus>(&mut self, bus: &mut B) -> Stop {
        self.run(bus, 1)
    }
}

/// Returns `cpu` unchanged, as a value the optimiser cannot see through. The run loop
/// passes the CPU through it once per instruction. Otherwise LLVM computes the address
/// of every `Cpu` field the handlers touch once, before the loop, and keeps those
/// hundreds of pointers live across it; they do not fit in registers, so each use
/// reloaded one from the stack or recomputed it instead of folding the field offset
/// into the access (callgrind: −8 % host instructions on bench.img's CRC loop; Linux
/// boot −3 to −5 % CPU time).
#[inline(always)]
fn opaque(cpu: *mut Cpu) -> *mut Cpu {
    #[allow(unused_mut)]
    let mut p = cpu;
    #[cfg(any(target_arch = "x86_64", target_arch = "x86", target_arch = "aarch64"))]
    // SAFETY: the assembly is empty: it leaves the register holding `p` unchanged and
    // touches no memory or flags. (`nomem` is exact: the pointer is never dereferenced
    // there, which is what the lint below guards against.)
    #[allow(clippy::pointers_in_nomem_asm_block)]
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) p, options(nomem, nostack, preserves_flags));
    }
    p
}
