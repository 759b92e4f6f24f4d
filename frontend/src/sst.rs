//! `x86 sst`: runs single-step test suites in the SingleStepTests JSON form — the
//! hardware-recorded 80286 real-mode suite and the host-recorded 32-bit protected-mode
//! set. Each test loads `initial` registers and memory into a CPU on a sparse test bus,
//! runs until the trailing HLT, and compares `final` registers (flags masked with the
//! form's `flags-mask` from `metadata.json`) and memory.
//!
//! Machine profiles:
//! - tests naming 16-bit registers (`ax`, `ip`, `flags`): real mode, A20 on, 16 MB of
//!   24-bit physical address space, segment limits 64 KB, no FPU;
//! - tests naming 32-bit registers (`eax`, `eip`, `eflags`): the profile of the set's
//!   README — flat 32-bit protected mode at CPL 3, IOPL 0, paging off, CS = 0x23 (base 0,
//!   limit 4 GB, D = 1, DPL 3), DS = ES = SS = 0x2B (writable, B = 1, DPL 3), FS = GS
//!   null, CR0 = 0x11;
//! - tests with an `initial.fpu` (the x87 set): that profile plus an FPU loaded with the
//!   recorded FCW, FSW, tag word and ST(0)…ST(7); `final.fpu` is compared as the set's
//!   README says (FSW under the form's `fsw-mask`). Forms marked transcendental are
//!   reported apart — bit-exact and within one unit in the last place — and kept out of
//!   the `N passed, M failed` totals.

use cpu::fpu::F80;
use cpu::{Bus, Cpu, Segment, Stop};
use iced_x86::{Decoder, DecoderOptions, Mnemonic};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The most bytes one test file may hold once decompressed: the largest file of the
/// suites is a few megabytes, and a gzip bomb must not exhaust memory.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Exit status when stdout closes under us (`x86 sst DIR | head -1`): what a shell
/// reports for a process killed by SIGPIPE (128 + 13), which Rust programs ignore.
const EXIT_CLOSED_STDOUT: i32 = 141;

/// Prints one line on stdout. A reader that stopped reading (a closed pipe) ends the run
/// quietly: nobody is left to see the rest.
pub fn say(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    let r = out
        .write_fmt(args)
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush());
    match r {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::exit(EXIT_CLOSED_STDOUT)
        }
        Err(e) => {
            errln!("x86: cannot write to stdout: {e}");
            std::process::exit(2)
        }
    }
}

macro_rules! say {
    ($($t:tt)*) => { say(format_args!($($t)*)) };
}

/// Physical memory of a test: 4 KB pages allocated on first write; unwritten memory
/// reads as zero. Ports read as all ones and ignore writes.
#[derive(Default)]
pub struct SparseBus {
    pages: HashMap<u32, Box<[u8; 4096]>>,
    addr_mask: u32,
}

impl SparseBus {
    pub fn new(addr_mask: u32) -> Self {
        SparseBus {
            pages: HashMap::new(),
            addr_mask,
        }
    }
}

impl Bus for SparseBus {
    fn read8(&mut self, addr: u32) -> u8 {
        let a = addr & self.addr_mask;
        self.pages
            .get(&(a >> 12))
            .map_or(0, |p| p[(a & 0xFFF) as usize])
    }
    fn write8(&mut self, addr: u32, value: u8) {
        let a = addr & self.addr_mask;
        self.pages
            .entry(a >> 12)
            .or_insert_with(|| Box::new([0; 4096]))[(a & 0xFFF) as usize] = value;
    }
    fn io_read(&mut self, _port: u16, size: u8) -> u32 {
        match size {
            1 => 0xFF,
            2 => 0xFFFF,
            _ => 0xFFFF_FFFF,
        }
    }
    fn io_write(&mut self, _port: u16, _size: u8, _value: u32) {}
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    Real16,
    Pm32,
}

const REGS16: [(&str, usize); 8] = [
    ("ax", 0),
    ("cx", 1),
    ("dx", 2),
    ("bx", 3),
    ("sp", 4),
    ("bp", 5),
    ("si", 6),
    ("di", 7),
];
const REGS32: [(&str, usize); 8] = [
    ("eax", 0),
    ("ecx", 1),
    ("edx", 2),
    ("ebx", 3),
    ("esp", 4),
    ("ebp", 5),
    ("esi", 6),
    ("edi", 7),
];
const SEGS16: [(&str, usize); 4] = [("es", 0), ("cs", 1), ("ss", 2), ("ds", 3)];
const SEGS32: [(&str, usize); 6] = [
    ("es", 0),
    ("cs", 1),
    ("ss", 2),
    ("ds", 3),
    ("fs", 4),
    ("gs", 5),
];

/// Per-form information from `metadata.json`.
#[derive(Clone)]
struct FormInfo {
    skip_reason: Option<String>,
    flags_mask: u32,
    /// x87 status-word compare mask (`fsw-mask`).
    fsw_mask: u16,
    /// Transcendental forms: results counted apart (Intel specifies their accuracy, not
    /// their bits).
    transcendental: bool,
    /// Approximate SIMD forms (RCP/RSQRT, `"note": "approximate"`): the relative error
    /// each result lane may have against the exact value.
    approx: Option<f64>,
}

struct Suite {
    /// `metadata.json`'s `opcodes` object.
    opcodes: serde_json::Map<String, Value>,
    /// Where it came from, for messages.
    metadata_path: PathBuf,
    revoked: HashSet<String>,
}

