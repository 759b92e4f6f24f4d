//! Soft-float core of the x87: the 80-bit register format, its classes, and one rounding
//! routine that every arithmetic result goes through. It implements precision control
//! (24/53/64-bit significands with the full 15-bit exponent range), the four rounding
//! modes, tininess after rounding, gradual underflow (denormalization before rounding at
//! the same bit position), the masked overflow/underflow responses and the unmasked ones
//! (the result rounded as if the exponent were unbounded, then bias-adjusted by 24576).
//! No host floating point is used anywhere: significands are `u64`/`u128` integers.

/// Status-word bits (SDM Vol. 1 §8.1.3).
pub const IE: u16 = 1 << 0;
pub const DE: u16 = 1 << 1;
pub const ZE: u16 = 1 << 2;
pub const OE: u16 = 1 << 3;
pub const UE: u16 = 1 << 4;
pub const PE: u16 = 1 << 5;
pub const SF: u16 = 1 << 6;
pub const ES: u16 = 1 << 7;
pub const C0: u16 = 1 << 8;
pub const C1: u16 = 1 << 9;
pub const C2: u16 = 1 << 10;
pub const C3: u16 = 1 << 14;
pub const B: u16 = 1 << 15;

/// Rounding-control values (FCW bits 10–11).
pub const RC_NEAR: u8 = 0;
pub const RC_DOWN: u8 = 1;
pub const RC_UP: u8 = 2;
pub const RC_ZERO: u8 = 3;

pub const BIAS: i32 = 16383;
const J: u64 = 1 << 63;
const QBIT: u64 = 1 << 62;

/// An 80-bit register value: sign and 15-bit exponent, and the 64-bit significand with
/// its explicit integer bit J (bit 63).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct F80 {
    pub se: u16,
    pub m: u64,
}

impl F80 {
    pub const ZERO: F80 = F80 { se: 0, m: 0 };
    pub const ONE: F80 = F80 { se: 0x3FFF, m: J };
    /// The default NaN ("real indefinite").
    pub const INDEFINITE: F80 = F80 {
        se: 0xFFFF,
        m: 0xC000_0000_0000_0000,
    };

    pub const fn new(sign: bool, exp: u16, m: u64) -> F80 {
        F80 {
            se: ((sign as u16) << 15) | (exp & 0x7FFF),
            m,
        }
    }
    pub const fn from_bits(b: u128) -> F80 {
        F80 {
            se: (b >> 64) as u16,
            m: b as u64,
        }
    }
    pub const fn to_bits(self) -> u128 {
        ((self.se as u128) << 64) | self.m as u128
    }
    pub const fn zero(sign: bool) -> F80 {
        F80::new(sign, 0, 0)
    }
    pub const fn inf(sign: bool) -> F80 {
        F80::new(sign, 0x7FFF, J)
    }
    pub const fn sign(self) -> bool {
        self.se & 0x8000 != 0
    }
    pub const fn exp(self) -> u16 {
        self.se & 0x7FFF
    }
    pub const fn is_zero(self) -> bool {
        self.exp() == 0 && self.m == 0
    }
    /// Denormals and pseudo-denormals (exponent 0, J set).
    pub const fn is_denormal(self) -> bool {
        self.exp() == 0 && self.m != 0
    }
    /// Unnormals, pseudo-infinities and pseudo-NaNs: J clear with a nonzero exponent.
    pub const fn is_unsupported(self) -> bool {
        self.exp() != 0 && self.m & J == 0
    }
    pub const fn is_inf(self) -> bool {
        self.exp() == 0x7FFF && self.m == J
    }
    pub const fn is_nan(self) -> bool {
        self.exp() == 0x7FFF && self.m & J != 0 && self.m << 1 != 0
    }
    pub const fn is_snan(self) -> bool {
        self.is_nan() && self.m & QBIT == 0
    }
    /// A finite nonzero supported value (normal, denormal or pseudo-denormal).
    pub const fn is_finite_nonzero(self) -> bool {
        !self.is_unsupported() && self.exp() != 0x7FFF && !self.is_zero()
    }
    pub const fn quiet(self) -> F80 {
        F80 {
            se: self.se,
            m: self.m | QBIT,
        }
    }
    pub const fn neg(self) -> F80 {
        F80 {
            se: self.se ^ 0x8000,
            m: self.m,
        }
    }
    pub const fn abs(self) -> F80 {
        F80 {
            se: self.se & 0x7FFF,
            m: self.m,
        }
    }
    pub const fn with_sign(self, sign: bool) -> F80 {
        F80::new(sign, self.exp(), self.m)
    }
    /// The tag a non-empty register gets (0 valid, 1 zero, 2 special).
    pub const fn tag(self) -> u16 {
        let e = self.exp();
        if e == 0 && self.m == 0 {
            1
        } else if e != 0 && e != 0x7FFF && self.m & J != 0 {
            0
        } else {
            2
        }
    }
    /// The value itself, with a pseudo-denormal (exponent 0, J set) rewritten as the
    /// normal of the same value (exponent 1): the FPU accepts pseudo-denormals as
    /// operands but never produces one (SDM Vol. 1 §8.2.2), not even when it returns an
    /// operand unchanged.
    pub const fn canonical(self) -> F80 {
        if self.exp() == 0 && self.m & J != 0 {
            F80::new(self.sign(), 1, self.m)
        } else {
            self
        }
    }
    /// `m * 2^(e - BIAS - 63)` with `m` normalized; for finite nonzero supported values.
    /// A (pseudo-)denormal has the effective exponent 1.
    pub const fn norm(self) -> (i32, u64) {
        let e = self.exp() as i32;
        if e == 0 {
            let lz = self.m.leading_zeros();
            (1 - lz as i32, self.m << lz)
        } else {
            (e, self.m)
        }
    }
    /// Builds a value from `m * 2^e2` exactly (m != 0, the result must be representable
    /// as a normal: used for conversions from narrower formats and integers).
    pub const fn from_exact(sign: bool, e2: i32, m: u64) -> F80 {
        let lz = m.leading_zeros();
        let e = e2 + 63 - lz as i32 + BIAS;
        F80::new(sign, e as u16, m << lz)
    }
}

