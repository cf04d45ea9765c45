//! Syscall tables of the architectures an ingested log can come from: name <-> number (from the
//! `syscalls` crate, never hand-written), errno names, and which argument of a call is a path.

use std::{collections::HashMap, sync::LazyLock};

/// Architecture whose syscall table names and numbers the calls of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
pub enum Arch {
    /// x86-64 (the `syscalls` crate's `x86_64::Sysno`).
    #[value(name = "x86_64", alias = "amd64")]
    X86_64,
    /// 32-bit x86 (`x86::Sysno`), the table of ADFA-LD.
    #[value(name = "x86", alias = "i386")]
    X86,
    /// 64-bit Arm (`aarch64::Sysno`).
    #[value(name = "aarch64", alias = "arm64")]
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

    /// The name written into the `arch` file metadata.
    pub fn name(self) -> &'static str {
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

/// Index of the first argument that is a user-space path for path-taking calls (open*, exec*,
/// stat*, ...), following the argument lists of the man pages. Used to fill the `path` column:
/// the eBPF capture reads the same argument, so parity can compare them.
pub fn path_arg(name: &str) -> Option<u8> {
    let idx = match name {
        "open" | "creat" | "execve" | "stat" | "lstat" | "stat64" | "lstat64" | "access"
        | "readlink" | "chdir" | "mkdir" | "rmdir" | "unlink" | "rename" | "link" | "symlink"
        | "chmod" | "chown" | "chown32" | "lchown" | "lchown32" | "truncate" | "truncate64"
        | "utime" | "utimes" | "mknod" | "statfs" | "statfs64" | "chroot" | "umount"
        | "umount2" | "swapon" | "swapoff" | "acct" | "pivot_root" | "uselib" | "getxattr"
        | "lgetxattr" | "setxattr" | "lsetxattr" | "listxattr" | "llistxattr" | "removexattr"
        | "lremovexattr" | "oldstat" | "oldlstat" => 0,
        "openat" | "openat2" | "execveat" | "newfstatat" | "fstatat64" | "statx" | "faccessat"
        | "faccessat2" | "readlinkat" | "mkdirat" | "unlinkat" | "renameat" | "renameat2"
        | "fchmodat" | "fchmodat2" | "fchownat" | "futimesat" | "utimensat" | "mknodat"
        | "inotify_add_watch" | "name_to_handle_at" | "mount" | "open_tree" | "mount_setattr" => 1,
        _ => return None,
    };
    Some(idx)
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

/// Signal name (`SIGKILL`) to its number on Linux.
pub fn signal_by_name(name: &str) -> Option<i32> {
    let n = match name {
        "SIGHUP" => libc::SIGHUP,
        "SIGINT" => libc::SIGINT,
        "SIGQUIT" => libc::SIGQUIT,
        "SIGILL" => libc::SIGILL,
        "SIGTRAP" => libc::SIGTRAP,
        "SIGABRT" => libc::SIGABRT,
        "SIGBUS" => libc::SIGBUS,
        "SIGFPE" => libc::SIGFPE,
        "SIGKILL" => libc::SIGKILL,
        "SIGUSR1" => libc::SIGUSR1,
        "SIGSEGV" => libc::SIGSEGV,
        "SIGUSR2" => libc::SIGUSR2,
        "SIGPIPE" => libc::SIGPIPE,
        "SIGALRM" => libc::SIGALRM,
        "SIGTERM" => libc::SIGTERM,
        "SIGSTKFLT" => libc::SIGSTKFLT,
        "SIGCHLD" => libc::SIGCHLD,
        "SIGCONT" => libc::SIGCONT,
        "SIGSTOP" => libc::SIGSTOP,
        "SIGTSTP" => libc::SIGTSTP,
        "SIGTTIN" => libc::SIGTTIN,
        "SIGTTOU" => libc::SIGTTOU,
        "SIGURG" => libc::SIGURG,
        "SIGXCPU" => libc::SIGXCPU,
        "SIGXFSZ" => libc::SIGXFSZ,
        "SIGVTALRM" => libc::SIGVTALRM,
        "SIGPROF" => libc::SIGPROF,
        "SIGWINCH" => libc::SIGWINCH,
        "SIGIO" => libc::SIGIO,
        "SIGPWR" => libc::SIGPWR,
        "SIGSYS" => libc::SIGSYS,
        _ => {
            // Real-time signals: strace prints SIGRTMIN and SIGRT_<n>.
            let rt = name.strip_prefix("SIGRT_")?.parse::<i32>().ok()?;
            return Some(libc::SIGRTMIN() + rt);
        }
    };
    Some(n)
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
    fn errno_and_signals() {
        assert_eq!(errno_by_name("ENOENT"), Some(2));
        assert_eq!(errno_by_name("ERESTARTSYS"), Some(512));
        assert_eq!(errno_by_name("ERESTART_RESTARTBLOCK"), Some(516));
        assert_eq!(signal_by_name("SIGKILL"), Some(9));
        assert_eq!(signal_by_name("SIGNOPE"), None);
    }
}
