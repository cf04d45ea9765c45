//! Offline behaviour metrics over syscall-tracer datasets: the data contract (schema, writers),
//! and the analysis built on it. Reads and writes Parquet only: no aya, no root.

pub mod dataset;
pub mod error;
pub mod intern;
pub mod ngram;

pub use error::AnalysisError;
pub mod cli;
pub mod compare;
pub mod eval;
pub mod matrix;
pub mod metrics;
pub mod plot;
pub mod profile;
pub mod report;
pub mod roc;
pub mod sql;
pub mod synth;
pub mod tidy;
pub mod view;
