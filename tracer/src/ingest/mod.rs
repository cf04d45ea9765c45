//! `tracer ingest`: strace logs and public syscall datasets into the dataset schema of
//! docs/DESIGN.md, so one analysis serves every source.
//!
//! - `--format strace` (default): see `strace`.
//! - `--format adfa-ld | unm | lid-ds`: see `import`; each dataset as distributed.
//!
//! Output of strace: when `-o` ends in `.parquet`, the syscalls go to that file and the processes
//! beside it (`trace.parquet` -> `trace.processes.parquet`), as `tracer record` writes; otherwise
//! `-o` is a dataset folder: `OUT/syscalls/<run>.parquet`, `OUT/processes/<run>.parquet` (a run
//! id's `/` become `--` in file names).
//!
//! Output of a dataset import: one dataset of every trace, each its own `run_id`, with its labels
//! (`layout::dataset_paths`): `-o x.parquet` writes `x.parquet`, `x.processes.parquet` (where the
//! source knows processes) and `x.runs.parquet`; a folder `-o OUT` gets `OUT/syscalls/NAME.parquet`,
//! `OUT/processes/NAME.parquet`, `OUT/runs/NAME.parquet`, NAME being the input's name without
//! extension (`ADFA-LD` for `ADFA-LD/` or `ADFA-LD.zip`).

pub mod import;
pub mod strace;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use tracer_dataset::{RunInfo, SinkError, layout};

pub use self::import::Skipped;
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
    /// LID-DS 2021 (scenarios of zipped recordings with `.json` labels) or 2019 (scenarios of
    /// text recordings with `runs.csv`); loose `.sc` files.
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
    /// dataset formats, the dataset as distributed (folder or zip) or one trace file.
    pub input: PathBuf,
    /// A `.parquet` file, or a dataset folder (see the module doc).
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
    /// Scenario of the run(s); `None`: empty for strace, the labels' for datasets.
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
    /// A zip archive of the distribution (or a recording inside it) could not be read.
    #[error("cannot read archive {path}")]
    Archive {
        /// The archive, or the member being read.
        path: PathBuf,
        /// The cause.
        #[source]
        source: zip::result::ZipError,
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

/// The files an ingest wrote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DatasetPaths {
    /// The syscalls file.
    pub syscalls: PathBuf,
    /// The processes file, when the source knows processes.
    pub processes: Option<PathBuf>,
    /// The runs (labels) file of a dataset import.
    pub runs: Option<PathBuf>,
}

/// How far an ingest is, after each trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Traces read.
    pub traces_done: usize,
    /// Traces to read.
    pub traces_total: usize,
    /// Rows written so far.
    pub calls: u64,
}

/// What `tracer ingest` did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IngestSummary {
    /// The format read.
    pub format: Format,
    /// One entry per run (trace), in the order written.
    pub runs: Vec<RunSummary>,
    /// The files written.
    pub paths: DatasetPaths,
    /// Files of a distribution that are not traces.
    pub skipped: Skipped,
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

    /// Processes written over all runs.
    pub fn processes(&self) -> u64 {
        self.runs.iter().map(|r| r.processes).sum()
    }
}

/// `n` and `unit`, plural (`unit` + `s`, or `es` after an `s`) unless `n` is 1.
fn count(n: u64, unit: &str) -> String {
    let plural = match (n, unit.ends_with('s')) {
        (1, _) => "",
        (_, true) => "es",
        (_, false) => "s",
    };
    format!("{n} {unit}{plural}")
}

impl std::fmt::Display for IngestSummary {
    /// One line: traces, calls, what was skipped, the rate in calls per second, the files.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let sum = |g: fn(&RunSummary) -> u64| self.runs.iter().map(g).sum::<u64>();
        write!(
            f,
            "{}, {} from {}",
            count(self.runs.len() as u64, "trace"),
            count(self.rows(), "call"),
            count(self.lines(), "line")
        )?;
        if self.format != Format::Strace {
            let kinds: Vec<String> = self
                .skipped
                .by_kind
                .iter()
                .map(|(k, n)| match k.as_str() {
                    import::NO_EXTENSION => format!("{n} without extension"),
                    _ => format!("{n} .{k}"),
                })
                .collect();
            write!(f, ", {} skipped", count(self.skipped.files, "file"))?;
            if !kinds.is_empty() {
                write!(f, " ({})", kinds.join(", "))?;
            }
        }
        let malformed = sum(|r| r.lines_skipped);
        if malformed > 0 {
            write!(f, ", {} skipped", count(malformed, "malformed line"))?;
        }
        let cut = sum(|r| r.lines_truncated);
        if cut > 0 {
            write!(f, ", {} dropped", count(cut, "cut-off line"))?;
        }
        write!(
            f,
            ", in {secs:.3} s ({:.0} calls/s) -> {}",
            self.rows() as f64 / secs.max(1e-9),
            self.paths.syscalls.display()
        )?;
        if let Some(p) = &self.paths.processes {
            write!(
                f,
                ", {} -> {}",
                count(self.processes(), "process"),
                p.display()
            )?;
        }
        if let Some(p) = &self.paths.runs {
            write!(f, ", labels -> {}", p.display())?;
        }
        writeln!(f)
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
    run_with_progress(config, &mut |_| {})
}

/// `run`, calling `progress` after each trace of a dataset import.
pub fn run_with_progress(
    config: &IngestConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    let imported = match config.format {
        Format::Strace => {
            let run = strace_run(config)?;
            let paths = DatasetPaths {
                syscalls: run.syscalls_path.clone(),
                processes: run.processes_path.clone(),
                runs: None,
            };
            import::Imported {
                runs: vec![run],
                paths,
                skipped: Skipped::default(),
            }
        }
        Format::AdfaLd => import::adfa::ingest(config, progress)?,
        Format::Unm => import::unm::ingest(config, progress)?,
        Format::LidDs => import::lidds::ingest(config, progress)?,
    };
    Ok(IngestSummary {
        format: config.format,
        runs: imported.runs,
        paths: imported.paths,
        skipped: imported.skipped,
        elapsed: started.elapsed(),
    })
}

/// Ingests one strace log (or -ff set) as one run.
fn strace_run(config: &IngestConfig) -> Result<RunSummary, IngestError> {
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
    strace::ingest(&config.input, run, &syscalls, &processes, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(
            [
                count(1, "trace"),
                count(2, "trace"),
                count(3, "process"),
                count(1, "process")
            ],
            ["1 trace", "2 traces", "3 processes", "1 process"]
        );
    }

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
