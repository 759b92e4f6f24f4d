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
use crate::mem::{Access, TLB_SIZE};
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
        let bulk_ok = rep && matches!(e.op, Op::Movs | Op::Stos);
        loop {
            let si = self.regs[ESI] & am;
            let di = self.regs[EDI] & am;
            let mut stop = false;
            let done = if bulk_ok {
                self.bulk(bus, e, size, am, n)
            } else {
                0
            };
            if done > 0 {
                // `done` elements ran; the first `done - 1` took the "keep going" branch
                // below, the last one goes through it now.
                n += done - 1;
            } else {
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

    /// The bulk path of `REP MOVS`/`REP STOS`: runs up to a page's worth of elements at
    /// once on plain RAM and returns how many (0: take the element path for the next
    /// one). It only runs elements the element loop would run without stopping in
    /// between, so every count, register and fault stays as before:
    ///
    /// - at most ECX elements, at most `REP_CHUNK - n` (the interrupt check), at most
    ///   one more than the budget has left, none while the host asked to stop;
    /// - source and destination each stay inside one 4 KB linear page, one segment
    ///   limit check and one translation per chunk cover every element; an element
    ///   that would fault (limit, page, alignment check) is left to the element path,
    ///   which faults exactly there with ECX/ESI/EDI as it leaves them;
    /// - no GDB watchpoint set, the destination page holds no cached code (the element
    ///   path invalidates it), both ranges are plain RAM ([`Bus::ram_offset`]), and the
    ///   source and destination pages do not evict each other from the TLB (else the
    ///   element path would re-walk, possibly through page tables this copy rewrites);
    /// - overlapping source and destination are copied element by element in host
    ///   memory, so `rep movsb` with EDI = ESI + 1 replicates a byte as on hardware.
    ///
    /// On return ESI/EDI have advanced by `done` elements, ECX and `icount` by `done - 1`:
    /// the caller's loop tail accounts for the last element.
    fn bulk<B: Bus>(&mut self, bus: &mut B, e: &Entry, size: u32, am: u32, n: u32) -> u32 {
        if self.watching || self.host_stop || self.cr0 & CR0_AM != 0 && self.eflags & AC != 0 {
            return 0;
        }
        let down = self.eflags & DF != 0;
        let c = self.regs[ECX] & am;
        let mut k = c.min(REP_CHUNK - n) as u64;
        k = k.min(self.end.saturating_sub(self.icount) + 1);
        let movs = e.op == Op::Movs;
        let si = self.regs[ESI] & am;
        let di = self.regs[EDI] & am;
        // Elements before the offset wraps within the address size.
        let off_room = |off: u32| -> u64 {
            if off as u64 + size as u64 - 1 > am as u64 {
                0
            } else if down {
                (off / size) as u64 + 1
            } else {
                ((am - off - (size - 1)) / size) as u64 + 1
            }
        };
        // Elements before the linear page ends.
        let page_room = |lin: u32| -> u64 {
            let o = lin & 0xFFF;
            if o + size > 0x1000 {
                0
            } else if down {
                (o / size) as u64 + 1
            } else {
                ((0x1000 - o) / size) as u64
            }
        };
        let Ok(ld) = self.linear(ES, di, size, true) else {
            return 0;
        };
        k = k.min(off_room(di)).min(page_room(ld));
        let seg = e.seg as usize;
        let mut ls = 0;
        if movs {
            let Ok(l) = self.linear(seg, si, size, false) else {
                return 0;
            };
            ls = l;
            k = k.min(off_room(si)).min(page_room(ls));
        }
        if k < 2 {
            return 0;
        }
        let k = k as u32;
        // Offsets of the last element: the limit check of the first and the last one
        // covers the ones in between (a segment's valid offsets are one interval).
        let span = (k - 1) * size;
        let last = |off: u32| if down { off - span } else { off + span };
        if self.linear(ES, last(di), size, true).is_err()
            || movs && self.linear(seg, last(si), size, false).is_err()
        {
            return 0;
        }
        // Translate as the first element would: source, then destination.
        let user = self.cpl == 3;
        let paged = self.cr0 & CR0_PG != 0;
        let mut ps = 0;
        if movs {
            let Ok(p) = self.translate(bus, ls, Access::Read, user) else {
                return 0;
            };
            ps = p;
        }
        let Ok(pd) = self.translate(bus, ld, Access::Write, user) else {
            return 0;
        };
        if movs
            && paged
            && ls >> 12 != ld >> 12
            && (ls >> 12) as usize % TLB_SIZE == (ld >> 12) as usize % TLB_SIZE
        {
            return 0;
        }
        if self.cache.is_code(pd >> 12) {
            return 0;
        }
        let len = k * size;
        let low = |p: u32| if down { p - span } else { p };
        let Some(d) = bus.ram_offset(low(pd), len) else {
            return 0;
        };
        let s = if movs {
            let Some(s) = bus.ram_offset(low(ps), len) else {
                return 0;
            };
            s
        } else {
            0
        };
        let ram = bus.ram();
        let (len, sz) = (len as usize, size as usize);
        if ram.len() < d + len || ram.len() < s + len {
            return 0;
        }
        if movs {
            if s + len <= d || d + len <= s {
                ram.copy_within(s..s + len, d);
            } else {
                // Overlap: element by element, in the guest's order.
                let mut t = [0u8; 4];
                for i in 0..len / sz {
                    let o = if down { len - sz - i * sz } else { i * sz };
                    t[..sz].copy_from_slice(&ram[s + o..s + o + sz]);
                    ram[d + o..d + o + sz].copy_from_slice(&t[..sz]);
                }
            }
        } else {
            // Fixed-size element stores so the compiler emits plain wide stores.
            let v = self.regs[EAX];
            let dst = &mut ram[d..d + len];
            match sz {
                1 => dst.fill(v as u8),
                2 => dst
                    .chunks_exact_mut(2)
                    .for_each(|c| c.copy_from_slice(&(v as u16).to_le_bytes())),
                _ => dst
                    .chunks_exact_mut(4)
                    .for_each(|c| c.copy_from_slice(&v.to_le_bytes())),
            }
        }
        let delta = if down { size.wrapping_neg() } else { size };
        let step = delta.wrapping_mul(k);
        if movs {
            self.adv(ESI, step, am);
        }
        self.adv(EDI, step, am);
        self.regs[ECX] = (self.regs[ECX] & !am) | (c - (k - 1));
        self.icount += (k - 1) as u64;
        k
    }

    #[inline]
    fn adv(&mut self, r: usize, delta: u32, am: u32) {
        let v = self.regs[r].wrapping_add(delta) & am;
        self.regs[r] = (self.regs[r] & !am) | v;
    }
}
