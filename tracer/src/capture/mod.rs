//! One capture from start to end, cut into parts that can be read one at a time:
//!
//! - starting: `signals` (caught before any file exists), `targets` (programs on PATH,
//!   `-p` pids, registering them before they run), `launch` (the blocked fork and exec),
//!   `terminal` (the command's own session, and pty), `files` (the output files, their
//!   metadata, the crash journal and rotation);
//! - following: `follow`, the main loop over the launched commands, signals and timeouts;
//! - collecting: `pipeline` runs the `drain` thread (ring buffer to batches) and the
//!   `writer` thread, which `decode`s each record, keeps the process table (`lineage`),
//!   builds the `syscalls` rows (`rows`) and the `--summary` `totals`;
//! - ending: `teardown`, one path for a finished, interrupted or failed capture.

mod decode;
mod drain;
mod files;
mod follow;
pub mod launch;
mod lineage;
mod pipeline;
mod procfs;
mod ring;
mod rows;
mod signals;
mod sockaddr;
mod targets;
mod teardown;
mod terminal;
mod totals;
mod writer;

#[cfg(test)]
mod testing;

use std::{
    ffi::OsString,
    fmt,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use tracer_dataset::{
    Arch, RunInfo, SinkError,
    outdir::{Access, FsIdentity, OutDir},
};

use crate::{
    clock::clock_offset_ns,
    preflight::{self, PreflightError},
    probe::{LoaderThread, Probe, ProbeConfig, ProbeError},
};
pub use drain::Batch;
pub use launch::{Credentials, LaunchError};
pub use totals::SyscallTotals;
pub use writer::{CUT_EVERY, Collected, SLOW_WRITER_ENV, WriteFailure, Writer, WriterStats};

/// Default ring bytes, divided among the CPUs' rings: 8 MiB holds about 80,000 syscall records;
/// on two CPUs the storm's CPU has 4 MiB of it, ~12 ms of the storm at full speed. That is
/// slack for the drain thread only, which copies a record out in ~20 ns and holds back only
/// the last 0.1 ms of records (see `ring`); a writer that falls behind is absorbed by the queue
/// behind the drain (see `drain`). The kernel zeroes the rings when the programs load: a
/// larger one costs start-up and memory.
pub const DEFAULT_RING_BYTES: u32 = 8 << 20;

/// Errors of a capture.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The machine or process cannot capture.
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    /// An output file cannot be written.
    #[error("output file is not writable")]
    Output(#[source] SinkError),
    /// Setting up the kernel side failed.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// Starting the command failed.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// Writing the dataset failed.
    #[error("writing the capture")]
    Sink(#[source] SinkError),
    /// No process to trace.
    #[error("nothing to trace: give a command after `--` or one or more -p PID")]
    NothingToTrace,
    /// A -p target does not exist.
    #[error("-p {0}: no such process")]
    NoSuchPid(u32),
    /// The per-CPU rings could not be mapped.
    #[error("mapping the eBPF programs' per-CPU rings")]
    Ring(#[source] std::io::Error),
    /// The async runtime could not start.
    #[error("starting the signal-handling runtime")]
    Runtime(#[source] std::io::Error),
    /// A command could not be pinned to the CPUs asked for.
    #[error("pinning the command to CPUs {cpus:?} (sched_setaffinity)")]
    Affinity {
        /// The CPUs asked for.
        cpus: Vec<usize>,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The command's terminal session could not be set up.
    #[error("setting up the command's terminal")]
    Terminal(#[source] std::io::Error),
}

/// When a rotating capture closes its current file and starts the next (`--rotate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rotate {
    /// Once its journal holds this many bytes.
    pub bytes: Option<u64>,
    /// Once it is this old.
    pub every: Option<Duration>,
}

/// One command to run under capture.
#[derive(Clone, Debug)]
pub struct Job {
    /// Program and arguments.
    pub argv: Vec<OsString>,
    /// Kill the command (SIGKILL) after this long.
    pub timeout: Option<Duration>,
    /// Send its stdout and stderr to this file (stdin from /dev/null) instead of the terminal;
    /// opened by the caller (safely: see `tracer_dataset::outdir`).
    pub log: Option<Arc<std::fs::File>>,
    /// Pin the command (and everything it starts) to these CPUs; `None`: the tracer's own set.
    pub cpus: Option<Vec<usize>>,
}

/// How several commands are started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// One after another, each started when the previous one has exited (M.S).
    Sequential {
        /// Pause between a command's exit and the next start.
        pause: Duration,
    },
    /// All released at once, after all are forked and registered (M.R).
    Concurrent,
    /// Released one every `spacing`, without waiting for the previous one to end (M.R "in quick
    /// succession"), after all are forked and registered.
    Spaced {
        /// Time between two releases.
        spacing: Duration,
    },
}

/// What to trace.
#[derive(Clone, Debug)]
pub enum Target {
    /// Start these commands.
    Launch {
        /// The commands.
        jobs: Vec<Job>,
        /// How to start them.
        schedule: Schedule,
    },
    /// Attach to running processes (and their future children).
    Attach {
        /// Their pids.
        pids: Vec<u32>,
    },
}

/// Live progress of a capture, for a display (see `RecordConfig::progress`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Progress {
    /// Sent about every 250 ms while the capture follows its processes.
    Running {
        /// Records drained from the ring buffer so far.
        events: u64,
        /// Time since the capture started.
        elapsed: Duration,
    },
    /// Following has ended (the files are written next): a display clears itself.
    Done,
}

/// Receives a capture's [`Progress`]; the library never prints, its caller draws.
#[derive(Clone)]
pub struct ProgressFn(Arc<dyn Fn(&Progress) + Send + Sync>);

impl ProgressFn {
    /// Calls `f` with each progress report.
    pub fn new(f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Hands `progress` to the receiver.
    pub fn report(&self, progress: &Progress) {
        (self.0)(progress);
    }
}

impl fmt::Debug for ProgressFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressFn(..)")
    }
}

/// A validated capture request.
#[derive(Clone, Debug)]
pub struct RecordConfig {
    /// What to trace.
    pub target: Target,
    /// The syscalls file (with `rotate`: the dataset folder).
    pub output: PathBuf,
    /// The processes file.
    pub processes_output: PathBuf,
    /// Run the commands as this user (`None`: as the tracer).
    pub creds: Option<Credentials>,
    /// The user the output files are for (the one who ran sudo): they are created with this
    /// user's filesystem identity and belong to them. `None`: the tracer's own.
    pub files_for: Option<Credentials>,
    /// Cut the capture into a dataset folder of files of bounded size or age.
    pub rotate: Option<Rotate>,
    /// Folders already open for `output` and `processes_output` (a dataset's `syscalls/` and
    /// `processes/`, opened once by an experiment): only the file names are used.
    pub output_folders: Option<(OutDir, OutDir)>,
    /// Syscall numbers to keep (`None`: all) and the expression they came from.
    pub filter: Option<(Vec<i32>, String)>,
    /// Ring buffer bytes.
    pub ring_bytes: u32,
    /// Attach sys_enter too for entry times and durations.
    pub durations: bool,
    /// Read path arguments (and given socket addresses) at the calls' entry (sys_enter).
    pub entry_paths: bool,
    /// Where to report live progress (`tracer record` draws a counter on a terminal's stderr);
    /// `None`: nowhere.
    pub progress: Option<ProgressFn>,
    /// Identity of the run in the dataset.
    pub run: RunInfo,
    /// More footer metadata (experiments add theirs).
    pub metadata: Vec<(String, String)>,
    /// The command line recorded in the metadata.
    pub command_line: Vec<String>,
    /// Start each job in its own process group, and send signals and timeouts to the group
    /// (experiments: jobs read no terminal). Otherwise jobs share the tracer's group, so a
    /// terminal's Ctrl-C and job control work as without the tracer.
    pub job_process_groups: bool,
}

/// What happened to one launched command.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct JobOutcome {
    /// Its pid.
    pub pid: i32,
    /// Exit status, when it exited.
    pub exit_code: Option<i32>,
    /// Fatal signal, when killed.
    pub signal: Option<i32>,
    /// Killed for exceeding its timeout.
    pub timed_out: bool,
    /// Start, ns since the epoch.
    pub start_ns: i64,
    /// End, ns since the epoch.
    pub end_ns: i64,
}

/// A capture whose files could not be written to the end (disk full, I/O error): the command
/// ran on untraced, and this is what was kept.
#[derive(Clone, Debug, Default)]
pub struct Incomplete {
    /// What failed, with its causes.
    pub message: String,
    /// The operating system's error number, if one is at the root (ENOSPC, EIO).
    pub os_error: Option<i32>,
    /// Rows on disk, readable as they are.
    pub kept: u64,
    /// The crash journal holding them (`tracer recover` makes the file from it).
    pub journal: Option<PathBuf>,
    /// Files of a rotating capture closed before the failure.
    pub closed: Vec<PathBuf>,
}

/// The result of a capture.
#[derive(Clone, Debug, Default)]
pub struct RecordOutcome {
    /// Exit status for `tracer record`: the (first) command's, 128+signal if killed.
    pub exit_code: i32,
    /// Per launched command.
    pub jobs: Vec<JobOutcome>,
    /// Rows in the syscalls file.
    pub rows: u64,
    /// Records lost in the kernel (all kinds).
    pub lost: u64,
    /// Lost syscall records.
    pub lost_syscalls: u64,
    /// Processes in the processes file.
    pub processes: u64,
    /// Wall time of the capture.
    pub wall: Duration,
    /// Ended by a signal before the traced processes did.
    pub interrupted: bool,
    /// Per-syscall totals, for `--summary`, by name.
    pub totals: Vec<(&'static str, SyscallTotals)>,
    /// Whether durations were measured.
    pub durations: bool,
    /// The files could not be written to the end.
    pub incomplete: Option<Incomplete>,
    /// The capture used programs an earlier capture of its `Session` had loaded.
    pub programs_reused: bool,
}

/// Captures made one after another (the runs of an experiment) share their loaded programs:
/// loading and verifying them is most of a capture's start-up. The next capture uses them only
/// if they are as a fresh load leaves them: nothing traced, nothing lost, no gap pending, no
/// process left unfollowed and nothing written to the ring since; otherwise it loads its own. Between
/// captures the programs stay attached, each call on the machine costing them a lookup in the
/// (empty) traced set.
#[derive(Default)]
pub struct Session {
    kept: Option<Kept>,
}

/// Loaded programs waiting for the next capture of a `Session`.
struct Kept {
    config: ProbeConfig,
    probe: Probe,
    ring: ring::EventRing,
}

impl Session {
    /// Runs a capture (see `run`), with the programs of the previous one if it kept them and
    /// they record what `config` asks for.
    pub fn run(&mut self, config: &RecordConfig) -> Result<RecordOutcome, RecordError> {
        run_in(config, self)
    }
}

/// How the output files of `config` are created: as the user they are for, private (0600)
/// when the capture holds processes of other users than that one.
fn access(config: &RecordConfig, resolved: &targets::Resolved<'_>) -> Access {
    let identity = config
        .files_for
        .as_ref()
        .map(|c| FsIdentity::new(c.uid, c.gid, &c.groups));
    let access = Access::new(identity, false);
    let private = targets::holds_other_users(config, resolved, access.uid());
    access.with_private(private)
}

/// The session of the launched command (see `terminal`).
fn terminal_plan(config: &RecordConfig) -> terminal::Plan {
    let Target::Launch { jobs, .. } = &config.target else {
        return terminal::Plan::Inherit;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let other_user = config
        .creds
        .as_ref()
        .map(|c| c.uid)
        .filter(|uid| *uid != me);
    terminal::plan(other_user, jobs.len() == 1)
}

/// Runs a capture. Blocks until the traced processes are gone or a signal ends it.
pub fn run(config: &RecordConfig) -> Result<RecordOutcome, RecordError> {
    Session::default().run(config)
}

fn run_in(config: &RecordConfig, session: &mut Session) -> Result<RecordOutcome, RecordError> {
    let arch = Arch::native();
    let probe_config = ProbeConfig {
        ring_bytes: config.ring_bytes,
        durations: config.durations,
        entry_paths: config.entry_paths,
        filter: config.filter.as_ref().map(|(nrs, _)| nrs.clone()),
        arch,
    };
    // The previous capture read the ring to its end after its last process left the filter:
    // a record since, or a counter moved since, means a program still ran for it, and this
    // capture loads its own.
    let kept = session
        .kept
        .take()
        .filter(|k| k.config == probe_config)
        .and_then(|mut k| {
            let stale = k.ring.discard_all();
            match &stale {
                Ok(0) => {}
                Ok(n) => log::debug!("{n} records after the previous capture: programs reloaded"),
                Err(e) => log::debug!("mapping the previous capture's rings: {e}"),
            }
            (matches!(stale, Ok(0)) && k.probe.is_fresh()).then_some(k)
        });
    // The slowest part of start-up, started first to overlap the rest (see `LoaderThread`).
    let loader = kept.is_none().then(LoaderThread::start);
    preflight::check_all()?;
    let mut signals = signals::Signals::install()?;
    // Resolve every program and pid before anything starts.
    let resolved = targets::resolve(&config.target)?;
    let clock_offset = clock_offset_ns();
    let output = Arc::new(files::Output::new(
        config,
        arch,
        clock_offset,
        access(config, &resolved),
    )?);
    let (files, sink) = output.open(0).map_err(RecordError::Output)?;
    let programs_reused = kept.is_some();
    let (mut probe, kept_ring) = match (kept, loader) {
        (Some(k), _) => (k.probe, Some(k.ring)),
        (None, Some(loader)) => (Probe::load(&probe_config, loader)?, None),
        (None, None) => unreachable!("a loader is started when no programs are kept"),
    };
    let live = Arc::new(files::Live::default());
    let mut writer = Writer::with_files(sink, files, output, live.clone(), arch, clock_offset);
    let plan = if config.job_process_groups {
        terminal::Plan::NewSession
    } else {
        terminal_plan(config)
    };
    let registered = targets::register(
        config,
        &resolved,
        &signals.ignored,
        plan.child_session(),
        &mut probe,
        &mut writer,
    )?;
    let mut terminal = terminal::Terminal::start(plan).map_err(RecordError::Terminal)?;
    // A command on its own pty owns the screen: no progress counter over it.
    let quiet;
    let config = if terminal.is_pty() {
        quiet = RecordConfig {
            progress: None,
            ..config.clone()
        };
        &quiet
    } else {
        config
    };
    let ring = match kept_ring {
        Some(ring) => ring,
        None => ring::EventRing::new(probe.take_ring()?).map_err(RecordError::Ring)?,
    };
    let pipeline = pipeline::Pipeline::start(ring, writer);
    let started = Instant::now();
    let mut follower = follow::Follower::new(
        config, &mut probe, registered, &pipeline, started, &terminal, &live,
    );
    let followed = signals.follow(&mut follower);
    let jobs = follower.into_outcomes();
    terminal.finish();
    if let Some(progress) = &config.progress {
        progress.report(&Progress::Done);
    }
    let mut reusable = None;
    let outcome = teardown::finish(
        config,
        teardown::Ending {
            followed,
            probe,
            pipeline,
            jobs,
            started,
        },
        &mut reusable,
    );
    session.kept = reusable.map(|(probe, ring)| Kept {
        config: probe_config,
        probe,
        ring,
    });
    outcome.map(|outcome| RecordOutcome {
        programs_reused,
        ..outcome
    })
}
