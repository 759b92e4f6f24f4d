//! Unit tests of what the hardware-recorded set does not cover: the FNSTENV/FNSAVE
//! images in their four layouts, FRSTOR, the FIP/FCS/FOP/FDP/FDS rules, #NM and #MF.
//! Every expected value is derived by hand from the SDM in the comment next to it; the
//! programs are hand-assembled so the opcode bytes the FPU records are explicit.

use super::sf::*;
use super::*;
use crate::regs::{
    ATTR_ACCESSED, ATTR_CODE, ATTR_DB, ATTR_G, ATTR_P, ATTR_RW, ATTR_S, CR0_EM, CR0_MP, CR0_NE,
    CR0_PE, CR0_TS, CS, DS, EAX, EBX, ESP, FS, GS, SS,
};
use crate::{Stop, NM};

/// 320 KB of RAM; ports read as all ones.
struct Ram(Vec<u8>);

impl Bus for Ram {
    fn read8(&mut self, a: u32) -> u8 {
        *self.0.get(a as usize).unwrap_or(&0xFF)
    }
    fn write8(&mut self, a: u32, v: u8) {
        if let Some(b) = self.0.get_mut(a as usize) {
            *b = v;
        }
    }
    fn io_read(&mut self, _port: u16, _size: u8) -> u32 {
        0xFFFF_FFFF
    }
    fn io_write(&mut self, _port: u16, _size: u8, _v: u32) {}
}

impl Ram {
    fn load(&mut self, a: u32, bytes: &[u8]) {
        self.0[a as usize..a as usize + bytes.len()].copy_from_slice(bytes);
    }
    fn r16(&self, a: u32) -> u16 {
        u16::from_le_bytes([self.0[a as usize], self.0[a as usize + 1]])
    }
    fn r32(&self, a: u32) -> u32 {
        u32::from_le_bytes(self.0[a as usize..a as usize + 4].try_into().unwrap())
    }
    fn w16(&mut self, a: u32, v: u16) {
        self.load(a, &v.to_le_bytes());
    }
    fn w32(&mut self, a: u32, v: u32) {
        self.load(a, &v.to_le_bytes());
    }
}

const CODE_RM: u32 = 0x10000; // CS = 1000h
const DATA_RM: u32 = 0x20000; // DS = 2000h
const EXTRA_RM: u32 = 0x28000; // ES = 2800h
const NM_HANDLER: u32 = 0x0700;
const MF_HANDLER: u32 = 0x0800;

/// Real mode: CS = 1000h, DS = 2000h, ES = 2800h, SS = 3000h, SP = FFFEh; the IVT sends
/// #NM to 0000:0700 and #MF to 0000:0800, each a HLT.
fn real_mode(code: &[u8]) -> (Cpu, Ram) {
    let mut ram = Ram(vec![0; 0x50000]);
    ram.load(CODE_RM, code);
    ram.w32(4 * NM as u32, NM_HANDLER);
    ram.w32(4 * MF as u32, MF_HANDLER);
    ram.load(NM_HANDLER, &[0xF4]);
    ram.load(MF_HANDLER, &[0xF4]);
    let mut cpu = Cpu::new();
    cpu.fpu_present = true;
    cpu.seg[CS].load_real(0x1000);
    cpu.seg[DS].load_real(0x2000);
    cpu.seg[crate::regs::ES].load_real(0x2800);
    cpu.seg[SS].load_real(0x3000);
    cpu.eip = 0;
    cpu.regs[ESP] = 0xFFFE;
    (cpu, ram)
}

const CODE_PM: u32 = 0x1000;

/// Flat 32-bit protected mode at CPL 0: CS = 08h, DS = ES = SS = 10h, base 0, 4 GB.
fn flat32(code: &[u8]) -> (Cpu, Ram) {
    let mut ram = Ram(vec![0; 0x50000]);
    ram.load(CODE_PM, code);
    let mut cpu = Cpu::new();
    cpu.fpu_present = true;
    cpu.cr0 |= CR0_PE | CR0_NE;
    let attr = ATTR_P | ATTR_S | ATTR_RW | ATTR_ACCESSED | ATTR_DB | ATTR_G;
    cpu.seg[CS] = crate::Segment::new(0x08, 0, 0xFFFF_FFFF, attr | ATTR_CODE);
    for s in [DS, crate::regs::ES, SS, FS, GS] {
        cpu.seg[s] = crate::Segment::new(0x10, 0, 0xFFFF_FFFF, attr);
    }
    cpu.eip = CODE_PM;
    cpu.regs[ESP] = 0x8000;
    (cpu, ram)
}

fn run(cpu: &mut Cpu, ram: &mut Ram) {
    assert_eq!(
        cpu.run(ram, 1000),
        Stop::Halt,
        "no HLT; eip = {:#x}",
        cpu.eip
    );
}

// ---------------------------------------------------------------------------------
// FNSTENV layouts. The same program in each mode:
//   FNINIT                 FCW = 037Fh, FSW = 0, all tags empty, pointers 0
//   FLD1                   push 1.0
//   FLD dword [2.0]        push 2.0 — the last non-control instruction
//   FLDCW [0360h]          control: leaves FIP/FOP/FDP alone
//   FNSTENV [dest]
// Common expectations (SDM Vol. 1 §8.1.3, §8.1.7, FINIT/FLD pages):
//   FCW = 0360h as loaded (bit 6 set, IM…ZM,OM,UM unmasked, PM masked).
//   FSW: two pushes from TOP = 0 leave TOP = 6 → 6 << 11 = 3000h, no flags.
//   FTW: the pushes filled physical R7 (1.0) and R6 (2.0), both valid (00);
//        R0–R5 empty (11) → 0000_1111_1111_1111b = 0FFFh.
// After FNSTENV all exceptions are masked: FCW = 037Fh (SDM "FSTENV/FNSTENV").
// ---------------------------------------------------------------------------------

