//! The user side of a capture: a drain thread that empties the ring buffer into byte batches as
//! fast as it can (it only copies), and a writer thread that decodes the records, keeps the
//! process/thread state (names, lineage, exec paths) and writes the Parquet rows. Writing never
//! stalls draining: batches queue between the two.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread,
    time::Duration,
};

use aya::maps::{MapData, RingBuf};
use tracer_common::{
    ExecEvent, ExitEvent, FLAG_COMPAT, FLAG_EXIT_COMPAT, FLAG_GROUP_DEAD, FLAG_HAS_DURATION,
    FLAG_IN_SYSCALL, FLAG_KILLED, FLAG_PATH_FAULT, ForkEvent, KIND_EXEC, KIND_EXIT, KIND_FORK,
    KIND_SYSCALL, KIND_SYSCALL_PATH, MAX_SYSCALL_NR, SyscallEvent, SyscallPathEvent,
};
use tracer_dataset::hash::KeyMap;
use tracer_dataset::{ProcessRow, SinkError, SyscallRow, SyscallSink};

use tracer_dataset::Arch;

/// i386 exit_group (arch/x86/entry/syscalls/syscall_32.tbl).
const IA32_EXIT_GROUP: i32 = 252;

/// Bytes collected before a batch is handed to the writer.
const BATCH_BYTES: usize = 1 << 20;
/// Sleep of the drain thread when the ring is empty. Programs submit without waking us
/// (`BPF_RB_NO_WAKEUP`: a wakeup per event would cost the traced program), so we poll.
const IDLE_POLL: Duration = Duration::from_micros(500);

/// Counters shared with the progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Records drained from the ring buffer.
    pub records: AtomicU64,
}

/// Spawns the drain thread. It runs until `stop` is set, then empties the ring once more and
/// ends, so every record committed before `stop` reaches the writer.
pub fn spawn_drain(
    mut ring: RingBuf<MapData>,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
    batches: mpsc::SyncSender<Vec<u8>>,
) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name("tracer-drain".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(BATCH_BYTES + 4096);
            loop {
                let stopping = stop.load(Ordering::Acquire);
                let mut drained = 0u64;
                while let Some(item) = ring.next() {
                    batch.extend_from_slice(&item);
                    drained += 1;
                    if batch.len() >= BATCH_BYTES {
                        let full =
                            std::mem::replace(&mut batch, Vec::with_capacity(BATCH_BYTES + 4096));
                        if batches.send(full).is_err() {
                            return;
                        }
                    }
                }
                if drained > 0 {
                    progress.records.fetch_add(drained, Ordering::Relaxed);
                }
                if !batch.is_empty() {
                    let part =
                        std::mem::replace(&mut batch, Vec::with_capacity(BATCH_BYTES + 4096));
                    if batches.send(part).is_err() {
                        return;
                    }
                }
                if stopping {
                    return;
                }
                if drained == 0 {
                    thread::sleep(IDLE_POLL);
                }
            }
        })
        .expect("spawning the drain thread")
}

/// Per-syscall totals for `--summary`.
#[derive(Clone, Debug, Default)]
pub struct SyscallTotals {
    /// Calls.
    pub calls: u64,
    /// Calls that returned an error (-4095..=-1).
    pub errors: u64,
    /// Summed durations (duration mode).
    pub duration_ns: u64,
}

/// What the writer saw.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Rows written to the syscalls table.
    pub rows: u64,
    /// Rows of the launched command before its exec (the tracer's own setup), not written.
    pub pre_exec_dropped: u64,
    /// Child-side returns of fork/clone (not rows: the call is the parent's).
    pub fork_child_returns: u64,
    /// Records that failed to decode (should stay 0).
    pub malformed: u64,
    /// Totals per syscall name.
    pub totals: HashMap<&'static str, SyscallTotals>,
}

/// A process as the writer knows it: a `processes` row in the making (its `pid` is filled in
/// by `Writer::finish`).
pub type ProcState = ProcessRow;

/// The exit statuses of a process's threads. What `wait()` reports (kernel/exit.c
/// wait_task_zombie): the group's code after a group exit (exit_group, fatal signal), otherwise
/// the leader's own.
#[derive(Clone, Copy, Debug, Default)]
struct ExitCodes {
    leader: Option<u32>,
    group: Option<u32>,
    last: Option<u32>,
}

