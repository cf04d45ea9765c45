//! Starting the traced command so that the tracer knows it before it runs a single syscall of
//! its own: fork, let the parent register the child's pid, then the child drops privileges and
//! execs. Errors of the exec travel back over a close-on-exec pipe.

use std::{
    ffi::{CString, OsStr, OsString},
    io,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd},
        unix::ffi::OsStrExt,
    },
    path::{Path, PathBuf},
};

/// Errors starting the command.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The program is not on PATH (the shell's exit status 127).
    #[error("{0}: command not found")]
    NotFound(String),
    /// An argument contains a NUL byte.
    #[error("argument {0:?} contains a NUL byte")]
    Nul(OsString),
    /// A system call of the launcher failed.
    #[error("{what}")]
    Sys {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The child could not exec the program (the shell's 126 or 127).
    #[error("cannot execute {path}")]
    Exec {
        /// The program.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The child could not switch to the requested user.
    #[error("cannot switch the command to uid {uid} gid {gid}")]
    Credentials {
        /// Target uid.
        uid: u32,
        /// Target gid.
        gid: u32,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl LaunchError {
    /// Exit status a shell would give for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            LaunchError::NotFound(_) => 127,
            LaunchError::Exec { source, .. } if source.kind() == io::ErrorKind::NotFound => 127,
            _ => 126,
        }
    }
}

/// Who the command runs as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Login name (for USER/LOGNAME; empty if unknown).
    pub name: String,
    /// Home directory (for HOME; empty if unknown).
    pub home: String,
    /// Login shell (for SHELL; empty if unknown).
    pub shell: String,
}

/// The session the child runs in (see `terminal`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChildSession {
    /// The tracer's own (and its terminal).
    #[default]
    Inherit,
    /// A new session without a controlling terminal.
    New,
    /// A new session whose controlling terminal is the pty `slave`, which also replaces those
    /// of descriptors 0, 1, 2 that `fds` marks (the tracer's terminals).
    Pty {
        /// The pty's slave side, open in the tracer.
        slave: i32,
        /// Which standard descriptors get the pty.
        fds: [bool; 3],
    },
}

/// How the child is set up before it execs.
#[derive(Default)]
pub struct LaunchOptions<'a> {
    /// Switch to this user.
    pub creds: Option<&'a Credentials>,
    /// Redirect standard streams.
    pub stdio: Option<&'a Stdio>,
    /// Start a new process group (when the session is inherited).
    pub new_process_group: bool,
    /// Its session.
    pub session: ChildSession,
    /// Signals the tracer's own caller had ignored (nohup's SIGHUP, a background job's
    /// SIGINT): the command ignores them too, as it would untraced. Every other signal the
    /// tracer handles goes back to its default.
    pub ignored_signals: Vec<i32>,
}

/// Finds `program` the way a shell does: as given if it has a slash, else on PATH.
pub fn resolve(program: &OsStr, path_var: Option<&OsStr>) -> Result<PathBuf, LaunchError> {
    let p = Path::new(program);
    if program.as_bytes().contains(&b'/') {
        return Ok(p.to_path_buf());
    }
    let path_var = path_var.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    for dir in std::env::split_paths(path_var) {
        let candidate = dir.join(p);
        if let Ok(meta) = candidate.metadata()
            && meta.is_file()
            && std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0
        {
            return Ok(candidate);
        }
    }
    Err(LaunchError::NotFound(
        program.to_string_lossy().into_owned(),
    ))
}

