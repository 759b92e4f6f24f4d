//! PC devices. Each chip lives in its own module with its own unit tests; none of them
//! knows about the CPU or about each other. The machine hands every call the current
//! virtual time and an [`Irq`] sink, and asks each device when it next needs time.

pub mod acpi;
pub mod atapi;
pub mod block;
pub mod bmide;
pub mod device;
pub mod dma;
pub mod fdc;
pub mod font;
pub mod fw_cfg;
pub mod i440fx;
pub mod i8042;
pub mod ide;
pub mod ioapic;
pub mod lapic;
pub mod pci;
pub mod pic;
pub mod piix3;
pub mod pit;
pub mod rtc;
pub mod state;
pub mod uart;
pub mod vga;

/// Virtual time in nanoseconds since power-on.
pub type Nanos = u64;

/// Where a device drives its interrupt request line(s). Lines are ISA IRQ numbers
/// (0–15); the machine routes them to the interrupt controllers.
pub trait Irq {
    fn set_irq(&mut self, irq: u8, level: bool);
}

/// A borrowed sink is a sink, so a `&mut dyn Irq` reaches code generic over `Irq`.
impl<T: Irq + ?Sized> Irq for &mut T {
    fn set_irq(&mut self, irq: u8, level: bool) {
        (**self).set_irq(irq, level);
    }
}

/// A sink that records line levels, for device unit tests.
#[derive(Default, Debug, serde::Serialize, serde::Deserialize)]
pub struct IrqLog {
    pub levels: [bool; 16],
    /// Every (irq, level) change, in order.
    pub changes: Vec<(u8, bool)>,
}

impl Irq for IrqLog {
    fn set_irq(&mut self, irq: u8, level: bool) {
        let i = irq as usize & 15;
        if self.levels[i] != level {
            self.levels[i] = level;
            self.changes.push((irq, level));
        }
    }
}

impl IrqLog {
    /// How many rising edges `irq` has seen.
    pub fn rises(&self, irq: u8) -> usize {
        self.changes.iter().filter(|&&(i, l)| i == irq && l).count()
    }
}
