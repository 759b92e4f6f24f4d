//! VGA CPU memory window: decodes A0000h-BFFFFh through misc output RAM enable and the
//! graphics controller memory map, then addresses the planes in chain-4, odd/even or
//! planar fashion (FreeVGA "VGA Memory Organization", "Sequencer Memory Mode Register").
//!
//! Plane offsets keep the CPU address with the plane-select bits cleared (chain-4 byte A
//! sits at offset A & !3 of plane A & 3, odd/even byte A at offset A & !1), as on the IBM
//! VGA; the CRTC's double-word/word address rotation makes the display fetch match, and
//! mode 13h therefore uses only every fourth byte of each plane.
//!
//! Log target: `vga`.

use super::graphics::{lanes, splat};
use super::{Vga, MISC_RAM_ENABLE, PLANE_SIZE};

/// Map-mask planes written by an odd/even write to an even / odd address.
const EVEN_PLANES: u8 = 0b0101;
const ODD_PLANES: u8 = 0b1010;

impl Vga {
    /// Offset into the selected window, or None when the address is not decoded.
    fn window_offset(&self, addr: u32) -> Option<usize> {
        if self.misc & MISC_RAM_ENABLE == 0 {
            return None;
        }
        let (base, size) = self.gc.window();
        let off = addr.wrapping_sub(base);
        (off < size).then_some(off as usize)
    }

    /// A CPU read at physical address `addr`; unmapped addresses read FFh. Every read
    /// loads the four latches.
    pub fn mem_read(&mut self, addr: u32) -> u8 {
        if self.vbe_linear() {
            return self
                .vbe_window(addr)
                .map_or(0xFF, |o| self.vram_read(o as u32));
        }
        let Some(off) = self.window_offset(addr) else {
            return 0xFF;
        };
        if self.seq.chain4() {
            self.latch = self.planes[(off & !3) % PLANE_SIZE];
            return (self.latch >> (8 * (off & 3))) as u8;
        }
        if self.gc.odd_even_read() {
            self.latch = self.planes[(off & !1) % PLANE_SIZE];
            let plane = (self.gc.read_plane() & 2) | (off & 1);
            return (self.latch >> (8 * plane)) as u8;
        }
        self.latch = self.planes[off % PLANE_SIZE];
        if self.gc.read_compare() {
            self.gc.color_compare(self.latch)
        } else {
            (self.latch >> (8 * self.gc.read_plane())) as u8
        }
    }

    /// What a CPU read at `addr` would return, without loading the latches (for a
    /// debugger looking at memory).
    pub fn mem_peek(&self, addr: u32) -> u8 {
        if self.vbe_linear() {
            return self
                .vbe_window(addr)
                .map_or(0xFF, |o| self.vram_read(o as u32));
        }
        let Some(off) = self.window_offset(addr) else {
            return 0xFF;
        };
        if self.seq.chain4() {
            return (self.planes[(off & !3) % PLANE_SIZE] >> (8 * (off & 3))) as u8;
        }
        if self.gc.odd_even_read() {
            let plane = (self.gc.read_plane() & 2) | (off & 1);
            return (self.planes[(off & !1) % PLANE_SIZE] >> (8 * plane)) as u8;
        }
        let latch = self.planes[off % PLANE_SIZE];
        if self.gc.read_compare() {
            self.gc.color_compare(latch)
        } else {
            (latch >> (8 * self.gc.read_plane())) as u8
        }
    }

    /// A CPU write at physical address `addr`; unmapped addresses are ignored.
    pub fn mem_write(&mut self, addr: u32, v: u8) {
        if self.vbe_linear() {
            if let Some(o) = self.vbe_window(addr) {
                self.vram_write(o as u32, v);
            }
            return;
        }
        let Some(off) = self.window_offset(addr) else {
            return;
        };
        let (offset, planes) = if self.seq.chain4() {
            ((off & !3) % PLANE_SIZE, 1u8 << (off & 3))
        } else if self.seq.odd_even_write() {
            let planes = if off & 1 != 0 {
                ODD_PLANES
            } else {
                EVEN_PLANES
            };
            ((off & !1) % PLANE_SIZE, planes)
        } else {
            (off % PLANE_SIZE, 0x0F)
        };
        let planes = planes & self.seq.map_mask();
        if planes == 0 {
            return;
        }
        let data = if self.gc.plain_write() {
            splat(v)
        } else {
            self.gc.write_data_path(v, self.latch)
        };
        let mask = lanes(planes);
        let old = self.planes[offset];
        let new = (old & !mask) | (data & mask);
        if new != old {
            self.planes[offset] = new;
            self.version = self.version.wrapping_add(1);
        }
    }

