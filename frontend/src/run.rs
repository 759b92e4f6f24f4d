//! `x86 run`: boots a guest headless. Today that is a system-BIOS image (`--bios`) or,
//! with no arguments, the built-in demo guest from `test-roms`; disk images arrive with
//! the PC platform (floppy/IDE and the built-in BIOS).

use machine::{Config, Exit, Pc};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Exit statuses of `x86 run` (the README's table).
pub const EXIT_OK: u8 = 0;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_TRIPLE_FAULT: u8 = 4;
pub const EXIT_TIMEOUT: u8 = 124;

pub struct RunArgs {
    pub image: Option<PathBuf>,
    pub bios: Option<PathBuf>,
    pub debugcon: String,
    pub post: Option<String>,
    pub timeout: Option<f64>,
    pub no_reboot: bool,
    pub memory: u32,
    pub stats: bool,
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

pub fn run(args: RunArgs) -> Result<u8, String> {
    if let Some(img) = &args.image {
        return Err(format!(
            "cannot boot {}: disk images need the floppy/IDE platform and built-in BIOS, which are not implemented yet (use --bios ROM, or no image for the built-in demo)",
            img.display()
        ));
    }
    let bios = match &args.bios {
        Some(p) => {
            std::fs::read(p).map_err(|e| format!("cannot read BIOS image {}: {e}", p.display()))?
        }
        None => test_roms::demo(),
    };
    let mut pc = Pc::new(Config {
        memory_mb: args.memory,
        bios,
        no_reboot: args.no_reboot,
        ips: machine::DEFAULT_IPS,
    })
    .map_err(|e| match &args.bios {
        Some(p) => format!("{}: {e}", p.display()),
        None => e,
    })?;
    let mut debugcon = Sink::open(&args.debugcon, "debugcon")?;
    let mut post = match &args.post {
        Some(s) => Some(Sink::open(s, "POST")?),
        None => None,
    };
    let start = Instant::now();
    let deadline = args
        .timeout
        .map(|t| start + Duration::from_secs_f64(t.max(0.0)));
    let outcome = loop {
        let r = pc.run(1_000_000);
        if !pc.bus.debugcon.is_empty() {
            debugcon.write(&std::mem::take(&mut pc.bus.debugcon));
        }
        let codes = std::mem::take(&mut pc.bus.post);
        if let Some(p) = post.as_mut() {
            for c in codes {
                p.write(format!("POST {c:02X}\n").as_bytes());
            }
        }
        if let Some(e) = r {
            break Some(e);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break None;
        }
    };
    let elapsed = start.elapsed().as_secs_f64();
    if args.stats {
        let n = pc.instructions();
        eprintln!(
            "instructions: {n}, wall time: {elapsed:.3} s, {:.1} MIPS",
            n as f64 / elapsed.max(1e-9) / 1e6
        );
    }
    let last_post = pc
        .bus
        .last_post
        .map_or("none".to_string(), |c| format!("{c:#04x}"));
    Ok(match outcome {
        Some(Exit::DebugExit(v)) => ((v << 1) | 1) as u8,
        Some(Exit::Shutdown) => EXIT_OK,
        Some(Exit::Halted) => {
            eprintln!("x86: guest halted at {:04x}:{:08x} with nothing to wake it; last POST code {last_post}", pc.cpu.seg[cpu::CS].selector, pc.cpu.eip);
            EXIT_OK
        }
        Some(Exit::TripleFault) => {
            eprintln!(
                "x86: triple fault at {:04x}:{:08x}; last POST code {last_post}",
                pc.cpu.seg[cpu::CS].selector,
                pc.cpu.eip
            );
            EXIT_TRIPLE_FAULT
        }
        None => {
            eprintln!("x86: timeout after {elapsed:.1} s; last POST code {last_post}");
            EXIT_TIMEOUT
        }
    })
}
