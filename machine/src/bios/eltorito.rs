//! Booting from CD-ROM: the "El Torito" Bootable CD-ROM Format Specification 1.0
//! (Phoenix/IBM, 1995) in the built-in BIOS, and INT 13h on the CD drive.
//!
//! - Boot: the Boot Record Volume Descriptor at block 17 (section 2.0: "CD001",
//!   version 1, "EL TORITO SPECIFICATION", the catalog's block at offset 47h), the
//!   boot catalog's validation entry (2.1: header 01h, platform, a word sum of zero,
//!   55h AAh) and initial/default entry (2.2: boot indicator 88h, media type, load
//!   segment, sector count, load RBA), or else the first bootable x86 entry of a
//!   section (2.3/2.4).
//! - No emulation: `count` 512-byte virtual sectors are loaded at the load segment
//!   (default 07C0h) and run with DL = the CD's drive number, E0h; INT 13h then
//!   serves the disc in 2048-byte sectors (AH=41h/42h/48h of EDD 3.0; AH=43h is
//!   refused as write-protected).
//! - Floppy (1.2/1.44/2.88 MB) and hard-disk emulation (section 3.0, "Emulation"): the
//!   image becomes drive 00h or 80h and the real drives move up one (A: to 01h, 80h to
//!   81h); the first sector runs with DL = 00h/80h. A hard-disk image's geometry comes
//!   from its partition table, as the specification says.
//! - AH=4Bh (section 4.0, "Specification Packet"): AL=01h returns the 13h-byte packet,
//!   AL=00h returns it and ends emulation.
//!
//! The BIOS reads the disc from the ATAPI drive's medium, as it reads the hard disks
//! from their images: the controller's registers stay the guest's (a guest driver may
//! be in the middle of a command when it calls INT 13h).

use super::{bda, lin, Pc};
use crate::disk::{DiskInfo, DiskKind};
use cpu::{Bus, CF, CS, DS, ES, SS};
use devices::atapi::CD_BLOCK;

/// The BIOS drive number of the CD (as SeaBIOS numbers its first CD).
pub(crate) const CD_DRIVE: u8 = 0xE0;

/// A boot from CD that happened, as the boot catalog described it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CdBoot {
    /// Boot media type: 0 no emulation, 1 1.2 MB, 2 1.44 MB, 3 2.88 MB floppy, 4 hard
    /// disk.
    media: u8,
    /// The drive number the image answers as (E0h, 00h or 80h).
    drive: u8,
    /// First 2048-byte block of the image.
    image_lba: u32,
    load_seg: u16,
    count: u16,
    /// Which IDE channel and position hold the drive.
    channel: u8,
    slot: u8,
    /// The emulated drive's geometry (emulation only).
    geometry: Option<DiskInfo>,
}

impl CdBoot {
    /// The emulated drive's geometry (None without emulation).
    pub(super) fn geometry(&self) -> Option<DiskInfo> {
        self.geometry
    }
}

/// CD boot state kept on the host side.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct CdState {
    boot: Option<CdBoot>,
    /// Emulation is in effect (until AH=4B00h ends it).
    emulating: bool,
}

/// Where a BIOS drive number leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target {
    Floppy(usize),
    Hard(usize),
    /// The CD itself, in 2048-byte sectors.
    Cd(usize, usize),
    /// The emulated floppy or hard disk inside the CD.
    Image(CdBoot),
}

