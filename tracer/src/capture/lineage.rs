//! The process table of a capture: one `processes` row per process lifetime (parent, start and
//! end, exit status, last comm, exe and argv), the command name of every thread, and which
//! launched commands have not exec'd yet.
//!
//! It relies on these orderings of the records. Each pair is written by the same task in
//! program order, and the drain's merge of the per-CPU rings keeps each task's records, and a
//! fork's before the child's, in that order (`ring`):
//!
//! 1. **Fork before the child's first record.** `sched_process_fork` runs in the parent before
//!    the child can run: a thread's name, and a new process's row (ppid, start, the parent's
//!    exe and argv), exist before the child's first call.
//! 2. **Exec before the execve row.** `sched_process_exec` fires inside execve, before the call
//!    returns through `sys_exit`: the exec record (new comm, exe, argv) precedes the row of the
//!    successful execve, which takes its path from it (`pending_exec_path`): after a successful
//!    exec the path register points into the new image.
//! 3. **A launched command's records before its first exec are the tracer's own** (the
//!    launcher's wait for its release, dup2, setuid, ...). `awaiting_exec` holds the command from
//!    `add_root` until its exec record, and its rows meanwhile are dropped (counted by the
//!    caller). If that exec record was lost (counted), the successful execve row itself ends
//!    the wait. The command starts when its exec does, not when it was forked (M.S commands
//!    wait, forked, for their turn).
//! 4. **A thread's exit is its last record.** The call it died in (exit, exit_group), which
//!    never returned, is written from the exit record before the thread's name is forgotten.
//!    `FLAG_GROUP_DEAD` marks the process's last thread: its time is the process's end.
//! 5. **A pid can be reused** once its process is gone. The fork record of a new process whose
//!    pid already has an ended row sets that row aside, so both lifetimes get a row.
//! 6. **The exit status is what `wait()` reports** (kernel/exit.c `wait_task_zombie`): the
//!    group's code after a group exit (exit_group, a fatal signal), else the leader's own.
//!    A launched command whose exit record was lost gets the tracer's own `waitpid` status at
//!    the end ([`fill_from_wait`], `exit_from_wait` true).
//! 7. **The parent is the kernel's real parent** (`child->real_parent`, in the fork record):
//!    under `CLONE_PARENT` that is the caller's parent, not the caller. The child's exe and
//!    argv are still the caller's (it runs the caller's image).
//! 8. **A child the kernel's filter had no room for is marked** (`followed` false): it and its
//!    descendants ran untraced.

use std::collections::{HashMap, HashSet};

use tracer_common::{ExitEvent, FLAG_EXIT_COMPAT, FLAG_GROUP_DEAD, FLAG_IN_SYSCALL};
use tracer_dataset::{Arch, ProcessRow, hash::KeyMap};

use super::{
    decode::{ExecRecord, ForkRecord},
    procfs,
};

/// The exit statuses of a process's threads (`task_struct::exit_code` values).
#[derive(Clone, Copy, Debug, Default)]
struct ExitCodes {
    leader: Option<u32>,
    group: Option<u32>,
    last: Option<u32>,
}

impl ExitCodes {
    /// `(exit_code, signal)` for the processes table (rule 6).
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

/// A process's final row: its pid and, if it ended, the exit status `wait()` would report.
fn finish_row(pid: u32, mut row: ProcessRow, codes: ExitCodes) -> ProcessRow {
    row.pid = pid as i32;
    if row.exit_ns.is_some() && row.exit_from_wait != Some(true) {
        (row.exit_code, row.signal) = codes.resolve();
        row.exit_from_wait = (row.exit_code.is_some() || row.signal.is_some()).then_some(false);
    }
    row
}

/// A launched command `pid` reaped by the tracer with `exit_code` or `signal` at wall time
/// `end_ns`: if its exit record was lost (its last row has no end), that row takes them, marked
/// `exit_from_wait` (rule 6). The kernel's record wins where it was not lost.
pub fn fill_from_wait(
    rows: &mut [ProcessRow],
    pid: i32,
    end_ns: i64,
    exit_code: Option<i32>,
    signal: Option<i32>,
) {
    if exit_code.is_none() && signal.is_none() {
        return;
    }
    // With a reused pid, the launched command's row is the one that has not ended.
    if let Some(row) = rows
        .iter_mut()
        .rev()
        .find(|r| r.pid == pid && r.exit_ns.is_none())
    {
        row.exit_ns = Some(end_ns);
        row.exit_code = exit_code;
        row.signal = signal;
        row.exit_from_wait = Some(true);
    }
}

/// What becomes of a returned call (see `Lineage::admit`).
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Dropped: a launched command's own setup before its exec (rule 3).
    PreExec,
    /// Written; a successful exec's row takes `exec_path` as its path (rule 2).
    Row {
        /// The executed file, from the exec record.
        exec_path: Option<String>,
    },
}

