//! CPU models: CPUID identity per model and #UD for the extensions a model lacks.
//!
//! Expected CPUID values are the real parts' (Intel AP-485 "Intel Processor
//! Identification and the CPUID Instruction", signature and feature-flag tables),
//! restricted to the flags this CPU implements; the bit positions are the SDM's
//! (Vol. 2A "CPUID", feature flags in EDX).

mod common;

use common::*;
use cpu::{Cpu, CpuModel, EAX, EBX, ECX, EDX, ESI};
use iced_x86::code_asm::*;

const VME: u32 = 1 << 1;
const DE: u32 = 1 << 2;
const MCE: u32 = 1 << 7;
/// Flags of the real parts that this CPU does not implement (for any model).
const UNIMPLEMENTED: u32 = VME | DE | MCE;

/// Real mode at 1000:0000 with an #UD handler at 3000:0000 that sets SI = 0606h and
/// halts, and a #GP handler at 3000:0100 that sets SI = 0D0Dh; the CPU is `model` with
/// its x87 present.
fn setup(model: CpuModel, f: impl FnOnce(&mut CodeAssembler)) -> (Cpu, FlatBus) {
    let (old, mut bus) = real_mode(|a| {
        a.xor(si, si).unwrap();
        f(a)
    });
    let mut cpu = Cpu::with_model(model);
    cpu.fpu_present = true;
    cpu.seg = old.seg;
    cpu.eip = old.eip;
    cpu.regs = old.regs;
    // An OS that uses SSE sets CR4.OSFXSR (and OSXMMEXCPT) where the model has them.
    cpu.cr4 = model.cr4_mask(true) & (cpu::CR4_OSFXSR | cpu::CR4_OSXMMEXCPT);
    // IVT[6] = 3000:0000: mov si, 0606h; hlt.
    bus.load(6 * 4, &[0x00, 0x00, 0x00, 0x30]);
    bus.load(0x30000, &[0xBE, 0x06, 0x06, 0xF4]);
    bus.load(13 * 4, &[0x00, 0x01, 0x00, 0x30]);
    bus.load(0x30100, &[0xBE, 0x0D, 0x0D, 0xF4]);
    (cpu, bus)
}

fn cpuid(model: CpuModel, leaf: u32) -> [u32; 4] {
    let (mut cpu, mut bus) = setup(model, |a| {
        a.mov(eax, leaf).unwrap();
        a.cpuid().unwrap();
    });
    run(&mut cpu, &mut bus, 100);
    assert_eq!(
        cpu.regs[ESI] & 0xFFFF,
        0,
        "CPUID must not fault on {model:?}"
    );
    [cpu.regs[EAX], cpu.regs[EBX], cpu.regs[ECX], cpu.regs[EDX]]
}

/// Whether `f`'s instruction raised #UD on `model`.
fn faults(model: CpuModel, f: impl FnOnce(&mut CodeAssembler)) -> bool {
    let (mut cpu, mut bus) = setup(model, f);
    run(&mut cpu, &mut bus, 100);
    cpu.regs[ESI] & 0xFFFF == 0x0606
}

#[test]
fn cpuid_matches_the_real_parts() {
    // (model, max leaf, signature, real EDX)
    let cases = [
        // Intel486 DX-50 with CPUID: family 4 model 1, FPU only.
        (CpuModel::I486Dx, 1, 0x0410, 0x0000_0001),
        // Pentium P54C: family 5 model 2; EDX 000001BFh.
        (CpuModel::Pentium, 1, 0x052C, 0x0000_01BF),
        // Pentium MMX P55C: family 5 model 4 stepping 3; EDX 008001BFh.
        (CpuModel::PentiumMmx, 1, 0x0543, 0x0080_01BF),
    ];
    for (m, max, sig, real_edx) in cases {
        let l0 = cpuid(m, 0);
        assert_eq!(l0[0], max, "{m:?} max leaf");
        assert_eq!(l0[1], u32::from_le_bytes(*b"Genu"), "{m:?}");
        assert_eq!(l0[3], u32::from_le_bytes(*b"ineI"), "{m:?}");
        assert_eq!(l0[2], u32::from_le_bytes(*b"ntel"), "{m:?}");
        let l1 = cpuid(m, 1);
        assert_eq!(l1[0], sig, "{m:?} signature");
        assert_eq!(l1[3], real_edx & !UNIMPLEMENTED, "{m:?} features");
        // Leaf 2 is beyond the maximum: zeros.
        if max < 2 {
            assert_eq!(cpuid(m, 2), [0; 4], "{m:?} leaf 2");
        }
    }
    // Pentium II (Deschutes): family 6 model 5 stepping 2, leaf 2 = 03020101h and
    // 0C040843h (AP-485 descriptors 01h 02h 03h, 43h 08h 04h 0Ch).
    assert_eq!(cpuid(CpuModel::Pentium2, 0)[0], 2);
    assert_eq!(cpuid(CpuModel::Pentium2, 1)[0], 0x0652);
    assert_eq!(
        cpuid(CpuModel::Pentium2, 2),
        [0x0302_0101, 0, 0, 0x0C04_0843]
    );
}

