//! UNM system-call traces (Forrest, Hofmeyr et al., University of New Mexico), as distributed:
//! one folder per set (synthetic and live sendmail, lpr, named, xlock, login and ps, inetd,
//! stide, ...), the normal and the intrusion traces grouped in folders named so (`normal/`,
//! `intrusions/`, `lprcp-intrusion/`, ...), beside each set's mapping file (a list of syscall
//! names) and notes. Each trace file (`*.int`) holds `pid syscall-number` lines, the processes of
//! one trace interleaved in the order they ran.
//!
//! A file is a trace if it is named `*.int`, or if its first line is `PID NUMBER`; others are
//! skipped and counted. The grouping comes from the nearest folder whose name says `intrusion`,
//! `attack`, `exploit` or `abnormal` (label `attack`) or `normal` (label `normal`): `scenario` `normal` or
//! `attack:<family>`, the family being the folder below the intrusion folder, else that folder's
//! name without the word, else the set's name; `subset` is the set (the folders above the
//! grouping folder). UNM has no splits. `run_id` is the path below the input folder without
//! extension (a file named on its own: its stem, or `--run-id`).
//!
//! One run per trace file; `seq` keeps the file order, so the interleaved view is the file's own;
//! `tid` = `pid`. The traces number calls by the traced system's table (SunOS 4 for the early
//! sets, Linux for later ones); names come from `--arch` (default i386), and `nr` keeps the number
//! as written either way. The processes table lists each pid in order of first appearance (no
//! lineage: the traces carry none).

use tracer_dataset::{
    ProcessRow, SyscallRow,
    schema::value::{ATTACK, ATTACK_SCENARIO_PREFIX, NORMAL},
};

use super::{
    Imported, Setup, Skipped, Trace, TraceRead, base_metadata, for_each_line, import, labels,
    malformed,
    tree::{Tree, stem},
};
use crate::ingest::{Arch, Format, IngestConfig, IngestError, Progress};

/// Words of a folder name that mark intrusion traces (checked before `normal`, which
/// `abnormal` contains).
const ATTACK_WORDS: [&str; 4] = ["intrusion", "attack", "exploit", "abnormal"];

/// Whether `line` is a `PID NUMBER` trace line.
fn is_trace_line(line: &str) -> bool {
    let mut it = line.split_ascii_whitespace();
    matches!(
        (
            it.next().map(str::parse::<i32>),
            it.next().map(str::parse::<i64>),
            it.next()
        ),
        (Some(Ok(_)), Some(Ok(_)), None)
    )
}

/// Label, family and set of a trace from its folders (`parts`: the tree's name, the folders,
/// the file).
fn grouping(parts: &[&str]) -> (Option<&'static str>, Option<String>, Option<String>) {
    let folders = &parts[..parts.len() - 1];
    let found = folders.iter().enumerate().rev().find_map(|(i, f)| {
        let lower = f.to_ascii_lowercase();
        if let Some(word) = ATTACK_WORDS.iter().find(|w| lower.contains(*w)) {
            Some((i, ATTACK, lower.replace(word, "")))
        } else if lower.contains(NORMAL) {
            Some((i, NORMAL, String::new()))
        } else {
            None
        }
    });
    let Some((at, label, rest)) = found else {
        return (None, None, None);
    };
    let set = match at {
        0 => None,
        1 => Some(folders[0].to_string()),
        _ => Some(folders[1..at].join("/")),
    };
    let family = (label == ATTACK).then(|| {
        let rest = rest.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let rest = rest.strip_suffix('s').unwrap_or(rest);
        if let Some(below) = folders.get(at + 1) {
            below.to_lowercase()
        } else if !rest.is_empty() {
            rest.to_string()
        } else {
            set.as_deref().map_or("intrusion".to_string(), |s| {
                s.replace('/', "-").to_lowercase()
            })
        }
    });
    (Some(label), family, set)
}

