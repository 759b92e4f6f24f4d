//! The PC's buses as the CPU sees them: the physical address space (RAM, the VGA
//! window, the BIOS ROM and its alias below 4 GB, the A20 gate) and the I/O port space,
//! dispatched through a table built once, plus the debug and test ports (0xE9, 0x80,
//! 0xF4, 0x8900) and the output buffers the frontend drains.

use crate::interrupts::Interrupts;
use crate::{
    bios,
    clock::Clock,
    memmap::{MemMap, Region},
    Exit,
};
use cpu::Bus;
use devices::device::{Ctx, Device};
use devices::{
    bmide::{Bmide, GuestMemory, IrqEdges},
    dma::{Dma, DmaMemory},
    fdc::Fdc,
    i440fx,
    i8042::I8042,
    ide::IdeChannel,
    pci::{devfn, PciBus},
    piix3,
    pit::Pit,
    rtc::Rtc,
    uart::Uart,
    vga::Vga,
    Nanos,
};
use std::any::Any;
use std::collections::HashSet;

/// Which device answers a port, from a table built once (no search per access).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Dev {
    None,
    Pic,
    /// A device of the table, by index (see [`PcBus::register`]).
    Table(u8),
    DebugCon,
    /// Ports 402h/403h: the firmware's debug output (SeaBIOS's CONFIG_DEBUG_IO port,
    /// the Bochs BIOS's INFO/DEBUG ports).
    FirmwareLog,
    Post,
    DebugExit,
    BochsShutdown,
    Port92,
    Kbd,
    BiosTrap,
    Com1,
    Com2,
    FpuBusy,
    /// IDE channel 0 (1F0h–1F7h, 3F6h) or 1 (170h–177h, 376h).
    Ide(u8),
    Vga,
    Fdc,
    /// PCI configuration mechanism #1 (0CF8h–0CFFh) and the PIIX3 reset control (0CF9h).
    Pci,
    /// The PIIX3 IDE bus master block, where BMIBA puts it.
    Bmide,
    /// The Bochs VBE interface (1CEh–1D0h), 16 bits wide.
    Dispi,
}

/// Where the built-in chips sit on PCI bus 0 (QEMU's `pc` machine uses the same).
pub(crate) const HOST_BRIDGE: u8 = devfn(0, 0);
pub(crate) const ISA_BRIDGE: u8 = devfn(1, 0);
pub(crate) const IDE: u8 = devfn(1, 1);
/// The std-vga PCI function (QEMU: 00:02.0).
pub(crate) const VGA: u8 = devfn(2, 0);
/// Memory-map device numbers of the VGA's BARs (the VGA is not in the device table).
pub(crate) const VGA_LFB: usize = usize::MAX;
pub(crate) const VGA_MMIO: usize = usize::MAX - 1;

/// The PCI bus with the i440FX host bridge and the PIIX3's ISA and IDE functions.
fn pci_bus() -> PciBus {
    let mut pci = PciBus::new();
    pci.add(HOST_BRIDGE, i440fx::host_bridge());
    pci.add(ISA_BRIDGE, piix3::isa_bridge());
    pci.add(IDE, piix3::ide());
    pci.add(VGA, devices::vga::pci_function());
    pci
}

