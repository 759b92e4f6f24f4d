//! The data TLB: a software translation cache from 4 KB linear pages to physical pages
//! and, for pages that are plain RAM, straight to host memory ([`crate::HostRam`]), so
//! the common load or store is one tag compare and one host access. It models the P6's TLBs as far as software can see them (SDM Vol. 3A §4.10):
//! translations are cached until MOV to CR0/CR3/CR4, INVLPG or a task switch drops them,
//! global pages (CR4.PGE) survive CR3 loads, and a stale entry after a page-table edit
//! without INVLPG is exactly what real hardware may also use.
//!
//! Design:
//! - direct-mapped, [`TLB_SIZE`] entries per privilege class (supervisor, user), since the
//!   permissions a walk grants differ between the two (U/S, R/W with CR0.WP). The
//!   class of the current CPL is `cur`, so the hit path indexes one array with no
//!   privilege test; a CPL change that crosses between ring 3 and rings 0–2 swaps the
//!   two arrays (two pointers, `Cpu::set_cpl`);
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
//! - the host address depends on the bus's memory map (A20, PAM, BARs) and on where its
//!   RAM lives: the CPU compares [`crate::Bus::mem_generation`] and
//!   [`crate::Bus::host_ram`] at the start of every run and flushes on a change, and
//!   enters a host address only for a whole page inside that RAM, so a hit (tag and
//!   alignment checked: the access stays inside the page) is always inside it.

use crate::regs::{CR0_PG, CR0_WP, CR4_PAE, CR4_PGE, CR4_PSE};
use crate::Cpu;

/// Entries per privilege class.
pub(crate) const TLB_SIZE: usize = 1024;
/// Tag bit: the entry is unusable for this kind of access. (Tag bits stay clear of
/// bits 0–1, so `Cpu::rd` can compare a tag with an address's page and its low bits
/// in one go.)
pub(crate) const INVALID: u32 = 4;
/// Tag bit: the translation is valid but the access goes through the bus.
pub(crate) const NO_HOST: u32 = 8;
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
    /// When a tag lacks [`NO_HOST`]: the host address of the linear page's first byte,
    /// minus that page's linear address (so `lin + addend` is `lin`'s host address).
    pub(crate) addend: usize,
}

const EMPTY: TlbEntry = TlbEntry {
    read: INVALID,
    write: INVALID,
    phys: 0,
    addend: 0,
};

pub(crate) struct Tlb {
    /// The entries of the privilege class `cur_user` names: always the current CPL's.
    cur: Box<[TlbEntry; TLB_SIZE]>,
    /// The entries of the other class.
    other: Box<[TlbEntry; TLB_SIZE]>,
    /// Whether `cur` holds the user (CPL 3) class.
    cur_user: bool,
    /// The bus's memory-map generation the host addresses were resolved under.
    pub(crate) bus_gen: u64,
    /// The bus's RAM the host addresses point into.
    pub(crate) host: Option<crate::HostRam>,
    /// The paging controls (CR0.PG/WP, CR4.PAE/PSE/PGE) at the last run start: code
    /// outside the CPU may set them directly between runs (loaders, test harnesses).
    pub(crate) mode: u32,
}

impl Tlb {
    pub fn new() -> Self {
        Tlb {
            cur: Box::new([EMPTY; TLB_SIZE]),
            other: Box::new([EMPTY; TLB_SIZE]),
            cur_user: false,
            bus_gen: 0,
            host: None,
            mode: 0,
        }
    }

    /// The slot of linear address `lin` in either class.
    #[inline(always)]
    fn slot(lin: u32) -> usize {
        (lin >> 12) as usize & (TLB_SIZE - 1)
    }

    /// The entry of `lin` in the current privilege class (the hit path).
    #[inline(always)]
    pub(crate) fn current(&self, lin: u32) -> TlbEntry {
        self.cur[Self::slot(lin)]
    }

    /// The entry of `lin` for the privilege class `user`.
    #[inline(always)]
    pub(crate) fn get(&self, lin: u32, user: bool) -> TlbEntry {
        if user == self.cur_user {
            self.cur[Self::slot(lin)]
        } else {
            self.other[Self::slot(lin)]
        }
    }

