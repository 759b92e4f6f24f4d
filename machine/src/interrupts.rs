//! The PC's interrupt wiring: the 8259 pair, the 82093AA I/O APIC and the processor's
//! local APIC, as a board with a PIIX and an I/O APIC connects them (and as QEMU's `pc`
//! machine does):
//!
//! - every ISA IRQ line goes to the 8259s and to the I/O APIC pin of the same number,
//!   except IRQ 0 (the PIT), which is wired to pin 2 (the "IRQ 0 → INTIN2" interrupt
//!   source override of the MP table and the MADT); pin 0 is not connected;
//! - PCI PIRQA#–PIRQD# reach pins 16–19 (active low, level), besides the 8259 IRQ the
//!   PIIX3 routes them to (no device of this machine raises a PCI interrupt yet);
//! - the 8259's INTR output reaches the CPU through LINT0 of the local APIC in ExtINT
//!   mode, or directly while the APIC is globally disabled (IA32_APIC_BASE bit 11 clear);
//! - the local APIC is memory-mapped at IA32_APIC_BASE (FEE00000h), the I/O APIC at
//!   FEC00000h; level-triggered EOIs are broadcast from the local APIC to the I/O APIC.
//!
//! The CPU asks [`Interrupts::pending`] and [`Interrupts::ack`] (the bus's
//! `irq_pending`/`irq_ack`): a request the local APIC accepted comes first, then the
//! 8259's through LINT0.

use devices::ioapic::IoApic;
use devices::lapic::{LocalApic, Message};
use devices::pic::Pic;
use devices::{Irq, Nanos};

pub const IOAPIC_BASE: u32 = 0xFEC0_0000;
pub const LAPIC_BASE: u32 = 0xFEE0_0000;
/// The I/O APIC's ID (the processor's local APIC is 0).
pub const IOAPIC_ID: u8 = 1;
/// The first I/O APIC pin of PIRQA#.
pub const PIRQ_PIN: usize = 16;
/// IA32_APIC_BASE bit 11: the local APIC is globally enabled.
const APIC_GLOBAL_ENABLE: u64 = 1 << 11;

/// The interrupt controllers and their wiring.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Interrupts {
    pub i8259: Pic,
    pub ioapic: IoApic,
    pub lapic: LocalApic,
    /// IA32_APIC_BASE as the CPU last wrote it.
    apic_base: u64,
    /// The CPU model has a local APIC (CPUID.1:EDX.APIC).
    has_lapic: bool,
}

impl Interrupts {
    /// The controllers at power-on; `has_lapic` false leaves only the 8259s connected
    /// to the CPU (a 486 or Pentium model here).
    pub fn new(has_lapic: bool) -> Interrupts {
        // The PCI interrupt lines idle high (pulled up; INTx# is active low).
        let mut ioapic = IoApic::new(IOAPIC_ID);
        for link in 0..4 {
            ioapic.set_pin(PIRQ_PIN + link, true, &mut |_| {});
        }
        Interrupts {
            i8259: Pic::new(),
            ioapic,
            // Version 14h with 6 LVT entries (thermal included), as the Pentium M.
            lapic: LocalApic::new(0, 5),
            apic_base: LAPIC_BASE as u64 | APIC_GLOBAL_ENABLE | 1 << 8,
            has_lapic,
        }
    }

    /// The reset line: all three controllers start over.
    pub fn reset(&mut self) {
        *self = Interrupts::new(self.has_lapic);
    }

    /// A CPU reset or INIT: the local APIC (part of the processor) starts over.
    pub fn cpu_reset(&mut self) {
        self.lapic.reset();
        self.apic_base = LAPIC_BASE as u64 | APIC_GLOBAL_ENABLE | 1 << 8;
    }

    /// The CPU wrote IA32_APIC_BASE.
    pub fn set_apic_base(&mut self, v: u64) {
        if (v ^ self.apic_base) & APIC_GLOBAL_ENABLE != 0 {
            log::info!(target: "lapic", "local APIC globally {}", if v & APIC_GLOBAL_ENABLE != 0 { "enabled" } else { "disabled" });
        }
        self.apic_base = v;
    }

    fn lapic_on(&self) -> bool {
        self.has_lapic && self.apic_base & APIC_GLOBAL_ENABLE != 0
    }

    fn lapic_base(&self) -> u32 {
        self.apic_base as u32 & 0xFFFF_F000
    }

    /// Whether the CPU's interrupt request is asserted.
    pub fn pending(&self) -> bool {
        if !self.lapic_on() {
            return self.i8259.intr();
        }
        self.lapic.deliverable().is_some() || (self.lapic.extint_open() && self.i8259.intr())
    }

    /// The interrupt acknowledge: the vector the CPU runs.
    pub fn ack(&mut self) -> Option<u8> {
        if !self.lapic_on() {
            return self.i8259.intr().then(|| self.i8259.ack());
        }
        if self.lapic.deliverable().is_some() {
            return Some(self.lapic.ack());
        }
        if self.lapic.extint_open() && self.i8259.intr() {
            self.lapic.extint = false;
            return Some(self.i8259.ack());
        }
        None
    }

    // The 8259 ports and state, as before the APICs were wired in.
    pub fn read(&mut self, port: u16) -> u8 {
        self.i8259.read(port)
    }
    pub fn write(&mut self, port: u16, v: u8) {
        self.i8259.write(port, v)
    }
    pub fn intr(&self) -> bool {
        self.pending()
    }

