//! The Bochs VBE "dispi" display interface, as Bochs and QEMU's `-vga std` provide it
//! (QEMU hw/display/vga.c and vga_int.h, Bochs iodev/display/vga.cc; the register list
//! is in Bochs' vbe.h): an index port at 1CEh and a data port at 1CFh (and its alias
//! 1D0h), both 16 bits wide, reaching ten registers:
//!
//! | index | register     | semantics (as QEMU)                                          |
//! |-------|--------------|--------------------------------------------------------------|
//! | 0     | ID           | B0C0h–B0C5h accepted, anything else ignored; reset B0C5h     |
//! | 1, 2  | XRES, YRES   | visible size; XRES rounded down to 8                         |
//! | 3     | BPP          | 4, 8, 15, 16, 24 or 32; 0 means 8; others ignored            |
//! | 4     | ENABLE       | 01h enabled, 02h GETCAPS, 20h 8-bit DAC, 40h LFB, 80h NOCLEAR |
//! | 5     | BANK         | 64 KB bank of the A0000h window                              |
//! | 6, 7  | VIRT_WIDTH/HEIGHT | virtual screen; HEIGHT is computed (VRAM / line length) |
//! | 8, 9  | X/Y_OFFSET   | display start inside the virtual screen                      |
//! | 0Ah   | VIDEO_MEMORY_64K | read-only: VRAM size in 64 KB units                      |
//!
//! While ENABLE has GETCAPS set, XRES/YRES/BPP read back the maximums. Turning the
//! display on resets the virtual width and offsets, and clears the visible part of VRAM
//! unless NOCLEARMEM is set. Size and offset registers are fixed up after every write
//! (`vbe_fixup_regs`), so a value that does not fit VRAM is clamped, as QEMU does.
//!
//! The 16 MB of VRAM is separate from the VGA's 256 KB of planes: with the interface
//! enabled the A0000h–AFFFFh window shows VRAM at the bank's offset and the display
//! scans VRAM; the PCI function's BAR 0 (the linear framebuffer) always shows VRAM.
//! 4-bpp modes are the exception: they are planar, so the window and the display use
//! the VGA's planes (up to 64 KB per plane, 1024×512 at 16 colours; the bank register
//! is not applied to them), as set up by a VGA planar mode beforehand.
//!
//! Log target: `vga`.

use super::Vga;

/// VRAM size: QEMU's `-vga std` default (vgamem_mb = 16).
pub const VRAM_SIZE: usize = 16 << 20;

pub const INDEX_ID: usize = 0;
pub const INDEX_XRES: usize = 1;
pub const INDEX_YRES: usize = 2;
pub const INDEX_BPP: usize = 3;
pub const INDEX_ENABLE: usize = 4;
pub const INDEX_BANK: usize = 5;
pub const INDEX_VIRT_WIDTH: usize = 6;
pub const INDEX_VIRT_HEIGHT: usize = 7;
pub const INDEX_X_OFFSET: usize = 8;
pub const INDEX_Y_OFFSET: usize = 9;
/// Registers 0–9 are stored; 0Ah is computed.
const REGS: usize = 10;
pub const INDEX_VIDEO_MEMORY_64K: usize = 10;

pub const ID0: u16 = 0xB0C0;
pub const ID5: u16 = 0xB0C5;

pub const ENABLED: u16 = 0x01;
pub const GETCAPS: u16 = 0x02;
pub const DAC_8BIT: u16 = 0x20;
pub const LFB_ENABLED: u16 = 0x40;
pub const NOCLEARMEM: u16 = 0x80;

/// QEMU's limits (VBE_DISPI_MAX_XRES/YRES/BPP).
pub const MAX_XRES: u16 = 16000;
pub const MAX_YRES: u16 = 12000;
pub const MAX_BPP: u16 = 32;

/// Index port, data port and the data port's alias.
pub const PORT_INDEX: u16 = 0x1CE;
pub const PORT_DATA: u16 = 0x1CF;
pub const PORT_DATA_ALIAS: u16 = 0x1D0;

/// The register file and what QEMU derives from it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Dispi {
    pub index: u16,
    pub regs: [u16; REGS],
    /// Bytes per virtual scan line.
    pub line_offset: u32,
    /// Display start in VRAM bytes.
    pub start: u32,
    /// VRAM offset of the A0000h window: BANK × 64 KB, zeroed (the register itself
    /// kept) by an ENABLE write that does not switch the display on, as QEMU does.
    pub bank_offset: u32,
}

