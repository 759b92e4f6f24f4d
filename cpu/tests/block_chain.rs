//! The block cache's chain links (block.rs, run.rs): a block followed through a link
//! must be exactly the block a full lookup would find. The links are only followed
//! within one linear page and only after instructions that leave CS and paging alone,
//! so remapping the running page (INVLPG, MOV CR3) and rewriting chained code must be
//! seen at once, and how the instruction budget slices a run must not matter.

mod common;
use common::*;
use cpu::Stop;
use iced_x86::code_asm::*;

const PD: u32 = 0x3000;
const PT: u32 = 0x4000;
/// The linear page the test routine runs in, and the two physical pages it maps to.
const LIN: u32 = 0x0040_0000;
const PHYS_A: u32 = 0x0010_0000;
const PHYS_B: u32 = 0x0010_1000;
const SECOND_PD: u32 = 0x6000;
const SECOND_PT: u32 = 0x7000;

/// The routine at `LIN` as it sits in physical page A (`tag` = 0xA) or B (0xB): the
/// same bytes except the value the target loads. With EBX = 0 it jumps straight to
/// the target; otherwise it first points `LIN` at page B, through `remap`.
fn routine(tag: u32, remap: impl Fn(&mut CodeAssembler)) -> Vec<u8> {
    let mut a = CodeAssembler::new(32).unwrap();
    let mut skip = a.create_label();
    let mut target = a.create_label();
    a.test(ebx, ebx).unwrap();
    a.jz(skip).unwrap();
    remap(&mut a);
    a.set_label(&mut skip).unwrap();
    a.jmp(target).unwrap();
    a.nop().unwrap();
    a.set_label(&mut target).unwrap();
    a.mov(eax, tag).unwrap();
    a.ret().unwrap();
    a.assemble(LIN as u64).unwrap()
}

/// Paging on: the first 4 MB identity-mapped (page tables at PD/PT, and a second set
/// at SECOND_PD/SECOND_PT, each with the table for 4–8 MB in the page after its PT),
/// `LIN` mapped to page A. The main program
/// calls the routine with EBX = 0 (which links its blocks), then with EBX = 1, and
/// halts; returns EAX, the value the second call's target loaded.
fn remap_run(remap: impl Fn(&mut CodeAssembler) + Copy) -> u32 {
    let (mut cpu, mut bus) = flat32(|a| {
        a.xor(ebx, ebx).unwrap();
        a.mov(eax, LIN).unwrap();
        a.call(eax).unwrap();
        a.mov(ebx, 1u32).unwrap();
        a.mov(eax, LIN).unwrap();
        a.call(eax).unwrap();
    });
    bus.load(PHYS_A, &routine(0xA, remap));
    bus.load(PHYS_B, &routine(0xB, remap));
    for (pd, pt) in [(PD, PT), (SECOND_PD, SECOND_PT)] {
        bus.load(pd, &(pt | 3).to_le_bytes());
        bus.load(pd + 4, &((pt + 0x1000) | 3).to_le_bytes());
        for p in 0..0x400u32 {
            bus.load(pt + 4 * p, &((p << 12) | 3).to_le_bytes());
        }
        bus.load(pt + 0x1000, &(PHYS_A | 3).to_le_bytes());
    }
    // The second directory maps LIN to page B.
    bus.load(SECOND_PT + 0x1000, &(PHYS_B | 3).to_le_bytes());
    cpu.cr3 = PD;
    cpu.cr0 |= cpu::CR0_PG;
    run(&mut cpu, &mut bus, 10_000);
    cpu.regs[cpu::EAX]
}

#[test]
fn invlpg_of_the_running_page_is_seen_by_the_next_block() {
    // SDM Vol. 3A §4.10.4.1: after INVLPG the next fetch from the page uses the new
    // entry, so the jump after it runs page B's target.
    let pte = PT + 0x1000; // PD entry 1 → PT + 0x1000, whose entry 0 maps LIN
    let v = remap_run(|a| {
        a.mov(dword_ptr(pte), PHYS_B | 3).unwrap();
        a.invlpg(dword_ptr(LIN)).unwrap();
    });
    assert_eq!(v, 0xB);
}

#[test]
fn mov_cr3_in_the_running_page_is_seen_by_the_next_block() {
    // MOV CR3 flushes the (non-global) translations, §4.10.4.1: the second directory
    // maps LIN to page B, whose bytes up to the target equal page A's.
    let v = remap_run(|a| {
        a.mov(eax, SECOND_PD).unwrap();
        a.mov(cr3, eax).unwrap();
    });
    assert_eq!(v, 0xB);
}

