//! Capture safety, tried as a hostile traced command would (docs/DESIGN.md, "Threat model and
//! data safety"): links swapped in for the output's files while it runs or planted before, input
//! pushed into the tracer's terminal (TIOCSTI), and the capture's data through `kill -9`, a full
//! disk and every catchable fatal signal. Live: the tracer runs as root with the real programs,
//! the command as `nobody`.

use std::{
    os::unix::fs::{MetadataExt as _, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use tests::{Capture, bin, compile, metadata, pty::Pty, python, read_syscalls, require_root};
use tracer_dataset::meta;

const NOBODY: u32 = 65534;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A root-owned 0600 file in a folder only root can enter: what a hostile command would like
/// root to overwrite or give away.
struct Victim {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

const SECRET: &[u8] = b"root's secret\n";

impl Victim {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("victim");
        std::fs::write(&path, SECRET).expect("victim");
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o600)).expect("chmod");
        // Let links point at it from anywhere; only root may enter the folder's files.
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o711)).expect("chmod");
        Self { _dir: dir, path }
    }

    /// Panics unless the victim is exactly as created.
    fn assert_untouched(&self) {
        let m = std::fs::symlink_metadata(&self.path).expect("victim");
        assert!(m.is_file(), "the victim is still a file");
        assert_eq!(
            std::fs::read(&self.path).expect("victim"),
            SECRET,
            "content"
        );
        assert_eq!((m.uid(), m.gid()), (0, 0), "owner");
        assert_eq!(m.mode() & 0o7777, 0o600, "mode");
    }
}

/// `symlink(target, at)`, the link owned by `nobody` (as the command would have made it).
fn plant(target: &Path, at: &Path) {
    std::os::unix::fs::symlink(target, at).expect("plant a link");
    std::os::unix::fs::lchown(at, Some(NOBODY), Some(NOBODY)).expect("lchown");
}

/// Every name under `dir` (recursively), with zero-byte files called out.
fn tree(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("ls") {
            let e = e.expect("entry");
            let m = e.path().symlink_metadata().expect("stat");
            if m.is_dir() {
                stack.push(e.path());
            }
            let name = e
                .path()
                .strip_prefix(dir)
                .expect("under")
                .display()
                .to_string();
            out.push((name, if m.is_file() { m.len() } else { u64::MAX }));
        }
    }
    out.sort();
    out
}

fn assert_no_empty_files(dir: &Path) {
    let empty: Vec<_> = tree(dir).into_iter().filter(|(_, len)| *len == 0).collect();
    assert!(empty.is_empty(), "zero-byte files left: {empty:?}");
}

#[test]
fn a_command_swapping_the_outputs_for_links_never_reaches_the_victim() {
    let cap = Capture::new("out").writable_by_all();
    let victim = Victim::new();
    let prog = cap.compile("swapper");
    let procs = cap.dir().join("out.processes.parquet");
    // The command (nobody) swaps every name it can see in the output folder, the journal
    // included, for a link to the victim, for 2.5 s (the journal cuts parts meanwhile), and
    // plants links at the final names.
    let res = cap.record(
        &["-q", "-u", "nobody"],
        &[
            s(&prog),
            "2.5",
            s(&victim.path),
            s(cap.dir()),
            s(&cap.out),
            s(&procs),
        ],
    );
    assert!(res.status.success(), "{}", stderr(&res));
    victim.assert_untouched();
    for f in [&cap.out, &procs] {
        let m = std::fs::symlink_metadata(f).expect("output");
        assert!(m.is_file(), "{} is the capture, not a link", f.display());
        assert_eq!(m.uid(), 0, "owned by the tracer's user");
    }
    let rows = cap.syscalls();
    assert!(
        rows.iter().filter(|r| r.syscall == "symlink").count() > 100,
        "the command's own calls are in the file"
    );
    let journal = cap.dir().join(".out.parts");
    assert!(
        std::fs::symlink_metadata(&journal).is_ok_and(|m| m.file_type().is_symlink()),
        "the command could only put a link at the journal's name, after the tracer had it open"
    );
    assert_no_empty_files(cap.dir());
}

