//! VGA display path: the CRTC address counter walks the planes scan line by scan line,
//! the sequencer/graphics serializers turn plane bytes into 4-bit (or 8-bit) pixels or
//! character cells, the attribute controller maps them to DAC indexes and the DAC to
//! RGB. Covers text (9th column, blink, cursor, underline), planar, CGA-interleaved and
//! 256-colour fetches, horizontal pel panning, start address and line compare.
//! FreeVGA "CRTC Operation", "Attribute Controller Operation".
//!
//! The frame is reported at the mode's logical resolution: pixel doubling (halved dot
//! clock, 256-colour pairing) and line repetition (double scan, graphics character rows
//! without row-scan addressing) are undone; the frontend scales for aspect.
//!
//! Log target: `vga`.

use super::attribute::{MODE_BLINK, MODE_LINE_GRAPHICS, MODE_PAN_COMPAT};
use super::graphics::{GC_MODE, MODE_SHIFT_256, MODE_SHIFT_INTERLEAVE};
use super::Vga;
use crate::Nanos;

/// Largest frame reported, whatever the CRTC says.
const MAX_WIDTH: usize = 1024;
const MAX_HEIGHT: usize = 768;

/// Characters C0h-DFh repeat their 8th dot in the 9th column when line graphics are
/// enabled, so box-drawing characters join up.
const LINE_GRAPHICS_FIRST: u8 = 0xC0;
const LINE_GRAPHICS_MASK: u8 = 0xE0;
/// Underline shows for attributes with foreground 1 and background 0 (ignoring
/// intensity and blink), the monochrome underline attribute.
const UNDERLINE_ATTR_MASK: u8 = 0x77;
const UNDERLINE_ATTR: u8 = 0x01;

/// How the display turns plane data into pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum Fetch {
    Text,
    /// One bit per plane per pixel (modes 0Dh-12h, 06h).
    Planar,
    /// Shift register interleave: 2 bits per pixel from planes 0/1 (modes 04h/05h).
    Cga,
    /// 256-colour: one byte per pixel, four pixels per address (mode 13h, mode X).
    Packed,
}

pub(super) struct Layout {
    pub fetch: Fetch,
    pub width: usize,
    pub height: usize,
    /// Physical scan lines per reported row.
    pub v_rep: usize,
    /// Reported pixels per character clock.
    pub ppc: usize,
}

impl Vga {
    fn fetch(&self) -> Fetch {
        let mode = self.gc.regs[GC_MODE];
        if !self.ac.graphics() {
            Fetch::Text
        } else if mode & MODE_SHIFT_256 != 0 {
            Fetch::Packed
        } else if mode & MODE_SHIFT_INTERLEAVE != 0 {
            Fetch::Cga
        } else {
            Fetch::Planar
        }
    }

    pub(super) fn layout(&self) -> Layout {
        let fetch = self.fetch();
        let ppc = match fetch {
            Fetch::Text => self.seq.dot_width(),
            Fetch::Packed => 4,
            _ => 8,
        };
        let width = (self.crtc.h_display_chars() * ppc).min(MAX_WIDTH);
        let mut v_rep = if self.crtc.double_scan() { 2 } else { 1 };
        if fetch != Fetch::Text && !self.crtc.row_scan_addressing() {
            // Every scan line of a graphics character row fetches the same addresses.
            v_rep *= self.crtc.max_scan() + 1;
        }
        let height = self.crtc.v_display_lines().div_ceil(v_rep).min(MAX_HEIGHT);
        Layout {
            fetch,
            width,
            height,
            v_rep,
            ppc,
        }
    }

    /// For physical scan line `line`: the address counter at its start, its row scan
    /// within the character row, and whether it is below the line compare split (which
    /// restarts the display at address 0).
    fn scan_line_start(&self, line: usize) -> (usize, usize, bool) {
        let lc = self.crtc.line_compare();
        let (base, rel, split, preset) = if line >= lc {
            (0, line - lc, true, 0)
        } else {
            let start = self.crtc.start_address();
            (start, line, false, self.crtc.preset_row_scan())
        };
        let scan = rel / if self.crtc.double_scan() { 2 } else { 1 } + preset;
        let h = self.crtc.max_scan() + 1;
        (base + (scan / h) * self.crtc.row_stride(), scan % h, split)
    }

