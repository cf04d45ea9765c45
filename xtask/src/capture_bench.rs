//! `cargo xtask bench capture`: what a user waits for and what the workload feels, side by side.
//!
//! Every workload runs untraced and under each contender, in alternating rounds (so machine
//! noise hits all of them), and reports medians in two views:
//! - **whole-process**: wall time, CPU time (user + system of the whole process tree, from
//!   `wait4`'s rusage) and peak RSS (the largest process of the tree, as `/usr/bin/time` shows it)
//!   of the command the user types;
//! - **in-process**: the workload's own time, printed by it (`key=<ns>` on stderr).
//!
//! The targets are judged on paired ratios: each round's traced time over the same round's
//! untraced time, the median over rounds. On a shared machine the untraced run's own time moves
//! between rounds (the storm: 0.34 s in one run, 0.49 s in another) more than the tracer's
//! added time does, and the ratio of two medians carries both movements.
//!
//! Contenders: `tracer record`, `tracer record -T`, Debian's `perf trace -o` and `strace -f -o`
//! (installed here from Debian's packages), and `bpftrace` printing every call of the storm to a
//! file, with the share of calls it lost.
//!
//! One more row, `tracer hook`, is the floor of any tracer built on the syscall tracepoints:
//! the same programs attached and following the workload, with every call filtered out
//! (`-e trace=vhangup`, a call none of the workloads makes). Once anything is attached there,
//! every syscall on the machine takes the kernel's slow path into the tracepoint; that row
//! measures it, and the tracer's added time is split into it and what recording adds. The
//! ratio of the tracer to the hook, round by round, is the cost of recording itself: both runs
//! are traced, so it moves much less with the machine's state than either ratio to the
//! untraced run does.
//!
//! And `tracer no-clock`, the tracer with its bench hook `TRACER_TEST_NO_CLOCK=1`: the exit
//! hook records every call as usual but skips the clock read that stamps the row (`ts_ns` is
//! 0). Tracer over it is what that read costs; it over the hook is the rest of recording.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context as _, bail};

use crate::{cargo, run, setup, workspace_root};

/// One measured run.
#[derive(Clone, Debug, Default)]
struct Sample {
    wall_s: f64,
    cpu_s: f64,
    rss_mib: f64,
    /// The workload's own time, when it printed one.
    inproc_s: Option<f64>,
    stderr: String,
}

/// Runs `cmd` to completion, timing it and collecting the whole tree's rusage.
fn measure(cmd: &mut Command, key: Option<&str>) -> anyhow::Result<Sample> {
    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let mut pipe = child.stderr.take().context("stderr")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, with valid pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall_s = started.elapsed().as_secs_f64();
    if pid < 0 {
        bail!("waiting for {shown}: {}", std::io::Error::last_os_error());
    }
    let stderr = reader.join().unwrap_or_default();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{shown} failed (wait status {status}): {stderr}");
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let inproc_s = match key {
        Some(k) => Some(
            stderr
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .with_context(|| format!("{shown} printed no {k}=: {stderr}"))?
                .trim()
                .parse::<f64>()?
                / 1e9,
        ),
        None => None,
    };
    Ok(Sample {
        wall_s,
        cpu_s: tv(usage.ru_utime) + tv(usage.ru_stime),
        rss_mib: usage.ru_maxrss as f64 / 1024.0,
        inproc_s,
        stderr,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    crate::bench::median(&mut v)
}

/// "tracer: N events, M lost, ..." -> M.
fn tracer_lost(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|l| {
        let rest = l.strip_prefix("tracer: ")?;
        rest.split(", ").nth(1)?.strip_suffix(" lost")?.parse().ok()
    })
}

/// A workload: its command line, the `key=` it prints, and the targets of the tracer on it.
struct Workload {
    name: String,
    argv: Vec<String>,
    key: Option<&'static str>,
    /// Whole-process wall ratio target (or absolute seconds for start-up).
    whole_target: Option<f64>,
    inproc_target: Option<f64>,
}

/// The name of the floor row (see the module's documentation).
const HOOK: &str = "tracer hook";

/// The tracer with the exit hook's clock read skipped (see the module's documentation).
const NO_CLOCK: &str = "tracer no-clock";

/// tracer's bench hook (`probe::TEST_NO_CLOCK_ENV`): rows recorded without the clock read.
const NO_CLOCK_ENV: &str = "TRACER_TEST_NO_CLOCK";

/// A way to run a workload.
struct Contender {
    name: &'static str,
    prefix: Vec<String>,
    /// An environment variable set for this contender only.
    env: Option<(&'static str, &'static str)>,
}

/// Debian's perf: older packages install `perf_<major>.<minor>` behind a wrapper that insists on
/// the running kernel's version (take the newest real binary); newer ones (linux-perf 6.1.1xx)
/// install the real binary as `/usr/bin/perf` itself.
pub fn perf_binary() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/bin")
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("perf_"))
        })
        .collect();
    found.sort();
    found.pop().or_else(|| {
        let plain = PathBuf::from("/usr/bin/perf");
        Command::new(&plain)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            .then_some(plain)
    })
}