/// Flags of the P6-era parts that this CPU does not implement: MCA, PAT, PSE36, DS,
/// ACPI, TM, PBE (besides VME, DE, MCE). The APIC (bit 9) is the machine's.
const UNIMPLEMENTED_P6: u32 =
    UNIMPLEMENTED | 1 << 14 | 1 << 16 | 1 << 17 | 1 << 21 | 1 << 22 | 1 << 29 | 1 << 31;

#[test]
fn cpuid_of_the_sse_models_matches_the_real_parts() {
    // Pentium III Coppermine as x86info recorded it (LKML 2001): leaf 0 EAX 2, leaf 1
    // 00000686 00000002 00000000 0383FBFF, leaf 2 03020101 0 0 0C040882.
    assert_eq!(cpuid(CpuModel::Pentium3, 0)[0], 2);
    assert_eq!(
        cpuid(CpuModel::Pentium3, 1),
        [0x0686, 2, 0, 0x0383_FBFF & !UNIMPLEMENTED_P6]
    );
    assert_eq!(
        cpuid(CpuModel::Pentium3, 2),
        [0x0302_0101, 0, 0, 0x0C04_0882]
    );
    // Pentium M Banias as x86info recorded it (LKML 2003, "cpufreq on Pentium M"): leaf
    // 0 EAX 2, leaf 1 00000695 00000816 00000180 A7E9F9BF (ECX's EST and TM2 are not
    // implemented), leaf 2 02B3B001 0 0 2C043087, extended leaves to 80000004h. That
    // laptop's BIOS had disabled the local APIC, which clears EDX bit 9 (SDM Vol. 3A
    // §10.4.3); here it is enabled, as at reset.
    let m = CpuModel::PentiumM;
    assert_eq!(cpuid(m, 0)[0], 2);
    assert_eq!(
        cpuid(m, 1),
        [
            0x0695,
            0x0816,
            0,
            (0xA7E9_F9BF | 1 << 9) & !UNIMPLEMENTED_P6
        ]
    );
    assert_eq!(cpuid(m, 2), [0x02B3_B001, 0, 0, 0x2C04_3087]);
    assert_eq!(cpuid(m, 0x8000_0000)[0], 0x8000_0004);
    assert_eq!(cpuid(m, 0x8000_0001), [0; 4]);
    assert_eq!(
        cpuid(m, 0x8000_0002),
        [0x2020_2020, 0x2020_2020, 0x6574_6E49, 0x2952_286C]
    );
    assert_eq!(
        cpuid(m, 0x8000_0003),
        [0x6E65_5020, 0x6D75_6974, 0x2029_5228, 0x7270_204D]
    );
    assert_eq!(
        cpuid(m, 0x8000_0004),
        [0x7365_636F, 0x2072_6F73, 0x3030_3631, 0x007A_484D]
    );
}

#[test]
fn names_round_trip() {
    for m in CpuModel::ALL {
        assert_eq!(CpuModel::from_name(m.name()), Some(m));
    }
    assert_eq!(CpuModel::from_name("pentium4"), None);
}

const CMOV: u32 = 1 << 15;
const SEP: u32 = 1 << 11;
const FXSR: u32 = 1 << 24;
const MMX: u32 = 1 << 23;
const TSC: u32 = 1 << 4;
const CX8: u32 = 1 << 8;
const MSR: u32 = 1 << 5;
const CLFSH: u32 = 1 << 19;
const SSE: u32 = 1 << 25;
const SSE2: u32 = 1 << 26;