impl Default for Dispi {
    fn default() -> Self {
        let mut regs = [0; REGS];
        regs[INDEX_ID] = ID5;
        Dispi {
            index: 0,
            regs,
            line_offset: 0,
            start: 0,
            bank_offset: 0,
        }
    }
}

impl Dispi {
    pub fn enabled(&self) -> bool {
        self.regs[INDEX_ENABLE] & ENABLED != 0
    }

    /// Bits per pixel as stored in VRAM (15 takes 16).
    pub fn bits(&self) -> u32 {
        match self.regs[INDEX_BPP] {
            15 => 16,
            b => b as u32,
        }
    }

    /// QEMU's `vbe_fixup_regs`: clamps sizes and offsets to what VRAM holds and
    /// recomputes the line length, virtual height and start address.
    fn fixup(&mut self) {
        if !self.enabled() {
            return;
        }
        let r = &mut self.regs;
        if !matches!(r[INDEX_BPP], 4 | 8 | 15 | 16 | 24 | 32) {
            r[INDEX_BPP] = 8;
        }
        let bits = match r[INDEX_BPP] {
            15 => 16,
            b => b as u32,
        };
        r[INDEX_XRES] &= !7;
        if r[INDEX_XRES] == 0 {
            r[INDEX_XRES] = 8;
        }
        r[INDEX_XRES] = r[INDEX_XRES].min(MAX_XRES);
        r[INDEX_VIRT_WIDTH] &= !7;
        r[INDEX_VIRT_WIDTH] = r[INDEX_VIRT_WIDTH].min(MAX_XRES).max(r[INDEX_XRES]);
        let line = r[INDEX_VIRT_WIDTH] as u32 * bits / 8;
        let max_y = (VRAM_SIZE as u32 / line).min(u16::MAX as u32);
        r[INDEX_YRES] = r[INDEX_YRES].clamp(1, MAX_YRES).min(max_y as u16);
        r[INDEX_X_OFFSET] = r[INDEX_X_OFFSET].min(MAX_XRES);
        r[INDEX_Y_OFFSET] = r[INDEX_Y_OFFSET].min(MAX_YRES);
        let visible = r[INDEX_YRES] as u32 * line;
        let mut offset = r[INDEX_X_OFFSET] as u32 * bits / 8 + r[INDEX_Y_OFFSET] as u32 * line;
        if offset + visible > VRAM_SIZE as u32 {
            r[INDEX_Y_OFFSET] = 0;
            offset = r[INDEX_X_OFFSET] as u32 * bits / 8;
            if offset + visible > VRAM_SIZE as u32 {
                r[INDEX_X_OFFSET] = 0;
                offset = 0;
            }
        }
        r[INDEX_VIRT_HEIGHT] = max_y as u16;
        self.line_offset = line;
        // QEMU keeps the start in 4-byte units (the VGA CRTC's); the byte address
        // rounds down the same way.
        self.start = offset & !3;
    }

    /// A data port read of the selected register.
    pub fn read(&self) -> u16 {
        let i = self.index as usize;
        if i < REGS {
            if self.regs[INDEX_ENABLE] & GETCAPS != 0 {
                match i {
                    INDEX_XRES => return MAX_XRES,
                    INDEX_YRES => return MAX_YRES,
                    INDEX_BPP => return MAX_BPP,
                    _ => {}
                }
            }
            self.regs[i]
        } else if i == INDEX_VIDEO_MEMORY_64K {
            (VRAM_SIZE >> 16) as u16
        } else {
            0
        }
    }
}

impl Vga {
    /// Whether the dispi interface drives the display and the A0000h window.
    pub fn vbe_enabled(&self) -> bool {
        self.dispi.enabled()
    }

    /// Whether the VBE display is on in a packed/direct mode (4-bit modes are planar
    /// and go through the VGA's planes, which this model does not map to VRAM).
    pub(super) fn vbe_linear(&self) -> bool {
        self.dispi.enabled() && self.dispi.regs[INDEX_BPP] != 4
    }