impl Suite {
    fn load(dir: &Path) -> Result<Suite, String> {
        // The flags mask of every form lives here: without it undefined flags would be
        // compared, so a suite without its metadata cannot be judged.
        let metadata_path = dir.join("metadata.json");
        let mp = metadata_path.display();
        let text = std::fs::read_to_string(&metadata_path)
            .map_err(|e| format!("cannot read {mp} (each form's flags mask): {e}"))?;
        let metadata: Value = serde_json::from_str(&text).map_err(|e| format!("{mp}: {e}"))?;
        let opcodes = metadata
            .get("opcodes")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{mp}: no \"opcodes\" object"))?
            .clone();
        let revoked = std::fs::read_to_string(dir.join("revocation_list.txt"))
            .map(|s| {
                s.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Suite {
            opcodes,
            metadata_path,
            revoked,
        })
    }

    /// Whether `metadata.json` describes the form per ModRM reg field while the test
    /// file (`8F`, not `8F.0`) holds every reg field: each test is then judged by its
    /// own reg field's entry (8F /1–/7 are undefined, 8F /0 is POP r/m).
    fn split_by_reg(&self, stem: &str) -> bool {
        !stem.contains('.')
            && self
                .opcodes
                .get(stem)
                .is_some_and(|e| e.get("reg").is_some())
    }

    /// Looks up a form such as `80.3` or `660FA5`; a form `metadata.json` does not list
    /// is an error, not a form without undefined flags.
    fn form(&self, stem: &str, profile: Profile) -> Result<FormInfo, String> {
        let default_mask = match profile {
            Profile::Real16 => 0xFFFF,
            Profile::Pm32 => 0xFFFE_FFFF,
        };
        let mut info = FormInfo {
            skip_reason: None,
            flags_mask: default_mask,
            fsw_mask: 0xFFFF,
            transcendental: false,
            approx: None,
        };
        let ops = &self.opcodes;
        let missing = || {
            format!(
                "{} has no entry for form {stem}",
                self.metadata_path.display()
            )
        };
        let (op, reg) = match stem.split_once('.') {
            Some((o, r)) => (o, Some(r)),
            None => (stem, None),
        };
        // Group forms are keyed either flat ("C1.4") or nested under "reg".
        let mut entry = ops.get(stem).or_else(|| ops.get(op)).ok_or_else(missing)?;
        if let Some(regs) = entry.get("reg") {
            entry = reg.and_then(|r| regs.get(r)).ok_or_else(missing)?;
        }
        let field = |k: &str, bits: u32| -> Result<Option<u32>, String> {
            entry
                .get(k)
                .map(|v| num_bits(v, bits))
                .transpose()
                .map_err(|e| format!("{}: {stem} {k}: {e}", self.metadata_path.display()))
        };
        if let Some(m) = field("flags-mask", 32)? {
            info.flags_mask = m;
        }
        if let Some(m) = field("fsw-mask", 16)? {
            info.fsw_mask = m as u16;
        }
        if entry.get("note").and_then(Value::as_str) == Some("transcendental") {
            info.transcendental = true;
        }
        if entry.get("note").and_then(Value::as_str) == Some("approximate") {
            let rel = entry
                .get("rel-error")
                .and_then(Value::as_f64)
                .filter(|r| *r > 0.0 && *r < 1.0)
                .ok_or_else(|| {
                    format!(
                        "{}: {stem}: an approximate form needs a rel-error between 0 and 1",
                        self.metadata_path.display()
                    )
                })?;
            info.approx = Some(rel);
        }
        if let Some(status) = entry.get("status").and_then(Value::as_str) {
            // Forms a P6 does not share with the 286 (see the suite's README): prefixes,
            // undefined/undocumented encodings, 286-only system forms, and x87 opcodes
            // recorded without a coprocessor.
            if matches!(
                status,
                "undefined" | "undocumented" | "fpu" | "extension" | "prefix"
            ) {
                info.skip_reason = Some(status.to_string());
            }
        }
        if profile == Profile::Real16 {
            // The top four FLAGS bits are kept differently by a 286 in real mode.
            info.flags_mask &= 0x0FFF;
        }
        Ok(info)
    }
}

pub struct Options {
    pub verbose: bool,
    pub max_details: usize,
}

#[derive(Default)]
pub struct Totals {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Transcendental forms, outside `passed`/`failed`: tests run, tests bit-exact, and
    /// tests whose only differences are result registers within one unit in the last
    /// place (and the C1 round-up bit that goes with them), bit-exact ones included.
    pub trans_total: u64,
    pub trans_exact: u64,
    pub trans_ulp: u64,
    /// Approximate forms (counted in `passed`/`failed` under their tolerance): tests run
    /// and tests whose results are also bit-exact with the recording CPU.
    pub approx_total: u64,
    pub approx_exact: u64,
    /// Tests judged by the SDM where the set's recording CPU differs from it (counted in
    /// `passed`/`failed` like the others; see `sdm_mmx_transition`).
    pub sdm_judged: u64,
}

fn read_tests(path: &Path) -> Result<Vec<Value>, String> {
    let p = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {p}: {e}"))?;
    // One byte more than the limit tells a file at the limit from one beyond it.
    let mut bytes = Vec::new();
    let read = if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(std::io::BufReader::new(file))
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{p}: not a gzip'd JSON file: {e}"))?
    } else {
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {p}: {e}"))?
    };
    if read as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{p}: more than {} MiB of JSON; refusing to read it all",
            MAX_FILE_BYTES >> 20
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(format!("{p}: empty file, no tests"));
    }
    let text = String::from_utf8(bytes).map_err(|e| format!("{p}: not UTF-8: {e}"))?;
    match serde_json::from_str(&text).map_err(|e| format!("{p}: invalid JSON: {e}"))? {
        Value::Array(v) if v.is_empty() => Err(format!("{p}: an empty array, no tests")),
        Value::Array(v) => Ok(v),
        _ => Err(format!("{p}: expected a JSON array of tests")),
    }
}

fn is_test_file(p: &Path) -> bool {
    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    (n.ends_with(".json") || n.ends_with(".json.gz")) && n != "metadata.json"
}

/// Expands directories into their test files, sorted by name.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("cannot read directory {}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_test_file(p))
                .collect();
            if v.is_empty() {
                return Err(format!(
                    "{}: no test files (*.json, *.json.gz) in the directory",
                    p.display()
                ));
            }
            v.sort();
            out.extend(v);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("no such file or directory: {}", p.display()));
        }
    }
    Ok(out)
}

fn stem_of(p: &Path) -> String {
    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    n.trim_end_matches(".gz")
        .trim_end_matches(".json")
        .to_string()
}

/// A non-negative integer that fits in `bits` bits: a wider value is an error in the
/// test, never silently truncated.
fn num_bits(v: &Value, bits: u32) -> Result<u32, String> {
    let x = v
        .as_u64()
        .ok_or_else(|| format!("expected a non-negative integer, got {v}"))?;
    if x >> bits != 0 {
        return Err(format!("{v} does not fit in {bits} bits"));
    }
    Ok(x as u32)
}

