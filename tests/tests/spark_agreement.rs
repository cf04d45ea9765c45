//! The Spark dialect of `tracer-analyze sql`, run by the cluster example
//! (`analysis/python/spark_metrics.py`) in Spark's local mode, the DuckDB dialect run by DuckDB,
//! and the Rust code agree on coverage, mismatch and the locality frame count of every run in
//! every view, on two datasets: a synthetic M.S/M.R experiment shaped like the demo's (two
//! scenarios, multi-threaded commands; baseline: each scenario's M.S runs) and a UNM-format
//! fixture imported by `tracer ingest` (the repository's UNM fixture plus a generated set of
//! interleaved multi-process traces; baseline: the `normal` traces).
//!
//! One Spark session (local[2]) runs every query, through one Python process that also runs
//! DuckDB. It fails, rather than skips, when pyspark, a Java runtime or duckdb is missing
//! (`cargo xtask setup` installs them).

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
};

use analysis::{
    compare::{self, CompareConfig, Holdout},
    dataset::Selection,
    eval::{self, BaselineSource},
    metrics::{DEFAULT_FRAME, ScoreConfig, TraceMetrics},
    ngram::DEFAULT_K,
    sql::{self, Dialect, Query, SqlBaseline, SqlParams},
    synth::{self, ExperimentSpec, ScenarioSpec},
    view::View,
};
use tests::{bin, copy_folder, tracer, workspace};

/// Runs the Spark jobs (through spark_metrics.main, one session) and the DuckDB queries; writes
/// `{job: {"spark": [rows], "duckdb": {view: [rows]}}}` to argv[2].
const HARNESS: &str = r#"
import json, sys
sys.path.insert(0, sys.argv[3])
import spark_metrics
try:
    import duckdb
except ImportError:
    sys.exit("duckdb is not installed (pip install duckdb; cargo xtask setup does it)")

def rows(cur):
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]

jobs = json.load(open(sys.argv[1]))
spark = spark_metrics.session("local[2]", "spark_agreement test")
result = {}
try:
    for job in jobs:
        spark_metrics.main(job["argv"], spark=spark)
        con = duckdb.connect()
        out = job["out"].replace("'", "''")
        written = rows(con.execute(f"SELECT * FROM read_parquet('{out}/*.parquet')"))
        duck = {view: rows(con.execute(open(f).read())) for view, f in job["duckdb"].items()}
        result[job["name"]] = {"spark": written, "duckdb": duck}
finally:
    spark.stop()
json.dump(result, open(sys.argv[2], "w"), default=str)
"#;

/// One dataset, the baseline its runs are scored against, and the windows.
struct Case {
    name: &'static str,
    dataset: PathBuf,
    baseline: SqlBaseline,
    k: usize,
    frame: usize,
}

/// One comparison: the views scored against a baseline built in `baseline_view`.
struct Job<'a> {
    case: &'a Case,
    baseline_view: View,
    views: Vec<View>,
}

impl Job<'_> {
    fn name(&self) -> String {
        format!("{}-baseline-{}", self.case.name, self.baseline_view)
    }
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// i386 syscall numbers the generated traces use: read, write, open, close, brk, ioctl, mmap,
/// munmap, stat64, fstat64, access, futex; an intrusion adds execve, socketcall, clone, setuid.
const NORMAL_CALLS: [u32; 12] = [3, 4, 5, 6, 45, 54, 90, 91, 195, 197, 33, 240];
const INTRUSION_CALLS: [u32; 4] = [11, 102, 120, 23];

