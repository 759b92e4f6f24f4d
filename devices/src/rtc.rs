//! Motorola MC146818 real-time clock with its CMOS RAM, as wired in the PC/AT: port 0x70
//! selects one of 128 bytes (bit 7 of that write masks NMI, a PC latch beside the chip),
//! port 0x71 reads or writes it, and the interrupt output drives IRQ 8. Follows the
//! MC146818A datasheet (the Dallas DS12887 sheet says the same in plainer words):
//! "Address Map" (time, calendar and alarm bytes, BCD or binary, 12- or 24-hour),
//! "Register A" (UIP, divider control DV2–0, rate select RS3–0 and its periodic-rate
//! table), "Register B" (SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE), "Register C" (IRQF, PF,
//! AF, UF), "Register D" (VRT) and "Update Cycle" (UIP 244 µs ahead of each update, alarm
//! compare with 11xxxxxx "don't care" bytes). The century byte 0x32 and the configuration
//! bytes 0x10–0x35 follow the IBM PC AT Technical Reference's CMOS map.
//!
//! The clock counts in virtual time: at virtual time 0 it shows the Unix time handed to
//! [`Rtc::new`], and a second later it shows one second more. Nothing happens between
//! calls; flags and interrupts due in between are worked out when the next call arrives.
//!
//! Log target: `rtc`.

use crate::{Irq, Nanos};

const IRQ: u8 = 8;
const NS_PER_SEC: i128 = 1_000_000_000;
/// Divider-chain input frequency (the PC's 32.768 kHz crystal).
const XTAL_HZ: i128 = 32_768;
/// UIP goes high this long before each update (datasheet: "at least 244 µs").
const UIP_LEAD_NS: i128 = 244_000;
/// The first update after the divider leaves reset comes half a second later.
const RESTART_NS: i128 = 500_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// Keeps every date computation far from i64 overflow (about ±300 000 years).
const MAX_ABS_SECS: i64 = 10_000_000_000_000;

const A_UIP: u8 = 0x80;
const A_DV_MASK: u8 = 0x70;
/// DV2–0 = 010: the 32.768 kHz time base, the only setting in which the clock runs.
const A_DV_RUN: u8 = 0x20;

const B_SET: u8 = 0x80;
const B_PIE: u8 = 0x40;
const B_AIE: u8 = 0x20;
const B_UIE: u8 = 0x10;
const B_DM_BINARY: u8 = 0x04;
const B_24H: u8 = 0x02;

const C_IRQF: u8 = 0x80;
const C_PF: u8 = 0x40;
const C_AF: u8 = 0x20;
const C_UF: u8 = 0x10;

const D_VRT: u8 = 0x80;

const REG_SEC: usize = 0x00;
const REG_ALARM_SEC: usize = 0x01;
const REG_MIN: usize = 0x02;
const REG_ALARM_MIN: usize = 0x03;
const REG_HOUR: usize = 0x04;
const REG_ALARM_HOUR: usize = 0x05;
const REG_DOW: usize = 0x06;
const REG_DAY: usize = 0x07;
const REG_MONTH: usize = 0x08;
const REG_YEAR: usize = 0x09;
const REG_A: usize = 0x0A;
const REG_B: usize = 0x0B;
const REG_C: usize = 0x0C;
const REG_D: usize = 0x0D;
const REG_CENTURY: usize = 0x32;

fn is_time_reg(i: usize) -> bool {
    matches!(
        i,
        REG_SEC | REG_MIN | REG_HOUR | REG_DOW | REG_DAY | REG_MONTH | REG_YEAR | REG_CENTURY
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
/// Months outside 1–12 carry into the year so that nonsense written by a guest stays
/// arithmetic rather than a fault.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let m0 = month - 1;
    let y = year + m0.div_euclid(12);
    let m = m0.rem_euclid(12) + 1;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (day - 1)
}

/// (year, month 1–12, day 1–31) of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// 0 = Sunday. 1970-01-01 was a Thursday.
fn weekday0(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

/// Broken-down guest time.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    days: i64,
}

fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(SECS_PER_DAY);
    let sod = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: sod / 3600,
        min: sod / 60 % 60,
        sec: sod % 60,
        days,
    }
}

/// The MC146818 with the PC's CMOS RAM.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Rtc {
    /// The 128 bytes behind port 0x71. Registers A–D live in fields instead; the time
    /// bytes here are only meaningful while SET holds the clock (or just after a latch).
    #[serde(with = "crate::state::big")]
    cmos: [u8; 128],
    index: u8,
    nmi_masked: bool,
    /// Register A without UIP (which is derived from the time).
    reg_a: u8,
    reg_b: u8,
    /// PF | AF | UF as of `last`.
    flags: u8,
    /// Level last driven on IRQ 8 (= IRQF).
    irq_level: bool,
    /// Guest Unix time. While the clock runs (divider on, SET clear) this is the time
    /// shown at `anchor`, advancing one per second of virtual time after it; otherwise it
    /// is the frozen time.
    secs: i64,
    /// Virtual time in ns of a one-second boundary of the divider chain. Periodic
    /// interrupts and updates are phased from it. Signed and wide so that a restart half
    /// a second before virtual time 0 and any u64 time subtract cleanly.
    #[serde(with = "crate::state::wide")]
    anchor: i128,
    /// Day-of-week register minus the weekday of the date, mod 7: the chip counts the
    /// day of week on its own, so software may set it to anything and it keeps that lead.
    dow_adjust: i64,
    /// Flags are accounted up to this virtual time.
    last: Nanos,
}

