//! VGA DAC (IBM/Inmos G171 "RAMDAC"): PEL mask 3C6h, read index 3C7h (read: DAC state),
//! write index 3C8h, data 3C9h as three 6-bit components per entry with index
//! auto-increment. FreeVGA "DAC Registers"; IBM VGA Technical Reference, "Video DAC".
//! Also the BIOS default palettes, generated from their documented structure.
//!
//! Log target: `vga`.

/// 3C7h read: 0 after a write index was set, 3 after a read index was set.
const STATE_WRITE: u8 = 0x00;
const STATE_READ: u8 = 0x03;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Dac {
    pub pel_mask: u8,
    write_index: u8,
    write_step: usize,
    write_rgb: [u8; 3],
    read_index: u8,
    read_step: usize,
    state: u8,
    #[serde(with = "crate::state::big")]
    entries: [[u8; 3]; 256],
    /// `entries` as 0x00RRGGBB, kept in step for rendering.
    #[serde(with = "crate::state::big")]
    rgb: [u32; 256],
    /// 8-bit components (VBE 4F08h / the dispi 8BIT_DAC bit) instead of the VGA's 6.
    #[serde(default)]
    eight_bit: bool,
}

impl Default for Dac {
    fn default() -> Self {
        Dac {
            pel_mask: 0xFF,
            write_index: 0,
            write_step: 0,
            write_rgb: [0; 3],
            read_index: 0,
            read_step: 0,
            state: STATE_WRITE,
            entries: [[0; 3]; 256],
            rgb: [0; 256],
            eight_bit: false,
        }
    }
}

/// 6-bit DAC value to 8 bits, replicating the top bits so 3Fh gives FFh.
fn scale(v: u8) -> u32 {
    let v = (v & 0x3F) as u32;
    (v << 2) | (v >> 4)
}

impl Dac {
    pub fn set_write_index(&mut self, v: u8) {
        self.write_index = v;
        self.write_step = 0;
        self.state = STATE_WRITE;
    }

    pub fn write_index(&self) -> u8 {
        self.write_index
    }

    pub fn set_read_index(&mut self, v: u8) {
        self.read_index = v;
        self.read_step = 0;
        self.state = STATE_READ;
    }

    pub fn state(&self) -> u8 {
        self.state
    }

    pub fn write_data(&mut self, v: u8) {
        self.write_rgb[self.write_step] = v & self.component_mask();
        self.write_step += 1;
        if self.write_step == 3 {
            self.set(self.write_index, self.write_rgb);
            self.write_index = self.write_index.wrapping_add(1);
            self.write_step = 0;
        }
    }

    pub fn read_data(&mut self) -> u8 {
        let v = self.entries[self.read_index as usize][self.read_step];
        self.read_step += 1;
        if self.read_step == 3 {
            self.read_index = self.read_index.wrapping_add(1);
            self.read_step = 0;
        }
        v
    }

    pub fn set(&mut self, i: u8, rgb: [u8; 3]) {
        let rgb = rgb.map(|c| c & self.component_mask());
        self.entries[i as usize] = rgb;
        self.rgb[i as usize] = self.to_rgb(rgb);
    }

    fn component_mask(&self) -> u8 {
        if self.eight_bit {
            0xFF
        } else {
            0x3F
        }
    }

    fn to_rgb(&self, rgb: [u8; 3]) -> u32 {
        if self.eight_bit {
            (rgb[0] as u32) << 16 | (rgb[1] as u32) << 8 | rgb[2] as u32
        } else {
            (scale(rgb[0]) << 16) | (scale(rgb[1]) << 8) | scale(rgb[2])
        }
    }

    /// Switches between 6- and 8-bit components. Like QEMU, the stored entries are
    /// kept and only their interpretation changes.
    pub fn set_eight_bit(&mut self, on: bool) {
        if on != self.eight_bit {
            self.eight_bit = on;
            for i in 0..256 {
                self.rgb[i] = self.to_rgb(self.entries[i]);
            }
        }
    }

