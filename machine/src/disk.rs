//! Disk images as the BIOS sees them: a byte image plus the CHS geometry a PC/AT BIOS
//! would report. Floppy geometries are detected from the image size (the standard
//! 360 KB–2.88 MB formats); hard disks get the usual 16 heads × 63 sectors translation.
//! The machine never touches files: the frontend reads the image in and writes it back.

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskKind {
    Floppy,
    Hard,
}

/// A drive's geometry as the BIOS reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

#[derive(Clone, Debug)]
pub struct Disk {
    pub data: Vec<u8>,
    pub kind: DiskKind,
    pub cylinders: u32,
    pub heads: u32,
    pub spt: u32,
    /// Set by any write, so the frontend knows whether to save the image.
    pub dirty: bool,
    /// Floppy BIOS type for CMOS byte 0x10 and INT 13h AH=08h (1 = 360K … 5 = 2.88M).
    pub floppy_type: u8,
}

impl Disk {
    /// A floppy image: its size must be one of the standard formats.
    pub fn floppy(data: Vec<u8>) -> Result<Disk, String> {
        let (c, h, s, t) = match data.len() {
            368_640 => (40, 2, 9, 1),
            737_280 => (80, 2, 9, 3),
            1_228_800 => (80, 2, 15, 2),
            1_474_560 => (80, 2, 18, 4),
            2_949_120 => (80, 2, 36, 5),
            n => {
                return Err(format!(
                    "floppy image is {n} bytes; expected 360K, 720K, 1.2M, 1.44M or 2.88M (368640, 737280, 1228800, 1474560 or 2949120 bytes)"
                ))
            }
        };
        Ok(Disk {
            data,
            kind: DiskKind::Floppy,
            cylinders: c,
            heads: h,
            spt: s,
            dirty: false,
            floppy_type: t,
        })
    }

    /// A hard-disk image: a whole number of 512-byte sectors, at least one.
    pub fn hard(data: Vec<u8>) -> Result<Disk, String> {
        if data.is_empty() || !data.len().is_multiple_of(512) {
            return Err(format!(
                "hard-disk image is {} bytes; it must be a non-zero multiple of 512",
                data.len()
            ));
        }
        let sectors = (data.len() / 512) as u32;
        let (heads, spt) = (16, 63);
        let cylinders = sectors.div_ceil(heads * spt).clamp(1, 1024);
        Ok(Disk {
            data,
            kind: DiskKind::Hard,
            cylinders,
            heads,
            spt,
            dirty: false,
            floppy_type: 0,
        })
    }

    pub fn sectors(&self) -> u64 {
        self.data.len() as u64 / 512
    }

    pub fn info(&self) -> DiskInfo {
        DiskInfo {
            kind: self.kind,
            cylinders: self.cylinders,
            heads: self.heads,
            spt: self.spt,
            sectors: self.sectors(),
            floppy_type: self.floppy_type,
        }
    }

    /// LBA of a CHS address, if it is inside the geometry (sectors count from 1).
    pub fn chs_to_lba(&self, c: u32, h: u32, s: u32) -> Option<u64> {
        if s == 0 || s > self.spt || h >= self.heads || c >= self.cylinders {
            return None;
        }
        Some(((c * self.heads + h) * self.spt + s - 1) as u64)
    }

    pub fn read(&self, lba: u64, count: u64) -> Option<&[u8]> {
        let start = lba.checked_mul(512)? as usize;
        let end = start.checked_add(count as usize * 512)?;
        self.data.get(start..end)
    }

    pub fn write(&mut self, lba: u64, bytes: &[u8]) -> bool {
        let start = match lba.checked_mul(512) {
            Some(s) => s as usize,
            None => return false,
        };
        match self.data.get_mut(start..start + bytes.len()) {
            Some(d) => {
                d.copy_from_slice(bytes);
                self.dirty = true;
                true
            }
            None => false,
        }
    }
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
    fn floppy_geometry_by_size() {
        let d = Disk::floppy(vec![0; 1_474_560]).unwrap();
        assert_eq!((d.cylinders, d.heads, d.spt, d.floppy_type), (80, 2, 18, 4));
        assert!(Disk::floppy(vec![0; 1000]).is_err());
    }

    #[test]
    fn chs_translation() {
        let d = Disk::floppy(vec![0; 1_474_560]).unwrap();
        // C/H/S 1/0/1 is LBA 36 (2 heads × 18 sectors per cylinder).
        assert_eq!(d.chs_to_lba(1, 0, 1), Some(36));
        assert_eq!(d.chs_to_lba(0, 1, 18), Some(35));
        assert_eq!(d.chs_to_lba(0, 0, 0), None);
        assert_eq!(d.chs_to_lba(80, 0, 1), None);
    }

    #[test]
    fn hard_disk_geometry() {
        // 1 MB = 2048 sectors: 16 × 63 = 1008 per cylinder → 3 cylinders (rounded up).
        let d = Disk::hard(vec![0; 1 << 20]).unwrap();
        assert_eq!((d.cylinders, d.heads, d.spt), (3, 16, 63));
        assert!(Disk::hard(vec![0; 100]).is_err());
    }
}
