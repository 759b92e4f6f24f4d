//! What the board hands firmware: CMOS bytes as QEMU's `pc_cmos_init` fills them, the
//! fw_cfg interface as QEMU's docs/specs/fw_cfg.rst describes it, and option ROMs that
//! the built-in BIOS shadows, scans and initialises.

use cpu::Bus;
use machine::{Config, Pc};

fn pc(memory_mb: u32, vga_rom: Option<Vec<u8>>) -> Pc {
    Pc::new(Config {
        memory_mb,
        vga_rom,
        no_reboot: true,
        ..Config::default()
    })
    .unwrap()
}

fn cmos(pc: &mut Pc, reg: u8) -> u8 {
    pc.bus.io_write(0x70, 1, reg as u32);
    pc.bus.io_read(0x71, 1) as u8
}

/// Reads `n` bytes of fw_cfg item `key` through ports 510h/511h.
fn fw_cfg(pc: &mut Pc, key: u16, n: usize) -> Vec<u8> {
    pc.bus.io_write(0x510, 2, key as u32);
    (0..n).map(|_| pc.bus.io_read(0x511, 1) as u8).collect()
}

/// The fw_cfg file directory as (name, key, size).
fn files(pc: &mut Pc) -> Vec<(String, u16, u32)> {
    let count = u32::from_be_bytes(fw_cfg(pc, 0x19, 4).try_into().unwrap()) as usize;
    let dir = fw_cfg(pc, 0x19, 4 + 64 * count);
    dir[4..]
        .chunks(64)
        .map(|e| {
            let name = e[8..].split(|&b| b == 0).next().unwrap();
            (
                String::from_utf8_lossy(name).into_owned(),
                u16::from_be_bytes([e[4], e[5]]),
                u32::from_be_bytes([e[0], e[1], e[2], e[3]]),
            )
        })
        .collect()
}

#[test]
fn cmos_memory_bytes_follow_qemu() {
    // QEMU pc_cmos_init with 32 MB: 15h/16h = 640 KB = 0280h; 17h/18h and 30h/31h =
    // (32 MB - 1 MB) / 1 KB = 31744 = 7C00h; 34h/35h = (32 MB - 16 MB) / 64 KB = 256 =
    // 0100h; 5Bh–5Dh = 0 (nothing above 4 GB); 5Fh = CPUs - 1 = 0.
    let mut p = pc(32, None);
    let b: Vec<u8> = [
        0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35, 0x5B, 0x5C, 0x5D, 0x5F,
    ]
    .iter()
    .map(|&r| cmos(&mut p, r))
    .collect();
    assert_eq!(
        b,
        [0x80, 0x02, 0x00, 0x7C, 0x00, 0x7C, 0x00, 0x01, 0, 0, 0, 0]
    );
    // 128 MB: 34h/35h = 112 MB / 64 KB = 1792 = 0700h; 17h/18h = 130048 KB, capped at
    // 65535 = FFFFh.
    let mut p = pc(128, None);
    assert_eq!([cmos(&mut p, 0x34), cmos(&mut p, 0x35)], [0x00, 0x07]);
    assert_eq!([cmos(&mut p, 0x17), cmos(&mut p, 0x18)], [0xFF, 0xFF]);
    // SeaBIOS's RamSize from these (paravirt.c qemu_preinit): 34h/35h << 16 + 16 MB.
    let rs = ((cmos(&mut p, 0x34) as u32) << 16 | (cmos(&mut p, 0x35) as u32) << 24) + (16 << 20);
    assert_eq!(rs, 128 << 20);
}

#[test]
fn fw_cfg_describes_the_machine() {
    let mut p = pc(32, None);
    assert_eq!(fw_cfg(&mut p, 0x00, 4), b"QEMU");
    // FW_CFG_ID: bit 0 (the port interface), no DMA.
    assert_eq!(fw_cfg(&mut p, 0x01, 4), [1, 0, 0, 0]);
    // FW_CFG_RAM_SIZE, a little-endian u64: 32 MB = 0200_0000h.
    assert_eq!(fw_cfg(&mut p, 0x03, 8), [0, 0, 0, 2, 0, 0, 0, 0]);
    // FW_CFG_NB_CPUS and FW_CFG_MAX_CPUS: one.
    assert_eq!(fw_cfg(&mut p, 0x05, 2), [1, 0]);
    assert_eq!(fw_cfg(&mut p, 0x0F, 2), [1, 0]);
    let f = files(&mut p);
    assert_eq!(f, [("etc/e820".to_string(), 0x20, 20)]);
    // struct e820_reservation { u64 address = 0; u64 length = 32 MB; u32 type = 1 (RAM) }
    let e = fw_cfg(&mut p, 0x20, 20);
    assert_eq!(e[0..8], [0; 8]);
    assert_eq!(e[8..16], (32u64 << 20).to_le_bytes());
    assert_eq!(e[16..20], [1, 0, 0, 0]);
}