fn le16(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn le32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// The first bootable x86 entry of a boot catalog block: the initial/default entry,
/// else one in a section (El Torito 2.1–2.4). Err says why there is none.
pub(crate) fn catalog_entry(cat: &[u8]) -> Result<[u8; 32], &'static str> {
    let v = cat.get(..32).ok_or("short catalog")?;
    if v[0] != 0x01 || v[30..32] != [0x55, 0xAA] {
        return Err("no validation entry");
    }
    let sum = (0..16).fold(0u16, |a, i| a.wrapping_add(le16(v, 2 * i)));
    if sum != 0 {
        return Err("validation entry checksum is not zero");
    }
    let entry = |i: usize| -> [u8; 32] {
        let mut e = [0u8; 32];
        e.copy_from_slice(&cat[i..i + 32]);
        e
    };
    // The default entry applies to the validation entry's platform (0 = 80x86).
    if v[1] == 0 && cat[32] == 0x88 {
        return Ok(entry(32));
    }
    let mut i = 64;
    while i + 32 <= cat.len() {
        let header = cat[i];
        if header != 0x90 && header != 0x91 {
            break;
        }
        let platform = cat[i + 1];
        let n = usize::from(le16(cat, i + 2));
        i += 32;
        for _ in 0..n {
            if i + 32 > cat.len() {
                break;
            }
            // Section entries may be followed by extension entries (44h).
            if platform == 0 && cat[i] == 0x88 {
                return Ok(entry(i));
            }
            i += 32;
            while i + 32 <= cat.len() && cat[i] == 0x44 {
                i += 32;
            }
        }
        if header == 0x91 {
            break;
        }
    }
    Err("no bootable 80x86 entry")
}

/// An emulated drive's geometry: the floppy formats of media types 1–3, or a hard-disk
/// image's from the ending head and sector of its first used partition.
fn emulated_geometry(media: u8, mbr: &[u8]) -> Option<DiskInfo> {
    let floppy = |c: u32, s: u32, t: u8| DiskInfo {
        kind: DiskKind::Floppy,
        cylinders: c,
        heads: 2,
        spt: s,
        sectors: u64::from(c * 2 * s),
        floppy_type: t,
    };
    match media {
        1 => Some(floppy(80, 15, 2)),
        2 => Some(floppy(80, 18, 4)),
        3 => Some(floppy(80, 36, 5)),
        4 => {
            if mbr.get(510..512)? != [0x55, 0xAA] {
                return None;
            }
            let p = mbr[0x1BE..0x1FE]
                .chunks(16)
                .find(|p| p[4] != 0 && le32(p, 12) != 0)?;
            let heads = u32::from(p[5]) + 1;
            let spt = u32::from(p[6] & 0x3F);
            let sectors = u64::from(le32(p, 8)) + u64::from(le32(p, 12));
            if spt == 0 {
                return None;
            }
            let cylinders = sectors.div_ceil(u64::from(heads * spt)).clamp(1, 1024) as u32;
            Some(DiskInfo {
                kind: DiskKind::Hard,
                cylinders,
                heads,
                spt,
                sectors,
                floppy_type: 0,
            })
        }
        _ => None,
    }
}

impl Pc {
    /// The first ATAPI drive, scanning primary master, slave, secondary master, slave.
    pub(super) fn cd_position(&self) -> Option<(usize, usize)> {
        (0..4)
            .map(|i| (i / 2, i % 2))
            .find(|&(ch, slot)| self.bus.ide[ch].cdrom(slot).is_some())
    }

    /// The active emulation, if any.
    fn emulation(&self) -> Option<CdBoot> {
        let s = &self.bios_state.cd;
        s.boot.filter(|b| s.emulating && b.media != 0)
    }

    /// Where BIOS drive `drive` leads, with emulation's renumbering.
    pub(super) fn target(&self, drive: u8) -> Option<Target> {
        let emu = self.emulation();
        let floppy_emu = emu.filter(|b| b.drive == 0x00);
        let hard_emu = emu.filter(|b| b.drive == 0x80);
        Some(match drive {
            CD_DRIVE => {
                let (ch, slot) = self.cd_position()?;
                Target::Cd(ch, slot)
            }
            0x00 if floppy_emu.is_some() => Target::Image(floppy_emu?),
            0x01 if floppy_emu.is_some() => Target::Floppy(0),
            0x00 | 0x01 => Target::Floppy(usize::from(drive)),
            0x80 if hard_emu.is_some() => Target::Image(hard_emu?),
            0x81 | 0x82 if hard_emu.is_some() => Target::Hard(usize::from(drive - 0x81)),
            0x80 | 0x81 => Target::Hard(usize::from(drive - 0x80)),
            _ => return None,
        })
    }

