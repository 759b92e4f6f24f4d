//! The `x86` command: runs guests and CPU test suites.

/// A line on stderr that can never panic: `eprintln!` panics when stderr fails (a
/// closed terminal after SIGHUP gives EIO), and a message must not cost the run its
/// orderly end.
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod disk;
mod frame;
mod gdb;
mod pace;
mod replay;
mod run;
mod sst;
mod window;

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
    /// Run a guest in a window (or --headless): a disk image through the built-in BIOS,
    /// a raw BIOS image (--bios), or with no image the built-in demo guest.
    ///
    /// Examples: `x86 run` (the demo); `x86 run freedos.img`;
    /// `x86 run --fda freedos.img --headless --serial stdio --until 'A:\>'`;
    /// `x86 run --bios test.bin --headless --debugcon stdio --post stderr`
    Run(Box<run::RunArgs>),
    /// Run single-step CPU test suites (SingleStepTests JSON, .json or .json.gz).
    ///
    /// Example: x86 sst ../shared/testdata/sst-80286-real
    Sst {
        /// Test files or directories of test files. Example: x86 sst tests/00.json.gz
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print the first failures of each file in detail. Example: -v
        #[arg(short, long)]
        verbose: bool,
        /// How many failures per file `-v` details. Example: --details 10
        #[arg(long, default_value_t = 3)]
        details: usize,
        /// Exit with status 0 even when tests fail. Example: --allow-fail
        #[arg(long)]
        allow_fail: bool,
        /// Exit with status 0 when at least this percentage of the counted tests pass.
        /// Example: --min-pass-rate 99.5
        #[arg(long, value_name = "PERCENT")]
        min_pass_rate: Option<f64>,
    },
}

/// One line naming the problem, as for every other user error: clap's first line plus
/// its `tip:` lines ("a similar argument exists: '--hda'"), which are the useful part of
/// a typo's error.
fn one_line(clap_text: &str) -> String {
    let mut lines = clap_text.lines().map(str::trim);
    let first = lines
        .next()
        .unwrap_or("bad arguments")
        .trim_start_matches("error: ");
    let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip:")).collect();
    if tips.is_empty() {
        format!("{first} (try --help)")
    } else {
        format!("{first} ({}; try --help)", tips.join("; "))
    }
}

fn main() -> ExitCode {
    // QEMU's single-dash spelling of the CD flag, which clap would read as short flags.
    let argv = std::env::args_os().map(|a| if a == "-cdrom" { "--cdrom".into() } else { a });
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            errln!("x86: {}", one_line(&e.render().to_string()));
            return ExitCode::from(run::EXIT_USAGE);
        }
    };
    let (log, log_file) = match &cli.cmd {
        Cmd::Run(a) => (a.log.clone(), a.log_file.clone()),
        _ => (None, None),
    };
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"));
    logger.format_timestamp(None);
    if let Some(spec) = &log {
        // `--log warn`, `--log ide=debug,pic=trace`: env_logger's filter syntax, targets
        // being the device and subsystem names (cpu, bios, ports, i8042, machine…).
        logger.parse_filters(spec);
    }
    if let Some(path) = &log_file {
        match std::fs::File::create(path) {
            Ok(f) => {
                logger.target(env_logger::Target::Pipe(Box::new(f)));
            }
            Err(e) => {
                errln!("x86: cannot create log file {}: {e}", path.display());
                return ExitCode::from(run::EXIT_USAGE);
            }
        }
    }
    logger.init();
    match cli.cmd {
        Cmd::Run(args) => match run::run(*args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                errln!("x86: {e}");
                ExitCode::from(run::EXIT_USAGE)
            }
        },
        Cmd::Sst {
            paths,
            verbose,
            details,
            allow_fail,
            min_pass_rate,
        } => {
            let files = match sst::collect(&paths) {
                Ok(f) => f,
                Err(e) => {
                    errln!("x86: {e}");
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
                    errln!(
                        "({} files in {:.1} s)",
                        files.len(),
                        start.elapsed().as_secs_f64()
                    );
                    let counted = t.passed + t.failed;
                    let rate = if counted == 0 {
                        0.0
                    } else {
                        100.0 * t.passed as f64 / counted as f64
                    };
                    errln!(
                        "pass rate {rate:.3} % of {counted} counted tests ({} skipped)",
                        t.skipped
                    );
                    sst::say(format_args!("{} passed, {} failed", t.passed, t.failed));
                    if counted == 0 {
                        // Every test skipped is no evidence of anything.
                        errln!("x86: no test was counted, so none passed");
                        return ExitCode::from(1);
                    }
                    let ok = match min_pass_rate {
                        Some(min) => counted > 0 && rate >= min,
                        None => t.failed == 0 || allow_fail,
                    };
                    if ok {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    errln!("x86: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
