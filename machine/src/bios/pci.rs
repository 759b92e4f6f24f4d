//! The built-in BIOS's PCI support: the power-on configuration of bus 0, the PCI BIOS
//! (INT 1Ah AH=B1h in real mode, and the same functions through a 32-bit far-call
//! entry), the BIOS32 service directory that hands out that entry, and the `$PIR`
//! interrupt routing table. Follows the PCI BIOS Specification revision 2.1 (§2.3
//! BIOS32 service directory, §3 function list and return codes, §4.2.3 GET IRQ ROUTING
//! OPTIONS) and Microsoft's "PCI IRQ Routing Table Specification" 1.0 (`$PIR`).
//!
//! Configuration at POST (as SeaBIOS configures QEMU's i440FX/PIIX3 machine): every BAR
//! is sized (all ones written, mask read back) and assigned, I/O from C000h up, memory
//! from E0000000h up, each aligned to its size; I/O and memory decoding are enabled for
//! functions with such BARs and bus mastering for the IDE; both IDE channels' decode
//! enable (IDETIM bit 15) is set; PIRQA#–PIRQD# are routed to IRQ 10, 10, 11, 11 and
//! those IRQs set level-triggered in the ELCR; each function with an interrupt pin gets
//! its routed IRQ in the interrupt line register (pin INTx of device d uses link
//! (x + d) mod 4, the swizzle the `$PIR` table describes).
//!
//! The 32-bit entries are ROM stubs `out 0EEh, al; retf` (see the module comment of
//! `bios`), recognised by their ROM offset and the signature after the RETF; the
//! host runs the service with the caller's registers and sets CF in EFLAGS directly.

use super::{lin, TRAP_PORT};
use crate::bus::{HOST_BRIDGE, IDE, ISA_BRIDGE};
use crate::Pc;
use cpu::{Bus, CF, CS, ES};
use devices::pci::{self, Bar};
use devices::piix3;

/// ROM offsets (segment F000) of the BIOS32 directory, the two 32-bit entries and the
/// `$PIR` table (16-byte aligned, as the scans require).
const BIOS32_DIR: u16 = 0x9000;
const BIOS32_ENTRY: u16 = 0x9010;
const PCI32_ENTRY: u16 = 0x9020;
const PIR_TABLE: u16 = 0x9100;
/// What follows each stub's RETF, so a trap is recognised as coming from the stub.
const BIOS32_MARK: &[u8; 4] = b"_32_";
const PCI32_MARK: &[u8; 4] = b"$PCI";

/// The ISA IRQs PIRQA#–PIRQD# are routed to.
const PIRQ_IRQS: [u8; 4] = [10, 10, 11, 11];
/// IRQs a PCI interrupt may be routed to by the PIIX3: 3–7, 9–12, 14, 15.
const PIRQ_BITMAP: u16 = 0xDEF8;
/// Devices the `$PIR` table lists (0 the host bridge, 1 the PIIX3, 2–5 empty slots).
const PIR_DEVICES: u8 = 6;

// PCI BIOS return codes (§3.x).
const SUCCESSFUL: u8 = 0x00;
const FUNC_NOT_SUPPORTED: u8 = 0x81;
const BAD_VENDOR_ID: u8 = 0x83;
const DEVICE_NOT_FOUND: u8 = 0x86;
const BAD_REGISTER_NUMBER: u8 = 0x87;
const SET_FAILED: u8 = 0x88;
const BUFFER_TOO_SMALL: u8 = 0x89;

/// Lays the BIOS32 directory, the 32-bit stubs and the `$PIR` table into the ROM.
pub(super) fn install_rom(r: &mut [u8]) {
    let rom_phys = |off: u16| 0xF_0000 + off as u32;
    // BIOS32 service directory (§2.3): "_32_", entry point, revision 0, length in
    // paragraphs (1), checksum (the 16 bytes sum to 0), 5 reserved bytes.
    let mut dir = [0u8; 16];
    dir[0..4].copy_from_slice(b"_32_");
    dir[4..8].copy_from_slice(&rom_phys(BIOS32_ENTRY).to_le_bytes());
    dir[9] = 1;
    dir[10] = checksum(&dir);
    put(r, BIOS32_DIR, &dir);
    for (at, mark) in [(BIOS32_ENTRY, BIOS32_MARK), (PCI32_ENTRY, PCI32_MARK)] {
        put(r, at, &[0xE6, TRAP_PORT as u8, 0xCB]);
        put(r, at + 3, mark);
    }
    put(r, PIR_TABLE, &pir_table());
}

