//! Wires the CPU, RAM, the system BIOS ROM and the debug ports into a PC.
//!
//! This is the first slice of the platform: RAM of a chosen size, the legacy map's ROM
//! window (a raw BIOS image mapped at the top of the first megabyte and aliased below
//! 4 GB, as QEMU's `-bios` does), the A20 gate (port 0x92), the 8259A pair and the 8254
//! timer, and the ports test ROMs and emulator test suites report through: 0xE9 (debug
//! console), 0x80/0x190 (POST codes), 0xF4 (QEMU isa-debug-exit) and 0x8900 (Bochs
//! shutdown).
//!
//! Virtual time advances with executed instructions at a fixed rate (`Config::ips`), so a
//! run is deterministic: the same inputs give the same run. When the CPU halts with
//! interrupts enabled, time skips ahead to the next device event. The CPU's time-stamp
//! counter ticks at the same rate (one tick per instruction: 100 MHz at `DEFAULT_IPS`)
//! and counts skipped idle time too.

mod bios;
pub mod boot;
mod disk;
pub mod keymap;

pub use devices::block::{check_range, BlockDevice, BlockError, MemDisk};
pub use disk::{check_floppy_size, check_hard_disk_sectors, is_mbr, DiskKind};

pub use cpu::CpuModel;
use cpu::{Bus, Cpu, Stop};
use devices::{
    dma::{Dma, DmaMemory},
    fdc::Fdc,
    i8042::I8042,
    ide::IdeChannel,
    pic::Pic,
    pit::Pit,
    rtc::Rtc,
    uart::Uart,
    vga::Vga,
    Nanos,
};
use std::collections::HashSet;

/// Which device answers a port, from a table built once (no search per access).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Dev {
    None,
    Pic,
    Pit,
    DebugCon,
    Post,
    DebugExit,
    BochsShutdown,
    Port92,
    Kbd,
    BiosTrap,
    Rtc,
    Com1,
    Com2,
    FpuBusy,
    /// IDE channel 0 (1F0h–1F7h, 3F6h) or 1 (170h–177h, 376h).
    Ide(u8),
    Vga,
    Dma,
    Fdc,
}

/// Which disk INT 19h tries first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootOrder {
    Floppy,
    HardDisk,
}

impl BootOrder {
    /// CMOS bytes 3Dh and 38h, the boot sequence as the Bochs BIOS and SeaBIOS read it
    /// and QEMU writes it (hw/i386/pc.c `set_boot_dev`): 3Dh = second device << 4 |
    /// first, 38h = third device << 4 | bit 0 "skip the floppy boot-signature check".
    /// Devices: 1 floppy, 2 hard disk, 3 CD-ROM, 0 none. The built-in BIOS tries the
    /// other kind of disk second and checks floppy signatures too, so bit 0 is clear.
    pub fn cmos_bytes(self) -> (u8, u8) {
        const FLOPPY: u8 = 1;
        const HARD_DISK: u8 = 2;
        let (first, second) = match self {
            BootOrder::Floppy => (FLOPPY, HARD_DISK),
            BootOrder::HardDisk => (HARD_DISK, FLOPPY),
        };
        (second << 4 | first, 0)
    }
}

/// Why a machine run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The guest wrote `value` to port 0xF4 (QEMU isa-debug-exit).
    DebugExit(u32),
    /// The guest wrote "Shutdown" to port 0x8900 (Bochs).
    Shutdown,
    /// HLT with interrupts disabled: nothing can wake the CPU.
    Halted,
    /// Triple fault, with rebooting disabled.
    TripleFault,
    /// The BIOS found no disk with a boot signature (55AAh) to start.
    NoBootDevice,
}

/// The PC's physical address space and I/O ports, as the CPU sees them.
pub struct PcBus {
    ram: Vec<u8>,
    bios: Vec<u8>,
    bios_base_low: u32,
    a20: bool,
    /// Bytes written to port 0xE9, drained by the frontend (at most [`OUTPUT_MAX`]).
    pub debugcon: Vec<u8>,
    /// Every POST code written to ports 0x80 and 0x190, drained by the frontend (at
    /// most [`OUTPUT_MAX`]).
    pub post: Vec<u8>,
    /// Guest output bytes dropped because the frontend had not drained a buffer.
    pub output_dropped: u64,
    /// An output buffer crossed [`OUTPUT_HIGH`]: `run_until` returns early so the
    /// frontend can drain it.
    output_full: bool,
    pub last_post: Option<u8>,
    pub exit: Option<Exit>,
    shutdown_match: usize,
    logged_ports: HashSet<u16>,
    port92: u8,
    reset_requested: bool,
    ports: Vec<Dev>,
    pub kbd: I8042,
    /// The primary (IRQ 14) and secondary (IRQ 15) IDE channels.
    pub ide: [IdeChannel; 2],
    /// FERR# latched onto IRQ 13 (x87 errors with CR0.NE = 0, as DOS-era PCs wire it).
    ferr: bool,
    pub rtc: Rtc,
    /// COM1 (0x3F8, IRQ 4) and COM2 (0x2F8, IRQ 3).
    pub com: [Uart; 2],
    /// A BIOS stub asked for a host-side service (see `bios.rs`).
    trap: bool,
    bios_call: bool,
    pub pic: Pic,
    pub pit: Pit,
    pub vga: Vga,
    /// The 8237 pair and the 82077AA floppy controller on DMA channel 2, IRQ 6.
    pub dma: Dma,
    pub fdc: Fdc,
    /// Instructions per second of virtual time.
    ips: u64,
    /// Virtual time skipped while the CPU was halted.
    idle: Nanos,
    /// Virtual time of the last `sync`.
    pub now: Nanos,
}

pub const BIOS_SIZES: [usize; 3] = [64 << 10, 128 << 10, 256 << 10];

/// Undrained guest output (debug console, POST codes, a UART's transmitter) past which
/// the CPU stops after the current instruction and `run_until` returns, so the frontend
/// streams it out before the guest writes more. One OUT writes one byte, so only a REP
/// OUTS (up to 64K iterations in a 64 KB segment, 4G in a flat one, all one
/// instruction) can go far beyond it.
pub const OUTPUT_HIGH: usize = 64 << 10;
/// Hard bound on undrained guest output per buffer; bytes past it are dropped and
/// counted in [`PcBus::output_dropped`].
pub const OUTPUT_MAX: usize = 1 << 20;

/// Appends a guest output byte to a bounded buffer; true when it reached the high mark.
fn push_output(buf: &mut Vec<u8>, dropped: &mut u64, b: u8) -> bool {
    if buf.len() >= OUTPUT_MAX {
        *dropped += 1;
        return false;
    }
    buf.push(b);
    buf.len() == OUTPUT_HIGH
}
/// Guest RAM as the DMA controller reaches it: physical addresses, no A20 gate (the
/// gate sits on the CPU's address line), and only plain RAM — the ISA bus cycles to
/// video memory and ROM that a real board would run are not modelled.
struct DmaRam<'a>(&'a mut [u8]);

