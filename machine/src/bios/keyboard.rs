//! Keyboard BIOS: the IRQ 1 handler (INT 09h) and the keyboard services (INT 16h), as
//! an IBM PC/AT-compatible BIOS with an enhanced (101/102-key) keyboard behaves
//! (IBM PC/AT Technical Reference BIOS listing; Ralf Brown's Interrupt List for the
//! register conventions, the BIOS data area bits and the keystroke codes).
//!
//! INT 09h is real x86 code in the ROM, because it has to call other guest interrupt
//! handlers: INT 15h AH=4Fh (the keyboard intercept that TSRs such as KEYB hook to
//! translate or swallow scan codes), INT 1Bh (Ctrl+Break), INT 05h (Print Screen) and
//! INT 15h AH=85h (SysRq). Between the intercept and those calls it traps to the host,
//! which keeps the shift state and the keystroke buffer in the BIOS data area exactly
//! where the PC/AT keeps them, so programs that read or poke them keep working.

use super::{bda, After, TRAP_PORT};
use crate::Pc;
use cpu::{Bus, ZF};
use devices::Nanos;

/// ROM offset of the INT 09h handler: the PC/AT's entry point for it (some programs
/// far-call F000:E987 directly).
pub(super) const INT9: u16 = 0xE987;
/// IP right after the handler's `out 0EEh, al`: the host's half of INT 09h.
pub(super) const INT9_TRAP: u16 = INT9 + 0x14;

/// The INT 09h handler. The host returns in AH what is left to do once the interrupt
/// is acknowledged: 00h nothing, 1Bh call INT 1Bh, 05h call INT 05h, 85h call INT 15h
/// with AX = 8500h/8501h, FFh pause (wait with interrupts on until 0418h bit 3 is
/// cleared by a later keystroke). Those run after the EOI so that further keystrokes
/// (the one ending a pause) can interrupt, and so that a Ctrl+Break handler that never
/// returns does not leave IRQ 1 in service. ACK (FAh) and RESEND (FEh) replies to the
/// BIOS's own keyboard commands go straight to the host without the 4Fh intercept,
/// which only sees keystrokes.
#[rustfmt::skip]
const INT9_CODE: [u8; 0x52] = [
    0x50,                   // 00 push ax
    0xE4, 0x60,             // 01 in al, 60h
    0x3C, 0xFA,             // 03 cmp al, 0FAh (ACK)
    0x74, 0x0B,             // 05 je trap
    0x3C, 0xFE,             // 07 cmp al, 0FEh (RESEND)
    0x74, 0x07,             // 09 je trap
    0xB4, 0x4F,             // 0B mov ah, 4Fh
    0xF9,                   // 0D stc
    0xCD, 0x15,             // 0E int 15h (keyboard intercept)
    0x73, 0x39,             // 10 jnc eoi (the hook consumed the key)
    0xE6, TRAP_PORT as u8,  // 12 trap: out 0EEh, al (the host processes AL)
    0x84, 0xE4,             // 14 test ah, ah
    0x74, 0x33,             // 16 jz eoi
    0x50,                   // 18 push ax
    0xB0, 0x20, 0xE6, 0x20, // 19 EOI
    0x58,                   // 1D pop ax
    0x80, 0xFC, 0x1B,       // 1E cmp ah, 1Bh
    0x75, 0x04,             // 21 jne n1
    0xCD, 0x1B,             // 23 int 1Bh
    0xEB, 0x29,             // 25 jmp done
    0x80, 0xFC, 0x05,       // 27 n1: cmp ah, 05h
    0x75, 0x04,             // 2A jne n2
    0xCD, 0x05,             // 2C int 05h
    0xEB, 0x20,             // 2E jmp done
    0x80, 0xFC, 0x85,       // 30 n2: cmp ah, 85h
    0x75, 0x04,             // 33 jne pause
    0xCD, 0x15,             // 35 int 15h (AX = 8500h/8501h)
    0xEB, 0x17,             // 37 jmp done
    0x1E,                   // 39 pause: push ds
    0xB8, 0x40, 0x00,       // 3A mov ax, 40h
    0x8E, 0xD8,             // 3D mov ds, ax
    0xFB,                   // 3F sti
    0xF4,                   // 40 wait: hlt
    0xF6, 0x06, 0x18, 0x00, 0x08, // 41 test byte [18h], 08h
    0x75, 0xF8,             // 46 jnz wait
    0x1F,                   // 48 pop ds
    0xEB, 0x05,             // 49 jmp done
    0xFA,                   // 4B eoi: cli
    0xB0, 0x20, 0xE6, 0x20, // 4C EOI
    0x58,                   // 50 done: pop ax
    0xCF,                   // 51 iret
];

