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

/// A 1.44 MB floppy whose boot sector runs `code` (loaded at 0000:7C00 by the BIOS).
fn boot_floppy(code: &[u8]) -> std::path::PathBuf {
    let mut img = vec![0u8; 1_474_560];
    img[..code.len()].copy_from_slice(code);
    img[510] = 0x55;
    img[511] = 0xAA;
    let tag = code.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let p = std::env::temp_dir().join(format!("x86-fd-{}-{tag:016x}.img", std::process::id()));
    std::fs::write(&p, img).unwrap();
    p
}

fn read_png(p: &std::path::Path) -> (Vec<u8>, usize, usize) {
    let mut r = png::Decoder::new(std::fs::File::open(p).unwrap())
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (buf, info.width as usize, info.height as usize)
}

/// Boots `code` from a floppy headless, expects it to halt (status 0), and returns the
/// `--screenshot` taken at exit as RGB bytes with its size.
fn screenshot_after(code: &[u8]) -> (Vec<u8>, usize, usize) {
    let fd = boot_floppy(code);
    let shot = fd.with_extension("png");
    let out = x86()
        .args(["run", "--headless", "--timeout", "30", "--screenshot"])
        .arg(&shot)
        .arg(&fd)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = read_png(&shot);
    let _ = std::fs::remove_file(&fd);
    let _ = std::fs::remove_file(&shot);
    png
}

#[test]
fn mode_13h_through_the_bios_reaches_the_screenshot() {
    // mov ax,0013h; int 10h            — 320×200, 256 colours (BIOS sets the default DAC)
    // mov ax,0A000h; mov es,ax
    // mov di,100*320+50; mov al,4; stosb   — pixel (50,100) in colour 4
    // mov ax,0C01h; mov cx,10; mov dx,20; int 10h  — pixel (10,20) in colour 1 via the BIOS
    // cli; hlt
    let code = [
        0xB8, 0x13, 0x00, 0xCD, 0x10, 0xB8, 0x00, 0xA0, 0x8E, 0xC0, 0xBF, 0x32, 0x7D, 0xB0, 0x04,
        0xAA, 0xB8, 0x01, 0x0C, 0xB9, 0x0A, 0x00, 0xBA, 0x14, 0x00, 0xCD, 0x10, 0xFA, 0xF4,
    ];
    let (rgb, w, h) = screenshot_after(&code);
    // 320×200 is shown doubled in both directions, as a VGA monitor shows mode 13h.
    assert_eq!((w, h), (640, 400));
    let px = |x: usize, y: usize| {
        let i = ((y * 2) * w + x * 2) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    };
    // The default VGA palette's first 16 entries are the EGA colours: 1 is blue
    // (0,0,2Ah), 4 red (2Ah,0,0) in 6-bit DAC units, 2Ah scaling to AAh in 8 bits.
    assert_eq!(px(50, 100), [0xAA, 0, 0]);
    assert_eq!(px(10, 20), [0, 0, 0xAA]);
    assert_eq!(px(0, 0), [0, 0, 0], "cleared to colour 0");
}

#[test]
fn mode_12h_planar_pixel_through_the_bios() {
    // mov ax,0012h; int 10h; mov ax,0C0Eh; xor bx,bx; mov cx,639; mov dx,479; int 10h;
    // cli; hlt — the bottom-right pixel of 640×480×16 in colour 14.
    let code = [
        0xB8, 0x12, 0x00, 0xCD, 0x10, 0xB8, 0x0E, 0x0C, 0x31, 0xDB, 0xB9, 0x7F, 0x02, 0xBA, 0xDF,
        0x01, 0xCD, 0x10, 0xFA, 0xF4,
    ];
    let (rgb, w, h) = screenshot_after(&code);
    assert_eq!((w, h), (640, 480));
    let px = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    };
    // EGA colour 14 (yellow) is DAC (3Fh,3Fh,15h): FFh,FFh,55h in 8 bits.
    assert_eq!(px(639, 479), [0xFF, 0xFF, 0x55]);
    assert_eq!(px(638, 479), [0, 0, 0]);
}

