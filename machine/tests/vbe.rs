//! VBE 3.0 in the built-in BIOS (INT 10h AX=4Fxxh) on the std-vga device, driven by
//! small guest programs on a PC that has run its POST. Expected values come from the
//! VESA BIOS Extension Core Functions Standard 3.0 (block layouts, status codes, the
//! standard mode numbers) and QEMU's standard-vga documentation (PCI ID 1234:1111,
//! BAR 0 = framebuffer), not from this BIOS.

use cpu::{Bus, CS, DS, ES, SS};
use machine::{Config, Pc};

/// A PC after its POST (no disks).
fn pc() -> Pc {
    let mut pc = Pc::new(Config {
        memory_mb: 4,
        no_reboot: true,
        ..Config::default()
    })
    .unwrap();
    pc.run(100_000);
    pc
}

/// Runs `int 10h; hlt` at 0000:7C00h with AX, BX, CX, DX, DI and ES = 0 as given
/// (ECX whole, for 4F07h BL=02h) and returns (AX, BX, CX, DX).
fn int10(pc: &mut Pc, ax: u16, bx: u16, ecx: u32, dx: u16, di: u16) -> (u16, u16, u16, u16) {
    for (i, b) in [0xCD, 0x10, 0xF4].iter().enumerate() {
        pc.bus.write8(0x7C00 + i as u32, *b);
    }
    pc.cpu.flush_cache();
    for s in [CS, DS, ES, SS] {
        pc.cpu.seg[s].load_real(0);
    }
    pc.cpu.regs[0] = ax as u32;
    pc.cpu.regs[3] = bx as u32;
    pc.cpu.regs[1] = ecx;
    pc.cpu.regs[2] = dx as u32;
    pc.cpu.regs[7] = di as u32;
    pc.cpu.regs[4] = 0x7000;
    pc.cpu.eip = 0x7C00;
    pc.cpu.eflags = 0x2;
    pc.cpu.halted = false;
    pc.bus.exit = None;
    pc.run(50_000);
    assert!(pc.cpu.halted, "INT 10h AX={ax:#06x} did not return");
    let r = |i: usize| pc.cpu.regs[i] as u16;
    (r(0), r(3), r(1), r(2))
}

fn r16(pc: &mut Pc, a: u32) -> u16 {
    pc.bus.read16(a)
}

/// BAR 0 of device 2 (the std-vga function) through configuration mechanism #1.
fn bar0(pc: &mut Pc) -> u32 {
    pc.bus.io_write(0xCF8, 4, 0x8000_0000 | 2 << 11 | 0x10);
    pc.bus.io_read(0xCFC, 4) & !0xF
}

#[test]
fn controller_info_lists_the_modes() {
    let mut pc = pc();
    // "VBE2" in the signature asks for the VBE 2.0+ fields.
    for (i, b) in b"VBE2".iter().enumerate() {
        pc.bus.write8(0x1000 + i as u32, *b);
    }
    let (ax, ..) = int10(&mut pc, 0x4F00, 0, 0, 0, 0x1000);
    assert_eq!(ax, 0x004F);
    let sig: Vec<u8> = (0..4).map(|i| pc.bus.read8(0x1000 + i)).collect();
    assert_eq!(sig, b"VESA");
    assert_eq!(r16(&mut pc, 0x1004), 0x0300, "VBE 3.0");
    // 16 MB of video memory in 64 KB units.
    assert_eq!(r16(&mut pc, 0x1012), 256);
    // Capabilities bit 0: the DAC can switch to 8 bits.
    assert_eq!(pc.bus.read8(0x100A) & 1, 1);
    // The mode list: a far pointer to words ending in FFFFh.
    let (off, seg) = (r16(&mut pc, 0x100E), r16(&mut pc, 0x1010));
    let list = ((seg as u32) << 4) + off as u32;
    let mut modes = Vec::new();
    for i in 0..200 {
        let m = r16(&mut pc, list + 2 * i);
        if m == 0xFFFF {
            break;
        }
        modes.push(m);
    }
    for m in [
        0x101, 0x103, 0x105, 0x107, 0x110, 0x111, 0x112, 0x118, 0x11B, 0x144,
    ] {
        assert!(modes.contains(&m), "mode {m:#x} missing from {modes:x?}");
    }
    // The OEM string: a far pointer to a NUL-terminated string.
    let (off, seg) = (r16(&mut pc, 0x1006), r16(&mut pc, 0x1008));
    let s = ((seg as u32) << 4) + off as u32;
    let oem: Vec<u8> = (0..64)
        .map(|i| pc.bus.read8(s + i))
        .take_while(|&b| b != 0)
        .collect();
    assert!(!oem.is_empty() && oem.iter().all(|b| b.is_ascii_graphic() || *b == b' '));
}

#[test]
fn mode_info_points_at_the_pci_framebuffer() {
    let mut pc = pc();
    let (ax, ..) = int10(&mut pc, 0x4F01, 0, 0x118, 0, 0x2000);
    assert_eq!(ax, 0x004F);
    let lfb = u32::from(r16(&mut pc, 0x2028)) | u32::from(r16(&mut pc, 0x202A)) << 16;
    assert_eq!(lfb, bar0(&mut pc));
    assert_ne!(lfb, 0);
    // Mode 118h: 1024×768, 24 bpp, direct colour, 3072-byte lines.
    assert_eq!(r16(&mut pc, 0x2012), 1024);
    assert_eq!(r16(&mut pc, 0x2014), 768);
    assert_eq!(pc.bus.read8(0x2019), 24);
    assert_eq!(pc.bus.read8(0x201B), 6);
    assert_eq!(r16(&mut pc, 0x2032), 3072);
    // An unknown mode fails with AH=01h.
    let (ax, ..) = int10(&mut pc, 0x4F01, 0, 0x1F0, 0, 0x2000);
    assert_eq!(ax, 0x014F);
}

