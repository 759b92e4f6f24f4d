//! An ATAPI CD-ROM drive: the PACKET command feature set of an IDE device and the
//! SCSI/MMC commands it carries. The IDE channel ([`crate::ide`]) owns the registers and
//! the interrupt line and hands the drive the shared task file; this module is the
//! device behind them.
//!
//! Specifications followed:
//! - ATA/ATAPI-6 (T13/1410D): 8.17 IDENTIFY PACKET DEVICE (word layout), 8.23 PACKET
//!   (features bit 0 = DMA, the byte-count limit in LBA Mid/High, the interrupt reason
//!   CoD/IO in the sector count register), 8.15 IDENTIFY DEVICE (a packet device aborts
//!   it and leaves its signature 01h/01h/14h/EBh in the registers), 9.2 the reset
//!   signature, 9.10/9.11 the PACKET PIO and DMA protocols (no interrupt before the
//!   command packet: IDENTIFY PACKET word 0 bits 6:5 = 00b; an interrupt at the start of
//!   each data DRQ block and at the end of the command).
//! - SPC-3 (T10/1416-D): 4.5.3 fixed-format sense data, 6.4 INQUIRY standard data,
//!   6.27 REQUEST SENSE, 6.11 MODE SENSE(10) header, 5.4.3 unit attention (reported once,
//!   not by INQUIRY or REQUEST SENSE, cleared when reported).
//! - MMC-3 (T10/1363-D): 5.25 READ TOC/PMA/ATIP formats 0000b (TOC), 0001b (session
//!   info) and 0010b (full TOC), MSF or LBA, 5.6 GET CONFIGURATION with the profile list,
//!   core, removable medium, random readable and CD read features, 5.7 GET EVENT STATUS
//!   NOTIFICATION (polled, media class), 5.19 READ DISC INFORMATION, 5.14 READ(10),
//!   5.15 READ(12), 5.18 READ CAPACITY, 5.22 START STOP UNIT, 5.21 PREVENT ALLOW MEDIUM
//!   REMOVAL, 6.3.11 the CD capabilities and mechanical status mode page (2Ah).
//!
//! The medium is a [`BlockDevice`] of 512-byte sectors, four to a 2048-byte CD block
//! (the frontend's image files are shared with the hard disks that way). Data of every
//! command flows through one byte stream ([`Atapi::dma_read`] for a bus-master DMA
//! engine, the data register for PIO), so both move the same bytes. Every command
//! completes at once in virtual time.
//!
//! Log target: `atapi`.

use crate::block::{BlockDevice, BlockError, SECTOR};

/// Bytes per CD-ROM block (mode 1 user data).
pub const CD_BLOCK: usize = 2048;
const PER_BLOCK: u64 = (CD_BLOCK / SECTOR) as u64;

use crate::ide::{ER_ABRT, ST_DRQ, ST_ERR, ST_READY};

/// Interrupt reason (sector count register) bits: command/data and direction.
const IR_COD: u8 = 0x01;
const IR_IO: u8 = 0x02;

// Task-file indices as the channel stores them.
const R_FEATURES: usize = 1;
const R_NSECT: usize = 2;
const R_LBA_LOW: usize = 3;
const R_BCL: usize = 4;
const R_BCH: usize = 5;

/// Sense keys (SPC-3 Table 27).
pub const NO_SENSE: u8 = 0x00;
pub const NOT_READY: u8 = 0x02;
pub const MEDIUM_ERROR: u8 = 0x03;
pub const ILLEGAL_REQUEST: u8 = 0x05;
pub const UNIT_ATTENTION: u8 = 0x06;

const MODEL: &[u8; 40] = b"PCEMU ATAPI CD-ROM                      ";
const FIRMWARE: &[u8; 8] = b"1.0     ";

/// A sense key with its additional sense code and qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Sense {
    pub key: u8,
    pub asc: u8,
    pub ascq: u8,
}

const fn sense(key: u8, asc: u8, ascq: u8) -> Sense {
    Sense { key, asc, ascq }
}

/// ASC 20h: invalid command operation code.
const INVALID_OPCODE: Sense = sense(ILLEGAL_REQUEST, 0x20, 0x00);
/// ASC 24h: invalid field in CDB.
const INVALID_FIELD: Sense = sense(ILLEGAL_REQUEST, 0x24, 0x00);
/// ASC 21h: logical block address out of range.
const LBA_OUT_OF_RANGE: Sense = sense(ILLEGAL_REQUEST, 0x21, 0x00);
/// ASC 28h: not ready to ready change, medium may have changed.
const MEDIUM_CHANGED: Sense = sense(UNIT_ATTENTION, 0x28, 0x00);
/// ASC 3Ah: medium not present (ASCQ 01h tray closed, 02h tray open).
const NO_MEDIUM_CLOSED: Sense = sense(NOT_READY, 0x3A, 0x01);
const NO_MEDIUM_OPEN: Sense = sense(NOT_READY, 0x3A, 0x02);
/// ASC 53h/02h: medium removal prevented.
const REMOVAL_PREVENTED: Sense = sense(ILLEGAL_REQUEST, 0x53, 0x02);
/// ASC 11h: unrecovered read error.
const READ_ERROR: Sense = sense(MEDIUM_ERROR, 0x11, 0x00);
/// ASC 39h: saving parameters not supported.
const NO_SAVING: Sense = sense(ILLEGAL_REQUEST, 0x39, 0x00);

/// Where the drive is in the PACKET protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Phase {
    Idle,
    /// DRQ for the 12-byte command packet.
    Packet,
    /// A PIO data-in DRQ block is in `buf`.
    PioIn,
    /// IDENTIFY PACKET DEVICE's 512 bytes are in `buf` (an ATA PIO data-in command).
    Identify,
    /// Data waits for the bus-master DMA engine.
    Dma,
}

/// The bytes a command returns: a reply built in memory, or medium blocks read on
/// demand (a READ of many blocks is never held whole).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Stream {
    reply: Vec<u8>,
    reply_pos: usize,
    /// Next CD block to read and how many remain after the one in `block`.
    lba: u64,
    blocks: u64,
    block: Vec<u8>,
    block_pos: usize,
}

impl Stream {
    fn reply(data: Vec<u8>) -> Stream {
        Stream {
            reply: data,
            ..Stream::default()
        }
    }

    fn blocks(lba: u64, blocks: u64) -> Stream {
        Stream {
            lba,
            blocks,
            ..Stream::default()
        }
    }

    /// Bytes not yet handed out.
    fn remaining(&self) -> u64 {
        (self.reply.len() - self.reply_pos) as u64
            + (self.block.len() - self.block_pos) as u64
            + self.blocks.saturating_mul(CD_BLOCK as u64)
    }

    /// Fills `out` from the stream; the count moved, or the medium's failure.
    fn pull(
        &mut self,
        medium: Option<&mut Box<dyn BlockDevice>>,
        out: &mut [u8],
    ) -> Result<usize, BlockError> {
        let mut medium = medium;
        let mut n = 0;
        while n < out.len() {
            if self.reply_pos < self.reply.len() {
                let k = (self.reply.len() - self.reply_pos).min(out.len() - n);
                out[n..n + k].copy_from_slice(&self.reply[self.reply_pos..self.reply_pos + k]);
                self.reply_pos += k;
                n += k;
                continue;
            }
            if self.block_pos < self.block.len() {
                let k = (self.block.len() - self.block_pos).min(out.len() - n);
                out[n..n + k].copy_from_slice(&self.block[self.block_pos..self.block_pos + k]);
                self.block_pos += k;
                n += k;
                continue;
            }
            if self.blocks == 0 {
                break;
            }
            let Some(m) = medium.as_deref_mut() else {
                return Err(BlockError::OutOfRange);
            };
            self.block.resize(CD_BLOCK, 0);
            let first = self
                .lba
                .checked_mul(PER_BLOCK)
                .ok_or(BlockError::OutOfRange)?;
            m.read(first, &mut self.block)?;
            self.block_pos = 0;
            self.lba += 1;
            self.blocks -= 1;
        }
        Ok(n)
    }
}

