//! SSE and SSE2 (SDM Vol. 1 ch. 10–11, Vol. 2 instruction pages): eight 128-bit
//! registers XMM0–XMM7 ([`Cpu::xmm`], lane 0 in the low bits), the control/status
//! register MXCSR, the SSE integer additions to MMX and SSE2's 128-bit integer forms.
//!
//! - The table below says what each iced `Code` is (one row per form, like `mmx`); the
//!   packed integer operations reuse `mmx::binop` on each 64-bit half, so the lane
//!   arithmetic lives in one place. Floating-point forms (arithmetic, compares,
//!   conversions) live in `float` (see the hook in [`is_sse`] and `sse_float`).
//! - Which extension a form needs (SSE, SSE2, CLFSH) comes from iced's CPUID feature
//!   list ([`feature`]); `model::allows` turns a form the model lacks into #UD at decode.
//! - Faults, in the order of the SDM's exception tables (Vol. 2 §2.4, Tables 2-18 ff.
//!   "Exception class", and Vol. 3A Table 12-? for the SIMD/MMX forms):
//!   - forms touching an XMM register or MXCSR: CR0.EM = 1 or CR4.OSFXSR = 0 → #UD,
//!     CR0.TS = 1 → #NM; forms that also touch an MMX register (MOVQ2DQ, CVTPI2PS…)
//!     then report a pending x87 exception (#MF) and make the x87→MMX transition;
//!   - forms on MMX registers only (PAVGB mm, PADDQ mm, MASKMOVQ…): the MMX rules
//!     (CR0.EM → #UD, CR0.TS → #NM, #MF) plus CR4.OSFXSR = 0 → #UD, except for PSHUFW
//!     and MOVNTQ, which OSFXSR does not affect (Vol. 3A §13.1.4 "System exceptions");
//!   - MOVNTI, PREFETCHh, the fences and CLFLUSH are not SIMD instructions: only their
//!     memory operand can fault;
//!   - then the memory operand: segment limit/rights (#GP/#SS), 16-byte alignment of
//!     an aligned m128 (#GP(0) whatever the segment), paging (#PF);
//!   - an unmasked SIMD floating-point exception → #XM with CR4.OSXMMEXCPT = 1, else
//!     #UD ([`Cpu::xm_exception`]).

mod float;
pub mod softfloat;

use crate::decode::{Entry, Loc};
use crate::mmx::{binop, Bin, W};
use crate::regs::{CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXMMEXCPT};
use crate::{Bus, Cpu, Exc, Res, NM, XM};
use iced_x86::{Code, CpuidFeature, Instruction};

/// MXCSR after reset and after FINIT-less power-up (SDM Vol. 3A Table 9-1): every
/// exception masked, round to nearest, no FTZ/DAZ.
pub const MXCSR_RESET: u32 = 0x1F80;
/// MXCSR.DAZ (denormals are zeros), bit 6: reserved on processors without it.
pub const MXCSR_DAZ: u32 = 1 << 6;
/// The six exception flags (IE DE ZE OE UE PE), bits 5–0; their masks are bits 12–7.
pub const MXCSR_FLAGS: u32 = 0x3F;
const MXCSR_MASK_SHIFT: u32 = 7;

/// What one SSE/SSE2 form does. Operands are in the entry: `dst`/`src` (`Loc::Xmm`,
/// `Loc::Mm`, `Loc::Reg`, `Loc::Mem`), `src2` for MASKMOVQ/MASKMOVDQU's mask, the imm8
/// in `imm`, the memory operand's size in `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Not an integer/move form: a float form (see `sse_float`) or not SSE at all.
    Ud,
    /// 128-bit move xmm/m128 ← xmm/m128 (MOVAPS/UPS/APD/UPD/DQA/DQU, MOVNTPS/PD/DQ); the
    /// flag says whether an m128 must be 16-byte aligned.
    Mov128(bool),
    /// MOVSS/MOVSD with an operand of `n` bytes: a load zero-extends, a register move
    /// replaces only the low `n` bytes, a store writes `n` bytes.
    MovScalar(u8),
    /// MOVD/MOVQ: the low `n` bytes of the source, zero-extended to the whole
    /// destination register (or stored as `n` bytes).
    MovZx(u8),
    /// MOVLPS/MOVLPD: the low quadword to or from m64, the high one kept.
    MovLo,
    /// MOVHPS/MOVHPD: the high quadword to or from m64, the low one kept.
    MovHi,
    /// MOVHLPS: low quadword ← the source's high quadword.
    MovHlps,
    /// MOVLHPS: high quadword ← the source's low quadword.
    MovLhps,
    /// MOVQ2DQ xmm, mm; MOVDQ2Q mm, xmm (both make the x87→MMX transition).
    Movq2dq,
    Movdq2q,
    /// MOVMSKPS, MOVMSKPD, PMOVMSKB: the top bit of each 32-, 64- or 8-bit lane.
    MovMsk(u8),
    /// A lane operation of `mmx::binop` on mm or (each 64-bit half of) xmm registers.
    Int(Bin),
    /// PSRLW…PSLLQ by an imm8 on mm or xmm.
    ShiftImm(Bin),
    /// PSLLDQ (`true`) / PSRLDQ xmm, imm8: shift the whole register by bytes.
    ShiftBytes(bool),
    /// PSHUFW, PSHUFD, PSHUFLW, PSHUFHW; SHUFPS, SHUFPD.
    Pshufw,
    Pshufd,
    Pshuflw,
    Pshufhw,
    Shufps,
    Shufpd,
    /// PINSRW mm/xmm, r32/m16, imm8 and PEXTRW r32, mm/xmm, imm8.
    Pinsrw,
    Pextrw,
    /// MASKMOVQ / MASKMOVDQU: byte-masked store to DS:(E)DI.
    MaskMov,
    /// MOVNTQ m64, mm.
    Movntq,
    /// MOVNTI m32, r32: an ordinary store of a general register.
    Movnti,
    Ldmxcsr,
    Stmxcsr,
    /// PREFETCHh, SFENCE, LFENCE, MFENCE: no architectural effect on this in-order CPU
    /// (prefetches never fault, SDM Vol. 2B "PREFETCHh").
    Hint,
    /// CLFLUSH m8: no cache to flush; faults as a byte read would.
    Clflush,
}

