//! The LID-DS framework's measures of `tracer-analyze eval` on the LID-DS 2021 fixture (zipped
//! recordings imported as distributed), checked against a brute-force evaluation written here
//! from the definitions (docs/DESIGN.md, "Metrics"): every window of every recording listed,
//! scored, thresholded at the highest validation score and counted, for the thread-aware and
//! the plain variant and several window lengths and frames.

use std::collections::HashSet;

use serde_json::Value;
use tests::{bin, read_runs, read_syscalls};
use tracer::ingest::Format;
use tracer_dataset::{RunLabels, rows::SyscallRecord};

use crate::{
    ingest_datasets::{config, files, ingest},
    ingest_lidds::lidds_2021,
};

/// The windows of one recording in completion order: (its k names, its last call's time).
fn windows(rows: &[&SyscallRecord], per_thread: bool, k: usize) -> Vec<(Vec<String>, i64)> {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|r| r.seq);
    // (seq of the last call, window, time)
    let mut out: Vec<(u64, Vec<String>, i64)> = Vec::new();
    let streams: Vec<Vec<&SyscallRecord>> = if per_thread {
        let mut tids: Vec<i32> = rows.iter().map(|r| r.tid).collect();
        tids.sort();
        tids.dedup();
        tids.iter()
            .map(|t| rows.iter().copied().filter(|r| r.tid == *t).collect())
            .collect()
    } else {
        vec![rows.clone()]
    };
    for s in &streams {
        for end in k..=s.len() {
            let w = &s[end - k..end];
            let last = w[k - 1];
            out.push((
                last.seq,
                w.iter().map(|r| r.syscall.clone()).collect(),
                last.ts_ns.expect("LID-DS calls have times"),
            ));
        }
    }
    out.sort_by_key(|w| w.0);
    out.into_iter().map(|(_, w, t)| (w, t)).collect()
}

/// Each window's score: unknown windows among the last `frame` (this one included) / frame.
fn scores(ws: &[(Vec<String>, i64)], known: &HashSet<Vec<String>>, frame: usize) -> Vec<f64> {
    (0..ws.len())
        .map(|j| {
            let from = (j + 1).saturating_sub(frame);
            let unknown = ws[from..=j]
                .iter()
                .filter(|w| !known.contains(&w.0))
                .count();
            unknown as f64 / frame as f64
        })
        .collect()
}

/// What the brute force finds for one variant.
#[derive(Debug, PartialEq)]
struct Expected {
    threshold: f64,
    normal: usize,
    exploits: usize,
    detected: usize,
    fa_normal: u64,
    fa_exploits: u64,
    cfa_normal: u64,
    cfa_exploits: u64,
    negatives: u64,
}

fn brute_force(
    rows: &[SyscallRecord],
    runs: &[RunLabels],
    per_thread: bool,
    k: usize,
    frame: usize,
) -> Expected {
    let of = |r: &RunLabels| -> Vec<&SyscallRecord> {
        rows.iter().filter(|x| x.run_id == r.run_id).collect()
    };
    let split = |r: &RunLabels, s: &str| r.split.as_deref() == Some(s);
    let known: HashSet<Vec<String>> = runs
        .iter()
        .filter(|r| split(r, "training"))
        .flat_map(|r| windows(&of(r), per_thread, k))
        .map(|w| w.0)
        .collect();
    let threshold = runs
        .iter()
        .filter(|r| split(r, "validation"))
        .flat_map(|r| scores(&windows(&of(r), per_thread, k), &known, frame))
        .fold(0.0, f64::max);
    let mut e = Expected {
        threshold,
        normal: 0,
        exploits: 0,
        detected: 0,
        fa_normal: 0,
        fa_exploits: 0,
        cfa_normal: 0,
        cfa_exploits: 0,
        negatives: 0,
    };
    for r in runs.iter().filter(|r| split(r, "test")) {
        let ws = windows(&of(r), per_thread, k);
        let s = scores(&ws, &known, frame);
        let exploit = r.label.as_deref() == Some("attack");
        let start = r.exploit_start_ns.unwrap_or(i64::MAX);
        let before: Vec<bool> = ws.iter().map(|w| !exploit || w.1 < start).collect();
        let false_alarm: Vec<bool> = (0..ws.len())
            .map(|j| before[j] && s[j] > threshold)
            .collect();
        let fa = false_alarm.iter().filter(|f| **f).count() as u64;
        let runs_of_fa = (0..ws.len())
            .filter(|&j| false_alarm[j] && (j == 0 || !false_alarm[j - 1]))
            .count() as u64;
        e.negatives += before.iter().filter(|b| **b).count() as u64;
        if exploit {
            e.exploits += 1;
            e.fa_exploits += fa;
            e.cfa_exploits += runs_of_fa;
            if (0..ws.len()).any(|j| !before[j] && s[j] > threshold) {
                e.detected += 1;
            }
        } else {
            e.normal += 1;
            e.fa_normal += fa;
            e.cfa_normal += runs_of_fa;
        }
    }
    e
}

