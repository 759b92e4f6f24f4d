//! The built-in PC BIOS. Its services are implemented on the host side ("high-level
//! emulation"): every interrupt vector points at a four-byte stub in the ROM,
//! `out 0EEh, al; iret`, and the port write stops the CPU so that the machine can run
//! the service with the CPU's registers and memory in hand, then resumes at the IRET.
//! Only code whose timing matters to the guest, or that must call other guest handlers,
//! is real x86 code (the IRQ 0 handler that counts ticks and calls INT 1Ch; INT 09h and
//! INT 74h, see `keyboard` and `system`, which trap to the host in the middle). A stub
//! that must wait (INT 16h for a key) moves IP back onto its OUT and halts with
//! interrupts enabled, so it retries after the next interrupt. Services follow the IBM
//! PC/AT BIOS interface (Phoenix/IBM technical references; Ralf Brown's interrupt list
//! for register conventions).

mod acpi;
mod eltorito;
mod keyboard;
mod mptable;
mod pci;
mod system;

pub(crate) use system::HostState;

mod video;

use crate::disk::{DiskInfo, DiskKind};
use crate::{Pc, PcBus};
use cpu::{Bus, CF, CS, DS, ES, IF, SS};

/// The port whose writes from ROM stubs request a host-side service.
pub const TRAP_PORT: u16 = 0xEE;
/// ROM offsets (segment F000).
const POST_ENTRY: u16 = 0xE05B;
/// Where an option ROM's init returns (RETF) during POST: `out 0EEh, al`, and the host
/// goes on scanning (see `firmware`).
pub(crate) const ROM_RETURN: u16 = 0xE0E0;
/// Where a VGA BIOS's init returns: sets mode 3 through INT 10h, then `ROM_RETURN`.
pub(crate) const VGA_SET_MODE: u16 = ROM_RETURN - 5;
const STUBS: u16 = 0xE100;
const INT8: u16 = 0xE600;
const DPT: u16 = 0xEFC7;
const VIDEO_PARAMS: u16 = 0xF0A4;
/// ROM offsets of the MP floating pointer and configuration table, and of the ACPI
/// tables (RSDP first); both 16-byte aligned in F0000h–FFFFFh where the specifications'
/// scans look (see `mptable` and `acpi`).
const MP_ROM: u16 = 0x6000;
const ACPI_ROM: u16 = 0x6400;
const TABLES_END: u16 = 0x7000;

