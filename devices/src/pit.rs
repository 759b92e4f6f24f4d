//! Intel 8254 programmable interval timer as wired in the PC: three counters clocked at
//! 1.193182 MHz at ports 0x40–0x42 with the control word at 0x43; counter 0 drives IRQ 0,
//! counter 2's gate and the speaker data bit come from port 0x61 (system control port B),
//! which also reads back OUT2 and the DRAM-refresh toggle (bit 4, every 15.085 µs) that
//! BIOSes and games poll for delays. Follows the 8254 datasheet: modes 0–5, binary and
//! BCD counting, LSB/MSB/both access, counter latch and read-back commands.
//!
//! Counters are evaluated lazily from virtual time: a counter remembers the PIT tick at
//! which it was loaded, and its count and OUT level are computed when read.
//!
//! Log target: `pit`.

use crate::{Irq, Nanos};

pub const PIT_HZ: u64 = 1_193_182;
/// The refresh request toggles every 15.085 µs (66.3 kHz).
const REFRESH_NS: u64 = 15_085;

/// PIT clock ticks elapsed at virtual time `ns`.
fn tick_at(ns: Nanos) -> u64 {
    (ns as u128 * PIT_HZ as u128 / 1_000_000_000) as u64
}

/// The first virtual time at which tick `t` has happened.
fn ns_of_tick(t: u64) -> Nanos {
    ((t as u128 * 1_000_000_000).div_ceil(PIT_HZ as u128)) as u64
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Counter {
    mode: u8,
    bcd: bool,
    /// 1 = LSB only, 2 = MSB only, 3 = LSB then MSB.
    rw: u8,
    /// The count loaded (1–65536, or 1–10000 in BCD).
    reload: u32,
    /// PIT tick at which counting started, when counting.
    start: Option<u64>,
    /// Count frozen while the gate is low (modes 0, 4), and OUT at that moment.
    frozen: Option<u32>,
    frozen_out: bool,
    gate: bool,
    /// Waiting for a gate rising edge (modes 1, 5) or a load.
    write_msb_next: bool,
    low_byte: u8,
    read_msb_next: bool,
    latch: Option<u16>,
    latch_msb_next: bool,
    status: Option<u8>,
    null_count: bool,
}

impl Counter {
    fn modulus(&self) -> u32 {
        if self.bcd {
            10_000
        } else {
            65_536
        }
    }

    /// Elapsed ticks since counting started, at tick `t`.
    fn elapsed(&self, t: u64) -> Option<u64> {
        self.start.map(|s| t.saturating_sub(s))
    }

    /// The counting element's value at tick `t`.
    fn count(&self, t: u64) -> u32 {
        if let Some(f) = self.frozen {
            return f;
        }
        let Some(e) = self.elapsed(t) else {
            return self.reload % self.modulus();
        };
        let r = self.reload.max(1) as u64;
        let m = self.modulus() as u64;
        let v = match self.mode {
            2 => r - (e % r),
            3 => {
                // Decrements by two; each half period reloads.
                let half = r.div_ceil(2);
                let p = e % r;
                let into = if p < half { p } else { p - half };
                (r - 2 * into).max(2) & !1
            }
            _ => (r + m - (e % m)) % m,
        };
        (v % m) as u32
    }

    /// The OUT pin at tick `t`.
    fn out(&self, t: u64) -> bool {
        if self.frozen.is_some() {
            return self.frozen_out;
        }
        let Some(e) = self.elapsed(t) else {
            // Before counting: mode 0 starts low, every other mode high.
            return self.mode != 0 || self.reload == 0;
        };
        let r = self.reload.max(1) as u64;
        match self.mode {
            0 | 1 => e >= r,
            2 => e % r != r - 1,
            3 => e % r < r.div_ceil(2),
            _ => e != r,
        }
    }

    /// The first tick after `t` at which OUT rises, if it ever will without new input.
    fn next_rise(&self, t: u64) -> Option<u64> {
        let e = self.elapsed(t)?;
        if self.frozen.is_some() {
            return None;
        }
        let s = self.start?;
        let r = self.reload.max(1) as u64;
        match self.mode {
            0 | 1 => (e < r).then_some(s + r),
            2 | 3 => Some(s + (e / r + 1) * r),
            _ => (e <= r).then_some(s + r + 1),
        }
    }

    fn bcd_encode(v: u32) -> u16 {
        let v = v % 10_000;
        ((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10)) as u16
    }

    fn bcd_decode(v: u16) -> u32 {
        let d = |s: u16| ((v >> s) & 0xF).min(9) as u32;
        d(12) * 1000 + d(8) * 100 + d(4) * 10 + d(0)
    }

    fn visible_count(&self, t: u64) -> u16 {
        let c = self.count(t);
        if self.bcd {
            Self::bcd_encode(c)
        } else {
            c as u16
        }
    }

    fn load(&mut self, value: u16, t: u64) {
        let mut v = if self.bcd {
            Self::bcd_decode(value)
        } else {
            value as u32
        };
        if v == 0 {
            v = self.modulus();
        }
        self.reload = v;
        self.null_count = false;
        self.frozen = None;
        match self.mode {
            // Modes 1 and 5 wait for a gate edge; modes 2 and 3 already running keep their
            // period until it ends (the new count takes effect at the next reload).
            1 | 5 => {}
            2 | 3 if self.start.is_some() => {}
            _ => {
                if self.gate || self.mode == 0 || self.mode == 4 {
                    // Counting starts on the clock pulse after the write.
                    self.start = Some(t + 1);
                }
                if !self.gate && (self.mode == 0 || self.mode == 4) {
                    self.frozen = Some(v % self.modulus());
                    self.frozen_out = self.mode == 4;
                }
            }
        }
    }

    fn set_gate(&mut self, level: bool, t: u64) {
        let rising = level && !self.gate;
        if !level && self.gate {
            match self.mode {
                0 | 4 => {
                    self.frozen_out = self.out(t);
                    self.frozen = Some(self.count(t));
                }
                2 | 3 => self.start = None,
                _ => {}
            }
        }
        self.gate = level;
        if rising {
            match self.mode {
                0 | 4 => {
                    if let (Some(f), Some(_)) = (self.frozen.take(), self.start) {
                        // Resume: shift the start so the count continues from `f`.
                        let m = self.modulus() as u64;
                        let done = (self.reload as u64 + m - f as u64) % m;
                        self.start = Some(t.saturating_sub(done));
                    }
                }
                _ => {
                    if self.reload != 0 {
                        self.start = Some(t + 1);
                    }
                }
            }
        }
    }
}

/// The three counters and port 0x61.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Pit {
    counters: [Counter; 3],
    speaker_data: bool,
    /// Virtual time of the last `tick`, for IRQ 0 edge detection.
    last_tick: Nanos,
}

