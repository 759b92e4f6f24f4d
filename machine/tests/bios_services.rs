//! The built-in BIOS's keyboard (INT 09h/16h) and system (INT 15h) services, driven by
//! small guest programs on a PC that has run its POST. Expected values come from the
//! IBM PC/AT BIOS interface as Ralf Brown's Interrupt List documents it.

use cpu::{Bus, CF, CS, DS, ES, SS, ZF};
use machine::{Config, Exit, Pc};

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

/// Loads `code` at `at` and starts it there with CS = DS = ES = SS = 0, SP = 7000h and
/// interrupts enabled.
fn start(pc: &mut Pc, at: u16, code: &[u8]) {
    load(pc, at as u32, code);
    for s in [CS, DS, ES, SS] {
        pc.cpu.seg[s].load_real(0);
    }
    pc.cpu.eip = at as u32;
    pc.cpu.regs[4] = 0x7000;
    pc.cpu.eflags = 0x202;
    pc.cpu.halted = false;
    pc.bus.exit = None;
}

fn load(pc: &mut Pc, at: u32, code: &[u8]) {
    for (i, b) in code.iter().enumerate() {
        pc.bus.write8(at + i as u32, *b);
    }
    pc.cpu.flush_cache();
}

/// Points interrupt vector `n` at 0000:`off` and returns the old vector (seg << 16 | off).
fn hook(pc: &mut Pc, n: u32, off: u16) -> u32 {
    let old = pc.bus.read32(n * 4);
    pc.bus.write32(n * 4, off as u32);
    old
}

/// Reads keystrokes forever with INT 16h function [0500h], storing AX at 0600h onwards
/// and the next free address at [0502h].
#[rustfmt::skip]
const READER: &[u8] = &[
    0x31, 0xC0,             // xor ax, ax
    0x8E, 0xD8,             // mov ds, ax
    0x8E, 0xC0,             // mov es, ax
    0xBF, 0x00, 0x06,       // mov di, 0600h
    0xFB,                   // sti
    0x8A, 0x26, 0x00, 0x05, // next: mov ah, [0500h]
    0xCD, 0x16,             // int 16h
    0xAB,                   // stosw
    0x89, 0x3E, 0x02, 0x05, // mov [0502h], di
    0xEB, 0xF3,             // jmp next
];

/// Waits for interrupts forever: sti; hlt; jmp $-1.
const IDLE: &[u8] = &[0xFB, 0xF4, 0xEB, 0xFD];

/// A PC running `READER` with INT 16h function `ah`.
fn reader(ah: u8) -> Pc {
    let mut pc = pc();
    pc.bus.write8(0x500, ah);
    start(&mut pc, 0x7C00, READER);
    pc.run(10_000);
    pc
}

/// Sends scan-code bytes one at a time, letting the guest run after each.
fn keys(pc: &mut Pc, bytes: &[u8]) {
    for &b in bytes {
        pc.key_bytes(&[b]);
        assert_eq!(pc.run(20_000), None);
    }
}

/// The keystrokes `READER` has read so far.
fn read(pc: &mut Pc) -> Vec<u16> {
    let end = pc.bus.read16(0x502).max(0x600);
    (0x600..end as u32)
        .step_by(2)
        .map(|a| pc.bus.read16(a))
        .collect()
}

fn typed(ah: u8, bytes: &[u8]) -> Vec<u16> {
    let mut pc = reader(ah);
    keys(&mut pc, bytes);
    read(&mut pc)
}

#[test]
fn letters_with_shift_ctrl_alt_and_caps_lock() {
    // a, Shift+A, Ctrl+C, Alt+A.
    let k = typed(
        0x00,
        &[
            0x1E, 0x9E, 0x2A, 0x1E, 0x9E, 0xAA, 0x1D, 0x2E, 0xAE, 0x9D, 0x38, 0x1E, 0x9E, 0xB8,
        ],
    );
    assert_eq!(k, [0x1E61, 0x1E41, 0x2E03, 0x1E00]);
    // Caps Lock: letters upper case, Shift undoes it, digits unaffected.
    let k = typed(
        0x00,
        &[
            0x3A, 0xBA, 0x1E, 0x9E, 0x2A, 0x1E, 0x9E, 0x02, 0x82, 0xAA, 0x02, 0x82,
        ],
    );
    assert_eq!(k, [0x1E41, 0x1E61, 0x0221, 0x0231]);
}

