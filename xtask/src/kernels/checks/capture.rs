//! Capture checks that run a command to its end: exact counts of the known program, fork, exec
//! and thread following, calls cut short, signal returns, 32-bit programs, exit codes, the
//! trace filter, the summary, and losses (none at default settings, counted with a tiny ring).
//! Each mirrors the native test of the same name in `tests/tests/capture.rs`.

use std::collections::BTreeSet;

use tracer_dataset::{meta, rows::SyscallRecord};

use super::{Check, GUEST_PROGRAMS, Outcome, by_pid};

/// The checks of this module, in the order the guest runs them.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "known_program_exact_calls",
            guest: "rec --user root -- /progs/known $D/written.txt 1234 567",
            verify: known_program_exact_calls,
        },
        Check {
            name: "durations_mode",
            guest: "rec -T -q -- /progs/known $D/w.txt 100 100",
            verify: durations_mode,
        },
        Check {
            name: "follows_every_child",
            guest: "rec -q -- /progs/forkrace 200",
            verify: follows_every_child,
        },
        Check {
            name: "exec_chain_and_nothing_outside",
            guest: "sh -c 'while :; do cat /proc/self/stat >/dev/null; done' &\n\
                    echo $! > $D/outsider_pid\n\
                    rec -q -- sh -c '/bin/true; ls / >/dev/null; exit 42'\n\
                    kill $(cat $D/outsider_pid)",
            verify: exec_chain_and_nothing_outside,
        },
        Check {
            name: "call_cut_short",
            guest: "rec -q -- /progs/cutshort",
            verify: call_cut_short,
        },
        Check {
            name: "signal_handler_returns",
            guest: "rec -q -- /progs/sigret",
            verify: signal_handler_returns,
        },
        Check {
            name: "thirty_two_bit_program",
            guest: "rec -q -- /progs/compat32",
            verify: thirty_two_bit_program,
        },
        Check {
            name: "killed_command",
            guest: "rec -q -- sh -c 'kill -9 $$'",
            verify: killed_command,
        },
        Check {
            name: "trace_filter",
            guest: "rec -q -e trace=%file,exit_group -- ls /",
            verify: trace_filter,
        },
        Check {
            name: "trace_filter_unknown_call",
            guest: "rec -e trace=nosuchcall -- true",
            verify: trace_filter_unknown_call,
        },
        Check {
            name: "summary_table",
            guest: "rec -c -- ls /",
            verify: summary_table,
        },
        Check {
            name: "command_not_found",
            guest: "rec -- no-such-command-xyz",
            verify: command_not_found,
        },
        Check {
            name: "storm_loses_nothing",
            guest: "rec -q -- /progs/storm 500000",
            verify: storm_loses_nothing,
        },
        Check {
            name: "tiny_ring_counts_losses",
            guest: "rec --ring-bytes 4K -- /progs/storm 300000",
            verify: tiny_ring_counts_losses,
        },
    ]
}

fn prog(name: &str) -> String {
    format!("{GUEST_PROGRAMS}/{name}")
}

