//! A program waiting for a key by polling INT 16h AH=01h in a tight loop lets virtual
//! time pass as a HLT would (so a real-time host can sleep), while a program that works
//! between its polls runs exactly as before: virtual time follows its instructions.

use cpu::{Bus, CS, DS, ES, SS};
use machine::{Config, Exit, Pc, DEFAULT_IPS};

/// Nanoseconds of virtual time per instruction at the default clock.
const NS_PER_INSN: u64 = 1_000_000_000 / DEFAULT_IPS;

/// A PC after its POST (no disks: it stops at "No bootable device").
fn pc() -> Pc {
    let mut pc = Pc::new(Config {
        memory_mb: 2,
        no_reboot: true,
        ..Config::default()
    })
    .unwrap();
    assert_eq!(pc.run(100_000), Some(Exit::NoBootDevice));
    pc
}

/// Starts `code` at 0000:7C00 with interrupts enabled.
fn start(pc: &mut Pc, code: &[u8]) {
    for (i, b) in code.iter().enumerate() {
        pc.bus.write8(0x7C00 + i as u32, *b);
    }
    pc.cpu.flush_cache();
    for s in [CS, DS, ES, SS] {
        pc.cpu.seg[s].load_real(0);
    }
    pc.cpu.eip = 0x7C00;
    pc.cpu.regs[4] = 0x7000;
    pc.cpu.eflags = 0x202;
    pc.cpu.halted = false;
    pc.bus.exit = None;
}

/// Virtual time not accounted for by executed instructions (time spent idle).
fn idle(pc: &Pc) -> u64 {
    pc.bus.now - pc.instructions() * NS_PER_INSN
}

/// l: mov ah,01h; int 16h; jz l; mov [0600h],ax; cli; hlt — polls until a key is
/// there, stores it and stops.
const POLL: &[u8] = &[
    0xB4, 0x01, 0xCD, 0x16, 0x74, 0xFA, 0xA3, 0x00, 0x06, 0xFA, 0xF4,
];

#[test]
fn a_tight_poll_loop_idles_and_still_sees_the_key() {
    let mut pc = pc();
    start(&mut pc, POLL);
    let before = idle(&pc);
    // One second of virtual time of nothing but polling.
    assert_eq!(pc.run_until(200_000_000, pc.bus.now + 1_000_000_000), None);
    // Busy, the loop would run 100 million instructions in that second (the clock
    // rate); idling, a small fraction of that.
    assert!(
        pc.instructions() < 5_000_000,
        "{} instructions for 1 s of polling",
        pc.instructions()
    );
    assert!(idle(&pc) - before > 900_000_000, "idle {} ns", idle(&pc));
    // A key typed now is found by the next poll: 'a' is scan code 1Eh, ASCII 61h.
    assert!(pc.type_char(b'a'));
    assert_eq!(pc.run(1_000_000), Some(Exit::Halted));
    assert_eq!(pc.bus.read16(0x600), 0x1E61);
}

#[test]
fn polls_between_other_bios_calls_run_at_full_speed() {
    // l: mov ah,01h; int 16h; int 11h; jmp l — a program that also prints, reads the
    // disk, … between polls (here: INT 11h, the equipment list).
    let mut pc = pc();
    start(&mut pc, &[0xB4, 0x01, 0xCD, 0x16, 0xCD, 0x11, 0xEB, 0xF8]);
    let before = idle(&pc);
    assert_eq!(pc.run(2_000_000), None);
    assert_eq!(idle(&pc), before, "virtual time follows the instructions");
}

#[test]
fn polls_far_apart_run_at_full_speed() {
    // l: mov cx,6000; w: loop w; mov ah,01h; int 16h; jz l — a program that works
    // (6,000 LOOPs) between polls, like a game checking the keyboard once a frame.
    let mut pc = pc();
    start(
        &mut pc,
        &[
            0xB9, 0x70, 0x17, 0xE2, 0xFE, 0xB4, 0x01, 0xCD, 0x16, 0x74, 0xF5,
        ],
    );
    let before = idle(&pc);
    assert_eq!(pc.run(2_000_000), None);
    assert_eq!(idle(&pc), before, "virtual time follows the instructions");
}
