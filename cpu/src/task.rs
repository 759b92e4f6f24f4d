//! Hardware task switching (SDM Vol. 3A chapter 7): JMP/CALL to a TSS or task gate,
//! INT/exceptions through an IDT task gate, and IRET with NT = 1 back along the link.
//! Both the 32-bit TSS (types 9/11) and the 286 16-bit TSS (types 1/3) are handled.

use crate::interrupt::Desc;
use crate::regs::*;
use crate::{Bus, Cpu, Exc, Res, GP, NP, SSF, TS};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TaskSrc {
    Jmp,
    Call,
    Iret,
    /// An interrupt or exception through a task gate, with its error code.
    Int(Option<u32>),
}

const BUSY: u32 = 2 << 8;

/// The register image of a TSS.
struct TaskState {
    cr3: Option<u32>,
    eip: u32,
    eflags: u32,
    regs: [u32; 8],
    segs: [u16; 6],
    ldt: u16,
}

fn err(sel: u16) -> u32 {
    sel as u32 & 0xFFFC
}

impl Cpu {
    /// JMP/CALL to a descriptor of system type 1/9 (TSS) or 5 (task gate).
    pub(crate) fn far_to_task<B: Bus>(
        &mut self,
        bus: &mut B,
        sel: u16,
        d: &Desc,
        src: TaskSrc,
    ) -> Res<()> {
        let rpl = (sel & 3) as u8;
        if d.dpl() < self.cpl || d.dpl() < rpl {
            return Err(Exc::gp(err(sel)));
        }
        match d.sys_type() {
            5 => {
                if !d.present() {
                    return Err(Exc::code(NP, err(sel)));
                }
                let tsel = d.gate_sel();
                self.task_gate_target(bus, tsel, src)
            }
            1 | 9 => self.task_switch(bus, sel, *d, src),
            _ => Err(Exc::gp(err(sel))),
        }
    }

    /// Follows a task gate's selector to its TSS descriptor and switches.
    pub(crate) fn task_gate_target<B: Bus>(
        &mut self,
        bus: &mut B,
        tsel: u16,
        src: TaskSrc,
    ) -> Res<()> {
        if tsel & 4 != 0 || tsel & !3 == 0 {
            return Err(Exc::gp(err(tsel)));
        }
        let td = self.read_desc(bus, tsel, GP)?;
        if !matches!(td.sys_type(), 1 | 9) || !td.is_system() {
            return Err(Exc::gp(err(tsel)));
        }
        self.task_switch(bus, tsel, td, src)
    }

    /// IRET with NT set: return to the task named by the current TSS's back-link.
    pub(crate) fn task_return<B: Bus>(&mut self, bus: &mut B) -> Res<()> {
        let link = self.rd_sys(bus, self.tr.base, 2)? as u16;
        if link & 4 != 0 || link & !3 == 0 {
            return Err(Exc::code(TS, err(link)));
        }
        let d = self.read_desc(bus, link, TS)?;
        if !d.is_system() || !matches!(d.sys_type(), 3 | 11) {
            return Err(Exc::code(TS, err(link)));
        }
        self.task_switch(bus, link, d, TaskSrc::Iret)
    }