#[test]
fn links_planted_before_the_capture_are_refused_never_followed() {
    let victim = Victim::new();
    // At the final name: refused, with the reason, before the command runs.
    let cap = Capture::new("out").writable_by_all();
    plant(&victim.path, &cap.out);
    let marker = cap.dir().join("ran");
    let res = cap.record(&["-q", "-u", "nobody"], &["touch", s(&marker)]);
    assert_eq!(res.status.code(), Some(1), "{}", stderr(&res));
    let err = stderr(&res);
    assert!(
        err.contains("is a symbolic link to") && err.contains("refusing to follow it"),
        "{err}"
    );
    assert!(!marker.exists(), "the command did not run");
    victim.assert_untouched();

    // Over a range of temporary names (the old scheme's), the journal's and the processes
    // file's: the journal's name is in the way and said so; nothing is followed.
    let cap = Capture::new("out").writable_by_all();
    for i in 0..256u64 {
        plant(
            &victim.path,
            &cap.dir().join(format!(".out.parquet.{i:016x}.tmp")),
        );
    }
    plant(
        &victim.path,
        &cap.dir().join(".tracer-0000000000000000.tmp"),
    );
    plant(
        victim.path.parent().expect("dir"),
        &cap.dir().join(".out.parts"),
    );
    let res = cap.record(&["-q", "-u", "nobody"], &["true"]);
    assert_eq!(res.status.code(), Some(1), "{}", stderr(&res));
    assert!(stderr(&res).contains("in the way"), "{}", stderr(&res));
    victim.assert_untouched();
    std::fs::remove_file(cap.dir().join(".out.parts")).expect("rm");
    let res = cap.record(&["-q", "-u", "nobody"], &["true"]);
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(std::fs::symlink_metadata(&cap.out).expect("out").is_file());
    victim.assert_untouched();

    // Under sudo the files are the invoking user's: a link of theirs to a file they cannot write
    // is refused too; one to a file they can write is followed.
    let cap = Capture::new("out").writable_by_all();
    plant(&victim.path, &cap.out);
    let res = cap
        .record_command(&["-q"], &["true"])
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534")
        .output()
        .expect("tracer");
    assert_eq!(res.status.code(), Some(1), "{}", stderr(&res));
    assert!(
        stderr(&res).contains("uid 65534 could not write it"),
        "{}",
        stderr(&res)
    );
    victim.assert_untouched();
    std::fs::remove_file(&cap.out).expect("rm");
    let mine = cap.dir().join("elsewhere.parquet");
    plant(&mine, &cap.out);
    let res = cap
        .record_command(&["-q"], &["true"])
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534")
        .output()
        .expect("tracer");
    assert!(res.status.success(), "{}", stderr(&res));
    let m = std::fs::metadata(&mine).expect("the link's target was written");
    assert_eq!(m.uid(), NOBODY, "created as the invoking user");
}

/// A bash on a terminal that runs `script`, then reads one line of input with a timeout and
/// runs it (as a root shell would run what is typed after the capture).
fn root_shell_on(pty: &Pty, script: &str) -> std::process::Child {
    let full = format!(
        "{script}\nread -t 3 -r line; echo \"ROOT READ: [$line]\"; [ -n \"$line\" ] && eval \
         \"$line\"; echo END"
    );
    pty.spawn(Command::new("bash").args(["--norc", "-c", &full]))
}