/// Protected mode, 32-bit operand size: the 28-byte image of SDM Vol. 1 Figure 8-9.
#[test]
fn fnstenv_protected_32() {
    let code = [
        0xDB, 0xE3, // 1000: fninit
        0xD9, 0xE8, // 1002: fld1
        0xD9, 0x05, 0x00, 0x20, 0x00,
        0x00, // 1004: fld dword [2000h]   (D9 /0, mod 00 rm 101)
        0xD9, 0x2D, 0x04, 0x20, 0x00, 0x00, // 100A: fldcw [2004h]       (D9 /5)
        0xD9, 0x35, 0x00, 0x30, 0x00, 0x00, // 1010: fnstenv [3000h]     (D9 /6)
        0xF4,
    ];
    let (mut cpu, mut ram) = flat32(&code);
    ram.w32(0x2000, 0x4000_0000); // 2.0f
    ram.w16(0x2004, 0x0360);
    run(&mut cpu, &mut ram);
    let d = 0x3000;
    // Words 0–2 hold FCW, FSW, FTW in bits 15:0 (bits 31:16 reserved).
    assert_eq!(ram.r32(d) & 0xFFFF, 0x0360);
    assert_eq!(ram.r32(d + 4) & 0xFFFF, 0x3000);
    assert_eq!(ram.r32(d + 8) & 0xFFFF, 0x0FFF);
    // FPU instruction pointer offset: the FLD m32 at 1004h.
    assert_eq!(ram.r32(d + 12), 0x1004);
    // Bits 15:0 FCS = 08h; bits 26:16 the opcode: low 3 bits of D9 (001b) and the ModR/M
    // byte 05h → 105h; bits 31:27 zero. → 0105_0008h.
    assert_eq!(ram.r32(d + 16), 0x0105_0008);
    // Operand pointer: offset 2000h, selector DS = 10h in bits 15:0.
    assert_eq!(ram.r32(d + 20), 0x2000);
    assert_eq!(ram.r32(d + 24) & 0xFFFF, 0x0010);
    assert_eq!(cpu.fpu.cw, 0x037F);
}

/// Protected mode, 16-bit operand size: the 14-byte image of Figure 8-11 (no opcode).
#[test]
fn fnstenv_protected_16() {
    let code = [
        0xDB, 0xE3, // 1000: fninit
        0xD9, 0xE8, // 1002: fld1
        0xD9, 0x05, 0x00, 0x20, 0x00, 0x00, // 1004: fld dword [2000h]
        0xD9, 0x2D, 0x04, 0x20, 0x00, 0x00, // 100A: fldcw [2004h]
        0x66, 0xD9, 0x35, 0x00, 0x30, 0x00, 0x00, // 1010: o16 fnstenv [3000h]
        0xF4,
    ];
    let (mut cpu, mut ram) = flat32(&code);
    ram.w32(0x2000, 0x4000_0000);
    ram.w16(0x2004, 0x0360);
    ram.load(0x300E, &[0xAA, 0xAA]);
    run(&mut cpu, &mut ram);
    let d = 0x3000;
    assert_eq!(ram.r16(d), 0x0360); // FCW
    assert_eq!(ram.r16(d + 2), 0x3000); // FSW
    assert_eq!(ram.r16(d + 4), 0x0FFF); // FTW
    assert_eq!(ram.r16(d + 6), 0x1004); // FIP offset
    assert_eq!(ram.r16(d + 8), 0x0008); // FCS
    assert_eq!(ram.r16(d + 10), 0x2000); // FDP offset
    assert_eq!(ram.r16(d + 12), 0x0010); // FDS
    assert_eq!(ram.r16(d + 14), 0xAAAA, "only 14 bytes are written");
}

/// The real-mode program: in real mode the FPU keeps 20/32-bit linear addresses.
///   0000: DB E3           fninit
///   0002: D9 E8           fld1
///   0004: 26 D9 06 00 01  fld dword es:[0100h]  (prefix 26, D9 /0 mod 00 rm 110 disp16)
///   0009: D9 2E 04 01     fldcw [0104h]
///   000D: ..              fnstenv [0200h]
/// FIP = CS·16 + IP of the FLD's first byte, its prefix (SDM §8.1.8: "the x87 FPU
/// instruction pointer points to any prefixes"): 10000h + 4 = 10004h.
/// FOP = 001b : 06h = 106h (the prefix is not part of the opcode, §8.1.9).
/// FDP = ES·16 + 0100h = 28000h + 100h = 28100h.
fn real_program(fnstenv: &[u8]) -> Vec<u8> {
    let mut code = vec![
        0xDB, 0xE3, 0xD9, 0xE8, 0x26, 0xD9, 0x06, 0x00, 0x01, 0xD9, 0x2E, 0x04, 0x01,
    ];
    code.extend_from_slice(fnstenv);
    code.push(0xF4);
    code
}

/// Real mode, 32-bit operand size: Figure 8-10.
#[test]
fn fnstenv_real_32() {
    let code = real_program(&[0x66, 0xD9, 0x36, 0x00, 0x02]); // o32 fnstenv [0200h]
    let (mut cpu, mut ram) = real_mode(&code);
    ram.w32(EXTRA_RM + 0x100, 0x4000_0000);
    ram.w16(DATA_RM + 0x104, 0x0360);
    run(&mut cpu, &mut ram);
    let d = DATA_RM + 0x200;
    assert_eq!(ram.r32(d) & 0xFFFF, 0x0360);
    assert_eq!(ram.r32(d + 4) & 0xFFFF, 0x3000);
    assert_eq!(ram.r32(d + 8) & 0xFFFF, 0x0FFF);
    // Bits 15:0: FIP 15:0 = 0004h.
    assert_eq!(ram.r32(d + 12) & 0xFFFF, 0x0004);
    // Bits 10:0 FOP = 106h, bit 11 = 0, bits 27:12 FIP 31:16 = 0001h, bits 31:28 = 0
    // → 0001h << 12 | 106h = 0000_1106h.
    assert_eq!(ram.r32(d + 16), 0x0000_1106);
    // Bits 15:0: FDP 15:0 = 8100h.
    assert_eq!(ram.r32(d + 20) & 0xFFFF, 0x8100);
    // Bits 27:12 FDP 31:16 = 0002h, bits 11:0 and 31:28 zero → 0000_2000h.
    assert_eq!(ram.r32(d + 24), 0x0000_2000);
    assert_eq!(cpu.fpu.cw, 0x037F);
}