    /// Renders the visible frame as 0x00RRGGBB into `buf` and returns (width, height).
    pub fn render(&mut self, now: Nanos, buf: &mut Vec<u32>) -> (usize, usize) {
        if self.vbe_enabled() {
            return self.render_vbe(buf);
        }
        let l = self.layout();
        buf.clear();
        buf.resize(l.width * l.height, 0);
        if self.seq.screen_off() || !self.ac.video_enabled() {
            return (l.width, l.height);
        }
        let rgb: [u32; 256] = core::array::from_fn(|i| self.dac.color(i as u8));
        let colors = self.ac.color_table();
        let pan = match l.fetch {
            Fetch::Text => self.ac.panning(self.seq.dot_width()),
            Fetch::Packed => self.ac.panning(8) / 2,
            _ => self.ac.panning(8),
        };
        let phases = self.blink_phases(now);
        let mut line = vec![0u8; (l.width / l.ppc + 2) * l.ppc];
        for (y, out) in buf.chunks_exact_mut(l.width).enumerate() {
            let (ma, row_scan, split) = self.scan_line_start(y * l.v_rep);
            let pan = if split && self.ac.mode() & MODE_PAN_COMPAT != 0 {
                0
            } else {
                pan
            };
            let chars = (l.width + pan).div_ceil(l.ppc);
            for c in 0..chars {
                let dots = &mut line[c * l.ppc..(c + 1) * l.ppc];
                let ma = ma + (c >> self.crtc.clock_shift());
                match l.fetch {
                    Fetch::Text => self.text_cell(ma, row_scan, phases, &colors, dots),
                    Fetch::Planar => self.planar_cell(ma, row_scan, &colors, dots),
                    Fetch::Cga => self.cga_cell(ma, row_scan, &colors, dots),
                    Fetch::Packed => self.packed_cell(ma, row_scan, dots),
                }
            }
            for (o, &i) in out.iter_mut().zip(&line[pan..]) {
                *o = rgb[i as usize];
            }
        }
        (l.width, l.height)
    }

    /// One character cell's dots of scan line `row_scan` as DAC indexes.
    fn text_cell(
        &self,
        ma: usize,
        row_scan: usize,
        (cursor_on, blink_on): (bool, bool),
        colors: &[u8; 16],
        dots: &mut [u8],
    ) {
        let p = self.planes[self.crtc.map_address(ma, row_scan)];
        let (ch, attr) = (p as u8, (p >> 8) as u8);
        let (map_a, map_b) = self.seq.char_map_offsets();
        let font = if attr & 0x08 != 0 { map_a } else { map_b };
        let mut glyph = self.plane_byte(2, font + ch as usize * 32 + row_scan) as u16;
        // Dot 8 (the 9th column) in bit 0 once shifted left.
        glyph <<= 1;
        if self.ac.mode() & MODE_LINE_GRAPHICS != 0
            && ch & LINE_GRAPHICS_MASK == LINE_GRAPHICS_FIRST
        {
            glyph |= (glyph >> 1) & 1;
        }
        let mut fg = attr & 0x0F;
        let mut bg = attr >> 4;
        if self.ac.mode() & MODE_BLINK != 0 {
            bg &= 0x07;
            if attr & 0x80 != 0 && !blink_on {
                fg = bg;
            }
        }
        if row_scan == self.crtc.underline_row() && attr & UNDERLINE_ATTR_MASK == UNDERLINE_ATTR {
            glyph = 0x1FF;
        }
        let (start, end) = self.crtc.cursor_lines();
        if cursor_on
            && self.crtc.cursor_enabled()
            && ma & 0xFFFF == (self.crtc.cursor_location() + self.crtc.cursor_skew()) & 0xFFFF
            && (start..=end).contains(&row_scan)
        {
            glyph = 0x1FF;
            fg = attr & 0x0F;
        }
        let (fg, bg) = (colors[fg as usize], colors[bg as usize]);
        for (d, out) in dots.iter_mut().enumerate() {
            *out = if glyph & (0x100 >> d) != 0 { fg } else { bg };
        }
    }

