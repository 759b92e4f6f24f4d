//! `x86` must stop with a one-line reason, never a panic or a silent pass, on input that
//! is wrong: test suites that are empty, malformed or oversized, a closed stdout.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn x86() -> Command {
    Command::new(env!("CARGO_BIN_EXE_x86"))
}

/// A fresh, empty directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("x86-safety-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Expects a failure (non-zero status, no panic) whose stderr's last line starts with
/// `x86: ` and contains `needle`; returns the status.
fn fails_with(out: &Output, needle: &str) -> i32 {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let code = out.status.code().expect("ended by a signal");
    assert_ne!(code, 0, "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("x86: "), "{err}");
    assert!(last.contains(needle), "{needle:?} not in {err}");
    code
}

/// Expects status 2 and exactly one stderr line starting `x86: ` containing `needle`.
fn one_line_error(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("x86: "), "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

const METADATA_90: &str = r#"{"opcodes":{"90":{"status":"normal"}}}"#;

/// A real-mode NOP test in the suite's form: NOP; HLT at 0000:1000, IP after the HLT.
fn nop16(ax: &str) -> String {
    format!(
        r#"{{"name":"nop","bytes":[144,244],
        "initial":{{"regs":{{"ax":{ax},"bx":0,"cx":0,"dx":0,"cs":0,"ss":0,"ds":0,"es":0,
        "sp":256,"bp":0,"si":0,"di":0,"ip":4096,"flags":2}},"ram":[[4096,144],[4097,244]]}},
        "final":{{"regs":{{"ip":4098}},"ram":[]}},"hash":"h"}}"#
    )
}

/// The same in the 32-bit profile, with EAX as given.
fn nop32(eax: &str) -> String {
    format!(
        r#"{{"name":"nop","bytes":[144,244],
        "initial":{{"regs":{{"eax":{eax},"ecx":0,"edx":0,"ebx":0,"esp":8192,"ebp":0,"esi":0,
        "edi":0,"cs":35,"ds":43,"es":43,"ss":43,"fs":0,"gs":0,"eip":4096,"eflags":2}},
        "ram":[[4096,144],[4097,244]]}},
        "final":{{"regs":{{"eip":4098}},"ram":[]}},"hash":"h"}}"#
    )
}

fn suite(name: &str, metadata: &str, tests: &[(&str, String)]) -> PathBuf {
    let d = temp_dir(name);
    std::fs::write(d.join("metadata.json"), metadata).unwrap();
    for (file, body) in tests {
        std::fs::write(d.join(file), body).unwrap();
    }
    d
}

fn sst(dir: &std::path::Path) -> Output {
    x86().arg("sst").arg(dir).output().unwrap()
}

#[test]
fn a_good_fixture_passes() {
    // The fixtures below differ from this one in one thing each.
    let d = suite(
        "good",
        METADATA_90,
        &[("90.json", format!("[{}]", nop16("0")))],
    );
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed, 0 failed"));
}

#[test]
fn sst_on_an_empty_directory_fails() {
    let d = temp_dir("empty-dir");
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    one_line_error(&out, "no test files");
}

#[test]
fn sst_on_an_empty_file_fails() {
    let d = suite("empty-file", METADATA_90, &[("90.json", String::new())]);
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    fails_with(&out, "90.json: empty file");
}

#[test]
fn sst_on_an_empty_array_fails() {
    let d = suite("empty-array", METADATA_90, &[("90.json", "[]".into())]);
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    fails_with(&out, "no tests");
}

#[test]
fn sst_with_every_test_skipped_is_not_a_pass() {
    // An undefined form is left out of the count; nothing counted, nothing passed.
    let d = suite(
        "all-skipped",
        r#"{"opcodes":{"90":{"status":"undefined"}}}"#,
        &[("90.json", format!("[{}]", nop16("0")))],
    );
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(fails_with(&out, "no test was counted"), 1);
}

#[test]
fn a_32_bit_register_of_2_pow_32_is_an_error() {
    // 4294967296 = 2^32 does not fit EAX; it used to be truncated to 0 silently.
    let d = suite(
        "eax-2-32",
        r#"{"opcodes":{"90":{"flags-mask":4294901759}}}"#,
        &[("90.json", format!("[{}]", nop32("4294967296")))],
    );
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    fails_with(&out, "does not fit in 32 bits");
}

#[test]
fn a_16_bit_register_of_2_pow_16_is_an_error() {
    let d = suite(
        "ax-2-16",
        METADATA_90,
        &[("90.json", format!("[{}]", nop16("65536")))],
    );
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    fails_with(&out, "does not fit in 16 bits");
}

#[test]
fn a_flags_mask_of_2_pow_32_is_an_error() {
    let d = suite(
        "mask-2-32",
        r#"{"opcodes":{"90":{"flags-mask":4294967296}}}"#,
        &[("90.json", format!("[{}]", nop32("0")))],
    );
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    fails_with(&out, "does not fit in 32 bits");
}

