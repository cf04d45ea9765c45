//! Symbolic decoders of argument values, written as strace writes them: flag sets as names
//! joined by `|` in strace's table order with unknown bits left as hex (`O_RDONLY|O_CLOEXEC`,
//! `MAP_PRIVATE|MAP_ANONYMOUS|0x80000000`), enumerations as their name or the number, signals
//! by name (strace: src/xlat/*.in, src/signal.c). Values are the kernel's UAPI constants of the
//! architecture that recorded the run, not this program's libc.

use std::fmt::Write as _;

use tracer_dataset::{Arch, arch::signal_name};

/// A flag table: (bits, name); an entry matches when all its bits are set, and its bits are then
/// cleared, so multi-bit names (`O_SYNC`) come before their parts.
pub type Flags = &'static [(u64, &'static str)];

/// An enumeration: (value, name).
pub type Values = &'static [(u64, &'static str)];

/// Writes `v` as a flag set of `table`; `zero` when `v` is 0; leftover bits as `0x..`.
pub fn flags(out: &mut String, v: u64, table: Flags, zero: &str) {
    if v == 0 {
        out.push_str(zero);
        return;
    }
    let mut rest = v;
    let mut first = true;
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits {
            if !first {
                out.push('|');
            }
            out.push_str(name);
            rest &= !bits;
            first = false;
        }
    }
    if rest != 0 {
        if !first {
            out.push('|');
        }
        let _ = write!(out, "{rest:#x}");
    }
}

/// Writes `v` in hex as C's `%#x` does: `0`, or `0x..`.
pub fn hex(out: &mut String, v: u64) {
    if v == 0 {
        out.push('0');
    } else {
        let _ = write!(out, "{v:#x}");
    }
}

/// Writes `v` as its name in `table`, or as a number (`hex`: `0x..`, else signed decimal).
pub fn value(out: &mut String, v: u64, table: Values, hex: bool) {
    match table.iter().find(|(n, _)| *n == v) {
        Some((_, name)) => out.push_str(name),
        None if hex => self::hex(out, v),
        None => {
            let _ = write!(out, "{}", v as i32);
        }
    }
}

/// `AT_FDCWD` (strace: src/open.c, `print_dirfd`).
pub const AT_FDCWD: i32 = -100;

/// `open(2)` flags beyond the access mode, for x86 and x86-64 (asm-generic/fcntl.h), in
/// strace's order (src/xlat/open_mode_flags.in).
const OPEN_GENERIC: Flags = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o4000000, "__O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
    (0o20200000, "O_TMPFILE"),
    (0o20000000, "__O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o20000, "FASYNC"),
];

/// The same for aarch64 (arch/arm64/include/uapi/asm/fcntl.h moves four of them).
const OPEN_AARCH64: Flags = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o4000000, "__O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o200000, "O_DIRECT"),
    (0o400000, "O_LARGEFILE"),
    (0o100000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
    (0o20040000, "O_TMPFILE"),
    (0o20000000, "__O_TMPFILE"),
    (0o40000, "O_DIRECTORY"),
    (0o20000, "FASYNC"),
];

/// `O_CREAT`: open's mode argument is printed only with it or `__O_TMPFILE`.
pub const O_CREAT: u64 = 0o100;
/// `__O_TMPFILE`.
pub const O_TMPFILE_BIT: u64 = 0o20000000;

fn open_table(arch: Arch) -> Flags {
    match arch {
        Arch::Aarch64 => OPEN_AARCH64,
        Arch::X86_64 | Arch::X86 => OPEN_GENERIC,
    }
}

/// `open(2)` flags: the access mode (`O_RDONLY`, ...), then the other flags.
pub fn open_flags(out: &mut String, arch: Arch, v: u64) {
    let v = v & 0xffff_ffff;
    out.push_str(match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    });
    if v & !3 != 0 {
        out.push('|');
        flags(out, v & !3, open_table(arch), "");
    }
}

/// Flags taking open's values without an access mode (`pipe2`, `dup3`): `0` when empty.
pub fn o_flags(out: &mut String, arch: Arch, v: u64) {
    flags(out, v & 0xffff_ffff, open_table(arch), "0");
}

