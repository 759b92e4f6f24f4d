//! Whole-VGA tests through the public API: ports, memory window, modes, fonts, rendering.

use super::*;

const BLUE: u32 = 0x0000AA;
const YELLOW: u32 = 0xFFFF55;
const LIGHT_BLUE_BG: u32 = 0x5555FF;

/// Mode 03h frame period: 28.322 MHz / (900 dots × 449 lines).
fn mode3_frames(f: u64) -> Nanos {
    (f as f64 * 900.0 * 449.0 / 28.322e6 * 1e9) as Nanos + 1000
}

fn out(v: &mut Vga, port: u16, idx: u8, val: u8) {
    v.port_write(port, idx);
    v.port_write(port + 1, val);
}

fn attr_write(v: &mut Vga, idx: u8, val: u8) {
    v.port_read(0x3DA, 0);
    v.port_write(0x3C0, idx);
    v.port_write(0x3C0, val);
    v.port_write(0x3C0, 0x20);
}

fn px(buf: &[u32], w: usize, x: usize, y: usize) -> u32 {
    buf[y * w + x]
}

/// 16-line glyphs: 'A' (41h) = dots 0 and 7 on line 0 only; C4h = dot 7 on every line.
fn load_test_glyphs(v: &mut Vga) {
    let mut a = [0u8; 16];
    a[0] = 0x81;
    v.load_font(0, 0x41, &a, 16, false);
    v.load_font(0, 0xC4, &[0x01; 16], 16, false);
}

#[test]
fn power_on_is_mode3_with_blank_text() {
    let mut v = Vga::new();
    let (cols, rows, cells) = v.text_screen().unwrap();
    assert_eq!((cols, rows), (80, 25));
    assert!(cells.iter().all(|&c| c == (0x20, 0x07)));
    assert_eq!(v.port_read(0x3CC, 0), 0x67);
    v.mem_write(0xB8000 + 2 * (80 * 2 + 5), b'H');
    v.mem_write(0xB8000 + 2 * (80 * 2 + 5) + 1, 0x1F);
    let (_, _, cells) = v.text_screen().unwrap();
    assert_eq!(cells[80 * 2 + 5], (b'H', 0x1F));
    assert_eq!(v.cursor(), Some((0, 0)));
    let mut buf = Vec::new();
    assert_eq!(v.render(0, &mut buf), (720, 400));
}

#[test]
fn dac_ports_auto_increment_and_three_step_rgb() {
    let mut v = Vga::new();
    v.port_write(0x3C8, 0x10);
    for c in [1, 2, 3, 4, 5, 6] {
        v.port_write(0x3C9, c);
    }
    assert_eq!(v.port_read(0x3C8, 0), 0x12);
    v.port_write(0x3C7, 0x10);
    assert_eq!(v.port_read(0x3C7, 0), 3);
    let got: Vec<u8> = (0..6).map(|_| v.port_read(0x3C9, 0)).collect();
    assert_eq!(got, [1, 2, 3, 4, 5, 6]);
    // Default EGA palette entry 3Fh is white.
    v.port_write(0x3C7, 0x3F);
    assert_eq!(
        (0..3).map(|_| v.port_read(0x3C9, 0)).collect::<Vec<_>>(),
        [0x3F; 3]
    );
}

#[test]
fn reading_input_status1_resets_attribute_flip_flop() {
    let mut v = Vga::new();
    v.port_read(0x3DA, 0);
    v.port_write(0x3C0, 0x21); // index 1, flip-flop now expects data
    v.port_read(0x3DA, 0); // back to index
    v.port_write(0x3C0, 0x22); // taken as index 2, not as data for register 1
    assert_eq!(v.port_read(0x3C0, 0), 0x22);
    v.port_write(0x3C0, 0x3A);
    v.port_write(0x3C0, 0x21);
    assert_eq!(v.port_read(0x3C1, 0), 0x01);
    v.port_read(0x3DA, 0);
    v.port_write(0x3C0, 0x22);
    assert_eq!(v.port_read(0x3C1, 0), 0x3A);
}

#[test]
fn crtc_ports_follow_misc_output_io_select() {
    let mut v = Vga::new();
    out(&mut v, 0x3D4, 0x0E, 0x12);
    assert_eq!(v.port_read(0x3D5, 0), 0x12);
    assert_eq!(v.port_read(0x3B5, 0), 0xFF);
    v.port_write(0x3C2, 0x66);
    assert_eq!(v.port_read(0x3D5, 0), 0xFF);
    v.port_write(0x3B4, 0x0E);
    assert_eq!(v.port_read(0x3B5, 0), 0x12);
}

#[test]
fn input_status1_retrace_toggles_with_time() {
    let mut v = Vga::new();
    let line_ns = 900.0 / 28.322e6 * 1e9;
    let mut seen = Vec::new();
    for l in [0.0, 412.5, 449.0 + 100.0, 449.0 + 413.0] {
        seen.push(v.port_read(0x3DA, (l * line_ns) as Nanos) & 0x08 != 0);
    }
    assert_eq!(seen, [false, true, false, true]);
}

