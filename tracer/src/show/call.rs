//! The text of one call as strace prints it: `name(arguments)` from the raw registers and the
//! `path` column, and the return (`= 3`, `= 0x7f...`, `= -1 ENOENT (No such file or
//! directory)`, `= ?`), without the line's prefix, time or alignment (`super::line`).

use std::{fmt::Write as _, sync::LazyLock};

use tracer_dataset::{
    Arch, SyscallExtra, SyscallRow,
    arch::{errno_name, path_arg, second_path_arg, sockaddr_arg},
};

use super::{
    flags::{self, AT_FDCWD, O_CREAT, O_TMPFILE_BIT},
    signatures::{Arg, Ret, signature},
    xlat,
};

/// What the renderer knows beyond the row: the run's architecture (flag values and clone's
/// argument order) and the capture's path limit (`record -s`).
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// Architecture of the run (`meta::ARCH`).
    pub arch: Arch,
    /// Paths were cut to this many bytes; a path this long is printed with strace's `...`.
    pub path_limit: Option<usize>,
}

/// Appends `name(arguments` (without the closing parenthesis, which an unfinished call lacks)
/// of `row` to `out`. `argv` is the process's argument vector for a successful `execve`, whose
/// registers are gone.
pub fn open_call(out: &mut String, ctx: &Context, row: &SyscallRow<'_>, argv: Option<&[String]>) {
    open_call_with(out, ctx, row, &SyscallExtra::default(), argv);
}

/// `open_call` with the capture-only columns of the row: its second path and socket address
/// print at their arguments' places.
pub fn open_call_with(
    out: &mut String,
    ctx: &Context,
    row: &SyscallRow<'_>,
    extra: &SyscallExtra<'_>,
    argv: Option<&[String]>,
) {
    out.push_str(if row.syscall.is_empty() {
        "?"
    } else {
        row.syscall
    });
    out.push('(');
    let path_at = path_arg(row.syscall).map(usize::from);
    let Some(args) = row.args else {
        unknown_args(out, row, path_at, argv);
        return;
    };
    let arg = Args {
        ctx,
        row,
        args: &args,
        path_at,
        extra,
        path2_at: second_path_arg(row.syscall).map(usize::from),
        sock_at: sockaddr_arg(row.syscall).map(|(i, _)| usize::from(i)),
    };
    match row.syscall {
        "clone" => arg.clone_args(out),
        "execve" => {
            arg.one(out, 0, Arg::Path);
            out.push_str(", ");
            arg.one(out, 1, Arg::Ptr);
            out.push_str(", ");
            arg.one(out, 2, Arg::Ptr);
        }
        "execveat" => {
            let _ = arg.list(out, &[Arg::DirFd, Arg::Path, Arg::Ptr, Arg::Ptr]);
            out.push_str(", ");
            arg.one(out, 4, Arg::Flags(xlat::AT_FLAGS, "0"));
        }
        "fcntl" | "fcntl64" => arg.fcntl(out),
        "futex" => arg.futex(out),
        name => {
            let sig = signature(name);
            let _ = arg.list(out, sig.args);
        }
    }
}

/// Arguments of a row without registers: a successful `execve` (its path and, from the
/// processes table, its argv) or a source that records none. Unknown values print as `?`.
fn unknown_args(
    out: &mut String,
    row: &SyscallRow<'_>,
    path_at: Option<usize>,
    argv: Option<&[String]>,
) {
    let n = match row.syscall {
        "execve" => 3,
        "clone" => 5,
        "fcntl" | "fcntl64" => 3,
        "futex" => 6,
        name => signature(name).args.len(),
    };
    for i in 0..n {
        if i > 0 {
            out.push_str(", ");
        }
        match (row.path, argv) {
            (Some(p), _) if path_at == Some(i) => flags::quoted(out, p),
            (_, Some(argv)) if row.syscall == "execve" && i == 1 => string_array(out, argv),
            _ => out.push('?'),
        }
    }
}

/// `["a", "b"]`.
fn string_array(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        flags::quoted(out, s);
    }
    out.push(']');
}

/// One row's arguments.
struct Args<'a> {
    ctx: &'a Context,
    row: &'a SyscallRow<'a>,
    args: &'a [u64; 6],
    path_at: Option<usize>,
    extra: &'a SyscallExtra<'a>,
    path2_at: Option<usize>,
    sock_at: Option<usize>,
}

