//! Syscall tables of the architectures a dataset can name calls for: name <-> number (from the
//! `syscalls` crate, generated from the kernel's own tables, never hand-written), which argument
//! of a call is a path (one table, for the capture and for every ingest), errno and signal names
//! (both ways, as strace prints them).

use std::{collections::HashMap, str::FromStr, sync::LazyLock};

/// Architecture whose syscall table names and numbers the calls of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Arch {
    /// x86-64 (the `syscalls` crate's `x86_64::Sysno`), the capture architecture here.
    #[cfg_attr(feature = "clap", value(name = "x86_64", alias = "amd64"))]
    X86_64,
    /// 32-bit x86 (`x86::Sysno`): i386 programs, and the table of ADFA-LD and UNM.
    #[cfg_attr(feature = "clap", value(name = "x86", alias = "i386"))]
    X86,
    /// 64-bit Arm (`aarch64::Sysno`).
    #[cfg_attr(feature = "clap", value(name = "aarch64", alias = "arm64"))]
    Aarch64,
}

impl Arch {
    /// The architecture this program was built for; the default for logs made on this machine.
    pub fn native() -> Self {
        if cfg!(target_arch = "aarch64") {
            Self::Aarch64
        } else if cfg!(target_arch = "x86") {
            Self::X86
        } else {
            Self::X86_64
        }
    }

    /// The name written into the dataset (`meta::ARCH`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::X86 => "x86",
            Self::Aarch64 => "aarch64",
        }
    }

    /// The syscall table of this architecture (built once per process).
    pub fn table(self) -> &'static SyscallTable {
        static X86_64: LazyLock<SyscallTable> = LazyLock::new(|| {
            SyscallTable::build(
                Arch::X86_64,
                syscalls::x86_64::Sysno::iter().map(|s| (s.name(), s.id())),
            )
        });
        static X86: LazyLock<SyscallTable> = LazyLock::new(|| {
            SyscallTable::build(
                Arch::X86,
                syscalls::x86::Sysno::iter().map(|s| (s.name(), s.id())),
            )
        });
        static AARCH64: LazyLock<SyscallTable> = LazyLock::new(|| {
            SyscallTable::build(
                Arch::Aarch64,
                syscalls::aarch64::Sysno::iter().map(|s| (s.name(), s.id())),
            )
        });
        match self {
            Self::X86_64 => &X86_64,
            Self::X86 => &X86,
            Self::Aarch64 => &AARCH64,
        }
    }

    /// Name of syscall `nr`, if the table has it.
    pub fn name_of(self, nr: i64) -> Option<&'static str> {
        self.table().by_nr(nr).map(|i| i.name)
    }

    /// Number of syscall `name`, if the table has it.
    pub fn number(self, name: &str) -> Option<i32> {
        self.table().by_name(name).map(|i| i.nr)
    }

    /// Every (number, name) of the table, by number.
    pub fn all(self) -> Vec<(i32, &'static str)> {
        self.table()
            .by_nr
            .iter()
            .flatten()
            .map(|i| (i.nr, i.name))
            .collect()
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

/// What the ingest needs to know about one syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallInfo {
    /// Name in the architecture's table.
    pub name: &'static str,
    /// Number in the architecture's table.
    pub nr: i32,
    /// Index of the argument that holds a path, if the call takes one.
    pub path_arg: Option<u8>,
}

/// Name <-> number table of one architecture.
#[derive(Debug)]
pub struct SyscallTable {
    arch: Arch,
    by_name: HashMap<&'static str, SyscallInfo>,
    by_nr: Vec<Option<SyscallInfo>>,
}

