//! Specialised rotates and shifts of a register by an immediate count (SDM Vol. 2
//! "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR"); the kind is a const parameter, so each of
//! the eight group-2 operations compiles to its own handler. Memory and CL forms take
//! the generic path. Shifts record their flags lazily (`flags::SET_OF`); rotates, which
//! keep SF/ZF/AF/PF, set them eagerly.

use super::arith::{size_bits, Flags};
use super::table::Sz;
use crate::alu;
use crate::decode::Entry;
use crate::flags::{self, Lazy};
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
    if count == 0 {
        return Ok(());
    }
    if K::K >= 4 {
        // SHL/SHR/SAL/SAR: the result, CF and OF, kept as a record.
        let (r, cf, of) = alu::shift_cf_of(K::K, S::get(c, e.r0), count, S::N);
        S::set(c, e.r0, r);
        c.commit(Flags::Lazy(shift_record::<S>(r, cf, of)));
    } else {
        // The rotates keep SF/ZF/AF/PF (and RCL/RCR read CF): exact flags in and out.
        let (r, f) = alu::shift(K::K, S::get(c, e.r0), count, S::N, c.flags_now());
        S::set(c, e.r0, r);
        c.set_flags(f);
    }
    Ok(())
}

/// The lazy record of a shift by a non-zero count with result `r` (masked to the
/// size), CF `cf` (0 or 1) and OF `of` (`flags::SET_OF`).
#[inline(always)]
pub(crate) fn shift_record<S: Sz>(r: u32, cf: u32, of: bool) -> Lazy {
    Lazy {
        kind: flags::LOGIC | flags::KEEP_CF | if of { flags::SET_OF } else { 0 } | size_bits::<S>(),
        cf: cf as u8,
        a: 0,
        b: 0,
        r,
    }
}
