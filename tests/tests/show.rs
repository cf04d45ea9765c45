//! `tracer show`: a capture read back as strace output. The `showcase` program runs under real
//! `strace -ff` and under `tracer record`; the lines `tracer show` prints for each process must
//! be strace's once what legitimately differs is normalised (addresses, pids, buffer contents
//! and structures the capture does not hold). Also: CSV and JSON Lines read back in DuckDB and
//! polars with the documented columns, the text ingests back into the same calls, `record`
//! takes strace's `-f`/`-ff`/`-s`, and `show | head -1` ends quietly. Needs root (live capture).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use tests::{Capture, bin, python, read_syscalls, tracer};
use tracer_dataset::{meta, rows::SyscallRecord};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tracer failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

/// The chosen calls of `showcase` exactly as strace prints them (alignment aside).
const EXPECTED: &[&str] = &[
    "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3",
    "openat(AT_FDCWD, \"/nonexistent/showcase\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)",
    "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ADDR",
    "access(\"/etc/passwd\", F_OK) = 0",
    "access(\"/etc/passwd\", R_OK) = 0",
    "access(\"/nonexistent/showcase\", R_OK|W_OK) = -1 ENOENT (No such file or directory)",
    "kill(P0, 0) = 0",
    "close(3) = 0",
    "close(4) = 0",
    "close(1000) = -1 EBADF (Bad file descriptor)",
    "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=ADDR) = P1",
    "wait4(P1, NULL, 0, NULL) = P1",
    "kill(P2, SIGKILL) = 0",
    "exit_group(3) = ?",
    "+++ exited with 3 +++",
];

/// One process's lines under both tools.
struct Run {
    /// strace's lines, per process in the order the processes started.
    strace: Vec<Vec<String>>,
    /// `tracer show -p PID`'s lines, the same processes.
    show: Vec<Vec<String>>,
    /// The pids of each tool, same order (main, first child, second child).
    pids: (Vec<i32>, Vec<i32>),
    /// The capture.
    cap: Capture,
}

/// The pids of a run in the order the processes started: the main process, then the children
/// in the order its clones returned them.
fn order_pids(main: i32, clone_returns: impl Iterator<Item = i32>) -> Vec<i32> {
    std::iter::once(main).chain(clone_returns).collect()
}

/// Runs `showcase OUT` under strace -ff and under the tracer.
fn run_both() -> Run {
    let cap = Capture::new("showcase");
    let prog = cap.compile("showcase");
    let target = cap.dir().join("out.txt");
    let prefix = cap.dir().join("st");
    let status = Command::new("strace")
        .arg("-ff")
        .arg("-o")
        .arg(&prefix)
        .arg("--")
        .arg(&prog)
        .arg(&target)
        .stdout(Stdio::null())
        .status()
        .expect("running strace");
    assert_eq!(status.code(), Some(3), "showcase under strace");
    let rec = cap.record(&["--user", "root", "-q"], &[s(&prog), s(&target)]);
    assert_eq!(
        rec.status.code(),
        Some(3),
        "showcase under tracer: {}",
        String::from_utf8_lossy(&rec.stderr)
    );

    // strace -ff: one file per process, named PREFIX.PID.
    let mut by_pid: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(cap.dir()).expect("ls") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(pid) = name.strip_prefix("st.").and_then(|p| p.parse().ok()) {
            let text = std::fs::read_to_string(&path).expect("strace log");
            by_pid.insert(pid, text.lines().map(str::to_string).collect());
        }
    }
    let strace_main = *by_pid
        .iter()
        .find(|(_, lines)| lines.first().is_some_and(|l| l.starts_with("execve(")))
        .expect("the main process's log")
        .0;
    let clone_ret = |l: &str| -> Option<i32> {
        l.starts_with("clone(")
            .then(|| l.rsplit("= ").next()?.trim().parse().ok())?
    };
    let strace_pids = order_pids(
        strace_main,
        by_pid[&strace_main].iter().filter_map(|l| clone_ret(l)),
    );
    assert_eq!(
        strace_pids.len(),
        3,
        "strace saw the two children: {by_pid:?}"
    );

    let rows = cap.syscalls();
    let main = rows[0].pid;
    let tracer_pids = order_pids(
        main,
        rows.iter()
            .filter(|r| r.pid == main && r.syscall == "clone")
            .filter_map(|r| r.ret.map(|v| v as i32)),
    );
    assert_eq!(tracer_pids.len(), 3, "the capture holds the two children");

    let show: Vec<Vec<String>> = tracer_pids
        .iter()
        .map(|pid| {
            let out = tracer(&["show", "-p", &pid.to_string(), s(&cap.out)]);
            stdout(&out).lines().map(str::to_string).collect()
        })
        .collect();
    let strace = strace_pids.iter().map(|p| by_pid[p].clone()).collect();
    Run {
        strace,
        show,
        pids: (strace_pids, tracer_pids),
        cap,
    }
}

