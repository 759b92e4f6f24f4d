//! VBE 3.0 (VESA BIOS Extension, VESA Core Functions Standard 3.0, 1998) on the Bochs
//! dispi interface and the std-vga PCI function: INT 10h AX=4F00h–4F0Ah.
//!
//! - 4F00h controller info (§4.3): "VESA", version 3.0, 8-bit-DAC capability, total
//!   memory in 64 KB units, and — inside the caller's block, so they stay valid as
//!   long as the block — the mode list; the OEM strings live in the ROM at F000h:BF10h.
//! - 4F01h mode info (§4.4): windowed (64 KB at A000h, bank switching through 4F05h and
//!   the ROM window function) and linear (PhysBasePtr = the PCI BAR 0 address).
//! - 4F02h/4F03h set/get mode (§4.5/§4.6): bit 14 linear framebuffer, bit 15 keeps VRAM.
//!   Modes below 100h are the VGA BIOS modes (AH=00h).
//! - 4F04h save/restore (§4.7): the DAC (bit 2) and the dispi registers (bit 3); VGA
//!   hardware and BIOS-data states (bits 0/1) are not implemented and answer 014Fh.
//! - 4F05h bank, 4F06h scan line length, 4F07h display start, 4F08h DAC width, 4F09h
//!   palette (primary only), 4F0Ah protected-mode interface: not provided (014Fh).
//!
//! The mode numbers are the VESA standard ones (100h–11Bh) and, for 32 bpp and the
//! rest, those of SeaBIOS's/Bochs' VGA BIOS (140h–146h).
//!
//! Log target: `bios`.

use crate::bios::lin;
use crate::bus::VGA;
use crate::Pc;
use cpu::{Bus, ES};
use devices::vga::{dispi, PORT_DATA, PORT_INDEX, VRAM_SIZE};

/// dispi registers and ENABLE bits (Bochs vbe.h), as u16 port values.
const XRES: u16 = dispi::INDEX_XRES as u16;
const YRES: u16 = dispi::INDEX_YRES as u16;
const BPP: u16 = dispi::INDEX_BPP as u16;
const ENABLE: u16 = dispi::INDEX_ENABLE as u16;
const BANK: u16 = dispi::INDEX_BANK as u16;
const VIRT_WIDTH: u16 = dispi::INDEX_VIRT_WIDTH as u16;
const VIRT_HEIGHT: u16 = dispi::INDEX_VIRT_HEIGHT as u16;
const X_OFFSET: u16 = dispi::INDEX_X_OFFSET as u16;
const Y_OFFSET: u16 = dispi::INDEX_Y_OFFSET as u16;
const EN_ENABLED: u16 = dispi::ENABLED;
const EN_DAC8: u16 = dispi::DAC_8BIT;
const EN_LFB: u16 = dispi::LFB_ENABLED;
const EN_NOCLEAR: u16 = dispi::NOCLEARMEM;

/// Where the ROM keeps the window function and the OEM strings (segment F000h).
pub(crate) const WINDOW_FUNC: u16 = 0xBF00;
const OEM_STRINGS: u16 = 0xBF10;
const OEM: &[u8] = b"x86 emulator VBE (Bochs dispi)\0";
const VENDOR: &[u8] = b"x86 emulator\0";
const PRODUCT: &[u8] = b"std-vga 1234:1111\0";
const REVISION: &[u8] = b"1.0\0";

/// Status words (§4.2): AL=4Fh supported, AH 00h success / 01h failed / 02h not
/// supported in this hardware configuration / 03h invalid in the current mode.
const OK: u16 = 0x004F;
const FAILED: u16 = 0x014F;
const NOT_SUPPORTED: u16 = 0x024F;
const INVALID_IN_MODE: u16 = 0x034F;

