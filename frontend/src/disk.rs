//! Disk images on the host, as QEMU users expect them to behave:
//! - opened once and accessed in place: reads go to the file on demand, and a guest's
//!   write reaches the file (the host's page cache) as soon as the drive completes it,
//!   sector by sector, so a crash or a SIGKILL keeps every completed write and never
//!   truncates or tears the image; FLUSH CACHE and the end of a run `fsync` it;
//! - `--snapshot` keeps the guest's writes in an overlay: an unlinked temporary file
//!   (sparse, as large as the image) plus a map of the sectors written, so neither the
//!   image's size nor the amount the guest writes sets the emulator's memory;
//! - an advisory lock (`flock`, as QEMU's image locking) on every image: exclusive when
//!   the run may write, shared under `--snapshot`, so two runs cannot write one image;
//! - refused at start, from `stat`, before any read: directories, FIFOs and devices,
//!   sizes no drive has, and read-only hard disks without `--snapshot` (a read-only
//!   floppy is inserted write-protected, as a floppy with its tab open).

use machine::{BlockDevice, BlockError};
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const SECTOR: usize = 512;

/// Which drive an image goes in: the flag that named it and the kind of drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drive {
    Floppy(usize),
    Hard(usize),
    /// The CD-ROM drive (secondary IDE master): always read-only.
    Cdrom,
}

impl Drive {
    /// The command-line flag that attaches this drive, for messages.
    pub fn flag(self) -> &'static str {
        match self {
            Drive::Floppy(0) => "--fda",
            Drive::Floppy(_) => "--fdb",
            Drive::Hard(0) => "--hda",
            Drive::Hard(_) => "--hdb",
            Drive::Cdrom => "--cdrom",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Drive::Floppy(_) => "floppy image",
            Drive::Hard(_) => "hard-disk image",
            Drive::Cdrom => "CD image",
        }
    }
}

/// `--snapshot`'s store for the sectors the guest wrote.
struct Overlay {
    /// An unlinked temporary file: sector n of the image lives at n × 512.
    file: File,
    /// Which sectors are in `file`: bit (n % 64) of word n / 64.
    written: HashMap<u64, u64>,
}

