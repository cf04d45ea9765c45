//! Reading one capture for comparison: a `syscalls` Parquet file (with its `.processes.parquet`
//! beside it, if any) or a dataset folder, narrowed to one run.

use std::{
    collections::{BTreeSet, HashMap},
    fs::File,
    path::{Path, PathBuf},
    sync::Arc,
};

use analysis::dataset::schema::{col, meta};
use arrow::{
    array::{Array, AsArray, RecordBatch},
    datatypes::{DataType, Int32Type, Int64Type, UInt64Type},
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

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
    pub name: u32,
    /// Return value.
    pub ret: Option<i64>,
    /// Path argument.
    pub path: Option<Arc<str>>,
}

/// Syscall names interned across both captures.
#[derive(Debug, Default)]
pub struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// The id of `name` if seen.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name of `id`.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

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

fn parquet_files(path: &Path) -> Result<Vec<PathBuf>, ParityError> {
    if path.is_file() {
        let mut v = vec![path.to_path_buf()];
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let procs = path.with_file_name(format!("{stem}.processes.parquet"));
        if procs.is_file() {
            v.push(procs);
        }
        return Ok(v);
    }
    if !path.is_dir() {
        return Err(ParityError::Input {
            path: path.to_path_buf(),
            what: "no such Parquet file or dataset folder".into(),
        });
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|source| ParityError::Io {
            path: dir.clone(),
            source,
        })?;
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn pq_err(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> ParityError + '_ {
    move |source| ParityError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

fn column<'b>(
    batch: &'b RecordBatch,
    path: &Path,
    name: &str,
) -> Result<&'b Arc<dyn Array>, ParityError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| ParityError::Input {
            path: path.to_path_buf(),
            what: format!("no column {name:?}"),
        })
}

fn strings(
    batch: &RecordBatch,
    path: &Path,
    name: &str,
) -> Result<Vec<Option<String>>, ParityError> {
    let c = column(batch, path, name)?;
    let c = arrow::compute::cast(c, &DataType::Utf8).map_err(|source| ParityError::Arrow {
        path: path.to_path_buf(),
        source,
    })?;
    let s = c.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
        .collect())
}

fn bad_type(path: &Path, name: &str) -> ParityError {
    ParityError::Input {
        path: path.to_path_buf(),
        what: format!("column {name:?} has an unexpected type"),
    }
}

/// Loads the capture at `path`; `run` picks one run when it holds several.
pub fn load(path: &Path, run: Option<&str>, names: &mut Names) -> Result<Capture, ParityError> {
    let mut cap = Capture {
        input: path.to_path_buf(),
        ..Capture::default()
    };
    let mut runs_seen = BTreeSet::new();
    for file in parquet_files(path)? {
        let f = File::open(&file).map_err(|source| ParityError::Io {
            path: file.clone(),
            source,
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(pq_err(&file))?;
        let table = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == meta::TABLE))
            .and_then(|k| k.value.clone())
            .unwrap_or_else(|| "syscalls".into());
        let reader = builder.build().map_err(pq_err(&file))?;
        for batch in reader {
            let batch = batch.map_err(|source| ParityError::Arrow {
                path: file.clone(),
                source,
            })?;
            let run_ids = strings(&batch, &file, col::RUN_ID)?;
            let keep: Vec<bool> = run_ids
                .iter()
                .map(|r| {
                    let r = r.as_deref().unwrap_or("");
                    runs_seen.insert(r.to_string());
                    run.is_none_or(|want| want == r)
                })
                .collect();
            let pid = column(&batch, &file, col::PID)?
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(|| bad_type(&file, col::PID))?
                .clone();
            if table == "processes" {
                let ppid = column(&batch, &file, col::PPID)?
                    .as_primitive_opt::<Int32Type>()
                    .ok_or_else(|| bad_type(&file, col::PPID))?
                    .clone();
                let exe = strings(&batch, &file, col::EXE)?;
                for i in 0..batch.num_rows() {
                    if keep[i] {
                        cap.processes.insert(
                            pid.value(i),
                            ProcessInfo {
                                ppid: ppid.is_valid(i).then(|| ppid.value(i)),
                                exe: exe[i].clone(),
                            },
                        );
                    }
                }
                continue;
            }
            let sources = strings(&batch, &file, col::SOURCE)?;
            let seq = column(&batch, &file, col::SEQ)?
                .as_primitive_opt::<UInt64Type>()
                .ok_or_else(|| bad_type(&file, col::SEQ))?
                .clone();
            let tid = column(&batch, &file, col::TID)?
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(|| bad_type(&file, col::TID))?
                .clone();
            let ret = column(&batch, &file, col::RET)?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| bad_type(&file, col::RET))?
                .clone();
            let syscall = strings(&batch, &file, col::SYSCALL)?;
            let paths = strings(&batch, &file, col::PATH)?;
            for i in 0..batch.num_rows() {
                if !keep[i] {
                    continue;
                }
                if cap.run_id.is_empty() {
                    cap.run_id = run_ids[i].clone().unwrap_or_default();
                    cap.source = sources[i].clone().unwrap_or_default();
                }
                cap.calls.push(Call {
                    seq: seq.value(i),
                    pid: pid.value(i),
                    tid: tid.value(i),
                    name: names.intern(syscall[i].as_deref().unwrap_or("")),
                    ret: ret.is_valid(i).then(|| ret.value(i)),
                    path: paths[i].as_deref().map(Arc::from),
                });
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
