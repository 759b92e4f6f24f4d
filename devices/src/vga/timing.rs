//! VGA beam position as a pure function of virtual time: the dot clock selected by misc
//! output bits 2-3 (25.175 or 28.322 MHz), divided into character clocks, scan lines and
//! frames by the CRTC totals. Drives input status 1 (3BAh/3DAh, FreeVGA "Input Status #1")
//! and the text blink phases (cursor every 16 frames, character blink every 32).
//!
//! Log target: `vga`.

use super::Vga;
use crate::Nanos;

const CLOCK_25MHZ: u128 = 25_175_000;
const CLOCK_28MHZ: u128 = 28_322_000;
const NS_PER_S: u128 = 1_000_000_000;

/// Input status 1: display disabled (horizontal or vertical blanking).
pub(super) const IS1_DISPLAY_DISABLED: u8 = 0x01;
/// Input status 1: vertical retrace in progress.
pub(super) const IS1_VRETRACE: u8 = 0x08;

/// Frames per cursor blink half-period and per character blink half-period.
const CURSOR_BLINK_FRAMES: u64 = 16;
const CHAR_BLINK_FRAMES: u64 = 32;

pub(super) struct Beam {
    pub frame: u64,
    pub line: usize,
    pub char_clock: usize,
}

impl Vga {
    pub(super) fn beam(&self, now: Nanos) -> Beam {
        let clock = match (self.misc >> 2) & 3 {
            1 => CLOCK_28MHZ,
            _ => CLOCK_25MHZ,
        };
        let dots = (self.seq.dot_width() * if self.seq.half_dot_clock() { 2 } else { 1 }) as u128;
        let chars = now as u128 * clock / (NS_PER_S * dots);
        let ht = self.crtc.h_total_chars() as u128;
        let per_frame = ht * self.crtc.v_total_lines() as u128;
        let in_frame = chars % per_frame;
        Beam {
            frame: (chars / per_frame) as u64,
            line: (in_frame / ht) as usize,
            char_clock: (in_frame % ht) as usize,
        }
    }

    pub(super) fn input_status1(&self, now: Nanos) -> u8 {
        let b = self.beam(now);
        let mut v = 0;
        if b.line >= self.crtc.v_display_lines() || b.char_clock >= self.crtc.h_display_chars() {
            v |= IS1_DISPLAY_DISABLED;
        }
        let vrs = self.crtc.v_retrace_start();
        if b.line >= vrs && b.line < vrs + self.crtc.v_retrace_len() {
            v |= IS1_VRETRACE;
        }
        v
    }

    /// (cursor visible, blinking characters visible) at `now`.
    pub(super) fn blink_phases(&self, now: Nanos) -> (bool, bool) {
        let f = self.beam(now).frame;
        (
            (f / CURSOR_BLINK_FRAMES).is_multiple_of(2),
            (f / CHAR_BLINK_FRAMES).is_multiple_of(2),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mode 03h: 28.322 MHz, 9-dot characters, 100 character clocks × 449 lines.
    fn mode3_line_ns() -> f64 {
        100.0 * 9.0 / 28.322e6 * 1e9
    }

    #[test]
    fn mode3_vertical_retrace_lines_412_413() {
        let v = Vga::new();
        let line = mode3_line_ns();
        let at = |l: f64| (l * line) as Nanos + 100;
        // Retrace starts at line 0x19C = 412 and lasts two lines (end 0Eh vs start 0Ch).
        assert_eq!(v.input_status1(at(0.0)) & IS1_VRETRACE, 0);
        assert_eq!(v.input_status1(at(411.0)) & IS1_VRETRACE, 0);
        assert_ne!(v.input_status1(at(412.0)) & IS1_VRETRACE, 0);
        assert_ne!(v.input_status1(at(413.0)) & IS1_VRETRACE, 0);
        assert_eq!(v.input_status1(at(414.0)) & IS1_VRETRACE, 0);
        // One frame later (449 lines) the pattern repeats: 70.1 Hz.
        assert_ne!(v.input_status1(at(449.0 + 412.0)) & IS1_VRETRACE, 0);
        assert_eq!(v.input_status1(at(449.0 + 2.0)) & IS1_VRETRACE, 0);
    }

    #[test]
    fn display_disabled_during_horizontal_blanking() {
        let v = Vga::new();
        let char_ns = 9.0 / 28.322e6 * 1e9;
        // Character clock 10 of line 5 is displayed; clock 85 is past the 80 displayed.
        let t = |c: f64| ((5.0 * 100.0 + c) * char_ns) as Nanos + 5;
        assert_eq!(v.input_status1(t(10.0)) & IS1_DISPLAY_DISABLED, 0);
        assert_ne!(v.input_status1(t(85.0)) & IS1_DISPLAY_DISABLED, 0);
        // Line 420 is below the 400 displayed lines.
        let below = (420.0 * mode3_line_ns()) as Nanos + 5;
        assert_ne!(v.input_status1(below) & IS1_DISPLAY_DISABLED, 0);
    }

    #[test]
    fn mode12h_runs_at_60hz() {
        let mut v = Vga::new();
        assert!(v.set_mode(0x12, true));
        // 25.175 MHz / (800 dots × 525 lines) = 59.94 Hz: 59 frames complete in 1 s.
        assert_eq!(v.beam(1_000_000_000).frame, 59);
        // Mode 03h: 28.322 MHz / (900 × 449) = 70.09 Hz.
        assert!(v.set_mode(0x03, true));
        assert_eq!(v.beam(1_000_000_000).frame, 70);
    }

    #[test]
    fn blink_phases_follow_frame_count() {
        let v = Vga::new();
        let frame_ns = 1e9 / (28.322e6 / (900.0 * 449.0));
        let at = |f: f64| (f * frame_ns) as Nanos + 1000;
        assert_eq!(v.blink_phases(at(0.0)), (true, true));
        assert_eq!(v.blink_phases(at(16.0)), (false, true));
        assert_eq!(v.blink_phases(at(32.0)), (true, false));
        assert_eq!(v.blink_phases(at(48.0)), (false, false));
    }
}
