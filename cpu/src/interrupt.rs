//! Interrupt and exception delivery (real-mode IVT, protected-mode IDT gates with the
//! stack switch from the TSS, V86 entry and exit), segment-register loads with the
//! descriptor checks of SDM Vol. 3A §5.5–5.8, and far JMP/CALL/RET/IRET including call
//! gates. Task switches are in `task.rs`.

use crate::regs::*;
use crate::task::TaskSrc;
use crate::{Bus, Cpu, Exc, Res, DF_VEC, GP, NP, SSF, TS};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// CPU-detected: faults, traps, aborts (EXT = 1 in error codes).
    Exception,
    /// INT n, INT3, INTO: gate DPL is checked against CPL.
    Software,
    /// External interrupt from the interrupt controller.
    Hardware,
}

/// A raw 8-byte descriptor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Desc {
    pub(crate) lo: u32,
    pub(crate) hi: u32,
}

impl Desc {
    pub(crate) fn base(&self) -> u32 {
        (self.lo >> 16) | ((self.hi & 0xFF) << 16) | (self.hi & 0xFF00_0000)
    }
    pub(crate) fn limit(&self) -> u32 {
        let l = (self.lo & 0xFFFF) | (self.hi & 0xF_0000);
        if self.hi & (1 << 23) != 0 {
            (l << 12) | 0xFFF
        } else {
            l
        }
    }
    pub(crate) fn attr(&self) -> u16 {
        (((self.hi >> 8) & 0xFF) | ((self.hi >> 8) & 0xF000)) as u16
    }
    pub(crate) fn present(&self) -> bool {
        self.hi & (1 << 15) != 0
    }
    pub(crate) fn dpl(&self) -> u8 {
        ((self.hi >> 13) & 3) as u8
    }
    pub(crate) fn is_system(&self) -> bool {
        self.hi & (1 << 12) == 0
    }
    pub(crate) fn is_code(&self) -> bool {
        !self.is_system() && self.hi & (1 << 11) != 0
    }
    pub(crate) fn conforming(&self) -> bool {
        self.is_code() && self.hi & (1 << 10) != 0
    }
    pub(crate) fn readable(&self) -> bool {
        !self.is_code() || self.hi & (1 << 9) != 0
    }
    pub(crate) fn writable_data(&self) -> bool {
        !self.is_system() && !self.is_code() && self.hi & (1 << 9) != 0
    }
    pub(crate) fn sys_type(&self) -> u32 {
        (self.hi >> 8) & 0xF
    }
    pub(crate) fn segment(&self, sel: u16) -> Segment {
        Segment::new(sel, self.base(), self.limit(), self.attr())
    }
    pub(crate) fn gate_sel(&self) -> u16 {
        (self.lo >> 16) as u16
    }
    pub(crate) fn gate_off(&self) -> u32 {
        (self.hi & 0xFFFF_0000) | (self.lo & 0xFFFF)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Benign,
    Contributory,
    PageFault,
}

/// Exception classes for double-fault detection (SDM Vol. 3A Table 6-4).
fn class(v: u8) -> Class {
    match v {
        0 | 10..=13 => Class::Contributory,
        14 => Class::PageFault,
        _ => Class::Benign,
    }
}

fn sel_err(sel: u16) -> u32 {
    sel as u32 & 0xFFFC
}

impl Cpu {
    /// Delivers a CPU exception, escalating to #DF and then to shutdown as SDM Vol. 3A
    /// §6.15 (interrupt 8) describes. `Err(())` means the CPU shut down (triple fault).
    pub(crate) fn exception<B: Bus>(&mut self, bus: &mut B, x: Exc) -> Result<(), ()> {
        let mut cur = x;
        // Each round delivers one exception; a fault during delivery is handled serially
        // or becomes #DF per SDM Vol. 3A Tables 6-4 and 6-5. The bound only guards
        // against pathological chains of benign faults.
        for _ in 0..16 {
            let next = match self.interrupt(bus, cur.vector, cur.error(), Kind::Exception) {
                Ok(()) => return Ok(()),
                Err(next) => next,
            };
            if cur.vector == DF_VEC {
                return Err(());
            }
            let double = matches!(
                (class(cur.vector), class(next.vector)),
                (Class::Contributory, Class::Contributory)
                    | (Class::PageFault, Class::Contributory | Class::PageFault)
            );
            cur = if double { Exc::code(DF_VEC, 0) } else { next };
        }
        Err(())
    }

