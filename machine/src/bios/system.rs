//! INT 15h system services, as an IBM PC/AT-compatible BIOS provides them (IBM PC/AT
//! Technical Reference; Ralf Brown's Interrupt List for the register conventions).
//!
//! Not provided (AH=86h, CF=1 "function not supported", which callers must handle
//! because the PC and XT BIOSes answer so): AH=83h (event wait), AH=89h (switch to
//! protected mode: it needs the caller's GDT/IDT handed over in ways that no DOS-era
//! program relies on without a fallback), and anything else not listed in `int15`.
//!
//! The PS/2 pointing-device interface (AH=C2h) drives the mouse behind the 8042 with
//! the BIOS reading the replies itself, and IRQ 12 (INT 74h) is x86 code in the ROM
//! that assembles the movement packets host-side and far-calls the guest's handler
//! with them on the stack.

use super::{lin, After, TRAP_PORT};
use crate::Pc;
use cpu::{Bus, CF, ES, SS, ZF};
use devices::Nanos;

/// ROM offset of the system configuration table (INT 15h AH=C0h), at the address the
/// PC/AT family keeps it.
pub(super) const CONFIG_TABLE: u16 = 0xE6F5;
/// The table: its length (8), model FCh (PC/AT), submodel 01h, BIOS revision 00h, then
/// feature bytes 1–5. Feature byte 1 = 70h: a second 8259 (bit 6), a real-time clock
/// (bit 5) and INT 09h calling INT 15h AH=4Fh (bit 4). Feature byte 2 = 40h: INT 16h
/// AH=09h is supported (bit 6).
const CONFIG: [u8; 10] = [0x08, 0x00, 0xFC, 0x01, 0x00, 0x70, 0x40, 0x00, 0x00, 0x00];

/// BIOS data area byte the PC/AT uses for its wait functions: bit 0 = a wait is active.
const WAIT_FLAG: u32 = 0x4A0;

/// ROM offset of the IRQ 12 (INT 74h) handler, after INT 09h's code.
pub(super) const INT74: u16 = 0xE9E0;
/// IP right after its `out 0EEh, al`: the host's half of INT 74h.
pub(super) const INT74_TRAP: u16 = INT74 + 5;
const INT74_BACK: u16 = INT74 + 0x13;

/// The INT 74h handler. The host reads the mouse byte and, once a packet is complete
/// and the device is enabled with a handler set, returns CF=1 with AX = status byte,
/// BX = X, CX = Y and DX:SI = the handler, which is called with the four words of the
/// pointing-device interface on the stack (status, X, Y, 0: first pushed first) and
/// returns with RETF, leaving them for the caller to drop. The EOIs (slave, then
/// master) come after the handler, so it runs with IRQ 12 still in service.
#[rustfmt::skip]
const INT74_CODE: [u8; 0x21] = [
    0x1E,                   // 00 push ds
    0x06,                   // 01 push es
    0x60,                   // 02 pusha
    0xE6, TRAP_PORT as u8,  // 03 out 0EEh, al
    0x73, 0x0F,             // 05 jnc eoi
    0x50,                   // 07 push ax (status)
    0x53,                   // 08 push bx (X)
    0x51,                   // 09 push cx (Y)
    0x6A, 0x00,             // 0A push word 0 (Z)
    0x0E,                   // 0C push cs
    0x68, INT74_BACK as u8, (INT74_BACK >> 8) as u8, // 0D push word back
    0x52,                   // 10 push dx
    0x56,                   // 11 push si
    0xCB,                   // 12 retf: far call DX:SI
    0x83, 0xC4, 0x08,       // 13 back: add sp, 8
    0xFA,                   // 16 eoi: cli
    0xB0, 0x20,             // 17 mov al, 20h
    0xE6, 0xA0,             // 19 out 0A0h, al
    0xE6, 0x20,             // 1B out 20h, al
    0x61,                   // 1D popa
    0x07,                   // 1E pop es
    0x1F,                   // 1F pop ds
    0xCF,                   // 20 iret
];

/// Puts the system-services code and data into the ROM image.
pub(super) fn install_rom(r: &mut [u8]) {
    let o = CONFIG_TABLE as usize;
    r[o..o + CONFIG.len()].copy_from_slice(&CONFIG);
    let o = INT74 as usize;
    r[o..o + INT74_CODE.len()].copy_from_slice(&INT74_CODE);
}

