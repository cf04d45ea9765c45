//! `tracer parity` on two hand-built datasets written through the project's Parquet sinks: the
//! comparison logic end to end (Parquet in, report out), with every expected number worked out
//! by hand from the rows below.

use std::path::Path;

use tracer::parity::{ParityConfig, ParityError, compare_paths, render};
use tracer_dataset::{
    ProcessRow, ProcessSink, RunInfo, SyscallRow, SyscallSink, layout::processes_path,
};

/// (pid, tid, syscall, ret, path)
type Call<'a> = (i32, i32, &'a str, Option<i64>, Option<&'a str>);

fn write_run(
    syscalls: &Path,
    processes: Option<&Path>,
    run: &str,
    source: &str,
    calls: &[Call<'_>],
) {
    let info = RunInfo {
        run_id: run.into(),
        source: source.into(),
        scenario: None,
        mode: None,
    };
    let mut sink = SyscallSink::create(syscalls, info.clone(), &[]).expect("create");
    for (seq, (pid, tid, name, ret, path)) in calls.iter().enumerate() {
        sink.push(&SyscallRow {
            seq: seq as u64,
            pid: *pid,
            tid: *tid,
            syscall: name,
            nr: 0,
            ret: *ret,
            path: *path,
            ..SyscallRow::default()
        })
        .expect("push");
    }
    sink.close().expect("close");
    if let Some(p) = processes {
        let mut ps = ProcessSink::create(p, info, &[]).expect("create");
        let mut seen = Vec::new();
        for (pid, ..) in calls {
            if !seen.contains(pid) {
                seen.push(*pid);
                ps.push(ProcessRow {
                    pid: *pid,
                    ..ProcessRow::default()
                });
            }
        }
        ps.close().expect("close");
    }
}

/// The workload as strace shows it: sh runs, forks a child that execs /bin/ls (which fails to
/// open one file), a thread does a futex, then everyone exits.
const STRACE: &[Call<'static>] = &[
    (100, 100, "execve", Some(0), Some("/bin/sh")),
    (100, 100, "openat", Some(3), Some("/etc/profile")),
    (100, 100, "read", Some(512), None),
    (100, 100, "close", Some(0), None),
    (100, 100, "clone3", Some(101), None),
    (100, 101, "futex", Some(0), None),
    (100, 100, "clone", Some(102), None),
    (102, 102, "execve", Some(0), Some("/bin/ls")),
    (102, 102, "openat", Some(-2), Some("/nope")),
    (102, 102, "write", Some(10), None),
    (102, 102, "exit_group", None, None),
    (100, 100, "wait4", Some(102), None),
    (100, 100, "rt_sigreturn", Some(0), None),
    (100, 101, "futex", None, None),
    (100, 100, "exit_group", None, None),
];

/// The same workload recorded by eBPF: other pids, the launcher's pre-exec calls, no
/// never-returned futex; the child's write returned a different count and the
/// failed open named another path.
const EBPF: &[Call<'static>] = &[
    (500, 500, "setpgid", Some(0), None),
    (500, 500, "execve", Some(0), Some("/bin/sh")),
    (500, 500, "openat", Some(3), Some("/etc/profile")),
    (500, 500, "read", Some(512), None),
    (500, 500, "close", Some(0), None),
    (500, 500, "clone3", Some(501), None),
    (500, 501, "futex", Some(0), None),
    (500, 500, "clone", Some(777), None),
    (777, 777, "execve", Some(0), Some("/bin/ls")),
    (777, 777, "openat", Some(-2), Some("/nope2")),
    (777, 777, "write", Some(9), None),
    (777, 777, "exit_group", None, None),
    (500, 500, "wait4", Some(777), None),
    (500, 500, "rt_sigreturn", Some(0), None),
    (500, 500, "exit_group", None, None),
];

fn args(a: &Path, b: &Path) -> ParityConfig {
    ParityConfig {
        a: a.to_path_buf(),
        b: b.to_path_buf(),
        run_a: None,
        run_b: None,
        window: 3,
        ignore: vec![],
        min_similarity: Some(0.99),
    }
}

#[test]
fn strace_and_ebpf_datasets_compare_as_worked_out() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("strace.parquet");
    write_run(&a, Some(&processes_path(&a)), "s", "strace", STRACE);
    // B as a dataset folder.
    let b = dir.path().join("ebpf");
    std::fs::create_dir_all(b.join("syscalls")).expect("mkdir");
    std::fs::create_dir_all(b.join("processes")).expect("mkdir");
    write_run(
        &b.join("syscalls/e.parquet"),
        Some(&b.join("processes/e.parquet")),
        "e",
        "ebpf",
        EBPF,
    );

    let outcome = compare_paths(&args(&a, &b)).unwrap_or_else(|e| panic!("{e:#?}"));
    let r = &outcome.report;
    let removed = |id: &str| {
        let adj = r
            .adjustments
            .iter()
            .find(|x| x.id == id)
            .expect("known difference");
        (adj.removed_a, adj.removed_b)
    };
    assert_eq!(removed("pre-exec"), (0, 1));
    assert_eq!(removed("never-returned"), (1, 0));
    assert_eq!(
        (r.a.calls, r.a.calls_compared, r.b.calls, r.b.calls_compared),
        (15, 14, 15, 14)
    );
    assert_eq!(
        (
            r.processes.paired,
            r.processes.tree_agrees,
            r.processes.threads_paired
        ),
        (2, 2, 3)
    );
    // Every remaining call aligns: same names in the same order per thread.
    assert_eq!(r.similarity, 1.0);
    assert!(r.count_differences.is_empty(), "{:?}", r.count_differences);
    // Returns compared on the 12 aligned calls that returned (exit_group never does): write
    // 10 vs 9 disagrees; clone/clone3/wait4 return pids, compared as success only.
    assert_eq!((r.returns.compared, r.returns.agreed), (12, 11));
    // Paths: execve x2, openat x2; /nope vs /nope2 disagrees.
    assert_eq!((r.paths.compared, r.paths.agreed), (4, 3));
    let kinds: Vec<(&str, &str)> = r
        .mismatches
        .iter()
        .map(|m| (m.syscall.as_str(), m.field))
        .collect();
    assert_eq!(kinds, [("openat", "path"), ("write", "ret")]);
    assert_eq!(outcome.exit_code(), 0);
    let json = serde_json::to_value(r).expect("json");
    assert_eq!(json["similarity"], 1.0);
    assert_eq!(json["processes"]["paired"], 2);
    let text = render(&outcome, 5);
    assert!(text.contains("PASS"), "{text}");
    assert!(text.contains("write ret: A 10 B 9"), "{text}");
}