#[test]
fn tiocsti_cannot_reach_the_tracers_terminal() {
    require_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let prog = compile("tiocsti", dir.path());
    let (pwned, pwned2) = (dir.path().join("PWNED"), dir.path().join("PWNED2"));
    let spec = dir.path().join("inject.toml");
    std::fs::write(
        &spec,
        format!(
            "reps = 1\nmodes = [\"ms\"]\n[[scenario]]\nname = \"inject\"\ncommands = \
             [[\"{}\", \"touch {}\\n\"]]\n",
            prog.display(),
            pwned2.display()
        ),
    )
    .expect("spec");
    let pty = Pty::new(24, 80);
    let tracer = bin("tracer");
    let mut shell = root_shell_on(
        &pty,
        &format!(
            "{t} record -q -u nobody -o {d}/r.parquet -- {p} 'touch {pwned}\n'; echo \
             record=$?\n{t} experiment -u nobody -s {spec} -o {d}/exp --no-report \
             2>/dev/null; echo experiment=$?",
            t = tracer.display(),
            d = dir.path().display(),
            p = prog.display(),
            pwned = pwned.display(),
            spec = spec.display(),
        ),
    );
    pty.wait_for("END", Duration::from_secs(60));
    let _ = shell.wait();
    let out = pty.output();
    assert!(
        out.contains("record=0") && out.contains("experiment=0"),
        "{out}"
    );
    assert!(
        out.contains("ROOT READ: []"),
        "nothing reached the shell's input:\n{out}"
    );
    assert!(
        !pwned.exists() && !pwned2.exists(),
        "no injected command ran:\n{out}"
    );
    assert_eq!(
        pty.pending_input(),
        0,
        "nothing waits in the terminal's input"
    );
    let tty = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("tty="))
        .expect("the command said its terminal");
    assert_ne!(tty, pty.name(), "the command had a terminal of its own");
    let log = std::fs::read_to_string(dir.path().join("exp/logs/inject-ms-0.log")).expect("log");
    assert!(
        log.contains("devtty=No such device or address"),
        "an experiment's command has no controlling terminal: {log}"
    );
}

#[test]
fn an_interactive_command_keeps_its_terminal_size_input_and_ctrl_c() {
    require_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("i.parquet");
    let pty = Pty::new(40, 100);
    let before = pty.termios();
    let script = "read a; echo \"got:$a\"; stty size; read b; stty size; tty; sleep 30";
    let mut tracer = pty.spawn(
        Command::new(bin("tracer"))
            .args(["record", "-q", "-u", "nobody", "-o"])
            .arg(&out)
            .args(["--", "sh", "-c", script]),
    );
    std::thread::sleep(Duration::from_millis(300));
    pty.type_in(b"hello\n");
    pty.wait_for("got:hello", Duration::from_secs(10));
    pty.wait_for("40 100", Duration::from_secs(5));
    pty.resize(50, 120);
    std::thread::sleep(Duration::from_millis(300));
    pty.type_in(b"x\n");
    pty.wait_for("50 120", Duration::from_secs(5));
    pty.wait_for("/dev/pts/", Duration::from_secs(5));
    // Ctrl-C goes to the command through its own terminal; the capture ends with it.
    pty.type_in(b"\x03");
    let started = Instant::now();
    let status = loop {
        if let Some(st) = tracer.try_wait().expect("wait") {
            break st;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "Ctrl-C stops it"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "128+SIGINT\n{}", pty.output());
    let after = pty.termios();
    assert_eq!(
        (after.c_lflag, after.c_iflag, after.c_oflag),
        (before.c_lflag, before.c_iflag, before.c_oflag),
        "the terminal is back in its own mode"
    );
    let md = metadata(&out);
    assert_eq!(md.get(meta::INTERRUPTED).map(String::as_str), Some("true"));
    let rows = read_syscalls(&out);
    assert!(
        rows.iter().any(|r| r.syscall == "read"),
        "the command's reads"
    );
}

#[test]
fn ctrl_z_stops_the_command_with_the_tracer_and_fg_resumes_both() {
    require_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("z.parquet");
    let pty = Pty::new(24, 80);
    let script = format!(
        "set -m\n{} record -q -u nobody -o {} -- sh -c 'read x; echo \"got:$x\"'\necho \
         \"status=$?\"\nfg\necho \"after=$?\"",
        bin("tracer").display(),
        out.display()
    );
    let mut shell = pty.spawn(Command::new("bash").args(["--norc", "-c", &script]));
    std::thread::sleep(Duration::from_millis(500));
    pty.type_in(b"\x1a");
    pty.wait_for("status=148", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    pty.type_in(b"back\n");
    pty.wait_for("after=0", Duration::from_secs(10));
    let _ = shell.wait();
    assert!(pty.output().contains("got:back"), "{}", pty.output());
    assert!(read_syscalls(&out).iter().any(|r| r.syscall == "read"));
}

/// Waits up to 30 s for `ready`, panicking with `what` after that.
fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let t = Instant::now();
    while !ready() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pid of the traced program `prog` (running on untraced once the tracer is gone).
fn pids_of(prog: &Path) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == prog))
        .collect()
}

