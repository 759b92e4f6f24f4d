//! The Linux/x86 boot protocol (Documentation/arch/x86/boot.rst, "THE LINUX/x86 BOOT
//! PROTOCOL"), protocol versions 2.00 and later: bzImage (loaded high) and zImage.
//!
//! The file is the real-mode part — the legacy boot sector plus `setup_sects` sectors
//! of setup code, with the setup header at 01F1h — followed by the protected-mode
//! kernel. The loader puts the real-mode part at X, the protected-mode kernel at 1 MB
//! (bzImage) or 64 KB (zImage), fills in the header fields marked "write" (boot.rst
//! "Details of header fields"), and enters the setup code in real mode at
//! (X/16 + 20h):0000.
//!
//! Real-mode entry, not the 32-bit `code32_start` entry, because (1) it works for
//! every protocol version and for images that only wear the header: iPXE's `.lkrn`
//! has `code32_start` = 0 and needs the BIOS; (2) the kernel's own setup code then asks
//! the BIOS for the E820 map (INT 15h E820h, from [`super::memory_map`]), the video
//! mode, APM and EDD, so a `--kernel` boot sees the same machine a SYSLINUX or GRUB
//! `linux16` boot does; (3) it is what QEMU's `-kernel` does. The zero page
//! (`boot_params`, with the E820 table) is then built by the setup code, not by us.
//!
//! Layout, as boot.rst suggests for protocol ≥ 2.02 and as QEMU lays it out: X =
//! 10000h, stack and heap to X+10000h (`heap_end_ptr` = FE00h), the command line at
//! 20000h. Older or zImage kernels: X = 90000h, heap to 99E00h, command line at 9A000h
//! (through the 0020h/0022h "cmd_line_magic" fields below 2.02). The initrd goes as
//! high as `initrd_addr_max` and the top of RAM allow, page aligned.

use super::{le16, le32, le64, BootPlan, Entry, Load, Module};

/// Header field offsets (boot.rst, "THE REAL-MODE KERNEL HEADER").
const SETUP_SECTS: usize = 0x1F1;
const SYSSIZE: usize = 0x1F4;
const VID_MODE: usize = 0x1FA;
const HEADER: usize = 0x202;
const VERSION: usize = 0x206;
const TYPE_OF_LOADER: usize = 0x210;
const LOADFLAGS: usize = 0x211;
const RAMDISK_IMAGE: usize = 0x218;
const RAMDISK_SIZE: usize = 0x21C;
const HEAP_END_PTR: usize = 0x224;
const CMD_LINE_PTR: usize = 0x228;
const INITRD_ADDR_MAX: usize = 0x22C;
const KERNEL_ALIGNMENT: usize = 0x230;
const RELOCATABLE_KERNEL: usize = 0x234;
const CMDLINE_SIZE: usize = 0x238;
const PREF_ADDRESS: usize = 0x258;
const INIT_SIZE: usize = 0x260;

/// loadflags bits.
const LOADED_HIGH: u8 = 0x01;
const CAN_USE_HEAP: u8 = 0x80;

/// `type_of_loader` 0xFF: "undefined" (boot.rst's list of assigned ids; this emulator
/// has none).
pub const LOADER_TYPE: u8 = 0xFF;

/// Whether the file carries the setup header's "HdrS" signature.
pub fn is_linux(kernel: &[u8]) -> bool {
    kernel.get(HEADER..HEADER + 4) == Some(b"HdrS")
}

/// `vga=` on the command line as the `vid_mode` field takes it (boot.rst "SPECIAL
/// COMMAND LINE OPTIONS"): `normal` FFFFh, `ext` FFFEh, `ask` FFFDh, or a number (decimal
/// or 0x hex). Without one, FFFFh ("normal", the current 80×25 text mode).
fn vid_mode(cmdline: &str) -> Result<u16, String> {
    let Some(v) = cmdline
        .split_ascii_whitespace()
        .filter_map(|w| w.strip_prefix("vga="))
        .next_back()
    else {
        return Ok(0xFFFF);
    };
    let n = match v {
        "normal" => Some(0xFFFF),
        "ext" => Some(0xFFFE),
        "ask" => Some(0xFFFD),
        _ => match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            Some(h) => u16::from_str_radix(h, 16).ok(),
            None => v.parse().ok(),
        },
    };
    n.ok_or_else(|| format!("--append: vga={v}: expected normal, ext, ask or a mode number"))
}

