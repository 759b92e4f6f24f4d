//! The PCI platform as a guest sees it after the built-in POST: configuration mechanism
//! #1, the i440FX's PAM shadowing, the PIIX3 IDE's bus master DMA through its ports,
//! and the PCI BIOS (INT 1Ah AX=B1xxh, the BIOS32 directory, `$PIR`). Expected values
//! come from the PCI 2.1 and PCI BIOS 2.1 specifications, the 82441FX and 82371SB
//! datasheets, SFF-8038i, and the assignments SeaBIOS makes on QEMU's i440FX machine
//! (I/O BARs from C000h, PIRQA–D to IRQ 10, 10, 11, 11), which the built-in BIOS copies.

use cpu::{Bus, CS, DS, ES, SS};
use machine::{Config, Exit, MemDisk, Pc};

/// A PC with `disk` as primary master after its POST (no boot sector: it stops at
/// "No bootable device").
fn pc_with(disk: Option<Vec<u8>>) -> Pc {
    let mut pc = Pc::new(Config {
        memory_mb: 4,
        no_reboot: true,
        ..Config::default()
    })
    .unwrap();
    if let Some(img) = disk {
        pc.attach_hard_disk(0, Box::new(MemDisk::new(img))).unwrap();
    }
    assert_eq!(pc.run(1_000_000), Some(Exit::NoBootDevice));
    pc
}

/// A configuration read through 0CF8h/0CFCh: bus 0, device `dev`, function `func`.
fn cfg_read(pc: &mut Pc, dev: u32, func: u32, reg: u32, size: u8) -> u32 {
    pc.bus
        .io_write(0xCF8, 4, 0x8000_0000 | dev << 11 | func << 8 | (reg & 0xFC));
    pc.bus.io_read(0xCFC + (reg & 3) as u16, size)
}

fn cfg_write(pc: &mut Pc, dev: u32, func: u32, reg: u32, size: u8, v: u32) {
    pc.bus
        .io_write(0xCF8, 4, 0x8000_0000 | dev << 11 | func << 8 | (reg & 0xFC));
    pc.bus.io_write(0xCFC + (reg & 3) as u16, size, v);
}

#[test]
fn post_configures_the_i440fx_and_piix3() {
    let mut pc = pc_with(None);
    // Vendor/device dwords (device << 16 | vendor) and class codes (dword 08h >> 8).
    assert_eq!(cfg_read(&mut pc, 0, 0, 0, 4), 0x1237_8086);
    assert_eq!(cfg_read(&mut pc, 1, 0, 0, 4), 0x7000_8086);
    assert_eq!(cfg_read(&mut pc, 1, 1, 0, 4), 0x7010_8086);
    assert_eq!(
        cfg_read(&mut pc, 0, 0, 8, 4) >> 8,
        0x06_00_00,
        "host bridge"
    );
    assert_eq!(cfg_read(&mut pc, 1, 0, 8, 4) >> 8, 0x06_01_00, "ISA bridge");
    assert_eq!(
        cfg_read(&mut pc, 1, 1, 8, 4) >> 8,
        0x01_01_80,
        "IDE, bus master"
    );
    // Header type 80h: the PIIX3 is a multifunction device.
    assert_eq!(cfg_read(&mut pc, 1, 0, 0x0E, 1), 0x80);
    // Device 2: QEMU's std-vga (docs/specs/standard-vga.rst: 1234:1111, class 0300h),
    // its framebuffer BAR (prefetchable, bit 3) at the first memory address the POST
    // hands out, E0000000h, 16 MB aligned, and the 4 KB register BAR after it.
    assert_eq!(cfg_read(&mut pc, 2, 0, 0, 4), 0x1111_1234);
    assert_eq!(cfg_read(&mut pc, 2, 0, 8, 4) >> 8, 0x03_00_00, "VGA");
    assert_eq!(cfg_read(&mut pc, 2, 0, 0x10, 4), 0xE000_0008);
    assert_eq!(cfg_read(&mut pc, 2, 0, 0x18, 4), 0xE100_0000);
    assert_eq!(
        cfg_read(&mut pc, 2, 0, 0x04, 2) & 2,
        2,
        "memory decoding on"
    );
    // No device 3, no function 2 of device 1 (PCI 2.1 §6.1: all ones).
    assert_eq!(cfg_read(&mut pc, 3, 0, 0, 4), 0xFFFF_FFFF);
    assert_eq!(cfg_read(&mut pc, 1, 2, 0, 2), 0xFFFF);
    // BMIBA at C000h (I/O: bit 0 set), I/O and bus master enabled, both channels'
    // IDETIM decode enable set.
    assert_eq!(cfg_read(&mut pc, 1, 1, 0x20, 4), 0xC001);
    assert_eq!(cfg_read(&mut pc, 1, 1, 0x04, 2) & 5, 5);
    assert_eq!(cfg_read(&mut pc, 1, 1, 0x40, 2), 0x8000);
    assert_eq!(cfg_read(&mut pc, 1, 1, 0x42, 2), 0x8000);
    // PIRQRC A–D = 10, 10, 11, 11 and those IRQs level-triggered in the ELCR (4D1h bits
    // 2 and 3 are IRQ 10 and 11).
    assert_eq!(cfg_read(&mut pc, 1, 0, 0x60, 4), 0x0B0B_0A0A);
    assert_eq!(pc.bus.io_read(0x4D1, 1), 0x0C);
    // Byte accesses to 0CF8h are not CONFIG_ADDRESS: it keeps its value.
    pc.bus.io_write(0xCF8, 4, 0x8000_0800);
    pc.bus.io_write(0xCF8, 1, 0);
    assert_eq!(pc.bus.io_read(0xCF8, 4), 0x8000_0800);
}