/// Builds the 64 KB BIOS image.
pub fn rom() -> Vec<u8> {
    let mut r = vec![0xFFu8; 0x10000];
    // POST entry: cli; out 0EEh, al (the host performs the power-on self test and loads
    // the boot sector); the host then sets CS:IP to the boot code.
    r[POST_ENTRY as usize..POST_ENTRY as usize + 3].copy_from_slice(&[0xFA, 0xE6, TRAP_PORT as u8]);
    // After a VGA BIOS's init: `mov ax,0003h; int 10h` through its own INT 10h (as
    // SeaBIOS does: some VGA BIOSes leave the mode to the system BIOS), then the trap.
    r[VGA_SET_MODE as usize..VGA_SET_MODE as usize + 5]
        .copy_from_slice(&[0xB8, 0x03, 0x00, 0xCD, 0x10]);
    r[ROM_RETURN as usize..ROM_RETURN as usize + 2].copy_from_slice(&[0xE6, TRAP_PORT as u8]);
    for n in 0..256usize {
        let o = STUBS as usize + n * 4;
        r[o..o + 4].copy_from_slice(&[0xE6, TRAP_PORT as u8, 0xCF, 0x90]);
    }
    #[rustfmt::skip]
    let int8: [u8; 0x34] = [
        0x1E, 0x50, 0x31, 0xC0, 0x8E, 0xD8,             // push ds; push ax; ds = 0
        0xFF, 0x06, 0x6C, 0x04,                         // inc word [046Ch]
        0x75, 0x04,                                     // jnz +4
        0xFF, 0x06, 0x6E, 0x04,                         // inc word [046Eh]
        0x83, 0x3E, 0x6E, 0x04, 0x18,                   // cmp word [046Eh], 18h
        0x75, 0x14,                                     // jne int1c
        0x81, 0x3E, 0x6C, 0x04, 0xB0, 0x00,             // cmp word [046Ch], 00B0h
        0x72, 0x0C,                                     // jb int1c
        0x31, 0xC0, 0xA3, 0x6C, 0x04, 0xA3, 0x6E, 0x04, // midnight: count = 0
        0xFE, 0x06, 0x70, 0x04,                         // inc byte [0470h] (rollover)
        0xCD, 0x1C,                                     // int1c: int 1Ch
        0xB0, 0x20, 0xE6, 0x20,                         // EOI
        0x58, 0x1F, 0xCF,                               // pop ax; pop ds; iret
    ];
    r[INT8 as usize..INT8 as usize + int8.len()].copy_from_slice(&int8);
    // Diskette parameter table (INT 1Eh) for 1.44 MB media, at its PC/AT address.
    r[DPT as usize..DPT as usize + 11].copy_from_slice(&[
        0xDF, 0x02, 0x25, 0x02, 0x12, 0x1B, 0xFF, 0x6C, 0xF6, 0x0F, 0x08,
    ]);
    // Reset vector: jmp far F000:E05B.
    r[0xFFF0..0xFFF5].copy_from_slice(&[
        0xEA,
        POST_ENTRY as u8,
        (POST_ENTRY >> 8) as u8,
        0x00,
        0xF0,
    ]);
    keyboard::install_rom(&mut r);
    system::install_rom(&mut r);
    pci::install_rom(&mut r);
    for (at, t) in [
        (MP_ROM, mptable::tables(0xF_0000 + MP_ROM as u32)),
        (ACPI_ROM, acpi::tables(0xF_0000 + ACPI_ROM as u32)),
    ] {
        let end = at as usize + t.len();
        debug_assert!(end <= TABLES_END as usize && r[at as usize..end].iter().all(|&b| b == 0xFF));
        r[at as usize..end].copy_from_slice(&t);
    }
    r[0xFFF5..0xFFFD].copy_from_slice(b"11/25/26");
    r[0xFFFE] = 0xFC; // model byte: PC/AT
    let _ = VIDEO_PARAMS;
    video::install_fonts(&mut r);
    r
}

/// BIOS data area addresses.
mod bda {
    pub const COM1: u32 = 0x400;
    pub const EQUIPMENT: u32 = 0x410;
    pub const MEM_KB: u32 = 0x413;
    pub const KB_FLAGS: u32 = 0x417;
    pub const KB_HEAD: u32 = 0x41A;
    pub const KB_TAIL: u32 = 0x41C;
    pub const FLOPPY_STATUS: u32 = 0x441;
    pub const TICKS: u32 = 0x46C;
    pub const MIDNIGHT: u32 = 0x470;
    pub const HD_STATUS: u32 = 0x474;
    pub const HD_COUNT: u32 = 0x475;
    pub const KB_START: u32 = 0x480;
    pub const KB_END: u32 = 0x482;
}

fn lin(seg: u16, off: u16) -> u32 {
    ((seg as u32) << 4) + off as u32
}

/// What the service asks of the stub it was called from.
enum After {
    /// Return through the stub's IRET.
    Return,
    /// Come back to the stub after the next interrupt (waiting for input).
    Wait,
}

