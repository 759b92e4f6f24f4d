//! Instruction-level integration tests: one test per instruction family, each running a
//! small assembled program and checking registers, memory and flags against values worked
//! out by hand from the instruction pages of the Intel SDM (Vol. 2). Flags the SDM calls
//! "undefined" for a case are masked out of the comparison.

mod common;

use common::*;
use cpu::{
    Cpu, AC, AF, CF, DF, EAX, EBP, EBX, ECX, EDI, EDX, ESI, ESP, IF, OF, PF, SF, STATUS, TF, ZF,
};
use iced_x86::code_asm::*;
use iced_x86::BlockEncoderOptions;

type Asm = CodeAssembler;
type R = Result<(), IcedError>;

/// Instruction budget for every program (they all end in HLT long before this).
const LIMIT: u64 = 100_000;
/// Scratch data in flat 32-bit mode.
const DATA: u32 = 0x40000;
/// Linear base of DS = ES = SS = 0x2000 in the real-mode setup.
const RDATA: u32 = 0x20000;
/// Segment holding real-mode interrupt handlers (vector v at offset v * 0x40).
const HSEG: u16 = 0x0800;
/// Segment holding far-call targets in real mode.
const FAR_SEG: u16 = 0x0C00;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Assembles `f` (plus a final HLT) at `ip` and returns the bytes and the addresses of the
/// labels `f` returns.
fn assemble(
    bits: u32,
    ip: u32,
    f: impl FnOnce(&mut Asm) -> Result<Vec<CodeLabel>, IcedError>,
) -> (Vec<u8>, Vec<u32>) {
    let mut a = Asm::new(bits).unwrap();
    let labels = f(&mut a).unwrap();
    a.hlt().unwrap();
    let res = a
        .assemble_options(
            ip as u64,
            BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS,
        )
        .unwrap();
    let ips = labels
        .iter()
        .map(|l| res.label_ip(l).unwrap() as u32)
        .collect();
    (res.inner.code_buffer, ips)
}

/// Runs `f` in real mode (bits = 16, code at 1000:0000) or flat 32-bit protected mode
/// (bits = 32, code at 0x10000) after `init` has adjusted the CPU and memory; returns the
/// final state and the label addresses (offsets in CS).
fn go_labels(
    bits: u32,
    init: impl FnOnce(&mut Cpu, &mut FlatBus),
    f: impl FnOnce(&mut Asm) -> Result<Vec<CodeLabel>, IcedError>,
) -> (Cpu, FlatBus, Vec<u32>) {
    let (mut cpu, mut bus, ips) = prepare(bits, f);
    init(&mut cpu, &mut bus);
    run(&mut cpu, &mut bus, LIMIT);
    (cpu, bus, ips)
}

/// Like [`go_labels`] but does not run: the caller can use the label addresses to set up
/// memory first.
fn prepare(
    bits: u32,
    f: impl FnOnce(&mut Asm) -> Result<Vec<CodeLabel>, IcedError>,
) -> (Cpu, FlatBus, Vec<u32>) {
    let (cpu, mut bus, load_at, ip) = if bits == 16 {
        let (c, b) = real_mode(|_| {});
        (c, b, REAL_CODE, 0)
    } else {
        let (c, b) = flat32(|_| {});
        (c, b, PM_CODE, PM_CODE)
    };
    let (code, ips) = assemble(bits, ip, f);
    bus.load(load_at, &code);
    (cpu, bus, ips)
}

fn go16(
    init: impl FnOnce(&mut Cpu, &mut FlatBus),
    f: impl FnOnce(&mut Asm) -> R,
) -> (Cpu, FlatBus) {
    let (c, b, _) = go_labels(16, init, |a| f(a).map(|()| Vec::new()));
    (c, b)
}

fn go32(
    init: impl FnOnce(&mut Cpu, &mut FlatBus),
    f: impl FnOnce(&mut Asm) -> R,
) -> (Cpu, FlatBus) {
    let (c, b, _) = go_labels(32, init, |a| f(a).map(|()| Vec::new()));
    (c, b)
}

fn none(_: &mut Cpu, _: &mut FlatBus) {}

fn set(c: &mut Cpu, regs: &[(usize, u32)]) {
    for &(r, v) in regs {
        c.regs[r] = v;
    }
}

/// Runs `f` in flat 32-bit mode with EAX = `x`, EBX = `y` and the status flags `flags`;
/// returns EAX and the status flags afterwards.
fn alu(flags: u32, x: u32, y: u32, f: impl FnOnce(&mut Asm) -> R) -> (u32, u32) {
    let (c, _) = go32(
        |c, _| {
            c.eflags = 2 | flags;
            c.regs[EAX] = x;
            c.regs[EBX] = y;
        },
        f,
    );
    (c.regs[EAX], c.eflags & STATUS)
}

/// Assembles 16-bit code for `seg:off` and loads it there.
fn load16(bus: &mut FlatBus, seg: u16, off: u16, f: impl FnOnce(&mut Asm) -> R) {
    let mut a = Asm::new(16).unwrap();
    f(&mut a).unwrap();
    let code = a.assemble(off as u64).unwrap();
    bus.load(seg as u32 * 16 + off as u32, &code);
}

/// Installs a real-mode handler for `vector` at HSEG:vector*0x40 and points the IVT entry
/// (offset word, then segment word, at linear vector*4) at it.
fn install(bus: &mut FlatBus, vector: u8, f: impl FnOnce(&mut Asm) -> R) {
    let off = vector as u16 * 0x40;
    let mut a = Asm::new(16).unwrap();
    f(&mut a).unwrap();
    let code = a.assemble(off as u64).unwrap();
    assert!(code.len() <= 0x40, "handler too long");
    bus.load(HSEG as u32 * 16 + off as u32, &code);
    bus.load(vector as u32 * 4, &off.to_le_bytes());
    bus.load(vector as u32 * 4 + 2, &HSEG.to_le_bytes());
}

/// Runs real-mode code in which the instruction at the label `f` sets must raise exception
/// `vector`. Every vector 0–31 gets a handler that records itself in DI (0xEE00 | vector)
/// and halts; the expected one also sets BX = 0xDEAD. Checks the frame the real-mode
/// delivery pushes (SDM Vol. 3A §20.1.4: FLAGS, CS, IP; a fault's IP is that of the
/// faulting instruction) and returns the final state.
fn expect_fault16(
    vector: u8,
    init: impl FnOnce(&mut Cpu, &mut FlatBus),
    f: impl FnOnce(&mut Asm, &mut CodeLabel) -> R,
) -> (Cpu, FlatBus) {
    let (cpu, bus, ips) = go_labels(
        16,
        |c, b| {
            for v in 0..32u8 {
                install(b, v, |a| {
                    a.mov(di, 0xEE00u32 | v as u32)?;
                    if v == vector {
                        a.mov(bx, 0xDEADu32)?;
                    }
                    a.hlt()
                });
            }
            init(c, b);
        },
        |a| {
            let mut l = a.create_label();
            f(a, &mut l)?;
            Ok(vec![l])
        },
    );
    assert_eq!(
        cpu.regs[EDI] & 0xFFFF,
        0xEE00 | vector as u32,
        "vector delivered (0xEE00|v)"
    );
    assert_eq!(cpu.regs[EBX] & 0xFFFF, 0xDEAD);
    assert_eq!(cpu.seg[cpu::CS].selector, HSEG);
    // SP 0xFFFE − 6 bytes (FLAGS, CS, IP).
    assert_eq!(cpu.regs[ESP] & 0xFFFF, 0xFFF8);
    assert_eq!(
        bus.r16(RDATA + 0xFFF8) as u32,
        ips[0],
        "pushed IP = faulting instruction"
    );
    assert_eq!(bus.r16(RDATA + 0xFFFA), 0x1000, "pushed CS");
    (cpu, bus)
}

// ---------------------------------------------------------------------------------------
// Arithmetic flags
// ---------------------------------------------------------------------------------------

#[test]
fn add_flags() {
    // 0x7F + 0x01 = 0x80: pos + pos = neg → OF; F+1 carries out of bit 3 → AF; SF;
    // 0x80 has one bit set → PF = 0.
    assert_eq!(alu(0, 0x7F, 0x01, |a| a.add(al, bl)), (0x80, OF | AF | SF));
    // 0xFF + 0x01 = 0x100: CF, AF, ZF, PF (zero has even parity); OF = 0 (neg + pos).
    assert_eq!(
        alu(0, 0xFF, 0x01, |a| a.add(al, bl)),
        (0x00, CF | AF | ZF | PF)
    );
    // 0x80 + 0x80 = 0x100: neg + neg = pos → OF, CF; nibbles 0+0 → AF = 0.
    assert_eq!(
        alu(0, 0x80, 0x80, |a| a.add(al, bl)),
        (0x00, CF | OF | ZF | PF)
    );
    // The byte form leaves bits 8–31 of EAX alone.
    assert_eq!(
        alu(0, 0x1234_56FF, 0x01, |a| a.add(al, bl)),
        (0x1234_5600, CF | AF | ZF | PF)
    );
    // 0x1234 + 0x4321 = 0x5555: 4+1 no nibble carry; low byte 0x55 has 4 bits → PF.
    assert_eq!(alu(0, 0x1234, 0x4321, |a| a.add(ax, bx)), (0x5555, PF));
    // 0xFFFFFFFF + 0xFFFFFFFF = 0x1_FFFFFFFE: CF, F+F → AF, SF; OF = 0 (neg + neg = neg);
    // low byte 0xFE has 7 bits → PF = 0.
    assert_eq!(
        alu(0, 0xFFFF_FFFF, 0xFFFF_FFFF, |a| a.add(eax, ebx)),
        (0xFFFF_FFFE, CF | AF | SF)
    );
    // 0x7FFFFFFF + 1 = 0x80000000: OF, SF, AF; PF looks only at the low byte (0x00) → 1.
    assert_eq!(
        alu(0, 0x7FFF_FFFF, 1, |a| a.add(eax, ebx)),
        (0x8000_0000, OF | SF | AF | PF)
    );
    // Every status flag is rewritten: 1 + 2 = 3 (two bits → PF) clears the others.
    assert_eq!(alu(STATUS, 1, 2, |a| a.add(al, bl)), (3, PF));
    // Memory destination with a sign-extended immediate: 0xFFFF + 1 → 0, CF AF ZF PF.
    let (c, b) = go32(
        |_, b| b.load(DATA, &[0xFF, 0xFF, 0x55]),
        |a| a.add(word_ptr(DATA), 1i32),
    );
    assert_eq!(&b.mem[DATA as usize..DATA as usize + 3], &[0, 0, 0x55]);
    assert_eq!(c.eflags & STATUS, CF | AF | ZF | PF);
}

#[test]
fn adc_flags() {
    // 0xFF + 0x00 + 1 = 0x100 → 0, CF; F+0+1 = 0x10 → AF; OF = 0.
    assert_eq!(
        alu(CF, 0xFF, 0x00, |a| a.adc(al, bl)),
        (0x00, CF | AF | ZF | PF)
    );
    // 0x7F + 0 + 1 = 0x80: OF, SF, AF; PF = 0.
    assert_eq!(alu(CF, 0x7F, 0x00, |a| a.adc(al, bl)), (0x80, OF | AF | SF));
    // With CF = 0 ADC is ADD: 1 + 2 = 3 → PF.
    assert_eq!(alu(0, 1, 2, |a| a.adc(eax, ebx)), (3, PF));
    // 0x00 + 0xFF + 1 = 0x100: the carry-in makes the addend overflow its width; CF = 1,
    // signed 0 + (−1) + 1 = 0 → OF = 0; F+1 → AF.
    assert_eq!(
        alu(CF, 0x00, 0xFF, |a| a.adc(al, bl)),
        (0x00, CF | AF | ZF | PF)
    );
    // 0x7F + 0xFF + 1 = 0x17F: CF; signed 127 − 1 + 1 = 127 → OF = 0; F+F+1 = 0x1F → AF;
    // 0x7F has 7 bits → PF = 0.
    assert_eq!(alu(CF, 0x7F, 0xFF, |a| a.adc(al, bl)), (0x7F, CF | AF));
    // 0x7F + 0x7F + 1 = 0xFF: signed 255 does not fit → OF; SF; AF; 8 bits → PF.
    assert_eq!(
        alu(CF, 0x7F, 0x7F, |a| a.adc(al, bl)),
        (0xFF, OF | SF | AF | PF)
    );
    // 0x8000 + 0x7FFF + 1 = 0x10000: CF, ZF; signed −32768 + 32767 + 1 = 0 → OF = 0.
    assert_eq!(
        alu(CF, 0x8000, 0x7FFF, |a| a.adc(ax, bx)),
        (0x0000, CF | AF | ZF | PF)
    );
    // 0xFFFFFFFF + 0xFFFFFFFF + 1 = 0x1_FFFFFFFF: CF, SF, AF, PF (low byte 0xFF).
    assert_eq!(
        alu(CF, 0xFFFF_FFFF, 0xFFFF_FFFF, |a| a.adc(eax, ebx)),
        (0xFFFF_FFFF, CF | AF | SF | PF)
    );
}

#[test]
fn sub_flags() {
    // 0x80 − 1 = 0x7F: neg − pos = pos → OF; 0−1 borrows from bit 4 → AF; 7 bits → PF = 0.
    assert_eq!(alu(0, 0x80, 0x01, |a| a.sub(al, bl)), (0x7F, OF | AF));
    // 0 − 1 = 0xFF: CF (borrow), AF, SF, PF (8 bits).
    assert_eq!(
        alu(0, 0x00, 0x01, |a| a.sub(al, bl)),
        (0xFF, CF | AF | SF | PF)
    );
    // Equal operands: ZF, PF only.
    assert_eq!(alu(STATUS, 0x1234, 0x1234, |a| a.sub(ax, bx)), (0, ZF | PF));
    // 0x7FFFFFFF − 0xFFFFFFFF = 0x80000000 (mod 2^32): unsigned borrow → CF; pos − neg =
    // neg → OF; F−F no nibble borrow → AF = 0; SF; low byte 0 → PF.
    assert_eq!(
        alu(0, 0x7FFF_FFFF, 0xFFFF_FFFF, |a| a.sub(eax, ebx)),
        (0x8000_0000, CF | OF | SF | PF)
    );
    // 0x10 − 1 = 0x0F: only a nibble borrow → AF; 4 bits → PF.
    assert_eq!(alu(0, 0x10, 0x01, |a| a.sub(al, bl)), (0x0F, AF | PF));
}

#[test]
fn sbb_flags() {
    // 0 − 0 − 1 = 0xFF: CF, AF, SF, PF.
    assert_eq!(alu(CF, 0, 0, |a| a.sbb(al, bl)), (0xFF, CF | AF | SF | PF));
    // 5 − 4 − 1 = 0: ZF, PF; no borrow anywhere.
    assert_eq!(alu(CF, 5, 4, |a| a.sbb(ax, bx)), (0, ZF | PF));
    // 0x80000000 − 0 − 1 = 0x7FFFFFFF: OF (neg − pos = pos), AF; low byte 0xFF → PF.
    assert_eq!(
        alu(CF, 0x8000_0000, 0, |a| a.sbb(eax, ebx)),
        (0x7FFF_FFFF, OF | AF | PF)
    );
    // CF = 0: 1 − 0xFF = 2 (mod 256): borrow → CF; signed 1 − (−1) = 2 → OF = 0; 1−F → AF;
    // one bit → PF = 0.
    assert_eq!(alu(0, 0x01, 0xFF, |a| a.sbb(al, bl)), (0x02, CF | AF));
    // 0 − 0xFF − 1 = −256 → 0x00: the borrow-in makes the subtrahend exceed the width; CF = 1;
    // signed 0 − (−1) − 1 = 0 → OF = 0; AF.
    assert_eq!(
        alu(CF, 0x00, 0xFF, |a| a.sbb(al, bl)),
        (0x00, CF | AF | ZF | PF)
    );
    // 0x7F − 0xFF − 1: unsigned borrow → CF; signed 127 + 1 − 1 = 127 → OF = 0; F−F−1 → AF.
    assert_eq!(alu(CF, 0x7F, 0xFF, |a| a.sbb(al, bl)), (0x7F, CF | AF));
    // 0x80 − 0x7F − 1 = 0: no unsigned borrow (128 = 127 + 1); signed −128 − 127 − 1 = −256
    // does not fit → OF; 0−F−1 → AF.
    assert_eq!(
        alu(CF, 0x80, 0x7F, |a| a.sbb(al, bl)),
        (0x00, OF | AF | ZF | PF)
    );
}

