//! LID-DS (Leipzig Intrusion Detection Data Set), as distributed; `--format lid-ds` tells the
//! two releases apart by their layout, scenario by scenario:
//!
//! - **LID-DS 2021**: scenario folders (`CVE-2017-7529/`) with `training/`, `validation/` and
//!   `test/{normal,normal_and_attack}/` splits of `.zip` recordings, each holding `<name>.sc`
//!   (sysdig lines, see `sysdig`), `<name>.json` (labels: `exploit`, `exploit_name`,
//!   `time.exploit[].absolute`, `time.warmup_end.absolute`, `time.container_ready.absolute`,
//!   seconds since the epoch), `<name>.pcap` and `<name>.res`. The zips are read in place (as
//!   LID-DS's `dataloader_2021.py` does); inside an archive of the whole scenario, each recording
//!   is read into memory. A malformed `.json` is an error (`--lenient`: the folder's labels).
//! - **LID-DS 2019**: scenario folders with `runs.csv` (`image_name, scenario_name,
//!   is_executing_exploit, warmup_time, recording_time, exploit_start_time`, times in seconds
//!   from the recording's start, `-1` for none) beside `<scenario_name>.txt` recordings. The
//!   release has no split folders: as LID-DS's `dataloader_2019.py`, the first 200 normal
//!   recordings in `runs.csv` order are `training`, the next 50 `validation`, the rest and every
//!   attack `test`. The recording's first event stands for its start, so the exploit starts at
//!   the first event's time plus `exploit_start_time`. A `runs.csv` row whose recording is
//!   missing is an error (`--lenient`: skipped).
//! - Recordings as extracted from their zips (`<split>/<name>/<name>.sc`, or `<name>.sc`, with
//!   `<name>.json` beside it) get the same run ids and labels as the zips.
//! - A loose `.sc` file (or a folder of them) outside split folders and without its `.json` is
//!   read without labels.
//!
//! Labels: `split` from the folder (2021) or the rule above (2019); `label` `attack` when the
//! recording executes the exploit (`exploit` / `is_executing_exploit`), else `normal`; `attack`
//! and `subset` the scenario's name (each scenario has one exploit; a recording archive read on
//! its own: the `.json`'s `exploit_name`); `scenario` `training`,
//! `validation`, `test` for normal recordings and `attack:<scenario, lower case>` for attacks;
//! `exploit_start_ns` the earliest exploit time. `run_id` is the recording's path from its
//! scenario without extension (`CVE-2017-7529/test/normal_and_attack/defeated_chandrasekhar_3584`;
//! 2019: `Bruteforce_CWE-307/ripe_faraday_5596`). `.pcap`, `.res`, loose `.json` and other
//! files are skipped and counted.

use std::{
    collections::HashMap,
    io::Read,
    path::{Path, PathBuf},
};

use tracer_dataset::{
    RunLabels,
    schema::value::{ATTACK, ATTACK_SCENARIO_PREFIX, NORMAL, TEST, TRAINING, VALIDATION},
};
use zip::ZipArchive;

use super::{
    Imported, Setup, Skipped, Trace, base_metadata, for_each_line, import, labels,
    sysdig::{LineForm, read_recording},
    tree::{Seekable, Tree, archive_err, extension, is_zip, stem},
};
use crate::ingest::{Arch, Format, IngestConfig, IngestError, Progress};

/// Normal recordings of a LID-DS 2019 scenario that are training data, in `runs.csv` order
/// (`TRAINING_SIZE` of LID-DS's `dataloader_2019.py`).
const TRAINING_2019: usize = 200;
/// Normal recordings after those that are validation data (`VALIDATION_SIZE` there).
const VALIDATION_2019: usize = 50;

/// The split folders of LID-DS 2021.
const SPLITS: [&str; 3] = [TRAINING, VALIDATION, TEST];

