//! sysdig event lines of the LID-DS recordings, paired into syscall rows. Two line forms:
//! - LID-DS 2021 `.sc`: `timestamp_ns uid pid process_name tid syscall_name direction [args]`;
//! - LID-DS 2019 `.txt`: `event_number HH:MM:SS.nnnnnnnnn cpu uid process_name tid direction
//!   syscall_name [args]`, with no pid (the pid is the thread id) and a time of day without a
//!   date: `ts_ns` counts from 1970-01-01 UTC (as LID-DS's own 2019 loader does), a day later
//!   after each midnight the recording passes.
//!
//! Direction `>` is the entry and `<` the exit of a call. Pairing: an entry waits for the exit of
//! the same name on the same thread; the row takes the entry's time and arguments, the exit's
//! return, and their difference as duration. The return is the exit's `res=` value, else its
//! `fd=` value (sysdig reports open/openat/socket results so); `-2(ENOENT)` is -2. An exit
//! without an entry (recording started mid-call) keeps the exit's time and no duration; an entry
//! that never exits (next entry on the thread, end of file) gets a null `ret`. `path` is the
//! first `name=`/`path=`/`filename=`/`pathname=` value of the entry (else the exit) of
//! path-taking calls. Names are looked up in `--arch` (default: this machine's; the recordings
//! are x86_64); sysdig's own non-syscall events (`switch`, `procexit`, `signaldeliver`, ...) are
//! not syscalls and are not written (`procexit` sets the process's exit time); other unknown
//! names are written with `nr` = -1.

use std::{collections::HashMap, io::Read, path::Path};

use tracer_dataset::{ProcessRow, SinkError, SyscallRow, SyscallSink, arch::SyscallTable};

use super::{TraceRead, for_each_line, malformed};
use crate::ingest::IngestError;

/// Which line form a recording has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineForm {
    /// LID-DS 2021 `.sc`.
    Sc2021,
    /// LID-DS 2019 `.txt`.
    Txt2019,
}

/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// The time of LID-DS 2019 lines: a time of day, rolling over to the next day when it runs
/// backwards by more than half a day.
#[derive(Debug, Default)]
struct Clock2019 {
    day_ns: i64,
    last: Option<i64>,
}

impl Clock2019 {
    /// `HH:MM:SS.fraction` as ns since 1970-01-01 UTC (plus the days passed).
    fn stamp(&mut self, text: &str) -> Option<i64> {
        let (hms, frac) = text.split_once('.').unwrap_or((text, ""));
        let mut it = hms.split(':').map(str::parse::<i64>);
        let (Some(Ok(h)), Some(Ok(m)), Some(Ok(s)), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return None;
        };
        if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
            return None;
        }
        let frac_ns: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse::<i64>().ok()? * 10i64.pow(9 - frac.len() as u32)
        };
        let of_day = ((h * 60 + m) * 60 + s) * 1_000_000_000 + frac_ns;
        if self.last.is_some_and(|last| of_day + DAY_NS / 2 < last) {
            self.day_ns += DAY_NS;
        }
        self.last = Some(of_day);
        Some(self.day_ns + of_day)
    }
}

/// An event line of a LID-DS 2019 `.txt` recording (see the module doc).
fn parse_2019<'a>(line: &'a str, clock: &mut Clock2019) -> Result<Ev<'a>, &'static str> {
    let mut it = line.splitn(9, ' ');
    let mut field = |what: &'static str| it.next().filter(|s| !s.is_empty()).ok_or(what);
    let _number = field("an event number")?;
    let ts_text = field("an event time")?;
    let _cpu = field("a cpu")?;
    let _uid = field("a user id")?;
    let comm = field("a process name")?;
    let tid = field("a thread id")?
        .parse()
        .map_err(|_| "a numeric thread id")?;
    let enter = match field("a direction '>' or '<'")? {
        ">" => true,
        "<" => false,
        _ => return Err("a direction '>' or '<'"),
    };
    let name = field("a syscall name")?;
    let args = it.next().unwrap_or("");
    let ts = clock
        .stamp(ts_text)
        .ok_or("an event time HH:MM:SS.nnnnnnnnn")?;
    Ok(Ev {
        ts,
        pid: tid,
        comm,
        tid,
        name,
        enter,
        args,
    })
}

