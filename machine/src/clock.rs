//! Virtual time. It advances with executed instructions at a fixed rate (`ips`), plus
//! the time skipped while the CPU waits in HLT for the next device event, so the same
//! inputs give the same run.

use devices::Nanos;

/// The instruction-driven virtual clock.
pub(crate) struct Clock {
    /// Instructions per second of virtual time.
    pub(crate) ips: u64,
    /// Virtual time skipped while the CPU was halted.
    pub(crate) idle: Nanos,
}

impl Clock {
    /// Virtual time after `icount` instructions.
    pub(crate) fn time_of(&self, icount: u64) -> Nanos {
        (icount as u128 * 1_000_000_000 / self.ips as u128) as Nanos + self.idle
    }

    /// Clock ticks at the virtual clock rate (`ips` Hz) in `ns` of virtual time.
    pub(crate) fn ticks_of(&self, ns: Nanos) -> u64 {
        (ns as u128 * self.ips as u128 / 1_000_000_000) as u64
    }

    /// Instructions to run from `now` until virtual time `t` (at least one).
    pub(crate) fn instructions_until(&self, now: Nanos, t: Nanos) -> u64 {
        ((t.saturating_sub(now) as u128 * self.ips as u128).div_ceil(1_000_000_000) as u64).max(1)
    }
}
