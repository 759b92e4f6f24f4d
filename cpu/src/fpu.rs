//! The x87 floating-point unit of a P6 (SDM Vol. 1 ch. 8, Vol. 2 "F…" pages).
//!
//! - `sf`: the 80-bit format and a soft-float core on integer significands (no host
//!   floating point): rounding with precision control, exceptions, the exact operations.
//! - `trans`: the transcendental instructions, evaluated in 128-bit fixed/floating point
//!   and rounded once.
//! - `table`: what each iced `Code` is, and the opcode bits kept in FOP.
//! - `fxsr`: FXSAVE/FXRSTOR and their 512-byte image.
//!
//! This file holds the register file and status/control/tag words, the instruction
//! semantics that involve the stack, memory formats (integers, packed BCD, environment
//! and state images in their 16/32-bit real/protected layouts), the FIP/FDP/FOP pointers,
//! and the exception signalling to the CPU (#MF at the next waiting instruction when
//! CR0.NE = 1; otherwise the error stays pending for the machine's FERR#/IRQ13 path).

mod fxsr;
pub mod sf;
pub(crate) mod table;
mod trans;

#[cfg(test)]
mod tests;

use crate::decode::Entry;
use crate::regs::{AF, CF, CR0_NE, CS, EAX, OF, PF, ZF};
use crate::{Bus, Cpu, Exc, Res, MF};
use sf::*;
use table::{Mem, Op, Src};

pub use sf::F80;

/// FCW after FNINIT: all exceptions masked, 64-bit precision, round to nearest.
pub const FCW_INIT: u16 = 0x037F;

/// x87 register file and control/status state.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fpu {
    /// Control word (bit 6 reads as 1; bits 13–15 as 0).
    pub cw: u16,
    /// Status word, TOP in bits 11–13.
    pub sw: u16,
    /// Physical registers R0–R7.
    pub regs: [F80; 8],
    /// Bit i set: physical register i is empty.
    pub empty: u8,
    /// Last non-control instruction: offset (linear address in real/V86 mode) and CS.
    pub fip: u32,
    pub fcs: u16,
    /// Its 11-bit opcode.
    pub fop: u16,
    /// Its memory operand: offset (linear address in real/V86 mode) and selector.
    pub fdp: u32,
    pub fds: u16,
}

impl Default for Fpu {
    /// The power-on/RESET state (SDM Vol. 3A Table 9-1): FCW 0040H, FSW 0, every register
    /// +0.0 and tagged valid (the tag word reads 5555H), pointers and opcode 0.
    fn default() -> Self {
        Fpu {
            cw: 0x0040,
            sw: 0,
            regs: [F80::ZERO; 8],
            empty: 0,
            fip: 0,
            fcs: 0,
            fop: 0,
            fdp: 0,
            fds: 0,
        }
    }
}

impl Fpu {
    /// RESET: the power-on state.
    pub fn reset(&mut self) {
        *self = Fpu::default();
    }

    /// FNINIT (SDM Vol. 2A "FINIT/FNINIT"): FCW 037FH, FSW 0, all registers empty,
    /// pointers and opcode cleared; register contents are kept.
    pub fn init(&mut self) {
        self.cw = FCW_INIT;
        self.sw = 0;
        self.empty = 0xFF;
        self.fip = 0;
        self.fcs = 0;
        self.fop = 0;
        self.fdp = 0;
        self.fds = 0;
    }

    #[inline]
    pub fn top(&self) -> usize {
        ((self.sw >> 11) & 7) as usize
    }

    fn set_top(&mut self, t: usize) {
        self.sw = (self.sw & !0x3800) | (((t & 7) as u16) << 11);
    }

    #[inline]
    fn phys(&self, i: usize) -> usize {
        (self.top() + i) & 7
    }

    /// ST(i).
    pub fn st(&self, i: usize) -> F80 {
        self.regs[self.phys(i)]
    }

    pub fn is_empty(&self, i: usize) -> bool {
        self.empty & (1 << self.phys(i)) != 0
    }

    /// Writes ST(i) and tags it non-empty.
    pub fn set_st(&mut self, i: usize, v: F80) {
        let p = self.phys(i);
        self.regs[p] = v;
        self.empty &= !(1 << p);
    }

    fn push(&mut self, v: F80) {
        let t = (self.top() + 7) & 7;
        self.set_top(t);
        self.set_st(0, v);
    }

    fn pop(&mut self) {
        let p = self.top();
        self.empty |= 1 << p;
        self.set_top(p + 1);
    }

    /// The tag word as FNSTENV/FNSAVE store it: two bits per physical register, derived
    /// from the contents of non-empty registers.
    pub fn tag_word(&self) -> u16 {
        (0..8).fold(0u16, |tw, p| {
            let t = if self.empty & (1 << p) != 0 {
                3
            } else {
                self.regs[p].tag()
            };
            tw | (t << (2 * p))
        })
    }

