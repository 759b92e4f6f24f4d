//! The ACPI tables of the built-in BIOS (ACPI specification 6.x, chapter 5): the RSDP
//! (revision 0, §5.2.5) in the BIOS ROM, the RSDT (§5.2.7), a revision 3 FADT (§5.2.9)
//! describing the PM block of `devices::acpi` (PM1a event block 600h, PM1a control 604h,
//! PM timer 608h, 24 bits; SCI on IRQ 9; no SMI command port, so the hardware is always
//! in ACPI mode; the reset register at I/O port CF9h with value 06h), the FACS
//! (§5.2.10), the MADT (§5.2.12: the local APIC, the I/O APIC, the interrupt source
//! overrides IRQ 0 → GSI 2 and IRQ 9 level/active high, LINT1 as NMI), and a DSDT in
//! AML (chapter 20) built here by a tiny encoder: `\_SB.PCI0` (PNP0A03) with a `_PRT`
//! routing the PCI devices' INTx# to GSIs 16–19 as the MP table does and a `_CRS` with
//! the bus range and the I/O and memory windows the host bridge decodes (without it
//! Linux cannot claim the IDE's legacy ports or the BARs), and `\_S5` (sleep type 5, as
//! PM1_CNT decodes it).
//!
//! All tables live in the ROM (reserved in the E820 map), at [`ACPI_ROM`] onwards.

use crate::interrupts::{IOAPIC_BASE, IOAPIC_ID, LAPIC_BASE, PIRQ_PIN};
use devices::acpi::{PM1A_CNT, PM1A_EVT, PM_TMR, SCI_IRQ, SLP_TYP_S5};

/// The byte that makes `bytes` sum to zero.
pub(super) fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)))
}

const OEM_ID: &[u8; 6] = b"X86EMU";
const OEM_TABLE_ID: &[u8; 8] = b"X86EMUPC";

/// A table with the 36-byte system description header (§5.2.6): signature, length,
/// revision, checksum, OEM ID, OEM table ID, OEM revision, creator ID and revision.
fn table(sig: &[u8; 4], revision: u8, body: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 36];
    t[0..4].copy_from_slice(sig);
    t[4..8].copy_from_slice(&((36 + body.len()) as u32).to_le_bytes());
    t[8] = revision;
    t[10..16].copy_from_slice(OEM_ID);
    t[16..24].copy_from_slice(OEM_TABLE_ID);
    t[24..28].copy_from_slice(&1u32.to_le_bytes());
    t[28..32].copy_from_slice(b"X86E");
    t[32..36].copy_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(body);
    t[9] = checksum(&t);
    t
}

/// AML encoding (ACPI 6.x chapter 20), just what the DSDT needs.
pub(super) mod aml {
    /// PkgLength (§20.2.4): the length of what follows the opcode including the
    /// PkgLength bytes themselves; one byte up to 63, else a lead byte holding the count
    /// of extra bytes in bits 7:6 and the low nibble, the rest 8 bits at a time.
    pub fn pkg_length(body: usize) -> Vec<u8> {
        for n in 1..=4usize {
            let total = body + n;
            if n == 1 && total <= 0x3F {
                return vec![total as u8];
            }
            if n > 1 && total < 1 << (4 + 8 * (n - 1)) {
                let mut v = vec![((n - 1) << 6) as u8 | (total & 0xF) as u8];
                for i in 0..n - 1 {
                    v.push((total >> (4 + 8 * i)) as u8);
                }
                return v;
            }
        }
        panic!("AML package of {body} bytes is too long");
    }

    /// A NameSeg: four characters, padded with '_'.
    pub fn name_seg(s: &str) -> Vec<u8> {
        let mut v: Vec<u8> = s.bytes().take(4).collect();
        v.resize(4, b'_');
        v
    }

    /// An integer constant: ZeroOp, OneOp, or the smallest Byte/Word/DWord prefix.
    pub fn int(v: u32) -> Vec<u8> {
        match v {
            0 => vec![0x00],
            1 => vec![0x01],
            2..=0xFF => vec![0x0A, v as u8],
            0x100..=0xFFFF => {
                let mut o = vec![0x0B];
                o.extend_from_slice(&(v as u16).to_le_bytes());
                o
            }
            _ => {
                let mut o = vec![0x0C];
                o.extend_from_slice(&v.to_le_bytes());
                o
            }
        }
    }