#[test]
fn cmp_flags() {
    // 5 − 7 = 0xFFFFFFFE: CF, SF, AF (5−7 nibble borrow); 0xFE has 7 bits → PF = 0.
    // The destination is not written.
    assert_eq!(alu(0, 5, 7, |a| a.cmp(eax, ebx)), (5, CF | SF | AF));
    // 0x80 − 0x7F = 0x01: OF (neg − pos = pos), AF; PF = 0.
    assert_eq!(alu(0, 0x80, 0x7F, |a| a.cmp(al, bl)), (0x80, OF | AF));
    assert_eq!(alu(0, 0x42, 0x42, |a| a.cmp(al, bl)), (0x42, ZF | PF));
    // The imm8 form sign-extends: CMP EAX, −1 with EAX = 0xFFFFFFFF is equal.
    assert_eq!(
        alu(0, 0xFFFF_FFFF, 0, |a| a.cmp(eax, -1i32)),
        (0xFFFF_FFFF, ZF | PF)
    );
}

#[test]
fn logic_ops_clear_cf_and_of() {
    // AF is undefined after AND/OR/XOR/TEST: compare the other five flags.
    let m = CF | OF | SF | ZF | PF;
    let (r, f) = alu(CF | OF, 0xF0F0, 0x0FF0, |a| a.and(ax, bx));
    assert_eq!((r, f & m), (0x00F0, PF)); // 0xF0: 4 bits → PF
    let (r, f) = alu(CF | OF, 0x80, 0x01, |a| a.or(al, bl));
    assert_eq!((r, f & m), (0x81, SF | PF)); // 0x81: 2 bits → PF
    let (r, f) = alu(CF | OF, 0x1234_5678, 0, |a| a.xor(eax, eax));
    assert_eq!((r, f & m), (0, ZF | PF));
    let (r, f) = alu(CF | OF, 0x5A, 0xFF, |a| a.xor(al, bl));
    assert_eq!((r, f & m), (0xA5, SF | PF)); // 0xA5: 4 bits → PF
                                             // TEST does not write: 0x80000000 & 0x80000001 = 0x80000000 → SF, PF (low byte 0).
    let (r, f) = alu(CF | OF, 0x8000_0000, 0x8000_0001, |a| a.test(eax, ebx));
    assert_eq!((r, f & m), (0x8000_0000, SF | PF));
    let (r, f) = alu(CF | OF, 0x0F, 0, |a| a.test(al, 0xF0u32));
    assert_eq!((r, f & m), (0x0F, ZF | PF));
}

#[test]
fn inc_dec_keep_cf() {
    // INC/DEC set OF SF ZF AF PF like ADD/SUB 1 but leave CF.
    assert_eq!(alu(CF, 0xFF, 0, |a| a.inc(al)), (0x00, CF | ZF | AF | PF));
    assert_eq!(
        alu(0, 0x7FFF_FFFF, 0, |a| a.inc(eax)),
        (0x8000_0000, OF | SF | AF | PF)
    );
    // 0x8000 − 1 = 0x7FFF: OF, AF; low byte 0xFF → PF; CF kept.
    assert_eq!(
        alu(CF, 0x8000, 0, |a| a.dec(ax)),
        (0x7FFF, CF | OF | AF | PF)
    );
    // 0 − 1 = 0xFFFFFFFF would borrow, but DEC does not touch CF.
    assert_eq!(alu(0, 0, 0, |a| a.dec(eax)), (0xFFFF_FFFF, SF | AF | PF));
    // Memory operand: 0x0F + 1 = 0x10 (AF; one bit → PF = 0), CF kept.
    let (c, b) = go32(
        |c, b| {
            c.eflags |= CF;
            b.load(DATA, &[0x0F]);
        },
        |a| a.inc(byte_ptr(DATA)),
    );
    assert_eq!(b.mem[DATA as usize], 0x10);
    assert_eq!(c.eflags & STATUS, CF | AF);
}

#[test]
fn neg_sets_cf_for_nonzero() {
    // NEG: CF = (operand ≠ 0); other flags as for 0 − operand.
    assert_eq!(alu(CF, 0, 0, |a| a.neg(al)), (0, ZF | PF));
    // −(−128) = −128: overflow → OF; CF; SF; 0x80 → PF = 0.
    assert_eq!(alu(0, 0x80, 0, |a| a.neg(al)), (0x80, CF | OF | SF));
    // −1 = 0xFFFFFFFF: 0−1 nibble borrow → AF; PF (0xFF).
    assert_eq!(
        alu(0, 1, 0, |a| a.neg(eax)),
        (0xFFFF_FFFF, CF | SF | AF | PF)
    );
    // −0x10 = 0xFFF0: low nibble 0−0 → AF = 0; 0xF0 → PF.
    assert_eq!(alu(0, 0x0010, 0, |a| a.neg(ax)), (0xFFF0, CF | SF | PF));
    // NOT changes no flags.
    assert_eq!(alu(CF | ZF, 0x0F, 0, |a| a.not(al)), (0xF0, CF | ZF));
}

// ---------------------------------------------------------------------------------------
// Multiply and divide
// ---------------------------------------------------------------------------------------

/// Runs `f` in flat 32-bit mode with the given registers; returns the CPU.
fn regs32(init: &[(usize, u32)], f: impl FnOnce(&mut Asm) -> R) -> Cpu {
    go32(|c, _| set(c, init), f).0
}

#[test]
fn mul_one_operand() {
    // SF ZF AF PF are undefined after MUL; CF = OF = (upper half ≠ 0).
    let m = CF | OF;
    let c = regs32(&[(EAX, 0x80), (EBX, 2)], |a| a.mul(bl));
    assert_eq!((c.regs[EAX], c.eflags & m), (0x0100, CF | OF));
    let c = regs32(&[(EAX, 0x0F), (EBX, 0x0F)], |a| a.mul(bl));
    assert_eq!((c.regs[EAX], c.eflags & m), (0x00E1, 0)); // 15 × 15 = 225
                                                          // 0x1234 × 0x0100 = 0x00123400 → DX = 0x0012, AX = 0x3400; upper halves untouched.
    let c = regs32(
        &[(EAX, 0xAAAA_1234), (EDX, 0xBBBB_FFFF), (EBX, 0x0100)],
        |a| a.mul(bx),
    );
    assert_eq!((c.regs[EAX], c.regs[EDX]), (0xAAAA_3400, 0xBBBB_0012));
    assert_eq!(c.eflags & m, CF | OF);
    // (2^32 − 1)^2 = 0xFFFFFFFE_00000001.
    let c = regs32(&[(EAX, 0xFFFF_FFFF), (EBX, 0xFFFF_FFFF)], |a| a.mul(ebx));
    assert_eq!(
        (c.regs[EDX], c.regs[EAX], c.eflags & m),
        (0xFFFF_FFFE, 1, CF | OF)
    );
    // 0x10000 × 0x10 = 0x100000: EDX is written with 0, CF = OF = 0.
    let c = regs32(&[(EAX, 0x10000), (EBX, 0x10), (EDX, 0x5555)], |a| {
        a.mul(ebx)
    });
    assert_eq!(
        (c.regs[EDX], c.regs[EAX], c.eflags & m),
        (0, 0x0010_0000, 0)
    );
    // Memory source: 3 × 0x55555556 = 0x1_00000002.
    let (c, _) = go32(
        |c, b| {
            c.regs[EAX] = 0x5555_5556;
            b.load(DATA, &3u32.to_le_bytes());
        },
        |a| a.mul(dword_ptr(DATA)),
    );
    assert_eq!((c.regs[EDX], c.regs[EAX], c.eflags & m), (1, 2, CF | OF));
}

#[test]
fn imul_one_two_three_operands() {
    // CF = OF = (the full product ≠ the sign extension of its truncated result).
    let m = CF | OF;
    // (−1) × (−128) = 128 = 0x0080; AL = 0x80 sign-extends to 0xFF80 ≠ 0x0080 → CF OF.
    let c = regs32(&[(EAX, 0xFF), (EBX, 0x80)], |a| a.imul(bl));
    assert_eq!((c.regs[EAX], c.eflags & m), (0x0080, CF | OF));
    // (−2) × 3 = −6 = 0xFFFA: fits in AL → CF = OF = 0.
    let c = regs32(&[(EAX, 0xFE), (EBX, 3)], |a| a.imul(bl));
    assert_eq!((c.regs[EAX], c.eflags & m), (0xFFFA, 0));
    // (−1) × (−1) = 1: DX:AX = 0000:0001, upper halves of EAX/EDX untouched.
    let c = regs32(&[(EAX, 0xFFFF), (EBX, 0xFFFF), (EDX, 0xFFFF_FFFF)], |a| {
        a.imul(bx)
    });
    assert_eq!(
        (c.regs[EDX], c.regs[EAX], c.eflags & m),
        (0xFFFF_0000, 1, 0)
    );
    // (−2) × 2^30 = −2^31 = 0xFFFFFFFF_80000000: fits in 32 bits → no overflow.
    let c = regs32(&[(EAX, 0xFFFF_FFFE), (EBX, 0x4000_0000)], |a| a.imul(ebx));
    assert_eq!(
        (c.regs[EDX], c.regs[EAX], c.eflags & m),
        (0xFFFF_FFFF, 0x8000_0000, 0)
    );
    // 2^30 × 2 = +2^31 does not fit in a signed dword → CF OF, EDX = 0.
    let c = regs32(&[(EAX, 0x4000_0000), (EBX, 2)], |a| a.imul(ebx));
    assert_eq!(
        (c.regs[EDX], c.regs[EAX], c.eflags & m),
        (0, 0x8000_0000, CF | OF)
    );

    // Two operands: (−3) × 7 = −21 = 0xFFFFFFEB; EDX is not involved.
    let c = regs32(&[(EAX, 0xFFFF_FFFD), (EBX, 7), (EDX, 0x1234_5678)], |a| {
        a.imul_2(eax, ebx)
    });
    assert_eq!(
        (c.regs[EAX], c.regs[EDX], c.eflags & m),
        (0xFFFF_FFEB, 0x1234_5678, 0)
    );
    // 0x4000 × 2 = 0x8000 = +32768 does not fit in a signed word → CF OF; EAX[31:16] kept.
    let c = regs32(&[(EAX, 0x1111_4000), (EBX, 2)], |a| a.imul_2(ax, bx));
    assert_eq!((c.regs[EAX], c.eflags & m), (0x1111_8000, CF | OF));
    // 0x10000 × 0x10000 = 2^32 truncates to 0 → CF OF.
    let (c, _) = go32(
        |c, b| {
            c.regs[ECX] = 0x10000;
            b.load(DATA, &0x10000u32.to_le_bytes());
        },
        |a| a.imul_2(ecx, dword_ptr(DATA)),
    );
    assert_eq!((c.regs[ECX], c.eflags & m), (0, CF | OF));

    // Three operands: 100 × (−5) = −500 = 0xFFFFFE0C (500 = 0x1F4).
    let c = regs32(&[(EBX, 100)], |a| a.imul_3(ecx, ebx, -5i32));
    assert_eq!(
        (c.regs[ECX], c.regs[EBX], c.eflags & m),
        (0xFFFF_FE0C, 100, 0)
    );
    // 2 × 0x7FFFFFFF = 0xFFFFFFFE: +4294967294 does not fit → CF OF.
    let c = regs32(&[(EBX, 2)], |a| a.imul_3(edx, ebx, 0x7FFF_FFFFi32));
    assert_eq!((c.regs[EDX], c.eflags & m), (0xFFFF_FFFE, CF | OF));
    // 0x0123 × 0x100 = 0x12300 → CX = 0x2300, overflow.
    let (c, _) = go32(
        |_, b| b.load(DATA, &0x0123u16.to_le_bytes()),
        |a| a.imul_3(cx, word_ptr(DATA), 0x100i32),
    );
    assert_eq!((c.regs[ECX], c.eflags & m), (0x2300, CF | OF));
}

#[test]
fn div_idiv_results() {
    // DIV r/m8: AX / src → AL = quotient, AH = remainder. 256 / 7 = 36 r 4.
    let c = regs32(&[(EAX, 0x0100), (EBX, 7)], |a| a.div(bl));
    assert_eq!(c.regs[EAX], 0x0424);
    // DIV r/m16: DX:AX = 0x10000 / 3 = 21845 (0x5555) r 1.
    let c = regs32(&[(EDX, 1), (EAX, 0), (EBX, 3)], |a| a.div(bx));
    assert_eq!((c.regs[EAX], c.regs[EDX]), (0x5555, 1));
    // DIV r/m32: 0x1_00000005 / 0x10 = 0x10000000 r 5.
    let c = regs32(&[(EDX, 1), (EAX, 5), (EBX, 0x10)], |a| a.div(ebx));
    assert_eq!((c.regs[EAX], c.regs[EDX]), (0x1000_0000, 5));
    // Memory divisor: 255 / 10 = 25 (0x19) r 5.
    let (c, _) = go32(
        |c, b| {
            c.regs[EAX] = 255;
            b.load(DATA, &[10]);
        },
        |a| a.div(byte_ptr(DATA)),
    );
    assert_eq!(c.regs[EAX], 0x0519);
    // IDIV truncates toward zero and the remainder takes the dividend's sign:
    // −7 / 2 = −3 (0xFD) r −1 (0xFF).
    let c = regs32(&[(EAX, 0xFFF9), (EBX, 2)], |a| a.idiv(bl));
    assert_eq!(c.regs[EAX], 0xFFFD);
    // −128 / 1 = −128 is the most negative quotient that still fits: no #DE.
    let c = regs32(&[(EAX, 0xFF80), (EBX, 1)], |a| a.idiv(bl));
    assert_eq!(c.regs[EAX], 0x0080);
    // 1000 / (−3) = −333 (0xFEB3, since 333 = 0x14D) r 1.
    let c = regs32(&[(EDX, 0), (EAX, 1000), (ECX, 0xFFFD)], |a| a.idiv(cx));
    assert_eq!((c.regs[EAX], c.regs[EDX]), (0xFEB3, 1));
    // −100 / −7 = 14 r −2 (14 × −7 = −98).
    let c = regs32(
        &[(EDX, 0xFFFF_FFFF), (EAX, 0xFFFF_FF9C), (EBX, 0xFFFF_FFF9)],
        |a| a.idiv(ebx),
    );
    assert_eq!((c.regs[EAX], c.regs[EDX]), (14, 0xFFFF_FFFE));
}

