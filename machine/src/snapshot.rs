//! Machine state files ("snapshots"): the CPU, RAM, every device, virtual time and the
//! built-in BIOS's host-side state in one file, so a run can stop and resume in another
//! process exactly where it was.
//!
//! File layout (all integers little-endian):
//!
//! | bytes | contents                                                            |
//! |-------|---------------------------------------------------------------------|
//! | 8     | magic `X86STATE`                                                    |
//! | 4     | format version ([`FORMAT_VERSION`])                                 |
//! | 8     | length of the compressed body                                       |
//! | 4     | CRC-32 (IEEE) of the compressed body                                |
//! | n     | zlib-compressed body                                                |
//!
//! The body is a JSON document's length (8 bytes) and text — emulator version, machine
//! configuration (memory size, CPU model, device set, each disk's identity) and the
//! state of the CPU and each device — followed by RAM as (4-byte page number, 4096
//! bytes) records for every page that is not all zeros.
//!
//! Disks are not copied. Each disk's identity is its size and a CRC-32 of the image
//! file's content (under `--snapshot`, the image underneath the overlay); loading
//! refuses a state whose disks differ. Hashing reads the whole image once per save and
//! load (a gigabyte takes about a second), which is the price of never resuming on the
//! wrong disk. The sectors a guest wrote to a `--snapshot` overlay are in the document
//! (`overlays`), and are written to the new run's overlay on load; such a state is
//! refused without `--snapshot`, which would write them into the image itself.
//!
//! The TLB, the CPU's block cache and undrained output buffers are not saved.

use crate::{bus::PcBus, BlockDevice, Pc};
use cpu::state::CpuState;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};

pub const MAGIC: &[u8; 8] = b"X86STATE";
/// Bumped whenever the layout or any saved struct changes.
pub const FORMAT_VERSION: u32 = 1;
const PAGE: usize = 4096;
const HEADER: usize = 24;

/// What a state must match to be loaded into a machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineConfig {
    pub memory_mb: u32,
    pub cpu: String,
    pub bios_len: usize,
    /// The device set: the built-in chips and the device table, by name.
    pub devices: Vec<String>,
    /// (position, sectors, CRC-32 of the content) of every attached disk.
    pub disks: Vec<(String, u64, u32)>,
}

/// Where a 64-bit FNV-1a hash starts (a fixed, documented hash: the same on every host
/// and run, unlike std's randomly seeded one).
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

impl PcBus {
    /// The bus's own latches and every chip's state, by name.
    fn save_devices(&self) -> Result<BTreeMap<String, Value>, String> {
        let mut m = BTreeMap::new();
        let v = |r: Result<Value, serde_json::Error>| r.map_err(|e| e.to_string());
        m.insert(
            "bus".into(),
            json!({
                "a20": self.a20,
                "port92": self.port92,
                "reset_requested": self.reset_requested,
                "ferr": self.ferr,
                "trap": self.trap,
                "bios_call": self.bios_call,
                "bmide_base": self.bmide_base,
                "reset_control": self.reset_control,
                "ips": self.clock.ips,
                "idle": self.clock.idle,
                "now": self.now,
                "shutdown_match": self.shutdown_match,
                "last_post": self.last_post,
            }),
        );
        m.insert("pic".into(), v(serde_json::to_value(&self.pic))?);
        m.insert("i8042".into(), v(serde_json::to_value(&self.kbd))?);
        m.insert("ide0".into(), v(serde_json::to_value(&self.ide[0]))?);
        m.insert("ide1".into(), v(serde_json::to_value(&self.ide[1]))?);
        m.insert("com1".into(), v(serde_json::to_value(&self.com[0]))?);
        m.insert("com2".into(), v(serde_json::to_value(&self.com[1]))?);
        m.insert("vga".into(), v(serde_json::to_value(&self.vga))?);
        m.insert("fdc".into(), v(serde_json::to_value(&self.fdc))?);
        m.insert("pci".into(), v(serde_json::to_value(&self.pci))?);
        m.insert("bmide".into(), v(serde_json::to_value(&self.bmide))?);
        m.insert("memmap".into(), v(serde_json::to_value(&self.memmap))?);
        for d in &self.table {
            m.insert(format!("table:{}", d.name()), d.save_state()?);
        }
        Ok(m)
    }