fn known_program_exact_calls(o: &Outcome) {
    let prog = prog("known");
    let written = o.guest_path("written.txt");
    let (n, m) = (1234, 567);
    assert_eq!(
        o.status(),
        Some(3),
        "exit status is the command's: {}",
        o.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(o.dir().join("written.txt")).expect("file written"),
        "hello tracer\n"
    );
    let rows = o.syscalls();
    let procs = o.processes();
    let md = o.metadata();
    assert_eq!(md.get(meta::EVENTS_LOST).map(String::as_str), Some("0"));
    assert_eq!(
        md.get(meta::EVENTS_WRITTEN).map(String::as_str),
        Some(rows.len().to_string().as_str())
    );
    assert_eq!(
        md.get(meta::KERNEL_RELEASE).map(String::as_str),
        Some(o.release.as_str()),
        "the file names the guest's kernel"
    );

    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.seq, i as u64, "seq is 0..len in file order");
    }
    let pids: BTreeSet<i32> = rows.iter().map(|r| r.pid).collect();
    assert_eq!(
        pids.len(),
        2,
        "exactly the program and its child, nothing else: {pids:?}"
    );
    let parent = rows[0].pid;
    assert_eq!(rows[0].syscall, "execve", "first row is the command's exec");
    assert_eq!(rows[0].ret, Some(0));
    assert_eq!(rows[0].path.as_deref(), Some(prog.as_str()));
    let child = *pids.iter().find(|p| **p != parent).expect("child pid");

    let groups = by_pid(&rows);
    let child_rows = &groups[&child];
    let getppid: Vec<&&SyscallRecord> = child_rows
        .iter()
        .filter(|r| r.syscall == "getppid")
        .collect();
    assert_eq!(getppid.len(), n, "every getppid of the child");
    assert!(
        getppid
            .iter()
            .all(|r| r.tid == child && r.ret == Some(i64::from(parent)))
    );
    let last = child_rows.last().expect("child rows");
    assert_eq!(last.syscall, "exit_group");
    assert_eq!(last.ret, None, "exit_group never returns");
    assert_eq!(last.args.as_ref().expect("args")[0], 7);

    let getuid: Vec<&SyscallRecord> = rows.iter().filter(|r| r.syscall == "getuid").collect();
    assert_eq!(getuid.len(), m, "every getuid of the thread");
    let thread = getuid[0].tid;
    assert_ne!(thread, parent, "the thread has its own tid");
    assert!(
        getuid
            .iter()
            .all(|r| r.pid == parent && r.tid == thread && r.ret == Some(0))
    );

    let open = rows
        .iter()
        .find(|r| r.path.as_deref() == Some(written.as_str()) && r.syscall == "openat")
        .expect("openat of the written file");
    let fd = open.ret.expect("openat returned");
    assert!(fd >= 3);
    let write = rows
        .iter()
        .find(|r| r.syscall == "write" && r.args.as_ref().expect("args")[0] == fd as u64)
        .expect("write to that fd");
    assert_eq!(write.ret, Some(13));
    assert_eq!(write.args.as_ref().expect("args")[2], 13);
    let fork = rows
        .iter()
        .find(|r| r.ret == Some(i64::from(child)) && r.syscall.starts_with("clone"))
        .expect("the fork's row returns the child's pid");
    assert_eq!((fork.pid, fork.tid), (parent, parent));
    assert!(
        !rows
            .iter()
            .any(|r| r.syscall.starts_with("clone") && r.ret == Some(0)),
        "the child's return from fork is not a second row"
    );
    assert!(
        rows.iter()
            .all(|r| r.ts_ns.is_some() && r.duration_ns.is_none())
    );
    for tid in rows.iter().map(|r| r.tid).collect::<BTreeSet<_>>() {
        let ts: Vec<i64> = rows
            .iter()
            .filter(|r| r.tid == tid)
            .filter_map(|r| r.ts_ns)
            .collect();
        assert!(
            ts.windows(2).all(|w| w[0] <= w[1]),
            "thread {tid}'s timestamps follow seq"
        );
    }
    // Across CPUs the clock is read just before the ring slot is taken; under TCG the host can
    // deschedule a vCPU between the two for a time slice (docs/DESIGN.md, `seq`), so the native
    // test's one millisecond holds for all but a few rows here, and none is a whole 50 ms off
    // (a row stamped at its entry, or a batch written out of order, would be).
    let back: Vec<i64> = rows
        .windows(2)
        .map(|w| w[0].ts_ns.expect("ts") - w[1].ts_ns.expect("ts"))
        .filter(|d| *d >= 1_000_000)
        .collect();
    assert!(
        back.len() <= 5 && back.iter().all(|d| *d < 50_000_000),
        "timestamps follow seq across threads within a millisecond but for a few \
         descheduled vCPUs: {back:?}"
    );
    assert!(rows.iter().all(|r| r.comm.as_deref() == Some("known")));

    let p = procs
        .iter()
        .find(|p| p.pid == parent)
        .expect("parent process row");
    assert_eq!(p.exit_code, Some(3));
    assert_eq!(p.exe.as_deref(), Some(prog.as_str()));
    assert_eq!(
        p.argv.as_ref().expect("argv")[1..],
        [written.clone(), n.to_string(), m.to_string()]
    );
    let c = procs
        .iter()
        .find(|p| p.pid == child)
        .expect("child process row");
    assert_eq!(c.ppid, Some(parent));
    assert_eq!(c.exit_code, Some(7));
    assert!(c.start_ns.expect("start") <= c.exit_ns.expect("exit"));
}

