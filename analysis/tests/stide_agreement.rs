//! The plain-Python stide script (`python/stide_reference.py`, over the raw ADFA-LD text layout)
//! and `tracer-analyze eval` (over the same corpus as Parquet, one file per trace and one file
//! holding every trace as a run) agree on every trace's coverage and on the ROC AUC, on a
//! generated ADFA-shaped corpus (`synth::adfa`). Needs `python3` (standard library only); fails
//! rather than skips without it.

use std::{collections::BTreeMap, path::Path, process::Command};

use analysis::synth::adfa::{AdfaCorpus, AdfaSpec};
use serde_json::Value;

fn json_of(cmd: &mut Command) -> Value {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{shown} printed invalid JSON: {e}"))
}

fn eval(dataset: &Path, extra: &[&str]) -> Value {
    let d = dataset.to_str().expect("utf-8 path");
    json_of(
        Command::new(env!("CARGO_BIN_EXE_tracer-analyze"))
            .args(["eval", "--train", d, "--train-where", "scenario=training"])
            .args(["--normal", d, "--normal-where", "scenario=validation"])
            .args(["--anomalous", d, "--anomalous-where", "scenario=attack:*"])
            .args(extra)
            .arg("--json"),
    )
}

fn coverage_auc(e: &Value) -> f64 {
    e["auc"]
        .as_array()
        .expect("auc table")
        .iter()
        .find(|a| a["metric"] == "coverage")
        .and_then(|a| a["auc"].as_f64())
        .expect("a coverage AUC")
}

#[test]
fn python_stide_and_eval_agree_on_an_adfa_shaped_corpus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = AdfaCorpus::generate(&AdfaSpec::adfa_ld().scaled(0.06));
    let stats = corpus.stats();
    assert!(stats.training > 40 && stats.attack > 30, "{stats:?}");
    corpus
        .write_text(&dir.path().join("ADFA-LD"))
        .expect("text layout");
    let files = dir.path().join("adfa");
    corpus.write_dataset(&files).expect("one file per trace");
    let runs = dir.path().join("adfa-runs");
    corpus
        .write_runs_file(&runs.join("syscalls/adfa.parquet"))
        .expect("one file of runs");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/stide_reference.py");
    let py = json_of(
        Command::new("python3")
            .arg(script)
            .arg(dir.path().join("ADFA-LD"))
            .arg("--json"),
    );
    let py_coverage: BTreeMap<String, f64> = py["coverage"]
        .as_object()
        .expect("coverage per trace")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().expect("a number")))
        .collect();
    assert_eq!(
        py_coverage.len(),
        stats.validation + stats.attack,
        "every scored trace has k or more calls"
    );

    for (dataset, extra) in [
        (&files, &["--no-hamming"][..]),
        (&runs, &["--no-hamming"][..]),
        (&runs, &[][..]),
    ] {
        let e = eval(dataset, extra);
        assert_eq!(
            e["profile_distinct_windows"],
            py["profile_distinct_windows"],
            "{}",
            dataset.display()
        );
        let rust: BTreeMap<String, f64> = e["traces"]
            .as_array()
            .expect("traces")
            .iter()
            .map(|t| {
                (
                    t["run_id"].as_str().expect("run id").to_string(),
                    t["coverage"].as_f64().expect("a coverage"),
                )
            })
            .collect();
        assert_eq!(
            rust.keys().collect::<Vec<_>>(),
            py_coverage.keys().collect::<Vec<_>>(),
            "the same traces"
        );
        for (id, c) in &rust {
            assert_eq!(
                *c,
                py_coverage[id],
                "coverage of {id} in {}",
                dataset.display()
            );
        }
        let (a, b) = (coverage_auc(&e), py["auc"].as_f64().expect("python AUC"));
        assert!((a - b).abs() < 1e-12, "AUC {a} (eval) vs {b} (python)");
    }
}
