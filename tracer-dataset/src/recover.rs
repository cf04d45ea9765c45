//! `tracer recover`: the crash journal (`journal`) of a capture that did not end normally
//! (killed, out of memory, power loss, full disk) made into the files the capture would have
//! written, marked `interrupted` and `recovered`, with the losses known at its last part.

use std::{
    ffi::OsStr,
    fs::File,
    path::{Path, PathBuf},
};

use parquet::file::metadata::KeyValue;

use crate::{
    journal::{self, PROCESSES, assemble, footer_of, journal_name, parquet_err, part_names},
    layout,
    outdir::{Access, OutDir, resolve_output},
    schema::{meta, processes_schema, syscalls_schema, table},
    sink::SinkError,
};

/// What [`recover`] made of one journal.
#[derive(Debug)]
pub struct Recovered {
    /// The journal folder.
    pub journal: PathBuf,
    /// The syscalls file written.
    pub syscalls: PathBuf,
    /// The processes file written.
    pub processes: PathBuf,
    /// Rows recovered.
    pub rows: u64,
    /// Parts read.
    pub parts: usize,
    /// Parts that could not be read, skipped.
    pub unreadable: Vec<PathBuf>,
    /// Records lost in the kernel as known at the last part (`meta::EVENTS_LOST`).
    pub lost: Option<u64>,
    /// Whether a process-table snapshot was found.
    pub processes_found: bool,
}

/// Footer keys a part carries for itself, which the recovered file sets anew.
const PER_PART: [&str; 7] = [
    meta::EVENTS_WRITTEN,
    meta::EVENTS_LOST,
    meta::EVENTS_LOST_DETAIL,
    meta::END_NS,
    meta::INTERRUPTED,
    meta::RECOVERED,
    meta::PRE_EXEC_DROPPED,
];
/// Footer keys taken from the last part: what the capture knew last.
const FROM_LAST: [&str; 4] = [
    meta::EVENTS_LOST,
    meta::EVENTS_LOST_DETAIL,
    meta::END_NS,
    meta::PRE_EXEC_DROPPED,
];

/// Recovers the journal(s) at `path`: a journal folder (`.trace.parts`), the output it belongs
/// to (`trace.parquet`), or a dataset folder (every journal inside). Files are written as
/// `access` says, through folder descriptors, as a capture writes them.
pub fn recover(path: &Path, access: &Access) -> Result<Vec<Recovered>, SinkError> {
    let journals = find(path, access)?;
    if journals.is_empty() {
        return Err(SinkError::NoJournal(path.to_path_buf()));
    }
    journals
        .into_iter()
        .map(|(parent, name)| recover_one(&parent, &name, access))
        .collect()
}

fn is_journal_name(name: &OsStr) -> bool {
    journal::output_of(name).is_some()
}

/// The journals at `path`: (their folder, their name).
fn find(path: &Path, access: &Access) -> Result<Vec<(OutDir, String)>, SinkError> {
    let meta = std::fs::symlink_metadata(path).ok();
    let name = path.file_name().unwrap_or_default();
    if meta.as_ref().is_some_and(|m| m.is_dir()) && is_journal_name(name) {
        let parent = OutDir::open(path.parent().unwrap_or(Path::new("")), access)?;
        return Ok(vec![(parent, name.to_string_lossy().into_owned())]);
    }
    if meta.as_ref().is_some_and(|m| m.is_dir()) {
        let mut found = Vec::new();
        let mut stack = vec![OutDir::open(path, access)?];
        while let Some(dir) = stack.pop() {
            for entry in dir.entries()? {
                let Some(st) = dir.lstat(&entry)? else {
                    continue;
                };
                if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                    continue;
                }
                let entry = entry.to_string_lossy().into_owned();
                if is_journal_name(OsStr::new(&entry)) {
                    found.push((dir.clone(), entry));
                } else {
                    stack.push(dir.subdir(&entry, false)?);
                }
            }
        }
        found.sort_by_key(|a| a.0.join(&a.1));
        return Ok(found);
    }
    let (dir, name) = resolve_output(path, access)?;
    let journal = journal_name(&name);
    Ok(match dir.lstat(OsStr::new(&journal))? {
        Some(_) => vec![(dir, journal)],
        None => Vec::new(),
    })
}

fn value(kv: &[KeyValue], key: &str) -> Option<String> {
    kv.iter().rev().find(|k| k.key == key)?.value.clone()
}

