//! SSE/SSE2 behaviour the hardware-recorded SIMD set leaves out (it holds no faulting
//! test and no FXSAVE): alignment faults, MXCSR reserved bits per model, the SSE part
//! of the FXSAVE image, CR4 gating, masked stores. Expected values come from the SDM's
//! instruction pages (cited per test) and hand-worked bytes.

mod common;

use common::*;
use cpu::{Cpu, CpuModel, ESI};
use iced_x86::code_asm::*;

/// DS = ES = SS = 2000h in the real-mode setup: offset `o` is linear 20000h + `o`.
const DATA: u32 = 0x20000;

/// Real mode with handlers that set SI and halt: #UD → 0606h, #NM → 0707h, #GP →
/// 0D0Dh, #XM → 1313h. CR4.OSFXSR and OSXMMEXCPT are set (as an OS using SSE does).
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
    cpu.cr4 = model.cr4_mask(true) & (cpu::CR4_OSFXSR | cpu::CR4_OSXMMEXCPT);
    for (vec, code) in [(6u32, 0x06u8), (7, 0x07), (13, 0x0D), (19, 0x13)] {
        let off = 0x10 * vec;
        bus.load(vec * 4, &[off as u8, (off >> 8) as u8, 0x00, 0x30]);
        bus.load(0x30000 + off, &[0xBE, code, code, 0xF4]);
    }
    (cpu, bus)
}

fn go(cpu: &mut Cpu, bus: &mut FlatBus) -> u16 {
    run(cpu, bus, 200);
    cpu.regs[ESI] as u16
}

const BYTES: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
];

#[test]
fn aligned_forms_fault_on_a_misaligned_m128() {
    // SDM Vol. 2B MOVAPS: "#GP(0) If a memory operand is not aligned on a 16-byte
    // boundary"; MOVUPS has no such fault. XMM0 holds the 16 bytes in memory order.
    let (mut cpu, mut bus) = setup(CpuModel::PentiumM, |a| {
        a.movaps(xmm0, xmmword_ptr(0x100)).unwrap();
        a.movups(xmm1, xmmword_ptr(0x108)).unwrap();
    });
    bus.load(DATA + 0x100, &BYTES);
    bus.load(DATA + 0x110, &BYTES);
    assert_eq!(go(&mut cpu, &mut bus), 0);
    assert_eq!(cpu.xmm[0], u128::from_le_bytes(BYTES));
    let mut want = [0u8; 16];
    want[..8].copy_from_slice(&BYTES[8..]);
    want[8..].copy_from_slice(&BYTES[..8]);
    assert_eq!(cpu.xmm[1], u128::from_le_bytes(want));
    for f in [
        |a: &mut CodeAssembler| a.movaps(xmm0, xmmword_ptr(0x108)).unwrap(),
        |a: &mut CodeAssembler| a.movdqa(xmmword_ptr(0x104), xmm0).unwrap(),
        |a: &mut CodeAssembler| a.paddd(xmm0, xmmword_ptr(0x101)).unwrap(),
        |a: &mut CodeAssembler| a.movntps(xmmword_ptr(0x10C), xmm0).unwrap(),
    ] {
        let (mut cpu, mut bus) = setup(CpuModel::PentiumM, f);
        assert_eq!(go(&mut cpu, &mut bus), 0x0D0D);
        assert_eq!(bus.r32(DATA + 0x104), 0, "nothing stored");
    }
}

