//! The live capture checks run in each guest: for every check, the shell commands the guest
//! runs (into `/results/<check>/`) and the assertions the host makes on what came back. The
//! assertions are those of the native tests in `tests/tests/capture.rs`, on the guest's paths,
//! read with the dataset crate's reader; a failed assertion panics as in a test, and the runner
//! turns the panic into that check's failure.

mod capture;
mod refusal;
mod signals;

pub use refusal::MIN_KERNEL;

use std::{
    cell::RefCell,
    collections::HashMap,
    fs,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
};

use tracer_dataset::{
    layout::processes_path,
    rows::{self, ProcessRecord, SyscallRecord},
};

/// Where the guest keeps the static test programs.
pub const GUEST_PROGRAMS: &str = "/progs";
/// Where the guest writes each check's folder.
pub const GUEST_RESULTS: &str = "/results";

/// One check: guest commands and host assertions.
pub struct Check {
    /// The check's name: its folder in the results and its row in the matrix.
    pub name: &'static str,
    /// busybox `sh` commands run in the guest. `$D` is the check's results folder; `rec ARGS`
    /// runs `tracer record -o $D/out.parquet ARGS` with its status, stdout and stderr saved;
    /// `signal_after SIG SECONDS NAME` signals that tracer SECONDS after its command NAME started; `uptime_s`
    /// prints the guest's uptime (see `guest_init.sh`).
    pub guest: &'static str,
    /// The host's assertions on the results.
    pub verify: fn(&Outcome),
}

/// The checks a kernel runs: the capture checks on kernels the tracer supports, the refusal
/// check on older ones.
pub fn for_kernel(supported: bool) -> Vec<Check> {
    if supported {
        let mut all = capture::checks();
        all.extend(signals::checks());
        all
    } else {
        refusal::checks()
    }
}

/// What one check left in the results, read on the host.
pub struct Outcome {
    /// The check's name.
    pub name: &'static str,
    /// The kernel release the guest ran (`uname -r`).
    pub release: String,
    dir: PathBuf,
}

impl Outcome {
    /// The host folder of the check's results.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path the guest used for `file` in the check's folder.
    pub fn guest_path(&self, file: &str) -> String {
        format!("{GUEST_RESULTS}/{}/{file}", self.name)
    }

    /// A file of the check's folder, trimmed; panics if missing.
    pub fn text(&self, file: &str) -> String {
        let path = self.dir.join(file);
        fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_string()
    }

    /// A number the guest wrote (pid, uptime in seconds).
    pub fn number<T: std::str::FromStr>(&self, file: &str) -> T {
        let text = self.text(file);
        text.parse()
            .unwrap_or_else(|_| panic!("{}: not a number: {text:?}", self.dir.join(file).display()))
    }

    /// The tracer's exit status.
    pub fn status(&self) -> Option<i32> {
        Some(self.number("status"))
    }

    /// The tracer's stderr.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    /// The syscalls file the tracer wrote (`-o $D/out.parquet`).
    pub fn out(&self) -> PathBuf {
        self.dir.join("out.parquet")
    }

    /// Every row of the syscalls file.
    pub fn syscalls(&self) -> Vec<SyscallRecord> {
        let path = self.out();
        rows::read_syscalls(&path).unwrap_or_else(|e| panic!("reading {}: {e:#}", path.display()))
    }

    /// Every row of the processes file beside it.
    pub fn processes(&self) -> Vec<ProcessRecord> {
        let path = processes_path(&self.out());
        rows::read_processes(&path).unwrap_or_else(|e| panic!("reading {}: {e:#}", path.display()))
    }

    /// The syscalls file's key-value metadata.
    pub fn metadata(&self) -> HashMap<String, String> {
        let path = self.out();
        rows::metadata(&path).unwrap_or_else(|e| panic!("reading {}: {e:#}", path.display()))
    }

    /// Seconds between two guest uptimes the check wrote.
    pub fn elapsed_s(&self, from: &str, to: &str) -> f64 {
        self.number::<f64>(to) - self.number::<f64>(from)
    }
}