/// Puts the keyboard code into the ROM image.
pub(super) fn install_rom(r: &mut [u8]) {
    let o = INT9 as usize;
    r[o..o + INT9_CODE.len()].copy_from_slice(&INT9_CODE);
}

// BIOS data area bytes of the keyboard (Ralf Brown, MEM 0040h:0017h and following).
/// Shift flags: 7 Insert on, 6 Caps Lock on, 5 Num Lock on, 4 Scroll Lock on, 3 Alt,
/// 2 Ctrl, 1 left Shift, 0 right Shift held.
const FLAGS: u32 = bda::KB_FLAGS;
/// Shift flags 2: 7 Insert, 6 Caps Lock, 5 Num Lock, 4 Scroll Lock held, 3 paused,
/// 2 SysRq held, 1 left Alt held, 0 left Ctrl held.
const FLAGS1: u32 = 0x418;
/// The value being composed with Alt and the keypad digits.
const ALT_INPUT: u32 = 0x419;
const HEAD: u32 = bda::KB_HEAD;
const TAIL: u32 = bda::KB_TAIL;
/// Bit 7: Ctrl+Break was pressed.
const BREAK_FLAG: u32 = 0x471;
/// 1234h asks the POST for a warm boot.
const RESET_FLAG: u32 = 0x472;
const BUF_START: u32 = bda::KB_START;
const BUF_END: u32 = bda::KB_END;
/// Keyboard mode: 4 enhanced keyboard present, 3 right Alt held, 2 right Ctrl held,
/// 1 last code was E0h, 0 last code was E1h.
const FLAGS3: u32 = 0x496;
/// LED state: 7 transmit error, 6 LED update in progress, 5 RESEND received, 4 ACK
/// received, 2–0 Caps/Num/Scroll Lock LEDs (the keyboard's EDh bit order).
const FLAGS2: u32 = 0x497;

const SHIFT_R: u8 = 0x01;
const SHIFT_L: u8 = 0x02;
const CTRL: u8 = 0x04;
const ALT: u8 = 0x08;
const SCROLL: u8 = 0x10;
const NUM: u8 = 0x20;
const CAPS: u8 = 0x40;
const INSERT: u8 = 0x80;
const F1_PAUSE: u8 = 0x08;
const F1_SYSRQ: u8 = 0x04;
const F3_E1: u8 = 0x01;
const F3_E0: u8 = 0x02;
const F3_ENHANCED: u8 = 0x10;

/// A keystroke whose low byte is F0h exists only on the enhanced keyboard and has no
/// code on the 84-key one (Alt+Backspace, keypad 5 without Num Lock, …): AH=10h hands
/// it out with AL = 00h, AH=00h drops it (the IBM convention, visible to programs that
/// read the buffer directly).
const FILL: u16 = 0xF0;

/// The default typematic setting: 500 ms delay, 10.9 characters per second (what a
/// keyboard selects at reset, IBM keyboard technical reference).
pub(super) const TYPEMATIC_DEFAULT: u8 = 0x2B;

/// A program waiting for a key by polling INT 16h AH=01h in a tight loop (DOS at its
/// prompt) would keep a real-time host busy for nothing. After [`IDLE_POLLS`] empty
/// polls in a row, each within [`IDLE_POLL_GAP`] instructions of the last and with no
/// other BIOS service in between, the BIOS idles for [`IDLE_SKIP`] of virtual time (or
/// up to the next device event, if sooner) before answering, as the CPU would sitting
/// in a HLT — the idle calls real BIOSes make while waiting for a key (HLT, INT 15h
/// AH=90h). A real-time frontend then sleeps instead of running the loop.
///
/// The skip is short rather than a HLT until the next interrupt (the 55 ms timer tick):
/// DOS polls the keyboard for Ctrl+C as often while working (reading CONFIG.SYS polls
/// every ~1,000 instructions with no BIOS call between) as while waiting, and a 55 ms
/// pause per 16 polls made FreeDOS boot 5.5 s slower; 2 ms costs it 0.2 s. The choice
/// depends only on instruction counts and device state, so runs stay deterministic.
pub(super) const IDLE_POLLS: u32 = 16;
pub(super) const IDLE_POLL_GAP: u64 = 5_000;
pub(super) const IDLE_SKIP: Nanos = 2_000_000;

