//! What the hardware-recorded SIMD set cannot show (it has every exception masked, no
//! faulting test and one CPU): unmasked SIMD exceptions on packed forms (SDM Vol. 1
//! §11.5.2), the x87→MMX transition of the conversions (SDM Vol. 2 CVTPI2PS/CVTPI2PD),
//! alignment, EFLAGS of COMISS, and the model gating of SSE vs SSE2. Programs are
//! hand-assembled real-mode code (SSE works in every mode once CR4.OSFXSR is set).

use crate::fpu::F80;
use crate::model::CpuModel;
use crate::regs::{AF, CF, CR0_MP, CR4_OSFXSR, CR4_OSXMMEXCPT, CS, DS, ESP, OF, PF, SF, SS, ZF};
use crate::{Cpu, Stop, GP, UD, XM};

use crate::test_ram::Ram;

const CODE: u32 = 0x10000; // CS = 1000h
const DATA: u32 = 0x20000; // DS = 2000h
const UD_HANDLER: u32 = 0x0600;
const GP_HANDLER: u32 = 0x0700;
const XM_HANDLER: u32 = 0x0800;

/// How a program stopped: at its own HLT, or at the HLT of an exception handler.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Done,
    Ud,
    Gp,
    Xm,
}

/// Runs `code` (a HLT is appended) in real mode with SSE enabled (CR4.OSFXSR, and
/// OSXMMEXCPT unless `no_xm`), after `init`; `data` goes to DS:0.
fn run(
    model: CpuModel,
    code: &[u8],
    data: &[u8],
    no_xm: bool,
    init: impl FnOnce(&mut Cpu),
) -> (Cpu, End) {
    let mut ram = Ram(vec![0; 0x40000]);
    let mut code = code.to_vec();
    code.push(0xF4);
    ram.0[CODE as usize..CODE as usize + code.len()].copy_from_slice(&code);
    ram.0[DATA as usize..DATA as usize + data.len()].copy_from_slice(data);
    for (v, h) in [(UD, UD_HANDLER), (GP, GP_HANDLER), (XM, XM_HANDLER)] {
        ram.0[4 * v as usize..4 * v as usize + 4].copy_from_slice(&h.to_le_bytes());
        ram.0[h as usize] = 0xF4;
    }
    let mut cpu = Cpu::with_model(model);
    cpu.fpu_present = true;
    cpu.cr0 |= CR0_MP;
    cpu.cr4 |= CR4_OSFXSR | if no_xm { 0 } else { CR4_OSXMMEXCPT };
    cpu.seg[CS].load_real(0x1000);
    cpu.seg[DS].load_real(0x2000);
    cpu.seg[SS].load_real(0x3000);
    cpu.eip = 0;
    cpu.regs[ESP] = 0xFFFE;
    init(&mut cpu);
    assert_eq!(cpu.run(&mut ram, 1000), Stop::Halt);
    let at = cpu.seg[CS].base + cpu.eip - 1;
    let end = match at {
        a if a == CODE + code.len() as u32 - 1 => End::Done,
        UD_HANDLER => End::Ud,
        GP_HANDLER => End::Gp,
        XM_HANDLER => End::Xm,
        a => panic!("stopped at {a:#x}"),
    };
    (cpu, end)
}

fn sse(code: &[u8], init: impl FnOnce(&mut Cpu)) -> (Cpu, End) {
    run(CpuModel::default(), code, &[], false, init)
}

/// Four binary32 lanes, lane 0 first.
fn ps(l: [u32; 4]) -> u128 {
    l.iter()
        .enumerate()
        .fold(0, |v, (i, &x)| v | (x as u128) << (32 * i))
}

const ONE: u32 = 0x3F80_0000;
const THREE: u32 = 0x4040_0000;
const INF: u32 = 0x7F80_0000;
// MXCSR flags and masks (SDM Vol. 1 Figure 10-3).
const IE: u32 = 1;
const DE: u32 = 2;
const ZE: u32 = 4;
const PE: u32 = 0x20;
const ALL_MASKED: u32 = 0x1F80;

const DIVPS_X0_X1: [u8; 3] = [0x0F, 0x5E, 0xC1];
const ADDPS_X0_X1: [u8; 3] = [0x0F, 0x58, 0xC1];

#[test]
fn masked_packed_divide_writes_every_lane() {
    // Lanes: 1/3 (inexact, 0x3EAAAAAB), 1/0 (ZE, +∞), 1/1, 3/1.
    let (cpu, end) = sse(&DIVPS_X0_X1, |c| {
        c.xmm[0] = ps([ONE, ONE, ONE, THREE]);
        c.xmm[1] = ps([THREE, 0, ONE, ONE]);
    });
    assert_eq!(end, End::Done);
    assert_eq!(cpu.xmm[0], ps([0x3EAA_AAAB, INF, ONE, THREE]));
    assert_eq!(cpu.mxcsr, ALL_MASKED | ZE | PE);
}

