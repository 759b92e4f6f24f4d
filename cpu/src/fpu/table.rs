//! What each x87 form does, keyed by iced's `Code` (contiguous from `Fadd_m32fp` to
//! `Fcomip_st0_sti`), with the opcode bits the FPU keeps in its last-opcode register.

use super::sf::Ar;
use iced_x86::{Code, Instruction, OpKind, Register};

/// Where the second operand of an arithmetic or compare form comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    M32,
    M64,
    I16,
    I32,
    /// ST(0) op ST(i) → ST(0).
    St0Sti,
    /// ST(i) op ST(0) → ST(i).
    StiSt0,
}

/// Memory formats of loads and stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mem {
    F32,
    F64,
    F80,
    I16,
    I32,
    I64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Ud,
    Arith(Ar, Src, bool),
    /// FCOM/FCOMP/FCOMPP/FUCOM…/FICOM…: source, pops, unordered (FUCOM) semantics.
    Com(Src, u8, bool),
    /// FCOMI/FUCOMI and the popping forms: unordered, pop.
    Comi(bool, bool),
    Ld(Mem),
    LdSt,
    Bld,
    St(Mem, bool),
    StSt(bool),
    Bstp,
    Xch,
    Nop,
    Chs,
    Abs,
    Tst,
    Xam,
    Const(u8),
    F2xm1,
    Yl2x,
    Ptan,
    Patan,
    Xtract,
    Prem1,
    Decstp,
    Incstp,
    Prem,
    Yl2xp1,
    Sqrt,
    Sincos,
    Rndint,
    Scale,
    Sin,
    Cos,
    /// Condition code in the Jcc numbering.
    Cmov(u8),
    Free(bool),
    Ldenv(bool),
    Stenv(bool),
    Ldcw,
    Stcw,
    Stsw,
    StswAx,
    Clex,
    Init,
    /// FENI/FDISI/FSETPM: no operation on a 387 or later.
    Nop287,
    Rstor(bool),
    Save(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub op: Op,
    /// Low 3 bits of the ESC opcode byte.
    pub esc: u8,
    /// The second opcode byte: the reg field (bits 3–5) of memory forms, the byte for
    /// ST(0) of register forms.
    pub b2: u8,
    pub mem: bool,
    /// Checks for a pending unmasked exception first (all but the FN… forms).
    pub waits: bool,
    /// Records FIP/FCS/FOP (and FDP/FDS) — every instruction but the control ones.
    pub noncontrol: bool,
}

const BASE: usize = Code::Fadd_m32fp as usize;
const N: usize = Code::Fcomip_st0_sti as usize - BASE + 1;

const UD: Info = Info {
    op: Op::Ud,
    esc: 0,
    b2: 0,
    mem: false,
    waits: true,
    noncontrol: false,
};

const fn m(op: Op, esc: u8, reg: u8) -> Info {
    Info {
        op,
        esc,
        b2: reg << 3,
        mem: true,
        waits: true,
        noncontrol: true,
    }
}

const fn r(op: Op, esc: u8, b2: u8) -> Info {
    Info {
        op,
        esc,
        b2,
        mem: false,
        waits: true,
        noncontrol: true,
    }
}

/// A control instruction; `waits` for the forms assembled with the WAIT prefix.
const fn ctl(x: Info, waits: bool) -> Info {
    Info {
        waits,
        noncontrol: false,
        ..x
    }
}

