//! El Torito boots in the built-in BIOS, on CD images built at test time: boot images
//! assembled by NASM (tests/eltorito/*.asm) put on an ISO 9660 disc by
//! `xorriso -as mkisofs`, software nobody here wrote, so the catalog and volume
//! descriptors the BIOS parses are xorriso's. Each image calls the CD services of
//! INT 13h, leaves the results at 0600h and stops through port F4h; expected values
//! come from the El Torito 1.0 specification and EDD 3.0, and the disc layout is read
//! back from the ISO by the test (section 2 of the specification).

use cpu::Bus;
use machine::{BootOrder, Config, Exit, MemDisk, Pc};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("x86-eltorito-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("root")).unwrap();
    d
}

fn run(cmd: &mut Command, what: &str, hint: &str) {
    match cmd.output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("{what} failed:\n{}", String::from_utf8_lossy(&o.stderr)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{what} not found: these tests need it ({hint})")
        }
        Err(e) => panic!("cannot run {what}: {e}"),
    }
}

fn nasm(src: &str, out: &Path) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/eltorito")
        .join(src);
    run(
        Command::new("nasm")
            .arg("-f")
            .arg("bin")
            .arg("-o")
            .arg(out)
            .arg(&src),
        "nasm",
        "apt-get install nasm",
    );
    std::fs::read(out).unwrap()
}

/// `xorriso -as mkisofs` of `dir`/root with `args` for the boot image.
fn iso(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = dir.join("cd.iso");
    run(
        Command::new("xorriso")
            .args(["-as", "mkisofs", "-quiet", "-o"])
            .arg(&out)
            .args(args)
            .arg(dir.join("root")),
        "xorriso",
        "apt-get install xorriso",
    );
    let v = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    v
}