#[test]
fn set_mode_draws_the_framebuffer_and_mode_3_returns_to_text() {
    let mut pc = pc();
    // 1024×768×32 with the linear framebuffer (bit 14).
    let (ax, ..) = int10(&mut pc, 0x4F02, 0x4144, 0, 0, 0);
    assert_eq!(ax, 0x004F);
    let (ax, bx, ..) = int10(&mut pc, 0x4F03, 0, 0, 0, 0);
    assert_eq!((ax, bx), (0x004F, 0x4144));
    let lfb = bar0(&mut pc);
    // Pixel (3, 2): bytes B, G, R, X at 2 × 4096 + 3 × 4.
    for (i, b) in [0x33, 0x22, 0x11, 0x00].iter().enumerate() {
        pc.bus.write8(lfb + 2 * 4096 + 12 + i as u32, *b);
    }
    let mut buf = Vec::new();
    assert_eq!(pc.render(&mut buf), (1024, 768));
    assert_eq!(buf[2 * 1024 + 3], 0x112233);
    assert_eq!(pc.screen_text(), "", "no text screen in a VBE mode");
    // Display start at line 2 (4F07h BL=00h): the pixel moves to the top row.
    let (ax, ..) = int10(&mut pc, 0x4F07, 0, 0, 2, 0);
    assert_eq!(ax, 0x004F);
    let (_, _, cx, dx) = int10(&mut pc, 0x4F07, 1, 0, 0, 0);
    assert_eq!((cx, dx), (0, 2));
    pc.render(&mut buf);
    assert_eq!(buf[3], 0x112233);
    // Scan line length (4F06h BL=01h): 4096 bytes, 1024 pixels, 4096 lines of VRAM.
    let (ax, bx, cx, dx) = int10(&mut pc, 0x4F06, 1, 0, 0, 0);
    assert_eq!((ax, bx, cx, dx), (0x004F, 4096, 1024, 4096));
    // Banked window (4F05h): bank 1 puts A0000h at VRAM 64 KB.
    let (ax, ..) = int10(&mut pc, 0x4F05, 0, 0, 1, 0);
    assert_eq!(ax, 0x004F);
    pc.bus.write8(0xA0010, 0x5A);
    assert_eq!(pc.bus.read8(lfb + 0x1_0010), 0x5A);
    let (_, _, _, dx) = int10(&mut pc, 0x4F05, 0x0100, 0, 0, 0);
    assert_eq!(dx, 1);
    // Mode 3 through 4F02h: the VGA text screen is back.
    let (ax, ..) = int10(&mut pc, 0x4F02, 0x0003, 0, 0, 0);
    assert_eq!(ax, 0x004F);
    assert_eq!(pc.render(&mut buf), (720, 400));
}

#[test]
fn eight_bit_mode_dac_width_and_palette() {
    let mut pc = pc();
    let (ax, ..) = int10(&mut pc, 0x4F02, 0x4101, 0, 0, 0);
    assert_eq!(ax, 0x004F);
    // 4F08h: 8 bits per primary, reported back in BH.
    let (ax, bx, ..) = int10(&mut pc, 0x4F08, 0x0800, 0, 0, 0);
    assert_eq!((ax, bx >> 8), (0x004F, 8));
    // 4F09h: entry 5 = (blue 30h, green 80h, red FFh, pad) from 0000:3000h.
    for (i, b) in [0x30, 0x80, 0xFF, 0].iter().enumerate() {
        pc.bus.write8(0x3000 + i as u32, *b);
    }
    let (ax, ..) = int10(&mut pc, 0x4F09, 0, 1, 5, 0x3000);
    assert_eq!(ax, 0x004F);
    let lfb = bar0(&mut pc);
    pc.bus.write8(lfb + 640 + 7, 5);
    let mut buf = Vec::new();
    assert_eq!(pc.render(&mut buf), (640, 480));
    assert_eq!(buf[640 + 7], 0xFF8030);
    // Read it back (BL=01h) into 3100h.
    let (ax, ..) = int10(&mut pc, 0x4F09, 1, 1, 5, 0x3100);
    assert_eq!(ax, 0x004F);
    let got: Vec<u8> = (0..3).map(|i| pc.bus.read8(0x3100 + i)).collect();
    assert_eq!(got, [0x30, 0x80, 0xFF]);
}

#[test]
fn unsupported_requests_fail_with_vbe_status_codes() {
    let mut pc = pc();
    // 4F0Ah: no protected-mode interface here (AH=01h, failed).
    assert_eq!(int10(&mut pc, 0x4F0A, 0, 0, 0, 0).0, 0x014F);
    // 4F04h: the DAC and SVGA states fit in 13 blocks of 64 bytes (2 + 768 + 20
    // bytes); the VGA hardware state (bit 0) is not saved and fails.
    let (ax, bx, ..) = int10(&mut pc, 0x4F04, 0, 0x000C, 0, 0);
    assert_eq!((ax, bx), (0x004F, 13));
    assert_eq!(int10(&mut pc, 0x4F04, 0, 0x000F, 0, 0).0, 0x014F);
    // 4F05h outside a VBE mode: invalid in the current video mode (AH=03h).
    assert_eq!(int10(&mut pc, 0x4F05, 0, 0, 0, 0).0, 0x034F);
    // A function VBE 3.0 does not define: AL != 4Fh.
    assert_ne!(int10(&mut pc, 0x4F7F, 0, 0, 0, 0).0 & 0xFF, 0x4F);
}
