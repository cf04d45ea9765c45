//! `tracer show`: a capture (or any `syscalls` file of a dataset) read back as strace writes
//! it, one line per call with decoded arguments, errno names and the `+++ exited +++` lines of
//! the processes table, or as CSV / JSON Lines with the decoded text beside the columns. Files
//! are streamed a batch at a time (`tracer_dataset::stream`), so a 10 M-row capture costs a
//! few thousand rows of memory, and the output goes through the caller's writer.
//!
//! - [`call`]: the text of one call; [`signatures`], [`flags`] and [`xlat`]: how each
//!   argument reads;
//! - [`line`]: prefixes, times, alignment, durations, exit lines;
//! - [`select`]: `-e`, `-p`, `--tid`, `--seq`, `--since/--until`, `--run`;
//! - [`exits`]: where exit lines go; [`tabular`]: CSV and JSON Lines.

pub mod call;
pub mod exits;
pub mod flags;
pub mod line;
pub mod select;
pub mod signatures;
pub mod tabular;
pub mod xlat;

use std::{
    collections::HashMap,
    io::{self, Write},
    path::{Path, PathBuf},
};

use tracer_dataset::{
    Arch, SyscallRow, col,
    layout::{self, LayoutError},
    meta,
    rows::{self, ProcessRecord, ReadError},
    stream::{Bounds, KEY_COLUMNS, SyscallBatch, SyscallStream},
    table,
};

use self::{
    call::Context,
    exits::Exits,
    line::{Exit, LineFormat, Lines},
    select::{Filter, Selection},
    tabular::Table,
};
use crate::syscall_table::FilterError;

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// strace's text: one line per call, exit lines.
    #[default]
    Strace,
    /// CSV with a header: the Parquet columns and `text`.
    Csv,
    /// JSON Lines: one object per call, the Parquet columns and `text`.
    Jsonl,
}

/// A validated `tracer show` request.
#[derive(Clone, Debug, Default)]
pub struct ShowConfig {
    /// A syscalls Parquet file or a dataset folder.
    pub input: PathBuf,
    /// The output format.
    pub format: Format,
    /// Time, duration and prefix of strace lines (`pid_prefix` is decided per run).
    pub lines: LineFormat,
    /// The calls shown.
    pub filter: Filter,
}

/// What was shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShowOutcome {
    /// Calls written.
    pub calls: u64,
    /// Syscalls files read.
    pub files: usize,
    /// Files whose capture lost records (a CPU's ring full), with the count: calls are missing.
    pub incomplete: Vec<(PathBuf, u64)>,
}

/// Why `tracer show` failed.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// The input does not exist.
    #[error("{}: no such Parquet file or dataset folder", .0.display())]
    NotFound(PathBuf),
    /// The input holds no syscalls file.
    #[error(
        "{}: holds no syscalls table (give the capture's FILE.parquet, not its \
         FILE.processes.parquet, or a dataset folder)",
        .0.display()
    )]
    NoSyscalls(PathBuf),
    /// Listing a dataset failed.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Reading a file failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The `-e` expression names calls the file's architecture lacks.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// Writing the output failed (a closed pipe included: `main` keeps that quiet).
    #[error("writing the output")]
    Write(#[source] io::Error),
}

/// Bytes of output buffered before they are written.
const FLUSH_BYTES: usize = 1 << 16;

/// Shows `config.input` on `out`.
pub fn run(config: &ShowConfig, out: &mut dyn Write) -> Result<ShowOutcome, ShowError> {
    let files = syscalls_files(&config.input)?;
    let mut outcome = ShowOutcome::default();
    let mut buf = String::with_capacity(FLUSH_BYTES * 2);
    let table = match config.format {
        Format::Strace => None,
        Format::Csv => Some(Table::Csv),
        Format::Jsonl => Some(Table::Jsonl),
    };
    if let Some(t) = table {
        tabular::header(&mut buf, t);
    }
    let headers = files.len() > 1 && config.filter.run.is_none() && table.is_none();
    for file in &files {
        let Some(shown) = show_file(config, file, table, headers, &mut buf, out)? else {
            continue;
        };
        outcome.files += 1;
        outcome.calls += shown.calls;
        if shown.lost > 0 {
            outcome.incomplete.push((file.clone(), shown.lost));
        }
    }
    out.write_all(buf.as_bytes())
        .and_then(|()| out.flush())
        .map_err(ShowError::Write)?;
    Ok(outcome)
}

