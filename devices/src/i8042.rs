//! Intel 8042 keyboard controller with a PS/2 keyboard and mouse behind it, as on the
//! PC/AT: data port 0x60, status/command port 0x64, IRQ 1 (keyboard) and IRQ 12
//! (mouse), the command byte (interrupt enables, system flag, scan-code translation),
//! the output port (A20 gate and the CPU reset line), and the commands BIOSes and
//! Linux's i8042/atkbd drivers send (self tests, interface tests, enable/disable,
//! read/write command byte and output port, write to the mouse, pulse reset).
//!
//! The mouse supports stream and remote modes, sample rate, resolution, scaling and the
//! status request, with 3-byte movement packets from `mouse_event`.
//!
//! The keyboard delivers scan-code set 1, i.e. what the controller hands the CPU when
//! translation (command byte bit 6) is on, which is how every PC BIOS runs it.
//! With translation off the codes are still set 1 (logged once): the set-2 tables are
//! not modelled yet.

use crate::Irq;
use std::collections::VecDeque;

const STATUS_OBF: u8 = 1;
const STATUS_SYS: u8 = 4;
const STATUS_CMD: u8 = 8;
const STATUS_UNLOCKED: u8 = 0x10;
const STATUS_AUX: u8 = 0x20;

#[derive(Clone, Debug)]
pub struct I8042 {
    /// Bytes waiting for the CPU, with whether they came from the mouse.
    out: VecDeque<(u8, bool)>,
    pub command_byte: u8,
    /// A controller command waiting for its data byte.
    ctrl_pending: Option<u8>,
    /// A keyboard command waiting for its data byte.
    kbd_pending: Option<u8>,
    /// Output port: bit 0 = reset line (active low), bit 1 = A20.
    pub output_port: u8,
    last_was_command: bool,
    scanning: bool,
    pub leds: u8,
    /// Set when software pulsed the reset line; the machine resets the CPU.
    pub reset_requested: bool,
    warned_untranslated: bool,
    mouse: Mouse,
}

/// PS/2 mouse state (IBM PS/2 Technical Reference, pointing device commands).
#[derive(Clone, Debug)]
struct Mouse {
    reporting: bool,
    remote: bool,
    rate: u8,
    resolution: u8,
    scaling21: bool,
    buttons: u8,
    /// A command waiting for its data byte (sample rate, resolution).
    pending: Option<u8>,
    /// Movement accumulated in remote mode, reported by READ DATA.
    acc: (i32, i32),
}

impl Default for Mouse {
    fn default() -> Self {
        Mouse {
            reporting: false,
            remote: false,
            rate: 100,
            resolution: 2,
            scaling21: false,
            buttons: 0,
            pending: None,
            acc: (0, 0),
        }
    }
}

/// One 3-byte movement packet: buttons, sign and overflow bits, then X and Y (Y up).
fn mouse_packet(dx: i32, dy: i32, buttons: u8) -> [u8; 3] {
    let clamp = |v: i32| v.clamp(-256, 255);
    let (x, y) = (clamp(dx), clamp(dy));
    let mut b0 = 0x08 | (buttons & 7);
    if x < 0 {
        b0 |= 0x10;
    }
    if y < 0 {
        b0 |= 0x20;
    }
    if dx != x {
        b0 |= 0x40;
    }
    if dy != y {
        b0 |= 0x80;
    }
    [b0, x as u8, y as u8]
}

impl Default for I8042 {
    fn default() -> Self {
        Self::new()
    }
}

impl I8042 {
    pub fn new() -> Self {
        I8042 {
            out: VecDeque::new(),
            // Keyboard interrupt on, system flag, translation on (what a BIOS leaves).
            command_byte: 0x45,
            ctrl_pending: None,
            kbd_pending: None,
            output_port: 0x03,
            last_was_command: false,
            scanning: true,
            leds: 0,
            reset_requested: false,
            warned_untranslated: false,
            mouse: Mouse::default(),
        }
    }

