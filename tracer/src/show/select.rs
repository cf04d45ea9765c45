//! Which calls `tracer show` prints: strace's `-e trace=SET` and `-p PID`, threads, a run, and a
//! `seq` or time range, with the parsers of the range syntaxes (`--seq 100..200`, `--since
//! +1.5`, `--since 08:19:08.96`, `--until 1764577148.96`).

use std::{collections::HashSet, str::FromStr};

use tracer_dataset::{Arch, SyscallRow, stream::Bounds};

use super::line::local_offset_secs;
use crate::syscall_table::{FilterError, parse_trace_filter};

/// A `seq` range, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    /// First seq shown.
    pub first: u64,
    /// Last seq shown.
    pub last: u64,
}

impl Default for SeqRange {
    fn default() -> Self {
        Self {
            first: 0,
            last: u64::MAX,
        }
    }
}

impl FromStr for SeqRange {
    type Err = String;

    /// `A..B` (B excluded, as Rust ranges), `A..=B`, `A..`, `..B`, or one `N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("{s:?} is not a seq range like 100..200, 100..=200, 100.., ..200 or 42");
        let num = |t: &str| t.trim().parse::<u64>().map_err(|_| bad());
        let Some((a, b)) = s.split_once("..") else {
            let n = num(s)?;
            return Ok(Self { first: n, last: n });
        };
        let first = if a.trim().is_empty() { 0 } else { num(a)? };
        let last = match b.strip_prefix('=') {
            Some(b) => num(b)?,
            None if b.trim().is_empty() => u64::MAX,
            None => num(b)?.checked_sub(1).ok_or_else(bad)?,
        };
        if last < first {
            return Err(format!("{s:?}: the range is empty"));
        }
        Ok(Self { first, last })
    }
}

/// A bound of `--since`/`--until`, resolved per run (`TimeBound::resolve`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeBound {
    /// `+SECONDS`: after the run's first call.
    Relative(i64),
    /// `SECONDS.FRACTION` since the epoch, as `-ttt` prints.
    Epoch(i64),
    /// `HH:MM:SS[.FRACTION]`: local time of day on the date of the run's first call, as `-t`
    /// and `-tt` print.
    TimeOfDay(i64),
}

/// Nanoseconds of a decimal number of seconds (`1.5` -> 1_500_000_000).
fn seconds_ns(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 9
    {
        return None;
    }
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_ns: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    whole.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

impl FromStr for TimeBound {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{s:?} is not a time like +1.5 (seconds after the first call), 08:19:08.96 \
                 (local time, as -tt prints) or 1764577148.96 (epoch seconds, as -ttt prints)"
            )
        };
        let t = s.trim();
        if let Some(rel) = t.strip_prefix('+') {
            let rel = rel.strip_suffix('s').unwrap_or(rel);
            return seconds_ns(rel).map(Self::Relative).ok_or_else(bad);
        }
        if t.contains(':') {
            let parts: Vec<&str> = t.split(':').collect();
            let [h, m, sec] = parts[..] else {
                return Err(bad());
            };
            let h: i64 = h.parse().map_err(|_| bad())?;
            let m: i64 = m.parse().map_err(|_| bad())?;
            let sec = seconds_ns(sec).ok_or_else(bad)?;
            if h > 23 || m > 59 || sec >= 61_000_000_000 {
                return Err(bad());
            }
            return Ok(Self::TimeOfDay((h * 3600 + m * 60) * 1_000_000_000 + sec));
        }
        seconds_ns(t).map(Self::Epoch).ok_or_else(bad)
    }
}

impl TimeBound {
    /// The bound in ns since the epoch for a run whose first call was at `first_ts_ns`.
    pub fn resolve(self, first_ts_ns: Option<i64>) -> i64 {
        match self {
            Self::Epoch(ns) => ns,
            Self::Relative(ns) => first_ts_ns.unwrap_or(0).saturating_add(ns),
            Self::TimeOfDay(ns) => {
                let first = first_ts_ns.unwrap_or(0);
                let secs = first.div_euclid(1_000_000_000);
                let offset = local_offset_secs(secs);
                let local_midnight = (secs + offset).div_euclid(86_400) * 86_400 - offset;
                local_midnight * 1_000_000_000 + ns
            }
        }
    }
}

/// What to show, as the command line asked; `Selection::for_run` makes it concrete for one
/// file.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// strace's `-e` expression.
    pub trace: Option<String>,
    /// Processes (`-p`); empty: all.
    pub pids: Vec<i32>,
    /// Threads (`--tid`); empty: all.
    pub tids: Vec<i32>,
    /// The seq range.
    pub seq: SeqRange,
    /// `--since`.
    pub since: Option<TimeBound>,
    /// `--until`.
    pub until: Option<TimeBound>,
    /// One run of a dataset (`--run`).
    pub run: Option<String>,
}

impl Filter {
    /// Checks the `-e` expression against `arch`.
    pub fn check(&self, arch: Arch) -> Result<(), FilterError> {
        match &self.trace {
            Some(e) => parse_trace_filter(arch, e).map(|_| ()),
            None => Ok(()),
        }
    }
}

/// The filter resolved for one file: its architecture's call names and its times.
#[derive(Clone, Debug)]
pub struct Selection {
    names: Option<HashSet<&'static str>>,
    pids: Vec<i32>,
    tids: Vec<i32>,
    /// The seq range.
    pub seq: SeqRange,
    /// Earliest and latest ts_ns shown (inclusive); `None`: no time bound.
    pub time: Option<(i64, i64)>,
    /// The run.
    pub run: Option<String>,
}