    fn read_task_state<B: Bus>(&mut self, bus: &mut B, base: u32, big: bool) -> Res<TaskState> {
        let mut rd =
            |cpu: &mut Cpu, off: u32, size: u32| cpu.rd_sys(bus, base.wrapping_add(off), size);
        let mut st = TaskState {
            cr3: None,
            eip: 0,
            eflags: 0,
            regs: [0; 8],
            segs: [0; 6],
            ldt: 0,
        };
        if big {
            st.cr3 = Some(rd(self, 0x1C, 4)?);
            st.eip = rd(self, 0x20, 4)?;
            st.eflags = rd(self, 0x24, 4)?;
            for i in 0..8 {
                st.regs[i] = rd(self, 0x28 + 4 * i as u32, 4)?;
            }
            for i in 0..6 {
                st.segs[i] = rd(self, 0x48 + 4 * i as u32, 2)? as u16;
            }
            st.ldt = rd(self, 0x60, 2)? as u16;
        } else {
            // SDM Vol. 3A §7.6: a 16-bit TSS has no upper words, so those of EIP and EFLAGS
            // are lost (0), and those of the general registers "are modified and not
            // maintained": P6 processors set them to FFFFh (as Bochs does; test386
            // checks it).
            st.eip = rd(self, 0x0E, 2)?;
            st.eflags = rd(self, 0x10, 2)?;
            for i in 0..8 {
                st.regs[i] = 0xFFFF_0000 | rd(self, 0x12 + 2 * i as u32, 2)?;
            }
            for i in 0..4 {
                st.segs[i] = rd(self, 0x22 + 2 * i as u32, 2)? as u16;
            }
            st.ldt = rd(self, 0x2A, 2)? as u16;
        }
        Ok(st)
    }

    fn save_task_state<B: Bus>(&mut self, bus: &mut B, eflags: u32) -> Res<()> {
        let base = self.tr.base;
        let big = matches!(self.tr.attr & 0xF, 9 | 11);
        let regs = self.regs;
        let segs: Vec<u32> = self.seg.iter().map(|s| s.selector as u32).collect();
        let eip = self.eip;
        if big {
            self.wr_sys(bus, base + 0x20, 4, eip)?;
            self.wr_sys(bus, base + 0x24, 4, eflags)?;
            for (i, r) in regs.iter().enumerate() {
                self.wr_sys(bus, base + 0x28 + 4 * i as u32, 4, *r)?;
            }
            for (i, s) in segs.iter().enumerate() {
                self.wr_sys(bus, base + 0x48 + 4 * i as u32, 2, *s)?;
            }
        } else {
            self.wr_sys(bus, base + 0x0E, 2, eip)?;
            self.wr_sys(bus, base + 0x10, 2, eflags)?;
            for (i, r) in regs.iter().enumerate() {
                self.wr_sys(bus, base + 0x12 + 2 * i as u32, 2, *r)?;
            }
            for (i, s) in segs.iter().take(4).enumerate() {
                self.wr_sys(bus, base + 0x22 + 2 * i as u32, 2, *s)?;
            }
        }
        Ok(())
    }

    fn set_tss_busy<B: Bus>(&mut self, bus: &mut B, sel: u16, busy: bool) -> Res<()> {
        let a = self.gdtr.base.wrapping_add((sel & !7) as u32 + 4);
        let hi = self.rd_sys(bus, a, 4)?;
        let nv = if busy { hi | BUSY } else { hi & !BUSY };
        self.wr_sys(bus, a, 4, nv)
    }

