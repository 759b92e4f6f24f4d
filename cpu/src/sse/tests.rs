//! Unit tests of the 128-bit lane helpers; expected values are worked by hand from the
//! SDM's operation sections (comments give the working).

use super::*;

#[test]
fn unpack_low_interleaves_the_low_halves() {
    // PUNPCKLBW: dst bytes 0..7 interleaved with src bytes 0..7, dst first.
    let a = 0x0F0E0D0C_0B0A0908_07060504_03020100u128;
    let b = 0x1F1E1D1C_1B1A1918_17161514_13121110u128;
    assert_eq!(
        binop128(Bin::UnpackLo(W::B), a, b),
        0x17071606_15051404_13031202_11011000
    );
    // PUNPCKHQDQ: high quadword of each.
    assert_eq!(
        binop128(Bin::UnpackHi(W::Q), a, b),
        0x1F1E1D1C_1B1A1918_0F0E0D0C_0B0A0908
    );
}

#[test]
fn pack_takes_all_of_dst_then_all_of_src() {
    // PACKSSDW: dst dwords 1, -1, 70000h (saturates to 7FFFh), -70000h (8000h); src 2,3,4,5.
    let a = 0xFFF9_0000_0007_0000_FFFF_FFFF_0000_0001u128;
    let b = 0x0000_0005_0000_0004_0000_0003_0000_0002u128;
    assert_eq!(
        binop128(Bin::PackSs(W::D), a, b),
        0x0005_0004_0003_0002_8000_7FFF_FFFF_0001
    );
}

#[test]
fn shifts_use_the_low_quadword_count() {
    // PSRLQ by 4 shifts both quadwords; a count of 64 or more clears them.
    let a = 0x1234_5678_9ABC_DEF0_0FED_CBA9_8765_4321u128;
    assert_eq!(
        binop128(Bin::Srl(W::Q), a, 4),
        0x0123_4567_89AB_CDEF_00FE_DCBA_9876_5432
    );
    assert_eq!(binop128(Bin::Srl(W::Q), a, 1 << 64 | 64), 0);
}

#[test]
fn sse_integer_additions() {
    // PAVGB: (255 + 0 + 1) >> 1 = 128, (1 + 2 + 1) >> 1 = 2.
    assert_eq!(binop(Bin::Avg(W::B), 0x01FF, 0x0200), 0x0280);
    // PSADBW: |1-4| + |10-3| = 10 in the low word.
    assert_eq!(binop(Bin::Sad, 0x0A01, 0x0304), 10);
    // PMULUDQ: FFFFFFFFh² = FFFFFFFE00000001h.
    assert_eq!(
        binop(Bin::Muludq, 0xFFFF_FFFF, 0x1234_FFFF_FFFF),
        0xFFFF_FFFE_0000_0001
    );
    // PMINSW: min(-1, 1) = FFFFh; PMAXUB: max(FFh, 01h) = FFh.
    assert_eq!(binop(Bin::MinS(W::W), 0xFFFF, 0x0001), 0xFFFF);
    assert_eq!(binop(Bin::MaxU(W::B), 0xFF, 0x01), 0xFF);
}

#[test]
fn shuffles_and_masks() {
    // PSHUFD imm 1Bh = 00 01 10 11: reverse the dwords.
    let v = 0x3333_3333_2222_2222_1111_1111_0000_0000u128;
    assert_eq!(
        shuffle(v, 32, 4, 0x1B),
        0x0000_0000_1111_1111_2222_2222_3333_3333
    );
    // MOVMSKPS: the sign bits of lanes 3 and 1.
    assert_eq!(
        movmsk(0x8000_0000_0000_0000_8000_0000_0000_0000, 32, 128),
        0b1010
    );
}

#[test]
fn unmasked_simd_exceptions_raise_xm_or_ud() {
    // SDM Vol. 1 §11.5.1: the flags are set whether or not the exception is masked; an
    // unmasked one raises #XM with CR4.OSXMMEXCPT = 1, else #UD (Vol. 3A §6.15, vector
    // 19). MXCSR 1F80h masks all six; clearing bit 9 (ZM) unmasks divide-by-zero.
    let mut cpu = Cpu::with_model(crate::CpuModel::PentiumM);
    assert_eq!(cpu.xm_exception(0x04), Ok(()));
    assert_eq!(cpu.mxcsr, 0x1F84);
    cpu.mxcsr = 0x1F80 & !(1 << 9);
    cpu.cr4 |= CR4_OSXMMEXCPT;
    assert_eq!(cpu.xm_exception(0x24), Err(Exc::new(XM)));
    assert_eq!(cpu.mxcsr & MXCSR_FLAGS, 0x24);
    cpu.cr4 &= !CR4_OSXMMEXCPT;
    assert_eq!(cpu.xm_exception(0x04), Err(Exc::ud()));
    // A masked flag alone (PE, bit 5) passes.
    assert_eq!(cpu.xm_exception(0x20), Ok(()));
}
