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
/// The console line the guest's init prints once the results are on their disk.
pub const RESULTS_MARKER: &str = "xtask: results written";

/// How the guest's CPU is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    /// Hardware virtualisation (`/dev/kvm`).
    Kvm,
    /// QEMU's software emulation.
    Tcg,
}

/// The accelerator and, for KVM, the CPU model the guests boot with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// KVM or TCG.
    pub accel: Accel,
    /// `-cpu` for KVM (`None`: QEMU's default model).
    pub kvm_cpu: Option<&'static str>,
}

/// The CPU models the KVM probe tries, in order: the host's (the usual choice; some nested
/// setups make QEMU abort on its MSRs), then QEMU's default model.
pub const KVM_CPUS: &[Option<&str>] = &[Some("host"), None];

impl Machine {
    /// Software emulation.
    pub const TCG: Self = Self {
        accel: Accel::Tcg,
        kvm_cpu: None,
    };

    /// The name the matrix shows.
    pub fn label(self) -> String {
        match (self.accel, self.kvm_cpu) {
            (Accel::Tcg, _) => "TCG".to_string(),
            (Accel::Kvm, Some(cpu)) => format!("KVM (-cpu {cpu})"),
            (Accel::Kvm, None) => "KVM".to_string(),
        }
    }

    /// A short form for the probe cache: `tcg`, `kvm` or `kvm:<cpu>`.
    pub fn key(self) -> String {
        match (self.accel, self.kvm_cpu) {
            (Accel::Tcg, _) => "tcg".to_string(),
            (Accel::Kvm, Some(cpu)) => format!("kvm:{cpu}"),
            (Accel::Kvm, None) => "kvm".to_string(),
        }
    }

