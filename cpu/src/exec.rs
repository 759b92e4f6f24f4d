//! The instruction handlers for the integer instruction set (arith,
//! logic, shifts, data movement, stack, control flow, BCD, flags). String, I/O and
//! system instructions live in `string.rs` and `system.rs`; interrupt delivery and
//! segment loads in `interrupt.rs`.

mod arith;
mod cond;
mod control;
mod data;
mod fused;
pub(crate) mod shift;
mod stack;
pub(crate) mod table;

use crate::alu::{self, mask, sext};
use crate::decode::{Entry, Loc, Op, NO_REG};
use crate::interrupt::Kind;
use crate::regs::*;
use crate::{Bus, Cpu, Exc, Res, BR, DE, OFV, UD};

impl Cpu {
    #[inline]
    pub(crate) fn ea(&self, e: &Entry) -> u32 {
        // The decoder stores register numbers 0–7 or `NO_REG`, so the masks only
        // spare the bounds checks.
        let mut a = e.disp;
        if e.base != NO_REG {
            a = a.wrapping_add(self.regs[e.base as usize & 7]);
        }
        if e.index != NO_REG {
            a = a.wrapping_add(self.regs[e.index as usize & 7] << e.scale);
        }
        if !e.asz32 {
            a &= 0xFFFF;
        }
        a
    }

    /// The effective address of an operand known to be `[base + disp]` with 32-bit
    /// addressing (rows chosen for that form by `exec::table::select`).
    #[inline(always)]
    pub(crate) fn ea_base_disp(&self, e: &Entry) -> u32 {
        self.regs[e.base as usize & 7].wrapping_add(e.disp)
    }

    /// The effective address of an operand known to be `[base + index * scale + disp]`
    /// with 32-bit addressing (rows chosen for that form by `exec::table::select`).
    #[inline(always)]
    pub(crate) fn ea_base_index(&self, e: &Entry) -> u32 {
        self.regs[e.base as usize & 7]
            .wrapping_add(self.regs[e.index as usize & 7] << e.scale)
            .wrapping_add(e.disp)
    }

    /// The offset `k` bytes past `a` in the instruction's address size. The parts of a
    /// multi-part memory operand (a far pointer's selector, BOUND's upper bound, the base
    /// in a descriptor-table image, the fields of an x87 environment) are addressed like
    /// any effective address, which a 16-bit address size computes modulo 64 KB: with
    /// the operand at FFFEh its second word is at 0000h, not at 10000h past the limit.
    #[inline]
    pub(crate) fn ea_add(e: &Entry, a: u32, k: u32) -> u32 {
        let v = a.wrapping_add(k);
        if e.asz32 {
            v
        } else {
            v & 0xFFFF
        }
    }

    #[inline(always)]
    fn rd_op<B: Bus>(&mut self, bus: &mut B, e: &Entry, loc: Loc, size: u32) -> Res<u32> {
        match loc {
            Loc::Reg(r) => Ok(self.get_reg(r, size)),
            Loc::Mem => {
                let a = self.ea(e);
                self.rd(bus, e.seg as usize, a, size)
            }
            Loc::Imm => Ok(e.imm & mask(size)),
            Loc::Seg(s) => Ok(self.seg[s as usize].selector as u32),
            _ => Ok(0),
        }
    }

    #[inline(always)]
    fn wr_op<B: Bus>(&mut self, bus: &mut B, e: &Entry, loc: Loc, size: u32, v: u32) -> Res<()> {
        match loc {
            Loc::Reg(r) => {
                self.set_reg(r, size, v);
                Ok(())
            }
            Loc::Mem => {
                let a = self.ea(e);
                self.wr(bus, e.seg as usize, a, size, v)
            }
            _ => Ok(()),
        }
    }

    #[inline]
    pub(crate) fn sp_mask(&self) -> u32 {
        if self.seg[SS].big() {
            0xFFFF_FFFF
        } else {
            0xFFFF
        }
    }

    #[inline]
    pub(crate) fn set_sp(&mut self, v: u32) {
        let m = self.sp_mask();
        self.regs[ESP] = (self.regs[ESP] & !m) | (v & m);
    }

    #[inline]
    pub(crate) fn push<B: Bus>(&mut self, bus: &mut B, v: u32, size: u32) -> Res<()> {
        let m = self.sp_mask();
        let sp = self.regs[ESP].wrapping_sub(size) & m;
        self.wr(bus, SS, sp, size, v)?;
        self.regs[ESP] = (self.regs[ESP] & !m) | sp;
        Ok(())
    }

