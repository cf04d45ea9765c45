//! Synthetic experiment datasets with the shape of the research question, for tests, examples
//! and benchmarks (the analysis is developed on generated data; see issue 4).
//!
//! A scenario is a set of commands. Each command is a process with one or more threads; each
//! thread repeats a fixed template of syscalls (derived from the command's seed) with a small
//! per-run chance of substituting one call, so repetitions of a run are similar but not equal.
//! In M.S the commands run one after another; in M.R all of them start at once and the
//! "scheduler" interleaves short bursts of their threads. Per-thread sequences are therefore
//! the same kind in both modes, and only the interleaved stream changes, as in the study.
//!
//! [`adfa`] generates a corpus shaped like ADFA-LD instead: thousands of short labelled traces.

pub mod adfa;

use std::path::{Path, PathBuf};

use tracer_dataset::{RunInfo, SyscallRow, SyscallSink};

use crate::{compare::SplitMix64, error::AnalysisError};

/// Syscall names the generator draws from.
pub const NAMES: [&str; 40] = [
    "read",
    "write",
    "openat",
    "close",
    "fstat",
    "mmap",
    "mprotect",
    "munmap",
    "brk",
    "rt_sigaction",
    "rt_sigprocmask",
    "ioctl",
    "pread64",
    "access",
    "pipe2",
    "select",
    "sched_yield",
    "mremap",
    "dup2",
    "nanosleep",
    "getpid",
    "socket",
    "connect",
    "sendto",
    "recvfrom",
    "clone3",
    "execve",
    "exit_group",
    "wait4",
    "kill",
    "uname",
    "fcntl",
    "getdents64",
    "getcwd",
    "chdir",
    "newfstatat",
    "readlink",
    "getuid",
    "setuid",
    "futex",
];

/// Indices into `NAMES` of the calls every thread starts with (a dynamic loader's prologue:
/// execve, brk, access, openat, fstat, mmap, close, ...), so scenarios share some windows.
pub const PROLOGUE: [usize; 16] = [26, 8, 13, 2, 4, 5, 3, 2, 0, 4, 5, 6, 5, 3, 9, 10];

/// One scenario of a synthetic experiment.
#[derive(Clone, Debug)]
pub struct ScenarioSpec {
    /// Scenario name.
    pub name: String,
    /// Commands run per repetition.
    pub commands: usize,
    /// Threads per command.
    pub threads: usize,
    /// Length of each thread's template.
    pub template_len: usize,
    /// Calls per thread.
    pub calls_per_thread: usize,
    /// Chance per call of substituting a random syscall.
    pub noise: f64,
    /// How many distinct syscall names the scenario uses (a prefix of `NAMES`, at most 40).
    pub alphabet: usize,
}

impl ScenarioSpec {
    /// An exploratory scenario: many short commands with varied calls.
    pub fn recon() -> Self {
        Self {
            name: "recon".into(),
            commands: 6,
            threads: 1,
            template_len: 40,
            calls_per_thread: 400,
            noise: 0.004,
            alphabet: 40,
        }
    }

    /// A structured scenario: few commands repeating tight loops.
    pub fn privilege() -> Self {
        Self {
            name: "privilege".into(),
            commands: 2,
            threads: 1,
            template_len: 6,
            calls_per_thread: 600,
            noise: 0.0005,
            alphabet: 12,
        }
    }
}

