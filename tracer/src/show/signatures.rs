//! How strace prints each syscall's arguments and return value: a signature per call of the
//! common ones (argument kinds from the kernel's `SYSCALL_DEFINE`s, printed as strace's
//! decoders print them), and the argument count of every other call (strace:
//! src/linux/*/syscallent.h), whose arguments are printed as hex as strace's `printargs` does.

use std::{collections::HashMap, sync::LazyLock};

use super::{
    flags::{Flags, Values},
    xlat,
};

/// How one argument is printed.
#[derive(Clone, Copy, Debug)]
pub enum Arg {
    /// A file descriptor: signed decimal.
    Fd,
    /// A directory descriptor: `AT_FDCWD` or the number.
    DirFd,
    /// The `path` column when this is the call's path argument, else the address.
    Path,
    /// An address: `NULL` or `0x...`.
    Ptr,
    /// A number in hex (`0` or `0x...`).
    Hex,
    /// A C `int`: signed decimal of the low 32 bits.
    Int,
    /// A C `unsigned int`: decimal of the low 32 bits.
    Uint,
    /// A `long`/`off_t`: signed decimal.
    Long,
    /// A `size_t`/`unsigned long`: decimal.
    Ulong,
    /// A file mode: `0644`.
    Mode,
    /// open's mode, printed only when the flags at this index have `O_CREAT` or `__O_TMPFILE`.
    CreateMode(u8),
    /// open's flags with the access mode.
    OpenFlags,
    /// open's flags without an access mode (`pipe2`, `dup3`).
    OFlags,
    /// mmap protections.
    Prot,
    /// mmap flags.
    MapFlags,
    /// clone flags and exit signal (`unshare`, `setns`).
    CloneFlags,
    /// A signal.
    Signal,
    /// A socket type with its flags.
    SocketType,
    /// A protocol, named for `AF_INET`/`AF_INET6` domains given at this index.
    Protocol(u8),
    /// A futex operation.
    FutexOp,
    /// A flag set of a table, with the text for 0.
    Flags(Flags, &'static str),
    /// An enumeration of a table, unknown values in hex (`true`) or decimal.
    Value(Values, bool),
}

/// How the return value is printed when it is not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// Signed decimal.
    Dec,
    /// Hex: addresses (`mmap`, `brk`).
    Hex,
    /// Octal (`umask`).
    Oct,
}

/// A call's arguments and return.
#[derive(Clone, Copy, Debug)]
pub struct Signature {
    /// One kind per argument, in order.
    pub args: &'static [Arg],
    /// The return value's form.
    pub ret: Ret,
}

use Arg::*;

const fn s(args: &'static [Arg]) -> Signature {
    Signature {
        args,
        ret: Ret::Dec,
    }
}

const fn hex(args: &'static [Arg]) -> Signature {
    Signature {
        args,
        ret: Ret::Hex,
    }
}

const ACCESS: Arg = Flags(xlat::ACCESS, "F_OK");
const AT: Arg = Flags(xlat::AT_FLAGS, "0");
const WAIT: Arg = Flags(xlat::WAIT_OPTIONS, "0");
const RLIMIT: Arg = Value(xlat::RLIMITS, false);
const CLOCK: Arg = Value(xlat::CLOCKS, false);
const DOMAIN: Arg = Value(xlat::ADDRESS_FAMILIES, false);