    /// A read of 1CEh (index) or 1CFh/1D0h (data), any width (byte reads give the
    /// register's low byte, as the data path is 16 bits wide).
    pub fn dispi_port_read(&self, port: u16) -> u16 {
        match port {
            PORT_INDEX => self.dispi.index,
            PORT_DATA | PORT_DATA_ALIAS => self.dispi.read(),
            _ => 0xFFFF,
        }
    }

    /// A write of 1CEh (index) or 1CFh/1D0h (data).
    pub fn dispi_port_write(&mut self, port: u16, v: u16) {
        match port {
            PORT_INDEX => self.dispi.index = v,
            PORT_DATA | PORT_DATA_ALIAS => self.dispi_write(self.dispi.index as usize, v),
            _ => {}
        }
    }

    /// The value of dispi register `i` as the data port reads it.
    pub fn dispi_reg(&self, i: usize) -> u16 {
        let mut d = self.dispi.clone();
        d.index = i as u16;
        d.read()
    }

    /// A write of dispi register `i` (QEMU's `vbe_ioport_write_data`).
    pub fn dispi_write(&mut self, i: usize, v: u16) {
        log::trace!(target: "vga", "dispi reg {i:#x} <- {v:#06x}");
        self.version = self.version.wrapping_add(1);
        let d = &mut self.dispi;
        match i {
            INDEX_ID => {
                if (ID0..=ID5).contains(&v) {
                    d.regs[INDEX_ID] = v;
                }
            }
            INDEX_XRES | INDEX_YRES | INDEX_VIRT_WIDTH | INDEX_X_OFFSET | INDEX_Y_OFFSET => {
                d.regs[i] = v;
                d.fixup();
            }
            INDEX_BPP => {
                let v = if v == 0 { 8 } else { v };
                if matches!(v, 4 | 8 | 15 | 16 | 24 | 32) {
                    d.regs[i] = v;
                    d.fixup();
                }
            }
            INDEX_BANK => {
                let mask = ((VRAM_SIZE >> 16) - 1) as u16;
                // In 4-bit mode a bank is 64 KB of each of four planes.
                let mask = if d.regs[INDEX_BPP] == 4 {
                    mask >> 2
                } else {
                    mask
                };
                d.regs[i] = v & mask;
                d.bank_offset = (d.regs[i] as u32) << 16;
            }
            INDEX_ENABLE => {
                let was = d.enabled();
                if v & ENABLED != 0 && !was {
                    d.regs[INDEX_VIRT_WIDTH] = 0;
                    d.regs[INDEX_X_OFFSET] = 0;
                    d.regs[INDEX_Y_OFFSET] = 0;
                    d.regs[INDEX_ENABLE] |= ENABLED;
                    d.fixup();
                    if v & NOCLEARMEM == 0 {
                        let n =
                            (d.regs[INDEX_YRES] as usize * d.line_offset as usize).min(VRAM_SIZE);
                        self.vram[..n].fill(0);
                    }
                } else {
                    d.bank_offset = 0;
                }
                log::debug!(target: "vga", "dispi enable {v:#06x}: {}x{}x{}", self.dispi.regs[INDEX_XRES], self.dispi.regs[INDEX_YRES], self.dispi.regs[INDEX_BPP]);
                self.dispi.regs[INDEX_ENABLE] = v;
                self.dac.set_eight_bit(v & DAC_8BIT != 0);
            }
            INDEX_VIRT_HEIGHT => {} // computed
            _ => log::debug!(target: "vga", "dispi write to unknown index {i:#x}"),
        }
    }

    /// VRAM byte offset of the A0000h window address `addr` in a VBE mode.
    pub(super) fn vbe_window(&self, addr: u32) -> Option<usize> {
        let off = addr.wrapping_sub(0xA_0000);
        (off < 0x1_0000)
            .then(|| self.dispi.bank_offset as usize + off as usize)
            .filter(|&o| o < VRAM_SIZE)
    }

    /// Where the machine decodes the PCI BARs now (base addresses of the framebuffer
    /// and the register block), for [`Vga::bar_read`]/[`Vga::bar_write`].
    pub fn set_bars(&mut self, lfb: Option<u32>, mmio: Option<u32>) {
        self.bars = (lfb, mmio);
    }

    /// A byte read at physical address `addr` inside the framebuffer BAR (`lfb`) or
    /// the register BAR.
    pub fn bar_read(&mut self, addr: u32, lfb: bool, now: crate::Nanos) -> u8 {
        match (lfb, self.bars) {
            (true, (Some(b), _)) => self.vram_read(addr.wrapping_sub(b)),
            (false, (_, Some(b))) => self.mmio_read(addr.wrapping_sub(b), now),
            _ => 0xFF,
        }
    }

