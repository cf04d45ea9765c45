//! The full-row reader: every column of a `syscalls` or `processes` file as owned records, and a
//! file's key-value metadata. For comparisons of whole captures (`tracer parity`) and for tests;
//! the analysis streams only the columns it needs (`analysis::dataset`).

use std::{
    collections::HashMap,
    fs::File,
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow::{
    array::{Array, AsArray, RecordBatch},
    compute::cast,
    datatypes::{DataType, Int32Type, Int64Type, UInt64Type},
    error::ArrowError,
};
use parquet::{arrow::arrow_reader::ParquetRecordBatchReaderBuilder, errors::ParquetError};

use crate::schema::{col, meta, table};

/// Errors while reading a dataset file, naming it.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened.
    #[error("cannot open {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not readable Parquet.
    #[error("{path} is not readable Parquet")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ParquetError,
    },
    /// A batch could not be decoded.
    #[error("decoding {path}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ArrowError,
    },
    /// A column is missing or of another type than the contract's.
    #[error("{path}: column {column:?} {problem}")]
    Column {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
        /// `is missing` or `has an unexpected type`.
        problem: &'static str,
    },
}

/// One row of the `syscalls` table, every column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallRecord {
    /// The run.
    pub run_id: String,
    /// `ebpf`, `strace`, or a dataset's name.
    pub source: String,
    /// Experiment scenario, or an imported trace's class (`training`, `attack:<family>`, ...).
    pub scenario: Option<String>,
    /// Experiment mode.
    pub mode: Option<String>,
    /// Order within the run.
    pub seq: u64,
    /// Wall-clock ns since the Unix epoch.
    pub ts_ns: Option<i64>,
    /// Entry-to-exit ns.
    pub duration_ns: Option<i64>,
    /// Process id.
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// Process name.
    pub comm: Option<String>,
    /// Syscall name.
    pub syscall: String,
    /// Syscall number.
    pub nr: i32,
    /// Argument registers.
    pub args: Option<Vec<u64>>,
    /// Return value.
    pub ret: Option<i64>,
    /// First path argument.
    pub path: Option<String>,
    /// Calling convention (captures; `None` in files written before the column existed).
    pub abi: Option<String>,
    /// Second path argument.
    pub path2: Option<String>,
    /// Socket address family.
    pub sock_family: Option<String>,
    /// Socket address.
    pub sock_addr: Option<String>,
    /// Socket port.
    pub sock_port: Option<i32>,
    /// Marks (`schema::mark` names); empty when null.
    pub marks: Vec<String>,
}

/// One row of the `processes` table, every column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessRecord {
    /// The run.
    pub run_id: String,
    /// Process id.
    pub pid: i32,
    /// Parent.
    pub ppid: Option<i32>,
    /// Start, ns since the Unix epoch.
    pub start_ns: Option<i64>,
    /// End, ns since the Unix epoch.
    pub exit_ns: Option<i64>,
    /// Exit status.
    pub exit_code: Option<i32>,
    /// Terminating signal.
    pub signal: Option<i32>,
    /// Last command name.
    pub comm: Option<String>,
    /// Last executed file.
    pub exe: Option<String>,
    /// Last argument vector.
    pub argv: Option<Vec<String>>,
    /// Whether it was followed (null in files from before the column).
    pub followed: Option<bool>,
    /// Whether the exit status came from the tracer's `waitpid`.
    pub exit_from_wait: Option<bool>,
}

/// The batches of `path` with its key-value metadata.
fn open(path: &Path) -> Result<(HashMap<String, String>, Vec<RecordBatch>), ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    open_file(file, path)
}

/// The batches of `file` (named `path` in errors) with its key-value metadata.
fn open_file(
    file: File,
    path: &Path,
) -> Result<(HashMap<String, String>, Vec<RecordBatch>), ReadError> {
    let pq = |source| ReadError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
    let kv = key_values(builder.metadata().file_metadata());
    let batches = builder
        .build()
        .map_err(pq)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ReadError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
    Ok((kv, batches))
}

fn key_values(md: &parquet::file::metadata::FileMetaData) -> HashMap<String, String> {
    md.key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

/// The key-value metadata of a dataset file (`meta::*` keys).
pub fn metadata(path: &Path) -> Result<HashMap<String, String>, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| ReadError::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(key_values(builder.metadata().file_metadata()))
}

/// Typed access to one batch's columns, errors naming the file.
struct Columns<'a> {
    path: &'a Path,
    batch: &'a RecordBatch,
}