/// Width of a register as the test file writes it: segment registers and everything in
/// the 16-bit profile hold 16 bits.
fn reg_bits(profile: Profile, name: &str) -> u32 {
    if profile == Profile::Real16 || SEGS32.iter().any(|(n, _)| *n == name) {
        16
    } else {
        32
    }
}

/// A register value from a test's `regs` object, checked against its width.
fn reg(
    regs: &serde_json::Map<String, Value>,
    name: &str,
    profile: Profile,
) -> Result<Option<u32>, String> {
    regs.get(name)
        .map(|v| num_bits(v, reg_bits(profile, name)).map_err(|e| format!("{name}: {e}")))
        .transpose()
}

/// One `[address, byte]` pair of a test's `ram` list.
fn ram_cell(cell: &Value, addr_bits: u32) -> Result<(u32, u8), String> {
    let bad = || format!("bad ram entry {cell}");
    let a = num_bits(cell.get(0).ok_or_else(bad)?, addr_bits)
        .map_err(|e| format!("ram address: {e}"))?;
    let v = num_bits(cell.get(1).ok_or_else(bad)?, 8).map_err(|e| format!("ram[{a:#x}]: {e}"))?;
    Ok((a, v as u8))
}

fn addr_bits(profile: Profile) -> u32 {
    match profile {
        Profile::Real16 => 24,
        Profile::Pm32 => 32,
    }
}

fn profile_of(t: &Value) -> Result<Profile, String> {
    let regs = t
        .pointer("/initial/regs")
        .and_then(Value::as_object)
        .ok_or("test has no initial.regs")?;
    if regs.contains_key("eax") || regs.contains_key("eip") {
        Ok(Profile::Pm32)
    } else if regs.contains_key("ax") || regs.contains_key("ip") {
        Ok(Profile::Real16)
    } else {
        Err("test names neither 16-bit (ax, ip) nor 32-bit (eax, eip) registers".into())
    }
}

fn setup(cpu: &mut Cpu, bus: &mut SparseBus, t: &Value, profile: Profile) -> Result<(), String> {
    cpu.reset();
    cpu.fpu_present = false;
    cpu.hlt_exits = true;
    let regs = t
        .pointer("/initial/regs")
        .and_then(Value::as_object)
        .ok_or("test has no initial.regs")?;
    let get = |k: &str| -> Result<u32, String> { Ok(reg(regs, k, profile)?.unwrap_or(0)) };
    match profile {
        Profile::Real16 => {
            for (n, r) in REGS16 {
                cpu.regs[r] = get(n)?;
            }
            for (n, s) in SEGS16 {
                cpu.seg[s].load_real(get(n)? as u16);
            }
            cpu.eip = get("ip")?;
            cpu.eflags = (get("flags")? & cpu::WRITABLE & 0xFFFF) | 2;
        }
        Profile::Pm32 => {
            let cs_sel = get("cs")? as u16;
            let ds_sel = get("ds")? as u16;
            cpu.cr0 = 0x11;
            cpu.enter_flat_protected_mode(cs_sel, ds_sel, 3);
            for (n, s) in [("es", cpu::ES), ("ss", cpu::SS)] {
                if let Some(v) = reg(regs, n, profile)? {
                    cpu.seg[s].selector = v as u16;
                }
            }
            for s in [cpu::FS, cpu::GS] {
                cpu.seg[s] = Segment::default();
            }
            for (n, r) in REGS32 {
                cpu.regs[r] = get(n)?;
            }
            cpu.eip = get("eip")?;
            cpu.eflags = (get("eflags")? & cpu::WRITABLE) | 2;
        }
    }
    if let Some(ram) = t.pointer("/initial/ram").and_then(Value::as_array) {
        for cell in ram {
            let (a, v) = ram_cell(cell, addr_bits(profile))?;
            bus.write8(a, v);
        }
    }
    if let Some(f) = t.pointer("/initial/fpu") {
        // The x87 set: an FPU is present and starts from the recorded state.
        cpu.fpu_present = true;
        let st = st_of(f)?;
        cpu.fpu.load(
            fpu_word(f, "fcw")?,
            fpu_word(f, "fsw")?,
            fpu_word(f, "ftw")?,
            &st,
        );
    }
    if let Some(sv) = t.pointer("/initial/simd") {
        // The SIMD set's profile (its README): CR0.MP = NE = 1 besides PE and ET,
        // CR4.OSFXSR = OSXMMEXCPT = 1, FCW 037F, and MMi in the significand of physical
        // register Ri with bits 79–64 all 1s.
        cpu.fpu_present = true;
        cpu.cr0 |= cpu::CR0_MP | cpu::CR0_ET | cpu::CR0_NE;
        cpu.cr4 |= cpu::CR4_OSFXSR | cpu::CR4_OSXMMEXCPT;
        cpu.fpu.init();
        cpu.fpu.sw = simd_num(sv, "fsw", 16)? as u16;
        cpu.fpu.empty = !(simd_num(sv, "aftw", 8)? as u8);
        for i in 0..8 {
            let v =
                simd_hex(sv, &format!("mm{i}"), 64)?.ok_or(format!("simd state has no mm{i}"))?;
            cpu.set_mm(i, v as u64);
            cpu.xmm[i] = simd_hex(sv, &format!("xmm{i}"), 128)?
                .ok_or(format!("simd state has no xmm{i}"))?;
        }
        cpu.mxcsr = simd_num(sv, "mxcsr", 32)?;
    }
    Ok(())
}

/// A numeric field of a `simd` object (`fsw`, `aftw`, `mxcsr`).
fn simd_num(s: &Value, k: &str, bits: u32) -> Result<u32, String> {
    s.get(k)
        .map(|v| num_bits(v, bits).map_err(|e| format!("simd {k}: {e}")))
        .unwrap_or_else(|| Err(format!("simd state has no {k}")))
}