/// Real mode, 16-bit operand size: Figure 8-12.
#[test]
fn fnstenv_real_16() {
    let code = real_program(&[0xD9, 0x36, 0x00, 0x02]); // fnstenv [0200h]
    let (mut cpu, mut ram) = real_mode(&code);
    ram.w32(EXTRA_RM + 0x100, 0x4000_0000);
    ram.w16(DATA_RM + 0x104, 0x0360);
    run(&mut cpu, &mut ram);
    let d = DATA_RM + 0x200;
    assert_eq!(ram.r16(d), 0x0360);
    assert_eq!(ram.r16(d + 2), 0x3000);
    assert_eq!(ram.r16(d + 4), 0x0FFF);
    assert_eq!(ram.r16(d + 6), 0x0004); // FIP 15:0
                                        // Bits 15:12 FIP 19:16 = 1, bit 11 = 0, bits 10:0 FOP = 106h → 1106h.
    assert_eq!(ram.r16(d + 8), 0x1106);
    assert_eq!(ram.r16(d + 10), 0x8100); // FDP 15:0
                                         // Bits 15:12 FDP 19:16 = 2, bits 11:0 = 0 → 2000h.
    assert_eq!(ram.r16(d + 12), 0x2000);
}

// ---------------------------------------------------------------------------------
// FNSAVE / FRSTOR (SDM "FSAVE/FNSAVE", Figures 8-9…8-12 plus the register area).
// ---------------------------------------------------------------------------------

/// Protected mode, 108 bytes: the 28-byte environment, then ST(0)…ST(7) ten bytes each
/// (significand first, then sign/exponent); afterwards the FPU is initialized.
///   1000: fninit; 1002: fld1; 1004: fldpi (D9 EB); 1006: fnsave [3000h]
#[test]
fn fnsave_protected_32_then_frstor() {
    let code = [
        0xDB, 0xE3, // 1000: fninit
        0xD9, 0xE8, // 1002: fld1
        0xD9, 0xEB, // 1004: fldpi
        0xDD, 0x35, 0x00, 0x30, 0x00, 0x00, // 1006: fnsave [3000h]   (DD /6)
        0xDD, 0x25, 0x00, 0x30, 0x00, 0x00, // 100C: frstor [3000h]   (DD /4)
        0xF4,
    ];
    let (mut cpu, mut ram) = flat32(&code);
    // Stop after FNSAVE to look at the image and the initialized FPU.
    let stop = cpu.run(&mut ram, 4);
    assert_eq!(stop, Stop::Budget);
    let d = 0x3000;
    assert_eq!(ram.r32(d) & 0xFFFF, 0x037F);
    assert_eq!(ram.r32(d + 4) & 0xFFFF, 0x3000); // TOP = 6
    assert_eq!(ram.r32(d + 8) & 0xFFFF, 0x0FFF);
    assert_eq!(ram.r32(d + 12), 0x1004); // FIP: FLDPI
                                         // FOP: 001b : EBh = 1EBh; FCS = 08h.
    assert_eq!(ram.r32(d + 16), 0x01EB_0008);
    // ST(0) = π rounded to nearest: 4000 C90FDAA22168C235h (SDM Table 8-? constants:
    // π = C90FDAA2 2168C234 C4C6…h·2^-62, the next bits 1100… round up).
    let st0 = &ram.0[(d + 28) as usize..(d + 38) as usize];
    assert_eq!(
        st0,
        &[0x35, 0xC2, 0x68, 0x21, 0xA2, 0xDA, 0x0F, 0xC9, 0x00, 0x40]
    );
    // ST(1) = 1.0 = 3FFF 8000000000000000h.
    let st1 = &ram.0[(d + 38) as usize..(d + 48) as usize];
    assert_eq!(st1, &[0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F]);
    // FNSAVE then initializes: FCW 037Fh, FSW 0, every register empty.
    assert_eq!(cpu.fpu.cw, 0x037F);
    assert_eq!(cpu.fpu.sw, 0);
    assert_eq!(cpu.fpu.tag_word(), 0xFFFF);
    // FRSTOR brings everything back.
    run(&mut cpu, &mut ram);
    assert_eq!(cpu.fpu.sw, 0x3000);
    assert_eq!(cpu.fpu.tag_word(), 0x0FFF);
    assert_eq!(
        cpu.fpu.st(0),
        F80::new(false, 0x4000, 0xC90F_DAA2_2168_C235)
    );
    assert_eq!(cpu.fpu.st(1), F80::ONE);
    assert_eq!(
        (cpu.fpu.fip, cpu.fpu.fcs, cpu.fpu.fop),
        (0x1004, 0x08, 0x1EB)
    );
}

/// Real mode, 16-bit operand size: 94 bytes = the 14-byte image (Figure 8-12) and the
/// registers from offset 14.
///   0000: fninit; 0002: fldz (D9 EE); 0004: fnsave [0300h]
#[test]
fn fnsave_real_16() {
    let code = [
        0xDB, 0xE3, // 0000: fninit
        0xD9, 0xEE, // 0002: fldz
        0xDD, 0x36, 0x00, 0x03, // 0004: fnsave [0300h]
        0xF4,
    ];
    let (mut cpu, mut ram) = real_mode(&code);
    ram.load(DATA_RM + 0x300 + 94, &[0xAA]);
    run(&mut cpu, &mut ram);
    let d = DATA_RM + 0x300;
    assert_eq!(ram.r16(d), 0x037F);
    assert_eq!(ram.r16(d + 2), 0x3800); // one push: TOP = 7
                                        // R7 holds +0.0: tag 01 (zero); R0–R6 empty → 01b << 14 | 3FFFh = 7FFFh.
    assert_eq!(ram.r16(d + 4), 0x7FFF);
    assert_eq!(ram.r16(d + 6), 0x0002); // FIP 15:0 of 10002h
                                        // FIP 19:16 = 1 in bits 15:12; FOP = 001b : EEh = 1EEh.
    assert_eq!(ram.r16(d + 8), 0x11EE);
    // ST(0) = +0.0: ten zero bytes at offset 14.
    assert_eq!(&ram.0[(d + 14) as usize..(d + 24) as usize], &[0u8; 10]);
    assert_eq!(ram.0[(d + 94) as usize], 0xAA, "only 94 bytes are written");
    assert_eq!(cpu.fpu.tag_word(), 0xFFFF);
}

// ---------------------------------------------------------------------------------
// Pointer rules (SDM Vol. 1 §8.1.8–8.1.9).
// ---------------------------------------------------------------------------------

