//! The shipped DuckDB SQL (`sql/coverage_mismatch.sql`) and the Rust code agree on coverage,
//! mismatch and the locality frame count, per run and view, on the same Parquet files.
//!
//! Runs DuckDB from Python (`python/duckdb_metrics.py`). It fails, rather than skips, when
//! python3 or its duckdb module is missing (`pip install duckdb`; `cargo xtask setup` does it).

use std::{collections::BTreeMap, process::Command};

use analysis::{
    compare::{self, CompareConfig, Holdout},
    metrics::ScoreConfig,
    sql::{self, Dialect, Query, SqlBaseline, SqlParams},
    synth::{self, ExperimentSpec},
    view::View,
};

#[test]
fn duckdb_and_rust_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = ExperimentSpec {
        reps: 2,
        ..Default::default()
    };
    synth::write_experiment(dir.path(), &spec).expect("write experiment");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/duckdb_metrics.py");
    let k = 4;
    let frame = 7;
    for (view, baseline_view) in [
        (View::Thread, View::Thread),
        (View::Process, View::Thread),
        (View::Interleaved, View::Thread),
        (View::Interleaved, View::Interleaved),
    ] {
        let cfg = CompareConfig {
            inputs: vec![dir.path().display().to_string()],
            k,
            baseline_view,
            views: vec![view],
            // The SQL's baseline is every M.S run of the scenario (resubstitution).
            holdout: Holdout::Resubstitution,
            score: ScoreConfig {
                frame,
                hamming: false,
                ..Default::default()
            },
            ..Default::default()
        };
        let rust = compare::run(&cfg).expect("rust compare");
        let rendered = sql::render(
            Query::CoverageMismatch,
            &SqlParams {
                files: format!("{}/syscalls/*.parquet", dir.path().display()),
                dialect: Dialect::DuckDb,
                view,
                baseline_view,
                baseline: SqlBaseline::Mode("ms".into()),
                k,
                frame,
            },
        )
        .expect("render SQL");
        let sql_file = dir.path().join("q.sql");
        std::fs::write(&sql_file, rendered).expect("write SQL");
        let out = Command::new("python3")
            .arg(script)
            .arg(&sql_file)
            .output()
            .expect("python3 must be installed for the DuckDB agreement test");
        assert!(
            out.status.success(),
            "DuckDB run failed (is duckdb installed? pip install duckdb): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON rows");
        let by_run: BTreeMap<String, &serde_json::Value> = rows
            .iter()
            .map(|r| (r["run_id"].as_str().expect("run_id").to_string(), r))
            .collect();
        assert_eq!(by_run.len(), rust.traces.len(), "{view} view: runs scored");
        assert_eq!(
            rust.traces.len(),
            2 * 2 * 2,
            "2 scenarios x 2 modes x 2 reps"
        );
        for t in &rust.traces {
            let d = by_run
                .get(&t.run_id)
                .unwrap_or_else(|| panic!("DuckDB lacks run {}", t.run_id));
            let ctx = format!(
                "run {} in the {view} view (baseline {baseline_view})",
                t.run_id
            );
            assert_eq!(d["windows"].as_u64(), Some(t.windows), "{ctx}");
            assert_eq!(d["known_windows"].as_u64(), Some(t.known_windows), "{ctx}");
            assert_eq!(
                d["distinct_windows"].as_u64(),
                Some(t.distinct_windows),
                "{ctx}"
            );
            assert_eq!(
                d["unknown_distinct_windows"].as_u64(),
                Some(t.unknown_distinct_windows),
                "{ctx}"
            );
            assert_eq!(
                d["locality_frame_count"].as_u64(),
                Some(u64::from(t.locality_frame_count)),
                "{ctx}"
            );
            let close = |a: Option<f64>, b: Option<f64>| matches!((a, b), (Some(a), Some(b)) if (a - b).abs() < 1e-12);
            assert!(
                close(d["coverage"].as_f64(), t.coverage),
                "{ctx}: coverage {} vs {:?}",
                d["coverage"],
                t.coverage
            );
            assert!(
                close(d["mismatch"].as_f64(), t.mismatch),
                "{ctx}: mismatch {} vs {:?}",
                d["mismatch"],
                t.mismatch
            );
        }
    }
}
