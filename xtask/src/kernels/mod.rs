//! The kernel matrix of `cargo xtask test`: the live capture checks on Debian's cloud kernels
//! (bullseye 5.10, bookworm 6.1, trixie 6.12), each booted in QEMU from an initramfs holding
//! the release `tracer`, with the results brought back on a raw disk and checked on the host
//! with the native tests' assertions. Everything is cached under `target/kernels/`.

mod apt;
mod checks;
mod fetch;
mod guest;
mod initramfs;
mod qemu;
mod report;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

pub use qemu::Accel;
use qemu::Machine;
pub use report::Matrix;

use checks::CheckResult;
use fetch::{Fetcher, Kernel};
use guest::GuestFiles;
use report::KernelRun;

use crate::{cargo, run, workspace_root};

/// The suites of the default matrix, oldest first.
const DEFAULT_SUITES: &[&str] = &["bullseye", "bookworm", "trixie"];
/// Kernel versions accepted in `--kernels` for the suite that ships them.
const VERSION_SUITES: &[(&str, &str)] = &[
    ("5.10", "bullseye"),
    ("6.1", "bookworm"),
    ("6.12", "trixie"),
];
/// How long the KVM probe may take to reach init before TCG is used (TCG itself boots to init
/// in about 3 s here).
const KVM_PROBE_TIMEOUT: Duration = Duration::from_secs(20);
/// A check's tracer is killed in the guest after this many seconds.
const CHECK_TIMEOUT_S: u64 = 120;

