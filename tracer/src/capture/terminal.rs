//! The traced command's terminal. A command that runs as another user than the tracer must not
//! reach the tracer's controlling terminal: with it, `ioctl(TIOCSTI)` pushes input into the
//! shell that started the tracer, which runs it as root after the capture. So, as sudo's
//! `use_pty` and `su --pty` do:
//!
//! - when the tracer has a controlling terminal and standard input is a terminal, the command
//!   gets a new session on a pty of its own ([`Plan::Pty`]): the tracer's terminal goes to raw
//!   mode, a relay thread copies input to the pty and its output back, the window size follows
//!   (SIGWINCH), Ctrl-C and Ctrl-\ act on the command through the pty's line discipline, Ctrl-Z
//!   stops it and the tracer with it, as a shell job (`fg` resumes both), and the terminal is
//!   restored on every way out;
//! - when it has one but standard input is not a terminal, the command gets a new session
//!   without a terminal ([`Plan::NewSession`]): it still writes to inherited descriptors, but
//!   `TIOCSTI` needs the terminal to be its controlling one;
//! - otherwise (no terminal: pipes, CI; or the command runs as the tracer's own user) nothing
//!   changes.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    thread::JoinHandle,
};

use super::launch::ChildSession;

/// How the command's session is set up, decided before it is forked.
pub enum Plan {
    /// It shares the tracer's session and terminal.
    Inherit,
    /// A new session without a controlling terminal.
    NewSession,
    /// A new session on its own pty, relayed to the tracer's terminal.
    Pty(Pty),
}

/// A pty before the command runs on it.
pub struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
    /// Which of the tracer's descriptors 0, 1, 2 are terminals: the command gets the pty there
    /// (the others, pipes and files, it inherits as they are).
    fds: [bool; 3],
    /// The tracer's terminal settings before raw mode.
    saved: libc::termios,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty on any descriptor number.
    unsafe { libc::isatty(fd) == 1 }
}

/// Whether this process has a controlling terminal (`/dev/tty` opens).
fn has_controlling_terminal() -> bool {
    // SAFETY: opening and closing a descriptor of our own.
    unsafe {
        let fd = libc::open(
            c"/dev/tty".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return false;
        }
        libc::close(fd);
        true
    }
}

/// The session of a command run as `other_user` (another uid than the tracer's); `single`: it
/// is the only command (a pty has one session).
pub fn plan(other_user: Option<u32>, single: bool) -> Plan {
    let Some(uid) = other_user else {
        return Plan::Inherit;
    };
    if !has_controlling_terminal() {
        return Plan::Inherit;
    }
    if !single || !isatty(0) {
        return Plan::NewSession;
    }
    match Pty::open(uid) {
        Ok(pty) => Plan::Pty(pty),
        Err(e) => {
            log::warn!("cannot open a pty for the command ({e}): it runs without a terminal");
            Plan::NewSession
        }
    }
}

impl Plan {
    /// What the forked child does with it.
    pub fn child_session(&self) -> ChildSession {
        match self {
            Plan::Inherit => ChildSession::Inherit,
            Plan::NewSession => ChildSession::New,
            Plan::Pty(p) => ChildSession::Pty {
                slave: p.slave.as_raw_fd(),
                fds: p.fds,
            },
        }
    }
}

fn window_size(fd: RawFd) -> Option<libc::winsize> {
    // SAFETY: TIOCGWINSZ writes a winsize.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0).then_some(ws)
    }
}

