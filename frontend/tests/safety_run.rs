//! Host resources stay bounded whatever the guest or the user feeds in: stdin piped
//! into `--serial stdio` faster than the guest reads it, a guest flooding the debug
//! console or COM1 while `--until` and `{wait-serial}` watch for text that never comes.
#![cfg(target_os = "linux")]

mod common;

use common::{rom, watch, x86};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

/// Guest RAM (--memory 4) plus 256 MB: what a 4 MB guest may cost the host at most.
const LIMIT_KB: u64 = (4 + 256) * 1024;

fn assert_bounded(w: &common::Watched, what: &str) {
    assert!(w.killed.is_none(), "{what}: {:?}", w.killed);
    assert!(
        w.peak_kb < LIMIT_KB,
        "{what}: peak RSS {} KiB, limit {LIMIT_KB} KiB",
        w.peak_kb
    );
    assert!(!w.stderr.contains("panicked"), "{what}: {}", w.stderr);
    assert_eq!(w.status.code(), Some(124), "{what}: {}", w.stderr);
    // --timeout 3 ends the run within a second of it.
    assert!(w.wall < Duration::from_secs(4), "{what}: {:?}", w.wall);
}

#[test]
fn stdin_flood_into_serial_stdio_keeps_memory_bounded() {
    // jmp $: the guest never reads COM1, while `yes` writes as fast as the pipe takes.
    let bin = rom("jmp", &[0xEB, 0xFE]);
    let mut child = x86()
        .args(["run", "--headless", "--serial", "stdio", "--timeout", "3"])
        .args(["--memory", "4", "--bios"])
        .arg(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let yes = std::thread::spawn(move || {
        let chunk = b"y\n".repeat(32 << 10);
        let mut sent = 0u64;
        // Ends when x86 exits and the pipe breaks (the test harness ignores SIGPIPE).
        while stdin.write_all(&chunk).is_ok() {
            sent += chunk.len() as u64;
        }
        sent
    });
    let w = common::watch_child(child, LIMIT_KB, Duration::from_secs(30));
    let sent = yes.join().unwrap();
    let _ = std::fs::remove_file(&bin);
    assert_bounded(&w, "yes | x86 run --serial stdio");
    // The pipe pushed back: x86 read little more than its small buffers hold (the
    // bounded channel, the backlog, the FIFO), not everything `yes` could write.
    assert!(sent < 8 << 20, "x86 took {sent} bytes of stdin");
}

/// Runs a raw BIOS image headless with `--until NEVERSEEN --timeout 3` and `extra`
/// flags, and checks the run stayed bounded.
fn flood(name: &str, code: &[u8], extra: &[&str], what: &str) {
    let bin = rom(name, code);
    let w = watch(
        x86()
            .args([
                "run",
                "--headless",
                "--until",
                "NEVERSEEN",
                "--timeout",
                "3",
            ])
            .args(extra)
            .args(["--memory", "4", "--bios"])
            .arg(&bin),
        LIMIT_KB,
        Duration::from_secs(30),
    );
    let _ = std::fs::remove_file(&bin);
    assert_bounded(&w, what);
}

#[test]
fn debug_console_flood_with_until_keeps_memory_bounded() {
    // mov al,'x'; l: out 0E9h,al; jmp l
    flood(
        "e9flood",
        &[0xB0, b'x', 0xE6, 0xE9, 0xEB, 0xFC],
        &["--debugcon", "/dev/null"],
        "port E9 flood with --until",
    );
}

#[test]
fn com1_flood_with_until_and_wait_serial_keeps_memory_bounded() {
    // mov dx,3F8h; mov al,'y'; l: out dx,al; jmp l
    flood(
        "comflood",
        &[0xBA, 0xF8, 0x03, 0xB0, b'y', 0xEE, 0xEB, 0xFD],
        &[
            "--keys",
            "{wait-serial \"NEVERSEEN\"}{quit}",
            "--serial",
            "/dev/null",
        ],
        "COM1 flood with --until and {wait-serial}",
    );
}

#[test]
fn rep_outsb_flood_keeps_memory_bounded() {
    // xor ax,ax; mov ds,ax; xor si,si; mov dx,0E9h; l: mov cx,0FFFFh; rep outsb; jmp l:
    // 64 KB per instruction before REP iterations counted against the budget.
    flood(
        "repouts",
        &[
            0x31, 0xC0, 0x8E, 0xD8, 0x31, 0xF6, 0xBA, 0xE9, 0x00, 0xB9, 0xFF, 0xFF, 0xF3, 0x6E,
            0xEB, 0xF9,
        ],
        &["--debugcon", "/dev/null"],
        "REP OUTSB flood",
    );
}

#[test]
fn freedos_idle_at_its_prompt_in_real_time_leaves_the_host_mostly_idle() {
    // FreeDOS waits for a key by polling INT 16h; paced to the wall clock, that must
    // not keep a host core busy. A resource bound, loose for a loaded 2-core machine:
    // under half a core over the run (a busy-spinning one takes a whole core).
    let img = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/guests/freedos/freedos-1.44M.img");
    let w = watch(
        x86()
            .args(["run", "--headless", "--snapshot", "--pace", "realtime"])
            .args(["--timeout", "30", "--fda"])
            .arg(&img)
            .args(["--keys", "{wait-screen \"A:\\>\"}{wait 5s}{quit}"]),
        LIMIT_KB + 32 * 1024,
        Duration::from_secs(60),
    );
    assert!(w.killed.is_none(), "{:?}", w.killed);
    assert_eq!(w.status.code(), Some(0), "{}", w.stderr);
    let share = w.cpu.as_secs_f64() / w.wall.as_secs_f64();
    assert!(
        share < 0.5,
        "{:.2} s of CPU in {:.2} s of wall time",
        w.cpu.as_secs_f64(),
        w.wall.as_secs_f64()
    );
}

#[test]
fn timeout_holds_while_the_guest_sits_in_long_bios_calls() {
    // Boot sector: l: mov ax,1300h; mov bx,0007h; mov cx,0FFFFh; mov dx,1800h;
    // xor bp,bp; int 10h; jmp l — INT 10h AH=13h writes 65535 characters from 0000:0000
    // on the bottom line, scrolling every 80: milliseconds of host work that count as
    // one instruction, thousands of times per slice.
    let code = [
        0xB8, 0x00, 0x13, 0xBB, 0x07, 0x00, 0xB9, 0xFF, 0xFF, 0xBA, 0x00, 0x18, 0x31, 0xED, 0xCD,
        0x10, 0xEB, 0xEE,
    ];
    let mut img = vec![0u8; 1_474_560];
    img[..code.len()].copy_from_slice(&code);
    img[510] = 0x55;
    img[511] = 0xAA;
    let p = std::env::temp_dir().join(format!("x86-longbios-{}.img", std::process::id()));
    std::fs::write(&p, img).unwrap();
    let w = watch(
        x86()
            .args(["run", "--headless", "--snapshot", "--timeout", "1"])
            .args(["--memory", "4"])
            .arg(&p),
        LIMIT_KB,
        Duration::from_secs(60),
    );
    let _ = std::fs::remove_file(&p);
    assert!(w.killed.is_none(), "{:?}", w.killed);
    assert_eq!(w.status.code(), Some(124), "{}", w.stderr);
    assert!(w.wall < Duration::from_secs(2), "ran {:?}", w.wall);
    assert!(w.stderr.contains("timeout"), "{}", w.stderr);
}
