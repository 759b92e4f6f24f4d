//! Guest workloads for measuring the CPU core, and the flat-memory bus they run on.
//! The programs are assembled with iced-x86's code assembler and run in flat 32-bit
//! ring-0 protected mode; each loops forever so the instruction budget decides the
//! amount of work.

use cpu::{Bus, Cpu};
use iced_x86::code_asm::*;

/// Flat RAM with no devices: the cheapest possible `Bus`, so the numbers measure the CPU.
pub struct FlatBus {
    pub mem: Vec<u8>,
}

impl Bus for FlatBus {
    #[inline]
    fn read8(&mut self, addr: u32) -> u8 {
        *self.mem.get(addr as usize).unwrap_or(&0xFF)
    }
    #[inline]
    fn write8(&mut self, addr: u32, value: u8) {
        if let Some(b) = self.mem.get_mut(addr as usize) {
            *b = value;
        }
    }
    #[inline]
    fn read32(&mut self, addr: u32) -> u32 {
        match self.mem.get(addr as usize..addr as usize + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0xFFFF_FFFF,
        }
    }
    #[inline]
    fn write32(&mut self, addr: u32, value: u32) {
        if let Some(b) = self.mem.get_mut(addr as usize..addr as usize + 4) {
            b.copy_from_slice(&value.to_le_bytes());
        }
    }
    /// All of `mem` is plain RAM, so bulk `REP MOVS/STOS` may use it.
    fn ram_offset(&mut self, addr: u32, len: u32) -> Option<usize> {
        let a = addr as usize;
        ((addr & 0xFFF) + len <= 0x1000 && a + len as usize <= self.mem.len()).then_some(a)
    }
    fn ram(&mut self) -> &mut [u8] {
        &mut self.mem
    }
    fn host_ram(&mut self) -> Option<cpu::HostRam> {
        // SAFETY: while the CPU runs it holds the only `&mut FlatBus`, and the methods
        // above borrow `mem`'s bytes only until they return, so nothing resizes or
        // replaces `mem` or keeps a reference into it meanwhile; between runs anything
        // may, and the CPU asks again at the next run start. `as_mut_ptr` materialises
        // no reference to the bytes.
        Some(unsafe { cpu::HostRam::new(self.mem.as_mut_ptr(), self.mem.len()) })
    }
    fn io_read(&mut self, _port: u16, _size: u8) -> u32 {
        0xFFFF_FFFF
    }
    fn io_write(&mut self, _port: u16, _size: u8, _value: u32) {}
}

const CODE: u32 = 0x1000;
const SRC: u32 = 0x10000;
const DST: u32 = 0x20000;

/// CRC-32 (bitwise, polynomial 0xEDB88320) over 4 KB, then a 4 KB dword copy loop,
/// forever: typical compiled-code mix of loads, ALU, shifts and branches.
fn crc_memcpy(a: &mut CodeAssembler) -> Result<(), IcedError> {
    let mut start = a.create_label();
    let mut byte_loop = a.create_label();
    let mut bit_loop = a.create_label();
    let mut skip = a.create_label();
    let mut copy = a.create_label();
    a.set_label(&mut start)?;
    a.mov(esi, SRC)?;
    a.mov(ecx, 4096u32)?;
    a.mov(eax, 0xFFFF_FFFFu32)?;
    a.set_label(&mut byte_loop)?;
    a.movzx(edx, byte_ptr(esi))?;
    a.xor(eax, edx)?;
    a.inc(esi)?;
    a.mov(edx, 8u32)?;
    a.set_label(&mut bit_loop)?;
    a.shr(eax, 1)?;
    a.jnc(skip)?;
    a.xor(eax, 0xEDB8_8320u32)?;
    a.set_label(&mut skip)?;
    a.dec(edx)?;
    a.jnz(bit_loop)?;
    a.dec(ecx)?;
    a.jnz(byte_loop)?;
    a.not(eax)?;
    a.mov(dword_ptr(DST - 4), eax)?;
    a.mov(esi, SRC)?;
    a.mov(edi, DST)?;
    a.mov(ecx, 1024u32)?;
    a.set_label(&mut copy)?;
    a.mov(eax, dword_ptr(esi))?;
    a.mov(dword_ptr(edi), eax)?;
    a.add(esi, 4)?;
    a.add(edi, 4)?;
    a.dec(ecx)?;
    a.jnz(copy)?;
    a.jmp(start)
}