    /// The entry of `lin` for the privilege class `user`, to fill or update.
    #[inline]
    pub(crate) fn get_mut(&mut self, lin: u32, user: bool) -> &mut TlbEntry {
        if user == self.cur_user {
            &mut self.cur[Self::slot(lin)]
        } else {
            &mut self.other[Self::slot(lin)]
        }
    }

    /// Makes `cur` the class of `user`.
    #[inline]
    pub(crate) fn set_user(&mut self, user: bool) {
        if user != self.cur_user {
            std::mem::swap(&mut self.cur, &mut self.other);
            self.cur_user = user;
        }
    }

    /// Whether `cur` is the user class.
    #[inline]
    pub(crate) fn cur_user(&self) -> bool {
        self.cur_user
    }

    /// Drops every translation (or every non-global one).
    pub fn flush(&mut self, keep_global: bool) {
        for e in self.cur.iter_mut().chain(self.other.iter_mut()) {
            if !(keep_global && e.phys & GLOBAL != 0) {
                *e = EMPTY;
            }
        }
    }

    /// INVLPG: drops the translation of one linear page, global or not, for both
    /// privilege classes.
    pub fn invalidate(&mut self, lin: u32) {
        for user in [false, true] {
            let e = self.get_mut(lin, user);
            if (e.read | e.write) & !0xFFF == lin & !0xFFF {
                *e = EMPTY;
            }
        }
    }