/// A loop whose body jumps (within its page) to code that the loop then rewrites: the
/// rewritten immediate must be what the next pass adds, although the jump target was
/// reached through a chain link before.
#[test]
fn rewritten_chained_code_runs_the_new_bytes() {
    // `add eax, imm32` (opcode 05, the immediate at +1) and RET, in the same page as
    // the loop, which calls it and then patches the immediate to 100.
    const ADD: u32 = PM_CODE + 0x800;
    let (mut cpu, mut bus) = flat32(|a| {
        let mut top = a.create_label();
        a.xor(eax, eax).unwrap();
        a.mov(ecx, 3u32).unwrap();
        a.set_label(&mut top).unwrap();
        a.call(ADD as u64).unwrap();
        a.mov(dword_ptr(ADD + 1), 100u32).unwrap();
        a.dec(ecx).unwrap();
        a.jnz(top).unwrap();
    });
    bus.load(ADD, &[0x05, 1, 0, 0, 0, 0xC3]);
    run(&mut cpu, &mut bus, 1_000);
    // Worked by hand: the first pass adds 1, the next two the patched 100.
    assert_eq!(cpu.regs[cpu::EAX], 1 + 100 + 100);
}

/// A loop whose body is one block goes round inside it (run.rs), and must still see
/// a write into its own code at once: the ADD's immediate is patched on the first pass.
#[test]
fn a_one_block_loop_sees_its_own_code_rewritten() {
    // xor eax,eax (2 bytes) and mov ecx,3 (5 bytes) put `top` at PM_CODE + 7; the
    // loop is add eax, imm32 (05 id, immediate at top + 1), the patch, dec, jnz top.
    const TOP: u32 = PM_CODE + 7;
    let (mut cpu, mut bus) = flat32(|a| {
        let mut top = a.create_label();
        a.xor(eax, eax).unwrap();
        a.mov(ecx, 3u32).unwrap();
        a.set_label(&mut top).unwrap();
        a.db(&[0x05, 1, 0, 0, 0]).unwrap();
        a.mov(dword_ptr(TOP + 1), 100u32).unwrap();
        a.dec(ecx).unwrap();
        a.jnz(top).unwrap();
    });
    run(&mut cpu, &mut bus, 1_000);
    // Worked by hand: 1 on the first pass, then the patched 100 twice.
    assert_eq!(cpu.regs[cpu::EAX], 1 + 100 + 100);
}

/// An interrupt that arrives while a one-block loop goes round is taken at the loop's
/// branch, as at any block boundary: the loop must not hold it off until the budget
/// runs out.
#[test]
fn a_one_block_loop_takes_interrupts() {
    // Real mode at 1000:0000: sti; nop; l: inc ax; jmp short l; then HLT at 0005, the
    // handler of vector 20h (IVT entry at 80h).
    let (mut cpu, mut bus) = real_mode(|a| {
        a.db(&[0xFB, 0x90, 0x40, 0xEB, 0xFD]).unwrap();
    });
    bus.load(0x80, &[0x05, 0x00, 0x00, 0x10]);
    bus.irq_after = Some((50, 0x20));
    assert_eq!(cpu.run(&mut bus, 1_000_000), Stop::Halt);
    assert_eq!((cpu.seg[cpu::CS].selector, cpu.eip), (0x1000, 6));
    // It was taken out of the loop (which had run), after 50 polls, not at the end.
    assert!(
        cpu.regs[cpu::EAX] > 0 && cpu.icount < 1_000,
        "{}",
        cpu.icount
    );
}

/// Nested loops (chained blocks, taken and not-taken exits) run in one call and in
/// slices of every size from 1 to 7 instructions end in the same state after the same
/// number of instructions.
#[test]
fn budget_slices_do_not_change_the_run() {
    let build = || {
        flat32(|a| {
            let mut outer = a.create_label();
            let mut inner = a.create_label();
            let mut odd = a.create_label();
            a.xor(eax, eax).unwrap();
            a.mov(esi, 20u32).unwrap();
            a.set_label(&mut outer).unwrap();
            a.mov(ecx, esi).unwrap();
            a.set_label(&mut inner).unwrap();
            a.add(eax, ecx).unwrap();
            a.test(ecx, 1).unwrap();
            a.jz(odd).unwrap();
            a.add(eax, 1000).unwrap();
            a.set_label(&mut odd).unwrap();
            a.loop_(inner).unwrap();
            a.dec(esi).unwrap();
            a.jnz(outer).unwrap();
        })
    };
    let (mut one, mut bus1) = build();
    run(&mut one, &mut bus1, 100_000);
    // Worked by hand: for n = 20..1 the inner loop adds 1 + ... + n = n(n+1)/2 and
    // 1000 for each odd ECX in 1..=n, ceil(n/2) of them:
    // Σ n(n+1)/2 = 1540 and Σ ceil(n/2) = 110.
    assert_eq!(one.regs[cpu::EAX], 1540 + 110_000);
    assert_slices_end_alike(build, &one, 7);
}

/// Stepping one instruction at a time through chained code counts exactly one
/// instruction per step.
#[test]
fn single_steps_count_one_instruction_each() {
    let (mut cpu, mut bus) = flat32(|a| {
        let mut l = a.create_label();
        a.mov(ecx, 5u32).unwrap();
        a.set_label(&mut l).unwrap();
        a.loop_(l).unwrap();
    });
    let mut n = 0;
    while cpu.step(&mut bus) == Stop::Budget {
        n += 1;
        assert_eq!(cpu.icount, n);
    }
    // MOV, five LOOPs, then HLT (which retires and halts): 7 instructions.
    assert_eq!(cpu.icount, 7);
}
