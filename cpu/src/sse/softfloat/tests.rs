//! Hand-worked values for the soft-float core. Each expected bit pattern is derived in
//! the comment beside it from the IEEE 754 encoding and the SDM rules the module cites.

use super::*;

/// Every exception masked, round to nearest, no FTZ/DAZ (the MXCSR reset value 1F80h).
const RESET: u32 = 0x1F80;

fn env_rc(rc: u8) -> Env {
    Env::new(RESET | (rc as u32) << 13)
}

/// Runs `op` in `env` and returns its result and flags.
fn run(mut env: Env, op: impl FnOnce(&mut Env) -> u64) -> (u64, u32) {
    let r = op(&mut env);
    (r, env.flags)
}

// binary32 constants: sign | biased exponent << 23 | fraction.
const ONE: u64 = 0x3F80_0000; // 127 << 23
const TWO: u64 = 0x4000_0000; // 128 << 23
const THREE: u64 = 0x4040_0000; // 1.5 × 2^1
const HALF: u64 = 0x3F00_0000; // 126 << 23
const MAX_S: u64 = 0x7F7F_FFFF; // (2 − 2^-23) × 2^127
const MIN_NORM_S: u64 = 0x0080_0000; // 2^-126
const QNAN_S: u64 = 0x7FC0_0001;
const SNAN_S: u64 = 0x7F80_0001;
const INF_S: u64 = 0x7F80_0000;

#[test]
fn add_exact_and_ties() {
    // 1 + 2 = 3 = 1.5 × 2^1: exponent 128, fraction 0.5 → 0x40400000.
    assert_eq!(run(env_rc(RC_NEAR), |e| add(e, S, ONE, TWO)), (THREE, 0));
    // 1 + 2^-24: the ulp of 1 is 2^-23, so this is exactly half an ulp: a tie. Nearest
    // goes to the even significand (1.0), up goes to 1 + 2^-23 = 0x3F800001.
    let tiny = 0x3380_0000; // 2^-24: exponent 127 − 24 = 103 = 0x67 → 0x67 << 23
    assert_eq!(run(env_rc(RC_NEAR), |e| add(e, S, ONE, tiny)), (ONE, PE));
    assert_eq!(run(env_rc(RC_UP), |e| add(e, S, ONE, tiny)), (ONE + 1, PE));
    assert_eq!(run(env_rc(RC_ZERO), |e| add(e, S, ONE, tiny)), (ONE, PE));
    // −1 − 2^-24 rounds down (away from zero) to −(1 + 2^-23) only under RC_DOWN.
    let neg = |x: u64| x | 0x8000_0000;
    assert_eq!(
        run(env_rc(RC_DOWN), |e| sub(e, S, neg(ONE), tiny)),
        (neg(ONE + 1), PE)
    );
    assert_eq!(
        run(env_rc(RC_UP), |e| sub(e, S, neg(ONE), tiny)),
        (neg(ONE), PE)
    );
    // 0.1 + 0.2 in binary64: 0x3FB999999999999A + 0x3FC999999999999A is the well-known
    // 0.30000000000000004 = 0x3FD3333333333334, inexact.
    let r = run(env_rc(RC_NEAR), |e| {
        add(e, D, 0x3FB9_9999_9999_999A, 0x3FC9_9999_9999_999A)
    });
    assert_eq!(r, (0x3FD3_3333_3333_3334, PE));
}

#[test]
fn add_far_apart_operands_round_with_sticky() {
    // 1 + 2^-149 (the smallest denormal, exponents 150 apart): the true sum is above 1
    // by far less than half an ulp. Nearest → 1; up → 1 + 2^-23; both inexact, and the
    // denormal operand raises DE.
    assert_eq!(run(env_rc(RC_NEAR), |e| add(e, S, ONE, 1)), (ONE, DE | PE));
    assert_eq!(
        run(env_rc(RC_UP), |e| add(e, S, ONE, 1)),
        (ONE + 1, DE | PE)
    );
    // 1 − 2^-149 under RC_ZERO: just below 1, truncated to the largest value below 1,
    // (1 − 2^-24) = 0x3F7FFFFF.
    assert_eq!(
        run(env_rc(RC_ZERO), |e| sub(e, S, ONE, 1)),
        (0x3F7F_FFFF, DE | PE)
    );
}

