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