const fn build() -> [Info; N] {
    use Ar::*;
    use Mem as M;
    use Op::*;
    use Src::*;
    let mut t = [UD; N];
    macro_rules! set {
        ($code:ident, $v:expr) => {
            t[Code::$code as usize - BASE] = $v;
        };
    }
    // D8
    set!(Fadd_m32fp, m(Arith(Add, M32, false), 0, 0));
    set!(Fmul_m32fp, m(Arith(Mul, M32, false), 0, 1));
    set!(Fcom_m32fp, m(Com(M32, 0, false), 0, 2));
    set!(Fcomp_m32fp, m(Com(M32, 1, false), 0, 3));
    set!(Fsub_m32fp, m(Arith(Sub, M32, false), 0, 4));
    set!(Fsubr_m32fp, m(Arith(Subr, M32, false), 0, 5));
    set!(Fdiv_m32fp, m(Arith(Div, M32, false), 0, 6));
    set!(Fdivr_m32fp, m(Arith(Divr, M32, false), 0, 7));
    set!(Fadd_st0_sti, r(Arith(Add, St0Sti, false), 0, 0xC0));
    set!(Fmul_st0_sti, r(Arith(Mul, St0Sti, false), 0, 0xC8));
    set!(Fcom_st0_sti, r(Com(St0Sti, 0, false), 0, 0xD0));
    set!(Fcomp_st0_sti, r(Com(St0Sti, 1, false), 0, 0xD8));
    set!(Fsub_st0_sti, r(Arith(Sub, St0Sti, false), 0, 0xE0));
    set!(Fsubr_st0_sti, r(Arith(Subr, St0Sti, false), 0, 0xE8));
    set!(Fdiv_st0_sti, r(Arith(Div, St0Sti, false), 0, 0xF0));
    set!(Fdivr_st0_sti, r(Arith(Divr, St0Sti, false), 0, 0xF8));
    // D9
    set!(Fld_m32fp, m(Ld(M::F32), 1, 0));
    set!(Fst_m32fp, m(St(M::F32, false), 1, 2));
    set!(Fstp_m32fp, m(St(M::F32, true), 1, 3));
    set!(Fldenv_m14byte, ctl(m(Ldenv(false), 1, 4), true));
    set!(Fldenv_m28byte, ctl(m(Ldenv(true), 1, 4), true));
    set!(Fldcw_m2byte, ctl(m(Ldcw, 1, 5), true));
    set!(Fnstenv_m14byte, ctl(m(Stenv(false), 1, 6), false));
    set!(Fstenv_m14byte, ctl(m(Stenv(false), 1, 6), true));
    set!(Fnstenv_m28byte, ctl(m(Stenv(true), 1, 6), false));
    set!(Fstenv_m28byte, ctl(m(Stenv(true), 1, 6), true));
    set!(Fnstcw_m2byte, ctl(m(Stcw, 1, 7), false));
    set!(Fstcw_m2byte, ctl(m(Stcw, 1, 7), true));
    set!(Fld_sti, r(LdSt, 1, 0xC0));
    set!(Fxch_st0_sti, r(Xch, 1, 0xC8));
    set!(Fnop, r(Nop, 1, 0xD0));
    set!(Fstpnce_sti, r(StSt(true), 1, 0xD8));
    set!(Fchs, r(Chs, 1, 0xE0));
    set!(Fabs, r(Abs, 1, 0xE1));
    set!(Ftst, r(Tst, 1, 0xE4));
    set!(Fxam, r(Xam, 1, 0xE5));
    set!(Fld1, r(Const(0), 1, 0xE8));
    set!(Fldl2t, r(Const(1), 1, 0xE9));
    set!(Fldl2e, r(Const(2), 1, 0xEA));
    set!(Fldpi, r(Const(3), 1, 0xEB));
    set!(Fldlg2, r(Const(4), 1, 0xEC));
    set!(Fldln2, r(Const(5), 1, 0xED));
    set!(Fldz, r(Const(6), 1, 0xEE));
    set!(F2xm1, r(F2xm1, 1, 0xF0));
    set!(Fyl2x, r(Yl2x, 1, 0xF1));
    set!(Fptan, r(Ptan, 1, 0xF2));
    set!(Fpatan, r(Patan, 1, 0xF3));
    set!(Fxtract, r(Xtract, 1, 0xF4));
    set!(Fprem1, r(Prem1, 1, 0xF5));
    set!(Fdecstp, r(Decstp, 1, 0xF6));
    set!(Fincstp, r(Incstp, 1, 0xF7));
    set!(Fprem, r(Prem, 1, 0xF8));
    set!(Fyl2xp1, r(Yl2xp1, 1, 0xF9));
    set!(Fsqrt, r(Sqrt, 1, 0xFA));
    set!(Fsincos, r(Sincos, 1, 0xFB));
    set!(Frndint, r(Rndint, 1, 0xFC));
    set!(Fscale, r(Scale, 1, 0xFD));
    set!(Fsin, r(Sin, 1, 0xFE));
    set!(Fcos, r(Cos, 1, 0xFF));
    // DA
    set!(Fiadd_m32int, m(Arith(Add, I32, false), 2, 0));
    set!(Fimul_m32int, m(Arith(Mul, I32, false), 2, 1));
    set!(Ficom_m32int, m(Com(I32, 0, false), 2, 2));
    set!(Ficomp_m32int, m(Com(I32, 1, false), 2, 3));
    set!(Fisub_m32int, m(Arith(Sub, I32, false), 2, 4));
    set!(Fisubr_m32int, m(Arith(Subr, I32, false), 2, 5));
    set!(Fidiv_m32int, m(Arith(Div, I32, false), 2, 6));
    set!(Fidivr_m32int, m(Arith(Divr, I32, false), 2, 7));
    set!(Fcmovb_st0_sti, r(Cmov(2), 2, 0xC0));
    set!(Fcmove_st0_sti, r(Cmov(4), 2, 0xC8));
    set!(Fcmovbe_st0_sti, r(Cmov(6), 2, 0xD0));
    set!(Fcmovu_st0_sti, r(Cmov(10), 2, 0xD8));
    set!(Fucompp, r(Com(St0Sti, 2, true), 2, 0xE9));
    // DB
    set!(Fild_m32int, m(Ld(M::I32), 3, 0));
    set!(Fist_m32int, m(St(M::I32, false), 3, 2));
    set!(Fistp_m32int, m(St(M::I32, true), 3, 3));
    set!(Fld_m80fp, m(Ld(M::F80), 3, 5));
    set!(Fstp_m80fp, m(St(M::F80, true), 3, 7));
    set!(Fcmovnb_st0_sti, r(Cmov(3), 3, 0xC0));
    set!(Fcmovne_st0_sti, r(Cmov(5), 3, 0xC8));
    set!(Fcmovnbe_st0_sti, r(Cmov(7), 3, 0xD0));
    set!(Fcmovnu_st0_sti, r(Cmov(11), 3, 0xD8));
    set!(Fneni, ctl(r(Nop287, 3, 0xE0), false));
    set!(Feni, ctl(r(Nop287, 3, 0xE0), true));
    set!(Fndisi, ctl(r(Nop287, 3, 0xE1), false));
    set!(Fdisi, ctl(r(Nop287, 3, 0xE1), true));
    set!(Fnclex, ctl(r(Clex, 3, 0xE2), false));
    set!(Fclex, ctl(r(Clex, 3, 0xE2), true));
    set!(Fninit, ctl(r(Init, 3, 0xE3), false));
    set!(Finit, ctl(r(Init, 3, 0xE3), true));
    set!(Fnsetpm, ctl(r(Nop287, 3, 0xE4), false));
    set!(Fsetpm, ctl(r(Nop287, 3, 0xE4), true));
    set!(Fucomi_st0_sti, r(Comi(true, false), 3, 0xE8));
    set!(Fcomi_st0_sti, r(Comi(false, false), 3, 0xF0));
    // DC
    set!(Fadd_m64fp, m(Arith(Add, M64, false), 4, 0));
    set!(Fmul_m64fp, m(Arith(Mul, M64, false), 4, 1));
    set!(Fcom_m64fp, m(Com(M64, 0, false), 4, 2));
    set!(Fcomp_m64fp, m(Com(M64, 1, false), 4, 3));
    set!(Fsub_m64fp, m(Arith(Sub, M64, false), 4, 4));
    set!(Fsubr_m64fp, m(Arith(Subr, M64, false), 4, 5));
    set!(Fdiv_m64fp, m(Arith(Div, M64, false), 4, 6));
    set!(Fdivr_m64fp, m(Arith(Divr, M64, false), 4, 7));
    set!(Fadd_sti_st0, r(Arith(Add, StiSt0, false), 4, 0xC0));
    set!(Fmul_sti_st0, r(Arith(Mul, StiSt0, false), 4, 0xC8));
    set!(Fcom_st0_sti_DCD0, r(Com(St0Sti, 0, false), 4, 0xD0));
    set!(Fcomp_st0_sti_DCD8, r(Com(St0Sti, 1, false), 4, 0xD8));
    set!(Fsubr_sti_st0, r(Arith(Subr, StiSt0, false), 4, 0xE0));
    set!(Fsub_sti_st0, r(Arith(Sub, StiSt0, false), 4, 0xE8));
    set!(Fdivr_sti_st0, r(Arith(Divr, StiSt0, false), 4, 0xF0));
    set!(Fdiv_sti_st0, r(Arith(Div, StiSt0, false), 4, 0xF8));
    // DD
    set!(Fld_m64fp, m(Ld(M::F64), 5, 0));
    set!(Fst_m64fp, m(St(M::F64, false), 5, 2));
    set!(Fstp_m64fp, m(St(M::F64, true), 5, 3));
    set!(Frstor_m94byte, ctl(m(Rstor(false), 5, 4), true));
    set!(Frstor_m108byte, ctl(m(Rstor(true), 5, 4), true));
    set!(Fnsave_m94byte, ctl(m(Save(false), 5, 6), false));
    set!(Fsave_m94byte, ctl(m(Save(false), 5, 6), true));
    set!(Fnsave_m108byte, ctl(m(Save(true), 5, 6), false));
    set!(Fsave_m108byte, ctl(m(Save(true), 5, 6), true));
    set!(Fnstsw_m2byte, ctl(m(Stsw, 5, 7), false));
    set!(Fstsw_m2byte, ctl(m(Stsw, 5, 7), true));
    set!(Ffree_sti, r(Free(false), 5, 0xC0));
    set!(Fxch_st0_sti_DDC8, r(Xch, 5, 0xC8));
    set!(Fst_sti, r(StSt(false), 5, 0xD0));
    set!(Fstp_sti, r(StSt(true), 5, 0xD8));
    set!(Fucom_st0_sti, r(Com(St0Sti, 0, true), 5, 0xE0));
    set!(Fucomp_st0_sti, r(Com(St0Sti, 1, true), 5, 0xE8));
    // DE
    set!(Fiadd_m16int, m(Arith(Add, I16, false), 6, 0));
    set!(Fimul_m16int, m(Arith(Mul, I16, false), 6, 1));
    set!(Ficom_m16int, m(Com(I16, 0, false), 6, 2));
    set!(Ficomp_m16int, m(Com(I16, 1, false), 6, 3));
    set!(Fisub_m16int, m(Arith(Sub, I16, false), 6, 4));
    set!(Fisubr_m16int, m(Arith(Subr, I16, false), 6, 5));
    set!(Fidiv_m16int, m(Arith(Div, I16, false), 6, 6));
    set!(Fidivr_m16int, m(Arith(Divr, I16, false), 6, 7));
    set!(Faddp_sti_st0, r(Arith(Add, StiSt0, true), 6, 0xC0));
    set!(Fmulp_sti_st0, r(Arith(Mul, StiSt0, true), 6, 0xC8));
    set!(Fcomp_st0_sti_DED0, r(Com(St0Sti, 1, false), 6, 0xD0));
    set!(Fcompp, r(Com(St0Sti, 2, false), 6, 0xD9));
    set!(Fsubrp_sti_st0, r(Arith(Subr, StiSt0, true), 6, 0xE0));
    set!(Fsubp_sti_st0, r(Arith(Sub, StiSt0, true), 6, 0xE8));
    set!(Fdivrp_sti_st0, r(Arith(Divr, StiSt0, true), 6, 0xF0));
    set!(Fdivp_sti_st0, r(Arith(Div, StiSt0, true), 6, 0xF8));
    // DF
    set!(Fild_m16int, m(Ld(M::I16), 7, 0));
    set!(Fist_m16int, m(St(M::I16, false), 7, 2));
    set!(Fistp_m16int, m(St(M::I16, true), 7, 3));
    set!(Fbld_m80bcd, m(Bld, 7, 4));
    set!(Fild_m64int, m(Ld(M::I64), 7, 5));
    set!(Fbstp_m80bcd, m(Bstp, 7, 6));
    set!(Fistp_m64int, m(St(M::I64, true), 7, 7));
    set!(Ffreep_sti, r(Free(true), 7, 0xC0));
    set!(Fxch_st0_sti_DFC8, r(Xch, 7, 0xC8));
    set!(Fstp_sti_DFD0, r(StSt(true), 7, 0xD0));
    set!(Fstp_sti_DFD8, r(StSt(true), 7, 0xD8));
    set!(Fnstsw_AX, ctl(r(StswAx, 7, 0xE0), false));
    set!(Fstsw_AX, ctl(r(StswAx, 7, 0xE0), true));
    set!(Fucomip_st0_sti, r(Comi(true, true), 7, 0xE8));
    set!(Fcomip_st0_sti, r(Comi(false, true), 7, 0xF0));
    // FISTTP (SSE3), FRSTPM (287XL), FSTDW/FSTSG (387SL) stay #UD on a P6.
    t
}

