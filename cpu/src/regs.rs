//! Architectural register state: EFLAGS bits, segment registers with their hidden
//! descriptor caches (Intel SDM Vol. 3A §3.4.3), and the control-register bits the
//! interpreter consults.

use bitflags::bitflags;

bitflags! {
    /// EFLAGS (SDM Vol. 1 §3.4.3).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Eflags: u32 {
        const CF = 1 << 0;
        const FIXED1 = 1 << 1;
        const PF = 1 << 2;
        const AF = 1 << 4;
        const ZF = 1 << 6;
        const SF = 1 << 7;
        const TF = 1 << 8;
        const IF = 1 << 9;
        const DF = 1 << 10;
        const OF = 1 << 11;
        const IOPL = 3 << 12;
        const NT = 1 << 14;
        const RF = 1 << 16;
        const VM = 1 << 17;
        const AC = 1 << 18;
        const VIF = 1 << 19;
        const VIP = 1 << 20;
        const ID = 1 << 21;
    }
}

pub const CF: u32 = Eflags::CF.bits();
pub const PF: u32 = Eflags::PF.bits();
pub const AF: u32 = Eflags::AF.bits();
pub const ZF: u32 = Eflags::ZF.bits();
pub const SF: u32 = Eflags::SF.bits();
pub const TF: u32 = Eflags::TF.bits();
pub const IF: u32 = Eflags::IF.bits();
pub const DF: u32 = Eflags::DF.bits();
pub const OF: u32 = Eflags::OF.bits();
pub const IOPL: u32 = Eflags::IOPL.bits();
pub const NT: u32 = Eflags::NT.bits();
pub const RF: u32 = Eflags::RF.bits();
pub const VM: u32 = Eflags::VM.bits();
pub const AC: u32 = Eflags::AC.bits();
pub const ID: u32 = Eflags::ID.bits();
/// The six arithmetic status flags.
pub const STATUS: u32 = CF | PF | AF | ZF | SF | OF;
/// Bits a P6 lets software change through POPF/IRET (others read as fixed).
pub const WRITABLE: u32 =
    STATUS | TF | IF | DF | IOPL | NT | RF | VM | AC | Eflags::VIF.bits() | Eflags::VIP.bits() | ID;

/// General register numbers as the instruction encoding uses them.
pub const EAX: usize = 0;
pub const ECX: usize = 1;
pub const EDX: usize = 2;
pub const EBX: usize = 3;
pub const ESP: usize = 4;
pub const EBP: usize = 5;
pub const ESI: usize = 6;
pub const EDI: usize = 7;

/// Segment register numbers as the instruction encoding uses them.
pub const ES: usize = 0;
pub const CS: usize = 1;
pub const SS: usize = 2;
pub const DS: usize = 3;
pub const FS: usize = 4;
pub const GS: usize = 5;

pub const CR0_PE: u32 = 1 << 0;
pub const CR0_MP: u32 = 1 << 1;
pub const CR0_EM: u32 = 1 << 2;
pub const CR0_TS: u32 = 1 << 3;
pub const CR0_ET: u32 = 1 << 4;
pub const CR0_NE: u32 = 1 << 5;
pub const CR0_WP: u32 = 1 << 16;
pub const CR0_AM: u32 = 1 << 18;
pub const CR0_PG: u32 = 1 << 31;
pub const CR4_TSD: u32 = 1 << 2;
pub const CR4_PSE: u32 = 1 << 4;
pub const CR4_PAE: u32 = 1 << 5;
pub const CR4_PGE: u32 = 1 << 7;
/// The OS saves SSE state with FXSAVE: SSE instructions are allowed (SDM Vol. 3A §2.5).
pub const CR4_OSFXSR: u32 = 1 << 9;
/// The OS handles #XM: unmasked SIMD floating-point exceptions raise #XM, not #UD.
pub const CR4_OSXMMEXCPT: u32 = 1 << 10;

/// Descriptor attribute bits as kept in `Segment::attr`: the access byte in bits 0–7
/// and the flags nibble (AVL, L, D/B, G) of descriptor byte 6 in bits 12–15.
pub const ATTR_ACCESSED: u16 = 1 << 0;
pub const ATTR_RW: u16 = 1 << 1;
pub const ATTR_DC: u16 = 1 << 2;
pub const ATTR_CODE: u16 = 1 << 3;
pub const ATTR_S: u16 = 1 << 4;
pub const ATTR_P: u16 = 1 << 7;
pub const ATTR_DB: u16 = 1 << 14;
pub const ATTR_G: u16 = 1 << 15;

