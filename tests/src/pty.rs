//! A terminal for end-to-end tests: a pty whose slave side is the controlling terminal of a
//! spawned program (as a login terminal is a shell's), its output collected from the master side
//! and its input typed into it.

use std::{
    fs::File,
    io::Write as _,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd},
        unix::process::CommandExt as _,
    },
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// A pty and what was read from it.
pub struct Pty {
    master: Arc<File>,
    slave: OwnedFd,
    output: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl Pty {
    /// A new pty of `rows` x `cols`, in the default (cooked) mode.
    pub fn new(rows: u16, cols: u16) -> Self {
        let (mut m, mut s) = (0, 0);
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors; the name and termios are optional.
        let r =
            unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
        assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: fresh descriptors we own.
        let (master, slave) = unsafe { (Arc::new(File::from_raw_fd(m)), OwnedFd::from_raw_fd(s)) };
        let output = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (master, output, stop) = (master.clone(), output.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    let mut p = libc::pollfd {
                        fd: master.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: poll on one pollfd; read into our buffer.
                    unsafe {
                        if libc::poll(&mut p, 1, 50) <= 0 || p.revents & libc::POLLIN == 0 {
                            continue;
                        }
                        let n = libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len());
                        if n > 0 {
                            output
                                .lock()
                                .expect("output")
                                .extend_from_slice(&buf[..n as usize]);
                        }
                    }
                }
            })
        };
        Self {
            master,
            slave,
            output,
            stop,
            reader: Some(reader),
        }
    }

    /// Spawns `cmd` with the pty as its standard streams and controlling terminal (it leads a
    /// new session, as a login shell).
    pub fn spawn(&self, cmd: &mut Command) -> Child {
        let fd = || Stdio::from(self.slave.try_clone().expect("dup slave"));
        cmd.stdin(fd()).stdout(fd()).stderr(fd());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn().expect("spawning on the pty")
    }

    /// Types `bytes` on the terminal.
    pub fn type_in(&self, bytes: &[u8]) {
        (&*self.master).write_all(bytes).expect("typing");
    }

    /// Everything the terminal showed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output")).into_owned()
    }

    /// Waits until the terminal showed `needle`; panics with what it showed after `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) {
        let t = Instant::now();
        while !self.output().contains(needle) {
            assert!(
                t.elapsed() < timeout,
                "the terminal never showed {needle:?}; it showed:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sets the window size (the kernel sends SIGWINCH to the foreground job).
    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on our master.
        unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }

    /// The terminal's current settings (to see that raw mode was undone).
    pub fn termios(&self) -> libc::termios {
        // SAFETY: tcgetattr into a zeroed termios.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(self.slave.as_raw_fd(), &mut t), 0);
            t
        }
    }

    /// Bytes waiting in the terminal's input queue, unread by anyone.
    pub fn pending_input(&self) -> i32 {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes an int.
        unsafe { libc::ioctl(self.slave.as_raw_fd(), libc::FIONREAD, &mut n) };
        n
    }

    /// The slave's device name (`/dev/pts/N`).
    pub fn name(&self) -> String {
        std::fs::read_link(format!("/proc/self/fd/{}", self.slave.as_raw_fd()))
            .expect("slave name")
            .display()
            .to_string()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