    /// The inverse of [`Machine::key`], for the models the probe tries.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "tcg" => Some(Self::TCG),
            _ => {
                let cpu = key.strip_prefix("kvm")?;
                let kvm_cpu = match cpu.strip_prefix(':') {
                    None if cpu.is_empty() => None,
                    Some(c) => Some(*KVM_CPUS.iter().flatten().find(|k| **k == c)?),
                    None => return None,
                };
                Some(Self {
                    accel: Accel::Kvm,
                    kvm_cpu,
                })
            }
        }
    }

    fn args(self) -> Vec<&'static str> {
        match (self.accel, self.kvm_cpu) {
            // One host thread for all vCPUs: with multi-threaded TCG, a guest occasionally
            // oopsed on an int3 left by the kernel's code patching (text_poke_bp) when the
            // tracer attached its tracepoints while another vCPU ran the patched code.
            (Accel::Tcg, _) => vec!["-accel", "tcg,thread=single"],
            (Accel::Kvm, Some(cpu)) => vec!["-accel", "kvm", "-cpu", cpu],
            (Accel::Kvm, None) => vec!["-accel", "kvm"],
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
    fn spawn(&self, machine: Machine) -> anyhow::Result<Child> {
        let mut cmd = Command::new(QEMU);
        cmd.args(["-nodefaults", "-no-user-config", "-display", "none"])
            .args(["-no-reboot", "-nic", "none"])
            .args(["-m", &MEMORY_MIB.to_string(), "-smp", &CPUS.to_string()])
            .args(machine.args())
            .arg("-kernel")
            .arg(self.kernel)
            .arg("-initrd")
            .arg(self.initramfs)
            // panic=-1: a panic (init gone) reboots at once, which -no-reboot turns into an exit.
            // clocksource=hpet under TCG: each vCPU's TSC is the host's TSC read from whichever
            // host CPU runs it, which the guest may keep as its clock or drop as unstable
            // depending on the host; the emulated HPET is one clock for every vCPU, on any host.
            // (KVM guests keep kvm-clock.)
            .arg("-append")
            .arg(format!(
                "console=ttyS0 panic=-1 loglevel=4 {}rdinit=/init {}",
                if machine.accel == Accel::Tcg {
                    "clocksource=hpet "
                } else {
                    ""
                },
                self.cmdline
            ))
            .arg("-serial")
            .arg(format!("file:{}", self.console.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(disk) = &self.results_disk {
            let f =
                fs::File::create(disk).with_context(|| format!("creating {}", disk.display()))?;
            f.set_len(RESULTS_DISK_BYTES)?;
            cmd.arg("-drive")
                .arg(format!("file={},format=raw,if=virtio", disk.display()));
        }
        cmd.spawn().with_context(|| {
            format!("starting {QEMU}: `cargo xtask setup` installs Debian's qemu-system-x86")
        })
    }

    /// Boots on `machine`, waits for the guest to power off, and kills it after `timeout`.
    /// `done` ends the wait early when the console shows what the caller waited for.
    fn boot_until(
        &self,
        machine: Machine,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> anyhow::Result<Boot> {
        let _ = fs::remove_file(&self.console);
        let started = Instant::now();
        let mut child = self.spawn(machine)?;
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
            // The error, not the warnings about CPU features before it.
            let reason = stderr
                .lines()
                .find(|l| l.contains("error"))
                .or_else(|| stderr.lines().last())
                .unwrap_or_default();
            bail!("{QEMU} failed ({status}): {}", reason.trim());
        }
        Ok(Boot {
            wall_s,
            timed_out,
            console: fs::read_to_string(&self.console).unwrap_or_default(),
        })
    }

    /// Boots on `machine` until the guest powers off, killing it after `timeout`.
    pub fn boot(&self, machine: Machine, timeout: Duration) -> anyhow::Result<Boot> {
        self.boot_until(machine, timeout, |_| false)
    }

    /// Whether this guest, booted with `xtask.probe`, reaches its init under KVM with CPU
    /// model `cpu` within `timeout` (nested KVM can exist and still stall at boot); else why
    /// not.
    pub fn kvm_boots(&self, cpu: Option<&'static str>, timeout: Duration) -> Result<(), String> {
        if !Path::new("/dev/kvm").exists() {
            return Err("no /dev/kvm".to_string());
        }
        let machine = Machine {
            accel: Accel::Kvm,
            kvm_cpu: cpu,
        };
        match self.boot_until(machine, timeout, |c| c.contains(PROBE_MARKER)) {
            Ok(b) if b.console.contains(PROBE_MARKER) => Ok(()),
            Ok(b) if b.timed_out => Err(format!(
                "{}: no init within {} s",
                machine.label(),
                timeout.as_secs()
            )),
            Ok(_) => Err(format!(
                "{}: the guest stopped before its init",
                machine.label()
            )),
            Err(e) => Err(format!(
                "{}: {}",
                machine.label(),
                e.to_string().lines().next().unwrap_or_default()
            )),
        }
    }
}

/// The first oops or panic the guest kernel printed, with the line naming the faulting code.
pub fn kernel_oops(console: &str) -> Option<String> {
    let lines: Vec<&str> = console.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("Oops:") || l.contains("Kernel panic") || l.contains("BUG:"))?;
    let strip = |l: &str| {
        l.split_once("] ")
            .map_or(l, |(_, rest)| rest)
            .trim()
            .to_string()
    };
    let mut msg = strip(lines[at]);
    if let Some(rip) = lines[at..].iter().find(|l| l.contains("RIP: 0010:")) {
        msg.push_str(", ");
        msg.push_str(&strip(rip));
    }
    if let Some((_, comm)) = lines[at..].iter().find_map(|l| l.split_once(" Comm: ")) {
        let name = comm.split_whitespace().next().unwrap_or_default();
        msg.push_str(&format!(", in {name}"));
    }
    Some(msg)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oops_is_summarised() {
        let console = "[    1.0] ok\n[   42.031573] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n\
                       [   42.031812] CPU: 0 UID: 0 PID: 759 Comm: init Not tainted 6.12\n\
                       [   42.031987] RIP: 0010:syscall_exit_to_user_mode_prepare+0xd7/0x170\n";
        assert_eq!(
            kernel_oops(console).as_deref(),
            Some(
                "Oops: int3: 0000 [#1] PREEMPT SMP NOPTI, \
                 RIP: 0010:syscall_exit_to_user_mode_prepare+0xd7/0x170, in init"
            )
        );
        assert_eq!(kernel_oops("xtask: results written\n"), None);
    }

    #[test]
    fn machine_keys_round_trip() {
        let machines = [
            Machine::TCG,
            Machine {
                accel: Accel::Kvm,
                kvm_cpu: Some("host"),
            },
            Machine {
                accel: Accel::Kvm,
                kvm_cpu: None,
            },
        ];
        for m in machines {
            assert_eq!(Machine::from_key(&m.key()), Some(m));
        }
        assert_eq!(Machine::from_key("kvm:nosuchcpu"), None);
        assert_eq!(Machine::from_key("kvmx"), None);
        assert_eq!(Machine::TCG.label(), "TCG");
    }
}
