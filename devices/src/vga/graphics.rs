//! VGA graphics controller (index 3CEh, data 3CFh): the data path between the CPU and the
//! four planes — set/reset, data rotate and logical function, write modes 0-3, read modes
//! 0/1 (colour compare), bit mask, and the memory map select. FreeVGA "Graphics Registers"
//! and "VGA Memory Write/Read Operations"; IBM VGA Technical Reference, "Graphics
//! Controller Registers".
//!
//! Plane data travels as a `u32` with plane p in byte p, so the latches and every
//! per-plane operation work on all four planes at once.
//!
//! Log target: `vga`.

pub(super) const GC_SET_RESET: usize = 0x00;
pub(super) const GC_ENABLE_SET_RESET: usize = 0x01;
pub(super) const GC_COLOR_COMPARE: usize = 0x02;
pub(super) const GC_DATA_ROTATE: usize = 0x03;
pub(super) const GC_READ_MAP: usize = 0x04;
pub(super) const GC_MODE: usize = 0x05;
pub(super) const GC_MISC: usize = 0x06;
pub(super) const GC_COLOR_DONT_CARE: usize = 0x07;
pub(super) const GC_BIT_MASK: usize = 0x08;
const GC_COUNT: usize = 9;

/// Mode register (05h) fields.
const MODE_WRITE_MASK: u8 = 0x03;
const MODE_READ_COMPARE: u8 = 0x08;
pub(super) const MODE_HOST_ODD_EVEN: u8 = 0x10;
pub(super) const MODE_SHIFT_INTERLEAVE: u8 = 0x20;
pub(super) const MODE_SHIFT_256: u8 = 0x40;
/// Miscellaneous register (06h): memory map select field. Bit 0 (alphanumeric disable)
/// and bit 1 (chain odd/even) are implied by the sequencer and GC mode settings here.
const MISC_MAP_SHIFT: u8 = 2;

/// Byte `b` in every plane lane.
pub(super) fn splat(b: u8) -> u32 {
    b as u32 * 0x0101_0101
}

