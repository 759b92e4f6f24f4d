//! Specialised integer arithmetic and logic (SDM Vol. 2 "ADD", "OR", "ADC", "SBB",
//! "AND", "SUB", "XOR", "CMP", "TEST", "INC", "DEC"): one handler per kind × operand
//! form × size, generated from the generic bodies below. The result and flag rules are
//! those of `alu.rs`, recorded lazily (`flags.rs`), ADC and SBB too; flags are
//! committed only after the last access that can fault, so a faulting instruction
//! leaves them as they were.

use super::table::Sz;
use crate::decode::Entry;
use crate::flags::{self, Lazy};
use crate::{Bus, Cpu, Res};

/// How an ALU kind's flags are committed (after the last access that can fault).
pub(crate) enum Flags {
    /// A lazy record (`flags.rs`): every kind's flags are one now.
    Lazy(Lazy),
}

impl Cpu {
    #[inline(always)]
    pub(crate) fn commit(&mut self, f: Flags) {
        match f {
            // Field by field, and only the fields the kind reads (flags.rs): a logic
            // result needs no operands and only INC/DEC keep a CF; `kind` is a constant
            // in every handler, so the tests fold away.
            Flags::Lazy(l) => {
                self.lazy.kind = l.kind;
                self.lazy.r = l.r;
                if l.kind & flags::OP != flags::LOGIC {
                    self.lazy.a = l.a;
                    self.lazy.b = l.b;
                }
                if l.kind & flags::KEEP_CF != 0 {
                    self.lazy.cf = l.cf;
                }
            }
        }
    }
}

/// The lazy-record size bits of `S`.
#[inline(always)]
pub(crate) fn size_bits<S: Sz>() -> u8 {
    match S::N {
        1 => flags::B8,
        2 => flags::B16,
        _ => flags::B32,
    }
}

#[inline(always)]
fn lazy<S: Sz>(op: u8, a: u32, b: u32, r: u32) -> Flags {
    Flags::Lazy(Lazy {
        kind: op | size_bits::<S>(),
        cf: 0,
        a,
        b,
        r,
    })
}

/// One two-operand ALU kind: its result and flags from (a, b), both masked to the
/// operand size.
pub(crate) trait AluKind {
    /// Whether the result is written back (CMP and TEST only set flags).
    const WRITES: bool;
    fn calc<S: Sz>(c: &Cpu, a: u32, b: u32) -> (u32, Flags);
}

macro_rules! kind {
    ($name:ident, $writes:expr, |$c:ident, $a:ident, $b:ident| $body:expr) => {
        pub(crate) struct $name;
        impl AluKind for $name {
            const WRITES: bool = $writes;
            #[inline(always)]
            fn calc<S: Sz>($c: &Cpu, $a: u32, $b: u32) -> (u32, Flags) {
                $body
            }
        }
    };
}

#[inline(always)]
fn add<S: Sz>(a: u32, b: u32) -> (u32, Flags) {
    let r = a.wrapping_add(b) & S::MASK;
    (r, lazy::<S>(flags::ADD, a, b, r))
}

#[inline(always)]
fn sub<S: Sz>(a: u32, b: u32) -> (u32, Flags) {
    let r = a.wrapping_sub(b) & S::MASK;
    (r, lazy::<S>(flags::SUB, a, b, r))
}

#[inline(always)]
fn logic<S: Sz>(r: u32) -> (u32, Flags) {
    (r, lazy::<S>(flags::LOGIC, 0, 0, r))
}

/// ADC/SBB take CF in, and record their result lazily as an ADD or SUB whose carry out
/// is given (`KEEP_CF`, as INC and DEC do): with a carry in, the carry (borrow) out is
/// `r < a` (`a < b`) or, with CF set, `r == a` (`a == b`), while the record's OF and AF
/// rules hold unchanged for `a + b + CF` and `a - b - CF` (SDM Vol. 2A "ADC", "SBB").
#[inline(always)]
fn with_carry<S: Sz>(c: &Cpu, a: u32, b: u32, add: bool) -> (u32, Flags) {
    let cin = c.cf_now();
    let (op, r, cout) = if add {
        let r = a.wrapping_add(b).wrapping_add(cin) & S::MASK;
        (flags::ADD, r, r < a || (cin != 0 && r == a))
    } else {
        let r = a.wrapping_sub(b).wrapping_sub(cin) & S::MASK;
        (flags::SUB, r, a < b || (cin != 0 && a == b))
    };
    let kind = op | flags::KEEP_CF | size_bits::<S>();
    (
        r,
        Flags::Lazy(Lazy {
            kind,
            cf: cout as u8,
            a,
            b,
            r,
        }),
    )
}

