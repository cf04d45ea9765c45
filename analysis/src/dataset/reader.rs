//! Streaming reader of the `syscalls` table: resolves a file, folder or glob into files, and feeds
//! the rows of each selected run to a `RowConsumer`, projecting only the columns the metrics need
//! (seq, pid, tid, syscall; the run labels when the footer does not name the run).
//!
//! Ordering: windows need each run's rows in `seq` order. Writers emit rows in that order, so the
//! reader checks rather than sorts, and the check costs no extra pass where it can be avoided:
//! - A file whose footer proves it holds one run (`footer::FileSummary`, decoded once by
//!   `Dataset::open`) is skipped without being opened when the run is not selected. A selected
//!   one that fits one batch is read in one go (the whole file with one read), its `seq` checked
//!   in memory, sorted there if needed, and fed: one decode per file and no label columns.
//!   `pid` and `tid` are not read when the footer shows one value throughout.
//! - Any other file (several runs, or labels the footer cannot prove, or more rows than a
//!   batch) gets a light first pass over the labels and `seq`, once per `Dataset` (later scans
//!   reuse it): which runs it holds, at which rows, and whether every run is contiguous with a
//!   `seq` that never decreases. An ordered file is then streamed batch by batch (memory: one
//!   batch) reading only the rows of selected runs (a row selection, so pages of other runs are
//!   skipped undecoded) and no label columns. A file that fails the check is loaded (the
//!   projected columns only, about 24 bytes per row), sorted by run and `seq`, and fed the same
//!   way: memory proportional to that one file.

use std::{
    cell::OnceCell,
    collections::HashSet,
    fs::File,
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow::{
    array::{Array, ArrayRef, AsArray, RecordBatch},
    compute::cast,
    datatypes::{DataType, Int32Type, UInt64Type},
};
use bytes::Bytes;
use parquet::{
    arrow::{
        ProjectionMask,
        arrow_reader::{
            ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
            RowSelector,
        },
    },
    file::reader::ChunkReader,
};
use tracer_dataset::{
    col,
    layout::{self, LayoutError},
    table,
};

use super::{
    footer::{self, FileSummary},
    select::{RunMeta, Selection},
    sorted,
};
use crate::{
    error::AnalysisError,
    intern::{Interner, SyscallId},
};

/// Rows per Arrow batch handed to consumers.
pub const BATCH_ROWS: usize = 64 * 1024;

/// Files up to this size are read with one `read` and decoded from memory.
const WHOLE_FILE_BYTES: u64 = 8 << 20;

/// A contiguous slice of one run's rows, in `seq` order, syscalls interned.
#[derive(Clone, Copy, Debug)]
pub struct RowChunk<'a> {
    /// Order within the run.
    pub seq: &'a [u64],
    /// Process ids.
    pub pid: &'a [i32],
    /// Thread ids.
    pub tid: &'a [i32],
    /// Interned syscall names.
    pub syscall: &'a [SyscallId],
}

impl RowChunk<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.seq.len()
    }

    /// Whether the chunk has no row.
    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }
}

/// Receives the rows of each selected run: `begin_run`, any number of `rows`, `end_run`.
pub trait RowConsumer {
    /// A run starts; its rows follow.
    fn begin_run(&mut self, run: &RunMeta) -> Result<(), AnalysisError>;
    /// Rows of the current run, in `seq` order.
    fn rows(&mut self, chunk: &RowChunk<'_>);
    /// The current run has no more rows.
    fn end_run(&mut self) -> Result<(), AnalysisError>;
}

/// What a scan read.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScanStats {
    /// Files read.
    pub files: usize,
    /// Files skipped, after the footer or the first pass, because none of their runs is selected.
    pub files_without_selected_runs: usize,
    /// Rows decoded (skipped files and skipped runs of a file excluded).
    pub rows_read: u64,
    /// Rows of selected runs.
    pub rows_selected: u64,
    /// Runs handed to the consumer.
    pub runs_selected: usize,
    /// Files that were not in (run, seq) order and were sorted in memory.
    pub files_sorted_in_memory: usize,
}

