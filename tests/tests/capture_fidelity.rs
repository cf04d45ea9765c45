//! Live tests of what a capture says when it cannot see everything: records lost on a full ring
//! (gap rows where they are missing, and no analysis window across one), a launched command's
//! exit status when its exit record is lost, lineage under `CLONE_PARENT`, and children the
//! kernel's filter had no room for.

use std::path::Path;

use analysis::{
    dataset::{Dataset, Selection},
    intern,
    profile::build_profile,
    view::View,
};
use tests::Capture;
use tracer::probe::{TEST_LOSE_EXITS_ENV, TEST_TRACED_ENTRIES_ENV};
use tracer_dataset::{
    gap, meta,
    rows::SyscallRecord,
    stream::{Bounds, SyscallStream},
};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn is_gap(r: &SyscallRecord) -> bool {
    r.syscall == gap::GAP_SYSCALL
}

/// What the gap test needs of a row, small: the test process's memory is what the processes it
/// forks meanwhile (the capture-cost tests measure their peak RSS) start from.
#[derive(Clone, Copy, Debug)]
struct Slim {
    seq: u64,
    tid: i32,
    gap: bool,
    getppid: bool,
    /// args[0], or for a gap args[0] + args[1].
    arg0: Option<u64>,
    ret: Option<i64>,
}

/// Every row of `path`, read batch by batch into [`Slim`] rows.
fn slim_rows(path: &Path) -> Vec<Slim> {
    let stream = SyscallStream::open(path, &Bounds::default()).expect("the capture opens");
    let mut rows = Vec::new();
    for batch in stream {
        let batch = batch.expect("a batch");
        for i in 0..batch.len() {
            let r = batch.row(i);
            let gap = r.syscall == gap::GAP_SYSCALL;
            rows.push(Slim {
                seq: r.seq,
                tid: r.tid,
                gap,
                getppid: r.syscall == "getppid",
                arg0: r.args.map(|a| if gap { a[0] + a[1] } else { a[0] }),
                ret: r.ret,
            });
        }
    }
    rows
}

/// The windows of length `k` the thread view should have: each thread's calls, cut at every gap
/// of that thread and at every gap of several threads (tid 0), as docs/DESIGN.md says.
fn expected_thread_windows(rows: &[Slim], k: u64) -> u64 {
    let mut since_gap: std::collections::HashMap<i32, u64> = std::collections::HashMap::new();
    let mut windows = 0;
    for r in rows {
        if r.gap {
            if r.tid == 0 {
                since_gap.values_mut().for_each(|n| *n = 0);
            } else if let Some(n) = since_gap.get_mut(&r.tid) {
                *n = 0;
            }
            continue;
        }
        let n = since_gap.entry(r.tid).or_default();
        *n += 1;
        if *n >= k {
            windows += 1;
        }
    }
    windows
}

