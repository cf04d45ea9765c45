//! `tracer parity A B`: compare two captures of the same workload (typically `strace` ingested vs
//! `tracer record`) and say how alike they are: processes paired by exec path and order, per
//! syscall count differences, per-thread sequence similarity (edit-distance ratio and share of
//! identical windows), and return-value and path agreement on aligned calls, after removing the
//! differences known between strace and eBPF captures (`compare::KNOWN_DIFFERENCES`).

pub mod align;
pub mod compare;
pub mod load;

use std::{fmt::Write as _, path::PathBuf};

pub use self::compare::{KNOWN_DIFFERENCES, ParityReport, RUN_VARIANT_RETURNS};
use self::load::Names;

/// What `tracer parity` compares: the command line, validated.
#[derive(Clone, Debug)]
pub struct ParityConfig {
    /// First capture: a syscalls Parquet file (its `NAME.processes.parquet` is read too) or a
    /// dataset folder.
    pub a: PathBuf,
    /// Second capture, as `a`.
    pub b: PathBuf,
    /// Run of `a` to compare, when it holds several.
    pub run_a: Option<String>,
    /// Run of `b` to compare, when it holds several.
    pub run_b: Option<String>,
    /// Window length k of the identical-window share (at least 1).
    pub window: usize,
    /// Syscalls left out of the comparison.
    pub ignore: Vec<String>,
    /// The similarity below which the comparison fails.
    pub min_similarity: Option<f64>,
}

/// Errors of `tracer parity`, naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    /// A file or folder could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A Parquet file could not be decoded.
    #[error("cannot read Parquet file {path}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An Arrow batch could not be decoded.
    #[error("cannot decode {path}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// The input is not a capture this command can compare.
    #[error("{path}: {what}")]
    Input {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// What `tracer parity` found, and the exit status it implies.
#[derive(Clone, Debug)]
pub struct ParityOutcome {
    /// The comparison.
    pub report: ParityReport,
    /// The threshold applied.
    pub min_similarity: Option<f64>,
}

impl ParityOutcome {
    /// False when the similarity is below `--min-similarity`.
    pub fn passed(&self) -> bool {
        self.min_similarity
            .is_none_or(|m| self.report.similarity >= m)
    }

    /// The process exit status: 0, or 1 below `--min-similarity`.
    pub fn exit_code(&self) -> i32 {
        if self.passed() { 0 } else { 1 }
    }

    /// The report as pretty JSON, with the threshold and the verdict, ending in a newline.
    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(&self.report).expect("the report serialises");
        v["min_similarity"] = serde_json::json!(self.min_similarity);
        v["passed"] = serde_json::json!(self.passed());
        let mut s = serde_json::to_string_pretty(&v).expect("the report serialises");
        s.push('\n');
        s
    }
}

