//! How interleaved a run actually was: the measures that explain (or fail to explain) a rise in
//! interleaved-view mismatch, per run.
//!
//! - **Switch rates** of the interleaved stream (the run in `seq` order): the share of adjacent
//!   call pairs made by different threads (`thread_switch_rate`) and by different processes
//!   (`process_switch_rate`). A run of commands one at a time switches only where one command
//!   hands over to the next (and inside multi-threaded commands); commands interleaved by the
//!   scheduler switch often.
//! - **Concurrency** from the processes table: the run's commands are its root processes (those
//!   whose parent is not a process of the run: for an experiment, the commands the tracer
//!   launched). Over the time at least one command is alive, `concurrency_mean` is the average
//!   number alive, `concurrency_max` the most at once, and `overlap_share` the share of that time
//!   with two or more alive. Commands run one at a time give 1, 1 and 0.

use std::path::Path;

use tracer_dataset::{layout, rows};

use crate::{
    dataset::{RowChunk, RowConsumer, RunMeta},
    error::AnalysisError,
    intern::GAP_ID,
};

/// The mechanism measures of one run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RunMechanism {
    /// The run.
    pub run_id: String,
    /// Its scenario.
    pub scenario: Option<String>,
    /// Its mode.
    pub mode: Option<String>,
    /// Calls in the run.
    pub calls: u64,
    /// Adjacent pairs (in `seq` order) made by different threads, over all adjacent pairs.
    pub thread_switch_rate: Option<f64>,
    /// Adjacent pairs made by different processes, over all adjacent pairs.
    pub process_switch_rate: Option<f64>,
    /// The run's commands (root processes) with a start time.
    pub commands: u64,
    /// Average number of commands alive while any is.
    pub concurrency_mean: Option<f64>,
    /// Most commands alive at once.
    pub concurrency_max: Option<u64>,
    /// Share of the time any command is alive during which two or more are.
    pub overlap_share: Option<f64>,
}

/// Concurrency of a set of command lifetimes `[start, end)` in ns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Concurrency {
    /// Average number alive over the union of the lifetimes.
    pub mean: f64,
    /// Most alive at once.
    pub max: u64,
    /// Share of the union with two or more alive.
    pub overlap_share: f64,
}

/// Sweeps the lifetimes; `None` if there is none of positive length.
pub fn concurrency(lifetimes: &[(i64, i64)]) -> Option<Concurrency> {
    let mut events: Vec<(i64, i32)> = Vec::with_capacity(lifetimes.len() * 2);
    for &(s, e) in lifetimes {
        if e > s {
            events.push((s, 1));
            events.push((e, -1));
        }
    }
    if events.is_empty() {
        return None;
    }
    // Ends before starts at the same instant: a command that starts as another ends does not
    // overlap it.
    events.sort_unstable();
    let (mut alive, mut max, mut last) = (0i64, 0i64, events[0].0);
    let (mut busy, mut weighted, mut overlapped) = (0i64, 0i128, 0i64);
    for (t, delta) in events {
        let span = t - last;
        if alive > 0 {
            busy += span;
            weighted += i128::from(alive) * i128::from(span);
        }
        if alive > 1 {
            overlapped += span;
        }
        alive += i64::from(delta);
        max = max.max(alive);
        last = t;
    }
    (busy > 0).then(|| Concurrency {
        mean: weighted as f64 / busy as f64,
        max: max as u64,
        overlap_share: overlapped as f64 / busy as f64,
    })
}

/// The lifetimes of the root processes among `procs` (those whose parent is not one of them);
/// a root still running at the end lasts until the last known end.
pub fn command_lifetimes(procs: &[rows::ProcessRecord]) -> Vec<(i64, i64)> {
    let pids: std::collections::HashSet<i32> = procs.iter().map(|p| p.pid).collect();
    let last_end = procs.iter().filter_map(|p| p.exit_ns).max();
    procs
        .iter()
        .filter(|p| p.ppid.is_none_or(|pp| !pids.contains(&pp)))
        .filter_map(|p| Some((p.start_ns?, p.exit_ns.or(last_end)?)))
        .collect()
}

/// A `RowConsumer` counting switches of every run it is fed (the reader gives rows in `seq`
/// order); concurrency is filled in from the processes files by `measure`.
#[derive(Debug, Default)]
pub struct SwitchCounter {
    current: Option<Counting>,
    results: Vec<RunMechanism>,
}

/// The run being counted.
#[derive(Debug)]
struct Counting {
    run: RunMeta,
    calls: u64,
    /// Consecutive pairs of calls (none across a gap).
    pairs: u64,
    thread_switches: u64,
    process_switches: u64,
    /// (pid, tid) of the previous call.
    last: Option<(i32, i32)>,
}

impl RowConsumer for SwitchCounter {
    fn begin_run(&mut self, run: &RunMeta) -> Result<(), AnalysisError> {
        self.current = Some(Counting {
            run: run.clone(),
            calls: 0,
            pairs: 0,
            thread_switches: 0,
            process_switches: 0,
            last: None,
        });
        Ok(())
    }

