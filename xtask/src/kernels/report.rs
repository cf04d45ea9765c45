//! The matrix's results: per kernel and per check, printed as they come, summed for the test
//! totals, and written as Markdown tables (`target/kernels/matrix.md`) for the README.

use std::fmt::Write as _;

use super::{checks::CheckResult, fetch::Kernel, qemu::Machine};

/// One kernel's run.
pub struct KernelRun {
    /// The kernel.
    pub kernel: Kernel,
    /// How its guest ran.
    pub machine: Machine,
    /// Guest uptime when init started, if it got there.
    pub boot_s: Option<f64>,
    /// Host seconds the VM ran.
    pub wall_s: f64,
    /// What went wrong with the VM itself (timeout, no results), if anything.
    pub vm_error: Option<String>,
    /// One result per check, the boot check first.
    pub results: Vec<CheckResult>,
}

impl KernelRun {
    /// The kernel as the messages name it.
    pub fn label(&self) -> String {
        format!(
            "kernel {} ({}, {})",
            self.kernel.release,
            self.kernel.suite,
            self.machine.label()
        )
    }

    /// Checks passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.failure.is_none()).count()
    }

    /// Checks failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}

/// The whole matrix.
pub struct Matrix {
    /// The command that produced it.
    pub command: String,
    /// Host facts for the header: date, host kernel, QEMU version.
    pub header: String,
    /// Per kernel.
    pub runs: Vec<KernelRun>,
    /// Host seconds of the whole matrix (build, downloads, probe, boots, checks).
    pub total_s: f64,
}

impl Matrix {
    /// Checks passed on all kernels.
    pub fn passed(&self) -> usize {
        self.runs.iter().map(KernelRun::passed).sum()
    }

    /// Checks failed on all kernels.
    pub fn failed(&self) -> usize {
        self.runs.iter().map(KernelRun::failed).sum()
    }

    /// One line per failure, naming the kernel and the check.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for run in &self.runs {
            if let Some(e) = &run.vm_error {
                out.push(format!("{}: {e}", run.label()));
            }
            for r in &run.results {
                if let Some(f) = &r.failure {
                    out.push(format!("{}: check {} failed: {f}", run.label(), r.name));
                }
            }
        }
        out
    }

    /// The Markdown report: a summary table per kernel, then a table of every check.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Produced by `{}`: {}.", self.command, self.header);
        let _ = writeln!(
            s,
            "Whole matrix: {:.0} s (release build check, downloads when not cached, KVM probe, boots, checks).\n",
            self.total_s
        );
        s.push_str(
            "| kernel | Debian package (suite) | boot | init after | checks passed | failed | VM time |\n\
             | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for run in &self.runs {
            let failed: Vec<&str> = run
                .results
                .iter()
                .filter(|r| r.failure.is_some())
                .map(|r| r.name)
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} {} ({}) | {} | {} | {}/{} | {} | {:.0} s |",
                run.kernel.release,
                run.kernel.package,
                run.kernel.version,
                run.kernel.suite,
                run.machine.label(),
                run.boot_s
                    .map_or_else(|| "-".to_string(), |b| format!("{b:.1} s")),
                run.passed(),
                run.results.len(),
                if failed.is_empty() {
                    "none".to_string()
                } else {
                    failed.join(", ")
                },
                run.wall_s
            );
        }
        let mut names: Vec<&str> = Vec::new();
        for run in &self.runs {
            for r in &run.results {
                if !names.contains(&r.name) {
                    names.push(r.name);
                }
            }
        }
        s.push_str("\n| check |");
        for run in &self.runs {
            let _ = write!(s, " {} |", run.kernel.release);
        }
        s.push_str("\n| --- |");
        for _ in &self.runs {
            s.push_str(" --- |");
        }
        s.push('\n');
        for name in names {
            let _ = write!(s, "| {name} |");
            for run in &self.runs {
                let cell = match run.results.iter().find(|r| r.name == name) {
                    None => "-".to_string(),
                    Some(r) => {
                        let verdict = if r.failure.is_none() { "pass" } else { "FAIL" };
                        match r.guest_s {
                            Some(t) => format!("{verdict} ({t:.1} s)"),
                            None => verdict.to_string(),
                        }
                    }
                };
                let _ = write!(s, " {cell} |");
            }
            s.push('\n');
        }
        let failures = self.failures();
        if !failures.is_empty() {
            s.push_str("\nFailures:\n\n");
            for f in failures {
                let _ = writeln!(s, "- {}", f.replace('\n', " "));
            }
        }
        s
    }
}
