//! The storage behind a disk drive: a numbered run of 512-byte sectors that the drive
//! reads and writes in place. The drives (IDE, floppy) and the BIOS see only this trait;
//! whoever builds the machine decides what stands behind it — a host file accessed in
//! place (the frontend), or bytes in memory ([`MemDisk`], for tests and built-in guests).
//!
//! A backend may fail: a host file can hit a full disk or an I/O error, and an image
//! attached read-only refuses writes. Drives turn such failures into the error their
//! hardware reports (ATA ABRT, FDC "not writable"), so the guest sees a failed command
//! and the host never loses track of what reached the image.

/// Bytes per sector on every image we attach.
pub const SECTOR: usize = 512;

/// Why a sector access failed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BlockError {
    /// The range is not inside the image, or is not whole sectors.
    OutOfRange,
    /// The image is attached read-only.
    ReadOnly,
    /// The host could not read or write the image; the message names the cause.
    Io(String),
}

impl std::fmt::Display for BlockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockError::OutOfRange => f.write_str("sector out of range"),
            BlockError::ReadOnly => f.write_str("image is read-only"),
            BlockError::Io(e) => f.write_str(e),
        }
    }
}

/// A disk image as a drive uses it. Buffers are whole sectors; `lba` counts sectors.
pub trait BlockDevice: Send {
    /// Size of the image in sectors.
    fn sectors(&self) -> u64;
    /// Fills `buf` (a whole number of sectors) from sector `lba` on.
    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError>;
    /// Stores `data` (a whole number of sectors) from sector `lba` on.
    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError>;
    /// Makes every completed write durable (ATA FLUSH CACHE, the end of a run).
    fn flush(&mut self) -> Result<(), BlockError> {
        Ok(())
    }
    /// Whether writes are refused (a write-protected floppy, a read-only file).
    fn read_only(&self) -> bool {
        false
    }
    /// Whether the guest has written to the image since it was attached.
    fn dirty(&self) -> bool;
    /// With a copy-on-write overlay (`--snapshot`), the sectors the guest wrote there, in
    /// ascending order; None when writes go straight to the image. Machine state files
    /// carry these sectors, since the image underneath never sees them.
    fn overlay_sectors(&self) -> Option<Vec<u64>> {
        None
    }
    /// Reads the image underneath any overlay: what the disk held when it was attached.
    fn read_base(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.read(lba, buf)
    }
}

impl std::fmt::Debug for dyn BlockDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockDevice({} sectors)", self.sectors())
    }
}

/// Checks that `len` bytes from `lba` are whole sectors inside an image of `sectors`
/// sectors, and returns the byte offset and the sector count.
pub fn check_range(sectors: u64, lba: u64, len: usize) -> Result<(u64, u64), BlockError> {
    if !len.is_multiple_of(SECTOR) {
        return Err(BlockError::OutOfRange);
    }
    let count = (len / SECTOR) as u64;
    match lba.checked_add(count) {
        Some(end) if end <= sectors => Ok((lba * SECTOR as u64, count)),
        _ => Err(BlockError::OutOfRange),
    }
}

/// An image held in memory: built-in guests, tests, and anything the embedder wants
/// to keep off the host's disks.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct MemDisk {
    data: Vec<u8>,
    read_only: bool,
    dirty: bool,
}

impl MemDisk {
    /// The image's bytes; a trailing partial sector is unreachable.
    pub fn new(data: Vec<u8>) -> MemDisk {
        MemDisk {
            data,
            read_only: false,
            dirty: false,
        }
    }

    /// The same, refusing writes (a write-protected floppy).
    pub fn read_only(data: Vec<u8>) -> MemDisk {
        MemDisk {
            read_only: true,
            ..MemDisk::new(data)
        }
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

impl BlockDevice for MemDisk {
    fn sectors(&self) -> u64 {
        (self.data.len() / SECTOR) as u64
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let (off, _) = check_range(self.sectors(), lba, buf.len())?;
        let off = off as usize;
        buf.copy_from_slice(&self.data[off..off + buf.len()]);
        Ok(())
    }

    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        let (off, _) = check_range(self.sectors(), lba, data.len())?;
        let off = off as usize;
        self.data[off..off + data.len()].copy_from_slice(data);
        self.dirty = true;
        Ok(())
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn dirty(&self) -> bool {
        self.dirty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_whole_sectors_inside_the_image() {
        assert_eq!(check_range(10, 9, 512), Ok((9 * 512, 1)));
        assert_eq!(check_range(10, 9, 1024), Err(BlockError::OutOfRange));
        assert_eq!(check_range(10, 0, 100), Err(BlockError::OutOfRange));
        // An LBA near 2^64 must not wrap around to the start of the image.
        assert_eq!(check_range(10, u64::MAX, 512), Err(BlockError::OutOfRange));
    }

    #[test]
    fn mem_disk_reads_back_writes_and_refuses_when_read_only() {
        let mut d = MemDisk::new(vec![0; 4 * SECTOR]);
        assert!(!d.dirty());
        d.write(2, &[7; SECTOR]).unwrap();
        assert!(d.dirty());
        let mut buf = [0u8; 2 * SECTOR];
        d.read(1, &mut buf).unwrap();
        assert_eq!(buf[..SECTOR], [0; SECTOR]);
        assert_eq!(buf[SECTOR..], [7; SECTOR]);
        let mut ro = MemDisk::read_only(vec![0; SECTOR]);
        assert_eq!(ro.write(0, &[1; SECTOR]), Err(BlockError::ReadOnly));
        assert!(!ro.dirty());
    }
}