    #[inline]
    pub(crate) fn pop<B: Bus>(&mut self, bus: &mut B, size: u32) -> Res<u32> {
        let m = self.sp_mask();
        let sp = self.regs[ESP] & m;
        let v = self.rd(bus, SS, sp, size)?;
        self.regs[ESP] = (self.regs[ESP] & !m) | (sp.wrapping_add(size) & m);
        Ok(v)
    }

    /// Reads the stack slot `depth` bytes above the stack pointer without popping.
    pub(crate) fn peek<B: Bus>(&mut self, bus: &mut B, depth: u32, size: u32) -> Res<u32> {
        let m = self.sp_mask();
        let sp = self.regs[ESP].wrapping_add(depth) & m;
        self.rd(bus, SS, sp, size)
    }

    /// Runs `f` and restores ESP if it fails, for instructions that push or pop several
    /// values and must be all-or-nothing.
    #[inline]
    pub(crate) fn atomic_sp<B: Bus, T>(
        &mut self,
        bus: &mut B,
        f: impl FnOnce(&mut Cpu, &mut B) -> Res<T>,
    ) -> Res<T> {
        let sp = self.regs[ESP];
        let r = f(self, bus);
        if r.is_err() {
            self.regs[ESP] = sp;
        }
        r
    }

    #[inline]
    fn branch(&mut self, e: &Entry) {
        let t = self.eip.wrapping_add(e.imm);
        self.eip = if e.size == 2 { t & 0xFFFF } else { t };
    }

    /// After an instruction that may have written memory or a port: `Err(LEAVE)` if
    /// that set `smc` (the block must end after it; see table.rs).
    #[inline(always)]
    pub(crate) fn leave_if_smc(&mut self) -> Res<()> {
        if self.smc {
            self.smc = false;
            return Err(crate::STOP_AFTER);
        }
        Ok(())
    }

    /// How many instructions after entry `e` of the running block are counted in
    /// `icount` ahead of running (see `Cpu::block_end`).
    #[inline(always)]
    pub(crate) fn uncounted(&self, e: &Entry) -> u64 {
        const SIZE: usize = std::mem::size_of::<Entry>();
        let gap = self.block_end.wrapping_sub(e as *const Entry as usize);
        // Mostly the block's last instruction (a call, return or jump), so no division.
        if gap == SIZE {
            return 0;
        }
        (gap / SIZE) as u64 - 1
    }

    /// The EIP after entry `e` of the running block.
    #[inline(always)]
    pub(crate) fn next_ip(&self, e: &Entry) -> u32 {
        self.ip_base.wrapping_add(e.end as u32)
    }

    /// After an instruction that ends its block (a control transfer, anything
    /// `decode::ends_block` names): `Err(LEAVE)`, whatever it wrote (`smc` is consumed
    /// here, as the block ends anyway).
    #[inline(always)]
    pub(crate) fn leave_block(&mut self) -> Res<()> {
        self.smc = false;
        Err(crate::LEAVE)
    }

