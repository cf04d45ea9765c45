//! One capture from start to end: preflight checks, output files, loading the programs,
//! launching or attaching, following until every traced process is gone (or a signal says
//! stop), then draining, and writing the files with their metadata and loss counts.

use std::{
    ffi::OsString,
    io::{IsTerminal, Write as _},
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use tracer_common::{LOST_LIFECYCLE, LOST_SYSCALL};
use tracer_dataset::{RunFiles, RunInfo, SinkError, meta};

use crate::{
    clock::{clock_offset_ns, now_ns},
    collector::{self, ProcState, Progress, SyscallTotals, Writer},
    launch::{self, Blocked, Credentials, LaunchError},
    preflight::{self, PreflightError},
    probe::{Probe, ProbeConfig, ProbeError},
};
use tracer_dataset::Arch;

/// Default ring buffer: 128 MiB holds about 1.4 million syscall records, a few hundred
/// milliseconds of a syscall storm, enough slack for the drain thread on a busy machine.
pub const DEFAULT_RING_BYTES: u32 = 128 << 20;

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
    /// The writer thread ended before the capture did.
    #[error("the Parquet writer stopped early")]
    WriterStopped,
    /// The async runtime could not start.
    #[error("starting the signal-handling runtime")]
    Runtime(#[source] std::io::Error),
}

/// One command to run under capture.
#[derive(Clone, Debug)]
pub struct Job {
    /// Program and arguments.
    pub argv: Vec<OsString>,
    /// Kill the command (SIGKILL) after this long.
    pub timeout: Option<Duration>,
    /// Send its stdout and stderr to this file (stdin from /dev/null) instead of the terminal.
    pub log: Option<PathBuf>,
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

/// A validated capture request.
#[derive(Clone, Debug)]
pub struct RecordConfig {
    /// What to trace.
    pub target: Target,
    /// The syscalls file.
    pub output: PathBuf,
    /// The processes file.
    pub processes_output: PathBuf,
    /// Run the commands as this user (`None`: as the tracer).
    pub creds: Option<Credentials>,
    /// Syscall numbers to keep (`None`: all) and the expression they came from.
    pub filter: Option<(Vec<i32>, String)>,
    /// Ring buffer bytes.
    pub ring_bytes: u32,
    /// Attach sys_enter too for entry times and durations.
    pub durations: bool,
    /// Show a live counter on stderr when it is a terminal.
    pub progress: bool,
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
    /// Per-syscall totals, for `--summary`.
    pub totals: Vec<(&'static str, SyscallTotals)>,
    /// Whether durations were measured.
    pub durations: bool,
}

fn proc_state_of(pid: u32) -> Option<ProcState> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised comm: state ppid ...
    let after = &stat[stat.rfind(')')? + 2..];
    let ppid = after.split_whitespace().nth(1)?.parse().ok();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string());
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string());
    let argv = std::fs::read(format!("/proc/{pid}/cmdline")).ok().map(|b| {
        b.split(|c| *c == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    });
    Some(ProcState {
        ppid,
        start_ns: Some(now_ns()),
        comm,
        exe,
        argv,
        ..ProcState::default()
    })
}

/// The process (thread group) id of `pid`, which may name a thread (`Tgid:` in
/// /proc/PID/status): the filter works on processes.
fn tgid_of(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat.rfind(')')?;
            stat[after + 1..]
                .split_whitespace()
                .next()
                .map(|state| state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// The environment of a command run as another user: the tracer's own, with the identity
/// variables of that user (as `runuser` sets them), so the program finds its own home.
fn command_env(creds: Option<&Credentials>) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    if let Some(c) = creds {
        let set = [
            ("HOME", c.home.as_str()),
            ("USER", c.name.as_str()),
            ("LOGNAME", c.name.as_str()),
            ("SHELL", c.shell.as_str()),
        ];
        for (key, value) in set {
            if value.is_empty() {
                continue;
            }
            env.retain(|(k, _)| k != key);
            env.push((key.into(), value.into()));
        }
    }
    env
}

struct Running {
    job: usize,
    deadline: Option<Instant>,
}

/// How long a process stays in the filter after its last thread started exiting: every thread's
/// exit event is written well within it.
const DYING_GRACE: Duration = Duration::from_millis(50);
/// Batches queued between the drain and writer threads (1 MiB each). When the writer falls this
/// far behind, the drain waits, the ring buffer fills and further records are counted as lost:
/// memory stays bounded and losses stay visible.
const QUEUED_BATCHES: usize = 512;

/// Whether this process is in the terminal's foreground group: a Ctrl-C typed there reaches the
/// traced command directly, so it must not be sent a second time.
fn terminal_foreground() -> bool {
    // SAFETY: plain queries on fd 0 and our own process group.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// Runs a capture. Blocks until the traced processes are gone or a signal ends it.
pub fn run(config: &RecordConfig) -> Result<RecordOutcome, RecordError> {
    preflight::check_all()?;
    // An inherited SIG_IGN for SIGCHLD would make waitpid fail and the wait below never end.
    // SAFETY: restoring a default disposition.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    // Which of the signals we handle our caller had ignored; the commands inherit that.
    let ignored_signals: Vec<i32> = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP]
        .into_iter()
        .filter(|sig| {
            // SAFETY: querying a disposition into a zeroed struct.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(*sig, std::ptr::null(), &mut old) == 0
                    && old.sa_sigaction == libc::SIG_IGN
            }
        })
        .collect();
    // Signal handling starts before any file exists. The current-thread runtime starts no
    // thread, so the fork below still happens in a single-threaded process.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RecordError::Runtime)?;
    let (mut sigint, mut sigterm, mut sighup) = {
        use tokio::signal::unix::{SignalKind, signal};
        let _guard = rt.enter();
        (
            signal(SignalKind::interrupt()).map_err(RecordError::Runtime)?,
            signal(SignalKind::terminate()).map_err(RecordError::Runtime)?,
            signal(SignalKind::hangup()).map_err(RecordError::Runtime)?,
        )
    };
    let arch = Arch::native();
    // Resolve every program and pid before anything starts.
    let path_var = std::env::var_os("PATH");
    let mut attach_pids = Vec::new();
    let resolved: Vec<PathBuf> = match &config.target {
        Target::Launch { jobs, .. } => {
            if jobs.is_empty() || jobs.iter().any(|j| j.argv.is_empty()) {
                return Err(RecordError::NothingToTrace);
            }
            jobs.iter()
                .map(|j| launch::resolve(&j.argv[0], path_var.as_deref()))
                .collect::<Result<_, _>>()?
        }
        Target::Attach { pids } => {
            if pids.is_empty() {
                return Err(RecordError::NothingToTrace);
            }
            for pid in pids {
                let tgid = tgid_of(*pid).ok_or(RecordError::NoSuchPid(*pid))?;
                if !attach_pids.contains(&tgid) {
                    attach_pids.push(tgid);
                }
            }
            Vec::new()
        }
    };
    let clock_offset = clock_offset_ns();
    let start_wall = now_ns();
    let mut metadata = vec![
        (meta::ARCH.to_string(), arch.as_str().to_string()),
        (
            meta::KERNEL_RELEASE.to_string(),
            preflight::kernel_release(),
        ),
        (
            meta::COMMAND_LINE.to_string(),
            serde_json::to_string(&config.command_line).unwrap_or_default(),
        ),
        (meta::CLOCK_OFFSET_NS.to_string(), clock_offset.to_string()),
        (
            meta::TS_POINT.to_string(),
            if config.durations { "entry" } else { "exit" }.to_string(),
        ),
        (meta::RING_BYTES.to_string(), config.ring_bytes.to_string()),
        (meta::START_NS.to_string(), start_wall.to_string()),
    ];
    if let Some((_, expr)) = &config.filter {
        metadata.push((meta::FILTER.to_string(), expr.clone()));
    }
    metadata.extend(config.metadata.iter().cloned());
    // Creating the files checks that the output is writable before any command runs.
    // Both files are written under temporary names and renamed into place only when complete:
    // a failed capture never leaves a truncated file (or destroys the previous one).
    let (outputs, sink, mut processes) = RunFiles::create(
        &config.output,
        &config.processes_output,
        &config.run,
        &metadata,
    )
    .map_err(RecordError::Output)?;

    let mut probe = Probe::load(&ProbeConfig {
        ring_bytes: config.ring_bytes,
        durations: config.durations,
        filter: config.filter.as_ref().map(|(nrs, _)| nrs.clone()),
        arch,
    })?;
    let mut writer = Writer::new(sink, arch, clock_offset);

    // Fork every command blocked, register it, and only then start threads.
    let env = command_env(config.creds.as_ref());
    let mut blocked: Vec<Option<Blocked>> = Vec::new();
    let mut outcomes: Vec<JobOutcome> = Vec::new();
    let own_groups = config.job_process_groups;
    match &config.target {
        Target::Launch { jobs, .. } => {
            // SAFETY: getpid has no preconditions.
            let me = unsafe { libc::getpid() };
            for (job, path) in jobs.iter().zip(&resolved) {
                let stdio = match &job.log {
                    Some(log) => Some(launch::Stdio::to_log(log)?),
                    None => None,
                };
                let child = launch::spawn_blocked(
                    path,
                    &job.argv,
                    &env,
                    &launch::LaunchOptions {
                        creds: config.creds.as_ref(),
                        stdio: stdio.as_ref(),
                        new_process_group: own_groups,
                        ignored_signals: ignored_signals.clone(),
                    },
                )?;
                probe.trace_pid(child.pid() as u32)?;
                writer.add_root(
                    child.pid() as u32,
                    ProcState {
                        ppid: Some(me),
                        start_ns: Some(now_ns()),
                        comm: Some(
                            path.file_name()
                                .map(|n| n.to_string_lossy().chars().take(15).collect())
                                .unwrap_or_default(),
                        ),
                        ..ProcState::default()
                    },
                    true,
                );
                outcomes.push(JobOutcome {
                    pid: child.pid(),
                    ..JobOutcome::default()
                });
                blocked.push(Some(child));
            }
        }
        Target::Attach { .. } => {
            for pid in &attach_pids {
                let state = proc_state_of(*pid).ok_or(RecordError::NoSuchPid(*pid))?;
                probe.trace_pid(*pid)?;
                // A process that ended between the check and the insert never reaches the exit
                // hook as traced; its entry would keep the capture waiting forever.
                if !alive(*pid) {
                    probe.untrace(*pid)?;
                    return Err(RecordError::NoSuchPid(*pid));
                }
                writer.add_root(*pid, state, false);
            }
        }
    }

    let ring = probe.take_ring()?;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress::default());
    let (tx, rx) = mpsc::sync_channel(QUEUED_BATCHES);
    let drain = collector::spawn_drain(ring, stop.clone(), progress.clone(), tx);
    let writer = collector::spawn_writer(writer, rx);
    let started = Instant::now();

    let show_progress = config.progress && std::io::stderr().is_terminal();
    let jobs: Vec<Job> = match &config.target {
        Target::Launch { jobs, .. } => jobs.clone(),
        Target::Attach { .. } => Vec::new(),
    };
    let schedule = match &config.target {
        Target::Launch { schedule, .. } => *schedule,
        Target::Attach { .. } => Schedule::Concurrent,
    };
    let attach = matches!(config.target, Target::Attach { .. });
    let creds = config.creds.clone();
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() } as u32;
    // Sends `sig` to a launched job: its process group in experiments, else the whole traced
    // tree (every traced process), as a tree-wide Ctrl-C would.
    let signal_job = |probe: &mut Probe, pid: i32, sig: i32| {
        if own_groups {
            // SAFETY: signalling the job's own process group.
            unsafe { libc::kill(-pid, sig) };
        } else {
            for p in probe.traced_pids().unwrap_or_default() {
                if p != me {
                    // SAFETY: signalling a traced process.
                    unsafe { libc::kill(p as i32, sig) };
                }
            }
        }
    };
    let loop_result: Result<Option<i32>, RecordError> = rt.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let mut running: Vec<(i32, Running)> = Vec::new();
        let mut next = 0usize;
        let mut last_exit: Option<Instant> = None;
        let mut signals = 0u32;
        let mut last_signal = None;
        let mut last_progress = Instant::now();
        let mut dying_since = std::collections::HashMap::new();
        let release = |i: usize,
                       blocked: &mut Vec<Option<Blocked>>,
                       outcomes: &mut Vec<JobOutcome>,
                       running: &mut Vec<(i32, Running)>|
         -> Result<(), RecordError> {
            if let Some(child) = blocked[i].take() {
                outcomes[i].start_ns = now_ns();
                let pid = child.release(creds.as_ref())?;
                running.push((
                    pid,
                    Running {
                        job: i,
                        deadline: jobs[i].timeout.map(|t| Instant::now() + t),
                    },
                ));
            }
            Ok(())
        };
        if schedule == Schedule::Concurrent {
            // The barrier: everything is forked and registered; let all go at once, then
            // collect their exec results.
            let mut released = Vec::new();
            for (i, b) in blocked.iter_mut().enumerate() {
                if let Some(child) = b.take() {
                    outcomes[i].start_ns = now_ns();
                    released.push((i, child.go()?));
                }
            }
            for (i, r) in released {
                let pid = r.wait_exec(creds.as_ref())?;
                running.push((
                    pid,
                    Running {
                        job: i,
                        deadline: jobs[i].timeout.map(|t| Instant::now() + t),
                    },
                ));
            }
            next = blocked.len();
        }
        loop {
            let mut sig = None;
            tokio::select! {
                _ = sigint.recv() => sig = Some(libc::SIGINT),
                _ = sigterm.recv() => sig = Some(libc::SIGTERM),
                _ = sighup.recv() => sig = Some(libc::SIGHUP),
                _ = tick.tick() => {}
            }
            if let Some(sig) = sig {
                signals += 1;
                last_signal = Some(sig);
                if attach || signals > 1 {
                    // -p: stop and leave the processes running. Second signal: stop now.
                    return Ok(Some(sig));
                }
                // Jobs in their own process groups never see the terminal's Ctrl-C: forward it.
                if own_groups || !(sig == libc::SIGINT && terminal_foreground()) {
                    for (pid, _) in &running {
                        signal_job(&mut probe, *pid, sig);
                    }
                }
                // Commands not yet started never will be.
                for b in blocked.iter_mut() {
                    if let Some(child) = b.take() {
                        // SAFETY: killing our own blocked child; then reap it.
                        unsafe {
                            libc::kill(child.pid(), libc::SIGKILL);
                            let mut st = 0;
                            libc::waitpid(child.pid(), &mut st, 0);
                        }
                    }
                }
                next = blocked.len();
            }
            // Reap finished commands; kill those past their timeout.
            let mut timed_out = Vec::new();
            running.retain(|(pid, r)| {
                let mut status = 0;
                // SAFETY: non-blocking wait for our own child.
                let got = unsafe { libc::waitpid(*pid, &mut status, libc::WNOHANG) };
                if got == *pid || got < 0 {
                    // got < 0: the child is gone without a status (reaped elsewhere).
                    let o = &mut outcomes[r.job];
                    o.end_ns = now_ns();
                    if got == *pid && libc::WIFEXITED(status) {
                        o.exit_code = Some(libc::WEXITSTATUS(status));
                    } else if got == *pid && libc::WIFSIGNALED(status) {
                        o.signal = Some(libc::WTERMSIG(status));
                    }
                    last_exit = Some(Instant::now());
                    return false;
                }
                if let Some(d) = r.deadline
                    && Instant::now() >= d
                    && !outcomes[r.job].timed_out
                {
                    outcomes[r.job].timed_out = true;
                    timed_out.push(*pid);
                }
                true
            });
            for pid in timed_out {
                signal_job(&mut probe, pid, libc::SIGKILL);
            }
            if let Schedule::Sequential { pause } = schedule
                && running.is_empty()
                && next < blocked.len()
                && last_exit.is_none_or(|t| t.elapsed() >= pause)
            {
                release(next, &mut blocked, &mut outcomes, &mut running)?;
                next += 1;
            }
            if show_progress && last_progress.elapsed() >= Duration::from_millis(250) {
                last_progress = Instant::now();
                eprint!(
                    "\rtracer: {} events, {:.1} s ",
                    progress.records.load(Ordering::Relaxed),
                    started.elapsed().as_secs_f64()
                );
                let _ = std::io::stderr().flush();
            }
            if writer.is_finished() {
                // The writer only ends early on an error (disk full, ...): stop now rather than
                // trace on into nothing.
                return Err(RecordError::WriterStopped);
            }
            probe.prune_dying(&mut dying_since, DYING_GRACE)?;
            if running.is_empty() && next >= blocked.len() && probe.traced_count()? == 0 {
                // Let the last exit events of dying processes reach the ring.
                tokio::time::sleep(DYING_GRACE).await;
                return Ok(last_signal.filter(|_| signals > 0));
            }
        }
    });
    if show_progress {
        eprint!("\r\x1b[K");
    }
    let stopped_by = match loop_result {
        Ok(s) => s,
        Err(e) => {
            let _ = probe.untrace_all();
            stop.store(true, Ordering::Release);
            let _ = drain.join();
            if let Ok(Err(sink_error)) = writer.join() {
                return Err(RecordError::Sink(sink_error));
            }
            return Err(e);
        }
    };
    let interrupted = stopped_by.is_some();
    // Whatever is still traced (second Ctrl-C, -p targets) runs on untraced.
    probe.untrace_all()?;
    stop.store(true, Ordering::Release);
    drain.join().expect("drain thread panicked");
    let (mut sink, procs, stats) = writer
        .join()
        .expect("writer thread panicked")
        .map_err(RecordError::Sink)?;
    let lost = probe.lost()?;
    let lost_syscalls: u64 = lost.iter().map(|c| c[LOST_SYSCALL as usize]).sum();
    let lost_lifecycle: u64 = lost.iter().map(|c| c[LOST_LIFECYCLE as usize]).sum();
    let detail = serde_json::json!({
        "syscall": lost_syscalls,
        "lifecycle": lost_lifecycle,
        "per_cpu": lost.iter().map(|c| c.to_vec()).collect::<Vec<_>>(),
        "undecodable": stats.malformed,
    });
    let end_wall = now_ns();
    let footer = [
        (
            meta::EVENTS_LOST,
            (lost_syscalls + lost_lifecycle).to_string(),
        ),
        (meta::EVENTS_LOST_DETAIL, detail.to_string()),
        (meta::END_NS, end_wall.to_string()),
        (meta::INTERRUPTED, interrupted.to_string()),
        (meta::PRE_EXEC_DROPPED, stats.pre_exec_dropped.to_string()),
    ];
    for (k, v) in &footer {
        sink.add_metadata(k, v.clone());
        processes.add_metadata(k, v.clone());
    }
    let n_procs = procs.len() as u64;
    for p in procs {
        processes.push(p);
    }
    let rows = sink.close().map_err(RecordError::Sink)?;
    processes.close().map_err(RecordError::Sink)?;
    outputs
        .commit(config.creds.as_ref().map(|c| (c.uid, c.gid)))
        .map_err(RecordError::Output)?;
    let exit_code = outcomes
        .first()
        .map(|o| match (o.exit_code, o.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            // Stopped before the command ended (a second Ctrl-C): as if killed by the signal.
            _ => stopped_by.map_or(0, |s| 128 + s),
        })
        .unwrap_or(0);
    let mut totals: Vec<(&'static str, SyscallTotals)> = stats.totals.into_iter().collect();
    totals.sort_by_key(|t| t.0);
    Ok(RecordOutcome {
        exit_code,
        jobs: outcomes,
        rows,
        lost: lost_syscalls + lost_lifecycle,
        lost_syscalls,
        processes: n_procs,
        wall: started.elapsed(),
        interrupted,
        totals,
        durations: config.durations,
    })
}
