//! Arguments of `tracer-analyze` (clap derive) and their conversion into the library's typed
//! configs; validation of values happens once, in those configs' checks.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{
    compare::{CompareConfig, Holdout},
    dataset::{Selection, select::Field},
    error::AnalysisError,
    metrics::{DEFAULT_FRAME, DEFAULT_HAMMING_BUDGET, DEFAULT_MAX_EXACT_UNKNOWN, ScoreConfig},
    ngram::DEFAULT_K,
    sql::{Dialect, SqlBaseline},
    view::View,
};

/// Behaviour metrics over syscall-tracer datasets (Parquet written by `tracer record`,
/// `tracer ingest` or an experiment).
///
/// A DATASET is a `syscalls` Parquet file, a folder (searched recursively; `processes` files
/// are skipped) or a quoted glob such as 'out/**/*.parquet'. Windows are k consecutive syscalls
/// of one sequence; the view decides what a sequence is: `thread` (per tid), `process` (per
/// pid) or `interleaved` (the whole run in seq order, as strace -f writes it).
///
/// Typical use: `tracer-analyze report DATASET -o report/` and open report/index.html.
#[derive(Debug, Parser)]
#[command(
    name = "tracer-analyze",
    version,
    about,
    long_about,
    max_term_width = 100
)]
pub struct Cli {
    /// Print the result as JSON (self-describing field names) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a baseline profile (distinct windows with counts) and save it to a file.
    Profile(ProfileArgs),
    /// Score traces against a saved profile: coverage, mismatch, locality frame count, ...
    Score(ScoreArgs),
    /// Labelled evaluation (stide): score normal and anomalous traces, ROC AUC per metric; the
    /// LID-DS framework's measures on LID-DS imports.
    Eval(EvalArgs),
    /// M.S vs M.R: per scenario, baseline = its M.S runs; score M.R (and held-out M.S) runs.
    Compare(CompareArgs),
    /// Cross-scenario mismatch matrix: each scenario's profile against each other's.
    Matrix(MatrixArgs),
    /// Draw the coverage, mismatch, heatmap and mismatch-over-time plots (PNG and SVG).
    Plot(PlotArgs),
    /// Compare, plot and write everything into one folder with an index.html.
    Report(PlotArgs),
    /// Print the metrics as DuckDB or Spark SQL for a Parquet glob (for datasets beyond one
    /// machine).
    Sql(SqlArgs),
}

/// `sql` options.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Parquet path or glob of the syscalls files, e.g. 'DATASET/syscalls/*.parquet'.
    #[arg(value_name = "FILES")]
    pub files: String,
    /// Which query: coverage-mismatch (per run against its scenario's baseline) or windows.
    #[arg(long, default_value = "coverage-mismatch", value_parser = ["coverage-mismatch", "windows"])]
    pub query: String,
    /// SQL dialect: duckdb (`read_parquet`, `list`) or spark (Spark SQL for `spark-sql -f` or
    /// `spark.sql`: the files as a back-quoted `parquet.` path, `collect_list`, after one SET).
    #[arg(long, default_value = "duckdb")]
    pub dialect: Dialect,
    /// View of the scored windows.
    #[arg(long, default_value = "thread")]
    pub view: View,
    /// View of the baseline windows.
    #[arg(long, default_value = "thread")]
    pub baseline_view: View,
    /// Mode of the baseline runs: each run is scored against its scenario's runs of this mode
    /// (as `compare --holdout resubstitution`).
    #[arg(long, default_value = "ms")]
    pub baseline_mode: String,
    /// Instead of --baseline-mode: every run is scored against the runs of this scenario (an
    /// imported dataset's `training` or `normal`; as `profile --where scenario=S`, then `score`).
    #[arg(long, value_name = "SCENARIO", conflicts_with = "baseline_mode")]
    pub baseline_scenario: Option<String>,
    /// Window length (1 to 16).
    #[arg(short, default_value_t = DEFAULT_K)]
    pub k: usize,
    /// Locality frame.
    #[arg(long, default_value_t = DEFAULT_FRAME)]
    pub frame: usize,
}

impl SqlArgs {
    /// The baseline the options choose: --baseline-scenario if given, else --baseline-mode.
    pub fn baseline(&self) -> SqlBaseline {
        match &self.baseline_scenario {
            Some(s) => SqlBaseline::Scenario(s.clone()),
            None => SqlBaseline::Mode(self.baseline_mode.clone()),
        }
    }
}

