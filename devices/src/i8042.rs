//! Intel 8042 keyboard controller with a PS/2 MF2 keyboard and a PS/2 mouse behind it,
//! as on the PC/AT: data port 0x60, status/command port 0x64, IRQ 1 (keyboard) and IRQ 12
//! (mouse), the command byte (interrupt enables, system flag, scan-code translation),
//! the output port (A20 gate and the CPU reset line), and the commands BIOSes and
//! Linux's i8042/atkbd drivers send (self tests, interface tests, enable/disable,
//! read/write command byte and output port, write to the mouse, pulse reset).
//!
//! # Keyboard
//!
//! The keyboard is modelled as the device itself: it produces scan-code set 2 by default
//! (sets 1 and 3 on request through command F0h), and the controller translates what it
//! receives to set 1 while command-byte bit 6 (XLAT) is set, as every PC BIOS leaves it.
//! Translation is a byte-wise table lookup; an F0h (set-2/3 break prefix) is swallowed and
//! folded into bit 7 of the next byte, so set-2 `F0 1C` becomes `9E` and `E0 F0 14`
//! becomes `E0 9D`. Bytes 80h and above pass unchanged (E0, E1, FA, AA, EE, FE, AB...)
//! except 83h (F7 in set 2) -> 41h and 84h (Alt+PrintScreen) -> 54h. Translation applies
//! to everything the keyboard sends, command replies included, so (as on real hardware)
//! the scan-set query F0h 00h answers 41h/43h/3Fh for sets 2/1/3 when translated and
//! 02h/01h/03h when not, and identify F2h answers `FA AB 41` translated, `FA AB 83` raw.
//! A keyboard switched to set 1 with translation still on gets translated twice, which
//! is what the hardware does too (drivers turn XLAT off before choosing set 1 or 3).
//!
//! The translation table is generated at start-up from the key table below (each key's
//! set-1 code and set-2 code, from IBM's and Microsoft's scan-code documentation, the
//! Microsoft "Keyboard Scan Code Specification" for F13-F24, the international keys and
//! the Windows/ACPI keys): `xlat[set2] = set1`. Three entries do not come from a key: 00h
//! (keyboard error/overrun) -> FFh, and 02h -> 41h, which is what makes the set-2 scan-set
//! report read 41h. Set-2 codes 01h-7Fh that no key sends are paired with the set-1
//! codes no key uses, in ascending order, so the table stays one-to-one; a real 8042 may
//! differ on those entries, which no key produces.
//!
//! Physical keys are identified by their set-1 make code plus whether they are
//! E0-prefixed (`key_event(code, extended, ...)`). Special keys: Pause is code 45h with
//! `extended` ([`KEY_PAUSE`]); it sends its whole sequence (set 1 `E1 1D 45 E1 9D C5`,
//! set 2 `E1 14 77 E1 F0 14 F0 77`) on press and nothing on release, or Break (`E0 46
//! E0 C6` / `E0 7E E0 F0 7E`) when a Ctrl key is held. PrintScreen ([`KEY_PRINT_SCREEN`],
//! E0 37h) sends the MF2 "fake shift" `E0 2A E0 37` (set 2 `E0 12 E0 7C`), only `E0 37`
//! with Shift or Ctrl held, and SysRq 54h (set 2 84h) with Alt held. The fake shifts
//! that MF2 keyboards add to the grey navigation keys depending on NumLock and Shift are
//! not generated (DOS, BIOSes and Linux ignore them). In set 3 every key is a plain
//! one-byte code (Pause 62h, PrintScreen 57h); keys outside the PC-105 layout (F13-F24,
//! international, ACPI) send nothing in set 3.
//!
//! Typematic repeat runs on virtual time (`next_event`/`tick`): the last key pressed
//! repeats its make code after the delay and at the rate set by command F3h (delay
//! (1 + bits 5-6) x 250 ms; period (8 + bits 0-2) x 2^(bits 3-4) x 4.17 ms, the IBM
//! formula). The power-on default is 2Bh: 10.9 characters/s after 500 ms, the value
//! usually quoted from IBM's PS/2 keyboard technical reference (not checked against the
//! manual itself here; secondary sources differ: the PC/AT's SETKEY notes give 10 cps /
//! 500 ms for the 84-key AT keyboard, util-linux kbdrate calls 10.9 cps / 250 ms "the
//! IBM defaults"). Releasing the repeating key stops the repeat;
//! pressing another key moves it there. Modifiers repeat too, like real MF2 keyboards;
//! Pause/Break never repeat. In set 3, the all-keys type commands F7h-FAh choose whether
//! keys repeat and send breaks; the per-key type commands FBh-FDh are acknowledged and
//! ignored. Host auto-repeat presses of an already held key are ignored by `key_event`.
//!
//! Keyboard commands: EDh LEDs, EEh echo, F0h scan set, F2h identify, F3h typematic,
//! F4h enable, F5h disable + defaults, F6h defaults, F7h-FDh set-3 key types, FEh
//! resend, FFh reset (ACK, then BAT AAh); anything else answers FEh. A data byte that is
//! itself a command (EDh and above) starts that command instead.
//! "Defaults" (F5h, F6h) means set 2, typematic 2Bh and set-3 make/break/typematic; LEDs
//! are only cleared by FFh.
//!
//! The older byte interface `key(&[u8])` still takes set-1 make/break bytes (possibly
//! one byte per call, E0/E1 prefixes included), parses them into keys and sends them
//! through the same keyboard, so a guest that turns translation off gets set 2 from it
//! too. It has no clock, so it never starts typematic repeat. Bytes that form no key
//! (00h, 80h, E0h before an unknown code, a malformed E1 sequence) are passed through
//! unchanged while the guest sees set 1 anyway, and dropped otherwise.
//!
//! Keys are dropped while the keyboard is disabled (F5h) or its interface is (command
//! byte bit 4), and a key event whose bytes do not fit the 16-byte buffer is lost.
//!
//! # Mouse
//!
//! The mouse supports stream and remote modes, sample rate, resolution, scaling and the
//! status request, with 3-byte movement packets from `mouse_event`. It is a Microsoft
//! IntelliMouse Explorer: setting the sample rate to 200, 100, 80 in a row turns it into
//! an IntelliMouse (ID 3, 4-byte packets whose last byte is the wheel's Z movement), and
//! then 200, 200, 80 into an IntelliMouse Explorer (ID 4, the last byte holding Z in
//! bits 0–3 and buttons 4 and 5 in bits 4 and 5), as the Microsoft IntelliMouse
//! specification and Linux's psmouse driver have it. A reset (FFh) makes it a plain
//! PS/2 mouse (ID 0) again.
//!
//! Log target: `i8042`.

use crate::{Irq, Nanos};
use std::collections::VecDeque;
use std::sync::OnceLock;

const STATUS_OBF: u8 = 1;
const STATUS_SYS: u8 = 4;
const STATUS_CMD: u8 = 8;
const STATUS_UNLOCKED: u8 = 0x10;
const STATUS_AUX: u8 = 0x20;

/// Pause, as `(code, extended)` for [`I8042::key_event`].
pub const KEY_PAUSE: (u8, bool) = (0x45, true);
/// PrintScreen/SysRq, as `(code, extended)` for [`I8042::key_event`].
pub const KEY_PRINT_SCREEN: (u8, bool) = (0x37, true);

/// A physical key: its set-1 make code, plus [`EXT`] for E0-prefixed keys.
type KeyId = u16;
const EXT: KeyId = 0x100;
const PAUSE: KeyId = EXT | 0x45;
const BREAK: KeyId = EXT | 0x46;
const PRTSC: KeyId = EXT | 0x37;
const SYSRQ: KeyId = 0x54;
const FAKE_LSHIFT: KeyId = EXT | 0x2A;
const FAKE_RSHIFT: KeyId = EXT | 0x36;