/// The process table.
#[derive(Debug)]
pub struct Lineage {
    clock_offset_ns: i64,
    /// exit_group's number in the run's table and in the i386 one.
    exit_group_nrs: [i32; 2],
    /// Name per thread; `None` where /proc had none either.
    comm_by_tid: KeyMap<u32, Option<String>>,
    /// Rows in the making, by pid (their `pid` is filled in by `finish`).
    procs: HashMap<u32, ProcessRow>,
    /// Exit statuses seen per process, resolved into its row at the end.
    exit_codes: HashMap<u32, ExitCodes>,
    /// Rows of processes whose pid was reused during the capture (rule 5).
    finished: Vec<ProcessRow>,
    /// Launched commands until their first exec (rule 3).
    awaiting_exec: HashSet<u32>,
    /// The executed file per thread, from its exec record until its execve row (rule 2).
    pending_exec_path: HashMap<u32, String>,
    /// A row changed since the last `take_changed` (the journal's snapshot is due).
    changed: bool,
}

impl Lineage {
    /// An empty table; `clock_offset_ns` turns kernel monotonic stamps into wall time.
    pub fn new(arch: Arch, clock_offset_ns: i64) -> Self {
        Self {
            clock_offset_ns,
            exit_group_nrs: [arch, Arch::X86].map(|a| a.number("exit_group").unwrap_or(-1)),
            comm_by_tid: KeyMap::default(),
            procs: HashMap::new(),
            exit_codes: HashMap::new(),
            finished: Vec::new(),
            awaiting_exec: HashSet::new(),
            pending_exec_path: HashMap::new(),
            changed: false,
        }
    }

    fn wall(&self, mono_ns: u64) -> i64 {
        mono_ns as i64 + self.clock_offset_ns
    }

    /// Registers a process known before its first record (a launched command, a `-p` target).
    /// `launched`: its records before its first exec are the tracer's own (rule 3).
    pub fn add_root(&mut self, tgid: u32, mut row: ProcessRow, launched: bool) {
        self.changed = true;
        row.followed.get_or_insert(true);
        if launched {
            self.awaiting_exec.insert(tgid);
        }
        self.comm_by_tid.insert(tgid, row.comm.clone());
        self.procs.insert(tgid, row);
    }

    /// Whether `tgid` is a launched command that has not exec'd yet (rule 3).
    #[inline]
    pub fn awaiting_exec(&self, tgid: u32) -> bool {
        !self.awaiting_exec.is_empty() && self.awaiting_exec.contains(&tgid)
    }

    /// Decides a call of thread `tid` of `tgid` that returned; `is_exec`: a successful
    /// execve or execveat.
    #[inline]
    pub fn admit(&mut self, tgid: u32, tid: u32, is_exec: bool) -> Admit {
        if self.awaiting_exec(tgid) {
            if !is_exec {
                return Admit::PreExec;
            }
            // The exec record was lost: the successful execve row itself ends the wait.
            self.awaiting_exec.remove(&tgid);
        }
        Admit::Row {
            exec_path: if is_exec {
                self.pending_exec_path.remove(&tid)
            } else {
                None
            },
        }
    }