#[test]
fn divide_errors_raise_de() {
    // Division by zero: #DE, a fault, so the pushed IP is the DIV and AX is unchanged.
    let (c, _) = expect_fault16(0, none, |a, l| {
        a.mov(ax, 100u32)?;
        a.mov(bl, 0u32)?;
        a.set_label(l)?;
        a.div(bl)
    });
    assert_eq!(c.regs[EAX] & 0xFFFF, 100);
    // Quotient too large: 0x1000 / 0x10 = 0x100 > 0xFF.
    let (c, _) = expect_fault16(0, none, |a, l| {
        a.mov(ax, 0x1000u32)?;
        a.mov(bl, 0x10u32)?;
        a.set_label(l)?;
        a.div(bl)
    });
    assert_eq!(c.regs[EAX] & 0xFFFF, 0x1000);
    // Signed quotient too large: −32768 / −1 = +32768 > 127.
    expect_fault16(0, none, |a, l| {
        a.mov(ax, 0x8000u32)?;
        a.mov(bl, 0xFFu32)?;
        a.set_label(l)?;
        a.idiv(bl)
    });
    // 32-bit (0x66) DIV in real mode: 0x1_00000000 / 1 does not fit in EAX.
    expect_fault16(0, none, |a, l| {
        a.mov(edx, 1u32)?;
        a.xor(eax, eax)?;
        a.mov(ecx, 1u32)?;
        a.set_label(l)?;
        a.div(ecx)
    });
}

#[test]
fn aam_zero_raises_de() {
    let (c, _) = expect_fault16(0, none, |a, l| {
        a.mov(ax, 0x0037u32)?;
        a.set_label(l)?;
        a.aam(0u32)
    });
    assert_eq!(c.regs[EAX] & 0xFFFF, 0x0037);
}

// ---------------------------------------------------------------------------------------
// Shifts and rotates
// ---------------------------------------------------------------------------------------

#[test]
fn shl_sal() {
    let m = CF | OF | SF | ZF | PF; // AF is undefined for shifts
                                    // 0x81 << 1 = 0x02: CF = old bit 7 = 1; OF = MSB(result) ^ CF = 0 ^ 1 = 1.
    let (r, f) = alu(0, 0x81, 0, |a| a.shl(al, 1i32));
    assert_eq!((r, f & m), (0x02, CF | OF));
    // 0x40 << 1 = 0x80: CF = 0, OF = 1 ^ 0 = 1, SF; one bit → PF = 0.
    let (r, f) = alu(0, 0x40, 0, |a| a.sal(al, 1i32));
    assert_eq!((r, f & m), (0x80, OF | SF));
    // 0x1234 << 4 = 0x2340, CF = bit 12 of 0x1234 = 1; 0x40 → PF = 0 (OF undefined).
    let (r, f) = alu(0, 0x1234, 0, |a| a.shl(ax, 4i32));
    assert_eq!((r, f & (CF | SF | ZF | PF)), (0x2340, CF));
    // Count 9 > 8-bit width: everything is shifted out (CF undefined when count ≥ width).
    let (r, f) = alu(CF, 0xFF, 0, |a| {
        a.mov(cl, 9u32)?;
        a.shl(al, cl)
    });
    assert_eq!((r, f & (SF | ZF | PF)), (0x00, ZF | PF));
    // Count 33 is masked to 1: 0x80000001 → 0x00000002, CF = 1, OF = 0 ^ 1 = 1.
    let (r, f) = alu(0, 0x8000_0001, 0, |a| {
        a.mov(cl, 33u32)?;
        a.shl(eax, cl)
    });
    assert_eq!((r, f & m), (0x0000_0002, CF | OF));
    // Count 32 masks to 0: neither the operand nor any flag changes.
    let (r, f) = alu(CF | ZF | AF, 0x1234_5678, 0, |a| {
        a.mov(cl, 32u32)?;
        a.shl(eax, cl)
    });
    assert_eq!((r, f), (0x1234_5678, CF | ZF | AF));
    // The mask is 5 bits even for byte operands: count 32 on AL also does nothing.
    let (r, f) = alu(OF | SF, 0x01, 0, |a| {
        a.mov(cl, 32u32)?;
        a.shl(al, cl)
    });
    assert_eq!((r, f), (0x01, OF | SF));
}

#[test]
fn shr() {
    let m = CF | OF | SF | ZF | PF;
    // 0x81 >> 1 = 0x40: CF = 1; OF = MSB of the original operand = 1.
    let (r, f) = alu(0, 0x81, 0, |a| a.shr(al, 1i32));
    assert_eq!((r, f & m), (0x40, CF | OF));
    // 0x1234 >> 4 = 0x0123: CF = bit 3 of 0x1234 = 0; 0x23 has 3 bits → PF = 0.
    let (r, f) = alu(0, 0x1234, 0, |a| {
        a.mov(cl, 4u32)?;
        a.shr(ax, cl)
    });
    assert_eq!((r, f & (CF | SF | ZF | PF)), (0x0123, 0));
    // Count 0x21 masks to 1: 3 >> 1 = 1, CF = 1, OF = MSB(original) = 0.
    let (r, f) = alu(0, 3, 0, |a| {
        a.mov(cl, 0x21u32)?;
        a.shr(eax, cl)
    });
    assert_eq!((r, f & m), (1, CF));
    // Count 31: 0x80000000 → 1, CF = bit 30 = 0.
    let (r, f) = alu(CF, 0x8000_0000, 0, |a| {
        a.mov(cl, 31u32)?;
        a.shr(eax, cl)
    });
    assert_eq!((r, f & (CF | SF | ZF | PF)), (1, 0));
    // Count 8 on a byte (≥ width): result 0 (CF undefined).
    let (r, f) = alu(0, 0xFF, 0, |a| {
        a.mov(cl, 8u32)?;
        a.shr(al, cl)
    });
    assert_eq!((r, f & (SF | ZF | PF)), (0, ZF | PF));
    // Count 32 masks to 0: nothing changes.
    let (r, f) = alu(CF | PF, 0x8000_0000, 0, |a| {
        a.mov(cl, 32u32)?;
        a.shr(eax, cl)
    });
    assert_eq!((r, f), (0x8000_0000, CF | PF));
}

#[test]
fn sar() {
    let m = CF | OF | SF | ZF | PF;
    // 0x81 SAR 1 = 0xC0: CF = 1, OF = 0 for SAR 1; SF; 0xC0 two bits → PF.
    let (r, f) = alu(OF, 0x81, 0, |a| a.sar(al, 1i32));
    assert_eq!((r, f & m), (0xC0, CF | SF | PF));
    // Count 9 > width: the sign fills the byte; the last bit out is the sign → CF = 1.
    let (r, f) = alu(0, 0x80, 0, |a| {
        a.mov(cl, 9u32)?;
        a.sar(al, cl)
    });
    assert_eq!((r, f & (CF | SF | ZF | PF)), (0xFF, CF | SF | PF));
    // Same for a positive byte: all zero, CF = 0.
    let (r, f) = alu(CF, 0x7F, 0, |a| {
        a.mov(cl, 9u32)?;
        a.sar(al, cl)
    });
    assert_eq!((r, f & (CF | SF | ZF | PF)), (0x00, ZF | PF));
    // Count 36 masks to 4: 0x87654321 → 0xF8765432, CF = bit 3 of 0x...21 = 0;
    // 0x32 has 3 bits → PF = 0.
    let (r, f) = alu(0, 0x8765_4321, 0, |a| {
        a.mov(cl, 36u32)?;
        a.sar(eax, cl)
    });
    assert_eq!((r, f & (CF | SF | ZF | PF)), (0xF876_5432, SF));
    // Count 32 masks to 0: nothing changes.
    let (r, f) = alu(CF | OF, 0x8000_0000, 0, |a| {
        a.mov(cl, 32u32)?;
        a.sar(eax, cl)
    });
    assert_eq!((r, f), (0x8000_0000, CF | OF));
}

#[test]
fn rol_ror() {
    // Rotates change only CF and OF (OF defined for 1-bit rotates).
    // ROL 0x81,1 = 0x03: CF = LSB(result) = 1; OF = MSB(result) ^ CF = 0 ^ 1 = 1.
    assert_eq!(alu(0, 0x81, 0, |a| a.rol(al, 1i32)), (0x03, CF | OF));
    // ROL 0x1234,4 = 0x2341, CF = 1; ZF stays as it was.
    let (r, f) = alu(ZF, 0x1234, 0, |a| {
        a.mov(cl, 4u32)?;
        a.rol(ax, cl)
    });
    assert_eq!((r, f & !OF), (0x2341, CF | ZF));
    // Count 12 on a byte rotates by 12 mod 8 = 4: 0x1F → 0xF1, CF = LSB = 1.
    let (r, f) = alu(0, 0x1F, 0, |a| {
        a.mov(cl, 12u32)?;
        a.rol(al, cl)
    });
    assert_eq!((r, f & CF), (0xF1, CF));
    // Count 8 on a byte: rotation by 8 mod 8 = 0 leaves the value, but the masked count is
    // not 0, so CF ← LSB(DEST) = 1 (SDM ROL pseudocode).
    let (r, f) = alu(0, 0x01, 0, |a| {
        a.mov(cl, 8u32)?;
        a.rol(al, cl)
    });
    assert_eq!((r, f & CF), (0x01, CF));
    // Count 32 masks to 0: no change at all (CF would become LSB = 0 otherwise).
    let (r, f) = alu(CF | OF, 0x8000_0000, 0, |a| {
        a.mov(cl, 32u32)?;
        a.rol(eax, cl)
    });
    assert_eq!((r, f), (0x8000_0000, CF | OF));
    // ROR 0x01,1 = 0x80: CF = MSB(result) = 1; OF = MSB ^ next bit = 1 ^ 0 = 1; SF untouched.
    assert_eq!(alu(0, 0x01, 0, |a| a.ror(al, 1i32)), (0x80, CF | OF));
    // ROR 0x08 by 4 = 0x80, CF = 1.
    let (r, f) = alu(0, 0x08, 0, |a| {
        a.mov(cl, 4u32)?;
        a.ror(al, cl)
    });
    assert_eq!((r, f & CF), (0x80, CF));
    // Count 40 masks to 8: 0x12345678 → 0x78123456, CF = MSB = 0.
    let (r, f) = alu(CF, 0x1234_5678, 0, |a| {
        a.mov(cl, 40u32)?;
        a.ror(eax, cl)
    });
    assert_eq!((r, f & CF), (0x7812_3456, 0));
    // ROR by 32 (masked to 0) on a byte and a dword: no change.
    let (r, f) = alu(OF, 0x01, 0, |a| {
        a.mov(cl, 32u32)?;
        a.ror(al, cl)
    });
    assert_eq!((r, f), (0x01, OF));
    let (r, f) = alu(0, 0x0000_0001, 0, |a| {
        a.mov(cl, 32u32)?;
        a.ror(eax, cl)
    });
    assert_eq!((r, f), (0x0000_0001, 0));
}

#[test]
fn rcl_rcr() {
    // RCL 0x80,1 with CF = 1: (0x80 << 1) | 1 = 0x01, CF = old MSB = 1; OF = MSB ^ CF = 1.
    assert_eq!(alu(CF, 0x80, 0, |a| a.rcl(al, 1i32)), (0x01, CF | OF));
    // RCL 0x80000000,1 with CF = 0: 0, CF = 1, OF = 1; ZF is not affected by rotates.
    assert_eq!(alu(0, 0x8000_0000, 0, |a| a.rcl(eax, 1i32)), (0, CF | OF));
    // A byte rotates through 9 bits: count 9 is the identity, CF kept.
    let (r, f) = alu(CF, 0x5A, 0, |a| {
        a.mov(cl, 9u32)?;
        a.rcl(al, cl)
    });
    assert_eq!((r, f & CF), (0x5A, CF));
    // Count 10 ≡ 1 (mod 9): 0xA5 with CF = 0 → 0x4A, CF = 1.
    let (r, f) = alu(0, 0xA5, 0, |a| {
        a.mov(cl, 10u32)?;
        a.rcl(al, cl)
    });
    assert_eq!((r, f & CF), (0x4A, CF));
    // A word rotates through 17 bits: count 17 ≡ 0, nothing changes (CF stays 1).
    let (r, f) = alu(CF, 0x8001, 0, |a| {
        a.mov(cl, 17u32)?;
        a.rcl(ax, cl)
    });
    assert_eq!((r, f & CF), (0x8001, CF));
    // Count 32 masks to 0.
    let (r, f) = alu(CF | OF, 0x1234_5678, 0, |a| {
        a.mov(cl, 32u32)?;
        a.rcl(eax, cl)
    });
    assert_eq!((r, f), (0x1234_5678, CF | OF));
    // RCR 0x01,1 with CF = 1: 0x80, CF = 1; OF = MSB ^ next bit of the result = 1.
    assert_eq!(alu(CF, 0x01, 0, |a| a.rcr(al, 1i32)), (0x80, CF | OF));
    // RCR 0x1234 by 4, CF = 0: 17-bit 0_0001_0010_0011_0100 rotated right 4 moves 0100 to
    // the top: CF = 0, AX = 1000_0001_0010_0011 = 0x8123.
    let (r, f) = alu(0, 0x1234, 0, |a| {
        a.mov(cl, 4u32)?;
        a.rcr(ax, cl)
    });
    assert_eq!((r, f & CF), (0x8123, 0));
    // RCR byte by 12 ≡ 3 (mod 9), CF = 0, AL = 0x0F: steps 0x07/CF1, 0x83/CF1, 0xC1/CF1.
    let (r, f) = alu(0, 0x0F, 0, |a| {
        a.mov(cl, 12u32)?;
        a.rcr(al, cl)
    });
    assert_eq!((r, f & CF), (0xC1, CF));
    // RCR by 32 masks to 0 (not 32 mod 33 = 32): no change.
    let (r, f) = alu(CF, 0x1234_5678, 0, |a| {
        a.mov(cl, 32u32)?;
        a.rcr(eax, cl)
    });
    assert_eq!((r, f), (0x1234_5678, CF));
}

#[test]
fn shld_shrd() {
    let m = CF | SF | ZF | PF; // OF is only defined for 1-bit shifts, AF undefined
                               // SHLD 0x12345678, 0x9ABCDEF0, 8 = 0x3456789A; CF = bit 24 of the destination = 0;
                               // 0x9A has 4 bits → PF.
    let (r, f) = alu(0, 0x1234_5678, 0x9ABC_DEF0, |a| a.shld(eax, ebx, 8i32));
    assert_eq!((r, f & m), (0x3456_789A, PF));
    // SHRD by 4 fills from EBX's low nibble F: 0xF1234567; CF = bit 3 of 0x...78 = 1;
    // 0x67 has 5 bits → PF = 0.
    let (r, f) = alu(0, 0x1234_5678, 0x9ABC_DEFF, |a| {
        a.mov(cl, 4u32)?;
        a.shrd(eax, ebx, cl)
    });
    assert_eq!((r, f & m), (0xF123_4567, CF | SF));
    // Count 36 masks to 4: SHLD → 0x23456789, CF = bit 28 of 0x12345678 = 1;
    // 0x89 has 3 bits → PF = 0.
    let (r, f) = alu(0, 0x1234_5678, 0x9ABC_DEF0, |a| {
        a.mov(cl, 36u32)?;
        a.shld(eax, ebx, cl)
    });
    assert_eq!((r, f & m), (0x2345_6789, CF));
    // 16-bit: SHLD 0x1234, 0xABCD, 4 = 0x234A, CF = bit 12 = 1; 0x4A → 3 bits, PF = 0.
    let (r, f) = alu(0, 0x1234, 0xABCD, |a| a.shld(ax, bx, 4i32));
    assert_eq!((r, f & m), (0x234A, CF));
    // SHRD 0x1234, 0xABCD, 4 = 0xD123, CF = bit 3 = 0; 0x23 → PF = 0.
    let (r, f) = alu(0, 0x1234, 0xABCD, |a| a.shrd(ax, bx, 4i32));
    assert_eq!((r, f & m), (0xD123, SF));
    // 1-bit SHRD: 1 → 0x80000000 (bit from EBX), CF = 1, sign changed → OF.
    let (r, f) = alu(0, 1, 1, |a| a.shrd(eax, ebx, 1i32));
    assert_eq!((r, f & (m | OF)), (0x8000_0000, CF | OF | SF | PF));
    // 1-bit SHLD: 0x40000000 → 0x80000001, CF = 0, sign changed → OF; 0x01 → PF = 0.
    let (r, f) = alu(0, 0x4000_0000, 0x8000_0000, |a| a.shld(eax, ebx, 1i32));
    assert_eq!((r, f & (m | OF)), (0x8000_0001, OF | SF));
    // Count 32 masks to 0: nothing changes.
    let (r, f) = alu(CF | ZF, 0x1234_5678, 0xFFFF_FFFF, |a| {
        a.mov(cl, 32u32)?;
        a.shld(eax, ebx, cl)
    });
    assert_eq!((r, f), (0x1234_5678, CF | ZF));
}

