//! The transcendental instructions: F2XM1, FYL2X, FYL2XP1, FPATAN, FPTAN, FSIN, FCOS and
//! FSINCOS. Intel specifies their accuracy (within one unit in the last place), not
//! their bits; here each result is evaluated in 128-bit software floating point (series
//! after argument reduction, with the reduction modulo π/2 done in exact multi-word
//! integer arithmetic) and then rounded once to the 64-bit significand in the current
//! rounding mode. Special operands follow the SDM's tables.

use super::sf::*;
use super::table::Op;
use super::Fpu;

/// A software float with a 128-bit significand: `±m · 2^e`, `m` normalized (bit 127
/// set) unless the value is zero. Operations truncate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bf {
    neg: bool,
    e: i32,
    m: u128,
}

const ZERO: Bf = Bf {
    neg: false,
    e: 0,
    m: 0,
};

const LN2: Bf = Bf::c(0xb17217f7d1cf79abc9e3b39803f2f6af, -128);
const LOG2E: Bf = Bf::c(0xb8aa3b295c17f0bbbe87fed0691d3e88, -127);
const PI: Bf = Bf::c(0xc90fdaa22168c234c4c6628b80dc1cd1, -126);
const PI_2: Bf = Bf::c(0xc90fdaa22168c234c4c6628b80dc1cd1, -127);
const PI_4: Bf = Bf::c(0xc90fdaa22168c234c4c6628b80dc1cd1, -128);
const PI3_4: Bf = Bf::c(0x96cbe3f9990e91a79394c9e8a0a5159c, -126);
/// atan(k/8) for k = 0…8.
const ATAN_K8: [Bf; 9] = [
    ZERO,
    Bf::c(0xfeadd4d5617b6e32c897989f3e888ef7, -131),
    Bf::c(0xfadbafc96406eb156dc79ef5f7a217e5, -130),
    Bf::c(0xb7b0ca0f26f784738aa32122dcfe4483, -129),
    Bf::c(0xed63382b0dda7b456fe445ecbc3a8d03, -129),
    Bf::c(0x8f005d5ef7f59f9b5c835e1665c43747, -128),
    Bf::c(0xa4bc7d1934f7092419a87f2a457dac9e, -128),
    Bf::c(0xb8053e2bc2319e73cb2da55210a4443d, -128),
    Bf::c(0xc90fdaa22168c234c4c6628b80dc1cd1, -128),
];
/// The x87 reduces FSIN/FCOS/FPTAN/FSINCOS arguments modulo π/2 with a 66-bit
/// approximation of π (0xC90FDAA22168C234C·2^-66·4, i.e. π rounded to 66 bits), which is
/// what makes its results drift from the true functions near multiples of π. This is
/// that value's π/2 as a fixed-point number with 320 fraction bits (limbs little-endian).
const PI_2_FIX: [u64; 6] = [
    0x0000000000000000,
    0x0000000000000000,
    0x0000000000000000,
    0x8000000000000000,
    0x921fb54442d18469,
    0x0000000000000001,
];

/// 256-bit product of two u128.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & 0xFFFF_FFFF_FFFF_FFFF);
    let (b1, b0) = (b >> 64, b & 0xFFFF_FFFF_FFFF_FFFF);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let (mid, c1) = p01.overflowing_add(p10);
    let (lo, c2) = p00.overflowing_add(mid << 64);
    let hi = p11 + (mid >> 64) + ((c1 as u128) << 64) + c2 as u128;
    (hi, lo)
}

impl Bf {
    const fn c(m: u128, e: i32) -> Bf {
        Bf { neg: false, e, m }
    }

    fn new(neg: bool, e: i32, m: u128) -> Bf {
        if m == 0 {
            return ZERO;
        }
        let lz = m.leading_zeros();
        Bf {
            neg,
            e: e - lz as i32,
            m: m << lz,
        }
    }

    /// A finite value, exactly.
    fn of(x: F80) -> Bf {
        if x.is_zero() {
            return Bf {
                neg: x.sign(),
                ..ZERO
            };
        }
        let (e, m) = x.norm();
        Bf::new(x.sign(), e - BIAS - 63 - 64, (m as u128) << 64)
    }

    fn int(v: u64) -> Bf {
        Bf::new(false, 0, v as u128)
    }

    fn is_zero(self) -> bool {
        self.m == 0
    }

    fn neg(self) -> Bf {
        Bf {
            neg: !self.neg,
            ..self
        }
    }