fn eval(out: &str, args: &[&str]) -> std::process::Output {
    let run = std::process::Command::new(bin("tracer-analyze"))
        .args(["eval", "--no-hamming", "--train", out])
        .args(["--train-where", "scenario=training", "--normal", out])
        .args(["--normal-where", "scenario=test", "--anomalous", out])
        .args(["--anomalous-where", "scenario=attack:*"])
        .args(args)
        .output()
        .expect("tracer-analyze");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    run
}

#[test]
fn lid_ds_measures_match_a_brute_force_evaluation() {
    let dir = tempfile::tempdir().expect("tmp");
    let scenario = lidds_2021(dir.path());
    let out = dir.path().join("lid");
    ingest(&config(Format::LidDs, &scenario, &out));
    let (sys, _, runs_file) = files(&out, "CVE-2017-7529");
    let (rows, runs) = (read_syscalls(&sys), read_runs(&runs_file));
    let out = out.to_string_lossy().into_owned();
    let mut alarmed = 0;
    for (k, frame) in [(1, 1), (2, 1), (2, 2), (2, 3), (3, 2), (6, 20)] {
        let (ks, fs) = (k.to_string(), frame.to_string());
        let run = eval(&out, &["--json", "-k", &ks, "--frame", &fs]);
        let v: Value = serde_json::from_slice(&run.stdout).expect("json");
        let l = &v["lidds"];
        assert_eq!(
            (&l["k"], &l["frame"], &l["validation_recordings"]),
            (&Value::from(k), &Value::from(frame), &Value::from(1)),
            "{l}"
        );
        for (i, (name, view, per_thread)) in [
            ("thread-aware", "thread", true),
            ("plain", "interleaved", false),
        ]
        .into_iter()
        .enumerate()
        {
            let m = &l["variants"][i];
            assert_eq!((&m["variant"], &m["view"]), (&name.into(), &view.into()));
            let e = brute_force(&rows, &runs, per_thread, k, frame);
            let got = |f: &str| m[f].as_u64().unwrap_or_else(|| panic!("{f} in {m}"));
            let at = format!("k = {k}, frame = {frame}, {name}: {m}");
            assert!(
                (m["threshold"].as_f64().expect("threshold") - e.threshold).abs() < 1e-12,
                "{at}"
            );
            assert_eq!(
                Expected {
                    threshold: e.threshold,
                    normal: got("normal_recordings") as usize,
                    exploits: got("exploit_recordings") as usize,
                    detected: got("detected_exploits") as usize,
                    fa_normal: got("false_alarm_windows_normal"),
                    fa_exploits: got("false_alarm_windows_exploits"),
                    cfa_normal: got("consecutive_false_alarms_normal"),
                    cfa_exploits: got("consecutive_false_alarms_exploits"),
                    negatives: got("normal_windows") + got("windows_before_exploit"),
                },
                e,
                "{at}"
            );
            assert_eq!(
                got("false_alarm_windows"),
                e.fa_normal + e.fa_exploits,
                "{at}"
            );
            assert_eq!(
                got("consecutive_false_alarms"),
                e.cfa_normal + e.cfa_exploits,
                "{at}"
            );
            let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
            assert_eq!(
                m["detection_rate"].as_f64(),
                rate(e.detected as u64, e.exploits as u64),
                "{at}"
            );
            assert_eq!(
                m["false_alarm_rate"].as_f64(),
                rate(e.fa_normal + e.fa_exploits, e.negatives),
                "{at}"
            );
            alarmed += e.detected + (e.fa_normal + e.fa_exploits) as usize;
        }
    }
    // The settings above raise alarms, true and false: the comparison is not of empty counts.
    assert!(alarmed > 0);

    // The text tables carry the same section, a line per variant.
    let text = String::from_utf8(eval(&out, &["-k", "2", "--frame", "2"]).stdout).expect("utf8");
    assert!(text.contains("LID-DS framework measures"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("thread-aware  thread"))
            && text
                .lines()
                .any(|l| l.starts_with("plain         interleaved")),
        "{text}"
    );
}

#[test]
fn lid_ds_measures_need_the_validation_split() {
    let dir = tempfile::tempdir().expect("tmp");
    let scenario = lidds_2021(dir.path());
    let out = dir.path().join("lid");
    ingest(&config(Format::LidDs, &scenario, &out));
    let out = out.to_string_lossy().into_owned();
    // --where leaves the validation recording out: no threshold, so no measures, and a note.
    let run = eval(
        &out,
        &["--json", "-k", "2", "--where", "scenario!=validation"],
    );
    let v: Value = serde_json::from_slice(&run.stdout).expect("json");
    assert!(v["lidds"].is_null(), "{v}");
    assert!(
        v["lidds_note"]
            .as_str()
            .is_some_and(|n| n.contains("validation")),
        "{v}"
    );
}
