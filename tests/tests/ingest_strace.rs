//! End to end: run the real strace (6.x) on a compiled multi-process, multi-threaded workload
//! with signals under many flag combinations, ingest the log with `tracer::ingest::run`, and
//! read the Parquet back (Rust arrow here; DuckDB and polars in `read_with_duckdb_and_polars`).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{SystemTime, UNIX_EPOCH},
};

use tests::{compile, metadata, python, read_run, read_syscalls};
use tracer::ingest::{Arch, Format, IngestConfig, IngestSummary};
use tracer_dataset::{
    layout::processes_path,
    meta,
    rows::{ProcessRecord, SyscallRecord},
};

/// What a capture's flags let the ingest know.
#[derive(Clone, Copy, Debug, Default)]
struct Expect {
    /// `-f`/`-ff`: children and threads are traced.
    follow: bool,
    /// Lines carry wall-clock stamps (`-t`, `-tt`, `-ttt`).
    wall_clock: bool,
    /// `-T`.
    durations: bool,
    /// `-Y`.
    comm: bool,
}

struct Traced {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    /// The file (or -ff prefix) strace wrote.
    log: PathBuf,
    /// The file the workload opens (a name that needs escaping).
    input: PathBuf,
}

/// Runs `strace FLAGS -o LOG workload INPUT` (or with the log on stderr when `stderr`).
fn strace(flags: &[&str], stderr: bool) -> Traced {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().to_path_buf();
    let exe = compile("ingest_workload", &d);
    let input = d.join("in \"q\" (1) = x\t.txt");
    std::fs::write(&input, "hello\n").expect("write the input file");
    let log = d.join("trace.log");
    let mut cmd = Command::new("strace");
    cmd.args(flags);
    if stderr {
        cmd.stderr(std::fs::File::create(&log).expect("log file"));
    } else {
        cmd.arg("-o").arg(&log).stderr(Stdio::inherit());
    }
    let status = cmd
        .arg(&exe)
        .arg(&input)
        .stdout(Stdio::null())
        .status()
        .expect("strace 6 must be installed: apt-get install strace");
    assert_eq!(
        status.code(),
        Some(3),
        "the workload exits with 3 under strace {flags:?}"
    );
    Traced {
        _dir: dir,
        dir: d,
        log,
        input,
    }
}

fn args(input: &Path, output: &Path) -> IngestConfig {
    IngestConfig {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        format: Format::Strace,
        arch: Some(Arch::native()),
        date: None,
        lenient: false,
        run_id: None,
        scenario: None,
        pid: None,
    }
}

fn ingest(a: &IngestConfig) -> IngestSummary {
    tracer::ingest::run(a).unwrap_or_else(|e| panic!("ingest {}: {e:#?}", a.input.display()))
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as i64
}

/// Lines of the strace output that are calls (whole, or first halves), counted independently
/// of the parser: everything except resumed halves, signals, exits and strace's messages.
fn call_lines(files: &[PathBuf]) -> usize {
    files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .expect("read log")
                .lines()
                .filter(|l| {
                    !l.contains(" resumed>")
                        && !l.contains("+++ ")
                        && !l.contains("--- SIG")
                        && !l.starts_with("strace: ")
                        && !l.starts_with(" > ")
                        && !l.trim().is_empty()
                })
                .count()
        })
        .sum()
}

