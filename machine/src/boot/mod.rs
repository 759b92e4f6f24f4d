//! Direct kernel boot (`x86 run --kernel`): what a boot loader does between the BIOS's
//! power-on self test and the kernel's first instruction, for the two formats PC boot
//! loaders load without a file system: the Linux/x86 boot protocol ([`linux`], bzImage
//! and zImage, and images that wear its header such as iPXE's `.lkrn`) and Multiboot
//! version 1 ([`multiboot`], ELF32 or the a.out kludge).
//!
//! The loaders are pure functions from the kernel's bytes, the initrds/modules and the
//! command line to a [`BootPlan`]: the bytes to place at which physical addresses and
//! the CPU state to start in. They never read files (the frontend does) and never
//! touch the machine; [`Pc::set_kernel`] hands the plan to the built-in BIOS, whose boot
//! step (INT 19h) applies it instead of reading a boot sector — after POST, so the
//! interrupt vectors, BIOS data area, VGA text mode and the INT 15h E820 memory map a
//! real-mode kernel setup asks for are in place, as with QEMU's `-kernel` (its
//! linuxboot option ROM also hooks INT 19h). A reset boots the kernel again.
//!
//! Which format: a Linux setup header (`HdrS` at 0202h) wins, then a Multiboot header
//! in the first 8 KB — QEMU's order, so a file carrying both boots as Linux.

pub mod linux;
pub mod multiboot;

use crate::Pc;
use cpu::{CS, DS, EAX, EBX, ES, FS, GS, SS};
use std::sync::Arc;

/// A file handed to the kernel besides itself: a Linux initrd or a Multiboot module.
#[derive(Clone, Copy, Debug)]
pub struct Module<'a> {
    /// What the user called it: a Multiboot module's string.
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Bytes to put at a physical address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Load {
    pub addr: u32,
    pub bytes: Vec<u8>,
}

/// The CPU state a kernel starts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Real mode at `cs:ip`, DS = ES = FS = GS = SS = `seg`, SP = `sp`, interrupts
    /// off (the Linux boot protocol's real-mode entry).
    Real { cs: u16, ip: u16, seg: u16, sp: u16 },
    /// Flat 32-bit protected mode (4 GB code and data segments at base 0), paging and
    /// interrupts off, A20 on: the Multiboot machine state. `gdt` is the linear address
    /// of a GDT with code at selector 08h and data at 10h (Multiboot does not promise
    /// one; a valid table costs nothing and keeps a careless kernel alive).
    Flat32 {
        eip: u32,
        eax: u32,
        ebx: u32,
        esp: u32,
        gdt: u32,
    },
}

/// Everything a loader decided: placement and the start state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootPlan {
    /// What was recognised, for the log (e.g. "Linux boot protocol 2.15, bzImage").
    pub kind: String,
    pub loads: Vec<Load>,
    /// Ranges `[start, end)` to clear (a Multiboot kernel's BSS).
    pub zero: Vec<(u32, u32)>,
    pub entry: Entry,
}

/// E820 address-range types (ACPI 6.4 §15, "System Address Map Interfaces").
pub const E820_RAM: u32 = 1;
pub const E820_RESERVED: u32 = 2;

/// The machine's memory map: what INT 15h E820h reports and what a Multiboot kernel
/// gets, (base, length, type). Conventional memory up to 9FC00h (the top KB is where
/// an extended BIOS data area would sit, so it is left out of RAM as PC BIOSes do), the
/// system BIOS at F0000h–FFFFFh reserved, and RAM from 1 MB to the installed size. The
/// VGA window and option-ROM space (A0000h–EFFFFh) are in no entry: a hole.
pub fn memory_map(ram: u64) -> [(u64, u64, u32); 3] {
    [
        (0, 0x9_FC00, E820_RAM),
        (0xF_0000, 0x1_0000, E820_RESERVED),
        (0x10_0000, ram.saturating_sub(0x10_0000), E820_RAM),
    ]
}

/// Recognises the kernel's format and lays it out for a machine with `ram` bytes of
/// RAM. Errors are one line, naming what is wrong with which file part.
pub fn plan(
    kernel: &[u8],
    modules: &[Module],
    cmdline: &str,
    ram: u32,
) -> Result<BootPlan, String> {
    if linux::is_linux(kernel) {
        return linux::load(kernel, modules, cmdline, ram);
    }
    if let Some(h) = multiboot::find_header(kernel)? {
        return multiboot::load(kernel, &h, modules, cmdline, ram);
    }
    if kernel.len() < 12 {
        return Err(format!(
            "the kernel file is {} bytes: too short for a Linux setup header or a Multiboot header",
            kernel.len()
        ));
    }
    Err(
        "not a kernel this machine can boot: no Linux setup header (\"HdrS\" at 0x202) and no Multiboot header (0x1BADB002) in the first 8192 bytes"
            .into(),
    )
}