#[test]
fn mode13h_pixel_renders_dac_colour() {
    let mut v = Vga::new();
    assert!(v.set_mode(0x13, true));
    v.write_pixel(10, 20, 0x2C);
    assert_eq!(v.read_pixel(10, 20), 0x2C);
    // Chain-4: the same pixel is byte 320 * 20 + 10 of the window.
    assert_eq!(v.mem_read(0xA0000 + 320 * 20 + 10), 0x2C);
    v.mem_write(0xA0000 + 320 * 199 + 319, 0x01);
    let mut buf = Vec::new();
    assert_eq!(v.render(0, &mut buf), (320, 200));
    // Default entry 2Ch: first wheel, hue 12 = yellow (3F, 3F, 00).
    assert_eq!(px(&buf, 320, 10, 20), 0xFFFF00);
    assert_eq!(px(&buf, 320, 11, 20), 0x000000);
    assert_eq!(px(&buf, 320, 319, 199), BLUE);
    // Reprogram entry 2Ch through the DAC ports: (10h, 20h, 30h) -> (41h, 82h, C3h).
    v.port_write(0x3C8, 0x2C);
    for c in [0x10, 0x20, 0x30] {
        v.port_write(0x3C9, c);
    }
    v.render(0, &mut buf);
    assert_eq!(px(&buf, 320, 10, 20), 0x4182C3);
}

#[test]
fn unchained_mode_x_renders_planes_in_sequence() {
    let mut v = Vga::new();
    assert!(v.set_mode(0x13, true));
    out(&mut v, 0x3C4, 0x04, 0x06); // chain-4 off
    out(&mut v, 0x3D4, 0x14, 0x00); // double-word off
    out(&mut v, 0x3D4, 0x17, 0xE3); // byte mode
    out(&mut v, 0x3C4, 0x02, 0x02); // plane 1 only
    v.mem_write(0xA0000 + 80 + 2, 0x28); // row 1, address 2, plane 1 -> x = 9
    let mut buf = Vec::new();
    v.render(0, &mut buf);
    assert_eq!(px(&buf, 320, 9, 1), 0xFF0000); // entry 28h: red
    assert_eq!(v.read_pixel(9, 1), 0x28);
}

#[test]
fn text_glyphs_ninth_column_and_cursor() {
    let mut v = Vga::new();
    load_test_glyphs(&mut v);
    for (i, &b) in [0x41, 0x1E, 0xC4, 0x1E, 0x41, 0x1E].iter().enumerate() {
        v.mem_write(0xB8000 + i as u32, b);
    }
    let mut buf = Vec::new();
    let (w, _) = v.render(0, &mut buf);
    assert_eq!(px(&buf, w, 0, 0), YELLOW);
    assert_eq!(px(&buf, w, 1, 0), BLUE);
    assert_eq!(px(&buf, w, 7, 0), YELLOW);
    // 9th column of 'A' is background; of C4h it repeats the 8th dot.
    assert_eq!(px(&buf, w, 8, 0), BLUE);
    assert_eq!(px(&buf, w, 9 + 7, 5), YELLOW);
    assert_eq!(px(&buf, w, 9 + 8, 5), YELLOW);
    assert_eq!(px(&buf, w, 0, 1), BLUE);
    // Cursor at cell 0, scan lines 13-14 (CRTC 0Ah/0Bh = 0Dh/0Eh), whole 9-dot width.
    assert_eq!(px(&buf, w, 3, 12), BLUE);
    assert_eq!(px(&buf, w, 3, 13), YELLOW);
    assert_eq!(px(&buf, w, 8, 14), YELLOW);
    assert_eq!(px(&buf, w, 3, 15), BLUE);
    // 16 frames later the cursor is in its off phase.
    v.render(mode3_frames(16), &mut buf);
    assert_eq!(px(&buf, w, 3, 13), BLUE);
    // Line graphics disabled (AC 10h bit 2): C4h's 9th column becomes background.
    attr_write(&mut v, 0x10, 0x08);
    v.render(0, &mut buf);
    assert_eq!(px(&buf, w, 9 + 8, 5), BLUE);
    // 8-dot clocking: 640 wide, the second cell starts at x = 8.
    out(&mut v, 0x3C4, 0x01, 0x01);
    assert_eq!(v.render(0, &mut buf), (640, 400));
    assert_eq!(px(&buf, 640, 8 + 7, 5), YELLOW);
    assert_eq!(px(&buf, 640, 16 + 7, 0), YELLOW);
}

