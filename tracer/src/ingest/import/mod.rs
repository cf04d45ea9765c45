//! Importers of public syscall datasets, each taking the dataset exactly as it is distributed
//! (a folder, or a zip archive of it) into the same schema as a capture:
//! - `adfa`: ADFA-LD (UNSW, 2013), folders of i386 syscall-number traces;
//! - `unm`: the University of New Mexico sets (Forrest et al.), `pid number` lines;
//! - `lidds`: LID-DS 2021 scenarios of zipped sysdig recordings with `.json` labels, and LID-DS
//!   2019 scenarios of sysdig text recordings with a `runs.csv` (events read by `sysdig`).
//!
//! Every importer first lists the distribution (`tree`) and labels each trace from the layout
//! (folders, `.json`, `runs.csv`) without reading it; files that are part of the distribution
//! but not traces (syscall lists, READMEs, pcaps, resource statistics) are skipped and counted.
//! Then `import` reads the traces in the dataset's sort order into one dataset (`writer`):
//! `run_id` per trace, one row group or more per split, the labels in the `runs` table.

pub mod adfa;
pub mod lidds;
pub mod sysdig;
pub(crate) mod tree;
pub mod unm;
pub(crate) mod writer;

use std::{
    collections::BTreeMap,
    io::BufRead,
    path::{Path, PathBuf},
};

use tracer_dataset::{
    ProcessRow, RunLabels,
    layout::{self, LayoutError},
};

use self::{tree::Tree, writer::DatasetWriter};
use super::{IngestConfig, IngestError, Progress, RunSummary};

/// Files under `root` (or `root` itself when it is a file) accepted by `keep`, sorted by path
/// (the dataset crate's walker, errors as ingest errors).
pub(crate) fn walk(root: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>, IngestError> {
    layout::walk_files(root, keep).map_err(|e| match e {
        LayoutError::NotFound(path) => IngestError::Input {
            path,
            what: "no such file or folder".into(),
        },
        LayoutError::Io { path, source, .. } => IngestError::Io { path, source },
    })
}

/// A malformed-line error, or a skip under `--lenient`.
pub(crate) fn malformed(
    lenient: bool,
    skipped: &mut u64,
    path: &Path,
    line: u64,
    expected: &'static str,
    text: &str,
) -> Result<(), IngestError> {
    if lenient {
        *skipped += 1;
        return Ok(());
    }
    Err(IngestError::Malformed {
        path: path.to_path_buf(),
        line,
        expected,
        text: text.chars().take(200).collect(),
    })
}

/// `name` of syscall `nr` in `table`, or `syscall_<nr>` when the table has no such number.
pub(crate) fn name_of(
    table: &tracer_dataset::arch::SyscallTable,
    nr: i64,
    buf: &mut String,
) -> &'static str {
    match table.by_nr(nr) {
        Some(i) => i.name,
        None => {
            buf.clear();
            use std::fmt::Write as _;
            let _ = write!(buf, "syscall_{nr}");
            ""
        }
    }
}

/// Calls `f` with each line of `reader` (1-based number, text without the line end; invalid
/// UTF-8 replaced), streaming; `path` names the input in errors.
pub(crate) fn for_each_line(
    reader: impl std::io::Read,
    path: &Path,
    mut f: impl FnMut(u64, &str) -> Result<(), IngestError>,
) -> Result<u64, IngestError> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
    let mut buf = Vec::with_capacity(256);
    let mut n = 0u64;
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| IngestError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            return Ok(n);
        }
        n += 1;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        f(n, &String::from_utf8_lossy(&buf))?;
    }
}

/// The kind of a skipped file without extension.
pub const NO_EXTENSION: &str = "(none)";

/// Files of a distribution that are not traces, skipped: how many, and how many of each kind
/// (the file's extension, `NO_EXTENSION` without one).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Files skipped.
    pub files: u64,
    /// Files skipped per kind.
    pub by_kind: BTreeMap<String, u64>,
}

impl Skipped {
    /// Files skipped per kind, in kind order.
    pub fn kinds(&self) -> Vec<(&str, u64)> {
        self.by_kind.iter().map(|(k, n)| (k.as_str(), *n)).collect()
    }

    /// Counts one skipped file named `name`.
    pub(crate) fn add(&mut self, name: &str) {
        let ext = tree::extension(name);
        let kind = if ext.is_empty() {
            NO_EXTENSION.into()
        } else {
            ext
        };
        self.files += 1;
        *self.by_kind.entry(kind).or_default() += 1;
    }
}