/// A register field of a `simd` object (`mm0`, `xmm3`): hex digits, most significant
/// first, at most `bits` wide; `None` when absent.
fn simd_hex(s: &Value, k: &str, bits: u32) -> Result<Option<u128>, String> {
    let Some(v) = s.get(k) else {
        return Ok(None);
    };
    let h = v
        .as_str()
        .ok_or_else(|| format!("simd {k}: expected a hex string, got {v}"))?;
    let x = u128::from_str_radix(h, 16).map_err(|e| format!("simd {k}: bad value {h}: {e}"))?;
    if h.len() > (bits / 4) as usize || (bits < 128 && x >> bits != 0) {
        return Err(format!("simd {k}: {h} does not fit in {bits} bits"));
    }
    Ok(Some(x))
}

/// Compares the SIMD set's state (its README): each field of `final.simd` exactly, and
/// every field it does not list unchanged from `initial.simd`; the result lanes of an
/// approximate form (RCP/RSQRT) by the README's rule (see `approx_lane_ok`). Returns
/// whether those lanes were bit-exact too.
fn simd_diffs(
    cpu: &Cpu,
    bus: &mut SparseBus,
    t: &Value,
    info: &FormInfo,
    diffs: &mut Vec<String>,
) -> Result<bool, String> {
    let (Some(init), Some(fin)) = (t.pointer("/initial/simd"), t.pointer("/final/simd")) else {
        return Ok(true);
    };
    let approx = match info.approx {
        Some(rel) => Some((rel, approx_operands(t, init, bus)?)),
        None => None,
    };
    let mut exact = true;
    let pick = |k: &str| if fin.get(k).is_some() { fin } else { init };
    for i in 0..8 {
        let k = format!("mm{i}");
        if let Some(exp) = simd_hex(pick(&k), &k, 64)? {
            let got = cpu.mm(i);
            if exp as u64 != got {
                diffs.push(format!("{k}: expected {exp:016x}, got {got:016x}"));
            }
        }
    }
    let sdm = sdm_mmx_transition(t);
    let mut fsw = simd_num(pick("fsw"), "fsw", 16)? as u16;
    if sdm {
        fsw &= !0x3800;
    }
    if cpu.fpu.sw != fsw {
        diffs.push(format!("fsw: expected {fsw:#06x}, got {:#06x}", cpu.fpu.sw));
    }
    let mut aftw = simd_num(pick("aftw"), "aftw", 8)? as u8;
    if sdm {
        aftw = 0xFF;
    }
    if !cpu.fpu.empty != aftw {
        diffs.push(format!(
            "aftw: expected {aftw:#04x}, got {:#04x}",
            !cpu.fpu.empty
        ));
    }
    for i in 0..8 {
        let k = format!("xmm{i}");
        if let Some(exp) = simd_hex(pick(&k), &k, 128)? {
            let got = cpu.xmm[i];
            match approx {
                Some((rel, ref a)) if a.dst == i && exp != got => {
                    exact = false;
                    for lane in 0..4 {
                        let (e, g) = ((exp >> (32 * lane)) as u32, (got >> (32 * lane)) as u32);
                        let ok = match a.src.get(lane) {
                            Some(&x) => approx_lane_ok(a.rsqrt, x, e, g, rel),
                            None => e == g,
                        };
                        if !ok {
                            diffs.push(format!(
                                "{k} lane {lane}: expected {e:08x} (to a relative error of \
                                 {rel}), got {g:08x}"
                            ));
                        }
                    }
                }
                _ if exp != got => {
                    diffs.push(format!("{k}: expected {exp:032x}, got {got:032x}"));
                }
                _ => {}
            }
        }
    }
    let mxcsr = simd_num(pick("mxcsr"), "mxcsr", 32)?;
    if cpu.mxcsr != mxcsr {
        diffs.push(format!(
            "mxcsr: expected {mxcsr:#010x}, got {:#010x}",
            cpu.mxcsr
        ));
    }
    Ok(exact)
}

/// Whether a SIMD test runs CVTPI2PS xmm, m64. The SDM says every CVTPI2PS makes the
/// x87→MMX transition (TOP = 0, every tag valid: "This instruction causes a transition
/// from x87 FPU to MMX technology operation"); the set's recording AMD CPU makes none
/// for an m64 source (its README, "Vendor-specific caveats"). We follow the SDM, so
/// these tests expect the transition (README, documented differences).
fn sdm_mmx_transition(t: &Value) -> bool {
    let Some(bytes) = t.get("bytes").and_then(Value::as_array) else {
        return false;
    };
    let bytes: Vec<u8> = bytes
        .iter()
        .map(|b| b.as_u64().unwrap_or(0) as u8)
        .collect();
    let ins = Decoder::new(32, &bytes, DecoderOptions::NONE).decode();
    ins.code() == iced_x86::Code::Cvtpi2ps_xmm_mmm64 && ins.op1_kind() == iced_x86::OpKind::Memory
}