/// Every key: id (set-1 code, EXT if E0-prefixed), set-2 code (after the E0 prefix for
/// extended keys), set-3 code (0: the key sends nothing in set 3).
#[rustfmt::skip]
const KEYS: &[(KeyId, u8, u8)] = &[
    // Main block, function keys and keypad (PC/AT and MF2 keyboards).
    (0x01, 0x76, 0x08), // Esc
    (0x02, 0x16, 0x16), (0x03, 0x1E, 0x1E), (0x04, 0x26, 0x26), (0x05, 0x25, 0x25), // 1-4
    (0x06, 0x2E, 0x2E), (0x07, 0x36, 0x36), (0x08, 0x3D, 0x3D), (0x09, 0x3E, 0x3E), // 5-8
    (0x0A, 0x46, 0x46), (0x0B, 0x45, 0x45), // 9 0
    (0x0C, 0x4E, 0x4E), (0x0D, 0x55, 0x55), (0x0E, 0x66, 0x66), // - = Backspace
    (0x0F, 0x0D, 0x0D), // Tab
    (0x10, 0x15, 0x15), (0x11, 0x1D, 0x1D), (0x12, 0x24, 0x24), (0x13, 0x2D, 0x2D), // Q W E R
    (0x14, 0x2C, 0x2C), (0x15, 0x35, 0x35), (0x16, 0x3C, 0x3C), (0x17, 0x43, 0x43), // T Y U I
    (0x18, 0x44, 0x44), (0x19, 0x4D, 0x4D), (0x1A, 0x54, 0x54), (0x1B, 0x5B, 0x5B), // O P [ ]
    (0x1C, 0x5A, 0x5A), // Enter
    (0x1D, 0x14, 0x11), // Left Ctrl
    (0x1E, 0x1C, 0x1C), (0x1F, 0x1B, 0x1B), (0x20, 0x23, 0x23), (0x21, 0x2B, 0x2B), // A S D F
    (0x22, 0x34, 0x34), (0x23, 0x33, 0x33), (0x24, 0x3B, 0x3B), (0x25, 0x42, 0x42), // G H J K
    (0x26, 0x4B, 0x4B), (0x27, 0x4C, 0x4C), (0x28, 0x52, 0x52), (0x29, 0x0E, 0x0E), // L ; ' `
    (0x2A, 0x12, 0x12), // Left Shift
    (0x2B, 0x5D, 0x5C), // \ (101-key; the 102-key # key shares set 1/2, set 3 53h)
    (0x2C, 0x1A, 0x1A), (0x2D, 0x22, 0x22), (0x2E, 0x21, 0x21), (0x2F, 0x2A, 0x2A), // Z X C V
    (0x30, 0x32, 0x32), (0x31, 0x31, 0x31), (0x32, 0x3A, 0x3A), (0x33, 0x41, 0x41), // B N M ,
    (0x34, 0x49, 0x49), (0x35, 0x4A, 0x4A), // . /
    (0x36, 0x59, 0x59), // Right Shift
    (0x37, 0x7C, 0x7E), // Keypad *
    (0x38, 0x11, 0x19), // Left Alt
    (0x39, 0x29, 0x29), // Space
    (0x3A, 0x58, 0x14), // Caps Lock
    (0x3B, 0x05, 0x07), (0x3C, 0x06, 0x0F), (0x3D, 0x04, 0x17), (0x3E, 0x0C, 0x1F), // F1-F4
    (0x3F, 0x03, 0x27), (0x40, 0x0B, 0x2F), (0x41, 0x83, 0x37), (0x42, 0x0A, 0x3F), // F5-F8
    (0x43, 0x01, 0x47), (0x44, 0x09, 0x4F), // F9 F10
    (0x45, 0x77, 0x76), // Num Lock
    (0x46, 0x7E, 0x5F), // Scroll Lock
    (0x47, 0x6C, 0x6C), (0x48, 0x75, 0x75), (0x49, 0x7D, 0x7D), // Keypad 7 8 9
    (0x4A, 0x7B, 0x84), // Keypad -
    (0x4B, 0x6B, 0x6B), (0x4C, 0x73, 0x73), (0x4D, 0x74, 0x74), // Keypad 4 5 6
    (0x4E, 0x79, 0x7C), // Keypad +
    (0x4F, 0x69, 0x69), (0x50, 0x72, 0x72), (0x51, 0x7A, 0x7A), // Keypad 1 2 3
    (0x52, 0x70, 0x70), (0x53, 0x71, 0x71), // Keypad 0 .
    (0x54, 0x84, 0x57), // SysRq (Alt+PrintScreen)
    (0x56, 0x61, 0x13), // 102nd key (<> on ISO keyboards)
    (0x57, 0x78, 0x56), (0x58, 0x07, 0x5E), // F11 F12
    // Keys beyond PC-105 (Microsoft Keyboard Scan Code Specification): no set-3 codes here.
    (0x59, 0x0F, 0), // Keypad =
    (0x5C, 0x27, 0), // International 6
    (0x64, 0x08, 0), (0x65, 0x10, 0), (0x66, 0x18, 0), (0x67, 0x20, 0), // F13-F16
    (0x68, 0x28, 0), (0x69, 0x30, 0), (0x6A, 0x38, 0), (0x6B, 0x40, 0), // F17-F20
    (0x6C, 0x48, 0), (0x6D, 0x50, 0), (0x6E, 0x57, 0), (0x76, 0x5F, 0), // F21-F24
    (0x70, 0x13, 0), // International 2 (Katakana/Hiragana)
    (0x73, 0x51, 0), // International 1 (Ro)
    (0x79, 0x64, 0), // International 4 (Henkan)
    (0x7B, 0x67, 0), // International 5 (Muhenkan)
    (0x7D, 0x6A, 0), // International 3 (Yen)
    (0x7E, 0x6D, 0), // Keypad , (Brazilian)
    // E0-prefixed keys.
    (EXT | 0x1C, 0x5A, 0x79), // Keypad Enter
    (EXT | 0x1D, 0x14, 0x58), // Right Ctrl
    (FAKE_LSHIFT, 0x12, 0),   // MF2 fake Left Shift (PrintScreen prefix)
    (FAKE_RSHIFT, 0x59, 0),   // MF2 fake Right Shift
    (EXT | 0x35, 0x4A, 0x77), // Keypad /
    (PRTSC, 0x7C, 0x57),      // PrintScreen
    (EXT | 0x38, 0x11, 0x39), // Right Alt (AltGr)
    (BREAK, 0x7E, 0x62),      // Break (Ctrl+Pause)
    (PAUSE, 0x77, 0x62),      // Pause: E1 sequence in sets 1 and 2, see `scan_bytes`
    (EXT | 0x47, 0x6C, 0x6E), // Home
    (EXT | 0x48, 0x75, 0x63), // Up
    (EXT | 0x49, 0x7D, 0x6F), // Page Up
    (EXT | 0x4B, 0x6B, 0x61), // Left
    (EXT | 0x4D, 0x74, 0x6A), // Right
    (EXT | 0x4F, 0x69, 0x65), // End
    (EXT | 0x50, 0x72, 0x60), // Down
    (EXT | 0x51, 0x7A, 0x6D), // Page Down
    (EXT | 0x52, 0x70, 0x67), // Insert
    (EXT | 0x53, 0x71, 0x64), // Delete
    (EXT | 0x5B, 0x1F, 0x8B), // Left Windows
    (EXT | 0x5C, 0x27, 0x8C), // Right Windows
    (EXT | 0x5D, 0x2F, 0x8D), // Menu
    (EXT | 0x5E, 0x37, 0),    // ACPI Power
    (EXT | 0x5F, 0x3F, 0),    // ACPI Sleep
    (EXT | 0x63, 0x5E, 0),    // ACPI Wake
];

/// Tables derived from [`KEYS`].
struct Tables {
    /// The 8042's set 2 -> set 1 translation.
    xlat: [u8; 256],
    /// Set-2 code of each key id (0 = no such key).
    set2: [u8; 512],
    /// Set-3 code of each key id (0 = none).
    set3: [u8; 512],
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(build_tables)
}

fn build_tables() -> Tables {
    let mut xlat = [0u8; 256];
    for (i, x) in xlat.iter_mut().enumerate().skip(0x80) {
        *x = i as u8;
    }
    let mut assigned = [false; 256];
    let mut set2 = [0u8; 512];
    let mut set3 = [0u8; 512];
    // The keyboard error code and the set-2 scan-set report (see the module docs).
    xlat[0x00] = 0xFF;
    xlat[0x02] = 0x41;
    assigned[0x00] = true;
    assigned[0x02] = true;
    for &(id, s2, s3) in KEYS {
        set2[id as usize] = s2;
        set3[id as usize] = s3;
        let s1 = (id & 0x7F) as u8;
        if id != PAUSE {
            let s = s2 as usize;
            assert!(
                !assigned[s] || xlat[s] == s1,
                "set-2 code {s2:#04x} claimed by set-1 {:#04x} and {s1:#04x}",
                xlat[s]
            );
            xlat[s] = s1;
            assigned[s] = true;
        }
    }
    // Pair the set-2 codes no key sends with the set-1 codes no key has.
    let mut used1 = [false; 128];
    for s in 1..0x80 {
        if assigned[s] {
            used1[xlat[s] as usize] = true;
        }
    }
    let free1 = (1..0x80u8).filter(|&c| !used1[c as usize]);
    let free2: Vec<usize> = (1..0x80).filter(|&s| !assigned[s]).collect();
    for (s, c) in free2.into_iter().zip(free1) {
        xlat[s] = c;
        assigned[s] = true;
    }
    // Every non-extended set-1 code is a key: the set-2 code translating to it.
    for (s, &c) in xlat.iter().enumerate().take(0x80).skip(1) {
        let c = c as usize;
        if c < 0x80 && set2[c] == 0 {
            set2[c] = s as u8;
        }
    }
    Tables { xlat, set2, set3 }
}

fn is_key(id: KeyId) -> bool {
    (id as usize) < 512 && tables().set2[id as usize] != 0
}

/// A key held down, and the key codes its press sent (released in reverse order).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Held {
    key: KeyId,
    sent: Vec<KeyId>,
}

#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Repeat {
    /// The physical key held, and the code it repeats.
    key: KeyId,
    code: KeyId,
    at: Nanos,
}