#[test]
fn serial_stdio_feeds_stdin_to_com1() {
    // At F000:0000: wait for COM1's receiver (LSR bit 0), echo each byte to port 0xE9,
    // stop through port 0xF4 after '!'. The reset vector jumps there.
    let code = [
        0xBA, 0xFD, 0x03, // mov dx,3FDh
        0xEC, // in al,dx
        0xA8, 0x01, // test al,1
        0x74, 0xFB, // jz -5
        0xBA, 0xF8, 0x03, // mov dx,3F8h
        0xEC, // in al,dx
        0xE6, 0xE9, // out 0E9h,al
        0x3C, b'!', // cmp al,'!'
        0x75, 0xEE, // jne 0
        0xB0, 0x00, 0xE6, 0xF4, // mov al,0; out 0F4h,al
    ];
    let mut rom = vec![0xF4u8; 64 << 10];
    rom[..code.len()].copy_from_slice(&code);
    rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
    let p = std::env::temp_dir().join(format!("x86-serial-in-{}.bin", std::process::id()));
    std::fs::write(&p, rom).unwrap();
    let mut child = x86()
        .args([
            "run",
            "--headless",
            "--serial",
            "stdio",
            "--timeout",
            "30",
            "--bios",
        ])
        .arg(&p)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hi\n!").unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&p);
    // Status (0 << 1) | 1 from port 0xF4; Enter's LF reaches the guest as CR.
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"hi\r!");
}

#[test]
fn a_timeout_too_long_for_a_duration_is_a_one_line_error() {
    // 10^19 s exceeds what a std Duration/Instant holds (it used to panic).
    user_error(&["run", "--headless", "--timeout", "1e19"], "--timeout");
}

#[test]
fn a_nan_timeout_is_a_one_line_error() {
    user_error(&["run", "--headless", "--timeout", "NaN"], "--timeout");
}

#[test]
fn a_wait_of_1e30_seconds_is_a_one_line_error() {
    user_error(
        &["run", "--headless", "--keys", "{wait 1e30s}"],
        "wait 1e30s",
    );
}

#[test]
fn an_infinite_wait_is_a_one_line_error() {
    user_error(&["run", "--headless", "--keys", "{wait infs}"], "wait infs");
}

#[test]
fn a_negative_wait_is_a_one_line_error() {
    user_error(&["run", "--headless", "--keys", "{wait -1s}"], "wait -1s");
}

#[test]
fn a_nan_wait_is_a_one_line_error() {
    user_error(&["run", "--headless", "--keys", "{wait nans}"], "wait nans");
}

#[test]
fn a_wait_too_long_in_milliseconds_is_a_one_line_error() {
    // 2^64 - 1 ms: as nanoseconds this overflowed the key script's clock.
    user_error(
        &[
            "run",
            "--headless",
            "--keys",
            "{wait 18446744073709551615ms}",
        ],
        "wait",
    );
}

#[test]
fn february_30th_is_a_one_line_error() {
    user_error(&["run", "--headless", "--rtc", "2026-02-30"], "28 days");
}