#[test]
fn cursor_position_and_disable() {
    let mut v = Vga::new();
    out(&mut v, 0x3D4, 0x0E, 0x00);
    out(&mut v, 0x3D4, 0x0F, 80 * 3 + 7);
    assert_eq!(v.cursor(), Some((3, 7)));
    // Past the last row: hidden, as BIOSes do to hide it.
    out(&mut v, 0x3D4, 0x0E, 0x07);
    out(&mut v, 0x3D4, 0x0F, 0xD0);
    assert_eq!(v.cursor(), None);
    out(&mut v, 0x3D4, 0x0E, 0x00);
    out(&mut v, 0x3D4, 0x0A, 0x20);
    assert_eq!(v.cursor(), None);
}

#[test]
fn blink_attribute_and_bright_background() {
    let mut v = Vga::new();
    load_test_glyphs(&mut v);
    out(&mut v, 0x3D4, 0x0A, 0x20); // cursor off
    v.mem_write(0xB8000, 0x41);
    v.mem_write(0xB8001, 0x9E);
    let mut buf = Vec::new();
    let (w, _) = v.render(0, &mut buf);
    assert_eq!(px(&buf, w, 0, 0), YELLOW);
    assert_eq!(px(&buf, w, 1, 0), BLUE);
    let before = v.frame_version(mode3_frames(0));
    // Characters blink every 32 frames: the foreground shows background.
    v.render(mode3_frames(32), &mut buf);
    assert_eq!(px(&buf, w, 0, 0), BLUE);
    assert_ne!(v.frame_version(mode3_frames(32)), before);
    // Blink disabled: bit 7 is background intensity, 9 -> AC 09h = 39h = light blue.
    attr_write(&mut v, 0x10, 0x04);
    v.render(mode3_frames(32), &mut buf);
    assert_eq!(px(&buf, w, 0, 0), YELLOW);
    assert_eq!(px(&buf, w, 1, 0), LIGHT_BLUE_BG);
}

#[test]
fn start_address_and_pel_panning() {
    let mut v = Vga::new();
    load_test_glyphs(&mut v);
    out(&mut v, 0x3D4, 0x0A, 0x20);
    v.mem_write(0xB8000 + 160, 0x41);
    v.mem_write(0xB8000 + 161, 0x1E);
    out(&mut v, 0x3D4, 0x0D, 80); // start at row 1
    let (_, _, cells) = v.text_screen().unwrap();
    assert_eq!(cells[0], (0x41, 0x1E));
    let mut buf = Vec::new();
    let (w, _) = v.render(0, &mut buf);
    assert_eq!(px(&buf, w, 7, 0), YELLOW);
    // 9-dot panning value 0 shifts by one dot: dot 7 appears at x = 6.
    attr_write(&mut v, 0x13, 0x00);
    v.render(0, &mut buf);
    assert_eq!(px(&buf, w, 6, 0), YELLOW);
    assert_eq!(px(&buf, w, 7, 0), BLUE);
}

#[test]
fn line_compare_splits_to_address_zero() {
    let mut v = Vga::new();
    assert!(v.set_mode(0x13, true));
    v.mem_write(0xA0000, 0x0F); // pixel (0, 0): white
    out(&mut v, 0x3D4, 0x0C, 0x10); // start address 1000h counter units = 4000h bytes
                                    // Split at physical line 100 = row 50: bit 8 (overflow bit 4) and bit 9 (max scan
                                    // line bit 6) cleared.
    out(&mut v, 0x3D4, 0x18, 100);
    out(&mut v, 0x3D4, 0x07, 0x0F);
    out(&mut v, 0x3D4, 0x09, 0x01);
    let mut buf = Vec::new();
    v.render(0, &mut buf);
    assert_eq!(px(&buf, 320, 0, 0), 0);
    assert_eq!(px(&buf, 320, 0, 49), 0);
    assert_eq!(px(&buf, 320, 0, 50), 0xFFFFFF);
}

#[test]
fn mode12h_planar_pixels() {
    let mut v = Vga::new();
    assert!(v.set_mode(0x12, true));
    assert_eq!(v.text_screen(), None);
    assert_eq!(v.cursor(), None);
    v.write_pixel(639, 479, 0x04);
    v.write_pixel(9, 2, 0x0B);
    assert_eq!(v.read_pixel(639, 479), 0x04);
    assert_eq!(v.read_pixel(9, 2), 0x0B);
    assert_eq!(v.read_pixel(8, 2), 0);
    // Pixel (9, 2) is bit 6 of byte 2 * 80 + 1; colour 1011b sets planes 0, 1, 3.
    out(&mut v, 0x3CE, 0x04, 0x03);
    assert_eq!(v.mem_read(0xA0000 + 161), 0x40);
    out(&mut v, 0x3CE, 0x04, 0x02);
    assert_eq!(v.mem_read(0xA0000 + 161), 0x00);
    let mut buf = Vec::new();
    assert_eq!(v.render(0, &mut buf), (640, 480));
    assert_eq!(px(&buf, 640, 639, 479), 0xAA0000);
    assert_eq!(px(&buf, 640, 9, 2), 0x55FFFF); // AC 0Bh = 3Bh: light cyan
                                               // Bit 7 XORs.
    v.write_pixel(639, 479, 0x84);
    assert_eq!(v.read_pixel(639, 479), 0);
}