#[test]
fn zero_signs() {
    // x − x is +0, except −0 when rounding down (IEEE 754 §6.3).
    assert_eq!(run(env_rc(RC_NEAR), |e| sub(e, S, ONE, ONE)), (0, 0));
    assert_eq!(
        run(env_rc(RC_DOWN), |e| sub(e, S, ONE, ONE)),
        (0x8000_0000, 0)
    );
    // (+0) + (−0) likewise; (−0) + (−0) = −0 in every mode.
    assert_eq!(run(env_rc(RC_NEAR), |e| add(e, S, 0, 0x8000_0000)), (0, 0));
    assert_eq!(
        run(env_rc(RC_DOWN), |e| add(e, S, 0, 0x8000_0000)),
        (0x8000_0000, 0)
    );
    assert_eq!(
        run(env_rc(RC_NEAR), |e| add(e, S, 0x8000_0000, 0x8000_0000)),
        (0x8000_0000, 0)
    );
    // (−2) × 0 = −0.
    assert_eq!(
        run(env_rc(RC_NEAR), |e| mul(e, S, TWO | 0x8000_0000, 0)),
        (0x8000_0000, 0)
    );
}

#[test]
fn nan_rules() {
    let env = env_rc(RC_NEAR);
    // ∞ − ∞ is invalid: the default NaN FFC00000 and IE.
    assert_eq!(run(env, |e| sub(e, S, INF_S, INF_S)), (0xFFC0_0000, IE));
    assert_eq!(
        run(env, |e| mul(e, D, 0, 0x7FF0_0000_0000_0000)),
        (0xFFF8_0000_0000_0000, IE)
    );
    // Two QNaNs: the first operand's (SDM Vol. 1 Table 4-7).
    assert_eq!(run(env, |e| add(e, S, QNAN_S, 0xFFC0_0002)), (QNAN_S, 0));
    assert_eq!(
        run(env, |e| add(e, S, 0xFFC0_0002, QNAN_S)),
        (0xFFC0_0002, 0)
    );
    // An SNaN is quieted (bit 22 set: 0x7F800001 → 0x7FC00001) and raises IE, and the
    // first operand still wins over a QNaN second one.
    assert_eq!(run(env, |e| add(e, S, ONE, SNAN_S)), (QNAN_S, IE));
    assert_eq!(run(env, |e| mul(e, S, SNAN_S, 0xFFC0_0000)), (QNAN_S, IE));
    assert_eq!(
        run(env, |e| div(e, S, 0xFFC0_0000, SNAN_S)),
        (0xFFC0_0000, IE)
    );
    // A QNaN beats the denormal operand: no DE.
    assert_eq!(run(env, |e| add(e, S, QNAN_S, 1)), (QNAN_S, 0));
    // √ of an SNaN: quieted, IE.
    assert_eq!(run(env, |e| sqrt(e, S, SNAN_S)), (QNAN_S, IE));
}

#[test]
fn overflow_by_rounding_mode() {
    // MAX × 2 = (2 − 2^-23) × 2^128, beyond the largest exponent (127). The masked
    // response is ∞ or MAX by the direction of rounding (SDM Vol. 1 §4.9.1.4).
    for (rc, pos, neg) in [
        (RC_NEAR, INF_S, 0xFF80_0000),
        (RC_ZERO, MAX_S, 0xFF7F_FFFF),
        (RC_DOWN, MAX_S, 0xFF80_0000),
        (RC_UP, INF_S, 0xFF7F_FFFF),
    ] {
        assert_eq!(
            run(env_rc(rc), |e| mul(e, S, MAX_S, TWO)),
            (pos, OE | PE),
            "rc {rc}"
        );
        assert_eq!(
            run(env_rc(rc), |e| mul(e, S, MAX_S | 0x8000_0000, TWO)),
            (neg, OE | PE),
            "rc {rc}"
        );
    }
}