impl DmaMemory for DmaRam<'_> {
    fn read(&mut self, addr: u32) -> u8 {
        *self.0.get(addr as usize).unwrap_or(&0xFF)
    }
    fn write(&mut self, addr: u32, v: u8) {
        if !(0xA_0000..0x10_0000).contains(&addr) {
            if let Some(b) = self.0.get_mut(addr as usize) {
                *b = v;
            }
        }
    }
}

/// The VGA's memory window (A0000h–BFFFFh); the VGA decides which part answers.
const VGA_WINDOW: std::ops::Range<u32> = 0xA_0000..0xC_0000;
/// The option-ROM window C0000h up to the system BIOS: no ROM is installed there yet, so
/// it reads as an open bus (all ones) and ignores writes, as on a PC without adapters.
const OPTION_ROMS: u32 = 0xC_0000;

impl PcBus {
    #[inline]
    fn map_addr(&self, addr: u32) -> u32 {
        if self.a20 {
            addr
        } else {
            addr & !(1 << 20)
        }
    }

    /// The BIOS byte at `addr`, if the address falls in one of its two windows.
    #[inline]
    fn rom_offset(&self, addr: u32) -> Option<usize> {
        if (self.bios_base_low..0x10_0000).contains(&addr) {
            return Some((addr - self.bios_base_low) as usize);
        }
        let high = 0u32.wrapping_sub(self.bios.len() as u32);
        if addr >= high && high != 0 {
            return Some((addr - high) as usize);
        }
        None
    }

    fn log_port_once(&mut self, port: u16, what: &str) {
        if self.logged_ports.insert(port) {
            log::info!(target: "ports", "unimplemented I/O port {port:#06x} ({what}); reads return all ones");
        }
    }
}

impl PcBus {
    fn build_ports() -> Vec<Dev> {
        let mut t = vec![Dev::None; 0x10000];
        for p in [0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1] {
            t[p] = Dev::Pic;
        }
        for p in [0x40, 0x41, 0x42, 0x43, 0x61] {
            t[p] = Dev::Pit;
        }
        t[0xE9] = Dev::DebugCon;
        t[0x80] = Dev::Post;
        t[0x190] = Dev::Post;
        t[0xF4] = Dev::DebugExit;
        t[0x8900] = Dev::BochsShutdown;
        t[0x92] = Dev::Port92;
        t[0x60] = Dev::Kbd;
        t[0x64] = Dev::Kbd;
        t[0xF0] = Dev::FpuBusy;
        for (ch, base, ctrl) in [(0u8, 0x1F0, 0x3F6), (1, 0x170, 0x376)] {
            t[base..base + 8].fill(Dev::Ide(ch));
            t[ctrl] = Dev::Ide(ch);
        }
        t[0x70] = Dev::Rtc;
        t[0x71] = Dev::Rtc;
        for i in 0..8 {
            t[0x3F8 + i] = Dev::Com1;
            t[0x2F8 + i] = Dev::Com2;
        }
        t[bios::TRAP_PORT as usize] = Dev::BiosTrap;
        t[0x3B0..0x3E0].fill(Dev::Vga);
        for &p in Dma::ports() {
            t[p as usize] = Dev::Dma;
        }
        for &p in Fdc::ports() {
            t[p as usize] = Dev::Fdc;
        }
        t
    }

    /// The RAM index of an `n`-byte access lying wholly in plain RAM below the
    /// A0000h–FFFFFh window (VGA memory, option ROMs, BIOS) and inside the installed
    /// memory: the multi-byte fast path. Anything else goes byte by byte.
    #[inline]
    fn ram_span(&self, addr: u32, n: usize) -> Option<usize> {
        let a = self.map_addr(addr) as usize;
        (a + n <= self.ram.len() && !(0xA_0000 - (n - 1)..0x10_0000).contains(&a)).then_some(a)
    }

    /// Virtual time after `icount` instructions.
    fn time_of(&self, icount: u64) -> Nanos {
        (icount as u128 * 1_000_000_000 / self.ips as u128) as Nanos + self.idle
    }

    /// Clock ticks at the virtual clock rate (`ips` Hz) in `ns` of virtual time.
    fn ticks_of(&self, ns: Nanos) -> u64 {
        (ns as u128 * self.ips as u128 / 1_000_000_000) as u64
    }

    /// Instructions to run from `now` until virtual time `t` (at least one).
    fn instructions_until(&self, now: Nanos, t: Nanos) -> u64 {
        ((t.saturating_sub(now) as u128 * self.ips as u128).div_ceil(1_000_000_000) as u64).max(1)
    }

    /// Lets every device catch up to `self.now`.
    fn tick_devices(&mut self) {
        let now = self.now;
        self.pit.tick(now, &mut self.pic);
        self.rtc.tick(now, &mut self.pic);
        self.kbd.tick(now, &mut self.pic);
        let mut mem = DmaRam(&mut self.ram);
        self.fdc.tick(now, &mut self.dma, &mut mem, &mut self.pic);
        for c in self.com.iter_mut() {
            c.tick(now, &mut self.pic);
        }
    }