/// The PC's physical address space and I/O ports, as the CPU sees them.
pub struct PcBus {
    pub(crate) ram: Vec<u8>,
    pub(crate) bios: Vec<u8>,
    pub(crate) a20: bool,
    /// Bytes written to port 0xE9, drained by the frontend (at most [`OUTPUT_MAX`]).
    pub debugcon: Vec<u8>,
    /// Bytes written to ports 0x402/0x403 (firmware debug output), drained by the
    /// frontend (at most [`OUTPUT_MAX`]).
    pub firmware_log: Vec<u8>,
    /// The option ROM image at C0000h (`--vga-rom`), empty for none.
    pub(crate) option_rom: Vec<u8>,
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
    /// COM1 (0x3F8, IRQ 4) and COM2 (0x2F8, IRQ 3).
    pub com: [Uart; 2],
    /// A BIOS stub asked for a host-side service (see `bios.rs`).
    pub(crate) trap: bool,
    pub(crate) bios_call: bool,
    /// The interrupt controllers: the 8259 pair (`pic.i8259`), the I/O APIC and the
    /// local APIC, wired as `interrupts` describes.
    pub pic: Interrupts,
    /// Devices reached through the [`Device`] interface, in registration order.
    pub(crate) table: Vec<Box<dyn Device>>,
    pub vga: Vga,
    /// The 82077AA floppy controller on DMA channel 2 (of the 8237 pair in the device
    /// table), IRQ 6.
    pub fdc: Fdc,
    /// PCI bus 0: the i440FX, the PIIX3 ISA bridge and IDE function.
    pub pci: PciBus,
    /// The PIIX3 IDE bus master (at BMIBA, see `devices::bmide`).
    pub bmide: Bmide,
    /// Where the bus master block decodes now.
    pub(crate) bmide_base: Option<u16>,
    /// The PIIX3 reset control register (0CF9h).
    pub(crate) reset_control: u8,
    /// Which region answers each physical address (PAM, BIOS ROM, VGA, RAM).
    pub(crate) memmap: MemMap,
    /// Virtual time: the instruction rate and the idle time skipped in HLT.
    pub(crate) clock: Clock,
    /// Virtual time of the last `sync`.
    pub now: Nanos,
}

/// The largest system-BIOS image: 2 MB (any multiple of 64 KB up to it).
pub const BIOS_MAX: usize = 2 << 20;

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

/// Guest RAM as the IDE bus master reaches it: physical addresses, no A20 gate, plain
/// RAM only (writes into A0000h–FFFFFh are dropped, reads past RAM are all ones).
struct BusMasterRam<'a>(&'a mut [u8]);

impl GuestMemory for BusMasterRam<'_> {
    fn read(&mut self, addr: u32, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr.wrapping_add(i as u32) as usize;
            *b = *self.0.get(a).unwrap_or(&0xFF);
        }
    }
    fn write(&mut self, addr: u32, data: &[u8]) {
        let a = addr as usize;
        // The common case in one copy: a span of RAM above the legacy window.
        if a >= 0x10_0000 || a + data.len() <= 0xA_0000 {
            if let Some(dst) = a
                .checked_add(data.len())
                .and_then(|end| self.0.get_mut(a..end))
            {
                dst.copy_from_slice(data);
                return;
            }
        }
        for (i, &b) in data.iter().enumerate() {
            let x = addr.wrapping_add(i as u32);
            if !(0xA_0000..0x10_0000).contains(&x) {
                if let Some(m) = self.0.get_mut(x as usize) {
                    *m = b;
                }
            }
        }
    }
}

impl PcBus {
    /// A bus with `memory_mb` MB of RAM, the BIOS image `bios` (64, 128 or 256 KB,
    /// checked by the caller), the RTC at Unix time `rtc_epoch` and a virtual clock of
    /// `ips` instructions per second.
    pub(crate) fn new(memory_mb: u32, bios: Vec<u8>, rtc_epoch: i64, ips: u64) -> PcBus {
        let bios_len = bios.len();
        let mut bus = PcBus {
            ram: vec![0; memory_mb as usize * 1024 * 1024],
            bios,
            a20: true,
            debugcon: Vec::new(),
            firmware_log: Vec::new(),
            option_rom: Vec::new(),
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
            com: [Uart::new(4), Uart::new(3)],
            trap: false,
            bios_call: false,
            pic: Interrupts::new(true),
            table: Vec::new(),
            vga: Vga::new(),
            fdc: Fdc::new(),
            pci: pci_bus(),
            bmide: Bmide::new(),
            bmide_base: None,
            reset_control: 0,
            memmap: MemMap::new(memory_mb as usize * 1024 * 1024, bios_len),
            clock: Clock {
                ips: ips.max(1),
                idle: 0,
            },
            now: 0,
        };
        // The device table: one line per chip.
        bus.register(Box::new(Pit::new()));
        bus.register(Box::new(Rtc::new(rtc_epoch)));
        bus.register(Box::new(Dma::new()));
        bus.register(Box::new(devices::fw_cfg::FwCfg::new()));
        bus.register(Box::new(devices::acpi::AcpiPm::new()));
        bus
    }