/// Finds the traces of `tree` and labels them; the rest is skipped.
fn plan(config: &IngestConfig, tree: &mut Tree) -> Result<(Vec<Trace<()>>, Skipped), IngestError> {
    let source = Format::Unm.source();
    let mut traces = Vec::new();
    let mut skipped = Skipped::default();
    let single = tree.is_single_file();
    for i in 0..tree.entries().len() {
        let e = tree.entries()[i].clone();
        if single {
            let run_id = config
                .run_id
                .clone()
                .unwrap_or_else(|| stem(e.name()).to_string());
            traces.push(Trace {
                entry: i,
                labels: labels(source, run_id, e.rel.clone()),
                kind: (),
            });
            continue;
        }
        let named = e.extension() == "int";
        let hidden = e.name().starts_with('.');
        let mut sniffed = || -> Result<bool, IngestError> {
            let head = tree.head(i, 4096)?;
            let text = String::from_utf8_lossy(&head);
            Ok(text
                .lines()
                .find(|l| !l.trim().is_empty())
                .is_some_and(is_trace_line))
        };
        if hidden || !(named || sniffed()?) {
            skipped.add(e.name());
            continue;
        }
        let parts = e.components();
        let below = parts[1..].join("/");
        let mut l = labels(source, stem(&below).to_string(), e.rel.clone());
        let (label, family, set) = grouping(&parts);
        l.label = label.map(str::to_string);
        l.scenario = match (label, &family) {
            (Some(ATTACK), Some(f)) => Some(format!("{ATTACK_SCENARIO_PREFIX}{f}")),
            (Some(l), _) => Some(l.to_string()),
            (None, _) => None,
        };
        l.attack = family;
        l.subset = set;
        traces.push(Trace {
            entry: i,
            labels: l,
            kind: (),
        });
    }
    Ok((traces, skipped))
}

/// Imports a UNM trace file, or every trace of a folder (or zip) of UNM sets.
pub fn ingest(
    config: &IngestConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Imported, IngestError> {
    let mut tree = Tree::open(&config.input)?;
    let (traces, skipped) = plan(config, &mut tree)?;
    let arch = config.arch.unwrap_or(Arch::X86);
    let table = arch.table();
    let setup = Setup {
        source: Format::Unm.source(),
        metadata: base_metadata(arch, &config.input),
        processes: true,
    };
    let mut unknown = String::new();
    const EXPECTED: &str = "'PID SYSCALL-NUMBER' (two integers)";
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
            let mut pids: Vec<i32> = Vec::new();
            let sink = out.sink();
            got.lines = for_each_line(tree.reader(trace.entry)?, &path, |n, line| {
                let mut it = line.split_ascii_whitespace();
                let (pid, nr) = match (it.next(), it.next(), it.next()) {
                    (None, ..) => return Ok(()),
                    (Some(p), Some(nr), None) => match (p.parse::<i32>(), nr.parse::<i64>()) {
                        (Ok(p), Ok(nr)) => (p, nr),
                        _ => {
                            return malformed(
                                config.lenient,
                                &mut got.lines_skipped,
                                &path,
                                n,
                                EXPECTED,
                                line,
                            );
                        }
                    },
                    _ => {
                        return malformed(
                            config.lenient,
                            &mut got.lines_skipped,
                            &path,
                            n,
                            EXPECTED,
                            line,
                        );
                    }
                };
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
                let name = super::name_of(table, nr, &mut unknown);
                sink.push(&SyscallRow {
                    seq,
                    pid,
                    tid: pid,
                    syscall: if name.is_empty() { &unknown } else { name },
                    nr: i32::try_from(nr).unwrap_or(-1),
                    ..SyscallRow::default()
                })?;
                seq += 1;
                Ok(())
            })?;
            got.processes = pids
                .into_iter()
                .map(|pid| ProcessRow {
                    pid,
                    ..ProcessRow::default()
                })
                .collect();
            Ok(got)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_from_folder_names() {
        assert_eq!(
            grouping(&["unm", "lpr-mit", "normal", "h1.int"]),
            (Some(NORMAL), None, Some("lpr-mit".into()))
        );
        assert_eq!(
            grouping(&["unm", "sendmail", "intrusions", "sunsendmailcp", "s-1.int"]),
            (
                Some(ATTACK),
                Some("sunsendmailcp".into()),
                Some("sendmail".into())
            )
        );
        assert_eq!(
            grouping(&["lpr", "lprcp-intrusion", "x.int"]),
            (Some(ATTACK), Some("lprcp".into()), Some("lpr".into()))
        );
        assert_eq!(
            grouping(&["unm", "xlock", "abnormal", "x.int"]),
            (Some(ATTACK), Some("xlock".into()), Some("xlock".into()))
        );
        assert_eq!(grouping(&["unm", "x.int"]), (None, None, None));
        assert!(is_trace_line("551 5") && !is_trace_line("open") && !is_trace_line("1 2 3"));
    }
}
