//! `tracer experiment`: run scenarios of commands in M.S (one after another) and M.R (all at
//! once) under capture, write the dataset folder of DESIGN.md with its manifest, then compare
//! the modes with the analysis library and write the report.

pub mod spec;

use std::{
    ffi::OsString,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use analysis::{
    compare::SplitMix64,
    report::{self, ReportConfig, ReportSummary},
};
use clap::Args;
use serde::Serialize;
use tracer_dataset::{
    RunInfo,
    layout::{self, LOGS_DIR, MANIFEST, PROCESSES_DIR, SYSCALLS_DIR},
    meta,
};

use crate::{
    capture::{self, Job, JobOutcome, RecordConfig, RecordError, Schedule, Target, launch},
    clock::now_ns,
    user::{self, UserError},
};
pub use spec::{CommandSpec, Mode, Scenario, Spec, SpecError};

/// `tracer experiment`.
#[derive(Debug, Args)]
#[command(after_help = "EXAMPLES:
    sudo -E tracer experiment                       built-in privilege/recon/baseline set, 5 reps
    sudo -E tracer experiment -s mine.toml --reps 3 -o runs/
    tracer experiment --print-default > mine.toml   start a scenario file from the built-in one

LAYOUT:
    OUT/syscalls/<scenario>-<mode>-<rep>.parquet   one capture per run
    OUT/processes/<scenario>-<mode>-<rep>.parquet  process lineage per run
    OUT/logs/<run>.log                             the commands' own output
    OUT/manifest.json                              spec, host, kernel, per-run exit codes and losses
    OUT/report/index.html                          coverage/mismatch tables and plots")]
pub struct ExperimentArgs {
    /// Scenario file (TOML); default: the built-in set (see --print-default).
    #[arg(short = 's', long = "scenarios", value_name = "FILE")]
    pub scenarios: Option<PathBuf>,

    /// Dataset folder to write.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        default_value = "experiment-out"
    )]
    pub output: PathBuf,

    /// Repetitions per mode (overrides the file).
    #[arg(long, value_name = "N")]
    pub reps: Option<u32>,

    /// Only these scenarios (comma-separated).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Random run order from this seed instead of alternating M.S and M.R (ABAB...).
    #[arg(long, value_name = "SEED")]
    pub shuffle: Option<u64>,

    /// Share of each scenario's M.S runs that builds the baseline; the rest are held out and
    /// scored like the M.R runs.
    #[arg(long, value_name = "SHARE", default_value_t = 0.6)]
    pub train_share: f64,

    /// Run the commands as USER (default under sudo: the invoking user).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Also record entry times and durations (second kernel hook).
    #[arg(short = 'T', long = "durations")]
    pub durations: bool,

    /// Ring buffer size in bytes per capture.
    #[arg(long = "ring-bytes", value_name = "BYTES", default_value = "64M", value_parser = crate::cli::parse_bytes)]
    pub ring_bytes: u32,

    /// Capture only; skip the comparison and report.
    #[arg(long)]
    pub no_report: bool,

    /// Print the built-in scenario file and exit.
    #[arg(long)]
    pub print_default: bool,
}

/// Errors of an experiment.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The specification is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A capture failed.
    #[error("run {run_id}")]
    Record {
        /// The run.
        run_id: String,
        /// The cause.
        #[source]
        source: Box<RecordError>,
    },
    /// The dataset folder cannot be written.
    #[error("writing {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Bad --user.
    #[error(transparent)]
    User(#[from] UserError),
    /// `--only` names no scenario of the file.
    #[error("--only {0}: no such scenario")]
    UnknownScenario(String),
    /// The analysis failed.
    #[error("analysing the dataset")]
    Analysis(#[source] analysis::AnalysisError),
}

/// One command's fate in one run: what ran, and the capture's outcome for it (pid, exit
/// status, signal, timeout, start and end).
#[derive(Clone, Debug, Serialize)]
pub struct CommandRecord {
    /// What ran.
    pub command: String,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: JobOutcome,
}

/// One run in the manifest.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// Run id (`<scenario>-<mode>-<rep>`).
    pub run_id: String,
    /// Scenario.
    pub scenario: String,
    /// Mode.
    pub mode: Mode,
    /// Repetition (0-based).
    pub rep: u32,
    /// Position in the run order.
    pub order: usize,
    /// Syscalls file, relative to the dataset folder.
    pub syscalls_file: String,
    /// Processes file, relative.
    pub processes_file: String,
    /// Commands' output, relative.
    pub log_file: String,
    /// Rows captured.
    pub events: u64,
    /// Records lost.
    pub events_lost: u64,
    /// Wall time of the capture, ns.
    pub duration_ns: u64,
    /// Per command.
    pub commands: Vec<CommandRecord>,
    /// The run was cut short by a signal.
    pub interrupted: bool,
}