impl Selection {
    /// `filter` for a file of `arch` whose first call was at `first_ts_ns`.
    pub fn for_run(
        filter: &Filter,
        arch: Arch,
        first_ts_ns: Option<i64>,
    ) -> Result<Self, FilterError> {
        let names = match &filter.trace {
            Some(e) => parse_trace_filter(arch, e)?.map(|nrs| {
                nrs.into_iter()
                    .filter_map(|nr| arch.name_of(i64::from(nr)))
                    .collect()
            }),
            None => None,
        };
        let time = match (filter.since, filter.until) {
            (None, None) => None,
            (since, until) => Some((
                since.map_or(i64::MIN, |b| b.resolve(first_ts_ns)),
                until.map_or(i64::MAX, |b| b.resolve(first_ts_ns)),
            )),
        };
        Ok(Self {
            names,
            pids: filter.pids.clone(),
            tids: filter.tids.clone(),
            seq: filter.seq,
            time,
            run: filter.run.clone(),
        })
    }

    /// The row groups worth reading.
    pub fn bounds(&self) -> Bounds {
        Bounds {
            seq: (self.seq.first, self.seq.last),
            ts_ns: self.time.unwrap_or((i64::MIN, i64::MAX)),
        }
    }

    /// Whether a lower bound cuts the start of the run.
    pub fn cuts_start(&self) -> bool {
        self.seq.first > 0 || self.time.is_some_and(|(lo, _)| lo > i64::MIN)
    }

    /// Whether the row's time lies in the time range (rows without a time do not when there
    /// is one).
    pub fn in_time(&self, row: &SyscallRow<'_>) -> bool {
        match (self.time, row.ts_ns) {
            (None, _) => true,
            (Some((lo, hi)), Some(t)) => lo <= t && t <= hi,
            (Some(_), None) => false,
        }
    }

    /// Whether `-e`, `-p` and `--tid` keep the row.
    pub fn chosen(&self, row: &SyscallRow<'_>) -> bool {
        self.names.as_ref().is_none_or(|n| n.contains(row.syscall))
            && (self.pids.is_empty() || self.pids.contains(&row.pid))
            && (self.tids.is_empty() || self.tids.contains(&row.tid))
    }

    /// Whether the `+++` line of process `pid` is shown: its process or (with `--tid` only) its
    /// main thread is selected.
    pub fn shows_exit_of(&self, pid: i32) -> bool {
        match (self.pids.is_empty(), self.tids.is_empty()) {
            (true, true) => true,
            (false, _) => self.pids.contains(&pid),
            (true, false) => self.tids.contains(&pid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_ranges() {
        let r = |s: &str| s.parse::<SeqRange>().map(|r| (r.first, r.last));
        assert_eq!(r("100..200"), Ok((100, 199)));
        assert_eq!(r("100..=200"), Ok((100, 200)));
        assert_eq!(r("100.."), Ok((100, u64::MAX)));
        assert_eq!(r("..200"), Ok((0, 199)));
        assert_eq!(r("42"), Ok((42, 42)));
        assert!(r("5..5").is_err());
        assert!(r("..0").is_err());
        assert!(r("a..b").is_err());
    }

    #[test]
    fn time_bounds() {
        let t = |s: &str| s.parse::<TimeBound>();
        assert_eq!(t("+1.5"), Ok(TimeBound::Relative(1_500_000_000)));
        assert_eq!(t("+2s"), Ok(TimeBound::Relative(2_000_000_000)));
        assert_eq!(
            t("1764577148.960217"),
            Ok(TimeBound::Epoch(1_764_577_148_960_217_000))
        );
        assert_eq!(
            t("08:19:08.5"),
            Ok(TimeBound::TimeOfDay(
                (8 * 3600 + 19 * 60 + 8) * 1_000_000_000 + 500_000_000
            ))
        );
        assert!(t("25:00:00").is_err());
        assert!(t("soon").is_err());
        assert!(t("+").is_err());
        let first_ns = 1_764_577_148_960_217_000;
        let first = Some(first_ns);
        assert_eq!(
            TimeBound::Relative(1_000).resolve(first),
            1_764_577_148_960_218_000
        );
        // A time of day resolves to the first call's local date.
        let at = TimeBound::TimeOfDay(0).resolve(first);
        assert!(at <= first_ns && first_ns - at < 86_400_000_000_000);
    }

    #[test]
    fn selections() {
        let filter = Filter {
            trace: Some("trace=%file,close".into()),
            pids: vec![7],
            ..Filter::default()
        };
        let s = Selection::for_run(&filter, Arch::X86_64, None).expect("valid");
        let row = |syscall, pid| SyscallRow {
            syscall,
            pid,
            tid: pid,
            ..SyscallRow::default()
        };
        assert!(s.chosen(&row("openat", 7)));
        assert!(s.chosen(&row("close", 7)));
        assert!(!s.chosen(&row("read", 7)));
        assert!(!s.chosen(&row("openat", 8)));
        assert!(s.shows_exit_of(7) && !s.shows_exit_of(8));
        assert!(!s.cuts_start());
        let bad = Filter {
            trace: Some("trace=nosuchcall".into()),
            ..Filter::default()
        };
        assert!(bad.check(Arch::X86_64).is_err());
    }
}
