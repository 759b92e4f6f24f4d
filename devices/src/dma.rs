//! The PC/AT pair of Intel 8237A DMA controllers and their 74LS612 page registers.
//! DMA1 serves the 8-bit channels 0–3 at ports 0x00–0x0F; DMA2 serves the 16-bit channels
//! 4–7 at ports 0xC0–0xDE (its A0 is wired to the bus's A1, so registers sit two ports
//! apart), and its channel 4 cascades DMA1. The page registers give address bits 16–23
//! (0x87, 0x83, 0x81, 0x82 for channels 0–3; 0x8F, 0x8B, 0x89, 0x8A for 4–7). Follows the
//! 8237A datasheet: register map (Table 2), the byte pointer flip-flop, mode register
//! (transfer type, autoinitialize, address decrement, demand/single/block/cascade),
//! single/all mask registers, master clear, status register (TC bits 0–3 cleared by a
//! read, request bits 4–7), base versus current address and word count, and EOP: at
//! terminal count a channel either reloads from its base registers (autoinitialize) or
//! sets its own mask bit.
//!
//! A device does a whole burst at once: [`Dma::write_to_memory`] for a device→memory
//! ("write") transfer, [`Dma::read_from_memory`] for memory→device ("read"), against any
//! [`DmaMemory`]; the DMA knows nothing about the machine. Memory-to-memory transfers
//! (command bit 0) are not modelled. The cascade channel 4 is not a gate: DMA1 channels
//! transfer whatever channel 4's mask says, as every AT BIOS unmasks it at POST anyway.
//!
//! Log target: `dma`.

/// Guest physical memory as the DMA controller sees it (24-bit ISA addresses).
pub trait DmaMemory {
    fn read(&mut self, addr: u32) -> u8;
    fn write(&mut self, addr: u32, v: u8);
}

/// Page register ports by channel (PC/AT wiring; 0x80 is the POST port, not a page).
const PAGE_PORTS: [u16; 8] = [0x87, 0x83, 0x81, 0x82, 0x8F, 0x8B, 0x89, 0x8A];
/// The 74LS612 answers 0x80–0x8F; all but 0x80 are claimed here. The eight without a
/// channel are plain read/write latches that some software uses as scratch bytes.
const PAGE_FIRST: u16 = 0x81;
const PAGE_LAST: u16 = 0x8F;
const DMA1_BASE: u16 = 0x00;
const DMA2_BASE: u16 = 0xC0;
const REGS: u16 = 16;

// Register offsets within a controller (8237A Table 2).
const R_STATUS_COMMAND: u8 = 0x8;
const R_REQUEST: u8 = 0x9;
const R_SINGLE_MASK: u8 = 0xA;
const R_MODE: u8 = 0xB;
const R_CLEAR_FLIP_FLOP: u8 = 0xC;
const R_TEMP_MASTER_CLEAR: u8 = 0xD;
const R_CLEAR_MASK: u8 = 0xE;
const R_ALL_MASK: u8 = 0xF;

/// Command register bit 2: controller disable.
const CMD_DISABLE: u8 = 0x04;

// Mode register (8237A "Mode Register").
/// Transfer type, bits 3–2: 0 verify, 1 write, 2 read, 3 illegal (acts as verify here).
const MODE_TYPE_SHIFT: u8 = 2;
/// Device → memory.
const TYPE_WRITE: u8 = 1;
/// Memory → device.
const TYPE_READ: u8 = 2;
const MODE_AUTO_INIT: u8 = 0x10;
const MODE_DECREMENT: u8 = 0x20;
const MODE_SELECT_SHIFT: u8 = 6;
const SELECT_CASCADE: u8 = 3;

/// Bit 2 of the request and single-mask register writes: set (1) or clear (0).
const SET_BIT: u8 = 0x04;

/// The ports the machine should route to [`Dma`].
pub const PORTS: [u16; 47] = ports_table();