#[test]
fn function_keys_and_the_extended_only_ones() {
    // F1, Shift+F1, F12 with AH=10h.
    let k = typed(0x10, &[0x3B, 0xBB, 0x2A, 0x3B, 0xBB, 0xAA, 0x58, 0xD8]);
    assert_eq!(k, [0x3B00, 0x5400, 0x8600]);
    // AH=00h drops F12 and Alt+Backspace (enhanced-keyboard keystrokes) and returns 'a'.
    let k = typed(0x00, &[0x58, 0xD8, 0x38, 0x0E, 0x8E, 0xB8, 0x1E, 0x9E]);
    assert_eq!(k, [0x1E61]);
    // AH=10h returns Alt+Backspace as 0E00h.
    let k = typed(0x10, &[0x38, 0x0E, 0x8E, 0xB8]);
    assert_eq!(k, [0x0E00]);
}

#[test]
fn grey_keys_keep_e0_only_for_ah_10h() {
    // Grey Up arrow (E0 48), grey Enter (E0 1C), grey slash (E0 35).
    let bytes = [
        0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0x1C, 0xE0, 0x9C, 0xE0, 0x35, 0xE0, 0xB5,
    ];
    assert_eq!(typed(0x10, &bytes), [0x48E0, 0xE00D, 0xE02F]);
    assert_eq!(typed(0x00, &bytes), [0x4800, 0x1C0D, 0x352F]);
    // With Num Lock on, the keyboard wraps grey keys in fake shifts (E0 2A ... E0 AA):
    // they must not leave Shift set. Then keypad 7 types '7'.
    let mut pc = reader(0x10);
    keys(
        &mut pc,
        &[0x45, 0xC5, 0xE0, 0x2A, 0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0xAA],
    );
    keys(&mut pc, &[0x47, 0xC7]);
    assert_eq!(read(&mut pc), [0x48E0, 0x4737]);
    assert_eq!(pc.bus.read8(0x417), 0x20, "Num Lock on, no Shift");
}

#[test]
fn keypad_follows_num_lock_and_shift() {
    // Keypad 7 without Num Lock: Home (4700h).
    assert_eq!(typed(0x00, &[0x47, 0xC7]), [0x4700]);
    // Num Lock on: '7'; Shift+keypad 7 with Num Lock on: Home again.
    let mut pc = reader(0x00);
    keys(&mut pc, &[0x45, 0xC5, 0x47, 0xC7, 0x2A, 0x47, 0xC7, 0xAA]);
    assert_eq!(read(&mut pc), [0x4737, 0x4700]);
    // The Num Lock LED was sent to the keyboard (EDh, 02h) and both ACKs were taken by
    // INT 09h (0497h bit 4) without becoming keystrokes.
    assert_eq!(pc.bus.kbd.leds(), 0x02);
    assert_eq!(pc.bus.read8(0x497), 0x12);
    // Num Lock off again: the LED goes off.
    keys(&mut pc, &[0x45, 0xC5]);
    assert_eq!(pc.bus.kbd.leds(), 0x00);
    assert_eq!(pc.bus.read8(0x417), 0x00);
}

