//! Guest programs the project writes itself, assembled from the Rust source below with
//! iced-x86's code assembler (no external assembler needed). `demo_floppy` is the
//! built-in default guest, a boot floppy for the built-in BIOS; the NASM test ROMs in
//! `asm/` are raw BIOS images run with `x86 run --bios`.

use iced_x86::code_asm::*;

/// The built-in default guest, booted from a 1.44 MB floppy image through the
/// built-in BIOS: a boot sector that loads the rest of the program from the first
/// track. It sets text mode 3, draws a coloured screen with the CPU vendor (CPUID) and
/// the number of primes below 1000 (a sieve: there are 168), echoes typed keys, and
/// powers off (Bochs port 0x8900) on Esc or after 60 seconds without a key. Its lines
/// are also written to the debug console (port 0xE9) for headless runs.
pub fn demo_floppy() -> Vec<u8> {
    const LOAD: u16 = 0x7E00;
    const STRINGS: u16 = 0x8E00;
    const SECTORS: u8 = 17;
    let mut img = vec![0u8; 1_474_560];
    // Boot sector: load sectors 2..18 of track 0 to 0000:7E00 and jump there.
    let mut a = CodeAssembler::new(16).expect("16-bit assembler");
    let boot = (|| -> Result<Vec<u8>, IcedError> {
        let mut fail = a.create_label();
        a.cli()?;
        a.xor(ax, ax)?;
        a.mov(ds, ax)?;
        a.mov(es, ax)?;
        a.mov(ss, ax)?;
        a.mov(sp, 0x7C00u32)?;
        a.sti()?;
        a.mov(ax, 0x0200u32 | SECTORS as u32)?;
        a.mov(bx, LOAD as u32)?;
        a.mov(cx, 0x0002u32)?;
        a.xor(dh, dh)?;
        a.int(0x13)?;
        a.jc(fail)?;
        a.jmp_far(0, LOAD as u32)?;
        a.set_label(&mut fail)?;
        a.hlt()?;
        a.jmp(fail)?;
        a.assemble(0x7C00)
    })()
    .expect("the boot sector assembles");
    img[..boot.len()].copy_from_slice(&boot);
    img[510] = 0x55;
    img[511] = 0xAA;

    let strings: [&[u8]; 9] = [
        b" x86 \xC4 a pure-software PC emulator in Rust ",
        b"x86 demo guest: hello from real mode",
        b"CPU vendor: ",
        b"primes below 1000: ",
        b"Type on the keyboard and the keys appear below.",
        b"Esc powers the machine off.",
        b"Powering off after 60 s without a key; seconds left: ",
        b"bye",
        b"Shutdown",
    ];
    let mut offsets = Vec::new();
    let mut at = STRINGS as usize;
    for st in strings {
        offsets.push(at as u16);
        let o = at - 0x7C00;
        img[o..o + st.len()].copy_from_slice(st);
        img[o + st.len()] = 0;
        at += st.len() + 1;
    }
    let s = &offsets;
    let mut a = CodeAssembler::new(16).expect("16-bit assembler");
    let code = (|| -> Result<Vec<u8>, IcedError> {
        let mut print = a.create_label();
        let mut print_dec = a.create_label();
        let mut newline = a.create_label();
        let mut at_row = a.create_label();
        let (mut outer, mut inner, mut next, mut sieved) = (
            a.create_label(),
            a.create_label(),
            a.create_label(),
            a.create_label(),
        );
        let (mut wait, mut got_key, mut not_enter, mut off, mut sd, mut sd_done) = (
            a.create_label(),
            a.create_label(),
            a.create_label(),
            a.create_label(),
            a.create_label(),
            a.create_label(),
        );
        let mut same = a.create_label();
        a.cld()?;
        // Text mode 3, a blue screen with a white-on-grey title line.
        a.mov(ax, 0x0003u32)?;
        a.int(0x10)?;
        a.mov(ax, 0x0600u32)?;
        a.mov(bh, 0x1Fu32)?;
        a.xor(cx, cx)?;
        a.mov(dx, 0x184Fu32)?;
        a.int(0x10)?;
        a.mov(ax, 0x0600u32)?;
        a.mov(bh, 0x70u32)?;
        a.xor(cx, cx)?;
        a.mov(dx, 0x004Fu32)?;
        a.int(0x10)?;
        // The title through INT 10h AH=13h (screen only: its box-drawing dash is code
        // page 437, not text for the debug console).
        a.mov(ax, 0x1300u32)?;
        a.mov(bx, 0x0070u32)?;
        a.mov(cx, strings[0].len() as u32)?;
        a.mov(dx, (80 - strings[0].len() as u32) / 2)?;
        a.mov(bp, s[0] as u32)?;
        a.int(0x10)?;
        a.mov(dx, 0x0302u32)?;
        a.mov(si, s[1] as u32)?;
        a.call(at_row)?;
        a.call(newline)?;
        // CPUID leaf 0: the vendor string is EBX, EDX, ECX.
        a.mov(dx, 0x0502u32)?;
        a.mov(si, s[2] as u32)?;
        a.call(at_row)?;
        a.xor(eax, eax)?;
        a.cpuid()?;
        a.push(ecx)?;
        a.push(edx)?;
        a.push(ebx)?;
        a.mov(si, sp)?;
        a.mov(cx, 12u32)?;
        let mut vendor = a.create_label();
        a.set_label(&mut vendor)?;
        a.lodsb()?;
        a.mov(ah, 0x0Eu32)?;
        a.mov(bx, 0x0007u32)?;
        a.int(0x10)?;
        a.out(0xE9u32, al)?;
        a.loop_(vendor)?;
        a.add(sp, 12u32)?;
        a.call(newline)?;
        // Sieve of Eratosthenes over 1000 bytes at 1000:0000.
        a.mov(dx, 0x0602u32)?;
        a.mov(si, s[3] as u32)?;
        a.call(at_row)?;
        a.push(es)?;
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
        a.pop(es)?;
        a.mov(ax, bp)?;
        a.mov(byte_ptr(0x504u32), 1u32)?;
        a.call(print_dec)?;
        a.mov(byte_ptr(0x504u32), 0u32)?;
        a.call(newline)?;
        a.mov(dx, 0x0902u32)?;
        a.mov(si, s[4] as u32)?;
        a.call(at_row)?;
        a.call(newline)?;
        a.mov(dx, 0x0A02u32)?;
        a.mov(si, s[5] as u32)?;
        a.call(at_row)?;
        a.call(newline)?;
        a.mov(dx, 0x1602u32)?;
        a.mov(si, s[6] as u32)?;
        a.call(at_row)?;
        a.call(newline)?;
        // Typing area from row 12; [0500h] holds the tick count of the last key.
        a.mov(ax, word_ptr(0x46Cu32))?;
        a.mov(word_ptr(0x500u32), ax)?;
        a.mov(dx, 0x0C02u32)?;
        a.mov(ah, 2u32)?;
        a.xor(bh, bh)?;
        a.int(0x10)?;
        a.set_label(&mut wait)?;
        // Seconds left = 60 - (ticks since the last key) / 18, shown at row 22.
        a.mov(ax, word_ptr(0x46Cu32))?;
        a.sub(ax, word_ptr(0x500u32))?;
        a.xor(dx, dx)?;
        a.mov(cx, 18u32)?;
        a.div(cx)?;
        a.cmp(ax, 60u32)?;
        a.jae(off)?;
        a.mov(cx, 60u32)?;
        a.sub(cx, ax)?;
        a.cmp(cx, word_ptr(0x502u32))?;
        a.je(same)?;
        a.mov(word_ptr(0x502u32), cx)?;
        a.mov(ah, 3u32)?;
        a.xor(bh, bh)?;
        a.int(0x10)?;
        a.push(dx)?;
        a.mov(dx, 0x1602u32 + strings[6].len() as u32)?;
        a.mov(ah, 2u32)?;
        a.int(0x10)?;
        a.mov(ax, 0x0920u32)?;
        a.mov(bx, 0x001Eu32)?;
        a.mov(cx, 3u32)?;
        a.int(0x10)?;
        a.mov(ax, word_ptr(0x502u32))?;
        a.call(print_dec)?;
        a.pop(dx)?;
        a.mov(ah, 2u32)?;
        a.xor(bh, bh)?;
        a.int(0x10)?;
        a.set_label(&mut same)?;
        a.mov(ah, 1u32)?;
        a.int(0x16)?;
        a.jnz(got_key)?;
        a.sti()?;
        a.hlt()?;
        a.jmp(wait)?;
        a.set_label(&mut got_key)?;
        a.xor(ah, ah)?;
        a.int(0x16)?;
        a.mov(bx, word_ptr(0x46Cu32))?;
        a.mov(word_ptr(0x500u32), bx)?;
        a.cmp(al, 27u32)?;
        a.je(off)?;
        a.cmp(al, 13u32)?;
        a.jne(not_enter)?;
        a.call(newline)?;
        a.mov(ah, 3u32)?;
        a.xor(bh, bh)?;
        a.int(0x10)?;
        // Next row of the typing area (rows 12–20, then back to the top).
        let mut row_ok = a.create_label();
        a.inc(dh)?;
        a.cmp(dh, 21u32)?;
        a.jb(row_ok)?;
        a.mov(dh, 12u32)?;
        a.set_label(&mut row_ok)?;
        a.mov(dl, 2u32)?;
        a.mov(ah, 2u32)?;
        a.int(0x10)?;
        a.jmp(wait)?;
        a.set_label(&mut not_enter)?;
        a.test(al, al)?;
        a.jz(wait)?;
        a.out(0xE9u32, al)?;
        a.mov(ah, 0x0Eu32)?;
        a.mov(bx, 0x000Eu32)?;
        a.int(0x10)?;
        a.jmp(wait)?;
        // Power off: "bye", then "Shutdown" to the Bochs port.
        a.set_label(&mut off)?;
        a.call(newline)?;
        a.mov(dx, 0x1702u32)?;
        a.mov(si, s[7] as u32)?;
        a.call(at_row)?;
        a.call(newline)?;
        a.mov(si, s[8] as u32)?;
        a.mov(dx, 0x8900u32)?;
        a.set_label(&mut sd)?;
        a.lodsb()?;
        a.test(al, al)?;
        a.jz(sd_done)?;
        a.out(dx, al)?;
        a.jmp(sd)?;
        a.set_label(&mut sd_done)?;
        a.cli()?;
        a.hlt()?;
        // at_row: print DS:SI at row DH, column DL (attribute kept from the screen).
        a.set_label(&mut at_row)?;
        a.mov(ah, 2u32)?;
        a.xor(bh, bh)?;
        a.int(0x10)?;
        // print: teletype DS:SI to the screen and to port 0xE9.
        a.set_label(&mut print)?;
        let mut done = a.create_label();
        let lp = print;
        a.lodsb()?;
        a.test(al, al)?;
        a.jz(done)?;
        a.out(0xE9u32, al)?;
        a.mov(ah, 0x0Eu32)?;
        a.xor(bh, bh)?;
        a.int(0x10)?;
        a.jmp(lp)?;
        a.set_label(&mut done)?;
        a.ret()?;
        // newline: end the debug-console line.
        a.set_label(&mut newline)?;
        a.mov(al, b'\n' as u32)?;
        a.out(0xE9u32, al)?;
        a.ret()?;
        // print_dec: AX in decimal, to the screen and to port 0xE9.
        let (mut divide, mut emit) = (a.create_label(), a.create_label());
        a.set_label(&mut print_dec)?;
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
        // Only the primes go to the debug console, not the countdown.
        let mut quiet = a.create_label();
        a.cmp(byte_ptr(0x504u32), 0u32)?;
        a.je(quiet)?;
        a.out(0xE9u32, al)?;
        a.set_label(&mut quiet)?;
        a.mov(ah, 0x0Eu32)?;
        a.xor(bh, bh)?;
        a.int(0x10)?;
        a.loop_(emit)?;
        a.ret()?;
        a.assemble(LOAD as u64)
    })()
    .expect("the demo program assembles");
    assert!(
        code.len() <= (STRINGS - LOAD) as usize,
        "the demo code overflows its area"
    );
    let o = (LOAD - 0x7C00) as usize;
    img[o..o + code.len()].copy_from_slice(&code);
    assert!(at <= LOAD as usize + SECTORS as usize * 512);
    img
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_floppy_is_a_bootable_1440k_image() {
        let img = super::demo_floppy();
        assert_eq!(img.len(), 1_474_560);
        assert_eq!(&img[510..512], &[0x55, 0xAA]);
    }
}