/// Little-endian reads that cannot go out of bounds (a short file reads as zeros; the
/// loaders check lengths before they rely on a field).
pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    let mut v = [0u8; 2];
    for (i, x) in v.iter_mut().enumerate() {
        *x = b.get(at.wrapping_add(i)).copied().unwrap_or(0);
    }
    u16::from_le_bytes(v)
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    le16(b, at) as u32 | (le16(b, at.wrapping_add(2)) as u32) << 16
}

pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    le32(b, at) as u64 | (le32(b, at.wrapping_add(4)) as u64) << 32
}

impl Pc {
    /// Boots `plan` instead of a disk: the built-in BIOS's INT 19h applies it after
    /// POST (and again after every reset). A `--bios` image never looks at it.
    pub fn set_kernel(&mut self, plan: BootPlan) -> Result<(), String> {
        let ram = self.bus.ram.len() as u64;
        for l in &plan.loads {
            if l.addr as u64 + l.bytes.len() as u64 > ram {
                return Err(format!(
                    "kernel boot: {} bytes at {:#x} lie beyond the {} MB of RAM",
                    l.bytes.len(),
                    l.addr,
                    ram >> 20
                ));
            }
        }
        self.bios_state.kernel = Some(Arc::new(plan));
        Ok(())
    }

    /// INT 19h with a kernel set: copy it into RAM and start it. Returns false when no
    /// kernel is set (boot from disk as usual).
    pub(crate) fn start_kernel(&mut self) -> bool {
        let Some(plan) = self.bios_state.kernel.clone() else {
            return false;
        };
        log::info!(target: "bios", "booting the kernel: {}", plan.kind);
        let ram = &mut self.bus.ram;
        for l in &plan.loads {
            let a = l.addr as usize;
            if let Some(dst) = ram.get_mut(a..a + l.bytes.len()) {
                dst.copy_from_slice(&l.bytes);
            }
        }
        for &(s, e) in &plan.zero {
            let end = (e as usize).min(ram.len());
            if let Some(dst) = ram.get_mut(s as usize..end) {
                dst.fill(0);
            }
        }
        // Everything the loader wrote: drop any cached code and translations.
        self.cpu.flush_cache();
        self.cpu.flush_tlb();
        self.bus.a20 = true;
        self.cpu.regs = [0; 8];
        match plan.entry {
            Entry::Real { cs, ip, seg, sp } => {
                for s in [DS, ES, FS, GS, SS] {
                    self.cpu.seg[s].load_real(seg);
                }
                self.cpu.seg[CS].load_real(cs);
                self.cpu.eip = ip as u32;
                self.cpu.regs[4] = sp as u32;
            }
            Entry::Flat32 {
                eip,
                eax,
                ebx,
                esp,
                gdt,
            } => {
                self.cpu.gdtr = cpu::TableReg {
                    base: gdt,
                    limit: 0x17,
                };
                self.cpu.enter_flat_protected_mode(0x08, 0x10, 0);
                self.cpu.cr0 &= !cpu::CR0_PG;
                self.cpu.eip = eip;
                self.cpu.regs[EAX] = eax;
                self.cpu.regs[EBX] = ebx;
                self.cpu.regs[4] = esp;
            }
        }
        // IF = 0 and VM = 0 (bit 1 always reads 1): both entry states ask for it.
        self.cpu.eflags = 0x2;
        self.cpu.halted = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_kernel_is_one_clear_error() {
        let e = plan(&[0u8; 20000], &[], "", 32 << 20).unwrap_err();
        assert!(e.contains("no Linux setup header"), "{e}");
        let e = plan(&[], &[], "", 32 << 20).unwrap_err();
        assert!(e.contains("0 bytes"), "{e}");
    }

    #[test]
    fn memory_map_matches_the_pc_layout() {
        // 32 MB: 639 KB conventional, BIOS reserved, 31 MB above 1 MB.
        let m = memory_map(32 << 20);
        assert_eq!(m[0], (0, 639 * 1024, 1));
        assert_eq!(m[1], (0xF0000, 0x10000, 2));
        assert_eq!(m[2], (0x100000, 31 << 20, 1));
    }

    #[test]
    fn reads_past_the_end_are_zero() {
        assert_eq!(le32(&[1, 2], 0), 0x0201);
        assert_eq!(le16(&[], usize::MAX), 0);
        assert_eq!(le64(&[1, 0, 0, 0, 0, 0, 0, 0x80], 0), 0x8000_0000_0000_0001);
    }
}