/// A CPU and bus ready to run the CRC32 + memcpy loop.
pub fn crc_memcpy_guest() -> (Cpu, FlatBus) {
    let mut a = CodeAssembler::new(32).expect("32-bit assembler");
    crc_memcpy(&mut a).expect("bench guest assembles");
    let code = a.assemble(CODE as u64).expect("bench guest assembles");
    let mut bus = FlatBus {
        mem: vec![0; 1 << 20],
    };
    bus.mem[CODE as usize..CODE as usize + code.len()].copy_from_slice(&code);
    for i in 0..4096u32 {
        bus.mem[(SRC + i) as usize] = (i.wrapping_mul(2_654_435_761) >> 24) as u8;
    }
    let mut cpu = Cpu::new();
    cpu.enter_flat_protected_mode(0x08, 0x10, 0);
    cpu.eip = CODE;
    cpu.regs[cpu::ESP] = 0x8000;
    (cpu, bus)
}

/// Where each workload stores its result.
const RESULT: u32 = 0x0F00;
/// Page directory and table of the paged workload (identity map of the first 4 MB,
/// except linear 0x400000–0x43FFFF, the data, which maps to physical 0x40000–0x7FFFF).
const PD: u32 = 0x3000;
const PT: u32 = 0x4000;
const PT2: u32 = 0x5000;

/// The workloads `cargo bench -p benches` measures (each loops forever).
#[derive(Clone, Copy, Debug)]
pub enum Workload {
    /// CRC-32 + dword memcpy (the original mix).
    CrcMemcpy,
    /// Register-only ALU and branch loop: `x = x * 5 + i; x ^= x >> 3` for 1000 i.
    Alu,
    /// Paging on: prefix sums of 64 K dwords read and written through 4 KB pages.
    PagedMem,
    /// `rep movsb` of 64 KB.
    RepMovsb,
    /// `rep stosd` of 64 KB.
    RepStosd,
    /// Recursive Fibonacci: call/ret, push/pop.
    CallRet,
    /// Multi-precision multiply-and-subtract as a 32-bit kernel compiles it (locals in an
    /// EBP frame, 32×32→64 products from 16-bit halves, CMOV, ADC, SETC): the loop of
    /// Linux's `mpihelp_submul_1`, where its RSA self-tests spend about half of the
    /// instructions of our Linux boot.
    BigNum,
}

pub const WORKLOADS: [Workload; 7] = [
    Workload::CrcMemcpy,
    Workload::Alu,
    Workload::PagedMem,
    Workload::RepMovsb,
    Workload::RepStosd,
    Workload::CallRet,
    Workload::BigNum,
];

/// Limbs per `submul` call and calls per pass of the BigNum workload.
const LIMBS: u32 = 64;
const CALLS: u32 = 16;

