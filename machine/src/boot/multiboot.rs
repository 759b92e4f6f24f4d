//! Multiboot version 1 (the Multiboot Specification 0.6.96, "3 The specification"):
//! what GRUB legacy, GRUB 2's `multiboot`, QEMU's `-kernel` and kvm-unit-tests use.
//!
//! The kernel carries a header in its first 8192 bytes, 32-bit aligned: magic
//! 1BADB002h, flags, and a checksum making the three sum to 0 (§3.1.1). Flags bits
//! 0–15 are requirements a loader must meet or refuse the kernel: bit 0 page-aligned
//! modules (always done here), bit 1 memory information (always given), bit 2 video
//! mode information (answered with the EGA text framebuffer the BIOS left in place:
//! there is no VBE). Bit 16 says the header's address fields (the "a.out kludge")
//! describe where to load the file; without it the file must be ELF32, loaded by its
//! program headers at their physical addresses (§3.1.3–3.1.4).
//!
//! The kernel starts in the state of §3.2: EAX = 2BADB002h, EBX = the physical address
//! of the Multiboot information structure (§3.3), flat 4 GB code and data segments,
//! protected mode with paging, interrupts and V86 mode off, A20 on. The information
//! gives mem_lower/mem_upper, the memory map ([`super::memory_map`], the same as
//! INT 15h E820h), the command line (`--append`, exactly), the modules (each
//! `--initrd`, its string the file name given) and the boot loader name. Modules and
//! the information structure go after the kernel's highest byte (and at least at
//! 1 MB), page aligned, so they never overlap it. ESP is 7C00h: the specification
//! leaves it undefined, and a stack in free conventional memory is kinder than none.

use super::{le16, le32, BootPlan, Entry, Load, Module};

pub const HEADER_MAGIC: u32 = 0x1BAD_B002;
pub const BOOTLOADER_MAGIC: u32 = 0x2BAD_B002;
/// Where the header must lie, wholly.
const SEARCH: usize = 8192;

/// Header flags (§3.1.2).
const PAGE_ALIGN: u32 = 1 << 0;
const MEMORY_INFO: u32 = 1 << 1;
const VIDEO_MODE: u32 = 1 << 2;
const AOUT_KLUDGE: u32 = 1 << 16;

/// Information flags (§3.3).
const INFO_MEMORY: u32 = 1 << 0;
const INFO_CMDLINE: u32 = 1 << 2;
const INFO_MODS: u32 = 1 << 3;
const INFO_MMAP: u32 = 1 << 6;
const INFO_LOADER_NAME: u32 = 1 << 9;
const INFO_FRAMEBUFFER: u32 = 1 << 12;

/// The name in `boot_loader_name`.
pub const LOADER_NAME: &str = "x86 emulator";

/// A found header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// File offset of the magic.
    pub offset: usize,
    pub flags: u32,
}

/// Searches the first 8192 bytes for a valid header. A magic with a wrong checksum is
/// skipped (it may be data) but named in the error if no valid header follows.
pub fn find_header(kernel: &[u8]) -> Result<Option<Header>, String> {
    let mut bad = None;
    let mut off = 0;
    while off + 12 <= kernel.len().min(SEARCH) {
        if le32(kernel, off) == HEADER_MAGIC {
            let flags = le32(kernel, off + 4);
            let sum = HEADER_MAGIC
                .wrapping_add(flags)
                .wrapping_add(le32(kernel, off + 8));
            if sum == 0 {
                return Ok(Some(Header { offset: off, flags }));
            }
            bad.get_or_insert(off);
        }
        off += 4;
    }
    match bad {
        Some(o) => Err(format!(
            "Multiboot header at offset {o:#x} has a bad checksum (magic + flags + checksum must be 0 mod 2^32)"
        )),
        None => Ok(None),
    }
}

/// A piece of the kernel image to place: file bytes at `addr`, then zeros up to
/// `addr + mem`.
struct Segment<'a> {
    addr: u32,
    file: &'a [u8],
    mem: u32,
}

