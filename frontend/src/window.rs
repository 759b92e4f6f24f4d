//! The desktop window (minifb): shows the VGA frame, feeds host keys and the mouse to
//! the PS/2 devices, paces the guest to the wall clock, and offers host shortcuts.
//!
//! Shortcuts are Ctrl+Alt plus a letter; the letter never reaches the guest (Ctrl and
//! Alt themselves do, as in QEMU, so Ctrl+Alt+Del still works):
//! G releases the mouse, P pauses/resumes, R resets, S saves a screenshot (PNG and
//! text dump), V saves the machine state (x86-state-N.x86state, for --load-state),
//! Q quits.

use crate::gdb::{Gdb, Next};
use crate::pace::Pacer;
use crate::replay::Input;
use crate::run::{Outcome, RunArgs, Session};
use minifb::{InputCallback, Key, MouseButton, MouseMode, ScaleMode, Window, WindowOptions};
use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Frames are presented at most this often; the guest runs between them.
const FRAME: Duration = Duration::from_millis(16);
/// An unchanged frame is presented again this often.
const REPAINT: Duration = Duration::from_millis(250);

/// Set-1 make code of a host key, and whether it carries the E0 prefix (PC-105 layout
/// by position; IBM's scan-code tables). minifb has no key for PrintScreen or the
/// 102nd key (<>), so those cannot be typed from the window.
pub fn set1(k: Key) -> Option<(u8, bool)> {
    use Key::*;
    const LETTERS: [u8; 26] = [
        0x1E, 0x30, 0x2E, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26, 0x32, 0x31, 0x18,
        0x19, 0x10, 0x13, 0x1F, 0x14, 0x16, 0x2F, 0x11, 0x2D, 0x15, 0x2C,
    ];
    let n = k as usize;
    Some(match k {
        Key0 => (0x0B, false),
        Key1 | Key2 | Key3 | Key4 | Key5 | Key6 | Key7 | Key8 | Key9 => (1 + n as u8, false),
        A | B | C | D | E | F | G | H | I | J | K | L | M | N | O | P | Q | R | S | T | U | V
        | W | X | Y | Z => (LETTERS[n - A as usize], false),
        F1 | F2 | F3 | F4 | F5 | F6 | F7 | F8 | F9 | F10 => (0x3B + (n - F1 as usize) as u8, false),
        F11 => (0x57, false),
        F12 => (0x58, false),
        Escape => (0x01, false),
        Minus => (0x0C, false),
        Equal => (0x0D, false),
        Backspace => (0x0E, false),
        Tab => (0x0F, false),
        LeftBracket => (0x1A, false),
        RightBracket => (0x1B, false),
        Enter => (0x1C, false),
        LeftCtrl => (0x1D, false),
        Semicolon => (0x27, false),
        Apostrophe => (0x28, false),
        Backquote => (0x29, false),
        LeftShift => (0x2A, false),
        Backslash => (0x2B, false),
        Comma => (0x33, false),
        Period => (0x34, false),
        Slash => (0x35, false),
        RightShift => (0x36, false),
        NumPadAsterisk => (0x37, false),
        LeftAlt => (0x38, false),
        Space => (0x39, false),
        CapsLock => (0x3A, false),
        NumLock => (0x45, false),
        ScrollLock => (0x46, false),
        NumPad7 => (0x47, false),
        NumPad8 => (0x48, false),
        NumPad9 => (0x49, false),
        NumPadMinus => (0x4A, false),
        NumPad4 => (0x4B, false),
        NumPad5 => (0x4C, false),
        NumPad6 => (0x4D, false),
        NumPadPlus => (0x4E, false),
        NumPad1 => (0x4F, false),
        NumPad2 => (0x50, false),
        NumPad3 => (0x51, false),
        NumPad0 => (0x52, false),
        NumPadDot => (0x53, false),
        NumPadEnter => (0x1C, true),
        RightCtrl => (0x1D, true),
        NumPadSlash => (0x35, true),
        RightAlt => (0x38, true),
        Home => (0x47, true),
        Up => (0x48, true),
        PageUp => (0x49, true),
        Left => (0x4B, true),
        Right => (0x4D, true),
        End => (0x4F, true),
        Down => (0x50, true),
        PageDown => (0x51, true),
        Insert => (0x52, true),
        Delete => (0x53, true),
        LeftSuper => (0x5B, true),
        RightSuper => (0x5C, true),
        Menu => (0x5D, true),
        // Pause is the E1 1D 45 sequence; the keyboard model sends it for this key id.
        Pause => (machine::PAUSE_KEY.0, machine::PAUSE_KEY.1),
        F13 | F14 | F15 | Unknown | Count => return None,
    })
}

