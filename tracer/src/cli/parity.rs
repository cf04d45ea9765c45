//! `tracer parity`: its arguments, their validation into a `ParityConfig`, and the report it
//! prints on stdout.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, write_stdout};
use crate::parity::{self, ParityConfig};

/// `tracer parity`: compare two captures of the same workload.
#[derive(Clone, Debug, Args)]
#[command(after_help = "Example:\n  \
    strace -f -ttt -T -o w.strace ./workload && tracer ingest w.strace -o strace.parquet\n  \
    tracer record -o ebpf.parquet -- ./workload\n  \
    tracer parity strace.parquet ebpf.parquet --min-similarity 0.99\n\n\
    Exit status: 0, or 1 when the similarity is below --min-similarity.")]
pub struct ParityArgs {
    /// First capture: a syscalls Parquet file (its NAME.processes.parquet is read too) or a
    /// dataset folder.
    pub a: PathBuf,

    /// Second capture, as A.
    pub b: PathBuf,

    /// Run of A to compare, when A holds several.
    #[arg(long, value_name = "RUN_ID")]
    pub run_a: Option<String>,

    /// Run of B to compare, when B holds several.
    #[arg(long, value_name = "RUN_ID")]
    pub run_b: Option<String>,

    /// Window length k of the identical-window share.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..))]
    pub window: u16,

    /// Syscalls to leave out of the comparison (comma-separated), e.g. calls the workload makes
    /// a varying number of times.
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub ignore: Vec<String>,

    /// Exit with status 1 when the similarity (edit-distance ratio over all calls) is below this.
    #[arg(long, value_name = "0..1")]
    pub min_similarity: Option<f64>,

    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Thread pairs listed in the text report (all are in the JSON).
    #[arg(long, default_value_t = 20)]
    pub show_threads: usize,
}

impl ParityArgs {
    /// The comparison these arguments ask for (clap has checked every value; `--json` and
    /// `--show-threads` only shape the printed report).
    pub fn to_config(&self) -> ParityConfig {
        ParityConfig {
            a: self.a.clone(),
            b: self.b.clone(),
            run_a: self.run_a.clone(),
            run_b: self.run_b.clone(),
            window: usize::from(self.window),
            ignore: self.ignore.clone(),
            min_similarity: self.min_similarity,
        }
    }
}

/// Runs `tracer parity`: compares, prints the report (text or `--json`) on stdout, and returns
/// the verdict's exit status (0, or 1 below `--min-similarity`).
pub fn run(args: &ParityArgs) -> Result<i32, CliError> {
    let outcome = parity::compare_paths(&args.to_config())?;
    let text = if args.json {
        outcome.to_json()
    } else {
        parity::render(&outcome, args.show_threads)
    };
    let status = outcome.exit_code();
    write_stdout(&text, "cannot write the report", status)?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, FromArgMatches as _};

    use super::*;

    #[test]
    fn command_line() {
        let cmd = ParityArgs::augment_args(clap::Command::new("parity"));
        cmd.clone().debug_assert();
        let m = cmd
            .try_get_matches_from([
                "parity",
                "a.parquet",
                "b",
                "--json",
                "--min-similarity",
                "0.99",
                "--ignore",
                "futex,sched_yield",
            ])
            .expect("parses");
        let a = ParityArgs::from_arg_matches(&m).expect("valid");
        assert_eq!(
            (a.a.to_str(), a.b.to_str(), a.json),
            (Some("a.parquet"), Some("b"), true)
        );
        assert_eq!((a.min_similarity, a.window), (Some(0.99), 6));
        assert_eq!(a.ignore, ["futex", "sched_yield"]);
    }
}