    /// Loads a tag word the way FLDENV/FRSTOR do: only "empty" (11B) is taken.
    pub fn set_tag_word(&mut self, tw: u16) {
        self.empty = (0..8).fold(0u8, |e, p| {
            if (tw >> (2 * p)) & 3 == 3 {
                e | (1 << p)
            } else {
                e
            }
        });
    }

    /// Sets ES and B from the exception flags left unmasked by FCW (after FLDCW, FLDENV,
    /// FRSTOR).
    fn update_es(&mut self) {
        if self.sw & !self.cw & 0x3F != 0 {
            self.sw |= ES | B;
        } else {
            self.sw &= !(ES | B);
        }
    }

    /// Whether an unmasked exception is pending (ES): the FERR# output.
    pub fn error_pending(&self) -> bool {
        self.sw & ES != 0
    }

    /// Applies the exceptions `ex` of one operation to the status word and says whether
    /// its result may be delivered: not when an unmasked invalid-operation, denormal or
    /// zero-divide exception stops it, nor (for a memory destination) an unmasked
    /// overflow or underflow. C1 is rewritten: round-up or stack-overflow indicator.
    fn signal(&mut self, ex: u16, mem: bool) -> bool {
        self.sw &= !C1;
        self.signal_keep_c1(ex, mem)
    }

    /// `signal` for the instructions that leave C1 alone unless a stack fault occurs
    /// (FCOMI/FUCOMI, FCMOVcc).
    fn signal_keep_c1(&mut self, ex: u16, mem: bool) -> bool {
        let unm = ex & !self.cw & 0x3F;
        if ex & SF != 0 {
            self.sw &= !C1;
        }
        let stop = unm & (IE | DE | ZE) != 0 || (mem && unm & (OE | UE) != 0);
        if unm & (IE | DE | ZE) != 0 {
            self.sw |= ex & (IE | DE | ZE | SF);
            if ex & SF != 0 {
                self.sw |= ex & C1;
            }
        } else {
            self.sw |= ex & (0x7F | C1);
        }
        if unm != 0 {
            self.sw |= ES | B;
        }
        !stop
    }

    /// Stack underflow (IE + SF, C1 = 0): returns whether IE is masked (the masked
    /// response then proceeds with the default NaN).
    fn underflow(&mut self) -> bool {
        self.signal(IE | SF, false);
        self.cw & IE != 0
    }

    /// Stack overflow (IE + SF, C1 = 1).
    fn overflow(&mut self) -> bool {
        self.signal(IE | SF | C1, false);
        self.cw & IE != 0
    }

    fn ctx(&self) -> Ctx {
        Ctx::new(self.cw)
    }

    fn set_cc(&mut self, cc: u16) {
        self.sw = (self.sw & !(C0 | C1 | C2 | C3)) | cc;
    }

    /// Sets C3, C2, C0 from a comparison (C1 is left as `signal` set it).
    fn set_cmp(&mut self, r: Cmp) {
        let cc = match r {
            Cmp::Greater => 0,
            Cmp::Less => C0,
            Cmp::Equal => C3,
            Cmp::Unordered => C3 | C2 | C0,
        };
        self.sw = (self.sw & !(C0 | C2 | C3)) | cc;
    }

    /// Loads a complete state (for test harnesses and debuggers): control word, status
    /// word (TOP inside), tag word (only "empty" matters) and ST(0)…ST(7) in stack order.
    pub fn load(&mut self, cw: u16, sw: u16, tw: u16, st: &[F80; 8]) {
        self.cw = cw;
        self.sw = sw;
        self.set_tag_word(tw);
        for (i, v) in st.iter().enumerate() {
            let p = self.phys(i);
            self.regs[p] = *v;
        }
    }
}

/// The seven constants: exact 64-bit truncation, and whether the next bits exceed one
/// half (then round-to-nearest rounds up).
const CONSTS: [(u16, u64, bool); 7] = [
    (0x3FFF, 0x8000_0000_0000_0000, false),
    (0x4000, 0xD49A_784B_CD1B_8AFE, false),
    (0x3FFF, 0xB8AA_3B29_5C17_F0BB, true),
    (0x4000, 0xC90F_DAA2_2168_C234, true),
    (0x3FFD, 0x9A20_9A84_FBCF_F798, true),
    (0x3FFE, 0xB172_17F7_D1CF_79AB, true),
    (0, 0, false),
];

/// The constant `k` rounded per RC (exact ones need no rounding).
fn constant(k: u8, rc: u8) -> F80 {
    let (e, m, above_half) = CONSTS[k as usize % 7];
    let exact = k == 0 || k == 6;
    let up = !exact
        && match rc {
            RC_NEAR => above_half,
            RC_UP => true,
            _ => false,
        };
    F80::new(false, e, m.wrapping_add(up as u64))
}

