//! Capture fidelity against programs that try to make the tracer name, lose or misread their
//! calls (tests/data/programs/fidelity.c, fidelity32.S): every row is checked against what the
//! kernel ran, and where the capture cannot see the truth, against the documented mark.

use std::{path::Path, process::Command};

use tests::Capture;
use tracer_dataset::rows::SyscallRecord;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The rows of the program's own process after its exec (the launcher's are dropped already;
/// the loader's mmap/brk noise is kept, callers pick the calls they check).
fn after_exec(rows: &[SyscallRecord]) -> Vec<&SyscallRecord> {
    let pid = rows
        .iter()
        .find(|r| r.syscall == "execve")
        .expect("execve")
        .pid;
    let exec = rows
        .iter()
        .rposition(|r| r.pid == pid && r.syscall == "execve")
        .expect("execve");
    rows[exec + 1..].iter().filter(|r| r.pid == pid).collect()
}

/// Records `fidelity MODE ARGS...` and returns its rows after exec, and the exit status.
fn record(cap: &Capture, flags: &[&str], args: &[&str]) -> (Vec<SyscallRecord>, Option<i32>) {
    let prog = cap.compile("fidelity");
    let mut argv = vec![s(&prog)];
    argv.extend_from_slice(args);
    let out = cap.record(flags, &argv);
    let rows = cap.syscalls();
    (rows, out.status.code())
}

fn marks(r: &SyscallRecord) -> Vec<&str> {
    r.marks.iter().map(String::as_str).collect()
}

#[test]
fn int80_from_64_bit_code_is_a_32_bit_call() {
    let cap = Capture::new("int80");
    let (rows, code) = record(&cap, &["-q"], &["int80"]);
    assert_eq!(code, Some(0), "the program checks its own results");
    let rows = after_exec(&rows);
    let i386: Vec<_> = rows
        .iter()
        .filter(|r| r.abi.as_deref() == Some("i386"))
        .collect();
    let got: Vec<(&str, i32, Option<&str>)> = i386
        .iter()
        .map(|r| (r.syscall.as_str(), r.nr, r.path.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("open", 5, Some("/etc/passwd")),
            ("write", 4, None),
            ("getpid", 20, None)
        ],
        "named from the i386 table, the open with its path"
    );
    let pid = i386[2].pid as i64;
    assert_eq!(i386[2].ret, Some(pid), "getpid returned the pid");
    assert_eq!(i386[1].ret, Some(6), "write wrote 6 bytes");
    let write = i386[1].args.as_ref().expect("args");
    assert_eq!(
        (write[0], write[2]),
        (1, 6),
        "i386 arguments come from ebx, ecx, edx"
    );
    assert!(
        rows.iter()
            .any(|r| r.syscall == "getpid" && r.abi.is_none()),
        "the program's own 64-bit getpid is a row of the run's ABI (abi null)"
    );
}

#[test]
fn invalid_out_of_range_and_x32_numbers_are_rows() {
    let cap = Capture::new("badnr");
    let (rows, _) = record(&cap, &["-q"], &["badnr"]);
    let rows = after_exec(&rows);
    let unknown: Vec<_> = rows.iter().filter(|r| r.syscall.is_empty()).collect();
    let got: Vec<(i32, Option<i64>, Vec<&str>)> =
        unknown.iter().map(|r| (r.nr, r.ret, marks(r))).collect();
    assert_eq!(
        got,
        [
            (-1, Some(-38), vec!["unknown_nr"]),
            (5000, Some(-38), vec!["unknown_nr"])
        ],
        "syscall(-1) and syscall(5000): kept with their numbers, no name, marked"
    );
    assert!(
        !rows.iter().any(|r| r.syscall == "rt_sigreturn"),
        "syscall(-1) is not taken for rt_sigreturn"
    );
    let x32 = rows
        .iter()
        .find(|r| r.abi.as_deref() == Some("x32"))
        .expect("the x32 call is a row");
    assert_eq!(
        (x32.syscall.as_str(), x32.nr, x32.path.as_deref()),
        ("open", 0x4000_0002, Some("/etc/shadow")),
        "named from the x32 table, with its path"
    );
}

