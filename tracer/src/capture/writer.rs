//! The writer thread: takes the drain's batches, decodes each record (`decode`), keeps the
//! process table (`lineage`), and writes the rows (`rows`) and the `--summary` totals
//! (`totals`). It runs at normal priority and keeps up with the traced workload while it runs,
//! so the capture ends soon after the workload does: a writer niced below a busy machine's other
//! work falls behind, and then either memory grows or records are lost (the queue is bounded,
//! see `pipeline`). About every second (`CUT_EVERY`) it cuts a part of the crash journal (and
//! writes the process table's snapshot when it changed), and a rotating capture moves on to its
//! next file.

use std::{
    borrow::Cow,
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use tracer_common::{
    DATA_CUT, DATA_FAULT, DATA_NULL, DATA_PATH, DATA_SOCKADDR, ExitEvent, FLAG_COMPAT,
    FLAG_ENTRY_DATA, FLAG_EXIT_COMPAT, FLAG_EXIT_SECCOMP, FLAG_HAS_DURATION, FLAG_IN_SYSCALL,
    FLAG_KILLED, FLAG_SECCOMP_KILL, FLAG_SECCOMP_TRAP, FLAG_X32, GapEvent, SyscallEvent,
};
use tracer_dataset::{Arch, ProcessRow, SinkError, SyscallExtra, SyscallSink, meta, schema::mark};

use super::{
    decode::{Record, Slot, decode},
    drain::Batch,
    files::{Live, OpenFiles, Output, rotation_due},
    lineage::{Admit, Lineage},
    rows::{Call, Rows, gap_task},
    totals::{SyscallTotals, Totals},
};
use crate::clock::now_ns;

/// How often the journal gets a part: what has been captured is on disk within about this long
/// (plus the writer's lag behind the ring buffer on a busy machine).
pub const CUT_EVERY: Duration = Duration::from_secs(1);
/// The process table's snapshot costs at most this share of the writer's time: a table that
/// takes 10 ms to write is snapshotted at most every second, one of 100 ms every 10 s.
const SNAPSHOT_SHARE: u32 = 100;

/// What the writer saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Rows written to the syscalls table.
    pub rows: u64,
    /// Rows of the launched command before its exec (the tracer's own setup), not written.
    pub pre_exec_dropped: u64,
    /// Child-side returns of fork/clone (not rows: the call is the parent's).
    pub fork_child_returns: u64,
    /// Records that failed to decode, each skipped alone (should stay 0).
    pub undecodable: u64,
    /// Gap rows written (counted in `rows` too).
    pub gaps: u64,
    /// Records the gap rows say were lost.
    pub gap_lost: u64,
}

/// What the writer hands back at the end.
pub struct Collected {
    /// The syscalls sink, still open for the footer metadata.
    pub sink: SyscallSink,
    /// The files it writes (a writer made by `Writer::with_files`).
    pub files: Option<OpenFiles>,
    /// Rows in the files a rotating capture has already closed.
    pub rows_before: u64,
    /// The processes rows, ordered by start.
    pub processes: Vec<ProcessRow>,
    /// What it saw.
    pub stats: WriterStats,
    /// `--summary` totals, by name.
    pub totals: Vec<(&'static str, SyscallTotals)>,
}

/// Numbers of the calls the writer treats specially.
#[derive(Debug)]
struct SpecialCalls {
    /// execve, execveat: in the run's table, then in the i386 one.
    execve: [[i32; 2]; 2],
    /// clone, clone3, fork, vfork: in the run's table, then in the i386 one.
    fork: [[i32; 4]; 2],
}

impl SpecialCalls {
    fn new(arch: Arch) -> Self {
        let exec = |a: Arch| ["execve", "execveat"].map(|n| a.number(n).unwrap_or(-1));
        let fork =
            |a: Arch| ["clone", "clone3", "fork", "vfork"].map(|n| a.number(n).unwrap_or(-1));
        Self {
            execve: [exec(arch), exec(Arch::X86)],
            fork: [fork(arch), fork(Arch::X86)],
        }
    }
}

/// The marks of a path slot that could not be read as it was (`marks` bits `cut`,
/// `unreadable`, `bad_pointer`) for a call that returned `ret`.
fn path_marks(slot: &Slot<'_>, ret: i64, [cut, unreadable, bad]: [u32; 3]) -> u32 {
    if slot.status & DATA_FAULT != 0 {
        // The kernel could not read it either when the call failed with EFAULT.
        return if ret == -i64::from(libc::EFAULT) {
            bad
        } else {
            unreadable
        };
    }
    if slot.status & DATA_CUT != 0 { cut } else { 0 }
}

/// What a data record gives a row: `path`, `path2`, the socket address and the marks.
type DataColumns<'a> = (
    Option<Cow<'a, str>>,
    Option<Cow<'a, str>>,
    Option<super::sockaddr::Sock>,
    u32,
);

