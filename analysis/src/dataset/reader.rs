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
//!   batch) gets a light first pass (`prescan`) over the labels and `seq`, once per `Dataset`
//!   (later scans reuse it): which runs it holds, at which rows, and whether every run is
//!   contiguous with a `seq` that never decreases. An ordered file is then streamed batch by batch (memory: one
//!   batch) reading only the rows of selected runs (a row selection, so pages of other runs are
//!   skipped undecoded), no label columns, and no `seq` when the first pass found every run
//!   counting up by one (it is counted instead). A file that fails the check is loaded (the
//!   projected columns only, about 24 bytes per row), sorted by run and `seq`, and fed the same
//!   way (`sorted`): memory proportional to that one file.
//!
//! `columns` reads one file's columns for all of these.

use std::{
    cell::OnceCell,
    collections::HashSet,
    path::{Path, PathBuf},
};

use arrow::{
    array::AsArray,
    datatypes::{DataType, Int32Type, UInt64Type},
};
use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use tracer_dataset::{
    col,
    layout::{self, LayoutError},
    table,
};

use super::{
    columns::{ReadPlan, column_as, read_file_batches, syscall_ids},
    footer::{self, FileSummary},
    prescan::{FileRuns, RunSpan, prescan},
    select::{RunMeta, Selection},
    sorted,
};
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
        let mut columns = self.data_columns();
        // The first pass proved every run's `seq` counts up by one: count it instead.
        let counted_seq = runs.consecutive_seq;
        if counted_seq {
            columns.retain(|c| *c != col::SEQ);
        }
        let path = self.path;
        let (mut current, mut left) = (0usize, 0u64);
        let mut begun = false;
        let mut ids = Vec::with_capacity(BATCH_ROWS);
        let mut counted = Vec::with_capacity(BATCH_ROWS);
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
            let seq_array = if counted_seq {
                None
            } else {
                Some(column_as(path, batch, col::SEQ, &DataType::UInt64)?)
            };
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
                let seq = match &seq_array {
                    Some(a) => &a.as_primitive::<UInt64Type>().values()[start..end],
                    None => {
                        let span = spans[current];
                        let first = span.first_seq + (span.end - span.start - left);
                        counted.clear();
                        counted.extend((0..(end - start) as u64).map(|i| first + i));
                        &counted[..]
                    }
                };
                ctx.stats.rows_selected += (end - start) as u64;
                ctx.consumer.rows(&RowChunk {
                    seq,
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
