//! strace logs into the dataset: every output variant strace 6 writes (see `parser` for the line
//! grammar), one log or an `-ff -o PREFIX` set (see `detect`), `<unfinished ...>` pairs merged
//! (see `merge`).
//!
//! - One log is read in chunks (memory stays bounded by the chunk size and the calls in flight);
//!   `seq` is file order.
//! - An `-ff` set is read whole. With timestamps its files are merged by time (ties keep file
//!   order); without timestamps there is no way to interleave them, so the files are taken one
//!   after another in pid order, and `seq` is only meaningful within a thread.
//! - The pid of lines without a pid prefix is `--pid`, else the `-ff` file's suffix, else (for a
//!   terminal capture of `strace -f`) the prefixed pid no fork returned, else 0 (a log of one
//!   process written without `-f` never names its pid). A terminal capture stops printing
//!   `[pid N]` whenever one task is left; unprefixed lines then belong to that last task.
//! - In a terminal capture (no `-o`), strace's `strace: Process N attached` messages can cut a
//!   trace line in two; the two parts are joined again.
//! - The last line of a log, when it has no newline, may have been cut while strace was writing:
//!   if it does not parse, but starts a call, the call is kept as unfinished (null `ret`);
//!   otherwise it is counted in `lines_truncated` and dropped.

pub mod args;
pub mod detect;
pub mod merge;
pub mod parser;

use std::{
    borrow::Cow,
    collections::{BinaryHeap, HashSet},
    fs::File,
    io::Read,
    path::{Path, PathBuf},
};

use tracer_dataset::{ProcessSink, RunInfo, SyscallSink, meta};

use self::{
    detect::{Clock, Date, DateSource, Input},
    merge::{Assembler, Event},
    parser::{Body, Line, Ret, parse_cut_line, parse_line},
};
use tracer_dataset::arch::SyscallTable;

use super::{IngestError, RunSummary};

/// Bytes read from a log at a time.
const CHUNK_BYTES: usize = 8 << 20;
/// Longest text of a malformed line quoted in an error.
const QUOTE_BYTES: usize = 200;

/// How to read strace logs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Syscall table of the traced architecture.
    pub table: &'static SyscallTable,
    /// Date of the first `-t`/`-tt` line (else the file's mtime).
    pub date: Option<Date>,
    /// Skip and count malformed lines instead of failing.
    pub lenient: bool,
    /// Pid of lines without a pid prefix.
    pub pid: Option<i32>,
}

/// Line accounting and the malformed-line policy.
struct Lines {
    rejoin: Rejoin,
    /// Whether cut lines may be rejoined (one log read in order, not an -ff set).
    rejoin_lines: bool,
    lenient: bool,
    read: u64,
    skipped: u64,
    truncated: u64,
}

impl Lines {
    /// Parses line `line_no` of `path`; `Ok(None)` for a skipped or dropped line.
    fn parse<'a>(
        &mut self,
        path: &Path,
        line_no: u64,
        text: &'a str,
        cut: bool,
    ) -> Result<Option<Line<'a>>, IngestError> {
        self.read += 1;
        match parse_line(text) {
            Ok(l) => Ok(Some(l)),
            Err(_) if !cut && self.rejoin_lines && self.rejoin.hold(text) => Ok(None),
            Err(_) if cut => {
                let l = parse_cut_line(text);
                if l.is_none() {
                    self.truncated += 1;
                }
                Ok(l)
            }
            Err(e) if self.lenient => {
                log::debug!("{}:{line_no}: skipped: {e}", path.display());
                self.skipped += 1;
                Ok(None)
            }
            Err(e) => {
                let mut end = text.len().min(QUOTE_BYTES);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                Err(IngestError::Malformed {
                    path: path.to_path_buf(),
                    line: line_no,
                    expected: e.expected,
                    text: text[..end].to_string(),
                })
            }
        }
    }
}