/// perf trace and bpftrace need tracefs (a fresh machine has none mounted).
fn mount_tracefs() {
    if !Path::new("/sys/kernel/tracing/events").exists() {
        let _ = Command::new("mount")
            .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
            .status();
    }
}

fn workloads(root: &Path, storm: &Path, calls: u64) -> Vec<Workload> {
    let tree = if Path::new("/usr/include").is_dir() {
        "/usr/include"
    } else {
        "/usr/share"
    };
    let sh = |script: String| vec!["sh".to_string(), "-c".to_string(), script];
    vec![
        Workload {
            name: "true (start-up)".into(),
            argv: vec!["true".into()],
            key: None,
            whole_target: Some(0.040),
            inproc_target: None,
        },
        Workload {
            name: format!("getppid storm x{calls}"),
            argv: vec![storm.display().to_string(), calls.to_string()],
            key: Some("storm_ns"),
            whole_target: Some(2.8),
            inproc_target: Some(2.3),
        },
        Workload {
            name: format!("walk+read {tree}"),
            argv: sh(format!(
                "a=$(date +%s%N); find {tree} -type f -exec cat {{}} + >/dev/null; \
                 b=$(date +%s%N); echo work_ns=$((b-a)) >&2"
            )),
            key: Some("work_ns"),
            whole_target: Some(1.3),
            inproc_target: Some(1.10),
        },
        Workload {
            name: "build: cc -O2 storm.c x5".into(),
            argv: sh(format!(
                "a=$(date +%s%N); for i in 1 2 3 4 5; do cc -O2 -c -o /dev/null {}; done; \
                 b=$(date +%s%N); echo work_ns=$((b-a)) >&2",
                root.join("tests/data/programs/storm.c").display()
            )),
            key: Some("work_ns"),
            whole_target: None,
            // No ratio target on the build; like every workload, it must be ahead of perf trace.
            inproc_target: None,
        },
    ]
}

fn contenders(
    tracer: &Path,
    baseline: Option<&Path>,
    out: &Path,
    no_strace: bool,
) -> Vec<Contender> {
    let o = out.display().to_string();
    let t = tracer.display().to_string();
    let mut c = Vec::new();
    if let Some(b) = baseline {
        c.push(Contender {
            name: "tracer (base)",
            prefix: vec![
                b.display().to_string(),
                "record".into(),
                "-o".into(),
                o.clone(),
                "--".into(),
            ],
            env: None,
        });
    }
    c.extend([
        Contender {
            name: "tracer",
            prefix: vec![
                t.clone(),
                "record".into(),
                "-o".into(),
                o.clone(),
                "--".into(),
            ],
            env: None,
        },
        Contender {
            name: HOOK,
            prefix: vec![
                t.clone(),
                "record".into(),
                "-e".into(),
                "trace=vhangup".into(),
                "-o".into(),
                o.clone(),
                "--".into(),
            ],
            env: None,
        },
        Contender {
            name: NO_CLOCK,
            prefix: vec![
                t.clone(),
                "record".into(),
                "-o".into(),
                o.clone(),
                "--".into(),
            ],
            env: Some((NO_CLOCK_ENV, "1")),
        },
        Contender {
            name: "tracer -T",
            prefix: vec![
                t,
                "record".into(),
                "-T".into(),
                "-o".into(),
                o.clone(),
                "--".into(),
            ],
            env: None,
        },
    ]);
    if let Some(perf) = perf_binary() {
        c.push(Contender {
            name: "perf trace",
            prefix: vec![
                perf.display().to_string(),
                "trace".into(),
                "-o".into(),
                format!("{o}.perf.txt"),
                "--".into(),
            ],
            env: None,
        });
    }
    if !no_strace {
        c.push(Contender {
            name: "strace -f",
            prefix: vec![
                "strace".into(),
                "-f".into(),
                "-o".into(),
                format!("{o}.strace.txt"),
                "--".into(),
            ],
            env: None,
        });
    }
    c
}