/// What a packet command asks of the data phase.
enum Reply {
    /// Good status, no data.
    Done,
    /// Data-in, truncated to the allocation length by the command.
    Data(Vec<u8>),
    /// Medium blocks.
    Blocks(u64, u64),
}

/// One ATAPI CD-ROM drive.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Atapi {
    #[serde(skip)]
    pub(crate) medium: Option<Box<dyn BlockDevice>>,
    tray_open: bool,
    /// PREVENT ALLOW MEDIUM REMOVAL's prevent bit.
    locked: bool,
    status: u8,
    error: u8,
    /// The last command's sense data (REQUEST SENSE returns it).
    sense: Sense,
    /// A unit attention condition waiting to be reported.
    attention: Option<Sense>,
    /// A media event for GET EVENT STATUS NOTIFICATION (MMC-3 Table 101: 2 new media,
    /// 3 media removal), reported once.
    media_event: u8,
    phase: Phase,
    packet: [u8; 12],
    packet_len: usize,
    stream: Stream,
    /// The current PIO DRQ block.
    buf: Vec<u8>,
    pos: usize,
    /// Byte count limit of the current PACKET command (even, nonzero).
    limit: usize,
    /// The current PACKET command asked for DMA (features bit 0).
    dma_pending: bool,
    /// Whether a DMA engine is wired to the channel: IDENTIFY PACKET then offers
    /// MWDMA/UDMA modes and PACKET accepts features bit 0.
    pub dma_capable: bool,
    /// SET FEATURES transfer mode (sub-command 03h): 2xh MWDMA, 4xh UDMA.
    xfer_mode: u8,
    /// Unsupported packet (0–255) and ATA (256–511) opcodes already logged.
    logged: [u64; 8],
}

impl Default for Atapi {
    fn default() -> Self {
        Atapi::new()
    }
}

impl Atapi {
    /// An empty drive with its tray closed.
    pub fn new() -> Atapi {
        Atapi {
            medium: None,
            tray_open: false,
            locked: false,
            status: ST_READY,
            error: 0x01,
            sense: Sense::default(),
            attention: None,
            media_event: 0,
            phase: Phase::Idle,
            packet: [0; 12],
            packet_len: 0,
            stream: Stream::default(),
            buf: Vec::new(),
            pos: 0,
            limit: 0xFFFE,
            dma_pending: false,
            dma_capable: false,
            xfer_mode: 0,
            logged: [0; 8],
        }
    }

    /// Puts a disc in and closes the tray: the next command (other than INQUIRY,
    /// REQUEST SENSE, GET CONFIGURATION, GET EVENT STATUS) reports UNIT ATTENTION
    /// 28h "medium may have changed", and GET EVENT STATUS reports "new media".
    pub fn insert(&mut self, medium: Box<dyn BlockDevice>) {
        self.medium = Some(medium);
        self.tray_open = false;
        self.media_changed();
    }

    /// Takes the disc out (the tray opens), whatever the lock says: the host's eject.
    pub fn remove(&mut self) -> Option<Box<dyn BlockDevice>> {
        self.tray_open = true;
        self.media_event = 3;
        self.medium.take()
    }

    fn media_changed(&mut self) {
        if self.medium.is_some() {
            self.attention = Some(MEDIUM_CHANGED);
            self.media_event = 2;
        }
    }

    /// Whether a disc is in and the tray closed (what the BIOS may read).
    pub fn ready(&self) -> bool {
        self.medium.is_some() && !self.tray_open
    }

    /// Capacity in 2048-byte blocks (0 without a readable disc).
    pub fn blocks(&self) -> u64 {
        match &self.medium {
            Some(m) if !self.tray_open => m.sectors() / PER_BLOCK,
            _ => 0,
        }
    }

    /// Reads whole 2048-byte blocks from `lba` on: the BIOS's path (INT 13h and El
    /// Torito share the drive with the controller, as the disks do).
    pub fn read_blocks(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let blocks = self.blocks();
        let count = (buf.len() / CD_BLOCK) as u64;
        if !buf.len().is_multiple_of(CD_BLOCK)
            || lba.checked_add(count).is_none_or(|end| end > blocks)
        {
            return Err(BlockError::OutOfRange);
        }
        match self.medium.as_mut() {
            Some(m) => m.read(lba * PER_BLOCK, buf),
            None => Err(BlockError::OutOfRange),
        }
    }

    /// Whether the tray is open.
    pub fn tray_open(&self) -> bool {
        self.tray_open
    }

    /// Whether PREVENT ALLOW MEDIUM REMOVAL has locked the tray.
    pub fn locked(&self) -> bool {
        self.locked
    }

    /// The status register.
    pub fn status(&self) -> u8 {
        self.status
    }

    /// The error register: sense key in bits 7:4 after a packet command, ABRT after
    /// an ATA command the drive refuses, the diagnostic code after reset.
    pub fn error(&self) -> u8 {
        self.error
    }

    /// The current sense data.
    pub fn sense(&self) -> Sense {
        self.sense
    }

    /// Software reset or EXECUTE DEVICE DIAGNOSTIC (ATA-6 9.2): the transfer is
    /// abandoned, diagnostic code 01h, and the ATAPI signature in the registers.
    pub fn reset(&mut self, regs: &mut [u8; 6]) {
        self.phase = Phase::Idle;
        self.stream = Stream::default();
        self.buf.clear();
        self.status = ST_READY;
        self.error = 0x01;
        Self::signature(regs);
    }

    /// The signature of a packet device: sector count 01h, LBA low 01h, LBA mid 14h,
    /// LBA high EBh.
    pub fn signature(regs: &mut [u8; 6]) {
        regs[R_NSECT] = 0x01;
        regs[R_LBA_LOW] = 0x01;
        regs[R_BCL] = 0x14;
        regs[R_BCH] = 0xEB;
    }

    /// Whether the drive drives the data register (a PIO DRQ block in progress).
    pub fn drq(&self) -> bool {
        self.status & ST_DRQ != 0
    }

    /// An ATA command written to the command register; returns whether the drive
    /// asserts INTRQ.
    pub fn command(&mut self, cmd: u8, regs: &mut [u8; 6]) -> bool {
        log::debug!(target: "atapi", "ata command {cmd:#04x}");
        self.phase = Phase::Idle;
        self.stream = Stream::default();
        self.buf.clear();
        self.pos = 0;
        self.error = 0;
        match cmd {
            // PACKET: DRQ for the command packet, no interrupt (DRQ type 00b).
            0xA0 => {
                let dma = regs[R_FEATURES] & 1 != 0;
                if dma && !self.dma_capable {
                    return self.ata_abort();
                }
                let bcl = usize::from(u16::from_le_bytes([regs[R_BCL], regs[R_BCH]]));
                // A limit of 0 is invalid for PIO; FFFFh must be taken as FFFEh (ATA-6
                // 8.23.4); an odd limit is rounded down to even.
                self.limit = match bcl & !1 {
                    0 => 0xFFFE,
                    n => n,
                };
                self.phase = Phase::Packet;
                self.packet_len = 0;
                self.dma_pending = dma;
                regs[R_NSECT] = IR_COD;
                self.status = ST_READY | ST_DRQ;
                false
            }
            // IDENTIFY PACKET DEVICE: one PIO data-in block.
            0xA1 => {
                self.buf = self
                    .identify()
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .collect();
                self.phase = Phase::Identify;
                self.status = ST_READY | ST_DRQ;
                true
            }
            // IDENTIFY DEVICE: a packet device aborts it and shows its signature, which
            // is how drivers tell it from a disk (ATA-6 8.15.2).
            0xEC => {
                Self::signature(regs);
                self.ata_abort()
            }
            // DEVICE RESET (ATA-6 8.7): as a software reset of this device, no
            // interrupt.
            0x08 => {
                self.reset(regs);
                self.error = 0x01;
                false
            }
            // SET FEATURES: transfer modes (03h) are recorded for IDENTIFY; others need
            // nothing from a read-only drive.
            0xEF => {
                if regs[R_FEATURES] == 0x03 {
                    let mode = regs[R_NSECT];
                    let ok = match mode >> 3 {
                        0 | 1 => mode & 7 <= 4,
                        4 => self.dma_capable && mode & 7 <= 2,
                        8 => self.dma_capable && mode & 7 <= 2,
                        _ => false,
                    };
                    if !ok {
                        return self.ata_abort();
                    }
                    self.xfer_mode = mode;
                }
                self.ata_done()
            }
            // CHECK POWER MODE: FFh, active or idle.
            0xE5 => {
                regs[R_NSECT] = 0xFF;
                self.ata_done()
            }
            // IDLE IMMEDIATE, STANDBY IMMEDIATE, SLEEP-free power commands.
            0xE0 | 0xE1 => self.ata_done(),
            _ => {
                self.log_unsupported(cmd, true);
                self.ata_abort()
            }
        }
    }