#[test]
fn alt_and_keypad_digits_compose_a_character() {
    // Alt held, keypad 6, keypad 5, Alt released: 'A' with scan code 0.
    assert_eq!(typed(0x00, &[0x38, 0x4D, 0xCD, 0x4C, 0xCC, 0xB8]), [0x0041]);
    // 2, 5, 6 wraps to 0, which enters nothing; Alt+keypad 2,4,0 gives 00F0h, which
    // AH=00h keeps (only F0h fill-ins with a scan code are dropped).
    assert_eq!(
        typed(
            0x00,
            &[
                0x38, 0x50, 0xD0, 0x4C, 0xCC, 0x4D, 0xCD, 0xB8, 0x38, 0x50, 0xD0, 0x4B, 0xCB, 0x52,
                0xD2, 0xB8
            ]
        ),
        [0x00F0]
    );
}

#[test]
fn shift_state_bytes_and_ah_12h() {
    // Right Ctrl (E0 1D) and left Alt held, Caps Lock pressed and still held.
    let mut pc = reader(0x00);
    keys(&mut pc, &[0xE0, 0x1D, 0x38, 0x3A]);
    assert_eq!(pc.bus.read8(0x417), 0x4C, "Caps on, Ctrl, Alt");
    assert_eq!(pc.bus.read8(0x418), 0x42, "Caps held, left Alt held");
    assert_eq!(
        pc.bus.read8(0x496),
        0x14,
        "enhanced keyboard, right Ctrl held"
    );
    // INT 16h AH=12h: AL = 0417h, AH = Caps held | right Ctrl | left Alt; AH=02h: AL.
    let (r, _) = call(&mut pc, 0x16, [0x1200, 0, 0, 0], 0);
    assert_eq!(r[0], 0x464C);
    let (r, _) = call(&mut pc, 0x16, [0x0200, 0, 0, 0], 0);
    assert_eq!(r[0], 0x024C);
}

#[test]
fn ctrl_break_calls_int_1bh_and_leaves_0000h() {
    let mut pc = pc();
    start(&mut pc, 0x7C00, IDLE);
    load(&mut pc, 0x7E00, &[0xFE, 0x06, 0x10, 0x05, 0xCF]); // inc byte [0510h]; iret
    hook(&mut pc, 0x1B, 0x7E00);
    // 'a' typed before is thrown away with the buffer; Ctrl+Pause sends E0 46.
    keys(&mut pc, &[0x1E, 0x9E]);
    keys(&mut pc, &[0x1D, 0xE0, 0x46, 0xE0, 0xC6, 0x9D]);
    assert_eq!(pc.bus.read8(0x510), 1, "INT 1Bh called once");
    assert_eq!(pc.bus.read8(0x471) & 0x80, 0x80, "break flag");
    let head = pc.bus.read16(0x41A);
    assert_eq!(pc.bus.read16(0x41C), head + 2, "one keystroke buffered");
    assert_eq!(pc.bus.read16(0x400 + head as u32), 0x0000);
}

#[test]
fn pause_waits_for_the_next_key() {
    let mut pc = reader(0x00);
    keys(&mut pc, &[0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]);
    assert_eq!(pc.bus.read8(0x418) & 0x08, 0x08, "paused");
    // The interrupted INT 09h is still waiting: its return address is on the stack.
    assert_ne!(pc.cpu.seg[CS].selector, 0, "inside the BIOS");
    // A keystroke ends the pause and is used up; the next one is read.
    keys(&mut pc, &[0x1E, 0x9E]);
    assert_eq!(pc.bus.read8(0x418) & 0x08, 0);
    keys(&mut pc, &[0x30, 0xB0]);
    assert_eq!(read(&mut pc), [0x3062]);
}

