//! ADFA-LD (Creech and Hu, UNSW 2013), as distributed: the folder `ADFA-LD/` (or `ADFA-LD.zip`
//! holding it) with `ADFA-LD+Syscall+List.txt` (the i386 syscall list, a C header) at its root,
//! beside `Training_Data_Master/UTD-0001.txt`, `Validation_Data_Master/UVD-0001.txt` and
//! `Attack_Data_Master/<Family>_<n>/UAD-<Family>-<n>-<k>.txt`. Each trace file holds the
//! whitespace-separated i386 syscall numbers of one process run, in order.
//!
//! A trace is a `.txt` file directly in a training or validation folder, or in a family folder
//! of the attack folder; every other file (the syscall list, READMEs) is skipped and counted.
//! `run_id` is the path from the data folder without `.txt` (`Training_Data_Master/UTD-0001`),
//! the same for the folder and the archive. Labels: split `training`, `validation`, or `test`
//! for attacks; `scenario` `training`, `validation`, `attack:<family>` (lower case, `_<n>`
//! dropped: `attack:hydra_ftp`), or `--scenario`. The table is i386 unless `--arch` says
//! otherwise. No pids or times exist: `pid` and `tid` are 0, `ts_ns` null, `seq` the position
//! in the file. A file named on its own is read as one trace.

use std::path::Path;

use tracer_dataset::{
    SyscallRow,
    schema::value::{ATTACK, ATTACK_SCENARIO_PREFIX, NORMAL, TEST, TRAINING, VALIDATION},
};

use super::{
    Imported, Setup, Skipped, Trace, TraceRead, base_metadata, for_each_line, import, labels,
    malformed, name_of, tree::Tree,
};
use crate::ingest::{Arch, Format, IngestConfig, IngestError, Progress};

/// The data folders of the distribution and their split.
const DATA_FOLDERS: [(&str, &str); 3] = [
    ("Training_Data", TRAINING),
    ("Validation_Data", VALIDATION),
    ("Attack_Data", TEST),
];

/// The scenario a trace's path implies, `rel` starting at its data folder
/// (`Attack_Data_Master/Hydra_FTP_3/UAD-Hydra-FTP-3-1.txt` -> `attack:hydra_ftp`).
pub fn scenario_of(rel: &Path) -> Option<String> {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    classify(&parts).map(|(_, scenario, _)| scenario)
}

/// Split, scenario and attack family of a trace at `parts` (starting at its data folder);
/// `None` when the path is not where the distribution keeps traces.
fn classify(parts: &[&str]) -> Option<(&'static str, String, Option<String>)> {
    let (_, split) = DATA_FOLDERS
        .iter()
        .find(|(prefix, _)| parts.first().is_some_and(|p| p.starts_with(prefix)))?;
    let is_txt = |name: &str| name.to_ascii_lowercase().ends_with(".txt");
    match (*split, parts) {
        (TEST, [_, dir, file]) if is_txt(file) => {
            let family = match dir.rsplit_once('_') {
                Some((f, n)) if n.bytes().all(|c| c.is_ascii_digit()) => f,
                _ => dir,
            }
            .to_lowercase();
            Some((
                TEST,
                format!("{ATTACK_SCENARIO_PREFIX}{family}"),
                Some(family),
            ))
        }
        (TEST, _) => None,
        (split, [_, file]) if is_txt(file) => Some((split, split.to_string(), None)),
        _ => None,
    }
}

/// Finds the traces of `tree` and labels them; the rest is skipped.
fn plan(config: &IngestConfig, tree: &Tree) -> (Vec<Trace<()>>, Skipped) {
    let source = Format::AdfaLd.source();
    let mut traces = Vec::new();
    let mut skipped = Skipped::default();
    for (i, e) in tree.entries().iter().enumerate() {
        if tree.is_single_file() {
            let run_id = config
                .run_id
                .clone()
                .unwrap_or_else(|| super::tree::stem(e.name()).to_string());
            traces.push(Trace {
                entry: i,
                labels: labels(source, run_id, e.rel.clone()),
                kind: (),
            });
            continue;
        }
        let parts = e.components();
        let start = parts
            .iter()
            .position(|p| DATA_FOLDERS.iter().any(|(d, _)| p.starts_with(d)));
        let Some((start, (split, scenario, family))) =
            start.and_then(|s| classify(&parts[s..]).map(|c| (s, c)))
        else {
            skipped.add(e.name());
            continue;
        };
        let run_id = parts[start..].join("/");
        let run_id = run_id[..run_id.len() - ".txt".len()].to_string();
        let mut l = labels(source, run_id, e.rel.clone());
        l.split = Some(split.to_string());
        l.label = Some(if family.is_some() { ATTACK } else { NORMAL }.to_string());
        l.scenario = Some(scenario);
        l.attack = family;
        traces.push(Trace {
            entry: i,
            labels: l,
            kind: (),
        });
    }
    (traces, skipped)
}

/// Imports an ADFA-LD distribution (folder or zip), or one trace file.
pub fn ingest(
    config: &IngestConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Imported, IngestError> {
    let mut tree = Tree::open(&config.input)?;
    let (traces, skipped) = plan(config, &tree);
    let arch = config.arch.unwrap_or(Arch::X86);
    let table = arch.table();
    let setup = Setup {
        source: Format::AdfaLd.source(),
        metadata: base_metadata(arch, &config.input),
        processes: false,
    };
    let mut unknown = String::new();
    import(
        config,
        &mut tree,
        traces,
        skipped,
        &setup,
        progress,
        |tree, trace, out, _| {
            let path = tree.display(trace.entry);
            let mut got = TraceRead::default();
            let mut seq = 0u64;
            let sink = out.sink();
            got.lines = for_each_line(tree.reader(trace.entry)?, &path, |n, line| {
                for tok in line.split_ascii_whitespace() {
                    let Ok(nr) = tok.parse::<i64>() else {
                        malformed(
                            config.lenient,
                            &mut got.lines_skipped,
                            &path,
                            n,
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
                Ok(())
            })?;
            Ok(got)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_from_folders() {
        assert_eq!(
            scenario_of(Path::new(
                "Attack_Data_Master/Hydra_FTP_3/UAD-Hydra-FTP-3-1.txt"
            ))
            .as_deref(),
            Some("attack:hydra_ftp")
        );
        assert_eq!(
            scenario_of(Path::new("Attack_Data_Master/Web_Shell_4/UAD-WS-4-1.txt")).as_deref(),
            Some("attack:web_shell")
        );
        assert_eq!(
            scenario_of(Path::new("Training_Data_Master/UTD-0001.txt")).as_deref(),
            Some("training")
        );
        assert_eq!(scenario_of(Path::new("UTD-0001.txt")), None);
        assert_eq!(scenario_of(Path::new("Attack_Data_Master/x.txt")), None);
        assert_eq!(scenario_of(Path::new("Training_Data_Master/a.csv")), None);
    }
}
