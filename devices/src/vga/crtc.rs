//! VGA CRT controller (index 3B4h/3D4h, data 3B5h/3D5h): display timing, start address,
//! cursor, scan-line layout and the memory address mapping of the display fetch.
//! FreeVGA "CRT Controller Registers"; IBM VGA Technical Reference, "CRT Controller
//! Registers". Field widths spill into the overflow register (07h) and max scan line (09h).
//!
//! Log target: `vga`.

pub(super) const CR_H_TOTAL: usize = 0x00;
pub(super) const CR_H_DISPLAY_END: usize = 0x01;
pub(super) const CR_V_TOTAL: usize = 0x06;
pub(super) const CR_OVERFLOW: usize = 0x07;
pub(super) const CR_PRESET_ROW_SCAN: usize = 0x08;
pub(super) const CR_MAX_SCAN: usize = 0x09;
pub(super) const CR_CURSOR_START: usize = 0x0A;
pub(super) const CR_CURSOR_END: usize = 0x0B;
pub(super) const CR_START_HI: usize = 0x0C;
pub(super) const CR_START_LO: usize = 0x0D;
pub(super) const CR_CURSOR_HI: usize = 0x0E;
pub(super) const CR_CURSOR_LO: usize = 0x0F;
pub(super) const CR_V_RETRACE_START: usize = 0x10;
pub(super) const CR_V_RETRACE_END: usize = 0x11;
pub(super) const CR_V_DISPLAY_END: usize = 0x12;
pub(super) const CR_OFFSET: usize = 0x13;
pub(super) const CR_UNDERLINE: usize = 0x14;
pub(super) const CR_MODE: usize = 0x17;
pub(super) const CR_LINE_COMPARE: usize = 0x18;
pub(super) const CRTC_COUNT: usize = 0x19;

/// Overflow (07h) bits: bit 8/9 of vertical total, display end, retrace start, line compare.
const OV_VT8: u8 = 0x01;
const OV_VDE8: u8 = 0x02;
const OV_VRS8: u8 = 0x04;
const OV_LC8: u8 = 0x10;
const OV_VT9: u8 = 0x20;
const OV_VDE9: u8 = 0x40;
const OV_VRS9: u8 = 0x80;
/// Max scan line (09h): scan doubling and line compare bit 9.
const MS_DOUBLE_SCAN: u8 = 0x80;
const MS_LC9: u8 = 0x40;
/// Cursor start (0Ah): cursor off.
pub(super) const CURSOR_DISABLE: u8 = 0x20;
/// Vertical retrace end (11h): registers 00h-07h write-protected (except overflow bit 4).
const VRE_PROTECT: u8 = 0x80;
/// Underline location (14h): double-word addressing and count by 4.
const UL_DWORD: u8 = 0x40;
const UL_COUNT_BY_4: u8 = 0x20;
/// CRTC mode control (17h).
const MC_MAP13: u8 = 0x01;
const MC_MAP14: u8 = 0x02;
const MC_COUNT_BY_2: u8 = 0x08;
const MC_ADDRESS_WRAP: u8 = 0x20;
const MC_BYTE_MODE: u8 = 0x40;

/// Whether CRTC register `i` shapes the display (timing, layout, addressing) rather than
/// moving the picture or cursor (start address, cursor, preset row scan, line compare),
/// which guests rewrite every frame or keystroke.
fn is_geometry(i: usize) -> bool {
    matches!(i, 0x00..=0x07 | CR_MAX_SCAN | 0x10..=CR_UNDERLINE | 0x15..=CR_MODE)
}

/// CRTC register names for logs.
fn crtc_name(i: usize) -> &'static str {
    const NAMES: [&str; CRTC_COUNT] = [
        "horizontal total",
        "horizontal display end",
        "start horizontal blanking",
        "end horizontal blanking",
        "start horizontal retrace",
        "end horizontal retrace",
        "vertical total",
        "overflow",
        "preset row scan",
        "maximum scan line",
        "cursor start",
        "cursor end",
        "start address high",
        "start address low",
        "cursor location high",
        "cursor location low",
        "vertical retrace start",
        "vertical retrace end",
        "vertical display end",
        "offset",
        "underline location",
        "start vertical blanking",
        "end vertical blanking",
        "mode control",
        "line compare",
    ];
    NAMES.get(i).copied().unwrap_or("unknown")
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Crtc {
    pub index: u8,
    pub regs: [u8; CRTC_COUNT],
}

impl Crtc {
    pub fn write_index(&mut self, v: u8) {
        self.index = v & 0x3F;
    }

    pub fn read_data(&self) -> u8 {
        self.regs.get(self.index as usize).copied().unwrap_or(0xFF)
    }