impl Rtc {
    /// A clock showing Unix time `epoch_seconds` at virtual time 0, with the state a PC
    /// BIOS leaves: divider running, 1024 Hz periodic rate, BCD, 24-hour, no interrupts.
    pub fn new(epoch_seconds: i64) -> Self {
        Rtc {
            cmos: [0; 128],
            index: 0,
            nmi_masked: false,
            reg_a: A_DV_RUN | 0x06,
            reg_b: B_24H,
            flags: 0,
            irq_level: false,
            secs: epoch_seconds.clamp(-MAX_ABS_SECS, MAX_ABS_SECS),
            anchor: 0,
            dow_adjust: 0,
            last: 0,
        }
    }

    /// Whether the last write to port 0x70 masked NMI (bit 7).
    pub fn nmi_masked(&self) -> bool {
        self.nmi_masked
    }

    /// The CMOS RAM, for the machine to fill configuration bytes. Bytes 0x00–0x0D and
    /// the century byte 0x32 belong to the clock and are overwritten by it.
    pub fn cmos_mut(&mut self) -> &mut [u8; 128] {
        &mut self.cmos
    }

    /// Stores one CMOS byte without going through the ports (see [`Rtc::cmos_mut`]).
    pub fn set_byte(&mut self, index: u8, value: u8) {
        self.cmos[usize::from(index & 0x7F)] = value;
    }

    /// Fills the AT configuration bytes: floppy drive types (0x10; 4 = 1.44 MB), fixed
    /// disk types (0x12, with extended type 47 in 0x19/0x1A), equipment (0x14), base
    /// memory (0x15/0x16), extended memory above 1 MB (0x17/0x18 and 0x30/0x31, in KB,
    /// capped at 65535) and memory above 16 MB (0x34/0x35, in 64 KB units), then the
    /// checksum.
    pub fn set_config(
        &mut self,
        base_kb: u16,
        ext_kb: u32,
        floppy_a: u8,
        floppy_b: u8,
        hd0: bool,
        hd1: bool,
    ) {
        let c = &mut self.cmos;
        c[0x10] = ((floppy_a & 0x0F) << 4) | (floppy_b & 0x0F);
        // Type 15 in the nibble means "see the extended type byte"; 47 there is the
        // user-defined type whose geometry the machine may put at 0x1B/0x24.
        c[0x12] = if hd0 { 0xF0 } else { 0 } | if hd1 { 0x0F } else { 0 };
        c[0x19] = if hd0 { 47 } else { 0 };
        c[0x1A] = if hd1 { 47 } else { 0 };
        let floppies = u8::from(floppy_a & 0x0F != 0) + u8::from(floppy_b & 0x0F != 0);
        // Bits 7–6: floppy drives minus one; 5–4 = 00: a display adapter with its own
        // BIOS (EGA/VGA); bit 1: coprocessor present (the CPU has its x87); bit 0:
        // floppy drives present.
        let mut equip = 0x02;
        if floppies > 0 {
            equip |= 0x01 | ((floppies - 1) << 6);
        }
        c[0x14] = equip;
        let [lo, hi] = base_kb.to_le_bytes();
        c[0x15] = lo;
        c[0x16] = hi;
        let ext16 = u16::try_from(ext_kb).unwrap_or(u16::MAX);
        let [lo, hi] = ext16.to_le_bytes();
        c[0x17] = lo;
        c[0x18] = hi;
        c[0x30] = lo;
        c[0x31] = hi;
        // Extended memory starts at 1 MB, so what lies above 16 MB is all but 15 MB of it.
        let above16 = u16::try_from(ext_kb.saturating_sub(15 * 1024) / 64).unwrap_or(u16::MAX);
        let [lo, hi] = above16.to_le_bytes();
        c[0x34] = lo;
        c[0x35] = hi;
        self.update_checksum();
    }

    /// Recomputes the checksum at 0x2E (high) / 0x2F (low): the sum of bytes 0x10–0x2D.
    pub fn update_checksum(&mut self) {
        let sum: u16 = self.cmos[0x10..=0x2D].iter().map(|&b| u16::from(b)).sum();
        let [lo, hi] = sum.to_le_bytes();
        self.cmos[0x2E] = hi;
        self.cmos[0x2F] = lo;
    }

    pub fn read(&mut self, port: u16, now: Nanos, irq: &mut impl Irq) -> u8 {
        let v = self.read_port(port, now, irq);
        log::trace!(
            target: "rtc",
            "read {port:#06x} (index {:#04x}) -> {v:#04x}",
            self.index & 0x7F
        );
        v
    }

    fn read_port(&mut self, port: u16, now: Nanos, irq: &mut impl Irq) -> u8 {
        if port & 1 == 0 {
            // The AT's index latch is write-only; reads float.
            return 0xFF;
        }
        let i = usize::from(self.index & 0x7F);
        match i {
            REG_A => self.reg_a | if self.uip(now) { A_UIP } else { 0 },
            REG_B => self.reg_b,
            REG_C => {
                self.catch_up(now);
                let v = self.flags | if self.irqf() { C_IRQF } else { 0 };
                self.flags = 0;
                self.update_irq(irq);
                v
            }
            REG_D => D_VRT,
            _ if is_time_reg(i) => {
                if self.reg_b & B_SET == 0 {
                    self.latch(now);
                }
                self.cmos[i]
            }
            _ => self.cmos[i],
        }
    }