impl Pc {
    /// Runs the host-side service a ROM stub asked for (see the module comment).
    /// Returns `false` if the trap did not come from the BIOS ROM (then it is ignored).
    pub(crate) fn bios_trap(&mut self) -> bool {
        let cs = self.cpu.seg[CS].selector;
        let ip = self.cpu.eip as u16;
        if self.cpu.protected() && !self.cpu.v86() {
            return self.pm_trap();
        }
        if cs != 0xF000 || self.cpu.protected() {
            return false;
        }
        if ip == POST_ENTRY + 3 {
            self.post();
            return true;
        }
        if ip == ROM_RETURN + 2 {
            let next = self.bios_state.rom_scan_next;
            if !self.option_rom_next(next) {
                self.boot();
            }
            return true;
        }
        if ip == keyboard::INT9_TRAP {
            self.int09_trap();
            return true;
        }
        if ip == system::INT74_TRAP {
            self.int74_trap();
            return true;
        }
        let off = ip.wrapping_sub(STUBS + 2);
        if !off.is_multiple_of(4) || off / 4 > 255 {
            return false;
        }
        let n = (off / 4) as u8;
        match self.service(n) {
            After::Return => {}
            After::Wait => {
                self.cpu.eip = (ip - 2) as u32;
                self.cpu.eflags |= IF;
                self.cpu.halted = true;
            }
        }
        true
    }

    fn r8(&mut self, a: u32) -> u8 {
        self.bus.read8(a)
    }
    fn r16(&mut self, a: u32) -> u16 {
        self.bus.read16(a)
    }
    fn w8(&mut self, a: u32, v: u8) {
        self.bus.write8(a, v);
        self.cpu.invalidate_phys(a, 1);
    }
    fn w16(&mut self, a: u32, v: u16) {
        self.bus.write16(a, v);
        self.cpu.invalidate_phys(a, 2);
    }

    fn ax(&self) -> u16 {
        self.cpu.regs[0] as u16
    }
    fn ah(&self) -> u8 {
        (self.cpu.regs[0] >> 8) as u8
    }
    fn al(&self) -> u8 {
        self.cpu.regs[0] as u8
    }
    fn set16(&mut self, r: usize, v: u16) {
        self.cpu.regs[r] = (self.cpu.regs[r] & !0xFFFF) | v as u32;
    }
    fn set_ah(&mut self, v: u8) {
        self.cpu.regs[0] = (self.cpu.regs[0] & !0xFF00) | (v as u32) << 8;
    }
    fn set_al(&mut self, v: u8) {
        self.cpu.regs[0] = (self.cpu.regs[0] & !0xFF) | v as u32;
    }

    /// Sets or clears a flag in the FLAGS image the stub's IRET will pop.
    fn ret_flag(&mut self, flag: u32, on: bool) {
        let a = lin(
            self.cpu.seg[SS].selector,
            (self.cpu.regs[4] as u16).wrapping_add(4),
        );
        let f = self.r16(a);
        let nf = if on {
            f | flag as u16
        } else {
            f & !(flag as u16)
        };
        self.w16(a, nf);
    }

    /// Power-on self test: interrupt vectors, BIOS data area, PIC and PIT, then boot.
    fn post(&mut self) {
        for n in 0..256u32 {
            self.w16(n * 4, STUBS + n as u16 * 4);
            self.w16(n * 4 + 2, 0xF000);
        }
        self.w16(8 * 4, INT8);
        self.w16(0x1E * 4, DPT);
        for a in 0x400..0x500 {
            self.w8(a, 0);
        }
        self.w16(bda::COM1, 0x3F8);
        self.w16(bda::COM1 + 2, 0x2F8);
        // A reset ends any El Torito emulation: the drives are numbered afresh.
        self.bios_state.cd = Default::default();
        let floppies = self.floppy_count() as u16;
        // Equipment: floppies present and count, 80×25 colour, two serial ports.
        let mut equip = 0x0020 | 2 << 9;
        if floppies > 0 {
            equip |= 1 | (floppies - 1) << 6;
        }
        self.w16(bda::EQUIPMENT, equip);
        self.w16(bda::MEM_KB, 640);
        self.w16(bda::KB_HEAD, 0x1E);
        self.w16(bda::KB_TAIL, 0x1E);
        self.w16(bda::KB_START, 0x1E);
        self.w16(bda::KB_END, 0x3E);
        self.keyboard_post();
        self.system_post();
        self.pci_post();
        self.w8(bda::HD_COUNT, self.hard_disk_count());
        self.set_video_mode(3);
        let ext_kb = (self.bus.ram_size() / 1024).saturating_sub(1024) as u32;
        let ft = |pc: &Pc, d| pc.floppy_info(d).map_or(0, |i| i.floppy_type);
        let (fa, fb) = (ft(self, 0), ft(self, 1));
        let (h0, h1) = (self.bus.ide[0].present(0), self.bus.ide[0].present(1));
        self.bus.rtc().set_config(640, ext_kb, fa, fb, h0, h1);
        self.write_boot_order_cmos();
        // PIC: vectors 08h and 70h, slave on IR2; PIT counter 0 at 18.2 Hz.
        for (p, v) in [
            (0x20, 0x11),
            (0x21, 0x08),
            (0x21, 0x04),
            (0x21, 0x01),
            (0xA0, 0x11),
            (0xA1, 0x70),
            (0xA1, 0x02),
            (0xA1, 0x01),
            (0x21, 0xB8),
            (0xA1, 0x8F),
        ] {
            self.bus.io_write(p, 1, v);
        }
        for (p, v) in [(0x43, 0x36), (0x40, 0), (0x40, 0)] {
            self.bus.io_write(p, 1, v);
        }
        // Option ROMs (a --vga-rom VGA BIOS first) run their init, then INT 19h.
        if !self.option_roms_start() {
            self.boot();
        }
    }

