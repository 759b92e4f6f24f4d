//! INT 10h, the video BIOS, on top of the emulated VGA. Mode sets program the VGA's
//! registers (its `set_mode` holds IBM's parameter tables); everything else goes
//! through the same ports and memory window a guest uses, so a guest that mixes BIOS
//! calls with direct register access sees one consistent adapter. The BIOS data area
//! fields follow the IBM VGA BIOS (0449h–0489h); the fonts live in the ROM, where
//! INT 1Fh/43h and AX=1130h point.

use super::lin;
use crate::Pc;
use cpu::{Bus, ES};
use devices::font;

mod vbe;

/// Video fields of the BIOS data area.
pub(super) mod bda {
    pub const VIDEO_MODE: u32 = 0x449;
    pub const COLUMNS: u32 = 0x44A;
    pub const PAGE_SIZE: u32 = 0x44C;
    pub const PAGE_START: u32 = 0x44E;
    pub const CURSOR: u32 = 0x450;
    pub const CURSOR_SHAPE: u32 = 0x460;
    pub const PAGE: u32 = 0x462;
    pub const CRTC: u32 = 0x463;
    pub const MODE_CTL: u32 = 0x465;
    pub const PALETTE: u32 = 0x466;
    pub const ROWS: u32 = 0x484;
    pub const CHAR_HEIGHT: u32 = 0x485;
    pub const EGA_MISC: u32 = 0x487;
    pub const EGA_SWITCHES: u32 = 0x488;
    pub const VGA_FLAGS: u32 = 0x489;
    pub const DCC: u32 = 0x48A;
}

/// Font locations in the ROM (segment F000). 0FA6Eh is where the IBM PC BIOS keeps
/// the first 128 8×8 glyphs, and some programs read them there directly.
pub(super) const FONT16: u16 = 0xA000;
pub(super) const FONT14: u16 = 0xB000;
pub(super) const FONT8: u16 = 0xC000;
const FONT8_LOW_IBM: u16 = 0xFA6E;

/// Virtual time the video BIOS spends per pixel it writes in a graphics mode and per
/// character cell in a text mode, about what a VGA's memory bandwidth allows. Charging
/// it keeps a loop of large calls (a 64 KB string, a scroll per line) from packing
/// thousands of them into one run slice of 100 000 instructions, which the host would
/// spend minutes on between two looks at the clock.
const NS_PER_PIXEL: u64 = 10;
const NS_PER_CELL: u64 = 20;

/// Copies the project's fonts into the BIOS image.
pub(super) fn install_fonts(rom: &mut [u8]) {
    let put = |rom: &mut [u8], at: u16, data: &[u8]| {
        rom[at as usize..at as usize + data.len()].copy_from_slice(data);
    };
    put(rom, FONT16, font::font_8x16());
    put(rom, FONT14, font::font_8x14());
    put(rom, FONT8, font::font_8x8());
    put(rom, FONT8_LOW_IBM, &font::font_8x8()[..1024]);
    vbe::install_rom(rom);
}

/// What the BIOS needs to know about a standard mode.
#[derive(Clone, Copy)]
struct Mode {
    text: bool,
    cols: u16,
    rows: u8,
    char_h: u8,
    /// Start of the mode's memory (B8000h colour text/CGA, B0000h mono, A0000h EGA/VGA).
    base: u32,
    page_size: u16,
    height: u32,
}

fn mode_info(m: u8) -> Option<Mode> {
    let text = |cols, base| Mode {
        text: true,
        cols,
        rows: 25,
        char_h: 16,
        base,
        page_size: cols * 25 * 2 + if cols == 40 { 48 } else { 96 },
        height: 400,
    };
    let gfx = |cols, char_h, base, page_size, height| Mode {
        text: false,
        cols,
        rows: (height / char_h as u32) as u8,
        char_h,
        base,
        page_size,
        height,
    };
    Some(match m {
        0 | 1 => Mode {
            page_size: 0x800,
            ..text(40, 0xB8000)
        },
        2 | 3 => Mode {
            page_size: 0x1000,
            ..text(80, 0xB8000)
        },
        7 => Mode {
            page_size: 0x1000,
            ..text(80, 0xB0000)
        },
        4 | 5 => gfx(40, 8, 0xB8000, 0x4000, 200),
        6 => gfx(80, 8, 0xB8000, 0x4000, 200),
        0x0D => gfx(40, 8, 0xA0000, 0x2000, 200),
        0x0E => gfx(80, 8, 0xA0000, 0x4000, 200),
        0x0F | 0x10 => gfx(80, 14, 0xA0000, 0x8000, 350),
        0x11 | 0x12 => gfx(80, 16, 0xA0000, 0xA000, 480),
        0x13 => gfx(40, 8, 0xA0000, 0xFA00, 200),
        _ => return None,
    })
}

impl Pc {
    fn charge(&mut self, ns: u64) {
        self.bus.clock.idle = self.bus.clock.idle.saturating_add(ns);
    }

    fn vmode(&mut self) -> Mode {
        let m = self.r8(bda::VIDEO_MODE);
        mode_info(m).unwrap_or_else(|| mode_info(3).expect("mode 3 is in the table"))
    }

    fn crtc_port(&mut self) -> u16 {
        if self.r16(bda::CRTC) == 0x3B4 {
            0x3B4
        } else {
            0x3D4
        }
    }