/// Signatures of the calls strace users read most, under the names of every table here.
/// Calls printed specially (`clone`, `execve`, `execveat`, `fcntl`, `futex`) are in
/// `super::call`.
const SIGNATURES: &[(&str, Signature)] = &[
    ("read", s(&[Fd, Ptr, Ulong])),
    ("write", s(&[Fd, Ptr, Ulong])),
    ("open", s(&[Path, OpenFlags, CreateMode(1)])),
    ("close", s(&[Fd])),
    ("stat", s(&[Path, Ptr])),
    ("lstat", s(&[Path, Ptr])),
    ("stat64", s(&[Path, Ptr])),
    ("lstat64", s(&[Path, Ptr])),
    ("fstat", s(&[Fd, Ptr])),
    ("fstat64", s(&[Fd, Ptr])),
    ("poll", s(&[Ptr, Uint, Int])),
    ("lseek", s(&[Fd, Long, Value(xlat::WHENCE, false)])),
    (
        "_llseek",
        s(&[Fd, Ulong, Ulong, Ptr, Value(xlat::WHENCE, false)]),
    ),
    ("mmap", hex(&[Ptr, Ulong, Prot, MapFlags, Fd, Hex])),
    ("mmap2", hex(&[Ptr, Ulong, Prot, MapFlags, Fd, Hex])),
    ("mprotect", s(&[Ptr, Ulong, Prot])),
    ("pkey_mprotect", s(&[Ptr, Ulong, Prot, Int])),
    ("munmap", s(&[Ptr, Ulong])),
    ("brk", hex(&[Ptr])),
    (
        "mremap",
        hex(&[Ptr, Ulong, Ulong, Flags(xlat::MREMAP_FLAGS, "0"), Ptr]),
    ),
    ("msync", s(&[Ptr, Ulong, Hex])),
    ("mincore", s(&[Ptr, Ulong, Ptr])),
    ("madvise", s(&[Ptr, Ulong, Value(xlat::MADVISE, false)])),
    ("mlock", s(&[Ptr, Ulong])),
    ("munlock", s(&[Ptr, Ulong])),
    ("mlock2", s(&[Ptr, Ulong, Hex])),
    ("mlockall", s(&[Hex])),
    ("mseal", s(&[Ptr, Ulong, Hex])),
    ("rt_sigaction", s(&[Signal, Ptr, Ptr, Ulong])),
    (
        "rt_sigprocmask",
        s(&[Value(xlat::SIG_HOW, false), Ptr, Ptr, Ulong]),
    ),
    ("rt_sigreturn", s(&[])),
    ("rt_sigpending", s(&[Ptr, Ulong])),
    ("rt_sigtimedwait", s(&[Ptr, Ptr, Ptr, Ulong])),
    ("rt_sigqueueinfo", s(&[Int, Signal, Ptr])),
    ("rt_tgsigqueueinfo", s(&[Int, Int, Signal, Ptr])),
    ("rt_sigsuspend", s(&[Ptr, Ulong])),
    ("sigaltstack", s(&[Ptr, Ptr])),
    ("kill", s(&[Int, Signal])),
    ("tkill", s(&[Int, Signal])),
    ("tgkill", s(&[Int, Int, Signal])),
    ("pidfd_send_signal", s(&[Fd, Signal, Ptr, Hex])),
    ("pause", s(&[])),
    ("ioctl", s(&[Fd, Value(xlat::IOCTLS, true), Hex])),
    ("pread64", s(&[Fd, Ptr, Ulong, Long])),
    ("pwrite64", s(&[Fd, Ptr, Ulong, Long])),
    ("readv", s(&[Fd, Ptr, Int])),
    ("writev", s(&[Fd, Ptr, Int])),
    ("preadv", s(&[Fd, Ptr, Int, Long])),
    ("pwritev", s(&[Fd, Ptr, Int, Long])),
    ("preadv2", s(&[Fd, Ptr, Int, Long, Hex])),
    ("pwritev2", s(&[Fd, Ptr, Int, Long, Hex])),
    ("access", s(&[Path, ACCESS])),
    ("faccessat", s(&[DirFd, Path, ACCESS])),
    (
        "faccessat2",
        s(&[DirFd, Path, ACCESS, Flags(xlat::AT_ACCESS_FLAGS, "0")]),
    ),
    ("pipe", s(&[Ptr])),
    ("pipe2", s(&[Ptr, OFlags])),
    ("select", s(&[Int, Ptr, Ptr, Ptr, Ptr])),
    ("pselect6", s(&[Int, Ptr, Ptr, Ptr, Ptr, Ptr])),
    ("ppoll", s(&[Ptr, Uint, Ptr, Ptr, Ulong])),
    ("sched_yield", s(&[])),
    ("dup", s(&[Fd])),
    ("dup2", s(&[Fd, Fd])),
    ("dup3", s(&[Fd, Fd, OFlags])),
    ("nanosleep", s(&[Ptr, Ptr])),
    (
        "clock_nanosleep",
        s(&[CLOCK, Flags(xlat::TIMER_FLAGS, "0"), Ptr, Ptr]),
    ),
    ("clock_gettime", s(&[CLOCK, Ptr])),
    ("clock_settime", s(&[CLOCK, Ptr])),
    ("clock_getres", s(&[CLOCK, Ptr])),
    ("gettimeofday", s(&[Ptr, Ptr])),
    ("time", s(&[Ptr])),
    ("alarm", s(&[Uint])),
    ("getpid", s(&[])),
    ("getppid", s(&[])),
    ("gettid", s(&[])),
    ("getuid", s(&[])),
    ("geteuid", s(&[])),
    ("getgid", s(&[])),
    ("getegid", s(&[])),
    ("getuid32", s(&[])),
    ("geteuid32", s(&[])),
    ("getgid32", s(&[])),
    ("getegid32", s(&[])),
    ("getpgrp", s(&[])),
    ("setsid", s(&[])),
    ("fork", s(&[])),
    ("vfork", s(&[])),
    ("sync", s(&[])),
    ("munlockall", s(&[])),
    ("restart_syscall", s(&[])),
    ("inotify_init", s(&[])),
    ("setuid", s(&[Int])),
    ("setgid", s(&[Int])),
    ("setfsuid", s(&[Int])),
    ("setfsgid", s(&[Int])),
    ("setpgid", s(&[Int, Int])),
    ("getpgid", s(&[Int])),
    ("getsid", s(&[Int])),
    ("setreuid", s(&[Int, Int])),
    ("setregid", s(&[Int, Int])),
    ("setresuid", s(&[Int, Int, Int])),
    ("setresgid", s(&[Int, Int, Int])),
    ("getresuid", s(&[Ptr, Ptr, Ptr])),
    ("getresgid", s(&[Ptr, Ptr, Ptr])),
    ("getgroups", s(&[Int, Ptr])),
    ("setgroups", s(&[Int, Ptr])),
    ("capget", s(&[Ptr, Ptr])),
    ("capset", s(&[Ptr, Ptr])),
    ("sendfile", s(&[Fd, Fd, Ptr, Ulong])),
    ("socket", s(&[DOMAIN, SocketType, Protocol(0)])),
    ("socketpair", s(&[DOMAIN, SocketType, Protocol(0), Ptr])),
    ("connect", s(&[Fd, Ptr, Int])),
    ("bind", s(&[Fd, Ptr, Int])),
    ("listen", s(&[Fd, Int])),
    ("accept", s(&[Fd, Ptr, Ptr])),
    ("accept4", s(&[Fd, Ptr, Ptr, Flags(xlat::SOCK_FLAGS, "0")])),
    ("getsockname", s(&[Fd, Ptr, Ptr])),
    ("getpeername", s(&[Fd, Ptr, Ptr])),
    ("sendto", s(&[Fd, Ptr, Ulong, Hex, Ptr, Int])),
    ("recvfrom", s(&[Fd, Ptr, Ulong, Hex, Ptr, Ptr])),
    ("sendmsg", s(&[Fd, Ptr, Hex])),
    ("recvmsg", s(&[Fd, Ptr, Hex])),
    ("sendmmsg", s(&[Fd, Ptr, Uint, Hex])),
    ("recvmmsg", s(&[Fd, Ptr, Uint, Hex, Ptr])),
    ("shutdown", s(&[Fd, Value(xlat::SHUTDOWN_HOW, false)])),
    ("setsockopt", s(&[Fd, Int, Int, Ptr, Int])),
    ("getsockopt", s(&[Fd, Int, Int, Ptr, Ptr])),
    ("exit", s(&[Int])),
    ("exit_group", s(&[Int])),
    ("wait4", s(&[Int, Ptr, WAIT, Ptr])),
    ("waitpid", s(&[Int, Ptr, WAIT])),
    ("waitid", s(&[Int, Int, Ptr, WAIT, Ptr])),
    ("uname", s(&[Ptr])),
    ("flock", s(&[Fd, Flags(xlat::FLOCK_OPS, "0")])),
    ("fsync", s(&[Fd])),
    ("fdatasync", s(&[Fd])),
    ("syncfs", s(&[Fd])),
    ("truncate", s(&[Path, Long])),
    ("ftruncate", s(&[Fd, Long])),
    ("getdents", s(&[Fd, Ptr, Uint])),
    ("getdents64", s(&[Fd, Ptr, Uint])),
    ("getcwd", s(&[Ptr, Ulong])),
    ("chdir", s(&[Path])),
    ("fchdir", s(&[Fd])),
    ("chroot", s(&[Path])),
    ("rename", s(&[Path, Ptr])),
    ("renameat", s(&[DirFd, Path, DirFd, Ptr])),
    (
        "renameat2",
        s(&[DirFd, Path, DirFd, Ptr, Flags(xlat::RENAME_FLAGS, "0")]),
    ),
    ("mkdir", s(&[Path, Mode])),
    ("mkdirat", s(&[DirFd, Path, Mode])),
    ("rmdir", s(&[Path])),
    ("creat", s(&[Path, Mode])),
    ("link", s(&[Path, Ptr])),
    ("linkat", s(&[DirFd, Path, DirFd, Ptr, AT])),
    ("unlink", s(&[Path])),
    ("unlinkat", s(&[DirFd, Path, AT])),
    ("symlink", s(&[Path, Ptr])),
    ("symlinkat", s(&[Path, DirFd, Ptr])),
    ("readlink", s(&[Path, Ptr, Ulong])),
    ("readlinkat", s(&[DirFd, Path, Ptr, Ulong])),
    ("chmod", s(&[Path, Mode])),
    ("fchmod", s(&[Fd, Mode])),
    ("fchmodat", s(&[DirFd, Path, Mode])),
    ("fchmodat2", s(&[DirFd, Path, Mode, AT])),
    ("chown", s(&[Path, Int, Int])),
    ("lchown", s(&[Path, Int, Int])),
    ("chown32", s(&[Path, Int, Int])),
    ("lchown32", s(&[Path, Int, Int])),
    ("fchown", s(&[Fd, Int, Int])),
    ("fchownat", s(&[DirFd, Path, Int, Int, AT])),
    (
        "umask",
        Signature {
            args: &[Mode],
            ret: Ret::Oct,
        },
    ),
    ("mknod", s(&[Path, Mode, Hex])),
    ("mknodat", s(&[DirFd, Path, Mode, Hex])),
    ("utime", s(&[Path, Ptr])),
    ("utimes", s(&[Path, Ptr])),
    ("futimesat", s(&[DirFd, Path, Ptr])),
    ("utimensat", s(&[DirFd, Path, Ptr, AT])),
    ("newfstatat", s(&[DirFd, Path, Ptr, AT])),
    ("fstatat64", s(&[DirFd, Path, Ptr, AT])),
    (
        "statx",
        s(&[DirFd, Path, AT, Flags(xlat::STATX_MASK, "0"), Ptr]),
    ),
    ("statfs", s(&[Path, Ptr])),
    ("fstatfs", s(&[Fd, Ptr])),
    ("openat", s(&[DirFd, Path, OpenFlags, CreateMode(2)])),
    ("openat2", s(&[DirFd, Path, Ptr, Ulong])),
    ("open_by_handle_at", s(&[Fd, Ptr, OpenFlags])),
    ("name_to_handle_at", s(&[DirFd, Path, Ptr, Ptr, AT])),
    ("open_tree", s(&[DirFd, Path, Hex])),
    ("mount", s(&[Ptr, Path, Ptr, Hex, Ptr])),
    ("umount2", s(&[Path, Flags(xlat::UMOUNT_FLAGS, "0")])),
    ("mount_setattr", s(&[DirFd, Path, AT, Ptr, Ulong])),
    ("pivot_root", s(&[Path, Ptr])),
    ("acct", s(&[Path])),
    ("swapon", s(&[Path, Hex])),
    ("swapoff", s(&[Path])),
    ("setxattr", s(&[Path, Ptr, Ptr, Ulong, Hex])),
    ("lsetxattr", s(&[Path, Ptr, Ptr, Ulong, Hex])),
    ("fsetxattr", s(&[Fd, Ptr, Ptr, Ulong, Hex])),
    ("getxattr", s(&[Path, Ptr, Ptr, Ulong])),
    ("lgetxattr", s(&[Path, Ptr, Ptr, Ulong])),
    ("fgetxattr", s(&[Fd, Ptr, Ptr, Ulong])),
    ("listxattr", s(&[Path, Ptr, Ulong])),
    ("llistxattr", s(&[Path, Ptr, Ulong])),
    ("flistxattr", s(&[Fd, Ptr, Ulong])),
    ("removexattr", s(&[Path, Ptr])),
    ("lremovexattr", s(&[Path, Ptr])),
    ("fremovexattr", s(&[Fd, Ptr])),
    ("getrlimit", s(&[RLIMIT, Ptr])),
    ("setrlimit", s(&[RLIMIT, Ptr])),
    ("prlimit64", s(&[Int, RLIMIT, Ptr, Ptr])),
    ("getrusage", s(&[Int, Ptr])),
    ("sysinfo", s(&[Ptr])),
    ("times", s(&[Ptr])),
    ("getpriority", s(&[Int, Int])),
    ("setpriority", s(&[Int, Int, Int])),
    ("sched_getaffinity", s(&[Int, Uint, Ptr])),
    ("sched_setaffinity", s(&[Int, Uint, Ptr])),
    (
        "prctl",
        s(&[Value(xlat::PRCTL_OPTIONS, false), Hex, Hex, Hex, Hex]),
    ),
    ("arch_prctl", s(&[Value(xlat::ARCH_PRCTL, true), Hex])),
    ("set_tid_address", s(&[Ptr])),
    ("set_robust_list", s(&[Ptr, Ulong])),
    ("get_robust_list", s(&[Int, Ptr, Ptr])),
    ("rseq", s(&[Ptr, Hex, Hex, Hex])),
    ("readahead", s(&[Fd, Long, Ulong])),
    (
        "fadvise64",
        s(&[Fd, Long, Ulong, Value(xlat::FADVISE, false)]),
    ),
    ("fallocate", s(&[Fd, Int, Long, Long])),
    ("sync_file_range", s(&[Fd, Long, Long, Hex])),
    ("splice", s(&[Fd, Ptr, Fd, Ptr, Ulong, Hex])),
    ("tee", s(&[Fd, Fd, Ulong, Hex])),
    ("vmsplice", s(&[Fd, Ptr, Ulong, Hex])),
    ("copy_file_range", s(&[Fd, Ptr, Fd, Ptr, Ulong, Hex])),
    ("epoll_create", s(&[Int])),
    ("epoll_create1", s(&[Flags(xlat::EPOLL_CREATE_FLAGS, "0")])),
    (
        "epoll_ctl",
        s(&[Fd, Value(xlat::EPOLL_OPS, false), Fd, Ptr]),
    ),
    ("epoll_wait", s(&[Fd, Ptr, Int, Int])),
    ("epoll_pwait", s(&[Fd, Ptr, Int, Int, Ptr, Ulong])),
    ("epoll_pwait2", s(&[Fd, Ptr, Int, Ptr, Ptr, Ulong])),
    ("eventfd", s(&[Uint])),
    ("eventfd2", s(&[Uint, Flags(xlat::EVENTFD_FLAGS, "0")])),
    ("signalfd", s(&[Fd, Ptr, Ulong])),
    ("signalfd4", s(&[Fd, Ptr, Ulong, OFlags])),
    (
        "timerfd_create",
        s(&[CLOCK, Flags(xlat::TIMERFD_FLAGS, "0")]),
    ),
    ("timerfd_settime", s(&[Fd, Hex, Ptr, Ptr])),
    ("timerfd_gettime", s(&[Fd, Ptr])),
    ("inotify_init1", s(&[Flags(xlat::INOTIFY_INIT_FLAGS, "0")])),
    ("inotify_add_watch", s(&[Fd, Path, Hex])),
    ("inotify_rm_watch", s(&[Fd, Int])),
    ("fanotify_init", s(&[Hex, Hex])),
    ("fanotify_mark", s(&[Fd, Hex, Hex, DirFd, Path])),
    ("memfd_create", s(&[Ptr, Flags(xlat::MEMFD_FLAGS, "0")])),
    (
        "getrandom",
        s(&[Ptr, Ulong, Flags(xlat::GETRANDOM_FLAGS, "0")]),
    ),
    ("unshare", s(&[CloneFlags])),
    ("setns", s(&[Fd, CloneFlags])),
    ("clone3", s(&[Ptr, Ulong])),
    ("pidfd_open", s(&[Int, Hex])),
    ("pidfd_getfd", s(&[Fd, Fd, Hex])),
    (
        "close_range",
        s(&[Uint, Uint, Flags(xlat::CLOSE_RANGE_FLAGS, "0")]),
    ),
    (
        "process_madvise",
        s(&[Fd, Ptr, Ulong, Value(xlat::MADVISE, false), Hex]),
    ),
    ("process_vm_readv", s(&[Int, Ptr, Ulong, Ptr, Ulong, Hex])),
    ("process_vm_writev", s(&[Int, Ptr, Ulong, Ptr, Ulong, Hex])),
    ("perf_event_open", s(&[Ptr, Int, Int, Fd, Hex])),
    ("seccomp", s(&[Uint, Hex, Ptr])),
    ("bpf", s(&[Int, Ptr, Uint])),
    ("membarrier", s(&[Int, Hex, Int])),
    ("getcpu", s(&[Ptr, Ptr, Ptr])),
    ("io_uring_setup", s(&[Uint, Ptr])),
    ("io_uring_enter", s(&[Fd, Uint, Uint, Hex, Ptr, Ulong])),
    ("ptrace", s(&[Int, Int, Ptr, Ptr])),
    ("personality", hex(&[Hex])),
    ("shmat", hex(&[Int, Ptr, Hex])),
    ("shmdt", s(&[Ptr])),
    ("set_thread_area", s(&[Ptr])),
    ("get_thread_area", s(&[Ptr])),
];

