//! Guest output is held in bounded buffers: a guest writing to the debug console, the
//! POST port or a UART as fast as it can never makes the host hold more than
//! `OUTPUT_HIGH` undrained bytes per buffer, and nothing is lost while the frontend
//! drains between runs.

use cpu::Bus;
use machine::{Config, Pc, OUTPUT_HIGH, OUTPUT_MAX};

/// A PC whose reset vector jumps to `code` at F000:0000.
fn pc_with(code: &[u8]) -> Pc {
    let mut rom = vec![0xF4u8; 64 << 10];
    rom[..code.len()].copy_from_slice(code);
    rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, 0x00, 0x00, 0x00, 0xF0]);
    Pc::new(Config {
        memory_mb: 1,
        bios: Some(rom),
        no_reboot: true,
        ..Config::default()
    })
    .unwrap()
}

/// xor ax,ax; mov ds,ax; xor si,si; mov dx,PORT; l: mov cx,0FFFFh; rep outsb; jmp l —
/// every REP OUTS sends the 65535 bytes at 0000:0000 (SI wraps within the segment).
fn rep_outsb_forever(port: u16) -> Vec<u8> {
    let [lo, hi] = port.to_le_bytes();
    vec![
        0x31, 0xC0, // xor ax,ax
        0x8E, 0xD8, // mov ds,ax
        0x31, 0xF6, // xor si,si
        0xBA, lo, hi, // mov dx,port
        0xB9, 0xFF, 0xFF, // l: mov cx,0FFFFh
        0xF3, 0x6E, // rep outsb
        0xEB, 0xF9, // jmp l
    ]
}

fn fill_pattern(pc: &mut Pc) {
    for a in 0..0x1_0000u32 {
        pc.bus.write8(a, (a * 7 + a / 256) as u8);
    }
}

/// The byte the guest sends `k`-th: 65535 bytes per REP, then SI (now 0FFFFh) carries
/// on from where it stopped, wrapping at 64 KB.
fn expected(k: u64) -> u8 {
    let a = (k % 0x1_0000) as u32;
    (a * 7 + a / 256) as u8
}

#[test]
fn rep_outs_to_the_debug_console_stops_at_the_high_mark_and_loses_nothing() {
    let mut pc = pc_with(&rep_outsb_forever(0xE9));
    fill_pattern(&mut pc);
    let mut got: Vec<u8> = Vec::new();
    for _ in 0..40 {
        assert_eq!(pc.run(1_000_000), None);
        // One run hands out at most the high mark: the REP stops between iterations.
        assert!(
            pc.bus.debugcon.len() <= OUTPUT_HIGH,
            "{} undrained bytes",
            pc.bus.debugcon.len()
        );
        got.append(&mut pc.bus.debugcon);
    }
    assert_eq!(pc.bus.output_dropped, 0);
    // 40 drains of exactly 64 KB each: the guest had always more to send.
    assert_eq!(got.len(), 40 * OUTPUT_HIGH);
    for (k, &b) in got.iter().enumerate() {
        assert_eq!(b, expected(k as u64), "byte {k}");
    }
}

#[test]
fn undrained_output_is_capped() {
    // Nobody drains: the buffers stop at OUTPUT_MAX and count what they dropped.
    for port in [0xE9u16, 0x80, 0x3F8] {
        let mut pc = pc_with(&rep_outsb_forever(port));
        // 3 M iterations of REP OUTSB (each one instruction of the budget): about
        // three times the cap.
        for _ in 0..30 {
            assert_eq!(pc.run(100_000), None);
        }
        let held = match port {
            0xE9 => pc.bus.debugcon.len(),
            0x80 => pc.bus.post.len(),
            _ => pc.bus.com[0].output_len(),
        };
        assert!(held <= OUTPUT_MAX, "port {port:#x}: {held} bytes held");
        let dropped = pc.bus.output_dropped + pc.bus.com[0].out_dropped;
        assert!(
            dropped > 0,
            "port {port:#x}: the guest sent more than the cap"
        );
    }
}

#[test]
fn plain_out_loop_hands_out_at_most_the_high_mark_per_run() {
    // mov al,'x'; l: out 0E9h,al; jmp l — one byte per two instructions.
    let mut pc = pc_with(&[0xB0, b'x', 0xE6, 0xE9, 0xEB, 0xFC]);
    assert_eq!(pc.run(10_000_000), None);
    assert_eq!(pc.bus.debugcon.len(), OUTPUT_HIGH);
    assert!(pc.bus.debugcon.iter().all(|&b| b == b'x'));
    // Returned early: 64K OUTs and as many JMPs, not ten million instructions.
    assert!(pc.instructions() < 2 * OUTPUT_HIGH as u64 + 10);
}
