//! Disk images survive whatever ends a run: signals, SIGKILL, a full host disk, a
//! failing dump path, a second run on the same image; and images that cannot be disks
//! (FIFOs, devices, read-only hard disks) are refused before anything is read.
//!
//! The guest is a boot floppy assembled here with NASM: it writes sector k (k = 1…255)
//! of hard disk 80h (and 81h with TWO) through INT 13h AH=43h, every byte of it k, and
//! prints `w` on the debug console after each round of writes (`E` for a failed one).
//! So sector k of a disk holds either its old bytes or 512 bytes of k — any other
//! content is a torn or misplaced write. (A kill lands between two writes almost
//! always, so these runs show that completed writes are in the file and that sectors
//! are whole; they cannot force the rare kill inside a pwrite.)

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECTOR: usize = 512;
const FLOPPY: usize = 1_474_560;

fn x86() -> Command {
    Command::new(env!("CARGO_BIN_EXE_x86"))
}

/// A test's own temporary directory, removed when the test ends (also on failure).
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let d =
            std::env::temp_dir().join(format!("x86-safety-disks-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const GUEST: &str = r#"
bits 16
org 0x7C00
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    sti
again:
    mov byte [val], 1
.next:
    mov di, 0x8000
    mov al, [val]
    mov cx, 512
    rep stosb
    mov dl, 0x80
    call write
%if TWO
    mov dl, 0x81
    call write
%endif
    mov al, 'w'
    out 0xE9, al
    inc byte [val]
    jnz .next
%if ONCE
    mov al, 0
    out 0xF4, al
%endif
    jmp again

write:
    mov al, [val]
    mov [dap + 8], al
    ; A failed call sets the packet's block count to what moved (EDD 3.0): reload it.
    mov word [dap + 2], 1
    mov si, dap
    mov ax, 0x4300
    int 0x13
    jnc .ok
    mov al, 'E'
    out 0xE9, al
.ok:
    ret

align 4
dap: db 16, 0
    dw 1
    dw 0x8000, 0
    dq 0
val: db 0
    times 510 - ($ - $$) db 0
    dw 0xAA55
"#;

/// A 1.44 MB boot floppy holding the guest assembled with these NASM defines.
fn guest_floppy(dir: &Dir, name: &str, defines: &[(&str, u32)]) -> PathBuf {
    let src = dir.path(&format!("{name}.asm"));
    std::fs::write(&src, GUEST).unwrap();
    let bin = dir.path(&format!("{name}.bin"));
    let mut nasm = Command::new("nasm");
    nasm.args(["-f", "bin", "-o"]).arg(&bin);
    for (k, v) in defines {
        nasm.arg(format!("-D{k}={v}"));
    }
    let st = nasm
        .arg(&src)
        .status()
        .expect("nasm (apt-get install nasm)");
    assert!(st.success());
    let mut img = std::fs::read(&bin).unwrap();
    assert_eq!(img.len(), SECTOR);
    img.resize(FLOPPY, 0);
    let p = dir.path(&format!("{name}-boot.img"));
    std::fs::write(&p, img).unwrap();
    p
}

fn zero_disk(dir: &Dir, name: &str, sectors: usize) -> PathBuf {
    let p = dir.path(name);
    std::fs::write(&p, vec![0u8; sectors * SECTOR]).unwrap();
    p
}

/// Checks every sector 1…255 holds 0s or its own number; returns how many were written.
fn written_sectors(img: &Path, len: usize) -> usize {
    let data = std::fs::read(img).unwrap();
    assert_eq!(data.len(), len, "image size changed");
    let mut n = 0;
    for k in 1..=255usize {
        let s = &data[k * SECTOR..(k + 1) * SECTOR];
        if s.iter().all(|&b| b == k as u8) {
            n += 1;
        } else {
            assert!(s.iter().all(|&b| b == 0), "sector {k} torn or misplaced");
        }
    }
    assert!(data[..SECTOR].iter().all(|&b| b == 0), "sector 0 untouched");
    n
}

fn start(args: &[&str], paths: &[(&str, &Path)], debugcon: &Path) -> Child {
    let mut c = x86();
    c.args(["run", "--headless", "--boot", "a", "--timeout", "60"]);
    c.args(args);
    for (flag, p) in paths {
        c.arg(flag).arg(p);
    }
    c.arg("--debugcon").arg(debugcon);
    c.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the debug console shows `n` completed rounds of writes.
fn wait_for_rounds(child: &mut Child, debugcon: &Path, n: usize) {
    let t = Instant::now();
    loop {
        let text = std::fs::read(debugcon).unwrap_or_default();
        if text.iter().filter(|&&b| b == b'w').count() >= n {
            return;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("x86 ended early: {st}");
        }
        assert!(t.elapsed() < Duration::from_secs(30), "guest never wrote");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: &str) {
    let st = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

fn stderr_of(child: Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sigterm_sigint_and_sighup_end_the_run_and_keep_the_guests_writes() {
    let dir = Dir::new("sigterm_sigint_and_sighu");
    let fd = guest_floppy(&dir, "sig", &[("TWO", 0), ("ONCE", 0)]);
    for (sig, status) in [("-TERM", 143), ("-INT", 130), ("-HUP", 129)] {
        let hd = zero_disk(&dir, &format!("sig{status}.img"), 1024);
        let con = dir.path(&format!("sig{status}.txt"));
        let mut child = start(&[], &[("--fda", &fd), ("--hda", &hd)], &con);
        wait_for_rounds(&mut child, &con, 3);
        signal(&child, sig);
        let (code, err) = stderr_of(child);
        assert_eq!(code, Some(status), "{err}");
        assert!(
            err.contains("stopped by SIG") && err.contains("disks saved"),
            "{err}"
        );
        assert!(written_sectors(&hd, 1024 * SECTOR) >= 3);
    }
}

#[test]
fn sigkill_leaves_old_content_plus_whole_written_sectors() {
    let dir = Dir::new("sigkill_leaves_old_conte");
    let fd = guest_floppy(&dir, "kill", &[("TWO", 0), ("ONCE", 0)]);
    for round in 0..3 {
        let hd = zero_disk(&dir, &format!("kill{round}.img"), 1024);
        let con = dir.path(&format!("kill{round}.txt"));
        let mut child = start(&[], &[("--fda", &fd), ("--hda", &hd)], &con);
        wait_for_rounds(&mut child, &con, 20 + 40 * round);
        child.kill().unwrap();
        child.wait().unwrap();
        let rounds = std::fs::read(&con)
            .unwrap()
            .iter()
            .filter(|&&b| b == b'w')
            .count();
        // Every write the guest saw complete is in the file, whole.
        assert!(written_sectors(&hd, 1024 * SECTOR) >= rounds.min(255));
    }
}

#[test]
fn a_failing_dump_path_does_not_lose_the_disk() {
    let dir = Dir::new("a_failing_dump_path_does");
    let fd = guest_floppy(&dir, "dump", &[("TWO", 0), ("ONCE", 1)]);
    let hd = zero_disk(&dir, "dump.img", 1024);
    let con = dir.path("dump.txt");
    let child = start(
        &["--screen-text", "/nonexistent-dir/screen.txt"],
        &[("--fda", &fd), ("--hda", &hd)],
        &con,
    );
    let (code, err) = stderr_of(child);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("/nonexistent-dir/screen.txt"), "{err}");
    assert_eq!(written_sectors(&hd, 1024 * SECTOR), 255);
}

#[test]
fn a_second_run_on_the_same_image_is_refused_naming_the_first() {
    let dir = Dir::new("a_second_run_on_the_same");
    let fd = guest_floppy(&dir, "lock", &[("TWO", 0), ("ONCE", 0)]);
    let hd = zero_disk(&dir, "lock.img", 1024);
    let con = dir.path("lock.txt");
    let mut first = start(&[], &[("--fda", &fd), ("--hda", &hd)], &con);
    wait_for_rounds(&mut first, &con, 1);
    for extra in [&[][..], &["--snapshot"][..]] {
        let out = x86()
            .args(["run", "--headless", "--timeout", "10"])
            .args(extra)
            .arg("--hda")
            .arg(&hd)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("in use by x86 (pid {})", first.id())),
            "{err}"
        );
    }
    signal(&first, "-TERM");
    assert_eq!(stderr_of(first).0, Some(143));
    // Two --snapshot runs share the image: both run (wait_for_rounds fails if one
    // ended), and neither changes it.
    let (con_a, con_b) = (dir.path("lock-a.txt"), dir.path("lock-b.txt"));
    let mut a = start(&["--snapshot"], &[("--fda", &fd), ("--hda", &hd)], &con_a);
    let mut b = start(&["--snapshot"], &[("--fda", &fd), ("--hda", &hd)], &con_b);
    wait_for_rounds(&mut a, &con_a, 3);
    wait_for_rounds(&mut b, &con_b, 3);
    assert!(a.try_wait().unwrap().is_none() && b.try_wait().unwrap().is_none());
    let before = std::fs::read(&hd).unwrap();
    a.kill().unwrap();
    b.kill().unwrap();
    let _ = (a.wait(), b.wait());
    assert_eq!(std::fs::read(&hd).unwrap(), before);
}

#[test]
fn one_image_in_two_drives_is_refused_by_name() {
    let dir = Dir::new("one_image_in_two_drives");
    let hd = zero_disk(&dir, "twice.img", 64);
    let link = dir.path("link.img");
    std::os::unix::fs::symlink(&hd, &link).unwrap();
    for second in [&hd, &link] {
        for extra in [&[][..], &["--snapshot"][..]] {
            let out = x86()
                .args(["run", "--headless", "--timeout", "10"])
                .args(extra)
                .arg("--hda")
                .arg(&hd)
                .arg("--hdb")
                .arg(second)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains("given twice (--hda and --hdb)"), "{err}");
        }
    }
}

#[test]
fn fifos_and_devices_are_refused_at_start() {
    let dir = Dir::new("read_only_images_fifos_a");
    use std::os::unix::fs::PermissionsExt;
    let ro = zero_disk(&dir, "ro.img", 1024);
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
    let fifo = dir.path("fifo.img");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            vec!["--hda".as_ref(), fifo.as_os_str()],
            "not a regular file",
        ),
        (vec![fifo.as_os_str()], "not a regular file"),
        (
            vec!["--hda".as_ref(), "/dev/zero".as_ref()],
            "not a regular file",
        ),
        (vec!["/dev/zero".as_ref()], "not a regular file"),
        (
            vec!["--fda".as_ref(), "/dev/zero".as_ref()],
            "not a regular file",
        ),
    ];
    for (args, want) in cases {
        let t = Instant::now();
        let mut child = x86()
            .args(["run", "--headless", "--timeout", "20"])
            .args(&args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // A FIFO must not be opened for reading (that blocks until a writer comes).
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > Duration::from_secs(10) {
                child.kill().unwrap();
                panic!("x86 {args:?} hangs");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let (code, err) = stderr_of(child);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("x86: ") && err.contains(want),
            "{args:?}: {err}"
        );
    }
    // A read-only hard disk runs with its writes kept in memory: with --snapshot
    // silently, without it as if --snapshot had been given, said in one warning. The
    // image is never written either way.
    let fd = guest_floppy(&dir, "ro", &[("TWO", 0), ("ONCE", 1)]);
    for snapshot in [true, false] {
        let out = x86()
            .args(["run", "--headless", "--boot", "a", "--timeout", "60"])
            .args(snapshot.then_some("--snapshot"))
            .arg("--fda")
            .arg(&fd)
            .arg("--hda")
            .arg(&ro)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(!out.stdout.contains(&b'E'), "writes succeed in the overlay");
        assert_eq!(std::fs::read(&ro).unwrap(), vec![0u8; 1024 * SECTOR]);
        let warned = err
            .lines()
            .filter(|l| l.contains("read-only") && l.contains("as with --snapshot"))
            .count();
        assert_eq!(warned, usize::from(!snapshot), "{err}");
    }
}

/// Peak resident memory of a child in KB (VmHWM), sampled until it exits.
fn peak_rss_kb(child: &mut Child) -> u64 {
    let mut peak = 0;
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
            if let Some(v) = s.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                peak = peak.max(kb);
            }
        }
        assert!(t.elapsed() < Duration::from_secs(60), "x86 hangs");
        std::thread::sleep(Duration::from_millis(5));
    }
    peak
}