const BASE: usize = Code::Movups_xmm_xmmm128 as usize;
const N: usize = Code::Paddd_xmm_xmmm128 as usize - BASE + 1;

const fn build() -> [Op; N] {
    use Bin::*;
    use Op::*;
    let mut t = [Ud; N];
    macro_rules! set {
        ($($code:ident),+ => $v:expr) => {
            $(t[Code::$code as usize - BASE] = $v;)+
        };
    }
    // 0F 10–17: moves.
    set!(Movups_xmm_xmmm128, Movupd_xmm_xmmm128, Movups_xmmm128_xmm, Movupd_xmmm128_xmm
        => Mov128(false));
    set!(Movss_xmm_xmmm32, Movss_xmmm32_xmm => MovScalar(4));
    set!(Movsd_xmm_xmmm64, Movsd_xmmm64_xmm => MovScalar(8));
    set!(Movlps_xmm_m64, Movlpd_xmm_m64, Movlps_m64_xmm, Movlpd_m64_xmm => MovLo);
    set!(Movhps_xmm_m64, Movhpd_xmm_m64, Movhps_m64_xmm, Movhpd_m64_xmm => MovHi);
    set!(Movhlps_xmm_xmm => MovHlps);
    set!(Movlhps_xmm_xmm => MovLhps);
    set!(Unpcklps_xmm_xmmm128 => Int(UnpackLo(W::D)));
    set!(Unpckhps_xmm_xmmm128 => Int(UnpackHi(W::D)));
    set!(Unpcklpd_xmm_xmmm128 => Int(UnpackLo(W::Q)));
    set!(Unpckhpd_xmm_xmmm128 => Int(UnpackHi(W::Q)));
    // 0F 18 /0–3.
    set!(Prefetchnta_m8, Prefetcht0_m8, Prefetcht1_m8, Prefetcht2_m8 => Hint);
    // 0F 28/29/2B.
    set!(Movaps_xmm_xmmm128, Movapd_xmm_xmmm128, Movaps_xmmm128_xmm, Movapd_xmmm128_xmm,
        Movntps_m128_xmm, Movntpd_m128_xmm => Mov128(true));
    // 0F 50, 54–57.
    set!(Movmskps_r32_xmm => MovMsk(32));
    set!(Movmskpd_r32_xmm => MovMsk(64));
    set!(Andps_xmm_xmmm128, Andpd_xmm_xmmm128 => Int(And));
    set!(Andnps_xmm_xmmm128, Andnpd_xmm_xmmm128 => Int(Andn));
    set!(Orps_xmm_xmmm128, Orpd_xmm_xmmm128 => Int(Or));
    set!(Xorps_xmm_xmmm128, Xorpd_xmm_xmmm128 => Int(Xor));
    // 66 0F 60–6D: the 128-bit forms of the MMX unpacks, packs and compares.
    set!(Punpcklbw_xmm_xmmm128 => Int(UnpackLo(W::B)));
    set!(Punpcklwd_xmm_xmmm128 => Int(UnpackLo(W::W)));
    set!(Punpckldq_xmm_xmmm128 => Int(UnpackLo(W::D)));
    set!(Punpcklqdq_xmm_xmmm128 => Int(UnpackLo(W::Q)));
    set!(Packsswb_xmm_xmmm128 => Int(PackSs(W::W)));
    set!(Packssdw_xmm_xmmm128 => Int(PackSs(W::D)));
    set!(Packuswb_xmm_xmmm128 => Int(PackUs));
    set!(Pcmpgtb_xmm_xmmm128 => Int(CmpGt(W::B)));
    set!(Pcmpgtw_xmm_xmmm128 => Int(CmpGt(W::W)));
    set!(Pcmpgtd_xmm_xmmm128 => Int(CmpGt(W::D)));
    set!(Punpckhbw_xmm_xmmm128 => Int(UnpackHi(W::B)));
    set!(Punpckhwd_xmm_xmmm128 => Int(UnpackHi(W::W)));
    set!(Punpckhdq_xmm_xmmm128 => Int(UnpackHi(W::D)));
    set!(Punpckhqdq_xmm_xmmm128 => Int(UnpackHi(W::Q)));
    // 66 0F 6E/6F, 7E/7F, F3 0F 6F/7E/7F, 66 0F D6: moves.
    set!(Movd_xmm_rm32, Movd_rm32_xmm => MovZx(4));
    set!(Movq_xmm_xmmm64, Movq_xmmm64_xmm => MovZx(8));
    set!(Movdqa_xmm_xmmm128, Movdqa_xmmm128_xmm => Mov128(true));
    set!(Movdqu_xmm_xmmm128, Movdqu_xmmm128_xmm => Mov128(false));
    // 0F 70 and 66/F2/F3 0F 70: shuffles.
    set!(Pshufw_mm_mmm64_imm8 => Pshufw);
    set!(Pshufd_xmm_xmmm128_imm8 => Pshufd);
    set!(Pshufhw_xmm_xmmm128_imm8 => Pshufhw);
    set!(Pshuflw_xmm_xmmm128_imm8 => Pshuflw);
    // 66 0F 71–73: shifts by an immediate.
    set!(Psrlw_xmm_imm8 => ShiftImm(Srl(W::W)));
    set!(Psraw_xmm_imm8 => ShiftImm(Sra(W::W)));
    set!(Psllw_xmm_imm8 => ShiftImm(Sll(W::W)));
    set!(Psrld_xmm_imm8 => ShiftImm(Srl(W::D)));
    set!(Psrad_xmm_imm8 => ShiftImm(Sra(W::D)));
    set!(Pslld_xmm_imm8 => ShiftImm(Sll(W::D)));
    set!(Psrlq_xmm_imm8 => ShiftImm(Srl(W::Q)));
    set!(Psllq_xmm_imm8 => ShiftImm(Sll(W::Q)));
    set!(Psrldq_xmm_imm8 => ShiftBytes(false));
    set!(Pslldq_xmm_imm8 => ShiftBytes(true));
    // 66 0F 74–76.
    set!(Pcmpeqb_xmm_xmmm128 => Int(CmpEq(W::B)));
    set!(Pcmpeqw_xmm_xmmm128 => Int(CmpEq(W::W)));
    set!(Pcmpeqd_xmm_xmmm128 => Int(CmpEq(W::D)));
    // 0F AE: MXCSR, fences, CLFLUSH.
    set!(Ldmxcsr_m32 => Ldmxcsr);
    set!(Stmxcsr_m32 => Stmxcsr);
    set!(Lfence, Lfence_E9, Lfence_EA, Lfence_EB, Lfence_EC, Lfence_ED, Lfence_EE, Lfence_EF
        => Hint);
    set!(Mfence, Mfence_F1, Mfence_F2, Mfence_F3, Mfence_F4, Mfence_F5, Mfence_F6, Mfence_F7
        => Hint);
    set!(Sfence, Sfence_F9, Sfence_FA, Sfence_FB, Sfence_FC, Sfence_FD, Sfence_FE, Sfence_FF
        => Hint);
    set!(Clflush_m8 => Clflush);
    // 0F C3–C6.
    set!(Movnti_m32_r32 => Movnti);
    set!(Pinsrw_mm_r32m16_imm8, Pinsrw_xmm_r32m16_imm8 => Pinsrw);
    set!(Pextrw_r32_mm_imm8, Pextrw_r32_xmm_imm8 => Pextrw);
    set!(Shufps_xmm_xmmm128_imm8 => Shufps);
    set!(Shufpd_xmm_xmmm128_imm8 => Shufpd);
    // 0F D1–FE, MMX (SSE/SSE2 additions) and 66 (SSE2 128-bit) forms.
    set!(Psrlw_xmm_xmmm128 => Int(Srl(W::W)));
    set!(Psrld_xmm_xmmm128 => Int(Srl(W::D)));
    set!(Psrlq_xmm_xmmm128 => Int(Srl(W::Q)));
    set!(Paddq_mm_mmm64, Paddq_xmm_xmmm128 => Int(Add(W::Q)));
    set!(Pmullw_xmm_xmmm128 => Int(Mullw));
    set!(Movq2dq_xmm_mm => Movq2dq);
    set!(Movdq2q_mm_xmm => Movdq2q);
    set!(Pmovmskb_r32_mm, Pmovmskb_r32_xmm => MovMsk(8));
    set!(Psubusb_xmm_xmmm128 => Int(SubUs(W::B)));
    set!(Psubusw_xmm_xmmm128 => Int(SubUs(W::W)));
    set!(Pminub_mm_mmm64, Pminub_xmm_xmmm128 => Int(MinU(W::B)));
    set!(Pand_xmm_xmmm128 => Int(And));
    set!(Paddusb_xmm_xmmm128 => Int(AddUs(W::B)));
    set!(Paddusw_xmm_xmmm128 => Int(AddUs(W::W)));
    set!(Pmaxub_mm_mmm64, Pmaxub_xmm_xmmm128 => Int(MaxU(W::B)));
    set!(Pandn_xmm_xmmm128 => Int(Andn));
    set!(Pavgb_mm_mmm64, Pavgb_xmm_xmmm128 => Int(Avg(W::B)));
    set!(Psraw_xmm_xmmm128 => Int(Sra(W::W)));
    set!(Psrad_xmm_xmmm128 => Int(Sra(W::D)));
    set!(Pavgw_mm_mmm64, Pavgw_xmm_xmmm128 => Int(Avg(W::W)));
    set!(Pmulhuw_mm_mmm64, Pmulhuw_xmm_xmmm128 => Int(Mulhuw));
    set!(Pmulhw_xmm_xmmm128 => Int(Mulhw));
    set!(Movntq_m64_mm => Movntq);
    set!(Movntdq_m128_xmm => Mov128(true));
    set!(Psubsb_xmm_xmmm128 => Int(SubS(W::B)));
    set!(Psubsw_xmm_xmmm128 => Int(SubS(W::W)));
    set!(Pminsw_mm_mmm64, Pminsw_xmm_xmmm128 => Int(MinS(W::W)));
    set!(Por_xmm_xmmm128 => Int(Or));
    set!(Paddsb_xmm_xmmm128 => Int(AddS(W::B)));
    set!(Paddsw_xmm_xmmm128 => Int(AddS(W::W)));
    set!(Pmaxsw_mm_mmm64, Pmaxsw_xmm_xmmm128 => Int(MaxS(W::W)));
    set!(Pxor_xmm_xmmm128 => Int(Xor));
    set!(Psllw_xmm_xmmm128 => Int(Sll(W::W)));
    set!(Pslld_xmm_xmmm128 => Int(Sll(W::D)));
    set!(Psllq_xmm_xmmm128 => Int(Sll(W::Q)));
    set!(Pmuludq_mm_mmm64, Pmuludq_xmm_xmmm128 => Int(Muludq));
    set!(Pmaddwd_xmm_xmmm128 => Int(Maddwd));
    set!(Psadbw_mm_mmm64, Psadbw_xmm_xmmm128 => Int(Sad));
    set!(Maskmovq_rDI_mm_mm, Maskmovdqu_rDI_xmm_xmm => MaskMov);
    set!(Psubb_xmm_xmmm128 => Int(Sub(W::B)));
    set!(Psubw_xmm_xmmm128 => Int(Sub(W::W)));
    set!(Psubd_xmm_xmmm128 => Int(Sub(W::D)));
    set!(Psubq_mm_mmm64, Psubq_xmm_xmmm128 => Int(Sub(W::Q)));
    set!(Paddb_xmm_xmmm128 => Int(Add(W::B)));
    set!(Paddw_xmm_xmmm128 => Int(Add(W::W)));
    set!(Paddd_xmm_xmmm128 => Int(Add(W::D)));
    t
}

