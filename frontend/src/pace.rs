//! Real-time pacing: keeps the guest's virtual clock near the wall clock. The machine
//! itself only knows virtual time (runs are deterministic); pacing is a frontend
//! choice — the window's default, `--pace realtime` headless.

use machine::Pc;
use std::time::{Duration, Instant};

/// How far the guest may fall behind the wall clock before pacing gives up catching
/// up (a host too slow for the guest then runs it slow, rather than in bursts).
const MAX_LAG: u64 = 100_000_000;

pub struct Pacer {
    realtime: bool,
    wall0: Instant,
    /// Virtual time minus wall time since `wall0`, in ns.
    offset: i128,
}

impl Pacer {
    pub fn new(realtime: bool) -> Pacer {
        Pacer {
            realtime,
            wall0: Instant::now(),
            offset: 0,
        }
    }

    fn wall(&self) -> i128 {
        self.wall0.elapsed().as_nanos() as i128
    }

    /// The virtual time the guest may run up to now (unbounded when not pacing).
    pub fn target(&mut self, pc: &Pc) -> u64 {
        if !self.realtime {
            return u64::MAX;
        }
        let now = pc.bus.now as i128;
        let mut t = self.wall() + self.offset;
        if t > now + MAX_LAG as i128 {
            self.offset -= t - (now + MAX_LAG as i128);
            t = now + MAX_LAG as i128;
        }
        t.max(0) as u64
    }

    /// Sleeps while the guest is ahead of the wall clock, and while it is halted until
    /// the wall clock reaches its next device event (at most `max` either way). A halted
    /// guest has run up to the wall clock already: without this the caller would spin
    /// through empty slices and burn a host core on an idle guest.
    pub fn wait_max(&mut self, pc: &Pc, max: Duration) {
        if !self.realtime {
            return;
        }
        let mut wake = pc.bus.now as i128;
        if pc.halted() {
            wake = wake.max(pc.next_event().map_or(i128::MAX, |t| t as i128));
        }
        let ahead = wake.saturating_sub(self.wall() + self.offset);
        if ahead > 0 {
            std::thread::sleep(Duration::from_nanos(ahead.min(u64::MAX as i128) as u64).min(max));
        }
    }

    pub fn wait(&mut self, pc: &Pc) {
        self.wait_max(pc, Duration::from_millis(10));
    }

    /// Restarts the clock relation after a pause, so the guest does not race to catch up.
    pub fn resync(&mut self, pc: &Pc) {
        self.offset = pc.bus.now as i128 - self.wall();
    }
}