/// One run of a file found by the first pass: its labels and rows `start..end`.
#[derive(Clone, Debug)]
struct RunSpan {
    meta: RunMeta,
    start: u64,
    end: u64,
}

/// What the first pass over a file's labels and `seq` found.
#[derive(Clone, Debug)]
struct FileRuns {
    /// Every run is contiguous and its `seq` never decreases.
    ordered: bool,
    /// The runs in order of first appearance; their row spans are meaningful when `ordered`.
    runs: Vec<RunSpan>,
}

/// A `syscalls` file and what is known about it.
#[derive(Clone, Debug, Default)]
struct Entry {
    /// From the footer; `None` for `Dataset::from_files` (nothing assumed).
    summary: Option<FileSummary>,
    /// The first pass, made by the first scan that needs it.
    runs: OnceCell<FileRuns>,
}

/// The `syscalls` files of a dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    files: Vec<PathBuf>,
    entries: Vec<Entry>,
    footers: footer::FooterReader,
}

fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn layout_err(e: LayoutError) -> AnalysisError {
    match e {
        LayoutError::Io {
            action,
            path,
            source,
        } => AnalysisError::io(action, path, source),
        LayoutError::NotFound(path) => AnalysisError::io(
            "reading",
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ),
    }
}

impl Dataset {
    /// Resolves inputs (each a Parquet file, a folder searched recursively for `*.parquet`, or a
    /// glob) into the files holding the `syscalls` table; `processes` files are skipped. Each
    /// footer is decoded here, once (see the module docs).
    pub fn open<S: AsRef<str>>(inputs: &[S]) -> Result<Self, AnalysisError> {
        let mut candidates = Vec::new();
        for input in inputs {
            let input = input.as_ref();
            let path = Path::new(input);
            if path.is_dir() {
                candidates
                    .extend(layout::walk_files(path, &layout::is_parquet).map_err(layout_err)?);
            } else if path.is_file() {
                candidates.push(path.to_path_buf());
            } else if input.contains(['*', '?', '[']) {
                let paths = glob::glob(input).map_err(|e| AnalysisError::Glob {
                    pattern: input.to_string(),
                    message: e.to_string(),
                })?;
                for p in paths.flatten() {
                    if p.is_file() {
                        candidates.push(p);
                    }
                }
            } else {
                return Err(AnalysisError::io(
                    "reading",
                    path,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
                ));
            }
        }
        layout::sort_paths(&mut candidates);
        candidates.dedup();
        let mut files = Vec::new();
        let mut entries = Vec::new();
        let footers = footer::FooterReader::default();
        for c in candidates {
            if let Some((t, summary)) = footers.inspect(&c)?
                && t == table::SYSCALLS
            {
                files.push(c);
                entries.push(Entry {
                    summary: Some(summary),
                    runs: OnceCell::new(),
                });
            }
        }
        if files.is_empty() {
            let all: Vec<&str> = inputs.iter().map(AsRef::as_ref).collect();
            return Err(AnalysisError::NoInput(all.join(", ")));
        }
        Ok(Self {
            files,
            entries,
            footers,
        })
    }

    /// A dataset of exactly these files (not checked until read).
    pub fn from_files(files: Vec<PathBuf>) -> Self {
        let entries = vec![Entry::default(); files.len()];
        Self {
            files,
            entries,
            footers: footer::FooterReader::default(),
        }
    }

    /// The `syscalls` files, sorted.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The first pass over file `i`, made now or earlier.
    fn file_runs(&self, i: usize) -> Result<&FileRuns, AnalysisError> {
        let cell = &self.entries[i].runs;
        if let Some(r) = cell.get() {
            return Ok(r);
        }
        let unknown = FileSummary::default();
        let summary = self.entries[i].summary.as_ref().unwrap_or(&unknown);
        let runs = prescan(&self.files[i], summary)?;
        Ok(cell.get_or_init(|| runs))
    }