/// Reads one recording of form `form` from `reader` (`path` names it in errors) into `sink`;
/// returns what was read and the time of its first event.
pub(crate) fn read_recording(
    reader: impl Read,
    path: &Path,
    form: LineForm,
    lenient: bool,
    table: &'static SyscallTable,
    sink: &mut SyscallSink,
) -> Result<(TraceRead, Option<i64>), IngestError> {
    let mut recording = Recording::new(sink, table);
    let mut got = TraceRead::default();
    let mut clock = Clock2019::default();
    let mut first = None;
    got.lines = for_each_line(reader, path, |n, line| {
        if line.trim().is_empty() {
            return Ok(());
        }
        let ev = match form {
            LineForm::Sc2021 => parse_2021(line),
            LineForm::Txt2019 => parse_2019(line, &mut clock),
        };
        match ev {
            Ok(ev) => {
                first.get_or_insert(ev.ts);
                recording.event(&ev)
            }
            Err(expected) => malformed(lenient, &mut got.lines_skipped, path, n, expected, line),
        }
    })?;
    got.processes = recording.finish()?;
    Ok((got, first))
}

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
#[derive(Debug)]
struct Ev<'a> {
    ts: i64,
    pid: i32,
    comm: &'a str,
    tid: i32,
    name: &'a str,
    enter: bool,
    args: &'a str,
}

/// An event line of a LID-DS 2021 `.sc` recording:
/// `timestamp_ns uid pid process_name tid syscall_name direction [args]`.
fn parse_2021(line: &str) -> Result<Ev<'_>, &'static str> {
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

/// One recording being paired into rows: the calls waiting for their exit, and the processes
/// seen so far.
struct Recording<'s> {
    sink: &'s mut SyscallSink,
    table: &'static SyscallTable,
    /// The next row's `seq`.
    seq: u64,
    /// tid -> its call waiting for an exit.
    pending: HashMap<i32, Pending>,
    procs: HashMap<i32, ProcessRow>,
    /// pids in order of first appearance.
    order: Vec<i32>,
}

impl<'s> Recording<'s> {
    fn new(sink: &'s mut SyscallSink, table: &'static SyscallTable) -> Self {
        Self {
            sink,
            table,
            seq: 0,
            pending: HashMap::new(),
            procs: HashMap::new(),
            order: Vec::new(),
        }
    }

