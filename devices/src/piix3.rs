//! The Intel 82371SB PCI ISA IDE Xcelerator (PIIX3): function 0 the PCI-to-ISA bridge
//! (8086:7000), function 1 the IDE controller (8086:7010). Follows the 82371FB/SB
//! datasheet (order 290550): §2.2 function 0 registers (PIRQRC[A:D] 60h–63h route the
//! PCI interrupt lines PIRQA#–PIRQD# to ISA IRQs: bits 3:0 the IRQ, bit 7 disables the
//! route; reset value 80h), §2.3 function 1 registers (IDETIM 40h/42h with the IDE
//! decode enable in bit 15, BMIBA 20h: the 16-byte bus master I/O block, class code
//! 01018Fh/010180h: legacy-mode ports 1F0h/3F6h and 170h/376h on IRQ 14/15 plus bus
//! mastering). The edge/level control registers (ELCR, 4D0h/4D1h) are the 8259 pair's
//! (see `pic`), and the bus master registers are `bmide`.
//!
//! The legacy command blocks decode whatever IDETIM says, so a BIOS that never enables
//! them (or a pre-PCI guest's BIOS image) still reaches the disks.

use crate::pci::{Bar, PciFunction, CMD_BUS_MASTER, CMD_IO};

/// PIRQA# route register; PIRQB#–PIRQD# follow.
pub const PIRQRC: u8 = 0x60;
/// IDE timing registers of the primary and secondary channels.
pub const IDETIM: [u8; 2] = [0x40, 0x42];
/// Bit 15 of IDETIM: the channel's I/O decode is enabled.
pub const IDETIM_DECODE: u16 = 0x8000;
/// The BAR holding the bus master base (BMIBA).
pub const BMIBA_BAR: usize = 4;

/// The PCI-to-ISA bridge: a multifunction device (function 1 is the IDE).
pub fn isa_bridge() -> PciFunction {
    let mut f = PciFunction::new("piix3-isa", 0x8086, 0x7000, 0x06_01_00, 0x00);
    f.init(0x04, &[0x07, 0x00]); // I/O, memory and bus master: hardwired on
    f.set_wmask(0x04, 0);
    f.init(0x06, &[0x00, 0x02]);
    f.init(0x0E, &[0x80]); // header type 0, multifunction
                           // IORT, XBCS (4Ch–4Fh), PIRQRC (60h–63h), TOM, MSTAT, MBIRQ0, MBDMA, APICBASE, DLC,
                           // SMI control (A0h–AFh): storage for the BIOS.
    f.init(0x4C, &[0x4D, 0x00, 0x03, 0x00]);
    f.writable(0x4C, 4);
    f.init(PIRQRC, &[0x80; 4]);
    f.writable(PIRQRC, 4);
    f.init(0x69, &[0x02, 0x00, 0x00]);
    f.writable(0x69, 3);
    f.init(0x70, &[0x80]);
    f.writable(0x70, 1);
    f.init(0x76, &[0x0C, 0x0C]);
    f.writable(0x76, 2);
    f.writable(0x80, 1);
    f.writable(0x82, 1);
    f.writable(0xA0, 16);
    f
}

/// The ISA IRQ PIRQA# (0) … PIRQD# (3) is routed to, if routing is enabled and names a
/// usable IRQ (3–7, 9–12, 14, 15).
pub fn pirq_route(f: &PciFunction, link: usize) -> Option<u8> {
    let v = f.read8(PIRQRC + (link & 3) as u8);
    let irq = v & 0x0F;
    (v & 0x80 == 0 && matches!(irq, 3..=7 | 9..=12 | 14 | 15)).then_some(irq)
}

/// The IDE function: legacy mode on both channels, bus master capable, BMIBA a
/// 16-byte I/O BAR. Only I/O space and bus master enables are writable in its command
/// register.
pub fn ide() -> PciFunction {
    let mut f = PciFunction::new("piix3-ide", 0x8086, 0x7010, 0x01_01_80, 0x00);
    f.set_wmask(0x04, (CMD_IO | CMD_BUS_MASTER) as u8);
    f.init(0x06, &[0x80, 0x02]);
    f.set_bar(BMIBA_BAR, Bar::Io(16));
    f.writable(0x40, 5); // IDETIM primary/secondary, SIDETIM
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pirq_routes_follow_pirqrc() {
        let mut f = isa_bridge();
        assert_eq!(f.read8(0x0E), 0x80, "multifunction");
        assert_eq!(pirq_route(&f, 0), None, "80h at reset: disabled");
        f.write(PIRQRC, 4, 0x0B0A_8009);
        assert_eq!(pirq_route(&f, 0), Some(9));
        assert_eq!(pirq_route(&f, 1), None);
        assert_eq!(pirq_route(&f, 2), Some(10));
        assert_eq!(pirq_route(&f, 3), Some(11));
        f.write(PIRQRC, 1, 0x02); // IRQ 2 (the cascade) is not routable
        assert_eq!(pirq_route(&f, 0), None);
    }

    #[test]
    fn ide_function_identity_and_bmiba() {
        let mut f = ide();
        assert_eq!(
            (f.vendor(), f.device(), f.class()),
            (0x8086, 0x7010, 0x010180)
        );
        f.write(0x20, 4, 0xFFFF_FFFF);
        // The datasheet has bits 31:16 read as 0; QEMU (whose SeaBIOS sizes I/O BARs
        // by a 32-bit complement) makes them writable, and so does this model.
        assert_eq!(f.read32(0x20), 0xFFFF_FFF1);
        f.write(0x04, 2, 0xFFFF);
        assert_eq!(f.command(), CMD_IO | CMD_BUS_MASTER, "no memory space");
        f.write(0x20, 4, 0xC000);
        assert_eq!(f.io_bar(BMIBA_BAR), Some(0xC000));
    }
}
