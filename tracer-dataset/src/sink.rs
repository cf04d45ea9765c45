//! Parquet writers for the `syscalls` and `processes` tables.
//!
//! `SyscallSink` owns its column builders, flushes an Arrow batch every `BATCH_ROWS` rows into
//! an `ArrowWriter` with explicit `WriterProperties`, and `close(self)` consumes it and writes
//! the footer with the final metadata (rows written, losses): a file is complete only once
//! closed, and closing cannot be forgotten silently. A journaled sink (`SyscallSink::journaled`)
//! writes its rows as the self-contained parts of a crash journal instead (`journal`), cut by
//! `cut`; its `close` ends the last part with the final footer.
//!
//! A file holds one run (`create`, the capture's and strace ingest's case) or many
//! (`create_dataset`, an imported dataset: `begin_run` before each run's rows, `end_row_group`
//! where a reader should be able to skip, such as between splits). The run-level columns
//! (`run_id`, `source`, `scenario`, `mode`) are dictionaries with one entry per run of a batch,
//! so rows of one run share a dictionary key.

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
    basic::{Compression, Encoding, ZstdLevel},
    errors::ParquetError,
    file::{
        metadata::KeyValue,
        properties::{EnabledStatistics, WriterProperties},
    },
    schema::types::ColumnPath,
};

pub use crate::process_sink::{ProcessRow, ProcessSink};
use crate::{
    hash::KeyMap,
    journal::{Journal, PartSink},
    outdir::OutError,
    schema::{self, ARG_COUNT, args_item_field, meta, syscalls_schema},
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
    /// Creating, linking or placing an output file failed.
    #[error(transparent)]
    Output(#[from] OutError),
    /// A crash journal of an earlier capture is where this one's would go.
    #[error(
        "{0} holds the crash journal of an earlier capture: make it a file with `tracer recover \
         {0}`, or remove it"
    )]
    JournalExists(PathBuf),
    /// Something else than a folder is where the crash journal goes (a link, a file).
    #[error(
        "{0} is in the way of the capture's crash journal (it is not a folder: a link?); remove \
         it"
    )]
    JournalInTheWay(PathBuf),
    /// No crash journal where one was looked for.
    #[error("{0}: no crash journal with parts to recover")]
    NoJournal(PathBuf),
    /// A journal part was replaced by someone else during the capture.
    #[error("{0} was replaced during the capture")]
    PartReplaced(PathBuf),
}

impl SinkError {
    /// The operating-system error at the root of this one, if any (ENOSPC, EIO, ...).
    pub fn os_error(&self) -> Option<&std::io::Error> {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return Some(io);
            }
            if let Some(ParquetError::External(inner)) = e.downcast_ref::<ParquetError>()
                && let Some(io) = inner.downcast_ref::<std::io::Error>()
            {
                return Some(io);
            }
            source = e.source();
        }
        None
    }
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

/// The columns of a `syscalls` row that only captures fill (see `SyscallSink::push_keyed_with`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallExtra<'a> {
    /// `x86_64`, `i386`, `x32`.
    pub abi: Option<&'a str>,
    /// Second path argument.
    pub path2: Option<&'a str>,
    /// Socket address family.
    pub sock_family: Option<&'a str>,
    /// Socket address.
    pub sock_addr: Option<&'a str>,
    /// Socket port.
    pub sock_port: Option<i32>,
    /// `schema::mark` bits.
    pub marks: u32,
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

impl SyscallKey {
    /// No name: the row's `syscall` is null.
    pub const NONE: SyscallKey = SyscallKey(-1);
}

/// The values of the `abi` column (the last stands for any other).
const ABIS: [&str; 5] = ["x86_64", "i386", "x32", "aarch64", "other"];

/// The `abi` column of one batch from its keys into `ABIS` (-1: null).
fn abi_column(keys: Vec<i32>) -> Result<DictionaryArray<Int32Type>, ArrowError> {
    DictionaryArray::try_new(
        nullable_keys(keys),
        Arc::new(StringArray::from_iter_values(ABIS)),
    )
}

/// Dictionary keys from `keys`, where -1 stands for null.
fn nullable_keys(keys: Vec<i32>) -> Int32Array {
    if keys.iter().all(|k| *k >= 0) {
        Int32Array::from(keys)
    } else {
        keys.into_iter().map(|k| (k >= 0).then_some(k)).collect()
    }
}

