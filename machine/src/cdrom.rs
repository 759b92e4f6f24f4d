//! The CD-ROM drive as the machine offers it: an ATAPI drive (`devices::atapi`) on an
//! IDE position, holding a disc image of 2048-byte blocks that the frontend hands in
//! as a [`BlockDevice`] of 512-byte sectors.

use crate::{BlockDevice, Pc};
use devices::atapi::{Atapi, CD_BLOCK};

/// Checks a disc image's size in 512-byte sectors: whole 2048-byte blocks, at least the
/// 16 system-area blocks and a volume descriptor.
pub fn check_cdrom_sectors(sectors: u64) -> Result<(), String> {
    let per_block = (CD_BLOCK / 512) as u64;
    if sectors == 0 || !sectors.is_multiple_of(per_block) {
        return Err(format!(
            "CD image is {} bytes; it must be a non-zero multiple of 2048 (an ISO 9660 image)",
            sectors * 512
        ));
    }
    if sectors / per_block < 18 {
        return Err(format!(
            "CD image has {} blocks of 2048 bytes; an ISO 9660 image has at least 18",
            sectors / per_block
        ));
    }
    Ok(())
}

impl Pc {
    /// Attaches a disc in a CD-ROM drive at IDE `channel` (0 primary, 1 secondary),
    /// position `slot` (0 master, 1 slave), replacing any disk there. QEMU's `-cdrom`
    /// is the secondary master (1, 0).
    pub fn attach_cdrom(
        &mut self,
        channel: usize,
        slot: usize,
        image: Box<dyn BlockDevice>,
    ) -> Result<(), String> {
        check_cdrom_sectors(image.sectors())?;
        if channel > 1 || slot > 1 {
            return Err(format!(
                "CD-ROM position {channel}:{slot}: channels 0–1, positions 0 (master) and 1 (slave)"
            ));
        }
        let mut drive = Atapi::new();
        // The PIIX3's bus master serves both channels, so the drive offers multiword DMA
        // (IDENTIFY PACKET words 49/63) and Linux's ata_piix reads it by DMA.
        drive.dma_capable = true;
        drive.insert(image);
        self.bus.ide[channel].attach_cdrom(slot, drive);
        Ok(())
    }
}