    fn abs(self) -> Bf {
        Bf { neg: false, ..self }
    }

    fn neg_if(self, c: bool) -> Bf {
        if c {
            self.neg()
        } else {
            self
        }
    }

    /// Exponent of the leading bit (value in [2^k, 2^(k+1))).
    fn ilog2(self) -> i32 {
        self.e + 127
    }

    fn scale(self, k: i32) -> Bf {
        if self.is_zero() {
            self
        } else {
            Bf {
                e: self.e + k,
                ..self
            }
        }
    }

    fn mul(self, o: Bf) -> Bf {
        if self.is_zero() || o.is_zero() {
            return ZERO;
        }
        let (hi, lo) = mul_wide(self.m, o.m);
        let (m, e) = if hi >> 127 == 0 {
            ((hi << 1) | (lo >> 127), self.e + o.e + 127)
        } else {
            (hi, self.e + o.e + 128)
        };
        Bf {
            neg: self.neg ^ o.neg,
            e,
            m,
        }
    }

    fn add(self, o: Bf) -> Bf {
        if self.is_zero() {
            return o;
        }
        if o.is_zero() {
            return self;
        }
        let (a, b) = if (self.e, self.m) >= (o.e, o.m) {
            (self, o)
        } else {
            (o, self)
        };
        let d = (a.e - b.e) as u32;
        // One bit of headroom; the smaller operand is truncated.
        let am = a.m >> 1;
        let bm = if d + 1 >= 128 { 0 } else { b.m >> (d + 1) };
        if a.neg == b.neg {
            Bf::new(a.neg, a.e + 1, am + bm)
        } else {
            Bf::new(a.neg, a.e + 1, am - bm)
        }
    }

    fn sub(self, o: Bf) -> Bf {
        self.add(o.neg())
    }

    fn div(self, o: Bf) -> Bf {
        if self.is_zero() || o.is_zero() {
            return ZERO;
        }
        let mut r = self.m;
        let mut q: u128 = 0;
        if r >= o.m {
            r -= o.m;
            q = 1;
        }
        for _ in 0..127 {
            let top = r >> 127;
            r <<= 1;
            q <<= 1;
            if top != 0 || r >= o.m {
                r = r.wrapping_sub(o.m);
                q |= 1;
            }
        }
        Bf::new(self.neg ^ o.neg, self.e - o.e - 127, q)
    }

    /// Rounds to an 80-bit register; the value is known to be inexact (transcendental),
    /// so a sticky bit is added.
    fn round(self, c: &mut Ctx) -> F80 {
        if self.is_zero() {
            return F80::zero(self.neg);
        }
        round_ext(c, self.neg, self.e, self.m | 1, &EXT)
    }
}

/// `Σ_{k≥0} (-1)^k x^(2k+1)/(2k+1)` (atan) or without the alternating sign (atanh), for
/// small |x|.
fn odd_series(x: Bf, alternate: bool) -> Bf {
    let x2 = x.mul(x);
    let mut term = x;
    let mut sum = x;
    let mut k = 1u64;
    loop {
        term = term.mul(x2);
        if term.is_zero() || term.ilog2() < sum.ilog2() - 130 {
            break;
        }
        let t = term.div(Bf::int(2 * k + 1));
        sum = if alternate && k & 1 == 1 {
            sum.sub(t)
        } else {
            sum.add(t)
        };
        k += 1;
        if k > 200 {
            break;
        }
    }
    sum
}

/// ln(x) for x > 0.
fn ln(x: Bf) -> Bf {
    // x = m · 2^k with m in [1/√2, √2).
    let mut k = x.ilog2();
    let mut m = x.scale(-k);
    // √2 ≈ 1.4142135…: compare m's top bits with 0xB504F333…
    if m.m > 0xB504_F333_F9DE_6484_597D_89B3_754A_BE9F {
        k += 1;
        m = m.scale(-1);
    }
    let one = Bf::int(1);
    let s = m.sub(one).div(m.add(one));
    let lnm = odd_series(s, false).scale(1);
    Bf::int(k.unsigned_abs() as u64)
        .mul(LN2)
        .neg_if(k < 0)
        .add(lnm)
}

/// ln(1 + x) for small |x| (FYL2XP1's range).
fn ln1p(x: Bf) -> Bf {
    let s = x.div(Bf::int(2).add(x));
    odd_series(s, false).scale(1)
}

