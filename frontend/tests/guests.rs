//! Real guests from ../shared booted end to end (the PC-platform acceptance checks):
//! FreeDOS from floppy with serial output and typed keys, and the bare-metal benchmark
//! disk through INT 13h extensions. Expected outputs come from the guests' READMEs and
//! the floppy's own directory (listed with mtools), not from this emulator.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    assert!(
        p.is_dir(),
        "these tests need ../shared beside the checkout ({})",
        p.display()
    );
    p
}

fn x86() -> Command {
    Command::new(env!("CARGO_BIN_EXE_x86"))
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("x86-guests-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn freedos_boots_from_floppy_and_reports_on_com1() {
    let img = temp("fd-serial.img");
    std::fs::copy(shared().join("guests/freedos/freedos-1.44M.img"), &img).unwrap();
    let bat = temp("autoexec.bat");
    std::fs::write(
        &bat,
        "ECHO OFF\r\nECHO BOOT-OK > COM1\r\nVER > COM1\r\nDIR A:\\ > COM1\r\n",
    )
    .unwrap();
    let st = Command::new("mcopy")
        .args(["-o", "-i"])
        .arg(&img)
        .arg(&bat)
        .arg("::AUTOEXEC.BAT")
        .status();
    assert!(
        st.is_ok_and(|s| s.success()),
        "mcopy failed: install mtools (apt-get install mtools)"
    );
    let serial = temp("com1.txt");
    let out = x86()
        .args([
            "run",
            "--headless",
            "--rtc",
            "2026-01-01T00:00:00",
            "--timeout",
            "60",
            "--until",
            "bytes free",
            "--fda",
        ])
        .arg(&img)
        .arg("--serial")
        .arg(&serial)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&serial).unwrap();
    assert!(text.contains("BOOT-OK"), "{text}");
    assert!(text.contains("FreeCom version 0.82 pl 3"), "{text}");
    // The floppy holds KERNEL.SYS (45450 bytes) and COMMAND.COM (66090 bytes).
    assert!(text.contains("KERNEL   SYS        45,450"), "{text}");
    assert!(text.contains("COMMAND  COM        66,090"), "{text}");
}

#[test]
fn keys_typed_at_the_freedos_prompt_run_dir() {
    let screen = temp("screen.txt");
    let out = x86()
        .args([
            "run",
            "--headless",
            "--snapshot",
            "--timeout",
            "60",
            "--until",
            "bytes free",
        ])
        .args(["--keys", "{wait-screen \"A:\\>\"}dir{enter}", "--fda"])
        .arg(shared().join("guests/freedos/freedos-1.44M.img"))
        .arg("--screen-text")
        .arg(&screen)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&screen).unwrap();
    assert!(text.contains("A:\\>dir"), "{text}");
    assert!(text.contains("README   TXT           214"), "{text}");
}

#[test]
fn ver_typed_at_the_prompt_until_freecom() {
    // The frontend issue's acceptance command, exactly.
    let out = x86()
        .args(["run", "--headless", "--snapshot", "--timeout", "60"])
        .args([
            "--keys",
            "{wait-screen \"A:\\>\"}ver{enter}",
            "--until",
            "FreeCom",
        ])
        .arg(shared().join("guests/freedos/freedos-1.44M.img"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // And with the command's output itself checked: after AUTOEXEC has cleared the
    // screen, `ver` prints FreeCOM's version line below the typed command.
    let screen = temp("ver.txt");
    let out = x86()
        .args([
            "run",
            "--headless",
            "--snapshot",
            "--timeout",
            "60",
            "--keys",
        ])
        .arg("{wait-screen \"A:\\>\"}{wait 2s}ver{enter}{wait-screen \"FreeCom version\"}{quit}")
        .arg("--screen-text")
        .arg(&screen)
        .arg(shared().join("guests/freedos/freedos-1.44M.img"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&screen).unwrap();
    let at = text.find("A:\\>ver").unwrap_or_else(|| panic!("{text}"));
    assert!(text[at..].contains("FreeCom version 0.82"), "{text}");
}

#[test]
fn bench_guest_prints_the_reference_checksums() {
    let out = x86()
        .args([
            "run",
            "--headless",
            "--snapshot",
            "--debugcon",
            "stdio",
            "--timeout",
            "120",
            "--hda",
        ])
        .arg(shared().join("bench-guest/bench.img"))
        .output()
        .unwrap();
    // The guest exits through isa-debug-exit with value 0: status (0 << 1) | 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let first: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("memcpy"))
        .skip(1)
        .take(6)
        .collect();
    // The first round's checksums from bench-guest/README.md.
    assert_eq!(
        first,
        [
            "crc32 15d7c37a",
            "matmul 43aef160",
            "sieve 0004840b",
            "qsort 9fa3186e",
            "fib 0002ff42",
            "vm 4eef6069"
        ],
        "{text}"
    );
    assert!(text.contains("bench-done"));
}

#[test]
fn syslinux_loads_the_linux_kernel_and_initrd_through_int13() {
    // Needs the disk from ../shared/guests/linux/build.sh (OUT=../shared-build or
    // $X86_LINUX_DISK); skipped with a message when it has not been built.
    let disk = std::env::var("X86_LINUX_DISK")
        .map(PathBuf::from)
        .unwrap_or_else(|_| shared().join("guests/linux/out/linux-disk.img"));
    if !disk.is_file() {
        eprintln!(
            "skipping: no {} (run ../shared/guests/linux/build.sh)",
            disk.display()
        );
        return;
    }
    let screen = temp("syslinux.txt");
    let out = x86()
        .args([
            "run",
            "--headless",
            "--snapshot",
            "--timeout",
            "60",
            "--hda",
        ])
        .arg(&disk)
        .arg("--screen-text")
        .arg(&screen)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&screen).unwrap();
    assert!(text.contains("SYSLINUX 6.04 EDD"), "{text}");
    assert!(
        !text.contains("Could not find kernel image") && !text.contains("Boot failed"),
        "{text}"
    );
}
