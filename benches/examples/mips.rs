//! Runs one workload (default: all, one after another) for N million instructions and
//! prints guest MIPS: `cargo run --release -p benches --example mips -- 100 [NAME]`,
//! NAME one of CrcMemcpy, Alu, PagedMem, RepMovsb, RepStosd, CallRet, BigNum. Each workload's
//! first pass is checked against its hand-worked result before timing.
use std::time::Instant;

fn main() {
    let millions: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let only = std::env::args().nth(2);
    for w in benches::WORKLOADS {
        if only.as_deref().is_some_and(|o| o != format!("{w:?}")) {
            continue;
        }
        let (mut cpu, mut bus) = benches::guest(w);
        cpu.run(&mut bus, benches::pass_budget(w));
        if let Err(e) = benches::check(w, &bus) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        let t = Instant::now();
        let before = cpu.icount;
        cpu.run(&mut bus, millions * 1_000_000);
        let n = cpu.icount - before;
        let s = t.elapsed().as_secs_f64();
        println!(
            "{w:?}: {n} instructions in {s:.3} s: {:.1} MIPS",
            n as f64 / s / 1e6
        );
    }
}