    /// Adds a device to the table and routes its ports to it (ports another device
    /// already decodes stay with that device).
    pub(crate) fn register(&mut self, dev: Box<dyn Device>) {
        let i = self.table.len();
        let Ok(id) = u8::try_from(i) else {
            log::error!(target: "machine", "device table full: {} not registered", dev.name());
            return;
        };
        for (first, count) in dev.ports() {
            for p in first..first.saturating_add(count) {
                match self.ports[p as usize] {
                    Dev::None => self.ports[p as usize] = Dev::Table(id),
                    _ => {
                        log::warn!(target: "machine", "{}: port {p:#06x} already taken", dev.name())
                    }
                }
            }
        }
        self.table.push(dev);
        self.refresh_mmio();
    }

    /// Collects the table devices' memory regions into the memory map (after a device
    /// is added and after configuration writes, which is when regions move).
    pub(crate) fn refresh_mmio(&mut self) {
        let mut regions: Vec<_> = self
            .table
            .iter()
            .enumerate()
            .flat_map(|(i, d)| d.mmio_regions().into_iter().map(move |(b, l)| (b, l, i)))
            .collect();
        let vga = self.pci.function(VGA);
        let lfb = vga.and_then(|f| f.mem_bar(devices::vga::LFB_BAR));
        let mmio = vga.and_then(|f| f.mem_bar(devices::vga::MMIO_BAR));
        self.vga.set_bars(lfb.map(|b| b.0), mmio.map(|b| b.0));
        regions.extend(lfb.map(|(b, l)| (b, l, VGA_LFB)));
        regions.extend(mmio.map(|(b, l)| (b, l, VGA_MMIO)));
        self.memmap.set_mmio(regions);
    }

    /// The table's device of type `T` (the first one).
    pub fn device_mut<T: Device>(&mut self) -> Option<&mut T> {
        self.table
            .iter_mut()
            .find_map(|d| (d.as_mut() as &mut dyn Any).downcast_mut::<T>())
    }

    /// The RTC and CMOS.
    pub fn rtc(&mut self) -> &mut Rtc {
        self.device_mut::<Rtc>()
            .expect("the RTC is registered at construction")
    }

    /// The reset line: the chips a reset reinitializes start over (disks, CMOS, UARTs
    /// and the floppy controller's media keep their state).
    pub(crate) fn reset(&mut self) {
        self.pci = pci_bus();
        self.bmide = Bmide::new();
        self.reset_control = 0;
        self.pci_changed();
        self.pic.reset();
        for d in self.table.iter_mut() {
            d.reset();
        }
        self.kbd = I8042::new();
        self.vga = Vga::new();
        self.a20 = true;
        self.ferr = false;
    }

    /// Follows a PCI configuration write: the bus master block's port range (BMIBA and
    /// the I/O enable) and the BIOS area's PAM attributes.
    pub(crate) fn pci_changed(&mut self) {
        let base = self
            .pci
            .function(IDE)
            .and_then(|f| f.io_bar(piix3::BMIBA_BAR));
        if base != self.bmide_base {
            if let Some(old) = self.bmide_base {
                for p in old..old.saturating_add(16) {
                    if self.ports[p as usize] == Dev::Bmide {
                        self.ports[p as usize] = Dev::None;
                    }
                }
            }
            if let Some(new) = base {
                for p in new..new.saturating_add(16) {
                    match self.ports[p as usize] {
                        Dev::None => self.ports[p as usize] = Dev::Bmide,
                        _ => {
                            log::warn!(target: "pci", "bus master port {p:#06x} overlaps another device; that device keeps it")
                        }
                    }
                }
            }
            log::debug!(target: "pci", "bus master IDE at {base:x?}");
            self.bmide_base = base;
        }
        if let Some(host) = self.pci.function(HOST_BRIDGE) {
            self.memmap.set_pam(&i440fx::pam_segments(host));
        }
        self.refresh_mmio();
    }