/// The rounding environment of one operation and the exceptions it raised (IE…PE, and C1
/// when the significand was rounded up in magnitude).
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub rc: u8,
    /// FCW exception masks (bits 0–5).
    pub masks: u16,
    pub ex: u16,
}

impl Ctx {
    pub fn new(cw: u16) -> Ctx {
        Ctx {
            rc: ((cw >> 10) & 3) as u8,
            masks: cw & 0x3F,
            ex: 0,
        }
    }
    #[inline]
    pub fn raise(&mut self, f: u16) {
        self.ex |= f;
    }
    #[inline]
    pub fn masked(&self, f: u16) -> bool {
        self.masks & f == f
    }
    /// Raises IE and returns the default NaN.
    pub fn invalid(&mut self) -> F80 {
        self.raise(IE);
        F80::INDEFINITE
    }
}

/// A destination format: significand precision and the biased (extended-format) exponent
/// range of its normals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fmt {
    pub prec: u32,
    pub emin: i32,
    pub emax: i32,
}

pub const EXT: Fmt = Fmt {
    prec: 64,
    emin: 1,
    emax: 0x7FFE,
};
pub const F32: Fmt = Fmt {
    prec: 24,
    emin: BIAS - 126,
    emax: BIAS + 127,
};
pub const F64: Fmt = Fmt {
    prec: 53,
    emin: BIAS - 1022,
    emax: BIAS + 1023,
};

/// The extended format at the precision selected by FCW.PC (bits 8–9): 00 single (24
/// bits), 10 double (53), 11 extended (64). The reserved setting 01 is given 64 bits.
/// Only FADD/FSUB/FMUL/FDIV (all forms) and FSQRT use it (SDM Vol. 1 §8.1.5.2).
pub fn ext_pc(cw: u16) -> Fmt {
    let prec = match (cw >> 8) & 3 {
        0 => 24,
        2 => 53,
        _ => 64,
    };
    Fmt { prec, ..EXT }
}

/// A rounded value in its destination's terms: `m` holds the significand with J at bit
/// 63; when J is clear the value is a denormal (or zero) of exponent `emin`. `e` is the
/// biased exponent (bias-adjusted after an unmasked overflow/underflow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rounded {
    pub sign: bool,
    pub e: i32,
    pub m: u64,
}