    /// The CD's geometry as INT 13h reports it: `sectors` in 2048-byte blocks.
    pub(super) fn cd_info(&self, ch: usize, slot: usize) -> Option<DiskInfo> {
        let cd = self.bus.ide[ch].cdrom(slot)?;
        if !cd.ready() {
            return None;
        }
        Some(DiskInfo {
            kind: DiskKind::Cdrom,
            cylinders: 0,
            heads: 0,
            spt: 0,
            sectors: cd.blocks(),
            floppy_type: 0,
        })
    }

    /// Reads `count` 2048-byte blocks of the CD from `lba`; an INT 13h status on
    /// failure (04h outside the disc, 10h when the image cannot be read).
    pub(super) fn cd_read(
        &mut self,
        ch: usize,
        slot: usize,
        lba: u64,
        count: u64,
    ) -> Result<Vec<u8>, u8> {
        let cd = self.bus.ide[ch].cdrom_mut(slot).ok_or(0xAAu8)?;
        if !cd.ready() {
            return Err(0xAA); // drive not ready
        }
        if lba.checked_add(count).is_none_or(|end| end > cd.blocks()) {
            return Err(0x04);
        }
        let mut buf = vec![0; count as usize * CD_BLOCK];
        cd.read_blocks(lba, &mut buf).map_err(|_| 0x10)?;
        Ok(buf)
    }

    /// Reads 512-byte sectors of an emulated image.
    pub(super) fn image_read(&mut self, b: CdBoot, lba: u64, count: u64) -> Result<Vec<u8>, u8> {
        let sectors = b.geometry.map_or(0, |g| g.sectors);
        if lba.checked_add(count).is_none_or(|end| end > sectors) {
            return Err(0x04);
        }
        let first = u64::from(b.image_lba) * 4 + lba;
        let blocks = (first + count).div_ceil(4) - first / 4;
        let data = self.cd_read(
            usize::from(b.channel),
            usize::from(b.slot),
            first / 4,
            blocks,
        )?;
        let skip = (first % 4) as usize * 512;
        Ok(data[skip..skip + count as usize * 512].to_vec())
    }

    /// Floppy drives as the BIOS counts them, with an emulated one.
    pub(super) fn emulated_floppies(&self) -> u8 {
        u8::from(self.emulation().is_some_and(|b| b.drive == 0x00))
    }

    /// Boots the CD by El Torito; false (nothing changed) when it has no boot image.
    pub(super) fn boot_cdrom(&mut self) -> bool {
        let Some((ch, slot)) = self.cd_position() else {
            log::info!(target: "bios", "no CD-ROM drive");
            return false;
        };
        match self.try_boot_cdrom(ch, slot) {
            Ok(()) => true,
            Err(why) => {
                log::info!(target: "bios", "CD-ROM: not bootable: {why}");
                false
            }
        }
    }