    fn rows(&mut self, chunk: &RowChunk<'_>) {
        let Some(c) = &mut self.current else {
            return;
        };
        for ((&pid, &tid), &id) in chunk.pid.iter().zip(chunk.tid).zip(chunk.syscall) {
            if id == GAP_ID {
                // Lost records: no switch is counted across the hole.
                c.last = None;
                continue;
            }
            if let Some((lp, lt)) = c.last {
                c.pairs += 1;
                c.thread_switches += u64::from(lt != tid);
                c.process_switches += u64::from(lp != pid);
            }
            c.last = Some((pid, tid));
            c.calls += 1;
        }
    }

    fn end_run(&mut self) -> Result<(), AnalysisError> {
        if let Some(c) = self.current.take() {
            let pairs = c.pairs;
            let rate = |n: u64| (pairs > 0).then(|| n as f64 / pairs as f64);
            self.results.push(RunMechanism {
                run_id: c.run.run_id,
                scenario: c.run.scenario,
                mode: c.run.mode,
                calls: c.calls,
                thread_switch_rate: rate(c.thread_switches),
                process_switch_rate: rate(c.process_switches),
                commands: 0,
                concurrency_mean: None,
                concurrency_max: None,
                overlap_share: None,
            });
        }
        Ok(())
    }
}

impl SwitchCounter {
    /// The switch rates of every run fed, in scan order (concurrency not yet filled in).
    pub fn into_results(self) -> Vec<RunMechanism> {
        self.results
    }
}

/// Fills in the concurrency of `runs` from the processes files beside the dataset's syscalls
/// files (`layout::processes_for`); runs without a processes table keep `None`.
pub fn add_concurrency(runs: &mut [RunMechanism], syscalls_files: &[impl AsRef<Path>]) {
    let mut by_run: std::collections::HashMap<String, Vec<rows::ProcessRecord>> =
        std::collections::HashMap::new();
    for f in syscalls_files {
        let p = layout::processes_for(f.as_ref());
        // A dataset without processes files (an import of ADFA-LD) has no concurrency.
        let Ok(procs) = rows::read_processes(&p) else {
            continue;
        };
        for r in procs {
            by_run.entry(r.run_id.clone()).or_default().push(r);
        }
    }
    for m in runs {
        let Some(procs) = by_run.get(&m.run_id) else {
            continue;
        };
        let lifetimes = command_lifetimes(procs);
        m.commands = lifetimes.len() as u64;
        if let Some(c) = concurrency(&lifetimes) {
            m.concurrency_mean = Some(c.mean);
            m.concurrency_max = Some(c.max);
            m.overlap_share = Some(c.overlap_share);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn concurrency_by_hand() {
        // One after another, with a pause: 1 alive whenever any is, no overlap.
        let c = concurrency(&[(0, 10), (20, 30), (30, 40)]).expect("c");
        assert!(
            close(c.mean, 1.0) && close(c.overlap_share, 0.0) && c.max == 1,
            "{c:?}"
        );
        // [0,10) and [5,15): busy 15, alive-time 20, two alive for 5.
        let c = concurrency(&[(0, 10), (5, 15)]).expect("c");
        assert!(
            close(c.mean, 20.0 / 15.0) && close(c.overlap_share, 5.0 / 15.0),
            "{c:?}"
        );
        assert_eq!(c.max, 2);
        // Three released at once, ending at 10, 20, 30: alive 60 over 30, >=2 for 20.
        let c = concurrency(&[(0, 10), (0, 20), (0, 30)]).expect("c");
        assert!(close(c.mean, 2.0) && close(c.overlap_share, 20.0 / 30.0) && c.max == 3);
        assert_eq!(concurrency(&[(5, 5)]), None);
    }

    #[test]
    fn commands_are_the_roots() {
        let p = |pid, ppid, s, e| rows::ProcessRecord {
            run_id: "r".into(),
            pid,
            ppid: Some(ppid),
            start_ns: Some(s),
            exit_ns: e,
            exit_code: None,
            signal: None,
            comm: None,
            exe: None,
            argv: None,
            followed: None,
            exit_from_wait: None,
        };
        // 10 and 20 launched by the tracer (pid 1, not in the table); 11 is 10's child.
        let procs = [
            p(10, 1, 0, Some(50)),
            p(11, 10, 5, Some(60)),
            p(20, 1, 40, None),
        ];
        assert_eq!(command_lifetimes(&procs), vec![(0, 50), (40, 60)]);
    }

    #[test]
    fn switch_rates_by_hand() {
        let mut c = SwitchCounter::default();
        let run = RunMeta {
            run_id: "r".into(),
            source: "t".into(),
            scenario: Some("s".into()),
            mode: Some("mr".into()),
        };
        c.begin_run(&run).expect("begin");
        // (pid, tid): 1/1, 1/2, 2/3 | 2/3, 1/1: pairs 4; thread switches 3, process switches 2.
        let seq = [0, 1, 2];
        c.rows(&RowChunk {
            seq: &seq,
            pid: &[1, 1, 2],
            tid: &[1, 2, 3],
            syscall: &[0, 0, 0],
        });
        c.rows(&RowChunk {
            seq: &seq[..2],
            pid: &[2, 1],
            tid: &[3, 1],
            syscall: &[0, 0],
        });
        c.end_run().expect("end");
        let m = &c.into_results()[0];
        assert_eq!(m.calls, 5);
        assert!(close(m.thread_switch_rate.expect("t"), 0.75));
        assert!(close(m.process_switch_rate.expect("p"), 0.5));
    }
}
