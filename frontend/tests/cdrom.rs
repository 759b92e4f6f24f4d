//! `x86 run --cdrom` as a user runs it: a hand-made El Torito disc boots with `--boot d`
//! (and QEMU's `-cdrom` spelling), and bad CD arguments are one-line errors with
//! status 2.

use std::path::PathBuf;
use std::process::Command;

fn x86() -> Command {
    Command::new(env!("CARGO_BIN_EXE_x86"))
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("x86-cdrom-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A minimal bootable disc laid out by the El Torito 1.0 specification: a primary
/// volume descriptor at block 16, the boot record volume descriptor at 17 pointing at
/// the catalog in block 19, the set terminator at 18, and a no-emulation boot image in
/// block 20 that writes `CD-BOOT-OK DL=` and its DL in hex to port E9h, then halts.
fn tiny_iso() -> Vec<u8> {
    let mut iso = vec![0u8; 21 * 2048];
    let block = |n: usize| n * 2048;
    iso[block(16)] = 1;
    iso[block(16) + 1..block(16) + 6].copy_from_slice(b"CD001");
    iso[block(16) + 6] = 1;
    iso[block(17) + 1..block(17) + 6].copy_from_slice(b"CD001");
    iso[block(17) + 6] = 1;
    iso[block(17) + 7..block(17) + 30].copy_from_slice(b"EL TORITO SPECIFICATION");
    iso[block(17) + 0x47..block(17) + 0x4B].copy_from_slice(&19u32.to_le_bytes());
    iso[block(18)] = 0xFF;
    iso[block(18) + 1..block(18) + 6].copy_from_slice(b"CD001");
    iso[block(18) + 6] = 1;
    // Validation entry: header 01h, platform 0, checksum making the words sum to 0.
    let cat = block(19);
    iso[cat] = 1;
    iso[cat + 30] = 0x55;
    iso[cat + 31] = 0xAA;
    let sum = (0..16).fold(0u16, |a, i| {
        a.wrapping_add(u16::from_le_bytes([iso[cat + 2 * i], iso[cat + 2 * i + 1]]))
    });
    iso[cat + 28..cat + 30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
    // Default entry: bootable, no emulation, segment 0 (07C0h), one sector at block 20.
    iso[cat + 32] = 0x88;
    iso[cat + 38] = 1;
    iso[cat + 40..cat + 44].copy_from_slice(&20u32.to_le_bytes());
    let mut code = Vec::new();
    for &c in b"CD-BOOT-OK DL=" {
        code.extend([0xB0, c, 0xE6, 0xE9]); // mov al, c; out 0E9h, al
    }
    #[rustfmt::skip]
    code.extend([
        0x88, 0xD0,             // mov al, dl
        0xC0, 0xE8, 0x04,       // shr al, 4
        0x04, 0x30,             // add al, '0'
        0x3C, 0x3A,             // cmp al, '9' + 1
        0x72, 0x02,             // jb +2
        0x04, 0x07,             // add al, 'A' - '9' - 1
        0xE6, 0xE9,             // out 0E9h, al
        0x88, 0xD0,             // mov al, dl
        0x24, 0x0F,             // and al, 0Fh
        0x04, 0x30,             // add al, '0'
        0x3C, 0x3A,             // cmp al, '9' + 1
        0x72, 0x02,             // jb +2
        0x04, 0x07,             // add al, 7
        0xE6, 0xE9,             // out 0E9h, al
        0xB0, 0x0A, 0xE6, 0xE9, // newline
        0xFA, 0xF4,             // cli; hlt
    ]);
    iso[block(20)..block(20) + code.len()].copy_from_slice(&code);
    iso
}

#[test]
fn a_cd_boots_with_boot_d_and_the_qemu_spelling() {
    let iso = temp("tiny.iso", &tiny_iso());
    for flag in ["--cdrom", "-cdrom"] {
        let out = x86()
            .args(["run", "--headless", "--timeout", "30", "--boot", "d", flag])
            .arg(&iso)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // DL = E0h, the drive number the BIOS gives the CD.
        assert!(text.contains("CD-BOOT-OK DL=E0"), "{flag}: {text}");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{flag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // With only a CD attached, it boots without --boot.
    let out = x86()
        .args(["run", "--headless", "--timeout", "30", "--cdrom"])
        .arg(&iso)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("CD-BOOT-OK DL=E0"));
    let _ = std::fs::remove_file(iso);
}

#[test]
fn bad_cd_arguments_are_one_line_errors() {
    let odd = temp("odd.iso", &vec![0u8; 2048 * 20 + 512]);
    let cases: [(Vec<&std::ffi::OsStr>, &str); 3] = [
        (vec!["--boot".as_ref(), "d".as_ref()], "no CD-ROM image"),
        (
            vec!["--cdrom".as_ref(), odd.as_os_str()],
            "multiple of 2048",
        ),
        (
            vec!["--cdrom".as_ref(), "/nonexistent.iso".as_ref()],
            "cannot open CD image",
        ),
    ];
    for (args, want) in cases {
        let out = x86()
            .args(["run", "--headless", "--timeout", "10"])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let _ = std::fs::remove_file(odd);
}
