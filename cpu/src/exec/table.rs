//! The handler table: every pre-decoded [`Entry`] names its handler row ([`H`]), and
//! [`run`] dispatches on it with one `match` the compiler turns into a single jump
//! table whose targets are the monomorphic handlers' bodies: one indirect jump into
//! code specialised for the operation, operand form and operand size — no size switch,
//! no operand-location branch, no second jump table. (A table of function pointers was
//! measured ~20 % slower on the same guest code: the call, return and spills around it
//! cost more than the jump table.)
//!
//! Rows are chosen once per instruction at decode time by [`select`] from the entry
//! `decode::translate` built from iced's `Code`. Forms without a specialised handler
//! run [`generic`], the operand-generic interpreter (`Cpu::exec_generic`), so an
//! instruction is never lost: it is either specialised here or handled there (and
//! `decode`'s coverage test walks every `Code` to prove the latter has a row).

use super::arith::*;
use super::cond::*;
use super::control::*;
use super::data::*;
use super::fused::*;
use super::shift::*;
use super::stack::*;
use crate::decode::{Entry, Gpr, Loc, Op};
use crate::{Bus, Cpu, Res};

// Every handler is `fn(&mut Cpu, &mut B, &Entry) -> Res<()>`; `cpu.eip` already points
// at the next instruction. On an error a handler leaves registers, memory and flags as
// they were before it ran. `Err(LEAVE)` is no error: the instruction completed and the
// block must end after it (a taken branch, or a write that hit cached code, a debugger
// watchpoint or a port that asked to stop, flagged in `Cpu::smc`); only rows that can
// write memory or ports check that flag, the others cannot raise it. A handler that
// returns `Ok` leaves EIP pointing at the next instruction: every instruction that
// ends a block (`decode::ends_block`) returns `LEAVE` instead, because the run loop
// goes on to the next entry (for the last one, the sentinel) after an `Ok`.

