//! QEMU's firmware configuration device (fw_cfg), through which QEMU hands SeaBIOS
//! what a real board's firmware would probe for: the RAM size and memory map, the CPU
//! count, option ROMs and, for direct kernel boot, the kernel. It follows QEMU's
//! `docs/specs/fw_cfg.rst` ("QEMU Firmware Configuration (fw_cfg) Device"), x86 I/O
//! port variant:
//!
//! - a 16-bit **selector** register at port 510h picks an item by key and rewinds its
//!   data offset to 0;
//! - the 8-bit **data** register at port 511h returns the selected item's bytes one by
//!   one, then 0 past its end (and for a key with no item); writes to it are ignored,
//!   as in QEMU since 2.4;
//! - item 0000h is the signature "QEMU", 0001h the feature bitmap (bit 0: this
//!   traditional interface; bit 1, the DMA interface at 514h, is not offered, so
//!   firmware falls back to port reads), 0019h the **file directory**: a big-endian
//!   u32 count, then per file a big-endian u32 size, u16 key, u16 reserved and a
//!   56-byte NUL-padded name. Files get keys from 0020h on, in name order (QEMU sorts
//!   them the same way).
//!
//! Integer items (the legacy keys below 0020h and the x86 ones from 8000h) are
//! little-endian, as QEMU stores them. The device holds configuration, not state: a
//! machine snapshot saves only the selector and offset, and the content is rebuilt from
//! the machine configuration.

use crate::device::{Ctx, Device};
use std::collections::BTreeMap;

/// The selector port; the data port is the next one.
pub const SELECTOR_PORT: u16 = 0x510;
pub const DATA_PORT: u16 = 0x511;

// Legacy item keys (fw_cfg.rst, "Selector Register" and QEMU's standard-headers
// fw_cfg.h).
pub const SIGNATURE: u16 = 0x00;
pub const ID: u16 = 0x01;
pub const UUID: u16 = 0x02;
pub const RAM_SIZE: u16 = 0x03;
pub const NOGRAPHIC: u16 = 0x04;
pub const NB_CPUS: u16 = 0x05;
pub const KERNEL_ADDR: u16 = 0x07;
pub const KERNEL_SIZE: u16 = 0x08;
pub const KERNEL_CMDLINE: u16 = 0x09;
pub const INITRD_ADDR: u16 = 0x0A;
pub const INITRD_SIZE: u16 = 0x0B;
pub const BOOT_DEVICE: u16 = 0x0C;
pub const NUMA: u16 = 0x0D;
pub const BOOT_MENU: u16 = 0x0E;
pub const MAX_CPUS: u16 = 0x0F;
pub const KERNEL_ENTRY: u16 = 0x10;
pub const KERNEL_DATA: u16 = 0x11;
pub const INITRD_DATA: u16 = 0x12;
pub const CMDLINE_ADDR: u16 = 0x13;
pub const CMDLINE_SIZE: u16 = 0x14;
pub const CMDLINE_DATA: u16 = 0x15;
pub const SETUP_ADDR: u16 = 0x16;
pub const SETUP_SIZE: u16 = 0x17;
pub const SETUP_DATA: u16 = 0x18;
pub const FILE_DIR: u16 = 0x19;
/// The first key given to a file.
pub const FILE_FIRST: u16 = 0x20;
// x86-specific items (QEMU hw/i386/fw_cfg.h).
pub const ACPI_TABLES: u16 = 0x8000;
pub const SMBIOS_ENTRIES: u16 = 0x8001;
pub const IRQ0_OVERRIDE: u16 = 0x8002;
pub const E820_TABLE: u16 = 0x8003;

/// Bytes of a file's name field in the directory (including the terminating NUL).
pub const FILE_NAME_LEN: usize = 56;
/// QEMU's limit on the number of files (FW_CFG_FILE_SLOTS_DFLT).
pub const MAX_FILES: usize = 0x20;

#[derive(Default)]
pub struct FwCfg {
    items: BTreeMap<u16, Vec<u8>>,
    /// Files by name (so in name order), with their contents.
    files: BTreeMap<String, Vec<u8>>,
    selector: u16,
    offset: usize,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    selector: u16,
    offset: usize,
}

impl FwCfg {
    /// The device with its signature, its feature bitmap and an empty file directory.
    pub fn new() -> FwCfg {
        let mut f = FwCfg::default();
        f.set(SIGNATURE, b"QEMU".to_vec());
        // Bit 0: the traditional (port) interface; no DMA.
        f.set_u32(ID, 1);
        f.rebuild_dir();
        f
    }

