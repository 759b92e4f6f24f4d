//! Decode once: iced-x86 turns guest bytes into an `Instruction`, and this table turns
//! that into a flat [`Entry`] holding everything execution needs (handler, register
//! numbers, memory-operand form, immediates, length). The hot loop never looks at iced
//! again. One row per instruction family below; anything without a row becomes
//! `Op::Unimpl`, which raises #UD and is logged once.

use iced_x86::{Code, ConditionCode, Instruction, Mnemonic, OpKind, Register};

/// What an operand slot refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Loc {
    #[default]
    None,
    /// General register: number 0–7; for byte operands 4–7 are AH..BH.
    Reg(u8),
    Mem,
    Imm,
    Seg(u8),
    Cr(u8),
    Dr(u8),
    /// MMX register MM0–MM7.
    Mm(u8),
    /// SSE register XMM0–XMM7.
    Xmm(u8),
}

/// The handler an entry runs. Operand size, operands and sub-operation live in the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Op {
    #[default]
    Unimpl,
    Invalid,
    Add,
    Or,
    Adc,
    Sbb,
    And,
    Sub,
    Xor,
    Cmp,
    Test,
    Inc,
    Dec,
    Not,
    Neg,
    Mul,
    Imul1,
    Imul,
    Div,
    Idiv,
    Shift,
    Shld,
    Shrd,
    Mov,
    MovSeg,
    Movzx,
    Movsx,
    Lea,
    Xchg,
    Xadd,
    Cmpxchg,
    Cmpxchg8b,
    Bswap,
    Cbw,
    Cwd,
    Lahf,
    Sahf,
    Xlat,
    Lfp,
    Setcc,
    Cmovcc,
    Bt,
    Bsf,
    Bsr,
    Nop,
    Push,
    Pop,
    Pusha,
    Popa,
    Pushf,
    Popf,
    Enter,
    Leave,
    Jmp,
    JmpInd,
    Jcc,
    Call,
    CallInd,
    Ret,
    JmpFar,
    JmpFarInd,
    CallFar,
    CallFarInd,
    Retf,
    Loop,
    Jcxz,
    Int,
    Int3,
    Into,
    Int1,
    Iret,
    Bound,
    Clc,
    Stc,
    Cmc,
    Cld,
    Std,
    Cli,
    Sti,
    Daa,
    Das,
    Aaa,
    Aas,
    Aam,
    Aad,
    Salc,
    Movs,
    Cmps,
    Stos,
    Lods,
    Scas,
    Ins,
    Outs,
    In,
    Out,
    Hlt,
    Cpuid,
    Rdtsc,
    Rdpmc,
    Rdmsr,
    Wrmsr,
    MovCr,
    MovDr,
    Clts,
    Wait,
    Esc,
    /// An MMX form; iced's `Code` in `imm2` (see `mmx::info`).
    Mmx,
    /// FXSAVE (`sub` 0) and FXRSTOR (`sub` 1).
    Fxsr,
    /// An SSE/SSE2 form; iced's `Code` in `imm2` (see `sse::info`).
    Sse,
    Lgdt,
    Lidt,
    Sgdt,
    Sidt,
    Lldt,
    Sldt,
    Ltr,
    Str,
    Lmsw,
    Smsw,
    Arpl,
    Lar,
    Lsl,
    Verr,
    Verw,
    Invd,
    Invlpg,
    Sysenter,
    Sysexit,
    Ud,
    // Operand-form specialisations of the commonest instructions (see `specialize`):
    // R = register, I = immediate, M = memory. ALU kinds live in `sub`.
    MovRR,
    MovRI,
    MovRM,
    MovMR,
    AluRR,
    AluRI,
    AluRM,
    AluMR,
    AluMI,
    IncR,
    DecR,
    PushR,
    PopR,
}

pub const NO_REG: u8 = 0xFF;
/// `Entry::jt` of an entry whose branch target is no entry of its block.
pub const NO_TARGET: u8 = 0xFF;

