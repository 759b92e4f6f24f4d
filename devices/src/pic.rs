//! Intel 8259A programmable interrupt controllers, cascaded as in the PC/AT: the master
//! at ports 0x20/0x21 takes IRQ 0–7 and the slave at 0xA0/0xA1 takes IRQ 8–15 on the
//! master's IR2. Follows the 8259A datasheet: ICW1–ICW4 initialisation, OCW1 (mask),
//! OCW2 (non-specific/specific EOI, rotation), OCW3 (IRR/ISR read, poll, special mask),
//! edge and level triggering (with the ELCR registers at 0x4D0/0x4D1 as on PCI-era
//! chipsets), automatic EOI, and the spurious IRQ 7/15 when a request vanishes before
//! the acknowledge.
//!
//! Log target: `pic`.

/// One 8259A.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Chip {
    pub irr: u8,
    pub isr: u8,
    pub imr: u8,
    /// Vector base from ICW2 (low three bits are the IRQ number).
    pub base: u8,
    /// Input line levels, for edge detection and level-triggered requests.
    lines: u8,
    /// ELCR: 1 = level-triggered.
    pub elcr: u8,
    /// Lowest-priority IRQ (priority rotates after it).
    lowest: u8,
    /// Initialisation sequence: 0 = done, else the next ICW expected (2, 3, 4).
    icw_step: u8,
    icw4_needed: bool,
    single: bool,
    auto_eoi: bool,
    rotate_on_aeoi: bool,
    read_isr: bool,
    poll: bool,
    special_mask: bool,
    level_mode_icw1: bool,
}

impl Chip {
    fn new() -> Self {
        Chip {
            lowest: 7,
            // Nothing may interrupt before the BIOS initialises the chip (ICW1 clears
            // the mask): an unprogrammed 8254 drives IRQ 0 high from power-on.
            imr: 0xFF,
            ..Default::default()
        }
    }