    /// A write of `size` bytes of `v` at `addr` inside a BAR.
    pub fn bar_write(&mut self, addr: u32, lfb: bool, size: u8, v: u32) {
        match (lfb, self.bars) {
            (true, (Some(b), _)) => {
                for i in 0..size.min(4) as u32 {
                    self.vram_write(addr.wrapping_sub(b).wrapping_add(i), (v >> (8 * i)) as u8);
                }
            }
            (false, (_, Some(b))) => self.mmio_write(addr.wrapping_sub(b), size, v),
            _ => {}
        }
    }

    /// Loads the mode-13h default 256-colour palette (VBE 8-bpp mode sets).
    pub fn load_vga256_palette(&mut self) {
        self.dac
            .load(&super::dac::default_palette(super::dac::Palette::Vga256));
        self.version = self.version.wrapping_add(1);
    }

    /// Whether the DAC takes 8-bit components.
    pub fn dac_eight_bit(&self) -> bool {
        self.dac.eight_bit()
    }

    /// Sets the DAC width (VBE 4F08h); the dispi ENABLE bit follows the same switch.
    pub fn set_dac_eight_bit(&mut self, on: bool) {
        self.dac.set_eight_bit(on);
        self.version = self.version.wrapping_add(1);
    }

    /// A read of VRAM offset `off` (the linear framebuffer): all ones past its end.
    pub fn vram_read(&self, off: u32) -> u8 {
        self.vram.get(off as usize).copied().unwrap_or(0xFF)
    }

    /// A write of VRAM offset `off`; dropped past its end.
    pub fn vram_write(&mut self, off: u32, v: u8) {
        if let Some(b) = self.vram.get_mut(off as usize) {
            if *b != v {
                *b = v;
                self.version = self.version.wrapping_add(1);
            }
        }
    }

    /// A read of the PCI function's MMIO BAR (QEMU's layout): 400h–41Fh are the VGA
    /// ports 3C0h–3DFh, 500h–515h the dispi registers (16 bits each), 600h–607h
    /// QEMU's extended registers (size 8, little-endian framebuffer 1E1E1E1Eh).
    pub fn mmio_read(&mut self, off: u32, now: crate::Nanos) -> u8 {
        match off {
            0x400..=0x41F => self.port_read(0x3C0 + (off - 0x400) as u16, now),
            0x500..=0x515 => {
                let v = self.dispi_reg(((off - 0x500) / 2) as usize);
                (v >> (8 * (off & 1))) as u8
            }
            0x600 => 8,
            0x601..=0x603 => 0,
            0x604..=0x607 => 0x1E,
            _ => 0xFF,
        }
    }

    /// A write of the MMIO BAR; `v` is the whole access (`size` bytes at `off`), so
    /// dispi registers take 16-bit writes at once.
    pub fn mmio_write(&mut self, off: u32, size: u8, v: u32) {
        for i in 0..size.min(4) as u32 {
            let o = off.wrapping_add(i);
            let b = (v >> (8 * i)) as u8;
            match o {
                0x400..=0x41F => self.port_write(0x3C0 + (o - 0x400) as u16, b),
                0x500..=0x515 => {
                    let reg = ((o - 0x500) / 2) as usize;
                    if o & 1 == 0 && i + 1 < size as u32 {
                        self.dispi_write(reg, (v >> (8 * i)) as u16);
                    } else if o & 1 == 0 || i == 0 {
                        // A lone byte replaces its half of the register.
                        let old = self.dispi_reg(reg);
                        let new = if o & 1 == 0 {
                            (old & 0xFF00) | b as u16
                        } else {
                            (old & 0x00FF) | (b as u16) << 8
                        };
                        self.dispi_write(reg, new);
                    }
                }
                _ => {}
            }
        }
    }