#[test]
fn pam_registers_shadow_the_bios_area() {
    let mut pc = pc_with(None);
    let rom = pc.bus.read8(0xF_0000);
    let rom_c = pc.bus.read8(0xC_0000);
    assert_eq!(rom_c, 0xFF, "no option ROM: an empty bus");
    // PAM0 bits 5:4 = 10b: write-only DRAM (82441FX datasheet, PAM registers). The
    // write reaches the shadow RAM; reads still come from the ROM.
    cfg_write(&mut pc, 0, 0, 0x59, 1, 0x20);
    pc.bus.write8(0xF_0000, rom ^ 0x5A);
    assert_eq!(pc.bus.read8(0xF_0000), rom);
    // 01b: read-only DRAM: the shadow copy is read, writes are dropped.
    cfg_write(&mut pc, 0, 0, 0x59, 1, 0x10);
    assert_eq!(pc.bus.read8(0xF_0000), rom ^ 0x5A);
    pc.bus.write8(0xF_0000, 0);
    assert_eq!(pc.bus.read8(0xF_0000), rom ^ 0x5A);
    // PAM1 low nibble 11b: C0000h–C3FFFh is plain RAM; C4000h is still the empty bus.
    cfg_write(&mut pc, 0, 0, 0x5A, 1, 0x03);
    pc.bus.write8(0xC_3FFF, 0x42);
    assert_eq!(pc.bus.read8(0xC_3FFF), 0x42);
    pc.bus.write8(0xC_4000, 0x42);
    assert_eq!(pc.bus.read8(0xC_4000), 0xFF);
    // Back to 00b: the ROM again, and the alias below 4 GB never changed.
    cfg_write(&mut pc, 0, 0, 0x59, 1, 0x00);
    assert_eq!(pc.bus.read8(0xF_0000), rom);
    assert_eq!(pc.bus.read8(0xFFFF_0000), rom);
}