    /// INT n: in V86 mode IOPL must be 3 (SDM Vol. 3A §20.3.3).
    pub(crate) fn soft_int<B: Bus>(&mut self, bus: &mut B, v: u8) -> Res<()> {
        if self.v86() && self.eflags & IOPL != IOPL {
            return Err(Exc::gp(0));
        }
        self.interrupt(bus, v, None, Kind::Software)
    }

    /// Transfers control to the handler of vector `v`. `self.eip` is the return address.
    pub(crate) fn interrupt<B: Bus>(
        &mut self,
        bus: &mut B,
        v: u8,
        err: Option<u32>,
        kind: Kind,
    ) -> Res<()> {
        // The handler sees (and the frame saves) the real flags.
        self.materialise_flags();
        self.halted = false;
        if !self.protected() {
            return self.interrupt_real(bus, v);
        }
        self.interrupt_pm(bus, v, err, kind)
    }

    fn interrupt_real<B: Bus>(&mut self, bus: &mut B, v: u8) -> Res<()> {
        let idx = v as u32 * 4;
        if idx + 3 > self.idtr.limit as u32 {
            return Err(Exc::gp(0));
        }
        let vec = self.rd_sys(bus, self.idtr.base.wrapping_add(idx), 4)?;
        let (flags, cs, ip) = (self.eflags, self.seg[CS].selector as u32, self.eip);
        self.atomic_sp(bus, |c, bus| {
            c.push(bus, flags & 0xFFFF, 2)?;
            c.push(bus, cs, 2)?;
            c.push(bus, ip & 0xFFFF, 2)
        })?;
        self.eflags &= !(IF | TF | AC | RF);
        self.seg[CS].load_real((vec >> 16) as u16);
        self.eip = vec & 0xFFFF;
        Ok(())
    }

    /// Reads the descriptor named by `sel` from the GDT or LDT.
    pub(crate) fn read_desc<B: Bus>(&mut self, bus: &mut B, sel: u16, err_vec: u8) -> Res<Desc> {
        let (base, limit) = if sel & 4 != 0 {
            if self.ldtr.acc == 0 && self.ldtr.attr & ATTR_P == 0 {
                return Err(Exc::code(err_vec, sel_err(sel)));
            }
            (self.ldtr.base, self.ldtr.limit)
        } else {
            (self.gdtr.base, self.gdtr.limit as u32)
        };
        let idx = (sel & !7) as u32;
        if idx + 7 > limit {
            return Err(Exc::code(err_vec, sel_err(sel)));
        }
        let lo = self.rd_sys(bus, base.wrapping_add(idx), 4)?;
        let hi = self.rd_sys(bus, base.wrapping_add(idx + 4), 4)?;
        Ok(Desc { lo, hi })
    }

    /// Sets the accessed bit of a code/data descriptor in memory.
    fn set_accessed<B: Bus>(&mut self, bus: &mut B, sel: u16, d: &Desc) -> Res<()> {
        if d.hi & (1 << 8) == 0 {
            let base = if sel & 4 != 0 {
                self.ldtr.base
            } else {
                self.gdtr.base
            };
            let a = base.wrapping_add((sel & !7) as u32 + 4);
            self.wr_sys(bus, a, 4, d.hi | (1 << 8))?;
        }
        Ok(())
    }