/// Whether the recorded x87 state after a test differs from the SDM's transition.
fn recorded_without_transition(t: &Value) -> bool {
    let get = |k: &str| {
        t.pointer(&format!("/final/simd/{k}"))
            .or_else(|| t.pointer(&format!("/initial/simd/{k}")))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    get("fsw") & 0x3800 != 0 || get("aftw") != 0xFF
}

/// The operands of an approximate form (RCPPS/RCPSS/RSQRTPS/RSQRTSS): the destination
/// register and the source lanes that give results (4 for PS, lane 0 for SS), read
/// from the test's initial XMM registers or from memory (which these forms never write).
struct ApproxOperands {
    rsqrt: bool,
    dst: usize,
    src: Vec<u32>,
}

fn approx_operands(t: &Value, init: &Value, bus: &mut SparseBus) -> Result<ApproxOperands, String> {
    use iced_x86::{OpKind, Register};
    let bytes: Vec<u8> = t
        .get("bytes")
        .and_then(Value::as_array)
        .ok_or("test has no bytes")?
        .iter()
        .map(|b| num_bits(b, 8).map(|b| b as u8))
        .collect::<Result<_, _>>()?;
    let ins = Decoder::new(32, &bytes, DecoderOptions::NONE).decode();
    let (rsqrt, lanes) = match ins.mnemonic() {
        Mnemonic::Rcpps => (false, 4),
        Mnemonic::Rcpss => (false, 1),
        Mnemonic::Rsqrtps => (true, 4),
        Mnemonic::Rsqrtss => (true, 1),
        m => {
            return Err(format!(
                "{m:?} is not an approximate form (RCP/RSQRT PS/SS)"
            ))
        }
    };
    let xmm_no = |r: Register| (r as u32).wrapping_sub(Register::XMM0 as u32) as usize & 7;
    let dst = xmm_no(ins.op0_register());
    let src: Vec<u32> = if ins.op1_kind() == OpKind::Register {
        let k = format!("xmm{}", xmm_no(ins.op1_register()));
        let v = simd_hex(init, &k, 128)?.ok_or(format!("simd state has no {k}"))?;
        (0..lanes).map(|l| (v >> (32 * l)) as u32).collect()
    } else {
        // Flat 32-bit profile: every segment base is 0.
        let regs = t
            .pointer("/initial/regs")
            .and_then(Value::as_object)
            .ok_or("test has no initial.regs")?;
        let gpr = |r: Register| -> Result<u32, String> {
            if r == Register::None {
                return Ok(0);
            }
            let i = (r as u32).wrapping_sub(Register::EAX as u32) as usize;
            let name = REGS32
                .get(i)
                .ok_or(format!("{r:?} is not a 32-bit register"))?
                .0;
            Ok(reg(regs, name, Profile::Pm32)?.unwrap_or(0))
        };
        let ea = gpr(ins.memory_base())?
            .wrapping_add(gpr(ins.memory_index())?.wrapping_mul(ins.memory_index_scale()))
            .wrapping_add(ins.memory_displacement32());
        (0..lanes)
            .map(|l| {
                let a = ea.wrapping_add(4 * l);
                u32::from_le_bytes([0, 1, 2, 3].map(|k| bus.read8(a.wrapping_add(k))))
            })
            .collect()
    };
    Ok(ApproxOperands { rsqrt, dst, src })
}

/// The README's rule for one result lane of RCP (`rsqrt` false) or RSQRT of `x`:
/// expected `e`, got `g`. A normal input (positive for RSQRT) gives a result within
/// `rel` of the exact 1/x or 1/√x; everything else is exact (±0 and denormals → ±∞,
/// RCP(±∞) = ±0, RSQRT(+∞) = +0, NaNs quieted, RSQRT of a negative → FFC00000, RCP of
/// |x| ≥ 1.00000000000110000000001B×2^126 → ±0); between 1.11111111110100000000000B×
/// 2^125 and that bound RCP may give ±0 or the approximation.
fn approx_lane_ok(rsqrt: bool, x: u32, e: u32, g: u32, rel: f64) -> bool {
    if e == g {
        return true;
    }
    let f = f32::from_bits(x);
    let mag = x & 0x7FFF_FFFF;
    if !f.is_normal() || (rsqrt && f < 0.0) {
        return false;
    }
    let within = || {
        let gf = f32::from_bits(g) as f64;
        let exact = if rsqrt {
            1.0 / (f as f64).sqrt()
        } else {
            1.0 / f as f64
        };
        gf.is_finite() && ((gf - exact) / exact).abs() <= rel
    };
    const RCP_ZERO: u32 = 0x7E80_0C01;
    const RCP_EITHER: u32 = 0x7E7F_E800;
    if !rsqrt && mag >= RCP_ZERO {
        return false;
    }
    if !rsqrt && mag >= RCP_EITHER {
        return g == x & 0x8000_0000 || within();
    }
    within()
}

fn fpu_word(f: &Value, k: &str) -> Result<u16, String> {
    f.get(k)
        .map(|v| num_bits(v, 16).map_err(|e| format!("{k}: {e}")))
        .unwrap_or_else(|| Err(format!("fpu state has no {k}")))
        .map(|v| v as u16)
}

/// ST(0)…ST(7) of an `fpu` object: 80-bit values as 20 hex digits, sign and exponent first.
fn st_of(f: &Value) -> Result<[F80; 8], String> {
    let mut st = [F80::ZERO; 8];
    let arr = f
        .get("st")
        .and_then(Value::as_array)
        .ok_or("fpu state has no st array")?;
    for (i, v) in arr.iter().take(8).enumerate() {
        let s = v.as_str().ok_or("st entry is not a string")?;
        let b = u128::from_str_radix(s, 16).map_err(|e| format!("bad st value {s}: {e}"))?;
        if b >> 80 != 0 {
            return Err(format!("st value {s} does not fit in 80 bits"));
        }
        st[i] = F80::from_bits(b);
    }
    Ok(st)
}

/// Distance in units in the last place between two 80-bit values (0 for ±0).
fn ulps(a: F80, b: F80) -> u128 {
    let key = |v: F80| ((v.exp() as u128) << 63) + (v.m & 0x7FFF_FFFF_FFFF_FFFF) as u128;
    if a.sign() == b.sign() {
        key(a).abs_diff(key(b))
    } else {
        key(a) + key(b)
    }
}

/// A test whose instruction the P6 architecture defines differently from the CPU that
/// recorded it, by a rule of the SDM rather than by accident: LOCK before a form that
/// cannot be locked is executed by a 286 and is #UD on every 386+ (SDM Vol. 2A "LOCK").
fn architectural_difference(t: &Value, profile: Profile) -> Option<&'static str> {
    if profile != Profile::Real16 {
        return None;
    }
    let bytes: Vec<u8> = t
        .get("bytes")?
        .as_array()?
        .iter()
        .map(|b| b.as_u64().unwrap_or(0) as u8)
        .collect();
    let strict = Decoder::new(16, &bytes, DecoderOptions::NONE).decode();
    if !strict.is_invalid() {
        return None;
    }
    let lax = Decoder::new(16, &bytes, DecoderOptions::NO_INVALID_CHECK).decode();
    if !lax.is_invalid() && lax.has_lock_prefix() {
        return Some("LOCK on a non-lockable form (#UD on a P6)");
    }
    None
}