#[test]
fn unmasked_pre_computation_exception_writes_no_lane() {
    // ZE unmasked (mask bit 9 clear). Lane 1 divides by zero, lane 0 is inexact: the
    // processor records only the pre-computation flag ZE (not PE), writes nothing and
    // raises #XM (SDM Vol. 1 §11.5.2).
    let before = ps([ONE, ONE, ONE, THREE]);
    let (cpu, end) = sse(&DIVPS_X0_X1, |c| {
        c.mxcsr = ALL_MASKED & !(ZE << 7);
        c.xmm[0] = before;
        c.xmm[1] = ps([THREE, 0, ONE, ONE]);
    });
    assert_eq!(end, End::Xm);
    assert_eq!(cpu.xmm[0], before);
    assert_eq!(cpu.mxcsr, (ALL_MASKED & !(ZE << 7)) | ZE);
    // With CR4.OSXMMEXCPT = 0 the same exception is #UD (SDM Vol. 3A §6.15, vector 19).
    let (cpu, end) = run(CpuModel::default(), &DIVPS_X0_X1, &[], true, |c| {
        c.mxcsr = ALL_MASKED & !(ZE << 7);
        c.xmm[0] = before;
        c.xmm[1] = ps([THREE, 0, ONE, ONE]);
    });
    assert_eq!(end, End::Ud);
    assert_eq!(cpu.xmm[0], before);
}

#[test]
fn unmasked_post_computation_exception_records_all_flags() {
    // PE unmasked. Lane 0: 1 + 2^-24 is a tie, inexact. Lane 1: a denormal operand
    // (DE, masked) plus 0 is exact. Every flag is recorded, nothing written, #XM.
    let before = ps([ONE, 1, 0, 0]);
    let (cpu, end) = sse(&ADDPS_X0_X1, |c| {
        c.mxcsr = ALL_MASKED & !(PE << 7);
        c.xmm[0] = before;
        c.xmm[1] = ps([0x3380_0000, 0, 0, 0]);
    });
    assert_eq!(end, End::Xm);
    assert_eq!(cpu.xmm[0], before);
    assert_eq!(cpu.mxcsr, (ALL_MASKED & !(PE << 7)) | PE | DE);
}

#[test]
fn unmasked_exception_that_does_not_occur_changes_nothing() {
    // IE unmasked, but 1 + 1 = 2 exactly: written, no flag, no fault.
    let (cpu, end) = sse(&ADDPS_X0_X1, |c| {
        c.mxcsr = ALL_MASKED & !(IE << 7);
        c.xmm[0] = ps([ONE; 4]);
        c.xmm[1] = ps([ONE; 4]);
    });
    assert_eq!(end, End::Done);
    assert_eq!(cpu.xmm[0], ps([0x4000_0000; 4]));
    assert_eq!(cpu.mxcsr, ALL_MASKED & !(IE << 7));
}

/// FLD1 leaves TOP = 7 with only R7 valid; then `tail` runs.
fn after_fld1(tail: &[u8]) -> Cpu {
    let mut code = vec![0xDB, 0xE3, 0xD9, 0xE8]; // FNINIT; FLD1
    code.extend_from_slice(tail);
    let data = [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]; // int32 1 and −1 at DS:0
    let (cpu, end) = run(CpuModel::default(), &code, &data, false, |_| {});
    assert_eq!(end, End::Done);
    cpu
}

