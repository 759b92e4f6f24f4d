//! Scan-code set 1 ↔ ASCII for the IBM PC/AT US layout: the reverse map that
//! `Pc::type_char` and the frontend's key scripts use, and a plain forward map. (The
//! built-in BIOS's INT 09h has its own complete keystroke tables, `bios/keyboard.rs`.)

/// Unshifted and shifted characters of keys 0x00–0x39 (0 = no character).
const NORMAL: &[u8; 0x3A] =
    b"\0\x1b1234567890-=\x08\tqwertyuiop[]\r\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 ";
const SHIFTED: &[u8; 0x3A] =
    b"\0\x1b!@#$%^&*()_+\x08\0QWERTYUIOP{}\r\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 ";

/// The ASCII code the BIOS stores with scan code `key` (0 for keys without one, whose
/// scan code alone identifies them).
pub fn ascii(key: u8, shift: bool, caps: bool, ctrl: bool, alt: bool, extended: bool) -> u8 {
    if alt {
        return 0;
    }
    if extended {
        // Keypad Enter and keypad slash keep their characters.
        return match key {
            0x1C => b'\r',
            0x35 => b'/',
            _ => 0,
        };
    }
    let Some(&base) = NORMAL.get(key as usize) else {
        return 0;
    };
    if ctrl {
        return if base.is_ascii_lowercase() {
            base & 0x1F
        } else {
            match base {
                b'[' => 0x1B,
                b'\\' => 0x1C,
                b']' => 0x1D,
                b'\r' => b'\n',
                _ => 0,
            }
        };
    }
    let letter = base.is_ascii_lowercase();
    let upper = if letter { shift != caps } else { shift };
    if upper {
        SHIFTED[key as usize]
    } else {
        base
    }
}

/// The set-1 make code and whether Shift is needed to type ASCII character `c`.
pub fn scancode_for(c: u8) -> Option<(u8, bool)> {
    if c == b'\n' {
        return Some((0x1C, false));
    }
    if let Some(i) = NORMAL.iter().position(|&x| x == c && x != 0) {
        return Some((i as u8, false));
    }
    SHIFTED
        .iter()
        .position(|&x| x == c && x != 0)
        .map(|i| (i as u8, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_digits_and_shift() {
        assert_eq!(ascii(0x1E, false, false, false, false, false), b'a');
        assert_eq!(ascii(0x1E, true, false, false, false, false), b'A');
        assert_eq!(ascii(0x1E, false, true, false, false, false), b'A');
        assert_eq!(ascii(0x1E, true, true, false, false, false), b'a');
        assert_eq!(ascii(0x02, true, false, false, false, false), b'!');
        assert_eq!(
            ascii(0x02, false, true, false, false, false),
            b'1',
            "caps lock affects letters only"
        );
        assert_eq!(
            ascii(0x2E, false, false, true, false, false),
            0x03,
            "Ctrl+C"
        );
        assert_eq!(
            ascii(0x3B, false, false, false, false, false),
            0,
            "F1 has no ASCII"
        );
    }

    #[test]
    fn reverse_map() {
        assert_eq!(scancode_for(b'd'), Some((0x20, false)));
        assert_eq!(scancode_for(b'D'), Some((0x20, true)));
        assert_eq!(scancode_for(b':'), Some((0x27, true)));
        assert_eq!(scancode_for(b'\n'), Some((0x1C, false)));
    }
}