impl ExitCodes {
    /// `(exit_code, signal)` for the processes table.
    fn resolve(&self) -> (Option<i32>, Option<i32>) {
        match self.group.or(self.leader).or(self.last) {
            // kernel/exit.c: `status << 8` for exit/exit_group, else the signal (| 0x80 when a
            // core was dumped).
            Some(code) if code & 0x7f == 0 => (Some(((code >> 8) & 0xff) as i32), None),
            Some(code) => (None, Some((code & 0x7f) as i32)),
            None => (None, None),
        }
    }
}

/// One row to write, as both record kinds (returned calls, calls that never returned) give it.
struct Call<'a> {
    tgid: u32,
    tid: u32,
    nr: i32,
    /// A 32-bit call: named from the i386 table.
    compat: bool,
    /// Kernel `CLOCK_MONOTONIC` time of the row.
    ts_mono: u64,
    duration_ns: Option<i64>,
    args: Option<[u64; 6]>,
    ret: Option<i64>,
    path: Option<&'a str>,
}

/// Decoding state and the sink.
pub struct Writer {
    sink: SyscallSink,
    clock_offset_ns: i64,
    names: Vec<&'static str>,
    unknown_names: HashMap<(bool, i32), &'static str>,
    /// `--summary` totals by slot (64-bit numbers, then 32-bit ones): no hashing per row.
    totals: Vec<(Option<&'static str>, SyscallTotals)>,
    execve_nrs: [i32; 2],
    compat_execve_nrs: [i32; 2],
    fork_nrs: [i32; 4],
    exit_group_nr: i32,
    seq: u64,
    comm_by_tid: KeyMap<u32, Option<String>>,
    procs: HashMap<u32, ProcState>,
    /// Exit statuses seen per process, resolved into its row at the end.
    exit_codes: HashMap<u32, ExitCodes>,
    /// Rows of processes whose pid was reused during the capture.
    finished: Vec<ProcessRow>,
    /// Names of 32-bit (ia32) calls.
    compat_names: Vec<&'static str>,
    /// Launched commands until their first exec: their rows are the tracer's own setup.
    awaiting_exec: std::collections::HashSet<u32>,
    pending_exec_path: HashMap<u32, String>,
    stats: WriterStats,
}

fn c_str(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(c_str(bytes)).into_owned()
}

/// Reads a record of type `T` from the start of `buf`, if it is long enough.
fn read_record<T: Copy>(buf: &[u8]) -> Option<T> {
    if buf.len() < std::mem::size_of::<T>() {
        return None;
    }
    // SAFETY: length checked; T is a repr(C) integer-only record (tracer-common), valid for
    // any bit pattern; unaligned read.
    Some(unsafe { std::ptr::read_unaligned(buf.as_ptr() as *const T) })
}

/// Reads `/proc/<tgid>/task/<tid>/comm` for a thread first seen mid-capture (attached with -p).
fn proc_comm(tgid: u32, tid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{tgid}/task/{tid}/comm"))
        .ok()
        .map(|s| s.trim_end_matches('\n').to_string())
}

impl Writer {
    /// A writer into `sink`; `clock_offset_ns` turns kernel monotonic stamps into wall time.
    pub fn new(sink: SyscallSink, arch: Arch, clock_offset_ns: i64) -> Self {
        let names = (0..MAX_SYSCALL_NR as i64)
            .map(|nr| arch.name_of(nr).unwrap_or(""))
            .collect();
        let execve_nrs = [
            arch.number("execve").unwrap_or(-1),
            arch.number("execveat").unwrap_or(-1),
        ];
        let fork_nrs = ["clone", "clone3", "fork", "vfork"].map(|n| arch.number(n).unwrap_or(-1));
        Self {
            sink,
            clock_offset_ns,
            names,
            unknown_names: HashMap::new(),
            totals: vec![(None, SyscallTotals::default()); 2 * MAX_SYSCALL_NR as usize],
            execve_nrs,
            compat_execve_nrs: [
                Arch::X86.number("execve").unwrap_or(-1),
                Arch::X86.number("execveat").unwrap_or(-1),
            ],
            fork_nrs,
            exit_group_nr: arch.number("exit_group").unwrap_or(-1),
            seq: 0,
            comm_by_tid: KeyMap::default(),
            procs: HashMap::new(),
            exit_codes: HashMap::new(),
            finished: Vec::new(),
            compat_names: (0..MAX_SYSCALL_NR as i64)
                .map(|nr| Arch::X86.name_of(nr).unwrap_or(""))
                .collect(),
            awaiting_exec: std::collections::HashSet::new(),
            pending_exec_path: HashMap::new(),
            stats: WriterStats::default(),
        }
    }

