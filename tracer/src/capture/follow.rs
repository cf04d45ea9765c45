//! Following a capture until it is over: releasing the launched commands (one after another,
//! or all at once after every one is registered), reaping them, killing those past their
//! timeout, forwarding signals, pruning dead processes from the kernel filter and reporting
//! progress (and the losses so far, for the crash journal). The capture is over when every
//! command has ended and no traced process is left, or on a second signal (or the first with
//! `-p`). When the writer fails (disk full), tracing stops and the commands run on to their end.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use tokio::signal::unix::{SignalKind, signal};

use super::{
    Job, JobOutcome, Progress, RecordConfig, RecordError, Schedule, Target,
    files::Live,
    launch::{Blocked, Credentials},
    pipeline::Pipeline,
    signals::{Streams, terminal_foreground},
    targets::Registered,
    terminal::Terminal,
};
use crate::{clock::now_ns, probe::Probe};

/// How long a process stays in the filter after its last thread started exiting: every thread's
/// exit event is written well within it.
const DYING_GRACE: Duration = Duration::from_millis(50);
/// Period of the main loop.
const TICK: Duration = Duration::from_millis(10);
/// Period of progress reports.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Period of the loss counters' reading for the crash journal.
const LOSSES_EVERY: Duration = Duration::from_secs(1);

/// A released command that has not been reaped yet.
struct Running {
    pid: i32,
    job: usize,
    deadline: Option<Instant>,
}

/// The main loop's state.
pub struct Follower<'a> {
    config: &'a RecordConfig,
    probe: &'a mut Probe,
    pipeline: &'a Pipeline,
    jobs: &'a [Job],
    schedule: Schedule,
    /// Per job, its blocked child until released (or killed unreleased).
    blocked: Vec<Option<Blocked>>,
    outcomes: Vec<JobOutcome>,
    running: Vec<Running>,
    /// The next job to release in sequence (`blocked.len()`: none left).
    next: usize,
    /// When the last command was reaped (the sequential pause counts from it).
    last_exit: Option<Instant>,
    /// When the first spaced command was released (`Schedule::Spaced` counts from it).
    first_release: Option<Instant>,
    /// Signals received, and the last one.
    signals: u32,
    last_signal: Option<i32>,
    started: Instant,
    last_progress: Instant,
    /// When each dying process was first seen dying (see `Probe::prune_dying`).
    dying_since: HashMap<u32, Instant>,
    /// The tracer's own pid, never signalled.
    me: u32,
    /// The launched command's terminal session.
    terminal: &'a Terminal,
    /// Where the losses so far go.
    live: &'a Live,
    last_losses: Instant,
    /// The writer failed: nothing is traced any more.
    writer_lost: bool,
}

impl<'a> Follower<'a> {
    /// A loop over the `registered` targets of `config`; `started`: when the capture started.
    pub fn new(
        config: &'a RecordConfig,
        probe: &'a mut Probe,
        registered: Registered,
        pipeline: &'a Pipeline,
        started: Instant,
        terminal: &'a Terminal,
        live: &'a Live,
    ) -> Self {
        let (jobs, schedule) = match &config.target {
            Target::Launch { jobs, schedule } => (jobs.as_slice(), *schedule),
            Target::Attach { .. } => (&[][..], Schedule::Concurrent),
        };
        Self {
            config,
            probe,
            pipeline,
            jobs,
            schedule,
            blocked: registered.blocked,
            outcomes: registered.outcomes,
            running: Vec::new(),
            next: 0,
            last_exit: None,
            first_release: None,
            signals: 0,
            last_signal: None,
            started,
            last_progress: Instant::now(),
            dying_since: HashMap::new(),
            // SAFETY: getpid has no preconditions.
            me: unsafe { libc::getpid() } as u32,
            terminal,
            live,
            last_losses: Instant::now(),
            writer_lost: false,
        }
    }

    /// What happened to each launched command.
    pub fn into_outcomes(self) -> Vec<JobOutcome> {
        self.outcomes
    }