    /// Every run of the dataset with its labels, in order of first appearance.
    pub fn runs(&self) -> Result<Vec<RunMeta>, AnalysisError> {
        let mut seen = HashSet::new();
        let mut runs = Vec::new();
        for i in 0..self.files.len() {
            if let Some(run) = self.single_run(i) {
                if seen.insert(run.run_id.clone()) {
                    runs.push(run.clone());
                }
                continue;
            }
            for span in &self.file_runs(i)?.runs {
                if seen.insert(span.meta.run_id.clone()) {
                    runs.push(span.meta.clone());
                }
            }
        }
        Ok(runs)
    }

    fn single_run(&self, i: usize) -> Option<&RunMeta> {
        self.entries[i].summary.as_ref()?.single_run.as_ref()
    }

    /// Feeds every run matching `selection` to `consumer`, interning syscall names in `interner`.
    pub fn scan(
        &self,
        selection: &Selection,
        interner: &mut Interner,
        consumer: &mut dyn RowConsumer,
    ) -> Result<ScanStats, AnalysisError> {
        let mut stats = ScanStats::default();
        let mut buffers = Buffers::default();
        for (i, path) in self.files.iter().enumerate() {
            stats.files += 1;
            let summary = self.entries[i].summary.as_ref();
            if let Some(s) = summary
                && let Some(run) = &s.single_run
                && s.rows <= BATCH_ROWS as u64
            {
                if !selection.matches(run) {
                    stats.files_without_selected_runs += 1;
                    continue;
                }
                let mut ctx = ScanContext {
                    path,
                    footers: &self.footers,
                    summary: s,
                    interner: &mut *interner,
                    consumer: &mut *consumer,
                    stats: &mut stats,
                    buffers: &mut buffers,
                };
                ctx.read_small_run(run)?;
                continue;
            }
            let runs = self.file_runs(i)?;
            if !runs.runs.iter().any(|r| selection.matches(&r.meta)) {
                stats.files_without_selected_runs += 1;
            } else if runs.ordered {
                let unknown = FileSummary::default();
                let mut ctx = ScanContext {
                    path,
                    footers: &self.footers,
                    summary: summary.unwrap_or(&unknown),
                    interner: &mut *interner,
                    consumer: &mut *consumer,
                    stats: &mut stats,
                    buffers: &mut buffers,
                };
                ctx.stream_runs(runs, selection)?;
            } else {
                stats.files_sorted_in_memory += 1;
                sorted::scan_sorted(path, selection, interner, consumer, &mut stats)?;
            }
        }
        Ok(stats)
    }
}

/// Buffers reused from file to file.
#[derive(Default)]
struct Buffers {
    seq: Vec<u64>,
    pid: Vec<i32>,
    tid: Vec<i32>,
    ids: Vec<SyscallId>,
    order: Vec<u32>,
    constant_pid: Vec<i32>,
    constant_tid: Vec<i32>,
}

/// The reader of one file in one scan.
struct ScanContext<'a> {
    path: &'a Path,
    footers: &'a footer::FooterReader,
    summary: &'a FileSummary,
    interner: &'a mut Interner,
    consumer: &'a mut dyn RowConsumer,
    stats: &'a mut ScanStats,
    buffers: &'a mut Buffers,
}

/// `n` copies of `value`, from a buffer kept filled.
fn constant(buf: &mut Vec<i32>, value: i32, n: usize) -> &[i32] {
    if buf.first().is_some_and(|v| *v != value) {
        buf.clear();
    }
    if buf.len() < n {
        buf.resize(n, value);
    }
    &buf[..n]
}