    /// Takes physical page `page` out of the write fast path (it now holds cached code).
    fn drop_writes_to(&mut self, page: u32) {
        for e in self.cur.iter_mut().chain(self.other.iter_mut()) {
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
    /// resolved (A20, PAM, BARs, a reset of the machine), or if the paging controls
    /// changed without the CPU seeing it: called at the start of every run. The bus stops the CPU right after any instruction that changes the map
    /// (see `Bus::mem_generation`), so no stale host offset is used in between.
    /// Also refreshes the segments' flat bits, which code outside the CPU may have
    /// made stale by editing a segment's public base or limit between runs.
    #[inline]
    pub(crate) fn tlb_sync<B: crate::Bus>(&mut self, bus: &mut B) {
        self.tlb.set_user(self.cpl == 3);
        for s in self.seg.iter_mut() {
            s.update_flat();
        }
        let g = bus.mem_generation();
        let host = bus.host_ram();
        let mode = self.cr0 & (CR0_PG | CR0_WP) | self.cr4 & (CR4_PAE | CR4_PSE | CR4_PGE);
        if g != self.tlb.bus_gen || host != self.tlb.host || mode != self.tlb.mode {
            self.tlb.bus_gen = g;
            self.tlb.host = host;
            self.tlb.mode = mode;
            self.tlb.flush(false);
        }
    }
}

#[cfg(test)]
mod tests {
    //! TLB invalidation and permission cases. Expected values follow the SDM Vol. 3A:
    //! §4.10.4 (what MOV CR3, INVLPG and global pages do to cached translations), §4.8
    //! (accessed and dirty bits), §4.6 and §4.7 (access rights with CR0.WP, #PF error
    //! codes: bit 0 P, bit 1 W/R, bit 2 U/S); the A20 gate masks address bit 20 (IBM
    //! PC/AT). Values are hand-placed bytes, never our own output.
    use super::*;
    use crate::mem::Access;
    use crate::regs::*;
    use crate::{Bus, Exc, PFV};

    /// RAM with an A20 gate and one page (F0000h) that a "chipset" switch turns from
    /// RAM into ROM (reads AAh, writes dropped), both reported through
    /// `mem_generation` like the PC's bus.
    struct TestBus {
        ram: Vec<u8>,
        a20: bool,
        rom_f0: bool,
        map_changes: u64,
    }

    impl TestBus {
        fn new() -> Self {
            TestBus {
                ram: vec![0; 2 << 20],
                a20: true,
                rom_f0: false,
                map_changes: 0,
            }
        }
        fn gate(&self, a: u32) -> u32 {
            if self.a20 {
                a
            } else {
                a & !(1 << 20)
            }
        }
        fn rom(&self, a: u32) -> bool {
            self.rom_f0 && a >> 12 == 0xF0
        }
        fn put32(&mut self, a: u32, v: u32) {
            self.ram[a as usize..a as usize + 4].copy_from_slice(&v.to_le_bytes());
        }
        fn get32(&self, a: u32) -> u32 {
            u32::from_le_bytes(self.ram[a as usize..a as usize + 4].try_into().unwrap())
        }
    }

    impl Bus for TestBus {
        fn read8(&mut self, a: u32) -> u8 {
            let a = self.gate(a);
            if self.rom(a) {
                return 0xAA;
            }
            *self.ram.get(a as usize).unwrap_or(&0xFF)
        }
        fn write8(&mut self, a: u32, v: u8) {
            let a = self.gate(a);
            if !self.rom(a) {
                if let Some(b) = self.ram.get_mut(a as usize) {
                    *b = v;
                }
            }
        }
        fn ram_offset(&mut self, addr: u32, len: u32) -> Option<usize> {
            let a = self.gate(addr);
            let fits = (addr & 0xFFF) + len <= 0x1000 && (a + len) as usize <= self.ram.len();
            (fits && !self.rom(a)).then_some(a as usize)
        }
        fn ram(&mut self) -> &mut [u8] {
            &mut self.ram
        }
        fn host_ram(&mut self) -> Option<crate::HostRam> {
            // SAFETY: as for the PC's bus: the tests change `ram` only between runs.
            Some(unsafe { crate::HostRam::new(self.ram.as_mut_ptr(), self.ram.len()) })
        }
        fn mem_generation(&mut self) -> u64 {
            self.map_changes << 1 | self.a20 as u64
        }
        fn io_read(&mut self, _port: u16, _size: u8) -> u32 {
            0xFFFF_FFFF
        }
        fn io_write(&mut self, _port: u16, _size: u8, _v: u32) {}
    }

    const P: u32 = 1;
    const RW: u32 = 2;
    const US: u32 = 4;
    const A: u32 = 0x20;
    const D: u32 = 0x40;
    const G: u32 = 0x100;
    /// Page directory at 1000h, one page table at 2000h covering linear 0–3FFFFFh.
    const PD: u32 = 0x1000;
    const PT: u32 = 0x2000;

    /// Flat 32-bit ring 0 with two-level paging on; linear page `n` of the first 4 MB
    /// maps to physical page `n` (present, writable, user) unless a test remaps it.
    fn paged() -> (Cpu, TestBus) {
        let mut bus = TestBus::new();
        let mut cpu = Cpu::new();
        cpu.enter_flat_protected_mode(8, 0x10, 0);
        bus.put32(PD, PT | P | RW | US);
        for n in 0..1024 {
            bus.put32(PT + 4 * n, n << 12 | P | RW | US);
        }
        cpu.cr3 = PD;
        cpu.write_cr0(cpu.cr0 | CR0_PG).unwrap();
        // A run start, where the CPU learns where the bus's RAM is (`tlb_sync`).
        cpu.run(&mut bus, 0);
        (cpu, bus)
    }

    fn map(bus: &mut TestBus, lin: u32, pte: u32) {
        bus.put32(PT + 4 * (lin >> 12), pte);
    }

    fn pf(code: u32) -> Exc {
        Exc::code(PFV, code)
    }

    /// Whether the entry of `lin` lets `user` reads (writes) use host RAM directly.
    fn hits(cpu: &Cpu, lin: u32, user: bool) -> (bool, bool) {
        let e = cpu.tlb.get(lin, user);
        (e.read == lin & !0xFFF, e.write == lin & !0xFFF)
    }

    #[test]
    fn a_page_table_edit_takes_effect_at_invlpg() {
        let (mut cpu, mut bus) = paged();
        bus.ram[0x5000] = 0x11;
        bus.ram[0x6000] = 0x22;
        map(&mut bus, 0x10000, 0x5000 | P | RW);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10000, 1), Ok(0x11));
        assert!(
            hits(&cpu, 0x10000, false).0,
            "a RAM page is read from host memory"
        );
        // The TLB may keep the old translation until INVLPG (§4.10.4.3) ...
        map(&mut bus, 0x10000, 0x6000 | P | RW);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10000, 1), Ok(0x11));
        // ... which drops it, for every privilege.
        cpu.tlb.invalidate(0x10123);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10000, 1), Ok(0x22));
        cpu.wr_sys(&mut bus, 0x10004, 4, 0xDEAD_BEEF).unwrap();
        assert_eq!(bus.get32(0x6004), 0xDEAD_BEEF);
        assert_eq!(bus.get32(0x5004), 0);
        // Not present after INVLPG: #PF(0), CR2 = the address.
        map(&mut bus, 0x10000, 0);
        cpu.tlb.invalidate(0x10000);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10008, 4), Err(pf(0)));
        assert_eq!(cpu.cr2, 0x10008);
    }

    #[test]
    fn a_cr3_load_drops_all_but_global_pages() {
        let (mut cpu, mut bus) = paged();
        cpu.cr4 |= CR4_PGE;
        bus.ram[0x5000] = 0x11;
        bus.ram[0x6000] = 0x22;
        map(&mut bus, 0x10000, 0x5000 | P | RW);
        map(&mut bus, 0x11000, 0x5000 | P | RW | G);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10000, 1), Ok(0x11));
        assert_eq!(cpu.rd_sys(&mut bus, 0x11000, 1), Ok(0x11));
        map(&mut bus, 0x10000, 0x6000 | P | RW);
        map(&mut bus, 0x11000, 0x6000 | P | RW | G);
        // MOV to CR3 (same value) invalidates non-global entries only (§4.10.4.1).
        cpu.set_cr3(PD);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10000, 1), Ok(0x22));
        assert_eq!(cpu.rd_sys(&mut bus, 0x11000, 1), Ok(0x11), "global");
        // Changing CR4.PGE flushes everything.
        cpu.cr4 &= !CR4_PGE;
        cpu.flush_tlb();
        assert_eq!(cpu.rd_sys(&mut bus, 0x11000, 1), Ok(0x22));
    }

    #[test]
    fn an_a20_change_drops_host_offsets() {
        let mut bus = TestBus::new();
        let mut cpu = Cpu::new();
        cpu.enter_flat_protected_mode(8, 0x10, 0);
        bus.ram[0x10_1000] = 0x11;
        bus.ram[0x1000] = 0x22;
        cpu.run(&mut bus, 0);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10_1000, 1), Ok(0x11));
        assert!(
            hits(&cpu, 0x10_1000, false).1,
            "unpaged RAM uses the host path"
        );
        // A20 off: bit 20 of every address is forced to 0, so 101000h is 1000h.
        bus.a20 = false;
        cpu.run(&mut bus, 0);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10_1000, 1), Ok(0x22));
        cpu.wr_sys(&mut bus, 0x10_1001, 1, 0x33).unwrap();
        assert_eq!(bus.ram[0x1001], 0x33);
        assert_eq!(bus.ram[0x10_1001], 0);
        bus.a20 = true;
        cpu.run(&mut bus, 0);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10_1000, 1), Ok(0x11));
    }

    #[test]
    fn a_memory_map_change_drops_host_offsets() {
        let mut bus = TestBus::new();
        let mut cpu = Cpu::new();
        cpu.enter_flat_protected_mode(8, 0x10, 0);
        bus.ram[0xF_0000] = 0x33;
        cpu.run(&mut bus, 0);
        assert_eq!(cpu.rd_sys(&mut bus, 0xF_0000, 1), Ok(0x33));
        cpu.wr_sys(&mut bus, 0xF_0001, 1, 0x34).unwrap();
        assert_eq!(hits(&cpu, 0xF_0000, false), (true, true));
        // The chipset (PAM) now sends F0000h to the ROM: reads come from it and writes
        // are dropped.
        bus.rom_f0 = true;
        bus.map_changes += 1;
        cpu.run(&mut bus, 0);
        assert_eq!(cpu.rd_sys(&mut bus, 0xF_0000, 1), Ok(0xAA));
        cpu.wr_sys(&mut bus, 0xF_0001, 1, 0x55).unwrap();
        assert_eq!(bus.ram[0xF_0001], 0x34);
        assert_eq!(hits(&cpu, 0xF_0000, false), (false, false));
    }

    #[test]
    fn a_write_into_cached_code_still_drops_the_block() {
        let mut bus = TestBus::new();
        let mut cpu = Cpu::new();
        cpu.enter_flat_protected_mode(8, 0x10, 0);
        // 2000h: mov eax, 1; hlt
        bus.ram[0x2000..0x2006].copy_from_slice(&[0xB8, 1, 0, 0, 0, 0xF4]);
        cpu.run(&mut bus, 0);
        // A data write first puts the page in the write path ...
        cpu.wr_sys(&mut bus, 0x2100, 4, 0).unwrap();
        assert!(hits(&cpu, 0x2000, false).1);
        cpu.eip = 0x2000;
        cpu.run(&mut bus, 10);
        assert_eq!(cpu.regs[EAX], 1);
        // ... and caching the block took it out again.
        assert!(!hits(&cpu, 0x2000, false).1);
        // Rewrite the immediate: the cached block must go.
        cpu.wr_sys(&mut bus, 0x2001, 1, 7).unwrap();
        cpu.halted = false;
        cpu.eip = 0x2000;
        cpu.run(&mut bus, 10);
        assert_eq!(cpu.regs[EAX], 7);
    }

    #[test]
    fn the_first_write_through_a_mapping_sets_the_dirty_bit() {
        let (mut cpu, mut bus) = paged();
        map(&mut bus, 0x10000, 0x5000 | P | RW);
        bus.put32(PD, PT | P | RW | US);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10000, 4), Ok(0));
        // A read sets A in the PDE and PTE, not D (§4.8) ...
        assert_eq!(bus.get32(PD) & (A | D), A);
        assert_eq!(bus.get32(PT + 0x40) & (A | D), A);
        assert_eq!(hits(&cpu, 0x10000, false), (true, false));
        // ... the first write sets D in the PTE (never in the PDE) ...
        cpu.wr_sys(&mut bus, 0x10010, 4, 0x1234_5678).unwrap();
        assert_eq!(bus.get32(PT + 0x40) & (A | D), A | D);
        assert_eq!(bus.get32(PD) & D, 0);
        assert_eq!(bus.get32(0x5010), 0x1234_5678);
        // ... after which writes take the host path.
        assert_eq!(hits(&cpu, 0x10000, false), (true, true));
        cpu.wr_sys(&mut bus, 0x10014, 2, 0xBEEF).unwrap();
        assert_eq!(bus.get32(0x5014), 0xBEEF);
    }

    #[test]
    fn write_protect_and_user_supervisor_checks_survive_cached_entries() {
        let (mut cpu, mut bus) = paged();
        // A read-only user page and a supervisor-only writable page.
        map(&mut bus, 0x10000, 0x5000 | P | US);
        map(&mut bus, 0x11000, 0x6000 | P | RW);
        // CR0.WP = 0: supervisor writes ignore R/W (§4.6).
        cpu.wr_sys(&mut bus, 0x10000, 1, 0x11).unwrap();
        assert_eq!(bus.ram[0x5000], 0x11);
        // User write to the read-only page: #PF(P | W | U).
        assert_eq!(cpu.read_lin(&mut bus, 0x10000, 1, true), Ok(0x11));
        assert_eq!(cpu.write_lin(&mut bus, 0x10001, 1, 0x22, true), Err(pf(7)));
        assert_eq!(cpu.cr2, 0x10001);
        // CR0.WP = 1: the cached supervisor entry goes, and the write faults #PF(P | W).
        cpu.write_cr0(cpu.cr0 | CR0_WP).unwrap();
        assert_eq!(cpu.wr_sys(&mut bus, 0x10002, 1, 0x33), Err(pf(3)));
        assert_eq!(bus.ram[0x5002], 0);
        // A supervisor-only page cached for ring 0 is still refused to ring 3.
        cpu.wr_sys(&mut bus, 0x11000, 4, 0x4444).unwrap();
        assert_eq!(hits(&cpu, 0x11000, false), (true, true));
        assert_eq!(cpu.read_lin(&mut bus, 0x11000, 4, true), Err(pf(5)));
        assert_eq!(cpu.write_lin(&mut bus, 0x11000, 4, 0, true), Err(pf(7)));
        assert_eq!(bus.get32(0x6000), 0x4444);
        // The translation cache answers `translate` the same way.
        assert_eq!(
            cpu.translate(&mut bus, 0x11234, Access::Write, false),
            Ok(0x6234)
        );
    }

    #[test]
    fn paging_turned_on_from_outside_is_seen_at_the_next_run() {
        let (mut cpu, mut bus) = paged();
        map(&mut bus, 0x10000, 0x5000 | P | RW);
        bus.ram[0x5000] = 0x11;
        bus.ram[0x10000] = 0x22;
        // A harness turns paging off and on by writing CR0 itself.
        cpu.cr0 &= !CR0_PG;
        cpu.run(&mut bus, 0);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10000, 1), Ok(0x22), "identity");
        cpu.cr0 |= CR0_PG;
        cpu.run(&mut bus, 0);
        assert_eq!(cpu.rd_sys(&mut bus, 0x10000, 1), Ok(0x11), "paged");
    }

    #[test]
    fn a_new_ram_block_drops_host_addresses() {
        let (mut cpu, mut bus) = paged();
        cpu.wr_sys(&mut bus, 0x1F_F000, 4, 0x0102_0304).unwrap();
        assert_eq!(hits(&cpu, 0x1F_F000, false), (true, true));
        // Between runs the bus swaps its RAM for a smaller block (as a snapshot load
        // does) with its memory-map generation unchanged: the next run start drops
        // every host address, and the page now past the end is open bus.
        bus.ram = bus.ram[..1 << 20].to_vec();
        cpu.run(&mut bus, 0);
        assert_eq!(hits(&cpu, 0x1F_F000, false), (false, false));
        assert_eq!(cpu.rd_sys(&mut bus, 0x1F_F000, 4), Ok(0xFFFF_FFFF));
        cpu.wr_sys(&mut bus, 0x1F_F000, 4, 5).unwrap();
        assert_eq!(bus.ram.len(), 1 << 20);
        // The RAM that is left is still reached directly.
        cpu.wr_sys(&mut bus, 0x3000, 4, 0x0A0B_0C0D).unwrap();
        assert_eq!(hits(&cpu, 0x3000, false), (true, true));
        assert_eq!(cpu.rd_sys(&mut bus, 0x3000, 4), Ok(0x0A0B_0C0D));
        assert_eq!(bus.get32(0x3000), 0x0A0B_0C0D);
    }
}

