//! Specialised rotates and shifts of a register by an immediate count (SDM Vol. 2
//! "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR"); the kind is a const parameter, so each of
//! the eight group-2 operations compiles to its own handler. Memory and CL forms take
//! the generic path.

use super::table::Sz;
use crate::alu;
use crate::decode::Entry;
use crate::{Bus, Cpu, Res};

/// The group-2 kind `/r` (0 ROL … 7 SAR) as a type.
pub(crate) struct Kind<const K: u8>;

pub(crate) trait ShiftKind {
    const K: u8;
}

impl<const K: u8> ShiftKind for Kind<K> {
    const K: u8 = K;
}

/// `rol/ror/rcl/rcr/shl/shr/sal/sar r, imm8`
#[inline(always)]
pub(crate) fn shift_ri<B: Bus, K: ShiftKind, S: Sz>(c: &mut Cpu, _: &mut B, e: &Entry) -> Res<()> {
    let count = e.imm & 0x1F;
    if count != 0 {
        // SHL/SHR/SAL/SAR by a non-zero count define all six status flags; the
        // rotates keep SF/ZF/AF/PF (and RCL/RCR read CF), so they need the exact ones.
        let f = if K::K >= 4 { c.eflags } else { c.flags_now() };
        let (r, f) = alu::shift(K::K, S::get(c, e.r0), count, S::N, f);
        S::set(c, e.r0, r);
        c.set_flags(f);
    }
    Ok(())
}