fn bignum(a: &mut CodeAssembler) -> Result<(), IcedError> {
    let mut start = a.create_label();
    let mut outer = a.create_label();
    let mut submul = a.create_label();
    let mut l = a.create_label();
    a.set_label(&mut start)?;
    a.xor(esi, esi)?; // sum of the returned limbs (callee-saved)
    a.mov(ebx, 1u32)?;
    a.set_label(&mut outer)?;
    a.imul_3(eax, ebx, 0x9E37_79B9u32 as i32)?; // limb = k * golden ratio
    a.push(eax)?;
    a.mov(eax, DST)?; // res
    a.mov(edx, SRC)?; // s1
    a.mov(ecx, LIMBS)?;
    a.call(submul)?;
    a.add(esp, 4)?;
    a.add(esi, eax)?;
    a.inc(ebx)?;
    a.cmp(ebx, CALLS + 1)?;
    a.jb(outer)?;
    a.mov(dword_ptr(RESULT), esi)?;
    a.jmp(start)?;

    // submul(eax = res, edx = s1, ecx = n, [esp+4] = v): res[j] -= s1[j] * v over n
    // limbs, returns the borrow limb; the products come from 16-bit halves
    // (the generic C `umul_ppmm`).
    a.set_label(&mut submul)?;
    a.push(ebp)?;
    a.mov(ebp, esp)?;
    a.push(edi)?;
    a.mov(edi, ecx)?;
    a.push(esi)?;
    a.neg(edi)?;
    a.push(ebx)?;
    a.sub(esp, 0x1c)?;
    a.mov(dword_ptr(ebp - 0x24), eax)?;
    a.mov(eax, dword_ptr(ebp + 8))?;
    a.mov(dword_ptr(ebp - 0x10), edi)?; // j = -n
    a.mov(esi, eax)?;
    a.movzx(eax, ax)?;
    a.mov(dword_ptr(ebp - 0x20), eax)?; // v low half
    a.lea(eax, dword_ptr(ecx * 4))?;
    a.shr(esi, 16)?;
    a.mov(dword_ptr(ebp - 0x1c), eax)?;
    a.add(eax, edx)?;
    a.mov(dword_ptr(ebp - 0x28), eax)?; // s1 end
    a.mov(dword_ptr(ebp - 0x18), esi)?; // v high half
    a.xor(esi, esi)?; // carry limb
    a.set_label(&mut l)?;
    a.mov(ecx, dword_ptr(ebp - 0x10))?;
    a.mov(eax, dword_ptr(ebp - 0x28))?;
    a.mov(ebx, dword_ptr(ebp - 0x20))?;
    a.mov(edi, dword_ptr(ebp - 0x18))?;
    a.mov(edx, dword_ptr(eax + ecx * 4))?;
    a.mov(eax, ebx)?;
    a.movzx(ecx, dx)?;
    a.shr(edx, 16)?;
    a.imul_2(eax, ecx)?;
    a.imul_2(ebx, edx)?;
    a.imul_2(ecx, edi)?;
    a.imul_2(edx, edi)?;
    a.mov(edi, eax)?;
    a.movzx(eax, ax)?;
    a.shr(edi, 16)?;
    a.add(ecx, ebx)?;
    a.mov(dword_ptr(ebp - 0x14), edx)?;
    a.mov(edx, edi)?;
    a.add(edx, ecx)?;
    a.mov(ecx, dword_ptr(ebp - 0x14))?;
    a.add(ecx, 0x10000)?;
    a.cmp(edx, ebx)?;
    a.mov(edi, ecx)?;
    a.mov(ecx, edx)?;
    a.cmovae(edi, dword_ptr(ebp - 0x14))?;
    a.add(eax, esi)?;
    a.shl(ecx, 16)?;
    a.xor(ebx, ebx)?;
    a.add(eax, ecx)?;
    a.mov(ecx, dword_ptr(ebp - 0x1c))?;
    a.cmp(eax, esi)?;
    a.mov(esi, edx)?;
    a.mov(edx, dword_ptr(ebp - 0x24))?;
    a.setb(bl)?;
    a.shr(esi, 16)?;
    a.add(edx, ecx)?;
    a.mov(ecx, dword_ptr(ebp - 0x10))?;
    a.mov(ecx, dword_ptr(edx + ecx * 4))?;
    a.sub(ecx, eax)?;
    a.mov(eax, dword_ptr(ebp - 0x10))?;
    a.adc(ebx, esi)?;
    a.mov(dword_ptr(edx + eax * 4), ecx)?;
    a.mov(ecx, eax)?;
    a.lea(esi, dword_ptr(ebx + edi))?;
    a.add(ecx, 1)?;
    a.mov(dword_ptr(ebp - 0x10), ecx)?;
    a.jne(l)?;
    a.add(esp, 0x1c)?;
    a.mov(eax, esi)?;
    a.pop(ebx)?;
    a.pop(esi)?;
    a.pop(edi)?;
    a.pop(ebp)?;
    a.ret()
}

fn alu(a: &mut CodeAssembler) -> Result<(), IcedError> {
    let mut start = a.create_label();
    let mut l = a.create_label();
    a.set_label(&mut start)?;
    a.xor(eax, eax)?; // x = 0
    a.xor(ecx, ecx)?; // i = 0
    a.set_label(&mut l)?;
    a.lea(eax, dword_ptr(eax + eax * 4))?; // x *= 5
    a.add(eax, ecx)?; // x += i
    a.mov(edx, eax)?;
    a.shr(edx, 3)?;
    a.xor(eax, edx)?; // x ^= x >> 3
    a.inc(ecx)?;
    a.cmp(ecx, 1000)?;
    a.jb(l)?;
    a.mov(dword_ptr(RESULT), eax)?;
    a.jmp(start)
}

fn paged_mem(a: &mut CodeAssembler) -> Result<(), IcedError> {
    let mut start = a.create_label();
    let mut l = a.create_label();
    a.set_label(&mut start)?;
    a.mov(esi, 0x40_0000u32)?;
    a.mov(ecx, 0x1_0000u32)?;
    a.xor(edx, edx)?;
    a.set_label(&mut l)?;
    a.add(edx, dword_ptr(esi))?; // sum += a[i]
    a.mov(dword_ptr(esi), edx)?; // a[i] = sum (in place)
    a.add(esi, 4)?;
    a.dec(ecx)?;
    a.jnz(l)?;
    a.mov(dword_ptr(RESULT), edx)?;
    a.jmp(start)
}