#[test]
fn the_bus_master_reads_and_writes_a_disk_through_prd_tables() {
    let img: Vec<u8> = (0..512 * 32).map(|i| (i * 13 / 7) as u8).collect();
    let mut pc = pc_with(Some(img.clone()));
    // The BIOS marks drive 0 of the primary channel DMA capable (status bit 5).
    assert_eq!(pc.bus.io_read(0xC002, 1) & 0x60, 0x20);
    // PRD table at 8000h: 600 bytes at 10000h, then 424 bytes at 20000h (EOT).
    pc.bus.write32(0x8000, 0x1_0000);
    pc.bus.write32(0x8004, 600);
    pc.bus.write32(0x8008, 0x2_0000);
    pc.bus.write32(0x800C, 0x8000_0000 | 424);
    pc.bus.io_write(0xC004, 4, 0x8000);
    // READ DMA (C8h), LBA 4, two sectors (ATA-6 8.23).
    for (port, v) in [
        (0x1F6, 0xE0),
        (0x1F2, 2),
        (0x1F3, 4),
        (0x1F4, 0),
        (0x1F5, 0),
    ] {
        pc.bus.io_write(port, 1, v);
    }
    pc.bus.io_write(0x1F7, 1, 0xC8);
    assert_eq!(
        pc.bus.io_read(0x3F6, 1) & 0x08,
        0x08,
        "DRQ: waiting for the DMA"
    );
    // Start, direction "write to memory" (SFF-8038i command bits 0 and 3).
    pc.bus.io_write(0xC000, 1, 0x09);
    let mut got = Vec::new();
    for a in 0x1_0000..0x1_0000 + 600 {
        got.push(pc.bus.read8(a));
    }
    for a in 0x2_0000..0x2_0000 + 424 {
        got.push(pc.bus.read8(a));
    }
    assert_eq!(got, img[512 * 4..512 * 6]);
    // Interrupt set, active clear, no error: the PRDs covered the transfer exactly.
    assert_eq!(pc.bus.io_read(0xC002, 1) & 7, 0x04);
    assert_eq!(pc.bus.io_read(0x3F6, 1) & 0x89, 0x00);
    pc.bus.io_write(0xC000, 1, 0x00);
    pc.bus.io_write(0xC002, 1, 0x04);
    assert_eq!(pc.bus.io_read(0xC002, 1) & 7, 0);

    // WRITE DMA (CAh) of one sector from 30000h to LBA 9.
    for i in 0..512u32 {
        pc.bus.write8(0x3_0000 + i, (i * 3) as u8);
    }
    pc.bus.write32(0x8000, 0x3_0000);
    pc.bus.write32(0x8004, 0x8000_0000 | 512);
    for (port, v) in [(0x1F2, 1), (0x1F3, 9)] {
        pc.bus.io_write(port, 1, v);
    }
    pc.bus.io_write(0xC000, 1, 0x01);
    pc.bus.io_write(0x1F7, 1, 0xCA);
    assert_eq!(pc.bus.io_read(0xC002, 1) & 7, 0x04);
    // Read it back through PIO (READ SECTORS).
    pc.bus.io_write(0x1F7, 1, 0x20);
    let mut back = Vec::new();
    for _ in 0..256 {
        back.extend((pc.bus.io_read(0x1F0, 2) as u16).to_le_bytes());
    }
    let want: Vec<u8> = (0..512u32).map(|i| (i * 3) as u8).collect();
    assert_eq!(back, want);
}

#[test]
fn bus_mastering_needs_the_command_register_enable() {
    let img = vec![0x77u8; 512 * 4];
    let mut pc = pc_with(Some(img));
    let cmd = cfg_read(&mut pc, 1, 1, 0x04, 2);
    cfg_write(&mut pc, 1, 1, 0x04, 2, cmd & !4);
    pc.bus.write32(0x8000, 0x1_0000);
    pc.bus.write32(0x8004, 0x8000_0000 | 512);
    pc.bus.io_write(0xC004, 4, 0x8000);
    for (port, v) in [(0x1F6, 0xE0), (0x1F2, 1), (0x1F3, 0)] {
        pc.bus.io_write(port, 1, v);
    }
    pc.bus.io_write(0x1F7, 1, 0xC8);
    pc.bus.io_write(0xC000, 1, 0x09);
    assert_eq!(
        pc.bus.read8(0x1_0000),
        0,
        "no DMA without bus master enable"
    );
    // Enabling it later does not start anything by itself; restarting the engine does.
    cfg_write(&mut pc, 1, 1, 0x04, 2, cmd);
    pc.bus.io_write(0xC000, 1, 0x08);
    pc.bus.io_write(0xC000, 1, 0x09);
    assert_eq!(pc.bus.read8(0x1_0000), 0x77);
    // With I/O decoding off the block is gone (all ones).
    cfg_write(&mut pc, 1, 1, 0x04, 2, cmd & !1);
    assert_eq!(pc.bus.io_read(0xC002, 1), 0xFF);
}

/// Runs `code` at 0000:1000h in real mode until it halts with interrupts off.
fn run_real(pc: &mut Pc, code: &[u8]) {
    for (i, b) in code.iter().enumerate() {
        pc.bus.write8(0x1000 + i as u32, *b);
    }
    pc.cpu.flush_cache();
    for s in [CS, DS, ES, SS] {
        pc.cpu.seg[s].load_real(0);
    }
    pc.cpu.eip = 0x1000;
    pc.cpu.regs[4] = 0x7000;
    pc.cpu.eflags = 0x202;
    pc.cpu.halted = false;
    pc.bus.exit = None;
    assert_eq!(pc.run(100_000), Some(Exit::Halted));
}

