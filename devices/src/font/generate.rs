//! Glyphs made by code rather than drawn: box drawing (0xB3–0xDA) from the weight
//! of each of the four arms, block elements (0xDB–0xDF), shades (0xB0–0xB2), the
//! inverse bullets (0x08, 0x0A), and the accented Latin letters, composed from the
//! font's own base letter plus a drawn diacritic.

use super::{glyph, glyph_mut, rows};

/// Box-drawing characters: (code, [up, down, left, right]) with 0 = no arm,
/// 1 = single line, 2 = double line.
const BOX_ARMS: [(u8, [u8; 4]); 40] = [
    (0xB3, [1, 1, 0, 0]), // │
    (0xB4, [1, 1, 1, 0]), // ┤
    (0xB5, [1, 1, 2, 0]), // ╡
    (0xB6, [2, 2, 1, 0]), // ╢
    (0xB7, [0, 2, 1, 0]), // ╖
    (0xB8, [0, 1, 2, 0]), // ╕
    (0xB9, [2, 2, 2, 0]), // ╣
    (0xBA, [2, 2, 0, 0]), // ║
    (0xBB, [0, 2, 2, 0]), // ╗
    (0xBC, [2, 0, 2, 0]), // ╝
    (0xBD, [2, 0, 1, 0]), // ╜
    (0xBE, [1, 0, 2, 0]), // ╛
    (0xBF, [0, 1, 1, 0]), // ┐
    (0xC0, [1, 0, 0, 1]), // └
    (0xC1, [1, 0, 1, 1]), // ┴
    (0xC2, [0, 1, 1, 1]), // ┬
    (0xC3, [1, 1, 0, 1]), // ├
    (0xC4, [0, 0, 1, 1]), // ─
    (0xC5, [1, 1, 1, 1]), // ┼
    (0xC6, [1, 1, 0, 2]), // ╞
    (0xC7, [2, 2, 0, 1]), // ╟
    (0xC8, [2, 0, 0, 2]), // ╚
    (0xC9, [0, 2, 0, 2]), // ╔
    (0xCA, [2, 0, 2, 2]), // ╩
    (0xCB, [0, 2, 2, 2]), // ╦
    (0xCC, [2, 2, 0, 2]), // ╠
    (0xCD, [0, 0, 2, 2]), // ═
    (0xCE, [2, 2, 2, 2]), // ╬
    (0xCF, [1, 0, 2, 2]), // ╧
    (0xD0, [2, 0, 1, 1]), // ╨
    (0xD1, [0, 1, 2, 2]), // ╤
    (0xD2, [0, 2, 1, 1]), // ╥
    (0xD3, [2, 0, 0, 1]), // ╙
    (0xD4, [1, 0, 0, 2]), // ╘
    (0xD5, [0, 1, 0, 2]), // ╒
    (0xD6, [0, 2, 0, 1]), // ╓
    (0xD7, [2, 2, 1, 1]), // ╫
    (0xD8, [1, 1, 2, 2]), // ╪
    (0xD9, [1, 0, 1, 0]), // ┘
    (0xDA, [0, 1, 0, 1]), // ┌
];

/// Fills 0xB0–0xDF (shades, box drawing, blocks) for a cell `h` lines tall.
pub(super) fn geometric(font: &mut [u8], h: usize) {
    // Shades: 25 %, 50 % and 75 % ink, alternating two patterns line by line.
    for (code, even, odd) in [(0xB0, 0x88, 0x22), (0xB1, 0xAA, 0x55), (0xB2, 0x77, 0xDD)] {
        for (y, row) in glyph_mut(font, h, code).iter_mut().enumerate() {
            *row = if y % 2 == 0 { even } else { odd };
        }
    }
    for (code, arms) in BOX_ARMS {
        glyph_mut(font, h, code).copy_from_slice(&box_glyph(h, arms));
    }
    // Blocks: full, lower half, left half, right half, upper half.
    for y in 0..h {
        let upper = y < h / 2;
        glyph_mut(font, h, 0xDB)[y] = 0xFF;
        glyph_mut(font, h, 0xDC)[y] = if upper { 0 } else { 0xFF };
        glyph_mut(font, h, 0xDD)[y] = 0xF0;
        glyph_mut(font, h, 0xDE)[y] = 0x0F;
        glyph_mut(font, h, 0xDF)[y] = if upper { 0xFF } else { 0 };
    }
}

