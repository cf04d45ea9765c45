//! `tracer experiment` run for real under capture on a tiny scenario file: the dataset layout,
//! the manifest, M.R overlap and M.S sequencing from the processes tables, and the report.

use std::{
    collections::BTreeSet,
    path::Path,
    process::{Command, Output},
};

use tests::{bin, metadata, read_processes, read_syscalls, require_root, workspace};
use tracer_dataset::{meta, rows::ProcessRecord};

/// Runs `tracer experiment -s SPEC -o OUT`, returning its output.
fn experiment(spec: &Path, out: &Path) -> Output {
    Command::new(bin("tracer"))
        .args(["experiment", "-s"])
        .arg(spec)
        .arg("-o")
        .arg(out)
        .output()
        .expect("tracer experiment")
}

/// The launched commands of a run: processes whose parent is not in the run (the tracer).
fn roots(procs: &[ProcessRecord]) -> Vec<(i64, i64)> {
    let pids: BTreeSet<i32> = procs.iter().map(|p| p.pid).collect();
    let mut out: Vec<(i64, i64)> = procs
        .iter()
        .filter(|p| p.ppid.is_none_or(|pp| !pids.contains(&pp)))
        .map(|p| (p.start_ns.expect("start"), p.exit_ns.expect("exit")))
        .collect();
    out.sort();
    out
}

fn intersects(a: (i64, i64), b: (i64, i64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

#[test]
fn tiny_experiment_end_to_end() {
    require_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("exp");
    let spec = workspace().join("tests/data/experiment/tiny.toml");
    let res = experiment(&spec, &out);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    assert!(stderr.contains("[  8/8]"), "progress lines: {stderr}");
    assert!(
        stderr.contains("coverage")
            && stderr.contains("mismatch")
            && stderr.contains("interleaved"),
        "{stderr}"
    );

    // Layout and manifest.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest is JSON");
    let runs = manifest["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 8, "2 scenarios x 2 modes x 2 reps");
    let order: Vec<(String, String)> = runs
        .iter()
        .map(|r| {
            (
                r["scenario"].as_str().expect("s").into(),
                r["mode"].as_str().expect("m").into(),
            )
        })
        .collect();
    assert_eq!(order[0], ("files".into(), "ms".into()));
    assert_eq!(order[1], ("files".into(), "mr".into()), "modes alternate");
    assert_eq!(order[2], ("ident".into(), "ms".into()));
    let skipped = manifest["skipped_commands"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0]["command"]
            .as_str()
            .expect("cmd")
            .contains("no-such-program")
    );
    assert!(
        manifest["kernel_release"]
            .as_str()
            .is_some_and(|k| !k.is_empty())
    );

    for (i, r) in runs.iter().enumerate() {
        let run_id = r["run_id"].as_str().expect("run id");
        let (scenario, mode) = (
            r["scenario"].as_str().expect("s"),
            r["mode"].as_str().expect("m"),
        );
        assert_eq!(r["events_lost"], 0);
        assert_eq!(
            r["programs_reused"],
            i > 0,
            "{run_id}: the programs are loaded once, by the first run"
        );
        let commands = r["commands"].as_array().expect("commands");
        assert_eq!(
            commands.len(),
            3.min(if scenario == "ident" { 2 } else { 3 })
        );
        assert!(commands.iter().all(|c| c["exit_code"] == 0), "{commands:?}");
        let file = out.join(r["syscalls_file"].as_str().expect("file"));
        assert_eq!(file, out.join(format!("syscalls/{run_id}.parquet")));
        let rows = read_syscalls(&file);
        assert_eq!(rows.len() as u64, r["events"].as_u64().expect("events"));
        let md = metadata(&file);
        assert_eq!(md[meta::SCENARIO], scenario);
        assert_eq!(md[meta::MODE], mode);
        let procs = read_processes(&out.join(r["processes_file"].as_str().expect("procs")));
        let pids: BTreeSet<i32> = procs.iter().map(|p| p.pid).collect();
        assert!(
            rows.iter().all(|row| pids.contains(&row.pid)),
            "{run_id}: every row is of a process of this run, none of an earlier run's"
        );
        assert_eq!(
            rows.first().map(|row| row.syscall.as_str()),
            Some("execve"),
            "{run_id}: the run starts with its first command's exec"
        );
        let roots = roots(&procs);
        assert_eq!(
            roots.len(),
            commands.len(),
            "{run_id}: one root process per command"
        );
        let pairs: Vec<bool> = roots
            .iter()
            .enumerate()
            .flat_map(|(i, a)| roots[i + 1..].iter().map(move |b| intersects(*a, *b)))
            .collect();
        if mode == "mr" {
            let all_overlap = roots.iter().map(|r| r.0).max() < roots.iter().map(|r| r.1).min();
            assert!(
                all_overlap,
                "{run_id}: M.R commands all run at the same time: {roots:?}"
            );
        } else {
            assert!(
                pairs.iter().all(|p| !p),
                "{run_id}: M.S commands never overlap: {roots:?}"
            );
        }
    }

    // The report.
    let report = out.join("report");
    for f in [
        "index.html",
        "coverage.png",
        "mismatch.png",
        "matrix.png",
        "summary.csv",
    ] {
        let p = report.join(f);
        assert!(
            Path::new(&p).metadata().is_ok_and(|m| m.len() > 100),
            "report file {f} is missing or empty"
        );
    }
    let index = std::fs::read_to_string(report.join("index.html")).expect("index");
    assert!(index.contains("coverage.png") && index.contains("mismatch.png"));
}

#[test]
fn malformed_scenario_file_names_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "reps = 1\n[[scenario]]\nname = \"x\"\ncommands = [[\"id\"]]\nrepz = 3\n",
    )
    .expect("write");
    let res = experiment(&bad, &dir.path().join("out"));
    assert_eq!(res.status.code(), Some(1));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("bad.toml:5:") && err.contains("repz"), "{err}");
}