/// Empty AH=01h polls in a row and the instruction count of the last one.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct KeyPolls {
    count: u32,
    last: u64,
}

impl Pc {
    /// Lets virtual time pass as in a HLT, for `max` or up to the next device event.
    fn idle_skip(&mut self, max: Nanos) {
        let now = self.bus.now;
        let skip = self
            .bus
            .next_event()
            .map_or(max, |t| t.saturating_sub(now).min(max));
        self.bus.clock.idle += skip;
        self.bus.sync(self.cpu.icount);
    }

    /// Any other BIOS service between two polls (disk, video, serial…) means the
    /// program is working, not waiting: DOS checks the keyboard for Ctrl+C around
    /// every console and disk call, in bursts that must not be slowed down. The time
    /// (INT 1Ah) and interrupt handlers do not count: waiting for a key with a
    /// timeout reads the clock.
    pub(super) fn note_service(&mut self, n: u8) {
        if !matches!(n, 0x16 | 0x1A | 0x08..=0x0F | 0x70..=0x77) {
            self.bios_state.key_polls.count = 0;
        }
    }
}

/// What INT 09h must do after the host has processed a byte.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    None,
    /// Ctrl+Break: call INT 1Bh.
    Break,
    /// Print Screen: call INT 05h.
    PrintScreen,
    /// SysRq pressed (true) or released: call INT 15h AH=85h.
    SysRq(bool),
    /// Pause: wait for the next keystroke.
    Pause,
    /// Ctrl+Alt+Del.
    Reset,
}

/// Keypad digits with Alt compose a character code; the keys' positions on the pad.
fn keypad_digit(key: u8) -> Option<u8> {
    Some(match key {
        0x52 => 0,
        0x4F => 1,
        0x50 => 2,
        0x51 => 3,
        0x4B => 4,
        0x4C => 5,
        0x4D => 6,
        0x47 => 7,
        0x48 => 8,
        0x49 => 9,
        _ => return None,
    })
}