#[test]
fn int_1ah_pci_bios_functions() {
    let mut pc = pc_with(None);
    #[rustfmt::skip]
    let code: &[u8] = &[
        // B101h: installation check.
        0xB8, 0x01, 0xB1, 0xCD, 0x1A,               // mov ax,B101h; int 1Ah
        0xA3, 0x00, 0x06,                           // mov [600h],ax
        0x89, 0x1E, 0x02, 0x06,                     // mov [602h],bx
        0x89, 0x0E, 0x04, 0x06,                     // mov [604h],cx
        0x66, 0x89, 0x16, 0x06, 0x06,               // mov [606h],edx
        // B102h: find 8086:7010, index 0.
        0xB8, 0x02, 0xB1, 0xB9, 0x10, 0x70,         // mov ax,B102h; mov cx,7010h
        0xBA, 0x86, 0x80, 0x31, 0xF6, 0xCD, 0x1A,   // mov dx,8086h; xor si,si; int 1Ah
        0xA3, 0x0A, 0x06, 0x89, 0x1E, 0x0C, 0x06,   // mov [60Ah],ax; mov [60Ch],bx
        // B10Ah: read dword 20h (BMIBA) of that function.
        0xB8, 0x0A, 0xB1, 0xBF, 0x20, 0x00, 0xCD, 0x1A, // mov ax,B10Ah; mov di,20h; int 1Ah
        0x66, 0x89, 0x0E, 0x10, 0x06,               // mov [610h],ecx
        // B102h: 8086:1234 does not exist: AH = 86h and CF set.
        0xB8, 0x02, 0xB1, 0xB9, 0x34, 0x12, 0xBA, 0x86, 0x80, 0x31, 0xF6, 0xCD, 0x1A,
        0xA3, 0x14, 0x06, 0x9C, 0x8F, 0x06, 0x16, 0x06, // mov [614h],ax; pushf; pop [616h]
        // B103h: find class 060100h (ISA bridge).
        0xB8, 0x03, 0xB1, 0x66, 0xB9, 0x00, 0x01, 0x06, 0x00, // mov ax,B103h; mov ecx,060100h
        0x31, 0xF6, 0xCD, 0x1A, 0x89, 0x1E, 0x18, 0x06, // xor si,si; int 1Ah; mov [618h],bx
        // B109h with an odd register: BAD_REGISTER_NUMBER (87h).
        0xB8, 0x09, 0xB1, 0xBB, 0x00, 0x00, 0xBF, 0x01, 0x00, 0xCD, 0x1A,
        0xA3, 0x1A, 0x06,                           // mov [61Ah],ax
        0xFA, 0xF4,                                 // cli; hlt
    ];
    run_real(&mut pc, code);
    // AH = 0, AL = 01h (mechanism #1), BX = 0210h (version 2.10), CL = 0 (last bus),
    // EDX = "PCI " (20494350h).
    assert_eq!(pc.bus.read16(0x600), 0x0001);
    assert_eq!(pc.bus.read16(0x602), 0x0210);
    assert_eq!(pc.bus.read16(0x604) & 0xFF, 0);
    assert_eq!(pc.bus.read32(0x606), 0x2049_4350);
    // Found at bus 0, devfn 09h (device 1, function 1).
    assert_eq!(pc.bus.read16(0x60A) >> 8, 0x00);
    assert_eq!(pc.bus.read16(0x60C), 0x0009);
    assert_eq!(pc.bus.read32(0x610), 0xC001);
    assert_eq!(pc.bus.read16(0x614) >> 8, 0x86);
    assert_eq!(pc.bus.read16(0x616) & 1, 1, "CF");
    assert_eq!(pc.bus.read16(0x618), 0x0008);
    assert_eq!(pc.bus.read16(0x61A) >> 8, 0x87);
}

/// Whether `len` bytes at `a` sum to zero (mod 256).
fn sums_to_zero(pc: &mut Pc, a: u32, len: u32) -> bool {
    (a..a + len).fold(0u8, |s, x| s.wrapping_add(pc.bus.read8(x))) == 0
}

