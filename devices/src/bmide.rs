//! The PIIX3's IDE bus master (BMIDE): the DMA engine that moves an IDE drive's data
//! to and from guest memory through physical region descriptor (PRD) tables. Follows
//! the 82371FB/SB datasheet §2.7 (bus master IDE I/O registers at BMIBA: command at +0,
//! status at +2, descriptor table pointer at +4; the secondary channel's at +8) and
//! §2.8 / the "Programming Interface for Bus Master IDE Controller" (SFF-8038i rev 1.0):
//!
//! - a PRD is two dwords: a physical address (bit 0 zero) and a byte count in bits
//!   15:1 (0 means 64 KB) with end-of-table (EOT) in bit 31;
//! - command bit 0 starts (1) or stops (0) the engine; bit 3 is the direction (1: the
//!   bus master writes memory, i.e. a drive read);
//! - status bit 0 (active) clears when the table's last PRD is used up; bit 1 (error)
//!   and bit 2 (interrupt: the drive's INTRQ rose) are cleared by writing one; bits 5
//!   and 6 (drive 0/1 DMA capable) are storage for the BIOS; bit 7 (simplex) is zero:
//!   both channels may run at once.
//!
//! The outcome table of SFF-8038i: interrupt set with active clear is a normal end
//! (the PRDs exactly covered the transfer); interrupt with active still set means the
//! PRDs were larger than the transfer; a PRD table that runs out before the drive's
//! data is an error here: the engine sets the error bit and the drive aborts the
//! command, so the guest sees one clear failure instead of a hang.
//!
//! A transfer runs at once, when both the drive has a DMA command pending (see
//! [`IdeChannel::dma_pending`]) and the engine is started, whichever comes second; the
//! bus master enable of the PCI command register gates it (the machine checks that).
//! Guest memory is reached through [`GuestMemory`], which the machine implements on its
//! RAM: the devices know nothing about the CPU.

use crate::ide::{DmaChannel, IdeChannel};
use crate::Irq;

const CMD_START: u8 = 0x01;
const CMD_TO_MEMORY: u8 = 0x08;
const ST_ACTIVE: u8 = 0x01;
const ST_ERROR: u8 = 0x02;
const ST_INTERRUPT: u8 = 0x04;
const ST_DMA_CAPABLE: u8 = 0x60;

/// Physical memory as a bus master reaches it.
pub trait GuestMemory {
    fn read(&mut self, addr: u32, buf: &mut [u8]);
    fn write(&mut self, addr: u32, data: &[u8]);
}

/// One channel's bus master registers.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Channel {
    command: u8,
    status: u8,
    prd: u32,
}

/// The two channels' bus master engines (16 bytes of I/O at BMIBA).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Bmide {
    ch: [Channel; 2],
}

impl Bmide {
    pub fn new() -> Self {
        Self::default()
    }

    fn read8(&self, off: u16) -> u8 {
        let c = &self.ch[(off >> 3) as usize & 1];
        match off & 7 {
            0 => c.command,
            2 => c.status,
            n @ 4..=7 => (c.prd >> (8 * (n - 4))) as u8,
            _ => 0,
        }
    }

    /// Reads `size` bytes at offset `off` (0–15) of the block.
    pub fn read(&self, off: u16, size: u8) -> u32 {
        (0..size.min(4) as u16).fold(0, |v, i| {
            v | (self.read8(off.wrapping_add(i) & 15) as u32) << (8 * i)
        })
    }