    /// Logs an unsupported opcode once per run (`ata` selects the ATA command table).
    fn log_unsupported(&mut self, op: u8, ata: bool) {
        let i = usize::from(op) + if ata { 256 } else { 0 };
        if self.logged[i / 64] & (1 << (i % 64)) == 0 {
            self.logged[i / 64] |= 1 << (i % 64);
            log::info!(
                target: "atapi",
                "unsupported {} {op:#04x}: {}",
                if ata { "ATA command" } else { "packet command" },
                if ata { "aborted" } else { "CHECK CONDITION, invalid command operation code" }
            );
        }
    }

    fn ata_done(&mut self) -> bool {
        self.status = ST_READY;
        true
    }

    fn ata_abort(&mut self) -> bool {
        self.error = ER_ABRT;
        self.status = ST_READY | ST_ERR;
        true
    }

    /// Reads the data register; the word, and whether INTRQ is asserted.
    pub fn read16(&mut self, regs: &mut [u8; 6]) -> (u16, bool) {
        if !matches!(self.phase, Phase::PioIn | Phase::Identify) {
            return (0xFFFF, false);
        }
        let lo = self.buf.get(self.pos).copied().unwrap_or(0);
        let hi = self.buf.get(self.pos + 1).copied().unwrap_or(0);
        self.pos += 2;
        let mut intrq = false;
        if self.pos >= self.buf.len() {
            if self.phase == Phase::Identify {
                self.phase = Phase::Idle;
                self.status = ST_READY;
                self.buf.clear();
            } else {
                intrq = self.next_block(regs);
            }
        }
        (u16::from_le_bytes([lo, hi]), intrq)
    }

    /// Writes the data register (the command packet); returns whether INTRQ is
    /// asserted.
    pub fn write16(&mut self, value: u16, regs: &mut [u8; 6]) -> bool {
        if self.phase != Phase::Packet {
            return false;
        }
        let [lo, hi] = value.to_le_bytes();
        self.packet[self.packet_len] = lo;
        self.packet[self.packet_len + 1] = hi;
        self.packet_len += 2;
        if self.packet_len < self.packet.len() {
            return false;
        }
        let cdb = self.packet;
        self.run_packet(cdb, regs)
    }

    /// Executes a command packet and enters its data or status phase.
    fn run_packet(&mut self, cdb: [u8; 12], regs: &mut [u8; 6]) -> bool {
        let reply = self.execute(&cdb);
        log::debug!(
            target: "atapi",
            "packet {:02x?} -> {}",
            cdb,
            match &reply {
                Ok(Reply::Done) => "good".to_string(),
                Ok(Reply::Data(d)) => format!("{} bytes", d.len()),
                Ok(Reply::Blocks(l, n)) => format!("{n} blocks from {l}"),
                Err(s) => format!("check condition {:02x}/{:02x}/{:02x}", s.key, s.asc, s.ascq),
            }
        );
        match reply {
            Err(s) => self.check_condition(s, regs),
            Ok(r) => {
                self.sense = Sense::default();
                self.stream = match r {
                    Reply::Done => Stream::default(),
                    Reply::Data(d) => Stream::reply(d),
                    Reply::Blocks(lba, n) => Stream::blocks(lba, n),
                };
                if self.stream.remaining() == 0 {
                    return self.good(regs);
                }
                if self.dma_pending {
                    // The data waits for the bus master; DRQ shows the DMA data phase.
                    self.phase = Phase::Dma;
                    regs[R_NSECT] = IR_IO;
                    self.status = ST_READY | ST_DRQ;
                    return false;
                }
                self.next_block(regs)
            }
        }
    }

    /// Starts the next PIO DRQ block, or completes the command; returns INTRQ.
    fn next_block(&mut self, regs: &mut [u8; 6]) -> bool {
        let left = self.stream.remaining();
        if left == 0 {
            return self.good(regs);
        }
        let n = left.min(self.limit as u64) as usize;
        self.buf.resize(n, 0);
        let mut buf = std::mem::take(&mut self.buf);
        let pulled = self.stream.pull(self.medium.as_mut(), &mut buf);
        self.buf = buf;
        if let Err(e) = pulled {
            log::warn!(target: "atapi", "read of the disc failed: {e}");
            return self.check_condition(READ_ERROR, regs);
        }
        self.pos = 0;
        self.phase = Phase::PioIn;
        regs[R_NSECT] = IR_IO;
        regs[R_BCL] = n as u8;
        regs[R_BCH] = (n >> 8) as u8;
        self.status = ST_READY | ST_DRQ;
        true
    }

    /// Command completion with good status: CoD and IO set, DRQ clear, INTRQ.
    fn good(&mut self, regs: &mut [u8; 6]) -> bool {
        self.phase = Phase::Idle;
        self.buf.clear();
        self.stream = Stream::default();
        regs[R_NSECT] = IR_COD | IR_IO;
        self.status = ST_READY;
        true
    }

    /// Completion with CHECK CONDITION: ERR (CHK) in the status, the sense key in the
    /// error register's high nibble.
    fn check_condition(&mut self, s: Sense, regs: &mut [u8; 6]) -> bool {
        self.sense = s;
        self.phase = Phase::Idle;
        self.buf.clear();
        self.stream = Stream::default();
        regs[R_NSECT] = IR_COD | IR_IO;
        self.error = s.key << 4;
        self.status = ST_READY | ST_ERR;
        true
    }

    /// Whether a DMA data phase is waiting for the bus master.
    pub fn dma_active(&self) -> bool {
        self.phase == Phase::Dma
    }

    /// Moves up to `out.len()` bytes of the current command's data to the bus
    /// master; returns the count (0 when there is no DMA data phase or it is over).
    /// A medium failure ends the command with CHECK CONDITION (see [`Atapi::dma_end`]).
    pub fn dma_read(&mut self, out: &mut [u8]) -> usize {
        if self.phase != Phase::Dma {
            return 0;
        }
        match self.stream.pull(self.medium.as_mut(), out) {
            Ok(n) => n,
            Err(e) => {
                log::warn!(target: "atapi", "read of the disc failed: {e}");
                self.stream = Stream::default();
                self.sense = READ_ERROR;
                0
            }
        }
    }

    /// Whether the DMA data phase has no bytes left.
    pub fn dma_done(&self) -> bool {
        self.phase == Phase::Dma && self.stream.remaining() == 0
    }

    /// The bus master finished (or gave up): the command completes, with CHECK
    /// CONDITION if data was left or the medium failed. Returns INTRQ.
    pub fn dma_end(&mut self, regs: &mut [u8; 6]) -> bool {
        if self.phase != Phase::Dma {
            return false;
        }
        if self.sense == READ_ERROR {
            return self.check_condition(READ_ERROR, regs);
        }
        self.good(regs)
    }

