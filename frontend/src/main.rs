//! The `x86` command: runs guests and CPU test suites.

mod sst;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "x86", version, about = "A pure-software x86 PC emulator", long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run single-step CPU test suites (SingleStepTests JSON, .json or .json.gz).
    ///
    /// Example: x86 sst ../shared/testdata/sst-80286-real
    Sst {
        /// Test files or directories of test files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print the first failures of each file in detail.
        #[arg(short, long)]
        verbose: bool,
        /// How many failures per file `-v` details.
        #[arg(long, default_value_t = 3)]
        details: usize,
        /// Exit with status 0 even when tests fail.
        #[arg(long)]
        allow_fail: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Sst {
            paths,
            verbose,
            details,
            allow_fail,
        } => {
            let files = match sst::collect(&paths) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("x86: {e}");
                    return ExitCode::from(2);
                }
            };
            let start = std::time::Instant::now();
            match sst::run(
                &files,
                &sst::Options {
                    verbose,
                    max_details: details,
                },
            ) {
                Ok(t) => {
                    eprintln!(
                        "({} files in {:.1} s)",
                        files.len(),
                        start.elapsed().as_secs_f64()
                    );
                    println!("{} passed, {} failed", t.passed, t.failed);
                    if t.failed > 0 && !allow_fail {
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    eprintln!("x86: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
