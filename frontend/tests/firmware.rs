//! `--bios`, `--vga-rom` and `--bios-log` as a user meets them: bad images are one-line
//! errors with status 2, and an option ROM's output reaches the debug console.

use std::process::Command;

fn x86() -> Command {
    Command::new(env!("CARGO_BIN_EXE_x86"))
}

/// Runs `x86` with `args`, expects status 2 and one line on stderr containing `needle`.
fn user_error(args: &[&str], needle: &str) {
    let out = x86().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("x86: "), "{err}");
    assert!(err.contains(needle), "{args:?}: {err}");
}

fn scratch(name: &str, bytes: &[u8]) -> String {
    let p = std::env::temp_dir().join(format!("x86-fw-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn bad_firmware_images_are_one_line_errors() {
    user_error(
        &["run", "--headless", "--vga-rom", "/nonexistent/vga.bin"],
        "/nonexistent/vga.bin",
    );
    let not_rom = scratch("notrom", &[0u8; 4096]);
    user_error(&["run", "--headless", "--vga-rom", &not_rom], "55h AAh");
    let big = scratch("bigrom", &vec![0x55u8; 200 << 10]);
    user_error(&["run", "--headless", "--vga-rom", &big], "128 KB");
    let odd = scratch("oddbios", &vec![0xF4u8; 96 << 10]);
    user_error(&["run", "--headless", "--bios", &odd], "multiple of 64 KB");
    let huge = scratch("hugebios", &vec![0xF4u8; 3 << 20]);
    user_error(&["run", "--headless", "--bios", &huge], "up to 2 MB");
    let dir = std::env::temp_dir();
    user_error(
        &["run", "--headless", "--vga-rom", dir.to_str().unwrap()],
        "not a regular file",
    );
    for p in [not_rom, big, odd, huge] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn an_option_rom_runs_at_post_and_a_bios_log_is_written() {
    // The hand-assembled ROM of machine/tests/firmware.rs (init writes 'R' to port
    // E9h), then a 64 KB BIOS image that writes "FW" to port 402h and exits through
    // port F4h: `mov dx,402h; mov al,'F'; out dx,al; mov al,'W'; out dx,al; mov al,0;
    // out 0F4h,al`.
    let mut rom = vec![0u8; 2048];
    rom[..8].copy_from_slice(&[0x55, 0xAA, 0x04, 0xB0, 0x52, 0xE6, 0xE9, 0xCB]);
    rom[2047] = 0x61;
    let rom = scratch("optrom", &rom);
    let out = x86()
        .args(["run", "--headless", "--timeout", "30", "--vga-rom", &rom])
        .args(["--until", "R"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with('R'));
    let mut bios = vec![0xF4u8; 64 << 10];
    let code = [
        0xBA, 0x02, 0x04, 0xB0, b'F', 0xEE, 0xB0, b'W', 0xEE, 0xB0, 0x00, 0xE6, 0xF4,
    ];
    bios[0xFFF0 - 0x20..0xFFF0 - 0x20 + code.len()].copy_from_slice(&code);
    // Reset vector: jmp short back to the code (EB disp8: FFF2h + disp = FFD0h).
    bios[0xFFF0..0xFFF2].copy_from_slice(&[0xEB, 0xDE]);
    let bios = scratch("logbios", &bios);
    let log = scratch("fwlog", b"");
    let out = x86()
        .args(["run", "--headless", "--timeout", "30", "--bios", &bios])
        .args(["--bios-log", &log])
        .output()
        .unwrap();
    // isa-debug-exit: status (0 << 1) | 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&log).unwrap(), b"FW");
    for p in [rom, bios, log] {
        let _ = std::fs::remove_file(p);
    }
}