/// A hand-assembled 2 KB option ROM: `55 AA 04`, then at offset 3 `mov al,'R';
/// out 0E9h,al; retf` (B0 52 E6 E9 CB); the last byte makes the sum zero: 55h + AAh +
/// 04h + B0h + 52h + E6h + E9h + CBh = 49Fh, so it is 100h - 9Fh = 61h.
fn rom() -> Vec<u8> {
    let mut r = vec![0u8; 2048];
    r[..8].copy_from_slice(&[0x55, 0xAA, 0x04, 0xB0, 0x52, 0xE6, 0xE9, 0xCB]);
    r[2047] = 0x61;
    r
}

#[test]
fn the_built_in_bios_runs_an_option_rom_from_shadow_ram() {
    let mut p = pc(2, Some(rom()));
    // Before POST the image sits at C0000h on the PCI side of the PAM (ROM: writes
    // are dropped), and fw_cfg offers it to SeaBIOS as a VGA ROM.
    assert_eq!(p.bus.read8(0xC_0002), 0x04);
    p.bus.write8(0xC_0003, 0x90);
    assert_eq!(p.bus.read8(0xC_0003), 0xB0);
    let f = files(&mut p);
    assert!(
        f.contains(&("vgaroms/vgabios.bin".to_string(), 0x21, 2048)),
        "{f:?}"
    );
    assert_eq!(fw_cfg(&mut p, 0x21, 3), [0x55, 0xAA, 0x04]);
    // POST finds it, far-calls offset 3 (it writes 'R' to port E9h), then goes on
    // to boot (no disk here).
    p.run(2_000_000);
    assert_eq!(p.bus.debugcon, b"R");
    // Afterwards C0000h is write-protected shadow RAM holding the ROM: i440FX PAM1
    // (5Ah) low nibble = 1 (read DRAM, writes to PCI).
    p.bus.io_write(0xCF8, 4, 0x8000_0058);
    assert_eq!(p.bus.io_read(0xCFE, 1) & 0x0F, 0x01);
    assert_eq!(p.bus.read8(0xC_0003), 0xB0);
    p.bus.write8(0xC_0003, 0x90);
    assert_eq!(p.bus.read8(0xC_0003), 0xB0);
}

#[test]
fn bad_firmware_images_are_errors() {
    let cfg = |bios: Option<Vec<u8>>, vga_rom: Option<Vec<u8>>| {
        Pc::new(Config {
            memory_mb: 2,
            bios,
            vga_rom,
            ..Config::default()
        })
    };
    // BIOS images: multiples of 64 KB up to 2 MB.
    assert!(cfg(Some(vec![0xF4; 192 << 10]), None).is_ok());
    assert!(cfg(Some(vec![0xF4; 96 << 10]), None).is_err());
    assert!(cfg(Some(vec![0xF4; (2 << 20) + (64 << 10)]), None).is_err());
    // Option ROMs: 55h AAh first, 512 bytes to 128 KB.
    assert!(cfg(None, Some(vec![0; 2048])).is_err());
    let mut big = rom();
    big.resize(129 << 10, 0);
    assert!(cfg(None, Some(big)).is_err());
    assert!(cfg(None, Some(rom()[..100].to_vec())).is_err());
}

#[test]
fn a_256k_bios_shows_its_last_128k_below_1mb_and_all_below_4gb() {
    // As QEMU maps -bios: the isa-bios alias is the image's last 128 KB at E0000h.
    let mut img = vec![0u8; 256 << 10];
    for (i, b) in img.iter_mut().enumerate() {
        *b = (i >> 16) as u8; // each 64 KB block holds its number
    }
    let mut p = Pc::new(Config {
        memory_mb: 2,
        bios: Some(img),
        ..Config::default()
    })
    .unwrap();
    assert_eq!(p.bus.read8(0xE_0000), 2);
    assert_eq!(p.bus.read8(0xF_FFFF), 3);
    assert_eq!(
        p.bus.read8(0xD_0000),
        0xFF,
        "C0000h-DFFFFh stay free for option ROMs"
    );
    assert_eq!(p.bus.read8(0xFFFC_0000), 0);
    assert_eq!(p.bus.read8(0xFFFF_FFFF), 3);
}
