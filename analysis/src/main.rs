//! `tracer-analyze`: parses the command line, runs the command, prints its output.

use std::{io::Write, process::ExitCode};

use anyhow::Context;
use clap::Parser;

fn run(cli: &analysis::cli::Cli) -> anyhow::Result<String> {
    analysis::cli::execute(cli).context("tracer-analyze failed")
}

fn main() -> ExitCode {
    let cli = analysis::cli::Cli::parse();
    match run(&cli) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                // A closed pipe (`| head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: writing to stdout: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