/// A socket address as strace prints it (`{sa_family=AF_INET, sin_port=htons(80),
/// sin_addr=inet_addr("1.2.3.4")}`), from the `sock_*` columns.
fn sockaddr(out: &mut String, family: &str, addr: Option<&str>, port: Option<i32>) {
    let _ = write!(out, "{{sa_family={family}");
    match (family, addr) {
        ("AF_INET", Some(a)) => {
            let _ = write!(
                out,
                ", sin_port=htons({}), sin_addr=inet_addr(\"{a}\")",
                port.unwrap_or(0)
            );
        }
        ("AF_INET6", Some(a)) => {
            let _ = write!(
                out,
                ", sin6_port=htons({}), inet_pton(AF_INET6, \"{a}\", &sin6_addr)",
                port.unwrap_or(0)
            );
        }
        ("AF_UNIX", Some(a)) => match a.strip_prefix('@') {
            Some(name) => {
                out.push_str(", sun_path=@");
                flags::quoted(out, name);
            }
            None => {
                out.push_str(", sun_path=");
                flags::quoted(out, a);
            }
        },
        (_, Some(a)) => {
            let _ = write!(out, ", sa_data=\"{a}\"");
        }
        (_, None) => {}
    }
    out.push('}');
}

impl Args<'_> {
    /// Writes the arguments of `kinds` separated by `, `; `None` when an argument is omitted
    /// (open's mode without `O_CREAT`), which ends the list.
    fn list(&self, out: &mut String, kinds: &[Arg]) -> Option<()> {
        for (i, kind) in kinds.iter().enumerate() {
            if let Arg::CreateMode(flags_at) = kind
                && self.args[usize::from(*flags_at)] & (O_CREAT | O_TMPFILE_BIT) == 0
            {
                return None;
            }
            if i > 0 {
                out.push_str(", ");
            }
            self.one(out, i, *kind);
        }
        Some(())
    }

    /// Writes argument `i` as `kind`.
    fn one(&self, out: &mut String, i: usize, kind: Arg) {
        let v = self.args[i];
        if self.path_at == Some(i)
            && let Some(p) = self.row.path
        {
            flags::quoted(out, p);
            if self.ctx.path_limit.is_some_and(|n| p.len() >= n) {
                // strace marks a string cut at its -s limit this way.
                out.push_str("...");
            }
            return;
        }
        if self.path2_at == Some(i)
            && let Some(p) = self.extra.path2
        {
            flags::quoted(out, p);
            if self.ctx.path_limit.is_some_and(|n| p.len() >= n) {
                out.push_str("...");
            }
            return;
        }
        if self.sock_at == Some(i)
            && let Some(family) = self.extra.sock_family
        {
            sockaddr(out, family, self.extra.sock_addr, self.extra.sock_port);
            return;
        }
        let arch = self.ctx.arch;
        match kind {
            Arg::Fd | Arg::Int => {
                let _ = write!(out, "{}", v as i32);
            }
            Arg::DirFd => {
                if v as i32 == AT_FDCWD {
                    out.push_str("AT_FDCWD");
                } else {
                    let _ = write!(out, "{}", v as i32);
                }
            }
            Arg::Path | Arg::Ptr => ptr(out, v),
            Arg::Hex => flags::hex(out, v),
            Arg::Uint => {
                let _ = write!(out, "{}", v as u32);
            }
            Arg::Long => {
                let _ = write!(out, "{}", v as i64);
            }
            Arg::Ulong => {
                let _ = write!(out, "{v}");
            }
            Arg::Mode | Arg::CreateMode(_) => flags::mode(out, v),
            Arg::OpenFlags => flags::open_flags(out, arch, v),
            Arg::OFlags => flags::o_flags(out, arch, v),
            Arg::Prot => flags::prot(out, arch, v),
            Arg::MapFlags => flags::mmap_flags(out, arch, v),
            Arg::CloneFlags => flags::clone_flags(out, v),
            Arg::Signal => flags::signal(out, v),
            Arg::SocketType => flags::socket_type(out, v),
            Arg::Protocol(domain_at) => {
                let domain = self.args[usize::from(domain_at)] as u32;
                if domain == 2 || domain == 10 {
                    flags::value(out, v & 0xffff_ffff, xlat::IP_PROTOCOLS, false);
                } else {
                    let _ = write!(out, "{}", v as i32);
                }
            }
            Arg::FutexOp => flags::futex_op(out, v),
            Arg::Flags(table, zero) => flags::flags(out, v & 0xffff_ffff, table, zero),
            Arg::Value(table, hex) => flags::value(out, v & 0xffff_ffff, table, hex),
        }
    }

    /// `clone(child_stack=..., flags=...[, parent_tid=...][, tls=...][, child_tidptr=...])`
    /// (strace: src/clone.c). x86-64 passes (flags, stack, parent_tid, child_tid, tls); x86
    /// and aarch64 swap the last two.
    fn clone_args(&self, out: &mut String) {
        const SETTLS: u64 = 0x80000;
        const PARENT_SETTID: u64 = 0x100000;
        const PIDFD: u64 = 0x1000;
        const CHILD_TID: u64 = 0x200000 | 0x1000000;
        let a = self.args;
        let (ctid_at, tls_at) = if self.ctx.arch == Arch::X86_64 {
            (3, 4)
        } else {
            (4, 3)
        };
        out.push_str("child_stack=");
        ptr(out, a[1]);
        out.push_str(", flags=");
        flags::clone_flags(out, a[0]);
        if a[0] & (PARENT_SETTID | PIDFD) != 0 {
            out.push_str(", parent_tid=");
            ptr(out, a[2]);
        }
        if a[0] & SETTLS != 0 {
            out.push_str(", tls=");
            ptr(out, a[tls_at]);
        }
        if a[0] & CHILD_TID != 0 {
            out.push_str(", child_tidptr=");
            ptr(out, a[ctid_at]);
        }
    }

    /// `fcntl(fd, cmd[, arg])`: the argument as the command reads it; none for the get
    /// commands (strace: src/fcntl.c).
    fn fcntl(&self, out: &mut String) {
        self.one(out, 0, Arg::Fd);
        out.push_str(", ");
        self.one(out, 1, Arg::Value(xlat::FCNTL_CMDS, true));
        let third = match self.args[1] as u32 {
            // F_GETFD, F_GETFL, F_GETOWN, F_GETSIG, F_GETLEASE, F_GETPIPE_SZ, F_GET_SEALS
            1 | 3 | 9 | 11 | 1025 | 1032 | 1034 => return,
            0 | 1030 => Arg::Fd,
            2 => Arg::Flags(xlat::FD_FLAGS, "0"),
            4 => Arg::OpenFlags,
            5..=7 | 15 | 16 | 36..=38 => Arg::Ptr,
            _ => Arg::Hex,
        };
        out.push_str(", ");
        self.one(out, 2, third);
    }

    /// `futex(uaddr, op, val, ...)`: the arguments the operation reads (strace: src/futex.c).
    fn futex(&self, out: &mut String) {
        use Arg::*;
        let kinds: &[Arg] = match flags::futex_cmd(self.args[1]) {
            0 => &[Ptr, FutexOp, Uint, Ptr],
            1 | 7 | 8 => &[Ptr, FutexOp, Int],
            9 => &[Ptr, FutexOp, Uint, Ptr, Hex],
            10 => &[Ptr, FutexOp, Int, Hex],
            3 => &[Ptr, FutexOp, Int, Int, Ptr],
            4 | 12 => &[Ptr, FutexOp, Int, Int, Ptr, Uint],
            _ => &[Ptr, FutexOp, Uint, Ptr, Ptr, Hex],
        };
        // Never omits an argument: only CreateMode does.
        let _ = self.list(out, kinds);
    }
}

