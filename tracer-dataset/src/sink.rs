//! Parquet writers for the `syscalls` and `processes` tables.
//!
//! `SyscallSink` owns its column builders, flushes an Arrow batch every `BATCH_ROWS` rows into
//! an `ArrowWriter` with explicit `WriterProperties`, and `close(self)` consumes it and writes
//! the footer with the final metadata (rows written, losses): a file is complete only once
//! closed, and closing cannot be forgotten silently.

use std::{
    fs::File,
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow::{
    array::{
        ArrayRef, DictionaryArray, FixedSizeListArray, Int32Array, Int32Builder, Int64Builder,
        ListBuilder, RecordBatch, StringArray, StringBuilder, StringDictionaryBuilder,
        TimestampNanosecondBuilder, UInt64Array,
    },
    buffer::NullBuffer,
    datatypes::Int32Type,
    error::ArrowError,
};
use parquet::{
    arrow::ArrowWriter,
    basic::{Compression, ZstdLevel},
    errors::ParquetError,
    file::{metadata::KeyValue, properties::WriterProperties},
    schema::types::ColumnPath,
};

use crate::{
    hash::KeyMap,
    schema::{self, ARG_COUNT, args_item_field, meta, processes_schema, syscalls_schema},
};

/// Rows buffered before an Arrow batch is handed to the Parquet writer (~2 MB of builders: the
/// writer's memory stays small while a capture runs).
pub const BATCH_ROWS: usize = 16 * 1024;
/// Rows per Parquet row group: large enough for good compression (pages are compressed one by
/// one anyway), small enough that readers can skip and parallelise and that the writer's
/// in-progress group stays a few MB.
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Errors while writing a dataset file.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The output file could not be created.
    #[error("cannot create {path}")]
    Create {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Encoding or writing Parquet failed.
    #[error("writing Parquet to {path}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ParquetError,
    },
    /// Building an Arrow batch failed.
    #[error("building an Arrow batch for {path}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ArrowError,
    },
}

/// What is constant for every row of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunInfo {
    /// The run's id.
    pub run_id: String,
    /// `ebpf`, `strace`, or an imported dataset's name.
    pub source: String,
    /// Experiment scenario, if any.
    pub scenario: Option<String>,
    /// Experiment mode (`ms`, `mr`), if any.
    pub mode: Option<String>,
}

/// One row of the `syscalls` table, borrowed from the producer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallRow<'a> {
    /// Order within the run.
    pub seq: u64,
    /// Wall-clock ns since the Unix epoch (UTC).
    pub ts_ns: Option<i64>,
    /// Entry-to-exit ns.
    pub duration_ns: Option<i64>,
    /// Process id (tgid).
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// Process name.
    pub comm: Option<&'a str>,
    /// Syscall name.
    pub syscall: &'a str,
    /// Syscall number.
    pub nr: i32,
    /// Argument registers.
    pub args: Option<[u64; 6]>,
    /// Return value; `None` when the call never returned.
    pub ret: Option<i64>,
    /// First path argument.
    pub path: Option<&'a str>,
}

/// A syscall name's key in one `SyscallSink`'s dictionary (see `SyscallSink::syscall_key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyscallKey(i32);

/// Streaming writer of one `syscalls` file.
pub struct SyscallSink {
    path: PathBuf,
    run: RunInfo,
    writer: ArrowWriter<File>,
    rows_written: u64,
    seq: Vec<u64>,
    ts: TimestampNanosecondBuilder,
    duration: Int64Builder,
    pid: Vec<i32>,
    tid: Vec<i32>,
    comm: StringDictionaryBuilder<Int32Type>,
    syscall_keys: Vec<i32>,
    syscall_names: Vec<String>,
    /// Dictionary keys of the syscall names, with the crate's fast hasher: one lookup per row.
    syscall_index: KeyMap<String, i32>,
    nr: Vec<i32>,
    args: Vec<u64>,
    args_valid: Vec<bool>,
    ret: Int64Builder,
    paths: StringBuilder,
}