#[test]
fn underflow_tininess_after_rounding_and_ftz() {
    let ftz = Env::new(RESET | 0x8000);
    // 2^-126 × 0.5 = 2^-127 = 0x00400000: tiny but exact, so no flag when UE is masked;
    // with FTZ a tiny result becomes +0 with UE and PE.
    assert_eq!(
        run(env_rc(RC_NEAR), |e| mul(e, S, MIN_NORM_S, HALF)),
        (0x0040_0000, 0)
    );
    assert_eq!(run(ftz, |e| mul(e, S, MIN_NORM_S, HALF)), (0, UE | PE));
    // (1 − 2^-24) × 2^-126 = 2^-126 − 2^-150 has 24 significant bits, so with an
    // unbounded exponent it is exact and below 2^-126: tiny. As a denormal (quantum
    // 2^-149) it is (2^23 − 1/2) × 2^-149, a tie that goes to the even 2^23, which is
    // the smallest normal 0x00800000. So the result is normal but UE and PE are set.
    let r = run(env_rc(RC_NEAR), |e| mul(e, S, 0x3F7F_FFFF, MIN_NORM_S));
    assert_eq!(r, (MIN_NORM_S, UE | PE));
    assert_eq!(
        run(ftz, |e| mul(e, S, 0x3F7F_FFFF, MIN_NORM_S)),
        (0, UE | PE)
    );
    // (1 + 2^-23) × (2^-126 − 2^-149) = 2^-126 × (1 − 2^-46): just below 2^-126, but
    // rounded to 24 bits it is 2^-126, so it is *not* tiny: PE only (plus DE for the
    // denormal operand 0x007FFFFF), and FTZ leaves it alone.
    let r = run(env_rc(RC_NEAR), |e| mul(e, S, ONE + 1, 0x007F_FFFF));
    assert_eq!(r, (MIN_NORM_S, DE | PE));
    assert_eq!(
        run(ftz, |e| mul(e, S, ONE + 1, 0x007F_FFFF)),
        (MIN_NORM_S, DE | PE)
    );
    // Truncating, the same product is tiny: 0x007FFFFF with UE and PE.
    let r = run(env_rc(RC_ZERO), |e| mul(e, S, ONE + 1, 0x007F_FFFF));
    assert_eq!(r, (0x007F_FFFF, DE | UE | PE));
    // With DAZ the denormal operand is +0: the product is +0, no flags at all.
    let daz = Env::new(RESET | 0x40);
    assert_eq!(run(daz, |e| mul(e, S, ONE + 1, 0x007F_FFFF)), (0, 0));
    // With UE unmasked, a tiny exact result still reports UE (§4.9.1.5).
    let ue = Env::new(RESET & !(UE << 7));
    assert_eq!(run(ue, |e| mul(e, S, MIN_NORM_S, HALF)).1, UE);
}

#[test]
fn division() {
    let env = env_rc(RC_NEAR);
    // 1/3 = 1.0101…b × 2^-2: exponent 125 = 0x7D, the 23 fraction bits 0101…010 =
    // 0x2AAAAA, and the dropped bits 1010… are 2/3 of an ulp, above half: nearest rounds
    // up to 0x3E800000 | 0x2AAAAB = 0x3EAAAAAB; truncation keeps 0x3EAAAAAA.
    assert_eq!(run(env, |e| div(e, S, ONE, THREE)), (0x3EAA_AAAB, PE));
    assert_eq!(
        run(env_rc(RC_ZERO), |e| div(e, S, ONE, THREE)),
        (0x3EAA_AAAA, PE)
    );
    // 3/2 = 1.5 exactly.
    assert_eq!(run(env, |e| div(e, S, THREE, TWO)), (0x3FC0_0000, 0));
    // x/0 = ∞ with ZE; a denormal divided by zero reports only ZE, not DE (§4.9.2).
    assert_eq!(
        run(env, |e| div(e, S, ONE | 0x8000_0000, 0)),
        (0xFF80_0000, ZE)
    );
    assert_eq!(run(env, |e| div(e, S, 1, 0)), (INF_S, ZE));
    // 0/0 and ∞/∞ are invalid; ∞/0 is just ∞.
    assert_eq!(run(env, |e| div(e, S, 0, 0)), (0xFFC0_0000, IE));
    assert_eq!(run(env, |e| div(e, S, INF_S, INF_S)), (0xFFC0_0000, IE));
    assert_eq!(run(env, |e| div(e, S, INF_S, 0)), (INF_S, 0));
    // 0 / denormal = 0 with DE.
    assert_eq!(run(env, |e| div(e, S, 0, 1)), (0, DE));
    // Under DAZ a denormal divisor is a zero: 1/denormal → ZE, not DE.
    assert_eq!(
        run(Env::new(RESET | 0x40), |e| div(e, S, ONE, 1)),
        (INF_S, ZE)
    );
    // 1/10 in binary64: 0x3FB999999999999A (the closest double to 0.1, rounded up).
    assert_eq!(
        run(env, |e| div(
            e,
            D,
            0x3FF0_0000_0000_0000,
            0x4024_0000_0000_0000
        ))
        .0,
        0x3FB9_9999_9999_999A
    );
}