fn utf8(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

fn date_source(opts: &Options, path: &Path) -> DateSource {
    match opts.date {
        Some(d) => DateSource::Given(d),
        None => DateSource::Mtime(
            std::fs::metadata(path)
                .and_then(|m| m.modified())
                .unwrap_or_else(|_| std::time::SystemTime::now()),
        ),
    }
}

/// Ingests the strace capture at `input` as one run into `syscalls_path` (and its processes
/// into `processes_path`).
pub fn ingest(
    input: &Path,
    run: RunInfo,
    syscalls_path: &Path,
    processes_path: &Path,
    opts: &Options,
) -> Result<RunSummary, IngestError> {
    let resolved = detect::resolve(input)?;
    let metadata = vec![
        (
            meta::ARCH.to_string(),
            opts.table.arch().as_str().to_string(),
        ),
        (meta::COMMAND_LINE.to_string(), input.display().to_string()),
        (meta::TS_POINT.to_string(), "entry".to_string()),
        // strace stops the tracee at every call: it loses nothing.
        (meta::EVENTS_LOST.to_string(), "0".to_string()),
    ];
    let sink = SyscallSink::create(syscalls_path, run.clone(), &metadata)?;
    let mut asm = Assembler::new(opts.table, sink);
    let mut lines = Lines {
        rejoin: Rejoin::default(),
        rejoin_lines: matches!(resolved, Input::Single(_)),
        lenient: opts.lenient,
        read: 0,
        skipped: 0,
        truncated: 0,
    };
    match &resolved {
        Input::Single(path) => ingest_single(path, opts, &mut asm, &mut lines)?,
        Input::Split { files, .. } => ingest_split(files, opts, &mut asm, &mut lines)?,
    }
    let (mut sink, procs, stats) = asm.finish()?;
    sink.add_metadata(meta::LINES_SKIPPED, lines.skipped.to_string());
    sink.add_metadata(meta::LINES_TRUNCATED, lines.truncated.to_string());
    if let Some(t) = stats.first_ts_ns {
        sink.add_metadata(meta::START_NS, t.to_string());
    }
    if let Some(t) = stats.last_ts_ns {
        sink.add_metadata(meta::END_NS, t.to_string());
    }
    let rows = sink.close()?;
    let mut psink = ProcessSink::create(processes_path, run.clone(), &metadata)?;
    let processes = procs.len() as u64;
    for p in procs {
        psink.push(p);
    }
    psink.close()?;
    Ok(RunSummary {
        run_id: run.run_id,
        syscalls_path: syscalls_path.to_path_buf(),
        processes_path: Some(processes_path.to_path_buf()),
        rows,
        processes,
        lines: lines.read,
        lines_skipped: lines.skipped,
        lines_truncated: lines.truncated,
    })
}

/// strace's own messages (`strace: Process 123 attached`) go to stderr like the trace when no
/// `-o` is given, and can land in the middle of a trace line, whose rest then follows on the
/// next line. A line that does not parse and ends in such a message is held and joined with the
/// next one (lines that parse are never searched, so a message inside a string is left alone).
#[derive(Default)]
pub(crate) struct Rejoin {
    carry: Option<String>,
}

impl Rejoin {
    const MESSAGE: &'static str = "strace: Process ";

    /// The line to parse: `text`, after the held head of a cut line if there is one.
    pub(crate) fn take<'a>(&mut self, text: &'a str) -> Cow<'a, str> {
        match self.carry.take() {
            Some(mut head) => {
                head.push_str(text);
                Cow::Owned(head)
            }
            None => Cow::Borrowed(text),
        }
    }

    /// For a line that did not parse: when it ends in strace's message, holds the part before
    /// it and returns true.
    pub(crate) fn hold(&mut self, text: &str) -> bool {
        if !(text.ends_with(" attached") || text.ends_with(" detached")) {
            return false;
        }
        match text.rfind(Self::MESSAGE) {
            Some(at) if at > 0 => {
                self.carry = Some(text[..at].to_string());
                true
            }
            _ => false,
        }
    }
}

