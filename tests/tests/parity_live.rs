//! Live parity: the same deterministic multi-process workload under `strace -f -ttt -T -o`
//! (ingested) and under `tracer record` must look the same once the known strace-vs-eBPF
//! differences are removed: similarity >= 0.99. Needs root (eBPF) and the built `tracer` binary
//! (`cargo build -p tracer`).

use std::process::{Command, Stdio};

use tests::{compile, require_root, tracer};
use tracer::{
    ingest::{Arch, Format, IngestConfig},
    parity::{ParityConfig, compare_paths, render},
};

fn parity_args(a: &std::path::Path, b: &std::path::Path) -> ParityConfig {
    ParityConfig {
        a: a.to_path_buf(),
        b: b.to_path_buf(),
        run_a: None,
        run_b: None,
        window: 6,
        ignore: vec![],
        min_similarity: Some(0.99),
    }
}

/// Captures `program` both ways and compares; returns the outcome after checking it.
fn capture_both_and_compare(program: &str) {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let exe = compile(program, d);
    let input = d.join("input.txt");
    std::fs::write(&input, "parity\n").expect("write");
    let log = d.join("w.strace");
    let status = Command::new("strace")
        .args(["-f", "-ttt", "-T", "-o"])
        .arg(&log)
        .arg(&exe)
        .arg(&input)
        .stdout(Stdio::null())
        .status()
        .expect("strace");
    let code = status.code();
    let strace_pq = d.join("strace.parquet");
    tracer::ingest::run(&IngestConfig {
        input: log.clone(),
        output: strace_pq.clone(),
        format: Format::Strace,
        arch: Some(Arch::native()),
        date: None,
        lenient: false,
        run_id: Some("strace".into()),
        scenario: None,
        pid: None,
    })
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let ebpf_pq = d.join("ebpf.parquet");
    let out = tracer(&[
        "record",
        "-q",
        "-o",
        ebpf_pq.to_str().expect("path"),
        "--",
        exe.to_str().expect("path"),
        input.to_str().expect("path"),
    ]);
    assert_eq!(
        out.status.code(),
        code,
        "same exit status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome =
        compare_paths(&parity_args(&strace_pq, &ebpf_pq)).unwrap_or_else(|e| panic!("{e:#?}"));
    let text = render(&outcome, 10);
    println!("{program}:\n{text}");
    let r = &outcome.report;
    assert!(
        r.similarity >= 0.99,
        "similarity {} < 0.99:\n{text}",
        r.similarity
    );
    assert!(
        r.processes.only_a.is_empty() && r.processes.only_b.is_empty(),
        "{text}"
    );
    assert_eq!(r.processes.tree_agrees, r.processes.paired, "{text}");
    assert!(r.returns.ratio() >= 0.99, "{text}");
    assert!(r.paths.compared > 0 && r.paths.ratio() >= 0.99, "{text}");
    assert_eq!(outcome.exit_code(), 0);
}

#[test]
fn deterministic_multi_process_workload() {
    require_root();
    capture_both_and_compare("parity_workload");
}

#[test]
fn threads_and_signals_workload() {
    require_root();
    // Threads add timing-dependent futex waits (pthread_join may or may not block): still
    // above 0.99 over the whole capture.
    capture_both_and_compare("ingest_workload");
}
