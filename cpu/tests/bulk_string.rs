//! Differential tests of the bulk `REP MOVS`/`REP STOS` path (cpu/src/string.rs
//! `bulk`): the same random programs run on a bus that offers its RAM to the bulk
//! path (`Bus::ram_offset`) and on one that does not (element by element through
//! `read8`/`write8`, the reference), and every visible result must be identical:
//! memory, registers, EFLAGS, EIP, CR2, the instruction count and why `run` stopped.
//! Cases cover both directions, byte/word/dword, 16- and 32-bit addressing, random
//! overlaps (including EDI = ESI + 1), page crossings, aliased pages, not-present and
//! read-only pages (a #PF mid-way ends in shutdown here: no IDT), short segment
//! limits (#GP mid-way), and budgets that stop the instruction between iterations.

use cpu::{Bus, Cpu, Stop};

const MEM: usize = 2 << 20;
const CODE: u32 = 0x10000;
const PD: u32 = 0x1000;
const PT: u32 = 0x2000;

struct DiffBus {
    mem: Vec<u8>,
    bulk: bool,
}

impl Bus for DiffBus {
    fn read8(&mut self, addr: u32) -> u8 {
        *self.mem.get(addr as usize).unwrap_or(&0xFF)
    }
    fn write8(&mut self, addr: u32, value: u8) {
        if let Some(b) = self.mem.get_mut(addr as usize) {
            *b = value;
        }
    }
    fn ram_offset(&mut self, addr: u32, len: u32) -> Option<usize> {
        let a = addr as usize;
        (self.bulk && (addr & 0xFFF) + len <= 0x1000 && a + len as usize <= self.mem.len())
            .then_some(a)
    }
    fn ram(&mut self) -> &mut [u8] {
        &mut self.mem
    }
    fn io_read(&mut self, _port: u16, _size: u8) -> u32 {
        0xFFFF_FFFF
    }
    fn io_write(&mut self, _port: u16, _size: u8, _value: u32) {}
}

/// xorshift64*: a fixed-seed generator so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

#[derive(Debug, PartialEq)]
struct Outcome {
    stop: Stop,
    regs: [u32; 8],
    eflags: u32,
    eip: u32,
    cr2: u32,
    icount: u64,
    mem_hash: u64,
}

fn outcome(cpu: &Cpu, bus: &DiffBus, stop: Stop) -> Outcome {
    // FNV-1a over all of memory: any differing byte changes it.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in &bus.mem {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    Outcome {
        stop,
        regs: cpu.regs,
        eflags: cpu.eflags,
        eip: cpu.eip,
        cr2: cpu.cr2,
        icount: cpu.icount,
        mem_hash: h,
    }
}