    /// Sets (or replaces) a legacy or x86 item. The directory key is reserved.
    pub fn set(&mut self, key: u16, data: Vec<u8>) {
        if key != FILE_DIR && !(FILE_FIRST..0x8000).contains(&key) {
            self.items.insert(key, data);
        }
    }

    pub fn set_u16(&mut self, key: u16, v: u16) {
        self.set(key, v.to_le_bytes().to_vec());
    }

    pub fn set_u32(&mut self, key: u16, v: u32) {
        self.set(key, v.to_le_bytes().to_vec());
    }

    pub fn set_u64(&mut self, key: u16, v: u64) {
        self.set(key, v.to_le_bytes().to_vec());
    }

    /// Adds or replaces a named file. Names longer than 55 bytes, or a file beyond
    /// QEMU's 32 slots, are refused with a message (a configuration error, not a guest
    /// one).
    pub fn add_file(&mut self, name: &str, data: Vec<u8>) -> Result<(), String> {
        if name.is_empty() || name.len() >= FILE_NAME_LEN || name.contains('\0') {
            return Err(format!(
                "fw_cfg file name {name:?} must be 1 to {} bytes",
                FILE_NAME_LEN - 1
            ));
        }
        if !self.files.contains_key(name) && self.files.len() >= MAX_FILES {
            return Err(format!("fw_cfg: no slot left for {name:?}"));
        }
        if u32::try_from(data.len()).is_err() {
            return Err(format!("fw_cfg file {name:?} is larger than 4 GB"));
        }
        self.files.insert(name.to_string(), data);
        self.rebuild_dir();
        Ok(())
    }

    /// The key a file is read through, if it exists.
    pub fn file_key(&self, name: &str) -> Option<u16> {
        self.files
            .keys()
            .position(|n| n == name)
            .map(|i| FILE_FIRST + i as u16)
    }

    fn rebuild_dir(&mut self) {
        let mut dir = (self.files.len() as u32).to_be_bytes().to_vec();
        for (i, (name, data)) in self.files.iter().enumerate() {
            dir.extend((data.len() as u32).to_be_bytes());
            dir.extend((FILE_FIRST + i as u16).to_be_bytes());
            dir.extend([0, 0]);
            let mut n = [0u8; FILE_NAME_LEN];
            n[..name.len()].copy_from_slice(name.as_bytes());
            dir.extend(n);
        }
        self.items.insert(FILE_DIR, dir);
    }

    /// The bytes of the item a key selects.
    fn item(&self, key: u16) -> &[u8] {
        if (FILE_FIRST..0x8000).contains(&key) {
            let i = usize::from(key - FILE_FIRST);
            return self.files.values().nth(i).map_or(&[], |v| v.as_slice());
        }
        self.items.get(&key).map_or(&[], |v| v.as_slice())
    }

    /// Writes the selector register: choose `key`, rewind to its first byte. Bit 14
    /// (the old write channel) is ignored, as in QEMU since 2.4.
    pub fn select(&mut self, key: u16) {
        self.selector = key & !0x4000;
        self.offset = 0;
    }

    /// Reads the data register: the next byte of the selected item, 0 past its end.
    pub fn read_data(&mut self) -> u8 {
        let b = self.item(self.selector).get(self.offset).copied();
        match b {
            Some(b) => {
                self.offset += 1;
                b
            }
            None => 0,
        }
    }
}