#[test]
fn kill_9_leaves_readable_parts_and_recover_makes_the_file() {
    let cap = Capture::new("busy");
    let prog = cap.compile("paced");
    let mut tracer = cap
        .record_command(&["-q"], &[s(&prog), "20", "2000"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("tracer");
    let journal = cap.dir().join(".busy.parts");
    wait_until("three parts are on disk", || {
        std::fs::read_dir(&journal).is_ok_and(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
            })
            .count()
                >= 3
        })
    });
    tracer.kill().expect("kill -9");
    let _ = tracer.wait();
    for pid in pids_of(&prog) {
        // SAFETY: ending the test's own workload, left running untraced.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(!cap.out.exists(), "no file: the tracer was killed");
    assert_no_empty_files(cap.dir());
    let counted = python(
        "import sys, duckdb\n\
         print(duckdb.sql(f\"SELECT count(*), count(*) FILTER (syscall = 'getppid') FROM \
         read_parquet('{sys.argv[1]}/*.parquet')\").fetchall()[0])\n\
         import polars as pl\n\
         print(pl.scan_parquet(sys.argv[1] + '/*.parquet').select(pl.len()).collect().item())",
        &[s(&journal)],
    );
    let mut lines = counted.lines();
    let duck = lines.next().expect("duckdb");
    let polars: u64 = lines.next().expect("polars").trim().parse().expect("count");
    assert!(polars > 1000, "the parts hold the first seconds: {counted}");
    assert!(
        duck.starts_with(&format!("({polars}, ")),
        "{duck} vs {polars}"
    );
    let res = Command::new(bin("tracer"))
        .args(["recover"])
        .arg(&cap.out)
        .output()
        .expect("tracer recover");
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(stderr(&res).contains("recovered"), "{}", stderr(&res));
    assert_eq!(
        cap.syscalls().len() as u64,
        polars,
        "every row of the parts"
    );
    let md = cap.metadata();
    assert_eq!(md.get(meta::INTERRUPTED).map(String::as_str), Some("true"));
    assert_eq!(md.get(meta::RECOVERED).map(String::as_str), Some("true"));
    assert_eq!(md.get(meta::EVENTS_LOST).map(String::as_str), Some("0"));
    assert!(md.contains_key(meta::END_NS) && md.contains_key(meta::COMMAND_LINE));
    assert_eq!(cap.processes()[0].exe.as_deref(), Some(s(&prog)));
    assert!(!journal.exists(), "the journal is gone once recovered");
}