static TABLE: [Op; N] = build();

/// The integer/move form of iced `Code` number `code`; `Op::Ud` for anything else.
pub fn info(code: u32) -> Op {
    (code as usize)
        .checked_sub(BASE)
        .and_then(|i| TABLE.get(i))
        .copied()
        .unwrap_or(Op::Ud)
}

/// Whether the instruction is an SSE/SSE2 form this CPU implements.
pub fn is_sse(ins: &Instruction) -> bool {
    info(ins.code() as u32) != Op::Ud || float::is_float(ins)
}

/// The CPUID leaf 1 EDX flag an instruction needs when it belongs to SSE, SSE2 or
/// CLFLUSH (iced's per-form CPUID feature list); `None` for everything else. PAUSE
/// (F3 90) is a NOP on every model (SDM Vol. 2B "PAUSE": "backward compatible").
pub fn feature(ins: &Instruction) -> Option<u32> {
    use crate::model::{FEAT_CLFSH, FEAT_SSE, FEAT_SSE2};
    // iced lists PADDQ mm as MMX; the SDM's PADDQ page gives SSE2 for both forms.
    if matches!(ins.code(), Code::Paddq_mm_mmm64 | Code::Psubq_mm_mmm64) {
        return Some(FEAT_SSE2);
    }
    ins.cpuid_features().iter().find_map(|f| match f {
        CpuidFeature::SSE => Some(FEAT_SSE),
        CpuidFeature::SSE2 => Some(FEAT_SSE2),
        CpuidFeature::CLFSH => Some(FEAT_CLFSH),
        _ => None,
    })
}

