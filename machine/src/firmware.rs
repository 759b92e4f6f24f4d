//! What the board hands the firmware: the CMOS configuration bytes and QEMU's fw_cfg
//! items that third-party BIOS images (SeaBIOS, the Bochs BIOS) read at POST, and the
//! option ROM scan the built-in BIOS runs.
//!
//! - **CMOS** as QEMU's `pc_cmos_init` (hw/i386/pc.c) and Bochs fill it: 10h floppy
//!   drive types, 12h/19h/1Ah hard disk types, 14h equipment, 15h/16h base memory (KB),
//!   17h/18h and 30h/31h memory above 1 MB (KB, capped at 65535), 34h/35h memory above
//!   16 MB (64 KB units), 5Bh–5Dh memory above 4 GB (64 KB units; always 0 here, RAM
//!   ends below 3 GB), 5Fh CPUs minus one, 3Dh/38h the boot order.
//! - **fw_cfg** (`devices::fw_cfg`) as QEMU's `pc` machine fills it for SeaBIOS: RAM
//!   size, CPU counts, an empty NUMA table, the IRQ 0 override flag, no legacy ACPI,
//!   SMBIOS or e820 reservation entries, the file `etc/e820` (RAM from 0 to the top of
//!   memory) and the VGA BIOS of `--vga-rom` as `vgaroms/vgabios.bin` (QEMU's
//!   `rom_add_vga`; SeaBIOS copies it to C0000h and runs it). No `bootorder` file: like
//!   QEMU without `bootindex=`, the order is CMOS 3Dh/38h.
//! - **Option ROMs** (IBM PC/AT BIOS convention, also the PCI Firmware Specification
//!   3.0 §5.1 "legacy" header): from C0000h to DFFFFh in 2 KB steps, a ROM starts with
//!   55h AAh, byte 2 is its length in 512-byte blocks, its bytes sum to 0 modulo 256,
//!   and POST far-calls offset 3 to initialise it. The built-in BIOS shadows a
//!   `--vga-rom` image into RAM at C0000h first (PAM read/write), runs every ROM it
//!   finds, then write-protects the shadow (PAM read-only), as real BIOSes do.

use crate::Pc;
use cpu::{Bus, CS, IF, SS};
use devices::fw_cfg::{self, FwCfg};

/// The largest option ROM image `--vga-rom` takes: C0000h–DFFFFh.
pub const OPTION_ROM_MAX: usize = 128 << 10;
/// Where option ROMs are looked for.
const SCAN_START: u32 = 0xC_0000;
const SCAN_END: u32 = 0xE_0000;
const SCAN_STEP: u32 = 2048;

/// Checks a `--vga-rom` image: 512 bytes to 128 KB, starting with the 55h AAh
/// signature.
pub fn check_option_rom(rom: &[u8]) -> Result<(), String> {
    if rom.len() < 512 || rom.len() > OPTION_ROM_MAX {
        return Err(format!(
            "option ROM image is {} bytes; it must be 512 bytes to 128 KB",
            rom.len()
        ));
    }
    if rom[..2] != [0x55, 0xAA] {
        return Err("not an option ROM image (no 55h AAh signature at its start)".into());
    }
    Ok(())
}

/// The length of a valid option ROM at `addr` as `read` shows memory: the 55h AAh
/// signature, a non-zero length (byte 2, in 512-byte blocks) that stays below E0000h,
/// and a zero byte sum over that length.
pub(crate) fn option_rom_at(read: &mut impl FnMut(u32) -> u8, addr: u32) -> Option<u32> {
    if read(addr) != 0x55 || read(addr + 1) != 0xAA {
        return None;
    }
    let len = u32::from(read(addr + 2)) * 512;
    if len == 0 || addr + len > SCAN_END {
        return None;
    }
    let sum = (addr..addr + len).fold(0u8, |s, a| s.wrapping_add(read(a)));
    if sum != 0 {
        log::info!(target: "bios", "option ROM at {addr:#07x}: checksum {sum:#04x}, skipped");
        return None;
    }
    Some(len)
}

/// The next valid option ROM at or after `from` (2 KB steps): its address and length.
pub(crate) fn next_option_rom(read: &mut impl FnMut(u32) -> u8, from: u32) -> Option<(u32, u32)> {
    let mut a = from.next_multiple_of(SCAN_STEP).max(SCAN_START);
    while a < SCAN_END {
        if let Some(len) = option_rom_at(read, a) {
            return Some((a, len));
        }
        a += SCAN_STEP;
    }
    None
}

/// PAM register and nibble (false = low) of the 16 KB segment holding `addr`
/// (C0000h–EFFFFh: PAM1–PAM6, i440FX datasheet §3.2.18).
fn pam_nibble(addr: u32) -> (u8, bool) {
    let seg = (addr - SCAN_START) >> 14;
    (devices::i440fx::PAM0 + 1 + (seg / 2) as u8, seg % 2 == 1)
}