kind!(Add, true, |_c, a, b| add::<S>(a, b));
kind!(Or, true, |_c, a, b| logic::<S>(a | b));
kind!(Adc, true, |c, a, b| with_carry::<S>(c, a, b, true));
kind!(Sbb, true, |c, a, b| with_carry::<S>(c, a, b, false));
kind!(And, true, |_c, a, b| logic::<S>(a & b));
kind!(Sub, true, |_c, a, b| sub::<S>(a, b));
kind!(Xor, true, |_c, a, b| logic::<S>(a ^ b));
kind!(Cmp, false, |_c, a, b| sub::<S>(a, b));
kind!(Test, false, |_c, a, b| logic::<S>(a & b));

/// `op r, r`
#[inline(always)]
pub(crate) fn alu_rr<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let a = S::get(c, e.r0);
    let b = S::get(c, e.r1);
    let (r, f) = K::calc::<S>(c, a, b);
    if K::WRITES {
        S::set(c, e.r0, r);
    }
    c.commit(f);
    Ok(())
}

/// `op r, imm` (the immediate is already sign-extended to the operand size)
#[inline(always)]
pub(crate) fn alu_ri<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let a = S::get(c, e.r0);
    let (r, f) = K::calc::<S>(c, a, e.imm & S::MASK);
    if K::WRITES {
        S::set(c, e.r0, r);
    }
    c.commit(f);
    Ok(())
}

/// `op r, m`
#[inline(always)]
pub(crate) fn alu_rm<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let b = c.rd(bus, e.seg as usize, off, S::N)? & S::MASK;
    let a = S::get(c, e.r0);
    let (r, f) = K::calc::<S>(c, a, b);
    if K::WRITES {
        S::set(c, e.r0, r);
    }
    c.commit(f);
    Ok(())
}

/// `op m, r`
#[inline(always)]
pub(crate) fn alu_mr<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let seg = e.seg as usize;
    let a = c.rd(bus, seg, off, S::N)? & S::MASK;
    let b = S::get(c, e.r1);
    let (r, f) = K::calc::<S>(c, a, b);
    if K::WRITES {
        c.wr(bus, seg, off, S::N, r)?;
    }
    c.commit(f);
    c.leave_if_smc()
}

/// `op m, imm`
#[inline(always)]
pub(crate) fn alu_mi<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let seg = e.seg as usize;
    let a = c.rd(bus, seg, off, S::N)? & S::MASK;
    let (r, f) = K::calc::<S>(c, a, e.imm & S::MASK);
    if K::WRITES {
        c.wr(bus, seg, off, S::N, r)?;
    }
    c.commit(f);
    c.leave_if_smc()
}

/// INC (`op` = ADD) or DEC (`op` = SUB) of `a`: CF is kept (SDM Vol. 2A "INC").
#[inline(always)]
fn inc_dec<S: Sz>(c: &Cpu, op: u8, a: u32) -> (u32, Flags) {
    let r = if op == flags::ADD {
        a.wrapping_add(1)
    } else {
        a.wrapping_sub(1)
    } & S::MASK;
    let l = Lazy {
        kind: op | flags::KEEP_CF | size_bits::<S>(),
        cf: c.cf_now() as u8,
        a,
        b: 1,
        r,
    };
    (r, Flags::Lazy(l))
}

/// `inc r`
#[inline(always)]
pub(crate) fn inc_r<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let (r, f) = inc_dec::<S>(c, flags::ADD, S::get(c, e.r0));
    S::set(c, e.r0, r);
    c.commit(f);
    Ok(())
}

/// `dec r`
#[inline(always)]
pub(crate) fn dec_r<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let (r, f) = inc_dec::<S>(c, flags::SUB, S::get(c, e.r0));
    S::set(c, e.r0, r);
    c.commit(f);
    Ok(())
}

