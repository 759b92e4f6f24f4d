//! IBM VGA: 256 KB of video memory as four 64 KB planes behind the sequencer, graphics
//! controller, CRT controller, attribute controller and DAC, at ports 3B0h-3DFh and the
//! memory window A0000h-BFFFFh. Register behaviour follows the IBM VGA Technical Reference
//! and FreeVGA; the mode tables follow IBM's VGA BIOS parameter tables.
//!
//! Sub-units: [`sequencer`], [`crtc`], [`graphics`] (CPU data path), [`attribute`], [`dac`];
//! [`memory`] decodes the CPU window, [`timing`] derives the beam position from virtual
//! time, [`render`] draws frames and [`modes`] programs BIOS modes and fonts.
//!
//! Plane storage is one `u32` per plane offset with plane p in byte p, so a latch load is
//! one read and a write-mode result is one masked store.
//!
//! Log target: `vga`.

mod attribute;
mod crtc;
mod dac;
pub mod dispi;
mod graphics;
mod memory;
mod modes;
mod pci;
mod render;
mod sequencer;
mod timing;

use crate::Nanos;
use attribute::Attribute;
use crtc::Crtc;
use dac::Dac;
use graphics::Graphics;
use sequencer::Sequencer;

use dispi::Dispi;
pub use dispi::{PORT_DATA, PORT_DATA_ALIAS, PORT_INDEX, VRAM_SIZE};
pub use pci::{pci_function, LFB_BAR, MMIO_BAR, MMIO_SIZE};

/// Bytes per plane.
const PLANE_SIZE: usize = 0x10000;

/// Miscellaneous output (3C2h write, 3CCh read) bits.
const MISC_COLOR_IO: u8 = 0x01;
const MISC_RAM_ENABLE: u8 = 0x02;

/// A text screen: (columns, rows, row-major (character, attribute) cells).
pub type TextScreen = (usize, usize, Vec<(u8, u8)>);

/// The VGA: register files, planes and latches.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Vga {
    seq: Sequencer,
    crtc: Crtc,
    gc: Graphics,
    ac: Attribute,
    dac: Dac,
    misc: u8,
    feature: u8,
    /// Video subsystem enable, 3C3h bit 0.
    enable: u8,
    /// Plane p of offset i is byte p of `planes[i]`.
    planes: Vec<u32>,
    latch: u32,
    /// Scan lines of the current text mode, for font height changes (INT 10h AH=11h).
    text_lines: usize,
    /// Bumped on every change that may alter the picture.
    version: u64,
    /// The Bochs VBE interface (ports 1CEh/1CFh) and its 16 MB of VRAM.
    dispi: Dispi,
    #[serde(with = "dispi::sparse")]
    vram: Vec<u8>,
    /// Where the PCI function's framebuffer and register BARs decode (machine-set).
    bars: (Option<u32>, Option<u32>),
}

impl Default for Vga {
    fn default() -> Self {
        Self::new()
    }
}

impl Vga {
    /// Power-on state: BIOS mode 03h (80×25 colour text, 720×400), 8×16 font in plane 2,
    /// text memory filled with 0720h, so a guest writing B8000h without a BIOS sees text.
    pub fn new() -> Vga {
        let mut v = Vga {
            seq: Sequencer::default(),
            crtc: Crtc::default(),
            gc: Graphics::default(),
            ac: Attribute::default(),
            dac: Dac::default(),
            misc: 0,
            feature: 0,
            enable: 1,
            planes: vec![0; PLANE_SIZE],
            latch: 0,
            text_lines: 400,
            version: 0,
            dispi: Dispi::default(),
            vram: vec![0; VRAM_SIZE],
            bars: (None, None),
        };
        v.set_mode(0x03, true);
        v
    }

    /// Whether `port` is the CRTC / input status 1 block selected by misc output bit 0:
    /// 3Bxh for monochrome emulation, 3Dxh for colour.
    fn crtc_port(&self, port: u16) -> Option<u16> {
        let base = if self.misc & MISC_COLOR_IO != 0 {
            0x3D0
        } else {
            0x3B0
        };
        (port & 0xFFF0 == base).then_some(port & 0x0F)
    }

    /// I/O ports 3B0h-3DFh.
    pub fn port_read(&mut self, port: u16, now: Nanos) -> u8 {
        let v = self.read_port(port, now);
        log::trace!(target: "vga", "read {port:#06x} -> {v:#04x}");
        v
    }