/// The dataset's manifest.json.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    /// Manifest format.
    pub manifest_version: u32,
    /// tracer version.
    pub tracer_version: String,
    /// Host name.
    pub host: String,
    /// Kernel release.
    pub kernel_release: String,
    /// Architecture.
    pub arch: String,
    /// Start, ns since the epoch.
    pub started_ns: i64,
    /// End.
    pub ended_ns: i64,
    /// The specification as run (after overrides).
    pub spec: Spec,
    /// Commands skipped because their program is missing here, per scenario.
    pub skipped_commands: Vec<SkippedCommand>,
    /// Order: `alternating` or `shuffled:<seed>`.
    pub order: String,
    /// Runs in execution order.
    pub runs: Vec<RunRecord>,
    /// Stopped by a signal before the plan was done.
    pub interrupted: bool,
}

/// A command left out.
#[derive(Clone, Debug, Serialize)]
pub struct SkippedCommand {
    /// Scenario.
    pub scenario: String,
    /// The command.
    pub command: String,
    /// Why.
    pub reason: String,
}

/// What `run` returns.
#[derive(Debug)]
pub struct ExperimentOutcome {
    /// The manifest written.
    pub manifest: Manifest,
    /// The report, unless skipped.
    pub report: Option<ReportSummary>,
    /// Dataset folder.
    pub output: PathBuf,
}

struct Planned {
    scenario: usize,
    mode: Mode,
    rep: u32,
}

/// The run order: repetitions outermost, scenarios, then the modes alternating (ABAB), so
/// drift of the machine over time does not look like a mode effect; or a seeded shuffle.
fn plan(spec: &Spec, shuffle: Option<u64>) -> Vec<Planned> {
    let max_reps = spec
        .scenarios
        .iter()
        .map(|s| s.reps.unwrap_or(spec.reps))
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for rep in 0..max_reps {
        for (i, s) in spec.scenarios.iter().enumerate() {
            if rep >= s.reps.unwrap_or(spec.reps) {
                continue;
            }
            for mode in s.modes.as_ref().unwrap_or(&spec.modes) {
                out.push(Planned {
                    scenario: i,
                    mode: *mode,
                    rep,
                });
            }
        }
    }
    if let Some(seed) = shuffle {
        let mut rng = SplitMix64::new(seed);
        for i in (1..out.len()).rev() {
            let j = rng.below(i + 1);
            out.swap(i, j);
        }
    }
    out
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExperimentError + '_ {
    move |source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), ExperimentError> {
    let path = dir.join(MANIFEST);
    let json = serde_json::to_string_pretty(manifest).expect("manifest serialises");
    std::fs::write(&path, json + "\n").map_err(io_err(&path))
}