#[test]
fn cga_modes_interleave_scan_lines() {
    let mut v = Vga::new();
    assert!(v.set_mode(0x04, true));
    // Pixel (5, 1): odd line -> bank 2000h, byte 5 / 4 = 1, bits 5-4.
    v.write_pixel(5, 1, 3);
    assert_eq!(v.mem_read(0xB8000 + 0x2001), 0x30);
    assert_eq!(v.read_pixel(5, 1), 3);
    v.mem_write(0xB8000 + 80 + 1, 0x02); // line 2, pixel 7 = colour 2
    assert_eq!(v.read_pixel(7, 2), 2);
    let mut buf = Vec::new();
    assert_eq!(v.render(0, &mut buf), (320, 200));
    // Colour 3 -> AC 17h -> bright white; colour 2 -> AC 15h -> light magenta.
    assert_eq!(px(&buf, 320, 5, 1), 0xFFFFFF);
    assert_eq!(px(&buf, 320, 7, 2), 0xFF55FF);
    assert_eq!(px(&buf, 320, 5, 0), 0);

    assert!(v.set_mode(0x06, true));
    v.write_pixel(9, 3, 1);
    assert_eq!(v.mem_read(0xB8000 + 0x2000 + 80 + 1), 0x40);
    assert_eq!(v.render(0, &mut buf), (640, 200));
    assert_eq!(px(&buf, 640, 9, 3), 0xFFFFFF);
}

#[test]
fn mode_resolutions() {
    let mut v = Vga::new();
    let mut buf = Vec::new();
    for (mode, size) in [
        (0x00, (360, 400)),
        (0x03, (720, 400)),
        (0x07, (720, 400)),
        (0x0D, (320, 200)),
        (0x0E, (640, 200)),
        (0x0F, (640, 350)),
        (0x10, (640, 350)),
        (0x11, (640, 480)),
        (0x12, (640, 480)),
        (0x13, (320, 200)),
    ] {
        assert!(v.set_mode(mode, true), "mode {mode:02x}");
        assert_eq!(v.render(0, &mut buf), size, "mode {mode:02x}");
        assert_eq!(buf.len(), size.0 * size.1);
    }
    assert_eq!(v.text_screen().map(|t| (t.0, t.1)), None);
    v.set_mode(0x01, true);
    assert_eq!(v.text_screen().map(|t| (t.0, t.1)), Some((40, 25)));
}

#[test]
fn mono_mode7_text_at_b0000_with_underline() {
    let mut v = Vga::new();
    assert!(v.set_mode(0x07, true));
    load_test_glyphs(&mut v);
    out(&mut v, 0x3B4, 0x0A, 0x20);
    v.mem_write(0xB0000, 0x41);
    v.mem_write(0xB0001, 0x01); // underline attribute
    assert_eq!(v.mem_read(0xB8000), 0xFF);
    let (_, _, cells) = v.text_screen().unwrap();
    assert_eq!(cells[0], (0x41, 0x01));
    let mut buf = Vec::new();
    let (w, _) = v.render(0, &mut buf);
    // AC 01h = 08h -> mono DAC grey 2Ah; underline on scan line 15 (CRTC 14h = 0Fh).
    assert_eq!(px(&buf, w, 0, 0), 0xAAAAAA);
    assert_eq!(px(&buf, w, 3, 0), 0);
    assert_eq!(px(&buf, w, 3, 15), 0xAAAAAA);
    assert_eq!(px(&buf, w, 3, 14), 0);
}

#[test]
fn unknown_mode_changes_nothing() {
    let mut v = Vga::new();
    v.mem_write(0xB8000, b'Z');
    let before = v.frame_version(0);
    assert!(!v.set_mode(0x14, true));
    assert!(!v.set_mode(0x83, true));
    assert_eq!(v.frame_version(0), before);
    assert_eq!(v.text_screen().unwrap().2[0], (b'Z', 0x07));
}

#[test]
fn set_mode_without_clear_keeps_memory() {
    let mut v = Vga::new();
    v.mem_write(0xB8000, b'Q');
    assert!(v.set_mode(0x03, false));
    assert_eq!(v.text_screen().unwrap().2[0], (b'Q', 0x07));
    assert!(v.set_mode(0x03, true));
    assert_eq!(v.text_screen().unwrap().2[0], (0x20, 0x07));
}