/// Operand sizes as types, so handlers are generated once per size by the compiler.
pub(crate) trait Sz {
    /// Width in bytes (1, 2, 4).
    const N: u32;
    const MASK: u32;
    fn get(c: &Cpu, r: Gpr) -> u32;
    fn set(c: &mut Cpu, r: Gpr, v: u32);
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
    fn get(c: &Cpu, r: Gpr) -> u32 {
        // 0–3 are AL..BL, 4–7 AH..BH (bits 15–8 of EAX..EBX).
        let r = r as usize;
        (c.regs[r & 3] >> ((r & 4) << 1)) & 0xFF
    }
    #[inline(always)]
    fn set(c: &mut Cpu, r: Gpr, v: u32) {
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
    fn get(c: &Cpu, r: Gpr) -> u32 {
        c.regs[r as usize] & 0xFFFF
    }
    #[inline(always)]
    fn set(c: &mut Cpu, r: Gpr, v: u32) {
        let x = &mut c.regs[r as usize];
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
    fn get(c: &Cpu, r: Gpr) -> u32 {
        c.regs[r as usize]
    }
    #[inline(always)]
    fn set(c: &mut Cpu, r: Gpr, v: u32) {
        c.regs[r as usize] = v;
    }
    #[inline(always)]
    fn sext(v: u32) -> u32 {
        v
    }
}

// Row numbers. Each specialised family occupies a contiguous range of `H` in the order
// the list below declares them; sized families have one row per size (8, 16, 32 bits
// in that order, or 16 and 32 where no byte form exists). `select` computes rows from
// these bases, and the tests check every computed row's name.
const ALU: u16 = 1; // ADD OR ADC SBB AND SUB XOR CMP TEST × forms RR RI RM MR MI × size
const ALU_FORMS: u16 = 5;
const MOV: u16 = ALU + 9 * ALU_FORMS * 3; // RR RI RM MR MI × size
const INCDEC: u16 = MOV + 5 * 3; // inc r, dec r, inc m, dec m × size
const PUSHPOP: u16 = INCDEC + 4 * 3; // push r, pop r, push imm × (16, 32)
const JCC: u16 = PUSHPOP + 3 * 2; // 16 conditions × branch size (16, 32)
const BRANCH: u16 = JCC + 32; // jmp rel, call rel, ret (imm) × (16, 32)
const LEA: u16 = BRANCH + 6; // destination size (16, 32)
const MOVX: u16 = LEA + 2; // movzx/movsx × source reg/mem × source 8/16 × destination 16/32
const SHIFT: u16 = MOVX + 16; // ROL ROR RCL RCR SHL SHR SAL SAR of a register by imm × size
const NEGNOT: u16 = SHIFT + 8 * 3; // neg r, neg m, not r, not m × size
const IMUL: u16 = NEGNOT + 4 * 3; // imul r,r / r,m / r,r,imm / r,m,imm × (16, 32)
const INDIRECT: u16 = IMUL + 4 * 2; // jmp r, jmp m, call r, call m × (16, 32)
const SETCC: u16 = INDIRECT + 4 * 2; // 16 conditions × (r8, m8)
const CMOV: u16 = SETCC + 16 * 2; // 16 conditions × (r32,r32  r32,m32)
const BD: u16 = CMOV + 16 * 2; // mov r,[b+d] × size, mov [b+d],r × size, movzx r32,[b+d] 8/16
const BI: u16 = BD + 8; // lea r32,[b+d]; lea r32 / mov r32 / mov r8 / mov m32 / movzx r32,m8 with [b+i*s+d]
const FUSED: u16 = BI + 6; // the FUSABLE rows × FUSED_CONDS: CMP/TEST + Jcc (fused.rs)
const BLOCK_END_ROW: u16 = FUSED + (FUSABLE.len() * FUSED_CONDS.len()) as u16; // the sentinel ending every block (run.rs)
const END: u16 = BLOCK_END_ROW + 1;

/// The generic interpreter works on exact EFLAGS: the lazy record is written out
/// first, and both are put back if the instruction faults. (The specialised handlers
/// change flags only after their last access that can fault, so they need no copy.)
#[inline(always)]
fn generic<B: Bus>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
    let (saved, saved_flags) = (c.lazy, c.eflags);
    c.materialise_flags();
    // The generic interpreter reads EIP as the next instruction's (`ip_base`), and the
    // exact count (port accesses, RDTSC, REP budgets), which the run loop keeps ahead.
    c.eip = c.next_ip(e);
    let ahead = c.uncounted(e);
    c.icount -= ahead;
    let r = c.exec_generic(bus, e);
    c.icount += ahead;
    if r.is_err() {
        c.lazy = saved;
        c.eflags = saved_flags;
        return r;
    }
    if crate::decode::ends_block(e) {
        // Its block ends here, and EIP may be anything (a transfer, a REP string
        // instruction to resume): the run loop must not go on to the sentinel entry.
        return c.leave_block();
    }
    // EIP is exact here (set above, or by the instruction: a taken LOOP or JCXZ, which
    // leave through `smc`), so `LEAVE` rather than `leave_if_smc`'s `STOP_AFTER`.
    if std::mem::take(&mut c.smc) {
        return Err(crate::LEAVE);
    }
    Ok(())
}

/// Declares the rows: the enum `H` naming each handler (stored in every entry), the
/// list of all rows, and the dispatch `match`, which the compiler turns into one jump
/// table with each handler's body inlined at its target.
macro_rules! handlers {
    ($($name:ident = $f:ident [$($g:tt)*],)*) => {
        /// A handler row. `Generic` runs the operand-generic interpreter.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
        #[repr(u16)]
        pub enum H {
            #[default]
            Generic,
            $($name,)*
        }

        impl H {
            /// Every row, in declaration order (`H::ALL[h as usize] == h`).
            pub(crate) const ALL: &'static [H] = &[H::Generic, $(H::$name,)*];
        }

        /// Executes one entry through its row.
        #[inline(always)]
        pub(crate) fn run<B: Bus>(c: &mut Cpu, bus: &mut B, e: &Entry) -> Res<()> {
            match e.h {
                H::Generic => generic(c, bus, e),
                $(H::$name => $f::<B, $($g)*>(c, bus, e),)*
            }
        }
    };
}

handlers! {
    AddRR8 = alu_rr[Add, S8],
    AddRR16 = alu_rr[Add, S16],
    AddRR32 = alu_rr[Add, S32],
    AddRI8 = alu_ri[Add, S8],
    AddRI16 = alu_ri[Add, S16],
    AddRI32 = alu_ri[Add, S32],
    AddRM8 = alu_rm[Add, S8],
    AddRM16 = alu_rm[Add, S16],
    AddRM32 = alu_rm[Add, S32],
    AddMR8 = alu_mr[Add, S8],
    AddMR16 = alu_mr[Add, S16],
    AddMR32 = alu_mr[Add, S32],
    AddMI8 = alu_mi[Add, S8],
    AddMI16 = alu_mi[Add, S16],
    AddMI32 = alu_mi[Add, S32],
    OrRR8 = alu_rr[Or, S8],
    OrRR16 = alu_rr[Or, S16],
    OrRR32 = alu_rr[Or, S32],
    OrRI8 = alu_ri[Or, S8],
    OrRI16 = alu_ri[Or, S16],
    OrRI32 = alu_ri[Or, S32],
    OrRM8 = alu_rm[Or, S8],
    OrRM16 = alu_rm[Or, S16],
    OrRM32 = alu_rm[Or, S32],
    OrMR8 = alu_mr[Or, S8],
    OrMR16 = alu_mr[Or, S16],
    OrMR32 = alu_mr[Or, S32],
    OrMI8 = alu_mi[Or, S8],
    OrMI16 = alu_mi[Or, S16],
    OrMI32 = alu_mi[Or, S32],
    AdcRR8 = alu_rr[Adc, S8],
    AdcRR16 = alu_rr[Adc, S16],
    AdcRR32 = alu_rr[Adc, S32],
    AdcRI8 = alu_ri[Adc, S8],
    AdcRI16 = alu_ri[Adc, S16],
    AdcRI32 = alu_ri[Adc, S32],
    AdcRM8 = alu_rm[Adc, S8],
    AdcRM16 = alu_rm[Adc, S16],
    AdcRM32 = alu_rm[Adc, S32],
    AdcMR8 = alu_mr[Adc, S8],
    AdcMR16 = alu_mr[Adc, S16],
    AdcMR32 = alu_mr[Adc, S32],
    AdcMI8 = alu_mi[Adc, S8],
    AdcMI16 = alu_mi[Adc, S16],
    AdcMI32 = alu_mi[Adc, S32],
    SbbRR8 = alu_rr[Sbb, S8],
    SbbRR16 = alu_rr[Sbb, S16],
    SbbRR32 = alu_rr[Sbb, S32],
    SbbRI8 = alu_ri[Sbb, S8],
    SbbRI16 = alu_ri[Sbb, S16],
    SbbRI32 = alu_ri[Sbb, S32],
    SbbRM8 = alu_rm[Sbb, S8],
    SbbRM16 = alu_rm[Sbb, S16],
    SbbRM32 = alu_rm[Sbb, S32],
    SbbMR8 = alu_mr[Sbb, S8],
    SbbMR16 = alu_mr[Sbb, S16],
    SbbMR32 = alu_mr[Sbb, S32],
    SbbMI8 = alu_mi[Sbb, S8],
    SbbMI16 = alu_mi[Sbb, S16],
    SbbMI32 = alu_mi[Sbb, S32],
    AndRR8 = alu_rr[And, S8],
    AndRR16 = alu_rr[And, S16],
    AndRR32 = alu_rr[And, S32],
    AndRI8 = alu_ri[And, S8],
    AndRI16 = alu_ri[And, S16],
    AndRI32 = alu_ri[And, S32],
    AndRM8 = alu_rm[And, S8],
    AndRM16 = alu_rm[And, S16],
    AndRM32 = alu_rm[And, S32],
    AndMR8 = alu_mr[And, S8],
    AndMR16 = alu_mr[And, S16],
    AndMR32 = alu_mr[And, S32],
    AndMI8 = alu_mi[And, S8],
    AndMI16 = alu_mi[And, S16],
    AndMI32 = alu_mi[And, S32],
    SubRR8 = alu_rr[Sub, S8],
    SubRR16 = alu_rr[Sub, S16],
    SubRR32 = alu_rr[Sub, S32],
    SubRI8 = alu_ri[Sub, S8],
    SubRI16 = alu_ri[Sub, S16],
    SubRI32 = alu_ri[Sub, S32],
    SubRM8 = alu_rm[Sub, S8],
    SubRM16 = alu_rm[Sub, S16],
    SubRM32 = alu_rm[Sub, S32],
    SubMR8 = alu_mr[Sub, S8],
    SubMR16 = alu_mr[Sub, S16],
    SubMR32 = alu_mr[Sub, S32],
    SubMI8 = alu_mi[Sub, S8],
    SubMI16 = alu_mi[Sub, S16],
    SubMI32 = alu_mi[Sub, S32],
    XorRR8 = alu_rr[Xor, S8],
    XorRR16 = alu_rr[Xor, S16],
    XorRR32 = alu_rr[Xor, S32],
    XorRI8 = alu_ri[Xor, S8],
    XorRI16 = alu_ri[Xor, S16],
    XorRI32 = alu_ri[Xor, S32],
    XorRM8 = alu_rm[Xor, S8],
    XorRM16 = alu_rm[Xor, S16],
    XorRM32 = alu_rm[Xor, S32],
    XorMR8 = alu_mr[Xor, S8],
    XorMR16 = alu_mr[Xor, S16],
    XorMR32 = alu_mr[Xor, S32],
    XorMI8 = alu_mi[Xor, S8],
    XorMI16 = alu_mi[Xor, S16],
    XorMI32 = alu_mi[Xor, S32],
    CmpRR8 = alu_rr[Cmp, S8],
    CmpRR16 = alu_rr[Cmp, S16],
    CmpRR32 = alu_rr[Cmp, S32],
    CmpRI8 = alu_ri[Cmp, S8],
    CmpRI16 = alu_ri[Cmp, S16],
    CmpRI32 = alu_ri[Cmp, S32],
    CmpRM8 = alu_rm[Cmp, S8],
    CmpRM16 = alu_rm[Cmp, S16],
    CmpRM32 = alu_rm[Cmp, S32],
    CmpMR8 = alu_mr[Cmp, S8],
    CmpMR16 = alu_mr[Cmp, S16],
    CmpMR32 = alu_mr[Cmp, S32],
    CmpMI8 = alu_mi[Cmp, S8],
    CmpMI16 = alu_mi[Cmp, S16],
    CmpMI32 = alu_mi[Cmp, S32],
    TestRR8 = alu_rr[Test, S8],
    TestRR16 = alu_rr[Test, S16],
    TestRR32 = alu_rr[Test, S32],
    TestRI8 = alu_ri[Test, S8],
    TestRI16 = alu_ri[Test, S16],
    TestRI32 = alu_ri[Test, S32],
    TestRM8 = alu_rm[Test, S8],
    TestRM16 = alu_rm[Test, S16],
    TestRM32 = alu_rm[Test, S32],
    TestMR8 = alu_mr[Test, S8],
    TestMR16 = alu_mr[Test, S16],
    TestMR32 = alu_mr[Test, S32],
    TestMI8 = alu_mi[Test, S8],
    TestMI16 = alu_mi[Test, S16],
    TestMI32 = alu_mi[Test, S32],
    MovRR8 = mov_rr[S8],
    MovRR16 = mov_rr[S16],
    MovRR32 = mov_rr[S32],
    MovRI8 = mov_ri[S8],
    MovRI16 = mov_ri[S16],
    MovRI32 = mov_ri[S32],
    MovRM8 = mov_rm[S8],
    MovRM16 = mov_rm[S16],
    MovRM32 = mov_rm[S32],
    MovMR8 = mov_mr[S8],
    MovMR16 = mov_mr[S16],
    MovMR32 = mov_mr[S32],
    MovMI8 = mov_mi[S8],
    MovMI16 = mov_mi[S16],
    MovMI32 = mov_mi[S32],
    IncR8 = inc_r[S8],
    IncR16 = inc_r[S16],
    IncR32 = inc_r[S32],
    DecR8 = dec_r[S8],
    DecR16 = dec_r[S16],
    DecR32 = dec_r[S32],
    IncM8 = inc_m[S8],
    IncM16 = inc_m[S16],
    IncM32 = inc_m[S32],
    DecM8 = dec_m[S8],
    DecM16 = dec_m[S16],
    DecM32 = dec_m[S32],
    PushR16 = push_r[S16],
    PushR32 = push_r[S32],
    PopR16 = pop_r[S16],
    PopR32 = pop_r[S32],
    PushI16 = push_i[S16],
    PushI32 = push_i[S32],
    JO16 = jcc[0, S16],
    JO32 = jcc[0, S32],
    JNo16 = jcc[1, S16],
    JNo32 = jcc[1, S32],
    JB16 = jcc[2, S16],
    JB32 = jcc[2, S32],
    JAe16 = jcc[3, S16],
    JAe32 = jcc[3, S32],
    JE16 = jcc[4, S16],
    JE32 = jcc[4, S32],
    JNe16 = jcc[5, S16],
    JNe32 = jcc[5, S32],
    JBe16 = jcc[6, S16],
    JBe32 = jcc[6, S32],
    JA16 = jcc[7, S16],
    JA32 = jcc[7, S32],
    JS16 = jcc[8, S16],
    JS32 = jcc[8, S32],
    JNs16 = jcc[9, S16],
    JNs32 = jcc[9, S32],
    JP16 = jcc[10, S16],
    JP32 = jcc[10, S32],
    JNp16 = jcc[11, S16],
    JNp32 = jcc[11, S32],
    JL16 = jcc[12, S16],
    JL32 = jcc[12, S32],
    JGe16 = jcc[13, S16],
    JGe32 = jcc[13, S32],
    JLe16 = jcc[14, S16],
    JLe32 = jcc[14, S32],
    JG16 = jcc[15, S16],
    JG32 = jcc[15, S32],
    JmpRel16 = jmp_rel[S16],
    JmpRel32 = jmp_rel[S32],
    CallRel16 = call_rel[S16],
    CallRel32 = call_rel[S32],
    RetNear16 = ret_near[S16],
    RetNear32 = ret_near[S32],
    Lea16 = lea[S16],
    Lea32 = lea[S32],
    MovzxR8To16 = movzx_r[S8, S16],
    MovzxR8To32 = movzx_r[S8, S32],
    MovzxR16To16 = movzx_r[S16, S16],
    MovzxR16To32 = movzx_r[S16, S32],
    MovzxM8To16 = movzx_m[S8, S16],
    MovzxM8To32 = movzx_m[S8, S32],
    MovzxM16To16 = movzx_m[S16, S16],
    MovzxM16To32 = movzx_m[S16, S32],
    MovsxR8To16 = movsx_r[S8, S16],
    MovsxR8To32 = movsx_r[S8, S32],
    MovsxR16To16 = movsx_r[S16, S16],
    MovsxR16To32 = movsx_r[S16, S32],
    MovsxM8To16 = movsx_m[S8, S16],
    MovsxM8To32 = movsx_m[S8, S32],
    MovsxM16To16 = movsx_m[S16, S16],
    MovsxM16To32 = movsx_m[S16, S32],
    RolRI8 = shift_ri[Kind<0>, S8],
    RolRI16 = shift_ri[Kind<0>, S16],
    RolRI32 = shift_ri[Kind<0>, S32],
    RorRI8 = shift_ri[Kind<1>, S8],
    RorRI16 = shift_ri[Kind<1>, S16],
    RorRI32 = shift_ri[Kind<1>, S32],
    RclRI8 = shift_ri[Kind<2>, S8],
    RclRI16 = shift_ri[Kind<2>, S16],
    RclRI32 = shift_ri[Kind<2>, S32],
    RcrRI8 = shift_ri[Kind<3>, S8],
    RcrRI16 = shift_ri[Kind<3>, S16],
    RcrRI32 = shift_ri[Kind<3>, S32],
    ShlRI8 = shift_ri[Kind<4>, S8],
    ShlRI16 = shift_ri[Kind<4>, S16],
    ShlRI32 = shift_ri[Kind<4>, S32],
    ShrRI8 = shift_ri[Kind<5>, S8],
    ShrRI16 = shift_ri[Kind<5>, S16],
    ShrRI32 = shift_ri[Kind<5>, S32],
    SalRI8 = shift_ri[Kind<6>, S8],
    SalRI16 = shift_ri[Kind<6>, S16],
    SalRI32 = shift_ri[Kind<6>, S32],
    SarRI8 = shift_ri[Kind<7>, S8],
    SarRI16 = shift_ri[Kind<7>, S16],
    SarRI32 = shift_ri[Kind<7>, S32],
    NegR8 = neg_r[S8],
    NegR16 = neg_r[S16],
    NegR32 = neg_r[S32],
    NegM8 = neg_m[S8],
    NegM16 = neg_m[S16],
    NegM32 = neg_m[S32],
    NotR8 = not_r[S8],
    NotR16 = not_r[S16],
    NotR32 = not_r[S32],
    NotM8 = not_m[S8],
    NotM16 = not_m[S16],
    NotM32 = not_m[S32],
    ImulRR16 = imul_rr[S16],
    ImulRR32 = imul_rr[S32],
    ImulRM16 = imul_rm[S16],
    ImulRM32 = imul_rm[S32],
    ImulRRI16 = imul_rri[S16],
    ImulRRI32 = imul_rri[S32],
    ImulRMI16 = imul_rmi[S16],
    ImulRMI32 = imul_rmi[S32],
    JmpIndR16 = jmp_r[S16],
    JmpIndR32 = jmp_r[S32],
    JmpIndM16 = jmp_m[S16],
    JmpIndM32 = jmp_m[S32],
    CallIndR16 = call_r[S16],
    CallIndR32 = call_r[S32],
    CallIndM16 = call_m[S16],
    CallIndM32 = call_m[S32],
    SetOR = set_r[0],
    SetOM = set_m[0],
    SetNoR = set_r[1],
    SetNoM = set_m[1],
    SetBR = set_r[2],
    SetBM = set_m[2],
    SetAeR = set_r[3],
    SetAeM = set_m[3],
    SetER = set_r[4],
    SetEM = set_m[4],
    SetNeR = set_r[5],
    SetNeM = set_m[5],
    SetBeR = set_r[6],
    SetBeM = set_m[6],
    SetAR = set_r[7],
    SetAM = set_m[7],
    SetSR = set_r[8],
    SetSM = set_m[8],
    SetNsR = set_r[9],
    SetNsM = set_m[9],
    SetPR = set_r[10],
    SetPM = set_m[10],
    SetNpR = set_r[11],
    SetNpM = set_m[11],
    SetLR = set_r[12],
    SetLM = set_m[12],
    SetGeR = set_r[13],
    SetGeM = set_m[13],
    SetLeR = set_r[14],
    SetLeM = set_m[14],
    SetGR = set_r[15],
    SetGM = set_m[15],
    CmovORR32 = cmov_rr[0, S32],
    CmovORM32 = cmov_rm[0, S32],
    CmovNoRR32 = cmov_rr[1, S32],
    CmovNoRM32 = cmov_rm[1, S32],
    CmovBRR32 = cmov_rr[2, S32],
    CmovBRM32 = cmov_rm[2, S32],
    CmovAeRR32 = cmov_rr[3, S32],
    CmovAeRM32 = cmov_rm[3, S32],
    CmovERR32 = cmov_rr[4, S32],
    CmovERM32 = cmov_rm[4, S32],
    CmovNeRR32 = cmov_rr[5, S32],
    CmovNeRM32 = cmov_rm[5, S32],
    CmovBeRR32 = cmov_rr[6, S32],
    CmovBeRM32 = cmov_rm[6, S32],
    CmovARR32 = cmov_rr[7, S32],
    CmovARM32 = cmov_rm[7, S32],
    CmovSRR32 = cmov_rr[8, S32],
    CmovSRM32 = cmov_rm[8, S32],
    CmovNsRR32 = cmov_rr[9, S32],
    CmovNsRM32 = cmov_rm[9, S32],
    CmovPRR32 = cmov_rr[10, S32],
    CmovPRM32 = cmov_rm[10, S32],
    CmovNpRR32 = cmov_rr[11, S32],
    CmovNpRM32 = cmov_rm[11, S32],
    CmovLRR32 = cmov_rr[12, S32],
    CmovLRM32 = cmov_rm[12, S32],
    CmovGeRR32 = cmov_rr[13, S32],
    CmovGeRM32 = cmov_rm[13, S32],
    CmovLeRR32 = cmov_rr[14, S32],
    CmovLeRM32 = cmov_rm[14, S32],
    CmovGRR32 = cmov_rr[15, S32],
    CmovGRM32 = cmov_rm[15, S32],
    MovRMbd8 = mov_rm_bd[S8],
    MovRMbd16 = mov_rm_bd[S16],
    MovRMbd32 = mov_rm_bd[S32],
    MovMRbd8 = mov_mr_bd[S8],
    MovMRbd16 = mov_mr_bd[S16],
    MovMRbd32 = mov_mr_bd[S32],
    MovzxMbd8To32 = movzx_m_bd[S8, S32],
    MovzxMbd16To32 = movzx_m_bd[S16, S32],
    LeaBd32 = lea_bd[],
    LeaBi32 = lea_bi[],
    MovRMbi32 = mov_rm_bi[S32],
    MovRMbi8 = mov_rm_bi[S8],
    MovMRbi32 = mov_mr_bi[S32],
    MovzxMbi8To32 = movzx_m_bi[S8, S32],
    CmpRR32JB = fused_rr[Cmp, S32, 2],
    CmpRR32JE = fused_rr[Cmp, S32, 4],
    CmpRR32JBe = fused_rr[Cmp, S32, 6],
    CmpRR32JS = fused_rr[Cmp, S32, 8],
    CmpRR32JL = fused_rr[Cmp, S32, 12],
    CmpRR32JLe = fused_rr[Cmp, S32, 14],
    CmpRI32JB = fused_ri[Cmp, S32, 2],
    CmpRI32JE = fused_ri[Cmp, S32, 4],
    CmpRI32JBe = fused_ri[Cmp, S32, 6],
    CmpRI32JS = fused_ri[Cmp, S32, 8],
    CmpRI32JL = fused_ri[Cmp, S32, 12],
    CmpRI32JLe = fused_ri[Cmp, S32, 14],
    CmpRM32JB = fused_rm[Cmp, S32, 2],
    CmpRM32JE = fused_rm[Cmp, S32, 4],
    CmpRM32JBe = fused_rm[Cmp, S32, 6],
    CmpRM32JS = fused_rm[Cmp, S32, 8],
    CmpRM32JL = fused_rm[Cmp, S32, 12],
    CmpRM32JLe = fused_rm[Cmp, S32, 14],
    CmpMR32JB = fused_mr[Cmp, S32, 2],
    CmpMR32JE = fused_mr[Cmp, S32, 4],
    CmpMR32JBe = fused_mr[Cmp, S32, 6],
    CmpMR32JS = fused_mr[Cmp, S32, 8],
    CmpMR32JL = fused_mr[Cmp, S32, 12],
    CmpMR32JLe = fused_mr[Cmp, S32, 14],
    CmpMI32JB = fused_mi[Cmp, S32, 2],
    CmpMI32JE = fused_mi[Cmp, S32, 4],
    CmpMI32JBe = fused_mi[Cmp, S32, 6],
    CmpMI32JS = fused_mi[Cmp, S32, 8],
    CmpMI32JL = fused_mi[Cmp, S32, 12],
    CmpMI32JLe = fused_mi[Cmp, S32, 14],
    CmpRR8JB = fused_rr[Cmp, S8, 2],
    CmpRR8JE = fused_rr[Cmp, S8, 4],
    CmpRR8JBe = fused_rr[Cmp, S8, 6],
    CmpRR8JS = fused_rr[Cmp, S8, 8],
    CmpRR8JL = fused_rr[Cmp, S8, 12],
    CmpRR8JLe = fused_rr[Cmp, S8, 14],
    CmpRI8JB = fused_ri[Cmp, S8, 2],
    CmpRI8JE = fused_ri[Cmp, S8, 4],
    CmpRI8JBe = fused_ri[Cmp, S8, 6],
    CmpRI8JS = fused_ri[Cmp, S8, 8],
    CmpRI8JL = fused_ri[Cmp, S8, 12],
    CmpRI8JLe = fused_ri[Cmp, S8, 14],
    CmpRM8JB = fused_rm[Cmp, S8, 2],
    CmpRM8JE = fused_rm[Cmp, S8, 4],
    CmpRM8JBe = fused_rm[Cmp, S8, 6],
    CmpRM8JS = fused_rm[Cmp, S8, 8],
    CmpRM8JL = fused_rm[Cmp, S8, 12],
    CmpRM8JLe = fused_rm[Cmp, S8, 14],
    CmpMI8JB = fused_mi[Cmp, S8, 2],
    CmpMI8JE = fused_mi[Cmp, S8, 4],
    CmpMI8JBe = fused_mi[Cmp, S8, 6],
    CmpMI8JS = fused_mi[Cmp, S8, 8],
    CmpMI8JL = fused_mi[Cmp, S8, 12],
    CmpMI8JLe = fused_mi[Cmp, S8, 14],
    TestRR32JB = fused_rr[Test, S32, 2],
    TestRR32JE = fused_rr[Test, S32, 4],
    TestRR32JBe = fused_rr[Test, S32, 6],
    TestRR32JS = fused_rr[Test, S32, 8],
    TestRR32JL = fused_rr[Test, S32, 12],
    TestRR32JLe = fused_rr[Test, S32, 14],
    TestRR8JB = fused_rr[Test, S8, 2],
    TestRR8JE = fused_rr[Test, S8, 4],
    TestRR8JBe = fused_rr[Test, S8, 6],
    TestRR8JS = fused_rr[Test, S8, 8],
    TestRR8JL = fused_rr[Test, S8, 12],
    TestRR8JLe = fused_rr[Test, S8, 14],
    BlockEnd = block_end[],
}

const _: () = assert!(H::ALL.len() == END as usize);

/// The sentinel after a block's last entry (block.rs): no instruction. It ends the run
/// loop's walk through the block, so that walk needs no end test of its own.
#[inline(always)]
fn block_end<B: Bus>(_: &mut Cpu, _: &mut B, _: &Entry) -> Res<()> {
    Err(crate::BLOCK_END)
}

/// The entry that ends every cached block's entries.
pub(crate) fn sentinel() -> Entry {
    Entry {
        h: H::ALL[BLOCK_END_ROW as usize],
        jt: crate::decode::NO_TARGET,
        ..Entry::default()
    }
}

/// The rows that fuse with a Jcc after them (fused.rs), in the order of the `FUSED`
/// family: the comparisons compiled code branches on most (measured on the Linux boot:
/// these forms precede 95 % of its 32-bit Jccs that follow a CMP or TEST).
const FUSABLE: [H; 11] = [
    H::CmpRR32,
    H::CmpRI32,
    H::CmpRM32,
    H::CmpMR32,
    H::CmpMI32,
    H::CmpRR8,
    H::CmpRI8,
    H::CmpRM8,
    H::CmpMI8,
    H::TestRR32,
    H::TestRR8,
];

/// The conditions a fused row tests, each the even one of its pair (the Jcc's low bit,
/// the negation, is in the entry): every pair but O and P, which compiled code rarely
/// tests after a comparison.
const FUSED_CONDS: [u8; 6] = [2, 4, 6, 8, 12, 14];

/// The row for `first` (a CMP or TEST) fused with `jcc` after it, if there is one: a
/// 32-bit Jcc on a condition of [`FUSED_CONDS`].
pub(crate) fn fused(first: H, jcc: &Entry) -> Option<H> {
    if jcc.op != Op::Jcc || jcc.h as u16 != JCC + 2 * (jcc.sub as u16 & 15) + 1 {
        return None;
    }
    let f = FUSABLE.iter().position(|&h| h == first)?;
    let k = FUSED_CONDS.iter().position(|&c| c == jcc.sub & 14)?;
    Some(H::ALL[FUSED as usize + f * FUSED_CONDS.len() + k])
}

impl H {
    /// The row of a fused pair's first instruction on its own, for the paths that run
    /// one instruction at a time; any other row unchanged.
    pub(crate) fn unfused(self) -> H {
        match (self as u16).checked_sub(FUSED) {
            Some(i) if i < BLOCK_END_ROW - FUSED => FUSABLE[i as usize / FUSED_CONDS.len()],
            _ => self,
        }
    }
}

/// A memory operand `[base + disp]` with 32-bit addressing (no index): the form the
/// `*_bd` rows compute with one add.
fn base_disp(e: &Entry) -> bool {
    e.asz32
        && e.base != crate::decode::NO_REG
        && e.index == crate::decode::NO_REG
        && (e.src == Loc::Mem || e.dst == Loc::Mem)
}

/// A memory operand `[base + index * scale + disp]` with 32-bit addressing: the form
/// the `*_bi` rows compute with no test of which parts exist.
fn base_index(e: &Entry) -> bool {
    e.asz32
        && e.base != crate::decode::NO_REG
        && e.index != crate::decode::NO_REG
        && (e.src == Loc::Mem || e.dst == Loc::Mem)
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
/// its operation, form and size, else `H::Generic`. Instructions some CPU models lack
/// (SETcc, CMOVcc, two-operand IMUL) are specialised too: the block builder, which
/// turns those into `Op::Ud` for such a model, puts the entry back on `H::Generic`.
pub(crate) fn select(e: &Entry) -> H {
    select_row(e).map_or(H::Generic, |i| H::ALL[i as usize])
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
        Op::MovRM if base_disp(e) => BD + s?,
        Op::MovMR if base_disp(e) => BD + 3 + s?,
        Op::Movzx if base_disp(e) && e.size == 4 && e.ssize == 1 => BD + 6,
        Op::Movzx if base_disp(e) && e.size == 4 && e.ssize == 2 => BD + 7,
        Op::MovRM if base_index(e) && e.size == 4 => BI + 2,
        Op::MovRM if base_index(e) && e.size == 1 => BI + 3,
        Op::MovMR if base_index(e) && e.size == 4 => BI + 4,
        Op::Movzx if base_index(e) && e.size == 4 && e.ssize == 1 => BI + 5,
        Op::MovRM => MOV + 6 + s?,
        Op::MovMR => MOV + 9 + s?,
        Op::Mov if e.dst == Mem && e.src == Imm => MOV + 12 + s?,
        Op::IncR => INCDEC + s?,
        Op::DecR => INCDEC + 3 + s?,
        Op::Inc if e.dst == Mem => INCDEC + 6 + s?,
        Op::Dec if e.dst == Mem => INCDEC + 9 + s?,
        Op::PushR => PUSHPOP + w?,
        Op::PopR => PUSHPOP + 2 + w?,
        Op::Push if e.dst == Imm => PUSHPOP + 4 + w?,
        Op::Jcc => JCC + 2 * (e.sub as u16 & 15) + w?,
        Op::Jmp => BRANCH + w?,
        Op::Call => BRANCH + 2 + w?,
        Op::Ret => BRANCH + 4 + w?,
        Op::Lea if e.src == Mem && e.size == 4 && base_disp(e) => BI,
        Op::Lea if e.src == Mem && e.size == 4 && base_index(e) => BI + 1,
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
        Op::Neg | Op::Not => {
            let k = if e.op == Op::Neg { 0 } else { 6 };
            match e.dst {
                Reg(_) => NEGNOT + k + s?,
                Mem => NEGNOT + k + 3 + s?,
                _ => return None,
            }
        }
        Op::Imul => {
            let form = match (e.src, e.src2) {
                (Reg(_), Loc::None) => 0,
                (Mem, Loc::None) => 2,
                (Reg(_), Imm) => 4,
                (Mem, Imm) => 6,
                _ => return None,
            };
            IMUL + form + w?
        }
        Op::JmpInd | Op::CallInd => {
            let k = if e.op == Op::JmpInd { 0 } else { 4 };
            match e.dst {
                Reg(_) => INDIRECT + k + w?,
                Mem => INDIRECT + k + 2 + w?,
                _ => return None,
            }
        }
        Op::Setcc => match e.dst {
            Reg(_) => SETCC + 2 * (e.sub as u16 & 15),
            Mem => SETCC + 2 * (e.sub as u16 & 15) + 1,
            _ => return None,
        },
        Op::Cmovcc if e.size == 4 => match e.src {
            Reg(_) => CMOV + 2 * (e.sub as u16 & 15),
            Mem => CMOV + 2 * (e.sub as u16 & 15) + 1,
            _ => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use iced_x86::{Decoder, DecoderOptions};

    fn row(bits: u32, bytes: &[u8]) -> String {
        let ins = Decoder::new(bits, bytes, DecoderOptions::NONE).decode();
        format!("{:?}", crate::decode::translate(&ins).h)
    }

    /// `select` computes rows from the family bases; each computed row must be the
    /// handler the instruction names (encodings from the SDM opcode tables).
    #[test]
    fn rows_name_the_right_handlers() {
        for (i, k) in ["Add", "Or", "Adc", "Sbb", "And", "Sub", "Xor", "Cmp"]
            .iter()
            .enumerate()
        {
            // op r/m8, r8 (00+8k /r), op r/m32, r32 (01+8k), op r32, r/m32 (03+8k)
            assert_eq!(row(32, &[8 * i as u8, 0xD8]), format!("{k}RR8"));
            assert_eq!(row(32, &[8 * i as u8 + 1, 0x03]), format!("{k}MR32"));
            assert_eq!(row(16, &[8 * i as u8 + 3, 0x07]), format!("{k}RM16"));
            // 83 /k ib: r/m32, imm8 (register and memory forms)
            assert_eq!(
                row(32, &[0x83, 0xC0 | (i as u8) << 3, 5]),
                format!("{k}RI32")
            );
            assert_eq!(row(32, &[0x83, (i as u8) << 3, 5]), format!("{k}MI32"));
            assert_eq!(
                row(32, &[0x66, 0x83, (i as u8) << 3, 5]),
                format!("{k}MI16")
            );
        }
        let cases: &[(u32, &[u8], &str)] = &[
            (32, &[0x85, 0xC0], "TestRR32"),
            (32, &[0xF6, 0x00, 1], "TestMI8"),
            (32, &[0x89, 0xD8], "MovRR32"),
            (32, &[0xB8, 1, 0, 0, 0], "MovRI32"),
            (32, &[0x8A, 0x03], "MovRMbd8"),
            (32, &[0x89, 0x03], "MovMRbd32"),
            (32, &[0x89, 0x04, 0x8B], "MovMRbi32"),
            (32, &[0x89, 0x05, 0, 0, 1, 0], "MovMR32"),
            (32, &[0x8B, 0x04, 0x8B], "MovRMbi32"),
            (32, &[0x8A, 0x04, 0x0E], "MovRMbi8"),
            (32, &[0x66, 0x8B, 0x04, 0x8B], "MovRM16"),
            (32, &[0x0F, 0xB6, 0x04, 0x0E], "MovzxMbi8To32"),
            (32, &[0x8D, 0x43, 0x08], "LeaBd32"),
            (32, &[0x8D, 0x44, 0x8B, 0x08], "LeaBi32"),
            (32, &[0x8D, 0x04, 0x8D, 0, 0, 0, 0], "Lea32"),
            (16, &[0x8D, 0x47, 0x02], "Lea16"),
            (16, &[0x89, 0x07], "MovMR16"),
            (32, &[0x8B, 0x43, 0x08], "MovRMbd32"),
            (32, &[0x8A, 0x05, 0, 0, 1, 0], "MovRM8"),
            (32, &[0xC6, 0x00, 5], "MovMI8"),
            (32, &[0x40], "IncR32"),
            (16, &[0x48], "DecR16"),
            (32, &[0xFE, 0x00], "IncM8"),
            (32, &[0xFF, 0x08], "DecM32"),
            (32, &[0x50], "PushR32"),
            (16, &[0x58], "PopR16"),
            (32, &[0x6A, 5], "PushI32"),
            (32, &[0x74, 0], "JE32"),
            (16, &[0x74, 0], "JE16"),
            (32, &[0x0F, 0x8C, 0, 0, 0, 0], "JL32"),
            (32, &[0x70, 0], "JO32"),
            (32, &[0x7F, 0], "JG32"),
            (32, &[0xEB, 0], "JmpRel32"),
            (16, &[0xE8, 0, 0], "CallRel16"),
            (32, &[0xC3], "RetNear32"),
            (32, &[0xC2, 4, 0], "RetNear32"),
            (32, &[0x0F, 0xB6, 0xC3], "MovzxR8To32"),
            (16, &[0x0F, 0xB6, 0x07], "MovzxM8To16"),
            (32, &[0x0F, 0xB6, 0x46, 0x01], "MovzxMbd8To32"),
            (32, &[0x0F, 0xB7, 0x04, 0x58], "MovzxM16To32"),
            (32, &[0x0F, 0xB7, 0x04, 0x24], "MovzxMbd16To32"),
            (32, &[0x0F, 0xBF, 0x03], "MovsxM16To32"),
            (32, &[0x0F, 0xBE, 0xC3], "MovsxR8To32"),
            (32, &[0xC1, 0xE8, 3], "ShrRI32"),
            (32, &[0xC0, 0xF8, 3], "SarRI8"),
            (16, &[0xC1, 0xC0, 3], "RolRI16"),
            (32, &[0xD1, 0xE0], "ShlRI32"),
            (32, &[0xF7, 0xD8], "NegR32"),
            (16, &[0xF6, 0x1F], "NegM8"),
            (32, &[0xF7, 0xD0], "NotR32"),
            (32, &[0x66, 0xF7, 0x17], "NotM16"),
            (32, &[0x0F, 0xAF, 0xC3], "ImulRR32"),
            (16, &[0x0F, 0xAF, 0x07], "ImulRM16"),
            (32, &[0x6B, 0xC3, 5], "ImulRRI32"),
            (32, &[0x69, 0x03, 1, 0, 0, 0], "ImulRMI32"),
            (32, &[0xFF, 0xE0], "JmpIndR32"),
            (16, &[0xFF, 0x27], "JmpIndM16"),
            (32, &[0xFF, 0xD3], "CallIndR32"),
            (32, &[0xFF, 0x13], "CallIndM32"),
            (32, &[0x0F, 0x94, 0xC0], "SetER"),
            (32, &[0x0F, 0x9F, 0x03], "SetGM"),
            (32, &[0x0F, 0x44, 0xC3], "CmovERR32"),
            (32, &[0x0F, 0x42, 0x03], "CmovBRM32"),
            // Forms left to the generic interpreter.
            (32, &[0xD3, 0xE0], "Generic"),
            (16, &[0x0F, 0x44, 0xC3], "Generic"),
            (32, &[0xF7, 0xE3], "Generic"),
        ];
        for &(bits, bytes, want) in cases {
            assert_eq!(row(bits, bytes), want, "{bytes:02x?} in {bits}-bit mode");
        }
    }
}
