//! A guest cannot keep the CPU from honouring `--timeout`: repeated string instructions
//! with a count of four billion are interrupted between iterations (SDM Vol. 2 "REP")
//! instead of running to completion inside one instruction.

use std::process::Command;
use std::time::Instant;

/// Boot-sector code at 0000:7C00 that enters flat 32-bit protected mode and jumps to
/// 0008:7C80 (NASM source):
/// ```text
///   cli
///   xor ax, ax
///   mov ds, ax
///   lgdt [gdtr]                     ; at 7C28
///   mov eax, cr0
///   or al, 1
///   mov cr0, eax
///   jmp dword 0x08:0x7C80
/// gdtr: dw 23, dd gdt               ; gdt at 7C2E: null, 4 GB code, 4 GB data
/// ```
const ENTER_PM: [u8; 70] = [
    0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x0f, 0x01, 0x16, 0x28, 0x7c, 0x0f, 0x20, 0xc0, 0x0c, 0x01, 0x0f,
    0x22, 0xc0, 0x66, 0xea, 0x80, 0x7c, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17, 0x00, 0x2e, 0x7c, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,
];

/// 32-bit code at 7C80 setting up for a string instruction with the largest count:
/// ```text
///   mov ax, 0x10 / mov ds, ax / mov es, ax / mov ss, ax / mov esp, 0x7000
///   cld
///   mov ecx, 0xFFFFFFFF
///   mov esi, 0x10000000             ; above RAM: nothing the loop touches is code
///   mov edi, 0x20000000
///   mov dx, 0x2E0                   ; an unassigned port
/// ```
const SETUP32: [u8; 35] = [
    0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x70, 0x00, 0x00, 0xfc,
    0xb9, 0xff, 0xff, 0xff, 0xff, 0xbe, 0x00, 0x00, 0x00, 0x10, 0xbf, 0x00, 0x00, 0x00, 0x20, 0x66,
    0xba, 0xe0, 0x02,
];

/// A 1.44 MB floppy whose boot sector holds `code` at 7C00 and `pm` at 7C80.
fn boot_floppy(name: &str, code: &[u8], pm: &[u8]) -> std::path::PathBuf {
    let mut img = vec![0u8; 1_474_560];
    img[..code.len()].copy_from_slice(code);
    img[0x80..0x80 + pm.len()].copy_from_slice(pm);
    img[510] = 0x55;
    img[511] = 0xAA;
    let p = std::env::temp_dir().join(format!("x86-safety-cpu-{}-{name}.img", std::process::id()));
    std::fs::write(&p, img).unwrap();
    p
}

/// Boots `img` under `--timeout 2` and checks that it ends with status 124 within 3 s.
fn times_out(img: &std::path::Path) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_x86"))
        .args(["run", "--headless", "--timeout", "2", "--fda"])
        .arg(img)
        .output()
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(img);
    assert_eq!(
        out.status.code(),
        Some(124),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(secs < 3.0, "took {secs:.2} s of wall time");
}

/// Flat protected mode running `op` (a REP string instruction) with ECX = FFFFFFFFh,
/// then HLT, which it must never reach in 2 s.
fn rep32(name: &str, op: [u8; 2]) {
    let mut pm = SETUP32.to_vec();
    pm.extend_from_slice(&op);
    pm.push(0xF4);
    times_out(&boot_floppy(name, &ENTER_PM, &pm));
}

#[test]
fn rep_stosb_with_ecx_ffffffff_honours_the_timeout() {
    rep32("stosb", [0xF3, 0xAA]);
}

#[test]
fn rep_lodsb_with_ecx_ffffffff_honours_the_timeout() {
    rep32("lodsb", [0xF3, 0xAC]);
}

#[test]
fn rep_movsd_with_ecx_ffffffff_honours_the_timeout() {
    rep32("movsd", [0xF3, 0xA5]);
}

#[test]
fn rep_outsb_and_insb_with_ecx_ffffffff_honour_the_timeout() {
    rep32("outsb", [0xF3, 0x6E]);
    rep32("insb", [0xF3, 0x6C]);
}

#[test]
fn real_mode_rep_movsw_loop_honours_the_timeout() {
    // mov ax, 0x6000 / mov ds, ax / mov ax, 0x5000 / mov es, ax
    // l: mov cx, 0xFFFF / rep movsw / jmp l
    let code = [
        0xb8, 0x00, 0x60, 0x8e, 0xd8, 0xb8, 0x00, 0x50, 0x8e, 0xc0, 0xb9, 0xff, 0xff, 0xf3, 0xa5,
        0xeb, 0xf9,
    ];
    times_out(&boot_floppy("movsw16", &code, &[]));
}