#[test]
fn square_root() {
    let env = env_rc(RC_NEAR);
    // √4 = 2 exactly; √2 = 1.41421353816986083984375 = 0x3FB504F3 in binary32 and
    // 0x3FF6A09E667F3BCD in binary64 (the standard encodings of the rounded √2).
    assert_eq!(run(env, |e| sqrt(e, S, 0x4080_0000)), (TWO, 0));
    assert_eq!(run(env, |e| sqrt(e, S, TWO)), (0x3FB5_04F3, PE));
    assert_eq!(
        run(env, |e| sqrt(e, D, 0x4000_0000_0000_0000)),
        (0x3FF6_A09E_667F_3BCD, PE)
    );
    // √−0 = −0; √−1 and √−denormal are invalid; √+∞ = +∞.
    assert_eq!(run(env, |e| sqrt(e, S, 0x8000_0000)), (0x8000_0000, 0));
    assert_eq!(
        run(env, |e| sqrt(e, S, ONE | 0x8000_0000)),
        (0xFFC0_0000, IE)
    );
    assert_eq!(run(env, |e| sqrt(e, S, 0x8000_0001)), (0xFFC0_0000, IE));
    assert_eq!(run(env, |e| sqrt(e, S, INF_S)), (INF_S, 0));
    // √(2^-148) = 2^-74, exponent 127 − 74 = 53 = 0x35 → 0x1A800000, exact, with DE.
    assert_eq!(run(env, |e| sqrt(e, S, 2)), (0x1A80_0000, DE));
}

#[test]
fn min_max() {
    let env = env_rc(RC_NEAR);
    // A NaN in either operand gives the second operand as it is (even an SNaN) and IE.
    assert_eq!(run(env, |e| max(e, S, QNAN_S, ONE)), (ONE, IE));
    assert_eq!(run(env, |e| max(e, S, ONE, SNAN_S)), (SNAN_S, IE));
    assert_eq!(run(env, |e| min(e, S, ONE, QNAN_S)), (QNAN_S, IE));
    // Two zeros: the second operand, whatever the signs.
    assert_eq!(run(env, |e| max(e, S, 0, 0x8000_0000)), (0x8000_0000, 0));
    assert_eq!(run(env, |e| min(e, S, 0x8000_0000, 0)), (0, 0));
    // Ordinary ordering, −2 < 1 < 2.
    assert_eq!(run(env, |e| max(e, S, ONE, TWO)), (TWO, 0));
    assert_eq!(
        run(env, |e| min(e, S, ONE, TWO | 0x8000_0000)),
        (TWO | 0x8000_0000, 0)
    );
    // A denormal operand raises DE.
    assert_eq!(run(env, |e| min(e, S, 1, ONE)), (1, DE));
}

#[test]
fn compares() {
    let env = env_rc(RC_NEAR);
    let c = |a, b, p| {
        let mut e = env;
        let r = cmp(&mut e, S, a, b, p);
        (r, e.flags)
    };
    // Ordered: 1 vs 2 under EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD.
    let want = [false, true, true, false, true, false, false, true];
    for (p, &w) in want.iter().enumerate() {
        assert_eq!(c(ONE, TWO, p as u8), (w, 0), "pred {p}");
    }
    // +0 and −0 are equal.
    assert_eq!(c(0, 0x8000_0000, 0), (true, 0));
    // Unordered with a QNaN: EQ/LT/LE/ORD false, the rest true; LT, LE, NLT and NLE
    // signal IE on a QNaN, the others do not.
    let want = [false, false, false, true, true, true, true, false];
    let ie = [0, IE, IE, 0, 0, IE, IE, 0];
    for p in 0..8 {
        assert_eq!(c(QNAN_S, ONE, p as u8), (want[p], ie[p]), "pred {p}");
    }
    // An SNaN raises IE for every predicate.
    assert_eq!(c(ONE, SNAN_S, 0), (false, IE));
    // COMISS vs UCOMISS: (ZF, PF, CF).
    let mut e = env;
    assert_eq!(comi(&mut e, S, ONE, TWO, true), (false, false, true));
    assert_eq!(comi(&mut e, S, TWO, ONE, true), (false, false, false));
    assert_eq!(comi(&mut e, S, TWO, TWO, true), (true, false, false));
    assert_eq!(e.flags, 0);
    assert_eq!(comi(&mut e, S, QNAN_S, TWO, false), (true, true, true));
    assert_eq!(e.flags, 0);
    assert_eq!(comi(&mut e, S, QNAN_S, TWO, true), (true, true, true));
    assert_eq!(e.flags, IE);
}