    /// Executes one entry. `self.eip` already points at the next instruction.
    #[inline(always)]
    pub(crate) fn exec<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        table::run(self, bus, e)
    }

    /// The operand-generic interpreter: every entry without a specialised handler.
    #[inline(always)]
    pub(crate) fn exec_generic<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let size = e.size as u32;
        match e.op {
            Op::MovRR => {
                let v = self.get_reg(reg_of(e.src), size);
                self.set_reg(reg_of(e.dst), size, v);
            }
            Op::MovRI => self.set_reg(reg_of(e.dst), size, e.imm),
            Op::MovRM => {
                let a = self.ea(e);
                let v = self.rd(bus, e.seg as usize, a, size)?;
                self.set_reg(reg_of(e.dst), size, v);
            }
            Op::MovMR => {
                let v = self.get_reg(reg_of(e.src), size);
                let a = self.ea(e);
                self.wr(bus, e.seg as usize, a, size, v)?;
            }
            Op::AluRR | Op::AluRI | Op::AluRM => {
                let d = reg_of(e.dst);
                let a = self.get_reg(d, size);
                let b = match e.op {
                    Op::AluRR => self.get_reg(reg_of(e.src), size),
                    Op::AluRI => e.imm & mask(size),
                    _ => {
                        let off = self.ea(e);
                        self.rd(bus, e.seg as usize, off, size)?
                    }
                };
                let (r, f) = alu2(e.sub, a, b, size, self.eflags);
                if e.sub < 7 {
                    self.set_reg(d, size, r);
                }
                self.eflags = f;
            }
            Op::AluMR | Op::AluMI => {
                let off = self.ea(e);
                let seg = e.seg as usize;
                let a = self.rd(bus, seg, off, size)?;
                let b = if e.op == Op::AluMR {
                    self.get_reg(reg_of(e.src), size)
                } else {
                    e.imm & mask(size)
                };
                let (r, f) = alu2(e.sub, a, b, size, self.eflags);
                if e.sub < 7 {
                    self.wr(bus, seg, off, size, r)?;
                }
                self.eflags = f;
            }
            Op::IncR | Op::DecR => {
                let d = reg_of(e.dst);
                let a = self.get_reg(d, size);
                let (r, f) = if e.op == Op::IncR {
                    alu::inc(a, size, self.eflags)
                } else {
                    alu::dec(a, size, self.eflags)
                };
                self.set_reg(d, size, r);
                self.eflags = f;
            }
            Op::PushR => {
                let v = self.get_reg(reg_of(e.dst), size);
                self.push(bus, v, size)?;
            }
            Op::PopR => {
                let v = self.pop(bus, size)?;
                self.set_reg(reg_of(e.dst), size, v);
            }
            Op::Add
            | Op::Or
            | Op::Adc
            | Op::Sbb
            | Op::And
            | Op::Sub
            | Op::Xor
            | Op::Cmp
            | Op::Test => {
                let a = self.rd_op(bus, e, e.dst, size)?;
                let b = self.rd_op(bus, e, e.src, size)?;
                let f = self.eflags;
                let (r, nf) = match e.op {
                    Op::Add => alu::add(a, b, 0, size, f),
                    Op::Adc => alu::add(a, b, f & CF, size, f),
                    Op::Sub | Op::Cmp => alu::sub(a, b, 0, size, f),
                    Op::Sbb => alu::sub(a, b, f & CF, size, f),
                    Op::And | Op::Test => (a & b, alu::logic(a & b, size, f)),
                    Op::Or => (a | b, alu::logic(a | b, size, f)),
                    _ => (a ^ b, alu::logic(a ^ b, size, f)),
                };
                if e.op != Op::Cmp && e.op != Op::Test {
                    self.wr_op(bus, e, e.dst, size, r)?;
                }
                self.eflags = nf;
            }
            Op::Inc | Op::Dec | Op::Neg | Op::Not => {
                let a = self.rd_op(bus, e, e.dst, size)?;
                let f = self.eflags;
                let (r, nf) = match e.op {
                    Op::Inc => alu::inc(a, size, f),
                    Op::Dec => alu::dec(a, size, f),
                    Op::Neg => {
                        let (r, nf) = alu::neg(a, size, f);
                        (r, (nf & !CF) | if a & mask(size) != 0 { CF } else { 0 })
                    }
                    _ => (!a & mask(size), f),
                };
                self.wr_op(bus, e, e.dst, size, r)?;
                self.eflags = nf;
            }
            Op::Mul | Op::Imul1 => self.mul1(bus, e, e.op == Op::Imul1)?,
            Op::Imul => {
                let (a, b) = if e.src2 == Loc::None {
                    (
                        self.rd_op(bus, e, e.dst, size)?,
                        self.rd_op(bus, e, e.src, size)?,
                    )
                } else {
                    (self.rd_op(bus, e, e.src, size)?, e.imm)
                };
                let p = sext(a, size) as i32 as i64 * sext(b, size) as i32 as i64;
                let r = p as u32 & mask(size);
                let over = sext(r, size) as i32 as i64 != p;
                self.set_reg(reg_of(e.dst), size, r);
                let mut f = (self.eflags & !STATUS) | alu::szp(r, size);
                if over {
                    f |= CF | OF;
                }
                self.eflags = f;
            }
            Op::Div | Op::Idiv => self.div(bus, e, e.op == Op::Idiv)?,
            Op::Shift => {
                let count = self.rd_op(bus, e, e.src, 1)?;
                let a = self.rd_op(bus, e, e.dst, size)?;
                if count & 0x1F != 0 {
                    let (r, f) = alu::shift(e.sub, a, count, size, self.eflags);
                    self.wr_op(bus, e, e.dst, size, r)?;
                    self.eflags = f;
                }
            }
            Op::Shld | Op::Shrd => {
                let count = self.rd_op(bus, e, e.src2, 1)?;
                let a = self.rd_op(bus, e, e.dst, size)?;
                let b = self.rd_op(bus, e, e.src, size)?;
                if count & 0x1F != 0 {
                    let (r, f) = alu::shld_shrd(e.op == Op::Shld, a, b, count, size, self.eflags);
                    self.wr_op(bus, e, e.dst, size, r)?;
                    self.eflags = f;
                }
            }
            Op::Mov => {
                let v = self.rd_op(bus, e, e.src, size)?;
                self.wr_op(bus, e, e.dst, size, v)?;
            }
            Op::MovSeg => {
                let s = match e.dst {
                    Loc::Seg(s) => s as usize,
                    _ => return Err(Exc::ud()),
                };
                if s == CS || s > GS {
                    return Err(Exc::ud());
                }
                let sel = self.rd_op(bus, e, e.src, 2)? as u16;
                self.load_seg(bus, s, sel)?;
                if s == SS {
                    self.shadow = true;
                }
            }
            Op::Movzx | Op::Movsx => {
                let v = self.rd_op(bus, e, e.src, e.ssize as u32)?;
                let v = if e.op == Op::Movsx {
                    sext(v, e.ssize as u32)
                } else {
                    v
                };
                self.wr_op(bus, e, e.dst, size, v)?;
            }
            Op::Lea => {
                if e.src != Loc::Mem {
                    return Err(Exc::ud());
                }
                let a = self.ea(e);
                self.set_reg(reg_of(e.dst), size, a);
            }
            Op::Xchg => {
                let a = self.rd_op(bus, e, e.dst, size)?;
                let b = self.rd_op(bus, e, e.src, size)?;
                self.wr_op(bus, e, e.dst, size, b)?;
                self.wr_op(bus, e, e.src, size, a)?;
            }
            Op::Xadd => {
                let a = self.rd_op(bus, e, e.dst, size)?;
                let b = self.rd_op(bus, e, e.src, size)?;
                let (r, f) = alu::add(a, b, 0, size, self.eflags);
                // SRC ← DEST, then DEST ← sum (so XADD r, r leaves the sum); a memory
                // destination is written first so a fault leaves the register intact.
                if e.dst == Loc::Mem {
                    self.wr_op(bus, e, e.dst, size, r)?;
                    self.wr_op(bus, e, e.src, size, a)?;
                } else {
                    self.wr_op(bus, e, e.src, size, a)?;
                    self.wr_op(bus, e, e.dst, size, r)?;
                }
                self.eflags = f;
            }
            Op::Cmpxchg => {
                let d = self.rd_op(bus, e, e.dst, size)?;
                let acc = self.get_reg(0, size);
                let (_, f) = alu::sub(acc, d, 0, size, self.eflags);
                if f & ZF != 0 {
                    let s = self.rd_op(bus, e, e.src, size)?;
                    self.wr_op(bus, e, e.dst, size, s)?;
                } else {
                    // The destination is always written (with its old value) on a miss.
                    self.wr_op(bus, e, e.dst, size, d)?;
                    self.set_reg(0, size, d);
                }
                self.eflags = f;
            }
            Op::Cmpxchg8b => {
                if e.dst != Loc::Mem {
                    return Err(Exc::ud());
                }
                let a = self.ea(e);
                let seg = e.seg as usize;
                let lo = self.rd(bus, seg, a, 4)?;
                let hi = self.rd(bus, seg, a.wrapping_add(4), 4)?;
                if lo == self.regs[EAX] && hi == self.regs[EDX] {
                    let (nl, nh) = (self.regs[EBX], self.regs[ECX]);
                    self.wr(bus, seg, a, 4, nl)?;
                    self.wr(bus, seg, a.wrapping_add(4), 4, nh)?;
                    self.eflags |= ZF;
                } else {
                    self.wr(bus, seg, a, 4, lo)?;
                    self.wr(bus, seg, a.wrapping_add(4), 4, hi)?;
                    self.regs[EAX] = lo;
                    self.regs[EDX] = hi;
                    self.eflags &= !ZF;
                }
            }
            Op::Bswap => {
                let r = reg_of(e.dst);
                // BSWAP of a 16-bit register is undefined; a P6 leaves zero there.
                let v = if size == 4 {
                    self.regs[r as usize].swap_bytes()
                } else {
                    0
                };
                self.set_reg(r, size, v);
            }
            Op::Cbw => {
                if size == 2 {
                    let v = sext(self.regs[EAX] & 0xFF, 1);
                    self.set_reg(0, 2, v);
                } else {
                    self.regs[EAX] = sext(self.regs[EAX], 2);
                }
            }
            Op::Cwd => {
                let neg = self.get_reg(0, size) & alu::sign(size) != 0;
                self.set_reg(EDX as u8, size, if neg { 0xFFFF_FFFF } else { 0 });
            }
            Op::Lahf => {
                let v = (self.eflags & (SF | ZF | AF | PF | CF)) | 2;
                self.set_reg(4, 1, v);
            }
            Op::Sahf => {
                let ah = self.get_reg(4, 1);
                let m = SF | ZF | AF | PF | CF;
                self.eflags = (self.eflags & !m) | (ah & m);
            }
            Op::Xlat => {
                let mut a = self.regs[EBX].wrapping_add(self.regs[EAX] & 0xFF);
                if !e.asz32 {
                    a &= 0xFFFF;
                }
                let v = self.rd(bus, e.seg as usize, a, 1)?;
                self.set_reg(0, 1, v);
            }
            Op::Lfp => {
                let (sel, off) = self.far_ptr(bus, e, e.src, size)?;
                self.load_seg(bus, e.sub as usize, sel)?;
                self.set_reg(reg_of(e.dst), size, off);
                if e.sub as usize == SS {
                    self.shadow = true;
                }
            }
            Op::Setcc => {
                let v = self.cond(e.sub) as u32;
                self.wr_op(bus, e, e.dst, 1, v)?;
            }
            Op::Cmovcc => {
                let v = self.rd_op(bus, e, e.src, size)?;
                if self.cond(e.sub) {
                    self.set_reg(reg_of(e.dst), size, v);
                }
            }
            Op::Bt => self.bt(bus, e)?,
            Op::Bsf | Op::Bsr => {
                let v = self.rd_op(bus, e, e.src, size)?;
                if v == 0 {
                    self.eflags |= ZF;
                } else {
                    let idx = if e.op == Op::Bsf {
                        v.trailing_zeros()
                    } else {
                        31 - v.leading_zeros()
                    };
                    self.set_reg(reg_of(e.dst), size, idx);
                    self.eflags = (self.eflags & !STATUS) | alu::szp(idx, size) & !ZF;
                }
            }
            Op::Nop => {}
            Op::Push => {
                let v = match e.dst {
                    Loc::Seg(s) => self.seg[s as usize].selector as u32,
                    Loc::Imm => e.imm,
                    l => self.rd_op(bus, e, l, size)?,
                };
                if matches!(e.dst, Loc::Seg(_)) && size == 4 {
                    // A P6 writes only the selector's 16 bits into the 32-bit slot.
                    let m = self.sp_mask();
                    let sp = self.regs[ESP].wrapping_sub(4) & m;
                    self.wr(bus, SS, sp, 2, v)?;
                    self.set_sp(sp);
                } else {
                    self.push(bus, v, size)?;
                }
            }
            Op::Pop => self.pop_op(bus, e)?,
            Op::Pusha => self.atomic_sp(bus, |c, bus| {
                let sp = c.regs[ESP];
                for r in 0..8 {
                    let v = if r == ESP { sp } else { c.regs[r] };
                    c.push(bus, v, size)?;
                }
                Ok(())
            })?,
            Op::Popa => {
                let mut vals = [0u32; 8];
                self.atomic_sp(bus, |c, bus| {
                    for r in (0..8).rev() {
                        vals[r] = c.pop(bus, size)?;
                    }
                    Ok(())
                })?;
                for (r, &v) in vals.iter().enumerate() {
                    if r != ESP {
                        self.set_reg(r as u8, size, v);
                    }
                }
            }
            Op::Pushf => {
                if self.v86() && self.eflags & IOPL != IOPL {
                    return Err(Exc::gp(0));
                }
                let v = self.eflags & !(RF | VM);
                self.push(bus, v, size)?;
            }
            Op::Popf => {
                if self.v86() && self.eflags & IOPL != IOPL {
                    return Err(Exc::gp(0));
                }
                let v = self.pop(bus, size)?;
                self.write_flags(v, size, false);
            }
            Op::Enter => self.enter(bus, e)?,
            Op::Leave => {
                let m = self.sp_mask();
                let bp = self.regs[EBP] & m;
                let v = self.rd(bus, SS, bp, size)?;
                self.regs[ESP] = (self.regs[ESP] & !m) | (bp.wrapping_add(size) & m);
                self.set_reg(EBP as u8, size, v);
            }
            Op::Jmp => self.branch(e),
            Op::Jcc => {
                if self.cond(e.sub) {
                    self.branch(e);
                    // Blocks run on past conditional branches; a taken one leaves.
                    self.smc = true;
                }
            }
            Op::JmpInd => {
                let t = self.rd_op(bus, e, e.dst, size)?;
                self.near_target(t)?;
            }
            Op::Call => {
                let ret = self.eip;
                self.push(bus, ret, size)?;
                self.branch(e);
            }
            Op::CallInd => {
                let t = self.rd_op(bus, e, e.dst, size)?;
                let ret = self.eip;
                self.check_cs_limit(t)?;
                self.push(bus, ret, size)?;
                self.eip = t;
            }
            Op::Ret => {
                let t = self.peek(bus, 0, size)?;
                self.check_cs_limit(t)?;
                self.pop(bus, size)?;
                let sp = self.regs[ESP].wrapping_add(e.imm & 0xFFFF);
                self.set_sp(sp);
                self.eip = t;
            }
            Op::JmpFar => self.far_jump(bus, e.imm2 as u16, e.imm, size)?,
            Op::JmpFarInd => {
                let (sel, off) = self.far_ptr(bus, e, e.dst, size)?;
                self.far_jump(bus, sel, off, size)?;
            }
            Op::CallFar => self.far_call(bus, e.imm2 as u16, e.imm, size)?,
            Op::CallFarInd => {
                let (sel, off) = self.far_ptr(bus, e, e.dst, size)?;
                self.far_call(bus, sel, off, size)?;
            }
            Op::Retf => self.far_ret(bus, size, e.imm & 0xFFFF)?,
            Op::Loop => {
                let m = if e.asz32 { 0xFFFF_FFFF } else { 0xFFFF };
                let c = self.regs[ECX].wrapping_sub(1) & m;
                self.regs[ECX] = (self.regs[ECX] & !m) | c;
                let zf = self.eflags & ZF != 0;
                let take = c != 0
                    && match e.sub {
                        0 => true,
                        1 => zf,
                        _ => !zf,
                    };
                if take {
                    self.branch(e);
                    self.smc = true;
                }
            }
            Op::Jcxz => {
                let m = if e.asz32 { 0xFFFF_FFFF } else { 0xFFFF };
                if self.regs[ECX] & m == 0 {
                    self.branch(e);
                    self.smc = true;
                }
            }
            Op::Int => self.soft_int(bus, e.imm as u8)?,
            Op::Int3 => self.interrupt(bus, crate::BP, None, Kind::Software)?,
            Op::Into => {
                if self.eflags & OF != 0 {
                    self.interrupt(bus, OFV, None, Kind::Software)?;
                }
            }
            Op::Int1 => self.interrupt(bus, crate::DB, None, Kind::Exception)?,
            Op::Iret => self.iret(bus, size)?,
            Op::Bound => {
                if e.src != Loc::Mem {
                    return Err(Exc::ud());
                }
                let idx = sext(self.get_reg(reg_of(e.dst), size), size) as i32;
                let a = self.ea(e);
                let lo = sext(self.rd(bus, e.seg as usize, a, size)?, size) as i32;
                let hi = sext(
                    self.rd(bus, e.seg as usize, Self::ea_add(e, a, size), size)?,
                    size,
                ) as i32;
                if idx < lo || idx > hi {
                    return Err(Exc::new(BR));
                }
            }
            Op::Clc => self.eflags &= !CF,
            Op::Stc => self.eflags |= CF,
            Op::Cmc => self.eflags ^= CF,
            Op::Cld => self.eflags &= !DF,
            Op::Std => self.eflags |= DF,
            Op::Cli => {
                self.check_iopl()?;
                self.eflags &= !IF;
            }
            Op::Sti => {
                self.check_iopl()?;
                if self.eflags & IF == 0 {
                    self.shadow = true;
                }
                self.eflags |= IF;
            }
            Op::Daa | Op::Das => {
                let al = self.regs[EAX] as u8;
                let (r, f) = if e.op == Op::Daa {
                    alu::daa(al, self.eflags)
                } else {
                    alu::das(al, self.eflags)
                };
                self.set_reg(0, 1, r as u32);
                self.eflags = f;
            }
            Op::Aaa | Op::Aas => {
                let (ax, f) = alu::aaa_aas(self.regs[EAX] as u16, self.eflags, e.op == Op::Aas);
                self.set_reg(0, 2, ax as u32);
                self.eflags = f;
            }
            Op::Aam => {
                let base = e.imm & 0xFF;
                if base == 0 {
                    return Err(Exc::new(DE));
                }
                let al = self.regs[EAX] & 0xFF;
                let v = ((al / base) << 8) | (al % base);
                self.set_reg(0, 2, v);
                self.eflags = (self.eflags & !STATUS) | alu::szp(v & 0xFF, 1);
            }
            Op::Aad => {
                let base = e.imm & 0xFF;
                let al = self.regs[EAX] & 0xFF;
                let ah = (self.regs[EAX] >> 8) & 0xFF;
                // The flags are those of the byte addition AL + AH×base.
                let (r, f) = alu::add(al, (ah * base) & 0xFF, 0, 1, self.eflags);
                self.set_reg(0, 2, r);
                self.eflags = f;
            }
            Op::Salc => {
                let v = if self.eflags & CF != 0 { 0xFF } else { 0 };
                self.set_reg(0, 1, v);
            }
            Op::Movs | Op::Cmps | Op::Stos | Op::Lods | Op::Scas | Op::Ins | Op::Outs => {
                self.string(bus, e)?
            }
            Op::In | Op::Out => self.io(bus, e)?,
            Op::Invalid | Op::Ud => return Err(Exc::ud()),
            Op::Unimpl => return Err(Exc::new(UD)),
            _ => self.system(bus, e)?,
        }
        Ok(())
    }

    fn mul1<B: Bus>(&mut self, bus: &mut B, e: &Entry, signed: bool) -> Res<()> {
        let size = e.size as u32;
        let b = self.rd_op(bus, e, e.dst, size)?;
        let a = self.get_reg(0, size);
        let (lo, hi, over) = if signed {
            let p = sext(a, size) as i32 as i64 * sext(b, size) as i32 as i64;
            let lo = p as u32 & mask(size);
            let hi = (p >> (size * 8)) as u32 & mask(size);
            (lo, hi, sext(lo, size) as i32 as i64 != p)
        } else {
            let p = a as u64 * b as u64;
            let lo = p as u32 & mask(size);
            let hi = (p >> (size * 8)) as u32 & mask(size);
            (lo, hi, hi != 0)
        };
        match size {
            1 => self.set_reg(0, 2, (hi << 8) | lo),
            _ => {
                self.set_reg(0, size, lo);
                self.set_reg(EDX as u8, size, hi);
            }
        }
        let mut f = (self.eflags & !STATUS) | alu::szp(lo, size);
        if over {
            f |= CF | OF;
        }
        self.eflags = f;
        Ok(())
    }

    fn div<B: Bus>(&mut self, bus: &mut B, e: &Entry, signed: bool) -> Res<()> {
        let size = e.size as u32;
        let d = self.rd_op(bus, e, e.dst, size)?;
        if d & mask(size) == 0 {
            return Err(Exc::new(DE));
        }
        let bits = size * 8;
        let dividend: u64 = match size {
            1 => self.regs[EAX] as u64 & 0xFFFF,
            2 => ((self.regs[EDX] as u64 & 0xFFFF) << 16) | (self.regs[EAX] as u64 & 0xFFFF),
            _ => ((self.regs[EDX] as u64) << 32) | self.regs[EAX] as u64,
        };
        let (q, r) = if signed {
            // Sign-extend the double-width dividend.
            let n = (dividend << (64 - 2 * bits)) as i64 >> (64 - 2 * bits);
            let dv = sext(d, size) as i32 as i64;
            let q = n as i128 / dv as i128;
            let r = n as i128 % dv as i128;
            let lim = 1i128 << (bits - 1);
            if q >= lim || q < -lim {
                return Err(Exc::new(DE));
            }
            (q as u32 & mask(size), r as u32 & mask(size))
        } else {
            let q = dividend / d as u64;
            if q > mask(size) as u64 {
                return Err(Exc::new(DE));
            }
            (q as u32, (dividend % d as u64) as u32)
        };
        match size {
            1 => self.set_reg(0, 2, (r << 8) | q),
            _ => {
                self.set_reg(0, size, q);
                self.set_reg(EDX as u8, size, r);
            }
        }
        Ok(())
    }

    fn bt<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let size = e.size as u32;
        let bits = size * 8;
        let off = self.rd_op(bus, e, e.src, size)?;
        let (val, bit, addr) = if e.dst == Loc::Mem {
            let base = self.ea(e);
            let (delta, bit) = if e.src == Loc::Imm {
                (0i64, off & (bits - 1))
            } else {
                // A register bit offset is signed and reaches outside the operand.
                let so = sext(off, size) as i32 as i64;
                (
                    (so >> (if size == 2 { 4 } else { 5 })) * size as i64,
                    (so & (bits as i64 - 1)) as u32,
                )
            };
            let mut a = (base as i64 + delta) as u32;
            if !e.asz32 {
                a &= 0xFFFF;
            }
            (self.rd(bus, e.seg as usize, a, size)?, bit, Some(a))
        } else {
            (self.rd_op(bus, e, e.dst, size)?, off & (bits - 1), None)
        };
        let cf = (val >> bit) & 1;
        let nv = match e.sub {
            1 => val | (1 << bit),
            2 => val & !(1 << bit),
            3 => val ^ (1 << bit),
            _ => val,
        };
        if e.sub != 0 {
            match addr {
                Some(a) => self.wr(bus, e.seg as usize, a, size, nv)?,
                None => self.wr_op(bus, e, e.dst, size, nv)?,
            }
        }
        self.eflags = (self.eflags & !CF) | cf;
        Ok(())
    }

    fn pop_op<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let size = e.size as u32;
        match e.dst {
            Loc::Seg(s) => {
                // The stack-address size is that of the SS in force when the
                // instruction starts, also for POP SS (SDM Vol. 2B, POP).
                let m = self.sp_mask();
                let v = self.peek(bus, 0, size)?;
                self.load_seg(bus, s as usize, v as u16)?;
                let sp = self.regs[ESP].wrapping_add(size) & m;
                self.regs[ESP] = (self.regs[ESP] & !m) | sp;
                if s as usize == SS {
                    self.shadow = true;
                }
            }
            Loc::Reg(r) => {
                let v = self.pop(bus, size)?;
                self.set_reg(r, size, v);
            }
            _ => {
                // POP m: the address is computed with ESP already incremented.
                let old = self.regs[ESP];
                let v = self.pop(bus, size)?;
                if let Err(x) = self.wr_op(bus, e, e.dst, size, v) {
                    self.regs[ESP] = old;
                    return Err(x);
                }
            }
        }
        Ok(())
    }

    fn enter<B: Bus>(&mut self, bus: &mut B, e: &Entry) -> Res<()> {
        let size = e.size as u32;
        let alloc = e.imm & 0xFFFF;
        let level = e.imm2 & 0x1F;
        let m = self.sp_mask();
        self.atomic_sp(bus, |c, bus| {
            let bp = c.regs[EBP];
            c.push(bus, bp, size)?;
            // FrameTemp is ESP for a 32-bit operand size whatever the stack size
            // (SDM Vol. 2A, ENTER): with a 16-bit SS, EBP keeps ESP's upper half.
            let frame = c.regs[ESP];
            let mut bp = c.regs[EBP];
            if level > 0 {
                for _ in 1..level {
                    bp = bp.wrapping_sub(size);
                    let v = c.rd(bus, SS, bp & m, size)?;
                    c.push(bus, v, size)?;
                }
                c.push(bus, frame, size)?;
            }
            let sp = c.regs[ESP].wrapping_sub(alloc) & m;
            // The final stack pointer must be writable: #SS if it is outside the
            // segment, and #PF whenever a write there would fault (SDM Vol. 2A, ENTER).
            let lin = c.linear(SS, sp, size, true)?;
            c.probe_write(bus, lin, size)?;
            c.set_reg(EBP as u8, size, frame);
            c.set_sp(sp);
            Ok(())
        })
    }

    /// Reads an offset:selector far pointer from the memory operand `loc` (#UD if the
    /// operand is a register).
    fn far_ptr<B: Bus>(&mut self, bus: &mut B, e: &Entry, loc: Loc, size: u32) -> Res<(u16, u32)> {
        if loc != Loc::Mem {
            return Err(Exc::ud());
        }
        let a = self.ea(e);
        let off = self.rd(bus, e.seg as usize, a, size)?;
        let sel = self.rd(bus, e.seg as usize, Self::ea_add(e, a, size), 2)?;
        Ok((sel as u16, off))
    }

    #[inline]
    pub(crate) fn check_cs_limit(&self, t: u32) -> Res<()> {
        if t > self.seg[CS].limit {
            return Err(Exc::gp(0));
        }
        Ok(())
    }

    fn near_target(&mut self, t: u32) -> Res<()> {
        self.check_cs_limit(t)?;
        self.eip = t;
        Ok(())
    }

    /// CLI/STI sensitivity: CPL ≤ IOPL in protected mode, IOPL = 3 in V86.
    pub(crate) fn check_iopl(&self) -> Res<()> {
        if self.protected() && self.cpl as u32 > (self.eflags & IOPL) >> 12 {
            return Err(Exc::gp(0));
        }
        Ok(())
    }

    /// Writes EFLAGS from POPF/IRET with the privilege rules of SDM Vol. 2B "POPF".
    pub(crate) fn write_flags(&mut self, v: u32, size: u32, iret: bool) {
        let mut m = WRITABLE & !(VM | Eflags::VIF.bits() | Eflags::VIP.bits());
        if !iret {
            m &= !RF;
        }
        if self.protected() {
            if self.cpl > 0 {
                m &= !IOPL;
            }
            if self.cpl as u32 > (self.eflags & IOPL) >> 12 {
                m &= !IF;
            }
        }
        if size == 2 {
            m &= 0xFFFF;
        }
        self.eflags = (self.eflags & !m) | (v & m) | 2;
    }
}

/// The two-operand ALU group by kind: ADD OR ADC SBB AND SUB XOR CMP TEST.
#[inline(always)]
fn alu2(kind: u8, a: u32, b: u32, size: u32, f: u32) -> (u32, u32) {
    match kind {
        0 => alu::add(a, b, 0, size, f),
        1 => (a | b, alu::logic(a | b, size, f)),
        2 => alu::add(a, b, f & CF, size, f),
        3 => alu::sub(a, b, f & CF, size, f),
        4 | 8 => (a & b, alu::logic(a & b, size, f)),
        5 | 7 => alu::sub(a, b, 0, size, f),
        _ => (a ^ b, alu::logic(a ^ b, size, f)),
    }
}

#[inline]
fn reg_of(l: Loc) -> u8 {
    match l {
        Loc::Reg(r) => r,
        _ => 0,
    }
}