#[test]
fn a_form_missing_from_metadata_is_an_error() {
    let d = suite(
        "no-entry",
        r#"{"opcodes":{"91":{"status":"normal"}}}"#,
        &[("90.json", format!("[{}]", nop16("0")))],
    );
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    fails_with(&out, "no entry for form 90");
}

#[test]
fn a_suite_without_metadata_is_an_error() {
    let d = temp_dir("no-metadata");
    std::fs::write(d.join("90.json"), format!("[{}]", nop16("0"))).unwrap();
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    fails_with(&out, "metadata.json");
}

#[test]
fn a_closed_stdout_ends_sst_quietly() {
    // `x86 sst DIR | head -1` after head has exited: every write fails with EPIPE.
    // 5000 failing tests detailed with -v write far more than a pipe holds (64 KB), so
    // the runner is still writing when the reading end closes, however fast it is.
    let failing = nop16("0").replace(r#""ip":4098"#, r#""ip":4098,"ax":1"#);
    let tests = vec![failing; 5000].join(",");
    let d = suite(
        "closed-stdout",
        METADATA_90,
        &[("90.json", format!("[{tests}]"))],
    );
    let mut child = x86()
        .args(["sst", "-v", "--details", "5000"])
        .arg(&d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&d);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    // 141 = 128 + SIGPIPE, what a shell reports for a tool the closed pipe stopped.
    assert_eq!(out.status.code(), Some(141), "{err}");
}

#[test]
fn a_gzip_bomb_is_refused() {
    use std::io::Write;
    // 257 MiB of spaces compress to a few hundred KB; the runner reads at most 256 MiB.
    let d = suite("gzip-bomb", METADATA_90, &[]);
    let path = d.join("90.json.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..257 {
        gz.write_all(&chunk).unwrap();
    }
    gz.finish().unwrap();
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    fails_with(&out, "90.json.gz");
    assert!(String::from_utf8_lossy(&out.stderr).contains("256 MiB"));
}

/// A 1.44 MB floppy whose boot sector runs `code` (loaded at 0000:7C00 by the BIOS).
fn boot_floppy(name: &str, code: &[u8]) -> PathBuf {
    let mut img = vec![0u8; 1_474_560];
    img[..code.len()].copy_from_slice(code);
    img[510] = 0x55;
    img[511] = 0xAA;
    let p = std::env::temp_dir().join(format!("x86-safety-{}-{name}.img", std::process::id()));
    std::fs::write(&p, img).unwrap();
    p
}

/// Boots `code` headless under `--timeout 2`: a guest that calls a BIOS service in a
/// loop must still be stopped by the timeout (status 124), within 3 s of wall time —
/// each call has to come back quickly for the run loop to look at the clock.
fn times_out_promptly(name: &str, code: &[u8]) {
    let fd = boot_floppy(name, code);
    let start = std::time::Instant::now();
    let mut child = x86()
        .args(["run", "--headless", "--timeout", "2"])
        .arg(&fd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A hung emulator fails the test instead of hanging it.
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed().as_secs() >= 10 {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let wall = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&fd);
    let status = status.expect("still running after 10 s");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert_eq!(status.code(), Some(124), "{err}");
    assert!(wall < 3.0, "took {wall:.2} s");
}

#[test]
fn block_move_to_the_top_of_4gb_returns_promptly() {
    // again: mov si,gdt; mov ah,87h; mov cx,10h; int 15h; jmp again — 32 bytes to
    // FFFFFFF0h, wrapping past 4 GB to 0: the cached-code invalidation once walked
    // every page number from FFFFFh round to 0 (2^32 steps).
    #[rustfmt::skip]
    let code = [
        0x31, 0xC0,             // xor ax,ax
        0x8E, 0xD8,             // mov ds,ax
        0x8E, 0xC0,             // mov es,ax
        0xBE, 0x12, 0x7C,       // again: mov si,7C12h (gdt)
        0xB4, 0x87,             // mov ah,87h
        0xB9, 0x10, 0x00,       // mov cx,10h (words)
        0xCD, 0x15,             // int 15h
        0xEB, 0xF4,             // jmp again
        // gdt: dummy and GDT descriptors, then source (base 0), destination (base
        // FFFFFFF0h), each limit FFFFh, access 93h; then BIOS CS and SS.
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0xFF, 0xFF, 0x00, 0x00, 0x00, 0x93, 0x00, 0x00,
        0xFF, 0xFF, 0xF0, 0xFF, 0xFF, 0x93, 0x00, 0xFF,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    times_out_promptly("block-move", &code);
}

#[test]
fn a_65535_character_string_in_mode_12h_returns_promptly() {
    // mov ax,12h; int 10h; again: xor ax,ax; mov es,ax; xor bp,bp; mov ax,1301h;
    // mov bx,0Eh; mov cx,0FFFFh; xor dx,dx; int 10h; jmp again — INT 10h AH=13h
    // writing the first 64 KB of memory (control characters included) as a string.
    let code = [
        0xB8, 0x12, 0x00, 0xCD, 0x10, 0x31, 0xC0, 0x8E, 0xC0, 0x31, 0xED, 0xB8, 0x01, 0x13, 0xBB,
        0x0E, 0x00, 0xB9, 0xFF, 0xFF, 0x31, 0xD2, 0xCD, 0x10, 0xEB, 0xEB,
    ];
    times_out_promptly("write-string", &code);
}

#[test]
fn until_matches_cp437_graphic_characters() {
    // The guest puts 01h, 03h and 7Fh in the first three text cells, then spins:
    // mov ax,0B800h; mov es,ax; mov byte [es:0],1; mov byte [es:2],3;
    // mov byte [es:4],7Fh; jmp $
    let code = [
        0xB8, 0x00, 0xB8, 0x8E, 0xC0, 0x26, 0xC6, 0x06, 0x00, 0x00, 0x01, 0x26, 0xC6, 0x06, 0x02,
        0x00, 0x03, 0x26, 0xC6, 0x06, 0x04, 0x00, 0x7F, 0xEB, 0xFE,
    ];
    let fd = boot_floppy("cp437", &code);
    // ☺ U+263A, ♥ U+2665, ⌂ U+2302.
    let out = x86()
        .args([
            "run",
            "--headless",
            "--timeout",
            "20",
            "--until",
            "\u{263A}\u{2665}\u{2302}",
        ])
        .arg(&fd)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&fd);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A SIMD-set test (`host-i686-simd` form): PADDB mm1, mm5; HLT. MM1 = 0102030405060708h
/// and MM5 = 01010101010101FFh give 0203040506070807h (the low byte wraps: 08h + FFh);
/// the MMX instruction sets TOP (3 in FSW 1900h) to 0 and tags every register valid
/// (SDM Vol. 1 Table 9-2), so FSW becomes 0100h and the abridged tag word FFh.
fn paddb_mm(mm0: &str, final_mm1: &str, aftw: &str) -> String {
    paddb_mm_xmm7(mm0, final_mm1, aftw, "0")
}

fn paddb_mm_xmm7(mm0: &str, final_mm1: &str, aftw: &str, xmm7: &str) -> String {
    format!(
        r#"[{{"name":"paddb mm1,mm5","bytes":[15,252,205,244],
        "initial":{{"regs":{{"eax":0,"ecx":0,"edx":0,"ebx":0,"esp":8192,"ebp":0,"esi":0,
        "edi":0,"cs":35,"ds":43,"es":43,"ss":43,"fs":0,"gs":0,"eip":4096,"eflags":2}},
        "ram":[[4096,15],[4097,252],[4098,205],[4099,244]],
        "simd":{{"mm0":"{mm0}","mm1":"0102030405060708","mm2":"0","mm3":"0","mm4":"0",
        "mm5":"01010101010101ff","mm6":"0","mm7":"0","mxcsr":8064,"fsw":6400{aftw},
        "xmm0":"0","xmm1":"0","xmm2":"0","xmm3":"0","xmm4":"0","xmm5":"0","xmm6":"0",
        "xmm7":"{xmm7}"}}}},
        "final":{{"regs":{{"eip":4100}},"ram":[],
        "simd":{{"mm1":"{final_mm1}","fsw":256,"aftw":255}}}},"hash":"h"}}]"#
    )
}