/// A file mode as strace prints it (`%#03o`): `0644`, `000`.
pub fn mode(out: &mut String, v: u64) {
    let v = v & 0xffff_ffff;
    if v == 0 {
        out.push_str("000");
    } else {
        let _ = write!(out, "0{v:02o}");
    }
}

/// `access(2)` modes.
pub const ACCESS: Flags = &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")];

/// `AT_*` flags of the *at calls (linux/fcntl.h).
pub const AT_FLAGS: Flags = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
    (0x8000, "AT_RECURSIVE"),
];

/// `faccessat2(2)` flags, where 0x200 is `AT_EACCESS`.
pub const AT_ACCESS_FLAGS: Flags = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_EACCESS"),
    (0x1000, "AT_EMPTY_PATH"),
];

/// `mmap(2)`/`mprotect(2)` protections (asm-generic/mman-common.h, x86 and aarch64 extras).
pub fn prot(out: &mut String, arch: Arch, v: u64) {
    const X86: Flags = &[
        (1, "PROT_READ"),
        (2, "PROT_WRITE"),
        (4, "PROT_EXEC"),
        (8, "PROT_SEM"),
        (0x0100_0000, "PROT_GROWSDOWN"),
        (0x0200_0000, "PROT_GROWSUP"),
    ];
    const AARCH64: Flags = &[
        (1, "PROT_READ"),
        (2, "PROT_WRITE"),
        (4, "PROT_EXEC"),
        (8, "PROT_SEM"),
        (0x10, "PROT_BTI"),
        (0x20, "PROT_MTE"),
        (0x0100_0000, "PROT_GROWSDOWN"),
        (0x0200_0000, "PROT_GROWSUP"),
    ];
    let table = if arch == Arch::Aarch64 { AARCH64 } else { X86 };
    flags(out, v & 0xffff_ffff, table, "PROT_NONE");
}

/// `mmap(2)` flags: the mapping type, then the flags (strace: src/mem.c, `print_mmap_flags`),
/// with the huge page size of `MAP_HUGETLB` as `N<<MAP_HUGE_SHIFT`.
pub fn mmap_flags(out: &mut String, arch: Arch, v: u64) {
    const GENERIC: Flags = &[
        (0x10, "MAP_FIXED"),
        (0x20, "MAP_ANONYMOUS"),
        (0x100, "MAP_GROWSDOWN"),
        (0x800, "MAP_DENYWRITE"),
        (0x1000, "MAP_EXECUTABLE"),
        (0x2000, "MAP_LOCKED"),
        (0x4000, "MAP_NORESERVE"),
        (0x8000, "MAP_POPULATE"),
        (0x10000, "MAP_NONBLOCK"),
        (0x20000, "MAP_STACK"),
        (0x40000, "MAP_HUGETLB"),
        (0x80000, "MAP_SYNC"),
        (0x100000, "MAP_FIXED_NOREPLACE"),
        (0x4000000, "MAP_UNINITIALIZED"),
    ];
    // x86-64 alone has MAP_32BIT.
    const X86_64: Flags = &[
        (0x10, "MAP_FIXED"),
        (0x20, "MAP_ANONYMOUS"),
        (0x40, "MAP_32BIT"),
        (0x100, "MAP_GROWSDOWN"),
        (0x800, "MAP_DENYWRITE"),
        (0x1000, "MAP_EXECUTABLE"),
        (0x2000, "MAP_LOCKED"),
        (0x4000, "MAP_NORESERVE"),
        (0x8000, "MAP_POPULATE"),
        (0x10000, "MAP_NONBLOCK"),
        (0x20000, "MAP_STACK"),
        (0x40000, "MAP_HUGETLB"),
        (0x80000, "MAP_SYNC"),
        (0x100000, "MAP_FIXED_NOREPLACE"),
        (0x4000000, "MAP_UNINITIALIZED"),
    ];
    const MAP_HUGETLB: u64 = 0x40000;
    const HUGE_SHIFT: u64 = 26;
    let table = if arch == Arch::X86_64 {
        X86_64
    } else {
        GENERIC
    };
    let mut v = v & 0xffff_ffff;
    let huge = if v & MAP_HUGETLB != 0 {
        let h = (v >> HUGE_SHIFT) & 0x3f;
        v &= !(0x3f << HUGE_SHIFT);
        h
    } else {
        0
    };
    let kind = v & 0xf;
    match kind {
        0 => out.push('0'),
        1 => out.push_str("MAP_SHARED"),
        2 => out.push_str("MAP_PRIVATE"),
        3 => out.push_str("MAP_SHARED_VALIDATE"),
        _ => {
            let _ = write!(out, "{kind:#x}");
        }
    }
    let rest = v & !0xf;
    if rest != 0 {
        out.push('|');
        flags(out, rest, table, "");
    }
    if huge != 0 {
        let _ = write!(out, "|{huge}<<MAP_HUGE_SHIFT");
    }
}