#[test]
fn a_tiny_ring_puts_gap_rows_where_records_are_missing() {
    const CALLS: u64 = 300_000;
    let cap = Capture::new("gaps");
    let prog = cap.compile("gapstorm");
    let res = cap.record(
        &["-q", "--ring-bytes", "4096"],
        &[s(&prog), &CALLS.to_string()],
    );
    assert!(res.status.success(), "{}", stderr(&res));
    let rows = slim_rows(&cap.out);
    let md = cap.metadata();
    let lost: u64 = md[meta::EVENTS_LOST].parse().expect("a number");
    assert!(lost > 0, "a 4 KiB ring must lose records of this storm");
    let gaps: Vec<&Slim> = rows.iter().filter(|r| r.gap).collect();
    let count = |r: &Slim| r.ret.expect("a gap's count") as u64;
    let gap_lost: u64 = gaps.iter().map(|g| count(g)).sum();
    assert_eq!(gap_lost, lost, "the gap rows account for every lost record");
    assert_eq!(
        md[meta::GAP_ROWS],
        gaps.len().to_string(),
        "the footer counts the gap rows"
    );
    for g in &gaps {
        assert_eq!(g.arg0, Some(count(g)), "ret is the sum of the kinds: {g:?}");
    }
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.seq, i as u64, "seq counts the gap rows too");
    }

    // The storm's calls carry their index in args[0]: between two consecutive ones, the gap rows
    // of the storm's thread (or of several threads) must count exactly the calls missing.
    let storm: Vec<&Slim> = rows
        .iter()
        .filter(|r| r.getppid && r.arg0.is_some_and(|a| a < CALLS))
        .collect();
    let tid = storm.first().expect("storm rows").tid;
    let mut holes = 0;
    for pair in storm.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (ia, ib) = (a.arg0.expect("args"), b.arg0.expect("args"));
        assert!(ib > ia, "calls in order: {ia} then {ib}");
        let between: u64 = rows[a.seq as usize + 1..b.seq as usize]
            .iter()
            .filter(|r| r.gap && (r.tid == tid || r.tid == 0))
            .map(count)
            .sum();
        assert_eq!(
            between,
            ib - ia - 1,
            "gap rows between call {ia} (seq {}) and call {ib} (seq {})",
            a.seq,
            b.seq
        );
        holes += u64::from(ib - ia > 1);
    }
    assert!(holes > 0, "some calls are missing between rows");
    let first = storm[0].arg0.expect("args");
    let before: u64 = rows[..storm[0].seq as usize]
        .iter()
        .filter(|r| r.gap)
        .map(count)
        .sum();
    assert!(
        before >= first,
        "the {first} calls before the first row are in gaps before it ({before})"
    );

    // The analysis forms no window across a gap: its thread view has exactly the windows of the
    // pieces between gaps.
    for k in [2, 6] {
        let dataset = Dataset::open(&[s(&cap.out)]).expect("the capture opens");
        let mut interner = intern::for_k(k);
        let (profile, _) =
            build_profile(&dataset, &Selection::all(), View::Thread, k, &mut interner)
                .expect("a profile");
        assert_eq!(
            profile.total_windows(),
            expected_thread_windows(&rows, k as u64),
            "k = {k}: windows of the pieces between gaps only"
        );
        assert!(
            interner.get(gap::GAP_SYSCALL).is_none(),
            "a gap is not a syscall name"
        );
    }
}

#[test]
fn a_lost_exit_record_still_gives_the_commands_exit_status() {
    // The loss is forced by a test-only hook (`TEST_LOSE_EXITS_ENV`): the exit hook treats its
    // record as lost, through the same counting as a full ring. A live ring cannot be made to
    // drop exactly this record.
    let cap = Capture::new("lost-exit");
    let res = cap
        .record_command(&["-q"], &["/bin/sh", "-c", "exit 7"])
        .env(TEST_LOSE_EXITS_ENV, "1")
        .output()
        .expect("running tracer");
    assert_eq!(res.status.code(), Some(7), "{}", stderr(&res));
    let rows = cap.syscalls();
    let procs = cap.processes();
    let md = cap.metadata();
    let root = rows
        .iter()
        .find(|r| r.syscall == "execve")
        .expect("the command's exec")
        .pid;
    let p = procs
        .iter()
        .find(|p| p.pid == root)
        .expect("the command's row");
    assert_eq!(
        (p.exit_code, p.signal, p.exit_from_wait),
        (Some(7), None, Some(true)),
        "the status waitpid saw, marked: {p:?}"
    );
    assert!(p.exit_ns.is_some(), "an end time: {p:?}");
    assert!(
        !rows.iter().any(|r| r.syscall == "exit_group"),
        "its exit_group row was in the lost record"
    );
    let detail: serde_json::Value =
        serde_json::from_str(&md[meta::EVENTS_LOST_DETAIL]).expect("JSON detail");
    assert_eq!(
        (detail["syscall"].as_u64(), detail["lifecycle"].as_u64()),
        (Some(1), Some(0)),
        "the lost exit_group row is a syscall loss: {detail}"
    );
    let gaps: Vec<&SyscallRecord> = rows.iter().filter(|r| is_gap(r)).collect();
    assert_eq!(gaps.len(), 1, "one gap: {gaps:?}");
    assert_eq!(
        (gaps[0].pid, gaps[0].tid, gaps[0].ret),
        (root, root, Some(1)),
        "the gap is the command's, at the end"
    );
    assert_eq!(
        gaps[0].seq,
        rows.len() as u64 - 1,
        "nothing of it came after"
    );
}