/// Non-control instructions record FIP/FCS/FOP; those with a memory operand also
/// FDP/FDS (the selector of the segment actually used); control instructions leave
/// them alone; FNINIT clears them.
#[test]
fn pointers_follow_the_last_noncontrol_instruction() {
    let code = [
        0xDB, 0xE3, // 1000: fninit
        0x2E, 0xDD, 0x05, 0x00, 0x20, 0x00, 0x00, // 1002: fld qword cs:[2000h] (DD /0)
        0xD9, 0x3D, 0x10, 0x20, 0x00, 0x00, // 1009: fnstcw [2010h]      control
        0xDB, 0xE2, // 100F: fnclex                   control
        0xD9, 0xD0, // 1011: fnop                     non-control, no operand
        0xF4,
    ];
    let (mut cpu, mut ram) = flat32(&code);
    ram.load(0x2000, &1.5f64.to_bits().to_le_bytes());
    // After FLD: FIP = 1002h (the CS prefix), FOP = 101b : 05h = 505h, FDP = 2000h with
    // FDS = CS = 08h (the override).
    assert_eq!(cpu.run(&mut ram, 2), Stop::Budget);
    assert_eq!(
        (cpu.fpu.fip, cpu.fpu.fcs, cpu.fpu.fop),
        (0x1002, 0x08, 0x505)
    );
    assert_eq!((cpu.fpu.fdp, cpu.fpu.fds), (0x2000, 0x08));
    // FNSTCW and FNCLEX are control instructions: nothing changes.
    assert_eq!(cpu.run(&mut ram, 2), Stop::Budget);
    assert_eq!((cpu.fpu.fip, cpu.fpu.fop), (0x1002, 0x505));
    assert_eq!(ram.r16(0x2010), 0x037F);
    // FNOP is not a control instruction: FIP = 1011h, FOP = 001b : D0h = 1D0h.
    run(&mut cpu, &mut ram);
    assert_eq!(
        (cpu.fpu.fip, cpu.fpu.fcs, cpu.fpu.fop),
        (0x1011, 0x08, 0x1D0)
    );
    // 1.5 = 3FFF C000000000000000h was loaded exactly.
    assert_eq!(
        cpu.fpu.st(0),
        F80::new(false, 0x3FFF, 0xC000_0000_0000_0000)
    );
    // FNINIT clears the pointers and the opcode.
    cpu.fpu.init();
    assert_eq!(
        (
            cpu.fpu.fip,
            cpu.fpu.fcs,
            cpu.fpu.fop,
            cpu.fpu.fdp,
            cpu.fpu.fds
        ),
        (0, 0, 0, 0, 0)
    );
}

/// FOP keeps the ModR/M byte as encoded: 16-bit [BX+disp8] (mod 01, rm 111) and 32-bit
/// [ESP+disp8] with a SIB byte (mod 01, rm 100).
#[test]
fn fop_keeps_modrm_of_memory_forms() {
    // Real mode: 0000: D9 47 10  fld dword [bx+10h] → FOP = 001b : 47h = 147h.
    let (mut cpu, mut ram) = real_mode(&[0xDB, 0xE3, 0xD9, 0x47, 0x10, 0xF4]);
    cpu.regs[EBX] = 0x40;
    run(&mut cpu, &mut ram);
    assert_eq!(cpu.fpu.fop, 0x147);
    assert_eq!(cpu.fpu.fdp, DATA_RM + 0x50);
    // Flat: 1000: DC 44 24 08  fadd qword [esp+8] → FOP = 100b : 44h = 444h.
    let (mut cpu, mut ram) = flat32(&[0xD9, 0xE8, 0xDC, 0x44, 0x24, 0x08, 0xF4]);
    cpu.fpu.init();
    run(&mut cpu, &mut ram);
    assert_eq!(cpu.fpu.fop, 0x444);
    assert_eq!((cpu.fpu.fdp, cpu.fpu.fds), (0x8008, 0x10));
}

// ---------------------------------------------------------------------------------
// #NM (SDM Vol. 3A §2.5 Table 2-2 and "Interrupt 7"): ESC instructions fault when
// CR0.EM or CR0.TS is set; WAIT/FWAIT only when CR0.MP and CR0.TS are both set.
// ---------------------------------------------------------------------------------

/// Runs `code` in real mode with the given CR0 bits; returns the handler reached (the
/// HLT address + 1, or where the program's own HLT left EIP) and the pushed IP.
fn nm_case(code: &[u8], cr0: u32) -> (u32, u16) {
    let (mut cpu, mut ram) = real_mode(code);
    cpu.cr0 |= cr0;
    run(&mut cpu, &mut ram);
    let sp = cpu.regs[ESP] & 0xFFFF;
    (cpu.seg[CS].base + cpu.eip, ram.r16(0x30000 + sp))
}

#[test]
fn nm_on_escape_and_wait() {
    let esc = [0x90, 0xD9, 0xE8, 0xF4]; // 0: nop; 1: fld1; 3: hlt
    let wait = [0x90, 0x9B, 0xF4]; // 0: nop; 1: fwait; 2: hlt
                                   // EM = 1: the ESC faults (#NM at IP 1); WAIT does not (MP = 0).
    assert_eq!(nm_case(&esc, CR0_EM), (NM_HANDLER + 1, 1));
    assert_eq!(nm_case(&wait, CR0_EM).0, CODE_RM + 3);
    // TS = 1, MP = 0: ESC faults, WAIT runs.
    assert_eq!(nm_case(&esc, CR0_TS), (NM_HANDLER + 1, 1));
    assert_eq!(nm_case(&wait, CR0_TS).0, CODE_RM + 3);
    // TS = 1, MP = 1: both fault.
    assert_eq!(nm_case(&esc, CR0_TS | CR0_MP), (NM_HANDLER + 1, 1));
    assert_eq!(nm_case(&wait, CR0_TS | CR0_MP), (NM_HANDLER + 1, 1));
    // MP = 1 alone: nothing faults.
    assert_eq!(nm_case(&esc, CR0_MP).0, CODE_RM + 4);
}

