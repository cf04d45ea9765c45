//! Streaming reader of the `syscalls` table: resolves a file, folder or glob into files, and feeds
//! the rows of each selected run to a `RowConsumer`, one Arrow batch at a time, projecting only
//! the columns the metrics need (run_id, source, scenario, mode, seq, pid, tid, syscall).
//!
//! Ordering: windows need each run's rows in `seq` order. Writers emit rows in that order, so a
//! cheap first pass over the run labels and `seq` only checks that every run is contiguous in its
//! file and its `seq` never decreases, and whether any run of the file is selected at all (files
//! without one are skipped); an ordered file is then streamed batch by batch (memory: one batch).
//! A file that fails the check is loaded (the projected columns only, about 24 bytes per row),
//! sorted by run and `seq`, and then fed the same way: memory proportional to that one file.

use std::{
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
use parquet::arrow::{ProjectionMask, arrow_reader::ParquetRecordBatchReaderBuilder};
use tracer_dataset::{
    col,
    layout::{self, LayoutError},
    table,
};

use super::select::{RunMeta, Selection};
use crate::{
    error::AnalysisError,
    intern::{Interner, SyscallId},
};

/// Rows per Arrow batch handed to consumers.
pub const BATCH_ROWS: usize = 64 * 1024;

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
    /// Files skipped after the first pass because none of their runs is selected.
    pub files_without_selected_runs: usize,
    /// Rows read in full (selected or not; skipped files excluded).
    pub rows_read: u64,
    /// Rows of selected runs.
    pub rows_selected: u64,
    /// Runs handed to the consumer.
    pub runs_selected: usize,
    /// Files that were not in (run, seq) order and were sorted in memory.
    pub files_sorted_in_memory: usize,
}

/// The `syscalls` files of a dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    files: Vec<PathBuf>,
}

const SCAN_COLUMNS: [&str; 8] = [
    col::RUN_ID,
    col::SOURCE,
    col::SCENARIO,
    col::MODE,
    col::SEQ,
    col::PID,
    col::TID,
    col::SYSCALL,
];

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
    /// glob) into the files holding the `syscalls` table; `processes` files are skipped.
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
        candidates.sort();
        candidates.dedup();
        let mut files = Vec::new();
        for c in candidates {
            if layout::table_of(&c).map_err(layout_err)?.as_deref() == Some(table::SYSCALLS) {
                files.push(c);
            }
        }
        if files.is_empty() {
            let all: Vec<&str> = inputs.iter().map(AsRef::as_ref).collect();
            return Err(AnalysisError::NoInput(all.join(", ")));
        }
        Ok(Self { files })
    }

    /// A dataset of exactly these files (not checked until read).
    pub fn from_files(files: Vec<PathBuf>) -> Self {
        Self { files }
    }

    /// The `syscalls` files, sorted.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Every run of the dataset with its labels, in order of first appearance.
    pub fn runs(&self) -> Result<Vec<RunMeta>, AnalysisError> {
        let mut seen = HashSet::new();
        let mut runs = Vec::new();
        for path in &self.files {
            read_batches(
                path,
                &[col::RUN_ID, col::SOURCE, col::SCENARIO, col::MODE],
                |batch| {
                    let cols = LabelColumns::new(path, batch)?;
                    let keys = cols.run_id.keys();
                    let mut last = None;
                    for i in 0..batch.num_rows() {
                        let k = keys.value(i);
                        if last == Some(k) {
                            continue;
                        }
                        last = Some(k);
                        let run = cols.meta(i);
                        if seen.insert(run.run_id.clone()) {
                            runs.push(run);
                        }
                    }
                    Ok(())
                },
            )?;
        }
        Ok(runs)
    }

    /// Feeds every run matching `selection` to `consumer`, interning syscall names in `interner`.
    pub fn scan(
        &self,
        selection: &Selection,
        interner: &mut Interner,
        consumer: &mut dyn RowConsumer,
    ) -> Result<ScanStats, AnalysisError> {
        let mut stats = ScanStats::default();
        for path in &self.files {
            stats.files += 1;
            let pre = prescan(path, selection)?;
            if !pre.any_selected {
                stats.files_without_selected_runs += 1;
            } else if pre.ordered {
                scan_streaming(path, selection, interner, consumer, &mut stats)?;
            } else {
                stats.files_sorted_in_memory += 1;
                scan_sorted(path, selection, interner, consumer, &mut stats)?;
            }
        }
        Ok(stats)
    }
}

