//! `x86 run`: boots a guest headless — a disk image through the built-in BIOS, a raw
//! system-BIOS image (`--bios`, the test-ROM path), or with no arguments the built-in
//! demo guest from `test-roms`. Files are read and written here; the machine only sees
//! bytes.

use crate::disk::Drive;
use machine::{BootOrder, Config, Exit, Pc};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Exit statuses of `x86 run` (the README's table).
pub const EXIT_OK: u8 = 0;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_TRIPLE_FAULT: u8 = 4;
pub const EXIT_TIMEOUT: u8 = 124;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A disk image to boot: a floppy if its size is a floppy format, else a hard disk.
    /// Example: x86 run freedos.img
    pub image: Option<PathBuf>,
    /// Floppy image for drive A: (360K, 720K, 1.2M, 1.44M or 2.88M).
    /// Example: --fda freedos-1.44M.img
    #[arg(long, value_name = "IMG")]
    pub fda: Option<PathBuf>,
    /// Floppy image for drive B:. Example: --fdb data.img
    #[arg(long, value_name = "IMG")]
    pub fdb: Option<PathBuf>,
    /// Hard-disk image for the first fixed disk (BIOS drive 80h, IDE primary master).
    /// Example: --hda linux-disk.img
    #[arg(long, value_name = "IMG")]
    pub hda: Option<PathBuf>,
    /// Hard-disk image for the second fixed disk (81h, IDE primary slave).
    /// Example: --hdb scratch.img
    #[arg(long, value_name = "IMG")]
    pub hdb: Option<PathBuf>,
    /// CD-ROM image (ISO 9660, 2048-byte blocks) in an ATAPI drive on the secondary IDE
    /// master, as QEMU's -cdrom; read-only. `-cdrom` works too. Example: --cdrom debian.iso
    #[arg(long, value_name = "ISO")]
    pub cdrom: Option<PathBuf>,
    /// Boot device: `a` (floppy first), `c` (hard disk first) or `d` (the CD-ROM by El
    /// Torito, then the hard disk). Default: a floppy if one is attached, else the hard
    /// disk, else the CD. Example: --boot d
    #[arg(long, value_name = "a|c|d")]
    pub boot: Option<String>,
    /// Keep the guest's disk writes aside (a temporary file); image files are never modified.
    /// Example: --hda disk.img --snapshot
    #[arg(long)]
    pub snapshot: bool,
    /// Raw system-BIOS image (a multiple of 64 KB up to 2 MB) instead of the built-in
    /// BIOS, like QEMU's -bios: its last 128 KB at most appear below 1 MB (E0000h up),
    /// all of it below 4 GB. SeaBIOS finds QEMU's fw_cfg, the Bochs BIOS the CMOS.
    /// Example: --bios /usr/share/seabios/bios-256k.bin
    #[arg(long, value_name = "ROM")]
    pub bios: Option<PathBuf>,
    /// VGA BIOS (option ROM, 512 bytes to 128 KB, 55h AAh first) at C0000h: the
    /// built-in BIOS and the Bochs BIOS run it from there, SeaBIOS gets it through
    /// fw_cfg (`vgaroms/`). Example: --vga-rom /usr/share/seabios/vgabios-stdvga.bin
    #[arg(long, value_name = "ROM")]
    pub vga_rom: Option<PathBuf>,
    /// Where firmware debug output goes (ports 402h/403h: SeaBIOS's debug port, the
    /// Bochs BIOS's info/debug ports): `stderr`, `stdio` or a file. Default: dropped.
    /// Example: --bios-log stderr
    #[arg(long, value_name = "stderr|FILE")]
    pub bios_log: Option<String>,
    /// Run without a window: for scripts and CI (see --serial, --keys, --until,
    /// --screen-text, --screenshot). Without it a window shows the screen.
    /// Example: --headless --serial stdio
    #[arg(long)]
    pub headless: bool,
    /// Window size as a multiple of the display (720×400 in text modes), 1–8.
    /// Example: --scale 1
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub scale: usize,
    /// `realtime` keeps guest time at wall-clock speed (the window's default); `max`
    /// runs as fast as the host allows (the headless default). Example: --pace max
    #[arg(long, value_name = "realtime|max", value_parser = ["realtime", "max"])]
    pub pace: Option<String>,
    /// Write the screen as a PNG to FILE at exit (shaped as a monitor shows it: 720×400
    /// for text, 640×400 for mode 13h). Example: --screenshot screen.png
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<PathBuf>,
    /// Where COM1 goes: `stdio` (output to stdout, input from stdin), a file, or `none`.
    /// Example: --serial com1.log
    #[arg(long, value_name = "stdio|FILE|none", default_value = "none")]
    pub serial: String,
    /// Boot this kernel directly instead of a disk: a Linux bzImage (Linux/x86 boot
    /// protocol, real-mode entry) or a Multiboot v1 kernel (ELF32 or a.out kludge).
    /// Disks may be attached too. Example: --kernel vmlinuz --initrd initrd.gz
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,
    /// With --kernel: an initrd (Linux; several are concatenated) or a Multiboot
    /// module (one per flag, named by its path). Repeatable. Example: --initrd initrd.gz
    #[arg(long, value_name = "FILE", requires = "kernel")]
    pub initrd: Vec<PathBuf>,
    /// With --kernel: the kernel command line. Example: --append "console=ttyS0"
    #[arg(long, value_name = "CMDLINE", requires = "kernel")]
    pub append: Option<String>,
    /// Start the real-time clock at this time (`YYYY-MM-DD[THH:MM:SS]` UTC or Unix
    /// seconds, years 1900–9999) instead of the host clock, for reproducible runs.
    /// Example: --rtc 2026-01-01T00:00:00
    #[arg(long, value_name = "TIME")]
    pub rtc: Option<String>,
    /// Where bytes written to port 0xE9 go: `stdio` or a file. Example: --debugcon e9.txt
    #[arg(long, value_name = "stdio|FILE", default_value = "stdio")]
    pub debugcon: String,
    /// Record every POST code written to ports 0x80/0x190: `stderr` or a file.
    /// Example: --post stderr
    #[arg(long, value_name = "stderr|FILE")]
    pub post: Option<String>,
    /// Write the text screen (code page 437 as UTF-8) to FILE at exit.
    /// Example: --screen-text screen.txt
    #[arg(long, value_name = "FILE")]
    pub screen_text: Option<PathBuf>,
    /// Type keys: text, `{enter}`, `{esc}`, `{tab}`, `{backspace}`, `{f1}`, `{ctrl+c}`,
    /// `{wait 500ms}`, `{wait 2s}`, `{wait-screen "C:\>"}`, `{wait-serial "login:"}`,
    /// `{screenshot "shot.png"}`, `{save "s.x86state"}` (machine state, see
    /// --load-state), `{quit}` (stop, status 0).
    /// Example: --keys '{wait-screen "A:\>"}dir{enter}'
    #[arg(long, value_name = "SCRIPT")]
    pub keys: Option<String>,
    /// Stop with status 0 when TEXT appears on COM1, the debug console or the text
    /// screen. Example: --until 'A:\>'
    #[arg(long, value_name = "TEXT")]
    pub until: Option<String>,
    /// Stop after this many seconds of wall time (exit status 124), at most 10^9.
    /// Example: --timeout 60
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Stop on a triple fault (exit status 4) instead of resetting. Example: --no-reboot
    #[arg(long)]
    pub no_reboot: bool,
    /// The CPU model: its CPUID identity and instruction-set extensions; `--cpu help`
    /// lists them. Default pentium-m. Example: --cpu pentium3
    #[arg(long, value_name = "NAME", default_value = "pentium-m", value_parser = cpu_names())]
    pub cpu: String,
    /// Guest RAM in MB (1–3072). Example: --memory 128
    #[arg(long, default_value_t = 32, value_name = "MB")]
    pub memory: u32,
    /// Log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or per-target
    /// levels; targets: cpu, bios, ports, machine, window, pic, pit, rtc, i8042, uart,
    /// ide, atapi, vga, fdc, dma, gdb. Default `warn` (unimplemented instructions and ports are
    /// reported once each). Example: --log ide=debug,pic=trace
    #[arg(long, value_name = "SPEC")]
    pub log: Option<String>,
    /// Write the log to FILE instead of stderr. Example: --log-file x86.log
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Write a CPU trace to FILE: one line per instruction with CS:EIP, the bytes, the
    /// instruction and the registers. Slow; costs nothing when off.
    /// Example: --trace trace.txt
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Print instructions executed, wall time, virtual time and MIPS at exit, and a hash
    /// of the final machine state (CPU, RAM, devices) for comparing runs.
    /// Example: --stats
    #[arg(long)]
    pub stats: bool,
    /// Save the machine state to FILE when the run ends (or at --save-state-at).
    /// Example: --save-state run.x86state
    #[arg(long, value_name = "FILE")]
    pub save_state: Option<PathBuf>,
    /// With --save-state: save when this many instructions have retired, then go on.
    /// Example: --save-state-at 2000000000
    #[arg(long, value_name = "N", requires = "save_state")]
    pub save_state_at: Option<u64>,
    /// Resume from a state saved by --save-state or a {save} step, with the same disks,
    /// memory size and CPU model given again. Example: --load-state run.x86state
    #[arg(long, value_name = "FILE")]
    pub load_state: Option<PathBuf>,
    /// Serve GDB's remote protocol on a TCP port (127.0.0.1 unless a host is given):
    /// `tcp::PORT` or `tcp:HOST:PORT`. Connect with `target remote :PORT`.
    /// Example: --gdb tcp::1234
    #[arg(long, value_name = "tcp::PORT")]
    pub gdb: Option<String>,
    /// The same as --gdb tcp::1234 (QEMU's -s). Example: -s
    #[arg(short = 's')]
    pub gdb_default: bool,
    /// Hold the CPU at the reset vector until GDB connects and continues (QEMU's -S);
    /// needs --gdb or -s. Example: -s --wait-gdb
    #[arg(long, short = 'S')]
    pub wait_gdb: bool,
    /// Record every non-deterministic input (window keys and mouse, COM1 stdin bytes,
    /// the key script's keystrokes, the host clock for the RTC) with the instruction
    /// count at which the guest got it, as JSON lines, for --replay.
    /// Example: --record session.x86rec
    #[arg(long, value_name = "FILE", conflicts_with_all = ["replay", "gdb", "gdb_default"])]
    pub record: Option<PathBuf>,
    /// Run a recording again with the same machine flags (disks, --memory, --cpu,
    /// --boot), headless or in the window: the inputs arrive at the same instruction
    /// counts, and the run ends where the recorded one ended. A guest that gets
    /// elsewhere is reported in one line (status 2). Example: --replay session.x86rec
    #[arg(long, value_name = "FILE", conflicts_with_all = ["keys", "until", "gdb", "gdb_default"])]
    pub replay: Option<PathBuf>,
}

