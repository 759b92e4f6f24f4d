//! National Semiconductor PC16550D UART (the "16550A" of PC serial ports), at offsets 0–7
//! from its base port. Follows the PC16550D datasheet: "Registers" (RBR/THR, IER, IIR
//! with its priority table, FCR, LCR with DLAB, MCR, LSR, MSR, SCR), "FIFO Interrupt
//! Mode Operation" (receiver trigger levels 1/4/8/14 and the character timeout of four
//! character times), and "Modem Control Register" bit 4 (local loopback: transmitted
//! bytes reach the receiver, MSR shows RTS/DTR/OUT1/OUT2, the output pins go inactive).
//! As on the IBM asynchronous adapter, the interrupt output reaches the ISA IRQ line only
//! while the -OUT2 pin is active, i.e. MCR bit 3 set and loopback off.
//!
//! Transmission takes no virtual time: a byte written to THR goes straight to an output
//! queue the frontend drains, so THR and the transmitter are always empty. Received bytes
//! come from the frontend; the character timeout is timed in virtual time from the
//! divisor latch and line format.
//!
//! Log target: `uart`.

use std::collections::VecDeque;

use crate::{Irq, Nanos};

const FIFO_LEN: usize = 16;
/// The PC's baud-rate clock: 1.8432 MHz, divided by 16 × divisor.
const CLOCK_HZ: u128 = 1_843_200;
/// Transmitted bytes held for the frontend at most; the machine asks the frontend to
/// drain long before this, so only one huge REP OUTS reaches it.
pub const OUT_MAX: usize = 1 << 20;

const IER_RDA: u8 = 0x01;
const IER_THRE: u8 = 0x02;
const IER_RLS: u8 = 0x04;
const IER_MSI: u8 = 0x08;

const IIR_NONE: u8 = 0x01;
const IIR_MSI: u8 = 0x00;
const IIR_THRE: u8 = 0x02;
const IIR_RDA: u8 = 0x04;
const IIR_RLS: u8 = 0x06;
const IIR_CTI: u8 = 0x0C;
const IIR_FIFOS: u8 = 0xC0;

const FCR_ENABLE: u8 = 0x01;
const FCR_CLEAR_RX: u8 = 0x02;

const LCR_DLAB: u8 = 0x80;

const MCR_DTR: u8 = 0x01;
const MCR_RTS: u8 = 0x02;
const MCR_OUT1: u8 = 0x04;
const MCR_OUT2: u8 = 0x08;
const MCR_LOOP: u8 = 0x10;

const LSR_DR: u8 = 0x01;
const LSR_OE: u8 = 0x02;
const LSR_THRE: u8 = 0x20;
const LSR_TEMT: u8 = 0x40;

const MSR_DCTS: u8 = 0x01;
const MSR_DDSR: u8 = 0x02;
const MSR_TERI: u8 = 0x04;
const MSR_DDCD: u8 = 0x08;
pub const MSR_CTS: u8 = 0x10;
pub const MSR_DSR: u8 = 0x20;
pub const MSR_RI: u8 = 0x40;
pub const MSR_DCD: u8 = 0x80;

/// One 16550A.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Uart {
    irq_line: u8,
    irq_level: bool,
    /// Receiver FIFO; holds at most one byte (the RBR) when FIFOs are off.
    rx: VecDeque<u8>,
    /// Last byte read from RBR, which reads again while the receiver is empty.
    rbr: u8,
    out: Vec<u8>,
    /// Transmitted bytes lost because `out` held [`OUT_MAX`] undrained bytes.
    pub out_dropped: u64,
    ier: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    dll: u8,
    dlm: u8,
    fifos: bool,
    rx_trigger: usize,
    /// Overrun since the last LSR read (the only receive error a clean host stream has).
    overrun: bool,
    /// The THRE interrupt source; it is cleared by an IIR read that reports it or a THR
    /// write, and set again when THR empties.
    thre_pending: bool,
    /// Modem inputs from outside (CTS/DSR/RI/DCD as MSR bits 4–7).
    modem_in: u8,
    /// MSR bits 4–7 as the chip last saw them, for the delta bits.
    msr_lines: u8,
    msr_delta: u8,
    /// Character timeout indication (IIR 0x0C).
    timeout: bool,
    /// When the receive FIFO was last touched (a character in or a CPU read); the
    /// timeout counts from it.
    rx_touched: Nanos,
    /// A character came in from the frontend, which gives no time: the next call that
    /// knows the time stamps it.
    rx_touch_unstamped: bool,
}

