//! Specialised data movement (SDM Vol. 2 "MOV", "LEA", "MOVZX", "MOVSX"): one handler
//! per operand form and size.

use super::table::Sz;
use crate::decode::Entry;
use crate::{Bus, Cpu, Res};

/// `mov r, r`
#[inline(always)]
pub(crate) fn mov_rr<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let v = S::get(c, e.r1);
    S::set(c, e.r0, v);
    Ok(())
}

/// `mov r, imm`
#[inline(always)]
pub(crate) fn mov_ri<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    S::set(c, e.r0, e.imm);
    Ok(())
}

/// `mov r, m`
#[inline(always)]
pub(crate) fn mov_rm<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let v = c.rd(bus, e.seg as usize, off, S::N)?;
    S::set(c, e.r0, v);
    Ok(())
}

/// `mov m, r`
#[inline(always)]
pub(crate) fn mov_mr<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let v = S::get(c, e.r1);
    let off = c.ea(e);
    c.wr(bus, e.seg as usize, off, S::N, v)?;
    c.leave_if_smc()
}

/// `mov m, imm`
#[inline(always)]
pub(crate) fn mov_mi<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    c.wr(bus, e.seg as usize, off, S::N, e.imm & S::MASK)?;
    c.leave_if_smc()
}

/// `lea r, m` (the address is truncated to the destination size)
#[inline(always)]
pub(crate) fn lea<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let a = c.ea(e);
    S::set(c, e.r0, a);
    Ok(())
}

/// `movzx r, r` (`F` is the source size, `T` the destination's)
#[inline(always)]
pub(crate) fn movzx_r<B: Bus, F: Sz, T: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let v = F::get(c, e.r1);
    T::set(c, e.r0, v);
    Ok(())
}

/// `movzx r, m`
#[inline(always)]
pub(crate) fn movzx_m<B: Bus, F: Sz, T: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let v = c.rd(bus, e.seg as usize, off, F::N)?;
    T::set(c, e.r0, v);
    Ok(())
}

/// `movsx r, r`
#[inline(always)]
pub(crate) fn movsx_r<B: Bus, F: Sz, T: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let v = F::sext(F::get(c, e.r1));
    T::set(c, e.r0, v);
    Ok(())
}

/// `movsx r, m`
#[inline(always)]
pub(crate) fn movsx_m<B: Bus, F: Sz, T: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let v = c.rd(bus, e.seg as usize, off, F::N)?;
    T::set(c, e.r0, F::sext(v));
    Ok(())
}