#[test]
fn float_to_int() {
    let to = |rc: u8, f: Fmt, x: u64, t: bool| {
        let mut e = env_rc(rc);
        let r = to_i32(&mut e, f, x, t);
        (r, e.flags)
    };
    let two_and_half = 0x4020_0000; // 1.25 × 2^1
    assert_eq!(to(RC_NEAR, S, two_and_half, false), (2, PE)); // tie → even
    assert_eq!(to(RC_UP, S, two_and_half, false), (3, PE));
    assert_eq!(
        to(RC_NEAR, S, two_and_half | 0x8000_0000, true),
        (-2i32 as u32, PE)
    );
    assert_eq!(
        to(RC_DOWN, S, two_and_half | 0x8000_0000, false),
        (-3i32 as u32, PE)
    );
    // ±2^31 (exponent 127 + 31 = 158 = 0x9E → 0x4F000000): +2^31 does not fit, −2^31
    // does, exactly.
    assert_eq!(to(RC_NEAR, S, 0x4F00_0000, false), (INT_INDEFINITE, IE));
    assert_eq!(to(RC_NEAR, S, 0xCF00_0000, false), (0x8000_0000, 0));
    assert_eq!(to(RC_NEAR, S, QNAN_S, true), (INT_INDEFINITE, IE));
    assert_eq!(to(RC_NEAR, S, INF_S, false), (INT_INDEFINITE, IE));
    // 2147483647.5 = (2^32 − 1) × 2^-1 = 0x41DFFFFFFFE00000: nearest is a tie that goes
    // to the even 2^31, out of range; truncation gives 7FFFFFFF.
    assert_eq!(
        to(RC_NEAR, D, 0x41DF_FFFF_FFE0_0000, false),
        (INT_INDEFINITE, IE)
    );
    assert_eq!(
        to(RC_NEAR, D, 0x41DF_FFFF_FFE0_0000, true),
        (0x7FFF_FFFF, PE)
    );
    // A denormal is a tiny nonzero value: 0 (or 1 rounding up) with PE and no DE.
    assert_eq!(to(RC_NEAR, S, 1, false), (0, PE));
    assert_eq!(to(RC_UP, S, 1, false), (1, PE));
}

#[test]
fn int_to_float() {
    let from = |rc: u8, f: Fmt, v: i32| {
        let mut e = env_rc(rc);
        let r = from_i32(&mut e, f, v);
        (r, e.flags)
    };
    // 2^24 + 1 needs 25 bits: a tie between 2^24 (even) and 2^24 + 2.
    // 2^24 = exponent 127 + 24 = 151 = 0x97 → 0x4B800000.
    assert_eq!(from(RC_NEAR, S, (1 << 24) + 1), (0x4B80_0000, PE));
    assert_eq!(from(RC_UP, S, (1 << 24) + 1), (0x4B80_0001, PE));
    assert_eq!(from(RC_NEAR, S, -1), (0xBF80_0000, 0));
    assert_eq!(from(RC_NEAR, S, i32::MIN), (0xCF00_0000, 0));
    assert_eq!(from(RC_NEAR, S, 0), (0, 0));
    // Every int32 is exact in binary64: 0x7FFFFFFF = (2^31 − 1) = 1.111…b × 2^30 →
    // exponent 1023 + 30 = 0x41D, fraction 30 ones at the top → 0x41DFFFFFFFC00000.
    assert_eq!(from(RC_NEAR, D, i32::MAX), (0x41DF_FFFF_FFC0_0000, 0));
}

