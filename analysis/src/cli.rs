//! The `tracer-analyze` command line: argument definitions (clap), their validation into the
//! library's typed configs, and the text or JSON each command prints. `main.rs` only parses,
//! calls `execute` and prints.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{
    compare::{self, CompareConfig},
    dataset::{Dataset, Selection, select::Field},
    error::AnalysisError,
    eval::{self, BaselineSource, EvalConfig},
    intern::Interner,
    matrix::{self, MatrixConfig, fmt_opt},
    metrics::{DEFAULT_FRAME, DEFAULT_HAMMING_BUDGET, ScoreConfig, TraceMetrics},
    ngram::DEFAULT_K,
    plot,
    profile::build_profile,
    report::{self, ReportConfig, lines_table},
    sql,
    tidy::label,
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
    /// Labelled evaluation (stide): score normal and anomalous traces, ROC AUC per metric.
    Eval(EvalArgs),
    /// M.S vs M.R: per scenario, baseline = its M.S runs; score M.R (and held-out M.S) runs.
    Compare(CompareArgs),
    /// Cross-scenario mismatch matrix: each scenario's profile against each other's.
    Matrix(MatrixArgs),
    /// Draw the coverage, mismatch, heatmap and mismatch-over-time plots (PNG and SVG).
    Plot(PlotArgs),
    /// Compare, plot and write everything into one folder with an index.html.
    Report(PlotArgs),
    /// Print the metrics as DuckDB SQL for a Parquet glob (for datasets beyond one machine).
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
    /// View of the scored windows.
    #[arg(long, default_value = "thread")]
    pub view: View,
    /// View of the baseline windows.
    #[arg(long, default_value = "thread")]
    pub baseline_view: View,
    /// Mode of the baseline runs.
    #[arg(long, default_value = "ms")]
    pub baseline_mode: String,
    /// Window length (1 to 16).
    #[arg(short, default_value_t = DEFAULT_K)]
    pub k: usize,
    /// Locality frame.
    #[arg(long, default_value_t = DEFAULT_FRAME)]
    pub frame: usize,
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
    fn selection(&self) -> Result<Selection, AnalysisError> {
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
    /// consecutive windows (1 to 128).
    #[arg(long, default_value_t = DEFAULT_FRAME)]
    pub frame: usize,
    /// Skip the Hamming distances (their cost grows with unknown windows x profile size).
    #[arg(long)]
    pub no_hamming: bool,
    /// Most window comparisons the Hamming search spends per trace; beyond it a sample of the
    /// unknown windows is measured (reported as hamming_windows_measured).
    #[arg(long, default_value_t = DEFAULT_HAMMING_BUDGET, value_name = "N")]
    pub hamming_budget: u64,
}