/// e^y − 1 for |y| < 1.
fn expm1(y: Bf) -> Bf {
    let mut term = y;
    let mut sum = y;
    for k in 2..200u64 {
        term = term.mul(y).div(Bf::int(k));
        if term.is_zero() || term.ilog2() < sum.ilog2() - 130 {
            break;
        }
        sum = sum.add(term);
    }
    sum
}

/// atan(t) for 0 ≤ t ≤ 1.
fn atan01(t: Bf) -> Bf {
    if t.is_zero() {
        return ZERO;
    }
    // Nearest k/8, then atan(t) = atan(k/8) + atan((t − k/8) / (1 + t·k/8)).
    let k = {
        let v = t.scale(3); // 8t
        let ip = if v.ilog2() < 0 {
            0
        } else {
            (v.m >> (127 - v.ilog2())) as u64
        };
        let frac_half = v.ilog2() >= -1 && {
            let sh = 126 - v.ilog2();
            sh < 128 && (v.m >> sh) & 1 == 1
        };
        (ip + frac_half as u64).min(8)
    };
    if k == 0 {
        return odd_series(t, true);
    }
    let c = Bf::int(k).scale(-3);
    let u = t.sub(c).div(Bf::int(1).add(t.mul(c)));
    ATAN_K8[k as usize].add(odd_series(u, true))
}

/// sin and cos of |r| ≤ π/4 by their Taylor series.
fn sin_cos(r: Bf) -> (Bf, Bf) {
    let r2 = r.mul(r);
    let mut s = r;
    let mut term = r;
    for k in 1..100u64 {
        term = term.mul(r2).div(Bf::int((2 * k) * (2 * k + 1))).neg();
        if term.is_zero() || term.ilog2() < s.ilog2() - 130 {
            break;
        }
        s = s.add(term);
    }
    let mut c = Bf::int(1);
    let mut term = Bf::int(1);
    for k in 1..100u64 {
        term = term.mul(r2).div(Bf::int((2 * k - 1) * (2 * k))).neg();
        if term.is_zero() || term.ilog2() < -132 {
            break;
        }
        c = c.add(term);
    }
    (s, c)
}

/// Reduces finite |x| < 2^63 modulo the FPU's π/2: the quadrant (k mod 4) and the
/// remainder r with |r| ≤ π/4, computed exactly.
fn reduce(x: F80) -> (u32, Bf) {
    let b = Bf::of(x);
    if b.is_zero() || (b.abs().e, b.abs().m) <= (PI_4.e, PI_4.m) {
        return (0, b);
    }
    let (e, m) = x.norm();
    // |x| · 2^320 as a 7-limb integer: m · 2^(e − BIAS − 63 + 320).
    let sh = e - BIAS - 63 + 320;
    let mut xv = [0u64; 7];
    let limb = (sh / 64) as usize;
    let bit = (sh % 64) as u32;
    xv[limb] = m << bit;
    if bit != 0 && limb + 1 < 7 {
        xv[limb + 1] = m >> (64 - bit);
    }
    let mut p = [0u64; 7];
    p[..6].copy_from_slice(&PI_2_FIX);
    // Long division by P (quotient < 2^63): shift-subtract over the quotient bits.
    let mut q: u64 = 0;
    for s in (0..64u32).rev() {
        let ps = shl(&p, s);
        if let Some(ps) = ps {
            if cmp(&xv, &ps) != core::cmp::Ordering::Less {
                xv = sub(&xv, &ps);
                q |= 1 << s;
            }
        }
    }
    // Round to nearest quotient: if the remainder exceeds P/2, take one more.
    let half = shr1(&p);
    let mut neg = false;
    if cmp(&xv, &half) == core::cmp::Ordering::Greater {
        xv = sub(&p, &xv);
        q = q.wrapping_add(1);
        neg = true;
    }
    // Remainder as a Bf: the top 128 significant bits (sticky ignored: 190+ good bits).
    let mut r = ZERO;
    if let Some(top) = (0..7).rev().find(|&i| xv[i] != 0) {
        let lz = xv[top].leading_zeros();
        let bitpos = top as i32 * 64 + 63 - lz as i32; // index of the leading bit
        let mut m128: u128 = 0;
        for k in 0..128 {
            let pos = bitpos - k;
            if pos < 0 {
                break;
            }
            let bitv = (xv[(pos / 64) as usize] >> (pos % 64)) & 1;
            m128 |= (bitv as u128) << (127 - k);
        }
        r = Bf {
            neg,
            e: bitpos - 127 - 320,
            m: m128,
        };
    }
    let quadrant = (q & 3) as u32;
    if x.sign() {
        ((4 - quadrant) & 3, r.neg())
    } else {
        (quadrant, r)
    }
}

