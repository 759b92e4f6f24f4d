//! Intel 82077AA floppy disk controller in PC/AT mode at 0x3F0–0x3F5 and 0x3F7 (0x3F6
//! belongs to the IDE controller), on IRQ 6 and DMA channel 2, with two drives (A:, B:).
//! Follows the 82077AA datasheet (Intel 290166): the register descriptions (DOR drive
//! select, motor enables, DMA/interrupt gate and /RESET; MSR RQM/DIO/NON-DMA/CMD BUSY and
//! drive busy bits; DSR data rate and software reset; DIR disk change; CCR), the
//! command/execution/result phases, the command set (READ DATA, READ TRACK, WRITE DATA,
//! READ ID, FORMAT TRACK, RECALIBRATE, SEEK with relative seek, SENSE INTERRUPT STATUS,
//! SENSE DRIVE STATUS, SPECIFY, CONFIGURE, VERSION, DUMPREG, LOCK, PERPENDICULAR MODE),
//! the ST0–ST3 encodings, the result-phase C/H/R table for multi-track transfers, the four
//! polling "ready changed" statuses after a reset, and non-DMA transfers with one
//! interrupt per byte (FIFO disabled, the reset default).
//!
//! Timing: the chip's work is done in virtual time but never inside the port write that
//! issues a command: seeks report after [`SEEK_NS`], data commands run after [`EXEC_NS`],
//! the post-reset polling interrupt comes [`RESET_NS`] after /RESET is released, so a
//! guest always gets its interrupt after the command byte. The machine calls
//! [`Fdc::tick`] at [`Fdc::next_event`] and passes the [`Dma`] and guest memory there;
//! a whole DMA transfer (every sector up to terminal count or the end of the track) then
//! completes in one go. Port reads and writes need neither.
//!
//! Images are raw 512-byte sectors in C/H/S order; the geometry comes from the size. Each
//! format accepts only its data rates (DSR/CCR), and MFM only: a mismatch finds no
//! address mark, as on hardware. Drive motors are not modelled (data moves with motors
//! off); deleted-data, scan and verify commands are invalid (ST0 = 80h).
//!
//! Log target: `fdc`.

use crate::block::{BlockDevice, BlockError};
use crate::dma::{Dma, DmaMemory};
use crate::{Irq, Nanos};

/// ISA interrupt line of the floppy controller.
pub const IRQ_LINE: u8 = 6;
/// 8237A channel of the floppy controller.
pub const DMA_CHANNEL: usize = 2;
/// Drives attached (A: and B:); drive numbers 2 and 3 have no drive.
pub const DRIVES: usize = 2;
/// The ports the machine should route to [`Fdc`] (0x3F6 is IDE's).
pub const PORTS: [u16; 7] = [0x3F0, 0x3F1, 0x3F2, 0x3F3, 0x3F4, 0x3F5, 0x3F7];

/// Delay from the last byte of SEEK/RECALIBRATE to the seek-end interrupt.
pub const SEEK_NS: Nanos = 100_000;
/// Delay from the last command byte of a data command to its execution.
pub const EXEC_NS: Nanos = 100_000;
/// Delay from the end of reset to the polling interrupt.
pub const RESET_NS: Nanos = 50_000;

const SECTOR: usize = 512;
/// Sector size code of every sector on our images (128 × 2² = 512).
const SECTOR_N: u8 = 2;

const SRA: u16 = 0x3F0;
const SRB: u16 = 0x3F1;
const DOR: u16 = 0x3F2;
const TDR: u16 = 0x3F3;
const MSR_DSR: u16 = 0x3F4;
const FIFO: u16 = 0x3F5;
const DIR_CCR: u16 = 0x3F7;

const DOR_SELECT: u8 = 0x03;
const DOR_NRESET: u8 = 0x04;
/// In PC/AT mode INT and DRQ are only driven while this bit is set.
const DOR_DMA_GATE: u8 = 0x08;

const MSR_RQM: u8 = 0x80;
const MSR_DIO: u8 = 0x40;
const MSR_NON_DMA: u8 = 0x20;
const MSR_CB: u8 = 0x10;

const DSR_SW_RESET: u8 = 0x80;
const RATE_MASK: u8 = 0x03;
/// Data rate codes (DSR/CCR bits 1–0).
const RATE_500K: u8 = 0;
const RATE_300K: u8 = 1;
const RATE_250K: u8 = 2;
const RATE_1M: u8 = 3;

const DIR_DSKCHG: u8 = 0x80;

const ST0_ABNORMAL: u8 = 0x40;
const ST0_INVALID: u8 = 0x80;
/// IC = 11: ready line changed, what polling reports after a reset.
const ST0_READY_CHANGED: u8 = 0xC0;
const ST0_SEEK_END: u8 = 0x20;
const ST0_EQUIPMENT_CHECK: u8 = 0x10;
const ST0_HEAD: u8 = 0x04;

const ST1_END_OF_CYLINDER: u8 = 0x80;
/// CRC error: what a sector the image's backend could not read or write reports.
const ST1_DATA_ERROR: u8 = 0x20;
const ST1_OVERRUN: u8 = 0x10;
const ST1_NO_DATA: u8 = 0x04;
const ST1_NOT_WRITABLE: u8 = 0x02;
const ST1_MISSING_AM: u8 = 0x01;

const ST2_DATA_ERROR_IN_DATA: u8 = 0x20;
const ST2_WRONG_CYLINDER: u8 = 0x10;
const ST2_BAD_CYLINDER: u8 = 0x02;

const ST3_WRITE_PROTECT: u8 = 0x40;
const ST3_READY: u8 = 0x20;
const ST3_TRACK0: u8 = 0x10;
const ST3_TWO_SIDE: u8 = 0x08;

// Command byte 0 flags.
const CMD_MT: u8 = 0x80;
const CMD_MFM: u8 = 0x40;
/// SEEK with bit 7 set is a relative seek; bit 6 then gives the direction (1 = inward).
const SEEK_RELATIVE: u8 = 0x80;
const SEEK_INWARD: u8 = 0x40;

// CONFIGURE byte 2 (also DUMPREG byte 9).
#[allow(dead_code)] // stored and dumped, but seeks are always implied (see `command`)
const CFG_EIS: u8 = 0x40;
const CFG_EFIFO: u8 = 0x20;
/// The CONFIGURE bits that survive a software reset while LOCK is set
/// (EFIFO and FIFOTHR; PRETRK is kept separately).
const CFG_LOCKED_BITS: u8 = 0x2F;
const CFG_RESET: u8 = CFG_EFIFO;
/// PERPENDICULAR MODE: GAP and WGATE (bits 1–0) are cleared by a software reset.
const PERP_DRIVES: u8 = 0x3C;
const PERP_OVERWRITE: u8 = 0x80;

/// VERSION answers 90h on the 82077AA (the 8272A/765 says "invalid", 80h).
const VERSION_82077: u8 = 0x90;

/// A floppy format: image size → geometry and the data rates it is read at.
struct Format {
    size: usize,
    cyls: u8,
    heads: u8,
    spt: u8,
    rates: &'static [u8],
}

/// 40-track formats read at 300 kb/s in a 1.2M drive or 250 kb/s in a 360K drive.
const DD40: &[u8] = &[RATE_300K, RATE_250K];
const FORMATS: [Format; 9] = [
    fmt(163_840, 40, 1, 8, DD40),
    fmt(184_320, 40, 1, 9, DD40),
    fmt(327_680, 40, 2, 8, DD40),
    fmt(368_640, 40, 2, 9, DD40),
    fmt(737_280, 80, 2, 9, &[RATE_250K]),
    fmt(1_228_800, 80, 2, 15, &[RATE_500K]),
    fmt(1_474_560, 80, 2, 18, &[RATE_500K]),
    // Microsoft DMF: 21 sectors per track at the 1.44M rate.
    fmt(1_720_320, 80, 2, 21, &[RATE_500K]),
    fmt(2_949_120, 80, 2, 36, &[RATE_1M]),
];