    /// Registers a process known before its first event (the launched command, `-p` targets).
    /// `launched` marks the command whose rows before its first exec are the tracer's own.
    pub fn add_root(&mut self, tgid: u32, state: ProcState, launched: bool) {
        if launched {
            self.awaiting_exec.insert(tgid);
        }
        self.comm_by_tid.insert(tgid, state.comm.clone());
        self.procs.insert(tgid, state);
    }

    fn wall(&self, mono_ns: u64) -> i64 {
        mono_ns as i64 + self.clock_offset_ns
    }

    /// The name of call `nr` from the 64-bit table, or the i386 one for 32-bit calls.
    fn call_name(&mut self, nr: i32, compat: bool) -> &'static str {
        let table = if compat {
            &self.compat_names
        } else {
            &self.names
        };
        if let Some(n) = usize::try_from(nr).ok().and_then(|i| table.get(i))
            && !n.is_empty()
        {
            return n;
        }
        self.unknown_names.entry((compat, nr)).or_insert_with(|| {
            let prefix = if compat { "ia32_syscall" } else { "syscall" };
            Box::leak(format!("{prefix}_{nr}").into_boxed_str())
        })
    }

    /// Writes one row: numbers it, names it, counts it for `--summary`, and finds the thread's
    /// command name.
    fn push_row(&mut self, call: &Call<'_>) -> Result<(), SinkError> {
        let name = self.call_name(call.nr, call.compat);
        let slot = usize::try_from(call.nr)
            .ok()
            .filter(|nr| *nr < MAX_SYSCALL_NR as usize)
            .map(|nr| {
                if call.compat {
                    MAX_SYSCALL_NR as usize + nr
                } else {
                    nr
                }
            });
        let totals = match slot {
            Some(i) => {
                let entry = &mut self.totals[i];
                entry.0 = Some(name);
                &mut entry.1
            }
            None => self.stats.totals.entry(name).or_default(),
        };
        totals.calls += 1;
        if call.ret.is_some_and(|r| (-4095..0).contains(&r)) {
            totals.errors += 1;
        }
        totals.duration_ns += call.duration_ns.unwrap_or(0) as u64;
        let seq = self.seq;
        self.seq += 1;
        let ts_ns = Some(self.wall(call.ts_mono));
        let (tgid, tid) = (call.tgid, call.tid);
        let comm = self
            .comm_by_tid
            .entry(tid)
            .or_insert_with(|| proc_comm(tgid, tid))
            .as_deref();
        self.sink.push(&SyscallRow {
            seq,
            ts_ns,
            duration_ns: call.duration_ns,
            pid: tgid as i32,
            tid: tid as i32,
            comm,
            syscall: name,
            nr: call.nr,
            args: call.args,
            ret: call.ret,
            path: call.path,
        })?;
        self.stats.rows += 1;
        Ok(())
    }