    /// The task switch proper (SDM Vol. 3A §7.3, steps 1–14).
    fn task_switch<B: Bus>(&mut self, bus: &mut B, sel: u16, nd: Desc, src: TaskSrc) -> Res<()> {
        let e = err(sel);
        if !nd.present() {
            return Err(Exc::code(NP, e));
        }
        let big = nd.sys_type() & 8 != 0;
        let min_limit = if big { 0x67 } else { 0x2B };
        if nd.limit() < min_limit {
            return Err(Exc::code(TS, e));
        }
        let nbase = nd.base();
        // Read the whole new image before changing anything.
        let st = self.read_task_state(bus, nbase, big)?;
        // Save the outgoing task.
        let mut old_flags = self.eflags;
        if src == TaskSrc::Iret {
            old_flags &= !NT;
        }
        self.save_task_state(bus, old_flags)?;
        let old_sel = self.tr.selector;
        if matches!(src, TaskSrc::Jmp | TaskSrc::Iret) {
            self.set_tss_busy(bus, old_sel, false)?;
        }
        if src != TaskSrc::Iret {
            self.set_tss_busy(bus, sel, true)?;
        }
        let nested = matches!(src, TaskSrc::Call | TaskSrc::Int(_));
        if nested {
            self.wr_sys(bus, nbase, 2, old_sel as u32)?;
        }
        // Switch: TR, CR3, registers, then the segment registers with their checks,
        // whose faults belong to the new task.
        let mut attr = nd.attr();
        attr |= BUSY as u16 >> 8;
        self.tr = Segment::new(sel, nbase, nd.limit(), attr);
        self.cr0 |= CR0_TS;
        if let (Some(cr3), true) = (st.cr3, self.cr0 & CR0_PG != 0) {
            self.set_cr3(cr3);
            self.load_pdptes(bus)?;
        }
        let mut fl = (st.eflags & WRITABLE) | 2;
        if nested {
            fl |= NT;
        }
        self.eflags = fl;
        self.regs = st.regs;
        self.eip = st.eip;
        // Selectors first, as the hardware loads them before checking descriptors.
        for (s, &v) in st.segs.iter().enumerate() {
            self.seg[s].selector = v;
        }
        self.load_task_ldt(bus, st.ldt)?;
        if fl & VM != 0 {
            self.set_cpl(3);
            for (s, &v) in st.segs.iter().enumerate() {
                self.load_seg(bus, s, v)?;
            }
        } else {
            self.load_task_segments(bus, &st.segs)?;
        }
        if self.eip > self.seg[CS].limit {
            return Err(Exc::gp(0));
        }
        if let TaskSrc::Int(Some(code)) = src {
            self.push(bus, code, if big { 4 } else { 2 })?;
        }
        Ok(())
    }

    fn load_task_ldt<B: Bus>(&mut self, bus: &mut B, ldt: u16) -> Res<()> {
        if ldt & !3 == 0 {
            self.ldtr = Segment {
                selector: ldt,
                base: 0,
                limit: 0,
                attr: 0,
                acc: 0,
            };
            return Ok(());
        }
        if ldt & 4 != 0 {
            return Err(Exc::code(TS, err(ldt)));
        }
        let d = self.read_desc(bus, ldt, TS)?;
        if !d.is_system() || d.sys_type() != 2 {
            return Err(Exc::code(TS, err(ldt)));
        }
        if !d.present() {
            return Err(Exc::code(TS, err(ldt)));
        }
        self.ldtr = d.segment(ldt);
        Ok(())
    }

    /// CS and SS of the incoming task with the #TS checks of SDM Table 7-1, then the
    /// data segments with the ordinary rules (their #GP becomes #TS).
    fn load_task_segments<B: Bus>(&mut self, bus: &mut B, segs: &[u16; 6]) -> Res<()> {
        let cs = segs[CS];
        let cpl = (cs & 3) as u8;
        if cs & !3 == 0 {
            return Err(Exc::code(TS, 0));
        }
        let d = self.read_desc(bus, cs, TS)?;
        let bad = !d.is_code()
            || (d.conforming() && d.dpl() > cpl)
            || (!d.conforming() && d.dpl() != cpl);
        if bad {
            return Err(Exc::code(TS, err(cs)));
        }
        if !d.present() {
            return Err(Exc::code(NP, err(cs)));
        }
        self.seg[CS] = d.segment(cs);
        self.set_cpl(cpl);
        let ss = segs[SS];
        if ss & !3 == 0 {
            return Err(Exc::code(TS, 0));
        }
        let sd = self.read_desc(bus, ss, TS)?;
        if !sd.writable_data() || sd.dpl() != cpl || (ss & 3) as u8 != cpl {
            return Err(Exc::code(TS, err(ss)));
        }
        if !sd.present() {
            return Err(Exc::code(SSF, err(ss)));
        }
        self.seg[SS] = sd.segment(ss);
        for s in [ES, DS, FS, GS] {
            match self.load_seg(bus, s, segs[s]) {
                Ok(()) => {}
                Err(x) if x.vector == GP => return Err(Exc::code(TS, x.error().unwrap_or(0))),
                Err(x) => return Err(x),
            }
        }
        Ok(())
    }
}