/// The keyboard itself (an IBM MF2 keyboard's microcontroller).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Keyboard {
    /// Scan-code set 1, 2 or 3.
    set: u8,
    scanning: bool,
    leds: u8,
    /// Command F3h's byte: bits 5-6 delay, 0-4 rate.
    typematic: u8,
    /// Set 3 all-key types (F7h-FAh): repeat, and send break codes.
    set3_repeat: bool,
    set3_break: bool,
    /// A command waiting for its data byte.
    pending: Option<u8>,
    /// After FBh-FDh: key codes follow until the next command.
    key_list: bool,
    /// The last byte sent, for RESEND.
    last_sent: u8,
    held: Vec<Held>,
    repeat: Option<Repeat>,
    /// A partial set-1 sequence from `I8042::key` (E0, or E1 and what followed).
    partial: Vec<u8>,
}

/// Typematic byte after power-on and F5h/F6h: 10.9 cps, 500 ms.
const TYPEMATIC_DEFAULT: u8 = 0x2B;

/// Delay before the first repeat for typematic byte `t`.
fn typematic_delay(t: u8) -> Nanos {
    (((t >> 5) & 3) as u64 + 1) * 250_000_000
}

/// Repeat period for typematic byte `t`: (8 + A) * 2^B * 4.17 ms.
fn typematic_period(t: u8) -> Nanos {
    (8 + (t & 7) as u64) * (1 << ((t >> 3) & 3)) * 4_170_000
}

impl Keyboard {
    fn new() -> Self {
        Keyboard {
            set: 2,
            scanning: true,
            leds: 0,
            typematic: TYPEMATIC_DEFAULT,
            set3_repeat: true,
            set3_break: true,
            pending: None,
            key_list: false,
            last_sent: 0,
            held: Vec::new(),
            repeat: None,
            partial: Vec::new(),
        }
    }

    /// F5h/F6h: power-on defaults, keeping the LEDs and the host's held keys.
    fn set_defaults(&mut self) {
        self.set = 2;
        self.typematic = TYPEMATIC_DEFAULT;
        self.set3_repeat = true;
        self.set3_break = true;
        self.repeat = None;
    }

    /// The bytes key `id` sends when pressed (`make`) or released, in the current set.
    fn scan_bytes(&self, id: KeyId, make: bool) -> Vec<u8> {
        let t = tables();
        let ext = id & EXT != 0;
        match self.set {
            1 if id == PAUSE => {
                if make {
                    vec![0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]
                } else {
                    vec![]
                }
            }
            1 => {
                let code = (id & 0x7F) as u8 | if make { 0 } else { 0x80 };
                if ext {
                    vec![0xE0, code]
                } else {
                    vec![code]
                }
            }
            3 => match t.set3[id as usize] {
                0 => vec![],
                c if make => vec![c],
                c if self.set3_break => vec![0xF0, c],
                _ => vec![],
            },
            _ if id == PAUSE => {
                if make {
                    vec![0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77]
                } else {
                    vec![]
                }
            }
            _ => {
                let mut v = Vec::with_capacity(3);
                if ext {
                    v.push(0xE0);
                }
                if !make {
                    v.push(0xF0);
                }
                v.push(t.set2[id as usize]);
                v
            }
        }
    }

    /// Whether key code `id` repeats while held.
    fn repeats(&self, id: KeyId) -> bool {
        match self.set {
            3 => self.set3_repeat && tables().set3[id as usize] != 0,
            _ => !matches!(id, PAUSE | BREAK | FAKE_LSHIFT | FAKE_RSHIFT),
        }
    }

    fn holding(&self, keys: &[KeyId]) -> bool {
        self.held.iter().any(|h| keys.contains(&h.key))
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct I8042 {
    /// Bytes waiting for the CPU, with whether they came from the mouse.
    out: VecDeque<(u8, bool)>,
    pub command_byte: u8,
    /// A controller command waiting for its data byte.
    ctrl_pending: Option<u8>,
    /// Output port: bit 0 = reset line (active low), bit 1 = A20.
    pub output_port: u8,
    last_was_command: bool,
    /// The translator saw F0h and will set bit 7 of the next byte.
    xlat_f0: bool,
    /// Set when software pulsed the reset line; the machine resets the CPU.
    pub reset_requested: bool,
    kbd: Keyboard,
    mouse: Mouse,
}

/// PS/2 mouse state (IBM PS/2 Technical Reference, pointing device commands).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Mouse {
    reporting: bool,
    remote: bool,
    rate: u8,
    resolution: u8,
    scaling21: bool,
    buttons: u8,
    /// A command waiting for its data byte (sample rate, resolution).
    pending: Option<u8>,
    /// Movement accumulated in remote mode (X, Y, wheel), reported by READ DATA.
    acc: (i32, i32, i32),
    /// Device ID (F2h): 0 standard, 3 IntelliMouse, 4 IntelliMouse Explorer.
    id: u8,
    /// The last three sample rates set, oldest first: the knock sequences.
    rates: [u8; 3],
}

impl Default for Mouse {
    fn default() -> Self {
        Mouse {
            reporting: false,
            remote: false,
            rate: 100,
            resolution: 2,
            scaling21: false,
            buttons: 0,
            pending: None,
            acc: (0, 0, 0),
            id: 0,
            rates: [0; 3],
        }
    }
}

impl Mouse {
    /// One movement packet in the format of the current ID: 3 bytes, or 4 with the
    /// wheel (and buttons 4/5 for ID 4). Z is positive for the wheel turned towards
    /// the user and is limited to -8..7, the range both formats carry.
    fn packet(&self, dx: i32, dy: i32, dz: i32) -> Vec<u8> {
        let mut p = mouse_packet(dx, dy, self.buttons).to_vec();
        let z = dz.clamp(-8, 7) as u8;
        match self.id {
            3 => p.push(z),
            4 => p.push(z & 0x0F | (self.buttons >> 3 & 3) << 4),
            _ => {}
        }
        p
    }
}

/// One 3-byte movement packet: buttons, sign and overflow bits, then X and Y (Y up).
fn mouse_packet(dx: i32, dy: i32, buttons: u8) -> [u8; 3] {
    let clamp = |v: i32| v.clamp(-256, 255);
    let (x, y) = (clamp(dx), clamp(dy));
    let mut b0 = 0x08 | (buttons & 7);
    if x < 0 {
        b0 |= 0x10;
    }
    if y < 0 {
        b0 |= 0x20;
    }
    if dx != x {
        b0 |= 0x40;
    }
    if dy != y {
        b0 |= 0x80;
    }
    [b0, x as u8, y as u8]
}

impl Default for I8042 {
    fn default() -> Self {
        Self::new()
    }
}

impl I8042 {
    pub fn new() -> Self {
        I8042 {
            out: VecDeque::new(),
            // Keyboard interrupt on, system flag, translation on (what a BIOS leaves).
            command_byte: 0x45,
            ctrl_pending: None,
            output_port: 0x03,
            last_was_command: false,
            xlat_f0: false,
            reset_requested: false,
            kbd: Keyboard::new(),
            mouse: Mouse::default(),
        }
    }

    pub fn a20(&self) -> bool {
        self.output_port & 2 != 0
    }

    /// The keyboard LEDs as last set by command EDh: bit 0 Scroll, 1 Num, 2 Caps Lock.
    pub fn leds(&self) -> u8 {
        self.kbd.leds
    }

    /// The keyboard's scan-code set (1, 2 or 3).
    pub fn scan_set(&self) -> u8 {
        self.kbd.set
    }

    /// The keyboard's typematic byte (command F3h).
    pub fn typematic(&self) -> u8 {
        self.kbd.typematic
    }

    fn update_irq(&self, irq: &mut impl Irq) {
        let (kbd, aux) = match self.out.front() {
            Some(&(_, false)) => (self.command_byte & 1 != 0, false),
            Some(&(_, true)) => (false, self.command_byte & 2 != 0),
            None => (false, false),
        };
        irq.set_irq(1, kbd);
        irq.set_irq(12, aux);
    }

    /// Bytes from the controller itself (never translated).
    fn reply(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.out.push_back((b, false));
        }
    }