impl RunArgs {
    /// The `--gdb` address asked for (`-s` is tcp::1234).
    pub fn gdb_spec(&self) -> Option<String> {
        self.gdb
            .clone()
            .or_else(|| self.gdb_default.then(|| "tcp::1234".to_string()))
    }
}

enum Sink {
    Stdout,
    Stderr,
    File(std::fs::File),
}

impl Sink {
    fn open(spec: &str, what: &str) -> Result<Sink, String> {
        match spec {
            "stdio" | "stdout" => Ok(Sink::Stdout),
            "stderr" => Ok(Sink::Stderr),
            path => std::fs::File::create(path)
                .map(Sink::File)
                .map_err(|e| format!("cannot create {what} file {path}: {e}")),
        }
    }
    fn write(&mut self, bytes: &[u8]) {
        let _ = match self {
            Sink::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(bytes).and_then(|_| o.flush())
            }
            Sink::Stderr => std::io::stderr().write_all(bytes),
            Sink::File(f) => f.write_all(bytes),
        };
    }
}

/// One step of a `--keys` script.
#[derive(Debug, PartialEq)]
enum KeyStep {
    Char(u8),
    /// Set-1 scan-code bytes for one key stroke (make and break, modifiers around it).
    Keys(Vec<u8>),
    Wait(u64),
    WaitScreen(String),
    WaitSerial(String),
    Screenshot(String),
    /// Save the machine state to a file (`{save "FILE"}`).
    Save(String),
    Quit,
}

/// Set-1 make code of a named key and whether it carries the E0 prefix.
fn named_key(name: &str) -> Option<(u8, bool)> {
    Some(match name {
        "esc" => (0x01, false),
        "backspace" => (0x0E, false),
        "up" => (0x48, true),
        "down" => (0x50, true),
        "left" => (0x4B, true),
        "right" => (0x4D, true),
        "home" => (0x47, true),
        "end" => (0x4F, true),
        "pgup" => (0x49, true),
        "pgdn" => (0x51, true),
        "insert" => (0x52, true),
        "delete" => (0x53, true),
        "f11" => (0x57, false),
        "f12" => (0x58, false),
        f if f.starts_with('f') && f[1..].parse::<u8>().is_ok_and(|n| (1..=10).contains(&n)) => {
            (0x3A + f[1..].parse::<u8>().unwrap_or(1), false)
        }
        _ => return None,
    })
}

/// The byte sequence for pressing `code` with `mods` (set-1 make codes) held.
fn stroke(mods: &[u8], code: u8, extended: bool) -> Vec<u8> {
    let mut v: Vec<u8> = mods.to_vec();
    let e0 = |v: &mut Vec<u8>| {
        if extended {
            v.push(0xE0);
        }
    };
    e0(&mut v);
    v.push(code);
    e0(&mut v);
    v.push(code | 0x80);
    v.extend(mods.iter().rev().map(|m| m | 0x80));
    v
}