    /// Renders the VBE display: XRES×YRES pixels from VRAM at the display start with
    /// the virtual line length; 8 bpp through the DAC, 15/16/24/32 bpp direct colour
    /// (bytes B, G, R[, X] in memory, as VBE's default masks say).
    pub(super) fn render_vbe(&self, buf: &mut Vec<u32>) -> (usize, usize) {
        let d = &self.dispi;
        let (w, h) = (
            (d.regs[INDEX_XRES] as usize).min(MAX_FRAME),
            (d.regs[INDEX_YRES] as usize).min(MAX_FRAME),
        );
        buf.clear();
        buf.resize(w * h, 0);
        let bpp = d.regs[INDEX_BPP];
        let pal: [u32; 256] = core::array::from_fn(|i| self.dac.color(i as u8));
        if bpp == 4 {
            // Planar 16 colours: 8 pixels per plane offset (one bit from each plane),
            // through the attribute palette, as QEMU draws VBE 4-bpp modes. The line
            // length and start are in bytes of all four planes together.
            let colors = self.ac.color_table();
            let (line, start) = (d.line_offset as usize / 4, d.start as usize / 4);
            for (y, out) in buf.chunks_exact_mut(w).enumerate() {
                let base = start + y * line;
                for (x, o) in out.iter_mut().enumerate() {
                    let p = self.planes[(base + x / 8) % super::PLANE_SIZE];
                    let bit = 7 - (x % 8);
                    let v = ((p >> bit) & 1)
                        | ((p >> (bit + 7)) & 2)
                        | ((p >> (bit + 14)) & 4)
                        | ((p >> (bit + 21)) & 8);
                    *o = pal[colors[v as usize] as usize];
                }
            }
            return (w, h);
        }
        let bytes = d.bits() as usize / 8;
        for (y, out) in buf.chunks_exact_mut(w).enumerate() {
            let row = d.start as usize + y * d.line_offset as usize;
            let Some(src) = self.vram.get(row..row + w * bytes) else {
                continue;
            };
            match bpp {
                8 => out
                    .iter_mut()
                    .zip(src)
                    .for_each(|(o, &p)| *o = pal[p as usize]),
                15 | 16 => {
                    for (o, p) in out.iter_mut().zip(src.chunks_exact(2)) {
                        let p = u16::from_le_bytes([p[0], p[1]]) as u32;
                        *o = if bpp == 15 {
                            rgb(p >> 10, 5, (p >> 5) & 0x1F, 5, p & 0x1F, 5)
                        } else {
                            rgb(p >> 11, 5, (p >> 5) & 0x3F, 6, p & 0x1F, 5)
                        };
                    }
                }
                _ => {
                    for (o, p) in out.iter_mut().zip(src.chunks_exact(bytes)) {
                        *o = (p[2] as u32) << 16 | (p[1] as u32) << 8 | p[0] as u32;
                    }
                }
            }
        }
        (w, h)
    }
}

/// Largest frame side the VBE display reports.
const MAX_FRAME: usize = 4096;

/// Packs components of the given widths into 0x00RRGGBB, replicating the top bits
/// into the low ones so full scale is FFh.
fn rgb(r: u32, rb: u32, g: u32, gb: u32, b: u32, bb: u32) -> u32 {
    let x = |v: u32, n: u32| {
        let v = v << (8 - n);
        v | v >> n
    };
    x(r, rb) << 16 | x(g, gb) << 8 | x(b, bb)
}

/// Serde for VRAM: the non-zero 4 KB pages only, as (page, hex) pairs, so a snapshot
/// of a text-mode machine does not carry 16 MB of zeros.
pub(super) mod sparse {
    use super::VRAM_SIZE;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    const PAGE: usize = 4096;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            v.chunks(PAGE)
                .enumerate()
                .filter(|(_, p)| p.iter().any(|&b| b != 0))
                .map(|(i, p)| {
                    let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
                    (i as u32, hex)
                }),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let pages = Vec::<(u32, String)>::deserialize(d)?;
        let mut v = vec![0u8; VRAM_SIZE];
        for (i, hex) in pages {
            let at = i as usize * PAGE;
            let dst = v
                .get_mut(at..at + PAGE)
                .ok_or_else(|| D::Error::custom(format!("VRAM page {i} out of range")))?;
            if hex.len() != 2 * PAGE {
                return Err(D::Error::custom("VRAM page of the wrong length"));
            }
            for (k, b) in dst.iter_mut().enumerate() {
                *b = u8::from_str_radix(&hex[2 * k..2 * k + 2], 16)
                    .map_err(|_| D::Error::custom("VRAM page: bad hex"))?;
            }
        }
        Ok(v)
    }
}
