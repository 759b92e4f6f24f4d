//! The local APIC of a P6-family processor (the xAPIC of the Pentium M), memory-mapped at
//! FEE00000h: ID, version, task and processor priority (TPR/APR/PPR), EOI, logical
//! destination (LDR/DFR), the spurious-interrupt vector register (software enable), the
//! 256-bit ISR/TMR/IRR, the error status register, the local vector table (timer,
//! thermal, performance counter, LINT0, LINT1, error), the timer (one-shot and periodic,
//! divide configuration, initial and current count) and the interrupt command register
//! for IPIs a single processor can send: to itself (fixed or lowest priority), or INIT
//! and start-up, which a lone bootstrap processor ignores. Follows the Intel SDM Vol. 3A
//! chapter 10 "Advanced Programmable Interrupt Controller (APIC)" (§10.4 local APIC
//! registers, §10.5 LVT and timer, §10.6 ICR, §10.8 priority, acceptance, EOI, §10.9
//! spurious interrupt).
//!
//! The APIC lives inside the CPU, but the CPU crate knows nothing of PCs: the machine owns
//! this chip, routes the 8259's INTR through LINT0 (ExtINT) and the I/O APIC's messages
//! to it, and answers the CPU's interrupt acknowledge from it. The timer counts virtual
//! time: its input is the 100 MHz bus clock (the Pentium M's 400 MT/s front-side bus),
//! one count per 10 ns × the divide value, evaluated lazily like the PIT. The CPUID of
//! these models reports no TSC-deadline mode, so LVT timer bit 18 is reserved.
//!
//! Registers are 32 bits at 16-byte-aligned offsets; narrower writes (which the SDM
//! leaves undefined) are collected in a latch and take effect with the register's last
//! byte, so a bus that splits a 32-bit store into bytes still writes whole registers.
//!
//! Log target: `lapic`.

use crate::Nanos;

/// Bus clock period: 100 MHz.
pub const BUS_NS: u64 = 10;

/// LVT indices.
pub const LVT_TIMER: usize = 0;
pub const LVT_THERMAL: usize = 1;
pub const LVT_PERF: usize = 2;
pub const LVT_LINT0: usize = 3;
pub const LVT_LINT1: usize = 4;
pub const LVT_ERROR: usize = 5;

const MASKED: u32 = 1 << 16;
const PERIODIC: u32 = 1 << 17;
/// Delivery modes (LVT and ICR bits 10:8).
pub const DM_FIXED: u8 = 0;
pub const DM_LOWEST: u8 = 1;
pub const DM_SMI: u8 = 2;
pub const DM_NMI: u8 = 4;
pub const DM_INIT: u8 = 5;
pub const DM_STARTUP: u8 = 6;
pub const DM_EXTINT: u8 = 7;

/// ESR bits (§10.5.3).
const ESR_SEND_ILLEGAL: u32 = 1 << 5;
const ESR_RECV_ILLEGAL: u32 = 1 << 6;
const ESR_ILLEGAL_REG: u32 = 1 << 7;

/// Writable bits of each LVT entry (§10.5.1, Figure 10-8): vector, delivery mode,
/// polarity, trigger, mask, timer mode.
const LVT_WRITABLE: [u32; 6] = [
    0x0003_00FF, // timer: vector, mask, periodic
    0x0001_07FF, // thermal: vector, delivery mode, mask
    0x0001_07FF, // performance counter
    0x0001_A7FF, // LINT0: vector, delivery mode, polarity, trigger, mask
    0x0001_A7FF, // LINT1
    0x0001_00FF, // error: vector, mask
];

/// An interrupt message for this APIC (from the I/O APIC, or an IPI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    pub vector: u8,
    /// Delivery mode (`DM_*`).
    pub mode: u8,
    /// Logical (true) or physical destination.
    pub logical: bool,
    pub dest: u8,
    /// Level-triggered: the EOI of this vector is broadcast back to the I/O APIC.
    pub level: bool,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LocalApic {
    id: u8,
    /// Highest LVT entry index (version register bits 23:16).
    max_lvt: u8,
    tpr: u8,
    ldr: u32,
    dfr: u32,
    svr: u32,
    isr: [u32; 8],
    tmr: [u32; 8],
    irr: [u32; 8],
    /// The ESR as last latched by a write, and errors seen since.
    esr: u32,
    esr_pending: u32,
    lvt: [u32; 6],
    icr_lo: u32,
    icr_hi: u32,
    /// Timer: initial count, divide configuration register, and the virtual time the
    /// current count started from the initial count.
    initial: u32,
    divide: u32,
    start: Nanos,
    /// When the timer next reaches zero, while it counts.
    deadline: Option<Nanos>,
    /// An ExtINT message (I/O APIC pin in ExtINT mode) waits for the 8259's vector.
    pub extint: bool,
    /// Bytes of a narrow write waiting for the register's last byte.
    latch: [u8; 4],
    #[serde(skip)]
    logged: u32,
}

