//! The PCI local bus as a PC's host bridge exposes it: configuration mechanism #1 and the
//! 256-byte type 0 configuration header of each function. Follows the PCI Local Bus
//! Specification revision 2.1:
//!
//! - §3.7.4.1 configuration mechanism #1: CONFIG_ADDRESS at 0CF8h (bit 31 enable, bus
//!   23:16, device 15:11, function 10:8, register 7:2, bits 1:0 read as zero) is only
//!   a 32-bit register: byte and word accesses to 0CF8h–0CFBh pass through as ordinary
//!   I/O (0CF9h is then the PIIX3's reset control register). CONFIG_DATA at 0CFCh–0CFFh
//!   reaches the addressed dword, any byte lane: a byte access at 0CFDh reads
//!   register+1. With bit 31 clear the data port is ordinary I/O (all ones).
//! - §6.1: a read of a function that does not exist returns FFFFFFFFh (master abort);
//!   writes are dropped. Only bus 0 exists here (no PCI-to-PCI bridges).
//! - §6.2.5 base address registers: a BAR reads back the address bits the device
//!   decodes, so writing all ones and reading gives the size mask; bit 0 tells I/O (1)
//!   from memory (0). §6.2.2 command register: I/O space (bit 0), memory space (1) and
//!   bus master (2) enables gate the function's decoding and DMA ([`PciFunction::io_bar`],
//!   [`PciFunction::bus_master`]).
//!
//! A chip model owns its [`PciFunction`] (header, write masks, BARs) and adds its own
//! registers by marking them writable; the [`PciBus`] routes configuration cycles to the
//! function at a device/function number and records that a write happened, so the
//! machine can recompute address decoding (BAR moves, chipset memory attributes) once,
//! outside the access path.

/// Register offsets of the type 0 header.
pub const VENDOR_ID: u8 = 0x00;
pub const DEVICE_ID: u8 = 0x02;
pub const COMMAND: u8 = 0x04;
pub const STATUS: u8 = 0x06;
pub const REVISION: u8 = 0x08;
pub const CLASS_PROG: u8 = 0x09;
pub const HEADER_TYPE: u8 = 0x0E;
pub const BAR0: u8 = 0x10;
pub const INTERRUPT_LINE: u8 = 0x3C;
pub const INTERRUPT_PIN: u8 = 0x3D;

/// Command register bits (§6.2.2).
pub const CMD_IO: u16 = 1 << 0;
pub const CMD_MEMORY: u16 = 1 << 1;
pub const CMD_BUS_MASTER: u16 = 1 << 2;

/// A base address register's kind and size (a power of two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Bar {
    Io(u32),
    Mem32(u32),
}

/// One PCI function's configuration space.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PciFunction {
    #[serde(with = "crate::state::big")]
    config: [u8; 256],
    /// Bits software may change, byte by byte (everything else is read-only).
    #[serde(with = "crate::state::big")]
    wmask: [u8; 256],
    bars: [Option<Bar>; 6],
    /// For logs.
    #[serde(skip)]
    pub name: &'static str,
}

impl PciFunction {
    /// A function with the given identity: `class` is the 24-bit class code (base class,
    /// subclass, programming interface). Only the command register's I/O, memory and
    /// bus-master enables, the latency timer and the interrupt line are writable until
    /// the chip model adds its own registers.
    pub fn new(name: &'static str, vendor: u16, device: u16, class: u32, revision: u8) -> Self {
        let mut f = PciFunction {
            config: [0; 256],
            wmask: [0; 256],
            bars: [None; 6],
            name,
        };
        f.config[0..2].copy_from_slice(&vendor.to_le_bytes());
        f.config[2..4].copy_from_slice(&device.to_le_bytes());
        f.config[REVISION as usize] = revision;
        f.config[9..12].copy_from_slice(&class.to_le_bytes()[..3]);
        f.wmask[COMMAND as usize] = (CMD_IO | CMD_MEMORY | CMD_BUS_MASTER) as u8;
        f.wmask[0x0D] = 0xF8; // latency timer (§6.2.4: low bits may be hardwired)
        f.wmask[INTERRUPT_LINE as usize] = 0xFF;
        f
    }