    /// INT 19h: load the first sector of the boot device at 0000:7C00 and jump to it
    /// (a CD first boots by El Torito, see `eltorito`; with `--kernel`, the kernel starts
    /// instead: see `boot`).
    fn boot(&mut self) {
        if self.start_kernel() {
            return;
        }
        let order: Vec<(u8, bool)> = match self.boot_order {
            crate::BootOrder::Floppy => vec![(0x00, false), (0x80, true)],
            crate::BootOrder::HardDisk => vec![(0x80, true), (0x00, false)],
            crate::BootOrder::CdRom => {
                if self.boot_cdrom() {
                    return;
                }
                vec![(0x80, true), (0x00, false)]
            }
        };
        for (drive, _hard) in order {
            let Ok(sector) = self.disk_read(drive, 0, 1) else {
                continue;
            };
            // The IBM PC BIOS booted any floppy; like later BIOSes we want the
            // signature on both, so a blank or data disk gets a message, not a crash.
            if (sector[510], sector[511]) != (0x55, 0xAA) {
                log::info!(target: "bios", "drive {drive:#04x}: no boot signature");
                continue;
            }
            for (i, b) in sector.iter().enumerate() {
                self.bus.write8(0x7C00 + i as u32, *b);
            }
            self.cpu.invalidate_phys(0x7C00, 512);
            for s in [CS, DS, ES, SS] {
                self.cpu.seg[s].load_real(0);
            }
            self.cpu.eip = 0x7C00;
            self.cpu.regs[4] = 0x7C00;
            self.cpu.regs[2] = drive as u32;
            self.cpu.eflags = 0x202;
            return;
        }
        self.print_text("No bootable device.\r\n");
        log::info!(target: "bios", "no bootable device");
        self.bus.exit.get_or_insert(crate::Exit::NoBootDevice);
        self.bus.trap = true;
        self.cpu.eflags &= !IF;
        self.cpu.halted = true;
    }

    /// Geometry of BIOS drive `drive` (00h/01h floppies, 80h/81h the primary IDE
    /// channel's master and slave, E0h the CD; El Torito emulation renumbers them).
    fn disk(&self, drive: u8) -> Option<DiskInfo> {
        match self.target(drive)? {
            eltorito::Target::Floppy(n) => self.floppy_info(n),
            eltorito::Target::Hard(slot) => match self.bus.ide[0].sectors(slot) {
                0 => None,
                n => Some(DiskInfo::hard(n)),
            },
            eltorito::Target::Cd(ch, slot) => self.cd_info(ch, slot),
            eltorito::Target::Image(b) => b.geometry(),
        }
    }