    /// Follows until the capture is over; returns the signal that ended it, if one did.
    pub async fn follow(&mut self, streams: &mut Streams) -> Result<Option<i32>, RecordError> {
        // A spaced release needs a finer clock than the loop's usual period.
        let period = match self.schedule {
            Schedule::Spaced { spacing } => spacing.clamp(Duration::from_millis(1), TICK),
            _ => TICK,
        };
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // A command's exit wakes the loop at once rather than at the next tick, so the capture
        // ends as soon as the command does. Without the stream, the ticks still reap.
        let mut child_exits = signal(SignalKind::child()).ok();
        if self.schedule == Schedule::Concurrent {
            self.release_all()?;
        }
        loop {
            let next = tokio::select! {
                sig = streams.next(&mut tick) => sig,
                Some(()) = async {
                    match child_exits.as_mut() {
                        Some(exits) => exits.recv().await,
                        None => std::future::pending().await,
                    }
                } => None,
            };
            let signal = match next {
                Some(libc::SIGWINCH) => {
                    self.terminal.sync_winsize();
                    None
                }
                Some(sig) => Some((sig, false)),
                None => match self.terminal.take_typed() {
                    // Ctrl-Z typed on the command's pty: stopped here, suspended in `reap`.
                    Some(libc::SIGTSTP) => {
                        for r in &self.running {
                            self.terminal.stop_command(r.pid);
                        }
                        None
                    }
                    // Ctrl-C or Ctrl-\ typed on the command's pty: it has the signal already.
                    typed => typed.map(|sig| (sig, true)),
                },
            };
            if let Some((sig, typed)) = signal
                && let Some(stop) = self.on_signal(sig, typed)
            {
                return Ok(Some(stop));
            }
            self.reap()?;
            self.release_next()?;
            self.report_progress();
            self.publish_losses()?;
            if !self.writer_lost && self.pipeline.writer_finished() {
                // The writer only ends early on an error (disk full, ...): trace no more, and
                // let the commands run to their end (the tracer's disk is not theirs to die of).
                self.writer_lost = true;
                self.probe.untrace_all()?;
                self.cancel_blocked();
                if matches!(self.config.target, Target::Attach { .. }) {
                    return Ok(self.last_signal);
                }
            }
            self.probe.prune_dying(&mut self.dying_since, DYING_GRACE)?;
            // A process leaves the filter when its last thread has written its exit record
            // (the exit hook), when reaped here (see `reap`), or, if other threads may still
            // be exiting, `DYING_GRACE` after it started dying. An empty filter means every
            // exit record is in the ring.
            if self.running.is_empty()
                && self.next >= self.blocked.len()
                && self.probe.traced_pids()?.is_empty()
            {
                return Ok(self.last_signal);
            }
        }
    }

