//! The CPU's architectural state as one serialisable value, for machine snapshots:
//! registers, descriptor caches, x87/MMX/SSE state, MSRs, the TSC, and the halted,
//! interrupt-shadow and PAE PDPTE latches. The TLB and the block cache are not part of
//! it: they are caches of memory and are rebuilt after a load.

use crate::{fpu::Fpu, regs::Segment, regs::TableReg, Cpu, CpuModel};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything [`Cpu::save_state`] captures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuState {
    pub model: CpuModel,
    pub regs: [u32; 8],
    pub eip: u32,
    pub eflags: u32,
    pub seg: [Segment; 6],
    pub ldtr: Segment,
    pub tr: Segment,
    pub gdtr: TableReg,
    pub idtr: TableReg,
    pub cr: [u32; 4],
    pub dr: [u32; 8],
    pub cpl: u8,
    pub tsc_offset: u64,
    pub icount: u64,
    pub halted: bool,
    pub fpu_present: bool,
    pub fpu: Fpu,
    #[serde(with = "wide")]
    pub xmm: [u128; 8],
    pub mxcsr: u32,
    pub hlt_exits: bool,
    pub sysenter: [u32; 3],
    pub apic_base: u64,
    pub mtrr: BTreeMap<u32, u64>,
    pub shadow: bool,
    pub smc: bool,
    pub pdpte: [u64; 4],
    pub rsvd_fault: bool,
}

/// XMM registers as hex strings: JSON numbers stop at 64 bits.
mod wide {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &[u128; 8], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(x.iter().map(|v| format!("{v:032x}")))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u128; 8], D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        let mut out = [0u128; 8];
        if v.len() != 8 {
            return Err(D::Error::custom("expected 8 XMM registers"));
        }
        for (o, s) in out.iter_mut().zip(&v) {
            *o = u128::from_str_radix(s, 16).map_err(D::Error::custom)?;
        }
        Ok(out)
    }
}

impl Cpu {
    /// The architectural state (see [`CpuState`]).
    pub fn save_state(&self) -> CpuState {
        CpuState {
            model: self.model,
            regs: self.regs,
            eip: self.eip,
            eflags: self.flags_now(),
            seg: self.seg,
            ldtr: self.ldtr,
            tr: self.tr,
            gdtr: self.gdtr,
            idtr: self.idtr,
            cr: [self.cr0, self.cr2, self.cr3, self.cr4],
            dr: self.dr,
            cpl: self.cpl,
            tsc_offset: self.tsc_offset,
            icount: self.icount,
            halted: self.halted,
            fpu_present: self.fpu_present,
            fpu: self.fpu.clone(),
            xmm: self.xmm,
            mxcsr: self.mxcsr,
            hlt_exits: self.hlt_exits,
            sysenter: [self.sysenter_cs, self.sysenter_esp, self.sysenter_eip],
            apic_base: self.apic_base,
            mtrr: self.mtrr.clone(),
            shadow: self.shadow,
            smc: self.smc,
            pdpte: self.pdpte,
            rsvd_fault: self.rsvd_fault,
        }
    }

    /// Restores a state from [`Cpu::save_state`]; the TLB and block cache start empty.
    /// Fails (changing nothing) when the state was saved from another CPU model, whose
    /// decoded extensions differ.
    pub fn load_state(&mut self, s: CpuState) -> Result<(), String> {
        if s.model != self.model {
            return Err(format!(
                "the state was saved with CPU model {:?}, this machine has {:?}",
                s.model, self.model
            ));
        }
        self.regs = s.regs;
        self.eip = s.eip;
        self.eflags = s.eflags;
        self.lazy = crate::flags::Lazy::default();
        self.seg = s.seg;
        self.ldtr = s.ldtr;
        self.tr = s.tr;
        self.gdtr = s.gdtr;
        self.idtr = s.idtr;
        [self.cr0, self.cr2, self.cr3, self.cr4] = s.cr;
        self.dr = s.dr;
        self.set_cpl(s.cpl);
        self.tsc_offset = s.tsc_offset;
        self.icount = s.icount;
        self.halted = s.halted;
        self.fpu_present = s.fpu_present;
        self.fpu = s.fpu;
        self.xmm = s.xmm;
        self.mxcsr = s.mxcsr;
        self.hlt_exits = s.hlt_exits;
        [self.sysenter_cs, self.sysenter_esp, self.sysenter_eip] = s.sysenter;
        self.apic_base = s.apic_base;
        self.mtrr = s.mtrr;
        self.shadow = s.shadow;
        self.smc = s.smc;
        self.pdpte = s.pdpte;
        self.rsvd_fault = s.rsvd_fault;
        self.end = 0;
        self.host_stop = false;
        self.tlb.flush(false);
        self.flush_cache();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_round_trips_and_refuses_another_model() {
        let mut a = Cpu::new();
        a.regs[3] = 0x1234_5678;
        a.xmm[7] = u128::MAX - 5;
        // Through JSON, as machine snapshots store it.
        let json = serde_json::to_string(&a.save_state()).unwrap();
        let back: CpuState = serde_json::from_str(&json).unwrap();
        assert_eq!(back.xmm[7], u128::MAX - 5);
        a.fpu.regs[2].m = 0x8000_0000_0000_0001;
        a.mtrr.insert(0x200, 0x6);
        a.icount = 99;
        let s = a.save_state();
        let mut b = Cpu::new();
        b.load_state(s.clone()).unwrap();
        assert_eq!(b.save_state(), s);
        let other = if a.model() == CpuModel::I486Dx {
            CpuModel::default()
        } else {
            CpuModel::I486Dx
        };
        if other != a.model() {
            let mut c = Cpu::with_model(other);
            assert!(c.load_state(s).is_err());
        }
    }
}