    fn planar_cell(&self, ma: usize, row_scan: usize, colors: &[u8; 16], dots: &mut [u8]) {
        let p = self.planes[self.crtc.map_address(ma, row_scan)];
        for (d, out) in dots.iter_mut().enumerate() {
            let bit = 7 - d;
            let v = ((p >> bit) & 1)
                | ((p >> (bit + 7)) & 2)
                | ((p >> (bit + 14)) & 4)
                | ((p >> (bit + 21)) & 8);
            *out = colors[v as usize];
        }
    }

    fn cga_cell(&self, ma: usize, row_scan: usize, colors: &[u8; 16], dots: &mut [u8]) {
        let p = self.planes[self.crtc.map_address(ma, row_scan)];
        for (d, out) in dots.iter_mut().enumerate() {
            // Pixels 0-3 from plane 0 (the even CPU byte), 4-7 from plane 1.
            let byte = (p >> (8 * (d / 4))) as u8;
            *out = colors[((byte >> (6 - 2 * (d % 4))) & 3) as usize];
        }
    }

    /// 256-colour dots bypass the attribute palette (identity in every BIOS mode).
    fn packed_cell(&self, ma: usize, row_scan: usize, dots: &mut [u8]) {
        let p = self.planes[self.crtc.map_address(ma, row_scan)];
        for (d, out) in dots.iter_mut().enumerate() {
            *out = (p >> (8 * d)) as u8;
        }
    }

    /// Plane offset and position within the character clock of graphics pixel (x, y).
    fn pixel_site(&self, x: u32, y: u32) -> Option<(Fetch, usize, usize)> {
        let l = self.layout();
        let (x, y) = (x as usize, y as usize);
        if l.fetch == Fetch::Text || x >= l.width || y >= l.height {
            return None;
        }
        let (ma, row_scan, _) = self.scan_line_start(y * l.v_rep);
        let ma = ma + ((x / l.ppc) >> self.crtc.clock_shift());
        Some((l.fetch, self.crtc.map_address(ma, row_scan), x % l.ppc))
    }

    /// INT 10h AH=0Ch: sets graphics pixel (x, y) in the current mode's layout. Bit 7 of
    /// `color` XORs in the 16- and 4-colour modes, as the BIOS does.
    pub fn write_pixel(&mut self, x: u32, y: u32, color: u8) {
        let Some((fetch, off, k)) = self.pixel_site(x, y) else {
            return;
        };
        let xor = color & 0x80 != 0;
        match fetch {
            Fetch::Packed => self.set_plane_byte(k, off, color),
            Fetch::Cga => {
                let shift = 6 - 2 * (k % 4);
                let old = self.plane_byte(k / 4, off);
                let c = (color & 3) << shift;
                let new = if xor {
                    old ^ c
                } else {
                    (old & !(3 << shift)) | c
                };
                self.set_plane_byte(k / 4, off, new);
            }
            Fetch::Planar => {
                let bit = 0x80 >> k;
                for p in 0..4 {
                    let old = self.plane_byte(p, off);
                    let on = color & (1 << p) != 0;
                    let new = match (xor, on) {
                        (true, true) => old ^ bit,
                        (true, false) => old,
                        (false, true) => old | bit,
                        (false, false) => old & !bit,
                    };
                    self.set_plane_byte(p, off, new);
                }
            }
            Fetch::Text => {}
        }
    }

    /// INT 10h AH=0Dh: the colour of graphics pixel (x, y); 0 outside graphics modes.
    pub fn read_pixel(&self, x: u32, y: u32) -> u8 {
        let Some((fetch, off, k)) = self.pixel_site(x, y) else {
            return 0;
        };
        match fetch {
            Fetch::Packed => self.plane_byte(k, off),
            Fetch::Cga => (self.plane_byte(k / 4, off) >> (6 - 2 * (k % 4))) & 3,
            Fetch::Planar => (0..4)
                .map(|p| ((self.plane_byte(p, off) >> (7 - k)) & 1) << p)
                .sum(),
            Fetch::Text => 0,
        }
    }
}
