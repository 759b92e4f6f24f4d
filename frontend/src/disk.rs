//! Disk images on the host, as QEMU users expect them to behave:
//! - opened once and accessed in place: reads go to the file on demand, and a guest's
//!   write reaches the file (the host's page cache) as soon as the drive completes it,
//!   sector by sector, so a crash or a SIGKILL keeps every completed write and never
//!   truncates or tears the image; FLUSH CACHE and the end of a run `fsync` it;
//! - `--snapshot` keeps the guest's writes in an in-memory overlay of the sectors it
//!   wrote, so memory grows with what the guest touched, never with the image size;
//! - an advisory lock (`flock`, as QEMU's image locking) on every image: exclusive when
//!   the run may write, shared under `--snapshot`, so two runs cannot write one image;
//! - refused at start, from `stat`, before any read: directories, FIFOs and devices,
//!   sizes no drive has, and read-only hard disks without `--snapshot` (a read-only
//!   floppy is inserted write-protected, as a floppy with its tab open).

use machine::{BlockDevice, BlockError};
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const SECTOR: usize = 512;

/// Which drive an image goes in: the flag that named it and the kind of drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drive {
    Floppy(usize),
    Hard(usize),
}

impl Drive {
    /// The command-line flag that attaches this drive, for messages.
    pub fn flag(self) -> &'static str {
        match self {
            Drive::Floppy(0) => "--fda",
            Drive::Floppy(_) => "--fdb",
            Drive::Hard(0) => "--hda",
            Drive::Hard(_) => "--hdb",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Drive::Floppy(_) => "floppy image",
            Drive::Hard(_) => "hard-disk image",
        }
    }
}

/// An image file attached to a drive.
pub struct FileDisk {
    file: File,
    path: PathBuf,
    sectors: u64,
    /// `--snapshot`: the sectors the guest wrote, kept in memory only.
    overlay: Option<HashMap<u64, Box<[u8]>>>,
    /// Write-protected: a read-only floppy.
    read_only: bool,
    dirty: bool,
    /// A failed write was already reported (one line per image, not one per sector).
    reported: bool,
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
    }
    .map_err(|e| format!("{show}: {e}"))?;
    // No write permission for anyone is the user saying "read-only", even to root
    // (who could open it for writing anyway).
    let mut read_only = meta.permissions().mode() & 0o222 == 0;
    let file = if snapshot || read_only {
        File::open(path)
    } else {
        match OpenOptions::new().read(true).write(true).open(path) {
            Err(e) if is_read_only_error(&e) => {
                read_only = true;
                File::open(path)
            }
            other => other,
        }
    }
    .map_err(|e| format!("cannot open {what} {show}: {e}"))?;
    if read_only && !snapshot {
        if let Drive::Hard(_) = drive {
            return Err(format!(
                "{what} {show} is read-only; add --snapshot to run with the guest's writes kept in memory"
            ));
        }
        log::warn!(target: "machine", "{show} is read-only: the floppy in {} is write-protected (--snapshot keeps writes in memory instead)", drive.flag());
    }
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
    Ok(FileDisk {
        file,
        path: path.to_path_buf(),
        sectors: len / SECTOR as u64,
        overlay: snapshot.then(HashMap::new),
        read_only: read_only && !snapshot,
        dirty: false,
        reported: false,
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
    /// The device and inode, to tell two names for one file apart.
    pub fn identity(&self) -> Option<(u64, u64)> {
        self.file.metadata().ok().map(|m| (m.dev(), m.ino()))
    }

    fn io_error(&mut self, doing: &str, e: std::io::Error) -> BlockError {
        let msg = format!("cannot {doing} {}: {e}", self.path.display());
        if !self.reported {
            self.reported = true;
            eprintln!("x86: {msg} (the guest sees a disk error)");
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
        let overlay = self.overlay.as_ref().filter(|o| !o.is_empty());
        let result = match overlay {
            None => self.file.read_exact_at(buf, off),
            Some(o) => (0..count).try_for_each(|i| {
                let dst = &mut buf[i as usize * SECTOR..][..SECTOR];
                match o.get(&(lba + i)) {
                    Some(s) => {
                        dst.copy_from_slice(s);
                        Ok(())
                    }
                    None => self.file.read_exact_at(dst, off + i * SECTOR as u64),
                }
            }),
        };
        result.map_err(|e| self.io_error("read", e))
    }

    fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        let (off, _) = machine::check_range(self.sectors, lba, data.len())?;
        if let Some(o) = self.overlay.as_mut() {
            for (i, s) in data.chunks(SECTOR).enumerate() {
                o.insert(lba + i as u64, s.into());
            }
            self.dirty = true;
            return Ok(());
        }
        // Straight to the file: one pwrite of whole sectors at a sector-aligned offset.
        // The kernel copies it page by page (4 KB, itself whole sectors), so even a
        // SIGKILL or a full disk mid-call leaves old and new sectors, never a torn one.
        self.file
            .write_all_at(data, off)
            .map_err(|e| self.io_error("write", e))?;
        self.dirty = true;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        if self.overlay.is_some() || !self.dirty {
            return Ok(());
        }
        self.file.sync_data().map_err(|e| self.io_error("flush", e))
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
    fn read_only_floppy_is_write_protected_and_hard_disk_refused() {
        let p = temp("ro.img", &vec![0u8; 1_474_560]);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
        let mut f = open(&p, Drive::Floppy(0), false).unwrap();
        assert!(f.read_only());
        assert_eq!(f.write(0, &[1; SECTOR]), Err(BlockError::ReadOnly));
        let e = open(&p, Drive::Hard(0), false).err().unwrap();
        assert!(e.contains("read-only") && e.contains("--snapshot"), "{e}");
        assert!(open(&p, Drive::Hard(0), true).is_ok(), "--snapshot runs it");
    }
}