/// The values of a dictionary column: strings keyed in order of first use.
#[derive(Default)]
struct Names {
    names: Vec<String>,
    index: KeyMap<String, i32>,
    /// The key found last. A column's consecutive rows mostly repeat a name (one thread's
    /// calls, one process's name), found with one compare instead of a hash; any value is
    /// safe, as the key is only taken when its name is the one asked for.
    last: usize,
}

impl Names {
    /// The key of `name`, added if new.
    fn key(&mut self, name: &str) -> i32 {
        if self.names.get(self.last).is_some_and(|n| n == name) {
            return self.last as i32;
        }
        let key = match self.index.get(name) {
            Some(&k) => k,
            None => {
                let k = self.names.len() as i32;
                self.names.push(name.to_string());
                self.index.insert(name.to_string(), k);
                k
            }
        };
        self.last = key as usize;
        key
    }

    fn len(&self) -> usize {
        self.names.len()
    }

    /// The names, by key.
    fn values(&self) -> StringArray {
        StringArray::from_iter_values(self.names.iter())
    }

    fn clear(&mut self) {
        self.names.clear();
        self.index.clear();
    }
}

/// A builder of the `marks` column's lists, typed as `schema::marks_type`.
fn marks_builder() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new()).with_field(Arc::new(arrow::datatypes::Field::new(
        "item",
        arrow::datatypes::DataType::Utf8,
        false,
    )))
}

/// Where a `SyscallSink`'s batches go.
enum Dest {
    /// One file, complete at `close`.
    File(Box<ArrowWriter<File>>),
    /// The parts of a crash journal.
    Journal(Box<PartSink>),
}

/// Streaming writer of one `syscalls` file.
pub struct SyscallSink {
    path: PathBuf,
    /// The runs of the buffered rows; the last is the run being written.
    runs: Vec<RunInfo>,
    /// Per buffered row: its run's index in `runs`.
    run_keys: Vec<i32>,
    /// Runs begun with `begin_run` (a dataset file), written as `meta::RUNS` at close.
    runs_begun: Option<u64>,
    /// Rows pushed before the current run of a `next_run` file.
    run_start_row: u64,
    dest: Dest,
    rows_written: u64,
    seq: Vec<u64>,
    ts: TimestampNanosecondBuilder,
    duration: Int64Builder,
    pid: Vec<i32>,
    tid: Vec<i32>,
    /// Per row, its `comm`'s key into `comm_names` (-1: null).
    comm_keys: Vec<i32>,
    /// The batch's process names (a new dictionary each batch).
    comm_names: Names,
    syscall_keys: Vec<i32>,
    /// The file's syscall names (one dictionary for every batch).
    syscall_names: Names,
    nr: Vec<i32>,
    args: Vec<u64>,
    args_valid: Vec<bool>,
    ret: Int64Builder,
    paths: StringBuilder,
    /// Keys into `ABIS` (-1: null): a row's ABI is one of a handful, so no string is hashed
    /// per row.
    abi_keys: Vec<i32>,
    paths2: StringBuilder,
    sock_family: StringDictionaryBuilder<Int32Type>,
    sock_addr: StringBuilder,
    sock_port: Int32Builder,
    marks: ListBuilder<StringBuilder>,
    /// Whether a row of the batch being built has a capture-only column set; until one does,
    /// the builders above are untouched and the batch gets null columns at flush (no work per
    /// row for the columns most rows leave null).
    extras_active: bool,
}