impl<'a> Columns<'a> {
    fn get(&self, name: &'static str) -> Result<&'a Arc<dyn Array>, ReadError> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| ReadError::Column {
                path: self.path.to_path_buf(),
                column: name,
                problem: "is missing",
            })
    }

    fn bad(&self, column: &'static str) -> ReadError {
        ReadError::Column {
            path: self.path.to_path_buf(),
            column,
            problem: "has an unexpected type",
        }
    }

    fn cast(&self, name: &'static str, to: &DataType) -> Result<Arc<dyn Array>, ReadError> {
        cast(self.get(name)?, to).map_err(|source| ReadError::Arrow {
            path: self.path.to_path_buf(),
            source,
        })
    }

    fn strings(&self, name: &'static str) -> Result<Vec<Option<String>>, ReadError> {
        let c = self.cast(name, &DataType::Utf8)?;
        let s = c.as_string::<i32>();
        Ok((0..s.len())
            .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
            .collect())
    }

    /// `strings` of a column files written before it existed lack: all `None` then.
    fn opt_strings(&self, name: &'static str) -> Result<Vec<Option<String>>, ReadError> {
        if self.batch.column_by_name(name).is_none() {
            return Ok(vec![None; self.batch.num_rows()]);
        }
        self.strings(name)
    }

    /// The `marks` lists (empty where null or missing).
    fn marks(&self) -> Result<Vec<Vec<String>>, ReadError> {
        let Some(c) = self.batch.column_by_name(col::MARKS) else {
            return Ok(vec![Vec::new(); self.batch.num_rows()]);
        };
        let l = c.as_list_opt::<i32>().ok_or_else(|| self.bad(col::MARKS))?;
        Ok((0..l.len())
            .map(|i| {
                if l.is_null(i) {
                    return Vec::new();
                }
                let v = l.value(i);
                let s = v.as_string::<i32>();
                (0..s.len()).map(|j| s.value(j).to_string()).collect()
            })
            .collect())
    }

    fn i64s(&self, name: &'static str) -> Result<Vec<Option<i64>>, ReadError> {
        let c = self.cast(name, &DataType::Int64)?;
        let a = c.as_primitive::<Int64Type>();
        Ok((0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect())
    }

    /// A boolean column; all null when the file predates it.
    fn bools_or_null(&self, name: &'static str) -> Result<Vec<Option<bool>>, ReadError> {
        let Some(c) = self.batch.column_by_name(name) else {
            return Ok(vec![None; self.batch.num_rows()]);
        };
        let a = c.as_boolean_opt().ok_or_else(|| self.bad(name))?;
        Ok((0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect())
    }

    fn i32s(&self, name: &'static str) -> Result<Vec<Option<i32>>, ReadError> {
        let a = self
            .get(name)?
            .as_primitive_opt::<Int32Type>()
            .ok_or_else(|| self.bad(name))?;
        Ok((0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect())
    }
}

/// Every row of a `syscalls` file, in file order.
pub fn read_syscalls(path: &Path) -> Result<Vec<SyscallRecord>, ReadError> {
    let (_, batches) = open(path)?;
    let mut rows = Vec::new();
    for batch in &batches {
        let c = Columns { path, batch };
        let seq = c
            .get(col::SEQ)?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| c.bad(col::SEQ))?;
        let (pid, tid, nr) = (c.i32s(col::PID)?, c.i32s(col::TID)?, c.i32s(col::NR)?);
        let (ts, dur, ret) = (
            c.i64s(col::TS_NS)?,
            c.i64s(col::DURATION_NS)?,
            c.i64s(col::RET)?,
        );
        let (run_id, source) = (c.strings(col::RUN_ID)?, c.strings(col::SOURCE)?);
        let (scenario, mode) = (c.strings(col::SCENARIO)?, c.strings(col::MODE)?);
        let (comm, syscall, paths) = (
            c.strings(col::COMM)?,
            c.strings(col::SYSCALL)?,
            c.strings(col::PATH)?,
        );
        let args = c
            .get(col::ARGS)?
            .as_fixed_size_list_opt()
            .ok_or_else(|| c.bad(col::ARGS))?;
        let (abi, path2) = (c.opt_strings(col::ABI)?, c.opt_strings(col::PATH2)?);
        let (family, addr) = (
            c.opt_strings(col::SOCK_FAMILY)?,
            c.opt_strings(col::SOCK_ADDR)?,
        );
        let port = if batch.column_by_name(col::SOCK_PORT).is_some() {
            c.i32s(col::SOCK_PORT)?
        } else {
            vec![None; batch.num_rows()]
        };
        let mut marks = c.marks()?;
        for i in 0..batch.num_rows() {
            let a = args
                .is_valid(i)
                .then(|| args.value(i).as_primitive::<UInt64Type>().values().to_vec());
            rows.push(SyscallRecord {
                run_id: run_id[i].clone().unwrap_or_default(),
                source: source[i].clone().unwrap_or_default(),
                scenario: scenario[i].clone(),
                mode: mode[i].clone(),
                seq: seq.value(i),
                ts_ns: ts[i],
                duration_ns: dur[i],
                pid: pid[i].unwrap_or_default(),
                tid: tid[i].unwrap_or_default(),
                comm: comm[i].clone(),
                syscall: syscall[i].clone().unwrap_or_default(),
                nr: nr[i].unwrap_or_default(),
                args: a,
                ret: ret[i],
                path: paths[i].clone(),
                abi: abi[i].clone(),
                path2: path2[i].clone(),
                sock_family: family[i].clone(),
                sock_addr: addr[i].clone(),
                sock_port: port[i],
                marks: std::mem::take(&mut marks[i]),
            });
        }
    }
    Ok(rows)
}

/// Every row of a `processes` file, in file order.
pub fn read_processes(path: &Path) -> Result<Vec<ProcessRecord>, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(read_processes_file(file, path)?.1)
}