// ---------------------------------------------------------------------------------
// #MF (SDM Vol. 1 §8.6–8.7, Vol. 3A "Interrupt 16"): an unmasked exception sets ES and
// B and leaves the destination unchanged; with CR0.NE = 1 the next *waiting* x87
// instruction (or WAIT) raises #MF before it executes; the FN… forms do not wait.
// With NE = 0 the error is only signalled on FERR# (the machine's IRQ 13 path).
//   0000: DB E3        fninit
//   0002: D9 2E 00 01  fldcw [0100h]   = 037Bh: ZM (bit 2) clear
//   0006: D9 EE        fldz
//   0008: D9 E8        fld1
//   000A: D8 F1        fdiv st0, st1   1/0: ZE, unmasked
//   000C: ..           the probe
// ---------------------------------------------------------------------------------

fn mf_program(probe: &[u8]) -> Vec<u8> {
    let mut c = vec![
        0xDB, 0xE3, 0xD9, 0x2E, 0x00, 0x01, 0xD9, 0xEE, 0xD9, 0xE8, 0xD8, 0xF1,
    ];
    c.extend_from_slice(probe);
    c.push(0xF4);
    c
}

fn mf_case(probe: &[u8], ne: bool) -> (Cpu, Ram) {
    let (mut cpu, mut ram) = real_mode(&mf_program(probe));
    if ne {
        cpu.cr0 |= CR0_NE;
    }
    ram.w16(DATA_RM + 0x100, 0x037B);
    run(&mut cpu, &mut ram);
    (cpu, ram)
}

#[test]
fn mf_at_next_waiting_instruction() {
    // FDIV's unmasked ZE: ST(0) keeps 1.0; FSW = ZE | ES | B with TOP = 6.
    let (cpu, ram) = mf_case(&[0xD9, 0xE8], true); // fld1 waits → #MF at 000Ch
    assert_eq!(cpu.seg[CS].base + cpu.eip, MF_HANDLER + 1);
    let sp = cpu.regs[ESP] & 0xFFFF;
    assert_eq!(
        ram.r16(0x30000 + sp),
        0x000C,
        "#MF is a fault on the waiting instruction"
    );
    assert_eq!(cpu.fpu.sw, ZE | ES | B | (6 << 11));
    assert_eq!(cpu.fpu.st(0), F80::ONE);
    assert!(cpu.fpu_error_pending());
    // FWAIT is a waiting instruction too.
    let (cpu, _) = mf_case(&[0x9B], true);
    assert_eq!(cpu.seg[CS].base + cpu.eip, MF_HANDLER + 1);
}

#[test]
fn mf_not_raised_by_no_wait_forms_or_with_ne_clear() {
    // FNSTSW AX (DF E0) does not wait: AX = FSW = 8000h | 3000h | 80h | 4 = B084h.
    let (cpu, _) = mf_case(&[0xDF, 0xE0], true);
    assert_eq!(cpu.seg[CS].base + cpu.eip, CODE_RM + 0x0F);
    assert_eq!(cpu.regs[EAX] & 0xFFFF, 0xB084);
    // FNCLEX (DB E2) clears the flags, ES and B: nothing is pending afterwards, so a
    // following FLD1 runs.
    let (cpu, _) = mf_case(&[0xDB, 0xE2, 0xD9, 0xE8], true);
    assert_eq!(cpu.seg[CS].base + cpu.eip, CODE_RM + 0x11);
    assert!(!cpu.fpu_error_pending());
    assert_eq!(cpu.fpu.top(), 5);
    // NE = 0: no #MF; the FLD1 executes and the error stays pending (FERR#).
    let (cpu, _) = mf_case(&[0xD9, 0xE8], false);
    assert_eq!(cpu.seg[CS].base + cpu.eip, CODE_RM + 0x0F);
    assert_eq!(cpu.fpu.top(), 5);
    assert!(cpu.fpu_error_pending());
}

/// FLDCW that unmasks an exception flag already set makes it pending (ES and B set from
/// the flags and the new masks, SDM "FLDCW").
#[test]
fn fldcw_unmasking_a_set_flag_makes_it_pending() {
    let mut f = Fpu::default();
    f.init();
    f.sw = PE;
    f.cw = 0x037F;
    f.update_es();
    assert!(!f.error_pending());
    f.cw = 0x035F; // PM clear
    f.update_es();
    assert_eq!(f.sw, PE | ES | B);
}

// ---------------------------------------------------------------------------------
// Power-on and FNINIT state (SDM Vol. 3A Table 9-1; "FINIT/FNINIT").
// ---------------------------------------------------------------------------------

#[test]
fn reset_and_fninit_state() {
    let mut cpu = Cpu::new();
    // Power-up: FCW 0040h, FSW 0, FTW 5555h (every register +0.0, tagged zero).
    assert_eq!(
        (cpu.fpu.cw, cpu.fpu.sw, cpu.fpu.tag_word()),
        (0x0040, 0, 0x5555)
    );
    cpu.fpu.init();
    // FNINIT: FCW 037Fh, FSW 0, FTW FFFFh.
    assert_eq!(
        (cpu.fpu.cw, cpu.fpu.sw, cpu.fpu.tag_word()),
        (0x037F, 0, 0xFFFF)
    );
}

// ---------------------------------------------------------------------------------
// A few results worked by hand from IEEE 754 rounding with precision control.
// ---------------------------------------------------------------------------------

#[test]
fn precision_control_and_rounding_modes() {
    let one = Opnd::reg(F80::ONE);
    let three = Opnd::reg(from_int(3));
    // 1/3 = 0.0101…b = 1.0101…b · 2^-2. At 24 bits: AAAAAA|AA… rounds up to AAAAABh,
    // exponent 3FFFh − 2 = 3FFDh; inexact and rounded up (C1).
    let mut c = Ctx::new(0x007F); // PC = 00 (single), RC nearest
    let r = arith(&mut c, Ar::Div, one, three, &ext_pc(0x007F));
    assert_eq!(r, F80::new(false, 0x3FFD, 0xAAAA_AB00_0000_0000));
    assert_eq!(c.ex, PE | C1);
    // At 64 bits, chopped: AAAA…AAAAh, not rounded up.
    let mut c = Ctx::new(0x0F7F);
    let r = arith(&mut c, Ar::Div, one, three, &ext_pc(0x0F7F));
    assert_eq!(r, F80::new(false, 0x3FFD, 0xAAAA_AAAA_AAAA_AAAA));
    assert_eq!(c.ex, PE);
    // 1 + 2^-64 is halfway between 1 and 1 + 2^-63: to nearest even → 1.0; up → 1 + 2^-63.
    let tiny = Opnd::reg(F80::new(false, 0x3FFF - 64, 1 << 63));
    let mut c = Ctx::new(0x037F);
    assert_eq!(arith(&mut c, Ar::Add, one, tiny, &EXT), F80::ONE);
    let mut c = Ctx::new(0x0B7F);
    assert_eq!(
        arith(&mut c, Ar::Add, one, tiny, &EXT),
        F80::new(false, 0x3FFF, 0x8000_0000_0000_0001)
    );
    // x − x = +0 in every mode but round-down, where it is −0.
    let mut c = Ctx::new(0x077F);
    assert_eq!(arith(&mut c, Ar::Sub, one, one, &EXT), F80::zero(true));
}