    /// Sets a register's reset value (not subject to the write mask).
    pub fn init(&mut self, reg: u8, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            if let Some(c) = self.config.get_mut(reg as usize + i) {
                *c = b;
            }
        }
    }

    /// Makes `len` registers from `reg` writable (all bits).
    pub fn writable(&mut self, reg: u8, len: usize) {
        let start = reg as usize;
        let end = (start + len).min(256);
        self.wmask[start..end].fill(0xFF);
    }

    /// Sets a register's writable bits.
    pub fn set_wmask(&mut self, reg: u8, mask: u8) {
        self.wmask[reg as usize] = mask;
    }

    /// Declares BAR `i` (0–5): its kind and size; the address bits below the size and
    /// the type bits are read-only (§6.2.5.1). I/O BARs decode 16 bits (x86 I/O space),
    /// so their upper half is read-only zero, as on the PIIX3.
    pub fn set_bar(&mut self, i: usize, bar: Bar) {
        let Some(slot) = self.bars.get_mut(i) else {
            return;
        };
        *slot = Some(bar);
        let reg = BAR0 as usize + 4 * i;
        let (ro_low, mask) = match bar {
            // All 32 address bits writable, as QEMU makes them: SeaBIOS sizes an I/O
            // BAR by the 32-bit complement of what reads back, so hardwired-zero upper
            // bits (legal for 64 KB decoders) would look 4 GB wide to it.
            Bar::Io(size) => (1u32, !(size.max(4) - 1)),
            Bar::Mem32(size) => (0u32, !(size.max(16) - 1)),
        };
        self.config[reg..reg + 4].copy_from_slice(&ro_low.to_le_bytes());
        self.wmask[reg..reg + 4].copy_from_slice(&mask.to_le_bytes());
    }

    /// Reads a byte of configuration space.
    pub fn read8(&self, reg: u8) -> u8 {
        self.config[reg as usize]
    }

    /// A little-endian value of `size` bytes (1, 2 or 4) from `reg`, wrapping inside
    /// the 256-byte space.
    pub fn read(&self, reg: u8, size: u8) -> u32 {
        (0..size.min(4)).fold(0, |v, i| {
            v | (self.read8(reg.wrapping_add(i)) as u32) << (8 * i)
        })
    }

    pub fn read16(&self, reg: u8) -> u16 {
        self.read(reg, 2) as u16
    }

    pub fn read32(&self, reg: u8) -> u32 {
        self.read(reg, 4)
    }

    /// Writes a byte through the write mask.
    pub fn write8(&mut self, reg: u8, v: u8) {
        let r = reg as usize;
        let m = self.wmask[r];
        self.config[r] = (self.config[r] & !m) | (v & m);
    }

    /// Writes `size` bytes (1, 2 or 4) from `reg`.
    pub fn write(&mut self, reg: u8, size: u8, value: u32) {
        for i in 0..size.min(4) {
            self.write8(reg.wrapping_add(i), (value >> (8 * i)) as u8);
        }
    }

    pub fn vendor(&self) -> u16 {
        self.read16(VENDOR_ID)
    }

    pub fn device(&self) -> u16 {
        self.read16(DEVICE_ID)
    }

    /// The 24-bit class code.
    pub fn class(&self) -> u32 {
        self.read32(REVISION) >> 8
    }

    pub fn command(&self) -> u16 {
        self.read16(COMMAND)
    }

    pub fn bar(&self, i: usize) -> Option<Bar> {
        self.bars.get(i).copied().flatten()
    }

    /// Where an I/O BAR decodes now: its base port, if the BAR is an I/O BAR, I/O
    /// decoding is enabled in the command register and software has assigned it a
    /// non-zero base.
    pub fn io_bar(&self, i: usize) -> Option<u16> {
        let Some(Bar::Io(_)) = self.bar(i) else {
            return None;
        };
        if self.command() & CMD_IO == 0 {
            return None;
        }
        let base = self.read32(BAR0 + 4 * i as u8) & !3;
        // A base beyond 64 KB is out of the x86 port space: it decodes nothing.
        (base != 0)
            .then_some(base)
            .and_then(|b| u16::try_from(b).ok())
    }

    /// Where a memory BAR decodes now, as [`PciFunction::io_bar`].
    pub fn mem_bar(&self, i: usize) -> Option<(u32, u32)> {
        let Some(Bar::Mem32(size)) = self.bar(i) else {
            return None;
        };
        if self.command() & CMD_MEMORY == 0 {
            return None;
        }
        let base = self.read32(BAR0 + 4 * i as u8) & !0xF;
        (base != 0).then_some((base, size))
    }

    /// Whether the function may master the bus (DMA).
    pub fn bus_master(&self) -> bool {
        self.command() & CMD_BUS_MASTER != 0
    }
}

