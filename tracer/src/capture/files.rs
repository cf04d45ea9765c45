//! The run's two files: created with their header metadata before any command runs (which also
//! checks that the output is writable), closed with the footer (losses, end, interruption) and
//! committed together. Both are written under temporary names and renamed into place only when
//! complete: a failed capture never leaves a truncated file (or destroys the previous one).

use tracer_common::{LOST_KINDS, LOST_LIFECYCLE, LOST_SYSCALL};
use tracer_dataset::{Arch, ProcessRow, ProcessSink, RunFiles, SyscallSink, meta};

use super::{RecordConfig, RecordError};
use crate::{clock::now_ns, preflight};

/// The files being written; the syscalls sink is with the writer meanwhile.
pub struct OpenFiles {
    run: RunFiles,
    processes: ProcessSink,
}

/// Creates both files; returns them and the syscalls sink.
pub fn create(
    config: &RecordConfig,
    arch: Arch,
    clock_offset_ns: i64,
) -> Result<(OpenFiles, SyscallSink), RecordError> {
    let metadata = header(config, arch, clock_offset_ns, now_ns());
    let (run, sink, processes) = RunFiles::create(
        &config.output,
        &config.processes_output,
        &config.run,
        &metadata,
    )
    .map_err(RecordError::Output)?;
    Ok((OpenFiles { run, processes }, sink))
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

/// The metadata known when the capture ends.
pub struct Footer {
    /// Lost records per CPU and kind (`LOST_SYSCALL`, `LOST_LIFECYCLE`).
    pub lost_per_cpu: Vec<[u64; LOST_KINDS as usize]>,
    /// Records the writer could not decode.
    pub undecodable: u64,
    /// Ended by a signal.
    pub interrupted: bool,
    /// Rows of launched commands before their exec, not written.
    pub pre_exec_dropped: u64,
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

    fn pairs(&self) -> [(&'static str, String); 5] {
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
            (meta::END_NS, now_ns().to_string()),
            (meta::INTERRUPTED, self.interrupted.to_string()),
            (meta::PRE_EXEC_DROPPED, self.pre_exec_dropped.to_string()),
        ]
    }
}

impl OpenFiles {
    /// Writes the footer and the process rows into both files, closes them and moves them into
    /// place, owned by `owner` (uid, gid) if given. Returns the syscalls file's row count.
    pub fn close(
        mut self,
        mut sink: SyscallSink,
        processes: Vec<ProcessRow>,
        footer: &Footer,
        owner: Option<(u32, u32)>,
    ) -> Result<u64, RecordError> {
        for (k, v) in &footer.pairs() {
            sink.add_metadata(k, v.clone());
            self.processes.add_metadata(k, v.clone());
        }
        for p in processes {
            self.processes.push(p);
        }
        let rows = sink.close().map_err(RecordError::Sink)?;
        self.processes.close().map_err(RecordError::Sink)?;
        self.run.commit(owner).map_err(RecordError::Output)?;
        Ok(rows)
    }
}