    /// Name(seg, data): NameOp 08h.
    pub fn name(seg: &str, data: Vec<u8>) -> Vec<u8> {
        let mut v = vec![0x08];
        v.extend(name_seg(seg));
        v.extend(data);
        v
    }

    /// Package(){…}: PackageOp 12h, PkgLength, NumElements, the elements.
    pub fn package(elements: Vec<Vec<u8>>) -> Vec<u8> {
        let mut body = vec![elements.len() as u8];
        body.extend(elements.concat());
        let mut v = vec![0x12];
        v.extend(pkg_length(body.len()));
        v.extend(body);
        v
    }

    /// Buffer(){bytes}: BufferOp 11h, PkgLength, BufferSize, the bytes.
    pub fn buffer(bytes: &[u8]) -> Vec<u8> {
        let mut body = int(bytes.len() as u32);
        body.extend_from_slice(bytes);
        let mut v = vec![0x11];
        v.extend(pkg_length(body.len()));
        v.extend(body);
        v
    }

    /// Scope(path){…}: ScopeOp 10h; `path` is an encoded NameString.
    pub fn scope(path: &[u8], body: Vec<u8>) -> Vec<u8> {
        let mut v = vec![0x10];
        v.extend(pkg_length(path.len() + body.len()));
        v.extend_from_slice(path);
        v.extend(body);
        v
    }

    /// Device(seg){…}: ExtOpPrefix 5Bh, DeviceOp 82h.
    pub fn device(seg: &str, body: Vec<u8>) -> Vec<u8> {
        let n = name_seg(seg);
        let mut v = vec![0x5B, 0x82];
        v.extend(pkg_length(n.len() + body.len()));
        v.extend(n);
        v.extend(body);
        v
    }

    /// EISAID("PNP0A03") as a DWord: three letters of 5 bits (A = 1) and four hex
    /// digits, stored big-endian.
    pub fn eisa_id(id: &str) -> u32 {
        let b = id.as_bytes();
        let l = |i: usize| (b[i] - 0x40) as u32 & 0x1F;
        let hex = u32::from_str_radix(&id[3..7], 16).unwrap_or(0);
        let v = l(0) << 26 | l(1) << 21 | l(2) << 16 | hex;
        v.swap_bytes()
    }
}

/// The DSDT's AML: `\_S5` and `\_SB.PCI0`.
pub(super) fn dsdt_aml() -> Vec<u8> {
    use aml::*;
    let mut aml = name(
        "_S5_",
        package(vec![
            int(SLP_TYP_S5 as u32),
            int(SLP_TYP_S5 as u32),
            int(0),
            int(0),
        ]),
    );
    aml.extend(pci0_aml());
    aml
}

/// `\_SB.PCI0` (PNP0A03) with a `_PRT` routing PCI INTx# to GSIs 16–19 as the MP table
/// does, and the `_CRS` of the windows it decodes.
pub(super) fn pci0_aml() -> Vec<u8> {
    use aml::*;
    // _PRT entries (§6.2.13): {address (device << 16 | FFFFh), pin, source 0, GSI}.
    let mut prt = Vec::new();
    for dev in 1..6u32 {
        for pin in 0..4u32 {
            prt.push(package(vec![
                int(dev << 16 | 0xFFFF),
                int(pin),
                int(0),
                int(PIRQ_PIN as u32 + ((dev + pin) & 3)),
            ]));
        }
    }
    let pci0 = device(
        "PCI0",
        [
            name("_HID", int(eisa_id("PNP0A03"))),
            name("_ADR", int(0)),
            name("_UID", int(0)),
            name("_PRT", package(prt)),
            name("_CRS", buffer(&pci0_crs())),
        ]
        .concat(),
    );
    scope(b"\\_SB_", pci0)
}