/// How to read one recording.
#[derive(Clone, Debug)]
enum Kind {
    /// A loose `.sc` file.
    Sc,
    /// A LID-DS 2021 recording archive and the name of its `.sc` member.
    Zip2021 { sc: String },
    /// A LID-DS 2019 recording with its times from `runs.csv` (seconds from its start).
    Txt2019 {
        warmup_s: f64,
        exploit_s: Option<f64>,
    },
}

/// The labels of a LID-DS 2021 `.json`.
#[derive(Debug, Default, PartialEq)]
struct Json2021 {
    exploit: Option<bool>,
    exploit_name: Option<String>,
    exploit_ns: Option<i64>,
    warmup_end_ns: Option<i64>,
    container_ready_ns: Option<i64>,
}

/// Seconds since the epoch as written in a JSON number, in ns: exact for decimal text (the
/// number's shortest round-trip form), else through `f64`.
fn seconds_to_ns(n: &serde_json::Number) -> Option<i64> {
    let text = n.to_string();
    if let Some((whole, frac)) = text.split_once('.')
        && !whole.is_empty()
        && frac.len() <= 9
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
    {
        let frac_ns = frac.parse::<i64>().ok()? * 10i64.pow(9 - frac.len() as u32);
        return whole
            .parse::<i64>()
            .ok()?
            .checked_mul(1_000_000_000)?
            .checked_add(frac_ns);
    }
    n.as_f64().map(|s| (s * 1e9).round() as i64)
}

/// Parses a recording's `.json`; LID-DS's own loader also accepts single quotes, so does this.
fn parse_json(bytes: &[u8]) -> Result<Json2021, serde_json::Error> {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            let requoted = String::from_utf8_lossy(bytes).replace('\'', "\"");
            serde_json::from_str(&requoted).map_err(|_| e)?
        }
    };
    let time = |v: &serde_json::Value| v.get("absolute")?.as_number().and_then(seconds_to_ns);
    let times = value.get("time");
    Ok(Json2021 {
        exploit: value.get("exploit").and_then(serde_json::Value::as_bool),
        exploit_name: value
            .get("exploit_name")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string),
        exploit_ns: times
            .and_then(|t| t.get("exploit")?.as_array().cloned())
            .and_then(|list| list.iter().filter_map(time).min()),
        warmup_end_ns: times.and_then(|t| time(t.get("warmup_end")?)),
        container_ready_ns: times.and_then(|t| time(t.get("container_ready")?)),
    })
}

/// One row of a LID-DS 2019 `runs.csv`.
#[derive(Clone, Debug, PartialEq)]
struct Run2019 {
    name: String,
    exploit: bool,
    warmup_s: f64,
    exploit_s: f64,
    /// Line in `runs.csv`.
    line: u64,
}

/// Parses a `runs.csv` (`path` names it in errors); columns by the header's names.
fn parse_runs_csv(reader: impl Read, path: &Path) -> Result<Vec<Run2019>, IngestError> {
    let mut header: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    const COLUMNS: &str =
        "the runs.csv columns scenario_name, is_executing_exploit, warmup_time, exploit_start_time";
    for_each_line(reader, path, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if header.is_empty() {
            header = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
            let has = |c: &str| header.iter().any(|h| h == c);
            if ![
                "scenario_name",
                "is_executing_exploit",
                "warmup_time",
                "exploit_start_time",
            ]
            .iter()
            .all(|c| has(c))
            {
                return super::malformed(false, &mut 0, path, n, COLUMNS, line);
            }
            return Ok(());
        }
        let get = |c: &str| {
            header
                .iter()
                .position(|h| h == c)
                .and_then(|i| fields.get(i).copied())
        };
        let bad = || super::malformed(false, &mut 0, path, n, "a runs.csv row", line);
        let (Some(name), Some(exploit), Some(warmup), Some(start)) = (
            get("scenario_name"),
            get("is_executing_exploit").map(str::to_ascii_lowercase),
            get("warmup_time").and_then(|v| v.parse::<f64>().ok()),
            get("exploit_start_time").and_then(|v| v.parse::<f64>().ok()),
        ) else {
            return bad();
        };
        let exploit = match exploit.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return bad(),
        };
        rows.push(Run2019 {
            name: name.to_string(),
            exploit,
            warmup_s: warmup,
            exploit_s: start,
            line: n,
        });
        Ok(())
    })?;
    Ok(rows)
}

