//! IEEE 754 binary32/binary64 arithmetic as the SSE/SSE2 units do it, in software on
//! integer significands (no host floating point, so no host rounding mode, precision or
//! MXCSR can leak in, and every host gives the same bits).
//!
//! The x86 rules on top of IEEE 754 (SDM Vol. 1 §4.8, §4.9, §10.2.3, §11.5, Table 4-7):
//! - MXCSR.RC picks the rounding; MXCSR.DAZ turns denormal *inputs* into zeros of the same
//!   sign without raising DE; MXCSR.FTZ (with UE masked) turns a tiny *result* into a zero
//!   of its sign and raises UE and PE.
//! - Tininess is detected after rounding (the value rounded to the format's precision with
//!   an unbounded exponent is below the smallest normal). With UE masked, UE is raised only
//!   when the tiny result is also inexact; with UE unmasked, on any tiny result.
//! - NaNs: an SNaN is returned quieted; with two NaN operands the first (destination)
//!   operand's wins; an invalid operation on non-NaNs gives the default NaN, the "real
//!   indefinite" FFC00000 / FFF8000000000000 (Table 4-7).
//! - One lane reports its exceptions in the SDM's order of precedence (§4.9.2): an SNaN
//!   operand (IE) beats a QNaN operand (no flag), which beats the other invalid cases and
//!   divide-by-zero, which beat a denormal operand (DE), which beats overflow/underflow and
//!   inexact. So a denormal divided by zero reports only ZE, and QNaN + denormal nothing.
//!
//! Values travel as raw bits in a `u64` (binary32 in the low 32 bits); `Fmt` says which
//! format. `Env` carries the MXCSR controls in and the raised flags out.

/// MXCSR exception flags (bits 0–5); the mask bits are the same shifted left by 7.
pub const IE: u32 = 1 << 0;
pub const DE: u32 = 1 << 1;
pub const ZE: u32 = 1 << 2;
pub const OE: u32 = 1 << 3;
pub const UE: u32 = 1 << 4;
pub const PE: u32 = 1 << 5;
/// The exceptions detected before the computation (SDM Vol. 1 §11.5.1).
pub const PRE: u32 = IE | DE | ZE;

/// MXCSR.RC values.
pub const RC_NEAR: u8 = 0;
pub const RC_DOWN: u8 = 1;
pub const RC_UP: u8 = 2;
pub const RC_ZERO: u8 = 3;

/// The integer indefinite of a float→int32 conversion that overflows or meets a NaN.
pub const INT_INDEFINITE: u32 = 0x8000_0000;

/// A binary interchange format: `frac` stored significand bits, `ebits` exponent bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fmt {
    pub frac: u32,
    pub ebits: u32,
}

/// binary32 (single precision).
pub const S: Fmt = Fmt { frac: 23, ebits: 8 };
/// binary64 (double precision).
pub const D: Fmt = Fmt {
    frac: 52,
    ebits: 11,
};