    fn device_names(&self) -> Vec<String> {
        let mut names: Vec<String> = [
            "pic", "i8042", "ide0", "ide1", "com1", "com2", "vga", "fdc", "pci", "bmide",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        names.extend(self.table.iter().map(|d| d.name().to_string()));
        names
    }

    fn load_devices(&mut self, mut m: BTreeMap<String, Value>) -> Result<(), String> {
        fn take<T: serde::de::DeserializeOwned>(
            m: &mut BTreeMap<String, Value>,
            k: &str,
        ) -> Result<T, String> {
            let v = m.remove(k).ok_or_else(|| format!("no {k} state"))?;
            serde_json::from_value(v).map_err(|e| format!("{k} state: {e}"))
        }
        #[derive(Deserialize)]
        struct Misc {
            a20: bool,
            port92: u8,
            reset_requested: bool,
            ferr: bool,
            trap: bool,
            bios_call: bool,
            bmide_base: Option<u16>,
            reset_control: u8,
            ips: u64,
            idle: devices::Nanos,
            now: devices::Nanos,
            shutdown_match: usize,
            last_post: Option<u8>,
        }
        // Everything is decoded before anything changes.
        let misc: Misc = take(&mut m, "bus")?;
        let pic = take(&mut m, "pic")?;
        let kbd = take(&mut m, "i8042")?;
        let ide0 = take(&mut m, "ide0")?;
        let ide1 = take(&mut m, "ide1")?;
        let com1 = take(&mut m, "com1")?;
        let com2 = take(&mut m, "com2")?;
        let vga = take(&mut m, "vga")?;
        let fdc = take(&mut m, "fdc")?;
        let pci = take(&mut m, "pci")?;
        let bmide = take(&mut m, "bmide")?;
        let memmap = take(&mut m, "memmap")?;
        self.ide[0].restore(ide0)?;
        self.ide[1].restore(ide1)?;
        self.fdc.restore(fdc)?;
        self.pci.restore(pci)?;
        for d in &mut self.table {
            let k = format!("table:{}", d.name());
            let v = m.remove(&k).ok_or_else(|| format!("no {k} state"))?;
            d.load_state(v)?;
        }
        self.pic = pic;
        self.kbd = kbd;
        self.com = [com1, com2];
        self.vga = vga;
        self.bmide = bmide;
        self.memmap = memmap;
        self.a20 = misc.a20;
        self.port92 = misc.port92;
        self.reset_requested = misc.reset_requested;
        self.ferr = misc.ferr;
        self.trap = misc.trap;
        self.bios_call = misc.bios_call;
        self.bmide_base = misc.bmide_base;
        self.reset_control = misc.reset_control;
        self.clock.ips = misc.ips.max(1);
        self.clock.idle = misc.idle;
        self.now = misc.now;
        self.shutdown_match = misc.shutdown_match;
        self.last_post = misc.last_post;
        self.output_full = false;
        self.exit = None;
        Ok(())
    }
}

impl Pc {
    /// Calls `f` with every attached disk's position name and image.
    fn each_disk(&mut self, mut f: impl FnMut(String, &mut dyn BlockDevice)) {
        for ch in 0..2 {
            for slot in 0..2 {
                if let Some(img) = self.bus.ide[ch].image_mut(slot) {
                    f(format!("ide{ch}.{slot}"), img);
                }
            }
        }
        for drive in 0..2 {
            if let Some(img) = self.bus.fdc.image_mut(drive) {
                f(format!("fd{drive}"), img);
            }
        }
    }

    /// Identity of every attached disk: position, sectors and a CRC-32 of the image as
    /// it was attached (under `--snapshot`, without the overlay, which the state file
    /// carries itself).
    fn disk_ids(&mut self) -> Vec<(String, u64, u32)> {
        const CHUNK: u64 = 2048;
        let mut ids = Vec::new();
        let mut buf = vec![0u8; CHUNK as usize * 512];
        self.each_disk(|name, img| {
            let sectors = img.sectors();
            let mut crc = crc32fast::Hasher::new();
            let mut lba = 0;
            while lba < sectors {
                let n = (sectors - lba).min(CHUNK);
                let b = &mut buf[..n as usize * 512];
                if img.read_base(lba, b).is_err() {
                    b.fill(0xEE);
                }
                crc.update(b);
                lba += n;
            }
            ids.push((name, sectors, crc.finalize()));
        });
        ids
    }

    /// The sectors the guest wrote to `--snapshot` overlays, by disk position, each as
    /// (sector number, the 512 bytes in hex).
    fn overlays(&mut self) -> Result<BTreeMap<String, Vec<(u64, String)>>, String> {
        let mut out = BTreeMap::new();
        let mut err = None;
        self.each_disk(|name, img| {
            let Some(lbas) = img.overlay_sectors().filter(|l| !l.is_empty()) else {
                return;
            };
            let mut sectors = Vec::with_capacity(lbas.len());
            let mut buf = [0u8; 512];
            for lba in lbas {
                if let Err(e) = img.read(lba, &mut buf) {
                    err = Some(format!("cannot read {name}'s --snapshot writes: {e}"));
                    return;
                }
                let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
                sectors.push((lba, hex));
            }
            out.insert(name, sectors);
        });
        err.map_or(Ok(out), Err)
    }