    /// MOV/POP/LxS to a segment register.
    pub(crate) fn load_seg<B: Bus>(&mut self, bus: &mut B, s: usize, sel: u16) -> Res<()> {
        if !self.protected() || self.v86() {
            self.seg[s].load_real(sel);
            if self.v86() {
                self.seg[s] = Segment::new(
                    sel,
                    (sel as u32) << 4,
                    0xFFFF,
                    ATTR_P
                        | ATTR_S
                        | ATTR_RW
                        | ATTR_ACCESSED
                        | (3 << 5)
                        | if s == CS { ATTR_CODE } else { 0 },
                );
            }
            self.seg[s].acc = ACC_READ | ACC_WRITE;
            return Ok(());
        }
        let rpl = (sel & 3) as u8;
        if sel & !3 == 0 {
            if s == SS {
                return Err(Exc::gp(0));
            }
            self.seg[s] = Segment {
                selector: sel,
                base: 0,
                limit: 0,
                attr: 0,
                acc: 0,
            };
            return Ok(());
        }
        let d = self.read_desc(bus, sel, GP)?;
        let e = sel_err(sel);
        if s == SS {
            if rpl != self.cpl || !d.writable_data() || d.dpl() != self.cpl {
                return Err(Exc::gp(e));
            }
            if !d.present() {
                return Err(Exc::code(SSF, e));
            }
        } else {
            if d.is_system() || !d.readable() {
                return Err(Exc::gp(e));
            }
            if !d.conforming() && (d.dpl() < rpl || d.dpl() < self.cpl) {
                return Err(Exc::gp(e));
            }
            if !d.present() {
                return Err(Exc::code(NP, e));
            }
        }
        self.set_accessed(bus, sel, &d)?;
        self.seg[s] = d.segment(sel);
        Ok(())
    }

    /// Loads CS for a transfer to `dpl`-privilege code and sets CPL.
    fn set_cs(&mut self, d: &Desc, sel: u16, cpl: u8) {
        self.seg[CS] = d.segment((sel & !3) | cpl as u16);
        self.set_cpl(cpl);
    }

    /// Checks a code-segment descriptor as a far JMP/CALL target (SDM Vol. 3A §5.8.1).
    fn check_code_target(&self, d: &Desc, sel: u16) -> Res<()> {
        let e = sel_err(sel);
        if !d.is_code() {
            return Err(Exc::gp(e));
        }
        if d.conforming() {
            if d.dpl() > self.cpl {
                return Err(Exc::gp(e));
            }
        } else if (sel & 3) as u8 > self.cpl || d.dpl() != self.cpl {
            return Err(Exc::gp(e));
        }
        if !d.present() {
            return Err(Exc::code(NP, e));
        }
        Ok(())
    }

    pub(crate) fn far_jump<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        off: u32,
        size: u32,
    ) -> Res<()> {
        let off = if size == 2 { off & 0xFFFF } else { off };
        if !self.protected() || self.v86() {
            self.check_cs_limit(off)?;
            self.load_seg(bus, CS, sel)?;
            self.eip = off;
            return Ok(());
        }
        if sel & !3 == 0 {
            return Err(Exc::gp(0));
        }
        let d = self.read_desc(bus, sel, GP)?;
        if d.is_system() {
            return match d.sys_type() {
                4 | 12 => {
                    let (gd, gsel, goff) = self.through_call_gate(bus, &d, sel)?;
                    if !gd.conforming() && gd.dpl() != self.cpl {
                        return Err(Exc::gp(sel_err(gsel)));
                    }
                    let goff = if d.sys_type() == 4 {
                        goff & 0xFFFF
                    } else {
                        goff
                    };
                    if goff > gd.limit() {
                        return Err(Exc::gp(0));
                    }
                    self.set_accessed(bus, gsel, &gd)?;
                    let cpl = self.cpl;
                    self.set_cs(&gd, gsel, cpl);
                    self.eip = goff;
                    Ok(())
                }
                _ => self.far_to_task(bus, sel, &d, TaskSrc::Jmp),
            };
        }
        self.check_code_target(&d, sel)?;
        if off > d.limit() {
            return Err(Exc::gp(0));
        }
        self.set_accessed(bus, sel, &d)?;
        let cpl = self.cpl;
        self.set_cs(&d, sel, cpl);
        self.eip = off;
        Ok(())
    }