// ---------------------------------------------------------------------------------------
// Bit instructions
// ---------------------------------------------------------------------------------------

#[test]
fn bt_bts_btr_btc_registers() {
    // Register bit base: the offset is taken modulo the operand width.
    let c = regs32(&[(EAX, 0x20)], |a| a.bt(eax, 5u32));
    assert_eq!((c.regs[EAX], c.eflags & CF), (0x20, CF));
    let c = regs32(&[(EAX, 0x20)], |a| a.bt(eax, 37u32)); // 37 mod 32 = 5
    assert_eq!(c.eflags & CF, CF);
    let c = regs32(&[(EAX, 0x20), (EBX, 37)], |a| a.bt(eax, ebx));
    assert_eq!(c.eflags & CF, CF);
    let c = regs32(&[(EAX, 0x0008), (EBX, 19)], |a| a.bt(ax, bx)); // 19 mod 16 = 3
    assert_eq!(c.eflags & CF, CF);
    let c = regs32(&[(ECX, 0), (EDX, 3)], |a| a.bts(ecx, edx));
    assert_eq!((c.regs[ECX], c.eflags & CF), (0x08, 0));
    let c = go32(|c, _| c.regs[ECX] = 0xFF, |a| a.btr(ecx, 0u32)).0;
    assert_eq!((c.regs[ECX], c.eflags & CF), (0xFE, CF));
    let c = go32(
        |c, _| {
            c.regs[ECX] = 0xF0;
            c.eflags |= CF;
        },
        |a| {
            a.btc(ecx, 4u32)?; // bit 4 was 1 → CF = 1, ECX = 0xE0
            a.setb(dl)?;
            a.btc(ecx, 0u32) // bit 0 was 0 → CF = 0, ECX = 0xE1
        },
    )
    .0;
    assert_eq!(
        (c.regs[ECX], c.regs[EDX] & 0xFF, c.eflags & CF),
        (0xE1, 1, 0)
    );
}

#[test]
fn bt_memory_register_offset_reaches_beyond_operand() {
    // With a memory bit base and a register offset, the offset is a signed bit index from
    // bit 0 of the addressed byte: bit n is bit (n mod 8) of byte base + floor(n / 8).
    // With an immediate offset it is taken modulo the operand size instead.
    let base = DATA + 8;
    let res = DATA + 0x100; // CF after each step, via SETC
    let (_, b) = go32(
        |_, b| {
            b.load(DATA + 5, &[0x81]);
            b.load(DATA + 0xC, &[0x08]);
        },
        |a| {
            a.mov(esi, base)?;
            // bit 35 → byte base+4 = DATA+0xC, bit 3 (set)
            a.mov(ecx, 35u32)?;
            a.bt(dword_ptr(esi), ecx)?;
            a.setb(byte_ptr(res))?;
            // bit 36 → same byte, bit 4 (clear)
            a.mov(ecx, 36u32)?;
            a.bt(dword_ptr(esi), ecx)?;
            a.setb(byte_ptr(res + 1))?;
            // bit −1 → byte base−1 = DATA+7, bit 7 (clear) → set it
            a.mov(ecx, 0xFFFF_FFFFu32)?;
            a.bts(dword_ptr(esi), ecx)?;
            a.setb(byte_ptr(res + 2))?;
            // 16-bit form, CX = −17 → byte base−3 = DATA+5, bit 7 (set) → clear it
            a.mov(ecx, 0xFFEFu32)?;
            a.btr(word_ptr(esi), cx)?;
            a.setb(byte_ptr(res + 3))?;
            // bit 256 → byte base+32 = DATA+0x28, bit 0 (clear) → complement to 1
            a.mov(ecx, 256u32)?;
            a.btc(dword_ptr(esi), ecx)?;
            a.setb(byte_ptr(res + 4))?;
            // immediate 33 is taken mod 32 → bit 1 of byte base (clear) → set it;
            // DATA+0xC (bit 33 if not masked) must not change
            a.bts(dword_ptr(esi), 33u32)?;
            a.setb(byte_ptr(res + 5))
        },
    );
    let r = res as usize;
    assert_eq!(&b.mem[r..r + 6], &[1, 0, 0, 1, 0, 0], "CF after each step");
    let d = DATA as usize;
    assert_eq!(b.mem[d + 7], 0x80, "BTS bit -1");
    assert_eq!(b.mem[d + 5], 0x01, "BTR bit -17 of a word base");
    assert_eq!(b.mem[d + 0x28], 0x01, "BTC bit 256");
    assert_eq!(b.mem[d + 8], 0x02, "BTS imm 33 → bit 1");
    assert_eq!(b.mem[d + 0xC], 0x08, "untouched");
    assert_eq!(b.mem[d + 6], 0x00, "untouched");
}

#[test]
fn bsf_bsr() {
    // 0x00018000: lowest set bit 15, highest 16; ZF = 0 for a non-zero source.
    let c = go32(
        |c, _| {
            c.regs[EBX] = 0x0001_8000;
            c.eflags |= ZF;
        },
        |a| {
            a.bsf(eax, ebx)?;
            a.bsr(ecx, ebx)
        },
    )
    .0;
    assert_eq!((c.regs[EAX], c.regs[ECX], c.eflags & ZF), (15, 16, 0));
    let c = regs32(&[(EBX, 0x8000)], |a| {
        a.bsf(ax, bx)?;
        a.bsr(cx, bx)
    });
    assert_eq!((c.regs[EAX], c.regs[ECX]), (15, 15));
    let c = regs32(&[(EBX, 1)], |a| a.bsr(edx, ebx));
    assert_eq!((c.regs[EDX], c.eflags & ZF), (0, 0));
    let c = regs32(&[(EBX, 0xFFFF_FFFF)], |a| {
        a.bsr(edx, ebx)?;
        a.bsf(esi, ebx)
    });
    assert_eq!((c.regs[EDX], c.regs[ESI]), (31, 0));
    // Zero source: ZF = 1 (the destination is undefined).
    let c = regs32(&[(EBX, 0)], |a| a.bsf(eax, ebx));
    assert_eq!(c.eflags & ZF, ZF);
    let c = regs32(&[(EBX, 0)], |a| a.bsr(eax, ebx));
    assert_eq!(c.eflags & ZF, ZF);
}

// ---------------------------------------------------------------------------------------
// Conditions
// ---------------------------------------------------------------------------------------

/// Condition codes 0–15 in encoding order: O NO B AE E NE BE A S NS P NP L GE LE G.
type JccFn = fn(&mut Asm, CodeLabel) -> R;
const JCC: [JccFn; 16] = [
    Asm::jo,
    Asm::jno,
    Asm::jb,
    Asm::jae,
    Asm::je,
    Asm::jne,
    Asm::jbe,
    Asm::ja,
    Asm::js,
    Asm::jns,
    Asm::jp,
    Asm::jnp,
    Asm::jl,
    Asm::jge,
    Asm::jle,
    Asm::jg,
];
type SetFn = fn(&mut Asm, AsmMemoryOperand) -> R;
const SETCC: [SetFn; 16] = [
    Asm::seto,
    Asm::setno,
    Asm::setb,
    Asm::setae,
    Asm::sete,
    Asm::setne,
    Asm::setbe,
    Asm::seta,
    Asm::sets,
    Asm::setns,
    Asm::setp,
    Asm::setnp,
    Asm::setl,
    Asm::setge,
    Asm::setle,
    Asm::setg,
];

/// (EAX, EBX) for CMP EAX, EBX and the mask of conditions 0–15 that hold afterwards.
const CMP_CASES: [(u32, u32, u32); 4] = [
    // 5 − 7 = 0xFFFFFFFE: CF=1 ZF=0 SF=1 OF=0 PF=0 (0xFE has 7 bits)
    // → NO B NE BE S NP L LE = bits 1 2 5 6 8 11 12 14
    (5, 7, 0x5966),
    // 0x80000000 − 1 = 0x7FFFFFFF: CF=0 ZF=0 SF=0 OF=1 PF=1 (0xFF)
    // → O AE NE A NS P L LE = bits 0 3 5 7 9 10 12 14
    (0x8000_0000, 1, 0x56A9),
    // 3 − 3 = 0: CF=0 ZF=1 SF=0 OF=0 PF=1 → NO AE E BE NS P GE LE = bits 1 3 4 6 9 10 13 14
    (3, 3, 0x665A),
    // 7 − 5 = 2: CF=0 ZF=0 SF=0 OF=0 PF=0 → NO AE NE A NS NP GE G = bits 1 3 5 7 9 11 13 15
    (7, 5, 0xAAAA),
];

#[test]
fn jcc_conditions() {
    for (x, y, want) in CMP_CASES {
        // For each condition: Jcc taken → add 1 << cc to EDI (LEA keeps the flags intact).
        let c = regs32(&[(EAX, x), (EBX, y)], |a| {
            a.cmp(eax, ebx)?;
            for (i, j) in JCC.iter().enumerate() {
                let mut taken = a.create_label();
                let mut next = a.create_label();
                j(a, taken)?;
                a.jmp(next)?;
                a.set_label(&mut taken)?;
                a.lea(edi, ptr(edi + (1u32 << i)))?;
                a.set_label(&mut next)?;
            }
            Ok(())
        });
        assert_eq!(c.regs[EDI], want, "CMP {x:#x}, {y:#x}: taken mask");
    }
}

#[test]
fn setcc_conditions() {
    for (x, y, want) in CMP_CASES {
        let (_, b) = go32(
            |c, b| {
                set(c, &[(EAX, x), (EBX, y)]);
                b.load(DATA, &[0xAA; 16]);
            },
            |a| {
                a.cmp(eax, ebx)?;
                for (i, s) in SETCC.iter().enumerate() {
                    s(a, byte_ptr(DATA + i as u32))?;
                }
                Ok(())
            },
        );
        for i in 0..16 {
            let bit = (want >> i) & 1;
            assert_eq!(
                b.mem[(DATA + i) as usize] as u32,
                bit,
                "CMP {x:#x}, {y:#x}: SETcc {i}"
            );
        }
    }
    // Register destination: only the low byte is written.
    let c = regs32(&[(EAX, 1), (EBX, 2), (ECX, 0x1234_5678)], |a| {
        a.cmp(eax, ebx)?;
        a.setl(cl)
    });
    assert_eq!(c.regs[ECX], 0x1234_5601);
}

#[test]
fn cmovcc() {
    let (c, _) = go32(
        |c, b| {
            set(c, &[(ECX, 0x11), (EDX, 0x22), (ESI, 0x33), (EBP, 0x44)]);
            b.load(DATA, &0xCAFE_BABEu32.to_le_bytes());
        },
        |a| {
            a.mov(eax, 3u32)?;
            a.cmp(eax, 3i32)?; // ZF = 1
            a.cmove(ecx, esi)?; // taken: ECX = 0x33
            a.cmovne(edx, esi)?; // not taken: EDX = 0x22
            a.cmovz(edi, dword_ptr(DATA))?; // taken: EDI = 0xCAFEBABE
            a.mov(eax, 5u32)?;
            a.cmp(eax, 7i32)?; // 5 − 7: CF = 1, SF = 1, OF = 0, ZF = 0
            a.cmovl(ebx, esi)?; // taken: EBX = 0x33
            a.cmovg(ebp, esi)?; // not taken: EBP = 0x44
            a.cmovb(ax, si) // taken, 16-bit: EAX = 0x00000033
        },
    );
    assert_eq!(c.regs[ECX], 0x33);
    assert_eq!(c.regs[EDX], 0x22);
    assert_eq!(c.regs[EDI], 0xCAFE_BABE);
    assert_eq!(c.regs[EBX], 0x33);
    assert_eq!(c.regs[EBP], 0x44);
    assert_eq!(c.regs[EAX], 0x33);
}

// ---------------------------------------------------------------------------------------
// Data movement
// ---------------------------------------------------------------------------------------

#[test]
fn movzx_movsx() {
    let (c, _) = go32(
        |c, b| {
            set(c, &[(EBX, 0x80), (EDX, 0x1234_5678)]);
            b.load(DATA, &0x8001u16.to_le_bytes());
        },
        |a| {
            a.movzx(eax, bl)?; // 0x00000080
            a.movsx(ecx, bl)?; // 0xFFFFFF80
            a.movsx(dx, bl)?; // DX = 0xFF80, EDX[31:16] kept
            a.movzx(esi, word_ptr(DATA))?; // 0x00008001
            a.movsx(edi, word_ptr(DATA))?; // 0xFFFF8001
            a.mov(ebp, 0xAAAA_AAAAu32)?;
            a.movzx(bp, bl)?; // BP = 0x0080, EBP[31:16] kept
            a.mov(bl, 0x7Fu32)?;
            a.movsx(ebx, bl) // positive: 0x0000007F
        },
    );
    assert_eq!(c.regs[EAX], 0x80);
    assert_eq!(c.regs[ECX], 0xFFFF_FF80);
    assert_eq!(c.regs[EDX], 0x1234_FF80);
    assert_eq!(c.regs[ESI], 0x8001);
    assert_eq!(c.regs[EDI], 0xFFFF_8001);
    assert_eq!(c.regs[EBP], 0xAAAA_0080);
    assert_eq!(c.regs[EBX], 0x7F);
}

#[test]
fn xchg() {
    let (c, b) = go32(
        |c, b| {
            set(c, &[(EAX, 1), (EBX, 2), (ECX, 0x1122_3344), (EDX, 0x1234)]);
            b.load(DATA, &0xAABB_CCDDu32.to_le_bytes());
        },
        |a| {
            a.xchg(eax, ebx)?;
            a.xchg(dword_ptr(DATA), ecx)?;
            a.xchg(dl, dh)
        },
    );
    assert_eq!((c.regs[EAX], c.regs[EBX]), (2, 1));
    assert_eq!((c.regs[ECX], b.r32(DATA)), (0xAABB_CCDD, 0x1122_3344));
    assert_eq!(c.regs[EDX], 0x3412);
}

#[test]
fn xadd() {
    // XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP; flags of the addition.
    // 5 + 7 = 12 = 0x0C (2 bits → PF; 5+7 = 0xC no nibble carry).
    let c = regs32(&[(EAX, 5), (EBX, 7)], |a| a.xadd(eax, ebx));
    assert_eq!((c.regs[EAX], c.regs[EBX], c.eflags & STATUS), (12, 5, PF));
    // Memory: 0xFFFFFFFF + 1 = 0 → CF ZF AF PF; ECX receives the old memory value.
    let (c, b) = go32(
        |c, b| {
            c.regs[ECX] = 1;
            b.load(DATA, &0xFFFF_FFFFu32.to_le_bytes());
        },
        |a| a.xadd(dword_ptr(DATA), ecx),
    );
    assert_eq!((b.r32(DATA), c.regs[ECX]), (0, 0xFFFF_FFFF));
    assert_eq!(c.eflags & STATUS, CF | ZF | AF | PF);
}