/// An address: `NULL`, or hex.
fn ptr(out: &mut String, v: u64) {
    if v == 0 {
        out.push_str("NULL");
    } else {
        let _ = write!(out, "{v:#x}");
    }
}

/// The errno values the kernel uses to restart a call, which strace prints as `= ? NAME
/// (text)` with its own texts (strace: src/strace.c, `print_syscall_resume`/`syscall_exiting`).
fn restart_text(errno: i64) -> Option<&'static str> {
    Some(match errno {
        512 => "To be restarted if SA_RESTART is set",
        513 => "To be restarted",
        514 => "To be restarted if no handler",
        516 => "Interrupted by signal",
        _ => return None,
    })
}

/// The C library's text of `errno` (`strerror`), as strace prints it.
fn strerror(errno: i64) -> &'static str {
    static TEXTS: LazyLock<Vec<String>> = LazyLock::new(|| {
        (0..4096)
            .map(|n| {
                let mut buf = [0u8; 256];
                // SAFETY: the buffer is valid for writes of its length; the XSI strerror_r
                // writes a NUL-terminated string into it.
                let rc = unsafe { libc::strerror_r(n, buf.as_mut_ptr().cast(), buf.len()) };
                if rc != 0 {
                    return format!("Unknown error {n}");
                }
                let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
                String::from_utf8_lossy(&buf[..end]).into_owned()
            })
            .collect()
    });
    TEXTS
        .get(errno as usize)
        .map_or("Unknown error", String::as_str)
}