impl Rounded {
    /// Packs into the 80-bit format.
    pub fn ext(self) -> F80 {
        if self.m & J == 0 {
            F80::new(self.sign, 0, self.m)
        } else {
            F80::new(self.sign, (self.e & 0x7FFF) as u16, self.m)
        }
    }
    pub fn f32(self) -> u32 {
        let s = (self.sign as u32) << 31;
        if self.m & J == 0 {
            s | (self.m >> 40) as u32
        } else if self.e >= 0x7FFF {
            s | 0x7F80_0000
        } else {
            let e = (self.e - BIAS + 127) as u32;
            s | (e << 23) | ((self.m >> 40) as u32 & 0x7F_FFFF)
        }
    }
    pub fn f64(self) -> u64 {
        let s = (self.sign as u64) << 63;
        if self.m & J == 0 {
            s | (self.m >> 11)
        } else if self.e >= 0x7FFF {
            s | 0x7FF0_0000_0000_0000
        } else {
            let e = (self.e - BIAS + 1023) as u64;
            s | (e << 52) | ((self.m >> 11) & 0x000F_FFFF_FFFF_FFFF)
        }
    }
}

/// Shifts right by `n`, ORing every bit shifted out into bit 0 (sticky).
#[inline]
pub fn shr_jam(m: u128, n: u32) -> u128 {
    if n == 0 {
        m
    } else if n >= 128 {
        (m != 0) as u128
    } else {
        (m >> n) | ((m & ((1u128 << n) - 1)) != 0) as u128
    }
}

/// Rounds away the low `drop` bits (1 ≤ drop ≤ 127) of `m` in mode `rc`; returns the kept
/// bits (possibly carried one bit past their width), whether anything was lost, and
/// whether the magnitude was rounded up.
#[inline]
fn rnd(m: u128, drop: u32, sign: bool, rc: u8) -> (u128, bool, bool) {
    let rem = m & ((1u128 << drop) - 1);
    let kept = m >> drop;
    if rem == 0 {
        return (kept, false, false);
    }
    let half = 1u128 << (drop - 1);
    let up = match rc {
        RC_NEAR => rem > half || (rem == half && kept & 1 != 0),
        RC_DOWN => sign,
        RC_UP => !sign,
        _ => false,
    };
    (kept + up as u128, true, up)
}

/// Rounds `±m · 2^e2` (m ≠ 0) to `fmt` in the context's rounding mode, raising PE, UE, OE
/// and C1 as the x87 does. `reg`: the destination is a register, where an unmasked
/// overflow or underflow delivers the bias-adjusted result; for a memory destination the
/// caller stores nothing in that case.
pub fn round(ctx: &mut Ctx, sign: bool, e2: i32, m: u128, fmt: &Fmt, reg: bool) -> Rounded {
    debug_assert!(m != 0);
    let lz = m.leading_zeros();
    let m = m << lz;
    // Biased exponent of the leading bit.
    let exp = e2.saturating_add(127 - lz as i32).saturating_add(BIAS);
    let drop = 128 - fmt.prec;
    let (mut r, inexact, up) = rnd(m, drop, sign, ctx.rc);
    let mut e = exp;
    if r >> fmt.prec != 0 {
        r >>= 1;
        e = e.saturating_add(1);
    }
    let sig = (r as u64) << (64 - fmt.prec);
    let finish = |ctx: &mut Ctx| {
        if inexact {
            ctx.raise(PE);
            if up {
                ctx.raise(C1);
            }
        }
    };
    if e > fmt.emax {
        if !ctx.masked(OE) {
            ctx.raise(OE);
            finish(ctx);
            let e = if reg { e - 0x6000 } else { e };
            if e > fmt.emax {
                // Too large even after the bias adjustment.
                ctx.raise(PE | C1);
                return Rounded {
                    sign,
                    e: 0x7FFF,
                    m: J,
                };
            }
            return Rounded { sign, e, m: sig };
        }
        ctx.raise(OE | PE);
        let to_inf = match ctx.rc {
            RC_NEAR => true,
            RC_DOWN => sign,
            RC_UP => !sign,
            _ => false,
        };
        if to_inf {
            ctx.raise(C1);
            return Rounded {
                sign,
                e: 0x7FFF,
                m: J,
            };
        }
        let max = (((1u128 << fmt.prec) - 1) as u64) << (64 - fmt.prec);
        return Rounded {
            sign,
            e: fmt.emax,
            m: max,
        };
    }
    if e < fmt.emin {
        if !ctx.masked(UE) {
            ctx.raise(UE);
            finish(ctx);
            let e = if reg { e + 0x6000 } else { e };
            if e < fmt.emin {
                // Too small even after the bias adjustment: zero, inexact.
                ctx.ex &= !C1;
                ctx.raise(PE);
                return Rounded {
                    sign,
                    e: fmt.emin,
                    m: 0,
                };
            }
            return Rounded { sign, e, m: sig };
        }
        // Denormalize the exact value, then round at the same bit position.
        let shift = (fmt.emin as i64 - exp as i64).clamp(0, 200) as u32;
        let md = shr_jam(m, shift);
        let (r2, inexact2, up2) = rnd(md, drop, sign, ctx.rc);
        if inexact2 {
            ctx.raise(UE | PE);
            if up2 {
                ctx.raise(C1);
            }
        }
        let sig = (r2 as u64) << (64 - fmt.prec);
        return Rounded {
            sign,
            e: fmt.emin,
            m: sig,
        };
    }
    finish(ctx);
    Rounded { sign, e, m: sig }
}