impl Default for Pit {
    fn default() -> Self {
        Self::new()
    }
}

impl Pit {
    pub fn new() -> Self {
        let mut counters: [Counter; 3] = Default::default();
        for c in counters.iter_mut() {
            c.rw = 3;
            c.gate = true;
        }
        counters[2].gate = false;
        Pit {
            counters,
            speaker_data: false,
            last_tick: 0,
        }
    }

    pub fn read(&mut self, port: u16, now: Nanos) -> u8 {
        let v = self.read_port(port, now);
        log::trace!(target: "pit", "read {port:#06x} -> {v:#04x}");
        v
    }

    fn read_port(&mut self, port: u16, now: Nanos) -> u8 {
        let t = tick_at(now);
        match port {
            0x40..=0x42 => {
                let c = &mut self.counters[(port - 0x40) as usize];
                if let Some(s) = c.status.take() {
                    return s;
                }
                if let Some(l) = c.latch {
                    let (byte, done) = match c.rw {
                        1 => (l as u8, true),
                        2 => ((l >> 8) as u8, true),
                        _ => {
                            let msb = c.latch_msb_next;
                            c.latch_msb_next = !msb;
                            (if msb { (l >> 8) as u8 } else { l as u8 }, msb)
                        }
                    };
                    if done {
                        c.latch = None;
                        c.latch_msb_next = false;
                    }
                    return byte;
                }
                let v = c.visible_count(t);
                match c.rw {
                    1 => v as u8,
                    2 => (v >> 8) as u8,
                    _ => {
                        let msb = c.read_msb_next;
                        c.read_msb_next = !msb;
                        if msb {
                            (v >> 8) as u8
                        } else {
                            v as u8
                        }
                    }
                }
            }
            0x61 => self.read_port61(now),
            _ => 0xFF,
        }
    }