#[test]
fn rt_sigreturn_is_still_named() {
    // A shell's signal handler returns through rt_sigreturn (restore_sigcontext sets orig_ax
    // to -1, like syscall(-1)): told apart by its return value.
    let cap = Capture::new("sigreturn");
    let out = cap.record(
        &["-q"],
        &["python3", "-c", "import os,signal\nsignal.signal(signal.SIGUSR1, lambda *a: None)\nos.kill(os.getpid(), signal.SIGUSR1)"],
    );
    assert!(out.status.success(), "{out:?}");
    let rows = cap.syscalls();
    assert!(
        rows.iter()
            .any(|r| r.syscall == "rt_sigreturn" && r.nr == 15),
        "the handler's return is rt_sigreturn"
    );
    assert!(
        !rows
            .iter()
            .any(|r| r.marks.iter().any(|m| m == "unknown_nr")),
        "and nothing else is an unknown number"
    );
}

#[test]
fn calls_stopped_by_seccomp_never_returned() {
    for (how, code, mark, ret) in [
        ("kill", Some(128 + 31), Some("seccomp_kill"), None),
        ("trap", Some(0), Some("seccomp_trap"), None),
        ("errno", Some(0), None, Some(-13)),
    ] {
        let cap = Capture::new(&format!("seccomp-{how}"));
        let dir = cap.dir().join(format!("made-by-{how}"));
        let (rows, status) = record(&cap, &["-q"], &["seccomp", how, s(&dir)]);
        assert_eq!(status, code, "{how}: the program's end");
        assert!(!dir.exists(), "{how}: the mkdir never ran");
        let mkdir: Vec<_> = rows.iter().filter(|r| r.syscall == "mkdir").collect();
        assert_eq!(mkdir.len(), 1, "{how}: one mkdir row");
        let m = mkdir[0];
        assert_eq!(m.path.as_deref(), Some(s(&dir)), "{how}: its path");
        assert_eq!(
            m.ret, ret,
            "{how}: a stopped call has no return; RET_ERRNO's errno shows"
        );
        assert_eq!(
            marks(m),
            mark.into_iter().collect::<Vec<_>>(),
            "{how}: marked"
        );
    }
}

#[test]
fn paths_are_kept_whole_and_what_could_not_be_read_is_marked() {
    let cap = Capture::new("paths");
    let file = cap.dir().join("pathfile");
    std::fs::write(&file, "/etc/hostname").expect("path file");
    let (rows, _) = record(&cap, &["-q"], &["paths", s(&file)]);
    let rows = after_exec(&rows);
    let opens: Vec<_> = rows
        .iter()
        .filter(|r| r.syscall == "openat" || r.syscall == "open")
        .collect();
    let long = format!("{}/etc/shadow", "/.".repeat(150));
    let got = |i: usize| {
        let r = opens[opens.len() - 5 + i];
        (
            r.path.as_deref().map(str::len),
            r.ret.map(|v| v.signum()),
            marks(r),
        )
    };
    let first = opens[opens.len() - 5];
    assert_eq!(
        first.path.as_deref(),
        Some(long.as_str()),
        "311 bytes, whole"
    );
    assert_eq!(got(0), (Some(311), Some(1), vec![]));
    assert_eq!(
        got(1),
        (Some(4095), Some(-1), vec!["path_cut"]),
        "a path past PATH_MAX: its start, marked cut (the kernel said ENAMETOOLONG)"
    );
    assert_eq!(opens[opens.len() - 4].ret, Some(-36));
    assert_eq!(
        got(2),
        (None, Some(-1), vec!["path_bad_pointer"]),
        "open((char *)1): EFAULT, a bad pointer"
    );
    assert_eq!(
        got(3),
        (Some(s(&file).len()), Some(1), vec![]),
        "the path file"
    );
    assert_eq!(
        got(4),
        (None, Some(-1), vec!["path_unreadable"]),
        "a path the kernel never read (seccomp denied the open first), in a page never \
         touched: unreadable, not a bad pointer"
    );
}