/// One box-drawing glyph. Geometry: the single horizontal line is scan line
/// `c = h/2 - 1`, a double one is lines `c-1` and `c+1`; a single vertical line is
/// columns 3–4, a double one columns 1–2 and 5–6. Each arm is drawn from its cell
/// edge into the junction as a solid band (as wide as its own line(s)), then the
/// gap inside every double arm is cut out again as far as the junction allows, so
/// double lines meet as nested corners and tees.
fn box_glyph(h: usize, [up, down, left, right]: [u8; 4]) -> Vec<u8> {
    let c = h / 2 - 1;
    let hband = |t: u8| if t == 2 { (c - 1, c + 1) } else { (c, c) };
    let vband = |t: u8| if t == 2 { (1, 6) } else { (3, 4) };
    let vt = up.max(down);
    let ht = left.max(right);
    let (hb0, hb1) = hband(ht);
    let (vb0, vb1) = vband(vt);
    // A single arm that meets the middle of a continuous double line (a tee such
    // as ╟ or ╤) stops at the near line instead of crossing the gap.
    let vcont = up > 0 && down > 0;
    let hcont = left > 0 && right > 0;

    let mut g = vec![0u8; h];
    let mut paint = |y0: usize, y1: usize, x0: usize, x1: usize, on: bool| {
        let bits = (0xFFu8 >> x0) & (0xFFu8 << (7 - x1));
        for row in &mut g[y0..=y1] {
            if on {
                *row |= bits;
            } else {
                *row &= !bits;
            }
        }
    };
    if up > 0 {
        let end = match ht {
            0 => c,
            _ if up == 1 && ht == 2 && hcont && down == 0 => hb0,
            _ => hb1,
        };
        let (x0, x1) = vband(up);
        paint(0, end, x0, x1, true);
    }
    if down > 0 {
        let start = match ht {
            0 => c,
            _ if down == 1 && ht == 2 && hcont && up == 0 => hb1,
            _ => hb0,
        };
        let (x0, x1) = vband(down);
        paint(start, h - 1, x0, x1, true);
    }
    if left > 0 {
        let end = match vt {
            0 => 3,
            _ if left == 1 && vt == 2 && vcont && right == 0 => vb0 + 1,
            _ => vb1,
        };
        let (y0, y1) = hband(left);
        paint(y0, y1, 0, end, true);
    }
    if right > 0 {
        let start = match vt {
            0 => 4,
            _ if right == 1 && vt == 2 && vcont && left == 0 => vb1 - 1,
            _ => vb0,
        };
        let (y0, y1) = hband(right);
        paint(y0, y1, start, 7, true);
    }
    // Cut the gaps of double arms: through a single perpendicular line up to its
    // near side, through a double one up to its far line.
    if up == 2 {
        let end = match ht {
            0 => h - 1,
            1 => hb0 - 1,
            _ => hb1 - 1,
        };
        paint(0, end, 3, 4, false);
    }
    if down == 2 {
        let start = match ht {
            0 => 0,
            1 => hb1 + 1,
            _ => hb0 + 1,
        };
        paint(start, h - 1, 3, 4, false);
    }
    if left == 2 {
        let end = match vt {
            0 => 7,
            1 => vb0 - 1,
            _ => vb1 - 2,
        };
        paint(c, c, 0, end, false);
    }
    if right == 2 {
        let start = match vt {
            0 => 0,
            1 => vb1 + 1,
            _ => vb0 + 2,
        };
        paint(c, c, start, 7, false);
    }
    g
}

/// 0x08 and 0x0A are the inverse video of 0x07 (bullet) and 0x09 (circle).
pub(super) fn inverses(font: &mut [u8], h: usize) {
    for (code, of) in [(0x08, 0x07), (0x0A, 0x09)] {
        let inv: Vec<u8> = glyph(font, h, of).iter().map(|r| !r).collect();
        glyph_mut(font, h, code).copy_from_slice(&inv);
    }
}

#[derive(Clone, Copy)]
pub(super) enum Mark {
    Acute,
    Grave,
    Circumflex,
    Diaeresis,
    Ring,
    Tilde,
    Cedilla,
}