#[test]
fn bios32_directory_and_pir_table_are_where_the_scans_look() {
    let mut pc = pc_with(None);
    // PCI BIOS 2.1 §2.3.1: "_32_" on a 16-byte boundary in E0000h–FFFFFh, length in
    // paragraphs at +9, the whole structure summing to zero, the entry below 1 MB.
    let dir = (0xE_0000..0x10_0000)
        .step_by(16)
        .find(|&a| pc.bus.read32(a) == u32::from_le_bytes(*b"_32_"))
        .expect("BIOS32 service directory");
    let len = pc.bus.read8(dir + 9) as u32 * 16;
    assert!(sums_to_zero(&mut pc, dir, len));
    let entry = pc.bus.read32(dir + 4);
    assert!((0xE_0000..0x10_0000).contains(&entry));
    // $PIR (PCI IRQ Routing Table Specification 1.0): 16-byte aligned in F0000h–FFFFFh,
    // version 1.0, the router at devfn 08h compatible with 8086:7000, checksum zero.
    let pir = (0xF_0000..0x10_0000)
        .step_by(16)
        .find(|&a| pc.bus.read32(a) == u32::from_le_bytes(*b"$PIR"))
        .expect("$PIR table");
    let size = pc.bus.read16(pir + 6) as u32;
    assert_eq!(pc.bus.read16(pir + 4), 0x0100);
    assert_eq!((size - 32) % 16, 0);
    assert_eq!(pc.bus.read8(pir + 9), 0x08);
    assert_eq!(pc.bus.read32(pir + 12), 0x7000_8086);
    assert!(sums_to_zero(&mut pc, pir, size));
}

#[test]
fn random_configuration_bus_master_and_dma_traffic_never_panics() {
    // xorshift64*: deterministic garbage.
    let mut s = 0x1234_5678_9ABC_DEF1u64;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let img: Vec<u8> = (0..512 * 64).map(|i| i as u8).collect();
    let mut pc = pc_with(Some(img));
    // Random PRD tables and data everywhere in the first 4 MB.
    for a in (0x500u32..0x40_0000).step_by(4) {
        pc.bus.write32(a, next() as u32);
    }
    for _ in 0..20_000 {
        let r = next();
        let size = [1u8, 2, 4][(r % 3) as usize];
        let v = (r >> 8) as u32;
        match (r >> 40) % 8 {
            // Configuration cycles to any function and register (BARs move, PAM
            // changes, the bus master is switched on and off).
            0 | 1 => {
                let addr = 0x8000_0000 | ((r >> 16) as u32 & 0x0000_FFFC);
                pc.bus.io_write(0xCF8, 4, addr);
                let port = 0xCFC + ((r >> 48) & 3) as u16;
                if r & 1 << 63 != 0 {
                    pc.bus.io_write(port, size, v);
                } else {
                    pc.bus.io_read(port, size);
                }
            }
            // The bus master block wherever BMIBA put it (or nowhere).
            2 | 3 => {
                let base = cfg_read(&mut pc, 1, 1, 0x20, 4) as u16 & 0xFFF0;
                let port = base.wrapping_add(((r >> 48) & 15) as u16);
                pc.bus.io_write(port, size, v);
                pc.bus.io_read(port, size);
            }
            // IDE registers, DMA commands included, with random addresses and counts.
            4..=6 => {
                let off = ((r >> 48) % 8) as u16;
                let port = [0x1F0, 0x170][(r >> 56) as usize & 1] + off;
                let val = if off == 7 {
                    [0xC8, 0xCA, 0x25, 0x35, 0x20, 0x30, 0xEF, 0xEC][(v % 8) as usize]
                } else {
                    v & 0xFF
                };
                pc.bus.io_write(port, 1, val);
            }
            _ => {
                pc.bus.io_read(0x1F0, 2);
                pc.bus.io_read(0x3F6, 1);
            }
        }
    }
    // Still a working machine: the host bridge answers.
    assert_eq!(cfg_read(&mut pc, 0, 0, 0, 4), 0x1237_8086);
}

