//! The guest can never crash or hang the host, checked on the real `x86` binary:
//! random boot sectors, boot sectors calling BIOS interrupts with garbage registers,
//! and hard disks with random partition tables behind a chain-loading MBR, each run
//! headless under `--timeout`. Every run must end with a documented status (0, an odd
//! isa-debug-exit status, 2, 4, 124), never print "panicked", end within a second of
//! its timeout, and stay under guest RAM + 256 MB of resident memory.
//!
//! `ROBUST_N` sets how many guests run (default 108, about a minute on two cores);
//! `ROBUST_SEED` picks another deterministic sequence. A failing case's image is kept
//! in the temporary directory and named in the report, to rerun by hand.
#![cfg(target_os = "linux")]

mod common;

use common::{watch, x86};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MEMORY_MB: u64 = 4;
const TIMEOUT_S: u64 = 1;
const LIMIT_KB: u64 = (MEMORY_MB + 256) * 1024;

/// xorshift64 (Marsaglia): deterministic and good enough to make garbage.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn word(&mut self) -> u16 {
        self.next() as u16
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn fill(&mut self, b: &mut [u8]) {
        b.iter_mut().for_each(|x| *x = self.byte());
    }
}

const FLOPPY: usize = 1_474_560;

fn sign(sector: &mut [u8]) {
    sector[510] = 0x55;
    sector[511] = 0xAA;
}

/// A floppy whose boot sector is 510 random bytes and the signature; the rest of the
/// disk is random too, so whatever it reads is garbage.
fn random_boot_sector(r: &mut Rng) -> Vec<u8> {
    let mut img = vec![0u8; FLOPPY];
    r.fill(&mut img[..64 * 512]);
    sign(&mut img);
    img
}

/// The BIOS interrupts a boot sector may call (video, equipment, memory, disk, serial,
/// system, keyboard, printer, time) and, rarely, INT 19h (bootstrap) and 18h.
const BIOS_INTS: &[u8] = &[
    0x10, 0x10, 0x10, 0x11, 0x12, 0x13, 0x13, 0x13, 0x14, 0x15, 0x15, 0x16, 0x16, 0x17, 0x1A, 0x1A,
    0x19, 0x18,
];

/// A floppy whose boot code loads every general and segment register (but SS:SP)
/// with garbage and calls a BIOS interrupt, several times, then halts.
fn random_bios_calls(r: &mut Rng) -> Vec<u8> {
    let mut img = vec![0u8; FLOPPY];
    r.fill(&mut img[512..64 * 512]);
    let mut code: Vec<u8> = vec![0xFA, 0x31, 0xC0, 0x8E, 0xD0, 0xBC, 0x00, 0x7C, 0xFB];
    for _ in 0..1 + r.below(6) {
        // mov ax/cx/dx/bx/bp/si/di, imm16 (B8+r, skipping SP)
        for reg in [0u8, 1, 2, 3, 5, 6, 7] {
            let w = r.word();
            code.extend([0xB8 + reg, w as u8, (w >> 8) as u8]);
        }
        // Function numbers mostly in the documented range: AH small.
        if r.below(4) != 0 {
            code.extend([0xB4, r.below(0x20) as u8]);
        }
        // push imm16; pop es / pop ds (garbage segments, sometimes)
        for pop in [0x07u8, 0x1F] {
            if r.below(2) == 0 {
                let w = r.word();
                code.extend([0x68, w as u8, (w >> 8) as u8, pop]);
            }
        }
        let n = BIOS_INTS[r.below(BIOS_INTS.len() as u64) as usize];
        code.extend([0xCD, n]);
        // Sometimes with interrupts off, as careless code calls them.
        if r.below(5) == 0 {
            code.insert(code.len() - 2, 0xFA);
        }
    }
    code.extend([0xFA, 0xF4]);
    img[..code.len()].copy_from_slice(&code);
    sign(&mut img);
    img
}

/// A chain-loading MBR: reads partition entry 0's first sector by LBA (INT 13h AH=42h)
/// and by CHS (AH=02h) to 0000:7E00 and jumps there if it has the boot signature.
#[rustfmt::skip]
const MBR: &[u8] = &[
    0xFA, 0x31, 0xC0, 0x8E, 0xD0, 0xBC, 0x00, 0x7C, 0xFB, // cli; ss = 0; sp = 7C00h; sti
    0x8E, 0xD8, 0x8E, 0xC0,                   // mov ds,ax; mov es,ax
    0xBE, 0xBE, 0x7D,                         // mov si,7DBEh (entry 0)
    0xC7, 0x06, 0x00, 0x05, 0x10, 0x00,       // DAP: size 16
    0xC7, 0x06, 0x02, 0x05, 0x01, 0x00,       //      1 sector
    0xC7, 0x06, 0x04, 0x05, 0x00, 0x7E,       //      to 0000:7E00
    0xC7, 0x06, 0x06, 0x05, 0x00, 0x00,
    0x8B, 0x44, 0x08, 0xA3, 0x08, 0x05,       //      LBA = entry's start
    0x8B, 0x44, 0x0A, 0xA3, 0x0A, 0x05,
    0xC7, 0x06, 0x0C, 0x05, 0x00, 0x00,
    0xC7, 0x06, 0x0E, 0x05, 0x00, 0x00,
    0x56,                                     // push si
    0xB4, 0x42, 0xB2, 0x80, 0xBE, 0x00, 0x05, // ah = 42h; dl = 80h; si = DAP
    0xCD, 0x13,                               // int 13h
    0x5E,                                     // pop si
    0x8A, 0x74, 0x01, 0x8B, 0x4C, 0x02,       // dh = head; cx = cylinder/sector
    0xB8, 0x01, 0x02, 0xBB, 0x00, 0x7E,       // ax = 0201h; bx = 7E00h
    0xB2, 0x80, 0xCD, 0x13,                   // dl = 80h; int 13h
    0x81, 0x3E, 0xFE, 0x7F, 0x55, 0xAA,       // cmp word [7FFEh],0AA55h
    0x75, 0x05,                               // jne halt
    0xEA, 0x00, 0x7E, 0x00, 0x00,             // jmp 0000:7E00
    0xFA, 0xF4,                               // halt: cli; hlt
];