#[test]
fn print_screen_and_sysrq_call_their_interrupts() {
    let mut pc = reader(0x00);
    load(&mut pc, 0x7E00, &[0xFE, 0x06, 0x11, 0x05, 0xCF]); // inc byte [0511h]; iret
    hook(&mut pc, 0x05, 0x7E00);
    let old = hook(&mut pc, 0x15, 0x7D00);
    pc.bus.write32(0x7DF0, old);
    load(&mut pc, 0x7D00, HOOK);
    // Print Screen: E0 2A E0 37 / E0 B7 E0 AA; the fake shifts change nothing.
    keys(&mut pc, &[0xE0, 0x2A, 0xE0, 0x37, 0xE0, 0xB7, 0xE0, 0xAA]);
    assert_eq!(pc.bus.read8(0x511), 1);
    assert_eq!(pc.bus.read8(0x417), 0);
    // Alt+Print Screen sends SysRq (54h): INT 15h AX=8500h on press, 8501h on release.
    keys(&mut pc, &[0x38, 0x54]);
    assert_eq!((pc.bus.read8(0x520), pc.bus.read8(0x521)), (1, 0));
    assert_eq!(pc.bus.read8(0x418) & 0x04, 0x04, "SysRq held");
    keys(&mut pc, &[0x54, 0xD4, 0xB8]);
    assert_eq!(
        (pc.bus.read8(0x520), pc.bus.read8(0x521)),
        (2, 1),
        "no repeat"
    );
    assert!(read(&mut pc).is_empty());
}

/// An INT 15h hook at 7D00h: AH=4Fh swallows X (2Dh) and turns Y (15h) into Z (2Ch);
/// AH=85h is counted in [0520h] with AL saved at [0521h]; everything chains to the
/// old vector stored at 7DF0h.
#[rustfmt::skip]
const HOOK: &[u8] = &[
    0x80, 0xFC, 0x4F,             // cmp ah, 4Fh
    0x75, 0x0E,                   // jne chain
    0x3C, 0x2D,                   // cmp al, 2Dh
    0x75, 0x04,                   // jne y
    0xF8,                         // clc
    0xCA, 0x02, 0x00,             // retf 2 (CF=0: key consumed)
    0x3C, 0x15,                   // y: cmp al, 15h
    0x75, 0x02,                   // jne chain
    0xB0, 0x2C,                   // mov al, 2Ch
    0x80, 0xFC, 0x85,             // chain: cmp ah, 85h
    0x75, 0x07,                   // jne far
    0xFE, 0x06, 0x20, 0x05,       // inc byte [0520h]
    0xA2, 0x21, 0x05,             // mov [0521h], al
    0x2E, 0xFF, 0x2E, 0xF0, 0x7D, // far: jmp far [cs:7DF0h]
];

#[test]
fn int15_4fh_hook_can_swallow_or_replace_keys() {
    let mut pc = reader(0x00);
    let old = hook(&mut pc, 0x15, 0x7D00);
    pc.bus.write32(0x7DF0, old);
    load(&mut pc, 0x7D00, HOOK);
    // x (swallowed), y (becomes z), a.
    keys(&mut pc, &[0x2D, 0xAD, 0x15, 0x95, 0x1E, 0x9E]);
    assert_eq!(read(&mut pc), [0x2C7A, 0x1E61]);
}

#[test]
fn ctrl_alt_del_reboots() {
    let mut pc = reader(0x00);
    keys(&mut pc, &[0x1D, 0x38]);
    pc.key_bytes(&[0x53]);
    // The POST runs again and, with no disk, stops.
    assert_eq!(pc.run(100_000), Some(Exit::NoBootDevice));
    assert!(pc.screen_text().contains("No bootable device"));
    assert_eq!(
        pc.bus.read32(9 * 4),
        0xF000_E987,
        "INT 09h vector reinstalled"
    );
}

/// Runs `int n` with the given AX, BX, CX, DX (and ES:SI = 0:`si`); returns AX, BX, CX,
/// DX and the flags.
fn call(pc: &mut Pc, n: u8, regs: [u16; 4], si: u16) -> ([u16; 4], u16) {
    // int n; pushf; out 0F4h, al
    start(pc, 0x7C00, &[0xCD, n, 0x9C, 0xE6, 0xF4]);
    // EAX, ECX, EDX, EBX are registers 0–3.
    for (i, v) in [0, 3, 1, 2].into_iter().zip(regs) {
        pc.cpu.regs[i] = v as u32;
    }
    pc.cpu.regs[6] = si as u32;
    assert!(matches!(pc.run(50_000_000), Some(Exit::DebugExit(_))));
    let flags = pc.bus.read16(pc.cpu.regs[4] & 0xFFFF);
    let r = |i: usize| pc.cpu.regs[i] as u16;
    ([r(0), r(3), r(1), r(2)], flags)
}

