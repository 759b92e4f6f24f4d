//! Self-modifying code and random-input robustness: no guest byte sequence may panic the
//! host, and code written by the guest takes effect on the next instruction.

mod common;

use common::*;
use cpu::{Bus, Cpu, Stop};

// The snippets below are hand-assembled so that the patched offsets are explicit.

#[test]
fn write_into_the_running_block_takes_effect_on_the_next_instruction() {
    // 0: 2E C6 06 07 00 42   mov byte [cs:0007], 42h   ; patches the imm8 below
    // 6: B0 00               mov al, 0
    let (mut cpu, mut bus) = real_mode(|a| {
        a.db(&[0x2E, 0xC6, 0x06, 0x07, 0x00, 0x42, 0xB0, 0x00])
            .unwrap();
    });
    run(&mut cpu, &mut bus, 100);
    assert_eq!(cpu.regs[cpu::EAX] & 0xFF, 0x42);
}

#[test]
fn code_patched_between_runs_of_a_cached_loop_is_redecoded() {
    // The loop body `add bx, 1` runs 3 times, then the code patches its imm8 to 16 and
    // runs the loop 3 more times: bx = 3 + 3*16 = 51.
    let (mut cpu, mut bus) = real_mode(|a| {
        a.db(&[
            0x31, 0xDB, // 00: xor bx, bx
            0xB9, 0x03, 0x00, // 02: mov cx, 3
            0x31, 0xD2, // 05: xor dx, dx
            0x83, 0xC3, 0x01, // 07: add bx, 1
            0xE2, 0xFB, // 0A: loop 07
            0x83, 0xFA, 0x00, // 0C: cmp dx, 0
            0x75, 0x0E, // 0F: jne 1F
            0x2E, 0xC6, 0x06, 0x09, 0x00, 0x10, // 11: mov byte [cs:0009], 16
            0xBA, 0x01, 0x00, // 17: mov dx, 1
            0xB9, 0x03, 0x00, // 1A: mov cx, 3
            0xEB, 0xE8, // 1D: jmp 07
        ])
        .unwrap(); // 1F: hlt
    });
    run(&mut cpu, &mut bus, 1000);
    assert_eq!(cpu.regs[cpu::EBX] & 0xFFFF, 51);
}

#[test]
fn rep_stos_over_its_own_code_stops_executing_stale_bytes() {
    // rep stosb through ES = CS overwrites `mov ax, 1111h` with three NOPs.
    let (mut cpu, mut bus) = real_mode(|a| {
        a.db(&[
            0x0E, // 00: push cs
            0x07, // 01: pop es
            0xBF, 0x0D, 0x00, // 02: mov di, 000D
            0xB9, 0x03, 0x00, // 05: mov cx, 3
            0xB0, 0x90, // 08: mov al, 90h
            0xFC, // 0A: cld
            0xF3, 0xAA, // 0B: rep stosb
            0xB8, 0x11, 0x11, // 0D: mov ax, 1111h
        ])
        .unwrap();
    });
    run(&mut cpu, &mut bus, 1000);
    assert_eq!(cpu.regs[cpu::EAX] & 0xFFFF, 0x0090);
}

/// xorshift64*: a small seeded generator, so every run executes the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn randomize(cpu: &mut Cpu, bus: &mut FlatBus, rng: &mut Rng, protected: bool) {
    for chunk in bus.mem.chunks_mut(8) {
        let v = rng.next().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    cpu.reset();
    for r in cpu.regs.iter_mut() {
        *r = rng.next() as u32;
    }
    cpu.eflags = (rng.next() as u32 & cpu::WRITABLE & !(cpu::TF | cpu::VM)) | 2;
    if protected {
        // Random descriptor tables in random memory: every segment load, gate and fault
        // path gets exercised with garbage.
        cpu.gdtr.base = rng.next() as u32 & 0x1F_FFF8;
        cpu.gdtr.limit = rng.next() as u16;
        cpu.idtr.base = rng.next() as u32 & 0x1F_FFF8;
        cpu.idtr.limit = rng.next() as u16;
        let (mut c, _) = flat32(|_| {});
        c.regs = cpu.regs;
        c.gdtr = cpu.gdtr;
        c.idtr = cpu.idtr;
        c.eip = rng.next() as u32 & 0x1F_FFFF;
        c.cpl = (rng.next() & 3) as u8;
        if rng.next() & 1 == 0 {
            c.cr4 = rng.next() as u32 & (cpu::CR4_PSE | cpu::CR4_PAE);
            c.cr3 = rng.next() as u32 & 0x1F_F000;
            c.cr0 |= cpu::CR0_PG;
        }
        *cpu = c;
    } else {
        for s in cpu.seg.iter_mut() {
            s.load_real(rng.next() as u16);
        }
        cpu.eip = rng.next() as u32 & 0xFFFF;
    }
}

fn fuzz(protected: bool, seed: u64, total: u64) {
    let mut rng = Rng(seed);
    let mut bus = FlatBus::new();
    let mut cpu = Cpu::new();
    randomize(&mut cpu, &mut bus, &mut rng, protected);
    let mut executed = 0;
    let mut restarts = 0;
    while executed < total {
        let before = cpu.icount;
        let stop = cpu.run(&mut bus, 5_000);
        executed += (cpu.icount - before).max(1);
        if stop != Stop::Budget || rng.next().is_multiple_of(8) {
            restarts += 1;
            randomize(&mut cpu, &mut bus, &mut rng, protected);
        }
        let _ = bus.read8(0);
    }
    assert!(executed >= total);
    assert!(restarts > 0);
}

#[test]
fn random_code_in_real_mode_never_panics() {
    fuzz(false, 0x1234_5678_9ABC_DEF0, 3_000_000);
}

#[test]
fn random_code_in_protected_mode_never_panics() {
    fuzz(true, 0x0F1E_2D3C_4B5A_6978, 1_000_000);
}