/// One pre-decoded instruction (32 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct Entry {
    pub op: Op,
    /// Operand size in bytes (1, 2, 4; 8 for CMPXCHG8B).
    pub size: u8,
    /// Source operand size for MOVZX/MOVSX; stack-slot size for far transfers.
    pub ssize: u8,
    pub len: u8,
    pub dst: Loc,
    pub src: Loc,
    pub src2: Loc,
    /// Effective segment of the memory operand (or of a string source).
    pub seg: SegNum,
    pub base: u8,
    pub index: u8,
    pub scale: u8,
    /// 32-bit addressing.
    pub asz32: bool,
    /// 0: none, 1: REP/REPE, 2: REPNE.
    pub rep: u8,
    /// Condition code (0–15), sub-operation (shift kind, BT kind, LOOP kind).
    pub sub: u8,
    /// Register numbers of the first two operands when they are general registers
    /// (for the specialised handlers, which need no `Loc` match).
    pub r0: Gpr,
    pub r1: Gpr,
    /// The handler row (`exec::table`), chosen by `translate`.
    pub h: crate::exec::table::H,
    /// For a relative JMP or Jcc: the index of the entry of the same block its target
    /// is the start of (set by the block builder), else `NO_TARGET`.
    pub jt: u8,
    /// The offset of the entry's end (the next instruction) from the start of its
    /// block, set by the block builder: the run loop sets EIP from it and the block's
    /// start EIP, which needs no running EIP carried from entry to entry.
    pub end: u16,
    pub disp: u32,
    pub imm: u32,
    pub imm2: u32,
}

fn gpr(r: Register) -> u8 {
    let n = r as u32;
    if r.is_gpr8() {
        (n - Register::AL as u32) as u8
    } else if r.is_gpr16() {
        (n - Register::AX as u32) as u8
    } else {
        (n - Register::EAX as u32) as u8
    }
}

fn reg_loc(r: Register) -> Loc {
    if r.is_segment_register() {
        Loc::Seg((r as u32 - Register::ES as u32) as u8)
    } else if r.is_cr() {
        Loc::Cr((r as u32 - Register::CR0 as u32) as u8)
    } else if r.is_dr() {
        Loc::Dr((r as u32 - Register::DR0 as u32) as u8)
    } else if r.is_gpr8() || r.is_gpr16() || r.is_gpr32() {
        Loc::Reg(gpr(r))
    } else if r.is_mm() {
        Loc::Mm((r as u32 - Register::MM0 as u32) as u8)
    } else if r.is_xmm() {
        Loc::Xmm((r as u32 - Register::XMM0 as u32) as u8)
    } else {
        Loc::None
    }
}

/// A general register's number (the index into `Cpu::regs`; for byte operands 0–3 are
/// AL..BL and 4–7 AH..BH). As an enum the compiler knows the range, so the handlers
/// index `Cpu::regs` with neither a bounds check nor a mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum Gpr {
    #[default]
    R0 = 0,
    R1 = 1,
    R2 = 2,
    R3 = 3,
    R4 = 4,
    R5 = 5,
    R6 = 6,
    R7 = 7,
}

impl Gpr {
    /// Register `r` modulo 8.
    pub fn new(r: u8) -> Gpr {
        match r & 7 {
            0 => Gpr::R0,
            1 => Gpr::R1,
            2 => Gpr::R2,
            3 => Gpr::R3,
            4 => Gpr::R4,
            5 => Gpr::R5,
            6 => Gpr::R6,
            _ => Gpr::R7,
        }
    }
}

/// A segment register's number (the index into `Cpu::seg`, as ES = 0 … GS = 5). As an
/// enum the compiler knows the range, so `cpu.seg[e.seg as usize]` needs no bounds
/// check on the memory fast path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum SegNum {
    #[default]
    Es = 0,
    Cs = 1,
    Ss = 2,
    Ds = 3,
    Fs = 4,
    Gs = 5,
}

fn seg_num(r: Register) -> SegNum {
    match r {
        Register::ES => SegNum::Es,
        Register::CS => SegNum::Cs,
        Register::SS => SegNum::Ss,
        Register::FS => SegNum::Fs,
        Register::GS => SegNum::Gs,
        _ => SegNum::Ds,
    }
}

fn cond(c: ConditionCode) -> u8 {
    (c as u8).wrapping_sub(1) & 15
}