/// The key-value metadata and every row of the `processes` file `file`, already opened
/// (`path` names it in errors).
pub fn read_processes_file(
    file: File,
    path: &Path,
) -> Result<(HashMap<String, String>, Vec<ProcessRecord>), ReadError> {
    let (kv, batches) = open_file(file, path)?;
    let mut out = Vec::new();
    for batch in &batches {
        let c = Columns { path, batch };
        let (pid, ppid) = (c.i32s(col::PID)?, c.i32s(col::PPID)?);
        let (code, signal) = (c.i32s(col::EXIT_CODE)?, c.i32s(col::SIGNAL)?);
        let (start, exit) = (c.i64s(col::START_NS)?, c.i64s(col::EXIT_NS)?);
        let (run_id, exe, comm) = (
            c.strings(col::RUN_ID)?,
            c.strings(col::EXE)?,
            c.strings(col::COMM)?,
        );
        let (followed, from_wait) = (
            c.bools_or_null(col::FOLLOWED)?,
            c.bools_or_null(col::EXIT_FROM_WAIT)?,
        );
        let argv = c
            .get(col::ARGV)?
            .as_list_opt::<i32>()
            .ok_or_else(|| c.bad(col::ARGV))?;
        for i in 0..batch.num_rows() {
            let a = argv.is_valid(i).then(|| {
                let v = argv.value(i);
                let s = v.as_string::<i32>();
                (0..s.len()).map(|j| s.value(j).to_string()).collect()
            });
            out.push(ProcessRecord {
                run_id: run_id[i].clone().unwrap_or_default(),
                pid: pid[i].unwrap_or_default(),
                ppid: ppid[i],
                start_ns: start[i],
                exit_ns: exit[i],
                exit_code: code[i],
                signal: signal[i],
                comm: comm[i].clone(),
                exe: exe[i].clone(),
                argv: a,
                followed: followed[i],
                exit_from_wait: from_wait[i],
            });
        }
    }
    Ok((kv, out))
}

/// What one dataset file holds, read whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileRows {
    /// A `syscalls` file.
    Syscalls(Vec<SyscallRecord>),
    /// A `processes` file.
    Processes(Vec<ProcessRecord>),
    /// A `runs` (labels) file.
    Runs(Vec<crate::labels::RunLabels>),
}

