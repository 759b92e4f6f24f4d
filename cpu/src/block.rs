//! The basic-block cache. A block is the run of pre-decoded entries from one physical
//! address up to an unconditional control transfer (conditional branches stay inside
//! and leave the block only when taken), a block-ending instruction, the end of the page or
//! `MAX_BLOCK` instructions. A relative JMP or Jcc whose target starts an entry of the
//! same block records that entry (`Entry::jt`): taken, the run loop goes on there
//! after the checks a chained block gets, so a loop that fits in one block never
//! leaves it. Blocks are keyed by physical address plus the CS D bit (the
//! only mode bit that changes decoding), so they stay valid across segment bases and
//! page-table changes; a per-page bitmap marks pages holding code so that a write there
//! (checked on every write, one bit test) is looked at more closely: each code page
//! also records which of its bytes hold cached code, and only a write to one of those
//! drops the page's blocks. DOS keeps variables between its routines (FreeDOS's kernel
//! writes a few bytes just before code it runs at the prompt), and dropping the page
//! on every such write would rebuild its blocks all the time.
//!
//! Blocks live in an arena and are named by index ([`BlockId`]), so entering one costs
//! no reference count. Each block also remembers the blocks that followed it last (its
//! taken and fall-through successors, as key and index); the run loop follows such a
//! link without translating EIP or probing the lookup tables when the next block starts
//! in the same linear page as the current chain (see [`Chain`] for why that is exact).
//! A link is only a hint: it is followed only if the arena slot it names still holds a
//! block with the expected key, so dropping blocks never has to find the links to them.

use crate::decode::{self, Entry, Op};
use crate::regs::*;
use crate::{Bus, Cpu, Exc, Res};
use iced_x86::{Decoder, DecoderError, DecoderOptions, Instruction};
use std::collections::HashMap;

pub const MAX_BLOCK: usize = 64;
// `Entry::jt` holds an entry index, and `NO_TARGET` must not be one.
const _: () = assert!(MAX_BLOCK <= crate::decode::NO_TARGET as usize);

/// A block's index in the arena.
pub(crate) type BlockId = u32;
/// The arena slot of a block that is never cached (an instruction that crosses a page
/// boundary), rebuilt every time it runs.
const SCRATCH: BlockId = 0;
/// The key of a free (or scratch) arena slot: no physical address | D bit equals it.
const DEAD: u64 = u64::MAX;
/// Successors remembered per block: enough for a small `switch` (an indirect jump
/// through a table) to find its targets without a full lookup.
const LINKS: usize = 8;
/// Live blocks past which the whole cache is dropped (a guest that keeps generating
/// code must not grow it without bound).
const MAX_BLOCKS: usize = 1 << 16;

/// One cached block.
pub(crate) struct Block {
    /// Physical address of the first byte | CS.D << 32, or `DEAD`.
    key: u64,
    /// The pre-decoded instructions, then the sentinel entry (`table::sentinel`) that
    /// ends the run loop's walk. Replaced only by `BlockCache::insert` (see the SAFETY
    /// note in run.rs), never changed in place.
    pub entries: Box<[Entry]>,
    /// Whether the run loop may follow a link out of this block: its instructions
    /// change neither CS, CPL, the paging registers nor the TLB (see `chains_out`).
    pub chain: bool,
    /// The keys and slots of the last `LINKS` blocks that followed this one, newest
    /// first.
    next: [(u64, BlockId); LINKS],
}

impl Block {
    fn empty() -> Self {
        Block {
            key: DEAD,
            entries: Box::default(),
            chain: false,
            next: [(DEAD, SCRATCH); LINKS],
        }
    }
}

/// Where the run loop is: the block it just ran, and the linear page and the physical
/// page (as a block key without the page offset) that the last full lookup found for
/// that block's page. Following a link needs the next EIP's linear address to be in the
/// same linear page: then its physical address is that page's plus the offset, exactly
/// what a translation would return, because nothing since that lookup can have changed
/// the mapping or the CS state a lookup depends on: only instructions that end their
/// block change CS, CPL, CR0/CR3/CR4 or the TLB (MOV CR, INVLPG, far transfers,
/// interrupts, task switches, SYSENTER...), a block ending in one does not chain, and
/// interrupts, exceptions and the debug paths start over with a full lookup. (A guest
/// that rewrites the page-table entry of the page it is running in without INVLPG may
/// see the old mapping for a while, as it may on real hardware, SDM Vol. 3A §4.10.4.3.)
#[derive(Clone, Copy)]
pub(crate) struct Chain {
    pub id: BlockId,
    lin_page: u32,
    key_page: u64,
}