impl Fmt {
    const fn bias(self) -> i32 {
        (1 << (self.ebits - 1)) - 1
    }
    /// Exponent of the smallest normal.
    const fn emin(self) -> i32 {
        1 - self.bias()
    }
    const fn emax(self) -> i32 {
        self.bias()
    }
    const fn sign_bit(self) -> u64 {
        1 << (self.frac + self.ebits)
    }
    const fn frac_mask(self) -> u64 {
        (1 << self.frac) - 1
    }
    const fn exp_mask(self) -> u64 {
        ((1 << self.ebits) - 1) << self.frac
    }
    const fn qbit(self) -> u64 {
        1 << (self.frac - 1)
    }
    pub const fn sign(self, x: u64) -> bool {
        x & self.sign_bit() != 0
    }
    const fn abs(self, x: u64) -> u64 {
        x & (self.sign_bit() - 1)
    }
    pub const fn is_nan(self, x: u64) -> bool {
        self.abs(x) > self.exp_mask()
    }
    pub const fn is_snan(self, x: u64) -> bool {
        self.is_nan(x) && x & self.qbit() == 0
    }
    pub const fn is_inf(self, x: u64) -> bool {
        self.abs(x) == self.exp_mask()
    }
    pub const fn is_zero(self, x: u64) -> bool {
        self.abs(x) == 0
    }
    pub const fn is_denormal(self, x: u64) -> bool {
        x & self.exp_mask() == 0 && x & self.frac_mask() != 0
    }
    pub const fn quiet(self, x: u64) -> u64 {
        x | self.qbit()
    }
    /// The real indefinite (SDM Vol. 1 Table 4-3): negative, quiet, zero payload.
    pub const fn default_nan(self) -> u64 {
        self.sign_bit() | self.exp_mask() | self.qbit()
    }
    pub const fn zero(self, sign: bool) -> u64 {
        if sign {
            self.sign_bit()
        } else {
            0
        }
    }
    pub const fn inf(self, sign: bool) -> u64 {
        self.zero(sign) | self.exp_mask()
    }
    const fn max_finite(self, sign: bool) -> u64 {
        self.inf(sign) - 1
    }
    /// A finite value as `(sign, e, m)` with value m × 2^e (m = 0 for zeros).
    const fn unpack(self, x: u64) -> (bool, i32, u64) {
        let be = ((x & self.exp_mask()) >> self.frac) as i32;
        let f = x & self.frac_mask();
        if be == 0 {
            (self.sign(x), self.emin() - self.frac as i32, f)
        } else {
            (
                self.sign(x),
                be - self.bias() - self.frac as i32,
                f | (1 << self.frac),
            )
        }
    }
}

/// The MXCSR controls an operation reads, and the flags it raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Env {
    pub rc: u8,
    pub daz: bool,
    pub ftz: bool,
    /// The exception mask bits (MXCSR 12:7) shifted down to line up with the flags.
    pub masks: u32,
    /// Flags raised so far (MXCSR bit positions 0–5).
    pub flags: u32,
}

impl Env {
    pub const fn new(mxcsr: u32) -> Env {
        Env {
            rc: ((mxcsr >> 13) & 3) as u8,
            daz: mxcsr & (1 << 6) != 0,
            ftz: mxcsr & (1 << 15) != 0,
            masks: (mxcsr >> 7) & 0x3F,
            flags: 0,
        }
    }

    const fn unmasked(&self, f: u32) -> bool {
        self.masks & f == 0
    }
}

/// What an instruction does with the flags its lanes raised (SDM Vol. 1 §11.5.2): if an
/// unmasked pre-computation exception (IE, DE, ZE) occurred in any lane, only those
/// flags are recorded; otherwise all of them. In both cases `Err` means a SIMD
/// floating-point exception is delivered and *no* lane of the destination is written
/// (masked lanes included); `Ok` means write the results and OR the flags into MXCSR.
pub fn settle(masks: u32, flags: u32) -> Result<u32, u32> {
    let unmasked = flags & !masks & 0x3F;
    if unmasked & PRE != 0 {
        Err(flags & PRE)
    } else if unmasked != 0 {
        Err(flags)
    } else {
        Ok(flags)
    }
}

/// An operand after DAZ, and whether it is a denormal that raises DE if it is used.
fn input(env: &Env, f: Fmt, x: u64) -> (u64, bool) {
    if f.is_denormal(x) {
        if env.daz {
            (x & f.sign_bit(), false)
        } else {
            (x, true)
        }
    } else {
        (x, false)
    }
}

/// The NaN result of a two-operand operation if either operand is a NaN (Table 4-7):
/// the first operand if it is a NaN, else the second, quieted; IE if either is an SNaN.
fn nan2(env: &mut Env, f: Fmt, a: u64, b: u64) -> Option<u64> {
    let (an, bn) = (f.is_nan(a), f.is_nan(b));
    if !an && !bn {
        return None;
    }
    if f.is_snan(a) || f.is_snan(b) {
        env.flags |= IE;
    }
    Some(f.quiet(if an { a } else { b }))
}