/// The mode table: (number, width, height, bits per pixel).
pub(crate) const MODES: &[(u16, u16, u16, u8)] = &[
    (0x100, 640, 400, 8),
    (0x101, 640, 480, 8),
    (0x103, 800, 600, 8),
    (0x105, 1024, 768, 8),
    (0x107, 1280, 1024, 8),
    (0x10D, 320, 200, 15),
    (0x10E, 320, 200, 16),
    (0x10F, 320, 200, 24),
    (0x110, 640, 480, 15),
    (0x111, 640, 480, 16),
    (0x112, 640, 480, 24),
    (0x113, 800, 600, 15),
    (0x114, 800, 600, 16),
    (0x115, 800, 600, 24),
    (0x116, 1024, 768, 15),
    (0x117, 1024, 768, 16),
    (0x118, 1024, 768, 24),
    (0x119, 1280, 1024, 15),
    (0x11A, 1280, 1024, 16),
    (0x11B, 1280, 1024, 24),
    (0x11C, 1600, 1200, 8),
    (0x11D, 1600, 1200, 15),
    (0x11E, 1600, 1200, 16),
    (0x11F, 1600, 1200, 24),
    (0x140, 320, 200, 32),
    (0x141, 640, 400, 32),
    (0x142, 640, 480, 32),
    (0x143, 800, 600, 32),
    (0x144, 1024, 768, 32),
    (0x145, 1280, 1024, 32),
    (0x146, 320, 200, 8),
    (0x147, 1600, 1200, 32),
];

fn find(mode: u16) -> Option<(u16, u16, u16, u8)> {
    MODES.iter().copied().find(|m| m.0 == mode & 0x1FF)
}

/// Bytes per pixel of a depth (15 bpp is stored in 16 bits).
fn bytes_pp(bpp: u8) -> u32 {
    (bpp as u32).div_ceil(8)
}

/// (red, green, blue, reserved) as (mask size, field position) for direct colour
/// depths (VBE 3.0 §4.4 "Direct Color fields"; the layouts the S3/Bochs BIOSes
/// report), zero for 8 bpp.
pub(crate) fn color_fields(bpp: u8) -> [(u8, u8); 4] {
    match bpp {
        15 => [(5, 10), (5, 5), (5, 0), (1, 15)],
        16 => [(5, 11), (6, 5), (5, 0), (0, 0)],
        24 => [(8, 16), (8, 8), (8, 0), (0, 0)],
        32 => [(8, 16), (8, 8), (8, 0), (8, 24)],
        _ => [(0, 0); 4],
    }
}

/// The 256-byte ModeInfoBlock of `mode` with the framebuffer at `lfb` (§4.4).
pub(crate) fn mode_info_block(mode: (u16, u16, u16, u8), lfb: u32) -> [u8; 256] {
    let (_, w, h, bpp) = mode;
    let mut b = [0u8; 256];
    let put16 = |b: &mut [u8; 256], o: usize, v: u16| b[o..o + 2].copy_from_slice(&v.to_le_bytes());
    let pitch = w as u32 * bytes_pp(bpp);
    let pages = (VRAM_SIZE as u32 / (pitch * h as u32))
        .saturating_sub(1)
        .min(255) as u8;
    // Attributes: supported, (VBE 1.2+) optional fields present, colour, graphics,
    // not VGA-register compatible, linear framebuffer. BIOS TTY output is not offered.
    put16(
        &mut b,
        0x00,
        0x0001 | 0x0002 | 0x0008 | 0x0010 | 0x0020 | 0x0080,
    );
    b[0x02] = 0x07; // window A: exists, readable, writable
    b[0x03] = 0x00; // no window B
    put16(&mut b, 0x04, 64); // granularity, KB
    put16(&mut b, 0x06, 64); // window size, KB
    put16(&mut b, 0x08, 0xA000);
    put16(&mut b, 0x0A, 0);
    put16(&mut b, 0x0C, WINDOW_FUNC);
    put16(&mut b, 0x0E, 0xF000);
    put16(&mut b, 0x10, pitch as u16);
    put16(&mut b, 0x12, w);
    put16(&mut b, 0x14, h);
    b[0x16] = 8; // character cell
    b[0x17] = 16;
    b[0x18] = 1; // planes
    b[0x19] = bpp;
    b[0x1A] = 1; // banks
    b[0x1B] = if bpp == 8 { 4 } else { 6 }; // packed pixel / direct colour
    b[0x1C] = 0; // bank size
    b[0x1D] = pages;
    b[0x1E] = 1; // reserved, 1 (§4.4)
    let f = color_fields(bpp);
    for (i, &(size, pos)) in f.iter().enumerate() {
        b[0x1F + 2 * i] = size;
        b[0x20 + 2 * i] = pos;
        b[0x36 + 2 * i] = size;
        b[0x37 + 2 * i] = pos;
    }
    // DirectColorModeInfo bit 1: the reserved field is usable by the application.
    b[0x27] = if bpp == 32 { 0x02 } else { 0 };
    b[0x28..0x2C].copy_from_slice(&lfb.to_le_bytes());
    put16(&mut b, 0x32, pitch as u16); // LinBytesPerScanLine
    b[0x34] = pages;
    b[0x35] = pages;
    b
}

