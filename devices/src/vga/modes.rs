//! Standard VGA BIOS video modes: the register values of IBM's VGA BIOS parameter tables
//! (IBM VGA Technical Reference, "BIOS video parameter table"; same values as FreeVGA's
//! mode listings), the default palettes, and INT 10h AH=11h font loading into plane 2.
//!
//! Log target: `vga`.

use super::crtc::{CR_CURSOR_END, CR_CURSOR_START, CR_UNDERLINE, CR_V_RETRACE_END};
use super::dac::{default_palette, Palette};
use super::sequencer::{font_block_offset, SEQ_RESET};
use super::{attribute::AC_PAS, Vga, MISC_COLOR_IO, PLANE_SIZE};
use crate::font;

/// Bytes a glyph occupies in plane 2, whatever its height.
const GLYPH_STRIDE: usize = 32;
/// Scan lines of the VGA 400-line text modes.
const TEXT_LINES: usize = 400;

#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Layout {
    Text,
    Graphics,
}

struct ModeTable {
    misc: u8,
    /// Sequencer 01h-04h (00h is written as 03h: both resets inactive).
    seq: [u8; 4],
    crtc: [u8; 25],
    /// Attribute 00h-13h; colour select 14h is set to 0.
    ac: [u8; 20],
    gc: [u8; 9],
    palette: Palette,
    layout: Layout,
}

#[rustfmt::skip]
mod tables {
    pub const SEQ_40: [u8; 4] = [0x08, 0x03, 0x00, 0x02];
    pub const SEQ_80: [u8; 4] = [0x00, 0x03, 0x00, 0x02];
    pub const SEQ_CGA2: [u8; 4] = [0x09, 0x03, 0x00, 0x02];
    pub const SEQ_CGA1: [u8; 4] = [0x01, 0x01, 0x00, 0x06];
    pub const SEQ_0D: [u8; 4] = [0x09, 0x0F, 0x00, 0x06];
    pub const SEQ_PLANAR: [u8; 4] = [0x01, 0x0F, 0x00, 0x06];
    pub const SEQ_13: [u8; 4] = [0x01, 0x0F, 0x00, 0x0E];

    pub const CRTC_40: [u8; 25] = [
        0x2D, 0x27, 0x28, 0x90, 0x2B, 0xA0, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
        0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x14, 0x1F, 0x96, 0xB9, 0xA3, 0xFF];
    pub const CRTC_80: [u8; 25] = [
        0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
        0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF];
    pub const CRTC_MONO: [u8; 25] = [
        0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
        0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x0F, 0x96, 0xB9, 0xA3, 0xFF];
    pub const CRTC_CGA2: [u8; 25] = [
        0x2D, 0x27, 0x28, 0x90, 0x2B, 0x80, 0xBF, 0x1F, 0x00, 0xC1, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x14, 0x00, 0x96, 0xB9, 0xA2, 0xFF];
    pub const CRTC_CGA1: [u8; 25] = [
        0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0xC1, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x00, 0x96, 0xB9, 0xC2, 0xFF];
    pub const CRTC_0D: [u8; 25] = [
        0x2D, 0x27, 0x28, 0x90, 0x2B, 0x80, 0xBF, 0x1F, 0x00, 0xC0, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x14, 0x00, 0x96, 0xB9, 0xE3, 0xFF];
    pub const CRTC_0E: [u8; 25] = [
        0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0xC0, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x00, 0x96, 0xB9, 0xE3, 0xFF];
    pub const CRTC_350: [u8; 25] = [
        0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x40, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x83, 0x85, 0x5D, 0x28, 0x0F, 0x63, 0xBA, 0xE3, 0xFF];
    pub const CRTC_480: [u8; 25] = [
        0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0x0B, 0x3E, 0x00, 0x40, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0xEA, 0x8C, 0xDF, 0x28, 0x00, 0xE7, 0x04, 0xE3, 0xFF];
    pub const CRTC_13: [u8; 25] = [
        0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF];