fn bit(v: &[u32; 8], n: u8) -> bool {
    v[n as usize >> 5] & (1 << (n & 31)) != 0
}
fn set_bit(v: &mut [u32; 8], n: u8, on: bool) {
    let w = &mut v[n as usize >> 5];
    if on {
        *w |= 1 << (n & 31);
    } else {
        *w &= !(1 << (n & 31));
    }
}
/// The highest set bit of a 256-bit register.
fn highest(v: &[u32; 8]) -> Option<u8> {
    (0..8)
        .rev()
        .find(|&i| v[i] != 0)
        .map(|i| (i * 32 + 31 - v[i].leading_zeros() as usize) as u8)
}

impl LocalApic {
    /// The APIC of processor `id` with `max_lvt` + 1 LVT entries (4 on the P6, 5 with the
    /// thermal sensor entry of the Pentium M).
    pub fn new(id: u8, max_lvt: u8) -> LocalApic {
        let mut a = LocalApic::cleared(id, max_lvt.min(5));
        a.reset();
        a
    }

    /// Every register at its cleared value.
    fn cleared(id: u8, max_lvt: u8) -> LocalApic {
        LocalApic {
            id,
            max_lvt,
            tpr: 0,
            ldr: 0,
            dfr: 0xFFFF_FFFF,
            svr: 0xFF,
            isr: [0; 8],
            tmr: [0; 8],
            irr: [0; 8],
            esr: 0,
            esr_pending: 0,
            lvt: [MASKED; 6],
            icr_lo: 0,
            icr_hi: 0,
            initial: 0,
            divide: 0,
            start: 0,
            deadline: None,
            extint: false,
            latch: [0; 4],
            logged: 0,
        }
    }

    /// Power-on and INIT state (§10.4.7.1), with LINT0 in ExtINT mode, unmasked, as the
    /// BIOS of a PC leaves the bootstrap processor (the MP specification's virtual wire
    /// mode, which QEMU also sets at reset) so that the 8259 reaches the CPU.
    pub fn reset(&mut self) {
        *self = LocalApic::cleared(self.id, self.max_lvt);
        self.lvt[LVT_LINT0] = (DM_EXTINT as u32) << 8;
    }

    pub fn id(&self) -> u8 {
        self.id
    }

    /// The version register: 14h (an integrated APIC of the P6 family, §10.4.8) and
    /// the highest LVT index.
    pub fn version(&self) -> u32 {
        0x14 | (self.max_lvt as u32) << 16
    }

    fn software_enabled(&self) -> bool {
        self.svr & 0x100 != 0
    }

    fn log_once(&mut self, what: u32, msg: std::fmt::Arguments) {
        if self.logged & (1 << what) == 0 {
            self.logged |= 1 << what;
            log::info!(target: "lapic", "{msg}");
        }
    }

    /// Processor priority (§10.8.3.1): the TPR, or the class of the highest interrupt in
    /// service if that is higher.
    pub fn ppr(&self) -> u8 {
        let isrv = highest(&self.isr).unwrap_or(0);
        if self.tpr >> 4 >= isrv >> 4 {
            self.tpr
        } else {
            isrv & 0xF0
        }
    }

    /// Arbitration priority (§10.8.3.2, with one processor): the TPR, or the highest
    /// class in service or requested if that is higher.
    fn apr(&self) -> u8 {
        let top = highest(&self.isr)
            .unwrap_or(0)
            .max(highest(&self.irr).unwrap_or(0));
        if self.tpr >> 4 >= top >> 4 {
            self.tpr
        } else {
            top & 0xF0
        }
    }

    /// The vector the CPU would take now: the highest requested one whose priority
    /// class is above the processor priority (§10.8.3). A software-disabled APIC holds
    /// its requests (§10.4.7.2) and delivers none, as QEMU's does, so a BIOS running
    /// after a reset is not interrupted by an I/O APIC the previous OS left programmed.
    #[inline]
    pub fn deliverable(&self) -> Option<u8> {
        // The CPU asks between every two blocks; almost always nothing is requested.
        if self.irr == [0; 8] || !self.software_enabled() {
            return None;
        }
        let v = highest(&self.irr)?;
        (v >> 4 > self.ppr() >> 4).then_some(v)
    }

