//! `tracer ingest`: strace logs and public syscall datasets into the dataset schema of
//! docs/DESIGN.md, so one analysis serves every source.
//!
//! - `--format strace` (default): see `strace`.
//! - `--format adfa-ld | unm | lid-ds`: see `import`.
//!
//! Output: when `-o` ends in `.parquet` and the input is one run, the syscalls go to that file and
//! the processes beside it (`trace.parquet` -> `trace.processes.parquet`), as `tracer record`
//! writes. Otherwise `-o` is a dataset folder: `OUT/syscalls/<run>.parquet` and, where the source
//! knows processes, `OUT/processes/<run>.parquet` (a run id's `/` become `--` in file names).
//! A `.parquet` output for an input of several runs is an error.

pub mod import;
pub mod strace;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use tracer_dataset::{RunInfo, SinkError, layout};

use self::strace::detect::Date;
pub use tracer_dataset::Arch;

/// Input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Format {
    /// strace output, any flag combination, autodetected.
    Strace,
    /// ADFA-LD: folders of i386 syscall-number traces.
    #[value(name = "adfa-ld")]
    AdfaLd,
    /// UNM: `pid syscall-number` lines.
    Unm,
    /// LID-DS 2021 `.sc` files.
    #[value(name = "lid-ds")]
    LidDs,
}

impl Format {
    /// The `source` column value.
    pub fn source(self) -> &'static str {
        match self {
            Self::Strace => "strace",
            Self::AdfaLd => "adfa-ld",
            Self::Unm => "unm",
            Self::LidDs => "lid-ds",
        }
    }
}

/// What `tracer ingest` reads and writes: the command line, validated.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// A strace log; an `strace -ff -o PREFIX` set given as its folder or as PREFIX; or, for the
    /// dataset formats, a dataset file or folder.
    pub input: PathBuf,
    /// A `.parquet` file for one run, or a dataset folder (see the module doc).
    pub output: PathBuf,
    /// Input format.
    pub format: Format,
    /// Architecture whose syscall table names and numbers the calls; `None`: this machine's for
    /// strace and lid-ds, x86 (i386) for adfa-ld and unm.
    pub arch: Option<Arch>,
    /// Date (local time) of the first line of a `-t`/`-tt` log; `None`: from the log's
    /// modification time.
    pub date: Option<Date>,
    /// Skip malformed lines (counted in the file metadata) instead of failing.
    pub lenient: bool,
    /// Run id of a one-run input; `None`: the input's file name without extension.
    pub run_id: Option<String>,
    /// Scenario of the run(s); `None` leaves it empty (adfa-ld derives it from the folder).
    pub scenario: Option<String>,
    /// Pid of strace lines without a pid prefix; `None`: the -ff file suffix, the pid no fork
    /// returned, or 0.
    pub pid: Option<i32>,
}

/// Errors of `tracer ingest`, naming the file (and line) at fault.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not what the format allows (use `--lenient` to skip such lines).
    #[error("{path}:{line}: malformed line: expected {expected}: {text:?}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What the parser expected.
        expected: &'static str,
        /// The line (first 200 bytes).
        text: String,
    },
    /// The input is not something this format reads.
    #[error("{path}: {what}")]
    Input {
        /// What was named.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The output could not be created.
    #[error("cannot create {path}")]
    Output {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing Parquet failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// What one ingested run produced.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    /// The run id.
    pub run_id: String,
    /// The syscalls file.
    pub syscalls_path: PathBuf,
    /// The processes file, when the source knows processes.
    pub processes_path: Option<PathBuf>,
    /// Rows written to the syscalls file.
    pub rows: u64,
    /// Rows written to the processes file.
    pub processes: u64,
    /// Input lines read.
    pub lines: u64,
    /// Malformed lines skipped (`--lenient`).
    pub lines_skipped: u64,
    /// Lines dropped because the input ended in the middle of them.
    pub lines_truncated: u64,
}

/// What `tracer ingest` did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IngestSummary {
    /// The format read.
    pub format: Format,
    /// One entry per run.
    pub runs: Vec<RunSummary>,
    /// Wall time of the whole ingest.
    pub elapsed: Duration,
}

impl IngestSummary {
    /// Input lines read over all runs.
    pub fn lines(&self) -> u64 {
        self.runs.iter().map(|r| r.lines).sum()
    }

