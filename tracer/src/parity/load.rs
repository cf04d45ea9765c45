//! Reading one capture for comparison: a `syscalls` Parquet file (with its `.processes.parquet`
//! beside it, if any) or a dataset folder, narrowed to one run.

use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
    sync::Arc,
};

use tracer_dataset::{
    intern::{Interner, SyscallId},
    layout::{self, LayoutError},
    rows::{self, FileRows, ReadError},
};

use super::ParityError;

/// One syscall, as far as the comparison needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// Order within the run.
    pub seq: u64,
    /// Process id.
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// Interned syscall name (see `Names`).
    pub name: SyscallId,
    /// Return value.
    pub ret: Option<i64>,
    /// Path argument.
    pub path: Option<Arc<str>>,
}

/// Syscall names interned across both captures (the dataset crate's interner).
pub type Names = Interner;

/// A process from the `processes` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Parent.
    pub ppid: Option<i32>,
    /// Executable.
    pub exe: Option<String>,
}

/// One run's calls (ordered by `seq`) and what its processes table says.
#[derive(Debug, Default)]
pub struct Capture {
    /// What was named on the command line.
    pub input: PathBuf,
    /// The run compared.
    pub run_id: String,
    /// The `source` of the run.
    pub source: String,
    /// Calls ordered by `seq`.
    pub calls: Vec<Call>,
    /// Processes by pid, when a processes table exists.
    pub processes: HashMap<i32, ProcessInfo>,
}

fn read_err(e: ReadError) -> ParityError {
    let (path, what) = match &e {
        ReadError::Io { path, .. }
        | ReadError::Parquet { path, .. }
        | ReadError::Arrow { path, .. }
        | ReadError::Column { path, .. } => (path.clone(), e.to_string()),
    };
    match e {
        ReadError::Io { path, source } => ParityError::Io { path, source },
        ReadError::Parquet { path, source } => ParityError::Parquet { path, source },
        ReadError::Arrow { path, source } => ParityError::Arrow { path, source },
        ReadError::Column { .. } => ParityError::Input { path, what },
    }
}

fn files_of(path: &Path) -> Result<Vec<PathBuf>, ParityError> {
    if !path.exists() {
        return Err(ParityError::Input {
            path: path.to_path_buf(),
            what: "no such Parquet file or dataset folder".into(),
        });
    }
    layout::parquet_files(path).map_err(|e| match e {
        LayoutError::Io { path, source, .. } => ParityError::Io { path, source },
        LayoutError::NotFound(path) => ParityError::Input {
            path,
            what: "no such Parquet file or dataset folder".into(),
        },
    })
}

/// Loads the capture at `path`; `run` picks one run when it holds several.
pub fn load(path: &Path, run: Option<&str>, names: &mut Names) -> Result<Capture, ParityError> {
    let mut cap = Capture {
        input: path.to_path_buf(),
        ..Capture::default()
    };
    let mut runs_seen = BTreeSet::new();
    for file in files_of(path)? {
        match rows::read_file(&file).map_err(read_err)? {
            // An imported dataset's labels say nothing about the calls compared.
            FileRows::Runs(_) => {}
            FileRows::Processes(procs) => {
                for p in procs {
                    runs_seen.insert(p.run_id.clone());
                    if run.is_none_or(|want| want == p.run_id) {
                        cap.processes.insert(
                            p.pid,
                            ProcessInfo {
                                ppid: p.ppid,
                                exe: p.exe,
                            },
                        );
                    }
                }
            }
            FileRows::Syscalls(calls) => {
                for c in calls {
                    runs_seen.insert(c.run_id.clone());
                    if run.is_some_and(|want| want != c.run_id) {
                        continue;
                    }
                    if cap.run_id.is_empty() {
                        cap.run_id = c.run_id.clone();
                        cap.source = c.source.clone();
                    }
                    let name = names.intern(&c.syscall).map_err(|e| ParityError::Input {
                        path: file.clone(),
                        what: e.to_string(),
                    })?;
                    cap.calls.push(Call {
                        seq: c.seq,
                        pid: c.pid,
                        tid: c.tid,
                        name,
                        ret: c.ret,
                        path: c.path.map(Arc::from),
                    });
                }
            }
        }
    }
    if run.is_none() && runs_seen.len() > 1 {
        return Err(ParityError::Input {
            path: path.to_path_buf(),
            what: format!(
                "holds {} runs ({}); choose one with --run-a / --run-b",
                runs_seen.len(),
                runs_seen
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if cap.calls.is_empty() {
        return Err(ParityError::Input {
            path: path.to_path_buf(),
            what: match run {
                Some(r) => format!("no syscalls of run {r:?}"),
                None => "no syscalls".into(),
            },
        });
    }
    cap.calls.sort_by_key(|c| c.seq);
    Ok(cap)
}