/// The result of one check on one kernel.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check's name.
    pub name: &'static str,
    /// `None` if it passed, else why it failed.
    pub failure: Option<String>,
    /// Guest seconds it took, if it ran.
    pub guest_s: Option<f64>,
}

thread_local! {
    /// The message and place of this thread's last panic, set by [`capture_panics`]' hook.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the panic hook with one that records the message and place instead of printing,
/// for as long as the returned guard lives.
pub fn capture_panics() -> impl Drop {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = panic::take_hook();
        }
    }
    panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        let place = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{place}")));
    }));
    Restore
}

/// Runs each check's assertions on the results in `results` (the guest's `/results`).
pub fn verify(checks: &[Check], results: &Path, release: &str) -> Vec<CheckResult> {
    checks
        .iter()
        .map(|check| {
            let outcome = Outcome {
                name: check.name,
                release: release.to_string(),
                dir: results.join(check.name),
            };
            let uptime = |f: &str| {
                fs::read_to_string(outcome.dir.join(f))
                    .ok()
                    .and_then(|t| t.trim().parse::<f64>().ok())
            };
            let guest_s = uptime("ended_at")
                .zip(uptime("started_at"))
                .map(|(end, start)| end - start);
            let failure = if !outcome.dir.is_dir() {
                Some("did not run: no results folder".to_string())
            } else if outcome.dir.join("timed_out").exists() {
                Some(format!(
                    "the tracer was killed after {} s in the guest",
                    outcome.text("timed_out")
                ))
            } else {
                let ran = panic::catch_unwind(AssertUnwindSafe(|| (check.verify)(&outcome)));
                ran.err().map(|_| {
                    LAST_PANIC
                        .with(|p| p.borrow_mut().take())
                        .unwrap_or_else(|| "panicked".to_string())
                })
            };
            CheckResult {
                name: check.name,
                failure,
                guest_s,
            }
        })
        .collect()
}

/// The guest's `sh` functions `check_<name>() { ... }` and their calls, in order.
pub fn guest_script(checks: &[Check]) -> String {
    let mut s = String::new();
    for c in checks {
        s.push_str(&format!(
            "check_{}() {{\n{}\n}}\n",
            c.name,
            c.guest.trim_end()
        ));
    }
    for c in checks {
        s.push_str(&format!("run_check {}\n", c.name));
    }
    s
}

/// Rows grouped by pid, in file order.
pub fn by_pid(rows: &[SyscallRecord]) -> HashMap<i32, Vec<&SyscallRecord>> {
    let mut m: HashMap<i32, Vec<&SyscallRecord>> = HashMap::new();
    for r in rows {
        m.entry(r.pid).or_default().push(r);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(_: &Outcome) {}
    fn fails(o: &Outcome) {
        assert_eq!(o.text("status"), "0", "status of {}", o.name);
    }

    #[test]
    fn panics_become_failures_naming_the_assertion() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["good", "bad"] {
            fs::create_dir(dir.path().join(name)).expect("mkdir");
        }
        fs::write(dir.path().join("bad/status"), "1\n").expect("write");
        let checks = [
            Check {
                name: "good",
                guest: "",
                verify: passes,
            },
            Check {
                name: "bad",
                guest: "",
                verify: fails,
            },
            Check {
                name: "missing",
                guest: "",
                verify: passes,
            },
        ];
        let results = {
            let _quiet = capture_panics();
            verify(&checks, dir.path(), "6.1.0-test")
        };
        assert_eq!(results[0].failure, None);
        let bad = results[1].failure.as_deref().expect("bad fails");
        assert!(
            bad.contains("status of bad") && bad.contains("checks/mod.rs"),
            "{bad}"
        );
        assert!(
            results[2]
                .failure
                .as_deref()
                .is_some_and(|f| f.contains("did not run"))
        );
    }

    #[test]
    fn guest_script_defines_then_runs_each_check() {
        let checks = [Check {
            name: "one",
            guest: "    rec -- true\n",
            verify: passes,
        }];
        assert_eq!(
            guest_script(&checks),
            "check_one() {\n    rec -- true\n}\nrun_check one\n"
        );
    }
}
