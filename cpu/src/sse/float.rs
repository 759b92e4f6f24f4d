//! The floating-point half of SSE and SSE2 (SDM Vol. 1 §10.4, §11.4; Vol. 2 pages of
//! each instruction): packed/scalar single (PS/SS) and double (PD/SD) arithmetic,
//! MIN/MAX, SQRT, the RCP/RSQRT approximations, CMPxx with its eight predicates,
//! (U)COMISS/(U)COMISD, and every CVT* between int32, binary32 and binary64.
//!
//! - The lane arithmetic is `softfloat` (bit-exact, under MXCSR's RC/FTZ/DAZ); this file
//!   picks the lanes, reads the operands and writes the results.
//! - A packed form computes every lane, then settles the flags of all lanes as SDM
//!   Vol. 1 §11.5.2 says: with an unmasked exception nothing is written and #XM (or #UD
//!   with CR4.OSXMMEXCPT = 0) is raised, with the pre-computation flags only if one of
//!   those (IE/DE/ZE) was unmasked (`softfloat::settle`).
//! - Forms that name an MMX register (CVTPI2PS/CVTPI2PD mm, CVT(T)PS2PI, CVT(T)PD2PI)
//!   report a pending x87 exception first and make the x87→MMX transition (TOP = 0, all
//!   tags valid) when they complete. CVTPI2PS with an m64 source makes it too, as its SDM
//!   page says for every operand; CVTPI2PD with an m64 source does not (its page
//!   excepts that form).
//! - A packed m128 source must be 16-byte aligned (#GP(0)); scalar and m64 sources need
//!   not be.

use super::has_mm;
use super::softfloat::{self as sf, Env, Fmt, D, S};
use crate::decode::{Entry, Loc};
use crate::regs::{AF, CF, OF, PF, SF, ZF};
use crate::{Bus, Cpu, Exc, Res};
use iced_x86::{Code, Instruction};

/// The lane layout of an arithmetic form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Four binary32 lanes.
    Ps,
    /// Lane 0 of four; lanes 1–3 of the destination kept.
    Ss,
    /// Two binary64 lanes.
    Pd,
    /// Lane 0 of two; lane 1 of the destination kept.
    Sd,
}

impl Shape {
    /// (format, lanes computed, lane width in bits).
    const fn lanes(self) -> (Fmt, u32, u32) {
        match self {
            Shape::Ps => (S, 4, 32),
            Shape::Ss => (S, 1, 32),
            Shape::Pd => (D, 2, 64),
            Shape::Sd => (D, 1, 64),
        }
    }
}

/// A lane operation `dst ← f(dst, src)` (or `f(src)` for the unary ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ar {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Sqrt,
    Rcp,
    Rsqrt,
    /// CMPxx: all ones when the imm8 predicate holds, else zero.
    Cmp,
}

/// A lane type of a conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    I32,
    F32,
    F64,
}

impl Lane {
    const fn bits(self) -> u32 {
        match self {
            Lane::I32 | Lane::F32 => 32,
            Lane::F64 => 64,
        }
    }
}

/// A conversion of the low `n` lanes of the source. The result goes to the low lanes of
/// an XMM destination (the rest kept, or zeroed with `zero_upper`), or to an MMX or
/// general register as the entry's destination says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv {
    pub from: Lane,
    pub to: Lane,
    pub n: u8,
    /// Float→int: truncate (CVTT*) instead of rounding under MXCSR.RC.
    pub trunc: bool,
    pub zero_upper: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Ud,
    Arith(Ar, Shape),
    /// COMISS/COMISD (`signaling`: IE on any NaN) and UCOMISS/UCOMISD (IE on SNaN only).
    Comi {
        double: bool,
        signaling: bool,
    },
    Cvt(Conv),
}

const BASE: usize = Code::Cvtpi2ps_xmm_mmm64 as usize;
const N: usize = Code::Cvtpd2dq_xmm_xmmm128 as usize - BASE + 1;

const fn conv(from: Lane, to: Lane, n: u8, trunc: bool, zero_upper: bool) -> Op {
    Op::Cvt(Conv {
        from,
        to,
        n,
        trunc,
        zero_upper,
    })
}