/// Whether the instruction stores a FLAGS image on the stack (PUSHF).
fn pushes_flags(t: &Value, bits: u32) -> bool {
    let Some(bytes) = t.get("bytes").and_then(Value::as_array) else {
        return false;
    };
    let bytes: Vec<u8> = bytes
        .iter()
        .map(|b| b.as_u64().unwrap_or(0) as u8)
        .collect();
    matches!(
        Decoder::new(bits, &bytes, DecoderOptions::NONE)
            .decode()
            .mnemonic(),
        Mnemonic::Pushf | Mnemonic::Pushfd
    )
}

/// The differences one test left: `diffs` is empty when it passed; `near` says every
/// difference is an x87 result register within one unit in the last place (or the C1
/// round-up bit of the status word).
struct Outcome {
    diffs: Vec<String>,
    near: bool,
    /// For approximate forms: every result lane is also bit-exact.
    exact: bool,
}

/// Runs one test.
fn run_test(
    cpu: &mut Cpu,
    t: &Value,
    profile: Profile,
    info: &FormInfo,
) -> Result<Outcome, String> {
    let flags_mask = info.flags_mask;
    let mut bus = SparseBus::new(if profile == Profile::Real16 {
        0xFF_FFFF
    } else {
        0xFFFF_FFFF
    });
    setup(cpu, &mut bus, t, profile)?;
    let mut halted = false;
    let mut why = Stop::Budget;
    for _ in 0..64 {
        why = cpu.run(&mut bus, 256);
        if why != Stop::Budget {
            halted = why == Stop::Halt;
            break;
        }
    }
    let mut diffs = Vec::new();
    if !halted {
        diffs.push(format!(
            "did not reach HLT (stopped: {why:?}, cs:eip = {:04x}:{:08x})",
            cpu.seg[cpu::CS].selector,
            cpu.eip
        ));
    }
    let init = t
        .pointer("/initial/regs")
        .and_then(Value::as_object)
        .ok_or("test has no initial.regs")?;
    let fin = t
        .pointer("/final/regs")
        .and_then(Value::as_object)
        .ok_or("test has no final.regs")?;
    let expect = |k: &str| -> Result<Option<u32>, String> {
        match fin.contains_key(k) {
            true => reg(fin, k, profile),
            false => reg(init, k, profile),
        }
    };
    let mut check = |name: &str, got: u32, mask: u32| -> Result<(), String> {
        if let Some(exp) = expect(name)? {
            if exp & mask != got & mask {
                diffs.push(format!(
                    "{name}: expected {:#x}, got {:#x}",
                    exp & mask,
                    got & mask
                ));
            }
        }
        Ok(())
    };
    match profile {
        Profile::Real16 => {
            for (n, r) in REGS16 {
                check(n, cpu.regs[r] & 0xFFFF, 0xFFFF)?;
            }
            for (n, s) in SEGS16 {
                check(n, cpu.seg[s].selector as u32, 0xFFFF)?;
            }
            check("ip", cpu.eip, 0xFFFF)?;
            check("flags", cpu.eflags, flags_mask)?;
        }
        Profile::Pm32 => {
            for (n, r) in REGS32 {
                check(n, cpu.regs[r], 0xFFFF_FFFF)?;
            }
            for (n, s) in SEGS32 {
                check(n, cpu.seg[s].selector as u32, 0xFFFF)?;
            }
            check("eip", cpu.eip, 0xFFFF_FFFF)?;
            check("eflags", cpu.eflags, flags_mask)?;
        }
    }
    // Memory: every byte the test lists must hold its final value; the FLAGS image an
    // exception pushed is compared under the flags mask.
    // The suite's `flag_address` is rounded for odd stack pointers, so the image is
    // located from the test's own final SS:SP: FLAGS sits above the pushed CS and IP.
    // PUSHF's image sits at the final SS:SP.
    let flag_addr = if profile != Profile::Real16 {
        None
    } else if t.get("exception").is_some() {
        match (expect("ss")?, expect("sp")?) {
            (Some(ss), Some(sp)) => Some((ss << 4) + ((sp + 4) & 0xFFFF)),
            _ => None,
        }
    } else if pushes_flags(t, 16) {
        match (expect("ss")?, expect("sp")?) {
            (Some(ss), Some(sp)) => Some((ss << 4) + (sp & 0xFFFF)),
            _ => None,
        }
    } else {
        None
    };
    if let Some(ram) = t.pointer("/final/ram").and_then(Value::as_array) {
        for cell in ram {
            let (a, exp) = ram_cell(cell, addr_bits(profile))?;
            let got = bus.read8(a);
            let m = match flag_addr {
                Some(f) if a == f => flags_mask as u8,
                Some(f) if a == f.wrapping_add(1) => (flags_mask >> 8) as u8,
                _ => 0xFF,
            };
            if exp & m != got & m {
                diffs.push(format!(
                    "ram[{a:#x}]: expected {:#04x}, got {:#04x}",
                    exp & m,
                    got & m
                ));
            }
        }
    }
    // The x87 state (README of host-i686-x87): FCW exactly, FSW under the form's mask,
    // the full tag word exactly, and every non-empty register exactly.
    let mut near = diffs.is_empty();
    if let Some(ff) = t.pointer("/final/fpu") {
        let f = &cpu.fpu;
        let (cw, sw, tw) = (
            fpu_word(ff, "fcw")?,
            fpu_word(ff, "fsw")?,
            fpu_word(ff, "ftw")?,
        );
        if f.cw != cw {
            diffs.push(format!("fcw: expected {cw:#06x}, got {:#06x}", f.cw));
            near = false;
        }
        let m = info.fsw_mask;
        if f.sw & m != sw & m {
            diffs.push(format!(
                "fsw: expected {:#06x}, got {:#06x}",
                sw & m,
                f.sw & m
            ));
            if (f.sw ^ sw) & m & !0x0200 != 0 {
                near = false;
            }
        }
        if f.tag_word() != tw {
            diffs.push(format!(
                "ftw: expected {tw:#06x}, got {:#06x}",
                f.tag_word()
            ));
            near = false;
        }
        let st = st_of(ff)?;
        let top = ((sw >> 11) & 7) as usize;
        for (i, exp) in st.iter().enumerate() {
            let p = (top + i) & 7;
            if (tw >> (2 * p)) & 3 == 3 {
                continue;
            }
            let got = f.st(i);
            if got != *exp {
                diffs.push(format!(
                    "st{i}: expected {:020x}, got {:020x}",
                    exp.to_bits(),
                    got.to_bits()
                ));
                if ulps(got, *exp) > 1 {
                    near = false;
                }
            }
        }
    }
    let exact = simd_diffs(cpu, &mut bus, t, info, &mut diffs)?;
    Ok(Outcome { diffs, near, exact })
}