#[test]
fn denormal_results_and_underflow() {
    // Smallest normal 2^-16382 halved: 2^-16383 is the denormal 0000 4000000000000000h,
    // exact, so a masked underflow raises nothing (UE needs tiny and inexact).
    let min = Opnd::reg(F80::new(false, 1, 1 << 63));
    let two = Opnd::reg(from_int(2));
    let mut c = Ctx::new(0x037F);
    assert_eq!(
        arith(&mut c, Ar::Div, min, two, &EXT),
        F80::new(false, 0, 1 << 62)
    );
    assert_eq!(c.ex, 0);
    // Unmasked UE (FCW 036Fh): tiny even when exact; the register gets the rounded
    // result with the exponent biased by +24576 (6000h): 2^-16383 → exponent 0 + 6000h.
    let mut c = Ctx::new(0x036F);
    assert_eq!(
        arith(&mut c, Ar::Div, min, two, &EXT),
        F80::new(false, 0x6000, 1 << 63)
    );
    assert_eq!(c.ex, UE);
    // Unmasked OE: max · 2 = 2^16384 → exponent 7FFFh − 6000h = 1FFFh.
    let max = Opnd::reg(F80::new(false, 0x7FFE, 1 << 63));
    let mut c = Ctx::new(0x0377);
    assert_eq!(
        arith(&mut c, Ar::Mul, max, two, &EXT),
        F80::new(false, 0x1FFF, 1 << 63)
    );
    assert_eq!(c.ex, OE);
    // Masked OE, round toward zero: the largest finite value, OE and PE.
    let mut c = Ctx::new(0x0F7F);
    assert_eq!(
        arith(&mut c, Ar::Mul, max, two, &EXT),
        F80::new(false, 0x7FFE, u64::MAX)
    );
    assert_eq!(c.ex, OE | PE);
}

#[test]
fn packed_bcd_round_trip() {
    // −1234567890: digits in nibbles, sign in bit 79.
    let (lo, hi) = int_to_bcd(true, 1_234_567_890);
    assert_eq!((lo, hi), (0x0000_0012_3456_7890, 0x8000));
    assert_eq!(bcd_to_f80(lo, hi), from_int(-1_234_567_890));
}

#[test]
fn integer_store_out_of_range_is_indefinite() {
    // 32768.0 does not fit in 16 bits: IE, integer indefinite 8000h.
    let mut c = Ctx::new(0x037F);
    assert_eq!(store_int(&mut c, from_int(32768), 16), 0x8000);
    assert_eq!(c.ex, IE);
    // −32768.0 fits.
    let mut c = Ctx::new(0x037F);
    assert_eq!(store_int(&mut c, from_int(-32768), 16), 0x8000);
    assert_eq!(c.ex, 0);
    // 2.5 to nearest even is 2 (inexact, not rounded up); up is 3 (C1).
    let v = F80::new(false, 0x4000, 0xA000_0000_0000_0000);
    let mut c = Ctx::new(0x037F);
    assert_eq!(store_int(&mut c, v, 32), 2);
    assert_eq!(c.ex, PE);
    let mut c = Ctx::new(0x0B7F);
    assert_eq!(store_int(&mut c, v, 32), 3);
    assert_eq!(c.ex, PE | C1);
}

/// Guest bytes never panic the host: every x87 opcode with every ModR/M byte, from
/// random FPU states, only produces results or CPU exceptions.
#[test]
fn every_escape_encoding_runs() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for op in 0xD8..=0xDFu8 {
        for modrm in 0..=255u8 {
            for prefix in [None, Some(0x66u8), Some(0x9B)] {
                let mut code = Vec::new();
                code.extend(prefix);
                code.extend([op, modrm, 0x00, 0x10, 0x00, 0x00, 0xF4, 0xF4, 0xF4]);
                let (mut cpu, mut ram) = flat32(&code);
                let st: [F80; 8] =
                    core::array::from_fn(|_| F80::from_bits(rnd() as u128 | (rnd() as u128) << 64));
                cpu.fpu
                    .load(rnd() as u16, rnd() as u16 & !(ES | B), rnd() as u16, &st);
                for r in 0..8 {
                    cpu.regs[r] = 0x2000 + (rnd() as u32 & 0xFF);
                }
                let _ = cpu.run(&mut ram, 4);
            }
        }
    }
}

/// Random and boundary operands through every soft-float routine in every control
/// setting: results only, never a host panic (overflow checks are on in tests).
#[test]
fn soft_float_never_panics() {
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let val = |r: u64, s: u64, x: u64| -> F80 {
        let exp = match r % 6 {
            0 => 0,
            1 => 0x7FFF,
            2 => (s % 80) as u16,
            3 => 0x7FFE - (s % 80) as u16,
            4 => 0x3FFF - 40 + (s % 120) as u16,
            _ => s as u16,
        };
        let m = match (s >> 20) % 4 {
            0 => 1 << 63,
            1 => u64::MAX,
            2 => x & (u64::MAX >> 1),
            _ => x,
        };
        F80::new(r & 0x100 != 0, exp, m)
    };
    let ops = [
        Op::F2xm1,
        Op::Yl2x,
        Op::Yl2xp1,
        Op::Patan,
        Op::Ptan,
        Op::Sin,
        Op::Cos,
        Op::Sincos,
    ];
    for _ in 0..3000 {
        let (a, b) = (val(rnd(), rnd(), rnd()), val(rnd(), rnd(), rnd()));
        let cw = (rnd() as u16 & 0x0F3F) | 0x40;
        for op in [Ar::Add, Ar::Sub, Ar::Subr, Ar::Mul, Ar::Div, Ar::Divr] {
            let mut c = Ctx::new(cw);
            arith(&mut c, op, Opnd::reg(a), Opnd::reg(b), &ext_pc(cw));
        }
        let mut c = Ctx::new(cw);
        sqrt(&mut c, a, &ext_pc(cw));
        round_int(&mut c, a);
        scale(&mut c, a, b);
        prem(&mut c, a, b, false);
        prem(&mut c, a, b, true);
        xtract(&mut c, a);
        compare(&mut c, Opnd::reg(a), Opnd::reg(b), true);
        to_narrow(&mut c, a, &F32);
        to_narrow(&mut c, a, &F64);
        for bits in [16, 32, 64] {
            store_int(&mut c, a, bits);
        }
        let st: [F80; 8] = core::array::from_fn(|i| if i & 1 == 0 { a } else { b });
        for op in ops {
            let mut f = Fpu::default();
            f.load(cw, (rnd() as u16) & 0x3800, rnd() as u16, &st);
            trans::exec(&mut f, op);
        }
    }
}

