//! Benchmark of the analysis: windows + coverage + mismatch on one core, against the target of
//! 30 million syscalls/s and against the plain-Python reference (`python/reference_metrics.py`)
//! on the same data; optionally the end-to-end scale test on a Parquet dataset with peak memory.
//!
//! Usage: cargo run --release -p analysis --example bench_analysis -- [OPTIONS]
//!   --rows N          calls in the scored trace (default 30000000)
//!   --threads N       threads interleaved in the trace (default 16)
//!   -k N              window length (default 6)
//!   --python-rows N   calls given to the Python reference, 0 to skip (default 2000000)
//!   --dataset-rows N  also write an N-row Parquet dataset (files of 5M rows, scenarios recon and
//!                     privilege, modes ms and mr) and run the full `compare` on it in a child
//!                     process, reporting rows/s and peak resident memory (default 0: skip)
//!   --file-rows N     rows per file (= per run) of that dataset (default 5000000); e.g. half of
//!                     --dataset-rows gives one huge M.S run and one huge M.R run
//!   --dataset-dir DIR where to write it (default target/bench-analysis-dataset; reused when it
//!                     already holds the same rows and file rows)
//!   --json            print one JSON object instead of text

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use analysis::{
    compare::{self, CompareConfig},
    dataset::RowChunk,
    metrics::{DEFAULT_FRAME, DEFAULT_MAX_EXACT_UNKNOWN, ScoreConfig, WindowScorer},
    profile::Profile,
    synth::{self, Columns, NAMES, StreamSpec},
    view::{View, Windower},
};
use tracer_dataset::RunInfo;

const TARGET_PER_S: f64 = 30e6;
const TEMPLATE_LEN: usize = 40;
const NOISE: f64 = 0.002;
const MAX_BURST: usize = 4;

struct Opts {
    rows: usize,
    threads: usize,
    k: usize,
    python_rows: usize,
    dataset_rows: u64,
    file_rows: u64,
    dataset_dir: PathBuf,
    json: bool,
    analyze_only: Option<PathBuf>,
}