    /// Validates a call gate and its target code segment.
    fn through_call_gate<B: Bus>(
        &mut self,
        bus: &mut B,
        gate: &Desc,
        sel: u16,
    ) -> Res<(Desc, u16, u32)> {
        let e = sel_err(sel);
        if gate.dpl() < self.cpl || gate.dpl() < (sel & 3) as u8 {
            return Err(Exc::gp(e));
        }
        if !gate.present() {
            return Err(Exc::code(NP, e));
        }
        let tsel = gate.gate_sel();
        if tsel & !3 == 0 {
            return Err(Exc::gp(0));
        }
        let td = self.read_desc(bus, tsel, GP)?;
        if !td.is_code() || td.dpl() > self.cpl {
            return Err(Exc::gp(sel_err(tsel)));
        }
        if !td.present() {
            return Err(Exc::code(NP, sel_err(tsel)));
        }
        Ok((td, tsel, gate.gate_off()))
    }

    /// The inner-level stack for privilege `dpl` from the current TSS.
    fn tss_stack<B: Bus>(&mut self, bus: &mut B, dpl: u8) -> Res<(u16, u32)> {
        let t = self.tr;
        let big = matches!(t.attr & 0xF, 9 | 11);
        let (off, w) = if big {
            (4 + dpl as u32 * 8, 4)
        } else {
            (2 + dpl as u32 * 4, 2)
        };
        if off + w * 2 - 1 > t.limit {
            return Err(Exc::code(TS, sel_err(t.selector)));
        }
        let esp = self.rd_sys(bus, t.base.wrapping_add(off), w)?;
        let ss = self.rd_sys(bus, t.base.wrapping_add(off + w), 2)? as u16;
        Ok((ss, esp))
    }

    /// Loads SS for an inner-privilege transfer, with the #TS checks.
    fn load_inner_ss<B: Bus>(&mut self, bus: &mut B, ss: u16, dpl: u8) -> Res<Segment> {
        let e = sel_err(ss);
        if ss & !3 == 0 {
            return Err(Exc::code(TS, e));
        }
        let d = self.read_desc(bus, ss, TS)?;
        if (ss & 3) as u8 != dpl || d.dpl() != dpl || !d.writable_data() {
            return Err(Exc::code(TS, e));
        }
        if !d.present() {
            return Err(Exc::code(SSF, e));
        }
        self.set_accessed(bus, ss, &d)?;
        Ok(d.segment(ss))
    }

