//! The handler table: every pre-decoded [`Entry`] names its handler by an index into
//! one array of monomorphic functions (`Table::<B>::FNS`), so executing an instruction
//! is one indirect call into code specialised for its operation, operand form and
//! operand size — no size switch, no operand-location branch, no second jump table.
//!
//! Rows are chosen once per instruction at decode time by [`select`] from the entry
//! `decode::translate` built from iced's `Code`. Forms without a specialised handler
//! run [`generic`], the operand-generic interpreter (`Cpu::exec_generic`), so an
//! instruction is never lost: it is either specialised here or handled there (and
//! `decode`'s coverage test walks every `Code` to prove the latter has a row).

use super::arith::*;
use super::control::*;
use super::data::*;
use super::shift::*;
use super::stack::*;
use crate::decode::{Entry, Loc, Op};
use crate::{Bus, Cpu, Res};
use std::marker::PhantomData;

/// An instruction handler; `cpu.eip` already points at the next instruction. On an
/// error the handler leaves registers, memory and flags as they were before it ran.
pub(crate) type Handler<B> = fn(&mut Cpu, &mut B, &Entry) -> Res<()>;

/// Operand sizes as types, so handlers are generated once per size by the compiler.
pub(crate) trait Sz {
    /// Width in bytes (1, 2, 4).
    const N: u32;
    const MASK: u32;
    fn get(c: &Cpu, r: u8) -> u32;
    fn set(c: &mut Cpu, r: u8, v: u32);
    /// Sign-extends a value of this size to 32 bits.
    fn sext(v: u32) -> u32;
}

pub(crate) struct S8;
pub(crate) struct S16;
pub(crate) struct S32;

impl Sz for S8 {
    const N: u32 = 1;
    const MASK: u32 = 0xFF;
    #[inline(always)]
    fn get(c: &Cpu, r: u8) -> u32 {
        // 0–3 are AL..BL, 4–7 AH..BH (bits 15–8 of EAX..EBX).
        let r = r as usize;
        (c.regs[r & 3] >> ((r & 4) << 1)) & 0xFF
    }
    #[inline(always)]
    fn set(c: &mut Cpu, r: u8, v: u32) {
        let r = r as usize;
        let sh = (r & 4) << 1;
        let x = &mut c.regs[r & 3];
        *x = (*x & !(0xFF << sh)) | ((v & 0xFF) << sh);
    }
    #[inline(always)]
    fn sext(v: u32) -> u32 {
        v as u8 as i8 as i32 as u32
    }
}

impl Sz for S16 {
    const N: u32 = 2;
    const MASK: u32 = 0xFFFF;
    #[inline(always)]
    fn get(c: &Cpu, r: u8) -> u32 {
        c.regs[r as usize & 7] & 0xFFFF
    }
    #[inline(always)]
    fn set(c: &mut Cpu, r: u8, v: u32) {
        let x = &mut c.regs[r as usize & 7];
        *x = (*x & !0xFFFF) | (v & 0xFFFF);
    }
    #[inline(always)]
    fn sext(v: u32) -> u32 {
        v as u16 as i16 as i32 as u32
    }
}

impl Sz for S32 {
    const N: u32 = 4;
    const MASK: u32 = 0xFFFF_FFFF;
    #[inline(always)]
    fn get(c: &Cpu, r: u8) -> u32 {
        c.regs[r as usize & 7]
    }
    #[inline(always)]
    fn set(c: &mut Cpu, r: u8, v: u32) {
        c.regs[r as usize & 7] = v;
    }
    #[inline(always)]
    fn sext(v: u32) -> u32 {
        v
    }
}

/// Runs the operand-generic interpreter: every form without a specialised row.
pub(crate) fn generic<B: Bus>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    c.exec_generic(bus, e)
}

