//! Turns parsed strace lines into rows: pairs `<unfinished ...>` with `<... resumed>` per thread
//! (entry time and arguments from the first half, duration and return from the second), maps
//! thread ids to process ids, and builds the `processes` table from fork/clone returns, execve
//! and `+++ exited/killed +++` lines.
//!
//! Decisions:
//! - `seq` is the order of the call's *entry* line in the log (the order strace saw the calls
//!   start). Rows are written when the call completes, so a file's rows can be out of `seq` order
//!   where calls overlap; readers order by `seq`.
//! - strace prefixes lines with the thread id. A new tid's process is known from the clone
//!   return that created it (`CLONE_THREAD` means same process). When the child's first line comes
//!   before its parent's clone returned (common under `-f`), the child is attributed to the clone
//!   still unfinished at that moment (the earliest, if several): a thread if that clone has
//!   `CLONE_THREAD`, otherwise a new process of the cloning process. A tid seen with no clone at
//!   all is a root process.
//! - A call still unfinished when its thread exits, or at the end of the log, is written with a
//!   null `ret` (it never returned: exit_group, a thread killed by another's exit_group).

use std::collections::HashMap;

use tracer_dataset::{ProcessRow, SinkError, SyscallRow, SyscallSink};

use super::{
    args::{creates_thread, numeric_args, path_at, string_list},
    parser::{Body, Ret},
};
use tracer_dataset::arch::{SyscallInfo, SyscallTable, signal_by_name};

/// One line, with its thread id and wall-clock time resolved.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// Thread id.
    pub tid: i32,
    /// `-Y` command name.
    pub comm: Option<&'a str>,
    /// Wall-clock ns since the epoch.
    pub ts_ns: Option<i64>,
    /// What the line says.
    pub body: Body<'a>,
}

/// The first half of a call, kept until its second half arrives.
#[derive(Debug)]
struct Pending {
    seq: u64,
    ts_ns: Option<i64>,
    name: String,
    args: String,
    comm: Option<String>,
}

/// Counts kept while assembling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssemblyStats {
    /// Rows written.
    pub rows: u64,
    /// Rows whose syscall name is not in the architecture's table (`nr` = -1).
    pub unknown_syscalls: u64,
    /// `<... resumed>` halves with no first half (a trace attached mid-call).
    pub orphan_resumes: u64,
    /// First wall-clock time seen.
    pub first_ts_ns: Option<i64>,
    /// Last wall-clock time seen.
    pub last_ts_ns: Option<i64>,
}

/// Builds rows and processes from events, writing rows to a sink.
pub struct Assembler {
    table: &'static SyscallTable,
    sink: SyscallSink,
    next_seq: u64,
    pending: HashMap<i32, Pending>,
    tgid: HashMap<i32, i32>,
    last_tid: (i32, i32),
    procs: HashMap<i32, ProcessRow>,
    proc_order: Vec<i32>,
    stats: AssemblyStats,
}

fn is_spawn(name: &str) -> bool {
    matches!(name, "clone" | "clone3" | "fork" | "vfork")
}

impl Assembler {
    /// Writes rows into `sink`, naming calls from `table`.
    pub fn new(table: &'static SyscallTable, sink: SyscallSink) -> Self {
        Self {
            table,
            sink,
            next_seq: 0,
            pending: HashMap::new(),
            tgid: HashMap::new(),
            last_tid: (i32::MIN, 0),
            procs: HashMap::new(),
            proc_order: Vec::new(),
            stats: AssemblyStats::default(),
        }
    }

    /// The sink, for metadata.
    pub fn sink_mut(&mut self) -> &mut SyscallSink {
        &mut self.sink
    }

    fn new_process(&mut self, pid: i32, ppid: Option<i32>, ts_ns: Option<i64>) {
        if self.procs.contains_key(&pid) {
            return;
        }
        self.procs.insert(
            pid,
            ProcessRow {
                pid,
                ppid,
                start_ns: ts_ns,
                ..ProcessRow::default()
            },
        );
        self.proc_order.push(pid);
    }

    /// The process of thread `tid`, learning it on first sight (see the module doc).
    fn tgid_of(&mut self, tid: i32, ts_ns: Option<i64>) -> i32 {
        if self.last_tid.0 == tid {
            return self.last_tid.1;
        }
        let pid = match self.tgid.get(&tid) {
            Some(p) => *p,
            None => {
                let cloning = self
                    .pending
                    .iter()
                    .filter(|(t, p)| **t != tid && is_spawn(&p.name))
                    .min_by_key(|(_, p)| p.seq)
                    .map(|(t, p)| (*t, creates_thread(&p.name, &p.args)));
                let pid = match cloning {
                    Some((parent, thread)) => {
                        let parent_pid = self.tgid_of(parent, ts_ns);
                        if thread {
                            parent_pid
                        } else {
                            self.new_process(tid, Some(parent_pid), ts_ns);
                            tid
                        }
                    }
                    None => {
                        self.new_process(tid, None, ts_ns);
                        tid
                    }
                };
                self.tgid.insert(tid, pid);
                pid
            }
        };
        self.last_tid = (tid, pid);
        pid
    }

