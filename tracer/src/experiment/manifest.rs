//! The dataset's `manifest.json`: the specification as run, the host, and per run what ran, how
//! it was released and captured, and how each command ended; rewritten after every run, so an
//! interrupted experiment still describes what it captured.

use serde::Serialize;
use tracer_dataset::mode::Release;

use super::{ExperimentConfig, Jobs, Mode, Planned, RunFiles, Scenario, Spec, report_config};
use crate::{
    capture::{JobOutcome, RecordOutcome},
    clock::now_ns,
};

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
    /// For M.R sweep points: how the commands were released (the run's `mode` label in the
    /// dataset is `Release::label`).
    pub release: Option<Release>,
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
    /// The run used the eBPF programs an earlier run had loaded (they are loaded once per
    /// experiment, and again after a run that lost records).
    pub programs_reused: bool,
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
    /// How the report scores M.S runs and the seed of its intervals and tests.
    pub analysis: AnalysisRecord,
    /// Runs in execution order.
    pub runs: Vec<RunRecord>,
    /// Stopped by a signal before the plan was done.
    pub interrupted: bool,
}

/// The comparison's random choices, so a reader can reproduce the report.
#[derive(Clone, Debug, Serialize)]
pub struct AnalysisRecord {
    /// `leave-one-run-out`, `training share S`, or `resubstitution`.
    pub holdout: String,
    /// Seed of the training split, the bootstrap intervals and the permutation tests.
    pub seed: u64,
    /// Bootstrap resamples per interval.
    pub bootstrap_resamples: usize,
    /// Most relabellings per permutation test.
    pub permutations: usize,
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

/// The manifest before the first run.
pub(super) fn new_manifest(config: &ExperimentConfig, skipped: Vec<SkippedCommand>) -> Manifest {
    Manifest {
        manifest_version: 1,
        tracer_version: env!("CARGO_PKG_VERSION").into(),
        host: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        kernel_release: crate::preflight::kernel_release(),
        arch: tracer_dataset::Arch::native().as_str().into(),
        started_ns: now_ns(),
        ended_ns: 0,
        spec: config.spec.clone(),
        skipped_commands: skipped,
        order: config
            .shuffle
            .map_or("alternating".into(), |s| format!("shuffled:{s}")),
        runs: Vec::new(),
        interrupted: false,
        analysis: AnalysisRecord {
            holdout: report_config(config).compare.holdout.to_string(),
            seed: report_config(config).compare.seed,
            bootstrap_resamples: analysis::stats::BOOTSTRAP_RESAMPLES,
            permutations: analysis::stats::PERMUTATIONS,
        },
    }
}

/// The manifest entry of a captured run.
pub(super) fn run_record(
    run_id: String,
    s: &Scenario,
    p: &Planned,
    order: usize,
    files: RunFiles,
    outcome: &RecordOutcome,
    jobs: &Jobs,
) -> RunRecord {
    RunRecord {
        run_id,
        scenario: s.name.clone(),
        mode: p.mode,
        release: p.release,
        rep: p.rep,
        order,
        syscalls_file: files.syscalls,
        processes_file: files.processes,
        log_file: files.log,
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
        programs_reused: outcome.programs_reused,
    }
}