    fn aux_reply(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.out.push_back((b, true));
        }
    }

    /// `bytes` as the controller would store them after translation, and the
    /// translator's F0h state afterwards.
    fn translate(&self, bytes: &[u8]) -> (Vec<u8>, bool) {
        if self.command_byte & 0x40 == 0 {
            return (bytes.to_vec(), self.xlat_f0);
        }
        let xlat = &tables().xlat;
        let mut f0 = self.xlat_f0;
        let mut v = Vec::with_capacity(bytes.len());
        for &b in bytes {
            if b == 0xF0 {
                f0 = true;
            } else {
                v.push(xlat[b as usize] | if std::mem::take(&mut f0) { 0x80 } else { 0 });
            }
        }
        (v, f0)
    }

    /// Bytes the keyboard sends in answer to a command.
    fn kbd_reply(&mut self, bytes: &[u8]) {
        if let Some(&b) = bytes.last() {
            self.kbd.last_sent = b;
        }
        let (v, f0) = self.translate(bytes);
        self.xlat_f0 = f0;
        self.reply(&v);
    }

    /// Whether key codes reach the controller (keyboard scanning, interface enabled).
    fn kbd_live(&self) -> bool {
        self.kbd.scanning && self.command_byte & 0x10 == 0
    }

    /// Scan-code bytes from the keyboard: dropped while it is disabled or when the
    /// 16-byte buffer cannot take them all.
    fn kbd_scan(&mut self, bytes: &[u8]) {
        if bytes.is_empty() || !self.kbd_live() {
            return;
        }
        let (v, f0) = self.translate(bytes);
        if self.out.len() + v.len() > 16 {
            log::debug!(target: "i8042", "keyboard buffer full, {bytes:02x?} lost");
            return;
        }
        self.kbd.last_sent = bytes[bytes.len() - 1];
        self.xlat_f0 = f0;
        self.reply(&v);
    }

    fn send_key(&mut self, id: KeyId, make: bool) {
        self.send_keys(&[(id, make)]);
    }

    /// Several key codes as one event: stored whole or lost whole.
    fn send_keys(&mut self, codes: &[(KeyId, bool)]) {
        let b: Vec<u8> = codes
            .iter()
            .flat_map(|&(id, make)| self.kbd.scan_bytes(id, make))
            .collect();
        self.kbd_scan(&b);
    }

    /// Whether the guest reads set 1 whatever the path (translated set 2, or set 1
    /// untranslated): then bytes from `key` that form no key can pass unchanged.
    fn guest_sees_set1(&self) -> bool {
        let xlat = self.command_byte & 0x40 != 0;
        (xlat && self.kbd.set == 2) || (!xlat && self.kbd.set == 1)
    }

    fn key_passthrough(&mut self, bytes: &[u8]) {
        if self.guest_sees_set1() && self.kbd_live() && self.out.len() + bytes.len() <= 16 {
            self.reply(bytes);
        } else {
            log::debug!(target: "i8042", "key bytes {bytes:02x?} form no key; dropped");
        }
    }

    /// A key event from the host, as set-1 scan code bytes (make or break, with any
    /// E0 prefix; a sequence may be split over several calls). The keys go through the
    /// keyboard like `key_event`'s, in the scan set and translation the guest chose,
    /// but without typematic repeat (there is no clock here). Dropped while the
    /// keyboard is disabled or not scanning.
    pub fn key(&mut self, codes: &[u8], irq: &mut impl Irq) {
        for &b in codes {
            self.key_byte(b);
        }
        self.update_irq(irq);
    }

    fn key_byte(&mut self, b: u8) {
        let mut seq = std::mem::take(&mut self.kbd.partial);
        seq.push(b);
        let (id, make) = match seq[..] {
            [0xE0] | [0xE1] | [0xE1, _] => {
                self.kbd.partial = seq;
                return;
            }
            [0xE1, x, y] if x & 0x7F == 0x1D && y & 0x7F == 0x45 && (x ^ y) & 0x80 == 0 => {
                (PAUSE, x & 0x80 == 0)
            }
            [0xE0, 0xE0 | 0xE1] => {
                self.key_passthrough(&[0xE0]);
                self.kbd.partial = vec![b];
                return;
            }
            [0xE0, x] => (EXT | (x & 0x7F) as KeyId, x & 0x80 == 0),
            [x] => (x as KeyId & 0x7F, x & 0x80 == 0),
            _ => return self.key_passthrough(&seq),
        };
        if id & 0x7F == 0 || !is_key(id) {
            return self.key_passthrough(&seq);
        }
        self.send_key(id, make);
        let k = &mut self.kbd;
        if make {
            k.repeat = None;
            if !k.holding(&[id]) {
                k.held.push(Held {
                    key: id,
                    sent: vec![id],
                });
            }
        } else {
            k.held.retain(|h| h.key != id);
            if k.repeat.is_some_and(|r| r.key == id) {
                k.repeat = None;
            }
        }
    }

    /// A physical key pressed or released. `code` is the key's set-1 make code
    /// (01h-7Fh), `extended` true for E0-prefixed keys. Pause ([`KEY_PAUSE`]) and
    /// PrintScreen ([`KEY_PRINT_SCREEN`]) are handled specially: Pause sends its whole
    /// E1 sequence on press (Break with Ctrl held) and nothing on release; PrintScreen
    /// adds the fake shift, or becomes SysRq with Alt held. A press of a key already
    /// held (host auto-repeat) is ignored: the keyboard repeats by itself from `now`.
    pub fn key_event(
        &mut self,
        code: u8,
        extended: bool,
        pressed: bool,
        now: Nanos,
        irq: &mut impl Irq,
    ) {
        let key = code as KeyId | if extended { EXT } else { 0 };
        if code == 0 || code > 0x7F || !is_key(key) {
            log::debug!(target: "i8042", "no key {code:#04x} (extended {extended})");
            return;
        }
        if pressed {
            self.press(key, now);
        } else {
            self.release(key);
        }
        self.update_irq(irq);
    }

    fn press(&mut self, key: KeyId, now: Nanos) {
        let k = &self.kbd;
        if k.holding(&[key]) {
            return;
        }
        const CTRL: [KeyId; 2] = [0x1D, EXT | 0x1D];
        const ALT: [KeyId; 2] = [0x38, EXT | 0x38];
        const SHIFT: [KeyId; 2] = [0x2A, 0x36];
        let mut sent = vec![key];
        if k.set != 3 {
            match key {
                PAUSE if k.holding(&CTRL) => {
                    // Ctrl+Pause is Break, make and break at once.
                    self.send_keys(&[(BREAK, true), (BREAK, false)]);
                    sent.clear();
                }
                PRTSC if k.holding(&ALT) => sent = vec![SYSRQ],
                PRTSC if !k.holding(&CTRL) && !k.holding(&SHIFT) => {
                    sent = vec![FAKE_LSHIFT, PRTSC];
                }
                _ => {}
            }
        }
        let makes: Vec<_> = sent.iter().map(|&id| (id, true)).collect();
        self.send_keys(&makes);
        let k = &mut self.kbd;
        k.repeat = match sent.last() {
            Some(&code) if k.repeats(code) => Some(Repeat {
                key,
                code,
                at: now + typematic_delay(k.typematic),
            }),
            _ => None,
        };
        k.held.push(Held { key, sent });
    }

    fn release(&mut self, key: KeyId) {
        let k = &mut self.kbd;
        let Some(i) = k.held.iter().position(|h| h.key == key) else {
            return;
        };
        let h = k.held.remove(i);
        if k.repeat.is_some_and(|r| r.key == key) {
            k.repeat = None;
        }
        let breaks: Vec<_> = h.sent.iter().rev().map(|&id| (id, false)).collect();
        self.send_keys(&breaks);
    }

    /// Releases every held key (the host window lost focus), sending their break codes
    /// so the guest sees no stuck keys.
    pub fn release_all(&mut self, now: Nanos, irq: &mut impl Irq) {
        let _ = now;
        self.kbd.partial.clear();
        while let Some(h) = self.kbd.held.last() {
            self.release(h.key);
        }
        self.kbd.repeat = None;
        self.update_irq(irq);
    }

    /// When `tick` must next run: the next typematic repeat, if a key is repeating.
    pub fn next_event(&self, now: Nanos) -> Option<Nanos> {
        let _ = now;
        self.kbd.repeat.map(|r| r.at)
    }

    /// Advances to `now`: sends the typematic repeats due by then.
    pub fn tick(&mut self, now: Nanos, irq: &mut impl Irq) {
        let Some(mut r) = self.kbd.repeat else {
            return;
        };
        if r.at > now {
            return;
        }
        let period = typematic_period(self.kbd.typematic);
        let due = (now - r.at) / period + 1;
        // After a long stall only a buffer's worth could be stored anyway.
        for _ in 0..due.min(16) {
            self.send_key(r.code, true);
        }
        r.at += due * period;
        self.kbd.repeat = Some(r);
        self.update_irq(irq);
    }

    pub fn read(&mut self, port: u16, irq: &mut impl Irq) -> u8 {
        let v = if port == 0x64 {
            let mut s = STATUS_UNLOCKED | (self.command_byte & STATUS_SYS);
            if self.last_was_command {
                s |= STATUS_CMD;
            }
            if let Some(&(_, aux)) = self.out.front() {
                s |= STATUS_OBF;
                if aux {
                    s |= STATUS_AUX;
                }
            }
            return s;
        } else {
            self.out.pop_front().map_or(0, |(b, _)| b)
        };
        // Reading the data port empties the output buffer, dropping the IRQ; the next
        // queued byte then refills it, a fresh edge for the edge-triggered PIC.
        irq.set_irq(1, false);
        irq.set_irq(12, false);
        self.update_irq(irq);
        v
    }

    pub fn write(&mut self, port: u16, v: u8, irq: &mut impl Irq) {
        if port == 0x64 {
            self.last_was_command = true;
            self.controller_command(v);
        } else {
            self.last_was_command = false;
            match self.ctrl_pending.take() {
                Some(0x60) => self.command_byte = v,
                Some(0xD1) => {
                    self.output_port = v;
                    if v & 1 == 0 {
                        self.reset_requested = true;
                    }
                }
                Some(0xD2) => self.reply(&[v]),
                Some(0xD3) => self.aux_reply(&[v]),
                Some(0xD4) => self.mouse_command(v),
                _ => self.keyboard_command(v),
            }
        }
        self.update_irq(irq);
    }

    fn controller_command(&mut self, c: u8) {
        match c {
            0x20 => {
                let cb = self.command_byte;
                self.reply(&[cb]);
            }
            0x60 | 0xD1 | 0xD2 | 0xD3 | 0xD4 => self.ctrl_pending = Some(c),
            0xA7 => self.command_byte |= 0x20,
            0xA8 => self.command_byte &= !0x20,
            0xA9 | 0xAB => self.reply(&[0x00]),
            0xAA => {
                self.command_byte |= STATUS_SYS;
                self.xlat_f0 = false;
                self.reply(&[0x55]);
            }
            0xAD => self.command_byte |= 0x10,
            0xAE => self.command_byte &= !0x10,
            0xC0 => self.reply(&[0xBF]),
            0xD0 => {
                let p = self.output_port;
                self.reply(&[p]);
            }
            0xE0 => self.reply(&[0x00]),
            0xF0..=0xFF => {
                // Pulse output-port lines low; bit 0 is the CPU reset.
                if c & 1 == 0 {
                    self.reset_requested = true;
                }
            }
            _ => log::debug!(target: "i8042", "controller command {c:#04x} ignored"),
        }
    }

    /// A byte written to the keyboard (IBM PS/2 keyboard command set).
    fn keyboard_command(&mut self, v: u8) {
        let k = &mut self.kbd;
        // A command byte (EDh and above) always starts a command, abandoning any data
        // byte or key list the keyboard was waiting for.
        if v < 0xED {
            if let Some(cmd) = k.pending.take() {
                let reply: &[u8] = match cmd {
                    0xED => {
                        k.leds = v & 7;
                        &[0xFA]
                    }
                    0xF3 => {
                        k.typematic = v & 0x7F;
                        &[0xFA]
                    }
                    // F0h: 0 reports the set, 1-3 select it.
                    _ => match v {
                        0 => {
                            let set = k.set;
                            return self.kbd_reply(&[0xFA, set]);
                        }
                        1..=3 => {
                            k.set = v;
                            k.repeat = None;
                            &[0xFA]
                        }
                        _ => &[0xFE],
                    },
                };
                return self.kbd_reply(reply);
            }
            if k.key_list {
                return self.kbd_reply(&[0xFA]);
            }
            return self.kbd_reply(&[0xFE]);
        }
        k.pending = None;
        k.key_list = false;
        let reply: &[u8] = match v {
            0xED | 0xF0 | 0xF3 => {
                k.pending = Some(v);
                &[0xFA]
            }
            0xEE => &[0xEE],
            0xF2 => &[0xFA, 0xAB, 0x83],
            0xF4 => {
                k.scanning = true;
                k.repeat = None;
                &[0xFA]
            }
            0xF5 | 0xF6 => {
                k.scanning = v == 0xF6;
                k.set_defaults();
                &[0xFA]
            }
            0xF7..=0xFA => {
                // Set 3 all-key types: F7 typematic, F8 make/break, F9 make only,
                // FA typematic make/break.
                k.set3_repeat = v == 0xF7 || v == 0xFA;
                k.set3_break = v == 0xF8 || v == 0xFA;
                &[0xFA]
            }
            0xFB..=0xFD => {
                k.key_list = true;
                &[0xFA]
            }
            0xFE => {
                let b = k.last_sent;
                return self.kbd_reply(&[b]);
            }
            0xFF => {
                let held = std::mem::take(&mut k.held);
                *k = Keyboard::new();
                k.held = held;
                &[0xFA, 0xAA]
            }
            _ => &[0xFE],
        };
        self.kbd_reply(reply);
    }

    fn mouse_command(&mut self, v: u8) {
        let m = &mut self.mouse;
        if let Some(cmd) = m.pending.take() {
            match cmd {
                0xF3 => {
                    m.rate = v;
                    m.rates = [m.rates[1], m.rates[2], v];
                    match (m.id, m.rates) {
                        (0, [200, 100, 80]) => m.id = 3,
                        (3, [200, 200, 80]) => m.id = 4,
                        _ => {}
                    }
                }
                _ => m.resolution = v & 3,
            }
            self.aux_reply(&[0xFA]);
            return;
        }
        match v {
            0xFF => {
                *m = Mouse::default();
                self.aux_reply(&[0xFA, 0xAA, 0x00]);
            }
            0xF6 => {
                // Set Defaults restores the settings, not the protocol: only a reset
                // leaves the wheel mode (as QEMU's and Linux's psmouse assume).
                let id = m.id;
                *m = Mouse::default();
                m.id = id;
                self.aux_reply(&[0xFA]);
            }
            0xF2 => {
                let id = m.id;
                self.aux_reply(&[0xFA, id]);
            }
            0xF3 | 0xE8 => {
                m.pending = Some(v);
                self.aux_reply(&[0xFA]);
            }
            0xF4 => {
                m.reporting = true;
                self.aux_reply(&[0xFA]);
            }
            0xF5 => {
                m.reporting = false;
                self.aux_reply(&[0xFA]);
            }
            0xE6 | 0xE7 => {
                m.scaling21 = v == 0xE7;
                self.aux_reply(&[0xFA]);
            }
            0xEA | 0xF0 => {
                m.remote = v == 0xF0;
                self.aux_reply(&[0xFA]);
            }
            0xE9 => {
                let status = (m.remote as u8) << 6
                    | (m.reporting as u8) << 5
                    | (m.scaling21 as u8) << 4
                    | (m.buttons & 1) << 2
                    | (m.buttons & 2) >> 1
                    | (m.buttons & 4) >> 1;
                let (res, rate) = (m.resolution, m.rate);
                self.aux_reply(&[0xFA, status, res, rate]);
            }
            0xEB => {
                let (dx, dy, dz) = std::mem::take(&mut m.acc);
                let p = m.packet(dx, dy, dz);
                self.aux_reply(&[0xFA]);
                self.aux_reply(&p);
            }
            _ => self.aux_reply(&[0xFE]),
        }
    }

    /// Mouse movement from the host (dy positive = up) and the button state (bit 0
    /// left, 1 right, 2 middle). In stream mode with reporting on, a packet is queued
    /// and IRQ 12 raised; in remote mode the motion waits for READ DATA.
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8, irq: &mut impl Irq) {
        self.mouse_wheel_event(dx, dy, 0, buttons & 7, irq);
    }

    /// [`I8042::mouse_event`] with the wheel: `dz` notches, positive towards the user
    /// (scrolling down), and buttons 4 and 5 in bits 3 and 4. A plain PS/2 mouse (ID 0)
    /// drops both, as the hardware has no way to send them.
    pub fn mouse_wheel_event(
        &mut self,
        dx: i32,
        dy: i32,
        dz: i32,
        buttons: u8,
        irq: &mut impl Irq,
    ) {
        let m = &mut self.mouse;
        m.buttons = buttons & 0x1F;
        if m.remote {
            m.acc = (
                m.acc.0.saturating_add(dx),
                m.acc.1.saturating_add(dy),
                m.acc.2.saturating_add(dz),
            );
            return;
        }
        // Room for a whole packet in the 16-byte buffer, or none of it.
        let len = if m.id == 0 { 3 } else { 4 };
        if !m.reporting || self.command_byte & 0x20 != 0 || self.out.len() + len > 16 {
            return;
        }
        let p = m.packet(dx, dy, dz);
        self.aux_reply(&p);
        self.update_irq(irq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IrqLog;

    #[test]
    fn self_test_and_command_byte() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x64, 0xAA, &mut irq);
        assert_eq!(k.read(0x64, &mut irq) & STATUS_OBF, STATUS_OBF);
        assert_eq!(k.read(0x60, &mut irq), 0x55);
        k.write(0x64, 0x60, &mut irq);
        k.write(0x60, 0x47, &mut irq);
        k.write(0x64, 0x20, &mut irq);
        assert_eq!(k.read(0x60, &mut irq), 0x47);
    }

    #[test]
    fn keyboard_reset_acks_and_passes_bat() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x60, 0xFF, &mut irq);
        assert!(
            irq.levels[1],
            "IRQ 1 with a byte waiting and interrupts enabled"
        );
        assert_eq!(k.read(0x60, &mut irq), 0xFA);
        assert_eq!(k.read(0x60, &mut irq), 0xAA);
        assert!(!irq.levels[1]);
    }

    #[test]
    fn keys_raise_irq1_and_read_back_in_order() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.key(&[0x1E], &mut irq); // 'A' make
        k.key(&[0x9E], &mut irq); // 'A' break
        assert!(irq.levels[1]);
        assert_eq!(k.read(0x60, &mut irq), 0x1E);
        assert_eq!(irq.rises(1), 2, "the second byte raises IRQ 1 again");
        assert_eq!(k.read(0x60, &mut irq), 0x9E);
        // Disabled keyboard (command byte bit 4) drops keys.
        k.write(0x64, 0xAD, &mut irq);
        k.key(&[0x1E], &mut irq);
        assert_eq!(k.read(0x64, &mut irq) & STATUS_OBF, 0);
    }

    #[test]
    fn output_port_controls_a20_and_reset() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x64, 0xD1, &mut irq);
        k.write(0x60, 0x01, &mut irq); // A20 off, reset line high
        assert!(!k.a20());
        assert!(!k.reset_requested);
        k.write(0x64, 0xFE, &mut irq); // pulse reset
        assert!(k.reset_requested);
    }

    #[test]
    fn mouse_streams_packets_when_enabled() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x64, 0x60, &mut irq);
        k.write(0x60, 0x47, &mut irq);
        k.mouse_event(5, 5, 0, &mut irq);
        assert_eq!(
            k.read(0x64, &mut irq) & STATUS_OBF,
            0,
            "no packets before F4"
        );
        k.write(0x64, 0xD4, &mut irq);
        k.write(0x60, 0xF4, &mut irq);
        assert_eq!(k.read(0x60, &mut irq), 0xFA);
        // Left button, 3 right, 2 down: 0x08 | left | Y sign = 0x29, then 03, FE.
        k.mouse_event(3, -2, 1, &mut irq);
        assert!(irq.levels[12]);
        let p: Vec<u8> = (0..3).map(|_| k.read(0x60, &mut irq)).collect();
        assert_eq!(p, [0x29, 0x03, 0xFE]);
        // Overflow: X beyond 255 sets bit 6 and clamps.
        assert_eq!(mouse_packet(300, 0, 0), [0x48, 0xFF, 0x00]);
    }

    /// Sends `bytes` to the mouse (each through D4h) and returns what comes back.
    fn aux_cmd(k: &mut I8042, irq: &mut IrqLog, bytes: &[u8]) -> Vec<u8> {
        for &b in bytes {
            k.write(0x64, 0xD4, irq);
            k.write(0x60, b, irq);
        }
        drain(k, irq)
    }

    #[test]
    fn intellimouse_knock_gives_id_3_and_4_byte_packets() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0x00]);
        // Set sample rate 200, 100, 80, then identify: ID 3 (Microsoft IntelliMouse).
        let knock = [0xF3, 200, 0xF3, 100, 0xF3, 80];
        assert_eq!(aux_cmd(&mut k, &mut irq, &knock), [0xFA; 6]);
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0x03]);
        aux_cmd(&mut k, &mut irq, &[0xF4]);
        // Left button, 3 right, 2 down, wheel one notch towards the user: the 3-byte
        // packet 29h 03h FEh, then Z = +1.
        k.mouse_wheel_event(3, -2, 1, 1, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x29, 0x03, 0xFE, 0x01]);
        // One notch away from the user: Z = -1 as a two's complement byte.
        k.mouse_wheel_event(0, 0, -1, 0, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x08, 0x00, 0x00, 0xFF]);
        // Plain motion still carries the fourth byte, Z = 0.
        k.mouse_event(1, 0, 0, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x08, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn explorer_knock_after_intellimouse_gives_id_4_with_buttons_4_and_5() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        aux_cmd(&mut k, &mut irq, &[0xF3, 200, 0xF3, 100, 0xF3, 80]);
        aux_cmd(&mut k, &mut irq, &[0xF3, 200, 0xF3, 200, 0xF3, 80]);
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0x04]);
        aux_cmd(&mut k, &mut irq, &[0xF4]);
        // Buttons 4 and 5 held, wheel one notch away: byte 4 = Z (-1 → 0Fh in bits
        // 0-3) | button 4 (bit 4) | button 5 (bit 5) = 3Fh; byte 1 has only bit 3.
        k.mouse_wheel_event(0, 0, -1, 0x18, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x08, 0x00, 0x00, 0x3F]);
        // Two notches towards the user, button 4 only: 02h | 10h.
        k.mouse_wheel_event(0, 0, 2, 0x08, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x08, 0x00, 0x00, 0x12]);
        // Z is a 4-bit field: a fast spin is limited to -8..7.
        k.mouse_wheel_event(0, 0, 20, 0, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x08, 0x00, 0x00, 0x07]);
        k.mouse_wheel_event(0, 0, -20, 0, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x08, 0x00, 0x00, 0x08]);
        // Set Defaults keeps the protocol; a reset returns to a plain mouse.
        aux_cmd(&mut k, &mut irq, &[0xF6]);
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0x04]);
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xFF]), [0xFA, 0xAA, 0x00]);
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0x00]);
        aux_cmd(&mut k, &mut irq, &[0xF4]);
        k.mouse_wheel_event(1, 0, 3, 0x18, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x08, 0x01, 0x00], "no wheel byte");
    }

    #[test]
    fn only_the_exact_knocks_change_the_id() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        // The Explorer knock alone does not work on a plain mouse.
        aux_cmd(&mut k, &mut irq, &[0xF3, 200, 0xF3, 200, 0xF3, 80]);
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0x00]);
        aux_cmd(&mut k, &mut irq, &[0xF3, 200, 0xF3, 100, 0xF3, 60]);
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0x00]);
        // Interrupted by another rate.
        aux_cmd(
            &mut k,
            &mut irq,
            &[0xF3, 200, 0xF3, 40, 0xF3, 100, 0xF3, 80],
        );
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0x00]);
        // The last three rates count, whatever came before.
        aux_cmd(
            &mut k,
            &mut irq,
            &[0xF3, 10, 0xF3, 200, 0xF3, 100, 0xF3, 80],
        );
        assert_eq!(aux_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0x03]);
    }

    #[test]
    fn remote_mode_reports_the_wheel_on_read_data() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        aux_cmd(&mut k, &mut irq, &[0xF3, 200, 0xF3, 100, 0xF3, 80, 0xF0]);
        k.mouse_wheel_event(2, 0, 1, 0, &mut irq);
        k.mouse_wheel_event(1, 0, 2, 0, &mut irq);
        assert_eq!(
            aux_cmd(&mut k, &mut irq, &[0xEB]),
            [0xFA, 0x08, 0x03, 0x00, 0x03]
        );
    }

    #[test]
    fn mouse_status_request_reports_settings() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        for b in [0xF3, 40, 0xE8, 3, 0xE9] {
            k.write(0x64, 0xD4, &mut irq);
            k.write(0x60, b, &mut irq);
        }
        let r: Vec<u8> = (0..8).map(|_| k.read(0x60, &mut irq)).collect();
        // ACKs for F3, 40, E8, 3, then E9's ACK, status 0, resolution 3, rate 40.
        assert_eq!(r, [0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0x00, 0x03, 40]);
    }

    #[test]
    fn mouse_bytes_are_flagged_and_raise_irq12() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x64, 0x60, &mut irq);
        k.write(0x60, 0x47, &mut irq); // both interrupts on
        k.write(0x64, 0xD4, &mut irq);
        k.write(0x60, 0xF2, &mut irq); // identify
        assert!(irq.levels[12]);
        assert_eq!(k.read(0x64, &mut irq) & STATUS_AUX, STATUS_AUX);
        assert_eq!(k.read(0x60, &mut irq), 0xFA);
        assert_eq!(k.read(0x60, &mut irq), 0x00);
    }

    fn drain(k: &mut I8042, irq: &mut IrqLog) -> Vec<u8> {
        let mut v = Vec::new();
        while k.read(0x64, irq) & STATUS_OBF != 0 {
            v.push(k.read(0x60, irq));
        }
        v
    }

    /// Command byte 05h: as the BIOS leaves it but with translation (bit 6) off.
    fn untranslated() -> (I8042, IrqLog) {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.write(0x64, 0x60, &mut irq);
        k.write(0x60, 0x05, &mut irq);
        (k, irq)
    }

    fn kbd_cmd(k: &mut I8042, irq: &mut IrqLog, bytes: &[u8]) -> Vec<u8> {
        for &b in bytes {
            k.write(0x60, b, irq);
        }
        drain(k, irq)
    }

    fn tap(k: &mut I8042, irq: &mut IrqLog, code: u8, ext: bool) -> Vec<u8> {
        k.key_event(code, ext, true, 0, irq);
        k.key_event(code, ext, false, 0, irq);
        drain(k, irq)
    }

    #[test]
    fn translation_table_follows_the_key_table() {
        let t = tables();
        // Documented pairs: A, Esc, F7 (the only set-2 code above 7Fh) and SysRq.
        assert_eq!(t.set2[0x1E], 0x1C);
        assert_eq!(t.xlat[0x1C], 0x1E);
        assert_eq!(t.xlat[0x76], 0x01);
        assert_eq!(t.xlat[0x83], 0x41);
        assert_eq!(t.xlat[0x84], 0x54);
        // Scan-set reports 01h/02h/03h read 43h/41h/3Fh translated.
        assert_eq!([t.xlat[1], t.xlat[2], t.xlat[3]], [0x43, 0x41, 0x3F]);
        // Prefixes, ACK, BAT, echo, resend, ID pass through.
        for b in [0xE0, 0xE1, 0xFA, 0xAA, 0xEE, 0xFE, 0xAB] {
            assert_eq!(t.xlat[b as usize], b);
        }
        // 01h-7Fh is one-to-one onto 01h-7Fh.
        let mut seen = [false; 128];
        for s in 1..0x80 {
            let c = t.xlat[s] as usize;
            assert!(c < 0x80 && c != 0 && !seen[c], "xlat[{s:#x}] = {c:#x}");
            seen[c] = true;
        }
        // Every key, extended or not, translates back to its own set-1 code.
        for &(id, s2, _) in KEYS {
            if id != PAUSE {
                assert_eq!(t.xlat[s2 as usize], (id & 0x7F) as u8, "key {id:#x}");
            }
        }
        for c in 1..0x80usize {
            assert_eq!(t.xlat[t.set2[c] as usize] as usize, c);
        }
    }

    #[test]
    fn translated_set2_reads_as_set1() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        // 'A': set 2 1C / F0 1C, translated 1E / 9E.
        assert_eq!(tap(&mut k, &mut irq, 0x1E, false), [0x1E, 0x9E]);
        // Right Ctrl: E0 14 / E0 F0 14 -> E0 1D / E0 9D.
        assert_eq!(tap(&mut k, &mut irq, 0x1D, true), [0xE0, 0x1D, 0xE0, 0x9D]);
        // F7, the set-2 code 83h.
        assert_eq!(tap(&mut k, &mut irq, 0x41, false), [0x41, 0xC1]);
        // The 102nd key, F11, F12, Left Windows, Menu, keypad Enter, keypad /.
        assert_eq!(tap(&mut k, &mut irq, 0x56, false), [0x56, 0xD6]);
        assert_eq!(tap(&mut k, &mut irq, 0x57, false), [0x57, 0xD7]);
        assert_eq!(tap(&mut k, &mut irq, 0x58, false), [0x58, 0xD8]);
        assert_eq!(tap(&mut k, &mut irq, 0x5B, true), [0xE0, 0x5B, 0xE0, 0xDB]);
        assert_eq!(tap(&mut k, &mut irq, 0x5D, true), [0xE0, 0x5D, 0xE0, 0xDD]);
        assert_eq!(tap(&mut k, &mut irq, 0x1C, true), [0xE0, 0x1C, 0xE0, 0x9C]);
        assert_eq!(tap(&mut k, &mut irq, 0x35, true), [0xE0, 0x35, 0xE0, 0xB5]);
    }

    #[test]
    fn untranslated_keyboard_sends_set2() {
        let (mut k, mut irq) = untranslated();
        assert_eq!(tap(&mut k, &mut irq, 0x1E, false), [0x1C, 0xF0, 0x1C]);
        assert_eq!(
            tap(&mut k, &mut irq, 0x1D, true),
            [0xE0, 0x14, 0xE0, 0xF0, 0x14]
        );
        assert_eq!(tap(&mut k, &mut irq, 0x01, false), [0x76, 0xF0, 0x76]);
        assert_eq!(tap(&mut k, &mut irq, 0x41, false), [0x83, 0xF0, 0x83]);
        assert_eq!(tap(&mut k, &mut irq, 0x56, false), [0x61, 0xF0, 0x61]);
        assert_eq!(tap(&mut k, &mut irq, 0x57, false), [0x78, 0xF0, 0x78]);
        assert_eq!(tap(&mut k, &mut irq, 0x58, false), [0x07, 0xF0, 0x07]);
        assert_eq!(
            tap(&mut k, &mut irq, 0x48, true),
            [0xE0, 0x75, 0xE0, 0xF0, 0x75],
            "Up arrow"
        );
        assert_eq!(
            tap(&mut k, &mut irq, 0x5C, true),
            [0xE0, 0x27, 0xE0, 0xF0, 0x27],
            "Right Windows"
        );
        assert_eq!(
            tap(&mut k, &mut irq, 0x4A, false),
            [0x7B, 0xF0, 0x7B],
            "KP -"
        );
        // The old byte interface goes through the keyboard too, byte by byte.
        k.key(&[0xE0], &mut irq);
        k.key(&[0x1D], &mut irq);
        k.key(&[0xE0, 0x9D], &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0xE0, 0x14, 0xE0, 0xF0, 0x14]);
    }

    #[test]
    fn pause_sends_its_whole_sequence_on_press() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        let (c, e) = KEY_PAUSE;
        k.key_event(c, e, true, 0, &mut irq);
        assert_eq!(
            drain(&mut k, &mut irq),
            [0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]
        );
        k.key_event(c, e, false, 0, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0u8; 0], "nothing on release");
        assert_eq!(k.next_event(0), None, "Pause does not repeat");
        // Ctrl+Pause is Break: E0 46 E0 C6.
        k.key_event(0x1D, false, true, 0, &mut irq);
        k.key_event(c, e, true, 0, &mut irq);
        k.key_event(c, e, false, 0, &mut irq);
        k.key_event(0x1D, false, false, 0, &mut irq);
        assert_eq!(
            drain(&mut k, &mut irq),
            [0x1D, 0xE0, 0x46, 0xE0, 0xC6, 0x9D]
        );
        // Untranslated: E1 14 77 E1 F0 14 F0 77.
        let (mut k, mut irq) = untranslated();
        assert_eq!(
            tap(&mut k, &mut irq, c, e),
            [0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77]
        );
        // The old interface's E1 1D 45 E1 9D C5 means the same key.
        k.key(&[0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5], &mut irq);
        assert_eq!(
            drain(&mut k, &mut irq),
            [0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77]
        );
    }

    #[test]
    fn print_screen_fake_shift_and_sysrq() {
        let (c, e) = KEY_PRINT_SCREEN;
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        assert_eq!(
            tap(&mut k, &mut irq, c, e),
            [0xE0, 0x2A, 0xE0, 0x37, 0xE0, 0xB7, 0xE0, 0xAA]
        );
        // With Shift held: no fake shift.
        k.key_event(0x2A, false, true, 0, &mut irq);
        let v = tap(&mut k, &mut irq, c, e);
        assert_eq!(v, [0x2A, 0xE0, 0x37, 0xE0, 0xB7]);
        k.key_event(0x2A, false, false, 0, &mut irq);
        drain(&mut k, &mut irq);
        // With Alt held: SysRq, set 1 54h (set 2 84h).
        k.key_event(0x38, false, true, 0, &mut irq);
        let v = tap(&mut k, &mut irq, c, e);
        assert_eq!(v, [0x38, 0x54, 0xD4]);
        k.key_event(0x38, false, false, 0, &mut irq);
        drain(&mut k, &mut irq);

        let (mut k, mut irq) = untranslated();
        assert_eq!(
            tap(&mut k, &mut irq, c, e),
            [0xE0, 0x12, 0xE0, 0x7C, 0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12]
        );
        k.key_event(0x38, false, true, 0, &mut irq);
        let v = tap(&mut k, &mut irq, c, e);
        assert_eq!(v, [0x11, 0x84, 0xF0, 0x84]);
    }

    #[test]
    fn old_interface_round_trips_every_key_when_translated() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        // 60h and 61h have no break: E0h and E1h are the prefixes.
        for c in (1..0x80u8).filter(|c| !matches!(c, 0x60 | 0x61)) {
            k.key(&[c], &mut irq);
            k.key(&[c | 0x80], &mut irq);
            assert_eq!(drain(&mut k, &mut irq), [c, c | 0x80], "key {c:#04x}");
        }
        for &(id, _, _) in KEYS.iter().filter(|e| e.0 & EXT != 0 && e.0 != PAUSE) {
            let c = (id & 0x7F) as u8;
            k.key(&[0xE0, c, 0xE0, c | 0x80], &mut irq);
            assert_eq!(
                drain(&mut k, &mut irq),
                [0xE0, c, 0xE0, c | 0x80],
                "key E0 {c:#04x}"
            );
        }
        let prtsc = [0xE0, 0x2A, 0xE0, 0x37, 0xE0, 0xB7, 0xE0, 0xAA];
        k.key(&prtsc, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), prtsc);
        // Bytes that are no key pass unchanged while the guest reads set 1 anyway.
        k.key(&[0x00, 0xE0, 0x10], &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x00, 0xE0, 0x10]);
    }

    #[test]
    fn scan_set_switching_and_report() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        // Translated reports: set 2 -> 41h, set 1 -> 43h, set 3 -> 3Fh.
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF0, 0x00]), [0xFA, 0xFA, 0x41]);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF0, 0x01]), [0xFA, 0xFA]);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF0, 0x00]), [0xFA, 0xFA, 0x43]);
        kbd_cmd(&mut k, &mut irq, &[0xF0, 0x03]);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF0, 0x00]), [0xFA, 0xFA, 0x3F]);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF0, 0x07]), [0xFA, 0xFE]);

        let (mut k, mut irq) = untranslated();
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF0, 0x00]), [0xFA, 0xFA, 0x02]);
        kbd_cmd(&mut k, &mut irq, &[0xF0, 0x01]);
        assert_eq!(k.scan_set(), 1);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF0, 0x00]), [0xFA, 0xFA, 0x01]);
        assert_eq!(tap(&mut k, &mut irq, 0x1E, false), [0x1E, 0x9E]);
        assert_eq!(tap(&mut k, &mut irq, 0x1D, true), [0xE0, 0x1D, 0xE0, 0x9D]);
        assert_eq!(
            tap(&mut k, &mut irq, KEY_PAUSE.0, KEY_PAUSE.1),
            [0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]
        );
        // Set 3: one byte per key, F0 breaks, no E0.
        kbd_cmd(&mut k, &mut irq, &[0xF0, 0x03]);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF0, 0x00]), [0xFA, 0xFA, 0x03]);
        assert_eq!(tap(&mut k, &mut irq, 0x1E, false), [0x1C, 0xF0, 0x1C]);
        assert_eq!(tap(&mut k, &mut irq, 0x3B, false), [0x07, 0xF0, 0x07], "F1");
        assert_eq!(
            tap(&mut k, &mut irq, 0x1D, true),
            [0x58, 0xF0, 0x58],
            "RCtrl"
        );
        assert_eq!(tap(&mut k, &mut irq, 0x48, true), [0x63, 0xF0, 0x63], "Up");
        assert_eq!(
            tap(&mut k, &mut irq, 0x5B, true),
            [0x8B, 0xF0, 0x8B],
            "LWin"
        );
        let (c, e) = KEY_PAUSE;
        assert_eq!(tap(&mut k, &mut irq, c, e), [0x62, 0xF0, 0x62]);
        let (c, e) = KEY_PRINT_SCREEN;
        assert_eq!(tap(&mut k, &mut irq, c, e), [0x57, 0xF0, 0x57]);
        // F9: all keys make only.
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF9]), [0xFA]);
        assert_eq!(tap(&mut k, &mut irq, 0x1E, false), [0x1C]);
        // Reset goes back to set 2.
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xFF]), [0xFA, 0xAA]);
        assert_eq!(k.scan_set(), 2);
    }

    #[test]
    fn identify_echo_leds_resend_and_unknown() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        // MF2 ID AB 83; the 83h is translated to 41h.
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0xAB, 0x41]);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xFE]), [0x41], "resend");
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xEE]), [0xEE]);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xED, 0x07]), [0xFA, 0xFA]);
        assert_eq!(k.leds(), 7);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xED, 0x02]), [0xFA, 0xFA]);
        assert_eq!(k.leds(), 2);
        // A command in place of the data byte runs as a command.
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xED, 0xEE]), [0xFA, 0xEE]);
        assert_eq!(k.leds(), 2);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xEF]), [0xFE]);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0x12]), [0xFE]);
        let (mut k, mut irq) = untranslated();
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF2]), [0xFA, 0xAB, 0x83]);
    }

    #[test]
    fn disable_enable_and_defaults() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        kbd_cmd(&mut k, &mut irq, &[0xF3, 0x00, 0xF0, 0x01]);
        assert_eq!(k.typematic(), 0x00);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF5]), [0xFA]);
        assert_eq!(tap(&mut k, &mut irq, 0x1E, false), [0u8; 0], "not scanning");
        assert_eq!((k.typematic(), k.scan_set()), (0x2B, 2), "F5 sets defaults");
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF4]), [0xFA]);
        assert_eq!(tap(&mut k, &mut irq, 0x1E, false), [0x1E, 0x9E]);
        kbd_cmd(&mut k, &mut irq, &[0xF3, 0x7F]);
        assert_eq!(kbd_cmd(&mut k, &mut irq, &[0xF6]), [0xFA]);
        assert_eq!(k.typematic(), 0x2B);
        assert_eq!(tap(&mut k, &mut irq, 0x1E, false), [0x1E, 0x9E], "F6 scans");
    }

    #[test]
    fn typematic_repeat_on_virtual_time() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        let t0 = 1_000_000;
        k.key_event(0x1E, false, true, t0, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x1E]);
        // Default 2Bh: 500 ms, then (8 + 3) * 2^1 * 4.17 ms = 91.74 ms.
        let first = t0 + 500_000_000;
        assert_eq!(k.next_event(t0), Some(first));
        k.tick(first - 1, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0u8; 0]);
        k.tick(first, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x1E]);
        assert_eq!(k.next_event(first), Some(first + 91_740_000));
        k.tick(first + 91_740_000, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x1E]);
        // A late tick catches up on every repeat due.
        let t = first + 4 * 91_740_000;
        k.tick(t, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x1E; 3]);
        assert_eq!(k.next_event(t), Some(t + 91_740_000));
        // Another key takes the repeat over; releasing A does not stop it.
        k.key_event(0x1D, true, true, t, &mut irq);
        k.key_event(0x1E, false, false, t, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0xE0, 0x1D, 0x9E]);
        assert_eq!(k.next_event(t), Some(t + 500_000_000));
        k.tick(t + 500_000_000, &mut irq);
        assert_eq!(
            drain(&mut k, &mut irq),
            [0xE0, 0x1D],
            "modifiers repeat too"
        );
        k.key_event(0x1D, true, false, t, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0xE0, 0x9D]);
        assert_eq!(k.next_event(t), None, "releasing stops the repeat");

        // F3 00h: 250 ms, 8 * 4.17 = 33.36 ms (30 cps).
        kbd_cmd(&mut k, &mut irq, &[0xF3, 0x00]);
        k.key_event(0x39, false, true, 0, &mut irq);
        k.tick(250_000_000, &mut irq);
        k.tick(250_000_000 + 33_360_000, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x39; 3]);
        k.key_event(0x39, false, false, 0, &mut irq);
        drain(&mut k, &mut irq);
        // F3 7Fh: 1000 ms, (8 + 7) * 2^3 * 4.17 = 500.4 ms (2 cps).
        kbd_cmd(&mut k, &mut irq, &[0xF3, 0x7F]);
        k.key_event(0x39, false, true, 0, &mut irq);
        assert_eq!(k.next_event(0), Some(1_000_000_000));
        k.tick(1_000_000_000, &mut irq);
        assert_eq!(k.next_event(0), Some(1_500_400_000));
        // A host auto-repeat press of the held key is ignored.
        k.key_event(0x39, false, true, 1_100_000_000, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x39, 0x39]);
        assert_eq!(k.next_event(0), Some(1_500_400_000));
    }

    #[test]
    fn repeat_uses_the_current_scan_set() {
        let (mut k, mut irq) = untranslated();
        k.key_event(0x48, true, true, 0, &mut irq);
        k.tick(500_000_000, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0xE0, 0x75, 0xE0, 0x75]);
        k.key_event(0x48, true, false, 0, &mut irq);
        drain(&mut k, &mut irq);
        // Set 3 after F8 (all keys make/break, none typematic).
        kbd_cmd(&mut k, &mut irq, &[0xF0, 0x03, 0xF8]);
        k.key_event(0x48, true, true, 0, &mut irq);
        assert_eq!(k.next_event(0), None);
        k.key_event(0x48, true, false, 0, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0x63, 0xF0, 0x63]);
    }

    #[test]
    fn release_all_breaks_every_held_key() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        k.key_event(0x2A, false, true, 0, &mut irq);
        k.key_event(0x1E, false, true, 0, &mut irq);
        k.key_event(0x1D, true, true, 0, &mut irq);
        k.key_event(0x37, true, true, 0, &mut irq);
        assert_eq!(
            drain(&mut k, &mut irq),
            [0x2A, 0x1E, 0xE0, 0x1D, 0xE0, 0x37],
            "Shift held: PrintScreen without the fake shift"
        );
        k.release_all(0, &mut irq);
        assert_eq!(
            drain(&mut k, &mut irq),
            [0xE0, 0xB7, 0xE0, 0x9D, 0x9E, 0xAA]
        );
        assert_eq!(k.next_event(0), None);
        k.release_all(0, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0u8; 0]);
        // Keys pressed through the old interface are released too.
        k.key(&[0xE0, 0x38], &mut irq);
        k.release_all(0, &mut irq);
        assert_eq!(drain(&mut k, &mut irq), [0xE0, 0x38, 0xE0, 0xB8]);
    }

    #[test]
    fn full_buffer_drops_whole_key_events() {
        let mut k = I8042::new();
        let mut irq = IrqLog::default();
        for _ in 0..8 {
            k.key_event(0x1E, false, true, 0, &mut irq);
            k.key_event(0x1E, false, false, 0, &mut irq);
            k.key_event(0x1D, true, true, 0, &mut irq);
            k.key_event(0x1D, true, false, 0, &mut irq);
        }
        // A round is 1E, 9E, E0 1D, E0 9D: 6 bytes. Two rounds and 1E 9E E0 1D fill
        // the 16 bytes; every later event is lost whole (no lone E0).
        let mut want = [0x1E, 0x9E, 0xE0, 0x1D, 0xE0, 0x9D].repeat(2);
        want.extend([0x1E, 0x9E, 0xE0, 0x1D]);
        assert_eq!(drain(&mut k, &mut irq), want);
        assert_eq!(tap(&mut k, &mut irq, 0x1E, false), [0x1E, 0x9E]);
    }
}
