//! `--record` / `--replay` headless (issue 17): COM1 input from stdin, which arrives at
//! whatever instruction count the host's timing gives, is recorded and replayed to the
//! same guest output and instruction count; bad recordings and other machines are
//! refused in one line (status 2); a replay that diverges says where.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn x86() -> Command {
    Command::new(env!("CARGO_BIN_EXE_x86"))
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("x86-replay-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 64 KB BIOS image: at F000:0000 it polls COM1's line status (LSR bit 0, data
/// ready), counting polls in CX; for each byte received it writes CL, CH and the byte
/// to port 0E9h, and after '!' it stops through port 0F4h (status 1). The poll counts
/// depend on when each byte arrived, so equal outputs mean equal input timing.
fn rom(d: &std::path::Path) -> PathBuf {
    let code = [
        0x31, 0xC9, // 0: xor cx,cx
        0x41, // 2: inc cx
        0xBA, 0xFD, 0x03, // mov dx,3FDh
        0xEC, // in al,dx
        0xA8, 0x01, // test al,1
        0x74, 0xF7, // jz 2
        0x88, 0xC8, // mov al,cl
        0xE6, 0xE9, // out 0E9h,al
        0x88, 0xE8, // mov al,ch
        0xE6, 0xE9, // out 0E9h,al
        0xBA, 0xF8, 0x03, // mov dx,3F8h
        0xEC, // in al,dx
        0xE6, 0xE9, // out 0E9h,al
        0x3C, b'!', // cmp al,'!'
        0x75, 0xE3, // jne 0
        0xB0, 0x00, 0xE6, 0xF4, // mov al,0; out 0F4h,al
    ];
    let mut rom = vec![0xF4u8; 64 << 10];
    rom[..code.len()].copy_from_slice(&code);
    // The reset vector: jmp F000:0000.
    rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
    let p = d.join("serial-poll.bin");
    std::fs::write(&p, rom).unwrap();
    p
}

fn instructions(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    s.lines()
        .find_map(|l| l.strip_prefix("instructions: "))
        .and_then(|l| l.split(',').next())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no --stats line in {s}"))
}

/// Records a run fed "ab!" on stdin with pauses; returns the recording's path, the
/// debug-console output and the stderr.
fn record(d: &std::path::Path, rom: &std::path::Path) -> (PathBuf, Vec<u8>, Vec<u8>) {
    let rec = d.join("serial.x86rec");
    let e9 = d.join("record-e9.bin");
    let mut child = x86()
        .args([
            "run",
            "--headless",
            "--serial",
            "stdio",
            "--stats",
            "--timeout",
            "60",
        ])
        .arg("--record")
        .arg(&rec)
        .arg("--debugcon")
        .arg(&e9)
        .arg("--bios")
        .arg(rom)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for b in [b"a", b"b", b"!"] {
        std::thread::sleep(std::time::Duration::from_millis(150));
        stdin.write_all(b).unwrap();
        stdin.flush().unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    // (0 << 1) | 1: the guest's own stop through port 0F4h.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (rec, std::fs::read(&e9).unwrap(), out.stderr)
}

fn replay(
    d: &std::path::Path,
    rom: &std::path::Path,
    rec: &std::path::Path,
    extra: &[&str],
) -> (std::process::Output, Vec<u8>) {
    let e9 = d.join("replay-e9.bin");
    let _ = std::fs::remove_file(&e9);
    let out = x86()
        .args([
            "run",
            "--headless",
            "--serial",
            "stdio",
            "--stats",
            "--timeout",
            "60",
        ])
        .args(extra)
        .arg("--replay")
        .arg(rec)
        .arg("--debugcon")
        .arg(&e9)
        .arg("--bios")
        .arg(rom)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out, std::fs::read(&e9).unwrap_or_default())
}

#[test]
fn serial_stdin_recorded_and_replayed_identically() {
    let d = dir("same");
    let rom = rom(&d);
    let (rec, e9, err) = record(&d, &rom);
    // Three bytes, each after its poll count (2 bytes): 3 × 3 bytes.
    assert_eq!(e9.len(), 9, "{e9:?}");
    assert_eq!([e9[2], e9[5], e9[8]], *b"ab!");
    let text = std::fs::read_to_string(&rec).unwrap();
    assert_eq!(text.matches(r#""kind":"serial""#).count(), 3, "{text}");
    let (out, e9_replay) = replay(&d, &rom, &rec, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(e9_replay, e9, "the guest saw each byte after as many polls");
    assert_eq!(instructions(&out.stderr), instructions(&err));
    assert_eq!(state_hash(&out.stderr), state_hash(&err));
}

/// The machine-state hash `--stats` prints (CPU, RAM and every device).
fn state_hash(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    s.lines()
        .find(|l| l.starts_with("state hash: "))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no state hash in {s}"))
}

fn one_line_error(out: &std::process::Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{needle:?} in {err}");
}

#[test]
fn bad_or_mismatched_recordings_are_refused_in_one_line() {
    let d = dir("bad");
    let rom = rom(&d);
    let (rec, _, _) = record(&d, &rom);
    let text = std::fs::read_to_string(&rec).unwrap();
    // Another memory size than the recording's 32 MB.
    let (out, _) = replay(&d, &rom, &rec, &["--memory", "64"]);
    one_line_error(&out, "--memory 32");
    // Another CPU model.
    let (out, _) = replay(&d, &rom, &rec, &["--cpu", "pentium3"]);
    one_line_error(&out, "--cpu pentium-m");
    // Another BIOS image file (same bytes, other path).
    let other = d.join("other-rom.bin");
    std::fs::copy(&rom, &other).unwrap();
    let (out, _) = replay(&d, &other, &rec, &[]);
    one_line_error(&out, "boot files --bios");
    // Cut short: no end line.
    let cut = d.join("cut.x86rec");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n")).unwrap();
    one_line_error(&replay(&d, &rom, &cut, &[]).0, "truncated");
    // A flipped character in an input line.
    let bad = d.join("bad.x86rec");
    std::fs::write(
        &bad,
        text.replacen(r#""kind":"serial""#, r#""kind":"serjal""#, 1),
    )
    .unwrap();
    one_line_error(&replay(&d, &rom, &bad, &[]).0, "corrupted");
    // A future format version.
    let future = d.join("future.x86rec");
    std::fs::write(
        &future,
        text.replacen(r#""version":1"#, r#""version":99"#, 1),
    )
    .unwrap();
    one_line_error(&replay(&d, &rom, &future, &[]).0, "version 99");
    // Not a recording at all.
    one_line_error(&replay(&d, &rom, &rom, &[]).0, "not an x86 recording");
}

#[test]
fn a_diverging_replay_says_where() {
    let d = dir("diverge");
    let rom = rom(&d);
    let (rec, _, _) = record(&d, &rom);
    let text = std::fs::read_to_string(&rec).unwrap();
    // Move the first input 1000 instructions (10 µs at 100 MIPS) later: the guest has
    // polled more by then, so its registers differ from the recorded checksum.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    let i = v["i"].as_u64().unwrap() + 1000;
    v["i"] = i.into();
    v["t"] = (v["t"].as_u64().unwrap() + 10_000).into();
    lines[1] = v.to_string();
    let moved = d.join("moved.x86rec");
    std::fs::write(&moved, lines.join("\n") + "\n").unwrap();
    let (out, _) = replay(&d, &rom, &moved, &[]);
    one_line_error(&out, &format!("replay diverged at instruction {i}"));
    // The guest ends before an input the recording has after its end.
    let mut late: Vec<String> = text.lines().map(str::to_string).collect();
    let end: serde_json::Value = serde_json::from_str(late.last().unwrap()).unwrap();
    let n = late.len();
    let mut extra: serde_json::Value = serde_json::from_str(&late[n - 2]).unwrap();
    extra["i"] = (end["i"].as_u64().unwrap() + 5).into();
    extra["t"] = (end["t"].as_u64().unwrap() + 50).into();
    let mut end = end;
    end["i"] = (extra["i"].as_u64().unwrap() + 5).into();
    end["t"] = (extra["t"].as_u64().unwrap() + 50).into();
    late[n - 1] = extra.to_string();
    late.push(end.to_string());
    let longer = d.join("longer.x86rec");
    std::fs::write(&longer, late.join("\n") + "\n").unwrap();
    let (out, _) = replay(&d, &rom, &longer, &[]);
    one_line_error(&out, "replay diverged: the run ended");
}
