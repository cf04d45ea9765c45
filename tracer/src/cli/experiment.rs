//! `tracer experiment`: its arguments, their validation into an `ExperimentConfig`, and what
//! it prints: `--print-default` on stdout; the per-run progress lines and the summary on stderr.

use std::{io::Write as _, path::PathBuf};

use clap::Args;

use super::{CliError, parse_bytes, write_stdout};
use crate::{
    experiment::{self, Event, ExperimentConfig, ExperimentError, Spec, spec::DEFAULT_SPEC},
    user,
};

/// `tracer experiment`.
#[derive(Debug, Args)]
#[command(after_help = "EXAMPLES:
    sudo -E tracer experiment                       built-in privilege/recon/baseline set, 5 reps
    sudo -E tracer experiment -s mine.toml --reps 3 -o runs/
    tracer experiment --print-default > mine.toml   start a scenario file from the built-in one

LAYOUT:
    OUT/syscalls/<scenario>-<mode>-<rep>.parquet   one capture per run
    OUT/processes/<scenario>-<mode>-<rep>.parquet  process lineage per run
    OUT/logs/<run>.log                             the commands' own output
    OUT/manifest.json                              spec, host, kernel, per-run exit codes and losses
    OUT/report/index.html                          coverage/mismatch tables and plots")]
pub struct ExperimentArgs {
    /// Scenario file (TOML); default: the built-in set (see --print-default).
    #[arg(short = 's', long = "scenarios", value_name = "FILE")]
    pub scenarios: Option<PathBuf>,

    /// Dataset folder to write.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        default_value = "experiment-out"
    )]
    pub output: PathBuf,

    /// Repetitions per mode (overrides the file).
    #[arg(long, value_name = "N")]
    pub reps: Option<u32>,

    /// Only these scenarios (comma-separated).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Random run order from this seed instead of alternating M.S and M.R (ABAB...).
    #[arg(long, value_name = "SEED")]
    pub shuffle: Option<u64>,

    /// A fixed split instead of the default leave-one-run-out scoring: this share of each
    /// scenario's M.S runs builds the baseline, the rest are held out and scored like the M.R
    /// runs (1 = resubstitution). Default: every M.S run is scored against a baseline of the
    /// scenario's other M.S runs, every M.R run against all of them.
    #[arg(long, value_name = "SHARE")]
    pub train_share: Option<f64>,

    /// Run the commands as USER (default under sudo: the invoking user).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Also record entry times and durations (second kernel hook).
    #[arg(short = 'T', long = "durations")]
    pub durations: bool,

    /// Bytes of the kernel-to-tracer rings per capture, divided among the CPUs.
    #[arg(long = "ring-bytes", value_name = "BYTES", default_value = "8M", value_parser = parse_bytes)]
    pub ring_bytes: u32,

    /// Capture only; skip the comparison and report.
    #[arg(long)]
    pub no_report: bool,

    /// Print the built-in scenario file and exit.
    #[arg(long)]
    pub print_default: bool,
}

impl ExperimentArgs {
    /// Validates the arguments: reads the scenario file, applies `--reps` and `--only`, and
    /// resolves the user the commands run as.
    pub fn to_config(&self) -> Result<ExperimentConfig, ExperimentError> {
        let mut spec = match &self.scenarios {
            Some(p) => Spec::from_file(p)?,
            None => Spec::builtin(),
        };
        if let Some(r) = self.reps {
            spec.reps = r;
            for s in &mut spec.scenarios {
                s.reps = None;
            }
        }
        if !self.only.is_empty() {
            for name in &self.only {
                if !spec.scenarios.iter().any(|s| &s.name == name) {
                    return Err(ExperimentError::UnknownScenario(name.clone()));
                }
            }
            spec.scenarios.retain(|s| self.only.contains(&s.name));
        }
        let creds = user::choose(
            self.user.as_deref(),
            std::env::var("SUDO_UID").ok().as_deref(),
            std::env::var("SUDO_GID").ok().as_deref(),
            std::env::var("SUDO_USER").ok().as_deref(),
        )?;
        Ok(ExperimentConfig {
            spec,
            output: self.output.clone(),
            shuffle: self.shuffle,
            train_share: self.train_share,
            creds,
            files_for: user::invoking_user_from_env(),
            durations: self.durations,
            ring_bytes: self.ring_bytes,
            report: !self.no_report,
            command_line: std::env::args().collect(),
        })
    }
}

/// Runs `tracer experiment` (or prints the built-in scenario file with `--print-default`):
/// one progress line per run and the summary on stderr; exits 130 when interrupted.
pub fn run(args: &ExperimentArgs) -> Result<i32, CliError> {
    if args.print_default {
        write_stdout(DEFAULT_SPEC, "writing to stdout", 0)?;
        return Ok(0);
    }
    let config = args.to_config()?;
    let outcome = experiment::run(&config, &mut show_progress)?;
    eprint!("{}", experiment::summary_text(&outcome));
    Ok(if outcome.manifest.interrupted { 130 } else { 0 })
}

/// Prints an experiment's progress on stderr: a line per skipped command, and per run a line
/// started before the capture and ended after it.
fn show_progress(event: Event<'_>) {
    match event {
        Event::Skipping(sk) => eprintln!(
            "tracer experiment: skipping `{}` in {}: {}",
            sk.command, sk.scenario, sk.reason
        ),
        Event::RunSkipped { position, run_id } => eprintln!(
            "[{:>3}/{}] {run_id}: every command is missing here, skipped",
            position.n, position.total
        ),
        Event::RunStarting {
            position,
            scenario,
            mode,
            rep,
            reps,
        } => {
            eprint!(
                "[{:>3}/{}] {:<12} {} rep {}/{} ... ",
                position.n,
                position.total,
                scenario,
                mode,
                rep + 1,
                reps
            );
            let _ = std::io::stderr().flush();
        }
        Event::RunDone {
            outcome,
            events_so_far,
            elapsed,
        } => eprintln!(
            "{} events, {} lost, {} processes, {:.2} s (total {} events, {:.0} s)",
            outcome.rows,
            outcome.lost,
            outcome.processes,
            outcome.wall.as_secs_f64(),
            events_so_far,
            elapsed.as_secs_f64()
        ),
        Event::Interrupted => {
            eprintln!("tracer experiment: interrupted; the runs so far are kept");
        }
        Event::Reporting => {
            eprintln!("tracer experiment: comparing M.S and M.R and writing the report ...");
        }
    }
}
