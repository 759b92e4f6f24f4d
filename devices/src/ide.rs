//! One IDE/ATA channel (a master and an optional slave hard disk) as the PC wires it:
//! command block at base+0..7 (primary 0x1F0/IRQ 14, secondary 0x170/IRQ 15) and the
//! control block at 0x3F6/0x376. Follows ATA/ATAPI-6 (T13/1410D; ATA-4 for the older
//! commands): 7.x register descriptions (status BSY/DRDY/DF/DSC/DRQ/ERR, error ABRT/IDNF,
//! device control nIEN/SRST/HOB, the "previous content" HOB pairs of 48-bit addressing),
//! 8.x command descriptions (IDENTIFY DEVICE word layout, READ/WRITE SECTORS, MULTIPLE,
//! EXT, VERIFY, SET MULTIPLE MODE, INITIALIZE DEVICE PARAMETERS), 9.2 software reset and
//! its signature, and 9.5/9.6 PIO data-in/data-out protocols (an interrupt at the start
//! of each data-in DRQ block, after each data-out block).
//!
//! PIO and DMA (READ/WRITE DMA C8h/CAh, EXT 25h/35h: 8.23–8.26, the DMA protocol of
//! 9.7) are modelled, and every transfer completes at once in virtual time, so BSY is
//! only ever seen while SRST is held. A DMA command leaves the drive waiting with DRQ
//! set ([`IdeChannel::dma_pending`]) until the bus master (`bmide`, the PIIX3's engine)
//! calls [`IdeChannel::run_dma`] with a [`DmaChannel`] that takes or supplies the bytes;
//! another kind of DMA data phase (an ATAPI packet's data) can be queued as a
//! [`DmaPhase`] variant and run through the same path. IDENTIFY reports multiword DMA
//! 0–2 (word 63) and Ultra DMA 0–5 (word 88) with the mode SET FEATURES subcommand 03h
//! selected; the transfer timing itself is not modelled.
//!
//! The image is a [`BlockDevice`] read and written a block at a time; a backend failure
//! is the command's error (UNC on a read, ABRT on a write or FLUSH CACHE), as a drive
//! reports a medium or write fault. Completed commands do not rewrite the address
//! registers (ATA-6 lists them as "na" in the normal outputs).
//!
//! Either position may instead hold an ATAPI CD-ROM drive ([`Atapi`]): the channel
//! keeps the registers and the interrupt line and hands the drive the task file for its
//! PACKET protocol.
//!
//! Log target: `ide`.

use crate::atapi::Atapi;
use crate::block::{BlockDevice, BlockError};
use crate::{Irq, Nanos};

const SECTOR: usize = 512;
/// Largest SET MULTIPLE MODE block we accept (reported in IDENTIFY word 47).
const MAX_MULTIPLE: u8 = 16;
/// Default translation reported in IDENTIFY words 1/3/6.
const DEFAULT_HEADS: u8 = 16;
const DEFAULT_SPT: u8 = 63;
const MAX_DEFAULT_CYLS: u64 = 16383;

// Status and error register bits (ATA-6 §7.15, §7.9), shared with the ATAPI drive.
pub(crate) const ST_ERR: u8 = 0x01;
pub(crate) const ST_DRQ: u8 = 0x08;
const ST_DSC: u8 = 0x10;
const ST_DRDY: u8 = 0x40;
const ST_BSY: u8 = 0x80;
pub(crate) const ST_READY: u8 = ST_DRDY | ST_DSC;

pub(crate) const ER_ABRT: u8 = 0x04;
const ER_IDNF: u8 = 0x10;
/// Uncorrectable data: what a read that the backend could not complete reports.
const ER_UNC: u8 = 0x40;

const DC_NIEN: u8 = 0x02;
const DC_SRST: u8 = 0x04;
const DC_HOB: u8 = 0x80;

const DEV_DEV: u8 = 0x10;
const DEV_LBA: u8 = 0x40;
/// Bits 7 and 5 of the device register are obsolete and read as one.
const DEV_OBSOLETE: u8 = 0xA0;

// Task file indices (the command block offsets; 1, features, is stored but unused).
const R_NSECT: usize = 2;
const R_LBA_LOW: usize = 3;
const R_LBA_MID: usize = 4;
const R_LBA_HIGH: usize = 5;

const MODEL: &[u8; 40] = b"PCEMU ATA HARD DISK                     ";
const FIRMWARE: &[u8; 8] = b"1.0     ";

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Disk {
    /// The transfer mode SET FEATURES 03h selected (ATA-6 8.37.10): 08h–0Ch PIO flow
    /// control, 20h–22h multiword DMA, 40h–45h Ultra DMA; 0 = default PIO.
    xfer_mode: u8,
    #[serde(skip, default = "crate::state::detached")]
    image: Box<dyn BlockDevice>,
    sectors: u64,
    /// Current CHS translation (INITIALIZE DEVICE PARAMETERS).
    heads: u8,
    spt: u8,
    /// Sectors per DRQ block for READ/WRITE MULTIPLE; 0 = disabled.
    multiple: u8,
    status: u8,
    error: u8,
}

impl Disk {
    fn new(image: Box<dyn BlockDevice>) -> Self {
        let sectors = image.sectors();
        Disk {
            image,
            sectors,
            heads: DEFAULT_HEADS,
            spt: DEFAULT_SPT,
            multiple: 0,
            xfer_mode: 0,
            status: ST_READY,
            error: 0x01,
        }
    }

    fn default_cyls(&self) -> u16 {
        let c = self.sectors / (u64::from(DEFAULT_HEADS) * u64::from(DEFAULT_SPT));
        c.min(MAX_DEFAULT_CYLS) as u16
    }

    /// Cylinders of the current translation: the default one keeps the 16383 cap.
    fn current_cyls(&self) -> u16 {
        if self.heads == DEFAULT_HEADS && self.spt == DEFAULT_SPT {
            return self.default_cyls();
        }
        let per_cyl = u64::from(self.heads) * u64::from(self.spt);
        match self.sectors.checked_div(per_cyl) {
            Some(c) => c.min(0xFFFF) as u16,
            None => 0,
        }
    }

    /// Whether `n` sectors from `lba` lie in the image.
    fn in_range(&self, lba: u64, n: u32) -> bool {
        lba.checked_add(u64::from(n))
            .is_some_and(|end| end <= self.sectors)
    }

    fn identify(&self, slot: usize) -> [u16; 256] {
        let mut w = [0u16; 256];
        let put_str = |w: &mut [u16; 256], first: usize, s: &[u8]| {
            // ATA strings: the first character of each pair is in the high byte.
            for (i, pair) in s.chunks(2).enumerate() {
                let hi = pair.first().copied().unwrap_or(b' ');
                let lo = pair.get(1).copied().unwrap_or(b' ');
                if let Some(x) = w.get_mut(first + i) {
                    *x = u16::from_be_bytes([hi, lo]);
                }
            }
        };
        let lba28 = self.sectors.min(0x0FFF_FFFF) as u32;
        let cur_cyls = self.current_cyls();
        let cur_cap = u32::from(cur_cyls) * u32::from(self.heads) * u32::from(self.spt);
        w[0] = 0x0040; // fixed device, not removable
        w[1] = self.default_cyls();
        w[3] = u16::from(DEFAULT_HEADS);
        w[6] = u16::from(DEFAULT_SPT);
        let mut serial = *b"PCEMU-IDE-0000000000";
        serial[19] = b'0' + slot as u8 % 10;
        put_str(&mut w, 10, &serial);
        put_str(&mut w, 23, FIRMWARE);
        put_str(&mut w, 27, MODEL);
        w[47] = 0x8000 | u16::from(MAX_MULTIPLE);
        w[49] = 0x0300; // LBA and DMA supported
        w[50] = 0x4000;
        w[51] = 0x0200; // PIO mode 2 timing (obsolete word)
        w[53] = 0x0007; // words 54-58, 64-70 and 88 valid
        w[54] = cur_cyls;
        w[55] = u16::from(self.heads);
        w[56] = u16::from(self.spt);
        w[57] = cur_cap as u16;
        w[58] = (cur_cap >> 16) as u16;
        if self.multiple != 0 {
            w[59] = 0x0100 | u16::from(self.multiple);
        }
        w[60] = lba28 as u16;
        w[61] = (lba28 >> 16) as u16;
        // Multiword DMA modes 0-2 supported, the selected one in the high byte.
        w[63] = 0x0007;
        if let m @ 0x20..=0x22 = self.xfer_mode {
            w[63] |= 0x0100 << (m & 7);
        }
        w[64] = 0x0003; // PIO modes 3 and 4
        w[65] = 120;
        w[66] = 120;
        w[67] = 120;
        w[68] = 120;
        w[80] = 0x007E; // ATA-1 through ATA-6
        w[82] = 0;
        // Bit 14 "shall be one"; 13 FLUSH CACHE EXT, 12 FLUSH CACHE, 10 48-bit address.
        w[83] = 0x7400;
        w[84] = 0x4000;
        w[86] = 0x3400;
        w[87] = 0x4000;
        // Ultra DMA modes 0-5 supported, the selected one in the high byte.
        w[88] = 0x003F;
        if let m @ 0x40..=0x45 = self.xfer_mode {
            w[88] |= 0x0100 << (m & 7);
        }
        for (i, x) in w[100..104].iter_mut().enumerate() {
            *x = (self.sectors >> (16 * i)) as u16;
        }
        // Integrity word: signature A5h, and a checksum making all 512 bytes sum to 0.
        w[255] = 0x00A5;
        let sum = w
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .fold(0u8, |a, b| a.wrapping_add(b));
        w[255] |= u16::from(0u8.wrapping_sub(sum)) << 8;
        w
    }
}