/// `round` into an 80-bit register.
pub fn round_ext(ctx: &mut Ctx, sign: bool, e2: i32, m: u128, fmt: &Fmt) -> F80 {
    round(ctx, sign, e2, m, fmt, true).ext()
}

/// The x87's choice between NaN operands (SDM Vol. 1 Table 4-7): an SNaN raises IE and is
/// quieted; a QNaN beats an SNaN; of two NaNs of the same kind the larger significand
/// wins (on a tie, the one with the smaller sign-and-exponent field, i.e. the positive).
pub fn prop_nan(ctx: &mut Ctx, a: F80, b: F80) -> F80 {
    let (an, bn) = (a.is_nan(), b.is_nan());
    let (asn, bsn) = (a.is_snan(), b.is_snan());
    if asn || bsn {
        ctx.raise(IE);
    }
    let (qa, qb) = (a.quiet(), b.quiet());
    if !bn {
        return qa;
    }
    if !an {
        return qb;
    }
    if asn != bsn {
        return if asn { qb } else { qa };
    }
    if qa.m > qb.m {
        qa
    } else if qb.m > qa.m {
        qb
    } else if qa.se < qb.se {
        qa
    } else {
        qb
    }
}

/// One NaN operand: quieted, IE if it was signalling.
pub fn prop_nan1(ctx: &mut Ctx, a: F80) -> F80 {
    if a.is_snan() {
        ctx.raise(IE);
    }
    a.quiet()
}

/// Arithmetic operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ar {
    Add,
    Mul,
    Sub,
    Subr,
    Div,
    Divr,
}

/// An operand with whether it was a denormal in its source format (a single- or
/// double-precision denormal becomes a normal 80-bit value but still raises DE).
#[derive(Clone, Copy, Debug)]
pub struct Opnd {
    pub v: F80,
    pub den: bool,
}

impl Opnd {
    pub fn reg(v: F80) -> Opnd {
        Opnd {
            v,
            den: v.is_denormal(),
        }
    }
}

/// `a op b` (for the reversed forms, `b op a`), rounded to `fmt`.
pub fn arith(ctx: &mut Ctx, op: Ar, a: Opnd, b: Opnd, fmt: &Fmt) -> F80 {
    let (a, b) = match op {
        Ar::Subr | Ar::Divr => (b, a),
        _ => (a, b),
    };
    if a.v.is_unsupported() || b.v.is_unsupported() {
        return ctx.invalid();
    }
    if a.v.is_nan() || b.v.is_nan() {
        return prop_nan(ctx, a.v, b.v);
    }
    match op {
        Ar::Add => add(ctx, a, b, false, fmt),
        Ar::Sub | Ar::Subr => add(ctx, a, b, true, fmt),
        Ar::Mul => mul(ctx, a, b, fmt),
        Ar::Div | Ar::Divr => div(ctx, a, b, fmt),
    }
}