#[test]
fn int16_store_capabilities_id_and_typematic() {
    let mut pc = pc();
    // AH=05h stores 15 keystrokes (16 slots, one kept free), then reports full.
    for i in 0..15u16 {
        let (r, _) = call(&mut pc, 0x16, [0x0500, 0, 0x1E61 + i, 0], 0);
        assert_eq!(r[0] & 0xFF, 0, "stored {i}");
    }
    let (r, _) = call(&mut pc, 0x16, [0x0500, 0, 0x1234, 0], 0);
    assert_eq!(r[0] & 0xFF, 1, "full");
    let (r, flags) = call(&mut pc, 0x16, [0x1100, 0, 0, 0], 0);
    assert_eq!((r[0], flags & ZF as u16), (0x1E61, 0));
    let (r, _) = call(&mut pc, 0x16, [0x1000, 0, 0, 0], 0);
    assert_eq!(r[0], 0x1E61);
    let (r, _) = call(&mut pc, 0x16, [0x0900, 0, 0, 0], 0);
    assert_eq!(r[0] & 0xFF, 0x3D);
    let (r, _) = call(&mut pc, 0x16, [0x0A00, 0, 0, 0], 0);
    assert_eq!(r[1], 0x41AB);
    // Typematic: set 750 ms / 15 cps (BH=2, BL=08h), read it back; out of range ignored.
    call(&mut pc, 0x16, [0x0305, 0x0208, 0, 0], 0);
    call(&mut pc, 0x16, [0x0305, 0x0420, 0, 0], 0);
    let (r, _) = call(&mut pc, 0x16, [0x0306, 0, 0, 0], 0);
    assert_eq!(r[1], 0x0208);
    // Unknown functions leave the registers alone.
    let (r, _) = call(&mut pc, 0x16, [0x0700, 0x1111, 0x2222, 0x3333], 0);
    assert_eq!(r, [0x0700, 0x1111, 0x2222, 0x3333]);
}

#[test]
fn int15_configuration_table() {
    let mut pc = pc();
    let (r, flags) = call(&mut pc, 0x15, [0xC000, 0, 0, 0], 0);
    assert_eq!(flags & CF as u16, 0);
    assert_eq!(r[0] >> 8, 0);
    let es = pc.cpu.seg[ES].selector;
    assert_eq!((es, r[1]), (0xF000, 0xE6F5));
    let table: Vec<u8> = (0..10).map(|i| pc.bus.read8(0xFE6F5 + i)).collect();
    assert_eq!(
        table,
        [0x08, 0x00, 0xFC, 0x01, 0x00, 0x70, 0x40, 0x00, 0x00, 0x00]
    );
}

#[test]
fn int15_keyboard_intercept_and_unsupported_functions() {
    let mut pc = pc();
    let (r, flags) = call(&mut pc, 0x15, [0x4F1E, 0, 0, 0], 0);
    assert_eq!((r[0], flags & CF as u16), (0x4F1E, CF as u16));
    let (r, flags) = call(&mut pc, 0x15, [0x8900, 0, 0, 0], 0);
    assert_eq!((r[0] >> 8, flags & CF as u16), (0x86, CF as u16));
    let (r, flags) = call(&mut pc, 0x15, [0x9102, 0, 0, 0], 0);
    assert_eq!((r[0] >> 8, flags & CF as u16), (0x00, 0));
}