/// A packed-BCD value: sign byte and 18 digits. Nibbles above 9 are taken at their
/// binary weight.
fn bcd_to_f80(lo: u64, hi: u16) -> F80 {
    let mut v: u64 = 0;
    for k in (0..9).rev() {
        let byte = if k == 8 {
            (hi & 0xFF) as u64
        } else {
            (lo >> (8 * k)) & 0xFF
        };
        v = v.wrapping_mul(10).wrapping_add(byte >> 4);
        v = v.wrapping_mul(10).wrapping_add(byte & 0xF);
    }
    let sign = hi & 0x8000 != 0;
    if v == 0 {
        F80::zero(sign)
    } else {
        F80::from_exact(sign, 0, v)
    }
}

/// 18 BCD digits of `v` (< 10^18) and the sign: (low 8 bytes, high 2 bytes).
fn int_to_bcd(sign: bool, mut v: u64) -> (u64, u16) {
    let mut digits: u128 = 0;
    for k in 0..18 {
        digits |= ((v % 10) as u128) << (4 * k);
        v /= 10;
    }
    (
        digits as u64,
        ((digits >> 64) as u16 & 0xFF) | ((sign as u16) << 15),
    )
}

impl Cpu {
    /// Whether the FPU has an unmasked exception pending (its FERR# output). With
    /// CR0.NE = 0 the machine routes this to IRQ13; the CPU itself only raises #MF
    /// (CR0.NE = 1) at the next waiting x87 instruction or WAIT.
    pub fn fpu_error_pending(&self) -> bool {
        self.fpu_present && self.fpu.error_pending()
    }

    /// The check every waiting x87 instruction and WAIT/FWAIT makes first.
    fn fpu_pending(&self) -> Res<()> {
        if self.fpu.sw & ES != 0 && self.cr0 & CR0_NE != 0 {
            return Err(Exc::new(MF));
        }
        Ok(())
    }

    /// WAIT/FWAIT with an FPU present: reports pending unmasked exceptions.
    pub(crate) fn fpu_wait(&mut self) -> Res<()> {
        self.fpu_pending()
    }

    fn real_addressing(&self) -> bool {
        !self.protected() || self.v86()
    }

    /// Records the instruction (and data) pointer and opcode of a non-control
    /// instruction. In real and V86 mode the FPU keeps linear addresses.
    fn fpu_note(&mut self, e: &Entry, mem: Option<u32>) {
        let ip = self.eip.wrapping_sub(e.len as u32);
        let cs = self.seg[CS];
        let real = self.real_addressing();
        self.fpu.fip = if real { cs.base.wrapping_add(ip) } else { ip };
        self.fpu.fcs = cs.selector;
        self.fpu.fop = (e.imm & 0x7FF) as u16;
        if let Some(off) = mem {
            let s = self.seg[Self::seg_of(e)];
            self.fpu.fdp = if real { s.base.wrapping_add(off) } else { off };
            self.fpu.fds = s.selector;
        }
    }

    fn seg_of(e: &Entry) -> usize {
        (e.seg as usize).min(5)
    }

