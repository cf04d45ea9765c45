//! `cargo xtask bench ...`: each benchmark runs its contenders side by side in one run,
//! alternating rounds so machine noise hits all of them, and prints ratios.

use std::time::Instant;

use clap::Subcommand;

use crate::{cargo, run, setup};

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCmd {
    /// Capture cost, whole-process (wall, CPU, peak RSS) and in-process, on start-up, a getppid
    /// storm, walk+read and a build: untraced vs tracer, tracer -T, perf trace, strace -f, and
    /// bpftrace on the storm.
    Capture {
        /// getppid calls in the storm.
        #[arg(long, default_value_t = 2_000_000)]
        calls: u64,
        /// Alternating rounds (medians are reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Skip the (slow) strace -f runs (one round each otherwise).
        #[arg(long)]
        no_strace: bool,
        /// Also measure this `tracer` binary (e.g. built from an earlier commit), side by side.
        #[arg(long, value_name = "PATH")]
        baseline: Option<std::path::PathBuf>,
    },
    /// Collector: records decoded and written to Parquet per second on one core.
    Collector {
        /// Synthetic records.
        #[arg(long, default_value_t = 5_000_000)]
        events: u64,
    },
    /// strace ingest: lines per second on one core.
    Ingest {
        /// Lines of the generated log.
        #[arg(long, default_value_t = 2_000_000)]
        lines: u64,
    },
    /// Analysis: syscalls per second for windows + coverage + mismatch, and vs Python.
    Analysis {
        /// Rows of the generated dataset.
        #[arg(long, default_value_t = 20_000_000)]
        rows: u64,
    },
}

fn example(package: &str, name: &str, args: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    run(cargo()
        .args(["run", "--release", "-p", package, "--example", name, "--"])
        .args(args))?;
    eprintln!("({name} took {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs one benchmark.
pub fn run_bench(what: BenchCmd) -> anyhow::Result<()> {
    match what {
        BenchCmd::Capture {
            calls,
            rounds,
            no_strace,
            baseline,
        } => crate::capture_bench::capture(calls, rounds, no_strace, baseline.as_deref()),
        BenchCmd::Collector { events } => {
            setup::setup()?;
            example(
                "tracer",
                "bench_collector",
                &["--events".into(), events.to_string()],
            )
        }
        BenchCmd::Ingest { lines } => {
            setup::setup()?;
            example(
                "tracer",
                "bench_ingest",
                &["--lines".into(), lines.to_string()],
            )
        }
        BenchCmd::Analysis { rows } => example(
            "analysis",
            "bench_analysis",
            &["--rows".into(), rows.to_string()],
        ),
    }
}