    /// Runs IDE channel `ch`'s DMA transfer if its drive and its bus master are both
    /// ready and the IDE function may master the bus.
    fn run_bus_master(&mut self, ch: usize) {
        if !self.pci.function(IDE).is_some_and(|f| f.bus_master()) {
            return;
        }
        let Some(ide) = self.ide.get_mut(ch) else {
            return;
        };
        let mut mem = BusMasterRam(&mut self.ram);
        self.bmide.run(ch, ide, &mut mem, &mut self.pic);
    }

    #[inline]
    pub(crate) fn map_addr(&self, addr: u32) -> u32 {
        if self.a20 {
            addr
        } else {
            addr & !(1 << 20)
        }
    }

    /// Sets the A20 gate from a port write; a change stops the CPU after the
    /// instruction so its TLB drops host offsets resolved through the old gate
    /// (`Bus::mem_generation`).
    fn port_a20(&mut self, on: bool) {
        if on != self.a20 {
            self.a20 = on;
            self.trap = true;
        }
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
        t[0xE9] = Dev::DebugCon;
        t[0x402] = Dev::FirmwareLog;
        t[0x403] = Dev::FirmwareLog;
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
        for i in 0..8 {
            t[0x3F8 + i] = Dev::Com1;
            t[0x2F8 + i] = Dev::Com2;
        }
        t[bios::TRAP_PORT as usize] = Dev::BiosTrap;
        t[0x3B0..0x3E0].fill(Dev::Vga);
        t[0x1CE..0x1D1].fill(Dev::Dispi);
        for &p in Fdc::ports() {
            t[p as usize] = Dev::Fdc;
        }
        t[0xCF8..0xD00].fill(Dev::Pci);
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
        for d in self.table.iter_mut() {
            d.tick(&mut Ctx {
                now,
                irq: &mut self.pic,
            });
        }
        self.kbd.tick(now, &mut self.pic);
        let mut mem = DmaRam(&mut self.ram);
        let dma = self
            .table
            .iter_mut()
            .find_map(|d| (d.as_mut() as &mut dyn Any).downcast_mut::<Dma>());
        if let Some(dma) = dma {
            self.fdc.tick(now, dma, &mut mem, &mut self.pic);
        }
        for c in self.com.iter_mut() {
            c.tick(now, &mut self.pic);
        }
        self.pic.tick(now);
    }