/// A whole synthetic experiment.
#[derive(Clone, Debug)]
pub struct ExperimentSpec {
    /// Scenarios.
    pub scenarios: Vec<ScenarioSpec>,
    /// Modes to write (`ms`, `mr`).
    pub modes: Vec<String>,
    /// Repetitions per scenario and mode.
    pub reps: usize,
    /// Largest burst a thread runs before the M.R scheduler switches.
    pub max_burst: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for ExperimentSpec {
    fn default() -> Self {
        Self {
            scenarios: vec![ScenarioSpec::recon(), ScenarioSpec::privilege()],
            modes: vec!["ms".into(), "mr".into()],
            reps: 3,
            max_burst: 3,
            seed: 42,
        }
    }
}

/// One generated call: (pid, tid, syscall name index).
pub type Call = (i32, i32, usize);

/// The calls of one run of `spec` in `mode`, in `seq` order.
pub fn run_calls(
    spec: &ScenarioSpec,
    mode: &str,
    rep: usize,
    max_burst: usize,
    seed: u64,
) -> Vec<Call> {
    let alphabet = spec.alphabet.clamp(1, NAMES.len());
    let mut rng = SplitMix64::new(seed ^ (rep as u64).wrapping_mul(0x51_7cc1_b727_220a));
    // Each thread: (pid, tid, calls).
    let mut threads: Vec<(i32, i32, Vec<usize>)> = Vec::new();
    for c in 0..spec.commands {
        let mut tpl_rng = SplitMix64::new(seed.wrapping_add(c as u64 * 7919));
        let pid = 1000 + (c as i32) * 10;
        for t in 0..spec.threads {
            let template: Vec<usize> = (0..spec.template_len.max(1))
                .map(|_| tpl_rng.below(alphabet))
                .collect();
            let calls = PROLOGUE
                .iter()
                .copied()
                .chain(
                    (0..spec.calls_per_thread.saturating_sub(PROLOGUE.len())).map(|i| {
                        let noisy = (rng.next_u64() % 1_000_000) as f64 / 1e6 < spec.noise;
                        if noisy {
                            rng.below(alphabet)
                        } else {
                            template[i % template.len()]
                        }
                    }),
                )
                .collect();
            threads.push((pid, pid + t as i32, calls));
        }
    }
    let mut out = Vec::new();
    if mode == "mr" {
        let mut pos = vec![0usize; threads.len()];
        let mut live: Vec<usize> = (0..threads.len()).collect();
        while !live.is_empty() {
            let pick = rng.below(live.len());
            let t = live[pick];
            let burst = 1 + rng.below(max_burst.max(1));
            for _ in 0..burst {
                if pos[t] >= threads[t].2.len() {
                    break;
                }
                out.push((threads[t].0, threads[t].1, threads[t].2[pos[t]]));
                pos[t] += 1;
            }
            if pos[t] >= threads[t].2.len() {
                live.swap_remove(pick);
            }
        }
    } else {
        for (pid, tid, calls) in &threads {
            out.extend(calls.iter().map(|c| (*pid, *tid, *c)));
        }
    }
    out
}

/// Writes one run to `path` (a `syscalls` file).
pub fn write_run(path: &Path, run: RunInfo, calls: &[Call]) -> Result<u64, AnalysisError> {
    let mut sink = SyscallSink::create(path, run, &[])?;
    for (seq, (pid, tid, name)) in calls.iter().enumerate() {
        sink.push(&SyscallRow {
            seq: seq as u64,
            pid: *pid,
            tid: *tid,
            syscall: NAMES[*name],
            nr: *name as i32,
            ..Default::default()
        })?;
    }
    Ok(sink.close()?)
}

/// Writes the experiment as `dir/syscalls/<scenario>-<mode>-<rep>.parquet`. Returns the files.
pub fn write_experiment(dir: &Path, spec: &ExperimentSpec) -> Result<Vec<PathBuf>, AnalysisError> {
    let sys_dir = dir.join("syscalls");
    std::fs::create_dir_all(&sys_dir).map_err(|e| AnalysisError::io("creating", &sys_dir, e))?;
    let mut files = Vec::new();
    for (si, s) in spec.scenarios.iter().enumerate() {
        for mode in &spec.modes {
            for rep in 0..spec.reps {
                let run_id = format!("{}-{mode}-{rep}", s.name);
                let path = sys_dir.join(format!("{run_id}.parquet"));
                let seed = spec.seed.wrapping_add(si as u64 * 1_000_003);
                let calls = run_calls(
                    s,
                    mode,
                    rep + if mode == "mr" { 1000 } else { 0 },
                    spec.max_burst,
                    seed,
                );
                write_run(
                    &path,
                    RunInfo {
                        run_id,
                        source: "synthetic".into(),
                        scenario: Some(s.name.clone()),
                        mode: Some(mode.clone()),
                    },
                    &calls,
                )?;
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// Rows of one run as columns (what the analysis reads), for benchmarks.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    /// Order within the run.
    pub seq: Vec<u64>,
    /// Process ids.
    pub pid: Vec<i32>,
    /// Thread ids.
    pub tid: Vec<i32>,
    /// Syscall name indices into `NAMES`.
    pub syscall: Vec<u16>,
}

/// A synthetic multi-threaded stream (see `interleaved_columns`).
#[derive(Clone, Copy, Debug)]
pub struct StreamSpec {
    /// Threads, one process each (pids `base_pid + i`).
    pub threads: usize,
    /// Calls in the stream.
    pub rows: usize,
    /// Length of each thread's template.
    pub template_len: usize,
    /// Chance per call of substituting a random syscall.
    pub noise: f64,
    /// Longest burst one thread runs before the next pick.
    pub max_burst: usize,
    /// First pid.
    pub base_pid: i32,
    /// Seed of the templates (the programs).
    pub seed: u64,
    /// Seed of the noise and interleaving (the run).
    pub stream_seed: u64,
}

/// A stream of calls by several threads, each repeating its own template with a small chance of
/// substitution, interleaved in bursts of 1 to `max_burst` calls. Memory: the returned columns.
pub fn interleaved_columns(spec: &StreamSpec) -> Columns {
    let StreamSpec {
        threads,
        rows,
        template_len,
        noise,
        max_burst,
        base_pid,
        seed,
        stream_seed,
    } = *spec;
    let threads = threads.max(1);
    let mut tpl_rng = SplitMix64::new(seed);
    let templates: Vec<Vec<u16>> = (0..threads)
        .map(|_| {
            (0..template_len.max(1))
                .map(|_| tpl_rng.below(NAMES.len()) as u16)
                .collect()
        })
        .collect();
    let mut pos = vec![0usize; threads];
    let mut rng = SplitMix64::new(stream_seed);
    let threshold = (noise.clamp(0.0, 1.0) * u32::MAX as f64) as u64;
    let mut c = Columns {
        seq: Vec::with_capacity(rows),
        pid: Vec::with_capacity(rows),
        tid: Vec::with_capacity(rows),
        syscall: Vec::with_capacity(rows),
    };
    while c.seq.len() < rows {
        let r = rng.next_u64();
        let t = (r as usize) % threads;
        let burst = 1 + ((r >> 32) as usize) % max_burst.max(1);
        for _ in 0..burst.min(rows - c.seq.len()) {
            let x = rng.next_u64();
            let id = if (x & 0xffff_ffff) < threshold {
                ((x >> 32) % NAMES.len() as u64) as u16
            } else {
                templates[t][pos[t] % templates[t].len()]
            };
            pos[t] += 1;
            c.seq.push(c.seq.len() as u64);
            c.pid.push(base_pid + t as i32);
            c.tid.push(base_pid + t as i32);
            c.syscall.push(id);
        }
    }
    c
}

/// Writes `columns` as one run to `path`.
pub fn write_columns(path: &Path, run: RunInfo, columns: &Columns) -> Result<u64, AnalysisError> {
    let mut sink = SyscallSink::create(path, run, &[])?;
    for i in 0..columns.seq.len() {
        let id = usize::from(columns.syscall[i]);
        sink.push(&SyscallRow {
            seq: columns.seq[i],
            pid: columns.pid[i],
            tid: columns.tid[i],
            syscall: NAMES[id],
            nr: id as i32,
            ..Default::default()
        })?;
    }
    Ok(sink.close()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mr_is_an_interleaving_of_the_same_threads() {
        let spec = ScenarioSpec::recon();
        let ms = run_calls(&spec, "ms", 0, 3, 7);
        let mr = run_calls(&spec, "mr", 0, 3, 7);
        assert_eq!(
            ms.len(),
            spec.commands * spec.threads * spec.calls_per_thread
        );
        // Same rep seed: each thread's own calls are identical in both modes.
        for tid in ms
            .iter()
            .map(|c| c.1)
            .collect::<std::collections::BTreeSet<_>>()
        {
            let a: Vec<usize> = ms.iter().filter(|c| c.1 == tid).map(|c| c.2).collect();
            let b: Vec<usize> = mr.iter().filter(|c| c.1 == tid).map(|c| c.2).collect();
            assert_eq!(a, b, "thread {tid}");
        }
        assert_ne!(ms, mr);
    }
}
