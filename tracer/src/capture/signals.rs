//! Signals during a capture. Every fatal signal the tracer can catch (SIGINT, SIGTERM, SIGHUP,
//! SIGQUIT, SIGPIPE) is caught from before any file exists, so each of them ends the capture
//! with complete files; SIGWINCH is caught for a command on its own pty (`terminal`). They are
//! caught on a current-thread tokio runtime: it starts no thread, so the launcher still forks
//! from a single-threaded process. Which of them the tracer's caller had ignored is remembered,
//! for the commands to inherit.

use tokio::{
    runtime::Runtime,
    signal::unix::{Signal, SignalKind, signal},
    time::Interval,
};

use super::{RecordError, follow::Follower};

/// The signal streams and the runtime that drives them.
pub struct Signals {
    runtime: Runtime,
    streams: Streams,
    /// The handled signals the caller had set to `SIG_IGN` (nohup's SIGHUP, a background
    /// job's SIGINT).
    pub ignored: Vec<i32>,
}

/// The caught signals.
pub struct Streams {
    int: Signal,
    term: Signal,
    hup: Signal,
    quit: Signal,
    pipe: Signal,
    winch: Signal,
}

impl Streams {
    /// Waits for the next tick of `tick` or a signal, whichever comes first; returns the signal.
    pub async fn next(&mut self, tick: &mut Interval) -> Option<i32> {
        tokio::select! {
            _ = self.int.recv() => Some(libc::SIGINT),
            _ = self.term.recv() => Some(libc::SIGTERM),
            _ = self.hup.recv() => Some(libc::SIGHUP),
            _ = self.quit.recv() => Some(libc::SIGQUIT),
            _ = self.pipe.recv() => Some(libc::SIGPIPE),
            _ = self.winch.recv() => Some(libc::SIGWINCH),
            _ = tick.tick() => None,
        }
    }
}

/// Whether `sig`'s disposition is `SIG_IGN`.
fn is_ignored(sig: i32) -> bool {
    // SAFETY: querying a disposition into a zeroed struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

impl Signals {
    /// Starts catching the signals.
    pub fn install() -> Result<Self, RecordError> {
        // An inherited SIG_IGN for SIGCHLD would make waitpid fail and the wait for the
        // commands never end.
        // SAFETY: restoring a default disposition.
        unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
        // SIGPIPE is left out: Rust's runtime ignores it before `main`, so its disposition says
        // nothing about the caller's; the command gets the default back (`launch`).
        let ignored = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT]
            .into_iter()
            .filter(|sig| is_ignored(*sig))
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RecordError::Runtime)?;
        let streams = {
            let _guard = runtime.enter();
            Streams {
                int: signal(SignalKind::interrupt()).map_err(RecordError::Runtime)?,
                term: signal(SignalKind::terminate()).map_err(RecordError::Runtime)?,
                hup: signal(SignalKind::hangup()).map_err(RecordError::Runtime)?,
                quit: signal(SignalKind::quit()).map_err(RecordError::Runtime)?,
                pipe: signal(SignalKind::pipe()).map_err(RecordError::Runtime)?,
                winch: signal(SignalKind::window_change()).map_err(RecordError::Runtime)?,
            }
        };
        Ok(Self {
            runtime,
            streams,
            ignored,
        })
    }

    /// Runs the main loop until the capture is over; see `Follower::follow`.
    pub fn follow(&mut self, follower: &mut Follower<'_>) -> Result<Option<i32>, RecordError> {
        self.runtime.block_on(follower.follow(&mut self.streams))
    }
}

/// Whether this process is in the terminal's foreground group: a Ctrl-C typed there reaches the
/// traced command directly, so it must not be sent a second time.
pub fn terminal_foreground() -> bool {
    // SAFETY: plain queries on fd 0 and our own process group.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
}
