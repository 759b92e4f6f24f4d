//! Runs the CRC32 + memcpy guest for N million instructions and prints guest MIPS:
//! `cargo run --release -p benches --example mips -- 100`.
use std::time::Instant;

fn main() {
    let millions: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let (mut cpu, mut bus) = benches::crc_memcpy_guest();
    cpu.run(&mut bus, 1_000_000);
    let t = Instant::now();
    let before = cpu.icount;
    cpu.run(&mut bus, millions * 1_000_000);
    let n = cpu.icount - before;
    let s = t.elapsed().as_secs_f64();
    println!(
        "{n} instructions in {s:.3} s: {:.1} MIPS",
        n as f64 / s / 1e6
    );
}
