//! What a capture costs at its default settings, live (root needed): the small default ring
//! loses nothing on a syscall storm, and a writer that cannot keep up costs counted losses, not
//! memory. Peak memory is the tracer's own high-water mark (`VmHWM`), read while it runs.

use std::{
    io::Read as _,
    path::Path,
    process::{Command, Stdio},
};

use tests::{Capture, python};
use tracer::capture::{DEFAULT_RING_BYTES, SLOW_WRITER_ENV};
use tracer_dataset::meta;

/// The peak resident memory the project allows a capture at default settings
/// (docs/DESIGN.md, performance targets).
const PEAK_RSS_BOUND_KIB: i64 = 96 * 1024;

// The default ring is a small one.
const _: () = assert!(DEFAULT_RING_BYTES <= 8 << 20);

/// How a measured capture ended.
struct Measured {
    success: bool,
    stderr: String,
    /// The tracer's peak resident set (its child, the storm, is a few MiB at most).
    peak_rss_kib: i64,
}

/// Runs `cmd` to the end, collecting its stderr and its rusage.
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4, which also gives its rusage"
)]
fn run_measured(cmd: &mut Command) -> Measured {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting tracer");
    let mut pipe = child.stderr.take().expect("stderr pipe");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    // The tracer's own high-water mark, read from /proc while it runs: wait4's ru_maxrss
    // would include this test process's size at the fork (the kernel keeps the pre-exec
    // image's peak), and the test binary is large when other tests run beside this one.
    let id = child.id();
    let poller = std::thread::spawn(move || {
        let mut peak = 0i64;
        while let Ok(status) = std::fs::read_to_string(format!("/proc/{id}/status")) {
            let Some(hwm) = status.lines().find_map(|l| l.strip_prefix("VmHWM:")) else {
                break;
            };
            let kib = hwm
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
            peak = peak.max(kib);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        peak
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, with pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4 for the tracer");
    let peak_rss_kib = poller.join().expect("RSS poller");
    assert!(peak_rss_kib > 0, "the tracer's VmHWM was read");
    Measured {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        stderr: reader.join().expect("stderr reader"),
        peak_rss_kib,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Rows of call `name` in the capture.
fn count_of(cap: &Capture, name: &str) -> u64 {
    python(
        "import sys, duckdb; print(duckdb.sql(f\"SELECT count(*) FROM '{sys.argv[1]}' WHERE syscall='{sys.argv[2]}'\").fetchall()[0][0])",
        &[s(&cap.out), name],
    )
    .trim()
    .parse()
    .expect("a count")
}

#[test]
fn the_small_default_ring_loses_nothing_on_a_storm() {
    let cap = Capture::new("storm-default");
    let prog = cap.compile("storm");
    let run = run_measured(&mut cap.record_command(&["-q"], &[s(&prog), "500000"]));
    assert!(run.success, "{}", run.stderr);
    let md = cap.metadata();
    assert_eq!(
        md.get(meta::RING_BYTES).map(String::as_str),
        Some(DEFAULT_RING_BYTES.to_string().as_str()),
        "captured with the default ring"
    );
    // One ring per CPU id, each a power of two of at least 16 KiB, together no more than the
    // default unless the CPUs' floors add up to more.
    let layout = md
        .get(meta::RING_LAYOUT)
        .expect("the rings' layout is recorded");
    let (cpus, bytes) = layout
        .split_once(" x ")
        .and_then(|(c, b)| Some((c.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .unwrap_or_else(|| panic!("layout {layout:?} is \"CPUS x BYTES\""));
    assert!(
        cpus >= 1 && bytes.is_power_of_two() && bytes >= 16 << 10,
        "{layout}"
    );
    assert!(
        cpus * bytes <= u64::from(DEFAULT_RING_BYTES).max(cpus * (16 << 10)),
        "{layout}"
    );
    assert_eq!(
        md.get(meta::EVENTS_LOST).map(String::as_str),
        Some("0"),
        "nothing lost: {:?}",
        md.get(meta::EVENTS_LOST_DETAIL)
    );
    assert_eq!(count_of(&cap, "getppid"), 500_000, "every call is a row");
    assert!(
        run.peak_rss_kib <= PEAK_RSS_BOUND_KIB,
        "peak RSS {} KiB over {PEAK_RSS_BOUND_KIB} KiB",
        run.peak_rss_kib
    );
}

#[test]
fn a_writer_that_falls_behind_costs_counted_losses_not_memory() {
    const CALLS: u64 = 12_000_000;
    let cap = Capture::new("storm-slow-writer");
    let prog = cap.compile("storm");
    // 250 ms per batch: a writer some twenty times slower than the storm. Were the backlog
    // kept, 12 million records would need well over 96 MiB even as the drain's deltas
    // (~14 bytes each for the storm's calls; 96 bytes as the programs write them).
    let run = run_measured(
        cap.record_command(&[], &[s(&prog), &CALLS.to_string()])
            .env(SLOW_WRITER_ENV, "250000"),
    );
    assert!(run.success, "{}", run.stderr);
    let lost: u64 = cap.metadata()[meta::EVENTS_LOST].parse().expect("a number");
    assert!(lost > 0, "a writer this slow must cost records");
    assert!(
        run.stderr.contains("lost"),
        "the user is told: {}",
        run.stderr
    );
    let getppid = count_of(&cap, "getppid");
    // Every call is a row or counted as lost; the program's few other calls (loader, exit)
    // may be lost too.
    assert!(
        getppid + lost >= CALLS && getppid + lost <= CALLS + 300,
        "{getppid} rows + {lost} lost for {CALLS} calls"
    );
    assert!(
        run.peak_rss_kib <= PEAK_RSS_BOUND_KIB,
        "peak RSS {} KiB over {PEAK_RSS_BOUND_KIB} KiB: the backlog grew instead of being \
         counted as lost",
        run.peak_rss_kib
    );
}