/// Bus 0 and configuration mechanism #1.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PciBus {
    /// CONFIG_ADDRESS (0CF8h).
    address: u32,
    /// Functions by device/function number (device << 3 | function).
    functions: Vec<(u8, PciFunction)>,
    /// A configuration write happened since [`PciBus::take_changed`].
    changed: bool,
}

/// The devfn of device `dev`, function `func`.
pub const fn devfn(dev: u8, func: u8) -> u8 {
    (dev & 0x1F) << 3 | (func & 7)
}

impl PciBus {
    /// Replaces the bus state with `saved` (a deserialised snapshot), keeping the
    /// functions' names. Fails when the snapshot has other functions.
    pub fn restore(&mut self, mut saved: PciBus) -> Result<(), String> {
        let here: Vec<u8> = self.functions.iter().map(|f| f.0).collect();
        let there: Vec<u8> = saved.functions.iter().map(|f| f.0).collect();
        if here != there {
            return Err("the PCI functions differ".into());
        }
        for (a, b) in self.functions.iter().zip(saved.functions.iter_mut()) {
            b.1.name = a.1.name;
        }
        *self = saved;
        Ok(())
    }

    pub fn new() -> Self {
        Self::default()
    }

    /// Plugs a function in at `devfn`, replacing any there.
    pub fn add(&mut self, devfn: u8, f: PciFunction) {
        self.functions.retain(|(d, _)| *d != devfn);
        self.functions.push((devfn, f));
        self.functions.sort_by_key(|(d, _)| *d);
    }

    pub fn function(&self, devfn: u8) -> Option<&PciFunction> {
        self.functions
            .iter()
            .find(|(d, _)| *d == devfn)
            .map(|(_, f)| f)
    }

    pub fn function_mut(&mut self, devfn: u8) -> Option<&mut PciFunction> {
        self.functions
            .iter_mut()
            .find(|(d, _)| *d == devfn)
            .map(|(_, f)| f)
    }

    /// Every present function's devfn, in order.
    pub fn devfns(&self) -> impl Iterator<Item = u8> + '_ {
        self.functions.iter().map(|(d, _)| *d)
    }

    /// A configuration read of bus `bus`: all ones for an absent function (§6.1).
    pub fn config_read(&self, bus: u8, devfn: u8, reg: u8, size: u8) -> u32 {
        let ones = ones(size);
        match self.function(devfn) {
            Some(f) if bus == 0 => f.read(reg, size) & ones,
            _ => ones,
        }
    }

    /// A configuration write; dropped for an absent function.
    pub fn config_write(&mut self, bus: u8, devfn: u8, reg: u8, size: u8, value: u32) {
        if bus != 0 {
            return;
        }
        if let Some(f) = self.function_mut(devfn) {
            log::trace!(target: "pci", "{}: write {reg:#04x}/{size} <- {value:#x}", f.name);
            f.write(reg, size, value);
            self.changed = true;
        }
    }

    /// Whether a configuration write happened since the last call.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Whether the bus decodes `port` with an access of `size` bytes: CONFIG_ADDRESS
    /// only as a dword at 0CF8h, CONFIG_DATA only while its enable bit is set.
    pub fn claims(&self, port: u16, size: u8) -> bool {
        match port {
            0xCF8 => size == 4,
            0xCFC..=0xCFF => self.address & 0x8000_0000 != 0,
            _ => false,
        }
    }

    /// An I/O read of 0CF8h–0CFFh the bus [claims](PciBus::claims); all ones otherwise.
    pub fn io_read(&mut self, port: u16, size: u8) -> u32 {
        if !self.claims(port, size) {
            return ones(size);
        }
        if port == 0xCF8 {
            return self.address;
        }
        let (bus, devfn, reg) = self.target(port);
        self.config_read(bus, devfn, reg, size)
    }

    /// An I/O write of 0CF8h–0CFFh (ignored where the bus does not claim it).
    pub fn io_write(&mut self, port: u16, size: u8, value: u32) {
        if !self.claims(port, size) {
            return;
        }
        if port == 0xCF8 {
            // Bits 30:24 are reserved and bits 1:0 read as zero (§3.7.4.1).
            self.address = value & 0x80FF_FFFC;
            return;
        }
        let (bus, devfn, reg) = self.target(port);
        self.config_write(bus, devfn, reg, size, value);
    }

    /// The bus, devfn and register a CONFIG_DATA access at `port` reaches: the dword
    /// CONFIG_ADDRESS selects plus the byte lane of the port.
    fn target(&self, port: u16) -> (u8, u8, u8) {
        let a = self.address;
        let reg = (a as u8 & 0xFC) | (port & 3) as u8;
        ((a >> 16) as u8, (a >> 8) as u8, reg)
    }
}

