//! Booting a guest in QEMU: the accelerator probe (KVM when it boots, TCG otherwise), one boot
//! with its console in a log file, a raw results disk, and a timeout that kills a hung VM.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

/// The QEMU binary (Debian's `qemu-system-x86`).
pub const QEMU: &str = "qemu-system-x86_64";
/// Guest memory: the tracer's default ring is 128 MiB, and the initramfs and results live in
/// memory too.
const MEMORY_MIB: u32 = 1024;
/// Two CPUs, so threads and forked children of the checks run concurrently.
const CPUS: u32 = 2;
/// Size of the raw results disk (sparse on the host).
const RESULTS_DISK_BYTES: u64 = 512 << 20;
/// The console line the guest's init prints when booted with `xtask.probe`.
const PROBE_MARKER: &str = "xtask: probe ok";

/// How the guest's CPU is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    /// Hardware virtualisation (`/dev/kvm`).
    Kvm,
    /// QEMU's software emulation.
    Tcg,
}

impl Accel {
    /// The name the matrix shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kvm => "KVM",
            Self::Tcg => "TCG",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Self::Kvm => &["-accel", "kvm", "-cpu", "host"],
            Self::Tcg => &["-accel", "tcg,thread=multi"],
        }
    }
}

/// One guest to boot.
pub struct Guest<'a> {
    /// The kernel image.
    pub kernel: &'a Path,
    /// The initramfs.
    pub initramfs: &'a Path,
    /// Where the console goes.
    pub console: PathBuf,
    /// The raw results disk, created empty before the boot.
    pub results_disk: Option<PathBuf>,
    /// Extra kernel command-line words.
    pub cmdline: &'a str,
}

/// How a boot ended.
#[derive(Debug)]
pub struct Boot {
    /// Host seconds from start to exit.
    pub wall_s: f64,
    /// Killed at the timeout.
    pub timed_out: bool,
    /// The console's text.
    pub console: String,
}

impl Guest<'_> {
    fn spawn(&self, accel: Accel) -> anyhow::Result<Child> {
        let mut cmd = Command::new(QEMU);
        cmd.args(["-nodefaults", "-no-user-config", "-display", "none"])
            .args(["-no-reboot", "-nic", "none"])
            .args(["-m", &MEMORY_MIB.to_string(), "-smp", &CPUS.to_string()])
            .args(accel.args())
            .arg("-kernel")
            .arg(self.kernel)
            .arg("-initrd")
            .arg(self.initramfs)
            // panic=-1: a panic (init gone) reboots at once, which -no-reboot turns into an exit.
            .arg("-append")
            .arg(format!(
                "console=ttyS0 panic=-1 loglevel=4 rdinit=/init {}",
                self.cmdline
            ))
            .arg("-serial")
            .arg(format!("file:{}", self.console.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(disk) = &self.results_disk {
            let f = fs::File::create(disk)
                .with_context(|| format!("creating {}", disk.display()))?;
            f.set_len(RESULTS_DISK_BYTES)?;
            cmd.arg("-drive")
                .arg(format!("file={},format=raw,if=virtio", disk.display()));
        }
        cmd.spawn().with_context(|| {
            format!("starting {QEMU}: `cargo xtask setup` installs Debian's qemu-system-x86")
        })
    }

    /// Boots with `accel`, waits for the guest to power off, and kills it after `timeout`.
    /// `done` ends the wait early when the console shows what the caller waited for.
    fn boot_until(
        &self,
        accel: Accel,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> anyhow::Result<Boot> {
        let _ = fs::remove_file(&self.console);
        let started = Instant::now();
        let mut child = self.spawn(accel)?;
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if done(&fs::read_to_string(&self.console).unwrap_or_default()) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            if started.elapsed() > timeout {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let wall_s = started.elapsed().as_secs_f64();
        if let Some(status) = status
            && !status.success()
        {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read as _;
                let _ = e.read_to_string(&mut stderr);
            }
            bail!("{QEMU} failed ({status}): {}", stderr.trim());
        }
        Ok(Boot {
            wall_s,
            timed_out,
            console: fs::read_to_string(&self.console).unwrap_or_default(),
        })
    }

    /// Boots with `accel` until the guest powers off, killing it after `timeout`.
    pub fn boot(&self, accel: Accel, timeout: Duration) -> anyhow::Result<Boot> {
        self.boot_until(accel, timeout, |_| false)
    }

    /// Whether this guest, booted with `xtask.probe`, reaches its init under KVM within
    /// `timeout` (nested KVM can exist and still stall at boot).
    pub fn kvm_boots(&self, timeout: Duration) -> bool {
        if !Path::new("/dev/kvm").exists() {
            return false;
        }
        self.boot_until(Accel::Kvm, timeout, |c| c.contains(PROBE_MARKER))
            .map(|b| b.console.contains(PROBE_MARKER))
            .unwrap_or(false)
    }
}

/// QEMU's version line, for the report.
pub fn version() -> String {
    Command::new(QEMU)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("{QEMU}: not found"))
}

/// Unpacks the tar archive the guest wrote onto the raw results disk into `dest`.
pub fn unpack_results(disk: &Path, dest: &Path) -> anyhow::Result<()> {
    let _ = fs::remove_dir_all(dest);
    fs::create_dir_all(dest)?;
    let out = Command::new("tar")
        .arg("-x")
        .arg("-f")
        .arg(disk)
        .arg("-C")
        .arg(dest)
        .output()
        .context("running tar")?;
    if !out.status.success() {
        bail!(
            "the results disk {} holds no complete tar archive: {}",
            disk.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
