//! The ACPI fixed hardware of this machine: the PM1a event block (PM1_STS, PM1_EN) at
//! port 600h, the PM1a control block (PM1_CNT) at 604h and the 24-bit power-management
//! timer (PM_TMR) at 608h — QEMU's PIIX4 PM I/O base and layout, which the FADT the
//! built-in BIOS writes describes. Register bits follow the ACPI specification 6.x
//! §4.8.3 (PM1 event and control registers) and §4.8.3.3 (the PM timer).
//!
//! - The PM timer runs at 3.579545 MHz from virtual time; TMR_STS is set each time bit
//!   23 of the count changes, which raises the SCI (ISA IRQ 9, level) while TMR_EN is on.
//! - There is no SMI command port (FADT SMI_CMD = 0): the hardware is always in ACPI
//!   mode, so SCI_EN reads as 1.
//! - Writing SLP_EN with a sleep type records a sleep request that the machine acts on:
//!   SLP_TYP 5 is S5 (soft off; the DSDT's `\_S5` package says 5), which ends the run.
//!   Other sleep types are not modelled: the write sets WAK_STS at once, as if a wake
//!   event had followed.
//!
//! Log target: `acpi`.

use crate::device::{Ctx, Device};
use crate::Nanos;

/// The PM I/O base (QEMU's PIIX4 PMBA) and the blocks in it.
pub const PM_BASE: u16 = 0x600;
pub const PM1A_EVT: u16 = PM_BASE;
pub const PM1A_CNT: u16 = PM_BASE + 4;
pub const PM_TMR: u16 = PM_BASE + 8;
/// The SCI's ISA IRQ (FADT SCI_INT).
pub const SCI_IRQ: u8 = 9;
/// The SLP_TYP value of S5 (soft off) in PM1_CNT.
pub const SLP_TYP_S5: u8 = 5;
pub const PM_TIMER_HZ: u64 = 3_579_545;

const TMR_STS: u16 = 1 << 0;
const WAK_STS: u16 = 1 << 15;
/// Status bits this hardware can set: TMR, BM (4), GBL (5), PWRBTN (8), SLPBTN (9),
/// RTC (10), WAK (15).
const STS_BITS: u16 = 0x8731;
/// Enable bits: TMR, GBL, PWRBTN, SLPBTN, RTC.
const EN_BITS: u16 = 0x0721;
const SCI_EN: u16 = 1 << 0;
const SLP_EN: u16 = 1 << 13;

/// PM timer ticks at virtual time `ns`.
pub fn pm_ticks(ns: Nanos) -> u64 {
    (ns as u128 * PM_TIMER_HZ as u128 / 1_000_000_000) as u64
}

