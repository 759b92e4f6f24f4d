//! CMP or TEST fused with the Jcc right after it (the block builder's `fuse_pairs`):
//! compiled code tests a condition this way at nearly every branch, and one entry
//! for the pair spares the second dispatch and the re-reading of the lazy record the
//! Jcc would do — the condition comes straight from the operands the comparison just
//! produced (SDM Vol. 2 "Jcc": the condition tests the flags CMP and TEST set).
//!
//! The pair keeps both entries: the Jcc's own stays in place, for an in-block branch
//! that targets it and for the one-instruction-at-a-time paths, which run the first
//! instruction alone (`H::unfused`). A fused entry runs the comparison exactly as its
//! own row would (flags recorded, faults before any change), then the branch:
//! - taken: EIP is the target (the block start plus `imm2`, the Jcc's end plus its
//!   displacement) and the walk leaves as after a taken Jcc (`LEAVE`, with `jt` the
//!   Jcc's in-block target). The run loop takes back the instructions after the entry
//!   that returned `LEAVE`, and the Jcc after this one did run: it is counted here;
//! - not taken: `SKIP`, and the walk goes on after the Jcc's entry.
//!
//! `rep` holds the Jcc condition's low bit (the negation); the row names the pair.

use super::arith::*;
use super::table::Sz;
use crate::decode::Entry;
use crate::{Bus, Cpu, Res, LEAVE, SKIP};

/// The Jcc half, after the comparison recorded its flags: `C` is the even condition of
/// the Jcc's pair.
#[inline(always)]
fn branch<const C: u8>(c: &mut Cpu, e: &Entry) -> Res<()> {
    if c.cond(C) != (e.rep != 0) {
        c.eip = c.ip_base.wrapping_add(e.imm2);
        c.icount += 1;
        return Err(LEAVE);
    }
    Err(SKIP)
}

/// The fused rows of each comparison form: the form's own handler (arith.rs), then
/// the Jcc.
macro_rules! fused {
    ($($name:ident = $alu:ident,)*) => {$(
        #[inline(always)]
        pub(crate) fn $name<B: Bus, K: AluKind, S: Sz, const C: u8>(
            c: &mut Cpu,
            bus: &mut B,
            e: &Entry,
        ) -> Res<()> {
            $alu::<B, K, S>(c, bus, e)?;
            branch::<C>(c, e)
        }
    )*};
}

fused! {
    fused_rr = alu_rr,
    fused_ri = alu_ri,
    fused_rm = alu_rm,
    fused_mr = alu_mr,
    fused_mi = alu_mi,
}
