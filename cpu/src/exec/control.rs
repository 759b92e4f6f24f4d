//! Specialised near control transfers (SDM Vol. 2 "Jcc", "JMP", "CALL", "RET"): `S` is
//! the operand size, which truncates the new EIP to 16 bits for 16-bit forms. Each
//! transfer returns `LEAVE` (a taken Jcc too): the run loop goes on with the entry
//! after one that returns `Ok`, so only a fall-through may (table.rs).

use super::table::Sz;
use crate::decode::Entry;
use crate::regs::ESP;
use crate::{Bus, Cpu, Res, LEAVE};

#[inline(always)]
fn branch<S: Sz>(c: &mut Cpu, e: &Entry) {
    // The displacement is relative to the next instruction.
    c.eip = c.next_ip(e).wrapping_add(e.imm) & if S::N == 2 { 0xFFFF } else { !0 };
}

/// `jcc rel` for condition `C` (the low nibble of the opcode).
#[inline(always)]
pub(crate) fn jcc<B: Bus, const C: u8, S: Sz>(c: &mut Cpu, _: &mut B, _e: &Entry) -> Res<()> {
    if c.cond(C) {
        branch::<S>(c, _e);
        // Blocks run on past conditional branches; a taken one leaves.
        return Err(LEAVE);
    }
    Ok(())
}

/// `jmp rel` (ends its block; `LEAVE` lets the run loop go on inside the block when
/// the target is in it, as for a taken Jcc)
#[inline(always)]
pub(crate) fn jmp_rel<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    branch::<S>(c, e);
    Err(LEAVE)
}

/// `call rel`
#[inline(always)]
pub(crate) fn call_rel<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let ret = c.next_ip(e);
    c.push(bus, ret, S::N)?;
    branch::<S>(c, e);
    c.leave_block()
}

/// `ret` / `ret imm16`
#[inline(always)]
pub(crate) fn ret_near<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let t = c.peek(bus, 0, S::N)?;
    c.check_cs_limit(t)?;
    // The pop (read once, by the peek) and the release of imm16 bytes, in the stack's
    // width.
    let sp = c.regs[ESP].wrapping_add(S::N).wrapping_add(e.imm & 0xFFFF);
    c.set_sp(sp);
    c.eip = t;
    Err(LEAVE)
}

/// `jmp r`
#[inline(always)]
pub(crate) fn jmp_r<B: Bus, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let t = S::get(c, e.r0);
    c.check_cs_limit(t)?;
    c.eip = t;
    Err(LEAVE)
}

/// `jmp m`
#[inline(always)]
pub(crate) fn jmp_m<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let t = c.rd(bus, e.seg as usize, off, S::N)?;
    c.check_cs_limit(t)?;
    c.eip = t;
    Err(LEAVE)
}

/// `call r`
#[inline(always)]
pub(crate) fn call_r<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let t = S::get(c, e.r0);
    c.check_cs_limit(t)?;
    let ret = c.next_ip(e);
    c.push(bus, ret, S::N)?;
    c.eip = t;
    c.leave_block()
}

/// `call m`
#[inline(always)]
pub(crate) fn call_m<B: Bus, S: Sz>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let off = c.ea(e);
    let t = c.rd(bus, e.seg as usize, off, S::N)?;
    c.check_cs_limit(t)?;
    let ret = c.next_ip(e);
    c.push(bus, ret, S::N)?;
    c.eip = t;
    c.leave_block()
}
