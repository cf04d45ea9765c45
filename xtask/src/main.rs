//! Project automation: `cargo xtask setup | build-ebpf | test | demo | bench <what>`.
//!
//! Every command that needs the eBPF toolchain runs `setup` first, so a fresh machine needs
//! nothing typed but the command itself.

mod bench;
mod capture_bench;
mod kernels;
mod setup;
mod sql_bench;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "syscall-tracer project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install what the build needs (idempotent): nightly rust-src, llvm-22-dev, bpf-linker,
    /// strace, headless Chromium, QEMU, a headless JRE, and the Python readers (duckdb, polars,
    /// pyspark) the tests use.
    Setup,
    /// Build the eBPF object (through tracer/build.rs) and the tracer.
    BuildEbpf,
    /// Setup, build, and run the whole test suite, live kernel tests included (needs root),
    /// then the kernel matrix (the live capture checks on Debian's 5.10, 6.1 and 6.12 cloud
    /// kernels in QEMU).
    Test {
        #[command(flatten)]
        kernels: kernels::KernelArgs,
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// The main job: run the default M.S/M.R experiment (20 repetitions per mode, and a small
    /// M.R sweep) under capture and write the dataset and report into ./demo-out.
    Demo {
        /// Repetitions per mode.
        #[arg(long, default_value_t = 20)]
        reps: u32,
        /// Output folder.
        #[arg(long, default_value = "demo-out")]
        out: PathBuf,
    },
    /// Benchmarks, printing ratios measured side by side in one run.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCmd,
    },
}

/// The workspace root (xtask's parent).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs a command in the workspace root, failing with its name if it fails.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} failed: {status}");
    }
    Ok(())
}

/// Tests passed, failed and skipped, summed over test binaries and the kernel matrix.
#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Runs `cargo test`, echoing its output, and adds every test binary's counts to `totals`;
/// `Ok(false)` if it failed.
fn test_with_totals(cmd: &mut Command, totals: &mut Totals) -> anyhow::Result<bool> {
    use std::io::{BufRead as _, BufReader};
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .current_dir(workspace_root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let stdout = child.stdout.take().context("cargo test stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(label), Some(n)) = (words.next(), words.next()) else {
                    continue;
                };
                let n: u64 = n.parse().unwrap_or(0);
                match label {
                    "passed" => totals.passed += n,
                    "failed" => totals.failed += n,
                    "ignored" => totals.ignored += n,
                    _ => {}
                }
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        eprintln!("xtask: {shown} failed: {status}");
    }
    Ok(status.success())
}

/// `cargo xtask test`: the cargo test suite unless `--kernels` asks for the matrix alone, then
/// the kernel matrix unless `--no-kernels`; ends with one line totalling both
/// (`tests: N passed, N failed, N skipped`), so a reader of the log sees the whole count last.
fn test(kernel_args: &kernels::KernelArgs, args: &[String]) -> anyhow::Result<()> {
    setup::setup()?;
    let mut totals = Totals::default();
    let mut failures = Vec::new();
    if kernel_args.kernels.is_none() {
        // The end-to-end tests run the binaries; build them first (debug, as the tests).
        run(cargo().args(["build", "--workspace", "--exclude", "tracer-ebpf", "--bins"]))?;
        let mut cmd = cargo();
        cmd.args([
            "test",
            "--workspace",
            "--exclude",
            "tracer-ebpf",
            "--no-fail-fast",
        ]);
        if !args.is_empty() {
            cmd.arg("--").args(args);
        }
        if !test_with_totals(&mut cmd, &mut totals)? {
            failures.push("cargo test failed".to_string());
        }
    }
    if !kernel_args.no_kernels {
        let list = kernel_args.kernels.as_deref().unwrap_or("all");
        let suites = kernels::parse_kernels(list)?;
        let command = format!("cargo xtask test --kernels {}", suites.join(","));
        let matrix = kernels::run_matrix(&suites, kernel_args, &command)?;
        totals.passed += matrix.passed() as u64;
        totals.failed += matrix.failed() as u64;
        failures.extend(matrix.failures());
    }
    println!(
        "tests: {} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    match failures.as_slice() {
        [] => Ok(()),
        [one] => bail!("{one}"),
        [first, rest @ ..] => bail!("{first}\n(and {} more failures, listed above)", rest.len()),
    }
}

/// `cargo`, with the eBPF object required: the project's own commands never fall back to
/// tracer/build.rs's stub mode (a missing toolchain is an error, after `setup` ran).
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.env("TRACER_EBPF_REQUIRE", "1");
    cmd
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Setup => setup::setup(),
        Cmd::BuildEbpf => {
            setup::setup()?;
            run(cargo().args(["build", "-p", "tracer"]))
        }
        Cmd::Test { kernels, args } => test(&kernels, &args),
        Cmd::Demo { reps, out } => {
            setup::setup()?;
            run(cargo().args(["build", "--release", "-p", "tracer"]))?;
            let tracer = workspace_root().join("target/release/tracer");
            run(Command::new(tracer)
                .args(["experiment", "--reps", &reps.to_string(), "-o"])
                .arg(&out))
        }
        Cmd::Bench { what } => bench::run_bench(what),
    }
}