/// The keystrokes (scan << 8 | ASCII) a key makes unshifted, with Shift, with Ctrl and
/// with Alt (0 = none), from the IBM keystroke tables for the enhanced keyboard. Keypad
/// keys 47h–53h give their Shift column with Num Lock; `e0` selects the grey keys.
fn key_codes(key: u8, e0: bool) -> [u16; 4] {
    let k = (key as u16) << 8;
    if e0 {
        return match key {
            // Grey Enter and grey slash keep E0h as their scan code (AH=00h maps them
            // back to the main keys' 1Ch and 35h).
            0x1C => [0xE00D, 0xE00D, 0xE00A, 0xA600],
            0x35 => [0xE02F, 0xE02F, 0x9500, 0xA400],
            // Grey cursor keys: E0h in AL, and Alt codes 97h–A3h.
            0x47 | 0x48 | 0x49 | 0x4B | 0x4D | 0x4F..=0x53 => {
                let ctrl = match key {
                    0x47 => 0x77,
                    0x48 => 0x8D,
                    0x49 => 0x84,
                    0x4B => 0x73,
                    0x4D => 0x74,
                    0x4F => 0x75,
                    0x50 => 0x91,
                    0x51 => 0x76,
                    0x52 => 0x92,
                    _ => 0x93,
                };
                [
                    k | 0xE0,
                    k | 0xE0,
                    ctrl << 8 | 0xE0,
                    (key as u16 + 0x50) << 8,
                ]
            }
            _ => [0; 4],
        };
    }
    const ROWS: [(u8, &[u8]); 3] = [
        (0x10, b"qwertyuiop"),
        (0x1E, b"asdfghjkl"),
        (0x2C, b"zxcvbnm"),
    ];
    for (first, row) in ROWS {
        if let Some(&c) = key.checked_sub(first).and_then(|i| row.get(i as usize)) {
            let c = c as u16;
            return [k | c, k | (c - 0x20), k | (c & 0x1F), k];
        }
    }
    let ch = |c: u8| k | c as u16;
    match key {
        0x01 => [0x011B, 0x011B, 0x011B, k | FILL],
        0x02..=0x0D => {
            let i = (key - 2) as usize;
            let ctrl = match key {
                0x03 => 0x0300, // Ctrl+2 is NUL
                0x07 => 0x071E, // Ctrl+6 is RS
                0x0C => 0x0C1F, // Ctrl+- is US
                _ => 0,
            };
            [
                ch(b"1234567890-="[i]),
                ch(b"!@#$%^&*()_+"[i]),
                ctrl,
                (0x78 + i as u16) << 8,
            ]
        }
        0x0E => [0x0E08, 0x0E08, 0x0E7F, k | FILL],
        0x0F => [0x0F09, 0x0F00, 0x9400, 0xA500],
        0x1A => [ch(b'['), ch(b'{'), ch(0x1B), k | FILL],
        0x1B => [ch(b']'), ch(b'}'), ch(0x1D), k | FILL],
        0x1C => [0x1C0D, 0x1C0D, 0x1C0A, k | FILL],
        0x27 => [ch(b';'), ch(b':'), 0, k | FILL],
        0x28 => [ch(b'\''), ch(b'"'), 0, k | FILL],
        0x29 => [ch(b'`'), ch(b'~'), 0, k | FILL],
        0x2B => [ch(b'\\'), ch(b'|'), ch(0x1C), k | FILL],
        0x33 => [ch(b','), ch(b'<'), 0, k | FILL],
        0x34 => [ch(b'.'), ch(b'>'), 0, k | FILL],
        0x35 => [ch(b'/'), ch(b'?'), 0, k | FILL],
        0x37 => [ch(b'*'), ch(b'*'), 0x9600, k | FILL],
        0x39 => [0x3920; 4],
        // F1–F10: Shift, Ctrl and Alt give 54h–5Dh, 5Eh–67h, 68h–71h.
        0x3B..=0x44 => [k, k + 0x1900, k + 0x2300, k + 0x2D00],
        0x4A => [ch(b'-'), ch(b'-'), 0x8E00, k | FILL],
        0x4E => [ch(b'+'), ch(b'+'), 0x9000, k | FILL],
        // Keypad: cursor function, digit (Num Lock or Shift), Ctrl; Alt composes.
        0x47 => [k, ch(b'7'), 0x7700, 0],
        0x48 => [k, ch(b'8'), 0x8D00, 0],
        0x49 => [k, ch(b'9'), 0x8400, 0],
        0x4B => [k, ch(b'4'), 0x7300, 0],
        0x4C => [k | FILL, ch(b'5'), 0x8F00, 0],
        0x4D => [k, ch(b'6'), 0x7400, 0],
        0x4F => [k, ch(b'1'), 0x7500, 0],
        0x50 => [k, ch(b'2'), 0x9100, 0],
        0x51 => [k, ch(b'3'), 0x7600, 0],
        0x52 => [k, ch(b'0'), 0x9200, 0],
        0x53 => [k, ch(b'.'), 0x9300, 0],
        // The 102nd key (left of Z on international layouts) is \ | in the US table.
        0x56 => [ch(b'\\'), ch(b'|'), 0, 0],
        0x57 => [0x8500, 0x8700, 0x8900, 0x8B00],
        0x58 => [0x8600, 0x8800, 0x8A00, 0x8C00],
        _ => [0; 4],
    }
}

/// INT 16h AH=00h/01h's view of a buffered keystroke: the extended-only ones are
/// dropped (`None`), grey keys lose their E0h marker.
fn standard_view(v: u16) -> Option<u16> {
    let (scan, ascii) = ((v >> 8) as u8, v as u8);
    if scan == 0xE0 {
        // Grey Enter (0Dh, or 0Ah with Ctrl) and grey slash: the main keys' codes.
        return Some(if ascii == 0x0D || ascii == 0x0A {
            0x1C00 | ascii as u16
        } else {
            0x3500 | ascii as u16
        });
    }
    if scan > 0x84 {
        return None; // F11, F12 and the enhanced Ctrl/Alt combinations
    }
    match ascii {
        // Scan code 0 is an Alt+keypad character (F0h itself is a valid one).
        0xF0 if scan != 0 => None,
        0xE0 if scan != 0 => Some(v & 0xFF00),
        _ => Some(v),
    }
}

/// INT 16h AH=10h/11h's view: only the F0h fill-in becomes 00h.
fn extended_view(v: u16) -> u16 {
    if v as u8 == 0xF0 && v >> 8 != 0 {
        v & 0xFF00
    } else {
        v
    }
}

