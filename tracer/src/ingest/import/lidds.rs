//! LID-DS 2021 (Leipzig Intrusion Detection Data Set) `.sc` recordings: one sysdig event per
//! line, space-separated:
//! `timestamp_ns uid pid process_name tid syscall_name direction [key=value ...]`, with
//! direction `>` for the entry and `<` for the exit of a call. One run per `.sc` file (a file
//! name or a folder walked for `*.sc`); `run_id` is the file name without `.sc`.
//!
//! Pairing: an entry waits for the exit of the same name on the same thread; the row takes the
//! entry's time and arguments, the exit's return, and their difference as duration. The return is
//! the exit's `res=` value, else its `fd=` value (sysdig reports open/openat/socket results so);
//! `-2(ENOENT)` is -2. An exit without an entry (recording started mid-call) keeps the exit's
//! time and no duration; an entry that never exits (next entry on the thread, end of file) gets
//! a null `ret`. `path` is the first `name=`/`path=`/`filename=`/`pathname=` value of the entry
//! (else the exit) of path-taking calls. Names are looked up in `--arch` (default: this
//! machine's; the recordings are x86_64); sysdig's own non-syscall events (`switch`,
//! `procexit`, `signaldeliver`, ...) are not syscalls and are not written (`procexit` sets the
//! process's exit time); other unknown names are written with `nr` = -1.

use std::collections::HashMap;

use tracer_dataset::{ProcessRow, ProcessSink, RunInfo, SyscallRow, SyscallSink, meta};

use super::{malformed, read_text, walk};
use crate::ingest::{Arch, IngestArgs, IngestError, Output, RunSummary, default_run_id};

/// sysdig event names that are not system calls.
const META_EVENTS: &[&str] = &[
    "switch",
    "procexit",
    "signaldeliver",
    "procinfo",
    "container",
    "drop",
    "cpu_hotplug",
    "notification",
    "infra",
    "page_fault",
    "tracer",
    "k8s",
    "mesos",
    "useradded",
    "userdeleted",
    "groupadded",
    "groupdeleted",
];

/// One event line.
struct Ev<'a> {
    ts: i64,
    pid: i32,
    comm: &'a str,
    tid: i32,
    name: &'a str,
    enter: bool,
    args: &'a str,
}

fn parse(line: &str) -> Result<Ev<'_>, &'static str> {
    let mut it = line.splitn(8, ' ');
    let mut field = |what: &'static str| it.next().filter(|s| !s.is_empty()).ok_or(what);
    let ts = field("a timestamp")?
        .parse()
        .map_err(|_| "a timestamp in ns")?;
    let _uid = field("a user id")?;
    let pid = field("a process id")?
        .parse()
        .map_err(|_| "a numeric process id")?;
    let comm = field("a process name")?;
    let tid = field("a thread id")?
        .parse()
        .map_err(|_| "a numeric thread id")?;
    let name = field("a syscall name")?;
    let enter = match field("a direction '>' or '<'")? {
        ">" => true,
        "<" => false,
        _ => return Err("a direction '>' or '<'"),
    };
    let args = it.next().unwrap_or("");
    Ok(Ev {
        ts,
        pid,
        comm,
        tid,
        name,
        enter,
        args,
    })
}

/// The value of `key=` in sysdig arguments, up to the next space.
fn value<'a>(args: &'a str, key: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(p) = args[from..].find(key) {
        let at = from + p;
        if (at == 0 || args.as_bytes()[at - 1] == b' ') && args[at + key.len()..].starts_with('=') {
            let v = &args[at + key.len() + 1..];
            return Some(&v[..v.find(' ').unwrap_or(v.len())]);
        }
        from = at + key.len();
    }
    None
}

/// Leading integer of a sysdig value: `-2(ENOENT)` -> -2, `3(<f>/etc/passwd)` -> 3.
fn leading_int(v: &str) -> Option<i64> {
    let end = v
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(v.len(), |(i, _)| i);
    v[..end].parse().ok()
}

