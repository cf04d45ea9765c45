//! Syscall names and numbers per architecture (from the `syscalls` crate's tables, generated
//! from the kernel's own), which arguments are paths, and strace-style classes for
//! `-e trace=%file` and friends.

use std::str::FromStr;

/// Architectures whose syscall tables the dataset can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// x86_64 (the capture architecture here).
    X86_64,
    /// i386 (ADFA-LD traces).
    X86,
    /// arm64.
    Aarch64,
}

impl Arch {
    /// The machine this binary runs on.
    pub fn native() -> Self {
        if cfg!(target_arch = "aarch64") {
            Arch::Aarch64
        } else {
            Arch::X86_64
        }
    }

    /// The name written into the dataset (`syscall_tracer.arch`).
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::X86 => "x86",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// Name of syscall `nr`, if the table has it.
    pub fn name(self, nr: i64) -> Option<&'static str> {
        let nr = usize::try_from(nr).ok()?;
        match self {
            Arch::X86_64 => syscalls::x86_64::Sysno::new(nr).map(|s| s.name()),
            Arch::X86 => syscalls::x86::Sysno::new(nr).map(|s| s.name()),
            Arch::Aarch64 => syscalls::aarch64::Sysno::new(nr).map(|s| s.name()),
        }
    }

    /// Number of syscall `name`, if the table has it.
    pub fn number(self, name: &str) -> Option<i32> {
        match self {
            Arch::X86_64 => syscalls::x86_64::Sysno::from_str(name).ok().map(|s| s.id()),
            Arch::X86 => syscalls::x86::Sysno::from_str(name).ok().map(|s| s.id()),
            Arch::Aarch64 => syscalls::aarch64::Sysno::from_str(name)
                .ok()
                .map(|s| s.id()),
        }
    }

    /// Every (number, name) of the table.
    pub fn all(self) -> Vec<(i32, &'static str)> {
        match self {
            Arch::X86_64 => syscalls::x86_64::Sysno::iter()
                .map(|s| (s.id(), s.name()))
                .collect(),
            Arch::X86 => syscalls::x86::Sysno::iter()
                .map(|s| (s.id(), s.name()))
                .collect(),
            Arch::Aarch64 => syscalls::aarch64::Sysno::iter()
                .map(|s| (s.id(), s.name()))
                .collect(),
        }
    }
}

impl FromStr for Arch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "x86_64" | "amd64" => Ok(Arch::X86_64),
            "x86" | "i386" | "i686" => Ok(Arch::X86),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            _ => Err(format!("unknown architecture {s:?} (x86_64, x86, aarch64)")),
        }
    }
}

/// Syscalls whose arguments include a user-space path, with the index of the first path
/// argument: the calls strace's `%file` class names (strace: src/linux/*/syscallent.h,
/// `TF` flag). For calls with two paths (rename, link, symlink) the first is kept.
pub const PATH_ARGS: &[(&str, u8)] = &[
    ("open", 0),
    ("creat", 0),
    ("stat", 0),
    ("lstat", 0),
    ("access", 0),
    ("execve", 0),
    ("truncate", 0),
    ("chdir", 0),
    ("rename", 0),
    ("mkdir", 0),
    ("rmdir", 0),
    ("link", 0),
    ("unlink", 0),
    ("symlink", 0),
    ("readlink", 0),
    ("chmod", 0),
    ("chown", 0),
    ("lchown", 0),
    ("utime", 0),
    ("utimes", 0),
    ("mknod", 0),
    ("uselib", 0),
    ("statfs", 0),
    ("pivot_root", 0),
    ("chroot", 0),
    ("acct", 0),
    ("mount", 1),
    ("umount2", 0),
    ("swapon", 0),
    ("swapoff", 0),
    ("setxattr", 0),
    ("lsetxattr", 0),
    ("getxattr", 0),
    ("lgetxattr", 0),
    ("listxattr", 0),
    ("llistxattr", 0),
    ("removexattr", 0),
    ("lremovexattr", 0),
    ("inotify_add_watch", 1),
    ("openat", 1),
    ("openat2", 1),
    ("mkdirat", 1),
    ("mknodat", 1),
    ("fchownat", 1),
    ("futimesat", 1),
    ("newfstatat", 1),
    ("fstatat64", 1),
    ("unlinkat", 1),
    ("renameat", 1),
    ("renameat2", 1),
    ("linkat", 1),
    ("symlinkat", 0),
    ("readlinkat", 1),
    ("fchmodat", 1),
    ("fchmodat2", 1),
    ("faccessat", 1),
    ("faccessat2", 1),
    ("utimensat", 1),
    ("execveat", 1),
    ("name_to_handle_at", 1),
    ("statx", 1),
    ("open_tree", 1),
    ("mount_setattr", 1),
    ("setxattrat", 1),
    ("getxattrat", 1),
    ("listxattrat", 1),
    ("removexattrat", 1),
    ("fanotify_mark", 4),
];