    /// Text: EGA palette with brown at 6, line graphics and blink enabled, 9-dot panning 8.
    pub const AC_TEXT: [u8; 20] = [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D,
        0x3E, 0x3F, 0x0C, 0x00, 0x0F, 0x08];
    pub const AC_MONO: [u8; 20] = [
        0x00, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x10, 0x18, 0x18, 0x18, 0x18, 0x18,
        0x18, 0x18, 0x0E, 0x00, 0x0F, 0x08];
    /// CGA 4-colour: the BIOS's default cyan/magenta/white palette 1 in high intensity.
    pub const AC_CGA2: [u8; 20] = [
        0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
        0x16, 0x17, 0x01, 0x00, 0x03, 0x00];
    pub const AC_CGA1: [u8; 20] = [
        0x00, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17,
        0x17, 0x17, 0x01, 0x00, 0x01, 0x00];
    /// 200-line 16-colour: bit 4 of the DAC index is intensity.
    pub const AC_200: [u8; 20] = [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
        0x16, 0x17, 0x01, 0x00, 0x0F, 0x00];
    /// Mode 0Fh: plane 0 is video, plane 2 intensity.
    pub const AC_0F: [u8; 20] = [
        0x00, 0x08, 0x00, 0x00, 0x18, 0x18, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x18,
        0x00, 0x00, 0x01, 0x00, 0x05, 0x00];
    pub const AC_EGA: [u8; 20] = [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D,
        0x3E, 0x3F, 0x01, 0x00, 0x0F, 0x00];
    pub const AC_11: [u8; 20] = [
        0x00, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F,
        0x3F, 0x3F, 0x01, 0x00, 0x01, 0x00];
    pub const AC_13: [u8; 20] = [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D,
        0x0E, 0x0F, 0x41, 0x00, 0x0F, 0x00];

    pub const GC_TEXT: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x0F, 0xFF];
    pub const GC_MONO: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0A, 0x0F, 0xFF];
    pub const GC_CGA2: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0F, 0x0F, 0xFF];
    pub const GC_CGA1: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0D, 0x0F, 0xFF];
    pub const GC_PLANAR: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0F, 0xFF];
    pub const GC_13: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF];
}
use tables::*;

fn mode_table(mode: u8) -> Option<ModeTable> {
    use Layout::{Graphics, Text};
    use Palette::{Cga, Ega, Mono, Vga256};
    let t = |misc, seq, crtc, ac, gc, palette, layout| ModeTable {
        misc,
        seq,
        crtc,
        ac,
        gc,
        palette,
        layout,
    };
    Some(match mode {
        0x00 | 0x01 => t(0x67, SEQ_40, CRTC_40, AC_TEXT, GC_TEXT, Ega, Text),
        0x02 | 0x03 => t(0x67, SEQ_80, CRTC_80, AC_TEXT, GC_TEXT, Ega, Text),
        0x04 | 0x05 => t(0x63, SEQ_CGA2, CRTC_CGA2, AC_CGA2, GC_CGA2, Cga, Graphics),
        0x06 => t(0x63, SEQ_CGA1, CRTC_CGA1, AC_CGA1, GC_CGA1, Cga, Graphics),
        0x07 => t(0x66, SEQ_80, CRTC_MONO, AC_MONO, GC_MONO, Mono, Text),
        0x0D => t(0x63, SEQ_0D, CRTC_0D, AC_200, GC_PLANAR, Cga, Graphics),
        0x0E => t(0x63, SEQ_PLANAR, CRTC_0E, AC_200, GC_PLANAR, Cga, Graphics),
        0x0F => t(0xA2, SEQ_PLANAR, CRTC_350, AC_0F, GC_PLANAR, Mono, Graphics),
        0x10 => t(0xA3, SEQ_PLANAR, CRTC_350, AC_EGA, GC_PLANAR, Ega, Graphics),
        0x11 => t(0xE3, SEQ_PLANAR, CRTC_480, AC_11, GC_PLANAR, Ega, Graphics),
        0x12 => t(0xE3, SEQ_PLANAR, CRTC_480, AC_EGA, GC_PLANAR, Ega, Graphics),
        0x13 => t(0x63, SEQ_13, CRTC_13, AC_13, GC_13, Vga256, Graphics),
        _ => return None,
    })
}