    /// Writes `size` bytes at offset `off`; returns the channels whose engine was
    /// started by this write (bit 0 of the command register went from 0 to 1).
    pub fn write(&mut self, off: u16, size: u8, value: u32) -> [bool; 2] {
        let mut started = [false; 2];
        for i in 0..size.min(4) as u16 {
            let o = off.wrapping_add(i) & 15;
            let b = (value >> (8 * i)) as u8;
            let n = (o >> 3) as usize;
            let c = &mut self.ch[n];
            match o & 7 {
                0 => {
                    let was = c.command & CMD_START != 0;
                    c.command = b & (CMD_START | CMD_TO_MEMORY);
                    if b & CMD_START != 0 && !was {
                        c.status |= ST_ACTIVE;
                        started[n] = true;
                    } else if b & CMD_START == 0 {
                        // Stopping the engine aborts whatever is left (SFF-8038i).
                        c.status &= !ST_ACTIVE;
                    }
                }
                2 => {
                    c.status = (c.status & !ST_DMA_CAPABLE & !(b & (ST_ERROR | ST_INTERRUPT)))
                        | (b & ST_DMA_CAPABLE);
                }
                k @ 4..=7 => {
                    let shift = 8 * (k - 4) as u32;
                    c.prd = (c.prd & !(0xFF << shift)) | (b as u32) << shift;
                    c.prd &= !3;
                }
                _ => {}
            }
        }
        started
    }

    /// The drive on channel `n` raised its interrupt line.
    pub fn interrupt(&mut self, n: usize) {
        if let Some(c) = self.ch.get_mut(n) {
            c.status |= ST_INTERRUPT;
        }
    }

    /// Whether channel `n`'s engine is started and active.
    pub fn active(&self, n: usize) -> bool {
        self.ch
            .get(n)
            .is_some_and(|c| c.command & CMD_START != 0 && c.status & ST_ACTIVE != 0)
    }

    /// Sets or clears the "drive DMA capable" bits (status 5/6), as a BIOS does.
    pub fn set_dma_capable(&mut self, n: usize, drive: usize, on: bool) {
        if let Some(c) = self.ch.get_mut(n) {
            let bit = 0x20 << (drive & 1);
            if on {
                c.status |= bit;
            } else {
                c.status &= !bit;
            }
        }
    }

    /// Runs channel `n`'s transfer if the engine is active and the drive waits for it;
    /// `irq` is where the drive's interrupt goes (the engine notes its rising edge).
    pub fn run(
        &mut self,
        n: usize,
        ide: &mut IdeChannel,
        mem: &mut dyn GuestMemory,
        irq: &mut impl Irq,
    ) {
        if !self.active(n) || !ide.dma_pending() {
            return;
        }
        let c = self.ch[n];
        let mut walker = PrdWalker {
            mem,
            next: c.prd,
            addr: 0,
            left: 0,
            eot: false,
            entries: 0,
        };
        let mut edges = IrqEdges::new(irq);
        let complete = ide.run_dma(&mut walker, &mut edges);
        let exhausted = walker.left == 0 && walker.eot;
        let c = &mut self.ch[n];
        if !complete {
            c.status |= ST_ERROR;
        }
        if exhausted || !complete {
            c.status &= !ST_ACTIVE;
        }
        if edges.rose != 0 {
            c.status |= ST_INTERRUPT;
        }
        log::debug!(
            target: "bmide",
            "channel {n}: transfer {} (prd table {:#x}, status {:#04x})",
            if complete { "done" } else { "failed: the PRD table ran out" },
            c.prd,
            c.status
        );
    }
}

/// Walks a PRD table in guest memory, as the data flows.
struct PrdWalker<'a> {
    mem: &'a mut dyn GuestMemory,
    /// Address of the next PRD.
    next: u32,
    /// The current region: where the next byte goes, and how many bytes remain in it.
    addr: u32,
    left: u32,
    /// The current region is the table's last.
    eot: bool,
    entries: u32,
}

/// A PRD table longer than this is cut off (a 64K-entry table covers 4 GB; a loop of
/// PRDs pointing nowhere must not spin forever).
const MAX_PRDS: u32 = 65536;

impl PrdWalker<'_> {
    /// Makes sure a region with bytes left is loaded; false when the table is used up.
    fn region(&mut self) -> bool {
        while self.left == 0 {
            if self.eot || self.entries >= MAX_PRDS {
                return false;
            }
            let mut prd = [0u8; 8];
            self.mem.read(self.next, &mut prd);
            let base = u32::from_le_bytes([prd[0], prd[1], prd[2], prd[3]]);
            let count = u32::from_le_bytes([prd[4], prd[5], prd[6], prd[7]]);
            self.addr = base & !1;
            self.left = match count & 0xFFFE {
                0 => 0x1_0000,
                n => n,
            };
            self.eot = count & 0x8000_0000 != 0;
            self.next = self.next.wrapping_add(8);
            self.entries += 1;
        }
        true
    }
}