/// Medians of one contender on one workload.
#[derive(Debug, Default)]
struct Row {
    wall: f64,
    cpu: f64,
    rss: f64,
    inproc: Option<f64>,
    lost: u64,
    /// Median over rounds of this round's wall time over the untraced run's of the same round
    /// (1 for the untraced row): the machine's drift between rounds cancels out of it.
    paired_wall: f64,
    /// The same for the in-process time.
    paired_inproc: Option<f64>,
    /// First and third quartiles of the per-round in-process ratios: how far the machine's
    /// noise spreads them.
    paired_inproc_iqr: Option<(f64, f64)>,
    /// Each round's in-process time (`None` where the workload printed none), in round order.
    inproc_rounds: Vec<Option<f64>>,
}

/// First and third quartiles of `v` (linear interpolation between order statistics).
fn quartiles(mut v: Vec<f64>) -> Option<(f64, f64)> {
    if v.len() < 2 {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let x = q * (v.len() - 1) as f64;
        let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (x - lo as f64)
    };
    Some((at(0.25), at(0.75)))
}

fn summarize(samples: &[Sample], untraced: &[Sample], lost: u64) -> Row {
    let inproc: Vec<f64> = samples.iter().filter_map(|s| s.inproc_s).collect();
    let pairs = || samples.iter().zip(untraced);
    let paired_inproc: Vec<f64> = pairs()
        .filter_map(|(s, u)| s.inproc_s.zip(u.inproc_s).filter(|&(_, b)| b > 0.0))
        .map(|(a, b)| a / b)
        .collect();
    Row {
        wall: median(samples.iter().map(|s| s.wall_s).collect()),
        cpu: median(samples.iter().map(|s| s.cpu_s).collect()),
        rss: median(samples.iter().map(|s| s.rss_mib).collect()),
        inproc: (!inproc.is_empty()).then(|| median(inproc)),
        lost,
        paired_wall: median(pairs().map(|(s, u)| s.wall_s / u.wall_s).collect()),
        paired_inproc_iqr: quartiles(paired_inproc.clone()),
        inproc_rounds: samples.iter().map(|s| s.inproc_s).collect(),
        paired_inproc: (!paired_inproc.is_empty()).then(|| median(paired_inproc)),
    }
}

/// Runs `w` untraced and under each contender for `rounds` alternating rounds.
fn bench_workload(w: &Workload, cs: &[Contender], rounds: usize) -> anyhow::Result<Vec<Row>> {
    let cmd = |prefix: &[String], env: Option<(&str, &str)>| {
        let argv: Vec<&String> = prefix.iter().chain(&w.argv).collect();
        let mut c = Command::new(argv[0]);
        c.args(&argv[1..]);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        c
    };
    // Warm the page cache and the binaries once.
    let _ = measure(&mut cmd(&[], None), w.key);
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); cs.len() + 1];
    let mut lost = vec![0u64; cs.len() + 1];
    for _ in 0..rounds {
        samples[0].push(measure(&mut cmd(&[], None), w.key)?);
        for (i, c) in cs.iter().enumerate() {
            // strace stops the program twice per call: one round is enough to see its cost.
            if c.name == "strace -f" && samples[i + 1].len() == 1 {
                continue;
            }
            let s = measure(&mut cmd(&c.prefix, c.env), w.key)?;
            if c.name.starts_with("tracer") {
                // No summary line: counted as a loss too large to pass for a real one.
                lost[i + 1] = lost[i + 1].saturating_add(tracer_lost(&s.stderr).unwrap_or(1 << 40));
            }
            samples[i + 1].push(s);
        }
    }
    Ok(samples
        .iter()
        .zip(lost)
        .map(|(s, l)| summarize(s, &samples[0], l))
        .collect())
}