/// The ModRM reg field of a test of form `stem` (its opcode bytes in hex), after any
/// prefixes.
fn modrm_reg(t: &Value, stem: &str) -> Result<u8, String> {
    const PREFIXES: [u8; 11] = [
        0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3,
    ];
    let op: Vec<u8> = (0..stem.len() / 2)
        .map(|i| {
            stem.get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or_else(|| format!("form {stem} is not opcode bytes in hex"))?;
    let bytes: Vec<u8> = t
        .get("bytes")
        .and_then(Value::as_array)
        .ok_or("test has no bytes")?
        .iter()
        .map(|b| num_bits(b, 8).map(|b| b as u8))
        .collect::<Result<_, _>>()?;
    let mut i = 0;
    while !bytes[i..].starts_with(&op) {
        match bytes.get(i) {
            Some(b) if PREFIXES.contains(b) => i += 1,
            _ => return Err(format!("test bytes do not start with opcode {stem}")),
        }
    }
    bytes
        .get(i + op.len())
        .map(|m| (m >> 3) & 7)
        .ok_or_else(|| format!("test of form {stem} has no ModRM byte"))
}

/// Runs every test file; prints one line per file and the details of the first few
/// failures with `verbose`.
pub fn run(files: &[PathBuf], opts: &Options) -> Result<Totals, String> {
    let mut suites: HashMap<PathBuf, Suite> = HashMap::new();
    let mut totals = Totals::default();
    let mut cpu = Cpu::new();
    let mut skipped_forms: Vec<String> = Vec::new();
    let mut arch_skips: std::collections::BTreeMap<&'static str, u64> = Default::default();
    for f in files {
        let dir = f.parent().unwrap_or(Path::new(".")).to_path_buf();
        if !suites.contains_key(&dir) {
            suites.insert(dir.clone(), Suite::load(&dir)?);
        }
        let suite = &suites[&dir];
        let tests = read_tests(f)?;
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let Some(first) = tests.first() else {
            return Err(format!("{}: no tests", f.display()));
        };
        let profile = profile_of(first).map_err(|e| format!("{}: {e}", f.display()))?;
        let stem = stem_of(f);
        let file_info = if suite.split_by_reg(&stem) {
            None
        } else {
            Some(suite.form(&stem, profile)?)
        };
        let mut reg_infos: [Option<FormInfo>; 8] = Default::default();
        let mut reg_skipped = 0u64;
        let mut reg_skips = std::collections::BTreeSet::new();
        if let Some(reason) = file_info.as_ref().and_then(|i| i.skip_reason.as_ref()) {
            totals.skipped += tests.len() as u64;
            skipped_forms.push(format!("{} ({reason})", stem_of(f)));
            say!("{name}: skipped {} ({reason})", tests.len());
            continue;
        }
        let (mut p, mut fl, mut shown, mut tx) = (0u64, 0u64, 0usize, 0u64);
        for t in &tests {
            if let Some(h) = t.get("hash").and_then(Value::as_str) {
                if suite.revoked.contains(h) {
                    totals.skipped += 1;
                    continue;
                }
            }
            let tp = profile_of(t).map_err(|e| format!("{}: {e}", f.display()))?;
            let info = match &file_info {
                Some(i) => i,
                None => {
                    let r = modrm_reg(t, &stem).map_err(|e| format!("{}: {e}", f.display()))?;
                    let slot = &mut reg_infos[r as usize];
                    if slot.is_none() {
                        *slot = Some(suite.form(&format!("{stem}.{r}"), profile)?);
                    }
                    let Some(info) = slot.as_ref() else {
                        continue;
                    };
                    if let Some(reason) = &info.skip_reason {
                        reg_skips.insert(format!("{stem}.{r} ({reason})"));
                        totals.skipped += 1;
                        reg_skipped += 1;
                        continue;
                    }
                    info
                }
            };
            if let Some(why) = architectural_difference(t, tp) {
                totals.skipped += 1;
                *arch_skips.entry(why).or_insert(0u64) += 1;
                continue;
            }
            let out =
                run_test(&mut cpu, t, tp, info).map_err(|e| format!("{}: {e}", f.display()))?;
            let diffs = out.diffs;
            if t.pointer("/initial/simd").is_some()
                && sdm_mmx_transition(t)
                && recorded_without_transition(t)
            {
                totals.sdm_judged += 1;
            }
            if info.approx.is_some() {
                totals.approx_total += 1;
                if diffs.is_empty() && out.exact {
                    totals.approx_exact += 1;
                }
            }
            if info.transcendental {
                totals.trans_total += 1;
                if diffs.is_empty() {
                    totals.trans_exact += 1;
                }
                if out.near {
                    totals.trans_ulp += 1;
                    tx += 1;
                    continue;
                }
            }
            if diffs.is_empty() {
                p += 1;
            } else {
                fl += 1;
                if opts.verbose && shown < opts.max_details {
                    shown += 1;
                    let tname = t.get("name").and_then(Value::as_str).unwrap_or("?");
                    let bytes: Vec<String> = t
                        .get("bytes")
                        .and_then(Value::as_array)
                        .map(|b| {
                            b.iter()
                                .map(|x| format!("{:02X}", x.as_u64().unwrap_or(0)))
                                .collect()
                        })
                        .unwrap_or_default();
                    let idx = t.get("idx").and_then(Value::as_u64).unwrap_or(0);
                    say!("  FAIL #{idx} {tname} [{}]", bytes.join(" "));
                    for d in diffs {
                        say!("    {d}");
                    }
                }
            }
        }
        if file_info.as_ref().is_some_and(|i| i.transcendental) {
            say!("{name}: {tx} within 1 ulp, {fl} beyond (transcendental: outside the totals)");
            continue;
        }
        skipped_forms.extend(reg_skips);
        if reg_skipped > 0 {
            say!("{name}: {p} passed, {fl} failed, {reg_skipped} skipped (undefined reg fields)");
        } else {
            say!("{name}: {p} passed, {fl} failed");
        }
        totals.passed += p;
        totals.failed += fl;
    }
    if totals.trans_total > 0 {
        say!(
            "transcendental: {} of {} results bit-exact, {} within 1 ulp",
            totals.trans_exact,
            totals.trans_total,
            totals.trans_ulp
        );
    }
    if totals.approx_total > 0 {
        say!(
            "approximate (RCP/RSQRT, counted under the set's tolerance): {} of {} tests \
             bit-exact with the recording CPU",
            totals.approx_exact,
            totals.approx_total
        );
    }
    if totals.sdm_judged > 0 {
        say!(
            "{} tests judged by the SDM, not the recording CPU: CVTPI2PS xmm, m64 makes the \
             x87->MMX transition (README, documented differences)",
            totals.sdm_judged
        );
    }
    if !skipped_forms.is_empty() {
        say!(
            "skipped forms outside the pass rate: {}",
            skipped_forms.join(", ")
        );
    }
    for (why, n) in &arch_skips {
        say!("skipped {n} tests: {why}");
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modrm_reg_field_after_prefixes() {
        // 8F /0 (POP r/m16) with ModRM 06h = 00 000 110: reg 0; ModRM 0Eh: reg 1.
        let t = serde_json::json!({"bytes": [0x8F, 0x06, 0x34, 0x12, 0xF4]});
        assert_eq!(modrm_reg(&t, "8F"), Ok(0));
        let t = serde_json::json!({"bytes": [0x2E, 0xF0, 0x8F, 0x0E, 0x34, 0x12]});
        assert_eq!(modrm_reg(&t, "8F"), Ok(1));
        // C7 with ModRM FFh = 11 111 111: reg 7.
        let t = serde_json::json!({"bytes": [0xC7, 0xFF, 0, 0]});
        assert_eq!(modrm_reg(&t, "C7"), Ok(7));
        // Not this form's opcode.
        let t = serde_json::json!({"bytes": [0x90, 0x8F, 0x06]});
        assert!(modrm_reg(&t, "8F").is_err());
        let t = serde_json::json!({"bytes": [0x8F]});
        assert!(modrm_reg(&t, "8F").is_err());
    }

    #[test]
    fn only_cvtpi2ps_with_a_memory_source_is_judged_by_the_sdm() {
        let t =
            |b: &str| -> Value { serde_json::from_str(&format!("{{\"bytes\": {b}}}")).unwrap() };
        // 0F 2A 00 = CVTPI2PS xmm0, [eax]; 0F 2A C0 = CVTPI2PS xmm0, mm0; 66 0F 2A 00 =
        // CVTPI2PD xmm0, [eax].
        assert!(sdm_mmx_transition(&t("[15, 42, 0]")));
        assert!(!sdm_mmx_transition(&t("[15, 42, 192]")));
        assert!(!sdm_mmx_transition(&t("[102, 15, 42, 0]")));
        // Recorded TOP 3 (fsw 1800h): differs from the SDM's transition; TOP 0 with every
        // tag valid does not.
        let r = |fsw: u32, aftw: u32| -> Value {
            serde_json::from_str(&format!(
                "{{\"initial\": {{\"simd\": {{\"fsw\": {fsw}, \"aftw\": {aftw}}}}}, \"final\": {{\"simd\": {{}}}}}}"
            ))
            .unwrap()
        };
        assert!(recorded_without_transition(&r(0x1800, 0xFF)));
        assert!(recorded_without_transition(&r(0, 0x0F)));
        assert!(!recorded_without_transition(&r(0, 0xFF)));
    }

    #[test]
    fn approximate_lanes_follow_the_readme_rule() {
        let rel = 1.5 / 4096.0;
        // RCP(2.0) = 0.5 (3F000000h); 3EFFF000h is 0.49997 (relative error 6.1e-5).
        assert!(approx_lane_ok(
            false,
            0x4000_0000,
            0x3EFF_F000,
            0x3F00_0000,
            rel
        ));
        // 3F010000h is 0.50390625: relative error 7.8e-3, beyond 1.5×2^-12.
        assert!(!approx_lane_ok(
            false,
            0x4000_0000,
            0x3EFF_F000,
            0x3F01_0000,
            rel
        ));
        // RSQRT(4.0) = 0.5.
        assert!(approx_lane_ok(
            true,
            0x4080_0000,
            0x3EFF_F000,
            0x3F00_0000,
            rel
        ));
        // A denormal input is exact (+∞), whatever the tolerance.
        assert!(!approx_lane_ok(
            false,
            0x0000_0001,
            0x7F80_0000,
            0x7F7F_FFFF,
            rel
        ));
        // RSQRT of a negative normal: exactly the default NaN.
        assert!(!approx_lane_ok(
            true,
            0xC000_0000,
            0xFFC0_0000,
            0x7FC0_0000,
            rel
        ));
        // RCP of 1.0000000000011B×2^126 and above is ±0 exactly; just below, ±0 or an
        // approximation of 1/x ≈ 1.17549e-38 (the smallest normal) may come.
        assert!(!approx_lane_ok(
            false,
            0xFE80_0C01,
            0x8000_0000,
            0x8080_0000,
            rel
        ));
        assert!(approx_lane_ok(
            false,
            0xFE80_0000,
            0x8080_0000,
            0x8000_0000,
            rel
        ));
        assert!(approx_lane_ok(
            false,
            0x7E80_0000,
            0x0000_0000,
            0x0080_0000,
            rel
        ));
    }

    #[test]
    fn numbers_keep_their_width() {
        assert_eq!(
            num_bits(&serde_json::json!(0xFFFF_FFFFu64), 32),
            Ok(0xFFFF_FFFF)
        );
        assert!(num_bits(&serde_json::json!(0x1_0000_0000u64), 32).is_err());
        assert!(num_bits(&serde_json::json!(256), 8).is_err());
        assert!(num_bits(&serde_json::json!(-1), 32).is_err());
        assert!(num_bits(&serde_json::json!(1.5), 32).is_err());
    }
}