/// Which runs of which dataset.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Dataset files, folders or globs.
    #[arg(required = true, value_name = "DATASET")]
    pub inputs: Vec<String>,
    /// Filter expression, e.g. "scenario=recon|priv*, mode!=mr" (fields: run_id, source,
    /// scenario, mode; `*` is a wildcard; clauses joined by "," or " and ").
    #[arg(long = "where", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Only these scenarios (repeatable).
    #[arg(long, value_name = "NAME")]
    pub scenario: Vec<String>,
    /// Only these modes, e.g. ms or mr (repeatable).
    #[arg(long, value_name = "MODE")]
    pub mode: Vec<String>,
    /// Only these runs (repeatable).
    #[arg(long = "run-id", value_name = "ID")]
    pub run_id: Vec<String>,
    /// Only these sources, e.g. ebpf, strace, adfa-ld (repeatable).
    #[arg(long, value_name = "SOURCE")]
    pub source: Vec<String>,
}

impl DataArgs {
    /// The selection the filter options describe.
    pub fn selection(&self) -> Result<Selection, AnalysisError> {
        let base = match &self.filter {
            Some(e) => Selection::parse(e)?,
            None => Selection::all(),
        };
        Ok(base
            .with(Field::Scenario, &self.scenario)
            .with(Field::Mode, &self.mode)
            .with(Field::RunId, &self.run_id)
            .with(Field::Source, &self.source))
    }
}

/// Options of per-trace scoring.
#[derive(Debug, Args, Clone)]
pub struct ScoringArgs {
    /// Locality frame: the locality frame count is the most unknown windows in any FRAME
    /// consecutive windows (1 to 128); in `eval`, also the frame of the LID-DS measures' score.
    #[arg(long, default_value_t = DEFAULT_FRAME)]
    pub frame: usize,
    /// Skip the Hamming distances (their cost grows with unknown windows x profile size).
    #[arg(long)]
    pub no_hamming: bool,
    /// Most window comparisons the Hamming search spends per trace; beyond it a sample of the
    /// unknown windows is measured (reported as hamming_windows_measured).
    #[arg(long, default_value_t = DEFAULT_HAMMING_BUDGET, value_name = "N")]
    pub hamming_budget: u64,
    /// Most distinct unknown windows per trace counted exactly; beyond, a HyperLogLog sketch
    /// estimates them (0.8 % error) so memory stays bounded (distinct_windows_exact = false).
    #[arg(long, default_value_t = DEFAULT_MAX_EXACT_UNKNOWN, value_name = "N")]
    pub max_exact_unknown: usize,
}

impl ScoringArgs {
    /// The scoring options.
    pub fn config(&self) -> ScoreConfig {
        ScoreConfig {
            frame: self.frame,
            hamming: !self.no_hamming,
            hamming_budget: self.hamming_budget,
            max_exact_unknown: self.max_exact_unknown,
            timeline_run: None,
        }
    }
}

/// `profile` options.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Runs to build the profile from.
    #[command(flatten)]
    pub data: DataArgs,
    /// Profile file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// View of the windows: thread, process or interleaved.
    #[arg(long, default_value = "thread")]
    pub view: View,
    /// Window length (1 to 16).
    #[arg(short, default_value_t = DEFAULT_K)]
    pub k: usize,
}

/// `score` options.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Traces to score.
    #[command(flatten)]
    pub data: DataArgs,
    /// Baseline profile written by `tracer-analyze profile`.
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// Views to score the traces in (repeatable; default: all three).
    #[arg(long)]
    pub view: Vec<View>,
    /// Scoring options.
    #[command(flatten)]
    pub scoring: ScoringArgs,
}

/// `eval` options.
#[derive(Debug, Args)]
#[command(
    after_help = "EXAMPLE (ADFA-LD imported with `tracer ingest --format adfa-ld ADFA-LD -o adfa`):
    tracer-analyze eval --train adfa --train-where scenario=training \\
        --normal adfa --normal-where scenario=validation \\
        --anomalous adfa --anomalous-where 'scenario=attack:*'