/// The accented letters of code page 437: (code, base letter, diacritic).
pub(super) const ACCENTED: [(u8, u8, Mark); 31] = [
    (0x80, b'C', Mark::Cedilla),
    (0x81, b'u', Mark::Diaeresis),
    (0x82, b'e', Mark::Acute),
    (0x83, b'a', Mark::Circumflex),
    (0x84, b'a', Mark::Diaeresis),
    (0x85, b'a', Mark::Grave),
    (0x86, b'a', Mark::Ring),
    (0x87, b'c', Mark::Cedilla),
    (0x88, b'e', Mark::Circumflex),
    (0x89, b'e', Mark::Diaeresis),
    (0x8A, b'e', Mark::Grave),
    (0x8B, b'i', Mark::Diaeresis),
    (0x8C, b'i', Mark::Circumflex),
    (0x8D, b'i', Mark::Grave),
    (0x8E, b'A', Mark::Diaeresis),
    (0x8F, b'A', Mark::Ring),
    (0x90, b'E', Mark::Acute),
    (0x93, b'o', Mark::Circumflex),
    (0x94, b'o', Mark::Diaeresis),
    (0x95, b'o', Mark::Grave),
    (0x96, b'u', Mark::Circumflex),
    (0x97, b'u', Mark::Grave),
    (0x98, b'y', Mark::Diaeresis),
    (0x99, b'O', Mark::Diaeresis),
    (0x9A, b'U', Mark::Diaeresis),
    (0xA0, b'a', Mark::Acute),
    (0xA1, b'i', Mark::Acute),
    (0xA2, b'o', Mark::Acute),
    (0xA3, b'u', Mark::Acute),
    (0xA4, b'n', Mark::Tilde),
    (0xA5, b'N', Mark::Tilde),
];

/// Diacritic bitmaps, top line first. The tall cells (16 and 14 lines) share one
/// set; the 8-line cell has thinner, shorter marks.
fn mark_rows(mark: Mark, h: usize) -> Vec<u8> {
    let art: &[&str] = match (mark, h >= 14) {
        (Mark::Acute, true) => &["....##..", "...##..."],
        (Mark::Grave, true) => &["..##....", "...##..."],
        (Mark::Circumflex, true) => &["..###...", ".##.##.."],
        (Mark::Diaeresis, true) => &["##...##."],
        (Mark::Ring, true) => &["..###...", ".##.##..", "..###..."],
        (Mark::Tilde, true) => &[".###.##.", "##.###.."],
        (Mark::Cedilla, true) => &["...##...", "....##..", "..###..."],
        (Mark::Acute, false) => &[".....#..", "....#..."],
        (Mark::Grave, false) => &["..#.....", "...#...."],
        (Mark::Circumflex, false) => &["...#....", "..#.#..."],
        (Mark::Diaeresis, false) => &["##...##."],
        (Mark::Ring, false) => &["..###...", "..#.#..."],
        (Mark::Tilde, false) => &[".##..#..", "#..##..."],
        (Mark::Cedilla, false) => &["..##...."],
    };
    rows(art)
}

/// Fills the accented letters of `font` (cell `h` lines tall) from its own letters.
/// A mark sits one blank line above the letter (directly on top for the two-line
/// marks of the 8-line cell); where the cell is too short, the letter is first
/// squeezed by dropping the scan lines that differ least from the line above
/// (repeated lines of straight stems go first), keeping its baseline. The i loses
/// its dot under a mark. The cedilla hangs below the baseline.
pub(super) fn accented(font: &mut [u8], h: usize) {
    let x_top = top(glyph(font, h, b'x')).unwrap_or(0);
    for (code, base, mark) in ACCENTED {
        let mut g = glyph(font, h, base).to_vec();
        if base == b'i' {
            g[..x_top].fill(0);
        }
        let m = mark_rows(mark, h);
        if let Mark::Cedilla = mark {
            let bottom = bottom(&g).unwrap_or(h - 1);
            for (i, r) in m.iter().enumerate() {
                if let Some(row) = g.get_mut(bottom + 1 + i) {
                    *row |= r;
                }
            }
        } else {
            let gap = if h < 14 && m.len() > 1 { 0 } else { 1 };
            let need = m.len() + gap;
            let mut t = top(&g).unwrap_or(h - 1);
            if t < need {
                squeeze(&mut g, need - t);
                t = need;
            }
            for (i, r) in m.iter().enumerate() {
                g[t - need + i] |= r;
            }
        }
        glyph_mut(font, h, code).copy_from_slice(&g);
    }
}

/// Removes `n` scan lines from the inked part of `g`, moving everything above each
/// removed line down by one (the baseline stays put). Each time it drops the line
/// most like the one above it, preferring lines near the middle of the glyph.
fn squeeze(g: &mut [u8], n: usize) {
    for _ in 0..n {
        let (Some(t), Some(b)) = (top(g), bottom(g)) else {
            return;
        };
        if b <= t {
            return;
        }
        let mid = (t + b) / 2;
        let Some(i) =
            (t + 1..=b).min_by_key(|&i| ((g[i] ^ g[i - 1]).count_ones(), i.abs_diff(mid)))
        else {
            return;
        };
        g.copy_within(t..i, t + 1);
        g[t] = 0;
    }
}

fn top(g: &[u8]) -> Option<usize> {
    g.iter().position(|&r| r != 0)
}

fn bottom(g: &[u8]) -> Option<usize> {
    g.iter().rposition(|&r| r != 0)
}