fn parse_keys(script: &str) -> Result<Vec<KeyStep>, String> {
    let mut steps = Vec::new();
    let mut rest = script;
    while let Some(c) = rest.chars().next() {
        if c == '{' {
            let end = rest
                .find('}')
                .ok_or_else(|| format!("--keys: unclosed '{{' in {script:?}"))?;
            let tok = &rest[1..end];
            rest = &rest[end + 1..];
            let lower = tok.to_ascii_lowercase();
            let step = match lower.as_str() {
                "enter" => KeyStep::Char(b'\r'),
                "tab" => KeyStep::Char(b'\t'),
                "space" => KeyStep::Char(b' '),
                "lbrace" => KeyStep::Char(b'{'),
                "quit" => KeyStep::Quit,
                "rbrace" => KeyStep::Char(b'}'),
                k if named_key(k).is_some() => {
                    let (code, ext) = named_key(k).unwrap_or((0, false));
                    KeyStep::Keys(stroke(&[], code, ext))
                }
                w if w.starts_with("wait-serial ") => KeyStep::WaitSerial(
                    tok["wait-serial ".len()..]
                        .trim()
                        .trim_matches('"')
                        .to_string(),
                ),
                combo if combo.contains('+') => {
                    let mut parts: Vec<&str> = combo.split('+').collect();
                    let key = parts.pop().unwrap_or("");
                    let mut mods = Vec::new();
                    for m in parts {
                        mods.push(match m {
                            "ctrl" => 0x1D,
                            "alt" => 0x38,
                            "shift" => 0x2A,
                            _ => {
                                return Err(format!("--keys: unknown modifier {m:?} in {{{tok}}}"))
                            }
                        });
                    }
                    let (code, ext) = match named_key(key) {
                        Some(k) => k,
                        None if key.len() == 1 => {
                            match machine::keymap::scancode_for(key.as_bytes()[0]) {
                                Some((c, _)) => (c, false),
                                None => return Err(format!("--keys: no key {key:?} in {{{tok}}}")),
                            }
                        }
                        None => return Err(format!("--keys: no key {key:?} in {{{tok}}}")),
                    };
                    KeyStep::Keys(stroke(&mods, code, ext))
                }
                w if w.starts_with("screenshot ") => {
                    let path = tok["screenshot ".len()..].trim().trim_matches('"');
                    check_png(std::path::Path::new(path), "--keys: {screenshot}")?;
                    KeyStep::Screenshot(path.to_string())
                }
                w if w.starts_with("save ") => {
                    let path = tok["save ".len()..].trim().trim_matches('"');
                    if path.is_empty() {
                        return Err(
                            "--keys: {save} needs a file name: {save \"s.x86state\"}".into()
                        );
                    }
                    KeyStep::Save(path.to_string())
                }
                w if w.starts_with("wait-screen ") => KeyStep::WaitScreen(
                    tok["wait-screen ".len()..]
                        .trim()
                        .trim_matches('"')
                        .to_string(),
                ),
                w if w.starts_with("wait ") => {
                    let v = w[5..].trim();
                    let secs = if let Some(n) = v.strip_suffix("ms") {
                        n.trim().parse::<f64>().ok().map(|ms| ms / 1000.0)
                    } else if let Some(n) = v.strip_suffix('s') {
                        n.trim().parse::<f64>().ok()
                    } else {
                        None
                    };
                    // `f64` parsing takes "inf", "nan" and "1e30": only a finite,
                    // non-negative wait of at most MAX_SECONDS becomes nanoseconds.
                    match secs {
                        Some(s) if (0.0..=MAX_SECONDS).contains(&s) => {
                            KeyStep::Wait((s * 1000.0).round() as u64)
                        }
                        _ => {
                            return Err(format!(
                                "--keys: bad wait {tok:?} (use e.g. {{wait 500ms}} or {{wait 2s}}, 0 to {MAX_SECONDS} s)"
                            ))
                        }
                    }
                }
                _ => return Err(format!("--keys: unknown key {{{tok}}}")),
            };
            steps.push(step);
        } else {
            let ch = if c == '\n' { b'\r' } else { c as u32 as u8 };
            if !c.is_ascii()
                || machine::keymap::scancode_for(if ch == b'\r' { b'\n' } else { ch }).is_none()
            {
                return Err(format!("--keys: no key types {c:?}"));
            }
            steps.push(KeyStep::Char(ch));
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(steps)
}

/// Hands one input to the machine.
fn apply_input(pc: &mut Pc, ev: crate::replay::Input) {
    use crate::replay::Input;
    match ev {
        Input::Key { code, ext, down } => pc.key_event(code, ext, down),
        Input::ReleaseKeys => pc.release_keys(),
        Input::Mouse {
            dx,
            dy,
            dz,
            buttons,
        } => pc.mouse_wheel_event(dx, dy, dz, buttons),
        Input::Serial { bytes } => pc.bus.com[0].push_input(&bytes, &mut pc.bus.pic),
        Input::TypeChar { c } => {
            pc.type_char(c);
        }
        Input::KeyBytes { bytes } => {
            for b in bytes {
                pc.key_bytes(&[b]);
            }
        }
        Input::Reset => pc.reset(),
    }
}

/// The configuration a recording is checked against at replay.
fn machine_config(
    args: &RunArgs,
    files: &[(PathBuf, Drive)],
    boot: BootOrder,
) -> crate::replay::MachineConfig {
    let id = |flag: &str, p: &PathBuf| crate::replay::DiskId {
        drive: flag.to_string(),
        path: std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string(),
        size: std::fs::metadata(p).map_or(0, |m| m.len()),
    };
    let mut boot_files = Vec::new();
    if let Some(b) = &args.bios {
        boot_files.push(id("--bios", b));
    }
    if let Some(v) = &args.vga_rom {
        boot_files.push(id("--vga-rom", v));
    }
    if let Some(k) = &args.kernel {
        boot_files.push(id("--kernel", k));
    }
    for i in &args.initrd {
        boot_files.push(id("--initrd", i));
    }
    crate::replay::MachineConfig {
        cpu: args.cpu.clone(),
        memory_mb: args.memory,
        boot: format!("{boot:?}"),
        no_reboot: args.no_reboot,
        disks: files.iter().map(|(p, d)| id(d.flag(), p)).collect(),
        boot_files,
        append: args.append.clone(),
    }
}

/// Runs `n` instructions one at a time, writing a trace line before each, and stops
/// early at virtual time `deadline` (as [`Pc::run_until`] does: pacing and `--replay`
/// rely on it).
fn trace_steps(pc: &mut Pc, out: &mut impl Write, n: u64, deadline: u64) -> Option<Exit> {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    let mut fmt = IntelFormatter::new();
    let mut text = String::new();
    for _ in 0..n {
        if pc.bus.now >= deadline {
            break;
        }
        let bytes = pc.cpu.code_bytes(&mut pc.bus);
        let bits = if pc.cpu.seg[cpu::CS].big() { 32 } else { 16 };
        let ins = Decoder::with_ip(bits, &bytes, pc.cpu.eip as u64, DecoderOptions::NONE).decode();
        text.clear();
        fmt.format(&ins, &mut text);
        let hex: String = bytes
            .iter()
            .take(ins.len().max(1))
            .map(|b| format!("{b:02x}"))
            .collect();
        let r = &pc.cpu.regs;
        let _ = writeln!(
            out,
            "{:04x}:{:08x} {hex:<20} {text:<32} eax={:08x} ecx={:08x} edx={:08x} ebx={:08x} esp={:08x} ebp={:08x} esi={:08x} edi={:08x} fl={:08x}",
            pc.cpu.seg[cpu::CS].selector,
            pc.cpu.eip,
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            pc.cpu.eflags
        );
        if let Some(e) = pc.run_until(1, deadline) {
            return Some(e);
        }
    }
    None
}

/// The longest `--timeout` or `{wait}`: about 31 years, beyond any run, and small enough
/// that it stays far from overflow as nanoseconds in a `u64` (10^18) or as an `Instant`.
const MAX_SECONDS: f64 = 1e9;

/// Checks the flags whose values can be wrong before anything is opened or created, so a
/// mistake costs nothing and is reported in one line.
fn check_args(args: &RunArgs) -> Result<(), String> {
    if let Some(t) = args.timeout {
        // NaN is in no range.
        if !(0.0..=MAX_SECONDS).contains(&t) {
            return Err(format!(
                "--timeout {t}: expected 0 to {MAX_SECONDS} seconds"
            ));
        }
    }
    if args.until.as_deref() == Some("") {
        return Err(
            "--until \"\": expected some text (an empty string would match at once)".into(),
        );
    }
    if args.kernel.is_some() && args.bios.is_some() {
        return Err("--kernel needs the built-in BIOS, which loads it in place of the boot sector; drop --bios".into());
    }
    if let Some(p) = &args.screenshot {
        check_png(p, "--screenshot")?;
    }
    if let Some(r) = &args.rtc {
        parse_rtc(r)?;
    }
    if let Some(k) = &args.keys {
        parse_keys(k)?;
    }
    match args.gdb_spec() {
        Some(spec) => {
            crate::gdb::parse_spec(&spec)?;
        }
        None if args.wait_gdb => {
            return Err("--wait-gdb needs a debugger port: add --gdb tcp::PORT or -s".into())
        }
        None => {}
    }
    Ok(())
}

/// Screenshots are written as PNG only; another extension would give a file its name
/// misdescribes, so it is refused before the run rather than after it.
fn check_png(path: &std::path::Path, what: &str) -> Result<(), String> {
    let png = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if png {
        Ok(())
    } else {
        Err(format!(
            "{what} {}: screenshots are PNG files; name it FILE.png",
            path.display()
        ))
    }
}

/// Refuses a floppy image given as the hard disk to boot. Its boot sector reads the
/// disk with the floppy geometry in its BPB and the drive number the BIOS passes (80h),
/// which a hard disk of that size does not have, so the boot fails in ways that say
/// nothing about why. As a second disk (or with a floppy to boot) it is just data.
fn check_floppy_as_hard_disk(
    path: &std::path::Path,
    len: u64,
    s: &[u8; 512],
) -> Result<(), String> {
    let size = match len {
        368_640 => "360 KB",
        737_280 => "720 KB",
        1_228_800 => "1.2 MB",
        1_474_560 => "1.44 MB",
        2_949_120 => "2.88 MB",
        _ => return Ok(()),
    };
    // A DOS 2+ BPB: a jump, 512 bytes per sector (0Bh), one or two FATs (10h) and a
    // media descriptor F0h–FFh (15h); a partition table would make it a hard disk.
    let fat = matches!(s[0], 0xEB | 0xE9)
        && s[0x0B..0x0D] == [0x00, 0x02]
        && matches!(s[0x10], 1 | 2)
        && s[0x15] >= 0xF0;
    if !fat || machine::is_mbr(s) {
        return Ok(());
    }
    let p = path.display();
    Err(format!(
        "{p} looks like a floppy image ({size} with a FAT boot sector), which does not boot as a hard disk; use --fda {p} or pass it without a flag"
    ))
}

/// Unix time of 1900-01-01T00:00:00 and 9999-12-31T23:59:59 UTC: the years the CMOS
/// clock's BCD century and year bytes (32h, 09h) can show.
const RTC_MIN: i64 = -2_208_988_800;
const RTC_MAX: i64 = 253_402_300_799;

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// `--rtc`: Unix seconds, or `YYYY-MM-DD[THH:MM:SS]` (UTC), years 1900 to 9999.
fn parse_rtc(s: &str) -> Result<i64, String> {
    let range = || format!("--rtc {s:?}: outside the clock's years 1900 to 9999");
    if let Ok(n) = s.parse::<i64>() {
        return if (RTC_MIN..=RTC_MAX).contains(&n) {
            Ok(n)
        } else {
            Err(range())
        };
    }
    let bad = || format!("--rtc {s:?}: expected Unix seconds or YYYY-MM-DD[THH:MM:SS]");
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, "00:00:00"));
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if d.len() != 3
        || t.len() != 3
        || !(1..=12).contains(&d[1])
        || !(0..=23).contains(&t[0])
        || !(0..=59).contains(&t[1])
        || !(0..=60).contains(&t[2])
    {
        return Err(bad());
    }
    if !(1900..=9999).contains(&d[0]) {
        return Err(range());
    }
    let month_days = match d[1] {
        2 if is_leap(d[0]) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=month_days).contains(&d[2]) {
        return Err(format!(
            "--rtc {s:?}: month {} of {} has {month_days} days",
            d[1], d[0]
        ));
    }
    // Days from civil date (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    // 9999-12-31T23:59:60 is the one written time past the end.
    if secs > RTC_MAX {
        return Err(range());
    }
    Ok(secs)
}