impl Pty {
    /// A pty with the tracer's terminal settings and size, its slave given to `uid` (as the
    /// terminal of a login is its user's).
    fn open(uid: u32) -> io::Result<Self> {
        // SAFETY: plain system calls on descriptors we create and own.
        unsafe {
            let m = cvt(libc::posix_openpt(
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            ))?;
            let master = OwnedFd::from_raw_fd(m);
            cvt(libc::grantpt(m))?;
            cvt(libc::unlockpt(m))?;
            // The slave through the master, not by path (Linux 4.13+).
            let s = cvt(libc::ioctl(
                m,
                libc::TIOCGPTPEER,
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            ))?;
            let slave = OwnedFd::from_raw_fd(s);
            let mut saved: libc::termios = std::mem::zeroed();
            cvt(libc::tcgetattr(0, &mut saved))?;
            cvt(libc::tcsetattr(s, libc::TCSANOW, &saved))?;
            if let Some(ws) = window_size(0) {
                libc::ioctl(s, libc::TIOCSWINSZ, &ws);
            }
            cvt(libc::fchown(s, uid, u32::MAX))?;
            cvt(libc::fchmod(s, 0o620))?;
            let flags = cvt(libc::fcntl(m, libc::F_GETFL))?;
            cvt(libc::fcntl(m, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
            Ok(Self {
                master,
                slave,
                fds: [isatty(0), isatty(1), isatty(2)],
                saved,
            })
        }
    }
}

/// Ctrl-C, Ctrl-\ and Ctrl-Z typed for the command, which the tracer counts as it counts
/// signals.
#[derive(Debug, Default)]
struct Typed {
    interrupts: AtomicU32,
    quits: AtomicU32,
    suspends: AtomicU32,
}

impl Typed {
    /// Counts the pty's interrupt and quit characters in `input`, when its line discipline turns
    /// them into signals (a program in raw mode, an editor, reads them as bytes), and takes the
    /// suspend character out: the command leads its session, where the kernel discards a
    /// terminal's stop signal (an orphaned process group), so the tracer stops it instead.
    fn scan(&self, master: RawFd, input: &mut Vec<u8>) {
        // SAFETY: tcgetattr of the pty into a zeroed termios.
        let t = unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(master, &mut t) != 0 {
                return;
            }
            t
        };
        if t.c_lflag & libc::ISIG == 0 {
            return;
        }
        let (vintr, vquit, vsusp) = (
            t.c_cc[libc::VINTR],
            t.c_cc[libc::VQUIT],
            t.c_cc[libc::VSUSP],
        );
        input.retain(|b| {
            if *b == 0 {
                return true;
            }
            if *b == vintr {
                self.interrupts.fetch_add(1, Ordering::Relaxed);
            } else if *b == vquit {
                self.quits.fetch_add(1, Ordering::Relaxed);
            } else if *b == vsusp {
                self.suspends.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            true
        });
    }

    fn take(&self) -> Option<i32> {
        let take = |c: &AtomicU32| {
            c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        };
        if take(&self.interrupts) {
            Some(libc::SIGINT)
        } else if take(&self.quits) {
            Some(libc::SIGQUIT)
        } else if take(&self.suspends) {
            Some(libc::SIGTSTP)
        } else {
            None
        }
    }
}

/// The tracer's terminal in raw mode, with what to restore.
struct RawMode {
    saved: libc::termios,
    on: bool,
}

impl RawMode {
    fn enter(&mut self) {
        let mut raw = self.saved;
        // SAFETY: cfmakeraw edits our copy; tcsetattr on fd 0, a terminal.
        unsafe {
            libc::cfmakeraw(&mut raw);
            self.on = libc::tcsetattr(0, libc::TCSADRAIN, &raw) == 0;
        }
    }

    fn restore(&mut self) {
        if !self.on {
            return;
        }
        // From a background job tcsetattr would stop the tracer (SIGTTOU): ignore it meanwhile.
        // SAFETY: signal dispositions and tcsetattr on fd 0.
        unsafe {
            let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            libc::tcsetattr(0, libc::TCSADRAIN, &self.saved);
            libc::signal(libc::SIGTTOU, old);
        }
        self.on = false;
    }
}

/// The command's terminal while it runs (see the module's description).
pub struct Terminal {
    own_session: bool,
    relay: Option<Relay>,
}

/// A running pty relay.
struct Relay {
    master: Arc<OwnedFd>,
    wake: OwnedFd,
    thread: Option<JoinHandle<()>>,
    raw: Mutex<RawMode>,
    typed: Arc<Typed>,
}

impl Terminal {
    /// Starts what `plan` needs once the command is forked (it has its end of the pty): the
    /// tracer closes its own, puts its terminal in raw mode and starts the relay.
    pub fn start(plan: Plan) -> io::Result<Self> {
        let pty = match plan {
            Plan::Inherit => {
                return Ok(Self {
                    own_session: false,
                    relay: None,
                });
            }
            Plan::NewSession => {
                return Ok(Self {
                    own_session: true,
                    relay: None,
                });
            }
            Plan::Pty(pty) => pty,
        };
        let Pty {
            master,
            slave,
            fds,
            saved,
        } = pty;
        drop(slave);
        let mut pipe = [0; 2];
        // SAFETY: pipe2 into a valid array; the descriptors are ours.
        let (wake_read, wake) = unsafe {
            cvt(libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC))?;
            (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1]))
        };
        let out = if fds[1] {
            1
        } else if fds[2] {
            2
        } else {
            0
        };
        let master = Arc::new(master);
        let typed = Arc::new(Typed::default());
        let mut raw = RawMode { saved, on: false };
        raw.enter();
        let thread = {
            let (master, typed) = (master.clone(), typed.clone());
            std::thread::Builder::new()
                .name("tracer-pty".into())
                .spawn(move || relay(master.as_raw_fd(), wake_read, out, &typed))?
        };
        Ok(Self {
            own_session: true,
            relay: Some(Relay {
                master,
                wake,
                thread: Some(thread),
                raw: Mutex::new(raw),
                typed,
            }),
        })
    }

    /// Whether the command is in a session of its own: the terminal's signals do not reach it
    /// directly, the tracer forwards them.
    pub fn own_session(&self) -> bool {
        self.own_session
    }

    /// Whether the command runs on a pty relayed by the tracer.
    pub fn is_pty(&self) -> bool {
        self.relay.is_some()
    }

    /// Copies the tracer's window size to the pty (on SIGWINCH); the kernel tells the command.
    pub fn sync_winsize(&self) {
        if let Some(r) = &self.relay
            && let Some(ws) = window_size(0)
        {
            // SAFETY: TIOCSWINSZ on our pty master.
            unsafe { libc::ioctl(r.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        }
    }

    /// An interrupt (SIGINT), quit (SIGQUIT) or suspend (SIGTSTP) typed for the command since
    /// the last call. The pty delivered the first two; a suspend is the caller's to do
    /// (`stop_command`).
    pub fn take_typed(&self) -> Option<i32> {
        self.relay.as_ref()?.typed.take()
    }

    /// Stops the command `pid` (its process group) for a typed suspend; the main loop then sees
    /// it stopped and calls `suspend`.
    pub fn stop_command(&self, pid: i32) {
        // SAFETY: signalling our own child's process group (it leads one: its own session).
        unsafe {
            if libc::kill(-pid, libc::SIGSTOP) != 0 {
                libc::kill(pid, libc::SIGSTOP);
            }
        }
    }

    /// The command `pid` stopped (Ctrl-Z): gives the terminal back, stops the tracer as its
    /// shell's job, and when continued (`fg`) takes the terminal again and resumes the command.
    /// Where nobody could continue the tracer (an orphaned process group) the kernel discards
    /// the stop and the command resumes at once.
    pub fn suspend(&self, pid: i32) {
        let Some(r) = &self.relay else {
            return;
        };
        let mut raw = r.raw.lock().unwrap_or_else(|e| e.into_inner());
        raw.restore();
        // SAFETY: a stop signal to this very thread, so that it stops before returning.
        unsafe {
            libc::syscall(
                libc::SYS_tgkill,
                libc::getpid(),
                libc::gettid(),
                libc::SIGTSTP,
            );
        }
        raw.enter();
        drop(raw);
        self.sync_winsize();
        // SAFETY: continuing our own child's process group (it leads one: its own session).
        unsafe {
            if libc::kill(-pid, libc::SIGCONT) != 0 {
                libc::kill(pid, libc::SIGCONT);
            }
        }
    }

    /// Stops the relay after copying the command's last output, and restores the terminal.
    pub fn finish(&mut self) {
        let Some(mut r) = self.relay.take() else {
            return;
        };
        // SAFETY: one byte to our own pipe.
        unsafe { libc::write(r.wake.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
        if let Some(t) = r.thread.take() {
            let _ = t.join();
        }
        r.raw.lock().unwrap_or_else(|e| e.into_inner()).restore();
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Writes all of `data` to `fd`, waiting while it is full.
fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: writing from a valid buffer.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n > 0 {
            data = &data[n as usize..];
            continue;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: poll on one valid pollfd.
                unsafe { libc::poll(&mut p, 1, 100) };
            }
            _ => return,
        }
    }
}

/// Input buffered for the pty at most; beyond it the relay stops reading the terminal.
const MAX_PENDING: usize = 64 * 1024;

/// The relay thread: terminal input to the pty, pty output to the terminal, until woken.
fn relay(master: RawFd, wake: OwnedFd, out: RawFd, typed: &Typed) {
    let mut to_pty: Vec<u8> = Vec::new();
    let (mut input_open, mut output_open) = (true, true);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut fds = vec![libc::pollfd {
            fd: wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let input = (input_open && to_pty.len() < MAX_PENDING).then(|| {
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
            fds.len() - 1
        });
        let mut events = 0;
        if output_open {
            events |= libc::POLLIN;
            if !to_pty.is_empty() {
                events |= libc::POLLOUT;
            }
        }
        let pty = (events != 0).then(|| {
            fds.push(libc::pollfd {
                fd: master,
                events,
                revents: 0,
            });
            fds.len() - 1
        });
        // SAFETY: poll on our own array of pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break;
        }
        if fds[0].revents != 0 {
            break;
        }
        if let Some(i) = input
            && fds[i].revents != 0
        {
            // SAFETY: reading into our buffer.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                let mut got = buf[..n as usize].to_vec();
                typed.scan(master, &mut got);
                to_pty.extend_from_slice(&got);
            } else if n == 0
                || !matches!(
                    io::Error::last_os_error().raw_os_error(),
                    Some(libc::EINTR | libc::EAGAIN)
                )
            {
                input_open = false;
            }
        }
        if let Some(i) = pty {
            let revents = fds[i].revents;
            if revents & libc::POLLOUT != 0 && !to_pty.is_empty() {
                // SAFETY: writing from our buffer to the (non-blocking) master.
                let n = unsafe { libc::write(master, to_pty.as_ptr().cast(), to_pty.len()) };
                if n > 0 {
                    to_pty.drain(..n as usize);
                }
            }
            if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                // SAFETY: reading into our buffer.
                let n = unsafe { libc::read(master, buf.as_mut_ptr().cast(), buf.len()) };
                if n > 0 {
                    write_all(out, &buf[..n as usize]);
                } else if n == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN)
                {
                    // Every end of the pty is closed: the command and its children are gone.
                    // What is typed from now on stays for the tracer's shell.
                    output_open = false;
                    input_open = false;
                    to_pty.clear();
                }
            }
        }
    }
    // The command's last output.
    loop {
        // SAFETY: reading into our buffer from the non-blocking master.
        let n = unsafe { libc::read(master, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        write_all(out, &buf[..n as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pty pair in the default (cooked) mode: ISIG on, ^C, ^\ and ^Z its signal keys.
    fn pty() -> (OwnedFd, OwnedFd) {
        let (mut m, mut s) = (0, 0);
        // SAFETY: openpty writes two descriptors we then own.
        unsafe {
            assert_eq!(
                libc::openpty(
                    &mut m,
                    &mut s,
                    std::ptr::null_mut(),
                    std::ptr::null(),
                    std::ptr::null()
                ),
                0
            );
            (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s))
        }
    }

    #[test]
    fn typed_signal_keys_are_counted_and_the_suspend_key_taken_out() {
        let (master, slave) = pty();
        let typed = Typed::default();
        let mut input = b"a\x03b\x1ac\x1c".to_vec();
        typed.scan(master.as_raw_fd(), &mut input);
        assert_eq!(
            input, b"a\x03bc\x1c",
            "^Z is the tracer's, ^C and ^\\ the pty's"
        );
        assert_eq!(typed.take(), Some(libc::SIGINT));
        assert_eq!(typed.take(), Some(libc::SIGQUIT));
        assert_eq!(typed.take(), Some(libc::SIGTSTP));
        assert_eq!(typed.take(), None);
        // A program in raw mode reads the same bytes as bytes.
        // SAFETY: tcgetattr/tcsetattr on our own pty.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
            libc::cfmakeraw(&mut t);
            assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
        }
        let mut input = b"\x03\x1a".to_vec();
        typed.scan(master.as_raw_fd(), &mut input);
        assert_eq!((input.as_slice(), typed.take()), (&b"\x03\x1a"[..], None));
    }
}
