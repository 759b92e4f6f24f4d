//! Direct kernel boot (`x86 run --kernel`): the project's Multiboot test kernel
//! (`test-roms/kernels/multiboot.asm`, assembled here with NASM in its a.out-kludge and
//! ELF32 forms) and its Linux boot protocol test image (`linux16.asm`) report what the
//! loader handed them on port 0xE9, checked against values worked out by hand from
//! `--memory`, the Multiboot Specification 0.6.96 and Documentation/arch/x86/boot.rst;
//! bad kernels and initrds end with one error line and status 2.

use std::path::{Path, PathBuf};
use std::process::Command;

fn work_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("x86-kernel-boot-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Assembles the Multiboot test kernel; `elf` selects the ELF32 form. `tag` names the
/// output file: tests run in parallel, and one must not read another's half-written file.
fn kernel(elf: bool, tag: &str) -> PathBuf {
    assemble(
        "multiboot",
        &format!("{tag}-mb.{}", if elf { "elf" } else { "bin" }),
        elf,
    )
}

/// Assembles `test-roms/kernels/NAME.asm` into `out` (with -DELF if `elf`).
fn assemble(name: &str, out: &str, elf: bool) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-roms/kernels")
        .join(format!("{name}.asm"));
    let out = work_dir().join(out);
    let mut cmd = Command::new("nasm");
    cmd.args(["-f", "bin", "-o"]).arg(&out);
    if elf {
        cmd.arg("-DELF");
    }
    let r = match cmd.arg(&src).output() {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("nasm not found: the test kernel needs it; install nasm (apt-get install nasm)")
        }
        Err(e) => panic!("cannot run nasm: {e}"),
    };
    assert!(
        r.status.success(),
        "nasm: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    out
}

fn x86(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_x86"))
        .args(["run", "--headless", "--timeout", "20"])
        .args(args)
        .output()
        .unwrap()
}