impl Pc {
    /// Fills the CMOS configuration bytes and the fw_cfg items from the machine as it
    /// is now (memory, attached drives, boot order, `--vga-rom`). The frontend calls it
    /// once the drives are attached; the built-in POST fills the CMOS again itself.
    pub fn prepare_firmware(&mut self) {
        let ram = self.bus.ram.len() as u64;
        let ext_kb = (ram / 1024).saturating_sub(1024) as u32;
        let ft = |pc: &Pc, d| pc.floppy_info(d).map_or(0, |i| i.floppy_type);
        let (fa, fb) = (ft(self, 0), ft(self, 1));
        let (h0, h1) = (self.bus.ide[0].present(0), self.bus.ide[0].present(1));
        let rtc = self.bus.rtc();
        rtc.set_config(640, ext_kb, fa, fb, h0, h1);
        // Memory above 4 GB (5Bh–5Dh): none; one CPU (5Fh = count - 1). These lie
        // outside the checksummed 10h–2Dh range.
        for r in [0x5B, 0x5C, 0x5D, 0x5F] {
            rtc.set_byte(r, 0);
        }
        self.write_boot_order_cmos();

        let mut f = FwCfg::new();
        f.set(fw_cfg::UUID, vec![0; 16]);
        f.set_u64(fw_cfg::RAM_SIZE, ram);
        f.set_u16(fw_cfg::NOGRAPHIC, 0);
        f.set_u16(fw_cfg::NB_CPUS, 1);
        f.set_u16(fw_cfg::MAX_CPUS, 1);
        f.set_u16(fw_cfg::BOOT_MENU, 0);
        // QEMU's legacy boot device letter (a, c or d).
        let dev = match self.boot_order {
            crate::BootOrder::Floppy => b'a',
            crate::BootOrder::HardDisk => b'c',
            crate::BootOrder::CdRom => b'd',
        };
        f.set_u16(fw_cfg::BOOT_DEVICE, u16::from(dev));
        // NUMA: the node count (0), then one u64 per possible CPU (node 0).
        f.set(fw_cfg::NUMA, vec![0; 16]);
        // QEMU's pc machine routes IRQ 0 to GSI 2 (an ACPI interrupt source override).
        f.set_u32(fw_cfg::IRQ0_OVERRIDE, 1);
        f.set_u16(fw_cfg::ACPI_TABLES, 0);
        f.set_u16(fw_cfg::SMBIOS_ENTRIES, 0);
        f.set_u32(fw_cfg::E820_TABLE, 0);
        // struct e820_reservation { u64 address; u64 length; u32 type; } (type 1 RAM).
        let mut e820 = Vec::with_capacity(20);
        e820.extend(0u64.to_le_bytes());
        e820.extend(ram.to_le_bytes());
        e820.extend(1u32.to_le_bytes());
        let mut files: Vec<(&str, Vec<u8>)> = vec![("etc/e820", e820)];
        if !self.bus.option_rom.is_empty() {
            files.push(("vgaroms/vgabios.bin", self.bus.option_rom.clone()));
        }
        for (name, data) in files {
            // Two short fixed names: within the name length and slot limits.
            if let Err(e) = f.add_file(name, data) {
                log::error!(target: "machine", "{e}");
            }
        }
        if let Some(d) = self.bus.device_mut::<FwCfg>() {
            *d = f;
        }
    }

    /// Writes one PAM nibble (attributes 0–3) through configuration mechanism #1, as
    /// firmware does.
    fn set_pam_nibble(&mut self, addr: u32, attr: u8) {
        let (reg, high) = pam_nibble(addr);
        self.bus
            .io_write(0xCF8, 4, 0x8000_0000 | u32::from(reg & !3));
        let port = 0xCFC + u16::from(reg & 3);
        let old = self.bus.io_read(port, 1) as u8;
        let v = if high {
            (old & 0x0F) | attr << 4
        } else {
            (old & 0xF0) | attr
        };
        self.bus.io_write(port, 1, u32::from(v));
    }

    /// Built-in POST, after the chips are set up: shadows a `--vga-rom` image at
    /// C0000h, then starts the first option ROM's initialisation. Returns false when
    /// there is none (POST goes on to boot).
    pub(crate) fn option_roms_start(&mut self) -> bool {
        let len = self.bus.option_rom.len() as u32;
        if len > 0 {
            let mut a = SCAN_START;
            while a < SCAN_START + len {
                self.set_pam_nibble(a, 3);
                a += 0x4000;
            }
            for i in 0..len {
                let b = self.bus.option_rom[i as usize];
                self.bus.write8(SCAN_START + i, b);
            }
            self.cpu.invalidate_phys(SCAN_START, len);
        }
        self.option_rom_next(SCAN_START)
    }