/// A hard disk (sometimes floppy-sized, which the partition table makes a hard disk)
/// with the chain-loading MBR, four random partition entries, and random sectors of
/// which some carry the boot signature.
fn random_partitions(r: &mut Rng) -> Vec<u8> {
    let size = if r.below(4) == 0 { FLOPPY } else { 1 << 20 };
    let mut img = vec![0u8; size];
    for s in 1..size / 512 {
        if r.below(8) == 0 {
            let sec = &mut img[s * 512..s * 512 + 512];
            r.fill(sec);
            if r.below(2) == 0 {
                sign(sec);
            }
        }
    }
    img[..512].fill(0);
    img[..MBR.len()].copy_from_slice(MBR);
    for e in 0..4 {
        let o = 0x1BE + e * 16;
        r.fill(&mut img[o..o + 16]);
        // Mostly plausible: a valid boot flag and a start inside the disk.
        if r.below(3) != 0 {
            img[o] = if e == 0 { 0x80 } else { 0 };
            let start = r.below((size / 512) as u64 + 64) as u32;
            img[o + 8..o + 12].copy_from_slice(&start.to_le_bytes());
        }
    }
    sign(&mut img[..512]);
    img
}

struct Case {
    name: String,
    image: Vec<u8>,
    no_reboot: bool,
}

fn cases(n: usize, seed: u64) -> Vec<Case> {
    let mut r = Rng(seed | 1);
    (0..n)
        .map(|i| {
            let (kind, image) = match i % 3 {
                0 => ("bootsector", random_boot_sector(&mut r)),
                1 => ("bioscalls", random_bios_calls(&mut r)),
                _ => ("partitions", random_partitions(&mut r)),
            };
            Case {
                name: format!("{kind}-{seed:x}-{i}"),
                image,
                no_reboot: r.below(2) == 0,
            }
        })
        .collect()
}

/// Runs one case: its exit status, and a description of what went wrong, if anything.
fn run(case: &Case, dir: &std::path::Path) -> (Option<i32>, Option<String>) {
    let img: PathBuf = dir.join(format!("{}.img", case.name));
    std::fs::write(&img, &case.image).unwrap();
    let mut cmd = x86();
    cmd.args(["run", "--headless", "--snapshot"])
        .args(["--timeout", &TIMEOUT_S.to_string()])
        .args(["--memory", &MEMORY_MB.to_string()])
        .args(["--debugcon", "/dev/null", "--serial", "/dev/null"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    if case.no_reboot {
        cmd.arg("--no-reboot");
    }
    cmd.arg(&img);
    let w = watch(&mut cmd, LIMIT_KB, Duration::from_secs(TIMEOUT_S + 30));
    let code = w.status.code();
    let documented = matches!(code, Some(0 | 2 | 4 | 124)) || code.is_some_and(|c| c & 1 == 1);
    let mut problems = Vec::new();
    if let Some(k) = &w.killed {
        problems.push(format!("killed: {k}"));
    }
    if !documented {
        problems.push(format!("status {:?}", w.status));
    }
    if w.stderr.contains("panicked") {
        problems.push("panicked".to_string());
    }
    if w.wall > Duration::from_secs(TIMEOUT_S + 1) {
        problems.push(format!("ran {:.2} s", w.wall.as_secs_f64()));
    }
    if w.peak_kb >= LIMIT_KB {
        problems.push(format!("peak RSS {} KiB", w.peak_kb));
    }
    if problems.is_empty() {
        let _ = std::fs::remove_file(&img);
        return (code, None);
    }
    let tail: String = w
        .stderr
        .lines()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .join(" | ");
    (
        code,
        Some(format!(
            "{} ({}): {}; stderr: {tail}",
            case.name,
            img.display(),
            problems.join(", ")
        )),
    )
}

#[test]
fn random_guests_never_crash_or_hang_the_host() {
    let n = std::env::var("ROBUST_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(108);
    let seed = std::env::var("ROBUST_SEED")
        .ok()
        .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5EED_0F12);
    let dir = std::env::temp_dir().join(format!("x86-robust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let queue = Arc::new(Mutex::new(cases(n, seed)));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::new()));
    // Two guests at a time: a 2-core CI machine stays responsive, and each guest's
    // wall-clock bound still holds.
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (queue, failures, dir) = (queue.clone(), failures.clone(), dir.clone());
            let statuses = statuses.clone();
            std::thread::spawn(move || loop {
                let Some(case) = queue.lock().unwrap().pop() else {
                    break;
                };
                let (code, failure) = run(&case, &dir);
                *statuses.lock().unwrap().entry(code).or_insert(0) += 1;
                if let Some(f) = failure {
                    failures.lock().unwrap().push(f);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    // How the guests ended, for whoever tunes the generators (cargo test -- --nocapture).
    eprintln!(
        "exit statuses of {n} guests: {:?}",
        statuses.lock().unwrap()
    );
    let failures = failures.lock().unwrap();
    if failures.is_empty() {
        let _ = std::fs::remove_dir(&dir);
    }
    assert!(
        failures.is_empty(),
        "{} of {n} guests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
