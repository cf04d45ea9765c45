//! The `tracer` binary: parse arguments, run, map errors to exit codes.

use std::{io, process::ExitCode};

use clap::Parser as _;
use tracer::cli::{self, Cli};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(status) => exit(status),
        // The reader of stdout went away (`tracer parity ... | head`): not an error.
        Err(err) if broken_pipe(&err) => exit(err.quiet_exit_code()),
        Err(err) => {
            let status = err.exit_code();
            eprintln!("tracer: {:#}", anyhow::Error::from(err));
            exit(status)
        }
    }
}

/// True when the error's source chain holds a broken pipe.
fn broken_pipe(err: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(err), |e| e.source()).any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn exit(status: i32) -> ExitCode {
    ExitCode::from(status.clamp(0, 255) as u8)
}