impl Vga {
    /// Programs every register for standard BIOS mode `mode` as IBM's VGA BIOS does,
    /// loads the default palette (and the 8×16 font for text modes) and clears video
    /// memory if `clear`. Returns false, changing nothing, for an unknown mode.
    pub fn set_mode(&mut self, mode: u8, clear: bool) -> bool {
        let Some(t) = mode_table(mode) else {
            log::debug!(target: "vga", "set mode {mode:#04x}: unknown mode");
            return false;
        };
        log::debug!(target: "vga", "set mode {mode:#04x} (clear memory: {clear})");
        self.seq.regs[SEQ_RESET] = 0x03;
        self.seq.regs[1..].copy_from_slice(&t.seq);
        self.misc = t.misc;
        self.crtc.regs.copy_from_slice(&t.crtc);
        self.crtc.regs[CR_V_RETRACE_END] &= 0x7F;
        self.ac.regs[..t.ac.len()].copy_from_slice(&t.ac);
        self.ac.regs[t.ac.len()..].fill(0);
        self.ac.index = AC_PAS;
        self.ac.flip_flop = false;
        self.gc.regs.copy_from_slice(&t.gc);
        self.dac.load(&default_palette(t.palette));
        self.latch = 0;
        if clear {
            match t.layout {
                // Space on light grey in planes 0/1; the font in plane 2 stays.
                Layout::Text => self
                    .planes
                    .iter_mut()
                    .for_each(|p| *p = (*p & 0xFFFF_0000) | 0x0720),
                Layout::Graphics => self.planes.fill(0),
            }
        }
        if t.layout == Layout::Text {
            self.text_lines = TEXT_LINES;
            self.load_font(0, 0, font::font_8x16(), 16, false);
        }
        self.version = self.version.wrapping_add(1);
        true
    }

    /// Loads glyphs (each `height` bytes, MSB leftmost) for characters `first`.. into
    /// character generator block `block` of plane 2, 32 bytes per glyph as on hardware
    /// (INT 10h AH=11h). With `set_height`, also reprograms the character height,
    /// vertical display end and cursor shape as INT 10h AX=1111h/1112h/1114h do.
    pub fn load_font(&mut self, block: u8, first: u8, glyphs: &[u8], height: u8, set_height: bool) {
        let h = height as usize;
        log::debug!(
            target: "vga",
            "load font block {block}, {} glyphs from {first:#04x}, height {height}{}",
            glyphs.len() / h.max(1),
            if set_height { ", set character height" } else { "" }
        );
        if h == 0 {
            return;
        }
        let base = font_block_offset(block);
        for (i, glyph) in glyphs.chunks_exact(h).enumerate() {
            let ch = first as usize + i;
            if ch > 0xFF {
                break;
            }
            for (line, &b) in glyph.iter().take(GLYPH_STRIDE).enumerate() {
                let off = (base + ch * GLYPH_STRIDE + line) % PLANE_SIZE;
                self.set_plane_byte(2, off, b);
            }
        }
        if set_height && !self.ac.graphics() {
            let h = h.min(GLYPH_STRIDE);
            self.crtc.set_max_scan((h - 1) as u8);
            self.crtc
                .set_v_display_lines((self.text_lines / h).max(1) * h);
            // IBM BIOS cursor shapes: lines 6-7 of 8, 11-12 of 14, 13-14 of 16.
            let (start, end) = if h > 8 {
                (h - 3, h - 2)
            } else {
                (h.saturating_sub(2), h - 1)
            };
            self.crtc.regs[CR_CURSOR_START] = start as u8;
            self.crtc.regs[CR_CURSOR_END] = end as u8;
            if self.misc & MISC_COLOR_IO == 0 {
                // Monochrome underlines on the last scan line of the cell.
                self.crtc.regs[CR_UNDERLINE] =
                    (self.crtc.regs[CR_UNDERLINE] & 0xE0) | (h - 1) as u8;
            }
        }
        self.version = self.version.wrapping_add(1);
    }
}