    /// `count` sectors from `lba`, or the INT 13h status of the failure: 04h for a
    /// range outside the disk, 10h (uncorrectable data) when the image cannot be read.
    fn disk_read(&mut self, drive: u8, lba: u64, count: u64) -> Result<Vec<u8>, u8> {
        let sectors = self.disk(drive).ok_or(0x01u8)?.sectors;
        if lba.checked_add(count).is_none_or(|end| end > sectors) {
            return Err(0x04);
        }
        match self.target(drive).ok_or(0x01u8)? {
            eltorito::Target::Floppy(n) => self.bus.fdc.read_sectors(n, lba, count).ok_or(0x10),
            eltorito::Target::Hard(slot) => {
                let mut buf = vec![0; count as usize * 512];
                self.bus.ide[0]
                    .read_sectors(slot, lba, &mut buf)
                    .map_err(|_| 0x10)?;
                Ok(buf)
            }
            eltorito::Target::Cd(ch, slot) => self.cd_read(ch, slot, lba, count),
            eltorito::Target::Image(b) => self.image_read(b, lba, count),
        }
    }

    /// Writes whole sectors at `lba`; the INT 13h status of a failure: 03h write
    /// protected, 04h outside the disk, CCh (write fault) when the host cannot store it.
    fn disk_write(&mut self, drive: u8, lba: u64, bytes: &[u8]) -> Result<(), u8> {
        let sectors = self.disk(drive).ok_or(0x01u8)?.sectors;
        let count = (bytes.len() / 512) as u64;
        if lba.checked_add(count).is_none_or(|end| end > sectors) {
            return Err(0x04);
        }
        match self.target(drive).ok_or(0x01u8)? {
            eltorito::Target::Floppy(n) => {
                if self.bus.fdc.write_protected(n) {
                    return Err(0x03);
                }
                self.bus
                    .fdc
                    .write_sectors(n, lba, bytes)
                    .then_some(())
                    .ok_or(0x20)
            }
            // A CD and the images on it are read-only media.
            eltorito::Target::Cd(..) | eltorito::Target::Image(_) => Err(0x03),
            eltorito::Target::Hard(slot) => self.bus.ide[0]
                .write_sectors(slot, lba, bytes)
                .map_err(|e| match e {
                    devices::block::BlockError::ReadOnly => 0x03,
                    devices::block::BlockError::OutOfRange => 0x04,
                    devices::block::BlockError::Io(_) => 0xCC,
                }),
        }
    }

    fn floppy_count(&self) -> u8 {
        ((0..2).filter(|&d| self.bus.fdc.present(d)).count() as u8 + self.emulated_floppies())
            .min(2)
    }

    /// A floppy's geometry, from the controller's drive, with the CMOS/INT 13h drive
    /// type of its format (1 = 360K, 2 = 1.2M, 3 = 720K, 4 = 1.44M, 5 = 2.88M).
    pub(crate) fn floppy_info(&self, drive: usize) -> Option<DiskInfo> {
        let (c, h, s) = self.bus.fdc.geometry(drive)?;
        let floppy_type = match (c, s) {
            (40, _) => 1,
            (_, 15) => 2,
            (_, 9) => 3,
            (_, 36) => 5,
            _ => 4,
        };
        Some(DiskInfo {
            kind: DiskKind::Floppy,
            cylinders: c as u32,
            heads: h as u32,
            spt: s as u32,
            sectors: c as u64 * h as u64 * s as u64,
            floppy_type,
        })
    }

    fn hard_disk_count(&self) -> u8 {
        (0..2).filter(|&i| self.bus.ide[0].present(i)).count() as u8
    }

    fn service(&mut self, n: u8) -> After {
        self.note_service(n);
        match n {
            0x09 => self.int09(),
            0x10 => self.int10(),
            0x11 => {
                let v = self.r16(bda::EQUIPMENT);
                self.set16(0, v);
            }
            0x12 => {
                let v = self.r16(bda::MEM_KB);
                self.set16(0, v);
            }
            0x13 => self.int13(),
            0x14 => self.int14(),
            0x15 => return self.int15(),
            0x16 => return self.int16(),
            0x17 => self.set_ah(0x30), // printer: not busy, selected… none attached
            0x18 | 0x19 => self.boot(),
            0x1A => self.int1a(),
            // Hardware interrupts without a handler of their own: acknowledge them.
            0x0A..=0x0F => self.bus.io_write(0x20, 1, 0x20),
            0x70..=0x77 => {
                if n == 0x70 {
                    // Read RTC register C so the RTC can interrupt again.
                    self.bus.io_write(0x70, 1, 0x0C);
                    let _ = self.bus.io_read(0x71, 1);
                }
                self.bus.io_write(0xA0, 1, 0x20);
                self.bus.io_write(0x20, 1, 0x20);
            }
            _ => {}
        }
        After::Return
    }