/// Pointing-device interface status codes (AH after INT 15h AH=C2h).
const MOUSE_INVALID_FUNCTION: u8 = 0x01;
const MOUSE_INVALID_INPUT: u8 = 0x02;
const MOUSE_INTERFACE_ERROR: u8 = 0x03;
const MOUSE_RESEND: u8 = 0x04;
const MOUSE_NO_HANDLER: u8 = 0x05;

/// BIOS state kept on the host side: what the PC/AT keeps in places the guest cannot
/// see or must not be able to corrupt into a host failure.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct HostState {
    /// An INT 15h AH=86h wait in progress: the linear address of the caller's
    /// interrupt frame (the same on every retry of the stub, different for a nested
    /// call from an interrupt handler) and the virtual time it ends.
    wait: Option<(u32, Nanos)>,
    /// The keyboard's typematic byte as last set through INT 16h AH=03h.
    pub(super) typematic: u8,
    mouse: MouseState,
    /// INT 16h AH=01h/11h polls that found no key (see `keyboard::IDLE_POLLS`).
    pub(super) key_polls: super::keyboard::KeyPolls,
    /// What an El Torito boot set up (see `eltorito`).
    pub(super) cd: super::eltorito::CdState,
    /// A kernel to boot in place of a boot sector (`x86 run --kernel`, see `boot`).
    #[serde(skip)]
    pub(crate) kernel: Option<std::sync::Arc<crate::boot::BootPlan>>,
    /// Where the POST's option ROM scan goes on after the ROM being initialised.
    #[serde(default)]
    pub(crate) rom_scan_next: u32,
}

/// The pointing-device interface's state (the PS/2 BIOS keeps it in its extended data
/// area, which this BIOS does not have).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct MouseState {
    /// The far handler set by AX=C207h, as (segment, offset); (0, 0) is none.
    handler: (u16, u16),
    enabled: bool,
    /// Bytes per packet (AX=C205h; 3 for a standard PS/2 mouse).
    size: u8,
    packet: [u8; 8],
    len: usize,
}

impl Pc {
    /// INT 15h: system services.
    pub(super) fn int15(&mut self) -> After {
        let ax = self.ax();
        match self.ah() {
            // Keyboard intercept, called by INT 09h with the scan code in AL: CF=1
            // and AL unchanged means "process this key" (a hook clears CF to eat it).
            0x4F => self.ret_flag(CF, true),
            // SysRq pressed/released, device busy / interrupt complete: hooks for
            // multitasking systems; the BIOS itself just returns success.
            0x85 | 0x90 | 0x91 => self.ok(),
            0x86 => return self.wait_us(),
            0x87 => self.block_move(),
            0x88 => {
                // Extended memory above 1 MB in KB (at most 63 MB through this call).
                let kb = (self.bus.ram_size() / 1024)
                    .saturating_sub(1024)
                    .min(0xFFFF) as u16;
                self.set16(0, kb);
                self.ret_flag(CF, false);
            }
            0x24 => {
                match ax {
                    0x2400 => self.bus.set_a20(false),
                    0x2401 => self.bus.set_a20(true),
                    0x2402 => {
                        let on = self.bus.a20();
                        self.set_al(on as u8);
                    }
                    _ => self.set16(3, 0x0003),
                }
                self.set_ah(0);
                self.ret_flag(CF, false);
            }
            0xC2 => return self.pointing_device(),
            0xC0 => {
                self.cpu.seg[ES].load_real(0xF000);
                self.set16(3, CONFIG_TABLE);
                self.ok();
            }
            0xE8 if ax == 0xE801 => {
                let total_kb = self.bus.ram_size() / 1024;
                let below16 = total_kb.saturating_sub(1024).min(15 * 1024) as u16;
                let above16 = (total_kb.saturating_sub(16 * 1024) / 64).min(0xFFFF) as u16;
                for (r, v) in [(0, below16), (3, above16), (1, below16), (2, above16)] {
                    self.set16(r, v);
                }
                self.ret_flag(CF, false);
            }
            0xE8 if ax == 0xE820 && self.cpu.regs[2] == 0x534D_4150 => self.e820(),
            _ => self.unsupported(),
        }
        After::Return
    }

    /// AH = 00h, CF = 0.
    fn ok(&mut self) {
        self.set_ah(0);
        self.ret_flag(CF, false);
    }

    /// AH = 86h, CF = 1: the PC/AT's "function not supported".
    fn unsupported(&mut self) {
        self.set_ah(0x86);
        self.ret_flag(CF, true);
    }