impl ScoringArgs {
    fn config(&self) -> ScoreConfig {
        ScoreConfig {
            frame: self.frame,
            hamming: !self.no_hamming,
            hamming_budget: self.hamming_budget,
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
    /// View the traces are scored in (and the trained baseline is built in).
    #[arg(long, default_value = "thread")]
    pub view: View,
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
    /// Share of each scenario's M.S runs used for training, the rest held out and scored
    /// (1 = all: M.S runs are then scored against their own baseline).
    #[arg(long, default_value_t = 1.0)]
    pub train_share: f64,
    /// Seed of the training split.
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
    fn config(&self) -> Result<CompareConfig, AnalysisError> {
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
            train_share: self.train_share,
            seed: self.seed,
            score: self.scoring.config(),
        })
    }
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

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, AnalysisError> {
    serde_json::to_string_pretty(v).map_err(|source| AnalysisError::Json {
        path: PathBuf::from("<stdout>"),
        source,
    })
}

fn traces_table(traces: &[TraceMetrics]) -> String {
    let mut s = format!(
        "{:<24} {:<12} {:<5} {:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>4} {:>8} {:>8}\n",
        "run_id",
        "scenario",
        "mode",
        "view",
        "calls",
        "windows",
        "distinct",
        "coverage",
        "mismatch",
        "lfc",
        "jaccard",
        "hamming"
    );
    for t in traces {
        s.push_str(&format!(
            "{:<24} {:<12} {:<5} {:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>4} {:>8} {:>8}\n",
            t.run_id,
            label(&t.scenario),
            label(&t.mode),
            t.view.to_string(),
            t.calls,
            t.windows,
            t.distinct_windows,
            fmt_opt(t.coverage),
            fmt_opt(t.mismatch),
            t.locality_frame_count,
            fmt_opt(t.jaccard_distance),
            fmt_opt(t.hamming_max)
        ));
        if t.short_sequences > 0 {
            s.push_str(&format!(
                "{:<24} note: {} sequence(s) shorter than k = {} ({} calls) gave no window\n",
                "", t.short_sequences, t.k, t.short_sequence_calls
            ));
        }
    }
    s
}

/// Runs one parsed command; returns what to print.
pub fn execute(cli: &Cli) -> Result<String, AnalysisError> {
    let json = cli.json;
    match &cli.command {
        Command::Profile(a) => {
            let dataset = Dataset::open(&a.data.inputs)?;
            let mut interner = Interner::for_k(a.k);
            let (profile, scan) =
                build_profile(&dataset, &a.data.selection()?, a.view, a.k, &mut interner)?;
            if profile.runs.is_empty() {
                return Err(AnalysisError::Empty(format!(
                    "no run selected in {}",
                    a.data.inputs.join(", ")
                )));
            }
            profile.save(&a.output, &interner)?;
            let out = serde_json::json!({
                "profile_file": a.output,
                "k": profile.k,
                "view": profile.view,
                "runs": profile.runs.len(),
                "calls": profile.sequences.calls,
                "sequences": profile.sequences.sequences,
                "short_sequences": profile.sequences.short_sequences,
                "short_sequence_calls": profile.sequences.short_sequence_calls,
                "windows": profile.total_windows(),
                "distinct_windows": profile.distinct(),
                "distinct_syscalls": interner.len(),
                "rows_read": scan.rows_read,
                "files_read": scan.files,
            });
            if json {
                return to_json(&out);
            }
            Ok(format!(
                "wrote {}: {} distinct windows (k = {}, {} view) from {} windows of {} runs ({} calls, {} sequences, {} shorter than k)\n",
                a.output.display(),
                profile.distinct(),
                profile.k,
                profile.view,
                profile.total_windows(),
                profile.runs.len(),
                profile.sequences.calls,
                profile.sequences.sequences,
                profile.sequences.short_sequences
            ))
        }
        Command::Score(a) => {
            let (profile, name, mut interner) =
                eval::load_baseline(&BaselineSource::ProfileFile(a.profile.clone()))?;
            let views = if a.view.is_empty() {
                View::ALL.to_vec()
            } else {
                a.view.clone()
            };
            let traces = eval::score_traces(
                &a.data.inputs,
                &a.data.selection()?,
                &profile,
                &name,
                &views,
                &a.scoring.config(),
                &mut interner,
            )?;
            if json {
                return to_json(&serde_json::json!({
                    "baseline": name,
                    "baseline_view": profile.view,
                    "k": profile.k,
                    "profile_distinct_windows": profile.distinct(),
                    "traces": traces,
                }));
            }
            Ok(format!(
                "baseline {name}: {} distinct windows, k = {}, {} view\n{}",
                profile.distinct(),
                profile.k,
                profile.view,
                traces_table(&traces)
            ))
        }
        Command::Eval(a) => {
            let parse = |e: &Option<String>| -> Result<Selection, AnalysisError> {
                e.as_deref().map_or(Ok(Selection::all()), Selection::parse)
            };
            let common = parse(&a.filter)?;
            let baseline = match &a.profile {
                Some(p) => BaselineSource::ProfileFile(p.clone()),
                None => BaselineSource::Train {
                    inputs: a.train.clone(),
                    selection: common.clone().and(&parse(&a.train_where)?),
                    view: a.view,
                    k: a.k,
                },
            };
            let mut cfg = EvalConfig::new(baseline, a.normal.clone(), a.anomalous.clone());
            cfg.normal_selection = common.clone().and(&parse(&a.normal_where)?);
            cfg.anomalous_selection = common.and(&parse(&a.anomalous_where)?);
            cfg.view = a.view;
            cfg.score = a.scoring.config();
            let r = eval::run(&cfg)?;
            if json {
                return to_json(&r);
            }
            let mut s = format!(
                "baseline {} ({} runs, {} distinct windows, k = {}, {} view); traces scored in the {} view\n\n{:<22} {:<22} {:>7} {:>7} {:>10}\n",
                r.baseline,
                r.profile_runs,
                r.profile_distinct_windows,
                r.k,
                r.baseline_view,
                r.view,
                "metric",
                "anomaly score",
                "ROC AUC",
                "normal",
                "anomalous"
            );
            for m in &r.auc {
                s.push_str(&format!(
                    "{:<22} {:<22} {:>7} {:>7} {:>10}\n",
                    m.metric,
                    m.anomaly_score,
                    fmt_opt(m.auc),
                    m.normal_traces,
                    m.anomalous_traces
                ));
            }
            if a.traces {
                s.push('\n');
                for label in ["normal", "anomalous"] {
                    let ts: Vec<TraceMetrics> = r
                        .traces
                        .iter()
                        .filter(|t| t.label == label)
                        .map(|t| t.metrics.clone())
                        .collect();
                    s.push_str(&format!("{label} traces:\n{}", traces_table(&ts)));
                }
            }
            Ok(s)
        }
        Command::Compare(a) => {
            let r = compare::run(&a.config()?)?;
            let written = match &a.output {
                Some(dir) => r.write_tables(dir)?,
                None => Vec::new(),
            };
            if json {
                return to_json(&serde_json::json!({
                    "files_written": written,
                    "summary_lines": r.summary_lines(),
                    "result": r,
                }));
            }
            let mut s = r.markdown();
            for f in written {
                s.push_str(&format!("wrote {}\n", f.display()));
            }
            Ok(s)
        }
        Command::Matrix(a) => {
            let mut selection = a.data.selection()?;
            if !a.all_modes && a.data.mode.is_empty() {
                selection = selection.with(Field::Mode, &["ms".to_string()]);
            }
            let m = matrix::run(&MatrixConfig {
                inputs: a.data.inputs.clone(),
                selection,
                view: a.view,
                k: a.k,
            })?;
            if json {
                return to_json(&m);
            }
            Ok(format!(
                "mismatch of the row scenario's profile against the column scenario's ({} view, k = {})\n\n{}",
                m.view,
                m.k,
                m.markdown()
            ))
        }
        Command::Plot(a) => {
            let out = a
                .compare
                .output
                .clone()
                .unwrap_or_else(|| PathBuf::from("."));
            std::fs::create_dir_all(&out).map_err(|e| AnalysisError::io("creating", &out, e))?;
            let mut r = compare::run(&a.compare.config()?)?;
            let mut files = plot::coverage_chart(&r, &out.join("coverage"))?;
            files.extend(plot::mismatch_chart(&r, &out.join("mismatch"))?);
            files.extend(plot::matrix_heatmap(&r.matrix, &out.join("matrix"))?);
            let run = match &a.timeline_run {
                Some(x) => Some(x.clone()),
                None => r
                    .most_anomalous_trace(a.timeline_view)
                    .map(|t| t.run_id.clone()),
            };
            if let Some(run) = &run {
                let t = r.timeline(run, a.timeline_view)?;
                files.extend(plot::timeline_chart(&t, &out.join("timeline"))?);
            }
            if json {
                return to_json(
                    &serde_json::json!({ "files_written": files, "timeline_run": run }),
                );
            }
            Ok(files
                .iter()
                .map(|f| format!("wrote {}\n", f.display()))
                .collect())
        }
        Command::Sql(a) => {
            let query = if a.query == "windows" {
                sql::Query::Windows
            } else {
                sql::Query::CoverageMismatch
            };
            let text = sql::render(
                query,
                &sql::SqlParams {
                    files: a.files.clone(),
                    view: a.view,
                    baseline_view: a.baseline_view,
                    baseline_mode: a.baseline_mode.clone(),
                    k: a.k,
                    frame: a.frame,
                },
            )?;
            if json {
                return to_json(&serde_json::json!({ "query": a.query, "sql": text }));
            }
            Ok(text)
        }
        Command::Report(a) => {
            if a.compare.data.inputs.len() != 1 {
                return Err(AnalysisError::Config {
                    option: "DATASET",
                    message: "report takes exactly one dataset (a file, folder or glob)".into(),
                });
            }
            let out = a
                .compare
                .output
                .clone()
                .unwrap_or_else(|| PathBuf::from("report"));
            let cfg = ReportConfig {
                compare: a.compare.config()?,
                timeline_run: a.timeline_run.clone(),
                timeline_view: a.timeline_view,
            };
            let summary =
                report::write_report(&PathBuf::from(&a.compare.data.inputs[0]), &out, &cfg)?;
            if json {
                return to_json(&summary);
            }
            Ok(format!(
                "{}\nwrote {} files; open {}\n",
                lines_table(&summary.lines),
                summary.files.len(),
                summary.index_html.display()
            ))
        }
    }
}