    /// Whether the 8259's INTR reaches the CPU: through LINT0 in ExtINT mode, unmasked,
    /// or an ExtINT message.
    pub fn extint_open(&self) -> bool {
        let l = self.lvt[LVT_LINT0];
        self.extint || (l & MASKED == 0 && (l >> 8 & 7) as u8 == DM_EXTINT)
    }

    /// The interrupt acknowledge: moves the highest deliverable request into service and
    /// returns its vector; the spurious vector if it went away (§10.9).
    pub fn ack(&mut self) -> u8 {
        match self.deliverable() {
            Some(v) => {
                set_bit(&mut self.irr, v, false);
                set_bit(&mut self.isr, v, true);
                v
            }
            None => self.svr as u8,
        }
    }

    /// Accepts a fixed interrupt (§10.8.4): vectors 0–15 are illegal (ESR bit 6, the
    /// error LVT interrupt); a vector already requested merges with the pending one.
    pub fn accept(&mut self, vector: u8, level: bool) {
        if vector < 16 {
            self.error(ESR_RECV_ILLEGAL);
            return;
        }
        set_bit(&mut self.irr, vector, true);
        set_bit(&mut self.tmr, vector, level);
    }

    fn error(&mut self, bits: u32) {
        self.esr_pending |= bits;
        let e = self.lvt[LVT_ERROR];
        if e & MASKED == 0 && (e as u8) >= 16 {
            set_bit(&mut self.irr, e as u8, true);
            set_bit(&mut self.tmr, e as u8, false);
        }
    }

    /// Whether a message with this destination reaches this APIC (§10.6.2): physical ID
    /// or broadcast (FFh); logical flat (DFR model Fh: any common bit with the LDR) or
    /// cluster (model 0h: same cluster in bits 7:4, a common bit in 3:0).
    pub fn matches(&self, logical: bool, dest: u8) -> bool {
        if !logical {
            return dest == 0xFF || dest & 0x0F == self.id & 0x0F;
        }
        let ld = (self.ldr >> 24) as u8;
        if dest == 0xFF {
            return true;
        }
        if self.dfr >> 28 == 0xF {
            ld & dest != 0
        } else {
            ld >> 4 == dest >> 4 && ld & dest & 0x0F != 0
        }
    }

    /// A message from the I/O APIC (or an IPI) addressed to this processor.
    pub fn deliver(&mut self, m: Message) {
        if !self.matches(m.logical, m.dest) {
            return;
        }
        match m.mode {
            DM_FIXED | DM_LOWEST => self.accept(m.vector, m.level),
            DM_EXTINT => self.extint = true,
            _ => self.log_once(
                1,
                format_args!(
                    "delivery mode {} (vector {:#04x}) ignored: this machine has no SMI or NMI input and one processor",
                    m.mode, m.vector
                ),
            ),
        }
    }

    /// The LVT entry's interrupt (LINT pins, timer, error): fixed ones enter the IRR.
    fn lvt_interrupt(&mut self, i: usize) {
        let l = self.lvt[i];
        if l & MASKED != 0 {
            return;
        }
        match (l >> 8 & 7) as u8 {
            DM_FIXED => {
                if (l as u8) < 16 {
                    self.error(ESR_SEND_ILLEGAL);
                } else {
                    let level = i == LVT_LINT0 || i == LVT_LINT1 && l & (1 << 15) != 0;
                    self.accept(l as u8, level);
                }
            }
            m => self.log_once(2, format_args!("LVT {i}: delivery mode {m} not modelled")),
        }
    }

    /// The timer's divide value from the divide configuration register (§10.5.4: bits
    /// 0, 1 and 3; 1011b divides by 1).
    pub fn divide_by(&self) -> u64 {
        let v = (self.divide & 3) | (self.divide >> 1 & 4);
        if v == 7 {
            1
        } else {
            2 << v
        }
    }

    fn count_ns(&self) -> u64 {
        BUS_NS * self.divide_by()
    }