/// The first virtual time at which tick `t` has happened.
fn ns_of_tick(t: u64) -> Nanos {
    ((t as u128 * 1_000_000_000).div_ceil(PM_TIMER_HZ as u128)).min(u64::MAX as u128) as u64
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AcpiPm {
    sts: u16,
    en: u16,
    cnt: u16,
    /// The timer's bit-23 half-period (ticks >> 23) last seen, for TMR_STS.
    tmr_epoch: u64,
    /// A sleep type written with SLP_EN, for the machine.
    sleep: Option<u8>,
}

impl AcpiPm {
    pub fn new() -> AcpiPm {
        AcpiPm::default()
    }

    /// The sleep type of the last SLP_EN write, once.
    pub fn take_sleep(&mut self) -> Option<u8> {
        self.sleep.take()
    }

    /// The 24-bit timer value at `now`.
    pub fn timer(now: Nanos) -> u32 {
        (pm_ticks(now) & 0xFF_FFFF) as u32
    }

    fn update(&mut self, ctx: &mut Ctx) {
        let epoch = pm_ticks(ctx.now) >> 23;
        if epoch != self.tmr_epoch {
            self.tmr_epoch = epoch;
            self.sts |= TMR_STS;
        }
        ctx.irq.set_irq(SCI_IRQ, self.sts & self.en != 0);
    }

    fn read_byte(&self, port: u16, now: Nanos) -> u8 {
        let (reg, shift) = match port.wrapping_sub(PM_BASE) {
            o @ 0..=1 => (self.sts as u32, o * 8),
            o @ 2..=3 => (self.en as u32, (o - 2) * 8),
            o @ 4..=5 => ((self.cnt | SCI_EN) as u32, (o - 4) * 8),
            o @ 8..=11 => (Self::timer(now), (o - 8) * 8),
            _ => return 0xFF,
        };
        (reg >> shift) as u8
    }

    fn write_byte(&mut self, port: u16, v: u8) {
        match port.wrapping_sub(PM_BASE) {
            o @ 0..=1 => self.sts &= !((v as u16) << (8 * o) & STS_BITS),
            o @ 2..=3 => {
                let mask = 0xFFu16 << (8 * (o - 2));
                self.en = (self.en & !mask) | ((v as u16) << (8 * (o - 2)) & EN_BITS);
            }
            4 => self.cnt = (self.cnt & 0xFF00) | (v as u16 & 0x06),
            5 => {
                let w = (v as u16) << 8;
                self.cnt = (self.cnt & 0x00FF) | (w & 0x1C00);
                if w & SLP_EN != 0 {
                    let typ = (w >> 10 & 7) as u8;
                    log::info!(target: "acpi", "sleep request: SLP_TYP {typ}");
                    self.sleep = Some(typ);
                    if typ != SLP_TYP_S5 {
                        self.sts |= WAK_STS;
                    }
                }
            }
            _ => {}
        }
    }
}

impl Device for AcpiPm {
    fn name(&self) -> &'static str {
        "acpi-pm"
    }
    crate::plain_state!();

    fn ports(&self) -> Vec<(u16, u16)> {
        vec![(PM1A_EVT, 4), (PM1A_CNT, 2), (PM_TMR, 4)]
    }

    fn io_read(&mut self, port: u16, size: u8, ctx: &mut Ctx) -> u32 {
        self.update(ctx);
        (0..size.min(4) as u16).fold(0, |acc, i| {
            acc | (self.read_byte(port.wrapping_add(i), ctx.now) as u32) << (8 * i)
        })
    }

    fn io_write(&mut self, port: u16, size: u8, value: u32, ctx: &mut Ctx) {
        self.update(ctx);
        for i in 0..size.min(4) as u16 {
            self.write_byte(port.wrapping_add(i), (value >> (8 * i)) as u8);
        }
        ctx.irq.set_irq(SCI_IRQ, self.sts & self.en != 0);
    }

    fn next_event(&self, _now: Nanos) -> Option<Nanos> {
        // Only an enabled timer status needs time: the next change of bit 23.
        (self.en & TMR_STS != 0 && self.sts & TMR_STS == 0)
            .then(|| ns_of_tick((self.tmr_epoch + 1) << 23))
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        self.update(ctx);
    }

    fn reset(&mut self) {
        *self = AcpiPm::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IrqLog;

    #[test]
    fn pm_timer_counts_3_579545_mhz() {
        // 1 s of virtual time = 3 579 545 ticks; 5 s = 17 897 725 = 0x111_18FD
        // (16 777 216 + 0x11 × 65 536 + 0x18FD), which the 24-bit register shows as
        // 0x11_18FD.
        let mut pm = AcpiPm::new();
        let mut irq = IrqLog::default();
        let mut ctx = Ctx {
            now: 1_000_000_000,
            irq: &mut irq,
        };
        assert_eq!(pm.io_read(PM_TMR, 4, &mut ctx), 3_579_545);
        ctx.now = 5_000_000_000;
        assert_eq!(pm.io_read(PM_TMR, 4, &mut ctx), 0x11_18FD);
        // Bit 23 changed (0x111_18FD >> 23 = 2): TMR_STS, write 1 to clear.
        assert_eq!(pm.io_read(PM1A_EVT, 2, &mut ctx) & 1, 1);
        pm.io_write(PM1A_EVT, 2, 1, &mut ctx);
        assert_eq!(pm.io_read(PM1A_EVT, 2, &mut ctx) & 1, 0);
        // With TMR_EN the next change of bit 23 raises the SCI: tick 3 << 23 =
        // 25 165 824 at 25 165 824 × 10^9 / 3 579 545 = 7 030 453 311.4… ns, rounded up.
        pm.io_write(PM1A_EVT + 2, 2, 1, &mut ctx);
        assert_eq!(pm.next_event(ctx.now), Some(7_030_453_312));
        ctx.now = 7_030_453_312;
        pm.tick(&mut ctx);
        assert!(irq.levels[9]);
    }

    #[test]
    fn slp_en_with_s5_requests_power_off() {
        let mut pm = AcpiPm::new();
        let mut irq = IrqLog::default();
        let mut ctx = Ctx {
            now: 0,
            irq: &mut irq,
        };
        assert_eq!(
            pm.io_read(PM1A_CNT, 2, &mut ctx) & 1,
            1,
            "SCI_EN: ACPI mode"
        );
        // SLP_TYP 5 (bits 12:10) and SLP_EN (bit 13): 0x2000 | 5 << 10 = 0x3400.
        pm.io_write(PM1A_CNT, 2, 0x3400, &mut ctx);
        assert_eq!(pm.take_sleep(), Some(5));
        assert_eq!(pm.take_sleep(), None);
        assert_eq!(pm.io_read(PM1A_CNT, 2, &mut ctx), 0x1401, "SLP_EN reads 0");
    }
}