fn le16(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn le32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// The initial/default entry of the disc's boot catalog, found as El Torito 2.0 says:
/// the boot record volume descriptor at block 17 points at the catalog, whose second
/// 32-byte entry is the default one. Returns (media type, load segment, sector count,
/// load RBA).
fn default_entry(iso: &[u8]) -> (u8, u16, u16, u32) {
    let brvd = &iso[17 * 2048..18 * 2048];
    assert_eq!(&brvd[1..6], b"CD001");
    assert!(brvd[7..].starts_with(b"EL TORITO SPECIFICATION"));
    let cat = le32(brvd, 0x47) as usize * 2048;
    let e = &iso[cat + 32..cat + 64];
    assert_eq!(e[0], 0x88, "bootable");
    (e[1], le16(e, 2), le16(e, 6), le32(e, 8))
}

/// Boots `iso` from the secondary master (as `--cdrom`) with `--boot d`.
fn boot(iso: Vec<u8>) -> Pc {
    let mut pc = Pc::new(Config {
        memory_mb: 4,
        no_reboot: true,
        ..Config::default()
    })
    .unwrap();
    pc.attach_cdrom(1, 0, Box::new(MemDisk::read_only(iso)))
        .unwrap();
    pc.set_boot_order(BootOrder::CdRom);
    assert_eq!(pc.run(5_000_000), Some(Exit::DebugExit(0)));
    pc
}

fn bytes(pc: &mut Pc, at: u32, n: u32) -> Vec<u8> {
    (0..n).map(|i| pc.bus.read8(at + i)).collect()
}

#[test]
fn no_emulation_boot_and_cd_services() {
    let dir = scratch("noemul");
    nasm("noemul.asm", &dir.join("root/boot.bin"));
    // Four virtual sectors (2048 bytes) of a 4096-byte image, as ISOLINUX is installed.
    let iso = iso(
        &dir,
        &[
            "-b",
            "boot.bin",
            "-c",
            "boot.cat",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
        ],
    );
    let (media, seg, count, rba) = default_entry(&iso);
    assert_eq!(
        (media, seg, count),
        (0, 0, 4),
        "no emulation, default segment"
    );
    let blocks = (iso.len() / 2048) as u32;
    let mut pc = boot(iso.clone());
    // DL = E0h, the CD's drive number.
    assert_eq!(pc.bus.read8(0x600), 0xE0);
    // The 2048 loaded bytes end in BEEFh; the block after them was not loaded.
    assert_eq!(pc.bus.read16(0x7C00 + 2046), 0xBEEF);
    assert_eq!(pc.bus.read8(0x7C00 + 2048), 0);
    // AH=41h: CF clear, BX = AA55h, CX bit 0 (the packet functions).
    assert_eq!(pc.bus.read8(0x601), 0);
    assert_eq!(pc.bus.read16(0x602), 0xAA55);
    assert_ne!(pc.bus.read16(0x604) & 1, 0);
    // AH=48h (EDD 3.0 Table 8): the disc's block count, 2048 bytes per sector,
    // removable.
    assert_eq!(pc.bus.read8(0x606), 0);
    assert_eq!(pc.bus.read32(0x700 + 16), blocks);
    assert_eq!(pc.bus.read16(0x700 + 24), 2048);
    assert_ne!(pc.bus.read16(0x700 + 2) & 0x04, 0);
    // AH=42h: block 16 is the primary volume descriptor, as on the disc.
    assert_eq!(pc.bus.read8(0x607), 0);
    assert_eq!(bytes(&mut pc, 0x800, 2048), &iso[16 * 2048..17 * 2048]);
    // AX=4B01h: the specification packet (El Torito Table 13): size 13h, no
    // emulation, drive E0h, controller 1 (secondary), the image's RBA, master,
    // load segment 07C0h, 4 sectors.
    assert_eq!(pc.bus.read8(0x608), 0);
    let p = bytes(&mut pc, 0x780, 0x13);
    assert_eq!(&p[..4], &[0x13, 0x00, 0xE0, 0x01]);
    assert_eq!(le32(&p, 4), rba);
    assert_eq!(p[8], 0);
    assert_eq!((le16(&p, 12), le16(&p, 14)), (0x07C0, 4));
    // AH=43h: write-protected (03h); AH=08h fails.
    assert_eq!((pc.bus.read8(0x609), pc.bus.read8(0x60A)), (1, 0x03));
    assert_eq!(pc.bus.read8(0x60B), 1);
}

#[test]
fn floppy_emulation_boot() {
    let dir = scratch("floppy");
    let boot_sector = nasm("floppy.asm", &dir.join("boot.bin"));
    let mut img = vec![0u8; 1_474_560];
    img[..512].copy_from_slice(&boot_sector);
    img[2879 * 512..2879 * 512 + 11].copy_from_slice(b"LAST SECTOR");
    std::fs::write(dir.join("root/floppy.img"), &img).unwrap();
    // A 1.44 MB image: xorriso picks floppy emulation from its size.
    let iso = iso(&dir, &["-b", "floppy.img", "-c", "boot.cat"]);
    let (media, _, count, rba) = default_entry(&iso);
    assert_eq!(
        (media, count),
        (2, 1),
        "1.44 MB floppy emulation, one sector"
    );
    let mut pc = boot(iso);
    // DL = 00h; AH=08h: type 4 (1.44 MB), 80 cylinders (CH = 79), 18 sectors, two
    // heads (DH = 1), one floppy drive (the emulated one; there is no real one).
    assert_eq!(pc.bus.read8(0x600), 0x00);
    assert_eq!(pc.bus.read8(0x601), 0);
    assert_eq!(pc.bus.read8(0x602), 4);
    assert_eq!(pc.bus.read16(0x603), 79 << 8 | 18);
    assert_eq!(pc.bus.read16(0x605), 0x0101);
    // CHS 79/1/18 is the image's last sector.
    assert_eq!(pc.bus.read8(0x607), 0);
    assert_eq!(bytes(&mut pc, 0x800, 11), b"LAST SECTOR");
    // The specification packet: 1.44 MB floppy (2), drive 00h, the image's RBA, one
    // sector, and the CHS bytes: cylinder 79, 18 sectors, head count - 1.
    assert_eq!(pc.bus.read8(0x608), 0);
    let p = bytes(&mut pc, 0x780, 0x13);
    assert_eq!(&p[..4], &[0x13, 0x02, 0x00, 0x01]);
    assert_eq!(le32(&p, 4), rba);
    assert_eq!(le16(&p, 14), 1);
    assert_eq!(&p[16..19], &[79, 18, 1]);
    // Writing the emulated floppy: 03h, write-protected.
    assert_eq!(pc.bus.read8(0x609), 0x03);
    // AX=4B00h ends the emulation; drive 00h is then the absent real floppy.
    assert_eq!(pc.bus.read8(0x60A), 0);
    assert_eq!(pc.bus.read8(0x60B), 1);
}

#[test]
fn hard_disk_emulation_boot() {
    let dir = scratch("hd");
    let code = nasm("hd.asm", &dir.join("mbr.bin"));
    // Two cylinders of 16 heads × 63 sectors; one partition from LBA 63 to the end,
    // its ending CHS 1/15/63 giving the geometry (El Torito 3.0).
    let mut img = vec![0u8; 2016 * 512];
    img[..code.len()].copy_from_slice(&code);
    let p = &mut img[0x1BE..0x1CE];
    p.copy_from_slice(&[
        0x80, 1, 1, 0, 0x06, 15, 63, 1, 63, 0, 0, 0, 0xA1, 0x07, 0, 0,
    ]);
    img[510] = 0x55;
    img[511] = 0xAA;
    img[2015 * 512..2015 * 512 + 11].copy_from_slice(b"LAST SECTOR");
    std::fs::write(dir.join("root/hd.img"), &img).unwrap();
    let iso = iso(&dir, &["-b", "hd.img", "-c", "boot.cat", "-hard-disk-boot"]);
    let (media, _, _, rba) = default_entry(&iso);
    assert_eq!(media, 4, "hard-disk emulation");
    let mut pc = boot(iso);
    assert_eq!(pc.bus.read8(0x600), 0x80);
    // AH=08h: last cylinder 1, 63 sectors; last head 15, one fixed disk.
    assert_eq!(pc.bus.read8(0x601), 0);
    assert_eq!(pc.bus.read16(0x602), 1 << 8 | 63);
    assert_eq!(pc.bus.read16(0x604), 15 << 8 | 1);
    assert_eq!(pc.bus.read8(0x606), 0);
    assert_eq!(bytes(&mut pc, 0x800, 11), b"LAST SECTOR");
    assert_eq!(pc.bus.read8(0x607), 1, "the emulated disk counts in 0475h");
    let p = bytes(&mut pc, 0x780, 0x13);
    assert_eq!(pc.bus.read8(0x608), 0);
    assert_eq!(&p[..4], &[0x13, 0x04, 0x80, 0x01]);
    assert_eq!(le32(&p, 4), rba);
    assert_eq!(&p[16..19], &[1, 63, 15]);
}

/// Random INT 13h calls on the CD, the emulated floppy and the renumbered drives, with
/// random registers and packet pointers, never panic the host.
#[test]
fn random_int13_calls_during_emulation_never_panic() {
    let dir = scratch("fuzz");
    let boot_sector = nasm("floppy.asm", &dir.join("boot.bin"));
    let mut img = vec![0u8; 1_474_560];
    img[..512].copy_from_slice(&boot_sector);
    std::fs::write(dir.join("root/floppy.img"), &img).unwrap();
    let iso = iso(&dir, &["-b", "floppy.img", "-c", "boot.cat"]);
    let mut seed = 0x1234_5678_9ABC_DEF1u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..4 {
        let mut pc = Pc::new(Config {
            memory_mb: 2,
            no_reboot: true,
            ..Config::default()
        })
        .unwrap();
        pc.attach_cdrom(round % 2, 0, Box::new(MemDisk::read_only(iso.clone())))
            .unwrap();
        pc.set_boot_order(BootOrder::CdRom);
        // Stop early in the boot sector (it has stored DL), long before it ends the
        // emulation.
        pc.run(12);
        assert_eq!(pc.bus.read8(0x600), 0x00, "DL from the BIOS");
        for _ in 0..3000 {
            let ah = [
                0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x15, 0x16, 0x41, 0x42, 0x43, 0x44, 0x48, 0x4B,
            ][(next() % 14) as usize];
            let ah = if next() % 8 == 0 { next() as u8 } else { ah };
            let dl = [0xE0u8, 0x00, 0x01, 0x80, 0x81, 0x7F][(next() % 6) as usize];
            for r in pc.cpu.regs.iter_mut() {
                *r = next() as u32;
            }
            pc.cpu.regs[0] = (pc.cpu.regs[0] & !0xFF00) | u32::from(ah) << 8;
            pc.cpu.regs[2] = (pc.cpu.regs[2] & !0xFF) | u32::from(dl);
            pc.cpu.regs[4] = 0x7000;
            for s in [cpu::DS, cpu::ES] {
                pc.cpu.seg[s].load_real(next() as u16);
            }
            // int 13h; cli; hlt
            for (i, b) in [0xCD, 0x13, 0xFA, 0xF4].iter().enumerate() {
                pc.bus.write8(0x500 + i as u32, *b);
            }
            pc.cpu.flush_cache();
            pc.cpu.seg[cpu::CS].load_real(0);
            pc.cpu.seg[cpu::SS].load_real(0);
            pc.cpu.eip = 0x500;
            pc.cpu.halted = false;
            pc.bus.exit = None;
            pc.run(100_000);
        }
    }
}

#[test]
fn a_disc_without_a_boot_record_falls_back_to_no_boot_device() {
    let dir = scratch("plain");
    std::fs::write(dir.join("root/readme.txt"), b"not bootable\n").unwrap();
    let iso = iso(&dir, &[]);
    let mut pc = Pc::new(Config {
        memory_mb: 4,
        no_reboot: true,
        ..Config::default()
    })
    .unwrap();
    pc.attach_cdrom(1, 0, Box::new(MemDisk::read_only(iso)))
        .unwrap();
    pc.set_boot_order(BootOrder::CdRom);
    assert_eq!(pc.run(5_000_000), Some(Exit::NoBootDevice));
}

#[test]
fn cd_images_must_be_whole_iso_blocks() {
    let mut pc = Pc::new(Config::default()).unwrap();
    let e = pc
        .attach_cdrom(1, 0, Box::new(MemDisk::read_only(vec![0; 2048 * 20 + 512])))
        .unwrap_err();
    assert!(e.contains("multiple of 2048"), "{e}");
    assert!(pc
        .attach_cdrom(1, 0, Box::new(MemDisk::read_only(vec![0; 2048 * 4])))
        .is_err());
}
