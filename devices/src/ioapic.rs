//! The Intel 82093AA I/O APIC at FEC00000h: 24 interrupt input pins, each with a 64-bit
//! redirection table entry that turns the pin into a message to the local APICs. Reached
//! through the index register IOREGSEL (offset 00h) and the data window IOWIN (10h).
//! Registers (82093AA datasheet, 290566, §3.2): 00h ID (bits 27:24), 01h version (11h,
//! maximum redirection entry 17h in bits 23:16), 02h arbitration ID, 10h–3Fh the
//! redirection table (vector, delivery mode, destination mode, delivery status,
//! polarity, remote IRR, trigger mode, mask, destination).
//!
//! Edge-triggered pins send a message on each assertion (a rising edge of the asserted
//! level, polarity applied). Level-triggered pins send one while asserted and set the
//! remote IRR, which the local APIC's EOI broadcast of the entry's vector clears; a pin
//! still asserted then sends again (§3.2.4, "Remote IRR").
//!
//! Log target: `ioapic`.

use crate::lapic::Message;

pub const PINS: usize = 24;
const MASKED: u64 = 1 << 16;
const LEVEL: u64 = 1 << 15;
const REMOTE_IRR: u64 = 1 << 14;
const ACTIVE_LOW: u64 = 1 << 13;
/// Writable bits: vector, delivery mode, destination mode, polarity, trigger, mask,
/// destination (delivery status and remote IRR are read-only).
const WRITABLE: u64 = 0xFF00_0000_0001_AFFF;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct IoApic {
    id: u8,
    sel: u8,
    redir: Vec<u64>,
    /// Electrical level of each pin.
    lines: u32,
    /// Bytes of a narrow write waiting for the register's last byte.
    latch: [u8; 4],
}

impl Default for IoApic {
    fn default() -> Self {
        Self::new(0)
    }
}

impl IoApic {
    pub fn new(id: u8) -> IoApic {
        IoApic {
            id,
            sel: 0,
            redir: vec![MASKED; PINS],
            lines: 0,
            latch: [0; 4],
        }
    }

    /// RESET: every entry masked (§3.2.4), the ID kept as the board strapped it.
    pub fn reset(&mut self) {
        *self = IoApic {
            lines: self.lines,
            ..IoApic::new(self.id)
        };
    }

    pub fn entry(&self, pin: usize) -> u64 {
        self.redir.get(pin).copied().unwrap_or(0)
    }

    fn asserted(&self, pin: usize) -> bool {
        let high = self.lines & (1 << pin) != 0;
        high != (self.entry(pin) & ACTIVE_LOW != 0)
    }

    fn message(e: u64) -> Message {
        Message {
            vector: e as u8,
            mode: (e >> 8 & 7) as u8,
            logical: e & (1 << 11) != 0,
            dest: (e >> 56) as u8,
            level: e & LEVEL != 0,
        }
    }

    /// Sends pin's message if a level-triggered pin is asserted, unmasked and not
    /// waiting for its EOI.
    fn service_level(&mut self, pin: usize, out: &mut impl FnMut(Message)) {
        let e = self.entry(pin);
        if e & (LEVEL | MASKED | REMOTE_IRR) == LEVEL && self.asserted(pin) {
            // ExtINT messages carry no vector to end: no remote IRR wait.
            if (e >> 8 & 7) != 7 {
                self.redir[pin] |= REMOTE_IRR;
            }
            out(Self::message(e));
        }
    }

    /// Drives input `pin` to the electrical level `high`; messages go to `out`.
    pub fn set_pin(&mut self, pin: usize, high: bool, out: &mut impl FnMut(Message)) {
        if pin >= PINS {
            return;
        }
        let before = self.asserted(pin);
        if high {
            self.lines |= 1 << pin;
        } else {
            self.lines &= !(1 << pin);
        }
        let e = self.entry(pin);
        if e & LEVEL != 0 {
            self.service_level(pin, out);
        } else if !before && self.asserted(pin) && e & MASKED == 0 {
            out(Self::message(e));
        }
    }

    /// The local APIC's EOI of `vector` for a level-triggered interrupt: clears the
    /// remote IRR of the entries with that vector and resends those still asserted.
    pub fn eoi(&mut self, vector: u8, out: &mut impl FnMut(Message)) {
        for pin in 0..PINS {
            let e = self.redir[pin];
            if e & REMOTE_IRR != 0 && e as u8 == vector {
                self.redir[pin] &= !REMOTE_IRR;
                self.service_level(pin, out);
            }
        }
    }

    fn read_reg(&self) -> u32 {
        match self.sel {
            0x00 | 0x02 => (self.id as u32 & 0x0F) << 24,
            0x01 => 0x11 | ((PINS as u32 - 1) << 16),
            r @ 0x10..=0x3F => {
                let e = self.entry((r as usize - 0x10) / 2);
                if r & 1 == 0 {
                    e as u32
                } else {
                    (e >> 32) as u32
                }
            }
            _ => 0,
        }
    }