    fn crtc_write(&mut self, reg: u8, v: u8) {
        let p = self.crtc_port();
        self.bus.io_write(p, 1, reg as u32);
        self.bus.io_write(p + 1, 1, v as u32);
    }

    /// Writes an attribute-controller register, keeping the display enabled (bit 5 of
    /// the index), and leaves the flip-flop in its index state.
    fn ac_write(&mut self, reg: u8, v: u8) {
        self.bus.io_read(0x3DA, 1);
        self.bus.io_write(0x3C0, 1, (reg & 0x1F | 0x20) as u32);
        self.bus.io_write(0x3C0, 1, v as u32);
        self.bus.io_read(0x3DA, 1);
    }

    fn ac_read(&mut self, reg: u8) -> u8 {
        self.bus.io_read(0x3DA, 1);
        self.bus.io_write(0x3C0, 1, (reg & 0x1F | 0x20) as u32);
        let v = self.bus.io_read(0x3C1, 1) as u8;
        self.bus.io_read(0x3DA, 1);
        v
    }

    /// INT 10h AH=00h. Bit 7 of the mode keeps video memory as it is.
    pub(super) fn set_video_mode(&mut self, mode: u8) {
        let m = mode & 0x7F;
        // A VGA mode turns the VBE display off (SeaBIOS's bochsvga does the same).
        if mode_info(m).is_some() {
            self.bus.io_write(devices::vga::PORT_INDEX, 2, 4);
            self.bus.io_write(devices::vga::PORT_DATA, 2, 0);
        }
        let Some(info) = mode_info(m) else {
            log::info!(target: "bios", "INT 10h: video mode {m:#04x} is not supported");
            return;
        };
        if !self.bus.vga.set_mode(m, mode & 0x80 == 0) {
            log::info!(target: "bios", "INT 10h: video mode {m:#04x} is not supported");
            return;
        }
        self.w8(bda::VIDEO_MODE, m);
        self.w16(bda::COLUMNS, info.cols);
        self.w16(bda::PAGE_SIZE, info.page_size);
        self.w16(bda::PAGE_START, 0);
        self.w8(bda::ROWS, info.rows - 1);
        self.w8(bda::CHAR_HEIGHT, info.char_h);
        self.w16(bda::CRTC, if m == 7 { 0x3B4 } else { 0x3D4 });
        self.w16(bda::CURSOR_SHAPE, 0x0607);
        self.w8(bda::PAGE, 0);
        for p in 0..8 {
            self.w16(bda::CURSOR + p * 2, 0);
        }
        // CGA mode-control mirror (port 3D8h values of the IBM BIOS) and palette.
        let ctl = [0x2C, 0x28, 0x2D, 0x29, 0x2A, 0x2E, 0x1E, 0x29];
        self.w8(bda::MODE_CTL, *ctl.get(m as usize).unwrap_or(&0x29));
        self.w8(bda::PALETTE, if m == 6 { 0x3F } else { 0x30 });
        self.w8(bda::EGA_MISC, 0x60 | (mode & 0x80));
        self.w8(bda::EGA_SWITCHES, 0x09);
        self.w8(bda::VGA_FLAGS, 0x51);
        self.w8(bda::DCC, 0x0B);
        // INT 43h: the graphics-mode font for this mode's character height.
        let f = match info.char_h {
            14 => FONT14,
            16 => FONT16,
            _ => FONT8,
        };
        self.w16(0x43 * 4, f);
        self.w16(0x43 * 4 + 2, 0xF000);
        self.w16(0x1F * 4, FONT8 + 128 * 8);
        self.w16(0x1F * 4 + 2, 0xF000);
    }

    pub(super) fn cursor(&mut self, page: u8) -> (u32, u32) {
        let v = self.r16(bda::CURSOR + (page as u32 & 7) * 2);
        ((v >> 8) as u32, (v & 0xFF) as u32)
    }

    fn set_cursor(&mut self, page: u8, row: u32, col: u32) {
        let page = page & 7;
        self.w16(
            bda::CURSOR + page as u32 * 2,
            ((row as u16) << 8) | col as u16,
        );
        if page == self.r8(bda::PAGE) && self.vmode().text {
            let cols = self.r16(bda::COLUMNS) as u32;
            let start = self.r16(bda::PAGE_START) as u32 / 2;
            let pos = (start + row * cols + col) as u16;
            self.crtc_write(0x0E, (pos >> 8) as u8);
            self.crtc_write(0x0F, pos as u8);
        }
    }

    /// INT 10h AH=01h with the VGA BIOS's cursor emulation: CGA-style shapes given in
    /// 8-line units are scaled to the character height (an underline 06/07 becomes
    /// the two lines above the bottom of a 16-line cell).
    fn set_cursor_shape(&mut self, cx: u16) {
        self.w16(bda::CURSOR_SHAPE, cx);
        let (mut start, mut end) = ((cx >> 8) as u8 & 0x3F, cx as u8 & 0x1F);
        let h = self.r8(bda::CHAR_HEIGHT).max(1);
        if start & 0x20 == 0 && h > 8 && start <= 7 && end <= 7 {
            if end == start + 1 {
                start = h - 3;
                end = h - 2;
            } else {
                start = (start as u32 * h as u32 / 8) as u8;
                end = ((end as u32 + 1) * h as u32 / 8).saturating_sub(1) as u8;
            }
        }
        self.crtc_write(0x0A, start);
        self.crtc_write(0x0B, end);
    }

