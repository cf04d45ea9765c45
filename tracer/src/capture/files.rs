//! The run's two files: created with their header metadata before any command runs (which also
//! checks that the output is writable), closed with the footer (losses, end, interruption) and
//! committed together. Both are written unnamed and put in place only when complete: a failed
//! capture never leaves a truncated file (or destroys the previous one). Meanwhile the crash
//! journal beside the output keeps what has been captured on disk (`tracer_dataset::journal`).
//!
//! With `--rotate` the output is a dataset folder and the capture a series of such runs of files
//! (`syscalls/<run>-000000.parquet`, ...), each closed when it is big or old enough (`rotate`).

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tracer_common::{LOST_KINDS, LOST_LIFECYCLE, LOST_SYSCALL};
use tracer_dataset::{
    Arch, ProcessRow, ProcessSink, RunFiles, RunInfo, RunOptions, SinkError, SyscallSink,
    journal::Journal,
    layout::{PROCESSES_DIR, SYSCALLS_DIR},
    meta,
    outdir::{Access, OutDir},
};

use super::{RecordConfig, RecordError, Rotate};
use crate::{clock::now_ns, preflight};

/// Where a capture's files go and how they are made; shared with the writer thread, which
/// opens the next file of a rotating capture.
#[derive(Debug)]
pub struct Output {
    target: Layout,
    run: RunInfo,
    header: Vec<(String, String)>,
    options: RunOptions,
}

#[derive(Debug)]
enum Layout {
    /// One syscalls file and its processes file.
    Files {
        syscalls: PathBuf,
        processes: PathBuf,
    },
    /// The same, in folders already open.
    In {
        syscalls: (OutDir, String),
        processes: (OutDir, String),
    },
    /// A dataset folder of numbered files, its `syscalls/` and `processes/` open.
    Rotating {
        syscalls: OutDir,
        processes: OutDir,
        rotate: Rotate,
    },
}

impl Output {
    /// The output of `config`, its files written as `access` says; a rotating capture's folders
    /// are created here.
    pub fn new(
        config: &RecordConfig,
        arch: Arch,
        clock_offset_ns: i64,
        access: Access,
    ) -> Result<Self, RecordError> {
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let target = match (config.rotate, &config.output_folders) {
            (None, Some((s, p))) => Layout::In {
                syscalls: (s.clone(), name(&config.output)),
                processes: (p.clone(), name(&config.processes_output)),
            },
            (None, None) => Layout::Files {
                syscalls: config.output.clone(),
                processes: config.processes_output.clone(),
            },
            (Some(rotate), _) => {
                let out = |e: tracer_dataset::outdir::OutError| RecordError::Output(e.into());
                let root = OutDir::create_all(&config.output, &access).map_err(out)?;
                Layout::Rotating {
                    syscalls: root.subdir(SYSCALLS_DIR, true).map_err(out)?,
                    processes: root.subdir(PROCESSES_DIR, true).map_err(out)?,
                    rotate,
                }
            }
        };
        Ok(Self {
            target,
            run: config.run.clone(),
            header: header(config, arch, clock_offset_ns, now_ns()),
            options: RunOptions {
                access,
                journal: true,
            },
        })
    }

    /// When the current file of a rotating capture is to be closed.
    pub fn rotation(&self) -> Option<Rotate> {
        match &self.target {
            Layout::Rotating { rotate, .. } => Some(*rotate),
            Layout::Files { .. } | Layout::In { .. } => None,
        }
    }

    /// Creates the files of chunk `chunk` (always 0 without rotation); returns them and the
    /// syscalls sink.
    pub fn open(&self, chunk: u32) -> Result<(OpenFiles, SyscallSink), SinkError> {
        let mut metadata = self.header.clone();
        let (syscalls, (run, sink, processes_sink)) = match &self.target {
            Layout::Files {
                syscalls,
                processes,
            } => (
                syscalls.clone(),
                RunFiles::create(syscalls, processes, &self.run, &metadata, &self.options)?,
            ),
            Layout::In {
                syscalls,
                processes,
            } => (
                syscalls.0.join(&syscalls.1),
                RunFiles::create_in(
                    (&syscalls.0, &syscalls.1),
                    (&processes.0, &processes.1),
                    &self.run,
                    &metadata,
                    &self.options,
                )?,
            ),
            Layout::Rotating {
                syscalls,
                processes,
                ..
            } => {
                metadata.push((meta::CHUNK.to_string(), chunk.to_string()));
                let name = tracer_dataset::layout::run_file_name(&format!(
                    "{}-{chunk:06}",
                    self.run.run_id
                ));
                (
                    syscalls.join(&name),
                    RunFiles::create_in(
                        (syscalls, &name),
                        (processes, &name),
                        &self.run,
                        &metadata,
                        &self.options,
                    )?,
                )
            }
        };
        Ok((
            OpenFiles {
                run,
                processes: processes_sink,
                chunk,
                opened: Instant::now(),
                path: syscalls,
            },
            sink,
        ))
    }
}