    /// AH=86h: waits CX:DX microseconds of virtual time. The stub halts with interrupts
    /// on and retries after each interrupt until the deadline has passed, so the
    /// resolution is the interval between interrupts: one PIT period (54.9 ms as the
    /// POST programs it, finer if the guest speeds the timer up). The PC/AT used the
    /// RTC's 976 µs periodic interrupt; it too needs interrupts enabled and unmasked.
    fn wait_us(&mut self) -> After {
        let frame = lin(self.cpu.seg[SS].selector, self.cpu.regs[4] as u16);
        let now = self.bus.now;
        match self.bios_state.wait {
            Some((f, end)) if f == frame => {
                if now < end {
                    return After::Wait;
                }
                self.bios_state.wait = None;
                self.w8(WAIT_FLAG, 0);
                self.ok();
            }
            // Another caller's wait is still running (a call from an interrupt handler
            // during a wait): the PC/AT refuses it with CF=1.
            Some((_, end)) if now < end => self.ret_flag(CF, true),
            _ => {
                let us = (self.cpu.regs[1] as u16 as u64) << 16 | self.cpu.regs[2] as u16 as u64;
                if us == 0 {
                    self.ok();
                    return After::Return;
                }
                self.bios_state.wait = Some((frame, now + us * 1000));
                self.w8(WAIT_FLAG, 1);
                return After::Wait;
            }
        }
        After::Return
    }

    /// AH=87h: copies CX words between the physical addresses given by descriptors 2
    /// (source, ES:SI+10h) and 3 (destination, ES:SI+18h) of the caller's GDT: limit in
    /// bytes 0–1 (bits 19–16 and granularity in byte 6), base in bytes 2–4 and 7. The
    /// PC/AT does it in protected mode with A20 enabled and restores the gate after,
    /// so the copy ignores the A20 state. A count beyond 64 KB or a segment limit would
    /// fault in protected mode: AH=02h ("exception interrupt error"), CF=1.
    fn block_move(&mut self) {
        let es = self.cpu.seg[ES].selector;
        let si = self.cpu.regs[6] as u16;
        let desc = |pc: &mut Pc, off: u16| {
            let a = |o: u16| lin(es, si.wrapping_add(off + o));
            let flags = pc.r8(a(6));
            let mut limit = pc.r16(a(0)) as u32 | ((flags & 0x0F) as u32) << 16;
            if flags & 0x80 != 0 {
                limit = limit << 12 | 0xFFF;
            }
            let base =
                pc.r16(a(2)) as u32 | (pc.r8(a(4)) as u32) << 16 | (pc.r8(a(7)) as u32) << 24;
            (base, limit)
        };
        let (src, src_limit) = desc(self, 0x10);
        let (dst, dst_limit) = desc(self, 0x18);
        let words = self.cpu.regs[1] as u16 as u32;
        let bytes = words * 2;
        if words > 0x8000 || (bytes > 0 && (bytes - 1 > src_limit || bytes - 1 > dst_limit)) {
            self.set_ah(0x02);
            self.ret_flag(CF, true);
            self.ret_flag(ZF, false);
            return;
        }
        let a20 = self.bus.a20();
        self.bus.set_a20(true);
        for i in 0..bytes {
            let b = self.bus.read8(src.wrapping_add(i));
            self.bus.write8(dst.wrapping_add(i), b);
        }
        self.bus.set_a20(a20);
        self.invalidate_ram(dst, bytes);
        self.ok();
        self.ret_flag(ZF, true);
    }

    /// Drops cached code in the RAM that `bytes` bytes written from `dst` reached. The
    /// copy's addresses wrap at 4 GB, and only installed RAM holds code that can have
    /// changed (ROM and unmapped space ignore writes), so the work is bounded by the
    /// RAM size whatever a caller's descriptors say.
    fn invalidate_ram(&mut self, dst: u32, bytes: u32) {
        let ram = self.bus.ram_size() as u64;
        let (start, end) = (dst as u64, dst as u64 + bytes as u64);
        let wrapped = end.saturating_sub(1 << 32);
        for (a, b) in [(start, end.min(1 << 32)), (0, wrapped)] {
            let b = b.min(ram);
            if a < b {
                self.cpu.invalidate_phys(a as u32, (b - a) as u32);
            }
        }
    }

