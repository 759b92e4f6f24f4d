//! The physical memory map: which region answers each physical address, for reads and
//! for writes separately, as the i440FX host bridge decodes it.
//!
//! - RAM from 0 to the installed size, except A0000h–FFFFFh;
//! - A0000h–BFFFFh: the VGA (SMRAM stays closed, see `devices::i440fx`);
//! - C0000h–FFFFFh: the shadowable BIOS area in 13 PAM segments (16 KB, and 64 KB at
//!   F0000h). Each segment's reads go to DRAM or to PCI, and so do its writes, as the
//!   host bridge's PAM registers say ([`MemMap::set_pam`], called after every PCI
//!   configuration write). On PCI the BIOS ROM answers in its window below 1 MB
//!   (its top 128 KB at most, E0000h–FFFFFh, as QEMU's `isa-bios` alias), an option
//!   ROM image (`--vga-rom`) from C0000h up, and the rest an empty bus (all ones,
//!   writes dropped);
//! - above the RAM: memory regions owned by devices (PCI memory BARs, [`MemMap::set_mmio`]),
//!   and the BIOS ROM's alias just below 4 GB. DRAM below the top of memory is decoded
//!   first, as the i440FX does (it forwards to PCI only what DRAM does not claim), so a
//!   BAR programmed over RAM is shadowed by it.
//!
//! Design for speed: the common case (RAM outside A0000h–FFFFFh) is one comparison
//! against the RAM size in the bus's access path before this map is consulted; the
//! BIOS area is two 24-bit masks (one bit per 16 KB segment of A0000h–FFFFFh for "reads
//! hit DRAM" and "writes hit DRAM"), and only addresses above RAM search the (short)
//! MMIO list. A host-pointer TLB can cache [`MemMap::ram_page`]: a 4 KB page that
//! resolves to RAM for reads (or writes) maps to one host offset, and every change of
//! the map (a PAM or BAR write) goes through [`MemMap::set_pam`]/[`MemMap::set_mmio`],
//! where such a cache would be flushed ([`MemMap::generation`] counts the changes).

use devices::i440fx::PamSegment;

/// Start of the legacy window this map decodes segment by segment.
const LOW: u32 = 0xA_0000;
const ONE_MB: u32 = 0x10_0000;
/// 16 KB segments.
const SEG_SHIFT: u32 = 14;

/// What answers an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Region {
    /// RAM at this offset of the machine's RAM.
    Ram(usize),
    /// The BIOS ROM at this offset of the image.
    Rom(usize),
    /// The option ROM image at C0000h (the VGA BIOS), at this offset.
    OptionRom(usize),
    /// The VGA's memory window.
    Vga,
    /// A device's memory region (index in the machine's device table).
    Mmio(usize),
    /// Nothing: reads are all ones, writes are dropped.
    OpenBus,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct MemMap {
    ram_len: usize,
    bios_len: u32,
    /// Length of the option ROM image at C0000h (0: none).
    #[serde(default)]
    option_rom_len: u32,
    /// Segments of A0000h–FFFFFh (bit n = LOW + n × 16 KB) whose reads reach DRAM.
    read_ram: u32,
    /// … and whose writes do.
    write_ram: u32,
    /// Device regions above RAM: (base, length, device).
    mmio: Vec<(u32, u32, usize)>,
    generation: u64,
}

impl MemMap {
    pub(crate) fn new(ram_len: usize, bios_len: usize) -> MemMap {
        MemMap {
            ram_len,
            bios_len: bios_len as u32,
            option_rom_len: 0,
            read_ram: 0,
            write_ram: 0,
            mmio: Vec::new(),
            generation: 0,
        }
    }

    /// Places an option ROM image of `len` bytes (at most 128 KB) at C0000h, where
    /// the PAM registers leave the BIOS area on PCI.
    pub(crate) fn set_option_rom(&mut self, len: usize) {
        self.option_rom_len = len.min(0x2_0000) as u32;
        self.generation += 1;
    }

    /// Changes of the map so far (a cache of resolved pages is valid for one value).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Where a read of `a` goes.
    #[inline]
    pub(crate) fn read(&self, a: u32) -> Region {
        self.resolve(a, self.read_ram)
    }

    /// Where a write of `a` goes (ROM takes no writes: the bus drops them).
    #[inline]
    pub(crate) fn write(&self, a: u32) -> Region {
        self.resolve(a, self.write_ram)
    }

