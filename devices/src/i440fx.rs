//! The Intel 82441FX PCI and Memory Controller (PMC), host bridge of the 440FX PCIset
//! (PCI 8086:1237), at bus 0 device 0. Follows the 82441FX/82442FX datasheet
//! (order 290549): §3.2 configuration registers, in particular the Programmable
//! Attribute Map registers PAM0–PAM6 (59h–5Fh) and SMRAM control (72h).
//!
//! The PAM registers give each segment of the BIOS area C0000h–FFFFFh two bits: RE
//! (reads go to DRAM) and WE (writes go to DRAM); a cleared bit sends that kind of cycle
//! to PCI, where the BIOS ROM (and option ROMs) answer. That is how a BIOS copies
//! itself into "shadow" RAM and write-protects it. PAM0 bits 5:4 cover F0000h–FFFFFh
//! (64 KB); PAM1–PAM6 each hold two 16 KB segments, low nibble first, from C0000h to
//! EFFFFh. The machine's memory map ([`pam_segments`]) follows them after every
//! configuration write.
//!
//! SMRAM (72h) resets to 02h (C_BASE_SEG = A0000h, closed). The CPU has no SMM, so
//! SMRAM is never opened to the CPU: A0000h–BFFFFh always reaches the VGA, whatever
//! D_OPEN says; the register is kept for software that reads it back. The DRAM row
//! boundary and timing registers are plain storage.

use crate::pci::PciFunction;

/// The PAM registers.
pub const PAM0: u8 = 0x59;
/// SMRAM control.
pub const SMRAM: u8 = 0x72;

/// The host bridge's configuration space at reset.
pub fn host_bridge() -> PciFunction {
    let mut f = PciFunction::new("i440fx", 0x8086, 0x1237, 0x06_00_00, 0x02);
    // Status: fast back-to-back capable, medium DEVSEL timing (datasheet 3.2.4).
    f.init(0x06, &[0x80, 0x02]);
    // PMCCFG, DETURBO, DBC, DRT, DRAMC, DRAMT (50h–58h), then PAM0–PAM6 and the DRAM
    // row boundaries (60h–67h): storage the BIOS programs.
    f.writable(0x50, 0x18);
    f.set_wmask(PAM0, 0x30);
    f.init(SMRAM, &[0x02]);
    f.set_wmask(SMRAM, 0x78);
    f
}

/// One PAM-controlled segment's attributes now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PamSegment {
    pub start: u32,
    pub len: u32,
    /// Reads go to DRAM (else to PCI: the ROM or an empty bus).
    pub read_dram: bool,
    /// Writes go to DRAM (else to PCI, where ROM ignores them).
    pub write_dram: bool,
}

/// The 13 segments of C0000h–FFFFFh with the attributes the PAM registers give them.
pub fn pam_segments(f: &PciFunction) -> [PamSegment; 13] {
    let mut out = [PamSegment {
        start: 0,
        len: 0,
        read_dram: false,
        write_dram: false,
    }; 13];
    let attr = |reg: u8, high: bool| {
        let v = f.read8(reg) >> if high { 4 } else { 0 };
        (v & 1 != 0, v & 2 != 0)
    };
    for (i, seg) in out.iter_mut().enumerate().take(12) {
        let (r, w) = attr(PAM0 + 1 + (i / 2) as u8, i % 2 == 1);
        *seg = PamSegment {
            start: 0xC_0000 + 0x4000 * i as u32,
            len: 0x4000,
            read_dram: r,
            write_dram: w,
        };
    }
    let (r, w) = attr(PAM0, true);
    out[12] = PamSegment {
        start: 0xF_0000,
        len: 0x1_0000,
        read_dram: r,
        write_dram: w,
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pam_nibbles_map_segments_as_the_datasheet_lists() {
        let mut f = host_bridge();
        assert_eq!(
            (f.vendor(), f.device(), f.class()),
            (0x8086, 0x1237, 0x060000)
        );
        assert!(pam_segments(&f)
            .iter()
            .all(|s| !s.read_dram && !s.write_dram));
        // PAM0 = 30h: F0000h–FFFFFh read/write DRAM; the low nibble is reserved.
        f.write(PAM0, 1, 0x3F);
        assert_eq!(f.read8(PAM0), 0x30);
        // PAM1 = 21h: C0000h–C3FFFh read-only DRAM, C4000h–C7FFFh write-only.
        f.write(0x5A, 1, 0x21);
        // PAM6 = 30h: EC000h–EFFFFh read/write, E8000h–EBFFFh PCI.
        f.write(0x5F, 1, 0x30);
        let s = pam_segments(&f);
        assert_eq!(
            (s[0].start, s[0].read_dram, s[0].write_dram),
            (0xC0000, true, false)
        );
        assert_eq!(
            (s[1].start, s[1].read_dram, s[1].write_dram),
            (0xC4000, false, true)
        );
        assert_eq!((s[10].start, s[10].read_dram), (0xE8000, false));
        assert_eq!(
            (s[11].start, s[11].read_dram, s[11].write_dram),
            (0xEC000, true, true)
        );
        assert_eq!(
            (s[12].start, s[12].len, s[12].read_dram),
            (0xF0000, 0x10000, true)
        );
        // SMRAM resets to 02h and C_BASE_SEG is read-only.
        assert_eq!(f.read8(SMRAM), 0x02);
        f.write(SMRAM, 1, 0xFF);
        assert_eq!(f.read8(SMRAM), 0x7A);
    }
}
