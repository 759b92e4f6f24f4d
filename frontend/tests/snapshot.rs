//! Machine state files (issue #17, acceptance items 1 and 5): a FreeDOS run saved at
//! its prompt and resumed in a new process ends exactly as the run that went on; bad
//! state files are refused in one line with status 2. What the guest does after the
//! restore is checked against the floppy image's own directory (its file names), not
//! against our output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn freedos() -> PathBuf {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/guests/freedos/freedos-1.44M.img");
    assert!(
        p.is_file(),
        "these tests need ../shared beside the checkout ({})",
        p.display()
    );
    p
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("x86-snapshot-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn run(fda: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_x86"))
        .args(["run", "--headless", "--snapshot", "--timeout", "120"])
        .args(["--rtc", "2024-05-06T07:08:09"])
        .arg("--fda")
        .arg(fda)
        .args(extra)
        .output()
        .unwrap()
}

/// The `--stats` lines that identify the end of a run: the instruction count and the
/// state hash (wall time and MIPS differ between runs).
fn ending(stderr: &[u8]) -> (String, String) {
    let s = String::from_utf8_lossy(stderr);
    let n = s
        .lines()
        .find_map(|l| l.strip_prefix("instructions: "))
        .and_then(|l| l.split(',').next())
        .unwrap_or_else(|| panic!("no instruction count in {s}"))
        .to_string();
    let h = s
        .lines()
        .find_map(|l| l.strip_prefix("state hash: "))
        .unwrap_or_else(|| panic!("no state hash in {s}"))
        .to_string();
    (n, h)
}

#[test]
fn freedos_saved_at_prompt_resumes_identically() {
    let img = freedos();
    let state = temp("s.x86state");
    let (screen_a, screen_b) = (temp("a.txt"), temp("b.txt"));
    let (ser_a, ser_b) = (temp("a.ser"), temp("b.ser"));
    let rest = "dir{enter}{wait 1s}{quit}";
    let a = run(
        &img,
        &[
            "--keys",
            &format!(
                "{{wait-screen \"A:\\>\"}}{{save \"{}\"}}{rest}",
                state.display()
            ),
            "--stats",
            "--screen-text",
            screen_a.to_str().unwrap(),
            "--serial",
            ser_a.to_str().unwrap(),
        ],
    );
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert!(state.is_file());
    let b = run(
        &img,
        &[
            "--load-state",
            state.to_str().unwrap(),
            "--keys",
            rest,
            "--stats",
            "--screen-text",
            screen_b.to_str().unwrap(),
            "--serial",
            ser_b.to_str().unwrap(),
        ],
    );
    assert_eq!(
        b.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    let text_a = std::fs::read(&screen_a).unwrap();
    let text_b = std::fs::read(&screen_b).unwrap();
    // The resumed guest really ran DIR: the listing shows the image's own files.
    let shown = String::from_utf8_lossy(&text_b);
    for f in ["KERNEL   SYS", "COMMAND  COM", "AUTOEXEC BAT"] {
        assert!(shown.contains(f), "no {f} in the resumed screen:\n{shown}");
    }
    assert_eq!(text_a, text_b, "screen text differs");
    assert_eq!(
        std::fs::read(&ser_a).unwrap(),
        std::fs::read(&ser_b).unwrap(),
        "serial output differs"
    );
    assert_eq!(ending(&a.stderr), ending(&b.stderr));
}

/// A state saved right at reset (the first key-script step), for the refusal tests.
fn saved_state(img: &Path, name: &str) -> Vec<u8> {
    let state = temp(name);
    let out = run(
        img,
        &[
            "--keys",
            &format!("{{save \"{}\"}}{{quit}}", state.display()),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&state).unwrap()
}

/// Loads `bytes` as a state and expects status 2 with one stderr line containing `why`.
fn refused(img: &Path, bytes: &[u8], extra: &[&str], why: &str) {
    let p = temp(&format!("bad-{}.x86state", why.replace(' ', "-")));
    std::fs::write(&p, bytes).unwrap();
    let mut args = vec!["--load-state", p.to_str().unwrap(), "--keys", "{quit}"];
    args.extend_from_slice(extra);
    let out = run(img, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{why}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{why}: not one line: {err}"
    );
    assert!(err.contains(why), "{why}: {err}");
}

#[test]
fn bad_state_files_are_refused_in_one_line() {
    let img = freedos();
    let good = saved_state(&img, "good.x86state");
    // The good file loads.
    refused_not(&img, &good);
    refused(&img, &good[..good.len() / 2], &[], "truncated");
    refused(&img, &good[..10], &[], "not an x86 machine state file");
    let mut flipped = good.clone();
    let i = flipped.len() - 100;
    flipped[i] ^= 0x40;
    refused(&img, &flipped, &[], "corrupted");
    let mut future = good.clone();
    future[8..12].copy_from_slice(&2u32.to_le_bytes());
    refused(&img, &future, &[], "format version 2");
    refused(&img, &good, &["--memory", "64"], "memory");
    // Another image: the same floppy with one byte of its free space changed.
    let mut other = std::fs::read(&img).unwrap();
    let last = other.len() - 1;
    other[last] ^= 1;
    let other_img = temp("other.img");
    std::fs::write(&other_img, &other).unwrap();
    refused(&other_img, &good, &[], "other disks");
}

fn refused_not(img: &Path, bytes: &[u8]) {
    let p = temp("ok.x86state");
    std::fs::write(&p, bytes).unwrap();
    let out = run(
        img,
        &["--load-state", p.to_str().unwrap(), "--keys", "{quit}"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A guest that wrote to its floppy under `--snapshot` resumes with those writes: the
/// state file carries the overlay's sectors. FreeDOS's `echo … > FILE` and `type FILE`
/// show it; without `--snapshot` the same state is refused (it would write into the
/// image), in one line with status 2.
#[test]
fn snapshot_overlay_writes_survive_a_restore() {
    let img = freedos();
    let state = temp("overlay.x86state");
    let screen = temp("overlay.txt");
    let a = run(
        &img,
        &[
            "--keys",
            &format!(
                "{{wait-screen \"A:\\>\"}}echo OVERLAY-42 > NOTE.TXT{{enter}}{{wait 2s}}{{save \"{}\"}}{{quit}}",
                state.display()
            ),
        ],
    );
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    let b = run(
        &img,
        &[
            "--load-state",
            state.to_str().unwrap(),
            "--keys",
            "type NOTE.TXT{enter}{wait 2s}{quit}",
            "--screen-text",
            screen.to_str().unwrap(),
        ],
    );
    assert_eq!(
        b.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    let text = std::fs::read_to_string(&screen).unwrap();
    // The typed command line holds "NOTE.TXT", the file's content "OVERLAY-42" only
    // when the restored overlay has the file: count the content's own line.
    assert!(
        text.lines().any(|l| l.trim_end() == "OVERLAY-42"),
        "the written file is back: {text}"
    );
    // The image itself never changed, and a run without --snapshot is refused.
    let copy = temp("overlay-copy.img");
    std::fs::copy(&img, &copy).unwrap();
    let mut perm = std::fs::metadata(&copy).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&copy, perm).unwrap();
    let c = Command::new(env!("CARGO_BIN_EXE_x86"))
        .args(["run", "--headless", "--timeout", "60", "--fda"])
        .arg(&copy)
        .args(["--load-state", state.to_str().unwrap(), "--keys", "{quit}"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&c.stderr);
    assert_eq!(c.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("--snapshot"), "{err}");
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&img).unwrap());
}
