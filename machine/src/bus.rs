//! The PC's buses as the CPU sees them: the physical address space (RAM, the VGA
//! window, the BIOS ROM and its alias below 4 GB, the A20 gate) and the I/O port space,
//! dispatched through a table built once, plus the debug and test ports (0xE9, 0x80,
//! 0xF4, 0x8900) and the output buffers the frontend drains.

use crate::{bios, clock::Clock, Exit};
use cpu::Bus;
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
pub(crate) enum Dev {
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

/// The PC's physical address space and I/O ports, as the CPU sees them.
pub struct PcBus {
    pub(crate) ram: Vec<u8>,
    pub(crate) bios: Vec<u8>,
    pub(crate) bios_base_low: u32,
    pub(crate) a20: bool,
    /// Bytes written to port 0xE9, drained by the frontend (at most [`OUTPUT_MAX`]).
    pub debugcon: Vec<u8>,
    /// Every POST code written to ports 0x80 and 0x190, drained by the frontend (at
    /// most [`OUTPUT_MAX`]).
    pub post: Vec<u8>,
    /// Guest output bytes dropped because the frontend had not drained a buffer.
    pub output_dropped: u64,
    /// An output buffer crossed [`OUTPUT_HIGH`]: `run_until` returns early so the
    /// frontend can drain it.
    pub(crate) output_full: bool,
    pub last_post: Option<u8>,
    pub exit: Option<Exit>,
    pub(crate) shutdown_match: usize,
    pub(crate) logged_ports: HashSet<u16>,
    pub(crate) port92: u8,
    pub(crate) reset_requested: bool,
    pub(crate) ports: Vec<Dev>,
    pub kbd: I8042,
    /// The primary (IRQ 14) and secondary (IRQ 15) IDE channels.
    pub ide: [IdeChannel; 2],
    /// FERR# latched onto IRQ 13 (x87 errors with CR0.NE = 0, as DOS-era PCs wire it).
    pub(crate) ferr: bool,
    pub rtc: Rtc,
    /// COM1 (0x3F8, IRQ 4) and COM2 (0x2F8, IRQ 3).
    pub com: [Uart; 2],
    /// A BIOS stub asked for a host-side service (see `bios.rs`).
    pub(crate) trap: bool,
    pub(crate) bios_call: bool,
    pub pic: Pic,
    pub pit: Pit,
    pub vga: Vga,
    /// The 8237 pair and the 82077AA floppy controller on DMA channel 2, IRQ 6.
    pub dma: Dma,
    pub fdc: Fdc,
    /// Virtual time: the instruction rate and the idle time skipped in HLT.
    pub(crate) clock: Clock,
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
pub(crate) fn push_output(buf: &mut Vec<u8>, dropped: &mut u64, b: u8) -> bool {
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
    /// A bus with `memory_mb` MB of RAM, the BIOS image `bios` (64, 128 or 256 KB,
    /// checked by the caller), the RTC at Unix time `rtc_epoch` and a virtual clock of
    /// `ips` instructions per second.
    pub(crate) fn new(memory_mb: u32, bios: Vec<u8>, rtc_epoch: i64, ips: u64) -> PcBus {
        let bios_base_low = 0x10_0000 - bios.len() as u32;
        PcBus {
            ram: vec![0; memory_mb as usize * 1024 * 1024],
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
            rtc: Rtc::new(rtc_epoch),
            com: [Uart::new(4), Uart::new(3)],
            trap: false,
            bios_call: false,
            pic: Pic::new(),
            pit: Pit::new(),
            vga: Vga::new(),
            dma: Dma::new(),
            fdc: Fdc::new(),
            clock: Clock {
                ips: ips.max(1),
                idle: 0,
            },
            now: 0,
        }
    }

    /// The reset line: the chips a reset reinitializes start over (disks, CMOS, UARTs
    /// and the floppy controller's media keep their state).
    pub(crate) fn reset(&mut self) {
        self.pic = Pic::new();
        self.pit = Pit::new();
        self.kbd = I8042::new();
        self.vga = Vga::new();
        self.dma = Dma::new();
        self.a20 = true;
        self.ferr = false;
    }

    #[inline]
    pub(crate) fn map_addr(&self, addr: u32) -> u32 {
        if self.a20 {
            addr
        } else {
            addr & !(1 << 20)
        }
    }

    /// The BIOS byte at `addr`, if the address falls in one of its two windows.
    #[inline]
    pub(crate) fn rom_offset(&self, addr: u32) -> Option<usize> {
        if (self.bios_base_low..0x10_0000).contains(&addr) {
            return Some((addr - self.bios_base_low) as usize);
        }
        let high = 0u32.wrapping_sub(self.bios.len() as u32);
        if addr >= high && high != 0 {
            return Some((addr - high) as usize);
        }
        None
    }

    pub(crate) fn log_port_once(&mut self, port: u16, what: &str) {
        if self.logged_ports.insert(port) {
            log::info!(target: "ports", "unimplemented I/O port {port:#06x} ({what}); reads return all ones");
        }
    }
}

impl PcBus {
    pub(crate) fn build_ports() -> Vec<Dev> {
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
    pub(crate) fn ram_span(&self, addr: u32, n: usize) -> Option<usize> {
        let a = self.map_addr(addr) as usize;
        (a + n <= self.ram.len() && !(0xA_0000 - (n - 1)..0x10_0000).contains(&a)).then_some(a)
    }

    /// Lets every device catch up to `self.now`.
    pub(crate) fn tick_devices(&mut self) {
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

    pub(crate) fn next_event(&self) -> Option<Nanos> {
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
        self.now = self.clock.time_of(icount);
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
pub(crate) fn ide_offset(port: u16) -> u16 {
    if port & 0x200 != 0 {
        8
    } else {
        port & 7
    }
}