/// ROM contents: the window function (far-called with BH/BL/DX as AX=4F05h takes them)
/// and the OEM strings.
pub(crate) fn install_rom(rom: &mut [u8]) {
    let f = WINDOW_FUNC as usize;
    // mov ax, 4F05h; int 10h; retf
    rom[f..f + 6].copy_from_slice(&[0xB8, 0x05, 0x4F, 0xCD, 0x10, 0xCB]);
    let mut at = OEM_STRINGS as usize;
    for s in [OEM, VENDOR, PRODUCT, REVISION] {
        rom[at..at + s.len()].copy_from_slice(s);
        at += s.len();
    }
}

/// Offsets of the four strings in the ROM.
fn string_offsets() -> [u16; 4] {
    let mut at = OEM_STRINGS;
    [OEM, VENDOR, PRODUCT, REVISION].map(|s| {
        let o = at;
        at += s.len() as u16;
        o
    })
}

impl Pc {
    fn dispi_read(&mut self, i: u16) -> u16 {
        self.bus.io_write(PORT_INDEX, 2, i as u32);
        self.bus.io_read(PORT_DATA, 2) as u16
    }

    fn dispi_write(&mut self, i: u16, v: u16) {
        self.bus.io_write(PORT_INDEX, 2, i as u32);
        self.bus.io_write(PORT_DATA, 2, v as u32);
    }

    /// The framebuffer's physical address: BAR 0 of the VGA function.
    fn lfb_base(&self) -> u32 {
        self.bus
            .pci
            .function(VGA)
            .map_or(0, |f| f.read32(devices::pci::BAR0) & !0xF)
    }

    /// ES:DI as a linear address.
    fn es_di(&self) -> u32 {
        lin(self.cpu.seg[ES].selector, self.cpu.regs[7] as u16)
    }

    fn put_bytes(&mut self, a: u32, data: &[u8]) {
        for (i, &b) in data.iter().enumerate() {
            self.w8(a.wrapping_add(i as u32), b);
        }
    }

    /// The current VBE mode (from the dispi registers), if the interface is on.
    fn current_vbe_mode(&mut self) -> Option<(u16, u16, u16, u8)> {
        if self.dispi_read(ENABLE) & EN_ENABLED == 0 {
            return None;
        }
        let (w, h, bpp) = (
            self.dispi_read(XRES),
            self.dispi_read(YRES),
            self.dispi_read(BPP),
        );
        MODES
            .iter()
            .copied()
            .find(|m| (m.1, m.2, m.3 as u16) == (w, h, bpp))
            .or(Some((0x1FF, w, h, bpp as u8)))
    }

    /// INT 10h AH=4Fh.
    pub(in crate::bios) fn vbe(&mut self) {
        let bx = self.cpu.regs[3] as u16;
        let cx = self.cpu.regs[1] as u16;
        let dx = self.cpu.regs[2] as u16;
        let status = match self.al() {
            0x00 => self.vbe_controller_info(),
            0x01 => match find(cx) {
                Some(m) if cx & 0x1FF >= 0x100 => {
                    let block = mode_info_block(m, self.lfb_base());
                    let a = self.es_di();
                    self.put_bytes(a, &block);
                    OK
                }
                _ => FAILED,
            },
            0x02 => self.vbe_set_mode(bx),
            0x03 => {
                let mode = match self.current_vbe_mode() {
                    Some(m) => m.0 | (self.dispi_read(ENABLE) & EN_LFB) << 8,
                    None => self.r8(super::bda::VIDEO_MODE) as u16,
                };
                self.set16(3, mode);
                OK
            }
            0x04 => self.vbe_state(dx as u8, cx, bx),
            0x05 => self.vbe_window(bx, dx),
            0x06 => self.vbe_scan_line(bx as u8, cx),
            0x07 => self.vbe_display_start(bx as u8, cx, dx),
            0x08 => self.vbe_dac_width(bx),
            0x09 => self.vbe_palette(bx as u8, cx, dx),
            0x0A => {
                log::debug!(target: "bios", "VBE 4F0Ah: no protected-mode interface");
                FAILED
            }
            f => {
                log::debug!(target: "bios", "VBE function 4F{f:02X}h not supported");
                // AL != 4Fh: function not supported (§4.2), as SeaBIOS answers.
                0x0100
            }
        };
        self.set16(0, status);
    }