fn path_of(args: &str) -> Option<&str> {
    ["name", "path", "filename", "pathname"]
        .iter()
        .find_map(|k| value(args, k))
        .map(|v| v.split('(').next().unwrap_or(v))
}

struct Pending {
    /// False for an exit whose entry the recording missed.
    entered: bool,
    seq: u64,
    ts: i64,
    pid: i32,
    comm: String,
    name: String,
    args: String,
}

/// Imports one `.sc` file or every `.sc` under a folder.
pub fn ingest(args: &IngestArgs) -> Result<Vec<RunSummary>, IngestError> {
    let files = walk(&args.input, &|p| p.extension().is_some_and(|e| e == "sc"))?;
    if files.is_empty() {
        return Err(IngestError::Input {
            path: args.input.clone(),
            what: "no LID-DS .sc files".into(),
        });
    }
    let arch = args.arch.unwrap_or_else(Arch::native);
    let table = arch.table();
    let out = Output::new(&args.output, files.len())?;
    let mut runs = Vec::new();
    for path in files {
        let run_id = match (&args.run_id, args.input.is_file()) {
            (Some(r), true) => r.clone(),
            _ => default_run_id(&path),
        };
        let run = RunInfo {
            run_id: run_id.clone(),
            source: "lid-ds".into(),
            scenario: args.scenario.clone(),
            mode: None,
        };
        let (syscalls_path, processes_path) = out.paths(&run_id)?;
        let metadata = vec![
            (meta::ARCH.to_string(), arch.as_str().to_string()),
            (meta::COMMAND_LINE.to_string(), path.display().to_string()),
            (meta::TS_POINT.to_string(), "entry".to_string()),
        ];
        let mut sink = SyscallSink::create(&syscalls_path, run.clone(), &metadata)?;
        let text = read_text(&path)?;
        let (mut seq, mut skipped, mut lines) = (0u64, 0u64, 0u64);
        let mut pending: HashMap<i32, Pending> = HashMap::new();
        let mut procs: HashMap<i32, ProcessRow> = HashMap::new();
        let mut order = Vec::new();
        let write = |sink: &mut SyscallSink, p: &Pending, tid: i32, exit: Option<(i64, &str)>| {
            let info = table.by_name(&p.name);
            let ret = exit.and_then(|(_, a)| {
                value(a, "res")
                    .or_else(|| value(a, "fd"))
                    .and_then(leading_int)
            });
            let path = info
                .and_then(|i| i.path_arg)
                .and_then(|_| path_of(&p.args).or_else(|| exit.and_then(|(_, a)| path_of(a))));
            sink.push(&SyscallRow {
                seq: p.seq,
                ts_ns: Some(p.ts),
                duration_ns: exit
                    .filter(|_| p.entered)
                    .map(|(t, _)| t - p.ts)
                    .filter(|d| *d >= 0),
                pid: p.pid,
                tid,
                comm: Some(&p.comm),
                syscall: info.map_or(p.name.as_str(), |i| i.name),
                nr: info.map_or(-1, |i| i.nr),
                args: None,
                ret,
                path,
            })
            .map(|()| ret)
        };
        for (i, line) in text.lines().enumerate() {
            lines += 1;
            if line.trim().is_empty() {
                continue;
            }
            let ev = match parse(line) {
                Ok(ev) => ev,
                Err(expected) => {
                    malformed(
                        args.lenient,
                        &mut skipped,
                        &path,
                        i as u64 + 1,
                        expected,
                        line,
                    )?;
                    continue;
                }
            };
            let proc = procs.entry(ev.pid).or_insert_with(|| {
                order.push(ev.pid);
                ProcessRow {
                    pid: ev.pid,
                    start_ns: Some(ev.ts),
                    ..ProcessRow::default()
                }
            });
            if proc.comm.as_deref() != Some(ev.comm) {
                proc.comm = Some(ev.comm.to_string());
            }
            if META_EVENTS.contains(&ev.name) {
                if ev.name == "procexit" && ev.tid == ev.pid {
                    proc.exit_ns = Some(ev.ts);
                    proc.exit_code = value(ev.args, "status")
                        .and_then(leading_int)
                        .and_then(|v| i32::try_from(v).ok());
                }
                continue;
            }
            if ev.enter {
                if let Some(old) = pending.remove(&ev.tid) {
                    write(&mut sink, &old, ev.tid, None)?;
                }
                pending.insert(
                    ev.tid,
                    Pending {
                        entered: true,
                        seq,
                        ts: ev.ts,
                        pid: ev.pid,
                        comm: ev.comm.to_string(),
                        name: ev.name.to_string(),
                        args: ev.args.to_string(),
                    },
                );
                seq += 1;
                continue;
            }
            let p = match pending.remove(&ev.tid) {
                Some(p) if p.name == ev.name => p,
                other => {
                    if let Some(old) = other {
                        write(&mut sink, &old, ev.tid, None)?;
                    }
                    seq += 1;
                    Pending {
                        entered: false,
                        seq: seq - 1,
                        ts: ev.ts,
                        pid: ev.pid,
                        comm: ev.comm.to_string(),
                        name: ev.name.to_string(),
                        args: String::new(),
                    }
                }
            };
            let ret = write(&mut sink, &p, ev.tid, Some((ev.ts, ev.args)))?;
            match (ev.name, ret) {
                ("clone" | "clone3" | "fork" | "vfork", Some(child)) if child > 0 => {
                    let child = i32::try_from(child).unwrap_or(i32::MAX);
                    if !ev.args.contains("CLONE_THREAD") && !procs.contains_key(&child) {
                        order.push(child);
                        procs.insert(
                            child,
                            ProcessRow {
                                pid: child,
                                ppid: Some(ev.pid),
                                start_ns: Some(ev.ts),
                                ..ProcessRow::default()
                            },
                        );
                    } else if let Some(c) = procs.get_mut(&child) {
                        c.ppid.get_or_insert(ev.pid);
                    }
                }
                ("execve" | "execveat", Some(0)) => {
                    if let Some(proc) = procs.get_mut(&ev.pid) {
                        proc.exe = value(ev.args, "exe")
                            .or_else(|| path_of(&p.args))
                            .map(str::to_string);
                    }
                }
                _ => {}
            }
        }
        let mut left: Vec<(i32, Pending)> = pending.into_iter().collect();
        left.sort_by_key(|(_, p)| p.seq);
        for (tid, p) in &left {
            write(&mut sink, p, *tid, None)?;
        }
        sink.add_metadata(meta::LINES_SKIPPED, skipped.to_string());
        let rows = sink.close()?;
        let mut psink = ProcessSink::create(&processes_path, run, &metadata)?;
        for pid in &order {
            if let Some(p) = procs.remove(pid) {
                psink.push(p);
            }
        }
        let processes = psink.close()?;
        runs.push(RunSummary {
            run_id,
            syscalls_path,
            processes_path: Some(processes_path),
            rows,
            processes,
            lines,
            lines_skipped: skipped,
            lines_truncated: 0,
        });
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_and_values() {
        let ev = parse("1631609708128108442 33 206290 apache2 206291 openat > dirfd=-100(AT_FDCWD) name=/etc/passwd flags=1(O_RDONLY)").unwrap();
        assert_eq!(
            (ev.ts, ev.pid, ev.comm, ev.tid, ev.name, ev.enter),
            (
                1631609708128108442,
                206290,
                "apache2",
                206291,
                "openat",
                true
            )
        );
        assert_eq!(path_of(ev.args), Some("/etc/passwd"));
        assert_eq!(
            value("fd=3(<f>/etc/passwd) dirfd=-100", "fd").and_then(leading_int),
            Some(3)
        );
        assert_eq!(
            value("res=-2(ENOENT) data=x", "res").and_then(leading_int),
            Some(-2)
        );
        assert_eq!(value("xres=1", "res"), None);
        assert_eq!(
            parse("1 2 3 x 4 read ^ a").err(),
            Some("a direction '>' or '<'")
        );
        assert_eq!(parse("abc 2 3 x 4 read >").err(), Some("a timestamp in ns"));
        assert_eq!(parse("1 2 3").err(), Some("a process name"));
    }
}