/// A sweep run for real: plain M.R runs overlap, runs released 600 ms apart (longer than their
/// 0.3 s commands) do not, as the processes tables measure it; the report draws the sweep and
/// the scatter, and the manifest records how the runs were released and scored.
#[test]
fn spacing_sweep_separates_the_commands() {
    require_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("exp");
    let spec = workspace().join("tests/data/experiment/sweep.toml");
    let res = experiment(&spec, &out);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    // 2 reps x 2 scenarios x (ms, mr) + 1 rep x 2 scenarios x 3 sweep points.
    assert!(stderr.contains("[ 14/14]"), "progress lines: {stderr}");

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest parses");
    assert_eq!(manifest["analysis"]["holdout"], "leave-one-run-out");
    let runs = manifest["runs"].as_array().expect("runs");
    let modes: BTreeSet<&str> = runs
        .iter()
        .map(|r| r["run_id"].as_str().expect("id"))
        .map(|id| {
            let (_, rest) = id.split_once('-').expect("scenario");
            rest.rsplit_once('-').expect("rep").0
        })
        .collect();
    assert_eq!(
        modes,
        BTreeSet::from(["ms", "mr", "mr-600ms", "mr-0ms-cpu1", "mr-600ms-cpu1"])
    );
    for scenario in ["a", "b"] {
        for (mode, overlapping) in [("mr", true), ("mr-0ms-cpu1", true), ("mr-600ms", false)] {
            let rep = if mode == "mr" { 1 } else { 0 };
            let file = out.join(format!("processes/{scenario}-{mode}-{rep}.parquet"));
            let r = roots(&read_processes(&file));
            assert_eq!(r.len(), 2, "{scenario} {mode}: two commands");
            assert_eq!(
                intersects(r[0], r[1]),
                overlapping,
                "{scenario} {mode}: lifetimes {r:?}"
            );
            if !overlapping {
                assert!(
                    r[1].0 - r[0].0 >= 590_000_000,
                    "{scenario} {mode}: released {} ms apart",
                    (r[1].0 - r[0].0) / 1_000_000
                );
            }
        }
        let m = metadata(&out.join(format!("syscalls/{scenario}-mr-600ms-cpu1-0.parquet")));
        assert_eq!(m[meta::SPACING_MS], "600");
        assert_eq!(m[meta::CPUS], "0");
    }

    let compare: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report/compare.json")).expect("compare.json"),
    )
    .expect("compare.json parses");
    let overlap = |id: &str| {
        compare["mechanisms"]
            .as_array()
            .expect("mechanisms")
            .iter()
            .find(|m| m["run_id"] == id)
            .unwrap_or_else(|| panic!("no mechanism for {id}"))["overlap_share"]
            .as_f64()
            .expect("overlap share")
    };
    assert!(overlap("a-mr-0") > 0.8, "{}", overlap("a-mr-0"));
    assert_eq!(overlap("a-mr-600ms-0"), 0.0);
    assert_eq!(overlap("a-ms-0"), 0.0);
    for image in ["sweep.png", "scatter.png"] {
        let len = std::fs::metadata(out.join("report").join(image))
            .unwrap_or_else(|e| panic!("{image}: {e}"))
            .len();
        assert!(len > 5000, "{image} is nearly empty");
    }
}