/// Which entries end a block: control transfers, anything that changes how following
/// instructions decode or whether interrupts are recognised, and repeated string
/// instructions (which may restart themselves).
pub fn ends_block(e: &Entry) -> bool {
    use Op::*;
    if e.rep != 0 && matches!(e.op, Movs | Cmps | Stos | Lods | Scas | Ins | Outs) {
        return true;
    }
    let op = e.op;
    matches!(
        op,
        Unimpl
            | Invalid
            | Jmp
            | JmpInd
            | Call
            | CallInd
            | Ret
            | JmpFar
            | JmpFarInd
            | CallFar
            | CallFarInd
            | Retf
            | Int
            | Int3
            | Into
            | Int1
            | Iret
            | Bound
            | Sti
            | Cli
            | Popf
            | MovSeg
            | Lfp
            | Pop
            | Hlt
            | MovCr
            | MovDr
            | Clts
            | Lmsw
            | Lgdt
            | Lidt
            | Lldt
            | Ltr
            | Invlpg
            | Sysenter
            | Sysexit
            | Ud
            | Wrmsr
            | Rdmsr
            | Rdtsc
    )
}

/// Translates one decoded instruction into an entry.
pub fn translate(ins: &Instruction) -> Entry {
    let mut e = Entry {
        len: ins.len() as u8,
        base: NO_REG,
        index: NO_REG,
        ..Default::default()
    };
    if ins.is_invalid() {
        e.op = Op::Invalid;
        return e;
    }
    // Operands, generically.
    let mut imm_count = 0;
    let mut locs = [Loc::None; 3];
    let mut first_size = 0u32;
    for i in 0..ins.op_count().min(3) {
        let k = ins.op_kind(i);
        let loc = match k {
            OpKind::Register => {
                let r = ins.op_register(i);
                if first_size == 0 && (r.is_gpr8() || r.is_gpr16() || r.is_gpr32()) {
                    first_size = r.size() as u32;
                }
                reg_loc(r)
            }
            OpKind::Memory => {
                if first_size == 0 {
                    first_size = ins.memory_size().size() as u32;
                }
                e.seg = seg_num(ins.memory_segment());
                let b = ins.memory_base();
                let x = ins.memory_index();
                e.base = if b == Register::None { NO_REG } else { gpr(b) };
                e.index = if x == Register::None { NO_REG } else { gpr(x) };
                e.scale = match ins.memory_index_scale() {
                    1 => 0,
                    2 => 1,
                    4 => 2,
                    _ => 3,
                };
                e.disp = ins.memory_displacement32();
                e.asz32 = b.is_gpr32()
                    || x.is_gpr32()
                    || (b == Register::None && x == Register::None && ins.memory_displ_size() == 4);
                Loc::Mem
            }
            OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8_2nd => {
                let v = ins.immediate(i) as u32;
                if imm_count == 0 {
                    e.imm = v;
                } else {
                    e.imm2 = v;
                }
                imm_count += 1;
                Loc::Imm
            }
            OpKind::NearBranch16 | OpKind::NearBranch32 => {
                // Relative to the next instruction, so a block is valid at any CS base.
                e.imm = (ins.near_branch_target() as u32).wrapping_sub(ins.next_ip32());
                e.size = if k == OpKind::NearBranch16 { 2 } else { 4 };
                Loc::Imm
            }
            OpKind::FarBranch16 | OpKind::FarBranch32 => {
                e.imm = if k == OpKind::FarBranch16 {
                    ins.far_branch16() as u32
                } else {
                    ins.far_branch32()
                };
                e.imm2 = ins.far_branch_selector() as u32;
                e.size = if k == OpKind::FarBranch16 { 2 } else { 4 };
                Loc::Imm
            }
            OpKind::MemorySegSI | OpKind::MemorySegDI | OpKind::MemoryESDI => {
                e.asz32 = false;
                if k != OpKind::MemoryESDI {
                    e.seg = seg_num(ins.memory_segment());
                }
                Loc::Mem
            }
            OpKind::MemorySegESI | OpKind::MemorySegEDI | OpKind::MemoryESEDI => {
                e.asz32 = true;
                if k != OpKind::MemoryESEDI {
                    e.seg = seg_num(ins.memory_segment());
                }
                Loc::Mem
            }
            _ => Loc::None,
        };
        locs[i as usize] = loc;
    }
    e.dst = locs[0];
    e.src = locs[1];
    e.src2 = locs[2];
    if e.size == 0 {
        e.size = first_size as u8;
    }
    if e.size == 0 {
        e.size = 2;
    }
    e.rep = if ins.has_repne_prefix() {
        2
    } else if ins.has_rep_prefix() {
        1
    } else {
        0
    };
    e.sub = cond(ins.condition_code());
    // Stack width for push/pop-like instructions comes from iced's stack accounting.
    let spi = ins.stack_pointer_increment().unsigned_abs() as u8;

    use Mnemonic as M;
    // SSE/SSE2 forms by Code before the mnemonics: MOVSD and CMPSD (F2 0F 10/11/C2) share
    // the string forms' mnemonics, and the 66-prefixed integer forms the MMX ones.
    if crate::sse::is_sse(ins) {
        crate::sse::decode(ins, &mut e);
        e.op = Op::Sse;
        if ins.has_lock_prefix() {
            e.op = Op::Invalid;
        }
        return e;
    }
    e.op = match ins.mnemonic() {
        M::Add => Op::Add,
        M::Or => Op::Or,
        M::Adc => Op::Adc,
        M::Sbb => Op::Sbb,
        M::And => Op::And,
        M::Sub => Op::Sub,
        M::Xor => Op::Xor,
        M::Cmp => Op::Cmp,
        M::Test => Op::Test,
        M::Inc => Op::Inc,
        M::Dec => Op::Dec,
        M::Not => Op::Not,
        M::Neg => Op::Neg,
        M::Mul => Op::Mul,
        M::Imul => {
            if ins.op_count() == 1 {
                Op::Imul1
            } else {
                Op::Imul
            }
        }
        M::Div => Op::Div,
        M::Idiv => Op::Idiv,
        M::Rol => sub(&mut e, 0, Op::Shift),
        M::Ror => sub(&mut e, 1, Op::Shift),
        M::Rcl => sub(&mut e, 2, Op::Shift),
        M::Rcr => sub(&mut e, 3, Op::Shift),
        M::Shl => sub(&mut e, 4, Op::Shift),
        M::Shr => sub(&mut e, 5, Op::Shift),
        M::Sal => sub(&mut e, 6, Op::Shift),
        M::Sar => sub(&mut e, 7, Op::Shift),
        M::Shld => Op::Shld,
        M::Shrd => Op::Shrd,
        M::Mov => match (e.dst, e.src) {
            (Loc::Seg(_), _) => {
                e.size = 2;
                Op::MovSeg
            }
            (_, Loc::Seg(_)) => {
                // MOV r32, Sreg zero-extends on a P6; MOV m16, Sreg always stores 16 bits.
                if e.dst == Loc::Mem {
                    e.size = 2;
                }
                Op::Mov
            }
            (Loc::Cr(_), _) | (_, Loc::Cr(_)) => {
                e.size = 4;
                Op::MovCr
            }
            (Loc::Dr(_), _) | (_, Loc::Dr(_)) => {
                e.size = 4;
                Op::MovDr
            }
            _ => Op::Mov,
        },
        M::Movzx | M::Movsx => {
            e.ssize = if e.src == Loc::Mem {
                ins.memory_size().size() as u8
            } else {
                ins.op_register(1).size() as u8
            };
            e.size = ins.op_register(0).size() as u8;
            if ins.mnemonic() == M::Movzx {
                Op::Movzx
            } else {
                Op::Movsx
            }
        }
        M::Lea => {
            e.size = ins.op_register(0).size() as u8;
            Op::Lea
        }
        M::Xchg => Op::Xchg,
        M::Xadd => Op::Xadd,
        M::Cmpxchg => Op::Cmpxchg,
        M::Cmpxchg8b => {
            e.size = 8;
            Op::Cmpxchg8b
        }
        M::Bswap => Op::Bswap,
        M::Cbw | M::Cwde => {
            e.size = if ins.code() == Code::Cbw { 2 } else { 4 };
            Op::Cbw
        }
        M::Cwd | M::Cdq => {
            e.size = if ins.code() == Code::Cwd { 2 } else { 4 };
            Op::Cwd
        }
        M::Lahf => Op::Lahf,
        M::Sahf => Op::Sahf,
        M::Xlatb => {
            e.asz32 = ins.memory_base() == Register::EBX;
            e.seg = seg_num(ins.memory_segment());
            Op::Xlat
        }
        M::Lds | M::Les | M::Lfs | M::Lgs | M::Lss => {
            e.sub = match ins.mnemonic() {
                M::Les => 0,
                M::Lss => 2,
                M::Lds => 3,
                M::Lfs => 4,
                _ => 5,
            };
            e.size = ins.op_register(0).size() as u8;
            Op::Lfp
        }
        M::Seto
        | M::Setno
        | M::Setb
        | M::Setae
        | M::Sete
        | M::Setne
        | M::Setbe
        | M::Seta
        | M::Sets
        | M::Setns
        | M::Setp
        | M::Setnp
        | M::Setl
        | M::Setge
        | M::Setle
        | M::Setg => {
            e.size = 1;
            Op::Setcc
        }
        M::Cmovo
        | M::Cmovno
        | M::Cmovb
        | M::Cmovae
        | M::Cmove
        | M::Cmovne
        | M::Cmovbe
        | M::Cmova
        | M::Cmovs
        | M::Cmovns
        | M::Cmovp
        | M::Cmovnp
        | M::Cmovl
        | M::Cmovge
        | M::Cmovle
        | M::Cmovg => Op::Cmovcc,
        M::Bt => sub(&mut e, 0, Op::Bt),
        M::Bts => sub(&mut e, 1, Op::Bt),
        M::Btr => sub(&mut e, 2, Op::Bt),
        M::Btc => sub(&mut e, 3, Op::Bt),
        // Without BMI1/ABM (a P6) the F3 prefix is ignored: TZCNT is BSF and LZCNT is
        // BSR, which Linux relies on when it writes `rep; bsf`.
        M::Bsf | M::Tzcnt => Op::Bsf,
        M::Bsr | M::Lzcnt => Op::Bsr,
        // The multi-byte NOPs of the P6 family (0F 18–1F, SDM Vol. 2B "NOP"; `model`
        // gates them): with F3, 0F 1E is ENDBR32/RDSSPD on CET parts and stays a NOP on
        // every CPU without CET, which compilers rely on (-fcf-protection).
        M::Nop | M::Pause | M::Reservednop | M::Endbr32 | M::Endbr64 | M::Rdsspd => Op::Nop,
        M::Push => {
            e.size = spi;
            Op::Push
        }
        M::Pop => {
            e.size = spi;
            Op::Pop
        }
        M::Pusha | M::Pushad => {
            e.size = spi / 8;
            Op::Pusha
        }
        M::Popa | M::Popad => {
            e.size = spi / 8;
            Op::Popa
        }
        M::Pushf | M::Pushfd => {
            e.size = spi;
            Op::Pushf
        }
        M::Popf | M::Popfd => {
            e.size = spi;
            Op::Popf
        }
        M::Enter => {
            e.size = if matches!(ins.code(), Code::Enterw_imm16_imm8) {
                2
            } else {
                4
            };
            Op::Enter
        }
        M::Leave => {
            e.size = if ins.code() == Code::Leavew { 2 } else { 4 };
            Op::Leave
        }
        M::Jmp => match ins.op_kind(0) {
            OpKind::NearBranch16 | OpKind::NearBranch32 => Op::Jmp,
            OpKind::FarBranch16 | OpKind::FarBranch32 => Op::JmpFar,
            _ => {
                if ins.is_jmp_far_indirect() {
                    e.size = (ins.memory_size().size() - 2) as u8;
                    Op::JmpFarInd
                } else {
                    Op::JmpInd
                }
            }
        },
        M::Call => match ins.op_kind(0) {
            OpKind::NearBranch16 | OpKind::NearBranch32 => Op::Call,
            OpKind::FarBranch16 | OpKind::FarBranch32 => Op::CallFar,
            _ => {
                if ins.is_call_far_indirect() {
                    e.size = (ins.memory_size().size() - 2) as u8;
                    Op::CallFarInd
                } else {
                    Op::CallInd
                }
            }
        },
        M::Jo
        | M::Jno
        | M::Jb
        | M::Jae
        | M::Je
        | M::Jne
        | M::Jbe
        | M::Ja
        | M::Js
        | M::Jns
        | M::Jp
        | M::Jnp
        | M::Jl
        | M::Jge
        | M::Jle
        | M::Jg => Op::Jcc,
        M::Ret => {
            e.size = match ins.code() {
                Code::Retnw | Code::Retnw_imm16 => 2,
                _ => 4,
            };
            if ins.op_count() == 0 {
                e.imm = 0;
            }
            Op::Ret
        }
        M::Retf => {
            e.size = match ins.code() {
                Code::Retfw | Code::Retfw_imm16 => 2,
                _ => 4,
            };
            if ins.op_count() == 0 {
                e.imm = 0;
            }
            Op::Retf
        }
        M::Loop | M::Loope | M::Loopne => {
            e.asz32 = matches!(
                ins.code(),
                Code::Loop_rel8_16_ECX
                    | Code::Loop_rel8_32_ECX
                    | Code::Loope_rel8_16_ECX
                    | Code::Loope_rel8_32_ECX
                    | Code::Loopne_rel8_16_ECX
                    | Code::Loopne_rel8_32_ECX
            );
            e.sub = match ins.mnemonic() {
                M::Loop => 0,
                M::Loope => 1,
                _ => 2,
            };
            Op::Loop
        }
        M::Jcxz | M::Jecxz => {
            e.asz32 = ins.code() == Code::Jecxz_rel8_16 || ins.code() == Code::Jecxz_rel8_32;
            Op::Jcxz
        }
        M::Int => Op::Int,
        M::Int3 => Op::Int3,
        M::Into => Op::Into,
        M::Int1 => Op::Int1,
        M::Iret | M::Iretd => {
            e.size = if ins.code() == Code::Iretw { 2 } else { 4 };
            Op::Iret
        }
        M::Bound => Op::Bound,
        M::Clc => Op::Clc,
        M::Stc => Op::Stc,
        M::Cmc => Op::Cmc,
        M::Cld => Op::Cld,
        M::Std => Op::Std,
        M::Cli => Op::Cli,
        M::Sti => Op::Sti,
        M::Daa => Op::Daa,
        M::Das => Op::Das,
        M::Aaa => Op::Aaa,
        M::Aas => Op::Aas,
        M::Aam => Op::Aam,
        M::Aad => Op::Aad,
        M::Salc => Op::Salc,
        // SSE2's MOVSD (F2 0F 10/11) and CMPSD (F2 0F C2) share the string forms'
        // mnemonics: only the string codes are string instructions.
        M::Movsd if ins.code() != Code::Movsd_m32_m32 => Op::Unimpl,
        M::Cmpsd if ins.code() != Code::Cmpsd_m32_m32 => Op::Unimpl,
        M::Movsb | M::Movsw | M::Movsd => string(&mut e, ins, Op::Movs),
        M::Cmpsb | M::Cmpsw | M::Cmpsd => string(&mut e, ins, Op::Cmps),
        M::Stosb | M::Stosw | M::Stosd => string(&mut e, ins, Op::Stos),
        M::Lodsb | M::Lodsw | M::Lodsd => string(&mut e, ins, Op::Lods),
        M::Scasb | M::Scasw | M::Scasd => string(&mut e, ins, Op::Scas),
        M::Insb | M::Insw | M::Insd => string(&mut e, ins, Op::Ins),
        M::Outsb | M::Outsw | M::Outsd => string(&mut e, ins, Op::Outs),
        M::In => {
            e.size = ins.op_register(0).size() as u8;
            Op::In
        }
        M::Out => {
            e.size = ins.op_register(1).size() as u8;
            Op::Out
        }
        M::Hlt => Op::Hlt,
        M::Cpuid => Op::Cpuid,
        M::Rdtsc => Op::Rdtsc,
        M::Rdpmc => Op::Rdpmc,
        M::Rdmsr => Op::Rdmsr,
        M::Wrmsr => Op::Wrmsr,
        M::Clts => Op::Clts,
        M::Wait => Op::Wait,
        M::Lgdt | M::Lidt => {
            // The operand size decides how much of the 6-byte image's base is loaded.
            let o16 = matches!(ins.code(), Code::Lgdt_m1632_16 | Code::Lidt_m1632_16);
            e.size = if o16 { 2 } else { 4 };
            if ins.mnemonic() == M::Lgdt {
                Op::Lgdt
            } else {
                Op::Lidt
            }
        }
        M::Sgdt => Op::Sgdt,
        M::Sidt => Op::Sidt,
        M::Lldt => Op::Lldt,
        M::Sldt => Op::Sldt,
        M::Ltr => Op::Ltr,
        M::Str => Op::Str,
        M::Lmsw => Op::Lmsw,
        M::Smsw => Op::Smsw,
        M::Arpl => Op::Arpl,
        M::Lar => Op::Lar,
        M::Lsl => Op::Lsl,
        M::Verr => Op::Verr,
        M::Verw => Op::Verw,
        M::Invd | M::Wbinvd => Op::Invd,
        M::Invlpg => Op::Invlpg,
        M::Sysenter => Op::Sysenter,
        M::Sysexit => Op::Sysexit,
        M::Ud0 | M::Ud1 | M::Ud2 => Op::Ud,
        M::Fxsave => sub(&mut e, 0, Op::Fxsr),
        M::Fxrstor => sub(&mut e, 1, Op::Fxsr),
        _ if is_x87(ins) => {
            // The x87 unit dispatches on iced's Code (imm2), kept here with the memory
            // operand; `sub` = ST(i) index, `imm` = the opcode bits FOP records.
            crate::fpu::table::decode(ins, &mut e);
            Op::Esc
        }
        // By Code, not mnemonic: the 66-prefixed SSE2 forms share the MMX mnemonics and
        // are not in the MMX table, so they stay #UD.
        _ if crate::mmx::is_mmx(ins) => {
            crate::mmx::decode(ins, &mut e);
            Op::Mmx
        }
        _ => Op::Unimpl,
    };
    // LOCK is only valid on read-modify-write forms with a memory destination (SDM Vol. 2A
    // "LOCK"); iced already rejects the other opcodes, so only the register form remains.
    if ins.has_lock_prefix() && e.dst != Loc::Mem {
        e.op = Op::Invalid;
    }
    specialize(&mut e);
    if let Loc::Reg(r) = e.dst {
        e.r0 = Gpr::new(r);
    }
    if let Loc::Reg(r) = e.src {
        e.r1 = Gpr::new(r);
    }
    e.h = crate::exec::table::select(&e);
    e.jt = NO_TARGET;
    e
}