/// Lays out a Linux kernel, its initrds (concatenated, each padded to 4 bytes: the
/// kernel unpacks every cpio archive it finds in a row) and its command line for `ram`
/// bytes of RAM.
pub fn load(
    kernel: &[u8],
    initrds: &[Module],
    cmdline: &str,
    ram: u32,
) -> Result<BootPlan, String> {
    let ram = ram as u64;
    // Every field read before the length checks below lies before 0208h.
    if kernel.len() < VERSION + 2 {
        return Err(format!(
            "Linux kernel truncated: {} bytes, shorter than its setup header",
            kernel.len()
        ));
    }
    let version = le16(kernel, VERSION);
    let (major, minor) = (version >> 8, version & 0xFF);
    if version < 0x200 {
        return Err(format!(
            "Linux boot protocol {major}.{minor:02} is older than 2.00; not supported"
        ));
    }
    let setup_sects = match kernel[SETUP_SECTS] {
        0 => 4, // boot.rst: "If this field is 0, the real value is 4."
        n => n as usize,
    };
    let setup_len = (setup_sects + 1) * 512;
    // The setup code, its stack and heap share X..X+8000h (boot.rst's memory layout).
    if setup_len > 0x8000 {
        return Err(format!(
            "Linux setup code is {setup_len} bytes (setup_sects {setup_sects}); the real-mode area holds at most 32 KB"
        ));
    }
    // The header as the kernel declares it: 0202h plus the byte at 0201h (the jump's
    // displacement) — every field this loader writes must lie inside it.
    let header_end = HEADER + kernel[0x201] as usize;
    if kernel.len() <= setup_len {
        return Err(format!(
            "Linux kernel truncated: {} bytes, but its {setup_sects} setup sectors and boot sector alone take {setup_len}",
            kernel.len()
        ));
    }
    let pm = &kernel[setup_len..];
    if version >= 0x204 {
        // syssize: the protected-mode code in 16-byte paragraphs (rounded up).
        let declared = le32(kernel, SYSSIZE) as u64 * 16;
        if (pm.len() as u64) + 15 < declared {
            return Err(format!(
                "Linux kernel truncated: its header declares {declared} bytes of protected-mode code, the file holds {}",
                pm.len()
            ));
        }
    }
    let big = kernel[LOADFLAGS] & LOADED_HIGH != 0;
    let (x, cmd_addr, pm_addr) = if big && version >= 0x202 {
        (0x1_0000u32, 0x2_0000u32, 0x10_0000u32)
    } else if big {
        (0x9_0000, 0x9_A000, 0x10_0000)
    } else {
        (0x9_0000, 0x9_A000, 0x1_0000)
    };
    // A zImage runs its protected-mode part below the real-mode code at 90000h.
    if !big && pm.len() > 0x8_0000 {
        return Err(format!(
            "zImage protected-mode part is {} bytes; it must fit in 512 KB below 90000h",
            pm.len()
        ));
    }
    let heap_end = (cmd_addr - x - 0x200) as u16;
    // The end of what the kernel occupies before it has read the memory map. From
    // 2.10 the header says: `init_size` bytes from the runtime start, which is
    // `pref_address`, or for a relocatable kernel the load address rounded up to
    // `kernel_alignment` if that is higher (arch/x86/boot/compressed/head_32.S).
    let mut kernel_end = pm_addr as u64 + pm.len() as u64;
    if version >= 0x20A {
        let pref = le64(kernel, PREF_ADDRESS);
        let init = le32(kernel, INIT_SIZE) as u64;
        let start = if kernel[RELOCATABLE_KERNEL] != 0 {
            let align = (le32(kernel, KERNEL_ALIGNMENT) as u64).max(1);
            (pm_addr as u64)
                .div_ceil(align)
                .saturating_mul(align)
                .max(pref)
        } else {
            pref
        };
        kernel_end = kernel_end.max(start.saturating_add(init));
    }
    if kernel_end > ram {
        return Err(format!(
            "the kernel needs {} MB of RAM before it reads the memory map (loaded {} bytes at {pm_addr:#x}, runs up to {kernel_end:#x}); this machine has {} MB: use --memory",
            kernel_end.div_ceil(1 << 20),
            pm.len(),
            ram >> 20
        ));
    }

    // The command line, NUL-terminated.
    let cmd_max = if version >= 0x206 {
        le32(kernel, CMDLINE_SIZE) as usize
    } else {
        255
    };
    if cmdline.len() > cmd_max {
        return Err(format!(
            "--append is {} bytes; this kernel takes at most {cmd_max}",
            cmdline.len()
        ));
    }
    if cmdline.as_bytes().contains(&0) {
        return Err("--append contains a NUL byte".into());
    }
    let mut cmd = cmdline.as_bytes().to_vec();
    cmd.push(0);

    let mut setup = kernel[..setup_len].to_vec();
    let put16 =
        |s: &mut Vec<u8>, at: usize, v: u16| s[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 =
        |s: &mut Vec<u8>, at: usize, v: u32| s[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put16(&mut setup, VID_MODE, vid_mode(cmdline)?);
    setup[TYPE_OF_LOADER] = LOADER_TYPE;
    if version >= 0x201 && header_end >= HEAP_END_PTR + 2 {
        put16(&mut setup, HEAP_END_PTR, heap_end);
        setup[LOADFLAGS] |= CAN_USE_HEAP;
    }
    if version >= 0x202 && header_end >= CMD_LINE_PTR + 4 {
        put32(&mut setup, CMD_LINE_PTR, cmd_addr);
    } else {
        // The old protocol: magic A33Fh at 0020h, the offset from X at 0022h.
        put16(&mut setup, 0x20, 0xA33F);
        put16(&mut setup, 0x22, (cmd_addr - x) as u16);
    }

    let mut loads = vec![
        Load {
            addr: x,
            bytes: setup,
        },
        Load {
            addr: pm_addr,
            bytes: pm.to_vec(),
        },
        Load {
            addr: cmd_addr,
            bytes: cmd,
        },
    ];

    if !initrds.is_empty() {
        let mut rd = Vec::new();
        for m in initrds {
            rd.resize(rd.len().next_multiple_of(4), 0);
            rd.extend_from_slice(m.bytes);
        }
        let addr_max = if version >= 0x203 {
            le32(kernel, INITRD_ADDR_MAX) as u64
        } else {
            0x37FF_FFFF
        };
        let top = (addr_max + 1).min(ram);
        let start = top.checked_sub(rd.len() as u64).map(|s| s & !0xFFF);
        match start {
            Some(s) if s >= kernel_end => {
                let len = rd.len() as u32;
                let s = s as u32;
                let setup = &mut loads[0].bytes;
                put32(setup, RAMDISK_IMAGE, s);
                put32(setup, RAMDISK_SIZE, len);
                loads.push(Load { addr: s, bytes: rd });
            }
            _ => {
                return Err(format!(
                    "the initrd ({} bytes) does not fit between the kernel (up to {kernel_end:#x}) and {top:#x} (top of RAM or the kernel's initrd_addr_max); use more --memory",
                    rd.len()
                ))
            }
        }
    }
    let kind = format!(
        "Linux boot protocol {major}.{minor:02}, {}, setup at {x:#x}, kernel at {pm_addr:#x}",
        if big { "bzImage" } else { "zImage" }
    );
    let seg = (x >> 4) as u16;
    Ok(BootPlan {
        kind,
        loads,
        zero: Vec::new(),
        entry: Entry::Real {
            cs: seg + 0x20,
            ip: 0,
            seg,
            // The top of the stack/heap area the header describes.
            sp: (heap_end as u32 + 0x200).min(0xFFF0) as u16,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic bzImage: `setup_sects` 4, protocol `version`, `pm` bytes of
    /// protected-mode code, header fields as a 6.1 kernel sets them.
    fn bzimage(version: u16, pm: usize) -> Vec<u8> {
        let mut k = vec![0u8; 5 * 512 + pm];
        k[SETUP_SECTS] = 4;
        k[0x1FE..0x200].copy_from_slice(&[0x55, 0xAA]);
        k[0x200] = 0xEB;
        k[0x201] = 0x6A; // header up to 026Ch, as in 6.1
        k[HEADER..HEADER + 4].copy_from_slice(b"HdrS");
        k[VERSION..VERSION + 2].copy_from_slice(&version.to_le_bytes());
        k[LOADFLAGS] = LOADED_HIGH;
        k[SYSSIZE..SYSSIZE + 4].copy_from_slice(&((pm as u32).div_ceil(16)).to_le_bytes());
        k[INITRD_ADDR_MAX..INITRD_ADDR_MAX + 4].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
        k[CMDLINE_SIZE..CMDLINE_SIZE + 4].copy_from_slice(&2047u32.to_le_bytes());
        for (i, b) in k[5 * 512..].iter_mut().enumerate() {
            *b = i as u8;
        }
        k
    }

    #[test]
    fn bzimage_layout_and_header_fields() {
        let k = bzimage(0x20F, 4096);
        let rd = vec![0xAB; 10_000];
        let p = load(
            &k,
            &[Module {
                name: "initrd",
                bytes: &rd,
            }],
            "console=ttyS0",
            32 << 20,
        )
        .unwrap();
        // boot.rst's suggested layout for protocol >= 2.02: X = 10000h, the command
        // line at X+10000h, heap_end_ptr = 10000h - 200h.
        let setup = &p.loads[0];
        assert_eq!(setup.addr, 0x10000);
        assert_eq!(setup.bytes.len(), 5 * 512);
        let s = &setup.bytes;
        assert_eq!(s[TYPE_OF_LOADER], 0xFF);
        assert_eq!(s[LOADFLAGS], LOADED_HIGH | CAN_USE_HEAP);
        assert_eq!(le16(s, HEAP_END_PTR), 0xFE00);
        assert_eq!(le32(s, CMD_LINE_PTR), 0x20000);
        assert_eq!(le16(s, VID_MODE), 0xFFFF);
        // Protected-mode code at 1 MB, the file's bytes after the 5 setup sectors.
        assert_eq!(p.loads[1].addr, 0x100000);
        assert_eq!(p.loads[1].bytes, k[2560..]);
        assert_eq!(p.loads[2].addr, 0x20000);
        assert_eq!(p.loads[2].bytes, b"console=ttyS0\0");
        // The initrd at the top of 32 MB, page aligned: 2000000h - 10000 = 1FFD8F0h,
        // rounded down to 1FFD000h.
        assert_eq!(le32(s, RAMDISK_IMAGE), 0x1FF_D000);
        assert_eq!(le32(s, RAMDISK_SIZE), 10_000);
        assert_eq!(p.loads[3].addr, 0x1FF_D000);
        assert_eq!(
            p.entry,
            Entry::Real {
                cs: 0x1020,
                ip: 0,
                seg: 0x1000,
                sp: 0xFFF0
            }
        );
    }

    #[test]
    fn initrd_respects_initrd_addr_max_and_concatenates_aligned() {
        let mut k = bzimage(0x20F, 4096);
        k[INITRD_ADDR_MAX..INITRD_ADDR_MAX + 4].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
        let (a, b) = (vec![1u8; 5], vec![2u8; 3]);
        let m = [
            Module {
                name: "a",
                bytes: &a,
            },
            Module {
                name: "b",
                bytes: &b,
            },
        ];
        let p = load(&k, &m, "", 64 << 20).unwrap();
        // Below 16 MB (addr_max + 1), 5 + 3 pad + 3 = 11 bytes at FFF000h.
        let rd = &p.loads[3];
        assert_eq!(rd.addr, 0xFF_F000);
        assert_eq!(rd.bytes, [1, 1, 1, 1, 1, 0, 0, 0, 2, 2, 2]);
    }

    #[test]
    fn init_size_and_pref_address_set_the_ram_needed() {
        // A relocatable 2.10+ kernel aligned to 16 MB with init_size 16 MB runs from
        // 16 MB to 32 MB: 32 MB is enough without an initrd, 31 MB is not.
        let mut k = bzimage(0x20F, 4096);
        k[RELOCATABLE_KERNEL] = 1;
        k[KERNEL_ALIGNMENT..KERNEL_ALIGNMENT + 4].copy_from_slice(&0x100_0000u32.to_le_bytes());
        k[PREF_ADDRESS..PREF_ADDRESS + 8].copy_from_slice(&0x100_0000u64.to_le_bytes());
        k[INIT_SIZE..INIT_SIZE + 4].copy_from_slice(&0x100_0000u32.to_le_bytes());
        assert!(load(&k, &[], "", 32 << 20).is_ok());
        let e = load(&k, &[], "", 31 << 20).unwrap_err();
        assert!(e.contains("needs 32 MB"), "{e}");
        // An initrd must then sit above 32 MB.
        let rd = vec![0u8; 2 << 20];
        let m = [Module {
            name: "rd",
            bytes: &rd,
        }];
        let e = load(&k, &m, "", 33 << 20).unwrap_err();
        assert!(e.contains("initrd (2097152 bytes) does not fit"), "{e}");
        assert!(load(&k, &m, "", 34 << 20).is_ok());
    }

    #[test]
    fn old_protocols_use_the_90000h_layout_and_the_magic_command_line() {
        let mut k = bzimage(0x201, 4096);
        k[0x201] = 0x20; // header up to 0222h... too short for heap_end_ptr (0224h)
        let p = load(&k, &[], "root=/dev/hda1", 32 << 20).unwrap();
        let s = &p.loads[0].bytes;
        assert_eq!(p.loads[0].addr, 0x90000);
        assert_eq!(le16(s, 0x20), 0xA33F);
        assert_eq!(le16(s, 0x22), 0xA000);
        assert_eq!(s[LOADFLAGS] & CAN_USE_HEAP, 0);
        assert_eq!(p.loads[2].addr, 0x9A000);
        let mut k = bzimage(0x201, 4096);
        k[0x201] = 0x26;
        let p = load(&k, &[], "", 32 << 20).unwrap();
        assert_eq!(le16(&p.loads[0].bytes, HEAP_END_PTR), 0x9E00);
        assert_eq!(
            p.entry,
            Entry::Real {
                cs: 0x9020,
                ip: 0,
                seg: 0x9000,
                sp: 0xA000
            }
        );
        // A zImage (not LOADED_HIGH) runs its protected-mode part at 10000h.
        let mut k = bzimage(0x204, 4096);
        k[LOADFLAGS] = 0;
        let p = load(&k, &[], "", 32 << 20).unwrap();
        assert_eq!((p.loads[0].addr, p.loads[1].addr), (0x90000, 0x10000));
    }

    #[test]
    fn vga_option_sets_vid_mode() {
        let k = bzimage(0x20F, 64);
        let mode = |c: &str| {
            le16(
                &load(&k, &[], c, 32 << 20).unwrap().loads[0].bytes,
                VID_MODE,
            )
        };
        assert_eq!(mode("vga=ext"), 0xFFFE);
        assert_eq!(mode("quiet vga=ask"), 0xFFFD);
        assert_eq!(mode("vga=0x317"), 0x317);
        assert_eq!(mode("vga=791"), 791);
        assert!(load(&k, &[], "vga=big", 32 << 20).is_err());
    }

    #[test]
    fn bad_kernels_are_errors_not_panics() {
        let k = bzimage(0x20F, 4096);
        // Cut inside the setup, inside the protected-mode part, at the header.
        for n in [0x210, 2560, 3000, 0x1F0] {
            let r = if is_linux(&k[..n]) {
                load(&k[..n], &[], "", 32 << 20)
            } else {
                Err("not linux".into())
            };
            assert!(r.is_err(), "{n} bytes accepted");
        }
        let e = load(&k[..3000], &[], "", 32 << 20).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let mut old = k.clone();
        old[VERSION] = 0x00;
        old[VERSION + 1] = 0x01;
        assert!(load(&old, &[], "", 32 << 20)
            .unwrap_err()
            .contains("older than 2.00"));
        let mut big = k.clone();
        big[SETUP_SECTS] = 200;
        assert!(load(&big, &[], "", 32 << 20).unwrap_err().contains("32 KB"));
        // Too big for RAM: 2 MB of kernel at 1 MB ends at 3 MB, in 2 MB of RAM.
        let huge = bzimage(0x20F, 2 << 20);
        assert!(load(&huge, &[], "", 2 << 20)
            .unwrap_err()
            .contains("needs 3 MB"));
        // Command line longer than cmdline_size.
        let long = "x".repeat(2048);
        assert!(load(&k, &[], &long, 32 << 20)
            .unwrap_err()
            .contains("at most 2047"));
        // An initrd bigger than RAM.
        let rd = vec![0u8; 40 << 20];
        let m = [Module {
            name: "rd",
            bytes: &rd,
        }];
        assert!(load(&k, &m, "", 32 << 20)
            .unwrap_err()
            .contains("does not fit"));
        // Random headers with the signature never panic.
        let mut seed = 0x1234_5678u32;
        for _ in 0..2000 {
            let mut f = k[..0x300].to_vec();
            for b in f[0x1F0..0x270].iter_mut() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (seed >> 16) as u8;
            }
            f[HEADER..HEADER + 4].copy_from_slice(b"HdrS");
            let _ = load(&f, &m, "console=ttyS0", 32 << 20);
        }
    }
}