/// A command's name for logs, and for sector commands whether it is an EXT (48-bit) one.
fn command_info(cmd: u8) -> (&'static str, Option<bool>) {
    match cmd {
        0x20 | 0x21 => ("read sectors", Some(false)),
        0x24 => ("read sectors ext", Some(true)),
        0xC4 => ("read multiple", Some(false)),
        0x29 => ("read multiple ext", Some(true)),
        0x30 | 0x31 => ("write sectors", Some(false)),
        0x34 => ("write sectors ext", Some(true)),
        0xC5 => ("write multiple", Some(false)),
        0x39 => ("write multiple ext", Some(true)),
        0x40 | 0x41 => ("read verify sectors", Some(false)),
        0x42 => ("read verify sectors ext", Some(true)),
        0xEC => ("identify device", None),
        0xC6 => ("set multiple mode", None),
        0x91 => ("initialize device parameters", None),
        0x90 => ("execute device diagnostic", None),
        0xE5 => ("check power mode", None),
        0x10..=0x1F => ("recalibrate", None),
        0xEF => ("set features", None),
        0xE0..=0xE4 => ("idle/standby", None),
        0xE7 => ("flush cache", None),
        0xEA => ("flush cache ext", None),
        0xA1 => ("identify packet device", None),
        0xC8 | 0xC9 => ("read dma", Some(false)),
        0x25 => ("read dma ext", Some(true)),
        0xCA | 0xCB => ("write dma", Some(false)),
        0x35 => ("write dma ext", Some(true)),
        _ => ("unsupported", None),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Kind {
    Identify,
    Read,
    Write,
}

/// A PIO data transfer in progress on one device.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Transfer {
    kind: Kind,
    drive: usize,
    /// Next sector to move, and how many are left after the buffered block.
    lba: u64,
    remaining: u32,
    /// Sectors per DRQ block.
    block: u32,
}

/// The bus master's side of a DMA data phase (`bmide` walks PRD tables behind it).
pub trait DmaChannel {
    /// Takes bytes the drive sends towards memory; returns how many it placed (fewer
    /// when its descriptors ran out).
    fn write_memory(&mut self, data: &[u8]) -> usize;
    /// Fills `buf` with bytes from memory for the drive; returns how many it read.
    fn read_memory(&mut self, buf: &mut [u8]) -> usize;
}

/// A DMA data phase a drive is waiting to run (DMARQ asserted).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum DmaPhase {
    /// READ/WRITE DMA (EXT): `count` sectors from `lba` of the disk in `drive`.
    Disk {
        drive: usize,
        lba: u64,
        count: u32,
        to_memory: bool,
    },
}

/// Sectors moved per step of a DMA transfer (64 KB, one full PRD).
const DMA_CHUNK: u32 = 128;

/// One IDE channel with up to two disks.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct IdeChannel {
    irq_line: u8,
    line: bool,
    intrq: bool,
    disks: [Option<Disk>; 2],
    /// ATAPI drives, in positions without a disk.
    cds: [Option<Atapi>; 2],
    /// Each device's own signature after a reset, shown while it is selected until the
    /// host writes the task file (both devices latch every write; only the reset
    /// leaves them different).
    sig: [Option<[u8; 4]>; 2],
    /// Task file (offsets 1–5) and the previous contents written to each.
    cur: [u8; 6],
    hob: [u8; 6],
    device: u8,
    control: u8,
    xfer: Option<Transfer>,
    buf: Vec<u8>,
    pos: usize,
    /// A DMA command waiting for the bus master.
    dma: Option<DmaPhase>,
}

impl IdeChannel {
    /// Replaces this channel's state with `saved` (a deserialised snapshot), keeping
    /// the attached disk and CD backends, which are host resources. Fails, changing
    /// nothing, when the snapshot's drives are not the ones attached here.
    pub fn restore(&mut self, mut saved: IdeChannel) -> Result<(), String> {
        for i in 0..2 {
            let same = match (&self.disks[i], &saved.disks[i]) {
                (Some(a), Some(b)) => a.sectors == b.sectors,
                (None, None) => true,
                _ => false,
            } && self.cds[i].is_some() == saved.cds[i].is_some();
            if !same {
                return Err(format!("IDE position {i} holds another drive"));
            }
        }
        for i in 0..2 {
            if let (Some(a), Some(b)) = (&mut self.disks[i], &mut saved.disks[i]) {
                std::mem::swap(&mut a.image, &mut b.image);
            }
            if let (Some(a), Some(b)) = (&mut self.cds[i], &mut saved.cds[i]) {
                std::mem::swap(&mut a.medium, &mut b.medium);
            }
        }
        *self = saved;
        Ok(())
    }

    /// An empty channel driving ISA line `irq` (14 primary, 15 secondary).
    pub fn new(irq: u8) -> Self {
        IdeChannel {
            irq_line: irq,
            line: false,
            intrq: false,
            disks: [None, None],
            cds: [None, None],
            sig: [None, None],
            cur: [0, 0, 1, 1, 0, 0],
            hob: [0; 6],
            device: 0,
            control: 0,
            xfer: None,
            buf: Vec::new(),
            pos: 0,
            dma: None,
        }
    }

    /// Attaches an image of 512-byte sectors as master (0) or slave (1).
    pub fn attach(&mut self, slot: usize, image: Box<dyn BlockDevice>) {
        if let Some(d) = self.disks.get_mut(slot) {
            *d = Some(Disk::new(image));
            self.dma = None;
            self.cds[slot] = None;
            if self.xfer.is_some_and(|x| x.drive == slot) {
                self.xfer = None;
            }
        }
    }

    /// Puts an ATAPI drive in position `slot` (0 master, 1 slave) instead of a disk.
    pub fn attach_cdrom(&mut self, slot: usize, drive: Atapi) {
        if let Some(c) = self.cds.get_mut(slot) {
            *c = Some(drive);
            self.disks[slot] = None;
            if self.xfer.is_some_and(|x| x.drive == slot) {
                self.xfer = None;
            }
        }
    }

    /// Moves the selected ATAPI drive's packet-command data (a READ with the DMA bit in
    /// the features register) to memory through the bus master, then completes the
    /// command. Returns false when the PRD table ran out before the data: the drive
    /// then ends with CHECK CONDITION (see `Atapi::dma_end`).
    fn run_atapi_dma(&mut self, ch: &mut dyn DmaChannel, irq: &mut impl Irq) -> bool {
        let Some(cd) = self.selected_cdrom().filter(|cd| cd.dma_active()) else {
            return false;
        };
        let mut buf = vec![0; DMA_CHUNK as usize * SECTOR];
        let mut ok = true;
        loop {
            let n = cd.dma_read(&mut buf);
            if n == 0 {
                break;
            }
            if ch.write_memory(&buf[..n]) < n {
                ok = false;
                break;
            }
        }
        self.atapi_dma_end(irq);
        ok
    }

    /// The ATAPI drive in a position, if any.
    pub fn cdrom(&self, slot: usize) -> Option<&Atapi> {
        self.cds.get(slot).and_then(Option::as_ref)
    }

