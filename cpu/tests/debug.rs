//! Debug-register execution breakpoints and RF (SDM Vol. 3A §17.2–17.3).

mod common;

use common::*;

/// Hand-assembled at 1000:0000; the breakpoint is set on `mov cx, 5` at offset 0x13,
/// linear 0x10013. The #DB handler at 0000:0500 does `mov bx, 0DBh; hlt`.
fn breakpoint_program(second_try_with_rf: bool) -> (cpu::Cpu, FlatBus) {
    let (cpu, mut bus) = real_mode(|a| {
        a.db(&[
            0x66, 0xB8, 0x13, 0x00, 0x01, 0x00, // 00: mov eax, 10013h
            0x0F, 0x23, 0xC0, // 06: mov dr0, eax
            0x66, 0xB8, 0x01, 0x00, 0x00, 0x00, // 09: mov eax, 1 (L0, R/W0 = execute)
            0x0F, 0x23, 0xF8, // 0F: mov dr7, eax
            0x90, // 12: nop
            0xB9, 0x05, 0x00, // 13: mov cx, 5
        ])
        .unwrap();
    });
    if second_try_with_rf {
        // Real-mode IRET pops only 16 bits of FLAGS (no RF), so this handler disables
        // the breakpoint (DR7 = 0) and returns: mov bx,0DBh; xor ax,ax; mov dr7,eax; iret
        bus.load(
            0x500,
            &[0xBB, 0xDB, 0x00, 0x31, 0xC0, 0x0F, 0x23, 0xF8, 0xCF],
        );
    } else {
        bus.load(0x500, &[0xBB, 0xDB, 0x00, 0xF4]);
    }
    bus.load(4, &[0x00, 0x05, 0x00, 0x00]);
    (cpu, bus)
}

#[test]
fn execution_breakpoint_faults_before_the_instruction() {
    let (mut cpu, mut bus) = breakpoint_program(false);
    run(&mut cpu, &mut bus, 100);
    assert_eq!(cpu.regs[cpu::EBX] & 0xFFFF, 0xDB);
    assert_eq!(
        cpu.regs[cpu::ECX] & 0xFFFF,
        0,
        "the instruction must not have run"
    );
    assert_eq!(cpu.dr[6] & 0xF, 1, "DR6.B0");
    // The fault pushed the breakpoint instruction's IP (0x13) on the stack.
    assert_eq!(bus.r16(0x20000 + 0xFFFE - 6), 0x13);
}

#[test]
fn handler_returning_after_clearing_dr7_resumes_the_instruction() {
    let (mut cpu, mut bus) = breakpoint_program(true);
    run(&mut cpu, &mut bus, 100);
    assert_eq!(cpu.regs[cpu::EBX] & 0xFFFF, 0xDB);
    assert_eq!(cpu.regs[cpu::ECX] & 0xFFFF, 5);
}
