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

#[test]
fn the_default_model_is_the_pentium2() {
    assert_eq!(Cpu::new().model(), CpuModel::Pentium2);
    // After reset EDX holds the signature (SDM Vol. 3A §9.1.4).
    assert_eq!(Cpu::with_model(CpuModel::Pentium).regs[EDX], 0x052C);
    assert_eq!(Cpu::new().regs[EDX], 0x0652);
}

#[test]
fn names_round_trip() {
    for m in CpuModel::ALL {
        assert_eq!(CpuModel::from_name(m.name()), Some(m));
    }
    assert_eq!(CpuModel::from_name("pentium3"), None);
}

#[test]
fn extensions_the_model_lacks_raise_ud() {
    use CpuModel::*;
    type Asm = fn(&mut CodeAssembler);
    // (what, instruction, models that have it)
    let cases: [(&str, Asm, &[CpuModel]); 11] = [
        // In real mode SYSENTER is #GP(0) where it exists (SDM Vol. 2B "SYSENTER").
        ("SYSENTER", |a| a.sysenter().unwrap(), &[Pentium2]),
        ("FXSAVE", |a| a.fxsave(ptr(0x100)).unwrap(), &[Pentium2]),
        ("CMOVE", |a| a.cmove(ecx, edx).unwrap(), &[Pentium2]),
        (
            "FCMOVB",
            |a| {
                a.fldz().unwrap();
                a.fldz().unwrap();
                a.fcmovb(st0, st1).unwrap();
            },
            &[Pentium2],
        ),
        (
            "FUCOMI",
            |a| {
                a.fldz().unwrap();
                a.fldz().unwrap();
                a.fucomi(st0, st1).unwrap();
            },
            &[Pentium2],
        ),
        ("EMMS", |a| a.emms().unwrap(), &[PentiumMmx, Pentium2]),
        (
            "PADDB",
            |a| a.paddb(mm0, mm1).unwrap(),
            &[PentiumMmx, Pentium2],
        ),
        (
            "RDTSC",
            |a| a.rdtsc().unwrap(),
            &[Pentium, PentiumMmx, Pentium2],
        ),
        (
            "CMPXCHG8B",
            |a| a.cmpxchg8b(qword_ptr(0x100)).unwrap(),
            &[Pentium, PentiumMmx, Pentium2],
        ),
        (
            "RDMSR",
            |a| {
                a.mov(ecx, 0x10u32).unwrap();
                a.rdmsr().unwrap();
            },
            &[Pentium, PentiumMmx, Pentium2],
        ),
        (
            "RDPMC",
            |a| {
                a.xor(ecx, ecx).unwrap();
                a.rdpmc().unwrap();
            },
            &[PentiumMmx, Pentium2],
        ),
    ];
    for (what, f, have) in cases {
        for m in CpuModel::ALL {
            assert_eq!(
                faults(m, f),
                !have.contains(&m),
                "{what} on {m:?}: #UD expected {}",
                !have.contains(&m)
            );
        }
    }
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