#[test]
fn extensions_the_model_lacks_raise_ud() {
    // One instruction of each extension, keyed by the CPUID leaf 1 EDX flag that
    // announces it (SDM Vol. 2A "CPUID", Table 3-11): on every model it runs when the
    // model's CPUID reports the flag and raises #UD when it does not. The setup turns
    // on CR4.OSFXSR where the model has it, as an OS using SSE does.
    type Asm = fn(&mut CodeAssembler);
    let cases: [(&str, Asm, u32); 21] = [
        // In real mode SYSENTER is #GP(0) where it exists (SDM Vol. 2B "SYSENTER").
        ("SYSENTER", |a| a.sysenter().unwrap(), SEP),
        ("FXSAVE", |a| a.fxsave(ptr(0x100)).unwrap(), FXSR),
        ("CMOVE", |a| a.cmove(ecx, edx).unwrap(), CMOV),
        (
            "FCMOVB",
            |a| {
                a.fldz().unwrap();
                a.fldz().unwrap();
                a.fcmovb(st0, st1).unwrap();
            },
            CMOV,
        ),
        (
            "FUCOMI",
            |a| {
                a.fldz().unwrap();
                a.fldz().unwrap();
                a.fucomi(st0, st1).unwrap();
            },
            CMOV,
        ),
        ("EMMS", |a| a.emms().unwrap(), MMX),
        ("PADDB mm", |a| a.paddb(mm0, mm1).unwrap(), MMX),
        ("RDTSC", |a| a.rdtsc().unwrap(), TSC),
        ("CMPXCHG8B", |a| a.cmpxchg8b(qword_ptr(0x100)).unwrap(), CX8),
        (
            "RDMSR",
            |a| {
                a.mov(ecx, 0x10u32).unwrap();
                a.rdmsr().unwrap();
            },
            MSR,
        ),
        ("XORPS", |a| a.xorps(xmm0, xmm1).unwrap(), SSE),
        ("LDMXCSR", |a| a.stmxcsr(dword_ptr(0x100)).unwrap(), SSE),
        ("PAVGB mm", |a| a.pavgb(mm0, mm1).unwrap(), SSE),
        ("SFENCE", |a| a.sfence().unwrap(), SSE),
        (
            "PREFETCHNTA",
            |a| a.prefetchnta(byte_ptr(0x100)).unwrap(),
            SSE,
        ),
        ("PADDQ mm", |a| a.paddq(mm0, mm1).unwrap(), SSE2),
        ("PADDB xmm", |a| a.paddb(xmm0, xmm1).unwrap(), SSE2),
        ("MOVAPD", |a| a.movapd(xmm0, xmm1).unwrap(), SSE2),
        ("MFENCE", |a| a.mfence().unwrap(), SSE2),
        ("MOVNTI", |a| a.movnti(dword_ptr(0x100), eax).unwrap(), SSE2),
        ("CLFLUSH", |a| a.clflush(byte_ptr(0x100)).unwrap(), CLFSH),
    ];
    for m in CpuModel::ALL {
        let feat = cpuid(m, 1)[3];
        for (what, f, flag) in cases {
            let has = feat & flag != 0;
            assert_eq!(faults(m, f), !has, "{what} on {m:?}: #UD expected {}", !has);
        }
        // RDPMC has no CPUID flag: the P6 family and the Pentium MMX have it.
        let rdpmc = faults(m, |a| {
            a.xor(ecx, ecx).unwrap();
            a.rdpmc().unwrap();
        });
        let p6 = cpuid(m, 1)[0] >> 8 & 0xF == 6;
        assert_eq!(!rdpmc, p6 || m == CpuModel::PentiumMmx, "RDPMC on {m:?}");
        // PAUSE (F3 90) is a NOP everywhere; the multi-byte NOP (0F 1F /0) and ENDBR32
        // (F3 0F 1E FB, a NOP without CET) exist from family 6 on (SDM Vol. 2B "NOP").
        assert!(!faults(m, |a| a.pause().unwrap()), "PAUSE on {m:?}");
        assert_eq!(
            !faults(m, |a| a.nop_1(dword_ptr(ebx)).unwrap()),
            p6,
            "NOP r/m on {m:?}"
        );
        assert_eq!(!faults(m, |a| a.endbr32().unwrap()), p6, "ENDBR32 on {m:?}");
    }
    // The extensions go with the models as Intel shipped them.
    use CpuModel::*;
    let has = |m: CpuModel, flag: u32| cpuid(m, 1)[3] & flag != 0;
    for m in CpuModel::ALL {
        assert_eq!(
            has(m, MMX),
            matches!(m, PentiumMmx | Pentium2 | Pentium3 | PentiumM)
        );
        assert_eq!(has(m, FXSR), matches!(m, Pentium2 | Pentium3 | PentiumM));
        assert_eq!(has(m, SSE), matches!(m, Pentium3 | PentiumM));
        assert_eq!(has(m, SSE2), m == PentiumM);
    }
}