/// Runs one register-only x87 instruction (`op`, two bytes) in flat 32-bit mode with
/// FCW 037Fh (all masked), ST0 = `st0`, ST1 = `st1`, TOP = 0 (ST0 in R0, ST1 in R1,
/// the rest empty); returns the FPU afterwards.
fn x87_two(op: [u8; 2], st0: F80, st1: F80) -> Fpu {
    let (mut cpu, mut ram) = flat32(&[op[0], op[1], 0xF4]);
    let mut st = [F80::zero(false); 8];
    st[0] = st0;
    st[1] = st1;
    // R0 and R1 valid (00), R2–R7 empty (11).
    cpu.fpu.load(0x037F, 0, 0xFFF0, &st);
    run(&mut cpu, &mut ram);
    cpu.fpu
}

#[test]
fn operands_returned_unchanged_are_never_pseudo_denormals() {
    // SDM Vol. 1 §8.2.2: the FPU takes a pseudo-denormal (exponent 0, J = 1) as a
    // denormal operand (DE) but never produces one. The pseudo-denormal
    // 0000 8000000000000001h has the value of the normal 0001 8000000000000001h
    // (a denormal's exponent is 1 − bias), which is what comes out.
    let pseudo = F80::new(false, 0, 0x8000_0000_0000_0001);
    let normal = F80::new(false, 1, 0x8000_0000_0000_0001);
    let inf = F80::inf(false);
    let cases: [(&str, [u8; 2], F80); 4] = [
        // FPREM/FPREM1 with |ST0| < |ST1|: the remainder is ST0 itself, quotient 0.
        ("FPREM, |ST0| < |ST1|", [0xD9, 0xF8], F80::ONE),
        ("FPREM1, |ST0| < |ST1|", [0xD9, 0xF5], F80::ONE),
        // FPREM with ST1 = ∞ and finite ST0: the result is ST0 (SDM FPREM table).
        ("FPREM, ST1 = +inf", [0xD9, 0xF8], inf),
        // FSCALE with |ST1| < 1: truncated to 0, ST0 · 2^0.
        (
            "FSCALE, ST1 = 0.5",
            [0xD9, 0xFD],
            F80::new(false, 0x3FFE, 1 << 63),
        ),
    ];
    for (what, op, st1) in cases {
        let f = x87_two(op, pseudo, st1);
        assert_eq!(f.st(0), normal, "{what}: result");
        assert_eq!(f.sw & DE, DE, "{what}: DE for the pseudo-denormal operand");
        assert_eq!(f.sw & C2, 0, "{what}: complete");
        // The tag of R0 follows the contents: a normal is valid (00), not special (10).
        assert_eq!(f.tag_word() & 3, 0, "{what}: tag of ST0");
    }
}

#[test]
fn fyl2xp1_of_infinity_with_a_denormal_multiplier_raises_de() {
    // FYL2XP1 with ST0 = +∞: y · log2(+∞) = ∞ with y's sign; a denormal ST1 is a
    // denormal operand (DE), as for FYL2X. The result replaces ST1 and pops: TOP = 1.
    let den = F80::new(true, 0, 1);
    let f = x87_two([0xD9, 0xF9], F80::inf(false), den);
    assert_eq!(f.st(0), F80::inf(true));
    assert_eq!(f.sw & (DE | IE), DE);
    // FYL2X gives the same for comparison.
    let f = x87_two([0xD9, 0xF1], F80::inf(false), den);
    assert_eq!(f.st(0), F80::inf(true));
    assert_eq!(f.sw & (DE | IE), DE);
    // ST0 = −∞ is outside the domain: IE, which takes precedence over DE (SDM Vol. 1
    // §4.9.2), and the masked response is the real indefinite.
    let f = x87_two([0xD9, 0xF9], F80::inf(true), den);
    assert_eq!(f.st(0), F80::INDEFINITE);
    assert_eq!(f.sw & (DE | IE), IE);
}

// ---------------------------------------------------------------------------------
// FXSAVE/FXRSTOR (SDM Vol. 2A "FXSAVE", "FXRSTOR"; Vol. 1 Table 10-2): the 512-byte
// image, 16-byte alignment (#GP(0)), #NM on CR0.EM or CR0.TS, no wait for a pending
// exception, no reinitialisation. Real mode, DS = 2000h.
// ---------------------------------------------------------------------------------

const GP_HANDLER: u32 = 0x0900;

/// Runs `code` with the image area DS:0100h–04FFh filled with AAh and `setup` applied;
/// returns the CPU, the RAM and where the HLT stopped.
fn fx_case(code: &[u8], cr0: u32, setup: impl FnOnce(&mut Ram)) -> (Cpu, Ram, u32) {
    let (mut cpu, mut ram) = real_mode(code);
    ram.w32(4 * 13, GP_HANDLER);
    ram.load(GP_HANDLER, &[0xF4]);
    ram.load(DATA_RM + 0x100, &[0xAA; 0x400]);
    setup(&mut ram);
    cpu.cr0 |= cr0;
    run(&mut cpu, &mut ram);
    let at = cpu.seg[CS].base + cpu.eip;
    (cpu, ram, at)
}

const FXSAVE_100: [u8; 5] = [0x0F, 0xAE, 0x06, 0x00, 0x01]; // fxsave [0100h]
const FXRSTOR_200: [u8; 5] = [0x0F, 0xAE, 0x0E, 0x00, 0x02]; // fxrstor [0200h]

