//! The `tracer` binary: parse arguments, run, map errors to exit codes.

use std::{io::Write as _, process::ExitCode};

use anyhow::Context as _;
use clap::Parser as _;
use tracer::cli::{Cli, Command};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => {
            eprintln!("tracer: {err:#}");
            let code = err
                .downcast_ref::<tracer::capture::RecordError>()
                .and_then(|e| match e {
                    tracer::capture::RecordError::Launch(l) => Some(l.exit_code()),
                    _ => None,
                })
                .unwrap_or(1);
            ExitCode::from(code as u8)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Record(args) => {
            let config = args.to_config()?;
            let outcome = tracer::capture::run(&config)
                .with_context(|| format!("recording into {}", config.output.display()))?;
            if args.summary {
                eprint!("{}", outcome.summary_table());
            }
            if !args.quiet {
                eprintln!("{}", outcome.summary_line(&config.output));
                if outcome.lost > 0 {
                    eprintln!(
                        "tracer: warning: {} events were lost (ring buffer full); the file records \
                         the count. Try a larger --ring-bytes.",
                        outcome.lost
                    );
                }
            }
            Ok(outcome.exit_code)
        }
        Command::Experiment(args) => {
            if args.print_default {
                let mut out = std::io::stdout().lock();
                match out.write_all(tracer::experiment::spec::DEFAULT_SPEC.as_bytes()) {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                        return Err(e).context("writing to stdout");
                    }
                    _ => return Ok(0),
                }
            }
            let outcome = tracer::experiment::run(&args)?;
            eprint!("{}", tracer::experiment::summary_text(&outcome));
            Ok(if outcome.manifest.interrupted { 130 } else { 0 })
        }
        Command::Ingest(args) => {
            let summary = tracer::ingest::run(&args)?;
            eprint!("{summary}");
            Ok(0)
        }
        Command::Parity(args) => {
            let outcome = tracer::parity::run(&args)?;
            Ok(outcome.exit_code())
        }
    }
}