    pub(crate) fn far_call<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        off: u32,
        size: u32,
    ) -> Res<()> {
        let off = if size == 2 { off & 0xFFFF } else { off };
        let (cs, ip) = (self.seg[CS].selector as u32, self.eip);
        if !self.protected() || self.v86() {
            self.check_cs_limit(off)?;
            self.atomic_sp(bus, |c, bus| {
                c.push(bus, cs, size)?;
                c.push(bus, ip, size)
            })?;
            self.load_seg(bus, CS, sel)?;
            self.eip = off;
            return Ok(());
        }
        if sel & !3 == 0 {
            return Err(Exc::gp(0));
        }
        let d = self.read_desc(bus, sel, GP)?;
        if !d.is_system() {
            self.check_code_target(&d, sel)?;
            if off > d.limit() {
                return Err(Exc::gp(0));
            }
            self.atomic_sp(bus, |c, bus| {
                c.push(bus, cs, size)?;
                c.push(bus, ip, size)
            })?;
            self.set_accessed(bus, sel, &d)?;
            let cpl = self.cpl;
            self.set_cs(&d, sel, cpl);
            self.eip = off;
            return Ok(());
        }
        match d.sys_type() {
            4 | 12 => {}
            _ => return self.far_to_task(bus, sel, &d, TaskSrc::Call),
        }
        let (td, tsel, goff) = self.through_call_gate(bus, &d, sel)?;
        let gsize = if d.sys_type() == 12 { 4 } else { 2 };
        let goff = if gsize == 2 { goff & 0xFFFF } else { goff };
        if goff > td.limit() {
            return Err(Exc::gp(0));
        }
        if !td.conforming() && td.dpl() < self.cpl {
            // Inner privilege: new stack from the TSS, parameters copied (SDM §5.8.5).
            let dpl = td.dpl();
            let (nss, nesp) = self.tss_stack(bus, dpl)?;
            let ss_seg = self.load_inner_ss(bus, nss, dpl)?;
            let count = d.hi & 0x1F;
            let (old_ss, old_esp, old_seg, old_cpl) = (
                self.seg[SS].selector as u32,
                self.regs[ESP],
                self.seg[SS],
                self.cpl,
            );
            let mut params = [0u32; 32];
            for (i, p) in params.iter_mut().enumerate().take(count as usize) {
                *p = self.peek(bus, i as u32 * gsize, gsize)?;
            }
            self.seg[SS] = ss_seg;
            self.regs[ESP] = nesp;
            self.set_cpl(dpl);
            let r = (|| -> Res<()> {
                self.push(bus, old_ss, gsize)?;
                self.push(bus, old_esp, gsize)?;
                for i in (0..count as usize).rev() {
                    self.push(bus, params[i], gsize)?;
                }
                self.push(bus, cs, gsize)?;
                self.push(bus, ip, gsize)
            })();
            if let Err(x) = r {
                self.seg[SS] = old_seg;
                self.regs[ESP] = old_esp;
                self.set_cpl(old_cpl);
                return Err(x);
            }
            self.set_cs(&td, tsel, dpl);
        } else {
            self.atomic_sp(bus, |c, bus| {
                c.push(bus, cs, gsize)?;
                c.push(bus, ip, gsize)
            })?;
            let cpl = self.cpl;
            self.set_cs(&td, tsel, cpl);
        }
        self.eip = goff;
        Ok(())
    }

    pub(crate) fn far_ret<B: Bus>(&mut self, bus: &mut B, size: u32, imm: u32) -> Res<()> {
        let off = self.peek(bus, 0, size)?;
        let sel = self.peek(bus, size, 2)? as u16;
        if !self.protected() || self.v86() {
            let off = if size == 2 { off & 0xFFFF } else { off };
            self.check_cs_limit(off)?;
            self.load_seg(bus, CS, sel)?;
            self.eip = off;
            let sp = self.regs[ESP].wrapping_add(2 * size + imm);
            self.set_sp(sp);
            return Ok(());
        }
        self.return_pm(bus, size, imm, off, sel, None)
    }

    /// The protected-mode part of RETF and IRET: same or outer privilege.
    fn return_pm<B: Bus>(
        &mut self,
        bus: &mut B,
        size: u32,
        imm: u32,
        off: u32,
        sel: u16,
        flags: Option<u32>,
    ) -> Res<()> {
        let off = if size == 2 { off & 0xFFFF } else { off };
        let rpl = (sel & 3) as u8;
        let e = sel_err(sel);
        if sel & !3 == 0 {
            return Err(Exc::gp(0));
        }
        let d = self.read_desc(bus, sel, GP)?;
        if rpl < self.cpl || !d.is_code() {
            return Err(Exc::gp(e));
        }
        if d.conforming() {
            if d.dpl() > rpl {
                return Err(Exc::gp(e));
            }
        } else if d.dpl() != rpl {
            return Err(Exc::gp(e));
        }
        if !d.present() {
            return Err(Exc::code(NP, e));
        }
        if off > d.limit() {
            return Err(Exc::gp(0));
        }
        let frame = if flags.is_some() { 3 * size } else { 2 * size };
        if rpl == self.cpl {
            self.set_accessed(bus, sel, &d)?;
            let sp = self.regs[ESP].wrapping_add(frame + imm);
            self.set_sp(sp);
            self.set_cs(&d, sel, rpl);
            self.eip = off;
            if let Some(f) = flags {
                self.write_flags(f, size, true);
            }
            return Ok(());
        }
        // Return to an outer level: pop ESP and SS too.
        let nesp = self.peek(bus, frame + imm, size)?;
        let nss = self.peek(bus, frame + imm + size, 2)? as u16;
        if nss & !3 == 0 {
            return Err(Exc::gp(0));
        }
        let sd = self.read_desc(bus, nss, GP)?;
        let se = sel_err(nss);
        if (nss & 3) as u8 != rpl || !sd.writable_data() || sd.dpl() != rpl {
            return Err(Exc::gp(se));
        }
        if !sd.present() {
            return Err(Exc::code(SSF, se));
        }
        self.set_accessed(bus, sel, &d)?;
        self.set_accessed(bus, nss, &sd)?;
        if let Some(f) = flags {
            // Flags are written with the old CPL's rights.
            self.write_flags(f, size, true);
        }
        self.set_cs(&d, sel, rpl);
        self.seg[SS] = sd.segment(nss);
        self.set_sp(nesp.wrapping_add(imm));
        if size == 2 {
            self.regs[ESP] = (self.regs[ESP] & !0xFFFF) | ((nesp.wrapping_add(imm)) & 0xFFFF);
        }
        self.eip = off;
        // Data segments the new level may not use are nulled (SDM "RET" operation).
        for s in [ES, DS, FS, GS] {
            let sg = self.seg[s];
            let code_conf = sg.attr & ATTR_CODE != 0 && sg.attr & ATTR_DC != 0;
            if sg.acc != 0 && !code_conf && sg.dpl() < rpl {
                self.seg[s] = Segment {
                    selector: 0,
                    base: 0,
                    limit: 0,
                    attr: 0,
                    acc: 0,
                };
            }
        }
        Ok(())
    }

    pub(crate) fn iret<B: Bus>(&mut self, bus: &mut B, size: u32) -> Res<()> {
        if !self.protected() || self.v86() {
            if self.v86() && self.eflags & IOPL != IOPL {
                return Err(Exc::gp(0));
            }
            let off = self.peek(bus, 0, size)?;
            let sel = self.peek(bus, size, 2)? as u16;
            let fl = self.peek(bus, 2 * size, size)?;
            let off = if size == 2 { off & 0xFFFF } else { off };
            self.check_cs_limit(off)?;
            self.load_seg(bus, CS, sel)?;
            let sp = self.regs[ESP].wrapping_add(3 * size);
            self.set_sp(sp);
            self.eip = off;
            if self.v86() {
                // IOPL is not changed from V86 mode.
                let keep = self.eflags & IOPL;
                self.write_flags((fl & !IOPL) | keep, size, true);
                self.eflags = (self.eflags & !IOPL) | keep;
            } else {
                self.write_flags(fl, size, true);
            }
            return Ok(());
        }
        if self.eflags & NT != 0 {
            return self.task_return(bus);
        }
        let off = self.peek(bus, 0, size)?;
        let sel = self.peek(bus, size, 2)? as u16;
        let fl = self.peek(bus, 2 * size, size)?;
        if size == 4 && fl & VM != 0 && self.cpl == 0 {
            return self.iret_to_v86(bus, off, sel, fl);
        }
        self.return_pm(bus, size, 0, off, sel, Some(fl))
    }

    fn iret_to_v86<B: Bus>(&mut self, bus: &mut B, off: u32, sel: u16, fl: u32) -> Res<()> {
        let mut v = [0u32; 6];
        for (i, x) in v.iter_mut().enumerate() {
            *x = self.peek(bus, 12 + 4 * i as u32, 4)?;
        }
        let [esp, ss, es, ds, fs, gs] = v;
        self.eflags = (fl & WRITABLE) | 2;
        self.set_cpl(3);
        for (s, val) in [
            (CS, sel as u32),
            (SS, ss),
            (ES, es),
            (DS, ds),
            (FS, fs),
            (GS, gs),
        ] {
            self.load_seg(bus, s, val as u16)?;
        }
        self.regs[ESP] = esp;
        self.eip = off & 0xFFFF;
        Ok(())
    }

    fn interrupt_pm<B: Bus>(
        &mut self,
        bus: &mut B,
        v: u8,
        err: Option<u32>,
        kind: Kind,
    ) -> Res<()> {
        let ext = (kind != Kind::Software) as u32;
        let idx = v as u32 * 8;
        if idx + 7 > self.idtr.limit as u32 {
            return Err(Exc::gp(idx + 2 + ext));
        }
        let lo = self.rd_sys(bus, self.idtr.base.wrapping_add(idx), 4)?;
        let hi = self.rd_sys(bus, self.idtr.base.wrapping_add(idx + 4), 4)?;
        let gate = Desc { lo, hi };
        let ty = gate.sys_type();
        if !gate.is_system() || !matches!(ty, 5 | 6 | 7 | 14 | 15) {
            return Err(Exc::gp(idx + 2 + ext));
        }
        if kind == Kind::Software && gate.dpl() < self.cpl {
            return Err(Exc::gp(idx + 2));
        }
        if !gate.present() {
            return Err(Exc::code(NP, idx + 2 + ext));
        }
        if ty == 5 {
            return self.task_gate_target(bus, gate.gate_sel(), TaskSrc::Int(err));
        }
        let gsize = if ty >= 14 { 4 } else { 2 };
        let off = if gsize == 2 {
            gate.gate_off() & 0xFFFF
        } else {
            gate.gate_off()
        };
        let sel = gate.gate_sel();
        if sel & !3 == 0 {
            return Err(Exc::gp(ext));
        }
        let e = sel_err(sel) + ext;
        // A selector outside the table faults with EXT set too (SDM "INT n" pseudocode).
        let d = match self.read_desc(bus, sel, GP) {
            Err(x) if x.vector == GP && x.error() == Some(sel_err(sel)) => return Err(Exc::gp(e)),
            r => r?,
        };
        if !d.is_code() || d.dpl() > self.cpl {
            return Err(Exc::gp(e));
        }
        if !d.present() {
            return Err(Exc::code(NP, e));
        }
        if off > d.limit() {
            return Err(Exc::gp(ext));
        }
        let old = (self.seg, self.regs[ESP], self.cpl, self.eflags);
        let flags = self.eflags;
        let (cs, ip) = (self.seg[CS].selector as u32, self.eip);
        let was_v86 = self.v86();
        let r = (|| -> Res<()> {
            if !d.conforming() && d.dpl() < self.cpl {
                let dpl = d.dpl();
                if was_v86 && dpl != 0 {
                    return Err(Exc::gp(e));
                }
                let (nss, nesp) = self.tss_stack(bus, dpl)?;
                let ss_seg = self.load_inner_ss(bus, nss, dpl)?;
                let (oss, oesp) = (self.seg[SS].selector as u32, self.regs[ESP]);
                self.seg[SS] = ss_seg;
                self.regs[ESP] = nesp;
                self.set_cpl(dpl);
                if was_v86 {
                    for s in [GS, FS, DS, ES] {
                        let v = self.seg[s].selector as u32;
                        self.push(bus, v, gsize)?;
                    }
                }
                self.push(bus, oss, gsize)?;
                self.push(bus, oesp, gsize)?;
            } else if was_v86 {
                return Err(Exc::gp(e));
            }
            self.push(bus, flags, gsize)?;
            self.push(bus, cs, gsize)?;
            self.push(bus, ip, gsize)?;
            if let Some(code) = err {
                self.push(bus, code, gsize)?;
            }
            Ok(())
        })();
        if let Err(x) = r {
            (self.seg, self.regs[ESP], self.cpl, self.eflags) = old;
            return Err(x);
        }
        if was_v86 {
            for s in [ES, DS, FS, GS] {
                self.seg[s] = Segment {
                    selector: 0,
                    base: 0,
                    limit: 0,
                    attr: 0,
                    acc: 0,
                };
            }
        }
        let cpl = if d.conforming() { self.cpl } else { d.dpl() };
        self.set_cs(&d, sel, cpl);
        self.eflags &= !(TF | NT | RF | VM);
        if ty & 1 == 0 {
            self.eflags &= !IF;
        }
        self.eip = off;
        Ok(())
    }
}
