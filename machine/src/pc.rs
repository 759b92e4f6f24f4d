//! The PC: the CPU, the bus it is wired to, the machine configuration, and the run loop
//! that slices execution at device events.

use crate::memmap::Region;
use crate::{bios, disk, keymap, screen::cp437, BlockDevice, BlockError, PcBus};
use cpu::{Bus, Cpu, CpuModel, Stop};
use devices::Nanos;

/// Which disk INT 19h tries first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BootOrder {
    Floppy,
    HardDisk,
    /// The CD-ROM (El Torito), then the hard disk, then the floppy.
    CdRom,
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
        const CDROM: u8 = 3;
        let (first, second, third) = match self {
            BootOrder::Floppy => (FLOPPY, HARD_DISK, 0),
            BootOrder::HardDisk => (HARD_DISK, FLOPPY, 0),
            BootOrder::CdRom => (CDROM, HARD_DISK, FLOPPY),
        };
        (second << 4 | first, third << 4)
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
    /// The guest entered ACPI sleep state S5 (soft off) through PM1_CNT.
    PowerOff,
    /// Triple fault, with rebooting disabled.
    TripleFault,
    /// The BIOS found no disk with a boot signature (55AAh) to start.
    NoBootDevice,
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
    /// A raw system-BIOS image (a multiple of 64 KB up to 2 MB), or `None` for the
    /// built-in BIOS.
    pub bios: Option<Vec<u8>>,
    /// An option ROM image (a VGA BIOS) for C0000h: 512 bytes to 128 KB, starting
    /// with 55h AAh (see `firmware`).
    pub vga_rom: Option<Vec<u8>>,
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
            vga_rom: None,
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
    pub(crate) no_reboot: bool,
    pub boot_order: BootOrder,
    /// Host-side state of the built-in BIOS's services.
    pub(crate) bios_state: bios::HostState,
}

impl Pc {
    /// Builds a PC. A BIOS image must be a multiple of 64 KB up to 2 MB; `None`
    /// selects the built-in BIOS.
    pub fn new(cfg: Config) -> Result<Pc, String> {
        let bios = cfg.bios.unwrap_or_else(bios::rom);
        if bios.is_empty() || !bios.len().is_multiple_of(64 << 10) || bios.len() > crate::BIOS_MAX {
            return Err(format!(
                "BIOS image is {} bytes; it must be a multiple of 64 KB up to 2 MB",
                bios.len()
            ));
        }
        if let Some(r) = &cfg.vga_rom {
            crate::firmware::check_option_rom(r)?;
        }
        if cfg.memory_mb == 0 || cfg.memory_mb > 3072 {
            return Err(format!(
                "memory size {} MB is out of range (1..3072)",
                cfg.memory_mb
            ));
        }
        let mut bus = PcBus::new(cfg.memory_mb, bios, cfg.rtc_epoch, cfg.ips);
        bus.pic = crate::interrupts::Interrupts::new(cfg.cpu.info().features & cpu::FEAT_APIC != 0);
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
        if let Some(r) = cfg.vga_rom {
            pc.bus.memmap.set_option_rom(r.len());
            pc.bus.option_rom = r;
        }
        pc.prepare_firmware();
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
        self.bus.rtc().set_byte(0x3D, b3d);
        self.bus.rtc().set_byte(0x38, b38);
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
        self.bus.reset();
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
                slice = slice.min(self.bus.clock.instructions_until(self.bus.now, next));
            }
            let stop = self.cpu.run(&mut self.bus, slice);
            self.bus.sync(self.cpu.icount);
            // FERR#: an unmasked x87 error with CR0.NE = 0 raises IRQ 13 until port 0F0h
            // is written (checked at slice ends, so within one device-event interval).
            if self.cpu.fpu_error_pending() && self.cpu.cr0 & cpu::CR0_NE == 0 && !self.bus.ferr {
                self.bus.ferr = true;
                self.bus.pic.set_irq(13, true);
            }
            self.bus.acpi_sleep();
            if let Some(e) = self.bus.exit {
                return Some(e);
            }
            let output_full = std::mem::take(&mut self.bus.output_full);
            if std::mem::take(&mut self.bus.reset_requested) {
                self.cpu.reset();
                self.bus.pic.cpu_reset();
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
                // The debugger takes over: `Cpu::take_debug_stop` says why.
                Stop::Debug => return None,
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
                            let before = self.bus.clock.ticks_of(self.bus.clock.idle);
                            self.bus.clock.idle += skip;
                            self.cpu
                                .advance_tsc(self.bus.clock.ticks_of(self.bus.clock.idle) - before);
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
                    self.bus.pic.cpu_reset();
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

    /// The physical address a debugger access at `addr` reaches: through the guest's page
    /// tables (side-effect free: see `Cpu::debug_translate`) unless `phys`.
    fn debug_phys(&mut self, addr: u32, phys: bool) -> Option<u32> {
        if phys {
            Some(addr)
        } else {
            self.cpu.debug_translate(&mut self.bus, addr)
        }
    }

    /// Reads guest memory for a debugger into `buf`, from linear addresses or, with
    /// `phys`, physical ones. VGA memory is read without loading the VGA latches, and
    /// device MMIO (whose reads may have side effects) reads as FFh. Returns how many
    /// bytes were readable (stops at an unmapped page).
    pub fn debug_read(&mut self, addr: u32, phys: bool, buf: &mut [u8]) -> usize {
        for (i, b) in buf.iter_mut().enumerate() {
            let Some(p) = self.debug_phys(addr.wrapping_add(i as u32), phys) else {
                return i;
            };
            let m = self.bus.map_addr(p);
            *b = match self.bus.memmap.read(m) {
                Region::Vga => self.bus.vga.mem_peek(m),
                Region::Mmio(_) => 0xFF,
                _ => self.bus.read8(p),
            };
        }
        buf.len()
    }

    /// Writes guest memory for a debugger (linear or, with `phys`, physical addresses)
    /// as a CPU write would land: RAM and VGA memory change, ROM stays. Cached code
    /// there is dropped. Returns how many bytes were writable.
    pub fn debug_write(&mut self, addr: u32, phys: bool, data: &[u8]) -> usize {
        for (i, &b) in data.iter().enumerate() {
            let Some(p) = self.debug_phys(addr.wrapping_add(i as u32), phys) else {
                return i;
            };
            self.bus.write8(p, b);
            self.cpu.invalidate_phys(self.bus.map_addr(p), 1);
        }
        data.len()
    }
}
