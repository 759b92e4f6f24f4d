//! The basic-block cache. A block is the run of pre-decoded entries from one physical
//! address up to an unconditional control transfer (conditional branches stay inside
//! and leave the block only when taken), a block-ending instruction, the end of the page or
//! `MAX_BLOCK` instructions. Blocks are keyed by physical address plus the CS D bit (the
//! only mode bit that changes decoding), so they stay valid across segment bases and
//! page-table changes; a per-page bitmap marks pages holding code so that a write there
//! (checked on every write, one bit test) drops that page's blocks.

use crate::decode::{self, Entry, Op};
use crate::regs::*;
use crate::{Bus, Cpu, Exc, Res};
use iced_x86::{Decoder, DecoderError, DecoderOptions, Instruction};
use std::collections::HashMap;
use std::rc::Rc;

pub const MAX_BLOCK: usize = 64;

/// Direct-mapped front cache in front of the hash map: most block lookups are one
/// multiply, one index and one compare.
const L1_BITS: u32 = 12;

pub(crate) struct BlockCache {
    l1: Vec<(u64, Option<Rc<[Entry]>>)>,
    map: HashMap<u64, Rc<[Entry]>>,
    /// Keys of blocks starting in each physical page.
    pages: HashMap<u32, Vec<u64>>,
    /// One bit per 4 KB physical page: does it hold cached code?
    code: Vec<u64>,
}

impl BlockCache {
    pub fn new() -> Self {
        BlockCache {
            l1: vec![(u64::MAX, None); 1 << L1_BITS],
            map: HashMap::new(),
            pages: HashMap::new(),
            code: vec![0; (1 << 20) / 64],
        }
    }

    #[inline]
    fn slot(key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - L1_BITS)) as usize
    }

    pub fn flush(&mut self) {
        self.l1.iter_mut().for_each(|e| *e = (u64::MAX, None));
        self.map.clear();
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

    pub fn invalidate_page(&mut self, page: u32) {
        if !self.is_code(page) {
            return;
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

    fn insert(&mut self, key: u64, page: u32, b: Rc<[Entry]>) {
        if self.map.len() > 1 << 16 {
            self.flush();
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
        let b: Rc<[Entry]> = entries.into();
        if cacheable {
            self.cache.insert(key, phys >> 12, b.clone());
        }
        Ok(b)
    }
}