/// Fills the SSE fields of a decoded entry: `imm2` = iced's `Code`, `size` = the memory
/// operand's size (0 without one). The generic operand decoding already put the
/// operands in `dst`/`src`/`src2` and the imm8 in `imm`.
pub fn decode(ins: &Instruction, e: &mut Entry) {
    e.imm2 = ins.code() as u32;
    e.size = ins.memory_size().size() as u8;
}

fn lo(v: u128) -> u64 {
    v as u64
}

fn hi(v: u128) -> u64 {
    (v >> 64) as u64
}

fn join(lo: u64, hi: u64) -> u128 {
    lo as u128 | (hi as u128) << 64
}

/// `mmx::binop` widened to 128 bits: lane-wise operations on each half, the unpacks
/// from the low (high) halves of both operands, the packs of each whole operand, and
/// the shifts by the source's low quadword (SDM Vol. 2 PUNPCK*/PACK*/PSLL*, 128-bit
/// forms).
pub fn binop128(op: Bin, a: u128, b: u128) -> u128 {
    match op {
        Bin::UnpackLo(W::Q) => join(lo(a), lo(b)),
        Bin::UnpackHi(W::Q) => join(hi(a), hi(b)),
        Bin::UnpackLo(w) => join(
            binop(Bin::UnpackLo(w), lo(a), lo(b)),
            binop(Bin::UnpackHi(w), lo(a), lo(b)),
        ),
        Bin::UnpackHi(w) => join(
            binop(Bin::UnpackLo(w), hi(a), hi(b)),
            binop(Bin::UnpackHi(w), hi(a), hi(b)),
        ),
        Bin::PackSs(_) | Bin::PackUs => join(binop(op, lo(a), hi(a)), binop(op, lo(b), hi(b))),
        Bin::Sll(_) | Bin::Srl(_) | Bin::Sra(_) => {
            join(binop(op, lo(a), lo(b)), binop(op, hi(a), lo(b)))
        }
        _ => join(binop(op, lo(a), lo(b)), binop(op, hi(a), hi(b))),
    }
}