/// Runs the experiment. Progress goes to stderr.
pub fn run(args: &ExperimentArgs) -> Result<ExperimentOutcome, ExperimentError> {
    let mut spec = match &args.scenarios {
        Some(p) => Spec::from_file(p)?,
        None => Spec::builtin(),
    };
    if let Some(r) = args.reps {
        spec.reps = r;
        for s in &mut spec.scenarios {
            s.reps = None;
        }
    }
    if !args.only.is_empty() {
        for name in &args.only {
            if !spec.scenarios.iter().any(|s| &s.name == name) {
                return Err(ExperimentError::UnknownScenario(name.clone()));
            }
        }
        spec.scenarios.retain(|s| args.only.contains(&s.name));
    }
    let creds = user::choose(
        args.user.as_deref(),
        std::env::var("SUDO_UID").ok().as_deref(),
        std::env::var("SUDO_GID").ok().as_deref(),
        std::env::var("SUDO_USER").ok().as_deref(),
    )?;
    let out = &args.output;
    for sub in [SYSCALLS_DIR, PROCESSES_DIR, LOGS_DIR] {
        let d = out.join(sub);
        std::fs::create_dir_all(&d).map_err(io_err(&d))?;
    }
    // Which commands can run here.
    let path_var = std::env::var_os("PATH");
    let mut skipped = Vec::new();
    let mut jobs_of: Vec<Vec<(String, Job)>> = Vec::new();
    for s in &spec.scenarios {
        let mut jobs = Vec::new();
        for c in &s.commands {
            let program = c.program().unwrap_or_default();
            if let Err(e) = launch::resolve(std::ffi::OsStr::new(&program), path_var.as_deref()) {
                skipped.push(SkippedCommand {
                    scenario: s.name.clone(),
                    command: c.display(),
                    reason: e.to_string(),
                });
                continue;
            }
            let timeout = c
                .timeout()
                .or(s.timeout_s.map(Duration::from_secs_f64))
                .or(spec.timeout_s.map(Duration::from_secs_f64));
            jobs.push((
                c.display(),
                Job {
                    argv: c.argv().into_iter().map(OsString::from).collect(),
                    timeout,
                    log: None,
                },
            ));
        }
        jobs_of.push(jobs);
    }
    for sk in &skipped {
        eprintln!(
            "tracer experiment: skipping `{}` in {}: {}",
            sk.command, sk.scenario, sk.reason
        );
    }
    let order = plan(&spec, args.shuffle);
    let mut manifest = Manifest {
        manifest_version: 1,
        tracer_version: env!("CARGO_PKG_VERSION").into(),
        host: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        kernel_release: crate::preflight::kernel_release(),
        arch: tracer_dataset::Arch::native().as_str().into(),
        started_ns: now_ns(),
        ended_ns: 0,
        spec: spec.clone(),
        skipped_commands: skipped,
        order: args
            .shuffle
            .map_or("alternating".into(), |s| format!("shuffled:{s}")),
        runs: Vec::new(),
        interrupted: false,
    };
    let started = Instant::now();
    let total = order.len();
    let mut events_so_far = 0u64;
    for (i, p) in order.iter().enumerate() {
        let s = &spec.scenarios[p.scenario];
        let jobs = &jobs_of[p.scenario];
        let run_id = format!("{}-{}-{}", s.name, p.mode.as_str(), p.rep);
        if jobs.is_empty() {
            eprintln!(
                "[{:>3}/{total}] {run_id}: every command is missing here, skipped",
                i + 1
            );
            continue;
        }
        // Paths relative to the dataset folder, as the manifest lists them.
        let file = layout::run_file_name(&run_id);
        let syscalls_file = format!("{SYSCALLS_DIR}/{file}");
        let processes_file = format!("{PROCESSES_DIR}/{file}");
        let log_file = format!("{LOGS_DIR}/{run_id}.log");
        let schedule = match p.mode {
            Mode::Ms => Schedule::Sequential {
                pause: Duration::from_millis(s.pause_ms.unwrap_or(spec.pause_ms)),
            },
            Mode::Mr => Schedule::Concurrent,
        };
        let config = RecordConfig {
            target: Target::Launch {
                jobs: jobs
                    .iter()
                    .map(|(_, j)| Job {
                        log: Some(out.join(&log_file)),
                        ..j.clone()
                    })
                    .collect(),
                schedule,
            },
            output: out.join(&syscalls_file),
            processes_output: out.join(&processes_file),
            creds: creds.clone(),
            filter: None,
            ring_bytes: args.ring_bytes,
            durations: args.durations,
            progress: None,
            run: RunInfo {
                run_id: run_id.clone(),
                source: "ebpf".into(),
                scenario: Some(s.name.clone()),
                mode: Some(p.mode.as_str().into()),
            },
            metadata: vec![(meta::REP.into(), p.rep.to_string())],
            command_line: std::env::args().collect(),
            job_process_groups: true,
        };
        eprint!(
            "[{:>3}/{total}] {:<12} {} rep {}/{} ... ",
            i + 1,
            s.name,
            p.mode.as_str(),
            p.rep + 1,
            s.reps.unwrap_or(spec.reps)
        );
        let _ = std::io::stderr().flush();
        let outcome = capture::run(&config).map_err(|source| ExperimentError::Record {
            run_id: run_id.clone(),
            source: Box::new(source),
        })?;
        events_so_far += outcome.rows;
        eprintln!(
            "{} events, {} lost, {} processes, {:.2} s (total {} events, {:.0} s)",
            outcome.rows,
            outcome.lost,
            outcome.processes,
            outcome.wall.as_secs_f64(),
            events_so_far,
            started.elapsed().as_secs_f64()
        );
        manifest.runs.push(RunRecord {
            run_id,
            scenario: s.name.clone(),
            mode: p.mode,
            rep: p.rep,
            order: i,
            syscalls_file,
            processes_file,
            log_file,
            events: outcome.rows,
            events_lost: outcome.lost,
            duration_ns: outcome.wall.as_nanos() as u64,
            commands: outcome
                .jobs
                .iter()
                .zip(jobs)
                .map(|(o, (display, _))| CommandRecord {
                    command: display.clone(),
                    outcome: o.clone(),
                })
                .collect(),
            interrupted: outcome.interrupted,
        });
        manifest.ended_ns = now_ns();
        write_manifest(out, &manifest)?;
        if outcome.interrupted {
            manifest.interrupted = true;
            eprintln!("tracer experiment: interrupted; the runs so far are kept");
            break;
        }
    }
    manifest.ended_ns = now_ns();
    write_manifest(out, &manifest)?;
    let report = if args.no_report || manifest.runs.is_empty() {
        None
    } else {
        eprintln!("tracer experiment: comparing M.S and M.R and writing the report ...");
        let mut cfg = ReportConfig::default();
        cfg.compare.train_share = args.train_share;
        let summary = report::write_report(out, &out.join("report"), &cfg)
            .map_err(ExperimentError::Analysis)?;
        Some(summary)
    };
    Ok(ExperimentOutcome {
        manifest,
        report,
        output: out.clone(),
    })
}

