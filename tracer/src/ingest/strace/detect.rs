//! What kind of strace output an input is: one log or an `-ff -o PREFIX` set (given as the
//! folder or the prefix), the pid of unprefixed lines, and the wall-clock date of `-t`/`-tt`
//! stamps.
//!
//! The line format itself (pid prefix style, timestamp style, `-T`, `-y`, `-X`, `-Y`) needs no
//! detection: each line says what it is (see `parser`).
//!
//! Dates: `-t`/`-tt` stamps are local times of day with no date. The date is `--date
//! YYYY-MM-DD` (the date of the first line), else the file's modification time: a log is last
//! written when the trace ends, so the first line's date is the mtime's local date, or the day
//! before when the first time of day is later than the mtime's. After that, a time of day more
//! than 12 h earlier than the previous line's is the next day. Local means the time zone of the
//! ingesting machine (`TZ`), which should be that of the capturing one.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    time::SystemTime,
};

use super::parser::{Body, Stamp, parse_line};
use crate::ingest::IngestError;

const NS_PER_S: i64 = 1_000_000_000;
const DAY_NS: i64 = 86_400 * NS_PER_S;

/// The files of one strace capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// One log (`-o FILE`, or captured stderr).
    Single(PathBuf),
    /// An `-ff -o PREFIX` set: (pid, file), ordered by pid.
    Split {
        /// The common prefix (`dir/trace` for `dir/trace.1234`).
        prefix: PathBuf,
        /// Thread id from the suffix, and the file.
        files: Vec<(i32, PathBuf)>,
    },
}

/// `name.1234` -> (`name`, 1234).
fn split_suffix(name: &str) -> Option<(&str, i32)> {
    let (stem, pid) = name.rsplit_once('.')?;
    if stem.is_empty() || pid.is_empty() || !pid.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((stem, pid.parse().ok()?))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Files `prefix.N` in `dir`, grouped by prefix.
fn numbered_files(
    dir: &Path,
    want: Option<&str>,
) -> Result<Vec<(String, i32, PathBuf)>, IngestError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((stem, pid)) = split_suffix(name)
            && want.is_none_or(|w| w == stem)
            && entry.path().is_file()
        {
            out.push((stem.to_string(), pid, entry.path()));
        }
    }
    out.sort_by_key(|(s, pid, _)| (s.clone(), *pid));
    Ok(out)
}

/// Resolves what the user named: a log file, a folder holding one `PREFIX.PID` set, or a
/// `PREFIX` whose `PREFIX.PID` files exist.
pub fn resolve(path: &Path) -> Result<Input, IngestError> {
    if path.is_file() {
        return Ok(Input::Single(path.to_path_buf()));
    }
    let (dir, want) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Err(IngestError::Input {
                path: path.to_path_buf(),
                what: "no such file, folder or -ff prefix".into(),
            });
        };
        if !dir.is_dir() {
            return Err(IngestError::Input {
                path: path.to_path_buf(),
                what: "no such file, folder or -ff prefix".into(),
            });
        }
        (dir, Some(name.to_string()))
    };
    let files = numbered_files(&dir, want.as_deref())?;
    let Some((first, ..)) = files.first() else {
        return Err(IngestError::Input {
            path: path.to_path_buf(),
            what: "no strace log and no PREFIX.PID files of an -ff set".into(),
        });
    };
    if let Some((other, ..)) = files.iter().find(|(s, ..)| s != first) {
        return Err(IngestError::Input {
            path: path.to_path_buf(),
            what: format!("holds more than one -ff set ({first}.* and {other}.*); name the prefix"),
        });
    }
    let prefix = dir.join(first);
    Ok(Input::Split {
        prefix,
        files: files.into_iter().map(|(_, pid, p)| (pid, p)).collect(),
    })
}

/// For a stderr capture of `strace -f` (no `-o`), lines of the first process carry no prefix
/// until a second process exists; after that every line has `[pid N]`. The first process is the
/// prefixed pid that no fork/clone returned. `None` when the log has no `[pid` line.
pub fn main_pid_of_mixed_log(path: &Path) -> Result<Option<i32>, IngestError> {
    let mut text = Vec::new();
    fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut text))
        .map_err(io_err(path))?;
    if memchr::memmem::find(&text, b"[pid ").is_none() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&text);
    let mut seen = Vec::new();
    let mut children = std::collections::HashSet::new();
    let mut rejoin = super::Rejoin::default();
    for line in text.lines() {
        let line = rejoin.take(line);
        let Ok(l) = parse_line(&line) else {
            rejoin.hold(&line);
            continue;
        };
        if let Some(t) = l.tid
            && !seen.contains(&t)
        {
            seen.push(t);
        }
        let (name, ret) = match l.body {
            Body::Call { name, ret, .. } | Body::Resumed { name, ret, .. } => (name, ret),
            _ => continue,
        };
        if let (true, super::parser::Ret::Value(v)) =
            (matches!(name, "clone" | "clone3" | "fork" | "vfork"), ret)
            && v > 0
        {
            children.insert(v as i32);
        }
    }
    Ok(seen.into_iter().find(|t| !children.contains(t)))
}

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
    /// Day, 1..=31.
    pub day: u32,
}