    pub fn write(&mut self, port: u16, v: u8, now: Nanos, irq: &mut impl Irq) {
        log::trace!(target: "pit", "write {port:#06x} <- {v:#04x}");
        let t = tick_at(now);
        match port {
            0x40..=0x42 => {
                let i = port - 0x40;
                let c = &mut self.counters[i as usize];
                let loaded = match c.rw {
                    1 => Some(v as u16),
                    2 => Some((v as u16) << 8),
                    _ => {
                        if c.write_msb_next {
                            c.write_msb_next = false;
                            Some((v as u16) << 8 | c.low_byte as u16)
                        } else {
                            c.low_byte = v;
                            c.write_msb_next = true;
                            // Mode 0: writing the first byte stops the count (datasheet).
                            if c.mode == 0 {
                                c.start = None;
                            }
                            None
                        }
                    }
                };
                if let Some(value) = loaded {
                    c.load(value, t);
                    log::debug!(
                        target: "pit",
                        "counter {i}: reload {value:#06x} ({} ticks, {:.3} hz) mode {}",
                        c.reload,
                        PIT_HZ as f64 / c.reload as f64,
                        c.mode
                    );
                }
            }
            0x43 => self.control(v, t),
            0x61 => self.write_port61(v, now),
            _ => {}
        }
        self.tick(now, irq);
    }

    fn control(&mut self, v: u8, t: u64) {
        let sc = v >> 6;
        if sc == 3 {
            // Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status.
            for i in 0..3 {
                if v & (2 << i) == 0 {
                    continue;
                }
                let c = &mut self.counters[i];
                if v & 0x20 == 0 && c.latch.is_none() {
                    c.latch = Some(c.visible_count(t));
                }
                if v & 0x10 == 0 && c.status.is_none() {
                    let out = c.out(t);
                    c.status = Some(
                        (out as u8) << 7
                            | (c.null_count as u8) << 6
                            | c.rw << 4
                            | c.mode << 1
                            | c.bcd as u8,
                    );
                }
            }
            return;
        }
        let c = &mut self.counters[sc as usize];
        let rw = (v >> 4) & 3;
        if rw == 0 {
            if c.latch.is_none() {
                c.latch = Some(c.visible_count(t));
                c.latch_msb_next = false;
            }
            return;
        }
        let mut mode = (v >> 1) & 7;
        if mode > 5 {
            mode -= 4; // 6 and 7 alias modes 2 and 3
        }
        log::debug!(
            target: "pit",
            "counter {sc}: control {v:#04x} mode {mode} access {} {}",
            ["latch", "lsb", "msb", "lsb/msb"][rw as usize],
            if v & 1 != 0 { "bcd" } else { "binary" }
        );
        *c = Counter {
            rw,
            mode,
            bcd: v & 1 != 0,
            gate: c.gate,
            null_count: true,
            ..Default::default()
        };
    }

    fn read_port61(&self, now: Nanos) -> u8 {
        let t = tick_at(now);
        let refresh = (now / REFRESH_NS) & 1 != 0;
        let c2 = &self.counters[2];
        (c2.gate as u8)
            | (self.speaker_data as u8) << 1
            | (refresh as u8) << 4
            | (c2.out(t) as u8) << 5
    }