    fn cols(&mut self) -> u32 {
        (self.r16(bda::COLUMNS) as u32).clamp(1, 255)
    }

    fn rows(&mut self) -> u32 {
        self.r8(bda::ROWS) as u32 + 1
    }

    fn cell(&mut self, page: u8, row: u32, col: u32) -> u32 {
        let m = self.vmode();
        let size = self.r16(bda::PAGE_SIZE) as u32;
        m.base + (page as u32 & 7) * size + (row * self.cols() + col) * 2
    }

    /// Draws a glyph from the INT 43h font (INT 1Fh for the upper half in 8-line
    /// modes, as the IBM BIOS does) at a character cell of a graphics mode.
    fn draw_glyph(&mut self, row: u32, col: u32, ch: u8, color: u8) {
        let m = self.vmode();
        let h = m.char_h as u32;
        let (vec, idx) = if h == 8 && ch >= 0x80 {
            (0x1F, ch as u32 - 0x80)
        } else {
            (0x43, ch as u32)
        };
        let (off, seg) = (self.r16(vec * 4), self.r16(vec * 4 + 2));
        let (x0, y0) = (col * 8, row * h);
        self.charge(8 * h as u64 * NS_PER_PIXEL);
        // Bit 7 of the colour XORs the glyph in, except in the 256-colour mode.
        let xor = color & 0x80 != 0 && self.r8(bda::VIDEO_MODE) != 0x13;
        for y in 0..h {
            let bits = self.r8(lin(seg, off.wrapping_add((idx * h + y) as u16)));
            for x in 0..8 {
                let on = bits & (0x80 >> x) != 0;
                let (px, py) = (x0 + x, y0 + y);
                if xor {
                    if on {
                        let old = self.bus.vga.read_pixel(px, py);
                        self.bus.vga.write_pixel(px, py, old ^ (color & 0x7F));
                    }
                } else {
                    self.bus.vga.write_pixel(px, py, if on { color } else { 0 });
                }
            }
        }
    }

    /// The character drawn at a graphics-mode cell, found by matching its pixels
    /// against the current font (INT 10h AH=08h in graphics modes).
    fn read_glyph(&mut self, row: u32, col: u32) -> u8 {
        let h = self.vmode().char_h as u32;
        let mut cell = Vec::with_capacity(h as usize);
        for y in 0..h {
            let mut bits = 0u8;
            for x in 0..8 {
                if self.bus.vga.read_pixel(col * 8 + x, row * h + y) != 0 {
                    bits |= 0x80 >> x;
                }
            }
            cell.push(bits);
        }
        let (off, seg) = (self.r16(0x43 * 4), self.r16(0x43 * 4 + 2));
        for c in 0..=255u32 {
            if (0..h).all(|y| {
                self.r8(lin(seg, off.wrapping_add((c * h + y) as u16))) == cell[y as usize]
            }) {
                return c as u8;
            }
        }
        0
    }

    fn scroll(
        &mut self,
        up: bool,
        lines: u32,
        attr: u8,
        (top, left, bottom, right): (u32, u32, u32, u32),
    ) {
        let (cols, rows) = (self.cols(), self.rows());
        let (bottom, right) = (bottom.min(rows - 1), right.min(cols - 1));
        if top > bottom || left > right {
            return;
        }
        let height = bottom - top + 1;
        let n = if lines == 0 || lines > height {
            height
        } else {
            lines
        };
        let m = self.vmode();
        let page = self.r8(bda::PAGE);
        let width = right - left + 1;
        self.charge(if m.text {
            (height * width) as u64 * NS_PER_CELL
        } else {
            (height * m.char_h as u32 * width * 8) as u64 * NS_PER_PIXEL
        });
        let origin = self.cell(page, 0, 0);
        for i in 0..height {
            let row = if up { top + i } else { bottom - i };
            let src = if up { row + n } else { row.wrapping_sub(n) };
            let from_inside = if up { src <= bottom } else { row >= top + n };
            if m.text {
                let to = origin + (row * cols + left) * 2;
                let from = origin + (src.wrapping_mul(cols) + left) * 2;
                for c in 0..width {
                    let v = if from_inside {
                        self.bus.read16(from + c * 2)
                    } else {
                        (attr as u16) << 8 | 0x20
                    };
                    self.bus.write16(to + c * 2, v);
                }
                // Text memory holds no code a guest runs, but a guest may run code
                // there (it is RAM to the CPU): drop it once per row.
                self.cpu.invalidate_phys(to, width * 2);
            } else {
                let h = m.char_h as u32;
                for y in 0..h {
                    for x in left * 8..(right + 1) * 8 {
                        let v = if from_inside {
                            self.bus.vga.read_pixel(x, src * h + y)
                        } else {
                            attr
                        };
                        self.bus.vga.write_pixel(x, row * h + y, v);
                    }
                }
            }
        }
    }