fn shl(a: &[u64; 7], s: u32) -> Option<[u64; 7]> {
    let mut r = [0u64; 7];
    let (w, b) = ((s / 64) as usize, s % 64);
    for i in (0..7).rev() {
        if i < w {
            continue;
        }
        let mut v = a[i - w] << b;
        if b != 0 && i > w {
            v |= a[i - w - 1] >> (64 - b);
        }
        r[i] = v;
    }
    // Overflow out of the top limb means the shifted value exceeds any dividend.
    let top_lost = if b == 0 {
        a[7 - w..].iter().any(|&x| x != 0)
    } else {
        a[6 - w] >> (64 - b) != 0 || a[7 - w..].iter().any(|&x| x != 0)
    };
    if top_lost {
        None
    } else {
        Some(r)
    }
}

fn shr1(a: &[u64; 7]) -> [u64; 7] {
    let mut r = [0u64; 7];
    for i in 0..7 {
        r[i] = a[i] >> 1;
        if i + 1 < 7 {
            r[i] |= a[i + 1] << 63;
        }
    }
    r
}

fn cmp(a: &[u64; 7], b: &[u64; 7]) -> core::cmp::Ordering {
    for i in (0..7).rev() {
        match a[i].cmp(&b[i]) {
            core::cmp::Ordering::Equal => continue,
            o => return o,
        }
    }
    core::cmp::Ordering::Equal
}

fn sub(a: &[u64; 7], b: &[u64; 7]) -> [u64; 7] {
    let mut r = [0u64; 7];
    let mut borrow = 0u64;
    for i in 0..7 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow);
        r[i] = d2;
        borrow = (b1 || b2) as u64;
    }
    r
}

/// Exceptions common to the one-operand functions: unsupported formats and NaNs.
fn unary_special(c: &mut Ctx, x: F80) -> Option<F80> {
    if x.is_unsupported() {
        return Some(c.invalid());
    }
    if x.is_nan() {
        return Some(prop_nan1(c, x));
    }
    None
}

fn f2xm1(c: &mut Ctx, x: F80) -> F80 {
    if let Some(r) = unary_special(c, x) {
        return r;
    }
    if x.is_inf() {
        return if x.sign() { F80::ONE.neg() } else { x };
    }
    if x.is_zero() {
        return x;
    }
    if x.is_denormal() {
        c.raise(DE);
    }
    if x.exp() as i32 >= BIAS {
        // Outside −1…+1 (the documented domain, ±1 included): the value is returned
        // unchanged, flagged inexact.
        if x.exp() as i32 == BIAS && x.m == 1 << 63 {
            return if x.sign() {
                F80::new(true, (BIAS - 1) as u16, 1 << 63)
            } else {
                x
            };
        }
        c.raise(PE);
        return x;
    }
    expm1(Bf::of(x).mul(LN2)).round(c)
}

/// log2(x) for finite x > 0.
fn log2(x: F80) -> Bf {
    ln(Bf::of(x)).mul(LOG2E)
}

fn yl2x(c: &mut Ctx, x: F80, y: F80) -> F80 {
    if x.is_unsupported() || y.is_unsupported() {
        return c.invalid();
    }
    if x.is_nan() || y.is_nan() {
        return prop_nan(c, x, y);
    }
    if x.sign() && !x.is_zero() {
        return c.invalid();
    }
    let (xd, yd) = (x.is_denormal(), y.is_denormal());
    if x.is_zero() {
        if y.is_zero() {
            return c.invalid();
        }
        if y.is_inf() {
            return F80::inf(!y.sign());
        }
        if yd {
            c.raise(DE);
        }
        c.raise(ZE);
        return F80::inf(!y.sign());
    }
    if x.is_inf() {
        if y.is_zero() {
            return c.invalid();
        }
        if yd {
            c.raise(DE);
        }
        return F80::inf(y.sign());
    }
    let one = x.exp() as i32 == BIAS && x.m == 1 << 63;
    if y.is_inf() {
        if one {
            return c.invalid();
        }
        if xd {
            c.raise(DE);
        }
        let below_one = (x.exp() as i32) < BIAS;
        return F80::inf(y.sign() ^ below_one);
    }
    if xd || yd {
        c.raise(DE);
    }
    if one || y.is_zero() {
        let below_one = (x.exp() as i32) < BIAS;
        return F80::zero(y.sign() ^ (below_one && !one));
    }
    // Powers of two give exact products y·k.
    if x.m == 1 << 63 && !xd {
        let k = x.exp() as i64 - BIAS as i64;
        let kv = from_int(k);
        return arith(c, Ar::Mul, Opnd::reg(y), Opnd::reg(kv), &EXT);
    }
    log2(x).mul(Bf::of(y)).round(c)
}