/// The end-of-experiment summary: the runs, then coverage and mismatch per scenario, mode and
/// view, and where the report is.
pub fn summary_text(outcome: &ExperimentOutcome) -> String {
    let m = &outcome.manifest;
    let events: u64 = m.runs.iter().map(|r| r.events).sum();
    let lost: u64 = m.runs.iter().map(|r| r.events_lost).sum();
    let mut s = format!(
        "{} runs, {} events, {} lost, dataset {}\n",
        m.runs.len(),
        events,
        lost,
        outcome.output.display()
    );
    if let Some(r) = &outcome.report {
        s.push('\n');
        s.push_str(&report::lines_table(&r.lines));
        s.push_str(&format!("\nreport: {}\n", r.index_html.display()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_alternates_modes_and_shuffles_reproducibly() {
        let spec = Spec::parse(
            "reps = 2\n[[scenario]]\nname=\"a\"\ncommands=[[\"id\"]]\n[[scenario]]\nname=\"b\"\ncommands=[[\"id\"]]\nreps = 1\n",
            "t",
        )
        .expect("spec");
        let p = plan(&spec, None);
        let got: Vec<(usize, Mode, u32)> = p.iter().map(|p| (p.scenario, p.mode, p.rep)).collect();
        assert_eq!(
            got,
            [
                (0, Mode::Ms, 0),
                (0, Mode::Mr, 0),
                (1, Mode::Ms, 0),
                (1, Mode::Mr, 0),
                (0, Mode::Ms, 1),
                (0, Mode::Mr, 1)
            ]
        );
        let a: Vec<(usize, Mode, u32)> = plan(&spec, Some(7))
            .iter()
            .map(|p| (p.scenario, p.mode, p.rep))
            .collect();
        let b: Vec<(usize, Mode, u32)> = plan(&spec, Some(7))
            .iter()
            .map(|p| (p.scenario, p.mode, p.rep))
            .collect();
        assert_eq!(a, b, "same seed, same order");
        let mut sorted = a.clone();
        sorted.sort_by_key(|t| (t.2, t.0, t.1));
        assert_eq!(sorted, got, "a permutation of the plan");
    }
}
