//! `cargo xtask bench ...`: each benchmark runs its contenders side by side in one run,
//! alternating rounds so machine noise hits all of them, and prints ratios.

use std::{path::Path, process::Command, time::Instant};

use anyhow::{Context as _, bail};

use clap::Subcommand;

use crate::{cargo, run, setup, workspace_root};

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCmd {
    /// Capture cost, whole-process (wall, CPU, peak RSS) and in-process, on start-up, a getppid
    /// storm, walk+read and a build: untraced vs tracer, tracer -T, perf trace, strace -f, and
    /// bpftrace on the storm.
    Capture {
        /// getppid calls in the storm.
        #[arg(long, default_value_t = 2_000_000)]
        calls: u64,
        /// Alternating rounds (medians are reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Skip the (slow) strace -f runs (one round each otherwise).
        #[arg(long)]
        no_strace: bool,
        /// Also measure this `tracer` binary (e.g. built from an earlier commit), side by side.
        #[arg(long, value_name = "PATH")]
        baseline: Option<std::path::PathBuf>,
    },
    /// Collector: records decoded and written to Parquet per second on one core.
    Collector {
        /// Synthetic records.
        #[arg(long, default_value_t = 5_000_000)]
        events: u64,
    },
    /// strace ingest: lines per second on one core.
    Ingest {
        /// Lines of the generated log.
        #[arg(long, default_value_t = 2_000_000)]
        lines: u64,
    },
    /// Analysis: syscalls per second for windows + coverage + mismatch, and vs Python.
    Analysis {
        /// Rows of the generated dataset.
        #[arg(long, default_value_t = 20_000_000)]
        rows: u64,
    },
    /// The stide evaluation on an ADFA-LD-shaped corpus, whole-process: the plain Python stide
    /// script over the raw text files vs `tracer-analyze eval` (with and without Hamming) over
    /// the corpus as one Parquet file of runs and as one file per trace.
    Eval {
        /// Share of ADFA-LD's size (1: 5,951 traces, about 2.7 million calls).
        #[arg(long, default_value_t = 1.0)]
        share: f64,
        /// Alternating rounds (medians are reported).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// The metrics as SQL: coverage, mismatch and locality frame count per run (thread view),
    /// whole-process and query time, by the Rust binary, DuckDB and Spark in local mode, on a
    /// demo-shaped experiment and an ADFA-LD-shaped corpus.
    Sql {
        /// Repetitions per scenario and mode of the experiment.
        #[arg(long, default_value_t = 10)]
        reps: usize,
        /// Calls of each thread of the experiment.
        #[arg(long, default_value_t = 2000)]
        calls_per_thread: usize,
        /// Share of ADFA-LD's size of the corpus.
        #[arg(long, default_value_t = 0.25)]
        share: f64,
        /// Alternating rounds (medians are reported).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

/// The median of `v` (sorted in place).
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn example(package: &str, name: &str, args: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    run(cargo()
        .args(["run", "--release", "-p", package, "--example", name, "--"])
        .args(args))?;
    eprintln!("({name} took {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs one benchmark.
pub fn run_bench(what: BenchCmd) -> anyhow::Result<()> {
    match what {
        BenchCmd::Capture {
            calls,
            rounds,
            no_strace,
            baseline,
        } => crate::capture_bench::capture(calls, rounds, no_strace, baseline.as_deref()),
        BenchCmd::Collector { events } => {
            setup::setup()?;
            example(
                "tracer",
                "bench_collector",
                &["--events".into(), events.to_string()],
            )
        }
        BenchCmd::Ingest { lines } => {
            setup::setup()?;
            example(
                "tracer",
                "bench_ingest",
                &["--lines".into(), lines.to_string()],
            )
        }
        BenchCmd::Analysis { rows } => example(
            "analysis",
            "bench_analysis",
            &["--rows".into(), rows.to_string()],
        ),
        BenchCmd::Eval { share, rounds } => eval(share, rounds),
        BenchCmd::Sql {
            reps,
            calls_per_thread,
            share,
            rounds,
        } => crate::sql_bench::sql(reps, calls_per_thread, share, rounds),
    }
}

/// What one whole-process run cost.
#[derive(Clone, Copy, Debug)]
struct Cost {
    wall_s: f64,
    cpu_s: f64,
    max_rss_kib: i64,
}

/// Runs `cmd` (output discarded) and measures it: wall time, user + system CPU and peak
/// resident memory of that child (from `wait4`).
fn measure(cmd: &mut Command) -> anyhow::Result<Cost> {
    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running {shown}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills; `pid` is our own unreaped child (the
    // `Child` handle is never waited on, so it is reaped exactly once, here).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_s = started.elapsed().as_secs_f64();
    if r != pid {
        bail!("waiting for {shown}: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let mut err = String::new();
        if let Some(mut e) = child.stderr {
            std::io::Read::read_to_string(&mut e, &mut err)?;
        }
        bail!("{shown} failed (status {status}): {err}");
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Cost {
        wall_s,
        cpu_s: secs(usage.ru_utime) + secs(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
    })
}

/// One contender of the eval benchmark.
struct Contender {
    name: &'static str,
    argv: Vec<String>,
    /// Target ratio to the Python script (at least), or a wall-time limit.
    target: &'static str,
}

fn eval_argv(analyze: &Path, dataset: &Path, hamming: bool) -> Vec<String> {
    let d = dataset.display().to_string();
    let mut v: Vec<String> = [
        analyze.display().to_string(),
        "eval".into(),
        "--train".into(),
        d.clone(),
        "--train-where".into(),
        "scenario=training".into(),
        "--normal".into(),
        d.clone(),
        "--normal-where".into(),
        "scenario=validation".into(),
        "--anomalous".into(),
        d,
        "--anomalous-where".into(),
        "scenario=attack:*".into(),
    ]
    .into();
    if !hamming {
        v.push("--no-hamming".into());
    }
    v
}

fn eval(share: f64, rounds: usize) -> anyhow::Result<()> {
    let root = workspace_root();
    // The analysis only: no eBPF toolchain involved.
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "analysis",
        "--bin",
        "tracer-analyze",
        "--example",
        "gen_adfa",
    ]))?;
    let release = root.join("target/release");
    let dir = root.join("target/bench-eval");
    let stamp = dir.join("corpus.json");
    let wanted = format!("share={share}");
    let have = std::fs::read_to_string(dir.join("stamp")).unwrap_or_default();
    if have != wanted || !stamp.is_file() {
        std::fs::create_dir_all(&dir)?;
        let out = Command::new(release.join("examples/gen_adfa"))
            .arg(&dir)
            .args(["--share", &share.to_string()])
            .output()
            .context("running gen_adfa")?;
        if !out.status.success() {
            bail!("gen_adfa failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::fs::write(&stamp, &out.stdout)?;
        std::fs::write(dir.join("stamp"), &wanted)?;
    }
    let corpus = std::fs::read_to_string(&stamp)?;
    let analyze = release.join("tracer-analyze");
    let python = root.join("analysis/python/stide_reference.py");
    let contenders = [
        Contender {
            name: "python stide (raw text)",
            argv: vec![
                "python3".into(),
                python.display().to_string(),
                dir.join("ADFA-LD").display().to_string(),
            ],
            target: "",
        },
        Contender {
            name: "eval --no-hamming, runs file",
            argv: eval_argv(&analyze, &dir.join("adfa-runs"), false),
            target: ">= 5x",
        },
        Contender {
            name: "eval (hamming), runs file",
            argv: eval_argv(&analyze, &dir.join("adfa-runs"), true),
            target: "< 5 s",
        },
        Contender {
            name: "eval --no-hamming, file/trace",
            argv: eval_argv(&analyze, &dir.join("adfa"), false),
            target: ">= 5x",
        },
        Contender {
            name: "eval (hamming), file/trace",
            argv: eval_argv(&analyze, &dir.join("adfa"), true),
            target: "< 5 s",
        },
    ];
    let command = |c: &Contender| {
        let mut cmd = Command::new(&c.argv[0]);
        cmd.args(&c.argv[1..]);
        cmd
    };
    println!(
        "stide evaluation, whole-process, {rounds} alternating rounds, medians (machine: {} cores)\ncorpus: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        corpus.trim()
    );
    // Warm the page cache and the binaries once.
    for c in &contenders {
        measure(&mut command(c))?;
    }
    let mut costs: Vec<Vec<Cost>> = vec![Vec::new(); contenders.len()];
    for round in 0..rounds {
        // Rotate the order each round so drift in the machine's load hits every contender.
        for i in 0..contenders.len() {
            let j = (i + round) % contenders.len();
            costs[j].push(measure(&mut command(&contenders[j]))?);
        }
    }
    let med = |v: &[Cost], f: fn(&Cost) -> f64| median(&mut v.iter().map(f).collect::<Vec<_>>());
    let py_wall = med(&costs[0], |c| c.wall_s);
    let py_cpu = med(&costs[0], |c| c.cpu_s);
    println!(
        "{:<32} {:>9} {:>9} {:>10} {:>12} {:>11} {:>8}",
        "contender", "wall", "cpu", "peak RSS", "python/wall", "python/cpu", "target"
    );
    for (c, cost) in contenders.iter().zip(&costs) {
        let (wall, cpu) = (med(cost, |c| c.wall_s), med(cost, |c| c.cpu_s));
        let rss = cost.iter().map(|c| c.max_rss_kib).max().unwrap_or(0);
        println!(
            "{:<32} {:>8.3}s {:>8.3}s {:>7} MiB {:>11.1}x {:>10.1}x {:>8}",
            c.name,
            wall,
            cpu,
            rss / 1024,
            py_wall / wall,
            py_cpu / cpu,
            c.target
        );
    }
    println!(
        "\nreproduce: cargo xtask bench eval --share {share} --rounds {rounds}\n\
         the Python script and the commands: `{}` and `{}`",
        contenders[0].argv.join(" "),
        contenders[2].argv.join(" ")
    );
    Ok(())
}