#[test]
fn ldmxcsr_reserved_bits_follow_the_model() {
    // SDM Vol. 2A LDMXCSR: #GP(0) for a reserved bit; Vol. 1 §11.6.3: DAZ (bit 6) is
    // reserved on processors without it (MXCSR_MASK FFBFh: the Pentium III).
    let ld = |m: CpuModel, v: u32| {
        let (mut cpu, mut bus) = setup(m, |a| {
            a.ldmxcsr(dword_ptr(0x100)).unwrap();
            a.stmxcsr(dword_ptr(0x104)).unwrap();
        });
        bus.load(DATA + 0x100, &v.to_le_bytes());
        let code = go(&mut cpu, &mut bus);
        (code, cpu.mxcsr, bus.r32(DATA + 0x104))
    };
    assert_eq!(ld(CpuModel::PentiumM, 0x1FC0), (0, 0x1FC0, 0x1FC0));
    assert_eq!(ld(CpuModel::Pentium3, 0x1FC0), (0x0D0D, 0x1F80, 0));
    assert_eq!(ld(CpuModel::Pentium3, 0xFFBF), (0, 0xFFBF, 0xFFBF));
    assert_eq!(ld(CpuModel::PentiumM, 0x1_1F80), (0x0D0D, 0x1F80, 0));
}

#[test]
fn fxsave_holds_mxcsr_its_mask_and_the_xmm_registers() {
    // SDM Vol. 1 Table 10-2: MXCSR at byte 24, MXCSR_MASK at 28, XMMi at 160 + 16·i.
    // MXCSR_MASK is FFFFh with DAZ; a processor without DAZ stores 0 (Vol. 1 §11.6.6).
    for (m, mask) in [(CpuModel::PentiumM, 0xFFFF), (CpuModel::Pentium3, 0)] {
        let (mut cpu, mut bus) = setup(m, |a| {
            a.movups(xmm3, xmmword_ptr(0x100)).unwrap();
            a.ldmxcsr(dword_ptr(0x110)).unwrap();
            a.fxsave(ptr(0x200)).unwrap();
        });
        bus.load(DATA + 0x100, &BYTES);
        bus.load(DATA + 0x110, &0x3F85u32.to_le_bytes());
        assert_eq!(go(&mut cpu, &mut bus), 0, "{m:?}");
        let img = DATA + 0x200;
        assert_eq!(bus.r32(img + 24), 0x3F85, "{m:?} MXCSR");
        assert_eq!(bus.r32(img + 28), mask, "{m:?} MXCSR_MASK");
        let x3 = &bus.mem[(img + 160 + 48) as usize..(img + 160 + 64) as usize];
        assert_eq!(x3, &BYTES, "{m:?} XMM3");
    }
    // FXRSTOR loads them back; a reserved MXCSR bit in the image is #GP(0) and nothing
    // changes (SDM Vol. 2A FXRSTOR).
    let restore = |mxcsr: u32| {
        let (mut cpu, mut bus) = setup(CpuModel::PentiumM, |a| a.fxrstor(ptr(0x200)).unwrap());
        bus.load(DATA + 0x200, &0x037Fu32.to_le_bytes());
        bus.load(DATA + 0x200 + 24, &mxcsr.to_le_bytes());
        bus.load(DATA + 0x200 + 160 + 16 * 5, &BYTES);
        let code = go(&mut cpu, &mut bus);
        (code, cpu.mxcsr, cpu.xmm[5])
    };
    assert_eq!(restore(0x1F85), (0, 0x1F85, u128::from_le_bytes(BYTES)));
    assert_eq!(restore(0x2_1F80), (0x0D0D, 0x1F80, 0));
}

#[test]
fn fxsave_leaves_the_sse_area_alone_without_osfxsr() {
    // SDM Vol. 2A FXSAVE: with CR4.OSFXSR = 0 the XMM registers and MXCSR may not be
    // saved; Intel's P6 parts do not save them, as before SSE.
    let (mut cpu, mut bus) = setup(CpuModel::PentiumM, |a| a.fxsave(ptr(0x200)).unwrap());
    cpu.cr4 = 0;
    cpu.xmm[0] = u128::MAX;
    bus.load(DATA + 0x200 + 24, &[0xAA; 8]);
    assert_eq!(go(&mut cpu, &mut bus), 0);
    assert_eq!(bus.r32(DATA + 0x200 + 24), 0xAAAA_AAAA);
    assert_eq!(bus.r32(DATA + 0x200 + 160), 0);
}