    pub(crate) fn next_event(&self) -> Option<Nanos> {
        let now = self.now;
        let table = self.table.iter().filter_map(|d| d.next_event(now)).min();
        [
            table,
            self.kbd.next_event(now),
            self.fdc.next_event(now),
            self.com[0].next_event(now),
            self.com[1].next_event(now),
            self.pic.next_event(),
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
        if (a as usize) < self.ram.len() && !(0xA_0000..0x10_0000).contains(&a) {
            return self.ram[a as usize];
        }
        match self.memmap.read(a) {
            Region::Ram(o) => *self.ram.get(o).unwrap_or(&0xFF),
            Region::Rom(o) => *self.bios.get(o).unwrap_or(&0xFF),
            Region::OptionRom(o) => *self.option_rom.get(o).unwrap_or(&0xFF),
            Region::Vga => self.vga.mem_read(a),
            Region::Mmio(i @ (VGA_LFB | VGA_MMIO)) => self.vga.bar_read(a, i == VGA_LFB, self.now),
            Region::Mmio(i) => match self.table.get_mut(i) {
                Some(d) => {
                    let mut ctx = Ctx {
                        now: self.now,
                        irq: &mut self.pic,
                    };
                    d.mmio_read(a, 1, &mut ctx) as u8
                }
                None => 0xFF,
            },
            // The APICs answer above RAM where nothing else decodes.
            Region::OpenBus => self.pic.mmio_read(a, 1, self.now).unwrap_or(0xFF) as u8,
        }
    }

    #[inline]
    fn write8(&mut self, addr: u32, value: u8) {
        let a = self.map_addr(addr);
        if (a as usize) < self.ram.len() && !(0xA_0000..0x10_0000).contains(&a) {
            self.ram[a as usize] = value;
            return;
        }
        match self.memmap.write(a) {
            Region::Ram(o) => {
                if let Some(b) = self.ram.get_mut(o) {
                    *b = value;
                }
            }
            Region::Vga => self.vga.mem_write(a, value),
            Region::Mmio(i @ (VGA_LFB | VGA_MMIO)) => {
                self.vga.bar_write(a, i == VGA_LFB, 1, value as u32)
            }
            Region::Mmio(i) => {
                if let Some(d) = self.table.get_mut(i) {
                    let mut ctx = Ctx {
                        now: self.now,
                        irq: &mut self.pic,
                    };
                    d.mmio_write(a, 1, value as u32, &mut ctx);
                }
            }
            Region::OpenBus => {
                self.pic.mmio_write(a, 1, value as u32, self.now);
            }
            Region::Rom(_) | Region::OptionRom(_) => {}
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

    /// Plain RAM is everything `ram_span` accepts: below A0000h or from 1 MB up to the
    /// installed size (the A0000h–FFFFFh window is VGA, ROM or PAM-dependent, so it
    /// always takes the byte path). Inside one 4 KB page A20 masking maps the range
    /// as a whole, since bit 20 is the same for every byte of it.
    #[inline]
    fn ram_offset(&mut self, addr: u32, len: u32) -> Option<usize> {
        if len == 0 || (addr & 0xFFF) as u64 + len as u64 > 0x1000 {
            return None;
        }
        self.ram_span(addr, len as usize)
    }

    fn ram(&mut self) -> &mut [u8] {
        &mut self.ram
    }

    fn host_ram(&mut self) -> Option<cpu::HostRam> {
        // SAFETY: `ram` is sized once, when the machine is built, and replaced only
        // by a snapshot load, between runs (a new block, which the CPU sees at its
        // next run start); nothing resizes it while the CPU runs. Everything else
        // reaches its bytes through borrows that end inside the method making them,
        // and `as_mut_ptr` materialises no reference to them.
        Some(unsafe { cpu::HostRam::new(self.ram.as_mut_ptr(), self.ram.len()) })
    }

    /// `ram_offset` depends on the memory map and the A20 gate, nothing else.
    fn mem_generation(&mut self) -> u64 {
        self.memmap.generation() << 1 | self.a20 as u64
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
            // QEMU's debugcon reads back E9h; SeaBIOS stops logging if it does not.
            Dev::FirmwareLog => 0xE9,
            Dev::Port92 => self.port92 as u32 | (self.a20 as u32) << 1,
            Dev::Post => self.last_post.unwrap_or(0) as u32,
            Dev::Pic => self.pic.read(port) as u32,
            Dev::Table(i) => match self.table.get_mut(i as usize) {
                Some(d) => d.io_read(
                    port,
                    size,
                    &mut Ctx {
                        now: self.now,
                        irq: &mut self.pic,
                    },
                ),
                None => ones,
            },
            Dev::Kbd => self.kbd.read(port, &mut self.pic) as u32,
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
            Dev::Dispi => (self.vga.dispi_port_read(port) as u32) & ones,
            Dev::Com1 => self.com[0].read(port, self.now, &mut self.pic) as u32,
            Dev::Com2 => self.com[1].read(port, self.now, &mut self.pic) as u32,
            Dev::Ide(ch) => {
                let (c, off) = (&mut self.ide[ch as usize], ide_offset(port));
                let mut irq = IrqEdges::new(&mut self.pic);
                let v = match (off, size) {
                    (0, 2) => c.read16(&mut irq) as u32,
                    (0, 4) => c.read16(&mut irq) as u32 | (c.read16(&mut irq) as u32) << 16,
                    _ => c.read(off, &mut irq) as u32,
                };
                if irq.rose != 0 {
                    self.bmide.interrupt(ch as usize);
                }
                v
            }
            // Byte accesses to 0CF9h reach the PIIX3's reset control register.
            Dev::Pci if port == 0xCF9 && size == 1 => self.reset_control as u32,
            Dev::Pci => self.pci.io_read(port, size),
            Dev::Bmide => {
                let off = port.wrapping_sub(self.bmide_base.unwrap_or(0));
                self.bmide.read(off, size)
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
            Dev::FirmwareLog => {
                if push_output(
                    &mut self.firmware_log,
                    &mut self.output_dropped,
                    value as u8,
                ) {
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
                self.port_a20(value & 2 != 0);
                self.port92 = value as u8 & !1;
                if value & 1 != 0 {
                    self.reset_requested = true;
                }
            }
            Dev::Pic => self.pic.write(port, value as u8),
            Dev::Table(i) => {
                if let Some(d) = self.table.get_mut(i as usize) {
                    d.io_write(
                        port,
                        size,
                        value,
                        &mut Ctx {
                            now: self.now,
                            irq: &mut self.pic,
                        },
                    );
                }
            }
            Dev::Kbd => {
                self.kbd.write(port, value as u8, &mut self.pic);
                self.port_a20(self.kbd.a20());
                if std::mem::take(&mut self.kbd.reset_requested) {
                    self.reset_requested = true;
                    self.trap = true;
                }
            }
            Dev::BiosTrap => {
                self.trap = true;
                self.bios_call = true;
            }
            Dev::Fdc => self.fdc.write(port, value as u8, self.now, &mut self.pic),
            Dev::Dispi => self.vga.dispi_port_write(port, value as u16),
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
                let mut irq = IrqEdges::new(&mut self.pic);
                match (off, size) {
                    (0, 2) => c.write16(value as u16, &mut irq),
                    (0, 4) => {
                        c.write16(value as u16, &mut irq);
                        c.write16((value >> 16) as u16, &mut irq);
                    }
                    _ => c.write(off, value as u8, &mut irq),
                }
                if irq.rose != 0 {
                    self.bmide.interrupt(ch as usize);
                }
                // A DMA command may find its bus master already started: an ATA
                // command at once, an ATAPI one when its packet's last word is written.
                if off == 7 || off == 0 {
                    self.run_bus_master(ch as usize);
                }
            }
            Dev::Pci if port == 0xCF9 && size == 1 => {
                // Reset control (PIIX3 datasheet 2.2.11): a 0-to-1 edge of bit 2 (reset
                // CPU) resets; bit 1 picks a hard reset, the same thing here.
                let v = value as u8 & 0x06;
                if v & 4 != 0 && self.reset_control & 4 == 0 {
                    self.reset_requested = true;
                    self.trap = true;
                }
                self.reset_control = v & !4;
            }
            Dev::Pci => {
                self.pci.io_write(port, size, value);
                if self.pci.take_changed() {
                    let gen = self.memmap.generation();
                    self.pci_changed();
                    // A PAM or BAR change: the CPU's TLB must see it before the next
                    // instruction (`Bus::mem_generation`).
                    if self.memmap.generation() != gen {
                        self.trap = true;
                    }
                }
            }
            Dev::Bmide => {
                let off = port.wrapping_sub(self.bmide_base.unwrap_or(0));
                let started = self.bmide.write(off, size, value);
                for (ch, s) in started.into_iter().enumerate() {
                    if s {
                        self.run_bus_master(ch);
                    }
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
        self.pic.pending()
    }

    fn irq_ack(&mut self) -> Option<u8> {
        self.pic.ack()
    }

    fn apic_base_written(&mut self, value: u64) {
        self.pic.set_apic_base(value);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A device with one port (300h, a latch) and 4 KB of memory at FEB00000h.
    struct Scratch {
        latch: u8,
        mem: Vec<u8>,
    }

    impl Device for Scratch {
        fn name(&self) -> &'static str {
            "scratch"
        }
        fn save_state(&self) -> Result<serde_json::Value, String> {
            Ok(serde_json::json!([self.latch, self.mem]))
        }
        fn load_state(&mut self, _state: serde_json::Value) -> Result<(), String> {
            Ok(())
        }
        fn ports(&self) -> Vec<(u16, u16)> {
            vec![(0x300, 1)]
        }
        fn io_read(&mut self, _port: u16, _size: u8, _ctx: &mut Ctx) -> u32 {
            self.latch as u32
        }
        fn io_write(&mut self, _port: u16, _size: u8, value: u32, _ctx: &mut Ctx) {
            self.latch = value as u8;
        }
        fn mmio_regions(&self) -> Vec<(u32, u32)> {
            vec![(0xFEB0_0000, 0x1000)]
        }
        fn mmio_read(&mut self, addr: u32, _size: u8, _ctx: &mut Ctx) -> u32 {
            self.mem[(addr & 0xFFF) as usize] as u32
        }
        fn mmio_write(&mut self, addr: u32, _size: u8, value: u32, _ctx: &mut Ctx) {
            self.mem[(addr & 0xFFF) as usize] = value as u8;
        }
    }

    #[test]
    fn a_registered_device_gets_its_ports_and_memory_region() {
        let mut bus = PcBus::new(2, vec![0xF4; 64 << 10], 0, 1_000_000);
        assert_eq!(bus.io_read(0x300, 1), 0xFF, "nothing there yet");
        bus.register(Box::new(Scratch {
            latch: 0,
            mem: vec![0; 0x1000],
        }));
        bus.io_write(0x300, 1, 0x5A);
        assert_eq!(bus.io_read(0x300, 1), 0x5A);
        bus.write32(0xFEB0_0010, 0x1234_5678);
        assert_eq!(bus.read32(0xFEB0_0010), 0x1234_5678);
        assert_eq!(
            bus.device_mut::<Scratch>().unwrap().mem[0x10..0x14],
            [0x78, 0x56, 0x34, 0x12]
        );
        // Outside the region: an empty bus; RAM below the top of memory is RAM.
        assert_eq!(bus.read8(0xFEB0_1000), 0xFF);
        bus.write8(0x1F_FFFF, 0x33);
        assert_eq!(bus.read8(0x1F_FFFF), 0x33);
        assert!(bus.device_mut::<Pit>().is_some());
    }

    #[test]
    fn only_plain_ram_is_offered_to_bulk_string_instructions() {
        // 2 MB of RAM; the A0000h–FFFFFh window (VGA, BIOS, PAM) and anything past the
        // end of RAM, or a range crossing a 4 KB page, take the byte path.
        let mut bus = PcBus::new(2, vec![0xF4; 64 << 10], 0, 1_000_000);
        assert_eq!(bus.ram_offset(0x1000, 0x1000), Some(0x1000));
        assert_eq!(bus.ram_offset(0x9_F000, 0x1000), Some(0x9_F000));
        assert_eq!(bus.ram_offset(0xB_8000, 16), None, "VGA text memory");
        assert_eq!(bus.ram_offset(0xF_0000, 16), None, "BIOS ROM");
        assert_eq!(bus.ram_offset(0x1F_F000, 0x1000), Some(0x1F_F000));
        assert_eq!(bus.ram_offset(0x20_0000, 4), None, "past 2 MB");
        assert_eq!(bus.ram_offset(0x1_0FFF, 2), None, "crosses a page");
        assert_eq!(bus.ram_offset(0xFEB0_0000, 4), None);
        // A20 off: 1 MB + x is x, as for read8/write8.
        bus.a20 = false;
        assert_eq!(bus.ram_offset(0x10_2000, 0x100), Some(0x2000));
        bus.write8(0x10_2000, 0x77);
        assert_eq!(bus.ram()[0x2000], 0x77);
    }
}
