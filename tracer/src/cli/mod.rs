//! The command line of `tracer`: the clap definitions of every subcommand, their validation into
//! the typed configurations the library receives, and everything the commands print.
//!
//! One module per subcommand holds its arguments (`RecordArgs`, ...), a `to_config` that
//! validates them once (`RecordConfig`, `IngestConfig`, `ExperimentConfig`, `ParityConfig`), and
//! a `run` that calls the library and prints its outcome. The library returns outcomes and does
//! not print; `main` maps a `CliError` to the exit status.

pub mod experiment;
pub mod ingest;
pub mod parity;
pub mod record;
pub mod recover;
pub mod show;

use std::{io::Write as _, path::PathBuf};

use clap::{Parser, Subcommand};

pub use self::{
    experiment::ExperimentArgs,
    ingest::IngestArgs,
    parity::ParityArgs,
    record::{ArgsError, RecordArgs, default_run_id},
    recover::RecoverArgs,
    show::{ShowArgs, ShowArgsError},
};
use crate::{
    capture::RecordError, experiment::ExperimentError, ingest::IngestError, parity::ParityError,
    path_limit::PathLimitError, show::ShowError,
};

/// Record any command's syscalls with eBPF into Parquet, at a small fraction of strace's cost.
#[derive(Debug, Parser)]
#[command(name = "tracer", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command (or attach to processes) and record every syscall of it and its
    /// descendants into a Parquet file. Needs root: `sudo -E tracer record -- make -j4`.
    Record(RecordArgs),
    /// Run scenarios of commands one at a time (M.S) and all at once (M.R) under capture, then
    /// compare their syscall-sequence profiles and write a report. Needs root.
    Experiment(ExperimentArgs),
    /// Read strace logs (any flags, -ff sets) or public datasets (ADFA-LD, UNM, LID-DS) into
    /// the same Parquet schema as captures. No root needed.
    Ingest(IngestArgs),
    /// Compare two captures of the same workload (e.g. strace vs eBPF): processes, counts,
    /// per-thread sequence similarity, return values and paths.
    Parity(ParityArgs),
    /// Print a capture as strace would have: one line per call with decoded arguments and
    /// errno names, exit lines, strace's -e/-p/-t/-tt/-ttt/-r/-T; or as CSV / JSON Lines.
    /// `tracer show trace.parquet | less`.
    Show(ShowArgs),
    /// Make the files of a capture that did not end normally (killed, out of memory, power
    /// loss, full disk) from its crash journal: `tracer recover trace.parquet`.
    Recover(RecoverArgs),
}

/// Exit status of a capture whose files could not be written to the end (disk full, I/O
/// error): what was written is kept. 125, as tools that run a command use for their own
/// failure (`timeout`, `docker run`), so that it is not taken for the command's status.
pub const INCOMPLETE_EXIT: i32 = 125;

/// Why a command failed: invalid arguments, the library's errors, or its output.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Invalid `record` arguments.
    #[error(transparent)]
    RecordArgs(#[from] ArgsError),
    /// A capture failed.
    #[error("recording into {}", output.display())]
    Record {
        /// The syscalls file being written.
        output: PathBuf,
        /// The cause.
        #[source]
        source: Box<RecordError>,
    },
    /// An experiment failed, or its arguments are invalid.
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    /// An ingest failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A comparison failed.
    #[error(transparent)]
    Parity(#[from] ParityError),
    /// Invalid `show` arguments.
    #[error(transparent)]
    ShowArgs(#[from] ShowArgsError),
    /// Showing a capture failed (a closed stdout included).
    #[error(transparent)]
    Show(#[from] ShowError),
    /// `record -s`: the capture was written, its paths could not be cut.
    #[error("cutting the paths of {} (the capture itself is complete)", output.display())]
    PathLimit {
        /// The syscalls file.
        output: PathBuf,
        /// The cause.
        #[source]
        source: PathLimitError,
    },
    /// A recovery failed.
    #[error("recovering {}", path.display())]
    Recover {
        /// What was to be recovered.
        path: PathBuf,
        /// The cause.
        #[source]
        source: tracer_dataset::SinkError,
    },
    /// A command's output could not be written to stdout.
    #[error("{what}")]
    Stdout {
        /// What was being written.
        what: &'static str,
        /// The exit status the command had reached before writing (parity's verdict).
        status: i32,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The exit status: a command that could not be started exits as a shell would (127 not
    /// found, 126 not executable); every other failure exits 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Record { source, .. } => match source.as_ref() {
                RecordError::Launch(e) => e.exit_code(),
                _ => 1,
            },
            _ => 1,
        }
    }

    /// The exit status when the failure is only that the reader of stdout went away, which is
    /// not an error: the status the command had reached before writing, else 0.
    pub fn quiet_exit_code(&self) -> i32 {
        match self {
            Self::Stdout { status, .. } => *status,
            _ => 0,
        }
    }
}

/// Runs the parsed command line; returns the exit status.
pub fn run(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Command::Record(args) => record::run(&args),
        Command::Experiment(args) => experiment::run(&args),
        Command::Ingest(args) => ingest::run(&args),
        Command::Parity(args) => parity::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Recover(args) => recover::run(&args),
    }
}

/// Parses a size: `4096`, `64K`, `100M`, `2G` (above 0).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{s:?} is not a size like 4096, 64K, 100M"))
}

/// Parses `4096`, `64K`, `128M`, `1G`.
pub fn parse_bytes(s: &str) -> Result<u32, String> {
    let (num, mult) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 4096, 64K, 128M"))?;
    let bytes = n * mult;
    if bytes < 4096 || !bytes.is_power_of_two() || bytes > (1 << 31) {
        return Err(format!(
            "{s}: the ring buffer must be a power of two between 4K and 2G"
        ));
    }
    Ok(bytes as u32)
}

/// Writes a command's output to stdout. A failure names `what` was written and keeps `status`,
/// the exit status the command had reached, for `main` to exit with when stdout was closed.
fn write_stdout(text: &str, what: &'static str, status: i32) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Stdout {
            what,
            status,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("128M"), Ok(128 << 20));
        assert!(parse_bytes("1000").is_err());
        assert!(parse_bytes("lots").is_err());
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err() && parse_size("x").is_err());
    }

    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