impl Pc {
    /// POST: the interrupt vector, an enhanced keyboard in the mode byte, the default
    /// typematic setting, and the LEDs off to match 0497h (a real POST resets the
    /// keyboard; after Ctrl+Alt+Del the LEDs could still show the old lock states).
    pub(super) fn keyboard_post(&mut self) {
        self.w16(9 * 4, INT9);
        self.w16(9 * 4 + 2, 0xF000);
        self.w8(FLAGS3, F3_ENHANCED);
        self.bios_state.typematic = TYPEMATIC_DEFAULT;
        // Set LEDs (EDh) to off; the two ACKs are read here, not left for INT 09h.
        for v in [0xED, 0x00] {
            self.bus.io_write(0x60, 1, v);
            let _ = self.bus.io_read(0x60, 1);
        }
    }

    /// The host's half of INT 09h: processes the byte in AL and returns in AH what the
    /// ROM code must do next (see `INT9_CODE`).
    pub(super) fn int09_trap(&mut self) {
        let code = self.al();
        let ah = match self.kbd_byte(code) {
            Action::None => 0,
            Action::Break => 0x1B,
            Action::PrintScreen => 0x05,
            Action::SysRq(make) => {
                self.set_al(!make as u8);
                0x85
            }
            Action::Pause => 0xFF,
            Action::Reset => {
                // Ctrl+Alt+Del: the warm-boot flag, then the CPU restarts at the reset
                // vector and the POST runs again.
                self.w16(RESET_FLAG, 0x1234);
                self.cpu.reset();
                return;
            }
        };
        self.set_ah(ah);
        self.sync_leds();
    }

    /// INT 09h reached through its default stub (only if a program pointed the vector
    /// there): the same processing, without the intercept or the guest calls.
    pub(super) fn int09(&mut self) {
        if self.bus.io_read(0x64, 1) & 1 != 0 {
            let code = self.bus.io_read(0x60, 1) as u8;
            if self.kbd_byte(code) == Action::Reset {
                self.w16(RESET_FLAG, 0x1234);
                self.cpu.reset();
                return;
            }
            self.sync_leds();
        }
        self.bus.io_write(0x20, 1, 0x20);
    }

    fn set_bits(&mut self, addr: u32, bits: u8, on: bool) {
        let v = self.r8(addr);
        self.w8(addr, if on { v | bits } else { v & !bits });
    }