    pub(super) fn plane_byte(&self, plane: usize, offset: usize) -> u8 {
        (self.planes[offset % PLANE_SIZE] >> (8 * (plane & 3))) as u8
    }

    pub(super) fn set_plane_byte(&mut self, plane: usize, offset: usize, v: u8) {
        let shift = 8 * (plane & 3);
        let p = &mut self.planes[offset % PLANE_SIZE];
        *p = (*p & !(0xFF << shift)) | ((v as u32) << shift);
        self.version = self.version.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::super::graphics::*;
    use super::super::sequencer::*;
    use super::*;

    fn gc(v: &mut Vga, i: usize, x: u8) {
        v.port_write(0x3CE, i as u8);
        v.port_write(0x3CF, x);
    }

    fn seq(v: &mut Vga, i: usize, x: u8) {
        v.port_write(0x3C4, i as u8);
        v.port_write(0x3C5, x);
    }

    #[test]
    fn text_mode_odd_even_puts_char_in_plane0_attr_in_plane1() {
        let mut v = Vga::new();
        v.mem_write(0xB8000 + 160, b'A');
        v.mem_write(0xB8000 + 161, 0x1E);
        assert_eq!(v.plane_byte(0, 160), b'A');
        assert_eq!(v.plane_byte(1, 160), 0x1E);
        // Map mask 03h protects the font in plane 2 and plane 3.
        assert_eq!(v.plane_byte(2, 160), v.plane_byte(2, 160 + 2));
        assert_eq!(v.mem_read(0xB8000 + 160), b'A');
        assert_eq!(v.mem_read(0xB8000 + 161), 0x1E);
        // Mode 03h maps B8000h-BFFFFh only: A0000h and B0000h are not decoded.
        assert_eq!(v.mem_read(0xA0000), 0xFF);
        assert_eq!(v.mem_read(0xB0000), 0xFF);
        v.mem_write(0xB0000, 1);
        assert_eq!(v.mem_read(0xB8000), 0x20);
    }

    #[test]
    fn chain4_low_address_bits_select_the_plane() {
        let mut v = Vga::new();
        assert!(v.set_mode(0x13, true));
        for i in 0..8u32 {
            v.mem_write(0xA0000 + 0x100 + i, 0x10 + i as u8);
        }
        // Byte A lands at offset A & !3 of plane A & 3.
        assert_eq!(v.plane_byte(0, 0x100), 0x10);
        assert_eq!(v.plane_byte(3, 0x100), 0x13);
        assert_eq!(v.plane_byte(1, 0x104), 0x15);
        assert_eq!(v.planes[0x100], 0x1312_1110);
        assert_eq!(v.mem_read(0xA0000 + 0x106), 0x16);
    }

    #[test]
    fn planar_write_modes_via_ports() {
        let mut v = Vga::new();
        assert!(v.set_mode(0x12, true));
        // Write mode 2, bit mask 0x0F: colour 9 (planes 0 and 3) into the low nibble.
        gc(&mut v, GC_MODE, 0x02);
        gc(&mut v, GC_BIT_MASK, 0x0F);
        v.mem_read(0xA0000); // load latches (all zero)
        v.mem_write(0xA0000, 0x09);
        assert_eq!(v.planes[0], 0x0F00_000F);
        // Write mode 1 copies the latches of offset 0 to offset 1.
        gc(&mut v, GC_MODE, 0x01);
        v.mem_read(0xA0000);
        v.mem_write(0xA0001, 0xFF);
        assert_eq!(v.planes[1], 0x0F00_000F);
        // Read mode 1 compares against colour 9 with all planes cared about.
        gc(&mut v, GC_MODE, 0x08);
        gc(&mut v, GC_COLOR_COMPARE, 0x09);
        gc(&mut v, GC_COLOR_DONT_CARE, 0x0F);
        assert_eq!(v.mem_read(0xA0001), 0x0F);
        // Read mode 0, read map 3.
        gc(&mut v, GC_MODE, 0x00);
        gc(&mut v, GC_READ_MAP, 3);
        assert_eq!(v.mem_read(0xA0000), 0x0F);
        // Map mask 0100b: a plain write only reaches plane 2.
        gc(&mut v, GC_BIT_MASK, 0xFF);
        seq(&mut v, SEQ_MAP_MASK, 0x04);
        v.mem_write(0xA0002, 0xAB);
        assert_eq!(v.planes[2], 0x00AB_0000);
    }

    #[test]
    fn ram_disable_unmaps_the_window() {
        let mut v = Vga::new();
        v.port_write(0x3C2, 0x65);
        assert_eq!(v.mem_read(0xB8000), 0xFF);
        v.mem_write(0xB8000, 0x41);
        v.port_write(0x3C2, 0x67);
        assert_eq!(v.mem_read(0xB8000), 0x20);
    }
}