    /// IRQ numbers in priority order, highest first.
    fn priority_order(&self) -> impl Iterator<Item = u8> + '_ {
        (1..=8).map(move |i| (self.lowest + i) & 7)
    }

    /// The highest-priority request that may interrupt now.
    fn pending(&self) -> Option<u8> {
        let req = self.irr & !self.imr;
        if req == 0 {
            return None;
        }
        for irq in self.priority_order() {
            let bit = 1 << irq;
            // In special mask mode only masked ISR bits stop lower priorities.
            if self.isr & bit != 0 && !self.special_mask {
                return None;
            }
            if req & bit != 0 {
                return Some(irq);
            }
        }
        None
    }

    fn set_line(&mut self, irq: u8, level: bool) {
        let bit = 1 << (irq & 7);
        let was = self.lines & bit != 0;
        if level {
            self.lines |= bit;
            if !was || self.is_level(irq) {
                self.irr |= bit;
            }
        } else {
            // A request must stay high until the acknowledge in either trigger mode; one
            // that goes away is withdrawn (and an acknowledge then yields IRQ 7).
            self.lines &= !bit;
            self.irr &= !bit;
        }
    }

    fn is_level(&self, irq: u8) -> bool {
        self.level_mode_icw1 || self.elcr & (1 << (irq & 7)) != 0
    }

    /// The acknowledge cycle: moves the request to in-service and returns the IRQ, or
    /// the spurious IRQ 7 if the request went away.
    fn ack(&mut self) -> u8 {
        match self.pending() {
            Some(irq) => {
                let bit = 1 << irq;
                if !self.is_level(irq) {
                    self.irr &= !bit;
                }
                if self.auto_eoi {
                    if self.rotate_on_aeoi {
                        self.lowest = irq;
                    }
                } else {
                    self.isr |= bit;
                }
                irq
            }
            None => 7,
        }
    }

    fn highest_isr(&self) -> Option<u8> {
        self.priority_order().find(|&i| self.isr & (1 << i) != 0)
    }

    /// `name` ("master" or "slave") only labels log messages.
    fn write(&mut self, name: &str, a0: bool, v: u8) {
        if !a0 {
            if v & 0x10 != 0 {
                log::debug!(
                    target: "pic",
                    "{name}: icw1 {v:#04x} ({}, {}, icw4 {})",
                    if v & 8 != 0 { "level" } else { "edge" },
                    if v & 2 != 0 { "single" } else { "cascade" },
                    if v & 1 != 0 { "needed" } else { "not needed" },
                );
                // ICW1 starts initialisation: clears IMR and ISR, IRQ 7 lowest priority.
                self.icw_step = 2;
                self.icw4_needed = v & 1 != 0;
                self.single = v & 2 != 0;
                self.level_mode_icw1 = v & 8 != 0;
                self.imr = 0;
                self.isr = 0;
                self.irr = 0;
                self.lowest = 7;
                self.read_isr = false;
                self.special_mask = false;
                self.auto_eoi = false;
                return;
            }
            if v & 0x08 != 0 {
                // OCW3
                log::trace!(target: "pic", "{name}: ocw3 {v:#04x}");
                if v & 0x02 != 0 {
                    self.read_isr = v & 1 != 0;
                }
                self.poll = v & 0x04 != 0;
                if v & 0x40 != 0 {
                    self.special_mask = v & 0x20 != 0;
                }
                return;
            }
            // OCW2: R, SL, EOI in bits 7–5, level in bits 2–0.
            log::trace!(target: "pic", "{name}: ocw2 {v:#04x}");
            let level = v & 7;
            match v >> 5 {
                0b001 => {
                    if let Some(i) = self.highest_isr() {
                        self.isr &= !(1 << i);
                    }
                }
                0b011 => self.isr &= !(1 << level),
                0b101 => {
                    if let Some(i) = self.highest_isr() {
                        self.isr &= !(1 << i);
                        self.lowest = i;
                    }
                }
                0b100 => self.rotate_on_aeoi = true,
                0b000 => self.rotate_on_aeoi = false,
                0b111 => {
                    self.isr &= !(1 << level);
                    self.lowest = level;
                }
                0b110 => self.lowest = level,
                _ => {}
            }
            return;
        }
        match self.icw_step {
            2 => {
                self.base = v & 0xF8;
                log::debug!(target: "pic", "{name}: icw2 vector base {:#04x}", self.base);
                self.icw_step = if self.single {
                    if self.icw4_needed {
                        4
                    } else {
                        0
                    }
                } else {
                    3
                };
                if self.icw_step == 0 {
                    log::debug!(target: "pic", "{name}: initialised");
                }
            }
            3 => {
                log::debug!(target: "pic", "{name}: icw3 {v:#04x}");
                self.icw_step = if self.icw4_needed { 4 } else { 0 };
            }
            4 => {
                self.auto_eoi = v & 2 != 0;
                self.icw_step = 0;
                log::debug!(
                    target: "pic",
                    "{name}: icw4 {v:#04x} (auto eoi {}), initialised",
                    self.auto_eoi
                );
            }
            _ => {
                if self.imr != v {
                    log::debug!(target: "pic", "{name}: mask {:#04x} -> {v:#04x}", self.imr);
                }
                self.imr = v;
            }
        }
    }

    fn read(&mut self, a0: bool) -> u8 {
        if self.poll {
            // Poll command: the read acts as an acknowledge (bit 7 = request present).
            self.poll = false;
            return match self.pending() {
                Some(_) => 0x80 | self.ack(),
                None => 0,
            };
        }
        if a0 {
            self.imr
        } else if self.read_isr {
            self.isr
        } else {
            self.irr
        }
    }
}

/// The cascaded pair.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Pic {
    pub master: Chip,
    pub slave: Chip,
}

impl Default for Pic {
    fn default() -> Self {
        Self::new()
    }
}

