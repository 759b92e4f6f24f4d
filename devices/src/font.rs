//! The project's own VGA character fonts (code page 437): 8×16, 8×14 and 8×8
//! glyphs, one byte per scan line, most significant bit leftmost, 256 glyphs each.
//!
//! Nothing here is copied or transcribed from a BIOS/VGA ROM or any font file; the
//! glyphs were made for this project as follows:
//!
//! - **Drawn by hand** as ASCII art (`font/art16.rs`, `font/art8.rs`): printable
//!   ASCII, the 0x01–0x1F and 0x7F symbols, the non-accented 0x80–0xAF characters
//!   (æ Æ ¢ £ ¥ ₧ ƒ ª º ¿ ⌐ ¬ ½ ¼ ¡ « ») and the Greek/mathematical 0xE0–0xFE. The
//!   8×8 set is a separate design, not a scaled 8×16.
//! - **Generated from geometry** (`font/generate.rs`) at every cell height: shades
//!   0xB0–0xB2 (25/50/75 % ink), box drawing 0xB3–0xDA from the single/double weight
//!   of each arm (lines through the cell centre, reaching the cell edges so boxes
//!   join), blocks 0xDB–0xDF, and 0x08/0x0A as the inverse of 0x07/0x09.
//! - **Composed** (`font/generate.rs`): the accented letters (Ç ü é â … Ñ) are the
//!   font's own base letter plus a drawn diacritic; capitals are squeezed by
//!   dropping repeated stem lines when the mark would not fit above them.
//! - **8×14 is derived from 8×16**: every glyph is 8×16 scan lines 1–14 (the top
//!   and bottom lines dropped), except 0xB0–0xDF (generated at 14 lines) and the
//!   accented letters (composed from the derived 14-line letters).
//!
//! 0x00, 0x20 and 0xFF are blank. The arrays are built on first use.

use std::sync::OnceLock;

mod art16;
mod art8;
mod generate;

/// 256 glyphs × 16 scan lines (VGA text modes at 400 lines, mode 12h/11h characters).
pub fn font_8x16() -> &'static [u8; 4096] {
    static FONT: OnceLock<[u8; 4096]> = OnceLock::new();
    FONT.get_or_init(|| to_array(build_drawn(16, art16::ART)))
}

/// 256 glyphs × 14 scan lines (EGA 350-line modes).
pub fn font_8x14() -> &'static [u8; 3584] {
    static FONT: OnceLock<[u8; 3584]> = OnceLock::new();
    FONT.get_or_init(|| to_array(build_14()))
}

/// 256 glyphs × 8 scan lines (80×50 text, CGA graphics modes, mode 13h characters).
pub fn font_8x8() -> &'static [u8; 2048] {
    static FONT: OnceLock<[u8; 2048]> = OnceLock::new();
    FONT.get_or_init(|| to_array(build_drawn(8, art8::ART)))
}

fn to_array<const N: usize>(v: Vec<u8>) -> [u8; N] {
    v.try_into()
        .unwrap_or_else(|v: Vec<u8>| panic!("font has {} bytes, want {N}", v.len()))
}

/// A font drawn at height `h`: the ASCII art, then the generated glyphs.
fn build_drawn(h: usize, art: &str) -> Vec<u8> {
    let mut font = vec![0u8; 256 * h];
    for (code, rows) in parse_art(art, h) {
        glyph_mut(&mut font, h, code).copy_from_slice(&rows);
    }
    generate::inverses(&mut font, h);
    generate::geometric(&mut font, h);
    generate::accented(&mut font, h);
    font
}

/// 8×14: 8×16 lines 1..=14, then 0xB0–0xDF and the accented letters made anew.
fn build_14() -> Vec<u8> {
    let mut font: Vec<u8> = font_8x16()
        .chunks(16)
        .flat_map(|g| g[1..15].to_vec())
        .collect();
    generate::geometric(&mut font, 14);
    generate::accented(&mut font, 14);
    font
}

fn glyph(font: &[u8], h: usize, code: u8) -> &[u8] {
    &font[code as usize * h..][..h]
}

fn glyph_mut(font: &mut [u8], h: usize, code: u8) -> &mut [u8] {
    &mut font[code as usize * h..][..h]
}

/// `"..##...."` → 0x30, one string per scan line.
fn rows(art: &[&str]) -> Vec<u8> {
    art.iter()
        .map(|s| {
            s.bytes()
                .fold(0u8, |acc, b| (acc << 1) | u8::from(b == b'#'))
        })
        .collect()
}

