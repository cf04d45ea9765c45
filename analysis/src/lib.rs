//! Offline behaviour metrics over syscall-tracer datasets: the data contract (schema, writers),
//! and the analysis built on it. Reads and writes Parquet only: no aya, no root.

pub mod dataset;
pub mod error;
pub mod intern;
pub mod ngram;

pub use error::AnalysisError;
pub mod metrics;
pub mod profile;
pub mod view;
pub mod compare;
pub mod matrix;
pub mod roc;
pub mod tidy;
pub mod synth;
pub mod eval;
pub mod plot;
pub mod report;
pub mod cli;