    /// A clone/fork in `parent_tid` returned `child`.
    fn spawned(&mut self, parent_tid: i32, child: i32, thread: bool, ts_ns: Option<i64>) {
        let parent_pid = self.tgid_of(parent_tid, ts_ns);
        let pid = if thread { parent_pid } else { child };
        if !thread {
            self.new_process(child, Some(parent_pid), ts_ns);
            if let Some(p) = self.procs.get_mut(&child) {
                p.ppid = Some(parent_pid);
            }
        }
        self.tgid.insert(child, pid);
        if self.last_tid.0 == child {
            self.last_tid = (child, pid);
        }
    }

    fn lookup(&self, name: &str) -> Option<SyscallInfo> {
        if let Some(info) = self.table.by_name(name) {
            return Some(info);
        }
        // strace prints calls it has no name for as `syscall_0x1b4`.
        let hex = name.strip_prefix("syscall_0x")?;
        let nr = i64::from_str_radix(hex, 16).ok()?;
        self.table.by_nr(nr).or(Some(SyscallInfo {
            name: "",
            nr: i32::try_from(nr).ok()?,
            path_arg: None,
        }))
    }

    #[expect(clippy::too_many_arguments, reason = "one row's fields, all needed")]
    fn emit(
        &mut self,
        seq: u64,
        tid: i32,
        comm: Option<&str>,
        ts_ns: Option<i64>,
        duration_ns: Option<i64>,
        name: &str,
        args: &str,
        ret: Option<i64>,
    ) -> Result<(), SinkError> {
        let pid = self.tgid_of(tid, ts_ns);
        let info = self.lookup(name);
        let (syscall, nr, path_arg) = match info {
            Some(i) if !i.name.is_empty() => (i.name, i.nr, i.path_arg),
            Some(i) => (name, i.nr, None),
            None => {
                self.stats.unknown_syscalls += 1;
                (name, -1, None)
            }
        };
        let path = path_arg.and_then(|i| path_at(args, i));
        self.sink.push(&SyscallRow {
            seq,
            ts_ns,
            duration_ns,
            pid,
            tid,
            comm,
            syscall,
            nr,
            args: Some(numeric_args(args)),
            ret,
            path: path.as_deref(),
        })?;
        self.stats.rows += 1;
        match (syscall, ret) {
            (s, Some(child)) if child > 0 && is_spawn(s) => {
                let child = i32::try_from(child).unwrap_or(i32::MAX);
                self.spawned(tid, child, creates_thread(s, args), ts_ns);
            }
            ("execve" | "execveat", Some(0)) => {
                let argv_idx = if syscall == "execve" { 1 } else { 2 };
                let mut argv = None;
                super::args::for_each_arg(args, argv_idx + 1, |i, a| {
                    if i == argv_idx {
                        argv = string_list(a);
                    }
                });
                let exe = path.map(|p| p.into_owned());
                if let Some(p) = self.procs.get_mut(&pid) {
                    p.exe = exe;
                    p.argv = argv;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn flush_pending(&mut self, tid: i32) -> Result<(), SinkError> {
        if let Some(p) = self.pending.remove(&tid) {
            self.emit(
                p.seq,
                tid,
                p.comm.as_deref(),
                p.ts_ns,
                None,
                &p.name,
                &p.args,
                None,
            )?;
        }
        Ok(())
    }

    /// Takes one event in log order.
    pub fn feed(&mut self, ev: Event<'_>) -> Result<(), SinkError> {
        if let Some(ts) = ev.ts_ns {
            self.stats.first_ts_ns.get_or_insert(ts);
            self.stats.last_ts_ns = Some(ts);
        }
        match ev.body {
            Body::Call {
                name,
                args,
                ret,
                duration_ns,
            } => {
                let seq = self.next_seq;
                self.next_seq += 1;
                let ret = match ret {
                    Ret::Value(v) => Some(v),
                    Ret::Unknown => None,
                };
                self.emit(seq, ev.tid, ev.comm, ev.ts_ns, duration_ns, name, args, ret)?;
            }
            Body::Unfinished { name, args } => {
                self.flush_pending(ev.tid)?;
                let seq = self.next_seq;
                self.next_seq += 1;
                self.tgid_of(ev.tid, ev.ts_ns);
                self.pending.insert(
                    ev.tid,
                    Pending {
                        seq,
                        ts_ns: ev.ts_ns,
                        name: name.to_string(),
                        args: args.to_string(),
                        comm: ev.comm.map(str::to_string),
                    },
                );
            }
            Body::Resumed {
                name,
                args,
                ret,
                duration_ns,
            } => {
                let ret = match ret {
                    Ret::Value(v) => Some(v),
                    Ret::Unknown => None,
                };
                match self.pending.remove(&ev.tid) {
                    Some(p) if p.name == name => {
                        let full = if p.args.is_empty() {
                            args.to_string()
                        } else {
                            format!("{} {}", p.args, args)
                        };
                        let comm = p.comm.as_deref().or(ev.comm);
                        self.emit(
                            p.seq,
                            ev.tid,
                            comm,
                            p.ts_ns,
                            duration_ns,
                            &p.name,
                            &full,
                            ret,
                        )?;
                    }
                    other => {
                        if let Some(p) = other {
                            self.pending.insert(ev.tid, p);
                            self.flush_pending(ev.tid)?;
                        }
                        self.stats.orphan_resumes += 1;
                        let seq = self.next_seq;
                        self.next_seq += 1;
                        self.emit(seq, ev.tid, ev.comm, ev.ts_ns, duration_ns, name, args, ret)?;
                    }
                }
            }
            Body::Exited { code } => {
                self.flush_pending(ev.tid)?;
                self.exited(ev.tid, ev.ts_ns, Some(code), None);
            }
            Body::Killed { signal } => {
                self.flush_pending(ev.tid)?;
                self.exited(ev.tid, ev.ts_ns, None, signal_by_name(signal));
            }
            Body::Signal { .. } | Body::Note => {}
        }
        if let Some(c) = ev.comm {
            let pid = self.tgid_of(ev.tid, ev.ts_ns);
            if let Some(p) = self.procs.get_mut(&pid)
                && p.comm.as_deref() != Some(c)
            {
                p.comm = Some(c.to_string());
            }
        }
        Ok(())
    }

    fn exited(&mut self, tid: i32, ts_ns: Option<i64>, code: Option<i32>, signal: Option<i32>) {
        let pid = self.tgid_of(tid, ts_ns);
        if let Some(p) = self.procs.get_mut(&pid)
            && (tid == pid || (p.exit_code.is_none() && p.signal.is_none()))
        {
            p.exit_ns = ts_ns;
            p.exit_code = code;
            p.signal = signal;
        }
    }

    /// Writes the calls still unfinished (with a null `ret`), and returns the sink, the
    /// processes in order of appearance, and the counts.
    pub fn finish(mut self) -> Result<(SyscallSink, Vec<ProcessRow>, AssemblyStats), SinkError> {
        let mut left: Vec<(u64, i32)> = self.pending.iter().map(|(t, p)| (p.seq, *t)).collect();
        left.sort_unstable();
        for (_, tid) in left {
            self.flush_pending(tid)?;
        }
        let procs = self
            .proc_order
            .iter()
            .filter_map(|pid| self.procs.remove(pid))
            .collect();
        Ok((self.sink, procs, self.stats))
    }
}

#[cfg(test)]
mod tests {
    use tracer_dataset::RunInfo;

    use super::*;
    use tracer_dataset::Arch;

    fn assembler(dir: &tempfile::TempDir) -> Assembler {
        let sink = SyscallSink::create(&dir.path().join("t.parquet"), RunInfo::default(), &[])
            .expect("create sink");
        Assembler::new(Arch::X86_64.table(), sink)
    }

    fn ev(tid: i32, body: Body<'_>) -> Event<'_> {
        Event {
            tid,
            comm: None,
            ts_ns: None,
            body,
        }
    }

    fn call<'a>(name: &'a str, args: &'a str, ret: i64) -> Body<'a> {
        Body::Call {
            name,
            args,
            ret: Ret::Value(ret),
            duration_ns: None,
        }
    }

    #[test]
    fn a_thread_seen_before_its_clone_returned_joins_the_cloning_process() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut a = assembler(&dir);
        a.feed(ev(10, call("execve", "\"/bin/x\", [\"x\"], 0x1", 0)))
            .unwrap();
        a.feed(ev(
            10,
            Body::Unfinished {
                name: "clone3",
                args: "{flags=CLONE_VM|CLONE_THREAD}",
            },
        ))
        .unwrap();
        a.feed(ev(11, call("gettid", "", 11))).unwrap();
        a.feed(ev(
            10,
            Body::Resumed {
                name: "clone3",
                args: ", 88",
                ret: Ret::Value(11),
                duration_ns: None,
            },
        ))
        .unwrap();
        a.feed(ev(11, Body::Exited { code: 0 })).unwrap();
        a.feed(ev(10, Body::Exited { code: 4 })).unwrap();
        let (_, procs, stats) = a.finish().unwrap();
        assert_eq!(stats.rows, 3);
        assert_eq!(procs.len(), 1, "{procs:?}");
        assert_eq!(
            (procs[0].pid, procs[0].exit_code, procs[0].exe.as_deref()),
            (10, Some(4), Some("/bin/x"))
        );
        assert_eq!(procs[0].argv, Some(vec!["x".to_string()]));
    }

    #[test]
    fn a_child_seen_before_its_fork_returned_is_a_new_process() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut a = assembler(&dir);
        a.feed(ev(
            10,
            Body::Unfinished {
                name: "clone",
                args: "child_stack=NULL, flags=SIGCHLD",
            },
        ))
        .unwrap();
        a.feed(ev(12, call("getppid", "", 10))).unwrap();
        a.feed(ev(
            12,
            Body::Unfinished {
                name: "pause",
                args: "",
            },
        ))
        .unwrap();
        a.feed(ev(
            10,
            Body::Resumed {
                name: "clone",
                args: "",
                ret: Ret::Value(12),
                duration_ns: None,
            },
        ))
        .unwrap();
        a.feed(ev(12, Body::Killed { signal: "SIGKILL" })).unwrap();
        // A call left unfinished at the end of the log is still written.
        a.feed(ev(
            10,
            Body::Unfinished {
                name: "wait4",
                args: "-1,",
            },
        ))
        .unwrap();
        let (_, procs, stats) = a.finish().unwrap();
        assert_eq!(stats.rows, 4, "clone, getppid, pause (killed), wait4 (cut)");
        let child = procs.iter().find(|p| p.pid == 12).expect("child");
        assert_eq!(
            (child.ppid, child.signal, child.exit_code),
            (Some(10), Some(9), None)
        );
    }

    #[test]
    fn a_resume_without_its_first_half_is_kept_and_counted() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut a = assembler(&dir);
        a.feed(ev(
            5,
            Body::Resumed {
                name: "read",
                args: "\"x\", 1",
                ret: Ret::Value(1),
                duration_ns: None,
            },
        ))
        .unwrap();
        a.feed(ev(5, call("syscall_0x3e7", "", -38))).unwrap();
        let (_, _, stats) = a.finish().unwrap();
        assert_eq!(
            (stats.rows, stats.orphan_resumes, stats.unknown_syscalls),
            (2, 1, 0)
        );
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use tracer_dataset::RunInfo;

    use super::*;
    use crate::ingest::strace::parser::parse_line;
    use tracer_dataset::Arch;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any sequence of strace-like lines from a few threads assembles without panicking, and
        /// every call line becomes exactly one row.
        #[test]
        fn any_line_sequence_assembles(
            lines in proptest::collection::vec(
                (1i32..5, prop_oneof![
                    Just("clone(child_stack=NULL, flags=SIGCHLD) = 3".to_string()),
                    Just("clone3({flags=CLONE_VM|CLONE_THREAD}, 88) = 4".to_string()),
                    Just("clone(child_stack=NULL, flags=CLONE_THREAD <unfinished ...>".to_string()),
                    Just("<... clone resumed>, tls=0x1) = 2".to_string()),
                    Just("read(3,  <unfinished ...>".to_string()),
                    Just("<... read resumed>\"ab\", 2) = 2".to_string()),
                    Just("<... futex resumed>) = ?".to_string()),
                    Just("execve(\"/bin/x\", [\"x\"], 0x1 /* 1 var */) = 0".to_string()),
                    Just("exit_group(0) = ?".to_string()),
                    Just("+++ exited with 1 +++".to_string()),
                    Just("+++ killed by SIGKILL +++".to_string()),
                    Just("--- SIGCHLD {si_signo=SIGCHLD} ---".to_string()),
                    "[a-z]{1,8}\\(\\) = -?[0-9]{1,3}",
                ]),
                0..40,
            )
        ) {
            let dir = tempfile::tempdir().expect("tmp");
            let sink = SyscallSink::create(&dir.path().join("p.parquet"), RunInfo::default(), &[])
                .expect("sink");
            let mut a = Assembler::new(Arch::X86_64.table(), sink);
            let mut calls = 0u64;
            for (tid, text) in &lines {
                let l = parse_line(text).expect("the fragments are valid lines");
                if matches!(l.body, Body::Call { .. } | Body::Unfinished { .. }) {
                    calls += 1;
                }
                a.feed(Event { tid: *tid, comm: None, ts_ns: None, body: l.body }).expect("feed");
            }
            let (sink, _, stats) = a.finish().expect("finish");
            prop_assert_eq!(stats.rows, calls + stats.orphan_resumes);
            sink.close().expect("close");
        }
    }
}