/// The a.out kludge (§3.1.3): the header's address fields place the file.
fn aout_segments<'a>(k: &'a [u8], h: &Header) -> Result<(Vec<Segment<'a>>, u32), String> {
    let o = h.offset;
    if o + 32 > k.len() {
        return Err("Multiboot kernel truncated inside its header's address fields".into());
    }
    let [header_addr, load_addr, load_end, bss_end, entry] =
        [12, 16, 20, 24, 28].map(|f| le32(k, o + f));
    let bad = |why: &str| {
        Err(format!(
            "Multiboot header address fields: {why} (header_addr {header_addr:#x}, load_addr {load_addr:#x}, load_end_addr {load_end:#x}, bss_end_addr {bss_end:#x})"
        ))
    };
    // The header's file offset minus its distance from load_addr gives where in the
    // file loading starts.
    let Some(before) = header_addr.checked_sub(load_addr) else {
        return bad("load_addr is above header_addr");
    };
    let Some(start) = o.checked_sub(before as usize) else {
        return bad("load_addr lies before the start of the file");
    };
    let len = if load_end == 0 {
        k.len() - start
    } else {
        match load_end.checked_sub(load_addr) {
            Some(n) => n as usize,
            None => return bad("load_end_addr is below load_addr"),
        }
    };
    let Some(file) = k.get(start..start.saturating_add(len)) else {
        return Err(format!(
            "Multiboot kernel truncated: its header asks for {len} bytes from file offset {start:#x}, the file has {}",
            k.len()
        ));
    };
    let end = load_addr as u64 + len as u64;
    let mem = if bss_end == 0 {
        len as u64
    } else if (bss_end as u64) < end {
        return bad("bss_end_addr is below load_end_addr");
    } else {
        bss_end as u64 - load_addr as u64
    };
    Ok((
        vec![Segment {
            addr: load_addr,
            file,
            mem: mem as u32,
        }],
        entry,
    ))
}

/// ELF32 (System V ABI, Intel386 supplement): every PT_LOAD program header at its
/// physical address. The entry point is virtual; inside a segment it is translated to
/// that segment's physical address, as GRUB 2 does.
fn elf_segments(k: &[u8]) -> Result<(Vec<Segment<'_>>, u32), String> {
    if k.get(..4) != Some(b"\x7FELF") {
        return Err("Multiboot kernel is not ELF and its header has no address fields (flag 16): nothing says where to load it".into());
    }
    if k.len() < 52 {
        return Err("ELF kernel truncated inside its ELF header".into());
    }
    if k[4] != 1 || k[5] != 1 || le16(k, 18) != 3 || le16(k, 16) != 2 {
        return Err(format!(
            "ELF kernel is not a 32-bit little-endian i386 executable (class {}, data {}, machine {}, type {}); Multiboot v1 loads only those",
            k[4],
            k[5],
            le16(k, 18),
            le16(k, 16)
        ));
    }
    let entry = le32(k, 24);
    let phoff = le32(k, 28) as usize;
    let phentsize = le16(k, 42) as usize;
    let phnum = le16(k, 44) as usize;
    if phentsize < 32 {
        return Err(format!(
            "ELF kernel: program header size {phentsize} is below 32"
        ));
    }
    let mut segs = Vec::new();
    for i in 0..phnum {
        let p = phoff.saturating_add(i * phentsize);
        let Some(ph) = k.get(p..p.saturating_add(32)) else {
            return Err(format!(
                "ELF kernel truncated: program header {i} lies past the end of the file"
            ));
        };
        if le32(ph, 0) != 1 {
            continue; // not PT_LOAD
        }
        let [off, vaddr, paddr, filesz, memsz] = [4, 8, 12, 16, 20].map(|f| le32(ph, f));
        if filesz > memsz {
            return Err(format!(
                "ELF kernel: segment {i} has p_filesz {filesz:#x} above p_memsz {memsz:#x}"
            ));
        }
        let Some(file) = k.get(off as usize..off as usize + filesz as usize) else {
            return Err(format!(
                "ELF kernel truncated: segment {i} needs file bytes {off:#x}..{:#x}, the file has {:#x}",
                off as u64 + filesz as u64,
                k.len()
            ));
        };
        segs.push((
            Segment {
                addr: paddr,
                file,
                mem: memsz,
            },
            vaddr,
        ));
    }
    if segs.is_empty() {
        return Err("ELF kernel has no loadable (PT_LOAD) segment".into());
    }
    let entry = segs
        .iter()
        .find(|(s, v)| entry.wrapping_sub(*v) < s.mem)
        .map_or(entry, |(s, v)| entry.wrapping_sub(*v).wrapping_add(s.addr));
    Ok((segs.into_iter().map(|(s, _)| s).collect(), entry))
}

