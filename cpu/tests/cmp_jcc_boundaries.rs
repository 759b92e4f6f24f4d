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

/// `mov ecx, 10; l: dec ecx; cmp ecx, 0; jne l; hlt`: a CMP + JNE pair, which the
/// block cache fuses into one entry (exec/fused.rs).
fn countdown_cmp() -> (cpu::Cpu, FlatBus) {
    flat32(|a| {
        let mut l = a.create_label();
        a.mov(ecx, 10u32).unwrap();
        a.set_label(&mut l).unwrap();
        a.dec(ecx).unwrap();
        a.cmp(ecx, 0).unwrap();
        a.jne(l).unwrap();
    })
}

#[test]
fn a_fused_pair_counts_two_instructions_and_splits_at_any_budget() {
    let (mut one, mut bus) = countdown_cmp();
    run(&mut one, &mut bus, 1_000);
    // By hand: MOV, ten DEC + CMP + JNE, HLT.
    assert_eq!(one.icount, 1 + 3 * 10 + 1);
    assert_eq!(one.regs[cpu::ECX], 0);
    assert_slices_end_alike(countdown_cmp, &one, 7);
}

#[test]
fn single_steps_and_breakpoints_stop_inside_a_fused_pair() {
    let (mut cpu, mut bus) = countdown_cmp();
    // mov ecx, imm32 is 5 bytes, dec ecx 1, cmp ecx, 0 3 (83 F9 00), jne rel 2.
    let jne = PM_CODE + 5 + 1 + 3;
    // Run the loop a while (its block is cached and fused), then single-step: the
    // third step from the loop top stops on the JNE with the CMP done.
    assert_eq!(cpu.run(&mut bus, 1 + 3 * 2), Stop::Budget);
    for n in 1..=3 {
        assert_eq!(cpu.step(&mut bus), Stop::Budget);
        assert_eq!(cpu.icount, 7 + n);
    }
    assert_eq!(
        cpu.eip,
        PM_CODE + 5,
        "the third pass's JNE went back to the top"
    );
    assert_eq!(cpu.step(&mut bus), Stop::Budget);
    assert_eq!(cpu.step(&mut bus), Stop::Budget);
    assert_eq!(cpu.eip, jne);
    assert_eq!(cpu.regs[cpu::ECX], 6);
    cpu.set_debug_breakpoints(&[jne]);
    assert_eq!(cpu.step(&mut bus), Stop::Debug, "a breakpoint where EIP is");
    cpu.set_debug_breakpoints(&[]);
    assert_eq!(cpu.step(&mut bus), Stop::Budget);
    cpu.set_debug_breakpoints(&[jne]);
    // On through the loop top: the next stop is the JNE of the fifth pass.
    assert_eq!(cpu.run(&mut bus, 1_000), Stop::Debug);
    assert_eq!(cpu.eip, jne);
    assert_eq!(cpu.regs[cpu::ECX], 5);
    assert_eq!(cpu.icount, 1 + 4 * 3 + 2);
}