const METADATA_0FFC: &str = r#"{"opcodes":{"0FFC.r":{"isa":"mmx","flags-mask":4294901759}}}"#;

#[test]
fn an_mmx_test_passes_and_a_wrong_mm_value_fails() {
    let d = suite(
        "simd-good",
        METADATA_0FFC,
        &[(
            "0FFC.r.json",
            paddb_mm("0", "0203040506070807", ",\"aftw\":0"),
        )],
    );
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("1 passed, 0 failed"), "{text}");
    let d = suite(
        "simd-wrong",
        METADATA_0FFC,
        &[(
            "0FFC.r.json",
            paddb_mm("0", "0203040506070808", ",\"aftw\":0"),
        )],
    );
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("0 passed, 1 failed"), "{text}");
}

#[test]
fn bad_simd_state_is_an_error() {
    for (name, mm0, aftw, needle) in [
        ("simd-hex", "xyz", ",\"aftw\":0", "simd mm0"),
        ("simd-wide", "10000000000000000", ",\"aftw\":0", "64 bits"),
        ("simd-no-aftw", "0", "", "no aftw"),
        ("simd-aftw-wide", "0", ",\"aftw\":256", "aftw"),
    ] {
        let d = suite(
            name,
            METADATA_0FFC,
            &[("0FFC.r.json", paddb_mm(mm0, "0203040506070807", aftw))],
        );
        let out = sst(&d);
        let _ = std::fs::remove_dir_all(&d);
        one_line_error(&out, needle);
    }
    // XMM registers hold 128 bits: 33 hex digits are an error, not a truncation.
    let d = suite(
        "simd-xmm-wide",
        METADATA_0FFC,
        &[(
            "0FFC.r.json",
            paddb_mm_xmm7("0", "0203040506070807", ",\"aftw\":0", &"1".repeat(33)),
        )],
    );
    let out = sst(&d);
    let _ = std::fs::remove_dir_all(&d);
    one_line_error(&out, "xmm7");
}