    // ---- INT 13h: disks ----

    fn disk_status(&mut self, drive: u8, status: u8) {
        let a = if drive & 0x80 != 0 {
            bda::HD_STATUS
        } else {
            bda::FLOPPY_STATUS
        };
        self.w8(a, status);
        self.set_ah(status);
        self.ret_flag(CF, status != 0);
    }

    fn int13(&mut self) {
        let drive = self.cpu.regs[2] as u8;
        let ah = self.ah();
        if ah == 0x4B {
            return self.int13_4b();
        }
        if self.disk(drive).is_none()
            && !(ah == 0x15 || ah == 0x08 && drive & 0x80 == 0 && drive < 2)
        {
            return self.disk_status(drive, if drive & 0x80 != 0 { 0x01 } else { 0x80 });
        }
        match ah {
            0x00 | 0x0D | 0x10 | 0x11 | 0x0C => self.disk_status(drive, 0),
            0x01 => {
                let a = if drive & 0x80 != 0 {
                    bda::HD_STATUS
                } else {
                    bda::FLOPPY_STATUS
                };
                let s = self.r8(a);
                self.set_ah(s);
                self.ret_flag(CF, s != 0);
            }
            0x02..=0x04 => {
                let count = self.al() as u32;
                let cx = self.cpu.regs[1] as u16;
                let dh = (self.cpu.regs[2] >> 8) as u8;
                let cyl = ((cx >> 8) as u32) | (((cx & 0xC0) as u32) << 2);
                let sector = (cx & 0x3F) as u32;
                let head = dh as u32;
                let es = self.cpu.seg[ES].selector;
                let bx = self.cpu.regs[3] as u16;
                let Some(d) = self.disk(drive).filter(|d| d.kind != DiskKind::Cdrom) else {
                    return self.disk_status(drive, 0x01);
                };
                let Some(lba) = d.chs_to_lba(cyl, head, sector) else {
                    self.set_al(0);
                    return self.disk_status(drive, 0x04);
                };
                let status = self.transfer(drive, lba, count, es, bx, ah == 0x03, ah == 0x04);
                self.set_al(if status == 0 { count as u8 } else { 0 });
                self.disk_status(drive, status);
            }
            // A CD has no CHS geometry: EDD (AH=48h) describes it.
            0x08 if self.disk(drive).is_some_and(|d| d.kind == DiskKind::Cdrom) => {
                self.disk_status(drive, 0x01)
            }
            0x08 => {
                let Some(d) = self.disk(drive) else {
                    // A floppy drive with no media still reports its type.
                    self.set16(3, 0x0004);
                    return self.disk_status(drive, 0);
                };
                let (c, h, s, kind, ftype) =
                    (d.cylinders - 1, d.heads - 1, d.spt, d.kind, d.floppy_type);
                let count = if kind == DiskKind::Hard {
                    self.r8(bda::HD_COUNT)
                } else {
                    self.floppy_count()
                };
                self.set16(1, (((c & 0xFF) << 8) | ((c >> 2) & 0xC0) | s) as u16);
                self.set16(2, ((h as u16) << 8) | count as u16);
                if kind == DiskKind::Floppy {
                    self.cpu.regs[3] = (self.cpu.regs[3] & !0xFF) | ftype as u32;
                    self.cpu.seg[ES].load_real(0xF000);
                    self.set16(7, DPT);
                }
                self.set_al(0);
                self.disk_status(drive, 0);
            }
            0x15 => {
                // Disk type: AH = 1 floppy with change line, 3 fixed disk (CX:DX sectors).
                match self.disk(drive) {
                    Some(d) if d.kind != DiskKind::Floppy => {
                        // A CD's count is in 512-byte sectors too.
                        let n = if d.kind == DiskKind::Cdrom {
                            d.sectors.saturating_mul(4).min(u64::from(u32::MAX)) as u32
                        } else {
                            d.sectors as u32
                        };
                        self.set16(1, (n >> 16) as u16);
                        self.set16(2, n as u16);
                        self.set_ah(3);
                    }
                    _ if drive < 2 => self.set_ah(1),
                    _ => self.set_ah(0),
                }
                self.ret_flag(CF, false);
            }
            0x16 => self.disk_status(drive, 0), // media not changed
            0x41 if drive & 0x80 != 0 && self.cpu.regs[3] as u16 == 0x55AA => {
                // EDD 1.1: extended read/write/verify and drive parameters.
                self.set16(3, 0xAA55);
                self.set16(1, 0x0001);
                self.set_ah(0x21);
                self.ret_flag(CF, false);
            }
            0x42..=0x44 if drive & 0x80 != 0 => {
                let ds = self.cpu.seg[DS].selector;
                let si = self.cpu.regs[6] as u16;
                let p = lin(ds, si);
                let count = self.r16(p + 2) as u32;
                let off = self.r16(p + 4);
                let seg = self.r16(p + 6);
                let lba = self.bus.read32(p + 8) as u64 | (self.bus.read32(p + 12) as u64) << 32;
                let status = self.transfer(drive, lba, count, seg, off, ah == 0x43, ah == 0x44);
                if status != 0 {
                    self.w16(p + 2, 0);
                }
                self.disk_status(drive, status);
            }
            0x48 if drive & 0x80 != 0 => {
                let Some(d) = self.disk(drive) else {
                    return self.disk_status(drive, 0x01);
                };
                let (c, h, s, n) = (d.cylinders, d.heads, d.spt, d.sectors);
                let p = lin(self.cpu.seg[DS].selector, self.cpu.regs[6] as u16);
                let cd = d.kind == DiskKind::Cdrom;
                self.w16(p, 0x1A);
                // Flags: CHS valid; a CD is removable, has a change line and can lock
                // (EDD 3.0 Table 8), and reports no CHS geometry.
                self.w16(p + 2, if cd { 0x0074 } else { 0x0002 });
                self.bus.write32(p + 4, c);
                self.bus.write32(p + 8, h);
                self.bus.write32(p + 12, s);
                self.bus.write32(p + 16, n as u32);
                self.bus.write32(p + 20, (n >> 32) as u32);
                self.w16(p + 24, if cd { 2048 } else { 512 });
                self.disk_status(drive, 0);
            }
            _ => self.disk_status(drive, 0x01),
        }
    }

