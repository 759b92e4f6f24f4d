//! FXSAVE and FXRSTOR (SDM Vol. 2A "FXSAVE"/"FXRSTOR", Vol. 1 §10.5): the 512-byte image
//! of the x87/MMX and SSE state.
//!
//! Layout (Vol. 1 Table 10-2, non-64-bit mode): FCW at 0, FSW at 2, the abridged tag
//! word at 4 (bit i set: physical register Ri is not empty), FOP at 6, FIP at 8, FCS at
//! 12, FDP at 16, FDS at 20, MXCSR at 24, MXCSR_MASK at 28, ST(0)…ST(7) in stack order
//! at 32 + 16·i (10 bytes each), XMM0…XMM7 at 160 + 16·i.
//! The SSE part (MXCSR, MXCSR_MASK, XMM) is saved and restored only on models with SSE
//! and with CR4.OSFXSR = 1 (Vol. 2A "FXSAVE": without OSFXSR whether it is saved is
//! implementation dependent; Intel's P6 parts leave it alone); otherwise those bytes
//! are left alone and ignored, as on a Pentium II. MXCSR_MASK is FFFFh with DAZ and 0
//! without it (a zero mask means the default FFBFh, Vol. 1 §11.6.6). FXRSTOR of an MXCSR
//! with a reserved bit set is #GP(0), before anything changes. Neither instruction
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

    /// Whether FXSAVE/FXRSTOR handle the SSE part of the image.
    fn fxsr_sse(&self) -> bool {
        self.model().has(crate::model::FEAT_SSE) && self.cr4 & crate::regs::CR4_OSFXSR != 0
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
        if self.fxsr_sse() {
            let mask = if self.model().info().daz { 0xFFFF } else { 0 };
            self.m_wr(bus, e, Self::m_field(e, off, 24), 0, 4, self.mxcsr)?;
            self.m_wr(bus, e, Self::m_field(e, off, 28), 0, 4, mask)?;
            for i in 0..8u32 {
                let v = self.xmm[i as usize];
                for k in 0..4 {
                    let o = Self::m_field(e, off, 160 + 16 * i + 4 * k);
                    self.m_wr(bus, e, o, 0, 4, (v >> (32 * k)) as u32)?;
                }
            }
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
        let sse = self.fxsr_sse();
        let mut xmm = self.xmm;
        let mut mxcsr = self.mxcsr;
        if sse {
            mxcsr = self.m_rd(bus, e, Self::m_field(e, off, 24), 0, 4)?;
            if mxcsr & !self.mxcsr_mask() != 0 {
                return Err(Exc::gp(0));
            }
            for (i, x) in xmm.iter_mut().enumerate() {
                *x = 0;
                for k in 0..4u32 {
                    let o = Self::m_field(e, off, 160 + 16 * i as u32 + 4 * k);
                    *x |= (self.m_rd(bus, e, o, 0, 4)? as u128) << (32 * k);
                }
            }
        }
        self.xmm = xmm;
        self.mxcsr = mxcsr;
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
