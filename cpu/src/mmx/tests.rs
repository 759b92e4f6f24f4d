//! Unit tests of the MMX/x87 aliasing rules and the MMX fault order, which the
//! hardware-recorded SIMD set (no faulting tests, CR0 fixed) does not cover. Expected
//! values come from SDM Vol. 1 §9.5 and Table 9-2 ("Effects of MMX Instructions on x87
//! FPU State") and the "Exception conditions for MMX instructions" of Vol. 2; programs
//! are hand-assembled real-mode code (MMX works in every mode).

use super::*;
use crate::fpu::F80;
use crate::regs::{CR0_MP, CR0_NE, CS, DS, EAX, ESP, SS};
use crate::{Stop, MF, UD};

use crate::test_ram::Ram;

const CODE: u32 = 0x10000; // CS = 1000h
const DATA: u32 = 0x20000; // DS = 2000h
const UD_HANDLER: u32 = 0x0600;
const NM_HANDLER: u32 = 0x0700;
const MF_HANDLER: u32 = 0x0800;

/// Runs `code` (which ends in HLT) in real mode with `cr0` bits added; the IVT sends
/// #UD, #NM and #MF to a HLT each. Returns the CPU and the linear address after the HLT
/// that stopped it.
fn run(code: &[u8], cr0: u32, data: &[(u32, u8)]) -> (Cpu, u32) {
    run_with(code, cr0, data, |_| {})
}

/// `run` with `init` adjusting the CPU first.
fn run_with(code: &[u8], cr0: u32, data: &[(u32, u8)], init: impl FnOnce(&mut Cpu)) -> (Cpu, u32) {
    let mut ram = Ram(vec![0; 0x40000]);
    ram.0[CODE as usize..CODE as usize + code.len()].copy_from_slice(code);
    for (v, h) in [(UD, UD_HANDLER), (NM, NM_HANDLER), (MF, MF_HANDLER)] {
        ram.0[4 * v as usize..4 * v as usize + 4].copy_from_slice(&h.to_le_bytes());
        ram.0[h as usize] = 0xF4;
    }
    for &(a, b) in data {
        ram.0[(DATA + a) as usize] = b;
    }
    let mut cpu = Cpu::new();
    cpu.fpu_present = true;
    cpu.cr0 |= cr0;
    cpu.seg[CS].load_real(0x1000);
    cpu.seg[DS].load_real(0x2000);
    cpu.seg[SS].load_real(0x3000);
    cpu.eip = 0;
    cpu.regs[ESP] = 0xFFFE;
    cpu.regs[EAX] = 0x1234_5678;
    init(&mut cpu);
    assert_eq!(cpu.run(&mut ram, 1000), Stop::Halt);
    let at = cpu.seg[CS].base + cpu.eip;
    (cpu, at)
}

const FNINIT: [u8; 2] = [0xDB, 0xE3];
const FLD1: [u8; 2] = [0xD9, 0xE8];
const FLDPI: [u8; 2] = [0xD9, 0xEB];
const EMMS: [u8; 2] = [0x0F, 0x77];
const MOVD_MM1_EAX: [u8; 3] = [0x0F, 0x6E, 0xC8];
const MOVD_EAX_MM7: [u8; 3] = [0x0F, 0x7E, 0xF8];
const PADDB_MM0_MM1: [u8; 3] = [0x0F, 0xFC, 0xC1];

fn prog(parts: &[&[u8]]) -> Vec<u8> {
    let mut v: Vec<u8> = parts.concat();
    v.push(0xF4);
    v
}

fn top(cpu: &Cpu) -> u16 {
    (cpu.fpu.sw >> 11) & 7
}

