//! UNM system-call traces (Forrest, Hofmeyr et al., University of New Mexico): each line is
//! `pid syscall-number`, the processes of one trace interleaved in the order they ran. One run per
//! file; `seq` keeps the file order, so the interleaved view is the file's own; `tid` = `pid`.
//!
//! The traces number calls by the traced system's table (SunOS 4 for the early sets, Linux for
//! later ones); names come from `--arch` (default i386), and `nr` keeps the number as written
//! either way. The processes file lists each pid in order of first appearance (no lineage: the
//! traces carry none).

use tracer_dataset::{ProcessRow, ProcessSink, RunInfo, SyscallRow, SyscallSink, meta};

use super::{malformed, name_of, read_text, walk};
use crate::ingest::{Arch, IngestConfig, IngestError, Output, RunSummary, default_run_id};

/// Imports a UNM trace file, or every file under a folder.
pub fn ingest(config: &IngestConfig) -> Result<Vec<RunSummary>, IngestError> {
    let files = walk(&config.input, &|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    })?;
    let arch = config.arch.unwrap_or(Arch::X86);
    let table = arch.table();
    let out = Output::new(&config.output, files.len())?;
    let mut runs = Vec::with_capacity(files.len());
    let mut unknown = String::new();
    for path in files {
        let run_id = match (&config.run_id, files_one(&config.input)) {
            (Some(r), true) => r.clone(),
            _ => default_run_id(&path),
        };
        let run = RunInfo {
            run_id: run_id.clone(),
            source: "unm".into(),
            scenario: config.scenario.clone(),
            mode: None,
        };
        let (syscalls_path, processes_path) = out.paths(&run_id)?;
        let metadata = vec![
            (meta::ARCH.to_string(), arch.as_str().to_string()),
            (meta::COMMAND_LINE.to_string(), path.display().to_string()),
        ];
        let mut sink = SyscallSink::create(&syscalls_path, run.clone(), &metadata)?;
        let text = read_text(&path)?;
        let (mut seq, mut skipped, mut lines) = (0u64, 0u64, 0u64);
        let mut pids: Vec<i32> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            lines += 1;
            let mut it = line.split_ascii_whitespace();
            let (pid, nr) = match (it.next(), it.next(), it.next()) {
                (None, ..) => continue,
                (Some(p), Some(n), None) => match (p.parse::<i32>(), n.parse::<i64>()) {
                    (Ok(p), Ok(n)) => (p, n),
                    _ => {
                        malformed(
                            config.lenient,
                            &mut skipped,
                            &path,
                            i as u64 + 1,
                            "'PID SYSCALL-NUMBER' (two integers)",
                            line,
                        )?;
                        continue;
                    }
                },
                _ => {
                    malformed(
                        config.lenient,
                        &mut skipped,
                        &path,
                        i as u64 + 1,
                        "'PID SYSCALL-NUMBER' (two integers)",
                        line,
                    )?;
                    continue;
                }
            };
            if !pids.contains(&pid) {
                pids.push(pid);
            }
            let name = name_of(table, nr, &mut unknown);
            sink.push(&SyscallRow {
                seq,
                pid,
                tid: pid,
                syscall: if name.is_empty() { &unknown } else { name },
                nr: i32::try_from(nr).unwrap_or(-1),
                ..SyscallRow::default()
            })?;
            seq += 1;
        }
        sink.add_metadata(meta::LINES_SKIPPED, skipped.to_string());
        let rows = sink.close()?;
        let mut psink = ProcessSink::create(&processes_path, run, &metadata)?;
        for &pid in &pids {
            psink.push(ProcessRow {
                pid,
                ..ProcessRow::default()
            });
        }
        let processes = psink.close()?;
        runs.push(RunSummary {
            run_id,
            syscalls_path,
            processes_path: Some(processes_path),
            rows,
            processes,
            lines,
            lines_skipped: skipped,
            lines_truncated: 0,
        });
    }
    Ok(runs)
}

fn files_one(input: &std::path::Path) -> bool {
    input.is_file()
}