/// Rewrites the commonest generic entries into forms whose handlers need no operand
/// dispatch at run time.
fn specialize(e: &mut Entry) {
    use Loc::{Imm, Mem, Reg};
    let alu = match e.op {
        Op::Add => Some(0),
        Op::Or => Some(1),
        Op::Adc => Some(2),
        Op::Sbb => Some(3),
        Op::And => Some(4),
        Op::Sub => Some(5),
        Op::Xor => Some(6),
        Op::Cmp => Some(7),
        Op::Test => Some(8),
        _ => None,
    };
    if let Some(k) = alu {
        let op = match (e.dst, e.src) {
            (Reg(_), Reg(_)) => Op::AluRR,
            (Reg(_), Imm) => Op::AluRI,
            (Reg(_), Mem) => Op::AluRM,
            (Mem, Reg(_)) => Op::AluMR,
            (Mem, Imm) => Op::AluMI,
            _ => return,
        };
        e.op = op;
        e.sub = k;
        return;
    }
    e.op = match (e.op, e.dst, e.src) {
        (Op::Mov, Reg(_), Reg(_)) => Op::MovRR,
        (Op::Mov, Reg(_), Imm) => Op::MovRI,
        (Op::Mov, Reg(_), Mem) => Op::MovRM,
        (Op::Mov, Mem, Reg(_)) => Op::MovMR,
        (Op::Inc, Reg(_), _) => Op::IncR,
        (Op::Dec, Reg(_), _) => Op::DecR,
        (Op::Push, Reg(_), _) if e.size != 1 => Op::PushR,
        (Op::Pop, Reg(_), _) => Op::PopR,
        (op, _, _) => op,
    };
}

