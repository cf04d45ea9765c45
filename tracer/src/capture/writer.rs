//! The writer thread: takes the drain's batches, decodes each record ([`decode`]), keeps the
//! process table ([`Lineage`]) and writes the rows ([`Rows`]) and `--summary` [`Totals`].
//! It runs at a lower priority than the traced workload; batches queue meanwhile.
//!
//! [`decode`]: super::decode

use std::{borrow::Cow, sync::mpsc, thread};

use tracer_common::{
    ExitEvent, FLAG_COMPAT, FLAG_EXIT_COMPAT, FLAG_HAS_DURATION, FLAG_IN_SYSCALL, FLAG_KILLED,
    SyscallEvent,
};
use tracer_dataset::{Arch, ProcessRow, SinkError, SyscallSink};

use super::{
    decode::{Record, decode},
    drain::Batch,
    lineage::{Admit, Lineage},
    rows::{Call, Rows},
    totals::{SyscallTotals, Totals},
};

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
}

/// What the writer hands back at the end.
pub struct Collected {
    /// The syscalls sink, still open for the footer metadata.
    pub sink: SyscallSink,
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
    /// clone, clone3, fork, vfork (64-bit).
    fork: [i32; 4],
}

impl SpecialCalls {
    fn new(arch: Arch) -> Self {
        let exec = |a: Arch| ["execve", "execveat"].map(|n| a.number(n).unwrap_or(-1));
        Self {
            execve: [exec(arch), exec(Arch::X86)],
            fork: ["clone", "clone3", "fork", "vfork"].map(|n| arch.number(n).unwrap_or(-1)),
        }
    }
}

/// Decoding state and the sink.
pub struct Writer {
    rows: Rows,
    lineage: Lineage,
    totals: Totals,
    calls: SpecialCalls,
    stats: WriterStats,
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
        }
    }

    /// Registers a process known before its first record (the launched command, `-p`
    /// targets). `launched` marks a command whose rows before its first exec are the tracer's.
    pub fn add_root(&mut self, tgid: u32, row: ProcessRow, launched: bool) {
        self.lineage.add_root(tgid, row, launched);
    }

    /// Decodes and writes one batch; a record that does not decode is counted and skipped.
    pub fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        for record in batch.records() {
            self.write_record(record)?;
        }
        Ok(())
    }

    /// Decodes and writes one record.
    #[inline]
    pub fn write_record(&mut self, record: &[u8]) -> Result<(), SinkError> {
        match decode(record) {
            Ok(Record::Syscall(e)) => self.syscall(&e, None),
            Ok(Record::SyscallPath { call, path }) => self.syscall(&call, path),
            Ok(Record::Fork(f)) => {
                self.lineage.fork(&f);
                Ok(())
            }
            Ok(Record::Exec(e)) => {
                self.lineage.exec(e);
                Ok(())
            }
            Ok(Record::Exit(e)) => self.exit(&e),
            Err(error) => {
                log::debug!("skipping a ring-buffer record: {error}");
                self.stats.undecodable += 1;
                Ok(())
            }
        }
    }

    /// A call that returned.
    #[inline]
    fn syscall(&mut self, e: &SyscallEvent, path: Option<Cow<'_, str>>) -> Result<(), SinkError> {
        let compat = e.flags & FLAG_COMPAT != 0;
        let is_exec = e.ret == 0 && self.calls.execve[usize::from(compat)].contains(&e.nr);
        let exec_path = match self.lineage.admit(e.tgid, e.tid, is_exec) {
            Admit::PreExec => {
                self.stats.pre_exec_dropped += 1;
                return Ok(());
            }
            Admit::Row { exec_path } => exec_path,
        };
        if e.ret == 0 && !compat && self.calls.fork.contains(&e.nr) {
            // The child's return from fork/clone passes through sys_exit too, but the call was
            // the parent's (one row, with the child's pid as ret), as strace -f shows it.
            self.stats.fork_child_returns += 1;
            return Ok(());
        }
        // After a successful exec the path comes from the exec record (see `lineage`).
        let path = exec_path.map(Cow::Owned).or(path);
        self.write_call(&Call {
            tgid: e.tgid,
            tid: e.tid,
            nr: e.nr,
            compat,
            ts_mono: e.ts_ns,
            duration_ns: (e.flags & FLAG_HAS_DURATION != 0).then_some(e.duration_ns as i64),
            // After a successful exec the registers are the new image's (zeroed by the loader).
            args: (!is_exec).then_some(e.args),
            // A call cut short by the thread's death never returned to the program.
            ret: (e.flags & FLAG_KILLED == 0).then_some(e.ret),
            path: path.as_deref(),
        })
    }

    /// A thread exited, perhaps inside a call that never returned (exit, exit_group).
    fn exit(&mut self, e: &ExitEvent) -> Result<(), SinkError> {
        if e.flags & FLAG_IN_SYSCALL != 0 && !self.lineage.awaiting_exec(e.tgid) {
            // No return value, no duration.
            self.write_call(&Call {
                tgid: e.tgid,
                tid: e.tid,
                nr: e.nr,
                compat: e.flags & FLAG_EXIT_COMPAT != 0,
                ts_mono: e.ts_ns,
                duration_ns: None,
                args: Some(e.args),
                ret: None,
                path: None,
            })?;
        }
        self.lineage.exit(e);
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
        Collected {
            sink: self.rows.into_sink(),
            processes: self.lineage.finish(),
            stats: self.stats,
            totals: self.totals.into_sorted(),
        }
    }
}

/// Lowers the calling thread to nice 10: decoding and compressing yield to the traced workload
/// (on a 2-core machine the writer would otherwise take a core from it), while still getting
/// a share of a busy CPU. Batches queue meanwhile, up to a bound (see `pipeline`); the drain
/// thread keeps normal priority.
fn lower_priority() {
    // SAFETY: gettid has no preconditions; setpriority on our own thread id. Failure only
    // costs priority.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

/// Spawns the writer thread: writes every batch until the drain side hangs up.
pub fn spawn_writer(
    mut writer: Writer,
    batches: mpsc::Receiver<Batch>,
) -> thread::JoinHandle<Result<Collected, SinkError>> {
    thread::Builder::new()
        .name("tracer-writer".into())
        .spawn(move || {
            lower_priority();
            for batch in batches {
                writer.write_batch(&batch)?;
            }
            Ok(writer.finish())
        })
        .expect("spawning the writer thread")
}