    pub fn write_data(&mut self, v: u8) {
        let i = self.index as usize;
        if i >= CRTC_COUNT {
            return;
        }
        if self.regs[CR_V_RETRACE_END] & VRE_PROTECT != 0 && i <= CR_OVERFLOW {
            // The protect bit exists so old EGA software cannot reprogram VGA timing; the
            // line compare bit 8 in the overflow register stays writable.
            log::debug!(
                target: "vga",
                "crtc {} {v:#04x} write-protected{}",
                crtc_name(i),
                if i == CR_OVERFLOW { " (line compare bit 8 taken)" } else { "" }
            );
            if i == CR_OVERFLOW {
                self.regs[i] = (self.regs[i] & !OV_LC8) | (v & OV_LC8);
            }
            return;
        }
        if self.regs[i] != v && is_geometry(i) {
            log::debug!(
                target: "vga",
                "crtc {} {:#04x} -> {v:#04x}",
                crtc_name(i),
                self.regs[i]
            );
        }
        self.regs[i] = v;
    }

    fn r(&self, i: usize) -> usize {
        self.regs[i] as usize
    }

    fn ov(&self, bit: u8, shift: u32) -> usize {
        ((self.regs[CR_OVERFLOW] & bit != 0) as usize) << shift
    }

    pub fn h_total_chars(&self) -> usize {
        self.r(CR_H_TOTAL) + 5
    }

    pub fn h_display_chars(&self) -> usize {
        self.r(CR_H_DISPLAY_END) + 1
    }

    pub fn v_total_lines(&self) -> usize {
        (self.r(CR_V_TOTAL) | self.ov(OV_VT8, 8) | self.ov(OV_VT9, 9)) + 2
    }

    pub fn v_display_lines(&self) -> usize {
        (self.r(CR_V_DISPLAY_END) | self.ov(OV_VDE8, 8) | self.ov(OV_VDE9, 9)) + 1
    }

    pub fn set_v_display_lines(&mut self, lines: usize) {
        let v = lines.clamp(1, 1024) - 1;
        self.regs[CR_V_DISPLAY_END] = v as u8;
        let ov = self.regs[CR_OVERFLOW] & !(OV_VDE8 | OV_VDE9);
        let hi =
            if v & 0x100 != 0 { OV_VDE8 } else { 0 } | if v & 0x200 != 0 { OV_VDE9 } else { 0 };
        self.regs[CR_OVERFLOW] = ov | hi;
    }

    pub fn v_retrace_start(&self) -> usize {
        self.r(CR_V_RETRACE_START) | self.ov(OV_VRS8, 8) | self.ov(OV_VRS9, 9)
    }

    /// Vertical retrace length in lines: the end register holds only the low four bits
    /// of the line at which retrace ends, compared against the line counter.
    pub fn v_retrace_len(&self) -> usize {
        let end = self.r(CR_V_RETRACE_END) & 0x0F;
        match end.wrapping_sub(self.v_retrace_start()) & 0x0F {
            0 => 16,
            n => n,
        }
    }

    pub fn line_compare(&self) -> usize {
        self.r(CR_LINE_COMPARE)
            | self.ov(OV_LC8, 8)
            | (((self.regs[CR_MAX_SCAN] & MS_LC9 != 0) as usize) << 9)
    }

    pub fn max_scan(&self) -> usize {
        self.r(CR_MAX_SCAN) & 0x1F
    }

    pub fn set_max_scan(&mut self, v: u8) {
        self.regs[CR_MAX_SCAN] = (self.regs[CR_MAX_SCAN] & 0xE0) | (v & 0x1F);
    }

    pub fn double_scan(&self) -> bool {
        self.regs[CR_MAX_SCAN] & MS_DOUBLE_SCAN != 0
    }

    pub fn preset_row_scan(&self) -> usize {
        self.r(CR_PRESET_ROW_SCAN) & 0x1F
    }

    pub fn start_address(&self) -> usize {
        (self.r(CR_START_HI) << 8) | self.r(CR_START_LO)
    }

    pub fn cursor_location(&self) -> usize {
        (self.r(CR_CURSOR_HI) << 8) | self.r(CR_CURSOR_LO)
    }

    pub fn cursor_enabled(&self) -> bool {
        self.regs[CR_CURSOR_START] & CURSOR_DISABLE == 0
    }

    /// First and last scan line of the cursor within a character row.
    pub fn cursor_lines(&self) -> (usize, usize) {
        (self.r(CR_CURSOR_START) & 0x1F, self.r(CR_CURSOR_END) & 0x1F)
    }

    /// Cursor skew (0Bh bits 5-6) in character clocks.
    pub fn cursor_skew(&self) -> usize {
        (self.r(CR_CURSOR_END) >> 5) & 3
    }

