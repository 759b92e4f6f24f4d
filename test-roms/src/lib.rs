//! Guest programs the project writes itself, assembled from the Rust source below with
//! iced-x86's code assembler (no external assembler needed): each function returns a
//! raw BIOS image that `x86 run --bios` (or the built-in default) maps at the top of the
//! first megabyte. The CPU starts at F000:FFF0, where every image jumps to its code.
//!
//! Image layout (64 KB, segment F000): strings from offset 0x0000, code from 0x1000,
//! the reset vector at 0xFFF0.

use iced_x86::code_asm::*;

const ROM_SIZE: usize = 64 << 10;
const CODE: u16 = 0x1000;

/// Builds a 64 KB image: `strings` placed from offset 0 (their offsets returned in
/// order), code assembled at F000:1000, and a far jump there at the reset vector.
fn build_rom(
    strings: &[&[u8]],
    code: impl FnOnce(&mut CodeAssembler, &[u16]) -> Result<(), IcedError>,
) -> Vec<u8> {
    let mut rom = vec![0xFFu8; ROM_SIZE];
    let mut offsets = Vec::new();
    let mut at = 0usize;
    for s in strings {
        offsets.push(at as u16);
        rom[at..at + s.len()].copy_from_slice(s);
        rom[at + s.len()] = 0;
        at += s.len() + 1;
    }
    assert!(at <= CODE as usize, "strings overflow the data area");
    let mut a = CodeAssembler::new(16).expect("16-bit assembler");
    code(&mut a, &offsets).expect("the ROM source assembles");
    let bytes = a.assemble(CODE as u64).expect("the ROM source assembles");
    rom[CODE as usize..CODE as usize + bytes.len()].copy_from_slice(&bytes);
    // Reset vector: jmp far F000:1000.
    rom[0xFFF0..0xFFF5].copy_from_slice(&[0xEA, CODE as u8, (CODE >> 8) as u8, 0x00, 0xF0]);
    rom
}

/// Prints the NUL-terminated string at DS:SI on port 0xE9.
fn print_routine(a: &mut CodeAssembler, label: &mut CodeLabel) -> Result<(), IcedError> {
    let mut done = a.create_label();
    a.set_label(label)?;
    let lp = *label;
    a.lodsb()?;
    a.test(al, al)?;
    a.jz(done)?;
    a.out(0xE9u32, al)?;
    a.jmp(lp)?;
    a.set_label(&mut done)?;
    a.ret()
}

/// Prints AX in decimal on port 0xE9.
fn print_dec_routine(a: &mut CodeAssembler, label: &mut CodeLabel) -> Result<(), IcedError> {
    let mut divide = a.create_label();
    let mut emit = a.create_label();
    a.set_label(label)?;
    a.xor(cx, cx)?;
    a.mov(bx, 10u32)?;
    a.set_label(&mut divide)?;
    a.xor(dx, dx)?;
    a.div(bx)?;
    a.push(dx)?;
    a.inc(cx)?;
    a.test(ax, ax)?;
    a.jnz(divide)?;
    a.set_label(&mut emit)?;
    a.pop(ax)?;
    a.add(al, b'0' as u32)?;
    a.out(0xE9u32, al)?;
    a.loop_(emit)?;
    a.ret()
}

/// The built-in default guest: greets on the debug console, reads the CPU vendor with
/// CPUID, counts the primes below 1000 with a sieve (there are 168), and powers off
/// through the Bochs shutdown port.
pub fn demo() -> Vec<u8> {
    let strings: [&[u8]; 5] = [
        b"x86 demo guest: hello from real mode\n",
        b"CPU vendor: ",
        b"\nprimes below 1000: ",
        b"\nbye\n",
        b"Shutdown",
    ];
    build_rom(&strings, |a, s| {
        let mut print = a.create_label();
        let mut print_dec = a.create_label();
        let mut outer = a.create_label();
        let mut inner = a.create_label();
        let mut next = a.create_label();
        let mut sieved = a.create_label();
        a.cli()?;
        a.cld()?;
        a.xor(ax, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, 0x7C00u32)?;
        a.mov(ax, 0xF000u32)?;
        a.mov(ds, ax)?;
        a.mov(si, s[0] as u32)?;
        a.call(print)?;
        a.mov(si, s[1] as u32)?;
        a.call(print)?;
        // CPUID leaf 0: the vendor string is EBX, EDX, ECX.
        a.xor(eax, eax)?;
        a.cpuid()?;
        a.push(ecx)?;
        a.push(edx)?;
        a.push(ebx)?;
        a.mov(bp, sp)?;
        a.mov(cx, 12u32)?;
        a.xor(di, di)?;
        let mut vendor = a.create_label();
        a.set_label(&mut vendor)?;
        a.mov(al, byte_ptr(bp + di).ss())?;
        a.out(0xE9u32, al)?;
        a.inc(di)?;
        a.loop_(vendor)?;
        a.add(sp, 12u32)?;
        a.mov(si, s[2] as u32)?;
        a.call(print)?;
        // Sieve of Eratosthenes over 1000 bytes at 1000:0000.
        a.mov(ax, 0x1000u32)?;
        a.mov(es, ax)?;
        a.xor(di, di)?;
        a.mov(cx, 1000u32)?;
        a.mov(al, 1u32)?;
        a.rep().stosb()?;
        a.xor(bp, bp)?;
        a.mov(bx, 2u32)?;
        a.set_label(&mut outer)?;
        a.cmp(bx, 1000u32)?;
        a.jae(sieved)?;
        a.cmp(byte_ptr(bx).es(), 0u32)?;
        a.je(next)?;
        a.inc(bp)?;
        a.mov(ax, bx)?;
        a.mul(bx)?;
        a.test(dx, dx)?;
        a.jnz(next)?;
        a.set_label(&mut inner)?;
        a.cmp(ax, 1000u32)?;
        a.jae(next)?;
        a.mov(di, ax)?;
        a.mov(byte_ptr(di).es(), 0u32)?;
        a.add(ax, bx)?;
        a.jmp(inner)?;
        a.set_label(&mut next)?;
        a.inc(bx)?;
        a.jmp(outer)?;
        a.set_label(&mut sieved)?;
        a.mov(ax, bp)?;
        a.call(print_dec)?;
        a.mov(si, s[3] as u32)?;
        a.call(print)?;
        // Power off: "Shutdown" to the Bochs port.
        a.mov(si, s[4] as u32)?;
        a.mov(dx, 0x8900u32)?;
        let mut sd = a.create_label();
        let mut sd_done = a.create_label();
        a.set_label(&mut sd)?;
        a.lodsb()?;
        a.test(al, al)?;
        a.jz(sd_done)?;
        a.out(dx, al)?;
        a.jmp(sd)?;
        a.set_label(&mut sd_done)?;
        a.hlt()?;
        print_routine(a, &mut print)?;
        print_dec_routine(a, &mut print_dec)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_image_has_a_reset_vector() {
        let rom = super::demo();
        assert_eq!(rom.len(), 64 << 10);
        assert_eq!(rom[0xFFF0], 0xEA);
    }
}