    fn put_char(&mut self, page: u8, row: u32, col: u32, ch: u8, attr: Option<u8>) {
        if self.vmode().text {
            self.charge(NS_PER_CELL);
            let a = self.cell(page, row, col);
            self.w8(a, ch);
            if let Some(at) = attr {
                self.w8(a + 1, at);
            }
        } else {
            let color = attr.unwrap_or(0x0F);
            self.draw_glyph(row, col, ch, color);
        }
    }

    /// Teletype output (INT 10h AH=0Eh): BEL, BS, CR and LF, wrapping and scrolling.
    /// In graphics modes `color` is the foreground.
    fn teletype(&mut self, ch: u8, page: u8, color: u8) {
        let (mut row, mut col) = self.cursor(page);
        let (cols, rows) = (self.cols(), self.rows());
        let text = self.vmode().text;
        match ch {
            0x07 => {}
            0x08 => col = col.saturating_sub(1),
            b'\r' => col = 0,
            b'\n' => row += 1,
            _ => {
                self.put_char(page, row, col, ch, (!text).then_some(color));
                col += 1;
                if col >= cols {
                    col = 0;
                    row += 1;
                }
            }
        }
        if row >= rows {
            // The new line takes the attribute of the character under the cursor.
            let attr = if text {
                let a = self.cell(page, rows - 1, col.min(cols - 1));
                self.r8(a + 1)
            } else {
                0
            };
            self.scroll(true, 1, attr, (0, 0, rows - 1, cols - 1));
            row = rows - 1;
        }
        self.set_cursor(page, row, col);
    }

    pub(super) fn print_text(&mut self, s: &str) {
        for b in s.bytes() {
            self.teletype(b, 0, 0x07);
        }
    }

    pub(super) fn int10(&mut self) {
        let bx = self.cpu.regs[3] as u16;
        let cx = self.cpu.regs[1] as u16;
        let dx = self.cpu.regs[2] as u16;
        let page = (bx >> 8) as u8;
        match self.ah() {
            0x00 => {
                let m = self.al();
                self.set_video_mode(m);
                // AL on return: the IBM VGA BIOS reports 30h for text modes 0–5/7 and
                // 20h otherwise; programs ignore it, but some print it.
                let r = if m & 0x7F <= 5 || m & 0x7F == 7 {
                    0x30
                } else {
                    0x20
                };
                if m & 0x7F != 6 {
                    self.set_al(r);
                }
            }
            0x01 => self.set_cursor_shape(cx),
            0x02 => self.set_cursor(page, (dx >> 8) as u32, (dx & 0xFF) as u32),
            0x03 => {
                let (r, c) = self.cursor(page);
                let shape = self.r16(bda::CURSOR_SHAPE);
                self.set16(2, ((r as u16) << 8) | c as u16);
                self.set16(1, shape);
            }
            0x05 => {
                let p = self.al() & 7;
                let size = self.r16(bda::PAGE_SIZE);
                let start = p as u16 * size;
                self.w8(bda::PAGE, p);
                self.w16(bda::PAGE_START, start);
                let words = if self.vmode().text { start / 2 } else { start };
                self.crtc_write(0x0C, (words >> 8) as u8);
                self.crtc_write(0x0D, words as u8);
                let (r, c) = self.cursor(p);
                self.set_cursor(p, r, c);
            }
            0x06 | 0x07 => {
                let up = self.ah() == 0x06;
                let lines = self.al() as u32;
                let rect = (
                    (cx >> 8) as u32,
                    (cx & 0xFF) as u32,
                    (dx >> 8) as u32,
                    (dx & 0xFF) as u32,
                );
                self.scroll(up, lines, (bx >> 8) as u8, rect);
            }
            0x08 => {
                let (r, c) = self.cursor(page);
                if self.vmode().text {
                    let a = self.cell(page, r, c);
                    let v = self.r16(a);
                    self.set16(0, v);
                } else {
                    let ch = self.read_glyph(r, c);
                    self.set16(0, ch as u16);
                }
            }
            0x09 | 0x0A => {
                let (r, c) = self.cursor(page);
                let ch = self.al();
                let (cols, rows) = (self.cols(), self.rows());
                let first = r * cols + c;
                let last = (first + cx as u32).min(cols * rows);
                let text = self.vmode().text;
                let attr = (self.ah() == 0x09 || !text).then_some(bx as u8);
                for pos in first..last {
                    self.put_char(page, pos / cols, pos % cols, ch, attr);
                }
            }
            0x0B => {
                // Border / background colour (BH=0) of the CGA-compatible interface.
                if page == 0 {
                    let c = bx as u8 & 0x0F;
                    self.ac_write(0x11, c);
                    if !self.vmode().text {
                        self.ac_write(0x00, c);
                    }
                }
            }
            0x0C => {
                let (x, y) = (cx as u32, dx as u32);
                let color = self.al();
                if color & 0x80 != 0 && self.r8(bda::VIDEO_MODE) != 0x13 {
                    let old = self.bus.vga.read_pixel(x, y);
                    self.bus.vga.write_pixel(x, y, old ^ (color & 0x7F));
                } else {
                    self.bus.vga.write_pixel(x, y, color);
                }
            }
            0x0D => {
                let v = self.bus.vga.read_pixel(cx as u32, dx as u32);
                self.set_al(v);
            }
            0x0E => {
                let ch = self.al();
                let p = self.r8(bda::PAGE);
                self.teletype(ch, p, bx as u8);
            }
            0x0F => {
                let mode = self.r8(bda::VIDEO_MODE) | (self.r8(bda::EGA_MISC) & 0x80);
                let cols = self.r16(bda::COLUMNS) as u8;
                let p = self.r8(bda::PAGE);
                self.set_al(mode);
                self.set_ah(cols);
                self.cpu.regs[3] = (self.cpu.regs[3] & !0xFF00) | (p as u32) << 8;
            }
            0x10 => self.palette(bx, cx, dx),
            0x11 => self.fonts(bx, cx, dx),
            0x12 => match bx as u8 {
                0x10 => {
                    // EGA/VGA information: colour, 256 KB, feature bits 0, switches 9.
                    self.set16(3, 0x0003);
                    self.set16(1, 0x0009);
                }
                0x30..=0x36 => self.set_al(0x12),
                _ => {}
            },
            0x13 => self.write_string(page, cx, dx, bx),
            0x4F => self.vbe(),
            0x1A => match self.al() {
                0x00 => {
                    // Display combination: VGA with analogue colour display.
                    self.set_al(0x1A);
                    self.set16(3, 0x0008);
                }
                0x01 => self.set_al(0x1A),
                _ => {}
            },
            ah => log::debug!(target: "bios", "INT 10h AH={ah:#04x} not supported"),
        }
    }