fn parse() -> Opts {
    let mut o = Opts {
        rows: 30_000_000,
        threads: 16,
        k: 6,
        python_rows: 2_000_000,
        dataset_rows: 0,
        file_rows: 5_000_000,
        dataset_dir: PathBuf::from("target/bench-analysis-dataset"),
        json: false,
        analyze_only: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let num = |i: usize| -> u64 {
        args.get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{} needs a number", args[i]))
    };
    while i < args.len() {
        match args[i].as_str() {
            "--rows" => o.rows = num(i) as usize,
            "--threads" => o.threads = num(i) as usize,
            "-k" | "--k" => o.k = num(i) as usize,
            "--python-rows" => o.python_rows = num(i) as usize,
            "--dataset-rows" => o.dataset_rows = num(i),
            "--file-rows" => o.file_rows = num(i).max(1),
            "--dataset-dir" => o.dataset_dir = PathBuf::from(&args[i + 1]),
            "--analyze-only" => o.analyze_only = Some(PathBuf::from(&args[i + 1])),
            "--json" => {
                o.json = true;
                i += 1;
                continue;
            }
            "-h" | "--help" => {
                println!("see the doc comment of analysis/examples/bench_analysis.rs");
                std::process::exit(0);
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

fn chunks(c: &Columns) -> impl Iterator<Item = RowChunk<'_>> {
    const STEP: usize = 64 * 1024;
    (0..c.seq.len()).step_by(STEP).map(move |a| {
        let b = (a + STEP).min(c.seq.len());
        RowChunk {
            seq: &c.seq[a..b],
            pid: &c.pid[a..b],
            tid: &c.tid[a..b],
            syscall: &c.syscall[a..b],
        }
    })
}

fn build(c: &Columns, view: View, k: usize) -> Profile {
    let mut p = Profile::new(k, view).expect("valid k");
    let mut w = Windower::new(view, k).expect("valid k");
    for chunk in chunks(c) {
        w.feed(&chunk, |key| p.add(key, 1));
    }
    p.sequences = w.finish_run();
    p
}

struct Score {
    seconds: f64,
    exact: bool,
    known_windows: u64,
    distinct_windows: u64,
    unknown_distinct_windows: u64,
    coverage: Option<f64>,
    mismatch: Option<f64>,
    windows: u64,
    lfc: u32,
}

/// Windows + coverage + mismatch (+ locality frame count) of `c` against `p`: the timed kernel.
fn score(c: &Columns, p: &Profile, view: View) -> Score {
    let mut w = Windower::new(view, p.k).expect("valid k");
    // The limits the commands use by default (exact distinct counts up to 2 M unknown windows).
    let mut s = WindowScorer::with_exact_limit(DEFAULT_FRAME, DEFAULT_MAX_EXACT_UNKNOWN);
    let start = Instant::now();
    s.begin_trace(p);
    for chunk in chunks(c) {
        w.feed(&chunk, |key| s.window(p, key));
    }
    w.finish_run();
    let counts = s.finish();
    let seconds = start.elapsed().as_secs_f64();
    let unknown =
        counts.unknown_distinct.len() as f64 + counts.unknown_distinct_estimated_beyond as f64;
    Score {
        seconds,
        exact: counts.exact,
        known_windows: counts.known_windows,
        distinct_windows: counts.distinct_windows,
        unknown_distinct_windows: counts.unknown_distinct.len() as u64,
        coverage: (counts.windows > 0).then(|| counts.known_windows as f64 / counts.windows as f64),
        mismatch: (counts.distinct_windows > 0).then(|| unknown / counts.distinct_windows as f64),
        windows: counts.windows,
        lfc: counts.locality_frame_count,
    }
}

fn truncate(c: &Columns, n: usize) -> Columns {
    let n = n.min(c.seq.len());
    Columns {
        seq: c.seq[..n].to_vec(),
        pid: c.pid[..n].to_vec(),
        tid: c.tid[..n].to_vec(),
        syscall: c.syscall[..n].to_vec(),
    }
}

fn write_csv(c: &Columns, path: &Path) {
    use std::io::Write;
    let f = std::fs::File::create(path).expect("create csv");
    let mut w = std::io::BufWriter::new(f);
    writeln!(w, "pid,tid,syscall").expect("write");
    for i in 0..c.seq.len() {
        writeln!(
            w,
            "{},{},{}",
            c.pid[i],
            c.tid[i],
            NAMES[usize::from(c.syscall[i])]
        )
        .expect("write");
    }
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The child side of the scale test: a full comparison, then timing and peak memory as JSON.
fn analyze_only(dir: &Path, k: usize) {
    let start = Instant::now();
    let cfg = CompareConfig {
        inputs: vec![dir.display().to_string()],
        k,
        score: ScoreConfig {
            hamming: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let r = compare::run(&cfg).expect("compare on the scale dataset");
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "rows": r.scan.rows_read,
            "seconds": seconds,
            "dataset_rows_per_second": r.scan.rows_read as f64 / seconds,
            "peak_rss_bytes": peak_rss_bytes(),
            "traces_scored": r.traces.len(),
            "traces_with_estimated_distinct_counts": r.traces.iter().filter(|t| !t.distinct_windows_exact).count(),
            "profiles_distinct_windows": r.baselines.iter().map(|b| b.distinct_windows).sum::<u64>(),
        })
    );
}

fn write_dataset(dir: &Path, rows: u64, file_rows: u64) -> f64 {
    let marker = dir.join("rows.txt");
    let shape = format!("{rows} rows, {file_rows} per file");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(shape.as_str()) {
        return 0.0;
    }
    let _ = std::fs::remove_dir_all(dir);
    let sys = dir.join("syscalls");
    std::fs::create_dir_all(&sys).expect("create dataset dir");
    let start = Instant::now();
    let files = rows.div_ceil(file_rows);
    for f in 0..files {
        let n = file_rows.min(rows - f * file_rows) as usize;
        let scenario = if f % 4 < 2 { "recon" } else { "privilege" };
        let mode = if f % 2 == 0 { "ms" } else { "mr" };
        let (threads, template_seed) = if scenario == "recon" { (12, 1) } else { (3, 2) };
        // M.S: long bursts (up to a thread's share of the run); M.R: short interleaved bursts.
        let burst = if mode == "ms" { n / threads } else { MAX_BURST };
        let c = synth::interleaved_columns(&StreamSpec {
            threads,
            rows: n,
            template_len: TEMPLATE_LEN,
            noise: NOISE,
            max_burst: burst,
            base_pid: 1000,
            seed: template_seed,
            stream_seed: 100 + f,
        });
        let run_id = format!("{scenario}-{mode}-{f}");
        synth::write_columns(
            &sys.join(format!("{run_id}.parquet")),
            RunInfo {
                run_id,
                source: "synthetic".into(),
                scenario: Some(scenario.into()),
                mode: Some(mode.into()),
            },
            &c,
        )
        .expect("write scale dataset");
    }
    std::fs::write(&marker, shape).expect("write marker");
    start.elapsed().as_secs_f64()
}

fn main() {
    let o = parse();
    if let Some(dir) = &o.analyze_only {
        analyze_only(dir, o.k);
        return;
    }
    let mut out = serde_json::Map::new();
    let mut text = String::new();
    let spec = StreamSpec {
        threads: o.threads,
        rows: o.rows,
        template_len: TEMPLATE_LEN,
        noise: NOISE,
        max_burst: MAX_BURST,
        base_pid: 1000,
        seed: 7,
        stream_seed: 2,
    };
    let train = synth::interleaved_columns(&StreamSpec {
        rows: (o.rows / 4).max(1_000_000),
        stream_seed: 1,
        ..spec
    });
    let test = synth::interleaved_columns(&spec);
    let t = Instant::now();
    let profile = build(&train, View::Thread, o.k);
    let build_s = t.elapsed().as_secs_f64();
    text.push_str(&format!(
        "data: {} threads, templates of {TEMPLATE_LEN} calls, noise {NOISE}, bursts of 1 to {MAX_BURST}; k = {}\n",
        o.threads, o.k
    ));
    text.push_str(&format!(
        "profile build (thread view): {} calls in {:.3} s = {:.1} M calls/s; {} distinct windows\n",
        train.seq.len(),
        build_s,
        train.seq.len() as f64 / build_s / 1e6,
        profile.distinct()
    ));
    for view in [View::Thread, View::Interleaved] {
        let s = score(&test, &profile, view);
        let rate = test.seq.len() as f64 / s.seconds;
        text.push_str(&format!(
            "score, {view} view: {} calls, {} windows in {:.3} s = {:.1} M syscalls/s ({:.2}x the 30 M/s target); coverage {:.4}, mismatch {:.4}{}, lfc {}\n",
            test.seq.len(),
            s.windows,
            s.seconds,
            rate / 1e6,
            rate / TARGET_PER_S,
            s.coverage.unwrap_or(f64::NAN),
            s.mismatch.unwrap_or(f64::NAN),
            if s.exact { "" } else { " (distinct counts past 2 M unknown windows estimated)" },
            s.lfc
        ));
        out.insert(
            format!("{view}_view"),
            serde_json::json!({
                "calls": test.seq.len(), "seconds": s.seconds, "syscalls_per_second": rate,
                "target_syscalls_per_second": TARGET_PER_S, "meets_target": rate >= TARGET_PER_S,
                "coverage": s.coverage, "mismatch": s.mismatch, "distinct_counts_exact": s.exact,
            }),
        );
    }
    out.insert(
        "profile_build_calls_per_second".into(),
        (train.seq.len() as f64 / build_s).into(),
    );

    if o.python_rows > 0 {
        let dir = tempfile_dir();
        let py_train = truncate(&train, o.python_rows);
        let py_test = truncate(&test, o.python_rows);
        let (a, b) = (dir.join("train.csv"), dir.join("test.csv"));
        write_csv(&py_train, &a);
        write_csv(&py_test, &b);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/reference_metrics.py");
        let py = Command::new("python3")
            .arg(&script)
            .args([
                "--baseline",
                a.to_str().expect("utf-8 path"),
                "--trace",
                b.to_str().expect("utf-8 path"),
            ])
            .args(["--k", &o.k.to_string(), "--view", "thread"])
            .output()
            .expect("run python3");
        assert!(
            py.status.success(),
            "python reference failed: {}",
            String::from_utf8_lossy(&py.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&py.stdout).expect("python JSON");
        let py_rate = v["score_syscalls_per_second"]
            .as_f64()
            .expect("python rate");
        let p = build(&py_train, View::Thread, o.k);
        let s = score(&py_test, &p, View::Thread);
        let rust_rate = py_test.seq.len() as f64 / s.seconds;
        // Exact on the counts; the ratios only to rounding (serde_json's float parsing is not
        // always correctly rounded).
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-12,
            (a, b) => a == b,
        };
        let agree = v["windows"].as_u64() == Some(s.windows)
            && v["known_windows"].as_u64() == Some(s.known_windows)
            && v["distinct_windows"].as_u64() == Some(s.distinct_windows)
            && s.exact
            && v["unknown_distinct_windows"].as_u64() == Some(s.unknown_distinct_windows)
            && v["locality_frame_count"].as_u64() == Some(u64::from(s.lfc))
            && close(v["coverage"].as_f64(), s.coverage)
            && close(v["mismatch"].as_f64(), s.mismatch);
        text.push_str(&format!(
            "python reference on the same {} calls (thread view): {:.2} M syscalls/s; rust {:.1} M syscalls/s; ratio rust/python = {:.0}x; results agree: {agree} (coverage {:?} vs {:?}, mismatch {:?} vs {:?})\n",
            py_test.seq.len(),
            py_rate / 1e6,
            rust_rate / 1e6,
            rust_rate / py_rate,
            s.coverage,
            v["coverage"].as_f64(),
            s.mismatch,
            v["mismatch"].as_f64(),
        ));
        assert!(agree, "the Rust and Python metrics differ: {text}");
        out.insert(
            "python_reference".into(),
            serde_json::json!({
                "calls": py_test.seq.len(), "python_syscalls_per_second": py_rate,
                "rust_syscalls_per_second": rust_rate, "ratio_rust_over_python": rust_rate / py_rate,
                "results_agree": agree,
            }),
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    if o.dataset_rows > 0 {
        let write_s = write_dataset(&o.dataset_dir, o.dataset_rows, o.file_rows);
        let child = Command::new(std::env::current_exe().expect("own path"))
            .args([
                "--analyze-only",
                o.dataset_dir.to_str().expect("utf-8 path"),
                "-k",
                &o.k.to_string(),
            ])
            .output()
            .expect("run the analysis child");
        assert!(
            child.status.success(),
            "scale analysis failed: {}",
            String::from_utf8_lossy(&child.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&child.stdout).expect("child JSON");
        let rss = v["peak_rss_bytes"].as_u64().unwrap_or(0);
        text.push_str(&format!(
            "scale: compare over {} rows in {} (runs of {} rows; written in {:.0} s, 0 = reused) took {:.1} s ({:.1} M dataset rows/s for the whole comparison: run listing, order checks, baseline pass, scoring pass in 3 views; Hamming off); peak resident memory {:.0} MiB ({} 1 GiB); {} of {} trace-views past the exact distinct limit (HyperLogLog)\n",
            v["rows"], o.dataset_dir.display(), o.file_rows, write_s,
            v["seconds"].as_f64().unwrap_or(0.0),
            v["dataset_rows_per_second"].as_f64().unwrap_or(0.0) / 1e6,
            rss as f64 / 1048576.0,
            if rss < 1 << 30 { "under" } else { "OVER" },
            v["traces_with_estimated_distinct_counts"],
            v["traces_scored"]
        ));
        out.insert("scale".into(), v);
    }
    if o.json {
        println!("{}", serde_json::Value::Object(out));
    } else {
        print!("{text}");
    }
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("bench-analysis-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
