//! End-to-end tests of the `tracer-analyze` binary on small hand-computed datasets.
//!
//! The dataset of `common::tiny_experiment` with k = 3: the M.S runs have threads `a b c a b c`
//! and `x y z x y z` one after the other, the M.R run alternates them call by call:
//! `a x b y c z a x b y c z`.
//! - Baseline (thread view, both M.S runs): {abc, bca, cab, xyz, yzx, zxy}, 16 windows.
//! - M.R, thread view: the same threads, so coverage 1, mismatch 0.
//! - M.R, interleaved view: 10 windows axb xby byc ycz cza zax axb xby byc ycz, none known:
//!   coverage 0, mismatch 6/6 = 1, locality frame count 10, Jaccard distance 1; each unknown
//!   window is 2 positions from its nearest baseline window: Hamming 2/3.
//! - M.S, interleaved view: abc bca cab abc bcx cxy xyz yzx zxy xyz: 2 of 10 unknown (coverage
//!   0.8), 2 of 8 distinct unknown (mismatch 0.25).

use std::{
    path::Path,
    process::{Command, Output},
};

use serde_json::Value;

use crate::common::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tracer-analyze"))
}

/// Runs `tracer-analyze ARGS`, returning its output whatever the exit status.
fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run")
}

fn run_json(args: &[&str]) -> Value {
    let out = bin()
        .args(args)
        .arg("--json")
        .output()
        .expect("run tracer-analyze");
    assert!(
        out.status.success(),
        "tracer-analyze {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed invalid JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-12)
}

fn line<'a>(lines: &'a Value, mode: &str, view: &str) -> &'a Value {
    lines
        .as_array()
        .expect("array of lines")
        .iter()
        .find(|l| l["mode"] == mode && l["view"] == view)
        .unwrap_or_else(|| panic!("no line for {mode} {view} in {lines}"))
}

#[test]
fn compare_by_hand() {
    let (dir, root) = temp_tiny_experiment();
    let out_dir = dir.path().join("tables");
    let v = run_json(&[
        "compare",
        utf8(&root),
        "-k",
        "3",
        "--holdout",
        "resubstitution",
        "-o",
        utf8(&out_dir),
    ]);
    let lines = &v["summary_lines"];
    let mr_i = line(lines, "mr", "interleaved");
    assert!(
        close(&mr_i["coverage_mean"], 0.0) && close(&mr_i["mismatch_mean"], 1.0),
        "{mr_i}"
    );
    assert!(close(&mr_i["locality_frame_count_mean"], 10.0), "{mr_i}");
    for view in ["thread", "process"] {
        let l = line(lines, "mr", view);
        assert!(
            close(&l["coverage_mean"], 1.0) && close(&l["mismatch_mean"], 0.0),
            "{l}"
        );
    }
    let ms_i = line(lines, "ms", "interleaved");
    assert!(
        close(&ms_i["coverage_mean"], 0.8) && close(&ms_i["mismatch_mean"], 0.25),
        "{ms_i}"
    );
    assert_eq!(ms_i["traces"], 2);
    assert_eq!(ms_i["resubstitution"], true);
    let traces = v["result"]["traces"].as_array().expect("traces");
    let t = traces
        .iter()
        .find(|t| t["run_id"] == "s-mr-0" && t["view"] == "interleaved")
        .expect("mr interleaved trace");
    assert_eq!(
        (t["windows"].as_u64(), t["distinct_windows"].as_u64()),
        (Some(10), Some(6))
    );
    assert_eq!(t["profile_distinct_windows"], 6);
    assert!(close(&t["jaccard_distance"], 1.0), "{t}");
    assert!(
        close(&t["hamming_max"], 2.0 / 3.0) && close(&t["hamming_mean"], 2.0 / 3.0),
        "{t}"
    );
    let b = &v["result"]["baselines"][0];
    assert_eq!(
        (b["distinct_windows"].as_u64(), b["total_windows"].as_u64()),
        (Some(6), Some(16))
    );
    for f in [
        "summary.parquet",
        "summary.csv",
        "summary.md",
        "traces.csv",
        "compare.json",
    ] {
        assert!(
            out_dir.join(f).metadata().is_ok_and(|m| m.len() > 0),
            "{f} missing or empty"
        );
    }
    let csv = std::fs::read_to_string(out_dir.join("summary.csv")).expect("csv");
    assert!(
        csv.contains("s,mr,interleaved,thread,mismatch,1,1,1,1,false"),
        "{csv}"
    );
}