    /// Moves `count` sectors between the disk and memory at seg:off. Returns a BIOS
    /// status byte (0 = success).
    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &mut self,
        drive: u8,
        lba: u64,
        count: u32,
        seg: u16,
        off: u16,
        write: bool,
        verify: bool,
    ) -> u8 {
        let base = lin(seg, 0);
        let Some(d) = self.disk(drive) else {
            return 0x01;
        };
        // EDD caps a packet's block count at 127 (7Fh); a CD's 2048-byte blocks would
        // otherwise make one call hundreds of megabytes.
        if d.kind == DiskKind::Cdrom && count > 0x7F {
            return 0x01;
        }
        // An LBA near 2^64 from an EDD packet must not wrap past the end check.
        if count == 0
            || lba
                .checked_add(count as u64)
                .is_none_or(|end| end > d.sectors)
        {
            return 0x04;
        }
        if verify {
            return 0;
        }
        // Offsets wrap within the 64 KB segment as on hardware DMA-free BIOS copies.
        if write {
            let mut buf = Vec::with_capacity(count as usize * 512);
            for i in 0..count * 512 {
                buf.push(self.bus.read8(base + (off as u32 + i) % 0x10000));
            }
            if let Err(status) = self.disk_write(drive, lba, &buf) {
                return status;
            }
        } else {
            let data = match self.disk_read(drive, lba, count as u64) {
                Ok(d) => d,
                Err(status) => return status,
            };
            for (i, b) in data.iter().enumerate() {
                self.bus
                    .write8(base + (off as u32 + i as u32) % 0x10000, *b);
            }
            self.cpu.invalidate_phys(base, 0x10000);
        }
        0
    }

    // ---- INT 14h: serial ports (through the UART registers) ----

    fn int14(&mut self) {
        let port = self.cpu.regs[2] as u16;
        let base = match port {
            0 => 0x3F8,
            1 => 0x2F8,
            _ => {
                self.set_ah(0x80);
                return;
            }
        };
        match self.ah() {
            0x00 => {
                // Initialise: AL = baud (bits 7–5), parity, stop bits, word length.
                let al = self.al();
                let divisor =
                    [0x417u16, 0x300, 0x180, 0xC0, 0x60, 0x30, 0x18, 0x0C][(al >> 5) as usize];
                self.bus.io_write(base + 3, 1, 0x80);
                self.bus.io_write(base, 1, divisor as u32 & 0xFF);
                self.bus.io_write(base + 1, 1, (divisor >> 8) as u32);
                self.bus.io_write(base + 3, 1, (al & 0x1F) as u32);
                self.serial_status(base);
            }
            0x01 => {
                let c = self.al();
                self.bus.io_write(base, 1, c as u32);
                self.serial_status(base);
            }
            0x02 => {
                let lsr = self.bus.io_read(base + 5, 1) as u8;
                if lsr & 1 != 0 {
                    let c = self.bus.io_read(base, 1) as u8;
                    self.set_al(c);
                    self.set_ah(lsr & 0x1E);
                } else {
                    self.set_ah(0x80);
                }
            }
            _ => self.serial_status(base),
        }
    }

    fn serial_status(&mut self, base: u16) {
        let lsr = self.bus.io_read(base + 5, 1) as u8;
        let msr = self.bus.io_read(base + 6, 1) as u8;
        self.set_ah(lsr);
        self.set_al(msr);
    }

    // ---- INT 1Ah: time ----

    fn int1a(&mut self) {
        match self.ah() {
            0xB1 => self.int1a_pci(),
            0x00 => {
                let lo = self.r16(bda::TICKS);
                let hi = self.r16(bda::TICKS + 2);
                let midnight = self.r8(bda::MIDNIGHT);
                self.w8(bda::MIDNIGHT, 0);
                self.set16(2, lo);
                self.set16(1, hi);
                self.set_al(midnight);
            }
            0x01 => {
                let (cx, dx) = (self.cpu.regs[1] as u16, self.cpu.regs[2] as u16);
                self.w16(bda::TICKS, dx);
                self.w16(bda::TICKS + 2, cx);
            }
            0x02 => {
                let h = self.cmos(4);
                let m = self.cmos(2);
                let s = self.cmos(0);
                self.set16(1, ((h as u16) << 8) | m as u16);
                self.set16(2, (s as u16) << 8);
                self.ret_flag(CF, false);
            }
            0x04 => {
                let century = self.cmos(0x32);
                let year = self.cmos(9);
                let month = self.cmos(8);
                let day = self.cmos(7);
                self.set16(1, ((century as u16) << 8) | year as u16);
                self.set16(2, ((month as u16) << 8) | day as u16);
                self.ret_flag(CF, false);
            }
            _ => {}
        }
    }

    fn cmos(&mut self, reg: u8) -> u8 {
        self.bus.io_write(0x70, 1, reg as u32);
        self.bus.io_read(0x71, 1) as u8
    }
}

impl PcBus {
    pub(crate) fn ram_size(&self) -> usize {
        self.ram.len()
    }
    pub(crate) fn a20(&self) -> bool {
        self.a20
    }
    pub(crate) fn set_a20(&mut self, on: bool) {
        self.a20 = on;
    }
}
