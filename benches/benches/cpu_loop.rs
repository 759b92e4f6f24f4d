//! Guest MIPS of the CPU core on each workload of `benches::WORKLOADS` (flat 32-bit
//! code; see benches/src/lib.rs). Criterion's throughput line ("thrpt") is in guest
//! instructions per second (Melem/s = MIPS). Before timing, each workload runs one
//! pass and its result is checked against a hand-worked value, so a broken CPU cannot
//! report a fast number.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Instant;

const BUDGET: u64 = 1_000_000;

fn cpu_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("cpu");
    g.throughput(Throughput::Elements(BUDGET));
    for w in benches::WORKLOADS {
        let (mut cpu, mut bus) = benches::guest(w);
        cpu.run(&mut bus, benches::pass_budget(w));
        if let Err(e) = benches::check(w, &bus) {
            panic!("workload computes a wrong result: {e}");
        }
        // Warm the block cache, then report a plain MIPS figure as well.
        cpu.run(&mut bus, BUDGET);
        let t = Instant::now();
        let before = cpu.icount;
        cpu.run(&mut bus, 20 * BUDGET);
        let mips = (cpu.icount - before) as f64 / t.elapsed().as_secs_f64() / 1e6;
        println!("guest MIPS ({w:?}, 20M instructions): {mips:.1}");
        g.bench_function(format!("{w:?}_1M_instructions"), |b| {
            b.iter(|| cpu.run(&mut bus, BUDGET))
        });
    }
    g.finish();
}

criterion_group!(benches, cpu_loop);
criterion_main!(benches);