/// `capture_tools = ["ebpf", "strace"]`: every run captured by both, the strace one ingested
/// with `source = strace` from its kept `-ff` set; both see the same commands (cat's openat of
/// /etc/hostname in each), and the report compares the two captures side by side.
#[test]
fn strace_beside_ebpf_is_the_same_experiment_seen_by_ptrace() {
    require_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("exp");
    let spec = workspace().join("tests/data/experiment/tools.toml");
    let res = experiment(&spec, &out);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    assert!(
        stderr.contains("[  8/8]"),
        "2 reps x 2 modes x 2 tools: {stderr}"
    );
    for mode in ["ms", "mr"] {
        let ebpf = out.join(format!("syscalls/t-{mode}-0.parquet"));
        let strace = out.join(format!("syscalls/t-{mode}-0-strace.parquet"));
        assert_eq!(metadata(&ebpf)[meta::SOURCE], "ebpf");
        assert_eq!(metadata(&strace)[meta::SOURCE], "strace");
        for file in [&ebpf, &strace] {
            let rows = read_syscalls(file);
            assert!(
                rows.iter()
                    .any(|r| r.syscall == "openat" && r.path.as_deref() == Some("/etc/hostname")),
                "{}: cat's open",
                file.display()
            );
            let m = metadata(file);
            assert_eq!(
                (m[meta::SCENARIO].as_str(), m[meta::MODE].as_str()),
                ("t", mode)
            );
        }
        let procs = read_processes(&out.join(format!("processes/t-{mode}-0-strace.parquet")));
        assert!(
            procs
                .iter()
                .any(|p| p.exe.as_deref() == Some("/usr/bin/cat")
                    || p.argv
                        .as_ref()
                        .is_some_and(|a| a.first().is_some_and(|c| c == "cat"))),
            "the strace run's processes: {procs:?}"
        );
        let set = out.join(format!("logs/t-{mode}-0-strace.strace"));
        assert!(
            std::fs::read_dir(&set)
                .expect("the -ff set is kept")
                .count()
                >= 2,
            "one file per process"
        );
    }
    let index = std::fs::read_to_string(out.join("report/index.html")).expect("index.html");
    assert!(
        index.contains("id=\"capture_tools\""),
        "eBPF vs strace table"
    );
    assert!(out.join("report/strace/compare.json").is_file());
}

#[test]
fn a_run_that_lost_records_leaves_the_next_a_fresh_load_of_the_programs() {
    require_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let storm = tests::compile("storm", dir.path());
    let spec = dir.path().join("lossy.toml");
    std::fs::write(
        &spec,
        format!(
            "reps = 2\nmodes = [\"ms\"]\ntimeout_s = 30\n\n\
             [[scenario]]\nname = \"storm\"\ncommands = [[\"{}\", \"200000\"]]\n\n\
             [[scenario]]\nname = \"quiet\"\ncommands = [[\"true\"]]\n",
            storm.display()
        ),
    )
    .expect("spec");
    let out = dir.path().join("exp");
    let res = Command::new(bin("tracer"))
        .args(["experiment", "--no-report", "--ring-bytes", "4K", "-s"])
        .arg(&spec)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("tracer experiment");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest is JSON");
    let runs = manifest["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 4);
    let lost: Vec<u64> = runs
        .iter()
        .map(|r| r["events_lost"].as_u64().expect("lost"))
        .collect();
    assert!(
        runs.iter()
            .any(|r| r["scenario"] == "storm" && r["events_lost"].as_u64() > Some(0)),
        "a 200,000-call storm through a 4 KiB ring loses records: {lost:?}"
    );
    assert_eq!(runs[0]["programs_reused"], false);
    for i in 1..runs.len() {
        assert_eq!(
            runs[i]["programs_reused"],
            lost[i - 1] == 0,
            "run {i} reuses the programs exactly when run {} lost nothing: {lost:?}",
            i - 1
        );
    }
    for r in runs.iter().filter(|r| r["events_lost"] == 0) {
        let rows = read_syscalls(&out.join(r["syscalls_file"].as_str().expect("file")));
        assert!(
            rows.iter().all(|row| row.syscall != "<gap>"),
            "{}: no gap carried over from an earlier run",
            r["run_id"]
        );
    }
}
