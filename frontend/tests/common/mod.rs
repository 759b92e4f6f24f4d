//! Runs the `x86` binary as a child and watches what it costs the host: peak resident
//! memory (VmHWM, polled from /proc while it runs), CPU time (utime + stime of the
//! zombie, read before it is reaped) and wall time. A child past its memory limit or
//! its wall-clock limit is killed, so a regression fails the test instead of the host.

#![allow(dead_code)]

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn x86() -> Command {
    Command::new(env!("CARGO_BIN_EXE_x86"))
}

pub struct Watched {
    pub status: ExitStatus,
    /// Peak resident set size in KiB.
    pub peak_kb: u64,
    pub cpu: Duration,
    pub wall: Duration,
    pub stderr: String,
    /// Why the watcher killed the child, if it did.
    pub killed: Option<String>,
}

fn status_field(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// State letter and utime + stime of a process, from /proc/PID/stat.
fn stat(pid: u32) -> Option<(char, Duration)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields follow the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let state = f.first()?.chars().next()?;
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture this runs on.
    Some((state, Duration::from_millis(ticks * 10)))
}

/// Spawns `cmd` (stdout discarded unless the caller set it, stderr captured) and
/// watches it until it exits; kills it past `limit_kb` of resident memory or after
/// `kill_after` of wall time.
pub fn watch(cmd: &mut Command, limit_kb: u64, kill_after: Duration) -> Watched {
    let child = cmd.stderr(Stdio::piped()).spawn().expect("spawn x86");
    watch_child(child, limit_kb, kill_after)
}

pub fn watch_child(mut child: Child, limit_kb: u64, kill_after: Duration) -> Watched {
    let start = Instant::now();
    let pid = child.id();
    let mut err = child.stderr.take().expect("stderr piped");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let mut peak_kb = 0;
    let mut cpu = Duration::ZERO;
    let mut killed = None;
    loop {
        if let Some(kb) = status_field(pid, "VmHWM:") {
            peak_kb = peak_kb.max(kb);
        }
        match stat(pid) {
            Some((st, t)) => {
                cpu = t;
                if st == 'Z' || st == 'X' {
                    break;
                }
            }
            None => break,
        }
        if killed.is_none() && peak_kb > limit_kb {
            killed = Some(format!("peak RSS {peak_kb} KiB over {limit_kb} KiB"));
            let _ = child.kill();
        }
        if killed.is_none() && start.elapsed() > kill_after {
            killed = Some(format!("still running after {kill_after:?}"));
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = child.wait().expect("wait x86");
    let wall = start.elapsed();
    Watched {
        status,
        peak_kb,
        cpu,
        wall,
        stderr: reader.join().unwrap_or_default(),
        killed,
    }
}

/// A 64 KB system-BIOS image whose reset vector jumps to `code` at F000:0000.
pub fn rom(name: &str, code: &[u8]) -> std::path::PathBuf {
    let mut rom = vec![0xF4u8; 64 << 10];
    rom[..code.len()].copy_from_slice(code);
    rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
    let p = std::env::temp_dir().join(format!("x86-{name}-{}.bin", std::process::id()));
    std::fs::write(&p, rom).unwrap();
    p
}