/// The pid of unprefixed lines of a single log, found on first need (see the module doc).
struct DefaultTid<'p> {
    path: &'p Path,
    tid: Option<i32>,
    /// Tasks alive, tracked once the log showed an unprefixed line: when a terminal capture
    /// drops back to one task, strace stops printing `[pid N]`, and that task may not be the
    /// first process (it may have exited before its children).
    live: Option<HashSet<i32>>,
}

impl DefaultTid<'_> {
    fn main(&mut self) -> Result<i32, IngestError> {
        if let Some(t) = self.tid {
            return Ok(t);
        }
        let t = detect::main_pid_of_mixed_log(self.path)?.unwrap_or(0);
        self.tid = Some(t);
        Ok(t)
    }

    /// The tid of a line, learning which tasks are alive.
    fn resolve(&mut self, line: &Line<'_>) -> Result<i32, IngestError> {
        let tid = match line.tid {
            Some(t) => t,
            None => {
                let main = self.main()?;
                let live = self.live.get_or_insert_with(HashSet::new);
                match live.iter().next() {
                    Some(only) if live.len() == 1 => *only,
                    _ => main,
                }
            }
        };
        if let Some(live) = &mut self.live {
            match line.body {
                Body::Exited { .. } | Body::Killed { .. } => {
                    live.remove(&tid);
                }
                Body::Call {
                    name,
                    ret: Ret::Value(child),
                    ..
                }
                | Body::Resumed {
                    name,
                    ret: Ret::Value(child),
                    ..
                } if child > 0 && matches!(name, "clone" | "clone3" | "fork" | "vfork") => {
                    live.insert(tid);
                    live.insert(i32::try_from(child).unwrap_or(i32::MAX));
                }
                _ => {
                    live.insert(tid);
                }
            }
        }
        Ok(tid)
    }
}

fn feed(
    asm: &mut Assembler,
    clock: &mut Clock,
    default_tid: &mut DefaultTid<'_>,
    line: Line<'_>,
) -> Result<(), IngestError> {
    let ts_ns = line.stamp.and_then(|s| clock.resolve(s));
    let tid = default_tid.resolve(&line)?;
    asm.feed(Event {
        tid,
        comm: line.comm,
        ts_ns,
        body: line.body,
    })?;
    Ok(())
}

fn ingest_single(
    path: &Path,
    opts: &Options,
    asm: &mut Assembler,
    lines: &mut Lines,
) -> Result<(), IngestError> {
    let mut default_tid = DefaultTid {
        path,
        tid: opts.pid,
        live: None,
    };
    let mut clock = Clock::new(date_source(opts, path));
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 4096);
    let mut line_no = 0u64;
    loop {
        let have = buf.len();
        buf.resize(have + CHUNK_BYTES, 0);
        let n = read_full(&mut file, &mut buf[have..]).map_err(io)?;
        buf.truncate(have + n);
        let eof = n == 0;
        let mut start = 0;
        let whole = memchr::memrchr(b'\n', &buf).map_or(0, |n| n + 1);
        if let Ok(text) = std::str::from_utf8(&buf[..whole]) {
            // The usual case: valid UTF-8, lines borrowed straight from the buffer.
            for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
                line_no += 1;
                let text = lines.rejoin.take(&text[start..nl]);
                if let Some(l) = lines.parse(path, line_no, &text, false)? {
                    feed(asm, &mut clock, &mut default_tid, l)?;
                }
                start = nl + 1;
            }
        } else {
            for nl in memchr::memchr_iter(b'\n', &buf[..whole]) {
                line_no += 1;
                let text = utf8(&buf[start..nl]);
                let text = lines.rejoin.take(&text);
                if let Some(l) = lines.parse(path, line_no, &text, false)? {
                    feed(asm, &mut clock, &mut default_tid, l)?;
                }
                start = nl + 1;
            }
        }
        if eof {
            if start < buf.len() {
                line_no += 1;
                let text = utf8(&buf[start..]);
                let text = lines.rejoin.take(&text);
                if let Some(l) = lines.parse(path, line_no, &text, true)? {
                    feed(asm, &mut clock, &mut default_tid, l)?;
                }
            }
            return Ok(());
        }
        buf.drain(..start);
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// One file of an `-ff` set being merged.
struct Cursor<'a> {
    path: &'a Path,
    tid: i32,
    text: &'a str,
    pos: usize,
    line_no: u64,
    clock: Clock,
    last_ts: Option<i64>,
}