/// Argument counts of the calls without a signature (strace: src/linux/*/syscallent.h).
const ARITY: &[(&str, u8)] = &[
    ("getitimer", 2),
    ("setitimer", 3),
    ("sysfs", 3),
    ("sched_setparam", 2),
    ("sched_getparam", 2),
    ("sched_setscheduler", 3),
    ("sched_getscheduler", 1),
    ("sched_get_priority_max", 1),
    ("sched_get_priority_min", 1),
    ("sched_rr_get_interval", 2),
    ("sched_setattr", 3),
    ("sched_getattr", 4),
    ("vhangup", 0),
    ("modify_ldt", 3),
    ("_sysctl", 1),
    ("adjtimex", 1),
    ("clock_adjtime", 2),
    ("settimeofday", 2),
    ("reboot", 4),
    ("sethostname", 2),
    ("setdomainname", 2),
    ("iopl", 1),
    ("ioperm", 3),
    ("create_module", 2),
    ("init_module", 3),
    ("finit_module", 3),
    ("delete_module", 2),
    ("get_kernel_syms", 1),
    ("query_module", 5),
    ("quotactl", 4),
    ("quotactl_fd", 4),
    ("nfsservctl", 3),
    ("getpmsg", 5),
    ("putpmsg", 5),
    ("afs_syscall", 5),
    ("tuxcall", 3),
    ("security", 3),
    ("io_setup", 2),
    ("io_destroy", 1),
    ("io_getevents", 5),
    ("io_pgetevents", 6),
    ("io_submit", 3),
    ("io_cancel", 3),
    ("io_uring_register", 4),
    ("lookup_dcookie", 3),
    ("epoll_ctl_old", 4),
    ("epoll_wait_old", 4),
    ("remap_file_pages", 5),
    ("timer_create", 3),
    ("timer_settime", 4),
    ("timer_gettime", 2),
    ("timer_getoverrun", 1),
    ("timer_delete", 1),
    ("vserver", 5),
    ("mbind", 6),
    ("set_mempolicy", 3),
    ("get_mempolicy", 5),
    ("set_mempolicy_home_node", 4),
    ("migrate_pages", 4),
    ("move_pages", 6),
    ("mq_open", 4),
    ("mq_unlink", 1),
    ("mq_timedsend", 5),
    ("mq_timedreceive", 5),
    ("mq_notify", 2),
    ("mq_getsetattr", 3),
    ("kexec_load", 4),
    ("kexec_file_load", 5),
    ("add_key", 5),
    ("request_key", 4),
    ("keyctl", 5),
    ("ioprio_set", 3),
    ("ioprio_get", 2),
    ("shmget", 3),
    ("shmctl", 3),
    ("semget", 3),
    ("semop", 3),
    ("semctl", 4),
    ("semtimedop", 4),
    ("msgget", 2),
    ("msgsnd", 4),
    ("msgrcv", 5),
    ("msgctl", 3),
    ("kcmp", 5),
    ("userfaultfd", 1),
    ("pkey_alloc", 2),
    ("pkey_free", 1),
    ("move_mount", 5),
    ("fsopen", 2),
    ("fsconfig", 5),
    ("fsmount", 3),
    ("fspick", 3),
    ("landlock_create_ruleset", 3),
    ("landlock_add_rule", 4),
    ("landlock_restrict_self", 2),
    ("memfd_secret", 1),
    ("process_mrelease", 2),
    ("futex_waitv", 5),
    ("futex_wake", 4),
    ("futex_wait", 6),
    ("futex_requeue", 4),
    ("cachestat", 4),
    ("map_shadow_stack", 3),
    ("statmount", 4),
    ("listmount", 4),
    ("lsm_get_self_attr", 4),
    ("lsm_set_self_attr", 4),
    ("lsm_list_modules", 3),
    ("setxattrat", 6),
    ("getxattrat", 6),
    ("listxattrat", 5),
    ("removexattrat", 4),
    ("open_tree_attr", 5),
    ("file_getattr", 5),
    ("file_setattr", 5),
    ("uretprobe", 0),
    ("uprobe", 0),
    ("syslog", 3),
    ("ustat", 2),
    ("uselib", 1),
    ("socketcall", 2),
    ("ipc", 6),
    ("sigreturn", 0),
    ("sigaction", 3),
    ("sigprocmask", 3),
    ("sigsuspend", 3),
    ("signal", 2),
];