fn durations_mode(o: &Outcome) {
    assert_eq!(o.status(), Some(3), "{}", o.stderr());
    let rows = o.syscalls();
    let completed: Vec<&SyscallRecord> = rows.iter().filter(|r| r.ret.is_some()).collect();
    assert!(completed.len() > 200);
    assert!(
        completed
            .iter()
            .all(|r| r.duration_ns.is_some_and(|d| d >= 0)),
        "every completed call has a non-negative duration"
    );
    assert!(
        rows.iter()
            .filter(|r| r.ret.is_none())
            .all(|r| r.duration_ns.is_none())
    );
    assert_eq!(
        o.metadata().get(meta::TS_POINT).map(String::as_str),
        Some("entry")
    );
    assert_eq!(rows.iter().filter(|r| r.syscall == "getppid").count(), 100);
}

fn follows_every_child(o: &Outcome) {
    let k = 200;
    assert_eq!(o.status(), Some(0), "{}", o.stderr());
    let rows = o.syscalls();
    let groups = by_pid(&rows);
    let root = rows[0].pid;
    let children: Vec<i32> = groups.keys().copied().filter(|p| *p != root).collect();
    assert_eq!(children.len(), k, "every child is traced");
    for c in children {
        let names: Vec<&str> = groups[&c].iter().map(|r| r.syscall.as_str()).collect();
        assert!(
            names == ["set_robust_list", "getppid", "exit_group"]
                || names == ["getppid", "exit_group"],
            "child {c} traced from its first syscall: {names:?}"
        );
    }
    let procs = o.processes();
    assert_eq!(procs.len(), k + 1);
    assert!(
        procs
            .iter()
            .filter(|p| p.pid != root)
            .all(|p| p.ppid == Some(root) && p.exit_code == Some(0))
    );
}

fn exec_chain_and_nothing_outside(o: &Outcome) {
    assert_eq!(o.status(), Some(42), "{}", o.stderr());
    let outsider: i32 = o.number("outsider_pid");
    let rows = o.syscalls();
    let procs = o.processes();
    let pids: BTreeSet<i32> = rows.iter().map(|r| r.pid).collect();
    let known: BTreeSet<i32> = procs.iter().map(|p| p.pid).collect();
    assert!(
        pids.is_subset(&known),
        "rows only from the traced tree: {pids:?} vs {known:?}"
    );
    assert!(!pids.contains(&outsider));
    let paths: Vec<&str> = rows
        .iter()
        .filter(|r| r.syscall == "execve" && r.ret == Some(0))
        .filter_map(|r| r.path.as_deref())
        .collect();
    assert!(paths.iter().any(|p| p.ends_with("/sh")), "{paths:?}");
    assert!(paths.contains(&"/bin/true"), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with("/ls")), "{paths:?}");
    let ls = procs
        .iter()
        .find(|p| p.exe.as_deref().is_some_and(|e| e.ends_with("/ls")))
        .expect("ls process");
    assert_eq!(
        ls.argv.as_deref(),
        Some(&["ls".to_string(), "/".to_string()][..])
    );
    assert_eq!(ls.comm.as_deref(), Some("ls"));
    assert_eq!(ls.exit_code, Some(0));
    let root = procs
        .iter()
        .find(|p| p.exe.as_deref().is_some_and(|e| e.ends_with("/sh")))
        .expect("sh");
    assert_eq!(root.exit_code, Some(42));
}

fn call_cut_short(o: &Outcome) {
    assert_eq!(o.status(), Some(5), "{}", o.stderr());
    let rows = o.syscalls();
    let pid = rows[0].pid;
    let reader: Vec<&SyscallRecord> = rows.iter().filter(|r| r.tid != pid).collect();
    let last = reader.last().expect("reader thread rows");
    assert_eq!(last.syscall, "read");
    assert_eq!(last.ret, None, "the read never returned: {last:?}");
    let main_last = rows.iter().rfind(|r| r.tid == pid).expect("main rows");
    assert_eq!(
        (main_last.syscall.as_str(), main_last.ret),
        ("exit_group", None)
    );
    assert!(
        rows.iter().filter(|r| r.ret.is_none()).count() == 2,
        "only the cut-short read and exit_group lack a return value"
    );
}

