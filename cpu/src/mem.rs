//! Memory access: segmentation (limit and access-rights checks against the hidden
//! descriptor cache, SDM Vol. 3A §5.3), paging (two-level 4 KB, 4 MB PSE and PAE walks
//! with accessed/dirty bits and #PF error codes, §4.3–4.4) and the self-modifying-code
//! check on every write to a page that holds cached code.

use crate::regs::*;
use crate::{Bus, Cpu, Exc, Res, PFV, SSF};

/// Kind of memory access, for permission checks and #PF error codes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
    Fetch,
}

const PTE_P: u64 = 1;
const PTE_RW: u64 = 2;
const PTE_US: u64 = 4;
const PTE_A: u64 = 0x20;
const PTE_D: u64 = 0x40;
const PTE_PS: u64 = 0x80;
const PTE_G: u64 = 0x100;
/// Reserved bits of PAE entries on a 36-bit-physical P6 without NX: 63:36.
const PAE_RSVD: u64 = 0xFFFF_FFF0_0000_0000;
/// Reserved bits of a PAE PDPTE besides 63:36: 1, 2, 5–8.
const PDPTE_RSVD: u64 = PAE_RSVD | 0x1E6;

/// A direct-mapped software TLB: one entry per 4 KB linear page, with the permissions the
/// walk found so a hit needs one compare and one permission test.
pub(crate) const TLB_SIZE: usize = 1024;
const TLB_VALID: u32 = 1;
const P_USER_READ: u8 = 1;
const P_USER_WRITE: u8 = 2;
const P_SUP_WRITE: u8 = 4;
/// The page's dirty bit is already set, so writes need no walk.
const P_DIRTY: u8 = 8;
const P_GLOBAL: u8 = 16;

#[derive(Clone, Copy, Default)]
pub(crate) struct TlbEntry {
    tag: u32,
    phys: u32,
    perm: u8,
}

pub(crate) struct Tlb {
    entries: Vec<TlbEntry>,
}

impl Tlb {
    pub fn new() -> Self {
        Tlb {
            entries: vec![TlbEntry::default(); TLB_SIZE],
        }
    }

    /// Drops every translation (or every non-global one).
    pub fn flush(&mut self, keep_global: bool) {
        for e in self.entries.iter_mut() {
            if !(keep_global && e.perm & P_GLOBAL != 0) {
                e.tag = 0;
            }
        }
    }

    /// INVLPG: drops the translation of one linear page, global or not.
    pub fn invalidate(&mut self, lin: u32) {
        let e = &mut self.entries[(lin >> 12) as usize & (TLB_SIZE - 1)];
        if e.tag & !0xFFF == lin & !0xFFF {
            e.tag = 0;
        }
    }
}

impl Cpu {
    #[cold]
    fn seg_fault(seg: usize) -> Exc {
        if seg == SS {
            Exc::code(SSF, 0)
        } else {
            Exc::gp(0)
        }
    }

    /// Checks `size` bytes at `off` in segment `seg` and returns the linear address.
    #[inline(always)]
    pub(crate) fn linear(&self, seg: usize, off: u32, size: u32, write: bool) -> Res<u32> {
        let s = &self.seg[seg];
        let need = if write { ACC_WRITE } else { ACC_READ };
        let end = off as u64 + size as u64 - 1;
        if s.acc & (need | ACC_EXPAND_DOWN) == need && end <= s.limit as u64 {
            return Ok(s.base.wrapping_add(off));
        }
        self.linear_slow(seg, off, end, need)
    }

    #[cold]
    fn linear_slow(&self, seg: usize, off: u32, end: u64, need: u8) -> Res<u32> {
        let s = &self.seg[seg];
        if s.acc & need == 0 {
            return Err(Self::seg_fault(seg));
        }
        if s.acc & ACC_EXPAND_DOWN != 0 {
            let upper: u64 = if s.big() { 0xFFFF_FFFF } else { 0xFFFF };
            if (off as u64) > s.limit as u64 && end <= upper {
                return Ok(s.base.wrapping_add(off));
            }
        }
        Err(Self::seg_fault(seg))
    }

    #[inline]
    fn user(&self) -> bool {
        self.cpl == 3
    }