fn page_up(a: u64) -> u64 {
    a.div_ceil(4096) * 4096
}

/// Lays out a Multiboot kernel whose header `h` [`find_header`] found.
pub fn load(
    kernel: &[u8],
    h: &Header,
    modules: &[Module],
    cmdline: &str,
    ram: u32,
) -> Result<BootPlan, String> {
    let ram = ram as u64;
    let unknown = h.flags & 0xFFFF & !(PAGE_ALIGN | MEMORY_INFO | VIDEO_MODE);
    if unknown != 0 {
        return Err(format!(
            "Multiboot header requires features this loader does not know (flags bits {unknown:#x}); refusing it as the specification asks"
        ));
    }
    let (segs, entry) = if h.flags & AOUT_KLUDGE != 0 {
        aout_segments(kernel, h)?
    } else {
        elf_segments(kernel)?
    };
    let mut top = 0u64;
    let mut loads = Vec::new();
    let mut zero = Vec::new();
    for s in &segs {
        let (a, end) = (s.addr as u64, s.addr as u64 + s.mem as u64);
        if end > ram {
            return Err(format!(
                "Multiboot kernel does not fit in RAM: it loads {a:#x}..{end:#x}, this machine has {} MB (use --memory)",
                ram >> 20
            ));
        }
        // The VGA window, option ROMs and the BIOS are not RAM.
        if a < 0x10_0000 && end > 0xA_0000 {
            return Err(format!(
                "Multiboot kernel loads {a:#x}..{end:#x}, over the VGA/BIOS area A0000h–FFFFFh"
            ));
        }
        top = top.max(end);
        loads.push(Load {
            addr: s.addr,
            bytes: s.file.to_vec(),
        });
        if s.mem as usize > s.file.len() {
            zero.push((s.addr + s.file.len() as u32, end as u32));
        }
    }

    // Modules, page aligned, from the kernel's end (and at least 1 MB) up.
    let mut next = page_up(top.max(0x10_0000));
    let mut mods = Vec::new();
    for m in modules {
        let start = next;
        let end = start + m.bytes.len() as u64;
        if end > ram {
            return Err(format!(
                "module {} ({} bytes) does not fit in RAM after the kernel (up to {start:#x}); use more --memory",
                m.name,
                m.bytes.len()
            ));
        }
        loads.push(Load {
            addr: start as u32,
            bytes: m.bytes.to_vec(),
        });
        mods.push((start as u32, end as u32));
        next = page_up(end);
    }

    // The information block: the structure, a GDT, the memory map, the module list,
    // then the strings.
    let base = next;
    let mut info = vec![0u8; 128];
    let gdt = base + 128;
    info.extend_from_slice(&0u64.to_le_bytes());
    info.extend_from_slice(&0x00CF_9A00_0000_FFFFu64.to_le_bytes()); // 08h: code, 4 GB
    info.extend_from_slice(&0x00CF_9200_0000_FFFFu64.to_le_bytes()); // 10h: data, 4 GB
    let map = super::memory_map(ram);
    let mmap_addr = base + info.len() as u64;
    for (b, l, t) in map {
        // Each entry: size (20, not counting itself), base, length, type.
        info.extend_from_slice(&20u32.to_le_bytes());
        info.extend_from_slice(&b.to_le_bytes());
        info.extend_from_slice(&l.to_le_bytes());
        info.extend_from_slice(&t.to_le_bytes());
    }
    let mmap_len = base + info.len() as u64 - mmap_addr;
    let mods_addr = base + info.len() as u64;
    info.resize(info.len() + 16 * mods.len(), 0);
    let string = |info: &mut Vec<u8>, s: &[u8]| -> u32 {
        let at = (base + info.len() as u64) as u32;
        info.extend_from_slice(s);
        info.push(0);
        at
    };
    if cmdline.as_bytes().contains(&0) {
        return Err("--append contains a NUL byte".into());
    }
    let cmd_addr = string(&mut info, cmdline.as_bytes());
    let name_addr = string(&mut info, LOADER_NAME.as_bytes());
    for (i, m) in modules.iter().enumerate() {
        let s = string(&mut info, m.name.as_bytes());
        let e = (mods_addr - base) as usize + 16 * i;
        let (start, end) = mods[i];
        for (j, v) in [start, end, s, 0].into_iter().enumerate() {
            info[e + 4 * j..e + 4 * j + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    if base + info.len() as u64 > ram {
        return Err(format!(
            "Multiboot information does not fit in RAM after the kernel and modules (up to {base:#x}); use more --memory"
        ));
    }
    let video = h.flags & VIDEO_MODE != 0;
    let flags = INFO_MEMORY
        | INFO_CMDLINE
        | INFO_MODS
        | INFO_MMAP
        | INFO_LOADER_NAME
        | if video { INFO_FRAMEBUFFER } else { 0 };
    let lower_kb = (map[0].1 / 1024) as u32;
    let upper_kb = (map[2].1 / 1024) as u32;
    let mut fields = vec![
        (0, flags),
        (4, lower_kb),
        (8, upper_kb),
        (16, cmd_addr),
        (20, mods.len() as u32),
        (24, mods_addr as u32),
        (44, mmap_len as u32),
        (48, mmap_addr as u32),
        (64, name_addr),
    ];
    if video {
        // EGA text (type 2): 80×25 cells of two bytes at B8000h (§3.3, framebuffer_*);
        // bpp 16 at 108, type 2 at 109.
        fields.extend([
            (88, 0xB_8000),
            (96, 160),
            (100, 80),
            (104, 25),
            (108, 0x0210),
        ]);
    }
    for (at, v) in fields {
        info[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    loads.push(Load {
        addr: base as u32,
        bytes: info,
    });
    Ok(BootPlan {
        kind: format!(
            "Multiboot v1 ({}), entry {entry:#x}, {} module(s)",
            if h.flags & AOUT_KLUDGE != 0 {
                "a.out kludge"
            } else {
                "ELF32"
            },
            mods.len()
        ),
        loads,
        zero,
        entry: Entry::Flat32 {
            eip: entry,
            eax: BOOTLOADER_MAGIC,
            ebx: base as u32,
            esp: 0x7C00,
            gdt: gdt as u32,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flags: u32) -> Vec<u8> {
        let mut h = Vec::new();
        for v in [
            HEADER_MAGIC,
            flags,
            0u32.wrapping_sub(HEADER_MAGIC).wrapping_sub(flags),
        ] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h
    }

    /// An a.out-kludge kernel: 32 bytes of padding, the header at offset 32 (= address
    /// 100020h), code to offset 0x1000, BSS to 102000h.
    fn aout() -> Vec<u8> {
        let mut k = vec![0x90u8; 0x1000];
        let mut h = header(PAGE_ALIGN | MEMORY_INFO | AOUT_KLUDGE);
        for v in [0x10_0020u32, 0x10_0000, 0x10_1000, 0x10_2000, 0x10_0040] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        k[32..32 + h.len()].copy_from_slice(&h);
        k
    }

    fn info(p: &BootPlan) -> (&[u8], u32) {
        let Entry::Flat32 { ebx, .. } = p.entry else {
            panic!("not a 32-bit entry")
        };
        let l = p.loads.iter().find(|l| l.addr == ebx).unwrap();
        (&l.bytes, ebx)
    }

    #[test]
    fn header_search_checks_alignment_range_and_checksum() {
        let mut k = vec![0u8; 9000];
        assert_eq!(find_header(&k), Ok(None));
        // Misaligned: not found.
        k[6..18].copy_from_slice(&header(0));
        assert_eq!(find_header(&k), Ok(None));
        // Past the 8192-byte window (at 8184 it would end at 8196): not found.
        let mut k = vec![0u8; 9000];
        k[8184..8196].copy_from_slice(&header(0));
        assert_eq!(find_header(&k), Ok(None));
        // The last place that fits: 8180..8192.
        let mut k = vec![0u8; 9000];
        k[8180..8192].copy_from_slice(&header(3));
        assert_eq!(
            find_header(&k),
            Ok(Some(Header {
                offset: 8180,
                flags: 3
            }))
        );
        // Wrong checksum: a clear error.
        let mut k = vec![0u8; 100];
        k[8..20].copy_from_slice(&header(0));
        k[16] ^= 1;
        assert!(find_header(&k).unwrap_err().contains("bad checksum"));
    }

    #[test]
    fn aout_kludge_places_file_bss_and_boot_information() {
        let k = aout();
        let h = find_header(&k).unwrap().unwrap();
        assert_eq!(h.offset, 32);
        let rd = b"module bytes";
        let m = [Module {
            name: "initrd.img",
            bytes: rd,
        }];
        let p = load(&k, &h, &m, "console=ttyS0 x=1", 32 << 20).unwrap();
        // The whole file at 100000h (header_addr - load_addr = 32 = its file offset),
        // BSS 101000h..102000h.
        assert_eq!(p.loads[0].addr, 0x10_0000);
        assert_eq!(p.loads[0].bytes.len(), 0x1000);
        assert_eq!(p.zero, vec![(0x10_1000, 0x10_2000)]);
        // The module on the next page after the BSS, the information after it.
        assert_eq!(p.loads[1].addr, 0x10_2000);
        let (i, base) = info(&p);
        assert_eq!(base, 0x10_3000);
        let Entry::Flat32 { eip, eax, gdt, .. } = p.entry else {
            unreachable!()
        };
        assert_eq!((eip, eax, gdt), (0x10_0040, 0x2BAD_B002, 0x10_3080));
        // flags: memory, cmdline, mods, mmap, loader name = 1|4|8|40h|200h = 24Dh.
        assert_eq!(le32(i, 0), 0x24D);
        // 32 MB: mem_lower 639 KB (9FC00h), mem_upper 31 MB = 31744 KB.
        assert_eq!((le32(i, 4), le32(i, 8)), (639, 31744));
        let at = |a: u32| (a - base) as usize;
        let cstr = |a: u32| {
            let s = &i[at(a)..];
            String::from_utf8(s[..s.iter().position(|&b| b == 0).unwrap()].to_vec()).unwrap()
        };
        assert_eq!(cstr(le32(i, 16)), "console=ttyS0 x=1");
        assert_eq!(cstr(le32(i, 64)), LOADER_NAME);
        assert_eq!(le32(i, 20), 1);
        let md = at(le32(i, 24));
        assert_eq!((le32(i, md), le32(i, md + 4)), (0x10_2000, 0x10_2000 + 12));
        assert_eq!(cstr(le32(i, md + 8)), "initrd.img");
        // The memory map: three 24-byte entries.
        assert_eq!(le32(i, 44), 72);
        let mm = at(le32(i, 48));
        assert_eq!(le32(i, mm), 20);
        assert_eq!(super::super::le64(i, mm + 4 + 24 * 2), 0x10_0000);
        assert_eq!(super::super::le64(i, mm + 12 + 24 * 2), 31 << 20);
        assert_eq!(le32(i, mm + 20 + 24), 2);
    }

    /// A minimal ELF32 executable with one PT_LOAD: vaddr C0100000h, paddr 100000h.
    fn elf() -> Vec<u8> {
        let mut k = vec![0u8; 0x2000];
        k[..4].copy_from_slice(b"\x7FELF");
        k[4] = 1;
        k[5] = 1;
        k[6] = 1;
        let put16 =
            |k: &mut Vec<u8>, a: usize, v: u16| k[a..a + 2].copy_from_slice(&v.to_le_bytes());
        let put32 =
            |k: &mut Vec<u8>, a: usize, v: u32| k[a..a + 4].copy_from_slice(&v.to_le_bytes());
        put16(&mut k, 16, 2);
        put16(&mut k, 18, 3);
        put32(&mut k, 24, 0xC010_0010);
        put32(&mut k, 28, 52);
        put16(&mut k, 42, 32);
        put16(&mut k, 44, 1);
        for (f, v) in [
            (0, 1u32),
            (4, 0x1000),
            (8, 0xC010_0000),
            (12, 0x10_0000),
            (16, 0x800),
            (20, 0x3000),
        ] {
            put32(&mut k, 52 + f, v);
        }
        k[0x100..0x10C].copy_from_slice(&header(VIDEO_MODE));
        k
    }

    #[test]
    fn elf_program_headers_load_at_physical_addresses() {
        let k = elf();
        let h = find_header(&k).unwrap().unwrap();
        let p = load(&k, &h, &[], "", 16 << 20).unwrap();
        assert_eq!(p.loads[0].addr, 0x10_0000);
        assert_eq!(p.loads[0].bytes, k[0x1000..0x1800]);
        assert_eq!(p.zero, vec![(0x10_0800, 0x10_3000)]);
        let Entry::Flat32 { eip, ebx, .. } = p.entry else {
            unreachable!()
        };
        // e_entry C0100010h lies in the segment: physical 100010h.
        assert_eq!(eip, 0x10_0010);
        assert_eq!(ebx, 0x10_3000);
        // Video requested: the EGA text framebuffer (flags bit 12, type 2, 80×25).
        let (i, _) = info(&p);
        assert_eq!(le32(i, 0) & (1 << 12), 1 << 12);
        assert_eq!(
            (le32(i, 88), le32(i, 100), le32(i, 104), i[109]),
            (0xB8000, 80, 25, 2)
        );
    }

    #[test]
    fn bad_multiboot_kernels_are_errors() {
        // Unknown required flag (bit 3).
        let mut k = aout();
        k[32..44].copy_from_slice(&header(AOUT_KLUDGE | 8));
        let h = find_header(&k).unwrap().unwrap();
        assert!(load(&k, &h, &[], "", 32 << 20)
            .unwrap_err()
            .contains("requires features"));
        // Neither ELF nor a.out kludge.
        let mut k = vec![0u8; 64];
        k[0..12].copy_from_slice(&header(0));
        let h = find_header(&k).unwrap().unwrap();
        assert!(load(&k, &h, &[], "", 32 << 20)
            .unwrap_err()
            .contains("not ELF"));
        // Too big for RAM: BSS to 102000h in 1 MB.
        let k = aout();
        let h = find_header(&k).unwrap().unwrap();
        assert!(load(&k, &h, &[], "", 1 << 20)
            .unwrap_err()
            .contains("does not fit in RAM"));
        // Truncated: load_end_addr beyond the file.
        let e = load(&k[..0x800], &h, &[], "", 32 << 20).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        // ELF truncated in its segment, and a module too big.
        let k = elf();
        let h = find_header(&k).unwrap().unwrap();
        assert!(load(&k[..0x1400], &h, &[], "", 32 << 20)
            .unwrap_err()
            .contains("truncated"));
        let big = vec![0u8; 20 << 20];
        let m = [Module {
            name: "big",
            bytes: &big,
        }];
        assert!(load(&k, &h, &m, "", 16 << 20)
            .unwrap_err()
            .contains("module big"));
        // Random header fields never panic.
        let mut seed = 7u32;
        for _ in 0..3000 {
            let mut k = aout();
            for b in k[44..64].iter_mut() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (seed >> 16) as u8;
            }
            let h = find_header(&k).unwrap().unwrap();
            let _ = load(&k, &h, &[], "", 32 << 20);
            let mut e = elf();
            for b in e[24..84].iter_mut() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (seed >> 16) as u8;
            }
            if let Ok(Some(h)) = find_header(&e) {
                let _ = load(&e, &h, &[], "", 32 << 20);
            }
        }
    }
}