    /// Drives ISA IRQ `irq` (0–15) at the 8259s and the I/O APIC.
    pub fn set_irq(&mut self, irq: u8, level: bool) {
        self.i8259.set_irq(irq, level);
        let pin = if irq == 0 { 2 } else { irq as usize };
        let lapic = &mut self.lapic;
        self.ioapic
            .set_pin(pin, level, &mut |m: Message| lapic.deliver(m));
    }

    /// Drives PCI interrupt link `link` (0–3, PIRQA#–PIRQD#) at its I/O APIC pin:
    /// `asserted` pulls the active-low line down.
    pub fn set_pirq(&mut self, link: usize, asserted: bool) {
        let lapic = &mut self.lapic;
        self.ioapic
            .set_pin(PIRQ_PIN + (link & 3), !asserted, &mut |m: Message| {
                lapic.deliver(m)
            });
    }

    /// The local APIC timer's next expiry.
    pub fn next_event(&self) -> Option<Nanos> {
        if self.lapic_on() {
            self.lapic.next_event()
        } else {
            None
        }
    }

    pub fn tick(&mut self, now: Nanos) {
        if self.lapic_on() {
            self.lapic.tick(now);
        }
    }

    /// Which APIC a physical address reaches: (local?, offset in the 4 KB page).
    fn window(&self, addr: u32) -> Option<(bool, u32)> {
        if self.lapic_on() && addr & !0xFFF == self.lapic_base() {
            return Some((true, addr & 0xFFF));
        }
        // The I/O APIC decodes FEC00000h–FEC00FFFh (its registers repeat every 32 bytes
        // on some boards; here only the two documented offsets answer).
        (self.has_lapic && addr & !0xFFF == IOAPIC_BASE).then_some((false, addr & 0xFFF))
    }

    /// A memory read the APICs answer, if `addr` is theirs.
    pub fn mmio_read(&mut self, addr: u32, size: u8, now: Nanos) -> Option<u32> {
        let (local, off) = self.window(addr)?;
        Some(if local {
            self.lapic.mmio_read(off, size, now)
        } else {
            self.ioapic.mmio_read(off, size)
        })
    }

    /// A memory write the APICs take, if `addr` is theirs.
    pub fn mmio_write(&mut self, addr: u32, size: u8, value: u32, now: Nanos) -> bool {
        let Some((local, off)) = self.window(addr) else {
            return false;
        };
        let lapic = &mut self.lapic;
        if local {
            if let Some(v) = lapic.mmio_write(off, size, value, now) {
                self.ioapic.eoi(v, &mut |m: Message| lapic.deliver(m));
            }
        } else {
            self.ioapic
                .mmio_write(off, size, value, &mut |m: Message| lapic.deliver(m));
        }
        true
    }
}

impl Irq for Interrupts {
    fn set_irq(&mut self, irq: u8, level: bool) {
        Interrupts::set_irq(self, irq, level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(i: &mut Interrupts, a: u32, v: u32) {
        assert!(i.mmio_write(a, 4, v, 0));
    }

    #[test]
    fn the_pit_reaches_the_cpu_through_pin_2_and_the_8259_through_lint0() {
        let mut i = Interrupts::new(true);
        // 8259: ICW1–ICW4, vectors 08h, then unmask IRQ 0.
        for (p, v) in [
            (0x20, 0x11),
            (0x21, 0x08),
            (0x21, 0x04),
            (0x21, 0x01),
            (0x21, 0xFE),
        ] {
            i.write(p, v);
        }
        i.set_irq(0, true);
        assert!(i.pending(), "ExtINT through LINT0 (reset state)");
        assert_eq!(i.ack(), Some(0x08));
        i.write(0x20, 0x20);
        i.set_irq(0, false);
        // Enable the APIC, mask LINT0 and route pin 2 to vector 30h.
        w(&mut i, LAPIC_BASE + 0xF0, 0x1FF);
        w(&mut i, LAPIC_BASE + 0x350, 0x1_0700);
        w(&mut i, IOAPIC_BASE, 0x14);
        w(&mut i, IOAPIC_BASE + 0x10, 0x30);
        i.set_irq(0, true);
        assert_eq!(i.ack(), Some(0x30));
        assert!(!i.pending(), "the 8259 request is blocked at LINT0");
        // Globally disabled: the 8259 reaches the CPU directly.
        i.set_apic_base(LAPIC_BASE as u64);
        assert!(i.pending());
        assert_eq!(i.ack(), Some(0x08));
        assert_eq!(i.mmio_read(LAPIC_BASE + 0x30, 4, 0), None);
    }

    #[test]
    fn a_level_eoi_reaches_the_io_apic() {
        let mut i = Interrupts::new(true);
        w(&mut i, LAPIC_BASE + 0xF0, 0x1FF);
        // Pin 9 (SCI): level, active high, vector 49h.
        w(&mut i, IOAPIC_BASE, 0x22);
        w(&mut i, IOAPIC_BASE + 0x10, 0x8049);
        i.set_irq(9, true);
        assert_eq!(i.ack(), Some(0x49));
        // Still asserted at the EOI: sent again.
        w(&mut i, LAPIC_BASE + 0xB0, 0);
        assert_eq!(i.ack(), Some(0x49));
        i.set_irq(9, false);
        w(&mut i, LAPIC_BASE + 0xB0, 0);
        assert!(!i.pending());
        // PIRQA# on pin 16, active low level, vector 51h.
        w(&mut i, IOAPIC_BASE, 0x30);
        w(&mut i, IOAPIC_BASE + 0x10, 0xA051);
        assert!(!i.pending(), "deasserted PIRQ line is high");
        i.set_pirq(0, true);
        assert_eq!(i.ack(), Some(0x51));
    }
}