    /// Linear → physical for one byte's page.
    #[inline]
    pub(crate) fn translate<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        acc: Access,
        user: bool,
    ) -> Res<u32> {
        if self.cr0 & CR0_PG == 0 {
            return Ok(lin);
        }
        let e = self.tlb.entries[(lin >> 12) as usize & (TLB_SIZE - 1)];
        if e.tag == (lin & !0xFFF) | TLB_VALID {
            let ok = match acc {
                Access::Read | Access::Fetch => !user || e.perm & P_USER_READ != 0,
                Access::Write => {
                    e.perm & P_DIRTY != 0
                        && e.perm & if user { P_USER_WRITE } else { P_SUP_WRITE } != 0
                }
            };
            if ok {
                return Ok(e.phys | (lin & 0xFFF));
            }
        }
        self.walk(bus, lin, acc, user)
    }

    /// Page walk (no TLB yet: every paged access walks; correctness first).
    #[cold]
    fn walk<B: Bus>(&mut self, bus: &mut B, lin: u32, acc: Access, user: bool) -> Res<u32> {
        let write = acc == Access::Write;
        let wp = self.cr0 & CR0_WP != 0;
        let fault = |cpu: &mut Cpu, present: bool| {
            cpu.cr2 = lin;
            let mut code = present as u32;
            if present && cpu.rsvd_fault {
                // A reserved bit set in a paging entry (SDM Vol. 3A §4.7: RSVD, bit 3).
                code |= 8;
            }
            cpu.rsvd_fault = false;
            if write {
                code |= 2;
            }
            if user {
                code |= 4;
            }
            Err(Exc::code(PFV, code))
        };
        // The directory and table entries of the walk: (physical address, value).
        let mut entries: [(u32, u64); 2] = [(0, 0); 2];
        let mut n = 0;
        let phys;
        if self.cr4 & CR4_PAE != 0 {
            // PDPTEs were loaded when CR3 was (SDM Vol. 3A §4.4.1).
            let pdpte = self.pdpte[(lin >> 30) as usize];
            if pdpte & PTE_P == 0 {
                return fault(self, false);
            }
            let pde_addr = (pdpte as u32 & !0xFFF) + (((lin >> 21) & 0x1FF) << 3);
            let pde = read64(bus, pde_addr);
            if pde & PTE_P == 0 {
                return fault(self, false);
            }
            let big = pde & PTE_PS != 0;
            if pde & PAE_RSVD != 0 || (big && pde & 0x1F_E000 != 0) {
                self.rsvd_fault = true;
                return fault(self, true);
            }
            entries[n] = (pde_addr, pde);
            n += 1;
            if big {
                phys = (pde as u32 & 0xFFE0_0000) | (lin & 0x1F_FFFF);
            } else {
                let pte_addr = (pde as u32 & !0xFFF) + (((lin >> 12) & 0x1FF) << 3);
                let pte = read64(bus, pte_addr);
                if pte & PTE_P == 0 {
                    return fault(self, false);
                }
                if pte & PAE_RSVD != 0 {
                    self.rsvd_fault = true;
                    return fault(self, true);
                }
                entries[n] = (pte_addr, pte);
                n += 1;
                phys = (pte as u32 & !0xFFF) | (lin & 0xFFF);
            }
        } else {
            let pde_addr = (self.cr3 & !0xFFF) + ((lin >> 22) << 2);
            let pde = bus.read32(pde_addr) as u64;
            if pde & PTE_P == 0 {
                return fault(self, false);
            }
            entries[n] = (pde_addr, pde);
            n += 1;
            if pde & PTE_PS != 0 && self.cr4 & CR4_PSE != 0 {
                phys = (pde as u32 & 0xFFC0_0000) | (lin & 0x3F_FFFF);
            } else {
                let pte_addr = (pde as u32 & !0xFFF) + (((lin >> 12) & 0x3FF) << 2);
                let pte = bus.read32(pte_addr) as u64;
                if pte & PTE_P == 0 {
                    return fault(self, false);
                }
                entries[n] = (pte_addr, pte);
                n += 1;
                phys = (pte as u32 & !0xFFF) | (lin & 0xFFF);
            }
        }
        // Permissions are the AND of all levels (SDM Vol. 3A §4.6).
        let all = entries[..n].iter().fold(PTE_RW | PTE_US, |a, e| a & e.1);
        if user && all & PTE_US == 0 {
            return fault(self, true);
        }
        if write && all & PTE_RW == 0 && (user || wp) {
            return fault(self, true);
        }
        let last = entries[n - 1].1;
        let mut perm = 0;
        if all & PTE_US != 0 {
            perm |= P_USER_READ;
            if all & PTE_RW != 0 {
                perm |= P_USER_WRITE;
            }
        }
        if all & PTE_RW != 0 || !wp {
            perm |= P_SUP_WRITE;
        }
        if write || last & PTE_D != 0 {
            perm |= P_DIRTY;
        }
        if last & PTE_G != 0 && self.cr4 & CR4_PGE != 0 {
            perm |= P_GLOBAL;
        }
        self.tlb.entries[(lin >> 12) as usize & (TLB_SIZE - 1)] = TlbEntry {
            tag: (lin & !0xFFF) | TLB_VALID,
            phys: phys & !0xFFF,
            perm,
        };
        // Accessed bits on every level; dirty on the last on writes.
        for (i, &(addr, val)) in entries[..n].iter().enumerate() {
            let last = i == n - 1;
            let mut nv = val | PTE_A;
            if last && write {
                nv |= PTE_D;
            }
            // A and D live in the low dword of PAE entries too.
            if nv != val {
                bus.write32(addr, nv as u32);
            }
        }
        Ok(phys)
    }

    /// Physical write with the self-modifying-code check.
    #[inline(always)]
    fn phys_write<B: Bus>(&mut self, bus: &mut B, phys: u32, size: u32, v: u32) {
        match size {
            1 => bus.write8(phys, v as u8),
            2 => bus.write16(phys, v as u16),
            _ => bus.write32(phys, v),
        }
        let p0 = phys >> 12;
        let p1 = phys.wrapping_add(size - 1) >> 12;
        if self.cache.is_code(p0) || (p1 != p0 && self.cache.is_code(p1)) {
            self.code_written(phys, size);
        }
    }

    #[cold]
    fn code_written(&mut self, phys: u32, size: u32) {
        if self.cache.code_written(phys, size) {
            self.smc = true;
        }
    }

    /// Reads `size` (1, 2, 4) bytes at linear `lin` with the given privilege.
    #[inline(always)]
    pub(crate) fn read_lin<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u32,
        user: bool,
    ) -> Res<u32> {
        if self.cr0 & CR0_PG == 0 {
            return Ok(match size {
                1 => bus.read8(lin) as u32,
                2 => bus.read16(lin) as u32,
                _ => bus.read32(lin),
            });
        }
        self.read_paged(bus, lin, size, user)
    }

    /// The paged half of `read_lin`, kept out of line so the unpaged path inlines.
    #[inline(never)]
    fn read_paged<B: Bus>(&mut self, bus: &mut B, lin: u32, size: u32, user: bool) -> Res<u32> {
        if (lin & 0xFFF) + size > 0x1000 {
            let mut v = 0;
            for i in 0..size {
                let p = self.translate(bus, lin.wrapping_add(i), Access::Read, user)?;
                v |= (bus.read8(p) as u32) << (8 * i);
            }
            return Ok(v);
        }
        let p = self.translate(bus, lin, Access::Read, user)?;
        Ok(match size {
            1 => bus.read8(p) as u32,
            2 => bus.read16(p) as u32,
            _ => bus.read32(p),
        })
    }

    #[inline(always)]
    pub(crate) fn write_lin<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u32,
        v: u32,
        user: bool,
    ) -> Res<()> {
        if self.cr0 & CR0_PG == 0 {
            self.phys_write(bus, lin, size, v);
            if self.watching {
                self.debug_watch_write(lin, size);
            }
            return Ok(());
        }
        self.write_paged(bus, lin, size, v, user)
    }

    /// The paged half of `write_lin`, kept out of line so the unpaged path inlines.
    #[inline(never)]
    fn write_paged<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u32,
        v: u32,
        user: bool,
    ) -> Res<()> {
        if (lin & 0xFFF) + size > 0x1000 {
            // Translate every byte first so a fault leaves memory untouched.
            let mut ph = [0u32; 4];
            for i in 0..size {
                ph[i as usize] = self.translate(bus, lin.wrapping_add(i), Access::Write, user)?;
            }
            for i in 0..size {
                self.phys_write(bus, ph[i as usize], 1, v >> (8 * i));
            }
        } else {
            let p = self.translate(bus, lin, Access::Write, user)?;
            self.phys_write(bus, p, size, v);
        }
        if self.watching {
            self.debug_watch_write(lin, size);
        }
        Ok(())
    }

    /// Checks that a write of `size` bytes at linear `lin` would succeed (for multi-part
    /// writes that must be all-or-nothing).
    pub(crate) fn probe_write<B: Bus>(&mut self, bus: &mut B, lin: u32, size: u32) -> Res<()> {
        if self.cr0 & CR0_PG == 0 {
            return Ok(());
        }
        let user = self.user();
        self.translate(bus, lin, Access::Write, user)?;
        self.translate(bus, lin.wrapping_add(size - 1), Access::Write, user)?;
        Ok(())
    }

    /// A misaligned access with CR0.AM and EFLAGS.AC set at CPL 3 raises #AC(0)
    /// (SDM Vol. 3A §6.15, interrupt 17).
    #[cold]
    pub(crate) fn check_alignment(&self) -> Res<()> {
        if self.cr0 & CR0_AM != 0 && self.eflags & AC != 0 && self.cpl == 3 {
            return Err(Exc::code(crate::ACV, 0));
        }
        Ok(())
    }

    /// Segmented read of `size` bytes.
    #[inline(always)]
    pub(crate) fn rd<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, size: u32) -> Res<u32> {
        let lin = self.linear(seg, off, size, false)?;
        if lin & (size - 1) != 0 {
            self.check_alignment()?;
        }
        let user = self.user();
        self.read_lin(bus, lin, size, user)
    }

    /// Segmented write of `size` bytes.
    #[inline(always)]
    pub(crate) fn wr<B: Bus>(
        &mut self,
        bus: &mut B,
        seg: usize,
        off: u32,
        size: u32,
        v: u32,
    ) -> Res<()> {
        let lin = self.linear(seg, off, size, true)?;
        if lin & (size - 1) != 0 {
            self.check_alignment()?;
        }
        let user = self.user();
        self.write_lin(bus, lin, size, v, user)
    }

    /// Supervisor-mode linear access for descriptor tables, the TSS and the IDT.
    pub(crate) fn rd_sys<B: Bus>(&mut self, bus: &mut B, lin: u32, size: u32) -> Res<u32> {
        self.read_lin(bus, lin, size, false)
    }

    pub(crate) fn wr_sys<B: Bus>(&mut self, bus: &mut B, lin: u32, size: u32, v: u32) -> Res<()> {
        self.write_lin(bus, lin, size, v, false)
    }

    /// Reads code bytes for the decoder: up to 15 bytes from CS:EIP, stopping at the CS
    /// limit or an unmapped page. Returns how many bytes were read and the fault that
    /// stopped it early (if the instruction turns out to need those bytes).
    pub(crate) fn fetch_window<B: Bus>(
        &mut self,
        bus: &mut B,
        eip: u32,
        buf: &mut [u8; 16],
    ) -> (usize, Option<Exc>) {
        let cs = self.seg[CS];
        let user = self.user();
        let mut n = 0;
        let mut page_phys: Option<(u32, u32)> = None;
        while n < 15 {
            let off = eip.wrapping_add(n as u32);
            if (off as u64) > cs.limit as u64 || (!cs.big() && off > 0xFFFF && self.protected()) {
                return (n, Some(Exc::gp(0)));
            }
            let lin = cs.base.wrapping_add(off);
            let phys = match page_phys {
                Some((lp, pp)) if lp == lin >> 12 => pp | (lin & 0xFFF),
                _ => match self.translate(bus, lin, Access::Fetch, user) {
                    Ok(p) => {
                        page_phys = Some((lin >> 12, p & !0xFFF));
                        p
                    }
                    Err(e) => return (n, Some(e)),
                },
            };
            buf[n] = bus.read8(phys);
            n += 1;
        }
        (n, None)
    }
}

impl Cpu {
    /// Loads the four PAE PDPTEs from CR3 (on MOV to CR3, or when PAE paging is turned
    /// on); a present entry with reserved bits set is #GP(0) (SDM Vol. 3A §4.4.1).
    pub(crate) fn load_pdptes<B: Bus>(&mut self, bus: &mut B) -> Res<()> {
        if self.cr4 & CR4_PAE == 0 || self.cr0 & CR0_PG == 0 {
            return Ok(());
        }
        let mut p = [0u64; 4];
        for (i, e) in p.iter_mut().enumerate() {
            *e = read64(bus, (self.cr3 & !0x1F).wrapping_add(8 * i as u32));
            if *e & PTE_P != 0 && *e & PDPTE_RSVD != 0 {
                return Err(Exc::gp(0));
            }
        }
        self.pdpte = p;
        Ok(())
    }
}

fn read64<B: Bus>(bus: &mut B, addr: u32) -> u64 {
    bus.read32(addr) as u64 | (bus.read32(addr.wrapping_add(4)) as u64) << 32
}
