//! MMX technology (SDM Vol. 1 ch. 9, Vol. 2 "P…" pages): 64-bit packed integers in the
//! eight registers MM0–MM7, which are the significands of the x87 *physical* registers
//! R0–R7 (SDM Vol. 1 §9.5 "Compatibility with x87 FPU architecture").
//!
//! - The table below says what each iced `Code` is (one row per MMX form, like the x87's
//!   `fpu::table`); only the forms without a 66/F2/F3 prefix are here, so the SSE2
//!   128-bit forms that share their mnemonics (`paddb xmm, xmm/m128`) are `sse`'s.
//! - Every MMX instruction but EMMS sets TOP to 0 and tags every register valid, and an
//!   MMX write to MMi sets bits 79–64 of Ri to all 1s; EMMS tags every register empty and
//!   also sets TOP to 0 (SDM Vol. 1 Table 9-2 "Effects of MMX Instructions on x87 FPU
//!   State").
//! - Faults come in the order of the "Protected Mode Exceptions" of the MMX instruction
//!   pages (SDM Vol. 2): CR0.EM → #UD, CR0.TS → #NM, a pending unmasked x87 exception →
//!   #MF (with CR0.NE = 1; otherwise the FERR# path), then the memory operand's faults.
//! - TOP, the tags and bits 79–64 change only when the instruction completes; FIP, FDP and
//!   FOP are left alone (Table 9-2: "other x87 FPU registers unchanged").

use crate::decode::{Entry, Loc};
use crate::regs::{CR0_EM, CR0_TS};
use crate::{Bus, Cpu, Exc, Res, NM};
use iced_x86::{Code, Instruction};

/// Lane width of a packed operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum W {
    B,
    W,
    D,
    Q,
}

/// A two-operand operation `mm ← f(mm, mm/m64)` (or `mm/m32` for PUNPCKL*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    /// Interleave the low halves of both operands (PUNPCKLBW/WD/DQ).
    UnpackLo(W),
    /// Interleave the high halves (PUNPCKHBW/WD/DQ).
    UnpackHi(W),
    /// PACKSSWB (`W::W` → bytes) and PACKSSDW (`W::D` → words): signed saturation.
    PackSs(W),
    /// PACKUSWB: signed words to unsigned bytes.
    PackUs,
    CmpEq(W),
    CmpGt(W),
    Add(W),
    Sub(W),
    /// Signed saturating PADDS/PSUBS.
    AddS(W),
    SubS(W),
    /// Unsigned saturating PADDUS/PSUBUS.
    AddUs(W),
    SubUs(W),
    Mullw,
    Mulhw,
    Maddwd,
    And,
    Andn,
    Or,
    Xor,
    Sll(W),
    Srl(W),
    Sra(W),
    // The SSE integer additions (SDM Vol. 2 PAVGB/PMINUB/…, on MMX and, with SSE2, XMM
    // registers) and SSE2's quadword forms (PADDQ/PSUBQ are `Add(W::Q)`/`Sub(W::Q)`).
    /// PAVGB/PAVGW: unsigned average rounded up, (a + b + 1) >> 1.
    Avg(W),
    /// PMINUB, PMAXUB.
    MinU(W),
    MaxU(W),
    /// PMINSW, PMAXSW.
    MinS(W),
    MaxS(W),
    /// PMULHUW: high word of the unsigned product.
    Mulhuw,
    /// PMULUDQ: low dword × low dword, 64-bit unsigned product.
    Muludq,
    /// PSADBW: sum of the absolute byte differences in the low word, zero above.
    Sad,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Ud,
    Emms,
    /// MOVD mm, r/m32.
    MovdToMm,
    /// MOVD r/m32, mm.
    MovdFromMm,
    /// MOVQ mm, mm/m64.
    MovqToMm,
    /// MOVQ mm/m64, mm.
    MovqFromMm,
    Bin(Bin),
    /// PSLL/PSRL/PSRA mm, imm8 (0F 71–73): the shift of `Bin` by an immediate count.
    ShiftImm(Bin),
}

const BASE: usize = Code::Punpcklbw_mm_mmm32 as usize;
const N: usize = Code::Paddd_mm_mmm64 as usize - BASE + 1;