impl Uart {
    /// A UART in its reset state (datasheet "Reset" table) driving ISA line `irq_line`.
    /// The divisor latch is not reset by the chip; it starts at 12 (9600 baud). The modem
    /// inputs start as a ready peer would hold them: CTS, DSR and DCD on.
    pub fn new(irq_line: u8) -> Self {
        let modem_in = MSR_CTS | MSR_DSR | MSR_DCD;
        Uart {
            irq_line,
            irq_level: false,
            rx: VecDeque::with_capacity(FIFO_LEN),
            rbr: 0,
            out: Vec::new(),
            out_dropped: 0,
            ier: 0,
            lcr: 0,
            mcr: 0,
            scr: 0,
            dll: 12,
            dlm: 0,
            fifos: false,
            rx_trigger: 1,
            overrun: false,
            thre_pending: false,
            modem_in,
            msr_lines: modem_in,
            msr_delta: 0,
            timeout: false,
            rx_touched: 0,
            rx_touch_unstamped: false,
        }
    }

    /// Bytes the guest has transmitted since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// How many transmitted bytes wait for [`Uart::take_output`].
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Bytes arriving on the serial input. Bytes that find the receiver full are lost
    /// and set OE. In loopback the input pin is disconnected and they are dropped.
    pub fn push_input(&mut self, bytes: &[u8], irq: &mut impl Irq) {
        if self.mcr & MCR_LOOP != 0 {
            return;
        }
        for &b in bytes {
            self.receive(b);
            self.rx_touch_unstamped = true;
        }
        self.update_irq(irq);
    }

    /// How many bytes the receiver can take now without an overrun, for frontends that
    /// pace their input.
    pub fn rx_free(&self) -> usize {
        if self.mcr & MCR_LOOP != 0 {
            0
        } else {
            self.capacity().saturating_sub(self.rx.len())
        }
    }

    /// Sets the modem inputs (MSR bits 4–7: [`MSR_CTS`], [`MSR_DSR`], [`MSR_RI`],
    /// [`MSR_DCD`]); changes set the delta bits and may raise the modem status interrupt.
    pub fn set_modem_inputs(&mut self, lines: u8, irq: &mut impl Irq) {
        self.modem_in = lines & 0xF0;
        self.refresh_msr();
        self.update_irq(irq);
    }

    pub fn read(&mut self, port: u16, now: Nanos, irq: &mut impl Irq) -> u8 {
        self.sync(now);
        let dlab = self.lcr & LCR_DLAB != 0;
        let v = match port & 7 {
            0 if dlab => self.dll,
            0 => {
                if let Some(b) = self.rx.pop_front() {
                    self.rbr = b;
                    self.timeout = false;
                    self.touch_rx(now);
                }
                self.rbr
            }
            1 if dlab => self.dlm,
            1 => self.ier,
            2 => {
                let id = self.interrupt_id();
                if id == IIR_THRE {
                    self.thre_pending = false;
                }
                id | if self.fifos { IIR_FIFOS } else { 0 }
            }
            3 => self.lcr,
            4 => self.mcr,
            5 => {
                let v = self.lsr();
                self.overrun = false;
                v
            }
            6 => {
                let v = self.msr_lines | self.msr_delta;
                self.msr_delta = 0;
                v
            }
            _ => self.scr,
        };
        self.update_irq(irq);
        log::trace!(target: "uart", "read {port:#06x} -> {v:#04x}");
        v
    }