/// The 16-bit lanes of `v` (`n` of them) reordered by the 2-bit fields of `imm`.
fn shuffle(v: u128, lane_bits: u32, n: u32, imm: u32) -> u128 {
    let m = (1u128 << lane_bits) - 1;
    (0..n).fold(0, |r, i| {
        let s = (imm >> (2 * i)) & 3;
        r | ((v >> (s * lane_bits)) & m) << (i * lane_bits)
    })
}

/// The top bit of each `lane_bits`-wide lane of the low `width` bits of `v`.
fn movmsk(v: u128, lane_bits: u32, width: u32) -> u32 {
    (0..width / lane_bits).fold(0, |r, i| {
        r | ((((v >> ((i + 1) * lane_bits - 1)) & 1) as u32) << i)
    })
}

/// Which state a form touches, for its fault checks.
#[derive(PartialEq, Eq)]
enum Class {
    /// XMM registers or MXCSR (and possibly MMX registers).
    Sse,
    /// MMX registers only.
    Mmx,
    /// Neither: MOVNTI, hints, CLFLUSH.
    None,
}

impl Cpu {
    /// The MXCSR bits software may set (SDM Vol. 1 §11.6.6): all 16 low bits with DAZ,
    /// all but DAZ without it.
    pub fn mxcsr_mask(&self) -> u32 {
        if self.model().info().daz {
            0xFFFF
        } else {
            0xFFBF
        }
    }

    /// The SSE entry checks (SDM Vol. 2 exception class 1–4, legacy SSE): CR0.EM or
    /// CR4.OSFXSR = 0 → #UD, CR0.TS → #NM. A CPU without its x87 has no SSE either.
    pub(crate) fn sse_check(&self) -> Res<()> {
        if self.cr0 & CR0_EM != 0 || self.cr4 & CR4_OSFXSR == 0 || !self.fpu_present {
            return Err(Exc::ud());
        }
        if self.cr0 & CR0_TS != 0 {
            return Err(Exc::new(NM));
        }
        Ok(())
    }

    /// The entry checks for SSE forms on MMX registers only: CR0.EM → #UD, CR4.OSFXSR =
    /// 0 → #UD (unless `osfxsr_free`: PSHUFW, MOVNTQ), CR0.TS → #NM, then a pending x87
    /// exception → #MF.
    fn sse_mmx_check(&mut self, osfxsr_free: bool) -> Res<()> {
        if self.cr0 & CR0_EM != 0 || !self.fpu_present {
            return Err(Exc::ud());
        }
        if self.cr4 & CR4_OSFXSR == 0 && !osfxsr_free {
            return Err(Exc::ud());
        }
        if self.cr0 & CR0_TS != 0 {
            return Err(Exc::new(NM));
        }
        self.fpu_wait()
    }

    /// The checks every SIMD form runs before touching its operands, by what the entry's
    /// operands name: [`Cpu::sse_check`] when an XMM register is involved (plus the
    /// pending-x87 check when an MMX register is too), the MMX checks for MMX-only forms.
    /// For `float.rs`: call first, then `mmx_enter` after completing if `has_mm(e)`.
    pub(crate) fn sse_enter(&mut self, e: &Entry) -> Res<()> {
        let xmm = [e.dst, e.src, e.src2]
            .iter()
            .any(|l| matches!(l, Loc::Xmm(_)));
        if xmm {
            self.sse_check()?;
            if has_mm(e) {
                self.fpu_wait()?;
            }
            Ok(())
        } else {
            self.sse_mmx_check(false)
        }
    }

