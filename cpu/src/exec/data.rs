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
    load::<B, S, S>(c, bus, e, off)
}

/// `mov r, [base + disp]` with 32-bit addressing, the commonest memory operand.
#[inline(always)]
pub(crate) fn mov_rm_bd<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea_base_disp(e);
    load::<B, S, S>(c, bus, e, off)
}

/// Loads `F`-sized memory at `off` into register `r0`, zero-extended to `T`.
#[inline(always)]
fn load<B: Bus, F: Sz, T: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry, off: u32) -> Res<()> {
    let v = c.rd(bus, e.seg as usize, off, F::N)?;
    T::set(c, e.r0, v);
    Ok(())
}

/// `mov m, r`
#[inline(always)]
pub(crate) fn mov_mr<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    store::<B, S>(c, bus, e, off)
}

/// `mov [base + disp], r` with 32-bit addressing.
#[inline(always)]
pub(crate) fn mov_mr_bd<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea_base_disp(e);
    store::<B, S>(c, bus, e, off)
}

/// Stores register `r1` to memory at `off`.
#[inline(always)]
fn store<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry, off: u32) -> Res<()> {
    let v = S::get(c, e.r1);
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
    load::<B, F, T>(c, bus, e, off)
}

/// `movzx r, [base + disp]` with 32-bit addressing.
#[inline(always)]
pub(crate) fn movzx_m_bd<B: Bus, F: Sz, T: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea_base_disp(e);
    load::<B, F, T>(c, bus, e, off)
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

/// `mov r, [base + index * scale + disp]` with 32-bit addressing.
#[inline(always)]
pub(crate) fn mov_rm_bi<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea_base_index(e);
    load::<B, S, S>(c, bus, e, off)
}

/// `mov [base + index * scale + disp], r` with 32-bit addressing.
#[inline(always)]
pub(crate) fn mov_mr_bi<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea_base_index(e);
    store::<B, S>(c, bus, e, off)
}

/// `movzx r, [base + index * scale + disp]` with 32-bit addressing.
#[inline(always)]
pub(crate) fn movzx_m_bi<B: Bus, F: Sz, T: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea_base_index(e);
    load::<B, F, T>(c, bus, e, off)
}

/// `lea r32, [base + disp]` with 32-bit addressing.
#[inline(always)]
pub(crate) fn lea_bd<B: Bus>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    c.regs[e.r0 as usize] = c.ea_base_disp(e);
    Ok(())
}

/// `lea r32, [base + index * scale + disp]` with 32-bit addressing.
#[inline(always)]
pub(crate) fn lea_bi<B: Bus>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    c.regs[e.r0 as usize] = c.ea_base_index(e);
    Ok(())
}