    /// INT 10h AH=13h: write string ES:BP, CX characters, at DH,DL of page BH. AL bit 0
    /// moves the cursor, bit 1 means the string alternates characters and attributes.
    fn write_string(&mut self, page: u8, cx: u16, dx: u16, bx: u16) {
        let es = self.cpu.seg[ES].selector;
        let bp = self.cpu.regs[5] as u16;
        let mode = self.al();
        let (save_r, save_c) = self.cursor(page);
        self.set_cursor(page, (dx >> 8) as u32, (dx & 0xFF) as u32);
        let step = if mode & 2 != 0 { 2 } else { 1 };
        if !self.vmode().text {
            let chars: Vec<(u8, u8)> = (0..cx)
                .map(|i| {
                    let at = bp.wrapping_add(i.wrapping_mul(step));
                    let ch = self.r8(lin(es, at));
                    let attr = if mode & 2 != 0 {
                        self.r8(lin(es, at.wrapping_add(1)))
                    } else {
                        bx as u8
                    };
                    (ch, attr)
                })
                .collect();
            self.write_string_graphics(page, &chars);
            if mode & 1 == 0 {
                self.set_cursor(page, save_r, save_c);
            }
            return;
        }
        for i in 0..cx {
            let at = bp.wrapping_add(i.wrapping_mul(step));
            let ch = self.r8(lin(es, at));
            let attr = if mode & 2 != 0 {
                self.r8(lin(es, at.wrapping_add(1)))
            } else {
                bx as u8
            };
            match ch {
                0x07 | 0x08 | b'\r' | b'\n' => self.teletype(ch, page, attr),
                _ => {
                    let (r, c) = self.cursor(page);
                    self.put_char(page, r, c, ch, Some(attr));
                    self.teletype_advance(page);
                }
            }
        }
        if mode & 1 == 0 {
            self.set_cursor(page, save_r, save_c);
        }
    }

    /// AH=13h in a graphics mode: the picture of drawing and scrolling character by
    /// character, with one scroll. Each scroll moves the whole screen up a line and
    /// clears the new one to colour 0, so S of them are one scroll by S lines; a glyph
    /// drawn inside the screen before s of the string's S scrolls ends up s - S lines
    /// higher, or scrolled off. So the cursor is walked first, the screen scrolled once,
    /// and only the glyphs still visible drawn, in string order (bit 7 XORs them in).
    /// A 65 535-character string then costs one screen of work, not 800 scrolls.
    fn write_string_graphics(&mut self, page: u8, chars: &[(u8, u8)]) {
        let (cols, rows) = (self.cols(), self.rows());
        let (mut row, mut col) = self.cursor(page);
        // (scrolls before it, row, column, character, colour) of each glyph drawn.
        let mut draws: Vec<(u64, u32, u32, u8, u8)> = Vec::new();
        let mut scrolls = 0u64;
        for &(ch, attr) in chars {
            match ch {
                0x07 => {}
                0x08 => col = col.saturating_sub(1),
                b'\r' => col = 0,
                b'\n' => row += 1,
                _ => {
                    draws.push((scrolls, row, col, ch, attr));
                    col += 1;
                    if col >= cols {
                        col = 0;
                        row += 1;
                    }
                }
            }
            if row >= rows {
                scrolls += 1;
                row = rows - 1;
            }
        }
        if scrolls > 0 {
            // Scrolling by the window's height or more clears it, like that many single
            // scrolls.
            let n = scrolls.min(rows as u64) as u32;
            self.scroll(true, n, 0, (0, 0, rows - 1, cols - 1));
        }
        // Where each glyph ends up: moved up by the scrolls after it, or gone. A glyph
        // outside the scrolled window (a start position beyond it) stays where it was.
        let place = |&(s, r, c, _, _): &(u64, u32, u32, u8, u8)| -> Option<(u32, u32)> {
            if r >= rows || c >= cols {
                return Some((r, c));
            }
            let up = scrolls - s;
            (up <= r as u64).then(|| (r - up as u32, c))
        };
        // Only the last plain glyph in a cell shows, with the XOR ones after it: walk
        // backwards marking cells a plain glyph covers.
        let xor_mode = self.r8(bda::VIDEO_MODE) != 0x13;
        let mut covered = vec![false; (rows * cols) as usize];
        let mut keep = vec![false; draws.len()];
        for (i, d) in draws.iter().enumerate().rev() {
            let Some((r, c)) = place(d) else { continue };
            if r >= rows || c >= cols {
                keep[i] = true;
                continue;
            }
            let k = (r * cols + c) as usize;
            if !covered[k] {
                keep[i] = true;
                covered[k] = !(xor_mode && d.4 & 0x80 != 0);
            }
        }
        for (d, _) in draws.iter().zip(&keep).filter(|(_, &k)| k) {
            if let Some((r, c)) = place(d) {
                self.draw_glyph(r, c, d.3, d.4);
            }
        }
        self.set_cursor(page, row, col);
    }

