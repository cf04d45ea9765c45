//! strace-style syscall classes for `-e trace=%file` and friends, and the `-e` expression parser.
//! The syscall tables and the path-argument table are the data contract's
//! (`tracer_dataset::arch`).

use tracer_dataset::{Arch, arch::PATH_ARGS};

/// strace's syscall classes (strace(1), "-e trace=%class"), by name. `%file` is the path table
/// (`tracer_dataset::arch::PATH_ARGS`).
pub fn class(name: &str) -> Option<Vec<&'static str>> {
    let list: &[&str] = match name {
        "file" => return Some(PATH_ARGS.iter().map(|(n, _)| *n).collect()),
        "process" => PROCESS,
        "network" | "net" => NETWORK,
        "signal" => SIGNAL,
        "ipc" => IPC,
        "memory" => MEMORY,
        "creds" => CREDS,
        "desc" => DESC,
        _ => return None,
    };
    Some(list.to_vec())
}

/// `%process`: process lifecycle: creation, exec, exit, wait, and signals sent to processes.
const PROCESS: &[&str] = &[
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
];

/// `%network`: sockets.
const NETWORK: &[&str] = &[
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
];

/// `%signal`: signal handling and delivery.
const SIGNAL: &[&str] = &[
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
];

/// `%ipc`: System V IPC.
const IPC: &[&str] = &[
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
];

/// `%memory`: memory mapping and policy.
const MEMORY: &[&str] = &[
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
];

/// `%creds`: user, group and capability credentials.
const CREDS: &[&str] = &[
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
];

/// `%desc`: calls on file descriptors.
const DESC: &[&str] = &[
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
];

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
