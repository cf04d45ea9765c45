//! `tracer record`: its arguments, their validation into a `RecordConfig`, and the summary it
//! prints on stderr.

use std::{
    ffi::OsString,
    io::{IsTerminal as _, Write as _},
    path::PathBuf,
};

use clap::{ArgAction, Args};
use tracer_dataset::{Arch, RunInfo};

use super::{CliError, INCOMPLETE_EXIT, parse_bytes, parse_size};
use crate::{
    capture::{
        self, Incomplete, Job, Progress, ProgressFn, RecordConfig, RecordOutcome, Rotate, Schedule,
        Target,
    },
    path_limit,
    syscall_table::{self, FilterError},
    user::{self, UserError},
};

/// `tracer record`.
#[derive(Debug, Args)]
#[command(after_help = "EXAMPLES:
    sudo -E tracer record -o build.parquet -- make -j4
    sudo -E tracer record -T -c -e trace=%file -- ls /etc
    sudo -E tracer record -p 1234 -p 5678 -o daemon.parquet     (Ctrl-C to stop)

OUTPUT:
    FILE (default trace.parquet) holds one row per syscall; FILE's stem + .processes.parquet
    one row per process (lineage, exit status, argv). Read them as strace output:
        tracer show trace.parquet | less
    or with DuckDB:
        duckdb -c \"SELECT syscall, count(*) FROM 'trace.parquet' GROUP BY ALL ORDER BY 2 DESC\"
    While it runs, what has been captured is on disk within about a second, as self-contained
    Parquet parts in a hidden folder beside FILE (.STEM.parts/): after a crash they are readable
    as they are (read_parquet('.STEM.parts/*.parquet')) and `tracer recover FILE` makes FILE.
    A normal end writes FILE and removes the parts. Files follow the umask (as strace -o), and
    are 0600 when the capture holds processes of other users (-p on a root daemon). With
    --rotate, -o names a dataset folder of files of bounded size (syscalls/, processes/).

TERMINAL:
    A command run as another user (the sudo default) gets its own session; when standard input
    is a terminal, on a pty of its own (as sudo's use_pty): it cannot inject input into your
    terminal (TIOCSTI). Ctrl-C, Ctrl-\\ and Ctrl-Z act on it; window size changes follow.

EXIT STATUS:
    The command's own (128+N if killed by signal N), as with strace; 127 if it is not found.
    125: the capture is incomplete: its files could not be written to the end (disk full, I/O
    error). The command ran on untraced; what was written before is kept and readable, and the
    message says where and how many events.")]
pub struct RecordArgs {
    /// Write the syscalls table to FILE (the processes table goes beside it).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "trace.parquet"
    )]
    pub output: PathBuf,

    /// Attach to running process PID and follow its future children (repeat or comma-separate
    /// for several). Ctrl-C stops the capture and leaves the processes running.
    #[arg(short = 'p', long = "pid", value_name = "PID", value_delimiter = ',')]
    pub pids: Vec<u32>,

    /// Run the command as USER (name or uid). Default under sudo: the invoking user
    /// (SUDO_UID/SUDO_GID), who also owns the output files; `--user root` keeps root.
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Record only some syscalls, as strace: `-e trace=openat,read`, `-e trace=%file`,
    /// `-e trace=!futex`. Classes: %file %process %network %signal %ipc %memory %creds %desc.
    #[arg(short = 'e', value_name = "EXPR")]
    pub expr: Option<String>,

    /// Also hook syscall entry: `ts_ns` becomes the entry time and `duration_ns` is filled
    /// (costs a second kernel hook per syscall; default records exit time only). Implies
    /// --entry-paths.
    #[arg(short = 'T', long = "durations")]
    pub durations: bool,

    /// Read path arguments and given socket addresses when the call enters the kernel, not
    /// when it returns: a program cannot then rewrite or unmap them from another thread while
    /// the call blocks and make the row show something the kernel did not use. Costs a second
    /// kernel hook per syscall (as -T); for programs you do not trust.
    #[arg(long = "entry-paths")]
    pub entry_paths: bool,

    /// Print a strace -c style table of calls, errors (and times with -T) on stderr.
    #[arg(short = 'c', long = "summary")]
    pub summary: bool,

    /// strace's -f and -ff, accepted and changing nothing: every descendant of the command
    /// (or of the -p processes) is always recorded, into the one FILE (-ff writes no file per
    /// process; `tracer show -p PID` shows one process).
    #[arg(short = 'f', action = ArgAction::Count)]
    pub follow: u8,

    /// strace's string length. The capture records no buffers; it keeps each call's path
    /// arguments (the `path` and `path2` columns) up to 4095 bytes (a longer one is cut and
    /// marked `path_cut`). With N below 4095, the paths are cut to N
    /// bytes after the capture (the files are rewritten once, and their footer records
    /// syscall_tracer.path_limit=N); N of 4095 or more changes nothing.
    #[arg(short = 's', value_name = "N")]
    pub string_limit: Option<usize>,

    /// Bytes of the kernel-to-tracer rings, divided among the CPUs (power of two; K, M, G
    /// suffixes accepted). Raise it if the capture reports lost events.
    #[arg(long = "ring-bytes", value_name = "BYTES", default_value = "8M", value_parser = parse_bytes)]
    pub ring_bytes: u32,

    /// Run id written into every row (default: derived from the time and pid).
    #[arg(long = "run-id", value_name = "ID")]
    pub run_id: Option<String>,

    /// Write a dataset folder (-o DIR) of files of at most about SIZE each (K, M, G suffixes),
    /// as `tcpdump -C`: for long captures (-p on a daemon over days).
    #[arg(long = "rotate", value_name = "SIZE", value_parser = parse_size)]
    pub rotate: Option<u64>,

    /// Start the next file of a --rotate folder (or of -o DIR) every N seconds.
    #[arg(long = "rotate-seconds", value_name = "N")]
    pub rotate_seconds: Option<u64>,

    /// No progress counter and no summary line.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,

    /// The command to run and its arguments (after `--`).
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Invalid `record` arguments.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// Both or neither of command and -p.
    #[error("give either a command after `--` or -p PID, not both")]
    Both,
    /// Neither.
    #[error("nothing to trace: give a command after `--` (tracer record -- ls) or -p PID")]
    Neither,
    /// Bad -e.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// Bad --user.
    #[error(transparent)]
    User(#[from] UserError),
    /// A rotation of zero.
    #[error("--rotate and --rotate-seconds must be above 0")]
    ZeroRotation,
    /// A rotating capture given a file name.
    #[error("--rotate writes a dataset folder: -o names a folder, not a .parquet file")]
    RotateIntoFile,
}