    fn resolve(&self, a: u32, dram: u32) -> Region {
        if a < LOW || (a >= ONE_MB && (a as usize) < self.ram_len) {
            return if (a as usize) < self.ram_len {
                Region::Ram(a as usize)
            } else {
                Region::OpenBus
            };
        }
        if a < ONE_MB {
            let seg = (a - LOW) >> SEG_SHIFT;
            if a < 0xC_0000 {
                return Region::Vga;
            }
            if dram & (1 << seg) != 0 && (a as usize) < self.ram_len {
                return Region::Ram(a as usize);
            }
            // Below 1 MB the BIOS shows its last 128 KB at most.
            let low_len = self.bios_len.min(0x2_0000);
            let rom_low = ONE_MB - low_len;
            return if a >= rom_low {
                Region::Rom((a - rom_low + (self.bios_len - low_len)) as usize)
            } else if a - 0xC_0000 < self.option_rom_len {
                Region::OptionRom((a - 0xC_0000) as usize)
            } else {
                Region::OpenBus
            };
        }
        for &(base, len, dev) in &self.mmio {
            if a.wrapping_sub(base) < len {
                return Region::Mmio(dev);
            }
        }
        let high = 0u32.wrapping_sub(self.bios_len);
        if a >= high && high != 0 {
            return Region::Rom((a - high) as usize);
        }
        Region::OpenBus
    }

    /// Applies the host bridge's PAM attributes to C0000h–FFFFFh.
    pub(crate) fn set_pam(&mut self, segs: &[PamSegment]) {
        let (mut r, mut w) = (0u32, 0u32);
        for s in segs {
            let first = (s.start - LOW) >> SEG_SHIFT;
            for seg in first..first + (s.len >> SEG_SHIFT) {
                r |= (s.read_dram as u32) << seg;
                w |= (s.write_dram as u32) << seg;
            }
        }
        if (r, w) != (self.read_ram, self.write_ram) {
            log::debug!(target: "memmap", "BIOS area: reads from DRAM {r:#08x}, writes to DRAM {w:#08x} (bit n = A0000h + n x 16 KB)");
            self.read_ram = r;
            self.write_ram = w;
            self.generation += 1;
        }
    }

    /// Replaces the device memory regions.
    pub(crate) fn set_mmio(&mut self, regions: Vec<(u32, u32, usize)>) {
        if regions != self.mmio {
            self.mmio = regions;
            self.generation += 1;
        }
    }

    /// The RAM offset backing the 4 KB page `page` (physical address >> 12) for reads
    /// (or writes), if RAM backs all of it: the lookup a host-pointer TLB caches.
    #[allow(dead_code)]
    pub(crate) fn ram_page(&self, page: u32, write: bool) -> Option<usize> {
        let a = page.checked_mul(4096)?;
        let r = if write { self.write(a) } else { self.read(a) };
        match r {
            Region::Ram(o) if o + 4096 <= self.ram_len => Some(o),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use devices::i440fx::{host_bridge, pam_segments, PAM0};

    #[test]
    fn the_bios_area_follows_the_pam_registers() {
        let mut m = MemMap::new(4 << 20, 64 << 10);
        assert_eq!(m.read(0x9_FFFF), Region::Ram(0x9_FFFF));
        assert_eq!(m.read(0xB_8000), Region::Vga);
        assert_eq!(m.read(0xC_8000), Region::OpenBus);
        assert_eq!(m.read(0xF_0010), Region::Rom(0x10));
        assert_eq!(m.read(0xFFFF_FFF0), Region::Rom(0xFFF0));
        assert_eq!(m.read(0x40_0000), Region::OpenBus, "above 4 MB of RAM");
        assert_eq!(m.ram_page(0xF0, false), None);
        // PAM0 = 10h: F0000h reads DRAM, writes go to PCI (the ROM, dropped).
        // PAM1 = 02h: C0000h–C3FFFh write-only DRAM.
        let mut f = host_bridge();
        f.write(PAM0, 1, 0x10);
        f.write(PAM0 + 1, 1, 0x02);
        m.set_pam(&pam_segments(&f));
        assert_eq!(m.read(0xF_0010), Region::Ram(0xF_0010));
        assert_eq!(m.write(0xF_0010), Region::Rom(0x10));
        assert_eq!(m.read(0xC_0000), Region::OpenBus);
        assert_eq!(m.write(0xC_3FFF), Region::Ram(0xC_3FFF));
        assert_eq!(m.write(0xC_4000), Region::OpenBus);
        assert_eq!(m.ram_page(0xF0, false), Some(0xF_0000));
        assert_eq!(m.ram_page(0xF0, true), None);
        assert_eq!(m.generation(), 1);
    }
}
