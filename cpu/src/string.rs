//! String instructions (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS) with REP/REPE/REPNE,
//! both address sizes and segment overrides on the source (SDM Vol. 2 "REP").
//! Each iteration after the first costs one instruction of the run budget (and so of
//! virtual time): a REP with ECX = FFFFFFFFh takes its four billion steps of guest time
//! instead of finishing inside one. Once the budget is spent, and every `REP_CHUNK`
//! iterations if an interrupt is deliverable, the instruction stops with EIP on itself
//! and ECX/ESI/EDI updated, so it resumes where it left off (SDM Vol. 2 "REP": interrupts
//! are recognised between iterations). Otherwise it keeps going with the instruction it
//! already decoded: a REP MOVS that overwrites its own bytes (Linux's decompressor
//! relocating itself) must finish as the CPU fetched it, not re-read the new bytes.

use crate::alu;
use crate::decode::{Entry, Op};
use crate::regs::*;
use crate::{Bus, Cpu, Res};

const REP_CHUNK: u32 = 4096;

impl Cpu {
    pub(crate) fn string<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let size = e.size as u32;
        let am: u32 = if e.asz32 { 0xFFFF_FFFF } else { 0xFFFF };
        let delta = if self.eflags & DF != 0 {
            size.wrapping_neg()
        } else {
            size
        };
        let seg = e.seg as usize;
        if matches!(e.op, Op::Ins | Op::Outs) {
            let port = self.regs[EDX] as u16;
            self.check_io(bus, port, size)?;
        }
        let rep = e.rep != 0;
        if rep && self.regs[ECX] & am == 0 {
            return Ok(());
        }
        let mut n = 0;
        loop {
            let si = self.regs[ESI] & am;
            let di = self.regs[EDI] & am;
            let mut stop = false;
            match e.op {
                Op::Movs => {
                    let v = self.rd(bus, seg, si, size)?;
                    self.wr(bus, ES, di, size, v)?;
                    self.adv(ESI, delta, am);
                    self.adv(EDI, delta, am);
                }
                Op::Stos => {
                    let v = self.get_reg(0, size);
                    self.wr(bus, ES, di, size, v)?;
                    self.adv(EDI, delta, am);
                }
                Op::Lods => {
                    let v = self.rd(bus, seg, si, size)?;
                    self.set_reg(0, size, v);
                    self.adv(ESI, delta, am);
                }
                Op::Cmps | Op::Scas => {
                    let (a, b) = if e.op == Op::Cmps {
                        (self.rd(bus, seg, si, size)?, self.rd(bus, ES, di, size)?)
                    } else {
                        (self.get_reg(0, size), self.rd(bus, ES, di, size)?)
                    };
                    let (_, f) = alu::sub(a, b, 0, size, self.eflags);
                    self.eflags = f;
                    if e.op == Op::Cmps {
                        self.adv(ESI, delta, am);
                    }
                    self.adv(EDI, delta, am);
                    let zf = f & ZF != 0;
                    stop = (e.rep == 1 && !zf) || (e.rep == 2 && zf);
                }
                Op::Ins => {
                    // The destination is checked before the port is read.
                    let lin = self.linear(ES, di, size, true)?;
                    self.probe_write(bus, lin, size)?;
                    bus.sync(self.icount);
                    let v = bus.io_read(self.regs[EDX] as u16, size as u8);
                    self.wr(bus, ES, di, size, v)?;
                    self.adv(EDI, delta, am);
                }
                _ => {
                    let v = self.rd(bus, seg, si, size)?;
                    bus.sync(self.icount);
                    bus.io_write(self.regs[EDX] as u16, size as u8, v);
                    self.adv(ESI, delta, am);
                    // The bus is asked after every port write (`Bus::take_stop`), so a
                    // REP OUTS stops between iterations for the host too (a machine
                    // draining its output buffers), as it would for an interrupt.
                    if bus.take_stop() {
                        self.host_stop = true;
                        self.smc = true;
                    }
                }
            }
            if !rep {
                return Ok(());
            }
            let c = self.regs[ECX].wrapping_sub(1) & am;
            self.regs[ECX] = (self.regs[ECX] & !am) | c;
            if c == 0 || stop {
                return Ok(());
            }
            // The budget is spent, or the host asked to stop (an output buffer to
            // drain, a debugger watchpoint hit): stop between iterations with EIP on
            // the instruction.
            if self.host_stop || self.icount >= self.end {
                self.eip = self.eip.wrapping_sub(e.len as u32);
                return Ok(());
            }
            // The next iteration is the restarted instruction as far as time goes.
            self.icount += 1;
            n += 1;
            if n >= REP_CHUNK {
                n = 0;
                if self.eflags & IF != 0 && bus.irq_pending() {
                    self.icount -= 1;
                    self.eip = self.eip.wrapping_sub(e.len as u32);
                    return Ok(());
                }
            }
        }
    }

    #[inline]
    fn adv(&mut self, r: usize, delta: u32, am: u32) {
        let v = self.regs[r].wrapping_add(delta) & am;
        self.regs[r] = (self.regs[r] & !am) | v;
    }
}
