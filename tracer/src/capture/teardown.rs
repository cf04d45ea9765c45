//! Ending a capture, on one path whether it finished, was interrupted or failed: untrace what
//! is still traced, stop the threads, then either report the first error or read the losses,
//! write the footer, commit the files and sum up the outcome.

use std::time::Instant;

use super::{
    JobOutcome, RecordConfig, RecordError, RecordOutcome, files::Footer, files::OpenFiles,
    pipeline::Pipeline,
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
    /// The output files.
    pub files: OpenFiles,
    /// Per launched command.
    pub jobs: Vec<JobOutcome>,
    /// When the capture started.
    pub started: Instant,
}

/// Ends the capture.
pub fn finish(config: &RecordConfig, ending: Ending) -> Result<RecordOutcome, RecordError> {
    let Ending {
        followed,
        mut probe,
        pipeline,
        files,
        jobs,
        started,
    } = ending;
    // Whatever is still traced (second Ctrl-C, -p targets, an error) runs on untraced.
    let untraced = probe.untrace_all();
    let joined = pipeline.stop();
    let stopped_by = match followed {
        Ok(stopped_by) => stopped_by,
        // A writer that failed says why better than the loop that noticed it stopped.
        Err(error) => {
            return Err(match joined.writer {
                Ok(Err(sink_error)) => RecordError::Sink(sink_error),
                _ => error,
            });
        }
    };
    untraced?;
    joined.drain.expect("drain thread panicked");
    let collected = joined
        .writer
        .expect("writer thread panicked")
        .map_err(RecordError::Sink)?;
    let footer = Footer {
        lost_per_cpu: probe.lost()?,
        undecodable: collected.stats.undecodable,
        interrupted: stopped_by.is_some(),
        pre_exec_dropped: collected.stats.pre_exec_dropped,
    };
    let processes = collected.processes.len() as u64;
    let rows = files.close(
        collected.sink,
        collected.processes,
        &footer,
        config.creds.as_ref().map(|c| (c.uid, c.gid)),
    )?;
    Ok(RecordOutcome {
        exit_code: exit_code(&jobs, stopped_by),
        jobs,
        rows,
        lost: footer.lost_syscalls() + footer.lost_lifecycle(),
        lost_syscalls: footer.lost_syscalls(),
        processes,
        wall: started.elapsed(),
        interrupted: footer.interrupted,
        totals: collected.totals,
        durations: config.durations,
    })
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
