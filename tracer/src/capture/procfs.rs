//! What the capture reads from `/proc`: an attached process's state when the capture starts,
//! the process a thread id belongs to, whether a pid is alive, and the name of a thread first
//! seen mid-capture.

use tracer_dataset::ProcessRow;

use crate::clock::now_ns;

/// The `processes` row of a running process, as /proc shows it now (attached with -p).
pub fn process_row(pid: u32) -> Option<ProcessRow> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised comm: state ppid ...
    let after = &stat[stat.rfind(')')? + 2..];
    let ppid = after.split_whitespace().nth(1)?.parse().ok();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string());
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string());
    let argv = std::fs::read(format!("/proc/{pid}/cmdline")).ok().map(|b| {
        b.split(|c| *c == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    });
    Some(ProcessRow {
        ppid,
        start_ns: Some(now_ns()),
        comm,
        exe,
        argv,
        ..ProcessRow::default()
    })
}

/// The process (thread group) id of `pid`, which may name a thread (`Tgid:` in
/// /proc/PID/status): the filter works on processes.
pub fn tgid_of(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The real and effective uids of process `pid` (`Uid:` in /proc/PID/status).
pub fn uids(pid: u32) -> Option<[u32; 2]> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let mut it = line.split_whitespace().map(|v| v.parse().ok());
    Some([it.next()??, it.next()??])
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat.rfind(')')?;
            stat[after + 1..]
                .split_whitespace()
                .next()
                .map(|state| state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// `/proc/<tgid>/task/<tid>/comm`, for a thread first seen mid-capture (attached with -p).
pub fn thread_comm(tgid: u32, tid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{tgid}/task/{tid}/comm"))
        .ok()
        .map(|s| s.trim_end_matches('\n').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert_eq!(tgid_of(me), Some(me), "a process is its own thread group");
        assert!(alive(me), "this test process is alive");
        let row = process_row(me).expect("our own /proc entry is readable");
        assert!(row.comm.is_some(), "comm read: {row:?}");
        assert!(
            thread_comm(me, me).is_some(),
            "the main thread's comm is readable"
        );
        assert!(!alive(999_999_999), "no such pid");
        // SAFETY: getuid and geteuid have no preconditions.
        let mine = unsafe { [libc::getuid(), libc::geteuid()] };
        assert_eq!(uids(me), Some(mine), "our own uids");
    }
}