#[test]
fn a_different_workload_fails_the_threshold() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = dir.path().join("a.parquet");
    let b = dir.path().join("b.parquet");
    write_run(&a, None, "a", "strace", STRACE);
    let other: Vec<Call<'static>> = EBPF
        .iter()
        .map(|c| {
            if c.2 == "read" {
                (c.0, c.1, "pread64", c.3, c.4)
            } else {
                *c
            }
        })
        .chain([(500, 500, "getpid", Some(500), None)])
        .collect();
    write_run(&b, None, "b", "ebpf", &other);
    let outcome = compare_paths(&args(&a, &b)).unwrap_or_else(|e| panic!("{e:#?}"));
    let r = &outcome.report;
    // 14 compared calls on each side... B has one more (getpid); read vs pread64 never aligns.
    assert_eq!((r.a.calls_compared, r.b.calls_compared), (14, 15));
    assert_eq!(r.similarity, 2.0 * 13.0 / 29.0);
    assert_eq!(outcome.exit_code(), 1);
    let diffs: Vec<(&str, usize, usize)> = r
        .count_differences
        .iter()
        .map(|d| (d.syscall.as_str(), d.a, d.b))
        .collect();
    assert_eq!(diffs, [("getpid", 0, 1), ("pread64", 0, 1), ("read", 1, 0)]);
}

#[test]
fn a_dataset_of_several_runs_needs_a_run_choice() {
    let dir = tempfile::tempdir().expect("tmp");
    let ds = dir.path().join("ds");
    std::fs::create_dir_all(ds.join("syscalls")).expect("mkdir");
    write_run(
        &ds.join("syscalls/one.parquet"),
        None,
        "one",
        "strace",
        STRACE,
    );
    write_run(&ds.join("syscalls/two.parquet"), None, "two", "ebpf", EBPF);
    let mut a = args(&ds, &ds);
    match compare_paths(&a) {
        Err(ParityError::Input { what, .. }) => assert!(what.contains("--run-a"), "{what}"),
        other => panic!("{other:?}"),
    }
    a.run_a = Some("one".into());
    a.run_b = Some("two".into());
    let outcome = compare_paths(&a).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        (
            outcome.report.a.run_id.as_str(),
            outcome.report.b.run_id.as_str()
        ),
        ("one", "two")
    );
    assert_eq!(outcome.report.similarity, 1.0);
}
