//! Specialised integer arithmetic and logic (SDM Vol. 2 "ADD", "OR", "ADC", "SBB",
//! "AND", "SUB", "XOR", "CMP", "TEST", "INC", "DEC"): one handler per kind × operand
//! form × size, generated from the generic bodies below. The result and flag rules are
//! those of `alu.rs`; flags are committed only after the last access that can fault.

use super::table::Sz;
use crate::alu;
use crate::decode::Entry;
use crate::regs::CF;
use crate::{Bus, Cpu, Res};

/// One two-operand ALU kind: its result and flags from (a, b, flags in).
pub(crate) trait AluKind {
    /// Whether the result is written back (CMP and TEST only set flags).
    const WRITES: bool;
    fn calc<S: Sz>(a: u32, b: u32, f: u32) -> (u32, u32);
}

macro_rules! kind {
    ($name:ident, $writes:expr, |$a:ident, $b:ident, $f:ident, $n:ident| $body:expr) => {
        pub(crate) struct $name;
        impl AluKind for $name {
            const WRITES: bool = $writes;
            #[inline(always)]
            fn calc<S: Sz>($a: u32, $b: u32, $f: u32) -> (u32, u32) {
                let $n = S::N;
                $body
            }
        }
    };
}

kind!(Add, true, |a, b, f, n| alu::add(a, b, 0, n, f));
kind!(Or, true, |a, b, f, n| (a | b, alu::logic(a | b, n, f)));
kind!(Adc, true, |a, b, f, n| alu::add(a, b, f & CF, n, f));
kind!(Sbb, true, |a, b, f, n| alu::sub(a, b, f & CF, n, f));
kind!(And, true, |a, b, f, n| (a & b, alu::logic(a & b, n, f)));
kind!(Sub, true, |a, b, f, n| alu::sub(a, b, 0, n, f));
kind!(Xor, true, |a, b, f, n| (a ^ b, alu::logic(a ^ b, n, f)));
kind!(Cmp, false, |a, b, f, n| alu::sub(a, b, 0, n, f));
kind!(Test, false, |a, b, f, n| (a & b, alu::logic(a & b, n, f)));

/// `op r, r`
#[inline(always)]
pub(crate) fn alu_rr<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let a = S::get(c, e.r0);
    let b = S::get(c, e.r1);
    let (r, f) = K::calc::<S>(a, b, c.eflags);
    if K::WRITES {
        S::set(c, e.r0, r);
    }
    c.eflags = f;
    Ok(())
}

/// `op r, imm` (the immediate is already sign-extended to the operand size)
#[inline(always)]
pub(crate) fn alu_ri<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let a = S::get(c, e.r0);
    let (r, f) = K::calc::<S>(a, e.imm & S::MASK, c.eflags);
    if K::WRITES {
        S::set(c, e.r0, r);
    }
    c.eflags = f;
    Ok(())
}

/// `op r, m`
#[inline(always)]
pub(crate) fn alu_rm<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let b = c.rd(bus, e.seg as usize, off, S::N)?;
    let a = S::get(c, e.r0);
    let (r, f) = K::calc::<S>(a, b, c.eflags);
    if K::WRITES {
        S::set(c, e.r0, r);
    }
    c.eflags = f;
    Ok(())
}

/// `op m, r`
#[inline(always)]
pub(crate) fn alu_mr<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let seg = e.seg as usize;
    let a = c.rd(bus, seg, off, S::N)?;
    let b = S::get(c, e.r1);
    let (r, f) = K::calc::<S>(a, b, c.eflags);
    if K::WRITES {
        c.wr(bus, seg, off, S::N, r)?;
    }
    c.eflags = f;
    Ok(())
}

/// `op m, imm`
#[inline(always)]
pub(crate) fn alu_mi<B: Bus, K: AluKind, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let seg = e.seg as usize;
    let a = c.rd(bus, seg, off, S::N)?;
    let (r, f) = K::calc::<S>(a, e.imm & S::MASK, c.eflags);
    if K::WRITES {
        c.wr(bus, seg, off, S::N, r)?;
    }
    c.eflags = f;
    Ok(())
}

/// `inc r` (CF kept)
#[inline(always)]
pub(crate) fn inc_r<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let (r, f) = alu::inc(S::get(c, e.r0), S::N, c.eflags);
    S::set(c, e.r0, r);
    c.eflags = f;
    Ok(())
}

/// `dec r` (CF kept)
#[inline(always)]
pub(crate) fn dec_r<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let (r, f) = alu::dec(S::get(c, e.r0), S::N, c.eflags);
    S::set(c, e.r0, r);
    c.eflags = f;
    Ok(())
}

/// `inc m`
#[inline(always)]
pub(crate) fn inc_m<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let seg = e.seg as usize;
    let a = c.rd(bus, seg, off, S::N)?;
    let (r, f) = alu::inc(a, S::N, c.eflags);
    c.wr(bus, seg, off, S::N, r)?;
    c.eflags = f;
    Ok(())
}

/// `dec m`
#[inline(always)]
pub(crate) fn dec_m<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let seg = e.seg as usize;
    let a = c.rd(bus, seg, off, S::N)?;
    let (r, f) = alu::dec(a, S::N, c.eflags);
    c.wr(bus, seg, off, S::N, r)?;
    c.eflags = f;
    Ok(())
}