/// Whether a block whose last instruction is `e` may chain to its successor: `e` is a
/// near control transfer, a repeated string instruction (it ends its block only to be
/// interruptible) or any instruction that does not end blocks (the block stopped at its
/// size or page limit). Everything else that ends a block may change CS, CPL, paging or
/// the interrupt flag.
fn chains_out(e: &Entry) -> bool {
    use Op::*;
    !decode::ends_block(e)
        || matches!(
            e.op,
            Jmp | JmpInd | Jcc | Call | CallInd | Ret | Loop | Jcxz
        )
        || (e.rep != 0 && matches!(e.op, Movs | Cmps | Stos | Lods | Scas | Ins | Outs))
}

/// A multiplicative hasher for the cache's integer keys: SipHash's flood resistance
/// buys nothing here and costs a lot on the write path into code pages.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

type Map<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// Direct-mapped front cache in front of the hash map: most block lookups are one
/// multiply, one index and one compare.
const L1_BITS: u32 = 12;

pub(crate) struct BlockCache {
    /// The arena; slot 0 is `SCRATCH`.
    pub blocks: Vec<Block>,
    /// Free arena slots (their key is `DEAD`).
    free: Vec<BlockId>,
    /// Live blocks.
    live: usize,
    l1: Vec<(u64, BlockId)>,
    map: Map<u64, BlockId>,
    /// The blocks starting in each physical page.
    pages: Map<u32, Vec<BlockId>>,
    /// One bit per 4 KB physical page: does it hold cached code?
    code: Vec<u64>,
    /// Per code page, one bit per byte of cached code.
    /// Indexed by page number: 1 + the page's entry in `code_bytes`, or 0. A vector,
    /// not a map, because writes next to code look here often; zero-filled, so the
    /// allocator hands it out as untouched pages.
    code_slot: Vec<u32>,
    code_bytes: Vec<[u64; 64]>,
    free_slots: Vec<u32>,
}

impl BlockCache {
    pub fn new() -> Self {
        BlockCache {
            blocks: vec![Block::empty()],
            free: Vec::new(),
            live: 0,
            l1: vec![(DEAD, SCRATCH); 1 << L1_BITS],
            map: Map::default(),
            pages: Map::default(),
            code: vec![0; (1 << 20) / 64],
            code_slot: vec![0; 1 << 20],
            code_bytes: Vec::new(),
            free_slots: Vec::new(),
        }
    }