On a LID-DS import (`tracer ingest --format lid-ds CVE-2017-7529 -o lid`) the LID-DS framework's
measures are added, thread-aware and plain, with the threshold at the highest score of the runs of
split `validation` in --normal (the score's frame is --frame):
    tracer-analyze eval --train lid --train-where scenario=training \\
        --normal lid --normal-where scenario=test \\
        --anomalous lid --anomalous-where 'scenario=attack:*'"
)]
pub struct EvalArgs {
    /// Baseline profile file (or use --train).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "train",
        required_unless_present = "train"
    )]
    pub profile: Option<PathBuf>,
    /// Build the baseline from these normal training traces instead of a profile file.
    #[arg(long, value_name = "DATASET", num_args = 1..)]
    pub train: Vec<String>,
    /// Normal traces to score (not the training ones, for an honest figure).
    #[arg(long, value_name = "DATASET", num_args = 1.., required = true)]
    pub normal: Vec<String>,
    /// Anomalous traces (attacks) to score.
    #[arg(long, value_name = "DATASET", num_args = 1.., required = true)]
    pub anomalous: Vec<String>,
    /// View the traces are scored in.
    #[arg(long, default_value = "thread")]
    pub view: View,
    /// View the baseline is built in with --train (a profile file brings its own).
    #[arg(long, default_value = "thread")]
    pub baseline_view: View,
    /// Window length when training (a profile file brings its own).
    #[arg(short, default_value_t = DEFAULT_K)]
    pub k: usize,
    /// Filter expression applied to training, normal and anomalous runs alike.
    #[arg(long = "where", value_name = "EXPR")]
    pub filter: Option<String>,
    /// Filter expression for the training runs only (with --train), e.g. "scenario=train".
    #[arg(long, value_name = "EXPR")]
    pub train_where: Option<String>,
    /// Filter expression for the normal runs only.
    #[arg(long, value_name = "EXPR")]
    pub normal_where: Option<String>,
    /// Filter expression for the anomalous runs only.
    #[arg(long, value_name = "EXPR")]
    pub anomalous_where: Option<String>,
    /// Print every trace's scores, not only the AUC table.
    #[arg(long)]
    pub traces: bool,
    /// Draw the ROC curves of every metric into DIR/roc.png and DIR/roc.svg.
    #[arg(long, value_name = "DIR")]
    pub plot_dir: Option<PathBuf>,
    /// Scoring options.
    #[command(flatten)]
    pub scoring: ScoringArgs,
}

/// Comparison options shared by `compare`, `plot` and `report`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// Runs to compare.
    #[command(flatten)]
    pub data: DataArgs,
    /// Window length (1 to 16).
    #[arg(short, default_value_t = DEFAULT_K)]
    pub k: usize,
    /// View the M.S baselines are built in.
    #[arg(long, default_value = "thread")]
    pub baseline_view: View,
    /// Views the traces are scored in (repeatable; default: thread, process, interleaved).
    #[arg(long = "view")]
    pub views: Vec<View>,
    /// Mode whose runs form the baselines.
    #[arg(long, default_value = "ms")]
    pub baseline_mode: String,
    /// How M.S runs are scored: `leave-one-out` (each against a baseline of the scenario's other
    /// M.S runs), or `resubstitution` (against the baseline they built, as the original study).
    /// M.R runs are always scored against all M.S runs.
    #[arg(long, value_enum, default_value = "leave-one-out")]
    pub holdout: HoldoutArg,
    /// Instead of --holdout: a fixed split, this share of each scenario's M.S runs builds the
    /// baseline and the rest is held out and scored (1 = all: resubstitution).
    #[arg(long, value_name = "SHARE")]
    pub train_share: Option<f64>,
    /// Seed of the training split, the bootstrap intervals and the permutation tests.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Scoring options.
    #[command(flatten)]
    pub scoring: ScoringArgs,
    /// Output folder. compare: also write summary.parquet, summary.csv, summary.md,
    /// traces.csv and compare.json there; plot: the images (default .); report: everything
    /// (default ./report).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

impl CompareArgs {
    /// The comparison these options describe.
    pub fn config(&self) -> Result<CompareConfig, AnalysisError> {
        Ok(CompareConfig {
            inputs: self.data.inputs.clone(),
            selection: self.data.selection()?,
            k: self.k,
            baseline_view: self.baseline_view,
            views: if self.views.is_empty() {
                View::ALL.to_vec()
            } else {
                self.views.clone()
            },
            baseline_mode: self.baseline_mode.clone(),
            holdout: match (self.train_share, self.holdout) {
                (Some(share), _) => Holdout::from_share(share),
                (None, HoldoutArg::LeaveOneOut) => Holdout::LeaveOneOut,
                (None, HoldoutArg::Resubstitution) => Holdout::Resubstitution,
            },
            seed: self.seed,
            score: self.scoring.config(),
        })
    }
}

/// `--holdout` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HoldoutArg {
    /// Each M.S run against the scenario's other M.S runs.
    LeaveOneOut,
    /// Each M.S run against all M.S runs, its own included.
    Resubstitution,
}

/// `matrix` options.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Runs to build the scenario profiles from (default: only mode ms, see --all-modes).
    #[command(flatten)]
    pub data: DataArgs,
    /// View of the profiles.
    #[arg(long, default_value = "thread")]
    pub view: View,
    /// Window length (1 to 16).
    #[arg(short, default_value_t = DEFAULT_K)]
    pub k: usize,
    /// Use runs of every mode, not only ms.
    #[arg(long)]
    pub all_modes: bool,
}

/// `plot` and `report` options.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Comparison options.
    #[command(flatten)]
    pub compare: CompareArgs,
    /// Run drawn over time (default: the trace with the highest locality frame count).
    #[arg(long, value_name = "RUN_ID")]
    pub timeline_run: Option<String>,
    /// View of the mismatch-over-time plot.
    #[arg(long, default_value = "interleaved")]
    pub timeline_view: View,
}
