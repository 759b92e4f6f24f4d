//! The VGA as a PCI function, as QEMU's `-vga std` ("VGA", hw/display/vga-pci.c)
//! presents it: vendor 1234h, device 1111h, class 030000h (VGA-compatible display
//! controller), with
//!
//! - BAR 0: the linear framebuffer, a 32-bit prefetchable memory BAR over the 16 MB of
//!   VRAM (what VBE's PhysBasePtr and Linux's vesafb/bochs-drm use);
//! - BAR 2: a 4 KB memory BAR with the VGA ports at 400h and the dispi registers at
//!   500h (QEMU's "qemu-extended-regs" MMIO bar; see [`super::Vga::mmio_read`]).
//!
//! The legacy ranges (3B0h–3DFh, A0000h–BFFFFh, 1CEh/1CFh) decode regardless of the
//! command register, as on QEMU, so a BIOS that never touches PCI keeps a console.

use super::VRAM_SIZE;
use crate::pci::{Bar, PciFunction, BAR0};

/// QEMU's vendor ID and std-vga device ID.
pub const VENDOR: u16 = 0x1234;
pub const DEVICE: u16 = 0x1111;
/// Which BARs hold the framebuffer and the register block.
pub const LFB_BAR: usize = 0;
pub const MMIO_BAR: usize = 2;
pub const MMIO_SIZE: u32 = 0x1000;
/// PCI 2.1 §6.2.5.1: memory BAR bit 3, prefetchable.
const PREFETCHABLE: u8 = 0x08;

/// The std-vga function's configuration space at reset.
pub fn pci_function() -> PciFunction {
    // Revision 2: QEMU's std-vga with the MMIO bar (machine types since 1.3).
    let mut f = PciFunction::new("vga", VENDOR, DEVICE, 0x03_00_00, 2);
    f.set_bar(LFB_BAR, Bar::Mem32(VRAM_SIZE as u32));
    f.init(BAR0 + 4 * LFB_BAR as u8, &[PREFETCHABLE]);
    f.set_bar(MMIO_BAR, Bar::Mem32(MMIO_SIZE));
    // Subsystem vendor/device as QEMU sets them (Red Hat, QEMU).
    f.init(0x2C, &0x1AF4u16.to_le_bytes());
    f.init(0x2E, &0x1100u16.to_le_bytes());
    f
}