/// The forms of CMP and TEST a Jcc fuses with, each followed by each condition the
/// fused rows test (and the O and P ones, which stay unfused), on operand pairs around
/// the sign and carry boundaries. Expected: the conditions of SDM Vol. 2 "Jcc" on
/// the flags "CMP" (a − b) and "TEST" (a AND b) define, computed here on the host.
#[test]
fn fused_comparisons_branch_as_the_sdm_defines() {
    #[derive(Clone, Copy)]
    enum Form {
        RR,
        RI,
        RM,
        MR,
        MI,
    }
    const DATA: u32 = 0x30000;
    let vals: [u32; 9] = [
        0,
        1,
        0x7F,
        0x80,
        0xFF,
        0x7FFF_FFFF,
        0x8000_0000,
        0xFFFF_FFFF,
        0x1234_5680,
    ];
    // (test?, byte?, form)
    let kinds: [(bool, bool, Form); 11] = [
        (false, false, Form::RR),
        (false, false, Form::RI),
        (false, false, Form::RM),
        (false, false, Form::MR),
        (false, false, Form::MI),
        (false, true, Form::RR),
        (false, true, Form::RI),
        (false, true, Form::RM),
        (false, true, Form::MI),
        (true, false, Form::RR),
        (true, true, Form::RR),
    ];
    for (test, byte, form) in kinds {
        for &a in &vals {
            for &b in &vals {
                let (m, sign) = if byte {
                    (0xFF, 0x80)
                } else {
                    (!0, 0x8000_0000)
                };
                let (a, b) = (a & m, b & m);
                let (r, cf, of) = if test {
                    (a & b, false, false)
                } else {
                    let r = a.wrapping_sub(b) & m;
                    (r, a < b, (a ^ b) & (a ^ r) & sign != 0)
                };
                let (zf, sf) = (r == 0, r & sign != 0);
                let pf = (r as u8).count_ones().is_multiple_of(2);
                let truth = [
                    of,
                    !of,
                    cf,
                    !cf,
                    zf,
                    !zf,
                    cf || zf,
                    !(cf || zf),
                    sf,
                    !sf,
                    pf,
                    !pf,
                    sf != of,
                    sf == of,
                    zf || sf != of,
                    !(zf || sf != of),
                ];
                let (mut cpu, mut bus) = flat32(|asm| {
                    asm.xor(edx, edx).unwrap();
                    for cc in 0..16u32 {
                        let mut taken = asm.create_label();
                        let mut next = asm.create_label();
                        let mem = dword_ptr(DATA);
                        let mem8 = byte_ptr(DATA);
                        match (test, byte, form) {
                            (true, false, _) => asm.test(eax, ebx),
                            (true, true, _) => asm.test(al, bl),
                            (false, false, Form::RR) => asm.cmp(eax, ebx),
                            (false, false, Form::RI) => asm.cmp(eax, b as i32),
                            (false, false, Form::RM) => asm.cmp(eax, mem),
                            (false, false, Form::MR) => asm.cmp(mem, ebx),
                            (false, false, Form::MI) => asm.cmp(mem, b as i32),
                            (false, true, Form::RR) => asm.cmp(al, bl),
                            (false, true, Form::RI) => asm.cmp(al, b as i32),
                            (false, true, Form::RM) => asm.cmp(al, mem8),
                            (false, true, _) => asm.cmp(mem8, b as i32),
                        }
                        .unwrap();
                        match cc {
                            0 => asm.jo(taken),
                            1 => asm.jno(taken),
                            2 => asm.jb(taken),
                            3 => asm.jae(taken),
                            4 => asm.je(taken),
                            5 => asm.jne(taken),
                            6 => asm.jbe(taken),
                            7 => asm.ja(taken),
                            8 => asm.js(taken),
                            9 => asm.jns(taken),
                            10 => asm.jp(taken),
                            11 => asm.jnp(taken),
                            12 => asm.jl(taken),
                            13 => asm.jge(taken),
                            14 => asm.jle(taken),
                            _ => asm.jg(taken),
                        }
                        .unwrap();
                        asm.jmp(next).unwrap();
                        asm.set_label(&mut taken).unwrap();
                        asm.or(edx, 1i32 << cc).unwrap();
                        asm.set_label(&mut next).unwrap();
                    }
                });
                // The memory operand is the second one for RM, the first for MR/MI.
                let mem = match form {
                    Form::RM => b,
                    _ => a,
                };
                bus.load(DATA, &mem.to_le_bytes());
                cpu.regs[cpu::EAX] = a;
                cpu.regs[cpu::EBX] = b;
                run(&mut cpu, &mut bus, 1_000);
                let want: u32 = (0..16).filter(|&c| truth[c]).map(|c| 1 << c).sum();
                let what = format!("test {test} byte {byte} a {a:#x} b {b:#x}");
                assert_eq!(cpu.regs[cpu::EDX], want, "{what}");
                // XOR, 16 × (comparison, Jcc, then OR or JMP), HLT.
                assert_eq!(cpu.icount, 1 + 16 * 3 + 1, "{what}");
            }
        }
    }
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