/// `m >> sh` rounded under `rc` for a value of sign `sign`; `sh <= 0` shifts left
/// exactly. Returns the rounded integer and whether bits were lost.
fn shift_round(m: u128, sh: i32, sign: bool, rc: u8) -> (u128, bool) {
    if sh <= 0 {
        return (m << (-sh) as u32, false);
    }
    let sh = sh as u32;
    let (q, rem) = if sh >= 128 {
        (0, m)
    } else {
        (m >> sh, m & ((1u128 << sh) - 1))
    };
    if rem == 0 {
        return (q, false);
    }
    let up = match rc {
        RC_NEAR => {
            if sh > 128 {
                false // rem < 2^128 ≤ half
            } else {
                let half = 1u128 << (sh - 1);
                rem > half || (rem == half && q & 1 == 1)
            }
        }
        RC_DOWN => sign,
        RC_UP => !sign,
        _ => false,
    };
    (q + up as u128, true)
}

/// `m >> n` with every bit shifted out ORed into bit 0 ("jamming"), so later rounding
/// still sees that the value was inexact.
fn shr_jam(m: u128, n: u32) -> u128 {
    if n == 0 {
        m
    } else if n >= 128 {
        (m != 0) as u128
    } else {
        (m >> n) | ((m & ((1u128 << n) - 1) != 0) as u128)
    }
}

/// Rounds the nonzero value (−1)^sign × m × 2^e to format `f`, raising OE, UE and PE
/// and applying FTZ as the SSE units do.
fn round(env: &mut Env, f: Fmt, sign: bool, e: i32, m: u128) -> u64 {
    debug_assert!(m != 0);
    let p = f.frac + 1;
    let n = 128 - m.leading_zeros();
    // Exponent of the leading bit: the value lies in [2^top, 2^(top+1)).
    let top = e + n as i32 - 1;
    let emin = f.emin();
    // Tininess after rounding: the value rounded to p bits with an unbounded exponent is
    // still below 2^emin. Only a value just below 2^emin can round up out of it.
    let tiny = top < emin
        && !(top == emin - 1 && n > p && shift_round(m, (n - p) as i32, sign, env.rc).0 >> p != 0);
    // The exponent of the result's last place: p bits below a normal's leading bit, or the
    // fixed quantum 2^(emin − frac) of the denormals.
    let lsb = top.max(emin) - f.frac as i32;
    let (mut q, inexact) = shift_round(m, lsb - e, sign, env.rc);
    let mut lead = lsb + f.frac as i32;
    if q >> p != 0 {
        // Rounding carried into a new leading bit: q = 2^p.
        q >>= 1;
        lead += 1;
    }
    let sbit = f.zero(sign);
    if lead > f.emax() {
        env.flags |= OE | PE;
        if env.unmasked(OE) {
            // No result is stored (§11.5.2); report the overflow and its inexactness.
            return f.inf(sign);
        }
        // Masked response (SDM Vol. 1 §4.9.1.4): ∞ or the largest finite value, by
        // whether the rounding direction points away from zero.
        let to_inf = match env.rc {
            RC_NEAR => true,
            RC_DOWN => sign,
            RC_UP => !sign,
            _ => false,
        };
        return if to_inf {
            f.inf(sign)
        } else {
            f.max_finite(sign)
        };
    }
    if tiny {
        if env.unmasked(UE) {
            env.flags |= UE | if inexact { PE } else { 0 };
        } else if env.ftz {
            env.flags |= UE | PE;
            return sbit;
        } else if inexact {
            env.flags |= UE | PE;
        }
    } else if inexact {
        env.flags |= PE;
    }
    let q = q as u64;
    if q >> f.frac == 0 {
        // Denormal (or zero, when a tiny value rounded away to nothing).
        sbit | q
    } else {
        sbit | (((lead + f.bias()) as u64) << f.frac) | (q & f.frac_mask())
    }
}

/// The sign of an exact zero sum of operands with different signs (IEEE 754 §6.3): −0
/// when rounding down, +0 otherwise.
fn zero_sum_sign(env: &Env) -> bool {
    env.rc == RC_DOWN
}