fn yl2xp1(c: &mut Ctx, x: F80, y: F80) -> F80 {
    if x.is_unsupported() || y.is_unsupported() {
        return c.invalid();
    }
    if x.is_nan() || y.is_nan() {
        return prop_nan(c, x, y);
    }
    let (xd, yd) = (x.is_denormal(), y.is_denormal());
    if x.is_zero() {
        if y.is_inf() {
            return c.invalid();
        }
        if yd {
            c.raise(DE);
        }
        return F80::zero(x.sign() ^ y.sign());
    }
    if x.is_inf() {
        // Outside the domain: +∞ behaves as log2(∞); −∞ is invalid.
        if y.is_zero() || x.sign() {
            return c.invalid();
        }
        // As in FYL2X (log2(+∞)·y): a denormal y raises DE; an invalid operation
        // above takes precedence over it (SDM Vol. 1 §4.9.2).
        if yd {
            c.raise(DE);
        }
        return F80::inf(y.sign());
    }
    if y.is_inf() {
        if xd {
            c.raise(DE);
        }
        return F80::inf(y.sign() ^ x.sign());
    }
    if xd || yd {
        c.raise(DE);
    }
    if y.is_zero() {
        return F80::zero(x.sign() ^ y.sign());
    }
    // When 1 + x is a power of two the result is exactly y·log2(1 + x) = y·k.
    let mut t = Ctx::new(0x037F);
    let sum = arith(&mut t, Ar::Add, Opnd::reg(x), Opnd::reg(F80::ONE), &EXT);
    if t.ex == 0 && sum.m == 1 << 63 && !sum.sign() && sum.exp() != 0 {
        let k = from_int(sum.exp() as i64 - BIAS as i64);
        return arith(c, Ar::Mul, Opnd::reg(y), Opnd::reg(k), &EXT);
    }
    let bx = Bf::of(x);
    if bx.ilog2() < -1 {
        return ln1p(bx).mul(LOG2E).mul(Bf::of(y)).round(c);
    }
    // Beyond FYL2XP1's domain (|x| < 1 − √2/2) the P6 microcode still gives
    // log2(1 + x)·y for x > −1; for x ≤ −1 it returns x, flagged inexact.
    let s = Bf::int(1).add(bx);
    if s.is_zero() || s.neg {
        c.raise(PE);
        return x;
    }
    ln(s).mul(LOG2E).mul(Bf::of(y)).round(c)
}

fn patan(c: &mut Ctx, x: F80, y: F80) -> F80 {
    if x.is_unsupported() || y.is_unsupported() {
        return c.invalid();
    }
    if x.is_nan() || y.is_nan() {
        return prop_nan(c, x, y);
    }
    let (xd, yd) = (x.is_denormal(), y.is_denormal());
    if xd || yd {
        c.raise(DE);
    }
    let sy = y.sign();
    let with_sign = |v: Bf| if sy { v.neg() } else { v };
    if y.is_zero() {
        return if x.sign() {
            with_sign(PI).round(c)
        } else {
            F80::zero(sy)
        };
    }
    if y.is_inf() {
        let v = if x.is_inf() {
            if x.sign() {
                PI3_4
            } else {
                PI_4
            }
        } else {
            PI_2
        };
        return with_sign(v).round(c);
    }
    if x.is_inf() {
        return if x.sign() {
            with_sign(PI).round(c)
        } else {
            F80::zero(sy)
        };
    }
    if x.is_zero() {
        return with_sign(PI_2).round(c);
    }
    let (bx, by) = (Bf::of(x).abs(), Bf::of(y).abs());
    let swap = (by.e, by.m) > (bx.e, bx.m);
    let t = if swap { bx.div(by) } else { by.div(bx) };
    let mut a = atan01(t);
    if swap {
        a = PI_2.sub(a);
    }
    if x.sign() {
        a = PI.sub(a);
    }
    with_sign(a).round(c)
}