/// The `path`, `path2`, socket address and marks of a data record's `slots`, for a call that
/// returned `ret`.
fn data_columns<'a>(slots: &[Slot<'a>; 2], ret: i64) -> DataColumns<'a> {
    let [first, second] = slots;
    let mut marks = 0;
    let mut path = None;
    let mut sock = None;
    match first.what {
        DATA_PATH => {
            path = slot_text(first);
            marks |= path_marks(
                first,
                ret,
                [
                    mark::PATH_CUT,
                    mark::PATH_UNREADABLE,
                    mark::PATH_BAD_POINTER,
                ],
            );
        }
        DATA_SOCKADDR => {
            if first.status & DATA_FAULT != 0 {
                marks |= mark::SOCKADDR_UNREADABLE;
            } else {
                sock = super::sockaddr::decode(first.bytes);
            }
            if first.status & DATA_CUT != 0 {
                marks |= mark::SOCKADDR_CUT;
            }
        }
        _ => {}
    }
    let path2 = slot_text(second);
    if second.what == DATA_PATH {
        marks |= path_marks(
            second,
            ret,
            [
                mark::PATH2_CUT,
                mark::PATH2_UNREADABLE,
                mark::PATH2_BAD_POINTER,
            ],
        );
    }
    (path, path2, sock, marks)
}

/// The text of a path slot, if it was read.
fn slot_text<'a>(slot: &Slot<'a>) -> Option<Cow<'a, str>> {
    (slot.what == DATA_PATH && slot.status & (DATA_FAULT | DATA_NULL) == 0)
        .then(|| String::from_utf8_lossy(slot.bytes))
}

/// The files a capture's writer owns: the current ones, how to open the next, and the losses
/// the main loop publishes.
struct Files {
    open: OpenFiles,
    output: Arc<Output>,
    live: Arc<Live>,
    /// Rows in files already closed (rotation).
    rows_before: u64,
    /// Files already closed (rotation).
    closed: Vec<PathBuf>,
    /// When the process table's snapshot may be written next, and what the last one cost.
    next_snapshot: Instant,
}

/// Why the writer stopped before the capture did, and what it kept.
#[derive(Debug)]
pub struct WriteFailure {
    /// What failed.
    pub error: SinkError,
    /// Rows on disk: in the journal's parts and in the files already closed.
    pub kept: u64,
    /// The journal holding the kept rows, if it has any.
    pub journal: Option<PathBuf>,
    /// Files of a rotating capture closed before the failure.
    pub closed: Vec<PathBuf>,
}

/// Decoding state and the sink.
pub struct Writer {
    rows: Rows,
    lineage: Lineage,
    totals: Totals,
    calls: SpecialCalls,
    stats: WriterStats,
    files: Option<Files>,
    /// Per thread, the `KIND_ENTRY_DATA` record of its call in progress.
    entry_data: HashMap<u32, Vec<u8>>,
}

