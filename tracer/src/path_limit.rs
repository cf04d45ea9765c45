//! `tracer record -s N`: cuts the `path` column of a finished capture to N bytes, as strace's
//! `-s` cuts strings. The capture itself keeps paths up to its own limit (4095 bytes); for a
//! smaller N both files of the run are rewritten through the run writer (new files created
//! beside them, committed together, given to the same owner) with the limit in their footers
//! (`meta::PATH_LIMIT`), so `tracer show` marks a cut path with strace's `...`.
//!
//! The files are reopened by path in a folder the traced command may write: each is opened
//! without following a link, and must be a regular file of the owner the capture gave it, or
//! the rewrite refuses (the capture is left as it was).

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    os::unix::fs::{MetadataExt as _, OpenOptionsExt as _},
    path::{Path, PathBuf},
};

use tracer_dataset::{
    ProcessRow, RunFiles, RunInfo, SinkError, SyscallRow, meta,
    rows::{self, ReadError},
    stream::{Bounds, SyscallStream},
};

/// The most bytes of a path a capture keeps (docs/DESIGN.md, `path`).
pub const CAPTURE_PATH_BYTES: usize = tracer_common::DATA_SLOT_BYTES - 1;

/// Why paths could not be cut.
#[derive(Debug, thiserror::Error)]
pub enum PathLimitError {
    /// A file could not be opened, or is not the capture's.
    #[error("cannot reopen {path} to cut its paths: {why}")]
    Reopen {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// Reading the capture failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the new files failed.
    #[error("rewriting the capture with cut paths")]
    Write(#[source] SinkError),
}

/// Footer keys every sink writes itself (`sink::base_metadata`, `close`), not copied over.
const OWN_KEYS: &[&str] = &[
    meta::SCHEMA_VERSION,
    meta::TRACER_VERSION,
    meta::TABLE,
    meta::RUN_ID,
    meta::SOURCE,
    meta::SCENARIO,
    meta::MODE,
    meta::EVENTS_WRITTEN,
];

/// The longest prefix of `s` of at most `limit` bytes that ends on a character boundary.
pub fn cut(s: &str, limit: usize) -> &str {
    if s.len() <= limit {
        return s;
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Opens `path` for reading, refusing a link, a non-regular file or a file not owned by `uid`.
fn reopen(path: &Path, uid: u32) -> Result<File, PathLimitError> {
    let refuse = |why: String| PathLimitError::Reopen {
        path: path.to_path_buf(),
        why,
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| refuse(e.to_string()))?;
    let md = file.metadata().map_err(|e| refuse(e.to_string()))?;
    if !md.file_type().is_file() || md.uid() != uid {
        return Err(refuse(format!(
            "it is no longer the regular file of uid {uid} the capture wrote"
        )));
    }
    Ok(file)
}

/// The copied footer keys of a file's metadata, and the run it names.
fn carried(md: &HashMap<String, String>) -> (RunInfo, Vec<(String, String)>) {
    let run = RunInfo {
        run_id: md.get(meta::RUN_ID).cloned().unwrap_or_default(),
        source: md.get(meta::SOURCE).cloned().unwrap_or_default(),
        scenario: md.get(meta::SCENARIO).cloned(),
        mode: md.get(meta::MODE).cloned(),
    };
    let mut keys: Vec<(String, String)> = md
        .iter()
        .filter(|(k, _)| k.starts_with("syscall_tracer.") && !OWN_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    keys.sort();
    (run, keys)
}

/// Cuts the paths of the capture `syscalls` (with its `processes` file) to `limit` bytes;
/// `owner` is who owns the files (`None`: this process's user). Returns how many paths were
/// cut. Nothing is rewritten when `limit` is at least the capture's own limit.
pub fn cut_paths(
    syscalls: &Path,
    processes: &Path,
    limit: usize,
    owner: Option<(u32, u32)>,
) -> Result<u64, PathLimitError> {
    if limit >= CAPTURE_PATH_BYTES {
        return Ok(0);
    }
    // SAFETY: geteuid has no preconditions.
    let uid = owner.map_or_else(|| unsafe { libc::geteuid() }, |(u, _)| u);
    let stream =
        SyscallStream::from_file(reopen(syscalls, uid)?, syscalls, &Bounds::default(), None)?;
    let (proc_md, procs) = rows::read_processes_file(reopen(processes, uid)?, processes)?;
    let (run, sys_keys) = carried(stream.metadata());
    let (_, proc_keys) = carried(&proc_md);
    let (files, mut sink, mut psink) = RunFiles::create(
        syscalls,
        processes,
        &run,
        &[],
        &tracer_dataset::RunOptions {
            // Written with the owner's filesystem identity, as the capture was.
            access: tracer_dataset::outdir::Access::new(
                owner.map(|(u, g)| tracer_dataset::outdir::FsIdentity::new(u, g, &[g])),
                false,
            ),
            journal: false,
        },
    )
    .map_err(PathLimitError::Write)?;
    for (k, v) in &sys_keys {
        sink.add_metadata(k, v.clone());
    }
    for (k, v) in &proc_keys {
        psink.add_metadata(k, v.clone());
    }
    sink.add_metadata(meta::PATH_LIMIT, limit.to_string());
    psink.add_metadata(meta::PATH_LIMIT, limit.to_string());
    let mut cut_count = 0;
    for batch in stream {
        let batch = batch?;
        for i in 0..batch.len() {
            let row = batch.row(i);
            let mut extra = batch.extra(i);
            let path = row.path.map(|p| cut(p, limit));
            let path2 = extra.path2.map(|p| cut(p, limit));
            cut_count += u64::from(path.map(str::len) != row.path.map(str::len));
            cut_count += u64::from(path2.map(str::len) != extra.path2.map(str::len));
            extra.path2 = path2;
            sink.push_with(&SyscallRow { path, ..row }, &extra)
                .map_err(PathLimitError::Write)?;
        }
    }
    for p in procs {
        psink.push(ProcessRow {
            pid: p.pid,
            ppid: p.ppid,
            start_ns: p.start_ns,
            exit_ns: p.exit_ns,
            exit_code: p.exit_code,
            signal: p.signal,
            comm: p.comm,
            exe: p.exe,
            argv: p.argv,
            followed: p.followed,
            exit_from_wait: p.exit_from_wait,
        });
    }
    sink.close().map_err(PathLimitError::Write)?;
    psink.close().map_err(PathLimitError::Write)?;
    files.commit().map_err(PathLimitError::Write)?;
    Ok(cut_count)
}

#[cfg(test)]
mod tests {
    use tracer_dataset::{ProcessSink, SyscallSink, layout::processes_path, rows::read_syscalls};

    use super::*;

    #[test]
    fn cuts_on_character_boundaries() {
        assert_eq!(cut("/etc/passwd", 4), "/etc");
        assert_eq!(cut("/etc", 40), "/etc");
        assert_eq!(cut("/é", 2), "/");
        assert_eq!(cut("", 0), "");
    }

    #[test]
    fn rewrites_both_files_with_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sys = dir.path().join("t.parquet");
        let procs = processes_path(&sys);
        let run = RunInfo {
            run_id: "r1".into(),
            source: "ebpf".into(),
            ..RunInfo::default()
        };
        let extra = [(meta::EVENTS_LOST.to_string(), "0".to_string())];
        let mut s = SyscallSink::create(&sys, run.clone(), &extra).expect("sink");
        for (seq, path) in [(0, Some("/usr/lib/x")), (1, None), (2, Some("/a"))] {
            s.push(&SyscallRow {
                seq,
                syscall: "openat",
                nr: 257,
                path,
                ..SyscallRow::default()
            })
            .expect("push");
        }
        s.close().expect("close");
        let mut p = ProcessSink::create(&procs, run, &extra).expect("procs");
        p.push(ProcessRow {
            pid: 5,
            exit_code: Some(0),
            ..ProcessRow::default()
        });
        p.close().expect("close");

        assert_eq!(
            cut_paths(&sys, &procs, CAPTURE_PATH_BYTES, None).expect("no-op"),
            0
        );
        assert_eq!(cut_paths(&sys, &procs, 4, None).expect("cut"), 1);
        let rows = read_syscalls(&sys).expect("read");
        let paths: Vec<Option<&str>> = rows.iter().map(|r| r.path.as_deref()).collect();
        assert_eq!(paths, [Some("/usr"), None, Some("/a")]);
        let md = rows::metadata(&sys).expect("md");
        assert_eq!(md[meta::PATH_LIMIT], "4");
        assert_eq!(md[meta::EVENTS_LOST], "0");
        assert_eq!(md[meta::RUN_ID], "r1");
        assert_eq!(md[meta::EVENTS_WRITTEN], "3");
        let pmd = rows::metadata(&procs).expect("md");
        assert_eq!(pmd[meta::PATH_LIMIT], "4");
        assert_eq!(rows::read_processes(&procs).expect("procs")[0].pid, 5);
        let leftovers = std::fs::read_dir(dir.path()).expect("ls").count();
        assert_eq!(leftovers, 2, "no temporary file left behind");
        assert!(matches!(
            cut_paths(&sys, &procs, 4, Some((12345, 12345))),
            Err(PathLimitError::Reopen { .. })
        ));
    }
}