/// `clone(2)` flags with the exit signal in the low byte (`CLONE_VM|...|SIGCHLD`).
pub fn clone_flags(out: &mut String, v: u64) {
    const FLAGS: Flags = &[
        (0x100, "CLONE_VM"),
        (0x200, "CLONE_FS"),
        (0x400, "CLONE_FILES"),
        (0x800, "CLONE_SIGHAND"),
        (0x1000, "CLONE_PIDFD"),
        (0x2000, "CLONE_PTRACE"),
        (0x4000, "CLONE_VFORK"),
        (0x8000, "CLONE_PARENT"),
        (0x10000, "CLONE_THREAD"),
        (0x20000, "CLONE_NEWNS"),
        (0x40000, "CLONE_SYSVSEM"),
        (0x80000, "CLONE_SETTLS"),
        (0x100000, "CLONE_PARENT_SETTID"),
        (0x200000, "CLONE_CHILD_CLEARTID"),
        (0x400000, "CLONE_DETACHED"),
        (0x800000, "CLONE_UNTRACED"),
        (0x1000000, "CLONE_CHILD_SETTID"),
        (0x2000000, "CLONE_NEWCGROUP"),
        (0x4000000, "CLONE_NEWUTS"),
        (0x8000000, "CLONE_NEWIPC"),
        (0x10000000, "CLONE_NEWUSER"),
        (0x20000000, "CLONE_NEWPID"),
        (0x40000000, "CLONE_NEWNET"),
        (0x80000000, "CLONE_IO"),
    ];
    let v = v & 0xffff_ffff;
    let (bits, sig) = (v & !0xff, v & 0xff);
    if bits != 0 || sig == 0 {
        flags(out, bits, FLAGS, "0");
    }
    if sig != 0 {
        if bits != 0 {
            out.push('|');
        }
        signal(out, sig);
    }
}

/// A signal number: its name (`SIGKILL`, `SIGRT_1`), or the number (`0`).
pub fn signal(out: &mut String, v: u64) {
    match signal_name(v as i32 as i64) {
        Some(name) => out.push_str(&name),
        None => {
            let _ = write!(out, "{}", v as i32);
        }
    }
}

/// `rt_sigprocmask(2)`'s `how`.
pub const SIG_HOW: Values = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];

/// `lseek(2)`'s `whence`.
pub const WHENCE: Values = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];

/// `wait4(2)`/`waitid(2)` options.
pub const WAIT_OPTIONS: Flags = &[
    (1, "WNOHANG"),
    (2, "WUNTRACED"),
    (4, "WEXITED"),
    (8, "WCONTINUED"),
    (0x0100_0000, "WNOWAIT"),
    (0x2000_0000, "__WNOTHREAD"),
    (0x4000_0000, "__WALL"),
    (0x8000_0000, "__WCLONE"),
];