#[test]
fn held_out_split_scores_only_held_out_ms_runs() {
    let (_dir, root) = temp_tiny_experiment();
    let v = run_json(&[
        "compare",
        utf8(&root),
        "-k",
        "3",
        "--train-share",
        "0.5",
        "--seed",
        "3",
    ]);
    let b = &v["result"]["baselines"][0];
    assert_eq!(b["training_runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(b["held_out_runs"].as_array().map(Vec::len), Some(1));
    let held = b["held_out_runs"][0].clone();
    let ms: Vec<&Value> = v["result"]["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .filter(|t| t["mode"] == "ms")
        .collect();
    assert_eq!(ms.len(), 3, "one held-out M.S run in three views");
    assert!(ms.iter().all(|t| t["run_id"] == held));
    assert_eq!(
        line(&v["summary_lines"], "ms", "thread")["resubstitution"],
        false
    );
}

#[test]
fn profile_score_and_eval() {
    let (dir, root) = temp_tiny_experiment();
    let prof = dir.path().join("s.prof");
    let p = run_json(&[
        "profile",
        utf8(&root),
        "--mode",
        "ms",
        "-k",
        "3",
        "-o",
        utf8(&prof),
    ]);
    assert_eq!(
        (
            p["distinct_windows"].as_u64(),
            p["windows"].as_u64(),
            p["runs"].as_u64()
        ),
        (Some(6), Some(16), Some(2))
    );
    let mr = root.join("syscalls/s-mr-0.parquet");
    let s = run_json(&[
        "score",
        utf8(&mr),
        "--profile",
        utf8(&prof),
        "--view",
        "interleaved",
    ]);
    let t = &s["traces"][0];
    assert!(
        close(&t["coverage"], 0.0) && close(&t["mismatch"], 1.0),
        "{t}"
    );
    assert_eq!(t["locality_frame_count"], 10);
    let ms_glob = format!("{}/syscalls/*-ms-*.parquet", root.display());
    let e = run_json(&[
        "eval",
        "--profile",
        utf8(&prof),
        "--normal",
        &ms_glob,
        "--anomalous",
        utf8(&mr),
        "--view",
        "interleaved",
    ]);
    let auc = e["auc"].as_array().expect("auc");
    for metric in [
        "coverage",
        "mismatch",
        "locality_frame_count",
        "jaccard_distance",
    ] {
        let a = auc.iter().find(|a| a["metric"] == metric).expect("metric");
        assert!(close(&a["auc"], 1.0), "{a}");
    }
    assert_eq!(e["traces"].as_array().map(Vec::len), Some(3));
    // Training on the fly gives the same baseline.
    let e2 = run_json(&[
        "eval",
        "--train",
        &ms_glob,
        "--baseline-view",
        "interleaved",
        "-k",
        "3",
        "--normal",
        &ms_glob,
        "--anomalous",
        utf8(&mr),
        "--view",
        "interleaved",
    ]);
    // By default the trained baseline is per thread (6 windows) whatever view is scored.
    let e4 = run_json(&[
        "eval",
        "--train",
        &ms_glob,
        "-k",
        "3",
        "--normal",
        &ms_glob,
        "--anomalous",
        utf8(&mr),
        "--view",
        "interleaved",
    ]);
    assert_eq!(e4["profile_distinct_windows"].as_u64(), Some(6), "{e4}");
    assert_eq!(
        (e4["baseline_view"].as_str(), e4["view"].as_str()),
        (Some("thread"), Some("interleaved"))
    );
    // One dataset, the sets told apart by per-set filters.
    let e3 = run_json(&[
        "eval",
        "--train",
        utf8(&root),
        "--train-where",
        "mode=ms",
        "--baseline-view",
        "interleaved",
        "-k",
        "3",
        "--normal",
        utf8(&root),
        "--normal-where",
        "mode=ms",
        "--anomalous",
        utf8(&root),
        "--anomalous-where",
        "mode=mr",
        "--view",
        "interleaved",
    ]);
    assert_eq!(
        e3["auc"], e2["auc"],
        "per-set filters select the same traces"
    );
    // The M.S runs in the interleaved view have 8 distinct windows (see the module docs).
    assert_eq!(
        e2["profile_distinct_windows"].as_u64(),
        Some(8),
        "interleaved-view training: {e2}"
    );
}

/// The stide evaluation on a dataset shaped like an ADFA-LD import (one single-thread run per
/// trace, scenarios `training`, `validation`, `attack:<family>`), in one command.
#[test]
fn stide_evaluation_on_an_adfa_shaped_dataset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let normal = "open read write close open read write close mmap open read close";
    let traces = [
        ("UTD-1", "training", normal),
        (
            "UTD-2",
            "training",
            "open read write close mmap open read write close",
        ),
        ("UVD-1", "validation", normal),
        (
            "UVD-2",
            "validation",
            "open read write close open read close",
        ),
        (
            "UAD-1",
            "attack:hydra_ftp",
            "socket connect write read write read execve",
        ),
        (
            "UAD-2",
            "attack:meterpreter",
            "open read execve mmap socket connect dup2 dup2 execve",
        ),
    ];
    for (id, scenario, calls) in traces {
        write_run(
            &dir.path().join(format!("{id}.parquet")),
            id,
            Some(scenario),
            None,
            &thread(0, 0, calls),
        );
    }
    let d = utf8(dir.path());
    let e = run_json(&[
        "eval",
        "--train",
        d,
        "--train-where",
        "scenario=training",
        "-k",
        "3",
        "--normal",
        d,
        "--normal-where",
        "scenario=validation",
        "--anomalous",
        d,
        "--anomalous-where",
        "scenario=attack:*",
    ]);
    assert_eq!(e["profile_runs"], 2);
    let labels: Vec<(&str, &str)> = e["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| {
            (
                t["run_id"].as_str().expect("id"),
                t["label"].as_str().expect("label"),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("UVD-1", "normal"),
            ("UVD-2", "normal"),
            ("UAD-1", "anomalous"),
            ("UAD-2", "anomalous")
        ]
    );
    // Validation traces reuse training windows only; attacks are mostly new.
    let mismatch = e["auc"]
        .as_array()
        .expect("auc")
        .iter()
        .find(|a| a["metric"] == "mismatch")
        .expect("mismatch");
    assert!(close(&mismatch["auc"], 1.0), "{mismatch}");
}

#[test]
fn matrix_by_hand() {
    let (_dir, root) = temp_tiny_experiment();
    // Scenario t: one M.S run `a b c x y z` (k = 3: abc bcx cxy xyz).
    write_run(
        &root.join("syscalls/t-ms-0.parquet"),
        "t-ms-0",
        Some("t"),
        Some("ms"),
        &thread(30, 30, "a b c x y z"),
    );
    let m = run_json(&["matrix", utf8(&root), "-k", "3"]);
    assert_eq!(m["scenarios"], serde_json::json!(["s", "t"]));
    // s \ t = {bca, cab, yzx, zxy}: 4/6; t \ s = {bcx, cxy}: 2/4.
    assert!(
        close(&m["mismatch"][0][1], 4.0 / 6.0) && close(&m["mismatch"][1][0], 0.5),
        "{m}"
    );
    assert!(close(&m["mismatch"][0][0], 0.0), "{m}");
}

#[test]
fn short_sequences_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("short.parquet");
    let mut calls = thread(1, 1, "a b c a");
    calls.extend(thread(1, 2, "b c"));
    write_run(&f, "short", None, None, &calls);
    let prof = dir.path().join("p.prof");
    run_json(&["profile", utf8(&f), "-k", "3", "-o", utf8(&prof)]);
    let s = run_json(&[
        "score",
        utf8(&f),
        "--profile",
        utf8(&prof),
        "--view",
        "thread",
    ]);
    let t = &s["traces"][0];
    assert_eq!(
        (
            t["sequences"].as_u64(),
            t["short_sequences"].as_u64(),
            t["short_sequence_calls"].as_u64()
        ),
        (Some(2), Some(1), Some(2))
    );
    assert_eq!(t["windows"], 2);
    let text = run(&[
        "score",
        utf8(&f),
        "--profile",
        utf8(&prof),
        "--view",
        "thread",
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("1 sequence(s) shorter than k = 3 (2 calls)"),
        "{text}"
    );
}

fn png_ok(path: &Path, size: (u32, u32)) {
    let got = analysis::plot::png_size(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(got, size, "{}", path.display());
    assert!(
        std::fs::metadata(path).expect("png").len() > 10_000,
        "{} is nearly empty",
        path.display()
    );
}

#[test]
fn report_writes_plots_and_index() {
    let (dir, root) = temp_tiny_experiment();
    let out = dir.path().join("report");
    let r = run_json(&["report", utf8(&root), "-k", "3", "-o", utf8(&out)]);
    assert_eq!(r["timeline_run"], "s-mr-0");
    png_ok(&out.join("coverage.png"), analysis::plot::BAR_CHART_SIZE);
    png_ok(&out.join("mismatch.png"), analysis::plot::BAR_CHART_SIZE);
    png_ok(&out.join("matrix.png"), analysis::plot::HEATMAP_SIZE);
    png_ok(&out.join("timeline.png"), analysis::plot::TIMELINE_SIZE);
    for svg in ["coverage.svg", "mismatch.svg", "matrix.svg", "timeline.svg"] {
        let text = std::fs::read_to_string(out.join(svg)).expect("svg");
        assert!(
            text.starts_with("<svg") && text.contains("<text"),
            "{svg} has no text"
        );
    }
    let html = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    for needle in [
        "<img src=\"coverage.png\"",
        "<img src=\"matrix.png\"",
        "<img src=\"timeline.png\"",
        "summary.csv",
        "<td>mr</td>",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle}");
    }
    let lines = r["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 6, "2 modes x 3 views");
}

#[test]
fn errors_name_the_input_and_exit_nonzero() {
    let out = run(&["compare", "/nonexistent/data.parquet"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/data.parquet"), "{err}");
    let out = run(&["compare", "x", "-k", "17"]);
    assert!(!out.status.success());
    let (_dir, root) = temp_tiny_experiment();
    let out = run(&["compare", utf8(&root), "-k", "17"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("17"),
        "k error should name the value"
    );
    let out = run(&["compare", utf8(&root), "--where", "colour=red"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
}

#[test]
fn help_lists_every_command() {
    let out = run(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for c in [
        "profile", "score", "eval", "compare", "matrix", "plot", "report", "sql", "--json",
    ] {
        assert!(text.contains(c), "--help lacks {c}");
    }
}

#[test]
fn plot_and_sql_commands() {
    let (dir, root) = temp_tiny_experiment();
    let out = dir.path().join("plots");
    let v = run_json(&[
        "plot",
        utf8(&root),
        "-k",
        "3",
        "-o",
        utf8(&out),
        "--timeline-view",
        "thread",
        "--timeline-run",
        "s-ms-0",
    ]);
    assert_eq!(v["files_written"].as_array().map(Vec::len), Some(8));
    png_ok(&out.join("timeline.png"), analysis::plot::TIMELINE_SIZE);
    let sql = run(&["sql", "d/*.parquet", "--view", "process", "-k", "4"]);
    let sql = String::from_utf8_lossy(&sql.stdout);
    assert!(
        sql.contains("read_parquet('d/*.parquet')")
            && sql.contains("PARTITION BY run_id, pid")
            && sql.contains("3 PRECEDING"),
        "{sql}"
    );
}

/// `eval`'s detection tables (text and JSON), its ROC plot, and the note when the Hamming
/// budget cuts a search short.
#[test]
fn eval_tables_plot_and_hamming_fallback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let traces = [
        (
            "UTD-1",
            "training",
            "open read write close open read write close mmap",
        ),
        (
            "UVD-1",
            "validation",
            "open read write close open read write close",
        ),
        (
            "UVD-2",
            "validation",
            "open read close open read write close mmap",
        ),
        (
            "UAD-1",
            "attack:hydra_ftp",
            "socket connect write read write read execve",
        ),
        (
            "UAD-2",
            "attack:web_shell",
            "open read execve mmap socket dup2 dup2 execve",
        ),
    ];
    for (id, scenario, calls) in traces {
        write_run(
            &dir.path().join(format!("{id}.parquet")),
            id,
            Some(scenario),
            None,
            &thread(0, 0, calls),
        );
    }
    let d = dir.path().to_str().expect("utf-8");
    let plots = dir.path().join("plots");
    let args = [
        "eval",
        "--train",
        d,
        "--train-where",
        "scenario=training",
        "-k",
        "3",
        "--normal",
        d,
        "--normal-where",
        "scenario=validation",
        "--anomalous",
        d,
        "--anomalous-where",
        "scenario=attack:*",
        "--hamming-budget",
        "1",
        "--plot-dir",
        plots.to_str().expect("utf-8"),
    ];
    let e = run_json(&args);
    let detection = e["detection"].as_array().expect("detection");
    assert_eq!(detection.len(), 6);
    assert_eq!(
        detection[0]["at_false_alarm_rates"]
            .as_array()
            .expect("rates")
            .len(),
        3
    );
    // Both attacks score above every normal trace on 1 - coverage (they share no window with
    // training): detected at zero false alarms.
    assert!(
        close(&detection[0]["at_zero_false_alarms"]["detection_rate"], 1.0),
        "{}",
        detection[0]
    );
    let families: Vec<&str> = e["families"]
        .as_array()
        .expect("families")
        .iter()
        .filter(|f| f["metric"] == "coverage")
        .map(|f| f["family"].as_str().expect("name"))
        .collect();
    assert_eq!(families, ["hydra_ftp", "web_shell"]);
    assert!(
        e["hamming_sampled_traces"].as_u64().expect("count") > 0,
        "a budget of one comparison samples: {}",
        e["hamming_sampled_traces"]
    );
    assert_eq!(e["files_written"].as_array().expect("files").len(), 2);
    assert!(plots.join("roc.png").is_file() && plots.join("roc.svg").is_file());
    let out = bin().args(args).output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "DR@1%FA",
        "per attack family",
        "hydra_ftp",
        "reached --hamming-budget",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}