/// The syscalls files of `input`, by their footers.
fn syscalls_files(input: &Path) -> Result<Vec<PathBuf>, ShowError> {
    if !input.exists() {
        return Err(ShowError::NotFound(input.to_path_buf()));
    }
    let mut files = Vec::new();
    for f in layout::parquet_files(input)? {
        if layout::table_of(&f)?.as_deref() == Some(table::SYSCALLS) {
            files.push(f);
        }
    }
    if files.is_empty() {
        return Err(ShowError::NoSyscalls(input.to_path_buf()));
    }
    Ok(files)
}

/// What one run's file says about itself.
struct RunFacts {
    ctx: Context,
    run_id: Option<String>,
    first_ts_ns: Option<i64>,
    /// Every row has the same tid (the statistics say so).
    one_thread: bool,
    /// Records the capture lost (`meta::EVENTS_LOST`).
    lost: u64,
}

fn run_facts(path: &Path) -> Result<RunFacts, ShowError> {
    let s = SyscallStream::open_columns(path, &Bounds::default(), Some(&[]))?;
    let md = s.metadata();
    Ok(RunFacts {
        ctx: Context {
            arch: md
                .get(meta::ARCH)
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(Arch::native),
            path_limit: md.get(meta::PATH_LIMIT).and_then(|n| n.parse().ok()),
        },
        run_id: md.get(meta::RUN_ID).cloned(),
        first_ts_ns: s.first_ts_ns(),
        one_thread: s.tid_range().is_some_and(|(lo, hi)| lo == hi),
        lost: md
            .get(meta::EVENTS_LOST)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    })
}

/// The processes of run `run` (all when `None`) of the syscalls file `path`, if its processes
/// file exists.
fn processes(path: &Path, run: Option<&str>) -> Result<Vec<ProcessRecord>, ShowError> {
    let p = layout::processes_for(path);
    if !p.is_file() {
        return Ok(Vec::new());
    }
    let mut procs = rows::read_processes(&p)?;
    if let Some(run) = run {
        procs.retain(|r| r.run_id == run);
    }
    Ok(procs)
}

/// Whether the calls `sel` shows in `path` come from more than one thread (then every strace
/// line carries `[pid N]`). Reads the key columns only, and stops at the second thread.
fn several_threads(path: &Path, sel: &Selection) -> Result<bool, ShowError> {
    let mut cols = KEY_COLUMNS.to_vec();
    cols.push(col::SYSCALL);
    if sel.run.is_some() {
        cols.push(col::RUN_ID);
    }
    let mut first = None;
    for batch in SyscallStream::open_columns(path, &sel.bounds(), Some(&cols))? {
        let batch = batch?;
        for i in 0..batch.len() {
            let row = batch.row(i);
            if row.seq > sel.seq.last {
                return Ok(false);
            }
            if !shown(sel, &batch, i, &row) {
                continue;
            }
            match first {
                None => first = Some(row.tid),
                Some(t) if t != row.tid => return Ok(true),
                Some(_) => {}
            }
        }
    }
    Ok(false)
}

/// Whether row `i` is inside the ranges and chosen by the filters.
fn shown(sel: &Selection, batch: &SyscallBatch, i: usize, row: &SyscallRow<'_>) -> bool {
    in_range(sel, batch, i, row) && sel.chosen(row)
}

/// Whether row `i` is inside the seq and time range, of the run asked for.
fn in_range(sel: &Selection, batch: &SyscallBatch, i: usize, row: &SyscallRow<'_>) -> bool {
    row.seq >= sel.seq.first
        && row.seq <= sel.seq.last
        && sel.in_time(row)
        && sel.run.as_deref().is_none_or(|r| batch.run_id(i) == r)
}

/// Writes `buf` to `out` once it is large.
fn flush_if_full(buf: &mut String, out: &mut dyn Write) -> Result<(), ShowError> {
    if buf.len() >= FLUSH_BYTES {
        out.write_all(buf.as_bytes()).map_err(ShowError::Write)?;
        buf.clear();
    }
    Ok(())
}

/// What one file gave.
struct Shown {
    calls: u64,
    lost: u64,
}