/// The labels common to both releases: label, attack family, scenario and subset, from the
/// recording's scenario (`subset`; else the exploit's name) and split.
fn finish_labels(
    l: &mut RunLabels,
    exploit: Option<bool>,
    subset: Option<String>,
    exploit_name: Option<&str>,
) {
    l.label = exploit.map(|e| if e { ATTACK } else { NORMAL }.to_string());
    if exploit == Some(true) {
        let family = subset
            .as_deref()
            .or(exploit_name)
            .unwrap_or("unknown")
            .to_lowercase();
        l.scenario = Some(format!("{ATTACK_SCENARIO_PREFIX}{family}"));
        l.attack = Some(family);
    } else {
        l.scenario = l
            .split
            .clone()
            .or_else(|| exploit.map(|_| NORMAL.to_string()));
    }
    l.subset = subset;
}

/// What `plan` found.
struct Found {
    traces: Vec<Trace<Kind>>,
    skipped: Skipped,
}

/// The name of the `.sc` member of a recording archive (`<stem>.sc` first), its `.json` member,
/// and the other members (skipped).
fn members(
    archive: &ZipArchive<Seekable>,
    stem_name: &str,
) -> (Option<String>, Option<String>, Vec<String>) {
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap_or_default().into_owned())
        .collect();
    let pick = |ext: &str| {
        let own = format!("{stem_name}.{ext}");
        names
            .iter()
            .find(|n| n.rsplit('/').next() == Some(own.as_str()))
            .or_else(|| names.iter().find(|n| extension(n) == ext))
            .cloned()
    };
    let (sc, json) = (pick("sc"), pick("json"));
    let rest = names
        .iter()
        .filter(|n| !n.ends_with('/') && Some(*n) != sc.as_ref() && Some(*n) != json.as_ref())
        .cloned()
        .collect();
    (sc, json, rest)
}

/// The labels of a 2021 recording archive at entry `i`, and its `.sc` member; `None` when the
/// archive holds no `.sc` (not a recording).
fn plan_zip(
    config: &IngestConfig,
    tree: &mut Tree,
    i: usize,
    found: &mut Found,
) -> Result<(), IngestError> {
    let e = tree.entries()[i].clone();
    let display = tree.display(i);
    let opened = ZipArchive::new(tree.seekable(i)?).map_err(archive_err(&display));
    let mut archive = match opened {
        Ok(a) => a,
        Err(_) if config.lenient => {
            found.skipped.add(e.name());
            return Ok(());
        }
        Err(err) => return Err(err),
    };
    let (sc, json, rest) = members(&archive, stem(e.name()));
    let Some(sc) = sc else {
        found.skipped.add(e.name());
        return Ok(());
    };
    for r in &rest {
        found.skipped.add(r);
    }
    let json = match json {
        Some(json) => {
            let mut bytes = Vec::new();
            let member_path = display.join(&json);
            archive
                .by_name(&json)
                .map_err(archive_err(&member_path))?
                .read_to_end(&mut bytes)
                .map_err(|source| IngestError::Io {
                    path: member_path.clone(),
                    source,
                })?;
            Some((bytes, member_path))
        }
        None => None,
    };
    let l = labels_2021(
        config,
        tree.is_single_file(),
        &e.components(),
        format!("{}/{sc}", e.rel),
        json,
    )?;
    found.traces.push(Trace {
        entry: i,
        labels: l,
        kind: Kind::Zip2021 { sc },
    });
    Ok(())
}