#[test]
fn mmx_transitions_of_the_conversions() {
    let top = |c: &Cpu| (c.fpu.sw >> 11) & 7;
    // CVTPI2PS xmm0, [0]: SDM Vol. 2 CVTPI2PS: "This instruction causes a transition
    // from x87 FPU to MMX technology operation" for either source: TOP 0, all valid.
    let cpu = after_fld1(&[0x0F, 0x2A, 0x06, 0x00, 0x00]);
    assert_eq!((top(&cpu), cpu.fpu.empty), (0, 0));
    assert_eq!(cpu.xmm[0] as u64, 0xBF80_0000_3F80_0000); // 1.0, −1.0
                                                          // CVTPI2PD xmm0, [0]: "For operands xmm, m64: the instruction does not cause a
                                                          // transition": TOP stays 7 and only R7 is valid.
    let cpu = after_fld1(&[0x66, 0x0F, 0x2A, 0x06, 0x00, 0x00]);
    assert_eq!((top(&cpu), cpu.fpu.empty), (7, 0x7F));
    assert_eq!(cpu.xmm[0], 0xBFF0_0000_0000_0000_3FF0_0000_0000_0000);
    // CVTPI2PD xmm0, mm1 does; so does CVTTPS2PI mm0, xmm0, which also writes bits
    // 79–64 of R0 as 1s.
    let cpu = after_fld1(&[0x66, 0x0F, 0x2A, 0xC1]);
    assert_eq!((top(&cpu), cpu.fpu.empty), (0, 0));
    let cpu = after_fld1(&[0x0F, 0x2C, 0xC0]);
    assert_eq!((top(&cpu), cpu.fpu.empty), (0, 0));
    assert_eq!(cpu.fpu.regs[0], F80 { se: 0xFFFF, m: 0 });
    // CVTSS2SD (no MMX register) leaves the x87 alone.
    let cpu = after_fld1(&[0xF3, 0x0F, 0x5A, 0xC1]);
    assert_eq!((top(&cpu), cpu.fpu.empty), (7, 0x7F));
}

#[test]
fn packed_memory_operands_must_be_aligned() {
    // ADDPS xmm0, [1]: a misaligned m128 → #GP(0); ADDSS xmm0, [1] (m32) is fine.
    let data = [0u8; 32];
    let (_, end) = run(
        CpuModel::default(),
        &[0x0F, 0x58, 0x06, 0x01, 0x00],
        &data,
        false,
        |_| {},
    );
    assert_eq!(end, End::Gp);
    let (_, end) = run(
        CpuModel::default(),
        &[0xF3, 0x0F, 0x58, 0x06, 0x01, 0x00],
        &data,
        false,
        |_| {},
    );
    assert_eq!(end, End::Done);
}

#[test]
fn comiss_sets_zf_pf_cf_and_clears_of_sf_af() {
    // 1.0 vs 3.0: less → ZF = PF = 0, CF = 1.
    let (cpu, end) = sse(&[0x0F, 0x2F, 0xC1], |c| {
        c.eflags |= OF | SF | AF | ZF | PF;
        c.xmm[0] = ONE as u128;
        c.xmm[1] = THREE as u128;
    });
    assert_eq!(end, End::Done);
    assert_eq!(cpu.eflags & (OF | SF | AF | ZF | PF | CF), CF);
    // UCOMISS with a QNaN: unordered (ZF = PF = CF = 1), no IE; COMISS raises IE.
    let (cpu, _) = sse(&[0x0F, 0x2E, 0xC1], |c| c.xmm[1] = 0x7FC0_0000);
    assert_eq!(cpu.eflags & (ZF | PF | CF), ZF | PF | CF);
    assert_eq!(cpu.mxcsr, ALL_MASKED);
    let (cpu, _) = sse(&[0x0F, 0x2F, 0xC1], |c| c.xmm[1] = 0x7FC0_0000);
    assert_eq!(cpu.mxcsr, ALL_MASKED | IE);
}

#[test]
fn general_register_conversions() {
    // CVTSS2SI eax, xmm1 of 2.5 under RC = up (MXCSR bits 14–13 = 10b): 3, PE.
    let (cpu, _) = sse(&[0xF3, 0x0F, 0x2D, 0xC1], |c| {
        c.mxcsr = ALL_MASKED | 2 << 13;
        c.xmm[1] = 0x4020_0000;
    });
    assert_eq!((cpu.regs[0], cpu.mxcsr), (3, ALL_MASKED | 2 << 13 | PE));
    // CVTSI2SD xmm2, eax of −1: 0xBFF0000000000000 in lane 0, lane 1 kept.
    let (cpu, _) = sse(&[0xF2, 0x0F, 0x2A, 0xD0], |c| {
        c.regs[0] = u32::MAX;
        c.xmm[2] = 0x1234 << 64;
    });
    assert_eq!(cpu.xmm[2], 0x1234 << 64 | 0xBFF0_0000_0000_0000);
}

#[test]
fn model_gating() {
    // A Pentium III has SSE but not SSE2: ADDPS runs, ADDPD (66 0F 58) is #UD.
    let (_, end) = run(CpuModel::Pentium3, &ADDPS_X0_X1, &[], false, |_| {});
    assert_eq!(end, End::Done);
    let (_, end) = run(
        CpuModel::Pentium3,
        &[0x66, 0x0F, 0x58, 0xC1],
        &[],
        false,
        |_| {},
    );
    assert_eq!(end, End::Ud);
    // A Pentium II has neither.
    let (_, end) = run(CpuModel::Pentium2, &ADDPS_X0_X1, &[], false, |_| {});
    assert_eq!(end, End::Ud);
}