/// An unknown call's signature: six arguments in hex, as strace prints a call it cannot name.
const UNKNOWN: Signature = s(&[Hex, Hex, Hex, Hex, Hex, Hex]);

/// Hex arguments, for calls known only by their argument count.
const HEX_ARGS: [Arg; 6] = [Hex, Hex, Hex, Hex, Hex, Hex];

/// The signature of call `name` (six hex arguments when no table knows it).
pub fn signature(name: &str) -> Signature {
    static BY_NAME: LazyLock<HashMap<&'static str, Signature>> = LazyLock::new(|| {
        let mut m: HashMap<&'static str, Signature> = ARITY
            .iter()
            .map(|&(n, k)| (n, s(&HEX_ARGS[..k as usize])))
            .collect();
        m.extend(SIGNATURES.iter().copied());
        m
    });
    BY_NAME.get(name).copied().unwrap_or(UNKNOWN)
}

#[cfg(test)]
mod tests {
    use tracer_dataset::{Arch, arch::path_arg};

    use super::*;

    #[test]
    fn path_arguments_sit_where_the_path_table_says() {
        for (name, sig) in SIGNATURES {
            let at = sig.args.iter().position(|a| matches!(a, Path));
            assert_eq!(
                at.map(|i| i as u8),
                path_arg(name),
                "{name}: its Path argument and tracer_dataset::arch::PATH_ARGS disagree"
            );
        }
    }

    #[test]
    fn every_x86_64_call_has_an_argument_count() {
        let special = ["clone", "execve", "execveat", "fcntl", "fcntl64", "futex"];
        let missing: Vec<&str> = Arch::X86_64
            .all()
            .into_iter()
            .map(|(_, name)| name)
            .filter(|name| {
                !SIGNATURES.iter().any(|(n, _)| n == name)
                    && !ARITY.iter().any(|(n, _)| n == name)
                    && !special.contains(name)
            })
            .collect();
        assert!(
            missing.is_empty(),
            "no signature nor argument count: {missing:?}"
        );
        assert_eq!(signature("getpid").args.len(), 0);
        assert_eq!(signature("mmap").ret, Ret::Hex);
        assert_eq!(signature("timer_create").args.len(), 3);
        assert_eq!(signature("no_such_call").args.len(), 6);
    }
}