#[test]
fn int15_block_move_reaches_above_1mb_whatever_the_a20_gate() {
    let mut pc = pc();
    for i in 0..512u32 {
        pc.bus.write8(0x7000 + i, (i * 7) as u8);
    }
    // GDT at 0:0800: source 00007000h, destination 00110000h, limits FFFFh.
    let gdt = 0x800;
    for i in 0..0x30 {
        pc.bus.write8(gdt + i, 0);
    }
    let desc = |pc: &mut Pc, at: u32, base: u32, limit: u16| {
        pc.bus.write16(at, limit);
        pc.bus.write16(at + 2, base as u16);
        pc.bus.write8(at + 4, (base >> 16) as u8);
        pc.bus.write8(at + 5, 0x93);
        pc.bus.write8(at + 7, (base >> 24) as u8);
    };
    desc(&mut pc, gdt + 0x10, 0x7000, 0xFFFF);
    desc(&mut pc, gdt + 0x18, 0x11_0000, 0xFFFF);
    pc.bus.io_write(0x92, 1, 0); // A20 off
    let (r, flags) = call(&mut pc, 0x15, [0x8700, 0, 0x100, 0], 0x800);
    assert_eq!(r[0] >> 8, 0);
    assert_eq!(flags & (CF | ZF) as u16, ZF as u16);
    assert_eq!(pc.bus.io_read(0x92, 1) & 2, 0, "A20 restored to off");
    pc.bus.io_write(0x92, 1, 2);
    for i in 0..512u32 {
        assert_eq!(pc.bus.read8(0x11_0000 + i), (i * 7) as u8);
    }
    assert_eq!(pc.bus.read8(0x11_0200), 0, "exactly CX words");
    assert_eq!(
        pc.bus.read8(0x1_0000),
        0,
        "nothing written at the wrapped address"
    );
    // A destination limit below the count faults in protected mode: AH=02h, CF=1.
    desc(&mut pc, gdt + 0x18, 0x12_0000, 0x00FF);
    let (r, flags) = call(&mut pc, 0x15, [0x8700, 0, 0x100, 0], 0x800);
    assert_eq!((r[0] >> 8, flags & CF as u16), (0x02, CF as u16));
    assert_eq!(pc.bus.read8(0x12_0000), 0);
}

#[test]
fn int15_block_move_wraps_at_4gb_and_drops_code_it_overwrites() {
    let mut pc = pc();
    // 32 bytes to FFFFFFF0h: the second 16 wrap to physical 0 (386 linear addresses
    // are 32 bits), where the guest has already run `mov al,1; ret` once.
    load(&mut pc, 0, &[0xB0, 0x01, 0xC3]);
    load(&mut pc, 0x7010, &[0xB0, 0x02, 0xC3]);
    let gdt = 0x800;
    for i in 0..0x30 {
        pc.bus.write8(gdt + i, 0);
    }
    for (at, base) in [(gdt + 0x10, 0x7000u32), (gdt + 0x18, 0xFFFF_FFF0)] {
        pc.bus.write16(at, 0xFFFF);
        pc.bus.write16(at + 2, base as u16);
        pc.bus.write8(at + 4, (base >> 16) as u8);
        pc.bus.write8(at + 5, 0x93);
        pc.bus.write8(at + 7, (base >> 24) as u8);
    }
    #[rustfmt::skip]
    start(&mut pc, 0x7C00, &[
        0xE8, 0xFD, 0x83,   // call 0000h
        0x88, 0xC3,         // mov bl, al
        0xB4, 0x87,         // mov ah, 87h
        0xB9, 0x10, 0x00,   // mov cx, 10h (words)
        0xBE, 0x00, 0x08,   // mov si, 0800h
        0xCD, 0x15,         // int 15h
        0xE8, 0xEE, 0x83,   // call 0000h
        0xE6, 0xF4,         // out 0F4h, al
    ]);
    pc.cpu.eflags = 0x002;
    assert_eq!(pc.run(1_000_000), Some(Exit::DebugExit(2)));
    assert_eq!(pc.cpu.regs[3] & 0xFF, 1, "the first call ran the old code");
    assert_eq!(pc.bus.read8(1), 0x02);
}