fn put(r: &mut [u8], at: u16, bytes: &[u8]) {
    let area = &r[at as usize..at as usize + bytes.len()];
    debug_assert!(
        area.iter().all(|&b| b == 0xFF),
        "ROM area {at:#x} already used"
    );
    r[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
}

/// The byte that makes `bytes` sum to zero.
fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)))
}

/// One `$PIR` slot entry per device: bus 0, the device's devfn, for INTA#–INTD# the
/// link (the PIIX3 PIRQRC register, 60h–63h, as Linux's PIIX router reads it) and the
/// IRQs it may take, the slot number (0: built in).
fn pir_entries() -> Vec<[u8; 16]> {
    (0..PIR_DEVICES)
        .map(|dev| {
            let mut e = [0u8; 16];
            e[1] = pci::devfn(dev, 0);
            for pin in 0..4u8 {
                let o = 2 + 3 * pin as usize;
                e[o] = piix3::PIRQRC + ((pin + dev) & 3);
                e[o + 1..o + 3].copy_from_slice(&PIRQ_BITMAP.to_le_bytes());
            }
            e[14] = if dev >= 2 { dev - 1 } else { 0 };
            e
        })
        .collect()
}

/// The `$PIR` table: a 32-byte header (signature, version 1.0, size, the router's bus
/// and devfn, no exclusive IRQs, the compatible router 8086:7000, checksum) and the
/// slot entries.
fn pir_table() -> Vec<u8> {
    let entries = pir_entries();
    let size = 32 + 16 * entries.len();
    let mut t = vec![0u8; size];
    t[0..4].copy_from_slice(b"$PIR");
    t[4..6].copy_from_slice(&0x0100u16.to_le_bytes());
    t[6..8].copy_from_slice(&(size as u16).to_le_bytes());
    t[8] = 0;
    t[9] = ISA_BRIDGE;
    t[12..14].copy_from_slice(&0x8086u16.to_le_bytes());
    t[14..16].copy_from_slice(&0x7000u16.to_le_bytes());
    for (i, e) in entries.iter().enumerate() {
        t[32 + 16 * i..48 + 16 * i].copy_from_slice(e);
    }
    t[31] = checksum(&t);
    t
}

impl Pc {
    fn cfg_read(&self, devfn: u8, reg: u8, size: u8) -> u32 {
        self.bus.pci.config_read(0, devfn, reg, size)
    }

    fn cfg_write(&mut self, devfn: u8, reg: u8, size: u8, value: u32) {
        self.bus.pci.config_write(0, devfn, reg, size, value);
        if self.bus.pci.take_changed() {
            self.bus.pci_changed();
        }
    }