impl ScanContext<'_> {
    /// The data columns read: seq and syscall, and pid and tid unless the footer shows them
    /// constant.
    fn data_columns(&self) -> Vec<&'static str> {
        let mut c = vec![col::SEQ, col::SYSCALL];
        if self.summary.constant_pid.is_none() {
            c.push(col::PID);
        }
        if self.summary.constant_tid.is_none() {
            c.push(col::TID);
        }
        c
    }

    /// The one run of a file of at most one batch: read whole, `seq` checked in memory.
    fn read_small_run(&mut self, run: &RunMeta) -> Result<(), AnalysisError> {
        let columns = self.data_columns();
        let rows = self.summary.rows as usize;
        let b = &mut *self.buffers;
        b.seq.clear();
        b.pid.clear();
        b.tid.clear();
        b.ids.clear();
        let path = self.path;
        let mut ids = Vec::new();
        let plan = ReadPlan {
            path,
            columns: &columns,
            batch_rows: rows.max(1),
            selection: None,
            summary: self.summary,
            footers: self.footers,
        };
        read_file_batches(plan, |batch| {
            syscall_ids(path, batch, self.interner, &mut ids)?;
            b.ids.extend_from_slice(&ids);
            let seq = column_as(path, batch, col::SEQ, &DataType::UInt64)?;
            b.seq
                .extend_from_slice(seq.as_primitive::<UInt64Type>().values());
            for (name, out) in [(col::PID, &mut b.pid), (col::TID, &mut b.tid)] {
                if columns.contains(&name) {
                    let a = column_as(path, batch, name, &DataType::Int32)?;
                    out.extend_from_slice(a.as_primitive::<Int32Type>().values());
                }
            }
            Ok(())
        })?;
        let n = b.seq.len();
        self.stats.rows_read += n as u64;
        if !b.seq.is_sorted() {
            self.stats.files_sorted_in_memory += 1;
            b.order.clear();
            b.order.extend(0..n as u32);
            b.order.sort_by_key(|&i| b.seq[i as usize]);
            permute(&mut b.seq, &b.order);
            permute(&mut b.ids, &b.order);
            permute(&mut b.pid, &b.order);
            permute(&mut b.tid, &b.order);
        }
        let pid = match self.summary.constant_pid {
            Some(v) => constant(&mut b.constant_pid, v, n),
            None => &b.pid[..],
        };
        let tid = match self.summary.constant_tid {
            Some(v) => constant(&mut b.constant_tid, v, n),
            None => &b.tid[..],
        };
        self.stats.runs_selected += 1;
        self.stats.rows_selected += n as u64;
        self.consumer.begin_run(run)?;
        if n > 0 {
            self.consumer.rows(&RowChunk {
                seq: &b.seq,
                pid,
                tid,
                syscall: &b.ids,
            });
        }
        self.consumer.end_run()
    }

    /// The selected runs of an ordered file, reading only their rows.
    fn stream_runs(&mut self, runs: &FileRuns, selection: &Selection) -> Result<(), AnalysisError> {
        let mut spans: Vec<&RunSpan> = Vec::new();
        let mut selectors = Vec::new();
        let mut at = 0u64;
        for span in &runs.runs {
            if !selection.matches(&span.meta) {
                continue;
            }
            if span.start > at {
                selectors.push(RowSelector::skip((span.start - at) as usize));
            }
            selectors.push(RowSelector::select((span.end - span.start) as usize));
            at = span.end;
            spans.push(span);
        }
        let columns = self.data_columns();
        let path = self.path;
        let (mut current, mut left) = (0usize, 0u64);
        let mut begun = false;
        let mut ids = Vec::with_capacity(BATCH_ROWS);
        let plan = ReadPlan {
            path,
            columns: &columns,
            batch_rows: BATCH_ROWS,
            selection: Some(RowSelection::from(selectors)),
            summary: self.summary,
            footers: self.footers,
        };
        let ctx = &mut *self;
        read_file_batches(plan, |batch| {
            let n = batch.num_rows();
            ctx.stats.rows_read += n as u64;
            syscall_ids(path, batch, ctx.interner, &mut ids)?;
            let seq = column_as(path, batch, col::SEQ, &DataType::UInt64)?;
            let seq = seq.as_primitive::<UInt64Type>().values();
            let pid_array = match ctx.summary.constant_pid {
                Some(_) => None,
                None => Some(column_as(path, batch, col::PID, &DataType::Int32)?),
            };
            let tid_array = match ctx.summary.constant_tid {
                Some(_) => None,
                None => Some(column_as(path, batch, col::TID, &DataType::Int32)?),
            };
            let b = &mut *ctx.buffers;
            let pid = match (&pid_array, ctx.summary.constant_pid) {
                (Some(a), _) => a.as_primitive::<Int32Type>().values(),
                (None, v) => constant(&mut b.constant_pid, v.unwrap_or_default(), n),
            };
            let tid = match (&tid_array, ctx.summary.constant_tid) {
                (Some(a), _) => a.as_primitive::<Int32Type>().values(),
                (None, v) => constant(&mut b.constant_tid, v.unwrap_or_default(), n),
            };
            let mut start = 0;
            while start < n {
                if left == 0 {
                    if begun {
                        ctx.consumer.end_run()?;
                        current += 1;
                    }
                    let span = spans[current];
                    left = span.end - span.start;
                    ctx.stats.runs_selected += 1;
                    ctx.consumer.begin_run(&span.meta)?;
                    begun = true;
                }
                let end = start + (left as usize).min(n - start);
                ctx.stats.rows_selected += (end - start) as u64;
                ctx.consumer.rows(&RowChunk {
                    seq: &seq[start..end],
                    pid: &pid[start..end],
                    tid: &tid[start..end],
                    syscall: &ids[start..end],
                });
                left -= (end - start) as u64;
                start = end;
            }
            Ok(())
        })?;
        if begun {
            self.consumer.end_run()?;
        }
        Ok(())
    }
}

