//! System instructions: CPUID (the model's identity, see `model`), RDTSC, MSRs, control and debug
//! registers, descriptor-table registers, LAR/LSL/VERR/VERW/ARPL, SYSENTER/SYSEXIT,
//! HLT, port I/O with the IOPL and TSS I/O-bitmap checks (SDM Vol. 1 §19.5), and the
//! x87 escape opcodes when no FPU is present.

use crate::decode::{Entry, Loc, Op};
use crate::model::FEAT_NEED_FPU;
use crate::regs::*;
use crate::{Bus, Cpu, Exc, Res, NM};

impl Cpu {
    fn require_cpl0(&self) -> Res<()> {
        if self.protected() && (self.cpl != 0 || self.v86()) {
            return Err(Exc::gp(0));
        }
        Ok(())
    }

    fn require_pm(&self) -> Res<()> {
        if !self.protected() || self.v86() {
            return Err(Exc::ud());
        }
        Ok(())
    }

    /// Checks that port I/O of `size` bytes at `port` is allowed: always in real mode and
    /// at CPL ≤ IOPL; otherwise by the TSS I/O permission bitmap.
    pub(crate) fn check_io<B: Bus>(&mut self, bus: &mut B, port: u16, size: u32) -> Res<()> {
        if !self.protected() || (!self.v86() && self.cpl as u32 <= (self.eflags & IOPL) >> 12) {
            return Ok(());
        }
        let t = self.tr;
        if !matches!(t.attr & 0xF, 9 | 11) || t.limit < 0x67 {
            return Err(Exc::gp(0));
        }
        let base = self.rd_sys(bus, t.base.wrapping_add(0x66), 2)?;
        let byte = base + port as u32 / 8;
        if byte + 1 > t.limit {
            return Err(Exc::gp(0));
        }
        let bits = self.rd_sys(bus, t.base.wrapping_add(byte), 2)?;
        let m = ((1u32 << size) - 1) << (port & 7);
        if bits & m != 0 {
            return Err(Exc::gp(0));
        }
        Ok(())
    }