    fn identify(&self) -> [u16; 256] {
        let mut w = [0u16; 256];
        let put_str = |w: &mut [u16; 256], first: usize, s: &[u8]| {
            for (i, pair) in s.chunks(2).enumerate() {
                w[first + i] = u16::from_be_bytes([pair[0], pair[1]]);
            }
        };
        // ATAPI (10b), device type 05h (CD-ROM), removable, DRQ within 3 ms of PACKET
        // (no interrupt for the packet), 12-byte packets.
        w[0] = 0x8580;
        put_str(&mut w, 10, b"PCEMU-CD-0000000001 ");
        put_str(&mut w, 23, FIRMWARE);
        put_str(&mut w, 27, MODEL);
        // LBA shall be one; IORDY supported; DMA when a bus master is wired.
        w[49] = 0x0A00 | if self.dma_capable { 0x0100 } else { 0 };
        w[53] = if self.dma_capable { 0x0006 } else { 0x0002 };
        if self.dma_capable {
            // MWDMA 0-2 supported; the mode SET FEATURES selected in the high byte.
            w[63] = 0x0007;
            if self.xfer_mode >> 3 == 4 {
                w[63] |= 0x0100 << (self.xfer_mode & 7);
            }
            w[88] = 0x0007;
            if self.xfer_mode >> 3 == 8 {
                w[88] |= 0x0100 << (self.xfer_mode & 7);
            }
        }
        w[64] = 0x0003; // PIO modes 3 and 4
        w[65] = 120;
        w[66] = 120;
        w[67] = 120;
        w[68] = 120;
        w[80] = 0x0070; // ATA/ATAPI-4 to -6
                        // PACKET feature set (bit 4, shall be one) and DEVICE RESET (bit 9).
        w[82] = 0x0210;
        w[83] = 0x4000;
        w[84] = 0x4000;
        w[85] = 0x0210;
        w[86] = 0x0000;
        w[87] = 0x4000;
        w[255] = 0x00A5;
        let sum = w
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .fold(0u8, |a, b| a.wrapping_add(b));
        w[255] |= u16::from(0u8.wrapping_sub(sum)) << 8;
        w
    }

    /// The not-ready sense for a command that needs the disc.
    fn need_medium(&self) -> Result<u64, Sense> {
        match &self.medium {
            _ if self.tray_open => Err(NO_MEDIUM_OPEN),
            None => Err(NO_MEDIUM_CLOSED),
            Some(m) => Ok(m.sectors() / PER_BLOCK),
        }
    }

    /// Runs one packet command (the table of MMC-3 commands a CD-ROM implements).
    fn execute(&mut self, c: &[u8; 12]) -> Result<Reply, Sense> {
        let op = c[0];
        // SPC-3 5.4.3 / MMC-3 4.1.6.1: a pending unit attention fails the next
        // command, except those that report status without touching the medium.
        if !matches!(op, 0x12 | 0x03 | 0x46 | 0x4A) {
            if let Some(s) = self.attention.take() {
                return Err(s);
            }
        }
        let be16 = |i: usize| usize::from(u16::from_be_bytes([c[i], c[i + 1]]));
        let be32 = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
        let cut = |mut v: Vec<u8>, alloc: usize| {
            v.truncate(alloc);
            Ok(Reply::Data(v))
        };
        match op {
            // TEST UNIT READY
            0x00 => self.need_medium().map(|_| Reply::Done),
            // REQUEST SENSE: the pending unit attention, else the last command's sense.
            0x03 => {
                let s = self.attention.take().unwrap_or(self.sense);
                self.sense = Sense::default();
                let mut d = vec![0u8; 18];
                d[0] = 0x70; // current error, fixed format
                d[2] = s.key;
                d[7] = 10; // additional sense length: bytes 8–17
                d[12] = s.asc;
                d[13] = s.ascq;
                cut(d, usize::from(c[4]))
            }
            // INQUIRY: standard data only (no vital product data pages).
            0x12 => {
                if c[1] & 1 != 0 || c[2] != 0 {
                    return Err(INVALID_FIELD);
                }
                let mut d = vec![0u8; 36];
                d[0] = 0x05; // CD/DVD device
                d[1] = 0x80; // removable medium
                d[2] = 0x05; // SPC-3
                d[3] = 0x02; // response data format 2
                d[4] = 31; // additional length
                d[8..16].copy_from_slice(b"PCEMU   ");
                d[16..32].copy_from_slice(b"ATAPI CD-ROM    ");
                d[32..36].copy_from_slice(b"1.0 ");
                cut(d, be16(3))
            }
            // START STOP UNIT: LoEj with Start clear opens the tray (refused while
            // locked), with Start set closes it.
            0x1B => {
                let (start, loej) = (c[4] & 1 != 0, c[4] & 2 != 0);
                if loej {
                    if start {
                        if self.tray_open {
                            self.tray_open = false;
                            self.media_changed();
                        }
                    } else {
                        if self.locked {
                            return Err(REMOVAL_PREVENTED);
                        }
                        if !self.tray_open {
                            self.tray_open = true;
                            self.media_event = 3;
                        }
                    }
                } else if start {
                    self.need_medium()?;
                }
                Ok(Reply::Done)
            }
            // PREVENT ALLOW MEDIUM REMOVAL
            0x1E => {
                self.locked = c[4] & 1 != 0;
                Ok(Reply::Done)
            }
            // READ CAPACITY: last block address and block length.
            0x25 => {
                let blocks = self.need_medium()?;
                let last = blocks.saturating_sub(1).min(u64::from(u32::MAX)) as u32;
                let mut d = last.to_be_bytes().to_vec();
                d.extend((CD_BLOCK as u32).to_be_bytes());
                Ok(Reply::Data(d))
            }
            // READ(10), READ(12)
            0x28 | 0xA8 => {
                let blocks = self.need_medium()?;
                let lba = u64::from(be32(2));
                let n = if op == 0x28 {
                    be16(7) as u64
                } else {
                    u64::from(be32(6))
                };
                if lba + n > blocks {
                    return Err(LBA_OUT_OF_RANGE);
                }
                Ok(Reply::Blocks(lba, n))
            }
            // SEEK(10)
            0x2B => {
                let blocks = self.need_medium()?;
                if u64::from(be32(2)) >= blocks {
                    return Err(LBA_OUT_OF_RANGE);
                }
                Ok(Reply::Done)
            }
            0x43 => {
                let blocks = self.need_medium()?;
                let d = read_toc(c, blocks)?;
                cut(d, be16(7))
            }
            0x46 => cut(self.configuration(c)?, be16(7)),
            0x4A => cut(self.event_status(c)?, be16(7)),
            // READ DISC INFORMATION (MMC-3 Table 175): a finalized single-session disc.
            0x51 => {
                self.need_medium()?;
                if c[1] & 7 != 0 {
                    return Err(INVALID_FIELD);
                }
                let mut d = vec![0u8; 34];
                d[1] = 32; // disc information length: bytes 2–33
                d[2] = 0x0E; // last session complete, disc finalized, not erasable
                d[3] = 1; // first track number
                d[4] = 1; // number of sessions
                d[5] = 1; // first track in last session
                d[6] = 1; // last track in last session
                d[7] = 0x20; // URU: unrestricted use
                d[8] = 0x00; // CD-DA or CD-ROM disc
                             // Last session lead-in and last possible lead-out: FF…FF (finalized).
                d[16..24].fill(0xFF);
                cut(d, be16(7))
            }
            0x5A => self.mode_sense(c),
            // SET CD SPEED: nothing to change in an image.
            0xBB => Ok(Reply::Done),
            _ => {
                self.log_unsupported(op, false);
                Err(INVALID_OPCODE)
            }
        }
    }