    /// Reports SIMD floating-point exception flags `flags` (MXCSR bits 5–0) that an
    /// operation raised: they are ORed into MXCSR; if any is unmasked the instruction
    /// must not store its result and the caller returns this error: #XM with
    /// CR4.OSXMMEXCPT = 1, else #UD (SDM Vol. 1 §11.5.1, Vol. 3A §6.15 interrupt 19).
    /// For packed forms, pass the OR of every lane's flags: all of them are recorded.
    // Called by the floating-point forms (`float.rs`).
    #[allow(dead_code)]
    pub(crate) fn xm_exception(&mut self, flags: u32) -> Res<()> {
        let flags = flags & MXCSR_FLAGS;
        self.mxcsr |= flags;
        let unmasked = flags & !(self.mxcsr >> MXCSR_MASK_SHIFT) & MXCSR_FLAGS;
        if unmasked == 0 {
            Ok(())
        } else if self.cr4 & CR4_OSXMMEXCPT != 0 {
            Err(Exc::new(XM))
        } else {
            Err(Exc::ud())
        }
    }

    /// The linear address of the entry's `size`-byte memory operand after the segment
    /// checks and the alignment rules (SDM Vol. 2 §2.4, exception types 1–5): an m128 of
    /// an aligned form must sit on a 16-byte boundary (#GP(0), whatever the segment);
    /// operands of 8 bytes or less are subject to alignment checking (#AC(0) with
    /// CR0.AM, EFLAGS.AC and CPL 3); unaligned m128 operands never are.
    fn sse_lin(&self, e: &Entry, size: u32, write: bool, aligned: bool) -> Res<u32> {
        let off = self.ea(e);
        let lin = self.linear(e.seg as usize, off, size, write)?;
        if size == 16 {
            if aligned && lin & 15 != 0 {
                return Err(Exc::gp(0));
            }
        } else if lin & (size - 1) != 0 {
            self.check_alignment()?;
        }
        Ok(lin)
    }

    /// Reads `size` bytes (2, 4, 8 or 16) of the entry's memory operand, zero-extended;
    /// `aligned` for an m128 that must be 16-byte aligned (see `sse_lin`).
    pub(crate) fn sse_read<B: Bus>(
        &mut self,
        bus: &mut B,
        e: &Entry,
        size: u32,
        aligned: bool,
    ) -> Res<u128> {
        let lin = self.sse_lin(e, size, false, aligned)?;
        let user = self.cpl == 3;
        if size < 4 {
            return Ok(self.read_lin(bus, lin, size, user)? as u128);
        }
        let mut v = 0u128;
        for k in 0..size / 4 {
            let d = self.read_lin(bus, lin.wrapping_add(4 * k), 4, user)?;
            v |= (d as u128) << (32 * k);
        }
        Ok(v)
    }

    /// Writes the low `size` bytes (4, 8 or 16) of `v` to the entry's memory operand,
    /// all or nothing; `aligned` as for [`Cpu::sse_read`].
    pub(crate) fn sse_write<B: Bus>(
        &mut self,
        bus: &mut B,
        e: &Entry,
        size: u32,
        aligned: bool,
        v: u128,
    ) -> Res<()> {
        let lin = self.sse_lin(e, size, true, aligned)?;
        self.probe_write(bus, lin, size)?;
        let user = self.cpl == 3;
        for k in 0..size / 4 {
            self.write_lin(
                bus,
                lin.wrapping_add(4 * k),
                4,
                (v >> (32 * k)) as u32,
                user,
            )?;
        }
        Ok(())
    }

    /// The value of a source operand: a whole XMM register, an MMX register or a
    /// general register (zero-extended), or `e.size` bytes of memory (`aligned` for an
    /// m128 that must be aligned).
    pub(crate) fn sse_src<B: Bus>(
        &mut self,
        bus: &mut B,
        e: &Entry,
        loc: Loc,
        aligned: bool,
    ) -> Res<u128> {
        Ok(match loc {
            Loc::Xmm(n) => self.xmm[(n & 7) as usize],
            Loc::Mm(n) => self.mm(n as usize) as u128,
            Loc::Reg(r) => self.regs[(r & 7) as usize] as u128,
            Loc::Mem => self.sse_read(bus, e, e.size as u32, aligned)?,
            _ => return Err(Exc::ud()),
        })
    }

    /// Writes `v` to a register destination: XMM (all 128 bits), MMX (low 64) or a
    /// general register (low 32).
    pub(crate) fn sse_set(&mut self, loc: Loc, v: u128) -> Res<()> {
        match loc {
            Loc::Xmm(n) => self.xmm[(n & 7) as usize] = v,
            Loc::Mm(n) => self.set_mm(n as usize, v as u64),
            Loc::Reg(r) => self.regs[(r & 7) as usize] = v as u32,
            _ => return Err(Exc::ud()),
        }
        Ok(())
    }