    fn write_reg(&mut self, v: u32, out: &mut impl FnMut(Message)) {
        match self.sel {
            0x00 => self.id = (v >> 24) as u8 & 0x0F,
            r @ 0x10..=0x3F => {
                let pin = (r as usize - 0x10) / 2;
                let old = self.redir[pin];
                let new = if r & 1 == 0 {
                    (old & !0xFFFF_FFFF) | v as u64
                } else {
                    (old & 0xFFFF_FFFF) | (v as u64) << 32
                };
                self.redir[pin] = (new & WRITABLE) | (old & REMOTE_IRR);
                // An edge entry has no remote IRR; switching to edge drops it.
                if self.redir[pin] & LEVEL == 0 {
                    self.redir[pin] &= !REMOTE_IRR;
                }
                log::debug!(target: "ioapic", "pin {pin}: {:#018x}", self.redir[pin]);
                self.service_level(pin, out);
            }
            _ => {}
        }
    }

    /// A read at `offset` (of the 4 KB window): IOREGSEL at 00h, IOWIN at 10h.
    pub fn mmio_read(&mut self, offset: u32, size: u8) -> u32 {
        let v = match offset & 0xFF & !3 {
            0x00 => self.sel as u32,
            0x10 => self.read_reg(),
            _ => 0,
        } >> (8 * (offset & 3));
        match size {
            1 => v & 0xFF,
            2 => v & 0xFFFF,
            _ => v,
        }
    }

    /// A write at `offset`; a narrow write to IOWIN takes effect with its byte 3.
    pub fn mmio_write(&mut self, offset: u32, size: u8, value: u32, out: &mut impl FnMut(Message)) {
        match offset & 0xFF {
            0x00 => self.sel = value as u8,
            o @ 0x10..=0x13 => {
                if o == 0x10 && size == 4 {
                    return self.write_reg(value, out);
                }
                let first = (o & 3) as usize;
                for i in 0..size as usize {
                    if let Some(b) = self.latch.get_mut(first + i) {
                        *b = (value >> (8 * i)) as u8;
                    }
                }
                if first + size as usize == 4 {
                    let v = u32::from_le_bytes(self.latch);
                    self.write_reg(v, out);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(io: &mut IoApic, pin: u8, lo: u32, hi: u32, out: &mut Vec<Message>) {
        let mut f = |m| out.push(m);
        io.mmio_write(0, 4, 0x10 + 2 * pin as u32 + 1, &mut f);
        io.mmio_write(0x10, 4, hi, &mut f);
        io.mmio_write(0, 4, 0x10 + 2 * pin as u32, &mut f);
        io.mmio_write(0x10, 4, lo, &mut f);
    }

    #[test]
    fn identity_and_version() {
        let mut io = IoApic::new(1);
        io.mmio_write(0, 1, 0, &mut |_| {});
        assert_eq!(io.mmio_read(0x10, 4), 0x0100_0000);
        io.mmio_write(0, 1, 1, &mut |_| {});
        // 82093AA: version 11h, maximum redirection entry 17h (24 pins).
        assert_eq!(io.mmio_read(0x10, 4), 0x0017_0011);
        io.mmio_write(0, 1, 0x10, &mut |_| {});
        assert_eq!(io.mmio_read(0x10, 4), 0x0001_0000, "masked at reset");
    }

    #[test]
    fn edge_pins_send_on_each_assertion() {
        let mut io = IoApic::new(1);
        let mut got = Vec::new();
        // Pin 2: vector 30h, fixed, physical, destination 0, edge, active high.
        program(&mut io, 2, 0x30, 0, &mut got);
        let mut f = |m| got.push(m);
        io.set_pin(2, true, &mut f);
        io.set_pin(2, true, &mut f);
        io.set_pin(2, false, &mut f);
        io.set_pin(2, true, &mut f);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].vector, 0x30);
        assert!(!got[0].level);
    }

    #[test]
    fn level_pins_wait_for_the_eoi() {
        let mut io = IoApic::new(1);
        let mut got = Vec::new();
        // Pin 9: vector 41h, level (bit 15), active high, logical destination 1.
        program(&mut io, 9, 0x0000_8841, 0x0100_0000, &mut got);
        let mut f = |m| got.push(m);
        io.set_pin(9, true, &mut f);
        io.set_pin(9, true, &mut f);
        assert_eq!(got.len(), 1);
        assert!(got[0].level && got[0].logical && got[0].dest == 1);
        assert_ne!(io.entry(9) & REMOTE_IRR, 0, "remote IRR set");
        // EOI of another vector changes nothing; of 41h with the pin still high resends.
        io.eoi(0x42, &mut |m| got.push(m));
        assert_eq!(got.len(), 1);
        io.eoi(0x41, &mut |m| got.push(m));
        assert_eq!(got.len(), 2);
        io.set_pin(9, false, &mut |m| got.push(m));
        io.eoi(0x41, &mut |m| got.push(m));
        assert_eq!(io.entry(9) & REMOTE_IRR, 0);
        assert_eq!(got.len(), 2);
        // Active low (bit 13): a low line is asserted; unmasking then sends.
        program(&mut io, 16, 0x0001_A050, 0, &mut got);
        assert_eq!(got.len(), 2, "masked");
        program(&mut io, 16, 0x0000_A050, 0, &mut got);
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].vector, 0x50);
        // Remote IRR is read-only.
        program(&mut io, 16, 0x0000_E050, 0, &mut got);
        assert_eq!(got.len(), 3);
    }
}