/// The labels of a 2021 recording at path `parts` (its archive `<name>.zip`, or its `.sc` as
/// extracted: `<name>.sc`, alone or in its folder `<name>/`) with the bytes of its `.json`:
/// split, subset and the folder's normal or attack from the path, the rest from the `.json`.
fn labels_2021(
    config: &IngestConfig,
    single_file: bool,
    parts: &[&str],
    origin: String,
    json: Option<(Vec<u8>, PathBuf)>,
) -> Result<RunLabels, IngestError> {
    let mut parts = parts.to_vec();
    // An extracted recording's own folder names it twice: `<name>/<name>.sc`.
    if let [.., folder, last] = parts[..]
        && folder == stem(last)
    {
        parts.remove(parts.len() - 2);
    }
    let split_at = parts[..parts.len() - 1]
        .iter()
        .rposition(|p| SPLITS.contains(p));
    let from = match split_at {
        Some(s) if s > 0 => s - 1,
        _ if parts.len() > 1 => 1,
        _ => 0,
    };
    let run_id = if single_file {
        config.run_id.clone()
    } else {
        None
    }
    .unwrap_or_else(|| stem(&parts[from..].join("/")).to_string());
    let mut l = labels(Format::LidDs.source(), run_id, origin);
    l.split = split_at.map(|s| parts[s].to_string());
    let subset = split_at
        .filter(|s| *s > 0)
        .map(|s| parts[s - 1].to_string());
    let mut json_labels = Json2021::default();
    if let Some((bytes, path)) = json {
        match parse_json(&bytes) {
            Ok(j) => json_labels = j,
            Err(_) if config.lenient => {}
            Err(err) => {
                return Err(IngestError::Input {
                    path,
                    what: format!("not LID-DS labels: {err}"),
                });
            }
        }
    }
    // Without labels in the archive, the folder says which recordings hold an attack.
    let exploit = json_labels.exploit.or_else(|| {
        let folder = parts[..parts.len() - 1].last().copied();
        match folder {
            Some("normal_and_attack") => Some(true),
            Some("normal") | Some(TRAINING) | Some(VALIDATION) => Some(false),
            _ => None,
        }
    });
    finish_labels(&mut l, exploit, subset, json_labels.exploit_name.as_deref());
    l.exploit_start_ns = json_labels.exploit_ns.filter(|_| exploit == Some(true));
    l.warmup_end_ns = json_labels.warmup_end_ns;
    l.container_ready_ns = json_labels.container_ready_ns;
    Ok(l)
}