    pub fn write(&mut self, port: u16, value: u8, now: Nanos, irq: &mut impl Irq) {
        log::trace!(
            target: "rtc",
            "write {port:#06x} (index {:#04x}) <- {value:#04x}",
            self.index & 0x7F
        );
        if port & 1 == 0 {
            if (value & 0x80 != 0) != self.nmi_masked {
                log::debug!(target: "rtc", "nmi masked: {}", value & 0x80 != 0);
            }
            self.index = value & 0x7F;
            self.nmi_masked = value & 0x80 != 0;
            return;
        }
        let i = usize::from(self.index & 0x7F);
        self.catch_up(now);
        match i {
            REG_A => self.write_a(value, now),
            REG_B => self.write_b(value, now),
            REG_C | REG_D => {}
            _ if is_time_reg(i) => {
                if self.reg_b & B_SET != 0 {
                    self.cmos[i] = value;
                } else {
                    // A running chip takes the byte and counts on from it.
                    self.latch(now);
                    self.cmos[i] = value;
                    let t = self.parse_time_regs();
                    self.set_time(t, now);
                }
            }
            _ => self.cmos[i] = value,
        }
        self.update_irq(irq);
    }

    /// Raises IRQ 8 for whatever fell due up to `now`.
    pub fn tick(&mut self, now: Nanos, irq: &mut impl Irq) {
        self.catch_up(now);
        self.update_irq(irq);
    }

    /// When `tick` must next run for an enabled interrupt to reach IRQ 8 on time. None
    /// while the line is already high: nothing can change it until register C is read.
    pub fn next_event(&self, now: Nanos) -> Option<Nanos> {
        if self.irq_level || !self.running() {
            return None;
        }
        let mut due: Option<i128> = None;
        let mut consider = |t: i128| due = Some(due.map_or(t, |d| d.min(t)));
        if self.reg_b & B_PIE != 0 {
            if let Some(p) = self.period_ticks() {
                let k = self.div_ticks(self.last).div_euclid(p) + 1;
                // Rounded up, so that div_ticks at that time has reached the edge.
                consider(self.anchor + (k * p * NS_PER_SEC + XTAL_HZ - 1) / XTAL_HZ);
            }
        }
        if self.reg_b & B_SET == 0 {
            let next_update = self.secs_ticks(self.last) + 1;
            if self.reg_b & B_UIE != 0 {
                consider(self.anchor + next_update * NS_PER_SEC);
            }
            if self.reg_b & B_AIE != 0 {
                let first = self.secs.saturating_add(next_update as i64);
                if let Some(wait) = self.alarm_wait(first) {
                    consider(self.anchor + (next_update + i128::from(wait)) * NS_PER_SEC);
                }
            }
        }
        due.map(|t| u64::try_from(t.max(i128::from(now))).unwrap_or(u64::MAX))
    }

    fn running(&self) -> bool {
        self.reg_a & A_DV_MASK == A_DV_RUN
    }

    fn counting(&self) -> bool {
        self.running() && self.reg_b & B_SET == 0
    }

    /// Whole seconds of the divider chain since `anchor`.
    fn secs_ticks(&self, t: Nanos) -> i128 {
        (i128::from(t) - self.anchor).div_euclid(NS_PER_SEC)
    }

    /// 32.768 kHz cycles since `anchor`.
    fn div_ticks(&self, t: Nanos) -> i128 {
        ((i128::from(t) - self.anchor) * XTAL_HZ).div_euclid(NS_PER_SEC)
    }

    /// The periodic rate as a number of crystal cycles (datasheet rate table, 32.768 kHz
    /// column: rates 1 and 2 repeat rates 8 and 9).
    fn period_ticks(&self) -> Option<i128> {
        match self.reg_a & 0x0F {
            0 => None,
            1 => Some(1 << 7),
            2 => Some(1 << 8),
            n => Some(1 << (n - 1)),
        }
    }

    fn uip(&self, now: Nanos) -> bool {
        self.counting()
            && (i128::from(now) - self.anchor).rem_euclid(NS_PER_SEC) >= NS_PER_SEC - UIP_LEAD_NS
    }

    /// The guest's Unix time at `now`.
    fn now_secs(&self, now: Nanos) -> i64 {
        if self.counting() {
            let elapsed = i64::try_from(self.secs_ticks(now)).unwrap_or(0);
            self.secs
                .saturating_add(elapsed)
                .clamp(-MAX_ABS_SECS, MAX_ABS_SECS)
        } else {
            self.secs
        }
    }

    /// Makes the clock show `t` at `now`, keeping the divider phase.
    fn set_time(&mut self, t: i64, now: Nanos) {
        let t = t.clamp(-MAX_ABS_SECS, MAX_ABS_SECS);
        self.secs = if self.counting() {
            t.saturating_sub(i64::try_from(self.secs_ticks(now)).unwrap_or(0))
        } else {
            t
        };
    }

