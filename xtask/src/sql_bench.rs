//! `cargo xtask bench sql`: the same metrics (coverage, mismatch, locality frame count per run,
//! thread view) on the same data by the Rust binary, by DuckDB running `tracer-analyze sql`
//! and by Spark in local mode running `tracer-analyze sql --dialect spark` through
//! `analysis/python/spark_metrics.py`, whole-process (wall, CPU, peak RSS) and the engines'
//! own query time, in alternating rounds, with ratios to the Rust binary.
//!
//! Two datasets: a demo-shaped M.S/M.R experiment (`gen_experiment`; baseline: each scenario's
//! M.S runs, as `compare --holdout resubstitution`) and an ADFA-LD-shaped corpus as one file of
//! runs (`gen_adfa`; baseline: the training traces, as `profile` then `score`).

use std::{
    io::Read as _,
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context as _, bail};

use crate::{bench::median, cargo, run, setup, workspace_root};

/// What one contender's run cost, whole-process, and the query time it reported.
#[derive(Clone, Copy, Debug, Default)]
struct Cost {
    wall_s: f64,
    cpu_s: f64,
    max_rss_kib: i64,
    /// `query_s=` from the contender's stderr: the engine's own time, start-up excluded.
    query_s: Option<f64>,
}

/// Runs `argv` (stdout discarded, stderr collected by a thread so a chatty child cannot block)
/// and measures wall time, user + system CPU and peak RSS of it and its waited-for children.
fn measure(argv: &[String]) -> anyhow::Result<Cost> {
    let shown = argv.join(" ");
    let started = Instant::now();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {shown}"))?;
    let mut stderr = child.stderr.take().context("child stderr")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills; `pid` is our own unreaped child (the
    // `Child` handle is never waited on, so it is reaped exactly once, here).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_s = started.elapsed().as_secs_f64();
    let err = reader.join().unwrap_or_default();
    if r != pid {
        bail!("waiting for {shown}: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{shown} failed (status {status}): {err}");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let query_s = err
        .split_whitespace()
        .find_map(|w| w.strip_prefix("query_s=")?.parse().ok());
    Ok(Cost {
        wall_s,
        cpu_s: secs(usage.ru_utime) + secs(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
        query_s,
    })
}

/// One contender: commands run one after another (their costs add up).
struct Contender {
    name: String,
    steps: Vec<Vec<String>>,
}

fn measure_all(c: &Contender) -> anyhow::Result<Cost> {
    let mut total = Cost::default();
    for step in &c.steps {
        let one = measure(step)?;
        total.wall_s += one.wall_s;
        total.cpu_s += one.cpu_s;
        total.max_rss_kib = total.max_rss_kib.max(one.max_rss_kib);
        total.query_s = match (total.query_s, one.query_s) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
    Ok(total)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Renders the thread-view query of `files` in `dialect` into `out`.
fn render(
    analyze: &Path,
    files: &str,
    dialect: &str,
    baseline: &[&str],
    out: &Path,
) -> anyhow::Result<()> {
    let o = Command::new(analyze)
        .args(["sql", files, "--dialect", dialect, "--view", "thread"])
        .args(baseline)
        .output()
        .with_context(|| format!("running {} sql", analyze.display()))?;
    if !o.status.success() {
        bail!(
            "tracer-analyze sql failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    std::fs::write(out, &o.stdout).with_context(|| format!("writing {}", out.display()))
}

/// One dataset of the benchmark and its three contenders.
struct Data {
    title: String,
    contenders: Vec<Contender>,
}

fn generate(example: &Path, dir: &Path, args: &[String]) -> anyhow::Result<String> {
    let stamp = dir.join("stamp");
    let wanted = args.join(" ");
    let counts = dir.join("counts.json");
    if std::fs::read_to_string(&stamp).unwrap_or_default() != wanted || !counts.is_file() {
        std::fs::create_dir_all(dir)?;
        let out = Command::new(example)
            .arg(dir)
            .args(args)
            .output()
            .with_context(|| format!("running {}", example.display()))?;
        if !out.status.success() {
            bail!(
                "{} failed: {}",
                example.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::write(&counts, &out.stdout)?;
        std::fs::write(&stamp, &wanted)?;
    }
    Ok(std::fs::read_to_string(&counts)?.trim().to_string())
}

/// The three contenders on `dataset` (a folder with syscalls/), the SQL files in `work`.
fn contenders(
    analyze: &Path,
    dataset: &Path,
    baseline_sql: &[&str],
    rust: Vec<Vec<String>>,
    work: &Path,
) -> anyhow::Result<Vec<Contender>> {
    let root = workspace_root();
    let files = format!("{}/syscalls/*.parquet", dataset.display());
    let duck_sql = work.join("q.duckdb.sql");
    let spark_sql = work.join("q.spark.sql");
    render(analyze, &files, "duckdb", baseline_sql, &duck_sql)?;
    render(analyze, &files, "spark", baseline_sql, &spark_sql)?;
    let python = |script: &str| s(&root.join("analysis/python").join(script));
    Ok(vec![
        Contender {
            name: "tracer-analyze (Rust)".into(),
            steps: rust,
        },
        Contender {
            name: "DuckDB (sql)".into(),
            steps: vec![vec![
                "python3".into(),
                python("duckdb_metrics.py"),
                s(&duck_sql),
            ]],
        },
        Contender {
            name: "Spark local[2] (sql --dialect spark)".into(),
            steps: vec![vec![
                "python3".into(),
                python("spark_metrics.py"),
                s(dataset),
                s(&work.join("spark-out")),
                "--sql".into(),
                s(&spark_sql),
                "--view".into(),
                "thread".into(),
                "--master".into(),
                "local[2]".into(),
            ]],
        },
    ])
}

/// `cargo xtask bench sql`.
pub fn sql(reps: usize, calls_per_thread: usize, share: f64, rounds: usize) -> anyhow::Result<()> {
    setup::setup()?;
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "analysis",
        "--bin",
        "tracer-analyze",
        "--example",
        "gen_experiment",
        "--example",
        "gen_adfa",
    ]))?;
    let root = workspace_root();
    let release = root.join("target/release");
    let analyze = release.join("tracer-analyze");
    let dir = root.join("target/bench-sql");
    let mut datasets = Vec::new();

    let demo = dir.join("experiment");
    let counts = generate(
        &release.join("examples/gen_experiment"),
        &demo,
        &[
            "--reps".into(),
            reps.to_string(),
            "--calls-per-thread".into(),
            calls_per_thread.to_string(),
        ],
    )?;
    let work = dir.join("experiment-work");
    std::fs::create_dir_all(&work)?;
    let rust = vec![vec![
        s(&analyze),
        "compare".into(),
        s(&demo),
        "--holdout".into(),
        "resubstitution".into(),
        "--view".into(),
        "thread".into(),
        "--no-hamming".into(),
        "--json".into(),
    ]];
    datasets.push(Data {
        title: format!("demo-shaped experiment {counts}; baseline: each scenario's M.S runs"),
        contenders: contenders(&analyze, &demo, &["--baseline-mode", "ms"], rust, &work)?,
    });

    let adfa = dir.join("adfa");
    let counts = generate(
        &release.join("examples/gen_adfa"),
        &adfa,
        &["--share".into(), share.to_string()],
    )?;
    let runs = adfa.join("adfa-runs");
    let work = dir.join("adfa-work");
    std::fs::create_dir_all(&work)?;
    let profile = work.join("training.profile");
    let rust = vec![
        vec![
            s(&analyze),
            "profile".into(),
            s(&runs),
            "--where".into(),
            "scenario=training".into(),
            "--view".into(),
            "thread".into(),
            "-o".into(),
            s(&profile),
        ],
        vec![
            s(&analyze),
            "score".into(),
            s(&runs),
            "--profile".into(),
            s(&profile),
            "--view".into(),
            "thread".into(),
            "--no-hamming".into(),
            "--json".into(),
        ],
    ];
    datasets.push(Data {
        title: format!(
            "ADFA-LD-shaped corpus, one file of runs {counts}; baseline: the training traces"
        ),
        contenders: contenders(
            &analyze,
            &runs,
            &["--baseline-scenario", "training"],
            rust,
            &work,
        )?,
    });

    println!(
        "coverage, mismatch and locality frame count per run, thread view, whole-process, \
         {rounds} alternating rounds, medians (machine: {} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    for d in &datasets {
        // Warm the page cache, the JVM's class data and the binaries once.
        for c in &d.contenders {
            measure_all(c)?;
        }
        let mut costs: Vec<Vec<Cost>> = vec![Vec::new(); d.contenders.len()];
        for round in 0..rounds {
            for i in 0..d.contenders.len() {
                let j = (i + round) % d.contenders.len();
                costs[j].push(measure_all(&d.contenders[j])?);
            }
        }
        let med =
            |v: &[Cost], f: fn(&Cost) -> f64| median(&mut v.iter().map(f).collect::<Vec<_>>());
        let rust_wall = med(&costs[0], |c| c.wall_s);
        let rust_cpu = med(&costs[0], |c| c.cpu_s);
        println!(
            "\n{}\n{:<38} {:>9} {:>9} {:>10} {:>9} {:>10} {:>9}",
            d.title, "contender", "wall", "cpu", "peak RSS", "query", "wall/Rust", "cpu/Rust"
        );
        for (c, cost) in d.contenders.iter().zip(&costs) {
            let (wall, cpu) = (med(cost, |c| c.wall_s), med(cost, |c| c.cpu_s));
            let query = med(cost, |c| c.query_s.unwrap_or(f64::NAN));
            let rss = cost.iter().map(|c| c.max_rss_kib).max().unwrap_or(0);
            println!(
                "{:<38} {:>8.2}s {:>8.2}s {:>6} MiB {:>9} {:>9.1}x {:>8.1}x",
                c.name,
                wall,
                cpu,
                rss / 1024,
                if query.is_nan() {
                    "-".to_string()
                } else {
                    format!("{query:.2}s")
                },
                wall / rust_wall,
                cpu / rust_cpu
            );
        }
        for c in &d.contenders {
            for step in &c.steps {
                println!("  {}: {}", c.name, step.join(" "));
            }
        }
    }
    println!(
        "\nreproduce: cargo xtask bench sql --reps {reps} --calls-per-thread {calls_per_thread} \
         --share {share} --rounds {rounds}\n(query: the engine's own time, start-up and \
         reading the SQL excluded; the Rust binary's whole run is its query)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_time_is_read_from_stderr() {
        let argv: Vec<String> = ["sh", "-c", "echo 'spark_metrics: 3 rows query_s=1.25' >&2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let c = measure(&argv).expect("sh runs");
        assert_eq!(c.query_s, Some(1.25));
        let failing: Vec<String> = ["sh", "-c", "echo boom >&2; exit 3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let err = measure(&failing).expect_err("exit 3");
        assert!(err.to_string().contains("boom"), "{err}");
    }
}