static TABLE: [Info; N] = build();

/// The form of an entry's `imm2` (iced `Code`); #UD for anything a P6 lacks.
pub fn info(code: u32) -> Info {
    (code as usize)
        .checked_sub(BASE)
        .and_then(|i| TABLE.get(i))
        .copied()
        .unwrap_or(UD)
}

/// The mod and r/m bits of a memory operand as it was encoded.
fn modrm_mem(ins: &Instruction) -> u8 {
    let b = ins.memory_base();
    let x = ins.memory_index();
    let ds = ins.memory_displ_size();
    let is16 =
        b.is_gpr16() || x.is_gpr16() || (b == Register::None && x == Register::None && ds == 2);
    if is16 {
        let rm = match (b, x) {
            (Register::BX, Register::SI) | (Register::SI, Register::BX) => 0,
            (Register::BX, Register::DI) | (Register::DI, Register::BX) => 1,
            (Register::BP, Register::SI) | (Register::SI, Register::BP) => 2,
            (Register::BP, Register::DI) | (Register::DI, Register::BP) => 3,
            (Register::SI, Register::None) | (Register::None, Register::SI) => 4,
            (Register::DI, Register::None) | (Register::None, Register::DI) => 5,
            (Register::BP, Register::None) | (Register::None, Register::BP) => 6,
            (Register::BX, Register::None) | (Register::None, Register::BX) => 7,
            _ => return 6,
        };
        let md = match ds {
            0 => 0,
            1 => 1,
            _ => 2,
        };
        return (md << 6) | rm;
    }
    if b == Register::None && x == Register::None {
        return 5;
    }
    let rm = if x != Register::None || b == Register::ESP {
        4
    } else {
        (b as u32).wrapping_sub(Register::EAX as u32) as u8 & 7
    };
    let md = if b == Register::None {
        0
    } else {
        match ds {
            0 => 0,
            1 => 1,
            _ => 2,
        }
    };
    (md << 6) | rm
}

/// Fills the x87 fields of a decoded entry: `sub` = the ST(i) index of a register form,
/// `imm` = the 11-bit opcode the FPU records (FOP), `size` = the memory operand's size.
pub fn decode(ins: &Instruction, e: &mut crate::decode::Entry) {
    let code = ins.code() as u32;
    e.imm2 = code;
    e.size = ins.memory_size().size() as u8;
    let inf = info(code);
    let mut st = 0u8;
    for k in 0..ins.op_count() {
        if ins.op_kind(k) == OpKind::Register {
            let reg = ins.op_register(k) as u32;
            let st0 = Register::ST0 as u32;
            if (st0..=st0 + 7).contains(&reg) {
                st = st.max((reg - st0) as u8);
            }
        }
    }
    let b2 = if inf.mem {
        inf.b2 | modrm_mem(ins)
    } else {
        inf.b2.wrapping_add(st)
    };
    // FCOMPP and FUCOMPP name no operand but compare with ST(1).
    if matches!(inf.op, Op::Com(_, 2, _)) {
        st = 1;
    }
    e.sub = st;
    e.imm = ((inf.esc as u32 & 7) << 8) | b2 as u32;
}