    fn next_event(&self) -> Option<Nanos> {
        let now = self.now;
        [
            self.pit.next_event(now),
            self.rtc.next_event(now),
            self.kbd.next_event(now),
            self.fdc.next_event(now),
            self.com[0].next_event(now),
            self.com[1].next_event(now),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

impl Bus for PcBus {
    #[inline]
    fn read8(&mut self, addr: u32) -> u8 {
        let a = self.map_addr(addr);
        if let Some(o) = self.rom_offset(a) {
            return self.bios[o];
        }
        if (OPTION_ROMS..self.bios_base_low).contains(&a) {
            return 0xFF;
        }
        if VGA_WINDOW.contains(&a) {
            return self.vga.mem_read(a);
        }
        *self.ram.get(a as usize).unwrap_or(&0xFF)
    }

    #[inline]
    fn write8(&mut self, addr: u32, value: u8) {
        let a = self.map_addr(addr);
        if self.rom_offset(a).is_some() || (OPTION_ROMS..self.bios_base_low).contains(&a) {
            return;
        }
        if VGA_WINDOW.contains(&a) {
            self.vga.mem_write(a, value);
            return;
        }
        if let Some(b) = self.ram.get_mut(a as usize) {
            *b = value;
        }
    }

    #[inline]
    fn read16(&mut self, addr: u32) -> u16 {
        if let Some(a) = self.ram_span(addr, 2) {
            return u16::from_le_bytes([self.ram[a], self.ram[a + 1]]);
        }
        self.read8(addr) as u16 | (self.read8(addr.wrapping_add(1)) as u16) << 8
    }

    #[inline]
    fn read32(&mut self, addr: u32) -> u32 {
        if let Some(a) = self.ram_span(addr, 4) {
            return u32::from_le_bytes([
                self.ram[a],
                self.ram[a + 1],
                self.ram[a + 2],
                self.ram[a + 3],
            ]);
        }
        self.read16(addr) as u32 | (self.read16(addr.wrapping_add(2)) as u32) << 16
    }

    #[inline]
    fn write16(&mut self, addr: u32, value: u16) {
        if let Some(a) = self.ram_span(addr, 2) {
            self.ram[a..a + 2].copy_from_slice(&value.to_le_bytes());
            return;
        }
        self.write8(addr, value as u8);
        self.write8(addr.wrapping_add(1), (value >> 8) as u8);
    }

    #[inline]
    fn write32(&mut self, addr: u32, value: u32) {
        if let Some(a) = self.ram_span(addr, 4) {
            self.ram[a..a + 4].copy_from_slice(&value.to_le_bytes());
            return;
        }
        self.write16(addr, value as u16);
        self.write16(addr.wrapping_add(2), (value >> 16) as u16);
    }

    fn sync(&mut self, icount: u64) {
        self.now = self.time_of(icount);
        self.tick_devices();
    }

    fn io_read(&mut self, port: u16, size: u8) -> u32 {
        let ones = (1u64 << (8 * size as u32)).wrapping_sub(1) as u32;
        match self.ports[port as usize] {
            // Bochs and QEMU answer 0xE9 reads with 0xE9 so guests can detect the port.
            Dev::DebugCon => 0xE9,
            Dev::Port92 => self.port92 as u32 | (self.a20 as u32) << 1,
            Dev::Post => self.last_post.unwrap_or(0) as u32,
            Dev::Pic => self.pic.read(port) as u32,
            Dev::Pit => self.pit.read(port, self.now) as u32,
            Dev::Kbd => self.kbd.read(port, &mut self.pic) as u32,
            Dev::Rtc => self.rtc.read(port, self.now, &mut self.pic) as u32,
            Dev::Dma => self.dma.read(port) as u32,
            Dev::Fdc => self.fdc.read(port, &mut self.pic) as u32,
            Dev::Vga => match size {
                1 => self.vga.port_read(port, self.now) as u32,
                // A word access is two byte accesses to consecutive ports (ISA bus
                // cycle splitting), which is how index/data pairs are written at once.
                _ => {
                    self.vga.port_read(port, self.now) as u32
                        | (self.vga.port_read(port.wrapping_add(1), self.now) as u32) << 8
                }
            },
            Dev::Com1 => self.com[0].read(port, self.now, &mut self.pic) as u32,
            Dev::Com2 => self.com[1].read(port, self.now, &mut self.pic) as u32,
            Dev::Ide(ch) => {
                let (c, off) = (&mut self.ide[ch as usize], ide_offset(port));
                match (off, size) {
                    (0, 2) => c.read16(&mut self.pic) as u32,
                    (0, 4) => {
                        c.read16(&mut self.pic) as u32 | (c.read16(&mut self.pic) as u32) << 16
                    }
                    _ => c.read(off, &mut self.pic) as u32,
                }
            }
            Dev::DebugExit | Dev::BochsShutdown | Dev::BiosTrap | Dev::FpuBusy => ones,
            Dev::None => {
                self.log_port_once(port, "read");
                ones
            }
        }
    }

    fn io_write(&mut self, port: u16, size: u8, value: u32) {
        match self.ports[port as usize] {
            Dev::DebugCon => {
                if push_output(&mut self.debugcon, &mut self.output_dropped, value as u8) {
                    self.output_full = true;
                    self.trap = true;
                }
            }
            Dev::Post => {
                if push_output(&mut self.post, &mut self.output_dropped, value as u8) {
                    self.output_full = true;
                    self.trap = true;
                }
                self.last_post = Some(value as u8);
            }
            Dev::DebugExit => {
                let v = match size {
                    1 => value & 0xFF,
                    2 => value & 0xFFFF,
                    _ => value,
                };
                // Like QEMU's isa-debug-exit, the machine stops at once.
                self.exit.get_or_insert(Exit::DebugExit(v));
                self.trap = true;
            }
            Dev::BochsShutdown => {
                const WORD: &[u8] = b"Shutdown";
                let c = value as u8;
                if c == WORD[self.shutdown_match] {
                    self.shutdown_match += 1;
                    if self.shutdown_match == WORD.len() {
                        self.exit.get_or_insert(Exit::Shutdown);
                        self.trap = true;
                        self.shutdown_match = 0;
                    }
                } else {
                    self.shutdown_match = (c == WORD[0]) as usize;
                }
            }
            Dev::Port92 => {
                // System control port A: bit 1 is A20, bit 0 a fast reset pulse.
                self.a20 = value & 2 != 0;
                self.port92 = value as u8 & !1;
                if value & 1 != 0 {
                    self.reset_requested = true;
                }
            }
            Dev::Pic => self.pic.write(port, value as u8),
            Dev::Pit => self.pit.write(port, value as u8, self.now, &mut self.pic),
            Dev::Kbd => {
                self.kbd.write(port, value as u8, &mut self.pic);
                self.a20 = self.kbd.a20();
                if std::mem::take(&mut self.kbd.reset_requested) {
                    self.reset_requested = true;
                    self.trap = true;
                }
            }
            Dev::BiosTrap => {
                self.trap = true;
                self.bios_call = true;
            }
            Dev::Rtc => self.rtc.write(port, value as u8, self.now, &mut self.pic),
            Dev::Dma => self.dma.write(port, value as u8),
            Dev::Fdc => self.fdc.write(port, value as u8, self.now, &mut self.pic),
            Dev::Vga => {
                self.vga.port_write(port, value as u8);
                if size > 1 {
                    self.vga
                        .port_write(port.wrapping_add(1), (value >> 8) as u8);
                }
            }
            // Any write to port 0F0h clears the FERR#/IRQ 13 latch (PC/AT wiring).
            Dev::Ide(ch) => {
                let (c, off) = (&mut self.ide[ch as usize], ide_offset(port));
                match (off, size) {
                    (0, 2) => c.write16(value as u16, &mut self.pic),
                    (0, 4) => {
                        c.write16(value as u16, &mut self.pic);
                        c.write16((value >> 16) as u16, &mut self.pic);
                    }
                    _ => c.write(off, value as u8, &mut self.pic),
                }
            }
            Dev::FpuBusy => {
                self.ferr = false;
                self.pic.set_irq(13, false);
            }
            Dev::Com1 | Dev::Com2 => {
                let c = &mut self.com[(self.ports[port as usize] == Dev::Com2) as usize];
                c.write(port, value as u8, self.now, &mut self.pic);
                if c.output_len() == OUTPUT_HIGH {
                    self.output_full = true;
                    self.trap = true;
                }
            }
            Dev::None => self.log_port_once(port, "write"),
        }
    }

    fn take_stop(&mut self) -> bool {
        std::mem::take(&mut self.trap)
    }

    fn irq_pending(&mut self) -> bool {
        self.pic.intr()
    }

    fn irq_ack(&mut self) -> Option<u8> {
        Some(self.pic.ack())
    }
}

/// The IDE register offset of a port: 0–7 for the command block, 8 for the control
/// block (alternate status / device control).
fn ide_offset(port: u16) -> u16 {
    if port & 0x200 != 0 {
        8
    } else {
        port & 7
    }
}

/// Code page 437 as the VGA's ROM font draws it, in Unicode (the graphic forms of
/// 01h–1Fh and 7Fh, as IBM documents the character set; 00h, drawn blank, as a space).
#[rustfmt::skip]
const CP437: [char; 256] = [
    ' ', '☺', '☻', '♥', '♦', '♣', '♠', '•', '◘', '○', '◙', '♂', '♀', '♪', '♫', '☼',
    '►', '◄', '↕', '‼', '¶', '§', '▬', '↨', '↑', '↓', '→', '←', '∟', '↔', '▲', '▼',
    ' ', '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
    '@', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '[', '\\', ']', '^', '_',
    '`', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '{', '|', '}', '~', '⌂',
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å',
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ',
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»',
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐',
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧',
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀',
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩',
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{a0}',
];

/// Code page 437 → Unicode for the text screen dump.
fn cp437(b: u8) -> char {
    CP437[b as usize]
}

/// Whether an image of `len` bytes is a standard floppy format (360K–2.88M).
pub fn floppy_size(len: u64) -> bool {
    disk::check_floppy_size(len).is_ok()
}

/// The key id [`Pc::key_event`] takes for Pause (its set-1 code 45h with the E0 flag,
/// which no other key uses; the keyboard sends the E1 1D 45 E1 9D C5 sequence).
pub const PAUSE_KEY: (u8, bool) = devices::i8042::KEY_PAUSE;

/// Machine configuration.
pub struct Config {
    pub memory_mb: u32,
    /// A raw system-BIOS image, or `None` for the built-in BIOS.
    pub bios: Option<Vec<u8>>,
    /// Stop instead of resetting on a triple fault.
    pub no_reboot: bool,
    /// Guest instructions per second of virtual time (the virtual clock rate).
    pub ips: u64,
    /// The Unix time the real-time clock shows at power-on (the frontend passes the
    /// host clock or a fixed `--rtc` value).
    pub rtc_epoch: i64,
    /// The CPU model (CPUID identity and instruction-set extensions).
    pub cpu: CpuModel,
}

/// The default virtual clock: 100 million instructions per virtual second.
pub const DEFAULT_IPS: u64 = 100_000_000;

/// 32 MB, the built-in BIOS, reset on a triple fault, the default virtual clock and
/// CPU model, and the RTC at the Unix epoch (a fixed, reproducible machine).
impl Default for Config {
    fn default() -> Config {
        Config {
            memory_mb: 32,
            bios: None,
            no_reboot: false,
            ips: DEFAULT_IPS,
            rtc_epoch: 0,
            cpu: CpuModel::default(),
        }
    }
}

/// A PC: the CPU and everything it is wired to.
pub struct Pc {
    pub cpu: Cpu,
    pub bus: PcBus,
    no_reboot: bool,
    pub boot_order: BootOrder,
    /// Host-side state of the built-in BIOS's services.
    bios_state: bios::HostState,
}

impl Pc {
    /// Builds a PC. A BIOS image must be 64, 128 or 256 KB; `None` selects the built-in
    /// BIOS.
    pub fn new(cfg: Config) -> Result<Pc, String> {
        let bios = cfg.bios.unwrap_or_else(bios::rom);
        if !BIOS_SIZES.contains(&bios.len()) {
            return Err(format!(
                "BIOS image is {} bytes; it must be 64, 128 or 256 KB",
                bios.len()
            ));
        }
        if cfg.memory_mb == 0 || cfg.memory_mb > 3072 {
            return Err(format!(
                "memory size {} MB is out of range (1..3072)",
                cfg.memory_mb
            ));
        }
        let bios_base_low = 0x10_0000 - bios.len() as u32;
        let bus = PcBus {
            ram: vec![0; cfg.memory_mb as usize * 1024 * 1024],
            bios_base_low,
            bios,
            a20: true,
            debugcon: Vec::new(),
            post: Vec::new(),
            output_dropped: 0,
            output_full: false,
            last_post: None,
            exit: None,
            shutdown_match: 0,
            logged_ports: HashSet::new(),
            port92: 0,
            reset_requested: false,
            ports: PcBus::build_ports(),
            kbd: I8042::new(),
            ide: [IdeChannel::new(14), IdeChannel::new(15)],
            ferr: false,
            rtc: Rtc::new(cfg.rtc_epoch),
            com: [Uart::new(4), Uart::new(3)],
            trap: false,
            bios_call: false,
            pic: Pic::new(),
            pit: Pit::new(),
            vga: Vga::new(),
            dma: Dma::new(),
            fdc: Fdc::new(),
            ips: cfg.ips.max(1),
            idle: 0,
            now: 0,
        };
        let mut cpu = Cpu::with_model(cfg.cpu);
        // Every model offered has its x87 on chip (the 486DX, unlike the 486SX).
        cpu.fpu_present = true;
        let mut pc = Pc {
            cpu,
            bus,
            no_reboot: cfg.no_reboot,
            boot_order: BootOrder::Floppy,
            bios_state: bios::HostState::default(),
        };
        pc.write_boot_order_cmos();
        Ok(pc)
    }

    /// Sets the boot order and records it in the CMOS, where a BIOS image (SeaBIOS,
    /// the Bochs BIOS) reads it.
    pub fn set_boot_order(&mut self, order: BootOrder) {
        self.boot_order = order;
        self.write_boot_order_cmos();
    }

    /// CMOS 3Dh/38h from `boot_order` (see [`BootOrder::cmos_bytes`]); the built-in
    /// POST calls it too, for a `boot_order` set directly.
    pub(crate) fn write_boot_order_cmos(&mut self) {
        let (b3d, b38) = self.boot_order.cmos_bytes();
        self.bus.rtc.set_byte(0x3D, b3d);
        self.bus.rtc.set_byte(0x38, b38);
    }

    /// The text screen as UTF-8 lines (code page 437 mapped), trailing blanks trimmed:
    /// what the VGA displays (any text mode, e.g. 80×50), or nothing in graphics modes.
    pub fn screen_text(&mut self) -> String {
        let mut out = String::new();
        if let Some((cols, rows, cells)) = self.bus.vga.text_screen() {
            for row in cells.chunks(cols.max(1)).take(rows) {
                let line: String = row.iter().map(|&(c, _)| cp437(c)).collect();
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        out
    }

    /// Renders the screen into `buf` (0x00RRGGBB pixels) and returns its size.
    pub fn render(&mut self, buf: &mut Vec<u32>) -> (usize, usize) {
        self.bus.vga.render(self.bus.now, buf)
    }

    /// Changes whenever the rendered screen may have changed.
    pub fn frame_version(&self) -> u64 {
        self.bus.vga.frame_version(self.bus.now)
    }

    /// Presses and releases the key for ASCII character `c` (with Shift when needed)
    /// through the keyboard controller. Returns `false` for characters with no key.
    pub fn type_char(&mut self, c: u8) -> bool {
        let Some((code, shift)) = keymap::scancode_for(c) else {
            return false;
        };
        let mut seq = Vec::new();
        if shift {
            seq.push(0x2A);
        }
        seq.extend([code, code | 0x80]);
        if shift {
            seq.push(0xAA);
        }
        for b in seq {
            self.key_bytes(&[b]);
        }
        true
    }

    /// Attaches a hard-disk image as the primary IDE channel's master (0) or slave (1):
    /// BIOS drive 80h/81h, reachable through INT 13h and the ATA registers alike.
    pub fn attach_hard_disk(
        &mut self,
        slot: usize,
        image: Box<dyn BlockDevice>,
    ) -> Result<(), String> {
        disk::check_hard_disk_sectors(image.sectors())?;
        if slot > 1 {
            return Err(format!(
                "hard disk slot {slot}: only 0 (master) and 1 (slave) exist"
            ));
        }
        self.bus.ide[0].attach(slot, image);
        Ok(())
    }

    /// Inserts a floppy image in drive A: (0) or B: (1); its size must be a standard
    /// format. A read-only image is a write-protected disk.
    pub fn attach_floppy(
        &mut self,
        drive: usize,
        image: Box<dyn BlockDevice>,
    ) -> Result<(), String> {
        if drive > 1 {
            return Err(format!(
                "floppy drive {drive}: only 0 (A:) and 1 (B:) exist"
            ));
        }
        // The machine's own check gives the message listing the PC/AT formats.
        disk::check_floppy_size(image.sectors().saturating_mul(512))?;
        self.bus.fdc.attach(drive, image, false)
    }

    /// Makes every completed guest write durable on every attached disk (the end of a
    /// run). Each disk is flushed even if another fails; the failures are returned as
    /// (floppy?, slot, error).
    pub fn flush_disks(&mut self) -> Vec<(bool, usize, BlockError)> {
        let mut failed = Vec::new();
        for slot in 0..2 {
            if let Err(e) = self.bus.fdc.flush(slot) {
                failed.push((true, slot, e));
            }
            if let Err(e) = self.bus.ide[0].flush(slot) {
                failed.push((false, slot, e));
            }
        }
        failed
    }

    /// Whether the guest wrote to a hard disk (0/1) or, with `floppy`, a floppy drive.
    pub fn disk_dirty(&self, floppy: bool, slot: usize) -> bool {
        if floppy {
            self.bus.fdc.dirty(slot)
        } else {
            self.bus.ide[0].dirty(slot)
        }
    }

    /// A physical key pressed or released: `code` is its set-1 make code, `extended`
    /// whether it carries the E0 prefix ([`PAUSE_KEY`] for Pause). The keyboard sends
    /// what its scan-code set and the controller's translation make of it, and repeats
    /// held keys at the guest's typematic rate.
    pub fn key_event(&mut self, code: u8, extended: bool, pressed: bool) {
        self.bus
            .kbd
            .key_event(code, extended, pressed, self.bus.now, &mut self.bus.pic);
    }

    /// Releases every held key (the window lost focus).
    pub fn release_keys(&mut self) {
        self.bus.kbd.release_all(self.bus.now, &mut self.bus.pic);
    }

    /// The reset button: the CPU and the devices start over, the disks stay in.
    pub fn reset(&mut self) {
        self.cpu.reset();
        let b = &mut self.bus;
        b.pic = Pic::new();
        b.pit = Pit::new();
        b.kbd = I8042::new();
        b.vga = Vga::new();
        b.dma = Dma::new();
        b.a20 = true;
        b.ferr = false;
    }

    /// Mouse movement (dy positive = up) and buttons, through the PS/2 mouse.
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8) {
        self.bus.kbd.mouse_event(dx, dy, buttons, &mut self.bus.pic);
    }

    /// [`Pc::mouse_event`] with the wheel: `dz` notches, positive towards the user
    /// (scrolling down), and buttons 4 and 5 in bits 3 and 4 of `buttons`. The guest
    /// sees them once its driver has switched the mouse to IntelliMouse packets.
    pub fn mouse_wheel_event(&mut self, dx: i32, dy: i32, dz: i32, buttons: u8) {
        self.bus
            .kbd
            .mouse_wheel_event(dx, dy, dz, buttons, &mut self.bus.pic);
    }

    /// Queues raw set-1 scan-code bytes (one key event) in the keyboard controller.
    pub fn key_bytes(&mut self, codes: &[u8]) {
        self.bus.kbd.key(codes, &mut self.bus.pic);
    }

    /// Runs at most `budget` instructions; returns why the machine stopped, or `None`
    /// if the budget ran out with the guest still running (or early, once undrained
    /// output reaches [`OUTPUT_HIGH`]). The CPU runs in slices that
    /// end at the next device event, so timers fire at their exact virtual time.
    pub fn run(&mut self, budget: u64) -> Option<Exit> {
        self.run_until(budget, Nanos::MAX)
    }

    /// Like [`Pc::run`], but also stops once virtual time reaches `deadline`: the
    /// window's real-time pacing runs the guest up to the wall clock and no further. A
    /// halted CPU waits out the time up to the deadline and stays halted.
    pub fn run_until(&mut self, budget: u64, deadline: Nanos) -> Option<Exit> {
        let end = self.cpu.icount.saturating_add(budget);
        while self.cpu.icount < end {
            self.bus.sync(self.cpu.icount);
            if self.bus.now >= deadline {
                break;
            }
            let mut slice = end - self.cpu.icount;
            let next = self.bus.next_event().map_or(deadline, |t| t.min(deadline));
            if next != Nanos::MAX {
                slice = slice.min(self.bus.instructions_until(self.bus.now, next));
            }
            let stop = self.cpu.run(&mut self.bus, slice);
            self.bus.sync(self.cpu.icount);
            // FERR#: an unmasked x87 error with CR0.NE = 0 raises IRQ 13 until port 0F0h
            // is written (checked at slice ends, so within one device-event interval).
            if self.cpu.fpu_error_pending() && self.cpu.cr0 & cpu::CR0_NE == 0 && !self.bus.ferr {
                self.bus.ferr = true;
                self.bus.pic.set_irq(13, true);
            }
            if let Some(e) = self.bus.exit {
                return Some(e);
            }
            let output_full = std::mem::take(&mut self.bus.output_full);
            if std::mem::take(&mut self.bus.reset_requested) {
                self.cpu.reset();
                continue;
            }
            if std::mem::take(&mut self.bus.bios_call)
                && stop == Stop::Breakpoint
                && !self.bios_trap()
            {
                log::debug!(target: "bios", "write to the BIOS trap port from outside the ROM ignored");
            }
            match stop {
                Stop::Budget | Stop::Breakpoint => {}
                Stop::Halt => {
                    // Only an interrupt can wake the CPU: skip to the next device event,
                    // or stop if there is none (or interrupts are off).
                    match self.bus.next_event() {
                        Some(t) if self.cpu.eflags & cpu::IF != 0 => {
                            let skip = t.min(deadline).saturating_sub(self.bus.now);
                            // The TSC counts virtual time, halted or not (one tick per
                            // instruction, so at `ips` Hz): Linux takes it as its
                            // clocksource, and a TSC that stood still in HLT made
                            // `sleep 5` last minutes.
                            let before = self.bus.ticks_of(self.bus.idle);
                            self.bus.idle += skip;
                            self.cpu
                                .advance_tsc(self.bus.ticks_of(self.bus.idle) - before);
                            self.bus.sync(self.cpu.icount);
                        }
                        _ if self.cpu.eflags & cpu::IF != 0 && self.bus.pic.intr() => {}
                        _ => return Some(Exit::Halted),
                    }
                }
                Stop::Shutdown => {
                    if self.no_reboot {
                        return Some(Exit::TripleFault);
                    }
                    log::warn!(target: "machine", "triple fault: resetting the CPU");
                    self.cpu.reset();
                }
            }
            if output_full {
                break;
            }
        }
        None
    }

    /// The virtual time of the next device event (a timer, a keyboard or UART
    /// character), if any: what a halted CPU waits for. Pacing frontends sleep until it.
    pub fn next_event(&self) -> Option<Nanos> {
        self.bus.next_event()
    }

    /// Whether the CPU is halted waiting for an interrupt.
    pub fn halted(&self) -> bool {
        self.cpu.halted
    }

    /// Instructions retired since power-on.
    pub fn instructions(&self) -> u64 {
        self.cpu.icount
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc_with(code: &[u8]) -> Pc {
        // A 64 KB ROM whose reset vector (F000:FFF0) runs `code` in place.
        let mut rom = vec![0xF4u8; 64 << 10];
        rom[0xFFF0..0xFFF0 + code.len()].copy_from_slice(code);
        Pc::new(Config {
            memory_mb: 1,
            bios: Some(rom),
            no_reboot: true,
            ..Config::default()
        })
        .unwrap()
    }

    #[test]
    fn debug_ports_report_output_post_codes_and_exit() {
        // mov al,'A'; out 0E9h,al; mov al,55h; out 80h,al; mov al,3; out 0F4h,al
        let mut pc = pc_with(&[
            0xB0, b'A', 0xE6, 0xE9, 0xB0, 0x55, 0xE6, 0x80, 0xB0, 0x03, 0xE6, 0xF4,
        ]);
        assert_eq!(pc.run(1000), Some(Exit::DebugExit(3)));
        assert_eq!(pc.bus.debugcon, b"A");
        assert_eq!(pc.bus.post, vec![0x55]);
    }

    #[test]
    fn cp437_maps_every_code_to_its_unicode_character() {
        // The Unicode consortium's CP437 mapping (VENDORS/MICSFT/PC/CP437.TXT) for
        // 80h–FFh and printable ASCII; 01h–1Fh and 7Fh are the graphic characters the
        // IBM PC's font draws there (☺ U+263A … ▼ U+25BC, ⌂ U+2302), and 00h is blank.
        #[rustfmt::skip]
        const UNICODE: [u32; 256] = [
            0x0020, 0x263A, 0x263B, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022, 0x25D8, 0x25CB, 0x25D9, 0x2642, 0x2640, 0x266A, 0x266B, 0x263C,
            0x25BA, 0x25C4, 0x2195, 0x203C, 0x00B6, 0x00A7, 0x25AC, 0x21A8, 0x2191, 0x2193, 0x2192, 0x2190, 0x221F, 0x2194, 0x25B2, 0x25BC,
            0x0020, 0x0021, 0x0022, 0x0023, 0x0024, 0x0025, 0x0026, 0x0027, 0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
            0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, 0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
            0x0040, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, 0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
            0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, 0x0058, 0x0059, 0x005A, 0x005B, 0x005C, 0x005D, 0x005E, 0x005F,
            0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, 0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
            0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, 0x0078, 0x0079, 0x007A, 0x007B, 0x007C, 0x007D, 0x007E, 0x2302,
            0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
            0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, 0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,
            0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
            0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
            0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
            0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B, 0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
            0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
            0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, 0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
        ];
        for (b, &u) in UNICODE.iter().enumerate() {
            assert_eq!(cp437(b as u8) as u32, u, "code {b:#04x}");
        }
        // Spot checks by name.
        assert_eq!(cp437(0x01), '\u{263A}', "white smiling face");
        assert_eq!(cp437(0x03), '\u{2665}', "black heart suit");
        assert_eq!(cp437(0x0F), '\u{263C}', "white sun with rays");
        assert_eq!(cp437(0x10), '\u{25BA}', "black right-pointing pointer");
        assert_eq!(cp437(0x1C), '\u{221F}', "right angle");
        assert_eq!(cp437(0x7F), '\u{2302}', "house");
        assert_eq!(cp437(0x9E), '\u{20A7}', "peseta sign");
        assert_eq!(cp437(0xC4), '\u{2500}', "box drawings light horizontal");
        assert_eq!(cp437(0xE1), '\u{00DF}', "sharp s, also used as beta");
        assert_eq!(cp437(0xFF), '\u{00A0}', "no-break space");
        assert_eq!(cp437(0x00), ' ');
    }

    #[test]
    fn the_wheel_reaches_a_guest_that_enabled_intellimouse_packets() {
        let mut pc = pc_with(&[0xF4]);
        let aux = |pc: &mut Pc, b: u8| {
            pc.bus.io_write(0x64, 1, 0xD4);
            pc.bus.io_write(0x60, 1, b as u32);
        };
        for b in [0xF3, 200, 0xF3, 100, 0xF3, 80, 0xF4] {
            aux(&mut pc, b);
        }
        let read = |pc: &mut Pc| {
            let mut v = Vec::new();
            while pc.bus.io_read(0x64, 1) & 1 != 0 {
                v.push(pc.bus.io_read(0x60, 1) as u8);
            }
            v
        };
        assert_eq!(read(&mut pc), [0xFA; 7]);
        // One notch up (away from the user) is Z = -1 in the fourth byte.
        pc.mouse_wheel_event(0, 0, -1, 0);
        assert_eq!(read(&mut pc), [0x08, 0x00, 0x00, 0xFF]);
    }

    /// CMOS byte `reg` as a guest reads it: index to port 70h, data from 71h.
    fn cmos(pc: &mut Pc, reg: u8) -> u8 {
        pc.bus.io_write(0x70, 1, reg as u32);
        pc.bus.io_read(0x71, 1) as u8
    }

    #[test]
    fn boot_order_reaches_cmos_3dh_and_38h() {
        // QEMU's set_boot_dev for `-boot ac`: 3Dh = (2 << 4) | 1 = 21h, 38h = 00h
        // (no third device, floppy signature check on); `-boot ca`: 3Dh = 12h.
        let mut pc = pc_with(&[0xF4]);
        assert_eq!((cmos(&mut pc, 0x3D), cmos(&mut pc, 0x38)), (0x21, 0x00));
        pc.set_boot_order(BootOrder::HardDisk);
        assert_eq!((cmos(&mut pc, 0x3D), cmos(&mut pc, 0x38)), (0x12, 0x00));
        pc.set_boot_order(BootOrder::Floppy);
        assert_eq!(cmos(&mut pc, 0x3D), 0x21);
    }

    #[test]
    fn a_bios_image_reads_the_boot_order_from_cmos() {
        // mov al,3Dh; out 70h,al; in al,71h; out 0E9h,al; mov al,38h; out 70h,al;
        // in al,71h; out 0E9h,al; out 0F4h,al
        // at F000:0000, reached by jmp F000:0000 from the reset vector.
        let code = [
            0xB0, 0x3D, 0xE6, 0x70, 0xE4, 0x71, 0xE6, 0xE9, 0xB0, 0x38, 0xE6, 0x70, 0xE4, 0x71,
            0xE6, 0xE9, 0xE6, 0xF4,
        ];
        let mut pc = pc_with(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
        pc.bus.bios[..code.len()].copy_from_slice(&code);
        pc.set_boot_order(BootOrder::HardDisk);
        assert!(matches!(pc.run(1000), Some(Exit::DebugExit(_))));
        assert_eq!(pc.bus.debugcon, [0x12, 0x00]);
    }

    #[test]
    fn the_built_in_post_records_a_boot_order_set_directly() {
        let mut pc = Pc::new(Config {
            memory_mb: 1,
            no_reboot: true,
            ..Config::default()
        })
        .unwrap();
        pc.boot_order = BootOrder::HardDisk;
        assert_eq!(pc.run(1_000_000), Some(Exit::NoBootDevice));
        assert_eq!((cmos(&mut pc, 0x3D), cmos(&mut pc, 0x38)), (0x12, 0x00));
    }

    #[test]
    fn rom_is_read_only_and_aliased_below_4g() {
        let mut pc = pc_with(&[0xF4]);
        assert_eq!(pc.bus.read8(0xF_FFF0), 0xF4);
        assert_eq!(pc.bus.read8(0xFFFF_FFF0), 0xF4);
        pc.bus.write8(0xF_FFF0, 0);
        assert_eq!(pc.bus.read8(0xF_FFF0), 0xF4);
    }

    #[test]
    fn ide_ports_read_the_same_disk_the_bios_boots() {
        let mut img = vec![0u8; 512 * 100];
        img[512 * 7..512 * 8]
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8 ^ 0x5A);
        let mut pc = Pc::new(Config {
            memory_mb: 4,
            no_reboot: true,
            ..Config::default()
        })
        .unwrap();
        pc.attach_hard_disk(0, Box::new(MemDisk::new(img.clone())))
            .unwrap();
        // READ SECTORS, LBA 7, one sector, on the primary master (ATA-6 §8.27).
        for (port, v) in [
            (0x1F6, 0xE0),
            (0x1F2, 1),
            (0x1F3, 7),
            (0x1F4, 0),
            (0x1F5, 0),
            (0x1F7, 0x20),
        ] {
            pc.bus.io_write(port, 1, v);
        }
        assert_eq!(pc.bus.io_read(0x1F7, 1) & 0x08, 0x08, "DRQ");
        let mut got = Vec::new();
        for _ in 0..256 {
            got.extend_from_slice(&(pc.bus.io_read(0x1F0, 2) as u16).to_le_bytes());
        }
        assert_eq!(got, &img[512 * 7..512 * 8]);
        assert!(!pc.bus.ide[0].present(1), "no slave attached");
    }

    #[test]
    fn empty_option_rom_window_is_open_bus() {
        let mut pc = Pc::new(Config {
            memory_mb: 4,
            no_reboot: true,
            ..Config::default()
        })
        .unwrap();
        pc.bus.write8(0xC8000, 0x12);
        assert_eq!(pc.bus.read8(0xC8000), 0xFF);
        assert_eq!(
            pc.bus.read16(0xC0000),
            0xFFFF,
            "no 55AA option-ROM signature"
        );
        // Conventional memory below it is ordinary RAM.
        pc.bus.write8(0x9_0000, 0x34);
        assert_eq!(pc.bus.read8(0x9_0000), 0x34);
    }

    #[test]
    fn bochs_shutdown_string_on_port_8900() {
        let mut pc = pc_with(&[0xF4]);
        for c in b"xShutdown" {
            pc.bus.io_write(0x8900, 1, *c as u32);
        }
        assert_eq!(pc.bus.exit, Some(Exit::Shutdown));
    }

    #[test]
    fn a20_gate_masks_bit_20() {
        let mut pc = pc_with(&[0xF4]);
        pc.bus.write8(0x12345, 7);
        pc.bus.io_write(0x92, 1, 0);
        assert_eq!(pc.bus.read8(0x112345), 7);
        pc.bus.io_write(0x92, 1, 2);
        assert_eq!(pc.bus.read8(0x112345), 0xFF);
    }

    #[test]
    fn bad_bios_size_is_an_error() {
        assert!(Pc::new(Config {
            memory_mb: 1,
            bios: Some(vec![0; 1000]),
            no_reboot: true,
            ..Config::default()
        })
        .is_err());
    }

    #[test]
    fn timer_interrupts_wake_hlt_at_18_2_hz_of_virtual_time() {
        // Programs the PIC (vectors 08h) and PIT counter 0 (mode 3, count 65536), then
        // loops `sti; hlt` until the IRQ 0 handler has counted 18 ticks.
        let code: &[u8] = &[
            0xFA, // 00 cli
            0x31, 0xC0, // 01 xor ax,ax
            0x8E, 0xD8, // 03 mov ds,ax
            0x8E, 0xD0, // 05 mov ss,ax
            0xBC, 0x00, 0x7C, // 07 mov sp,7C00h
            0xC7, 0x06, 0x20, 0x00, 0x40, 0x00, // 0A mov word [20h],0040h
            0xC7, 0x06, 0x22, 0x00, 0x00, 0xF0, // 10 mov word [22h],F000h
            0xB0, 0x11, 0xE6, 0x20, // 16 ICW1
            0xB0, 0x08, 0xE6, 0x21, // 1A ICW2: vectors 08h
            0xB0, 0x04, 0xE6, 0x21, // 1E ICW3
            0xB0, 0x01, 0xE6, 0x21, // 22 ICW4
            0xB0, 0xFE, 0xE6, 0x21, // 26 mask all but IRQ 0
            0xB0, 0x36, 0xE6, 0x43, // 2A counter 0, LSB/MSB, mode 3
            0x31, 0xC0, // 2E xor ax,ax
            0xE6, 0x40, 0xE6, 0x40, // 30 count 0 = 65536
            0xFB, // 34 sti
            0xF4, // 35 hlt
            0x83, 0x3E, 0x00, 0x05, 0x12, // 36 cmp word [0500h],18
            0x72, 0xF8, // 3B jb 35h
            0xFA, 0xF4, // 3D cli; hlt
            0x90, // 3F
            0xFF, 0x06, 0x00, 0x05, // 40 inc word [0500h]
            0xB0, 0x20, 0xE6, 0x20, // 44 EOI
            0xCF, // 48 iret
        ];
        let mut rom = vec![0xF4u8; 64 << 10];
        rom[..code.len()].copy_from_slice(code);
        rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
        let mut pc = Pc::new(Config {
            memory_mb: 1,
            bios: Some(rom),
            no_reboot: true,
            ..Config::default()
        })
        .unwrap();
        assert_eq!(pc.run(10_000_000), Some(Exit::Halted));
        assert_eq!(pc.bus.read16(0x500), 18);
        // 18 periods of 65536 / 1193182 s = 988.66 ms of virtual time, reached by skipping
        // idle time rather than by executing millions of instructions.
        let ms = pc.bus.now as f64 / 1e6;
        assert!((988.0..990.0).contains(&ms), "virtual time {ms} ms");
        assert!(pc.instructions() < 1000);
    }

    #[test]
    fn tsc_counts_the_virtual_time_skipped_in_hlt() {
        // WRMSR 10h sets the TSC to 1_0000_0000h; RDTSC, arm PIT counter 0 in mode 0 for
        // 1193 counts (1193 / 1193182 Hz = 0.99985 ms), STI; HLT until IRQ 0, RDTSC
        // again. The machine skips the wait as idle time; the TSC must still advance by
        // ~1 ms at the documented 100 MHz, from the value WRMSR gave it.
        let code: &[u8] = &[
            0xFA, // 00 cli
            0x31, 0xC0, // 01 xor ax,ax
            0x8E, 0xD8, // 03 mov ds,ax
            0x8E, 0xD0, // 05 mov ss,ax
            0xBC, 0x00, 0x7C, // 07 mov sp,7C00h
            0xC7, 0x06, 0x20, 0x00, 0x62, 0x00, // 0A mov word [20h],0062h
            0xC7, 0x06, 0x22, 0x00, 0x00, 0xF0, // 10 mov word [22h],F000h
            0xB0, 0x11, 0xE6, 0x20, // 16 ICW1
            0xB0, 0x08, 0xE6, 0x21, // 1A ICW2: vectors 08h
            0xB0, 0x04, 0xE6, 0x21, // 1E ICW3
            0xB0, 0x01, 0xE6, 0x21, // 22 ICW4
            0xB0, 0xFE, 0xE6, 0x21, // 26 mask all but IRQ 0
            0xB0, 0x30, 0xE6, 0x43, // 2A counter 0, LSB/MSB, mode 0
            0x66, 0xB9, 0x10, 0x00, 0x00, 0x00, // 2E mov ecx,10h
            0x66, 0x31, 0xC0, // 34 xor eax,eax
            0x66, 0xBA, 0x01, 0x00, 0x00, 0x00, // 37 mov edx,1
            0x0F, 0x30, // 3D wrmsr
            0x0F, 0x31, // 3F rdtsc
            0x66, 0xA3, 0x04, 0x05, // 41 mov [504h],eax
            0x66, 0x89, 0x16, 0x08, 0x05, // 45 mov [508h],edx
            0xB8, 0xA9, 0x04, // 4A mov ax,1193
            0xE6, 0x40, 0x88, 0xE0, 0xE6, 0x40, // 4D out 40h,al; mov al,ah; out 40h,al
            0xFB, // 53 sti
            0xF4, // 54 hlt
            0xFA, // 55 cli
            0x0F, 0x31, // 56 rdtsc
            0x66, 0xA3, 0x0C, 0x05, // 58 mov [50Ch],eax
            0x66, 0x89, 0x16, 0x10, 0x05, // 5C mov [510h],edx
            0xF4, // 61 hlt
            0xB0, 0x20, 0xE6, 0x20, // 62 EOI
            0xCF, // 66 iret
        ];
        let mut rom = vec![0xF4u8; 64 << 10];
        rom[..code.len()].copy_from_slice(code);
        rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
        let mut pc = Pc::new(Config {
            memory_mb: 1,
            bios: Some(rom),
            no_reboot: true,
            ..Config::default()
        })
        .unwrap();
        assert_eq!(pc.run(1_000_000), Some(Exit::Halted));
        let mut at = |a: u32| pc.bus.read32(a) as u64 | (pc.bus.read32(a + 4) as u64) << 32;
        let (t0, t1) = (at(0x504), at(0x50C));
        assert_eq!(t0 >> 32, 1, "RDTSC right after WRMSR 10h: {t0:#x}");
        assert!(
            t0 - (1 << 32) < 10,
            "one clock per instruction since the WRMSR"
        );
        let delta = t1 - t0;
        // 0.99985 ms at 100 MHz = 99 985 ticks, plus the dozen instructions in between.
        assert!((99_900..100_100).contains(&delta), "TSC delta {delta}");
        assert!(
            pc.instructions() < 100,
            "the wait was skipped, not executed"
        );
    }
}