    /// Configures bus 0 at power-on (see the module comment).
    pub(super) fn pci_post(&mut self) {
        let (mut io, mut mem) = (0xC000u32, 0xE000_0000u32);
        let devfns: Vec<u8> = self.bus.pci.devfns().collect();
        for &f in &devfns {
            let mut cmd = 0u16;
            for i in 0..6 {
                let Some(bar) = self.bus.pci.function(f).and_then(|x| x.bar(i)) else {
                    continue;
                };
                let reg = pci::BAR0 + 4 * i as u8;
                self.cfg_write(f, reg, 4, 0xFFFF_FFFF);
                let mask = self.cfg_read(f, reg, 4);
                let (next, base) = match bar {
                    Bar::Io(_) => {
                        let size = (!(mask & 0xFFFC) & 0xFFFF) + 1;
                        cmd |= pci::CMD_IO;
                        let base = io.next_multiple_of(size);
                        (&mut io, (base, size))
                    }
                    Bar::Mem32(_) => {
                        let size = (!(mask & !0xF)).wrapping_add(1);
                        cmd |= pci::CMD_MEMORY;
                        let base = mem.next_multiple_of(size.max(16));
                        (&mut mem, (base, size))
                    }
                };
                *next = base.0.wrapping_add(base.1);
                self.cfg_write(f, reg, 4, base.0);
                let name = self.bus.pci.function(f).map_or("?", |x| x.name);
                log::debug!(target: "bios", "pci {name}: BAR{i} at {:#x}, {} bytes", base.0, base.1);
            }
            if f == IDE {
                cmd |= pci::CMD_BUS_MASTER;
                for reg in piix3::IDETIM {
                    self.cfg_write(f, reg, 2, piix3::IDETIM_DECODE as u32);
                }
            }
            if cmd != 0 {
                let old = self.cfg_read(f, pci::COMMAND, 2);
                self.cfg_write(f, pci::COMMAND, 2, old | cmd as u32);
            }
        }
        // PIRQ routing and level triggering for the routed IRQs.
        let routes = u32::from_le_bytes(PIRQ_IRQS);
        self.cfg_write(ISA_BRIDGE, piix3::PIRQRC, 4, routes);
        let mut elcr = [0u8; 2];
        for irq in PIRQ_IRQS {
            elcr[irq as usize / 8] |= 1 << (irq % 8);
        }
        self.bus.io_write(0x4D0, 1, elcr[0] as u32);
        self.bus.io_write(0x4D1, 1, elcr[1] as u32);
        for &f in &devfns {
            let pin = self.cfg_read(f, pci::INTERRUPT_PIN, 1) as u8;
            if (1..=4).contains(&pin) {
                let link = ((pin - 1) + (f >> 3)) & 3;
                self.cfg_write(f, pci::INTERRUPT_LINE, 1, PIRQ_IRQS[link as usize] as u32);
            }
        }
        // The drives the bus master may serve (status bits 5/6, for the OS to read).
        for ch in 0..2 {
            for drive in 0..2 {
                let present = self.bus.ide[ch].present(drive);
                self.bus.bmide.set_dma_capable(ch, drive, present);
            }
        }
        let _ = HOST_BRIDGE;
    }

    /// INT 1Ah AH=B1h from real mode: the PCI BIOS with the result in the FLAGS image.
    pub(super) fn int1a_pci(&mut self) {
        let status = self.pci_bios(false);
        self.ret_flag(CF, status != SUCCESSFUL);
    }

    /// A trap from a protected-mode caller: the BIOS32 directory or the 32-bit PCI BIOS
    /// entry, recognised by the stub's offset and the bytes after its RETF. Returns false
    /// for anything else.
    pub(super) fn pm_trap(&mut self) -> bool {
        let ip = self.cpu.eip as u16;
        let code = self.cpu.code_bytes(&mut self.bus);
        let is = |entry: u16, mark: &[u8; 4]| {
            ip == entry + 2 && code.len() >= 5 && code[0] == 0xCB && code[1..5] == mark[..]
        };
        let status = if is(BIOS32_ENTRY, BIOS32_MARK) {
            self.bios32_directory()
        } else if is(PCI32_ENTRY, PCI32_MARK) {
            self.pci_bios(true)
        } else {
            return false;
        };
        if status == SUCCESSFUL {
            self.cpu.eflags &= !CF;
        } else {
            self.cpu.eflags |= CF;
        }
        true
    }

    /// The BIOS32 service directory call (§2.3.2): EAX = service identifier, EBX = 0.
    /// "$PCI" is found: AL = 0, EBX = the service's base, ECX = its length, EDX = the
    /// entry's offset from the base. Anything else: AL = 80h. (CF carries no meaning
    /// here; it is left clear on success.)
    fn bios32_directory(&mut self) -> u8 {
        let r = &mut self.cpu.regs;
        if r[3] != 0 {
            // Only selector 0 (the directory itself) exists.
            r[0] = (r[0] & !0xFF) | 0x81;
            return 0x81;
        }
        if r[0] == u32::from_le_bytes(*PCI32_MARK) {
            r[0] &= !0xFF;
            r[3] = 0xF_0000;
            r[1] = 0x1_0000;
            r[2] = PCI32_ENTRY as u32;
            SUCCESSFUL
        } else {
            r[0] = (r[0] & !0xFF) | 0x80;
            0x80
        }
    }

