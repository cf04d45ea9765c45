//! strace ingest on hand-written edge cases (`tests/data/strace/`): each expected value below is
//! read off the fixture by hand.

use std::path::{Path, PathBuf};

use tests::{metadata, read_processes, read_syscalls, workspace};
use tracer::ingest::{Arch, Format, IngestConfig, IngestError, IngestSummary};
use tracer_dataset::{layout::processes_path, meta, rows::SyscallRecord};

fn fixture(name: &str) -> PathBuf {
    workspace().join("tests/data/strace").join(name)
}

fn args(input: &Path, out: &Path) -> IngestConfig {
    IngestConfig {
        input: input.to_path_buf(),
        output: out.to_path_buf(),
        format: Format::Strace,
        arch: Some(Arch::X86_64),
        date: Some("2024-01-02".parse().expect("date")),
        lenient: false,
        run_id: None,
        scenario: None,
        pid: None,
    }
}

fn ingest(a: &IngestConfig) -> IngestSummary {
    tracer::ingest::run(a).unwrap_or_else(|e| panic!("{e:#?}"))
}

fn by_seq(mut rows: Vec<SyscallRecord>) -> Vec<SyscallRecord> {
    rows.sort_by_key(|r| r.seq);
    rows
}

#[test]
fn every_edge_case_of_one_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("edge.parquet");
    let mut a = args(&fixture("edge-cases.strace"), &out);
    a.run_id = Some("edge".into());
    a.scenario = Some("fixtures".into());
    let summary = ingest(&a);
    assert_eq!(summary.runs[0].lines, 23);
    let rows = by_seq(read_syscalls(&out));
    let names: Vec<&str> = rows.iter().map(|r| r.syscall.as_str()).collect();
    assert_eq!(
        names,
        [
            "execve",
            "openat",
            "read",
            "mmap",
            "access",
            "clone3",
            "getpid",
            "futex",
            "clone",
            "read",
            "restart_syscall",
            "execve",
            "clock_nanosleep",
            "fcntl",
            "syscall_0x1f4",
            "exit_group"
        ]
    );
    let r = |i: usize| &rows[i];
    assert_eq!(r(0).ts_ns, Some(1_700_000_000_000_001_000));
    assert_eq!(r(0).duration_ns, Some(100_000));
    assert_eq!(r(0).nr, 59);
    assert_eq!(r(0).path.as_deref(), Some("/usr/bin/app"));
    assert_eq!(r(1).path.as_deref(), Some("/tmp/we ird\"name\n(1) = 2..."));
    assert_eq!(r(1).ret, Some(3));
    assert_eq!(r(1).args.as_ref().map(|a| a[0] as i64), Some(-100));
    assert_eq!(
        (r(2).ret, r(2).args.as_ref().map(|a| (a[0], a[2]))),
        (Some(32), Some((3, 32)))
    );
    assert_eq!(r(3).ret, Some(0x7f12_3456_0000));
    assert_eq!(
        r(3).args.as_ref().map(|a| (a[1], a[4])),
        Some((4096, u64::MAX))
    );
    assert_eq!(
        (r(4).ret, r(4).path.as_deref()),
        (Some(-2), Some("/etc/nope"))
    );
    // clone3: entry time from the first half, duration and return from the second.
    assert_eq!(
        (r(5).ts_ns, r(5).duration_ns, r(5).ret),
        (Some(1_700_000_000_000_050_000), Some(30_000), Some(101))
    );
    // The new thread's first line came before the clone returned: still a thread of 100.
    assert_eq!((r(6).pid, r(6).tid, r(6).ret), (100, 101, Some(100)));
    assert_eq!(
        (r(7).pid, r(7).tid, r(7).ret),
        (100, 101, None),
        "futex never returned"
    );
    assert_eq!(r(8).ret, Some(102));
    assert_eq!(
        (r(9).pid, r(9).ret, r(9).ts_ns),
        (102, Some(-512), Some(1_700_000_000_000_100_000))
    );
    assert_eq!(r(10).ret, Some(0));
    assert_eq!(
        (r(11).path.as_deref(), r(11).comm.as_deref()),
        (Some("/bin/sleep"), Some("app"))
    );
    assert_eq!(
        (r(12).ret, r(12).comm.as_deref()),
        (None, Some("sleep")),
        "killed in the call"
    );
    assert_eq!(r(13).ret, Some(0x8000));
    assert_eq!((r(14).nr, r(14).ret), (500, Some(-38)));
    assert_eq!((r(15).ret, r(15).pid), (None, 100));
    let procs = read_processes(&processes_path(&out));
    assert_eq!(procs.len(), 2, "101 is a thread: {procs:?}");
    let p100 = procs.iter().find(|p| p.pid == 100).expect("100");
    assert_eq!(
        (p100.exit_code, p100.exe.as_deref(), p100.comm.as_deref()),
        (Some(2), Some("/usr/bin/app"), Some("app"))
    );
    assert_eq!(
        p100.argv,
        Some(vec![
            "app".to_string(),
            "--name=\"x, y\"".to_string(),
            "(paren)".to_string()
        ])
    );
    assert_eq!(p100.exit_ns, Some(1_700_000_000_000_220_000));
    let p102 = procs.iter().find(|p| p.pid == 102).expect("102");
    assert_eq!(
        (p102.ppid, p102.signal, p102.exit_code),
        (Some(100), Some(9), None)
    );
    assert_eq!(
        (p102.exe.as_deref(), p102.comm.as_deref()),
        (Some("/bin/sleep"), Some("sleep"))
    );
    let m = metadata(&out);
    assert_eq!(m[meta::RUN_ID], "edge");
    assert_eq!(m[meta::SCENARIO], "fixtures");
    assert_eq!(m[meta::ARCH], "x86_64");
    assert_eq!(m[meta::START_NS], "1700000000000001000");
}

