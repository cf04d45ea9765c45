//! The writer of the `processes` table (one row per process lifetime): small, so rows are kept
//! until `close`; one run per file or many (`create_dataset`), as `sink::SyscallSink`.

use std::{
    fs::File,
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow::array::{
    ArrayRef, BooleanBuilder, Int32Array, Int32Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampNanosecondBuilder,
};
use parquet::{arrow::ArrowWriter, file::metadata::KeyValue};

use crate::{
    schema::{self, meta, processes_schema},
    sink::{RunInfo, SinkError, base_metadata, run_label_column, writer_properties},
};

/// One row of the `processes` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessRow {
    /// Process id.
    pub pid: i32,
    /// Parent process id.
    pub ppid: Option<i32>,
    /// Start (fork or attach), ns since the Unix epoch.
    pub start_ns: Option<i64>,
    /// End, ns since the Unix epoch; `None` if still running when the capture ended.
    pub exit_ns: Option<i64>,
    /// Exit status when it exited normally.
    pub exit_code: Option<i32>,
    /// Terminating signal when killed.
    pub signal: Option<i32>,
    /// Last command name.
    pub comm: Option<String>,
    /// Last executed file.
    pub exe: Option<String>,
    /// Last argument vector.
    pub argv: Option<Vec<String>>,
    /// Whether it was followed (`false`: untraced, the kernel's filter was full).
    pub followed: Option<bool>,
    /// Whether `exit_code`/`signal` come from the tracer's `waitpid` (its exit record was lost).
    pub exit_from_wait: Option<bool>,
}

/// Writer of one `processes` file; the table is small, so rows are kept until `close`. Like
/// `SyscallSink`, a file holds one run (`create`) or many (`create_dataset`, `begin_run`).
pub struct ProcessSink {
    path: PathBuf,
    /// The run ids of the file; the last is the run being written.
    run_ids: Vec<String>,
    /// Per row: its run's index in `run_ids`.
    row_runs: Vec<i32>,
    /// Runs begun with `begin_run` (a dataset file), written as `meta::RUNS` at close.
    runs_begun: Option<u64>,
    file: File,
    metadata: Vec<KeyValue>,
    rows: Vec<ProcessRow>,
}