/// All ones in `size` bytes.
fn ones(size: u8) -> u32 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        _ => 0xFFFF_FFFF,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus() -> PciBus {
        let mut b = PciBus::new();
        let mut f = PciFunction::new("test", 0x8086, 0x7010, 0x01_01_80, 0);
        f.set_bar(4, Bar::Io(16));
        f.set_bar(0, Bar::Mem32(0x1000));
        b.add(devfn(1, 1), f);
        b
    }

    fn addr(dev: u8, func: u8, reg: u8) -> u32 {
        0x8000_0000 | (dev as u32) << 11 | (func as u32) << 8 | reg as u32
    }

    #[test]
    fn mechanism_1_reads_ids_in_every_width_and_lane() {
        let mut b = bus();
        b.io_write(0xCF8, 4, addr(1, 1, 0));
        assert_eq!(b.io_read(0xCF8, 4), addr(1, 1, 0));
        assert_eq!(b.io_read(0xCFC, 4), 0x7010_8086);
        assert_eq!(b.io_read(0xCFC, 2), 0x8086);
        assert_eq!(b.io_read(0xCFE, 2), 0x7010);
        assert_eq!(b.io_read(0xCFD, 1), 0x80);
        assert_eq!(b.io_read(0xCFF, 1), 0x70);
        // Class code 01h/01h/80h at 09h–0Bh: the dword at 08h is class << 8 | revision.
        b.io_write(0xCF8, 4, addr(1, 1, 8));
        assert_eq!(b.io_read(0xCFC, 4), 0x0101_8000);
    }

    #[test]
    fn absent_functions_and_disabled_cycles_read_all_ones() {
        let mut b = bus();
        b.io_write(0xCF8, 4, addr(1, 0, 0));
        assert_eq!(b.io_read(0xCFC, 4), 0xFFFF_FFFF);
        b.io_write(0xCF8, 4, addr(1, 1, 0) | 1 << 16); // bus 1
        assert_eq!(b.io_read(0xCFC, 2), 0xFFFF);
        // Enable bit clear: the data port is not a configuration cycle.
        b.io_write(0xCF8, 4, addr(1, 1, 0) & 0x7FFF_FFFF);
        assert!(!b.claims(0xCFC, 4));
        assert_eq!(b.io_read(0xCFC, 4), 0xFFFF_FFFF);
        // Reserved and low bits of CONFIG_ADDRESS read as zero.
        b.io_write(0xCF8, 4, 0xFFFF_FFFF);
        assert_eq!(b.io_read(0xCF8, 4), 0x80FF_FFFC);
        // A byte access to 0CF8h is not CONFIG_ADDRESS.
        assert!(!b.claims(0xCF8, 1));
    }

    #[test]
    fn bar_sizing_and_relocation() {
        let mut b = bus();
        let f = devfn(1, 1);
        // §6.2.5.1: write all ones, read back the size mask with the type bits.
        b.config_write(0, f, 0x20, 4, 0xFFFF_FFFF);
        // Upper 16 bits writable as in QEMU (hw/pci/pci.c `pci_register_bar`: wmask
        // = ~(size - 1) for I/O BARs too), which SeaBIOS's BAR sizing relies on.
        assert_eq!(b.config_read(0, f, 0x20, 4), 0xFFFF_FFF1, "16-byte I/O BAR");
        b.config_write(0, f, 0x10, 4, 0xFFFF_FFFF);
        assert_eq!(b.config_read(0, f, 0x10, 4), 0xFFFF_F000, "4 KB memory BAR");
        b.config_write(0, f, 0x20, 4, 0xC001);
        let func = b.function(f).unwrap();
        assert_eq!(func.io_bar(4), None, "I/O decoding still disabled");
        b.config_write(0, f, COMMAND, 2, (CMD_IO | CMD_BUS_MASTER) as u32);
        assert!(b.take_changed());
        let func = b.function(f).unwrap();
        assert_eq!(func.io_bar(4), Some(0xC000));
        assert!(func.bus_master());
        assert_eq!(func.mem_bar(0), None, "memory decoding disabled");
        // The vendor ID is read-only.
        b.config_write(0, f, 0, 2, 0x1234);
        assert_eq!(b.config_read(0, f, 0, 2), 0x8086);
    }
}