    fn try_boot_cdrom(&mut self, ch: usize, slot: usize) -> Result<(), String> {
        let brvd = self
            .cd_read(ch, slot, 17, 1)
            .map_err(|s| format!("cannot read block 17 (status {s:#04x})"))?;
        if brvd[0] != 0
            || &brvd[1..6] != b"CD001"
            || brvd[6] != 1
            || !brvd[7..].starts_with(b"EL TORITO SPECIFICATION")
        {
            return Err("no El Torito boot record at block 17".into());
        }
        let cat_lba = le32(&brvd, 0x47);
        let cat = self.cd_read(ch, slot, u64::from(cat_lba), 1).map_err(|s| {
            format!("cannot read the boot catalog at block {cat_lba} (status {s:#04x})")
        })?;
        let e = catalog_entry(&cat)?;
        let media = e[1] & 0x0F;
        let load_seg = match le16(&e, 2) {
            0 => 0x07C0,
            s => s,
        };
        let count = le16(&e, 6).max(1);
        let image_lba = le32(&e, 8);
        let drive = match media {
            0 => CD_DRIVE,
            1..=3 => 0x00,
            4 => 0x80,
            _ => return Err(format!("unknown boot media type {media}")),
        };
        let mut boot = CdBoot {
            media,
            drive,
            image_lba,
            load_seg,
            count,
            channel: ch as u8,
            slot: slot as u8,
            geometry: None,
        };
        if media != 0 {
            let first = self
                .cd_read(ch, slot, u64::from(image_lba), 1)
                .map_err(|s| format!("cannot read the boot image (status {s:#04x})"))?;
            boot.geometry = Some(
                emulated_geometry(media, &first[..512])
                    .ok_or("the hard-disk image has no usable partition table")?,
            );
        }
        // The image goes at load_seg:0, below the EBDA/video area and above the BDA.
        let len = u32::from(count) * 512;
        let base = u32::from(load_seg) << 4;
        if base < 0x500 || base + len > 0xA0000 {
            return Err(format!("the boot image ({count} sectors at {load_seg:04x}:0000) does not fit in conventional memory"));
        }
        let blocks = u64::from(len).div_ceil(CD_BLOCK as u64);
        let data = self
            .cd_read(ch, slot, u64::from(image_lba), blocks)
            .map_err(|s| format!("cannot read the boot image (status {s:#04x})"))?;
        for (i, b) in data[..len as usize].iter().enumerate() {
            self.bus.write8(base + i as u32, *b);
        }
        self.cpu.invalidate_phys(base, len);
        // A boot again (INT 19h) replaces an emulation still in effect.
        if self.bios_state.cd.emulating {
            self.set_emulated_counts(false);
        }
        self.bios_state.cd = CdState {
            boot: Some(boot),
            emulating: media != 0,
        };
        self.set_emulated_counts(true);
        log::info!(
            target: "bios",
            "CD-ROM: El Torito boot, {} image at block {image_lba}, {count} sectors at {load_seg:04x}:0000, drive {drive:#04x}",
            ["no-emulation", "1.2 MB floppy", "1.44 MB floppy", "2.88 MB floppy", "hard-disk"][usize::from(media)]
        );
        for s in [DS, ES, SS] {
            self.cpu.seg[s].load_real(0);
        }
        // The traditional 0000:7C00 for the default segment (boot sectors written for
        // floppies assume it), else load_seg:0000.
        if load_seg == 0x07C0 {
            self.cpu.seg[CS].load_real(0);
            self.cpu.eip = 0x7C00;
        } else {
            self.cpu.seg[CS].load_real(load_seg);
            self.cpu.eip = 0;
        }
        self.cpu.regs[4] = 0x7C00;
        self.cpu.regs[2] = u32::from(drive);
        self.cpu.eflags = 0x202;
        Ok(())
    }