#[test]
fn cr4_osxmmexcpt_needs_sse() {
    // SDM Vol. 3A §2.5: OSXMMEXCPT (bit 10) is reserved without SSE: MOV CR4 → #GP(0).
    for (m, code) in [(CpuModel::Pentium2, 0x0D0D), (CpuModel::Pentium3, 0)] {
        let (mut cpu, mut bus) = setup(m, |a| {
            a.mov(eax, 1u32 << 10).unwrap();
            a.mov(cr4, eax).unwrap();
        });
        assert_eq!(go(&mut cpu, &mut bus), code, "{m:?}");
    }
}

#[test]
fn maskmovdqu_stores_only_the_selected_bytes() {
    // SDM Vol. 2B MASKMOVDQU: byte i of XMM1 goes to DS:[EDI + i] when bit 7 of byte i
    // of the mask (XMM2) is set. Mask bytes 0, 5 and 15 are 80h/FFh/81h.
    let (mut cpu, mut bus) = setup(CpuModel::PentiumM, |a| {
        a.movups(xmm1, xmmword_ptr(0x100)).unwrap();
        a.movups(xmm2, xmmword_ptr(0x110)).unwrap();
        a.mov(edi, 0x200u32).unwrap();
        a.maskmovdqu(xmm1, xmm2).unwrap();
    });
    bus.load(DATA + 0x100, &BYTES);
    let mut mask = [0x7Fu8; 16];
    mask[0] = 0x80;
    mask[5] = 0xFF;
    mask[15] = 0x81;
    bus.load(DATA + 0x110, &mask);
    bus.load(DATA + 0x200, &[0xEE; 16]);
    assert_eq!(go(&mut cpu, &mut bus), 0);
    let mut want = [0xEEu8; 16];
    want[0] = 0x00;
    want[5] = 0x55;
    want[15] = 0xFF;
    assert_eq!(
        &bus.mem[(DATA + 0x200) as usize..(DATA + 0x210) as usize],
        &want
    );
}

#[test]
fn clflush_faults_like_a_byte_read() {
    // SDM Vol. 2A CLFLUSH: #GP(0) for an effective address outside the segment limit
    // (real mode: 64 KB); within it nothing is visible.
    let (mut cpu, mut bus) = setup(CpuModel::PentiumM, |a| {
        a.mov(ebx, 0xFFFFu32).unwrap();
        a.clflush(byte_ptr(ebx)).unwrap();
    });
    assert_eq!(go(&mut cpu, &mut bus), 0);
    let (mut cpu, mut bus) = setup(CpuModel::PentiumM, |a| {
        a.mov(ebx, 0x1_0000u32).unwrap();
        a.clflush(byte_ptr(ebx)).unwrap();
    });
    assert_eq!(go(&mut cpu, &mut bus), 0x0D0D);
}

#[test]
fn movq2dq_makes_the_mmx_transition() {
    // SDM Vol. 2B MOVQ2DQ: XMM1[63:0] ← MM0, upper bits cleared; the x87 FPU goes to MMX
    // mode (TOP = 0, every tag valid; Vol. 1 Table 9-2), after FNINIT emptied it.
    let (mut cpu, mut bus) = setup(CpuModel::PentiumM, |a| {
        a.fninit().unwrap();
        a.fld1().unwrap();
        a.movq2dq(xmm1, mm0).unwrap();
    });
    cpu.xmm[1] = u128::MAX;
    cpu.set_mm(0, 0x0123_4567_89AB_CDEF);
    assert_eq!(go(&mut cpu, &mut bus), 0);
    // FNINIT leaves the register contents; FLD1 pushed 1.0 into physical R7, so MM0 is
    // still R0's significand.
    assert_eq!(cpu.xmm[1], 0x0123_4567_89AB_CDEF);
    assert_eq!(cpu.fpu.empty, 0);
    assert_eq!(cpu.fpu.sw & 0x3800, 0);
}