#[test]
fn mmx_write_sets_top_0_all_tags_valid_and_exponent_ones() {
    // FNINIT: all empty, TOP 0; FLD1 pushes to R7 (TOP 7). MOVD mm1, eax then writes
    // 12345678h into R1's significand, bits 79–64 to FFFFh (Table 9-2, "write"), TOP to
    // 000B and every tag to valid; R7 keeps 1.0.
    let (cpu, at) = run(&prog(&[&FNINIT, &FLD1, &MOVD_MM1_EAX]), 0, &[]);
    assert_eq!(at, CODE + 8);
    assert_eq!(top(&cpu), 0);
    assert_eq!(cpu.fpu.empty, 0);
    assert_eq!(
        cpu.fpu.regs[1],
        F80 {
            se: 0xFFFF,
            m: 0x1234_5678
        }
    );
    assert_eq!(cpu.fpu.regs[7], F80::ONE);
    assert_eq!(cpu.mm(1), 0x1234_5678);
}

#[test]
fn mmx_read_leaves_exponent_and_sets_top_0() {
    // FLDPI puts π in R7: significand C90FDAA2 2168C235 (rounded to nearest), exponent
    // 4000h. MOVD eax, mm7 reads its low half; Table 9-2 ("read"): exponent unchanged,
    // TOP 000B, all tags valid.
    let (cpu, _) = run(&prog(&[&FNINIT, &FLDPI, &MOVD_EAX_MM7]), 0, &[]);
    assert_eq!(cpu.regs[EAX], 0x2168_C235);
    assert_eq!(cpu.fpu.regs[7].se, 0x4000);
    assert_eq!(top(&cpu), 0);
    assert_eq!(cpu.fpu.empty, 0);
}

#[test]
fn emms_empties_every_tag_and_sets_top_0() {
    // FLD1 leaves TOP 7 and R7 valid; EMMS (Table 9-2): all tags 11B, TOP 000B,
    // registers unchanged.
    let (cpu, at) = run(&prog(&[&FNINIT, &FLD1, &EMMS]), 0, &[]);
    assert_eq!(at, CODE + 7);
    assert_eq!(top(&cpu), 0);
    assert_eq!(cpu.fpu.empty, 0xFF);
    assert_eq!(cpu.fpu.tag_word(), 0xFFFF);
    assert_eq!(cpu.fpu.regs[7], F80::ONE);
}

#[test]
fn ts_raises_nm_before_any_state_change() {
    // CR0.TS = 1 (with or without MP): #NM at the MMX instruction; TOP (5) and the tags
    // (R4–R7 valid) are as before it.
    for cr0 in [CR0_TS, CR0_TS | CR0_MP] {
        for op in [&PADDB_MM0_MM1[..], &EMMS[..]] {
            let (cpu, at) = run_with(&prog(&[op]), cr0, &[], |c| {
                c.fpu.sw = 5 << 11;
                c.fpu.empty = 0x0F;
            });
            assert_eq!(at, NM_HANDLER + 1, "cr0 {cr0:#x}");
            assert_eq!(top(&cpu), 5);
            assert_eq!(cpu.fpu.empty, 0x0F);
        }
    }
}

#[test]
fn em_raises_ud_not_nm() {
    // CR0.EM = 1: MMX instructions raise #UD (an x87 ESC would give #NM), also when TS
    // is set as well: #UD comes first.
    for cr0 in [CR0_EM, CR0_EM | CR0_TS] {
        for op in [&PADDB_MM0_MM1[..], &EMMS[..], &MOVD_MM1_EAX[..]] {
            let (_, at) = run(&prog(&[op]), cr0, &[]);
            assert_eq!(at, UD_HANDLER + 1, "cr0 {cr0:#x}");
        }
    }
}

#[test]
fn pending_x87_exception_raises_mf_first() {
    // FLDCW [0] = 037Bh unmasks ZE; FLDZ, FLD1, FDIV st0, st1 (1/0) leaves ES set. With
    // CR0.NE = 1 the MMX instruction raises #MF before it runs: TOP stays 6.
    let code = prog(&[
        &FNINIT,
        &[0xD9, 0x2E, 0x00, 0x00], // fldcw [0000h]
        &[0xD9, 0xEE],             // fldz
        &FLD1,
        &[0xD8, 0xF1], // fdiv st0, st1
        &PADDB_MM0_MM1,
    ]);
    let (cpu, at) = run(&code, CR0_NE, &[(0, 0x7B), (1, 0x03)]);
    assert_eq!(at, MF_HANDLER + 1);
    assert_eq!(top(&cpu), 6);
    assert_ne!(cpu.fpu.empty, 0);
}

