//! The `tracer` binary: parse arguments, run, map errors to exit codes.

use std::{io, process::ExitCode};

use clap::Parser as _;
use tracer::cli::{self, Cli};

fn main() -> ExitCode {
    keep_freed_memory();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(status) => exit(status),
        // The reader of stdout went away (`tracer parity ... | head`): not an error.
        Err(err) if broken_pipe(&err) => exit(err.quiet_exit_code()),
        Err(err) => {
            let status = err.exit_code();
            eprintln!("tracer: {:#}", anyhow::Error::from(err));
            exit(status)
        }
    }
}

/// True when the error's source chain holds a broken pipe.
fn broken_pipe(err: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(err), |e| e.source()).any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn exit(status: i32) -> ExitCode {
    ExitCode::from(status.clamp(0, 255) as u8)
}

/// The capture's writer allocates and frees column buffers of about 128 KiB for every batch of
/// rows, right at glibc's default mmap threshold: glibc hands them back to the kernel after each
/// batch (munmap, heap trims) and the next batch faults in fresh zeroed pages, about 5% more CPU
/// on a syscall storm. Fixed thresholds keep freed memory in the process for reuse; the peak
/// stays what the capture uses at once. (Only this process: a launched command execs a new
/// image, with glibc's defaults and its own environment untouched.)
fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters, here before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}