fn writer_properties(kv: Vec<KeyValue>) -> WriterProperties {
    // Dictionary encoding pays for low-cardinality columns (names, ids); on unique-per-row
    // columns it only costs time before the writer falls back to plain encoding.
    let plain = [
        vec![schema::col::SEQ.to_string()],
        vec![schema::col::TS_NS.to_string()],
        vec![schema::col::DURATION_NS.to_string()],
        vec![schema::col::ARGS.to_string(), "list".into(), "item".into()],
    ];
    let mut builder = WriterProperties::builder();
    for path in plain {
        builder = builder.set_column_dictionary_enabled(ColumnPath::new(path), false);
    }
    builder
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("zstd level 1 is valid"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("syscall-tracer {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(kv))
        .build()
}

fn constant_dictionary(value: Option<&str>, rows: usize) -> ArrayRef {
    match value {
        Some(v) => Arc::new(DictionaryArray::<Int32Type>::new(
            Int32Array::from(vec![0; rows]),
            Arc::new(StringArray::from(vec![v])),
        )),
        None => Arc::new(DictionaryArray::<Int32Type>::new(
            Int32Array::new_null(rows),
            Arc::new(StringArray::from(Vec::<&str>::new())),
        )),
    }
}

/// Key-value pairs every file carries, before the producer's own.
fn base_metadata(table: &str, run: &RunInfo) -> Vec<KeyValue> {
    let mut kv = vec![
        KeyValue::new(
            meta::SCHEMA_VERSION.into(),
            schema::SCHEMA_VERSION.to_string(),
        ),
        KeyValue::new(
            meta::TRACER_VERSION.into(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        KeyValue::new(meta::TABLE.into(), table.to_string()),
        KeyValue::new(meta::RUN_ID.into(), run.run_id.clone()),
        KeyValue::new(meta::SOURCE.into(), run.source.clone()),
    ];
    if let Some(s) = &run.scenario {
        kv.push(KeyValue::new(meta::SCENARIO.into(), s.clone()));
    }
    if let Some(m) = &run.mode {
        kv.push(KeyValue::new(meta::MODE.into(), m.clone()));
    }
    kv
}

impl SyscallSink {
    /// Creates `path` (truncating it) and writes rows of `run` into it. `metadata` is stored in
    /// the footer beside the standard keys; more can be added before `close`.
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

    /// Writes rows of `run` into `file`, already created (see `run::RunFiles`); `path` names it
    /// in errors.
    pub fn from_file(
        file: File,
        path: &Path,
        run: RunInfo,
        metadata: &[(String, String)],
    ) -> Result<Self, SinkError> {
        let mut kv = base_metadata(schema::table::SYSCALLS, &run);
        kv.extend(
            metadata
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
        let writer = ArrowWriter::try_new(file, syscalls_schema(), Some(writer_properties(kv)))
            .map_err(|source| SinkError::Parquet {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            run,
            writer,
            rows_written: 0,
            seq: Vec::with_capacity(BATCH_ROWS),
            ts: TimestampNanosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            duration: Int64Builder::with_capacity(BATCH_ROWS),
            pid: Vec::with_capacity(BATCH_ROWS),
            tid: Vec::with_capacity(BATCH_ROWS),
            comm: StringDictionaryBuilder::new(),
            syscall_keys: Vec::with_capacity(BATCH_ROWS),
            syscall_names: Vec::new(),
            syscall_index: KeyMap::default(),
            nr: Vec::with_capacity(BATCH_ROWS),
            args: Vec::with_capacity(BATCH_ROWS * ARG_COUNT as usize),
            args_valid: Vec::with_capacity(BATCH_ROWS),
            ret: Int64Builder::with_capacity(BATCH_ROWS),
            paths: StringBuilder::new(),
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows pushed so far (written or buffered).
    pub fn rows(&self) -> u64 {
        self.rows_written + self.seq.len() as u64
    }

    /// The dictionary key of syscall name `name` in this file, adding the name if it is new.
    /// A producer that knows its names up front (the capture, by syscall number) looks each one
    /// up once and hands the key to `push_keyed`, so rows are not hashed by name.
    pub fn syscall_key(&mut self, name: &str) -> SyscallKey {
        if let Some(k) = self.syscall_index.get(name) {
            return SyscallKey(*k);
        }
        let k = self.syscall_names.len() as i32;
        self.syscall_names.push(name.to_string());
        self.syscall_index.insert(name.to_string(), k);
        SyscallKey(k)
    }

    /// Appends one row; flushes a batch when `BATCH_ROWS` are buffered.
    pub fn push(&mut self, row: &SyscallRow<'_>) -> Result<(), SinkError> {
        let key = self.syscall_key(row.syscall);
        self.push_keyed(row, key)
    }

    /// Appends one row whose name is `key` (from `syscall_key` of this sink; `row.syscall` is
    /// not read); flushes a batch when `BATCH_ROWS` are buffered.
    pub fn push_keyed(&mut self, row: &SyscallRow<'_>, key: SyscallKey) -> Result<(), SinkError> {
        debug_assert!(
            (key.0 as usize) < self.syscall_names.len(),
            "key of another sink"
        );
        self.seq.push(row.seq);
        self.ts.append_option(row.ts_ns);
        self.duration.append_option(row.duration_ns);
        self.pid.push(row.pid);
        self.tid.push(row.tid);
        match row.comm {
            Some(c) => {
                self.comm.append_value(c);
            }
            None => self.comm.append_null(),
        }
        self.syscall_keys.push(key.0);
        self.nr.push(row.nr);
        match row.args {
            Some(a) => {
                self.args.extend_from_slice(&a);
                self.args_valid.push(true);
            }
            None => {
                self.args.extend_from_slice(&[0; 6]);
                self.args_valid.push(false);
            }
        }
        self.ret.append_option(row.ret);
        self.paths.append_option(row.path);
        if self.seq.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Adds a footer key-value pair (written at `close`).
    pub fn add_metadata(&mut self, key: &str, value: impl Into<String>) {
        self.writer
            .append_key_value_metadata(KeyValue::new(key.to_string(), value.into()));
    }

    fn arrow_err(&self, source: ArrowError) -> SinkError {
        SinkError::Arrow {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes the buffered rows as one batch.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        let rows = self.seq.len();
        if rows == 0 {
            return Ok(());
        }
        let names = StringArray::from_iter_values(self.syscall_names.iter());
        let syscall = DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(std::mem::take(&mut self.syscall_keys)),
            Arc::new(names),
        )
        .map_err(|e| self.arrow_err(e))?;
        let args_valid = std::mem::take(&mut self.args_valid);
        let nulls = if args_valid.iter().all(|v| *v) {
            None
        } else {
            Some(NullBuffer::from(args_valid))
        };
        let args = FixedSizeListArray::try_new(
            args_item_field(),
            ARG_COUNT,
            Arc::new(UInt64Array::from(std::mem::take(&mut self.args))),
            nulls,
        )
        .map_err(|e| self.arrow_err(e))?;
        let columns: Vec<ArrayRef> = vec![
            constant_dictionary(Some(&self.run.run_id), rows),
            constant_dictionary(Some(&self.run.source), rows),
            constant_dictionary(self.run.scenario.as_deref(), rows),
            constant_dictionary(self.run.mode.as_deref(), rows),
            Arc::new(UInt64Array::from(std::mem::take(&mut self.seq))),
            Arc::new(self.ts.finish()),
            Arc::new(self.duration.finish()),
            Arc::new(Int32Array::from(std::mem::take(&mut self.pid))),
            Arc::new(Int32Array::from(std::mem::take(&mut self.tid))),
            Arc::new(self.comm.finish()),
            Arc::new(syscall),
            Arc::new(Int32Array::from(std::mem::take(&mut self.nr))),
            Arc::new(args),
            Arc::new(self.ret.finish()),
            Arc::new(self.paths.finish()),
        ];
        let batch =
            RecordBatch::try_new(syscalls_schema(), columns).map_err(|e| self.arrow_err(e))?;
        self.writer
            .write(&batch)
            .map_err(|source| SinkError::Parquet {
                path: self.path.clone(),
                source,
            })?;
        self.rows_written += rows as u64;
        self.seq.reserve(BATCH_ROWS);
        self.pid.reserve(BATCH_ROWS);
        self.tid.reserve(BATCH_ROWS);
        self.nr.reserve(BATCH_ROWS);
        self.syscall_keys.reserve(BATCH_ROWS);
        self.args.reserve(BATCH_ROWS * ARG_COUNT as usize);
        self.args_valid.reserve(BATCH_ROWS);
        Ok(())
    }

    /// Flushes, records `events_written`, writes the footer and closes the file. Returns the
    /// number of rows in the file.
    pub fn close(mut self) -> Result<u64, SinkError> {
        self.flush()?;
        let rows = self.rows_written;
        self.add_metadata(meta::EVENTS_WRITTEN, rows.to_string());
        let path = self.path.clone();
        self.writer
            .close()
            .map_err(|source| SinkError::Parquet { path, source })?;
        Ok(rows)
    }
}

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
}

/// Writer of one `processes` file; the table is small, so rows are kept until `close`.
pub struct ProcessSink {
    path: PathBuf,
    run: RunInfo,
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
        let mut kv = base_metadata(schema::table::PROCESSES, &run);
        kv.extend(
            metadata
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
        Ok(Self {
            path: path.to_path_buf(),
            run,
            file,
            metadata: kv,
            rows: Vec::new(),
        })
    }

    /// Appends one process.
    pub fn push(&mut self, row: ProcessRow) {
        self.rows.push(row);
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
            run,
            file,
            metadata,
            rows,
        } = self;
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
        let mut pid = Vec::with_capacity(n);
        for r in &rows {
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
            constant_dictionary(Some(&run.run_id), n),
            Arc::new(Int32Array::from(pid)),
            Arc::new(ppid.finish()),
            Arc::new(ts_start.finish()),
            Arc::new(ts_exit.finish()),
            Arc::new(code.finish()),
            Arc::new(signal.finish()),
            Arc::new(comm.finish()),
            Arc::new(exe.finish()),
            Arc::new(argv.finish()),
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
