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

#[cfg(test)]
mod tests {
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