fn sub(e: &mut Entry, k: u8, op: Op) -> Op {
    e.sub = k;
    op
}

fn string(e: &mut Entry, ins: &Instruction, op: Op) -> Op {
    e.size = ins.memory_size().size() as u8;
    if e.size == 0 {
        e.size = 1;
    }
    // String ops name their operands implicitly; keep the source segment (DS or override).
    if op == Op::Ins {
        e.seg = SegNum::Es;
    }
    op
}

/// iced numbers every x87 code contiguously from `Fadd_m32fp` to `Fcomip_st0_sti`.
fn is_x87(ins: &Instruction) -> bool {
    (Code::Fadd_m32fp as u32..=Code::Fcomip_st0_sti as u32).contains(&(ins.code() as u32))
}

#[cfg(test)]
mod coverage {
    use super::*;
    use iced_x86::{CpuidFeature, Decoder, DecoderOptions};
    use std::collections::BTreeMap;

    /// One decoded instance of every `Code` reachable in 16- and 32-bit mode: every
    /// one-, two- and three-byte opcode (0F, 0F 38, 0F 3A) with every ModRM byte, after
    /// each mandatory/size prefix combination, followed by enough bytes for any SIB,
    /// displacement and immediate.
    fn every_code() -> BTreeMap<u32, Instruction> {
        let prefixes: [&[u8]; 8] = [
            &[],
            &[0x66],
            &[0xF2],
            &[0xF3],
            &[0x67],
            &[0x66, 0x67],
            &[0xF0],
            &[0x66, 0xF0],
        ];
        let maps: [&[u8]; 4] = [&[], &[0x0F], &[0x0F, 0x38], &[0x0F, 0x3A]];
        let mut seen = BTreeMap::new();
        let mut buf = Vec::with_capacity(24);
        for bits in [16, 32] {
            for p in prefixes {
                for m in maps {
                    for op in 0..=255u8 {
                        for modrm in 0..=255u8 {
                            buf.clear();
                            buf.extend_from_slice(p);
                            buf.extend_from_slice(m);
                            buf.push(op);
                            buf.push(modrm);
                            buf.extend_from_slice(&[0x24, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
                            let ins = Decoder::new(bits, &buf, DecoderOptions::NONE).decode();
                            if !ins.is_invalid() {
                                seen.entry(ins.code() as u32).or_insert(ins);
                            }
                        }
                    }
                }
            }
        }
        seen
    }

    /// Whether a `Code` belongs to an extension none of the modelled CPUs (up to a
    /// Pentium M: MMX, SSE, SSE2) has, so it is #UD by design, not a missing row.
    fn beyond_models(code: Code) -> Option<&'static str> {
        use CpuidFeature as F;
        let known = [
            F::INTEL8086,
            F::INTEL8086_ONLY,
            F::INTEL186,
            F::INTEL286,
            F::INTEL286_ONLY,
            F::INTEL386,
            F::INTEL386_ONLY,
            F::INTEL386_A0_ONLY,
            F::INTEL486,
            F::INTEL486_A_ONLY,
            F::CPUID,
            F::FPU,
            F::FPU287,
            F::FPU287XL_ONLY,
            F::FPU387,
            F::FPU387SL_ONLY,
            F::CMOV,
            F::CX8,
            F::MSR,
            F::TSC,
            F::SEP,
            F::FXSR,
            F::MMX,
            F::SSE,
            F::SSE2,
            F::MULTIBYTENOP,
            F::PAUSE,
            F::CLFSH,
            // ENDBR32 (and RDSSPD) are NOPs on CPUs without CET.
            F::CET_IBT,
        ];
        let feats = code.cpuid_features();
        if feats.iter().all(|f| known.contains(f)) {
            None
        } else {
            Some("an extension no modelled CPU has (CPUID says so: #UD)")
        }
    }

    /// Codes of the modelled extensions that are deliberately #UD, with the reason.
    const UD_BY_DESIGN: &[(Code, &str)] = &[];

    /// Acceptance: every iced `Code` the modelled CPUs can decode has a row — a
    /// specialised handler or a generic one — or is listed as #UD with a reason.
    #[test]
    fn every_supported_code_has_a_row() {
        let mut missing = Vec::new();
        let mut rows = 0;
        for (_, ins) in every_code() {
            let code = ins.code();
            let e = translate(&ins);
            if e.op != Op::Unimpl {
                rows += 1;
                continue;
            }
            if beyond_models(code).is_some() || UD_BY_DESIGN.iter().any(|&(c, _)| c == code) {
                continue;
            }
            missing.push(format!("{code:?} {:?}", code.cpuid_features()));
        }
        // iced has about 1,300 codes in these maps for 16/32-bit mode up to SSE2.
        assert!(rows > 1000, "only {rows} codes found: the walk is broken");
        assert!(
            missing.is_empty(),
            "codes without a row:\n{}",
            missing.join("\n")
        );
    }
}