    /// Moves the cursor one cell on, wrapping and scrolling like teletype output.
    fn teletype_advance(&mut self, page: u8) {
        let (mut row, mut col) = self.cursor(page);
        let (cols, rows) = (self.cols(), self.rows());
        col += 1;
        if col >= cols {
            col = 0;
            row += 1;
        }
        if row >= rows {
            // Graphics modes clear the new line to colour 0, as teletype output does.
            let fill = if self.vmode().text { 0x07 } else { 0 };
            self.scroll(true, 1, fill, (0, 0, rows - 1, cols - 1));
            row = rows - 1;
        }
        self.set_cursor(page, row, col);
    }

    /// INT 10h AH=10h: attribute-controller palette and DAC colour registers.
    fn palette(&mut self, bx: u16, cx: u16, dx: u16) {
        let es = self.cpu.seg[ES].selector;
        match self.al() {
            0x00 => self.ac_write(bx as u8 & 0x0F, (bx >> 8) as u8),
            0x01 => self.ac_write(0x11, (bx >> 8) as u8),
            0x02 => {
                for i in 0..17u16 {
                    let v = self.r8(lin(es, dx.wrapping_add(i)));
                    self.ac_write(if i == 16 { 0x11 } else { i as u8 }, v);
                }
            }
            0x03 => {
                // Blink (BL=1) or bright backgrounds (BL=0): AC mode control bit 3.
                let v = self.ac_read(0x10);
                self.ac_write(0x10, (v & !0x08) | ((bx as u8 & 1) << 3));
            }
            0x07 => {
                let v = self.ac_read(bx as u8 & 0x1F);
                self.cpu.regs[3] = (self.cpu.regs[3] & !0xFF00) | (v as u32) << 8;
            }
            0x08 => {
                let v = self.ac_read(0x11);
                self.cpu.regs[3] = (self.cpu.regs[3] & !0xFF00) | (v as u32) << 8;
            }
            0x09 => {
                for i in 0..17u16 {
                    let v = self.ac_read(if i == 16 { 0x11 } else { i as u8 });
                    self.w8(lin(es, dx.wrapping_add(i)), v);
                }
            }
            0x10 => {
                self.bus.io_write(0x3C8, 1, bx as u8 as u32);
                for v in [(dx >> 8) as u8, (cx >> 8) as u8, cx as u8] {
                    self.bus.io_write(0x3C9, 1, v as u32);
                }
            }
            0x12 => {
                self.bus.io_write(0x3C8, 1, bx as u8 as u32);
                for i in 0..(cx.min(256) as u32 * 3) {
                    let v = self.r8(lin(es, dx.wrapping_add(i as u16)));
                    self.bus.io_write(0x3C9, 1, v as u32);
                }
            }
            0x15 => {
                self.bus.io_write(0x3C7, 1, bx as u8 as u32);
                let r = self.bus.io_read(0x3C9, 1) as u8;
                let g = self.bus.io_read(0x3C9, 1) as u8;
                let b = self.bus.io_read(0x3C9, 1) as u8;
                self.cpu.regs[2] = (self.cpu.regs[2] & !0xFF00) | (r as u32) << 8;
                self.set16(1, (g as u16) << 8 | b as u16);
            }
            0x17 => {
                self.bus.io_write(0x3C7, 1, bx as u8 as u32);
                for i in 0..(cx.min(256) as u32 * 3) {
                    let v = self.bus.io_read(0x3C9, 1) as u8;
                    self.w8(lin(es, dx.wrapping_add(i as u16)), v);
                }
            }
            0x1A => {
                // Colour page state: AC mode bit 7 (paging mode) and colour select.
                let mode = self.ac_read(0x10) >> 7;
                let sel = self.ac_read(0x14);
                let page = if mode != 0 {
                    sel & 0x0F
                } else {
                    (sel >> 2) & 3
                };
                self.set16(3, (page as u16) << 8 | mode as u16);
            }
            al => log::debug!(target: "bios", "INT 10h AX=10{al:02x}h not supported"),
        }
    }