#[test]
fn bios32_and_the_32_bit_pci_bios_answer_a_flat_protected_mode_caller() {
    let mut pc = pc_with(None);
    // GDT at 500h: null, 08h flat 32-bit code, 10h flat data (as Linux's __KERNEL_CS/DS).
    let gdt: [u64; 3] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF];
    for (i, d) in gdt.iter().enumerate() {
        pc.bus.write32(0x500 + 8 * i as u32, *d as u32);
        pc.bus.write32(0x504 + 8 * i as u32, (*d >> 32) as u32);
    }
    pc.cpu.gdtr = cpu::TableReg {
        base: 0x500,
        limit: 23,
    };
    let dir = (0xE_0000..0x10_0000)
        .step_by(16)
        .find(|&a| pc.bus.read32(a) == u32::from_le_bytes(*b"_32_"))
        .unwrap();
    // Far pointer (offset, selector) to the directory's entry at 2000h.
    let entry = pc.bus.read32(dir + 4);
    pc.bus.write32(0x2000, entry);
    pc.bus.write16(0x2004, 0x08);
    #[rustfmt::skip]
    let code: &[u8] = &[
        0xB8, b'$', b'P', b'C', b'I',      // mov eax,"$PCI"
        0x31, 0xDB,                        // xor ebx,ebx
        0xFF, 0x1D, 0x00, 0x20, 0x00, 0x00, // call far [2000h]
        0xA3, 0x00, 0x30, 0x00, 0x00,      // mov [3000h],eax
        0x89, 0x1D, 0x04, 0x30, 0x00, 0x00, // mov [3004h],ebx
        0x89, 0x0D, 0x08, 0x30, 0x00, 0x00, // mov [3008h],ecx
        0x89, 0x15, 0x0C, 0x30, 0x00, 0x00, // mov [300Ch],edx
        0x01, 0xD3,                        // add ebx,edx
        0x89, 0x1D, 0x10, 0x20, 0x00, 0x00, // mov [2010h],ebx
        0x66, 0xC7, 0x05, 0x14, 0x20, 0x00, 0x00, 0x08, 0x00, // mov word [2014h],08h
        // $PCI: read dword 0 of 00:01.1 (B10Ah, BX = devfn 09h, DI = 0).
        0xB8, 0x0A, 0xB1, 0x00, 0x00,      // mov eax,B10Ah
        0xBB, 0x09, 0x00, 0x00, 0x00,      // mov ebx,9
        0x31, 0xFF,                        // xor edi,edi
        0xFF, 0x1D, 0x10, 0x20, 0x00, 0x00, // call far [2010h]
        0x9C, 0x8F, 0x05, 0x18, 0x30, 0x00, 0x00, // pushfd; pop dword [3018h]
        0x89, 0x0D, 0x10, 0x30, 0x00, 0x00, // mov [3010h],ecx
        0xA3, 0x14, 0x30, 0x00, 0x00,      // mov [3014h],eax
        // An unknown service: AL = 80h.
        0xB8, b'N', b'O', b'N', b'E', 0x31, 0xDB, 0xFF, 0x1D, 0x00, 0x20, 0x00, 0x00,
        0xA3, 0x1C, 0x30, 0x00, 0x00,      // mov [301Ch],eax
        0xFA, 0xF4,                        // cli; hlt
    ];
    for (i, b) in code.iter().enumerate() {
        pc.bus.write8(0x1000 + i as u32, *b);
    }
    pc.cpu.flush_cache();
    pc.cpu.enter_flat_protected_mode(0x08, 0x10, 0);
    pc.cpu.eip = 0x1000;
    pc.cpu.regs[4] = 0x7000;
    pc.cpu.eflags = 0x002;
    pc.cpu.halted = false;
    pc.bus.exit = None;
    assert_eq!(pc.run(10_000), Some(Exit::Halted));
    // PCI BIOS 2.1 §2.3.2: AL = 0 found, EBX = base, ECX = length, EDX = entry offset,
    // and the entry (base + offset) below 1 MB.
    assert_eq!(pc.bus.read32(0x3000) & 0xFF, 0);
    let (base, len, off) = (
        pc.bus.read32(0x3004),
        pc.bus.read32(0x3008),
        pc.bus.read32(0x300C),
    );
    assert!(
        off < len && base + off < 0x10_0000,
        "{base:#x} {len:#x} {off:#x}"
    );
    // B10Ah through $PCI: 7010h:8086h, AH = 0, CF clear.
    assert_eq!(pc.bus.read32(0x3010), 0x7010_8086);
    assert_eq!(pc.bus.read32(0x3014) & 0xFF00, 0);
    assert_eq!(pc.bus.read32(0x3018) & 1, 0, "CF");
    assert_eq!(pc.bus.read32(0x301C) & 0xFF, 0x80);
}