/// The metadata known when the capture starts.
fn header(
    config: &RecordConfig,
    arch: Arch,
    clock_offset_ns: i64,
    start_ns: i64,
) -> Vec<(String, String)> {
    let mut metadata = vec![
        (meta::ARCH.to_string(), arch.as_str().to_string()),
        (
            meta::KERNEL_RELEASE.to_string(),
            preflight::kernel_release(),
        ),
        (
            meta::COMMAND_LINE.to_string(),
            serde_json::to_string(&config.command_line).unwrap_or_default(),
        ),
        (
            meta::CLOCK_OFFSET_NS.to_string(),
            clock_offset_ns.to_string(),
        ),
        (
            meta::TS_POINT.to_string(),
            if config.durations { "entry" } else { "exit" }.to_string(),
        ),
        (meta::RING_BYTES.to_string(), config.ring_bytes.to_string()),
        (meta::START_NS.to_string(), start_ns.to_string()),
    ];
    if let Some((_, expr)) = &config.filter {
        metadata.push((meta::FILTER.to_string(), expr.clone()));
    }
    metadata.extend(config.metadata.iter().cloned());
    metadata
}

/// Footer pairs only the main loop knows (the kernel's loss counters), read about every second
/// and written into each journal part and rotated file.
#[derive(Debug, Default)]
pub struct Live(Mutex<Vec<(&'static str, String)>>);

impl Live {
    /// Records the losses known now.
    pub fn set_losses(&self, lost_per_cpu: &[[u64; LOST_KINDS as usize]]) {
        let footer = Footer {
            lost_per_cpu: lost_per_cpu.to_vec(),
            ..Footer::default()
        };
        let pairs = footer.loss_pairs().into_iter().collect();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = pairs;
    }

    /// The pairs known so far.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The metadata known when the capture ends.
#[derive(Debug, Default)]
pub struct Footer {
    /// Lost records per CPU and kind (`LOST_SYSCALL`, `LOST_LIFECYCLE`).
    pub lost_per_cpu: Vec<[u64; LOST_KINDS as usize]>,
    /// Records the writer could not decode.
    pub undecodable: u64,
    /// Ended by a signal.
    pub interrupted: bool,
    /// Rows of launched commands before their exec, not written.
    pub pre_exec_dropped: u64,
    /// Gap rows written.
    pub gap_rows: u64,
    /// New processes that could not be followed (the kernel's filter was full).
    pub unfollowed: u64,
    /// The rings as laid out (`RingLayout::describe`); empty when not known.
    pub ring_layout: String,
}

impl Footer {
    /// Lost syscall records.
    pub fn lost_syscalls(&self) -> u64 {
        self.lost_per_cpu
            .iter()
            .map(|c| c[LOST_SYSCALL as usize])
            .sum()
    }

    /// Lost fork, exec and exit records.
    pub fn lost_lifecycle(&self) -> u64 {
        self.lost_per_cpu
            .iter()
            .map(|c| c[LOST_LIFECYCLE as usize])
            .sum()
    }

    fn loss_pairs(&self) -> [(&'static str, String); 2] {
        let (syscalls, lifecycle) = (self.lost_syscalls(), self.lost_lifecycle());
        let detail = serde_json::json!({
            "syscall": syscalls,
            "lifecycle": lifecycle,
            "per_cpu": self.lost_per_cpu.iter().map(|c| c.to_vec()).collect::<Vec<_>>(),
            "undecodable": self.undecodable,
        });
        [
            (meta::EVENTS_LOST, (syscalls + lifecycle).to_string()),
            (meta::EVENTS_LOST_DETAIL, detail.to_string()),
        ]
    }

    /// The footer's key-value pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = self.loss_pairs().to_vec();
        pairs.extend([
            (meta::END_NS, now_ns().to_string()),
            (meta::INTERRUPTED, self.interrupted.to_string()),
            (meta::PRE_EXEC_DROPPED, self.pre_exec_dropped.to_string()),
            (meta::GAP_ROWS, self.gap_rows.to_string()),
            (meta::UNFOLLOWED, self.unfollowed.to_string()),
        ]);
        if !self.ring_layout.is_empty() {
            pairs.push((meta::RING_LAYOUT, self.ring_layout.clone()));
        }
        pairs
    }
}

/// The files being written; the syscalls sink is with the writer meanwhile.
pub struct OpenFiles {
    run: RunFiles,
    processes: ProcessSink,
    chunk: u32,
    opened: Instant,
    path: PathBuf,
}

impl OpenFiles {
    /// The crash journal.
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.run.journal()
    }

    /// Which file of a rotating capture this is.
    pub fn chunk(&self) -> u32 {
        self.chunk
    }

    /// Time since the files were opened.
    pub fn age(&self) -> Duration {
        self.opened.elapsed()
    }

    /// The syscalls file, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the footer `pairs` and the process rows into both files, closes them and puts
    /// them in place. Returns the syscalls file's row count. On an error the crash journal
    /// keeps every row written.
    pub fn close(
        mut self,
        mut sink: SyscallSink,
        processes: Vec<ProcessRow>,
        pairs: &[(&'static str, String)],
    ) -> Result<u64, SinkError> {
        for (k, v) in pairs {
            sink.add_metadata(k, v.clone());
            self.processes.add_metadata(k, v.clone());
        }
        for p in processes {
            self.processes.push(p);
        }
        let rows = sink.close()?;
        self.processes.close()?;
        self.run.commit()?;
        Ok(rows)
    }
}

/// Whether a rotating capture's current file is to be closed now.
pub fn rotation_due(rotate: Rotate, files: &OpenFiles) -> bool {
    let bytes = files.journal().map_or(0, |j| j.bytes());
    rotate.bytes.is_some_and(|b| bytes >= b) || rotate.every.is_some_and(|t| files.age() >= t)
}