impl std::str::FromStr for Date {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a date YYYY-MM-DD");
        let mut it = s.splitn(3, '-');
        let year = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let month = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let day = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(bad());
        }
        Ok(Self { year, month, day })
    }
}

/// Local midnight of `date` (+ `day_delta` days), ns since the epoch.
fn local_midnight_ns(date: Date, day_delta: i32) -> i64 {
    // SAFETY: `tm` is a plain C struct, zero is a valid value for every field, and mktime only
    // reads and normalises it.
    let secs = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = date.year - 1900;
        tm.tm_mon = date.month as i32 - 1;
        tm.tm_mday = date.day as i32 + day_delta;
        tm.tm_hour = 0;
        tm.tm_isdst = -1;
        libc::mktime(&mut tm)
    };
    secs * NS_PER_S
}

/// Local date and time of day (ns) of `t`.
fn local_date(t: SystemTime) -> (Date, i64) {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes into the `tm` we own and reads `secs`; both outlive the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    let date = Date {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
    };
    let tod = i64::from((tm.tm_hour * 60 + tm.tm_min) * 60 + tm.tm_sec) * NS_PER_S
        + i64::from(since.subsec_nanos());
    (date, tod)
}

/// Where the date of `-t`/`-tt` stamps comes from.
#[derive(Clone, Copy, Debug)]
pub enum DateSource {
    /// `--date`.
    Given(Date),
    /// The log's modification time.
    Mtime(SystemTime),
}

/// Turns stamps into wall-clock ns for one log (see the module doc).
#[derive(Debug)]
pub struct Clock {
    source: DateSource,
    midnight_ns: Option<i64>,
    last_tod_ns: i64,
}

impl Clock {
    /// A clock for a log whose date comes from `source`.
    pub fn new(source: DateSource) -> Self {
        Self {
            source,
            midnight_ns: None,
            last_tod_ns: 0,
        }
    }

    /// Wall-clock ns of a stamp; `None` for `-r` relative stamps (they carry no absolute time).
    pub fn resolve(&mut self, stamp: Stamp) -> Option<i64> {
        match stamp {
            Stamp::Epoch(ns) => Some(ns),
            Stamp::Relative(_) => None,
            Stamp::TimeOfDay(tod) => {
                let midnight = match self.midnight_ns {
                    Some(m) => {
                        if tod + DAY_NS / 2 < self.last_tod_ns {
                            let next = m + DAY_NS;
                            self.midnight_ns = Some(next);
                            next
                        } else {
                            m
                        }
                    }
                    None => {
                        let m = match self.source {
                            DateSource::Given(d) => local_midnight_ns(d, 0),
                            DateSource::Mtime(t) => {
                                let (d, mtime_tod) = local_date(t);
                                local_midnight_ns(d, if tod > mtime_tod { -1 } else { 0 })
                            }
                        };
                        self.midnight_ns = Some(m);
                        m
                    }
                };
                self.last_tod_ns = tod;
                Some(midnight + tod)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(split_suffix("trace.1234"), Some(("trace", 1234)));
        assert_eq!(split_suffix("a.b.77"), Some(("a.b", 77)));
        assert_eq!(split_suffix("trace.log"), None);
        assert_eq!(split_suffix(".12"), None);
    }

    #[test]
    fn dates_and_midnight_rollover() {
        assert!("2026-13-01".parse::<Date>().is_err());
        let d: Date = "2026-11-26".parse().unwrap();
        let mut c = Clock::new(DateSource::Given(d));
        let base = local_midnight_ns(d, 0);
        assert_eq!(
            c.resolve(Stamp::TimeOfDay(23 * 3600 * NS_PER_S)),
            Some(base + 23 * 3600 * NS_PER_S)
        );
        assert_eq!(
            c.resolve(Stamp::TimeOfDay(NS_PER_S)),
            Some(base + DAY_NS + NS_PER_S)
        );
        assert_eq!(c.resolve(Stamp::Relative(5)), None);
        assert_eq!(c.resolve(Stamp::Epoch(5)), Some(5));
    }

    #[test]
    fn mtime_before_first_time_means_previous_day() {
        // mtime 00:00:10 local; a first line at 23:59:59 was written the day before.
        let d: Date = "2026-11-26".parse().unwrap();
        let mtime_ns = local_midnight_ns(d, 0) + 10 * NS_PER_S;
        let mtime = SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(mtime_ns as u64);
        let mut c = Clock::new(DateSource::Mtime(mtime));
        let tod = (23 * 3600 + 59 * 60 + 59) * NS_PER_S;
        assert_eq!(
            c.resolve(Stamp::TimeOfDay(tod)),
            Some(local_midnight_ns(d, -1) + tod)
        );
    }
}