    pub fn eight_bit(&self) -> bool {
        self.eight_bit
    }

    #[cfg(test)]
    pub fn entry(&self, i: u8) -> [u8; 3] {
        self.entries[i as usize]
    }

    /// Host colour of DAC index `i` after the PEL mask.
    pub fn color(&self, i: u8) -> u32 {
        self.rgb[(i & self.pel_mask) as usize]
    }

    /// Loads `table` from entry 0 and zeroes the rest, as the BIOS mode set does.
    pub fn load(&mut self, table: &[[u8; 3]]) {
        for i in 0..256 {
            self.set(i as u8, table.get(i).copied().unwrap_or([0; 3]));
        }
        self.pel_mask = 0xFF;
    }
}

/// Which default palette a BIOS mode loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum Palette {
    /// Monochrome modes 07h/0Fh: 64 entries of black, normal and bright green-less grey.
    Mono,
    /// 200-line modes: 64 entries where bit 4 is intensity (CGA colours incl. brown).
    Cga,
    /// 350/400/480-line 16-colour modes: the 64 EGA colours rgbRGB.
    Ega,
    /// Mode 13h: 256 entries.
    Vga256,
}

const LOW: u8 = 0x15;
const HIGH: u8 = 0x2A;

/// The CGA colour `i` (0-15) as the VGA BIOS programs it: brown instead of dark yellow.
fn cga_color(i: usize) -> [u8; 3] {
    let bright = if i & 8 != 0 { LOW } else { 0 };
    let c = |bit: usize| if i & bit != 0 { HIGH } else { 0 } + bright;
    let mut rgb = [c(4), c(2), c(1)];
    if i == 6 {
        rgb[1] = LOW;
    }
    rgb
}

/// The 256-colour mode 13h palette: 16 CGA colours, a 16-step grey ramp, then nine
/// 24-hue colour wheels (high/medium/low intensity × high/medium/low saturation), then
/// eight black entries (IBM VGA Technical Reference, "Default colour table").
fn vga256() -> Vec<[u8; 3]> {
    const GREYS: [u8; 16] = [0, 5, 8, 11, 14, 17, 20, 24, 28, 32, 36, 40, 45, 50, 56, 63];
    /// (maximum, minimum) component value of each wheel.
    const WHEELS: [(u8, u8); 9] = [
        (0x3F, 0x00),
        (0x3F, 0x1F),
        (0x3F, 0x2D),
        (0x1C, 0x00),
        (0x1C, 0x0E),
        (0x1C, 0x14),
        (0x10, 0x00),
        (0x10, 0x08),
        (0x10, 0x0B),
    ];
    // Level 0-4 of one component around the wheel, starting at blue: up for 4 hues,
    // full for 8, down for 4, off for 8; green and red are this shape shifted.
    fn trapezoid(h: usize) -> usize {
        match h % 24 {
            h @ 0..=3 => h,
            4..=11 => 4,
            h @ 12..=15 => 16 - h,
            _ => 0,
        }
    }
    let mut t: Vec<[u8; 3]> = (0..16).map(cga_color).collect();
    t.extend(GREYS.iter().map(|&g| [g; 3]));
    for (hi, lo) in WHEELS {
        // Steps between minimum and maximum, rounded to nearest with halves down.
        let level = |k: usize| lo + (((hi - lo) as usize * k + 1) / 4) as u8;
        for h in 0..24 {
            t.push([
                level(trapezoid(h)),
                level(trapezoid(h + 16)),
                level(trapezoid(h + 8)),
            ]);
        }
    }
    t.resize(256, [0; 3]);
    t
}