    /// 4F00h: the VbeInfoBlock at ES:DI (§4.3). A caller that put "VBE2" in the
    /// signature gets the VBE 2.0+ fields and owns 512 bytes; everything written here
    /// fits the first 256 either way.
    fn vbe_controller_info(&mut self) -> u16 {
        let a = self.es_di();
        let vbe2 = (0..4).map(|i| self.r8(a + i)).eq(*b"VBE2");
        let (seg, off) = (self.cpu.seg[ES].selector, self.cpu.regs[7] as u16);
        let mut b = [0u8; 256];
        let put16 =
            |b: &mut [u8; 256], o: usize, v: u16| b[o..o + 2].copy_from_slice(&v.to_le_bytes());
        b[0..4].copy_from_slice(b"VESA");
        put16(&mut b, 0x04, 0x0300);
        let s = string_offsets();
        put16(&mut b, 0x06, s[0]);
        put16(&mut b, 0x08, 0xF000);
        b[0x0A] = 0x01; // capabilities: DAC switchable to 8 bits
                        // The mode list at offset 22h of the block (the reserved area).
        put16(&mut b, 0x0E, off.wrapping_add(0x22));
        put16(&mut b, 0x10, seg);
        put16(&mut b, 0x12, (VRAM_SIZE >> 16) as u16);
        if vbe2 {
            put16(&mut b, 0x14, 0x0100); // OEM software revision
            for (i, o) in [0x16, 0x1A, 0x1E].into_iter().enumerate() {
                put16(&mut b, o, s[i + 1]);
                put16(&mut b, o + 2, 0xF000);
            }
        }
        let mut at = 0x22;
        for m in MODES {
            put16(&mut b, at, m.0);
            at += 2;
        }
        put16(&mut b, at, 0xFFFF);
        self.put_bytes(a, &b);
        OK
    }

    /// 4F02h: BX bits 0–8 mode, 14 linear framebuffer, 15 keep memory (§4.5).
    fn vbe_set_mode(&mut self, bx: u16) -> u16 {
        let mode = bx & 0x1FF;
        if mode < 0x100 {
            self.set_video_mode((mode as u8 & 0x7F) | ((bx >> 8) as u8 & 0x80));
            return if self.r8(super::bda::VIDEO_MODE) == mode as u8 & 0x7F {
                OK
            } else {
                FAILED
            };
        }
        let Some((_, w, h, bpp)) = find(mode) else {
            log::info!(target: "bios", "VBE 4F02h: mode {mode:#x} not supported");
            return FAILED;
        };
        log::debug!(target: "bios", "VBE set mode {mode:#x}: {w}x{h}x{bpp} (bx {bx:#06x})");
        // A mode set returns the DAC to 6 bits per primary, as on a VGA.
        self.dispi_write(ENABLE, 0);
        if bpp == 8 {
            // The packed-pixel default palette, as mode 13h's.
            self.bus.vga.load_vga256_palette();
        }
        self.dispi_write(BPP, bpp as u16);
        self.dispi_write(XRES, w);
        self.dispi_write(YRES, h);
        self.dispi_write(BANK, 0);
        let mut en = EN_ENABLED;
        if bx & 0x4000 != 0 {
            en |= EN_LFB;
        }
        if bx & 0x8000 != 0 {
            en |= EN_NOCLEAR;
        }
        self.dispi_write(ENABLE, en);
        // The BIOS data area's VGA fields describe a graphics screen of w/8 columns.
        self.w16(super::bda::COLUMNS, w / 8);
        self.w8(super::bda::ROWS, (h / 16).saturating_sub(1) as u8);
        OK
    }