fn add(ctx: &mut Ctx, a: Opnd, b: Opnd, sub: bool, fmt: &Fmt) -> F80 {
    let (x, y) = (a.v, b.v);
    let (sa, sb) = (x.sign(), y.sign() ^ sub);
    if x.is_inf() {
        if y.is_inf() && sa != sb {
            return ctx.invalid();
        }
        if b.den {
            ctx.raise(DE);
        }
        return F80::inf(sa);
    }
    if y.is_inf() {
        if a.den {
            ctx.raise(DE);
        }
        return F80::inf(sb);
    }
    if a.den || b.den {
        ctx.raise(DE);
    }
    let (xz, yz) = (x.is_zero(), y.is_zero());
    if xz && yz {
        return F80::zero(if sa == sb { sa } else { ctx.rc == RC_DOWN });
    }
    if yz {
        let (e, m) = x.norm();
        return round_ext(ctx, sa, e - BIAS - 63, m as u128, fmt);
    }
    if xz {
        let (e, m) = y.norm();
        return round_ext(ctx, sb, e - BIAS - 63, m as u128, fmt);
    }
    let (ea, ma) = x.norm();
    let (eb, mb) = y.norm();
    // Larger exponent first; significands at bit 126 with 62 guard bits below J.
    let ((e1, m1, s1), (e2, m2, s2)) = if ea >= eb {
        ((ea, ma, sa), (eb, mb, sb))
    } else {
        ((eb, mb, sb), (ea, ma, sa))
    };
    let diff = (e1 - e2) as u32;
    let big = (m1 as u128) << 62;
    let small = shr_jam((m2 as u128) << 62, diff);
    let lsb = e1 - BIAS - 63 - 62;
    if s1 == s2 {
        return round_ext(ctx, s1, lsb, big + small, fmt);
    }
    let (sign, mag) = if big > small {
        (s1, big - small)
    } else if small > big {
        (s2, small - big)
    } else {
        return F80::zero(ctx.rc == RC_DOWN);
    };
    round_ext(ctx, sign, lsb, mag, fmt)
}

fn mul(ctx: &mut Ctx, a: Opnd, b: Opnd, fmt: &Fmt) -> F80 {
    let (x, y) = (a.v, b.v);
    let sign = x.sign() ^ y.sign();
    if x.is_inf() || y.is_inf() {
        if x.is_zero() || y.is_zero() {
            return ctx.invalid();
        }
        if a.den || b.den {
            ctx.raise(DE);
        }
        return F80::inf(sign);
    }
    if a.den || b.den {
        ctx.raise(DE);
    }
    if x.is_zero() || y.is_zero() {
        return F80::zero(sign);
    }
    let (ea, ma) = x.norm();
    let (eb, mb) = y.norm();
    let p = ma as u128 * mb as u128;
    round_ext(ctx, sign, (ea - BIAS - 63) + (eb - BIAS - 63), p, fmt)
}

fn div(ctx: &mut Ctx, a: Opnd, b: Opnd, fmt: &Fmt) -> F80 {
    let (x, y) = (a.v, b.v);
    let sign = x.sign() ^ y.sign();
    if x.is_inf() {
        if y.is_inf() {
            return ctx.invalid();
        }
        if b.den {
            ctx.raise(DE);
        }
        return F80::inf(sign);
    }
    if y.is_inf() {
        if a.den {
            ctx.raise(DE);
        }
        return F80::zero(sign);
    }
    if y.is_zero() {
        if x.is_zero() {
            return ctx.invalid();
        }
        ctx.raise(ZE);
        return F80::inf(sign);
    }
    if a.den || b.den {
        ctx.raise(DE);
    }
    if x.is_zero() {
        return F80::zero(sign);
    }
    let (ea, ma) = x.norm();
    let (eb, mb) = y.norm();
    let (q, sticky) = div_sig(ma, mb);
    round_ext(ctx, sign, ea - eb - 127, q | sticky as u128, fmt)
}

/// `(ma << 127) / mb` for normalized 64-bit significands: the 128-bit quotient (at least
/// 2^126) and whether a remainder was left.
pub fn div_sig(ma: u64, mb: u64) -> (u128, bool) {
    let num = (ma as u128) << 63;
    let q1 = num / mb as u128;
    let r1 = num % mb as u128;
    let n2 = r1 << 64;
    let q2 = n2 / mb as u128;
    let r2 = n2 % mb as u128;
    ((q1 << 64) | q2, r2 != 0)
}

/// Integer square root of the virtual radicand `m · 4^extra` (m < 2^126): the root and
/// whether it is exact.
fn isqrt(m: u128, extra: u32) -> (u128, bool) {
    let bits = 128 - m.leading_zeros();
    let pairs_m = bits.div_ceil(2);
    let mut rem: u128 = 0;
    let mut root: u128 = 0;
    for i in 0..pairs_m + extra {
        let pair = if i < pairs_m {
            (m >> (2 * (pairs_m - 1 - i))) & 3
        } else {
            0
        };
        rem = (rem << 2) | pair;
        let trial = (root << 2) | 1;
        if rem >= trial {
            rem -= trial;
            root = (root << 1) | 1;
        } else {
            root <<= 1;
        }
    }
    (root, rem == 0)
}