const fn ports_table() -> [u16; 47] {
    let mut t = [0u16; 47];
    let mut i = 0;
    while i < REGS as usize {
        t[i] = DMA1_BASE + i as u16;
        t[16 + i] = DMA2_BASE + 2 * i as u16;
        i += 1;
    }
    let mut p = PAGE_FIRST;
    while p <= PAGE_LAST {
        t[32 + (p - PAGE_FIRST) as usize] = p;
        p += 1;
    }
    t
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Channel {
    base_addr: u16,
    base_count: u16,
    cur_addr: u16,
    cur_count: u16,
    /// Mode register bits 7–2.
    mode: u8,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Controller {
    ch: [Channel; 4],
    command: u8,
    /// Terminal count reached, bits 0–3.
    tc: u8,
    /// Software DMA requests, bits 0–3.
    request: u8,
    /// Mask bits 0–3; set by reset.
    mask: u8,
    /// Byte pointer flip-flop: false = low byte next.
    high: bool,
    temp: u8,
}

impl Controller {
    fn new() -> Self {
        let mut c = Controller {
            ch: Default::default(),
            command: 0,
            tc: 0,
            request: 0,
            mask: 0,
            high: false,
            temp: 0,
        };
        c.master_clear();
        c
    }

    /// Master clear (and hardware reset): everything cleared, all channels masked.
    fn master_clear(&mut self) {
        self.command = 0;
        self.tc = 0;
        self.request = 0;
        self.mask = 0x0F;
        self.high = false;
        self.temp = 0;
    }

    /// Advances the flip-flop and says which byte this access takes.
    fn flip(&mut self) -> bool {
        let high = self.high;
        self.high = !high;
        high
    }

    fn read(&mut self, reg: u8) -> u8 {
        match reg {
            0..=7 => {
                let c = &self.ch[usize::from(reg >> 1)];
                let v = if reg & 1 == 0 {
                    c.cur_addr
                } else {
                    c.cur_count
                };
                let [lo, hi] = v.to_le_bytes();
                if self.flip() {
                    hi
                } else {
                    lo
                }
            }
            R_STATUS_COMMAND => {
                // Reading the status register clears the TC bits (datasheet "Status").
                let s = self.tc | self.request << 4;
                self.tc = 0;
                s
            }
            R_TEMP_MASTER_CLEAR => self.temp,
            // Not readable on the 8237A; later chipsets (82374) return the mask here.
            R_ALL_MASK => self.mask | 0xF0,
            _ => 0xFF,
        }
    }

    fn write(&mut self, reg: u8, v: u8) {
        match reg {
            0..=7 => {
                let high = self.flip();
                let c = &mut self.ch[usize::from(reg >> 1)];
                // Writing the address or count loads both the base and current registers.
                let r = if reg & 1 == 0 {
                    &mut c.base_addr
                } else {
                    &mut c.base_count
                };
                *r = if high {
                    *r & 0x00FF | u16::from(v) << 8
                } else {
                    *r & 0xFF00 | u16::from(v)
                };
                let r = *r;
                if reg & 1 == 0 {
                    c.cur_addr = r;
                } else {
                    c.cur_count = r;
                }
            }
            R_STATUS_COMMAND => self.command = v,
            R_REQUEST => set_bit(&mut self.request, v),
            R_SINGLE_MASK => set_bit(&mut self.mask, v),
            R_MODE => self.ch[usize::from(v & 3)].mode = v & 0xFC,
            R_CLEAR_FLIP_FLOP => self.high = false,
            R_TEMP_MASTER_CLEAR => self.master_clear(),
            R_CLEAR_MASK => self.mask = 0,
            R_ALL_MASK => self.mask = v & 0x0F,
            _ => {}
        }
    }
}

/// Sets or clears bit `v & 3` of `bits` as bit 2 of `v` says.
fn set_bit(bits: &mut u8, v: u8) {
    let b = 1 << (v & 3);
    if v & SET_BIT != 0 {
        *bits |= b;
    } else {
        *bits &= !b;
    }
}

/// Both 8237A controllers and the page registers.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Dma {
    ctl: [Controller; 2],
    /// The 74LS612 latches for ports 0x80–0x8F (index 0, the POST port, is unused).
    pages: [u8; 16],
}

impl Default for Dma {
    fn default() -> Self {
        Self::new()
    }
}

impl Dma {
    /// Hardware reset state: every channel masked, all registers zero.
    pub fn new() -> Dma {
        Dma {
            ctl: [Controller::new(), Controller::new()],
            pages: [0; 16],
        }
    }

    /// Every port this device answers, for the machine's port table.
    pub fn ports() -> &'static [u16] {
        &PORTS
    }

    /// The controller and register a port selects, if it is a controller port.
    fn decode(port: u16) -> Option<(usize, u8)> {
        match port {
            DMA1_BASE..0x10 => Some((0, (port - DMA1_BASE) as u8)),
            DMA2_BASE..0xE0 if port & 1 == 0 => Some((1, ((port - DMA2_BASE) >> 1) as u8)),
            _ => None,
        }
    }

    pub fn read(&mut self, port: u16) -> u8 {
        let v = match (Self::decode(port), port) {
            (Some((c, reg)), _) => self.ctl[c].read(reg),
            (None, PAGE_FIRST..=PAGE_LAST) => self.pages[usize::from(port & 0xF)],
            _ => 0xFF,
        };
        log::trace!(target: "dma", "read {port:#06x} -> {v:#04x}");
        v
    }

    pub fn write(&mut self, port: u16, v: u8) {
        log::trace!(target: "dma", "write {port:#06x} <- {v:#04x}");
        match (Self::decode(port), port) {
            (Some((c, reg)), _) => {
                self.ctl[c].write(reg, v);
                self.log_write(c, reg, v);
            }
            (None, PAGE_FIRST..=PAGE_LAST) => {
                self.pages[usize::from(port & 0xF)] = v;
                if let Some(ch) = PAGE_PORTS.iter().position(|&p| p == port) {
                    log::debug!(target: "dma", "channel {ch}: page {v:#04x}");
                }
            }
            _ => {}
        }
    }

    /// Describes a controller register write (already applied) at debug level.
    fn log_write(&self, c: usize, reg: u8, v: u8) {
        let ctl = &self.ctl[c];
        let name = ["dma1", "dma2"][c];
        let sel = c * 4 + usize::from(v & 3);
        match reg {
            // Logged once both bytes are in: the flip-flop is back at the low byte.
            0..=7 if !ctl.high => {
                let ch = c * 4 + usize::from(reg >> 1);
                let chan = &ctl.ch[usize::from(reg >> 1)];
                if reg & 1 == 0 {
                    log::debug!(target: "dma", "channel {ch}: address {:#06x}", chan.base_addr);
                } else {
                    log::debug!(
                        target: "dma",
                        "channel {ch}: count {:#06x} ({} transfers)",
                        chan.base_count,
                        u32::from(chan.base_count) + 1
                    );
                }
            }
            R_STATUS_COMMAND => log::debug!(target: "dma", "{name}: command {v:#04x}"),
            R_REQUEST => log::debug!(
                target: "dma",
                "channel {sel}: software request {}",
                if v & SET_BIT != 0 { "set" } else { "cleared" }
            ),
            R_SINGLE_MASK => log::debug!(
                target: "dma",
                "channel {sel}: {}",
                if v & SET_BIT != 0 { "masked" } else { "unmasked" }
            ),
            R_MODE => log::debug!(
                target: "dma",
                "channel {sel}: mode {v:#04x} ({}, {}{}{})",
                ["demand", "single", "block", "cascade"][usize::from(v >> MODE_SELECT_SHIFT)],
                ["verify", "write", "read", "illegal"][usize::from(v >> MODE_TYPE_SHIFT & 3)],
                if v & MODE_AUTO_INIT != 0 { ", autoinit" } else { "" },
                if v & MODE_DECREMENT != 0 { ", decrement" } else { "" }
            ),
            R_TEMP_MASTER_CLEAR => log::debug!(target: "dma", "{name}: master clear"),
            R_CLEAR_MASK => log::debug!(target: "dma", "{name}: all channels unmasked"),
            R_ALL_MASK => log::debug!(target: "dma", "{name}: mask {:#03x}", v & 0x0F),
            _ => {}
        }
    }

    /// Logs a transfer request the channel refused.
    fn log_refused(&self, ch: usize) {
        log::debug!(
            target: "dma",
            "channel {ch}: transfer refused ({})",
            if ch >= 8 {
                "no such channel"
            } else if self.masked(ch) {
                "masked"
            } else if self.ctl[ch / 4].command & CMD_DISABLE != 0 {
                "controller disabled"
            } else {
                "cascade mode"
            }
        );
    }

    /// Whether channel `ch`'s mask bit is set (channels past 7 count as masked).
    pub fn masked(&self, ch: usize) -> bool {
        ch >= 8 || self.ctl[ch / 4].mask & (1 << (ch % 4)) != 0
    }

    fn channel(&self, ch: usize) -> &Channel {
        &self.ctl[ch / 4].ch[ch % 4]
    }

    /// Whether `ch` would answer a DREQ now: unmasked, its controller enabled, and not
    /// a cascade channel.
    fn ready(&self, ch: usize) -> bool {
        !self.masked(ch)
            && self.ctl[ch / 4].command & CMD_DISABLE == 0
            && self.channel(ch).mode >> MODE_SELECT_SHIFT != SELECT_CASCADE
    }

    fn transfer_type(&self, ch: usize) -> u8 {
        self.channel(ch).mode >> MODE_TYPE_SHIFT & 3
    }

    /// One DMA cycle on a ready channel: returns the physical address of this transfer
    /// and whether it was the last (terminal count), then steps the current address and
    /// count. The page register does not take the carry, so an 8-bit channel wraps
    /// within its 64K page and a 16-bit channel within its 128K one.
    fn cycle(&mut self, ch: usize) -> (u32, bool) {
        let page = u32::from(self.pages[usize::from(PAGE_PORTS[ch] & 0xF)]);
        let ctl = &mut self.ctl[ch / 4];
        let c = &mut ctl.ch[ch % 4];
        let addr = if ch < 4 {
            page << 16 | u32::from(c.cur_addr)
        } else {
            // 16-bit channels: A1–A16 from the address register, A17–A23 from page 7–1.
            (page & 0xFE) << 16 | u32::from(c.cur_addr) << 1
        };
        c.cur_addr = if c.mode & MODE_DECREMENT != 0 {
            c.cur_addr.wrapping_sub(1)
        } else {
            c.cur_addr.wrapping_add(1)
        };
        // The count is one less than the number of transfers; TC is its 0 → FFFFh step.
        let tc = c.cur_count == 0;
        c.cur_count = c.cur_count.wrapping_sub(1);
        if tc {
            ctl.tc |= 1 << (ch % 4);
            ctl.request &= !(1 << (ch % 4));
            if c.mode & MODE_AUTO_INIT != 0 {
                c.cur_addr = c.base_addr;
                c.cur_count = c.base_count;
            } else {
                ctl.mask |= 1 << (ch % 4);
            }
        }
        (addr, tc)
    }

    /// A device→memory ("write") transfer on `ch`: moves as much of `data` as the channel
    /// takes before terminal count, returning the bytes consumed and whether TC was
    /// reached (the device's cue to stop). A masked or disabled channel takes nothing. A
    /// channel programmed for verify, or for the other direction, counts and steps its
    /// address as the hardware does but writes no memory. On 16-bit channels each cycle
    /// takes two bytes (an odd final byte takes a whole cycle).
    pub fn write_to_memory(
        &mut self,
        ch: usize,
        data: &[u8],
        mem: &mut impl DmaMemory,
    ) -> (usize, bool) {
        if ch >= 8 || !self.ready(ch) {
            self.log_refused(ch);
            return (0, false);
        }
        let store = self.transfer_type(ch) == TYPE_WRITE;
        let unit = if ch < 4 { 1 } else { 2 };
        let mut moved = 0;
        let mut reached = false;
        while moved < data.len() && !reached {
            let (addr, tc) = self.cycle(ch);
            reached = tc;
            for (i, &b) in data[moved..].iter().take(unit).enumerate() {
                if store {
                    mem.write(addr.wrapping_add(i as u32), b);
                }
            }
            moved = (moved + unit).min(data.len());
        }
        log::trace!(
            target: "dma",
            "channel {ch}: {moved} of {} bytes device to memory, tc {reached}",
            data.len()
        );
        (moved, reached)
    }

    /// A memory→device ("read") transfer on `ch` of up to `len` bytes, stopping at
    /// terminal count; returns the bytes and whether TC was reached. A channel
    /// programmed for verify or the other direction reads no memory and the device sees
    /// a floating bus (0xFF).
    pub fn read_from_memory(
        &mut self,
        ch: usize,
        len: usize,
        mem: &mut impl DmaMemory,
    ) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        if ch >= 8 || !self.ready(ch) {
            self.log_refused(ch);
            return (out, false);
        }
        let load = self.transfer_type(ch) == TYPE_READ;
        let unit = if ch < 4 { 1 } else { 2 };
        let mut reached = false;
        while out.len() < len && !reached {
            let (addr, tc) = self.cycle(ch);
            reached = tc;
            for i in 0..unit.min(len - out.len()) {
                out.push(if load {
                    mem.read(addr.wrapping_add(i as u32))
                } else {
                    0xFF
                });
            }
        }
        log::trace!(
            target: "dma",
            "channel {ch}: {} of {len} bytes memory to device, tc {reached}",
            out.len()
        );
        (out, reached)
    }
}