/// `a + b` (or `a − b` with `neg`): ADDPS/ADDSS/ADDPD/ADDSD, SUB….
fn add_sub(env: &mut Env, f: Fmt, a: u64, b: u64, neg: bool) -> u64 {
    let (a, da) = input(env, f, a);
    let (b, db) = input(env, f, b);
    if let Some(r) = nan2(env, f, a, b) {
        return r;
    }
    let b = if neg { b ^ f.sign_bit() } else { b };
    let (sa, sb) = (f.sign(a), f.sign(b));
    if f.is_inf(a) && f.is_inf(b) && sa != sb {
        env.flags |= IE;
        return f.default_nan();
    }
    if da || db {
        env.flags |= DE;
    }
    if f.is_inf(a) {
        return a;
    }
    if f.is_inf(b) {
        return b;
    }
    let (_, ea, ma) = f.unpack(a);
    let (_, eb, mb) = f.unpack(b);
    if ma == 0 && mb == 0 {
        return f.zero(if sa == sb { sa } else { zero_sum_sign(env) });
    }
    // The operand with the larger exponent goes 64 bits up; the other is aligned to it,
    // jamming what falls off. With that many guard bits the sum rounds as the infinitely
    // precise one would: bits are lost only when the exponents differ by more than 64,
    // and then cancellation removes at most one leading bit. (A zero has the smallest
    // exponent, so it is always the one aligned.)
    const G: u32 = 64;
    let (e, xa, xb) = if ea >= eb {
        let d = (ea - eb) as u32;
        (
            ea - G as i32,
            (ma as u128) << G,
            shr_jam((mb as u128) << G, d),
        )
    } else {
        let d = (eb - ea) as u32;
        (
            eb - G as i32,
            shr_jam((ma as u128) << G, d),
            (mb as u128) << G,
        )
    };
    let (sign, m) = if sa == sb {
        (sa, xa + xb)
    } else if xa >= xb {
        (sa, xa - xb)
    } else {
        (sb, xb - xa)
    };
    if m == 0 {
        return f.zero(zero_sum_sign(env));
    }
    round(env, f, sign, e, m)
}

pub fn add(env: &mut Env, f: Fmt, a: u64, b: u64) -> u64 {
    add_sub(env, f, a, b, false)
}

pub fn sub(env: &mut Env, f: Fmt, a: u64, b: u64) -> u64 {
    add_sub(env, f, a, b, true)
}

/// `a × b`: MULPS/MULSS/MULPD/MULSD. The product of two significands (≤ 106 bits) is
/// exact in a u128 and rounded once.
pub fn mul(env: &mut Env, f: Fmt, a: u64, b: u64) -> u64 {
    let (a, da) = input(env, f, a);
    let (b, db) = input(env, f, b);
    if let Some(r) = nan2(env, f, a, b) {
        return r;
    }
    let sign = f.sign(a) != f.sign(b);
    if (f.is_inf(a) && f.is_zero(b)) || (f.is_zero(a) && f.is_inf(b)) {
        env.flags |= IE;
        return f.default_nan();
    }
    if da || db {
        env.flags |= DE;
    }
    if f.is_inf(a) || f.is_inf(b) {
        return f.inf(sign);
    }
    if f.is_zero(a) || f.is_zero(b) {
        return f.zero(sign);
    }
    let (_, ea, ma) = f.unpack(a);
    let (_, eb, mb) = f.unpack(b);
    round(env, f, sign, ea + eb, ma as u128 * mb as u128)
}

/// `a ÷ b`: DIVPS/DIVSS/DIVPD/DIVSD.
pub fn div(env: &mut Env, f: Fmt, a: u64, b: u64) -> u64 {
    let (a, da) = input(env, f, a);
    let (b, db) = input(env, f, b);
    if let Some(r) = nan2(env, f, a, b) {
        return r;
    }
    let sign = f.sign(a) != f.sign(b);
    if (f.is_inf(a) && f.is_inf(b)) || (f.is_zero(a) && f.is_zero(b)) {
        env.flags |= IE;
        return f.default_nan();
    }
    if f.is_zero(b) && !f.is_inf(a) {
        // Divide-by-zero outranks the denormal operand (§4.9.2).
        env.flags |= ZE;
        return f.inf(sign);
    }
    if da || db {
        env.flags |= DE;
    }
    if f.is_inf(a) || f.is_zero(b) {
        return f.inf(sign);
    }
    if f.is_zero(a) || f.is_inf(b) {
        return f.zero(sign);
    }
    let (_, ea, ma) = f.unpack(a);
    let (_, eb, mb) = f.unpack(b);
    // Both significands normalised to [2^63, 2^64); the quotient of (ma << 64) / mb then
    // has 64 or 65 bits, far more than 53 + 2, and a nonzero remainder is jammed into
    // its last bit.
    let (za, zb) = (ma.leading_zeros(), mb.leading_zeros());
    let (na, nb) = ((ma as u128) << za, (mb as u128) << zb);
    let num = na << 64;
    let q = num / nb;
    let q = q | !num.is_multiple_of(nb) as u128;
    let e = (ea - za as i32) - (eb - zb as i32) - 64;
    round(env, f, sign, e, q)
}