    /// A new thread or process (rules 1, 5, 7 and 8).
    pub fn fork(&mut self, f: &ForkRecord) {
        self.changed = true;
        self.comm_by_tid.insert(f.child_tid, Some(f.comm.clone()));
        if f.child_tid != f.child_tgid {
            return;
        }
        if self
            .procs
            .get(&f.child_tgid)
            .is_some_and(|p| p.exit_ns.is_some())
            && let Some(old) = self.procs.remove(&f.child_tgid)
        {
            // The pid was reused during the capture: keep the earlier process's row.
            let codes = self.exit_codes.remove(&f.child_tgid).unwrap_or_default();
            self.finished.push(finish_row(f.child_tgid, old, codes));
        }
        let (exe, argv) = self
            .procs
            .get(&f.parent_tgid)
            .map(|p| (p.exe.clone(), p.argv.clone()))
            .unwrap_or_default();
        let row = ProcessRow {
            ppid: Some(f.real_parent_tgid as i32),
            followed: Some(f.followed),
            start_ns: Some(self.wall(f.ts_ns)),
            comm: Some(f.comm.clone()),
            exe,
            argv,
            ..ProcessRow::default()
        };
        self.procs.insert(f.child_tgid, row);
    }

    /// A new program image (rules 2 and 3).
    pub fn exec(&mut self, e: ExecRecord) {
        self.changed = true;
        if e.old_tid != e.tid {
            self.comm_by_tid.remove(&e.old_tid);
        }
        self.comm_by_tid.insert(e.tid, Some(e.comm.clone()));
        let start = self
            .awaiting_exec
            .remove(&e.tgid)
            .then(|| self.wall(e.ts_ns));
        let proc = self.procs.entry(e.tgid).or_default();
        proc.comm = Some(e.comm);
        proc.exe = Some(e.filename.clone());
        proc.argv = Some(e.argv);
        if start.is_some() {
            // A launched command starts when it starts running its program, not when the
            // launcher forked it.
            proc.start_ns = start;
        }
        self.pending_exec_path.insert(e.tid, e.filename);
    }

    /// A thread exited (rules 4 and 6). Its never-returned call, if any, is written before.
    pub fn exit(&mut self, e: &ExitEvent) {
        self.changed = true;
        self.comm_by_tid.remove(&e.tid);
        self.pending_exec_path.remove(&e.tid);
        let codes = self.exit_codes.entry(e.tgid).or_default();
        codes.last = Some(e.exit_code);
        if e.tid == e.tgid {
            codes.leader = Some(e.exit_code);
        }
        let exit_group_nr = self.exit_group_nrs[usize::from(e.flags & FLAG_EXIT_COMPAT != 0)];
        let group_exit = e.flags & FLAG_IN_SYSCALL != 0 && e.nr == exit_group_nr;
        if group_exit || e.exit_code & 0x7f != 0 {
            codes.group = Some(e.exit_code);
        }
        if e.flags & FLAG_GROUP_DEAD != 0 {
            let wall = self.wall(e.ts_ns);
            self.procs.entry(e.tgid).or_default().exit_ns = Some(wall);
        }
    }

    /// The name of thread `tid` of `tgid`: from its fork or exec record, else (a thread of an
    /// attached process, first seen mid-capture) from /proc, looked up once.
    #[inline]
    pub fn comm(&mut self, tgid: u32, tid: u32) -> Option<&str> {
        self.comm_by_tid
            .entry(tid)
            .or_insert_with(|| procfs::thread_comm(tgid, tid))
            .as_deref()
    }

    /// Whether a row changed since the last call.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Every process's row as it stands (for the crash journal), ordered by start then pid.
    pub fn snapshot(&self) -> Vec<ProcessRow> {
        let mut rows = self.finished.clone();
        for (pid, row) in &self.procs {
            let codes = self.exit_codes.get(pid).cloned().unwrap_or_default();
            rows.push(finish_row(*pid, row.clone(), codes));
        }
        rows.sort_by_key(|r| (r.start_ns, r.pid));
        rows
    }

