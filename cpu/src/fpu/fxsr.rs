//! FXSAVE and FXRSTOR (SDM Vol. 2A "FXSAVE"/"FXRSTOR", Vol. 1 §10.5): the 512-byte image
//! of the x87/MMX state, as a Pentium II (Deschutes) without SSE keeps it.
//!
//! Layout (Vol. 1 Table 10-2, non-64-bit mode): FCW at 0, FSW at 2, the abridged tag
//! word at 4 (bit i set: physical register Ri is not empty), FOP at 6, FIP at 8, FCS at
//! 12, FDP at 16, FDS at 20, and ST(0)…ST(7) in stack order at 32 + 16·i (10 bytes each).
//! Bytes 24–31 (MXCSR, MXCSR_MASK) and 160–415 (XMM registers) belong to SSE, which this
//! CPU lacks: FXSAVE leaves them alone and FXRSTOR ignores them. Neither instruction
//! waits for a pending x87 exception, and FXSAVE does not reinitialise the FPU (unlike
//! FSAVE).

use super::*;

impl Cpu {
    /// FXSAVE (`restore` false) or FXRSTOR m512byte.
    pub(crate) fn fxsr<B: Bus>(&mut self, bus: &mut B, e: &Entry, restore: bool) -> Res<()> {
        if !self.fpu_present {
            return Err(Exc::ud());
        }
        // Both CR0.EM and CR0.TS give #NM (not #UD as for MMX instructions).
        if self.cr0 & (crate::regs::CR0_EM | crate::regs::CR0_TS) != 0 {
            return Err(Exc::new(crate::NM));
        }
        let off = self.ea(e);
        let seg = Self::seg_of(e);
        // The whole 512-byte operand must be inside the segment, and 16-byte aligned
        // whatever the segment (#GP(0) rather than #AC).
        let lin = self.linear(seg, off, 512, !restore)?;
        if lin & 15 != 0 {
            return Err(Exc::gp(0));
        }
        if restore {
            self.fxrstor(bus, e, off)
        } else {
            self.probe_write(bus, lin, 512)?;
            self.fxsave(bus, e, off)
        }
    }

    fn fxsave<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32) -> Res<()> {
        let f = &self.fpu;
        let words = [
            (0, f.cw as u32 | ((f.sw as u32) << 16)),
            (4, (!f.empty) as u32 | ((f.fop as u32 & 0x7FF) << 16)),
            (8, f.fip),
            (12, f.fcs as u32),
            (16, f.fdp),
            (20, f.fds as u32),
        ];
        let st: Vec<F80> = (0..8).map(|i| f.st(i)).collect();
        for (k, v) in words {
            self.m_wr(bus, e, Self::m_field(e, off, k), 0, 4, v)?;
        }
        for (i, v) in st.iter().enumerate() {
            let o = Self::m_field(e, off, 32 + 16 * i as u32);
            self.m_wr(bus, e, o, 0, 4, v.m as u32)?;
            self.m_wr(bus, e, o, 4, 4, (v.m >> 32) as u32)?;
            self.m_wr(bus, e, o, 8, 2, v.se as u32)?;
        }
        Ok(())
    }

    fn fxrstor<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32) -> Res<()> {
        let mut w = [0u32; 6];
        for (k, v) in w.iter_mut().enumerate() {
            *v = self.m_rd(bus, e, Self::m_field(e, off, 4 * k as u32), 0, 4)?;
        }
        let mut st = [F80::ZERO; 8];
        for (i, v) in st.iter_mut().enumerate() {
            let o = Self::m_field(e, off, 32 + 16 * i as u32);
            let (lo, hi) = self.m_rd80(bus, e, o)?;
            *v = F80 { se: hi, m: lo };
        }
        let f = &mut self.fpu;
        f.cw = (w[0] as u16 & 0x1F3F) | 0x40;
        f.sw = (w[0] >> 16) as u16;
        f.empty = !(w[1] as u8);
        f.fop = ((w[1] >> 16) & 0x7FF) as u16;
        f.fip = w[2];
        f.fcs = w[3] as u16;
        f.fdp = w[4];
        f.fds = w[5] as u16;
        for (i, v) in st.iter().enumerate() {
            let p = f.phys(i);
            f.regs[p] = *v;
        }
        // An unmasked exception flag in the restored FSW is pending again (ES, B), to be
        // reported by the next waiting instruction.
        f.update_es();
        Ok(())
    }
}