const fn build() -> [Op; N] {
    use Bin::*;
    use Op::{Emms, MovdFromMm, MovdToMm, MovqFromMm, MovqToMm, ShiftImm, Ud};
    let mut t = [Ud; N];
    macro_rules! set {
        ($code:ident, $v:expr) => {
            t[Code::$code as usize - BASE] = $v;
        };
    }
    // 0F 60–6B: unpacks, packs, compares for greater.
    set!(Punpcklbw_mm_mmm32, Op::Bin(UnpackLo(W::B)));
    set!(Punpcklwd_mm_mmm32, Op::Bin(UnpackLo(W::W)));
    set!(Punpckldq_mm_mmm32, Op::Bin(UnpackLo(W::D)));
    set!(Packsswb_mm_mmm64, Op::Bin(PackSs(W::W)));
    set!(Pcmpgtb_mm_mmm64, Op::Bin(CmpGt(W::B)));
    set!(Pcmpgtw_mm_mmm64, Op::Bin(CmpGt(W::W)));
    set!(Pcmpgtd_mm_mmm64, Op::Bin(CmpGt(W::D)));
    set!(Packuswb_mm_mmm64, Op::Bin(PackUs));
    set!(Punpckhbw_mm_mmm64, Op::Bin(UnpackHi(W::B)));
    set!(Punpckhwd_mm_mmm64, Op::Bin(UnpackHi(W::W)));
    set!(Punpckhdq_mm_mmm64, Op::Bin(UnpackHi(W::D)));
    set!(Packssdw_mm_mmm64, Op::Bin(PackSs(W::D)));
    // 0F 6E/6F, 7E/7F: moves.
    set!(Movd_mm_rm32, MovdToMm);
    set!(Movq_mm_mmm64, MovqToMm);
    set!(Movd_rm32_mm, MovdFromMm);
    set!(Movq_mmm64_mm, MovqFromMm);
    // 0F 71–73: shifts by an immediate.
    set!(Psrlw_mm_imm8, ShiftImm(Srl(W::W)));
    set!(Psraw_mm_imm8, ShiftImm(Sra(W::W)));
    set!(Psllw_mm_imm8, ShiftImm(Sll(W::W)));
    set!(Psrld_mm_imm8, ShiftImm(Srl(W::D)));
    set!(Psrad_mm_imm8, ShiftImm(Sra(W::D)));
    set!(Pslld_mm_imm8, ShiftImm(Sll(W::D)));
    set!(Psrlq_mm_imm8, ShiftImm(Srl(W::Q)));
    set!(Psllq_mm_imm8, ShiftImm(Sll(W::Q)));
    // 0F 74–77.
    set!(Pcmpeqb_mm_mmm64, Op::Bin(CmpEq(W::B)));
    set!(Pcmpeqw_mm_mmm64, Op::Bin(CmpEq(W::W)));
    set!(Pcmpeqd_mm_mmm64, Op::Bin(CmpEq(W::D)));
    set!(Emms, Emms);
    // 0F D1–FE.
    set!(Psrlw_mm_mmm64, Op::Bin(Srl(W::W)));
    set!(Psrld_mm_mmm64, Op::Bin(Srl(W::D)));
    set!(Psrlq_mm_mmm64, Op::Bin(Srl(W::Q)));
    set!(Pmullw_mm_mmm64, Op::Bin(Mullw));
    set!(Psubusb_mm_mmm64, Op::Bin(SubUs(W::B)));
    set!(Psubusw_mm_mmm64, Op::Bin(SubUs(W::W)));
    set!(Pand_mm_mmm64, Op::Bin(And));
    set!(Paddusb_mm_mmm64, Op::Bin(AddUs(W::B)));
    set!(Paddusw_mm_mmm64, Op::Bin(AddUs(W::W)));
    set!(Pandn_mm_mmm64, Op::Bin(Andn));
    set!(Psraw_mm_mmm64, Op::Bin(Sra(W::W)));
    set!(Psrad_mm_mmm64, Op::Bin(Sra(W::D)));
    set!(Pmulhw_mm_mmm64, Op::Bin(Mulhw));
    set!(Psubsb_mm_mmm64, Op::Bin(SubS(W::B)));
    set!(Psubsw_mm_mmm64, Op::Bin(SubS(W::W)));
    set!(Por_mm_mmm64, Op::Bin(Or));
    set!(Paddsb_mm_mmm64, Op::Bin(AddS(W::B)));
    set!(Paddsw_mm_mmm64, Op::Bin(AddS(W::W)));
    set!(Pxor_mm_mmm64, Op::Bin(Xor));
    set!(Psllw_mm_mmm64, Op::Bin(Sll(W::W)));
    set!(Pslld_mm_mmm64, Op::Bin(Sll(W::D)));
    set!(Psllq_mm_mmm64, Op::Bin(Sll(W::Q)));
    set!(Pmaddwd_mm_mmm64, Op::Bin(Maddwd));
    set!(Psubb_mm_mmm64, Op::Bin(Sub(W::B)));
    set!(Psubw_mm_mmm64, Op::Bin(Sub(W::W)));
    set!(Psubd_mm_mmm64, Op::Bin(Sub(W::D)));
    set!(Paddb_mm_mmm64, Op::Bin(Add(W::B)));
    set!(Paddw_mm_mmm64, Op::Bin(Add(W::W)));
    set!(Paddd_mm_mmm64, Op::Bin(Add(W::D)));
    // PADDQ, PSUBQ, PMULUDQ (SSE2) and the SSE integer additions (PMULHUW, PAVGB, …)
    // in this range are not MMX: they are rows of `sse`, gated by SSE/SSE2.
    t
}