/// `--kernel`, `--initrd`, `--append`: reads the files and hands their bytes to the
/// machine's loaders (machine::boot), which check and place them.
fn load_kernel(pc: &mut Pc, kernel: &PathBuf, args: &RunArgs) -> Result<(), String> {
    let ram = args.memory.saturating_mul(1 << 20);
    let bytes = read_boot_file(kernel, "kernel", ram)?;
    let initrds = args
        .initrd
        .iter()
        .map(|p| Ok((p.display().to_string(), read_boot_file(p, "initrd", ram)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let modules: Vec<machine::boot::Module> = initrds
        .iter()
        .map(|(name, b)| machine::boot::Module { name, bytes: b })
        .collect();
    let plan = machine::boot::plan(&bytes, &modules, args.append.as_deref().unwrap_or(""), ram)
        .map_err(|e| format!("{}: {e}", kernel.display()))?;
    pc.set_kernel(plan)
        .map_err(|e| format!("{}: {e}", kernel.display()))
}

/// A kernel or initrd: a regular file (a FIFO or device could block or never end) no
/// larger than the guest's RAM, which could never hold it.
fn read_boot_file(p: &PathBuf, what: &str, ram: u32) -> Result<Vec<u8>, String> {
    let meta =
        std::fs::metadata(p).map_err(|e| format!("cannot read {what} {}: {e}", p.display()))?;
    if !meta.is_file() {
        return Err(format!("{what} {}: not a regular file", p.display()));
    }
    if meta.len() > ram as u64 {
        return Err(format!(
            "{what} {} is {} bytes, more than the guest's {} MB of RAM (--memory)",
            p.display(),
            meta.len(),
            ram >> 20
        ));
    }
    read_file(p, what)
}

/// Reads a firmware image of at most `max` bytes, refusing anything else (a directory,
/// a device, a huge file) before reading it.
fn read_rom(p: &PathBuf, what: &str, max: usize, rule: &str) -> Result<Vec<u8>, String> {
    let meta =
        std::fs::metadata(p).map_err(|e| format!("cannot read {what} {}: {e}", p.display()))?;
    if !meta.is_file() {
        return Err(format!("{what} {}: not a regular file", p.display()));
    }
    if meta.len() > max as u64 {
        return Err(format!(
            "{what} {} is {} bytes; {rule}",
            p.display(),
            meta.len()
        ));
    }
    read_file(p, what)
}

fn read_file(p: &PathBuf, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("cannot read {what} {}: {e}", p.display()))
}

/// The longest stretch of virtual time one slice runs.
const SLICE_NS: u64 = 10_000_000;

/// `--serial stdio` input: chunks (of up to 256 bytes) the reader thread may queue, and
/// the backlog of host bytes past which the session stops taking them. Together they
/// bound what is held for a guest that reads slowly or not at all.
const SERIAL_CHANNEL: usize = 16;
const SERIAL_BACKLOG: usize = 4096;

/// Finds a needle in a byte stream that arrives in pieces, holding only the last
/// `needle.len() - 1` bytes seen, so a match split across two pieces is still found and
/// memory stays bounded however long the stream runs. Matching is on bytes: the needle's
/// UTF-8 against the guest's raw output.
struct StreamMatch {
    needle: Vec<u8>,
    tail: Vec<u8>,
    found: bool,
}

impl StreamMatch {
    fn new(needle: &str) -> StreamMatch {
        StreamMatch {
            needle: needle.as_bytes().to_vec(),
            tail: Vec::new(),
            found: needle.is_empty(),
        }
    }

    fn found(&self) -> bool {
        self.found
    }

    /// Feeds the next piece of the stream; true once the needle has appeared.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        if self.found {
            return true;
        }
        let keep = self.needle.len() - 1;
        // Matches that start in the tail end within its first `keep` new bytes.
        let head = &bytes[..bytes.len().min(keep)];
        let mut joined = std::mem::take(&mut self.tail);
        joined.extend_from_slice(head);
        self.found = contains(&joined, &self.needle) || contains(bytes, &self.needle);
        if bytes.len() >= keep {
            joined.clear();
            joined.extend_from_slice(&bytes[bytes.len() - keep..]);
        } else {
            joined.drain(..joined.len().saturating_sub(keep));
        }
        self.tail = joined;
        self.found
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A matcher for the first `{wait-serial}` among `steps`.
fn next_wait_serial<'a>(mut steps: impl Iterator<Item = &'a KeyStep>) -> Option<StreamMatch> {
    steps.find_map(|k| match k {
        KeyStep::WaitSerial(t) => Some(StreamMatch::new(t)),
        _ => None,
    })
}

/// The text screen, read again only when the VGA's frame version moves (rendering the
/// cells to UTF-8 every slice costs more than the slice's guest code).
#[derive(Default)]
struct ScreenCache {
    version: Option<u64>,
    text: String,
}

impl ScreenCache {
    fn text(&mut self, pc: &mut Pc) -> &str {
        let v = pc.frame_version();
        if self.version != Some(v) {
            self.version = Some(v);
            self.text = pc.screen_text();
        }
        &self.text
    }
}

/// How a run ended, as far as the frontend is concerned.
pub enum Outcome {
    Machine(Exit),
    /// `--replay` reached the point where the recorded run ended.
    ReplayEnd,
    /// `--until` matched.
    Until,
    Timeout,
    /// The user closed the window or pressed the quit shortcut.
    Quit,
    /// SIGINT, SIGTERM or SIGHUP (the signal number): the run ends as an orderly one.
    Signal(usize),
    /// The debugger said `kill`.
    Killed,
}

/// Arms SIGINT, SIGTERM and SIGHUP to end the run at the next slice, through the same
/// orderly end as any other (disks flushed, dumps written). A second one of them while
/// that is pending exits at once (status 128 + its number): every completed guest write
/// is already in the image files, so nothing is lost either way.
fn catch_signals() -> Result<Arc<AtomicUsize>, String> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let caught = Arc::new(AtomicUsize::new(0));
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        let e = |e: std::io::Error| format!("cannot handle signal {sig}: {e}");
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, armed.clone())
            .map_err(e)?;
        signal_hook::flag::register(sig, armed.clone()).map_err(e)?;
        signal_hook::flag::register_usize(sig, caught.clone(), sig as usize).map_err(e)?;
    }
    Ok(caught)
}