/// A segment register: the visible selector and the hidden descriptor cache that every
/// access actually uses, so real, unreal and protected mode share one address path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    pub selector: u16,
    pub base: u32,
    /// Byte-granular limit (already scaled by G).
    pub limit: u32,
    pub attr: u16,
    /// Derived access rights (see `ACC_*`), recomputed whenever the cache is loaded.
    pub acc: u8,
}

pub const ACC_READ: u8 = 1;
pub const ACC_WRITE: u8 = 2;
pub const ACC_EXPAND_DOWN: u8 = 4;
/// Derived: a readable segment with base 0, limit FFFFFFFFh and not expand-down, whose
/// offsets are linear addresses (the "flat" fast path skips the base add and the
/// limit compare; only a wrap past 4 GB still needs a check). Recomputed by every
/// descriptor load ([`Segment::update_acc`], [`Segment::load_real`]) and, for code that
/// edits the public fields directly, at the start of every `Cpu::run`. It is
/// `ACC_READ << 3`, so `need << 3` is the flat bit of an access that needs `need`.
pub const ACC_FLAT_R: u8 = ACC_READ << 3;
/// Derived: as [`ACC_FLAT_R`] for a writable segment (`ACC_WRITE << 3`).
pub const ACC_FLAT_W: u8 = ACC_WRITE << 3;
/// Either flat bit.
pub const ACC_FLAT: u8 = ACC_FLAT_R | ACC_FLAT_W;

impl Segment {
    pub fn new(selector: u16, base: u32, limit: u32, attr: u16) -> Self {
        let mut s = Segment {
            selector,
            base,
            limit,
            attr,
            acc: 0,
        };
        s.update_acc();
        s
    }

    /// Real-mode style load: base = selector × 16, limit and attributes kept (which is
    /// what makes "unreal mode" work, SDM Vol. 3A §20.1.1).
    pub fn load_real(&mut self, selector: u16) {
        self.selector = selector;
        self.base = (selector as u32) << 4;
        // Real-mode accesses never fault on access rights, only on the limit.
        self.acc = ACC_READ | ACC_WRITE | (self.acc & ACC_EXPAND_DOWN);
        self.update_flat();
    }

    /// Whether an access needing `need` ([`ACC_READ`] or [`ACC_WRITE`]) may take the
    /// offset as the linear address (the flat bit of that right).
    #[inline(always)]
    pub fn flat_for(&self, need: u8) -> bool {
        self.acc & need << 3 != 0
    }

    /// Sets or clears [`ACC_FLAT_R`] and [`ACC_FLAT_W`] from the base, limit and
    /// access rights.
    #[inline]
    pub fn update_flat(&mut self) {
        let flat = self.base == 0 && self.limit == u32::MAX && self.acc & ACC_EXPAND_DOWN == 0;
        let rights = self.acc & (ACC_READ | ACC_WRITE);
        self.acc = (self.acc & !ACC_FLAT) | if flat { rights << 3 } else { 0 };
    }

    pub fn update_acc(&mut self) {
        let a = self.attr;
        let mut acc = 0;
        if a & ATTR_P != 0 && a & ATTR_S != 0 {
            if a & ATTR_CODE != 0 {
                if a & ATTR_RW != 0 {
                    acc |= ACC_READ;
                }
            } else {
                acc |= ACC_READ;
                if a & ATTR_RW != 0 {
                    acc |= ACC_WRITE;
                }
                if a & ATTR_DC != 0 {
                    acc |= ACC_EXPAND_DOWN;
                }
            }
        }
        self.acc = acc;
        self.update_flat();
    }

    /// The D/B bit: 32-bit default operand size for code, 32-bit stack pointer for SS.
    #[inline]
    pub fn big(&self) -> bool {
        self.attr & ATTR_DB != 0
    }

    pub fn dpl(&self) -> u8 {
        ((self.attr >> 5) & 3) as u8
    }
}

/// GDTR/IDTR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct TableReg {
    pub base: u32,
    pub limit: u16,
}