fn rep_movsb(a: &mut CodeAssembler) -> Result<(), IcedError> {
    let mut start = a.create_label();
    a.set_label(&mut start)?;
    a.mov(esi, SRC)?;
    a.mov(edi, DST)?;
    a.mov(ecx, 0x1_0000u32)?;
    a.rep().movsb()?;
    a.jmp(start)
}

fn rep_stosd(a: &mut CodeAssembler) -> Result<(), IcedError> {
    let mut start = a.create_label();
    a.set_label(&mut start)?;
    a.mov(edi, DST)?;
    a.mov(ecx, 0x4000u32)?;
    a.mov(eax, 0x1234_5678u32)?;
    a.rep().stosd()?;
    a.jmp(start)
}

fn call_ret(a: &mut CodeAssembler) -> Result<(), IcedError> {
    let mut start = a.create_label();
    let mut fib = a.create_label();
    let mut done = a.create_label();
    a.set_label(&mut start)?;
    a.mov(eax, 20u32)?;
    a.call(fib)?;
    a.mov(dword_ptr(RESULT), eax)?;
    a.jmp(start)?;
    // fib(n): eax = n in, fib(n) out; fib(0) = 0, fib(1) = 1.
    a.set_label(&mut fib)?;
    a.cmp(eax, 2)?;
    a.jb(done)?;
    a.push(eax)?;
    a.dec(eax)?;
    a.call(fib)?; // eax = fib(n-1)
    a.mov(ecx, dword_ptr(esp))?;
    a.mov(dword_ptr(esp), eax)?;
    a.lea(eax, dword_ptr(ecx - 2))?;
    a.call(fib)?; // eax = fib(n-2)
    a.pop(ecx)?;
    a.add(eax, ecx)?;
    a.set_label(&mut done)?;
    a.ret()
}

/// A CPU and bus ready to run `w`.
pub fn guest(w: Workload) -> (Cpu, FlatBus) {
    if let Workload::CrcMemcpy = w {
        return crc_memcpy_guest();
    }
    let mut a = CodeAssembler::new(32).expect("32-bit assembler");
    match w {
        Workload::CrcMemcpy => unreachable!(),
        Workload::Alu => alu(&mut a),
        Workload::PagedMem => paged_mem(&mut a),
        Workload::RepMovsb => rep_movsb(&mut a),
        Workload::RepStosd => rep_stosd(&mut a),
        Workload::CallRet => call_ret(&mut a),
        Workload::BigNum => bignum(&mut a),
    }
    .expect("bench guest assembles");
    let code = a.assemble(CODE as u64).expect("bench guest assembles");
    let mut bus = FlatBus {
        mem: vec![0; 1 << 20],
    };
    bus.mem[CODE as usize..CODE as usize + code.len()].copy_from_slice(&code);
    for i in 0..0x1_0000u32 {
        bus.mem[(SRC + i) as usize] = (i.wrapping_mul(2_654_435_761) >> 24) as u8;
    }
    for i in 0..4 * LIMBS {
        bus.mem[(DST + i) as usize] = (i.wrapping_mul(40_503) >> 8) as u8;
    }
    let mut cpu = Cpu::new();
    cpu.enter_flat_protected_mode(0x08, 0x10, 0);
    cpu.eip = CODE;
    cpu.regs[cpu::ESP] = 0x8000;
    if let Workload::PagedMem = w {
        let mut put =
            |a: u32, v: u32| bus.mem[a as usize..a as usize + 4].copy_from_slice(&v.to_le_bytes());
        put(PD, PT | 3);
        put(PD + 4, PT2 | 3);
        for p in 0..1024 {
            put(PT + 4 * p, (p << 12) | 3);
            put(PT2 + 4 * p, ((0x40 + (p & 0x3F)) << 12) | 3);
        }
        for i in 0..0x1_0000u32 {
            put(0x4_0000 + 4 * i, i);
        }
        cpu.cr3 = PD;
        cpu.cr0 |= 0x8000_0000;
    }
    (cpu, bus)
}