    pub fn write(&mut self, port: u16, value: u8, now: Nanos, irq: &mut impl Irq) {
        log::trace!(target: "uart", "write {port:#06x} <- {value:#04x}");
        self.sync(now);
        let dlab = self.lcr & LCR_DLAB != 0;
        match port & 7 {
            0 if dlab => {
                self.dll = value;
                self.log_divisor(port);
            }
            0 => {
                // The write empties nothing visible (the byte leaves at once), but the
                // THRE source drops and comes back, which an edge-triggered PIC sees.
                self.thre_pending = false;
                self.update_irq(irq);
                if self.mcr & MCR_LOOP != 0 {
                    self.receive(value);
                    self.touch_rx(now);
                } else if self.out.len() < OUT_MAX {
                    self.out.push(value);
                } else {
                    // Nobody collects the line's output: it is lost, as on a cable with
                    // no receiver, rather than held without bound.
                    self.out_dropped += 1;
                }
                self.thre_pending = true;
            }
            1 if dlab => {
                self.dlm = value;
                self.log_divisor(port);
            }
            1 => {
                let old = self.ier;
                self.ier = value & 0x0F;
                // Enabling THRE while THR is empty raises it at once, as drivers expect.
                if self.ier & !old & IER_THRE != 0 {
                    self.thre_pending = true;
                }
            }
            2 => {
                self.write_fcr(value);
                log::debug!(
                    target: "uart",
                    "{port:#06x}: fcr {value:#04x}, fifos {}, rx trigger {}",
                    if self.fifos { "on" } else { "off" },
                    self.rx_trigger
                );
            }
            3 => {
                if value & !LCR_DLAB != self.lcr & !LCR_DLAB {
                    log::debug!(
                        target: "uart",
                        "{port:#06x}: line control {value:#04x}: {}{}{}{}",
                        5 + (value & 3),
                        match (value >> 3) & 7 {
                            1 => 'o',
                            3 => 'e',
                            5 => 'm',
                            7 => 's',
                            _ => 'n',
                        },
                        match (value & 4 != 0, value & 3) {
                            (false, _) => "1",
                            (true, 0) => "1.5",
                            (true, _) => "2",
                        },
                        if value & 0x40 != 0 { ", break" } else { "" }
                    );
                }
                self.lcr = value;
            }
            4 => {
                if value & 0x1F != self.mcr {
                    log::debug!(
                        target: "uart",
                        "{port:#06x}: modem control {:#04x}{}",
                        value & 0x1F,
                        if value & MCR_LOOP != 0 { " (loopback)" } else { "" }
                    );
                }
                self.mcr = value & 0x1F;
                self.refresh_msr();
            }
            // LSR and MSR writes are for factory test only.
            5 | 6 => {}
            _ => self.scr = value,
        }
        self.update_irq(irq);
    }

    /// Raises the character timeout when it falls due.
    pub fn tick(&mut self, now: Nanos, irq: &mut impl Irq) {
        self.sync(now);
        self.update_irq(irq);
    }

    /// When the character timeout will fall due, if it is armed and enabled.
    pub fn next_event(&self, now: Nanos) -> Option<Nanos> {
        if !self.fifos
            || self.timeout
            || self.ier & IER_RDA == 0
            || self.rx.is_empty()
            || self.rx.len() >= self.rx_trigger
        {
            return None;
        }
        if self.rx_touch_unstamped {
            return Some(now);
        }
        Some(self.rx_touched.saturating_add(self.timeout_ns()).max(now))
    }

    fn capacity(&self) -> usize {
        if self.fifos {
            FIFO_LEN
        } else {
            1
        }
    }

    fn receive(&mut self, b: u8) {
        if self.fifos {
            // "The character in the shift register is overwritten, but it is not
            // transferred to the FIFO."
            if self.rx.len() >= FIFO_LEN {
                self.overrun = true;
                return;
            }
        } else if !self.rx.is_empty() {
            // 16450 mode: the new character destroys the unread one in RBR.
            self.overrun = true;
            self.rx.clear();
        }
        self.rx.push_back(b);
    }

    /// A character in or out of the receive FIFO restarts the timeout count, unless a
    /// timeout is already showing (then only a CPU read clears and restarts it).
    fn touch_rx(&mut self, now: Nanos) {
        if !self.timeout {
            self.rx_touched = now;
            self.rx_touch_unstamped = false;
        }
    }

    fn sync(&mut self, now: Nanos) {
        if self.rx_touch_unstamped {
            self.rx_touch_unstamped = false;
            if !self.timeout {
                self.rx_touched = now;
            }
        }
        if self.fifos
            && !self.timeout
            && !self.rx.is_empty()
            && now >= self.rx_touched.saturating_add(self.timeout_ns())
        {
            self.timeout = true;
        }
    }