fn cstring(s: &OsStr) -> Result<CString, LaunchError> {
    CString::new(s.as_bytes()).map_err(|_| LaunchError::Nul(s.to_os_string()))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), LaunchError> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(LaunchError::Sys {
            what: "pipe2",
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: pipe2 returned two fresh descriptors we now own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Redirections for a launched command (experiments keep the terminal quiet).
pub struct Stdio {
    /// Becomes the command's standard input.
    pub stdin: OwnedFd,
    /// Becomes its standard output and error.
    pub output: OwnedFd,
}

impl Stdio {
    /// Standard input from /dev/null, output to `log` (opened by the caller, safely).
    pub fn to_log(log: &std::fs::File) -> Result<Self, LaunchError> {
        let sys = |what| move |source| LaunchError::Sys { what, source };
        let stdin = std::fs::File::open("/dev/null").map_err(sys("opening /dev/null"))?;
        let output = log
            .try_clone()
            .map_err(sys("duplicating the command log"))?;
        Ok(Self {
            stdin: stdin.into(),
            output: output.into(),
        })
    }
}

/// A forked child waiting for `release`.
pub struct Blocked {
    pid: i32,
    path: PathBuf,
    go: OwnedFd,
    errors: OwnedFd,
}

/// The exec arguments as C strings and pointer arrays, prepared before the fork: the child
/// allocates nothing.
struct ExecImage {
    path: CString,
    /// Owns the strings `argv_ptrs` points into.
    _argv: Vec<CString>,
    /// Owns the strings `env_ptrs` points into.
    _env: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    env_ptrs: Vec<*const libc::c_char>,
    groups: Vec<libc::gid_t>,
}

impl ExecImage {
    fn new(
        path: &Path,
        argv: &[OsString],
        env: &[(OsString, OsString)],
        creds: Option<&Credentials>,
    ) -> Result<Self, LaunchError> {
        let c_path = cstring(path.as_os_str())?;
        let c_argv: Vec<CString> = argv.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?;
        let c_env: Vec<CString> = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.clone();
                kv.push("=");
                kv.push(v);
                cstring(&kv)
            })
            .collect::<Result<_, _>>()?;
        let nul_terminated = |strings: &[CString]| {
            let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|c| c.as_ptr()).collect();
            ptrs.push(std::ptr::null());
            ptrs
        };
        Ok(Self {
            path: c_path,
            argv_ptrs: nul_terminated(&c_argv),
            env_ptrs: nul_terminated(&c_env),
            _argv: c_argv,
            _env: c_env,
            groups: creds.map(|c| c.groups.clone()).unwrap_or_default(),
        })
    }
}

/// Forks a child that waits until `Blocked::release`, then runs `argv` (program at `path`) with
/// `env`, as `creds` if given. Must be called while the process has a single thread (the child
/// of a multi-threaded fork may only call async-signal-safe functions; ours allocates nothing,
/// but the rule keeps it obviously sound).
pub fn spawn_blocked(
    path: &Path,
    argv: &[OsString],
    env: &[(OsString, OsString)],
    options: &LaunchOptions<'_>,
) -> Result<Blocked, LaunchError> {
    let image = ExecImage::new(path, argv, env, options.creds)?;
    let (go_read, go_write) = pipe()?;
    let (err_read, err_write) = pipe()?;
    // SAFETY: fork in a single-threaded process; the child only makes raw syscalls (`child`).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(LaunchError::Sys {
            what: "fork",
            source: io::Error::last_os_error(),
        });
    }
    if pid == 0 {
        // SAFETY: we are the child of the fork above; `image` was prepared before it.
        unsafe { child(&image, &go_read, &err_write, options) }
    }
    drop(go_read);
    drop(err_write);
    Ok(Blocked {
        pid,
        path: path.to_path_buf(),
        go: go_write,
        errors: err_read,
    })
}