/// The matrix's options on `cargo xtask test`.
#[derive(clap::Args, Debug)]
pub struct KernelArgs {
    /// Run only the kernel matrix, on LIST: comma-separated kernel versions (5.10, 6.1, 6.12)
    /// or Debian suites (bullseye, bookworm, trixie, or another suite's cloud kernel);
    /// `--kernels` alone runs all three.
    #[arg(long, value_name = "LIST", num_args = 0..=1, default_missing_value = "all")]
    pub kernels: Option<String>,
    /// Leave the kernel matrix out of `cargo xtask test`.
    #[arg(long, conflicts_with = "kernels")]
    pub no_kernels: bool,
    /// The guests' accelerator; by default KVM if a probe boot reaches init in 20 s (the
    /// verdict is cached in target/kernels/accel-probe.txt), else TCG.
    #[arg(long, value_enum)]
    pub accel: Option<Accel>,
    /// Run only these checks (comma-separated names, as the matrix lists them).
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Seconds after which a guest is killed (a hung VM fails its kernel's checks).
    #[arg(long, default_value_t = 300)]
    pub vm_timeout_s: u64,
}

/// The suites a `--kernels` value names, in the order given.
pub fn parse_kernels(list: &str) -> anyhow::Result<Vec<String>> {
    if list == "all" {
        return Ok(DEFAULT_SUITES.iter().map(|s| s.to_string()).collect());
    }
    let mut suites = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let suite = match VERSION_SUITES.iter().find(|(v, _)| *v == item) {
            Some((_, suite)) => (*suite).to_string(),
            None if item.chars().all(|c| c.is_ascii_lowercase() || c == '-') => item.to_string(),
            None => bail!(
                "--kernels {item}: not a known kernel version ({}) nor a Debian suite name",
                VERSION_SUITES
                    .iter()
                    .map(|(v, s)| format!("{v} = {s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        if !suites.contains(&suite) {
            suites.push(suite);
        }
    }
    if suites.is_empty() {
        bail!("--kernels names no kernel");
    }
    Ok(suites)
}

/// `target/kernels`.
fn cache_root() -> PathBuf {
    workspace_root().join("target/kernels")
}

/// Runs the matrix on `suites`: builds the release tracer, fetches what is not cached, boots
/// each kernel, checks its results, prints them and writes `target/kernels/matrix.md`.
pub fn run_matrix(suites: &[String], args: &KernelArgs, command: &str) -> anyhow::Result<Matrix> {
    let started = Instant::now();
    let root = cache_root();
    fs::create_dir_all(&root)?;
    run(cargo().args(["build", "--release", "-p", "tracer"]))?;
    let tracer = workspace_root().join("target/release/tracer");

    let programs = guest::compile_programs(&workspace_root(), &root.join("programs"))?;
    let mut fetcher = Fetcher::new(&root);
    let busybox = fetcher.busybox()?;
    let mut kernels = Vec::new();
    for suite in suites {
        kernels.push(
            fetcher
                .kernel(suite, &busybox)
                .with_context(|| format!("fetching {suite}'s cloud kernel"))?,
        );
    }
    fetcher.clean();
    let files = GuestFiles::collect(&busybox, &tracer, &programs, &root.join("tracer.stripped"))?;

    let machine = match args.accel {
        Some(Accel::Tcg) => Machine::TCG,
        Some(Accel::Kvm) => Machine {
            accel: Accel::Kvm,
            kvm_cpu: qemu::KVM_CPUS[0],
        },
        None => probe_machine(&kernels[0], &files)?,
    };
    let mut runs = Vec::new();
    for kernel in kernels {
        runs.push(run_kernel(
            kernel,
            &files,
            machine,
            Duration::from_secs(args.vm_timeout_s),
            &args.only,
        )?);
    }
    let matrix = Matrix {
        command: command.to_string(),
        header: header(),
        runs,
        total_s: started.elapsed().as_secs_f64(),
    };
    let md = root.join("matrix.md");
    fs::write(&md, matrix.markdown()).with_context(|| format!("writing {}", md.display()))?;
    println!("\n{}", matrix.markdown());
    println!("(written to {})", md.display());
    Ok(matrix)
}

/// Date, host kernel and QEMU, for the report's first line.
fn header() -> String {
    let out = |cmd: &mut Command| {
        cmd.output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{}, host Linux {}, {}",
        out(Command::new("date").args(["-u", "+%Y-%m-%d"])),
        out(Command::new("uname").arg("-r")),
        qemu::version()
    )
}

/// What decides the probe's verdict: host kernel, QEMU, CPU; the verdict is cached under it.
fn probe_key() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{} | {} | {cpu}", release.trim(), qemu::version())
}

/// KVM if a probe boot of `kernel` reaches its init in time (with the first CPU model of
/// [`qemu::KVM_CPUS`] that does), else TCG. The verdict is kept in
/// `target/kernels/accel-probe.txt` for this host kernel, QEMU and CPU, so a stalling KVM
/// costs its timeout once.
fn probe_machine(kernel: &Kernel, files: &GuestFiles) -> anyhow::Result<Machine> {
    let cache = cache_root().join("accel-probe.txt");
    let key = probe_key();
    if let Ok(text) = fs::read_to_string(&cache) {
        let mut lines = text.lines();
        if lines.next() == Some(key.as_str())
            && let Some(machine) = lines.next().and_then(Machine::from_key)
        {
            eprintln!(
                "xtask kernels: accelerator {} (probed before: {}; remove {} to probe again)",
                machine.label(),
                lines.next().unwrap_or_default(),
                cache.display()
            );
            return Ok(machine);
        }
    }
    let initramfs = kernel.dir.join("probe.cpio.gz");
    files.write_initramfs(kernel, &[], CHECK_TIMEOUT_S, &initramfs)?;
    let vmlinuz = kernel.vmlinuz();
    let guest = qemu::Guest {
        kernel: &vmlinuz,
        initramfs: &initramfs,
        console: kernel.dir.join("probe-console.log"),
        results_disk: None,
        cmdline: "xtask.probe",
    };
    let started = Instant::now();
    let mut reasons = Vec::new();
    let mut machine = Machine::TCG;
    for cpu in qemu::KVM_CPUS {
        match guest.kvm_boots(*cpu, KVM_PROBE_TIMEOUT) {
            Ok(()) => {
                machine = Machine {
                    accel: Accel::Kvm,
                    kvm_cpu: *cpu,
                };
                reasons.push(format!("{} boots", machine.label()));
                break;
            }
            Err(why) => reasons.push(why),
        }
    }
    let _ = fs::remove_file(&initramfs);
    let why = reasons.join("; ");
    eprintln!(
        "xtask kernels: accelerator {} (KVM probe, {:.1} s: {why})",
        machine.label(),
        started.elapsed().as_secs_f64()
    );
    fs::write(&cache, format!("{key}\n{}\n{why}\n", machine.key()))
        .with_context(|| format!("writing {}", cache.display()))?;
    Ok(machine)
}

/// The last check the guest started, from its console.
fn last_started(console: &str) -> Option<&str> {
    console
        .lines()
        .filter_map(|l| l.trim().strip_prefix("xtask: check "))
        .filter_map(|l| l.strip_suffix(": start"))
        .next_back()
}

/// The guest's uptime when its init started, from its console.
fn init_uptime(console: &str) -> Option<f64> {
    console.lines().find_map(|l| {
        l.trim()
            .strip_prefix("xtask: init at ")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// Boots `kernel` with its checks and checks what came back.
fn run_kernel(
    kernel: Kernel,
    files: &GuestFiles,
    machine: Machine,
    vm_timeout: Duration,
    only: &[String],
) -> anyhow::Result<KernelRun> {
    let supported = kernel
        .version_pair()
        .is_some_and(|v| v >= checks::MIN_KERNEL);
    let mut checks = checks::for_kernel(supported);
    if !only.is_empty() {
        checks.retain(|c| only.iter().any(|o| o == c.name));
    }
    let initramfs = kernel.dir.join("initramfs.cpio.gz");
    files.write_initramfs(&kernel, &checks, CHECK_TIMEOUT_S, &initramfs)?;
    let vmlinuz = kernel.vmlinuz();
    let disk = kernel.dir.join("results.img");
    let console = kernel.dir.join("console.log");
    let guest = qemu::Guest {
        kernel: &vmlinuz,
        initramfs: &initramfs,
        console: console.clone(),
        results_disk: Some(disk.clone()),
        cmdline: "",
    };
    eprintln!(
        "xtask kernels: booting {} ({}, {}) with {} checks",
        kernel.release,
        kernel.suite,
        machine.label(),
        checks.len()
    );
    let boot = guest.boot(machine, vm_timeout)?;
    let results_dir = kernel.dir.join("results");
    let mut vm_error = None;
    if boot.timed_out {
        vm_error = Some(format!(
            "the VM was killed after {} s{} (console: {})",
            vm_timeout.as_secs(),
            last_started(&boot.console)
                .map(|c| format!(", during check {c}"))
                .unwrap_or_default(),
            console.display()
        ));
    }
    if let Some(oops) = qemu::kernel_oops(&boot.console) {
        vm_error = Some(format!(
            "the guest kernel crashed{}: {oops} (console: {})",
            last_started(&boot.console)
                .map(|c| format!(" during check {c}"))
                .unwrap_or_default(),
            console.display()
        ));
    }
    let unpacked = qemu::unpack_results(&disk, &results_dir);
    let _ = fs::remove_file(&disk);
    if let Err(e) = unpacked {
        vm_error.get_or_insert_with(|| format!("{e:#} (console: {})", console.display()));
    }
    if !boot.console.contains(qemu::RESULTS_MARKER) {
        vm_error.get_or_insert_with(|| {
            format!(
                "the guest stopped before writing its results{} (console: {})",
                last_started(&boot.console)
                    .map(|c| format!(", during check {c}"))
                    .unwrap_or_default(),
                console.display()
            )
        });
    }
    let mut results = vec![boot_check(&kernel, &results_dir, &boot.console)];
    {
        let _quiet = checks::capture_panics();
        results.extend(checks::verify(&checks, &results_dir, &kernel.release));
    }
    if vm_error.is_some() {
        for r in &mut results {
            if let Some(f) = &mut r.failure
                && f.starts_with("did not run")
            {
                *f = "did not run: no results from the VM (see the VM's failure)".to_string();
            }
        }
    }
    let run = KernelRun {
        boot_s: init_uptime(&boot.console),
        wall_s: boot.wall_s,
        kernel,
        machine,
        vm_error,
        results,
    };
    for r in &run.results {
        match &r.failure {
            None => eprintln!("  ok      {}", r.name),
            Some(f) => eprintln!("  FAILED  {}: {f}", r.name),
        }
    }
    eprintln!(
        "xtask kernels: {}: {} passed, {} failed, VM {:.0} s",
        run.label(),
        run.passed(),
        run.failed(),
        run.wall_s
    );
    Ok(run)
}

/// The boot check: the guest ran the expected kernel, with BTF.
fn boot_check(kernel: &Kernel, results: &Path, console: &str) -> CheckResult {
    let read = |f: &str| {
        fs::read_to_string(results.join(f))
            .map(|s| s.trim().to_string())
            .ok()
    };
    let failure = match (read("kernel_release"), read("btf")) {
        (None, _) if init_uptime(console).is_none() => {
            Some("the guest never reached its init".to_string())
        }
        (None, _) => Some("the guest wrote no results".to_string()),
        (Some(r), _) if r != kernel.release => {
            Some(format!("booted {r}, expected {}", kernel.release))
        }
        (Some(_), b) if b.as_deref() != Some("yes") => {
            Some("no /sys/kernel/btf/vmlinux in the guest".to_string())
        }
        _ => None,
    };
    CheckResult {
        name: "boots_with_btf",
        failure,
        guest_s: init_uptime(console),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_lists() {
        assert_eq!(
            parse_kernels("all").expect("all"),
            ["bullseye", "bookworm", "trixie"]
        );
        assert_eq!(
            parse_kernels("6.12, 5.10,bookworm,6.1").expect("list"),
            ["trixie", "bullseye", "bookworm"]
        );
        assert_eq!(
            parse_kernels("trixie-backports").expect("suite"),
            ["trixie-backports"]
        );
        let err = parse_kernels("4.19").expect_err("unknown").to_string();
        assert!(
            err.contains("4.19") && err.contains("6.1 = bookworm"),
            "{err}"
        );
    }

    #[test]
    fn console_progress_lines() {
        let console = "[    1.0] x\nxtask: init at 2.95 s, kernel 6.1.0\n\
                       xtask: check a: start\nxtask: check a: done, status 0\n\
                       xtask: check b: start\n";
        assert_eq!(init_uptime(console), Some(2.95));
        assert_eq!(last_started(console), Some("b"));
    }
}