impl Pic {
    pub fn new() -> Self {
        Pic {
            master: Chip::new(),
            slave: Chip::new(),
        }
    }

    /// Drives ISA IRQ line `irq` (0–15).
    pub fn set_irq(&mut self, irq: u8, level: bool) {
        if irq < 8 {
            self.master.set_line(irq, level);
        } else {
            self.slave.set_line(irq - 8, level);
            self.update_cascade();
        }
    }

    /// The slave's INT output is the master's IR2 input.
    fn update_cascade(&mut self) {
        let int = self.slave.pending().is_some();
        self.master.set_line(2, int);
    }

    /// Whether the CPU's INTR line is asserted.
    pub fn intr(&self) -> bool {
        self.master.pending().is_some()
    }

    /// The INTA cycle: the vector the CPU runs (spurious vectors for IRQ 7/15 when the
    /// request disappeared).
    pub fn ack(&mut self) -> u8 {
        let irq = self.master.ack();
        if irq == 2 && !self.master.single {
            let s = self.slave.ack();
            self.update_cascade();
            return self.slave.base | s;
        }
        self.master.base | irq
    }

    pub fn read(&mut self, port: u16) -> u8 {
        let v = match port {
            0x20 | 0x21 => self.master.read(port & 1 != 0),
            0xA0 | 0xA1 => {
                let v = self.slave.read(port & 1 != 0);
                self.update_cascade();
                v
            }
            0x4D0 => self.master.elcr,
            0x4D1 => self.slave.elcr,
            _ => 0xFF,
        };
        log::trace!(target: "pic", "read {port:#06x} -> {v:#04x}");
        v
    }

    pub fn write(&mut self, port: u16, v: u8) {
        log::trace!(target: "pic", "write {port:#06x} <- {v:#04x}");
        match port {
            0x20 | 0x21 => self.master.write("master", port & 1 != 0, v),
            0xA0 | 0xA1 => {
                self.slave.write("slave", port & 1 != 0, v);
                self.update_cascade();
            }
            // IRQ 0, 1, 2, 8 and 13 are always edge-triggered on a PIIX.
            0x4D0 => {
                self.master.elcr = v & 0xF8;
                log::debug!(target: "pic", "master: elcr {:#04x}", self.master.elcr);
            }
            0x4D1 => {
                self.slave.elcr = v & 0xDE;
                log::debug!(target: "pic", "slave: elcr {:#04x}", self.slave.elcr);
            }
            _ => {}
        }
    }
}