static TABLE: [Op; N] = build();

/// The MMX form of iced `Code` number `code`; `Op::Ud` for anything else.
pub fn info(code: u32) -> Op {
    (code as usize)
        .checked_sub(BASE)
        .and_then(|i| TABLE.get(i))
        .copied()
        .unwrap_or(Op::Ud)
}

/// Whether the instruction is one of the MMX forms above.
pub fn is_mmx(ins: &Instruction) -> bool {
    info(ins.code() as u32) != Op::Ud
}

/// Fills the MMX fields of a decoded entry: `imm2` = iced's `Code`, `size` = the memory
/// operand's size (4 or 8). Operands are in `dst`/`src` (`Loc::Mm` for MMX registers),
/// the shift count of 0F 71–73 in `imm`.
pub fn decode(ins: &Instruction, e: &mut Entry) {
    e.imm2 = ins.code() as u32;
    e.size = ins.memory_size().size() as u8;
}

/// Bits in a lane of width `w`.
const fn bits(w: W) -> u32 {
    match w {
        W::B => 8,
        W::W => 16,
        W::D => 32,
        W::Q => 64,
    }
}

const fn lane_mask(n: u32) -> u64 {
    if n == 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Applies `f` to each pair of lanes (as unsigned values) of `a` and `b`.
fn lanes(w: W, a: u64, b: u64, f: impl Fn(u64, u64) -> u64) -> u64 {
    let n = bits(w);
    let m = lane_mask(n);
    (0..64 / n).fold(0, |r, i| {
        let s = i * n;
        r | ((f((a >> s) & m, (b >> s) & m) & m) << s)
    })
}

/// A lane sign-extended to i64.
fn sx(v: u64, n: u32) -> i64 {
    ((v << (64 - n)) as i64) >> (64 - n)
}

fn sat_s(v: i64, n: u32) -> u64 {
    let max = (1i64 << (n - 1)) - 1;
    v.clamp(-max - 1, max) as u64
}

fn sat_u(v: i64, n: u32) -> u64 {
    v.clamp(0, lane_mask(n) as i64) as u64
}

/// Interleaves the lanes of the low (or high) halves of `a` and `b`: `a`'s lane first.
fn unpack(w: W, a: u64, b: u64, hi: bool) -> u64 {
    let n = bits(w);
    let m = lane_mask(n);
    let half = if hi { 32 } else { 0 };
    (0..32 / n).fold(0, |r, i| {
        let s = half + i * n;
        r | (((a >> s) & m) << (2 * i * n)) | (((b >> s) & m) << ((2 * i + 1) * n))
    })
}

/// Packs the `w`-wide signed lanes of `a` (low half of the result) and `b` (high half)
/// into lanes half as wide, saturating signed or (PACKUSWB) unsigned.
fn pack(w: W, a: u64, b: u64, unsigned: bool) -> u64 {
    let n = bits(w);
    let k = 64 / n;
    (0..2 * k).fold(0, |r, i| {
        let src = if i < k { a } else { b };
        let v = sx(src >> ((i % k) * n), n);
        let s = if unsigned {
            sat_u(v, n / 2)
        } else {
            sat_s(v, n / 2) & lane_mask(n / 2)
        };
        r | (s << (i * n / 2))
    })
}

/// Shifts every lane by the whole 64-bit `count`: logical shifts past the lane width
/// give 0, arithmetic ones the sign (SDM Vol. 2 PSLLW/PSRLW/PSRAW).
fn shift(op: Bin, a: u64, count: u64) -> u64 {
    match op {
        Bin::Sll(w) | Bin::Srl(w) | Bin::Sra(w) => {
            let n = bits(w);
            if let Bin::Sra(_) = op {
                let c = count.min(n as u64 - 1) as u32;
                return lanes(w, a, 0, |x, _| (sx(x, n) >> c) as u64);
            }
            if count >= n as u64 {
                return 0;
            }
            let c = count as u32;
            if let Bin::Sll(_) = op {
                lanes(w, a, 0, |x, _| x << c)
            } else {
                lanes(w, a, 0, |x, _| x >> c)
            }
        }
        _ => a,
    }
}

/// `dst op src` for one two-operand MMX operation.
pub fn binop(op: Bin, a: u64, b: u64) -> u64 {
    match op {
        Bin::UnpackLo(w) => unpack(w, a, b, false),
        Bin::UnpackHi(w) => unpack(w, a, b, true),
        Bin::PackSs(w) => pack(w, a, b, false),
        Bin::PackUs => pack(W::W, a, b, true),
        Bin::CmpEq(w) => lanes(w, a, b, |x, y| if x == y { u64::MAX } else { 0 }),
        Bin::CmpGt(w) => {
            let n = bits(w);
            lanes(
                w,
                a,
                b,
                |x, y| {
                    if sx(x, n) > sx(y, n) {
                        u64::MAX
                    } else {
                        0
                    }
                },
            )
        }
        Bin::Add(w) => lanes(w, a, b, |x, y| x.wrapping_add(y)),
        Bin::Sub(w) => lanes(w, a, b, |x, y| x.wrapping_sub(y)),
        Bin::AddS(w) => {
            let n = bits(w);
            lanes(w, a, b, |x, y| sat_s(sx(x, n) + sx(y, n), n))
        }
        Bin::SubS(w) => {
            let n = bits(w);
            lanes(w, a, b, |x, y| sat_s(sx(x, n) - sx(y, n), n))
        }
        Bin::AddUs(w) => {
            let n = bits(w);
            lanes(w, a, b, |x, y| sat_u(x as i64 + y as i64, n))
        }
        Bin::SubUs(w) => {
            let n = bits(w);
            lanes(w, a, b, |x, y| sat_u(x as i64 - y as i64, n))
        }
        Bin::Mullw => lanes(W::W, a, b, |x, y| (sx(x, 16) * sx(y, 16)) as u64),
        Bin::Mulhw => lanes(W::W, a, b, |x, y| ((sx(x, 16) * sx(y, 16)) >> 16) as u64),
        Bin::Maddwd => {
            // The one overflowing case, 8000h×8000h twice, wraps to 80000000h.
            let w = |v: u64, i: u32| sx(v >> (16 * i), 16);
            let d = |k: u32| {
                let s = w(a, 2 * k) * w(b, 2 * k) + w(a, 2 * k + 1) * w(b, 2 * k + 1);
                s as u64 & 0xFFFF_FFFF
            };
            d(0) | (d(1) << 32)
        }
        Bin::Avg(w) => lanes(w, a, b, |x, y| (x + y + 1) >> 1),
        Bin::MinU(w) => lanes(w, a, b, |x, y| x.min(y)),
        Bin::MaxU(w) => lanes(w, a, b, |x, y| x.max(y)),
        Bin::MinS(w) => {
            let n = bits(w);
            lanes(w, a, b, |x, y| sx(x, n).min(sx(y, n)) as u64)
        }
        Bin::MaxS(w) => {
            let n = bits(w);
            lanes(w, a, b, |x, y| sx(x, n).max(sx(y, n)) as u64)
        }
        Bin::Mulhuw => lanes(W::W, a, b, |x, y| (x * y) >> 16),
        Bin::Muludq => (a & 0xFFFF_FFFF) * (b & 0xFFFF_FFFF),
        Bin::Sad => (0..8).fold(0, |s, i| {
            let (x, y) = ((a >> (8 * i)) & 0xFF, (b >> (8 * i)) & 0xFF);
            s + x.abs_diff(y)
        }),
        Bin::And => a & b,
        Bin::Andn => !a & b,
        Bin::Or => a | b,
        Bin::Xor => a ^ b,
        Bin::Sll(_) | Bin::Srl(_) | Bin::Sra(_) => shift(op, a, b),
    }
}

impl Cpu {
    /// MMi: the significand of physical register Ri.
    pub fn mm(&self, i: usize) -> u64 {
        self.fpu.regs[i & 7].m
    }

    /// Writes MMi; bits 79–64 of Ri become all 1s (SDM Vol. 1 §9.5.1), so the register
    /// reads as a NaN or infinity to x87 code.
    pub fn set_mm(&mut self, i: usize, v: u64) {
        self.fpu.regs[i & 7] = crate::fpu::F80 { se: 0xFFFF, m: v };
    }

    /// The x87 state after any MMX instruction but EMMS: TOP = 0, every tag valid.
    pub(crate) fn mmx_enter(&mut self) {
        self.fpu.sw &= !0x3800;
        self.fpu.empty = 0;
    }

    /// The 64-bit (or, for `size` 4, zero-extended 32-bit) value of a source operand.
    fn mmx_src<B: Bus>(&mut self, bus: &mut B, e: &Entry, loc: Loc) -> Res<u64> {
        Ok(match loc {
            Loc::Mm(n) => self.mm(n as usize),
            Loc::Reg(r) => self.regs[(r & 7) as usize] as u64,
            Loc::Mem => {
                let off = self.ea(e);
                let seg = e.seg as usize;
                let lo = self.rd(bus, seg, off, 4)? as u64;
                if e.size == 8 {
                    let hi = self.rd(bus, seg, Self::ea_add(e, off, 4), 4)? as u64;
                    lo | (hi << 32)
                } else {
                    lo
                }
            }
            Loc::Imm => e.imm as u64 & 0xFF,
            _ => return Err(Exc::ud()),
        })
    }

    /// Executes one MMX instruction; `e.imm2` holds iced's `Code`.
    pub(crate) fn mmx_exec<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let op = info(e.imm2);
        // A P6 without its FPU has no MMX registers either.
        if op == Op::Ud || self.cr0 & CR0_EM != 0 || !self.fpu_present {
            return Err(Exc::ud());
        }
        if self.cr0 & CR0_TS != 0 {
            return Err(Exc::new(NM));
        }
        self.fpu_wait()?;
        let mm_dst = |l: Loc| match l {
            Loc::Mm(n) => Ok(n as usize),
            _ => Err(Exc::ud()),
        };
        match op {
            Op::Ud => return Err(Exc::ud()),
            Op::Emms => {
                // Table 9-2: EMMS empties every tag and sets TOP to 000B.
                self.fpu.sw &= !0x3800;
                self.fpu.empty = 0xFF;
                return Ok(());
            }
            Op::MovdToMm | Op::MovqToMm => {
                let d = mm_dst(e.dst)?;
                let v = self.mmx_src(bus, e, e.src)?;
                let v = if op == Op::MovdToMm {
                    v & 0xFFFF_FFFF
                } else {
                    v
                };
                self.set_mm(d, v);
            }
            Op::MovdFromMm | Op::MovqFromMm => {
                let v = self.mmx_src(bus, e, e.src)?;
                match e.dst {
                    Loc::Mm(n) => self.set_mm(n as usize, v),
                    Loc::Reg(r) => self.regs[(r & 7) as usize] = v as u32,
                    Loc::Mem => {
                        let off = self.ea(e);
                        let seg = e.seg as usize;
                        if op == Op::MovdFromMm {
                            self.wr(bus, seg, off, 4, v as u32)?;
                        } else {
                            // All or nothing: both halves are checked before either is stored.
                            let lin = self.linear(seg, off, 8, true)?;
                            self.probe_write(bus, lin, 8)?;
                            self.wr(bus, seg, off, 4, v as u32)?;
                            self.wr(bus, seg, Self::ea_add(e, off, 4), 4, (v >> 32) as u32)?;
                        }
                    }
                    _ => return Err(Exc::ud()),
                }
            }
            Op::Bin(b) => {
                let d = mm_dst(e.dst)?;
                let src = self.mmx_src(bus, e, e.src)?;
                let v = binop(b, self.mm(d), src);
                self.set_mm(d, v);
            }
            Op::ShiftImm(b) => {
                let d = mm_dst(e.dst)?;
                let v = binop(b, self.mm(d), e.imm as u64 & 0xFF);
                self.set_mm(d, v);
            }
        }
        self.mmx_enter();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