    fn irqf(&self) -> bool {
        // PF/AF/UF and PIE/AIE/UIE share bit positions.
        self.flags & self.reg_b & (C_PF | C_AF | C_UF) != 0
    }

    fn update_irq(&mut self, irq: &mut impl Irq) {
        let level = self.irqf();
        if level != self.irq_level {
            self.irq_level = level;
            irq.set_irq(IRQ, level);
        }
    }

    /// Sets the flags for every periodic edge, update and alarm match in (last, now].
    /// The flags rise whether or not their interrupts are enabled (datasheet, register C).
    fn catch_up(&mut self, now: Nanos) {
        let from = self.last;
        if now <= from {
            return;
        }
        self.last = now;
        if !self.running() {
            return;
        }
        if let Some(p) = self.period_ticks() {
            if self.div_ticks(now).div_euclid(p) > self.div_ticks(from).div_euclid(p) {
                self.flags |= C_PF;
            }
        }
        if self.reg_b & B_SET == 0 {
            let updates = self.secs_ticks(now) - self.secs_ticks(from);
            if updates > 0 {
                self.flags |= C_UF;
                let first = self.secs.saturating_add(self.secs_ticks(from) as i64 + 1);
                if self
                    .alarm_wait(first)
                    .is_some_and(|w| i128::from(w) < updates)
                {
                    self.flags |= C_AF;
                }
            }
        }
    }

    fn bin(&self) -> bool {
        self.reg_b & B_DM_BINARY != 0
    }

    /// A 0–99 value in the current data mode.
    fn encode(&self, v: i64) -> u8 {
        let v = v.rem_euclid(100) as u8;
        if self.bin() {
            v
        } else {
            ((v / 10) << 4) | (v % 10)
        }
    }

    fn decode(&self, b: u8) -> i64 {
        if self.bin() {
            i64::from(b)
        } else {
            i64::from(b >> 4) * 10 + i64::from(b & 0x0F)
        }
    }

    fn encode_hour(&self, h: i64) -> u8 {
        if self.reg_b & B_24H != 0 {
            self.encode(h)
        } else {
            let h12 = match h % 12 {
                0 => 12,
                x => x,
            };
            self.encode(h12) | if h >= 12 { 0x80 } else { 0 }
        }
    }

    fn decode_hour(&self, b: u8) -> i64 {
        if self.reg_b & B_24H != 0 {
            self.decode(b)
        } else {
            self.decode(b & 0x7F) % 12 + if b & 0x80 != 0 { 12 } else { 0 }
        }
    }

    /// Writes the time at `now` into the time bytes, in the current format.
    fn latch(&mut self, now: Nanos) {
        let c = civil(self.now_secs(now));
        let dow = (weekday0(c.days) + self.dow_adjust).rem_euclid(7) + 1;
        self.cmos[REG_SEC] = self.encode(c.sec);
        self.cmos[REG_MIN] = self.encode(c.min);
        self.cmos[REG_HOUR] = self.encode_hour(c.hour);
        self.cmos[REG_DOW] = self.encode(dow);
        self.cmos[REG_DAY] = self.encode(c.day);
        self.cmos[REG_MONTH] = self.encode(c.month);
        self.cmos[REG_YEAR] = self.encode(c.year.rem_euclid(100));
        self.cmos[REG_CENTURY] = self.encode(c.year.div_euclid(100));
    }

    /// The Unix time the time bytes spell in the current format; also takes the
    /// day-of-week byte's lead over the date.
    fn parse_time_regs(&mut self) -> i64 {
        let r = |i: usize| self.cmos[i];
        let year = self.decode(r(REG_CENTURY)) * 100 + self.decode(r(REG_YEAR));
        let days = days_from_civil(year, self.decode(r(REG_MONTH)), self.decode(r(REG_DAY)));
        let sod = self.decode_hour(r(REG_HOUR)) * 3600
            + self.decode(r(REG_MIN)) * 60
            + self.decode(r(REG_SEC));
        self.dow_adjust = (self.decode(r(REG_DOW)) - 1 - weekday0(days)).rem_euclid(7);
        days * SECS_PER_DAY + sod
    }

    /// Seconds from Unix time `t` to the first second at or after it whose time of day
    /// the alarm bytes match, or None if no time of day matches.
    fn alarm_wait(&self, t: i64) -> Option<i64> {
        let (a_sec, a_min, a_hour) = (
            self.cmos[REG_ALARM_SEC],
            self.cmos[REG_ALARM_MIN],
            self.cmos[REG_ALARM_HOUR],
        );
        let hit = |alarm: u8, now: u8| alarm >= 0xC0 || alarm == now;
        // A byte no value encodes to never matches; ruling that out first keeps the
        // scan below to a few hundred steps instead of a whole day's seconds.
        let possible = |alarm: u8, n: i64, enc: &dyn Fn(i64) -> u8| {
            alarm >= 0xC0 || (0..n).any(|v| enc(v) == alarm)
        };
        if !possible(a_hour, 24, &|h| self.encode_hour(h))
            || !possible(a_min, 60, &|m| self.encode(m))
            || !possible(a_sec, 60, &|s| self.encode(s))
        {
            return None;
        }
        let mut sod = t.rem_euclid(SECS_PER_DAY);
        let mut waited = 0;
        // Matching depends on the time of day only, so one day covers every case.
        while waited < SECS_PER_DAY {
            let step = if !hit(a_hour, self.encode_hour(sod / 3600)) {
                3600 - sod % 3600
            } else if !hit(a_min, self.encode(sod / 60 % 60)) {
                60 - sod % 60
            } else if !hit(a_sec, self.encode(sod % 60)) {
                1
            } else {
                return Some(waited);
            };
            waited += step;
            sod = (sod + step) % SECS_PER_DAY;
        }
        None
    }