impl Overlay {
    fn new() -> std::io::Result<Overlay> {
        let dir = std::env::temp_dir();
        for n in 0..1000u32 {
            let p = dir.join(format!("x86-snapshot-{}-{n}.tmp", std::process::id()));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p)
            {
                Ok(file) => {
                    // Unlinked at once: nothing is left behind however the run ends.
                    let _ = std::fs::remove_file(&p);
                    return Ok(Overlay {
                        file,
                        written: HashMap::new(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temporary file name"))
    }

    fn has(&self, lba: u64) -> bool {
        self.written
            .get(&(lba / 64))
            .is_some_and(|w| w & (1 << (lba % 64)) != 0)
    }

    fn mark(&mut self, lba: u64) {
        *self.written.entry(lba / 64).or_insert(0) |= 1 << (lba % 64);
    }
}

/// Which kind of failure was already reported, so each is said once per image.
#[derive(Default)]
struct Reported {
    read: bool,
    write: bool,
    flush: bool,
}

/// An image file attached to a drive.
pub struct FileDisk {
    file: File,
    path: PathBuf,
    sectors: u64,
    overlay: Option<Overlay>,
    /// Write-protected: a read-only floppy.
    read_only: bool,
    dirty: bool,
    /// Written since the last successful fsync.
    unsynced: bool,
    /// A flush failed: Linux forgets a failed fsync's error (the next one succeeds with
    /// the data gone), so the failure stays, and every later flush reports it.
    flush_failed: Option<String>,
    reported: Reported,
}

/// Opens `path` for `drive`, with every check that can be made before the guest runs.
pub fn open(path: &Path, drive: Drive, snapshot: bool) -> Result<FileDisk, String> {
    let show = path.display();
    let what = drive.what();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open {what} {show}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{what} {show} is a directory"));
    }
    if !meta.is_file() {
        return Err(format!(
            "{what} {show} is not a regular file (a FIFO, socket or device); copy the image to a file"
        ));
    }
    let len = meta.len();
    match drive {
        Drive::Floppy(_) => machine::check_floppy_size(len),
        Drive::Hard(_) if !len.is_multiple_of(SECTOR as u64) => Err(format!(
            "hard-disk image is {len} bytes; it must be a non-zero multiple of 512"
        )),
        Drive::Hard(_) => machine::check_hard_disk_sectors(len / SECTOR as u64),
        Drive::Cdrom if !len.is_multiple_of(2048) => Err(format!(
            "CD image is {len} bytes; it must be a non-zero multiple of 2048 (an ISO 9660 image)"
        )),
        Drive::Cdrom => machine::check_cdrom_sectors(len / SECTOR as u64),
    }
    .map_err(|e| format!("{show}: {e}"))?;
    // No write permission for anyone is the user saying "read-only", even to root
    // (who could open it for writing anyway).
    // A CD is read-only medium: opened for reading, shared-locked, never written.
    let mut read_only = meta.permissions().mode() & 0o222 == 0 || drive == Drive::Cdrom;
    // O_NONBLOCK: should the path have become a FIFO since the stat above, opening it
    // must not wait for a writer; the check below then refuses it. It changes nothing
    // for a regular file.
    let open = |write: bool| {
        OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
    };
    let file = if snapshot || read_only {
        open(false)
    } else {
        match open(true) {
            Err(e) if is_read_only_error(&e) => {
                read_only = true;
                open(false)
            }
            other => other,
        }
    }
    .map_err(|e| format!("cannot open {what} {show}: {e}"))?;
    match file.metadata() {
        Ok(m) if m.is_file() && m.len() == len => {}
        _ => return Err(format!("{what} {show} changed while it was being opened")),
    }
    // A read-only hard disk runs as with --snapshot, said once on stderr: the image
    // stays exactly as it is (what its permissions ask for) and the guest still
    // boots, as peers' benchmark scripts expect of a read-only image. (A hard disk
    // has no write-protect a guest could see; a floppy has, and gets it.)
    let snapshot = if read_only && !snapshot && drive != Drive::Cdrom {
        if let Drive::Hard(_) = drive {
            log::warn!(target: "machine", "{show} is read-only: the guest's writes to it are kept in memory and dropped at exit, as with --snapshot");
            true
        } else {
            log::warn!(target: "machine", "{show} is read-only: the floppy in {} is write-protected (--snapshot keeps writes in memory instead)", drive.flag());
            false
        }
    } else {
        snapshot
    };
    let locked = if snapshot || read_only {
        file.try_lock_shared()
    } else {
        file.try_lock()
    };
    match locked {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = lock_holder(&meta).unwrap_or_else(|| "another process".to_string());
            return Err(format!(
                "{what} {show} is in use by {holder}; wait for it to end, or run both with --snapshot"
            ));
        }
        // A file system without locks (some network mounts): run without the guard.
        Err(TryLockError::Error(e)) => {
            log::warn!(target: "machine", "{show}: cannot lock the image ({e}); another run could write it too");
        }
    }
    let overlay = if snapshot && drive != Drive::Cdrom {
        Some(
            Overlay::new()
                .map_err(|e| format!("cannot create a --snapshot overlay for {show}: {e}"))?,
        )
    } else {
        None
    };
    Ok(FileDisk {
        file,
        path: path.to_path_buf(),
        sectors: len / SECTOR as u64,
        overlay,
        read_only: read_only && !snapshot,
        dirty: false,
        unsynced: false,
        flush_failed: None,
        reported: Reported::default(),
    })
}

fn is_read_only_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(30)
    // EROFS
}

/// Who holds the lock on the file `meta` describes, from /proc/locks (Linux): flock
/// does not say, but the kernel's table names the holder's PID next to the inode.
fn lock_holder(meta: &std::fs::Metadata) -> Option<String> {
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let dev = meta.dev();
    let (major, minor) = (
        ((dev >> 8) & 0xFFF) | ((dev >> 32) & !0xFFF),
        (dev & 0xFF) | ((dev >> 12) & !0xFF),
    );
    let exact = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    let inode = format!(":{}", meta.ino());
    let entries: Vec<(String, String)> = locks
        .lines()
        .filter_map(|l| {
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; blocked waiters
            // have "->" before FLOCK and are skipped.
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.get(1) != Some(&"FLOCK") {
                return None;
            }
            Some((f.get(4)?.to_string(), f.get(5)?.to_string()))
        })
        .collect();
    // Stacked file systems may show another device number than stat: fall back to
    // the inode alone.
    let pid = entries
        .iter()
        .find(|(_, id)| *id == exact)
        .or_else(|| entries.iter().find(|(_, id)| id.ends_with(&inode)))
        .map(|(pid, _)| pid.clone())?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    Some(match comm.trim() {
        "" => format!("process {pid}"),
        c => format!("{c} (pid {pid})"),
    })
}

impl FileDisk {
    fn io_error(&mut self, doing: &str, e: std::io::Error) -> BlockError {
        let msg = format!("cannot {doing} {}: {e}", self.path.display());
        let said = match doing {
            "read" => &mut self.reported.read,
            "write" => &mut self.reported.write,
            _ => &mut self.reported.flush,
        };
        if !*said {
            *said = true;
            errln!("x86: {msg} (the guest sees a disk error)");
        }
        BlockError::Io(msg)
    }
}

impl BlockDevice for FileDisk {
    fn sectors(&self) -> u64 {
        self.sectors
    }

    fn read(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let (off, count) = machine::check_range(self.sectors, lba, buf.len())?;
        let result = match self.overlay.as_ref().filter(|o| !o.written.is_empty()) {
            None => self.file.read_exact_at(buf, off),
            Some(o) => (0..count).try_for_each(|i| {
                let dst = &mut buf[i as usize * SECTOR..][..SECTOR];
                let at = off + i * SECTOR as u64;
                if o.has(lba + i) {
                    o.file.read_exact_at(dst, at)
                } else {
                    self.file.read_exact_at(dst, at)
                }
            }),
        };
        result.map_err(|e| self.io_error("read", e))
    }

    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        let (off, count) = machine::check_range(self.sectors, lba, data.len())?;
        self.dirty = true;
        if let Some(o) = self.overlay.as_mut() {
            return match o.file.write_all_at(data, off) {
                Ok(()) => {
                    (lba..lba + count).for_each(|n| o.mark(n));
                    Ok(())
                }
                Err(e) => Err(self.io_error("write", e)),
            };
        }
        // Straight to the file: one pwrite of whole sectors at a sector-aligned offset.
        // The kernel copies it page by page (4 KB, itself whole sectors), so even a
        // SIGKILL or a full disk mid-call leaves old and new sectors, never a torn one.
        // Marked unsynced first: a write that fails half-way still needs the fsync.
        self.unsynced = true;
        self.file
            .write_all_at(data, off)
            .map_err(|e| self.io_error("write", e))
    }

    fn overlay_sectors(&self) -> Option<Vec<u64>> {
        let o = self.overlay.as_ref()?;
        let mut v: Vec<u64> = o
            .written
            .iter()
            .flat_map(|(&word, &bits)| {
                (0..64u64)
                    .filter(move |b| bits & (1 << b) != 0)
                    .map(move |b| word * 64 + b)
            })
            .collect();
        v.sort_unstable();
        Some(v)
    }

    fn read_base(&mut self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let (off, _) = machine::check_range(self.sectors, lba, buf.len())?;
        self.file
            .read_exact_at(buf, off)
            .map_err(|e| self.io_error("read", e))
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        if let Some(msg) = &self.flush_failed {
            return Err(BlockError::Io(msg.clone()));
        }
        if self.overlay.is_some() || !self.unsynced {
            return Ok(());
        }
        match self.file.sync_data() {
            Ok(()) => {
                self.unsynced = false;
                Ok(())
            }
            Err(e) => {
                let e = self.io_error("flush", e);
                self.flush_failed = Some(e.to_string());
                Err(e)
            }
        }
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

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("x86-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn writes_reach_the_file_in_place_and_reads_are_on_demand() {
        let p = temp("inplace.img", &[0u8; 8 * SECTOR]);
        let mut d = open(&p, Drive::Hard(0), false).unwrap();
        d.write(3, &[0xA5; SECTOR]).unwrap();
        // Visible in the file at once, before any flush, at sector 3 only.
        let f = std::fs::read(&p).unwrap();
        assert_eq!(f.len(), 8 * SECTOR);
        assert!(f[3 * SECTOR..4 * SECTOR].iter().all(|&b| b == 0xA5));
        assert!(f[..3 * SECTOR]
            .iter()
            .chain(&f[4 * SECTOR..])
            .all(|&b| b == 0));
        // A change made outside shows through: nothing is cached in memory.
        std::fs::write(&p, [0x11u8; 8 * SECTOR]).unwrap();
        let mut buf = [0u8; SECTOR];
        d.read(5, &mut buf).unwrap();
        assert_eq!(buf, [0x11; SECTOR]);
        d.flush().unwrap();
    }

    #[test]
    fn snapshot_keeps_writes_in_memory() {
        let p = temp("snap.img", &[7u8; 4 * SECTOR]);
        let mut d = open(&p, Drive::Hard(0), true).unwrap();
        d.write(1, &[1; 2 * SECTOR]).unwrap();
        let mut buf = vec![0u8; 4 * SECTOR];
        d.read(0, &mut buf).unwrap();
        assert!(buf[..SECTOR].iter().all(|&b| b == 7));
        assert!(buf[SECTOR..3 * SECTOR].iter().all(|&b| b == 1));
        assert!(buf[3 * SECTOR..].iter().all(|&b| b == 7));
        d.flush().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), vec![7u8; 4 * SECTOR]);
        assert!(d.dirty());
    }