fn signal_name(sig: usize) -> &'static str {
    match sig as i32 {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        signal_hook::consts::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// One guest run: the machine plus everything around it that both the headless loop
/// and the window drive the same way — output sinks, the key script, the stop
/// conditions, the files to write back.
pub struct Session {
    pub pc: Pc,
    files: Vec<(PathBuf, Drive)>,
    keys: std::collections::VecDeque<KeyStep>,
    key_ready_at: u64,
    debugcon: Sink,
    serial: Option<Sink>,
    /// Host bytes for COM1's receiver (`--serial stdio`), read by a thread, and those
    /// waiting for room in the UART's FIFO.
    serial_in: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
    serial_pending: std::collections::VecDeque<u8>,
    post: Option<Sink>,
    /// `--bios-log`: firmware debug output (ports 402h/403h).
    bios_log: Option<Sink>,
    until: Option<String>,
    /// `--until` on COM1 and the debug console, and the next `{wait-serial}` on COM1.
    until_console: Option<StreamMatch>,
    wait_serial: Option<StreamMatch>,
    screen: ScreenCache,
    warned_dropped: bool,
    /// Set when `finish` starts; the `--timeout` watchdog reads it.
    finished: std::sync::Arc<std::sync::Mutex<bool>>,
    trace: Option<std::io::BufWriter<std::fs::File>>,
    pub start: Instant,
    deadline: Option<Instant>,
    /// The number of a terminating signal caught, or 0.
    signal: Arc<AtomicUsize>,
    screenshot: Option<PathBuf>,
    screen_text: Option<PathBuf>,
    stats: bool,
    snapshot: bool,
    /// --save-state FILE and --save-state-at N (None: when the run ends).
    save_state: Option<PathBuf>,
    save_state_at: Option<u64>,
    /// `finish` flushed the disks (and reported any failure).
    flushed: bool,
    /// What a connected debugger asked for (`--gdb`): breakpoints, resume mode.
    pub(crate) dbg: crate::gdb::DebugState,
    /// `--record`: where inputs are written, and the first error writing them.
    recorder: Option<crate::replay::Recorder>,
    record_error: Option<String>,
    /// `--replay`: the inputs still to come.
    player: Option<crate::replay::Player>,
}

/// A run that ends without [`Session::finish`] (an error on the way, a failed
/// `{screenshot}`) still makes the guest's writes durable.
impl Drop for Session {
    fn drop(&mut self) {
        if self.flushed {
            return;
        }
        for (floppy, slot, e) in self.pc.flush_disks() {
            errln!(
                "x86: {} {slot}: {e}",
                if floppy { "floppy" } else { "hard disk" }
            );
        }
    }
}

impl Session {
    pub fn new(args: &RunArgs) -> Result<Session, String> {
        check_args(args)?;
        let mut fda = args.fda.clone();
        let mut hda = args.hda.clone();
        if let Some(img) = &args.image {
            let meta = std::fs::metadata(img)
                .map_err(|e| format!("cannot read disk image {}: {e}", img.display()))?;
            // Nothing is read from a FIFO or device (it could block or never end):
            // crate::disk::open refuses it with its message.
            let len = if meta.is_file() { meta.len() } else { 0 };
            // Floppy formats by size, unless the first sector is a partition table.
            let mut first = vec![0u8; 512];
            let mbr = meta.is_file()
                && std::fs::File::open(img)
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut first))
                    .is_ok()
                && machine::is_mbr(&first);
            if machine::floppy_size(len) && !mbr {
                fda = fda.or(Some(img.clone()));
            } else {
                hda = hda.or(Some(img.clone()));
            }
        }
        let player = match &args.replay {
            Some(p) => Some(crate::replay::Player::open(p)?),
            None => None,
        };
        let rtc_epoch = match (&args.rtc, &player) {
            (Some(s), Some(p)) if parse_rtc(s)? != p.header.rtc_epoch => {
                return Err(format!(
                    "recording {} started the RTC at Unix time {}; this run has --rtc {s} (leave --rtc out to use the recorded time)",
                    p.path, p.header.rtc_epoch
                ))
            }
            (_, Some(p)) => p.header.rtc_epoch,
            (Some(s), None) => parse_rtc(s)?,
            (None, None) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        };
        if !(1..=8).contains(&args.scale) {
            return Err(format!("--scale {}: expected 1 to 8", args.scale));
        }
        let any_disk = fda.is_some()
            || args.fdb.is_some()
            || hda.is_some()
            || args.hdb.is_some()
            || args.cdrom.is_some()
            || args.kernel.is_some();
        let bios = match &args.bios {
            Some(p) => Some(read_rom(
                p,
                "BIOS image",
                machine::BIOS_MAX,
                "it must be a multiple of 64 KB up to 2 MB",
            )?),
            None => None,
        };
        let vga_rom = match &args.vga_rom {
            Some(p) => {
                let r = read_rom(
                    p,
                    "VGA BIOS image",
                    machine::OPTION_ROM_MAX,
                    "it must be 512 bytes to 128 KB",
                )?;
                machine::check_option_rom(&r).map_err(|e| format!("{}: {e}", p.display()))?;
                Some(r)
            }
            None => None,
        };
        let mut pc = Pc::new(Config {
            vga_rom,
            // clap admits only the model names (and `help`, handled before).
            cpu: machine::CpuModel::from_name(&args.cpu).unwrap_or_default(),
            memory_mb: args.memory,
            bios,
            no_reboot: args.no_reboot,
            ips: machine::DEFAULT_IPS,
            rtc_epoch,
        })
        .map_err(|e| match &args.bios {
            Some(p) => format!("{}: {e}", p.display()),
            None => e,
        })?;
        if let Some(k) = &args.kernel {
            load_kernel(&mut pc, k, args)?;
        }
        let mut files: Vec<(PathBuf, Drive)> = Vec::new();
        let mut seen: Vec<((u64, u64), Drive)> = Vec::new();
        let drives = [
            (&fda, Drive::Floppy(0)),
            (&args.fdb, Drive::Floppy(1)),
            (&hda, Drive::Hard(0)),
            (&args.hdb, Drive::Hard(1)),
            (&args.cdrom, Drive::Cdrom),
        ];
        for (p, drive) in drives {
            let Some(p) = p else { continue };
            // The same file under two flags (or a link to it) is caught before it is
            // opened: a second open would only meet this run's own lock.
            let id = std::fs::metadata(p).ok().map(|m| {
                use std::os::unix::fs::MetadataExt;
                (m.dev(), m.ino())
            });
            if let Some(id) = id {
                if let Some((_, other)) = seen.iter().find(|(i, _)| *i == id) {
                    return Err(format!(
                        "{} is given twice ({} and {}); a disk can be in one drive only",
                        p.display(),
                        other.flag(),
                        drive.flag()
                    ));
                }
                seen.push((id, drive));
            }
            let d = crate::disk::open(p, drive, args.snapshot)?;
            match drive {
                Drive::Floppy(i) => pc.attach_floppy(i, Box::new(d)),
                Drive::Hard(i) => pc.attach_hard_disk(i, Box::new(d)),
                Drive::Cdrom => pc.attach_cdrom(1, 0, Box::new(d)),
            }
            .map_err(|e| format!("{}: {e}", p.display()))?;
            files.push((p.clone(), drive));
        }
        // No disk and no BIOS image: boot the built-in demo floppy.
        let demo = !any_disk && args.bios.is_none();
        if demo {
            pc.attach_floppy(0, Box::new(machine::MemDisk::new(test_roms::demo_floppy())))?;
        }
        pc.boot_order = match args.boot.as_deref() {
            Some("a") | Some("A") => BootOrder::Floppy,
            Some("c") | Some("C") => BootOrder::HardDisk,
            Some("d") | Some("D") => BootOrder::CdRom,
            Some(other) => {
                return Err(format!(
                    "--boot {other}: expected a (floppy), c (hard disk) or d (CD-ROM)"
                ))
            }
            None if fda.is_some() || demo => BootOrder::Floppy,
            None if hda.is_none() && args.cdrom.is_some() => BootOrder::CdRom,
            None => BootOrder::HardDisk,
        };
        // Into CMOS 3Dh/38h as well, for a --bios image that reads the order there.
        pc.set_boot_order(pc.boot_order);
        // CMOS and fw_cfg as the drives and the boot order now are.
        pc.prepare_firmware();
        if args.boot.is_some() && pc.boot_order == BootOrder::CdRom && args.cdrom.is_none() {
            return Err("--boot d: no CD-ROM image (add --cdrom FILE.iso)".into());
        }
        if pc.boot_order == BootOrder::HardDisk
            || (fda.is_none() && pc.boot_order != BootOrder::CdRom)
        {
            let mut first = [0u8; 512];
            if let (Some(p), Ok(())) = (&hda, pc.bus.ide[0].read_sectors(0, 0, &mut first)) {
                check_floppy_as_hard_disk(p, pc.bus.ide[0].sectors(0) * 512, &first)?;
            }
        }
        if let Some(p) = &args.load_state {
            let bytes = read_file(p, "machine state")?;
            pc.load_state(&bytes)
                .map_err(|e| format!("{}: {e}", p.display()))?;
        }
        let keys: std::collections::VecDeque<KeyStep> = match &args.keys {
            Some(s) => parse_keys(s)?.into(),
            None => Default::default(),
        };
        let debugcon = Sink::open(&args.debugcon, "debugcon")?;
        let serial = match args.serial.as_str() {
            "none" => None,
            s => Some(Sink::open(s, "serial")?),
        };
        let config = machine_config(args, &files, pc.boot_order);
        if let Some(p) = &player {
            p.check_config(&config)?;
        }
        let recorder = match &args.record {
            Some(path) => Some(crate::replay::Recorder::create(
                path,
                &crate::replay::Header {
                    format: crate::replay::FORMAT.into(),
                    version: crate::replay::VERSION,
                    emulator: env!("CARGO_PKG_VERSION").into(),
                    config,
                    rtc_epoch,
                },
            )?),
            None => None,
        };
        // A replay takes COM1's input from the recording, not from stdin.
        let serial_in = (args.serial == "stdio" && player.is_none()).then(|| {
            // Bounded: a reader ahead of the guest blocks instead of buffering stdin.
            let (tx, rx) = std::sync::mpsc::sync_channel(SERIAL_CHANNEL);
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                let mut stdin = std::io::stdin();
                while let Ok(n) = std::io::Read::read(&mut stdin, &mut buf) {
                    if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
            rx
        });
        let post = match &args.post {
            Some(s) => Some(Sink::open(s, "POST")?),
            None => None,
        };
        let bios_log = match &args.bios_log {
            Some(s) => Some(Sink::open(s, "BIOS log")?),
            None => None,
        };
        let trace = match &args.trace {
            Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p).map_err(
                |e| format!("cannot create trace file {}: {e}", p.display()),
            )?)),
            None => None,
        };
        let signal = catch_signals()?;
        let start = Instant::now();
        Ok(Session {
            signal,
            pc,
            files,
            wait_serial: next_wait_serial(keys.iter()),
            keys,
            key_ready_at: 0,
            debugcon,
            serial,
            serial_in,
            serial_pending: Default::default(),
            post,
            bios_log,
            until: args.until.clone(),
            until_console: args.until.as_deref().map(StreamMatch::new),
            screen: ScreenCache::default(),
            warned_dropped: false,
            finished: Default::default(),
            trace,
            start,
            deadline: args.timeout.map(|t| start + Duration::from_secs_f64(t)),
            screenshot: args.screenshot.clone(),
            screen_text: args.screen_text.clone(),
            stats: args.stats,
            snapshot: args.snapshot,
            save_state: args.save_state.clone(),
            save_state_at: args.save_state_at,
            flushed: false,
            dbg: Default::default(),
            recorder,
            record_error: None,
            player,
        })
    }

    /// Whether inputs come from a recording (host input is then ignored).
    pub fn replaying(&self) -> bool {
        self.player.is_some()
    }

    /// The one path by which a non-deterministic input reaches the machine: applied,
    /// and written down under `--record`. During `--replay` host input is dropped here
    /// (the recording supplies the inputs).
    pub fn input(&mut self, ev: crate::replay::Input) {
        if self.player.is_some() {
            return;
        }
        if let Some(r) = self.recorder.as_mut() {
            let line = crate::replay::Line {
                i: self.pc.instructions(),
                t: self.pc.bus.now,
                sum: crate::replay::cpu_sum(&self.pc),
                input: Some(ev.clone()),
                end: None,
            };
            if let Err(e) = r.write(&line) {
                self.record_error.get_or_insert(e);
            }
        }
        apply_input(&mut self.pc, ev);
    }

    /// `--replay`: applies the recorded inputs due at this exact instruction count and
    /// virtual time, then limits the next slice so it stops at the next one. Returns
    /// the run's end once the recorded end is reached.
    fn replay_step(
        &mut self,
        budget: &mut u64,
        until_ns: &mut u64,
    ) -> Result<Option<Outcome>, String> {
        let Some(p) = self.player.as_mut() else {
            return Ok(None);
        };
        let (i, t) = (self.pc.instructions(), self.pc.bus.now);
        while let Some(l) = p.lines.front() {
            if (l.i, l.t) != (i, t) {
                break;
            }
            let sum = crate::replay::cpu_sum(&self.pc);
            if sum != l.sum {
                return Err(format!(
                    "replay diverged at instruction {i} (virtual time {t} ns): CPU register checksum {sum:08x}, the recording has {:08x}",
                    l.sum
                ));
            }
            let l = p.lines.pop_front().unwrap_or_else(|| unreachable!());
            match (l.input, l.end) {
                (Some(ev), _) => apply_input(&mut self.pc, ev),
                (None, Some(crate::replay::End::Outside)) => return Ok(Some(Outcome::ReplayEnd)),
                // The recorded run ended by the guest's own doing here; this one runs on
                // into that same end.
                (None, _) => {}
            }
        }
        let Some(next) = p.lines.front() else {
            return Ok(None);
        };
        if i > next.i || t > next.t {
            return Err(format!(
                "replay diverged: the guest is at instruction {i} (virtual time {t} ns), past the recorded {} at instruction {} ({} ns)",
                next.what(),
                next.i,
                next.t
            ));
        }
        // A guest at the right count but early in time is halted: run on (one
        // instruction at most, which would be a divergence) until the idle time passes.
        *budget = if i < next.i {
            (*budget).min(next.i - i)
        } else {
            1
        };
        *until_ns = (*until_ns).min(next.t);
        Ok(None)
    }

    /// `--replay`: the machine stopped by itself; the recorded run must have too, here.
    fn replay_check_exit(&mut self, e: &Exit) -> Result<(), String> {
        let Some(p) = self.player.as_mut() else {
            return Ok(());
        };
        let (i, t) = (self.pc.instructions(), self.pc.bus.now);
        match p.lines.front() {
            Some(l) if l.end == Some(crate::replay::End::Machine) && (l.i, l.t) == (i, t) => {
                Ok(())
            }
            Some(l) => Err(format!(
                "replay diverged: the run ended ({e:?}) at instruction {i} (virtual time {t} ns), before the recorded {} at instruction {} ({} ns)",
                l.what(),
                l.i,
                l.t
            )),
            None => Ok(()),
        }
    }

    /// Runs at most `budget` instructions, stopping early once virtual time reaches
    /// `until_ns`, then handles the output, the key script and the stop conditions.
    pub fn slice(&mut self, budget: u64, until_ns: u64) -> Result<Option<Outcome>, String> {
        // At most 10 ms of virtual time per slice as well: a halted guest skips idle
        // time, and a key script must still see every step of it.
        let mut until_ns = until_ns.min(self.pc.bus.now + SLICE_NS);
        // --save-state-at N: the slice ends at instruction N exactly.
        let mut budget = match self.save_state_at {
            Some(n) if self.pc.instructions() < n => budget.min(n - self.pc.instructions()),
            _ => budget,
        };
        if let Some(o) = self.replay_step(&mut budget, &mut until_ns)? {
            return Ok(Some(o));
        }
        let r = match self.trace.as_mut() {
            Some(t) => trace_steps(&mut self.pc, t, budget, until_ns),
            None => self.pc.run_until(budget, until_ns),
        };
        let pc = &mut self.pc;
        // Output streams to its sink every slice; the machine bounds what one slice can
        // hold (machine::OUTPUT_HIGH), and the matchers keep only a needle-sized tail.
        if !pc.bus.debugcon.is_empty() {
            let out = std::mem::take(&mut pc.bus.debugcon);
            if let Some(m) = self.until_console.as_mut() {
                m.feed(&out);
            }
            self.debugcon.write(&out);
        }
        let fw = std::mem::take(&mut pc.bus.firmware_log);
        if let Some(s) = self.bios_log.as_mut() {
            s.write(&fw);
        }
        let ser = pc.bus.com[0].take_output();
        if !ser.is_empty() {
            if let Some(m) = self.wait_serial.as_mut() {
                m.feed(&ser);
            }
            if let Some(m) = self.until_console.as_mut() {
                m.feed(&ser);
            }
            if let Some(s) = self.serial.as_mut() {
                s.write(&ser);
            }
        }
        // COM2 has no host side: what the guest sends there is gone, as on an
        // unconnected port.
        drop(pc.bus.com[1].take_output());
        if !self.warned_dropped && pc.bus.output_dropped + pc.bus.com[0].out_dropped > 0 {
            self.warned_dropped = true;
            log::warn!(target: "machine", "guest output dropped: one instruction wrote more than {} bytes", machine::OUTPUT_MAX);
        }
        if let Some(rx) = &self.serial_in {
            // Take host bytes only while the backlog is small: the reader thread then
            // blocks on its bounded channel, and stdin is read as fast as the guest
            // empties the FIFO, whatever is piped in.
            while self.serial_pending.len() < SERIAL_BACKLOG {
                let Ok(bytes) = rx.try_recv() else { break };
                // A terminal sends LF for Enter; a serial console expects CR.
                self.serial_pending
                    .extend(bytes.iter().map(|&b| if b == b'\n' { b'\r' } else { b }));
            }
            let room = pc.bus.com[0].rx_free().min(self.serial_pending.len());
            if room > 0 {
                let bytes: Vec<u8> = self.serial_pending.drain(..room).collect();
                self.input(crate::replay::Input::Serial { bytes });
            }
        }
        let pc = &mut self.pc;
        let codes = std::mem::take(&mut pc.bus.post);
        if let Some(p) = self.post.as_mut() {
            for c in codes {
                p.write(format!("POST {c:02X}\n").as_bytes());
            }
        }
        if let Some(e) = r {
            self.replay_check_exit(&e)?;
            return Ok(Some(Outcome::Machine(e)));
        }
        if self.save_state_at.is_some_and(|n| pc.instructions() >= n) {
            self.save_state_at = None;
            if let Some(p) = self.save_state.take() {
                self.save_state_to(&p)?;
            }
        }
        let pc = &mut self.pc;
        if let Some(text) = &self.until {
            let console = self.until_console.as_ref().is_some_and(|m| m.found());
            if console || self.screen.text(pc).contains(text.as_str()) {
                return Ok(Some(Outcome::Until));
            }
        }
        if self.key_script()? {
            return Ok(Some(Outcome::Until));
        }
        Ok(self.stop_from_outside())
    }

    /// `--timeout` expired or a terminating signal arrived: what ends even a paused run.
    pub fn stop_from_outside(&self) -> Option<Outcome> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Outcome::Timeout);
        }
        match self.signal.load(Ordering::Relaxed) {
            0 => None,
            sig => Some(Outcome::Signal(sig)),
        }
    }

    /// Advances the `--keys` script by at most one step; true when it says `{quit}`.
    fn key_script(&mut self) -> Result<bool, String> {
        if self.pc.bus.now < self.key_ready_at {
            return Ok(false);
        }
        // Typed keys go through `input`: when the script reaches a key depends on where
        // slices end, which real-time pacing decides.
        match self.keys.front() {
            Some(KeyStep::Char(c)) => {
                let c = if *c == b'\r' { b'\n' } else { *c };
                self.input(crate::replay::Input::TypeChar { c });
                self.key_ready_at = self.pc.bus.now + 20_000_000;
            }
            Some(KeyStep::Keys(bytes)) => {
                let bytes = bytes.clone();
                self.input(crate::replay::Input::KeyBytes { bytes });
                self.key_ready_at = self.pc.bus.now + 20_000_000;
            }
            Some(KeyStep::WaitSerial(_))
                if self.wait_serial.as_ref().is_some_and(|m| m.found()) =>
            {
                // The next {wait-serial} watches the output from here on.
                self.wait_serial = next_wait_serial(self.keys.iter().skip(1));
            }
            Some(KeyStep::Wait(ms)) => self.key_ready_at = self.pc.bus.now + ms * 1_000_000,
            Some(KeyStep::WaitScreen(t)) => {
                if !self.screen.text(&mut self.pc).contains(t.as_str()) {
                    return Ok(false);
                }
            }
            Some(KeyStep::Quit) => return Ok(true),
            Some(KeyStep::Screenshot(path)) => {
                let path = PathBuf::from(path);
                self.save_screenshot(&path)?;
            }
            Some(KeyStep::Save(path)) => {
                let path = PathBuf::from(path);
                self.save_state_to(&path)?;
            }
            Some(KeyStep::WaitSerial(_)) | None => return Ok(false),
        }
        self.keys.pop_front();
        Ok(false)
    }

    /// Writes the machine state to `path` (see `machine::snapshot`).
    pub fn save_state_to(&mut self, path: &std::path::Path) -> Result<(), String> {
        let bytes = self.pc.save_state()?;
        std::fs::write(path, bytes)
            .map_err(|e| format!("cannot write machine state {}: {e}", path.display()))
    }

    /// Writes the rendered frame, shaped as a monitor shows it, to a PNG file.
    pub fn save_screenshot(&mut self, path: &std::path::Path) -> Result<(), String> {
        let (pixels, w, h) = crate::frame::display_frame(&mut self.pc);
        crate::frame::write_png(path, &pixels, w, h)
    }

    /// Disks first, then stats and dumps at the end of a run; returns the exit status.
    pub fn finish(mut self, outcome: Outcome) -> Result<u8, String> {
        // From here on the run is over: the watchdog must not cut write-back short.
        *self.finished.lock().unwrap_or_else(|e| e.into_inner()) = true;
        let elapsed = self.start.elapsed().as_secs_f64();
        // The guest's writes are already in the image files; make them durable before
        // anything else can fail. Each disk is flushed whatever happens to the others.
        let failed = self.pc.flush_disks();
        self.flushed = true;
        for (floppy, slot, e) in &failed {
            let drive = if *floppy {
                Drive::Floppy(*slot)
            } else {
                Drive::Hard(*slot)
            };
            let name = self
                .files
                .iter()
                .find(|(_, d)| *d == drive)
                .map_or(drive.flag().to_string(), |(p, _)| p.display().to_string());
            errln!("x86: {name}: {e}");
        }
        if let Some(r) = self.recorder.as_mut() {
            let end = match outcome {
                Outcome::Machine(_) => crate::replay::End::Machine,
                _ => crate::replay::End::Outside,
            };
            let line = crate::replay::Line {
                i: self.pc.instructions(),
                t: self.pc.bus.now,
                sum: crate::replay::cpu_sum(&self.pc),
                input: None,
                end: Some(end),
            };
            if let Err(e) = r.write(&line).and_then(|_| r.finish()) {
                self.record_error.get_or_insert(e);
            }
        }
        let pc = &mut self.pc;
        if self.stats {
            let n = pc.instructions();
            errln!(
                "instructions: {n}, wall time: {elapsed:.3} s, virtual time: {:.3} s, {:.1} MIPS",
                pc.bus.now as f64 / 1e9,
                n as f64 / elapsed.max(1e-9) / 1e6
            );
            errln!("state hash: {:016x}", pc.state_hash()?);
        }
        if let Some(p) = self.save_state.take() {
            self.save_state_to(&p)?;
        }
        let pc = &mut self.pc;
        if let Some(p) = &self.screen_text {
            std::fs::write(p, pc.screen_text())
                .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        }
        if let Some(p) = self.screenshot.clone() {
            self.save_screenshot(&p)?;
        }
        if !failed.is_empty() {
            return Err("not every disk could be saved (see above)".into());
        }
        if let Some(e) = self.record_error.take() {
            return Err(e);
        }
        let pc = &mut self.pc;
        let last_post = pc
            .bus
            .last_post
            .map_or("none".to_string(), |c| format!("{c:#04x}"));
        let cs_eip = format!("{:04x}:{:08x}", pc.cpu.seg[cpu::CS].selector, pc.cpu.eip);
        Ok(match outcome {
            Outcome::Machine(Exit::DebugExit(v)) => ((v << 1) | 1) as u8,
            Outcome::Machine(Exit::Shutdown) | Outcome::Until | Outcome::Quit => EXIT_OK,
            Outcome::ReplayEnd => {
                errln!(
                    "x86: replay complete at instruction {} (virtual time {} ns)",
                    self.pc.instructions(),
                    self.pc.bus.now
                );
                EXIT_OK
            }
            Outcome::Killed => {
                errln!("x86: ended by the debugger (kill)");
                EXIT_OK
            }
            Outcome::Machine(Exit::PowerOff) => {
                errln!("x86: guest powered off (ACPI S5)");
                EXIT_OK
            }
            Outcome::Machine(Exit::Halted) => {
                errln!("x86: guest halted at {cs_eip} with nothing to wake it; last POST code {last_post}");
                EXIT_OK
            }
            Outcome::Machine(Exit::NoBootDevice) => {
                let disks: Vec<String> = self
                    .files
                    .iter()
                    .map(|(p, _)| p.display().to_string())
                    .collect();
                errln!(
                    "x86: not bootable: {} (no 55AAh boot signature at the end of the first sector)",
                    if disks.is_empty() { "no disk attached".to_string() } else { disks.join(", ") }
                );
                EXIT_USAGE
            }
            Outcome::Machine(Exit::TripleFault) => {
                errln!("x86: triple fault at {cs_eip}; last POST code {last_post}");
                EXIT_TRIPLE_FAULT
            }
            Outcome::Timeout => {
                errln!("x86: timeout after {elapsed:.1} s; last POST code {last_post}");
                EXIT_TIMEOUT
            }
            Outcome::Signal(sig) => {
                errln!(
                    "x86: stopped by {} after {elapsed:.1} s; {}",
                    signal_name(sig),
                    if self.snapshot {
                        "guest writes discarded (--snapshot)"
                    } else {
                        "disks saved"
                    }
                );
                (128 + sig) as u8
            }
        })
    }
}