    #[inline]
    fn slot(key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - L1_BITS)) as usize
    }

    /// Drops every block. The slots go to the free list with their entries still
    /// allocated: entries are freed only by `insert` (see the SAFETY note in run.rs).
    pub fn flush(&mut self) {
        self.l1.iter_mut().for_each(|e| *e = (DEAD, SCRATCH));
        self.map.clear();
        self.free.clear();
        for (id, b) in self.blocks.iter_mut().enumerate().skip(1) {
            b.key = DEAD;
            self.free.push(id as BlockId);
        }
        self.live = 0;
        for &page in self.pages.keys() {
            self.code_slot[page as usize & 0xF_FFFF] = 0;
        }
        self.code_bytes.clear();
        self.free_slots.clear();
        self.pages.clear();
        self.code.iter_mut().for_each(|w| *w = 0);
    }

    #[inline]
    pub fn is_code(&self, page: u32) -> bool {
        let p = page as usize & 0xF_FFFF;
        self.code[p >> 6] & (1 << (p & 63)) != 0
    }

    fn mark(&mut self, page: u32) {
        let p = page as usize & 0xF_FFFF;
        self.code[p >> 6] |= 1 << (p & 63);
    }

    /// The bits of bytes `[off, off + len)` within the 64-bit word holding byte `off`
    /// (`len` ≥ 1 and not past that word).
    fn byte_mask(off: u32, len: u32) -> u64 {
        let (first, last) = (off & 63, (off & 63) + len - 1);
        (u64::MAX >> (63 - last)) & (u64::MAX << first)
    }

    /// A CPU write of `size` bytes at `phys` landed on a code page: drops the blocks of
    /// every page whose code chunks it touches. Returns whether any were dropped.
    pub fn code_written(&mut self, phys: u32, size: u32) -> bool {
        let end = phys.wrapping_add(size - 1);
        let (p0, p1) = (phys >> 12, end >> 12);
        if p0 == p1 {
            return self.page_written(p0, phys & 0xFFF, size);
        }
        let first = self.page_written(p0, phys & 0xFFF, 0x1000 - (phys & 0xFFF));
        self.page_written(p1, 0, (end & 0xFFF) + 1) | first
    }

    fn page_written(&mut self, page: u32, off: u32, len: u32) -> bool {
        let hit = self.is_code(page)
            && Some(self.code_slot[page as usize & 0xF_FFFF])
                .filter(|&slot| slot != 0)
                .map(|slot| &self.code_bytes[slot as usize - 1])
                .is_some_and(|bits| {
                    // A write is at most 4 bytes, so it spans at most two words.
                    let first = (64 - (off & 63)).min(len);
                    bits[off as usize >> 6] & Self::byte_mask(off, first) != 0
                        || (first < len
                            && bits[(off as usize >> 6) + 1] & Self::byte_mask(0, len - first) != 0)
                });
        if hit {
            self.invalidate_page(page);
            return true;
        }
        false
    }

    pub fn invalidate_page(&mut self, page: u32) {
        if !self.is_code(page) {
            return;
        }
        let slot = std::mem::take(&mut self.code_slot[page as usize & 0xF_FFFF]);
        if slot != 0 {
            self.code_bytes[slot as usize - 1] = [0; 64];
            self.free_slots.push(slot);
        }
        let p = page as usize & 0xF_FFFF;
        self.code[p >> 6] &= !(1 << (p & 63));
        if let Some(ids) = self.pages.remove(&page) {
            for id in ids {
                let k = std::mem::replace(&mut self.blocks[id as usize].key, DEAD);
                self.map.remove(&k);
                let slot = &mut self.l1[Self::slot(k)];
                if slot.0 == k {
                    *slot = (DEAD, SCRATCH);
                }
                self.free.push(id);
                self.live -= 1;
            }
        }
    }

    #[inline]
    fn get(&mut self, key: u64) -> Option<BlockId> {
        let slot = self.l1[Self::slot(key)];
        if slot.0 == key {
            return Some(slot.1);
        }
        self.get_slow(key)
    }

    #[cold]
    fn get_slow(&mut self, key: u64) -> Option<BlockId> {
        let id = *self.map.get(&key)?;
        self.l1[Self::slot(key)] = (key, id);
        Some(id)
    }

    /// The block `from` last saw followed by the block with `key`, if that is still
    /// cached.
    #[inline(always)]
    fn linked(&self, from: BlockId, key: u64) -> Option<BlockId> {
        let next = &self.blocks.get(from as usize)?.next;
        let id = next.iter().find(|l| l.0 == key)?.1;
        (self.blocks.get(id as usize)?.key == key).then_some(id)
    }

    /// Records that block `to` (with `key`) followed block `from`, keeping the last
    /// `LINKS`.
    fn link(&mut self, from: BlockId, key: u64, to: BlockId) {
        if let Some(b) = self.blocks.get_mut(from as usize) {
            b.next.copy_within(0..LINKS - 1, 1);
            b.next[0] = (key, to);
        }
    }

    /// Caches a block of `entries`, whose `len` bytes of code start at physical `phys`
    /// and stay inside its page; `None` puts it in the scratch slot, uncached. The only
    /// place that frees a block's entries (see the SAFETY note in run.rs).
    fn insert(
        &mut self,
        key: Option<u64>,
        phys: u32,
        len: u32,
        mut entries: Vec<Entry>,
    ) -> BlockId {
        let chain = key.is_some() && entries.last().is_some_and(chains_out);
        // The sentinel's EIP is the block's end (its length is 0).
        let end = entries.last().map_or(0, |e| e.end);
        entries.push(Entry {
            end,
            ..crate::exec::table::sentinel()
        });
        let block = Block {
            key: key.unwrap_or(DEAD),
            chain,
            entries: entries.into_boxed_slice(),
            next: [(DEAD, SCRATCH); LINKS],
        };
        let Some(key) = key else {
            self.blocks[SCRATCH as usize] = block;
            return SCRATCH;
        };
        if self.live >= MAX_BLOCKS {
            self.flush();
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.blocks[id as usize] = block;
                id
            }
            None => {
                self.blocks.push(block);
                (self.blocks.len() - 1) as BlockId
            }
        };
        self.live += 1;
        let page = phys >> 12;
        let p = page as usize & 0xF_FFFF;
        if self.code_slot[p] == 0 {
            self.code_slot[p] = self.free_slots.pop().unwrap_or_else(|| {
                self.code_bytes.push([0; 64]);
                self.code_bytes.len() as u32
            });
        }
        let bits = &mut self.code_bytes[self.code_slot[p] as usize - 1];
        let (mut off, mut left) = (phys & 0xFFF, len.clamp(1, 0x1000 - (phys & 0xFFF)));
        while left > 0 {
            let n = (64 - (off & 63)).min(left);
            bits[off as usize >> 6] |= Self::byte_mask(off, n);
            off += n;
            left -= n;
        }
        self.map.insert(key, id);
        self.pages.entry(page).or_default().push(id);
        self.mark(page);
        id
    }
}