    /// The current count at `now` (§10.5.4): counting down from the initial count, once
    /// to zero (one-shot) or over and over (periodic).
    pub fn current_count(&self, now: Nanos) -> u32 {
        if self.initial == 0 {
            return 0;
        }
        let elapsed = now.saturating_sub(self.start) / self.count_ns();
        if self.lvt[LVT_TIMER] & PERIODIC != 0 {
            self.initial - (elapsed % self.initial as u64) as u32
        } else if elapsed >= self.initial as u64 {
            0
        } else {
            self.initial - elapsed as u32
        }
    }

    fn start_timer(&mut self, now: Nanos) {
        self.start = now;
        self.deadline =
            (self.initial != 0).then(|| now.saturating_add(self.initial as u64 * self.count_ns()));
    }

    /// When the timer next needs [`LocalApic::tick`].
    pub fn next_event(&self) -> Option<Nanos> {
        self.deadline
    }

    /// Catches the timer up to `now`: each time the count reached zero the timer LVT's
    /// interrupt is requested (several periods missed merge into one request, as the IRR
    /// holds one bit per vector).
    pub fn tick(&mut self, now: Nanos) {
        let Some(d) = self.deadline else { return };
        if d > now {
            return;
        }
        self.lvt_interrupt(LVT_TIMER);
        if self.lvt[LVT_TIMER] & PERIODIC != 0 {
            let period = self.initial as u64 * self.count_ns();
            let periods = (now - self.start) / period;
            self.deadline = Some(self.start.saturating_add((periods + 1) * period));
        } else {
            self.deadline = None;
        }
    }

    /// Reads the 32-bit register at `offset` (of the 4 KB page; the low 4 bits ignored).
    pub fn read(&mut self, offset: u32, now: Nanos) -> u32 {
        let reg = offset & 0xFF0;
        match reg {
            0x020 => (self.id as u32) << 24,
            0x030 => self.version(),
            0x080 => self.tpr as u32,
            0x090 => self.apr() as u32,
            0x0A0 => self.ppr() as u32,
            0x0B0 | 0x0C0 => 0,
            0x0D0 => self.ldr,
            0x0E0 => self.dfr,
            0x0F0 => self.svr,
            0x100..=0x170 => self.isr[(reg - 0x100) as usize >> 4],
            0x180..=0x1F0 => self.tmr[(reg - 0x180) as usize >> 4],
            0x200..=0x270 => self.irr[(reg - 0x200) as usize >> 4],
            0x280 => self.esr,
            0x300 => self.icr_lo,
            0x310 => self.icr_hi,
            0x320..=0x370 => {
                let i = (reg - 0x320) as usize >> 4;
                if self.lvt_present(i) {
                    self.lvt[i]
                } else {
                    0
                }
            }
            0x380 => self.initial,
            0x390 => self.current_count(now),
            0x3E0 => self.divide,
            _ => 0,
        }
    }

    fn lvt_present(&self, i: usize) -> bool {
        // LVT entries in register order: timer, thermal, perf, LINT0, LINT1, error; a
        // P6 without the thermal entry has max LVT 4 (timer, perf, LINT0/1, error).
        i != LVT_THERMAL || self.max_lvt >= 5
    }

    /// Writes the 32-bit register at `offset`. Returns the vector of a level-triggered
    /// interrupt an EOI ended, for the EOI broadcast to the I/O APIC.
    pub fn write(&mut self, offset: u32, v: u32, now: Nanos) -> Option<u8> {
        let reg = offset & 0xFF0;
        match reg {
            // ID: bits 27:24 on the P6 (4-bit APIC IDs).
            0x020 => self.id = (v >> 24) as u8 & 0x0F,
            0x080 => self.tpr = v as u8,
            0x0B0 => return self.eoi(),
            0x0D0 => self.ldr = v & 0xFF00_0000,
            0x0E0 => self.dfr = v | 0x0FFF_FFFF,
            0x0F0 => {
                // Bits 3:0 of the spurious vector are hardwired to 1 on the P6 family.
                self.svr = v & 0x3FF | 0x0F;
                if !self.software_enabled() {
                    for l in self.lvt.iter_mut() {
                        *l |= MASKED;
                    }
                }
            }
            0x280 => {
                self.esr = std::mem::take(&mut self.esr_pending);
            }
            0x300 => {
                self.icr_lo = v & 0x000C_CFFF;
                self.ipi();
            }
            0x310 => self.icr_hi = v & 0xFF00_0000,
            0x320..=0x370 => {
                let i = (reg - 0x320) as usize >> 4;
                if self.lvt_present(i) {
                    let mut l = v & LVT_WRITABLE[i];
                    if !self.software_enabled() {
                        l |= MASKED;
                    }
                    let was_periodic = self.lvt[i] & PERIODIC != 0;
                    self.lvt[i] = l;
                    if i == LVT_TIMER && was_periodic != (l & PERIODIC != 0) {
                        // The mode changes from the next time the count reaches zero.
                        let cur = self.current_count(now);
                        self.restart_from(cur, now);
                    }
                }
            }
            0x380 => {
                self.initial = v;
                self.start_timer(now);
            }
            0x3E0 => {
                let cur = self.current_count(now);
                self.divide = v & 0xB;
                self.restart_from(cur, now);
            }
            // Read-only registers: writes are ignored (the P6 flags an illegal register
            // address only for unimplemented offsets).
            0x030 | 0x090 | 0x0A0 | 0x0C0 | 0x100..=0x270 | 0x390 => {}
            _ => self.error(ESR_ILLEGAL_REG),
        }
        None
    }