    /// The ATAPI drive in a position, to change its disc or read it for the BIOS.
    pub fn cdrom_mut(&mut self, slot: usize) -> Option<&mut Atapi> {
        self.cds.get_mut(slot).and_then(Option::as_mut)
    }

    /// The selected ATAPI drive with the task file, for the bus-master DMA engine
    /// ([`Atapi::dma_read`], then [`IdeChannel::atapi_dma_end`]).
    pub fn selected_cdrom(&mut self) -> Option<&mut Atapi> {
        let sel = self.selected();
        self.cds[sel].as_mut()
    }

    /// Ends the selected ATAPI drive's DMA data phase (the bus master stopped).
    pub fn atapi_dma_end(&mut self, irq: &mut impl Irq) {
        let sel = self.selected();
        if let Some(cd) = self.cds[sel].as_mut() {
            if cd.dma_end(&mut self.cur) {
                self.intrq = true;
                self.update_irq(irq);
            }
        }
    }

    /// Detaches and returns a disk's image.
    pub fn take_image(&mut self, slot: usize) -> Option<Box<dyn BlockDevice>> {
        if self.xfer.is_some_and(|x| x.drive == slot) {
            self.xfer = None;
        }
        self.disks.get_mut(slot)?.take().map(|d| d.image)
    }

    /// A disk's image, for machine state files (identity and `--snapshot` overlay).
    pub fn image_mut(&mut self, slot: usize) -> Option<&mut dyn BlockDevice> {
        self.backend(slot).ok()
    }

    fn backend(&mut self, slot: usize) -> Result<&mut dyn BlockDevice, BlockError> {
        match self.disks.get_mut(slot).and_then(Option::as_mut) {
            Some(d) => Ok(d.image.as_mut()),
            None => Err(BlockError::OutOfRange),
        }
    }

    /// Whether a disk is attached as master (0) or slave (1).
    pub fn present(&self, slot: usize) -> bool {
        self.disks.get(slot).is_some_and(Option::is_some)
    }

    /// Size of a disk in sectors (0 without one).
    pub fn sectors(&self, slot: usize) -> u64 {
        self.disks
            .get(slot)
            .and_then(Option::as_ref)
            .map_or(0, |d| d.sectors)
    }

    /// Reads whole sectors of a disk's image (the BIOS's INT 13h path shares the
    /// drive with the controller).
    pub fn read_sectors(
        &mut self,
        slot: usize,
        lba: u64,
        buf: &mut [u8],
    ) -> Result<(), BlockError> {
        self.backend(slot)?.read(lba, buf)
    }

    /// Writes whole sectors of a disk's image, as [`IdeChannel::read_sectors`].
    pub fn write_sectors(&mut self, slot: usize, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        self.backend(slot)?.write(lba, data)
    }

    /// Flushes a disk's backend (nothing to do without a disk).
    pub fn flush(&mut self, slot: usize) -> Result<(), BlockError> {
        match self.disks.get_mut(slot).and_then(Option::as_mut) {
            Some(d) => d.image.flush(),
            None => Ok(()),
        }
    }

    /// Whether the guest has written to the disk since it was attached.
    pub fn dirty(&self, slot: usize) -> bool {
        self.disks
            .get(slot)
            .and_then(Option::as_ref)
            .is_some_and(|d| d.image.dirty())
    }

    /// Transfers complete instantly, so the channel never needs time.
    pub fn next_event(&self, _now: Nanos) -> Option<Nanos> {
        None
    }

    /// Reads a command block register (0–7) or the alternate status (8). An 8-bit read
    /// of the data register takes a whole word and returns its low byte.
    pub fn read(&mut self, offset: u16, irq: &mut impl Irq) -> u8 {
        let v = self.read_reg(offset, irq);
        if offset != 0 {
            log::trace!(target: "ide", "{}: read reg {offset} -> {v:#04x}", self.chan());
        }
        v
    }

    fn read_reg(&mut self, offset: u16, irq: &mut impl Irq) -> u8 {
        // A channel with no drive at all reads 0 in every register but data, as QEMU's
        // `ide_ioport_read` does: the Bochs BIOS probes for a drive by writing 55h/AAh
        // to the sector count/number registers, and an echo would make it wait on an
        // absent device.
        let empty = (0..2).all(|i| self.disks[i].is_none() && self.cds[i].is_none());
        if empty && offset != 0 {
            return 0;
        }
        match offset {
            0 => self.read16(irq) as u8,
            1 => match self.cd() {
                Some(cd) => cd.error(),
                None => self.disk().map_or(0, |d| d.error),
            },
            2..=5 => {
                let r = usize::from(offset);
                if let Some(sig) = self.sig[self.selected()] {
                    sig[r - 2]
                } else if self.control & DC_HOB != 0 {
                    self.hob[r]
                } else {
                    self.cur[r]
                }
            }
            6 => self.device | DEV_OBSOLETE,
            7 => {
                // Reading the status register acknowledges the interrupt.
                let s = self.status();
                if self.disk().is_some() || self.cd().is_some() {
                    self.intrq = false;
                    self.update_irq(irq);
                }
                s
            }
            8 => self.status(),
            _ => 0xFF,
        }
    }

    /// Reads the data register.
    pub fn read16(&mut self, irq: &mut impl Irq) -> u16 {
        let sel = self.selected();
        if let Some(cd) = self.cds[sel].as_mut() {
            let (v, intrq) = cd.read16(&mut self.cur);
            if intrq {
                self.intrq = true;
                self.update_irq(irq);
            }
            return v;
        }
        let Some(x) = self.xfer else { return 0xFFFF };
        if x.kind == Kind::Write || x.drive != self.selected() {
            return 0xFFFF;
        }
        let lo = self.buf.get(self.pos).copied().unwrap_or(0xFF);
        let hi = self.buf.get(self.pos + 1).copied().unwrap_or(0xFF);
        self.pos = self.pos.saturating_add(2);
        if self.pos >= self.buf.len() {
            self.block_done(x, irq);
        }
        u16::from_le_bytes([lo, hi])
    }

    /// Writes a command block register (0–7) or the device control register (8). An
    /// 8-bit write of the data register counts as a word write with a zero high byte.
    pub fn write(&mut self, offset: u16, value: u8, irq: &mut impl Irq) {
        if offset != 0 {
            log::trace!(target: "ide", "{}: write reg {offset} <- {value:#04x}", self.chan());
        }
        if offset == 8 {
            self.write_control(value, irq);
            return;
        }
        // The devices are busy while SRST is held and take no register writes.
        if self.control & DC_SRST != 0 {
            return;
        }
        match offset {
            0 => self.write16(u16::from(value), irq),
            1..=5 => {
                let r = usize::from(offset);
                self.sig = [None, None];
                self.hob[r] = self.cur[r];
                self.cur[r] = value;
                // Any command block write clears HOB (ATA-6 7.9).
                self.control &= !DC_HOB;
            }
            6 => {
                self.device = value & !DEV_OBSOLETE;
                self.control &= !DC_HOB;
            }
            7 => self.command(value, irq),
            _ => {}
        }
    }

    /// Writes the data register.
    pub fn write16(&mut self, value: u16, irq: &mut impl Irq) {
        let sel = self.selected();
        if let Some(cd) = self.cds[sel].as_mut() {
            if cd.write16(value, &mut self.cur) {
                self.intrq = true;
                self.update_irq(irq);
            }
            return;
        }
        let Some(x) = self.xfer else { return };
        if x.kind != Kind::Write || x.drive != self.selected() {
            return;
        }
        let [lo, hi] = value.to_le_bytes();
        if let Some(b) = self.buf.get_mut(self.pos) {
            *b = lo;
        }
        if let Some(b) = self.buf.get_mut(self.pos + 1) {
            *b = hi;
        }
        self.pos = self.pos.saturating_add(2);
        if self.pos >= self.buf.len() {
            self.block_done(x, irq);
        }
    }