/// FSQRT.
pub fn sqrt(ctx: &mut Ctx, x: F80, fmt: &Fmt) -> F80 {
    if x.is_unsupported() {
        return ctx.invalid();
    }
    if x.is_nan() {
        return prop_nan1(ctx, x);
    }
    if x.is_zero() {
        return x;
    }
    if x.sign() {
        return ctx.invalid();
    }
    if x.is_inf() {
        return x;
    }
    if x.is_denormal() {
        ctx.raise(DE);
    }
    let (e, m) = x.norm();
    let mut p = e - BIAS - 63;
    let mut r = m as u128;
    if p & 1 != 0 {
        r <<= 1;
        p -= 1;
    }
    // Root of r · 4^36: about 68 significant bits.
    let (root, exact) = isqrt(r, 36);
    round_ext(ctx, false, p / 2 - 36, root | (!exact) as u128, fmt)
}

/// Rounds a finite value to an integer in mode `rc` (FRNDINT and the integer stores):
/// returns the sign, the integer magnitude (saturated into u128 when huge), whether it
/// was inexact and whether the magnitude went up. `x` must be finite and supported.
pub fn to_int(x: F80, rc: u8) -> (bool, u128, bool, bool) {
    let sign = x.sign();
    if x.is_zero() {
        return (sign, 0, false, false);
    }
    let (e, m) = x.norm();
    let shift = e - BIAS - 63;
    if shift >= 0 {
        if shift >= 64 {
            return (sign, u128::MAX, false, false);
        }
        return (sign, (m as u128) << shift, false, false);
    }
    // Keep 2 spare low bits for rounding: value = m · 2^shift.
    let drop = (-shift) as u32;
    let wide = (m as u128) << 64;
    let md = shr_jam(wide, drop);
    let (k, inexact, up) = rnd(md, 64, sign, rc);
    (sign, k, inexact, up)
}

/// FRNDINT.
pub fn round_int(ctx: &mut Ctx, x: F80) -> F80 {
    if x.is_unsupported() {
        return ctx.invalid();
    }
    if x.is_nan() {
        return prop_nan1(ctx, x);
    }
    if x.is_inf() || x.is_zero() {
        return x;
    }
    if x.is_denormal() {
        ctx.raise(DE);
    }
    if x.exp() as i32 >= BIAS + 63 {
        return x;
    }
    let (sign, k, inexact, up) = to_int(x, ctx.rc);
    if inexact {
        ctx.raise(PE);
        if up {
            ctx.raise(C1);
        }
    }
    if k == 0 {
        return F80::zero(sign);
    }
    F80::from_exact(sign, 0, k as u64)
}

/// Converts an f32 bit pattern (exactly) and reports whether it was denormal.
pub fn from_f32(b: u32) -> Opnd {
    let sign = b >> 31 != 0;
    let e = ((b >> 23) & 0xFF) as i32;
    let f = (b & 0x7F_FFFF) as u64;
    let v = match e {
        0xFF => F80::new(sign, 0x7FFF, J | (f << 40)),
        0 if f == 0 => F80::zero(sign),
        0 => F80::from_exact(sign, -149, f),
        _ => F80::new(sign, (e - 127 + BIAS) as u16, J | (f << 40)),
    };
    Opnd {
        v,
        den: e == 0 && f != 0,
    }
}

/// Converts an f64 bit pattern (exactly) and reports whether it was denormal.
pub fn from_f64(b: u64) -> Opnd {
    let sign = b >> 63 != 0;
    let e = ((b >> 52) & 0x7FF) as i32;
    let f = b & 0x000F_FFFF_FFFF_FFFF;
    let v = match e {
        0x7FF => F80::new(sign, 0x7FFF, J | (f << 11)),
        0 if f == 0 => F80::zero(sign),
        0 => F80::from_exact(sign, -1074, f),
        _ => F80::new(sign, (e - 1023 + BIAS) as u16, J | (f << 11)),
    };
    Opnd {
        v,
        den: e == 0 && f != 0,
    }
}

/// Converts a signed integer exactly.
pub fn from_int(v: i64) -> F80 {
    if v == 0 {
        return F80::ZERO;
    }
    F80::from_exact(v < 0, 0, v.unsigned_abs())
}