/// Boots the kernel with one module and returns its debug-console lines.
fn boot(kernel: &Path, memory_mb: u32, module: &Path) -> Vec<String> {
    let out = x86(&[
        "--kernel",
        kernel.to_str().unwrap(),
        "--initrd",
        module.to_str().unwrap(),
        "--append",
        "hello multiboot x=1",
        "--memory",
        &memory_mb.to_string(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // It ends in `cli; hlt`: the machine stops for good, a normal end (status 0).
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

fn check_report(elf: bool) {
    let k = kernel(elf, "report");
    let module = work_dir().join(if elf { "elf-mod.txt" } else { "aout-mod.txt" });
    std::fs::write(&module, "first line of the module\nsecond line\n").unwrap();
    for (mb, upper_kb, upper_len) in [
        // mem_upper: RAM from 1 MB up, in KB: (40 - 1) × 1024 = 39936 KB, the map's
        // third entry 39 MB = 0x2700000 bytes; for 64 MB, 63 × 1024 = 64512 KB and
        // 0x3F00000 bytes.
        (40, 39936, "0000000002700000"),
        (64, 64512, "0000000003F00000"),
    ] {
        let lines = boot(&k, mb, &module);
        let text = lines.join("\n");
        let want = [
            // §3.2: EAX holds the boot loader magic; protected mode, paging off,
            // interrupts off, not in V86 mode.
            "magic 2BADB002".to_string(),
            "state PE=1 PG=0 IF=0 VM=0".to_string(),
            // §3.3 flags: mem (bit 0), cmdline (2), mods (3), mmap (6), loader name (9):
            // 1 + 4 + 8 + 0x40 + 0x200 = 0x24D.
            "flags 0000024D".to_string(),
            // Conventional memory up to 9FC00h (the PC's top KB reserved for an EBDA):
            // 0x9FC00 / 1024 = 639 KB.
            "mem_lower 639".to_string(),
            format!("mem_upper {upper_kb}"),
            // The PC memory map, as INT 15h E820h gives it: type 1 = RAM, 2 = reserved.
            "mmap 0000000000000000 000000000009FC00 00000001".to_string(),
            "mmap 00000000000F0000 0000000000010000 00000002".to_string(),
            format!("mmap 0000000000100000 {upper_len} 00000001"),
            "cmdline hello multiboot x=1".to_string(),
            "mods 1".to_string(),
        ];
        for w in &want {
            assert!(lines.contains(w), "missing {w:?} in:\n{text}");
        }
        // The module: 37 bytes ("first line of the module\n" is 25, "second line\n"
        // 12), page aligned (header flag 0) and above the kernel at 1 MB.
        let m = lines
            .iter()
            .find(|l| l.starts_with("mod "))
            .unwrap_or_else(|| panic!("no module line in:\n{text}"));
        let f: Vec<&str> = m.splitn(4, ' ').collect();
        let start = u32::from_str_radix(f[1], 16).unwrap();
        assert_eq!(start % 4096, 0, "{m}");
        assert!(start >= 0x10_1000, "{m}");
        assert_eq!(f[2], "37", "{m}");
        assert_eq!(
            f[3],
            format!("{}: first line of the module", module.display())
        );
        assert!(lines.contains(&"loader x86 emulator".to_string()), "{text}");
        assert_eq!(lines.last().map(String::as_str), Some("end"), "{text}");
    }
}

#[test]
fn multiboot_aout_kludge_kernel_reports_its_memory_map_and_command_line() {
    check_report(false);
}

#[test]
fn multiboot_elf_kernel_reports_its_memory_map_and_command_line() {
    check_report(true);
}

#[test]
fn linux_boot_protocol_image_sees_the_header_fields_initrd_and_e820_map() {
    let k = assemble("linux16", "linux16.bin", false);
    let rd = work_dir().join("linux16-initrd");
    std::fs::write(&rd, "INITRD!!rest\n").unwrap();
    for (append, vid) in [
        ("root=/dev/x quiet", "FFFF"),
        ("vga=ext console=ttyS0", "FFFE"),
    ] {
        let out = x86(&[
            "--kernel",
            k.to_str().unwrap(),
            "--initrd",
            rd.to_str().unwrap(),
            "--append",
            append,
            "--memory",
            "16",
        ]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(0), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        // boot.rst: real-mode entry at (X/16 + 20h):0000 with DS = SS = X/16.
        assert!(lines[0].starts_with("entry CS-DS=0020 SS=DS SP="), "{text}");
        let want = [
            // type_of_loader FFh (undefined), loadflags LOADED_HIGH | CAN_USE_HEAP =
            // 81h, heap_end_ptr = 10000h - 200h (stack/heap up to X + 10000h), vid_mode
            // FFFFh "normal" or FFFEh for vga=ext.
            format!("loader FF flags 81 heap FE00 vid {vid}"),
            format!("cmdline {append}"),
            // 13 bytes below the top of 16 MB, page aligned: 1000000h - 0Dh =
            // FFFFF3h, down to FFF000h; its first bytes are "INITRD!!" in ASCII.
            "initrd 00FFF000 0000000D 494E495452442121".to_string(),
            // The protected-mode part (after boot sector + 2 setup sectors) at 1 MB:
            // "PMKERNEL".
            "kernel 504D4B45524E454C".to_string(),
            // INT 15h E820h for 16 MB: RAM above 1 MB is 15 MB = F00000h.
            "e820 0000000000000000 000000000009FC00 00000001".to_string(),
            "e820 00000000000F0000 0000000000010000 00000002".to_string(),
            "e820 0000000000100000 0000000000F00000 00000001".to_string(),
            "end".to_string(),
        ];
        assert_eq!(
            lines[1..],
            want.iter().map(String::as_str).collect::<Vec<_>>()[..],
            "{text}"
        );
    }
}

/// Runs x86 with `args` and asserts status 2 with one stderr line containing `want`.
fn refused(args: &[&str], want: &str) {
    let out = x86(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(want), "{args:?}: expected {want:?} in {err}");
}

#[test]
fn bad_kernels_and_initrds_are_one_line_errors() {
    let dir = work_dir();
    let k = kernel(false, "bad");
    let bytes = std::fs::read(&k).unwrap();
    let p = |name: &str, data: &[u8]| {
        let f = dir.join(name);
        std::fs::write(&f, data).unwrap();
        f.to_str().unwrap().to_string()
    };
    // Truncated: the a.out header asks for the whole file (load_end_addr).
    let cut = p("cut.bin", &bytes[..bytes.len() / 2]);
    refused(&["--kernel", &cut], "truncated");
    // No magic at all.
    let zeros = p("zeros.bin", &[0u8; 10000]);
    refused(&["--kernel", &zeros], "no Multiboot header");
    // A Linux setup header cut short.
    let mut linux = vec![0u8; 0x300];
    linux[0x202..0x206].copy_from_slice(b"HdrS");
    linux[0x206..0x208].copy_from_slice(&0x20Fu16.to_le_bytes());
    linux[0x1F1] = 4;
    let linux = p("linux-cut.bin", &linux);
    refused(&["--kernel", &linux], "truncated");
    // Too big for RAM: the kernel and its BSS end above 1 MB, RAM is 1 MB.
    let kp = k.to_str().unwrap();
    refused(&["--kernel", kp, "--memory", "1"], "does not fit in RAM");
    // An initrd larger than RAM, and one that fits in RAM but not beside the kernel.
    let big = p("big.img", &vec![0u8; 3 << 20]);
    refused(
        &["--kernel", kp, "--initrd", &big, "--memory", "2"],
        "more than the guest's 2 MB",
    );
    refused(
        &["--kernel", kp, "--initrd", &big, "--memory", "3"],
        "does not fit in RAM",
    );
    // Missing files, a directory, --bios together with --kernel, --initrd alone.
    refused(&["--kernel", "/nonexistent/vmlinuz"], "cannot read kernel");
    refused(&["--kernel", dir.to_str().unwrap()], "not a regular file");
    refused(
        &["--kernel", kp, "--initrd", "/nonexistent/initrd"],
        "cannot read initrd",
    );
    refused(&["--kernel", kp, "--bios", kp], "drop --bios");
    let out = x86(&["--initrd", kp]);
    assert_eq!(out.status.code(), Some(2), "--initrd needs --kernel");
}