    /// The channel's name in logs.
    fn chan(&self) -> &'static str {
        match self.irq_line {
            14 => "primary",
            15 => "secondary",
            _ => "channel",
        }
    }

    /// The selected drive's name in logs.
    fn drive_name(&self) -> &'static str {
        ["master", "slave"][self.selected()]
    }

    /// A sector command's starting address and count, for logs.
    fn describe_range(&self, ext: bool) -> String {
        let mode = if ext {
            "lba48"
        } else if self.device & DEV_LBA != 0 {
            "lba28"
        } else {
            "chs"
        };
        match self.address(ext) {
            Some(lba) => format!("{mode} lba {lba} count {}", self.count(ext)),
            None => format!("{mode} bad address, count {}", self.count(ext)),
        }
    }

    fn selected(&self) -> usize {
        usize::from(self.device & DEV_DEV != 0)
    }

    fn disk(&self) -> Option<&Disk> {
        self.disks[self.selected()].as_ref()
    }

    fn cd(&self) -> Option<&Atapi> {
        self.cds[self.selected()].as_ref()
    }

    fn status(&self) -> u8 {
        if let Some(cd) = self.cd() {
            return if self.control & DC_SRST != 0 {
                ST_BSY
            } else {
                cd.status()
            };
        }
        match self.disk() {
            None => 0,
            Some(_) if self.control & DC_SRST != 0 => ST_BSY,
            Some(d) => d.status,
        }
    }

    fn update_irq(&mut self, irq: &mut impl Irq) {
        // nIEN puts INTRQ in high impedance; a pending interrupt shows once it clears.
        let level = self.intrq && self.control & DC_NIEN == 0;
        if level != self.line {
            self.line = level;
            irq.set_irq(self.irq_line, level);
        }
    }

    fn write_control(&mut self, value: u8, irq: &mut impl Irq) {
        let was_reset = self.control & DC_SRST != 0;
        self.control = value;
        if value & DC_NIEN != self.control & DC_NIEN && value & DC_SRST == 0 {
            log::debug!(
                target: "ide",
                "{}: interrupts {}",
                self.chan(),
                if value & DC_NIEN != 0 { "disabled" } else { "enabled" }
            );
        }
        if value & DC_SRST != 0 && !was_reset {
            log::debug!(target: "ide", "{}: software reset", self.chan());
            self.xfer = None;
            self.dma = None;
            self.intrq = false;
        } else if value & DC_SRST == 0 && was_reset {
            self.finish_reset();
        }
        self.update_irq(irq);
    }

    /// End of software reset (ATA-6 9.2): the signature of an ATA device, device 0
    /// selected, diagnostic code 01h (passed) and no interrupt.
    fn finish_reset(&mut self) {
        for d in self.disks.iter_mut().flatten() {
            d.status = ST_READY;
            d.error = 0x01;
        }
        self.set_signature();
        self.device = 0;
        self.intrq = false;
        self.reset_cdroms();
    }

    /// Resets the ATAPI drives and gives each position its own signature; the task
    /// file shows the master's.
    fn reset_cdroms(&mut self) {
        if self.cds.iter().all(Option::is_none) {
            self.sig = [None, None];
            return;
        }
        let ata = [self.cur[R_NSECT], self.cur[R_LBA_LOW], 0, 0];
        for slot in 0..2 {
            let mut regs = self.cur;
            self.sig[slot] = match self.cds[slot].as_mut() {
                Some(cd) => {
                    cd.reset(&mut regs);
                    Some([regs[2], regs[3], regs[4], regs[5]])
                }
                None => Some(ata),
            };
        }
        if let Some(s) = self.sig[0] {
            self.cur[2..6].copy_from_slice(&s);
            self.hob = self.cur;
        }
    }

    fn set_signature(&mut self) {
        self.cur[R_NSECT] = 1;
        self.cur[R_LBA_LOW] = 1;
        self.cur[R_LBA_MID] = 0;
        self.cur[R_LBA_HIGH] = 0;
        self.hob = self.cur;
    }

    fn command(&mut self, cmd: u8, irq: &mut impl Irq) {
        let sel = self.selected();
        self.sig = [None, None];
        if self.cds[sel].is_some() {
            if cmd == 0x90 {
                self.diagnostic();
            } else if let Some(cd) = self.cds[sel].as_mut() {
                self.intrq = cd.command(cmd, &mut self.cur);
            }
            self.update_irq(irq);
            return;
        }
        // An absent device does not respond; the present one ignores commands not
        // addressed to it.
        if self.disks[sel].is_none() {
            log::debug!(
                target: "ide",
                "{} {}: command {cmd:#04x} to absent drive ignored",
                self.chan(),
                self.drive_name()
            );
            return;
        }
        log::debug!(
            target: "ide",
            "{} {}: command {cmd:#04x} ({}){}",
            self.chan(),
            self.drive_name(),
            command_info(cmd).0,
            match command_info(cmd).1 {
                Some(ext) => format!(" {}", self.describe_range(ext)),
                None if cmd == 0xC6 || cmd == 0x91 => format!(" count {}", self.cur[R_NSECT]),
                None => String::new(),
            }
        );
        self.intrq = false;
        self.xfer = None;
        self.dma = None;
        if let Some(d) = self.disks[sel].as_mut() {
            d.error = 0;
        }
        match cmd {
            0x20 | 0x21 => self.start(Kind::Read, false, false),
            0x24 => self.start(Kind::Read, true, false),
            0xC4 => self.start(Kind::Read, false, true),
            0x29 => self.start(Kind::Read, true, true),
            0x30 | 0x31 => self.start(Kind::Write, false, false),
            0x34 => self.start(Kind::Write, true, false),
            0xC5 => self.start(Kind::Write, false, true),
            0x39 => self.start(Kind::Write, true, true),
            0x40 | 0x41 => self.verify(false),
            0x42 => self.verify(true),
            0xEC => {
                let words = self.disks[sel].as_ref().map(|d| d.identify(sel));
                self.buf = words
                    .unwrap_or([0; 256])
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .collect();
                self.pos = 0;
                self.xfer = Some(Transfer {
                    kind: Kind::Identify,
                    drive: sel,
                    lba: 0,
                    remaining: 0,
                    block: 0,
                });
                self.set_status(ST_READY | ST_DRQ);
                self.intrq = true;
            }
            0xC6 => {
                let n = self.cur[R_NSECT];
                // 0 disables multiple mode (ATA-4); otherwise a power of two we support.
                if n <= MAX_MULTIPLE && (n == 0 || n.is_power_of_two()) {
                    if let Some(d) = self.disks[sel].as_mut() {
                        d.multiple = n;
                    }
                    self.complete();
                } else {
                    self.abort(ER_ABRT);
                }
            }
            0x91 => {
                let spt = self.cur[R_NSECT];
                if spt == 0 {
                    self.abort(ER_ABRT);
                } else {
                    if let Some(d) = self.disks[sel].as_mut() {
                        d.heads = (self.device & 0x0F) + 1;
                        d.spt = spt;
                    }
                    self.complete();
                }
            }
            0x90 => self.diagnostic(),
            // CHECK POWER MODE: FFh in the sector count means "active or idle".
            0xE5 => {
                self.cur[R_NSECT] = 0xFF;
                self.complete();
            }
            // FLUSH CACHE (EXT): every completed write reaches stable storage first.
            0xE7 | 0xEA => match self.backend(sel).and_then(|d| d.flush()) {
                Ok(()) => self.complete(),
                Err(e) => {
                    log::warn!(target: "ide", "{} {}: flush cache failed: {e}", self.chan(), self.drive_name());
                    self.abort(ER_ABRT)
                }
            },
            0xC8 | 0xC9 => self.start_dma(false, false),
            0x25 => self.start_dma(false, true),
            0xCA | 0xCB => self.start_dma(true, false),
            0x35 => self.start_dma(true, true),
            // SET FEATURES 03h: set transfer mode (PIO default/flow control, multiword
            // DMA 0-2, Ultra DMA 0-5); the other subcommands (caches, power
            // management) have nothing to change here.
            0xEF if self.cur[1] == 0x03 => {
                let mode = self.cur[R_NSECT];
                if matches!(mode, 0x00 | 0x01 | 0x08..=0x0C | 0x20..=0x22 | 0x40..=0x45) {
                    log::debug!(target: "ide", "{} {}: transfer mode {mode:#04x}", self.chan(), self.drive_name());
                    if let Some(d) = self.disks[sel].as_mut() {
                        d.xfer_mode = mode;
                    }
                    self.complete();
                } else {
                    self.abort(ER_ABRT);
                }
            }
            // RECALIBRATE, SET FEATURES, IDLE/STANDBY: nothing to do.
            0x10..=0x1F | 0xEF | 0xE0..=0xE4 => self.complete(),
            // IDENTIFY PACKET DEVICE and everything else: not supported.
            _ => self.abort(ER_ABRT),
        }
        self.update_irq(irq);
    }

    /// EXECUTE DEVICE DIAGNOSTIC: the reset signatures, device 0 passed.
    fn diagnostic(&mut self) {
        self.xfer = None;
        for d in self.disks.iter_mut().flatten() {
            d.error = 0x01;
            d.status = ST_READY;
        }
        self.set_signature();
        self.device = 0;
        self.reset_cdroms();
        self.intrq = true;
    }

    fn set_status(&mut self, status: u8) {
        let sel = self.selected();
        if let Some(d) = self.disks[sel].as_mut() {
            d.status = status;
        }
    }

    fn complete(&mut self) {
        self.set_status(ST_READY);
        self.intrq = true;
    }

    fn abort(&mut self, error: u8) {
        let sel = self.selected();
        log::debug!(
            target: "ide",
            "{} {}: command failed, error {error:#04x} ({})",
            self.chan(),
            self.drive_name(),
            match error {
                ER_IDNF => "idnf",
                ER_UNC => "unc",
                _ => "abrt",
            }
        );
        if let Some(d) = self.disks[sel].as_mut() {
            d.error = error;
            d.status = ST_READY | ST_ERR;
        }
        self.xfer = None;
        self.intrq = true;
    }

    /// The starting sector of a command: LBA48 for EXT commands, else LBA28 or CHS as
    /// the device register's LBA bit says. None for a CHS address outside the geometry.
    fn address(&self, ext: bool) -> Option<u64> {
        let c = &self.cur;
        let h = &self.hob;
        if ext {
            let bytes = [
                c[R_LBA_LOW],
                c[R_LBA_MID],
                c[R_LBA_HIGH],
                h[R_LBA_LOW],
                h[R_LBA_MID],
                h[R_LBA_HIGH],
                0,
                0,
            ];
            return Some(u64::from_le_bytes(bytes));
        }
        if self.device & DEV_LBA != 0 {
            let b = [
                c[R_LBA_LOW],
                c[R_LBA_MID],
                c[R_LBA_HIGH],
                self.device & 0x0F,
            ];
            return Some(u64::from(u32::from_le_bytes(b)));
        }
        let d = self.disk()?;
        let cyl = u16::from_le_bytes([c[R_LBA_MID], c[R_LBA_HIGH]]);
        let head = self.device & 0x0F;
        let sector = c[R_LBA_LOW];
        if sector == 0 || sector > d.spt || head >= d.heads || cyl >= d.current_cyls() {
            return None;
        }
        let track = u64::from(cyl) * u64::from(d.heads) + u64::from(head);
        Some(track * u64::from(d.spt) + u64::from(sector) - 1)
    }

    fn count(&self, ext: bool) -> u32 {
        if ext {
            match u16::from_le_bytes([self.cur[R_NSECT], self.hob[R_NSECT]]) {
                0 => 65536,
                n => u32::from(n),
            }
        } else {
            match self.cur[R_NSECT] {
                0 => 256,
                n => u32::from(n),
            }
        }
    }

    /// Checks a command's address range; None (and IDNF) if it leaves the disk.
    fn checked_range(&mut self, ext: bool) -> Option<(u64, u32)> {
        let count = self.count(ext);
        let ok = self
            .address(ext)
            .filter(|&lba| self.disk().is_some_and(|d| d.in_range(lba, count)));
        if ok.is_none() {
            self.abort(ER_IDNF);
        }
        ok.map(|lba| (lba, count))
    }

    fn verify(&mut self, ext: bool) {
        if self.checked_range(ext).is_some() {
            self.complete();
        }
    }

    /// READ/WRITE DMA (EXT): checks the range, then waits for the bus master with DRQ
    /// set (the DMA data-in/out protocol of ATA-6 9.7; no interrupt until the end).
    fn start_dma(&mut self, write: bool, ext: bool) {
        let Some((lba, count)) = self.checked_range(ext) else {
            return;
        };
        self.dma = Some(DmaPhase::Disk {
            drive: self.selected(),
            lba,
            count,
            to_memory: !write,
        });
        self.set_status(ST_READY | ST_DRQ);
    }

    /// Whether a drive waits for the bus master to run its DMA data phase.
    pub fn dma_pending(&self) -> bool {
        self.dma.is_some()
            || self
                .cds
                .get(self.selected())
                .and_then(Option::as_ref)
                .is_some_and(Atapi::dma_active)
    }

    /// Runs the pending DMA data phase through the bus master `ch`; the drive then
    /// completes the command and interrupts. Returns false when `ch` ran out of
    /// descriptors before the data did: the drive aborts the command (ABRT), or when a
    /// backend read or write failed (UNC/ABRT), as for PIO.
    pub fn run_dma(&mut self, ch: &mut dyn DmaChannel, irq: &mut impl Irq) -> bool {
        let Some(phase) = self.dma.take() else {
            return self.run_atapi_dma(ch, irq);
        };
        let DmaPhase::Disk {
            drive,
            mut lba,
            mut count,
            to_memory,
        } = phase;
        let mut buf = Vec::new();
        let mut ok = true;
        while count > 0 {
            let n = count.min(DMA_CHUNK);
            buf.clear();
            buf.resize(n as usize * SECTOR, 0);
            let Some(d) = self.disks.get_mut(drive).and_then(Option::as_mut) else {
                ok = false;
                break;
            };
            if to_memory {
                if let Err(e) = d.image.read(lba, &mut buf) {
                    log::warn!(target: "ide", "{}: dma read of lba {lba} failed: {e}", self.chan());
                    self.abort(ER_UNC);
                    self.update_irq(irq);
                    return false;
                }
                if ch.write_memory(&buf) < buf.len() {
                    ok = false;
                    break;
                }
            } else {
                if ch.read_memory(&mut buf) < buf.len() {
                    ok = false;
                    break;
                }
                if let Err(e) = d.image.write(lba, &buf) {
                    log::warn!(target: "ide", "{}: dma write of lba {lba} failed: {e}", self.chan());
                    self.abort(ER_ABRT);
                    self.update_irq(irq);
                    return false;
                }
            }
            lba += u64::from(n);
            count -= n;
        }
        if ok {
            if let Some(d) = self.disks.get_mut(drive).and_then(Option::as_mut) {
                d.status = ST_READY;
            }
            self.intrq = true;
        } else {
            log::debug!(target: "ide", "{}: dma descriptors ran out before the data", self.chan());
            self.abort(ER_ABRT);
        }
        self.update_irq(irq);
        ok
    }

    fn start(&mut self, kind: Kind, ext: bool, multiple: bool) {
        let sel = self.selected();
        let block = if multiple {
            match self.disk().map_or(0, |d| d.multiple) {
                0 => return self.abort(ER_ABRT),
                n => u32::from(n),
            }
        } else {
            1
        };
        let Some((lba, remaining)) = self.checked_range(ext) else {
            return;
        };
        let x = Transfer {
            kind,
            drive: sel,
            lba,
            remaining,
            block,
        };
        self.xfer = Some(x);
        if !self.load_block(x) {
            return;
        }
        self.set_status(ST_READY | ST_DRQ);
        // Data-in interrupts as each block becomes ready; data-out waits for the data.
        self.intrq = kind == Kind::Read;
    }

    /// Fills (read) or sizes (write) the buffer for the next block of `x`; false (and
    /// the command aborted with UNC) when the backend cannot read it.
    fn load_block(&mut self, x: Transfer) -> bool {
        let n = x.remaining.min(x.block);
        self.pos = 0;
        self.buf.clear();
        self.buf.resize(n as usize * SECTOR, 0);
        if x.kind != Kind::Read {
            return true;
        }
        let Some(d) = self.disks[x.drive].as_mut() else {
            return true;
        };
        if let Err(e) = d.image.read(x.lba, &mut self.buf) {
            log::warn!(target: "ide", "{}: read of lba {} failed: {e}", self.chan(), x.lba);
            self.abort(ER_UNC);
            return false;
        }
        true
    }

    /// The guest has moved the last word of the buffered block.
    fn block_done(&mut self, mut x: Transfer, irq: &mut impl Irq) {
        let n = x.remaining.min(x.block);
        if x.kind == Kind::Write {
            // Data-out interrupts after every block, including the last.
            self.intrq = true;
            if let Some(d) = self.disks[x.drive].as_mut() {
                if let Err(e) = d.image.write(x.lba, &self.buf) {
                    log::warn!(target: "ide", "{}: write of lba {} failed: {e}", self.chan(), x.lba);
                    self.abort(ER_ABRT);
                    self.buf.clear();
                    self.pos = 0;
                    self.update_irq(irq);
                    return;
                }
            }
        }
        log::trace!(
            target: "ide",
            "{}: {} block of {n} sectors at lba {} done",
            self.chan(),
            match x.kind {
                Kind::Identify => "identify",
                Kind::Read => "read",
                Kind::Write => "write",
            },
            x.lba
        );
        x.lba = x.lba.wrapping_add(u64::from(n));
        x.remaining = x.remaining.saturating_sub(n);
        if x.kind == Kind::Identify || x.remaining == 0 {
            self.xfer = None;
            self.buf.clear();
            self.pos = 0;
            if let Some(d) = self.disks[x.drive].as_mut() {
                d.status = ST_READY;
            }
        } else {
            self.xfer = Some(x);
            if self.load_block(x) && x.kind == Kind::Read {
                self.intrq = true;
            }
        }
        self.update_irq(irq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IrqLog;

    const IRQ: u8 = 14;
    /// Two full 16×63 cylinders plus five sectors.
    const SECTORS: usize = 2 * 1008 + 5;

    fn sector_bytes(lba: usize) -> Vec<u8> {
        let mut s: Vec<u8> = (0..SECTOR).map(|j| (j as u8) ^ (lba as u8)).collect();
        s[..4].copy_from_slice(&(lba as u32).to_le_bytes());
        s
    }

    fn mem(v: Vec<u8>) -> Box<dyn BlockDevice> {
        Box::new(crate::block::MemDisk::new(v))
    }

    /// Every sector of a disk, read back through the channel's BIOS path.
    fn contents(c: &mut IdeChannel, slot: usize) -> Vec<u8> {
        let mut v = vec![0; c.sectors(slot) as usize * SECTOR];
        c.read_sectors(slot, 0, &mut v).unwrap();
        v
    }

    fn image(sectors: usize) -> Vec<u8> {
        (0..sectors).flat_map(sector_bytes).collect()
    }

    fn channel() -> (IdeChannel, IrqLog) {
        let mut c = IdeChannel::new(IRQ);
        c.attach(0, mem(image(SECTORS)));
        (c, IrqLog::default())
    }

    fn read_block(c: &mut IdeChannel, irq: &mut IrqLog, bytes: usize) -> Vec<u8> {
        (0..bytes / 2)
            .flat_map(|_| c.read16(irq).to_le_bytes())
            .collect()
    }

    fn lba28(c: &mut IdeChannel, irq: &mut IrqLog, lba: u32, count: u8, cmd: u8) {
        let [l, m, h, top] = lba.to_le_bytes();
        c.write(2, count, irq);
        c.write(3, l, irq);
        c.write(4, m, irq);
        c.write(5, h, irq);
        c.write(6, 0xE0 | (top & 0x0F), irq);
        c.write(7, cmd, irq);
    }

    fn identify(c: &mut IdeChannel, irq: &mut IrqLog) -> Vec<u16> {
        c.write(7, 0xEC, irq);
        assert_eq!(c.read(7, irq), ST_READY | ST_DRQ);
        (0..256).map(|_| c.read16(irq)).collect()
    }

    #[test]
    fn identify_contents() {
        let (mut c, mut irq) = channel();
        c.write(6, 0xA0, &mut irq);
        let w = identify(&mut c, &mut irq);
        assert_eq!(irq.rises(IRQ), 1);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        assert_eq!(w[0], 0x0040);
        // 2021 / (16 × 63) = 2 cylinders.
        assert_eq!((w[1], w[3], w[6]), (2, 16, 63));
        assert_eq!((w[54], w[55], w[56]), (2, 16, 63));
        assert_eq!(u32::from(w[57]) | u32::from(w[58]) << 16, 2016);
        assert_eq!((w[60], w[61]), (2021, 0));
        assert_eq!(&w[100..104], &[2021, 0, 0, 0]);
        assert_ne!(w[49] & 0x0200, 0, "LBA supported");
        assert_ne!(w[83] & 0x0400, 0, "48-bit supported");
        assert_ne!(w[86] & 0x0400, 0, "48-bit enabled");
        assert_eq!(w[83] >> 14, 0b01);
        assert_eq!(w[47], 0x8010);
        assert_eq!(w[59], 0, "multiple mode off");
        // Model "PCEMU ...": word 27 holds 'P' in its high byte, so the byte stream
        // (little-endian words) starts "CP".
        assert_eq!(w[27], 0x5043);
        let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(&bytes[54..58], b"CPME");
        let model: Vec<u8> = w[27..47].iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(&model[..], &MODEL[..]);
        let fw: Vec<u8> = w[23..27].iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(&fw[..], &FIRMWARE[..]);
        let serial: Vec<u8> = w[10..20].iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(&serial[..], b"PCEMU-IDE-0000000000");
        // Integrity word: A5h and a zero byte sum.
        assert_eq!(w[255] & 0xFF, 0xA5);
        assert_eq!(bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)), 0);
        // After SET MULTIPLE 8, word 59 reports it.
        c.write(2, 8, &mut irq);
        c.write(7, 0xC6, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        let w = identify(&mut c, &mut irq);
        assert_eq!(w[59], 0x0108);
    }

    #[test]
    fn identify_large_disk_caps() {
        // Not allocated as a real image: check the arithmetic on a Disk directly.
        let mut d = Disk::new(mem(Vec::new()));
        d.sectors = 0x1_2345_6789;
        let w = d.identify(1);
        assert_eq!(w[1], 16383);
        assert_eq!((w[60], w[61]), (0xFFFF, 0x0FFF));
        assert_eq!(&w[100..104], &[0x6789, 0x2345, 0x0001, 0]);
        assert_eq!(w[19] & 0xFF, u16::from(b'1'));
    }

    #[test]
    fn chs_read() {
        let (mut c, mut irq) = channel();
        // Cylinder 1, head 2, sector 5: (1 × 16 + 2) × 63 + 4 = 1138.
        c.write(2, 2, &mut irq);
        c.write(3, 5, &mut irq);
        c.write(4, 1, &mut irq);
        c.write(5, 0, &mut irq);
        c.write(6, 0xA2, &mut irq);
        c.write(7, 0x20, &mut irq);
        assert!(irq.levels[IRQ as usize]);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        assert_eq!(read_block(&mut c, &mut irq, SECTOR), sector_bytes(1138));
        assert_eq!(irq.rises(IRQ), 2, "interrupt for the second sector");
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        assert_eq!(read_block(&mut c, &mut irq, SECTOR), sector_bytes(1139));
        assert_eq!(
            irq.rises(IRQ),
            2,
            "no interrupt after the last data-in block"
        );
        assert_eq!(c.read(7, &mut irq), ST_READY);
    }

    #[test]
    fn chs_translation_from_initialize_device_parameters() {
        let (mut c, mut irq) = channel();
        c.write(2, 17, &mut irq);
        c.write(6, 0xA3, &mut irq); // 4 heads
        c.write(7, 0x91, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        let w = identify(&mut c, &mut irq);
        // 2021 / (4 × 17) = 29 cylinders.
        assert_eq!((w[54], w[55], w[56]), (29, 4, 17));
        // C0 H1 S1 = 17.
        c.write(2, 1, &mut irq);
        c.write(3, 1, &mut irq);
        c.write(4, 0, &mut irq);
        c.write(5, 0, &mut irq);
        c.write(6, 0xA1, &mut irq);
        c.write(7, 0x21, &mut irq);
        assert_eq!(read_block(&mut c, &mut irq, SECTOR), sector_bytes(17));
        // Sector 18 is beyond 17 per track.
        c.write(3, 18, &mut irq);
        c.write(7, 0x20, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_IDNF);
    }

    /// A backend that fails the way a host file can: reads of one sector, writes once
    /// the host disk is full, and flushes, counting the flushes it is asked for.
    struct Failing {
        inner: crate::block::MemDisk,
        bad_read: u64,
        full: bool,
        flushes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl BlockDevice for Failing {
        fn sectors(&self) -> u64 {
            self.inner.sectors()
        }
        fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
            if (lba..lba + (buf.len() / SECTOR) as u64).contains(&self.bad_read) {
                return Err(BlockError::Io("Input/output error".into()));
            }
            self.inner.read(lba, buf)
        }
        fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
            if self.full {
                return Err(BlockError::Io("No space left on device".into()));
            }
            self.inner.write(lba, data)
        }
        fn flush(&mut self) -> Result<(), BlockError> {
            self.flushes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.full {
                return Err(BlockError::Io("No space left on device".into()));
            }
            Ok(())
        }
        fn dirty(&self) -> bool {
            self.inner.dirty()
        }
    }

    #[test]
    fn backend_failures_are_command_errors_and_flush_reaches_the_backend() {
        let flushes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut c = IdeChannel::new(IRQ);
        let mut irq = IrqLog::default();
        c.attach(
            0,
            Box::new(Failing {
                inner: crate::block::MemDisk::new(image(64)),
                bad_read: 9,
                full: false,
                flushes: flushes.clone(),
            }),
        );
        // FLUSH CACHE and FLUSH CACHE EXT (ATA-6 8.13/8.14) complete after the backend
        // has flushed.
        for cmd in [0xE7, 0xEA] {
            c.write(7, cmd, &mut irq);
            assert_eq!(c.read(7, &mut irq), ST_READY);
        }
        assert_eq!(flushes.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A read whose sector cannot be read: ERR with UNC, no data phase.
        lba28(&mut c, &mut irq, 9, 1, 0x20);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_UNC);
        assert_eq!(c.read16(&mut irq), 0xFFFF);
        // Two sectors: the good first block is transferred, then the command fails.
        lba28(&mut c, &mut irq, 8, 2, 0x20);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        assert_eq!(read_block(&mut c, &mut irq, SECTOR), sector_bytes(8));
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_UNC);
        // Sectors around it still read.
        lba28(&mut c, &mut irq, 10, 1, 0x20);
        assert_eq!(read_block(&mut c, &mut irq, SECTOR), sector_bytes(10));
        // Host disk full: the data-out block ends with ERR/ABRT, not a silent success.
        let mut c = IdeChannel::new(IRQ);
        c.attach(
            0,
            Box::new(Failing {
                inner: crate::block::MemDisk::new(image(64)),
                bad_read: u64::MAX,
                full: true,
                flushes: flushes.clone(),
            }),
        );
        lba28(&mut c, &mut irq, 3, 1, 0x30);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        for _ in 0..256 {
            c.write16(0x1111, &mut irq);
        }
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_ABRT);
        assert!(!c.dirty(0));
        c.write(7, 0xE7, &mut irq);
        assert_eq!(
            c.read(7, &mut irq),
            ST_READY | ST_ERR,
            "flush of a full disk fails"
        );
    }

    #[test]
    fn lba28_read() {
        let (mut c, mut irq) = channel();
        lba28(&mut c, &mut irq, 2019, 2, 0x20);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        let data = read_block(&mut c, &mut irq, 2 * SECTOR);
        assert_eq!(&data[..SECTOR], &sector_bytes(2019)[..]);
        assert_eq!(&data[SECTOR..], &sector_bytes(2020)[..]);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        // Reading on after the transfer gives nothing.
        assert_eq!(c.read16(&mut irq), 0xFFFF);
    }

    #[test]
    fn lba48_read_and_hob_readback() {
        let (mut c, mut irq) = channel();
        // Sector count 0x0002, LBA 0x0000_0000_05DC (1500): each register is written
        // twice, high-order byte first.
        for (reg, hob, cur) in [(2, 0x00, 0x02), (3, 0x00, 0xDC), (4, 0x00, 0x05), (5, 0, 0)] {
            c.write(reg, hob, &mut irq);
            c.write(reg, cur, &mut irq);
        }
        c.write(6, 0x40, &mut irq);
        c.write(8, DC_HOB, &mut irq);
        assert_eq!(c.read(3, &mut irq), 0x00);
        c.write(8, 0, &mut irq);
        assert_eq!(c.read(3, &mut irq), 0xDC);
        c.write(7, 0x24, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        assert_eq!(read_block(&mut c, &mut irq, SECTOR), sector_bytes(1500));
        assert_eq!(read_block(&mut c, &mut irq, SECTOR), sector_bytes(1501));
        assert_eq!(irq.rises(IRQ), 2);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        // A nonzero previous LBA low byte puts the address at 2^24 + 1500: IDNF.
        c.write(3, 0x01, &mut irq);
        c.write(3, 0xDC, &mut irq);
        c.write(7, 0x24, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_IDNF);
    }

    #[test]
    fn write_then_read_back_sets_dirty() {
        let (mut c, mut irq) = channel();
        assert!(!c.dirty(0));
        lba28(&mut c, &mut irq, 10, 2, 0x30);
        // Data-out: DRQ at once, no interrupt before the first block.
        assert_eq!(c.read(8, &mut irq), ST_READY | ST_DRQ);
        assert_eq!(irq.rises(IRQ), 0);
        for i in 0..256u16 {
            c.write16(i.wrapping_mul(3), &mut irq);
        }
        assert_eq!(irq.rises(IRQ), 1);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        for i in 0..256u16 {
            c.write16(0xAA55 ^ i, &mut irq);
        }
        assert_eq!(irq.rises(IRQ), 2);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        assert!(c.dirty(0));
        let img = contents(&mut c, 0);
        assert_eq!(&img[10 * SECTOR..10 * SECTOR + 4], &[0, 0, 3, 0]);
        assert_eq!(&img[12 * SECTOR..13 * SECTOR], &sector_bytes(12)[..]);
        lba28(&mut c, &mut irq, 11, 1, 0x20);
        let back = read_block(&mut c, &mut irq, SECTOR);
        let want: Vec<u8> = (0..256u16)
            .flat_map(|i| (0xAA55 ^ i).to_le_bytes())
            .collect();
        assert_eq!(back, want);
        let taken = c.take_image(0).unwrap();
        assert_eq!(taken.sectors(), SECTORS as u64);
        assert!(!c.present(0));
        assert!(!c.dirty(0));
    }

    #[test]
    fn lba48_write() {
        let (mut c, mut irq) = channel();
        for (reg, hob, cur) in [(2, 0, 1), (3, 0, 7), (4, 0, 0), (5, 0, 0)] {
            c.write(reg, hob, &mut irq);
            c.write(reg, cur, &mut irq);
        }
        c.write(6, 0x40, &mut irq);
        c.write(7, 0x34, &mut irq);
        for _ in 0..256 {
            c.write16(0x1234, &mut irq);
        }
        assert_eq!(c.read(7, &mut irq), ST_READY);
        assert_eq!(
            &contents(&mut c, 0)[7 * SECTOR..7 * SECTOR + 2],
            &[0x34, 0x12]
        );
    }

    #[test]
    fn multiple_mode_blocks() {
        let (mut c, mut irq) = channel();
        // READ MULTIPLE before SET MULTIPLE MODE aborts.
        lba28(&mut c, &mut irq, 0, 10, 0xC4);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_ABRT);
        // Not a power of two.
        c.write(2, 3, &mut irq);
        c.write(7, 0xC6, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        c.write(2, 4, &mut irq);
        c.write(7, 0xC6, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        let base = irq.rises(IRQ);
        // Ten sectors in blocks of 4, 4, 2: one interrupt per block.
        lba28(&mut c, &mut irq, 100, 10, 0xC4);
        for (i, n) in [4usize, 4, 2].into_iter().enumerate() {
            assert_eq!(irq.rises(IRQ), base + i + 1);
            assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
            let data = read_block(&mut c, &mut irq, n * SECTOR);
            for (k, s) in data.chunks(SECTOR).enumerate() {
                assert_eq!(s, &sector_bytes(100 + 4 * i + k)[..]);
            }
        }
        assert_eq!(irq.rises(IRQ), base + 3);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        // WRITE MULTIPLE: 6 sectors in blocks of 4 and 2, an interrupt after each.
        let base = irq.rises(IRQ);
        lba28(&mut c, &mut irq, 200, 6, 0xC5);
        for _ in 0..4 * 256 {
            c.write16(0xBEEF, &mut irq);
        }
        assert_eq!(irq.rises(IRQ), base + 1);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        for _ in 0..2 * 256 {
            c.write16(0xBEEF, &mut irq);
        }
        assert_eq!(irq.rises(IRQ), base + 2);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        let img = contents(&mut c, 0);
        assert!(img[200 * SECTOR..206 * SECTOR]
            .chunks(2)
            .all(|p| p == [0xEF, 0xBE]));
        assert_eq!(&img[206 * SECTOR..207 * SECTOR], &sector_bytes(206)[..]);
    }

    #[test]
    fn irq_cleared_by_status_not_alt_status() {
        let (mut c, mut irq) = channel();
        lba28(&mut c, &mut irq, 0, 1, 0x20);
        assert!(irq.levels[IRQ as usize]);
        assert_eq!(c.read(8, &mut irq), ST_READY | ST_DRQ);
        assert!(irq.levels[IRQ as usize], "alt status leaves INTRQ");
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        assert!(!irq.levels[IRQ as usize]);
        assert_eq!(irq.changes, vec![(IRQ, true), (IRQ, false)]);
    }

    #[test]
    fn nien_masks_interrupt() {
        let (mut c, mut irq) = channel();
        c.write(8, DC_NIEN, &mut irq);
        lba28(&mut c, &mut irq, 0, 1, 0x20);
        assert!(irq.changes.is_empty());
        // The request is still pending and shows once nIEN clears.
        c.write(8, 0, &mut irq);
        assert!(irq.levels[IRQ as usize]);
        c.read(7, &mut irq);
        assert!(!irq.levels[IRQ as usize]);
    }

    #[test]
    fn out_of_range_is_idnf() {
        let (mut c, mut irq) = channel();
        // The last sector is 2020; two from there run off the end.
        lba28(&mut c, &mut irq, 2020, 2, 0x20);
        assert!(irq.levels[IRQ as usize]);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_IDNF);
        assert_eq!(c.read16(&mut irq), 0xFFFF);
        lba28(&mut c, &mut irq, 2020, 1, 0x40);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        // Sector count 0 means 256 sectors.
        lba28(&mut c, &mut irq, 1900, 0, 0x40);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_IDNF);
        lba28(&mut c, &mut irq, 1765, 0, 0x40);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        // CHS sector 0 does not exist.
        c.write(3, 0, &mut irq);
        c.write(6, 0xA0, &mut irq);
        c.write(7, 0x20, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_IDNF);
        // Cylinder 2 is beyond the two full ones.
        c.write(3, 1, &mut irq);
        c.write(4, 2, &mut irq);
        c.write(7, 0x20, &mut irq);
        assert_eq!(c.read(1, &mut irq), ER_IDNF);
    }

    #[test]
    fn set_features_transfer_mode_shows_in_identify_words_63_and_88() {
        let (mut c, mut irq) = channel();
        let w = identify(&mut c, &mut irq);
        // ATA-6 8.15: word 49 bit 8 DMA supported, word 53 bit 2 word 88 valid; word 63
        // bits 2:0 MWDMA 0-2 supported, word 88 bits 5:0 UDMA 0-5; none selected yet.
        assert_eq!(
            (w[49] & 0x0100, w[53] & 4, w[63], w[88]),
            (0x0100, 4, 0x0007, 0x003F)
        );
        let set_mode = |c: &mut IdeChannel, irq: &mut IrqLog, mode: u8| {
            c.write(1, 0x03, irq);
            c.write(2, mode, irq);
            c.write(7, 0xEF, irq);
            c.read(7, irq)
        };
        // 22h = multiword DMA mode 2: word 63 bit 10 (8 + 2) selected.
        assert_eq!(set_mode(&mut c, &mut irq, 0x22), ST_READY);
        let w = identify(&mut c, &mut irq);
        assert_eq!((w[63], w[88]), (0x0407, 0x003F));
        // 45h = Ultra DMA mode 5: word 88 bit 13 (8 + 5).
        assert_eq!(set_mode(&mut c, &mut irq, 0x45), ST_READY);
        let w = identify(&mut c, &mut irq);
        assert_eq!((w[63], w[88]), (0x0007, 0x203F));
        // Ultra DMA mode 7 does not exist here: aborted.
        assert_eq!(set_mode(&mut c, &mut irq, 0x47), ST_READY | ST_ERR);
    }

    #[test]
    fn unknown_and_packet_commands_abort() {
        let (mut c, mut irq) = channel();
        // C7h is READ DMA QUEUED, which needs tagged queuing we do not offer.
        for cmd in [0x55, 0xA1, 0xC7, 0x00] {
            let before = irq.rises(IRQ);
            c.write(7, cmd, &mut irq);
            assert_eq!(irq.rises(IRQ), before + 1);
            assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR, "command {cmd:#x}");
            assert_eq!(c.read(1, &mut irq), ER_ABRT);
        }
        // A good command clears the error.
        c.write(7, 0xE7, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        assert_eq!(c.read(1, &mut irq), 0);
        c.write(7, 0xE5, &mut irq);
        assert_eq!(c.read(2, &mut irq), 0xFF);
    }

    #[test]
    fn absent_slave() {
        let (mut c, mut irq) = channel();
        c.write(6, 0xB0, &mut irq);
        assert_eq!(c.read(7, &mut irq), 0);
        assert_eq!(c.read(8, &mut irq), 0);
        c.write(7, 0xEC, &mut irq);
        assert!(irq.changes.is_empty());
        assert_eq!(c.read(7, &mut irq), 0);
        assert_eq!(c.read16(&mut irq), 0xFFFF);
        assert_eq!(c.read(6, &mut irq), 0xB0);
        c.write(6, 0xA0, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        // A slave attached later answers.
        c.attach(1, mem(image(4)));
        c.write(6, 0xB0, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        c.write(2, 1, &mut irq);
        c.write(3, 3, &mut irq);
        c.write(4, 0, &mut irq);
        c.write(5, 0, &mut irq);
        c.write(6, 0xF0, &mut irq);
        c.write(7, 0x20, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        assert_eq!(read_block(&mut c, &mut irq, SECTOR), sector_bytes(3));
    }

    #[test]
    fn srst_signature() {
        let (mut c, mut irq) = channel();
        c.attach(1, mem(image(4)));
        lba28(&mut c, &mut irq, 5, 3, 0x20);
        c.write(6, 0xB0, &mut irq);
        c.write(8, DC_SRST, &mut irq);
        assert!(!irq.levels[IRQ as usize], "reset drops INTRQ");
        assert_eq!(c.read(8, &mut irq), ST_BSY);
        // Writes are ignored while busy.
        c.write(2, 0x77, &mut irq);
        c.write(8, 0, &mut irq);
        assert_eq!(c.read(2, &mut irq), 1);
        assert_eq!(c.read(3, &mut irq), 1);
        assert_eq!(c.read(4, &mut irq), 0);
        assert_eq!(c.read(5, &mut irq), 0);
        assert_eq!(c.read(6, &mut irq), 0xA0);
        assert_eq!(c.read(1, &mut irq), 0x01);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        assert_eq!(c.read16(&mut irq), 0xFFFF, "transfer abandoned");
        assert_eq!(irq.rises(IRQ), 1, "only the read's interrupt");
    }

    #[test]
    fn random_port_sequences_do_not_panic() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..40 {
            let mut c = IdeChannel::new(15);
            let mut irq = IrqLog::default();
            // Odd sizes: empty, partial sectors, a few sectors, two cylinders.
            let sizes = [0, 700, 3 * SECTOR, 2017 * SECTOR + 3];
            c.attach(0, mem(vec![0x5A; sizes[round % 4]]));
            if round % 3 == 0 {
                c.attach(1, mem(vec![0; sizes[(round / 4) % 4]]));
            }
            for _ in 0..20_000 {
                let r = next();
                let offset = (r % 10) as u16;
                let value = (r >> 8) as u8;
                // Favour commands the model implements.
                let value = if offset == 7 && r & 0x10000 != 0 {
                    [
                        0x20, 0x24, 0x30, 0x34, 0xC4, 0xC5, 0xC6, 0x91, 0xEC, 0x40, 0x29, 0x39,
                    ][((r >> 20) % 12) as usize]
                } else {
                    value
                };
                match (r >> 32) % 4 {
                    0 => {
                        c.read(offset, &mut irq);
                    }
                    1 => c.write(offset, value, &mut irq),
                    2 => {
                        c.read16(&mut irq);
                    }
                    _ => c.write16(r as u16, &mut irq),
                }
            }
            assert_eq!(c.next_event(0), None);
        }
    }
}