impl SyscallTable {
    fn build(arch: Arch, entries: impl Iterator<Item = (&'static str, i32)>) -> Self {
        let mut by_name = HashMap::new();
        let mut by_nr = Vec::new();
        for (name, nr) in entries {
            let info = SyscallInfo {
                name,
                nr,
                path_arg: path_arg(name),
            };
            by_name.insert(name, info);
            let idx = nr as usize;
            if by_nr.len() <= idx {
                by_nr.resize(idx + 1, None);
            }
            by_nr[idx] = Some(info);
        }
        Self {
            arch,
            by_name,
            by_nr,
        }
    }

    /// The table's architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Looks a call up by the name strace prints.
    pub fn by_name(&self, name: &str) -> Option<SyscallInfo> {
        self.by_name.get(name).copied()
    }

    /// Looks a call up by number.
    pub fn by_nr(&self, nr: i64) -> Option<SyscallInfo> {
        usize::try_from(nr)
            .ok()
            .and_then(|i| self.by_nr.get(i).copied().flatten())
    }
}

/// Syscalls whose arguments include a user-space path, with the index of the first path
/// argument: the calls strace's `%file` class names (strace: src/linux/*/syscallent.h, `TF`
/// flag), under the names of every table here (the i386 `stat64`, `chown32`, ... included).
/// For calls with two paths (rename, link, symlink families) the first is kept. The capture reads
/// the same argument that every ingest takes, so a captured row and an ingested row of the same
/// call agree on `path`.
pub const PATH_ARGS: &[(&str, u8)] = &[
    ("open", 0),
    ("creat", 0),
    ("stat", 0),
    ("lstat", 0),
    ("stat64", 0),
    ("lstat64", 0),
    ("oldstat", 0),
    ("oldlstat", 0),
    ("access", 0),
    ("execve", 0),
    ("truncate", 0),
    ("truncate64", 0),
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
    ("chown32", 0),
    ("lchown", 0),
    ("lchown32", 0),
    ("utime", 0),
    ("utimes", 0),
    ("mknod", 0),
    ("uselib", 0),
    ("statfs", 0),
    ("statfs64", 0),
    ("pivot_root", 0),
    ("chroot", 0),
    ("acct", 0),
    ("mount", 1),
    ("umount", 0),
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

/// The x32 ABI's own calls, numbers 512..=547 (arch/x86/entry/syscalls/syscall_64.tbl, `x32`
/// entries); below 512 x32 shares x86_64's numbers and names.
const X32_OWN: [&str; 36] = [
    "rt_sigaction",
    "rt_sigreturn",
    "ioctl",
    "readv",
    "writev",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "execve",
    "ptrace",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "sigaltstack",
    "timer_create",
    "mq_notify",
    "kexec_load",
    "waitid",
    "set_robust_list",
    "get_robust_list",
    "vmsplice",
    "move_pages",
    "preadv",
    "pwritev",
    "rt_tgsigqueueinfo",
    "recvmmsg",
    "sendmmsg",
    "process_vm_readv",
    "process_vm_writev",
    "setsockopt",
    "getsockopt",
    "io_setup",
    "io_submit",
    "execveat",
    "preadv2",
    "pwritev2",
];

/// The name of x32 call `nr` (the number without the x32 bit `0x40000000`).
pub fn x32_name(nr: i64) -> Option<&'static str> {
    match nr {
        512..=547 => Some(X32_OWN[(nr - 512) as usize]),
        0..=511 => Arch::X86_64.name_of(nr),
        _ => None,
    }
}

/// Calls with a second path argument, and its index: the new name of the rename family, the
/// new link of link/linkat, the link created by symlink/symlinkat (whose first "path",
/// the link's target, is any string), pivot_root's put_old, move_mount's destination.
pub const SECOND_PATH_ARGS: &[(&str, u8)] = &[
    ("rename", 1),
    ("renameat", 3),
    ("renameat2", 3),
    ("link", 1),
    ("linkat", 3),
    ("symlink", 1),
    ("symlinkat", 2),
    ("pivot_root", 1),
    ("move_mount", 3),
];

/// Index of the second path argument of `name`, if it takes two (see `SECOND_PATH_ARGS`).
pub fn second_path_arg(name: &str) -> Option<u8> {
    SECOND_PATH_ARGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, i)| *i)
}