    /// Decodes and writes one batch of back-to-back records.
    pub fn write_batch(&mut self, mut buf: &[u8]) -> Result<(), SinkError> {
        while buf.len() >= 4 {
            let kind = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
            let size = match kind {
                KIND_SYSCALL => std::mem::size_of::<SyscallEvent>(),
                KIND_SYSCALL_PATH => std::mem::size_of::<SyscallPathEvent>(),
                KIND_FORK => std::mem::size_of::<ForkEvent>(),
                KIND_EXEC => std::mem::size_of::<ExecEvent>(),
                KIND_EXIT => std::mem::size_of::<ExitEvent>(),
                _ => {
                    // Cannot resynchronise inside a batch; count and drop the rest.
                    self.stats.malformed += 1;
                    return Ok(());
                }
            };
            if buf.len() < size {
                self.stats.malformed += 1;
                return Ok(());
            }
            let (record, rest) = buf.split_at(size);
            buf = rest;
            match kind {
                KIND_SYSCALL => {
                    if let Some(e) = read_record::<SyscallEvent>(record) {
                        self.syscall(&e, None)?;
                    }
                }
                KIND_SYSCALL_PATH => {
                    let e = read_record::<SyscallEvent>(record);
                    let path_at = std::mem::size_of::<SyscallEvent>();
                    if let Some(e) = e {
                        let path = if e.flags & FLAG_PATH_FAULT != 0 {
                            None
                        } else {
                            let len = (e.path_len as usize).min(record.len() - path_at);
                            Some(&record[path_at..path_at + len])
                        };
                        self.syscall(&e, path)?;
                    }
                }
                KIND_FORK => {
                    if let Some(e) = read_record::<ForkEvent>(record) {
                        self.fork(&e);
                    }
                }
                KIND_EXEC => {
                    if let Some(e) = read_record::<ExecEvent>(record) {
                        self.exec(&e);
                    }
                }
                _ => {
                    if let Some(e) = read_record::<ExitEvent>(record) {
                        self.exit(&e)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn syscall(&mut self, e: &SyscallEvent, path: Option<&[u8]>) -> Result<(), SinkError> {
        let is_exec = e.ret == 0
            && if e.flags & FLAG_COMPAT == 0 {
                self.execve_nrs.contains(&e.nr)
            } else {
                self.compat_execve_nrs.contains(&e.nr)
            };
        if !self.awaiting_exec.is_empty() && self.awaiting_exec.contains(&e.tgid) {
            if !is_exec {
                self.stats.pre_exec_dropped += 1;
                return Ok(());
            }
            // The exec event was lost (counted): the successful execve row itself ends the
            // launcher's part.
            self.awaiting_exec.remove(&e.tgid);
        }
        if e.ret == 0 && e.flags & FLAG_COMPAT == 0 && self.fork_nrs.contains(&e.nr) {
            // The child's return from fork/clone passes through sys_exit too, but the call was
            // the parent's (one row, with the child's pid as ret), as strace -f shows it.
            self.stats.fork_child_returns += 1;
            return Ok(());
        }
        let path_owned;
        let mut path_str: Option<&str> = match path {
            Some(p) => match std::str::from_utf8(c_str(p)) {
                Ok(s) => Some(s),
                Err(_) => {
                    path_owned = lossy(p);
                    Some(path_owned.as_str())
                }
            },
            None => None,
        };
        let exec_path;
        if is_exec {
            // After a successful exec the registers belong to the new image; the path comes
            // from the exec event of the same thread, which precedes this record.
            exec_path = self.pending_exec_path.remove(&e.tid);
            if exec_path.is_some() {
                path_str = exec_path.as_deref();
            }
        }
        self.push_row(&Call {
            tgid: e.tgid,
            tid: e.tid,
            nr: e.nr,
            compat: e.flags & FLAG_COMPAT != 0,
            ts_mono: e.ts_ns,
            duration_ns: (e.flags & FLAG_HAS_DURATION != 0).then_some(e.duration_ns as i64),
            // After a successful exec the registers are the new image's (zeroed by the loader).
            args: (!is_exec).then_some(e.args),
            // A call cut short by the thread's death never returned to the program.
            ret: (e.flags & FLAG_KILLED == 0).then_some(e.ret),
            path: path_str,
        })
    }

    fn fork(&mut self, e: &ForkEvent) {
        let comm = lossy(&e.comm);
        self.comm_by_tid.insert(e.child_tid, Some(comm.clone()));
        if e.child_tid == e.child_tgid {
            if self
                .procs
                .get(&e.child_tgid)
                .is_some_and(|p| p.exit_ns.is_some())
            {
                // The pid was reused during the capture: keep the earlier process's row.
                if let Some(old) = self.procs.remove(&e.child_tgid) {
                    let codes = self.exit_codes.remove(&e.child_tgid).unwrap_or_default();
                    self.finished.push(finish_row(e.child_tgid, old, codes));
                }
            }
            let parent = self.procs.get(&e.parent_tgid).cloned().unwrap_or_default();
            self.procs.insert(
                e.child_tgid,
                ProcState {
                    ppid: Some(e.parent_tgid as i32),
                    start_ns: Some(self.wall(e.ts_ns)),
                    comm: Some(comm),
                    exe: parent.exe,
                    argv: parent.argv,
                    ..ProcState::default()
                },
            );
        }
    }

    fn exec(&mut self, e: &ExecEvent) {
        let filename_len = (e.filename_len as usize).min(e.filename.len());
        let filename = lossy(&e.filename[..filename_len]);
        let argv_len = (e.argv_len as usize).min(e.argv.len());
        let mut argv: Vec<String> = e.argv[..argv_len]
            .split(|b| *b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        if argv.last().is_some_and(String::is_empty) {
            argv.pop();
        }
        let comm = lossy(&e.comm);
        if e.old_tid != e.tid {
            self.comm_by_tid.remove(&e.old_tid);
        }
        self.comm_by_tid.insert(e.tid, Some(comm.clone()));
        let proc = self.procs.entry(e.tgid).or_default();
        proc.comm = Some(comm);
        proc.exe = Some(filename.clone());
        proc.argv = Some(argv);
        self.pending_exec_path.insert(e.tid, filename);
        if self.awaiting_exec.remove(&e.tgid) {
            // A launched command starts when it starts running its program, not when the
            // launcher forked it (M.S commands wait, forked, for their turn).
            let wall = self.wall(e.ts_ns);
            if let Some(p) = self.procs.get_mut(&e.tgid) {
                p.start_ns = Some(wall);
            }
        }
    }

    fn exit(&mut self, e: &ExitEvent) -> Result<(), SinkError> {
        if e.flags & FLAG_IN_SYSCALL != 0 && !self.awaiting_exec.contains(&e.tgid) {
            // A call that never returned (exit, exit_group): no return value, no duration.
            self.push_row(&Call {
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
        self.comm_by_tid.remove(&e.tid);
        self.pending_exec_path.remove(&e.tid);
        let codes = self.exit_codes.entry(e.tgid).or_default();
        codes.last = Some(e.exit_code);
        if e.tid == e.tgid {
            codes.leader = Some(e.exit_code);
        }
        let exit_group_nr = if e.flags & FLAG_EXIT_COMPAT != 0 {
            IA32_EXIT_GROUP
        } else {
            self.exit_group_nr
        };
        let group_exit = e.flags & FLAG_IN_SYSCALL != 0 && e.nr == exit_group_nr;
        if group_exit || e.exit_code & 0x7f != 0 {
            codes.group = Some(e.exit_code);
        }
        if e.flags & FLAG_GROUP_DEAD != 0 {
            let wall = self.wall(e.ts_ns);
            self.procs.entry(e.tgid).or_default().exit_ns = Some(wall);
        }
        Ok(())
    }

    /// Ends writing: returns the sink (still open, for final metadata), the process rows and
    /// the statistics.
    pub fn finish(mut self) -> (SyscallSink, Vec<ProcessRow>, WriterStats) {
        let mut rows = std::mem::take(&mut self.finished);
        for (pid, p) in std::mem::take(&mut self.procs) {
            let codes = self.exit_codes.remove(&pid).unwrap_or_default();
            rows.push(finish_row(pid, p, codes));
        }
        rows.sort_by_key(|r| (r.start_ns, r.pid));
        for (name, t) in std::mem::take(&mut self.totals) {
            if let Some(name) = name {
                *self.stats.totals.entry(name).or_default() = t;
            }
        }
        (self.sink, rows, self.stats)
    }
}

/// Lowers the calling thread to nice 10: decoding and compressing yield to the traced workload
/// (on a 2-core machine the writer would otherwise take a core from it), while still getting
/// a share of a busy CPU. Batches queue meanwhile, up to a bound (see `record`); the drain
/// thread keeps normal priority.
fn lower_priority() {
    // SAFETY: gettid has no preconditions; setpriority on our own thread id. Failure only
    // costs priority.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

/// A process's final row: its pid and, if it ended, the exit status `wait()` would report.
fn finish_row(pid: u32, mut p: ProcState, codes: ExitCodes) -> ProcessRow {
    p.pid = pid as i32;
    if p.exit_ns.is_some() {
        (p.exit_code, p.signal) = codes.resolve();
    }
    p
}

/// What the writer thread hands back: the open sink, the process rows, the statistics.
pub type WriterOutput = (SyscallSink, Vec<ProcessRow>, WriterStats);

/// Spawns the writer thread: decodes every batch until the drain side hangs up.
pub fn spawn_writer(
    mut writer: Writer,
    batches: mpsc::Receiver<Vec<u8>>,
) -> thread::JoinHandle<Result<WriterOutput, SinkError>> {
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