#[test]
fn cmpxchg() {
    // Equal: ZF = 1, DEST ← SRC, accumulator unchanged.
    let (c, b) = go32(
        |c, b| {
            set(c, &[(EAX, 5), (ECX, 9)]);
            b.load(DATA, &5u32.to_le_bytes());
        },
        |a| a.cmpxchg(dword_ptr(DATA), ecx),
    );
    assert_eq!((b.r32(DATA), c.regs[EAX]), (9, 5));
    assert_eq!(c.eflags & STATUS, ZF | PF);
    // Not equal: ZF = 0, accumulator ← DEST, DEST unchanged. Flags of CMP 5, 6:
    // 0xFFFFFFFF → CF SF AF PF.
    let (c, b) = go32(
        |c, b| {
            set(c, &[(EAX, 5), (ECX, 9)]);
            b.load(DATA, &6u32.to_le_bytes());
        },
        |a| a.cmpxchg(dword_ptr(DATA), ecx),
    );
    assert_eq!((b.r32(DATA), c.regs[EAX]), (6, 6));
    assert_eq!(c.eflags & STATUS, CF | SF | AF | PF);
    // Byte registers.
    let c = regs32(&[(EAX, 0x10), (EBX, 0x10), (ECX, 0x20)], |a| {
        a.cmpxchg(bl, cl)
    });
    assert_eq!((c.regs[EBX], c.eflags & ZF), (0x20, ZF));
    // Word registers, miss: AX ← BX, EAX[31:16] kept.
    let c = regs32(&[(EAX, 0xFFFF_0001), (EBX, 2), (ECX, 3)], |a| {
        a.cmpxchg(bx, cx)
    });
    assert_eq!(
        (c.regs[EAX], c.regs[EBX], c.eflags & ZF),
        (0xFFFF_0002, 2, 0)
    );
}

#[test]
fn cmpxchg8b() {
    // EDX:EAX = m64 → ZF = 1, m64 ← ECX:EBX.
    let (c, b) = go32(
        |c, b| {
            set(
                c,
                &[
                    (EDX, 0x1111_1111),
                    (EAX, 0x2222_2222),
                    (ECX, 0x3333_3333),
                    (EBX, 0x4444_4444),
                ],
            );
            b.load(DATA, &0x1111_1111_2222_2222u64.to_le_bytes());
        },
        |a| a.cmpxchg8b(qword_ptr(DATA)),
    );
    assert_eq!((b.r32(DATA), b.r32(DATA + 4)), (0x4444_4444, 0x3333_3333));
    assert_eq!(c.eflags & ZF, ZF);
    // Mismatch → ZF = 0, EDX:EAX ← m64, memory unchanged.
    let (c, b) = go32(
        |c, b| {
            set(
                c,
                &[(EDX, 0), (EAX, 0), (ECX, 0x3333_3333), (EBX, 0x4444_4444)],
            );
            c.eflags |= ZF;
            b.load(DATA, &0x5555_5555_6666_6666u64.to_le_bytes());
        },
        |a| a.cmpxchg8b(qword_ptr(DATA)),
    );
    assert_eq!((c.regs[EDX], c.regs[EAX]), (0x5555_5555, 0x6666_6666));
    assert_eq!((b.r32(DATA), b.r32(DATA + 4)), (0x6666_6666, 0x5555_5555));
    assert_eq!(c.eflags & ZF, 0);
}

#[test]
fn bswap() {
    let c = regs32(
        &[(EAX, 0x1234_5678), (ESI, 0xFF), (EDI, 0xDEAD_BEEF)],
        |a| {
            a.bswap(eax)?;
            a.bswap(esi)?;
            a.bswap(edi)?;
            a.bswap(edi)
        },
    );
    assert_eq!(
        (c.regs[EAX], c.regs[ESI], c.regs[EDI]),
        (0x7856_3412, 0xFF00_0000, 0xDEAD_BEEF)
    );
}

#[test]
fn cbw_cwde_cwd_cdq() {
    let r = |x: u32, f: fn(&mut Asm) -> R| regs32(&[(EAX, x), (EDX, 0x1234_0000)], f).regs;
    // CBW: AX ← sign-extend AL; EAX[31:16] kept.
    assert_eq!(r(0x1234_5680, Asm::cbw)[EAX], 0x1234_FF80);
    assert_eq!(r(0x1234_567F, Asm::cbw)[EAX], 0x1234_007F);
    // CWDE: EAX ← sign-extend AX.
    assert_eq!(r(0x1234_8000, Asm::cwde)[EAX], 0xFFFF_8000);
    assert_eq!(r(0xABCD_7FFF, Asm::cwde)[EAX], 0x0000_7FFF);
    // CWD: DX ← sign of AX; EDX[31:16] kept.
    assert_eq!(r(0x8000, Asm::cwd)[EDX], 0x1234_FFFF);
    assert_eq!(r(0x7FFF, Asm::cwd)[EDX], 0x1234_0000);
    // CDQ: EDX ← sign of EAX.
    assert_eq!(r(0x8000_0000, Asm::cdq)[EDX], 0xFFFF_FFFF);
    assert_eq!(r(1, Asm::cdq)[EDX], 0);
}

#[test]
fn lahf_sahf() {
    // LAHF: AH ← SF:ZF:0:AF:0:PF:1:CF.
    let c = go32(|c, _| c.eflags = 2 | CF | PF | ZF, |a| a.lahf()).0;
    assert_eq!(c.regs[EAX] >> 8 & 0xFF, 0x47); // 0x40 | 0x04 | 0x02 | 0x01
    let c = go32(|c, _| c.eflags = 2 | SF | AF | OF, |a| a.lahf()).0;
    assert_eq!(c.regs[EAX] >> 8 & 0xFF, 0x92); // 0x80 | 0x10 | 0x02 (OF is not in AH)
                                               // SAHF loads SF ZF AF PF CF from AH bits 7 6 4 2 0; bits 1 3 5 of EFLAGS stay 1 0 0 and
                                               // OF is untouched: 0x800 | 0xD5 | 0x2 = 0x8D7.
    let c = go32(
        |c, _| {
            c.eflags = 2 | OF;
            c.regs[EAX] = 0xFF00;
        },
        |a| a.sahf(),
    )
    .0;
    assert_eq!(c.eflags, 0x8D7);
    let c = go32(|c, _| c.eflags = 2 | STATUS, |a| a.sahf()).0;
    assert_eq!(c.eflags, 2 | OF);
}

#[test]
fn xlat() {
    // AL ← [DS:(E)BX + zero-extended AL].
    let c = go32(
        |c, b| {
            set(c, &[(EBX, DATA), (EAX, 0x1234_5680)]);
            b.load(DATA + 3, &[0x40]);
            b.load(DATA + 0x80, &[0x99]);
        },
        |a| a.xlatb(),
    )
    .0;
    assert_eq!(c.regs[EAX], 0x1234_5699); // index 0x80 is unsigned
                                          // Real mode: DS:BX + AL = 0x2000:0x0105.
    let c = go16(
        |_, b| b.load(RDATA + 0x105, &[0x77]),
        |a| {
            a.mov(bx, 0x100u32)?;
            a.mov(al, 5u32)?;
            a.xlatb()
        },
    )
    .0;
    assert_eq!(c.regs[EAX] & 0xFF, 0x77);
}

// ---------------------------------------------------------------------------------------
// String instructions
// ---------------------------------------------------------------------------------------

#[test]
fn rep_movs() {
    let (c, b) = go32(
        |c, b| {
            set(c, &[(ESI, DATA), (EDI, DATA + 0x100), (ECX, 5)]);
            b.load(DATA, b"ABCDEFGH");
            b.load(DATA + 0x200, b"0123456789ABCDEF");
        },
        |a| {
            a.cld()?;
            a.rep().movsb()?;
            a.push(esi)?;
            a.push(edi)?;
            a.push(ecx)?;
            // REP MOVSD: 3 dwords = 12 bytes.
            a.mov(esi, DATA + 0x200)?;
            a.mov(edi, DATA + 0x300)?;
            a.mov(ecx, 3u32)?;
            a.rep().movsd()?;
            // ECX = 0: nothing moves, ESI/EDI unchanged.
            a.rep().movsb()
        },
    );
    let d = DATA as usize;
    assert_eq!(&b.mem[d + 0x100..d + 0x106], b"ABCDE\0");
    // Pushed ECX, EDI, ESI after the REP MOVSB.
    assert_eq!(b.r32(0x7FFF4), 0, "ECX after REP MOVSB");
    assert_eq!(b.r32(0x7FFF8), DATA + 0x105, "EDI after REP MOVSB");
    assert_eq!(b.r32(0x7FFFC), DATA + 5, "ESI after REP MOVSB");
    assert_eq!(&b.mem[d + 0x300..d + 0x30D], b"0123456789AB\0");
    assert_eq!(
        (c.regs[ESI], c.regs[EDI], c.regs[ECX]),
        (DATA + 0x20C, DATA + 0x30C, 0)
    );

    // DF = 1: MOVSB walks down.
    let (c, b) = go32(
        |c, b| {
            set(c, &[(ESI, DATA + 2), (EDI, DATA + 0x102), (ECX, 3)]);
            b.load(DATA, b"xyz");
        },
        |a| {
            a.std()?;
            a.rep().movsb()
        },
    );
    assert_eq!(&b.mem[d + 0x100..d + 0x103], b"xyz");
    assert_eq!((c.regs[ESI], c.regs[EDI]), (DATA - 1, DATA + 0xFF));
}

#[test]
fn rep_stos_stops_at_the_budget_and_resumes() {
    // SDM Vol. 2 "REP": a repeated string instruction may be interrupted between
    // iterations with ECX/EDI updated and EIP still on it, and then restarts where it
    // left off. A run budget must therefore bound even a 1 MB REP STOSB.
    const N: u32 = 0x10_0000;
    let (mut c, mut b, ips) = prepare(32, |a| {
        let mut rep = a.create_label();
        a.cld()?;
        a.set_label(&mut rep)?;
        a.rep().stosb()?;
        Ok(vec![rep])
    });
    set(&mut c, &[(EDI, DATA), (ECX, N), (EAX, 0xA5)]);
    let mut stops = 0;
    loop {
        let before = c.icount;
        match c.run(&mut b, 1000) {
            cpu::Stop::Budget => {}
            cpu::Stop::Halt => break,
            s => panic!("unexpected stop {s:?}"),
        }
        stops += 1;
        assert!(stops < 2 * N / 1000, "REP STOSB does not progress");
        assert_eq!(c.icount - before, 1000, "a slice retires its whole budget");
        assert_eq!(c.eip, ips[0], "EIP stays on the interrupted REP STOSB");
        let done = c.regs[EDI] - DATA;
        assert!(done > 0 && done < N);
        assert_eq!(c.regs[ECX], N - done, "ECX counts the stores still to do");
        assert_eq!(b.mem[(DATA + done - 1) as usize], 0xA5);
        assert_eq!(b.mem[(DATA + done) as usize], 0, "nothing stored past EDI");
    }
    assert!(stops > 100, "stopped only {stops} times");
    assert_eq!((c.regs[ECX], c.regs[EDI]), (0, DATA + N));
    let d = DATA as usize;
    assert!(b.mem[d..d + N as usize].iter().all(|&x| x == 0xA5));
    assert_eq!(b.mem[d + N as usize], 0);
    assert_eq!(b.mem[d - 1], 0);
}

#[test]
fn stosw_with_df_set() {
    // DF = 1: each STOSW stores at EDI then decrements it by 2.
    let (c, b) = go32(
        |c, _| set(c, &[(EDI, DATA + 0x10), (ECX, 3), (EAX, 0xBEEF)]),
        |a| {
            a.std()?;
            a.rep().stosw()
        },
    );
    assert_eq!(b.r16(DATA + 0x10), 0xBEEF);
    assert_eq!(b.r16(DATA + 0x0E), 0xBEEF);
    assert_eq!(b.r16(DATA + 0x0C), 0xBEEF);
    assert_eq!(b.r16(DATA + 0x0A), 0, "one past the last store");
    assert_eq!(b.r16(DATA + 0x12), 0, "above the first store");
    assert_eq!(
        (c.regs[EDI], c.regs[ECX], c.eflags & DF),
        (DATA + 0x0A, 0, DF)
    );

    // Real mode: ES:DI with ES = 0x3000 (linear 0x30000), CX as the count.
    let (c, b) = go16(none, |a| {
        a.mov(ax, 0x3000u32)?;
        a.mov(es, ax)?;
        a.mov(di, 0x10u32)?;
        a.mov(ax, 0xBEEFu32)?;
        a.mov(cx, 3u32)?;
        a.std()?;
        a.rep().stosw()
    });
    assert_eq!(
        (b.r16(0x30010), b.r16(0x3000E), b.r16(0x3000C)),
        (0xBEEF, 0xBEEF, 0xBEEF)
    );
    assert_eq!(b.r16(0x3000A), 0);
    assert_eq!(b.r16(RDATA + 0x10), 0, "DS/ES 0x2000 not written");
    assert_eq!((c.regs[EDI] & 0xFFFF, c.regs[ECX] & 0xFFFF), (0x0A, 0));
}

#[test]
fn repe_cmpsb_stops_at_first_difference() {
    let (c, _) = go32(
        |c, b| {
            set(c, &[(ESI, DATA), (EDI, DATA + 0x100), (ECX, 5)]);
            b.load(DATA, b"HELLO");
            b.load(DATA + 0x100, b"HELPO");
        },
        |a| {
            a.cld()?;
            a.repe().cmpsb()
        },
    );
    // Four comparisons (H E L, then L vs P differs): ECX = 5 − 4, pointers past the
    // differing byte. 'L' − 'P' = 0x4C − 0x50 = 0xFC → CF = 1, SF = 1, ZF = 0.
    assert_eq!(
        (c.regs[ECX], c.regs[ESI], c.regs[EDI]),
        (1, DATA + 4, DATA + 0x104)
    );
    assert_eq!(c.eflags & (ZF | CF | SF), CF | SF);

    // Equal strings run to ECX = 0 with ZF = 1.
    let (c, _) = go32(
        |c, b| {
            set(c, &[(ESI, DATA), (EDI, DATA + 0x100), (ECX, 5)]);
            b.load(DATA, b"HELLO");
            b.load(DATA + 0x100, b"HELLO");
        },
        |a| a.repe().cmpsb(),
    );
    assert_eq!((c.regs[ECX], c.regs[ESI], c.eflags & ZF), (0, DATA + 5, ZF));
}

#[test]
fn repne_scasb() {
    // Finds 'O' at index 4 of "HELLO WORLD": 5 iterations, EDI one past the match.
    let (c, _) = go32(
        |c, b| {
            set(c, &[(EDI, DATA), (ECX, 11), (EAX, b'O' as u32)]);
            b.load(DATA, b"HELLO WORLD");
        },
        |a| a.repne().scasb(),
    );
    assert_eq!((c.regs[EDI], c.regs[ECX], c.eflags & ZF), (DATA + 5, 6, ZF));
    // Not found: runs out the count with ZF = 0.
    let (c, _) = go32(
        |c, b| {
            set(c, &[(EDI, DATA), (ECX, 11), (EAX, b'Z' as u32)]);
            b.load(DATA, b"HELLO WORLD");
        },
        |a| a.repne().scasb(),
    );
    assert_eq!((c.regs[EDI], c.regs[ECX], c.eflags & ZF), (DATA + 11, 0, 0));
}