    /// 4F04h: DL=0 buffer size (BX, in 64-byte blocks), 1 save, 2 restore to ES:BX,
    /// for the states in CX (§4.7).
    fn vbe_state(&mut self, dl: u8, cx: u16, bx: u16) -> u16 {
        // Bits 0 and 1 (VGA hardware, BIOS data) are not implemented: fail honestly.
        if cx & 0x0003 != 0 || cx & 0x000C == 0 {
            log::debug!(target: "bios", "VBE 4F04h: states {cx:#x} not supported");
            return FAILED;
        }
        // DAC: width flag, PEL mask, 256 × 3 components; dispi: 10 registers.
        let dac_len = 2 + 768;
        let dispi_len = 20;
        let len = if cx & 4 != 0 { dac_len } else { 0 } + if cx & 8 != 0 { dispi_len } else { 0 };
        let a = lin(self.cpu.seg[ES].selector, bx);
        match dl {
            0 => {
                self.set16(3, (len as u16).div_ceil(64));
                OK
            }
            1 => {
                let mut buf = Vec::with_capacity(len);
                if cx & 4 != 0 {
                    buf.push(self.bus.vga.dac_eight_bit() as u8);
                    buf.push(self.bus.io_read(0x3C6, 1) as u8);
                    self.bus.io_write(0x3C7, 1, 0);
                    for _ in 0..768 {
                        buf.push(self.bus.io_read(0x3C9, 1) as u8);
                    }
                }
                if cx & 8 != 0 {
                    for i in 0..10 {
                        buf.extend_from_slice(&self.dispi_read(i).to_le_bytes());
                    }
                }
                self.put_bytes(a, &buf);
                OK
            }
            2 => {
                let buf: Vec<u8> = (0..len as u32)
                    .map(|i| self.r8(a.wrapping_add(i)))
                    .collect();
                let mut at = 0;
                if cx & 4 != 0 {
                    self.bus.vga.set_dac_eight_bit(buf[0] != 0);
                    self.bus.io_write(0x3C6, 1, buf[1] as u32);
                    self.bus.io_write(0x3C8, 1, 0);
                    for &c in &buf[2..dac_len] {
                        self.bus.io_write(0x3C9, 1, c as u32);
                    }
                    at = dac_len;
                }
                if cx & 8 != 0 {
                    let r = |i: usize| u16::from_le_bytes([buf[at + 2 * i], buf[at + 2 * i + 1]]);
                    self.dispi_write(ENABLE, 0);
                    for i in [BPP, XRES, YRES, BANK] {
                        self.dispi_write(i, r(i as usize));
                    }
                    self.dispi_write(ENABLE, r(ENABLE as usize) | EN_NOCLEAR);
                    self.dispi_write(ENABLE, r(ENABLE as usize));
                    for i in [VIRT_WIDTH, X_OFFSET, Y_OFFSET, BANK] {
                        self.dispi_write(i, r(i as usize));
                    }
                }
                OK
            }
            _ => FAILED,
        }
    }

    /// 4F05h: BH=0 set window BL to DX granules (64 KB), BH=1 get it (§4.8).
    fn vbe_window(&mut self, bx: u16, dx: u16) -> u16 {
        if bx as u8 != 0 {
            return FAILED; // window B does not exist
        }
        if self.current_vbe_mode().is_none() {
            return INVALID_IN_MODE;
        }
        match bx >> 8 {
            0 => {
                if dx as u32 >= (VRAM_SIZE >> 16) as u32 {
                    return FAILED;
                }
                self.dispi_write(BANK, dx);
                OK
            }
            1 => {
                let b = self.dispi_read(BANK);
                self.set16(2, b);
                OK
            }
            _ => FAILED,
        }
    }

