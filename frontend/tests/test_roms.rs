//! The project's own protected-mode test ROMs (`test-roms/asm/*.asm`, NASM source; shared
//! macros in `*.inc`). Each ROM is assembled with `nasm -f bin` and run with
//! `x86 run --bios ROM --headless --no-reboot`; it checks its own results, posting one
//! code per step on port 0x80 and 0xFF when every check passed (README "Running guests
//! and test ROMs").

use std::path::{Path, PathBuf};
use std::process::Command;

fn asm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-roms/asm")
}

fn work_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("x86-test-roms-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Assembles `test-roms/asm/NAME.asm` into a 64 KB image and returns its path; `tag`
/// keeps the images of tests running the same ROM in parallel apart.
fn assemble(name: &str, tag: &str) -> PathBuf {
    let dir = asm_dir();
    let src = dir.join(format!("{name}.asm"));
    let bin = work_dir().join(format!("{name}{tag}.bin"));
    // NASM wants the include directory with a trailing separator.
    let include = format!("{}/", dir.display());
    let out = match Command::new("nasm")
        .args(["-f", "bin", "-i", &include, "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("nasm not found: the test ROMs need it; install nasm (apt-get install nasm)")
        }
        Err(e) => panic!("cannot run nasm: {e}"),
    };
    assert!(
        out.status.success(),
        "nasm failed on {}:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Runs one ROM and asserts a clean halt with 0xFF as the last POST code.
fn run_rom(name: &str) {
    run_rom_with(name, &[]);
}

/// Runs one ROM with extra `x86 run` arguments, asserts a clean halt with 0xFF as the
/// last POST code and returns what it printed on the debug console.
fn run_rom_with(name: &str, extra: &[&str]) -> String {
    let tag = extra.join("_");
    let bin = assemble(name, &tag);
    let dir = work_dir();
    let post = dir.join(format!("{name}{tag}.post"));
    let debugcon = dir.join(format!("{name}{tag}.debugcon"));
    let out = Command::new(env!("CARGO_BIN_EXE_x86"))
        .args([
            "run",
            "--headless",
            "--no-reboot",
            "--timeout",
            "20",
            "--bios",
        ])
        .arg(&bin)
        .args(extra)
        .arg("--post")
        .arg(&post)
        .arg("--debugcon")
        .arg(&debugcon)
        .output()
        .unwrap();
    let trail: Vec<String> = std::fs::read_to_string(&post)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("POST ").map(str::to_string))
        .collect();
    let console = std::fs::read_to_string(&debugcon).unwrap_or_default();
    let ok = out.status.code() == Some(0) && trail.last().map(String::as_str) == Some("FF");
    assert!(
        ok,
        "test ROM {name} failed: exit status {:?}, last POST code {}\n\
         POST trail: {}\ndebug console:\n{}\nx86 stderr:\n{}",
        out.status.code(),
        trail.last().map_or("none", String::as_str),
        trail.join(" "),
        console.trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    );
    console
}

macro_rules! roms {
    ($($name:ident),* ; tested apart: $($apart:ident),*) => {
        $(
            #[test]
            fn $name() {
                run_rom(stringify!($name));
            }
        )*

        /// Every `.asm` file in test-roms/asm has a test above.
        #[test]
        fn every_rom_has_a_test() {
            let known = [$(stringify!($name)),*, $(stringify!($apart)),*];
            let mut missing = Vec::new();
            for entry in std::fs::read_dir(asm_dir()).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().and_then(|e| e.to_str()) == Some("asm") {
                    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                    if !known.contains(&stem.as_str()) {
                        missing.push(stem);
                    }
                }
            }
            assert!(
                missing.is_empty(),
                "add these ROMs to the roms! list in frontend/tests/test_roms.rs: {missing:?}"
            );
        }
    };
}

roms!(pm_real, segments, gates, tasks, v86, smc, exceptions, cpu_models;
    tested apart: paging);

/// PAE needs a model that has it: the default Pentium M (Banias) reports no PAE and
/// refuses CR4.PAE, as the real part does; the Pentium III has it.
#[test]
fn paging() {
    run_rom_with("paging", &["--cpu", "pentium3"]);
}

/// `cpu_models.asm` on every `--cpu` model: the ROM itself checks that each extension's
/// instruction runs exactly when CPUID reports its flag; here the flags and outcomes are
/// checked against the parts as Intel shipped them (AP-485 feature tables): TSC, MSR
/// and CMPXCHG8B from the Pentium, MMX from the P55C, SYSENTER/CMOV/FXSR with the
/// Pentium II, SSE with the Pentium III, SSE2 and CLFLUSH with the Pentium 4 / Pentium M.
#[test]
fn cpu_models_on_every_model() {
    const P5: &[&str] = &["RDTSC", "RDMSR", "CMPXCHG8B"];
    const MMX: &[&str] = &["PADDB mm", "EMMS"];
    const P6: &[&str] = &["SYSENTER", "CMOVE", "FCMOVB", "FUCOMI", "FXSAVE", "FXRSTOR"];
    const SSE: &[&str] = &["XORPS", "STMXCSR", "PAVGB mm", "SFENCE", "PREFETCHNTA"];
    const SSE2: &[&str] = &[
        "PADDQ xmm",
        "MOVAPD",
        "PADDQ mm",
        "MFENCE",
        "MOVNTI",
        "CLFLUSH",
    ];
    let models: [(&str, &str, &[&[&str]]); 6] = [
        ("486dx", "00000410", &[]),
        ("pentium", "0000052C", &[P5]),
        ("pentium-mmx", "00000543", &[P5, MMX]),
        ("pentium2", "00000652", &[P5, MMX, P6]),
        ("pentium3", "00000686", &[P5, MMX, P6, SSE]),
        ("pentium-m", "00000695", &[P5, MMX, P6, SSE, SSE2]),
    ];
    let all: Vec<&str> = [P5, MMX, P6, SSE, SSE2].concat();
    for (model, signature, have) in models {
        let console = run_rom_with("cpu_models", &["--cpu", model]);
        let has = |line: &str| console.lines().any(|l| l == line);
        assert!(
            console.contains(&format!("cpuid 1: {signature} ")),
            "{model}: {console}"
        );
        assert!(has("vendor GenuineIntel"), "{model}: {console}");
        for ext in &all {
            let ok = have.iter().any(|g| g.contains(ext));
            let line = format!("{ext} {}", if ok { "ok" } else { "#UD" });
            assert!(has(&line), "{model}: expected `{line}` in\n{console}");
        }
    }
}