/// 0xFF in the lanes of the planes whose bit is set in `mask` (bits 0-3).
pub(super) fn lanes(mask: u8) -> u32 {
    let mut r = 0;
    for p in 0..4 {
        if mask & (1 << p) != 0 {
            r |= 0xFF << (8 * p);
        }
    }
    r
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Graphics {
    pub index: u8,
    pub regs: [u8; GC_COUNT],
}

impl Graphics {
    pub fn write_index(&mut self, v: u8) {
        self.index = v & 0x0F;
    }

    pub fn read_data(&self) -> u8 {
        self.regs.get(self.index as usize).copied().unwrap_or(0xFF)
    }

    pub fn write_data(&mut self, v: u8) {
        let i = self.index as usize;
        if let Some(r) = self.regs.get_mut(i) {
            // The rest (set/reset, rotate, read map, bit mask...) are drawing state.
            if *r != v && (i == GC_MODE || i == GC_MISC) {
                log::debug!(
                    target: "vga",
                    "graphics {} {:#04x} -> {v:#04x}",
                    if i == GC_MODE { "mode" } else { "misc" },
                    *r
                );
            }
            *r = v;
        }
    }

    pub fn write_mode(&self) -> u8 {
        self.regs[GC_MODE] & MODE_WRITE_MASK
    }

    pub fn read_plane(&self) -> usize {
        (self.regs[GC_READ_MAP] & 3) as usize
    }

    pub fn odd_even_read(&self) -> bool {
        self.regs[GC_MODE] & MODE_HOST_ODD_EVEN != 0
    }

    /// The CPU window: (base, size) from memory map select, GC 06h bits 2-3.
    pub fn window(&self) -> (u32, u32) {
        match (self.regs[GC_MISC] >> MISC_MAP_SHIFT) & 3 {
            0 => (0xA0000, 0x20000),
            1 => (0xA0000, 0x10000),
            2 => (0xB0000, 0x8000),
            _ => (0xB8000, 0x8000),
        }
    }

    /// True when a CPU write stores `v` unchanged into the enabled planes: write mode 0
    /// with no set/reset, rotation, logical function or bit mask — the common case of
    /// text and mode 13h.
    pub fn plain_write(&self) -> bool {
        self.regs[GC_MODE] & MODE_WRITE_MASK == 0
            && self.regs[GC_ENABLE_SET_RESET] & 0x0F == 0
            && self.regs[GC_DATA_ROTATE] == 0
            && self.regs[GC_BIT_MASK] == 0xFF
    }

    fn rotate(&self, v: u8) -> u8 {
        v.rotate_right((self.regs[GC_DATA_ROTATE] & 7) as u32)
    }

    /// The logical function (03h bits 3-4) combining data with the latches.
    fn alu(&self, data: u32, latch: u32) -> u32 {
        match (self.regs[GC_DATA_ROTATE] >> 3) & 3 {
            0 => data,
            1 => data & latch,
            2 => data | latch,
            _ => data ^ latch,
        }
    }

    /// The four plane bytes a CPU write of `v` produces, before the map mask.
    pub fn write_data_path(&self, v: u8, latch: u32) -> u32 {
        let set_reset = lanes(self.regs[GC_SET_RESET]);
        let mut bit_mask = splat(self.regs[GC_BIT_MASK]);
        let data = match self.write_mode() {
            0 => {
                let esr = lanes(self.regs[GC_ENABLE_SET_RESET]);
                let d = (splat(self.rotate(v)) & !esr) | (set_reset & esr);
                self.alu(d, latch)
            }
            // Write mode 1 copies the latches; rotation, function and bit mask do not apply.
            1 => return latch,
            // Write mode 2: bit p of the CPU byte fills plane p; no rotation.
            2 => self.alu(lanes(v), latch),
            // Write mode 3: the rotated CPU byte ANDed with the bit mask becomes the bit
            // mask, and set/reset supplies the data.
            _ => {
                bit_mask = splat(self.rotate(v) & self.regs[GC_BIT_MASK]);
                self.alu(set_reset, latch)
            }
        };
        (data & bit_mask) | (latch & !bit_mask)
    }

    /// Read mode 1: bit i set where every plane enabled in colour don't care matches the
    /// colour compare value at bit i.
    pub fn color_compare(&self, latch: u32) -> u8 {
        let diff =
            (latch ^ lanes(self.regs[GC_COLOR_COMPARE])) & lanes(self.regs[GC_COLOR_DONT_CARE]);
        let any = diff | (diff >> 8) | (diff >> 16) | (diff >> 24);
        !(any as u8)
    }

    pub fn read_compare(&self) -> bool {
        self.regs[GC_MODE] & MODE_READ_COMPARE != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gc(regs: &[(usize, u8)]) -> Graphics {
        let mut g = Graphics::default();
        g.regs[GC_BIT_MASK] = 0xFF;
        for &(i, v) in regs {
            g.regs[i] = v;
        }
        g
    }

    #[test]
    fn write_mode0_set_reset_with_bit_mask() {
        // Set/reset = 0101b enabled for planes 0 and 1 only; CPU byte 0x3C goes to planes
        // 2 and 3; bit mask 0xF0 keeps the low nibble from the latches (all 0x11).
        let g = gc(&[
            (GC_SET_RESET, 0x05),
            (GC_ENABLE_SET_RESET, 0x03),
            (GC_BIT_MASK, 0xF0),
        ]);
        let out = g.write_data_path(0x3C, splat(0x11));
        // plane 0: sr=1 -> FF; masked: F0 | 01 = F1. plane 1: sr=0 -> 00 | 01 = 01.
        // planes 2, 3: 3C -> 30 | 01 = 31.
        assert_eq!(out, 0x3131_01F1);
    }

    #[test]
    fn write_mode0_rotate_and_functions() {
        // Rotate right by 4 and XOR with latches.
        let g = gc(&[(GC_DATA_ROTATE, 0x18 | 4)]);
        assert_eq!(g.write_data_path(0x12, splat(0xFF)), splat(0x21 ^ 0xFF));
        let and = gc(&[(GC_DATA_ROTATE, 0x08)]);
        assert_eq!(and.write_data_path(0x0F, 0x3C3C_3C3C), splat(0x0C));
        let or = gc(&[(GC_DATA_ROTATE, 0x10)]);
        assert_eq!(or.write_data_path(0x0F, 0x3C3C_3C3C), splat(0x3F));
    }

    #[test]
    fn write_mode1_copies_latches() {
        let g = gc(&[(GC_MODE, 1), (GC_BIT_MASK, 0x0F)]);
        assert_eq!(g.write_data_path(0xAA, 0x1234_5678), 0x1234_5678);
    }

    #[test]
    fn write_mode2_colour_expansion() {
        // Colour 0110b with bit mask 0x81: planes 1 and 2 get bits 7 and 0 set, planes 0
        // and 3 get them cleared; other bits from the latches (0x00).
        let g = gc(&[(GC_MODE, 2), (GC_BIT_MASK, 0x81)]);
        assert_eq!(g.write_data_path(0x06, 0), 0x0081_8100);
    }

    #[test]
    fn write_mode3_rotated_data_masks_set_reset() {
        // Set/reset colour 1001b, CPU byte 0xF0 with bit mask 0x3C -> effective mask 0x30.
        let g = gc(&[(GC_MODE, 3), (GC_SET_RESET, 0x09), (GC_BIT_MASK, 0x3C)]);
        let out = g.write_data_path(0xF0, splat(0x0F));
        assert_eq!(out, 0x3F0F_0F3F);
    }

    #[test]
    fn read_mode1_colour_compare_and_dont_care() {
        // Planes: p0 = 0xF0, p1 = 0xCC, p2 = 0xAA, p3 = 0x00.
        let latch = 0x00AA_CCF0;
        let g = gc(&[(GC_COLOR_COMPARE, 0x03), (GC_COLOR_DONT_CARE, 0x0F)]);
        // Colour 0011b needs p0=1, p1=1, p2=0, p3=0: bits where F0&CC&!AA = 0xC0&0x55 = 0x40.
        assert_eq!(g.color_compare(latch), 0x40);
        // Ignoring planes 2 and 3: F0 & CC = 0xC0.
        let g = gc(&[(GC_COLOR_COMPARE, 0x03), (GC_COLOR_DONT_CARE, 0x03)]);
        assert_eq!(g.color_compare(latch), 0xC0);
        // Nothing cared about: every bit matches.
        let g = gc(&[(GC_COLOR_COMPARE, 0x0F), (GC_COLOR_DONT_CARE, 0)]);
        assert_eq!(g.color_compare(latch), 0xFF);
    }
}