#[test]
fn february_29th_only_in_leap_years() {
    // 2100 is not a leap year (divisible by 100, not by 400); 2000 and 2024 are.
    user_error(
        &["run", "--headless", "--rtc", "2100-02-29T00:00:00"],
        "28 days",
    );
    user_error(&["run", "--headless", "--rtc", "2023-02-29"], "28 days");
    user_error(&["run", "--headless", "--rtc", "2026-04-31"], "30 days");
    // A valid leap day runs (the demo powers off by itself: status 0).
    for ok in ["2000-02-29T12:00:00", "2024-02-29"] {
        let out = x86()
            .args(["run", "--headless", "--timeout", "60", "--rtc", ok])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{ok}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn an_absurd_rtc_year_is_a_one_line_error() {
    user_error(
        &["run", "--headless", "--rtc", "1899-12-31"],
        "1900 to 9999",
    );
    user_error(&["run", "--headless", "--rtc", "10000-01-01"], "--rtc");
    // 10^14 s after 1970 is in the year 3 170 843.
    user_error(
        &["run", "--headless", "--rtc", "100000000000000"],
        "1900 to 9999",
    );
}

#[test]
fn an_empty_until_is_a_one_line_error() {
    user_error(&["run", "--headless", "--until", ""], "--until");
}

#[test]
fn a_jpeg_screenshot_is_a_one_line_error() {
    user_error(&["run", "--headless", "--screenshot", "x.jpg"], "x.jpg");
}

#[test]
fn a_jpeg_screenshot_in_a_key_script_is_a_one_line_error() {
    user_error(
        &["run", "--headless", "--keys", "{screenshot \"x.jpeg\"}"],
        "x.jpeg",
    );
}

#[test]
fn a_png_screenshot_name_is_case_insensitive() {
    let shot = std::env::temp_dir().join(format!("x86-upper-{}.PNG", std::process::id()));
    let out = x86()
        .args(["run", "--headless", "--timeout", "60", "--screenshot"])
        .arg(&shot)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (_, w, h) = read_png(&shot);
    let _ = std::fs::remove_file(&shot);
    assert_eq!((w, h), (720, 400), "a text-mode screen");
}

#[test]
fn a_mistyped_flag_keeps_clap_s_suggestion_on_one_line() {
    user_error(&["run", "--hdd", "x.img"], "similar argument exists");
    user_error(&["sst", "--verbos", "x"], "'--verbose'");
}

/// A 1.44 MB FAT12 floppy (DOS 3.3 BPB: 512-byte sectors, 1 sector a cluster, 1
/// reserved, 2 FATs, 224 root entries, 2880 sectors, media F0h, 9 sectors a FAT, 18 a
/// track, 2 heads) whose boot code at 3Eh halts.
fn fat_floppy(name: &str) -> std::path::PathBuf {
    let mut img = vec![0u8; 1_474_560];
    img[..3].copy_from_slice(&[0xEB, 0x3C, 0x90]);
    img[3..11].copy_from_slice(b"MSDOS5.0");
    img[0x0B..0x1C].copy_from_slice(&[
        0x00, 0x02, 0x01, 0x01, 0x00, 0x02, 0xE0, 0x00, 0x40, 0x0B, 0xF0, 0x09, 0x00, 0x12, 0x00,
        0x02, 0x00,
    ]);
    img[0x3E..0x40].copy_from_slice(&[0xFA, 0xF4]); // cli; hlt
    img[510] = 0x55;
    img[511] = 0xAA;
    let p = std::env::temp_dir().join(format!("x86-fat-{}-{name}.img", std::process::id()));
    std::fs::write(&p, img).unwrap();
    p
}

#[test]
fn a_floppy_image_given_as_the_boot_hard_disk_says_what_to_do() {
    let p = fat_floppy("as-hda");
    let s = p.to_str().unwrap().to_string();
    user_error(
        &["run", "--headless", "--hda", &s],
        "looks like a floppy image",
    );
    user_error(&["run", "--headless", "--hda", &s], "use --fda");
    user_error(&["run", "--headless", "--hda", &s], "1.44 MB");
    // Passed without a flag it is a floppy, and boots.
    let out = x86()
        .args(["run", "--headless", "--timeout", "30", &s])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&p);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("halted"));
}

#[test]
fn a_floppy_image_as_a_data_hard_disk_is_fine() {
    // Booting from A:, the same image as drive C: is only data.
    let a = fat_floppy("boot-a");
    let c = fat_floppy("data-c");
    let out = x86()
        .args(["run", "--headless", "--timeout", "30", "--fda"])
        .arg(&a)
        .arg("--hda")
        .arg(&c)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&c);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cpu_help_lists_the_models() {
    let out = x86().args(["run", "--cpu", "help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for (name, sig) in [
        ("486dx", "0410h"),
        ("pentium", "052Ch"),
        ("pentium-mmx", "0543h"),
        ("pentium2", "0652h"),
        ("pentium3", "0686h"),
        ("pentium-m", "0695h"),
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}: {text}"));
        assert!(line.contains(sig), "{line}");
    }
    let default = text.lines().find(|l| l.contains("[default]")).unwrap();
    assert!(default.starts_with("  pentium-m "), "{default}");
    assert!(default.contains("mmx fxsr sse sse2"), "{default}");
}

#[test]
fn an_unknown_cpu_is_a_one_line_error() {
    user_error(&["run", "--cpu", "pentium4"], "pentium4");
}

#[test]
fn cpu_selects_the_cpuid_family() {
    // xor eax, eax ; inc eax ; cpuid ; mov al, ah ; out 0F4h, al: the exit status is
    // (family << 1) | 1, the family being bits 11:8 of the signature (SDM Vol. 2A CPUID).
    let rom = rom_with(&[
        0x66, 0x31, 0xC0, 0x66, 0x40, 0x0F, 0xA2, 0x88, 0xE0, 0xE6, 0xF4,
    ]);
    for (cpu, family) in [
        (None, 6),
        (Some("486dx"), 4),
        (Some("pentium"), 5),
        (Some("pentium-mmx"), 5),
        (Some("pentium2"), 6),
        (Some("pentium3"), 6),
        (Some("pentium-m"), 6),
    ] {
        let mut c = x86();
        c.args(["run", "--headless", "--bios"]).arg(&rom);
        if let Some(cpu) = cpu {
            c.args(["--cpu", cpu]);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(family << 1 | 1), "{cpu:?}");
    }
}