    /// INT 10h AH=11h: character generator. Subfunctions 0xh load into plane 2, 1xh
    /// also recompute rows for the font height, 2xh set graphics fonts, 30h informs.
    fn fonts(&mut self, bx: u16, cx: u16, dx: u16) {
        let al = self.al();
        let es = self.cpu.seg[ES].selector;
        let bp = self.cpu.regs[5] as u16;
        let block = bx as u8 & 7;
        let rom_font = |n: u8| -> Option<(u16, u8)> {
            match n {
                1 => Some((FONT14, 14)),
                2 => Some((FONT8, 8)),
                4 => Some((FONT16, 16)),
                _ => None,
            }
        };
        match al {
            0x00 | 0x10 => {
                let h = (bx >> 8) as u8;
                if h == 0 || h > 32 {
                    return;
                }
                let n = (cx as u32).min(256);
                let glyphs: Vec<u8> = (0..n * h as u32)
                    .map(|i| self.r8(lin(es, bp.wrapping_add(i as u16))))
                    .collect();
                self.bus
                    .vga
                    .load_font(block, dx as u8, &glyphs, h, al == 0x10);
                if al == 0x10 {
                    self.font_height_changed(h);
                }
            }
            0x01 | 0x02 | 0x04 | 0x11 | 0x12 | 0x14 => {
                let Some((at, h)) = rom_font(al & 0x0F) else {
                    return;
                };
                let glyphs: Vec<u8> = (0..256 * h as u32)
                    .map(|i| self.r8(lin(0xF000, at + i as u16)))
                    .collect();
                self.bus.vga.load_font(block, 0, &glyphs, h, al & 0x10 != 0);
                if al & 0x10 != 0 {
                    self.font_height_changed(h);
                }
            }
            0x03 => {
                self.bus.io_write(0x3C4, 1, 3);
                self.bus.io_write(0x3C5, 1, bx as u8 as u32);
            }
            0x20 => {
                self.w16(0x1F * 4, bp);
                self.w16(0x1F * 4 + 2, es);
            }
            0x21..=0x24 => {
                let (seg, off, h) = match al {
                    0x21 => (es, bp, cx as u8),
                    0x22 => (0xF000, FONT14, 14),
                    0x23 => (0xF000, FONT8, 8),
                    _ => (0xF000, FONT16, 16),
                };
                self.w16(0x43 * 4, off);
                self.w16(0x43 * 4 + 2, seg);
                if h != 0 {
                    self.w8(bda::CHAR_HEIGHT, h);
                    let lines = self.vmode().height;
                    let rows = match bx as u8 {
                        1 => 14,
                        2 => 25,
                        3 => 43,
                        _ => (dx as u32).clamp(1, 255) as u8,
                    };
                    let rows = if bx as u8 == 0 {
                        rows
                    } else {
                        rows.min((lines / h as u32) as u8)
                    };
                    self.w8(bda::ROWS, rows.saturating_sub(1));
                }
            }
            0x30 => {
                let (seg, off) = match (bx >> 8) as u8 {
                    0 => (self.r16(0x1F * 4 + 2), self.r16(0x1F * 4)),
                    1 => (self.r16(0x43 * 4 + 2), self.r16(0x43 * 4)),
                    2 | 5 => (0xF000, FONT14),
                    3 => (0xF000, FONT8),
                    4 => (0xF000, FONT8 + 128 * 8),
                    _ => (0xF000, FONT16),
                };
                self.cpu.seg[ES].selector = seg;
                self.cpu.seg[ES].base = (seg as u32) << 4;
                self.cpu.regs[5] = (self.cpu.regs[5] & !0xFFFF) | off as u32;
                let h = self.r8(bda::CHAR_HEIGHT);
                self.set16(1, h as u16);
                let rows = self.r8(bda::ROWS);
                self.cpu.regs[2] = (self.cpu.regs[2] & !0xFF) | rows as u32;
            }
            _ => log::debug!(target: "bios", "INT 10h AX=11{al:02x}h not supported"),
        }
    }