    /// 4F06h: BL=0 set the logical line to CX pixels, 1 get, 2 set in bytes, 3 get the
    /// maximum; returns BX bytes per line, CX pixels, DX lines (§4.9).
    fn vbe_scan_line(&mut self, bl: u8, cx: u16) -> u16 {
        let Some((_, w, _, bpp)) = self.current_vbe_mode() else {
            return INVALID_IN_MODE;
        };
        let bpp_bytes = bytes_pp(bpp);
        match bl {
            0 => self.dispi_write(VIRT_WIDTH, cx),
            1 => {}
            2 => self.dispi_write(VIRT_WIDTH, (cx as u32 / bpp_bytes) as u16),
            3 => {
                // The widest line that still holds the visible height: VRAM / YRES.
                let h = self.dispi_read(YRES).max(1) as u32;
                let max_px = ((VRAM_SIZE as u32 / h / bpp_bytes) & !7).min(16000);
                self.set16(3, (max_px * bpp_bytes).min(0xFFFF) as u16);
                self.set16(1, max_px as u16);
                self.set16(2, h as u16);
                return OK;
            }
            _ => return FAILED,
        }
        let vw = self.dispi_read(VIRT_WIDTH).max(w);
        if bl != 1 && (vw as u32) < cx as u32 / if bl == 2 { bpp_bytes } else { 1 } {
            // Did not fit: VBE says fail with 024Fh.
            return NOT_SUPPORTED;
        }
        self.set16(3, (vw as u32 * bpp_bytes).min(0xFFFF) as u16);
        self.set16(1, vw);
        let vh = self.dispi_read(VIRT_HEIGHT);
        self.set16(2, vh);
        OK
    }

    /// 4F07h: BL=00h/80h set the display start to pixel CX of line DX, 01h get it,
    /// 02h/82h set it to byte address ECX (VBE 3.0) (§4.10).
    fn vbe_display_start(&mut self, bl: u8, cx: u16, dx: u16) -> u16 {
        let Some((_, _, _, bpp)) = self.current_vbe_mode() else {
            return INVALID_IN_MODE;
        };
        match bl {
            0x00 | 0x80 => {
                self.dispi_write(X_OFFSET, cx);
                self.dispi_write(Y_OFFSET, dx);
                OK
            }
            0x01 => {
                let (x, y) = (self.dispi_read(X_OFFSET), self.dispi_read(Y_OFFSET));
                self.set16(3, bx_hi_zero(self.cpu.regs[3] as u16));
                self.set16(1, x);
                self.set16(2, y);
                OK
            }
            0x02 | 0x82 => {
                let addr = self.cpu.regs[1];
                let vw = self.dispi_read(VIRT_WIDTH) as u32;
                let line = vw * bytes_pp(bpp);
                if line == 0 {
                    return FAILED;
                }
                self.dispi_write(X_OFFSET, ((addr % line) / bytes_pp(bpp)) as u16);
                self.dispi_write(Y_OFFSET, (addr / line).min(0xFFFF) as u16);
                OK
            }
            _ => FAILED,
        }
    }

    /// 4F08h: BL=0 set the DAC to BH bits per primary (6 or 8; anything above 6
    /// selects 8), BL=1 get; BH returns the width (§4.11).
    fn vbe_dac_width(&mut self, bx: u16) -> u16 {
        match bx as u8 {
            0 => {
                let eight = (bx >> 8) >= 8;
                let en = self.dispi_read(ENABLE);
                let en = if eight { en | EN_DAC8 } else { en & !EN_DAC8 };
                // With the display already on, an ENABLE write changes nothing else.
                self.dispi_write(ENABLE, en);
                self.bus.vga.set_dac_eight_bit(eight);
            }
            1 => {}
            _ => return FAILED,
        }
        let w = if self.bus.vga.dac_eight_bit() { 8 } else { 6 };
        self.set16(3, (w << 8) | (bx & 0xFF));
        OK
    }

