//! A flag-setting instruction and the Jcc after it are two instructions to everything
//! outside the block cache: the count, a budget that ends between them, single steps,
//! debugger breakpoints and faults all see the boundary between them. These hold
//! whatever the cache does with such a pair — macro-op fusion into one entry, as the
//! speed work tried (issue #13), must keep every one of them.

mod common;
use common::*;
use cpu::Stop;
use iced_x86::code_asm::*;

/// `mov ecx, 10; l: dec ecx; jnz l; hlt`: a DEC + JNZ pair in a loop.
fn countdown() -> (cpu::Cpu, FlatBus) {
    flat32(|a| {
        let mut l = a.create_label();
        a.mov(ecx, 10u32).unwrap();
        a.set_label(&mut l).unwrap();
        a.dec(ecx).unwrap();
        a.jnz(l).unwrap();
    })
}

#[test]
fn a_cmp_jcc_pair_counts_two_instructions() {
    let (mut cpu, mut bus) = countdown();
    run(&mut cpu, &mut bus, 1_000);
    // By hand: MOV, ten DEC + JNZ pairs, HLT.
    assert_eq!(cpu.icount, 1 + 2 * 10 + 1);
    assert_eq!(cpu.regs[cpu::ECX], 0);
}

#[test]
fn single_steps_stop_between_the_pair() {
    let (mut cpu, mut bus) = countdown();
    // mov ecx, imm32 is 5 bytes, dec ecx 1 (opcode 49h), jnz rel 2 or 6.
    let dec = PM_CODE + 5;
    let jnz = dec + 1;
    let mut n = 0;
    while cpu.step(&mut bus) == Stop::Budget {
        n += 1;
        assert_eq!(cpu.icount, n);
        // After an even number of steps (the MOV, whole pairs, then a DEC) the DEC
        // has run and its JNZ not.
        if n >= 2 && n % 2 == 0 && n < 21 {
            assert_eq!(cpu.eip, jnz, "step {n}");
            assert_eq!(cpu.regs[cpu::ECX], 10 - n as u32 / 2, "step {n}");
        }
    }
    assert_eq!(cpu.icount, 22);
}

/// Every slice size from 1 to 5 instructions ends the run in the same state after the
/// same count as one long run, although slices end between the two halves of pairs.
#[test]
fn budget_slices_split_pairs_exactly() {
    let build = || {
        flat32(|a| {
            let mut top = a.create_label();
            let mut skip = a.create_label();
            let mut next = a.create_label();
            a.xor(eax, eax).unwrap();
            a.mov(ecx, 30u32).unwrap();
            a.set_label(&mut top).unwrap();
            a.cmp(ecx, 15).unwrap();
            a.jl(skip).unwrap();
            a.add(eax, ecx).unwrap();
            a.set_label(&mut skip).unwrap();
            a.test(cl, 3).unwrap();
            a.jnz(next).unwrap();
            a.inc(eax).unwrap();
            a.set_label(&mut next).unwrap();
            a.dec(ecx).unwrap();
            a.jnz(top).unwrap();
        })
    };
    let (mut one, mut bus1) = build();
    run(&mut one, &mut bus1, 100_000);
    // By hand: 15 + ... + 30 = 360, plus one for each multiple of 4 in 1..=30 (7).
    assert_eq!(one.regs[cpu::EAX], 367);
    assert_slices_end_alike(build, &one, 5);
}

#[test]
fn a_debugger_breakpoint_on_the_jcc_of_a_pair_is_hit() {
    let (mut cpu, mut bus) = countdown();
    let jnz = PM_CODE + 6;
    // Let the loop run (and its block be cached) first.
    assert_eq!(cpu.run(&mut bus, 7), Stop::Budget);
    cpu.set_debug_breakpoints(&[jnz]);
    assert_eq!(cpu.run(&mut bus, 1_000), Stop::Debug);
    assert_eq!(cpu.eip, jnz);
    // Stopped with the DEC of the fourth pass done: MOV + 3 pairs + that DEC.
    assert_eq!(cpu.icount, 1 + 3 * 2 + 1);
    assert_eq!(cpu.regs[cpu::ECX], 6);
}

/// A fault in the first instruction of a pair is that instruction's: it is reported
/// at its address, and the Jcc does not run.
#[test]
fn a_fault_in_the_first_half_is_the_first_instructions() {
    // Real mode, hand-assembled; the operand-size prefix makes the Jcc a 32-bit one
    // (the form a 32-bit guest's pairs have):
    //   00: 66 B8 05 00 00 00     mov eax, 5
    //   06: 66 3B 06 FF FF        cmp eax, [0FFFFh]  ; a dword past DS's 64 KB limit
    //   0B: 66 0F 84 01 00 00 00  je 13h
    //   12: F4                    hlt
    //   13: F4                    hlt
    // SDM Vol. 2 "CMP", real-address mode exceptions: #GP when an effective address
    // is outside the DS segment limit. The #GP handler (vector 13, IVT at 34h) at
    // 0000:0500 is `mov bx, 0Dh; hlt`.
    let (mut cpu, mut bus) = real_mode(|a| {
        a.db(&[
            0x66, 0xB8, 0x05, 0x00, 0x00, 0x00, 0x66, 0x3B, 0x06, 0xFF, 0xFF, 0x66, 0x0F, 0x84,
            0x01, 0x00, 0x00, 0x00, 0xF4, 0xF4,
        ])
        .unwrap();
    });
    bus.load(0x500, &[0xBB, 0x0D, 0x00, 0xF4]);
    bus.load(13 * 4, &[0x00, 0x05, 0x00, 0x00]);
    run(&mut cpu, &mut bus, 100);
    assert_eq!(cpu.regs[cpu::EBX] & 0xFFFF, 0x0D);
    // The fault pushed FLAGS, CS and the CMP's IP (06h): SS:SP was 2000:FFFE.
    assert_eq!(bus.r16(0x20000 + 0xFFFE - 6), 0x06);
    assert_eq!(bus.r16(0x20000 + 0xFFFE - 4), 0x1000);
    // MOV, the faulting CMP (which counts), the handler's MOV and HLT.
    assert_eq!(cpu.icount, 4);
}
