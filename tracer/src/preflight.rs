//! Checks made before a capture starts, each failing with a message that says what is missing
//! and how to get it: kernel version and BTF, capabilities.

use std::path::Path;

/// Oldest kernel the programs load on: mmapable arrays (5.5, the per-CPU rings), BTF
/// tracepoints (5.5), `bpf_get_current_task_btf` (5.11) and `bpf_task_pt_regs` (5.15).
pub const MIN_KERNEL: (u32, u32) = (5, 15);

/// Why a capture cannot start on this machine.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// Not x86_64.
    #[error(
        "tracer's eBPF programs read x86_64 registers (struct pt_regs); this machine is {0}, \
         which is not supported yet"
    )]
    Architecture(&'static str),
    /// Running inside a PID namespace (a container).
    #[error(
        "tracer must run in the host's PID namespace: the kernel hooks see host pids, while this \
         process is in {0} (a container?). Run it on the host, or with --pid=host"
    )]
    PidNamespace(String),
    /// The kernel is older than `MIN_KERNEL`.
    #[error(
        "kernel {release} is too old: tracer needs Linux {}.{} or later (BTF tracepoints: 5.5, \
         bpf_get_current_task_btf: 5.11, bpf_task_pt_regs: 5.15)",
        MIN_KERNEL.0,
        MIN_KERNEL.1
    )]
    KernelTooOld {
        /// `uname -r`.
        release: String,
    },
    /// No BTF for the running kernel.
    #[error(
        "kernel {release} exposes no BTF at /sys/kernel/btf/vmlinux: tracer needs a kernel built \
         with CONFIG_DEBUG_INFO_BTF=y (standard on Ubuntu 20.10+ and Debian 11+)"
    )]
    NoBtf {
        /// `uname -r`.
        release: String,
    },
    /// Missing capabilities.
    #[error(
        "tracer record needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) to load eBPF programs; \
         this process lacks {missing}. Run it as root: `sudo -E tracer record ...` (-E keeps \
         your environment for the traced command)"
    )]
    Capabilities {
        /// The missing capability names.
        missing: String,
    },
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// `uname -r` of the running kernel.
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Parses the leading `major.minor` of a release string such as `6.18.44-fc-v509`.
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Checks a kernel release and BTF presence against what the programs need.
pub fn check_kernel(release: &str, btf_present: bool) -> Result<(), PreflightError> {
    match parse_release(release) {
        Some(v) if v >= MIN_KERNEL => {}
        _ => {
            return Err(PreflightError::KernelTooOld {
                release: release.to_string(),
            });
        }
    }
    if !btf_present {
        return Err(PreflightError::NoBtf {
            release: release.to_string(),
        });
    }
    Ok(())
}

/// Effective capability bits of this process (`CapEff` in /proc/self/status).
pub fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// Checks that a process with capability set `caps` may load and attach tracing programs.
pub fn check_caps(caps: u64) -> Result<(), PreflightError> {
    let has = |c: u32| caps & (1u64 << c) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    let missing: Vec<&str> = [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
        .iter()
        .filter(|(c, _)| !has(*c))
        .map(|(_, n)| *n)
        .collect();
    Err(PreflightError::Capabilities {
        missing: missing.join(" and "),
    })
}

/// `PROC_PID_INIT_INO` (include/linux/proc_ns.h): the inode of the initial PID namespace.
const INIT_PID_NS: &str = "pid:[4026531836]";

/// Checks that `ns` (the target of /proc/self/ns/pid) is the initial PID namespace.
pub fn check_pid_namespace(ns: &str) -> Result<(), PreflightError> {
    if ns == INIT_PID_NS {
        Ok(())
    } else {
        Err(PreflightError::PidNamespace(ns.to_string()))
    }
}

/// All checks for the running machine and process.
pub fn check_all() -> Result<(), PreflightError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(PreflightError::Architecture(std::env::consts::ARCH));
    }
    if let Ok(ns) = std::fs::read_link("/proc/self/ns/pid") {
        check_pid_namespace(&ns.to_string_lossy())?;
    }
    let release = kernel_release();
    check_kernel(&release, Path::new("/sys/kernel/btf/vmlinux").exists())?;
    check_caps(effective_caps())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        assert_eq!(parse_release("6.18.44-fc-v509"), Some((6, 18)));
        assert_eq!(parse_release("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(parse_release("garbage"), None);
    }

    #[test]
    fn old_kernel_is_named() {
        let err = check_kernel("5.4.0-150-generic", true).expect_err("5.4 is too old");
        let msg = err.to_string();
        assert!(
            msg.contains("5.4.0-150-generic") && msg.contains("5.15"),
            "{msg}"
        );
        assert!(check_kernel("6.1.0", true).is_ok());
        let err = check_kernel("6.1.0", false).expect_err("no BTF");
        assert!(err.to_string().contains("CONFIG_DEBUG_INFO_BTF"));
    }

    #[test]
    fn pid_namespaces() {
        assert!(check_pid_namespace("pid:[4026531836]").is_ok());
        let msg = check_pid_namespace("pid:[4026532201]")
            .expect_err("container")
            .to_string();
        assert!(
            msg.contains("pid:[4026532201]") && msg.contains("host"),
            "{msg}"
        );
        let here = std::fs::read_link("/proc/self/ns/pid").expect("ns link");
        assert_eq!(
            here.to_string_lossy(),
            INIT_PID_NS,
            "the tests run on the host"
        );
    }

    #[test]
    fn capabilities() {
        assert!(check_caps(1 << CAP_SYS_ADMIN).is_ok());
        assert!(check_caps((1 << CAP_BPF) | (1 << CAP_PERFMON)).is_ok());
        let msg = check_caps(1 << CAP_BPF)
            .expect_err("no perfmon")
            .to_string();
        assert!(msg.contains("lacks CAP_PERFMON."), "{msg}");
        let msg = check_caps(0).expect_err("nothing").to_string();
        assert!(
            msg.contains("CAP_BPF and CAP_PERFMON") && msg.contains("sudo -E"),
            "{msg}"
        );
    }
}
