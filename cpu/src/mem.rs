//! Memory access: segmentation (limit and access-rights checks against the hidden
//! descriptor cache, SDM Vol. 3A §5.3), paging (two-level 4 KB, 4 MB PSE and PAE walks
//! with accessed/dirty bits and #PF error codes, §4.3–4.4) and the self-modifying-code
//! check on every write to a page that holds cached code. Accesses first try the data
//! TLB's host path (`tlb.rs`); everything it does not cover takes the slow path here.

use crate::regs::*;
pub(crate) use crate::tlb::TLB_SIZE;
use crate::tlb::{TlbEntry, GLOBAL, INVALID, NO_HOST};
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
        // Flat: the offset is the linear address, and only a wrap past 4 GB is
        // beyond the limit.
        if s.flat_for(need) && off <= u32::MAX - size.wrapping_sub(1) {
            return Ok(off);
        }
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

    /// The TLB entry of `lin` for the current privilege (the fast paths of `rd`, `wr`).
    #[inline(always)]
    fn tlb_current(&self, lin: u32) -> TlbEntry {
        debug_assert_eq!(
            self.tlb.cur_user(),
            self.user(),
            "TLB class out of step with CPL"
        );
        self.tlb.current(lin)
    }

    /// Sets the CPL, and with it the TLB's current privilege class. Every change of
    /// `cpl` inside the CPU goes through here (`tlb_sync` catches edits from outside
    /// between runs).
    #[inline]
    pub(crate) fn set_cpl(&mut self, cpl: u8) {
        self.cpl = cpl;
        self.tlb.set_user(cpl == 3);
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
        let e = self.tlb.get(lin, user);
        let tag = if acc == Access::Write {
            e.write
        } else {
            e.read
        };
        if tag & !NO_HOST == lin & !0xFFF {
            return Ok(e.phys & !0xFFF | (lin & 0xFFF));
        }
        self.walk(bus, lin, acc, user)
    }

    /// Page walk on a TLB miss: checks permissions, sets accessed/dirty bits and fills
    /// the TLB entry of `lin` for the privilege class `user` (translation only: the
    /// host offset is resolved by `fill_host`).
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
        // Every successful walk allows reads at this privilege (a user walk faulted
        // above without U/S). Writes need R/W (supervisor: or CR0.WP = 0) and a dirty
        // bit that is set already or is being set by this walk.
        let writable = if user {
            all & PTE_RW != 0
        } else {
            all & PTE_RW != 0 || !wp
        };
        let page = lin & !0xFFF;
        let global = last & PTE_G != 0 && self.cr4 & CR4_PGE != 0;
        *self.tlb.get_mut(lin, user) = TlbEntry {
            read: page | NO_HOST,
            write: if writable && (write || last & PTE_D != 0) {
                page | NO_HOST
            } else {
                INVALID
            },
            phys: phys & !0xFFF | if global { GLOBAL } else { 0 },
            addend: 0,
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

    /// Reads `size` (1, 2, 4) bytes at linear `lin` with the given privilege. The hit
    /// path: one TLB tag compare, a page-crossing test and a load from host RAM.
    #[inline(always)]
    pub(crate) fn read_lin<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u32,
        user: bool,
    ) -> Res<u32> {
        let e = self.tlb.get(lin, user);
        if e.read == lin & !0xFFF && (lin & 0xFFF) + size <= 0x1000 {
            return Ok(load_via(e, lin, size));
        }
        self.read_slow(bus, lin, size, user)
    }

    /// A read that missed the TLB's host path: page-crossing, not plain RAM, not yet
    /// translated, or faulting.
    #[inline(never)]
    fn read_slow<B: Bus>(&mut self, bus: &mut B, lin: u32, size: u32, user: bool) -> Res<u32> {
        if (lin & 0xFFF) + size > 0x1000 {
            if self.cr0 & CR0_PG == 0 {
                return Ok(match size {
                    2 => bus.read16(lin) as u32,
                    _ => bus.read32(lin),
                });
            }
            let mut v = 0;
            for i in 0..size {
                let p = self.translate(bus, lin.wrapping_add(i), Access::Read, user)?;
                v |= (bus.read8(p) as u32) << (8 * i);
            }
            return Ok(v);
        }
        let p = self.translate(bus, lin, Access::Read, user)?;
        self.fill_host(bus, lin, p, user);
        Ok(match size {
            1 => bus.read8(p) as u32,
            2 => bus.read16(p) as u32,
            _ => bus.read32(p),
        })
    }

    /// Writes `size` (1, 2, 4) bytes at linear `lin` with the given privilege. The hit
    /// path needs a write tag, which exists only for dirty, writable RAM pages without
    /// cached code while no watchpoint is set, so it skips nothing the slow path does.
    #[inline(always)]
    pub(crate) fn write_lin<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u32,
        v: u32,
        user: bool,
    ) -> Res<()> {
        let e = self.tlb.get(lin, user);
        if e.write == lin & !0xFFF && (lin & 0xFFF) + size <= 0x1000 {
            store_via(e, lin, size, v);
            return Ok(());
        }
        self.write_slow(bus, lin, size, v, user)
    }

    /// A write that missed the TLB's host path (see `read_slow`), with the
    /// self-modifying-code check and the debugger's watchpoints.
    #[inline(never)]
    fn write_slow<B: Bus>(
        &mut self,
        bus: &mut B,
        lin: u32,
        size: u32,
        v: u32,
        user: bool,
    ) -> Res<()> {
        if (lin & 0xFFF) + size > 0x1000 {
            if self.cr0 & CR0_PG == 0 {
                self.phys_write(bus, lin, size, v);
            } else {
                // Translate every byte first so a fault leaves memory untouched.
                let mut ph = [0u32; 4];
                for i in 0..size {
                    ph[i as usize] =
                        self.translate(bus, lin.wrapping_add(i), Access::Write, user)?;
                }
                for i in 0..size {
                    self.phys_write(bus, ph[i as usize], 1, v >> (8 * i));
                }
            }
        } else {
            let p = self.translate(bus, lin, Access::Write, user)?;
            self.phys_write(bus, p, size, v);
            self.fill_host(bus, lin, p, user);
        }
        if self.watching {
            self.debug_watch_write(lin, size);
        }
        Ok(())
    }

    /// After a slow access to `lin` (translated to `phys`, inside one page): enters the
    /// identity translation in unpaged mode, and the page's host offset if the bus says
    /// it is plain RAM, which turns on the hit path for the tags the entry has.
    fn fill_host<B: Bus>(&mut self, bus: &mut B, lin: u32, phys: u32, user: bool) {
        let page = lin & !0xFFF;
        let pphys = phys & !0xFFF;
        let paged = self.cr0 & CR0_PG != 0;
        // The whole page must be inside the bus's RAM block: a hit may touch any byte
        // of it (tlb.rs).
        let host = match self.tlb.host {
            Some(ram) => bus
                .ram_offset(pphys, 0x1000)
                .and_then(|h| ram.addr(h, 0x1000)),
            None => None,
        };
        let code = self.cache.is_code(pphys >> 12);
        let watching = self.watching;
        let e = self.tlb.get_mut(lin, user);
        if !paged && (e.read & !NO_HOST != page || e.phys & !0xFFF != page) {
            *e = TlbEntry {
                read: page | NO_HOST,
                write: page | NO_HOST,
                phys: page,
                addend: 0,
            };
        }
        // The walk just filled the entry (paged); check anyway that it is this page's.
        if e.phys & !0xFFF != pphys {
            return;
        }
        let Some(h) = host else {
            e.read |= NO_HOST;
            e.write |= NO_HOST;
            return;
        };
        e.addend = h.wrapping_sub(page as usize);
        if e.read & !NO_HOST == page {
            e.read = page;
        }
        if e.write & !NO_HOST == page && !code && !watching {
            e.write = page;
        }
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

    /// The linear address of `size` bytes at `off` in segment `seg` when the access
    /// is plainly allowed (`need` rights, inside the limit, not expand-down); `None`
    /// sends it to the complete checks. A flat segment needs no limit check here: the
    /// callers take this path only for naturally aligned accesses, which cannot wrap
    /// past 4 GB.
    #[inline(always)]
    fn linear_fast(&self, seg: usize, off: u32, size: u32, need: u8) -> Option<u32> {
        let s = &self.seg[seg];
        if s.flat_for(need) {
            return Some(off);
        }
        let end = off as u64 + size as u64 - 1;
        (s.acc & (need | ACC_EXPAND_DOWN) == need && end <= s.limit as u64)
            .then(|| s.base.wrapping_add(off))
    }

    /// Segmented read of `size` bytes. The fast path is a naturally aligned access
    /// (so inside one page, and no #AC) through a TLB entry with a host offset: one
    /// compare checks the page tag and the alignment together, because tags carry
    /// their flag bits above the low two bits of an address.
    #[inline(always)]
    pub(crate) fn rd<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, size: u32) -> Res<u32> {
        if let Some(lin) = self.linear_fast(seg, off, size, ACC_READ) {
            let e = self.tlb_current(lin);
            if lin & (!0xFFF | (size - 1)) == e.read {
                return Ok(load_via(e, lin, size));
            }
        }
        self.rd_checked(bus, seg, off, size)
    }

    /// A read with every check: limits, #AC, accesses across pages, the slow TLB path.
    #[inline(never)]
    fn rd_checked<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, size: u32) -> Res<u32> {
        let lin = self.linear(seg, off, size, false)?;
        if lin & (size - 1) != 0 {
            self.check_alignment()?;
        }
        let user = self.user();
        self.read_lin(bus, lin, size, user)
    }

    /// Segmented write of `size` bytes (the fast path as for [`Cpu::rd`]).
    #[inline(always)]
    pub(crate) fn wr<B: Bus>(
        &mut self,
        bus: &mut B,
        seg: usize,
        off: u32,
        size: u32,
        v: u32,
    ) -> Res<()> {
        if let Some(lin) = self.linear_fast(seg, off, size, ACC_WRITE) {
            let e = self.tlb_current(lin);
            if lin & (!0xFFF | (size - 1)) == e.write {
                store_via(e, lin, size, v);
                return Ok(());
            }
        }
        self.wr_checked(bus, seg, off, size, v)
    }

    /// A write with every check (see [`Cpu::rd_checked`]).
    #[inline(never)]
    fn wr_checked<B: Bus>(
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

/// The host address of `lin` through a TLB hit.
#[inline(always)]
fn host_addr(e: TlbEntry, lin: u32) -> usize {
    (lin as usize).wrapping_add(e.addend)
}

/// The load of a TLB hit: the caller checked `e`'s read tag against `lin`'s page and
/// that the `size` bytes stay inside that page.
#[inline(always)]
fn load_via(e: TlbEntry, lin: u32, size: u32) -> u32 {
    let p = host_addr(e, lin);
    // SAFETY: a tag without `NO_HOST` exists only in an entry `fill_host` gave the
    // host address of a whole 4 KB page inside `Tlb::host`, the block `Bus::host_ram`
    // returned at the start of this run (`tlb_sync` drops every entry when that
    // changes), and `HostRam::new`'s contract keeps that block valid for reads and
    // unreferenced while the CPU runs. The access is inside that page, and the
    // address's provenance is the block's, exposed by `HostRam::new`.
    unsafe {
        match size {
            1 => *std::ptr::with_exposed_provenance::<u8>(p) as u32,
            2 => std::ptr::with_exposed_provenance::<u16>(p).read_unaligned() as u32,
            _ => std::ptr::with_exposed_provenance::<u32>(p).read_unaligned(),
        }
    }
}

/// The store of a TLB hit (the caller checked the write tag; see [`load_via`]).
#[inline(always)]
fn store_via(e: TlbEntry, lin: u32, size: u32, v: u32) {
    let p = host_addr(e, lin);
    // SAFETY: as in `load_via`, with the write tag and writes.
    unsafe {
        match size {
            1 => *std::ptr::with_exposed_provenance_mut::<u8>(p) = v as u8,
            2 => std::ptr::with_exposed_provenance_mut::<u16>(p).write_unaligned(v as u16),
            _ => std::ptr::with_exposed_provenance_mut::<u32>(p).write_unaligned(v),
        }
    }
}