    /// MODE SENSE(10): the read error recovery page (01h) and the capabilities page
    /// (2Ah), one or all (3Fh), after an 8-byte header without block descriptors.
    fn mode_sense(&self, c: &[u8; 12]) -> Result<Reply, Sense> {
        let pc = c[2] >> 6;
        let page = c[2] & 0x3F;
        if pc == 3 {
            return Err(NO_SAVING);
        }
        // Changeable values (pc 1) are all zero: nothing can be set.
        let changeable = pc == 1;
        let recovery = {
            // SPC-3 / MMC-3 6.3.8: page 01h, length 06h, default error recovery.
            let mut p = vec![0x01, 0x06, 0, 0, 0, 0, 0, 0];
            if !changeable {
                p[3] = 5; // read retry count
            }
            p
        };
        let caps = {
            // MMC-3 6.3.11 (the MMC-1/SFF-8020i 20-byte form Linux and DOS drivers
            // parse): page 2Ah, length 12h.
            let mut p = vec![0u8; 20];
            p[0] = 0x2A;
            p[1] = 0x12;
            if !changeable {
                p[2] = 0x03; // reads CD-R and CD-RW media
                p[4] = 0x71; // audio play, mode 2 form 1/2, multi-session
                p[5] = 0x03; // CD-DA commands, accurate stream
                             // Lock supported, lock state, eject supported, tray loading (001b).
                p[6] = 0x29 | if self.locked { 0x02 } else { 0 };
                p[8..10].copy_from_slice(&706u16.to_be_bytes()); // 4× (176.4 kB/s each)
                p[10..12].copy_from_slice(&256u16.to_be_bytes()); // volume levels
                p[12..14].copy_from_slice(&512u16.to_be_bytes()); // buffer, kB
                p[14..16].copy_from_slice(&706u16.to_be_bytes());
            }
            p
        };
        let pages = match page {
            0x01 => recovery,
            0x2A => caps,
            0x3F => [recovery, caps].concat(),
            _ => return Err(INVALID_FIELD),
        };
        let mut d = vec![0u8; 8];
        let len = (6 + pages.len()) as u16;
        d[0..2].copy_from_slice(&len.to_be_bytes());
        d[2] = if self.ready() { 0x01 } else { 0x70 }; // 120 mm data disc / no disc
        d.extend(pages);
        d.truncate(usize::from(u16::from_be_bytes([c[7], c[8]])));
        Ok(Reply::Data(d))
    }

    /// GET CONFIGURATION (MMC-3 5.6): the CD-ROM profile (0008h) and the features a
    /// read-only CD drive has.
    fn configuration(&self, c: &[u8; 12]) -> Result<Vec<u8>, Sense> {
        let rt = c[1] & 3;
        let start = u16::from_be_bytes([c[2], c[3]]);
        if rt == 3 {
            return Err(INVALID_FIELD);
        }
        let media = self.ready();
        let current = |on: bool| if on { 0x01 } else { 0x00 };
        // (feature code, version << 2 | persistent << 1 | current, data)
        let features: [(u16, u8, Vec<u8>); 6] = [
            // Profile list: CD-ROM, current with a disc.
            (0x0000, 0x02 | 0x01, vec![0x00, 0x08, current(media), 0x00]),
            // Core: ATAPI interface (00000002h), version 1 (DBE in byte 4).
            (0x0001, 0x04 | 0x02 | 0x01, vec![0, 0, 0, 2, 0x00, 0, 0, 0]),
            // Morphing: polled GESN only.
            (0x0002, 0x04 | 0x02 | 0x01, vec![0, 0, 0, 0]),
            // Removable medium: tray (001b), eject, lock.
            (0x0003, 0x02 | 0x01, vec![0x29, 0, 0, 0]),
            // Random readable: 2048-byte blocks, blocking 1.
            (
                0x0010,
                current(media),
                vec![0, 0, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00],
            ),
            // CD read.
            (0x001E, 0x08 | current(media), vec![0, 0, 0, 0]),
        ];
        let mut d = vec![0u8; 8];
        d[6..8].copy_from_slice(&(if media { 0x0008u16 } else { 0 }).to_be_bytes());
        for (code, flags, data) in features {
            let wanted = match rt {
                0 => code >= start,
                1 => code >= start && flags & 1 != 0,
                _ => code == start,
            };
            if wanted {
                d.extend(code.to_be_bytes());
                d.push(flags);
                d.push(data.len() as u8);
                d.extend(data);
            }
        }
        let len = (d.len() - 4) as u32;
        d[0..4].copy_from_slice(&len.to_be_bytes());
        Ok(d)
    }

    /// GET EVENT STATUS NOTIFICATION (MMC-3 5.7), polled: the media class only.
    fn event_status(&mut self, c: &[u8; 12]) -> Result<Vec<u8>, Sense> {
        if c[1] & 1 == 0 {
            // Asynchronous notification is not supported.
            return Err(INVALID_FIELD);
        }
        const MEDIA_CLASS: u8 = 1 << 4;
        if c[4] & MEDIA_CLASS == 0 {
            // No supported class requested: NEA, header only.
            return Ok(vec![0, 2, 0x80, MEDIA_CLASS]);
        }
        let event = std::mem::take(&mut self.media_event);
        let status = u8::from(self.tray_open) | u8::from(self.medium.is_some()) << 1;
        Ok(vec![0, 6, 0x04, MEDIA_CLASS, event, status, 0, 0])
    }
}

/// An LBA as minutes/seconds/frames (75 frames a second, block 0 at 00:02:00).
fn msf(lba: u64) -> [u8; 4] {
    let f = lba + 150;
    [
        0,
        (f / 4500).min(255) as u8,
        (f / 75 % 60) as u8,
        (f % 75) as u8,
    ]
}