    /// Removes and returns the rows of the processes that have ended (a rotating capture writes
    /// each process once, into the file in which it ended), ordered by start then pid.
    pub fn take_ended(&mut self) -> Vec<ProcessRow> {
        let mut rows = std::mem::take(&mut self.finished);
        let ended: Vec<u32> = self
            .procs
            .iter()
            .filter(|(_, r)| r.exit_ns.is_some())
            .map(|(pid, _)| *pid)
            .collect();
        for pid in ended {
            if let Some(row) = self.procs.remove(&pid) {
                let codes = self.exit_codes.remove(&pid).unwrap_or_default();
                rows.push(finish_row(pid, row, codes));
            }
        }
        rows.sort_by_key(|r| (r.start_ns, r.pid));
        rows
    }

    /// Every process's row, ordered by start then pid.
    pub fn finish(mut self) -> Vec<ProcessRow> {
        let mut rows = std::mem::take(&mut self.finished);
        for (pid, row) in std::mem::take(&mut self.procs) {
            let codes = self.exit_codes.remove(&pid).unwrap_or_default();
            rows.push(finish_row(pid, row, codes));
        }
        rows.sort_by_key(|r| (r.start_ns, r.pid));
        rows
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::KIND_EXEC;

    use super::*;
    use crate::capture::{
        decode::{Record, decode},
        testing::{bytes, exec_event, exit_event, fork_event},
    };

    /// Pids far above any `pid_max`: /proc has none of them.
    const P: u32 = 900_000_000;
    /// x86_64 exit and exit_group; i386 exit_group.
    const EXIT: i32 = 60;
    const EXIT_GROUP: i32 = 231;
    const IA32_EXIT_GROUP: i32 = 252;

    fn fork(l: &mut Lineage, parent: u32, tgid: u32, tid: u32, comm: &str) {
        match decode(bytes(&fork_event(parent, parent, tgid, tid, comm))) {
            Ok(Record::Fork(f)) => l.fork(&f),
            other => panic!("a fork record: {other:?}"),
        }
    }

    fn exec(l: &mut Lineage, e: &tracer_common::ExecEvent) {
        assert_eq!(e.kind, KIND_EXEC, "an exec event");
        match decode(bytes(e)) {
            Ok(Record::Exec(e)) => l.exec(e),
            other => panic!("an exec record: {other:?}"),
        }
    }

    fn row(rows: &[ProcessRow], pid: u32) -> &ProcessRow {
        rows.iter()
            .find(|r| r.pid == pid as i32)
            .unwrap_or_else(|| panic!("a row for {pid}: {rows:?}"))
    }

    #[test]
    fn i386_exit_group_is_252() {
        let l = Lineage::new(Arch::X86_64, 0);
        assert_eq!(
            l.exit_group_nrs,
            [EXIT_GROUP, IA32_EXIT_GROUP],
            "exit_group in the x86_64 and i386 tables"
        );
    }

    #[test]
    fn exit_status_is_the_groups_after_a_group_exit_else_the_leaders() {
        let mut l = Lineage::new(Arch::X86_64, 0);
        // P+1: the leader exits with exit(0), its last thread then with exit(5): wait() says 0.
        fork(&mut l, P, P + 1, P + 1, "a");
        fork(&mut l, P + 1, P + 1, P + 2, "a");
        l.exit(&exit_event(P + 1, P + 1, 0, FLAG_IN_SYSCALL, EXIT));
        l.exit(&exit_event(
            P + 1,
            P + 2,
            5 << 8,
            FLAG_IN_SYSCALL | FLAG_GROUP_DEAD,
            EXIT,
        ));
        // P+3: the leader exits with exit(0), a thread then calls exit_group(7): wait() says 7.
        fork(&mut l, P, P + 3, P + 3, "b");
        fork(&mut l, P + 3, P + 3, P + 4, "b");
        l.exit(&exit_event(P + 3, P + 3, 0, FLAG_IN_SYSCALL, EXIT));
        l.exit(&exit_event(
            P + 3,
            P + 4,
            7 << 8,
            FLAG_IN_SYSCALL | FLAG_GROUP_DEAD,
            EXIT_GROUP,
        ));
        // P+5: killed by SIGKILL.
        fork(&mut l, P, P + 5, P + 5, "c");
        l.exit(&exit_event(P + 5, P + 5, 9, FLAG_GROUP_DEAD, 0));
        // P+6: a 32-bit process whose thread calls exit_group(4) (i386 number).
        fork(&mut l, P, P + 6, P + 6, "d");
        fork(&mut l, P + 6, P + 6, P + 7, "d");
        l.exit(&exit_event(
            P + 6,
            P + 6,
            0,
            FLAG_IN_SYSCALL | FLAG_EXIT_COMPAT,
            1,
        ));
        let flags = FLAG_IN_SYSCALL | FLAG_GROUP_DEAD | FLAG_EXIT_COMPAT;
        l.exit(&exit_event(P + 6, P + 7, 4 << 8, flags, IA32_EXIT_GROUP));
        // P+8: still running when the capture ends.
        fork(&mut l, P, P + 8, P + 8, "e");
        let rows = l.finish();
        let status = |pid| {
            let r = row(&rows, pid);
            (r.exit_code, r.signal)
        };
        assert_eq!(status(P + 1), (Some(0), None), "the leader's own status");
        assert_eq!(status(P + 3), (Some(7), None), "the group's status");
        assert_eq!(status(P + 5), (None, Some(9)), "the fatal signal");
        assert_eq!(
            status(P + 6),
            (Some(4), None),
            "i386 exit_group is a group exit"
        );
        assert_eq!(status(P + 8), (None, None), "no status while running");
        assert_eq!(
            row(&rows, P + 1).exit_ns,
            Some(9_000),
            "ends with its last thread"
        );
        assert_eq!(row(&rows, P + 8).exit_ns, None, "never ended");
    }

    #[test]
    fn the_parent_is_the_real_one_and_unfollowed_children_are_marked() {
        let mut l = Lineage::new(Arch::X86_64, 0);
        l.add_root(P, ProcessRow::default(), false);
        fork(&mut l, P, P + 1, P + 1, "a");
        // P+1 calls clone(CLONE_PARENT): the kernel makes P the parent of P+2.
        let mut f = fork_event(P + 1, P + 1, P + 2, P + 2, "a");
        f.real_parent_tgid = P;
        // And the filter was full.
        f.flags = tracer_common::FLAG_FORK_UNFOLLOWED;
        match decode(bytes(&f)) {
            Ok(Record::Fork(f)) => l.fork(&f),
            other => panic!("a fork record: {other:?}"),
        }
        let rows = l.finish();
        assert_eq!(
            (row(&rows, P + 1).ppid, row(&rows, P + 1).followed),
            (Some(P as i32), Some(true)),
            "a plain child"
        );
        assert_eq!(
            (row(&rows, P + 2).ppid, row(&rows, P + 2).followed),
            (Some(P as i32), Some(false)),
            "the real parent, and not followed"
        );
        assert_eq!(row(&rows, P).followed, Some(true), "a root is followed");
    }

    #[test]
    fn a_lost_exit_record_takes_the_status_waitpid_saw() {
        let mut l = Lineage::new(Arch::X86_64, 0);
        l.add_root(P, ProcessRow::default(), false);
        l.add_root(P + 1, ProcessRow::default(), false);
        l.exit(&exit_event(
            P + 1,
            P + 1,
            3 << 8,
            FLAG_IN_SYSCALL | FLAG_GROUP_DEAD,
            EXIT_GROUP,
        ));
        // P's exit record was lost; waitpid said 7. P+1's was not: the kernel's 3 stays.
        let mut rows = l.finish();
        fill_from_wait(&mut rows, P as i32, 50_000, Some(7), None);
        fill_from_wait(&mut rows, (P + 1) as i32, 50_000, Some(99), None);
        let r = row(&rows, P);
        assert_eq!(
            (r.exit_code, r.signal, r.exit_ns, r.exit_from_wait),
            (Some(7), None, Some(50_000), Some(true)),
            "from waitpid, marked"
        );
        let r = row(&rows, P + 1);
        assert_eq!(
            (r.exit_code, r.exit_ns, r.exit_from_wait),
            (Some(3), Some(9_000), Some(false)),
            "from the exit record"
        );
    }

    #[test]
    fn a_reused_pid_keeps_both_processes() {
        let mut l = Lineage::new(Arch::X86_64, 0);
        fork(&mut l, P, P + 1, P + 1, "first");
        l.exit(&exit_event(P + 1, P + 1, 1 << 8, FLAG_GROUP_DEAD, 0));
        fork(&mut l, P + 9, P + 1, P + 1, "second");
        l.exit(&exit_event(
            P + 1,
            P + 1,
            2 << 8,
            FLAG_IN_SYSCALL | FLAG_GROUP_DEAD,
            EXIT_GROUP,
        ));
        let rows = l.finish();
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r.pid == (P + 1) as i32)
            .map(|r| (r.ppid, r.comm.as_deref(), r.exit_code))
            .collect();
        assert_eq!(
            mine,
            vec![
                (Some(P as i32), Some("first"), Some(1)),
                (Some((P + 9) as i32), Some("second"), Some(2)),
            ],
            "one row per lifetime, each with its own parent and status"
        );
    }