/// Whether FSIN/FCOS/FPTAN/FSINCOS accept the operand (|x| < 2^63); C2 is set otherwise.
fn in_range(x: F80) -> bool {
    !(x.is_finite_nonzero() && x.exp() as i32 >= BIAS + 63)
}

/// sin, cos or tan of a finite nonzero x in range.
fn trig(c: &mut Ctx, x: F80, op: Op) -> (F80, F80) {
    let (q, r) = reduce(x);
    let (s, co) = sin_cos(r);
    let (sin, cos) = match q {
        0 => (s, co),
        1 => (co, s.neg()),
        2 => (s.neg(), co.neg()),
        _ => (co.neg(), s),
    };
    match op {
        Op::Sin => (sin.round(c), F80::ZERO),
        Op::Cos => (cos.round(c), F80::ZERO),
        Op::Ptan => (sin.div(cos).round(c), F80::ZERO),
        _ => {
            // FSINCOS: both results rounded; C1 reports either rounding up.
            let sv = sin.round(c);
            let cv = cos.round(c);
            (sv, cv)
        }
    }
}

/// Executes one transcendental instruction on the register stack.
pub(crate) fn exec(f: &mut Fpu, op: Op) {
    match op {
        Op::F2xm1 => {
            if f.is_empty(0) {
                if f.underflow() {
                    f.set_st(0, F80::INDEFINITE);
                }
                return;
            }
            let mut c = f.ctx();
            let r = f2xm1(&mut c, f.st(0));
            if f.signal(c.ex, false) {
                f.set_st(0, r);
            }
        }
        Op::Yl2x | Op::Yl2xp1 | Op::Patan => {
            if f.is_empty(0) || f.is_empty(1) {
                if f.underflow() {
                    f.set_st(1, F80::INDEFINITE);
                    f.pop();
                }
                return;
            }
            let mut c = f.ctx();
            let (x, y) = (f.st(0), f.st(1));
            let r = match op {
                Op::Yl2x => yl2x(&mut c, x, y),
                Op::Yl2xp1 => yl2xp1(&mut c, x, y),
                _ => patan(&mut c, x, y),
            };
            if f.signal(c.ex, false) {
                f.set_st(1, r);
                f.pop();
            }
        }
        Op::Sin | Op::Cos => {
            f.sw &= !C2;
            if f.is_empty(0) {
                if f.underflow() {
                    f.set_st(0, F80::INDEFINITE);
                }
                return;
            }
            let x = f.st(0);
            let mut c = f.ctx();
            let r = if let Some(r) = unary_special(&mut c, x) {
                r
            } else if x.is_inf() {
                c.invalid()
            } else if !in_range(x) {
                f.sw &= !C1;
                f.sw |= C2;
                return;
            } else if x.is_zero() {
                if op == Op::Sin {
                    x
                } else {
                    F80::ONE
                }
            } else {
                if x.is_denormal() {
                    c.raise(DE);
                }
                trig(&mut c, x, op).0
            };
            if f.signal(c.ex, false) {
                f.set_st(0, r);
            }
        }
        Op::Ptan | Op::Sincos => {
            f.sw &= !C2;
            if f.is_empty(0) || !f.is_empty(7) {
                let masked = if f.is_empty(0) {
                    f.underflow()
                } else {
                    f.overflow()
                };
                if masked {
                    f.set_st(0, F80::INDEFINITE);
                    f.push(F80::INDEFINITE);
                }
                return;
            }
            let x = f.st(0);
            let mut c = f.ctx();
            let (a, b) = if let Some(r) = unary_special(&mut c, x) {
                (r, r)
            } else if x.is_inf() {
                let n = c.invalid();
                (n, n)
            } else if !in_range(x) {
                f.sw &= !C1;
                f.sw |= C2;
                return;
            } else if x.is_zero() {
                // tan ±0 = ±0 (then 1.0); sin ±0 = ±0, cos ±0 = 1.
                (x, F80::ONE)
            } else {
                if x.is_denormal() {
                    c.raise(DE);
                }
                let (a, b) = trig(&mut c, x, op);
                if op == Op::Ptan {
                    (a, F80::ONE)
                } else {
                    (a, b)
                }
            };
            if f.signal(c.ex, false) {
                f.set_st(0, a);
                f.push(b);
            }
        }
        _ => {}
    }
}