/// Checks what every capture of the workload must show.
fn check(rows: &[SyscallRecord], procs: &[ProcessRecord], t: &Traced, e: Expect) {
    assert!(!rows.is_empty());
    let mut seqs: Vec<u64> = rows.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..rows.len() as u64).collect::<Vec<_>>(),
        "seq is 0..n"
    );
    for r in rows {
        assert!(r.nr >= 0, "{} has no number in the table", r.syscall);
    }
    let input = t.input.to_str().expect("utf-8 path");
    let open = rows
        .iter()
        .find(|r| r.syscall == "openat" && r.path.as_deref() == Some(input))
        .unwrap_or_else(|| panic!("no openat of {input:?}"));
    assert!(open.ret.is_some_and(|fd| fd >= 3), "{open:?}");
    let args = open.args.as_ref().expect("args");
    assert_eq!(args[0] as i64, -100, "AT_FDCWD");
    let write = rows
        .iter()
        .find(|r| r.syscall == "write" && r.args.as_ref().is_some_and(|a| a[0] == 1))
        .expect("the write to stdout");
    assert_eq!(write.ret, Some(23));
    let main_pid = open.pid;
    let main = procs
        .iter()
        .find(|p| p.pid == main_pid)
        .expect("main process row");
    assert_eq!(
        main.exe.as_deref().map(|x| x.ends_with("ingest_workload")),
        Some(true)
    );
    let exits: Vec<&SyscallRecord> = rows.iter().filter(|r| r.syscall == "exit_group").collect();
    assert!(
        !exits.is_empty() && exits.iter().all(|r| r.ret.is_none()),
        "exit_group never returns"
    );
    let ok_rows = rows.iter().filter(|r| r.ret.is_some());
    if e.follow {
        let missing: Vec<&SyscallRecord> = rows
            .iter()
            .filter(|r| {
                r.path
                    .as_deref()
                    .is_some_and(|p| p.starts_with("/nonexistent/thread-"))
            })
            .collect();
        assert_eq!(missing.len(), 3, "one failed open per thread");
        for r in &missing {
            assert_eq!(r.ret, Some(-2), "ENOENT is -2: {r:?}");
            assert_eq!(r.pid, main_pid, "threads belong to the main process: {r:?}");
            assert_ne!(r.tid, main_pid, "but run on their own tid");
        }
        assert_eq!(procs.len(), 4, "main and three children: {procs:?}");
        assert_eq!(main.exit_code, Some(3));
        assert_eq!(main.ppid, None);
        let children: Vec<&ProcessRecord> = procs.iter().filter(|p| p.pid != main_pid).collect();
        assert!(
            children.iter().all(|p| p.ppid == Some(main_pid)),
            "{children:?}"
        );
        let tru = children
            .iter()
            .find(|p| p.exe.as_deref() == Some("/bin/true"))
            .expect("the child that execs /bin/true");
        assert_eq!(
            (tru.exit_code, tru.argv.clone()),
            (Some(0), Some(vec!["true".to_string()]))
        );
        assert!(
            children
                .iter()
                .any(|p| p.signal == Some(9) && p.exit_code.is_none()),
            "SIGKILL"
        );
        assert!(children.iter().any(|p| p.exit_code == Some(7)), "exit 7");
        let execve_true = rows
            .iter()
            .find(|r| r.syscall == "execve" && r.path.as_deref() == Some("/bin/true"))
            .expect("execve of /bin/true");
        assert_eq!(execve_true.ret, Some(0));
        assert_eq!(execve_true.pid, tru.pid);
    } else {
        // Children are known from the clone returns, but their lives were not traced.
        assert_eq!(procs.len(), 4, "{procs:?}");
        assert!(
            procs
                .iter()
                .filter(|p| p.pid != main_pid)
                .all(|p| p.ppid == Some(main_pid)
                    && p.exit_code.is_none()
                    && p.signal.is_none()
                    && p.exe.is_none())
        );
    }
    if e.wall_clock {
        let now = now_ns();
        for r in rows {
            let ts = r.ts_ns.unwrap_or_else(|| panic!("no ts: {r:?}"));
            assert!(
                (now - ts).abs() < 3_600_000_000_000,
                "ts {ts} is not within an hour of now"
            );
        }
        let mut by_seq: Vec<&SyscallRecord> = rows.iter().collect();
        by_seq.sort_by_key(|r| r.seq);
        for w in by_seq.windows(2) {
            assert!(
                w[0].ts_ns <= w[1].ts_ns,
                "entry times follow seq: {:?} then {:?}",
                w[0],
                w[1]
            );
        }
    } else {
        assert!(
            rows.iter().all(|r| r.ts_ns.is_none()),
            "no wall clock without -t/-tt/-ttt"
        );
    }
    if e.durations {
        for r in ok_rows {
            assert!(
                r.duration_ns.is_some_and(|d| d >= 0),
                "-T gives every returned call a duration: {r:?}"
            );
        }
    } else {
        assert!(rows.iter().all(|r| r.duration_ns.is_none()));
    }
    if e.comm {
        assert!(
            rows.iter()
                .filter(|r| r.pid == main_pid)
                .all(|r| r.comm.is_some())
        );
        assert_eq!(main.comm.as_deref(), Some("ingest_workload"));
        if e.follow {
            assert!(rows.iter().any(|r| r.comm.as_deref() == Some("true")));
        }
    } else {
        assert!(rows.iter().all(|r| r.comm.is_none()));
    }
}