/// Calls `f` for every batch of `path` projected to `columns`.
fn read_batches(
    path: &Path,
    columns: &[&'static str],
    mut f: impl FnMut(&RecordBatch) -> Result<(), AnalysisError>,
) -> Result<(), AnalysisError> {
    let pq = |source| AnalysisError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| AnalysisError::io("opening", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
    let schema = builder.schema().clone();
    let mut indices = Vec::with_capacity(columns.len());
    for c in columns {
        let i = schema.index_of(c).map_err(|_| AnalysisError::Column {
            path: path.to_path_buf(),
            column: c,
            problem: "is missing".into(),
        })?;
        indices.push(i);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(pq)?;
    for batch in reader {
        let batch = batch.map_err(|source| AnalysisError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        f(&batch)?;
    }
    Ok(())
}

/// `name` of `batch` cast to `to` (a no-op for files written by this project).
fn column_as(
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
struct LabelColumns {
    run_id: arrow::array::DictionaryArray<Int32Type>,
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
    fn new(path: &Path, batch: &RecordBatch) -> Result<Self, AnalysisError> {
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

    fn run_id(&self, i: usize) -> String {
        dict_value(&self.run_id, i).unwrap_or_default()
    }

    fn meta(&self, i: usize) -> RunMeta {
        RunMeta {
            run_id: self.run_id(i),
            source: dict_value(&self.source, i).unwrap_or_default(),
            scenario: dict_value(&self.scenario, i),
            mode: dict_value(&self.mode, i),
        }
    }
}

/// What the first, light pass over a file (labels and `seq` only) found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Prescan {
    /// Every run is contiguous and its `seq` never decreases.
    ordered: bool,
    /// At least one run matches the selection.
    any_selected: bool,
}

/// Reads the labels and `seq` of `path`, stopping as soon as the answer is known.
fn prescan(path: &Path, selection: &Selection) -> Result<Prescan, AnalysisError> {
    let mut finished: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut last_seq = 0u64;
    let mut ordered = true;
    let mut any_selected = false;
    read_batches(
        path,
        &[col::RUN_ID, col::SOURCE, col::SCENARIO, col::MODE, col::SEQ],
        |batch| {
            if !ordered && any_selected {
                return Ok(());
            }
            let labels = LabelColumns::new(path, batch)?;
            let seq = column_as(path, batch, col::SEQ, &DataType::UInt64)?;
            let seq = seq.as_primitive::<UInt64Type>().values();
            let keys = labels.run_id.keys().values();
            let mut last_key = None;
            for i in 0..batch.num_rows() {
                if last_key != Some(keys[i]) {
                    last_key = Some(keys[i]);
                    let id = labels.run_id(i);
                    if current.as_deref() != Some(id.as_str()) {
                        any_selected = any_selected || selection.matches(&labels.meta(i));
                        if finished.contains(&id) {
                            ordered = false;
                        }
                        if let Some(prev) = current.replace(id) {
                            finished.insert(prev);
                        }
                        last_seq = 0;
                    }
                }
                if seq[i] < last_seq {
                    ordered = false;
                }
                last_seq = seq[i];
                if !ordered && any_selected {
                    return Ok(());
                }
            }
            Ok(())
        },
    )?;
    Ok(Prescan {
        ordered,
        any_selected,
    })
}

/// Interns a batch's syscall dictionary and returns the id of every row.
fn syscall_ids(
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

/// The seq, pid and tid columns of a batch.
fn numeric_columns(
    path: &Path,
    batch: &RecordBatch,
) -> Result<(ArrayRef, ArrayRef, ArrayRef), AnalysisError> {
    Ok((
        column_as(path, batch, col::SEQ, &DataType::UInt64)?,
        column_as(path, batch, col::PID, &DataType::Int32)?,
        column_as(path, batch, col::TID, &DataType::Int32)?,
    ))
}

fn scan_streaming(
    path: &Path,
    selection: &Selection,
    interner: &mut Interner,
    consumer: &mut dyn RowConsumer,
    stats: &mut ScanStats,
) -> Result<(), AnalysisError> {
    let mut current: Option<String> = None;
    let mut selected = false;
    let mut ids = Vec::with_capacity(BATCH_ROWS);
    read_batches(path, &SCAN_COLUMNS, |batch| {
        let n = batch.num_rows();
        stats.rows_read += n as u64;
        let labels = LabelColumns::new(path, batch)?;
        syscall_ids(path, batch, interner, &mut ids)?;
        let (seq, pid, tid) = numeric_columns(path, batch)?;
        let seq = seq.as_primitive::<UInt64Type>().values();
        let pid = pid.as_primitive::<Int32Type>().values();
        let tid = tid.as_primitive::<Int32Type>().values();
        let keys = labels.run_id.keys().values();
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && keys[end] == keys[start] {
                end += 1;
            }
            let id = labels.run_id(start);
            if current.as_deref() != Some(id.as_str()) {
                if selected {
                    consumer.end_run()?;
                }
                let run = labels.meta(start);
                selected = selection.matches(&run);
                if selected {
                    stats.runs_selected += 1;
                    consumer.begin_run(&run)?;
                }
                current = Some(id);
            }
            if selected {
                stats.rows_selected += (end - start) as u64;
                consumer.rows(&RowChunk {
                    seq: &seq[start..end],
                    pid: &pid[start..end],
                    tid: &tid[start..end],
                    syscall: &ids[start..end],
                });
            }
            start = end;
        }
        Ok(())
    })?;
    if selected {
        consumer.end_run()?;
    }
    Ok(())
}

fn scan_sorted(
    path: &Path,
    selection: &Selection,
    interner: &mut Interner,
    consumer: &mut dyn RowConsumer,
    stats: &mut ScanStats,
) -> Result<(), AnalysisError> {
    let mut runs: Vec<RunMeta> = Vec::new();
    let mut run_of_row: Vec<u32> = Vec::new();
    let (mut seqs, mut pids, mut tids, mut syss) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut ids = Vec::new();
    read_batches(path, &SCAN_COLUMNS, |batch| {
        let n = batch.num_rows();
        stats.rows_read += n as u64;
        let labels = LabelColumns::new(path, batch)?;
        syscall_ids(path, batch, interner, &mut ids)?;
        let (seq, pid, tid) = numeric_columns(path, batch)?;
        let keys = labels.run_id.keys().values();
        let mut last_key = None;
        let mut run_index = 0u32;
        for i in 0..n {
            if last_key != Some(keys[i]) {
                last_key = Some(keys[i]);
                let id = labels.run_id(i);
                run_index = match runs.iter().position(|r| r.run_id == id) {
                    Some(p) => p as u32,
                    None => {
                        runs.push(labels.meta(i));
                        (runs.len() - 1) as u32
                    }
                };
            }
            run_of_row.push(run_index);
        }
        seqs.extend_from_slice(seq.as_primitive::<UInt64Type>().values());
        pids.extend_from_slice(pid.as_primitive::<Int32Type>().values());
        tids.extend_from_slice(tid.as_primitive::<Int32Type>().values());
        syss.extend_from_slice(&ids);
        Ok(())
    })?;
    let mut order: Vec<u32> = (0..seqs.len() as u32).collect();
    order.sort_by_key(|&i| (run_of_row[i as usize], seqs[i as usize]));
    let (mut cs, mut cp, mut ct, mut cy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut start = 0;
    while start < order.len() {
        let run_index = run_of_row[order[start] as usize];
        let mut end = start;
        while end < order.len() && run_of_row[order[end] as usize] == run_index {
            end += 1;
        }
        let run = &runs[run_index as usize];
        if selection.matches(run) {
            stats.runs_selected += 1;
            stats.rows_selected += (end - start) as u64;
            consumer.begin_run(run)?;
            for piece in order[start..end].chunks(BATCH_ROWS) {
                cs.clear();
                cp.clear();
                ct.clear();
                cy.clear();
                for &i in piece {
                    let i = i as usize;
                    cs.push(seqs[i]);
                    cp.push(pids[i]);
                    ct.push(tids[i]);
                    cy.push(syss[i]);
                }
                consumer.rows(&RowChunk {
                    seq: &cs,
                    pid: &cp,
                    tid: &ct,
                    syscall: &cy,
                });
            }
            consumer.end_run()?;
        }
        start = end;
    }
    Ok(())
}