    /// POST: the IRQ 12 vector and a pointing device with no handler.
    pub(super) fn system_post(&mut self) {
        self.w16(0x74 * 4, INT74);
        self.w16(0x74 * 4 + 2, 0xF000);
        self.bios_state.wait = None;
        self.bios_state.mouse = MouseState {
            size: 3,
            ..MouseState::default()
        };
    }

    /// AH=C2h: the PS/2 pointing-device interface (AL = function; results in AH with
    /// CF, see the status constants).
    fn pointing_device(&mut self) -> After {
        let al = self.al();
        let bh = (self.cpu.regs[3] >> 8) as u8;
        if al > 0x07 {
            return self.mouse_status(Err(MOUSE_INVALID_FUNCTION));
        }
        if al != 0x07 && !self.aux_idle() {
            // A keystroke waits in the controller ahead of the mouse's replies: let
            // INT 09h take it first.
            return After::Wait;
        }
        let r = match al {
            0x00 => match bh {
                0x00 => self.aux_command(&[0xF5], 0).map(|_| {
                    self.bios_state.mouse.enabled = false;
                }),
                0x01 if self.bios_state.mouse.handler == (0, 0) => Err(MOUSE_NO_HANDLER),
                0x01 => self.aux_command(&[0xF4], 0).map(|_| {
                    self.bios_state.mouse.enabled = true;
                    self.bios_state.mouse.len = 0;
                    // Mouse interrupts on and the auxiliary port enabled (command
                    // byte bits 1 and 5), as the BIOS leaves the controller.
                    self.bus.kbd.command_byte = (self.bus.kbd.command_byte | 0x02) & !0x20;
                }),
                _ => Err(MOUSE_INVALID_INPUT),
            },
            0x01 => self.aux_command(&[0xFF], 2).map(|r| {
                // BH = device ID, BL = the self-test result (AAh).
                self.mouse_defaults(None);
                self.set16(3, (r[1] as u16) << 8 | r[0] as u16);
            }),
            0x02 => match [10u8, 20, 40, 60, 80, 100, 200].get(bh as usize) {
                Some(&rate) => self.aux_command(&[0xF3, rate], 0).map(|_| ()),
                None => Err(MOUSE_INVALID_INPUT),
            },
            0x03 if bh <= 3 => self.aux_command(&[0xE8, bh], 0).map(|_| ()),
            0x03 => Err(MOUSE_INVALID_INPUT),
            0x04 => self.aux_command(&[0xF2], 1).map(|r| {
                let bx = self.cpu.regs[3] as u16;
                self.set16(3, (r[0] as u16) << 8 | (bx & 0xFF));
            }),
            0x05 if (1..=8).contains(&bh) => {
                // Disabled, 100 reports/s, 4 counts/mm, 1:1 (SET DEFAULTS does all).
                self.aux_command(&[0xF6], 0)
                    .map(|_| self.mouse_defaults(Some(bh)))
            }
            0x05 => Err(MOUSE_INVALID_INPUT),
            0x06 => match bh {
                // Status request: BL = status byte, CL = resolution, DL = sample rate.
                0x00 => self.aux_command(&[0xE9], 3).map(|r| {
                    let (bx, cx, dx) = (self.cpu.regs[3], self.cpu.regs[1], self.cpu.regs[2]);
                    self.set16(3, (bx as u16 & 0xFF00) | r[0] as u16);
                    self.set16(1, (cx as u16 & 0xFF00) | r[1] as u16);
                    self.set16(2, (dx as u16 & 0xFF00) | r[2] as u16);
                }),
                0x01 => self.aux_command(&[0xE6], 0).map(|_| ()),
                0x02 => self.aux_command(&[0xE7], 0).map(|_| ()),
                _ => Err(MOUSE_INVALID_INPUT),
            },
            _ => {
                let es = self.cpu.seg[ES].selector;
                self.bios_state.mouse.handler = (es, self.cpu.regs[3] as u16);
                Ok(())
            }
        };
        self.mouse_status(r)
    }

    fn mouse_defaults(&mut self, size: Option<u8>) {
        let m = &mut self.bios_state.mouse;
        m.enabled = false;
        m.len = 0;
        if let Some(s) = size {
            m.size = s;
        }
    }

    fn mouse_status(&mut self, r: Result<(), u8>) -> After {
        match r {
            Ok(()) => self.ok(),
            Err(e) => {
                self.set_ah(e);
                self.ret_flag(CF, true);
            }
        }
        After::Return
    }