/// PCI0's `_CRS` resource template (ACPI §6.4): what the host bridge decodes, so the OS
/// can claim the devices' BARs and the legacy ports behind it — bus numbers 0–FFh, the
/// configuration ports CF8h–CFFh, I/O 0–CF7h and D00h–FFFFh, the VGA window
/// A0000h–BFFFFh and the PCI memory hole E0000000h–FEBFFFFFh (below the I/O APIC), as
/// QEMU's i440FX DSDT describes them.
pub(super) fn pci0_crs() -> Vec<u8> {
    // Word/DWord Address Space Descriptors (§6.4.3.5.2/3): general flags 0Ch = min and
    // max fixed, producer; granularity, min, max, translation offset, length.
    let word = |kind: u8, specific: u8, min: u16, max: u16| {
        let mut d = vec![0x88, 0x0D, 0x00, kind, 0x0C, specific];
        for v in [0, min, max, 0, max - min + 1] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d
    };
    let dword = |min: u32, max: u32| {
        // Type-specific 03h: read/write, cacheable.
        let mut d = vec![0x87, 0x17, 0x00, 0x00, 0x0C, 0x03];
        for v in [0, min, max, 0, max - min + 1] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d
    };
    let mut r = Vec::new();
    // WordBusNumber 0–FFh: resource type 2. `max - min + 1` = 100h fits the word.
    r.extend(word(2, 0, 0, 0xFF));
    // IO(Decode16, CF8h, CF8h, 1, 8): small descriptor 47h (§6.4.2.5).
    r.extend([0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08]);
    // WordIO, resource type 1, type-specific 03h: ISA and non-ISA ranges.
    r.extend(word(1, 3, 0x0000, 0x0CF7));
    r.extend(word(1, 3, 0x0D00, 0xFFFF));
    r.extend(dword(0x000A_0000, 0x000B_FFFF));
    r.extend(dword(0xE000_0000, 0xFEBF_FFFF));
    // End tag (§6.4.2.9) with checksum 0 ("treat as correct").
    r.extend([0x79, 0x00]);
    r
}

/// A Generic Address Structure (§5.2.3.2) for `bits` bits of I/O space at `port`.
fn gas_io(port: u16, bits: u8, access: u8) -> [u8; 12] {
    let mut g = [0u8; 12];
    g[0] = 1; // System I/O
    g[1] = bits;
    g[3] = access;
    g[4..6].copy_from_slice(&port.to_le_bytes());
    g
}

fn fadt(facs: u32, dsdt: u32) -> Vec<u8> {
    // Offsets below are of the whole table (§5.2.9, Table 5.9); `b` starts at 36.
    let mut b = vec![0u8; 244 - 36];
    let mut put =
        |off: usize, bytes: &[u8]| b[off - 36..off - 36 + bytes.len()].copy_from_slice(bytes);
    put(36, &facs.to_le_bytes());
    put(40, &dsdt.to_le_bytes());
    put(46, &(SCI_IRQ as u16).to_le_bytes());
    // SMI_CMD 0, ACPI_ENABLE/DISABLE 0: always in ACPI mode.
    put(56, &(PM1A_EVT as u32).to_le_bytes());
    put(64, &(PM1A_CNT as u32).to_le_bytes());
    put(76, &(PM_TMR as u32).to_le_bytes());
    put(88, &[4, 2, 0, 4]); // PM1_EVT_LEN, PM1_CNT_LEN, PM2_CNT_LEN, PM_TMR_LEN
                            // No C2/C3 (latencies above 100 and 1000 µs).
    put(96, &101u16.to_le_bytes());
    put(98, &1001u16.to_le_bytes());
    put(108, &[0x32]); // CENTURY: CMOS byte 32h
                       // IAPC_BOOT_ARCH: LEGACY_DEVICES | 8042.
    put(109, &3u16.to_le_bytes());
    // Flags: WBINVD (0), PROC_C1 (2), PWR_BUTTON and SLP_BUTTON absent as fixed
    // features (4, 5), RESET_REG_SUP (10); TMR_VAL_EXT (8) clear: a 24-bit PM timer.
    put(
        112,
        &(1u32 | 1 << 2 | 1 << 4 | 1 << 5 | 1 << 10).to_le_bytes(),
    );
    put(116, &gas_io(0xCF9, 8, 1));
    put(128, &[0x06]);
    // X_ blocks (64-bit forms, revision 3), the same ports.
    put(140, &(dsdt as u64).to_le_bytes());
    put(148, &gas_io(PM1A_EVT, 32, 2));
    put(172, &gas_io(PM1A_CNT, 16, 2));
    put(208, &gas_io(PM_TMR, 32, 3));
    table(b"FACP", 3, &b)
}

fn facs() -> Vec<u8> {
    // §5.2.10: signature, length 64, hardware signature, waking vectors 0, global lock
    // 0, flags 0 (no S4BIOS), version 0.
    let mut f = vec![0u8; 64];
    f[0..4].copy_from_slice(b"FACS");
    f[4..8].copy_from_slice(&64u32.to_le_bytes());
    f
}

