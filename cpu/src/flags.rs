//! Lazy arithmetic flags. Most ALU results' flags are never read: the next ALU
//! instruction overwrites them. So the commonest flag producers (ADD, SUB, CMP, AND,
//! OR, XOR, TEST, INC, DEC, NEG, ADC, SBB, two- and three-operand IMUL, and SHL/SHR/SAR
//! of a register by an immediate) only record their operands and result here, and OSZAPC
//! are computed from that record when something reads them: a condition (Jcc/SETcc/
//! CMOVcc evaluate it straight from the record), or anything that needs EFLAGS itself
//! (PUSHF, ADC and SBB for their carry in, interrupts, every instruction on the
//! generic path, and the end of `Cpu::run`, after which `Cpu::eflags` is exact again
//! for the machine, debugger and state saves). The flag definitions are those of
//! `alu.rs` (SDM Vol. 1 §3.4.3.1).
//!
//! Invariant: while `Lazy::kind != NONE` the status bits of `Cpu::eflags` are stale and
//! the record defines them; the other EFLAGS bits are always in `Cpu::eflags`.

use crate::regs::*;
use crate::Cpu;

/// The last lazily recorded flag-producing operation. Only the fields its kind reads
/// are meaningful: `a` and `b` not for `LOGIC`, `cf` only with `KEEP_CF`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Lazy {
    /// `NONE`, or an operation (`ADD`, `SUB`, `LOGIC`) | size (`B8`, `B16`, `B32`) |
    /// `KEEP_CF` (CF is `cf`: INC/DEC keep it, ADC/SBB and shifts and IMUL give it).
    pub kind: u8,
    /// CF for `KEEP_CF` records (0 or 1).
    pub cf: u8,
    /// Operands and result, each masked to the operand size.
    pub a: u32,
    pub b: u32,
    pub r: u32,
}

pub(crate) const NONE: u8 = 0;
pub(crate) const ADD: u8 = 1;
pub(crate) const SUB: u8 = 2;
pub(crate) const LOGIC: u8 = 3;
pub(crate) const OP: u8 = 3;
pub(crate) const B8: u8 = 0;
pub(crate) const B16: u8 = 4;
pub(crate) const B32: u8 = 8;
const SIZE: u8 = 12;
pub(crate) const KEEP_CF: u8 = 16;
/// With `LOGIC | KEEP_CF` (the record of a shift by an immediate): OF is set. A shift
/// by a non-zero count defines CF, OF, SF, ZF and PF, clears AF on a P6 (`alu::shift`),
/// and its SF, ZF and PF are those of a logic result; so CF comes from `cf` and OF from
/// this bit.
pub(crate) const SET_OF: u8 = 32;

impl Lazy {
    #[inline(always)]
    fn sign(&self) -> u32 {
        match self.kind & SIZE {
            B8 => 0x80,
            B16 => 0x8000,
            _ => 0x8000_0000,
        }
    }

    #[inline(always)]
    fn sext(&self, v: u32) -> i32 {
        match self.kind & SIZE {
            B8 => v as u8 as i8 as i32,
            B16 => v as u16 as i16 as i32,
            _ => v as i32,
        }
    }

    #[inline(always)]
    fn cf(&self) -> bool {
        if self.kind & KEEP_CF != 0 {
            return self.cf != 0;
        }
        match self.kind & OP {
            ADD => self.r < self.a,
            SUB => self.a < self.b,
            _ => false,
        }
    }

    /// OSZAPC of the record (the `kind` must not be `NONE`).
    fn status(&self) -> u32 {
        let (a, b, r) = (self.a, self.b, self.r);
        let sign = self.sign();
        let mut f = 0;
        if self.cf() {
            f |= CF;
        }
        if (r as u8).count_ones() & 1 == 0 {
            f |= PF;
        }
        if r == 0 {
            f |= ZF;
        }
        if r & sign != 0 {
            f |= SF;
        }
        match self.kind & OP {
            ADD => {
                f |= (a ^ b ^ r) & AF;
                if (a ^ r) & (b ^ r) & sign != 0 {
                    f |= OF;
                }
            }
            SUB => {
                f |= (a ^ b ^ r) & AF;
                if (a ^ b) & (a ^ r) & sign != 0 {
                    f |= OF;
                }
            }
            _ => {
                if self.kind & SET_OF != 0 {
                    f |= OF;
                }
            }
        }
        f
    }

    /// Condition `c` (the low nibble of Jcc/SETcc/CMOVcc) straight from the record,
    /// where that is cheaper than computing the flags; `None` otherwise.
    #[inline(always)]
    fn cond(&self, c: u8) -> Option<bool> {
        let op = self.kind & OP;
        // OF of a logic record: clear, or `SET_OF` for a shift.
        let logic_of = self.kind & SET_OF != 0;
        let r = match c >> 1 {
            2 => self.r == 0,
            4 => self.r & self.sign() != 0,
            1 if self.kind & KEEP_CF != 0 => self.cf != 0,
            1 => match op {
                SUB => self.a < self.b,
                LOGIC => false,
                _ => return None,
            },
            3 if self.kind & KEEP_CF != 0 => self.cf != 0 || self.r == 0,
            3 => match op {
                SUB => self.a <= self.b,
                LOGIC => self.r == 0,
                _ => return None,
            },
            6 => match op {
                SUB if self.kind & KEEP_CF == 0 => self.sext(self.a) < self.sext(self.b),
                LOGIC => (self.r & self.sign() != 0) != logic_of,
                _ => return None,
            },
            7 => match op {
                SUB if self.kind & KEEP_CF == 0 => self.sext(self.a) <= self.sext(self.b),
                LOGIC => self.r == 0 || (self.r & self.sign() != 0) != logic_of,
                _ => return None,
            },
            _ => return None,
        };
        Some(r ^ (c & 1 != 0))
    }
}

