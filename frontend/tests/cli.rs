//! End-to-end checks of the `x86` command as a user runs it.

use std::process::Command;

fn x86() -> Command {
    Command::new(env!("CARGO_BIN_EXE_x86"))
}

#[test]
fn default_run_boots_the_demo_guest() {
    // `x86 run` with no image boots the built-in demo floppy; headless here. Typed keys
    // are echoed on screen and Esc powers the machine off.
    let screen = std::env::temp_dir().join(format!("x86-demo-{}.txt", std::process::id()));
    let out = x86()
        .args(["run", "--headless", "--timeout", "60", "--screen-text"])
        .arg(&screen)
        .args(["--keys", "{wait-screen \"Esc powers\"}hello{esc}"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "status {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CPU vendor: GenuineIntel"), "{text}");
    // There are 168 primes below 1000.
    assert!(text.contains("primes below 1000: 168"), "{text}");
    let shown = std::fs::read_to_string(&screen).unwrap();
    let _ = std::fs::remove_file(&screen);
    assert!(
        shown.contains("x86 ─ a pure-software PC emulator in Rust"),
        "{shown}"
    );
    assert!(shown.contains("primes below 1000: 168"), "{shown}");
    assert!(shown.contains("hello"), "typed keys echoed: {shown}");
    assert!(shown.contains("bye"), "{shown}");
}

#[test]
fn the_demo_powers_off_by_itself_when_nobody_types() {
    // 60 s of virtual time without a key; HLT skips idle time, so this is quick.
    let out = x86()
        .args(["run", "--headless", "--timeout", "60"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bye"));
}

fn rom_with(code: &[u8]) -> std::path::PathBuf {
    let mut rom = vec![0xF4u8; 64 << 10];
    rom[0xFFF0..0xFFF0 + code.len()].copy_from_slice(code);
    // One file per distinct ROM, so tests running in parallel never share a path.
    let tag = code.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let p = std::env::temp_dir().join(format!("x86-test-{}-{tag:016x}.bin", std::process::id()));
    std::fs::write(&p, rom).unwrap();
    p
}

#[test]
fn isa_debug_exit_sets_the_exit_status() {
    // mov al, 'k' ; out 0E9h, al ; mov al, 5 ; out 0F4h, al  →  status (5 << 1) | 1 = 11
    let rom = rom_with(&[0xB0, b'k', 0xE6, 0xE9, 0xB0, 0x05, 0xE6, 0xF4]);
    let out = x86()
        .args(["run", "--headless", "--bios"])
        .arg(&rom)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11));
    assert_eq!(out.stdout, b"k");
}

#[test]
fn triple_fault_with_no_reboot_stops_with_status_4() {
    // cli ; lidt [cs:FFF9] ; int3 — the six bytes at FFF9 are zero, so the IDT limit is 0:
    // INT 3, then #GP, then #DF find no vector and the CPU shuts down.
    let code = [
        0xFA, 0x2E, 0x0F, 0x01, 0x1E, 0xF9, 0xFF, 0xCC, 0xF4, 0, 0, 0, 0, 0, 0,
    ];
    let rom = rom_with(&code);
    let out = x86()
        .args(["run", "--headless", "--no-reboot", "--bios"])
        .arg(&rom)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn post_codes_and_halt_are_reported() {
    // mov al, 0x42 ; out 80h, al ; cli ; hlt
    let rom = rom_with(&[0xB0, 0x42, 0xE6, 0x80, 0xFA, 0xF4]);
    let out = x86()
        .args(["run", "--headless", "--post", "stderr", "--bios"])
        .arg(&rom)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("POST 42"), "{err}");
    assert!(err.contains("last POST code 0x42"), "{err}");
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

#[test]
fn missing_files_are_one_line_errors() {
    user_error(
        &["run", "--headless", "--bios", "/nonexistent/rom.bin"],
        "/nonexistent/rom.bin",
    );
    user_error(
        &["run", "--headless", "/nonexistent/disk.img"],
        "/nonexistent/disk.img",
    );
    user_error(
        &["run", "--headless", "--fda", "/nonexistent/a.img"],
        "/nonexistent/a.img",
    );
}

#[test]
fn unreadable_files_are_one_line_errors() {
    // A directory cannot be read as an image.
    let dir = std::env::temp_dir();
    let d = dir.to_str().unwrap();
    user_error(&["run", "--headless", "--hda", d], d);
}

#[test]
fn bad_flag_values_are_one_line_errors() {
    user_error(&["run", "--headless", "--memory", "0"], "memory size 0 MB");
    user_error(&["run", "--headless", "--memory", "lots"], "lots");
    user_error(&["run", "--headless", "--boot", "z"], "--boot z");
    user_error(&["run", "--headless", "--pace", "warp"], "warp");
    user_error(&["run", "--headless", "--scale", "0"], "--scale 0");
    user_error(&["run", "--headless", "--rtc", "yesterday"], "yesterday");
    user_error(&["run", "--headless", "--keys", "{nosuchkey}"], "nosuchkey");
    user_error(&["run", "--no-such-flag"], "--no-such-flag");
}

#[test]
fn odd_sized_and_empty_images_are_one_line_errors() {
    let p = std::env::temp_dir().join(format!("x86-odd-{}.img", std::process::id()));
    std::fs::write(&p, vec![0u8; 1000]).unwrap();
    let s = p.to_str().unwrap().to_string();
    user_error(&["run", "--headless", "--hda", &s], "1000 bytes");
    user_error(&["run", "--headless", "--fda", &s], "1000 bytes");
    std::fs::write(&p, b"").unwrap();
    user_error(&["run", "--headless", &s], &s);
    let _ = std::fs::remove_file(&p);
}

#[test]
fn a_disk_without_a_boot_signature_is_a_one_line_error() {
    // A blank 1.44 MB floppy and a blank 1 MB hard disk: no 55AAh in the first sector.
    for (flag, size) in [("--fda", 1_474_560usize), ("--hda", 1 << 20)] {
        let p = std::env::temp_dir().join(format!("x86-blank-{}-{size}.img", std::process::id()));
        std::fs::write(&p, vec![0u8; size]).unwrap();
        let s = p.to_str().unwrap().to_string();
        user_error(&["run", "--headless", flag, &s], "not bootable");
        let _ = std::fs::remove_file(&p);
    }
}

#[test]
fn a_silent_guest_times_out_with_status_124() {
    // jmp $ forever: no output, so only --timeout ends the run.
    let rom = rom_with(&[0xEB, 0xFE]);
    let start = std::time::Instant::now();
    let out = x86()
        .args(["run", "--headless", "--timeout", "5", "--bios"])
        .arg(&rom)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124));
    assert!(start.elapsed().as_secs_f64() < 30.0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("timeout"));
}

#[test]
fn trace_starts_at_the_reset_vector() {
    // The CPU starts at F000:FFF0 (SDM Vol. 3A §9.1.4); this ROM has `hlt` there.
    let rom = rom_with(&[0xFA, 0xF4]);
    let trace = std::env::temp_dir().join(format!("x86-trace-{}.txt", std::process::id()));
    let out = x86()
        .args(["run", "--headless", "--bios"])
        .arg(&rom)
        .arg("--trace")
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("f000:0000fff0 fa "), "{text}");
    assert!(lines[1].starts_with("f000:0000fff1 f4 "), "{text}");
    assert!(lines[1].contains("hlt"), "{text}");
}