    /// Far-calls the init entry of the next option ROM at or after `from`, returning
    /// to the ROM trap (`bios::ROM_RETURN`), which continues the scan after it.
    pub(crate) fn option_rom_next(&mut self, from: u32) -> bool {
        let found = {
            let bus = &mut self.bus;
            next_option_rom(&mut |a| bus.read8(a), from)
        };
        let Some((addr, len)) = found else {
            self.option_roms_done();
            return false;
        };
        log::info!(target: "bios", "option ROM at {addr:#07x} ({len} bytes): running its init");
        self.bios_state.rom_scan_next = addr + len;
        // A stack below the boot sector's load address, with the return address of
        // the trap stub on it (RETF pops IP, then CS).
        self.cpu.seg[SS].load_real(0);
        let sp = 0x7000u32;
        self.bus.write16(sp - 2, 0xF000);
        // The ROM at C0000h is the VGA BIOS (the PC convention): a mode set through
        // its INT 10h follows its init.
        let ret = if addr == SCAN_START {
            crate::bios::VGA_SET_MODE
        } else {
            crate::bios::ROM_RETURN
        };
        self.bus.write16(sp - 4, ret);
        self.cpu.regs[4] = sp - 4;
        self.cpu.seg[CS].load_real((addr >> 4) as u16);
        self.cpu.eip = 3;
        // An ISA ROM gets no PCI address: AX = FFFFh.
        self.cpu.regs[0] = 0xFFFF;
        self.cpu.eflags = 0x2 | IF;
        true
    }

    /// After the last option ROM: write-protect the shadowed VGA BIOS.
    fn option_roms_done(&mut self) {
        let len = self.bus.option_rom.len() as u32;
        let mut a = SCAN_START;
        while a < SCAN_START + len {
            self.set_pam_nibble(a, 1);
            a += 0x4000;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-assembled 2 KB option ROM (4 blocks): `55 AA 04`, at offset 3
    /// `mov al,'R'; out 0E9h,al; retf` (B0 52 E6 E9 CB), and a last byte that makes the
    /// sum zero: 55h + AAh + 04h + B0h + 52h + E6h + E9h + CBh = 49Fh, so the byte is
    /// 100h - 9Fh = 61h.
    fn rom() -> Vec<u8> {
        let mut r = vec![0u8; 2048];
        r[..8].copy_from_slice(&[0x55, 0xAA, 0x04, 0xB0, 0x52, 0xE6, 0xE9, 0xCB]);
        r[2047] = 0x61;
        r
    }

    /// The scan over a 128 KB picture of C0000h–DFFFFh.
    fn scan(mem: &[u8], from: u32) -> Option<(u32, u32)> {
        next_option_rom(&mut |a| mem[(a - SCAN_START) as usize], from)
    }

    #[test]
    fn the_scan_finds_rom_with_a_valid_checksum_in_2kb_steps() {
        let mut mem = vec![0xFFu8; 0x2_0000];
        assert_eq!(scan(&mem, SCAN_START), None);
        // At C8000h (a 2 KB boundary): found, 2048 bytes long.
        mem[0x8000..0x8800].copy_from_slice(&rom());
        assert_eq!(scan(&mem, SCAN_START), Some((0xC_8000, 2048)));
        // The scan resumes after it: nothing more.
        assert_eq!(scan(&mem, 0xC_8800), None);
        // A wrong checksum hides it.
        mem[0x8010] = 1;
        assert_eq!(scan(&mem, SCAN_START), None);
        // So does a start off the 2 KB steps (C8400h).
        let mut shifted = vec![0xFFu8; 0x2_0000];
        shifted[0x8400..0x8C00].copy_from_slice(&rom());
        assert_eq!(scan(&shifted, SCAN_START), None);
        // A length running past DFFFFh is refused.
        let mut top = vec![0xFFu8; 0x2_0000];
        top[0x1_F800..].copy_from_slice(&rom());
        top[0x1_F802] = 8;
        assert_eq!(scan(&top, SCAN_START), None);
    }

    #[test]
    fn option_rom_images_are_checked() {
        assert!(check_option_rom(&rom()).is_ok());
        assert!(check_option_rom(&[0x55, 0xAA]).is_err(), "too short");
        assert!(check_option_rom(&vec![0; 2048]).is_err(), "no signature");
        let mut big = rom();
        big.resize(OPTION_ROM_MAX + 512, 0);
        assert!(check_option_rom(&big).is_err(), "larger than C0000h-DFFFFh");
    }

    #[test]
    fn pam_nibbles_of_the_option_rom_area() {
        // i440FX PAM1 (5Ah): C0000h low nibble, C4000h high; PAM4 (5Dh): DC000h high.
        assert_eq!(pam_nibble(0xC_0000), (0x5A, false));
        assert_eq!(pam_nibble(0xC_4000), (0x5A, true));
        assert_eq!(pam_nibble(0xC_8000), (0x5B, false));
        assert_eq!(pam_nibble(0xD_C000), (0x5D, true));
    }
}