/// How long past `--timeout` a run that is still inside the guest may last.
const WATCHDOG_GRACE: Duration = Duration::from_millis(500);

/// `--timeout` is checked between slices. REP iterations count against the slice's
/// budget and host-side BIOS work is charged virtual time, so a slice is short; but
/// should some host-side step still outlast the deadline, the watchdog ends the process
/// with the timeout status `WATCHDOG_GRACE` after it, so `--timeout` holds whatever the
/// guest does. Nothing is lost: every completed disk write is already in its image
/// file. It never fires once `finish` has started (the disks are being flushed).
fn start_watchdog(deadline: Instant, finished: std::sync::Arc<std::sync::Mutex<bool>>) {
    std::thread::spawn(move || loop {
        let now = Instant::now();
        let fire = deadline + WATCHDOG_GRACE;
        if now >= fire {
            // Held while exiting, so `finish` cannot start in between.
            let done = finished.lock().unwrap_or_else(|e| e.into_inner());
            if !*done {
                errln!(
                    "x86: timeout: the guest was still inside one long step {:.1} s after the deadline",
                    WATCHDOG_GRACE.as_secs_f64(),
                );
                std::process::exit(EXIT_TIMEOUT as i32);
            }
            return;
        }
        if *finished.lock().unwrap_or_else(|e| e.into_inner()) {
            return;
        }
        std::thread::sleep((fire - now).min(Duration::from_millis(100)));
    });
}