const fn build() -> [Op; N] {
    use Ar::*;
    use Lane::{F32, F64, I32};
    use Shape::*;
    let mut t = [Op::Ud; N];
    macro_rules! set {
        ($code:ident, $v:expr) => {
            t[Code::$code as usize - BASE] = $v;
        };
    }
    macro_rules! arith {
        ($op:expr, $ps:ident, $ss:ident, $pd:ident, $sd:ident) => {
            set!($ps, Op::Arith($op, Ps));
            set!($ss, Op::Arith($op, Ss));
            set!($pd, Op::Arith($op, Pd));
            set!($sd, Op::Arith($op, Sd));
        };
    }
    // 0F 2A: integer → float.
    set!(Cvtpi2ps_xmm_mmm64, conv(I32, F32, 2, false, false));
    set!(Cvtpi2pd_xmm_mmm64, conv(I32, F64, 2, false, false));
    set!(Cvtsi2ss_xmm_rm32, conv(I32, F32, 1, false, false));
    set!(Cvtsi2sd_xmm_rm32, conv(I32, F64, 1, false, false));
    // 0F 2C/2D: float → integer, truncated or rounded under RC.
    set!(Cvttps2pi_mm_xmmm64, conv(F32, I32, 2, true, false));
    set!(Cvttpd2pi_mm_xmmm128, conv(F64, I32, 2, true, false));
    set!(Cvttss2si_r32_xmmm32, conv(F32, I32, 1, true, false));
    set!(Cvttsd2si_r32_xmmm64, conv(F64, I32, 1, true, false));
    set!(Cvtps2pi_mm_xmmm64, conv(F32, I32, 2, false, false));
    set!(Cvtpd2pi_mm_xmmm128, conv(F64, I32, 2, false, false));
    set!(Cvtss2si_r32_xmmm32, conv(F32, I32, 1, false, false));
    set!(Cvtsd2si_r32_xmmm64, conv(F64, I32, 1, false, false));
    // 0F 2E/2F.
    set!(
        Ucomiss_xmm_xmmm32,
        Op::Comi {
            double: false,
            signaling: false
        }
    );
    set!(
        Ucomisd_xmm_xmmm64,
        Op::Comi {
            double: true,
            signaling: false
        }
    );
    set!(
        Comiss_xmm_xmmm32,
        Op::Comi {
            double: false,
            signaling: true
        }
    );
    set!(
        Comisd_xmm_xmmm64,
        Op::Comi {
            double: true,
            signaling: true
        }
    );
    // 0F 51–53.
    arith!(
        Sqrt,
        Sqrtps_xmm_xmmm128,
        Sqrtss_xmm_xmmm32,
        Sqrtpd_xmm_xmmm128,
        Sqrtsd_xmm_xmmm64
    );
    set!(Rsqrtps_xmm_xmmm128, Op::Arith(Rsqrt, Ps));
    set!(Rsqrtss_xmm_xmmm32, Op::Arith(Rsqrt, Ss));
    set!(Rcpps_xmm_xmmm128, Op::Arith(Rcp, Ps));
    set!(Rcpss_xmm_xmmm32, Op::Arith(Rcp, Ss));
    // 0F 58–5F.
    arith!(
        Add,
        Addps_xmm_xmmm128,
        Addss_xmm_xmmm32,
        Addpd_xmm_xmmm128,
        Addsd_xmm_xmmm64
    );
    arith!(
        Mul,
        Mulps_xmm_xmmm128,
        Mulss_xmm_xmmm32,
        Mulpd_xmm_xmmm128,
        Mulsd_xmm_xmmm64
    );
    set!(Cvtps2pd_xmm_xmmm64, conv(F32, F64, 2, false, false));
    set!(Cvtpd2ps_xmm_xmmm128, conv(F64, F32, 2, false, true));
    set!(Cvtss2sd_xmm_xmmm32, conv(F32, F64, 1, false, false));
    set!(Cvtsd2ss_xmm_xmmm64, conv(F64, F32, 1, false, false));
    set!(Cvtdq2ps_xmm_xmmm128, conv(I32, F32, 4, false, false));
    set!(Cvtps2dq_xmm_xmmm128, conv(F32, I32, 4, false, false));
    set!(Cvttps2dq_xmm_xmmm128, conv(F32, I32, 4, true, false));
    arith!(
        Sub,
        Subps_xmm_xmmm128,
        Subss_xmm_xmmm32,
        Subpd_xmm_xmmm128,
        Subsd_xmm_xmmm64
    );
    arith!(
        Min,
        Minps_xmm_xmmm128,
        Minss_xmm_xmmm32,
        Minpd_xmm_xmmm128,
        Minsd_xmm_xmmm64
    );
    arith!(
        Div,
        Divps_xmm_xmmm128,
        Divss_xmm_xmmm32,
        Divpd_xmm_xmmm128,
        Divsd_xmm_xmmm64
    );
    arith!(
        Max,
        Maxps_xmm_xmmm128,
        Maxss_xmm_xmmm32,
        Maxpd_xmm_xmmm128,
        Maxsd_xmm_xmmm64
    );
    // 0F C2.
    arith!(
        Cmp,
        Cmpps_xmm_xmmm128_imm8,
        Cmpss_xmm_xmmm32_imm8,
        Cmppd_xmm_xmmm128_imm8,
        Cmpsd_xmm_xmmm64_imm8
    );
    // 0F E6: CVTTPD2DQ (66), CVTDQ2PD (F3), CVTPD2DQ (F2).
    set!(Cvttpd2dq_xmm_xmmm128, conv(F64, I32, 2, true, true));
    set!(Cvtdq2pd_xmm_xmmm64, conv(I32, F64, 2, false, false));
    set!(Cvtpd2dq_xmm_xmmm128, conv(F64, I32, 2, false, true));
    t
}