impl crate::Irq for Pic {
    fn set_irq(&mut self, irq: u8, level: bool) {
        Pic::set_irq(self, irq, level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PC BIOS initialisation: ICW1 = 11h (edge, cascade, ICW4), vectors 08h/70h,
    /// ICW3 master 04h (slave on IR2) / slave 02h, ICW4 = 01h (8086 mode).
    fn at_pic() -> Pic {
        let mut p = Pic::new();
        for (port, v) in [
            (0x20, 0x11),
            (0x21, 0x08),
            (0x21, 0x04),
            (0x21, 0x01),
            (0xA0, 0x11),
            (0xA1, 0x70),
            (0xA1, 0x02),
            (0xA1, 0x01),
        ] {
            p.write(port, v);
        }
        p
    }

    #[test]
    fn edge_request_is_acknowledged_with_the_programmed_vector() {
        let mut p = at_pic();
        assert!(!p.intr());
        p.set_irq(0, true);
        assert!(p.intr());
        assert_eq!(p.ack(), 0x08);
        assert_eq!(p.master.isr, 1);
        // In service: no further interrupt until EOI, even on a new edge.
        p.set_irq(0, false);
        p.set_irq(0, true);
        assert!(!p.intr());
        p.write(0x20, 0x20); // non-specific EOI
        assert!(p.intr());
    }

    #[test]
    fn priority_and_nesting() {
        let mut p = at_pic();
        p.set_irq(3, true);
        p.set_irq(1, true);
        assert_eq!(p.ack(), 0x09, "IRQ1 beats IRQ3");
        // IRQ3 is lower priority than the in-service IRQ1: held off.
        assert!(!p.intr());
        p.set_irq(0, true);
        assert_eq!(p.ack(), 0x08, "IRQ0 nests above IRQ1");
        p.write(0x20, 0x20); // EOI clears the highest ISR bit, IRQ0
        assert_eq!(p.master.isr, 0b10);
        p.write(0x20, 0x61); // specific EOI for IRQ1
        assert_eq!(p.ack(), 0x0B);
    }

    #[test]
    fn mask_register_blocks_requests() {
        let mut p = at_pic();
        p.write(0x21, 0xFF);
        assert_eq!(p.read(0x21), 0xFF);
        p.set_irq(4, true);
        assert!(!p.intr());
        p.write(0x21, 0xEF);
        assert!(p.intr());
    }

    #[test]
    fn slave_cascades_through_ir2() {
        let mut p = at_pic();
        p.set_irq(14, true);
        assert!(p.intr());
        assert_eq!(p.ack(), 0x76);
        assert_eq!(p.master.isr, 1 << 2);
        assert_eq!(p.slave.isr, 1 << 6);
        p.write(0xA0, 0x20);
        p.write(0x20, 0x20);
        assert_eq!((p.master.isr, p.slave.isr), (0, 0));
    }

    #[test]
    fn irr_and_isr_reads_via_ocw3() {
        let mut p = at_pic();
        p.set_irq(5, true);
        p.write(0x20, 0x0A); // OCW3: read IRR
        assert_eq!(p.read(0x20), 1 << 5);
        p.ack();
        p.write(0x20, 0x0B); // OCW3: read ISR
        assert_eq!(p.read(0x20), 1 << 5);
    }

    #[test]
    fn spurious_irq7_when_request_vanishes_before_ack() {
        let mut p = at_pic();
        p.write(0x4D0, 0x20); // IRQ5 level-triggered
        p.set_irq(5, true);
        assert!(p.intr());
        p.set_irq(5, false);
        assert_eq!(p.ack(), 0x0F);
        assert_eq!(p.master.isr, 0, "a spurious IRQ sets no ISR bit");
    }

    #[test]
    fn level_triggered_request_stays_while_the_line_is_high() {
        let mut p = at_pic();
        p.write(0x4D1, 0x08); // IRQ11 level
        p.set_irq(11, true);
        assert_eq!(p.ack(), 0x73);
        p.write(0xA0, 0x20);
        p.write(0x20, 0x20);
        assert!(p.intr(), "still asserted");
        p.set_irq(11, false);
        assert!(!p.intr());
    }

    #[test]
    fn auto_eoi_leaves_isr_clear() {
        let mut p = Pic::new();
        for (port, v) in [(0x20, 0x11), (0x21, 0x20), (0x21, 0x04), (0x21, 0x03)] {
            p.write(port, v);
        }
        p.set_irq(1, true);
        assert_eq!(p.ack(), 0x21);
        assert_eq!(p.master.isr, 0);
    }

    #[test]
    fn icw1_resets_mask_and_in_service() {
        let mut p = at_pic();
        p.write(0x21, 0x55);
        p.set_irq(0, true);
        p.ack();
        p.write(0x20, 0x11);
        assert_eq!((p.master.imr, p.master.isr), (0, 0));
    }

    #[test]
    fn rotate_on_nonspecific_eoi_makes_the_serviced_irq_lowest() {
        let mut p = at_pic();
        p.set_irq(0, true);
        p.ack();
        p.write(0x20, 0xA0); // rotate on non-specific EOI
        p.set_irq(0, false);
        p.set_irq(0, true);
        p.set_irq(3, true);
        assert_eq!(p.ack(), 0x0B, "IRQ0 now has the lowest priority");
    }
}
