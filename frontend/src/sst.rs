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
use std::io::Read;
use std::path::{Path, PathBuf};

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
struct FormInfo {
    skip_reason: Option<String>,
    flags_mask: u32,
    /// x87 status-word compare mask (`fsw-mask`).
    fsw_mask: u16,
    /// Transcendental forms: results counted apart (Intel specifies their accuracy, not
    /// their bits).
    transcendental: bool,
}

struct Suite {
    metadata: Option<Value>,
    revoked: HashSet<String>,
}

impl Suite {
    fn load(dir: &Path) -> Result<Suite, String> {
        let metadata = match std::fs::read_to_string(dir.join("metadata.json")) {
            Ok(s) => Some(
                serde_json::from_str(&s)
                    .map_err(|e| format!("{}: {e}", dir.join("metadata.json").display()))?,
            ),
            Err(_) => None,
        };
        let revoked = std::fs::read_to_string(dir.join("revocation_list.txt"))
            .map(|s| {
                s.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Suite { metadata, revoked })
    }

    /// Looks up a form such as `80.3` or `660FA5`.
    fn form(&self, stem: &str, profile: Profile) -> FormInfo {
        let default_mask = match profile {
            Profile::Real16 => 0xFFFF,
            Profile::Pm32 => 0xFFFE_FFFF,
        };
        let mut info = FormInfo {
            skip_reason: None,
            flags_mask: default_mask,
            fsw_mask: 0xFFFF,
            transcendental: false,
        };
        let Some(ops) = self.metadata.as_ref().and_then(|m| m.get("opcodes")) else {
            return info;
        };
        let (op, reg) = match stem.split_once('.') {
            Some((o, r)) => (o, Some(r)),
            None => (stem, None),
        };
        // Group forms are keyed either flat ("C1.4") or nested under "reg".
        let Some(mut entry) = ops.get(stem).or_else(|| ops.get(op)) else {
            return info;
        };
        if let (Some(r), Some(regs)) = (reg, entry.get("reg")) {
            if let Some(e) = regs.get(r) {
                entry = e;
            }
        }
        if let Some(m) = entry.get("flags-mask").and_then(Value::as_u64) {
            info.flags_mask = m as u32;
        }
        if let Some(m) = entry.get("fsw-mask").and_then(Value::as_u64) {
            info.fsw_mask = m as u16;
        }
        if entry.get("note").and_then(Value::as_str) == Some("transcendental") {
            info.transcendental = true;
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
        info
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
}

fn read_tests(path: &Path) -> Result<Vec<Value>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .map_err(|e| format!("{}: not a gzip'd JSON file: {e}", path.display()))?;
        s
    } else {
        String::from_utf8(bytes).map_err(|e| format!("{}: not UTF-8: {e}", path.display()))?
    };
    match serde_json::from_str(&text)
        .map_err(|e| format!("{}: invalid JSON: {e}", path.display()))?
    {
        Value::Array(v) => Ok(v),
        _ => Err(format!(
            "{}: expected a JSON array of tests",
            path.display()
        )),
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

fn num(v: &Value) -> Result<u32, String> {
    v.as_u64()
        .map(|x| x as u32)
        .ok_or_else(|| format!("expected a number, got {v}"))
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
    let get = |k: &str| -> Result<u32, String> { regs.get(k).map(num).unwrap_or(Ok(0)) };
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
                if let Some(v) = regs.get(n) {
                    cpu.seg[s].selector = num(v)? as u16;
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
            let a = cell.get(0).map(num).ok_or("bad ram entry")??;
            let v = cell.get(1).map(num).ok_or("bad ram entry")??;
            bus.write8(a, v as u8);
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
    Ok(())
}

fn fpu_word(f: &Value, k: &str) -> Result<u16, String> {
    f.get(k)
        .map(num)
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
        match fin.get(k).or_else(|| init.get(k)) {
            Some(v) => num(v).map(Some),
            None => Ok(None),
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
            let a = cell.get(0).map(num).ok_or("bad ram entry")??;
            let exp = cell.get(1).map(num).ok_or("bad ram entry")?? as u8;
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
    Ok(Outcome { diffs, near })
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
            println!("{name}: 0 passed, 0 failed");
            continue;
        };
        let profile = profile_of(first).map_err(|e| format!("{}: {e}", f.display()))?;
        let info = suite.form(&stem_of(f), profile);
        if let Some(reason) = &info.skip_reason {
            totals.skipped += tests.len() as u64;
            skipped_forms.push(format!("{} ({reason})", stem_of(f)));
            println!("{name}: skipped {} ({reason})", tests.len());
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
            if let Some(why) = architectural_difference(t, tp) {
                totals.skipped += 1;
                *arch_skips.entry(why).or_insert(0u64) += 1;
                continue;
            }
            let out =
                run_test(&mut cpu, t, tp, &info).map_err(|e| format!("{}: {e}", f.display()))?;
            let diffs = out.diffs;
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
                    println!("  FAIL #{idx} {tname} [{}]", bytes.join(" "));
                    for d in diffs {
                        println!("    {d}");
                    }
                }
            }
        }
        if info.transcendental {
            println!("{name}: {tx} within 1 ulp, {fl} beyond (transcendental: outside the totals)");
            continue;
        }
        println!("{name}: {p} passed, {fl} failed");
        totals.passed += p;
        totals.failed += fl;
    }
    if totals.trans_total > 0 {
        println!(
            "transcendental: {} of {} results bit-exact, {} within 1 ulp",
            totals.trans_exact, totals.trans_total, totals.trans_ulp
        );
    }
    if !skipped_forms.is_empty() {
        println!(
            "skipped forms outside the pass rate: {}",
            skipped_forms.join(", ")
        );
    }
    for (why, n) in &arch_skips {
        println!("skipped {n} tests: {why}");
    }
    Ok(totals)
}