pub(crate) fn writer_properties(kv: Vec<KeyValue>) -> WriterProperties {
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
    // The six argument registers of every call in one list: a minimum and maximum over
    // pointers, counts and flags together selects nothing, and computing them was a few
    // percent of the writer's time.
    builder = builder.set_column_statistics_enabled(
        ColumnPath::new(vec![
            schema::col::ARGS.to_string(),
            "list".into(),
            "item".into(),
        ]),
        EnabledStatistics::None,
    );
    // A row's seq is its predecessor's plus one and its time a few hundred nanoseconds later:
    // delta encoding stores them in a few bits each, leaving zstd almost nothing to do (plain,
    // they were a quarter of the writer's compression time on a syscall storm).
    for col in [
        schema::col::SEQ,
        schema::col::TS_NS,
        schema::col::DURATION_NS,
    ] {
        builder = builder.set_column_encoding(
            ColumnPath::new(vec![col.to_string()]),
            Encoding::DELTA_BINARY_PACKED,
        );
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

/// The rows of `v`, leaving it empty with room for the next batch's (a taken vector's buffer
/// goes into an Arrow array; growing a new one from nothing again cost a dozen reallocations and
/// copies per column per batch).
fn fresh<T>(v: &mut Vec<T>) -> Vec<T> {
    let room = v.len().max(BATCH_ROWS);
    std::mem::replace(v, Vec::with_capacity(room))
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

/// A dictionary column of one label per run: `keys[i]` is row i's index into `runs`, `label`
/// picks the run's value. Equal values share one dictionary entry.
pub(crate) fn run_label_column<R>(
    runs: &[R],
    keys: &[i32],
    label: impl Fn(&R) -> Option<&str>,
) -> ArrayRef {
    if let [only] = runs {
        return constant_dictionary(label(only), keys.len());
    }
    let mut values: Vec<&str> = Vec::new();
    let mut index: std::collections::HashMap<&str, i32> = std::collections::HashMap::new();
    let entry: Vec<Option<i32>> = runs
        .iter()
        .map(|r| {
            label(r).map(|v| {
                *index.entry(v).or_insert_with(|| {
                    values.push(v);
                    values.len() as i32 - 1
                })
            })
        })
        .collect();
    let keys: Int32Array = keys.iter().map(|&k| entry[k as usize]).collect();
    Arc::new(DictionaryArray::<Int32Type>::new(
        keys,
        Arc::new(StringArray::from(values)),
    ))
}

/// Key-value pairs every file carries, before the producer's own: the run's identity for a
/// one-run file, the source alone for a dataset file.
pub(crate) fn base_metadata(table: &str, run: &RunInfo, one_run: bool) -> Vec<KeyValue> {
    if !one_run {
        return vec![
            KeyValue::new(
                meta::SCHEMA_VERSION.into(),
                schema::SCHEMA_VERSION.to_string(),
            ),
            KeyValue::new(
                meta::TRACER_VERSION.into(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
            KeyValue::new(meta::TABLE.into(), table.to_string()),
            KeyValue::new(meta::SOURCE.into(), run.source.clone()),
        ];
    }
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
        Self::open(file, path, run, metadata, true)
    }

    /// Creates `path` (truncating it) for the rows of many runs of `source`: call `begin_run`
    /// before each run's rows. The footer names no run; it counts them (`meta::RUNS`).
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
        Self::open(file, path, run, metadata, false)
    }

    /// Writes rows of `run` as the parts of `journal` (see `journal`); `path` is the file the
    /// capture becomes, for messages. Every part carries the standard keys and `metadata`.
    pub fn journaled(
        journal: std::sync::Arc<Journal>,
        path: &Path,
        run: RunInfo,
        metadata: &[(String, String)],
    ) -> Self {
        let kv = Self::header(&run, metadata, true);
        Self::with_dest(
            path,
            run,
            true,
            Dest::Journal(Box::new(PartSink::new(journal, kv))),
        )
    }

    fn header(run: &RunInfo, metadata: &[(String, String)], one_run: bool) -> Vec<KeyValue> {
        let mut kv = base_metadata(schema::table::SYSCALLS, run, one_run);
        kv.extend(
            metadata
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
        kv
    }

    fn open(
        file: File,
        path: &Path,
        run: RunInfo,
        metadata: &[(String, String)],
        one_run: bool,
    ) -> Result<Self, SinkError> {
        let kv = Self::header(&run, metadata, one_run);
        let writer = ArrowWriter::try_new(file, syscalls_schema(), Some(writer_properties(kv)))
            .map_err(|source| SinkError::Parquet {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self::with_dest(
            path,
            run,
            one_run,
            Dest::File(Box::new(writer)),
        ))
    }

    fn with_dest(path: &Path, run: RunInfo, one_run: bool, dest: Dest) -> Self {
        Self {
            path: path.to_path_buf(),
            runs: vec![run],
            run_keys: Vec::with_capacity(BATCH_ROWS),
            runs_begun: (!one_run).then_some(0),
            run_start_row: 0,
            dest,
            rows_written: 0,
            seq: Vec::with_capacity(BATCH_ROWS),
            ts: TimestampNanosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            duration: Int64Builder::with_capacity(BATCH_ROWS),
            pid: Vec::with_capacity(BATCH_ROWS),
            tid: Vec::with_capacity(BATCH_ROWS),
            comm_keys: Vec::with_capacity(BATCH_ROWS),
            comm_names: Names::default(),
            syscall_keys: Vec::with_capacity(BATCH_ROWS),
            syscall_names: Names::default(),
            nr: Vec::with_capacity(BATCH_ROWS),
            args: Vec::with_capacity(BATCH_ROWS * ARG_COUNT as usize),
            args_valid: Vec::with_capacity(BATCH_ROWS),
            ret: Int64Builder::with_capacity(BATCH_ROWS),
            paths: StringBuilder::new(),
            abi_keys: Vec::with_capacity(BATCH_ROWS),
            paths2: StringBuilder::new(),
            sock_family: StringDictionaryBuilder::new(),
            sock_addr: StringBuilder::new(),
            sock_port: Int32Builder::new(),
            marks: marks_builder(),
            extras_active: false,
        }
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows pushed so far (written or buffered).
    pub fn rows(&self) -> u64 {
        self.rows_written + self.seq.len() as u64
    }

    /// Starts the rows of `run` (a file from `create_dataset`; in a one-run file this relabels
    /// the rows that follow). A run's rows must be pushed together, in `seq` order.
    pub fn begin_run(&mut self, run: RunInfo) {
        if let Some(n) = &mut self.runs_begun {
            *n += 1;
        }
        let current = self.runs.len() as i32 - 1;
        if self.run_keys.last() != Some(&current) {
            // The run being replaced has no buffered rows: it needs no dictionary entry.
            self.runs.pop();
        }
        self.runs.push(run);
    }

    /// Ends the current row group after the rows pushed so far, so that a reader can skip what
    /// came before and what comes after separately (one group per split of a dataset).
    pub fn end_row_group(&mut self) -> Result<(), SinkError> {
        self.flush()?;
        match &mut self.dest {
            Dest::File(w) => w.flush().map_err(|source| SinkError::Parquet {
                path: self.path.clone(),
                source,
            }),
            // Each journal part is a file of its own.
            Dest::Journal(_) => Ok(()),
        }
    }

    /// The dictionary key of syscall name `name` in this file, adding the name if it is new.
    /// A producer that knows its names up front (the capture, by syscall number) looks each one
    /// up once and hands the key to `push_keyed`, so rows are not hashed by name.
    pub fn syscall_key(&mut self, name: &str) -> SyscallKey {
        SyscallKey(self.syscall_names.key(name))
    }

    /// Appends one row; flushes a batch when `BATCH_ROWS` are buffered.
    pub fn push(&mut self, row: &SyscallRow<'_>) -> Result<(), SinkError> {
        let key = self.syscall_key(row.syscall);
        self.push_keyed(row, key)
    }

    /// Appends one row with the capture-only columns of `extra`; an empty `row.syscall` is a
    /// call without a name (`syscall` null), as a reader gives it back.
    pub fn push_with(
        &mut self,
        row: &SyscallRow<'_>,
        extra: &SyscallExtra<'_>,
    ) -> Result<(), SinkError> {
        let key = if row.syscall.is_empty() {
            SyscallKey::NONE
        } else {
            self.syscall_key(row.syscall)
        };
        self.push_keyed_with(row, key, extra)
    }

    /// Appends one row whose name is `key` (from `syscall_key` of this sink; `row.syscall` is
    /// not read); flushes a batch when `BATCH_ROWS` are buffered.
    pub fn push_keyed(&mut self, row: &SyscallRow<'_>, key: SyscallKey) -> Result<(), SinkError> {
        self.push_keyed_with(row, key, &SyscallExtra::default())
    }

    /// Appends one row with the capture-only columns of `extra`; `key` as in `push_keyed`, or
    /// `SyscallKey::NONE` for a call without a name (a number in no table: `syscall` null).
    pub fn push_keyed_with(
        &mut self,
        row: &SyscallRow<'_>,
        key: SyscallKey,
        extra: &SyscallExtra<'_>,
    ) -> Result<(), SinkError> {
        debug_assert!(
            key == SyscallKey::NONE || (key.0 as usize) < self.syscall_names.len(),
            "key of another sink"
        );
        if !self.extras_active {
            if *extra == SyscallExtra::default() {
                return self.push_common(row, key);
            }
            // The first row of the batch with one: the rows before it get their nulls now.
            let before = self.seq.len();
            self.abi_keys.resize(before, -1);
            for _ in 0..before {
                self.paths2.append_null();
                self.sock_family.append_null();
                self.sock_addr.append_null();
                self.sock_port.append_null();
                self.marks.append_null();
            }
            self.extras_active = true;
        }
        self.abi_keys.push(match extra.abi {
            Some(a) => ABIS
                .iter()
                .position(|k| *k == a)
                .map_or(ABIS.len() as i32 - 1, |i| i as i32),
            None => -1,
        });
        self.paths2.append_option(extra.path2);
        match extra.sock_family {
            Some(f) => {
                self.sock_family.append_value(f);
            }
            None => self.sock_family.append_null(),
        }
        self.sock_addr.append_option(extra.sock_addr);
        self.sock_port.append_option(extra.sock_port);
        if extra.marks == 0 {
            self.marks.append_null();
        } else {
            for (bit, name) in schema::mark::NAMES {
                if extra.marks & bit != 0 {
                    self.marks.values().append_value(name);
                }
            }
            self.marks.append(true);
        }
        self.push_common(row, key)
    }

    /// Appends the columns every row has.
    fn push_common(&mut self, row: &SyscallRow<'_>, key: SyscallKey) -> Result<(), SinkError> {
        self.run_keys.push(self.runs.len() as i32 - 1);
        self.seq.push(row.seq);
        self.ts.append_option(row.ts_ns);
        self.duration.append_option(row.duration_ns);
        self.pid.push(row.pid);
        self.tid.push(row.tid);
        let comm = match row.comm {
            Some(c) => self.comm_names.key(c),
            None => -1,
        };
        self.comm_keys.push(comm);
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

    /// The `comm` column of the buffered rows; the next batch starts a new dictionary.
    fn take_comm(&mut self) -> Result<DictionaryArray<Int32Type>, ArrowError> {
        let keys = nullable_keys(fresh(&mut self.comm_keys));
        let names = self.comm_names.values();
        self.comm_names.clear();
        DictionaryArray::try_new(keys, Arc::new(names))
    }

    /// Continues the file with the rows of another run: the rows pushed so far are flushed as
    /// a batch labelled with the current run, the rows pushed next are labelled `run`. Readers
    /// take runs from the label columns; the footer's run keys (`meta::RUN_ID`, ...) keep naming
    /// the first run, so `meta::RUNS` (written at `close`) says how many the file holds.
    /// A run without rows is not counted.
    pub fn next_run(&mut self, run: RunInfo) -> Result<(), SinkError> {
        if self.rows() > self.run_start_row {
            self.runs_begun = Some(self.runs_begun.unwrap_or(1) + 1);
            self.run_start_row = self.rows();
        }
        // Relabel the rows that follow (`begin_run` counts only for `create_dataset` files).
        let counted = self.runs_begun;
        self.begin_run(run);
        self.runs_begun = counted;
        Ok(())
    }

    /// Adds a footer key-value pair (written at `close`).
    pub fn add_metadata(&mut self, key: &str, value: impl Into<String>) {
        let kv = KeyValue::new(key.to_string(), value.into());
        match &mut self.dest {
            Dest::File(w) => w.append_key_value_metadata(kv),
            Dest::Journal(j) => j.add_footer(kv),
        }
    }

    /// The crash journal the rows go to, for a journaled sink.
    pub fn journal(&self) -> Option<&std::sync::Arc<Journal>> {
        match &self.dest {
            Dest::File(_) => None,
            Dest::Journal(j) => Some(j.journal()),
        }
    }

    /// Journaled: writes the rows so far as a closed part of the journal (synced to disk), so
    /// that a crash from here on keeps them. Without a journal: nothing.
    pub fn cut(&mut self) -> Result<(), SinkError> {
        if matches!(self.dest, Dest::File(_)) {
            return Ok(());
        }
        self.flush()?;
        match &mut self.dest {
            Dest::File(_) => Ok(()),
            Dest::Journal(j) => j.cut(&self.path),
        }
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
        let names = self.syscall_names.values();
        let keys = nullable_keys(fresh(&mut self.syscall_keys));
        let syscall = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(names))
            .map_err(|e| self.arrow_err(e))?;
        let args_valid = fresh(&mut self.args_valid);
        let nulls = if args_valid.iter().all(|v| *v) {
            None
        } else {
            Some(NullBuffer::from(args_valid))
        };
        let args = FixedSizeListArray::try_new(
            args_item_field(),
            ARG_COUNT,
            Arc::new(UInt64Array::from(fresh(&mut self.args))),
            nulls,
        )
        .map_err(|e| self.arrow_err(e))?;
        let keys = fresh(&mut self.run_keys);
        let columns: Vec<ArrayRef> = vec![
            run_label_column(&self.runs, &keys, |r| Some(r.run_id.as_str())),
            run_label_column(&self.runs, &keys, |r| Some(r.source.as_str())),
            run_label_column(&self.runs, &keys, |r| r.scenario.as_deref()),
            run_label_column(&self.runs, &keys, |r| r.mode.as_deref()),
            Arc::new(UInt64Array::from(fresh(&mut self.seq))),
            Arc::new(self.ts.finish()),
            Arc::new(self.duration.finish()),
            Arc::new(Int32Array::from(fresh(&mut self.pid))),
            Arc::new(Int32Array::from(fresh(&mut self.tid))),
            Arc::new(self.take_comm().map_err(|e| self.arrow_err(e))?),
            Arc::new(syscall),
            Arc::new(Int32Array::from(fresh(&mut self.nr))),
            Arc::new(args),
            Arc::new(self.ret.finish()),
            Arc::new(self.paths.finish()),
        ];
        let mut columns = columns;
        if std::mem::take(&mut self.extras_active) {
            columns.extend([
                Arc::new(abi_column(fresh(&mut self.abi_keys)).map_err(|e| self.arrow_err(e))?)
                    as ArrayRef,
                Arc::new(self.paths2.finish()),
                Arc::new(self.sock_family.finish()),
                Arc::new(self.sock_addr.finish()),
                Arc::new(self.sock_port.finish()),
                Arc::new(self.marks.finish()),
            ]);
        } else {
            let schema = syscalls_schema();
            for name in [
                schema::col::ABI,
                schema::col::PATH2,
                schema::col::SOCK_FAMILY,
                schema::col::SOCK_ADDR,
                schema::col::SOCK_PORT,
                schema::col::MARKS,
            ] {
                let field = schema
                    .field_with_name(name)
                    .map_err(|e| self.arrow_err(e))?;
                columns.push(arrow::array::new_null_array(field.data_type(), rows));
            }
        }
        let batch =
            RecordBatch::try_new(syscalls_schema(), columns).map_err(|e| self.arrow_err(e))?;
        match &mut self.dest {
            Dest::File(w) => w.write(&batch).map_err(|source| SinkError::Parquet {
                path: self.path.clone(),
                source,
            })?,
            Dest::Journal(j) => j.write(&batch, &self.path)?,
        }
        self.rows_written += rows as u64;
        // The next batch starts with the current run alone.
        let current = self.runs.pop().expect("a sink always has a current run");
        self.runs.clear();
        self.runs.push(current);
        self.run_keys.reserve(BATCH_ROWS);
        self.seq.reserve(BATCH_ROWS);
        self.pid.reserve(BATCH_ROWS);
        self.tid.reserve(BATCH_ROWS);
        self.nr.reserve(BATCH_ROWS);
        self.syscall_keys.reserve(BATCH_ROWS);
        self.args.reserve(BATCH_ROWS * ARG_COUNT as usize);
        self.args_valid.reserve(BATCH_ROWS);
        self.abi_keys.reserve(BATCH_ROWS);
        Ok(())
    }

    /// Flushes, records `events_written`, writes the footer and closes the file. Returns the
    /// number of rows in the file.
    pub fn close(mut self) -> Result<u64, SinkError> {
        self.flush()?;
        let rows = self.rows_written;
        self.add_metadata(meta::EVENTS_WRITTEN, rows.to_string());
        if let Some(runs) = self.runs_begun {
            self.add_metadata(meta::RUNS, runs.to_string());
        }
        let path = self.path.clone();
        match self.dest {
            Dest::File(w) => {
                w.close()
                    .map_err(|source| SinkError::Parquet { path, source })?;
            }
            Dest::Journal(j) => j.close(&path)?,
        }
        Ok(rows)
    }
}