/// The recovered footer: the first part's header, the last part's losses, and the marks.
fn footer(first: &[KeyValue], last: &[KeyValue], rows: u64) -> Vec<KeyValue> {
    let mut kv: Vec<KeyValue> = first
        .iter()
        .filter(|k| !PER_PART.contains(&k.key.as_str()))
        .cloned()
        .collect();
    for key in FROM_LAST {
        if let Some(v) = value(last, key) {
            kv.push(KeyValue::new(key.into(), v));
        }
    }
    kv.push(KeyValue::new(meta::EVENTS_WRITTEN.into(), rows.to_string()));
    kv.push(KeyValue::new(meta::INTERRUPTED.into(), "true".to_string()));
    kv.push(KeyValue::new(meta::RECOVERED.into(), "true".to_string()));
    kv
}

fn recover_one(parent: &OutDir, name: &str, access: &Access) -> Result<Recovered, SinkError> {
    let jdir = parent.subdir(name, false)?;
    // The files are as private as the journal was (0700: a capture of other users' processes).
    let access = access.with_private(jdir.mode()? & 0o077 == 0);
    let parent = &parent.with_access(&access);
    let output = journal::output_of(OsStr::new(name)).expect("a journal name");
    let mut unreadable = Vec::new();
    let mut parts: Vec<(File, Vec<KeyValue>)> = Vec::new();
    for part in part_names(&jdir)? {
        let f = jdir.open_read(&part)?;
        match footer_of(&f) {
            Ok(kv) => parts.push((f, kv)),
            Err(_) => unreadable.push(jdir.join(&part)),
        }
    }
    let (Some((_, first)), Some((_, last))) = (parts.first(), parts.last()) else {
        return Err(SinkError::NoJournal(jdir.path().to_path_buf()));
    };
    let (first, last) = (first.clone(), last.clone());
    let lost = value(&last, meta::EVENTS_LOST).and_then(|v| v.parse().ok());

    // The syscalls file, beside the journal.
    let files: Vec<&File> = parts.iter().map(|(f, _)| f).collect();
    let rows_total = files
        .iter()
        .map(|f| {
            journal::read_metadata(f)
                .map(|m| m.file_metadata().num_rows().max(0) as u64)
                .map_err(|e| parquet_err(jdir.path(), e))
        })
        .sum::<Result<u64, _>>()?;
    let kv = footer(&first, &last, rows_total);
    let out = parent.stage()?;
    let rows = assemble(&syscalls_schema(), &files, out.writer()?, kv.clone())
        .map_err(|e| parquet_err(&parent.join(&output), e))?;
    out.sync_data()?;

    // The processes file: the latest snapshot, with the recovered footer.
    let syscalls_path = parent.join(&output);
    let processes_path = layout::processes_for(&syscalls_path);
    let (pdir, pname) = resolve_output(&processes_path, &access)?;
    let snapshot = match jdir.subdir(PROCESSES, false) {
        Ok(snapdir) => part_names(&snapdir)?.into_iter().rev().find_map(|n| {
            let f = snapdir.open_read(&n).ok()?;
            footer_of(&f).ok().map(|kv| (f, kv))
        }),
        Err(_) => None,
    };
    let mut pkv: Vec<KeyValue> = kv
        .iter()
        .filter(|k| k.key != meta::TABLE && k.key != meta::EVENTS_WRITTEN)
        .cloned()
        .collect();
    pkv.push(KeyValue::new(
        meta::TABLE.into(),
        table::PROCESSES.to_string(),
    ));
    let pout = pdir.stage()?;
    let processes_found = snapshot.is_some();
    let sources: Vec<&File> = snapshot.iter().map(|(f, _)| f).collect();
    assemble(&processes_schema(), &sources, pout.writer()?, pkv)
        .map_err(|e| parquet_err(&processes_path, e))?;
    pout.sync_data()?;

    out.replace(parent, &output.to_string_lossy())?;
    pout.replace(&pdir, &pname.to_string_lossy())?;
    parent.sync()?;
    pdir.sync()?;
    let journal_path = jdir.path().to_path_buf();
    for part in part_names(&jdir)? {
        jdir.remove(&part)?;
    }
    if let Ok(snapdir) = jdir.subdir(PROCESSES, false) {
        for part in part_names(&snapdir)? {
            snapdir.remove(&part)?;
        }
        let _ = jdir.remove_dir(PROCESSES);
    }
    let _ = parent.remove_dir(name);
    Ok(Recovered {
        journal: journal_path,
        syscalls: syscalls_path,
        processes: pdir.join(&pname),
        rows,
        parts: parts.len(),
        unreadable,
        lost,
        processes_found,
    })
}