/// bpftrace printing every getppid of the storm into a file: its time and the calls it lost.
fn bpftrace_storm(storm: &Path, calls: u64, out: &Path) -> anyhow::Result<Option<(Sample, u64)>> {
    if Command::new("bpftrace").arg("--version").output().is_err() {
        return Ok(None);
    }
    let file = out.with_extension("bpftrace.txt");
    let program = "tracepoint:syscalls:sys_exit_getppid /pid == cpid/ { printf(\"%d %d\\n\", tid, args->ret); }";
    let s = measure(
        Command::new("bpftrace")
            .args(["-q", "-o"])
            .arg(&file)
            .args(["-e", program, "-c"])
            .arg(format!("{} {calls}", storm.display())),
        Some("storm_ns"),
    )?;
    let lines = std::fs::read_to_string(&file)
        .map(|t| t.lines().filter(|l| !l.is_empty()).count() as u64)
        .unwrap_or(0);
    Ok(Some((s, calls.saturating_sub(lines))))
}

/// The median and quartiles over rounds of `a`'s in-process time over `b`'s in the same round.
fn paired_over(a: &Row, b: &Row) -> Option<(f64, (f64, f64))> {
    let over: Vec<f64> = a
        .inproc_rounds
        .iter()
        .zip(&b.inproc_rounds)
        .filter_map(|(a, b)| a.zip(*b).filter(|&(_, b)| b > 0.0))
        .map(|(a, b)| a / b)
        .collect();
    let q = quartiles(over.clone())?;
    Some((median(over), q))
}

/// The row of the baseline tracer, if one is measured.
fn names_rows_base<'a>(cs: &[Contender], rows: &'a [Row]) -> Option<&'a Row> {
    cs.iter()
        .position(|c| c.name == "tracer (base)")
        .map(|i| &rows[i + 1])
}

fn print_tables(w: &Workload, cs: &[Contender], rows: &[Row]) -> bool {
    let base = &rows[0];
    let mut missed = false;
    println!("\n{}", w.name);
    println!(
        "  {:<15} {:>9} {:>7} {:>8} {:>9} {:>10} {:>7} {:>10}",
        "", "wall", "ratio", "CPU", "peak RSS", "in-process", "ratio", "lost"
    );
    let names = std::iter::once("untraced").chain(cs.iter().map(|c| c.name));
    for (name, r) in names.zip(rows) {
        let ratio = r.wall / base.wall;
        let inproc = r.inproc.zip(base.inproc).map(|(a, b)| a / b);
        println!(
            "  {:<15} {:>8.3}s {:>7.2} {:>7.3}s {:>6.1}MiB {:>10} {:>7} {:>10}",
            name,
            r.wall,
            ratio,
            r.cpu,
            r.rss,
            r.inproc.map_or("-".into(), |v| format!("{v:.3}s")),
            inproc.map_or("-".into(), |v| format!("{v:.2}")),
            if name.starts_with("tracer") {
                r.lost.to_string()
            } else {
                "-".into()
            }
        );
        if name == "tracer" {
            if let Some(b) = names_rows_base(cs, rows) {
                println!(
                    "  tracer vs tracer (base): wall {:.3}x, peak RSS {:.2}x",
                    r.wall / b.wall,
                    r.rss / b.rss
                );
            }
            // Targets are judged on the paired ratios: on a shared machine the untraced time
            // moves between rounds as much as the tracer's cost does.
            println!(
                "  tracer, paired (median of per-round ratios to the untraced run): wall {:.2}x{}",
                r.paired_wall,
                r.paired_inproc.map_or(String::new(), |v| format!(
                    ", in-process {v:.2}x{}",
                    r.paired_inproc_iqr
                        .map_or(String::new(), |(a, b)| format!(" (IQR {a:.2}-{b:.2})"))
                ))
            );
            let hook = cs.iter().position(|c| c.name == HOOK).map(|i| &rows[i + 1]);
            if let Some((t, h)) = r
                .paired_inproc
                .zip(hook.and_then(|h| h.paired_inproc))
                .filter(|&(t, _)| t > 1.0)
            {
                let hook_share = ((h - 1.0) / (t - 1.0)).clamp(0.0, 1.0);
                println!(
                    "  of the tracer's added in-process time (from the paired medians): the hook \
                     itself {:.0}% \
                     ({h:.2}x), recording {:.0}%",
                    hook_share * 100.0,
                    (1.0 - hook_share) * 100.0
                );
            }
            // What recording costs over the kernel's own hook, round by round: both runs are
            // traced, so the machine's state of the moment (which moves the hook's own ratio
            // by a fifth between hours here) weighs on both alike.
            if let Some((m, (a, b))) = hook.and_then(|h| paired_over(r, h)) {
                println!(
                    "  recording over the hook (tracer / tracer hook, paired in-process): \
                     {m:.2}x (IQR {a:.2}-{b:.2})"
                );
            }
            // Recording's cost split in two: the clock read that stamps each row, and the rest
            // (the checks past the filter, the record's stores, the ring's head).
            let no_clock = cs
                .iter()
                .position(|c| c.name == NO_CLOCK)
                .map(|i| &rows[i + 1]);
            if let Some(((m, (a, b)), (n, (c, d)))) =
                no_clock.and_then(|n| paired_over(r, n).zip(hook.and_then(|h| paired_over(n, h))))
            {
                println!(
                    "  of which the clock read (tracer / tracer no-clock): {m:.2}x (IQR \
                     {a:.2}-{b:.2}), and the rest (tracer no-clock / tracer hook): {n:.2}x (IQR \
                     {c:.2}-{d:.2})"
                );
            }
            let whole_ok = match (w.whole_target, w.key) {
                (Some(t), None) => r.wall <= t,
                (Some(t), Some(_)) => r.paired_wall <= t,
                (None, _) => true,
            };
            let inproc_ok = w
                .inproc_target
                .is_none_or(|t| r.paired_inproc.is_some_and(|v| v <= t));
            missed |= !whole_ok || !inproc_ok || r.lost > 0;
            println!(
                "  targets: whole-process {} {}, in-process {} {}, lost 0 {}",
                w.whole_target.map_or("-".into(), |t| if w.key.is_none() {
                    format!("<= {:.0} ms", t * 1e3)
                } else {
                    format!("<= {t}x")
                }),
                if whole_ok { "met" } else { "MISSED" },
                w.inproc_target.map_or("-".into(), |t| format!("<= {t}x")),
                if inproc_ok { "met" } else { "MISSED" },
                if r.lost == 0 { "met" } else { "MISSED" },
            );
        }
    }
    let tracer = cs
        .iter()
        .position(|c| c.name == "tracer")
        .map(|i| &rows[i + 1]);
    for (c, r) in cs.iter().zip(&rows[1..]) {
        if let (Some(t), "perf trace") = (tracer, c.name) {
            let ahead = t.wall < r.wall;
            missed |= !ahead;
            println!(
                "  tracer vs perf trace: {:.1}x less wall time (target: ahead of perf trace {})",
                r.wall / t.wall,
                if ahead { "met" } else { "MISSED" }
            );
        }
    }
    missed
}