/// Compares the captures `config` names, without printing.
pub fn compare_paths(config: &ParityConfig) -> Result<ParityOutcome, ParityError> {
    let mut names = Names::default();
    let a = load::load(&config.a, config.run_a.as_deref(), &mut names)?;
    let b = load::load(&config.b, config.run_b.as_deref(), &mut names)?;
    let opts = compare::Options {
        window: config.window,
        ignore: config.ignore.clone(),
    };
    Ok(ParityOutcome {
        report: compare::compare(&a, &b, &names, &opts),
        min_similarity: config.min_similarity,
    })
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

/// The readable report.
pub fn render(outcome: &ParityOutcome, show_threads: usize) -> String {
    let r = &outcome.report;
    let mut s = String::new();
    render_sides(&mut s, r);
    render_processes(&mut s, &r.processes);
    render_agreement(&mut s, r);
    render_counts(&mut s, &r.count_differences);
    render_threads(&mut s, &r.thread_pairs, show_threads);
    render_verdict(&mut s, outcome);
    s
}

/// Both sides' totals and the known differences removed from each.
fn render_sides(s: &mut String, r: &ParityReport) {
    for (label, side) in [("A", &r.a), ("B", &r.b)] {
        let _ = writeln!(
            s,
            "{label}: {} (run {}, source {}): {} calls, {} processes, {} threads; {} compared",
            side.input,
            side.run_id,
            side.source,
            side.calls,
            side.processes,
            side.threads,
            side.calls_compared
        );
    }
    let _ = writeln!(s, "\nknown differences removed:");
    for adj in &r.adjustments {
        let _ = writeln!(
            s,
            "  {:<15} A -{:<6} B -{:<6} {}",
            adj.id, adj.removed_a, adj.removed_b, adj.description
        );
    }
}

/// The process and thread pairing.
fn render_processes(s: &mut String, p: &compare::ProcessMatch) {
    let _ = writeln!(
        s,
        "\nprocesses: {} paired by exec path and order ({} with agreeing parents), {} only in A, {} only in B",
        p.paired,
        p.tree_agrees,
        p.only_a.len(),
        p.only_b.len()
    );
    for k in &p.only_a {
        let _ = writeln!(s, "  only in A: {k}");
    }
    for k in &p.only_b {
        let _ = writeln!(s, "  only in B: {k}");
    }
    let _ = writeln!(
        s,
        "threads: {} paired, {} only in A, {} only in B",
        p.threads_paired, p.threads_only_a, p.threads_only_b
    );
}

/// Sequence similarity, and return-value and path agreement with the first disagreements.
fn render_agreement(s: &mut String, r: &ParityReport) {
    let _ = writeln!(
        s,
        "\nsimilarity (edit-distance ratio over all calls): {:.4}",
        r.similarity
    );
    let _ = writeln!(s, "identical {}-windows: {}", r.window, pct(r.window_share));
    let _ = writeln!(
        s,
        "return values agree on {} of {} aligned calls; paths agree on {} of {}",
        pct(r.returns.ratio()),
        r.returns.compared,
        pct(r.paths.ratio()),
        r.paths.compared
    );
    for m in &r.mismatches {
        let _ = writeln!(
            s,
            "  {} {}: A {} B {}  ({})",
            m.syscall, m.field, m.a, m.b, m.thread
        );
    }
}

/// The syscalls whose counts differ.
fn render_counts(s: &mut String, diffs: &[compare::CountDiff]) {
    if diffs.is_empty() {
        let _ = writeln!(s, "\nper-syscall counts: identical");
        return;
    }
    let _ = writeln!(s, "\nper-syscall count differences ({}):", diffs.len());
    let _ = writeln!(s, "  {:<24} {:>8} {:>8} {:>8}", "syscall", "A", "B", "A-B");
    for d in diffs {
        let _ = writeln!(
            s,
            "  {:<24} {:>8} {:>8} {:>+8}",
            d.syscall,
            d.a,
            d.b,
            d.a as i64 - d.b as i64
        );
    }
}

/// The `show_threads` least similar thread pairs.
fn render_threads(s: &mut String, pairs: &[compare::ThreadPair], show_threads: usize) {
    let mut worst: Vec<&compare::ThreadPair> = pairs.iter().collect();
    worst.sort_by(|x, y| x.edit_ratio.total_cmp(&y.edit_ratio));
    let _ = writeln!(
        s,
        "\nthread pairs, least similar first ({} of {}):",
        worst.len().min(show_threads),
        worst.len()
    );
    for t in worst.iter().take(show_threads) {
        let _ = writeln!(
            s,
            "  {:.4} edit, {} windows  A tid {} ({} calls)  B tid {} ({} calls)  {}",
            t.edit_ratio,
            pct(t.window_share),
            t.tid_a,
            t.calls_a,
            t.tid_b,
            t.calls_b,
            t.key
        );
    }
}

/// The similarity, with the verdict against `--min-similarity` when one was given.
fn render_verdict(s: &mut String, outcome: &ParityOutcome) {
    let similarity = outcome.report.similarity;
    match outcome.min_similarity {
        Some(m) => {
            let _ = writeln!(
                s,
                "\n{}: similarity {:.4} {} --min-similarity {m}",
                if outcome.passed() { "PASS" } else { "FAIL" },
                similarity,
                if outcome.passed() { ">=" } else { "<" }
            );
        }
        None => {
            let _ = writeln!(s, "\nsimilarity {similarity:.4}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{
        compare::{Options, compare},
        load::{Call, Capture, Names},
        *,
    };

    /// (pid, tid, name, ret, path).
    type Row<'a> = (i32, i32, &'a str, Option<i64>, Option<&'a str>);

    /// Builds a capture from rows in seq order.
    fn capture(names: &mut Names, rows: &[Row<'_>]) -> Capture {
        Capture {
            input: PathBuf::from("mem"),
            run_id: "r".into(),
            source: "test".into(),
            calls: rows
                .iter()
                .enumerate()
                .map(|(i, (pid, tid, name, ret, path))| Call {
                    seq: i as u64,
                    pid: *pid,
                    tid: *tid,
                    name: names.intern(name).expect("a few names"),
                    ret: *ret,
                    path: path.map(Arc::from),
                })
                .collect(),
            processes: Default::default(),
        }
    }

    fn opts() -> Options {
        Options {
            window: 3,
            ignore: vec![],
        }
    }

    #[test]
    fn same_workload_with_other_pids_and_launcher_noise_is_identical() {
        let mut n = Names::default();
        let a = capture(
            &mut n,
            &[
                (10, 10, "execve", Some(0), Some("/bin/sh")),
                (10, 10, "openat", Some(3), Some("/etc/passwd")),
                (10, 10, "clone", Some(11), None),
                (11, 11, "execve", Some(0), Some("/bin/true")),
                (11, 11, "exit_group", None, None),
                (10, 10, "wait4", Some(11), None),
                (10, 10, "exit_group", None, None),
            ],
        );
        let b = capture(
            &mut n,
            &[
                // The launcher's setup before exec, and a failed PATH lookup.
                (70, 70, "setpgid", Some(0), None),
                (70, 70, "execve", Some(-2), Some("/usr/local/bin/sh")),
                (70, 70, "execve", Some(0), Some("/bin/sh")),
                (70, 70, "openat", Some(3), Some("/etc/passwd")),
                (70, 70, "clone", Some(90), None),
                (70, 70, "wait4", Some(90), None),
                (90, 90, "execve", Some(0), Some("/bin/true")),
                (90, 90, "exit_group", None, None),
                (70, 70, "exit_group", None, None),
            ],
        );
        let r = compare(&a, &b, &n, &opts());
        assert_eq!(r.adjustments[0].removed_a, 0);
        assert_eq!(r.adjustments[0].removed_b, 2);
        assert_eq!((r.processes.paired, r.processes.tree_agrees), (2, 2));
        assert!(r.processes.only_a.is_empty() && r.processes.only_b.is_empty());
        assert_eq!(r.similarity, 1.0);
        assert_eq!(r.window_share, 1.0);
        assert!(r.count_differences.is_empty());
        // wait4 returns a pid: only success is compared. openat's fd must match.
        assert_eq!((r.returns.compared, r.returns.agreed), (5, 5));
        assert_eq!((r.paths.compared, r.paths.agreed), (3, 3));
    }

    #[test]
    fn differences_are_counted_and_lower_the_similarity() {
        let mut n = Names::default();
        let a = capture(
            &mut n,
            &[
                (1, 1, "execve", Some(0), Some("/w")),
                (1, 1, "openat", Some(3), Some("/a")),
                (1, 1, "read", Some(10), None),
                (1, 1, "read", Some(0), None),
                (1, 1, "close", Some(0), None),
                (1, 2, "futex", Some(0), None),
                (1, 1, "exit_group", None, None),
            ],
        );
        let b = capture(
            &mut n,
            &[
                (5, 5, "execve", Some(0), Some("/w")),
                (5, 5, "openat", Some(-2), Some("/b")),
                (5, 5, "read", Some(10), None),
                (5, 5, "close", Some(0), None),
                (5, 5, "exit_group", None, None),
                (6, 6, "execve", Some(0), Some("/other")),
            ],
        );
        let r = compare(&a, &b, &n, &opts());
        // A: 7 calls, B: 6 (the stray root /other keeps its execve). Aligned: execve, openat,
        // read, close, exit_group = 5 in the main threads.
        assert_eq!(r.similarity, 2.0 * 5.0 / 13.0);
        assert_eq!(r.processes.paired, 1);
        assert_eq!(r.processes.only_b, vec!["/other #0".to_string()]);
        assert_eq!(
            (r.processes.threads_only_a, r.processes.threads_only_b),
            (1, 1)
        );
        assert_eq!((r.paths.compared, r.paths.agreed), (2, 1));
        assert_eq!((r.returns.compared, r.returns.agreed), (4, 3));
        let read = r
            .count_differences
            .iter()
            .find(|d| d.syscall == "read")
            .unwrap();
        assert_eq!((read.a, read.b), (2, 1));
        let outcome = ParityOutcome {
            report: r,
            min_similarity: Some(0.99),
        };
        assert_eq!(outcome.exit_code(), 1);
        let text = render(&outcome, 5);
        assert!(text.contains("FAIL"), "{text}");
        assert!(text.contains("only in B: /other #0"), "{text}");
    }

    #[test]
    fn a_child_without_calls_keeps_its_place_in_creation_order() {
        let mut n = Names::default();
        // A: the first child was killed before its first call; only the processes table and
        // the parent's clone return know it.
        let mut a = capture(
            &mut n,
            &[
                (1, 1, "execve", Some(0), Some("/w")),
                (1, 1, "clone", Some(2), None),
                (1, 1, "clone", Some(3), None),
                (3, 3, "getppid", Some(1), None),
            ],
        );
        a.processes.insert(
            2,
            load::ProcessInfo {
                ppid: Some(1),
                exe: None,
            },
        );
        let b = capture(
            &mut n,
            &[
                (7, 7, "execve", Some(0), Some("/w")),
                (7, 7, "clone", Some(8), None),
                (8, 8, "set_robust_list", Some(0), None),
                (7, 7, "clone", Some(9), None),
                (9, 9, "getppid", Some(7), None),
            ],
        );
        let r = compare(&a, &b, &n, &opts());
        assert_eq!(r.processes.paired, 3);
        let getppid = r
            .thread_pairs
            .iter()
            .find(|t| t.tid_a == 3)
            .expect("3 is paired");
        assert_eq!((getppid.tid_b, getppid.edit_ratio), (9, 1.0));
    }

    #[test]
    fn ignored_and_never_returned_calls_are_removed() {
        let mut n = Names::default();
        let a = capture(
            &mut n,
            &[
                (1, 1, "execve", Some(0), Some("/w")),
                (1, 2, "futex", None, None),
                (1, 1, "sched_yield", Some(0), None),
                (1, 1, "exit_group", None, None),
            ],
        );
        let b = capture(
            &mut n,
            &[
                (2, 2, "execve", Some(0), Some("/w")),
                (2, 2, "exit_group", None, None),
            ],
        );
        let r = compare(
            &a,
            &b,
            &n,
            &Options {
                window: 6,
                ignore: vec!["sched_yield".into()],
            },
        );
        let removed = |id: &str| {
            r.adjustments
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.removed_a)
        };
        assert_eq!(removed("never-returned"), Some(1));
        assert_eq!(removed("ignored"), Some(1));
        assert_eq!(r.similarity, 1.0);
    }
}