    pub fn underline_row(&self) -> usize {
        self.r(CR_UNDERLINE) & 0x1F
    }

    /// Address counter units from one character row to the next: the offset register
    /// counts in words (FreeVGA "Offset Register"), i.e. two counter steps.
    pub fn row_stride(&self) -> usize {
        self.r(CR_OFFSET) * 2
    }

    /// Character clocks per address counter step (count by 2 / count by 4).
    pub fn clock_shift(&self) -> u32 {
        if self.regs[CR_UNDERLINE] & UL_COUNT_BY_4 != 0 {
            2
        } else if self.regs[CR_MODE] & MC_COUNT_BY_2 != 0 {
            1
        } else {
            0
        }
    }

    /// Whether the row scan counter replaces address bit 13 or 14 (CGA/Hercules
    /// compatible addressing), making each scan line of a character row distinct.
    pub fn row_scan_addressing(&self) -> bool {
        self.regs[CR_MODE] & (MC_MAP13 | MC_MAP14) != (MC_MAP13 | MC_MAP14)
    }

    /// The plane offset the display fetches for address counter value `ma` at scan line
    /// `row_scan` of a character row: double-word mode rotates the counter left by two,
    /// word mode by one (bit 13 or 15 into bit 0), and CGA/Hercules compatibility replaces
    /// address bits 13/14 with row scan bits 0/1 (FreeVGA "CRTC Mode Control Register").
    pub fn map_address(&self, ma: usize, row_scan: usize) -> usize {
        let ma = ma & 0xFFFF;
        let mode = self.regs[CR_MODE];
        let mut a = if self.regs[CR_UNDERLINE] & UL_DWORD != 0 {
            (ma << 2) | (ma >> 14)
        } else if mode & MC_BYTE_MODE != 0 {
            ma
        } else {
            let wrap_bit = if mode & MC_ADDRESS_WRAP != 0 { 15 } else { 13 };
            (ma << 1) | ((ma >> wrap_bit) & 1)
        };
        if mode & MC_MAP13 == 0 {
            a = (a & !(1 << 13)) | ((row_scan & 1) << 13);
        }
        if mode & MC_MAP14 == 0 {
            a = (a & !(1 << 14)) | (((row_scan >> 1) & 1) << 14);
        }
        a & 0xFFFF
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IBM VGA BIOS CRTC table for mode 03h.
    const MODE3: [u8; CRTC_COUNT] = [
        0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00,
        0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
    ];

    #[test]
    fn mode3_geometry_from_overflow_bits() {
        let c = Crtc {
            index: 0,
            regs: MODE3,
        };
        assert_eq!(c.h_total_chars(), 100);
        assert_eq!(c.h_display_chars(), 80);
        // 0xBF + bit 8 from overflow bit 0 = 447, +2 = 449 lines per frame.
        assert_eq!(c.v_total_lines(), 449);
        assert_eq!(c.v_display_lines(), 400);
        assert_eq!(c.v_retrace_start(), 0x19C);
        assert_eq!(c.v_retrace_len(), 2);
        assert_eq!(c.line_compare(), 0x3FF);
        assert_eq!(c.max_scan(), 15);
        assert_eq!(c.row_stride(), 80);
    }

    #[test]
    fn word_mode_cga_interleave_and_dword_mapping() {
        let mut c = Crtc::default();
        // Mode 04h: 17h = A2 -> word mode, wrap at bit 15, bit 13 <- row scan bit 0.
        c.regs[CR_MODE] = 0xA2;
        assert_eq!(c.map_address(40, 0), 80);
        assert_eq!(c.map_address(40, 1), 0x2000 + 80);
        // Mode 13h: 14h = 40 -> double-word, counter 3 fetches offset 12.
        c.regs[CR_MODE] = 0xA3;
        c.regs[CR_UNDERLINE] = 0x40;
        assert_eq!(c.map_address(3, 0), 12);
        assert_eq!(c.map_address(0xC001, 0), 0x0007);
        // Byte mode (mode 12h, 17h = E3).
        c.regs[CR_UNDERLINE] = 0;
        c.regs[CR_MODE] = 0xE3;
        assert_eq!(c.map_address(1234, 5), 1234);
    }

    #[test]
    fn write_protect_guards_timing_but_not_line_compare_bit8() {
        let mut c = Crtc::default();
        c.regs[CR_V_RETRACE_END] = 0x80;
        c.write_index(0);
        c.write_data(0x12);
        assert_eq!(c.regs[0], 0);
        c.write_index(7);
        c.write_data(0xFF);
        assert_eq!(c.regs[7], 0x10);
        c.write_index(0x0E);
        c.write_data(0x12);
        assert_eq!(c.regs[0x0E], 0x12);
    }
}
