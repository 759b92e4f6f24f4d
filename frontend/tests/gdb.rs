//! The GDB stub against Debian's `gdb` (issue #17, acceptance item 4) and against the
//! remote protocol spoken by hand (Ctrl-C, kill). Expected values come from outside the
//! emulator: the floppy image's own bytes, the boot sector's instructions decoded by
//! iced-x86, the BIOS boot convention (CS:IP = 0000:7C00, DL = boot drive, 00h for the
//! first floppy), and GDB's own reports. Without `gdb` on the PATH the GDB test says
//! SKIPPED loudly and passes.

use iced_x86::{Decoder, DecoderOptions, FlowControl, Mnemonic, OpKind};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    let d = std::env::temp_dir().join(format!("x86-gdb-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// A port nobody listens on right now (the kernel's pick for port 0).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `x86 run … --gdb tcp::PORT` and returns once it listens (its "waiting for
/// GDB" line with --wait-gdb, a successful connect otherwise), with its stderr lines.
fn start(extra: &[&str], wait: bool) -> (Child, u16, std::sync::mpsc::Receiver<String>) {
    for _attempt in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_x86"));
        cmd.args([
            "run",
            "--headless",
            "--snapshot",
            "--timeout",
            "300",
            "--fda",
        ])
        .arg(freedos())
        .args(["--gdb", &format!("tcp::{port}")])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        if wait {
            cmd.arg("--wait-gdb");
        }
        let mut child = cmd.spawn().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        if wait {
            let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
            if line.contains("waiting for GDB on 127.0.0.1:") {
                return (child, port, rx);
            }
            // Someone took the port between our pick and its bind: try another.
            assert!(
                line.contains("cannot listen"),
                "unexpected first line: {line}"
            );
            let _ = child.wait();
            continue;
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // That probe connection was the debugger; it closed, so the stub
                // let the guest run on and listens again.
                return (child, port, rx);
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("no free port for the GDB stub after 5 tries");
}

/// Waits for the child with a limit, killing it past the limit.
fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("x86 did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value after `key` in gdb's output, as hex.
fn hex_after(out: &str, key: &str) -> u32 {
    let at = out
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in gdb output:\n{out}"));
    let v = out[at + key.len()..].split_whitespace().next().unwrap();
    u32::from_str_radix(v, 16).unwrap_or_else(|_| panic!("{key}{v}: not hex\n{out}"))
}

/// The bytes of an `x/Nxb` dump following the `marker` line.
fn dump_after(out: &str, marker: &str, n: usize) -> Vec<u8> {
    let at = out
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in gdb output:\n{out}"));
    out[at + marker.len()..]
        .lines()
        .skip(1)
        .flat_map(|l| l.split_once(':').map(|(_, b)| b.to_string()))
        .flat_map(|b| b.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .take(n)
        .map(|b| u8::from_str_radix(b.trim_start_matches("0x"), 16).unwrap())
        .collect()
}

#[test]
fn gdb_breaks_at_the_boot_sector_steps_watches_the_tick_count_and_detaches() {
    if Command::new("gdb").arg("--version").output().is_err() {
        eprintln!("==================================================================");
        eprintln!("SKIPPED: the GDB stub test: no `gdb` on the PATH (apt-get install gdb)");
        eprintln!("==================================================================");
        return;
    }
    let image = std::fs::read(freedos()).unwrap();
    // The first three instructions from 0000:7C00, decoded from the image by iced-x86:
    // each EIP GDB must show after a single step (a jump goes to its target).
    let mut expect_eips = Vec::new();
    let mut ip = 0x7C00u32;
    for _ in 0..3 {
        let off = (ip - 0x7C00) as usize;
        let mut d = Decoder::with_ip(16, &image[off..512], ip as u64, DecoderOptions::NONE);
        let ins = d.decode();
        assert!(
            !ins.is_invalid(),
            "boot sector byte {off:#x} does not decode"
        );
        ip = match ins.flow_control() {
            FlowControl::UnconditionalBranch => ins.near_branch_target() as u32,
            FlowControl::Next => ins.next_ip() as u32,
            f => panic!("the test does not follow {f:?} ({ins})"),
        };
        expect_eips.push(ip);
    }

    let screen = temp("screen.txt");
    let (mut child, port, stderr) = start(
        &[
            "--until",
            "A:\\>",
            "--screen-text",
            screen.to_str().unwrap(),
        ],
        true,
    );
    let mut gdb = Command::new("timeout");
    gdb.args(["120", "gdb", "-batch", "-nx"]);
    let cmds = [
        "set architecture i8086".to_string(),
        format!("target remote 127.0.0.1:{port}"),
        "printf \"RESET CS=%x EIP=%x\\n\", $cs, $eip".into(),
        "break *0x7c00".into(),
        "continue".into(),
        "printf \"BOOT CS=%x EIP=%x EDX=%x\\n\", $cs, $eip, $edx".into(),
        "echo BYTES\\n".into(),
        "x/16xb 0x7c00".into(),
        "stepi".into(),
        "printf \"STEP1 EIP=%x\\n\", $eip".into(),
        "stepi".into(),
        "printf \"STEP2 EIP=%x\\n\", $eip".into(),
        "stepi".into(),
        "printf \"STEP3 EIP=%x\\n\", $eip".into(),
        "delete".into(),
        "watch *(char *)0x46c".into(),
        "continue".into(),
        "printf \"WATCH CS=%x EIP=%x\\n\", $cs, $eip".into(),
        "echo BEFORE\\n".into(),
        "x/4xb $cs * 16 + $eip - 4".into(),
        "delete".into(),
        "detach".into(),
    ];
    for c in &cmds {
        gdb.args(["-ex", c]);
    }
    let out = gdb.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // GDB attached at the reset vector, F000:FFF0 (SDM Vol. 3A §9.1.4).
    assert_eq!(hex_after(&text, "RESET CS="), 0xF000, "{text}");
    assert_eq!(hex_after(&text, "EIP="), 0xFFF0, "{text}");
    assert!(text.contains("Breakpoint 1, 0x00007c00"), "{text}");
    // The BIOS boot convention: 0000:7C00, DL = 00h for the first floppy.
    assert_eq!(hex_after(&text, "BOOT CS="), 0, "{text}");
    let boot = &text[text.find("BOOT CS=").unwrap()..];
    assert_eq!(hex_after(boot, "EIP="), 0x7C00, "{text}");
    assert_eq!(hex_after(boot, "EDX=") & 0xFF, 0, "DL {text}");
    // The loaded boot sector is the image's first sector.
    assert_eq!(dump_after(&text, "BYTES", 16), image[..16], "{text}");
    for (i, eip) in expect_eips.iter().enumerate() {
        let key = format!("STEP{} EIP=", i + 1);
        assert_eq!(hex_after(&text, &key), *eip, "{key} {text}");
    }
    // The write watchpoint fired right after the instruction that wrote 0x46C: the
    // four bytes before CS:EIP decode (iced-x86) to an instruction with a memory
    // operand at DS:046Ch — the BIOS timer interrupt's `inc word [046Ch]`.
    assert!(
        text.contains("Hardware watchpoint 2: *(char *)0x46c"),
        "{text}"
    );
    assert!(text.contains("New value = "), "{text}");
    let before = dump_after(&text, "BEFORE", 4);
    let ins = Decoder::new(16, &before, DecoderOptions::NONE).decode();
    assert_eq!(ins.len(), 4, "{ins} {text}");
    assert_eq!(ins.op0_kind(), OpKind::Memory, "{ins}");
    assert_eq!(ins.memory_displacement32(), 0x46C, "{ins}");
    assert!(
        matches!(
            ins.mnemonic(),
            Mnemonic::Inc | Mnemonic::Add | Mnemonic::Mov
        ),
        "{ins}"
    );
    assert!(text.contains("detached"), "{text}");
    // Detached, the guest boots on to the FreeDOS prompt (--until ends the run, 0).
    let status = wait_exit(&mut child, Duration::from_secs(240));
    let err: Vec<String> = stderr.iter().collect();
    assert!(status.success(), "{status} {err:?}");
    let screen = std::fs::read_to_string(&screen).unwrap();
    assert!(screen.contains("A:\\>"), "{screen}");
}

/// One remote-protocol packet: `$data#checksum`.
fn packet(data: &str) -> Vec<u8> {
    let sum = data.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    format!("${data}#{sum:02x}").into_bytes()
}

/// Reads one packet's payload (acknowledging it), skipping acks.
fn read_packet(s: &mut TcpStream) -> String {
    let mut payload = Vec::new();
    let mut b = [0u8];
    loop {
        s.read_exact(&mut b).expect("a packet from the stub");
        if b[0] == b'$' {
            break;
        }
    }
    loop {
        s.read_exact(&mut b).expect("the rest of the packet");
        if b[0] == b'#' {
            break;
        }
        payload.push(b[0]);
    }
    let mut sum = [0u8; 2];
    s.read_exact(&mut sum).unwrap();
    s.write_all(b"+").unwrap();
    // Run-length encoding: `X*n` is X followed by (n − 29) more X (GDB manual,
    // "Debugging with GDB", E.1 Overview).
    let mut out = Vec::new();
    let mut i = 0;
    while i < payload.len() {
        if payload[i] == b'*' && i + 1 < payload.len() {
            let last = *out.last().unwrap();
            out.extend(std::iter::repeat_n(last, payload[i + 1] as usize - 29));
            i += 2;
        } else {
            out.push(payload[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn remote_protocol_ctrl_c_stops_a_running_guest_and_kill_ends_the_run() {
    // No --wait-gdb: the guest runs until a debugger connects, which stops it.
    let (mut child, port, stderr) = start(&[], false);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The stop reason on connecting (GDB's `?`): SIGTRAP (5), as a stopped target.
    s.write_all(&packet("?")).unwrap();
    let stop = read_packet(&mut s);
    assert!(stop.starts_with("S05") || stop.starts_with("T05"), "{stop}");
    s.write_all(&packet("g")).unwrap();
    let regs = read_packet(&mut s);
    // 16 + 8 + 4 registers of 4 bytes and eight of 10 bytes, two hex digits a byte.
    assert_eq!(regs.len(), 2 * (28 * 4 + 8 * 10), "{regs}");
    let first = regs;
    // Continue, let it run a little, then Ctrl-C (a bare 03h byte): SIGINT (2).
    s.write_all(&packet("c")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(&[0x03]).unwrap();
    let stop = read_packet(&mut s);
    assert!(stop.starts_with("S02") || stop.starts_with("T02"), "{stop}");
    s.write_all(&packet("g")).unwrap();
    let regs = read_packet(&mut s);
    assert_ne!(regs, first, "the guest ran between the stops");
    // A hardware breakpoint (Z1) where the guest stopped: FreeDOS at its prompt runs
    // the same code over and over (its idle loop, the timer interrupt), so continuing
    // comes back to it, stopping before that instruction again with SIGTRAP.
    let word = |regs: &str, i: usize| {
        let b: Vec<u8> = (0..4)
            .map(|k| u8::from_str_radix(&regs[8 * i + 2 * k..8 * i + 2 * k + 2], 16).unwrap())
            .collect();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    let (eip, cs) = (word(&regs, 8), word(&regs, 10));
    let lin = cs * 16 + eip; // real mode
    s.write_all(&packet(&format!("Z1,{lin:x},1"))).unwrap();
    assert_eq!(read_packet(&mut s), "OK");
    s.write_all(&packet("c")).unwrap();
    let stop = read_packet(&mut s);
    assert!(stop.starts_with("T05") || stop.starts_with("S05"), "{stop}");
    s.write_all(&packet("g")).unwrap();
    let again = read_packet(&mut s);
    assert_eq!((word(&again, 8), word(&again, 10)), (eip, cs), "{again}");
    s.write_all(&packet(&format!("z1,{lin:x},1"))).unwrap();
    assert_eq!(read_packet(&mut s), "OK");
    // `monitor help` (qRcmd, hex-encoded) answers with console output.
    let cmd: String = b"help".iter().map(|b| format!("{b:02x}")).collect();
    s.write_all(&packet(&format!("qRcmd,{cmd}"))).unwrap();
    let mut console = String::new();
    loop {
        let p = read_packet(&mut s);
        if p == "OK" {
            break;
        }
        if let Some(hex) = p.strip_prefix('O') {
            let bytes: Vec<u8> = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            console += &String::from_utf8_lossy(&bytes);
        } else {
            panic!("unexpected reply to qRcmd: {p}");
        }
    }
    assert!(console.contains("phys ADDR"), "{console}");
    s.write_all(&packet("k")).unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(30));
    let err: Vec<String> = stderr.iter().collect();
    assert!(status.success(), "{status} {err:?}");
    assert!(
        err.iter().any(|l| l.contains("ended by the debugger")),
        "{err:?}"
    );
}

#[test]
fn bad_gdb_values_and_a_port_in_use_are_one_line_errors() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--gdb", "1234"],
            "--gdb 1234: expected tcp::PORT or tcp:HOST:PORT",
        ),
        (&["--gdb", "tcp::70000"], "--gdb tcp::70000: expected"),
        (&["--wait-gdb"], "--wait-gdb needs a debugger port"),
        (
            &["--gdb", &format!("tcp::{port}")],
            "cannot listen for GDB on 127.0.0.1:",
        ),
    ];
    for (args, msg) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_x86"))
            .args([
                "run",
                "--headless",
                "--snapshot",
                "--timeout",
                "10",
                "--fda",
            ])
            .arg(freedos())
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("x86: ") && err.contains(msg),
            "{args:?}: {err}"
        );
    }
    drop(busy);
}
