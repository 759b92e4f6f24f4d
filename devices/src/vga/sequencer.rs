//! VGA sequencer (index 3C4h, data 3C5h): reset, clocking mode, map mask, character map
//! select and memory mode. FreeVGA "Sequencer Registers"; IBM VGA Technical Reference,
//! "Sequencer Registers".
//!
//! Log target: `vga`.

pub(super) const SEQ_RESET: usize = 0x00;
pub(super) const SEQ_CLOCKING: usize = 0x01;
pub(super) const SEQ_MAP_MASK: usize = 0x02;
pub(super) const SEQ_CHAR_MAP: usize = 0x03;
pub(super) const SEQ_MEMORY_MODE: usize = 0x04;
const SEQ_COUNT: usize = 5;

/// Clocking mode: 8-dot characters (clear = 9 dots).
pub(super) const CLK_8DOT: u8 = 0x01;
/// Clocking mode: dot clock divided by two (40-column text, 320-pixel modes).
pub(super) const CLK_HALF_DOT: u8 = 0x08;
/// Clocking mode: screen off; memory stays CPU-accessible, the display shows black.
pub(super) const CLK_SCREEN_OFF: u8 = 0x20;

/// Memory mode: Odd/Even Host Memory Write Addressing *Disable* (set = sequential).
pub(super) const MEM_ODD_EVEN_OFF: u8 = 0x04;
/// Memory mode: chain 4, the two low address bits select the plane.
pub(super) const MEM_CHAIN4: u8 = 0x08;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Sequencer {
    pub index: u8,
    pub regs: [u8; SEQ_COUNT],
}

impl Sequencer {
    pub fn read_index(&self) -> u8 {
        self.index
    }

    pub fn write_index(&mut self, v: u8) {
        // Only bits 0-2 are implemented on the IBM VGA.
        self.index = v & 0x07;
    }

    pub fn read_data(&self) -> u8 {
        self.regs.get(self.index as usize).copied().unwrap_or(0xFF)
    }

    pub fn write_data(&mut self, v: u8) {
        let i = self.index as usize;
        if let Some(r) = self.regs.get_mut(i) {
            // The map mask changes with every planar drawing operation: trace only.
            if *r != v && i != SEQ_MAP_MASK {
                log::debug!(
                    target: "vga",
                    "sequencer {} {:#04x} -> {v:#04x}",
                    ["reset", "clocking mode", "map mask", "character map select", "memory mode"]
                        [i],
                    *r
                );
            }
            *r = v;
        }
    }

    pub fn map_mask(&self) -> u8 {
        self.regs[SEQ_MAP_MASK] & 0x0F
    }

    pub fn chain4(&self) -> bool {
        self.regs[SEQ_MEMORY_MODE] & MEM_CHAIN4 != 0
    }

    pub fn odd_even_write(&self) -> bool {
        self.regs[SEQ_MEMORY_MODE] & MEM_ODD_EVEN_OFF == 0
    }

    /// Dots per character clock: 8 or 9.
    pub fn dot_width(&self) -> usize {
        if self.regs[SEQ_CLOCKING] & CLK_8DOT != 0 {
            8
        } else {
            9
        }
    }

    pub fn half_dot_clock(&self) -> bool {
        self.regs[SEQ_CLOCKING] & CLK_HALF_DOT != 0
    }

    pub fn screen_off(&self) -> bool {
        self.regs[SEQ_CLOCKING] & CLK_SCREEN_OFF != 0
    }

    /// Plane-2 offsets of character maps A (attribute bit 3 set) and B (clear).
    /// Map select bits are scattered: A = bits 5,3,2 and B = bits 4,1,0, the high bit of
    /// each added by the VGA over the EGA's four maps (FreeVGA "Character Map Select").
    pub fn char_map_offsets(&self) -> (usize, usize) {
        let r = self.regs[SEQ_CHAR_MAP];
        let a = ((r >> 2) & 3) | ((r >> 3) & 4);
        let b = (r & 3) | ((r >> 2) & 4);
        (font_block_offset(a), font_block_offset(b))
    }
}

/// Plane-2 offset of character generator block `n` (0-7). Blocks 0-3 sit at 16 KB steps
/// and blocks 4-7 in the 8 KB gaps between them, because the EGA had four 16 KB maps.
pub(super) fn font_block_offset(n: u8) -> usize {
    let n = (n & 7) as usize;
    (n & 3) * 0x4000 + (n >> 2) * 0x2000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_map_select_decodes_scattered_bits() {
        let mut s = Sequencer::default();
        // 0x00: both maps are block 0.
        assert_eq!(s.char_map_offsets(), (0, 0));
        // A = 0b101 (bit 5 + bit 2 -> 0x24), B = 0b110 (bit 4 + bit 1 -> 0x12).
        s.regs[SEQ_CHAR_MAP] = 0x24 | 0x12;
        assert_eq!(s.char_map_offsets(), (0x4000 + 0x2000, 0x8000 + 0x2000));
    }

    #[test]
    fn index_wraps_to_three_bits_and_unknown_reads_ff() {
        let mut s = Sequencer::default();
        s.write_index(0x0A);
        assert_eq!(s.read_index(), 2);
        s.write_data(0x0F);
        assert_eq!(s.map_mask(), 0x0F);
        s.write_index(7);
        s.write_data(0x55);
        assert_eq!(s.read_data(), 0xFF);
    }
}