    /// One byte from the keyboard (scan-code set 1, as the 8042 translates it).
    fn kbd_byte(&mut self, code: u8) -> Action {
        let f3 = self.r8(FLAGS3);
        match code {
            // Replies to the BIOS's own commands (LEDs, typematic rate).
            0xFA => {
                self.set_bits(FLAGS2, 0x10, true);
                return Action::None;
            }
            0xFE => {
                self.set_bits(FLAGS2, 0x20, true);
                return Action::None;
            }
            // Overrun / error codes: the PC/AT beeps and drops them.
            0x00 | 0xFF => return Action::None,
            0xE0 => {
                self.w8(FLAGS3, (f3 & !F3_E1) | F3_E0);
                return Action::None;
            }
            0xE1 => {
                self.w8(FLAGS3, (f3 & !F3_E0) | F3_E1);
                return Action::None;
            }
            _ => {}
        }
        let key = code & 0x7F;
        let make = code & 0x80 == 0;
        let e0 = f3 & F3_E0 != 0;
        if f3 & F3_E1 != 0 {
            // Pause sends E1 1D 45 (E1 9D C5 on release): the 1D keeps the E1 state.
            if key == 0x1D {
                return Action::None;
            }
            self.w8(FLAGS3, f3 & !F3_E1);
            return if key == 0x45 && make {
                self.start_pause()
            } else {
                Action::None
            };
        }
        self.w8(FLAGS3, f3 & !F3_E0);
        let flags = self.r8(FLAGS);
        match (key, e0) {
            // The shifts the keyboard fakes around grey keys (E0 2A, E0 AA, E0 36,
            // E0 B6) so that a set-1 driver sees the keys unshifted: not real keys.
            (0x2A | 0x36, true) => return Action::None,
            (0x2A | 0x36, false) => {
                let bit = if key == 0x2A { SHIFT_L } else { SHIFT_R };
                self.set_bits(FLAGS, bit, make);
                return Action::None;
            }
            (0x1D | 0x38, _) => {
                let ctrl = key == 0x1D;
                // Left keys live in 0418h bits 0/1, right ones in 0496h bits 2/3.
                let (addr, bit) = match (ctrl, e0) {
                    (true, false) => (FLAGS1, 0x01),
                    (false, false) => (FLAGS1, 0x02),
                    (true, true) => (FLAGS3, 0x04),
                    (false, true) => (FLAGS3, 0x08),
                };
                let was_alt = flags & ALT != 0;
                self.set_bits(addr, bit, make);
                let held = if ctrl {
                    self.r8(FLAGS1) & 0x01 != 0 || self.r8(FLAGS3) & 0x04 != 0
                } else {
                    self.r8(FLAGS1) & 0x02 != 0 || self.r8(FLAGS3) & 0x08 != 0
                };
                self.set_bits(FLAGS, if ctrl { CTRL } else { ALT }, held);
                if !ctrl && make && !was_alt {
                    self.w8(ALT_INPUT, 0);
                }
                if !ctrl && !held {
                    // Releasing Alt enters the character composed on the keypad (scan
                    // code 0); a value of 0 enters nothing.
                    let v = self.r8(ALT_INPUT);
                    self.w8(ALT_INPUT, 0);
                    if v != 0 {
                        self.push_key(v as u16);
                    }
                }
                return Action::None;
            }
            _ => {}
        }
        let ctrl = flags & CTRL != 0;
        let alt = flags & ALT != 0;
        // The lock keys (and Insert, below) act on the first make only: the "held"
        // bits of 0418h stop typematic repeats from toggling them again.
        let lock = match (key, e0) {
            (0x3A, false) => Some(CAPS),
            (0x45, false) if !ctrl => Some(NUM),
            (0x46, false) if !ctrl => Some(SCROLL),
            _ => None,
        };
        if !make {
            match (key, lock) {
                (_, Some(bit)) => self.set_bits(FLAGS1, bit, false),
                (0x45 | 0x46, None) if !e0 => self.set_bits(FLAGS1, key_lock_bit(key), false),
                (0x52, _) => self.set_bits(FLAGS1, INSERT, false),
                (0x54, _) if !e0 => {
                    self.set_bits(FLAGS1, F1_SYSRQ, false);
                    return Action::SysRq(false);
                }
                _ => {}
            }
            return Action::None;
        }
        if self.r8(FLAGS1) & F1_PAUSE != 0 {
            // Any keystroke ends a pause and is used up doing so.
            self.set_bits(FLAGS1, F1_PAUSE, false);
            return Action::None;
        }
        if let Some(bit) = lock {
            if self.r8(FLAGS1) & bit == 0 {
                self.set_bits(FLAGS1, bit, true);
                let f = self.r8(FLAGS);
                self.w8(FLAGS, f ^ bit);
            }
            return Action::None;
        }
        match (key, e0) {
            // Ctrl+Num Lock is the 84-key keyboard's Pause.
            (0x45, false) if ctrl => return self.start_pause(),
            // Ctrl+Pause sends E0 46; Ctrl+Scroll Lock was the 84-key keyboard's Break.
            (0x46, _) if ctrl => return self.ctrl_break(),
            (0x46, true) => return Action::None,
            (0x53, _) if ctrl && alt => return Action::Reset,
            (0x54, false) => {
                // Alt+Print Screen sends 54h: SysRq, reported once per press.
                if self.r8(FLAGS1) & F1_SYSRQ != 0 {
                    return Action::None;
                }
                self.set_bits(FLAGS1, F1_SYSRQ, true);
                return Action::SysRq(true);
            }
            (0x37, true) => {
                // Print Screen (E0 37); with Ctrl it is a keystroke (7200h).
                if ctrl {
                    self.push_key(0x7200);
                    return Action::None;
                }
                return Action::PrintScreen;
            }
            _ => {}
        }
        let keypad = !e0 && (0x47..=0x53).contains(&key) && key != 0x4A && key != 0x4E;
        if alt {
            if keypad {
                if let Some(d) = keypad_digit(key) {
                    let v = self.r8(ALT_INPUT);
                    self.w8(ALT_INPUT, v.wrapping_mul(10).wrapping_add(d));
                }
                return Action::None;
            }
            self.w8(ALT_INPUT, 0);
        }
        let codes = key_codes(key, e0);
        let shift = flags & (SHIFT_L | SHIFT_R) != 0;
        let v = if alt {
            codes[3]
        } else if ctrl {
            codes[2]
        } else if keypad {
            // Num Lock selects the digits; Shift inverts it for the moment.
            let digits = (flags & NUM != 0) != shift;
            if key == 0x52 && !digits {
                self.toggle_insert();
            }
            codes[digits as usize]
        } else {
            let letter = (codes[0] as u8).is_ascii_lowercase();
            // Caps Lock shifts letters only, and Shift undoes it.
            let upper = shift != (letter && flags & CAPS != 0);
            if key == 0x52 && e0 {
                self.toggle_insert();
            }
            codes[upper as usize]
        };
        if v != 0 {
            self.push_key(v);
        }
        Action::None
    }