fn signal_handler_returns(o: &Outcome) {
    assert_eq!(o.status(), Some(0), "{}", o.stderr());
    let rows = o.syscalls();
    let names: Vec<&str> = rows.iter().map(|r| r.syscall.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "rt_sigreturn").count(),
        3,
        "{names:?}"
    );
    let pairs = names
        .windows(2)
        .filter(|w| w == &["getppid", "rt_sigreturn"])
        .count();
    assert_eq!(pairs, 3, "{names:?}");
    assert!(
        rows.iter()
            .filter(|r| r.syscall == "rt_sigreturn")
            .all(|r| r.nr == 15)
    );
}

fn thirty_two_bit_program(o: &Outcome) {
    assert_eq!(o.status(), Some(3), "{}", o.stderr());
    let rows = o.syscalls();
    let got: Vec<(&str, i32)> = rows.iter().map(|r| (r.syscall.as_str(), r.nr)).collect();
    assert_eq!(
        got,
        [
            ("execve", 11),
            ("getpid", 20),
            ("getppid", 64),
            ("exit_group", 252)
        ]
    );
    assert_eq!(rows[1].ret, Some(i64::from(rows[0].pid)));
    assert_eq!(
        rows[3].args.as_ref().expect("args")[0],
        3,
        "i386 arguments come from ebx"
    );
    assert_eq!(rows[0].path.as_deref(), Some(prog("compat32").as_str()));
}

fn killed_command(o: &Outcome) {
    assert_eq!(o.status(), Some(137), "{}", o.stderr());
    let procs = o.processes();
    assert_eq!(procs[0].signal, Some(9));
    assert_eq!(procs[0].exit_code, None);
}

fn trace_filter(o: &Outcome) {
    assert_eq!(o.status(), Some(0), "{}", o.stderr());
    let rows = o.syscalls();
    assert!(rows.iter().any(|r| r.syscall == "openat"));
    assert!(rows.iter().any(|r| r.syscall == "exit_group"));
    assert!(
        rows.iter()
            .all(|r| r.syscall != "read" && r.syscall != "mmap"),
        "only %file and exit_group"
    );
}

fn trace_filter_unknown_call(o: &Outcome) {
    assert_eq!(o.status(), Some(1));
    assert!(o.stderr().contains("nosuchcall"), "{}", o.stderr());
}

fn summary_table(o: &Outcome) {
    assert_eq!(o.status(), Some(0), "{}", o.stderr());
    let err = o.stderr();
    assert!(
        err.contains("calls") && err.contains("openat") && err.contains("total"),
        "{err}"
    );
    let line = err
        .lines()
        .find(|l| l.starts_with("tracer: ") && l.contains("events"))
        .expect("summary line");
    assert!(
        line.contains(", 0 lost, ") && line.contains("events/s"),
        "{line}"
    );
}

fn command_not_found(o: &Outcome) {
    assert_eq!(o.status(), Some(127));
    assert!(
        o.stderr()
            .contains("no-such-command-xyz: command not found"),
        "{}",
        o.stderr()
    );
}

fn storm_loses_nothing(o: &Outcome) {
    assert_eq!(o.status(), Some(0), "{}", o.stderr());
    let md = o.metadata();
    assert_eq!(md.get(meta::EVENTS_LOST).map(String::as_str), Some("0"));
    let count = o
        .syscalls()
        .iter()
        .filter(|r| r.syscall == "getppid")
        .count();
    assert_eq!(count, 500_000);
}

fn tiny_ring_counts_losses(o: &Outcome) {
    assert_eq!(o.status(), Some(0), "{}", o.stderr());
    let lost: u64 = o.metadata()[meta::EVENTS_LOST].parse().expect("number");
    let rows = o.syscalls();
    let getppid = rows.iter().filter(|r| r.syscall == "getppid").count() as u64;
    // Gap rows say where records were lost (tracer_dataset::gap): not calls.
    let gaps: Vec<_> = rows
        .iter()
        .filter(|r| r.syscall == tracer_dataset::gap::GAP_SYSCALL)
        .collect();
    let others = rows.len() as u64 - getppid - gaps.len() as u64;
    assert!(lost > 0, "a 4 KiB ring cannot hold a storm");
    assert_eq!(
        gaps.iter().map(|g| g.ret.unwrap_or(0) as u64).sum::<u64>(),
        lost,
        "the gap rows locate every lost record"
    );
    assert!(
        getppid + lost >= 300_000,
        "{getppid} rows + {lost} lost < 300000 calls"
    );
    assert!(
        getppid + lost + others <= 300_000 + 300,
        "{getppid} + {lost} + {others}"
    );
    assert!(o.stderr().contains("lost"));
}