/// What a Ctrl+Alt shortcut does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    ReleaseMouse,
    Pause,
    Reset,
    Screenshot,
    SaveState,
    Quit,
}

pub fn shortcut(k: Key) -> Option<Shortcut> {
    Some(match k {
        Key::G => Shortcut::ReleaseMouse,
        Key::P => Shortcut::Pause,
        Key::R => Shortcut::Reset,
        Key::S => Shortcut::Screenshot,
        Key::V => Shortcut::SaveState,
        Key::Q => Shortcut::Quit,
        _ => return None,
    })
}

/// Host key events in the order they happened. minifb's polled key state loses the
/// order within a frame and keys pressed and released between two frames, so the
/// window collects events through its callback instead.
#[derive(Clone, Default)]
struct KeyEvents(Rc<RefCell<VecDeque<(Key, bool)>>>);

impl InputCallback for KeyEvents {
    fn add_char(&mut self, _: u32) {}
    fn set_key_state(&mut self, key: Key, down: bool) {
        self.0.borrow_mut().push_back((key, down));
    }
}

struct HostInput {
    events: KeyEvents,
    /// A shortcut seen while feeding keys, handled after the current slice.
    action: Option<Shortcut>,
    /// Keys whose make code went to the guest, so their break code must follow.
    held: HashSet<Key>,
    /// Shortcut keys swallowed on press, so their release is swallowed too.
    swallowed: HashSet<Key>,
    captured: bool,
    last_mouse: Option<(f32, f32)>,
    buttons: u8,
    /// Wheel motion not yet sent: a part of a notch, towards the user positive.
    wheel: f32,
}

