//! INT 15h system services, as an IBM PC/AT-compatible BIOS provides them (IBM PC/AT
//! Technical Reference; Ralf Brown's Interrupt List for the register conventions).
//!
//! Not provided (AH=86h, CF=1 "function not supported", which callers must handle
//! because the PC and XT BIOSes answer so): AH=83h (event wait), AH=89h (switch to
//! protected mode: it needs the caller's GDT/IDT handed over in ways that no DOS-era
//! program relies on without a fallback), and anything else not listed in `int15`.

use super::{lin, After};
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

/// Puts the system-services data into the ROM image.
pub(super) fn install_rom(r: &mut [u8]) {
    let o = CONFIG_TABLE as usize;
    r[o..o + CONFIG.len()].copy_from_slice(&CONFIG);
}

/// BIOS state kept on the host side: what the PC/AT keeps in places the guest cannot
/// see or must not be able to corrupt into a host failure.
#[derive(Clone, Debug, Default)]
pub(crate) struct HostState {
    /// An INT 15h AH=86h wait in progress: the linear address of the caller's
    /// interrupt frame (the same on every retry of the stub, different for a nested
    /// call from an interrupt handler) and the virtual time it ends.
    wait: Option<(u32, Nanos)>,
    /// The keyboard's typematic byte as last set through INT 16h AH=03h.
    pub(super) typematic: u8,
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
        if bytes > 0 {
            self.cpu.invalidate_phys(dst, bytes);
        }
        self.ok();
        self.ret_flag(ZF, true);
    }

    /// AX=E820h: the memory map, one entry per call (EBX = continuation).
    fn e820(&mut self) {
        let ram = self.bus.ram_size() as u64;
        let map: [(u64, u64, u32); 3] = [
            (0, 0x9FC00, 1),
            (0xF0000, 0x10000, 2),
            (0x10_0000, ram.saturating_sub(0x10_0000), 1),
        ];
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