/// Runs the capture benchmark.
pub fn capture(
    calls: u64,
    rounds: usize,
    no_strace: bool,
    baseline: Option<&Path>,
) -> anyhow::Result<()> {
    setup::setup()?;
    setup::bench_peers()?;
    mount_tracefs();
    run(cargo().args(["build", "--release", "-p", "tracer"]))?;
    let root = workspace_root();
    let tracer = root.join("target/release/tracer");
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let storm = dir.join("storm");
    run(Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&storm)
        .arg(root.join("tests/data/programs/storm.c")))?;
    let out = dir.join("capture.parquet");
    let cs = contenders(&tracer, baseline, &out, no_strace);
    println!(
        "capture cost, {rounds} alternating rounds, medians ({} cores); whole-process: wall, CPU \
         (user+sys of the tree), peak RSS; in-process: the workload's own time",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut missed = false;
    for w in workloads(&root, &storm, calls) {
        let rows = bench_workload(&w, &cs, rounds)?;
        missed |= print_tables(&w, &cs, &rows);
    }
    if let Some((s, lost)) = bpftrace_storm(&storm, calls, &out)? {
        println!(
            "\nbpftrace printf of every getppid to a file: wall {:.3}s, peak RSS {:.1} MiB, in-process {:.3}s, lost {lost} of {calls} calls ({:.0}%)",
            s.wall_s,
            s.rss_mib,
            s.inproc_s.unwrap_or(f64::NAN),
            lost as f64 * 100.0 / calls as f64
        );
    }
    println!(
        "\nreproduce: cargo xtask bench capture --calls {calls} --rounds {rounds}{}",
        if no_strace { " --no-strace" } else { "" }
    );
    if missed {
        println!("NOTE: a target was missed in this run (marked MISSED above)");
    }
    Ok(())
}
