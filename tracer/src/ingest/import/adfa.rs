//! ADFA-LD (Creech and Hu, UNSW 2013): each trace file holds the whitespace-separated i386
//! syscall numbers of one process run, in order. Layout:
//! `Training_Data_Master/UTD-0001.txt`, `Validation_Data_Master/UVD-0001.txt`,
//! `Attack_Data_Master/<Family>_<n>/UAD-<Family>-<n>-<k>.txt`.
//!
//! One run per file, `run_id` = the path below the input folder without `.txt`; `scenario` from
//! the folder: `training`, `validation`, `attack:<family>` (lower case, `_<n>` dropped), or
//! `--scenario`. The table is i386 unless `--arch` says otherwise. No pids or times exist: `pid`
//! and `tid` are 0, `ts_ns` null, `seq` the position in the file.

use std::path::Path;

use tracer_dataset::{RunInfo, SyscallRow, SyscallSink, meta};

use super::{malformed, name_of, read_text, walk};
use crate::ingest::{Arch, IngestConfig, IngestError, Output, RunSummary};

/// The scenario a trace's folder implies.
pub fn scenario_of(rel: &Path) -> Option<String> {
    let mut parts = rel.iter().map(|p| p.to_string_lossy());
    let top = parts.next()?;
    if top.starts_with("Training_Data") {
        Some("training".into())
    } else if top.starts_with("Validation_Data") {
        Some("validation".into())
    } else if top.starts_with("Attack_Data") {
        let dir = parts.next()?;
        let family = match dir.rsplit_once('_') {
            Some((f, n)) if n.bytes().all(|c| c.is_ascii_digit()) => f.to_string(),
            _ => dir.to_string(),
        };
        // The file itself is not a family folder.
        parts.next()?;
        Some(format!("attack:{}", family.to_lowercase()))
    } else {
        None
    }
}

/// Imports every `.txt` trace under `config.input`.
pub fn ingest(config: &IngestConfig) -> Result<Vec<RunSummary>, IngestError> {
    let files = walk(&config.input, &|p| {
        p.extension().is_some_and(|e| e == "txt")
    })?;
    if files.is_empty() {
        return Err(IngestError::Input {
            path: config.input.clone(),
            what: "no ADFA-LD .txt trace files".into(),
        });
    }
    let arch = config.arch.unwrap_or(Arch::X86);
    let table = arch.table();
    let out = Output::new(&config.output, files.len())?;
    let base = if config.input.is_dir() {
        config.input.as_path()
    } else {
        config.input.parent().unwrap_or(Path::new(""))
    };
    let mut runs = Vec::with_capacity(files.len());
    let mut unknown = String::new();
    for path in files {
        let rel = path.strip_prefix(base).unwrap_or(&path);
        let run_id = match (&config.run_id, rel.with_extension("").to_str()) {
            (Some(r), _) => r.clone(),
            (None, Some(r)) => r.to_string(),
            (None, None) => rel.with_extension("").to_string_lossy().into_owned(),
        };
        let run = RunInfo {
            run_id: run_id.clone(),
            source: "adfa-ld".into(),
            scenario: config.scenario.clone().or_else(|| scenario_of(rel)),
            mode: None,
        };
        let (syscalls_path, _) = out.paths(&run_id)?;
        let metadata = vec![
            (meta::ARCH.to_string(), arch.as_str().to_string()),
            (meta::COMMAND_LINE.to_string(), path.display().to_string()),
        ];
        let mut sink = SyscallSink::create(&syscalls_path, run, &metadata)?;
        let text = read_text(&path)?;
        let (mut seq, mut skipped, mut lines) = (0u64, 0u64, 0u64);
        for (i, line) in text.lines().enumerate() {
            lines += 1;
            for tok in line.split_ascii_whitespace() {
                let Ok(nr) = tok.parse::<i64>() else {
                    malformed(
                        config.lenient,
                        &mut skipped,
                        &path,
                        i as u64 + 1,
                        "a syscall number",
                        tok,
                    )?;
                    continue;
                };
                let name = name_of(table, nr, &mut unknown);
                sink.push(&SyscallRow {
                    seq,
                    pid: 0,
                    tid: 0,
                    syscall: if name.is_empty() { &unknown } else { name },
                    nr: i32::try_from(nr).unwrap_or(-1),
                    ..SyscallRow::default()
                })?;
                seq += 1;
            }
        }
        sink.add_metadata(meta::LINES_SKIPPED, skipped.to_string());
        let rows = sink.close()?;
        runs.push(RunSummary {
            run_id,
            syscalls_path,
            processes_path: None,
            rows,
            processes: 0,
            lines,
            lines_skipped: skipped,
            lines_truncated: 0,
        });
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_from_folders() {
        assert_eq!(
            scenario_of(Path::new("Training_Data_Master/UTD-0001.txt")).as_deref(),
            Some("training")
        );
        assert_eq!(
            scenario_of(Path::new("Validation_Data_Master/UVD-0001.txt")).as_deref(),
            Some("validation")
        );
        assert_eq!(
            scenario_of(Path::new(
                "Attack_Data_Master/Hydra_FTP_3/UAD-Hydra-FTP-3-1.txt"
            ))
            .as_deref(),
            Some("attack:hydra_ftp")
        );
        assert_eq!(scenario_of(Path::new("UTD-0001.txt")), None);
    }
}