impl Device for FwCfg {
    fn name(&self) -> &'static str {
        "fw_cfg"
    }

    fn ports(&self) -> Vec<(u16, u16)> {
        vec![(SELECTOR_PORT, 2)]
    }

    fn io_read(&mut self, port: u16, size: u8, _ctx: &mut Ctx) -> u32 {
        if port != DATA_PORT {
            // The selector is write-only; QEMU's port block reads 0 there.
            return 0;
        }
        // A wider read is that many data-register reads (little-endian order).
        let mut v = 0;
        for i in 0..u32::from(size.clamp(1, 4)) {
            v |= u32::from(self.read_data()) << (8 * i);
        }
        v
    }

    fn io_write(&mut self, port: u16, _size: u8, value: u32, _ctx: &mut Ctx) {
        if port == SELECTOR_PORT {
            self.select(value as u16);
        } else {
            log::debug!(target: "fw_cfg", "write {value:#x} to the data port ignored");
        }
    }

    fn reset(&mut self) {
        self.selector = 0;
        self.offset = 0;
    }

    fn save_state(&self) -> Result<serde_json::Value, String> {
        serde_json::to_value(Saved {
            selector: self.selector,
            offset: self.offset,
        })
        .map_err(|e| format!("fw_cfg: {e}"))
    }

    fn load_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        let s: Saved = serde_json::from_value(state).map_err(|e| format!("fw_cfg: {e}"))?;
        self.selector = s.selector;
        self.offset = s.offset;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IrqLog;

    fn read(f: &mut FwCfg, key: u16, n: usize) -> Vec<u8> {
        let mut irq = IrqLog::default();
        let mut ctx = Ctx {
            now: 0,
            irq: &mut irq,
        };
        f.io_write(SELECTOR_PORT, 2, key as u32, &mut ctx);
        (0..n)
            .map(|_| f.io_read(DATA_PORT, 1, &mut ctx) as u8)
            .collect()
    }

    #[test]
    fn signature_and_feature_bitmap() {
        // fw_cfg.rst: key 0000h reads "QEMU"; key 0001h is a little-endian u32 whose
        // bit 0 says the traditional interface is there (bit 1 = DMA, not offered).
        let mut f = FwCfg::new();
        assert_eq!(read(&mut f, SIGNATURE, 4), b"QEMU");
        assert_eq!(read(&mut f, ID, 4), [1, 0, 0, 0]);
    }

    #[test]
    fn selecting_rewinds_and_reads_past_the_end_are_zero() {
        let mut f = FwCfg::new();
        f.set_u16(NB_CPUS, 0x0102);
        // Two bytes, then zeros; a reselect starts over.
        assert_eq!(read(&mut f, NB_CPUS, 4), [0x02, 0x01, 0, 0]);
        assert_eq!(read(&mut f, NB_CPUS, 1), [0x02]);
        // A key with no item reads zeros, and the old write-channel bit is ignored.
        assert_eq!(read(&mut f, 0x7FFF, 3), [0, 0, 0]);
        assert_eq!(read(&mut f, 0x4000 | SIGNATURE, 4), b"QEMU");
        // Writes to the data port change nothing.
        let mut irq = IrqLog::default();
        let mut ctx = Ctx {
            now: 0,
            irq: &mut irq,
        };
        f.io_write(SELECTOR_PORT, 2, SIGNATURE as u32, &mut ctx);
        f.io_write(DATA_PORT, 1, b'X' as u32, &mut ctx);
        assert_eq!(f.io_read(DATA_PORT, 1, &mut ctx), b'Q' as u32);
        // A 16-bit read is two data reads, the first byte low.
        assert_eq!(
            f.io_read(DATA_PORT, 2, &mut ctx),
            u32::from_le_bytes([b'E', b'M', 0, 0])
        );
    }

    #[test]
    fn the_file_directory_follows_the_spec_layout() {
        let mut f = FwCfg::new();
        assert_eq!(read(&mut f, FILE_DIR, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
        f.add_file("etc/e820", vec![7; 20]).unwrap();
        f.add_file("bootorder", b"/fd\n\0".to_vec()).unwrap();
        // Name order: "bootorder" (key 20h) before "etc/e820" (21h).
        let dir = read(&mut f, FILE_DIR, 4 + 2 * 64);
        assert_eq!(dir[0..4], [0, 0, 0, 2], "big-endian count");
        // struct FWCfgFile { be32 size; be16 select; be16 reserved; char name[56]; }
        assert_eq!(dir[4..8], [0, 0, 0, 5]);
        assert_eq!(dir[8..10], [0x00, 0x20]);
        assert_eq!(dir[10..12], [0, 0]);
        assert_eq!(&dir[12..21], b"bootorder");
        assert!(
            dir[21..68].iter().all(|&b| b == 0),
            "NUL padded to 56 bytes"
        );
        assert_eq!(dir[68..72], [0, 0, 0, 20]);
        assert_eq!(dir[72..74], [0x00, 0x21]);
        assert_eq!(&dir[76..84], b"etc/e820");
        assert_eq!(f.file_key("etc/e820"), Some(0x21));
        assert_eq!(read(&mut f, 0x20, 6), b"/fd\n\0\0");
        assert_eq!(read(&mut f, 0x21, 2), [7, 7]);
        // Names must fit the 56-byte field with its NUL.
        assert!(f.add_file(&"x".repeat(56), vec![]).is_err());
        assert!(f.add_file(&"x".repeat(55), vec![]).is_ok());
        // The directory key cannot be overwritten as an item.
        f.set(FILE_DIR, vec![1, 2, 3]);
        assert_eq!(read(&mut f, FILE_DIR, 4), [0, 0, 0, 3]);
    }
}
