//! Ending a capture, on one path whether it finished, was interrupted or failed: untrace what
//! is still traced, stop the threads, then either report the first error or read the losses,
//! write the footer, commit the files and sum up the outcome. A capture whose files could not
//! be written to the end (disk full, I/O error) is an outcome too, `Incomplete`, saying what
//! was kept and where.

use std::time::Instant;

use tracer_dataset::SinkError;

use super::{
    Incomplete, JobOutcome, RecordConfig, RecordError, RecordOutcome, files::Footer,
    lineage::fill_from_wait, pipeline::Pipeline, ring::EventRing, writer::WriteFailure,
};
use crate::probe::Probe;

/// Everything a capture holds when following ends.
pub struct Ending {
    /// How following ended: the signal that ended it, or an error.
    pub followed: Result<Option<i32>, RecordError>,
    /// The kernel side.
    pub probe: Probe,
    /// The drain and writer threads.
    pub pipeline: Pipeline,
    /// Per launched command.
    pub jobs: Vec<JobOutcome>,
    /// When the capture started.
    pub started: Instant,
}

/// Ends the capture. The probe and its ring go to `reusable` when the capture ended without an
/// error (the next capture uses them only if they are as fresh: see `capture::Session`).
pub fn finish(
    config: &RecordConfig,
    ending: Ending,
    reusable: &mut Option<(Probe, EventRing)>,
) -> Result<RecordOutcome, RecordError> {
    let Ending {
        followed,
        mut probe,
        pipeline,
        jobs,
        started,
    } = ending;
    // Whatever is still traced (second Ctrl-C, -p targets, an error) runs on untraced.
    let untraced = probe.untrace_all();
    // Gaps whose CPU wrote nothing after its loss are still pending: nothing is traced any more,
    // so they go after the ring's last records.
    let pending = probe.pending_gaps();
    let tail = pending
        .as_ref()
        .map(|gaps| gaps.iter().map(|g| pod_bytes(g).to_vec()).collect())
        .unwrap_or_default();
    let joined = pipeline.stop(tail);
    let stopped_by = followed?;
    untraced?;
    pending?;
    let mut ring = joined.drain.expect("drain thread panicked");
    // Read to its end: its pages leave this process's memory while the files are closed.
    ring.park();
    let lost_per_cpu = probe.lost()?;
    let unfollowed = probe.unfollowed()?;
    let ring_layout = probe.ring_layout().describe();
    // Whether the next capture may use them is decided when it starts (`Probe::is_fresh`).
    *reusable = Some((probe, ring));
    let mut outcome = RecordOutcome {
        exit_code: exit_code(&jobs, stopped_by),
        jobs,
        interrupted: stopped_by.is_some(),
        durations: config.durations,
        ..RecordOutcome::default()
    };
    let mut collected = match joined.writer.expect("writer thread panicked") {
        Ok(collected) => collected,
        Err(failure) => {
            outcome.rows = failure.kept;
            outcome.incomplete = Some(incomplete(*failure));
            outcome.wall = started.elapsed();
            return Ok(outcome);
        }
    };
    for job in &outcome.jobs {
        fill_from_wait(
            &mut collected.processes,
            job.pid,
            job.end_ns,
            job.exit_code,
            job.signal,
        );
    }
    let footer = Footer {
        lost_per_cpu,
        undecodable: collected.stats.undecodable,
        interrupted: stopped_by.is_some(),
        pre_exec_dropped: collected.stats.pre_exec_dropped,
        gap_rows: collected.stats.gaps,
        unfollowed,
        ring_layout,
    };
    outcome.lost = footer.lost_syscalls() + footer.lost_lifecycle();
    outcome.lost_syscalls = footer.lost_syscalls();
    outcome.processes = collected.processes.len() as u64;
    outcome.totals = collected.totals;
    let files = collected.files.expect("the capture's writer has its files");
    let journal = files.journal().cloned();
    let closing = Instant::now();
    // The drain's and the writer's batches are freed (both threads have ended) but kept by the
    // allocator in their threads' arenas: given back first, so closing the files (which
    // encodes the last rows and merges the journal's small parts) does not add to them.
    // SAFETY: malloc_trim has no preconditions.
    unsafe { libc::malloc_trim(0) };
    let closed = files.close(collected.sink, collected.processes, &footer.pairs());
    log::debug!(
        "files closed in {} us ({} journal parts)",
        closing.elapsed().as_micros(),
        journal.as_ref().map_or(0, |j| j.parts())
    );
    match closed {
        Ok(rows) => outcome.rows = collected.rows_before + rows,
        Err(error) => {
            let in_journal = journal.as_ref().map_or(0, |j| j.rows_kept());
            outcome.rows = collected.rows_before + in_journal;
            outcome.incomplete = Some(incomplete(WriteFailure {
                error,
                kept: outcome.rows,
                journal: journal
                    .filter(|j| j.parts() > 0)
                    .map(|j| j.path().to_path_buf()),
                closed: Vec::new(),
            }));
        }
    }
    outcome.wall = started.elapsed();
    Ok(outcome)
}

/// The bytes of a record, as a program would have written it into the ring.
fn pod_bytes<T: aya::Pod>(record: &T) -> &[u8] {
    // SAFETY: `aya::Pod` records are repr(C) integers with explicit padding: every byte is
    // initialised.
    unsafe {
        std::slice::from_raw_parts((record as *const T).cast::<u8>(), std::mem::size_of::<T>())
    }
}

/// The error's message with its causes, as `main` prints errors.
fn chain(error: &SinkError) -> String {
    let mut s = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        s.push_str(": ");
        s.push_str(&e.to_string());
        source = e.source();
    }
    s
}

fn incomplete(failure: WriteFailure) -> Incomplete {
    Incomplete {
        message: chain(&failure.error),
        os_error: failure
            .error
            .os_error()
            .and_then(std::io::Error::raw_os_error),
        kept: failure.kept,
        journal: failure.journal,
        closed: failure.closed,
    }
}

/// The exit status of `tracer record`: the first command's own, 128+N if killed by signal N.
fn exit_code(jobs: &[JobOutcome], stopped_by: Option<i32>) -> i32 {
    jobs.first()
        .map(|o| match (o.exit_code, o.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            // Stopped before the command ended (a second Ctrl-C): as if killed by the signal.
            _ => stopped_by.map_or(0, |s| 128 + s),
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_is_the_first_commands() {
        let job = |exit_code, signal| JobOutcome {
            exit_code,
            signal,
            ..JobOutcome::default()
        };
        assert_eq!(exit_code(&[job(Some(3), None)], None), 3, "its exit status");
        assert_eq!(
            exit_code(&[job(None, Some(9))], None),
            137,
            "killed by SIGKILL"
        );
        assert_eq!(
            exit_code(&[job(None, None)], Some(libc::SIGINT)),
            130,
            "stopped by a second Ctrl-C before it ended"
        );
        assert_eq!(
            exit_code(&[], Some(libc::SIGINT)),
            0,
            "-p: nothing launched"
        );
    }
}
