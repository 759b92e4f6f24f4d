//! Disk images as the BIOS sees them: a byte image plus the CHS geometry a PC/AT BIOS
//! would report. Floppy geometries are detected from the image size (the standard
//! 360 KB–2.88 MB formats); hard disks get the usual 16 heads × 63 sectors translation.
//! The machine never touches files: the images are [`BlockDevice`]s the frontend hands in.
//!
//! [`BlockDevice`]: devices::block::BlockDevice

/// Whether a first sector is a hard disk's master boot record rather than a floppy's
/// boot sector: a floppy-sized image may still be a tiny partitioned disk. An MBR has
/// the 55AAh signature, four partition entries with status 00h or 80h, at least one of
/// them used (a type, a start and a length), and no BIOS parameter block (a FAT boot
/// sector starts with a jump and says 512 bytes per sector at offset 11).
pub fn is_mbr(sector: &[u8]) -> bool {
    if sector.len() < 512 || sector[510..512] != [0x55, 0xAA] {
        return false;
    }
    let bpb = matches!(sector[0], 0xEB | 0xE9) && sector[11..13] == [0x00, 0x02];
    let entries: Vec<&[u8]> = sector[0x1BE..0x1FE].chunks(16).collect();
    let statuses_ok = entries.iter().all(|e| e[0] == 0 || e[0] == 0x80);
    let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let used = entries
        .iter()
        .any(|e| e[4] != 0 && le(&e[8..12]) != 0 && le(&e[12..16]) != 0);
    !bpb && statuses_ok && used
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DiskKind {
    Floppy,
    Hard,
    /// A CD-ROM in 2048-byte sectors (El Torito's no-emulation drive).
    Cdrom,
}

/// A drive's geometry as the BIOS reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DiskInfo {
    pub kind: DiskKind,
    pub cylinders: u32,
    pub heads: u32,
    pub spt: u32,
    pub sectors: u64,
    pub floppy_type: u8,
}

impl DiskInfo {
    /// The usual 16 heads × 63 sectors translation of a hard disk.
    pub fn hard(sectors: u64) -> DiskInfo {
        let (heads, spt) = (16, 63);
        let cylinders = (sectors.div_ceil((heads * spt) as u64)).clamp(1, 1024) as u32;
        DiskInfo {
            kind: DiskKind::Hard,
            cylinders,
            heads,
            spt,
            sectors,
            floppy_type: 0,
        }
    }

    /// LBA of a CHS address, if it is inside the geometry (sectors count from 1).
    pub fn chs_to_lba(&self, c: u32, h: u32, s: u32) -> Option<u64> {
        if s == 0 || s > self.spt || h >= self.heads || c >= self.cylinders {
            return None;
        }
        Some(((c * self.heads + h) * self.spt + s - 1) as u64)
    }
}

/// The standard PC/AT floppy formats, by image size.
const FLOPPY_SIZES: [u64; 5] = [368_640, 737_280, 1_228_800, 1_474_560, 2_949_120];

/// Checks a floppy image size: it must be one of the standard formats.
pub fn check_floppy_size(len: u64) -> Result<(), String> {
    if FLOPPY_SIZES.contains(&len) {
        return Ok(());
    }
    Err(format!(
        "floppy image is {len} bytes; expected 360K, 720K, 1.2M, 1.44M or 2.88M (368640, 737280, 1228800, 1474560 or 2949120 bytes)"
    ))
}

/// The most sectors an ATA disk addresses: 48-bit LBA (ATA-6 6.2.1).
pub const MAX_HARD_DISK_SECTORS: u64 = 1 << 48;

/// Checks a hard disk's size in sectors: at least one, at most what 48-bit LBA reaches.
pub fn check_hard_disk_sectors(sectors: u64) -> Result<(), String> {
    if sectors == 0 {
        return Err("hard-disk image is empty; it must hold at least one 512-byte sector".into());
    }
    if sectors > MAX_HARD_DISK_SECTORS {
        return Err(format!(
            "hard-disk image has {sectors} sectors; an ATA disk addresses at most 2^48"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbr_or_floppy_boot_sector() {
        let mut mbr = vec![0u8; 512];
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        assert!(!is_mbr(&mbr), "no partition used");
        // One active FAT16 partition at LBA 63, 2000 sectors long.
        mbr[0x1BE] = 0x80;
        mbr[0x1BE + 4] = 0x06;
        mbr[0x1BE + 8] = 63;
        mbr[0x1BE + 12..0x1BE + 14].copy_from_slice(&2000u16.to_le_bytes());
        assert!(is_mbr(&mbr));
        // The same bytes behind a FAT BPB (jmp short, 512 bytes per sector) are a floppy.
        let mut fat = mbr.clone();
        fat[0] = 0xEB;
        fat[11] = 0x00;
        fat[12] = 0x02;
        assert!(!is_mbr(&fat));
        let mut bad = mbr.clone();
        bad[0x1BE] = 0x12;
        assert!(!is_mbr(&bad), "status must be 00h or 80h");
    }

    #[test]
    fn image_sizes() {
        assert!(check_floppy_size(1_474_560).is_ok());
        assert!(check_floppy_size(1000).is_err());
        assert!(check_hard_disk_sectors(0).is_err());
        assert!(check_hard_disk_sectors(1).is_ok());
        assert!(check_hard_disk_sectors(1 << 48).is_ok());
        assert!(check_hard_disk_sectors((1 << 48) + 1).is_err());
    }

    #[test]
    fn chs_translation() {
        // 1.44 MB: 80 cylinders × 2 heads × 18 sectors.
        let d = DiskInfo {
            kind: DiskKind::Floppy,
            cylinders: 80,
            heads: 2,
            spt: 18,
            sectors: 2880,
            floppy_type: 4,
        };
        // C/H/S 1/0/1 is LBA 36 (2 heads × 18 sectors per cylinder).
        assert_eq!(d.chs_to_lba(1, 0, 1), Some(36));
        assert_eq!(d.chs_to_lba(0, 1, 18), Some(35));
        assert_eq!(d.chs_to_lba(0, 0, 0), None);
        assert_eq!(d.chs_to_lba(80, 0, 1), None);
    }

    #[test]
    fn hard_disk_geometry() {
        // 1 MB = 2048 sectors: 16 × 63 = 1008 per cylinder → 3 cylinders (rounded up).
        let d = DiskInfo::hard(2048);
        assert_eq!((d.cylinders, d.heads, d.spt), (3, 16, 63));
    }
}