impl Writer {
    /// A writer into `sink`; `clock_offset_ns` turns kernel monotonic stamps into wall time.
    pub fn new(sink: SyscallSink, arch: Arch, clock_offset_ns: i64) -> Self {
        Self {
            rows: Rows::new(sink, arch, clock_offset_ns),
            lineage: Lineage::new(arch, clock_offset_ns),
            totals: Totals::default(),
            calls: SpecialCalls::new(arch),
            stats: WriterStats::default(),
            files: None,
            entry_data: HashMap::new(),
        }
    }

    /// A writer into `sink` of the capture's `files`, which it journals (`cut`) and rotates;
    /// `live` holds the losses the main loop knows.
    pub fn with_files(
        sink: SyscallSink,
        files: OpenFiles,
        output: Arc<Output>,
        live: Arc<Live>,
        arch: Arch,
        clock_offset_ns: i64,
    ) -> Self {
        let mut w = Self::new(sink, arch, clock_offset_ns);
        w.files = Some(Files {
            open: files,
            output,
            live,
            rows_before: 0,
            closed: Vec::new(),
            next_snapshot: Instant::now(),
        });
        w
    }

    /// Cuts a journal part with the rows so far, writes the process table's snapshot when it
    /// changed (at a bounded cost), and moves a rotating capture on to its next file when the
    /// current one is big or old enough.
    pub fn cut(&mut self) -> Result<(), SinkError> {
        let Some(f) = &mut self.files else {
            return Ok(());
        };
        let journal = f.open.journal().cloned();
        if let Some(j) = &journal {
            j.set_live(&f.live.pairs());
        }
        let started = Instant::now();
        self.rows.sink_mut().cut()?;
        log::debug!(
            "journal cut: {} parts, {} rows on disk, {} us",
            journal.as_ref().map_or(0, |j| j.parts()),
            journal.as_ref().map_or(0, |j| j.rows_kept()),
            started.elapsed().as_micros()
        );
        if let Some(j) = &journal
            && Instant::now() >= f.next_snapshot
            && self.lineage.take_changed()
        {
            let started = Instant::now();
            j.write_processes(&self.lineage.snapshot())?;
            f.next_snapshot = Instant::now() + started.elapsed() * SNAPSHOT_SHARE;
        }
        if let Some(rotate) = f.output.rotation()
            && rotation_due(rotate, &f.open)
        {
            self.rotate()?;
        }
        Ok(())
    }

    /// Closes the current file of a rotating capture (with the processes that ended in it) and
    /// opens the next.
    fn rotate(&mut self) -> Result<(), SinkError> {
        let Some(f) = &mut self.files else {
            return Ok(());
        };
        let (next, sink) = f.output.open(f.open.chunk() + 1)?;
        let old_sink = self.rows.replace_sink(sink);
        let old = std::mem::replace(&mut f.open, next);
        let mut pairs = f.live.pairs();
        pairs.extend([
            (meta::END_NS, now_ns().to_string()),
            (meta::INTERRUPTED, "false".to_string()),
            (
                meta::PRE_EXEC_DROPPED,
                self.stats.pre_exec_dropped.to_string(),
            ),
        ]);
        let path = old.path().to_path_buf();
        f.rows_before += old.close(old_sink, self.lineage.take_ended(), &pairs)?;
        f.closed.push(path);
        Ok(())
    }

    /// What was kept when the writer fails with `error`.
    fn failure(self, error: SinkError) -> WriteFailure {
        let Some(f) = &self.files else {
            return WriteFailure {
                error,
                kept: 0,
                journal: None,
                closed: Vec::new(),
            };
        };
        let journal = f.open.journal();
        let in_journal = journal.map_or(0, |j| j.rows_kept());
        WriteFailure {
            error,
            kept: f.rows_before + in_journal,
            journal: journal
                .filter(|j| j.parts() > 0)
                .map(|j| j.path().to_path_buf()),
            closed: f.closed.clone(),
        }
    }