static TABLE: [Op; N] = build();

/// The floating-point form of iced `Code` number `code`; `Op::Ud` for anything else.
pub fn info(code: u32) -> Op {
    (code as usize)
        .checked_sub(BASE)
        .and_then(|i| TABLE.get(i))
        .copied()
        .unwrap_or(Op::Ud)
}

/// Whether the instruction is one of the floating-point forms above.
pub fn is_float(ins: &Instruction) -> bool {
    info(ins.code() as u32) != Op::Ud
}

const fn lane_mask(bits: u32) -> u128 {
    (1u128 << bits) - 1
}

/// One lane of an arithmetic form.
fn lane(env: &mut Env, op: Ar, f: Fmt, a: u64, b: u64, imm: u8) -> u64 {
    match op {
        Ar::Add => sf::add(env, f, a, b),
        Ar::Sub => sf::sub(env, f, a, b),
        Ar::Mul => sf::mul(env, f, a, b),
        Ar::Div => sf::div(env, f, a, b),
        Ar::Min => sf::min(env, f, a, b),
        Ar::Max => sf::max(env, f, a, b),
        Ar::Sqrt => sf::sqrt(env, f, b),
        Ar::Rcp => sf::rcp(b as u32) as u64,
        Ar::Rsqrt => sf::rsqrt(b as u32) as u64,
        Ar::Cmp => {
            if sf::cmp(env, f, a, b, imm) {
                u64::MAX
            } else {
                0
            }
        }
    }
}

/// `dst` with the low `lanes` lanes of `shape` replaced by `op(dst, src)`, and the flags
/// the lanes raised.
pub fn arith(op: Ar, shape: Shape, mxcsr: u32, dst: u128, src: u128, imm: u8) -> (u128, Env) {
    let (f, n, w) = shape.lanes();
    let m = lane_mask(w);
    let mut env = Env::new(mxcsr);
    let r = (0..n).fold(dst, |r, i| {
        let s = i * w;
        let (a, b) = (((dst >> s) & m) as u64, ((src >> s) & m) as u64);
        let v = lane(&mut env, op, f, a, b, imm) as u128 & m;
        (r & !(m << s)) | (v << s)
    });
    (r, env)
}