    /// After a 1xh font load in a text mode: rows, page size and cursor follow the new
    /// character height (8×8 in the 400-line modes gives 80×50).
    fn font_height_changed(&mut self, h: u8) {
        let m = self.vmode();
        if !m.text {
            return;
        }
        let rows = (m.height / h as u32).clamp(1, 255);
        self.w8(bda::ROWS, (rows - 1) as u8);
        self.w8(bda::CHAR_HEIGHT, h);
        let cols = self.cols();
        self.w16(bda::PAGE_SIZE, ((cols * rows * 2 + 255) & !255) as u16);
        let shape = self.r16(bda::CURSOR_SHAPE);
        self.set_cursor_shape(shape);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn pc() -> Pc {
        let mut pc = Pc::new(Config {
            memory_mb: 2,
            no_reboot: true,
            ..Config::default()
        })
        .unwrap();
        pc.set_video_mode(3);
        pc
    }

    #[test]
    fn mode_3_teletype_lands_in_the_vga_text_planes() {
        let mut pc = pc();
        pc.print_text("Hi\r\n");
        let (cols, rows, cells) = pc.bus.vga.text_screen().expect("text mode");
        assert_eq!((cols, rows), (80, 25));
        assert_eq!(cells[0], (b'H', 0x07));
        assert_eq!(cells[1], (b'i', 0x07));
        assert_eq!(pc.cursor(0), (1, 0));
        // The CRTC cursor location follows: row 1, column 0 → offset 80.
        assert_eq!(pc.bus.vga.cursor(), Some((1, 0)));
    }

    #[test]
    fn mode_13h_pixels_and_mode_number() {
        let mut pc = pc();
        pc.set_video_mode(0x13);
        assert_eq!(pc.r8(bda::VIDEO_MODE), 0x13);
        pc.bus.vga.write_pixel(10, 20, 0x2C);
        // Mode 13h is linear: one byte per pixel at A000:(y*320+x).
        assert_eq!(pc.bus.read8(0xA0000 + 20 * 320 + 10), 0x2C);
        assert!(pc.bus.vga.text_screen().is_none());
    }

    /// INT 10h AH=13h with the string at 1000:0000, BL = `color`, at `row`,`col`.
    fn write_string(pc: &mut Pc, al: u8, color: u8, row: u8, col: u8, s: &[u8]) {
        for (i, b) in s.iter().enumerate() {
            pc.bus.write8(0x10000 + i as u32, *b);
        }
        pc.cpu.seg[ES].load_real(0x1000);
        pc.cpu.regs[5] = 0;
        pc.cpu.regs[0] = 0x1300 | al as u32;
        pc.cpu.regs[3] = color as u32;
        pc.cpu.regs[1] = s.len() as u32;
        pc.cpu.regs[2] = (row as u32) << 8 | col as u32;
        pc.int10();
    }

    fn mode_12h() -> Pc {
        let mut pc = pc();
        pc.set_video_mode(0x12);
        assert_eq!((pc.cols(), pc.rows()), (80, 30));
        pc
    }

    #[test]
    fn mode_12h_string_wraps_and_scrolls_the_screen() {
        let mut pc = mode_12h();
        pc.draw_glyph(5, 5, b'Q', 0x0F);
        // From (29,78): A and B fill the last row, the wrap scrolls once, C D E start
        // the new last row. Everything moves up a line, Q included.
        write_string(&mut pc, 1, 0x0E, 29, 78, b"ABCDE");
        assert_eq!(pc.read_glyph(4, 5), b'Q');
        assert_eq!(pc.read_glyph(5, 5), 0, "Q's old cell is clear");
        assert_eq!(pc.read_glyph(28, 78), b'A');
        assert_eq!(pc.read_glyph(28, 79), b'B');
        assert_eq!([0, 1, 2].map(|c| pc.read_glyph(29, c)), [b'C', b'D', b'E']);
        assert_eq!(pc.read_glyph(29, 3), 0);
        assert_eq!(pc.cursor(0), (29, 3));
        // The glyph in BL's colour on a colour-0 background: 'E' of the 8x16 font has
        // its top bar on scan line 2 (FEh), so pixel (2*8+1, 29*16+2) is colour 14.
        assert_eq!(pc.bus.vga.read_pixel(2 * 8 + 1, 29 * 16 + 2), 0x0E);
        assert_eq!(pc.bus.vga.read_pixel(2 * 8 + 1, 29 * 16), 0);
    }

    #[test]
    fn mode_12h_string_control_characters_and_xor() {
        let mut pc = mode_12h();
        // BS steps back over B, C replaces it; CR LF starts the next line.
        write_string(&mut pc, 1, 0x0F, 0, 0, b"AB\x08C\r\nD\x07");
        assert_eq!(pc.read_glyph(0, 0), b'A');
        assert_eq!(pc.read_glyph(0, 1), b'C');
        assert_eq!(pc.read_glyph(1, 0), b'D');
        assert_eq!(pc.cursor(0), (1, 1));
        // Colour bit 7 XORs: the same glyph twice in one cell leaves it as it was.
        write_string(&mut pc, 0, 0x8F, 5, 0, b"Z\x08Z");
        assert_eq!(pc.read_glyph(5, 0), 0);
        assert_eq!(pc.cursor(0), (1, 1), "AL bit 0 clear: the cursor stays");
    }

    #[test]
    fn mode_12h_string_longer_than_two_screens() {
        let mut pc = mode_12h();
        // 2 × 80 × 30 = 4800 x's from (0,0): the first 2400 fill the screen, each later
        // line scrolls it once (30 scrolls), and HELLO starts the last line after them.
        // Every row but the last shows x's.
        let mut s = vec![b'x'; 4800];
        s.extend_from_slice(b"HELLO");
        write_string(&mut pc, 1, 0x07, 0, 0, &s);
        assert_eq!([0, 1, 2, 3, 4].map(|c| pc.read_glyph(29, c)), *b"HELLO");
        assert_eq!(pc.read_glyph(29, 5), 0);
        for (r, c) in [(0, 0), (0, 79), (15, 40), (28, 0), (28, 79)] {
            assert_eq!(pc.read_glyph(r, c), b'x', "({r},{c})");
        }
        assert_eq!(pc.cursor(0), (29, 5));
    }

    #[test]
    fn font_8x8_gives_80x50() {
        let mut pc = pc();
        pc.cpu.regs[0] = 0x1112;
        pc.cpu.regs[3] = 0;
        pc.int10();
        assert_eq!(pc.r8(bda::ROWS), 49);
        assert_eq!(pc.r8(bda::CHAR_HEIGHT), 8);
        let (_, rows, _) = pc.bus.vga.text_screen().unwrap();
        assert_eq!(rows, 50);
    }
}