    /// The PCI BIOS functions (AL with AH = B1h), with the registers of §3; returns the
    /// status also placed in AH.
    fn pci_bios(&mut self, pm: bool) -> u8 {
        let r = self.cpu.regs;
        let (eax, ecx, edx, ebx, esi, edi) = (r[0], r[1], r[2], r[3], r[6], r[7]);
        let devfn = ebx as u8;
        let bus = (ebx >> 8) as u8;
        let reg = edi as u16;
        let mut status = SUCCESSFUL;
        match eax as u8 {
            // PCI BIOS PRESENT: AL = hardware mechanisms (bit 0: mechanism #1), BX =
            // version 2.10, CL = last bus, EDX = "PCI ", EDI = protected-mode entry (the
            // 3.0 field; 0 = use BIOS32).
            0x01 => {
                self.cpu.regs[0] = (eax & !0xFFFF) | 0x0001;
                self.cpu.regs[3] = (ebx & !0xFFFF) | 0x0210;
                self.cpu.regs[1] = ecx & !0xFF;
                self.cpu.regs[2] = u32::from_le_bytes(*b"PCI ");
                return SUCCESSFUL;
            }
            // FIND PCI DEVICE: CX device, DX vendor, SI index → BH bus, BL devfn.
            0x02 => {
                let (device, vendor) = (ecx as u16, edx as u16);
                if vendor == 0xFFFF {
                    status = BAD_VENDOR_ID;
                } else {
                    let found = self
                        .bus
                        .pci
                        .devfns()
                        .filter(|&f| {
                            let x = self.bus.pci.function(f);
                            x.is_some_and(|x| x.vendor() == vendor && x.device() == device)
                        })
                        .nth(esi as u16 as usize);
                    match found {
                        Some(f) => self.cpu.regs[3] = ebx & !0xFFFF | f as u32,
                        None => status = DEVICE_NOT_FOUND,
                    }
                }
            }
            // FIND PCI CLASS CODE: ECX bits 23:0 class, SI index.
            0x03 => {
                let class = ecx & 0xFF_FFFF;
                let found = self
                    .bus
                    .pci
                    .devfns()
                    .filter(|&f| self.bus.pci.function(f).is_some_and(|x| x.class() == class))
                    .nth(esi as u16 as usize);
                match found {
                    Some(f) => self.cpu.regs[3] = ebx & !0xFFFF | f as u32,
                    None => status = DEVICE_NOT_FOUND,
                }
            }
            // READ CONFIGURATION BYTE/WORD/DWORD: BH bus, BL devfn, DI register → CL,
            // CX, ECX. Word and dword registers must be aligned.
            n @ (0x08..=0x0A) => {
                let size = [1u8, 2, 4][(n - 0x08) as usize];
                if reg > 0xFF || !reg.is_multiple_of(size as u16) {
                    status = BAD_REGISTER_NUMBER;
                } else {
                    let v = self.bus.pci.config_read(bus, devfn, reg as u8, size);
                    let keep = match size {
                        1 => !0xFF,
                        2 => !0xFFFF,
                        _ => 0,
                    };
                    self.cpu.regs[1] = (ecx & keep) | v;
                }
            }
            // WRITE CONFIGURATION BYTE/WORD/DWORD: the value in CL, CX, ECX.
            n @ (0x0B..=0x0D) => {
                let size = [1u8, 2, 4][(n - 0x0B) as usize];
                if reg > 0xFF || !reg.is_multiple_of(size as u16) {
                    status = BAD_REGISTER_NUMBER;
                } else {
                    self.bus.pci.config_write(bus, devfn, reg as u8, size, ecx);
                    if self.bus.pci.take_changed() {
                        self.bus.pci_changed();
                    }
                }
            }
            0x0E => status = self.pci_irq_routing_options(pm),
            // SET PCI HARDWARE INTERRUPT: CL = IRQ, CH = pin (0Ah–0Dh), BH/BL the
            // device. The link comes from the `$PIR` swizzle.
            0x0F => {
                let (irq, pin) = (ecx as u8, (ecx >> 8) as u8);
                let dev = devfn >> 3;
                if !(0x0A..=0x0D).contains(&pin) || PIRQ_BITMAP & (1 << (irq & 15)) == 0 {
                    status = SET_FAILED;
                } else {
                    let link = ((pin - 0x0A) + dev) & 3;
                    self.cfg_write(ISA_BRIDGE, piix3::PIRQRC + link, 1, irq as u32);
                }
            }
            // GENERATE SPECIAL CYCLE and anything else.
            _ => status = FUNC_NOT_SUPPORTED,
        }
        self.cpu.regs[0] = (self.cpu.regs[0] & !0xFF00) | (status as u32) << 8;
        status
    }