/// One UNM trace: `procs` processes, each looping over its program with a chance of another
/// call per step, interleaved in bursts of 1 to 4 calls as the file's order.
fn unm_trace(seed: u64, procs: usize, calls: usize, noise_pct: usize, intrusion: bool) -> String {
    let mut rng = Rng(seed);
    let programs: Vec<Vec<u32>> = (0..procs)
        .map(|p| {
            // The program of the n-th process is the same in every trace: shared behaviour.
            let mut tpl = Rng(1000 + p as u64);
            (0..5 + p)
                .map(|_| NORMAL_CALLS[tpl.below(NORMAL_CALLS.len())])
                .collect()
        })
        .collect();
    let mut left = vec![calls; procs];
    let mut pos = vec![0usize; procs];
    let mut text = String::new();
    while left.iter().any(|&n| n > 0) {
        let p = rng.below(procs);
        for _ in 0..1 + rng.below(4) {
            if left[p] == 0 {
                break;
            }
            let nr = if rng.below(100) < noise_pct {
                if intrusion && rng.below(2) == 0 {
                    INTRUSION_CALLS[rng.below(INTRUSION_CALLS.len())]
                } else {
                    NORMAL_CALLS[rng.below(NORMAL_CALLS.len())]
                }
            } else {
                programs[p][pos[p] % programs[p].len()]
            };
            pos[p] += 1;
            left[p] -= 1;
            writeln!(text, "{} {nr}", 400 + seed * 10 + p as u64).expect("write to a String");
        }
    }
    text
}

