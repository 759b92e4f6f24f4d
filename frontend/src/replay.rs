//! `--record FILE` / `--replay FILE`: input record and replay.
//!
//! The machine is deterministic: the same inputs at the same virtual moments give the
//! same run. What is not deterministic is the host: keys and mouse in the window,
//! bytes on stdin for COM1, the host clock read for the RTC, and where the wall-clock
//! pacing (and the key script, checked between slices) happens to end a slice and so
//! hand an input in. Every such input reaches the machine through
//! [`crate::run::Session::input`], which applies it and, when recording, writes it down
//! with the instruction count and virtual time (ns) at which the guest got it, plus a
//! checksum of the CPU registers at that moment. Replay runs the machine to exactly that
//! instruction count and virtual time (a halted guest's skipped idle time is part of
//! virtual time) and applies the input there; a guest that is elsewhere has diverged.
//!
//! The file is JSON lines: a header (format name, version, emulator version, the
//! machine configuration and the RTC's start time), then one line per input, and a
//! last `end` line saying where and how the run ended.

use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read, Write};
use std::path::Path;

pub const FORMAT: &str = "x86-replay";
pub const VERSION: u32 = 1;

/// The machine configuration a recording needs to mean the same thing again.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    pub cpu: String,
    pub memory_mb: u32,
    pub boot: String,
    pub no_reboot: bool,
    /// Each attached drive: its flag, path and size in bytes.
    pub disks: Vec<DiskId>,
    /// `--bios`, `--kernel`, `--initrd`: path and size; `--append`.
    pub boot_files: Vec<DiskId>,
    pub append: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct DiskId {
    pub drive: String,
    pub path: String,
    pub size: u64,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub emulator: String,
    pub config: MachineConfig,
    /// The Unix time the RTC started at (the host clock when recording without --rtc).
    pub rtc_epoch: i64,
}

/// One non-deterministic input, as the machine receives it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Input {
    /// A window key (set-1 make code, E0 prefix, pressed or released).
    Key { code: u8, ext: bool, down: bool },
    /// The window lost focus: every held key is released.
    ReleaseKeys,
    /// PS/2 mouse motion, wheel and buttons.
    Mouse {
        dx: i32,
        dy: i32,
        dz: i32,
        buttons: u8,
    },
    /// Bytes into COM1's receiver (host stdin).
    Serial { bytes: Vec<u8> },
    /// A `--keys` character, typed when the script reached it.
    TypeChar { c: u8 },
    /// A `--keys` named key or combination: raw set-1 bytes.
    KeyBytes { bytes: Vec<u8> },
    /// The window's reset shortcut.
    Reset,
}

/// How the recorded run ended (replay ends at the same point).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum End {
    /// The guest itself ended the run (halt, shutdown, triple fault, debug exit).
    Machine,
    /// `--until` matched, `{quit}`, the window closed, a timeout or a signal.
    Outside,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Instructions retired when the input arrived.
    pub i: u64,
    /// Virtual time then, in ns.
    pub t: u64,
    /// Checksum of the CPU registers then.
    pub sum: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input: Option<Input>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end: Option<End>,
}

/// Reads a recording line by line, each at most [`MAX_LINE`] bytes, so a file that is
/// no recording (one huge line) is refused without reading it all into memory.
struct Lines {
    r: std::io::BufReader<std::fs::File>,
    path: String,
}

/// Longer than any line this x86 writes (a serial chunk is at most 16 bytes of FIFO).
const MAX_LINE: u64 = 64 << 10;

impl Lines {
    fn next_line(&mut self) -> Result<Option<Vec<u8>>, String> {
        let mut buf = Vec::new();
        let n = (&mut self.r)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| format!("cannot read recording {}: {e}", self.path))?;
        if n == 0 {
            return Ok(None);
        }
        if buf.len() as u64 > MAX_LINE {
            return Err(format!(
                "recording {}: not an x86 recording (a line longer than {MAX_LINE} bytes)",
                self.path
            ));
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        Ok(Some(buf))
    }
}

impl Line {
    /// What the line records, for messages.
    pub fn what(&self) -> String {
        match (&self.input, &self.end) {
            (Some(i), _) => format!("input ({})", serde_json::to_string(i).unwrap_or_default()),
            _ => "end of the run".into(),
        }
    }
}

/// FNV-1a over the general registers, EIP, EFLAGS and the segment selectors: cheap,
/// and any difference in where the guest is or what it computed shows in it.
pub fn cpu_sum(pc: &machine::Pc) -> u32 {
    let c = &pc.cpu;
    let mut h: u32 = 0x811C_9DC5;
    let words = c
        .regs
        .iter()
        .copied()
        .chain([c.eip, c.eflags])
        .chain(c.seg.iter().map(|s| s.selector as u32));
    for w in words {
        for b in w.to_le_bytes() {
            h = (h ^ b as u32).wrapping_mul(0x0100_0193);
        }
    }
    h
}

pub struct Recorder {
    out: std::io::BufWriter<std::fs::File>,
    path: String,
}