    /// Registers a process known before its first record (the launched command, `-p`
    /// targets). `launched` marks a command whose rows before its first exec are the tracer's.
    pub fn add_root(&mut self, tgid: u32, row: ProcessRow, launched: bool) {
        self.lineage.add_root(tgid, row, launched);
    }

    /// Decodes and writes one batch; a record that does not decode is counted and skipped.
    pub fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut records = batch.records();
        while let Some(record) = records.next_record() {
            self.write_record(record)?;
        }
        Ok(())
    }

    /// Decodes and writes one record.
    #[inline]
    pub fn write_record(&mut self, record: &[u8]) -> Result<(), SinkError> {
        match decode(record) {
            Ok(Record::Syscall(e)) if e.flags & FLAG_ENTRY_DATA != 0 => self.with_entry_data(&e),
            Ok(Record::Syscall(e)) => self.syscall(&e, None, None, None, 0),
            Ok(Record::SyscallPath { call, path }) => {
                let marks = if path.is_none() {
                    mark::PATH_UNREADABLE
                } else {
                    0
                };
                self.syscall(&call, path, None, None, marks)
            }
            Ok(Record::SyscallData { call, slots }) => {
                let (path, path2, sock, marks) = data_columns(&slots, call.ret);
                self.syscall(&call, path, path2.as_deref(), sock.as_ref(), marks)
            }
            Ok(Record::EntryData { call, .. }) => {
                // Kept until the thread's exit record of the call (the next of that thread).
                self.entry_data.insert(call.tid, record.to_vec());
                Ok(())
            }
            Ok(Record::Fork(f)) => {
                self.lineage.fork(&f);
                Ok(())
            }
            Ok(Record::Exec(e)) => {
                self.lineage.exec(e);
                Ok(())
            }
            Ok(Record::Exit(e)) => self.exit(&e),
            Ok(Record::Gap(g)) => self.gap(&g),
            Err(error) => {
                log::debug!("skipping a ring-buffer record: {error}");
                self.stats.undecodable += 1;
                Ok(())
            }
        }
    }

    /// A call that returned (or that seccomp stopped), with what the capture read of its
    /// arguments and the `marks` that says what it could not.
    #[inline]
    fn syscall(
        &mut self,
        e: &SyscallEvent,
        path: Option<Cow<'_, str>>,
        path2: Option<&str>,
        sock: Option<&super::sockaddr::Sock>,
        mut marks: u32,
    ) -> Result<(), SinkError> {
        let compat = e.flags & FLAG_COMPAT != 0;
        let x32 = e.flags & FLAG_X32 != 0;
        let is_exec = e.ret == 0 && !x32 && self.calls.execve[usize::from(compat)].contains(&e.nr);
        let exec_path = match self.lineage.admit(e.tgid, e.tid, is_exec) {
            Admit::PreExec => {
                self.stats.pre_exec_dropped += 1;
                return Ok(());
            }
            Admit::Row { exec_path } => exec_path,
        };
        if e.ret == 0 && !x32 && self.calls.fork[usize::from(compat)].contains(&e.nr) {
            // The child's return from fork/clone passes through sys_exit too, but the call was
            // the parent's (one row, with the child's pid as ret), as strace -f shows it.
            self.stats.fork_child_returns += 1;
            return Ok(());
        }
        // After a successful exec the path comes from the exec record (see `lineage`).
        let path = exec_path.map(Cow::Owned).or(path);
        let stopped = e.flags & (FLAG_SECCOMP_KILL | FLAG_SECCOMP_TRAP) != 0;
        if e.flags & FLAG_SECCOMP_KILL != 0 {
            marks |= mark::SECCOMP_KILL;
        } else if e.flags & FLAG_SECCOMP_TRAP != 0 {
            marks |= mark::SECCOMP_TRAP;
        }
        if e.flags & FLAG_KILLED != 0 {
            marks |= mark::KILLED;
        }
        self.write_call(&Call {
            tgid: e.tgid,
            tid: e.tid,
            nr: e.nr,
            compat,
            x32,
            ts_mono: e.ts_ns,
            duration_ns: (e.flags & FLAG_HAS_DURATION != 0).then_some(e.duration_ns as i64),
            // After a successful exec the registers are the new image's (zeroed by the loader).
            args: (!is_exec).then_some(e.args),
            // A call cut short by the thread's death never returned to the program; one seccomp
            // stopped never ran (its return register holds the rolled-back number).
            ret: (e.flags & FLAG_KILLED == 0 && !stopped).then_some(e.ret),
            path: path.as_deref(),
            extra: SyscallExtra {
                abi: None,
                path2,
                sock_family: sock.map(|s| s.family.as_ref()),
                sock_addr: sock.and_then(|s| s.addr.as_deref()),
                sock_port: sock.and_then(|s| s.port),
                marks,
            },
        })
    }

    /// A call whose arguments were read at its entry: they are in the thread's entry record.
    fn with_entry_data(&mut self, e: &SyscallEvent) -> Result<(), SinkError> {
        if let Some(bytes) = self.entry_data.remove(&e.tid)
            && let Ok(Record::EntryData { slots, .. }) = decode(&bytes)
        {
            let (path, path2, sock, marks) = data_columns(&slots, e.ret);
            return self.syscall(e, path, path2.as_deref(), sock.as_ref(), marks);
        }
        // The entry record was lost (the ring was full then): counted in a gap before this row.
        let name = if e.flags & FLAG_COMPAT != 0 {
            Arch::X86.name_of(i64::from(e.nr))
        } else {
            self.rows.arch().name_of(i64::from(e.nr))
        };
        let marks = match name {
            Some(n) if tracer_dataset::arch::path_arg(n).is_none() => mark::SOCKADDR_UNREADABLE,
            _ => mark::PATH_UNREADABLE,
        };
        self.syscall(e, None, None, None, marks)
    }

    /// A thread exited, perhaps inside a call that never returned (exit, exit_group, or one
    /// seccomp killed the thread at).
    fn exit(&mut self, e: &ExitEvent) -> Result<(), SinkError> {
        self.entry_data.remove(&e.tid);
        if e.flags & FLAG_IN_SYSCALL != 0 && !self.lineage.awaiting_exec(e.tgid) {
            let marks = if e.flags & FLAG_EXIT_SECCOMP != 0 {
                mark::SECCOMP_KILL
            } else {
                0
            };
            // No return value, no duration.
            self.write_call(&Call {
                tgid: e.tgid,
                tid: e.tid,
                nr: e.nr,
                compat: e.flags & FLAG_EXIT_COMPAT != 0,
                x32: false,
                ts_mono: e.ts_ns,
                duration_ns: None,
                args: Some(e.args),
                ret: None,
                path: None,
                extra: SyscallExtra {
                    marks,
                    ..SyscallExtra::default()
                },
            })?;
        }
        self.lineage.exit(e);
        Ok(())
    }

    /// Records were lost here: a gap row, in stream order (not a call: no `--summary` total).
    fn gap(&mut self, g: &GapEvent) -> Result<(), SinkError> {
        let (pid, tid) = gap_task(g);
        let comm = if tid != 0 {
            self.lineage.comm(pid, tid)
        } else {
            None
        };
        self.rows.push_gap(g, comm)?;
        self.stats.rows += 1;
        self.stats.gaps += 1;
        self.stats.gap_lost += g.lost.iter().sum::<u64>();
        Ok(())
    }

    /// Writes one row with its thread's name, and counts it.
    #[inline]
    fn write_call(&mut self, call: &Call<'_>) -> Result<(), SinkError> {
        let comm = self.lineage.comm(call.tgid, call.tid);
        let named = self.rows.push(call, comm)?;
        self.totals.count(named, call.ret, call.duration_ns);
        self.stats.rows += 1;
        Ok(())
    }

    /// Ends writing.
    pub fn finish(self) -> Collected {
        let (files, rows_before) = match self.files {
            Some(f) => (Some(f.open), f.rows_before),
            None => (None, 0),
        };
        Collected {
            sink: self.rows.into_sink(),
            files,
            rows_before,
            processes: self.lineage.finish(),
            stats: self.stats,
            totals: self.totals.into_sorted(),
        }
    }
}

