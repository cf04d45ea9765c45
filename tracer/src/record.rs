//! One capture from start to end: preflight checks, output files, loading the programs,
//! launching or attaching, following until every traced process is gone (or a signal says
//! stop), then draining, and writing the files with their metadata and loss counts.

use std::{
    ffi::OsString,
    io::{IsTerminal, Write as _},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use analysis::dataset::{ProcessSink, RunInfo, SinkError, SyscallSink, meta};
use tracer_common::{LOST_LIFECYCLE, LOST_SYSCALL};

use crate::{
    clock::{clock_offset_ns, now_ns},
    collector::{self, ProcState, Progress, SyscallTotals, Writer},
    launch::{self, Blocked, Credentials, LaunchError},
    preflight::{self, PreflightError},
    probe::{Probe, ProbeConfig, ProbeError},
    syscall_table::Arch,
};

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
}

/// What happened to one launched command.
#[derive(Clone, Debug, Default)]
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

/// Sets RLIMIT_MEMLOCK to infinity: kernels before 5.11 charge BPF maps against it.
fn raise_memlock() {
    let rlim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: valid rlimit pointer; failure is harmless on 5.11+ (memcg accounting).
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &rlim) };
}

/// Checks that `path` can be created, before anything runs.
pub fn check_writable(path: &Path) -> Result<(), RecordError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map(drop)
        .map_err(|source| {
            RecordError::Output(SinkError::Create {
                path: path.to_path_buf(),
                source,
            })
        })
}

struct Running {
    job: usize,
    deadline: Option<Instant>,
}

/// Runs a capture. Blocks until the traced processes are gone or a signal ends it.
pub fn run(config: &RecordConfig) -> Result<RecordOutcome, RecordError> {
    preflight::check_all()?;
    let arch = Arch::native();
    // Resolve every program and check the outputs before anything starts.
    let path_var = std::env::var_os("PATH");
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
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    return Err(RecordError::NoSuchPid(*pid));
                }
            }
            Vec::new()
        }
    };
    check_writable(&config.processes_output)?;
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
        metadata.push(("syscall_tracer.filter".to_string(), expr.clone()));
    }
    metadata.extend(config.metadata.iter().cloned());
    let sink = SyscallSink::create(&config.output, config.run.clone(), &metadata)
        .map_err(RecordError::Output)?;
    let mut processes =
        ProcessSink::create(&config.processes_output, config.run.clone(), &metadata)
            .map_err(RecordError::Output)?;

    raise_memlock();
    let mut probe = Probe::load(&ProbeConfig {
        ring_bytes: config.ring_bytes,
        durations: config.durations,
        filter: config.filter.as_ref().map(|(nrs, _)| nrs.clone()),
        arch,
    })?;
    let mut writer = Writer::new(sink, arch, clock_offset);

    // Fork every command blocked, register it, and only then start threads.
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let mut blocked: Vec<Option<Blocked>> = Vec::new();
    let mut outcomes: Vec<JobOutcome> = Vec::new();
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
                    config.creds.as_ref(),
                    stdio.as_ref(),
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
        Target::Attach { pids } => {
            for pid in pids {
                let state = proc_state_of(*pid).ok_or(RecordError::NoSuchPid(*pid))?;
                probe.trace_pid(*pid)?;
                writer.add_root(*pid, state, false);
            }
        }
    }

    let ring = probe.take_ring()?;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress::default());
    let (tx, rx) = mpsc::channel();
    let drain = collector::spawn_drain(ring, stop.clone(), progress.clone(), tx);
    let writer = collector::spawn_writer(writer, rx);
    let started = Instant::now();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RecordError::Runtime)?;
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
    let loop_result: Result<bool, RecordError> = rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut sigint = signal(SignalKind::interrupt()).map_err(RecordError::Runtime)?;
        let mut sigterm = signal(SignalKind::terminate()).map_err(RecordError::Runtime)?;
        let mut sighup = signal(SignalKind::hangup()).map_err(RecordError::Runtime)?;
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let mut running: Vec<(i32, Running)> = Vec::new();
        let mut next = 0usize;
        let mut last_exit: Option<Instant> = None;
        let mut signals = 0u32;
        let mut last_progress = Instant::now();
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
                if attach || signals > 1 {
                    return Ok(true);
                }
                for (pid, _) in &running {
                    // SAFETY: signalling our own child.
                    unsafe { libc::kill(*pid, sig) };
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
            // Reap finished commands.
            running.retain(|(pid, r)| {
                let mut status = 0;
                // SAFETY: non-blocking wait for our own child.
                let got = unsafe { libc::waitpid(*pid, &mut status, libc::WNOHANG) };
                if got == *pid {
                    let o = &mut outcomes[r.job];
                    o.end_ns = now_ns();
                    if libc::WIFEXITED(status) {
                        o.exit_code = Some(libc::WEXITSTATUS(status));
                    } else if libc::WIFSIGNALED(status) {
                        o.signal = Some(libc::WTERMSIG(status));
                    }
                    last_exit = Some(Instant::now());
                    return false;
                }
                if let Some(d) = r.deadline
                    && Instant::now() >= d
                {
                    outcomes[r.job].timed_out = true;
                    // SAFETY: signalling our own child.
                    unsafe { libc::kill(*pid, libc::SIGKILL) };
                }
                true
            });
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
            if running.is_empty() && next >= blocked.len() && probe.traced_count()? == 0 {
                return Ok(signals > 0);
            }
        }
    });
    if show_progress {
        eprint!("\r\x1b[K");
    }
    let interrupted = match loop_result {
        Ok(i) => i,
        Err(e) => {
            let _ = probe.untrace_all();
            stop.store(true, Ordering::Release);
            let _ = drain.join();
            let _ = writer.join();
            return Err(e);
        }
    };
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
        (
            "syscall_tracer.pre_exec_dropped",
            stats.pre_exec_dropped.to_string(),
        ),
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
    if let Some(c) = &config.creds {
        for p in [&config.output, &config.processes_output] {
            let _ = std::os::unix::fs::chown(p, Some(c.uid), Some(c.gid));
        }
    }
    let exit_code = outcomes
        .first()
        .map(|o| match (o.exit_code, o.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            _ => 0,
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

/// The processes file beside a syscalls file: `trace.parquet` -> `trace.processes.parquet`.
pub fn processes_path(output: &Path) -> PathBuf {
    let stem = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace.parquet".into());
    let base = stem.strip_suffix(".parquet").unwrap_or(&stem);
    output.with_file_name(format!("{base}.processes.parquet"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_file_sits_beside() {
        assert_eq!(
            processes_path(Path::new("/x/trace.parquet")),
            PathBuf::from("/x/trace.processes.parquet")
        );
        assert_eq!(
            processes_path(Path::new("out")),
            PathBuf::from("out.processes.parquet")
        );
    }
}