    /// 4F09h: BL=00h/80h set CX entries from DX with the table at ES:DI (blue, green,
    /// red, alignment per entry), 01h get them; the secondary palette (02h/03h) does
    /// not exist (§4.12).
    fn vbe_palette(&mut self, bl: u8, cx: u16, dx: u16) -> u16 {
        if dx as u32 + cx as u32 > 256 {
            return FAILED;
        }
        let a = self.es_di();
        match bl {
            0x00 | 0x80 => {
                self.bus.io_write(0x3C8, 1, dx as u32);
                for i in 0..cx as u32 {
                    let e = a.wrapping_add(4 * i);
                    let (b, g, r) = (self.r8(e), self.r8(e + 1), self.r8(e + 2));
                    for c in [r, g, b] {
                        self.bus.io_write(0x3C9, 1, c as u32);
                    }
                }
                OK
            }
            0x01 => {
                self.bus.io_write(0x3C7, 1, dx as u32);
                for i in 0..cx as u32 {
                    let r = self.bus.io_read(0x3C9, 1) as u8;
                    let g = self.bus.io_read(0x3C9, 1) as u8;
                    let b = self.bus.io_read(0x3C9, 1) as u8;
                    self.put_bytes(a.wrapping_add(4 * i), &[b, g, r, 0]);
                }
                OK
            }
            _ => FAILED,
        }
    }
}

/// 4F07h BL=01h returns BH=00h (reserved) and keeps BL.
fn bx_hi_zero(bx: u16) -> u16 {
    bx & 0x00FF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_info_for_1024x768x32_follows_vbe3() {
        let m = find(0x4144).expect("mode 144h");
        let b = mode_info_block(m, 0xE000_0000);
        let w16 = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        // Attributes bits 0 (supported), 3 (colour), 4 (graphics), 7 (LFB): what
        // Linux's setup (mode_attr & 0x99 == 0x99) and SYSLINUX require.
        assert_eq!(w16(0) & 0x99, 0x99);
        assert_eq!((w16(0x12), w16(0x14), b[0x19]), (1024, 768, 32));
        // 1024 pixels × 4 bytes, banked and linear.
        assert_eq!(w16(0x10), 4096);
        assert_eq!(w16(0x32), 4096);
        assert_eq!(b[0x1B], 6, "direct colour memory model");
        // Red 8 bits at 16, green at 8, blue at 0, reserved 8 at 24.
        assert_eq!(&b[0x1F..0x27], &[8, 16, 8, 8, 8, 0, 8, 24]);
        assert_eq!(&b[0x36..0x3E], &[8, 16, 8, 8, 8, 0, 8, 24]);
        assert_eq!(&b[0x28..0x2C], &0xE000_0000u32.to_le_bytes());
        // 64 KB window A at A000h, readable and writable.
        assert_eq!(
            (b[0x02], w16(0x04), w16(0x06), w16(0x08)),
            (7, 64, 64, 0xA000)
        );
        // 16 MB / 3 MB = 5 pages, so 4 more image pages.
        assert_eq!(b[0x1D], 4);
        assert_eq!(b[0x1E], 1);
    }

    #[test]
    fn standard_vesa_numbers_and_direct_colour_masks() {
        // VESA's table: 101h 640×480×8, 103h 800×600×8, 105h 1024×768×8,
        // 107h 1280×1024×8, 111h 640×480 5:6:5, 118h 1024×768 8:8:8.
        for (n, w, h, bpp) in [
            (0x101, 640, 480, 8),
            (0x103, 800, 600, 8),
            (0x105, 1024, 768, 8),
            (0x107, 1280, 1024, 8),
            (0x110, 640, 480, 15),
            (0x111, 640, 480, 16),
            (0x112, 640, 480, 24),
            (0x118, 1024, 768, 24),
            (0x11B, 1280, 1024, 24),
        ] {
            assert_eq!(find(n), Some((n, w, h, bpp)));
        }
        let b = mode_info_block(find(0x111).unwrap(), 0);
        assert_eq!(&b[0x1F..0x27], &[5, 11, 6, 5, 5, 0, 0, 0]);
        assert_eq!(u16::from_le_bytes([b[0x10], b[0x11]]), 1280);
        let b = mode_info_block(find(0x110).unwrap(), 0);
        assert_eq!(&b[0x1F..0x27], &[5, 10, 5, 5, 5, 0, 1, 15]);
        let b = mode_info_block(find(0x101).unwrap(), 0);
        assert_eq!(b[0x1B], 4, "packed pixel");
        assert_eq!(&b[0x1F..0x27], &[0; 8]);
        // 1280×1024×24: 3840-byte lines.
        let b = mode_info_block(find(0x11B).unwrap(), 0);
        assert_eq!(u16::from_le_bytes([b[0x32], b[0x33]]), 3840);
    }
}