    /// Empties the controller's output buffer of anything but a keystroke that INT 09h
    /// can still collect: stale mouse bytes, and keystrokes while IRQ 1 cannot be
    /// delivered (keyboard interrupt off in the command byte, masked, or blocked by an
    /// interrupt in service). Returns `false` if a keystroke is left for INT 09h.
    fn aux_idle(&mut self) -> bool {
        for _ in 0..32 {
            let s = self.bus.io_read(0x64, 1);
            if s & 0x01 == 0 {
                return true;
            }
            let pic = &self.bus.pic.i8259.master;
            let irq1_live =
                self.bus.kbd.command_byte & 0x01 != 0 && (pic.imr | pic.isr) & 0x03 == 0;
            if s & 0x20 == 0 && irq1_live {
                return false;
            }
            self.bus.io_read(0x60, 1);
        }
        true
    }

    /// Sends command bytes to the mouse (each through controller command D4h, each
    /// ACKed with FAh) and reads `n` (at most 3) reply bytes after the last ACK. The
    /// mouse interrupt is held off meanwhile, because the BIOS reads the replies itself.
    fn aux_command(&mut self, bytes: &[u8], n: usize) -> Result<[u8; 3], u8> {
        let cb = self.bus.kbd.command_byte;
        self.bus.kbd.command_byte = cb & !0x02;
        let r = self.aux_exchange(bytes, n);
        self.bus.kbd.command_byte = cb;
        r
    }

    fn aux_exchange(&mut self, bytes: &[u8], n: usize) -> Result<[u8; 3], u8> {
        for &b in bytes {
            self.bus.io_write(0x64, 1, 0xD4);
            self.bus.io_write(0x60, 1, b as u32);
            match self.aux_read() {
                Some(0xFA) => {}
                Some(0xFE) => return Err(MOUSE_RESEND),
                _ => return Err(MOUSE_INTERFACE_ERROR),
            }
        }
        let mut reply = [0u8; 3];
        for r in reply.iter_mut().take(n) {
            *r = self.aux_read().ok_or(MOUSE_INTERFACE_ERROR)?;
        }
        Ok(reply)
    }

    /// A byte from the mouse, if one is waiting.
    fn aux_read(&mut self) -> Option<u8> {
        let s = self.bus.io_read(0x64, 1);
        (s & 0x21 == 0x21).then(|| self.bus.io_read(0x60, 1) as u8)
    }

    /// The host's half of INT 74h (see `INT74_CODE`).
    pub(super) fn int74_trap(&mut self) {
        self.cpu.eflags &= !CF;
        let Some(b) = self.aux_read() else {
            return;
        };
        let m = &mut self.bios_state.mouse;
        if !m.enabled || m.handler == (0, 0) {
            return;
        }
        // The first byte of a PS/2 packet always has bit 3 set: resynchronise on it.
        if m.len == 0 && m.size == 3 && b & 0x08 == 0 {
            return;
        }
        m.packet[m.len.min(7)] = b;
        m.len += 1;
        if m.len < m.size.clamp(1, 8) as usize {
            return;
        }
        m.len = 0;
        let (p, (seg, off)) = (m.packet, m.handler);
        for (r, v) in [(0, p[0]), (3, p[1]), (1, p[2])] {
            self.set16(r, v as u16);
        }
        self.set16(2, seg);
        self.set16(6, off);
        self.cpu.eflags |= CF;
    }

    /// AX=E820h: the memory map, one entry per call (EBX = continuation).
    fn e820(&mut self) {
        let ram = self.bus.ram_size() as u64;
        // The same map a Multiboot kernel gets (`boot::memory_map`).
        let map = crate::boot::memory_map(ram);
        let i = self.cpu.regs[3] as usize;
        let Some(&(base, len, ty)) = map.get(i) else {
            self.ret_flag(CF, true);
            return;
        };
        let p = lin(self.cpu.seg[ES].selector, self.cpu.regs[7] as u16);
        self.bus.write32(p, base as u32);
        self.bus.write32(p + 4, (base >> 32) as u32);
        self.bus.write32(p + 8, len as u32);
        self.bus.write32(p + 12, (len >> 32) as u32);
        self.bus.write32(p + 16, ty);
        self.cpu.regs[0] = 0x534D_4150;
        self.cpu.regs[1] = 20;
        self.cpu.regs[3] = if i + 1 < map.len() { i as u32 + 1 } else { 0 };
        self.ret_flag(CF, false);
    }
}