// Row numbers. Each specialised family occupies a contiguous range; sized families
// have three rows per form (8, 16, 32 bits in that order).
pub(crate) const GENERIC: u16 = 0;
/// ADD OR ADC SBB AND SUB XOR CMP TEST × forms RR RI RM MR MI × size.
const ALU: u16 = 8;
const ALU_FORMS: u16 = 5;
const MOV: u16 = ALU + 9 * ALU_FORMS * 3; // RR RI RM MR MI × size
const INCDEC: u16 = MOV + 5 * 3; // inc r, dec r, inc m, dec m × size
const PUSHPOP: u16 = INCDEC + 4 * 3; // push r, pop r, push imm × size (16/32 used)
const JCC: u16 = PUSHPOP + 3 * 3; // 16 conditions × branch size (16, 32)
const BRANCH: u16 = JCC + 32; // jmp rel, call rel, ret (imm) × size (16, 32)
const LEA: u16 = BRANCH + 6; // dest size 16/32
const MOVX: u16 = LEA + 2; // movzx/movsx × src reg/mem × src size 8/16 × dst 16/32
const SHIFT: u16 = MOVX + 16; // ROL ROR RCL RCR SHL SHR SAL SAR of a register by imm × size
/// One past the last row.
const END: u16 = SHIFT + 8 * 3;
/// The table's length: a power of two so the index is masked, not bounds-checked.
const N: usize = 512;
const _: () = assert!((END as usize) <= N);

/// The handler array for one bus type.
pub(crate) struct Table<B>(PhantomData<B>);

impl<B: Bus> Table<B> {
    pub(crate) const FNS: [Handler<B>; N] = {
        let mut t: [Handler<B>; N] = [generic::<B>; N];
        // Three sizes of one generic handler, from row `$i`.
        macro_rules! sized {
            ($i:expr, $f:ident $(, $g:ty)*) => {{
                let i = $i as usize;
                t[i] = $f::<B, $($g,)* S8>;
                t[i + 1] = $f::<B, $($g,)* S16>;
                t[i + 2] = $f::<B, $($g,)* S32>;
            }};
        }
        // The five forms of one two-operand ALU kind `$k`.
        macro_rules! alu {
            ($k:expr, $K:ty) => {{
                let base = ALU + $k * ALU_FORMS * 3;
                sized!(base, alu_rr, $K);
                sized!(base + 3, alu_ri, $K);
                sized!(base + 6, alu_rm, $K);
                sized!(base + 9, alu_mr, $K);
                sized!(base + 12, alu_mi, $K);
            }};
        }
        alu!(0, Add);
        alu!(1, Or);
        alu!(2, Adc);
        alu!(3, Sbb);
        alu!(4, And);
        alu!(5, Sub);
        alu!(6, Xor);
        alu!(7, Cmp);
        alu!(8, Test);
        sized!(MOV, mov_rr);
        sized!(MOV + 3, mov_ri);
        sized!(MOV + 6, mov_rm);
        sized!(MOV + 9, mov_mr);
        sized!(MOV + 12, mov_mi);
        sized!(INCDEC, inc_r);
        sized!(INCDEC + 3, dec_r);
        sized!(INCDEC + 6, inc_m);
        sized!(INCDEC + 9, dec_m);
        sized!(PUSHPOP, push_r);
        sized!(PUSHPOP + 3, pop_r);
        sized!(PUSHPOP + 6, push_i);
        macro_rules! jcc {
            ($($c:literal)*) => {$(
                t[JCC as usize + 2 * $c] = jcc::<B, $c, S16>;
                t[JCC as usize + 2 * $c + 1] = jcc::<B, $c, S32>;
            )*};
        }
        jcc!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
        t[BRANCH as usize] = jmp_rel::<B, S16>;
        t[BRANCH as usize + 1] = jmp_rel::<B, S32>;
        t[BRANCH as usize + 2] = call_rel::<B, S16>;
        t[BRANCH as usize + 3] = call_rel::<B, S32>;
        t[BRANCH as usize + 4] = ret_near::<B, S16>;
        t[BRANCH as usize + 5] = ret_near::<B, S32>;
        t[LEA as usize] = lea::<B, S16>;
        t[LEA as usize + 1] = lea::<B, S32>;
        macro_rules! movx {
            ($i:expr, $f:ident) => {{
                let i = MOVX as usize + $i;
                t[i] = $f::<B, S8, S16>;
                t[i + 1] = $f::<B, S8, S32>;
                t[i + 2] = $f::<B, S16, S16>;
                t[i + 3] = $f::<B, S16, S32>;
            }};
        }
        movx!(0, movzx_r);
        movx!(4, movzx_m);
        movx!(8, movsx_r);
        movx!(12, movsx_m);
        macro_rules! shifts {
            ($($k:literal)*) => {$( sized!(SHIFT + 3 * $k, shift_ri, Kind<$k>); )*};
        }
        shifts!(0 1 2 3 4 5 6 7);
        t
    };
}

