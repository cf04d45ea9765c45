//! The library's error type: every variant names the input (file, profile, option) it is about.

use std::path::PathBuf;

use arrow::error::ArrowError;
use parquet::errors::ParquetError;

/// Errors of the analysis library.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A file or folder could not be read or written.
    #[error("{action} {path}")]
    Io {
        /// What was being done (`reading`, `creating`, ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A Parquet file could not be decoded or written.
    #[error("Parquet error in {path}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ParquetError,
    },
    /// An Arrow batch could not be decoded or built.
    #[error("Arrow error in {path}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ArrowError,
    },
    /// A Parquet file lacks a column the analysis needs or has it with another type.
    #[error("{path}: column `{column}` {problem}")]
    Column {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
        /// What is wrong (`is missing`, `has type X, expected Y`).
        problem: String,
    },
    /// A dataset path, folder or glob matched no `syscalls` file.
    #[error("no syscalls Parquet file found at {0}")]
    NoInput(String),
    /// A glob pattern is malformed.
    #[error("bad glob pattern {pattern}: {message}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// The parser's message.
        message: String,
    },
    /// More distinct syscall names than the window's ids can hold.
    #[error(transparent)]
    TooManySyscalls(#[from] crate::intern::InternError),
    /// An option value is out of range or malformed.
    #[error("invalid {option}: {message}")]
    Config {
        /// The option (`k`, `frame`, `--where`, ...).
        option: &'static str,
        /// Why.
        message: String,
    },
    /// A profile file is malformed or of another format version.
    #[error("{path} is not a valid profile file: {message}")]
    ProfileFormat {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Serialising or parsing JSON failed.
    #[error("JSON for {path}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// Drawing a plot failed.
    #[error("drawing {path}: {message}")]
    Plot {
        /// The image file.
        path: PathBuf,
        /// The backend's message.
        message: String,
    },
    /// Writing a dataset file failed.
    #[error(transparent)]
    Sink(#[from] tracer_dataset::SinkError),
    /// Reading a dataset file through `tracer_dataset` (the `runs` labels, times) failed.
    #[error(transparent)]
    Read(#[from] tracer_dataset::rows::ReadError),
    /// The selection left nothing to work with (no baseline runs, no trace, ...).
    #[error("{0}")]
    Empty(String),
}

impl AnalysisError {
    /// An `Io` error for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