#[test]
fn a_clone_parent_child_has_its_real_parent() {
    let cap = Capture::new("clone-parent");
    let prog = cap.compile("cloneparent");
    let res = cap.record(&["-q"], &[s(&prog)]);
    assert!(res.status.success(), "{}", stderr(&res));
    let out = String::from_utf8_lossy(&res.stdout);
    let pids: Vec<i32> = out
        .split_whitespace()
        .map(|p| p.parse().expect("a pid"))
        .collect();
    let [a, g] = pids[..] else {
        panic!("two pids on stdout: {out:?}");
    };
    let procs = cap.processes();
    let rows = cap.syscalls();
    let root = rows
        .iter()
        .find(|r| r.syscall == "execve")
        .expect("the command's exec")
        .pid;
    let ppid = |pid: i32| {
        procs
            .iter()
            .find(|p| p.pid == pid)
            .unwrap_or_else(|| panic!("a row for {pid}: {procs:?}"))
            .ppid
    };
    assert_eq!(ppid(a), Some(root), "A is the command's child");
    assert_eq!(
        ppid(g),
        Some(root),
        "G, made by A with CLONE_PARENT, is the command's child too"
    );
    assert!(
        rows.iter()
            .any(|r| r.pid == a && r.syscall == "clone" && r.ret == Some(i64::from(g))),
        "A's clone returned G"
    );
}

#[test]
fn children_past_a_full_filter_are_marked_unfollowed() {
    const CHILDREN: usize = 20;
    // The filter is made small by a test-only override (`TEST_TRACED_ENTRIES_ENV`), so a few
    // children fill it; the real one holds 16,384 processes.
    let cap = Capture::new("full-filter");
    let prog = cap.compile("manychildren");
    let res = cap
        .record_command(&["-q"], &[s(&prog), &CHILDREN.to_string()])
        .env(TEST_TRACED_ENTRIES_ENV, "8")
        .output()
        .expect("running tracer");
    assert!(res.status.success(), "{}", stderr(&res));
    let children: Vec<i32> = String::from_utf8_lossy(&res.stdout)
        .lines()
        .map(|l| l.parse().expect("a pid"))
        .collect();
    assert_eq!(children.len(), CHILDREN, "every child reaped");
    let procs = cap.processes();
    let rows = cap.syscalls();
    let md = cap.metadata();
    assert_eq!(md[meta::EVENTS_LOST], "0", "nothing lost: the marks are in");
    let mut unfollowed = 0;
    for c in &children {
        let p = procs
            .iter()
            .find(|p| p.pid == *c)
            .unwrap_or_else(|| panic!("a row for child {c}"));
        let own_rows = rows.iter().filter(|r| r.pid == *c).count();
        match p.followed {
            Some(true) => assert!(
                rows.iter().any(|r| r.pid == *c && r.syscall == "getppid"),
                "followed child {c} has its getppid row"
            ),
            Some(false) => {
                unfollowed += 1;
                assert_eq!(own_rows, 0, "unfollowed child {c} has no row");
            }
            None => panic!("child {c} says nothing: {p:?}"),
        }
    }
    assert!(
        unfollowed > 0 && unfollowed < CHILDREN,
        "{unfollowed} of {CHILDREN} children unfollowed with a filter of 8"
    );
    assert_eq!(
        md[meta::UNFOLLOWED],
        unfollowed.to_string(),
        "the footer counts them"
    );
}