    /// Rows written over all runs.
    pub fn rows(&self) -> u64 {
        self.runs.iter().map(|r| r.rows).sum()
    }
}

impl std::fmt::Display for IngestSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for r in &self.runs {
            write!(
                f,
                "{}: {} syscalls -> {}",
                r.run_id,
                r.rows,
                r.syscalls_path.display()
            )?;
            if let Some(p) = &r.processes_path {
                write!(f, ", {} processes -> {}", r.processes, p.display())?;
            }
            if r.lines_skipped > 0 {
                write!(f, ", {} malformed lines skipped", r.lines_skipped)?;
            }
            if r.lines_truncated > 0 {
                write!(f, ", {} cut-off lines dropped", r.lines_truncated)?;
            }
            writeln!(f)?;
        }
        let secs = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "runs: {}, lines: {}, rows: {}, in {:.3} s ({:.0} lines/s)",
            self.runs.len(),
            self.lines(),
            self.rows(),
            secs,
            self.lines() as f64 / secs.max(1e-9)
        )
    }
}

/// Where the files of each run go (see the module doc).
#[derive(Clone, Debug)]
pub struct Output {
    root: PathBuf,
    single: bool,
}

impl Output {
    /// The layout `-o path` asks for, for an input of `runs` runs: one `.parquet` file for one
    /// run, else a folder (an output ending in `.parquet` for several runs is an error).
    pub fn new(path: &Path, runs: usize) -> Result<Self, IngestError> {
        let parquet = path.extension().is_some_and(|e| e == "parquet");
        if parquet && runs > 1 {
            return Err(IngestError::Input {
                path: path.to_path_buf(),
                what: format!(
                    "the input holds {runs} runs: name an output folder, not a .parquet file"
                ),
            });
        }
        Ok(Self {
            root: path.to_path_buf(),
            single: parquet,
        })
    }

    /// The syscalls and processes files of `run_id`, creating folders as needed.
    pub fn paths(&self, run_id: &str) -> Result<(PathBuf, PathBuf), IngestError> {
        let mkdir = |dir: &Path| {
            std::fs::create_dir_all(dir).map_err(|source| IngestError::Output {
                path: dir.to_path_buf(),
                source,
            })
        };
        if self.single {
            if let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty()) {
                mkdir(parent)?;
            }
            return Ok((self.root.clone(), layout::processes_path(&self.root)));
        }
        let (s, p) = layout::run_paths(&self.root, run_id);
        for dir in [&s, &p] {
            mkdir(dir.parent().expect("a run file sits in a dataset folder"))?;
        }
        Ok((s, p))
    }
}

/// The input's name without extension: the default run id.
fn default_run_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".to_string())
}

/// Runs `tracer ingest` as `config` says; returns what was written, without printing.
pub fn run(config: &IngestConfig) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    let runs = match config.format {
        Format::Strace => {
            let run_id = config
                .run_id
                .clone()
                .unwrap_or_else(|| default_run_id(&config.input));
            let out = Output::new(&config.output, 1)?;
            let (syscalls, processes) = out.paths(&run_id)?;
            let run = RunInfo {
                run_id,
                source: Format::Strace.source().to_string(),
                scenario: config.scenario.clone(),
                mode: None,
            };
            let opts = strace::Options {
                table: config.arch.unwrap_or_else(Arch::native).table(),
                date: config.date,
                lenient: config.lenient,
                pid: config.pid,
            };
            vec![strace::ingest(
                &config.input,
                run,
                &syscalls,
                &processes,
                &opts,
            )?]
        }
        Format::AdfaLd => import::adfa::ingest(config)?,
        Format::Unm => import::unm::ingest(config)?,
        Format::LidDs => import::lidds::ingest(config)?,
    };
    Ok(IngestSummary {
        format: config.format,
        runs,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let file = Output::new(&dir.path().join("t.parquet"), 1).unwrap();
        assert!(Output::new(&dir.path().join("t.parquet"), 2).is_err());
        let (s, p) = file.paths("run").unwrap();
        assert_eq!(
            (s.file_name().unwrap(), p.file_name().unwrap()),
            ("t.parquet".as_ref(), "t.processes.parquet".as_ref())
        );
        let folder = Output::new(&dir.path().join("ds"), 2).unwrap();
        let (s, p) = folder.paths("a/b").unwrap();
        assert!(
            s.ends_with("ds/syscalls/a--b.parquet") && p.ends_with("ds/processes/a--b.parquet")
        );
    }
}
