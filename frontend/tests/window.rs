//! The desktop window, end to end: it needs an X display, so these tests are
//! `#[ignore]`d and `scripts/test.sh` runs them under `xvfb-run` (CI installs Xvfb).
//!
//! FreeDOS boots in the window with real-time pacing (the window's default) until its
//! prompt shows; the screenshot and the text dump are taken at the same moment, at
//! exit. The text dump proves the prompt is there; the PNG is checked to be the
//! 720×400 text-mode frame with the prompt's glyphs drawn where the dump puts them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// One window at a time: the record/replay test types through the X server into the
/// focused window, which must be its own.
fn display_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("x86-window-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn read_png(p: &Path) -> (Vec<u8>, usize, usize) {
    let dec = png::Decoder::new(std::fs::File::open(p).unwrap());
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (buf, info.width as usize, info.height as usize)
}

#[test]
#[ignore = "needs an X display: run under xvfb-run (scripts/test.sh does)"]
fn freedos_prompt_in_the_window_and_its_screenshot() {
    let _display = display_lock();
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run under xvfb-run"
    );
    let png_path = std::env::var_os("X86_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp("freedos.png"));
    let text_path = temp("freedos.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_x86"))
        .args(["run", "--snapshot", "--rtc", "2026-01-01T00:00:00"])
        .args(["--log", "window=info", "--timeout", "120", "--keys"])
        .arg("{wait-screen \"A:\\>\"}{wait 2s}ver /r{enter}{wait-screen \"kernel version\"}{wait 1s}{quit}")
        .arg("--screenshot")
        .arg(&png_path)
        .arg("--screen-text")
        .arg(&text_path)
        .arg("--fda")
        .arg(shared().join("guests/freedos/freedos-1.44M.img"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("window open"), "the window opened: {err}");
    let text = std::fs::read_to_string(&text_path).unwrap();
    // FreeCOM's `ver /r` output, then (after a blank line) the prompt again.
    assert!(text.contains("DOS version 7.10"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let after = lines
        .iter()
        .position(|l| l.starts_with("FreeDOS kernel version"))
        .unwrap_or_else(|| panic!("no `ver /r` output in the text dump:\n{text}"));
    let row = (after + 1..lines.len())
        .find(|&r| !lines[r].is_empty())
        .unwrap_or_else(|| panic!("no prompt after the command:\n{text}"));
    assert_eq!(lines[row], "A:\\>", "the prompt after the command:\n{text}");
    let (rgb, w, h) = read_png(&png_path);
    assert_eq!((w, h), (720, 400), "80×25 text with 9×16 cells");
    // Each of the prompt's four cells (9×16 pixels) has pixels that differ from the
    // background colour, taken from the blank last cell of the line.
    let cell_lit = |col: usize| -> usize {
        let mut lit = 0;
        for y in row * 16..row * 16 + 16 {
            for x in col * 9..col * 9 + 9 {
                let i = (y * w + x) * 3;
                if rgb[i..i + 3] != rgb[(row * 16 * w + 79 * 9) * 3..][..3] {
                    lit += 1;
                }
            }
        }
        lit
    };
    for col in 0..4 {
        assert!(cell_lit(col) >= 4, "prompt cell {col} has its glyph drawn");
    }
    assert_eq!(cell_lit(60), 0, "a blank cell is background only");
}

/// The window with a debugger: `--wait-gdb` holds the guest, GDB breaks at the boot
/// sector, and while the guest is stopped the window's loop goes on (it answers GDB
/// and its title, redrawn twice a second, says so); after `detach` FreeDOS boots to its
/// prompt in the window. Skipped (passing) without `gdb`.
#[test]
#[ignore = "needs an X display: run under xvfb-run (scripts/test.sh does)"]
fn gdb_stops_and_detaches_a_guest_in_the_window() {
    let _display = display_lock();
    if Command::new("gdb").arg("--version").output().is_err() {
        eprintln!("SKIPPED: the window GDB test: no `gdb` on the PATH (apt-get install gdb)");
        return;
    }
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run under xvfb-run"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text_path = temp("gdb-window.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_x86"))
        .args(["run", "--snapshot", "--timeout", "120", "--until", "A:\\>"])
        .args(["--gdb", &format!("tcp::{port}"), "--wait-gdb"])
        .arg("--screen-text")
        .arg(&text_path)
        .arg("--fda")
        .arg(shared().join("guests/freedos/freedos-1.44M.img"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The stub listens before the window opens and says so.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert!(line.contains("waiting for GDB"), "{line}");
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        rest
    });
    let title = Command::new("xwininfo").arg("-version").output().is_ok();
    let mut cmds = vec![
        format!("target remote 127.0.0.1:{port}"),
        "break *0x7c00".into(),
        "continue".into(),
        "printf \"STOPPED AT %x\\n\", $eip".into(),
        "shell sleep 1.2".into(),
    ];
    if title {
        cmds.push("shell xwininfo -root -tree | grep -o 'stopped in GDB' | head -1".into());
    }
    cmds.extend(["monitor regs".to_string(), "delete".into(), "detach".into()]);
    let mut gdb = Command::new("timeout");
    gdb.args(["60", "gdb", "-batch", "-nx"]);
    for c in &cmds {
        gdb.args(["-ex", c]);
    }
    let out = gdb.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("STOPPED AT 7c00"), "{text}");
    if title {
        assert!(text.contains("stopped in GDB"), "window title: {text}");
    } else {
        eprintln!("xwininfo not installed: the window title was not checked");
    }
    assert!(
        text.contains("mode real, CPL 0"),
        "monitor regs while stopped: {text}"
    );
    assert!(text.contains("detached"), "{text}");
    let status = child.wait().unwrap();
    let rest = drain.join().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    let screen = std::fs::read_to_string(&text_path).unwrap();
    assert!(screen.contains("A:\\>"), "{screen}");
}

/// Issue 17, acceptance 3: a FreeDOS session in the window, typed by xdotool through
/// the X server with real-time pacing and the host clock as the RTC, is recorded, then
/// replayed headless: the replay ends at the same instruction count with the same text
/// screen and the same (empty) serial output. The test watches the screen through the
/// window's Ctrl+Alt+S text dumps, which the guest never sees. Skipped (passing, loudly)
/// without `xdotool`.
#[test]
#[ignore = "needs an X display: run under xvfb-run (scripts/test.sh does)"]
fn a_window_session_typed_by_xdotool_replays_headless() {
    let _display = display_lock();
    if Command::new("xdotool").arg("version").output().is_err() {
        eprintln!("SKIPPED: the window record/replay test: no `xdotool` (apt-get install xdotool)");
        return;
    }
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run under xvfb-run"
    );
    let dir = temp("replay");
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("session.x86rec");
    let floppy = shared().join("guests/freedos/freedos-1.44M.img");
    let child = Command::new(env!("CARGO_BIN_EXE_x86"))
        .current_dir(&dir)
        .args([
            "run",
            "--snapshot",
            "--scale",
            "1",
            "--timeout",
            "300",
            "--stats",
        ])
        .args([
            "--serial",
            "rec-serial.txt",
            "--screen-text",
            "rec-screen.txt",
        ])
        .arg("--record")
        .arg(&rec)
        .arg("--fda")
        .arg(&floppy)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let xdo = |args: &[&str]| {
        let out = Command::new("xdotool").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let win = xdo(&["search", "--sync", "--name", "^x86 "]);
    let win = win.lines().next().unwrap_or("").to_string();
    assert!(!win.is_empty(), "the window appeared");
    xdo(&["windowfocus", "--sync", &win]);
    // Takes a text dump with Ctrl+Alt+S until it shows `want`; returns it.
    let mut shots = 0;
    let mut wait_for = |want: &str| -> String {
        for _ in 0..240 {
            xdo(&["windowfocus", "--sync", &win]);
            xdo(&["key", "ctrl+alt+s"]);
            shots += 1;
            std::thread::sleep(std::time::Duration::from_millis(500));
            let t = std::fs::read_to_string(dir.join(format!("x86-screenshot-{shots}.txt")))
                .unwrap_or_default();
            if t.contains(want) {
                return t;
            }
        }
        panic!("{want:?} never appeared on the screen");
    };
    wait_for("A:\\>");
    xdo(&["type", "--delay", "120", "ver"]);
    xdo(&["key", "Return"]);
    wait_for("FreeCom version");
    xdo(&["type", "--delay", "120", "dir"]);
    xdo(&["key", "Return"]);
    wait_for("bytes free");
    xdo(&["key", "ctrl+alt+q"]);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{err}");
    let recording = std::fs::read_to_string(&rec).unwrap();
    // xdotool's keys reached the guest through the recorded path: `v` is set-1 2Fh.
    assert!(
        recording.contains(r#"{"kind":"key","code":47,"ext":false,"down":true}"#),
        "{recording}"
    );
    let rec_screen = std::fs::read_to_string(dir.join("rec-screen.txt")).unwrap();
    assert!(rec_screen.contains("bytes free"), "{rec_screen}");

    let rep = Command::new(env!("CARGO_BIN_EXE_x86"))
        .current_dir(&dir)
        .args([
            "run",
            "--headless",
            "--snapshot",
            "--timeout",
            "300",
            "--stats",
        ])
        .args([
            "--serial",
            "rep-serial.txt",
            "--screen-text",
            "rep-screen.txt",
        ])
        .arg("--replay")
        .arg(&rec)
        .arg("--fda")
        .arg(&floppy)
        .output()
        .unwrap();
    let rep_err = String::from_utf8_lossy(&rep.stderr).to_string();
    assert_eq!(rep.status.code(), Some(0), "{rep_err}");
    assert!(rep_err.contains("replay complete"), "{rep_err}");
    let count = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("instructions: "))
            .and_then(|l| l.split(',').next())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no --stats line in {s}"))
    };
    assert_eq!(count(&rep_err), count(&err), "instruction count");
    // The machine-state hash of --stats (CPU, RAM and every device) at the end.
    let hash = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("state hash: "))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no state hash in {s}"))
    };
    assert_eq!(hash(&rep_err), hash(&err), "state hash");
    let rep_screen = std::fs::read_to_string(dir.join("rep-screen.txt")).unwrap();
    assert_eq!(rep_screen, rec_screen, "the text screen at the end");
    assert_eq!(
        std::fs::read(dir.join("rep-serial.txt")).unwrap(),
        std::fs::read(dir.join("rec-serial.txt")).unwrap(),
        "COM1 output"
    );
}