#[test]
fn lods() {
    let (c, _) = go32(
        |c, b| {
            c.regs[ESI] = DATA;
            b.load(DATA, &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
        },
        |a| {
            a.lodsb()?; // AL = 0x11, ESI + 1
            a.mov(ebx, eax)?;
            a.lodsw()?; // AX = 0x3322, ESI + 2
            a.mov(ecx, eax)?;
            a.lodsd()?; // EAX = 0x77665544, ESI + 4
            a.mov(edx, eax)?;
            a.std()?;
            a.lodsb() // DF = 1: AL = [DATA+7] = 0x88, ESI − 1
        },
    );
    assert_eq!(c.regs[EBX] & 0xFF, 0x11);
    assert_eq!(c.regs[ECX] & 0xFFFF, 0x3322);
    assert_eq!(c.regs[EDX], 0x7766_5544);
    assert_eq!(c.regs[EAX], 0x7766_5588);
    assert_eq!(c.regs[ESI], DATA + 6);
}

// ---------------------------------------------------------------------------------------
// Control flow
// ---------------------------------------------------------------------------------------

#[test]
fn loop_loope_loopne_jcxz() {
    // (After reset EDX holds the processor signature, so counters are zeroed explicitly.)
    // LOOP: ECX = 5 → body runs 5 times.
    let c = regs32(&[(ECX, 5), (EAX, 0)], |a| {
        let mut l = a.create_label();
        a.set_label(&mut l)?;
        a.inc(eax)?;
        a.loop_(l)
    });
    assert_eq!((c.regs[EAX], c.regs[ECX]), (5, 0));
    // LOOPE: continue while ECX ≠ 0 and ZF = 1. TEST EDX, 4 gives ZF = 1 for EDX = 1, 2, 3
    // and ZF = 0 at EDX = 4, after the 4th decrement (ECX = 10 − 4).
    let c = regs32(&[(ECX, 10), (EDX, 0)], |a| {
        let mut l = a.create_label();
        a.set_label(&mut l)?;
        a.inc(edx)?;
        a.test(edx, 4u32)?;
        a.loope(l)
    });
    assert_eq!((c.regs[EDX], c.regs[ECX]), (4, 6));
    // LOOPNE: continue while ZF = 0; CMP EDX, 3 sets ZF at EDX = 3 (ECX = 10 − 3).
    let c = regs32(&[(ECX, 10), (EDX, 0)], |a| {
        let mut l = a.create_label();
        a.set_label(&mut l)?;
        a.inc(edx)?;
        a.cmp(edx, 3i32)?;
        a.loopne(l)
    });
    assert_eq!((c.regs[EDX], c.regs[ECX]), (3, 7));
    // LOOPNE also stops when the count runs out.
    let c = regs32(&[(ECX, 2), (EDX, 0)], |a| {
        let mut l = a.create_label();
        a.set_label(&mut l)?;
        a.inc(edx)?;
        a.cmp(edx, 100i32)?;
        a.loopne(l)
    });
    assert_eq!((c.regs[EDX], c.regs[ECX]), (2, 0));
    // LOOP does not modify flags: ZF from XOR survives ECX reaching 0.
    let c = regs32(&[(ECX, 2)], |a| {
        let mut l = a.create_label();
        a.xor(eax, eax)?;
        a.set_label(&mut l)?;
        a.loop_(l)
    });
    assert_eq!((c.regs[ECX], c.eflags & STATUS), (0, ZF | PF));
    // JECXZ: taken only for ECX = 0.
    for (ecx_in, want) in [(0u32, 0u32), (1, 1)] {
        let c = regs32(&[(ECX, ecx_in)], |a| {
            let mut l = a.create_label();
            a.jecxz(l)?;
            a.mov(esi, 1u32)?;
            a.set_label(&mut l)?;
            a.nop()
        });
        assert_eq!(c.regs[ESI], want, "JECXZ with ECX = {ecx_in}");
    }
    // Real mode: LOOP counts in CX (ECX[31:16] kept); JCXZ tests CX, JECXZ (0x67) ECX.
    let c = go16(
        |c, _| c.regs[ECX] = 0x0001_0003,
        |a| {
            let mut l = a.create_label();
            let mut t1 = a.create_label();
            let mut t2 = a.create_label();
            a.set_label(&mut l)?;
            a.inc(ax)?;
            a.loop_(l)?;
            a.jcxz(t1)?; // CX = 0 → taken
            a.or(bx, 1u32)?;
            a.set_label(&mut t1)?;
            a.jecxz(t2)?; // ECX = 0x10000 → not taken
            a.or(bx, 2u32)?;
            a.set_label(&mut t2)?;
            a.nop()
        },
    )
    .0;
    assert_eq!(c.regs[EAX] & 0xFFFF, 3);
    assert_eq!(c.regs[ECX], 0x0001_0000);
    assert_eq!(c.regs[EBX] & 0xFFFF, 2);
}

#[test]
fn call_ret_and_ret_imm16() {
    let (mut c, mut b, ips) = prepare(32, |a| {
        let mut f = a.create_label();
        let mut g = a.create_label();
        let mut after1 = a.create_label();
        let mut after3 = a.create_label();
        let mut end = a.create_label();
        a.call(f)?;
        a.set_label(&mut after1)?;
        a.mov(esi, ecx)?; // return address seen by the first call
        a.push(0x11u32)?;
        a.push(0x22u32)?;
        a.call(g)?;
        a.mov(edi, esp)?; // RET 8 dropped both arguments: back at 0x80000
        a.call(dword_ptr(DATA))?; // indirect through memory → f again
        a.set_label(&mut after3)?;
        a.jmp(end)?;
        // f: ECX ← return address, count the calls in EBP.
        a.set_label(&mut f)?;
        a.mov(ecx, dword_ptr(esp))?;
        a.inc(ebp)?;
        a.ret()?;
        // g: EDX ← the argument pushed last (just above the return address).
        a.set_label(&mut g)?;
        a.mov(edx, dword_ptr(esp + 4))?;
        a.ret_1(8u32)?;
        a.set_label(&mut end)?;
        a.nop()?;
        Ok(vec![f, after1, after3])
    });
    b.load(DATA, &ips[0].to_le_bytes());
    run(&mut c, &mut b, LIMIT);
    assert_eq!(
        c.regs[ESI], ips[1],
        "CALL pushes the address of the next instruction"
    );
    assert_eq!(c.regs[ECX], ips[2], "CALL [mem] return address");
    assert_eq!(c.regs[EBP], 2, "f ran twice");
    assert_eq!(c.regs[EDX], 0x22);
    assert_eq!(c.regs[EDI], 0x80000);
    assert_eq!(c.regs[ESP], 0x80000);
}

#[test]
fn far_call_retf_real_mode() {
    let (c, _, ips) = go_labels(
        16,
        |_, b| {
            // FAR_SEG:0010 records CS and its return frame, then RETF 2 drops one argument.
            load16(b, FAR_SEG, 0x10, |a| {
                a.mov(dx, cs)?;
                a.mov(bp, sp)?;
                a.mov(si, word_ptr(bp))?; // return IP
                a.mov(di, word_ptr(bp + 2))?; // return CS
                a.retf_1(2u32)
            });
            // FAR_SEG:0040 is reached through a far pointer in memory.
            load16(b, FAR_SEG, 0x40, |a| {
                a.mov(ax, 0xFACEu32)?;
                a.retf()
            });
            // DS:0200 = far pointer 0C00:0040 (offset word, then segment word).
            b.load(RDATA + 0x200, &[0x40, 0x00, 0x00, 0x0C]);
        },
        |a| {
            let mut ret = a.create_label();
            a.push(0x1234u32)?;
            a.call_far(FAR_SEG, 0x10)?;
            a.set_label(&mut ret)?;
            a.mov(cx, sp)?; // 0xFFFE: CS:IP (4 bytes) and the 2-byte argument are gone
            a.mov(bx, 0x200u32)?;
            a.call(dword_ptr(bx))?; // CALL m16:16
            Ok(vec![ret])
        },
    );
    assert_eq!(c.regs[EDX] & 0xFFFF, FAR_SEG as u32);
    assert_eq!(c.regs[ESI] & 0xFFFF, ips[0]);
    assert_eq!(c.regs[EDI] & 0xFFFF, 0x1000);
    assert_eq!(c.regs[ECX] & 0xFFFF, 0xFFFE);
    assert_eq!(c.regs[EAX] & 0xFFFF, 0xFACE);
    assert_eq!(c.regs[ESP] & 0xFFFF, 0xFFFE);
    assert_eq!(
        (c.seg[cpu::CS].selector, c.seg[cpu::CS].base),
        (0x1000, 0x10000)
    );
}

#[test]
fn int_iret_real_mode() {
    let (c, _, ips) = go_labels(
        16,
        |_, b| {
            install(b, 0x21, |a| {
                a.mov(ax, 0x4321u32)?;
                a.mov(bp, sp)?;
                a.mov(si, word_ptr(bp))?; // IP
                a.mov(di, word_ptr(bp + 2))?; // CS
                a.mov(dx, word_ptr(bp + 4))?; // FLAGS
                a.pushf()?;
                a.pop(cx)?; // FLAGS inside the handler
                a.or(word_ptr(bp + 4), 0x800u32)?; // IRET must restore this OF
                a.iret()
            });
        },
        |a| {
            let mut ret = a.create_label();
            a.sti()?;
            a.stc()?;
            a.int(0x21u32)?;
            a.set_label(&mut ret)?;
            a.mov(bx, sp)?;
            Ok(vec![ret])
        },
    );
    // INT pushes FLAGS, CS, IP (of the next instruction), clears IF and TF, jumps through
    // the IVT; IRET pops IP, CS, FLAGS.
    assert_eq!(c.regs[EAX] & 0xFFFF, 0x4321);
    assert_eq!(c.regs[ESI] & 0xFFFF, ips[0]);
    assert_eq!(c.regs[EDI] & 0xFFFF, 0x1000);
    assert_eq!(c.regs[EDX] & (IF | CF), IF | CF, "pushed FLAGS");
    assert_eq!(c.regs[ECX] & (IF | TF | CF), CF, "FLAGS in the handler");
    assert_eq!(c.regs[EBX] & 0xFFFF, 0xFFFE, "SP after IRET");
    assert_eq!(
        c.eflags & (IF | CF | OF),
        IF | CF | OF,
        "FLAGS restored by IRET"
    );
    assert_eq!(c.seg[cpu::CS].selector, 0x1000);
}

#[test]
fn into_and_int3_real_mode() {
    let (c, _, ips) = go_labels(
        16,
        |_, b| {
            install(b, 4, |a| {
                a.mov(bp, sp)?;
                a.mov(si, word_ptr(bp))?;
                a.inc(dx)?;
                a.iret()
            });
            install(b, 3, |a| {
                a.mov(bp, sp)?;
                a.mov(di, word_ptr(bp))?;
                a.mov(cx, 0x0303u32)?;
                a.iret()
            });
        },
        |a| {
            let mut l1 = a.create_label();
            let mut l2 = a.create_label();
            a.xor(dx, dx)?;
            a.mov(al, 0x7Fu32)?;
            a.add(al, 1u32)?; // OF = 1
            a.into()?; // INT 4 (a trap: pushed IP is the next instruction)
            a.set_label(&mut l1)?;
            a.mov(al, 1u32)?;
            a.add(al, 1u32)?; // OF = 0
            a.into()?; // nothing
            a.int3()?;
            a.set_label(&mut l2)?;
            a.mov(bx, sp)?;
            Ok(vec![l1, l2])
        },
    );
    assert_eq!(c.regs[EDX] & 0xFFFF, 1, "INTO ran its handler exactly once");
    assert_eq!(c.regs[ESI] & 0xFFFF, ips[0]);
    assert_eq!(c.regs[ECX] & 0xFFFF, 0x0303);
    assert_eq!(c.regs[EDI] & 0xFFFF, ips[1]);
    assert_eq!(c.regs[EBX] & 0xFFFF, 0xFFFE);
}

#[test]
fn enter_leave() {
    // ENTER 8, 0: push EBP; EBP ← ESP; ESP −= 8.
    let (c, b) = go32(
        |c, _| c.regs[EBP] = 0x1234_5678,
        |a| {
            a.enter(8u32, 0u32)?;
            a.mov(esi, ebp)?;
            a.mov(edi, esp)?;
            a.leave()
        },
    );
    assert_eq!(
        (c.regs[ESI], c.regs[EDI], b.r32(0x7FFFC)),
        (0x7FFFC, 0x7FFF4, 0x1234_5678)
    );
    assert_eq!((c.regs[ESP], c.regs[EBP]), (0x80000, 0x1234_5678));

    // ENTER 16, 2 (SDM pseudocode): push EBP (0x7FF00) at 0x7FFFC, FrameTemp = 0x7FFFC;
    // level 1 display entry: push [EBP − 4] = [0x7FEFC] at 0x7FFF8; then push FrameTemp at
    // 0x7FFF4; EBP ← 0x7FFFC; ESP ← 0x7FFF4 − 16 = 0x7FFE4.
    let (c, b) = go32(
        |c, b| {
            c.regs[EBP] = 0x7FF00;
            b.load(0x7FEFC, &0xAAAA_0001u32.to_le_bytes());
        },
        |a| {
            a.enter(16u32, 2u32)?;
            a.mov(esi, ebp)?;
            a.mov(edi, esp)?;
            a.leave()
        },
    );
    assert_eq!((c.regs[ESI], c.regs[EDI]), (0x7FFFC, 0x7FFE4));
    assert_eq!(
        (b.r32(0x7FFFC), b.r32(0x7FFF8), b.r32(0x7FFF4)),
        (0x7FF00, 0xAAAA_0001, 0x7FFFC)
    );
    assert_eq!((c.regs[ESP], c.regs[EBP]), (0x80000, 0x7FF00));

    // ENTER 0, 3: two display entries copied from [EBP − 4] and [EBP − 8].
    let (c, b) = go32(
        |c, b| {
            c.regs[EBP] = 0x7FF00;
            b.load(0x7FEFC, &0xA1u32.to_le_bytes());
            b.load(0x7FEF8, &0xA2u32.to_le_bytes());
        },
        |a| a.enter(0u32, 3u32),
    );
    assert_eq!(
        (
            b.r32(0x7FFFC),
            b.r32(0x7FFF8),
            b.r32(0x7FFF4),
            b.r32(0x7FFF0)
        ),
        (0x7FF00, 0xA1, 0xA2, 0x7FFFC)
    );
    assert_eq!((c.regs[EBP], c.regs[ESP]), (0x7FFFC, 0x7FFF0));

    // 16-bit ENTER 4, 1 in real mode: push BP at SS:FFFC, FrameTemp = 0xFFFC pushed at
    // SS:FFFA, BP ← 0xFFFC, SP ← 0xFFFA − 4 = 0xFFF6.
    let (c, b) = go16(
        |c, _| c.regs[EBP] = 0x1111,
        |a| {
            a.enter(4u32, 1u32)?;
            a.mov(si, bp)?;
            a.mov(di, sp)?;
            a.leave()
        },
    );
    assert_eq!(
        (c.regs[ESI] & 0xFFFF, c.regs[EDI] & 0xFFFF),
        (0xFFFC, 0xFFF6)
    );
    assert_eq!(
        (b.r16(RDATA + 0xFFFC), b.r16(RDATA + 0xFFFA)),
        (0x1111, 0xFFFC)
    );
    assert_eq!(
        (c.regs[ESP] & 0xFFFF, c.regs[EBP] & 0xFFFF),
        (0xFFFE, 0x1111)
    );
}

#[test]
fn pusha_popa() {
    // PUSHAD order: EAX ECX EDX EBX (original) ESP EBP ESI EDI.
    let (c, b) = go32(
        |c, _| {
            set(
                c,
                &[
                    (EAX, 1),
                    (ECX, 2),
                    (EDX, 3),
                    (EBX, 4),
                    (EBP, 6),
                    (ESI, 7),
                    (EDI, 8),
                ],
            );
        },
        |a| {
            a.pushad()?;
            a.mov(eax, dword_ptr(esp + 12))?; // the saved ESP slot
            a.mov(dword_ptr(DATA), eax)?;
            for r in [eax, ecx, edx, ebx, ebp, esi, edi] {
                a.xor(r, r)?;
            }
            a.mov(dword_ptr(esp + 12), 0xDEAD_BEEFu32)?; // POPAD skips this slot
            a.popad()
        },
    );
    assert_eq!(
        b.r32(DATA),
        0x80000,
        "pushed ESP is the value before PUSHAD"
    );
    let pushed: Vec<u32> = (0..8).map(|i| b.r32(0x7FFE0 + 4 * i)).collect();
    assert_eq!(pushed, [8, 7, 6, 0xDEAD_BEEF, 4, 3, 2, 1]);
    assert_eq!(&c.regs, &[1, 2, 3, 4, 0x80000, 6, 7, 8]);

    // 16-bit PUSHA/POPA in real mode write only the low halves.
    let (c, b) = go16(
        |c, _| {
            set(
                c,
                &[
                    (EAX, 1),
                    (ECX, 2),
                    (EDX, 3),
                    (EBX, 4),
                    (EBP, 6),
                    (ESI, 0xABCD_0007),
                    (EDI, 8),
                ],
            );
        },
        |a| {
            a.pusha()?;
            a.xor(si, si)?;
            a.xor(ax, ax)?;
            a.popa()
        },
    );
    let pushed: Vec<u16> = (0..8).map(|i| b.r16(RDATA + 0xFFEE + 2 * i)).collect();
    assert_eq!(pushed, [8, 7, 6, 0xFFFE, 4, 3, 2, 1]);
    assert_eq!(
        (c.regs[EAX], c.regs[ESI], c.regs[ESP]),
        (1, 0xABCD_0007, 0xFFFE)
    );
}

#[test]
fn pushf_popf() {
    // PUSHFD pushes EFLAGS (bit 1 always set); POPFD at CPL 0 loads the status flags and
    // DF; bits 3, 5 and 15 always read 0 and bit 1 reads 1 (SDM Vol. 1 Fig. 3-8).
    let (c, _) = go32(
        |c, _| c.eflags = 2 | CF | ZF,
        |a| {
            a.pushfd()?;
            a.pop(eax)?;
            a.push(0x8CFFu32)?; // bits 0-7, DF (0x400), OF (0x800), bit 15
            a.popfd()?;
            a.pushfd()?;
            a.pop(ebx)
        },
    );
    assert_eq!(c.regs[EAX], 0x43);
    assert_eq!(c.regs[EBX], 0xCD7);
    assert_eq!(c.eflags, 0xCD7);
    // Real mode: 16-bit PUSHF/POPF touch only FLAGS[15:0] (AC in bit 18 stays).
    let (c, _) = go16(
        |c, _| c.eflags = 2 | AC | ZF,
        |a| {
            a.pushf()?;
            a.pop(ax)?;
            a.mov(cx, sp)?;
            a.push(0x0001u32)?;
            a.popf()
        },
    );
    assert_eq!(c.regs[EAX] & 0xFFFF, 0x42);
    assert_eq!(c.regs[ECX] & 0xFFFF, 0xFFFE);
    assert_eq!(c.eflags, AC | 2 | CF);
}

// ---------------------------------------------------------------------------------------
// BCD
// ---------------------------------------------------------------------------------------

#[test]
fn daa_das() {
    let m = CF | AF | SF | ZF | PF; // OF is undefined
                                    // 0x79 + 0x35 = 0xAE (AF = 0, CF = 0); low nibble E > 9 → +6 = 0xB4, AF; old AL 0xAE >
                                    // 0x99 → +0x60 = 0x14, CF. 0x14 has 2 bits → PF. (79 + 35 = 114)
    let (r, f) = alu(0, 0x79, 0x35, |a| {
        a.add(al, bl)?;
        a.daa()
    });
    assert_eq!((r, f & m), (0x14, CF | AF | PF));
    // 0x38 + 0x45 = 0x7D → +6 = 0x83, AF; no high adjust. 0x83: SF, 3 bits → PF = 0.
    let (r, f) = alu(0, 0x38, 0x45, |a| {
        a.add(al, bl)?;
        a.daa()
    });
    assert_eq!((r, f & m), (0x83, AF | SF));
    // 0x99 + 0x01 = 0x9A → +6 = 0xA0, AF; old AL 0x9A > 0x99 → 0x00, CF (99 + 1 = 100).
    let (r, f) = alu(0, 0x99, 0x01, |a| {
        a.add(al, bl)?;
        a.daa()
    });
    assert_eq!((r, f & m), (0x00, CF | AF | ZF | PF));
    // 0x09 + 0x09 = 0x12 with AF = 1 → +6 = 0x18 (9 + 9 = 18); 2 bits → PF.
    let (r, f) = alu(0, 0x09, 0x09, |a| {
        a.add(al, bl)?;
        a.daa()
    });
    assert_eq!((r, f & m), (0x18, AF | PF));
    // DAS: 0x35 − 0x47 = 0xEE, CF = AF = 1; E > 9 → −6 = 0xE8, AF; old AL > 0x99 → −0x60 =
    // 0x88, CF (35 − 47 = −12 → 88 borrow). 0x88: SF, 2 bits → PF.
    let (r, f) = alu(0, 0x35, 0x47, |a| {
        a.sub(al, bl)?;
        a.das()
    });
    assert_eq!((r, f & m), (0x88, CF | AF | SF | PF));
    // 0x42 − 0x13 = 0x2F, AF = 1 → −6 = 0x29 (42 − 13 = 29), CF = 0; 3 bits → PF = 0.
    let (r, f) = alu(0, 0x42, 0x13, |a| {
        a.sub(al, bl)?;
        a.das()
    });
    assert_eq!((r, f & m), (0x29, AF));
}

#[test]
fn aaa_aas() {
    let m = CF | AF; // OF SF ZF PF are undefined
                     // 8 + 9 = 0x11 with AF → AX + 0x106 = 0x0117, AL &= 0x0F → 0x0107 (17 unpacked).
    let (r, f) = alu(0, 0x08, 0x09, |a| {
        a.add(al, bl)?;
        a.aaa()
    });
    assert_eq!((r, f & m), (0x0107, CF | AF));
    // 2 + 3 = 5: no adjustment, CF = AF = 0.
    let (r, f) = alu(CF | AF, 0x02, 0x03, |a| {
        a.add(al, bl)?;
        a.aaa()
    });
    assert_eq!((r, f & m), (0x0005, 0));
    // AL = 0xFA: AX + 0x106 = 0x0200 (the SDM adds to AX, so AL's carry reaches AH), then
    // AL &= 0x0F → 0x0200.
    let (r, f) = alu(0, 0x00FA, 0, |a| a.aaa());
    assert_eq!((r, f & m), (0x0200, CF | AF));
    // AAS: AX = 0x0102, SUB AL, 5 → AL = 0xFD with AF = 1; AX − 6 = 0x01F7, AH − 1 → 0x00F7,
    // AL &= 0x0F → 0x0007 (12 − 5 = 7).
    let (r, f) = alu(0, 0x0102, 0x05, |a| {
        a.sub(al, bl)?;
        a.aas()
    });
    assert_eq!((r, f & m), (0x0007, CF | AF));
    // AX = 0x0200, AF = 1: AX − 6 = 0x01FA, AH − 1 = 0x00 → 0x00FA, AL &= 0x0F → 0x000A.
    let (r, f) = alu(AF, 0x0200, 0, |a| a.aas());
    assert_eq!((r, f & m), (0x000A, CF | AF));
    // Nothing to adjust: AL = 0x05, AF = 0 → unchanged, CF = AF = 0.
    let (r, f) = alu(CF, 0x0105, 0, |a| a.aas());
    assert_eq!((r, f & m), (0x0105, 0));
}

#[test]
fn aad_aam() {
    let m = SF | ZF | PF; // OF AF CF are undefined
                          // AAD: AL ← AL + AH × 10, AH ← 0. 3 × 10 + 7 = 37 = 0x25 (3 bits → PF = 0).
    let (r, f) = alu(0, 0x0307, 0, |a| a.aad(10u32));
    assert_eq!((r, f & m), (0x0025, 0));
    // Base 16: 1 × 16 + 2 = 0x12 (2 bits → PF).
    let (r, f) = alu(0, 0x0102, 0, |a| a.aad(16u32));
    assert_eq!((r, f & m), (0x0012, PF));
    // 31 × 10 + 9 = 319 = 0x13F → AL = 0x3F (6 bits → PF).
    let (r, f) = alu(0, 0x1F09, 0, |a| a.aad(10u32));
    assert_eq!((r, f & m), (0x003F, PF));
    let (r, f) = alu(0, 0, 0, |a| a.aad(10u32));
    assert_eq!((r, f & m), (0, ZF | PF));
    // AAM: AH ← AL / 10, AL ← AL mod 10. 63 → 6, 3 (2 bits → PF).
    let (r, f) = alu(0, 0x3F, 0, |a| a.aam(10u32));
    assert_eq!((r, f & m), (0x0603, PF));
    // Base 16: 0xAB → 0x0A, 0x0B (3 bits → PF = 0).
    let (r, f) = alu(0, 0xAB, 0, |a| a.aam(16u32));
    assert_eq!((r, f & m), (0x0A0B, 0));
    let (r, f) = alu(0, 0, 0, |a| a.aam(10u32));
    assert_eq!((r, f & m), (0, ZF | PF));
}

// ---------------------------------------------------------------------------------------
// Exceptions and miscellany
// ---------------------------------------------------------------------------------------

#[test]
fn bound_raises_br() {
    // Signed word bounds [10, 20] at DS:0300, inclusive.
    let bounds = |b: &mut FlatBus| b.load(RDATA + 0x300, &[10, 0, 20, 0]);
    let (c, _) = go16(
        |_, b| bounds(b),
        |a| {
            a.mov(bx, 0x300u32)?;
            for v in [10u32, 15, 20] {
                a.mov(ax, v)?;
                a.bound(ax, dword_ptr(bx))?;
            }
            a.mov(cx, 0x600Du32)
        },
    );
    assert_eq!(c.regs[ECX] & 0xFFFF, 0x600D);
    // 21 > upper bound: #BR (a fault: pushed IP = BOUND).
    let (c, _) = expect_fault16(
        5,
        |_, b| bounds(b),
        |a, l| {
            a.mov(bx, 0x300u32)?;
            a.mov(ax, 21u32)?;
            a.set_label(l)?;
            a.bound(ax, dword_ptr(bx))
        },
    );
    assert_eq!(c.regs[EAX] & 0xFFFF, 21);
    // 0xFFFF is −1 < 10 (signed comparison).
    expect_fault16(
        5,
        |_, b| bounds(b),
        |a, l| {
            a.mov(bx, 0x300u32)?;
            a.mov(ax, 0xFFFFu32)?;
            a.set_label(l)?;
            a.bound(ax, dword_ptr(bx))
        },
    );
    // Bounds [−5, 5]: −2 is inside, −32768 is below.
    let neg = |b: &mut FlatBus| b.load(RDATA + 0x300, &[0xFB, 0xFF, 5, 0]);
    expect_fault16(
        5,
        |_, b| neg(b),
        |a, l| {
            a.mov(bx, 0x300u32)?;
            a.mov(ax, 0xFFFEu32)?;
            a.bound(ax, dword_ptr(bx))?;
            a.mov(ax, 0x8000u32)?;
            a.set_label(l)?;
            a.bound(ax, dword_ptr(bx))
        },
    );
}

#[test]
fn operand_and_address_size_prefixes_in_real_mode() {
    let (c, b) = go16(
        |_, b| b.load(RDATA + 0x10C, &0xBEEFu16.to_le_bytes()),
        |a| {
            a.mov(eax, 0x1234_5678u32)?; // 66 B8 imm32
            a.mov(ebx, 0x100u32)?;
            a.mov(ecx, 3u32)?;
            a.mov(dx, word_ptr(ebx + ecx * 4))?; // 67: DS:0x10C
            a.mov(edi, 0x89AB_CDEFu32)?;
            a.mov(dword_ptr(ebx + ecx * 4 + 4), edi)?; // 66 67: DS:0x110
            a.lea(esi, ptr(eax + ecx * 8 + 0x10))?; // 0x12345678 + 0x18 + 0x10 = 0x123456A0
            a.push(eax)?; // 66: 32-bit push, SP − 4
            a.mov(cx, sp)?;
            a.pop(ebp)?;
            a.mov(ebx, 0xFFFF_FFFFu32)?;
            a.add(ebx, 1i32) // 32-bit arithmetic: 0 with CF ZF
        },
    );
    assert_eq!(c.regs[EAX], 0x1234_5678);
    assert_eq!(c.regs[EDX] & 0xFFFF, 0xBEEF);
    assert_eq!(b.r32(RDATA + 0x110), 0x89AB_CDEF);
    assert_eq!(c.regs[ESI], 0x1234_56A0);
    assert_eq!(c.regs[ECX] & 0xFFFF, 0xFFFA);
    assert_eq!(b.r32(RDATA + 0xFFFA), 0x1234_5678);
    assert_eq!(c.regs[EBP], 0x1234_5678);
    assert_eq!(c.regs[ESP] & 0xFFFF, 0xFFFE);
    assert_eq!((c.regs[EBX], c.eflags & (CF | ZF)), (0, CF | ZF));
}

#[test]
fn cpuid_vendor_and_features() {
    let c = regs32(&[], |a| {
        a.xor(eax, eax)?;
        a.cpuid()
    });
    assert!(c.regs[EAX] >= 1, "max basic leaf");
    // The vendor string is EBX, EDX, ECX in that order, little-endian.
    assert_eq!(c.regs[EBX], u32::from_le_bytes(*b"Genu"));
    assert_eq!(c.regs[EDX], u32::from_le_bytes(*b"ineI"));
    assert_eq!(c.regs[ECX], u32::from_le_bytes(*b"ntel"));
    let c = regs32(&[(EAX, 1)], |a| a.cpuid());
    let features = c.regs[EDX];
    assert_ne!(features & (1 << 4), 0, "TSC");
    assert_ne!(features & (1 << 8), 0, "CX8");
    assert_ne!(features & (1 << 15), 0, "CMOV");
    assert_eq!(c.regs[EAX] >> 8 & 0xF, 6, "family 6 (i686)");
}

#[test]
fn rdtsc_increases() {
    let c = regs32(&[], |a| {
        a.rdtsc()?;
        a.mov(esi, eax)?;
        a.mov(edi, edx)?;
        a.nop()?;
        a.nop()?;
        a.rdtsc()
    });
    let first = (c.regs[EDI] as u64) << 32 | c.regs[ESI] as u64;
    let second = (c.regs[EDX] as u64) << 32 | c.regs[EAX] as u64;
    assert!(second > first, "{second} > {first}");
}

#[test]
fn real_mode_segment_limit_raises_gp() {
    // A byte at DS:FFFF and a dword at DS:FFFC are inside the 64 KB limit; a word at
    // DS:FFFF would need offset 0x10000 → #GP (vector 13), not a wrap to offset 0.
    let (c, _) = expect_fault16(
        13,
        |_, b| b.load(RDATA + 0xFFFC, &[1, 2, 3, 0x5A]),
        |a, l| {
            a.mov(bx, 0xFFFFu32)?;
            a.mov(al, byte_ptr(bx))?;
            a.mov(si, 0xFFFCu32)?;
            a.mov(ecx, dword_ptr(si))?;
            a.set_label(l)?;
            a.mov(ax, word_ptr(bx))
        },
    );
    assert_eq!(c.regs[EAX] & 0xFFFF, 0x5A);
    assert_eq!(c.regs[ECX], 0x5A03_0201);
    // A 32-bit (0x67) offset beyond 0xFFFF.
    expect_fault16(13, none, |a, l| {
        a.mov(eax, 0x10000u32)?;
        a.set_label(l)?;
        a.mov(dx, word_ptr(eax))
    });
    // A word at ES:FFFF.
    expect_fault16(13, none, |a, l| {
        a.mov(di, 0xFFFFu32)?;
        a.set_label(l)?;
        a.mov(word_ptr(di).es(), ax)
    });
}

#[test]
fn real_mode_stack_segment_limit_raises_ss() {
    // Through SS (BP-based addressing) the limit violation is #SS (vector 12).
    expect_fault16(12, none, |a, l| {
        a.mov(bp, 0xFFFFu32)?;
        a.set_label(l)?;
        a.mov(ax, word_ptr(bp))
    });
}

#[test]
fn ud2_raises_ud() {
    expect_fault16(6, none, |a, l| {
        a.nop()?;
        a.set_label(l)?;
        a.ud2()
    });
}

#[test]
fn lock_with_register_destination_raises_ud() {
    // LOCK is only valid on the listed read-modify-write forms with a memory destination.
    let (c, _) = expect_fault16(6, none, |a, l| {
        a.mov(ax, 1u32)?;
        a.mov(bx, 2u32)?;
        a.set_label(l)?;
        a.db(&[0xF0, 0x01, 0xD8]) // LOCK ADD AX, BX
    });
    assert_eq!(c.regs[EAX] & 0xFFFF, 1);
}

// ---------------------------------------------------------------------------------------
// Multi-part memory operands at the top of a 16-bit address space
// ---------------------------------------------------------------------------------------

#[test]
fn operand_parts_wrap_at_64k_with_16_bit_addressing() {
    // The second part of a multi-part operand is addressed like any effective address,
    // modulo 64 KB with a 16-bit address size: at DS:FFFE the next word is DS:0000.
    // (Single operands crossing FFFFh still fault: real_mode_segment_limit_raises_gp.)
    let (c, b) = go16(
        |c, b| {
            c.fpu_present = true;
            c.gdtr = cpu::TableReg {
                base: 0x12AB_CDEF,
                limit: 0x01FF,
            };
            b.load(RDATA + 0x20, &[0xAA; 0x20]);
        },
        |a| {
            a.mov(bx, 0xFFFEu32)?;
            // BOUND AX,[FFFE]: lower bound 10 at FFFE, upper bound 20 at 0000 (SDM BOUND:
            // "the upper bound at the next word"); AX = 20 is inside.
            a.mov(word_ptr(bx), 10u32)?;
            a.mov(word_ptr(0u32), 20u32)?;
            a.mov(ax, 20u32)?;
            a.bound(ax, dword_ptr(bx))?;
            // LES SI,[FFFE]: offset 1234h at FFFE, selector 3000h at 0000.
            a.mov(word_ptr(bx), 0x1234u32)?;
            a.mov(word_ptr(0u32), 0x3000u32)?;
            a.les(si, dword_ptr(bx))?;
            // SGDT [FFFE] (16-bit operand size): limit 01FFh at FFFE, base at 0000, all
            // 32 bits of it (SDM SGDT: "Full 32-bit base address stored").
            a.db(&[0x0F, 0x01, 0x07])?;
            a.mov(ecx, dword_ptr(0u32))?;
            a.mov(dx, word_ptr(bx))?;
            // LGDT [FFFE]: limit 0027h at FFFE, base bytes 56 34 12 at 0000 (16-bit
            // operand size: 24-bit base).
            a.mov(word_ptr(bx), 0x27u32)?;
            a.mov(dword_ptr(0u32), 0xFF12_3456u32)?;
            a.db(&[0x0F, 0x01, 0x17])?;
            // FNSTENV [FFF8] (16-bit real-mode image, 14 bytes): FCW at FFF8, FSW FFFA,
            // FTW FFFC, FIP FFFE, then FOP/FIP high, FDP, FDP high at 0000, 0002, 0004.
            a.mov(word_ptr(0x20u32), 0xAAAAu32)?;
            a.db(&[0xDB, 0xE3])?; // FNINIT: FIP/FDP/FOP = 0
            a.mov(bx, 0xFFF8u32)?;
            a.db(&[0xD9, 0x37])?; // FNSTENV [BX]
                                  // FLDENV [FFF8] reads it back through the wrap: FCW 0F7Fh.
            a.mov(word_ptr(bx), 0x0F7Fu32)?;
            a.db(&[0xD9, 0x27])?; // FLDENV [BX]
            a.mov(di, 0x40u32)?;
            a.db(&[0xD9, 0x3D]) // FNSTCW [DI]
        },
    );
    let w = |a: u32| b.r16(RDATA + a);
    assert_eq!(c.regs[EAX] & 0xFFFF, 20, "BOUND did not fault");
    assert_eq!(c.regs[ESI] & 0xFFFF, 0x1234, "LES offset");
    assert_eq!(c.seg[cpu::ES].selector, 0x3000, "LES selector from DS:0000");
    assert_eq!(c.regs[EDX] & 0xFFFF, 0x01FF, "SGDT limit at FFFE");
    assert_eq!(c.regs[ECX], 0x12AB_CDEF, "SGDT base at 0000");
    assert_eq!((c.gdtr.limit, c.gdtr.base), (0x27, 0x12_3456), "LGDT");
    assert_eq!(
        (w(0xFFFA), w(0xFFFC), w(0xFFFE)),
        (0, 0xFFFF, 0),
        "FNSTENV FSW, FTW (all empty), FIP"
    );
    assert_eq!(
        (w(0), w(2), w(4)),
        (0, 0, 0),
        "FNSTENV's last fields at 0000"
    );
    assert_eq!(w(0x40), 0x0F7F, "FCW from FLDENV");
}

#[test]
fn fsave_image_wraps_at_64k_with_16_bit_addressing() {
    // FNSAVE [FFC0], 16-bit real-mode image of 94 bytes: the environment at FFC0–FFCD,
    // ST(k) at FFCE + 10k, so ST(5) is at 0000 (FFCE + 50 = 10000h → 0000).
    let (c, b) = go16(
        |c, b| {
            c.fpu_present = true;
            b.load(RDATA, &[0xAA; 0x20]);
        },
        |a| {
            a.db(&[0xDB, 0xE3])?; // FNINIT
            for _ in 0..6 {
                a.db(&[0xD9, 0xE8])?; // FLD1
            }
            a.mov(bx, 0xFFC0u32)?;
            a.db(&[0xDD, 0x37]) // FNSAVE [BX]
        },
    );
    // 1.0 = sign 0, exponent 3FFFh, significand 8000000000000000h.
    let one = [0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F];
    assert_eq!(&b.mem[(RDATA + 0xFFCE) as usize..][..10], &one, "ST(0)");
    assert_eq!(
        &b.mem[RDATA as usize..][..10],
        &one,
        "ST(5) wrapped to 0000"
    );
    // FNSAVE ends with FNINIT: FTW all empty.
    assert_eq!(c.fpu.tag_word(), 0xFFFF);
}

#[test]
fn a_part_crossing_ffff_faults_before_anything_is_stored() {
    // FNSTENV [FFFF]: its first field, a word at FFFF, crosses the 64 KB limit: #GP,
    // and nothing of the image (whose later fields would wrap to 0001…) is written.
    let (_, b) = expect_fault16(
        13,
        |c, b| {
            c.fpu_present = true;
            b.load(RDATA, &[0xAA; 0x10]);
        },
        |a, l| {
            a.mov(bx, 0xFFFFu32)?;
            a.set_label(l)?;
            a.db(&[0xD9, 0x37])
        },
    );
    assert!(b.mem[RDATA as usize..][..0x10].iter().all(|&x| x == 0xAA));
    // SGDT [FFFC]: the limit word fits, the base dword at FFFE crosses: #GP before the
    // limit is stored.
    // (ES = 3000h, away from the #GP frame the handler's stack gets at SS:FFF8.)
    let (_, b) = expect_fault16(
        13,
        |_, b| b.load(0x3FFF0, &[0xAA; 0x10]),
        |a, l| {
            a.mov(ax, 0x3000u32)?;
            a.mov(es, ax)?;
            a.mov(bx, 0xFFFCu32)?;
            a.set_label(l)?;
            a.db(&[0x26, 0x0F, 0x01, 0x07]) // SGDT ES:[BX]
        },
    );
    assert_eq!(b.r16(0x3FFFC), 0xAAAA, "SGDT limit not stored");
    // BOUND AX,[FFFF]: the lower bound's word crosses: #GP, not a wrapped read.
    expect_fault16(13, none, |a, l| {
        a.mov(bx, 0xFFFFu32)?;
        a.set_label(l)?;
        a.bound(ax, dword_ptr(bx))
    });
    // CMPXCHG8B [FFFC] is one 8-byte operand: it crosses the limit and faults.
    expect_fault16(13, none, |a, l| {
        a.mov(bx, 0xFFFCu32)?;
        a.set_label(l)?;
        a.cmpxchg8b(qword_ptr(bx))
    });
}

#[test]
fn pop_to_a_faulting_destination_leaves_sp_for_the_restart() {
    // POP word [FFFF]: the stack read succeeds, the word store at DS:FFFF crosses the
    // limit: #GP. A 386+ fault is restartable, so SP is back at its value before the
    // POP (FFFCh): the #GP frame goes below it, at FFF6h.
    let (c, b, ips) = go_labels(
        16,
        |c, b| {
            install(b, 13, |a| a.hlt());
            c.regs[ESP] = 0xFFFC;
        },
        |a| {
            let mut l = a.create_label();
            a.mov(bx, 0xFFFFu32)?;
            a.set_label(&mut l)?;
            a.pop(word_ptr(bx))?;
            Ok(vec![l])
        },
    );
    assert_eq!(c.seg[cpu::CS].selector, HSEG, "#GP delivered");
    assert_eq!(c.regs[ESP] & 0xFFFF, 0xFFF6, "frame below the restored SP");
    assert_eq!(b.r16(RDATA + 0xFFF6) as u32, ips[0], "pushed IP = the POP");
}

#[test]
fn sse2_movsd_and_cmpsd_are_not_string_instructions() {
    // F2 0F 10 /r (MOVSD xmm) and F2 0F C2 /r ib (CMPSD xmm) share the string forms'
    // mnemonics. Without SSE2 they raise #UD (SDM Vol. 2: #UD if CPUID.01H:EDX.SSE2 is
    // 0); they must never run as MOVSD/CMPSD on DS:SI and ES:DI.
    for bytes in [
        &[0xF2, 0x0F, 0x10, 0xC1][..],
        &[0xF2, 0x0F, 0xC2, 0xC1, 0x00][..],
    ] {
        let (c, _) = expect_fault16(6, none, |a, l| {
            a.mov(si, 0x100u32)?;
            a.set_label(l)?;
            a.db(bytes)
        });
        // (DI is the handler's record.)
        assert_eq!(c.regs[ESI] & 0xFFFF, 0x100, "SI untouched");
    }
}

#[test]
fn hint_nops_and_endbr32_run_as_nops() {
    // SDM Vol. 2B "NOP": 0F 1F /0 is the multi-byte NOP, and 0F 19–0F 1E with a ModRM
    // byte are reserved NOPs on P6-family and later CPUs; ENDBR32 (F3 0F 1E FB) is one
    // of them on a CPU without CET. None reads its memory operand (an address far
    // outside memory here) or changes a register or flag: EAX counts the NOPs run.
    let (c, _) = go32(none, |a| {
        a.mov(eax, 0u32)?;
        a.db(&[0xF3, 0x0F, 0x1E, 0xFB])?; // endbr32
        a.inc(eax)?;
        a.db(&[0x0F, 0x1F, 0x44, 0x00, 0x00])?; // nop dword [eax+eax+0]
        a.inc(eax)?;
        a.db(&[0x0F, 0x19, 0x05, 0x00, 0x00, 0x00, 0xF0])?; // hint nop [F0000000h]
        a.inc(eax)?;
        a.db(&[0x0F, 0x1E, 0xC8]) // hint nop eax, ecx
    });
    assert_eq!(c.regs[EAX], 3);
}

// ---------------------------------------------------------------------------------------
// Lazy flags (flags.rs): exact wherever they are observed
// ---------------------------------------------------------------------------------------

/// A fault right after a lazily-flagged ALU instruction pushes that instruction's flags,
/// whichever path the faulting instruction takes (specialised, ADC's eager one, or the
/// generic interpreter). ES:FFFF holds only one byte of a word: #GP (SDM Vol. 3A §20.1.1).
#[test]
fn a_fault_pushes_the_flags_of_the_previous_alu_instruction() {
    // 7FFFh + 1 = 8000h: OF (positive + positive gave negative), SF, AF (carry out of
    // bit 3), PF (low byte 00h has even parity); CF = ZF = 0.
    let add = OF | SF | AF | PF;
    // 0 − 1 = FFh in AL: CF (borrow), SF, AF (borrow into bit 4), PF (eight ones).
    let cmp = CF | SF | AF | PF;
    // STC; FFFFh + 1 = 0: CF kept by INC, ZF, AF, PF.
    let inc = CF | ZF | AF | PF;
    type Fault = fn(&mut Asm) -> R;
    let faults: [Fault; 4] = [
        |a| a.add(word_ptr(di).es(), ax),
        |a| a.adc(word_ptr(di).es(), ax),
        |a| a.neg(word_ptr(di).es()),
        |a| a.mov(ax, word_ptr(di).es()),
    ];
    for fault in faults {
        for (setup, want) in [(0, add), (1, cmp), (2, inc)] {
            let (_, bus) = expect_fault16(13, none, |a, l| {
                a.mov(di, 0xFFFFu32)?;
                match setup {
                    0 => {
                        a.mov(ax, 0x7FFFu32)?;
                        a.add(ax, 1)?;
                    }
                    1 => {
                        a.mov(al, 0u32)?;
                        a.cmp(al, 1)?;
                    }
                    _ => {
                        a.stc()?;
                        a.mov(ax, 0xFFFFu32)?;
                        a.inc(ax)?;
                    }
                }
                a.set_label(l)?;
                fault(a)
            });
            let pushed = bus.r16(RDATA + 0xFFFC) as u32;
            assert_eq!(
                pushed & STATUS,
                want,
                "setup {setup}: pushed FLAGS {pushed:#06x}"
            );
        }
    }
}

/// `run` returning in the middle of a block (the budget ends right after an ALU
/// instruction) leaves exact EFLAGS for the machine to read; the next `run` picks up
/// from them, also after the machine changed them.
#[test]
fn eflags_are_exact_between_runs() {
    let (mut cpu, mut bus, _) = prepare(32, |a| {
        a.mov(eax, 0x7FFF_FFFFu32)?;
        a.add(eax, 1)?;
        a.setc(bl)?;
        a.seto(bh)?;
        Ok(Vec::new())
    });
    cpu.run(&mut bus, 2);
    // 7FFFFFFFh + 1: OF, SF, AF, PF (low byte 00h), no CF.
    assert_eq!(cpu.eflags & STATUS, OF | SF | AF | PF);
    // The machine sets CF (as a BIOS service would) and clears OF before resuming.
    cpu.eflags = (cpu.eflags | CF) & !OF;
    cpu.run(&mut bus, LIMIT);
    assert_eq!(
        cpu.regs[EBX] & 0xFFFF,
        0x0001,
        "SETC saw CF = 1, SETO saw OF = 0"
    );
}
