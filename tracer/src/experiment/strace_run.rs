//! A run captured by `strace -f` instead of eBPF: the capture tool as a variable of the
//! experiment (ptrace stops the program at every call, which changes the very scheduling that
//! M.R measures).
//!
//! The run is launched exactly as an eBPF run (same schedule, spacing, CPUs, user, timeouts),
//! each command wrapped as `strace -ff -ttt -T -qq -o logs/<run>.strace/t -- COMMAND`, so every
//! process of the run writes its own file of one `-ff` set with absolute times; the set is then
//! ingested as the run (`source = strace`), and kept beside the logs as the raw evidence. The
//! eBPF capture of the wrappers themselves is thrown away.

use std::{ffi::OsString, path::Path};

use tracer_dataset::{Arch, RunInfo};

use super::{ExperimentConfig, ExperimentError, Planned, RunFiles, Scenario, run_config};
use crate::{
    capture::{self, RecordOutcome, Target},
    ingest::{self, strace},
};

/// The folder of a run's strace `-ff` set, relative to the dataset folder.
pub fn strace_dir(files: &RunFiles) -> String {
    format!("{}.strace", files.log.trim_end_matches(".log"))
}

/// Captures planned run `p` under strace and ingests it into the run's files.
pub fn capture(
    config: &ExperimentConfig,
    s: &Scenario,
    p: &Planned,
    jobs: &super::Jobs,
    files: &RunFiles,
    log: &std::sync::Arc<std::fs::File>,
    session: &mut capture::Session,
) -> Result<RecordOutcome, ExperimentError> {
    let run_id = &p.run_id(&s.name);
    let out = &config.output;
    let dir = out.join(strace_dir(files));
    std::fs::create_dir_all(&dir).map_err(super::io_err(&dir))?;
    // strace runs as the commands' user and writes the set there.
    if let Some(c) = &config.creds {
        std::os::unix::fs::chown(&dir, Some(c.uid), Some(c.gid)).map_err(super::io_err(&dir))?;
    }
    let mut record = run_config(config, s, p, jobs, files, run_id, log);
    let prefix = dir.join("t");
    if let Target::Launch { jobs, .. } = &mut record.target {
        for job in jobs {
            let mut argv: Vec<OsString> = ["strace", "-ff", "-ttt", "-T", "-qq", "-o"]
                .iter()
                .map(OsString::from)
                .collect();
            argv.push(prefix.clone().into_os_string());
            argv.push("--".into());
            argv.append(&mut job.argv);
            job.argv = argv;
        }
    }
    // The eBPF capture of the wrappers is scratch.
    let scratch = dir.with_extension("ebpf.parquet");
    record.output = scratch.clone();
    record.output_folders = None;
    record.processes_output = tracer_dataset::layout::processes_path(&scratch);
    // With the experiment's programs: a second set attached during strace runs only would
    // cost every call of theirs a second hook.
    let mut outcome = session
        .run(&record)
        .map_err(|source| ExperimentError::Record {
            run_id: run_id.to_string(),
            source: Box::new(source),
        })?;
    for f in [&record.output, &record.processes_output] {
        let _ = std::fs::remove_file(f);
    }
    let summary = ingest_set(&dir, &record.run, out, files)?;
    outcome.rows = summary.rows;
    outcome.lost = 0;
    outcome.lost_syscalls = 0;
    outcome.processes = summary.processes;
    Ok(outcome)
}

fn ingest_set(
    dir: &Path,
    run: &RunInfo,
    out: &Path,
    files: &RunFiles,
) -> Result<ingest::RunSummary, ExperimentError> {
    let run = RunInfo {
        source: ingest::Format::Strace.source().to_string(),
        ..run.clone()
    };
    let opts = strace::Options {
        table: Arch::native().table(),
        date: None,
        lenient: false,
        pid: None,
    };
    strace::ingest(
        dir,
        run.clone(),
        &out.join(&files.syscalls),
        &out.join(&files.processes),
        &opts,
    )
    .map_err(|source| ExperimentError::StraceIngest {
        run_id: run.run_id,
        source: Box::new(source),
    })
}