/// Finds and labels the recordings of `tree`.
fn plan(config: &IngestConfig, tree: &mut Tree) -> Result<Found, IngestError> {
    let source = Format::LidDs.source();
    let mut found = Found {
        traces: Vec::new(),
        skipped: Skipped::default(),
    };
    // LID-DS 2019: each runs.csv labels the .txt recordings beside it.
    let mut listed: HashMap<String, (String, Run2019, &'static str)> = HashMap::new();
    let present: std::collections::HashSet<String> =
        tree.entries().iter().map(|e| e.rel.clone()).collect();
    for i in 0..tree.entries().len() {
        let e = tree.entries()[i].clone();
        if !e.name().eq_ignore_ascii_case("runs.csv") {
            continue;
        }
        let dir = e.rel[..e.rel.len() - e.name().len()]
            .trim_end_matches('/')
            .to_string();
        let scenario = dir.rsplit('/').next().unwrap_or(&dir).to_string();
        let path = tree.display(i);
        let rows = parse_runs_csv(tree.reader(i)?, &path)?;
        let mut normal = 0usize;
        for r in rows {
            let split = if r.exploit {
                TEST
            } else {
                normal += 1;
                match normal {
                    n if n <= TRAINING_2019 => TRAINING,
                    n if n <= TRAINING_2019 + VALIDATION_2019 => VALIDATION,
                    _ => TEST,
                }
            };
            let rel = format!("{dir}/{}.txt", r.name);
            if !present.contains(&rel) {
                if config.lenient {
                    continue;
                }
                return Err(IngestError::Input {
                    path: path.clone(),
                    what: format!(
                        "line {}: recording {:?} is not in the distribution (no {rel})",
                        r.line, r.name
                    ),
                });
            }
            listed.insert(rel, (scenario.clone(), r, split));
        }
    }
    let index: HashMap<String, usize> = tree
        .entries()
        .iter()
        .enumerate()
        .map(|(i, e)| (e.rel.clone(), i))
        .collect();
    for i in 0..tree.entries().len() {
        let e = tree.entries()[i].clone();
        let ext = e.extension();
        if let Some((scenario, r, split)) = listed.remove(&e.rel) {
            let mut l = labels(source, format!("{scenario}/{}", r.name), e.rel.clone());
            l.split = Some(split.to_string());
            finish_labels(&mut l, Some(r.exploit), Some(scenario), None);
            found.traces.push(Trace {
                entry: i,
                labels: l,
                kind: Kind::Txt2019 {
                    warmup_s: r.warmup_s,
                    exploit_s: (r.exploit && r.exploit_s >= 0.0).then_some(r.exploit_s),
                },
            });
        } else if e.name().eq_ignore_ascii_case("runs.csv") {
            // Read above: the labels.
        } else if ext == "zip" {
            plan_zip(config, tree, i, &mut found)?;
        } else if ext == "sc" {
            // An extracted 2021 recording: in a split folder, or with its `.json` beside it.
            let parts = e.components();
            let json_rel = format!("{}.json", &e.rel[..e.rel.len() - ".sc".len()]);
            let json_entry = index.get(&json_rel).copied();
            let labels = if json_entry.is_some()
                || parts[..parts.len() - 1].iter().any(|p| SPLITS.contains(p))
            {
                let json = match json_entry {
                    Some(j) => {
                        let path = tree.display(j);
                        Some((tree.head(j, u64::MAX)?, path))
                    }
                    None => None,
                };
                labels_2021(config, tree.is_single_file(), &parts, e.rel.clone(), json)?
            } else {
                let run_id = match (&config.run_id, tree.is_single_file()) {
                    (Some(r), true) => r.clone(),
                    _ => stem(e.name()).to_string(),
                };
                labels(source, run_id, e.rel.clone())
            };
            found.traces.push(Trace {
                entry: i,
                labels,
                kind: Kind::Sc,
            });
        } else if ext == "json"
            && index.contains_key(&format!("{}.sc", &e.rel[..e.rel.len() - ".json".len()]))
        {
            // An extracted recording's labels, read with its `.sc`.
        } else {
            found.skipped.add(e.name());
        }
    }
    Ok(found)
}

/// Whether `input` is one LID-DS 2021 recording archive (a `.sc` member at its top) rather than
/// an archive of a scenario or of the whole set.
fn is_recording_archive(input: &Path) -> bool {
    let Ok(file) = std::fs::File::open(input) else {
        return false;
    };
    ZipArchive::new(file).is_ok_and(|a| {
        a.file_names()
            .any(|n| n.is_ok_and(|n| !n.contains('/') && extension(&n) == "sc"))
    })
}

/// Imports LID-DS 2021 or 2019 as distributed: the set, a scenario (folder or zip), one
/// recording archive, or loose `.sc` files.
pub fn ingest(
    config: &IngestConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Imported, IngestError> {
    let mut tree = if is_zip(&config.input) && is_recording_archive(&config.input) {
        Tree::single(&config.input)
    } else {
        Tree::open(&config.input)?
    };
    let Found { traces, skipped } = plan(config, &mut tree)?;
    let arch = config.arch.unwrap_or_else(Arch::native);
    let table = arch.table();
    let mut metadata = base_metadata(arch, &config.input);
    metadata.push((tracer_dataset::meta::TS_POINT.to_string(), "entry".into()));
    let setup = Setup {
        source: Format::LidDs.source(),
        metadata,
        processes: true,
    };
    let lenient = config.lenient;
    import(
        config,
        &mut tree,
        traces,
        skipped,
        &setup,
        progress,
        |tree, trace, out, labels| {
            let display = tree.display(trace.entry);
            match &trace.kind {
                Kind::Sc => {
                    let reader = tree.reader(trace.entry)?;
                    let (got, _) = read_recording(
                        reader,
                        &display,
                        LineForm::Sc2021,
                        lenient,
                        table,
                        out.sink(),
                    )?;
                    Ok(got)
                }
                Kind::Zip2021 { sc } => {
                    let mut archive = ZipArchive::new(tree.seekable(trace.entry)?)
                        .map_err(archive_err(&display))?;
                    let member: PathBuf = display.join(sc);
                    let reader = archive.by_name(sc).map_err(archive_err(&member))?;
                    let (got, _) = read_recording(
                        reader,
                        &member,
                        LineForm::Sc2021,
                        lenient,
                        table,
                        out.sink(),
                    )?;
                    Ok(got)
                }
                Kind::Txt2019 {
                    warmup_s,
                    exploit_s,
                } => {
                    let reader = tree.reader(trace.entry)?;
                    let (got, first) = read_recording(
                        reader,
                        &display,
                        LineForm::Txt2019,
                        lenient,
                        table,
                        out.sink(),
                    )?;
                    let ns = |s: f64| (s * 1e9).round() as i64;
                    labels.warmup_end_ns = first.map(|t| t + ns(*warmup_s));
                    labels.exploit_start_ns = first.zip(*exploit_s).map(|(t, s)| t + ns(s));
                    Ok(got)
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_labels_of_2021() {
        let j = parse_json(
            br#"{"exploit": true, "exploit_name": "CVE-2017-7529", "time": {
                "container_ready": {"absolute": 1666346770.222677, "source": "CONTROL_SCRIPT"},
                "exploit": [{"absolute": 1666346786.690099, "name": "attack", "source": "TCPDUMP"},
                            {"absolute": 1666346780.5, "name": "second", "source": "TCPDUMP"}],
                "warmup_end": {"absolute": 1666346773.2240913, "source": "CONTROL_SCRIPT"}}}"#,
        )
        .unwrap();
        assert_eq!(
            j,
            Json2021 {
                exploit: Some(true),
                exploit_name: Some("CVE-2017-7529".into()),
                exploit_ns: Some(1_666_346_780_500_000_000),
                warmup_end_ns: Some(1_666_346_773_224_091_300),
                container_ready_ns: Some(1_666_346_770_222_677_000),
            }
        );
        let single = parse_json(b"{'exploit': false, 'time': {'exploit': []}}").unwrap();
        assert_eq!((single.exploit, single.exploit_ns), (Some(false), None));
        assert!(parse_json(b"{not json").is_err());
    }

    #[test]
    fn runs_csv_of_2019() {
        let csv = "image_name, scenario_name, is_executing_exploit, warmup_time, recording_time, exploit_start_time\n\
                   victim_bruteforce:latest, sweet_greider_4408, False, 10, 50, -1\n\
                   victim_bruteforce:latest, ripe_faraday_5596, True, 10, 35, 24\n";
        let rows = parse_runs_csv(csv.as_bytes(), Path::new("runs.csv")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[1].name.as_str(),
                rows[1].exploit,
                rows[1].warmup_s,
                rows[1].exploit_s,
                rows[1].line
            ),
            ("ripe_faraday_5596", true, 10.0, 24.0, 3)
        );
        let err = parse_runs_csv(
            "scenario_name, is_executing_exploit, warmup_time, exploit_start_time\nx, maybe, 1, 2\n"
                .as_bytes(),
            Path::new("runs.csv"),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("runs.csv:2: malformed line"),
            "{err}"
        );
    }
}