#[test]
fn font_8x8_with_set_height_gives_80x50() {
    let mut v = Vga::new();
    v.load_font(0, 0, &[0x18; 256 * 8], 8, true);
    let (cols, rows, _) = v.text_screen().unwrap();
    assert_eq!((cols, rows), (80, 50));
    let mut buf = Vec::new();
    assert_eq!(v.render(0, &mut buf), (720, 400));
    // 8x14 in 400 lines: 28 rows, display end 392 lines.
    v.load_font(0, 0, &[0; 256 * 14], 14, true);
    assert_eq!(v.text_screen().map(|t| (t.0, t.1)), Some((80, 28)));
    assert_eq!(v.render(0, &mut buf), (720, 392));
}

#[test]
fn font_blocks_selected_by_character_map_select() {
    let mut v = Vga::new();
    out(&mut v, 0x3D4, 0x0A, 0x20);
    let mut glyph = [0u8; 16];
    glyph[0] = 0x80;
    // Block 4 lives at plane-2 offset 2000h; select it as map A (bit 5 -> 20h).
    v.load_font(4, 0x41, &glyph, 16, false);
    out(&mut v, 0x3C4, 0x03, 0x20);
    v.mem_write(0xB8000, 0x41);
    v.mem_write(0xB8001, 0x0F); // bit 3 set: map A
    v.mem_write(0xB8002, 0x41);
    v.mem_write(0xB8003, 0x07); // bit 3 clear: map B (block 0, blank 'A')
    let mut buf = Vec::new();
    let (w, _) = v.render(0, &mut buf);
    assert_eq!(px(&buf, w, 0, 0), 0xFFFFFF);
    assert_eq!(px(&buf, w, 9, 0), 0);
}

#[test]
fn display_disabled_renders_black() {
    let mut v = Vga::new();
    v.mem_write(0xB8001, 0x70); // grey background on cell 0
    let mut buf = Vec::new();
    v.render(0, &mut buf);
    assert_eq!(buf[0], 0xAAAAAA);
    out(&mut v, 0x3C4, 0x01, 0x20);
    assert_eq!(v.render(0, &mut buf), (720, 400));
    assert!(buf.iter().all(|&p| p == 0));
    out(&mut v, 0x3C4, 0x01, 0x00);
    v.port_read(0x3DA, 0);
    v.port_write(0x3C0, 0x00); // palette address source clear
    v.render(0, &mut buf);
    assert!(buf.iter().all(|&p| p == 0));
}

#[test]
fn frame_version_tracks_changes() {
    let mut v = Vga::new();
    out(&mut v, 0x3D4, 0x0A, 0x20);
    let a = v.frame_version(0);
    assert_eq!(v.frame_version(0), a);
    v.mem_read(0xB8000);
    assert_eq!(v.frame_version(0), a);
    v.mem_write(0xB8000, 0x20); // same value: nothing changed
    assert_eq!(v.frame_version(0), a);
    v.mem_write(0xB8000, 0x21);
    let b = v.frame_version(0);
    assert_ne!(b, a);
    v.port_write(0x3C8, 0);
    assert_ne!(v.frame_version(0), b);
    // Graphics modes have no blink phase.
    v.set_mode(0x13, true);
    assert_eq!(v.frame_version(0), v.frame_version(mode3_frames(40)));
}

