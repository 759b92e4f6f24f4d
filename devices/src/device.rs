//! The interface every chip on the PC's buses offers the machine, so the machine can
//! keep its devices in one table: the I/O ports a device decodes, port reads and
//! writes (with the current virtual time and the interrupt lines at hand), reads and
//! writes of memory regions it owns (MMIO), when it next needs time and catching up to
//! it, and the reset line.
//!
//! Port ranges are asked for again whenever configuration changed (a PCI BAR moved), so
//! a device whose decoding is programmable returns where it decodes now.

use crate::{Irq, Nanos};
use std::any::Any;

/// What a device gets on every access besides its arguments.
pub struct Ctx<'a> {
    /// Virtual time now.
    pub now: Nanos,
    /// The ISA interrupt lines.
    pub irq: &'a mut dyn Irq,
}

/// A chip on the PC's buses. Accesses of 2 or 4 bytes reach the device whole (it splits
/// them if the hardware does).
pub trait Device: Any {
    /// The device's name, for logs.
    fn name(&self) -> &'static str;

    /// The I/O port ranges (first port, count) the device decodes now.
    fn ports(&self) -> Vec<(u16, u16)>;

    /// Reads `size` (1, 2 or 4) bytes at `port`.
    fn io_read(&mut self, port: u16, size: u8, ctx: &mut Ctx) -> u32;

    /// Writes `size` bytes at `port`.
    fn io_write(&mut self, port: u16, size: u8, value: u32, ctx: &mut Ctx);

    /// Memory regions (base, length) the device owns now; the machine routes physical
    /// addresses there that no RAM claims.
    fn mmio_regions(&self) -> Vec<(u32, u32)> {
        Vec::new()
    }

    /// Reads `size` bytes at physical address `addr` of an owned region.
    fn mmio_read(&mut self, _addr: u32, size: u8, _ctx: &mut Ctx) -> u32 {
        match size {
            1 => 0xFF,
            2 => 0xFFFF,
            _ => 0xFFFF_FFFF,
        }
    }

    /// Writes `size` bytes at physical address `addr` of an owned region.
    fn mmio_write(&mut self, _addr: u32, _size: u8, _value: u32, _ctx: &mut Ctx) {}

    /// The virtual time the device next needs [`Device::tick`], if any.
    fn next_event(&self, _now: Nanos) -> Option<Nanos> {
        None
    }

    /// Catches up to `ctx.now`.
    fn tick(&mut self, _ctx: &mut Ctx) {}

    /// The reset line: back to the power-on state (attached media stay).
    fn reset(&mut self) {}

    /// The device's state for a machine snapshot (host resources excluded).
    fn save_state(&self) -> Result<serde_json::Value, String>;

    /// Restores a state from [`Device::save_state`]; fails, changing nothing, when it
    /// does not fit this device.
    fn load_state(&mut self, state: serde_json::Value) -> Result<(), String>;
}

/// `save_state` and `load_state` for a device whose whole struct is its state.
#[macro_export]
macro_rules! plain_state {
    () => {
        fn save_state(&self) -> Result<serde_json::Value, String> {
            serde_json::to_value(self).map_err(|e| format!("{}: {e}", self.name()))
        }
        fn load_state(&mut self, state: serde_json::Value) -> Result<(), String> {
            *self = serde_json::from_value(state).map_err(|e| format!("{}: {e}", self.name()))?;
            Ok(())
        }
    };
}
