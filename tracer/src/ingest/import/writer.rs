//! The files of one imported dataset: the syscalls of every trace in one file, sorted by split,
//! then label, then run, with a row-group boundary wherever the split or label changes (so a
//! reader skips whole splits by the row groups' `scenario` statistics); the processes beside it
//! when the source knows them; and the `runs` table of labels. A writer dropped before `finish`
//! removes what it wrote, so a failed import leaves no partial dataset.

use std::path::Path;

use tracer_dataset::{
    ProcessRow, ProcessSink, RunInfo, RunLabels, RunsSink, SyscallSink, layout, meta,
    schema::value::{ATTACK, NORMAL, TEST, TRAINING, VALIDATION},
};

use super::Skipped;
use crate::ingest::{DatasetPaths, IngestError};

/// Where a run goes in the sort order: its split, then its label (unknown last).
pub(crate) fn partition(labels: &RunLabels) -> (u8, u8) {
    let split = match labels.split.as_deref() {
        Some(TRAINING) => 0,
        Some(VALIDATION) => 1,
        Some(TEST) => 2,
        _ => 3,
    };
    let label = match labels.label.as_deref() {
        Some(NORMAL) => 0,
        Some(ATTACK) => 1,
        _ => 2,
    };
    (split, label)
}

/// The files of a dataset being written: removed when dropped uncommitted.
struct Files {
    paths: DatasetPaths,
    committed: bool,
}

impl Drop for Files {
    fn drop(&mut self) {
        if !self.committed {
            let paths = [
                Some(&self.paths.syscalls),
                self.paths.processes.as_ref(),
                self.paths.runs.as_ref(),
            ];
            for p in paths.into_iter().flatten() {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// The writer of an imported dataset (see the module doc).
pub(crate) struct DatasetWriter {
    files: Files,
    syscalls: SyscallSink,
    processes: Option<ProcessSink>,
    runs: RunsSink,
    partition: Option<(u8, u8)>,
}

fn mkdir_for(path: &Path) -> Result<(), IngestError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| IngestError::Output {
            path: dir.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

impl DatasetWriter {
    /// Creates the files of dataset `name` of `source` under `out` (`layout::dataset_paths`),
    /// with `metadata` in every footer; a processes file only `with_processes`.
    pub fn create(
        out: &Path,
        name: &str,
        source: &str,
        metadata: &[(String, String)],
        with_processes: bool,
    ) -> Result<Self, IngestError> {
        let (syscalls, processes, runs) = layout::dataset_paths(out, name);
        let mut files = Files {
            paths: DatasetPaths {
                syscalls,
                processes: None,
                runs: Some(runs.clone()),
            },
            committed: false,
        };
        mkdir_for(&files.paths.syscalls)?;
        let syscalls = SyscallSink::create_dataset(&files.paths.syscalls, source, metadata)?;
        mkdir_for(&runs)?;
        let runs = RunsSink::create(&runs, source, metadata)?;
        let processes = if with_processes {
            mkdir_for(&processes)?;
            let sink = ProcessSink::create_dataset(&processes, source, metadata)?;
            files.paths.processes = Some(processes);
            Some(sink)
        } else {
            None
        };
        Ok(Self {
            files,
            syscalls,
            processes,
            runs,
            partition: None,
        })
    }

    /// The files being written.
    pub fn paths(&self) -> &DatasetPaths {
        &self.files.paths
    }

    /// Starts the rows of the run `labels` describes; a new split or label ends the row group.
    pub fn begin(&mut self, labels: &RunLabels) -> Result<(), IngestError> {
        let part = partition(labels);
        if self.partition.is_some_and(|p| p != part) {
            self.syscalls.end_row_group()?;
        }
        self.partition = Some(part);
        let run = RunInfo {
            run_id: labels.run_id.clone(),
            source: labels.source.clone(),
            scenario: labels.scenario.clone(),
            mode: None,
        };
        if let Some(p) = &mut self.processes {
            p.begin_run(&run);
        }
        self.syscalls.begin_run(run);
        Ok(())
    }

    /// The syscalls file, for the current run's rows.
    pub fn sink(&mut self) -> &mut SyscallSink {
        &mut self.syscalls
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.syscalls.rows()
    }

    /// Ends the current run: its processes and labels.
    pub fn end(&mut self, labels: RunLabels, processes: Vec<ProcessRow>) {
        if let Some(sink) = &mut self.processes {
            for p in processes {
                sink.push(p);
            }
        }
        self.runs.push(labels);
    }

    /// Writes the totals into the footers, closes the files and keeps them; returns the rows of
    /// the syscalls and processes files.
    pub fn finish(self, lines_skipped: u64, skipped: &Skipped) -> Result<(u64, u64), IngestError> {
        let Self {
            mut files,
            mut syscalls,
            processes,
            mut runs,
            ..
        } = self;
        let detail = serde_json::to_string(&skipped.by_kind).unwrap_or_default();
        let totals = [
            (meta::LINES_SKIPPED, lines_skipped.to_string()),
            (meta::FILES_SKIPPED, skipped.files.to_string()),
            (meta::FILES_SKIPPED_DETAIL, detail),
        ];
        for (k, v) in &totals {
            syscalls.add_metadata(k, v.clone());
            runs.add_metadata(k, v.clone());
        }
        let rows = syscalls.close()?;
        let procs = match processes {
            Some(p) => p.close()?,
            None => 0,
        };
        runs.close()?;
        files.committed = true;
        Ok((rows, procs))
    }
}