    /// GET IRQ ROUTING OPTIONS (§4.2.3): ES:(E)DI points at {WORD buffer size; buffer
    /// offset (WORD in real mode, DWORD in 32-bit mode); WORD buffer segment}. The slot
    /// entries of the `$PIR` table are copied there if they fit; the size is always set
    /// to what they need. BX = IRQs dedicated to PCI (none).
    fn pci_irq_routing_options(&mut self, pm: bool) -> u8 {
        let entries: Vec<u8> = pir_entries().concat();
        let es = self.cpu.seg[ES].base;
        let di = if pm {
            self.cpu.regs[7]
        } else {
            self.cpu.regs[7] & 0xFFFF
        };
        let Some(hdr) = self.linear(es.wrapping_add(di), 8) else {
            return FUNC_NOT_SUPPORTED;
        };
        let size = self.bus.read16(hdr) as usize;
        let (off, seg_sel) = if pm {
            (self.bus.read32(hdr + 2), self.bus.read16(hdr + 6))
        } else {
            (self.bus.read16(hdr + 2) as u32, self.bus.read16(hdr + 4))
        };
        self.bus.write16(hdr, entries.len() as u16);
        self.cpu.invalidate_phys(hdr, 2);
        self.cpu.regs[3] &= !0xFFFF;
        if size < entries.len() {
            return BUFFER_TOO_SMALL;
        }
        // The buffer's segment: in real mode a paragraph; in protected mode a selector
        // whose base we take from the caller's ES if it is the same selector, else flat.
        let base = if pm {
            if seg_sel == self.cpu.seg[ES].selector {
                es
            } else {
                0
            }
        } else {
            lin(seg_sel, 0)
        };
        let start = base.wrapping_add(off);
        for (i, &b) in entries.iter().enumerate() {
            let Some(a) = self.linear(start.wrapping_add(i as u32), 1) else {
                return FUNC_NOT_SUPPORTED;
            };
            self.bus.write8(a, b);
            self.cpu.invalidate_phys(a, 1);
        }
        let _ = CS;
        SUCCESSFUL
    }

    /// The physical address of linear `lin`, requiring `len` bytes on one page.
    fn linear(&mut self, lin: u32, len: u32) -> Option<u32> {
        let p = self.cpu.linear_to_physical(&mut self.bus, lin)?;
        let end = self
            .cpu
            .linear_to_physical(&mut self.bus, lin.wrapping_add(len - 1))?;
        (end.wrapping_sub(p) == len - 1).then_some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pir_table_checksums_and_routes_the_piix3() {
        let t = pir_table();
        assert_eq!(&t[0..4], b"$PIR");
        assert_eq!(t.len(), 32 + 16 * PIR_DEVICES as usize);
        assert_eq!(u16::from_le_bytes([t[6], t[7]]) as usize, t.len());
        assert_eq!(t.iter().fold(0u8, |a, &b| a.wrapping_add(b)), 0);
        // Device 1 (the PIIX3): INTA# on link 61h (PIRQB#), INTB# on 62h.
        let e = &t[48..64];
        assert_eq!((e[1], e[2], e[5]), (0x08, 0x61, 0x62));
    }
}