/// A 2 MiB tmpfs, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(ok.success(), "mounting a 2 MiB tmpfs");
        Self { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_keeps_what_was_written_and_lets_the_command_finish() {
    require_root();
    let disk = SmallDisk::new();
    let work = tempfile::tempdir().expect("tempdir");
    let prog = compile("paced", work.path());
    let marker = work.path().join("finished");
    let out = disk.dir.path().join("full.parquet");
    // About 400 000 calls a second for 8 s, some 3 MB of parts (seq and ts_ns delta-encoded,
    // about a byte and a half a row): the first parts fit, then the disk is full.
    let res = Command::new(bin("tracer"))
        .args(["record", "-q", "-o"])
        .arg(&out)
        .arg("--")
        .args([s(&prog), "8", "4000", s(&marker)])
        .output()
        .expect("tracer");
    let err = stderr(&res);
    assert_eq!(res.status.code(), Some(125), "incomplete: {err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(
        err.matches("the capture is incomplete").count(),
        1,
        "said once: {err}"
    );
    assert!(
        std::fs::read_to_string(&marker).is_ok_and(|m| m == "done\n"),
        "the command ran to its end"
    );
    let kept: u64 = err
        .split_whitespace()
        .zip(err.split_whitespace().skip(1))
        .find(|(_, next)| *next == "events")
        .and_then(|(n, _)| n.parse().ok())
        .expect("the message says how many events were kept");
    assert!(kept > 0, "some parts fit: {err}");
    let journal = disk.dir.path().join(".full.parts");
    assert!(err.contains(s(&journal)), "{err}");
    let counted = python(
        "import sys, duckdb\n\
         print(duckdb.sql(f\"SELECT count(*) FROM read_parquet('{sys.argv[1]}/*.parquet')\")\
         .fetchall()[0][0])",
        &[s(&journal)],
    );
    assert_eq!(
        counted.trim(),
        kept.to_string(),
        "the parts hold what the message says"
    );
    assert!(!out.exists(), "no half file");
    assert_no_empty_files(disk.dir.path());
}

#[test]
fn every_catchable_fatal_signal_ends_with_complete_files() {
    for sig in [libc::SIGQUIT, libc::SIGHUP, libc::SIGPIPE, libc::SIGTERM] {
        let cap = Capture::new("sig");
        let prog = cap.compile("ticker");
        let child = cap
            .record_command(&["-q"], &[s(&prog), "30"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("tracer");
        wait_until("the command runs", || !pids_of(&prog).is_empty());
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        let started = Instant::now();
        let res = child.wait_with_output().expect("wait");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "stops promptly"
        );
        assert_eq!(
            res.status.code(),
            Some(128 + sig),
            "signal {sig}: the command's death by it, forwarded: {}",
            stderr(&res)
        );
        let md = cap.metadata();
        assert_eq!(md.get(meta::INTERRUPTED).map(String::as_str), Some("true"));
        assert!(cap.syscalls().iter().any(|r| r.syscall == "getppid"));
        assert_eq!(cap.processes()[0].signal, Some(sig), "signal {sig}");
        assert_no_empty_files(cap.dir());
    }
}

#[test]
fn modes_follow_the_umask_and_captures_of_other_users_are_private() {
    require_root();
    let record = |cap: &Capture, flags: &[&str], cmd: &[&str], sudo: bool| {
        let mut c = cap.record_command(flags, cmd);
        if sudo {
            c.env("SUDO_UID", "65534").env("SUDO_GID", "65534");
        }
        // SAFETY: umask between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut c, || {
                libc::umask(0o027);
                Ok(())
            });
        }
        let res = c.output().expect("tracer");
        assert!(res.status.success(), "{}", stderr(&res));
    };
    let mode = |p: &Path| std::fs::metadata(p).expect("file").mode() & 0o777;
    let cap = Capture::new("own");
    record(&cap, &["-q", "--user", "root"], &["true"], false);
    assert_eq!(mode(&cap.out), 0o640, "the umask, as strace -o");
    let cap = Capture::new("other").writable_by_all();
    record(&cap, &["-q", "-u", "nobody"], &["true"], false);
    assert_eq!(mode(&cap.out), 0o600, "a command of another user: private");
    // -p on a root process, for a sudo user: private, and theirs.
    let cap = Capture::new("daemon").writable_by_all();
    let prog = cap.compile("ticker");
    let mut daemon = Command::new(&prog).arg("1.5").spawn().expect("ticker");
    std::thread::sleep(Duration::from_millis(200));
    record(&cap, &["-q", "-p", &daemon.id().to_string()], &[], true);
    let _ = daemon.wait();
    let m = std::fs::metadata(&cap.out).expect("out");
    assert_eq!(
        (m.mode() & 0o777, m.uid()),
        (0o600, NOBODY),
        "private, the user's"
    );
}