    /// The BIOS data area's drive counts with (or, ending emulation, without) the
    /// emulated drive: one more floppy in the equipment word, or one more fixed disk.
    fn set_emulated_counts(&mut self, on: bool) {
        let Some(b) = self.bios_state.cd.boot.filter(|b| b.media != 0) else {
            return;
        };
        if b.drive == 0x80 {
            let n = self.r8(bda::HD_COUNT);
            let n = if on {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
            self.w8(bda::HD_COUNT, n);
        } else {
            let floppies = (self.floppy_count()).min(2) as u16;
            let mut equip = self.r16(bda::EQUIPMENT) & !0x00C1;
            if floppies > 0 {
                equip |= 1 | (floppies - 1) << 6;
            }
            self.w16(bda::EQUIPMENT, equip);
        }
    }

    /// INT 13h AH=4Bh: AL=01h status, AL=00h terminate emulation; both fill the
    /// specification packet at DS:SI.
    pub(super) fn int13_4b(&mut self) {
        let al = self.al();
        let dl = self.cpu.regs[2] as u8;
        let Some(b) = self.bios_state.cd.boot.filter(|_| al <= 1) else {
            self.set_ah(0x01);
            self.ret_flag(CF, true);
            return;
        };
        let p = lin(self.cpu.seg[DS].selector, self.cpu.regs[6] as u16);
        let (cyl, spt, heads) = match b.geometry {
            Some(g) => (
                g.cylinders.saturating_sub(1),
                g.spt,
                g.heads.saturating_sub(1),
            ),
            None => (0, 0, 0),
        };
        let mut pkt = [0u8; 0x13];
        pkt[0] = 0x13;
        pkt[1] = b.media;
        pkt[2] = b.drive;
        pkt[3] = b.channel;
        pkt[4..8].copy_from_slice(&b.image_lba.to_le_bytes());
        // Device specification for ATAPI: bit 0 selects the slave.
        pkt[8] = b.slot;
        pkt[12..14].copy_from_slice(&b.load_seg.to_le_bytes());
        pkt[14..16].copy_from_slice(&b.count.to_le_bytes());
        pkt[16] = cyl as u8;
        pkt[17] = (spt as u8 & 0x3F) | ((cyl >> 2) as u8 & 0xC0);
        pkt[18] = heads as u8;
        for (i, v) in pkt.iter().enumerate() {
            self.w8(p + i as u32, *v);
        }
        // Terminate: DL = 7Fh ends any emulation, else only the emulated drive's.
        if al == 0 && self.bios_state.cd.emulating && (dl == 0x7F || dl == b.drive) {
            self.set_emulated_counts(false);
            self.bios_state.cd.emulating = false;
            log::info!(target: "bios", "CD-ROM: emulation of drive {:#04x} ended", b.drive);
        }
        self.set_ah(0);
        self.ret_flag(CF, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A validation entry for platform 0 with its checksum, and an entry after it.
    fn catalog(default: [u8; 32]) -> Vec<u8> {
        let mut c = vec![0u8; 2048];
        c[0] = 1;
        c[4..12].copy_from_slice(b"PCEMU-TS");
        c[30] = 0x55;
        c[31] = 0xAA;
        let sum = (0..16).fold(0u16, |a, i| a.wrapping_add(le16(&c, 2 * i)));
        c[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
        c[32..64].copy_from_slice(&default);
        c
    }

    #[test]
    fn catalog_validation_and_entries() {
        let mut e = [0u8; 32];
        e[0] = 0x88;
        e[1] = 2;
        let c = catalog(e);
        assert_eq!(catalog_entry(&c).unwrap()[1], 2);
        // A broken checksum or key bytes are refused.
        let mut bad = c.clone();
        bad[5] ^= 1;
        assert!(catalog_entry(&bad).is_err());
        let mut bad = c.clone();
        bad[31] = 0;
        assert!(catalog_entry(&bad).is_err());
        // A non-bootable default entry: the first bootable x86 section entry.
        let mut c = catalog([0u8; 32]);
        c[64] = 0x91; // final section header
        c[65] = 0; // 80x86
        c[66] = 2; // two entries
        c[96] = 0x00;
        c[128] = 0x88;
        c[129] = 4;
        assert_eq!(catalog_entry(&c).unwrap()[1], 4);
        c[128] = 0;
        assert!(catalog_entry(&c).is_err());
    }

    #[test]
    fn hard_disk_image_geometry_from_the_partition_table() {
        let mut mbr = vec![0u8; 512];
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        // One partition from LBA 63, 20097 sectors, ending at head 15 sector 63: 16 heads,
        // 63 sectors a track, (63 + 20097) / 1008 = 20 cylinders.
        let p = &mut mbr[0x1BE..0x1CE];
        p[4] = 0x06;
        p[5] = 15;
        p[6] = 63;
        p[8..12].copy_from_slice(&63u32.to_le_bytes());
        p[12..16].copy_from_slice(&20097u32.to_le_bytes());
        let g = emulated_geometry(4, &mbr).unwrap();
        assert_eq!(
            (g.cylinders, g.heads, g.spt, g.sectors),
            (20, 16, 63, 20160)
        );
        assert_eq!(emulated_geometry(2, &mbr).unwrap().sectors, 2880);
        mbr[511] = 0;
        assert!(emulated_geometry(4, &mbr).is_none());
        assert!(emulated_geometry(7, &mbr).is_none());
    }
}