/// Runs the session in the window; with `gdb`, a debugger may hold the guest stopped
/// (the window keeps drawing and serving the debugger meanwhile).
pub fn run(mut s: Session, args: &RunArgs, mut gdb: Option<Gdb>) -> Result<u8, String> {
    let realtime = args.pace.as_deref() != Some("max");
    let name = [&args.image, &args.fda, &args.hda, &args.bios]
        .into_iter()
        .flatten()
        .next()
        .and_then(|p| p.file_name())
        .map_or("demo".to_string(), |n| n.to_string_lossy().into_owned());
    let mut win = Window::new(
        &format!("x86 — {name}"),
        720 * args.scale,
        400 * args.scale,
        WindowOptions {
            resize: true,
            scale_mode: ScaleMode::AspectRatioStretch,
            ..WindowOptions::default()
        },
    )
    .map_err(|e| format!("cannot open a window ({e}); use --headless to run without one"))?;
    win.set_target_fps(0);
    log::info!(target: "window", "window open, {}x{}", 720 * args.scale, 400 * args.scale);
    let mut pacer = Pacer::new(realtime);
    let events = KeyEvents::default();
    win.set_input_callback(Box::new(events.clone()));
    let mut input = HostInput {
        events,
        action: None,
        held: HashSet::new(),
        swallowed: HashSet::new(),
        captured: false,
        last_mouse: None,
        buttons: 0,
        wheel: 0.0,
    };
    let mut paused = false;
    let mut shown_version = u64::MAX;
    let mut presented_at = Instant::now();
    let mut frame = (Vec::new(), 0, 0);
    let mut title_at = Instant::now();
    let mut title_icount = s.pc.instructions();
    let mut shots = 0u32;
    let mut states = 0u32;
    loop {
        let frame_end = Instant::now() + FRAME;
        let in_gdb = gdb.as_ref().is_some_and(|g| g.stopped());
        if paused || in_gdb {
            while feed_key(&mut s, &mut input) {}
            if let Some(o) = s.stop_from_outside() {
                if let Some(g) = gdb.as_mut() {
                    g.ended(&mut s);
                }
                return s.finish(o);
            }
            // Stopped in the debugger: answer it for the rest of the frame, at once.
            while let Some(g) = gdb.as_mut().filter(|g| g.stopped()) {
                let left = frame_end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match g.poll(&mut s, left) {
                    Next::Stopped => {}
                    Next::Kill => return s.finish(Outcome::Killed),
                    Next::Run(_) => {
                        pacer.resync(&s.pc);
                        break;
                    }
                }
            }
        } else {
            loop {
                // One host key event per slice, so the guest sees each at its own
                // moment and a fast typist cannot overflow the keyboard's buffer.
                feed_key(&mut s, &mut input);
                if input.action.is_some() {
                    break;
                }
                let until = pacer.target(&s.pc);
                if s.pc.bus.now >= until {
                    break;
                }
                let budget = match gdb.as_mut().map(|g| g.poll(&mut s, Duration::ZERO)) {
                    None => 100_000,
                    Some(Next::Run(n)) => n,
                    Some(Next::Kill) => return s.finish(Outcome::Killed),
                    Some(Next::Stopped) => break,
                };
                let r = s.slice(budget, until)?;
                if let Some(g) = gdb.as_mut() {
                    g.after_slice(&mut s);
                    if r.is_some() {
                        g.ended(&mut s);
                    }
                }
                if let Some(o) = r {
                    return s.finish(o);
                }
                if Instant::now() >= frame_end {
                    break;
                }
            }
        }
        if !win.is_open() {
            return s.finish(Outcome::Quit);
        }
        // Focus lost: the host will not report releases, so nothing may stay down.
        if !win.is_active() && !input.held.is_empty() {
            input.held.clear();
            s.input(Input::ReleaseKeys);
        }
        match input.action.take() {
            Some(Shortcut::Quit) => return s.finish(Outcome::Quit),
            Some(Shortcut::Pause) => {
                paused = !paused;
                pacer.resync(&s.pc);
                title_at = Instant::now() - Duration::from_secs(1);
            }
            Some(Shortcut::Reset) => s.input(Input::Reset),
            Some(Shortcut::Screenshot) => {
                shots += 1;
                let base = format!("x86-screenshot-{shots}");
                s.save_screenshot(std::path::Path::new(&format!("{base}.png")))?;
                let text = s.pc.screen_text();
                std::fs::write(format!("{base}.txt"), text)
                    .map_err(|e| format!("cannot write {base}.txt: {e}"))?;
                errln!("x86: saved {base}.png and {base}.txt");
            }
            Some(Shortcut::SaveState) => {
                states += 1;
                let name = format!("x86-state-{states}.x86state");
                s.save_state_to(std::path::Path::new(&name))?;
                errln!("x86: saved {name} (resume with --load-state {name})");
            }
            Some(Shortcut::ReleaseMouse) => {
                input.captured = false;
                win.set_cursor_visibility(true);
            }
            None => {}
        }
        mouse(&mut win, &mut s, &mut input);
        let version = s.pc.frame_version();
        // Scaling and sending the frame to the display server costs more than an idle
        // guest: present only a changed frame, and otherwise a few times a second to
        // repaint after the window was resized or uncovered (minifb keeps no copy to
        // answer exposures with).
        if version != shown_version || presented_at.elapsed() >= REPAINT {
            if version != shown_version {
                shown_version = version;
                frame = crate::frame::display_frame(&mut s.pc);
            }
            win.update_with_buffer(&frame.0, frame.1, frame.2)
                .map_err(|e| format!("window update failed: {e}"))?;
            presented_at = Instant::now();
        } else {
            win.update();
        }
        if title_at.elapsed() >= Duration::from_millis(500) {
            let secs = title_at.elapsed().as_secs_f64();
            let n = s.pc.instructions();
            let mips = (n - title_icount) as f64 / secs / 1e6;
            title_icount = n;
            title_at = Instant::now();
            let state = if gdb.as_ref().is_some_and(|g| g.stopped()) {
                "stopped in GDB"
            } else if paused {
                "paused"
            } else if s.replaying() {
                "replaying"
            } else {
                "running"
            };
            let grab = if input.captured {
                " — Ctrl+Alt+G releases the mouse"
            } else {
                ""
            };
            win.set_title(&format!("x86 — {name} — {state} — {mips:.0} MIPS{grab}"));
        }
        let left = frame_end.saturating_duration_since(Instant::now());
        if paused || gdb.as_ref().is_some_and(|g| g.stopped()) {
            std::thread::sleep(left);
        } else {
            pacer.wait_max(&s.pc, left);
        }
    }
}