    #[test]
    fn a_threads_comm_comes_from_its_fork_and_exec() {
        let mut l = Lineage::new(Arch::X86_64, 0);
        fork(&mut l, P, P + 1, P + 1, "app");
        fork(&mut l, P + 1, P + 1, P + 2, "app");
        assert_eq!(l.comm(P + 1, P + 2), Some("app"), "inherited at fork");
        // The thread execs: it takes the leader's id, its old id is gone.
        let mut e = exec_event(P + 1, P + 1, "/bin/ls", &["ls"]);
        e.old_tid = P + 2;
        exec(&mut l, &e);
        assert_eq!(l.comm(P + 1, P + 1), Some("ls"), "the new image's name");
        assert_eq!(l.comm(P + 1, P + 2), None, "the old thread id is forgotten");
        fork(&mut l, P + 1, P + 1, P + 3, "ls");
        l.exit(&exit_event(P + 1, P + 3, 0, 0, 0));
        assert_eq!(l.comm(P + 1, P + 3), None, "an exited thread is forgotten");
        let rows = l.finish();
        let r = row(&rows, P + 1);
        assert_eq!(
            (r.comm.as_deref(), r.exe.as_deref()),
            (Some("ls"), Some("/bin/ls")),
            "the process row has the last image"
        );
    }