/// Reorders `v` so that `v[i]` becomes the old `v[order[i]]` (no-op on an empty `v`).
fn permute<T: Copy>(v: &mut Vec<T>, order: &[u32]) {
    if v.is_empty() {
        return;
    }
    let old = std::mem::take(v);
    v.extend(order.iter().map(|&i| old[i as usize]));
}

/// What to read of one file.
struct ReadPlan<'a> {
    path: &'a Path,
    columns: &'a [&'static str],
    batch_rows: usize,
    /// All rows when `None`.
    selection: Option<RowSelection>,
    summary: &'a FileSummary,
    footers: &'a footer::FooterReader,
}

/// Calls `f` for every batch of `plan`. Small files are read with one `read`; this project's
/// files use the known Arrow schema.
fn read_file_batches(
    plan: ReadPlan<'_>,
    f: impl FnMut(&RecordBatch) -> Result<(), AnalysisError>,
) -> Result<(), AnalysisError> {
    let path = plan.path;
    let file = File::open(path).map_err(|e| AnalysisError::io("opening", path, e))?;
    let size = file
        .metadata()
        .map_err(|e| AnalysisError::io("reading", path, e))?
        .len();
    if size <= WHOLE_FILE_BYTES {
        let mut buf = Vec::with_capacity(size as usize);
        std::io::Read::read_to_end(&mut &file, &mut buf)
            .map_err(|e| AnalysisError::io("reading", path, e))?;
        read_batches_from(Bytes::from(buf), plan, f)
    } else {
        read_batches_from(file, plan, f)
    }
}

