//! `tracer ingest`: its arguments, their validation into an `IngestConfig`, the progress line it
//! keeps updated on a terminal, and the one summary line it prints on stderr.

use std::{
    io::{IsTerminal as _, Write as _},
    path::PathBuf,
    time::{Duration, Instant},
};

use clap::Args;

use super::CliError;
use crate::ingest::{self, Arch, Format, IngestConfig, Progress, strace::detect::Date};

/// `tracer ingest`: read strace logs or a public syscall dataset into Parquet.
#[derive(Clone, Debug, Args)]
#[command(after_help = "Examples:\n  \
    tracer ingest trace.log -o trace.parquet\n  \
    tracer ingest --date 2024-05-01 strace-tt.log -o out.parquet   (-t/-tt logs carry no date)\n  \
    tracer ingest traces/ -o out.parquet          (a folder holding one `strace -ff -o traces/x` set)\n  \
    tracer ingest --format adfa-ld ADFA-LD/ -o adfa/     (or ADFA-LD.zip; one dataset file with labels)\n  \
    tracer ingest --format lid-ds LID-DS-2021/CVE-2017-7529 -o lid/\n  \
    tracer ingest --format unm unm/ -o unm.parquet")]
pub struct IngestArgs {
    /// A strace log; an `strace -ff -o PREFIX` set given as its folder or as PREFIX; or, with
    /// --format, a dataset file or folder.
    pub input: PathBuf,

    /// Output: a `.parquet` file (processes beside it as `NAME.processes.parquet`, a dataset's
    /// labels as `NAME.runs.parquet`), or a folder (`OUT/syscalls/`, `OUT/processes/` and, for
    /// datasets, `OUT/runs/`, one file each named after the run or the dataset).
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,

    /// Input format.
    #[arg(long, value_enum, default_value_t = Format::Strace)]
    pub format: Format,

    /// Architecture whose syscall table names and numbers the calls. Default: this machine's for
    /// strace and lid-ds, x86 (i386) for adfa-ld and unm.
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,

    /// Date (YYYY-MM-DD, local time) of the first line of a `-t`/`-tt` log, whose stamps have no
    /// date. Default: derived from the log's modification time.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: Option<Date>,

    /// Skip malformed lines instead of failing; their count is written into the file metadata
    /// (`syscall_tracer.lines_skipped`).
    #[arg(long)]
    pub lenient: bool,

    /// Run id (one-trace inputs). Default: the input's file name without extension; datasets
    /// name each trace by its path in the distribution.
    #[arg(long)]
    pub run_id: Option<String>,

    /// Scenario of the run(s). Datasets set it from their labels (training, validation, test,
    /// normal, attack:<family>) unless given.
    #[arg(long)]
    pub scenario: Option<String>,

    /// Pid of strace lines that carry no pid prefix (a log of one process written without -f).
    /// Default: the -ff file suffix, or the pid no fork returned, or 0.
    #[arg(long)]
    pub pid: Option<i32>,
}

fn parse_date(s: &str) -> Result<Date, String> {
    s.parse()
}

impl IngestArgs {
    /// The ingest configuration these arguments name (clap has checked every value).
    pub fn to_config(&self) -> IngestConfig {
        IngestConfig {
            input: self.input.clone(),
            output: self.output.clone(),
            format: self.format,
            arch: self.arch,
            date: self.date,
            lenient: self.lenient,
            run_id: self.run_id.clone(),
            scenario: self.scenario.clone(),
            pid: self.pid,
        }
    }
}

/// The progress line on a terminal: redrawn at most every 100 ms, erased at the end.
struct ProgressLine {
    last: Option<Instant>,
}

impl ProgressLine {
    fn show(&mut self, p: &Progress) {
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if due || p.traces_done == p.traces_total {
            self.last = Some(Instant::now());
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[Kreading traces: {}/{}, {} calls",
                p.traces_done, p.traces_total, p.calls
            );
            let _ = err.flush();
        }
    }

    fn clear(&self) {
        if self.last.is_some() {
            eprint!("\r\x1b[K");
        }
    }
}

/// Runs `tracer ingest`: ingests (with a progress line when stderr is a terminal), then prints
/// one summary line on stderr.
pub fn run(args: &IngestArgs) -> Result<i32, CliError> {
    let config = args.to_config();
    let result = if std::io::stderr().is_terminal() {
        let mut line = ProgressLine { last: None };
        let r = ingest::run_with_progress(&config, &mut |p| line.show(p));
        line.clear();
        r
    } else {
        ingest::run(&config)
    };
    eprint!("tracer: {}", result?);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, FromArgMatches as _};

    use super::*;

    fn parse(argv: &[&str]) -> IngestArgs {
        let cmd = IngestArgs::augment_args(clap::Command::new("ingest"));
        cmd.clone().debug_assert();
        let m = cmd.try_get_matches_from(argv).expect("parses");
        IngestArgs::from_arg_matches(&m).expect("valid")
    }

    #[test]
    fn command_line() {
        let a = parse(&[
            "ingest",
            "t.log",
            "-o",
            "t.parquet",
            "--date",
            "2024-05-01",
            "--lenient",
        ]);
        assert_eq!((a.format, a.lenient, a.arch), (Format::Strace, true, None));
        assert_eq!(a.date, Some("2024-05-01".parse().unwrap()));
        let a = parse(&[
            "ingest", "--format", "adfa-ld", "--arch", "i386", "ADFA", "-o", "out",
        ]);
        assert_eq!((a.format, a.arch), (Format::AdfaLd, Some(Arch::X86)));
        let cmd = IngestArgs::augment_args(clap::Command::new("ingest"));
        assert!(
            cmd.try_get_matches_from(["ingest", "x", "-o", "y", "--date", "May 1"])
                .is_err()
        );
    }
}