    /// Four character times at the programmed divisor and line format.
    fn timeout_ns(&self) -> Nanos {
        let divisor = self.divisor();
        let data_bits = 5 + u128::from(self.lcr & 3);
        let parity = u128::from(self.lcr & 0x08 != 0);
        // In half bits, for the 1.5 stop bits of 5-bit characters.
        let stop_half = match (self.lcr & 0x04 != 0, data_bits) {
            (false, _) => 2,
            (true, 5) => 3,
            (true, _) => 4,
        };
        let half_bits = 2 * (1 + data_bits + parity) + stop_half;
        // 4 chars × half_bits / 2 × 16 clocks × divisor.
        let ns = 4 * half_bits * 8 * divisor * 1_000_000_000 / CLOCK_HZ;
        u64::try_from(ns).unwrap_or(u64::MAX)
    }

    fn log_divisor(&self, port: u16) {
        log::debug!(
            target: "uart",
            "{port:#06x}: divisor {} ({} baud)",
            self.divisor(),
            CLOCK_HZ / 16 / self.divisor()
        );
    }

    /// The divisor latch value.
    fn divisor(&self) -> u128 {
        match u16::from_le_bytes([self.dll, self.dlm]) {
            // A zero divisor counts a full 2^16 in the 16-bit divider.
            0 => 65_536,
            d => u128::from(d),
        }
    }

    fn write_fcr(&mut self, value: u8) {
        let enable = value & FCR_ENABLE != 0;
        if enable != self.fifos {
            // Switching between FIFO and 16450 mode empties both FIFOs.
            self.rx.clear();
            self.timeout = false;
            self.fifos = enable;
        }
        if !enable {
            // "FCR0 must be a 1 when other FCR bits are written to or they will not
            // be programmed."
            self.rx_trigger = 1;
            return;
        }
        if value & FCR_CLEAR_RX != 0 {
            self.rx.clear();
            self.timeout = false;
        }
        // Bit 2 clears the transmit FIFO, which is always empty here; bit 3 (DMA mode)
        // only changes the RXRDY/TXRDY pins, which the PC leaves unconnected.
        self.rx_trigger = [1, 4, 8, 14][usize::from(value >> 6)];
    }

    fn lsr(&self) -> u8 {
        let mut v = LSR_THRE | LSR_TEMT;
        if !self.rx.is_empty() {
            v |= LSR_DR;
        }
        if self.overrun {
            v |= LSR_OE;
        }
        v
    }

    /// MSR bits 4–7 as the chip sees them: the inputs, or MCR's outputs in loopback.
    fn modem_lines(&self) -> u8 {
        if self.mcr & MCR_LOOP == 0 {
            return self.modem_in;
        }
        let m = self.mcr;
        let mut v = 0;
        if m & MCR_RTS != 0 {
            v |= MSR_CTS;
        }
        if m & MCR_DTR != 0 {
            v |= MSR_DSR;
        }
        if m & MCR_OUT1 != 0 {
            v |= MSR_RI;
        }
        if m & MCR_OUT2 != 0 {
            v |= MSR_DCD;
        }
        v
    }

    fn refresh_msr(&mut self) {
        let new = self.modem_lines();
        let changed = new ^ self.msr_lines;
        if changed & MSR_CTS != 0 {
            self.msr_delta |= MSR_DCTS;
        }
        if changed & MSR_DSR != 0 {
            self.msr_delta |= MSR_DDSR;
        }
        if changed & MSR_DCD != 0 {
            self.msr_delta |= MSR_DDCD;
        }
        // TERI: the ring indicator has gone from on to off.
        if changed & MSR_RI != 0 && new & MSR_RI == 0 {
            self.msr_delta |= MSR_TERI;
        }
        self.msr_lines = new;
    }

    /// The IIR identification bits of the highest-priority enabled pending interrupt.
    fn interrupt_id(&self) -> u8 {
        let rda = if self.fifos {
            self.rx.len() >= self.rx_trigger
        } else {
            !self.rx.is_empty()
        };
        if self.ier & IER_RLS != 0 && self.overrun {
            IIR_RLS
        } else if self.ier & IER_RDA != 0 && rda {
            IIR_RDA
        } else if self.ier & IER_RDA != 0 && self.timeout {
            IIR_CTI
        } else if self.ier & IER_THRE != 0 && self.thre_pending {
            IIR_THRE
        } else if self.ier & IER_MSI != 0 && self.msr_delta != 0 {
            IIR_MSI
        } else {
            IIR_NONE
        }
    }

