//! Importers of public datasets on small fixtures written in each documented format
//! (`tests/data/adfa-ld`, `tests/data/unm`, `tests/data/lid-ds`): the rows of single traces.
//! Whole distributions, their labels and archives: `ingest_datasets`.

use std::path::Path;

use tests::{metadata, read_processes, read_syscalls, workspace};
use tracer::ingest::{Format, IngestConfig};
use tracer_dataset::{layout::processes_path, meta};

fn args(format: Format, input: &Path, out: &Path) -> IngestConfig {
    IngestConfig {
        input: input.to_path_buf(),
        output: out.to_path_buf(),
        format,
        arch: None,
        date: None,
        lenient: false,
        run_id: None,
        scenario: None,
        pid: None,
    }
}

#[test]
fn adfa_ld_one_run_per_trace_with_scenarios_from_folders() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("adfa");
    let s = tracer::ingest::run(&args(
        Format::AdfaLd,
        &workspace().join("tests/data/adfa-ld"),
        &out,
    ))
    .unwrap_or_else(|e| panic!("{e:#?}"));
    // The fixture now has the distribution's whole layout: 8 traces beside the syscall list.
    assert_eq!(s.runs.len(), 8);
    // One dataset file; each trace is its run, with its scenario on every row.
    let file = out.join("syscalls/adfa-ld.parquet");
    let all = read_syscalls(&file);
    let run = |id: &str| -> Vec<_> { all.iter().filter(|r| r.run_id == id).collect() };
    let rows = run("Training_Data_Master/UTD-0001");
    let names: Vec<&str> = rows.iter().map(|r| r.syscall.as_str()).collect();
    assert_eq!(
        names,
        [
            "close", "close", "dup2", "close", "pipe", "clone", "close", "stat64", "access", "open"
        ]
    );
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (0..10).collect::<Vec<u64>>()
    );
    assert!(rows.iter().all(|r| r.ts_ns.is_none() && r.pid == 0));
    let m = metadata(&file);
    assert!(
        rows.iter()
            .all(|r| r.scenario.as_deref() == Some("training"))
    );
    assert_eq!(m[meta::ARCH].as_str(), "x86");
    assert_eq!(m[meta::SOURCE], "adfa-ld");
    let rows = run("Attack_Data_Master/Hydra_FTP_1/UAD-Hydra-FTP-1-2");
    assert!(
        rows.iter()
            .all(|r| r.scenario.as_deref() == Some("attack:hydra_ftp"))
    );
    assert_eq!(rows[0].syscall, "socketcall");
    assert_eq!((rows[4].syscall.as_str(), rows[4].nr), ("syscall_999", 999));
    let rows = run("Validation_Data_Master/UVD-0001");
    assert!(
        rows.iter()
            .all(|r| r.scenario.as_deref() == Some("validation"))
    );
}

#[test]
fn unm_keeps_the_interleaving_of_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("lpr.parquet");
    let s = tracer::ingest::run(&args(
        Format::Unm,
        &workspace().join("tests/data/unm/lpr.trace"),
        &out,
    ))
    .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(s.runs[0].rows, 5);
    let rows = read_syscalls(&out);
    let seen: Vec<(u64, i32, &str)> = rows
        .iter()
        .map(|r| (r.seq, r.pid, r.syscall.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (0, 551, "open"),
            (1, 551, "read"),
            (2, 552, "fork"),
            (3, 551, "close"),
            (4, 552, "exit")
        ]
    );
    let procs = read_processes(&processes_path(&out));
    assert_eq!(procs.iter().map(|p| p.pid).collect::<Vec<_>>(), [551, 552]);
    // A malformed line names file and line.
    let bad = dir.path().join("bad.trace");
    std::fs::write(&bad, "1 2\n1 x\n").expect("write");
    let err = tracer::ingest::run(&args(Format::Unm, &bad, &dir.path().join("bad.parquet")))
        .expect_err("line 2");
    assert!(err.to_string().contains("bad.trace:2:"), "{err}");
}

#[test]
fn lid_ds_pairs_entries_and_exits() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("normal.parquet");
    let mut a = args(
        Format::LidDs,
        &workspace().join("tests/data/lid-ds/normal.sc"),
        &out,
    );
    a.arch = Some(tracer::ingest::Arch::X86_64);
    tracer::ingest::run(&a).unwrap_or_else(|e| panic!("{e:#?}"));
    let mut rows = read_syscalls(&out);
    rows.sort_by_key(|r| r.seq);
    let seen: Vec<(&str, i32, Option<i64>)> = rows
        .iter()
        .map(|r| (r.syscall.as_str(), r.tid, r.ret))
        .collect();
    assert_eq!(
        seen,
        [
            ("openat", 206290, Some(13)),
            ("futex", 206291, None),
            ("read", 206290, Some(1024)),
            ("stat", 206290, Some(-2)),
            ("clone", 206290, Some(206300)),
            ("clone", 206300, Some(0)),
            ("close", 206290, Some(0)),
        ]
    );
    assert_eq!(rows[0].ts_ns, Some(1_631_609_708_128_108_442));
    assert_eq!(
        rows[0].duration_ns,
        Some(1_631_609_708_128_119_186 - 1_631_609_708_128_108_442)
    );
    assert_eq!(rows[0].path.as_deref(), Some("/etc/passwd"));
    assert_eq!(rows[3].path.as_deref(), Some("/var/www/missing"));
    assert_eq!(
        (rows[5].duration_ns, rows[5].pid),
        (None, 206300),
        "an exit without its entry"
    );
    assert!(rows.iter().all(|r| r.comm.as_deref() == Some("apache2")));
    let procs = read_processes(&processes_path(&out));
    let child = procs.iter().find(|p| p.pid == 206300).expect("child");
    assert_eq!(child.ppid, Some(206290));
}