/// Reads a dataset file of any table, deciding by its footer (`meta::TABLE`; files without it
/// are read as `syscalls`).
pub fn read_file(path: &Path) -> Result<FileRows, ReadError> {
    Ok(match metadata(path)?.get(meta::TABLE).map(String::as_str) {
        Some(table::PROCESSES) => FileRows::Processes(read_processes(path)?),
        Some(table::RUNS) => FileRows::Runs(crate::labels::read_runs(path)?),
        _ => FileRows::Syscalls(read_syscalls(path)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{ProcessRow, ProcessSink, RunInfo, SyscallRow, SyscallSink};

    #[test]
    fn rows_read_back_as_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = RunInfo {
            run_id: "r1".into(),
            source: "test".into(),
            ..RunInfo::default()
        };
        let sp = dir.path().join("s.parquet");
        let mut s = SyscallSink::create(&sp, run.clone(), &[("k".into(), "v".into())]).expect("s");
        s.push(&SyscallRow {
            seq: 7,
            pid: 10,
            tid: 11,
            syscall: "openat",
            nr: 257,
            args: Some([1, 2, 3, 4, 5, 6]),
            ret: Some(-2),
            path: Some("/etc/x"),
            ..SyscallRow::default()
        })
        .expect("push");
        s.close().expect("close");
        let rows = read_syscalls(&sp).expect("read");
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (r.seq, r.pid, r.tid, r.nr, r.ret),
            (7, 10, 11, 257, Some(-2))
        );
        assert_eq!(
            (r.syscall.as_str(), r.path.as_deref()),
            ("openat", Some("/etc/x"))
        );
        assert_eq!(r.args.as_deref(), Some(&[1, 2, 3, 4, 5, 6][..]));
        assert_eq!(
            (r.run_id.as_str(), r.ts_ns, r.comm.as_deref()),
            ("r1", None, None)
        );
        let md = metadata(&sp).expect("md");
        assert_eq!(md["k"], "v");
        assert_eq!(md[meta::EVENTS_WRITTEN], "1");

        let pp = dir.path().join("p.parquet");
        let mut p = ProcessSink::create(&pp, run, &[]).expect("p");
        p.push(ProcessRow {
            pid: 10,
            ppid: Some(1),
            exit_code: Some(3),
            argv: Some(vec!["a".into(), "b".into()]),
            ..ProcessRow::default()
        });
        p.close().expect("close");
        let FileRows::Processes(procs) = read_file(&pp).expect("read") else {
            panic!("a processes file");
        };
        assert_eq!(
            (procs[0].pid, procs[0].ppid, procs[0].exit_code),
            (10, Some(1), Some(3))
        );
        assert_eq!(
            procs[0].argv.as_deref(),
            Some(&["a".to_string(), "b".to_string()][..])
        );
        assert!(matches!(
            read_file(&sp).expect("read"),
            FileRows::Syscalls(_)
        ));
    }

    /// `comm` keys are per batch, found by comparing with the last row's name: names that
    /// alternate, repeat, go null and come back, across batches, read back row for row.
    #[test]
    fn comm_reads_back_row_for_row_across_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sp = dir.path().join("c.parquet");
        let mut s = SyscallSink::create(&sp, RunInfo::default(), &[]).expect("s");
        let names = [
            Some("sh"),
            Some("cat"),
            None,
            Some("cat"),
            Some("find"),
            Some("sh"),
        ];
        let comm_of = |i: usize| names[(i / 3 + i % 2) % names.len()];
        let rows = crate::sink::BATCH_ROWS * 2 + 123;
        for i in 0..rows {
            s.push(&SyscallRow {
                seq: i as u64,
                comm: comm_of(i),
                syscall: "read",
                ..SyscallRow::default()
            })
            .expect("push");
        }
        s.close().expect("close");
        let back = read_syscalls(&sp).expect("read");
        assert_eq!(back.len(), rows);
        for (i, r) in back.iter().enumerate() {
            assert_eq!(r.comm.as_deref(), comm_of(i), "row {i}");
        }
    }

    #[test]
    fn one_file_holds_several_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = |id: &str| RunInfo {
            run_id: id.into(),
            source: "test".into(),
            ..RunInfo::default()
        };
        let path = dir.path().join("runs.parquet");
        let mut s = SyscallSink::create(&path, run("a"), &[]).expect("create");
        let row = |seq| SyscallRow {
            seq,
            syscall: "read",
            ..SyscallRow::default()
        };
        s.push(&row(0)).expect("push");
        s.push(&row(1)).expect("push");
        // A run without rows is replaced, not counted.
        s.next_run(run("empty")).expect("next");
        s.next_run(run("b")).expect("next");
        s.push(&row(0)).expect("push");
        assert_eq!(s.close().expect("close"), 3);
        let rows = read_syscalls(&path).expect("read");
        let ids: Vec<(&str, u64)> = rows.iter().map(|r| (r.run_id.as_str(), r.seq)).collect();
        assert_eq!(ids, [("a", 0), ("a", 1), ("b", 0)]);
        assert_eq!(metadata(&path).expect("md")[meta::RUNS], "2");
    }
}