pub(super) fn default_palette(p: Palette) -> Vec<[u8; 3]> {
    match p {
        Palette::Mono => (0..64)
            .map(|i| {
                let v = [0, HIGH, 0x3F][((i >> 3) & 1) + ((i >> 4) & 1)];
                [v; 3]
            })
            .collect(),
        Palette::Cga => (0..64)
            .map(|i| cga_color((i & 7) | ((i >> 1) & 8)))
            .collect(),
        Palette::Ega => (0..64)
            .map(|i| {
                let c = |hi: usize, lo: usize| {
                    (if i & hi != 0 { HIGH } else { 0 }) + (if i & lo != 0 { LOW } else { 0 })
                };
                [c(4, 32), c(2, 16), c(1, 8)]
            })
            .collect(),
        Palette::Vga256 => vga256(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_index_auto_increments_after_three_components() {
        let mut d = Dac::default();
        d.set_write_index(0xFF);
        for v in [0x3F, 0x20, 0x01, 0x11, 0x22, 0x33] {
            d.write_data(v);
        }
        assert_eq!(d.entry(0xFF), [0x3F, 0x20, 0x01]);
        // The index wraps from FFh to 00h.
        assert_eq!(d.entry(0x00), [0x11, 0x22, 0x33]);
        assert_eq!(d.write_index(), 0x01);
        d.set_read_index(0xFF);
        assert_eq!(d.state(), STATE_READ);
        let got: Vec<u8> = (0..6).map(|_| d.read_data()).collect();
        assert_eq!(got, [0x3F, 0x20, 0x01, 0x11, 0x22, 0x33]);
        // 6-bit 3Fh scales to FFh, 20h to 80h|02h = 82h, 01h to 04h.
        assert_eq!(d.color(0xFF), 0x00FF_8204);
    }

    #[test]
    fn components_keep_six_bits_and_pel_mask_applies() {
        let mut d = Dac::default();
        d.set_write_index(3);
        for _ in 0..3 {
            d.write_data(0xFF);
        }
        assert_eq!(d.entry(3), [0x3F; 3]);
        d.pel_mask = 0x0F;
        assert_eq!(d.color(0x13), 0x00FF_FFFF);
    }

    #[test]
    fn default_256_palette_matches_documented_entries() {
        let t = default_palette(Palette::Vga256);
        assert_eq!(t.len(), 256);
        assert_eq!(t[6], [0x2A, 0x15, 0x00]); // brown
        assert_eq!(t[15], [0x3F; 3]);
        assert_eq!(t[16], [0; 3]);
        assert_eq!(t[31], [0x3F; 3]);
        assert_eq!(t[32], [0x00, 0x00, 0x3F]); // wheel start: blue
        assert_eq!(t[33], [0x10, 0x00, 0x3F]);
        assert_eq!(t[40], [0x3F, 0x00, 0x00]); // red
        assert_eq!(t[48], [0x00, 0x3F, 0x00]); // green
        assert_eq!(t[57], [0x27, 0x1F, 0x3F]);
        assert_eq!(t[86], [0x3F, 0x2D, 0x36]);
        assert_eq!(t[108], [0x1C, 0x00, 0x1C]);
        assert_eq!(t[129], [0x11, 0x0E, 0x1C]);
        assert_eq!(t[247], [0x0B, 0x0C, 0x10]);
        assert_eq!(t[248], [0; 3]);
    }

    #[test]
    fn default_16_colour_palettes() {
        let ega = default_palette(Palette::Ega);
        assert_eq!(ega[0x14], [0x2A, 0x15, 0x00]); // AC 06h = 14h gives brown
        assert_eq!(ega[0x3F], [0x3F; 3]);
        assert_eq!(ega[0x38], [0x15; 3]);
        let cga = default_palette(Palette::Cga);
        assert_eq!(cga[0x16], [0x3F, 0x3F, 0x15]); // bit 4 = intensity: yellow
        assert_eq!(cga[0x0E], cga[0x06]); // bit 3 ignored
        let mono = default_palette(Palette::Mono);
        assert_eq!(mono[0x08], [0x2A; 3]);
        assert_eq!(mono[0x18], [0x3F; 3]);
    }
}