#[test]
fn an_8_gib_image_costs_memory_only_for_what_the_guest_touches() {
    let dir = Dir::new("an_8_gib_image_costs_mem");
    let fd = guest_floppy(&dir, "big", &[("TWO", 0), ("ONCE", 1)]);
    let big = dir.path("big.img");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(8 << 30).unwrap();
    drop(f);
    let con = dir.path("big.txt");
    let mut child = start(
        &["--memory", "16"],
        &[("--fda", &fd), ("--hda", &big)],
        &con,
    );
    let peak = peak_rss_kb(&mut child);
    let (code, err) = stderr_of(child);
    assert_eq!(code, Some(1), "{err}");
    // 16 MB of guest RAM plus the emulator; the image itself is never held.
    assert!(peak < 256 * 1024, "peak RSS {peak} kB");
    let data = std::fs::File::open(&big).unwrap();
    let mut s = [0u8; SECTOR];
    std::os::unix::fs::FileExt::read_exact_at(&data, &mut s, 200 * SECTOR as u64).unwrap();
    assert_eq!(s, [200u8; SECTOR]);
    assert_eq!(std::fs::metadata(&big).unwrap().len(), 8 << 30);
    let _ = std::fs::remove_file(&big);
}

#[test]
fn a_full_host_disk_is_reported_in_one_line_and_other_disks_are_saved() {
    let dir = Dir::new("a_full_host_disk_is_repo");
    // A 64 KB tmpfs holding a sparse 512 KB image: the guest's writes fill it.
    let mnt = dir.path("full-mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("full-disk test skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    // Unmounted however the test ends, before its directory is removed.
    struct Mount(PathBuf);
    impl Drop for Mount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let mount = Mount(mnt.clone());
    let small = mnt.join("sparse.img");
    std::fs::File::create(&small)
        .unwrap()
        .set_len(1024 * SECTOR as u64)
        .unwrap();
    let other = zero_disk(&dir, "full-other.img", 1024);
    let fd = guest_floppy(&dir, "full", &[("TWO", 1), ("ONCE", 1)]);
    let con = dir.path("full.txt");
    let child = start(
        &[],
        &[("--fda", &fd), ("--hda", &small), ("--hdb", &other)],
        &con,
    );
    let (code, err) = stderr_of(child);
    let written = written_sectors(&small, 1024 * SECTOR);
    drop(mount);
    assert_eq!(code, Some(1), "the guest saw errors and went on: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("x86: ") && lines[0].contains("No space left"),
        "{err}"
    );
    assert!(written > 0 && written < 255, "{written} sectors fit");
    assert!(
        std::fs::read(&con).unwrap().contains(&b'E'),
        "the guest saw the error"
    );
    assert_eq!(
        written_sectors(&other, 1024 * SECTOR),
        255,
        "the other disk has all"
    );
}