/// xorshift64: deterministic pseudo-random numbers for the fuzz test.
fn rng(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

#[test]
fn random_guest_activity_never_panics() {
    let mut v = Vga::new();
    let mut buf = Vec::new();
    let mut s = 0x1234_5678_9ABC_DEF0u64;
    for round in 0..40_000u64 {
        let r = rng(&mut s);
        let port = 0x3B0 + (r % 0x30) as u16;
        let val = (r >> 8) as u8;
        let addr = 0xA0000 + ((r >> 16) % 0x20000) as u32;
        match (r >> 40) % 8 {
            0..=2 => v.port_write(port, val),
            3 => {
                v.port_read(port, r >> 20);
            }
            4 | 5 => v.mem_write(addr, val),
            6 => {
                v.mem_read(addr);
            }
            _ => {
                v.write_pixel((r >> 44) as u32 % 1100, (r >> 54) as u32 % 800, val);
                v.read_pixel((r >> 44) as u32 % 1100, (r >> 54) as u32 % 800);
            }
        }
        if round % 2000 == 0 {
            let (w, h) = v.render(r >> 16, &mut buf);
            assert!(w <= 1024 && h <= 768 && buf.len() == w * h);
            let _ = (v.text_screen(), v.cursor(), v.frame_version(r));
        }
        if round % 10_000 == 0 {
            v.set_mode(
                [0x03, 0x13, 0x12, 0x04][(round / 10_000) as usize % 4],
                true,
            );
        }
    }
}

#[test]
fn extreme_crtc_values_render_bounded() {
    for fill in [0x00u8, 0xFF, 0x80, 0x7F] {
        for mode in [0x03, 0x12, 0x13, 0x04] {
            let mut v = Vga::new();
            v.set_mode(mode, true);
            out(&mut v, 0x3D4, 0x11, 0x00);
            for i in 0..0x19 {
                out(&mut v, 0x3D4, i, fill);
            }
            for i in 0..5 {
                out(&mut v, 0x3C4, i, fill);
            }
            for i in 0..0x15 {
                attr_write(&mut v, i, fill);
            }
            let mut buf = Vec::new();
            let (w, h) = v.render(u64::MAX, &mut buf);
            assert!((1..=1024).contains(&w) && (1..=768).contains(&h));
            assert_eq!(buf.len(), w * h);
            let _ = (v.text_screen(), v.cursor(), v.port_read(0x3DA, u64::MAX));
            let _ = (v.port_read(0x3BA, 0), v.frame_version(u64::MAX));
        }
    }
}

#[test]
fn sixteen_colour_modes_use_their_bios_palettes() {
    let mut v = Vga::new();
    let mut buf = Vec::new();
    // Mode 0Dh: colour 14 -> AC 0Eh = 16h -> 200-line DAC entry 16h (bit 4 intensity):
    // yellow. Mode 10h: colour 6 -> AC 06h = 14h -> EGA brown.
    assert!(v.set_mode(0x0D, true));
    v.write_pixel(319, 199, 0x0E);
    assert_eq!(v.read_pixel(319, 199), 0x0E);
    v.render(0, &mut buf);
    assert_eq!(px(&buf, 320, 319, 199), YELLOW);
    assert!(v.set_mode(0x10, true));
    v.write_pixel(100, 349, 0x06);
    v.render(0, &mut buf);
    assert_eq!(px(&buf, 640, 100, 349), 0xAA5500);
    assert_eq!(px(&buf, 640, 101, 349), 0);
}

#[test]
fn memory_map_select_128k_window_aliases_planes() {
    let mut v = Vga::new();
    assert!(v.set_mode(0x12, true));
    assert_eq!(v.mem_read(0xB8000), 0xFF);
    out(&mut v, 0x3CE, 0x06, 0x01); // A0000h-BFFFFh
    v.mem_write(0xB0005, 0x5A);
    // Planes are 64 KB: offset 10005h addresses the same bytes as 0005h.
    assert_eq!(v.mem_read(0xA0005), 0x5A);
    assert_eq!(v.mem_read(0xC0000), 0xFF);
    assert_eq!(v.mem_read(0x9FFFF), 0xFF);
}

// --- The Bochs dispi interface (expected values: QEMU hw/display/vga.c behaviour as
// docs/specs/standard-vga.rst and Bochs' vbe.h document it) ---

use dispi::*;

fn dispi(v: &mut Vga, i: usize, x: u16) {
    v.dispi_port_write(PORT_INDEX, i as u16);
    v.dispi_port_write(PORT_DATA, x);
}

fn dispi_get(v: &mut Vga, i: usize) -> u16 {
    v.dispi_port_write(PORT_INDEX, i as u16);
    v.dispi_port_read(PORT_DATA)
}

fn vbe_mode(v: &mut Vga, w: u16, h: u16, bpp: u16, flags: u16) {
    dispi(v, INDEX_ENABLE, 0);
    dispi(v, INDEX_BPP, bpp);
    dispi(v, INDEX_XRES, w);
    dispi(v, INDEX_YRES, h);
    dispi(v, INDEX_ENABLE, ENABLED | flags);
}

#[test]
fn dispi_id_memory_size_and_getcaps() {
    let mut v = Vga::new();
    assert_eq!(dispi_get(&mut v, INDEX_ID), 0xB0C5, "reset ID");
    dispi(&mut v, INDEX_ID, 0xB0C0);
    assert_eq!(dispi_get(&mut v, INDEX_ID), 0xB0C0);
    dispi(&mut v, INDEX_ID, 0x1234);
    assert_eq!(dispi_get(&mut v, INDEX_ID), 0xB0C0, "not an ID: ignored");
    // 16 MB in 64 KB units; the data alias at 1D0h reads the same register.
    assert_eq!(dispi_get(&mut v, INDEX_VIDEO_MEMORY_64K), 256);
    assert_eq!(v.dispi_port_read(PORT_DATA_ALIAS), 256);
    // GETCAPS: XRES/YRES/BPP read the maximums (16000, 12000, 32).
    dispi(&mut v, INDEX_XRES, 640);
    dispi(&mut v, INDEX_ENABLE, GETCAPS);
    assert_eq!(dispi_get(&mut v, INDEX_XRES), 16000);
    assert_eq!(dispi_get(&mut v, INDEX_YRES), 12000);
    assert_eq!(dispi_get(&mut v, INDEX_BPP), 32);
    dispi(&mut v, INDEX_ENABLE, 0);
    assert_eq!(dispi_get(&mut v, INDEX_XRES), 640);
    // BPP: 0 means 8, unsupported depths are ignored.
    dispi(&mut v, INDEX_BPP, 16);
    dispi(&mut v, INDEX_BPP, 7);
    assert_eq!(dispi_get(&mut v, INDEX_BPP), 16);
    dispi(&mut v, INDEX_BPP, 0);
    assert_eq!(dispi_get(&mut v, INDEX_BPP), 8);
}

#[test]
fn dispi_enable_fixes_up_sizes_and_clears_unless_noclearmem() {
    let mut v = Vga::new();
    v.vram_write(100, 0xAA);
    vbe_mode(&mut v, 1024, 768, 32, NOCLEARMEM);
    assert_eq!(v.vram_read(100), 0xAA, "NOCLEARMEM keeps VRAM");
    // Virtual width = XRES; virtual height = 16 MB / 4096-byte lines.
    assert_eq!(dispi_get(&mut v, INDEX_VIRT_WIDTH), 1024);
    assert_eq!(dispi_get(&mut v, INDEX_VIRT_HEIGHT), 4096);
    dispi(&mut v, INDEX_ENABLE, 0);
    vbe_mode(&mut v, 1024, 768, 32, 0);
    assert_eq!(v.vram_read(100), 0, "enable clears the visible screen");
    // XRES rounds down to a multiple of 8; a virtual width below XRES becomes XRES.
    dispi(&mut v, INDEX_XRES, 1023);
    assert_eq!(dispi_get(&mut v, INDEX_XRES), 1016);
    dispi(&mut v, INDEX_VIRT_WIDTH, 100);
    assert_eq!(dispi_get(&mut v, INDEX_VIRT_WIDTH), 1016);
    dispi(&mut v, INDEX_XRES, 1024);
    dispi(&mut v, INDEX_VIRT_WIDTH, 2048);
    assert_eq!(
        dispi_get(&mut v, INDEX_VIRT_HEIGHT),
        2048,
        "16 MB / 8192 bytes"
    );
    // A Y offset putting the screen past VRAM is reset to 0 (2000 + 768 > 2048).
    dispi(&mut v, INDEX_Y_OFFSET, 2000);
    assert_eq!(dispi_get(&mut v, INDEX_Y_OFFSET), 0);
    dispi(&mut v, INDEX_Y_OFFSET, 1000);
    assert_eq!(dispi_get(&mut v, INDEX_Y_OFFSET), 1000);
    // YRES can't exceed what VRAM holds at this line length.
    dispi(&mut v, INDEX_YRES, 5000);
    assert_eq!(dispi_get(&mut v, INDEX_YRES), 2048);
}

#[test]
fn dispi_bank_window_and_lfb_show_the_same_vram() {
    let mut v = Vga::new();
    vbe_mode(&mut v, 640, 480, 8, LFB_ENABLED);
    dispi(&mut v, INDEX_BANK, 3);
    v.mem_write(0xA0000 + 0x123, 0x77);
    assert_eq!(v.vram_read(3 * 0x10000 + 0x123), 0x77);
    assert_eq!(v.mem_read(0xA0000 + 0x123), 0x77);
    // BANK is masked to the 256 banks of 16 MB.
    dispi(&mut v, INDEX_BANK, 0x1FF);
    assert_eq!(dispi_get(&mut v, INDEX_BANK), 0xFF);
    // Disabling restores the VGA's own window (mode 03h text at B8000h).
    dispi(&mut v, INDEX_ENABLE, 0);
    assert_eq!(v.mem_read(0xB8000), 0x20);
    assert!(v.text_screen().is_some());
}

#[test]
fn dispi_renders_direct_colour_depths_and_the_display_start() {
    let mut v = Vga::new();
    let mut buf = Vec::new();
    // 16 bpp 5:6:5: F800h is full red, 07E0h full green.
    vbe_mode(&mut v, 64, 8, 16, 0);
    v.vram_write(0, 0x00);
    v.vram_write(1, 0xF8);
    v.vram_write(2, 0xE0);
    v.vram_write(3, 0x07);
    assert_eq!(v.render(0, &mut buf), (64, 8));
    assert_eq!(&buf[..2], &[0xFF0000, 0x00FF00]);
    // 15 bpp 1:5:5:5: 001Fh is full blue.
    dispi(&mut v, INDEX_ENABLE, 0);
    vbe_mode(&mut v, 64, 8, 15, 0);
    v.vram_write(0, 0x1F);
    v.render(0, &mut buf);
    assert_eq!(buf[0], 0x0000FF);
    // 24 bpp: bytes B, G, R.
    dispi(&mut v, INDEX_ENABLE, 0);
    vbe_mode(&mut v, 64, 8, 24, 0);
    for (i, b) in [0x01, 0x02, 0x03].iter().enumerate() {
        v.vram_write(3 + i as u32, *b);
    }
    v.render(0, &mut buf);
    assert_eq!(buf[1], 0x030201);
    // 32 bpp with a 128-pixel virtual line; the X/Y offsets move the picture.
    dispi(&mut v, INDEX_ENABLE, 0);
    vbe_mode(&mut v, 64, 8, 32, 0);
    dispi(&mut v, INDEX_VIRT_WIDTH, 128);
    let at = (2 * 128 + 8) * 4; // pixel (8, 2) of the virtual screen
    for (i, b) in [0x10, 0x20, 0x30, 0x00].iter().enumerate() {
        v.vram_write(at + i as u32, *b);
    }
    v.render(0, &mut buf);
    assert_eq!(buf[2 * 64 + 8], 0x302010);
    dispi(&mut v, INDEX_X_OFFSET, 8);
    dispi(&mut v, INDEX_Y_OFFSET, 1);
    v.render(0, &mut buf);
    assert_eq!(buf[64], 0x302010, "now at (0, 1)");
}

#[test]
fn dispi_8bpp_goes_through_the_dac_and_its_8_bit_mode() {
    let mut v = Vga::new();
    vbe_mode(&mut v, 64, 8, 8, 0);
    v.vram_write(5, 9);
    v.port_write(0x3C8, 9);
    for c in [0x3F, 0x00, 0x20] {
        v.port_write(0x3C9, c);
    }
    let mut buf = Vec::new();
    v.render(0, &mut buf);
    // 6-bit 20h scales to 82h (bits replicated), 3Fh to FFh.
    assert_eq!(buf[5], 0xFF0082);
    // 8-bit DAC (ENABLE bit 5): components are taken whole.
    dispi(&mut v, INDEX_ENABLE, ENABLED | DAC_8BIT);
    v.port_write(0x3C8, 9);
    for c in [0x80, 0x40, 0xC0] {
        v.port_write(0x3C9, c);
    }
    v.render(0, &mut buf);
    assert_eq!(buf[5], 0x8040C0);
    v.port_write(0x3C7, 9);
    assert_eq!(v.port_read(0x3C9, 0), 0x80);
}

#[test]
fn pci_mmio_bar_reaches_the_dispi_and_vga_registers() {
    let mut v = Vga::new();
    v.set_bars(Some(0xE000_0000), Some(0xE100_0000));
    // 500h + 2 × index: 16-bit dispi registers.
    v.bar_write(0xE100_0500 + 2 * INDEX_XRES as u32, false, 2, 800);
    assert_eq!(dispi_get(&mut v, INDEX_XRES), 800);
    assert_eq!(
        v.bar_read(0xE100_0500 + 2 * INDEX_ID as u32, false, 0),
        0xC5
    );
    assert_eq!(
        v.bar_read(0xE100_0501 + 2 * INDEX_ID as u32, false, 0),
        0xB0
    );
    // 400h + (port − 3C0h): the VGA ports (3CCh, misc output of mode 03h = 67h).
    assert_eq!(v.bar_read(0xE100_040C, false, 0), 0x67);
    // QEMU extended registers: region size 8, little-endian framebuffer 1E1E1E1Eh.
    assert_eq!(v.bar_read(0xE100_0600, false, 0), 8);
    assert_eq!(v.bar_read(0xE100_0604, false, 0), 0x1E);
    // BAR 0 is VRAM.
    v.bar_write(0xE000_1000, true, 4, 0x0403_0201);
    assert_eq!(v.vram_read(0x1002), 0x03);
    assert_eq!(v.bar_read(0xE000_1003, true, 0), 0x04);
}

#[test]
fn vram_survives_a_snapshot_round_trip() {
    let mut v = Vga::new();
    v.vram_write(0x12345, 0x9A);
    let json = serde_json::to_string(&v).unwrap();
    assert!(json.len() < 2_000_000, "zero pages are not saved");
    let w: Vga = serde_json::from_str(&json).unwrap();
    assert_eq!(w.vram_read(0x12345), 0x9A);
    assert_eq!(w.vram_read(0x12346), 0);
}

#[test]
fn dispi_4bpp_is_planar_through_the_attribute_palette() {
    let mut v = Vga::new();
    // Mode 12h sets up planar writes and the EGA palette (colour 9 = light blue 5555FF).
    assert!(v.set_mode(0x12, true));
    vbe_mode(&mut v, 64, 8, 4, 0);
    // 4 bpp: line length = 64 × 4 / 8 = 32 bytes of all planes = 8 bytes per plane.
    // Write colour 9 (planes 0 and 3) into pixel (1, 1): plane offset 8, bit 6.
    out(&mut v, 0x3C4, 2, 0x09);
    v.mem_write(0xA0000 + 8, 0x40);
    let mut buf = Vec::new();
    assert_eq!(v.render(0, &mut buf), (64, 8));
    assert_eq!(buf[64 + 1], LIGHT_BLUE_BG);
    assert_eq!(buf[64], 0);
}
