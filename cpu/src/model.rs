//! CPU models: the identity CPUID reports and the instruction-set extensions that go
//! with it. The model is fixed when the CPU is created; an instruction of an extension
//! the model does not advertise decodes to #UD, so the block cache never holds entries
//! of another model and the hot loop pays nothing.
//!
//! Signatures and feature flags follow Intel AP-485 "Intel Processor Identification and
//! the CPUID Instruction" (241618; processor signature and feature-flag tables) and SDM
//! Vol. 2A "CPUID" (Table 3-8 / 3-11, feature flags in EDX). Each model reports the real
//! part's EDX restricted to what this CPU implements: VME, DE, MCE, MCA, PAT, PSE36,
//! PSN, DS, ACPI, TM and PBE stay clear on every model, and leaf 1 ECX (the
//! Pentium M's EST and TM2) is 0. Everything else of the real parts (signature, brand
//! index, CLFLUSH line size, cache descriptors, brand string) is reported as is.

use iced_x86::{Instruction, Mnemonic};

/// CPUID leaf 1 EDX feature bits (SDM Vol. 2A "CPUID", feature flags in EDX).
pub const FEAT_FPU: u32 = 1 << 0;
pub const FEAT_PSE: u32 = 1 << 3;
pub const FEAT_TSC: u32 = 1 << 4;
pub const FEAT_MSR: u32 = 1 << 5;
pub const FEAT_PAE: u32 = 1 << 6;
pub const FEAT_CX8: u32 = 1 << 8;
pub const FEAT_APIC: u32 = 1 << 9;
pub const FEAT_SEP: u32 = 1 << 11;
pub const FEAT_MTRR: u32 = 1 << 12;
pub const FEAT_PGE: u32 = 1 << 13;
pub const FEAT_CMOV: u32 = 1 << 15;
pub const FEAT_CLFSH: u32 = 1 << 19;
pub const FEAT_MMX: u32 = 1 << 23;
pub const FEAT_FXSR: u32 = 1 << 24;
pub const FEAT_SSE: u32 = 1 << 25;
pub const FEAT_SSE2: u32 = 1 << 26;
/// The flags that need the x87 (its registers hold MMX; FXSAVE saves them; SSE needs
/// FXSAVE): a CPU without its FPU reports none of them.
pub const FEAT_NEED_FPU: u32 = FEAT_FPU | FEAT_MMX | FEAT_FXSR | FEAT_SSE | FEAT_SSE2;

/// A selectable CPU model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum CpuModel {
    /// Intel486 DX with CPUID (family 4, model 1).
    I486Dx,
    /// Pentium P54C (family 5, model 2).
    Pentium,
    /// Pentium with MMX technology, P55C (family 5, model 4).
    PentiumMmx,
    /// Pentium II "Deschutes" (family 6, model 5).
    Pentium2,
    /// Pentium III "Coppermine" (family 6, model 8): SSE.
    Pentium3,
    /// Pentium M "Banias" (family 6, model 9): SSE2; the default.
    #[default]
    PentiumM,
}

/// What a model reports and allows.
#[derive(Clone, Copy, Debug)]
pub struct ModelInfo {
    /// The `--cpu` name.
    pub name: &'static str,
    /// A one-line description.
    pub about: &'static str,
    /// Highest standard CPUID leaf (leaf 0 EAX).
    pub max_leaf: u32,
    /// Leaf 1 EAX: type, family, model, stepping.
    pub signature: u32,
    /// Leaf 1 EDX with an FPU present; without one FPU, MMX and FXSR drop out.
    pub features: u32,
    /// Leaf 1 EBX: brand index (bits 7–0) and, with CLFSH, the CLFLUSH line size in
    /// 8-byte units (bits 15–8); the APIC ID bits stay 0.
    pub leaf1_ebx: u32,
    /// Leaf 2 cache and TLB descriptors (EAX, EBX, ECX, EDX), for models with leaf 2.
    pub leaf2: [u32; 4],
    /// The brand string of leaves 80000002h–80000004h (48 bytes with its NUL), for the
    /// models that have extended leaves up to 80000004h.
    pub brand: Option<&'static [u8; 48]>,
    /// MXCSR.DAZ exists (SDM Vol. 1 §11.6.3): MXCSR_MASK FFFFh, else FFBFh.
    pub daz: bool,
    /// RDPMC exists: P6 family and Pentium with MMX technology (SDM Vol. 2B "RDPMC").
    pub rdpmc: bool,
    /// CR4 exists: the Pentium introduced it (SDM Vol. 3A §2.5); a 486DX without VME has
    /// none, so MOV to or from CR4 is #UD.
    pub cr4: bool,
}