/// Sets `jt` of every relative JMP and Jcc whose target is the start of an entry of
/// the same block (a loop whose body is the block, or a short forward branch), so the
/// run loop can go on there without leaving the block. The target is taken as an
/// offset from the block's start, which is what it is at any CS base: a branch's
/// displacement is relative to the next instruction, in the same block.
fn link_branches(entries: &mut [Entry]) {
    let mut start = 0u32;
    let starts: Vec<u32> = entries
        .iter()
        .map(|e| {
            let s = start;
            start += e.len as u32;
            s
        })
        .collect();
    let mut end = 0u32;
    for e in entries.iter_mut() {
        end += e.len as u32;
        // A block is at most a page of code.
        e.end = end as u16;
        if matches!(e.op, Op::Jcc | Op::Jmp) && e.h != crate::exec::table::H::Generic {
            let target = end.wrapping_add(e.imm);
            if let Some(k) = starts.iter().position(|&s| s == target) {
                e.jt = k as u8;
            }
        }
    }
}

/// Gives each CMP or TEST that a fusable Jcc follows the fused row of the pair
/// (exec/fused.rs), with the Jcc's target as an offset from the block start, its
/// in-block target and its negation bit. Runs after `link_branches` (offsets and
/// targets are final).
fn fuse_pairs(entries: &mut [Entry]) {
    for i in 1..entries.len() {
        let j = entries[i];
        if let Some(h) = crate::exec::table::fused(entries[i - 1].h, &j) {
            let e = &mut entries[i - 1];
            e.h = h;
            e.imm2 = (j.end as u32).wrapping_add(j.imm);
            e.jt = j.jt;
            e.rep = j.sub & 1;
        }
    }
}

impl Cpu {
    /// The block starting at CS:EIP, from the cache or freshly decoded.
    #[inline]
    pub(crate) fn block<B: Bus>(&mut self, bus: &mut B) -> Res<BlockId> {
        self.next_block(bus, None).map(|c| c.id)
    }