/// Traces, ingests into a `.parquet` file, reads back, checks.
fn roundtrip(flags: &[&str], e: Expect) -> (Traced, Vec<SyscallRecord>, Vec<ProcessRecord>) {
    let t = strace(flags, false);
    let out = t.dir.join("out.parquet");
    let summary = ingest(&args(&t.log, &out));
    assert_eq!(summary.runs.len(), 1);
    let run = &summary.runs[0];
    assert_eq!(run.lines_skipped, 0);
    assert_eq!(run.lines_truncated, 0);
    let (rows, procs) = read_run(&out);
    assert_eq!(
        rows.len(),
        call_lines(std::slice::from_ref(&t.log)),
        "one row per call line ({flags:?})"
    );
    check(&rows, &procs, &t, e);
    let m = metadata(&out);
    assert_eq!(m.get(meta::SOURCE).map(String::as_str), Some("strace"));
    assert_eq!(m.get(meta::LINES_SKIPPED).map(String::as_str), Some("0"));
    assert_eq!(m.get(meta::EVENTS_WRITTEN), Some(&rows.len().to_string()));
    (t, rows, procs)
}

const F: Expect = Expect {
    follow: true,
    wall_clock: false,
    durations: false,
    comm: false,
};

#[test]
fn follow_forks_plain() {
    roundtrip(&["-f"], F);
}

#[test]
fn follow_forks_tt() {
    roundtrip(
        &["-f", "-tt"],
        Expect {
            wall_clock: true,
            ..F
        },
    );
}

#[test]
fn follow_forks_ttt_durations() {
    roundtrip(
        &["-f", "-ttt", "-T"],
        Expect {
            wall_clock: true,
            durations: true,
            ..F
        },
    );
}

#[test]
fn follow_forks_t_seconds_only() {
    let (_, rows, _) = roundtrip(
        &["-f", "-t"],
        Expect {
            wall_clock: true,
            ..F
        },
    );
    assert!(
        rows.iter()
            .all(|r| r.ts_ns.is_some_and(|t| t % 1_000_000_000 == 0))
    );
}

#[test]
fn follow_forks_relative() {
    roundtrip(&["-f", "-r"], F);
}

#[test]
fn follow_forks_decorated_fds() {
    roundtrip(&["-f", "-y"], F);
    roundtrip(&["-f", "-yy"], F);
}

#[test]
fn follow_forks_x_verbose_and_v() {
    let (_, rows, _) = roundtrip(&["-f", "-X", "verbose"], F);
    // -X verbose prints `0x3 /* PROT_READ|PROT_WRITE */`: the number is kept.
    let mmap = rows
        .iter()
        .find(|r| r.syscall == "mmap" && r.args.as_ref().is_some_and(|a| a[2] == 3))
        .expect("an mmap with PROT_READ|PROT_WRITE as a number");
    assert!(mmap.ret.is_some_and(|a| a > 0));
    roundtrip(&["-f", "-v"], F);
    roundtrip(&["-f", "-X", "raw"], F);
}

#[test]
fn follow_forks_comm_everything_at_once() {
    roundtrip(
        &["-f", "-Y", "-ttt", "-T", "-yy", "-X", "verbose"],
        Expect {
            wall_clock: true,
            durations: true,
            comm: true,
            ..F
        },
    );
    roundtrip(&["-f", "-Y"], Expect { comm: true, ..F });
}

#[test]
fn follow_forks_numbers_instruction_pointers_stack_traces() {
    roundtrip(
        &["-f", "-n", "-i", "-k", "-tt"],
        Expect {
            wall_clock: true,
            ..F
        },
    );
}

#[test]
fn single_process_without_follow() {
    let t = strace(&[], false);
    let out = t.dir.join("one.parquet");
    let mut a = args(&t.log, &out);
    ingest(&a);
    let (rows, procs) = read_run(&out);
    check(&rows, &procs, &t, Expect::default());
    assert!(
        rows.iter().all(|r| r.pid == 0 && r.tid == 0),
        "no pid in the log: 0"
    );
    a.pid = Some(4242);
    ingest(&a);
    assert!(
        read_syscalls(&out)
            .iter()
            .all(|r| r.pid == 4242 && r.tid == 4242)
    );
}

#[test]
fn terminal_capture_with_pid_brackets() {
    // `strace -f` to stderr: `[pid N]` appears only once there are several processes.
    let t = strace(&["-f", "-tt"], true);
    let text = std::fs::read_to_string(&t.log).expect("log");
    assert!(text.contains("[pid "), "strace wrote [pid N] prefixes");
    let out = t.dir.join("tty.parquet");
    ingest(&args(&t.log, &out));
    let (rows, procs) = read_run(&out);
    check(
        &rows,
        &procs,
        &t,
        Expect {
            wall_clock: true,
            ..F
        },
    );
    assert!(
        rows.iter().all(|r| r.pid != 0),
        "unprefixed lines belong to the first process"
    );
}

