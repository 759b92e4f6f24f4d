//! A flat-memory test bus and helpers to assemble and run snippets in real mode or
//! flat 32-bit protected mode.
#![allow(dead_code)]

use cpu::{Bus, Cpu, Stop};
use iced_x86::code_asm::CodeAssembler;

pub const MEM_SIZE: usize = 2 << 20;

/// 2 MB of RAM, ports that record writes and read as 0xFF, and an interrupt line
/// that rises after a given number of polls.
pub struct FlatBus {
    pub mem: Vec<u8>,
    pub port_writes: Vec<(u16, u8, u32)>,
    /// `Some((polls, vector))`: `irq_pending` answers true from its `polls`-th call on,
    /// until the CPU acknowledges `vector`.
    pub irq_after: Option<(u64, u8)>,
    pub polls: u64,
}

impl FlatBus {
    pub fn new() -> Self {
        FlatBus {
            mem: vec![0; MEM_SIZE],
            port_writes: Vec::new(),
            irq_after: None,
            polls: 0,
        }
    }
    pub fn load(&mut self, addr: u32, bytes: &[u8]) {
        self.mem[addr as usize..addr as usize + bytes.len()].copy_from_slice(bytes);
    }
    pub fn r16(&self, a: u32) -> u16 {
        u16::from_le_bytes([self.mem[a as usize], self.mem[a as usize + 1]])
    }
    pub fn r32(&self, a: u32) -> u32 {
        u32::from_le_bytes(self.mem[a as usize..a as usize + 4].try_into().unwrap())
    }
}

impl Bus for FlatBus {
    fn read8(&mut self, addr: u32) -> u8 {
        *self.mem.get(addr as usize).unwrap_or(&0xFF)
    }
    fn write8(&mut self, addr: u32, value: u8) {
        if let Some(b) = self.mem.get_mut(addr as usize) {
            *b = value;
        }
    }
    fn io_read(&mut self, _port: u16, size: u8) -> u32 {
        (1u64 << (8 * size as u32)).wrapping_sub(1) as u32
    }
    fn io_write(&mut self, port: u16, size: u8, value: u32) {
        self.port_writes.push((port, size, value));
    }
    fn irq_pending(&mut self) -> bool {
        self.polls += 1;
        self.irq_after.is_some_and(|(n, _)| self.polls >= n)
    }
    fn irq_ack(&mut self) -> Option<u8> {
        self.irq_after.take().map(|(_, v)| v)
    }
}

/// Code is loaded at 0x1000:0000 (linear 0x10000) in real mode; the stack is 0x2000:FFFE.
pub const REAL_CODE: u32 = 0x10000;

/// Assembles `f`'s code for 16-bit real mode at 1000:0000, appends HLT, and returns a
/// CPU ready to run it.
pub fn real_mode(f: impl FnOnce(&mut CodeAssembler)) -> (Cpu, FlatBus) {
    let mut a = CodeAssembler::new(16).unwrap();
    f(&mut a);
    a.hlt().unwrap();
    let code = a.assemble(0).unwrap();
    let mut bus = FlatBus::new();
    bus.load(REAL_CODE, &code);
    let mut cpu = Cpu::new();
    cpu.seg[cpu::CS].load_real(0x1000);
    cpu.seg[cpu::CS].limit = 0xFFFF;
    for s in [cpu::DS, cpu::ES, cpu::SS] {
        cpu.seg[s].load_real(0x2000);
    }
    cpu.eip = 0;
    cpu.regs[cpu::ESP] = 0xFFFE;
    (cpu, bus)
}

/// Flat 32-bit ring-0 protected mode: code at 0x10000, stack top at 0x80000.
pub const PM_CODE: u32 = 0x10000;

pub fn flat32(f: impl FnOnce(&mut CodeAssembler)) -> (Cpu, FlatBus) {
    let mut a = CodeAssembler::new(32).unwrap();
    f(&mut a);
    a.hlt().unwrap();
    let code = a.assemble(PM_CODE as u64).unwrap();
    let mut bus = FlatBus::new();
    bus.load(PM_CODE, &code);
    let mut cpu = Cpu::new();
    cpu.enter_flat_protected_mode(0x08, 0x10, 0);
    cpu.eip = PM_CODE;
    cpu.regs[cpu::ESP] = 0x80000;
    (cpu, bus)
}

/// Runs until HLT (panics in the test if it does not halt within `limit` instructions).
pub fn run(cpu: &mut Cpu, bus: &mut FlatBus, limit: u64) {
    let stop = cpu.run(bus, limit);
    assert_eq!(stop, Stop::Halt, "did not halt; eip={:#x}", cpu.eip);
}

/// Runs the program `build` makes in `run` calls of 1, 2, … `max` instructions each,
/// until HLT, and asserts each run ends like `one` (the same program run in one call):
/// the same count, EIP, registers and EFLAGS.
pub fn assert_slices_end_alike(build: impl Fn() -> (Cpu, FlatBus), one: &Cpu, max: u64) {
    for slice in 1..=max {
        let (mut cpu, mut bus) = build();
        let mut halted = false;
        for _ in 0..100_000 {
            match cpu.run(&mut bus, slice) {
                Stop::Budget => {}
                Stop::Halt => {
                    halted = true;
                    break;
                }
                s => panic!("slice {slice}: unexpected stop {s:?}"),
            }
        }
        assert!(halted, "slice {slice}: no halt");
        assert_eq!(
            (cpu.icount, cpu.eip, cpu.regs, cpu.eflags),
            (one.icount, one.eip, one.regs, one.eflags),
            "slice {slice}"
        );
    }
}
