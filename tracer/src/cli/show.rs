//! `tracer show`: its arguments, their validation into a `ShowConfig`, and the stdout it
//! writes through.

use std::{io::BufWriter, path::PathBuf};

use clap::{ArgAction, Args};
use tracer_dataset::Arch;

use super::CliError;
use crate::{
    show::{
        self, Format, ShowConfig,
        line::{LineFormat, TimeFormat},
        select::{Filter, SeqRange, TimeBound},
    },
    syscall_table::FilterError,
};

/// `tracer show`: read a capture as strace output, CSV or JSON Lines.
#[derive(Clone, Debug, Args)]
#[command(after_help = "EXAMPLES:
    tracer show trace.parquet | less              every call, as `strace -f` prints them
    tracer show -tt -T trace.parquet              times of day and durations (record with -T)
    tracer show -e trace=%file -p 1234 trace.parquet
    tracer show --seq 5000..5100 trace.parquet    calls by their seq column
    tracer show --since +2.5 --until +3 trace.parquet    seconds after the first call
    diff <(tracer show a.parquet) <(tracer show b.parquet)
    tracer show --format csv trace.parquet > calls.csv
    tracer show --format jsonl trace.parquet | jq -r 'select(.ret < 0) | .text'

WHAT THE LINES HOLD:
    Calls read as strace writes them: `[pid N]` before every line when the calls shown come
    from more than one thread, the return at column 40, errno names and texts, `= ?` for
    exit_group, `<unfinished ...>` for a call that never returned, and the `+++ exited with
    N +++` / `+++ killed by SIGKILL +++` lines of the processes table (FILE.processes.parquet).
    Arguments come from the six recorded registers: descriptors, open/mmap/access/clone/wait
    flags, modes, signals and the common enumerations are decoded; a path comes from the
    `path` and `path2` columns (the call's path arguments, up to 4095 bytes) and the socket
    address columns. What the capture
    does not hold prints as strace prints an address it cannot read: buffers and structures
    as `0x7ffc...` (strace shows their contents), a second path as its address, a successful
    execve's argv from the processes table and its environment as `?`. Delivered signals
    (`--- SIGCHLD ... ---`) are not recorded. A dataset folder prints each run after a
    `# run ID (FILE)` line.

CSV AND JSON LINES:
    One row per call with the Parquet columns run_id, source, scenario, mode, seq, ts_ns,
    duration_ns, pid, tid, comm, syscall, nr, args, ret, path, abi, path2, sock_family,
    sock_addr, sock_port, marks (`|`-separated), and `text`, the decoded call
    (`openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3`). Nulls are empty fields
    (null in JSON); ts_ns is nanoseconds since the epoch (DuckDB: make_timestamp_ns(ts_ns));
    args is a list of the six registers, `[1,2,3,4,5,6]`, unsigned 64-bit as in the Parquet
    file (DuckDB on CSV: args::UBIGINT[]; polars on JSON Lines:
    pl.read_ndjson(f, schema_overrides={\"args\": pl.List(pl.UInt64)})).")]
pub struct ShowArgs {
    /// A capture (`trace.parquet`, with its `trace.processes.parquet` beside it) or a dataset
    /// folder (every syscalls file in it, one run after the other).
    #[arg(value_name = "FILE|DATASET")]
    pub input: PathBuf,

    /// Output: strace's lines, or one row per call with the Parquet columns and the decoded
    /// `text` for spreadsheets, pandas, polars and jq.
    #[arg(long, value_enum, default_value_t = Format::Strace)]
    pub format: Format,

    /// Start each line with the time: -t the time of day, -tt with microseconds, -ttt seconds
    /// since the epoch. The time is `ts_ns`: the call's exit, or its entry in a capture
    /// recorded with -T (strace prints entries).
    #[arg(short = 't', action = ArgAction::Count)]
    pub timestamps: u8,

    /// Start each line with the time since the previous line.
    #[arg(short = 'r', conflicts_with = "timestamps")]
    pub relative: bool,

    /// End each line with the call's duration, `<0.000123>` (captures recorded with -T).
    #[arg(short = 'T')]
    pub durations: bool,

    /// Show only some calls, as strace: `-e trace=openat,read`, `-e trace=%file`,
    /// `-e trace=!futex`. Classes: %file %process %network %signal %ipc %memory %creds %desc.
    #[arg(short = 'e', value_name = "EXPR")]
    pub expr: Option<String>,

    /// Show only the calls of process PID (all its threads; repeat or comma-separate).
    #[arg(short = 'p', long = "pid", value_name = "PID", value_delimiter = ',')]
    pub pids: Vec<i32>,

    /// Show only the calls of thread TID (repeat or comma-separate).
    #[arg(long = "tid", value_name = "TID", value_delimiter = ',')]
    pub tids: Vec<i32>,

    /// Show only calls whose seq is in RANGE: 100..200 (200 excluded), 100..=200, 100..,
    /// ..200, or one seq.
    #[arg(long, value_name = "RANGE")]
    pub seq: Option<SeqRange>,

    /// Show only calls from TIME on: +1.5 (seconds after the run's first call), 08:19:08.96
    /// (local time of day, as -tt prints) or 1764577148.96 (epoch seconds, as -ttt prints).
    #[arg(long, value_name = "TIME")]
    pub since: Option<TimeBound>,

    /// Show only calls up to TIME (as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<TimeBound>,

    /// Show only run RUN_ID of a dataset folder.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
}

/// Invalid `show` arguments.
#[derive(Debug, thiserror::Error)]
pub enum ShowArgsError {
    /// More than three -t.
    #[error("-t, -tt and -ttt are the time formats; -tttt is not one")]
    TooManyT,
    /// A strace-line option with a table format.
    #[error(
        "{0} shapes strace lines; --format csv and jsonl carry the ts_ns and duration_ns columns"
    )]
    LineOption(&'static str),
    /// A bad -e.
    #[error(transparent)]
    Filter(#[from] FilterError),
}

impl ShowArgs {
    /// Validates the arguments into a show request.
    pub fn to_config(&self) -> Result<ShowConfig, ShowArgsError> {
        let time = match (self.timestamps, self.relative) {
            (_, true) => TimeFormat::Relative,
            (0, false) => TimeFormat::None,
            (1, false) => TimeFormat::Seconds,
            (2, false) => TimeFormat::Micros,
            (3, false) => TimeFormat::Epoch,
            _ => return Err(ShowArgsError::TooManyT),
        };
        if self.format != Format::Strace {
            let used = [
                (self.timestamps > 0, "-t"),
                (self.relative, "-r"),
                (self.durations, "-T"),
            ];
            if let Some((_, flag)) = used.iter().find(|(on, _)| *on) {
                return Err(ShowArgsError::LineOption(flag));
            }
        }
        let filter = Filter {
            trace: self.expr.clone(),
            pids: self.pids.clone(),
            tids: self.tids.clone(),
            seq: self.seq.unwrap_or_default(),
            since: self.since,
            until: self.until,
            run: self.run.clone(),
        };
        filter.check(Arch::native())?;
        Ok(ShowConfig {
            input: self.input.clone(),
            format: self.format,
            lines: LineFormat {
                time,
                durations: self.durations,
                pid_prefix: false,
            },
            filter,
        })
    }
}

/// Runs `tracer show`: writes the calls on stdout (buffered; a reader that goes away, as
/// `| head` does, ends it quietly through `main`).
pub fn run(args: &ShowArgs) -> Result<i32, CliError> {
    let config = args.to_config()?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let outcome = show::run(&config, &mut out)?;
    drop(out);
    for (file, lost) in &outcome.incomplete {
        eprintln!(
            "tracer: warning: {} lost {lost} records when it was captured (a CPU's ring was full): \
             calls are missing",
            file.display()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, FromArgMatches as _};

    use super::*;

    fn parse(argv: &[&str]) -> Result<ShowArgs, clap::Error> {
        let cmd = ShowArgs::augment_args(clap::Command::new("show"));
        cmd.clone().debug_assert();
        let m = cmd.try_get_matches_from(argv)?;
        ShowArgs::from_arg_matches(&m)
    }

    #[test]
    fn command_line() {
        let a = parse(&[
            "show",
            "-ttt",
            "-T",
            "-e",
            "trace=%file",
            "-p",
            "1,2",
            "--seq",
            "10..=20",
            "t.parquet",
        ])
        .expect("parses");
        let c = a.to_config().expect("valid");
        assert_eq!(c.lines.time, TimeFormat::Epoch);
        assert!(c.lines.durations);
        assert_eq!(c.filter.pids, [1, 2]);
        assert_eq!((c.filter.seq.first, c.filter.seq.last), (10, 20));
        let a = parse(&["show", "-r", "--since", "+1.5", "x"]).expect("parses");
        assert_eq!(
            a.to_config().expect("valid").lines.time,
            TimeFormat::Relative
        );
        assert!(parse(&["show", "-r", "-t", "x"]).is_err());
        assert!(parse(&["show", "--seq", "b..a", "x"]).is_err());
        let a = parse(&["show", "-tttt", "x"]).expect("parses");
        assert!(matches!(a.to_config(), Err(ShowArgsError::TooManyT)));
        let a = parse(&["show", "--format", "csv", "-T", "x"]).expect("parses");
        assert!(matches!(
            a.to_config(),
            Err(ShowArgsError::LineOption("-T"))
        ));
        let a = parse(&["show", "-e", "trace=nosuch", "x"]).expect("parses");
        assert!(matches!(a.to_config(), Err(ShowArgsError::Filter(_))));
    }
}
