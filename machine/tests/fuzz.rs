//! The guest can never crash the host: random real-mode code runs on a PC with the
//! built-in BIOS and a floppy and a hard disk of random bytes, so BIOS services, port
//! writes and disk transfers are all driven with garbage registers and pointers.

use cpu::Bus;
use machine::{Config, Pc};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn random_code_with_bios_services_and_devices_never_panics() {
    let mut rng = Rng(0x005E_ED0F_D15C);
    let mut total = 0u64;
    for _round in 0..12 {
        let mut fd = vec![0u8; 1_474_560];
        for b in fd.iter_mut().step_by(97) {
            *b = rng.next() as u8;
        }
        // Bootable, so the BIOS jumps into the random boot sector.
        fd[510] = 0x55;
        fd[511] = 0xAA;
        let hd: Vec<u8> = (0..512 * 64).map(|_| rng.next() as u8).collect();
        let mut pc = Pc::new(Config {
            memory_mb: 2,
            no_reboot: true,
            ..Config::default()
        })
        .unwrap();
        pc.attach_floppy(0, Box::new(machine::MemDisk::new(fd)))
            .unwrap();
        pc.attach_hard_disk(0, Box::new(machine::MemDisk::new(hd)))
            .unwrap();
        // POST runs and jumps to the (random) boot sector.
        pc.run(1000);
        // Random code and data everywhere above the BIOS data area; the interrupt
        // vectors still point at the BIOS, so INT n reaches its services.
        for a in (0x500u32..0x9_0000).step_by(4) {
            pc.bus.write32(a, rng.next() as u32);
        }
        pc.cpu.flush_cache();
        for r in pc.cpu.regs.iter_mut() {
            *r = rng.next() as u32;
        }
        pc.cpu.eip = rng.next() as u32 & 0xFFFF;
        for s in [cpu::CS, cpu::DS, cpu::ES, cpu::SS] {
            pc.cpu.seg[s].load_real((rng.next() as u16) & 0x7FFF);
        }
        for _ in 0..40 {
            let before = pc.instructions();
            if pc.run(20_000).is_some() {
                break;
            }
            total += pc.instructions() - before;
            // Keys and serial input arrive at random moments too.
            pc.key_bytes(&[rng.next() as u8]);
            let b = [rng.next() as u8];
            pc.bus.com[0].push_input(&b, &mut pc.bus.pic);
        }
    }
    assert!(total > 0);
}