    #[test]
    fn a_launched_command_waits_for_its_exec() {
        let mut l = Lineage::new(Arch::X86_64, 0);
        let launched = ProcessRow {
            start_ns: Some(1),
            comm: Some("true".into()),
            ..ProcessRow::default()
        };
        l.add_root(P + 1, launched, true);
        assert_eq!(l.admit(P + 1, P + 1, false), Admit::PreExec, "setup call");
        exec(
            &mut l,
            &exec_event(P + 1, P + 1, "/usr/bin/true", &["true"]),
        );
        assert!(!l.awaiting_exec(P + 1), "the exec ends the wait");
        assert_eq!(
            l.admit(P + 1, P + 1, true),
            Admit::Row {
                exec_path: Some("/usr/bin/true".into())
            },
            "the execve row takes the exec record's path"
        );
        assert_eq!(
            l.admit(P + 1, P + 1, false),
            Admit::Row { exec_path: None },
            "later calls are rows"
        );
        // Lost exec record: the successful execve itself ends the wait.
        l.add_root(P + 2, ProcessRow::default(), true);
        assert_eq!(l.admit(P + 2, P + 2, false), Admit::PreExec, "setup call");
        assert_eq!(
            l.admit(P + 2, P + 2, true),
            Admit::Row { exec_path: None },
            "the execve row is written, with its own path"
        );
        assert!(!l.awaiting_exec(P + 2), "and the wait is over");
        let rows = l.finish();
        assert_eq!(
            row(&rows, P + 1).start_ns,
            Some(3_000),
            "starts at its exec"
        );
    }
}