    fn m_rd<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32, k: u32, size: u32) -> Res<u32> {
        self.rd(bus, Self::seg_of(e), off.wrapping_add(k), size)
    }

    fn m_wr<B: Bus>(
        &mut self,
        bus: &mut B,
        e: &Entry,
        off: u32,
        k: u32,
        size: u32,
        v: u32,
    ) -> Res<()> {
        self.wr(bus, Self::seg_of(e), off.wrapping_add(k), size, v)
    }

    /// Checks that `len` bytes at `off` can be written (segment limit, rights, pages)
    /// before a multi-part store changes anything.
    fn m_probe<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32, len: u32) -> Res<()> {
        let lin = self.linear(Self::seg_of(e), off, len, true)?;
        self.probe_write(bus, lin, len)
    }

    /// The offset of field `k` of an environment or save image at `off`: fields are
    /// addressed separately, so with a 16-bit address size the image wraps at 64 KB.
    fn m_field(e: &Entry, off: u32, k: u32) -> u32 {
        Self::ea_add(e, off, k)
    }

    /// Checks every field of an FSTENV/FSAVE image at `off` before anything is stored:
    /// the seven environment words or dwords, then (`regs`) the eight 10-byte registers.
    fn m_probe_image<B: Bus>(
        &mut self,
        bus: &mut B,
        e: &Entry,
        off: u32,
        is32: bool,
        regs: bool,
    ) -> Res<()> {
        let (step, base) = if is32 { (4, 28) } else { (2, 14) };
        for k in 0..7 {
            self.m_probe(bus, e, Self::m_field(e, off, step * k), step)?;
        }
        if regs {
            for k in 0..8 {
                self.m_probe(bus, e, Self::m_field(e, off, base + 10 * k), 10)?;
            }
        }
        Ok(())
    }

    fn m_rd64<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32) -> Res<u64> {
        let lo = self.m_rd(bus, e, off, 0, 4)? as u64;
        let hi = self.m_rd(bus, e, off, 4, 4)? as u64;
        Ok(lo | (hi << 32))
    }

    fn m_rd80<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32) -> Res<(u64, u16)> {
        let lo = self.m_rd64(bus, e, off)?;
        let hi = self.m_rd(bus, e, off, 8, 2)? as u16;
        Ok((lo, hi))
    }

    /// Stores 2, 4, 8 or 10 bytes all-or-nothing.
    fn m_store<B: Bus>(
        &mut self,
        bus: &mut B,
        e: &Entry,
        off: u32,
        lo: u64,
        hi: u16,
        len: u32,
    ) -> Res<()> {
        match len {
            2 => self.m_wr(bus, e, off, 0, 2, lo as u32),
            4 => self.m_wr(bus, e, off, 0, 4, lo as u32),
            _ => {
                self.m_probe(bus, e, off, len)?;
                self.m_wr(bus, e, off, 0, 4, lo as u32)?;
                self.m_wr(bus, e, off, 4, 4, (lo >> 32) as u32)?;
                if len == 10 {
                    self.m_wr(bus, e, off, 8, 2, hi as u32)?;
                }
                Ok(())
            }
        }
    }

    /// Executes one x87 instruction (ESC opcodes D8–DF); `e.imm2` holds iced's `Code`,
    /// `e.sub` the ST(i) index, `e.imm` the opcode bits for FOP.
    pub(crate) fn fpu_exec<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let info = table::info(e.imm2);
        if info.op == Op::Ud {
            return Err(Exc::ud());
        }
        if info.waits {
            self.fpu_pending()?;
        }
        let off = if info.mem { self.ea(e) } else { 0 };
        let i = (e.sub & 7) as usize;
        match info.op {
            Op::Arith(op, src, pop) => self.fpu_arith(bus, e, off, op, src, pop, i)?,
            Op::Com(src, pops, unord) => self.fpu_com(bus, e, off, src, pops, unord, i)?,
            Op::Comi(unord, pop) => {
                self.fpu_note(e, None);
                self.fpu_comi(unord, pop, i);
            }
            Op::Ld(m) => self.fpu_ld(bus, e, off, m)?,
            Op::LdSt => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                // An empty source is reported before a full stack.
                let v = if f.is_empty(i) {
                    if !f.underflow() {
                        return Ok(());
                    }
                    F80::INDEFINITE
                } else if !f.is_empty(7) {
                    if !f.overflow() {
                        return Ok(());
                    }
                    F80::INDEFINITE
                } else {
                    f.signal(0, false);
                    f.st(i)
                };
                f.push(v);
            }
            Op::Bld => {
                let (lo, hi) = self.m_rd80(bus, e, off)?;
                self.fpu_note(e, Some(off));
                let f = &mut self.fpu;
                if !f.is_empty(7) {
                    if f.overflow() {
                        f.push(F80::INDEFINITE);
                    }
                    return Ok(());
                }
                f.signal(0, false);
                f.push(bcd_to_f80(lo, hi));
            }
            Op::St(m, pop) => self.fpu_st(bus, e, off, m, pop)?,
            Op::StSt(pop) => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                if f.is_empty(0) {
                    if !f.underflow() {
                        return Ok(());
                    }
                    f.set_st(i, F80::INDEFINITE);
                } else {
                    f.signal(0, false);
                    let v = f.st(0);
                    f.set_st(i, v);
                }
                if pop {
                    f.pop();
                }
            }
            Op::Bstp => self.fpu_bstp(bus, e, off)?,
            Op::Xch => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                let (mut a, mut b) = (f.st(0), f.st(i));
                if f.is_empty(0) || f.is_empty(i) {
                    if !f.underflow() {
                        return Ok(());
                    }
                    if f.is_empty(0) {
                        a = F80::INDEFINITE;
                    }
                    if f.is_empty(i) {
                        b = F80::INDEFINITE;
                    }
                } else {
                    f.signal(0, false);
                }
                f.set_st(0, b);
                f.set_st(i, a);
            }
            Op::Nop => {
                self.fpu_note(e, None);
            }
            Op::Chs | Op::Abs => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                if f.is_empty(0) {
                    if f.underflow() {
                        f.set_st(0, F80::INDEFINITE);
                    }
                    return Ok(());
                }
                f.signal(0, false);
                let v = f.st(0);
                f.set_st(0, if info.op == Op::Chs { v.neg() } else { v.abs() });
            }
            Op::Tst => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                if f.is_empty(0) {
                    f.underflow();
                    f.set_cmp(Cmp::Unordered);
                    return Ok(());
                }
                let mut c = f.ctx();
                let r = compare(&mut c, Opnd::reg(f.st(0)), Opnd::reg(F80::ZERO), false);
                f.signal(c.ex, false);
                f.set_cmp(r);
            }
            Op::Xam => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                let v = f.st(0);
                let class = if f.is_empty(0) { C3 | C0 } else { xam_class(v) };
                let c1 = if v.sign() { C1 } else { 0 };
                f.set_cc(class | c1);
            }
            Op::Const(k) => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                if !f.is_empty(7) {
                    if f.overflow() {
                        f.push(F80::INDEFINITE);
                    }
                    return Ok(());
                }
                f.signal(0, false);
                let v = constant(k, ((f.cw >> 10) & 3) as u8);
                f.push(v);
            }
            Op::Decstp | Op::Incstp => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                let t = f.top();
                f.set_top(if info.op == Op::Incstp { t + 1 } else { t + 7 });
                f.sw &= !C1;
            }
            Op::Sqrt | Op::Rndint => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                if f.is_empty(0) {
                    if f.underflow() {
                        f.set_st(0, F80::INDEFINITE);
                    }
                    return Ok(());
                }
                let mut c = f.ctx();
                let r = if info.op == Op::Sqrt {
                    sqrt(&mut c, f.st(0), &ext_pc(f.cw))
                } else {
                    round_int(&mut c, f.st(0))
                };
                if f.signal(c.ex, false) {
                    f.set_st(0, r);
                }
            }
            Op::Scale => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                if f.is_empty(0) || f.is_empty(1) {
                    if f.underflow() {
                        f.set_st(0, F80::INDEFINITE);
                    }
                    return Ok(());
                }
                let mut c = f.ctx();
                let r = scale(&mut c, f.st(0), f.st(1));
                if f.signal(c.ex, false) {
                    f.set_st(0, r);
                }
            }
            Op::Prem | Op::Prem1 => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                // Whatever prevents a remainder clears C2 (and C1); C0 and C3 stay.
                f.sw &= !C2;
                if f.is_empty(0) || f.is_empty(1) {
                    if f.underflow() {
                        f.set_st(0, F80::INDEFINITE);
                    }
                    return Ok(());
                }
                let mut c = f.ctx();
                let p = prem(&mut c, f.st(0), f.st(1), info.op == Op::Prem1);
                if f.signal(c.ex, false) {
                    f.set_st(0, p.r);
                    if p.valid {
                        let cc = if p.partial {
                            C2
                        } else {
                            let q = p.q;
                            (if q & 4 != 0 { C0 } else { 0 })
                                | (if q & 2 != 0 { C3 } else { 0 })
                                | (if q & 1 != 0 { C1 } else { 0 })
                        };
                        f.set_cc(cc);
                    }
                }
            }
            Op::Xtract => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                if f.is_empty(0) || !f.is_empty(7) {
                    let masked = if f.is_empty(0) {
                        f.underflow()
                    } else {
                        f.overflow()
                    };
                    if masked {
                        f.set_st(0, F80::INDEFINITE);
                        f.push(F80::INDEFINITE);
                    }
                    return Ok(());
                }
                let mut c = f.ctx();
                let (ex, sig) = xtract(&mut c, f.st(0));
                if f.signal(c.ex, false) {
                    f.set_st(0, ex);
                    f.push(sig);
                }
            }
            Op::F2xm1
            | Op::Yl2x
            | Op::Ptan
            | Op::Patan
            | Op::Yl2xp1
            | Op::Sincos
            | Op::Sin
            | Op::Cos => {
                self.fpu_note(e, None);
                trans::exec(&mut self.fpu, info.op);
            }
            Op::Cmov(cc) => {
                self.fpu_note(e, None);
                let take = self.cond(cc);
                let f = &mut self.fpu;
                if f.is_empty(0) || f.is_empty(i) {
                    if f.underflow() {
                        f.set_st(0, F80::INDEFINITE);
                    }
                    return Ok(());
                }
                if take {
                    let v = f.st(i);
                    f.set_st(0, v);
                }
            }
            Op::Free(pop) => {
                self.fpu_note(e, None);
                let f = &mut self.fpu;
                let p = f.phys(i);
                f.empty |= 1 << p;
                if pop {
                    f.pop();
                }
            }
            Op::Ldcw => {
                let v = self.m_rd(bus, e, off, 0, 2)? as u16;
                let f = &mut self.fpu;
                f.cw = (v & 0x1F3F) | 0x40;
                f.update_es();
            }
            Op::Stcw => {
                let v = self.fpu.cw;
                self.m_wr(bus, e, off, 0, 2, v as u32)?;
            }
            Op::Stsw => {
                let v = self.fpu.sw;
                self.m_wr(bus, e, off, 0, 2, v as u32)?;
            }
            Op::StswAx => {
                let v = self.fpu.sw as u32;
                self.regs[EAX] = (self.regs[EAX] & !0xFFFF) | v;
            }
            Op::Clex => {
                self.fpu.sw &= !(0xFF | B);
            }
            Op::Init => self.fpu.init(),
            Op::Nop287 => {}
            Op::Stenv(is32) => {
                self.m_probe_image(bus, e, off, is32, false)?;
                self.fpu_store_env(bus, e, off, is32)?;
                self.fpu.cw |= 0x3F;
            }
            Op::Ldenv(is32) => {
                self.fpu_load_env(bus, e, off, is32)?;
            }
            Op::Save(is32) => {
                self.m_probe_image(bus, e, off, is32, true)?;
                self.fpu_store_env(bus, e, off, is32)?;
                let base = if is32 { 28 } else { 14 };
                for k in 0..8 {
                    let v = self.fpu.st(k);
                    let o = Self::m_field(e, off, base + 10 * k as u32);
                    self.m_wr(bus, e, o, 0, 4, v.m as u32)?;
                    self.m_wr(bus, e, o, 4, 4, (v.m >> 32) as u32)?;
                    self.m_wr(bus, e, o, 8, 2, v.se as u32)?;
                }
                self.fpu.init();
            }
            Op::Rstor(is32) => {
                let base = if is32 { 28 } else { 14 };
                let mut st = [F80::ZERO; 8];
                for (k, v) in st.iter_mut().enumerate() {
                    let o = Self::m_field(e, off, base + 10 * k as u32);
                    let (lo, hi) = self.m_rd80(bus, e, o)?;
                    *v = F80 { se: hi, m: lo };
                }
                self.fpu_load_env(bus, e, off, is32)?;
                let f = &mut self.fpu;
                for (k, v) in st.iter().enumerate() {
                    let p = f.phys(k);
                    f.regs[p] = *v;
                }
            }
            Op::Ud => return Err(Exc::ud()),
        }
        Ok(())
    }

    /// FADD…FDIVR in all their operand forms.
    #[allow(clippy::too_many_arguments)]
    fn fpu_arith<B: Bus>(
        &mut self,
        bus: &mut B,
        e: &Entry,
        off: u32,
        op: Ar,
        src: Src,
        pop: bool,
        i: usize,
    ) -> Res<()> {
        let (dst, b, mem) = match src {
            Src::M32 => (0, Some(from_f32(self.m_rd(bus, e, off, 0, 4)?)), true),
            Src::M64 => (0, Some(from_f64(self.m_rd64(bus, e, off)?)), true),
            Src::I16 => {
                let v = self.m_rd(bus, e, off, 0, 2)? as u16 as i16 as i64;
                (0, Some(Opnd::reg(from_int(v))), true)
            }
            Src::I32 => {
                let v = self.m_rd(bus, e, off, 0, 4)? as i32 as i64;
                (0, Some(Opnd::reg(from_int(v))), true)
            }
            Src::St0Sti => (0, None, false),
            Src::StiSt0 => (i, None, false),
        };
        self.fpu_note(e, mem.then_some(off));
        let f = &mut self.fpu;
        if f.is_empty(0) || (!mem && f.is_empty(i)) {
            if f.underflow() {
                f.set_st(dst, F80::INDEFINITE);
                if pop {
                    f.pop();
                }
            }
            return Ok(());
        }
        let (a, b) = match src {
            Src::St0Sti => (f.st(0), Opnd::reg(f.st(i))),
            Src::StiSt0 => (f.st(i), Opnd::reg(f.st(0))),
            _ => (f.st(0), b.unwrap_or(Opnd::reg(F80::ZERO))),
        };
        let mut c = f.ctx();
        let r = arith(&mut c, op, Opnd::reg(a), b, &ext_pc(f.cw));
        if f.signal(c.ex, false) {
            f.set_st(dst, r);
            if pop {
                f.pop();
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn fpu_com<B: Bus>(
        &mut self,
        bus: &mut B,
        e: &Entry,
        off: u32,
        src: Src,
        pops: u8,
        unord: bool,
        i: usize,
    ) -> Res<()> {
        let (b, mem) = match src {
            Src::M32 => (Some(from_f32(self.m_rd(bus, e, off, 0, 4)?)), true),
            Src::M64 => (Some(from_f64(self.m_rd64(bus, e, off)?)), true),
            Src::I16 => {
                let v = self.m_rd(bus, e, off, 0, 2)? as u16 as i16 as i64;
                (Some(Opnd::reg(from_int(v))), true)
            }
            Src::I32 => {
                let v = self.m_rd(bus, e, off, 0, 4)? as i32 as i64;
                (Some(Opnd::reg(from_int(v))), true)
            }
            _ => (None, false),
        };
        self.fpu_note(e, mem.then_some(off));
        let f = &mut self.fpu;
        let pop_n = |f: &mut Fpu| {
            for _ in 0..pops {
                f.pop();
            }
        };
        // The condition codes are written even when an unmasked exception stops the
        // instruction (which then does not pop).
        if f.is_empty(0) || (!mem && f.is_empty(i)) {
            let masked = f.underflow();
            f.set_cmp(Cmp::Unordered);
            if masked {
                pop_n(f);
            }
            return Ok(());
        }
        let b = b.unwrap_or(Opnd::reg(f.st(i)));
        let mut c = f.ctx();
        let r = compare(&mut c, Opnd::reg(f.st(0)), b, unord);
        let ok = f.signal(c.ex, false);
        f.set_cmp(r);
        if ok {
            pop_n(f);
        }
        Ok(())
    }

    fn fpu_comi(&mut self, unord: bool, pop: bool, i: usize) {
        let f = &mut self.fpu;
        let set = |eflags: &mut u32, r: Cmp| {
            let v = match r {
                Cmp::Greater => 0,
                Cmp::Less => CF,
                Cmp::Equal => ZF,
                Cmp::Unordered => ZF | PF | CF,
            };
            *eflags = (*eflags & !(ZF | PF | CF | OF | crate::regs::SF | AF)) | v;
        };
        // EFLAGS are written even when an unmasked exception stops the instruction.
        if f.is_empty(0) || f.is_empty(i) {
            set(&mut self.eflags, Cmp::Unordered);
            if f.underflow() && pop {
                f.pop();
            }
            return;
        }
        let mut c = f.ctx();
        let r = compare(&mut c, Opnd::reg(f.st(0)), Opnd::reg(f.st(i)), unord);
        set(&mut self.eflags, r);
        if f.signal_keep_c1(c.ex, false) && pop {
            f.pop();
        }
    }

    fn fpu_ld<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32, m: Mem) -> Res<()> {
        let v = match m {
            Mem::F32 => from_f32(self.m_rd(bus, e, off, 0, 4)?),
            Mem::F64 => from_f64(self.m_rd64(bus, e, off)?),
            Mem::F80 => {
                let (lo, hi) = self.m_rd80(bus, e, off)?;
                Opnd {
                    v: F80 { se: hi, m: lo },
                    den: false,
                }
            }
            Mem::I16 => Opnd::reg(from_int(self.m_rd(bus, e, off, 0, 2)? as u16 as i16 as i64)),
            Mem::I32 => Opnd::reg(from_int(self.m_rd(bus, e, off, 0, 4)? as i32 as i64)),
            Mem::I64 => Opnd::reg(from_int(self.m_rd64(bus, e, off)? as i64)),
        };
        self.fpu_note(e, Some(off));
        let f = &mut self.fpu;
        if !f.is_empty(7) {
            if f.overflow() {
                f.push(F80::INDEFINITE);
            }
            return Ok(());
        }
        let mut c = f.ctx();
        let mut x = v.v;
        if matches!(m, Mem::F32 | Mem::F64) {
            if x.is_nan() {
                x = prop_nan1(&mut c, x);
            } else if v.den {
                c.raise(DE);
            }
        }
        // An unmasked denormal-operand exception does not stop the load itself.
        let stopped = !f.signal(c.ex, false);
        if !stopped || (c.ex & IE == 0 && c.ex & DE != 0) {
            f.push(x);
        }
        Ok(())
    }

    fn fpu_st<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32, m: Mem, pop: bool) -> Res<()> {
        let f = &self.fpu;
        let len = match m {
            Mem::I16 => 2,
            Mem::F32 | Mem::I32 => 4,
            Mem::F64 | Mem::I64 => 8,
            Mem::F80 => 10,
        };
        let mut c = f.ctx();
        let (lo, hi): (u64, u16) = if f.is_empty(0) {
            c.raise(IE | SF);
            let v = match m {
                Mem::F32 => 0xFFC0_0000,
                Mem::F64 => 0xFFF8_0000_0000_0000,
                Mem::F80 => F80::INDEFINITE.m,
                Mem::I16 => 0x8000,
                Mem::I32 => 0x8000_0000,
                Mem::I64 => 0x8000_0000_0000_0000,
            };
            (v, F80::INDEFINITE.se)
        } else {
            let x = f.st(0);
            match m {
                Mem::F32 => (to_narrow(&mut c, x, &F32), 0),
                Mem::F64 => (to_narrow(&mut c, x, &F64), 0),
                Mem::F80 => (x.m, x.se),
                Mem::I16 | Mem::I32 | Mem::I64 => {
                    let bits = len * 8;
                    (store_int(&mut c, x, bits), 0)
                }
            }
        };
        let unm = c.ex & !f.cw & 0x3F;
        let stops = unm & (IE | DE | ZE) != 0 || unm & (OE | UE) != 0;
        if unm & (OE | UE) != 0 {
            // Nothing is stored: only the overflow or underflow is reported.
            c.ex &= OE | UE;
        }
        if !stops {
            self.m_store(bus, e, off, lo, hi, len)?;
        }
        self.fpu_note(e, Some(off));
        let f = &mut self.fpu;
        if f.signal(c.ex, true) && pop {
            f.pop();
        }
        Ok(())
    }

    fn fpu_bstp<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32) -> Res<()> {
        let f = &self.fpu;
        let mut c = f.ctx();
        // The packed-BCD indefinite: FFFF C000 0000 0000 0000h.
        let indef = (0xC000_0000_0000_0000u64, 0xFFFFu16);
        let (lo, hi) = if f.is_empty(0) {
            c.raise(IE | SF);
            indef
        } else {
            let x = f.st(0);
            if x.is_unsupported() || x.is_nan() || x.is_inf() {
                c.raise(IE);
                indef
            } else {
                let (sign, k, inexact, up) = to_int(x, c.rc);
                if k > 999_999_999_999_999_999 {
                    c.raise(IE);
                    indef
                } else {
                    if inexact {
                        c.raise(PE);
                        if up {
                            c.raise(C1);
                        }
                    }
                    int_to_bcd(sign, k as u64)
                }
            }
        };
        let unm = c.ex & !f.cw & 0x3F;
        if unm & IE == 0 {
            self.m_store(bus, e, off, lo, hi, 10)?;
        }
        self.fpu_note(e, Some(off));
        let f = &mut self.fpu;
        if f.signal(c.ex, true) {
            f.pop();
        }
        Ok(())
    }

    /// Writes the 14- or 28-byte environment image in the current mode's layout (SDM
    /// Vol. 1 Figures 8-9 to 8-12). The reserved upper halves of the 32-bit image's
    /// words are written as 1s, as Intel processors do.
    fn fpu_store_env<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32, is32: bool) -> Res<()> {
        let f = self.fpu.clone();
        let tw = f.tag_word() as u32;
        let real = self.real_addressing();
        let fop = f.fop as u32 & 0x7FF;
        let words: [u32; 7] = if is32 {
            if real {
                [
                    0xFFFF_0000 | f.cw as u32,
                    0xFFFF_0000 | f.sw as u32,
                    0xFFFF_0000 | tw,
                    0xFFFF_0000 | (f.fip & 0xFFFF),
                    ((f.fip >> 16) << 12) | fop,
                    0xFFFF_0000 | (f.fdp & 0xFFFF),
                    (f.fdp >> 16) << 12,
                ]
            } else {
                [
                    0xFFFF_0000 | f.cw as u32,
                    0xFFFF_0000 | f.sw as u32,
                    0xFFFF_0000 | tw,
                    f.fip,
                    f.fcs as u32 | (fop << 16),
                    f.fdp,
                    0xFFFF_0000 | f.fds as u32,
                ]
            }
        } else if real {
            [
                f.cw as u32,
                f.sw as u32,
                tw,
                f.fip & 0xFFFF,
                (((f.fip >> 16) & 0xF) << 12) | fop,
                f.fdp & 0xFFFF,
                ((f.fdp >> 16) & 0xF) << 12,
            ]
        } else {
            [
                f.cw as u32,
                f.sw as u32,
                tw,
                f.fip & 0xFFFF,
                f.fcs as u32,
                f.fdp & 0xFFFF,
                f.fds as u32,
            ]
        };
        let (step, size) = if is32 { (4, 4) } else { (2, 2) };
        for (k, w) in words.iter().enumerate() {
            let o = Self::m_field(e, off, step * k as u32);
            self.m_wr(bus, e, o, 0, size, *w)?;
        }
        Ok(())
    }

    /// Reads an environment image and loads it (FLDENV, and the first part of FRSTOR).
    fn fpu_load_env<B: Bus>(&mut self, bus: &mut B, e: &Entry, off: u32, is32: bool) -> Res<()> {
        let (step, size) = if is32 { (4, 4) } else { (2, 2) };
        let mut w = [0u32; 7];
        for (k, v) in w.iter_mut().enumerate() {
            let o = Self::m_field(e, off, step * k as u32);
            *v = self.m_rd(bus, e, o, 0, size)?;
        }
        let real = self.real_addressing();
        let f = &mut self.fpu;
        f.cw = (w[0] as u16 & 0x1F3F) | 0x40;
        f.sw = w[1] as u16;
        f.set_tag_word(w[2] as u16);
        if real {
            let hi_mask = if is32 { 0xFFFF } else { 0xF };
            f.fip = (w[3] & 0xFFFF) | (((w[4] >> 12) & hi_mask) << 16);
            f.fop = (w[4] & 0x7FF) as u16;
            f.fdp = (w[5] & 0xFFFF) | (((w[6] >> 12) & hi_mask) << 16);
            f.fcs = 0;
            f.fds = 0;
        } else if is32 {
            f.fip = w[3];
            f.fcs = w[4] as u16;
            f.fop = ((w[4] >> 16) & 0x7FF) as u16;
            f.fdp = w[5];
            f.fds = w[6] as u16;
        } else {
            f.fip = w[3] & 0xFFFF;
            f.fcs = w[4] as u16;
            f.fdp = w[5] & 0xFFFF;
            f.fds = w[6] as u16;
        }
        f.update_es();
        Ok(())
    }
}

/// FIST/FISTP: the two's-complement image of `bits` bits, or the integer indefinite with
/// IE for NaNs, infinities, unsupported formats and values out of range.
fn store_int(c: &mut Ctx, x: F80, bits: u32) -> u64 {
    let indef = 1u64 << (bits - 1);
    if x.is_unsupported() || x.is_nan() || x.is_inf() {
        c.raise(IE);
        return indef;
    }
    let (sign, k, inexact, up) = to_int(x, c.rc);
    let limit = (1u128 << (bits - 1)) - (!sign) as u128;
    if k > limit {
        c.raise(IE);
        return indef;
    }
    if inexact {
        c.raise(PE);
        if up {
            c.raise(C1);
        }
    }
    let v = if sign {
        (k as u64).wrapping_neg()
    } else {
        k as u64
    };
    if bits == 64 {
        v
    } else {
        v & ((1u64 << bits) - 1)
    }
}