/// A run id from the clock and pid: `ebpf-20261126T140102Z-4242`.
pub fn default_run_id(source: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{source}-{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        std::process::id()
    )
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl RecordArgs {
    /// Validates the arguments into a capture configuration.
    pub fn to_config(&self) -> Result<RecordConfig, ArgsError> {
        let target = match (self.command.is_empty(), self.pids.is_empty()) {
            (false, false) => return Err(ArgsError::Both),
            (true, true) => return Err(ArgsError::Neither),
            (false, true) => Target::Launch {
                jobs: vec![Job {
                    argv: self.command.clone(),
                    timeout: None,
                    log: None,
                    cpus: None,
                }],
                schedule: Schedule::Concurrent,
            },
            (true, false) => Target::Attach {
                pids: self.pids.clone(),
            },
        };
        let arch = Arch::native();
        let filter = match &self.expr {
            Some(e) => syscall_table::parse_trace_filter(arch, e)?.map(|nrs| (nrs, e.clone())),
            None => None,
        };
        let creds = if self.pids.is_empty() {
            user::choose(
                self.user.as_deref(),
                std::env::var("SUDO_UID").ok().as_deref(),
                std::env::var("SUDO_GID").ok().as_deref(),
                std::env::var("SUDO_USER").ok().as_deref(),
            )?
        } else {
            None
        };
        let command_line: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let rotating = self.rotate.is_some() || self.rotate_seconds.is_some();
        if rotating && tracer_dataset::layout::is_parquet(&self.output) {
            return Err(ArgsError::RotateIntoFile);
        }
        let rotate = match (self.rotate, self.rotate_seconds) {
            (None, None) => None,
            (Some(0), _) | (_, Some(0)) => return Err(ArgsError::ZeroRotation),
            (bytes, secs) => Some(Rotate {
                bytes,
                every: secs.map(std::time::Duration::from_secs),
            }),
        };
        Ok(RecordConfig {
            target,
            processes_output: tracer_dataset::layout::processes_path(&self.output),
            output: self.output.clone(),
            creds,
            files_for: user::invoking_user_from_env(),
            rotate,
            output_folders: None,
            filter,
            ring_bytes: self.ring_bytes,
            durations: self.durations,
            entry_paths: self.entry_paths || self.durations,
            progress: (!self.quiet && std::io::stderr().is_terminal())
                .then(|| ProgressFn::new(show_progress)),
            run: RunInfo {
                run_id: self
                    .run_id
                    .clone()
                    .unwrap_or_else(|| default_run_id("ebpf")),
                source: "ebpf".into(),
                scenario: None,
                mode: None,
            },
            metadata: Vec::new(),
            command_line,
            job_process_groups: false,
        })
    }
}

/// Runs `tracer record`: captures, then prints the `-c` table and the summary line (unless
/// `-q`) on stderr; returns the command's exit status.
pub fn run(args: &RecordArgs) -> Result<i32, CliError> {
    let config = args.to_config()?;
    let outcome = capture::run(&config).map_err(|source| CliError::Record {
        output: config.output.clone(),
        source: Box::new(source),
    })?;
    if let Some(limit) = args.string_limit {
        let owner = config.creds.as_ref().map(|c| (c.uid, c.gid));
        path_limit::cut_paths(&config.output, &config.processes_output, limit, owner).map_err(
            |source| CliError::PathLimit {
                output: config.output.clone(),
                source,
            },
        )?;
    }
    if let Some(incomplete) = &outcome.incomplete {
        eprintln!(
            "{}",
            incomplete_message(incomplete, &outcome, &config.output)
        );
        return Ok(INCOMPLETE_EXIT);
    }
    if args.summary {
        eprint!("{}", outcome.summary_table());
    }
    if !args.quiet {
        eprintln!("{}", outcome.summary_line(&config.output));
        if outcome.lost > 0 {
            eprintln!(
                "tracer: warning: {} events were lost (their CPU's ring was full); the file \
                 records the count and gap rows say where. Try a larger --ring-bytes.",
                outcome.lost
            );
        }
    }
    Ok(outcome.exit_code)
}

/// What `tracer record` says once when its files could not be written to the end: what
/// failed, where, how many events were kept and how to read them.
pub fn incomplete_message(
    incomplete: &Incomplete,
    outcome: &RecordOutcome,
    output: &std::path::Path,
) -> String {
    let mut s = format!(
        "tracer: the capture is incomplete: {}.\n",
        incomplete.message
    );
    match &incomplete.journal {
        Some(journal) => s.push_str(&format!(
            "tracer: {} events were kept in {}, readable as they are \
             (read_parquet('{}/*.parquet')); `tracer recover {}` makes the file once there is \
             room.\n",
            incomplete.kept,
            journal.display(),
            journal.display(),
            output.display(),
        )),
        None if !incomplete.closed.is_empty() => {}
        None => s.push_str("tracer: no events had reached the disk.\n"),
    }
    if !incomplete.closed.is_empty() {
        s.push_str(&format!(
            "tracer: {} earlier files of the rotation are complete in {}.\n",
            incomplete.closed.len(),
            output.display()
        ));
    }
    let status = outcome.jobs.first().map(|j| match (j.exit_code, j.signal) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "is still running".to_string(),
    });
    if let Some(status) = status {
        s.push_str(&format!(
            "tracer: the command ran on untraced and {status}; exit status {INCOMPLETE_EXIT} \
             (capture incomplete)."
        ));
    } else {
        s.push_str(&format!(
            "tracer: exit status {INCOMPLETE_EXIT} (capture incomplete)."
        ));
    }
    s
}