#[test]
fn int15_wait_takes_the_requested_virtual_time() {
    let mut pc = pc();
    let t0 = pc.bus.now;
    // 200 ms = 30D40h µs.
    let (_, flags) = call(&mut pc, 0x15, [0x8600, 0, 0x0003, 0x0D40], 0);
    assert_eq!(flags & CF as u16, 0);
    let ms = (pc.bus.now - t0) as f64 / 1e6;
    // Woken by the 18.2 Hz timer: done within one tick (54.9 ms) after the deadline.
    assert!((200.0..255.0).contains(&ms), "waited {ms} ms");
    assert_eq!(pc.bus.read8(0x4A0), 0, "no wait active");
    assert!(pc.instructions() < 100_000, "time skipped, not spun");
}

/// A pointing-device handler at 7E00h: stores its four stack words (status, X, Y, Z)
/// at 0530h–0537h and counts its calls in [0538h].
#[rustfmt::skip]
const MOUSE_HANDLER: &[u8] = &[
    0x55,                   // push bp
    0x89, 0xE5,             // mov bp, sp
    0x8B, 0x46, 0x06,       // mov ax, [bp+6] (Z)
    0xA3, 0x36, 0x05,       // mov [0536h], ax
    0x8B, 0x46, 0x08,       // mov ax, [bp+8] (Y)
    0xA3, 0x34, 0x05,       // mov [0534h], ax
    0x8B, 0x46, 0x0A,       // mov ax, [bp+10] (X)
    0xA3, 0x32, 0x05,       // mov [0532h], ax
    0x8B, 0x46, 0x0C,       // mov ax, [bp+12] (status)
    0xA3, 0x30, 0x05,       // mov [0530h], ax
    0xFE, 0x06, 0x38, 0x05, // inc byte [0538h]
    0x5D,                   // pop bp
    0xCB,                   // retf
];

#[test]
fn pointing_device_interface_calls_the_handler_with_packets() {
    let mut pc = pc();
    let cf = CF as u16;
    // Enabling without a handler: AH=05h.
    let (r, flags) = call(&mut pc, 0x15, [0xC200, 0x0100, 0, 0], 0);
    assert_eq!((r[0] >> 8, flags & cf), (0x05, cf));
    // Reset: BH = device ID 00h, BL = AAh (self test passed).
    let (r, flags) = call(&mut pc, 0x15, [0xC201, 0, 0, 0], 0);
    assert_eq!((r[0] >> 8, r[1], flags & cf), (0, 0x00AA, 0));
    // Sample rate 40/s (BH=2), resolution 8 counts/mm (BH=3), then the status request
    // reports them: BL = status (disabled, 1:1, no buttons), CL = 3, DL = 40.
    call(&mut pc, 0x15, [0xC202, 0x0200, 0, 0], 0);
    call(&mut pc, 0x15, [0xC203, 0x0300, 0, 0], 0);
    let (r, flags) = call(&mut pc, 0x15, [0xC206, 0x0000, 0, 0], 0);
    assert_eq!(flags & cf, 0);
    assert_eq!((r[1] & 0xFF, r[2] & 0xFF, r[3] & 0xFF), (0x00, 3, 40));
    // Invalid rate index: AH=02h. Device type: BH = 00h.
    let (r, flags) = call(&mut pc, 0x15, [0xC202, 0x0700, 0, 0], 0);
    assert_eq!((r[0] >> 8, flags & cf), (0x02, cf));
    let (r, _) = call(&mut pc, 0x15, [0xC204, 0xFFFF, 0, 0], 0);
    assert_eq!(r[1], 0x00FF);
    // Initialise with 3-byte packets, set the handler, enable.
    load(&mut pc, 0x7E00, MOUSE_HANDLER);
    for (ax, bx) in [(0xC205, 0x0300), (0xC207, 0x7E00), (0xC200, 0x0100)] {
        let (r, flags) = call(&mut pc, 0x15, [ax, bx, 0, 0], 0);
        assert_eq!((r[0] >> 8, flags & cf), (0, 0), "AX={ax:04X}");
    }
    start(&mut pc, 0x7C00, IDLE);
    pc.run(10_000);
    // Left button, 3 right, 2 down: status 29h, X 03h, Y FEh (two's complement).
    pc.mouse_event(3, -2, 1);
    pc.run(10_000);
    assert_eq!(pc.bus.read8(0x538), 1, "handler called once");
    let words: Vec<u16> = (0..4).map(|i| pc.bus.read16(0x530 + 2 * i)).collect();
    assert_eq!(words, [0x0029, 0x0003, 0x00FE, 0x0000]);
    pc.mouse_event(-1, 1, 0);
    pc.run(10_000);
    assert_eq!(pc.bus.read8(0x538), 2);
    assert_eq!(pc.bus.read16(0x530), 0x0018, "X negative, no buttons");
    assert_eq!(pc.bus.read16(0x532), 0x00FF);
    // Back at the idle loop's HLT (not inside a timer interrupt), the stack is where
    // it was: the handler's four words were dropped.
    for _ in 0..1000 {
        if pc.cpu.halted && pc.cpu.seg[CS].selector == 0 {
            break;
        }
        pc.run(1);
    }
    assert_eq!(pc.cpu.seg[CS].selector, 0);
    assert_eq!(
        pc.cpu.regs[4] as u16, 0x7000,
        "stack balanced after INT 74h"
    );
}