    fn update_irq(&mut self, irq: &mut impl Irq) {
        let gate = self.mcr & (MCR_OUT2 | MCR_LOOP) == MCR_OUT2;
        let level = gate && self.interrupt_id() != IIR_NONE;
        if level != self.irq_level {
            self.irq_level = level;
            irq.set_irq(self.irq_line, level);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IrqLog;

    const IRQ: u8 = 4;

    fn uart() -> (Uart, IrqLog) {
        (Uart::new(IRQ), IrqLog::default())
    }

    #[test]
    fn reset_state() {
        let (mut u, mut irq) = uart();
        // Datasheet reset table: IER 0, IIR 01h, LCR 0, MCR 0, LSR 60h, MSR deltas 0.
        assert_eq!(u.read(1, 0, &mut irq), 0x00);
        assert_eq!(u.read(2, 0, &mut irq), 0x01);
        assert_eq!(u.read(3, 0, &mut irq), 0x00);
        assert_eq!(u.read(4, 0, &mut irq), 0x00);
        assert_eq!(u.read(5, 0, &mut irq), 0x60);
        assert_eq!(u.read(6, 0, &mut irq), MSR_CTS | MSR_DSR | MSR_DCD);
        u.write(7, 0xA5, 0, &mut irq);
        assert_eq!(u.read(7, 0, &mut irq), 0xA5);
        assert!(irq.changes.is_empty());
    }

    #[test]
    fn divisor_latch_shares_offsets_0_and_1() {
        let (mut u, mut irq) = uart();
        u.write(3, 0x83, 0, &mut irq); // DLAB, 8N1
        u.write(0, 0x01, 0, &mut irq); // 115200 baud
        u.write(1, 0x00, 0, &mut irq);
        assert_eq!(
            (u.read(0, 0, &mut irq), u.read(1, 0, &mut irq)),
            (0x01, 0x00)
        );
        assert_eq!(u.read(3, 0, &mut irq), 0x83);
        u.write(3, 0x03, 0, &mut irq);
        // DLAB off: offset 1 is IER (upper four bits read 0), offset 0 THR/RBR.
        u.write(1, 0xFF, 0, &mut irq);
        assert_eq!(u.read(1, 0, &mut irq), 0x0F);
        u.write(0, b'x', 0, &mut irq);
        assert_eq!(u.take_output(), b"x");
        u.write(3, 0x83, 0, &mut irq);
        assert_eq!(
            (u.read(0, 0, &mut irq), u.read(1, 0, &mut irq)),
            (0x01, 0x00)
        );
        assert!(u.take_output().is_empty());
    }

    #[test]
    fn thre_interrupt_and_its_clearing_by_iir_read() {
        let (mut u, mut irq) = uart();
        u.write(4, MCR_OUT2, 0, &mut irq);
        u.write(1, IER_THRE, 0, &mut irq);
        // Enabling ETBEI with THR empty raises THRE at once.
        assert!(irq.levels[4]);
        assert_eq!(u.read(2, 0, &mut irq), 0x02);
        // That read reported THRE, so it cleared it.
        assert!(!irq.levels[4]);
        assert_eq!(u.read(2, 0, &mut irq), 0x01);
        // A THR write clears the source and the emptied THR sets it again: a fresh edge.
        u.write(0, b'A', 0, &mut irq);
        assert!(irq.levels[4]);
        u.write(0, b'B', 0, &mut irq);
        assert_eq!(irq.rises(4), 3);
        assert_eq!(u.take_output(), b"AB");
        // Disabling the source lowers the line without an IIR read.
        u.write(1, 0, 0, &mut irq);
        assert!(!irq.levels[4]);
        assert_eq!(u.read(2, 0, &mut irq), 0x01);
    }

    #[test]
    fn out2_gates_the_irq_line() {
        let (mut u, mut irq) = uart();
        u.write(1, IER_THRE, 0, &mut irq);
        // Pending in IIR, but OUT2 = 0 keeps the line off the bus.
        assert!(!irq.levels[4]);
        u.write(4, MCR_DTR | MCR_RTS, 0, &mut irq);
        assert!(!irq.levels[4]);
        u.write(4, MCR_DTR | MCR_RTS | MCR_OUT2, 0, &mut irq);
        assert!(irq.levels[4]);
        u.write(4, MCR_DTR | MCR_RTS, 0, &mut irq);
        assert!(!irq.levels[4]);
        assert_eq!(u.read(2, 0, &mut irq), 0x02);
    }

    #[test]
    fn rx_fifo_trigger_levels() {
        // FCR bits 7–6: 00 → 1, 01 → 4, 10 → 8, 11 → 14 bytes.
        for (fcr, level) in [(0x01, 1), (0x41, 4), (0x81, 8), (0xC1, 14)] {
            let (mut u, mut irq) = uart();
            u.write(4, MCR_OUT2, 0, &mut irq);
            u.write(1, IER_RDA, 0, &mut irq);
            u.write(2, fcr | FCR_CLEAR_RX, 0, &mut irq);
            u.push_input(&vec![0x55; level - 1], &mut irq);
            assert_eq!(u.read(2, 0, &mut irq), 0xC1, "level {level}");
            assert!(!irq.levels[4]);
            u.push_input(&[0xAA], &mut irq);
            assert_eq!(u.read(2, 0, &mut irq), 0xC4, "level {level}");
            assert!(irq.levels[4]);
            // Below the trigger again after one read.
            u.read(0, 0, &mut irq);
            assert_eq!(u.read(2, 0, &mut irq) & 0x0F, 0x01);
            assert!(!irq.levels[4]);
        }
    }

    #[test]
    fn character_timeout_after_four_character_times() {
        let (mut u, mut irq) = uart();
        u.write(3, 0x83, 0, &mut irq);
        u.write(0, 0x01, 0, &mut irq);
        u.write(3, 0x03, 0, &mut irq); // 115200 baud, 8N1: 10 bits a character
        u.write(2, 0x81, 0, &mut irq); // trigger 8
        u.write(4, MCR_OUT2, 0, &mut irq);
        u.write(1, IER_RDA, 0, &mut irq);
        u.push_input(b"hi", &mut irq);
        // The push carries no time; the next call stamps it.
        assert_eq!(u.next_event(1000), Some(1000));
        u.tick(1000, &mut irq);
        // 4 × 10 bits × 16 × 1 / 1.8432 MHz = 347.222 µs.
        assert_eq!(u.next_event(1000), Some(1000 + 347_222));
        u.tick(1000 + 347_221, &mut irq);
        assert!(!irq.levels[4]);
        u.tick(1000 + 347_222, &mut irq);
        assert!(irq.levels[4]);
        assert_eq!(u.read(2, 400_000, &mut irq), 0xCC);
        // Reading a character clears the timeout and restarts the count.
        assert_eq!(u.read(0, 400_000, &mut irq), b'h');
        assert!(!irq.levels[4]);
        assert_eq!(u.next_event(400_000), Some(400_000 + 347_222));
        assert_eq!(u.read(0, 400_001, &mut irq), b'i');
        assert_eq!(u.next_event(400_001), None);
        assert_eq!(u.read(2, 10_000_000, &mut irq), 0xC1);
    }

    #[test]
    fn loopback_sends_to_the_receiver_and_mirrors_mcr_in_msr() {
        let (mut u, mut irq) = uart();
        // Linux's 8250 probe: MCR = LOOP | OUT2 | RTS must read back MSR 7–4 = 1001.
        u.write(4, MCR_LOOP | MCR_OUT2 | MCR_RTS, 0, &mut irq);
        assert_eq!(u.read(6, 0, &mut irq) & 0xF0, MSR_DCD | MSR_CTS);
        u.write(4, MCR_LOOP | MCR_DTR | MCR_OUT1, 0, &mut irq);
        // DSR and RI on, CTS and DCD off; CTS, DSR and DCD changed, RI rose (no TERI).
        assert_eq!(
            u.read(6, 0, &mut irq),
            MSR_DSR | MSR_RI | MSR_DCTS | MSR_DDSR | MSR_DDCD
        );
        u.write(4, MCR_LOOP | MCR_DTR, 0, &mut irq);
        assert_eq!(u.read(6, 0, &mut irq), MSR_DSR | MSR_TERI);
        u.write(0, 0x5A, 0, &mut irq);
        assert!(u.take_output().is_empty());
        assert_eq!(u.read(5, 0, &mut irq), 0x61);
        assert_eq!(u.read(0, 0, &mut irq), 0x5A);
        // The serial input is disconnected in loopback.
        u.push_input(b"zz", &mut irq);
        assert_eq!(u.read(5, 0, &mut irq), 0x60);
        // Interrupts work inside the chip, but -OUT2 is forced inactive, so the PC's
        // IRQ line stays low even with MCR OUT2 set.
        u.write(1, IER_RDA, 0, &mut irq);
        u.write(4, MCR_LOOP | MCR_OUT2, 0, &mut irq);
        u.write(0, 0x11, 0, &mut irq);
        assert_eq!(u.read(2, 0, &mut irq), 0x04);
        assert!(!irq.levels[4]);
        u.write(4, MCR_OUT2, 0, &mut irq);
        assert!(irq.levels[4]);
    }

    #[test]
    fn lsr_bits_and_fifo_overflow() {
        let (mut u, mut irq) = uart();
        u.write(2, 0x07, 0, &mut irq); // FIFOs on, both cleared
        u.write(4, MCR_OUT2, 0, &mut irq);
        u.write(1, IER_RLS | IER_RDA, 0, &mut irq);
        let input: Vec<u8> = (0..17).collect();
        u.push_input(&input, &mut irq);
        assert_eq!(u.rx_free(), 0);
        // Receiver line status outranks received data.
        assert_eq!(u.read(2, 0, &mut irq), 0xC6);
        // DR | OE | THRE | TEMT; reading LSR clears OE.
        assert_eq!(u.read(5, 0, &mut irq), 0x63);
        assert_eq!(u.read(5, 0, &mut irq), 0x61);
        assert_eq!(u.read(2, 0, &mut irq), 0xC4);
        // The 17th byte was lost; the first 16 remain in order.
        let got: Vec<u8> = (0..16).map(|_| u.read(0, 0, &mut irq)).collect();
        assert_eq!(got, (0..16).collect::<Vec<u8>>());
        assert_eq!(u.read(5, 0, &mut irq), 0x60);
        // An empty receiver reads the last byte again.
        assert_eq!(u.read(0, 0, &mut irq), 15);
        // FCR bit 1 empties the receive FIFO.
        u.push_input(b"abc", &mut irq);
        u.write(2, 0x03, 0, &mut irq);
        assert_eq!(u.read(5, 0, &mut irq), 0x60);
    }

    #[test]
    fn without_fifos_a_new_byte_overwrites_rbr() {
        let (mut u, mut irq) = uart();
        u.push_input(b"12", &mut irq);
        assert_eq!(u.read(5, 0, &mut irq), 0x63);
        assert_eq!(u.read(0, 0, &mut irq), b'2');
        assert_eq!(u.read(5, 0, &mut irq), 0x60);
        // IIR bits 7–6 are 00 without FIFOs and 11 with them.
        assert_eq!(u.read(2, 0, &mut irq), 0x01);
        u.write(2, 0x01, 0, &mut irq);
        assert_eq!(u.read(2, 0, &mut irq), 0xC1);
    }

    #[test]
    fn interrupt_priorities_and_modem_status() {
        let (mut u, mut irq) = uart();
        u.write(4, MCR_OUT2, 0, &mut irq);
        u.write(1, IER_RDA | IER_THRE | IER_RLS | IER_MSI, 0, &mut irq);
        u.set_modem_inputs(MSR_DSR | MSR_DCD, &mut irq); // CTS drops
        u.push_input(b"a", &mut irq);
        assert_eq!(u.read(2, 0, &mut irq), 0x04);
        u.read(0, 0, &mut irq);
        assert_eq!(u.read(2, 0, &mut irq), 0x02);
        assert_eq!(u.read(2, 0, &mut irq), 0x00);
        assert!(irq.levels[4]);
        // Reading MSR clears the deltas and the modem status interrupt.
        assert_eq!(u.read(6, 0, &mut irq), MSR_DSR | MSR_DCD | MSR_DCTS);
        assert_eq!(u.read(2, 0, &mut irq), 0x01);
        assert!(!irq.levels[4]);
    }

    #[test]
    fn no_port_sequence_panics() {
        let (mut u, mut irq) = uart();
        let mut x: u32 = 7;
        let mut now: Nanos = 0;
        for _ in 0..50_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let v = (x >> 16) as u8;
            now = now.wrapping_add(u64::from(x >> 20));
            let port = u16::from(v & 7);
            match x % 6 {
                0 | 1 => u.write(port, (x >> 8) as u8, now, &mut irq),
                2 => {
                    u.read(port, now, &mut irq);
                }
                3 => u.push_input(&[v, v, v], &mut irq),
                4 => u.tick(now, &mut irq),
                _ => {
                    let _ = u.next_event(now);
                    let _ = u.take_output();
                }
            }
        }
    }
}