    /// Keeps the current count `cur` and counts on from it at the present rate.
    fn restart_from(&mut self, cur: u32, now: Nanos) {
        if self.initial == 0 {
            return;
        }
        let done = (self.initial - cur) as u64 * self.count_ns();
        if cur == 0 && self.lvt[LVT_TIMER] & PERIODIC == 0 {
            return;
        }
        self.start = now.saturating_sub(done);
        self.deadline = Some(now.saturating_add(cur as u64 * self.count_ns()));
    }

    /// EOI (§10.8.5): ends the highest interrupt in service.
    fn eoi(&mut self) -> Option<u8> {
        let v = highest(&self.isr)?;
        set_bit(&mut self.isr, v, false);
        bit(&self.tmr, v).then_some(v)
    }

    /// Sends the IPI the ICR describes (§10.6.1). With one processor only messages to
    /// itself arrive; INIT and start-up to itself are ignored (logged once), as a
    /// bootstrap processor does not reset on its own INIT IPI here.
    fn ipi(&mut self) {
        let lo = self.icr_lo;
        let vector = lo as u8;
        let mode = (lo >> 8 & 7) as u8;
        let to_self = match lo >> 18 & 3 {
            0 => self.matches(lo & (1 << 11) != 0, (self.icr_hi >> 24) as u8),
            1 | 2 => true,
            _ => false,
        };
        if !to_self {
            return;
        }
        match mode {
            DM_FIXED | DM_LOWEST => {
                if vector < 16 {
                    self.error(ESR_SEND_ILLEGAL);
                } else {
                    self.accept(vector, false);
                }
            }
            _ => self.log_once(
                3,
                format_args!("IPI to self with delivery mode {mode} ignored (one processor)"),
            ),
        }
    }

    /// A narrow or whole MMIO read at `offset` of the page.
    pub fn mmio_read(&mut self, offset: u32, size: u8, now: Nanos) -> u32 {
        let v = self.read(offset & !3, now);
        let shift = 8 * (offset & 3);
        let v = v >> shift;
        match size {
            1 => v & 0xFF,
            2 => v & 0xFFFF,
            _ => v,
        }
    }