/// Dispatches one entry through the table.
#[inline(always)]
pub(crate) fn run<B: Bus>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    // A constant array indexed at run time: the compiler emits it once per bus type
    // as read-only data and loads the pointer from it.
    let fns: &[Handler<B>; N] = &Table::<B>::FNS;
    fns[e.h as usize & (N - 1)](c, bus, e)
}

fn size_idx(size: u8) -> Option<u16> {
    match size {
        1 => Some(0),
        2 => Some(1),
        4 => Some(2),
        _ => None,
    }
}

/// Chooses the row for a translated entry: a specialised handler when one exists for
/// its operation, form and size, else [`GENERIC`]. Only instructions every CPU model
/// has are specialised, because the block builder may turn an entry into `Op::Ud`
/// after this (the model check) and `Ud` must reach the generic handler.
pub(crate) fn select(e: &Entry) -> u16 {
    select_row(e).unwrap_or(GENERIC)
}

fn select_row(e: &Entry) -> Option<u16> {
    use Loc::{Imm, Mem, Reg};
    let s = size_idx(e.size);
    // 16/32-bit-only families: row offset 0 for 16 bits, 1 for 32.
    let w = match e.size {
        2 => Some(0),
        4 => Some(1),
        _ => None,
    };
    Some(match e.op {
        Op::AluRR | Op::AluRI | Op::AluRM | Op::AluMR | Op::AluMI => {
            let form = match e.op {
                Op::AluRR => 0,
                Op::AluRI => 1,
                Op::AluRM => 2,
                Op::AluMR => 3,
                _ => 4,
            };
            if e.sub > 8 {
                return None;
            }
            ALU + (e.sub as u16 * ALU_FORMS + form) * 3 + s?
        }
        Op::MovRR => MOV + s?,
        Op::MovRI => MOV + 3 + s?,
        Op::MovRM => MOV + 6 + s?,
        Op::MovMR => MOV + 9 + s?,
        Op::Mov if e.dst == Mem && e.src == Imm => MOV + 12 + s?,
        Op::IncR => INCDEC + s?,
        Op::DecR => INCDEC + 3 + s?,
        Op::Inc if e.dst == Mem => INCDEC + 6 + s?,
        Op::Dec if e.dst == Mem => INCDEC + 9 + s?,
        Op::PushR => PUSHPOP + s?,
        Op::PopR => PUSHPOP + 3 + s?,
        Op::Push if e.dst == Imm => PUSHPOP + 6 + s?,
        Op::Jcc => JCC + 2 * (e.sub as u16 & 15) + w?,
        Op::Jmp => BRANCH + w?,
        Op::Call => BRANCH + 2 + w?,
        Op::Ret => BRANCH + 4 + w?,
        Op::Lea if e.src == Mem => LEA + w?,
        Op::Movzx | Op::Movsx => {
            let src = match e.src {
                Reg(_) => 0,
                Mem => 4,
                _ => return None,
            };
            let op = if e.op == Op::Movzx { 0 } else { 8 };
            let ss = match e.ssize {
                1 => 0,
                2 => 2,
                _ => return None,
            };
            MOVX + op + src + ss + w?
        }
        Op::Shift if matches!(e.dst, Reg(_)) && e.src == Imm => SHIFT + 3 * e.sub as u16 + s?,
        _ => return None,
    })
}