    /// Insert toggles on its first make only (0418h bit 7 marks it held).
    fn toggle_insert(&mut self) {
        if self.r8(FLAGS1) & INSERT == 0 {
            self.set_bits(FLAGS1, INSERT, true);
            let f = self.r8(FLAGS);
            self.w8(FLAGS, f ^ INSERT);
        }
    }

    fn start_pause(&mut self) -> Action {
        if self.r8(FLAGS1) & F1_PAUSE != 0 {
            return Action::None; // already paused: the outer INT 09h is waiting
        }
        self.set_bits(FLAGS1, F1_PAUSE, true);
        Action::Pause
    }

    /// Ctrl+Break: flag it in 0471h, empty the buffer and leave a 0000h keystroke in it
    /// (what DOS's Ctrl+C check reads), then INT 1Bh is called.
    fn ctrl_break(&mut self) -> Action {
        let start = self.r16(BUF_START);
        self.w16(HEAD, start);
        self.w16(TAIL, start);
        self.set_bits(BREAK_FLAG, 0x80, true);
        self.push_key(0x0000);
        Action::Break
    }

    /// Sends the lock states to the keyboard LEDs (command EDh) when they differ from
    /// what 0497h says the LEDs show, as the PC/AT BIOS does from INT 09h and at
    /// INT 16h entry (programs toggle the locks by writing 0417h). The keyboard ACKs
    /// both bytes; INT 09h records those ACKs in 0497h and drops them.
    fn sync_leds(&mut self) {
        let want = (self.r8(FLAGS) >> 4) & 7;
        let f2 = self.r8(FLAGS2);
        if f2 & 7 == want {
            return;
        }
        self.w8(FLAGS2, (f2 & 0xC0) | want);
        self.bus.io_write(0x60, 1, 0xED);
        self.bus.io_write(0x60, 1, want as u32);
    }

    /// Appends a keystroke to the circular buffer (0480h/0482h bound it, 041Ah/041Ch
    /// are the head and tail offsets from 0400h). Returns `false` if it is full: one slot
    /// stays free so that head = tail means empty; the PC/AT beeps and drops the key.
    pub(super) fn push_key(&mut self, v: u16) -> bool {
        let head = self.r16(HEAD);
        let tail = self.r16(TAIL);
        let mut next = tail.wrapping_add(2);
        if next >= self.r16(BUF_END) {
            next = self.r16(BUF_START);
        }
        if next == head {
            return false;
        }
        self.w16(0x400 + tail as u32, v);
        self.w16(TAIL, next);
        true
    }

    fn peek_key(&mut self) -> Option<u16> {
        let head = self.r16(HEAD);
        (head != self.r16(TAIL)).then(|| self.r16(0x400 + head as u32))
    }

    fn pop_key(&mut self) -> Option<u16> {
        let v = self.peek_key()?;
        let mut next = self.r16(HEAD).wrapping_add(2);
        if next >= self.r16(BUF_END) {
            next = self.r16(BUF_START);
        }
        self.w16(HEAD, next);
        Some(v)
    }