    /// A narrow or whole MMIO write: whole when it reaches the register's byte 3.
    pub fn mmio_write(&mut self, offset: u32, size: u8, value: u32, now: Nanos) -> Option<u8> {
        if offset & 0xF != 0 || size != 4 {
            let first = (offset & 3) as usize;
            for i in 0..size as usize {
                if let Some(b) = self.latch.get_mut(first + i) {
                    *b = (value >> (8 * i)) as u8;
                }
            }
            if first + size as usize != 4 || offset & 0xC != 0 {
                return None;
            }
            let v = u32::from_le_bytes(self.latch);
            return self.write(offset & !3, v, now);
        }
        self.write(offset, value, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> LocalApic {
        let mut a = LocalApic::new(0, 5);
        a.write(0xF0, 0x1FF, 0);
        a
    }

    #[test]
    fn timer_counts_bus_clocks_through_the_divider() {
        // Divide configuration 0011b = divide by 16 (SDM Table/Figure 10-10): one count
        // per 16 × 10 ns = 160 ns. 1000 counts last 160 µs; after 80 µs 500 remain.
        let mut a = enabled();
        a.write(0x3E0, 0x3, 0);
        assert_eq!(a.divide_by(), 16);
        a.write(0x320, 0x40, 0); // one-shot, vector 40h
        a.write(0x380, 1000, 0);
        assert_eq!(a.read(0x390, 80_000), 500);
        assert_eq!(a.next_event(), Some(160_000));
        a.tick(159_999);
        assert_eq!(a.deliverable(), None);
        a.tick(160_000);
        assert_eq!(a.deliverable(), Some(0x40));
        assert_eq!(a.read(0x390, 200_000), 0, "one-shot stays at zero");
        assert_eq!(a.next_event(), None);
        // 1011b divides by 1 (10 ns per count); 1010b by 128 (1280 ns).
        a.write(0x3E0, 0xB, 0);
        assert_eq!(a.divide_by(), 1);
        a.write(0x3E0, 0xA, 0);
        assert_eq!(a.divide_by(), 128);
        // Periodic, divide by 2 (0000b): 100 counts = 2 µs per period. At 5 µs the
        // count is 100 - (250 mod 100) = 50, and the next expiry is at 6 µs.
        let mut p = enabled();
        p.write(0x3E0, 0, 0);
        p.write(0x320, 0x2_0041, 0);
        p.write(0x380, 100, 0);
        assert_eq!(p.next_event(), Some(2_000));
        p.tick(5_000);
        assert_eq!(p.read(0x390, 5_000), 50);
        assert_eq!(p.next_event(), Some(6_000));
        assert_eq!(p.ack(), 0x41);
        // Masked: counts, but requests nothing.
        p.write(0x320, 0x3_0041, 6_000);
        p.tick(6_000);
        assert_eq!(p.deliverable(), None);
    }

    #[test]
    fn priority_classes_and_eoi_order() {
        let mut a = enabled();
        a.accept(0x31, false);
        a.accept(0x52, true);
        a.accept(0x53, false);
        // The highest vector first; 53h blocks 52h (same class 5) until its EOI.
        assert_eq!(a.ack(), 0x53);
        assert_eq!(a.ppr(), 0x50);
        assert_eq!(a.deliverable(), None, "52h is class 5, not above PPR 50h");
        // An edge-triggered EOI broadcasts nothing.
        assert_eq!(a.write(0xB0, 0, 0), None);
        assert_eq!(a.ack(), 0x52);
        // TPR 40h still lets 31h wait (class 3 <= 4) after 52h ends.
        a.write(0x80, 0x40, 0);
        assert_eq!(a.write(0xB0, 0, 0), Some(0x52), "level: EOI broadcast");
        assert_eq!(a.deliverable(), None);
        assert_eq!(a.read(0xA0, 0), 0x40);
        a.write(0x80, 0x20, 0);
        assert_eq!(a.deliverable(), Some(0x31));
        // An acknowledge with nothing deliverable gives the spurious vector (SVR FFh).
        a.write(0x80, 0xF0, 0);
        assert_eq!(a.ack(), 0xFF);
        // Illegal vectors set ESR bit 6, visible after an ESR write.
        a.accept(0x05, false);
        assert_eq!(a.read(0x280, 0), 0);
        a.write(0x280, 0, 0);
        assert_eq!(a.read(0x280, 0), 0x40);
    }

    #[test]
    fn self_ipi_lint0_and_split_writes() {
        let mut a = enabled();
        // ICR: fixed, vector 60h, shorthand self (01b at bits 19:18).
        a.write(0x300, 0x4_0060, 0);
        assert_eq!(a.deliverable(), Some(0x60));
        // All-excluding-self reaches nobody.
        a.write(0x300, 0xC_0070, 0);
        assert_eq!(highest(&a.irr), Some(0x60));
        // LINT0 is ExtINT at reset; masking it closes the 8259 path.
        assert!(a.extint_open());
        a.write(0x350, 0x1_0700, 0);
        assert!(!a.extint_open());
        // A 32-bit store split into bytes writes the register once, at byte 3.
        for (i, b) in 0x0000_0090u32.to_le_bytes().iter().enumerate() {
            a.mmio_write(0x80 + i as u32, 1, *b as u32, 0);
        }
        assert_eq!(a.read(0x80, 0), 0x90);
        assert_eq!(a.mmio_read(0x31, 1, 0), 0x00);
        assert_eq!(a.mmio_read(0x32, 1, 0), 0x05, "version byte 2: max LVT 5");
        // Software disable masks every LVT entry and holds requests undelivered.
        a.write(0xF0, 0xFF, 0);
        assert_eq!(a.read(0x320, 0) & MASKED, MASKED);
        assert_eq!(a.deliverable(), None);
        assert_eq!(
            a.read(0x200 + 0x30, 0),
            1,
            "60h still requested (IRR bit 0 of 60h-7Fh)"
        );
    }
}