/// Checks what one pass of `w` computed against a value worked out independently of
/// the emulated CPU (see each arm); `Err` says what differs.
pub fn check(w: Workload, bus: &FlatBus) -> Result<(), String> {
    let rd = |a: u32| u32::from_le_bytes(bus.mem[a as usize..a as usize + 4].try_into().unwrap());
    let (got, want) = match w {
        Workload::CrcMemcpy => return Ok(()),
        Workload::Alu => {
            // The same recurrence in host arithmetic.
            let mut x = 0u32;
            for i in 0..1000u32 {
                x = x.wrapping_mul(5).wrapping_add(i);
                x ^= x >> 3;
            }
            (rd(RESULT), x)
        }
        Workload::PagedMem => {
            // After the first pass a[i] = 0 + 1 + … + i = i(i+1)/2, so the result is
            // 65535 × 65536 / 2 = 2147450880 = 0x7FFF8000.
            (rd(RESULT), 0x7FFF_8000)
        }
        Workload::RepMovsb => {
            return if bus.mem[DST as usize..DST as usize + 0x1_0000]
                == bus.mem[SRC as usize..SRC as usize + 0x1_0000]
            {
                Ok(())
            } else {
                Err("rep movsb: destination differs from source".into())
            };
        }
        Workload::RepStosd => {
            return if (0..0x4000).all(|i| rd(DST + 4 * i) == 0x1234_5678) {
                Ok(())
            } else {
                Err("rep stosd: destination not filled".into())
            };
        }
        // fib(20) = 6765 (0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610,
        // 987, 1597, 2584, 4181, 6765).
        Workload::CallRet => (rd(RESULT), 6765),
        Workload::BigNum => {
            // The same subtractions with 64-bit host products, on the initial arrays
            // as `guest` wrote them (the pass changes `res`, never `s1`).
            let s1: Vec<u32> = (0..LIMBS).map(|j| rd(SRC + 4 * j)).collect();
            let byte = |i: u32| (i.wrapping_mul(40_503) >> 8) as u8;
            let mut res: Vec<u32> = (0..LIMBS)
                .map(|j| u32::from_le_bytes([0, 1, 2, 3].map(|b| byte(4 * j + b))))
                .collect();
            let mut sum = 0u32;
            for k in 1..=CALLS {
                let v = k.wrapping_mul(0x9E37_79B9) as u64;
                let mut cy = 0u32;
                for j in 0..LIMBS as usize {
                    let p = s1[j] as u64 * v + cy as u64;
                    let (r, borrow) = res[j].overflowing_sub(p as u32);
                    res[j] = r;
                    cy = (p >> 32) as u32 + borrow as u32;
                }
                sum = sum.wrapping_add(cy);
            }
            (rd(RESULT), sum)
        }
    };
    if got == want {
        Ok(())
    } else {
        Err(format!("{w:?}: got {got:#x}, want {want:#x}"))
    }
}

/// Instructions one pass of each loop takes at most (enough budget to finish a pass).
pub fn pass_budget(w: Workload) -> u64 {
    match w {
        Workload::CrcMemcpy => 200_000,
        Workload::Alu => 10_000,
        Workload::PagedMem => 400_000,
        Workload::RepMovsb | Workload::RepStosd => 70_000,
        // fib(20) makes 21891 calls of at most 12 instructions.
        Workload::CallRet => 300_000,
        // 16 calls of 64 iterations of 46 instructions and 30 more: about 47,600,
        // which stays short of a second pass's final store.
        Workload::BigNum => 60_000,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_workload_computes_its_hand_worked_result() {
        for w in super::WORKLOADS {
            let (mut cpu, mut bus) = super::guest(w);
            cpu.run(&mut bus, super::pass_budget(w));
            super::check(w, &bus).unwrap();
        }
    }

    #[test]
    fn crc_of_the_bench_buffer_matches_a_host_computation() {
        // The guest's CRC-32 must equal the same bitwise CRC-32 computed on the host.
        let (mut cpu, mut bus) = super::crc_memcpy_guest();
        let data: Vec<u8> = bus.mem[super::SRC as usize..super::SRC as usize + 4096].to_vec();
        let mut crc = 0xFFFF_FFFFu32;
        for b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        crc = !crc;
        // One pass of the CRC loop is about 4096 * (6 + 8*4) instructions.
        cpu.run(&mut bus, 200_000);
        let got = u32::from_le_bytes(
            bus.mem[super::DST as usize - 4..super::DST as usize]
                .try_into()
                .unwrap(),
        );
        assert_eq!(got, crc);
    }
}