const fn fmt(size: usize, cyls: u8, heads: u8, spt: u8, rates: &'static [u8]) -> Format {
    Format {
        size,
        cyls,
        heads,
        spt,
        rates,
    }
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Disk {
    #[serde(skip, default = "crate::state::detached")]
    image: Box<dyn BlockDevice>,
    cyls: u8,
    heads: u8,
    spt: u8,
    #[serde(skip)]
    rates: &'static [u8],
    write_protected: bool,
}

impl Disk {
    fn sectors(&self) -> u64 {
        u64::from(self.cyls) * u64::from(self.heads) * u64::from(self.spt)
    }

    /// Byte offset of physical sector (c, h, r), r counting from 1.
    fn offset(&self, c: u8, h: u8, r: u8) -> Option<usize> {
        if c >= self.cyls || h >= self.heads || r == 0 || r > self.spt {
            return None;
        }
        let lba = (usize::from(c) * usize::from(self.heads) + usize::from(h))
            * usize::from(self.spt)
            + usize::from(r)
            - 1;
        Some(lba * SECTOR)
    }
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Drive {
    disk: Option<Disk>,
    /// The disk change line (DIR bit 7): set on power-up and when a disk is removed,
    /// cleared by a step with a disk in the drive.
    changed: bool,
}

/// DE in ST1 and DD in ST2: the data field's CRC did not check.
const fn data_error() -> Fault {
    Fault {
        st2: ST2_DATA_ERROR_IN_DATA,
        ..st1(ST1_DATA_ERROR)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Kind {
    Read,
    ReadTrack,
    Write,
    Format,
    ReadId,
}

/// A data command in execution: the sector ID being transferred and its limits.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Op {
    kind: Kind,
    drive: usize,
    /// Physical head (HDS bit of byte 1).
    head: u8,
    c: u8,
    h: u8,
    r: u8,
    n: u8,
    eot: u8,
    mt: bool,
    mfm: bool,
    /// FORMAT TRACK: sectors per track and fill byte.
    sc: u8,
    fill: u8,
}

impl Op {
    /// The sector ID after this one and whether the transfer goes on to it (datasheet
    /// result-phase table): R+1 below EOT; at EOT with MT on head 0 the other head's
    /// sector 1 (H complemented, C kept); otherwise the end of the cylinder, C+1, R=1,
    /// with H complemented when MT is set.
    fn next(&self) -> (Op, bool) {
        let mut o = *self;
        if self.r != self.eot {
            o.r = self.r.wrapping_add(1);
            return (o, true);
        }
        o.r = 1;
        if self.mt {
            o.h ^= 1;
            if self.head == 0 {
                o.head = 1;
                return (o, true);
            }
        }
        o.c = self.c.wrapping_add(1);
        (o, false)
    }
}

/// Status bits of a failed command (ST0 interrupt code is added by `finish`).
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Fault {
    st0: u8,
    st1: u8,
    st2: u8,
}

const fn st1(bits: u8) -> Fault {
    Fault {
        st0: ST0_ABNORMAL,
        st1: bits,
        st2: 0,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Phase {
    Command,
    Execution,
    Result,
}

/// The floppy controller and its two drives.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Fdc {
    drives: [Drive; DRIVES],
    /// Present cylinder number of drives 0–3 (the drive's head sits there).
    pcn: [u8; 4],
    /// ST0 waiting for SENSE INTERRUPT STATUS, per drive.
    sense: [Option<u8>; 4],
    /// Seek or recalibrate completing at, per drive, with its ST0.
    seeking: [Option<(Nanos, u8)>; 4],
    reset_poll_at: Option<Nanos>,
    exec_at: Option<Nanos>,
    dor: u8,
    tdr: u8,
    rate: u8,
    in_reset: bool,
    specify: [u8; 2],
    config: u8,
    pretrk: u8,
    lock: bool,
    perpendicular: u8,
    last_eot: u8,
    phase: Phase,
    cmd: Vec<u8>,
    cmd_len: usize,
    result: Vec<u8>,
    result_pos: usize,
    op: Option<Op>,
    /// Non-DMA execution: the sector (or format IDs) moving through the FIFO.
    pio: bool,
    buf: Vec<u8>,
    buf_len: usize,
    int: bool,
    /// INT went low and maybe high again inside one port access.
    pulse: bool,
    line: bool,
}

impl Default for Fdc {
    fn default() -> Self {
        Self::new()
    }
}

impl Fdc {
    /// Replaces this controller's state with `saved` (a deserialised snapshot), keeping
    /// the inserted disk backends. Fails, changing nothing, when the snapshot's drives
    /// hold disks of other geometries or none.
    pub fn restore(&mut self, mut saved: Fdc) -> Result<(), String> {
        for (i, (a, b)) in self.drives.iter().zip(&saved.drives).enumerate() {
            let same = match (&a.disk, &b.disk) {
                (Some(a), Some(b)) => (a.cyls, a.heads, a.spt) == (b.cyls, b.heads, b.spt),
                (None, None) => true,
                _ => false,
            };
            if !same {
                return Err(format!("floppy drive {i} holds another disk"));
            }
        }
        for (a, b) in self.drives.iter_mut().zip(saved.drives.iter_mut()) {
            if let (Some(a), Some(b)) = (&mut a.disk, &mut b.disk) {
                std::mem::swap(&mut a.image, &mut b.image);
                b.rates = a.rates;
            }
        }
        *self = saved;
        Ok(())
    }

    /// The controller as a PC BIOS leaves it after POST: out of reset with the DMA and
    /// interrupt gate on (DOR = 0Ch), 500 kb/s, no drives' statuses pending, empty drives.
    pub fn new() -> Fdc {
        // Drives raise the disk change line at power-up.
        let drive = || Drive {
            disk: None,
            changed: true,
        };
        Fdc {
            drives: [drive(), drive()],
            pcn: [0; 4],
            sense: [None; 4],
            seeking: [None; 4],
            reset_poll_at: None,
            exec_at: None,
            dor: DOR_NRESET | DOR_DMA_GATE,
            tdr: 0,
            rate: RATE_500K,
            in_reset: false,
            specify: [0; 2],
            config: CFG_RESET,
            pretrk: 0,
            lock: false,
            perpendicular: 0,
            last_eot: 0,
            phase: Phase::Command,
            cmd: Vec::new(),
            cmd_len: 0,
            result: Vec::new(),
            result_pos: 0,
            op: None,
            pio: false,
            buf: Vec::new(),
            buf_len: 0,
            int: false,
            pulse: false,
            line: false,
        }
    }

    /// Every port this device answers, for the machine's port table.
    pub fn ports() -> &'static [u16] {
        &PORTS
    }

    /// Inserts a raw image into drive 0 or 1; the geometry comes from its size. The disk
    /// change line goes active, as a disk swap leaves it until the next step.
    pub fn attach(
        &mut self,
        drive: usize,
        image: Box<dyn BlockDevice>,
        write_protected: bool,
    ) -> Result<(), String> {
        let Some(d) = self.drives.get_mut(drive) else {
            return Err(format!(
                "no floppy drive {drive}; drives are 0 (A:) and 1 (B:)"
            ));
        };
        let len = image.sectors().saturating_mul(SECTOR as u64);
        let Some(f) = FORMATS.iter().find(|f| f.size as u64 == len) else {
            return Err(format!(
                "floppy image is {} bytes; expected 160K, 180K, 320K, 360K, 720K, 1.2M, 1.44M, 1.68M (DMF) or 2.88M (163840, 184320, 327680, 368640, 737280, 1228800, 1474560, 1720320 or 2949120 bytes)",
                len
            ));
        };
        let write_protected = write_protected || image.read_only();
        d.disk = Some(Disk {
            image,
            cyls: f.cyls,
            heads: f.heads,
            spt: f.spt,
            rates: f.rates,
            write_protected,
        });
        d.changed = true;
        Ok(())
    }

    /// Removes a drive's disk and returns its image; the disk change line goes active.
    pub fn eject(&mut self, drive: usize) -> Option<Box<dyn BlockDevice>> {
        let d = self.drives.get_mut(drive)?;
        d.changed = true;
        d.disk.take().map(|d| d.image)
    }

    fn disk(&self, drive: usize) -> Option<&Disk> {
        self.drives.get(drive)?.disk.as_ref()
    }

    fn disk_mut(&mut self, drive: usize) -> Option<&mut Disk> {
        self.drives.get_mut(drive)?.disk.as_mut()
    }

    /// The image of the disk in `drive`, for machine state files (identity and
    /// `--snapshot` overlay).
    pub fn image_mut(&mut self, drive: usize) -> Option<&mut dyn BlockDevice> {
        Some(self.disk_mut(drive)?.image.as_mut())
    }

    /// Whether a disk is in `drive`.
    pub fn present(&self, drive: usize) -> bool {
        self.disk(drive).is_some()
    }

    /// (cylinders, heads, sectors per track) of the disk in `drive`.
    pub fn geometry(&self, drive: usize) -> Option<(u8, u8, u8)> {
        self.disk(drive).map(|d| (d.cyls, d.heads, d.spt))
    }

    /// Flushes the backend of the disk in `drive` (nothing to do without a disk).
    pub fn flush(&mut self, drive: usize) -> Result<(), BlockError> {
        match self.disk_mut(drive) {
            Some(d) => d.image.flush(),
            None => Ok(()),
        }
    }

    /// Whether the disk has been written since it was attached.
    pub fn dirty(&self, drive: usize) -> bool {
        self.disk(drive).is_some_and(|d| d.image.dirty())
    }

    pub fn write_protected(&self, drive: usize) -> bool {
        self.disk(drive).is_some_and(|d| d.write_protected)
    }

    /// The drive's disk change line (what DIR bit 7 shows when it is selected).
    pub fn disk_changed(&self, drive: usize) -> bool {
        self.drives.get(drive).is_some_and(|d| d.changed)
    }

    /// Clears the disk change line if a disk is present, as the step a BIOS issues does.
    pub fn clear_disk_changed(&mut self, drive: usize) {
        if let Some(d) = self.drives.get_mut(drive) {
            d.changed &= d.disk.is_none();
        }
    }

    /// `count` sectors from `lba`, for the BIOS's INT 13h; None past the end or without
    /// a disk.
    pub fn read_sectors(&mut self, drive: usize, lba: u64, count: u64) -> Option<Vec<u8>> {
        let d = self.disk_mut(drive)?;
        if lba.checked_add(count)? > d.sectors() {
            return None;
        }
        let mut buf = vec![0; usize::try_from(count).ok()?.checked_mul(SECTOR)?];
        d.image.read(lba, &mut buf).ok()?;
        Some(buf)
    }

    /// Writes whole sectors from `lba` and marks the disk dirty. False without a disk,
    /// past the end, on a write-protected disk, or if `data` is not whole sectors.
    pub fn write_sectors(&mut self, drive: usize, lba: u64, data: &[u8]) -> bool {
        let Some(d) = self.disk_mut(drive) else {
            return false;
        };
        let count = (data.len() / SECTOR) as u64;
        if d.write_protected
            || !data.len().is_multiple_of(SECTOR)
            || lba.saturating_add(count) > d.sectors()
        {
            return false;
        }
        d.image.write(lba, data).is_ok()
    }

    /// When [`Fdc::tick`] next has work: a seek ending, a command executing, the
    /// post-reset poll.
    pub fn next_event(&self, _now: Nanos) -> Option<Nanos> {
        let seeks = self.seeking.iter().flatten().map(|&(t, _)| t);
        seeks.chain(self.exec_at).chain(self.reset_poll_at).min()
    }

    /// Runs whatever is due at `now`. DMA transfers happen here, on channel 2 of `dma`
    /// against `mem`.
    pub fn tick(
        &mut self,
        now: Nanos,
        dma: &mut Dma,
        mem: &mut impl DmaMemory,
        irq: &mut impl Irq,
    ) {
        if self.reset_poll_at.is_some_and(|t| t <= now) {
            self.reset_poll_at = None;
            // Polling after reset reports a ready change for each of the four drives.
            for (d, s) in self.sense.iter_mut().enumerate() {
                *s = Some(ST0_READY_CHANGED | d as u8);
            }
            self.int = true;
        }
        for d in 0..4 {
            if let Some((t, st0)) = self.seeking[d] {
                if t <= now {
                    log::trace!(target: "fdc", "drive {d}: seek done at cylinder {}", self.pcn[d]);
                    self.seeking[d] = None;
                    self.sense[d] = Some(st0);
                    self.int = true;
                }
            }
        }
        if self.exec_at.is_some_and(|t| t <= now) {
            self.exec_at = None;
            self.execute(dma, mem);
        }
        self.update_irq(irq);
    }

    pub fn read(&mut self, port: u16, irq: &mut impl Irq) -> u8 {
        let v = self.read_port(port);
        self.update_irq(irq);
        log::trace!(target: "fdc", "read {port:#06x} -> {v:#04x}");
        v
    }

    fn read_port(&mut self, port: u16) -> u8 {
        match port {
            // Status registers A and B exist only in PS/2 and Model 30 modes.
            SRA | SRB => 0xFF,
            DOR => self.dor,
            TDR => self.tdr & 3,
            MSR_DSR => self.msr(),
            FIFO => self.read_fifo(),
            DIR_CCR => {
                let sel = usize::from(self.dor & DOR_SELECT);
                if self.disk_changed(sel) {
                    DIR_DSKCHG
                } else {
                    0
                }
            }
            _ => 0xFF,
        }
    }

    pub fn write(&mut self, port: u16, v: u8, now: Nanos, irq: &mut impl Irq) {
        log::trace!(target: "fdc", "write {port:#06x} <- {v:#04x}");
        match port {
            DOR => {
                if v != self.dor {
                    log::debug!(
                        target: "fdc",
                        "dor {v:#04x}: drive {}, motors {:#03x}, dma/irq {}{}",
                        v & DOR_SELECT,
                        v >> 4,
                        if v & DOR_DMA_GATE != 0 { "on" } else { "off" },
                        if v & DOR_NRESET == 0 { ", reset" } else { "" }
                    );
                }
                self.dor = v;
                if v & DOR_NRESET == 0 {
                    self.enter_reset();
                } else if self.in_reset {
                    self.leave_reset(now);
                }
            }
            TDR => self.tdr = v,
            MSR_DSR => {
                self.log_rate(v);
                self.rate = v & RATE_MASK;
                // The DSR software reset clears itself (datasheet, DSR bit 7).
                if v & DSR_SW_RESET != 0 {
                    self.enter_reset();
                    if self.dor & DOR_NRESET != 0 {
                        self.leave_reset(now);
                    }
                }
            }
            FIFO if !self.in_reset => self.write_fifo(v, now),
            DIR_CCR => {
                self.log_rate(v);
                self.rate = v & RATE_MASK;
            }
            _ => {}
        }
        self.update_irq(irq);
    }

    fn log_rate(&self, v: u8) {
        if v & RATE_MASK != self.rate {
            log::debug!(
                target: "fdc",
                "data rate {}",
                match v & RATE_MASK {
                    RATE_500K => "500 kb/s",
                    RATE_300K => "300 kb/s",
                    RATE_250K => "250 kb/s",
                    _ => "1 mb/s",
                }
            );
        }
    }

    fn update_irq(&mut self, irq: &mut impl Irq) {
        // A non-DMA byte moved: INT drops before rising for the next byte.
        if std::mem::take(&mut self.pulse) && self.line {
            self.line = false;
            irq.set_irq(IRQ_LINE, false);
        }
        let level = self.int && self.dor & DOR_DMA_GATE != 0;
        if level != self.line {
            self.line = level;
            irq.set_irq(IRQ_LINE, level);
        }
    }

    fn non_dma(&self) -> bool {
        self.specify[1] & 1 != 0
    }

    fn msr(&self) -> u8 {
        if self.in_reset {
            return 0;
        }
        let busy = (0..4).fold(0, |m, d| {
            m | u8::from(
                self.seeking[d].is_some() || self.sense[d].is_some_and(|s| s & 0xC0 != 0xC0),
            ) << d
        });
        let phase = match self.phase {
            Phase::Command if self.cmd.is_empty() => MSR_RQM,
            Phase::Command => MSR_RQM | MSR_CB,
            Phase::Result => MSR_RQM | MSR_DIO | MSR_CB,
            Phase::Execution if self.pio => {
                let to_host = matches!(self.op.map(|o| o.kind), Some(Kind::Read | Kind::ReadTrack));
                MSR_RQM | MSR_NON_DMA | MSR_CB | if to_host { MSR_DIO } else { 0 }
            }
            Phase::Execution => MSR_CB,
        };
        phase | busy
    }

    /// /RESET asserted (DOR bit 2 low, or the DSR pulse): every command and status is
    /// dropped; CONFIGURE returns to its defaults unless LOCK is set.
    fn enter_reset(&mut self) {
        log::debug!(target: "fdc", "reset");
        self.in_reset = true;
        self.phase = Phase::Command;
        self.cmd.clear();
        self.result.clear();
        self.op = None;
        self.pio = false;
        self.exec_at = None;
        self.reset_poll_at = None;
        self.seeking = [None; 4];
        self.sense = [None; 4];
        self.int = false;
        self.config = if self.lock {
            self.config & CFG_LOCKED_BITS
        } else {
            self.pretrk = 0;
            CFG_RESET
        };
        self.perpendicular &= PERP_DRIVES;
    }

    /// Reset always clears POLL (LOCK does not keep it), so the polling interrupt
    /// after a reset always comes.
    fn leave_reset(&mut self, now: Nanos) {
        self.in_reset = false;
        self.reset_poll_at = Some(now.saturating_add(RESET_NS));
    }

    fn read_fifo(&mut self) -> u8 {
        match self.phase {
            Phase::Result => {
                // Reading the result phase clears the interrupt.
                self.int = false;
                let v = self.result.get(self.result_pos).copied().unwrap_or(0xFF);
                self.result_pos += 1;
                if self.result_pos >= self.result.len() {
                    self.phase = Phase::Command;
                    self.result.clear();
                }
                v
            }
            Phase::Execution if self.pio && self.msr() & MSR_DIO != 0 => {
                let i = self.buf.len().saturating_sub(self.buf_len);
                let v = self.buf.get(i).copied().unwrap_or(0xFF);
                self.buf_len = self.buf_len.saturating_sub(1);
                self.pio_byte_done();
                v
            }
            _ => 0xFF,
        }
    }

    fn write_fifo(&mut self, v: u8, now: Nanos) {
        match self.phase {
            Phase::Command => {
                if self.cmd.is_empty() {
                    self.cmd_len = command_len(v);
                }
                self.cmd.push(v);
                if self.cmd.len() >= self.cmd_len {
                    let cmd = std::mem::take(&mut self.cmd);
                    self.command(&cmd, now);
                }
            }
            Phase::Execution if self.pio && self.msr() & MSR_DIO == 0 => {
                if self.buf.len() < self.buf_len {
                    self.buf.push(v);
                }
                self.pio_byte_done();
            }
            // Writes while the FIFO is not requesting a byte are lost.
            _ => {}
        }
    }

    fn results(&mut self, bytes: &[u8]) {
        log::debug!(target: "fdc", "result {bytes:02x?}");
        self.result = bytes.to_vec();
        self.result_pos = 0;
        self.phase = Phase::Result;
    }

    fn command(&mut self, c: &[u8], now: Nanos) {
        log::debug!(target: "fdc", "command {} {c:02x?}", command_name(c[0]));
        let ds = usize::from(c.get(1).copied().unwrap_or(0) & 3);
        let hd = c.get(1).copied().unwrap_or(0) >> 2 & 1;
        match c[0] {
            0x03 => self.specify = [c[1], c[2]],
            0x04 => {
                let mut st3 = (hd * ST0_HEAD) | ds as u8;
                if ds < DRIVES {
                    st3 |= ST3_READY | ST3_TWO_SIDE;
                    if self.write_protected(ds) {
                        st3 |= ST3_WRITE_PROTECT;
                    }
                    if self.pcn[ds] == 0 {
                        st3 |= ST3_TRACK0;
                    }
                }
                self.results(&[st3]);
            }
            0x07 => {
                // Without a drive TRK0 never comes: after 79 steps, SE with EC.
                let st0 = if ds < DRIVES {
                    ST0_SEEK_END
                } else {
                    ST0_ABNORMAL | ST0_SEEK_END | ST0_EQUIPMENT_CHECK
                };
                self.start_seek(ds, 0, st0 | ds as u8, now);
            }
            0x08 => match (0..4).find(|&d| self.sense[d].is_some()) {
                Some(d) => {
                    let st0 = self.sense[d].take().unwrap_or(ST0_INVALID);
                    self.int = false;
                    self.results(&[st0, self.pcn[d]]);
                }
                // Nothing pending: SENSE INTERRUPT STATUS is an invalid command.
                None => self.results(&[ST0_INVALID]),
            },
            0x0E => {
                let r = [
                    self.pcn[0],
                    self.pcn[1],
                    self.pcn[2],
                    self.pcn[3],
                    self.specify[0],
                    self.specify[1],
                    self.last_eot,
                    u8::from(self.lock) << 7 | self.perpendicular,
                    self.config,
                    self.pretrk,
                ];
                self.results(&r);
            }
            0x10 => self.results(&[VERSION_82077]),
            0x12 => {
                let v = c[1];
                if v & PERP_OVERWRITE != 0 {
                    self.perpendicular = v & 0x3F;
                } else {
                    self.perpendicular = self.perpendicular & PERP_DRIVES | v & 0x03;
                }
            }
            0x13 => {
                self.config = c[2] & 0x7F;
                self.pretrk = c[3];
            }
            b if b & 0x7F == 0x14 => {
                self.lock = b & 0x80 != 0;
                self.results(&[u8::from(self.lock) << 4]);
            }
            b if b == 0x0F || b & 0xBF == 0x8F => {
                let p = self.pcn[ds];
                let target = if b & SEEK_RELATIVE == 0 {
                    c[2]
                } else if b & SEEK_INWARD != 0 {
                    p.saturating_add(c[2])
                } else {
                    p.saturating_sub(c[2])
                };
                self.start_seek(ds, target, ST0_SEEK_END | (hd * ST0_HEAD) | ds as u8, now);
            }
            b if c.len() >= 2 && command_len(b) > 1 => self.start_data(c, now),
            _ => self.results(&[ST0_INVALID]),
        }
    }

    /// SEEK and RECALIBRATE: the head moves at once, the seek-end status and interrupt
    /// come after SEEK_NS. A step with a disk in the drive clears its change line.
    fn start_seek(&mut self, drive: usize, target: u8, st0: u8, now: Nanos) {
        self.pcn[drive] = target;
        self.clear_disk_changed(drive);
        self.sense[drive] = None;
        self.seeking[drive] = Some((now.saturating_add(SEEK_NS), st0));
    }

    fn start_data(&mut self, c: &[u8], now: Nanos) {
        let b = c[0];
        let byte = |i: usize| c.get(i).copied().unwrap_or(0);
        let kind = match b & 0x1F {
            0x06 => Kind::Read,
            0x02 => Kind::ReadTrack,
            0x05 => Kind::Write,
            0x0D => Kind::Format,
            _ => Kind::ReadId,
        };
        let mut op = Op {
            kind,
            drive: usize::from(byte(1) & 3),
            head: byte(1) >> 2 & 1,
            c: byte(2),
            h: byte(3),
            r: byte(4),
            n: byte(5),
            eot: byte(6),
            mt: b & CMD_MT != 0 && matches!(kind, Kind::Read | Kind::Write),
            mfm: b & CMD_MFM != 0,
            sc: 0,
            fill: 0,
        };
        match kind {
            Kind::Format => {
                (op.c, op.h, op.r) = (self.pcn[op.drive], op.head, 1);
                op.n = byte(2);
                op.sc = byte(3);
                op.fill = byte(5);
            }
            Kind::ReadTrack => op.r = 1,
            _ => {}
        }
        if matches!(kind, Kind::Read | Kind::ReadTrack | Kind::Write) {
            self.last_eot = op.eot;
            // The 82077AA seeks by itself only with EIS (CONFIGURE); QEMU's and Bochs's
            // controllers always do (QEMU `fd_seek` has its "no implicit seek" check
            // compiled out), and the Bochs BIOS reads without seeking first, so this
            // model seeks implicitly too (cylinder FFh stays a bad-cylinder error).
            if op.c != 0xFF && self.pcn[op.drive] != op.c {
                self.pcn[op.drive] = op.c;
                self.clear_disk_changed(op.drive);
            }
        }
        self.op = Some(op);
        self.phase = Phase::Execution;
        self.exec_at = Some(now.saturating_add(EXEC_NS));
    }

    /// Ends a data command: the seven result bytes and the interrupt.
    fn finish(&mut self, op: &Op, f: Fault) {
        let st0 = f.st0 | ((op.head & 1) * ST0_HEAD) | op.drive as u8;
        self.results(&[st0, f.st1, f.st2, op.c, op.h, op.r, op.n]);
        self.op = None;
        self.pio = false;
        self.buf.clear();
        self.int = true;
    }

    /// Checks the drive can read IDs on the current track: a disk, the right data rate
    /// and MFM (otherwise no address mark is ever found), and a formatted track there.
    fn track_ok(&self, op: &Op) -> Result<&Disk, Fault> {
        let disk = self.disk(op.drive).ok_or(st1(ST1_MISSING_AM))?;
        let track = self.pcn[op.drive];
        if !op.mfm
            || !disk.rates.contains(&self.rate)
            || track >= disk.cyls
            || op.head >= disk.heads
        {
            return Err(st1(ST1_MISSING_AM));
        }
        Ok(disk)
    }

    /// Finds the sector whose ID matches C/H/R/N on the current track.
    fn locate(&self, op: &Op) -> Result<usize, Fault> {
        let disk = self.track_ok(op)?;
        let track = self.pcn[op.drive];
        if op.c != track {
            let st2 = if op.c == 0xFF {
                ST2_BAD_CYLINDER
            } else {
                ST2_WRONG_CYLINDER
            };
            return Err(Fault {
                st2,
                ..st1(ST1_NO_DATA)
            });
        }
        if op.h != op.head || op.n != SECTOR_N {
            return Err(st1(ST1_NO_DATA));
        }
        disk.offset(track, op.head, op.r).ok_or(st1(ST1_NO_DATA))
    }

    /// The sector at byte offset `off`; a backend failure reads as a data CRC error.
    fn sector(&mut self, op: &Op, off: usize) -> Result<Vec<u8>, Fault> {
        let mut buf = vec![0; SECTOR];
        let d = self.disk_mut(op.drive).ok_or(st1(ST1_MISSING_AM))?;
        d.image.read((off / SECTOR) as u64, &mut buf).map_err(|e| {
            log::warn!(target: "fdc", "read of sector {} failed: {e}", off / SECTOR);
            data_error()
        })?;
        Ok(buf)
    }

    fn store(&mut self, drive: usize, off: usize, data: &[u8]) -> Result<(), Fault> {
        let d = self.disk_mut(drive).ok_or(st1(ST1_MISSING_AM))?;
        d.image.write((off / SECTOR) as u64, data).map_err(|e| {
            log::warn!(target: "fdc", "write of sector {} failed: {e}", off / SECTOR);
            // A write has no data-field CRC to fail (DD is a read's): the ID field's
            // DE is what the controller could report.
            match e {
                BlockError::ReadOnly => st1(ST1_NOT_WRITABLE),
                _ => st1(ST1_DATA_ERROR),
            }
        })
    }

    /// The execution phase of a data command, EXEC_NS after its last byte.
    fn execute(&mut self, dma: &mut Dma, mem: &mut impl DmaMemory) {
        let Some(op) = self.op else { return };
        let disk = match self.track_ok(&op) {
            Ok(d) => d,
            Err(f) => return self.finish(&op, f),
        };
        if matches!(op.kind, Kind::Write | Kind::Format) && disk.write_protected {
            return self.finish(&op, st1(ST1_NOT_WRITABLE));
        }
        if op.kind == Kind::ReadId {
            let id = Op {
                c: self.pcn[op.drive],
                h: op.head,
                r: 1,
                n: SECTOR_N,
                ..op
            };
            return self.finish(&id, Fault::default());
        }
        if self.non_dma() {
            self.pio = true;
            self.pio_start_sector();
        } else if self.dor & DOR_DMA_GATE == 0 {
            // DRQ is not driven: nobody services the FIFO.
            self.finish(&op, st1(ST1_OVERRUN));
        } else if op.kind == Kind::Format {
            self.format_dma(op, dma, mem);
        } else {
            self.transfer_dma(op, dma, mem);
        }
    }

    /// Sector after sector until DMA terminal count (normal termination) or the end of
    /// the cylinder (EN); a short DMA transfer without TC is an overrun.
    fn transfer_dma(&mut self, mut op: Op, dma: &mut Dma, mem: &mut impl DmaMemory) {
        loop {
            let off = match self.locate(&op) {
                Ok(o) => o,
                Err(f) => return self.finish(&op, f),
            };
            let tc = if op.kind == Kind::Write {
                let (mut data, tc) = dma.read_from_memory(DMA_CHANNEL, SECTOR, mem);
                if data.len() < SECTOR && !tc {
                    return self.finish(&op, st1(ST1_OVERRUN));
                }
                // TC inside a sector: the rest of the data field is written as zeros.
                data.resize(SECTOR, 0);
                if let Err(f) = self.store(op.drive, off, &data) {
                    return self.finish(&op, f);
                }
                tc
            } else {
                let data = match self.sector(&op, off) {
                    Ok(d) => d,
                    Err(f) => return self.finish(&op, f),
                };
                let (moved, tc) = dma.write_to_memory(DMA_CHANNEL, &data, mem);
                if moved < SECTOR && !tc {
                    return self.finish(&op, st1(ST1_OVERRUN));
                }
                tc
            };
            let (next, more) = op.next();
            // ST0 reports the head of the last sector transferred.
            let end = Op {
                head: op.head,
                ..next
            };
            if tc {
                return self.finish(&end, Fault::default());
            }
            if !more {
                return self.finish(&end, st1(ST1_END_OF_CYLINDER));
            }
            op = next;
        }
    }

    fn format_dma(&mut self, op: Op, dma: &mut Dma, mem: &mut impl DmaMemory) {
        let want = usize::from(op.sc) * 4;
        let (ids, tc) = dma.read_from_memory(DMA_CHANNEL, want, mem);
        if ids.len() < want && !tc {
            return self.finish(&op, st1(ST1_OVERRUN));
        }
        self.format(op, &ids);
    }

    /// Writes the fill byte into every sector whose ID (C, H, R, N) the host supplied.
    /// Only the image's own layout can be stored: IDs with another size code or a
    /// sector number past the track's are dropped.
    fn format(&mut self, op: Op, ids: &[u8]) {
        let track = self.pcn[op.drive];
        let mut last = op;
        for id in ids.chunks_exact(4) {
            let off = self
                .disk(op.drive)
                .and_then(|d| d.offset(track, op.head, id[2]));
            if let (Some(off), SECTOR_N) = (off, id[3]) {
                if let Err(f) = self.store(op.drive, off, &[op.fill; SECTOR]) {
                    return self.finish(&op, f);
                }
            }
            (last.c, last.h, last.r, last.n) = (id[0], id[1], id[2], id[3]);
        }
        self.finish(&last, Fault::default());
    }

    /// Non-DMA: loads the next sector (or prepares to take one) and requests its first
    /// byte.
    fn pio_start_sector(&mut self) {
        let Some(op) = self.op else { return };
        self.buf.clear();
        match op.kind {
            Kind::Format => self.buf_len = usize::from(op.sc) * 4,
            _ => match self.locate(&op) {
                Err(f) => return self.finish(&op, f),
                Ok(_) if op.kind == Kind::Write => self.buf_len = SECTOR,
                Ok(off) => match self.sector(&op, off) {
                    Ok(data) => {
                        self.buf = data;
                        self.buf_len = SECTOR;
                    }
                    Err(f) => return self.finish(&op, f),
                },
            },
        }
        if self.buf_len == 0 {
            return self.pio_sector_done();
        }
        self.int = true;
    }

    /// After each non-DMA byte: the interrupt drops as the byte moves and rises again for
    /// the next one (one interrupt per byte with the FIFO disabled).
    fn pio_byte_done(&mut self) {
        self.int = false;
        self.pulse = true;
        let remaining = match self.op.map(|o| o.kind) {
            Some(Kind::Write | Kind::Format) => self.buf_len - self.buf.len().min(self.buf_len),
            _ => self.buf_len,
        };
        if remaining == 0 {
            self.pio_sector_done();
        } else {
            self.int = true;
        }
    }

    fn pio_sector_done(&mut self) {
        let Some(op) = self.op else { return };
        match op.kind {
            Kind::Format => {
                let ids = std::mem::take(&mut self.buf);
                return self.format(op, &ids);
            }
            Kind::Write => {
                let data = std::mem::take(&mut self.buf);
                if let Err(f) = self
                    .locate(&op)
                    .and_then(|off| self.store(op.drive, off, &data))
                {
                    return self.finish(&op, f);
                }
            }
            _ => {}
        }
        // No terminal count reaches the FDC without DMA: the transfer runs to EOT.
        let (next, more) = op.next();
        if !more {
            return self.finish(
                &Op {
                    head: op.head,
                    ..next
                },
                st1(ST1_END_OF_CYLINDER),
            );
        }
        self.op = Some(next);
        self.pio_start_sector();
    }
}

/// The name of the command opening with `b`, for logs.
fn command_name(b: u8) -> &'static str {
    match b {
        0x03 => "specify",
        0x04 => "sense drive status",
        0x07 => "recalibrate",
        0x08 => "sense interrupt status",
        0x0E => "dumpreg",
        0x10 => "version",
        0x12 => "perpendicular mode",
        0x13 => "configure",
        _ if b & 0x7F == 0x14 => "lock",
        0x0F => "seek",
        _ if b & 0xBF == 0x8F => "relative seek",
        _ if b & 0x1F == 0x06 => "read data",
        _ if b & 0x3F == 0x05 => "write data",
        _ if b & 0xBF == 0x02 => "read track",
        _ if b & 0xBF == 0x0A => "read id",
        _ if b & 0xBF == 0x0D => "format track",
        _ => "invalid",
    }
}

/// Bytes in the command phase of the command opening with `b` (1 for invalid ones).
fn command_len(b: u8) -> usize {
    match b {
        0x03 => 3,                               // SPECIFY
        0x04 | 0x07 => 2,                        // SENSE DRIVE STATUS, RECALIBRATE
        0x08 | 0x0E | 0x10 => 1,                 // SENSE INTERRUPT STATUS, DUMPREG, VERSION
        0x12 => 2,                               // PERPENDICULAR MODE
        0x13 => 4,                               // CONFIGURE
        _ if b & 0x7F == 0x14 => 1,              // LOCK
        _ if b == 0x0F || b & 0xBF == 0x8F => 3, // SEEK, relative SEEK
        _ if b & 0x1F == 0x06 => 9,              // READ DATA (MT, MFM, SK)
        _ if b & 0x3F == 0x05 => 9,              // WRITE DATA (MT, MFM)
        _ if b & 0xBF == 0x02 => 9,              // READ TRACK (MFM)
        _ if b & 0xBF == 0x0A => 2,              // READ ID (MFM)
        _ if b & 0xBF == 0x0D => 6,              // FORMAT TRACK (MFM)
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IrqLog;

    const SIZE_144: usize = 1_474_560;
    const BUF: u32 = 0x1_0000;

    /// 1 MB of guest memory, addresses wrapping.
    struct Ram(Vec<u8>);

    impl DmaMemory for Ram {
        fn read(&mut self, addr: u32) -> u8 {
            self.0[addr as usize % self.0.len()]
        }
        fn write(&mut self, addr: u32, v: u8) {
            let n = self.0.len();
            self.0[addr as usize % n] = v;
        }
    }

    fn sector_bytes(lba: usize) -> Vec<u8> {
        let mut s: Vec<u8> = (0..SECTOR).map(|j| (j as u8) ^ (lba as u8)).collect();
        s[..4].copy_from_slice(&(lba as u32).to_le_bytes());
        s
    }

    fn image(size: usize) -> Box<dyn BlockDevice> {
        Box::new(crate::block::MemDisk::new(
            (0..size / SECTOR).flat_map(sector_bytes).collect(),
        ))
    }

    fn zeros(size: usize) -> Box<dyn BlockDevice> {
        Box::new(crate::block::MemDisk::new(vec![0; size]))
    }

    /// Every sector of the disk in `drive`, read back through the BIOS path.
    fn contents(fdc: &mut Fdc, drive: usize) -> Vec<u8> {
        let n = fdc
            .geometry(drive)
            .map_or(0, |(c, h, s)| c as u64 * h as u64 * s as u64);
        fdc.read_sectors(drive, 0, n).unwrap()
    }

    struct Rig {
        fdc: Fdc,
        dma: Dma,
        mem: Ram,
        irq: IrqLog,
        now: Nanos,
    }

    impl Rig {
        fn new() -> Rig {
            let mut fdc = Fdc::new();
            fdc.attach(0, image(SIZE_144), false).unwrap();
            Rig {
                fdc,
                dma: Dma::new(),
                mem: Ram(vec![0; 1 << 20]),
                irq: IrqLog::default(),
                now: 0,
            }
        }

        fn out(&mut self, port: u16, v: u8) {
            self.fdc.write(port, v, self.now, &mut self.irq);
        }

        fn inp(&mut self, port: u16) -> u8 {
            self.fdc.read(port, &mut self.irq)
        }

        fn msr(&mut self) -> u8 {
            self.inp(MSR_DSR)
        }

        /// Lets virtual time run until nothing is pending.
        fn run(&mut self) {
            for _ in 0..16 {
                let Some(t) = self.fdc.next_event(self.now) else {
                    return;
                };
                self.now = self.now.max(t);
                self.fdc
                    .tick(self.now, &mut self.dma, &mut self.mem, &mut self.irq);
            }
            panic!("events never settle");
        }

        fn send(&mut self, bytes: &[u8]) {
            for &b in bytes {
                assert_eq!(
                    self.msr() & (MSR_RQM | MSR_DIO),
                    MSR_RQM,
                    "ready for {b:#x}"
                );
                self.out(FIFO, b);
            }
        }

        fn results(&mut self) -> Vec<u8> {
            let mut r = Vec::new();
            while self.msr() & 0xF0 == MSR_RQM | MSR_DIO | MSR_CB {
                r.push(self.inp(FIFO));
                assert!(r.len() <= 16);
            }
            r
        }

        /// Sends a command, lets it run, and returns its result bytes.
        fn command(&mut self, bytes: &[u8]) -> Vec<u8> {
            self.send(bytes);
            self.run();
            self.results()
        }

        fn sense(&mut self) -> Vec<u8> {
            self.command(&[0x08])
        }

        fn seek(&mut self, drive: u8, head: u8, cyl: u8) {
            self.command(&[0x0F, head << 2 | drive, cyl]);
            assert_eq!(self.sense(), [0x20 | head << 2 | drive, cyl]);
        }

        /// DMA channel 2 for `bytes` bytes at BUF, `mode` 0x46 (write) or 0x4A (read).
        fn dma(&mut self, mode: u8, bytes: u16) {
            let d = &mut self.dma;
            d.write(0x0A, 0x06);
            d.write(0x0C, 0);
            d.write(0x0B, mode);
            d.write(0x04, BUF as u8);
            d.write(0x04, (BUF >> 8) as u8);
            d.write(0x81, (BUF >> 16) as u8);
            d.write(0x05, (bytes - 1) as u8);
            d.write(0x05, ((bytes - 1) >> 8) as u8);
            d.write(0x0A, 0x02);
        }

        fn mem(&self, offset: usize, len: usize) -> &[u8] {
            &self.mem.0[BUF as usize + offset..][..len]
        }
    }

    const READ_MT: u8 = 0xE6;
    const READ: u8 = 0x66;
    const WRITE: u8 = 0x45;
    const DMA_WRITE_MEM: u8 = 0x46;
    const DMA_READ_MEM: u8 = 0x4A;

    fn lba(c: usize, h: usize, r: usize) -> usize {
        (c * 2 + h) * 18 + r - 1
    }

    #[test]
    fn reset_interrupt_then_four_polling_statuses() {
        let mut t = Rig::new();
        t.out(DOR, 0x00);
        assert_eq!(t.msr(), 0, "no request while in reset");
        t.out(DOR, 0x0C);
        assert_eq!(t.msr(), MSR_RQM);
        assert_eq!(
            t.irq.rises(IRQ_LINE),
            0,
            "the interrupt comes after the write"
        );
        t.run();
        assert_eq!(t.irq.rises(IRQ_LINE), 1);
        assert!(t.irq.levels[6]);
        for d in 0..4 {
            assert_eq!(t.sense(), [0xC0 | d, 0]);
            assert!(!t.irq.levels[6]);
        }
        assert_eq!(t.sense(), [0x80], "nothing pending: invalid");
        // The DSR software reset does the same, and clears itself.
        t.out(MSR_DSR, 0x80);
        assert_eq!(t.msr(), MSR_RQM);
        t.run();
        assert_eq!(t.irq.rises(IRQ_LINE), 2);
        assert_eq!(t.sense(), [0xC0, 0]);
    }

    #[test]
    fn interrupt_gated_by_dor_dma_bit() {
        let mut t = Rig::new();
        t.out(DOR, 0x00);
        t.out(DOR, 0x04);
        t.run();
        assert_eq!(t.irq.rises(IRQ_LINE), 0);
        t.out(DOR, 0x0C);
        assert_eq!(t.irq.rises(IRQ_LINE), 1);
    }

    #[test]
    fn version_and_invalid() {
        let mut t = Rig::new();
        assert_eq!(t.command(&[0x10]), [0x90]);
        assert_eq!(t.command(&[0x1F]), [0x80]);
        assert_eq!(
            t.command(&[0x09]),
            [0x80],
            "WRITE DELETED DATA is not modelled"
        );
        assert_eq!(
            t.irq.rises(IRQ_LINE),
            0,
            "no interrupt for an invalid command"
        );
        assert_eq!(t.msr(), MSR_RQM);
    }

    #[test]
    fn specify_recalibrate_sense() {
        let mut t = Rig::new();
        assert!(t.command(&[0x03, 0xDF, 0x02]).is_empty());
        t.seek(0, 0, 7);
        t.send(&[0x07, 0x00]);
        assert_eq!(t.msr(), MSR_RQM | 0x01, "drive 0 busy seeking");
        t.run();
        assert!(t.irq.levels[6]);
        assert_eq!(t.sense(), [0x20, 0]);
        assert_eq!(t.msr(), MSR_RQM);
        // Drive 2 does not exist: no track 0 signal, equipment check.
        t.send(&[0x07, 0x02]);
        t.run();
        assert_eq!(t.sense(), [0x72, 0]);
    }

    #[test]
    fn seek_absolute_and_relative() {
        let mut t = Rig::new();
        t.seek(0, 0, 5);
        t.command(&[0xCF, 0x00, 3]); // relative, inward
        assert_eq!(t.sense(), [0x20, 8]);
        t.command(&[0x8F, 0x00, 2]); // relative, outward
        assert_eq!(t.sense(), [0x20, 6]);
        t.seek(1, 1, 5);
        // Two seeks pending at once report one per SENSE INTERRUPT STATUS.
        t.send(&[0x0F, 0x00, 9]);
        t.send(&[0x0F, 0x01, 4]);
        t.run();
        assert_eq!(t.sense(), [0x20, 9]);
        assert_eq!(t.sense(), [0x21, 4]);
        assert_eq!(t.sense(), [0x80]);
        assert_eq!(t.command(&[0x0E])[..4], [9, 4, 0, 0], "DUMPREG PCNs");
    }

    #[test]
    fn read_data_dma_end_of_track_with_mt() {
        let mut t = Rig::new();
        t.seek(0, 0, 2);
        // Sector 18 of head 0 with EOT 18 and MT: TC at the end of it; the result names
        // the next sector, head 1 sector 1 of the same cylinder.
        t.dma(DMA_WRITE_MEM, 512);
        let r = t.command(&[READ_MT, 0x00, 2, 0, 18, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, [0x00, 0, 0, 2, 1, 1, 2]);
        assert_eq!(t.mem(0, 512), sector_bytes(lba(2, 0, 18)));
        assert_eq!(t.irq.rises(IRQ_LINE), 2);
        assert_eq!(t.dma.read(0x08) & 0x04, 0x04, "TC on channel 2");
        // Without MT: C+1, H unchanged, R=1.
        t.dma(DMA_WRITE_MEM, 512);
        let r = t.command(&[READ, 0x00, 2, 0, 18, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, [0x00, 0, 0, 3, 0, 1, 2]);
    }

    #[test]
    fn read_data_multi_sector_across_heads() {
        let mut t = Rig::new();
        t.seek(0, 0, 2);
        t.dma(DMA_WRITE_MEM, 3 * 512);
        let r = t.command(&[READ_MT, 0x00, 2, 0, 17, 2, 18, 0x1B, 0xFF]);
        // Head 0 sectors 17 and 18, then head 1 sector 1; the next would be H1 R2.
        assert_eq!(r, [0x04, 0, 0, 2, 1, 2, 2]);
        assert_eq!(t.mem(0, 512), sector_bytes(lba(2, 0, 17)));
        assert_eq!(t.mem(512, 512), sector_bytes(lba(2, 0, 18)));
        assert_eq!(t.mem(1024, 512), sector_bytes(lba(2, 1, 1)));
        // TC before EOT: R+1.
        t.dma(DMA_WRITE_MEM, 512);
        let r = t.command(&[READ, 0x04, 2, 1, 3, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, [0x04, 0, 0, 2, 1, 4, 2]);
        assert_eq!(t.mem(0, 512), sector_bytes(lba(2, 1, 3)));
        // MT ending on head 1's EOT: C+1, H complemented.
        t.dma(DMA_WRITE_MEM, 512);
        let r = t.command(&[READ_MT, 0x04, 2, 1, 18, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, [0x04, 0, 0, 3, 0, 1, 2]);
    }

    #[test]
    fn read_past_eot_without_tc_is_end_of_cylinder() {
        let mut t = Rig::new();
        t.seek(0, 0, 1);
        t.dma(DMA_WRITE_MEM, 4 * 512);
        let r = t.command(&[READ, 0x00, 1, 0, 17, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, [0x40, 0x80, 0, 2, 0, 1, 2]);
        assert_eq!(t.mem(512, 512), sector_bytes(lba(1, 0, 18)));
    }

    #[test]
    fn read_track_starts_at_sector_one() {
        let mut t = Rig::new();
        t.seek(0, 1, 6);
        t.dma(DMA_WRITE_MEM, 3 * 512);
        // READ TRACK reads from the index whatever R says, up to EOT sectors.
        let r = t.command(&[0x42, 0x04, 6, 1, 9, 2, 3, 0x1B, 0xFF]);
        assert_eq!(r, [0x04, 0, 0, 7, 1, 1, 2]);
        for i in 0..3 {
            assert_eq!(t.mem(i * 512, 512), sector_bytes(lba(6, 1, i + 1)));
        }
    }

    #[test]
    fn read_errors() {
        let mut t = Rig::new();
        t.seek(0, 0, 2);
        t.dma(DMA_WRITE_MEM, 512);
        // Sector 19 does not exist on an 18-sector track.
        assert_eq!(
            t.command(&[READ, 0x00, 2, 0, 19, 2, 19, 0x1B, 0xFF]),
            [0x40, 0x04, 0, 2, 0, 19, 2]
        );
        // The head is on cylinder 2, the command asks for 3: an implied seek (as QEMU's
        // and Bochs's controllers always do) reads cylinder 3; at terminal count R is
        // the next sector.
        t.dma(DMA_WRITE_MEM, 512);
        assert_eq!(
            t.command(&[READ, 0x00, 3, 0, 1, 2, 18, 0x1B, 0xFF]),
            [0x00, 0, 0, 3, 0, 2, 2]
        );
        assert_eq!(t.mem(0, 512), sector_bytes(lba(3, 0, 1)));
        // No disk in drive B: no address mark is ever found.
        t.seek(1, 0, 0);
        assert_eq!(
            t.command(&[READ, 0x01, 0, 0, 1, 2, 18, 0x1B, 0xFF]),
            [0x41, 0x01, 0, 0, 0, 1, 2]
        );
        // 250 kb/s cannot read a 1.44M disk.
        t.out(DIR_CCR, RATE_250K);
        assert_eq!(
            t.command(&[READ, 0x00, 2, 0, 1, 2, 18, 0x1B, 0xFF])[..2],
            [0x40, 0x01]
        );
        t.out(DIR_CCR, RATE_500K);
        // FM (MFM bit clear) finds no address marks either.
        assert_eq!(
            t.command(&[0x06, 0x00, 2, 0, 1, 2, 18, 0x1B, 0xFF])[..2],
            [0x40, 0x01]
        );
        // A masked DMA channel never takes the data: overrun.
        t.dma.write(0x0A, 0x06);
        assert_eq!(
            t.command(&[READ, 0x00, 2, 0, 1, 2, 18, 0x1B, 0xFF]),
            [0x40, 0x10, 0, 2, 0, 1, 2]
        );
    }

    #[test]
    fn write_data_dma() {
        let mut t = Rig::new();
        t.seek(0, 0, 4);
        for i in 0..1024 {
            t.mem.0[BUF as usize + i] = (i * 7) as u8;
        }
        t.dma(DMA_READ_MEM, 1024);
        let r = t.command(&[WRITE | CMD_MT, 0x04, 4, 1, 5, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, [0x04, 0, 0, 4, 1, 7, 2]);
        assert!(t.fdc.dirty(0));
        let at = lba(4, 1, 5) * SECTOR;
        let img = contents(&mut t.fdc, 0);
        assert_eq!(&img[at..at + 1024], t.mem(0, 1024));
        assert_eq!(img[at + 1024..at + 1536], sector_bytes(lba(4, 1, 7))[..]);
        // TC half-way through a sector: the rest of it is written as zeros.
        t.dma(DMA_READ_MEM, 256);
        t.command(&[WRITE, 0x00, 4, 0, 1, 2, 18, 0x1B, 0xFF]);
        let at = lba(4, 0, 1) * SECTOR;
        let img = contents(&mut t.fdc, 0);
        assert_eq!(&img[at..at + 256], t.mem(0, 256));
        assert!(img[at + 256..at + 512].iter().all(|&b| b == 0));
    }

    /// A disk whose backend fails every access, as a host file on a dead disk would.
    struct Broken(u64);

    impl BlockDevice for Broken {
        fn sectors(&self) -> u64 {
            self.0
        }
        fn read(&mut self, _: u64, _: &mut [u8]) -> Result<(), BlockError> {
            Err(BlockError::Io("Input/output error".into()))
        }
        fn write(&mut self, _: u64, _: &[u8]) -> Result<(), BlockError> {
            Err(BlockError::Io("No space left on device".into()))
        }
        fn dirty(&self) -> bool {
            false
        }
    }

    #[test]
    fn backend_failures_end_the_command_with_a_data_error() {
        let mut t = Rig::new();
        t.fdc.attach(0, Box::new(Broken(2880)), false).unwrap();
        t.seek(0, 0, 0);
        // 82077AA result phase: ST0 IC=01 (abnormal), ST1 DE (bit 5), and on a read
        // ST2 DD (bit 5, the data field's CRC).
        t.dma(DMA_WRITE_MEM, 512);
        let r = t.command(&[READ, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r[..3], [0x40, 0x20, 0x20]);
        t.dma(DMA_READ_MEM, 512);
        let r = t.command(&[WRITE, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r[..3], [0x40, 0x20, 0x00]);
        assert_eq!(t.fdc.read_sectors(0, 0, 1), None);
        assert!(!t.fdc.write_sectors(0, 0, &[0; 512]));
    }

    #[test]
    fn write_protected_disk() {
        let mut t = Rig::new();
        t.fdc.attach(0, image(SIZE_144), true).unwrap();
        t.seek(0, 0, 0);
        t.dma(DMA_READ_MEM, 512);
        let r = t.command(&[WRITE, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, [0x40, 0x02, 0, 0, 0, 1, 2]);
        assert!(!t.fdc.dirty(0));
        assert_eq!(contents(&mut t.fdc, 0)[..512], sector_bytes(0)[..]);
        assert_eq!(
            t.command(&[0x04, 0x00]),
            [0x78],
            "ST3: WP, ready, track 0, two-sided"
        );
        assert!(!t.fdc.write_sectors(0, 0, &[0; 512]));
    }

    #[test]
    fn disk_change_line() {
        let mut t = Rig::new();
        assert_eq!(
            t.inp(DIR_CCR) & DIR_DSKCHG,
            DIR_DSKCHG,
            "set by the insertion"
        );
        t.seek(0, 0, 1);
        assert_eq!(
            t.inp(DIR_CCR) & DIR_DSKCHG,
            0,
            "cleared by a step with a disk"
        );
        assert!(t.fdc.eject(0).is_some());
        assert_eq!(t.inp(DIR_CCR) & DIR_DSKCHG, DIR_DSKCHG);
        t.seek(0, 0, 0);
        assert_eq!(
            t.inp(DIR_CCR) & DIR_DSKCHG,
            DIR_DSKCHG,
            "no disk: stays set"
        );
        t.fdc.attach(0, image(737_280), false).unwrap();
        t.seek(0, 0, 1);
        assert_eq!(t.inp(DIR_CCR) & DIR_DSKCHG, 0);
        // DIR shows the drive DOR selects.
        t.out(DOR, 0x0D);
        assert_eq!(
            t.inp(DIR_CCR) & DIR_DSKCHG,
            DIR_DSKCHG,
            "drive B: empty since power-up"
        );
    }

    #[test]
    fn pio_read_through_fifo() {
        let mut t = Rig::new();
        t.command(&[0x03, 0xDF, 0x03]); // ND = 1
        t.seek(0, 0, 3);
        let rises = t.irq.rises(IRQ_LINE);
        t.send(&[READ, 0x00, 3, 0, 9, 2, 10, 0x1B, 0xFF]);
        assert_eq!(t.msr() & 0xF0, MSR_CB, "busy until the command executes");
        t.run();
        let mut data = Vec::new();
        for i in 0..1024 {
            assert_eq!(t.msr(), 0xF0, "byte {i}: RQM, DIO, NON-DMA, CB");
            assert!(t.irq.levels[6]);
            data.push(t.inp(FIFO));
        }
        assert_eq!(data[..512], sector_bytes(lba(3, 0, 9))[..]);
        assert_eq!(data[512..], sector_bytes(lba(3, 0, 10))[..]);
        assert_eq!(
            t.irq.rises(IRQ_LINE) - rises,
            1025,
            "one per byte and the result"
        );
        assert_eq!(t.msr(), 0xD0);
        // No TC without DMA: the read ends at EOT with end of cylinder.
        assert_eq!(t.results(), [0x40, 0x80, 0, 4, 0, 1, 2]);
        assert_eq!(t.msr(), MSR_RQM);
    }

    #[test]
    fn pio_write_through_fifo() {
        let mut t = Rig::new();
        t.command(&[0x03, 0xDF, 0x03]);
        t.seek(0, 0, 0);
        t.send(&[WRITE, 0x00, 0, 0, 2, 2, 2, 0x1B, 0xFF]);
        t.run();
        for i in 0..512 {
            assert_eq!(t.msr(), 0xB0);
            t.out(FIFO, i as u8 ^ 0x5A);
        }
        assert_eq!(t.results(), [0x40, 0x80, 0, 1, 0, 1, 2]);
        let img = contents(&mut t.fdc, 0);
        assert!((0..512).all(|i| img[512 + i] == i as u8 ^ 0x5A));
        assert!(t.fdc.dirty(0));
    }

    #[test]
    fn format_track_fills_sectors() {
        let mut t = Rig::new();
        t.seek(0, 1, 10);
        for r in 0..18u8 {
            let id = [10, 1, r + 1, 2];
            t.mem.0[BUF as usize + 4 * r as usize..][..4].copy_from_slice(&id);
        }
        t.dma(DMA_READ_MEM, 18 * 4);
        let r = t.command(&[0x4D, 0x04, 2, 18, 0x54, 0xE5]);
        assert_eq!(r[..3], [0x04, 0, 0]);
        let img = contents(&mut t.fdc, 0);
        let track = lba(10, 1, 1) * SECTOR;
        assert!(img[track..track + 18 * SECTOR].iter().all(|&b| b == 0xE5));
        assert_eq!(img[track - SECTOR..track], sector_bytes(lba(10, 0, 18))[..]);
        assert_eq!(
            img[track + 18 * SECTOR..][..SECTOR],
            sector_bytes(lba(11, 0, 1))[..]
        );
        assert!(t.fdc.dirty(0));
    }

    #[test]
    fn read_id_and_sense_drive_status() {
        let mut t = Rig::new();
        t.seek(0, 1, 12);
        assert_eq!(t.command(&[0x4A, 0x04]), [0x04, 0, 0, 12, 1, 1, 2]);
        assert_eq!(t.command(&[0x04, 0x04]), [0x2C]);
        assert_eq!(t.command(&[0x4A, 0x01])[..2], [0x41, 0x01], "empty drive");
    }

    #[test]
    fn configure_lock_dumpreg() {
        let mut t = Rig::new();
        assert!(t.command(&[0x03, 0xAF, 0x1E]).is_empty());
        assert!(t.command(&[0x13, 0x00, 0x57, 0x05]).is_empty());
        assert!(t.command(&[0x12, 0x87]).is_empty());
        let d = t.command(&[0x0E]);
        assert_eq!(d[4..], [0xAF, 0x1E, 0, 0x07, 0x57, 0x05]);
        assert_eq!(t.command(&[0x94]), [0x10]);
        // A software reset keeps EFIFO, FIFOTHR and PRETRK while locked; EIS and POLL go.
        t.out(MSR_DSR, 0x80);
        t.run();
        while t.sense() != [0x80] {}
        let d = t.command(&[0x0E]);
        assert_eq!(d[7..], [0x80 | 0x04, 0x07, 0x05]);
        assert_eq!(t.command(&[0x14]), [0x00]);
        t.out(DOR, 0);
        t.out(DOR, 0x0C);
        t.run();
        while t.sense() != [0x80] {}
        assert_eq!(t.command(&[0x0E])[8..], [0x20, 0x00]);
        // POLL disabled does not survive the reset, so the polling statuses still come.
        t.command(&[0x13, 0x00, 0x10, 0x00]);
        let rises = t.irq.rises(IRQ_LINE);
        t.out(DOR, 0);
        t.out(DOR, 0x0C);
        t.run();
        assert_eq!(t.irq.rises(IRQ_LINE), rises + 1);
        assert_eq!(t.sense(), [0xC0, 0]);
    }

    #[test]
    fn implied_seek() {
        let mut t = Rig::new();
        t.command(&[0x13, 0x00, 0x40, 0x00]);
        t.dma(DMA_WRITE_MEM, 512);
        let r = t.command(&[READ, 0x00, 33, 0, 4, 2, 18, 0x1B, 0xFF]);
        assert_eq!(r, [0x00, 0, 0, 33, 0, 5, 2]);
        assert_eq!(t.mem(0, 512), sector_bytes(lba(33, 0, 4)));
    }

    #[test]
    fn geometry_from_size() {
        let mut f = Fdc::new();
        for (size, g) in [
            (163_840, (40, 1, 8)),
            (368_640, (40, 2, 9)),
            (737_280, (80, 2, 9)),
            (1_228_800, (80, 2, 15)),
            (1_474_560, (80, 2, 18)),
            (1_720_320, (80, 2, 21)),
            (2_949_120, (80, 2, 36)),
        ] {
            f.attach(1, zeros(size), false).unwrap();
            assert_eq!(f.geometry(1), Some(g));
        }
        let e = f.attach(0, zeros(1024), false).unwrap_err();
        assert!(e.contains("1024 bytes") && !e.contains('\n'));
        assert!(f.attach(2, zeros(368_640), false).is_err());
        assert_eq!(f.geometry(0), None);
        assert!(f.eject(0).is_none());
    }

    #[test]
    fn sector_access_for_the_bios() {
        let mut f = Fdc::new();
        f.attach(0, image(737_280), false).unwrap();
        assert_eq!(
            f.read_sectors(0, 5, 2).unwrap()[..SECTOR],
            sector_bytes(5)[..]
        );
        assert!(f.read_sectors(0, 1439, 2).is_none());
        assert!(f.read_sectors(1, 0, 1).is_none());
        assert!(!f.dirty(0));
        assert!(f.write_sectors(0, 1439, &[0xAB; SECTOR]));
        assert!(f.dirty(0));
        assert_eq!(f.read_sectors(0, 1439, 1).unwrap(), vec![0xAB; SECTOR]);
        assert!(!f.write_sectors(0, 1439, &[0; 2 * SECTOR]));
        assert!(!f.write_sectors(0, 0, &[0; 100]));
        assert!(f.disk_changed(0));
        f.clear_disk_changed(0);
        assert!(!f.disk_changed(0));
    }

    #[test]
    fn fuzzed_port_writes_never_panic_or_hang() {
        let mut t = Rig::new();
        t.fdc.attach(1, image(368_640), false).unwrap();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..400_000 {
            let r = rnd();
            let port = 0x3F0 + (r & 7) as u16;
            let v = (r >> 8) as u8;
            match (r >> 16) % 8 {
                0 => {
                    t.inp(port);
                }
                1 => t.dma.write((r >> 24) as u16 & 0x0F, v),
                2 => {
                    t.now += (r >> 24) % 200_000;
                    t.fdc.tick(t.now, &mut t.dma, &mut t.mem, &mut t.irq);
                }
                3 => {
                    t.inp(FIFO);
                }
                // Mostly FIFO writes, so that whole commands get through.
                _ => t.out(if i % 3 == 0 { port } else { FIFO }, v),
            }
        }
        // Whatever state it was left in, a reset brings it back.
        t.out(DOR, 0);
        t.out(DOR, 0x0C);
        t.run();
        t.results();
        assert_eq!(t.command(&[0x10]), [0x90]);
    }
}
