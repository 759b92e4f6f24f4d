//! Specialised stack operations (SDM Vol. 2 "PUSH", "POP") for register and immediate
//! operands; segment registers and memory operands take the generic path.

use super::table::Sz;
use crate::decode::Entry;
use crate::{Bus, Cpu, Res};

/// `push r`
#[inline(always)]
pub(crate) fn push_r<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let v = S::get(c, e.r0);
    c.push(bus, v, S::N)?;
    c.leave_if_smc()
}

/// `push imm` (already sign-extended to the operand size)
#[inline(always)]
pub(crate) fn push_i<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    c.push(bus, e.imm, S::N)?;
    c.leave_if_smc()
}

/// `pop r`
#[inline(always)]
pub(crate) fn pop_r<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let v = c.pop(bus, S::N)?;
    S::set(c, e.r0, v);
    Ok(())
}
