//! The run writer: both files of one run (syscalls and processes), written unnamed beside their
//! final paths and placed together at the commit, so a reader never sees half a run under the
//! final name and a failed run leaves no file behind; with a crash journal (`journal`), what a
//! crash interrupts stays readable in it.
//!
//! Files are created as the tracer's user (root) in folders the traced command's user may
//! write, so nothing is reached by path twice: the output's folder is opened once, with the
//! identity of the user the files are for (`outdir::Access`), and every file is created through
//! that descriptor unnamed (`O_TMPFILE`), then linked or renamed into place without following a
//! link. A symbolic link at the output is followed only if that user owns it and could write
//! its target (`outdir::resolve_output`).

use std::{ffi::OsString, path::Path, sync::Arc};

use crate::{
    journal::{Journal, journal_name},
    outdir::{Access, OutDir, Staged, resolve_output},
    sink::{ProcessSink, RunInfo, SinkError, SyscallSink},
};

/// How a run's files are written.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// As whom and how private.
    pub access: Access,
    /// Keep a crash journal beside the syscalls file while writing.
    pub journal: bool,
}

/// Where one file goes.
#[derive(Debug)]
struct Place {
    dir: OutDir,
    name: String,
}

impl Place {
    fn resolve(path: &Path, access: &Access) -> Result<Self, SinkError> {
        let (dir, name): (OutDir, OsString) = resolve_output(path, access)?;
        Ok(Self {
            dir,
            name: name.to_string_lossy().into_owned(),
        })
    }
}

/// The two files of one run until `commit`; dropping it uncommitted leaves no file (and the
/// journal only if it holds parts).
#[derive(Debug)]
pub struct RunFiles {
    syscalls: Place,
    /// The syscalls file, when not journaled.
    syscalls_file: Option<Staged>,
    processes: Place,
    processes_file: Option<Staged>,
    journal: Option<Arc<Journal>>,
    committed: bool,
}

impl RunFiles {
    /// Creates the files of a run whose syscalls go to `syscalls` and processes to `processes`
    /// (and the journal, if asked), and the sinks writing them. Nothing is named until
    /// `commit`; errors name the final paths.
    pub fn create(
        syscalls: &Path,
        processes: &Path,
        run: &RunInfo,
        metadata: &[(String, String)],
        options: &RunOptions,
    ) -> Result<(Self, SyscallSink, ProcessSink), SinkError> {
        let sys_place = Place::resolve(syscalls, &options.access)?;
        let proc_place = Place::resolve(processes, &options.access)?;
        Self::create_at(sys_place, proc_place, run, metadata, options)
    }

    /// As `create`, for files named `syscalls.1` and `processes.1` in folders already open
    /// (a dataset's `syscalls/` and `processes/`): nothing is reached by path again.
    pub fn create_in(
        syscalls: (&OutDir, &str),
        processes: (&OutDir, &str),
        run: &RunInfo,
        metadata: &[(String, String)],
        options: &RunOptions,
    ) -> Result<(Self, SyscallSink, ProcessSink), SinkError> {
        let place = |(dir, name): (&OutDir, &str)| Place {
            dir: dir.with_access(&options.access),
            name: name.to_string(),
        };
        Self::create_at(place(syscalls), place(processes), run, metadata, options)
    }

    fn create_at(
        sys_place: Place,
        proc_place: Place,
        run: &RunInfo,
        metadata: &[(String, String)],
        options: &RunOptions,
    ) -> Result<(Self, SyscallSink, ProcessSink), SinkError> {
        let syscalls = &sys_place.dir.join(&sys_place.name);
        let processes = &proc_place.dir.join(&proc_place.name);
        let processes_file = proc_place.dir.stage()?;
        let psink =
            ProcessSink::from_file(processes_file.writer()?, processes, run.clone(), metadata)?;
        let (sink, syscalls_file, journal) = if options.journal {
            let journal = Journal::create(
                &sys_place.dir,
                &journal_name(std::ffi::OsStr::new(&sys_place.name)),
            )?;
            journal.set_processes_header(run.clone(), psink.metadata().to_vec());
            let sink = SyscallSink::journaled(journal.clone(), syscalls, run.clone(), metadata);
            (sink, None, Some(journal))
        } else {
            let staged = sys_place.dir.stage()?;
            let sink = SyscallSink::from_file(staged.writer()?, syscalls, run.clone(), metadata)?;
            (sink, Some(staged), None)
        };
        Ok((
            Self {
                syscalls: sys_place,
                syscalls_file,
                processes: proc_place,
                processes_file: Some(processes_file),
                journal,
                committed: false,
            },
            sink,
            psink,
        ))
    }