impl Recorder {
    pub fn create(path: &Path, header: &Header) -> Result<Recorder, String> {
        let f = std::fs::File::create(path)
            .map_err(|e| format!("cannot create recording {}: {e}", path.display()))?;
        let mut r = Recorder {
            out: std::io::BufWriter::new(f),
            path: path.display().to_string(),
        };
        let h = serde_json::to_string(header).map_err(|e| e.to_string())?;
        r.write_line(&h)?;
        Ok(r)
    }

    fn write_line(&mut self, s: &str) -> Result<(), String> {
        writeln!(self.out, "{s}").map_err(|e| format!("cannot write recording {}: {e}", self.path))
    }

    pub fn write(&mut self, line: &Line) -> Result<(), String> {
        let s = serde_json::to_string(line).map_err(|e| e.to_string())?;
        self.write_line(&s)
    }

    pub fn finish(&mut self) -> Result<(), String> {
        self.out
            .flush()
            .map_err(|e| format!("cannot write recording {}: {e}", self.path))
    }
}

pub struct Player {
    pub header: Header,
    pub lines: std::collections::VecDeque<Line>,
    pub path: String,
}

impl Player {
    /// Reads and checks a recording: the format, its version, and that every line
    /// parses and comes in time order, ending with one `end` line.
    pub fn open(path: &Path) -> Result<Player, String> {
        let p = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|e| format!("cannot read recording {p}: {e}"))?;
        let mut lines = Lines {
            r: std::io::BufReader::new(f),
            path: p.clone(),
        };
        let first = lines
            .next_line()?
            .ok_or_else(|| format!("recording {p}: empty file"))?;
        let first = String::from_utf8(first)
            .map_err(|_| format!("recording {p}: not an x86 recording (bad header line)"))?;
        let v: serde_json::Value = serde_json::from_str(&first)
            .map_err(|_| format!("recording {p}: not an x86 recording (bad header line)"))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(format!(
                "recording {p}: not an x86 recording (format is not {FORMAT:?})"
            ));
        }
        let ver = v.get("version").and_then(|x| x.as_u64()).unwrap_or(0);
        if ver != VERSION as u64 {
            return Err(format!(
                "recording {p}: format version {ver}, this x86 reads version {VERSION}"
            ));
        }
        let header: Header =
            serde_json::from_value(v).map_err(|e| format!("recording {p}: bad header: {e}"))?;
        let mut out = std::collections::VecDeque::new();
        let (mut li, mut lt) = (0u64, 0u64);
        let mut ended = false;
        let mut lineno = 1;
        while let Some(l) = lines.next_line()? {
            lineno += 1;
            if ended {
                return Err(format!(
                    "recording {p} line {lineno}: input after the end line"
                ));
            }
            let line: Line = serde_json::from_slice(&l)
                .map_err(|e| format!("recording {p} line {lineno}: corrupted ({e})"))?;
            if line.input.is_some() == line.end.is_some() {
                return Err(format!(
                    "recording {p} line {lineno}: corrupted (needs one of input and end)"
                ));
            }
            if line.i < li || line.t < lt {
                return Err(format!(
                    "recording {p} line {lineno}: corrupted (goes back in time)"
                ));
            }
            (li, lt) = (line.i, line.t);
            ended = line.end.is_some();
            out.push_back(line);
        }
        if !ended {
            return Err(format!(
                "recording {p}: truncated (no end line; was the recording run killed?)"
            ));
        }
        Ok(Player {
            header,
            lines: out,
            path: p,
        })
    }

    /// Refuses a replay on a machine configured differently from the recorded one.
    pub fn check_config(&self, now: &MachineConfig) -> Result<(), String> {
        let rec = &self.header.config;
        let p = &self.path;
        let diff = |what: &str, a: String, b: String| {
            Err(format!(
                "recording {p} was made with {what} {a}; this run has {b}"
            ))
        };
        if rec.cpu != now.cpu {
            return diff("--cpu", rec.cpu.clone(), now.cpu.clone());
        }
        if rec.memory_mb != now.memory_mb {
            return diff(
                "--memory",
                rec.memory_mb.to_string(),
                now.memory_mb.to_string(),
            );
        }
        if rec.boot != now.boot {
            return diff("boot order", rec.boot.clone(), now.boot.clone());
        }
        if rec.no_reboot != now.no_reboot {
            return diff(
                "--no-reboot",
                rec.no_reboot.to_string(),
                now.no_reboot.to_string(),
            );
        }
        let show = |v: &[DiskId]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter()
                    .map(|d| format!("{} {} ({} bytes)", d.drive, d.path, d.size))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        if rec.disks != now.disks {
            return diff("disks", show(&rec.disks), show(&now.disks));
        }
        if rec.boot_files != now.boot_files {
            return diff("boot files", show(&rec.boot_files), show(&now.boot_files));
        }
        if rec.append != now.append {
            return diff(
                "--append",
                format!("{:?}", rec.append),
                format!("{:?}", now.append),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_read_back() {
        let l = Line {
            i: 5,
            t: 50,
            sum: 7,
            input: Some(Input::Serial { bytes: vec![b'a'] }),
            end: None,
        };
        let s = serde_json::to_string(&l).unwrap();
        assert_eq!(
            s,
            r#"{"i":5,"t":50,"sum":7,"input":{"kind":"serial","bytes":[97]}}"#
        );
        assert_eq!(serde_json::from_str::<Line>(&s).unwrap(), l);
    }
}