/// Calls whose arguments include a socket address: the index of the address argument and
/// whether its length (the next argument) is a pointer to the length (accept, accept4,
/// recvfrom: the address the kernel filled in) rather than the length itself (connect, bind,
/// sendto: the address the program gave).
pub const SOCKADDR_ARGS: &[(&str, u8, bool)] = &[
    ("connect", 1, false),
    ("bind", 1, false),
    ("sendto", 4, false),
    ("accept", 1, true),
    ("accept4", 1, true),
    ("recvfrom", 4, true),
];

/// The socket-address argument of `name` (see `SOCKADDR_ARGS`).
pub fn sockaddr_arg(name: &str) -> Option<(u8, bool)> {
    SOCKADDR_ARGS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, i, p)| (*i, *p))
}

/// Index of the first path argument of `name`, if it takes one (see `PATH_ARGS`).
pub fn path_arg(name: &str) -> Option<u8> {
    static BY_NAME: LazyLock<HashMap<&'static str, u8>> =
        LazyLock::new(|| PATH_ARGS.iter().copied().collect());
    BY_NAME.get(name).copied()
}

/// errno name (`ENOENT`, and the kernel-internal `ERESTARTSYS` family) to its number, from the
/// `syscalls` crate's table.
pub fn errno_by_name(name: &str) -> Option<i64> {
    static ERRNO: LazyLock<HashMap<&'static str, i64>> = LazyLock::new(|| {
        (1..4096)
            .filter_map(|n| {
                syscalls::Errno::new(n)
                    .name_and_description()
                    .map(|(name, _)| (name, i64::from(n)))
            })
            .collect()
    });
    ERRNO.get(name).copied()
}

/// errno number to its name (`2` -> `ENOENT`), as strace prints it; `None` for numbers no
/// table names.
pub fn errno_name(errno: i64) -> Option<&'static str> {
    let n = i32::try_from(errno)
        .ok()
        .filter(|n| (1..4096).contains(n))?;
    syscalls::Errno::new(n).name()
}

/// Linux signal numbers 1 to 31 by name; the same on every architecture here (x86_64, x86,
/// aarch64).
const SIGNALS: [&str; 31] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The kernel's first real-time signal. strace names signals by the kernel's numbering
/// (strace: src/signal.c, `signame`): 32 is `SIGRTMIN`, 32+n is `SIGRT_n` up to 64 (glibc's
/// own `SIGRTMIN()` is 34, after the two it reserves, and must not be used here).
const KERNEL_SIGRTMIN: i32 = 32;
/// The kernel's last real-time signal.
const KERNEL_SIGRTMAX: i32 = 64;

/// Signal name (`SIGKILL`, `SIGRTMIN`, `SIGRT_3`) to its number on Linux, as strace names them.
pub fn signal_by_name(name: &str) -> Option<i32> {
    if let Some(i) = SIGNALS.iter().position(|s| *s == name) {
        return Some(i as i32 + 1);
    }
    // Aliases strace does not print but logs of other tools do.
    match name {
        "SIGIOT" => return Some(6),
        "SIGPOLL" => return Some(29),
        "SIGRTMIN" => return Some(KERNEL_SIGRTMIN),
        _ => {}
    }
    let rt = name.strip_prefix("SIGRT_")?.parse::<i32>().ok()?;
    let n = KERNEL_SIGRTMIN + rt;
    (n <= KERNEL_SIGRTMAX).then_some(n)
}

