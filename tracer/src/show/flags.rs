//! Symbolic decoders of argument values, written as strace writes them: flag sets as names
//! joined by `|` in strace's table order with unknown bits left as hex (`O_RDONLY|O_CLOEXEC`,
//! `MAP_PRIVATE|MAP_ANONYMOUS|0x80000000`), enumerations as their name or the number, signals
//! by name (strace: src/xlat/*.in, src/signal.c). Values are the kernel's UAPI constants of the
//! architecture that recorded the run, not this program's libc.

use std::fmt::Write as _;

use tracer_dataset::{Arch, arch::signal_name};

use super::xlat::SOCK_FLAGS;

/// A flag table: (bits, name); an entry matches when all its bits are set, and its bits are then
/// cleared, so multi-bit names (`O_SYNC`) come before their parts.
pub type Flags = &'static [(u64, &'static str)];

/// An enumeration: (value, name).
pub type Values = &'static [(u64, &'static str)];

/// Writes `v` as a flag set of `table`; `zero` when `v` is 0; leftover bits as `0x..`.
pub fn flags(out: &mut String, v: u64, table: Flags, zero: &str) {
    flags_where(out, v, table, zero, |_| true);
}

/// `flags` with only the entries whose bits `named` accepts; the others' bits are leftovers.
fn flags_where(out: &mut String, v: u64, table: Flags, zero: &str, named: impl Fn(u64) -> bool) {
    if v == 0 {
        out.push_str(zero);
        return;
    }
    let mut rest = v;
    let mut first = true;
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits && named(bits) {
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
    const FLAGS: Flags = &[
        (0x10, "MAP_FIXED"),
        (0x20, "MAP_ANONYMOUS"),
        (MAP_32BIT, "MAP_32BIT"),
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
    const MAP_32BIT: u64 = 0x40;
    const MAP_HUGETLB: u64 = 0x40000;
    const HUGE_SHIFT: u64 = 26;
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
        flags_where(out, rest, FLAGS, "", |bits| {
            bits != MAP_32BIT || arch == Arch::X86_64
        });
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
    use crate::show::xlat::*;

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