/// The low `c.n` lanes of `src` converted, packed from bit 0, and the flags raised.
pub fn convert(c: Conv, mxcsr: u32, src: u128) -> (u128, Env) {
    let mut env = Env::new(mxcsr);
    let (iw, ow) = (c.from.bits(), c.to.bits());
    let r = (0..c.n as u32).fold(0u128, |r, i| {
        let x = ((src >> (i * iw)) & lane_mask(iw)) as u64;
        let e = &mut env;
        let y = match (c.from, c.to) {
            (Lane::I32, Lane::F32) => sf::from_i32(e, S, x as u32 as i32),
            (Lane::I32, Lane::F64) => sf::from_i32(e, D, x as u32 as i32),
            (Lane::F32, Lane::I32) => sf::to_i32(e, S, x, c.trunc) as u64,
            (Lane::F64, Lane::I32) => sf::to_i32(e, D, x, c.trunc) as u64,
            (Lane::F32, Lane::F64) => sf::s_to_d(e, x as u32),
            (Lane::F64, Lane::F32) => sf::d_to_s(e, x) as u64,
            _ => x,
        };
        r | ((y as u128 & lane_mask(ow)) << (i * ow))
    });
    (r, env)
}

impl Cpu {
    /// Records the flags of an operation's lanes in MXCSR; `Err` (#XM or #UD) when one
    /// is unmasked, and then the caller writes nothing.
    fn float_flags(&mut self, env: &Env) -> Res<()> {
        let (Ok(f) | Err(f)) = sf::settle(env.masks, env.flags);
        self.xm_exception(f)
    }

    /// Executes one floating-point SSE/SSE2 entry; `e.imm2` holds iced's `Code`.
    pub(crate) fn float_exec<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let op = info(e.imm2);
        if op == Op::Ud {
            return Err(Exc::ud());
        }
        self.sse_enter(e)?;
        // CVTPI2PS xmm, m64 makes the x87→MMX transition like its register form (SDM
        // Vol. 2 CVTPI2PS: "This instruction causes a transition…"), so it also reports a
        // pending x87 exception first. CVTPI2PD's page exempts its m64 form.
        let mmx = has_mm(e) || e.imm2 == Code::Cvtpi2ps_xmm_mmm64 as u32;
        if mmx && !has_mm(e) {
            self.fpu_wait()?;
        }
        // Every m128 operand of these forms must be aligned; smaller ones need not be.
        let src = self.sse_src(bus, e, e.src, true)?;
        match op {
            Op::Ud => return Err(Exc::ud()),
            Op::Arith(a, shape) => {
                let Loc::Xmm(d) = e.dst else {
                    return Err(Exc::ud());
                };
                let d = (d & 7) as usize;
                let (r, env) = arith(a, shape, self.mxcsr, self.xmm[d], src, e.imm as u8);
                self.float_flags(&env)?;
                self.xmm[d] = r;
            }
            Op::Comi { double, signaling } => {
                let Loc::Xmm(d) = e.dst else {
                    return Err(Exc::ud());
                };
                let a = self.xmm[(d & 7) as usize];
                let mut env = Env::new(self.mxcsr);
                let (z, p, c) = if double {
                    sf::comi(&mut env, D, a as u64, src as u64, signaling)
                } else {
                    let m = lane_mask(32);
                    sf::comi(&mut env, S, (a & m) as u64, (src & m) as u64, signaling)
                };
                self.float_flags(&env)?;
                // ZF, PF, CF from the relation; OF, SF and AF cleared.
                let v = if z { ZF } else { 0 } | if p { PF } else { 0 } | if c { CF } else { 0 };
                self.eflags = (self.eflags & !(ZF | PF | CF | OF | SF | AF)) | v;
            }
            Op::Cvt(c) => {
                let (r, env) = convert(c, self.mxcsr, src);
                self.float_flags(&env)?;
                match e.dst {
                    Loc::Xmm(d) => {
                        let d = (d & 7) as usize;
                        let bits = c.n as u32 * c.to.bits();
                        let keep = if c.zero_upper || bits >= 128 {
                            0
                        } else {
                            !lane_mask(bits)
                        };
                        self.xmm[d] = (self.xmm[d] & keep) | r;
                    }
                    Loc::Mm(n) => self.set_mm(n as usize, r as u64),
                    Loc::Reg(g) => self.regs[(g & 7) as usize] = r as u32,
                    _ => return Err(Exc::ud()),
                }
            }
        }
        if mmx {
            self.mmx_enter();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