/// The end of the quoted string starting at `b[start]` (a `"`), after strace's `...` mark.
fn quoted_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => {
                i += 1;
                break;
            }
            _ => i += 1,
        }
    }
    if b[i..].starts_with(b"...") {
        i += 3;
    }
    i
}

/// Replaces every `open ... close` span (not nested) of `line` by `ADDR`.
fn replace_spans(line: &str, open: char, close: char) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(a) = rest.find(open) {
        let Some(b) = rest[a..].find(close) else {
            break;
        };
        out.push_str(&rest[..a]);
        out.push_str("ADDR");
        rest = &rest[a + b + close.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// What legitimately differs between strace's line and ours, normalised: alignment, hex
/// numbers (addresses), pids (as P0, P1, P2), structures and arrays strace reads from memory,
/// buffer contents, execve's environment, strace's `= ?` for a call cut by a fatal signal,
/// and signal lines (`--- SIGCHLD ---`, not recorded).
fn normalise(line: &str, pids: &[i32]) -> Option<String> {
    if line.starts_with("--- ") {
        return None;
    }
    let mut l = line.to_string();
    if let Some(open) = l.strip_suffix(" <unfinished ...>") {
        l = format!("{open}) = ?");
    }
    if let Some(at) = l.find(" = ? ERESTART") {
        l.truncate(at + 4);
    }
    // Buffers: strace prints read/write data, the capture its address.
    let name = l.split('(').next().unwrap_or("").to_string();
    if ["read", "write", "pread64", "pwrite64"].contains(&name.as_str())
        && let Some(q) = l.find('"')
    {
        let end = quoted_end(l.as_bytes(), q);
        l = format!("{}ADDR{}", &l[..q], &l[end..]);
    }
    // execve's environment: `0x7ffc... /* 35 vars */` (strace), `?` (the capture has none).
    if let Some(c) = l.find(" /* ")
        && let Some(e) = l[c..].find(" */")
    {
        l = format!("{}{}", &l[..c], &l[c + e + 3..]);
    }
    l = replace_spans(&l, '{', '}');
    l = replace_spans(&l, '[', ']');
    let mut out = String::new();
    let b = l.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let end = quoted_end(b, i);
            out.push_str(&l[i..end]);
            i = end;
        } else if b[i..].starts_with(b"0x") {
            let mut j = i + 2;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            out.push_str("ADDR");
            i = j;
        } else if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let n: i64 = l[i..j].parse().unwrap_or(-1);
            match pids.iter().position(|p| i64::from(*p) == n) {
                Some(k) => out.push_str(&format!("P{k}")),
                None => out.push_str(&l[i..j]),
            }
            i = j;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    // `?` for an argument the capture lacks is an address strace printed.
    let out = out.replace(", ?)", ", ADDR)");
    // Alignment: strace pads the return to column 40.
    let mut squeezed = String::with_capacity(out.len());
    for part in out.split(" = ").enumerate() {
        if part.0 > 0 {
            squeezed.push_str(" = ");
        }
        squeezed.push_str(if part.0 == 0 {
            part.1.trim_end()
        } else {
            part.1
        });
    }
    Some(squeezed)
}

fn normalised(lines: &[String], pids: &[i32]) -> Vec<String> {
    lines.iter().filter_map(|l| normalise(l, pids)).collect()
}

#[test]
fn lines_agree_with_strace() {
    let run = run_both();
    let (sp, tp) = &run.pids;
    let mut strace: Vec<Vec<String>> = run.strace.iter().map(|l| normalised(l, sp)).collect();
    let mut show: Vec<Vec<String>> = run.show.iter().map(|l| normalised(l, tp)).collect();
    // The second child is killed while it waits in pause(), or, rarely, just before it
    // enters it: then neither tool has the call. Compare without it when one lacks it.
    // When the kill lands at the syscall-entry stop, strace cannot read the registers any
    // more and prints the call as `???()`: that is the pause.
    for l in strace[2].iter_mut() {
        if l == "???() = ?" {
            *l = "pause() = ?".to_string();
        }
    }
    let paused = |lines: &[String]| lines.iter().any(|l| l == "pause() = ?");
    if paused(&strace[2]) != paused(&show[2]) {
        strace[2].retain(|l| l != "pause() = ?");
        show[2].retain(|l| l != "pause() = ?");
    }
    for (k, role) in ["main process", "first child", "second child"]
        .iter()
        .enumerate()
    {
        let (a, b) = (&strace[k], &show[k]);
        let first_diff = a.iter().zip(b).position(|(x, y)| x != y);
        assert!(
            a == b,
            "{role}: tracer show and strace disagree at line {first_diff:?} \
             (strace {} lines, show {}):\n--- strace (normalised)\n{}\n--- tracer show \
             (normalised)\n{}\n--- tracer show (raw)\n{}",
            a.len(),
            b.len(),
            a.join("\n"),
            b.join("\n"),
            run.show[k].join("\n"),
        );
    }
    // The chosen calls, decoded exactly (only addresses and pids normalised).
    for want in EXPECTED {
        assert!(
            show[0].iter().any(|l| l == want),
            "tracer show lacks {want:?}:\n{}",
            show[0].join("\n")
        );
    }
    assert_eq!(
        show[1].last().map(String::as_str),
        Some("+++ exited with 7 +++")
    );
    assert_eq!(
        show[2].last().map(String::as_str),
        Some("+++ killed by SIGKILL +++")
    );
    // Not normalised at all: the decoded text is strace's, byte for byte but the alignment.
    let raw = &run.show[0];
    assert!(raw.iter().any(|l| {
        l.starts_with("openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) ")
            && l.ends_with("= 3")
    }));
    let create = raw
        .iter()
        .find(|l| l.contains("O_WRONLY|O_CREAT|O_TRUNC, 0644)"))
        .expect("the created file's openat");
    assert!(
        create.contains(s(&run.cap.dir().join("out.txt"))),
        "{create}"
    );
    let close = raw
        .iter()
        .find(|l| l.starts_with("close(3)"))
        .expect("close(3)");
    assert_eq!(
        close.find("= "),
        Some(40),
        "returns align at column 40: {close:?}"
    );
}

#[test]
fn whole_capture_has_pid_prefixes_and_exit_lines() {
    let cap = Capture::new("prefixes");
    let prog = cap.compile("showcase");
    let target = cap.dir().join("out.txt");
    let rec = cap.record(&["-q", "-T"], &[s(&prog), s(&target)]);
    assert_eq!(rec.status.code(), Some(3));
    let rows = cap.syscalls();
    let main = rows[0].pid;
    let text = stdout(&tracer(&["show", "-tt", "-T", s(&cap.out)]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("[pid ")),
        "three processes: every line has strace -f's prefix:\n{text}"
    );
    let main_prefix = format!("[pid {main:>5}] ");
    let last = lines.last().expect("lines");
    assert!(
        last.starts_with(&main_prefix) && last.ends_with("+++ exited with 3 +++"),
        "{last}"
    );
    // -tt: HH:MM:SS.uuuuuu after the prefix; -T: <s.uuuuuu> where the call returned.
    let open = lines
        .iter()
        .find(|l| l.contains("\"/etc/passwd\", O_RDONLY"))
        .expect("openat line");
    let after = &open[main_prefix.len()..];
    assert_eq!(after.as_bytes()[2], b':', "{open}");
    assert_eq!(after.as_bytes()[8], b'.', "{open}");
    assert!(open.ends_with('>') && open.contains(" = 3 <0."), "{open}");
    let exit_group = lines
        .iter()
        .find(|l| l.contains("exit_group(3)"))
        .expect("exit_group");
    assert!(
        exit_group.ends_with("= ?"),
        "never returned, no duration: {exit_group}"
    );
    // -e and -p, as strace.
    let files = stdout(&tracer(&[
        "show",
        "-e",
        "trace=access",
        "-p",
        &main.to_string(),
        s(&cap.out),
    ]));
    let calls: Vec<&str> = files.lines().filter(|l| !l.starts_with("+++")).collect();
    assert!(calls.iter().all(|l| l.starts_with("access(")), "{files}");
    assert_eq!(
        calls.len(),
        4,
        "ld.so.preload and the program's three: {files}"
    );
    // --seq: exactly the rows asked for.
    let open_seq = rows
        .iter()
        .find(|r| r.path.as_deref() == Some("/etc/passwd") && r.syscall == "openat")
        .expect("row")
        .seq;
    let slice = stdout(&tracer(&[
        "show",
        "--seq",
        &format!("{open_seq}..{}", open_seq + 3),
        s(&cap.out),
    ]));
    assert_eq!(slice.lines().count(), 3, "{slice}");
    assert!(slice.lines().next().expect("line").contains("/etc/passwd"));
}

/// The documented columns of `--format csv` and `--format jsonl`.
const COLUMNS: &str = concat!(
    "run_id,source,scenario,mode,seq,ts_ns,duration_ns,pid,tid,comm,syscall,nr,args,ret,path,",
    "abi,path2,sock_family,sock_addr,sock_port,marks,text"
);

#[test]
fn csv_and_jsonl_read_back_in_duckdb_and_polars() {
    let cap = Capture::new("tables");
    let prog = cap.compile("showcase");
    let target = cap.dir().join("out.txt");
    assert_eq!(
        cap.record(&["-q"], &[s(&prog), s(&target)]).status.code(),
        Some(3)
    );
    let rows: Vec<SyscallRecord> = cap.syscalls();
    let csv = cap.dir().join("calls.csv");
    let jsonl = cap.dir().join("calls.jsonl");
    std::fs::write(
        &csv,
        stdout(&tracer(&["show", "--format", "csv", s(&cap.out)])),
    )
    .expect("csv");
    std::fs::write(
        &jsonl,
        stdout(&tracer(&["show", "--format", "jsonl", s(&cap.out)])),
    )
    .expect("jsonl");
    let script = r#"
import sys, duckdb, polars as pl
csv, jsonl = sys.argv[1], sys.argv[2]
d = duckdb.sql(f"SELECT * FROM read_csv('{csv}')")
print(",".join(d.columns))
print(duckdb.sql(f"SELECT count(*) FROM read_csv('{csv}')").fetchall()[0][0])
print(duckdb.sql(f"""SELECT text FROM read_csv('{csv}')
    WHERE syscall = 'openat' AND path = '/etc/passwd'""").fetchall()[0][0])
print(duckdb.sql(f"""SELECT args::UBIGINT[] FROM read_csv('{csv}')
    WHERE syscall = 'exit_group' ORDER BY seq DESC LIMIT 1""").fetchall()[0][0][0])
print(duckdb.sql(f"SELECT count(*) FROM read_csv('{csv}') WHERE ret IS NULL").fetchall()[0][0])
p = pl.read_csv(csv)
print(",".join(p.columns))
print(p.height)
print(p.filter(pl.col("text").str.contains("ENOENT")).height)
# The registers are unsigned 64-bit, as in the Parquet file: polars infers i64 unless told.
# Mostly-null columns (marks, path2, ...) need the whole file to infer a type from.
j = pl.read_ndjson(jsonl, schema_overrides={"args": pl.List(pl.UInt64)}, infer_schema_length=None)
assert j.schema["args"] == pl.List(pl.UInt64)
print(",".join(j.columns))
print(j.height)
print(duckdb.sql(f"SELECT count(*) FROM read_json('{jsonl}') WHERE path = '/etc/passwd'").fetchall()[0][0])
"#;
    let out = python(script, &[s(&csv), s(&jsonl)]);
    let got: Vec<&str> = out.lines().collect();
    let n = rows.len().to_string();
    let enoent = rows
        .iter()
        .filter(|r| r.ret == Some(-2))
        .count()
        .to_string();
    let unfinished = rows.iter().filter(|r| r.ret.is_none()).count().to_string();
    let passwd = rows
        .iter()
        .filter(|r| r.path.as_deref() == Some("/etc/passwd"))
        .count()
        .to_string();
    assert_eq!(got[0], COLUMNS, "DuckDB sees the documented columns");
    assert_eq!(got[1], n, "DuckDB reads every call");
    // The descriptor's number is whatever the process had free (tests running beside this one
    // may leave descriptors open for the command to inherit): take it from the capture.
    let fd = rows
        .iter()
        .find(|r| r.syscall == "openat" && r.path.as_deref() == Some("/etc/passwd"))
        .and_then(|r| r.ret)
        .expect("the openat of /etc/passwd, returned");
    assert_eq!(
        got[2],
        format!("openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = {fd}")
    );
    assert_eq!(got[3], "3", "args cast to UBIGINT[]: exit_group's status");
    assert_eq!(got[4], unfinished, "null returns are empty fields");
    assert_eq!(got[5], COLUMNS, "polars sees the documented columns");
    assert_eq!(got[6], n);
    assert_eq!(
        got[7], enoent,
        "quoted texts with commas and quotes read back whole"
    );
    assert_eq!(got[8], COLUMNS, "JSON Lines has the same columns");
    assert_eq!(got[9], n);
    assert_eq!(got[10], passwd);
}

/// What the round trip keeps of a call: pid, name, return, path.
type Call = (i32, String, Option<i64>, Option<String>);

#[test]
fn text_ingests_back_into_the_same_calls() {
    let cap = Capture::new("roundtrip");
    let prog = cap.compile("showcase");
    let target = cap.dir().join("out.txt");
    assert_eq!(
        cap.record(&["-q", "-T"], &[s(&prog), s(&target)])
            .status
            .code(),
        Some(3)
    );
    let log = cap.dir().join("shown.log");
    std::fs::write(&log, stdout(&tracer(&["show", "-ttt", "-T", s(&cap.out)]))).expect("log");
    let back = cap.dir().join("back.parquet");
    let out = tracer(&["ingest", s(&log), "-o", s(&back)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (a, b) = (cap.syscalls(), read_syscalls(&back));
    assert_eq!(a.len(), b.len(), "strace's parser reads every line back");
    // Per thread, in order: the ingest places a call that never resumed (the killed child's
    // pause) where its thread ended, not where it started.
    let per_thread = |rows: &[SyscallRecord]| {
        let mut m: BTreeMap<i32, Vec<Call>> = BTreeMap::new();
        for r in rows {
            m.entry(r.tid)
                .or_default()
                .push((r.pid, r.syscall.clone(), r.ret, r.path.clone()));
        }
        m
    };
    assert_eq!(per_thread(&a), per_thread(&b));
    let procs = tests::read_processes(&tracer_dataset::layout::processes_path(&back));
    let mut codes: Vec<(Option<i32>, Option<i32>)> =
        procs.iter().map(|p| (p.exit_code, p.signal)).collect();
    codes.sort();
    assert_eq!(codes, [(None, Some(9)), (Some(3), None), (Some(7), None)]);
}

#[test]
fn record_accepts_strace_flags() {
    let cap = Capture::new("flags");
    let prog = cap.compile("showcase");
    let target = cap.dir().join("out.txt");
    for flags in [&["-f", "-q"][..], &["-ff", "-q"]] {
        let rec = cap.record(flags, &[s(&prog), s(&target)]);
        assert_eq!(
            rec.status.code(),
            Some(3),
            "{flags:?}: {}",
            String::from_utf8_lossy(&rec.stderr)
        );
        assert!(cap.syscalls().iter().any(|r| r.syscall == "exit_group"));
    }
    let rec = cap.record(&["-f", "-s", "8", "-q"], &[s(&prog), s(&target)]);
    assert_eq!(
        rec.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    let rows = cap.syscalls();
    assert!(
        rows.iter()
            .all(|r| r.path.as_ref().is_none_or(|p| p.len() <= 8))
    );
    assert!(rows.iter().any(|r| r.path.as_deref() == Some("/etc/pas")));
    assert_eq!(
        cap.metadata().get(meta::PATH_LIMIT).map(String::as_str),
        Some("8")
    );
    let text = stdout(&tracer(&["show", "-e", "trace=openat", s(&cap.out)]));
    assert!(
        text.contains("openat(AT_FDCWD, \"/etc/pas\"..., O_RDONLY|O_CLOEXEC)"),
        "a cut path carries strace's ...:\n{text}"
    );
    let help = stdout(&tracer(&["record", "--help"]));
    assert!(help.contains("-f") && help.contains("-s <N>"), "{help}");
}

/// `tracer show ... | head -1` in bash with pipefail: the status is tracer's.
fn show_into_head(file: &Path, format: &str) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg("set -o pipefail; \"$0\" show --format \"$2\" \"$1\" | head -1 >/dev/null")
        .arg(bin("tracer"))
        .arg(file)
        .arg(format)
        .output()
        .expect("bash")
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let cap = Capture::new("storm");
    let prog = cap.compile("storm");
    let rec = cap.record(&["-q"], &[s(&prog), "50000"]);
    assert!(
        rec.status.success(),
        "{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    assert_eq!(
        cap.metadata().get(meta::EVENTS_LOST).map(String::as_str),
        Some("0")
    );
    let file: PathBuf = cap.out.clone();
    for format in ["strace", "csv", "jsonl"] {
        let out = show_into_head(&file, format);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: exit 0 when the reader goes away"
        );
        assert!(
            out.stderr.is_empty(),
            "{format}: nothing on stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