/// Builds one random case and returns (cpu, memory, budget).
fn case(r: &mut Rng) -> (Cpu, Vec<u8>, u64) {
    let mut mem = vec![0u8; MEM];
    for b in mem[0x100000..0x140000].iter_mut() {
        *b = r.next() as u8;
    }
    // Code (hand-encoded): CLD (FC) or STD (FD); optional 67h (16-bit addressing);
    // optional 66h (word); F3 then A4/A5 (MOVSB/MOVSD) or AA/AB (STOSB/STOSD); F4 HLT.
    let mut code = vec![if r.below(2) == 0 { 0xFC } else { 0xFD }];
    let a16 = r.below(4) == 0;
    if a16 {
        code.push(0x67);
    }
    let size = [1u32, 2, 4][r.below(3) as usize];
    if size == 2 {
        code.push(0x66);
    }
    let movs = r.below(3) != 0;
    code.push(0xF3);
    code.push(match (movs, size) {
        (true, 1) => 0xA4,
        (true, _) => 0xA5,
        (false, 1) => 0xAA,
        (false, _) => 0xAB,
    });
    code.push(0xF4);
    mem[CODE as usize..CODE as usize + code.len()].copy_from_slice(&code);

    let mut cpu = Cpu::new();
    cpu.enter_flat_protected_mode(0x08, 0x10, 0);
    cpu.eip = CODE;
    cpu.regs[cpu::ESP] = 0x80000;
    cpu.regs[cpu::EAX] = r.next();
    let paged = r.below(3) != 0;
    // Linear data window 0x100000–0x13FFFF (64 pages).
    if paged {
        mem[PD as usize..PD as usize + 4].copy_from_slice(&(PT | 3).to_le_bytes());
        for p in 0..0x400u32 {
            let mut pte = (p << 12) | 3;
            if (0x100..0x140).contains(&p) {
                // Random physical page in the window (aliases), sometimes read-only or
                // not present.
                pte = ((0x100 + r.below(0x40)) << 12) | 3;
                match r.below(12) {
                    0 => pte = 0,
                    1 => pte &= !2,
                    _ => {}
                }
            }
            mem[(PT + 4 * p) as usize..(PT + 4 * p + 4) as usize]
                .copy_from_slice(&pte.to_le_bytes());
        }
        cpu.cr3 = PD;
        cpu.cr0 |= 0x8001_0000; // PG and WP
    }
    let base = if a16 {
        // 16-bit addressing reaches 0x100000 + SI through a segment base.
        for s in [cpu::DS, cpu::ES] {
            cpu.seg[s].base = 0x100000 + r.below(0x20000);
        }
        0
    } else {
        0x100000
    };
    let near = |r: &mut Rng, c: u32| -> u32 {
        match r.below(4) {
            0 => c.wrapping_add(r.below(9)).wrapping_sub(4),
            1 => c.wrapping_add(r.below(0x2000)).wrapping_sub(0x1000),
            _ => base + r.below(0x40000),
        }
    };
    let src = if a16 {
        r.below(0x10000)
    } else {
        base + r.below(0x40000)
    };
    let dst = if a16 {
        near(r, src) & 0xFFFF
    } else {
        near(r, src)
    };
    cpu.regs[cpu::ESI] = src | if a16 { r.next() & 0xFFFF_0000 } else { 0 };
    cpu.regs[cpu::EDI] = dst | if a16 { r.next() & 0xFFFF_0000 } else { 0 };
    cpu.regs[cpu::ECX] = match r.below(4) {
        0 => r.below(16),
        1 => r.below(0x3000),
        2 => r.below(0x10000) | if a16 { 0xABCD_0000 } else { 0 },
        _ => 0x1000 + r.below(0x100),
    };
    if r.below(6) == 0 {
        // A short ES limit: #GP part-way.
        cpu.seg[cpu::ES].limit = (dst & 0xFFFF) + r.below(0x3000);
    }
    let budget = match r.below(3) {
        0 => 1 + r.below(5000) as u64,
        _ => 1_000_000,
    };
    (cpu, mem, budget)
}

#[test]
fn bulk_rep_movs_stos_match_the_element_loop() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut bulk_elements = 0u64;
    for i in 0..600 {
        let state = r.0;
        let mut runs = Vec::new();
        for bulk in [false, true] {
            r.0 = state;
            let (mut c, mem, budget) = case(&mut r);
            let mut b = DiffBus { mem, bulk };
            let s1 = c.run(&mut b, budget);
            let first = outcome(&c, &b, s1);
            // Resume a stopped REP to its end.
            let s2 = c.run(&mut b, 1_000_000);
            runs.push((first, outcome(&c, &b, s2)));
            if bulk {
                bulk_elements += c.icount;
            }
        }
        assert_eq!(runs[0].0, runs[1].0, "case {i}: after the first run");
        assert_eq!(runs[0].1, runs[1].1, "case {i}: after resuming");
    }
    assert!(bulk_elements > 100_000, "the cases must exercise long REPs");
}

#[test]
fn overlapping_movsb_replicates_a_byte_in_bulk() {
    // rep movsb with EDI = ESI + 1, ECX = 5000: on hardware (and element by element)
    // each byte copies the one just written, so the first byte fills 5001 bytes,
    // across a page boundary.
    let mut mem = vec![0u8; MEM];
    mem[CODE as usize..CODE as usize + 4].copy_from_slice(&[0xFC, 0xF3, 0xA4, 0xF4]);
    for (i, b) in mem[0x100000..0x103000].iter_mut().enumerate() {
        *b = i as u8 | 1;
    }
    mem[0x100800] = 0x5A;
    let mut cpu = Cpu::new();
    cpu.enter_flat_protected_mode(0x08, 0x10, 0);
    cpu.eip = CODE;
    cpu.regs[cpu::ESI] = 0x100800;
    cpu.regs[cpu::EDI] = 0x100801;
    cpu.regs[cpu::ECX] = 5000;
    let mut b = DiffBus { mem, bulk: true };
    assert_eq!(cpu.run(&mut b, 1_000_000), Stop::Halt);
    assert!(b.mem[0x100800..0x100800 + 5001].iter().all(|&x| x == 0x5A));
    assert_eq!(b.mem[0x100800 + 5001], (0x800 + 5001) as u8 | 1);
    assert_eq!(cpu.regs[cpu::ECX], 0);
    assert_eq!(cpu.regs[cpu::EDI], 0x100801 + 5000);
    // CLD, REP MOVSB (1 + 4999 more iterations), HLT.
    assert_eq!(cpu.icount, 1 + 5000 + 1);
}