    /// The crash journal, when the run keeps one.
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.as_ref()
    }

    /// Where the syscalls file goes.
    pub fn syscalls_path(&self) -> std::path::PathBuf {
        self.syscalls.dir.join(&self.syscalls.name)
    }

    /// Puts both files in place (call after both sinks are closed), then removes the journal.
    /// On an error the journal is kept with every row in it.
    pub fn commit(mut self) -> Result<(), SinkError> {
        let parts = self.journal.as_ref().map_or(0, |j| j.parts());
        let sys = match (self.syscalls_file.take(), &self.journal) {
            (Some(file), _) => file,
            (None, Some(journal)) => journal.finish(&self.syscalls.dir)?,
            (None, None) => unreachable!("a run has a syscalls file or a journal"),
        };
        sys.replace(&self.syscalls.dir, &self.syscalls.name)?;
        if let Some(p) = self.processes_file.take() {
            p.replace(&self.processes.dir, &self.processes.name)?;
        }
        if parts > 0 {
            // The parts go next: the new names must be on disk first.
            self.syscalls.dir.sync()?;
            self.processes.dir.sync()?;
        }
        self.committed = true;
        if let Some(j) = &self.journal {
            j.remove()?;
        }
        Ok(())
    }
}

impl Drop for RunFiles {
    fn drop(&mut self) {
        if !self.committed
            && let Some(j) = &self.journal
        {
            // A failed commit: the last part joins the others, so that every row stays.
            j.keep_last();
            j.remove_if_empty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        outdir::Access,
        recover::recover,
        rows::{metadata, read_processes, read_syscalls},
        schema::meta,
        sink::{ProcessRow, SyscallRow},
    };

    fn run() -> RunInfo {
        RunInfo {
            run_id: "r".into(),
            source: "test".into(),
            ..RunInfo::default()
        }
    }

    fn options(journal: bool) -> RunOptions {
        RunOptions {
            access: Access::default(),
            journal,
        }
    }

    fn push(sink: &mut SyscallSink, n: u64, from: u64) {
        for seq in from..from + n {
            sink.push(&SyscallRow {
                seq,
                pid: 1,
                tid: 1,
                syscall: "getppid",
                nr: 110,
                ret: Some(0),
                ..SyscallRow::default()
            })
            .expect("push");
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn commit_places_both_and_drop_leaves_nothing() {
        for journal in [false, true] {
            let dir = tempfile::tempdir().expect("tempdir");
            let (s, p) = (dir.path().join("t.parquet"), dir.path().join("t.p.parquet"));
            let (files, mut sys, procs) =
                RunFiles::create(&s, &p, &run(), &[], &options(journal)).expect("create");
            push(&mut sys, 10, 0);
            assert!(
                !s.exists(),
                "nothing under the final name before the commit"
            );
            sys.close().expect("close");
            procs.close().expect("close");
            files.commit().expect("commit");
            assert_eq!(
                names(dir.path()),
                ["t.p.parquet", "t.parquet"],
                "journal {journal}"
            );
            assert_eq!(read_syscalls(&s).expect("read").len(), 10);

            let s2 = dir.path().join("u.parquet");
            let (files, sys, procs) =
                RunFiles::create(&s2, &p, &run(), &[], &options(journal)).expect("create");
            drop((sys, procs));
            drop(files);
            assert_eq!(
                names(dir.path()),
                ["t.p.parquet", "t.parquet"],
                "nothing left"
            );
        }
    }

    #[test]
    fn parts_are_readable_alone_and_assemble_into_one_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (s, p) = (dir.path().join("t.parquet"), dir.path().join("t.p.parquet"));
        let (files, mut sys, mut procs) =
            RunFiles::create(&s, &p, &run(), &[("k".into(), "v".into())], &options(true))
                .expect("create");
        let journal = files.journal().expect("journaled").clone();
        push(&mut sys, 100, 0);
        sys.cut().expect("cut");
        push(&mut sys, 200_000, 100);
        sys.cut().expect("cut");
        sys.cut().expect("an empty cut writes no part");
        push(&mut sys, 5, 200_100);
        let jdir = dir.path().join(".t.parts");
        assert_eq!(
            names(&jdir),
            ["part-000000.parquet", "part-000001.parquet", "processes"]
        );
        assert_eq!(
            read_syscalls(&jdir.join("part-000000.parquet"))
                .expect("a part alone")
                .len(),
            100
        );
        journal
            .write_processes(&[ProcessRow {
                pid: 1,
                ..ProcessRow::default()
            }])
            .expect("snapshot");
        sys.add_metadata(meta::EVENTS_LOST, "0");
        procs.push(ProcessRow {
            pid: 1,
            ..ProcessRow::default()
        });
        sys.close().expect("close");
        procs.close().expect("close");
        files.commit().expect("commit");
        assert_eq!(
            names(dir.path()),
            ["t.p.parquet", "t.parquet"],
            "journal removed"
        );
        let rows = read_syscalls(&s).expect("read");
        assert_eq!(rows.len(), 200_105);
        assert!(
            rows.iter().enumerate().all(|(i, r)| r.seq == i as u64),
            "in order"
        );
        let md = metadata(&s).expect("metadata");
        assert_eq!(md.get("k").map(String::as_str), Some("v"), "header kept");
        assert_eq!(
            md.get(meta::EVENTS_WRITTEN).map(String::as_str),
            Some("200105"),
            "the final footer"
        );
    }

    #[test]
    fn a_crashed_run_is_recovered_from_its_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (s, p) = (
            dir.path().join("c.parquet"),
            dir.path().join("c.processes.parquet"),
        );
        let (files, mut sys, procs) =
            RunFiles::create(&s, &p, &run(), &[], &options(true)).expect("create");
        let journal = files.journal().expect("journaled").clone();
        journal.set_live(&[(meta::EVENTS_LOST, "3".into())]);
        push(&mut sys, 1000, 0);
        sys.cut().expect("cut");
        journal
            .write_processes(&[ProcessRow {
                pid: 7,
                ..ProcessRow::default()
            }])
            .expect("snapshot");
        push(&mut sys, 10, 1000);
        // A crash: nothing is closed or committed.
        std::mem::forget(sys);
        drop((procs, files));
        assert!(!s.exists());
        let got = recover(&s, &Access::default()).expect("recover");
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].rows, got[0].lost), (1000, Some(3)));
        assert_eq!(read_syscalls(&s).expect("read").len(), 1000);
        let md = metadata(&s).expect("md");
        assert_eq!(md.get(meta::INTERRUPTED).map(String::as_str), Some("true"));
        assert_eq!(md.get(meta::RECOVERED).map(String::as_str), Some("true"));
        assert_eq!(md.get(meta::EVENTS_LOST).map(String::as_str), Some("3"));
        let procs = read_processes(&p).expect("processes");
        assert_eq!(procs.iter().map(|p| p.pid).collect::<Vec<_>>(), [7]);
        assert_eq!(names(dir.path()), ["c.parquet", "c.processes.parquet"]);
    }

    #[test]
    fn an_existing_journal_is_refused_and_an_empty_one_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = dir.path().join("t.parquet");
        let p = dir.path().join("t.processes.parquet");
        std::fs::create_dir_all(dir.path().join(".t.parts/processes")).expect("mkdir");
        let (files, sys, procs) =
            RunFiles::create(&s, &p, &run(), &[], &options(true)).expect("an empty one goes");
        drop((files, sys, procs));
        std::fs::create_dir_all(dir.path().join(".t.parts")).expect("mkdir");
        std::fs::write(dir.path().join(".t.parts/part-000000.parquet"), b"x").expect("part");
        let Err(err) = RunFiles::create(&s, &p, &run(), &[], &options(true)) else {
            panic!("an earlier capture's journal is refused");
        };
        assert!(matches!(err, SinkError::JournalExists(_)), "{err}");
    }
}
