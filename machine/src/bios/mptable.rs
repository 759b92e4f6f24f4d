//! The MP configuration tables of the built-in BIOS (Intel MultiProcessor Specification
//! 1.4, chapter 4): the MP floating pointer structure (§4.1, "_MP_", 16-byte aligned in
//! the BIOS ROM) and the configuration table (§4.2, "PCMP") with entries for the one
//! processor, bus 0 (PCI) and bus 1 (ISA), the I/O APIC, the I/O interrupt assignments
//! and the local interrupt assignments. The interrupt wiring it describes is the
//! machine's (`crate::interrupts`): ISA IRQ n on I/O APIC pin n, IRQ 0 on pin 2, the SCI
//! (IRQ 9) level-triggered active high, PCI INTA#–INTD# of device d on pins 16–19 by the
//! swizzle (d + pin) mod 4 the `$PIR` table gives (active low, level); the 8259 through
//! LINT0 (ExtINT) and NMI on LINT1. Feature byte 2 bit 7 (IMCRP) is clear: the machine
//! is in virtual wire mode, not PIC mode with an IMCR.

use super::acpi::checksum;
use crate::interrupts::{IOAPIC_BASE, IOAPIC_ID, LAPIC_BASE, PIRQ_PIN};

/// Bus IDs.
const PCI_BUS: u8 = 0;
const ISA_BUS: u8 = 1;
/// Interrupt entry flags (§4.3.4, Table 4-10): polarity bits 1:0 (01 high, 11 low),
/// trigger bits 3:2 (01 edge, 11 level); 0 conforms to the bus.
const CONFORMING: u16 = 0;
const LEVEL_HIGH: u16 = 0x0D;
const LEVEL_LOW: u16 = 0x0F;
/// PCI devices with interrupt pins the table lists (1 the PIIX3, 2–5 slots), as `$PIR`.
const PCI_DEVICES: std::ops::Range<u8> = 1..6;

/// The floating pointer (16 bytes) at physical `at`, then the configuration table.
pub(super) fn tables(at: u32) -> Vec<u8> {
    let config = config_table();
    let mut fp = [0u8; 16];
    fp[0..4].copy_from_slice(b"_MP_");
    fp[4..8].copy_from_slice(&(at + 16).to_le_bytes());
    fp[8] = 1; // length in 16-byte paragraphs
    fp[9] = 4; // specification revision 1.4
               // fp[11] = 0: a configuration table is present; fp[12] = 0: virtual wire mode.
    fp[10] = checksum(&fp);
    let mut out = fp.to_vec();
    out.extend(config);
    out
}

fn intsrc(kind: u8, flags: u16, bus: u8, irq: u8, pin: u8) -> [u8; 8] {
    let f = flags.to_le_bytes();
    [3, kind, f[0], f[1], bus, irq, IOAPIC_ID, pin]
}

fn config_table() -> Vec<u8> {
    let mut entries: Vec<Vec<u8>> = Vec::new();
    // Processor (§4.3.1): local APIC 0, version 14h, enabled and the bootstrap
    // processor; signature and features of a family 6 part with FPU, TSC, CX8, APIC
    // (the CPUID values proper come from CPUID itself).
    let mut cpu = vec![0u8; 20];
    cpu[0] = 0;
    cpu[2] = 0x14;
    cpu[3] = 0x03;
    cpu[4..8].copy_from_slice(&0x0695u32.to_le_bytes());
    cpu[8..12].copy_from_slice(&0x0000_0311u32.to_le_bytes());
    entries.push(cpu);
    for (id, name) in [(PCI_BUS, b"PCI   "), (ISA_BUS, b"ISA   ")] {
        let mut b = vec![1, id];
        b.extend_from_slice(name);
        entries.push(b);
    }
    let mut io = vec![2, IOAPIC_ID, 0x11, 0x01];
    io.extend_from_slice(&IOAPIC_BASE.to_le_bytes());
    entries.push(io);
    for irq in 0..16u8 {
        // IRQ 2 is the 8259 cascade: nothing on the ISA bus drives it.
        if irq == 2 {
            continue;
        }
        let pin = if irq == 0 { 2 } else { irq };
        let flags = if irq == devices::acpi::SCI_IRQ {
            LEVEL_HIGH
        } else {
            CONFORMING
        };
        entries.push(intsrc(0, flags, ISA_BUS, irq, pin).to_vec());
    }
    for dev in PCI_DEVICES {
        for pin in 0..4u8 {
            // Source bus IRQ for PCI (§D.3): device number in bits 6:2, INTx# in 1:0.
            let gsi = PIRQ_PIN as u8 + ((dev + pin) & 3);
            entries.push(intsrc(0, LEVEL_LOW, PCI_BUS, dev << 2 | pin, gsi).to_vec());
        }
    }
    // Local interrupts (§4.3.5): ExtINT on LINT0, NMI on LINT1 of every local APIC.
    entries.push(vec![4, 3, 0, 0, ISA_BUS, 0, 0xFF, 0]);
    entries.push(vec![4, 1, 0, 0, ISA_BUS, 0, 0xFF, 1]);
    let body: Vec<u8> = entries.concat();
    let mut h = vec![0u8; 44];
    h[0..4].copy_from_slice(b"PCMP");
    h[4..6].copy_from_slice(&((44 + body.len()) as u16).to_le_bytes());
    h[6] = 4;
    h[8..16].copy_from_slice(b"X86EMU  ");
    h[16..28].copy_from_slice(b"PC i440FX   ");
    h[34..36].copy_from_slice(&(entries.len() as u16).to_le_bytes());
    h[36..40].copy_from_slice(&LAPIC_BASE.to_le_bytes());
    h.extend(body);
    h[7] = checksum(&h);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(b: &[u8]) -> u8 {
        b.iter().fold(0u8, |a, &x| a.wrapping_add(x))
    }

    #[test]
    fn floating_pointer_and_config_table_check_out() {
        let t = tables(0xF_6000);
        assert_eq!(&t[0..4], b"_MP_");
        assert_eq!(sum(&t[0..16]), 0, "floating pointer checksum");
        assert_eq!(u32::from_le_bytes(t[4..8].try_into().unwrap()), 0xF_6010);
        let c = &t[16..];
        assert_eq!(&c[0..4], b"PCMP");
        let len = u16::from_le_bytes([c[4], c[5]]) as usize;
        assert_eq!(len, c.len());
        assert_eq!(sum(c), 0, "configuration table checksum");
        // 1 processor + 2 buses + 1 I/O APIC + 15 ISA + 20 PCI + 2 local entries.
        assert_eq!(u16::from_le_bytes([c[34], c[35]]), 41);
        assert_eq!(len, 44 + 20 + 40 * 8);
        // The ISA IRQ 0 entry goes to pin 2: the first I/O interrupt entry.
        let first = 44 + 20 + 8 + 8 + 8;
        assert_eq!(
            &c[first..first + 8],
            &[3, 0, 0, 0, ISA_BUS, 0, IOAPIC_ID, 2]
        );
    }
}