    fn creds(&self) -> Option<&'a Credentials> {
        self.config.creds.as_ref()
    }

    fn run(&mut self, job: usize, pid: i32) {
        self.running.push(Running {
            pid,
            job,
            deadline: self.jobs[job].timeout.map(|t| Instant::now() + t),
        });
    }

    /// The M.R barrier: everything is forked and registered; lets all go at once, then collects
    /// their exec results.
    fn release_all(&mut self) -> Result<(), RecordError> {
        let mut released = Vec::new();
        for (i, b) in self.blocked.iter_mut().enumerate() {
            if let Some(child) = b.take() {
                self.outcomes[i].start_ns = now_ns();
                released.push((i, child.go()?));
            }
        }
        for (i, r) in released {
            let pid = r.wait_exec(self.creds())?;
            self.run(i, pid);
        }
        self.next = self.blocked.len();
        Ok(())
    }

    /// Spaced M.R: releases every command whose time has come, without waiting for the others
    /// to end: command i at i x spacing after the first one's exec, so the spacing holds between
    /// the commands' starts however long the first exec took.
    fn release_spaced(&mut self, spacing: Duration) -> Result<(), RecordError> {
        while self.next < self.blocked.len() {
            if let Some(first) = self.first_release
                && first.elapsed() < spacing * self.next as u32
            {
                return Ok(());
            }
            let i = self.next;
            self.next += 1;
            if let Some(child) = self.blocked[i].take() {
                self.outcomes[i].start_ns = now_ns();
                let pid = child.release(self.creds())?;
                self.run(i, pid);
            }
            self.first_release.get_or_insert_with(Instant::now);
        }
        Ok(())
    }

    /// M.S: releases the next command once the previous one has exited and the pause is over;
    /// spaced M.R: see `release_spaced`.
    fn release_next(&mut self) -> Result<(), RecordError> {
        let pause = match self.schedule {
            Schedule::Sequential { pause } => pause,
            Schedule::Spaced { spacing } => return self.release_spaced(spacing),
            Schedule::Concurrent => return Ok(()),
        };
        if !self.running.is_empty()
            || self.next >= self.blocked.len()
            || self.last_exit.is_some_and(|t| t.elapsed() < pause)
        {
            return Ok(());
        }
        let i = self.next;
        self.next += 1;
        if let Some(child) = self.blocked[i].take() {
            self.outcomes[i].start_ns = now_ns();
            let pid = child.release(self.creds())?;
            self.run(i, pid);
        }
        Ok(())
    }

    /// The losses so far, for the crash journal's next part (about every second).
    fn publish_losses(&mut self) -> Result<(), RecordError> {
        if self.last_losses.elapsed() >= LOSSES_EVERY {
            self.last_losses = Instant::now();
            self.live.set_losses(&self.probe.lost()?);
        }
        Ok(())
    }

    /// Handles a signal (`typed`: a Ctrl-C or Ctrl-\ the command's pty turned into a signal for
    /// it); returns it when the capture must stop now (`-p`, or a second signal).
    fn on_signal(&mut self, sig: i32, typed: bool) -> Option<i32> {
        self.signals += 1;
        self.last_signal = Some(sig);
        if matches!(self.config.target, Target::Attach { .. }) || self.signals > 1 {
            // -p: stop and leave the processes running. Second signal: stop now.
            return Some(sig);
        }
        // A Ctrl-C or Ctrl-\ on a terminal the jobs share with the tracer reached them too;
        // jobs in their own groups or sessions see nothing: forward it.
        let detached = self.config.job_process_groups || self.terminal.own_session();
        let reached = typed
            || (!detached && matches!(sig, libc::SIGINT | libc::SIGQUIT) && terminal_foreground());
        if !reached {
            let pids: Vec<i32> = self.running.iter().map(|r| r.pid).collect();
            for pid in pids {
                self.signal_job(pid, sig);
            }
        }
        self.cancel_blocked();
        None
    }

    /// Kills the commands not yet started: they never will be.
    fn cancel_blocked(&mut self) {
        for child in self.blocked.iter_mut().filter_map(Option::take) {
            // SAFETY: killing our own blocked child; then reaping it.
            unsafe {
                libc::kill(child.pid(), libc::SIGKILL);
                let mut status = 0;
                libc::waitpid(child.pid(), &mut status, 0);
            }
        }
        self.next = self.blocked.len();
    }

    /// Sends `sig` to a launched job: its process group in experiments, else the whole traced
    /// tree (every traced process), as a tree-wide Ctrl-C would.
    fn signal_job(&mut self, pid: i32, sig: i32) {
        if self.config.job_process_groups {
            // SAFETY: signalling the job's own process group.
            unsafe { libc::kill(-pid, sig) };
            return;
        }
        for p in self.probe.traced_pids().unwrap_or_default() {
            if p != self.me {
                // SAFETY: signalling a traced process.
                unsafe { libc::kill(p as i32, sig) };
            }
        }
    }

    /// Reaps finished commands, removes them from the filter and kills those past their timeout.
    /// A reaped process has no thread left (wait reports a thread group leader only once its
    /// other threads are released, kernel/exit.c `delay_group_leader`), so every one of them
    /// passed the exit hook: its records are in the ring and it needs no grace. A command is
    /// removed from the filter before it is reaped: until then it is a zombie holding its pid,
    /// so no new process (a traced one's child given that pid with `clone3`'s `set_tid`, say)
    /// can be the one removed. A command on its own pty that stopped (Ctrl-Z) suspends the
    /// tracer with it (`Terminal::suspend`).
    fn reap(&mut self) -> Result<(), RecordError> {
        let mut timed_out = Vec::new();
        let mut stopped = Vec::new();
        let mut reaped = Vec::new();
        let mut untraced = Ok(());
        let pty = self.terminal.is_pty();
        let (outcomes, last_exit, probe) =
            (&mut self.outcomes, &mut self.last_exit, &mut self.probe);
        self.running.retain(|r| {
            let ended = ended(r.pid);
            if ended && let Err(e) = probe.untrace(r.pid as u32) {
                untraced = Err(e);
            }
            let mut status = 0;
            let got = if ended {
                // SAFETY: reaping our own child, which has ended (a zombie).
                unsafe { libc::waitpid(r.pid, &mut status, libc::WNOHANG) }
            } else if pty && stopped_now(r.pid) {
                stopped.push(r.pid);
                return true;
            } else {
                0
            };
            let o = &mut outcomes[r.job];
            if got == r.pid || got < 0 {
                // got < 0: the child is gone without a status (reaped elsewhere).
                o.end_ns = now_ns();
                if got == r.pid && libc::WIFEXITED(status) {
                    o.exit_code = Some(libc::WEXITSTATUS(status));
                } else if got == r.pid && libc::WIFSIGNALED(status) {
                    o.signal = Some(libc::WTERMSIG(status));
                }
                *last_exit = Some(Instant::now());
                reaped.push(r.pid);
                return false;
            }
            if r.deadline.is_some_and(|d| Instant::now() >= d) && !o.timed_out {
                o.timed_out = true;
                timed_out.push(r.pid);
            }
            true
        });
        untraced?;
        for pid in reaped {
            self.dying_since.remove(&(pid as u32));
        }
        for pid in timed_out {
            self.signal_job(pid, libc::SIGKILL);
        }
        for pid in stopped {
            self.terminal.suspend(pid);
        }
        Ok(())
    }

    fn report_progress(&mut self) {
        let Some(progress) = &self.config.progress else {
            return;
        };
        if self.last_progress.elapsed() >= PROGRESS_EVERY {
            self.last_progress = Instant::now();
            progress.report(&Progress::Running {
                events: self.pipeline.records_drained(),
                elapsed: self.started.elapsed(),
            });
        }
    }
}

/// A non-blocking `waitid` on our child `pid` for the state changes `options` names: whether
/// it reported one; `None` when the child is gone (reaped elsewhere).
fn child_changed(pid: libc::pid_t, options: libc::c_int) -> Option<bool> {
    // SAFETY: an all-zero siginfo_t is valid; the kernel fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: a non-blocking wait on our own child.
    let got = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            options | libc::WNOHANG,
        )
    };
    // SAFETY: filled by the kernel (zero when no child has changed state).
    (got == 0).then(|| unsafe { info.si_pid() } == pid)
}

/// Whether our child `pid` has ended, without reaping it (`WNOWAIT`: it stays a zombie, its pid
/// taken). A child that is gone (reaped elsewhere) counts as ended too: the wait that follows
/// says so.
fn ended(pid: libc::pid_t) -> bool {
    child_changed(pid, libc::WEXITED | libc::WNOWAIT).unwrap_or(true)
}

/// Whether our child `pid` has just stopped (a stop not reported before; consumes the report).
fn stopped_now(pid: libc::pid_t) -> bool {
    child_changed(pid, libc::WSTOPPED) == Some(true)
}