impl Cpu {
    /// EFLAGS with the status bits computed, without changing any state.
    #[inline]
    pub(crate) fn flags_now(&self) -> u32 {
        if self.lazy.kind == NONE {
            self.eflags
        } else {
            (self.eflags & !STATUS) | self.lazy.status()
        }
    }

    /// CF alone (for INC/DEC, which keep it).
    #[inline(always)]
    pub(crate) fn cf_now(&self) -> u32 {
        if self.lazy.kind == NONE {
            self.eflags & CF
        } else {
            self.lazy.cf() as u32
        }
    }

    /// Writes the recorded status bits into `eflags` and drops the record.
    #[inline]
    pub(crate) fn materialise_flags(&mut self) {
        if self.lazy.kind != NONE {
            self.eflags = self.flags_now();
            self.lazy.kind = NONE;
        }
    }

    /// Sets EFLAGS to `f` (status bits included), dropping any record.
    #[inline(always)]
    pub(crate) fn set_flags(&mut self, f: u32) {
        self.eflags = f;
        self.lazy.kind = NONE;
    }

    /// Evaluates condition code `c` (the low nibble of Jcc/SETcc/CMOVcc).
    #[inline(always)]
    pub(crate) fn cond(&self, c: u8) -> bool {
        if self.lazy.kind != NONE {
            if let Some(v) = self.lazy.cond(c) {
                return v;
            }
        }
        let f = self.flags_now();
        let sf_ne_of = ((f & SF != 0) as u8) != ((f & OF != 0) as u8);
        let r = match c >> 1 {
            0 => f & OF != 0,
            1 => f & CF != 0,
            2 => f & ZF != 0,
            3 => f & (CF | ZF) != 0,
            4 => f & SF != 0,
            5 => f & PF != 0,
            6 => sf_ne_of,
            _ => f & ZF != 0 || sf_ne_of,
        };
        r ^ (c & 1 != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alu;
    use crate::exec::shift::shift_record;
    use crate::exec::table::{S16, S32, S8};

    /// Every lazy record must give exactly the flags `alu.rs` computes eagerly, and
    /// every condition must agree with the one evaluated on those flags.
    #[test]
    fn lazy_flags_match_the_eager_alu() {
        let vals = [
            0u32,
            1,
            2,
            0x7F,
            0x80,
            0xFF,
            0x100,
            0x7FFF,
            0x8000,
            0xFFFF,
            0x1_0000,
            0x7FFF_FFFF,
            0x8000_0000,
            0xFFFF_FFFF,
            0x1234_5678,
            0x0F0F_0F0F,
        ];
        let mut c = Cpu::new();
        let mut e = Cpu::new();
        for (n, szk) in [(1u32, B8), (2, B16), (4, B32)] {
            let m = alu::mask(n);
            for &a in &vals {
                for &b in &vals {
                    let (a, b) = (a & m, b & m);
                    for incoming_cf in [0, CF] {
                        let fin = 2 | incoming_cf;
                        let cases = [
                            (ADD, alu::add(a, b, 0, n, fin), b),
                            (SUB, alu::sub(a, b, 0, n, fin), b),
                            (LOGIC, (a & b, alu::logic(a & b, n, fin)), b),
                            (LOGIC, (a ^ b, alu::logic(a ^ b, n, fin)), b),
                            (ADD | KEEP_CF, alu::inc(a, n, fin), 1),
                            (SUB | KEEP_CF, alu::dec(a, n, fin), 1),
                        ];
                        for (op, (r, f), bb) in cases {
                            c.eflags = 2;
                            c.lazy = Lazy {
                                kind: op | szk,
                                cf: (incoming_cf != 0) as u8,
                                a,
                                b: bb,
                                r,
                            };
                            assert_eq!(c.flags_now(), f, "op {op} size {n} a {a:#x} b {b:#x}");
                            e.eflags = f;
                            for cc in 0..16 {
                                assert_eq!(
                                    c.cond(cc),
                                    e.cond(cc),
                                    "cond {cc} op {op} a {a:#x} b {b:#x}"
                                );
                            }
                        }
                    }
                }
                // Shifts by an immediate (SHL SHR SAL SAR): the record of each result
                // must give the flags `alu::shift` computes, which the hardware-recorded
                // suites check.
                for kind in 4..8 {
                    for count in [1, 2, 3, 7, 8, 9, 15, 16, 17, 31] {
                        let (r, f) = alu::shift(kind, a & m, count, n, 2);
                        let (lr, cf, of) = alu::shift_cf_of(kind, a & m, count, n);
                        assert_eq!(lr, r);
                        c.eflags = 2;
                        c.lazy = match n {
                            1 => shift_record::<S8>(r, cf, of),
                            2 => shift_record::<S16>(r, cf, of),
                            _ => shift_record::<S32>(r, cf, of),
                        };
                        assert_eq!(
                            c.flags_now(),
                            f,
                            "shift {kind} size {n} a {a:#x} by {count}"
                        );
                        e.eflags = f;
                        for cc in 0..16 {
                            assert_eq!(c.cond(cc), e.cond(cc), "cond {cc} shift {kind} a {a:#x}");
                        }
                    }
                }
            }
        }
    }
}