/// FST/FSTP to m32fp or m64fp: the bit pattern to store (meaningless when an unmasked
/// exception prevents the store).
pub fn to_narrow(ctx: &mut Ctx, x: F80, fmt: &Fmt) -> u64 {
    let single = fmt.prec == 24;
    let pack_nan = |sign: bool, m: u64| -> u64 {
        if single {
            ((sign as u64) << 31) | 0x7F80_0000 | ((m >> 40) & 0x7F_FFFF)
        } else {
            ((sign as u64) << 63) | 0x7FF0_0000_0000_0000 | ((m >> 11) & 0x000F_FFFF_FFFF_FFFF)
        }
    };
    if x.is_unsupported() {
        ctx.raise(IE);
        return pack_nan(true, F80::INDEFINITE.m);
    }
    if x.is_nan() {
        let q = prop_nan1(ctx, x);
        return pack_nan(q.sign(), q.m);
    }
    if x.is_inf() {
        return pack_nan(x.sign(), 0);
    }
    if x.is_zero() {
        return if single {
            (x.sign() as u64) << 31
        } else {
            (x.sign() as u64) << 63
        };
    }
    let (e, m) = x.norm();
    let r = round(ctx, x.sign(), e - BIAS - 63, m as u128, fmt, false);
    if single {
        r.f32() as u64
    } else {
        r.f64()
    }
}

/// Result of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Less,
    Equal,
    Greater,
    Unordered,
}

/// FCOM/FUCOM/FICOM/FTST/FCOMI: `quiet` gives the unordered-compare rule (IE only for
/// SNaNs and unsupported formats).
pub fn compare(ctx: &mut Ctx, a: Opnd, b: Opnd, quiet: bool) -> Cmp {
    let (x, y) = (a.v, b.v);
    if x.is_unsupported() || y.is_unsupported() {
        ctx.raise(IE);
        return Cmp::Unordered;
    }
    if x.is_nan() || y.is_nan() {
        if !quiet || x.is_snan() || y.is_snan() {
            ctx.raise(IE);
        }
        return Cmp::Unordered;
    }
    if a.den || b.den {
        ctx.raise(DE);
    }
    let key = |v: F80| -> (i8, i32, u64) {
        // Magnitude ordering key; zero lowest, infinity highest.
        if v.is_zero() {
            (0, 0, 0)
        } else if v.is_inf() {
            (2, 0, 0)
        } else {
            let (e, m) = v.norm();
            (1, e, m)
        }
    };
    let (kx, ky) = (key(x), key(y));
    if kx.0 == 0 && ky.0 == 0 {
        return Cmp::Equal;
    }
    let (sx, sy) = (x.sign() && kx.0 != 0, y.sign() && ky.0 != 0);
    if sx != sy {
        return if sx { Cmp::Less } else { Cmp::Greater };
    }
    let ord = kx.cmp(&ky);
    let ord = if sx { ord.reverse() } else { ord };
    match ord {
        core::cmp::Ordering::Less => Cmp::Less,
        core::cmp::Ordering::Equal => Cmp::Equal,
        core::cmp::Ordering::Greater => Cmp::Greater,
    }
}

/// FXAM's class code in C3, C2, C0 (C1 is the sign).
pub fn xam_class(v: F80) -> u16 {
    if v.is_unsupported() {
        0
    } else if v.is_nan() {
        C0
    } else if v.is_inf() {
        C2 | C0
    } else if v.is_zero() {
        C3
    } else if v.is_denormal() {
        C3 | C2
    } else {
        C2
    }
}

/// The outcome of FPREM/FPREM1.
pub struct Prem {
    pub r: F80,
    /// Quotient bits (Q2, Q1, Q0 in bits 2..0); meaningful when `valid`.
    pub q: u64,
    /// False when the result is not a remainder (an invalid operation or a NaN).
    pub valid: bool,
    pub partial: bool,
}