/// `fcntl(2)` commands.
pub const FCNTL_CMDS: Values = &[
    (0, "F_DUPFD"),
    (1, "F_GETFD"),
    (2, "F_SETFD"),
    (3, "F_GETFL"),
    (4, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (10, "F_SETSIG"),
    (11, "F_GETSIG"),
    (15, "F_SETOWN_EX"),
    (16, "F_GETOWN_EX"),
    (36, "F_OFD_GETLK"),
    (37, "F_OFD_SETLK"),
    (38, "F_OFD_SETLKW"),
    (1024, "F_SETLEASE"),
    (1025, "F_GETLEASE"),
    (1026, "F_NOTIFY"),
    (1030, "F_DUPFD_CLOEXEC"),
    (1031, "F_SETPIPE_SZ"),
    (1032, "F_GETPIPE_SZ"),
    (1033, "F_ADD_SEALS"),
    (1034, "F_GET_SEALS"),
];

/// `FD_CLOEXEC`, fcntl's descriptor flag.
pub const FD_FLAGS: Flags = &[(1, "FD_CLOEXEC")];

/// Socket address families (linux/socket.h), the common ones.
pub const ADDRESS_FAMILIES: Values = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (10, "AF_INET6"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (38, "AF_ALG"),
    (40, "AF_VSOCK"),
];

/// A socket type with its `SOCK_NONBLOCK`/`SOCK_CLOEXEC` flags (`SOCK_STREAM|SOCK_CLOEXEC`).
pub fn socket_type(out: &mut String, v: u64) {
    const TYPES: Values = &[
        (1, "SOCK_STREAM"),
        (2, "SOCK_DGRAM"),
        (3, "SOCK_RAW"),
        (4, "SOCK_RDM"),
        (5, "SOCK_SEQPACKET"),
        (6, "SOCK_DCCP"),
        (10, "SOCK_PACKET"),
    ];
    let v = v & 0xffff_ffff;
    value(out, v & 0xf, TYPES, true);
    if v & !0xf != 0 {
        out.push('|');
        flags(out, v & !0xf, SOCK_FLAGS, "");
    }
}

/// `SOCK_NONBLOCK`/`SOCK_CLOEXEC` (accept4's flags).
pub const SOCK_FLAGS: Flags = &[(0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC")];

/// IP protocols, for `socket(AF_INET*, ...)`.
pub const IP_PROTOCOLS: Values = &[
    (0, "IPPROTO_IP"),
    (1, "IPPROTO_ICMP"),
    (6, "IPPROTO_TCP"),
    (17, "IPPROTO_UDP"),
    (58, "IPPROTO_ICMPV6"),
    (132, "IPPROTO_SCTP"),
    (255, "IPPROTO_RAW"),
];

/// `shutdown(2)`'s `how`.
pub const SHUTDOWN_HOW: Values = &[(0, "SHUT_RD"), (1, "SHUT_WR"), (2, "SHUT_RDWR")];

/// `arch_prctl(2)` codes (arch/x86/include/uapi/asm/prctl.h).
pub const ARCH_PRCTL: Values = &[
    (0x1001, "ARCH_SET_GS"),
    (0x1002, "ARCH_SET_FS"),
    (0x1003, "ARCH_GET_FS"),
    (0x1004, "ARCH_GET_GS"),
    (0x1011, "ARCH_GET_CPUID"),
    (0x1012, "ARCH_SET_CPUID"),
    (0x1021, "ARCH_GET_XCOMP_SUPP"),
    (0x1022, "ARCH_GET_XCOMP_PERM"),
    (0x1023, "ARCH_REQ_XCOMP_PERM"),
    (0x2001, "ARCH_MAP_VDSO_X32"),
    (0x2002, "ARCH_MAP_VDSO_32"),
    (0x2003, "ARCH_MAP_VDSO_64"),
    (0x5001, "ARCH_SHSTK_ENABLE"),
    (0x5002, "ARCH_SHSTK_DISABLE"),
    (0x5005, "ARCH_SHSTK_STATUS"),
];

/// Resource limits (`prlimit64`, `getrlimit`, `setrlimit`).
pub const RLIMITS: Values = &[
    (0, "RLIMIT_CPU"),
    (1, "RLIMIT_FSIZE"),
    (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"),
    (4, "RLIMIT_CORE"),
    (5, "RLIMIT_RSS"),
    (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"),
    (8, "RLIMIT_MEMLOCK"),
    (9, "RLIMIT_AS"),
    (10, "RLIMIT_LOCKS"),
    (11, "RLIMIT_SIGPENDING"),
    (12, "RLIMIT_MSGQUEUE"),
    (13, "RLIMIT_NICE"),
    (14, "RLIMIT_RTPRIO"),
    (15, "RLIMIT_RTTIME"),
];

/// Clock ids.
pub const CLOCKS: Values = &[
    (0, "CLOCK_REALTIME"),
    (1, "CLOCK_MONOTONIC"),
    (2, "CLOCK_PROCESS_CPUTIME_ID"),
    (3, "CLOCK_THREAD_CPUTIME_ID"),
    (4, "CLOCK_MONOTONIC_RAW"),
    (5, "CLOCK_REALTIME_COARSE"),
    (6, "CLOCK_MONOTONIC_COARSE"),
    (7, "CLOCK_BOOTTIME"),
    (8, "CLOCK_REALTIME_ALARM"),
    (9, "CLOCK_BOOTTIME_ALARM"),
    (11, "CLOCK_TAI"),
];

/// `madvise(2)` advice.
pub const MADVISE: Values = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (18, "MADV_WIPEONFORK"),
    (19, "MADV_KEEPONFORK"),
    (20, "MADV_COLD"),
    (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
    (24, "MADV_DONTNEED_LOCKED"),
    (25, "MADV_COLLAPSE"),
    (100, "MADV_HWPOISON"),
    (101, "MADV_SOFT_OFFLINE"),
    (102, "MADV_GUARD_INSTALL"),
    (103, "MADV_GUARD_REMOVE"),
];

/// `posix_fadvise(2)` advice (`fadvise64`).
pub const FADVISE: Values = &[
    (0, "POSIX_FADV_NORMAL"),
    (1, "POSIX_FADV_RANDOM"),
    (2, "POSIX_FADV_SEQUENTIAL"),
    (3, "POSIX_FADV_WILLNEED"),
    (4, "POSIX_FADV_DONTNEED"),
    (5, "POSIX_FADV_NOREUSE"),
];

/// `epoll_ctl(2)` operations.
pub const EPOLL_OPS: Values = &[
    (1, "EPOLL_CTL_ADD"),
    (2, "EPOLL_CTL_DEL"),
    (3, "EPOLL_CTL_MOD"),
];

/// `flock(2)` operations.
pub const FLOCK_OPS: Flags = &[
    (1, "LOCK_SH"),
    (2, "LOCK_EX"),
    (4, "LOCK_NB"),
    (8, "LOCK_UN"),
];

/// `getrandom(2)` flags.
pub const GETRANDOM_FLAGS: Flags = &[
    (1, "GRND_NONBLOCK"),
    (2, "GRND_RANDOM"),
    (4, "GRND_INSECURE"),
];

/// `statx(2)` masks, `STATX_BASIC_STATS` first as strace prints it.
pub const STATX_MASK: Flags = &[
    (0x7ff, "STATX_BASIC_STATS"),
    (0x1, "STATX_TYPE"),
    (0x2, "STATX_MODE"),
    (0x4, "STATX_NLINK"),
    (0x8, "STATX_UID"),
    (0x10, "STATX_GID"),
    (0x20, "STATX_ATIME"),
    (0x40, "STATX_MTIME"),
    (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"),
    (0x200, "STATX_SIZE"),
    (0x400, "STATX_BLOCKS"),
    (0x800, "STATX_BTIME"),
    (0x1000, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"),
    (0x4000, "STATX_MNT_ID_UNIQUE"),
    (0x8000, "STATX_SUBVOL"),
    (0x10000, "STATX_WRITE_ATOMIC"),
];

/// `EPOLL_CLOEXEC` (`epoll_create1`).
pub const EPOLL_CREATE_FLAGS: Flags = &[(0o2000000, "EPOLL_CLOEXEC")];

/// `EFD_*` (`eventfd2`).
pub const EVENTFD_FLAGS: Flags = &[
    (1, "EFD_SEMAPHORE"),
    (0o4000, "EFD_NONBLOCK"),
    (0o2000000, "EFD_CLOEXEC"),
];

/// `IN_*` (`inotify_init1`).
pub const INOTIFY_INIT_FLAGS: Flags = &[(0o4000, "IN_NONBLOCK"), (0o2000000, "IN_CLOEXEC")];

/// `TFD_*` (`timerfd_create`).
pub const TIMERFD_FLAGS: Flags = &[(0o4000, "TFD_NONBLOCK"), (0o2000000, "TFD_CLOEXEC")];

/// `MFD_*` (`memfd_create`).
pub const MEMFD_FLAGS: Flags = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (0x10, "MFD_EXEC"),
];

/// `MREMAP_*`.
pub const MREMAP_FLAGS: Flags = &[
    (1, "MREMAP_MAYMOVE"),
    (2, "MREMAP_FIXED"),
    (4, "MREMAP_DONTUNMAP"),
];

/// `RENAME_*` (`renameat2`).
pub const RENAME_FLAGS: Flags = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];

/// `umount2(2)` flags.
pub const UMOUNT_FLAGS: Flags = &[
    (1, "MNT_FORCE"),
    (2, "MNT_DETACH"),
    (4, "MNT_EXPIRE"),
    (8, "UMOUNT_NOFOLLOW"),
];

/// `CLOSE_RANGE_*`.
pub const CLOSE_RANGE_FLAGS: Flags = &[(2, "CLOSE_RANGE_UNSHARE"), (4, "CLOSE_RANGE_CLOEXEC")];

/// `TIMER_ABSTIME` (`clock_nanosleep`).
pub const TIMER_FLAGS: Flags = &[(1, "TIMER_ABSTIME")];

/// `prctl(2)` options, the common ones.
pub const PRCTL_OPTIONS: Values = &[
    (1, "PR_SET_PDEATHSIG"),
    (2, "PR_GET_PDEATHSIG"),
    (3, "PR_GET_DUMPABLE"),
    (4, "PR_SET_DUMPABLE"),
    (8, "PR_SET_KEEPCAPS"),
    (15, "PR_SET_NAME"),
    (16, "PR_GET_NAME"),
    (22, "PR_SET_SECCOMP"),
    (23, "PR_CAPBSET_READ"),
    (24, "PR_CAPBSET_DROP"),
    (36, "PR_SET_CHILD_SUBREAPER"),
    (37, "PR_GET_CHILD_SUBREAPER"),
    (38, "PR_SET_NO_NEW_PRIVS"),
    (39, "PR_GET_NO_NEW_PRIVS"),
    (47, "PR_CAP_AMBIENT"),
    (0x59616d61, "PR_SET_PTRACER"),
    (0x53564d41, "PR_SET_VMA"),
];

/// tty and file ioctls of asm-generic/ioctls.h (x86 and aarch64 share them).
pub const IOCTLS: Values = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x5404, "TCSETSF"),
    (0x540e, "TIOCSCTTY"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x541b, "FIONREAD"),
    (0x5421, "FIONBIO"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
];

/// `futex(2)` operations: the command, `_PRIVATE`, and `|FUTEX_CLOCK_REALTIME`.
pub fn futex_op(out: &mut String, v: u64) {
    const CMDS: Values = &[
        (0, "FUTEX_WAIT"),
        (1, "FUTEX_WAKE"),
        (2, "FUTEX_FD"),
        (3, "FUTEX_REQUEUE"),
        (4, "FUTEX_CMP_REQUEUE"),
        (5, "FUTEX_WAKE_OP"),
        (6, "FUTEX_LOCK_PI"),
        (7, "FUTEX_UNLOCK_PI"),
        (8, "FUTEX_TRYLOCK_PI"),
        (9, "FUTEX_WAIT_BITSET"),
        (10, "FUTEX_WAKE_BITSET"),
        (11, "FUTEX_WAIT_REQUEUE_PI"),
        (12, "FUTEX_CMP_REQUEUE_PI"),
        (13, "FUTEX_LOCK_PI2"),
    ];
    const PRIVATE: u64 = 128;
    const CLOCK_REALTIME: u64 = 256;
    let v = v & 0xffff_ffff;
    let cmd = v & !(PRIVATE | CLOCK_REALTIME);
    match CMDS.iter().find(|(n, _)| *n == cmd) {
        Some((_, name)) => {
            out.push_str(name);
            if v & PRIVATE != 0 {
                out.push_str("_PRIVATE");
            }
            if v & CLOCK_REALTIME != 0 {
                out.push_str("|FUTEX_CLOCK_REALTIME");
            }
        }
        None => hex(out, v),
    }
}

/// The futex command without its modifiers (`FUTEX_WAIT` is 0).
pub fn futex_cmd(v: u64) -> u64 {
    v & 127 & !0x100
}

/// Writes `s` as strace quotes a string: `"..."` with `\"`, `\\`, `\n`, `\t`, `\r`, `\v`,
/// `\f` escaped and every other byte outside printable ASCII as an octal escape (three digits
/// when the next byte is an octal digit, as strace does; src/util.c, `string_quote`).
pub fn quoted(out: &mut String, s: &str) {
    out.push('"');
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                let next_is_digit = b.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                if next_is_digit {
                    let _ = write!(out, "\\{c:03o}");
                } else {
                    let _ = write!(out, "\\{c:o}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut String)) -> String {
        let mut out = String::new();
        f(&mut out);
        out
    }

    #[test]
    fn open_flags_as_strace() {
        let a = Arch::X86_64;
        assert_eq!(s(|o| open_flags(o, a, 0o2000000)), "O_RDONLY|O_CLOEXEC");
        assert_eq!(s(|o| open_flags(o, a, 0o1101)), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(
            s(|o| open_flags(o, a, 0o2200000 | 0o4000)),
            "O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY"
        );
        assert_eq!(s(|o| open_flags(o, a, 0o4010002)), "O_RDWR|O_SYNC");
        assert_eq!(s(|o| open_flags(o, a, 0o20200002)), "O_RDWR|O_TMPFILE");
        assert_eq!(s(|o| open_flags(o, a, 0x8000_0000)), "O_RDONLY|0x80000000");
        // aarch64 moves O_DIRECTORY to 0o40000, where x86 has O_DIRECT.
        assert_eq!(
            s(|o| open_flags(o, Arch::Aarch64, 0o40000)),
            "O_RDONLY|O_DIRECTORY"
        );
        assert_eq!(s(|o| open_flags(o, a, 0o40000)), "O_RDONLY|O_DIRECT");
        assert_eq!(s(|o| o_flags(o, a, 0)), "0");
        assert_eq!(s(|o| o_flags(o, a, 0o2000000)), "O_CLOEXEC");
    }

    #[test]
    fn modes_as_strace() {
        assert_eq!(s(|o| mode(o, 0o644)), "0644");
        assert_eq!(s(|o| mode(o, 0)), "000");
        assert_eq!(s(|o| mode(o, 0o7)), "007");
        assert_eq!(s(|o| mode(o, 0o4755)), "04755");
    }

    #[test]
    fn access_and_at_flags() {
        assert_eq!(s(|o| flags(o, 0, ACCESS, "F_OK")), "F_OK");
        assert_eq!(s(|o| flags(o, 4, ACCESS, "F_OK")), "R_OK");
        assert_eq!(s(|o| flags(o, 6, ACCESS, "F_OK")), "R_OK|W_OK");
        assert_eq!(s(|o| flags(o, 7, ACCESS, "F_OK")), "R_OK|W_OK|X_OK");
        assert_eq!(s(|o| flags(o, 0x1000, AT_FLAGS, "0")), "AT_EMPTY_PATH");
        assert_eq!(
            s(|o| flags(o, 0x1100, AT_FLAGS, "0")),
            "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"
        );
        assert_eq!(s(|o| flags(o, 0x200, AT_ACCESS_FLAGS, "0")), "AT_EACCESS");
    }

    #[test]
    fn mmap_as_strace() {
        let a = Arch::X86_64;
        assert_eq!(s(|o| prot(o, a, 3)), "PROT_READ|PROT_WRITE");
        assert_eq!(s(|o| prot(o, a, 5)), "PROT_READ|PROT_EXEC");
        assert_eq!(s(|o| prot(o, a, 0)), "PROT_NONE");
        assert_eq!(s(|o| mmap_flags(o, a, 0x22)), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(
            s(|o| mmap_flags(o, a, 0x812)),
            "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE"
        );
        assert_eq!(s(|o| mmap_flags(o, a, 0x1)), "MAP_SHARED");
        assert_eq!(
            s(|o| mmap_flags(o, a, 0x40022 | (21 << 26))),
            "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT"
        );
        assert_eq!(
            s(|o| mmap_flags(o, Arch::Aarch64, 0x42)),
            "MAP_PRIVATE|0x40"
        );
        assert_eq!(
            s(|o| mmap_flags(o, a, 0x62)),
            "MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT"
        );
    }

    #[test]
    fn clone_flags_as_strace() {
        assert_eq!(
            s(|o| clone_flags(o, 0x01200011)),
            "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
        );
        assert_eq!(
            s(|o| clone_flags(o, 0x3d0f00)),
            "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|\
             CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
        );
        assert_eq!(s(|o| clone_flags(o, 0)), "0");
        assert_eq!(s(|o| clone_flags(o, 17)), "SIGCHLD");
    }

    #[test]
    fn signals_as_strace() {
        assert_eq!(s(|o| signal(o, 9)), "SIGKILL");
        assert_eq!(s(|o| signal(o, 10)), "SIGUSR1");
        assert_eq!(s(|o| signal(o, 0)), "0");
        assert_eq!(s(|o| signal(o, 32)), "SIGRTMIN");
        assert_eq!(s(|o| signal(o, 34)), "SIGRT_2");
        assert_eq!(s(|o| signal(o, 99)), "99");
        assert_eq!(s(|o| value(o, 2, SIG_HOW, false)), "SIG_SETMASK");
        assert_eq!(s(|o| value(o, 9, SIG_HOW, false)), "9");
    }

    #[test]
    fn other_decoders() {
        assert_eq!(s(|o| value(o, 1, WHENCE, false)), "SEEK_CUR");
        assert_eq!(s(|o| value(o, 0x1002, ARCH_PRCTL, true)), "ARCH_SET_FS");
        assert_eq!(s(|o| value(o, 0x9999, ARCH_PRCTL, true)), "0x9999");
        assert_eq!(s(|o| value(o, 3, RLIMITS, false)), "RLIMIT_STACK");
        assert_eq!(
            s(|o| flags(o, 0x4000_0001, WAIT_OPTIONS, "0")),
            "WNOHANG|__WALL"
        );
        assert_eq!(s(|o| socket_type(o, 0o2000001)), "SOCK_STREAM|SOCK_CLOEXEC");
        assert_eq!(s(|o| futex_op(o, 128)), "FUTEX_WAIT_PRIVATE");
        assert_eq!(
            s(|o| futex_op(o, 9 | 128 | 256)),
            "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"
        );
        assert_eq!(futex_cmd(9 | 128 | 256), 9);
        assert_eq!(s(|o| flags(o, 0x7ff, STATX_MASK, "0")), "STATX_BASIC_STATS");
        assert_eq!(
            s(|o| flags(o, 0xfff, STATX_MASK, "0")),
            "STATX_BASIC_STATS|STATX_BTIME"
        );
    }

    #[test]
    fn strings_quoted_as_strace() {
        assert_eq!(s(|o| quoted(o, "/etc/passwd")), "\"/etc/passwd\"");
        assert_eq!(s(|o| quoted(o, "")), "\"\"");
        assert_eq!(s(|o| quoted(o, "a\"b\\c\nd")), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(s(|o| quoted(o, "\x7fELF\x02\x01")), "\"\\177ELF\\2\\1\"");
        assert_eq!(s(|o| quoted(o, "\x01\x30")), "\"\\0010\"");
        assert_eq!(s(|o| quoted(o, "é")), "\"\\303\\251\"");
    }
}