#[cfg(test)]
mod flat_tests {
    //! The flat-segment bit (base 0, limit 4 GB): offsets are linear addresses, but an
    //! access running past 4 GB is still beyond the limit: #GP(0), or #SS(0) for SS
    //! (SDM Vol. 3A §5.3, §6.15).
    use crate::regs::*;
    use crate::test_ram::Ram;
    use crate::{Cpu, Exc, SSF};

    #[test]
    fn flat_segments_fault_past_4gb_and_follow_edits_of_their_base() {
        let mut ram = Ram(vec![0; 0x10000]);
        let mut cpu = Cpu::new();
        cpu.enter_flat_protected_mode(8, 0x10, 0);
        assert_ne!(cpu.seg[DS].acc & ACC_FLAT, 0);
        ram.0[0x1234] = 0x5A;
        assert_eq!(cpu.rd(&mut ram, DS, 0x1234, 1), Ok(0x5A));
        assert_eq!(cpu.rd(&mut ram, DS, 0xFFFF_FFFC, 4), Ok(0xFFFF_FFFF));
        assert_eq!(cpu.rd(&mut ram, DS, 0xFFFF_FFFE, 4), Err(Exc::gp(0)));
        assert_eq!(cpu.rd(&mut ram, SS, 0xFFFF_FFFF, 2), Err(Exc::code(SSF, 0)));
        // A debugger or firmware service moves DS's base behind the CPU's back: the
        // next run sees it.
        cpu.seg[DS].base = 0x1000;
        cpu.run(&mut ram, 0);
        assert_eq!(cpu.seg[DS].acc & ACC_FLAT, 0);
        assert_eq!(cpu.rd(&mut ram, DS, 0x234, 1), Ok(0x5A));
        // An expand-down segment is never flat.
        cpu.seg[ES] = Segment::new(0x18, 0, 0xFFFF_FFFF, ATTR_P | ATTR_S | ATTR_RW | ATTR_DC);
        assert_eq!(cpu.seg[ES].acc & ACC_FLAT, 0);
    }
}