/// The window the capture documents: paths are read at the call's exit, so a buffer
/// rewritten while the call blocks is read as rewritten; one unmapped is marked unreadable.
#[test]
fn paths_changed_during_a_blocking_call() {
    let cap = Capture::new("rewrite");
    let fifo = cap.dir().join("fifo");
    let (rows, code) = record(&cap, &["-q"], &["rewrite", s(&fifo)]);
    assert_eq!(code, Some(0));
    let main = after_exec(&rows)[0].tid;
    let open = rows
        .iter()
        .rfind(|r| r.syscall == "openat" && r.tid == main)
        .expect("the blocking open");
    assert!(open.ret.is_some_and(|fd| fd >= 0));
    assert_eq!(
        open.path.as_deref(),
        Some("/tmp/innocent-file"),
        "read at exit, after the rewrite (docs/DESIGN.md, the remaining window)"
    );

    let cap = Capture::new("unmap");
    let fifo = cap.dir().join("fifo");
    let (rows, code) = record(&cap, &["-q"], &["unmap", s(&fifo)]);
    assert_eq!(code, Some(0));
    let main = after_exec(&rows)[0].tid;
    let open = rows
        .iter()
        .rfind(|r| r.syscall == "openat" && r.tid == main)
        .expect("the blocking open");
    assert!(open.ret.is_some_and(|fd| fd >= 0), "the kernel read it");
    assert_eq!(
        (open.path.as_deref(), marks(open)),
        (None, vec!["path_unreadable"]),
        "unmapped before exit: unreadable, not a bad pointer"
    );
}

/// With `--entry-paths` (and `-T`) the same programs cannot falsify the path: it is read as
/// the call enters the kernel, before the other thread rewrites or unmaps it.
#[test]
fn entry_paths_close_the_window() {
    for flag in ["--entry-paths", "-T"] {
        for mode in ["rewrite", "unmap"] {
            let cap = Capture::new(&format!("entry-{mode}"));
            let fifo = cap.dir().join("fifo");
            let (rows, code) = record(&cap, &["-q", flag], &[mode, s(&fifo)]);
            assert_eq!(code, Some(0), "{flag} {mode}");
            let main = after_exec(&rows)[0].tid;
            let open = rows
                .iter()
                .rfind(|r| r.syscall == "openat" && r.tid == main)
                .expect("the blocking open");
            assert!(open.ret.is_some_and(|fd| fd >= 0));
            assert_eq!(
                (open.path.as_deref(), marks(open)),
                (Some(s(&fifo)), vec![]),
                "{flag} {mode}: the path the kernel opened"
            );
        }
    }
    // Everything else still holds: second paths, socket addresses, cut and bad paths.
    let cap = Capture::new("entry-paths");
    let file = cap.dir().join("pathfile");
    std::fs::write(&file, "/etc/hostname").expect("path file");
    let (rows, _) = record(&cap, &["-q", "--entry-paths"], &["paths", s(&file)]);
    let got: Vec<(Option<usize>, Vec<&str>)> = after_exec(&rows)
        .iter()
        .filter(|r| r.syscall == "openat" || r.syscall == "open")
        .rev()
        .take(5)
        .map(|r| (r.path.as_deref().map(str::len), marks(r)))
        .collect();
    assert_eq!(
        got,
        [
            (None, vec!["path_unreadable"]),
            (Some(s(&file).len()), vec![]),
            (None, vec!["path_bad_pointer"]),
            (Some(4095), vec!["path_cut"]),
            (Some(311), vec![]),
        ],
        "the same marks when read at entry (newest first); the seccomp-denied open never \
         entered (no sys_enter), so it is read at exit as before"
    );
    let cap = Capture::new("entry-net");
    let sock = cap.dir().join("sock");
    let (rows, _) = record(&cap, &["-q", "--entry-paths"], &["net", s(&sock)]);
    let got: Vec<_> = after_exec(&rows)
        .iter()
        .filter(|r| ["connect", "bind", "sendto"].contains(&r.syscall.as_str()))
        .map(|r| (r.sock_addr.clone(), r.sock_port))
        .collect();
    assert_eq!(
        got,
        [
            (Some("127.0.0.1".to_string()), Some(9)),
            (Some(s(&sock).to_string()), None),
            (Some("::1".to_string()), Some(5353)),
        ]
    );
}

