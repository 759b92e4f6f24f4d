//! The project's own VGA character fonts (code page 437): 8×16, 8×14 and 8×8 glyphs,
//! one byte per scan line, most significant bit leftmost.
//!
//! PLACEHOLDER while the real glyphs are drawn: every glyph is blank.

static BLANK16: [u8; 4096] = [0; 4096];
static BLANK14: [u8; 3584] = [0; 3584];
static BLANK8: [u8; 2048] = [0; 2048];

/// 256 glyphs × 16 scan lines (VGA text modes at 400 lines, mode 12h/11h characters).
pub fn font_8x16() -> &'static [u8; 4096] {
    &BLANK16
}

/// 256 glyphs × 14 scan lines (EGA 350-line modes).
pub fn font_8x14() -> &'static [u8; 3584] {
    &BLANK14
}

/// 256 glyphs × 8 scan lines (80×50 text, CGA graphics modes, mode 13h characters).
pub fn font_8x8() -> &'static [u8; 2048] {
    &BLANK8
}