/// `inc m`
#[inline(always)]
pub(crate) fn inc_m<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    inc_dec_m::<B, S>(c, bus, e, flags::ADD)
}

/// `dec m`
#[inline(always)]
pub(crate) fn dec_m<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    inc_dec_m::<B, S>(c, bus, e, flags::SUB)
}

/// INC/DEC on memory: read, add or subtract one, write back, then commit the flags (after
/// the write, so a faulting write leaves them as they were).
#[inline(always)]
fn inc_dec_m<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry, kind: u8) -> Res<()> {
    let off = c.ea(e);
    let seg = e.seg as usize;
    let a = c.rd(bus, seg, off, S::N)? & S::MASK;
    let (r, f) = inc_dec::<S>(c, kind, a);
    c.wr(bus, seg, off, S::N, r)?;
    c.commit(f);
    c.leave_if_smc()
}

/// NEG is 0 − a (SDM Vol. 2B "NEG": CF = a ≠ 0, the other flags by the result), which
/// is exactly SUB's record with a zero minuend.
#[inline(always)]
fn neg<S: Sz>(a: u32) -> (u32, Flags) {
    sub::<S>(0, a)
}

/// `neg r`
#[inline(always)]
pub(crate) fn neg_r<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let (r, f) = neg::<S>(S::get(c, e.r0));
    S::set(c, e.r0, r);
    c.commit(f);
    Ok(())
}

/// `neg m`
#[inline(always)]
pub(crate) fn neg_m<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let seg = e.seg as usize;
    let a = c.rd(bus, seg, off, S::N)? & S::MASK;
    let (r, f) = neg::<S>(a);
    c.wr(bus, seg, off, S::N, r)?;
    c.commit(f);
    c.leave_if_smc()
}

/// `not r` (no flags change)
#[inline(always)]
pub(crate) fn not_r<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let r = !S::get(c, e.r0) & S::MASK;
    S::set(c, e.r0, r);
    Ok(())
}

/// `not m`
#[inline(always)]
pub(crate) fn not_m<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let seg = e.seg as usize;
    let a = c.rd(bus, seg, off, S::N)?;
    c.wr(bus, seg, off, S::N, !a & S::MASK)?;
    c.leave_if_smc()
}

/// The truncated signed product and its flags (SDM Vol. 2A "IMUL": CF = OF = the
/// product does not fit the destination; SF, ZF and PF from the truncated result as a
/// P6 sets them, AF cleared: the policy of `alu.rs`). That is the lazy record of a
/// shift (`flags::SET_OF`): a logic result with CF and OF given.
#[inline(always)]
fn imul<S: Sz>(c: &mut Cpu, a: u32, b: u32) -> u32 {
    let p = S::sext(a) as i32 as i64 * S::sext(b) as i32 as i64;
    let r = p as u32 & S::MASK;
    let ovf = S::sext(r) as i32 as i64 != p;
    c.commit(Flags::Lazy(Lazy {
        kind: flags::LOGIC
            | flags::KEEP_CF
            | size_bits::<S>()
            | if ovf { flags::SET_OF } else { 0 },
        cf: ovf as u8,
        a: 0,
        b: 0,
        r,
    }));
    r
}

/// `imul r, r`
#[inline(always)]
pub(crate) fn imul_rr<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let r = imul::<S>(c, S::get(c, e.r0), S::get(c, e.r1));
    S::set(c, e.r0, r);
    Ok(())
}

/// `imul r, m`
#[inline(always)]
pub(crate) fn imul_rm<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let b = c.rd(bus, e.seg as usize, off, S::N)?;
    let r = imul::<S>(c, S::get(c, e.r0), b);
    S::set(c, e.r0, r);
    Ok(())
}

/// `imul r, r, imm` (the immediate is already sign-extended)
#[inline(always)]
pub(crate) fn imul_rri<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let r = imul::<S>(c, S::get(c, e.r1), e.imm);
    S::set(c, e.r0, r);
    Ok(())
}

/// `imul r, m, imm`
#[inline(always)]
pub(crate) fn imul_rmi<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let a = c.rd(bus, e.seg as usize, off, S::N)?;
    let r = imul::<S>(c, a, e.imm);
    S::set(c, e.r0, r);
    Ok(())
}