fn madt() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&LAPIC_BASE.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // PCAT_COMPAT: 8259s present
                                              // Processor local APIC: processor 0, APIC ID 0, enabled.
    b.extend_from_slice(&[0, 8, 0, 0, 1, 0, 0, 0]);
    // I/O APIC: ID, reserved, address, GSI base 0.
    b.extend_from_slice(&[1, 12, IOAPIC_ID, 0]);
    b.extend_from_slice(&IOAPIC_BASE.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    // Interrupt source overrides: bus 0 (ISA), source, GSI, flags (polarity bits 1:0,
    // trigger bits 3:2; 0 conforms, 01b high / edge, 11b low / level).
    for (irq, gsi, flags) in [(0u8, 2u32, 0u16), (SCI_IRQ, SCI_IRQ as u32, 0x000D)] {
        b.extend_from_slice(&[2, 10, 0, irq]);
        b.extend_from_slice(&gsi.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
    }
    // Local APIC NMI: all processors (FFh), flags conforming, LINT1.
    b.extend_from_slice(&[4, 6, 0xFF, 0, 0, 1]);
    table(b"APIC", 1, &b)
}

/// All ACPI tables laid out from physical address `at` (16-byte aligned): the RSDP
/// first, then RSDT, FADT, FACS (64-byte aligned), MADT and DSDT.
pub(super) fn tables(at: u32) -> Vec<u8> {
    let align = |v: &mut Vec<u8>, a: usize| v.resize(v.len().next_multiple_of(a), 0);
    // Lay out with placeholder addresses first to learn the offsets; the sizes do not
    // depend on the addresses.
    let build = |addrs: &[u32; 5]| -> Vec<u8> {
        let [rsdt_a, fadt_a, facs_a, madt_a, dsdt_a] = *addrs;
        let mut out = vec![0u8; 20];
        out[0..8].copy_from_slice(b"RSD PTR ");
        out[9..15].copy_from_slice(OEM_ID);
        out[15] = 0; // revision 0: ACPI 1.0 RSDP with an RSDT
        out[16..20].copy_from_slice(&rsdt_a.to_le_bytes());
        out[8] = checksum(&out);
        align(&mut out, 16);
        let mut rsdt_body = Vec::new();
        rsdt_body.extend_from_slice(&fadt_a.to_le_bytes());
        rsdt_body.extend_from_slice(&madt_a.to_le_bytes());
        out.extend(table(b"RSDT", 1, &rsdt_body));
        align(&mut out, 16);
        out.extend(fadt(facs_a, dsdt_a));
        align(&mut out, 64);
        out.extend(facs());
        align(&mut out, 16);
        out.extend(madt());
        align(&mut out, 16);
        out.extend(table(b"DSDT", 1, &dsdt_aml()));
        out
    };
    let probe = build(&[0; 5]);
    let find = |sig: &[u8]| {
        (0..probe.len())
            .step_by(16)
            .find(|&o| probe[o..].starts_with(sig))
            .map_or(0, |o| at + o as u32)
    };
    let addrs = [
        find(b"RSDT"),
        find(b"FACP"),
        find(b"FACS"),
        find(b"APIC"),
        find(b"DSDT"),
    ];
    build(&addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(b: &[u8]) -> u8 {
        b.iter().fold(0u8, |a, &x| a.wrapping_add(x))
    }

    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }

    #[test]
    fn rsdp_and_every_table_check_out() {
        let base = 0xF_6400;
        let t = tables(base);
        assert_eq!(&t[0..8], b"RSD PTR ");
        assert_eq!(sum(&t[0..20]), 0, "RSDP checksum over its 20 bytes");
        assert_eq!(t[15], 0, "revision 0");
        let at = |a: u32| &t[(a - base) as usize..];
        let rsdt = at(u32_at(&t, 16));
        assert_eq!(&rsdt[0..4], b"RSDT");
        let len = u32_at(rsdt, 4) as usize;
        assert_eq!(len, 36 + 8);
        assert_eq!(sum(&rsdt[..len]), 0);
        let mut sigs = Vec::new();
        for i in 0..2 {
            let tab = at(u32_at(rsdt, 36 + 4 * i));
            let l = u32_at(tab, 4) as usize;
            assert_eq!(sum(&tab[..l]), 0, "{:?}", &tab[0..4]);
            sigs.push(tab[0..4].to_vec());
        }
        assert_eq!(sigs, [b"FACP".to_vec(), b"APIC".to_vec()]);
        let fadt = at(u32_at(rsdt, 36));
        assert_eq!(u32_at(fadt, 4), 244);
        let facs = u32_at(fadt, 36);
        assert_eq!(facs % 64, 0, "FACS 64-byte aligned");
        assert_eq!(&at(facs)[0..4], b"FACS");
        let dsdt = at(u32_at(fadt, 40));
        assert_eq!(&dsdt[0..4], b"DSDT");
        assert_eq!(sum(&dsdt[..u32_at(dsdt, 4) as usize]), 0);
        // PM blocks, SCI 9, the reset register: I/O CF9h, value 6.
        assert_eq!(u32_at(fadt, 56), 0x600);
        assert_eq!(u32_at(fadt, 64), 0x604);
        assert_eq!(u32_at(fadt, 76), 0x608);
        assert_eq!(fadt[46], 9);
        assert_eq!(&fadt[116..118], &[1, 8]);
        assert_eq!(&fadt[120..122], &[0xF9, 0x0C]);
        assert_eq!(fadt[128], 6);
        assert_ne!(u32_at(fadt, 112) & 1 << 10, 0, "RESET_REG_SUP");
    }

    #[test]
    fn s5_encodes_as_the_spec_says() {
        // Name(_S5, Package(){5, 5, 0, 0}) by ACPI chapter 20: NameOp 08h, the NameSeg
        // "_S5_" (5F 53 35 5F), PackageOp 12h, PkgLength 08h (itself 1 + NumElements 1
        // + BytePrefix 0Ah 05h twice + ZeroOp twice = 8), NumElements 04h, 0A 05, 0A
        // 05, 00, 00.
        let aml = dsdt_aml();
        assert_eq!(
            &aml[..14],
            &[0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00]
        );
        // EISAID("PNP0A03"): P = 10h, N = 0Eh, P = 10h -> 0 10000 01110 10000 = 41D0h,
        // then 0A03h; stored as bytes 41 D0 0A 03, the DWord 030AD041h.
        assert_eq!(aml::eisa_id("PNP0A03"), 0x030A_D041);
        // Then Scope(\\_SB_): ScopeOp 10h and a two-byte PkgLength (> 63 bytes).
        assert_eq!(aml[14], 0x10);
        assert_eq!(&aml[14..], &pci0_aml()[..]);
        // PkgLength: 63 bytes in one byte (3Fh); 64 needs two: lead 40h | (66 & 0Fh)
        // = 42h, then 66 >> 4 = 04h (66 = 64 + 2 PkgLength bytes).
        assert_eq!(aml::pkg_length(62), [0x3F]);
        assert_eq!(aml::pkg_length(64), [0x42, 0x04]);
    }

    #[test]
    fn pci0_crs_describes_the_host_bridge_windows() {
        let crs = pci0_crs();
        // WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, FFh, 0,
        // 100h) by ACPI §6.4.3.5.3: tag 88h, length 000Dh, type 2, flags 0Ch, type
        // flags 0, then granularity 0, min 0, max FFh, translation 0, length 100h.
        assert_eq!(
            &crs[..16],
            &[0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0, 0, 0, 0, 0xFF, 0, 0, 0, 0x00, 0x01]
        );
        // IO(Decode16, 0CF8h, 0CF8h, 1, 8) (§6.4.2.5).
        assert_eq!(
            &crs[16..24],
            &[0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08]
        );
        // The second WordIO: min 0D00h, max FFFFh, length F300h.
        assert_eq!(
            &crs[40 + 8..40 + 16],
            &[0x00, 0x0D, 0xFF, 0xFF, 0, 0, 0x00, 0xF3]
        );
        // DWordMemory for E0000000h–FEBFFFFFh: length 1EC00000h.
        let m = &crs[crs.len() - 2 - 26..crs.len() - 2];
        assert_eq!(&m[..6], &[0x87, 0x17, 0x00, 0x00, 0x0C, 0x03]);
        assert_eq!(u32_at(m, 10), 0xE000_0000);
        assert_eq!(u32_at(m, 14), 0xFEBF_FFFF);
        assert_eq!(u32_at(m, 22), 0x1EC0_0000);
        assert_eq!(&crs[crs.len() - 2..], &[0x79, 0x00], "end tag");
        // 16 + 8 + 2 × 16 + 2 × 26 + 2 bytes.
        assert_eq!(crs.len(), 110);
        // The DSDT carries it as Name(_CRS, Buffer(){…}): 08 "_CRS" 11 PkgLength ...
        let dsdt = dsdt_aml();
        assert!(dsdt
            .windows(6)
            .any(|w| w == [0x08, b'_', b'C', b'R', b'S', 0x11]));
    }
}