/// Parses the glyph art: blocks of a `0xNN name` header and `h` rows of eight
/// `.`/`#`; `;` starts a comment line. Malformed art is a bug caught by the tests.
fn parse_art(art: &str, h: usize) -> Vec<(u8, Vec<u8>)> {
    let mut glyphs: Vec<(u8, Vec<&str>)> = Vec::new();
    for (n, line) in art.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(hex) = line.strip_prefix("0x") {
            let code = u8::from_str_radix(hex.get(..2).unwrap_or(hex), 16)
                .unwrap_or_else(|_| panic!("font art line {}: bad header {line:?}", n + 1));
            assert!(
                glyphs.iter().all(|(c, _)| *c != code),
                "font art: glyph {code:#04x} drawn twice"
            );
            glyphs.push((code, Vec::new()));
        } else {
            assert!(
                line.len() == 8 && line.bytes().all(|b| b == b'.' || b == b'#'),
                "font art line {}: bad row {line:?}",
                n + 1
            );
            let (code, rows) = glyphs
                .last_mut()
                .unwrap_or_else(|| panic!("font art line {}: row before header", n + 1));
            assert!(
                rows.len() < h,
                "font art: glyph {code:#04x} has more than {h} rows"
            );
            rows.push(line);
        }
    }
    glyphs
        .into_iter()
        .map(|(code, r)| {
            assert_eq!(
                r.len(),
                h,
                "font art: glyph {code:#04x} has {} rows",
                r.len()
            );
            (code, rows(&r))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (height, whole font) for the three sizes.
    fn fonts() -> [(usize, &'static [u8]); 3] {
        [
            (16, &font_8x16()[..]),
            (14, &font_8x14()[..]),
            (8, &font_8x8()[..]),
        ]
    }

    fn g(font: &[u8], h: usize, code: u8) -> &[u8] {
        glyph(font, h, code)
    }

    fn ink(rows: &[u8]) -> u32 {
        rows.iter().map(|r| r.count_ones()).sum()
    }

    fn last_inked_row(rows: &[u8]) -> usize {
        rows.iter().rposition(|&r| r != 0).expect("blank glyph")
    }

    fn first_inked_row(rows: &[u8]) -> usize {
        rows.iter().position(|&r| r != 0).expect("blank glyph")
    }

    #[test]
    fn font_sizes() {
        assert_eq!(font_8x16().len(), 256 * 16);
        assert_eq!(font_8x14().len(), 256 * 14);
        assert_eq!(font_8x8().len(), 256 * 8);
    }

    #[test]
    fn font_blank_glyphs() {
        for (h, f) in fonts() {
            for code in [0x00, 0x20, 0xFF] {
                assert_eq!(ink(g(f, h, code)), 0, "{code:#x} at {h} lines");
            }
        }
    }

    #[test]
    fn font_blocks() {
        for (h, f) in fonts() {
            assert!(g(f, h, 0xDB).iter().all(|&r| r == 0xFF), "full block {h}");
            let (top, bottom) = g(f, h, 0xDC).split_at(h / 2);
            assert!(top.iter().all(|&r| r == 0) && bottom.iter().all(|&r| r == 0xFF));
            let (top, bottom) = g(f, h, 0xDF).split_at(h / 2);
            assert!(top.iter().all(|&r| r == 0xFF) && bottom.iter().all(|&r| r == 0));
            assert!(g(f, h, 0xDD).iter().all(|&r| r == 0xF0), "left half {h}");
            assert!(g(f, h, 0xDE).iter().all(|&r| r == 0x0F), "right half {h}");
        }
    }

    #[test]
    fn font_shades_get_darker() {
        for (h, f) in fonts() {
            let (light, medium, dark) =
                (ink(g(f, h, 0xB0)), ink(g(f, h, 0xB1)), ink(g(f, h, 0xB2)));
            assert!(
                0 < light && light < medium && medium < dark,
                "{h}: {light} {medium} {dark}"
            );
            assert!(dark < 8 * h as u32);
        }
    }

    #[test]
    fn font_box_lines() {
        for (h, f) in fonts() {
            // ─ : one full-width line, nothing else; ═ : two.
            for (code, lines) in [(0xC4, 1), (0xCD, 2)] {
                let rows = g(f, h, code);
                assert_eq!(
                    rows.iter().filter(|&&r| r == 0xFF).count(),
                    lines,
                    "{code:#x} {h}"
                );
                assert!(rows.iter().all(|&r| r == 0 || r == 0xFF), "{code:#x} {h}");
            }
            // │ and ║ : the same non-empty byte on every line.
            for code in [0xB3, 0xBA] {
                let rows = g(f, h, code);
                assert!(
                    rows[0] != 0 && rows.iter().all(|&r| r == rows[0]),
                    "{code:#x} {h}"
                );
            }
            assert_eq!(
                g(f, h, 0xBA)[0].count_ones(),
                2 * g(f, h, 0xB3)[0].count_ones()
            );
            // ┼ is ─ and │ together.
            let cross: Vec<u8> = g(f, h, 0xC4)
                .iter()
                .zip(g(f, h, 0xB3))
                .map(|(a, b)| a | b)
                .collect();
            assert_eq!(g(f, h, 0xC5), &cross[..], "{h}");
            // ┌ reaches the right and bottom edges only; ┘ the left and top.
            let tl = g(f, h, 0xDA);
            assert!(tl[0] == 0 && tl[h - 1] != 0);
            assert!(tl.iter().any(|r| r & 1 != 0) && tl.iter().all(|r| r & 0x80 == 0));
            let br = g(f, h, 0xD9);
            assert!(br[0] != 0 && br[h - 1] == 0);
            assert!(br.iter().any(|r| r & 0x80 != 0) && br.iter().all(|r| r & 1 == 0));
            // Every box glyph that continues up or down touches that edge in the
            // same columns as │ or ║, so rows of boxes join.
            for code in 0xB3..=0xDA_u8 {
                let rows = g(f, h, code);
                for edge in [rows[0], rows[h - 1]] {
                    assert!(
                        edge == 0 || edge == g(f, h, 0xB3)[0] || edge == g(f, h, 0xBA)[0],
                        "{code:#x} {h}: edge {edge:08b}"
                    );
                }
            }
            // ╔ ╗ ╚ ╝ are rotations of one shape: ╔ mirrored left-right is ╗.
            let tl = g(f, h, 0xC9);
            let tr = g(f, h, 0xBB);
            for y in 0..h {
                // Mirror about the cell centre between columns 3 and 4.
                assert_eq!(tl[y].reverse_bits(), tr[y], "╔/╗ line {y} at {h}");
            }
        }
    }

    #[test]
    fn font_ascii_printable_nonblank_and_distinct() {
        for (h, f) in fonts() {
            for a in 0x21..=0x7E_u8 {
                assert!(ink(g(f, h, a)) > 0, "{:?} blank at {h}", a as char);
                for b in a + 1..=0x7E {
                    assert_ne!(
                        g(f, h, a),
                        g(f, h, b),
                        "{:?} = {:?} at {h}",
                        a as char,
                        b as char
                    );
                }
            }
        }
    }

    #[test]
    fn font_descenders_below_baseline() {
        for (h, f) in fonts() {
            let baseline = last_inked_row(g(f, h, b'a'));
            for c in *b"gjpqy" {
                assert!(
                    last_inked_row(g(f, h, c)) > baseline,
                    "{:?} at {h}",
                    c as char
                );
            }
            for c in *b"abcdehikmnorsxzABHOZ0" {
                assert_eq!(
                    last_inked_row(g(f, h, c)),
                    baseline,
                    "{:?} at {h}",
                    c as char
                );
            }
            // Capitals, digits and ascenders share one top line, above the x-height.
            let cap = first_inked_row(g(f, h, b'H'));
            for c in *b"ABEHIKLTZbdhkl1457" {
                assert_eq!(first_inked_row(g(f, h, c)), cap, "{:?} at {h}", c as char);
            }
            assert!(first_inked_row(g(f, h, b'x')) > cap);
        }
    }

    #[test]
    fn font_symmetric_letters() {
        // Mirror about the centre of the 8 columns.
        for (h, f) in fonts() {
            for c in *b"I|" {
                for (y, &r) in g(f, h, c).iter().enumerate() {
                    assert_eq!(r.reverse_bits(), r, "{:?} line {y} at {h}", c as char);
                }
            }
        }
    }

    /// The 8×14 rule: 8×16 lines 1..=14, except for generated/composed glyphs.
    #[test]
    fn font_8x14_is_8x16_without_first_and_last_line() {
        let accented: Vec<u8> = (0x80..=0x90)
            .chain(0x93..=0x9A)
            .chain(0xA0..=0xA5)
            .collect();
        let (f16, f14) = (font_8x16(), font_8x14());
        for code in 0..=255u8 {
            if (0xB0..=0xDF).contains(&code) || accented.contains(&code) {
                continue;
            }
            assert_eq!(g(f14, 14, code), &g(f16, 16, code)[1..15], "{code:#x}");
        }
    }

    #[test]
    fn font_accented_letters() {
        for (h, f) in fonts() {
            let x_top = first_inked_row(g(f, h, b'x'));
            // Lowercase: the letter itself is unchanged from the x-height down, and
            // there is a mark above it.
            for (code, base) in [
                (0x81, b'u'),
                (0x82, b'e'),
                (0x86, b'a'),
                (0x94, b'o'),
                (0xA4, b'n'),
            ] {
                assert_eq!(
                    &g(f, h, code)[x_top..],
                    &g(f, h, base)[x_top..],
                    "{code:#x} {h}"
                );
                assert!(ink(&g(f, h, code)[..x_top]) > 0, "{code:#x} {h}");
            }
            // Accented i: no dot, but a mark.
            for code in [0x8B, 0x8C, 0x8D, 0xA1] {
                assert_eq!(
                    &g(f, h, code)[x_top..],
                    &g(f, h, b'i')[x_top..],
                    "{code:#x} {h}"
                );
            }
            // Capitals keep their baseline and carry a mark above the plain capital.
            for (code, base) in [
                (0x8E, b'A'),
                (0x8F, b'A'),
                (0x90, b'E'),
                (0x99, b'O'),
                (0xA5, b'N'),
            ] {
                let (acc, plain) = (g(f, h, code), g(f, h, base));
                assert_eq!(last_inked_row(acc), last_inked_row(plain), "{code:#x} {h}");
                // (In the 8-line cell capitals start on the top line, so the letter
                // is squeezed under the mark instead.)
                if h > 8 {
                    assert!(
                        first_inked_row(acc) < first_inked_row(plain),
                        "{code:#x} {h}"
                    );
                }
                assert_ne!(acc, plain);
            }
            // Cedillas hang below the baseline.
            for (code, base) in [(0x80, b'C'), (0x87, b'c')] {
                assert!(last_inked_row(g(f, h, code)) > last_inked_row(g(f, h, base)));
            }
            // All different from each other and from their base letters.
            for a in 0x80..=0xA5_u8 {
                for b in a + 1..=0xA5 {
                    assert_ne!(g(f, h, a), g(f, h, b), "{a:#x} = {b:#x} at {h}");
                }
            }
        }
    }

    #[test]
    fn font_symbols_drawn() {
        // Every code except 0x00, 0x20 and 0xFF has a glyph.
        for (h, f) in fonts() {
            for code in 1..=0xFE_u8 {
                if code != 0x20 {
                    assert!(ink(g(f, h, code)) > 0, "{code:#x} blank at {h}");
                }
            }
            // The inverse glyphs really are inverses.
            for (inv, of) in [(0x08, 0x07), (0x0A, 0x09)] {
                assert!(g(f, h, inv)
                    .iter()
                    .zip(g(f, h, of))
                    .all(|(a, b)| a ^ b == 0xFF));
            }
        }
    }

    /// Renders `text` (bytes are code page 437 codes) in one size as ASCII art.
    fn render(f: &[u8], h: usize, text: &[u8]) -> String {
        let mut out = String::new();
        for y in 0..h {
            for &c in text {
                let row = g(f, h, c)[y];
                for x in 0..8 {
                    out.push(if row & (0x80 >> x) != 0 { '#' } else { '.' });
                }
                out.push(' ');
            }
            out.push('\n');
        }
        out
    }

    /// For eyeballing: `cargo test -p devices font -- --nocapture`.
    #[test]
    fn font_show_sample() {
        for (h, f) in fonts() {
            for line in [
                &b"Hello, World!"[..],
                b"A:\\>dir /w",
                b"\x82t\x82 \x8E\x99\x9A \xC9\xCD\xBB\xDA\xC4\xBF\xB0\xB1\xB2",
            ] {
                println!("{}", render(f, h, line));
            }
        }
    }

    /// Every glyph, 16 to a strip: `cargo test -p devices font_dump -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn font_dump_all() {
        for (h, f) in fonts() {
            for strip in 0..16u8 {
                let codes: Vec<u8> = (0..16).map(|i| strip * 16 + i).collect();
                println!("{h} lines, {:#04x}..", strip * 16);
                println!("{}", render(f, h, &codes));
            }
        }
    }
}