    pub(crate) fn io<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let size = e.size as u32;
        let port = if e.op == Op::In {
            if e.src == Loc::Imm {
                e.imm
            } else {
                self.regs[EDX]
            }
        } else if e.dst == Loc::Imm {
            e.imm
        } else {
            self.regs[EDX]
        } as u16;
        self.check_io(bus, port, size)?;
        bus.sync(self.icount);
        if e.op == Op::In {
            let v = bus.io_read(port, size as u8);
            self.set_reg(0, size, v);
        } else {
            let v = self.get_reg(0, size);
            bus.io_write(port, size as u8, v);
            if bus.take_stop() {
                self.host_stop = true;
                self.smc = true;
            }
        }
        Ok(())
    }

    fn cpuid(&mut self) {
        let leaf = self.regs[EAX];
        let m = self.model.info();
        let (a, b, c, d) = match leaf {
            // CPUID takes its values in EBX-EDX-ECX order for the vendor string.
            0 => (
                m.max_leaf,
                u32::from_le_bytes(*b"Genu"),
                u32::from_le_bytes(*b"ntel"),
                u32::from_le_bytes(*b"ineI"),
            ),
            1 => {
                // MMX lives in the x87 registers and FXSAVE saves them (SSE state too),
                // so they come and go with the FPU.
                let mut f = m.features;
                if !self.fpu_present {
                    f &= !FEAT_NEED_FPU;
                }
                // A local APIC disabled in IA32_APIC_BASE (bit 11) is not reported
                // (SDM Vol. 3A §10.4.3).
                if self.apic_base & 1 << 11 == 0 {
                    f &= !crate::model::FEAT_APIC;
                }
                (m.signature, m.leaf1_ebx, 0, f)
            }
            2 if m.max_leaf >= 2 => (m.leaf2[0], m.leaf2[1], m.leaf2[2], m.leaf2[3]),
            // Extended leaves (SDM Vol. 2A "CPUID"): the highest one, no extended
            // features (80000001h all zero on these parts), the brand string.
            0x8000_0000 if m.brand.is_some() => (0x8000_0004, 0, 0, 0),
            0x8000_0002..=0x8000_0004 if m.brand.is_some() => {
                let b = m.brand.map_or(&[0u8; 48], |b| b);
                let k = 16 * (leaf - 0x8000_0002) as usize;
                let d = |i: usize| {
                    let mut w = [0u8; 4];
                    w.copy_from_slice(&b[k + 4 * i..k + 4 * i + 4]);
                    u32::from_le_bytes(w)
                };
                (d(0), d(1), d(2), d(3))
            }
            _ => (0, 0, 0, 0),
        };
        self.regs[EAX] = a;
        self.regs[EBX] = b;
        self.regs[ECX] = c;
        self.regs[EDX] = d;
    }

    /// MSRs of the P6 family (SYSENTER, MTRRs, APIC base, P6 performance counters) do
    /// not exist on earlier models: an unknown MSR is #GP(0) (SDM Vol. 2B "RDMSR").
    fn check_msr(&self) -> Res<()> {
        let family = self.model.info().signature >> 8 & 0xF;
        // Before the P6 only the time-stamp counter is modelled.
        if family < 6 && self.regs[ECX] != 0x10 {
            return Err(Exc::gp(0));
        }
        Ok(())
    }

    fn rdmsr(&mut self) -> Res<()> {
        self.require_cpl0()?;
        self.check_msr()?;
        let v: u64 = match self.regs[ECX] {
            0x10 => self.tsc(),
            0x1B => self.apic_base,
            0xFE => 0x508,
            0x174 => self.sysenter_cs as u64,
            0x175 => self.sysenter_esp as u64,
            0x176 => self.sysenter_eip as u64,
            // MTRRs, platform ID, microcode signature (no update loaded), and the P6
            // performance counters and event selects: plain storage.
            m @ (0x200..=0x20F
            | 0x250
            | 0x258
            | 0x259
            | 0x268..=0x26F
            | 0x2FF
            | 0x17
            | 0x8B
            | 0xC1
            | 0xC2
            | 0x186
            | 0x187) => self.mtrr.get(&m).copied().unwrap_or(0),
            _ => return Err(Exc::gp(0)),
        };
        self.regs[EAX] = v as u32;
        self.regs[EDX] = (v >> 32) as u32;
        Ok(())
    }

    fn wrmsr<B: Bus>(&mut self, bus: &mut B) -> Res<()> {
        self.require_cpl0()?;
        self.check_msr()?;
        let v = (self.regs[EDX] as u64) << 32 | self.regs[EAX] as u64;
        match self.regs[ECX] {
            0x10 => self.tsc_offset = v.wrapping_sub(self.icount),
            // Bits 7:0, 9, 10 and 63:36 are reserved (SDM Vol. 3A §10.4.4); BSP (bit
            // 8) is read-only. Models without an APIC have no such MSR.
            0x1B => {
                if self.model.info().features & crate::model::FEAT_APIC == 0
                    || v & 0xFFFF_FFF0_0000_06FF != 0
                {
                    return Err(Exc::gp(0));
                }
                self.apic_base = (v & !0x100) | (self.apic_base & 0x100);
                bus.apic_base_written(self.apic_base);
            }
            0x174 => self.sysenter_cs = v as u32,
            0x175 => self.sysenter_esp = v as u32,
            0x176 => self.sysenter_eip = v as u32,
            m @ (0x200..=0x20F
            | 0x250
            | 0x258
            | 0x259
            | 0x268..=0x26F
            | 0x2FF
            | 0x8B
            | 0xC1
            | 0xC2
            | 0x186
            | 0x187) => {
                self.mtrr.insert(m, v);
            }
            // BIOS_UPDT_TRIG: a microcode update request; there is no microcode to load.
            0x79 => {}
            _ => return Err(Exc::gp(0)),
        }
        Ok(())
    }

    /// Writes CR0 with the consistency checks of SDM Vol. 3A §2.5.
    pub fn write_cr0(&mut self, v: u32) -> Res<()> {
        if v & CR0_PG != 0 && v & CR0_PE == 0 {
            return Err(Exc::gp(0));
        }
        let was_pe = self.protected();
        if (self.cr0 ^ v) & (CR0_PG | CR0_WP | CR0_PE) != 0 {
            self.tlb.flush(false);
        }
        self.cr0 = v | CR0_ET;
        if was_pe && !self.protected() {
            // Back in real mode every segment is readable and writable again.
            for s in self.seg.iter_mut() {
                s.acc = ACC_READ | ACC_WRITE;
            }
            self.set_cpl(0);
        }
        Ok(())
    }

    /// Loads CR3 (from MOV or a task switch): non-global translations are flushed.
    pub(crate) fn set_cr3(&mut self, v: u32) {
        self.cr3 = v;
        self.tlb.flush(self.cr4 & CR4_PGE != 0);
    }

    fn mov_cr<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        self.require_cpl0()?;
        match (e.dst, e.src) {
            (Loc::Cr(n), Loc::Reg(r)) => {
                let v = self.regs[r as usize];
                let (cr0, cr3, cr4) = (self.cr0, self.cr3, self.cr4);
                match n {
                    0 => self.write_cr0(v)?,
                    2 => self.cr2 = v,
                    3 => self.set_cr3(v),
                    4 if !self.model.info().cr4 => return Err(Exc::ud()),
                    4 => {
                        // Bits the model lacks are reserved (SDM Vol. 3A §2.5).
                        if v & !self.model.cr4_mask(self.fpu_present) != 0 {
                            return Err(Exc::gp(0));
                        }
                        self.cr4 = v;
                        self.tlb.flush(false);
                    }
                    _ => return Err(Exc::ud()),
                }
                // PAE paging (re)loads the PDPTEs; a bad one leaves the registers as
                // they were.
                if matches!(n, 0 | 3 | 4) {
                    if let Err(x) = self.load_pdptes(bus) {
                        (self.cr0, self.cr3, self.cr4) = (cr0, cr3, cr4);
                        self.tlb.flush(false);
                        return Err(x);
                    }
                }
            }
            (Loc::Reg(r), Loc::Cr(n)) => {
                let v = match n {
                    0 => self.cr0,
                    2 => self.cr2,
                    3 => self.cr3,
                    4 if self.model.info().cr4 => self.cr4,
                    _ => return Err(Exc::ud()),
                };
                self.regs[r as usize] = v;
            }
            _ => return Err(Exc::ud()),
        }
        Ok(())
    }

    fn mov_dr(&mut self, e: &Entry) -> Res<()> {
        self.require_cpl0()?;
        let alias = |n: u8| match n {
            4 => 6,
            5 => 7,
            n => n as usize,
        };
        match (e.dst, e.src) {
            (Loc::Dr(n), Loc::Reg(r)) => {
                let v = self.regs[r as usize];
                let n = alias(n);
                self.dr[n] = match n {
                    6 => (v & 0xE00F) | 0xFFFF_0FF0,
                    7 => (v & !0xD800) | 0x400,
                    _ => v,
                };
            }
            (Loc::Reg(r), Loc::Dr(n)) => self.regs[r as usize] = self.dr[alias(n)],
            _ => return Err(Exc::ud()),
        }
        Ok(())
    }

    fn sel_of<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<u16> {
        Ok(match e.dst {
            Loc::Reg(r) => self.regs[r as usize] as u16,
            Loc::Mem => {
                let a = self.ea(e);
                self.rd(bus, e.seg as usize, a, 2)? as u16
            }
            _ => 0,
        })
    }

    /// Stores a 16-bit system value: to memory 16 bits, to a register zero-extended.
    fn store_sys<B: Bus>(&mut self, bus: &mut B, e: &Entry, v: u32) -> Res<()> {
        match e.dst {
            Loc::Reg(r) => {
                let size = e.size as u32;
                self.set_reg(r, size, v);
                Ok(())
            }
            _ => {
                let a = self.ea(e);
                self.wr(bus, e.seg as usize, a, 2, v)
            }
        }
    }

    /// LAR/LSL/VERR/VERW: the descriptor if the current privilege may see it.
    fn visible_desc<B: Bus>(&mut self, bus: &mut B, sel: u16) -> Option<(u32, u32)> {
        if sel & !3 == 0 {
            return None;
        }
        let (base, limit) = if sel & 4 != 0 {
            (self.ldtr.base, self.ldtr.limit)
        } else {
            (self.gdtr.base, self.gdtr.limit as u32)
        };
        let idx = (sel & !7) as u32;
        if idx + 7 > limit {
            return None;
        }
        let lo = self.rd_sys(bus, base.wrapping_add(idx), 4).ok()?;
        let hi = self.rd_sys(bus, base.wrapping_add(idx + 4), 4).ok()?;
        let dpl = ((hi >> 13) & 3) as u8;
        let rpl = (sel & 3) as u8;
        let system = hi & (1 << 12) == 0;
        let conforming_code = !system && hi & (3 << 10) == (3 << 10);
        if !conforming_code && (dpl < self.cpl || dpl < rpl) {
            return None;
        }
        Some((lo, hi))
    }

    fn set_zf(&mut self, z: bool) {
        if z {
            self.eflags |= ZF;
        } else {
            self.eflags &= !ZF;
        }
    }

    fn sysenter(&mut self) -> Res<()> {
        if !self.protected() || self.sysenter_cs & 0xFFFC == 0 {
            return Err(Exc::gp(0));
        }
        self.eflags &= !(VM | IF | RF);
        let cs = (self.sysenter_cs & 0xFFFC) as u16;
        let code = ATTR_P | ATTR_S | ATTR_CODE | ATTR_RW | ATTR_ACCESSED | ATTR_DB | ATTR_G;
        self.seg[CS] = Segment::new(cs, 0, 0xFFFF_FFFF, code);
        self.seg[SS] = Segment::new(
            cs + 8,
            0,
            0xFFFF_FFFF,
            ATTR_P | ATTR_S | ATTR_RW | ATTR_ACCESSED | ATTR_DB | ATTR_G,
        );
        self.set_cpl(0);
        self.regs[ESP] = self.sysenter_esp;
        self.eip = self.sysenter_eip;
        Ok(())
    }

    fn sysexit(&mut self) -> Res<()> {
        if !self.protected() || self.cpl != 0 || self.sysenter_cs & 0xFFFC == 0 {
            return Err(Exc::gp(0));
        }
        let cs = ((self.sysenter_cs & 0xFFFC) + 16) as u16 | 3;
        let dpl3 = 3 << 5;
        let code = ATTR_P | ATTR_S | ATTR_CODE | ATTR_RW | ATTR_ACCESSED | ATTR_DB | ATTR_G | dpl3;
        self.seg[CS] = Segment::new(cs, 0, 0xFFFF_FFFF, code);
        self.seg[SS] = Segment::new(
            cs + 8,
            0,
            0xFFFF_FFFF,
            ATTR_P | ATTR_S | ATTR_RW | ATTR_ACCESSED | ATTR_DB | ATTR_G | dpl3,
        );
        self.set_cpl(3);
        self.regs[ESP] = self.regs[ECX];
        self.eip = self.regs[EDX];
        Ok(())
    }

    /// Everything not in the integer hot path.
    pub(crate) fn system<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        match e.op {
            Op::Hlt => {
                // With `hlt_exits`, HLT stops the CPU at any privilege, the way a
                // hypervisor's HLT exiting does; otherwise it is privileged.
                if !self.hlt_exits {
                    self.require_cpl0()?;
                }
                self.halted = true;
            }
            Op::Cpuid => self.cpuid(),
            Op::Rdtsc => {
                if self.cr4 & CR4_TSD != 0 && self.protected() && self.cpl != 0 {
                    return Err(Exc::gp(0));
                }
                let tsc = self.tsc();
                self.regs[EAX] = tsc as u32;
                self.regs[EDX] = (tsc >> 32) as u32;
            }
            Op::Rdpmc => {
                // P6 counters PMC0/PMC1 (MSRs C1h/C2h, 40 bits); CR4.PCE opens them to
                // CPL > 0 (SDM Vol. 2B "RDPMC").
                if self.protected() && self.cpl != 0 && self.cr4 & (1 << 8) == 0 {
                    return Err(Exc::gp(0));
                }
                let n = self.regs[ECX];
                if n > 1 {
                    return Err(Exc::gp(0));
                }
                let v = self.mtrr.get(&(0xC1 + n)).copied().unwrap_or(0) & 0xFF_FFFF_FFFF;
                self.regs[EAX] = v as u32;
                self.regs[EDX] = (v >> 32) as u32;
            }
            Op::Rdmsr => self.rdmsr()?,
            Op::Wrmsr => self.wrmsr(bus)?,
            Op::MovCr => self.mov_cr(bus, e)?,
            Op::MovDr => self.mov_dr(e)?,
            Op::Clts => {
                self.require_cpl0()?;
                self.cr0 &= !CR0_TS;
            }
            Op::Wait => {
                if self.cr0 & (CR0_MP | CR0_TS) == CR0_MP | CR0_TS {
                    return Err(Exc::new(NM));
                }
                if self.fpu_present {
                    self.fpu_wait()?;
                }
            }
            Op::Esc => {
                if self.cr0 & (CR0_EM | CR0_TS) != 0 {
                    return Err(Exc::new(NM));
                }
                if self.fpu_present {
                    return self.fpu_exec(bus, e);
                }
                // No coprocessor: the ESC opcode has no effect (a 386 with an empty socket).
            }
            Op::Mmx => return self.mmx_exec(bus, e),
            Op::Sse => return self.sse_exec(bus, e),
            Op::Fxsr if e.dst == Loc::Mem => return self.fxsr(bus, e, e.sub == 1),
            Op::Fxsr => return Err(Exc::ud()),
            Op::Lgdt | Op::Lidt => {
                self.require_cpl0()?;
                if e.dst != Loc::Mem {
                    return Err(Exc::ud());
                }
                let a = self.ea(e);
                let limit = self.rd(bus, e.seg as usize, a, 2)? as u16;
                let mut base = self.rd(bus, e.seg as usize, Self::ea_add(e, a, 2), 4)?;
                // SDM LGDT/LIDT: with a 16-bit operand size only a 24-bit base is loaded.
                if e.size == 2 {
                    base &= 0x00FF_FFFF;
                }
                let t = TableReg { base, limit };
                if e.op == Op::Lgdt {
                    self.gdtr = t;
                } else {
                    self.idtr = t;
                }
            }
            Op::Sgdt | Op::Sidt => {
                if e.dst != Loc::Mem {
                    return Err(Exc::ud());
                }
                let t = if e.op == Op::Sgdt {
                    self.gdtr
                } else {
                    self.idtr
                };
                let a = self.ea(e);
                // SDM SGDT/SIDT: the full 32-bit base is stored at either operand size
                // (only the 286 stored 24 bits).
                let base = t.base;
                // Both parts are checked before either is written.
                let hi = Self::ea_add(e, a, 2);
                let lin = self.linear(e.seg as usize, hi, 4, true)?;
                self.probe_write(bus, lin, 4)?;
                self.wr(bus, e.seg as usize, a, 2, t.limit as u32)?;
                self.wr(bus, e.seg as usize, hi, 4, base)?;
            }
            Op::Sldt | Op::Str => {
                self.require_pm()?;
                let v = if e.op == Op::Sldt {
                    self.ldtr.selector
                } else {
                    self.tr.selector
                };
                self.store_sys(bus, e, v as u32)?;
            }
            Op::Lldt => {
                self.require_pm()?;
                self.require_cpl0()?;
                let sel = self.sel_of(bus, e)?;
                if sel & !3 == 0 {
                    self.ldtr = Segment {
                        selector: sel,
                        base: 0,
                        limit: 0,
                        attr: 0,
                        acc: 0,
                    };
                } else {
                    if sel & 4 != 0 {
                        return Err(Exc::gp(sel as u32 & 0xFFFC));
                    }
                    let (lo, hi) = self.gdt_entry(bus, sel)?;
                    if (hi >> 8) & 0x1F != 2 {
                        return Err(Exc::gp(sel as u32 & 0xFFFC));
                    }
                    if hi & (1 << 15) == 0 {
                        return Err(Exc::code(crate::NP, sel as u32 & 0xFFFC));
                    }
                    self.ldtr = desc_segment(sel, lo, hi);
                }
            }
            Op::Ltr => {
                self.require_pm()?;
                self.require_cpl0()?;
                let sel = self.sel_of(bus, e)?;
                if sel & !3 == 0 || sel & 4 != 0 {
                    return Err(Exc::gp(sel as u32 & 0xFFFC));
                }
                let (lo, hi) = self.gdt_entry(bus, sel)?;
                let ty = (hi >> 8) & 0x1F;
                if ty != 1 && ty != 9 {
                    return Err(Exc::gp(sel as u32 & 0xFFFC));
                }
                if hi & (1 << 15) == 0 {
                    return Err(Exc::code(crate::NP, sel as u32 & 0xFFFC));
                }
                let busy = hi | (2 << 8);
                let a = self.gdtr.base.wrapping_add((sel & !7) as u32 + 4);
                self.wr_sys(bus, a, 4, busy)?;
                self.tr = desc_segment(sel, lo, busy);
            }
            Op::Lmsw => {
                self.require_cpl0()?;
                let v = self.sel_of(bus, e)? as u32;
                // LMSW can set PE but never clear it.
                let nv = (self.cr0 & !0xE) | (v & 0xF) | (self.cr0 & CR0_PE);
                self.write_cr0(nv)?;
            }
            Op::Smsw => {
                let v = self.cr0;
                match e.dst {
                    Loc::Reg(r) => self.set_reg(r, e.size as u32, v),
                    _ => self.store_sys(bus, e, v & 0xFFFF)?,
                }
            }
            Op::Arpl => {
                self.require_pm()?;
                let d = self.sel_of(bus, e)?;
                let s = match e.src {
                    Loc::Reg(r) => self.regs[r as usize] as u16,
                    _ => 0,
                };
                if d & 3 < s & 3 {
                    let nd = (d & !3) | (s & 3);
                    match e.dst {
                        Loc::Reg(r) => self.set_reg(r, 2, nd as u32),
                        _ => {
                            let a = self.ea(e);
                            self.wr(bus, e.seg as usize, a, 2, nd as u32)?;
                        }
                    }
                    self.eflags |= ZF;
                } else {
                    self.eflags &= !ZF;
                }
            }
            Op::Lar | Op::Lsl => {
                self.require_pm()?;
                let sel = match e.src {
                    Loc::Reg(r) => self.regs[r as usize] as u16,
                    _ => {
                        let a = self.ea(e);
                        self.rd(bus, e.seg as usize, a, 2)? as u16
                    }
                };
                let ok = self.visible_desc(bus, sel).filter(|&(_, hi)| {
                    let system = hi & (1 << 12) == 0;
                    let ty = (hi >> 8) & 0xF;
                    if !system {
                        return true;
                    }
                    if e.op == Op::Lsl {
                        matches!(ty, 1 | 2 | 3 | 9 | 11)
                    } else {
                        matches!(ty, 1 | 2 | 3 | 4 | 5 | 9 | 11 | 12)
                    }
                });
                match ok {
                    Some((lo, hi)) => {
                        let v = if e.op == Op::Lar {
                            hi & 0x00F0_FF00
                        } else {
                            desc_segment(sel, lo, hi).limit
                        };
                        self.set_reg(
                            match e.dst {
                                Loc::Reg(r) => r,
                                _ => 0,
                            },
                            e.size as u32,
                            v,
                        );
                        self.set_zf(true);
                    }
                    None => self.set_zf(false),
                }
            }
            Op::Verr | Op::Verw => {
                self.require_pm()?;
                let sel = self.sel_of(bus, e)?;
                let ok = self.visible_desc(bus, sel).is_some_and(|(_, hi)| {
                    let system = hi & (1 << 12) == 0;
                    let code = hi & (1 << 11) != 0;
                    let rw = hi & (1 << 9) != 0;
                    !system
                        && if e.op == Op::Verr {
                            !code || rw
                        } else {
                            !code && rw
                        }
                });
                self.set_zf(ok);
            }
            Op::Invd => self.require_cpl0()?,
            Op::Invlpg => {
                self.require_cpl0()?;
                if e.dst != Loc::Mem {
                    return Err(Exc::ud());
                }
                let off = self.ea(e);
                let lin = self.seg[e.seg as usize].base.wrapping_add(off);
                self.tlb.invalidate(lin);
            }
            Op::Sysenter => self.sysenter()?,
            Op::Sysexit => self.sysexit()?,
            _ => {
                self.log_unimplemented(e.op as u32 | 0x1_0000, &format!("{:?}", e.op));
                return Err(Exc::ud());
            }
        }
        Ok(())
    }

    fn gdt_entry<B: Bus>(&mut self, bus: &mut B, sel: u16) -> Res<(u32, u32)> {
        let idx = (sel & !7) as u32;
        if idx + 7 > self.gdtr.limit as u32 {
            return Err(Exc::gp(sel as u32 & 0xFFFC));
        }
        let lo = self.rd_sys(bus, self.gdtr.base.wrapping_add(idx), 4)?;
        let hi = self.rd_sys(bus, self.gdtr.base.wrapping_add(idx + 4), 4)?;
        Ok((lo, hi))
    }
}

fn desc_segment(sel: u16, lo: u32, hi: u32) -> Segment {
    let base = (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF00_0000);
    let mut limit = (lo & 0xFFFF) | (hi & 0xF_0000);
    if hi & (1 << 23) != 0 {
        limit = (limit << 12) | 0xFFF;
    }
    let attr = (((hi >> 8) & 0xFF) | ((hi >> 8) & 0xF000)) as u16;
    Segment::new(sel, base, limit, attr)
}