    fn write_port61(&mut self, v: u8, now: Nanos) {
        self.speaker_data = v & 2 != 0;
        self.counters[2].set_gate(v & 1 != 0, tick_at(now));
    }

    /// Whether the speaker is sounding (gate, data and counter 2's output together).
    pub fn speaker_on(&self, now: Nanos) -> bool {
        self.speaker_data && self.counters[2].gate && self.counters[2].out(tick_at(now))
    }

    /// Advances to `now`: drives IRQ 0 from counter 0's OUT, pulsing it for every rising
    /// edge since the previous tick so that the edge-triggered PIC sees it.
    pub fn tick(&mut self, now: Nanos, irq: &mut impl Irq) {
        let c0 = &self.counters[0];
        let t_prev = tick_at(self.last_tick);
        let t = tick_at(now);
        let rose = c0.next_rise(t_prev).is_some_and(|r| r <= t);
        if rose {
            irq.set_irq(0, false);
        }
        irq.set_irq(0, c0.out(t));
        self.last_tick = now;
    }

    /// The next virtual time at which `tick` must run (counter 0's next OUT rise).
    pub fn next_event(&self, now: Nanos) -> Option<Nanos> {
        self.counters[0].next_rise(tick_at(now)).map(ns_of_tick)
    }
}

/// The 8254 on the machine's buses: counters at 40h–43h and port B (61h: gate 2,
/// speaker data, refresh toggle and OUT2 status).
impl crate::device::Device for Pit {
    crate::plain_state!();