    /// The block starting at CS:EIP and the chain it continues. After a block that may
    /// chain (`prev`), a successor in the same linear page comes from its link when it
    /// has one; anything else is a full lookup (CS limit, translation, lookup tables),
    /// whose result is linked from `prev` for next time.
    #[inline(always)]
    pub(crate) fn next_block<B: Bus>(&mut self, bus: &mut B, prev: Option<Chain>) -> Res<Chain> {
        let cs = &self.seg[CS];
        let off = self.eip;
        if (off as u64) > cs.limit as u64 {
            return Err(Exc::gp(0));
        }
        let lin = cs.base.wrapping_add(off);
        let Some(p) = prev.filter(|p| lin & !0xFFF == p.lin_page) else {
            return self.lookup(bus, lin);
        };
        let key = p.key_page | (lin & 0xFFF) as u64;
        if let Some(id) = self.cache.linked(p.id, key) {
            return Ok(Chain { id, ..p });
        }
        let c = self.lookup(bus, lin)?;
        if c.key_page == p.key_page {
            self.cache.link(p.id, key, c.id);
        }
        Ok(c)
    }

    /// A full lookup of the block at linear address `lin` (CS:EIP, within the limit).
    #[inline]
    fn lookup<B: Bus>(&mut self, bus: &mut B, lin: u32) -> Res<Chain> {
        let user = self.cpl == 3;
        let phys = self.translate(bus, lin, crate::mem::Access::Fetch, user)?;
        let key = phys as u64 | (self.seg[CS].big() as u64) << 32;
        let id = match self.cache.get(key) {
            Some(id) => id,
            None => self.build_block(bus, phys, key)?,
        };
        Ok(Chain {
            id,
            lin_page: lin & !0xFFF,
            key_page: key & !0xFFF,
        })
    }

    #[cold]
    fn build_block<B: Bus>(&mut self, bus: &mut B, phys: u32, key: u64) -> Res<BlockId> {
        let bitness = if self.seg[CS].big() { 32 } else { 16 };
        let mut entries = Vec::with_capacity(16);
        let mut eip = self.eip;
        let mut buf = [0u8; 16];
        let mut ins = Instruction::default();
        let mut cacheable = true;
        loop {
            let (n, stop) = self.fetch_window(bus, eip, &mut buf);
            let mut dec = Decoder::with_ip(bitness, &buf[..n], eip as u64, DecoderOptions::NONE);
            dec.decode_out(&mut ins);
            if dec.last_error() == DecoderError::NoMoreBytes || n == 0 {
                if entries.is_empty() {
                    // The instruction runs into the segment limit or an unmapped page.
                    return Err(stop.unwrap_or(Exc::gp(0)));
                }
                break;
            }
            let mut e = decode::translate(&ins);
            // An extension the model lacks is an invalid opcode, not a gap in this CPU.
            if e.op != Op::Unimpl && e.op != Op::Invalid && !self.model.allows(&ins) {
                e.op = Op::Ud;
                e.h = crate::exec::table::H::Generic;
            }
            if e.op == Op::Unimpl || e.op == Op::Invalid {
                if entries.is_empty() {
                    if e.op == Op::Unimpl {
                        let first = buf[0] as u32 | (buf[1] as u32) << 8 | (buf[2] as u32) << 16;
                        self.log_unimplemented(
                            ins.code() as u32,
                            &format!("{:?} (bytes {:06x})", ins.code(), first),
                        );
                    }
                    e.len = ins.len().max(1) as u8;
                    entries.push(e);
                }
                break;
            }
            let start_page = (self.seg[CS].base.wrapping_add(eip)) >> 12;
            let end_page = (self.seg[CS]
                .base
                .wrapping_add(eip)
                .wrapping_add(e.len as u32 - 1))
                >> 12;
            if end_page != start_page {
                // Crosses into the next linear page, whose mapping may change: such an
                // instruction runs from a block of its own that is never cached.
                if entries.is_empty() {
                    cacheable = false;
                    entries.push(e);
                }
                break;
            }
            entries.push(e);
            eip = eip.wrapping_add(e.len as u32);
            if decode::ends_block(&e)
                || entries.len() >= MAX_BLOCK
                || (self.seg[CS].base.wrapping_add(eip)) & 0xFFF == 0
            {
                break;
            }
        }
        link_branches(&mut entries);
        fuse_pairs(&mut entries);
        let len: u32 = entries.iter().map(|e| e.len as u32).sum();
        if cacheable {
            self.tlb_drop_page(phys >> 12);
        }
        Ok(self
            .cache
            .insert(cacheable.then_some(key), phys, len, entries))
    }
}