/// Appends the return of `row` after `= `: the value in the call's form, `-1 ENAME (text)` for
/// an error, `? ERESTART... (text)` for a call the kernel restarts, `?` when it never returned.
pub fn ret(out: &mut String, ctx: &Context, row: &SyscallRow<'_>) {
    let Some(r) = row.ret else {
        out.push('?');
        return;
    };
    if (-4095..=-1).contains(&r) {
        let errno = -r;
        let name = errno_name(errno);
        match (name, restart_text(errno)) {
            (Some(name), Some(text)) => {
                let _ = write!(out, "? {name} ({text})");
            }
            (Some(name), None) => {
                let _ = write!(out, "-1 {name} ({})", strerror(errno));
            }
            (None, _) => {
                let _ = write!(out, "-1 E{errno} ({})", strerror(errno));
            }
        }
        return;
    }
    let args = row.args.unwrap_or_default();
    if matches!(row.syscall, "fcntl" | "fcntl64") {
        // F_GETFD and F_GETFL return flags (strace: `= 0x1 (flags FD_CLOEXEC)`).
        match args[1] {
            1 if r != 0 => {
                flags::hex(out, r as u64);
                out.push_str(" (flags ");
                flags::flags(out, r as u64, xlat::FD_FLAGS, "0");
                out.push(')');
                return;
            }
            3 => {
                flags::hex(out, r as u64);
                out.push_str(" (flags ");
                flags::open_flags(out, ctx.arch, r as u64);
                out.push(')');
                return;
            }
            _ => {}
        }
    }
    match signature(row.syscall).ret {
        Ret::Hex => flags::hex(out, r as u64),
        Ret::Oct if r > 0 => {
            let _ = write!(out, "0{r:o}");
        }
        Ret::Oct | Ret::Dec => {
            let _ = write!(out, "{r}");
        }
    }
}

/// Whether a call that has no return value ended its thread (`exit`, `exit_group`), which
/// strace prints as `= ?` rather than `<unfinished ...>`.
pub fn never_returns(name: &str) -> bool {
    matches!(name, "exit" | "exit_group")
}

/// Whether the row is a call that started and never returned (`name(args <unfinished ...>`):
/// no return value, though its arguments were recorded. A row with neither comes from a
/// source that records neither (ADFA-LD, UNM) and prints as `name(?) = ?`.
pub fn unfinished(row: &SyscallRow<'_>) -> bool {
    row.ret.is_none() && row.args.is_some() && !never_returns(row.syscall)
}

