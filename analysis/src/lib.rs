//! Offline behaviour metrics over syscall-tracer datasets: the data contract (schema, writers),
//! and the analysis built on it. Reads and writes Parquet only: no aya, no root.
//!
//! # Entry points
//!
//! For the experiment runner and other callers (all return `Result<_, AnalysisError>`):
//!
//! - [`compare::run`]`(&CompareConfig) -> CompareResult`: the M.S vs M.R comparison. Per
//!   scenario the baseline is a profile of its M.S runs (all, or a seeded training share) in the
//!   baseline view (default thread); M.R and held-out M.S runs are scored in every view.
//!   [`compare::CompareResult::summary_lines`] gives coverage and mismatch per scenario, mode
//!   and view; [`compare::CompareResult::write_tables`] writes the tidy table (Parquet, CSV),
//!   a markdown summary, per-trace CSV and JSON.
//! - [`report::write_report`]`(dataset: &Path, out_dir: &Path, &ReportConfig) -> ReportSummary`:
//!   the comparison, every plot (PNG and SVG) and an `index.html`; `ReportSummary::table()`
//!   prints the per-scenario, per-mode, per-view summary.
//! - [`matrix::run`]`(&MatrixConfig) -> MismatchMatrix`: each scenario's profile against each
//!   other's.
//! - [`eval::run`]`(&EvalConfig) -> EvalResult`: labelled normal/anomalous traces against a
//!   baseline (stide evaluation): per-trace scores and, per metric, the ROC AUC and curve, the
//!   detection rate at fixed false-alarm rates and at zero false alarms, and per attack family;
//!   on LID-DS imports also the LID-DS framework's measures ([`lidds`]).
//! - [`profile::build_profile`], [`profile::Profile::save`] / [`profile::Profile::load`],
//!   [`eval::score_traces`]: profiles as reusable files, and scoring against one.
//! - [`sql::render`]: the same metrics as DuckDB or Spark SQL over the Parquet files.
//!
//! # Layers
//!
//! [`dataset`] (schema, writers, selection, streaming reader) feeds rows run by run to a
//! [`dataset::RowConsumer`]; [`view::Windower`] turns them into packed window keys
//! ([`ngram`], names interned by [`intern`]); [`profile::ProfileBuilder`] and
//! [`scorer::Scorer`] are the two consumers; [`hamming`] indexes a profile for exact nearest-window
//! distances. [`roc`], [`matrix`], [`tidy`], [`plot`] and [`report`] work on their results;
//! [`cli`] is the `tracer-analyze` command line; [`synth`] generates datasets for tests and
//! benchmarks (an M.S / M.R experiment, or an ADFA-LD-shaped corpus).
//!
//! Memory is bounded by the profiles, one state per open sequence, and the distinct unknown
//! windows of the trace being scored, which exact mismatch needs, up to a limit
//! (`ScoreConfig::max_exact_unknown`) past which [`sketch`] estimates them; never by the dataset.

pub mod cli;
pub mod compare;
pub mod dataset;
pub mod error;
pub mod eval;
pub mod hamming;
pub mod intern;
pub mod lidds;
pub mod matrix;
pub mod mechanism;
pub mod metrics;
pub mod ngram;
pub mod plot;
pub mod profile;
pub mod report;
pub mod roc;
pub mod scorer;
pub mod sketch;
pub mod sql;
pub mod stats;
pub mod synth;
pub mod tidy;
pub mod timeline;
pub mod view;

pub use error::AnalysisError;