fn split_files(t: &Traced) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&t.dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("trace.log."))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn split_per_process_files_with_timestamps_are_merged_by_time() {
    let t = strace(&["-ff", "-ttt", "-T"], false);
    let files = split_files(&t);
    assert!(
        files.len() >= 7,
        "one file per thread and process: {files:?}"
    );
    // Given as the prefix.
    let out = t.dir.join("ff.parquet");
    ingest(&args(&t.log, &out));
    let (rows, procs) = read_run(&out);
    assert_eq!(rows.len(), call_lines(&files));
    check(
        &rows,
        &procs,
        &t,
        Expect {
            wall_clock: true,
            durations: true,
            ..F
        },
    );
    // Given as a folder holding only the set: the same rows.
    let only = t.dir.join("only");
    std::fs::create_dir(&only).expect("mkdir");
    for f in &files {
        std::fs::copy(f, only.join(f.file_name().expect("name"))).expect("copy");
    }
    let out2 = t.dir.join("ff2.parquet");
    ingest(&args(&only, &out2));
    let mut a: Vec<(u64, String, i32)> = rows
        .iter()
        .map(|r| (r.seq, r.syscall.clone(), r.tid))
        .collect();
    let mut b: Vec<(u64, String, i32)> = read_syscalls(&out2)
        .iter()
        .map(|r| (r.seq, r.syscall.clone(), r.tid))
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn split_per_process_files_without_timestamps_are_taken_in_pid_order() {
    let t = strace(&["-ff"], false);
    let files = split_files(&t);
    let out = t.dir.join("ff.parquet");
    ingest(&args(&t.log, &out));
    let (rows, procs) = read_run(&out);
    assert_eq!(rows.len(), call_lines(&files));
    check(&rows, &procs, &t, F);
    // Files one after another: seq never goes back to an earlier tid's file.
    let mut by_seq: Vec<&SyscallRecord> = rows.iter().collect();
    by_seq.sort_by_key(|r| r.seq);
    for w in by_seq.windows(2) {
        assert!(w[0].tid <= w[1].tid, "file order by pid");
    }
}

#[test]
fn date_option_places_time_of_day_stamps() {
    let t = strace(&["-f", "-tt"], false);
    let out = t.dir.join("d.parquet");
    let mut a = args(&t.log, &out);
    a.date = Some("2020-02-29".parse().expect("date"));
    // SAFETY-free: the test process's TZ is the machine's; compare with the same clock.
    ingest(&a);
    let rows = read_syscalls(&out);
    let day_start = 1_582_934_400_000_000_000i64; // 2020-02-29T00:00:00Z
    for r in &rows {
        let ts = r.ts_ns.expect("ts");
        // Within that local day (any time zone is within 14 h of UTC).
        assert!(
            ts > day_start - 14 * 3_600_000_000_000 && ts < day_start + 38 * 3_600_000_000_000,
            "{ts}"
        );
    }
}

#[test]
fn read_with_duckdb_and_polars() {
    let (t, rows, procs) = roundtrip(
        &["-f", "-ttt", "-T", "-Y"],
        Expect {
            wall_clock: true,
            durations: true,
            comm: true,
            ..F
        },
    );
    let out = t.dir.join("out.parquet");
    let procs_file = processes_path(&out);
    let script = r#"
import sys, duckdb, polars as pl
f, p = sys.argv[1], sys.argv[2]
con = duckdb.connect()
n, enoent, threads = con.execute(f"""SELECT count(*), count(*) FILTER (WHERE ret = -2 AND path LIKE '/nonexistent/%'),
    count(DISTINCT tid) FROM read_parquet('{f}')""").fetchone()
df = pl.read_parquet(f)
assert df.height == n, (df.height, n)
assert str(df.schema["ts_ns"]).startswith("Datetime"), df.schema["ts_ns"]
killed = pl.read_parquet(p).filter(pl.col("signal") == 9).height
names = con.execute(f"SELECT count(DISTINCT syscall) FROM '{f}'").fetchone()[0]
print(n, enoent, threads, killed, names)
"#;
    let printed = python(
        script,
        &[
            out.to_str().expect("path"),
            procs_file.to_str().expect("path"),
        ],
    );
    let v: Vec<usize> = printed
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    let tids: std::collections::HashSet<i32> = rows.iter().map(|r| r.tid).collect();
    let names: std::collections::HashSet<&str> = rows.iter().map(|r| r.syscall.as_str()).collect();
    assert_eq!(
        v,
        vec![
            rows.len(),
            3,
            tids.len(),
            procs.iter().filter(|p| p.signal == Some(9)).count(),
            names.len()
        ]
    );
}