#[test]
fn single_double_conversions() {
    let env = env_rc(RC_NEAR);
    // MAX_S in binary64: 1.1…1b (24 ones) × 2^127 → 0x47EFFFFFE0000000, exact both ways.
    let mut e = env;
    assert_eq!(s_to_d(&mut e, MAX_S as u32), 0x47EF_FFFF_E000_0000);
    assert_eq!(d_to_s(&mut e, 0x47EF_FFFF_E000_0000), MAX_S as u32);
    assert_eq!(e.flags, 0);
    // MAX_S + half its ulp (2^103): 0x47EFFFFFF0000000, a tie; the even neighbour is
    // 2^128, which overflows: ∞ with OE and PE. One double below it rounds to MAX_S.
    let mut e = env;
    assert_eq!(d_to_s(&mut e, 0x47EF_FFFF_F000_0000), INF_S as u32);
    assert_eq!(e.flags, OE | PE);
    let mut e = env;
    assert_eq!(d_to_s(&mut e, 0x47EF_FFFF_EFFF_FFFF), MAX_S as u32);
    assert_eq!(e.flags, PE);
    // 2^-149 (exponent 1023 − 149 = 874 = 0x36A) is the smallest binary32 denormal,
    // exact: tiny but no flag. 2^-150 is a tie between 0 and 2^-149: 0, UE and PE.
    let mut e = env;
    assert_eq!(d_to_s(&mut e, 0x36A0_0000_0000_0000), 1);
    assert_eq!(e.flags, 0);
    let mut e = env;
    assert_eq!(d_to_s(&mut e, 0x3690_0000_0000_0000), 0);
    assert_eq!(e.flags, UE | PE);
    let mut e = env_rc(RC_UP);
    assert_eq!(d_to_s(&mut e, 0x3690_0000_0000_0000), 1);
    // A binary32 denormal widens exactly, with DE; under DAZ it becomes +0 with none.
    let mut e = env;
    assert_eq!(s_to_d(&mut e, 1), 0x36A0_0000_0000_0000);
    assert_eq!(e.flags, DE);
    let mut e = Env::new(RESET | 0x40);
    assert_eq!(s_to_d(&mut e, 1), 0);
    assert_eq!(e.flags, 0);
    // NaN payloads move with the fraction's top bits: SNaN 7F800001 → fraction bit 0
    // goes to bit 29, plus the quiet bit 51: 7FF8000020000000, IE; and back.
    let mut e = env;
    assert_eq!(s_to_d(&mut e, SNAN_S as u32), 0x7FF8_0000_2000_0000);
    assert_eq!(e.flags, IE);
    let mut e = env;
    assert_eq!(d_to_s(&mut e, 0x7FF0_0000_2000_0000), QNAN_S as u32);
    assert_eq!(e.flags, IE);
}

#[test]
fn reciprocal_approximations() {
    // Exact special cases (SDM Vol. 2 RCPSS/RSQRTSS).
    assert_eq!(rcp(TWO as u32), HALF as u32);
    assert_eq!(rcp(0x8000_0000), 0xFF80_0000);
    assert_eq!(rcp(1), INF_S as u32); // denormal → ∞
    assert_eq!(rcp(0xFF80_0000), 0x8000_0000);
    assert_eq!(rcp(SNAN_S as u32), QNAN_S as u32);
    // 2^126 (0x7E800000) → 2^-126, still normal; anything larger would be tiny → ±0.
    assert_eq!(rcp(0x7E80_0000), MIN_NORM_S as u32);
    assert_eq!(rcp(0xFE80_0001), 0x8000_0000);
    assert_eq!(rsqrt(0x4080_0000), HALF as u32); // 1/√4
    assert_eq!(rsqrt(ONE as u32 | 0x8000_0000), 0xFFC0_0000);
    assert_eq!(rsqrt(INF_S as u32), 0);
    assert_eq!(rsqrt(0x8000_0000), 0xFF80_0000);
    // 1/3 and 1/√3 within 1.5 × 2^-12 (and in fact to the last bit: 1/3 → 0x3EAAAAAB
    // as in `division`; 1/√3 = 1.1547005…b × 2^-1, fraction
    // 0.1547005 × 2^23 = 1297722.17 → 0x13CD3A → 0x3F13CD3A).
    assert_eq!(rcp(THREE as u32), 0x3EAA_AAAB);
    assert_eq!(rsqrt(THREE as u32), 0x3F13_CD3A);
}