/// Shows one syscalls file; `None` when `--run` skips it.
fn show_file(
    config: &ShowConfig,
    path: &Path,
    table: Option<Table>,
    header: bool,
    buf: &mut String,
    out: &mut dyn Write,
) -> Result<Option<Shown>, ShowError> {
    let facts = run_facts(path)?;
    let lost = facts.lost;
    let filter = &config.filter;
    if let (Some(want), Some(have)) = (&filter.run, &facts.run_id)
        && want != have
    {
        return Ok(None);
    }
    let sel = Selection::for_run(filter, facts.ctx.arch, facts.first_ts_ns)?;
    let procs = processes(path, filter.run.as_deref())?;
    let argv: HashMap<i32, (&str, &[String])> = procs
        .iter()
        .filter_map(|p| Some((p.pid, (p.exe.as_deref()?, p.argv.as_deref()?))))
        .collect();
    let exec_argv = |row: &SyscallRow<'_>| {
        if row.syscall != "execve" || row.ret != Some(0) {
            return None;
        }
        let (exe, argv) = argv.get(&row.pid)?;
        (row.path == Some(*exe)).then_some(*argv)
    };
    let ctx = facts.ctx;
    let mut line = String::new();
    let mut calls = 0u64;
    if let Some(t) = table {
        for batch in SyscallStream::open(path, &sel.bounds())? {
            let batch = batch?;
            for i in 0..batch.len() {
                let row = batch.row(i);
                if row.seq > sel.seq.last {
                    return Ok(Some(Shown { calls, lost }));
                }
                if !shown(&sel, &batch, i, &row) {
                    continue;
                }
                line.clear();
                call::text(&mut line, &ctx, &row, &batch.extra(i), exec_argv(&row));
                tabular::row(buf, t, &batch, i, &row, &line);
                calls += 1;
            }
            flush_if_full(buf, out)?;
        }
        return Ok(Some(Shown { calls, lost }));
    }

    if header {
        buf.push_str(&format!(
            "# run {} ({})\n",
            facts.run_id.as_deref().unwrap_or("?"),
            path.display()
        ));
    }
    let mut lines = Lines::new(config.lines);
    lines.set_pid_prefix(!facts.one_thread && several_threads(path, &sel)?);
    let mut exits = Exits::new(&procs, |pid| sel.shows_exit_of(pid));
    if let Some((lo, _)) = sel.time {
        exits.discard_before(lo);
    }
    let mut due: Vec<Exit> = Vec::new();
    let mut first_in_range = true;
    let mut last_ts: Option<i64> = None;
    let mut cut = false;
    'rows: for batch in SyscallStream::open(path, &sel.bounds())? {
        let batch = batch?;
        for i in 0..batch.len() {
            let row = batch.row(i);
            if row.seq > sel.seq.last {
                cut = true;
                break 'rows;
            }
            if !in_range(&sel, &batch, i, &row) {
                continue;
            }
            if let Some(ts) = row.ts_ns {
                if first_in_range && sel.cuts_start() {
                    exits.discard_before(ts);
                }
                exits.due_before(ts, &mut due);
                for e in due.drain(..) {
                    lines.exit(buf, &e);
                }
                last_ts = Some(last_ts.map_or(ts, |l: i64| l.max(ts)));
            }
            first_in_range = false;
            if !sel.chosen(&row) {
                continue;
            }
            lines.call_with(buf, &ctx, &row, &batch.extra(i), exec_argv(&row));
            calls += 1;
            let ends_process =
                row.syscall == "exit_group" || (row.syscall == "exit" && row.tid == row.pid);
            if ends_process && let Some(e) = exits.after_exit_call(row.pid) {
                lines.exit(buf, &e);
            }
        }
        flush_if_full(buf, out)?;
    }
    if sel.cuts_start() && first_in_range {
        // Nothing lay in the range: neither do the ends.
        return Ok(Some(Shown { calls, lost }));
    }
    let until = match (cut, sel.time) {
        (true, _) => last_ts.unwrap_or(i64::MIN),
        (false, Some((_, hi))) => hi,
        (false, None) => i64::MAX,
    };
    for e in exits.rest(until, !cut) {
        lines.exit(buf, &e);
    }
    Ok(Some(Shown { calls, lost }))
}