/// READ TOC/PMA/ATIP (MMC-3 5.25) for a one-track data disc of `blocks` blocks.
fn read_toc(c: &[u8; 12], blocks: u64) -> Result<Vec<u8>, Sense> {
    let use_msf = c[1] & 2 != 0;
    // MMC format field; ATAPI drivers of the SFF-8020i era put it in the top bits of
    // the control byte (byte 9) instead.
    let format = match c[2] & 0x0F {
        0 => c[9] >> 6,
        f => f,
    };
    let addr = |lba: u64| {
        if use_msf {
            msf(lba)
        } else {
            (lba.min(u64::from(u32::MAX)) as u32).to_be_bytes()
        }
    };
    let track = c[6];
    let mut d = vec![0u8; 4];
    match format {
        0 => {
            // TOC: track 1 (data, ADR 1, control 4) and the lead-out (AAh).
            if track > 1 && track != 0xAA {
                return Err(INVALID_FIELD);
            }
            d[2] = 1;
            d[3] = 1;
            if track <= 1 {
                d.extend([0, 0x14, 1, 0]);
                d.extend(addr(0));
            }
            d.extend([0, 0x14, 0xAA, 0]);
            d.extend(addr(blocks));
        }
        1 => {
            // Session information: first and last session 1, its first track at 0.
            d[2] = 1;
            d[3] = 1;
            d.extend([0, 0x14, 1, 0]);
            d.extend(addr(0));
        }
        2 => {
            // Full TOC (always MSF): A0 first track, A1 last track, A2 lead-out, then
            // track 1.
            d[2] = 1;
            d[3] = 1;
            let lead_out = msf(blocks);
            for (point, p) in [
                (0xA0, [1, 0x00, 0]),
                (0xA1, [1, 0, 0]),
                (0xA2, [lead_out[1], lead_out[2], lead_out[3]]),
                (0x01, [0, 2, 0]),
            ] {
                d.extend([1, 0x14, 0, point, 0, 0, 0, 0, p[0], p[1], p[2]]);
            }
        }
        _ => return Err(INVALID_FIELD),
    }
    let len = (d.len() - 2) as u16;
    d[0..2].copy_from_slice(&len.to_be_bytes());
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::MemDisk;
    use crate::ide::IdeChannel;
    use crate::IrqLog;

    const IRQ: u8 = 15;

    /// A disc of `blocks` blocks whose block n starts with n (big-endian) and is
    /// filled with n's low byte.
    fn disc(blocks: usize) -> Box<dyn BlockDevice> {
        let mut v = vec![0u8; blocks * CD_BLOCK];
        for (n, b) in v.chunks_mut(CD_BLOCK).enumerate() {
            b.fill(n as u8);
            b[..4].copy_from_slice(&(n as u32).to_be_bytes());
        }
        Box::new(MemDisk::read_only(v))
    }

    fn block_bytes(n: usize) -> Vec<u8> {
        let mut b = vec![n as u8; CD_BLOCK];
        b[..4].copy_from_slice(&(n as u32).to_be_bytes());
        b
    }

    /// A secondary channel with a CD-ROM as master holding a 300-block disc.
    fn channel() -> (IdeChannel, IrqLog) {
        let mut c = IdeChannel::new(IRQ);
        let mut cd = Atapi::new();
        cd.insert(disc(300));
        c.attach_cdrom(0, cd);
        (c, IrqLog::default())
    }

    /// What a PACKET command returned: the data, the final status and error, and the
    /// size of every DRQ block.
    struct Out {
        data: Vec<u8>,
        status: u8,
        error: u8,
        blocks: Vec<usize>,
    }

    /// Runs one packet command over PIO, following the protocol of ATA-6 9.10 and
    /// checking every step it fixes.
    fn packet(c: &mut IdeChannel, irq: &mut IrqLog, cdb: &[u8], limit: u16) -> Out {
        let mut p = [0u8; 12];
        p[..cdb.len()].copy_from_slice(cdb);
        c.write(1, 0, irq); // PIO
        c.write(4, limit as u8, irq);
        c.write(5, (limit >> 8) as u8, irq);
        c.write(6, 0xA0, irq);
        let rises = irq.rises(IRQ);
        c.write(7, 0xA0, irq);
        // DRQ for the packet, CoD set, IO clear, and no interrupt yet.
        assert_eq!(c.read(8, irq), ST_READY | ST_DRQ);
        assert_eq!(c.read(2, irq) & 3, IR_COD);
        assert_eq!(irq.rises(IRQ), rises);
        for w in p.chunks(2) {
            c.write16(u16::from_le_bytes([w[0], w[1]]), irq);
        }
        let mut out = Out {
            data: Vec::new(),
            status: 0,
            error: 0,
            blocks: Vec::new(),
        };
        loop {
            assert!(irq.levels[IRQ as usize], "INTRQ at each phase");
            let st = c.read(7, irq);
            assert!(!irq.levels[IRQ as usize], "status read acknowledges");
            let reason = c.read(2, irq) & 3;
            if st & ST_DRQ == 0 {
                assert_eq!(reason, IR_COD | IR_IO, "completion: CoD and IO");
                out.status = st;
                out.error = c.read(1, irq);
                return out;
            }
            assert_eq!(reason, IR_IO, "data-in");
            let n = usize::from(c.read(4, irq)) | usize::from(c.read(5, irq)) << 8;
            assert!(
                n <= usize::from(limit & !1).max(2),
                "block {n} within the limit"
            );
            out.blocks.push(n);
            for _ in 0..n.div_ceil(2) {
                out.data.extend(c.read16(irq).to_le_bytes());
            }
            out.data.truncate(out.data.len() - n % 2);
        }
    }

    fn request_sense(c: &mut IdeChannel, irq: &mut IrqLog) -> Sense {
        let o = packet(c, irq, &[0x03, 0, 0, 0, 18], 0xFFFE);
        assert_eq!(o.status, ST_READY);
        assert_eq!(o.data.len(), 18);
        assert_eq!(o.data[0], 0x70);
        assert_eq!(o.data[7], 10);
        sense(o.data[2], o.data[12], o.data[13])
    }

    /// Clears the insertion's unit attention.
    fn settle(c: &mut IdeChannel, irq: &mut IrqLog) {
        let o = packet(c, irq, &[0x00], 0xFFFE);
        assert_eq!(o.status, ST_READY | ST_ERR);
        assert_eq!(request_sense(c, irq), MEDIUM_CHANGED);
    }

    #[test]
    fn reset_signature_and_identify() {
        let (mut c, mut irq) = channel();
        // IDENTIFY DEVICE aborts and leaves the ATAPI signature (ATA-6 8.15).
        c.write(6, 0xA0, &mut irq);
        c.write(7, 0xEC, &mut irq);
        assert_eq!(irq.rises(IRQ), 1);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_ABRT);
        let sig: Vec<u8> = (2..6).map(|r| c.read(r, &mut irq)).collect();
        assert_eq!(sig, [0x01, 0x01, 0x14, 0xEB]);
        // Software reset: the signature again, diagnostic code 01h.
        c.write(3, 0x55, &mut irq);
        c.write(8, 0x04, &mut irq);
        c.write(8, 0x00, &mut irq);
        let sig: Vec<u8> = (2..6).map(|r| c.read(r, &mut irq)).collect();
        assert_eq!(sig, [0x01, 0x01, 0x14, 0xEB]);
        assert_eq!(c.read(1, &mut irq), 0x01);
        // IDENTIFY PACKET DEVICE: one 512-byte block.
        c.write(7, 0xA1, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_DRQ);
        let w: Vec<u16> = (0..256).map(|_| c.read16(&mut irq)).collect();
        assert_eq!(c.read(7, &mut irq), ST_READY);
        // Word 0: 10b ATAPI, type 05h CD-ROM, removable, 12-byte packets.
        assert_eq!(w[0] >> 14, 0b10);
        assert_eq!((w[0] >> 8) & 0x1F, 0x05);
        assert_ne!(w[0] & 0x80, 0);
        assert_eq!(w[0] & 3, 0);
        assert_eq!((w[0] >> 5) & 3, 0, "DRQ within 3 ms, no packet interrupt");
        assert_ne!(w[82] & 0x10, 0, "PACKET feature set");
        assert_eq!(w[49] & 0x0100, 0, "no DMA without a bus master");
        let model: Vec<u8> = w[27..47].iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(&model[..18], b"PCEMU ATAPI CD-ROM");
        let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)), 0);
        // ATA read commands are not for a packet device.
        c.write(7, 0x20, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_ABRT);
    }

    #[test]
    fn signatures_of_a_disk_and_a_cdrom_on_one_channel() {
        let mut c = IdeChannel::new(IRQ);
        let mut irq = IrqLog::default();
        c.attach(0, Box::new(MemDisk::new(vec![0; 64 * SECTOR])));
        c.attach_cdrom(1, Atapi::new());
        c.write(8, 0x04, &mut irq);
        c.write(8, 0x00, &mut irq);
        let sig = |c: &mut IdeChannel, irq: &mut IrqLog| -> Vec<u8> {
            (2..6).map(|r| c.read(r, irq)).collect()
        };
        assert_eq!(sig(&mut c, &mut irq), [1, 1, 0, 0], "disk master");
        c.write(6, 0xB0, &mut irq);
        assert_eq!(sig(&mut c, &mut irq), [1, 1, 0x14, 0xEB], "ATAPI slave");
        c.write(6, 0xA0, &mut irq);
        assert_eq!(sig(&mut c, &mut irq), [1, 1, 0, 0]);
    }

    #[test]
    fn unit_attention_after_insertion_then_ready() {
        let (mut c, mut irq) = channel();
        // INQUIRY does not report the unit attention (SPC-3 5.4.3).
        let o = packet(&mut c, &mut irq, &[0x12, 0, 0, 0, 36], 0xFFFE);
        assert_eq!(o.status, ST_READY);
        // SPC-3 Table 82: CD/DVD (05h), removable, SPC-3, format 2, 31 more bytes.
        assert_eq!(&o.data[..5], &[0x05, 0x80, 0x05, 0x02, 31]);
        assert_eq!(&o.data[8..16], b"PCEMU   ");
        // TEST UNIT READY: CHECK CONDITION, UNIT ATTENTION in the error register.
        let o = packet(&mut c, &mut irq, &[0x00], 0xFFFE);
        assert_eq!(o.status, ST_READY | ST_ERR);
        assert_eq!(o.error, UNIT_ATTENTION << 4);
        assert_eq!(request_sense(&mut c, &mut irq), MEDIUM_CHANGED);
        // Reported once: now ready, and the sense is clear.
        let o = packet(&mut c, &mut irq, &[0x00], 0xFFFE);
        assert_eq!(o.status, ST_READY);
        assert_eq!(o.error, 0);
        assert_eq!(request_sense(&mut c, &mut irq), Sense::default());
    }

    #[test]
    fn unknown_command_is_invalid_opcode() {
        let (mut c, mut irq) = channel();
        settle(&mut c, &mut irq);
        for op in [0x2A, 0xFF, 0x55] {
            let o = packet(&mut c, &mut irq, &[op], 0xFFFE);
            assert_eq!(o.status, ST_READY | ST_ERR);
            assert_eq!(o.error, ILLEGAL_REQUEST << 4);
            assert_eq!(request_sense(&mut c, &mut irq), sense(0x05, 0x20, 0x00));
        }
    }

    #[test]
    fn read_capacity_and_reads_in_limited_blocks() {
        let (mut c, mut irq) = channel();
        settle(&mut c, &mut irq);
        let o = packet(&mut c, &mut irq, &[0x25], 0xFFFE);
        // Last LBA 299 (12Bh), 2048 (800h) bytes a block, both big-endian.
        assert_eq!(o.data, [0, 0, 0x01, 0x2B, 0, 0, 0x08, 0]);
        // READ(10) of 3 blocks from 7 with a byte-count limit of 5000: DRQ blocks of
        // 5000 and 1144 bytes (6144 in all), odd limits rounded down.
        let o = packet(&mut c, &mut irq, &[0x28, 0, 0, 0, 0, 7, 0, 0, 3], 5001);
        assert_eq!(o.status, ST_READY);
        assert_eq!(o.blocks, [5000, 1144]);
        assert_eq!(
            o.data,
            [block_bytes(7), block_bytes(8), block_bytes(9)].concat()
        );
        // READ(12) of the last two blocks.
        let o = packet(
            &mut c,
            &mut irq,
            &[0xA8, 0, 0, 0, 1, 0x2A, 0, 0, 0, 2],
            0xFFFF,
        );
        assert_eq!(o.blocks, [4096]);
        assert_eq!(o.data, [block_bytes(298), block_bytes(299)].concat());
        // One past the end: ILLEGAL REQUEST, LBA out of range, no data.
        let o = packet(&mut c, &mut irq, &[0x28, 0, 0, 0, 1, 0x2B, 0, 0, 2], 0xFFFE);
        assert_eq!(o.status, ST_READY | ST_ERR);
        assert!(o.data.is_empty());
        assert_eq!(request_sense(&mut c, &mut irq), sense(0x05, 0x21, 0x00));
        // A zero-length read is good status without data.
        let o = packet(&mut c, &mut irq, &[0x28, 0, 0, 0, 0, 5, 0, 0, 0], 0xFFFE);
        assert_eq!((o.status, o.data.len()), (ST_READY, 0));
    }

    #[test]
    fn allocation_length_truncates_replies() {
        let (mut c, mut irq) = channel();
        settle(&mut c, &mut irq);
        let o = packet(&mut c, &mut irq, &[0x03, 0, 0, 0, 8], 0xFFFE);
        assert_eq!(o.data.len(), 8);
        let o = packet(&mut c, &mut irq, &[0x12, 0, 0, 0, 5], 0xFFFE);
        assert_eq!(o.data, [0x05, 0x80, 0x05, 0x02, 31]);
    }

    #[test]
    fn read_toc_formats() {
        let (mut c, mut irq) = channel();
        settle(&mut c, &mut irq);
        // Format 0, LBA: length 18 (12h), tracks 1–1, track 1 at 0, lead-out at 300.
        let o = packet(&mut c, &mut irq, &[0x43, 0, 0, 0, 0, 0, 0, 0, 100], 0xFFFE);
        assert_eq!(
            o.data,
            [
                0, 0x12, 1, 1, //
                0, 0x14, 1, 0, 0, 0, 0, 0, //
                0, 0x14, 0xAA, 0, 0, 0, 0x01, 0x2C
            ]
        );
        // MSF: block 0 is 00:02:00; the lead-out 300 + 150 = 450 frames = 00:06:00.
        let o = packet(&mut c, &mut irq, &[0x43, 2, 0, 0, 0, 0, 0, 0, 100], 0xFFFE);
        assert_eq!(&o.data[8..12], &[0, 0, 2, 0]);
        assert_eq!(&o.data[16..20], &[0, 0, 6, 0]);
        // Starting at the lead-out: only its descriptor.
        let o = packet(
            &mut c,
            &mut irq,
            &[0x43, 0, 0, 0, 0, 0, 0xAA, 0, 100],
            0xFFFE,
        );
        assert_eq!(o.data, [0, 0x0A, 1, 1, 0, 0x14, 0xAA, 0, 0, 0, 0x01, 0x2C]);
        // Format 1 (session info), in byte 2 and in the old place (byte 9 bits 7:6).
        let want = [0, 0x0A, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0];
        let o = packet(&mut c, &mut irq, &[0x43, 0, 1, 0, 0, 0, 0, 0, 12], 0xFFFE);
        assert_eq!(o.data, want);
        let o = packet(
            &mut c,
            &mut irq,
            &[0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0x40],
            0xFFFE,
        );
        assert_eq!(o.data, want);
        // Format 2 (full TOC): four 11-byte descriptors, A2 pointing at 00:06:00.
        let o = packet(&mut c, &mut irq, &[0x43, 2, 2, 0, 0, 0, 0, 0, 100], 0xFFFE);
        assert_eq!(&o.data[..4], &[0, 46, 1, 1]);
        assert_eq!(
            &o.data[4 + 22..4 + 33],
            &[1, 0x14, 0, 0xA2, 0, 0, 0, 0, 0, 6, 0]
        );
        // Track 2 does not exist.
        let o = packet(&mut c, &mut irq, &[0x43, 0, 0, 0, 0, 0, 2, 0, 100], 0xFFFE);
        assert_eq!(o.status, ST_READY | ST_ERR);
        assert_eq!(request_sense(&mut c, &mut irq), sense(0x05, 0x24, 0x00));
    }

    #[test]
    fn mode_sense_capabilities_page() {
        let (mut c, mut irq) = channel();
        settle(&mut c, &mut irq);
        let o = packet(
            &mut c,
            &mut irq,
            &[0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 0xFF],
            0xFFFE,
        );
        // Header: mode data length 26 (6 + 20), no block descriptors.
        assert_eq!(&o.data[..2], &[0, 26]);
        assert_eq!(&o.data[6..8], &[0, 0]);
        let p = &o.data[8..];
        assert_eq!((p[0], p[1]), (0x2A, 0x12));
        // Lock and eject supported, tray loading mechanism, not locked.
        assert_eq!(p[6] & 0x0B, 0x09);
        assert_eq!(p[6] >> 5, 1);
        // After PREVENT MEDIUM REMOVAL the lock state bit is set.
        packet(&mut c, &mut irq, &[0x1E, 0, 0, 0, 1], 0xFFFE);
        let o = packet(
            &mut c,
            &mut irq,
            &[0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 0xFF],
            0xFFFE,
        );
        assert_ne!(o.data[8 + 6] & 0x02, 0);
        // All pages: 01h then 2Ah.
        let o = packet(
            &mut c,
            &mut irq,
            &[0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 0xFF],
            0xFFFE,
        );
        assert_eq!((o.data[8], o.data[16]), (0x01, 0x2A));
        // Saved values cannot be reported; unknown pages are invalid fields.
        let o = packet(
            &mut c,
            &mut irq,
            &[0x5A, 0, 0xEA, 0, 0, 0, 0, 0, 0xFF],
            0xFFFE,
        );
        assert_eq!(o.status, ST_READY | ST_ERR);
        assert_eq!(request_sense(&mut c, &mut irq), sense(0x05, 0x39, 0x00));
        let o = packet(
            &mut c,
            &mut irq,
            &[0x5A, 0, 0x05, 0, 0, 0, 0, 0, 0xFF],
            0xFFFE,
        );
        assert_eq!(o.status, ST_READY | ST_ERR);
    }

    #[test]
    fn get_configuration_and_events() {
        let (mut c, mut irq) = channel();
        // GET CONFIGURATION and GET EVENT STATUS do not report the unit attention.
        let o = packet(&mut c, &mut irq, &[0x46, 0, 0, 0, 0, 0, 0, 0x01, 0], 0xFFFE);
        assert_eq!(o.status, ST_READY);
        // Current profile 0008h (CD-ROM); the profile list names it, current.
        assert_eq!(&o.data[6..8], &[0, 8]);
        assert_eq!(&o.data[8..16], &[0, 0, 0x03, 4, 0, 8, 1, 0]);
        let len = u32::from_be_bytes([o.data[0], o.data[1], o.data[2], o.data[3]]);
        assert_eq!(len as usize, o.data.len() - 4);
        // RT 2: exactly the removable medium feature.
        let o = packet(&mut c, &mut irq, &[0x46, 2, 0, 3, 0, 0, 0, 0, 100], 0xFFFE);
        assert_eq!(&o.data[8..], &[0, 3, 0x03, 4, 0x29, 0, 0, 0]);
        // GESN, polled, media class: "new media", tray closed with a disc.
        let gesn = [0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8];
        let o = packet(&mut c, &mut irq, &gesn, 0xFFFE);
        assert_eq!(o.data, [0, 6, 0x04, 0x10, 2, 0x02, 0, 0]);
        // Reported once.
        let o = packet(&mut c, &mut irq, &gesn, 0xFFFE);
        assert_eq!(o.data, [0, 6, 0x04, 0x10, 0, 0x02, 0, 0]);
        // Asynchronous requests are refused.
        let o = packet(&mut c, &mut irq, &[0x4A, 0, 0, 0, 0x10, 0, 0, 0, 8], 0xFFFE);
        assert_eq!(o.status, ST_READY | ST_ERR);
        // Still the attention for the first medium command.
        let o = packet(&mut c, &mut irq, &[0x25], 0xFFFE);
        assert_eq!(o.error, UNIT_ATTENTION << 4);
    }

    #[test]
    fn eject_lock_and_reload() {
        let (mut c, mut irq) = channel();
        settle(&mut c, &mut irq);
        // Locked: START STOP UNIT with LoEj refuses (53h/02h).
        packet(&mut c, &mut irq, &[0x1E, 0, 0, 0, 1], 0xFFFE);
        let o = packet(&mut c, &mut irq, &[0x1B, 0, 0, 0, 0x02], 0xFFFE);
        assert_eq!(o.status, ST_READY | ST_ERR);
        assert_eq!(request_sense(&mut c, &mut irq), sense(0x05, 0x53, 0x02));
        // Unlocked: the tray opens; the drive is not ready, tray open (3Ah/02h).
        packet(&mut c, &mut irq, &[0x1E, 0, 0, 0, 0], 0xFFFE);
        let o = packet(&mut c, &mut irq, &[0x1B, 0, 0, 0, 0x02], 0xFFFE);
        assert_eq!(o.status, ST_READY);
        assert!(c.cdrom(0).unwrap().tray_open());
        let o = packet(&mut c, &mut irq, &[0x00], 0xFFFE);
        assert_eq!(o.error, NOT_READY << 4);
        assert_eq!(request_sense(&mut c, &mut irq), sense(0x02, 0x3A, 0x02));
        let o = packet(&mut c, &mut irq, &[0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8], 0xFFFE);
        assert_eq!(&o.data[4..6], &[3, 0x03], "media removal, tray open");
        // Closing it brings the disc back with a unit attention.
        packet(&mut c, &mut irq, &[0x1B, 0, 0, 0, 0x03], 0xFFFE);
        settle(&mut c, &mut irq);
        let o = packet(&mut c, &mut irq, &[0x00], 0xFFFE);
        assert_eq!(o.status, ST_READY);
        // No disc at all: 3Ah/01h (tray closed).
        c.cdrom_mut(0).unwrap().remove();
        packet(&mut c, &mut irq, &[0x1B, 0, 0, 0, 0x03], 0xFFFE);
        packet(&mut c, &mut irq, &[0x00], 0xFFFE);
        assert_eq!(request_sense(&mut c, &mut irq), sense(0x02, 0x3A, 0x01));
    }

    #[test]
    fn read_disc_information() {
        let (mut c, mut irq) = channel();
        settle(&mut c, &mut irq);
        let o = packet(&mut c, &mut irq, &[0x51, 0, 0, 0, 0, 0, 0, 0, 34], 0xFFFE);
        assert_eq!(o.data.len(), 34);
        // Length 32, finalized single session with track 1.
        assert_eq!(&o.data[..7], &[0, 32, 0x0E, 1, 1, 1, 1]);
    }

    #[test]
    fn dma_moves_the_same_bytes_as_pio() {
        let (mut c, mut irq) = channel();
        settle(&mut c, &mut irq);
        c.cdrom_mut(0).unwrap().dma_capable = true;
        // PACKET with features bit 0: after the packet, no PIO data and no interrupt
        // until the bus master has moved the data.
        c.write(1, 1, &mut irq);
        c.write(7, 0xA0, &mut irq);
        let cdb = [0x28u8, 0, 0, 0, 0, 40, 0, 0, 2, 0, 0, 0];
        for w in cdb.chunks(2) {
            c.write16(u16::from_le_bytes([w[0], w[1]]), &mut irq);
        }
        let rises = irq.rises(IRQ);
        let cd = c.selected_cdrom().unwrap();
        assert!(cd.dma_active());
        let mut got = vec![0u8; 4096 + 100];
        let mut n = cd.dma_read(&mut got[..1000]);
        n += cd.dma_read(&mut got[n..]);
        assert_eq!(n, 4096);
        assert!(cd.dma_done());
        assert_eq!(
            &got[..4096],
            &[block_bytes(40), block_bytes(41)].concat()[..]
        );
        c.atapi_dma_end(&mut irq);
        assert_eq!(irq.rises(IRQ), rises + 1);
        assert_eq!(c.read(7, &mut irq), ST_READY);
        assert_eq!(c.read(2, &mut irq) & 3, IR_COD | IR_IO);
        // IDENTIFY PACKET now offers MWDMA and UDMA modes 0-2.
        c.write(7, 0xA1, &mut irq);
        let w: Vec<u16> = (0..256).map(|_| c.read16(&mut irq)).collect();
        assert_ne!(w[49] & 0x0100, 0);
        assert_eq!((w[63] & 7, w[88] & 7), (7, 7));
    }

    #[test]
    fn dma_request_without_a_bus_master_aborts() {
        let (mut c, mut irq) = channel();
        c.write(1, 1, &mut irq);
        c.write(7, 0xA0, &mut irq);
        assert_eq!(c.read(7, &mut irq), ST_READY | ST_ERR);
        assert_eq!(c.read(1, &mut irq), ER_ABRT);
    }

    #[test]
    fn bios_path_reads_blocks() {
        let mut cd = Atapi::new();
        let mut buf = vec![0u8; 2 * CD_BLOCK];
        assert!(cd.read_blocks(0, &mut buf).is_err(), "no disc");
        cd.insert(disc(10));
        assert_eq!(cd.blocks(), 10);
        cd.read_blocks(8, &mut buf).unwrap();
        assert_eq!(buf, [block_bytes(8), block_bytes(9)].concat());
        assert!(cd.read_blocks(9, &mut buf).is_err());
        assert!(cd.read_blocks(u64::MAX, &mut buf).is_err());
    }

    #[test]
    fn random_port_sequences_do_not_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..30 {
            let mut c = IdeChannel::new(IRQ);
            let mut irq = IrqLog::default();
            let mut cd = Atapi::new();
            cd.dma_capable = round % 2 == 0;
            if round % 3 != 0 {
                cd.insert(disc(round * 3));
            }
            c.attach_cdrom(round % 2, cd);
            for _ in 0..20_000 {
                let r = next();
                let offset = (r % 10) as u16;
                let value = if offset == 7 && r & 0x10000 != 0 {
                    [0xA0, 0xA1, 0xEC, 0x08, 0x90, 0xEF][((r >> 20) % 6) as usize]
                } else {
                    (r >> 8) as u8
                };
                match (r >> 32) % 5 {
                    0 => {
                        c.read(offset, &mut irq);
                    }
                    1 => c.write(offset, value, &mut irq),
                    2 => {
                        c.read16(&mut irq);
                    }
                    3 => {
                        // Mostly opcodes the drive knows, with random fields.
                        let ops: [u8; 13] = [
                            0x00, 0x03, 0x12, 0x1B, 0x1E, 0x25, 0x28, 0xA8, 0x43, 0x46, 0x4A, 0x51,
                            0x5A,
                        ];
                        let w = if r & 0x100 != 0 {
                            u16::from(ops[((r >> 40) % ops.len() as u64) as usize])
                        } else {
                            r as u16
                        };
                        c.write16(w, &mut irq)
                    }
                    _ => {
                        if let Some(cd) = c.selected_cdrom() {
                            let mut b = [0u8; 700];
                            cd.dma_read(&mut b);
                        }
                        c.atapi_dma_end(&mut irq);
                    }
                }
            }
        }
    }
}