/// Index of the first path argument of `name`, if it takes one.
pub fn path_arg(name: &str) -> Option<u8> {
    PATH_ARGS.iter().find(|(n, _)| *n == name).map(|(_, i)| *i)
}

/// strace's syscall classes (strace(1), "-e trace=%class"), by name. `%file` is the path table
/// above.
pub fn class(name: &str) -> Option<Vec<&'static str>> {
    let list: &[&str] = match name {
        "file" => return Some(PATH_ARGS.iter().map(|(n, _)| *n).collect()),
        "process" => &[
            "clone",
            "clone3",
            "execve",
            "execveat",
            "exit",
            "exit_group",
            "fork",
            "kill",
            "pidfd_send_signal",
            "rt_sigqueueinfo",
            "rt_tgsigqueueinfo",
            "tgkill",
            "tkill",
            "vfork",
            "wait4",
            "waitid",
        ],
        "network" | "net" => &[
            "socket",
            "socketpair",
            "bind",
            "listen",
            "accept",
            "accept4",
            "connect",
            "getsockname",
            "getpeername",
            "sendto",
            "recvfrom",
            "sendmsg",
            "recvmsg",
            "sendmmsg",
            "recvmmsg",
            "shutdown",
            "setsockopt",
            "getsockopt",
        ],
        "signal" => &[
            "rt_sigaction",
            "rt_sigprocmask",
            "rt_sigreturn",
            "rt_sigsuspend",
            "rt_sigpending",
            "rt_sigtimedwait",
            "rt_sigqueueinfo",
            "rt_tgsigqueueinfo",
            "kill",
            "tkill",
            "tgkill",
            "sigaltstack",
            "pause",
            "signalfd",
            "signalfd4",
            "pidfd_send_signal",
        ],
        "ipc" => &[
            "msgget",
            "msgsnd",
            "msgrcv",
            "msgctl",
            "semget",
            "semop",
            "semctl",
            "semtimedop",
            "shmget",
            "shmat",
            "shmctl",
            "shmdt",
        ],
        "memory" => &[
            "brk",
            "mmap",
            "munmap",
            "mremap",
            "mprotect",
            "madvise",
            "mlock",
            "mlock2",
            "munlock",
            "mlockall",
            "munlockall",
            "mincore",
            "msync",
            "remap_file_pages",
            "mbind",
            "set_mempolicy",
            "get_mempolicy",
            "migrate_pages",
            "move_pages",
            "pkey_mprotect",
            "process_madvise",
            "mseal",
        ],
        "creds" => &[
            "getuid",
            "geteuid",
            "getgid",
            "getegid",
            "setuid",
            "setgid",
            "setreuid",
            "setregid",
            "setresuid",
            "setresgid",
            "getresuid",
            "getresgid",
            "setfsuid",
            "setfsgid",
            "getgroups",
            "setgroups",
            "capget",
            "capset",
            "prctl",
        ],
        "desc" => &[
            "read",
            "write",
            "close",
            "fstat",
            "lseek",
            "pread64",
            "pwrite64",
            "readv",
            "writev",
            "preadv",
            "pwritev",
            "preadv2",
            "pwritev2",
            "dup",
            "dup2",
            "dup3",
            "fcntl",
            "flock",
            "fsync",
            "fdatasync",
            "ftruncate",
            "getdents",
            "getdents64",
            "fchdir",
            "fchmod",
            "fchown",
            "fstatfs",
            "select",
            "pselect6",
            "poll",
            "ppoll",
            "epoll_create",
            "epoll_create1",
            "epoll_ctl",
            "epoll_wait",
            "epoll_pwait",
            "epoll_pwait2",
            "eventfd",
            "eventfd2",
            "pipe",
            "pipe2",
            "ioctl",
            "sendfile",
            "splice",
            "tee",
            "vmsplice",
            "open",
            "openat",
            "openat2",
            "creat",
            "timerfd_create",
            "timerfd_settime",
            "timerfd_gettime",
            "memfd_create",
            "copy_file_range",
            "fadvise64",
            "fallocate",
            "readahead",
            "sync_file_range",
            "syncfs",
            "mmap",
            "newfstatat",
            "statx",
            "fgetxattr",
            "fsetxattr",
            "flistxattr",
            "fremovexattr",
            "inotify_init",
            "inotify_init1",
            "fanotify_init",
            "signalfd",
            "signalfd4",
            "pidfd_open",
            "pidfd_getfd",
            "close_range",
            "io_uring_setup",
            "io_uring_enter",
        ],
        _ => return None,
    };
    Some(list.to_vec())
}