/// The whole call as one text: `name(arguments) = return`, `exit_group(0) = ?`, or `name(arguments
/// <unfinished ...>` (the `text` column of CSV and JSON Lines).
pub fn text(
    out: &mut String,
    ctx: &Context,
    row: &SyscallRow<'_>,
    extra: &SyscallExtra<'_>,
    argv: Option<&[String]>,
) {
    open_call_with(out, ctx, row, extra, argv);
    if unfinished(row) {
        out.push_str(" <unfinished ...>");
    } else {
        out.push_str(") = ");
        ret(out, ctx, row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Context = Context {
        arch: Arch::X86_64,
        path_limit: None,
    };

    fn row<'a>(
        name: &'a str,
        args: [u64; 6],
        ret: Option<i64>,
        path: Option<&'a str>,
    ) -> SyscallRow<'a> {
        SyscallRow {
            syscall: name,
            args: Some(args),
            ret,
            path,
            ..SyscallRow::default()
        }
    }

    fn t(r: &SyscallRow<'_>) -> String {
        let mut out = String::new();
        text(&mut out, &CTX, r, &SyscallExtra::default(), None);
        out
    }

    const CWD: u64 = 0xffff_ff9c;

    #[test]
    fn calls_of_the_test_program_as_strace_prints_them() {
        let r = row(
            "openat",
            [CWD, 0x5000, 0o2000000, 0, 0, 0],
            Some(3),
            Some("/etc/passwd"),
        );
        assert_eq!(
            t(&r),
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3"
        );
        let r = row(
            "openat",
            [CWD, 0x5000, 0o2000000, 0, 0, 0],
            Some(-2),
            Some("/nope"),
        );
        assert_eq!(
            t(&r),
            "openat(AT_FDCWD, \"/nope\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"
        );
        let r = row(
            "openat",
            [CWD, 0x5000, 0o1101, 0o644, 0, 0],
            Some(4),
            Some("out.txt"),
        );
        assert_eq!(
            t(&r),
            "openat(AT_FDCWD, \"out.txt\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4"
        );
        let r = row(
            "mmap",
            [0, 8192, 3, 0x22, u64::MAX, 0],
            Some(0x7f4a_aa30_d000),
            None,
        );
        assert_eq!(
            t(&r),
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f4aaa30d000"
        );
        let r = row(
            "mmap",
            [0x7f00_0000_0000, 4096, 5, 0x812, 3, 0x26000],
            Some(0x7f00_0000_0000),
            None,
        );
        assert_eq!(
            t(&r),
            "mmap(0x7f0000000000, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000) = 0x7f0000000000"
        );
        let r = row("access", [0x5000, 6, 0, 0, 0, 0], Some(-2), Some("/nope"));
        assert_eq!(
            t(&r),
            "access(\"/nope\", R_OK|W_OK) = -1 ENOENT (No such file or directory)"
        );
        let r = row(
            "access",
            [0x5000, 0, 0, 0, 0, 0],
            Some(0),
            Some("/etc/passwd"),
        );
        assert_eq!(t(&r), "access(\"/etc/passwd\", F_OK) = 0");
        let r = row("kill", [4242, 0, 9, 9, 9, 9], Some(0), None);
        assert_eq!(t(&r), "kill(4242, 0) = 0");
        let r = row("kill", [4242, 9, 0, 0, 0, 0], Some(0), None);
        assert_eq!(t(&r), "kill(4242, SIGKILL) = 0");
        let r = row("rt_sigaction", [10, 0x7ffc_0000, 0, 8, 0, 0], Some(0), None);
        assert_eq!(t(&r), "rt_sigaction(SIGUSR1, 0x7ffc0000, NULL, 8) = 0");
        let r = row("write", [1, 0x7ffc_0000, 9, 0, 0, 0], Some(9), None);
        assert_eq!(t(&r), "write(1, 0x7ffc0000, 9) = 9");
        let r = row("close", [1000, 7, 7, 7, 7, 7], Some(-9), None);
        assert_eq!(t(&r), "close(1000) = -1 EBADF (Bad file descriptor)");
        let r = row("exit_group", [3, 0, 0, 0, 0, 0], None, None);
        assert_eq!(t(&r), "exit_group(3) = ?");
        let r = row("brk", [0, 0, 0, 0, 0, 0], Some(0x55ce_2431_f000), None);
        assert_eq!(t(&r), "brk(NULL) = 0x55ce2431f000");
        let r = row("getpid", [1, 2, 3, 4, 5, 6], Some(77), None);
        assert_eq!(t(&r), "getpid() = 77");
    }

    #[test]
    fn clone_execve_fcntl_and_unfinished_calls() {
        let r = row(
            "clone",
            [0x01200011, 0, 0, 0x7f00_0000_1a10, 0, 0],
            Some(4243),
            None,
        );
        assert_eq!(
            t(&r),
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, \
             child_tidptr=0x7f0000001a10) = 4243"
        );
        let r = SyscallRow {
            syscall: "execve",
            ret: Some(0),
            path: Some("./showcase"),
            ..SyscallRow::default()
        };
        let mut out = String::new();
        text(
            &mut out,
            &CTX,
            &r,
            &SyscallExtra::default(),
            Some(&["./showcase".into(), "out.txt".into()]),
        );
        assert_eq!(
            out,
            "execve(\"./showcase\", [\"./showcase\", \"out.txt\"], ?) = 0"
        );
        assert_eq!(t(&r), "execve(\"./showcase\", ?, ?) = 0");
        let r = row("fcntl", [3, 2, 1, 0, 0, 0], Some(0), None);
        assert_eq!(t(&r), "fcntl(3, F_SETFD, FD_CLOEXEC) = 0");
        let r = row("fcntl", [3, 1, 0, 0, 0, 0], Some(1), None);
        assert_eq!(t(&r), "fcntl(3, F_GETFD) = 0x1 (flags FD_CLOEXEC)");
        let r = row("fcntl", [3, 3, 0, 0, 0, 0], Some(0o100002), None);
        assert_eq!(
            t(&r),
            "fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)"
        );
        let r = row("pause", [4, 0, 0, 0, 0, 0], None, None);
        assert_eq!(t(&r), "pause( <unfinished ...>");
        let r = row("wait4", [12, 0, 0, 0, 0, 0], None, None);
        assert_eq!(t(&r), "wait4(12, NULL, 0, NULL <unfinished ...>");
        let r = row("pause", [0; 6], Some(-514), None);
        assert_eq!(
            t(&r),
            "pause() = ? ERESTARTNOHAND (To be restarted if no handler)"
        );
        let r = row("futex", [0x1000, 128, 2, 0, 0, 0], Some(0), None);
        assert_eq!(t(&r), "futex(0x1000, FUTEX_WAIT_PRIVATE, 2, NULL) = 0");
        let r = row("umask", [0o22, 0, 0, 0, 0, 0], Some(0o22), None);
        assert_eq!(t(&r), "umask(022) = 022");
        let r = row(
            "newfstatat",
            [3, 0x100, 0x200, 0x1000, 0, 0],
            Some(0),
            Some(""),
        );
        assert_eq!(t(&r), "newfstatat(3, \"\", 0x200, AT_EMPTY_PATH) = 0");
        let r = row("timer_create", [1, 0, 0x10, 0, 0, 0], Some(0), None);
        assert_eq!(t(&r), "timer_create(0x1, 0, 0x10) = 0");
    }

    #[test]
    fn cut_paths_and_rows_without_registers() {
        let ctx = Context {
            arch: Arch::X86_64,
            path_limit: Some(4),
        };
        let r = row("openat", [CWD, 1, 0, 0, 0, 0], Some(3), Some("/usr"));
        let mut out = String::new();
        text(&mut out, &ctx, &r, &SyscallExtra::default(), None);
        assert_eq!(out, "openat(AT_FDCWD, \"/usr\"..., O_RDONLY) = 3");
        let r = SyscallRow {
            syscall: "read",
            ret: Some(5),
            ..SyscallRow::default()
        };
        assert_eq!(t(&r), "read(?, ?, ?) = 5");
        let r = SyscallRow {
            syscall: "openat",
            ret: Some(3),
            path: Some("/x"),
            ..SyscallRow::default()
        };
        assert_eq!(t(&r), "openat(?, \"/x\", ?, ?) = 3");
        let r = SyscallRow {
            syscall: "read",
            ..SyscallRow::default()
        };
        assert_eq!(
            t(&r),
            "read(?, ?, ?) = ?",
            "a source that records no returns"
        );
    }

    #[test]
    fn second_paths_and_socket_addresses_print_as_strace_prints_them() {
        let line = |name: &str, args: [u64; 6], extra: SyscallExtra<'_>, path: Option<&str>| {
            let r = SyscallRow {
                syscall: name,
                args: Some(args),
                ret: Some(0),
                path,
                ..SyscallRow::default()
            };
            let mut out = String::new();
            text(&mut out, &CTX, &r, &extra, None);
            out
        };
        assert_eq!(
            line(
                "rename",
                [1, 2, 0, 0, 0, 0],
                SyscallExtra {
                    path2: Some("/b"),
                    ..SyscallExtra::default()
                },
                Some("/a")
            ),
            "rename(\"/a\", \"/b\") = 0"
        );
        assert_eq!(
            line(
                "connect",
                [3, 0x7ffc, 16, 0, 0, 0],
                SyscallExtra {
                    sock_family: Some("AF_INET"),
                    sock_addr: Some("127.0.0.1"),
                    sock_port: Some(9),
                    ..SyscallExtra::default()
                },
                None
            ),
            "connect(3, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0"
        );
        assert_eq!(
            line(
                "bind",
                [4, 0x7ffc, 110, 0, 0, 0],
                SyscallExtra {
                    sock_family: Some("AF_UNIX"),
                    sock_addr: Some("/run/s"),
                    ..SyscallExtra::default()
                },
                None
            ),
            "bind(4, {sa_family=AF_UNIX, sun_path=\"/run/s\"}, 110) = 0"
        );
    }
}