/// Passes the oldest host key event to the guest's keyboard, or records it as a
/// shortcut. Returns false when there was none.
fn feed_key(s: &mut Session, input: &mut HostInput) -> bool {
    let Some((k, down)) = input.events.0.borrow_mut().pop_front() else {
        return false;
    };
    if down {
        let held = |k| input.held.contains(&k);
        let ctrl = held(Key::LeftCtrl) || held(Key::RightCtrl);
        let alt = held(Key::LeftAlt) || held(Key::RightAlt);
        if let Some(a) = shortcut(k).filter(|_| ctrl && alt) {
            input.swallowed.insert(k);
            input.action = Some(a);
        } else if let Some((code, ext)) = set1(k) {
            // Host auto-repeat arrives as repeated presses; the guest's typematic
            // setting decides repeats instead.
            if input.held.insert(k) {
                s.input(Input::Key {
                    code,
                    ext,
                    down: true,
                });
            }
        }
    } else if !input.swallowed.remove(&k) && input.held.remove(&k) {
        if let Some((code, ext)) = set1(k) {
            s.input(Input::Key {
                code,
                ext,
                down: false,
            });
        }
    }
    true
}

/// Relative motion and buttons to the PS/2 mouse while captured; a click captures.
fn mouse(win: &mut Window, s: &mut Session, input: &mut HostInput) {
    let pos = win.get_mouse_pos(MouseMode::Pass);
    let buttons = win.get_mouse_down(MouseButton::Left) as u8
        | (win.get_mouse_down(MouseButton::Right) as u8) << 1
        | (win.get_mouse_down(MouseButton::Middle) as u8) << 2;
    if !input.captured {
        if buttons & 1 != 0 && win.is_active() && win.get_mouse_pos(MouseMode::Discard).is_some() {
            input.captured = true;
            input.last_mouse = pos;
            // The capturing click is the host's, not the guest's.
            input.buttons = buttons;
            win.set_cursor_visibility(false);
        }
        return;
    }
    if !win.is_active() {
        input.captured = false;
        win.set_cursor_visibility(true);
        return;
    }
    let (dx, dy) = match (pos, input.last_mouse) {
        (Some((x, y)), Some((lx, ly))) => ((x - lx) as i32, (y - ly) as i32),
        _ => (0, 0),
    };
    input.last_mouse = pos;
    // minifb reports a wheel notch as 1.0 on X11, up (away from the user) positive;
    // the IntelliMouse counts notches towards the user as positive. Fractions (smooth
    // scrolling) add up to whole notches.
    if let Some((_, y)) = win.get_scroll_wheel() {
        input.wheel -= y;
    }
    let dz = input.wheel.trunc();
    input.wheel -= dz;
    let dz = dz as i32;
    if dx != 0 || dy != 0 || dz != 0 || buttons != input.buttons {
        input.buttons = buttons;
        // PS/2 counts up as positive; the host's y grows downwards.
        s.input(Input::Mouse {
            dx,
            dy: -dy,
            dz,
            buttons,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pc105_keys_map_to_ibm_set1_codes() {
        // IBM Technical Reference, keyboard scan codes (set 1).
        assert_eq!(set1(Key::A), Some((0x1E, false)));
        assert_eq!(set1(Key::Z), Some((0x2C, false)));
        assert_eq!(set1(Key::Key1), Some((0x02, false)));
        assert_eq!(set1(Key::Key0), Some((0x0B, false)));
        assert_eq!(set1(Key::F1), Some((0x3B, false)));
        assert_eq!(set1(Key::F10), Some((0x44, false)));
        assert_eq!(set1(Key::F12), Some((0x58, false)));
        assert_eq!(set1(Key::RightCtrl), Some((0x1D, true)));
        assert_eq!(set1(Key::NumPadEnter), Some((0x1C, true)));
        assert_eq!(set1(Key::Delete), Some((0x53, true)));
        assert_eq!(set1(Key::NumPad0), Some((0x52, false)));
        // Every mapped key has its own code.
        let mut seen = HashSet::new();
        for k in ALL_KEYS {
            if let Some(c) = set1(*k) {
                assert!(seen.insert(c), "{k:?} shares {c:?}");
            }
        }
        assert!(
            seen.len() >= 100,
            "a PC-105 layout has ~104 keys, got {}",
            seen.len()
        );
    }

    #[test]
    fn shortcuts_are_letters_only() {
        assert_eq!(shortcut(Key::Q), Some(Shortcut::Quit));
        assert_eq!(
            shortcut(Key::Delete),
            None,
            "Ctrl+Alt+Del belongs to the guest"
        );
    }

    use Key::*;
    const ALL_KEYS: &[Key] = &[
        Key0,
        Key1,
        Key2,
        Key3,
        Key4,
        Key5,
        Key6,
        Key7,
        Key8,
        Key9,
        A,
        B,
        C,
        D,
        E,
        F,
        G,
        H,
        I,
        J,
        K,
        L,
        M,
        N,
        O,
        P,
        Q,
        R,
        S,
        T,
        U,
        V,
        W,
        X,
        Y,
        Z,
        F1,
        F2,
        F3,
        F4,
        F5,
        F6,
        F7,
        F8,
        F9,
        F10,
        F11,
        F12,
        F13,
        F14,
        F15,
        Down,
        Left,
        Right,
        Up,
        Apostrophe,
        Backquote,
        Backslash,
        Comma,
        Equal,
        LeftBracket,
        Minus,
        Period,
        RightBracket,
        Semicolon,
        Slash,
        Backspace,
        Delete,
        End,
        Enter,
        Escape,
        Home,
        Insert,
        Menu,
        PageDown,
        PageUp,
        Pause,
        Space,
        Tab,
        NumLock,
        CapsLock,
        ScrollLock,
        LeftShift,
        RightShift,
        LeftCtrl,
        RightCtrl,
        NumPad0,
        NumPad1,
        NumPad2,
        NumPad3,
        NumPad4,
        NumPad5,
        NumPad6,
        NumPad7,
        NumPad8,
        NumPad9,
        NumPadDot,
        NumPadSlash,
        NumPadAsterisk,
        NumPadMinus,
        NumPadPlus,
        NumPadEnter,
        LeftAlt,
        RightAlt,
        LeftSuper,
        RightSuper,
    ];
}
