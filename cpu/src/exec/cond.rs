//! Specialised condition-code consumers (SDM Vol. 2 "SETcc", "CMOVcc"): the condition
//! is a const parameter, so each evaluates straight from the lazy record (flags.rs).

use super::table::Sz;
use crate::decode::Entry;
use crate::{Bus, Cpu, Res};

/// `setcc r8`
#[inline(always)]
pub(crate) fn set_r<B: Bus, const C: u8>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let v = c.cond(C) as u32;
    super::table::S8::set(c, e.r0, v);
    Ok(())
}

/// `setcc m8`
#[inline(always)]
pub(crate) fn set_m<B: Bus, const C: u8>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let v = c.cond(C) as u32;
    let off = c.ea(e);
    c.wr(bus, e.seg as usize, off, 1, v)?;
    c.leave_if_smc()
}

/// `cmovcc r, r`
#[inline(always)]
pub(crate) fn cmov_rr<B: Bus, const C: u8, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    if c.cond(C) {
        let v = S::get(c, e.r1);
        S::set(c, e.r0, v);
    }
    Ok(())
}

/// `cmovcc r, m`: the source is read (and may fault) whether or not the condition holds.
#[inline(always)]
pub(crate) fn cmov_rm<B: Bus, const C: u8, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let v = c.rd(bus, e.seg as usize, off, S::N)?;
    if c.cond(C) {
        S::set(c, e.r0, v);
    }
    Ok(())
}