#[test]
fn sse_needs_cr4_osfxsr() {
    // SDM Vol. 3A §13.1.4: CR4.OSFXSR = 0 makes every SSE/SSE2 instruction #UD, those on
    // MMX registers too, except PSHUFW, MOVNTQ (and the cache/fence forms); CR0.TS = 1 →
    // #NM (IVT[7] → 3000:0200 sets SI = 0707h).
    let ud = |osfxsr: bool, f: fn(&mut CodeAssembler)| -> u16 {
        let (mut cpu, mut bus) = setup(CpuModel::PentiumM, f);
        if !osfxsr {
            cpu.cr4 = 0;
        }
        run(&mut cpu, &mut bus, 100);
        cpu.regs[ESI] as u16
    };
    assert_eq!(ud(false, |a| a.xorps(xmm0, xmm1).unwrap()), 0x0606);
    assert_eq!(ud(true, |a| a.xorps(xmm0, xmm1).unwrap()), 0);
    assert_eq!(ud(false, |a| a.pavgb(mm0, mm1).unwrap()), 0x0606);
    assert_eq!(ud(false, |a| a.paddq(mm0, mm1).unwrap()), 0x0606);
    assert_eq!(ud(false, |a| a.pshufw(mm0, mm1, 0x1B).unwrap()), 0);
    assert_eq!(ud(false, |a| a.movntq(qword_ptr(0x100), mm1).unwrap()), 0);
    assert_eq!(ud(false, |a| a.sfence().unwrap()), 0);
    assert_eq!(ud(false, |a| a.movnti(dword_ptr(0x100), eax).unwrap()), 0);
    assert_eq!(ud(false, |a| a.clflush(byte_ptr(0x100)).unwrap()), 0);
    let (mut cpu, mut bus) = setup(CpuModel::PentiumM, |a| a.movdqa(xmm0, xmm1).unwrap());
    cpu.cr0 |= cpu::CR0_TS;
    bus.load(7 * 4, &[0x00, 0x02, 0x00, 0x30]);
    bus.load(0x30200, &[0xBE, 0x07, 0x07, 0xF4]);
    run(&mut cpu, &mut bus, 100);
    assert_eq!(cpu.regs[ESI] as u16, 0x0707);
}

#[test]
fn cr4_bits_the_model_lacks_are_reserved() {
    // CR4.PGE (bit 7) and CR4.PAE (bit 5) exist on the Pentium II only; CR4.PSE (bit 4)
    // from the Pentium on. A 486DX has no CR4: MOV CR4 is #UD. #GP here lands in the
    // #GP handler.
    use CpuModel::*;
    let try_cr4 = |m: CpuModel, v: u32| -> u16 {
        let (mut cpu, mut bus) = setup(m, |a| {
            a.mov(eax, v).unwrap();
            a.mov(cr4, eax).unwrap();
        });
        run(&mut cpu, &mut bus, 100);
        cpu.regs[ESI] as u16
    };
    for (m, pse, pae, pge) in [
        (I486Dx, 0x0606, 0x0606, 0x0606),
        (Pentium, 0, 0x0D0D, 0x0D0D),
        (PentiumMmx, 0, 0x0D0D, 0x0D0D),
        (Pentium2, 0, 0, 0),
    ] {
        assert_eq!(try_cr4(m, 1 << 4), pse, "{m:?} CR4.PSE");
        assert_eq!(try_cr4(m, 1 << 5), pae, "{m:?} CR4.PAE");
        assert_eq!(try_cr4(m, 1 << 7), pge, "{m:?} CR4.PGE");
    }
}

#[test]
fn p6_msrs_do_not_exist_before_the_p6() {
    // SYSENTER_CS (174h) came with SYSENTER; an MSR a model lacks is #GP(0) (SDM Vol. 2B
    // "RDMSR"). The TSC (10h) is there from the Pentium on.
    use CpuModel::*;
    let rdmsr = |m: CpuModel, n: u32| -> u16 {
        let (mut cpu, mut bus) = setup(m, |a| {
            a.mov(ecx, n).unwrap();
            a.rdmsr().unwrap();
        });
        run(&mut cpu, &mut bus, 100);
        cpu.regs[ESI] as u16
    };
    for (m, tsc, sep) in [
        (I486Dx, 0x0606, 0x0606),
        (Pentium, 0, 0x0D0D),
        (PentiumMmx, 0, 0x0D0D),
        (Pentium2, 0, 0),
    ] {
        assert_eq!(rdmsr(m, 0x10), tsc, "{m:?} RDMSR 10h");
        assert_eq!(rdmsr(m, 0x174), sep, "{m:?} RDMSR 174h");
    }
}

#[test]
fn clearing_the_apic_global_enable_hides_the_apic_flag() {
    // SDM Vol. 3A §10.4.3: with IA32_APIC_BASE bit 11 clear the CPUID APIC flag (leaf 1
    // EDX bit 9) reads 0; the BSP flag (bit 8) is read-only.
    let (mut cpu, mut bus) = setup(CpuModel::PentiumM, |a| {
        a.mov(ecx, 0x1Bu32).unwrap();
        a.mov(eax, 0xFEE0_0000u32).unwrap();
        a.xor(edx, edx).unwrap();
        a.wrmsr().unwrap();
        a.mov(eax, 1u32).unwrap();
        a.cpuid().unwrap();
    });
    run(&mut cpu, &mut bus, 100);
    assert_eq!(cpu.regs[ESI] & 0xFFFF, 0, "no fault");
    assert_eq!(cpu.regs[EDX] & 1 << 9, 0);
    assert_eq!(cpu.apic_base, 0xFEE0_0100);
}