/// INT 13h AH=42h (EDD extended read) with the packet at 0600h and its buffer at
/// 0800h, storing AX at 0500h and FLAGS at 0502h. Returns (AH, CF, packet count after).
fn edd_read(pc: &mut Pc, lba: u64, count: u16) -> (u8, bool, u16) {
    #[rustfmt::skip]
    const CODE: &[u8] = &[
        0xB4, 0x42,             // mov ah, 42h
        0xB2, 0x80,             // mov dl, 80h
        0xBE, 0x00, 0x06,       // mov si, 0600h
        0xCD, 0x13,             // int 13h
        0x9C,                   // pushf
        0x8F, 0x06, 0x02, 0x05, // pop word [0502h]
        0xA3, 0x00, 0x05,       // mov [0500h], ax
        0xEB, 0xFE,             // jmp $
    ];
    let mut packet = vec![16u8, 0];
    packet.extend(count.to_le_bytes());
    packet.extend([0x00, 0x08, 0x00, 0x00]);
    packet.extend(lba.to_le_bytes());
    load(pc, 0x600, &packet);
    pc.bus.write32(0x500, 0xFFFF_FFFF);
    start(pc, 0x7C00, CODE);
    pc.run(10_000);
    let ax = pc.bus.read32(0x500) as u16;
    let flags = (pc.bus.read32(0x500) >> 16) as u16;
    let left = pc.bus.read32(0x602) as u16;
    ((ax >> 8) as u8, flags & CF as u16 != 0, left)
}

#[test]
fn edd_reads_past_the_end_fail_even_when_lba_plus_count_overflows() {
    let mut pc = pc();
    let mut img = vec![0u8; 100 * 512];
    img[99 * 512..].fill(0x99);
    pc.attach_hard_disk(0, Box::new(machine::MemDisk::new(img)))
        .unwrap();
    // The last sector reads (status 00h, CF clear) and lands in the buffer.
    assert_eq!(edd_read(&mut pc, 99, 1), (0x00, false, 1));
    assert_eq!(pc.bus.read8(0x800), 0x99);
    // One sector too many, and LBAs whose LBA + count wraps past 2^64: errors, and the
    // packet's count says no block moved (EDD 3.0, function 42h).
    for (lba, count) in [(99, 2), (u64::MAX, 1), (u64::MAX - 1, 3), (1 << 63, 2)] {
        let (ah, cf, left) = edd_read(&mut pc, lba, count);
        assert!(
            cf && ah != 0,
            "lba {lba:#x} count {count}: AH {ah:#04x} CF {cf}"
        );
        assert_eq!(left, 0);
    }
}