/// The live counter of `tracer record` on a terminal's stderr, redrawn in place and cleared at
/// the end. A closed stderr is not an error of the capture.
fn show_progress(progress: &Progress) {
    let mut err = std::io::stderr().lock();
    let _ = match progress {
        Progress::Running { events, elapsed } => write!(
            err,
            "\rtracer: {events} events, {:.1} s ",
            elapsed.as_secs_f64()
        )
        .and_then(|()| err.flush()),
        Progress::Done => write!(err, "\r\x1b[K"),
    };
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
    }

    #[test]
    fn record_needs_one_target() {
        let cli = Cli::try_parse_from(["tracer", "record", "-p", "1", "--", "ls"]).expect("parses");
        let Command::Record(args) = cli.command else {
            panic!("record subcommand")
        };
        assert!(matches!(args.to_config(), Err(ArgsError::Both)));
        let cli = Cli::try_parse_from(["tracer", "record"]).expect("parses");
        let Command::Record(args) = cli.command else {
            panic!("record subcommand")
        };
        assert!(matches!(args.to_config(), Err(ArgsError::Neither)));
    }

    #[test]
    fn strace_flags_are_accepted() {
        for argv in [
            &["tracer", "record", "-f", "-o", "x.parquet", "--", "ls"][..],
            &["tracer", "record", "-ff", "-s", "64", "--", "ls"],
            &[
                "tracer",
                "record",
                "-f",
                "-T",
                "-c",
                "-e",
                "trace=%file",
                "--",
                "ls",
            ],
        ] {
            let cli = Cli::try_parse_from(argv).expect("parses");
            let Command::Record(args) = cli.command else {
                panic!("record subcommand")
            };
            assert!(args.follow >= 1);
            assert!(args.to_config().is_ok());
        }
        let cli =
            Cli::try_parse_from(["tracer", "record", "-s", "64", "--", "ls"]).expect("parses");
        let Command::Record(args) = cli.command else {
            panic!("record subcommand")
        };
        assert_eq!(args.string_limit, Some(64));
    }

    #[test]
    fn the_ring_defaults_to_the_capture_default() {
        let cli = Cli::try_parse_from(["tracer", "record", "--", "true"]).expect("parses");
        let Command::Record(args) = cli.command else {
            panic!("record subcommand")
        };
        assert_eq!(
            args.ring_bytes,
            capture::DEFAULT_RING_BYTES,
            "--ring-bytes' default is DEFAULT_RING_BYTES"
        );
    }
}