#[test]
fn a_line_cut_by_the_end_of_the_file_is_an_unfinished_call() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("cut.parquet");
    let s = ingest(&args(&fixture("cut-call.strace"), &out));
    assert_eq!((s.runs[0].lines, s.runs[0].lines_truncated), (2, 0));
    let rows = by_seq(read_syscalls(&out));
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[1].syscall.as_str(), rows[1].ret, rows[1].tid),
        ("read", None, 7)
    );
    assert_eq!(rows[1].args.as_ref().map(|a| a[0]), Some(3));
    // A cut that leaves no call is counted, not an error.
    let out2 = dir.path().join("cut2.parquet");
    let s = ingest(&args(&fixture("cut-stamp.strace"), &out2));
    assert_eq!(s.runs[0].lines_truncated, 1);
    assert_eq!(read_syscalls(&out2).len(), 1);
    assert_eq!(metadata(&out2)[meta::LINES_TRUNCATED], "1");
}

#[test]
fn malformed_lines_fail_with_file_and_line_or_are_skipped_and_counted() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("m.parquet");
    let input = fixture("malformed.strace");
    let err = tracer::ingest::run(&args(&input, &out)).expect_err("line 3 is malformed");
    match &err {
        IngestError::Malformed {
            path,
            line,
            expected,
            text,
        } => {
            assert_eq!(
                (path, *line, *expected, text.as_str()),
                (
                    &input,
                    3,
                    "'(' after the syscall name",
                    "this is not strace"
                )
            );
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("malformed.strace:3:"), "{msg}");
    let mut a = args(&input, &out);
    a.lenient = true;
    let s = ingest(&a);
    assert_eq!(s.runs[0].lines_skipped, 1);
    let rows = by_seq(read_syscalls(&out));
    let names: Vec<&str> = rows.iter().map(|r| r.syscall.as_str()).collect();
    assert_eq!(
        names,
        ["getpid", "getppid", "close"],
        "nothing valid is dropped"
    );
    assert_eq!(metadata(&out)[meta::LINES_SKIPPED], "1");
}

#[test]
fn time_of_day_stamps_cross_midnight() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("mid.parquet");
    ingest(&args(&fixture("midnight.strace"), &out));
    let rows = by_seq(read_syscalls(&out));
    let (a, b) = (rows[0].ts_ns.expect("ts"), rows[1].ts_ns.expect("ts"));
    assert_eq!(b - a, 2_000_000, "the next day, 2 ms later");
}

#[test]
fn split_set_is_merged_by_time_and_builds_the_tree() {
    let dir = tempfile::tempdir().expect("tmp");
    for (input, name) in [(fixture("ff"), "folder"), (fixture("ff/trace"), "prefix")] {
        let out = dir.path().join(format!("{name}.parquet"));
        ingest(&args(&input, &out));
        let rows = by_seq(read_syscalls(&out));
        let seen: Vec<(&str, i32)> = rows.iter().map(|r| (r.syscall.as_str(), r.tid)).collect();
        assert_eq!(
            seen,
            [
                ("clone", 200),
                ("getpid", 201),
                ("exit_group", 201),
                ("wait4", 200),
                ("exit_group", 200)
            ]
        );
        let procs = read_processes(&processes_path(&out));
        let child = procs.iter().find(|p| p.pid == 201).expect("201");
        assert_eq!((child.ppid, child.exit_code), (Some(200), Some(4)));
    }
}

#[test]
fn missing_input_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("nothing-here");
    let err =
        tracer::ingest::run(&args(&input, &dir.path().join("x.parquet"))).expect_err("no input");
    assert!(err.to_string().contains("nothing-here"), "{err}");
}

#[test]
fn terminal_capture_lines_without_prefix_belong_to_the_last_task() {
    // strace -f to a terminal: no `[pid N]` while one task exists; the first process is the
    // prefixed pid no fork returned (10); after it exits, the unprefixed lines are 11's.
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("orphan.parquet");
    ingest(&args(&fixture("terminal-orphan.strace"), &out));
    let rows = by_seq(read_syscalls(&out));
    let seen: Vec<(&str, i32, Option<i64>)> = rows
        .iter()
        .map(|r| (r.syscall.as_str(), r.tid, r.ret))
        .collect();
    assert_eq!(
        seen,
        [
            ("execve", 10, Some(0)),
            ("clone", 10, Some(11)),
            ("execve", 11, Some(0)),
            ("exit_group", 10, None),
            ("clock_nanosleep", 11, Some(0)),
            ("exit_group", 11, None),
        ]
    );
    let procs = read_processes(&processes_path(&out));
    let sleep = procs.iter().find(|p| p.pid == 11).expect("11");
    assert_eq!(
        (sleep.ppid, sleep.exe.as_deref(), sleep.exit_code),
        (Some(10), Some("/bin/sleep"), Some(0))
    );
}