    fn config(&mut self) -> MachineConfig {
        MachineConfig {
            memory_mb: (self.bus.ram.len() >> 20) as u32,
            cpu: format!("{:?}", self.cpu.model()),
            bios_len: self.bus.bios.len(),
            devices: self.bus.device_names(),
            disks: self.disk_ids(),
        }
    }

    /// The CPU state as saved, without the latches that depend on where the block
    /// cache happened to end a block (rebuilt differently after a load).
    fn hashed_cpu(&self) -> CpuState {
        let mut s = self.cpu.save_state();
        s.smc = false;
        s
    }

    /// The machine's state as one file (see the module comment).
    pub fn save_state(&mut self) -> Result<Vec<u8>, String> {
        let e = |e: serde_json::Error| format!("cannot encode the machine state: {e}");
        let mut doc = BTreeMap::new();
        doc.insert("emulator", json!(env!("CARGO_PKG_VERSION")));
        let config = self.config();
        doc.insert("config", serde_json::to_value(config).map_err(e)?);
        doc.insert(
            "cpu",
            serde_json::to_value(self.cpu.save_state()).map_err(e)?,
        );
        doc.insert(
            "devices",
            serde_json::to_value(self.bus.save_devices()?).map_err(e)?,
        );
        doc.insert(
            "boot_order",
            serde_json::to_value(self.boot_order).map_err(e)?,
        );
        doc.insert("no_reboot", json!(self.no_reboot));
        doc.insert("bios", serde_json::to_value(&self.bios_state).map_err(e)?);
        doc.insert(
            "overlays",
            serde_json::to_value(self.overlays()?).map_err(e)?,
        );
        let text = serde_json::to_vec(&doc).map_err(e)?;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut write = |b: &[u8]| {
            let _ = z.write_all(b);
        };
        write(&(text.len() as u64).to_le_bytes());
        write(&text);
        for (i, page) in self.bus.ram.chunks(PAGE).enumerate() {
            if page.iter().any(|&b| b != 0) {
                write(&(i as u32).to_le_bytes());
                write(page);
            }
        }
        let body = z
            .finish()
            .map_err(|e| format!("cannot compress the machine state: {e}"))?;
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Resumes from a file made by [`Pc::save_state`]. The error is one line saying why
    /// the file does not fit this machine (or is damaged); the machine is unusable
    /// after an error past the checks (the caller exits).
    pub fn load_state(&mut self, file: &[u8]) -> Result<(), String> {
        if file.len() < HEADER || &file[..8] != MAGIC {
            return Err("not an x86 machine state file (no X86STATE header)".into());
        }
        let word = |a: usize, n: usize| {
            let mut v = [0u8; 8];
            v[..n].copy_from_slice(&file[a..a + n]);
            u64::from_le_bytes(v)
        };
        let version = word(8, 4) as u32;
        if version != FORMAT_VERSION {
            return Err(format!(
                "state file format version {version}, this x86 reads version {FORMAT_VERSION}"
            ));
        }
        let len = word(12, 8);
        let crc = word(20, 4) as u32;
        let body = &file[HEADER..];
        if (body.len() as u64) < len {
            return Err(format!(
                "state file is truncated ({} of {} bytes)",
                file.len(),
                len.saturating_add(HEADER as u64)
            ));
        }
        if body.len() as u64 != len || crc32fast::hash(body) != crc {
            return Err("state file is corrupted (checksum mismatch)".into());
        }
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(body)
            .read_to_end(&mut raw)
            .map_err(|e| format!("state file is corrupted ({e})"))?;
        let bad = |what: &str| format!("state file is corrupted ({what})");
        let n = raw
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
            .ok_or_else(|| bad("no header"))?;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_add(8))
            .filter(|&e| e <= raw.len())
            .ok_or_else(|| bad("header length"))?;
        let mut doc: BTreeMap<String, Value> =
            serde_json::from_slice(&raw[8..end]).map_err(|e| bad(&e.to_string()))?;
        let mut field = |k: &str| doc.remove(k).ok_or_else(|| bad(k));
        let saved: MachineConfig =
            serde_json::from_value(field("config")?).map_err(|e| bad(&e.to_string()))?;
        let here = self.config();
        if saved.memory_mb != here.memory_mb {
            return Err(format!(
                "the state is of a machine with {} MB of memory, this one has {} MB",
                saved.memory_mb, here.memory_mb
            ));
        }
        if saved.cpu != here.cpu {
            return Err(format!(
                "the state is of a {} CPU, this machine has a {}",
                saved.cpu, here.cpu
            ));
        }
        if saved.devices != here.devices || saved.bios_len != here.bios_len {
            return Err("the state is of a machine with another device set or BIOS".into());
        }
        if saved.disks != here.disks {
            let name = |d: &[(String, u64, u32)]| {
                d.iter()
                    .map(|(p, s, c)| format!("{p}: {s} sectors, crc {c:08x}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            return Err(format!(
                "the state was saved with other disks ({}) than attached now ({})",
                name(&saved.disks),
                name(&here.disks)
            ));
        }
        let cpu: CpuState =
            serde_json::from_value(field("cpu")?).map_err(|e| bad(&e.to_string()))?;
        let devs: BTreeMap<String, Value> =
            serde_json::from_value(field("devices")?).map_err(|e| bad(&e.to_string()))?;
        let boot_order =
            serde_json::from_value(field("boot_order")?).map_err(|e| bad(&e.to_string()))?;
        let no_reboot =
            serde_json::from_value(field("no_reboot")?).map_err(|e| bad(&e.to_string()))?;
        let bios = serde_json::from_value(field("bios")?).map_err(|e| bad(&e.to_string()))?;
        let overlays: BTreeMap<String, Vec<(u64, String)>> = match doc.remove("overlays") {
            Some(v) => serde_json::from_value(v).map_err(|e| bad(&e.to_string()))?,
            None => BTreeMap::new(),
        };
        let mut writes: Vec<(String, u64, Vec<u8>)> = Vec::new();
        for (name, sectors) in &overlays {
            let size = here
                .disks
                .iter()
                .find(|d| &d.0 == name)
                .map(|d| d.1)
                .ok_or_else(|| bad("--snapshot writes to a disk that is not there"))?;
            for (lba, hex) in sectors {
                let bytes: Option<Vec<u8>> = (hex.len() == 1024)
                    .then(|| {
                        (0..512)
                            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                            .collect()
                    })
                    .flatten();
                match bytes {
                    Some(b) if *lba < size => writes.push((name.clone(), *lba, b)),
                    _ => return Err(bad("--snapshot sector")),
                }
            }
        }
        let mut no_overlay = None;
        self.each_disk(|name, img| {
            if overlays.contains_key(&name) && img.overlay_sectors().is_none() {
                no_overlay = Some(name);
            }
        });
        if let Some(name) = no_overlay {
            return Err(format!(
                "the state holds the guest's --snapshot writes to {name}; resume it with --snapshot, so the image is not changed"
            ));
        }
        // RAM records.
        let mut pages = &raw[end..];
        let mut ram = vec![0u8; self.bus.ram.len()];
        while !pages.is_empty() {
            if pages.len() < 4 + PAGE {
                return Err(bad("RAM page"));
            }
            let i = u32::from_le_bytes([pages[0], pages[1], pages[2], pages[3]]) as usize;
            let dst = i
                .checked_mul(PAGE)
                .and_then(|a| ram.get_mut(a..a + PAGE))
                .ok_or_else(|| bad("RAM page number"))?;
            dst.copy_from_slice(&pages[4..4 + PAGE]);
            pages = &pages[4 + PAGE..];
        }
        let mut failed = None;
        self.each_disk(|name, img| {
            for (_, lba, data) in writes.iter().filter(|w| w.0 == name) {
                if let Err(e) = img.write(*lba, data) {
                    failed = Some(format!("cannot restore {name}'s --snapshot writes: {e}"));
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let kernel = self.bios_state.kernel.take();
        self.cpu.load_state(cpu)?;
        self.bus.load_devices(devs)?;
        self.bus.ram = ram;
        self.boot_order = boot_order;
        self.no_reboot = no_reboot;
        self.bios_state = bios;
        self.bios_state.kernel = kernel;
        self.cpu.flush_cache();
        Ok(())
    }

    /// A 64-bit FNV-1a hash of the machine state — CPU, RAM and every device, without
    /// disk identities and undrained output — for comparing two runs in one line.
    pub fn state_hash(&self) -> Result<u64, String> {
        let e = |e: serde_json::Error| format!("cannot encode the machine state: {e}");
        let doc = (
            serde_json::to_value(self.hashed_cpu()).map_err(e)?,
            self.bus.save_devices()?,
            serde_json::to_value(&self.bios_state).map_err(e)?,
        );
        let text = serde_json::to_vec(&doc).map_err(e)?;
        let h = fnv(FNV_OFFSET, &text);
        Ok(fnv(h, &self.bus.ram))
    }
}