/// Errors in a `-e trace=` expression.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A name that is neither a syscall of the architecture nor a class.
    #[error(
        "-e trace: unknown syscall or class {name:?} for {arch} (classes: %file %process %network %signal %ipc %memory %creds %desc)"
    )]
    Unknown {
        /// The offending name.
        name: String,
        /// The architecture.
        arch: &'static str,
    },
    /// A qualifier other than `trace=`.
    #[error("-e {0}: only trace=SET is supported")]
    Qualifier(String),
}

/// Parses strace's `-e` expression (`trace=open,read`, `trace=%file,!close`, `open,read`,
/// `trace=all`) into the set of syscall numbers to record. `None` means everything.
pub fn parse_trace_filter(arch: Arch, expr: &str) -> Result<Option<Vec<i32>>, FilterError> {
    let set = match expr.split_once('=') {
        Some(("trace" | "t", set)) => set,
        Some((q, _)) => return Err(FilterError::Qualifier(q.to_string())),
        None => expr,
    };
    let (negate, set) = match set.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, set),
    };
    if set == "all" {
        return Ok(if negate { Some(Vec::new()) } else { None });
    }
    let mut chosen = std::collections::BTreeSet::new();
    for item in set.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let names = match item.strip_prefix('%') {
            Some(c) => class(c).ok_or_else(|| FilterError::Unknown {
                name: item.to_string(),
                arch: arch.as_str(),
            })?,
            None => vec![],
        };
        if item.starts_with('%') {
            // Classes list names of several architectures; keep those this one has.
            chosen.extend(names.iter().filter_map(|n| arch.number(n)));
        } else {
            let nr = arch.number(item).ok_or_else(|| FilterError::Unknown {
                name: item.to_string(),
                arch: arch.as_str(),
            })?;
            chosen.insert(nr);
        }
    }
    if negate {
        Ok(Some(
            arch.all()
                .into_iter()
                .map(|(nr, _)| nr)
                .filter(|nr| !chosen.contains(nr))
                .collect(),
        ))
    } else {
        Ok(Some(chosen.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        assert_eq!(Arch::X86_64.name(39), Some("getpid"));
        assert_eq!(Arch::X86_64.number("openat"), Some(257));
        assert_eq!(Arch::X86.name(5), Some("open"));
        assert_eq!(Arch::X86_64.name(100_000), None);
    }

    #[test]
    fn every_path_call_exists_somewhere() {
        for (name, idx) in PATH_ARGS {
            assert!(*idx < 6);
            assert!(
                [Arch::X86_64, Arch::X86, Arch::Aarch64]
                    .iter()
                    .any(|a| a.number(name).is_some()),
                "{name} is in no table"
            );
        }
    }

    #[test]
    fn filter_expressions() {
        let a = Arch::X86_64;
        assert_eq!(parse_trace_filter(a, "trace=all").expect("all"), None);
        assert_eq!(
            parse_trace_filter(a, "trace=getppid,read").expect("list"),
            Some(vec![0, 110])
        );
        let file = parse_trace_filter(a, "trace=%file")
            .expect("class")
            .expect("set");
        assert!(file.contains(&257) && !file.contains(&0));
        let not_read = parse_trace_filter(a, "trace=!read")
            .expect("neg")
            .expect("set");
        assert!(!not_read.contains(&0) && not_read.contains(&1));
        assert!(matches!(
            parse_trace_filter(a, "trace=nosuchcall"),
            Err(FilterError::Unknown { .. })
        ));
        assert!(matches!(
            parse_trace_filter(a, "signal=none"),
            Err(FilterError::Qualifier(_))
        ));
    }
}
