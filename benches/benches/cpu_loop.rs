//! Guest MIPS of the CPU core on a CRC32 + memcpy loop (flat 32-bit code).
//! Criterion's throughput line ("thrpt") is in millions of guest instructions per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Instant;

const BUDGET: u64 = 1_000_000;

fn cpu_loop(c: &mut Criterion) {
    let (mut cpu, mut bus) = benches::crc_memcpy_guest();
    // Warm the block cache, then report a plain MIPS figure as well.
    cpu.run(&mut bus, BUDGET);
    let t = Instant::now();
    let before = cpu.icount;
    cpu.run(&mut bus, 20 * BUDGET);
    let mips = (cpu.icount - before) as f64 / t.elapsed().as_secs_f64() / 1e6;
    println!("guest MIPS (crc32+memcpy, 20M instructions): {mips:.1}");

    let mut g = c.benchmark_group("cpu");
    g.throughput(Throughput::Elements(BUDGET));
    g.bench_function("crc32_memcpy_1M_instructions", |b| {
        b.iter(|| cpu.run(&mut bus, BUDGET))
    });
    g.finish();
}

criterion_group!(benches, cpu_loop);
criterion_main!(benches);