/// ⌊√m⌋ and whether a remainder was left, bit by bit.
fn isqrt(m: u128) -> (u128, bool) {
    let mut rem = m;
    let mut root: u128 = 0;
    let mut bit: u128 = 1 << 126;
    while bit > m {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    (root, rem != 0)
}

/// √a: SQRTPS/SQRTSS/SQRTPD/SQRTSD. √−0 = −0; any other negative operand is invalid.
pub fn sqrt(env: &mut Env, f: Fmt, a: u64) -> u64 {
    let (a, da) = input(env, f, a);
    if f.is_nan(a) {
        if f.is_snan(a) {
            env.flags |= IE;
        }
        return f.quiet(a);
    }
    if f.is_zero(a) {
        return a;
    }
    if f.sign(a) {
        env.flags |= IE;
        return f.default_nan();
    }
    if da {
        env.flags |= DE;
    }
    if f.is_inf(a) {
        return a;
    }
    let (_, mut e, m) = f.unpack(a);
    let mut m = m as u128;
    if e & 1 != 0 {
        m <<= 1;
        e -= 1;
    }
    // Scale by an even power of two so the root has ~63 bits; jam the remainder.
    let k = (126 - (127 - m.leading_zeros())) & !1;
    let (r, inexact) = isqrt(m << k);
    round(env, f, false, (e - k as i32) / 2, r | inexact as u128)
}

/// The ordering of two non-NaN values: −1, 0 or 1 (±0 equal).
fn order(f: Fmt, a: u64, b: u64) -> i32 {
    let key = |x: u64| -> i128 {
        let m = f.abs(x) as i128;
        if f.sign(x) {
            -m
        } else {
            m
        }
    };
    match key(a).cmp(&key(b)) {
        core::cmp::Ordering::Less => -1,
        core::cmp::Ordering::Equal => 0,
        core::cmp::Ordering::Greater => 1,
    }
}

/// MINPS/MAXPS/…: `a` if it is strictly smaller (larger) than `b`, else `b`. So a NaN in
/// either operand, or two zeros of any sign, give the second operand, and a NaN raises
/// IE even when quiet (SDM Vol. 2 MINPS "Operation", "SIMD Floating-Point Exceptions").
fn min_max(env: &mut Env, f: Fmt, a: u64, b: u64, max: bool) -> u64 {
    let (a, da) = input(env, f, a);
    let (b, db) = input(env, f, b);
    if f.is_nan(a) || f.is_nan(b) {
        env.flags |= IE;
        return b;
    }
    if da || db {
        env.flags |= DE;
    }
    let o = order(f, a, b);
    if (max && o > 0) || (!max && o < 0) {
        a
    } else {
        b
    }
}

pub fn min(env: &mut Env, f: Fmt, a: u64, b: u64) -> u64 {
    min_max(env, f, a, b, false)
}

pub fn max(env: &mut Env, f: Fmt, a: u64, b: u64) -> u64 {
    min_max(env, f, a, b, true)
}

/// The relation of two operands after IE/DE: `None` when unordered. `signaling` makes a
/// QNaN raise IE too (the LT/LE/NLT/NLE predicates and COMIS*); an SNaN always does.
fn compare(env: &mut Env, f: Fmt, a: u64, b: u64, signaling: bool) -> Option<i32> {
    let (a, da) = input(env, f, a);
    let (b, db) = input(env, f, b);
    if f.is_nan(a) || f.is_nan(b) {
        if signaling || f.is_snan(a) || f.is_snan(b) {
            env.flags |= IE;
        }
        return None;
    }
    if da || db {
        env.flags |= DE;
    }
    Some(order(f, a, b))
}

/// CMPPS/CMPSS/CMPPD/CMPSD predicate `imm & 7` (EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD;
/// SDM Vol. 2 CMPPS Table 3-1): true when the relation holds.
pub fn cmp(env: &mut Env, f: Fmt, a: u64, b: u64, pred: u8) -> bool {
    let pred = pred & 7;
    let signaling = matches!(pred, 1 | 2 | 5 | 6);
    let o = compare(env, f, a, b, signaling);
    match (pred, o) {
        (0, Some(o)) => o == 0,
        (1, Some(o)) => o < 0,
        (2, Some(o)) => o <= 0,
        (3, o) => o.is_none(),
        (4, Some(o)) => o != 0,
        (5, Some(o)) => o >= 0,
        (6, Some(o)) => o > 0,
        (7, o) => o.is_some(),
        // Unordered: EQ/LT/LE false, NEQ/NLT/NLE true.
        (p, None) => p >= 4,
        _ => false,
    }
}

/// COMISS/COMISD (`signaling`) and UCOMISS/UCOMISD: the relation as (ZF, PF, CF):
/// unordered 1,1,1; greater 0,0,0; less 0,0,1; equal 1,0,0 (SDM Vol. 2 COMISS).
pub fn comi(env: &mut Env, f: Fmt, a: u64, b: u64, signaling: bool) -> (bool, bool, bool) {
    match compare(env, f, a, b, signaling) {
        None => (true, true, true),
        Some(o) if o > 0 => (false, false, false),
        Some(o) if o < 0 => (false, false, true),
        Some(_) => (true, false, false),
    }
}

/// CVTSS2SD/CVTPS2PD: exact, but a NaN keeps its payload in the top fraction bits, an
/// SNaN is quieted with IE, and a denormal raises DE (or is a zero under DAZ).
pub fn s_to_d(env: &mut Env, a: u32) -> u64 {
    let (a, da) = input(env, S, a as u64);
    let sign = S.sign(a);
    if S.is_nan(a) {
        if S.is_snan(a) {
            env.flags |= IE;
        }
        return D.quiet(D.inf(sign) | ((a & S.frac_mask()) << (D.frac - S.frac)));
    }
    if S.is_inf(a) {
        return D.inf(sign);
    }
    if S.is_zero(a) {
        return D.zero(sign);
    }
    if da {
        env.flags |= DE;
    }
    let (_, e, m) = S.unpack(a);
    round(env, D, sign, e, m as u128)
}

/// CVTSD2SS/CVTPD2PS: rounded under RC, with overflow, underflow and FTZ; a NaN keeps
/// the top of its payload.
pub fn d_to_s(env: &mut Env, a: u64) -> u32 {
    let (a, da) = input(env, D, a);
    let sign = D.sign(a);
    let r = if D.is_nan(a) {
        if D.is_snan(a) {
            env.flags |= IE;
        }
        S.quiet(S.inf(sign) | ((a & D.frac_mask()) >> (D.frac - S.frac)))
    } else if D.is_inf(a) {
        S.inf(sign)
    } else if D.is_zero(a) {
        S.zero(sign)
    } else {
        if da {
            env.flags |= DE;
        }
        let (_, e, m) = D.unpack(a);
        round(env, S, sign, e, m as u128)
    };
    r as u32
}

/// CVTSS2SI/CVTSD2SI/CVTPS2DQ/… (`trunc` false: round under RC) and the truncating
/// CVTT* forms. A NaN, ∞ or a value outside the int32 range gives the integer
/// indefinite 80000000h with IE; otherwise PE if inexact. These forms list no denormal
/// exception (SDM Vol. 2 CVTSS2SI "SIMD Floating-Point Exceptions": Invalid, Precision).
pub fn to_i32(env: &mut Env, f: Fmt, a: u64, trunc: bool) -> u32 {
    let (a, _) = input(env, f, a);
    if f.is_nan(a) || f.is_inf(a) {
        env.flags |= IE;
        return INT_INDEFINITE;
    }
    let (sign, e, m) = f.unpack(a);
    if m == 0 {
        return 0;
    }
    // Anything at or above 2^63 is out of range anyway; keep the shift small.
    if e > 40 {
        env.flags |= IE;
        return INT_INDEFINITE;
    }
    let rc = if trunc { RC_ZERO } else { env.rc };
    let (q, inexact) = shift_round(m as u128, -e, sign, rc);
    let limit = if sign { 1u128 << 31 } else { (1u128 << 31) - 1 };
    if q > limit {
        env.flags |= IE;
        return INT_INDEFINITE;
    }
    if inexact {
        env.flags |= PE;
    }
    if sign {
        (q as u32).wrapping_neg()
    } else {
        q as u32
    }
}

/// CVTSI2SS/CVTPI2PS/CVTDQ2PS (`S`, rounded under RC, PE if inexact) and
/// CVTSI2SD/CVTPI2PD/CVTDQ2PD (`D`, always exact).
pub fn from_i32(env: &mut Env, f: Fmt, v: i32) -> u64 {
    if v == 0 {
        return 0;
    }
    round(env, f, v < 0, 0, v.unsigned_abs() as u128)
}

/// The significand (24 bits, leading one set) and exponent of a normal binary32 x as
/// x = m × 2^e.
fn norm_s(x: u32) -> (u128, i32) {
    let (_, e, m) = S.unpack(x as u64);
    (m as u128, e)
}

/// A value computed to ~60 bits (the last one jammed) rounded to nearest binary32, with
/// no flags and no FTZ: the approximation instructions report nothing.
fn round_quiet(sign: bool, e: i32, m: u128) -> u32 {
    let mut env = Env::new(0x1F80);
    round(&mut env, S, sign, e, m) as u32
}

/// RCPPS/RCPSS: an approximation of 1/x. The SDM allows a relative error up to
/// 1.5 × 2^-12 and real parts differ in the bits; this gives the correctly rounded
/// quotient, which is within any such bound and the same on every host. ±0 and
/// denormals give ±∞ (denormal inputs are always treated as zeros here), ±∞ gives ±0,
/// a NaN comes back quieted, and a result that would be tiny (|x| > 2^126) is flushed
/// to a zero of x's sign (SDM Vol. 2 RCPSS). No flags.
pub fn rcp(a: u32) -> u32 {
    let x = a as u64;
    let sign = S.sign(x);
    if S.is_nan(x) {
        return S.quiet(x) as u32;
    }
    if S.is_zero(x) || S.is_denormal(x) {
        return S.inf(sign) as u32;
    }
    if S.is_inf(x) {
        return S.zero(sign) as u32;
    }
    let (m, e) = norm_s(a);
    // |x| = m × 2^e with m in [2^23, 2^24). 1/|x| = (2^87 / m) × 2^(-87 - e).
    let num = 1u128 << 87;
    let q = (num / m) | !num.is_multiple_of(m) as u128;
    let re = -87 - e;
    // 1/|x| < 2^-126 exactly when |x| > 2^126: the result would be a denormal.
    if re + (127 - q.leading_zeros() as i32) < -126 {
        return S.zero(sign) as u32;
    }
    round_quiet(sign, re, q)
}

/// RSQRTPS/RSQRTSS: an approximation of 1/√x, with the same reasoning as `rcp`: ±0 and
/// denormals give ±∞, +∞ gives +0, a negative operand the default NaN, a NaN comes back
/// quieted. No flags.
pub fn rsqrt(a: u32) -> u32 {
    let x = a as u64;
    let sign = S.sign(x);
    if S.is_nan(x) {
        return S.quiet(x) as u32;
    }
    if S.is_zero(x) || S.is_denormal(x) {
        return S.inf(sign) as u32;
    }
    if sign {
        return S.default_nan() as u32;
    }
    if S.is_inf(x) {
        return 0;
    }
    let (mut m, mut e) = norm_s(a);
    if e & 1 != 0 {
        m <<= 1;
        e -= 1;
    }
    // √(m × 2^80) = s with s ≈ 2^52..2^53 (⌊ ⌋ plus a jammed bit); then
    // 1/√x = 2^(40 − e/2) / s = (2^120 / s) × 2^(-80 − e/2).
    let (s, inexact) = isqrt(m << 80);
    let s = s | inexact as u128;
    let num = 1u128 << 120;
    let q = (num / s) | !num.is_multiple_of(s) as u128;
    round_quiet(false, -80 - e / 2, q)
}

#[cfg(test)]
mod tests;