    /// INT 16h: keyboard services.
    pub(super) fn int16(&mut self) -> After {
        self.sync_leds();
        // Dropped keystrokes are skipped in a bounded loop: the buffer pointers are
        // guest memory and may hold anything.
        const MAX_SKIP: usize = 64;
        let ah = self.ah();
        match ah {
            0x00 | 0x10 => {
                for _ in 0..MAX_SKIP {
                    let Some(v) = self.pop_key() else {
                        return After::Wait;
                    };
                    let v = if ah == 0x10 {
                        Some(extended_view(v))
                    } else {
                        standard_view(v)
                    };
                    if let Some(v) = v {
                        self.set16(0, v);
                        return After::Return;
                    }
                }
                return After::Wait;
            }
            0x01 | 0x11 => {
                let mut found = None;
                for _ in 0..MAX_SKIP {
                    let Some(v) = self.peek_key() else {
                        break;
                    };
                    let v = if ah == 0x11 {
                        Some(extended_view(v))
                    } else {
                        standard_view(v)
                    };
                    if v.is_some() {
                        found = v;
                        break;
                    }
                    // AH=01h discards an extended-only keystroke at the head.
                    self.pop_key();
                }
                let icount = self.cpu.icount;
                let polls = &mut self.bios_state.key_polls;
                if found.is_some() || icount.wrapping_sub(polls.last) > IDLE_POLL_GAP {
                    polls.count = 0;
                }
                polls.last = icount;
                if found.is_none() {
                    polls.count += 1;
                    if polls.count >= IDLE_POLLS {
                        polls.count = 0;
                        self.idle_skip(IDLE_SKIP);
                    }
                }
                if let Some(v) = found {
                    self.set16(0, v);
                }
                self.ret_flag(ZF, found.is_none());
            }
            0x02 => {
                let f = self.r8(FLAGS);
                self.set_al(f);
            }
            0x12 => {
                // AL as AH=02h; AH: 7 SysRq, 6–4 Caps/Num/Scroll held (0418h), 3 right
                // Alt, 2 right Ctrl (0496h), 1 left Alt, 0 left Ctrl (0418h).
                let f = self.r8(FLAGS);
                let f1 = self.r8(FLAGS1);
                let f3 = self.r8(FLAGS3);
                self.set_al(f);
                self.set_ah((f1 & 0x73) | (f3 & 0x0C) | (f1 & F1_SYSRQ) << 5);
            }
            0x03 => self.typematic(),
            0x05 => {
                let cx = self.cpu.regs[1] as u16;
                let full = !self.push_key(cx);
                self.set_al(full as u8);
            }
            // Capabilities: AX=0300h, 0305h, 0306h, AH=0Ah and AH=10h–12h.
            0x09 => self.set_al(0x3D),
            // Keyboard ID: an MF2 keyboard behind a translating 8042 (ID bytes AB 41).
            0x0A => self.set16(3, 0x41AB),
            _ => {}
        }
        After::Return
    }

    /// INT 16h AH=03h: AL=00h restores the default rate, 05h sets BH = delay (0–3:
    /// 250–1000 ms) and BL = rate (00h–1Fh: 30–2 per second) through keyboard command
    /// F3h, 06h returns the setting in BH/BL. Out-of-range values are ignored.
    fn typematic(&mut self) {
        let (bh, bl) = ((self.cpu.regs[3] >> 8) as u8, self.cpu.regs[3] as u8);
        let v = match self.al() {
            0x00 => TYPEMATIC_DEFAULT,
            0x05 if bh <= 3 && bl <= 0x1F => bh << 5 | bl,
            0x06 => {
                let t = self.bios_state.typematic;
                self.set16(3, ((t >> 5) as u16) << 8 | (t & 0x1F) as u16);
                return;
            }
            _ => return,
        };
        self.bios_state.typematic = v;
        self.bus.io_write(0x60, 1, 0xF3);
        self.bus.io_write(0x60, 1, v as u32);
    }
}

/// The "held" bit in 0418h of Num Lock (45h) or Scroll Lock (46h).
fn key_lock_bit(key: u8) -> u8 {
    if key == 0x45 {
        NUM
    } else {
        SCROLL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int9_trap_offset_matches_the_code() {
        assert_eq!(
            INT9_CODE[(INT9_TRAP - INT9) as usize - 2..(INT9_TRAP - INT9) as usize],
            [0xE6, TRAP_PORT as u8]
        );
    }

    #[test]
    fn keystroke_tables() {
        // Ralf Brown's keystroke table (INT 16h): a few of each kind.
        assert_eq!(key_codes(0x1E, false), [0x1E61, 0x1E41, 0x1E01, 0x1E00]);
        assert_eq!(key_codes(0x03, false), [0x0332, 0x0340, 0x0300, 0x7900]);
        assert_eq!(key_codes(0x0D, false)[3], 0x8300);
        assert_eq!(key_codes(0x44, false), [0x4400, 0x5D00, 0x6700, 0x7100]);
        assert_eq!(key_codes(0x48, true), [0x48E0, 0x48E0, 0x8DE0, 0x9800]);
        assert_eq!(key_codes(0x53, true)[3], 0xA300);
        assert_eq!(standard_view(0xE00D), Some(0x1C0D));
        assert_eq!(standard_view(0xE02F), Some(0x352F));
        assert_eq!(standard_view(0x48E0), Some(0x4800));
        assert_eq!(standard_view(0x8600), None);
        assert_eq!(standard_view(0x0EF0), None);
        assert_eq!(standard_view(0x00F0), Some(0x00F0), "Alt+240");
        assert_eq!(extended_view(0x0EF0), 0x0E00);
        assert_eq!(extended_view(0x00F0), 0x00F0);
    }
}
