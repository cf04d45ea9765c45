//! The check on kernels older than the tracer supports: `tracer record` refuses before
//! anything runs, with a message naming the kernel, the version needed and the helper that sets
//! the floor (tracer/src/preflight.rs, `PreflightError::KernelTooOld`), and exit status 1.

use super::{Check, Outcome};

/// The oldest kernel the tracer supports, as `MIN_KERNEL` in tracer/src/preflight.rs.
pub const MIN_KERNEL: (u32, u32) = (5, 15);

/// The checks of this module.
pub fn checks() -> Vec<Check> {
    vec![Check {
        name: "old_kernel_refused",
        guest: "rec -- /bin/touch $D/ran",
        verify: old_kernel_refused,
    }]
}

fn old_kernel_refused(o: &Outcome) {
    assert_eq!(o.status(), Some(1), "refused with status 1: {}", o.stderr());
    let err = o.stderr();
    assert!(
        err.contains(&format!("kernel {} is too old", o.release)),
        "names the kernel: {err}"
    );
    assert!(
        err.contains(&format!(
            "needs Linux {}.{} or later",
            MIN_KERNEL.0, MIN_KERNEL.1
        )) && err.contains("bpf_task_pt_regs: 5.15"),
        "names the version needed and why: {err}"
    );
    assert!(
        !o.dir().join("ran").exists(),
        "the command must not run on a refused kernel"
    );
    assert!(!o.out().exists(), "no output file on a refused kernel");
}