    /// Takes one event line: notes its process, then pairs or writes its call.
    fn event(&mut self, ev: &Ev<'_>) -> Result<(), IngestError> {
        let order = &mut self.order;
        let proc = self.procs.entry(ev.pid).or_insert_with(|| {
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
            return Ok(());
        }
        if ev.enter {
            self.enter(ev)
        } else {
            self.exit(ev)
        }
    }

    /// An entry: waits for its exit (a call still waiting on the thread never returned).
    fn enter(&mut self, ev: &Ev<'_>) -> Result<(), IngestError> {
        if let Some(old) = self.pending.remove(&ev.tid) {
            self.write(&old, ev.tid, None)?;
        }
        self.pending.insert(
            ev.tid,
            Pending {
                entered: true,
                seq: self.seq,
                ts: ev.ts,
                pid: ev.pid,
                comm: ev.comm.to_string(),
                name: ev.name.to_string(),
                args: ev.args.to_string(),
            },
        );
        self.seq += 1;
        Ok(())
    }

    /// An exit: completes the thread's waiting call of the same name, or stands alone when the
    /// recording missed the entry.
    fn exit(&mut self, ev: &Ev<'_>) -> Result<(), IngestError> {
        let p = match self.pending.remove(&ev.tid) {
            Some(p) if p.name == ev.name => p,
            other => {
                if let Some(old) = other {
                    self.write(&old, ev.tid, None)?;
                }
                self.seq += 1;
                Pending {
                    entered: false,
                    seq: self.seq - 1,
                    ts: ev.ts,
                    pid: ev.pid,
                    comm: ev.comm.to_string(),
                    name: ev.name.to_string(),
                    args: String::new(),
                }
            }
        };
        let ret = self.write(&p, ev.tid, Some((ev.ts, ev.args)))?;
        self.follow(ev, &p, ret);
        Ok(())
    }

    /// Lineage and executables from a completed call: the child a fork or clone created, the
    /// file an execve ran.
    fn follow(&mut self, ev: &Ev<'_>, p: &Pending, ret: Option<i64>) {
        match (ev.name, ret) {
            ("clone" | "clone3" | "fork" | "vfork", Some(child)) if child > 0 => {
                let child = i32::try_from(child).unwrap_or(i32::MAX);
                if !ev.args.contains("CLONE_THREAD") && !self.procs.contains_key(&child) {
                    self.order.push(child);
                    self.procs.insert(
                        child,
                        ProcessRow {
                            pid: child,
                            ppid: Some(ev.pid),
                            start_ns: Some(ev.ts),
                            ..ProcessRow::default()
                        },
                    );
                } else if let Some(c) = self.procs.get_mut(&child) {
                    c.ppid.get_or_insert(ev.pid);
                }
            }
            ("execve" | "execveat", Some(0)) => {
                if let Some(proc) = self.procs.get_mut(&ev.pid) {
                    proc.exe = value(ev.args, "exe")
                        .or_else(|| path_of(&p.args))
                        .map(str::to_string);
                }
            }
            _ => {}
        }
    }

    /// Writes the row of call `p` on thread `tid`, with its exit's time and arguments when it
    /// returned; returns the return value.
    fn write(
        &mut self,
        p: &Pending,
        tid: i32,
        exit: Option<(i64, &str)>,
    ) -> Result<Option<i64>, SinkError> {
        let info = self.table.by_name(&p.name);
        let ret = exit.and_then(|(_, a)| {
            value(a, "res")
                .or_else(|| value(a, "fd"))
                .and_then(leading_int)
        });
        let path = info
            .and_then(|i| i.path_arg)
            .and_then(|_| path_of(&p.args).or_else(|| exit.and_then(|(_, a)| path_of(a))));
        self.sink
            .push(&SyscallRow {
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
    }

    /// Writes the calls still waiting (they never returned), in `seq` order; returns the
    /// processes in order of first appearance.
    fn finish(mut self) -> Result<Vec<ProcessRow>, IngestError> {
        let mut left: Vec<(i32, Pending)> = std::mem::take(&mut self.pending).into_iter().collect();
        left.sort_by_key(|(_, p)| p.seq);
        for (tid, p) in &left {
            self.write(p, *tid, None)?;
        }
        let procs = self
            .order
            .iter()
            .filter_map(|pid| self.procs.remove(pid))
            .collect();
        Ok(procs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_and_values() {
        let ev = parse_2021("1631609708128108442 33 206290 apache2 206291 openat > dirfd=-100(AT_FDCWD) name=/etc/passwd flags=1(O_RDONLY)").unwrap();
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
            parse_2021("1 2 3 x 4 read ^ a").err(),
            Some("a direction '>' or '<'")
        );
        assert_eq!(
            parse_2021("abc 2 3 x 4 read >").err(),
            Some("a timestamp in ns")
        );
        assert_eq!(parse_2021("1 2 3").err(), Some("a process name"));
    }

    #[test]
    fn lines_of_2019_and_their_clock() {
        let mut clock = Clock2019::default();
        let ev = parse_2019(
            "51154 01:47:31.305897206 3 33 apache2 29915 > shutdown fd=12(<4t>172.17.0.1:41097->172.17.0.3:443) how=1(SHUT_WR)",
            &mut clock,
        )
        .unwrap();
        assert_eq!(
            (ev.ts, ev.pid, ev.tid, ev.comm, ev.name, ev.enter),
            (
                (3600 + 47 * 60 + 31) * 1_000_000_000 + 305_897_206,
                29915,
                29915,
                "apache2",
                "shutdown",
                true
            )
        );
        assert_eq!(value(ev.args, "how"), Some("1(SHUT_WR)"));
        assert_eq!(clock.stamp("23:59:59.5"), Some(DAY_NS - 500_000_000));
        assert_eq!(
            clock.stamp("00:00:00.25"),
            Some(DAY_NS + 250_000_000),
            "past midnight"
        );
        assert_eq!(
            parse_2019("1 01:47:31.3 3 33 a 7 ^ read", &mut clock).err(),
            Some("a direction '>' or '<'")
        );
        assert_eq!(
            parse_2019("1 1:47 3 33 a 7 > read", &mut clock).err(),
            Some("an event time HH:MM:SS.nnnnnnnnn")
        );
    }
}
