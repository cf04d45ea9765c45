//! `tracer experiment`: run scenarios of commands in M.S (one after another) and M.R (all at
//! once) under capture, write the dataset folder of docs/DESIGN.md with its manifest, then compare
//! the modes with the analysis library and write the report.
//!
//! Every file is written as the capture writes its own (`tracer_dataset::outdir`): the folders
//! are created and the files placed with the invoking user's filesystem identity, through
//! folder descriptors, never following a link: the commands' logs, the manifest (replaced
//! whole, never truncated in place), and the report, written into a folder of its own reached
//! through its descriptor.

mod manifest;
pub mod spec;
mod strace_run;

use std::{
    ffi::OsString,
    io::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use analysis::{
    compare::SplitMix64,
    report::{self, ReportConfig, ReportSummary},
};
use tracer_dataset::{
    RunInfo,
    layout::{self, LOGS_DIR, MANIFEST, PROCESSES_DIR, SYSCALLS_DIR},
    meta,
    mode::Release,
    outdir::{Access, FsIdentity, OutDir, OutError},
};

use crate::{
    capture::{
        self, Job, RecordConfig, RecordError, RecordOutcome, Schedule, Target,
        launch::{self, Credentials},
    },
    clock::now_ns,
    user::UserError,
};
pub use manifest::{AnalysisRecord, CommandRecord, Manifest, RunRecord, SkippedCommand};
use manifest::{new_manifest, run_record};
pub use spec::{CaptureTool, CommandSpec, Mode, Scenario, Spec, SpecError};

/// What `tracer experiment` runs: the command line, validated (the scenario file read, the
/// overrides applied, the user resolved).
#[derive(Clone, Debug)]
pub struct ExperimentConfig {
    /// The scenarios to run, after `--reps` and `--only`.
    pub spec: Spec,
    /// Dataset folder to write.
    pub output: PathBuf,
    /// Seed of a random run order; `None` alternates M.S and M.R (ABAB...).
    pub shuffle: Option<u64>,
    /// A fixed training share of each scenario's M.S runs instead of leave-one-run-out scoring
    /// (`None`, the default: every M.S run against a baseline of the scenario's other M.S runs).
    pub train_share: Option<f64>,
    /// Who runs the commands; `None`: the tracer's own user.
    pub creds: Option<Credentials>,
    /// The user the dataset is for (the one who ran sudo): its folders and files are created
    /// with that user's identity. `None`: the tracer's own.
    pub files_for: Option<Credentials>,
    /// Also record entry times and durations (second kernel hook).
    pub durations: bool,
    /// Ring buffer size in bytes per capture.
    pub ring_bytes: u32,
    /// Compare the modes and write the report after the captures.
    pub report: bool,
    /// The tracer's command line, written into every capture's metadata.
    pub command_line: Vec<String>,
}

/// Where run `n` of `total` (1-based) stands in the run order.
#[derive(Clone, Copy, Debug)]
pub struct Position {
    /// 1-based.
    pub n: usize,
    /// Runs planned.
    pub total: usize,
}

/// What an experiment reports while it runs, for the caller to show (`tracer experiment`
/// prints one line per run on stderr).
#[derive(Debug)]
pub enum Event<'a> {
    /// A command is left out because its program is missing here (before the first run).
    Skipping(&'a SkippedCommand),
    /// A planned run is left out: every command of its scenario is missing here.
    RunSkipped {
        /// Its place in the order.
        position: Position,
        /// Its run id.
        run_id: &'a str,
    },
    /// A run's capture starts.
    RunStarting {
        /// Its place in the order.
        position: Position,
        /// Its scenario.
        scenario: &'a str,
        /// Its mode label (`ms`, `mr`, or a sweep point such as `mr-5ms-cpu1`).
        mode: &'a str,
        /// Its repetition (0-based).
        rep: u32,
        /// Repetitions of its scenario in this mode.
        reps: u32,
    },
    /// A run's capture ended.
    RunDone {
        /// The capture's outcome.
        outcome: &'a RecordOutcome,
        /// Events captured by this and the earlier runs.
        events_so_far: u64,
        /// Time since the first run started.
        elapsed: Duration,
    },
    /// A signal stopped the experiment after a run; the runs so far are kept.
    Interrupted,
    /// The captures are done; the comparison and the report start.
    Reporting,
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
    /// A folder or file of the dataset cannot be created safely.
    #[error(transparent)]
    Output(#[from] OutError),
    /// Bad --user.
    #[error(transparent)]
    User(#[from] UserError),
    /// `--only` names no scenario of the file.
    #[error("--only {0}: no such scenario")]
    UnknownScenario(String),
    /// The analysis failed.
    #[error("analysing the dataset")]
    Analysis(#[source] analysis::AnalysisError),
    /// A run captured with strace could not be ingested.
    #[error("run {run_id}: ingesting its strace capture")]
    StraceIngest {
        /// The run.
        run_id: String,
        /// The cause.
        #[source]
        source: Box<crate::ingest::IngestError>,
    },
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

#[derive(Clone, Copy, Debug)]
struct Planned {
    scenario: usize,
    mode: Mode,
    /// An M.R sweep point (`None`: the plain mode).
    release: Option<Release>,
    rep: u32,
    /// What captures it.
    tool: CaptureTool,
}

impl Planned {
    /// The mode label of the run in the dataset.
    fn label(&self) -> String {
        match self.release {
            Some(r) => r.label(),
            None => self.mode.as_str().to_string(),
        }
    }

    /// The run's id: `<scenario>-<mode>-<rep>`, and `-strace` for a strace capture.
    fn run_id(&self, scenario: &str) -> String {
        let id = format!("{scenario}-{}-{}", self.label(), self.rep);
        match self.tool {
            CaptureTool::Ebpf => id,
            CaptureTool::Strace => format!("{id}-strace"),
        }
    }
}

/// The run order: repetitions outermost, scenarios, then the modes alternating (ABAB), so
/// drift of the machine over time does not look like a mode effect; or a seeded shuffle.
fn plan(spec: &Spec, shuffle: Option<u64>) -> Vec<Planned> {
    let max_reps = spec
        .scenarios
        .iter()
        .map(|s| s.reps.unwrap_or(spec.reps))
        .chain(spec.sweep.as_ref().and_then(|sw| sw.reps))
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for rep in 0..max_reps {
        for (i, s) in spec.scenarios.iter().enumerate() {
            if rep < s.reps.unwrap_or(spec.reps) {
                for mode in s.modes.as_ref().unwrap_or(&spec.modes) {
                    out.push(Planned {
                        scenario: i,
                        mode: *mode,
                        release: None,
                        rep,
                        tool: CaptureTool::Ebpf,
                    });
                }
            }
            if let Some(sw) = &spec.sweep
                && rep < sw.reps.unwrap_or(spec.reps)
            {
                for point in sw.points() {
                    out.push(Planned {
                        scenario: i,
                        mode: Mode::Mr,
                        release: Some(point),
                        rep,
                        tool: CaptureTool::Ebpf,
                    });
                }
            }
        }
    }
    // Each run once per capture tool, one right after the other, so drift hits both alike.
    let out: Vec<Planned> = out
        .into_iter()
        .flat_map(|p| {
            spec.capture_tools
                .iter()
                .map(move |tool| Planned { tool: *tool, ..p })
        })
        .collect();
    let mut out = out;
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

/// Writes the manifest whole into a new file and puts it in place of the previous one: a
/// reader (or a crash) never sees half of it.
fn write_manifest(dir: &OutDir, manifest: &Manifest) -> Result<(), ExperimentError> {
    let path = dir.join(MANIFEST);
    let json = serde_json::to_string_pretty(manifest).expect("manifest serialises");
    let staged = dir.stage()?;
    staged
        .writer()?
        .write_all((json + "\n").as_bytes())
        .map_err(io_err(&path))?;
    staged.replace(dir, MANIFEST)?;
    Ok(())
}

/// The dataset's folders, opened once.
struct Folders {
    root: OutDir,
    syscalls: OutDir,
    processes: OutDir,
    logs: OutDir,
}

impl Folders {
    /// Creates (or reuses) the dataset folder and its subfolders as `access` says.
    fn create(out: &Path, access: &Access) -> Result<Self, ExperimentError> {
        let root = OutDir::create_all(out, access)?;
        Ok(Self {
            syscalls: root.subdir(SYSCALLS_DIR, true)?,
            processes: root.subdir(PROCESSES_DIR, true)?,
            logs: root.subdir(LOGS_DIR, true)?,
            root,
        })
    }

    /// A new, empty log for run `run_id`, in place of an earlier run's.
    fn log(&self, run_id: &str) -> Result<Arc<std::fs::File>, ExperimentError> {
        let staged = self.logs.stage()?;
        let file = staged.writer()?;
        staged.replace(&self.logs, &format!("{run_id}.log"))?;
        Ok(Arc::new(file))
    }
}

/// Writes the report into `out/report`: a folder reused only if it belongs to the dataset's
/// user (or root), reached by the analysis through its descriptor, and written with that user's
/// identity. The summary's paths are given back under `out/report`.
fn write_report(
    out: &Path,
    folders: &Folders,
    cfg: &ReportConfig,
) -> Result<ReportSummary, ExperimentError> {
    let dir = folders.root.subdir("report", true)?;
    dir.check_owner()?;
    let pinned = dir.proc_path();
    let summary = dir
        .access()
        .run(|| Ok(report::write_report(out, &pinned, cfg)))
        .map_err(io_err(dir.path()))?
        .map_err(ExperimentError::Analysis)?;
    let unpin = |p: &Path| match p.strip_prefix(&pinned) {
        Ok(rest) => dir.path().join(rest),
        Err(_) => p.to_path_buf(),
    };
    Ok(ReportSummary {
        out_dir: unpin(&summary.out_dir),
        index_html: unpin(&summary.index_html),
        files: summary.files.iter().map(|f| unpin(f)).collect(),
        ..summary
    })
}

/// A scenario's commands that can run here: what the manifest calls each, and its job.
type Jobs = Vec<(String, Job)>;

/// Runs the experiment `config` describes: captures every planned run, writes the manifest
/// after each, then the report. Tells `progress` what happens; prints nothing.
pub fn run(
    config: &ExperimentConfig,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<ExperimentOutcome, ExperimentError> {
    let out = &config.output;
    let identity = config
        .files_for
        .as_ref()
        .map(|c| FsIdentity::new(c.uid, c.gid, &c.groups));
    let folders = Folders::create(out, &Access::new(identity, false))?;
    let (jobs_of, skipped) = runnable_jobs(&config.spec);
    for sk in &skipped {
        progress(Event::Skipping(sk));
    }
    let order = plan(&config.spec, config.shuffle);
    let mut manifest = new_manifest(config, skipped);
    capture_runs(config, &folders, &order, &jobs_of, &mut manifest, progress)?;
    manifest.ended_ns = now_ns();
    write_manifest(&folders.root, &manifest)?;
    let report = if !config.report || manifest.runs.is_empty() {
        None
    } else {
        progress(Event::Reporting);
        let cfg = report_config(config);
        Some(write_report(out, &folders, &cfg)?)
    };
    Ok(ExperimentOutcome {
        manifest,
        report,
        output: out.clone(),
    })
}

/// Each scenario's jobs whose program exists here (in scenario order), and the commands left
/// out because it does not.
fn runnable_jobs(spec: &Spec) -> (Vec<Jobs>, Vec<SkippedCommand>) {
    let path_var = std::env::var_os("PATH");
    let mut skipped = Vec::new();
    let mut jobs_of = Vec::new();
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
                    cpus: None,
                },
            ));
        }
        jobs_of.push(jobs);
    }
    (jobs_of, skipped)
}

/// The report's configuration for this experiment.
fn report_config(config: &ExperimentConfig) -> ReportConfig {
    let mut cfg = ReportConfig::default();
    if let Some(share) = config.train_share {
        cfg.compare.holdout = analysis::compare::Holdout::from_share(share);
    }
    cfg
}

/// A run's files, relative to the dataset folder, as the manifest lists them.
struct RunFiles {
    syscalls: String,
    processes: String,
    log: String,
}

impl RunFiles {
    fn new(run_id: &str) -> Self {
        let file = layout::run_file_name(run_id);
        Self {
            syscalls: format!("{SYSCALLS_DIR}/{file}"),
            processes: format!("{PROCESSES_DIR}/{file}"),
            log: format!("{LOGS_DIR}/{run_id}.log"),
        }
    }
}

/// Captures the runs in `order`, adding each to the manifest and writing it after each run;
/// stops after a run a signal interrupted.
fn capture_runs(
    config: &ExperimentConfig,
    folders: &Folders,
    order: &[Planned],
    jobs_of: &[Jobs],
    manifest: &mut Manifest,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<(), ExperimentError> {
    let spec = &config.spec;
    let started = Instant::now();
    let total = order.len();
    let mut events_so_far = 0u64;
    // The runs share their loaded programs (see `capture::Session`).
    let mut session = capture::Session::default();
    for (i, p) in order.iter().enumerate() {
        let s = &spec.scenarios[p.scenario];
        let jobs = &jobs_of[p.scenario];
        let label = p.label();
        let run_id = p.run_id(&s.name);
        let position = Position { n: i + 1, total };
        if jobs.is_empty() {
            progress(Event::RunSkipped {
                position,
                run_id: &run_id,
            });
            continue;
        }
        let files = RunFiles::new(&run_id);
        let log = folders.log(&run_id)?;
        let mut record_config = run_config(config, s, p, jobs, &files, &run_id, &log);
        record_config.output_folders = Some((folders.syscalls.clone(), folders.processes.clone()));
        progress(Event::RunStarting {
            position,
            scenario: &s.name,
            mode: &label,
            rep: p.rep,
            reps: match (p.release, &spec.sweep) {
                (Some(_), Some(sw)) => sw.reps.unwrap_or(spec.reps),
                _ => s.reps.unwrap_or(spec.reps),
            },
        });
        let outcome = match p.tool {
            CaptureTool::Ebpf => {
                session
                    .run(&record_config)
                    .map_err(|source| ExperimentError::Record {
                        run_id: run_id.clone(),
                        source: Box::new(source),
                    })?
            }
            CaptureTool::Strace => {
                strace_run::capture(config, s, p, jobs, &files, &log, &mut session)?
            }
        };
        events_so_far += outcome.rows;
        progress(Event::RunDone {
            outcome: &outcome,
            events_so_far,
            elapsed: started.elapsed(),
        });
        manifest
            .runs
            .push(run_record(run_id, s, p, i, files, &outcome, jobs));
        manifest.ended_ns = now_ns();
        write_manifest(&folders.root, manifest)?;
        if outcome.interrupted {
            manifest.interrupted = true;
            progress(Event::Interrupted);
            break;
        }
    }
    Ok(())
}

/// The capture of one planned run: its scenario's jobs, M.S one after another with the
/// scenario's pause, M.R all at once.
fn run_config(
    config: &ExperimentConfig,
    s: &Scenario,
    p: &Planned,
    jobs: &Jobs,
    files: &RunFiles,
    run_id: &str,
    log: &Arc<std::fs::File>,
) -> RecordConfig {
    let out = &config.output;
    let release = p.release.unwrap_or_default();
    let schedule = match p.mode {
        Mode::Ms => Schedule::Sequential {
            pause: Duration::from_millis(s.pause_ms.unwrap_or(config.spec.pause_ms)),
        },
        Mode::Mr if release.spacing_ms > 0 => Schedule::Spaced {
            spacing: Duration::from_millis(release.spacing_ms),
        },
        Mode::Mr => Schedule::Concurrent,
    };
    // Pinned points run on the first N CPUs.
    let cpus = release
        .cpus
        .map(|n| (0..n as usize).collect::<Vec<usize>>());
    let mut metadata = vec![(meta::REP.into(), p.rep.to_string())];
    if p.mode == Mode::Mr {
        metadata.push((meta::SPACING_MS.into(), release.spacing_ms.to_string()));
    }
    if let Some(c) = &cpus {
        let list: Vec<String> = c.iter().map(ToString::to_string).collect();
        metadata.push((meta::CPUS.into(), list.join(",")));
    }
    RecordConfig {
        target: Target::Launch {
            jobs: jobs
                .iter()
                .map(|(_, j)| Job {
                    log: Some(log.clone()),
                    cpus: cpus.clone(),
                    ..j.clone()
                })
                .collect(),
            schedule,
        },
        output: out.join(&files.syscalls),
        processes_output: out.join(&files.processes),
        creds: config.creds.clone(),
        files_for: config.files_for.clone(),
        rotate: None,
        output_folders: None,
        filter: None,
        ring_bytes: config.ring_bytes,
        durations: config.durations,
        entry_paths: config.durations,
        progress: None,
        run: RunInfo {
            run_id: run_id.to_string(),
            source: "ebpf".into(),
            scenario: Some(s.name.clone()),
            mode: Some(p.label()),
        },
        metadata,
        command_line: config.command_line.clone(),
        job_process_groups: true,
    }
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