impl CpuModel {
    /// Every model, in `--cpu help` order.
    pub const ALL: [CpuModel; 6] = [
        CpuModel::I486Dx,
        CpuModel::Pentium,
        CpuModel::PentiumMmx,
        CpuModel::Pentium2,
        CpuModel::Pentium3,
        CpuModel::PentiumM,
    ];

    pub fn info(self) -> &'static ModelInfo {
        match self {
            // AP-485: Intel486 DX processors with CPUID report family 4 and the FPU flag
            // only; model 1 is the DX-50 part. Leaf 0 reports a maximum leaf of 1.
            CpuModel::I486Dx => &ModelInfo {
                name: "486dx",
                about: "Intel486 DX-50 with CPUID",
                max_leaf: 1,
                signature: 0x0410,
                features: FEAT_FPU,
                leaf1_ebx: 0,
                leaf2: [0; 4],
                brand: None,
                daz: false,
                rdpmc: false,
                cr4: false,
            },
            // AP-485: Pentium (P54C, 75-200 MHz) is family 5 model 2; stepping C (0x52C)
            // is a common production stepping. Real EDX 0x000001BF (FPU VME DE PSE TSC
            // MSR MCE CX8); VME, DE and MCE are not implemented here.
            CpuModel::Pentium => &ModelInfo {
                name: "pentium",
                about: "Pentium (P54C)",
                max_leaf: 1,
                signature: 0x052C,
                features: FEAT_FPU | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_CX8,
                leaf1_ebx: 0,
                leaf2: [0; 4],
                brand: None,
                daz: false,
                rdpmc: false,
                cr4: true,
            },
            // AP-485: Pentium with MMX technology (P55C) is family 5 model 4, stepping 3
            // (0x543) in most parts sold. Real EDX 0x008001BF: the P54C set plus MMX.
            CpuModel::PentiumMmx => &ModelInfo {
                name: "pentium-mmx",
                about: "Pentium MMX (P55C)",
                max_leaf: 1,
                signature: 0x0543,
                features: FEAT_FPU | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_CX8 | FEAT_MMX,
                leaf1_ebx: 0,
                leaf2: [0; 4],
                brand: None,
                daz: false,
                rdpmc: true,
                cr4: true,
            },
            // AP-485: Pentium II (Deschutes, 0.25 µm) is family 6 model 5; stepping 2.
            // Leaf 2 descriptors (AP-485 cache descriptor table): 01h instruction TLB
            // 4 KB, 02h instruction TLB 4 MB, 03h data TLB 4 KB, 43h 512 KB L2,
            // 08h 16 KB L1 instruction, 04h data TLB 4 MB, 0Ch 16 KB L1 data.
            CpuModel::Pentium2 => &ModelInfo {
                name: "pentium2",
                about: "Pentium II (Deschutes)",
                max_leaf: 2,
                signature: 0x0652,
                features: FEAT_FPU
                    | FEAT_PSE
                    | FEAT_TSC
                    | FEAT_MSR
                    | FEAT_PAE
                    | FEAT_CX8
                    | FEAT_APIC
                    | FEAT_SEP
                    | FEAT_MTRR
                    | FEAT_PGE
                    | FEAT_CMOV
                    | FEAT_MMX
                    | FEAT_FXSR,
                leaf1_ebx: 0,
                leaf2: [0x0302_0101, 0, 0, 0x0C04_0843],
                brand: None,
                daz: false,
                rdpmc: true,
                cr4: true,
            },
            // Pentium III Coppermine, family 6 model 8 stepping 6 (cC0), as x86info
            // records it (LKML, 2001): leaf 0 EAX 2 (serial number disabled), leaf 1
            // 00000686 / EBX 00000002 (brand index 2, "Pentium III") / ECX 0 / EDX
            // 0383FBFF, leaf 2 03020101 0 0 0C040882 (82h: 256 KB 8-way L2). No brand
            // string and no DAZ (SDM Vol. 1 §11.6.3: MXCSR_MASK then reads 0, meaning
            // FFBFh). Of EDX, VME DE MCE MCA PAT PSE36 are not implemented here.
            CpuModel::Pentium3 => &ModelInfo {
                name: "pentium3",
                about: "Pentium III (Coppermine)",
                max_leaf: 2,
                signature: 0x0686,
                features: FEAT_FPU
                    | FEAT_PSE
                    | FEAT_TSC
                    | FEAT_MSR
                    | FEAT_PAE
                    | FEAT_CX8
                    | FEAT_APIC
                    | FEAT_SEP
                    | FEAT_MTRR
                    | FEAT_PGE
                    | FEAT_CMOV
                    | FEAT_MMX
                    | FEAT_FXSR
                    | FEAT_SSE,
                leaf1_ebx: 0x0000_0002,
                leaf2: [0x0302_0101, 0, 0, 0x0C04_0882],
                brand: None,
                daz: false,
                rdpmc: true,
                cr4: true,
            },
            // Pentium M Banias, family 6 model 9 stepping 5, as x86info records it
            // (LKML, "cpufreq on Pentium M", 2003): leaf 0 EAX 2; leaf 1 00000695 / EBX
            // 00000816 (brand index 16h, 64-byte CLFLUSH lines) / ECX 00000180 (EST,
            // TM2) / EDX A7E9F9BF; leaf 2 02B3B001 0 0 2C043087; extended leaves up to
            // 80000004h with the brand string below. Banias has no PAE. Of EDX, VME DE
            // MCE MCA PAT DS ACPI TM PBE are not implemented here, nor ECX's EST/TM2.
            CpuModel::PentiumM => &ModelInfo {
                name: "pentium-m",
                about: "Pentium M (Banias)",
                max_leaf: 2,
                signature: 0x0695,
                features: FEAT_FPU
                    | FEAT_PSE
                    | FEAT_TSC
                    | FEAT_MSR
                    | FEAT_CX8
                    | FEAT_APIC
                    | FEAT_SEP
                    | FEAT_MTRR
                    | FEAT_PGE
                    | FEAT_CMOV
                    | FEAT_CLFSH
                    | FEAT_MMX
                    | FEAT_FXSR
                    | FEAT_SSE
                    | FEAT_SSE2,
                leaf1_ebx: 0x0000_0816,
                leaf2: [0x02B3_B001, 0, 0, 0x2C04_3087],
                brand: Some(b"        Intel(R) Pentium(R) M processor 1600MHz\0"),
                daz: true,
                rdpmc: true,
                cr4: true,
            },
        }
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The model called `name` (as `--cpu` spells it).
    pub fn from_name(name: &str) -> Option<CpuModel> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The leaf 1 EDX flags in Linux's /proc/cpuinfo spelling.
    pub fn flag_names(self) -> Vec<&'static str> {
        const NAMES: [(u32, &str); 16] = [
            (FEAT_FPU, "fpu"),
            (FEAT_PSE, "pse"),
            (FEAT_TSC, "tsc"),
            (FEAT_MSR, "msr"),
            (FEAT_PAE, "pae"),
            (FEAT_CX8, "cx8"),
            (FEAT_APIC, "apic"),
            (FEAT_SEP, "sep"),
            (FEAT_MTRR, "mtrr"),
            (FEAT_PGE, "pge"),
            (FEAT_CMOV, "cmov"),
            (FEAT_CLFSH, "clflush"),
            (FEAT_MMX, "mmx"),
            (FEAT_FXSR, "fxsr"),
            (FEAT_SSE, "sse"),
            (FEAT_SSE2, "sse2"),
        ];
        NAMES
            .iter()
            .filter(|(f, _)| self.has(*f))
            .map(|&(_, n)| n)
            .collect()
    }

    /// Family 6 (the P6 microarchitecture and its successors here).
    fn p6(self) -> bool {
        self.info().signature >> 8 & 0xF == 6
    }

    pub fn has(self, feature: u32) -> bool {
        self.info().features & feature == feature
    }

    /// CR4 bits this model lets software set (SDM Vol. 3A §2.5): VME, PVI, TSD, DE, PSE
    /// and MCE from the Pentium on; PCE with RDPMC; PAE and PGE with their CPUID flags;
    /// OSFXSR with FXSAVE/FXRSTOR (and an FPU, which holds their state); OSXMMEXCPT
    /// with SSE.
    pub fn cr4_mask(self, fpu_present: bool) -> u32 {
        if !self.info().cr4 {
            return 0;
        }
        let mut m = 0x5F;
        if self.info().rdpmc {
            m |= 1 << 8;
        }
        if self.has(FEAT_PAE) {
            m |= 1 << 5;
        }
        if self.has(FEAT_PGE) {
            m |= 1 << 7;
        }
        if self.has(FEAT_FXSR) && fpu_present {
            m |= crate::regs::CR4_OSFXSR;
        }
        if self.has(FEAT_SSE) && fpu_present {
            m |= crate::regs::CR4_OSXMMEXCPT;
        }
        m
    }

    /// Whether this model has the instruction `ins` (only asked for instructions this CPU
    /// implements at all): CPUID-flagged extensions are checked against the model's
    /// flags, RDPMC against its family.
    pub fn allows(self, ins: &Instruction) -> bool {
        use Mnemonic as M;
        if let Some(need) = crate::sse::feature(ins) {
            return self.has(need);
        }
        let need = match ins.mnemonic() {
            M::Cmova
            | M::Cmovae
            | M::Cmovb
            | M::Cmovbe
            | M::Cmove
            | M::Cmovg
            | M::Cmovge
            | M::Cmovl
            | M::Cmovle
            | M::Cmovne
            | M::Cmovno
            | M::Cmovnp
            | M::Cmovns
            | M::Cmovo
            | M::Cmovp
            | M::Cmovs
            // SDM Vol. 2A "FCMOVcc"/"FCOMI": present when CPUID reports FPU and CMOV.
            | M::Fcmovb
            | M::Fcmove
            | M::Fcmovbe
            | M::Fcmovu
            | M::Fcmovnb
            | M::Fcmovne
            | M::Fcmovnbe
            | M::Fcmovnu
            | M::Fcomi
            | M::Fcomip
            | M::Fucomi
            | M::Fucomip => FEAT_CMOV,
            M::Sysenter | M::Sysexit => FEAT_SEP,
            M::Fxsave | M::Fxrstor => FEAT_FXSR,
            M::Rdtsc => FEAT_TSC,
            M::Cmpxchg8b => FEAT_CX8,
            M::Rdmsr | M::Wrmsr => FEAT_MSR,
            M::Rdpmc => return self.info().rdpmc,
            // SDM Vol. 2B "NOP": the multi-byte form (0F 1F /0, and the reserved NOPs
            // 0F 18–1F it belongs to) exists from family 6 on.
            M::Reservednop | M::Endbr32 | M::Endbr64 | M::Rdsspd => return self.p6(),
            M::Nop if ins.op_count() > 0 => return self.p6(),
            _ if crate::mmx::is_mmx(ins) => FEAT_MMX,
            _ => return true,
        };
        self.has(need)
    }
}
