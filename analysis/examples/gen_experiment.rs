//! Writes a synthetic M.S/M.R experiment shaped like the demo's (`analysis::synth`: recon with
//! multi-threaded commands, privilege) as a dataset folder, and prints its counts as JSON. The
//! data of `cargo xtask bench sql`.
//!
//! Usage: cargo run --release -p analysis --example gen_experiment -- DIR [--reps N]
//!        [--calls-per-thread N]
//!   DIR/syscalls/<scenario>-<mode>-<rep>.parquet
//!   --reps N               repetitions per scenario and mode (default 10)
//!   --calls-per-thread N   calls of each thread (default 2000)

use std::path::PathBuf;

use analysis::synth::{self, ExperimentSpec, ScenarioSpec};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut reps = 10;
    let mut calls_per_thread = 2000;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().unwrap_or_default().parse()?,
            "--calls-per-thread" => calls_per_thread = args.next().unwrap_or_default().parse()?,
            "-h" | "--help" => {
                println!("see the doc comment of analysis/examples/gen_experiment.rs");
                return Ok(());
            }
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.ok_or_else(|| anyhow::anyhow!("usage: gen_experiment DIR [--reps N]"))?;
    let spec = ExperimentSpec {
        scenarios: vec![
            ScenarioSpec {
                threads: 2,
                calls_per_thread,
                ..ScenarioSpec::recon()
            },
            ScenarioSpec {
                calls_per_thread: calls_per_thread * 3 / 2,
                ..ScenarioSpec::privilege()
            },
        ],
        reps,
        ..Default::default()
    };
    let sys = dir.join("syscalls");
    if sys.exists() {
        std::fs::remove_dir_all(&sys)?;
    }
    let files = synth::write_experiment(&dir, &spec)?;
    let threads: usize = spec
        .scenarios
        .iter()
        .map(|s| s.commands * s.threads * s.calls_per_thread)
        .sum();
    let rows = threads * spec.modes.len() * reps;
    println!(
        "{}",
        serde_json::json!({ "runs": files.len(), "rows": rows, "reps": reps, "calls_per_thread": calls_per_thread })
    );
    Ok(())
}