/// The 8237 pair on the machine's buses (channel registers, page registers, the
/// slave's and master's control ports as [`Dma::ports`] lists them).
impl crate::device::Device for Dma {
    crate::plain_state!();

    fn name(&self) -> &'static str {
        "dma"
    }
    fn ports(&self) -> Vec<(u16, u16)> {
        Dma::ports().iter().map(|&p| (p, 1)).collect()
    }
    fn io_read(&mut self, port: u16, _size: u8, _ctx: &mut crate::device::Ctx) -> u32 {
        self.read(port) as u32
    }
    fn io_write(&mut self, port: u16, _size: u8, value: u32, _ctx: &mut crate::device::Ctx) {
        self.write(port, value as u8);
    }
    fn reset(&mut self) {
        *self = Dma::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 16 MB of ISA address space, sparse.
    #[derive(Default, serde::Serialize, serde::Deserialize)]
    struct Mem(std::collections::HashMap<u32, u8>);

    impl DmaMemory for Mem {
        fn read(&mut self, addr: u32) -> u8 {
            self.0.get(&addr).copied().unwrap_or(0)
        }
        fn write(&mut self, addr: u32, v: u8) {
            self.0.insert(addr, v);
        }
    }

    /// Programs channel 2 of DMA1 the way a PC BIOS does for the floppy.
    fn program_ch2(d: &mut Dma, mode: u8, page: u8, addr: u16, count: u16) {
        d.write(0x0A, 0x04 | 2); // mask channel 2
        d.write(0x0C, 0); // clear the flip-flop
        d.write(0x0B, mode | 2);
        d.write(0x04, addr as u8);
        d.write(0x04, (addr >> 8) as u8);
        d.write(0x81, page);
        d.write(0x05, count as u8);
        d.write(0x05, (count >> 8) as u8);
        d.write(0x0A, 2); // unmask
    }

    const SINGLE_WRITE: u8 = 0x44;
    const SINGLE_READ: u8 = 0x48;
    const SINGLE_VERIFY: u8 = 0x40;

    #[test]
    fn ports_list() {
        let p = Dma::ports();
        assert!(p.contains(&0x00) && p.contains(&0x0F) && p.contains(&0xDE));
        assert!(p.contains(&0x81) && p.contains(&0x8F));
        assert!(!p.contains(&0x80), "0x80 is the POST port");
        assert!(!p.contains(&0xC1));
        let mut s = p.to_vec();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), p.len());
    }

    #[test]
    fn flip_flop_programming_and_readback() {
        let mut d = Dma::new();
        d.write(0x0C, 0);
        d.write(0x04, 0x34);
        d.write(0x04, 0x12);
        d.write(0x05, 0xFF);
        d.write(0x05, 0x01);
        d.write(0x0C, 0);
        assert_eq!((d.read(0x04), d.read(0x04)), (0x34, 0x12));
        assert_eq!((d.read(0x05), d.read(0x05)), (0xFF, 0x01));
        // The flip-flop is shared by all registers of a controller: an odd number of
        // accesses leaves it at the high byte.
        d.write(0x0C, 0);
        d.read(0x04);
        assert_eq!(d.read(0x05), 0x01);
    }

    #[test]
    fn page_registers() {
        let mut d = Dma::new();
        for (i, &p) in PAGE_PORTS.iter().enumerate() {
            d.write(p, 0x10 + i as u8);
        }
        for (i, &p) in PAGE_PORTS.iter().enumerate() {
            assert_eq!(d.read(p), 0x10 + i as u8);
        }
        d.write(0x84, 0x5A); // a spare latch
        assert_eq!(d.read(0x84), 0x5A);
    }

    #[test]
    fn transfer_to_memory_uses_page_and_reaches_tc() {
        let mut d = Dma::new();
        let mut m = Mem::default();
        program_ch2(&mut d, SINGLE_WRITE, 0x05, 0x1234, 3);
        assert!(!d.masked(2));
        assert_eq!(d.write_to_memory(2, &[1, 2, 3, 4, 5, 6], &mut m), (4, true));
        assert_eq!(m.read(0x51234), 1);
        assert_eq!(m.read(0x51237), 4);
        assert_eq!(m.read(0x51238), 0);
        // TC in status bit 2, cleared by the read; no autoinit, so the channel masked itself.
        assert_eq!(d.read(0x08) & 0x0F, 0x04);
        assert_eq!(d.read(0x08) & 0x0F, 0);
        assert!(d.masked(2));
        assert_eq!(d.write_to_memory(2, &[9], &mut m), (0, false));
        // Current address advanced by 4, current count wrapped to FFFFh.
        d.write(0x0C, 0);
        assert_eq!((d.read(0x04), d.read(0x04)), (0x38, 0x12));
        assert_eq!((d.read(0x05), d.read(0x05)), (0xFF, 0xFF));
    }

    #[test]
    fn partial_transfer_then_continue() {
        let mut d = Dma::new();
        let mut m = Mem::default();
        program_ch2(&mut d, SINGLE_WRITE, 0, 0x1000, 9);
        assert_eq!(d.write_to_memory(2, &[7; 6], &mut m), (6, false));
        assert_eq!(d.read(0x08) & 0x04, 0);
        assert_eq!(d.write_to_memory(2, &[8; 6], &mut m), (4, true));
        assert_eq!(m.read(0x1005), 7);
        assert_eq!(m.read(0x1009), 8);
    }

    #[test]
    fn auto_init_reloads_base() {
        let mut d = Dma::new();
        let mut m = Mem::default();
        program_ch2(&mut d, SINGLE_WRITE | MODE_AUTO_INIT, 0, 0x2000, 1);
        assert_eq!(d.write_to_memory(2, &[1, 2, 3], &mut m), (2, true));
        assert!(!d.masked(2), "autoinit leaves the channel unmasked");
        d.write(0x0C, 0);
        assert_eq!((d.read(0x04), d.read(0x04)), (0x00, 0x20));
        assert_eq!((d.read(0x05), d.read(0x05)), (0x01, 0x00));
        assert_eq!(d.write_to_memory(2, &[3, 4], &mut m), (2, true));
        assert_eq!((m.read(0x2000), m.read(0x2001)), (3, 4));
    }

    #[test]
    fn decrement_and_64k_wrap() {
        let mut d = Dma::new();
        let mut m = Mem::default();
        program_ch2(&mut d, SINGLE_WRITE, 0x01, 0xFFFF, 1);
        d.write_to_memory(2, &[0xAA, 0xBB], &mut m);
        // The page register does not take the carry: 1FFFFh then 10000h.
        assert_eq!((m.read(0x1FFFF), m.read(0x10000)), (0xAA, 0xBB));
        assert_eq!(m.read(0x20000), 0);
        program_ch2(&mut d, SINGLE_WRITE | MODE_DECREMENT, 0x02, 0x0001, 2);
        d.write_to_memory(2, &[1, 2, 3], &mut m);
        assert_eq!(
            (m.read(0x20001), m.read(0x20000), m.read(0x2FFFF)),
            (1, 2, 3)
        );
    }

    #[test]
    fn read_from_memory_and_verify() {
        let mut d = Dma::new();
        let mut m = Mem::default();
        for i in 0..4 {
            m.write(0x3000 + i, 0x10 + i as u8);
        }
        program_ch2(&mut d, SINGLE_READ, 0, 0x3000, 3);
        assert_eq!(
            d.read_from_memory(2, 10, &mut m),
            (vec![0x10, 0x11, 0x12, 0x13], true)
        );
        // Verify: cycles and TC happen, memory is untouched.
        program_ch2(&mut d, SINGLE_VERIFY, 0, 0x3000, 1);
        assert_eq!(d.write_to_memory(2, &[0xEE; 2], &mut m), (2, true));
        assert_eq!(m.read(0x3000), 0x10);
        // A channel set for device→memory gives a memory→device request a floating bus.
        program_ch2(&mut d, SINGLE_WRITE, 0, 0x3000, 0);
        assert_eq!(d.read_from_memory(2, 1, &mut m), (vec![0xFF], true));
    }

    #[test]
    fn masks_and_master_clear() {
        let mut d = Dma::new();
        assert!((0..8).all(|c| d.masked(c)), "reset masks every channel");
        d.write(0x0E, 0); // clear mask register
        assert!((0..4).all(|c| !d.masked(c)));
        assert!(d.masked(4));
        d.write(0x0F, 0b1010);
        assert_eq!(
            (0..4).map(|c| d.masked(c)).collect::<Vec<_>>(),
            [false, true, false, true]
        );
        d.write(0x0A, 0x04);
        assert!(d.masked(0));
        d.write(0x0A, 0x01);
        assert!(!d.masked(1));
        d.write(0x0C, 0);
        d.write(0x00, 0x11); // flip-flop now at high byte
        d.write(0x09, 0x04 | 3); // software request on channel 3
        assert_eq!(d.read(0x08), 0x80);
        d.write(0x0D, 0); // master clear
        assert!((0..4).all(|c| d.masked(c)));
        assert_eq!(d.read(0x08), 0);
        d.write(0x00, 0x22);
        d.write(0x0C, 0);
        assert_eq!(d.read(0x00), 0x22, "master clear reset the flip-flop");
    }

    #[test]
    fn controller_disable_blocks_transfers() {
        let mut d = Dma::new();
        let mut m = Mem::default();
        program_ch2(&mut d, SINGLE_WRITE, 0, 0, 0);
        d.write(0x08, CMD_DISABLE);
        assert_eq!(d.write_to_memory(2, &[1], &mut m), (0, false));
        d.write(0x08, 0);
        assert_eq!(d.write_to_memory(2, &[1], &mut m), (1, true));
    }

    #[test]
    fn sixteen_bit_channel_word_addressing() {
        let mut d = Dma::new();
        let mut m = Mem::default();
        // Channel 5: address 0xC4, count 0xC6, mode 0xD6, mask 0xD4, flip-flop 0xD8.
        d.write(0xD8, 0);
        d.write(0xD6, SINGLE_WRITE | 1);
        d.write(0xC4, 0x00);
        d.write(0xC4, 0x80);
        d.write(0xC6, 1); // two words
        d.write(0xC6, 0);
        d.write(0x8B, 0x03); // bit 0 of the page is ignored on 16-bit channels
        d.write(0xD4, 1);
        assert!(!d.masked(5));
        assert_eq!(d.write_to_memory(5, &[1, 2, 3, 4, 5], &mut m), (4, true));
        // (page & FEh) << 16 | address << 1 = 20000h + 10000h.
        assert_eq!(
            (0..4).map(|i| m.read(0x30000 + i)).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(d.read(0xD0) & 0x0F, 0x02, "TC for channel 5 in DMA2 bit 1");
        // DMA1's status is separate.
        assert_eq!(d.read(0x08), 0);
    }

    #[test]
    fn cascade_channel_does_not_transfer() {
        let mut d = Dma::new();
        let mut m = Mem::default();
        d.write(0xD6, 0xC0); // channel 4 cascade
        d.write(0xD4, 0);
        assert!(!d.masked(4));
        assert_eq!(d.write_to_memory(4, &[1, 2], &mut m), (0, false));
        assert_eq!(d.write_to_memory(9, &[1], &mut m), (0, false));
    }
}