impl<'a> Cursor<'a> {
    /// The next line that parses (or is dropped by the policy), with its time.
    fn next(&mut self, lines: &mut Lines) -> Result<Option<(Line<'a>, Option<i64>)>, IngestError> {
        while self.pos < self.text.len() {
            let rest = &self.text[self.pos..];
            let (text, cut) = match rest.find('\n') {
                Some(n) => {
                    self.pos += n + 1;
                    (&rest[..n], false)
                }
                None => {
                    self.pos = self.text.len();
                    (rest, true)
                }
            };
            self.line_no += 1;
            if let Some(l) = lines.parse(self.path, self.line_no, text, cut)? {
                let ts = l.stamp.and_then(|s| self.clock.resolve(s));
                if ts.is_some() {
                    self.last_ts = ts;
                }
                return Ok(Some((l, ts)));
            }
        }
        Ok(None)
    }
}

fn ingest_split(
    files: &[(i32, PathBuf)],
    opts: &Options,
    asm: &mut Assembler,
    lines: &mut Lines,
) -> Result<(), IngestError> {
    let mut texts = Vec::with_capacity(files.len());
    for (_, path) in files {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|source| IngestError::Io {
                path: path.clone(),
                source,
            })?;
        texts.push(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        });
    }
    let mut cursors: Vec<Cursor<'_>> = files
        .iter()
        .zip(&texts)
        .map(|((tid, path), text)| Cursor {
            path,
            tid: *tid,
            text,
            pos: 0,
            line_no: 0,
            clock: Clock::new(date_source(opts, path)),
            last_ts: None,
        })
        .collect();
    // Heads of every file; the heap orders them by (time, file index) so ties keep file order.
    let mut heads: Vec<Option<Line<'_>>> = Vec::with_capacity(cursors.len());
    let mut heap = BinaryHeap::new();
    let mut timed = false;
    for c in cursors.iter_mut() {
        let head = c.next(lines)?;
        if let Some((_, ts)) = &head {
            timed |= ts.is_some();
        }
        heads.push(head.map(|(l, _)| l));
    }
    if !timed {
        for (c, head) in cursors.iter_mut().zip(heads) {
            let mut head = head;
            while let Some(l) = head {
                asm.feed(Event {
                    tid: l.tid.unwrap_or(c.tid),
                    comm: l.comm,
                    ts_ns: None,
                    body: l.body,
                })?;
                head = c.next(lines)?.map(|(l, _)| l);
            }
        }
        return Ok(());
    }
    for (i, c) in cursors.iter().enumerate() {
        if heads[i].is_some() {
            heap.push(std::cmp::Reverse((c.last_ts.unwrap_or(i64::MIN), i)));
        }
    }
    while let Some(std::cmp::Reverse((_, i))) = heap.pop() {
        let Some(l) = heads[i].take() else { continue };
        let c = &mut cursors[i];
        asm.feed(Event {
            tid: l.tid.unwrap_or(c.tid),
            comm: l.comm,
            ts_ns: l.stamp.and(c.last_ts),
            body: l.body,
        })?;
        if let Some((next, _)) = c.next(lines)? {
            heads[i] = Some(next);
            heap.push(std::cmp::Reverse((c.last_ts.unwrap_or(i64::MIN), i)));
        }
    }
    Ok(())
}
