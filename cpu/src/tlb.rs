//! The data TLB: a software translation cache from 4 KB linear pages to physical pages
//! and, for pages that are plain RAM, straight to host memory (an index into
//! [`crate::Bus::ram`]), so the common load or store is one tag compare and one slice
//! access. It models the P6's TLBs as far as software can see them (SDM Vol. 3A §4.10):
//! translations are cached until MOV to CR0/CR3/CR4, INVLPG or a task switch drops them,
//! global pages (CR4.PGE) survive CR3 loads, and a stale entry after a page-table edit
//! without INVLPG is exactly what real hardware may also use.
//!
//! Design:
//! - direct-mapped, [`TLB_SIZE`] entries per privilege class (supervisor, user), since the
//!   permissions a walk grants differ between the two (U/S, R/W with CR0.WP);
//! - each entry has a read tag and a write tag: the linear page number when that kind of
//!   access may use the entry, with [`INVALID`] set when it may not. A write tag exists
//!   only once the page's dirty bit is set (SDM Vol. 3A §4.8: the first write must walk
//!   to set D), so a write hit never skips a D-bit update;
//! - [`NO_HOST`] in a tag keeps the translation but sends the access down the slow path
//!   through `Bus::read*`/`write*`: pages that are not plain RAM (ROM, VGA, MMIO, open
//!   bus, the A0000h–FFFFFh window), pages holding cached code (for writes: the block
//!   cache must see every such write, so they are never entered in the write path), and
//!   all writes while debugger watchpoints are set;
//! - unpaged mode uses the same entries with the identity translation;
//! - the host offset depends on the bus's memory map (A20, PAM, BARs): the CPU compares
//!   [`crate::Bus::mem_generation`] at the start of every run and flushes on a change.
//!   The hit path reads RAM with a bounds-checked `get`, so even a stale host offset
//!   can never reach outside guest RAM.

use crate::Cpu;

/// Entries per privilege class.
pub(crate) const TLB_SIZE: usize = 1024;
/// Tag bit: the entry is unusable for this kind of access.
pub(crate) const INVALID: u32 = 1;
/// Tag bit: the translation is valid but the access goes through the bus.
pub(crate) const NO_HOST: u32 = 2;
/// `phys` bit: a global page (kept across CR3 loads while CR4.PGE is set).
pub(crate) const GLOBAL: u32 = 1;

#[derive(Clone, Copy)]
pub(crate) struct TlbEntry {
    /// Linear page (lin & !FFFh) | flags, for reads and instruction fetches.
    pub(crate) read: u32,
    /// Linear page | flags, for writes.
    pub(crate) write: u32,
    /// Physical page | [`GLOBAL`].
    pub(crate) phys: u32,
    /// Index into `Bus::ram` of the physical page (when a tag lacks [`NO_HOST`]).
    pub(crate) host: u32,
}

const EMPTY: TlbEntry = TlbEntry {
    read: INVALID,
    write: INVALID,
    phys: 0,
    host: 0,
};

pub(crate) struct Tlb {
    /// Supervisor entries, then user entries.
    pub(crate) entries: Box<[TlbEntry; 2 * TLB_SIZE]>,
    /// The bus's memory-map generation the host offsets were resolved under.
    pub(crate) bus_gen: u64,
}

impl Tlb {
    pub fn new() -> Self {
        Tlb {
            entries: Box::new([EMPTY; 2 * TLB_SIZE]),
            bus_gen: 0,
        }
    }

    /// The slot of linear address `lin` for the privilege class `user`.
    #[inline(always)]
    pub(crate) fn index(lin: u32, user: bool) -> usize {
        ((user as usize) << 10 | (lin >> 12) as usize & (TLB_SIZE - 1)) & (2 * TLB_SIZE - 1)
    }

    /// Drops every translation (or every non-global one).
    pub fn flush(&mut self, keep_global: bool) {
        for e in self.entries.iter_mut() {
            if !(keep_global && e.phys & GLOBAL != 0) {
                *e = EMPTY;
            }
        }
    }

    /// INVLPG: drops the translation of one linear page, global or not, for both
    /// privilege classes.
    pub fn invalidate(&mut self, lin: u32) {
        for user in [false, true] {
            let e = &mut self.entries[Self::index(lin, user)];
            if (e.read | e.write) & !0xFFF == lin & !0xFFF {
                *e = EMPTY;
            }
        }
    }

    /// Takes physical page `page` out of the write fast path (it now holds cached code).
    fn drop_writes_to(&mut self, page: u32) {
        for e in self.entries.iter_mut() {
            if e.phys >> 12 == page {
                e.write |= NO_HOST;
            }
        }
    }
}

impl Cpu {
    /// Physical page `page` is about to hold cached code: writes to it must go through
    /// the slow path, where the block cache checks them. Called by the block cache
    /// before it marks a page as code.
    pub(crate) fn tlb_drop_page(&mut self, page: u32) {
        if !self.cache.is_code(page) {
            self.tlb.drop_writes_to(page);
        }
    }

    /// Flushes the TLB if the bus's memory map changed since its host offsets were
    /// resolved (A20, PAM, BARs, a reset of the machine): called at the start of every
    /// run. The bus stops the CPU right after any instruction that changes the map
    /// (see `Bus::mem_generation`), so no stale host offset is used in between.
    #[inline]
    pub(crate) fn tlb_sync<B: crate::Bus>(&mut self, bus: &mut B) {
        let g = bus.mem_generation();
        if g != self.tlb.bus_gen {
            self.tlb.bus_gen = g;
            self.tlb.flush(false);
        }
    }
}