    fn write_a(&mut self, value: u8, now: Nanos) {
        let t = self.now_secs(now);
        let was_running = self.running();
        self.reg_a = value & !A_UIP;
        log::debug!(
            target: "rtc",
            "register a {value:#04x}: divider {}, periodic rate {}",
            (value & A_DV_MASK) >> 4,
            match self.period_ticks() {
                Some(p) => format!("{} hz", XTAL_HZ / p),
                None => "off".to_string(),
            }
        );
        if !was_running && self.running() {
            // Half a second into a second: the first update comes 500 ms after release.
            self.anchor = i128::from(now) + RESTART_NS - NS_PER_SEC;
        }
        // Freezes the time on a stop, resumes it on a restart.
        self.set_time(t, now);
    }

    fn write_b(&mut self, mut value: u8, now: Nanos) {
        let old = self.reg_b;
        if value & B_SET != 0 && old & B_SET == 0 {
            // Hold the time as it reads now, in the format it reads in now.
            self.latch(now);
            self.secs = self.now_secs(now);
            value &= !B_UIE;
        }
        log::debug!(
            target: "rtc",
            "register b {value:#04x}: {}{}{}{}{}{}, {}h",
            if value & B_SET != 0 { "set, " } else { "" },
            if value & B_PIE != 0 { "pie, " } else { "" },
            if value & B_AIE != 0 { "aie, " } else { "" },
            if value & B_UIE != 0 { "uie, " } else { "" },
            if value & 0x08 != 0 { "sqwe, " } else { "" },
            if value & B_DM_BINARY != 0 { "binary" } else { "bcd" },
            if value & B_24H != 0 { 24 } else { 12 }
        );
        self.reg_b = value;
        if old & B_SET != 0 && value & B_SET == 0 {
            let t = self.parse_time_regs();
            self.set_time(t, now);
        }
    }
}

/// The RTC/CMOS on the machine's buses: index at 70h (bit 7 masks NMI), data at 71h. A
/// reset leaves the clock and the CMOS alone (they run on the battery).
impl crate::device::Device for Rtc {
    crate::plain_state!();