#[test]
fn sse2_forms_with_66_need_osfxsr() {
    // 66 0F FC /r is PADDB xmm, xmm/m128 (SSE2), not an MMX form: with CR4.OSFXSR = 0
    // (an OS that does not save SSE state) it is #UD and leaves the x87 state alone.
    let (cpu, at) = run(&prog(&[&FNINIT, &[0x66], &PADDB_MM0_MM1]), 0, &[]);
    assert_eq!(at, UD_HANDLER + 1);
    assert_eq!(cpu.fpu.empty, 0xFF);
}

#[test]
fn packed_arithmetic_examples() {
    // Hand-computed lanes (SDM Vol. 2 instruction pages).
    let a = 0x7F80_FF01_8000_7FFF;
    let b = 0x0101_0101_FFFF_0001;
    // PADDSB, bytes 7..0: 7F+01 → 7F (saturated), 80+01 = 81, FF+01 = 00, 01+01 = 02,
    // 80+FF → 80 (−128−1 saturated), 00+FF = FF, 7F+00 = 7F, FF+01 = 00.
    assert_eq!(binop(Bin::AddS(W::B), a, b), 0x7F81_0002_80FF_7F00);
    // PADDUSW: 7F80+0101 = 8081, FF01+0101 → FFFF, 8000+FFFF → FFFF, 7FFF+0001 = 8000.
    assert_eq!(binop(Bin::AddUs(W::W), a, b), 0x8081_FFFF_FFFF_8000);
    // PACKSSWB of a (words 7FFF, 8000, FF01, 7F80) → 7F, 80, 80, 7F in bytes 0–3; of b
    // (0001, FFFF, 0101, 0101) → 01, FF, 7F, 7F in bytes 4–7.
    assert_eq!(binop(Bin::PackSs(W::W), a, b), 0x7F7F_FF01_7F80_807F);
    // PMADDWD: 8000×8000 twice = 2^31 wraps to 80000000h.
    let m = 0x8000_8000_8000_8000;
    assert_eq!(binop(Bin::Maddwd, m, m), 0x8000_0000_8000_0000);
    // PSRAW by a count above 15 fills with the sign; PSRLQ by 64 clears.
    assert_eq!(binop(Bin::Sra(W::W), a, 16), 0x0000_FFFF_FFFF_0000);
    assert_eq!(binop(Bin::Srl(W::Q), a, 64), 0);
    // PUNPCKLBW: DEST[7:0] = a0 = FF, [15:8] = b0 = 01, then a1 = 7F, b1 = 00,
    // a2 = 00, b2 = FF, a3 = 80, b3 = FF.
    assert_eq!(binop(Bin::UnpackLo(W::B), a, b), 0xFF80_FF00_007F_01FF);
}

#[test]
fn cpuid_reports_mmx_with_the_fpu() {
    // CPUID.01H:EDX bit 23 (MMX), as on a Pentium II; without an FPU there are no MMX
    // registers, and MMX instructions raise #UD.
    for fpu in [true, false] {
        let (cpu, _) = run_with(&prog(&[&[0x0F, 0xA2]]), 0, &[], |c| {
            c.regs[EAX] = 1;
            c.fpu_present = fpu;
        });
        assert_eq!(cpu.regs[crate::regs::EDX] & (1 << 23) != 0, fpu);
        let (_, at) = run_with(&prog(&[&EMMS]), 0, &[], |c| c.fpu_present = fpu);
        assert_eq!(at, if fpu { CODE + 3 } else { UD_HANDLER + 1 });
    }
}