    fn name(&self) -> &'static str {
        "pit"
    }
    fn ports(&self) -> Vec<(u16, u16)> {
        vec![(0x40, 4), (0x61, 1)]
    }
    fn io_read(&mut self, port: u16, _size: u8, ctx: &mut crate::device::Ctx) -> u32 {
        self.read(port, ctx.now) as u32
    }
    fn io_write(&mut self, port: u16, _size: u8, value: u32, ctx: &mut crate::device::Ctx) {
        self.write(port, value as u8, ctx.now, &mut ctx.irq);
    }
    fn next_event(&self, now: Nanos) -> Option<Nanos> {
        Pit::next_event(self, now)
    }
    fn tick(&mut self, ctx: &mut crate::device::Ctx) {
        Pit::tick(self, ctx.now, &mut ctx.irq);
    }
    fn reset(&mut self) {
        *self = Pit::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IrqLog;

    fn ns(ticks: u64) -> Nanos {
        ns_of_tick(ticks)
    }

    #[test]
    fn bios_timer_mode3_divisor_0_gives_18_2_hz() {
        // The BIOS programs counter 0 with 36h (LSB/MSB, mode 3) and count 0 = 65536:
        // 1193182 / 65536 = 18.2065 Hz, so one virtual second holds 18 rising edges.
        let mut p = Pit::new();
        let mut irq = IrqLog::default();
        p.write(0x43, 0x36, 0, &mut irq);
        p.write(0x40, 0, 0, &mut irq);
        p.write(0x40, 0, 0, &mut irq);
        let mut now = 0;
        while let Some(n) = p.next_event(now) {
            if n > 1_000_000_000 {
                break;
            }
            now = n;
            p.tick(now, &mut irq);
        }
        assert_eq!(irq.rises(0), 18 + 1, "18 periods plus the initial OUT high");
    }

    #[test]
    fn mode2_rate_generator_counts_down_and_reloads() {
        let mut p = Pit::new();
        let mut irq = IrqLog::default();
        p.write(0x43, 0x34, 0, &mut irq); // counter 0, LSB/MSB, mode 2
        p.write(0x40, 100, 0, &mut irq);
        p.write(0x40, 0, 0, &mut irq);
        // Counting starts one tick after the load; 10 ticks later the count is 90.
        p.write(0x43, 0x00, ns(11), &mut irq); // latch
        assert_eq!(
            p.read(0x40, ns(11)) as u16 | (p.read(0x40, ns(11)) as u16) << 8,
            90
        );
        // After a full period it reloads: at 101 + 5 ticks the count is 95.
        p.write(0x43, 0x00, ns(106), &mut irq);
        assert_eq!(
            p.read(0x40, ns(106)) as u16 | (p.read(0x40, ns(106)) as u16) << 8,
            95
        );
    }

    #[test]
    fn mode0_out_rises_at_terminal_count_once() {
        let mut p = Pit::new();
        let mut irq = IrqLog::default();
        p.write(0x43, 0x30, 0, &mut irq); // counter 0, mode 0
        p.write(0x40, 50, 0, &mut irq);
        p.write(0x40, 0, 0, &mut irq);
        assert!(!irq.levels[0], "mode 0 OUT is low while counting");
        assert_eq!(p.next_event(0), Some(ns(51)));
        p.tick(ns(51), &mut irq);
        assert!(irq.levels[0]);
        assert_eq!(p.next_event(ns(51)), None);
    }

    #[test]
    fn latch_holds_the_value_while_counting_continues() {
        let mut p = Pit::new();
        let mut irq = IrqLog::default();
        p.write(0x43, 0x34, 0, &mut irq);
        p.write(0x40, 0x00, 0, &mut irq);
        p.write(0x40, 0x10, 0, &mut irq); // 0x1000
        p.write(0x43, 0x00, ns(17), &mut irq); // latch at count 0x1000 - 16
        let lo = p.read(0x40, ns(500));
        let hi = p.read(0x40, ns(500));
        assert_eq!((hi as u16) << 8 | lo as u16, 0x1000 - 16);
    }

    #[test]
    fn readback_status_reports_mode_access_and_out() {
        let mut p = Pit::new();
        let mut irq = IrqLog::default();
        p.write(0x43, 0xB6, 0, &mut irq); // counter 2, LSB/MSB, mode 3
                                          // Read-back: status only (bit 5 = 1 keeps the count), counter 2 (bit 3).
        p.write(0x43, 0xE8, 0, &mut irq);
        let s = p.read(0x42, 0);
        // OUT high before counting, null count set, RW = 3, mode 3, binary.
        assert_eq!(s, 0x80 | 0x40 | 0x30 | 0x06);
    }

    #[test]
    fn bcd_counting() {
        let mut p = Pit::new();
        let mut irq = IrqLog::default();
        p.write(0x43, 0x21, 0, &mut irq); // counter 0, MSB only, mode 0, BCD
        p.write(0x40, 0x12, 0, &mut irq); // count 1200 (BCD 0x1200)
        p.write(0x43, 0x00, ns(1 + 201), &mut irq);
        // 1200 - 201 = 999 → BCD 0x0999; MSB-only access reads 0x09.
        assert_eq!(p.read(0x40, ns(202)), 0x09);
    }

    #[test]
    fn port61_gate_and_out2_and_refresh_toggle() {
        let mut p = Pit::new();
        let mut irq = IrqLog::default();
        p.write(0x43, 0xB0, 0, &mut irq); // counter 2, mode 0
        p.write(0x42, 10, 0, &mut irq);
        p.write(0x42, 0, 0, &mut irq);
        // Gate low: counter 2 holds; OUT2 (bit 5) low in mode 0.
        assert_eq!(p.read(0x61, ns(100)) & 0x21, 0x00);
        p.write(0x61, 0x01, ns(100), &mut irq);
        assert_eq!(
            p.read(0x61, ns(100 + 11)) & 0x21,
            0x21,
            "OUT2 high after 10 counts"
        );
        // Bit 4 toggles every 15.085 µs.
        assert_ne!(p.read(0x61, 0) & 0x10, p.read(0x61, REFRESH_NS) & 0x10);
    }
}