/// One trace of a distribution, found and labelled before anything is read; `K` is what its
/// importer needs besides (which member of a recording archive, a 2019 recording's times).
pub(crate) struct Trace<K> {
    /// The file in the tree.
    pub entry: usize,
    /// Its labels (`calls` and the times read from the trace are filled in when it is read).
    pub labels: RunLabels,
    /// What the importer needs to read it.
    pub kind: K,
}

/// What reading one trace gave.
#[derive(Debug, Default)]
pub(crate) struct TraceRead {
    /// Input lines read.
    pub lines: u64,
    /// Malformed lines skipped (`--lenient`).
    pub lines_skipped: u64,
    /// The trace's processes, when the source knows them.
    pub processes: Vec<ProcessRow>,
}

/// How an importer's dataset file is made.
pub(crate) struct Setup {
    /// The `source` column value.
    pub source: &'static str,
    /// Footer metadata of every file (architecture, command line, ...).
    pub metadata: Vec<(String, String)>,
    /// Whether the source knows processes (a processes file is written).
    pub processes: bool,
}

/// What an import wrote.
#[derive(Debug)]
pub struct Imported {
    /// One entry per trace, in the order written.
    pub runs: Vec<RunSummary>,
    /// The files.
    pub paths: super::DatasetPaths,
    /// Files of the distribution that are not traces.
    pub skipped: Skipped,
}

/// Reads `traces` of `tree` with `read` into one dataset under `config.output`, in the sort order
/// of `writer::partition` then run id, reporting progress after each trace.
pub(crate) fn import<K>(
    config: &IngestConfig,
    tree: &mut Tree,
    mut traces: Vec<Trace<K>>,
    skipped: Skipped,
    setup: &Setup,
    progress: &mut dyn FnMut(&Progress),
    mut read: impl FnMut(
        &mut Tree,
        &Trace<K>,
        &mut DatasetWriter,
        &mut RunLabels,
    ) -> Result<TraceRead, IngestError>,
) -> Result<Imported, IngestError> {
    if traces.is_empty() {
        return Err(IngestError::Input {
            path: config.input.clone(),
            what: format!(
                "no {} traces found ({} other files)",
                setup.source, skipped.files
            ),
        });
    }
    for t in &mut traces {
        if let Some(s) = &config.scenario {
            t.labels.scenario = Some(s.clone());
        }
    }
    traces.sort_by(|a, b| {
        (writer::partition(&a.labels), &a.labels.run_id)
            .cmp(&(writer::partition(&b.labels), &b.labels.run_id))
    });
    if let Some(w) = traces
        .windows(2)
        .find(|w| w[0].labels.run_id == w[1].labels.run_id)
    {
        return Err(IngestError::Input {
            path: tree.display(w[1].entry),
            what: format!(
                "has the same run id {:?} as {}",
                w[1].labels.run_id,
                tree.display(w[0].entry).display()
            ),
        });
    }
    let mut out = DatasetWriter::create(
        &config.output,
        &tree.name(),
        setup.source,
        &setup.metadata,
        setup.processes,
    )?;
    let mut runs = Vec::with_capacity(traces.len());
    let mut lines_skipped = 0;
    let total = traces.len();
    for (done, trace) in traces.iter().enumerate() {
        let mut labels = trace.labels.clone();
        out.begin(&labels)?;
        let before = out.rows();
        let got = read(tree, trace, &mut out, &mut labels)?;
        labels.calls = out.rows() - before;
        lines_skipped += got.lines_skipped;
        runs.push(RunSummary {
            run_id: labels.run_id.clone(),
            syscalls_path: out.paths().syscalls.clone(),
            processes_path: out.paths().processes.clone(),
            rows: labels.calls,
            processes: got.processes.len() as u64,
            lines: got.lines,
            lines_skipped: got.lines_skipped,
            lines_truncated: 0,
        });
        out.end(labels, got.processes);
        progress(&Progress {
            traces_done: done + 1,
            traces_total: total,
            calls: out.rows(),
        });
    }
    let paths = out.paths().clone();
    out.finish(lines_skipped, &skipped)?;
    Ok(Imported {
        runs,
        paths,
        skipped,
    })
}

/// The labels every trace of `source` starts from: run id, origin, and the rest unknown.
pub(crate) fn labels(source: &str, run_id: String, origin: String) -> RunLabels {
    RunLabels {
        run_id,
        source: source.to_string(),
        origin,
        ..RunLabels::default()
    }
}

/// The footer metadata every import writes: architecture and the input named.
pub(crate) fn base_metadata(arch: tracer_dataset::Arch, input: &Path) -> Vec<(String, String)> {
    use tracer_dataset::meta;
    vec![
        (meta::ARCH.to_string(), arch.as_str().to_string()),
        (meta::COMMAND_LINE.to_string(), input.display().to_string()),
    ]
}