/// The child's side of `spawn_blocked`: waits for its release, sets itself up and execs. On any
/// failure it reports the stage and errno through `err_write` and exits without unwinding.
///
/// # Safety
/// Only in the child of a fork, with `image` prepared before it: only raw libc calls from here
/// to exec or `_exit`.
unsafe fn child(
    image: &ExecImage,
    go_read: &OwnedFd,
    err_write: &OwnedFd,
    options: &LaunchOptions<'_>,
) -> ! {
    let handled = [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGWINCH,
    ];
    // SAFETY: all pointers were prepared before fork and stay valid (see the function's
    // contract).
    unsafe {
        let report = |code: i32, stage: u8| -> ! {
            let errno = *libc::__errno_location();
            let msg = [stage, (errno & 0xff) as u8, ((errno >> 8) & 0xff) as u8, 0];
            libc::write(err_write.as_raw_fd(), msg.as_ptr().cast(), msg.len());
            libc::_exit(code)
        };
        let mut byte = 0u8;
        loop {
            let n = libc::read(go_read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
            if n == 1 {
                break;
            }
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            // The tracer went away before releasing us: never run untraced.
            libc::_exit(1);
        }
        // Rust ignores SIGPIPE in its own process; the command gets the default back, and
        // the signals the tracer handles get what its caller had set.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        for sig in handled {
            let ignored = options.ignored_signals.contains(&sig);
            libc::signal(
                sig,
                if ignored {
                    libc::SIG_IGN
                } else {
                    libc::SIG_DFL
                },
            );
        }
        match options.session {
            ChildSession::Inherit => {
                if options.new_process_group {
                    libc::setpgid(0, 0);
                }
            }
            ChildSession::New => {
                if libc::setsid() < 0 {
                    report(126, 3);
                }
            }
            ChildSession::Pty { slave, fds } => {
                if libc::setsid() < 0 || libc::ioctl(slave, libc::TIOCSCTTY, 0) < 0 {
                    report(126, 3);
                }
                for (fd, mine) in fds.iter().enumerate() {
                    if *mine && libc::dup2(slave, fd as i32) < 0 {
                        report(126, 3);
                    }
                }
            }
        }
        if let Some(io) = options.stdio
            && (libc::dup2(io.stdin.as_raw_fd(), 0) < 0
                || libc::dup2(io.output.as_raw_fd(), 1) < 0
                || libc::dup2(io.output.as_raw_fd(), 2) < 0)
        {
            report(126, 2);
        }
        if let Some(c) = options.creds
            && (libc::setgroups(image.groups.len(), image.groups.as_ptr()) != 0
                || libc::setgid(c.gid) != 0
                || libc::setuid(c.uid) != 0)
        {
            report(126, 1);
        }
        libc::execve(
            image.path.as_ptr(),
            image.argv_ptrs.as_ptr(),
            image.env_ptrs.as_ptr(),
        );
        let errno = *libc::__errno_location();
        report(if errno == libc::ENOENT { 127 } else { 126 }, 2);
    }
}

impl Blocked {
    /// The child's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Lets the child exec; returns once the exec succeeded or failed. On failure the child has
    /// exited and is reaped here.
    pub fn release(self, creds: Option<&Credentials>) -> Result<i32, LaunchError> {
        self.go()?.wait_exec(creds)
    }

    /// Lets the child go without waiting for its exec (release several at once, then
    /// `wait_exec` each: the M.R barrier).
    pub fn go(self) -> Result<Released, LaunchError> {
        let byte = 1u8;
        // SAFETY: writing one byte from a valid buffer to our pipe end.
        let n = unsafe { libc::write(self.go.as_raw_fd(), (&byte as *const u8).cast(), 1) };
        if n != 1 {
            return Err(LaunchError::Sys {
                what: "releasing the traced command",
                source: io::Error::last_os_error(),
            });
        }
        Ok(Released {
            pid: self.pid,
            path: self.path,
            errors: self.errors,
        })
    }
}

/// A child that was let go and is executing its program.
pub struct Released {
    pid: i32,
    path: PathBuf,
    errors: OwnedFd,
}

impl Released {
    /// Waits until the exec succeeded (returns the pid) or failed (the child is reaped).
    pub fn wait_exec(self, creds: Option<&Credentials>) -> Result<i32, LaunchError> {
        let mut msg = [0u8; 4];
        let n = loop {
            // SAFETY: reading into a valid 4-byte buffer.
            let n = unsafe { libc::read(self.errors.as_raw_fd(), msg.as_mut_ptr().cast(), 4) };
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break n;
        };
        if n <= 0 {
            return Ok(self.pid); // Close-on-exec closed the pipe: the exec succeeded.
        }
        let errno = i32::from(msg[1]) | (i32::from(msg[2]) << 8);
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
        let source = io::Error::from_raw_os_error(errno);
        if msg[0] == 3 {
            return Err(LaunchError::Sys {
                what: "giving the command a session of its own",
                source,
            });
        }
        if msg[0] == 1 {
            let c = creds.cloned().unwrap_or_default();
            return Err(LaunchError::Credentials {
                uid: c.uid,
                gid: c.gid,
                source,
            });
        }
        Err(LaunchError::Exec {
            path: self.path,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_a_shell() {
        let found = resolve(
            OsStr::new("sh"),
            Some(OsStr::new("/nonexistent:/bin:/usr/bin")),
        )
        .expect("sh is on PATH");
        assert!(found.ends_with("sh"));
        let err = resolve(OsStr::new("no-such-program-xyz"), Some(OsStr::new("/bin")))
            .expect_err("missing");
        assert_eq!(err.exit_code(), 127);
        assert_eq!(err.to_string(), "no-such-program-xyz: command not found");
        assert_eq!(
            resolve(OsStr::new("./x"), None).expect("relative path kept"),
            PathBuf::from("./x")
        );
    }
}