#[test]
fn socket_addresses_and_second_paths() {
    let cap = Capture::new("net");
    let sock = cap.dir().join("sock");
    let (rows, _) = record(&cap, &["-q"], &["net", s(&sock)]);
    let rows = after_exec(&rows);
    let got: Vec<_> = rows
        .iter()
        .filter(|r| ["connect", "bind", "sendto"].contains(&r.syscall.as_str()))
        .map(|r| {
            (
                r.syscall.as_str(),
                r.sock_family.as_deref(),
                r.sock_addr.as_deref(),
                r.sock_port,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("connect", Some("AF_INET"), Some("127.0.0.1"), Some(9)),
            ("bind", Some("AF_UNIX"), Some(s(&sock)), None),
            ("sendto", Some("AF_INET6"), Some("::1"), Some(5353)),
        ]
    );

    let cap = Capture::new("rename");
    let (a, b) = (cap.dir().join("a"), cap.dir().join("b"));
    std::fs::write(&a, "x").expect("file");
    let out = cap.record(&["-q"], &["mv", s(&a), s(&b)]);
    assert!(out.status.success());
    let rows = cap.syscalls();
    let rename = rows
        .iter()
        .find(|r| r.syscall.starts_with("rename"))
        .expect("mv renames");
    assert_eq!(
        (rename.path.as_deref(), rename.path2.as_deref()),
        (Some(s(&a)), Some(s(&b))),
        "both paths of {}",
        rename.syscall
    );
}

/// A 32-bit program (no libc: fork, waitpid, open, getpid, exit_group through int 0x80).
fn compile32(cap: &Capture) -> std::path::PathBuf {
    let src = tests::workspace().join("tests/data/programs/fidelity32.S");
    let out = cap.dir().join("fidelity32");
    let status = Command::new("cc")
        .args(["-m32", "-nostdlib", "-static", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("running cc");
    assert!(status.success(), "assembling {}", src.display());
    out
}

#[test]
fn a_32_bit_program_is_named_filtered_and_forks_once() {
    let cap = Capture::new("prog32");
    let prog = compile32(&cap);
    let out = cap.record(&["-q"], &[s(&prog)]);
    assert_eq!(out.status.code(), Some(0));
    let rows = cap.syscalls();
    let mine = after_exec(&rows);
    let parent: Vec<(&str, Option<&str>)> = mine
        .iter()
        .map(|r| (r.syscall.as_str(), r.path.as_deref()))
        .collect();
    assert_eq!(
        parent,
        [
            ("fork", None),
            ("waitpid", None),
            ("open", Some("/etc/passwd")),
            ("getpid", None),
            ("exit_group", None)
        ],
        "the parent's calls, the open with its path, one fork row (the child's return is \
         not a second fork)"
    );
    let child = mine[0].ret.expect("fork returned the child") as i32;
    let child_rows: Vec<&str> = rows
        .iter()
        .filter(|r| r.pid == child)
        .map(|r| r.syscall.as_str())
        .collect();
    assert_eq!(child_rows, ["exit"], "the child's only call");
    assert!(mine.iter().all(|r| r.abi.as_deref() == Some("i386")));

    let cap = Capture::new("prog32-e");
    let prog = compile32(&cap);
    let out = cap.record(&["-q", "-e", "trace=open"], &[s(&prog)]);
    assert_eq!(out.status.code(), Some(0));
    let got: Vec<(String, Option<String>)> = cap
        .syscalls()
        .into_iter()
        .map(|r| (r.syscall, r.path))
        .collect();
    assert_eq!(
        got,
        [("open".to_string(), Some("/etc/passwd".to_string()))],
        "-e trace=open keeps the i386 open and nothing else"
    );
}

/// The documented limit: an io_uring request never passes sys_exit. The ring's set-up and
/// `io_uring_enter` are rows; the open the ring made is not, though it happened.
#[test]
fn io_uring_requests_are_not_rows() {
    let cap = Capture::new("uring");
    let prog = cap.compile("uring");
    let target = cap.dir().join("opened-by-the-ring");
    std::fs::write(&target, "x").expect("file");
    let out = cap.record(&["-q"], &[s(&prog), s(&target)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("user_data=42 fd="),
        "the ring opened the file: {stdout}"
    );
    let rows = cap.syscalls();
    let names: Vec<&str> = after_exec(&rows)
        .iter()
        .map(|r| r.syscall.as_str())
        .collect();
    assert!(names.contains(&"io_uring_setup"), "{names:?}");
    assert!(names.contains(&"io_uring_enter"), "{names:?}");
    assert!(
        !rows.iter().any(|r| r.path.as_deref() == Some(s(&target))),
        "the ring's openat is no row (README: what a capture does not see)"
    );
}

/// `tracer show` prints what the capture now reads as strace prints it: socket addresses and
/// second paths, compared line for line with real strace on the same programs.
#[test]
fn show_prints_socket_addresses_and_second_paths_as_strace() {
    let cap = Capture::new("net-show");
    let prog = cap.compile("fidelity");
    let sock = cap.dir().join("sock");
    let (a, b) = (cap.dir().join("a"), cap.dir().join("b"));
    std::fs::write(&a, "x").expect("file");
    let script = format!("{} net {}; mv {} {}", s(&prog), s(&sock), s(&a), s(&b));
    // The same commands under strace (fresh socket path and file for each run).
    let strace_log = cap.dir().join("strace.log");
    let status = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=connect,bind,rename,renameat,renameat2",
            "-o",
        ])
        .arg(&strace_log)
        .args(["sh", "-c", &script])
        .status()
        .expect("running strace");
    assert!(status.success());
    std::fs::remove_file(&sock).expect("socket file");
    std::fs::rename(&b, &a).expect("file back");
    let out = cap.record(&["-q"], &["sh", "-c", &script]);
    assert!(out.status.success(), "{out:?}");
    let shown = tests::tracer(&[
        "show",
        "-e",
        "trace=connect,bind,rename,renameat,renameat2",
        s(&cap.out),
    ]);
    assert!(shown.status.success(), "{shown:?}");
    // Without pids and alignment: `[pid N] ` prefixes and the padding before ` = `.
    let normal = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| {
                let l = l.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
                l.strip_prefix("[pid")
                    .map_or(l, |r| r.split_once("] ").map_or(r, |(_, rest)| rest))
            })
            .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
            .map(|l| {
                let (call, ret) = l.rsplit_once(" = ").unwrap_or((l, ""));
                format!("{} = {ret}", call.trim_end())
            })
            .collect()
    };
    let want = normal(&std::fs::read_to_string(&strace_log).expect("strace log"));
    let got = normal(&String::from_utf8_lossy(&shown.stdout));
    assert_eq!(got, want, "tracer show vs strace");
    assert!(
        want.iter()
            .any(|l| l.starts_with("connect(3, {sa_family=AF_INET, sin_port=htons(9)")),
        "{want:?}"
    );
    assert!(want.iter().any(|l| l.contains("sun_path=")), "{want:?}");
    assert!(want.iter().any(|l| l.starts_with("rename")), "{want:?}");
}