    pub fn a20(&self) -> bool {
        self.output_port & 2 != 0
    }

    fn update_irq(&self, irq: &mut impl Irq) {
        let (kbd, aux) = match self.out.front() {
            Some(&(_, false)) => (self.command_byte & 1 != 0, false),
            Some(&(_, true)) => (false, self.command_byte & 2 != 0),
            None => (false, false),
        };
        irq.set_irq(1, kbd);
        irq.set_irq(12, aux);
    }

    fn reply(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.out.push_back((b, false));
        }
    }

    fn aux_reply(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.out.push_back((b, true));
        }
    }

    /// A key event from the host, as set-1 scan code bytes (make or break, with any
    /// E0 prefix). Dropped while the keyboard is disabled or not scanning.
    pub fn key(&mut self, codes: &[u8], irq: &mut impl Irq) {
        if !self.scanning || self.command_byte & 0x10 != 0 {
            return;
        }
        if self.command_byte & 0x40 == 0 && !self.warned_untranslated {
            self.warned_untranslated = true;
            log::warn!(target: "i8042", "scan-code translation is off; still sending set 1");
        }
        // A real controller buffers 16 bytes; beyond that keys are lost.
        if self.out.len() + codes.len() <= 16 {
            self.reply(codes);
        }
        self.update_irq(irq);
    }

    pub fn read(&mut self, port: u16, irq: &mut impl Irq) -> u8 {
        let v = if port == 0x64 {
            let mut s = STATUS_UNLOCKED | (self.command_byte & STATUS_SYS);
            if self.last_was_command {
                s |= STATUS_CMD;
            }
            if let Some(&(_, aux)) = self.out.front() {
                s |= STATUS_OBF;
                if aux {
                    s |= STATUS_AUX;
                }
            }
            return s;
        } else {
            self.out.pop_front().map_or(0, |(b, _)| b)
        };
        // Reading the data port empties the output buffer, dropping the IRQ; the next
        // queued byte then refills it, a fresh edge for the edge-triggered PIC.
        irq.set_irq(1, false);
        irq.set_irq(12, false);
        self.update_irq(irq);
        v
    }

    pub fn write(&mut self, port: u16, v: u8, irq: &mut impl Irq) {
        if port == 0x64 {
            self.last_was_command = true;
            self.controller_command(v);
        } else {
            self.last_was_command = false;
            match self.ctrl_pending.take() {
                Some(0x60) => self.command_byte = v,
                Some(0xD1) => {
                    self.output_port = v;
                    if v & 1 == 0 {
                        self.reset_requested = true;
                    }
                }
                Some(0xD2) => self.reply(&[v]),
                Some(0xD3) => self.aux_reply(&[v]),
                Some(0xD4) => self.mouse_command(v),
                _ => self.keyboard_command(v),
            }
        }
        self.update_irq(irq);
    }

    fn controller_command(&mut self, c: u8) {
        match c {
            0x20 => {
                let cb = self.command_byte;
                self.reply(&[cb]);
            }
            0x60 | 0xD1 | 0xD2 | 0xD3 | 0xD4 => self.ctrl_pending = Some(c),
            0xA7 => self.command_byte |= 0x20,
            0xA8 => self.command_byte &= !0x20,
            0xA9 | 0xAB => self.reply(&[0x00]),
            0xAA => {
                self.command_byte |= STATUS_SYS;
                self.reply(&[0x55]);
            }
            0xAD => self.command_byte |= 0x10,
            0xAE => self.command_byte &= !0x10,
            0xC0 => self.reply(&[0xBF]),
            0xD0 => {
                let p = self.output_port;
                self.reply(&[p]);
            }
            0xE0 => self.reply(&[0x00]),
            0xF0..=0xFF => {
                // Pulse output-port lines low; bit 0 is the CPU reset.
                if c & 1 == 0 {
                    self.reset_requested = true;
                }
            }
            _ => log::debug!(target: "i8042", "controller command {c:#04x} ignored"),
        }
    }

    fn keyboard_command(&mut self, v: u8) {
        if let Some(cmd) = self.kbd_pending.take() {
            match cmd {
                0xED => self.leds = v & 7,
                0xF0 if v == 0 => {
                    // Report the current set (2, translated to 0x41).
                    self.reply(&[0xFA, 0x41]);
                    return;
                }
                _ => {}
            }
            self.reply(&[0xFA]);
            return;
        }
        match v {
            0xFF => {
                self.scanning = true;
                self.reply(&[0xFA, 0xAA]);
            }
            0xF2 => self.reply(&[0xFA, 0xAB, 0x41]),
            0xED | 0xF3 | 0xF0 => {
                self.kbd_pending = Some(v);
                self.reply(&[0xFA]);
            }
            0xF4 => {
                self.scanning = true;
                self.reply(&[0xFA]);
            }
            0xF5 => {
                self.scanning = false;
                self.reply(&[0xFA]);
            }
            0xF6..=0xFA => self.reply(&[0xFA]),
            0xEE => self.reply(&[0xEE]),
            _ => self.reply(&[0xFE]),
        }
    }

    fn mouse_command(&mut self, v: u8) {
        let m = &mut self.mouse;
        if let Some(cmd) = m.pending.take() {
            match cmd {
                0xF3 => m.rate = v,
                _ => m.resolution = v & 3,
            }
            self.aux_reply(&[0xFA]);
            return;
        }
        match v {
            0xFF => {
                *m = Mouse::default();
                self.aux_reply(&[0xFA, 0xAA, 0x00]);
            }
            0xF6 => {
                *m = Mouse::default();
                self.aux_reply(&[0xFA]);
            }
            0xF2 => self.aux_reply(&[0xFA, 0x00]),
            0xF3 | 0xE8 => {
                m.pending = Some(v);
                self.aux_reply(&[0xFA]);
            }
            0xF4 => {
                m.reporting = true;
                self.aux_reply(&[0xFA]);
            }
            0xF5 => {
                m.reporting = false;
                self.aux_reply(&[0xFA]);
            }
            0xE6 | 0xE7 => {
                m.scaling21 = v == 0xE7;
                self.aux_reply(&[0xFA]);
            }
            0xEA | 0xF0 => {
                m.remote = v == 0xF0;
                self.aux_reply(&[0xFA]);
            }
            0xE9 => {
                let status = (m.remote as u8) << 6
                    | (m.reporting as u8) << 5
                    | (m.scaling21 as u8) << 4
                    | (m.buttons & 1) << 2
                    | (m.buttons & 2) >> 1
                    | (m.buttons & 4) >> 1;
                let (res, rate) = (m.resolution, m.rate);
                self.aux_reply(&[0xFA, status, res, rate]);
            }
            0xEB => {
                let (dx, dy) = std::mem::take(&mut m.acc);
                let p = mouse_packet(dx, dy, m.buttons);
                self.aux_reply(&[0xFA]);
                self.aux_reply(&p);
            }
            _ => self.aux_reply(&[0xFE]),
        }
    }

    /// Mouse movement from the host (dy positive = up) and the button state (bit 0
    /// left, 1 right, 2 middle). In stream mode with reporting on, a packet is queued
    /// and IRQ 12 raised; in remote mode the motion waits for READ DATA.
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8, irq: &mut impl Irq) {
        let m = &mut self.mouse;
        m.buttons = buttons & 7;
        if m.remote {
            m.acc = (m.acc.0.saturating_add(dx), m.acc.1.saturating_add(dy));
            return;
        }
        if !m.reporting || self.command_byte & 0x20 != 0 || self.out.len() > 13 {
            return;
        }
        let p = mouse_packet(dx, dy, m.buttons);
        self.aux_reply(&p);
        self.update_irq(irq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IrqLog;

    #[test]
    fn self_test_and_command_byte() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x64, 0xAA, &mut irq);
        assert_eq!(k.read(0x64, &mut irq) & STATUS_OBF, STATUS_OBF);
        assert_eq!(k.read(0x60, &mut irq), 0x55);
        k.write(0x64, 0x60, &mut irq);
        k.write(0x60, 0x47, &mut irq);
        k.write(0x64, 0x20, &mut irq);
        assert_eq!(k.read(0x60, &mut irq), 0x47);
    }

    #[test]
    fn keyboard_reset_acks_and_passes_bat() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x60, 0xFF, &mut irq);
        assert!(
            irq.levels[1],
            "IRQ 1 with a byte waiting and interrupts enabled"
        );
        assert_eq!(k.read(0x60, &mut irq), 0xFA);
        assert_eq!(k.read(0x60, &mut irq), 0xAA);
        assert!(!irq.levels[1]);
    }

    #[test]
    fn keys_raise_irq1_and_read_back_in_order() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.key(&[0x1E], &mut irq); // 'A' make
        k.key(&[0x9E], &mut irq); // 'A' break
        assert!(irq.levels[1]);
        assert_eq!(k.read(0x60, &mut irq), 0x1E);
        assert_eq!(irq.rises(1), 2, "the second byte raises IRQ 1 again");
        assert_eq!(k.read(0x60, &mut irq), 0x9E);
        // Disabled keyboard (command byte bit 4) drops keys.
        k.write(0x64, 0xAD, &mut irq);
        k.key(&[0x1E], &mut irq);
        assert_eq!(k.read(0x64, &mut irq) & STATUS_OBF, 0);
    }

    #[test]
    fn output_port_controls_a20_and_reset() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x64, 0xD1, &mut irq);
        k.write(0x60, 0x01, &mut irq); // A20 off, reset line high
        assert!(!k.a20());
        assert!(!k.reset_requested);
        k.write(0x64, 0xFE, &mut irq); // pulse reset
        assert!(k.reset_requested);
    }

    #[test]
    fn mouse_streams_packets_when_enabled() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x64, 0x60, &mut irq);
        k.write(0x60, 0x47, &mut irq);
        k.mouse_event(5, 5, 0, &mut irq);
        assert_eq!(
            k.read(0x64, &mut irq) & STATUS_OBF,
            0,
            "no packets before F4"
        );
        k.write(0x64, 0xD4, &mut irq);
        k.write(0x60, 0xF4, &mut irq);
        assert_eq!(k.read(0x60, &mut irq), 0xFA);
        // Left button, 3 right, 2 down: 0x08 | left | Y sign = 0x29, then 03, FE.
        k.mouse_event(3, -2, 1, &mut irq);
        assert!(irq.levels[12]);
        let p: Vec<u8> = (0..3).map(|_| k.read(0x60, &mut irq)).collect();
        assert_eq!(p, [0x29, 0x03, 0xFE]);
        // Overflow: X beyond 255 sets bit 6 and clamps.
        assert_eq!(mouse_packet(300, 0, 0), [0x48, 0xFF, 0x00]);
    }

    #[test]
    fn mouse_status_request_reports_settings() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        for b in [0xF3, 40, 0xE8, 3, 0xE9] {
            k.write(0x64, 0xD4, &mut irq);
            k.write(0x60, b, &mut irq);
        }
        let r: Vec<u8> = (0..8).map(|_| k.read(0x60, &mut irq)).collect();
        // ACKs for F3, 40, E8, 3, then E9's ACK, status 0, resolution 3, rate 40.
        assert_eq!(r, [0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0x00, 0x03, 40]);
    }

    #[test]
    fn mouse_bytes_are_flagged_and_raise_irq12() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x64, 0x60, &mut irq);
        k.write(0x60, 0x47, &mut irq); // both interrupts on
        k.write(0x64, 0xD4, &mut irq);
        k.write(0x60, 0xF2, &mut irq); // identify
        assert!(irq.levels[12]);
        assert_eq!(k.read(0x64, &mut irq) & STATUS_AUX, STATUS_AUX);
        assert_eq!(k.read(0x60, &mut irq), 0xFA);
        assert_eq!(k.read(0x60, &mut irq), 0x00);
    }
}