/// The UNM fixture of the repository plus a generated set `synth` (normal and intrusion
/// traces of 2 to 4 interleaved processes), imported into `out` by `tracer ingest`.
fn imported_unm(dir: &Path) -> PathBuf {
    let src = dir.join("unm-src");
    copy_folder(&workspace().join("tests/data/unm"), &src);
    for (folder, traces, noise, intrusion) in [
        ("synth/normal", 6, 2, false),
        ("synth/intrusions/overflow", 3, 20, true),
    ] {
        let d = src.join(folder);
        std::fs::create_dir_all(&d).expect("mkdir");
        for i in 0..traces {
            let seed = (if intrusion { 50 + i } else { i }) as u64;
            let text = unm_trace(seed, 2 + i % 3, 80 + 10 * i, noise, intrusion);
            std::fs::write(d.join(format!("t-{i}.int")), text).expect("write trace");
        }
    }
    let out = dir.join("unm");
    let o = tracer(&[
        "ingest",
        "--format",
        "unm",
        src.to_str().expect("utf-8 path"),
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(
        o.status.success(),
        "tracer ingest --format unm: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// A demo-shaped experiment: recon (six commands of two threads each) and privilege, M.S and
/// M.R, two repetitions.
fn demo_like(dir: &Path) -> PathBuf {
    let out = dir.join("demo");
    let spec = ExperimentSpec {
        scenarios: vec![
            ScenarioSpec {
                threads: 2,
                calls_per_thread: 150,
                ..ScenarioSpec::recon()
            },
            ScenarioSpec {
                calls_per_thread: 300,
                ..ScenarioSpec::privilege()
            },
        ],
        reps: 2,
        ..Default::default()
    };
    synth::write_experiment(&out, &spec).expect("write experiment");
    out
}

/// The Rust code's metrics of `job`, per view and run.
fn rust_metrics(job: &Job) -> BTreeMap<(View, String), TraceMetrics> {
    let c = job.case;
    let score = ScoreConfig {
        frame: c.frame,
        hamming: false,
        ..Default::default()
    };
    let inputs = vec![c.dataset.display().to_string()];
    let traces = match &c.baseline {
        SqlBaseline::Mode(mode) => {
            compare::run(&CompareConfig {
                inputs,
                k: c.k,
                baseline_view: job.baseline_view,
                views: job.views.clone(),
                baseline_mode: mode.clone(),
                // The SQL's baseline is every baseline-mode run of the scenario.
                holdout: Holdout::Resubstitution,
                score,
                ..Default::default()
            })
            .expect("rust compare")
            .traces
        }
        SqlBaseline::Scenario(scenario) => {
            let (profile, name, mut interner) = eval::load_baseline(&BaselineSource::Train {
                inputs: inputs.clone(),
                selection: Selection::parse(&format!("scenario={scenario}")).expect("filter"),
                view: job.baseline_view,
                k: c.k,
            })
            .expect("rust baseline");
            eval::score_traces(
                &inputs,
                &Selection::all(),
                &profile,
                &name,
                &job.views,
                &score,
                &mut interner,
            )
            .expect("rust score")
        }
    };
    traces
        .into_iter()
        .map(|t| ((t.view, t.run_id.clone()), t))
        .collect()
}

/// The `tracer-analyze sql` options of a baseline.
fn baseline_args(b: &SqlBaseline) -> [String; 2] {
    match b {
        SqlBaseline::Mode(m) => ["--baseline-mode".into(), m.clone()],
        SqlBaseline::Scenario(s) => ["--baseline-scenario".into(), s.clone()],
    }
}

/// Checks one engine's rows of one job and view against the Rust metrics.
fn check_rows(
    engine: &str,
    job: &Job,
    view: View,
    rows: &[&serde_json::Value],
    rust: &BTreeMap<(View, String), TraceMetrics>,
) {
    let by_run: BTreeMap<&str, &serde_json::Value> = rows
        .iter()
        .map(|r| (r["run_id"].as_str().expect("run_id"), *r))
        .collect();
    assert_eq!(by_run.len(), rows.len(), "{engine}: one row per run");
    let scored: Vec<&TraceMetrics> = rust
        .iter()
        .filter(|((v, _), _)| *v == view)
        .map(|(_, t)| t)
        .collect();
    for t in &scored {
        let ctx = format!(
            "{engine}, {}: run {} in the {view} view",
            job.name(),
            t.run_id
        );
        let Some(d) = by_run.get(t.run_id.as_str()) else {
            // The SQL leaves out a run with no window; the Rust code reports it, empty.
            assert_eq!(t.windows, 0, "{ctx}: missing");
            assert_eq!(t.coverage, None, "{ctx}");
            continue;
        };
        assert_eq!(d["windows"].as_u64(), Some(t.windows), "{ctx}: windows");
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
            "{ctx}: locality frame count"
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
    let with_windows = scored.iter().filter(|t| t.windows > 0).count();
    assert_eq!(
        by_run.len(),
        with_windows,
        "{engine}, {}, {view} view: runs scored (the SQL's and the Rust code's)",
        job.name()
    );
}

#[test]
fn spark_duckdb_and_rust_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        Case {
            name: "demo",
            dataset: demo_like(dir.path()),
            baseline: SqlBaseline::Mode("ms".into()),
            k: DEFAULT_K,
            frame: DEFAULT_FRAME,
        },
        Case {
            name: "unm",
            dataset: imported_unm(dir.path()),
            baseline: SqlBaseline::Scenario("normal".into()),
            k: 3,
            frame: 5,
        },
    ];
    let jobs: Vec<Job> = cases
        .iter()
        .flat_map(|case| {
            [
                Job {
                    case,
                    baseline_view: View::Thread,
                    views: View::ALL.to_vec(),
                },
                Job {
                    case,
                    baseline_view: View::Interleaved,
                    views: vec![View::Interleaved],
                },
            ]
        })
        .collect();
    // The Spark side runs the cluster example as a user would (it renders through the
    // tracer-analyze binary); the DuckDB side runs the DuckDB rendering of the same options.
    let analyze = bin("tracer-analyze");
    let mut spec = Vec::new();
    for job in &jobs {
        let c = job.case;
        let out = dir.path().join(format!("{}.spark", job.name()));
        let mut argv: Vec<String> = vec![
            c.dataset.display().to_string(),
            out.display().to_string(),
            "--tracer-analyze".into(),
            analyze.display().to_string(),
            "--baseline-view".into(),
            job.baseline_view.to_string(),
        ];
        argv.extend(baseline_args(&c.baseline));
        if c.k != DEFAULT_K || c.frame != DEFAULT_FRAME {
            argv.extend(["-k".into(), c.k.to_string()]);
            argv.extend(["--frame".into(), c.frame.to_string()]);
        }
        for v in &job.views {
            argv.extend(["--view".into(), v.to_string()]);
        }
        let mut duck = serde_json::Map::new();
        for &view in &job.views {
            let sql = sql::render(
                Query::CoverageMismatch,
                &SqlParams {
                    files: format!("{}/syscalls/*.parquet", c.dataset.display()),
                    dialect: Dialect::DuckDb,
                    view,
                    baseline_view: job.baseline_view,
                    baseline: c.baseline.clone(),
                    k: c.k,
                    frame: c.frame,
                },
            )
            .expect("render DuckDB SQL");
            let file = dir.path().join(format!("{}-{view}.duckdb.sql", job.name()));
            std::fs::write(&file, sql).expect("write SQL");
            duck.insert(view.to_string(), file.display().to_string().into());
        }
        spec.push(serde_json::json!({
            "name": job.name(),
            "argv": argv,
            "out": out.display().to_string(),
            "duckdb": duck,
        }));
    }
    let spec_file = dir.path().join("jobs.json");
    std::fs::write(&spec_file, serde_json::to_vec(&spec).expect("JSON")).expect("write jobs");
    let result_file = dir.path().join("result.json");
    let scripts = workspace().join("analysis/python");
    let out = Command::new("python3")
        .arg("-c")
        .arg(HARNESS)
        .arg(&spec_file)
        .arg(&result_file)
        .arg(&scripts)
        .output()
        .expect("python3 must be installed for the Spark agreement test");
    assert!(
        out.status.success(),
        "the Spark run failed (pyspark and a Java runtime are needed: cargo xtask setup \
         installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&result_file).expect("result file"))
            .expect("result JSON");
    for job in &jobs {
        let rust = rust_metrics(job);
        let r = &result[job.name()];
        let spark_rows = r["spark"].as_array().expect("Spark rows");
        for &view in &job.views {
            let spark: Vec<&serde_json::Value> = spark_rows
                .iter()
                .filter(|row| row["view"] == view.to_string())
                .collect();
            let duck: Vec<&serde_json::Value> = r["duckdb"][view.to_string()]
                .as_array()
                .expect("DuckDB rows")
                .iter()
                .collect();
            check_rows("Spark", job, view, &spark, &rust);
            check_rows("DuckDB", job, view, &duck, &rust);
        }
        assert_eq!(
            spark_rows.len(),
            rust.values().filter(|t| t.windows > 0).count(),
            "{}: the Parquet table holds every scored run of every view",
            job.name()
        );
        // The agreement means something only if the metrics vary: known and unknown windows,
        // and views that see different sequences.
        let mismatches: Vec<f64> = rust.values().filter_map(|t| t.mismatch).collect();
        assert!(
            mismatches.iter().any(|&m| m > 0.0) && mismatches.iter().any(|&m| m < 1.0),
            "{}: mismatch does not vary: {mismatches:?}",
            job.name()
        );
        assert!(
            rust.values().any(|t| t.locality_frame_count > 1),
            "{}: no locality frame count above 1",
            job.name()
        );
    }
    let rust = rust_metrics(&jobs[0]);
    let runs = rust
        .keys()
        .filter(|(v, _)| *v == View::Thread)
        .map(|(_, r)| r.clone())
        .collect::<Vec<_>>();
    assert_eq!(runs.len(), 8, "2 scenarios x 2 modes x 2 reps: {runs:?}");
    assert!(
        runs.iter().any(|r| {
            let m = |v: View| rust[&(v, r.clone())].mismatch;
            m(View::Thread) != m(View::Interleaved)
        }),
        "the thread and interleaved views agree on every run: the views are not exercised"
    );
    let unm = rust_metrics(&jobs[2]);
    assert!(
        unm.keys().any(|(_, r)| r.starts_with("synth/intrusions/")),
        "the generated intrusions are scored: {:?}",
        unm.keys().collect::<Vec<_>>()
    );
}