#[test]
fn rotation_writes_a_folder_of_bounded_files() {
    let cap = Capture::new("unused");
    let prog = cap.compile("paced");
    let dir = cap.dir().join("rot");
    let res = Command::new(bin("tracer"))
        .args([
            "record",
            "-q",
            "--rotate",
            "256K",
            "--rotate-seconds",
            "2",
            "-o",
        ])
        .arg(&dir)
        .arg("--")
        .args([s(&prog), "4.5", "1000"])
        .output()
        .expect("tracer");
    assert!(res.status.success(), "{}", stderr(&res));
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("syscalls"))
        .expect("syscalls/")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(files.len() >= 2, "rotated: {files:?}");
    assert!(
        files.iter().all(|f| !f
            .file_name()
            .expect("name")
            .to_string_lossy()
            .starts_with('.')),
        "no journal left: {files:?}"
    );
    let mut total = 0;
    for f in &files {
        assert!(
            std::fs::metadata(f).expect("f").len() < 2 << 20,
            "bounded: {}",
            f.display()
        );
        let md = metadata(f);
        assert!(md.contains_key(meta::CHUNK), "{}", f.display());
        total += read_syscalls(f)
            .iter()
            .filter(|r| r.syscall == "getppid")
            .count();
    }
    assert_eq!(total, 450_000, "every call, once, across the files");
    let procs: usize = std::fs::read_dir(dir.join("processes"))
        .expect("processes/")
        .map(|e| tests::read_processes(&e.expect("entry").path()).len())
        .sum();
    assert_eq!(procs, 1, "each process once across the files");
}

#[test]
fn experiment_files_never_follow_planted_links() {
    require_root();
    let victim = Victim::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("exp");
    for sub in ["logs", "syscalls", "processes"] {
        std::fs::create_dir_all(out.join(sub)).expect("mkdir");
    }
    std::fs::set_permissions(out.join("logs"), PermissionsExt::from_mode(0o777)).expect("chmod");
    plant(&victim.path, &out.join("logs/one-ms-0.log"));
    plant(&victim.path, &out.join("manifest.json"));
    let spec = dir.path().join("one.toml");
    std::fs::write(
        &spec,
        "reps = 1\nmodes = [\"ms\"]\n[[scenario]]\nname = \"one\"\ncommands = [[\"echo\", \"hi\"]]\n",
    )
    .expect("spec");
    let res = Command::new(bin("tracer"))
        .args(["experiment", "-u", "nobody", "--no-report", "-s"])
        .arg(&spec)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("tracer experiment");
    assert!(res.status.success(), "{}", stderr(&res));
    victim.assert_untouched();
    let log = out.join("logs/one-ms-0.log");
    assert!(std::fs::symlink_metadata(&log).expect("log").is_file());
    assert_eq!(std::fs::read_to_string(&log).expect("log"), "hi\n");
    assert!(
        std::fs::symlink_metadata(out.join("manifest.json"))
            .expect("m")
            .is_file()
    );

    // A report folder that is a link is refused.
    plant(victim.path.parent().expect("dir"), &out.join("report"));
    let res = Command::new(bin("tracer"))
        .args(["experiment", "-u", "nobody", "-s"])
        .arg(&spec)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("tracer experiment");
    assert_eq!(res.status.code(), Some(1), "{}", stderr(&res));
    assert!(stderr(&res).contains("report"), "{}", stderr(&res));
    victim.assert_untouched();
}