/// Signal number to the name strace prints (`9` -> `SIGKILL`, `33` -> `SIGRT_1`); `None` for
/// numbers that name no signal (0 included).
pub fn signal_name(sig: i64) -> Option<std::borrow::Cow<'static, str>> {
    let n = i32::try_from(sig).ok()?;
    match n {
        1..=31 => Some(SIGNALS[n as usize - 1].into()),
        KERNEL_SIGRTMIN => Some("SIGRTMIN".into()),
        33..=KERNEL_SIGRTMAX => Some(format!("SIGRT_{}", n - KERNEL_SIGRTMIN).into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_come_from_the_tables() {
        let t = Arch::X86_64.table();
        assert_eq!(t.by_name("openat").map(|i| i.nr), Some(257));
        assert_eq!(t.by_name("openat").and_then(|i| i.path_arg), Some(1));
        assert_eq!(t.by_nr(59).map(|i| i.name), Some("execve"));
        assert_eq!(Arch::X86.table().by_nr(5).map(|i| i.name), Some("open"));
        assert_eq!(
            Arch::X86.table().by_name("_llseek").map(|i| i.nr),
            Some(140)
        );
        assert!(t.by_name("no_such_call").is_none());
    }

    #[test]
    fn names_and_numbers_round_trip() {
        assert_eq!(Arch::X86_64.name_of(39), Some("getpid"));
        assert_eq!(Arch::X86_64.number("openat"), Some(257));
        assert_eq!(Arch::X86.name_of(5), Some("open"));
        assert_eq!(Arch::X86_64.name_of(100_000), None);
        assert_eq!("i386".parse::<Arch>(), Ok(Arch::X86));
        assert!(
            Arch::X86_64
                .all()
                .iter()
                .any(|(nr, n)| *nr == 0 && *n == "read")
        );
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

    /// The capture fills its kernel path table from `path_arg` by name, the ingest from
    /// `SyscallTable`: both must give the same calls a path, for every call of every table
    /// (they once disagreed on linkat, symlinkat, fanotify_mark and the *xattrat calls).
    #[test]
    fn capture_and_ingest_give_the_same_calls_a_path() {
        for arch in [Arch::X86_64, Arch::X86, Arch::Aarch64] {
            for (nr, name) in arch.all() {
                let info = arch.table().by_nr(i64::from(nr)).expect("listed");
                assert_eq!(info.path_arg, path_arg(name), "{name} on {arch:?}");
                assert_eq!(
                    arch.table().by_name(name).map(|i| i.path_arg),
                    Some(path_arg(name))
                );
            }
        }
        let t = Arch::X86_64.table();
        for (name, idx) in [("linkat", 1), ("symlinkat", 0), ("fanotify_mark", 4)] {
            assert_eq!(
                t.by_name(name).and_then(|i| i.path_arg),
                Some(idx),
                "{name}"
            );
        }
        assert_eq!(
            Arch::X86.table().by_name("stat64").and_then(|i| i.path_arg),
            Some(0)
        );
        assert_eq!(t.by_name("read").and_then(|i| i.path_arg), None);
    }

    #[test]
    fn errno_and_signals() {
        assert_eq!(errno_by_name("ENOENT"), Some(2));
        assert_eq!(errno_by_name("ERESTARTSYS"), Some(512));
        assert_eq!(errno_by_name("ERESTART_RESTARTBLOCK"), Some(516));
        assert_eq!(signal_by_name("SIGKILL"), Some(9));
        assert_eq!(signal_by_name("SIGNOPE"), None);
        assert_eq!(signal_by_name("SIGRTMIN"), Some(32));
        assert_eq!(signal_by_name("SIGRT_1"), Some(33));
        assert_eq!(signal_name(33).as_deref(), Some("SIGRT_1"));
        for n in 1..=64 {
            let name = signal_name(n).expect("named");
            assert_eq!(signal_by_name(&name), Some(n as i32), "{name}");
        }
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(65), None);
        assert_eq!(errno_name(2), Some("ENOENT"));
        assert_eq!(errno_name(514), Some("ERESTARTNOHAND"));
        assert_eq!(errno_name(0), None);
    }
}