    #[test]
    fn a_second_writer_is_refused_and_snapshots_share() {
        let p = temp("lock.img", &[0u8; 2 * SECTOR]);
        let first = open(&p, Drive::Hard(0), false).unwrap();
        let e = open(&p, Drive::Hard(1), false).err().unwrap();
        assert!(e.contains("is in use by"), "{e}");
        // The holder is named from /proc/locks (exactly so in tests/safety_disks.rs).
        assert!(e.contains("pid "), "{e}");
        assert!(
            open(&p, Drive::Hard(1), true).is_err(),
            "a writer excludes readers"
        );
        drop(first);
        let a = open(&p, Drive::Hard(0), true).unwrap();
        let b = open(&p, Drive::Hard(1), true).unwrap();
        assert!(
            open(&p, Drive::Hard(0), false).is_err(),
            "readers exclude a writer"
        );
        drop((a, b));
        assert!(open(&p, Drive::Hard(0), false).is_ok());
    }

    #[test]
    fn refusals_from_stat() {
        let p = temp("odd.img", &[0u8; 1000]);
        assert!(open(&p, Drive::Hard(0), true)
            .err()
            .unwrap()
            .contains("multiple of 512"));
        assert!(open(&p, Drive::Floppy(0), true)
            .err()
            .unwrap()
            .contains("expected 360K"));
        let e = open(Path::new("/dev/zero"), Drive::Hard(0), true)
            .err()
            .unwrap();
        assert!(e.contains("not a regular file"), "{e}");
        let e = open(&std::env::temp_dir(), Drive::Hard(0), true)
            .err()
            .unwrap();
        assert!(e.contains("directory"), "{e}");
    }

    #[test]
    fn read_only_floppy_is_write_protected_and_hard_disk_kept_in_memory() {
        let p = temp("ro.img", &vec![0u8; 1_474_560]);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
        let mut f = open(&p, Drive::Floppy(0), false).unwrap();
        assert!(f.read_only());
        assert_eq!(f.write(0, &[1; SECTOR]), Err(BlockError::ReadOnly));
        // A hard disk has no write-protect: it runs as with --snapshot, its writes
        // read back from memory and the file untouched.
        for snapshot in [false, true] {
            let mut h = open(&p, Drive::Hard(0), snapshot).unwrap();
            assert!(!h.read_only());
            assert_eq!(h.write(0, &[1; SECTOR]), Ok(()));
            let mut back = [0u8; SECTOR];
            h.read(0, &mut back).unwrap();
            assert_eq!(back, [1; SECTOR]);
        }
        assert_eq!(std::fs::read(&p).unwrap(), vec![0u8; 1_474_560]);
    }
}