/// `--cpu` accepts the model names and `help`.
fn cpu_names() -> clap::builder::PossibleValuesParser {
    let names = machine::CpuModel::ALL.map(|m| m.name());
    clap::builder::PossibleValuesParser::new(names.into_iter().chain(["help"]))
}

/// The `--cpu help` text: one line per model.
pub fn cpu_help() -> String {
    let mut s = String::from("CPU models (--cpu NAME):\n");
    for m in machine::CpuModel::ALL {
        let i = m.info();
        let default = if m == machine::CpuModel::default() {
            " [default]"
        } else {
            ""
        };
        s += &format!(
            "  {:<12} {:<26} CPUID {:04X}h (family {} model {} stepping {}), EDX {:08X}h: {}{default}\n",
            i.name,
            i.about,
            i.signature,
            i.signature >> 8 & 0xF,
            i.signature >> 4 & 0xF,
            i.signature & 0xF,
            i.features,
            m.flag_names().join(" "),
        );
    }
    s += "Flags a real part has but this CPU does not implement are left out; an instruction\n\
          of an extension a model does not report (MMX, FXSR, SSE, SSE2, CMOV, …) is #UD.\n";
    s
}

pub fn run(args: RunArgs) -> Result<u8, String> {
    if args.cpu == "help" {
        use std::io::Write as _;
        let _ = std::io::stdout().write_all(cpu_help().as_bytes());
        return Ok(EXIT_OK);
    }
    let mut s = Session::new(&args)?;
    // Listening comes after every other check, so a bad flag never leaves a port open.
    let mut gdb = match args.gdb_spec() {
        Some(spec) => {
            let g = crate::gdb::Gdb::listen(&spec, args.wait_gdb)?;
            if args.wait_gdb {
                errln!(
                    "x86: waiting for GDB on {} (target remote {})",
                    g.addr,
                    g.addr
                );
            } else {
                log::info!(target: "gdb", "GDB stub listening on {}", g.addr);
            }
            Some(g)
        }
        None => None,
    };
    if let Some(d) = s.deadline {
        start_watchdog(d, s.finished.clone());
    }
    if !args.headless {
        return crate::window::run(s, &args, gdb);
    }
    // Slices of 100,000 instructions (1 ms at the default clock, at most 10 ms of virtual
    // time) keep key scripts and --until responsive without costing throughput.
    let realtime = args.pace.as_deref() == Some("realtime");
    let mut pacer = crate::pace::Pacer::new(realtime);
    loop {
        let budget = match gdb.as_mut() {
            None => 100_000,
            Some(g) => match g.poll(&mut s, Duration::from_millis(10)) {
                crate::gdb::Next::Run(n) => n,
                crate::gdb::Next::Kill => return s.finish(Outcome::Killed),
                crate::gdb::Next::Stopped => {
                    // Stopped in the debugger: only --timeout and signals end the run,
                    // and the guest's clock does not race to catch up afterwards.
                    if let Some(o) = s.stop_from_outside() {
                        g.ended(&mut s);
                        return s.finish(o);
                    }
                    pacer.resync(&s.pc);
                    continue;
                }
            },
        };
        let until = pacer.target(&s.pc);
        let r = s.slice(budget, until)?;
        if let Some(g) = gdb.as_mut() {
            g.after_slice(&mut s);
            if r.is_some() {
                g.ended(&mut s);
            }
        }
        if let Some(o) = r {
            return s.finish(o);
        }
        pacer.wait(&s.pc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_script_parses_text_keys_and_waits() {
        let s = parse_keys("dir{enter}{wait 500ms}{F1}{wait-screen \"C:\\>\"}").unwrap();
        assert_eq!(
            s,
            vec![
                KeyStep::Char(b'd'),
                KeyStep::Char(b'i'),
                KeyStep::Char(b'r'),
                KeyStep::Char(b'\r'),
                KeyStep::Wait(500),
                KeyStep::Keys(vec![0x3B, 0xBB]),
                KeyStep::WaitScreen("C:\\>".into()),
            ]
        );
        assert!(parse_keys("{nosuchkey}").is_err());
        // Ctrl+C: Ctrl make, C make, C break, Ctrl break (set 1: 1D 2E AE 9D).
        assert_eq!(
            parse_keys("{ctrl+c}").unwrap(),
            vec![KeyStep::Keys(vec![0x1D, 0x2E, 0xAE, 0x9D])]
        );
        // Up arrow is E0 48 / E0 C8.
        assert_eq!(
            parse_keys("{up}").unwrap(),
            vec![KeyStep::Keys(vec![0xE0, 0x48, 0xE0, 0xC8])]
        );
        assert_eq!(
            parse_keys("{wait-serial \"login:\"}").unwrap(),
            vec![KeyStep::WaitSerial("login:".into())]
        );
        assert_eq!(
            parse_keys("{screenshot \"a b.png\"}").unwrap(),
            vec![KeyStep::Screenshot("a b.png".into())]
        );
        assert!(parse_keys("{hyper+x}").is_err());
        assert!(parse_keys("{wait 5}").is_err());
    }

    #[test]
    fn stream_match_finds_text_split_across_pieces_with_a_bounded_tail() {
        let mut m = StreamMatch::new("A:\\>");
        assert!(!m.feed(b"FreeDOS ... A:"));
        assert_eq!(m.tail, b" A:", "the last needle.len() - 1 bytes");
        assert!(m.feed(b"\\> "), "split after 'A:'");
        let mut m = StreamMatch::new("login:");
        for piece in [&b"log"[..], b"", b"i", b"n", b":"] {
            m.feed(piece);
        }
        assert!(m.found(), "split over five pieces, one empty");
        // Megabytes of other output keep the tail at needle length - 1.
        let mut m = StreamMatch::new("NEVERSEEN");
        for _ in 0..1000 {
            assert!(!m.feed(&[b'y'; 4096]));
            assert!(m.tail.len() <= 8);
        }
        assert!(!m.feed(b"NEVERSEE"));
        assert!(m.feed(b"N"));
        // A near miss straddling the boundary is not a match.
        let mut m = StreamMatch::new("abc");
        assert!(!m.feed(b"xab"));
        assert!(!m.feed(b"xc"));
        assert!(StreamMatch::new("").found());
    }

    #[test]
    fn rtc_dates() {
        // 2000-02-29 00:00:00 UTC is Unix time 951782400.
        assert_eq!(parse_rtc("2000-02-29T00:00:00"), Ok(951_782_400));
        assert_eq!(parse_rtc("1970-01-01T00:00:00"), Ok(0));
        assert_eq!(parse_rtc("12345"), Ok(12345));
        assert!(parse_rtc("2000-13-01T00:00:00").is_err());
        // The day count itself, in the full form: no February 29th in 2023, no 30th.
        assert!(parse_rtc("2023-02-29T00:00:00").is_err());
        assert!(parse_rtc("2024-02-29T00:00:00").is_ok());
        assert!(parse_rtc("2026-02-30T00:00:00").is_err());
        assert!(parse_rtc("2026-04-31T12:00:00").is_err());
        // A date alone is midnight.
        assert_eq!(parse_rtc("2000-02-29"), Ok(951_782_400));
        assert!(parse_rtc("2000-01-01T-1:00:00").is_err());
    }

    #[test]
    fn rtc_range_is_years_1900_to_9999() {
        // 1900-01-01 is 25 567 days before 1970-01-01 (70 years, 17 leap days):
        // -2 208 988 800 s. 9999-12-31T23:59:59 is Unix time 253 402 300 799.
        assert_eq!(parse_rtc("1900-01-01T00:00:00"), Ok(-2_208_988_800));
        assert_eq!(parse_rtc("9999-12-31T23:59:59"), Ok(253_402_300_799));
        assert_eq!(parse_rtc("-2208988800"), Ok(-2_208_988_800));
        assert!(parse_rtc("-2208988801").is_err());
        assert!(parse_rtc("253402300800").is_err());
        assert!(parse_rtc("9999-12-31T23:59:60").is_err());
        assert!(parse_rtc("1899-12-31T23:59:59").is_err());
    }

    #[test]
    fn rtc_days_per_month() {
        for (date, ok) in [
            ("2024-02-29", true),
            ("2023-02-29", false),
            ("1900-02-29", false),
            ("2000-02-29", true),
            ("2026-02-30", false),
            ("2026-01-31", true),
            ("2026-04-31", false),
            ("2026-06-30", true),
            ("2026-09-31", false),
            ("2026-11-31", false),
            ("2026-12-31", true),
            ("2026-12-00", false),
        ] {
            assert_eq!(parse_rtc(date).is_ok(), ok, "{date}");
        }
    }

    #[test]
    fn waits_are_finite_and_bounded() {
        assert_eq!(parse_keys("{wait 2s}").unwrap(), vec![KeyStep::Wait(2000)]);
        assert_eq!(
            parse_keys("{wait 1.5s}").unwrap(),
            vec![KeyStep::Wait(1500)]
        );
        assert_eq!(parse_keys("{wait 0ms}").unwrap(), vec![KeyStep::Wait(0)]);
        for bad in [
            "{wait 1e30s}",
            "{wait infs}",
            "{wait -1s}",
            "{wait nans}",
            "{wait -5ms}",
            "{wait 1e13ms}",
        ] {
            assert!(parse_keys(bad).is_err(), "{bad}");
        }
    }
}