#[test]
fn packed_exception_rule() {
    let all = 0x3F;
    // All masked: write and record everything.
    assert_eq!(settle(all, DE | PE), Ok(DE | PE));
    // ZE unmasked and raised in one lane, PE in another: only the pre-computation flags
    // are recorded and nothing is written.
    assert_eq!(settle(all & !ZE, ZE | PE), Err(ZE));
    // PE unmasked: everything is recorded, nothing written.
    assert_eq!(settle(all & !PE, DE | PE), Err(DE | PE));
    // An unmasked exception that did not occur changes nothing.
    assert_eq!(settle(0, 0), Ok(0));
}

/// A deterministic xorshift generator for the differential test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A value of format `f` biased towards the interesting places: random bits, the
    /// denormal and overflow ends, near 1, and short significands (exact results).
    fn float(&mut self, f: Fmt) -> u64 {
        let r = self.next();
        let sign = (r >> 63) << (f.frac + f.ebits);
        let frac = self.next() & f.frac_mask();
        let emax = (1u64 << f.ebits) - 1;
        let e = match r % 6 {
            0 => self.next() % (emax + 1),
            1 => self.next() % 3,            // zero/denormal/smallest normals
            2 => emax - 1 - self.next() % 3, // the largest binades
            3 => (emax >> 1) - 2 + self.next() % 5, // near 1
            4 => {
                return sign
                    | ((emax >> 1) + self.next() % 20) << f.frac
                    | (frac >> (f.frac - 4)) << (f.frac - 4)
            }
            _ => (emax >> 1) - 40 + self.next() % 80,
        };
        sign | e.min(emax - 1) << f.frac | frac
    }
}

/// The host's IEEE 754 binary32/binary64 operations (round to nearest, no FTZ/DAZ) are an
/// independent implementation: with RC = nearest and no NaN involved, every result must
/// match bit for bit. Only on hosts whose float ops are IEEE single/double without
/// excess precision (x86-64 SSE2, AArch64); the soft float itself never uses them.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[test]
fn matches_host_ieee_arithmetic_in_round_to_nearest() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..200_000 {
        let (a, b) = (rng.float(S), rng.float(S));
        let (x, y) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
        let host = [x + y, x - y, x * y, x / y, x.sqrt()];
        for (k, h) in host.iter().enumerate() {
            let mut e = Env::new(RESET);
            let r = match k {
                0 => add(&mut e, S, a, b),
                1 => sub(&mut e, S, a, b),
                2 => mul(&mut e, S, a, b),
                3 => div(&mut e, S, a, b),
                _ => sqrt(&mut e, S, a),
            };
            if !h.is_nan() {
                assert_eq!(r as u32, h.to_bits(), "op {k} of {a:08x}, {b:08x}");
            }
        }
        let (a, b) = (rng.float(D), rng.float(D));
        let (x, y) = (f64::from_bits(a), f64::from_bits(b));
        let host = [x + y, x - y, x * y, x / y, x.sqrt()];
        for (k, h) in host.iter().enumerate() {
            let mut e = Env::new(RESET);
            let r = match k {
                0 => add(&mut e, D, a, b),
                1 => sub(&mut e, D, a, b),
                2 => mul(&mut e, D, a, b),
                3 => div(&mut e, D, a, b),
                _ => sqrt(&mut e, D, a),
            };
            if !h.is_nan() {
                assert_eq!(r, h.to_bits(), "op {k} of {a:016x}, {b:016x}");
            }
        }
        // Conversions: binary64 → binary32 and int32 → binary32 are rounded by the host
        // too; binary32 → binary64 is exact.
        let mut e = Env::new(RESET);
        if !x.is_nan() {
            assert_eq!(d_to_s(&mut e, a), (x as f32).to_bits(), "{a:016x}");
        }
        let v = rng.next() as i32;
        assert_eq!(from_i32(&mut e, S, v) as u32, (v as f32).to_bits(), "{v}");
        let s = rng.float(S) as u32;
        if !f32::from_bits(s).is_nan() {
            assert_eq!(s_to_d(&mut e, s), (f32::from_bits(s) as f64).to_bits());
        }
    }
}