/// FPREM (`nearest` false: quotient truncated) and FPREM1 (IEEE remainder).
pub fn prem(ctx: &mut Ctx, a: F80, b: F80, nearest: bool) -> Prem {
    let bad = |r: F80| Prem {
        r,
        q: 0,
        valid: false,
        partial: false,
    };
    let done = |r: F80, q: u64| Prem {
        r,
        q,
        valid: true,
        partial: false,
    };
    if a.is_unsupported() || b.is_unsupported() {
        return bad(ctx.invalid());
    }
    if a.is_nan() || b.is_nan() {
        return bad(prop_nan(ctx, a, b));
    }
    if a.is_inf() {
        return bad(ctx.invalid());
    }
    if b.is_inf() {
        if a.is_denormal() {
            ctx.raise(DE);
        }
        return done(a.canonical(), 0);
    }
    if b.is_zero() {
        return bad(ctx.invalid());
    }
    if b.is_denormal() {
        ctx.raise(DE);
    }
    if a.is_zero() {
        return done(a, 0);
    }
    if a.is_denormal() {
        ctx.raise(DE);
    }
    let (ea, ma) = a.norm();
    let (eb, mb) = b.norm();
    let d = ea - eb;
    let sign = a.sign();
    if d < 0 {
        if nearest && d == -1 && ma > mb {
            // |a| > |b|/2: the nearest quotient is 1.
            let r = 2 * mb as u128 - ma as u128;
            let v = round_ext(ctx, !sign, ea - BIAS - 63, r, &EXT);
            return done(v, 1);
        }
        return done(a.canonical(), 0);
    }
    let (shift, partial) = if d < 64 {
        (d as u32, false)
    } else {
        (((d & 31) | 32) as u32, true)
    };
    let num = (ma as u128) << shift;
    let mut q = num / mb as u128;
    let mut rem = num % mb as u128;
    let mut rsign = sign;
    if nearest && !partial {
        let twice = rem << 1;
        if twice > mb as u128 || (twice == mb as u128 && q & 1 != 0) {
            q += 1;
            rem = mb as u128 - rem;
            rsign = !sign;
        }
    }
    // The remainder's lsb has b's lsb weight, scaled by the part of the exponent
    // difference not yet reduced.
    let lsb = eb + (d - shift as i32) - BIAS - 63;
    let r = if rem == 0 {
        F80::zero(sign)
    } else {
        round_ext(ctx, rsign, lsb, rem, &EXT)
    };
    Prem {
        r,
        q: q as u64,
        valid: true,
        partial,
    }
}

/// FSCALE: `a · 2^trunc(b)`.
pub fn scale(ctx: &mut Ctx, a: F80, b: F80) -> F80 {
    if a.is_unsupported() || b.is_unsupported() {
        return ctx.invalid();
    }
    if a.is_nan() || b.is_nan() {
        return prop_nan(ctx, a, b);
    }
    if a.is_inf() {
        if b.is_inf() && b.sign() {
            return ctx.invalid();
        }
        if b.is_denormal() {
            ctx.raise(DE);
        }
        return a;
    }
    if b.is_inf() {
        if a.is_zero() {
            if !b.sign() {
                return ctx.invalid();
            }
            return a;
        }
        if a.is_denormal() {
            ctx.raise(DE);
        }
        return if b.sign() {
            F80::zero(a.sign())
        } else {
            F80::inf(a.sign())
        };
    }
    if a.is_denormal() || b.is_denormal() {
        ctx.raise(DE);
    }
    if a.is_zero() {
        return a;
    }
    let be = b.exp() as i32;
    if be < BIAS {
        // |b| < 1: scale by 2^0.
        return a.canonical();
    }
    let (ea, ma) = a.norm();
    let s: i32 = if be > BIAS + 15 {
        if b.sign() {
            -0x10000
        } else {
            0x10000
        }
    } else {
        let k = (b.m >> (BIAS + 63 - be)) as i32;
        if b.sign() {
            -k
        } else {
            k
        }
    };
    round_ext(ctx, a.sign(), ea - BIAS - 63 + s, ma as u128, &EXT)
}

/// FXTRACT: (exponent, significand).
pub fn xtract(ctx: &mut Ctx, a: F80) -> (F80, F80) {
    if a.is_unsupported() {
        let n = ctx.invalid();
        return (n, n);
    }
    if a.is_nan() {
        let n = prop_nan1(ctx, a);
        return (n, n);
    }
    if a.is_inf() {
        return (F80::inf(false), a);
    }
    if a.is_zero() {
        ctx.raise(ZE);
        return (F80::inf(true), a);
    }
    if a.is_denormal() {
        ctx.raise(DE);
    }
    let (e, m) = a.norm();
    (
        from_int((e - BIAS) as i64),
        F80::new(a.sign(), BIAS as u16, m),
    )
}