#[test]
fn fxsave_image_layout() {
    // FNINIT; FLD1 → R7 = 1.0 (TOP 7); FLDPI → R6 = π (TOP 6); FXSAVE [0100h].
    let code = [
        &[0xDB, 0xE3, 0xD9, 0xE8, 0xD9, 0xEB][..],
        &FXSAVE_100,
        &[0xF4],
    ]
    .concat();
    let (cpu, ram, at) = fx_case(&code, 0, |_| {});
    assert_eq!(at, CODE_RM + 12);
    let a = DATA_RM + 0x100;
    assert_eq!(ram.r16(a), 0x037F, "FCW");
    assert_eq!(ram.r16(a + 2), 6 << 11, "FSW with TOP = 6");
    assert_eq!(
        ram.0[(a + 4) as usize],
        0xC0,
        "abridged tags: R6 and R7 valid"
    );
    // FLDPI is D9 EB: FOP = (D9h & 7) << 8 | EBh.
    assert_eq!(ram.r16(a + 6), 0x1EB, "FOP");
    // ST(0) = π (significand C90FDAA2 2168C235 rounded to nearest, exponent 4000h),
    // ST(1) = 1.0, each in a 16-byte slot.
    assert_eq!(ram.r32(a + 32), 0x2168_C235);
    assert_eq!(ram.r32(a + 36), 0xC90F_DAA2);
    assert_eq!(ram.r16(a + 40), 0x4000);
    assert_eq!(ram.r32(a + 48), 0);
    assert_eq!(ram.r32(a + 52), 0x8000_0000);
    assert_eq!(ram.r16(a + 56), 0x3FFF);
    // Without SSE, MXCSR/MXCSR_MASK (24–31) and the XMM area (160–415) are untouched.
    assert_eq!(ram.r32(a + 24), 0xAAAA_AAAA);
    assert_eq!(ram.r32(a + 28), 0xAAAA_AAAA);
    assert_eq!(ram.r32(a + 160), 0xAAAA_AAAA);
    // Unlike FSAVE, the FPU keeps its state.
    assert_eq!((cpu.fpu.top(), cpu.fpu.empty), (6, 0x3F));
}

#[test]
fn fxrstor_loads_the_image() {
    // Image: FCW 027Fh, FSW 1000h (TOP 2), abridged tags 04h (only R2 valid), FOP 1EBh,
    // ST(0) = 1.0 → R2.
    let code = [&FXRSTOR_200[..], &[0xF4]].concat();
    let (cpu, _, at) = fx_case(&code, 0, |ram| {
        let a = DATA_RM + 0x200;
        ram.w16(a, 0x027F);
        ram.w16(a + 2, 0x1000);
        ram.load(a + 4, &[0x04, 0]);
        ram.w16(a + 6, 0x1EB);
        ram.load(a + 32, &[0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F]);
    });
    assert_eq!(at, CODE_RM + 6);
    assert_eq!(
        (cpu.fpu.cw, cpu.fpu.sw, cpu.fpu.empty),
        (0x027F, 0x1000, 0xFB)
    );
    assert_eq!(cpu.fpu.fop, 0x1EB);
    assert_eq!(cpu.fpu.regs[2], F80::ONE);
    assert_eq!(cpu.fpu.st(0), F80::ONE);
}

#[test]
fn fxsave_fxrstor_alignment_and_nm() {
    // [0108h] is 8-byte but not 16-byte aligned: #GP(0) for both.
    let save_108 = [0x0F, 0xAE, 0x06, 0x08, 0x01, 0xF4];
    let rstor_108 = [0x0F, 0xAE, 0x0E, 0x08, 0x01, 0xF4];
    for code in [&save_108[..], &rstor_108[..]] {
        let (_, ram, at) = fx_case(code, 0, |_| {});
        assert_eq!(at, GP_HANDLER + 1);
        assert_eq!(ram.r32(DATA_RM + 0x108), 0xAAAA_AAAA);
    }
    // CR0.EM and CR0.TS each give #NM.
    for cr0 in [CR0_EM, CR0_TS, CR0_TS | CR0_MP] {
        let code = [&FXSAVE_100[..], &[0xF4]].concat();
        let (_, ram, at) = fx_case(&code, cr0, |_| {});
        assert_eq!(at, NM_HANDLER + 1, "cr0 {cr0:#x}");
        assert_eq!(ram.r16(DATA_RM + 0x100), 0xAAAA);
    }
}

#[test]
fn fxsave_does_not_wait_for_a_pending_exception() {
    // The #MF program leaves ZE unmasked and pending (FSW = ES | B | ZE, TOP 6); with
    // CR0.NE = 1 FXSAVE still runs and stores that FSW.
    let (mut cpu, mut ram) = real_mode(&mf_program(&FXSAVE_100));
    cpu.cr0 |= CR0_NE;
    ram.w16(DATA_RM + 0x100, 0x037B);
    run(&mut cpu, &mut ram);
    assert_eq!(cpu.seg[CS].base + cpu.eip, CODE_RM + 0x12);
    // FCW 037Bh was overwritten by the image's FCW (the same value).
    assert_eq!(ram.r16(DATA_RM + 0x100), 0x037B);
    assert_eq!(ram.r16(DATA_RM + 0x102), 0x8000 | (6 << 11) | 0x80 | 0x04);
}

#[test]
fn cpuid_fxsr_and_cr4_osfxsr() {
    // CPUID.01H:EDX bit 24 (FXSR), then MOV CR4, EAX with OSFXSR (bit 9) set.
    let code = [
        0x66, 0xB8, 0x01, 0, 0, 0, // mov eax, 1
        0x0F, 0xA2, // cpuid
        0x66, 0x89, 0xD3, // mov ebx, edx
        0x66, 0xB8, 0x00, 0x02, 0, 0, // mov eax, 200h
        0x0F, 0x22, 0xE0, // mov cr4, eax
        0xF4,
    ];
    let (cpu, _, at) = fx_case(&code, 0, |_| {});
    assert_eq!(at, CODE_RM + code.len() as u32);
    assert_ne!(cpu.regs[EBX] & (1 << 24), 0);
    assert_eq!(cpu.cr4, 0x200);
}