    /// Executes one SSE/SSE2 entry; `e.imm2` holds iced's `Code`.
    pub(crate) fn sse_exec<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let op = info(e.imm2);
        let class = match op {
            Op::Ud => return self.sse_float(bus, e),
            Op::Movnti | Op::Hint | Op::Clflush => Class::None,
            Op::Ldmxcsr | Op::Stmxcsr => Class::Sse,
            _ if [e.dst, e.src].iter().any(|l| matches!(l, Loc::Xmm(_))) => Class::Sse,
            _ => Class::Mmx,
        };
        match class {
            Class::Sse => self.sse_enter(e)?,
            Class::Mmx => self.sse_mmx_check(matches!(op, Op::Pshufw | Op::Movntq))?,
            Class::None => {}
        }
        self.sse_op(bus, e, op)?;
        if class != Class::None && has_mm(e) {
            self.mmx_enter();
        }
        Ok(())
    }

    fn sse_op<B: Bus>(&mut self, bus: &mut B, e: &Entry, op: Op) -> Res<()> {
        let imm = e.imm & 0xFF;
        match op {
            Op::Ud => return Err(Exc::ud()),
            Op::Mov128(aligned) => {
                let v = self.sse_src(bus, e, e.src, aligned)?;
                if e.dst == Loc::Mem {
                    self.sse_write(bus, e, 16, aligned, v)?;
                } else {
                    self.sse_set(e.dst, v)?;
                }
            }
            Op::MovScalar(n) => {
                let mask = (1u128 << (8 * n)) - 1;
                let v = self.sse_src(bus, e, e.src, false)? & mask;
                match (e.dst, e.src) {
                    (Loc::Mem, _) => self.sse_write(bus, e, n as u32, false, v)?,
                    (Loc::Xmm(d), Loc::Xmm(_)) => {
                        let d = (d & 7) as usize;
                        self.xmm[d] = (self.xmm[d] & !mask) | v;
                    }
                    (d, _) => self.sse_set(d, v)?,
                }
            }
            Op::MovZx(n) => {
                let mask = (1u128 << (8 * n)) - 1;
                let v = self.sse_src(bus, e, e.src, false)? & mask;
                if e.dst == Loc::Mem {
                    self.sse_write(bus, e, n as u32, false, v)?;
                } else {
                    self.sse_set(e.dst, v)?;
                }
            }
            Op::MovLo | Op::MovHi => {
                let high = op == Op::MovHi;
                match (e.dst, e.src) {
                    (Loc::Mem, Loc::Xmm(s)) => {
                        let v = self.xmm[(s & 7) as usize];
                        let q = if high { hi(v) } else { lo(v) };
                        self.sse_write(bus, e, 8, false, q as u128)?;
                    }
                    (Loc::Xmm(d), Loc::Mem) => {
                        let q = self.sse_read(bus, e, 8, false)? as u64;
                        let d = (d & 7) as usize;
                        let v = self.xmm[d];
                        self.xmm[d] = if high { join(lo(v), q) } else { join(q, hi(v)) };
                    }
                    _ => return Err(Exc::ud()),
                }
            }
            Op::MovHlps | Op::MovLhps => {
                let (Loc::Xmm(d), Loc::Xmm(s)) = (e.dst, e.src) else {
                    return Err(Exc::ud());
                };
                let (d, s) = ((d & 7) as usize, self.xmm[(s & 7) as usize]);
                let v = self.xmm[d];
                self.xmm[d] = if op == Op::MovHlps {
                    join(hi(s), hi(v))
                } else {
                    join(lo(v), lo(s))
                };
            }
            Op::Movq2dq | Op::Movdq2q => {
                let v = self.sse_src(bus, e, e.src, false)? as u64;
                self.sse_set(e.dst, v as u128)?;
            }
            Op::MovMsk(bits) => {
                let width = if matches!(e.src, Loc::Mm(_)) { 64 } else { 128 };
                let v = self.sse_src(bus, e, e.src, false)?;
                self.sse_set(e.dst, movmsk(v, bits as u32, width) as u128)?;
            }
            Op::Int(b) => {
                let src = self.sse_src(bus, e, e.src, true)?;
                match e.dst {
                    Loc::Mm(d) => {
                        let v = binop(b, self.mm(d as usize), src as u64);
                        self.set_mm(d as usize, v);
                    }
                    Loc::Xmm(d) => {
                        let d = (d & 7) as usize;
                        self.xmm[d] = binop128(b, self.xmm[d], src);
                    }
                    _ => return Err(Exc::ud()),
                }
            }
            Op::ShiftImm(b) => {
                let Loc::Xmm(d) = e.dst else {
                    return Err(Exc::ud());
                };
                let d = (d & 7) as usize;
                self.xmm[d] = binop128(b, self.xmm[d], imm as u128);
            }
            Op::ShiftBytes(left) => {
                let Loc::Xmm(d) = e.dst else {
                    return Err(Exc::ud());
                };
                let d = (d & 7) as usize;
                let v = self.xmm[d];
                self.xmm[d] = match (imm, left) {
                    (16.., _) => 0,
                    (n, true) => v << (8 * n),
                    (n, false) => v >> (8 * n),
                };
            }
            Op::Pshufw | Op::Pshufd | Op::Pshuflw | Op::Pshufhw => {
                let s = self.sse_src(bus, e, e.src, true)?;
                let v = match op {
                    Op::Pshufw => shuffle(s, 16, 4, imm),
                    Op::Pshufd => shuffle(s, 32, 4, imm),
                    Op::Pshuflw => join(shuffle(s, 16, 4, imm) as u64, hi(s)),
                    _ => join(lo(s), shuffle(s >> 64, 16, 4, imm) as u64),
                };
                self.sse_set(e.dst, v)?;
            }
            Op::Shufps | Op::Shufpd => {
                let Loc::Xmm(d) = e.dst else {
                    return Err(Exc::ud());
                };
                let d = (d & 7) as usize;
                let s = self.sse_src(bus, e, e.src, true)?;
                let a = self.xmm[d];
                self.xmm[d] = if op == Op::Shufps {
                    // Lanes 0–1 from the destination, 2–3 from the source.
                    shuffle(a, 32, 2, imm) | shuffle(s, 32, 2, imm >> 4) << 64
                } else {
                    let pick = |v: u128, b: u32| if b & 1 == 0 { lo(v) } else { hi(v) };
                    join(pick(a, imm), pick(s, imm >> 1))
                };
            }
            Op::Pinsrw => {
                let w = self.sse_src(bus, e, e.src, false)? as u64 & 0xFFFF;
                match e.dst {
                    Loc::Mm(d) => {
                        let s = 16 * (imm & 3);
                        let v = self.mm(d as usize) & !(0xFFFF << s) | w << s;
                        self.set_mm(d as usize, v);
                    }
                    Loc::Xmm(d) => {
                        let s = 16 * (imm & 7);
                        let d = (d & 7) as usize;
                        self.xmm[d] = self.xmm[d] & !(0xFFFF << s) | (w as u128) << s;
                    }
                    _ => return Err(Exc::ud()),
                }
            }
            Op::Pextrw => {
                let (v, n) = match e.src {
                    Loc::Mm(s) => (self.mm(s as usize) as u128, 4),
                    Loc::Xmm(s) => (self.xmm[(s & 7) as usize], 8),
                    _ => return Err(Exc::ud()),
                };
                let w = (v >> (16 * (imm % n))) & 0xFFFF;
                self.sse_set(e.dst, w)?;
            }
            Op::MaskMov => self.maskmov(bus, e)?,
            Op::Movntq => {
                let v = self.sse_src(bus, e, e.src, false)?;
                self.sse_write(bus, e, 8, false, v)?;
            }
            Op::Movnti => {
                let v = self.sse_src(bus, e, e.src, false)?;
                self.sse_write(bus, e, 4, false, v)?;
            }
            Op::Ldmxcsr => {
                let v = self.sse_read(bus, e, 4, false)? as u32;
                // SDM Vol. 2A "LDMXCSR": setting a reserved bit is #GP(0).
                if v & !self.mxcsr_mask() != 0 {
                    return Err(Exc::gp(0));
                }
                self.mxcsr = v;
            }
            Op::Stmxcsr => {
                let v = self.mxcsr;
                self.sse_write(bus, e, 4, false, v as u128)?;
            }
            Op::Hint => {}
            Op::Clflush => {
                // Faults like a byte load (SDM Vol. 2A "CLFLUSH"); nothing is read, so a
                // device behind the address sees no access.
                let off = self.ea(e);
                let lin = self.linear(e.seg as usize, off, 1, false)?;
                let user = self.cpl == 3;
                self.translate(bus, lin, crate::mem::Access::Read, user)?;
            }
        }
        Ok(())
    }

    /// MASKMOVQ mm1, mm2 / MASKMOVDQU xmm1, xmm2: stores the bytes of the first operand
    /// whose mask byte (second operand) has its top bit set, to DS:(E)DI (the segment
    /// can be overridden). Every selected byte is checked before any is stored.
    fn maskmov<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let (v, mask, n) = match (e.src, e.src2) {
            (Loc::Mm(a), Loc::Mm(m)) => {
                (self.mm(a as usize) as u128, self.mm(m as usize) as u128, 8)
            }
            (Loc::Xmm(a), Loc::Xmm(m)) => {
                (self.xmm[(a & 7) as usize], self.xmm[(m & 7) as usize], 16)
            }
            _ => return Err(Exc::ud()),
        };
        let seg = e.seg as usize;
        let base = if e.asz32 {
            self.regs[crate::EDI]
        } else {
            self.regs[crate::EDI] & 0xFFFF
        };
        let selected = (0..n).filter(|i| (mask >> (8 * i + 7)) & 1 != 0);
        for i in selected.clone() {
            let lin = self.linear(seg, Self::ea_add(e, base, i), 1, true)?;
            self.probe_write(bus, lin, 1)?;
        }
        for i in selected {
            let b = (v >> (8 * i)) as u32 & 0xFF;
            self.wr(bus, seg, Self::ea_add(e, base, i), 1, b)?;
        }
        Ok(())
    }

    /// The floating-point forms (`float.rs`).
    fn sse_float<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        self.float_exec(bus, e)
    }
}

/// Whether an entry names an MMX register (such forms make the x87→MMX transition).
pub(crate) fn has_mm(e: &Entry) -> bool {
    [e.dst, e.src, e.src2]
        .iter()
        .any(|l| matches!(l, Loc::Mm(_)))
}

#[cfg(test)]
mod tests;
