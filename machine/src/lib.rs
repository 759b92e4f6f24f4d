//! Wires the CPU, RAM, the system BIOS ROM and the devices into a PCI PC.
//!
//! RAM of a chosen size, the legacy map's ROM window (a raw BIOS image mapped at the top
//! of the first megabyte and aliased below 4 GB, as QEMU's `-bios` does) with the
//! i440FX's shadowing of C0000h–FFFFFh (`memmap`), the A20 gate (port 0x92), PCI bus 0
//! (i440FX, PIIX3 ISA and IDE with bus master DMA), the ISA chips, and the ports test
//! ROMs and emulator test suites report through: 0xE9 (debug console), 0x80/0x190 (POST
//! codes), 0xF4 (QEMU isa-debug-exit) and 0x8900 (Bochs shutdown). `bus` decodes
//! addresses and ports (chips reached through `devices::device::Device` sit in its
//! device table: adding one is its module plus one `register` line in `PcBus::new`),
//! `clock` keeps virtual time, `pc` runs the CPU against the bus.
//!
//! Virtual time advances with executed instructions at a fixed rate (`Config::ips`), so a
//! run is deterministic: the same inputs give the same run. When the CPU halts with
//! interrupts enabled, time skips ahead to the next device event. The CPU's time-stamp
//! counter ticks at the same rate (one tick per instruction: 100 MHz at `DEFAULT_IPS`)
//! and counts skipped idle time too.

mod bios;
pub mod boot;
mod bus;
mod cdrom;
mod clock;
mod disk;
mod firmware;
pub mod interrupts;
pub mod keymap;
mod memmap;
mod pc;
mod power;
mod screen;
pub mod snapshot;

pub use bus::{PcBus, BIOS_MAX, OUTPUT_HIGH, OUTPUT_MAX};
pub use cdrom::check_cdrom_sectors;
pub use cpu::CpuModel;
pub use devices::block::{check_range, BlockDevice, BlockError, MemDisk};
pub use disk::{check_floppy_size, check_hard_disk_sectors, is_mbr, DiskKind};
pub use firmware::{check_option_rom, OPTION_ROM_MAX};
pub use pc::{floppy_size, BootOrder, Config, Exit, Pc, DEFAULT_IPS, PAUSE_KEY};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::cp437;
    use cpu::Bus;

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
        // `-boot dca`: 3Dh = (2 << 4) | 3 = 23h, 38h = (1 << 4) | 0 = 10h.
        pc.set_boot_order(BootOrder::CdRom);
        assert_eq!((cmos(&mut pc, 0x3D), cmos(&mut pc, 0x38)), (0x23, 0x10));
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
    fn a20_changes_reach_the_cpu_before_its_next_access() {
        // Real mode at F000:0000 (a far jump from the reset vector). ES = FFFFh, so
        // ES:1010h is linear 101000h: RAM at 1 MB with A20 on, 1000h with A20 off
        // (address bit 20 forced to 0). Each access right after an OUT to port 92h
        // must see the new gate even though the page was just used through the old.
        let code: &[u8] = &[
            0xB8, 0xFF, 0xFF, // mov ax,0FFFFh
            0x8E, 0xC0, // mov es,ax
            0x26, 0xC6, 0x06, 0x10, 0x10, 0x11, // mov byte [es:1010h],11h
            0x26, 0xA0, 0x10, 0x10, // mov al,[es:1010h]
            0xB0, 0x00, 0xE6, 0x92, // mov al,0; out 92h,al (A20 off)
            0x26, 0x8A, 0x1E, 0x10, 0x10, // mov bl,[es:1010h]
            0x26, 0xC6, 0x06, 0x11, 0x10, 0x33, // mov byte [es:1011h],33h
            0xB0, 0x02, 0xE6, 0x92, // mov al,2; out 92h,al (A20 on)
            0x26, 0x8A, 0x3E, 0x10, 0x10, // mov bh,[es:1010h]
            0xF4, // hlt
        ];
        let mut rom = vec![0xF4u8; 64 << 10];
        rom[..code.len()].copy_from_slice(code);
        rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
        let mut pc = Pc::new(Config {
            memory_mb: 2,
            bios: Some(rom),
            no_reboot: true,
            ..Config::default()
        })
        .unwrap();
        pc.bus.write8(0x1000, 0x22);
        assert_eq!(pc.run(100), Some(Exit::Halted));
        assert_eq!(
            pc.cpu.regs[cpu::EBX] & 0xFFFF,
            0x1122,
            "BH with A20 on, BL off"
        );
        assert_eq!(pc.bus.ram[0x1001], 0x33);
        assert_eq!(pc.bus.ram[0x10_1001], 0);
        assert_eq!(pc.bus.ram[0x10_1000], 0x11);
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