/// Test hook: microseconds the writer sleeps after each batch, to show that a writer that falls
/// behind costs counted losses, not unbounded memory (tests/tests/capture_cost.rs).
pub const SLOW_WRITER_ENV: &str = "TRACER_TEST_WRITER_DELAY_US";

/// The writer's side of the queue from the drain (see `drain::ToWriter`).
pub struct FromDrain {
    /// Batches to write.
    pub batches: mpsc::Receiver<Batch>,
    /// Written batches, emptied, back to the drain.
    pub spare: mpsc::SyncSender<Batch>,
    /// Batches sent and not yet written; counted down here.
    pub in_flight: Arc<AtomicUsize>,
}

/// Spawns the writer thread: writes every batch until the drain side hangs up, handing each
/// written batch back and cutting a journal part every `CUT_EVERY`. On an error it stops and
/// says what was kept.
pub fn spawn_writer(
    mut writer: Writer,
    from_drain: FromDrain,
) -> thread::JoinHandle<Result<Collected, Box<WriteFailure>>> {
    let delay = std::env::var(SLOW_WRITER_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_micros);
    thread::Builder::new()
        .name("tracer-writer".into())
        .spawn(move || {
            let FromDrain {
                batches,
                spare,
                in_flight,
            } = from_drain;
            let mut next_cut = Instant::now() + CUT_EVERY;
            loop {
                let wait = next_cut.saturating_duration_since(Instant::now());
                let written = match batches.recv_timeout(wait) {
                    Ok(mut batch) => {
                        let written = writer.write_batch(&batch);
                        if let Some(delay) = delay {
                            thread::sleep(delay);
                        }
                        batch.clear();
                        // Full only if the drain has spares enough; then this one is freed.
                        let _ = spare.try_send(batch);
                        in_flight.fetch_sub(1, Ordering::AcqRel);
                        written
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => Ok(()),
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                let written = written.and_then(|()| {
                    if Instant::now() < next_cut {
                        return Ok(());
                    }
                    next_cut = Instant::now() + CUT_EVERY;
                    writer.cut()
                });
                if let Err(error) = written {
                    return Err(Box::new(writer.failure(error)));
                }
            }
            Ok(writer.finish())
        })
        .expect("spawning the writer thread")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tracer_dataset::{RunInfo, rows::SyscallRecord};

    use super::*;
    use crate::capture::testing::{
        bytes, exec_event, exit_event, gap_event, path_event, syscall_event,
    };

    /// Pids far above any `pid_max`: /proc has none of them.
    const P: u32 = 900_000_000;
    /// x86_64 numbers.
    const READ: i32 = 0;
    const WRITE: i32 = 1;
    const GETPID: i32 = 39;
    const CLONE: i32 = 56;
    const EXECVE: i32 = 59;
    const EXIT_GROUP: i32 = 231;

    /// A writer into a fresh file of a temporary folder.
    fn writer() -> (tempfile::TempDir, PathBuf, Writer) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("t.parquet");
        let run = RunInfo {
            run_id: "t".into(),
            source: "ebpf".into(),
            ..RunInfo::default()
        };
        let sink = SyscallSink::create(&path, run, &[]).expect("a syscalls file");
        (dir, path.clone(), Writer::new(sink, Arch::X86_64, 0))
    }

    fn batch(records: &[&[u8]]) -> Batch {
        let mut batch = Batch::default();
        for r in records {
            batch.push(r);
        }
        batch
    }

    /// Writes `records` as one batch; returns the rows read back, the processes and the stats.
    fn capture(
        roots: &[(u32, bool)],
        records: &[&[u8]],
    ) -> (Vec<SyscallRecord>, Vec<ProcessRow>, WriterStats) {
        let (_dir, path, mut w) = writer();
        for (pid, launched) in roots {
            w.add_root(*pid, ProcessRow::default(), *launched);
        }
        w.write_batch(&batch(records))
            .expect("the batch is written");
        let collected = w.finish();
        collected.sink.close().expect("the file closes");
        let rows = tracer_dataset::rows::read_syscalls(&path).expect("the file reads back");
        (rows, collected.processes, collected.stats)
    }

    fn names(rows: &[SyscallRecord]) -> Vec<&str> {
        rows.iter().map(|r| r.syscall.as_str()).collect()
    }

    #[test]
    fn an_unknown_kind_mid_batch_skips_that_record_only() {
        let mut unknown = syscall_event(P, P, WRITE, 1);
        unknown.kind = 77;
        let (rows, _, stats) = capture(
            &[],
            &[
                bytes(&syscall_event(P, P, GETPID, 1)),
                bytes(&unknown),
                bytes(&syscall_event(P, P, READ, 5)),
                bytes(&path_event(P, P, 257, 3, b"/etc/hosts")),
            ],
        );
        assert_eq!(
            names(&rows),
            ["getpid", "read", "openat"],
            "the records after the unknown one are decoded"
        );
        assert_eq!(
            rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [0, 1, 2],
            "seq has no hole"
        );
        assert_eq!(rows[2].path.as_deref(), Some("/etc/hosts"), "path kept");
        assert_eq!(
            (stats.undecodable, stats.rows),
            (1, 3),
            "one skipped, three rows"
        );
    }

    #[test]
    fn a_gap_is_a_row_in_stream_order() {
        let (rows, _, stats) = capture(
            &[],
            &[
                bytes(&syscall_event(P, P, GETPID, 1)),
                bytes(&gap_event(1, P, P, 0, (4_000, 4_500), [5, 1])),
                bytes(&syscall_event(P, P, READ, 5)),
                bytes(&gap_event(
                    0,
                    P,
                    P,
                    tracer_common::FLAG_GAP_THREADS,
                    (6_000, 6_000),
                    [2, 0],
                )),
            ],
        );
        assert_eq!(
            names(&rows),
            ["getpid", "<gap>", "read", "<gap>"],
            "gap rows where the records were lost"
        );
        let g = &rows[1];
        assert_eq!(
            (g.pid, g.tid, g.nr, g.ret, g.ts_ns, g.duration_ns),
            (P as i32, P as i32, -1, Some(6), Some(4_000), Some(500)),
            "one thread's gap: its task, the count, the time range"
        );
        assert_eq!(g.args, Some(vec![5, 1, 1, 0, 0, 0]), "per kind, cpu, flags");
        let g = &rows[3];
        assert_eq!(
            (g.pid, g.tid, g.args.as_ref().map(|a| a[3])),
            (P as i32, 0, Some(tracer_dataset::gap::GAP_THREADS)),
            "many threads of one process: no tid"
        );
        assert_eq!(
            (stats.gaps, stats.gap_lost, stats.rows),
            (2, 8, 4),
            "counted"
        );
    }

    #[test]
    fn a_short_record_mid_batch_skips_that_record_only() {
        let call = syscall_event(P, P, WRITE, 1);
        let (rows, _, stats) = capture(
            &[],
            &[
                bytes(&syscall_event(P, P, GETPID, 1)),
                &bytes(&call)[..40],
                &[],
                bytes(&syscall_event(P, P, READ, 5)),
            ],
        );
        assert_eq!(names(&rows), ["getpid", "read"], "the next record decodes");
        assert_eq!(stats.undecodable, 2, "the cut record and the empty one");
    }

    #[test]
    fn the_execve_row_takes_its_path_from_the_exec_record_before_it() {
        let (rows, procs, _) = capture(
            &[],
            &[
                bytes(&exec_event(P, P, "/usr/bin/true", &["true", "-x"])),
                // The path register now points into the new image: whatever it read is wrong.
                bytes(&path_event(P, P, EXECVE, 0, b"garbage")),
                bytes(&syscall_event(P, P, GETPID, 1)),
            ],
        );
        assert_eq!(names(&rows), ["execve", "getpid"], "both rows");
        assert_eq!(
            rows[0].path.as_deref(),
            Some("/usr/bin/true"),
            "the exec record's file"
        );
        assert_eq!(rows[0].args, None, "no registers of the old image");
        assert_eq!(rows[1].comm.as_deref(), Some("true"), "the new comm");
        let p = &procs[0];
        assert_eq!(
            (p.exe.as_deref(), p.argv.clone()),
            (
                Some("/usr/bin/true"),
                Some(vec!["true".into(), "-x".into()])
            ),
            "exe and argv of the new image"
        );
        // Without an exec record before it, a failed exec keeps its own path.
        let (rows, _, _) = capture(&[], &[bytes(&path_event(P, P, EXECVE, -2, b"/nope"))]);
        assert_eq!(rows[0].path.as_deref(), Some("/nope"), "its own path");
    }

    #[test]
    fn a_launched_commands_rows_before_its_exec_are_dropped() {
        let (rows, procs, stats) = capture(
            &[(P, true), (P + 1, true)],
            &[
                bytes(&syscall_event(P, P, READ, 1)),
                bytes(&syscall_event(P, P, WRITE, 1)),
                bytes(&exec_event(P, P, "/bin/ls", &["ls"])),
                bytes(&path_event(P, P, EXECVE, 0, b"")),
                bytes(&syscall_event(P, P, GETPID, 1)),
                // P+1's exec record was lost: its execve row ends the launcher's part.
                bytes(&syscall_event(P + 1, P + 1, READ, 1)),
                bytes(&path_event(P + 1, P + 1, EXECVE, 0, b"/bin/true")),
                bytes(&syscall_event(P + 1, P + 1, GETPID, 1)),
                // A child's return from clone is not a row: the call was its parent's.
                bytes(&syscall_event(P + 1, P + 2, CLONE, 0)),
                bytes(&exit_event(P + 1, P + 1, 0, FLAG_IN_SYSCALL, EXIT_GROUP)),
            ],
        );
        let calls: Vec<(i32, &str)> = rows.iter().map(|r| (r.pid, r.syscall.as_str())).collect();
        assert_eq!(
            calls,
            [
                (P as i32, "execve"),
                (P as i32, "getpid"),
                ((P + 1) as i32, "execve"),
                ((P + 1) as i32, "getpid"),
                ((P + 1) as i32, "exit_group"),
            ],
            "the commands' own calls only"
        );
        assert_eq!(rows[2].path.as_deref(), Some("/bin/true"), "its own path");
        assert_eq!(rows[4].ret, None, "exit_group never returned");
        assert_eq!(stats.pre_exec_dropped, 3, "the setup rows are counted");
        assert_eq!(stats.fork_child_returns, 1, "the child's return is counted");
        let start = procs.iter().find(|p| p.pid == P as i32).map(|p| p.start_ns);
        assert_eq!(start, Some(Some(3_000)), "it starts at its exec");
    }

    #[test]
    fn a_launched_command_dying_before_its_exec_writes_no_row() {
        let (rows, _, stats) = capture(
            &[(P, true)],
            &[bytes(&exit_event(
                P,
                P,
                1 << 8,
                FLAG_IN_SYSCALL | tracer_common::FLAG_GROUP_DEAD,
                EXIT_GROUP,
            ))],
        );
        assert!(
            rows.is_empty(),
            "the launcher's exit_group is not a row: {rows:?}"
        );
        assert_eq!(stats.rows, 0, "nothing written");
    }
}
