//! `tracer recover`: its argument, and what it prints on stderr.

use std::path::PathBuf;

use clap::Args;
use tracer_dataset::outdir::{Access, FsIdentity};

use super::CliError;
use crate::user;

/// `tracer recover`.
#[derive(Debug, Args)]
#[command(after_help = "EXAMPLES:
    tracer recover trace.parquet          the journal .trace.parts beside it becomes trace.parquet
    tracer recover .trace.parts           the same, naming the journal
    tracer recover runs/                  every journal in a dataset folder (experiments, --rotate)

The file is marked syscall_tracer.interrupted=true and syscall_tracer.recovered=true; its loss
counts are those known at the journal's last part. The journal is removed once the files are
in place.")]
pub struct RecoverArgs {
    /// The capture's output file, its journal folder, or a dataset folder.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

/// Runs `tracer recover`: one line per recovered journal on stderr.
pub fn run(args: &RecoverArgs) -> Result<i32, CliError> {
    // Under sudo, the files are the invoking user's, as the capture's would have been.
    let identity = user::invoking_user_from_env().map(|c| FsIdentity::new(c.uid, c.gid, &c.groups));
    let recovered = tracer_dataset::recover::recover(&args.path, &Access::new(identity, false))
        .map_err(|source| CliError::Recover {
            path: args.path.clone(),
            source,
        })?;
    for r in &recovered {
        for bad in &r.unreadable {
            eprintln!("tracer: skipped {}: not readable Parquet", bad.display());
        }
        let lost = r
            .lost
            .map_or_else(|| "losses unknown".to_string(), |n| format!("{n} lost"));
        let processes = if r.processes_found {
            ""
        } else {
            " (no process table had been written: the processes file is empty)"
        };
        eprintln!(
            "tracer: recovered {} events from {} parts ({lost} as of the last part) -> {}, {}{processes}",
            r.rows,
            r.parts,
            r.syscalls.display(),
            r.processes.display(),
        );
    }
    Ok(0)
}