impl ProcessSink {
    /// Creates `path` (truncating it) for the processes of `run`.
    pub fn create(
        path: &Path,
        run: RunInfo,
        metadata: &[(String, String)],
    ) -> Result<Self, SinkError> {
        let file = File::create(path).map_err(|source| SinkError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_file(file, path, run, metadata)
    }

    /// Writes the processes of `run` into `file`, already created; `path` names it in errors.
    pub fn from_file(
        file: File,
        path: &Path,
        run: RunInfo,
        metadata: &[(String, String)],
    ) -> Result<Self, SinkError> {
        Ok(Self::open(file, path, run, metadata, true))
    }

    /// Creates `path` (truncating it) for the processes of many runs of `source`: call
    /// `begin_run` before each run's processes.
    pub fn create_dataset(
        path: &Path,
        source: &str,
        metadata: &[(String, String)],
    ) -> Result<Self, SinkError> {
        let file = File::create(path).map_err(|source| SinkError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let run = RunInfo {
            source: source.to_string(),
            ..RunInfo::default()
        };
        Ok(Self::open(file, path, run, metadata, false))
    }

    fn open(
        file: File,
        path: &Path,
        run: RunInfo,
        metadata: &[(String, String)],
        one_run: bool,
    ) -> Self {
        let mut kv = base_metadata(schema::table::PROCESSES, &run, one_run);
        kv.extend(
            metadata
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
        Self {
            path: path.to_path_buf(),
            run_ids: vec![run.run_id],
            row_runs: Vec::new(),
            runs_begun: (!one_run).then_some(0),
            file,
            metadata: kv,
            rows: Vec::new(),
        }
    }

    /// Starts the processes of `run` (a file from `create_dataset`).
    pub fn begin_run(&mut self, run: &RunInfo) {
        if let Some(n) = &mut self.runs_begun {
            *n += 1;
        }
        let current = self.run_ids.len() as i32 - 1;
        if self.row_runs.last() != Some(&current) {
            self.run_ids.pop();
        }
        self.run_ids.push(run.run_id.clone());
    }

    /// Appends one process of the current run.
    pub fn push(&mut self, row: ProcessRow) {
        self.row_runs.push(self.run_ids.len() as i32 - 1);
        self.rows.push(row);
    }

    /// The footer metadata so far.
    pub(crate) fn metadata(&self) -> &[KeyValue] {
        &self.metadata
    }

    /// Adds a footer key-value pair.
    pub fn add_metadata(&mut self, key: &str, value: impl Into<String>) {
        self.metadata
            .push(KeyValue::new(key.to_string(), value.into()));
    }

    /// Writes all rows and the footer. Returns the number of rows.
    pub fn close(self) -> Result<u64, SinkError> {
        let Self {
            path,
            run_ids,
            row_runs,
            runs_begun,
            file,
            mut metadata,
            rows,
        } = self;
        if let Some(runs) = runs_begun {
            metadata.push(KeyValue::new(meta::RUNS.into(), runs.to_string()));
        }
        let arrow_err = |source| SinkError::Arrow {
            path: path.clone(),
            source,
        };
        let n = rows.len();
        let mut ts_start = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut ts_exit = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut ppid = Int32Builder::with_capacity(n);
        let mut code = Int32Builder::with_capacity(n);
        let mut signal = Int32Builder::with_capacity(n);
        let mut comm = StringBuilder::new();
        let mut exe = StringBuilder::new();
        let mut argv = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(
            arrow::datatypes::Field::new("item", arrow::datatypes::DataType::Utf8, true),
        ));
        let mut followed = BooleanBuilder::with_capacity(n);
        let mut from_wait = BooleanBuilder::with_capacity(n);
        let mut pid = Vec::with_capacity(n);
        for r in &rows {
            followed.append_option(r.followed);
            from_wait.append_option(r.exit_from_wait);
            pid.push(r.pid);
            ppid.append_option(r.ppid);
            ts_start.append_option(r.start_ns);
            ts_exit.append_option(r.exit_ns);
            code.append_option(r.exit_code);
            signal.append_option(r.signal);
            comm.append_option(r.comm.as_deref());
            exe.append_option(r.exe.as_deref());
            match &r.argv {
                Some(a) => {
                    for s in a {
                        argv.values().append_value(s);
                    }
                    argv.append(true);
                }
                None => argv.append(false),
            }
        }
        let columns: Vec<ArrayRef> = vec![
            run_label_column(&run_ids, &row_runs, |r| Some(r.as_str())),
            Arc::new(Int32Array::from(pid)),
            Arc::new(ppid.finish()),
            Arc::new(ts_start.finish()),
            Arc::new(ts_exit.finish()),
            Arc::new(code.finish()),
            Arc::new(signal.finish()),
            Arc::new(comm.finish()),
            Arc::new(exe.finish()),
            Arc::new(argv.finish()),
            Arc::new(followed.finish()),
            Arc::new(from_wait.finish()),
        ];
        let batch = RecordBatch::try_new(processes_schema(), columns).map_err(arrow_err)?;
        let parquet_err = |source| SinkError::Parquet {
            path: path.clone(),
            source,
        };
        let mut writer =
            ArrowWriter::try_new(file, processes_schema(), Some(writer_properties(metadata)))
                .map_err(parquet_err)?;
        writer.write(&batch).map_err(parquet_err)?;
        writer.close().map_err(parquet_err)?;
        Ok(n as u64)
    }
}

/// Writes `rows` of `run` as one `processes` file into `file` with footer `metadata` (the
/// crash journal's process snapshots); `path` names it in errors. Returns the number of rows.
pub(crate) fn write_processes(
    file: File,
    path: &Path,
    run: &RunInfo,
    metadata: Vec<KeyValue>,
    rows: &[ProcessRow],
) -> Result<u64, SinkError> {
    let mut sink = ProcessSink::open(file, path, run.clone(), &[], true);
    sink.metadata = metadata;
    for r in rows {
        sink.push(r.clone());
    }
    sink.close()
}
