//! The basic-block cache. A block is the run of pre-decoded entries from one physical
//! address up to an unconditional control transfer (conditional branches stay inside
//! and leave the block only when taken), a block-ending instruction, the end of the page or
//! `MAX_BLOCK` instructions. Blocks are keyed by physical address plus the CS D bit (the
//! only mode bit that changes decoding), so they stay valid across segment bases and
//! page-table changes; a per-page bitmap marks pages holding code so that a write there
//! (checked on every write, one bit test) is looked at more closely: each code page
//! also records which of its bytes hold cached code, and only a write to one of those
//! drops the page's blocks. DOS keeps variables between its routines (FreeDOS's kernel
//! writes a few bytes just before code it runs at the prompt), and dropping the page
//! on every such write would rebuild its blocks all the time.

use crate::decode::{self, Entry, Op};
use crate::regs::*;
use crate::{Bus, Cpu, Exc, Res};
use iced_x86::{Decoder, DecoderError, DecoderOptions, Instruction};
use std::collections::HashMap;
use std::rc::Rc;

pub const MAX_BLOCK: usize = 64;

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
    l1: Vec<(u64, Option<Rc<[Entry]>>)>,
    map: Map<u64, Rc<[Entry]>>,
    /// Keys of blocks starting in each physical page.
    pages: Map<u32, Vec<u64>>,
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
            l1: vec![(u64::MAX, None); 1 << L1_BITS],
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

    pub fn flush(&mut self) {
        self.l1.iter_mut().for_each(|e| *e = (u64::MAX, None));
        self.map.clear();
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
        if let Some(keys) = self.pages.remove(&page) {
            for k in keys {
                self.map.remove(&k);
                let slot = &mut self.l1[Self::slot(k)];
                if slot.0 == k {
                    *slot = (u64::MAX, None);
                }
            }
        }
    }

    #[inline]
    pub fn get(&mut self, key: u64) -> Option<Rc<[Entry]>> {
        let slot = &self.l1[Self::slot(key)];
        if slot.0 == key {
            return slot.1.clone();
        }
        self.get_slow(key)
    }

    #[cold]
    fn get_slow(&mut self, key: u64) -> Option<Rc<[Entry]>> {
        let b = self.map.get(&key)?.clone();
        self.l1[Self::slot(key)] = (key, Some(b.clone()));
        Some(b)
    }

    /// Caches block `b`, whose `len` bytes of code start at physical `phys` and stay
    /// inside its page.
    fn insert(&mut self, key: u64, phys: u32, len: u32, b: Rc<[Entry]>) {
        if self.map.len() > 1 << 16 {
            self.flush();
        }
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
        self.map.insert(key, b);
        self.pages.entry(page).or_default().push(key);
        self.mark(page);
    }
}

impl Cpu {
    /// The block starting at CS:EIP, from the cache or freshly decoded.
    #[inline]
    pub(crate) fn block<B: Bus>(&mut self, bus: &mut B) -> Res<Rc<[Entry]>> {
        let cs = self.seg[CS];
        let off = self.eip;
        if (off as u64) > cs.limit as u64 {
            return Err(Exc::gp(0));
        }
        let lin = cs.base.wrapping_add(off);
        let user = self.cpl == 3;
        let phys = self.translate(bus, lin, crate::mem::Access::Fetch, user)?;
        let key = phys as u64 | (cs.big() as u64) << 32;
        if let Some(b) = self.cache.get(key) {
            return Ok(b);
        }
        self.build_block(bus, phys, key)
    }

    #[cold]
    fn build_block<B: Bus>(&mut self, bus: &mut B, phys: u32, key: u64) -> Res<Rc<[Entry]>> {
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
        let len: u32 = entries.iter().map(|e| e.len as u32).sum();
        let b: Rc<[Entry]> = entries.into();
        if cacheable {
            self.tlb_drop_page(phys >> 12);
            self.cache.insert(key, phys, len, b.clone());
        }
        Ok(b)
    }
}