    fn read_port(&mut self, port: u16, now: Nanos) -> u8 {
        match port {
            0x3C0 => self.ac.index,
            0x3C1 => self.ac.read_data(),
            // Input status 0: no switch sense, no pending vertical retrace interrupt.
            0x3C2 => 0x00,
            0x3C3 => self.enable,
            0x3C4 => self.seq.read_index(),
            0x3C5 => self.seq.read_data(),
            0x3C6 => self.dac.pel_mask,
            0x3C7 => self.dac.state(),
            0x3C8 => self.dac.write_index(),
            0x3C9 => self.dac.read_data(),
            0x3CA => self.feature,
            0x3CC => self.misc,
            0x3CE => self.gc.index,
            0x3CF => self.gc.read_data(),
            _ => match self.crtc_port(port) {
                Some(0x4) => self.crtc.index,
                Some(0x5) => self.crtc.read_data(),
                Some(0xA) => {
                    // Reading input status 1 resets the attribute flip-flop to "index".
                    self.ac.flip_flop = false;
                    self.input_status1(now)
                }
                _ => 0xFF,
            },
        }
    }

    pub fn port_write(&mut self, port: u16, v: u8) {
        log::trace!(target: "vga", "write {port:#06x} <- {v:#04x}");
        self.version += 1;
        match port {
            0x3C0 => self.ac.write(v),
            0x3C2 => {
                if v != self.misc {
                    log::debug!(
                        target: "vga",
                        "misc output {:#04x} -> {v:#04x} (crtc at {}, ram {}, clock {})",
                        self.misc,
                        if v & MISC_COLOR_IO != 0 { "3dxh" } else { "3bxh" },
                        if v & MISC_RAM_ENABLE != 0 { "on" } else { "off" },
                        (v >> 2) & 3
                    );
                }
                self.misc = v;
            }
            0x3C3 => {
                if v & 1 != self.enable {
                    log::debug!(target: "vga", "video subsystem enable {}", v & 1);
                }
                self.enable = v & 1;
            }
            0x3C4 => self.seq.write_index(v),
            0x3C5 => self.seq.write_data(v),
            0x3C6 => self.dac.pel_mask = v,
            0x3C7 => self.dac.set_read_index(v),
            0x3C8 => self.dac.set_write_index(v),
            0x3C9 => self.dac.write_data(v),
            0x3CE => self.gc.write_index(v),
            0x3CF => self.gc.write_data(v),
            _ => match self.crtc_port(port) {
                Some(0x4) => self.crtc.write_index(v),
                Some(0x5) => self.crtc.write_data(v),
                Some(0xA) => self.feature = v,
                _ => {}
            },
        }
    }

    /// Text mode view: (columns, rows, (char, attribute) cells) read from planes 0/1 at
    /// the CRTC start address; None in graphics modes.
    pub fn text_screen(&self) -> Option<TextScreen> {
        let (cols, rows) = self.text_size()?;
        let start = self.crtc.start_address();
        let stride = self.crtc.row_stride();
        let mut cells = Vec::with_capacity(cols * rows);
        for r in 0..rows {
            for c in 0..cols {
                let a = self.crtc.map_address(start + r * stride + c, 0);
                let p = self.planes[a];
                cells.push((p as u8, (p >> 8) as u8));
            }
        }
        Some((cols, rows, cells))
    }

    /// Columns and rows of the current text mode.
    fn text_size(&self) -> Option<(usize, usize)> {
        if self.ac.graphics() || self.vbe_enabled() {
            return None;
        }
        let cols = self.crtc.h_display_chars();
        let scan = if self.crtc.double_scan() { 2 } else { 1 };
        let rows = self.crtc.v_display_lines() / ((self.crtc.max_scan() + 1) * scan);
        Some((cols, rows))
    }

    /// Cursor (row, column) in text mode while the cursor is enabled (CRTC 0Ah bit 5
    /// clear) and on screen; BIOSes hide the cursor by moving it past the last row.
    pub fn cursor(&self) -> Option<(usize, usize)> {
        let (cols, rows) = self.text_size()?;
        if !self.crtc.cursor_enabled() {
            return None;
        }
        let rel = self
            .crtc
            .cursor_location()
            .checked_sub(self.crtc.start_address())?;
        let stride = self.crtc.row_stride();
        if stride == 0 {
            return None;
        }
        let (row, col) = (rel / stride, rel % stride);
        (row < rows && col < cols).then_some((row, col))
    }

    /// Changes whenever the rendered frame may have changed: any register, palette or
    /// video memory change, or a blink phase change at `now` in text modes.
    pub fn frame_version(&self, now: Nanos) -> u64 {
        let phase = if self.ac.graphics() || self.vbe_enabled() {
            0
        } else {
            let (cursor_on, blink_on) = self.blink_phases(now);
            (cursor_on as u64) | (blink_on as u64) << 1
        };
        (self.version << 2) | phase
    }
}

#[cfg(test)]
mod tests;
