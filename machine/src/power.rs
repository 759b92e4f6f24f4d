//! What the machine does with the ACPI PM block's sleep requests (`devices::acpi`):
//! S5 (soft off) ends the run with [`Exit::PowerOff`]; the other sleep states are not
//! modelled (the DSDT offers only `\_S5`), so the guest continues as if woken at once.

use crate::{Exit, PcBus};
use devices::acpi::{AcpiPm, SLP_TYP_S5};

impl PcBus {
    /// Acts on a sleep request the guest wrote to PM1_CNT (called between CPU slices).
    pub(crate) fn acpi_sleep(&mut self) {
        let Some(typ) = self.device_mut::<AcpiPm>().and_then(|pm| pm.take_sleep()) else {
            return;
        };
        if typ == SLP_TYP_S5 {
            log::info!(target: "acpi", "S5: powering off");
            self.exit.get_or_insert(Exit::PowerOff);
        } else {
            log::info!(target: "acpi", "sleep type {typ} is not modelled; the guest resumes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpu::Bus;

    #[test]
    fn s5_powers_off_and_the_fadt_reset_register_resets() {
        let mut bus = PcBus::new(2, vec![0xF4; 64 << 10], 0, 1_000_000);
        // SLP_TYP 1 (not modelled) then 5 with SLP_EN (bit 13): 0x2400, 0x3400.
        bus.io_write(0x604, 2, 0x2400);
        bus.acpi_sleep();
        assert_eq!(bus.exit, None);
        bus.io_write(0x604, 2, 0x3400);
        bus.acpi_sleep();
        assert_eq!(bus.exit, Some(Exit::PowerOff));
        // The FADT's RESET_REG: I/O port CF9h, RESET_VALUE 06h.
        bus.io_write(0xCF9, 1, 0x06);
        assert!(bus.reset_requested);
    }
}
