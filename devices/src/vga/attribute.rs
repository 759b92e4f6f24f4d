//! VGA attribute controller (port 3C0h index/data through a flip-flop, 3C1h read): the
//! sixteen palette registers, mode control, colour plane enable, horizontal pel panning
//! and colour select that turn 4-bit pixel values into 8-bit DAC indexes. FreeVGA
//! "Attribute Controller Registers"; IBM VGA Technical Reference, "Attribute Controller".
//!
//! Log target: `vga`.

pub(super) const AC_MODE: usize = 0x10;
pub(super) const AC_PLANE_ENABLE: usize = 0x12;
pub(super) const AC_PEL_PANNING: usize = 0x13;
pub(super) const AC_COLOR_SELECT: usize = 0x14;
pub(super) const AC_COUNT: usize = 0x15;

/// Index register bit 5: palette address source. Clear while the CPU loads the palette,
/// during which the display shows the overscan colour (here: black).
pub(super) const AC_PAS: u8 = 0x20;

/// Mode control (10h) bits.
pub(super) const MODE_GRAPHICS: u8 = 0x01;
pub(super) const MODE_LINE_GRAPHICS: u8 = 0x04;
pub(super) const MODE_BLINK: u8 = 0x08;
pub(super) const MODE_PAN_COMPAT: u8 = 0x20;
pub(super) const MODE_P54S: u8 = 0x80;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Attribute {
    /// Index register including the palette address source bit.
    pub index: u8,
    /// True when the next 3C0h write is data.
    pub flip_flop: bool,
    pub regs: [u8; AC_COUNT],
}

impl Attribute {
    /// A 3C0h write: alternately index and data.
    pub fn write(&mut self, v: u8) {
        if self.flip_flop {
            let i = (self.index & 0x1F) as usize;
            if let Some(r) = self.regs.get_mut(i) {
                if i == AC_MODE && *r != v {
                    log::debug!(target: "vga", "attribute mode control {:#04x} -> {v:#04x}", *r);
                }
                *r = v;
            }
        } else {
            self.index = v & 0x3F;
        }
        self.flip_flop = !self.flip_flop;
    }

    pub fn read_data(&self) -> u8 {
        self.regs
            .get((self.index & 0x1F) as usize)
            .copied()
            .unwrap_or(0)
    }

    pub fn mode(&self) -> u8 {
        self.regs[AC_MODE]
    }

    pub fn graphics(&self) -> bool {
        self.mode() & MODE_GRAPHICS != 0
    }

    pub fn video_enabled(&self) -> bool {
        self.index & AC_PAS != 0
    }

    /// DAC index for a 4-bit pixel value: colour plane enable, palette lookup, then
    /// bits 4-5 from colour select when P54S is set and bits 6-7 always from colour select.
    pub fn color(&self, v: u8) -> u8 {
        let p = self.regs[((v & self.regs[AC_PLANE_ENABLE]) & 0x0F) as usize] & 0x3F;
        let cs = self.regs[AC_COLOR_SELECT];
        let low = if self.mode() & MODE_P54S != 0 {
            (p & 0x0F) | ((cs & 0x03) << 4)
        } else {
            p
        };
        low | ((cs & 0x0C) << 4)
    }

    /// The 16 DAC indexes for all 4-bit values, for a rendering pass.
    pub fn color_table(&self) -> [u8; 16] {
        core::array::from_fn(|i| self.color(i as u8))
    }

    /// Horizontal pel panning in dots: 9-dot text counts 8, 0..7 as 0, 1..8 dots.
    pub fn panning(&self, dot_width: usize) -> usize {
        let p = (self.regs[AC_PEL_PANNING] & 0x0F) as usize;
        if dot_width == 9 {
            if p >= 8 {
                0
            } else {
                p + 1
            }
        } else {
            p & 7
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flip_flop_alternates_index_and_data() {
        let mut a = Attribute::default();
        a.write(0x21); // index 1 with PAS set
        a.write(0x3F); // data
        assert_eq!(a.regs[1], 0x3F);
        assert!(a.video_enabled());
        a.write(AC_COLOR_SELECT as u8);
        a.write(0x0C);
        assert_eq!(a.regs[AC_COLOR_SELECT], 0x0C);
        assert!(!a.video_enabled());
    }

    #[test]
    fn colour_path_plane_enable_p54s_and_colour_select() {
        let mut a = Attribute::default();
        for i in 0..16 {
            a.regs[i] = 0x30 | i as u8;
        }
        a.regs[AC_PLANE_ENABLE] = 0x0F;
        assert_eq!(a.color(5), 0x35);
        // Colour select bits 2-3 become DAC index bits 6-7.
        a.regs[AC_COLOR_SELECT] = 0x0A;
        assert_eq!(a.color(5), 0xB5);
        // P54S: bits 4-5 come from colour select bits 0-1 (10b) instead of the palette.
        a.regs[AC_MODE] = MODE_P54S;
        assert_eq!(a.color(5), 0xA5);
        // Planes 1 and 3 disabled: 0111b -> 0101b.
        a.regs[AC_MODE] = 0;
        a.regs[AC_COLOR_SELECT] = 0;
        a.regs[AC_PLANE_ENABLE] = 0x05;
        assert_eq!(a.color(7), 0x35);
    }

    #[test]
    fn nine_dot_panning_counts_eight_as_zero() {
        let mut a = Attribute::default();
        a.regs[AC_PEL_PANNING] = 8;
        assert_eq!(a.panning(9), 0);
        assert_eq!(a.panning(8), 0);
        a.regs[AC_PEL_PANNING] = 3;
        assert_eq!(a.panning(9), 4);
        assert_eq!(a.panning(8), 3);
    }
}
