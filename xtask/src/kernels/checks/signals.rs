//! Capture checks that end from outside: attaching to a running process with `-p`, Ctrl-C
//! (SIGINT to the tracer) and SIGTERM mid-capture. Each mirrors the native test of the same
//! name in `tests/tests/capture.rs`; the guest measures the times those tests measure with
//! `Instant` as uptimes. The native tests signal the tracer 1.5 s (SIGINT) and 1 s (SIGTERM)
//! after starting it, which on the host leaves the command over a second to run; an emulated
//! guest takes over a second to load the programs, so the guest counts these delays from the
//! command's exec instead.

use tracer_dataset::meta;

use super::{Check, Outcome};

/// `SIGINT` and `SIGTERM` on x86_64.
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// The checks of this module, in the order the guest runs them.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "attach_with_p",
            // As the native test: the ticker runs 2.5 s, the tracer attaches after 0.3 s.
            guest: "/progs/ticker 2.5 &\n\
                    echo $! > $D/target_pid\n\
                    sleep 0.3\n\
                    uptime_s > $D/attach_at\n\
                    rec -q -p $(cat $D/target_pid)\n\
                    uptime_s > $D/capture_end\n\
                    wait $(cat $D/target_pid)",
            verify: attach_with_p,
        },
        Check {
            name: "sigint_mid_capture",
            guest: "signal_after INT 1.5 ticker\n\
                    rec -q -- /progs/ticker 30\n\
                    uptime_s > $D/capture_end",
            verify: sigint_mid_capture,
        },
        Check {
            name: "sigterm_forwarded",
            guest: "signal_after TERM 1.0 sleep\n\
                    rec -q -- sleep 30",
            verify: sigterm_forwarded,
        },
    ]
}

fn attach_with_p(o: &Outcome) {
    assert_eq!(o.status(), Some(0), "{}", o.stderr());
    assert!(
        o.elapsed_s("attach_at", "capture_end") < 10.0,
        "the capture ends when the process does"
    );
    let pid: i32 = o.number("target_pid");
    let rows = o.syscalls();
    let mine = rows
        .iter()
        .filter(|r| r.pid == pid && r.syscall == "getppid")
        .count();
    // About 2 s of 10 ms ticks remain after attaching; how many exactly depends on the load.
    assert!((20..=250).contains(&mine), "ticks after attaching: {mine}");
    let names: Vec<&str> = rows
        .iter()
        .filter(|r| r.pid != pid)
        .map(|r| r.syscall.as_str())
        .collect();
    assert!(
        names == ["set_robust_list", "getpid", "exit_group"] || names == ["getpid", "exit_group"],
        "the child forked after attaching, from its first syscall: {names:?}"
    );
    let procs = o.processes();
    let root = procs
        .iter()
        .find(|p| p.pid == pid)
        .expect("attached process row");
    assert_eq!(root.exit_code, Some(0));
    assert_eq!(root.comm.as_deref(), Some("ticker"));
    assert_eq!(
        procs
            .iter()
            .find(|p| p.pid != pid)
            .expect("child")
            .exit_code,
        Some(9)
    );
}

fn sigint_mid_capture(o: &Outcome) {
    assert!(
        o.elapsed_s("signalled_at", "capture_end") < 5.0,
        "stops promptly"
    );
    assert_eq!(o.status(), Some(130), "128+SIGINT: {}", o.stderr());
    let rows = o.syscalls();
    let ticks = rows.iter().filter(|r| r.syscall == "getppid").count();
    assert!(
        (10..3000).contains(&ticks),
        "the calls made until the signal: {ticks}"
    );
    let md = o.metadata();
    assert_eq!(md.get(meta::INTERRUPTED).map(String::as_str), Some("true"));
    assert_eq!(md.get(meta::EVENTS_LOST).map(String::as_str), Some("0"));
    let procs = o.processes();
    assert_eq!(procs[0].signal, Some(SIGINT));
}

fn sigterm_forwarded(o: &Outcome) {
    assert_eq!(o.status(), Some(143), "128+SIGTERM: {}", o.stderr());
    let rows = o.syscalls();
    let last = rows.last().expect("rows");
    assert_eq!(
        last.syscall, "clock_nanosleep",
        "the sleep was cut short by the signal"
    );
    assert_eq!(last.ret, None);
    let procs = o.processes();
    assert_eq!(procs[0].signal, Some(SIGTERM));
}
