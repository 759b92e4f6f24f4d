//! The picture the user sees: the VGA's rendered frame shaped as a monitor shows it,
//! for the window and for PNG screenshots.

use machine::Pc;
use std::path::Path;

/// The current frame as 0x00RRGGBB pixels, scaled to the shape a VGA monitor gives it:
/// 200-line modes are shown line-doubled (the CRTC double-scans them to 400 lines) and
/// modes under 400 pixels wide pixel-doubled, so 320×200 becomes 640×400 while 80×25
/// text stays 720×400 and mode 12h 640×480.
pub fn display_frame(pc: &mut Pc) -> (Vec<u32>, usize, usize) {
    let mut raw = Vec::new();
    let (w, h) = pc.render(&mut raw);
    let sx = if w < 400 { 2 } else { 1 };
    let sy = if h < 300 { 2 } else { 1 };
    if (sx, sy) == (1, 1) {
        return (raw, w, h);
    }
    let (ow, oh) = (w * sx, h * sy);
    let mut out = Vec::with_capacity(ow * oh);
    for row in raw.chunks_exact(w.max(1)).take(h) {
        let start = out.len();
        for &p in row {
            out.extend(std::iter::repeat_n(p, sx));
        }
        for _ in 1..sy {
            out.extend_from_within(start..start + ow);
        }
    }
    (out, ow, oh)
}

/// Writes 0x00RRGGBB pixels as an 8-bit RGB PNG.
pub fn write_png(path: &Path, pixels: &[u32], w: usize, h: usize) -> Result<(), String> {
    let err =
        |e: &dyn std::fmt::Display| format!("cannot write screenshot {}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| err(&e))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| err(&e))?;
    let rgb: Vec<u8> = pixels
        .iter()
        .flat_map(|p| [(p >> 16) as u8, (p >> 8) as u8, *p as u8])
        .collect();
    writer.write_image_data(&rgb).map_err(|e| err(&e))
}
