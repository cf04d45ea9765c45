//! Helpers shared by the integration tests: small datasets written with the project's writers.

use std::path::{Path, PathBuf};

use tracer_dataset::{ProcessRow, ProcessSink, RunInfo, SyscallRow, SyscallSink};

/// One call: (pid, tid, syscall name).
pub type Call<'a> = (i32, i32, &'a str);

/// Writes one run of `calls` (seq = position) to `path`.
pub fn write_run(
    path: &Path,
    run_id: &str,
    scenario: Option<&str>,
    mode: Option<&str>,
    calls: &[Call<'_>],
) {
    write_run_with_seq(
        path,
        run_id,
        scenario,
        mode,
        &calls
            .iter()
            .enumerate()
            .map(|(i, c)| (i as u64, *c))
            .collect::<Vec<_>>(),
    );
}

/// Writes one run with explicit seq numbers (rows in the given order).
pub fn write_run_with_seq(
    path: &Path,
    run_id: &str,
    scenario: Option<&str>,
    mode: Option<&str>,
    calls: &[(u64, Call<'_>)],
) {
    let mut sink = SyscallSink::create(
        path,
        RunInfo {
            run_id: run_id.into(),
            source: "test".into(),
            scenario: scenario.map(Into::into),
            mode: mode.map(Into::into),
        },
        &[],
    )
    .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
    for (seq, (pid, tid, name)) in calls {
        sink.push(&SyscallRow {
            seq: *seq,
            pid: *pid,
            tid: *tid,
            syscall: name,
            ..Default::default()
        })
        .expect("push row");
    }
    sink.close().expect("close sink");
}

/// Writes a processes file (which readers must skip).
pub fn write_processes(path: &Path, run_id: &str) {
    let mut sink = ProcessSink::create(
        path,
        RunInfo {
            run_id: run_id.into(),
            source: "test".into(),
            ..Default::default()
        },
        &[],
    )
    .expect("create processes file");
    sink.push(ProcessRow {
        pid: 1,
        ..Default::default()
    });
    sink.close().expect("close processes file");
}

/// Splits "a b c" into calls of one thread.
pub fn thread<'a>(pid: i32, tid: i32, names: &'a str) -> Vec<Call<'a>> {
    names.split_whitespace().map(|n| (pid, tid, n)).collect()
}

/// A small experiment folder: scenario `s` with two M.S runs and one M.R run.
///
/// M.S runs: thread 1 = "a b c a b c", then thread 2 = "x y z x y z" (sequential).
/// M.R run: the same two threads alternating call by call.
pub fn tiny_experiment(dir: &Path) -> PathBuf {
    let sys = dir.join("syscalls");
    std::fs::create_dir_all(&sys).expect("create syscalls dir");
    std::fs::create_dir_all(dir.join("processes")).expect("create processes dir");
    let t1 = thread(10, 10, "a b c a b c");
    let t2 = thread(20, 20, "x y z x y z");
    let ms: Vec<Call<'_>> = t1.iter().chain(&t2).copied().collect();
    let mr: Vec<Call<'_>> = t1.iter().zip(&t2).flat_map(|(a, b)| [*a, *b]).collect();
    write_run(
        &sys.join("s-ms-0.parquet"),
        "s-ms-0",
        Some("s"),
        Some("ms"),
        &ms,
    );
    write_run(
        &sys.join("s-ms-1.parquet"),
        "s-ms-1",
        Some("s"),
        Some("ms"),
        &ms,
    );
    write_run(
        &sys.join("s-mr-0.parquet"),
        "s-mr-0",
        Some("s"),
        Some("mr"),
        &mr,
    );
    write_processes(&dir.join("processes/s-ms-0.parquet"), "s-ms-0");
    std::fs::write(dir.join("manifest.json"), "{}").expect("write manifest");
    dir.to_path_buf()
}

/// [`tiny_experiment`] in a new temporary folder; the folder lives as long as the `TempDir`.
pub fn temp_tiny_experiment() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = tiny_experiment(dir.path());
    (dir, root)
}

/// `path` as a command-line argument.
pub fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8")
}