fn read_batches_from<R: ChunkReader + 'static>(
    reader: R,
    plan: ReadPlan<'_>,
    mut f: impl FnMut(&RecordBatch) -> Result<(), AnalysisError>,
) -> Result<(), AnalysisError> {
    let path = plan.path;
    let pq = |source| AnalysisError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let md = plan.footers.read(&reader, path)?;
    let mut options = ArrowReaderOptions::new();
    if plan.summary.own_schema {
        // The footer's own Arrow schema (an IPC message) need not be decoded: it is this one.
        options = options.with_schema(tracer_dataset::syscalls_schema());
    }
    let metadata = ArrowReaderMetadata::try_new(Arc::new(md), options).map_err(pq)?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(reader, metadata);
    let schema = builder.schema().clone();
    let mut indices = Vec::with_capacity(plan.columns.len());
    for c in plan.columns {
        let i = schema.index_of(c).map_err(|_| AnalysisError::Column {
            path: path.to_path_buf(),
            column: c,
            problem: "is missing".into(),
        })?;
        indices.push(i);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    let mut builder = builder
        .with_projection(mask)
        .with_batch_size(plan.batch_rows);
    if let Some(s) = plan.selection {
        builder = builder.with_row_selection(s);
    }
    for batch in builder.build().map_err(pq)? {
        let batch = batch.map_err(|source| AnalysisError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        f(&batch)?;
    }
    Ok(())
}

/// Calls `f` for every batch of `path` projected to `columns`, streaming from the file.
pub(super) fn read_batches(
    path: &Path,
    columns: &[&'static str],
    f: impl FnMut(&RecordBatch) -> Result<(), AnalysisError>,
) -> Result<(), AnalysisError> {
    let file = File::open(path).map_err(|e| AnalysisError::io("opening", path, e))?;
    read_batches_from(
        file,
        ReadPlan {
            path,
            columns,
            batch_rows: BATCH_ROWS,
            selection: None,
            summary: &FileSummary::default(),
            footers: &footer::FooterReader::default(),
        },
        f,
    )
}

/// `name` of `batch` cast to `to` (a no-op for files written by this project).
pub(super) fn column_as(
    path: &Path,
    batch: &RecordBatch,
    name: &'static str,
    to: &DataType,
) -> Result<ArrayRef, AnalysisError> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| AnalysisError::Column {
            path: path.to_path_buf(),
            column: name,
            problem: "is missing".into(),
        })?;
    if array.data_type() == to {
        return Ok(Arc::clone(array));
    }
    cast(array, to).map_err(|e| AnalysisError::Column {
        path: path.to_path_buf(),
        column: name,
        problem: format!("has type {}, expected {to}: {e}", array.data_type()),
    })
}

/// The run-level label columns of a batch, as string dictionaries.
pub(super) struct LabelColumns {
    pub(super) run_id: arrow::array::DictionaryArray<Int32Type>,
    source: arrow::array::DictionaryArray<Int32Type>,
    scenario: arrow::array::DictionaryArray<Int32Type>,
    mode: arrow::array::DictionaryArray<Int32Type>,
}

fn dict_value(d: &arrow::array::DictionaryArray<Int32Type>, i: usize) -> Option<String> {
    if d.is_null(i) {
        return None;
    }
    let key = d.keys().value(i) as usize;
    Some(d.values().as_string::<i32>().value(key).to_string())
}

impl LabelColumns {
    pub(super) fn new(path: &Path, batch: &RecordBatch) -> Result<Self, AnalysisError> {
        let get = |name| -> Result<_, AnalysisError> {
            Ok(column_as(path, batch, name, &dict_type())?
                .as_dictionary::<Int32Type>()
                .clone())
        };
        Ok(Self {
            run_id: get(col::RUN_ID)?,
            source: get(col::SOURCE)?,
            scenario: get(col::SCENARIO)?,
            mode: get(col::MODE)?,
        })
    }

    pub(super) fn run_id(&self, i: usize) -> String {
        dict_value(&self.run_id, i).unwrap_or_default()
    }

    pub(super) fn meta(&self, i: usize) -> RunMeta {
        RunMeta {
            run_id: self.run_id(i),
            source: dict_value(&self.source, i).unwrap_or_default(),
            scenario: dict_value(&self.scenario, i),
            mode: dict_value(&self.mode, i),
        }
    }
}

/// A string column of a batch as a dictionary, read or known constant from the footer.
enum Label {
    Read(arrow::array::DictionaryArray<Int32Type>),
    Constant(Option<String>),
}

impl Label {
    fn get(&self, i: usize) -> Option<String> {
        match self {
            Label::Read(d) => dict_value(d, i),
            Label::Constant(v) => v.clone(),
        }
    }
}

/// The first pass: every run of `path`, its rows, and whether the file is in (run, seq) order.
/// Labels the footer shows constant are not read.
fn prescan(path: &Path, summary: &FileSummary) -> Result<FileRuns, AnalysisError> {
    let constants = [
        (col::SOURCE, summary.constant_source.clone().map(Some)),
        (col::SCENARIO, summary.constant_scenario.clone()),
        (col::MODE, summary.constant_mode.clone()),
    ];
    let mut columns = vec![col::RUN_ID, col::SEQ];
    columns.extend(constants.iter().filter(|c| c.1.is_none()).map(|c| c.0));
    let mut runs: Vec<RunSpan> = Vec::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut last_seq = 0u64;
    let mut ordered = true;
    let mut row = 0u64;
    read_batches(path, &columns, |batch| {
        let dict = |name| -> Result<_, AnalysisError> {
            Ok(column_as(path, batch, name, &dict_type())?
                .as_dictionary::<Int32Type>()
                .clone())
        };
        let run_id = dict(col::RUN_ID)?;
        let mut labels = Vec::with_capacity(3);
        for (name, value) in &constants {
            labels.push(match value {
                Some(v) => Label::Constant(v.clone()),
                None => Label::Read(dict(name)?),
            });
        }
        let seq = column_as(path, batch, col::SEQ, &DataType::UInt64)?;
        let seq = seq.as_primitive::<UInt64Type>().values();
        let keys = run_id.keys().values();
        let names = run_id.values().as_string::<i32>();
        let id_of = |i: usize| names.value(keys[i] as usize);
        let n = batch.num_rows();
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && (keys[end] == keys[start] || id_of(end) == id_of(start)) {
                end += 1;
            }
            let id = id_of(start);
            match runs.last_mut() {
                Some(last) if last.meta.run_id == id => last.end = row + end as u64,
                _ => {
                    if let Some(prev) = runs.last() {
                        finished.insert(prev.meta.run_id.clone());
                    }
                    if finished.contains(id) {
                        ordered = false;
                    }
                    runs.push(RunSpan {
                        meta: RunMeta {
                            run_id: id.to_string(),
                            source: labels[0].get(start).unwrap_or_default(),
                            scenario: labels[1].get(start),
                            mode: labels[2].get(start),
                        },
                        start: row + start as u64,
                        end: row + end as u64,
                    });
                    last_seq = 0;
                }
            }
            if !seq[start..end].is_sorted() || seq[start] < last_seq {
                ordered = false;
            }
            last_seq = seq[end - 1];
            start = end;
        }
        row += n as u64;
        Ok(())
    })?;
    if !ordered {
        // Runs split in pieces: keep each run once, in order of first appearance.
        let mut seen = HashSet::new();
        runs.retain(|r| seen.insert(r.meta.run_id.clone()));
    }
    Ok(FileRuns { ordered, runs })
}

/// Interns a batch's syscall dictionary and returns the id of every row.
pub(super) fn syscall_ids(
    path: &Path,
    batch: &RecordBatch,
    interner: &mut Interner,
    out: &mut Vec<SyscallId>,
) -> Result<(), AnalysisError> {
    let sys = column_as(path, batch, col::SYSCALL, &dict_type())?;
    let sys = sys.as_dictionary::<Int32Type>();
    let names = sys.values().as_string::<i32>();
    let mut ids = Vec::with_capacity(names.len());
    for v in names.iter() {
        ids.push(interner.intern(v.unwrap_or("<null>"))?);
    }
    let null_id = interner.intern("<null>")?;
    out.clear();
    let keys = sys.keys();
    if keys.null_count() == 0 {
        out.extend(keys.values().iter().map(|k| ids[*k as usize]));
    } else {
        out.extend(keys.iter().map(|k| k.map_or(null_id, |k| ids[k as usize])));
    }
    Ok(())
}