impl DmaChannel for PrdWalker<'_> {
    fn write_memory(&mut self, mut data: &[u8]) -> usize {
        let total = data.len();
        while !data.is_empty() && self.region() {
            let n = (self.left as usize).min(data.len());
            self.mem.write(self.addr, &data[..n]);
            self.addr = self.addr.wrapping_add(n as u32);
            self.left -= n as u32;
            data = &data[n..];
        }
        total - data.len()
    }

    fn read_memory(&mut self, buf: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buf.len() && self.region() {
            let n = (self.left as usize).min(buf.len() - done);
            self.mem.read(self.addr, &mut buf[done..done + n]);
            self.addr = self.addr.wrapping_add(n as u32);
            self.left -= n as u32;
            done += n;
        }
        done
    }
}

/// An [`Irq`] sink that passes levels on and remembers which lines rose (a bitmap):
/// the bus master's interrupt bit follows the rising edge of its drive's INTRQ.
pub struct IrqEdges<'a, I: Irq> {
    inner: &'a mut I,
    pub rose: u16,
}

impl<'a, I: Irq> IrqEdges<'a, I> {
    pub fn new(inner: &'a mut I) -> Self {
        IrqEdges { inner, rose: 0 }
    }
}

impl<I: Irq> Irq for IrqEdges<'_, I> {
    fn set_irq(&mut self, irq: u8, level: bool) {
        if level {
            self.rose |= 1 << (irq & 15);
        }
        self.inner.set_irq(irq, level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::MemDisk;
    use crate::IrqLog;

    struct Ram(Vec<u8>);
    impl GuestMemory for Ram {
        fn read(&mut self, addr: u32, buf: &mut [u8]) {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = *self.0.get(addr as usize + i).unwrap_or(&0xFF);
            }
        }
        fn write(&mut self, addr: u32, data: &[u8]) {
            for (i, &b) in data.iter().enumerate() {
                if let Some(x) = self.0.get_mut(addr as usize + i) {
                    *x = b;
                }
            }
        }
    }

    fn disk() -> IdeChannel {
        let img: Vec<u8> = (0..512 * 64).map(|i| (i / 512) as u8 ^ (i as u8)).collect();
        let mut c = IdeChannel::new(14);
        c.attach(0, Box::new(MemDisk::new(img)));
        c
    }

    /// Issues an LBA28 DMA command for `count` sectors at `lba`.
    fn command(c: &mut IdeChannel, irq: &mut IrqLog, cmd: u8, lba: u32, count: u8) {
        for (r, v) in [
            (6, 0xE0 | (lba >> 24) as u8 & 0xF),
            (2, count),
            (3, lba as u8),
        ] {
            c.write(r, v, irq);
        }
        c.write(4, (lba >> 8) as u8, irq);
        c.write(5, (lba >> 16) as u8, irq);
        c.write(7, cmd, irq);
    }

    fn prd(ram: &mut Ram, at: u32, entries: &[(u32, u32, bool)]) {
        for (i, &(addr, len, eot)) in entries.iter().enumerate() {
            let o = at as usize + 8 * i;
            ram.0[o..o + 4].copy_from_slice(&addr.to_le_bytes());
            let count = (len & 0xFFFF) | if eot { 0x8000_0000 } else { 0 };
            ram.0[o + 4..o + 8].copy_from_slice(&count.to_le_bytes());
        }
    }

    #[test]
    fn read_dma_scatters_into_prd_regions_and_interrupts() {
        let (mut c, mut irq, mut bm) = (disk(), IrqLog::default(), Bmide::new());
        let mut ram = Ram(vec![0; 0x20000]);
        // Three sectors (1536 bytes) into 1000 bytes at 4000h and 536 at 9000h.
        prd(
            &mut ram,
            0x100,
            &[(0x4000, 1000, false), (0x9000, 536, true)],
        );
        bm.write(4, 4, 0x100);
        bm.write(0, 1, CMD_TO_MEMORY as u32);
        command(&mut c, &mut irq, 0xC8, 5, 3);
        assert!(c.dma_pending());
        assert_eq!(irq.rises(14), 0, "no interrupt before the data moved");
        bm.write(0, 1, (CMD_TO_MEMORY | CMD_START) as u32);
        bm.run(0, &mut c, &mut ram, &mut irq);
        let mut want = Vec::new();
        for s in 5..8u32 {
            want.extend((0..512u32).map(|i| (s as u8) ^ (i as u8)));
        }
        assert_eq!(&ram.0[0x4000..0x4000 + 1000], &want[..1000]);
        assert_eq!(&ram.0[0x9000..0x9000 + 536], &want[1000..]);
        assert_eq!(ram.0[0x9000 + 536], 0, "nothing past the region");
        // SFF-8038i: interrupt set, active clear = the PRDs covered the transfer exactly.
        assert_eq!(bm.read(2, 1), ST_INTERRUPT as u32);
        assert_eq!(irq.rises(14), 1);
        assert_eq!(
            c.read(7, &mut irq) & 0x89,
            0x00,
            "not busy, no DRQ, no error"
        );
        // Writing one clears the interrupt bit.
        bm.write(2, 1, ST_INTERRUPT as u32);
        assert_eq!(bm.read(2, 1), 0);
    }

    #[test]
    fn write_dma_gathers_and_a_larger_table_leaves_active_set() {
        let (mut c, mut irq, mut bm) = (disk(), IrqLog::default(), Bmide::new());
        let mut ram = Ram(vec![0; 0x20000]);
        for (i, b) in ram.0[0x5000..0x5400].iter_mut().enumerate() {
            *b = (i * 7) as u8;
        }
        prd(&mut ram, 0x200, &[(0x5000, 0x1000, true)]);
        bm.write(4, 4, 0x200);
        // Engine started first, command second (either order works).
        bm.write(0, 1, CMD_START as u32);
        command(&mut c, &mut irq, 0xCA, 9, 2);
        bm.run(0, &mut c, &mut ram, &mut irq);
        let mut back = vec![0u8; 1024];
        c.read_sectors(0, 9, &mut back).unwrap();
        assert_eq!(back, ram.0[0x5000..0x5400]);
        assert_eq!(bm.read(2, 1), (ST_INTERRUPT | ST_ACTIVE) as u32);
        bm.write(0, 1, 0);
        assert_eq!(bm.read(2, 1), ST_INTERRUPT as u32, "stopping clears active");
    }

    #[test]
    fn a_short_prd_table_is_an_error_not_a_hang() {
        let (mut c, mut irq, mut bm) = (disk(), IrqLog::default(), Bmide::new());
        let mut ram = Ram(vec![0; 0x20000]);
        prd(&mut ram, 0x300, &[(0x6000, 512, true)]);
        bm.write(4, 4, 0x300);
        command(&mut c, &mut irq, 0xC8, 0, 2);
        bm.write(0, 1, (CMD_START | CMD_TO_MEMORY) as u32);
        bm.run(0, &mut c, &mut ram, &mut irq);
        assert_eq!(bm.read(2, 1) & 7, (ST_ERROR | ST_INTERRUPT) as u32);
        assert_eq!(c.read(7, &mut irq) & 1, 1, "the drive reports the error");
        assert!(!c.dma_pending());
    }

    #[test]
    fn registers_read_back_as_documented() {
        let mut bm = Bmide::new();
        bm.write(8 + 4, 4, 0x1234_5677);
        assert_eq!(bm.read(8 + 4, 4), 0x1234_5674, "dword aligned");
        bm.write(8 + 2, 1, 0xFF);
        assert_eq!(
            bm.read(8 + 2, 1),
            0x60,
            "only the DMA-capable bits are storage"
        );
        bm.write(0, 1, 0xFF);
        assert_eq!(bm.read(0, 1), 0x09);
        assert_eq!(bm.read(0, 4) & 0xFF_00FF, 0x01_0009, "active while started");
    }
}