    fn name(&self) -> &'static str {
        "rtc"
    }
    fn ports(&self) -> Vec<(u16, u16)> {
        vec![(0x70, 2)]
    }
    fn io_read(&mut self, port: u16, _size: u8, ctx: &mut crate::device::Ctx) -> u32 {
        self.read(port, ctx.now, &mut ctx.irq) as u32
    }
    fn io_write(&mut self, port: u16, _size: u8, value: u32, ctx: &mut crate::device::Ctx) {
        self.write(port, value as u8, ctx.now, &mut ctx.irq);
    }
    fn next_event(&self, now: Nanos) -> Option<Nanos> {
        Rtc::next_event(self, now)
    }
    fn tick(&mut self, ctx: &mut crate::device::Ctx) {
        Rtc::tick(self, ctx.now, &mut ctx.irq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IrqLog;

    const SEC: Nanos = 1_000_000_000;
    /// 2000-02-29 00:00:00 UTC, a Tuesday: 11016 days after 1970-01-01 (a Thursday);
    /// 11016 = 7 * 1573 + 5, and Thursday + 5 days = Tuesday.
    const LEAP_DAY_2000: i64 = 951_782_400;

    fn rd(rtc: &mut Rtc, reg: u8, now: Nanos, irq: &mut IrqLog) -> u8 {
        rtc.write(0x70, reg, now, irq);
        rtc.read(0x71, now, irq)
    }

    fn wr(rtc: &mut Rtc, reg: u8, v: u8, now: Nanos, irq: &mut IrqLog) {
        rtc.write(0x70, reg, now, irq);
        rtc.write(0x71, v, now, irq);
    }

    /// (sec, min, hour, dow, day, month, year, century) as the registers read.
    fn time(rtc: &mut Rtc, now: Nanos, irq: &mut IrqLog) -> [u8; 8] {
        [0, 2, 4, 6, 7, 8, 9, 0x32].map(|r| rd(rtc, r, now, irq))
    }

    #[test]
    fn calendar_conversions() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11016), (2000, 2, 29));
        // 2100 is not a leap year: 2100-02-28 is followed by 2100-03-01.
        let d = days_from_civil(2100, 2, 28);
        assert_eq!(civil_from_days(d + 1), (2100, 3, 1));
        // 4102444800 = 2100-01-01 00:00:00 UTC.
        assert_eq!(days_from_civil(2100, 1, 1) * SECS_PER_DAY, 4_102_444_800);
        for days in [-1000, 0, 59, 365, 11016, 47482, 50000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn bcd_and_binary_reads_of_a_known_date() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(LEAP_DAY_2000 + 13 * 3600 + 45 * 60 + 7);
        // 13:45:07, Tuesday (3), 29 Feb 2000, BCD (the power-on register B is 24-hour BCD).
        assert_eq!(
            time(&mut rtc, 0, &mut irq),
            [0x07, 0x45, 0x13, 0x03, 0x29, 0x02, 0x00, 0x20]
        );
        wr(&mut rtc, 0x0B, B_24H | B_DM_BINARY, 0, &mut irq);
        assert_eq!(time(&mut rtc, 0, &mut irq), [7, 45, 13, 3, 29, 2, 0, 20]);
        // One virtual day later: Wednesday 1 March.
        assert_eq!(
            time(&mut rtc, 86_400 * SEC, &mut irq),
            [7, 45, 13, 4, 1, 3, 0, 20]
        );
    }

    #[test]
    fn twelve_hour_mode_sets_bit_7_for_pm() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(LEAP_DAY_2000);
        wr(&mut rtc, 0x0B, 0, 0, &mut irq); // 12-hour, BCD
                                            // Midnight is 12 AM, noon 12 PM (0x80 | 0x12), 13:00 is 1 PM (0x81).
        assert_eq!(rd(&mut rtc, 4, 0, &mut irq), 0x12);
        assert_eq!(rd(&mut rtc, 4, 3600 * SEC, &mut irq), 0x01);
        assert_eq!(rd(&mut rtc, 4, 12 * 3600 * SEC, &mut irq), 0x92);
        assert_eq!(rd(&mut rtc, 4, 13 * 3600 * SEC, &mut irq), 0x81);
        assert_eq!(rd(&mut rtc, 4, 23 * 3600 * SEC, &mut irq), 0x91);
        wr(&mut rtc, 0x0B, B_DM_BINARY, 0, &mut irq); // 12-hour, binary
        assert_eq!(rd(&mut rtc, 4, 12 * 3600 * SEC, &mut irq), 0x8C);
        assert_eq!(rd(&mut rtc, 4, 0, &mut irq), 0x0C);
    }

    #[test]
    fn uip_covers_the_last_244_us_of_each_second() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(LEAP_DAY_2000);
        assert_eq!(rd(&mut rtc, 0x0A, 0, &mut irq), 0x26);
        assert_eq!(rd(&mut rtc, 0x0A, SEC - 244_001, &mut irq), 0x26);
        assert_eq!(rd(&mut rtc, 0x0A, SEC - 244_000, &mut irq), 0xA6);
        assert_eq!(rd(&mut rtc, 0x0A, SEC - 1, &mut irq), 0xA6);
        assert_eq!(rd(&mut rtc, 0, SEC - 1, &mut irq), 0x00);
        assert_eq!(rd(&mut rtc, 0x0A, SEC, &mut irq), 0x26);
        assert_eq!(rd(&mut rtc, 0, SEC, &mut irq), 0x01);
        // "Writing the SET bit in Register B to a 1 ... clears the UIP status bit."
        wr(&mut rtc, 0x0B, B_SET | B_24H, 0, &mut irq);
        assert_eq!(rd(&mut rtc, 0x0A, 2 * SEC - 1, &mut irq), 0x26);
    }

    #[test]
    fn register_c_clears_on_read_and_lowers_irq8() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(LEAP_DAY_2000);
        wr(&mut rtc, 0x0B, B_24H | B_UIE, 0, &mut irq);
        assert_eq!(rtc.next_event(0), Some(SEC));
        rtc.tick(SEC, &mut irq);
        assert!(irq.levels[8]);
        // Line high: nothing more to schedule until register C is read.
        assert_eq!(rtc.next_event(SEC), None);
        // IRQF | UF, plus PF: the 1024 Hz periodic flag rises even with PIE clear.
        assert_eq!(rd(&mut rtc, 0x0C, SEC, &mut irq), 0xD0);
        assert!(!irq.levels[8]);
        assert_eq!(irq.changes, vec![(8, true), (8, false)]);
        assert_eq!(rd(&mut rtc, 0x0C, SEC, &mut irq), 0x00);
        assert_eq!(rtc.next_event(SEC), Some(2 * SEC));
        // Register D: VRT always set; writes to C and D are ignored.
        wr(&mut rtc, 0x0D, 0x00, SEC, &mut irq);
        assert_eq!(rd(&mut rtc, 0x0D, SEC, &mut irq), 0x80);
    }

    #[test]
    fn periodic_rate_6_gives_1024_interrupts_a_second() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(LEAP_DAY_2000);
        wr(&mut rtc, 0x0A, 0x26, 0, &mut irq);
        wr(&mut rtc, 0x0B, B_24H | B_PIE, 0, &mut irq);
        // Rate 6: 2^5 / 32768 s = 976.5625 µs, the first edge rounded up to 976563 ns.
        assert_eq!(rtc.next_event(0), Some(976_563));
        let mut now = 0;
        while let Some(t) = rtc.next_event(now) {
            if t > SEC {
                break;
            }
            now = t;
            rtc.tick(now, &mut irq);
            assert!(irq.levels[8]);
            assert_eq!(rd(&mut rtc, 0x0C, now, &mut irq) & 0xC0, 0xC0);
        }
        assert_eq!(irq.rises(8), 1024);
        // Rate 15 (2 Hz) and rate 1 (256 Hz, as rate 8) over the next second.
        for (rate, per_sec) in [(0x2F, 2), (0x21, 256), (0x20, 0)] {
            let start = irq.rises(8);
            let base = now;
            wr(&mut rtc, 0x0A, rate, now, &mut irq);
            while let Some(t) = rtc.next_event(now) {
                if t > base + SEC {
                    break;
                }
                now = t;
                rtc.tick(now, &mut irq);
                rd(&mut rtc, 0x0C, now, &mut irq);
            }
            now = base + SEC;
            assert_eq!(irq.rises(8) - start, per_sec, "rate {rate:#x}");
        }
    }

    #[test]
    fn alarm_fires_on_match_and_with_dont_care_bytes() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(LEAP_DAY_2000);
        // Alarm at 00:00:05 BCD.
        wr(&mut rtc, 0x01, 0x05, 0, &mut irq);
        wr(&mut rtc, 0x03, 0x00, 0, &mut irq);
        wr(&mut rtc, 0x05, 0x00, 0, &mut irq);
        wr(&mut rtc, 0x0B, B_24H | B_AIE, 0, &mut irq);
        assert_eq!(rtc.next_event(0), Some(5 * SEC));
        rtc.tick(5 * SEC - 1, &mut irq);
        assert!(!irq.levels[8]);
        rtc.tick(5 * SEC, &mut irq);
        assert!(irq.levels[8]);
        // IRQF | PF | AF | UF: periodic and update flags rise without their enables.
        assert_eq!(rd(&mut rtc, 0x0C, 5 * SEC, &mut irq), 0xF0);
        // Next match is a day later.
        assert_eq!(rtc.next_event(5 * SEC), Some(86_405 * SEC));
        // Hours and minutes "don't care" (11xxxxxx), seconds 30: every minute at :30.
        wr(&mut rtc, 0x03, 0xC0, 5 * SEC, &mut irq);
        wr(&mut rtc, 0x05, 0xFF, 5 * SEC, &mut irq);
        wr(&mut rtc, 0x01, 0x30, 5 * SEC, &mut irq);
        assert_eq!(rtc.next_event(5 * SEC), Some(30 * SEC));
        rtc.tick(30 * SEC, &mut irq);
        rd(&mut rtc, 0x0C, 30 * SEC, &mut irq);
        assert_eq!(rtc.next_event(30 * SEC), Some(90 * SEC));
        // A match passed without a tick is still flagged (AF set in the update cycle).
        wr(&mut rtc, 0x0B, B_24H, 30 * SEC, &mut irq);
        assert_eq!(rd(&mut rtc, 0x0C, 200 * SEC, &mut irq), 0x70);
        // An alarm byte no time can match never fires.
        wr(&mut rtc, 0x01, 0x7A, 200 * SEC, &mut irq);
        wr(&mut rtc, 0x0B, B_24H | B_AIE, 200 * SEC, &mut irq);
        assert_eq!(rtc.next_event(200 * SEC), None);
        // 12-hour mode compares the hour byte with its PM bit: 0x81 is 13:00.
        wr(&mut rtc, 0x01, 0x00, 200 * SEC, &mut irq);
        wr(&mut rtc, 0x03, 0x00, 200 * SEC, &mut irq);
        wr(&mut rtc, 0x05, 0x81, 200 * SEC, &mut irq);
        wr(&mut rtc, 0x0B, B_AIE, 200 * SEC, &mut irq);
        assert_eq!(rtc.next_event(200 * SEC), Some(13 * 3600 * SEC));
    }

    #[test]
    fn set_mode_freezes_and_writes_the_clock() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(LEAP_DAY_2000);
        let t0 = SEC / 2;
        wr(&mut rtc, 0x0B, B_SET | B_24H | B_UIE, t0, &mut irq);
        // SET going high clears UIE (DS12887 register B).
        assert_eq!(rd(&mut rtc, 0x0B, t0, &mut irq), B_SET | B_24H);
        // Frozen: seconds stay 0 however long SET is held.
        assert_eq!(rd(&mut rtc, 0, 10 * SEC, &mut irq), 0x00);
        // Set 2099-12-31 23:59:58, a Thursday (5), meanwhile passing through an
        // impossible 31 February.
        for (reg, v) in [
            (0x07, 0x31),
            (0x08, 0x12),
            (0x09, 0x99),
            (0x32, 0x20),
            (0x04, 0x23),
            (0x02, 0x59),
        ] {
            wr(&mut rtc, reg, v, 10 * SEC, &mut irq);
        }
        wr(&mut rtc, 0x00, 0x58, 10 * SEC, &mut irq);
        wr(&mut rtc, 0x06, 0x05, 10 * SEC, &mut irq);
        assert_eq!(rd(&mut rtc, 0x07, 10 * SEC, &mut irq), 0x31);
        let t1 = 10 * SEC + SEC / 4;
        wr(&mut rtc, 0x0B, B_24H, t1, &mut irq);
        assert_eq!(
            time(&mut rtc, t1, &mut irq),
            [0x58, 0x59, 0x23, 0x05, 0x31, 0x12, 0x99, 0x20]
        );
        // The divider kept its phase: updates still fall on whole virtual seconds, and
        // two of them roll the century into Friday 2100-01-01 (47482 days after
        // 1970-01-01; 47482 = 7 * 6783 + 1, Thursday + 1).
        assert_eq!(rd(&mut rtc, 0, 11 * SEC - 1, &mut irq), 0x58);
        assert_eq!(rd(&mut rtc, 0, 11 * SEC, &mut irq), 0x59);
        assert_eq!(
            time(&mut rtc, 12 * SEC, &mut irq),
            [0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00, 0x21]
        );
    }

    #[test]
    fn writes_while_running_move_the_clock() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(LEAP_DAY_2000);
        wr(&mut rtc, 0x02, 0x30, SEC / 2, &mut irq); // minutes := 30
        assert_eq!(time(&mut rtc, SEC, &mut irq)[..3], [0x01, 0x30, 0x00]);
        // The weekday is the chip's own counter: writing it does not move the date, and
        // it advances with the date from there.
        wr(&mut rtc, 0x06, 0x01, SEC, &mut irq);
        assert_eq!(time(&mut rtc, SEC, &mut irq)[3..6], [0x01, 0x29, 0x02]);
        assert_eq!(
            time(&mut rtc, SEC + 86_400 * SEC, &mut irq)[3..6],
            [0x02, 0x01, 0x03]
        );
    }

    #[test]
    fn divider_reset_stops_the_clock_and_restarts_half_a_second_late() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(LEAP_DAY_2000);
        wr(&mut rtc, 0x0A, 0x76, 3 * SEC / 2, &mut irq); // DV = 111: reset
        assert_eq!(rd(&mut rtc, 0, 100 * SEC, &mut irq), 0x01);
        wr(&mut rtc, 0x0A, 0x26, 100 * SEC, &mut irq);
        assert_eq!(rd(&mut rtc, 0, 100 * SEC + SEC / 2 - 1, &mut irq), 0x01);
        assert_eq!(rd(&mut rtc, 0, 100 * SEC + SEC / 2, &mut irq), 0x02);
        assert_eq!(rd(&mut rtc, 0, 101 * SEC + SEC / 2, &mut irq), 0x03);
    }

    #[test]
    fn index_port_masks_nmi_and_cmos_ram_holds_bytes() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(0);
        rtc.write(0x70, 0x8F, 0, &mut irq);
        assert!(rtc.nmi_masked());
        rtc.write(0x71, 0x5A, 0, &mut irq);
        rtc.write(0x70, 0x0F, 0, &mut irq);
        assert!(!rtc.nmi_masked());
        assert_eq!(rtc.read(0x71, 0, &mut irq), 0x5A);
        wr(&mut rtc, 0x7F, 0xA5, 0, &mut irq);
        assert_eq!(rd(&mut rtc, 0x7F, 0, &mut irq), 0xA5);
        // Epoch 0 is Thursday 1970-01-01: century byte 19, year 70, weekday 5.
        assert_eq!(
            time(&mut rtc, 0, &mut irq),
            [0, 0, 0, 0x05, 0x01, 0x01, 0x70, 0x19]
        );
    }

    #[test]
    fn config_bytes_and_checksum() {
        let mut rtc = Rtc::new(0);
        // 640 KB base, 32 MB total (31 MB extended), one 1.44 MB floppy, one hard disk.
        rtc.set_config(640, 31 * 1024, 4, 0, true, false);
        let c = *rtc.cmos_mut();
        assert_eq!(c[0x10], 0x40);
        assert_eq!(c[0x12], 0xF0);
        assert_eq!(c[0x14], 0x03);
        assert_eq!([c[0x15], c[0x16]], [0x80, 0x02]);
        assert_eq!([c[0x17], c[0x18]], [0x00, 0x7C]);
        assert_eq!([c[0x30], c[0x31]], [0x00, 0x7C]);
        assert_eq!(c[0x19], 47);
        // (31744 - 15360) / 64 = 256 blocks of 64 KB above 16 MB.
        assert_eq!([c[0x34], c[0x35]], [0x00, 0x01]);
        // 0x40 + 0xF0 + 0x03 + 0x80 + 0x02 + 0x00 + 0x7C + 0x2F = 0x260.
        assert_eq!([c[0x2E], c[0x2F]], [0x02, 0x60]);
        // Huge extended memory saturates at 65535 KB and 65535 blocks.
        rtc.set_config(640, 8 * 1024 * 1024, 4, 4, false, false);
        let c = *rtc.cmos_mut();
        assert_eq!(
            [c[0x17], c[0x18], c[0x34], c[0x35]],
            [0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(c[0x14], 0x43);
    }

    #[test]
    fn no_port_sequence_panics() {
        let mut irq = IrqLog::default();
        let mut rtc = Rtc::new(i64::MAX);
        let mut x: u32 = 12345;
        let mut now: Nanos = 0;
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let v = (x >> 16) as u8;
            now = now.wrapping_add(u64::from(x >> 8) * 97);
            match x % 5 {
                0 => rtc.write(0x70, v & 0xBF, now, &mut irq),
                1 => rtc.write(0x71, v, now, &mut irq),
                2 => {
                    rtc.read(0x71, now, &mut irq);
                }
                3 => rtc.tick(now, &mut irq),
                _ => {
                    let _ = rtc.next_event(now);
                }
            }
        }
        let _ = rtc.next_event(u64::MAX);
        rtc.tick(u64::MAX, &mut irq);
    }
}
