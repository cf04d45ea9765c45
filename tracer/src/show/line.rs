//! One strace output line around a call's text: the `[pid N] ` prefix, the `-t`/`-tt`/`-ttt`/`-r`
//! time, the return aligned at column 40, the `-T` duration, and the `+++ exited with N +++`
//! lines (strace: src/strace.c, `printleader`, `tabto`; src/syscall.c, `syscall_exiting`).

use std::fmt::Write as _;

use tracer_dataset::{SyscallRow, arch::signal_name};

use super::call::{self, Context};

/// The time strace prints at the start of each line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeFormat {
    /// None.
    #[default]
    None,
    /// `-t`: local time of day, `08:19:08`.
    Seconds,
    /// `-tt`: with microseconds, `08:19:08.960217`.
    Micros,
    /// `-ttt`: seconds since the epoch with microseconds, `1764577148.960217`.
    Epoch,
    /// `-r`: seconds since the previous line, `     0.000123`.
    Relative,
}

/// How lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineFormat {
    /// The time at the start of each line.
    pub time: TimeFormat,
    /// `-T`: the call's duration at the end, where the capture measured it.
    pub durations: bool,
    /// `[pid N] ` before every line (the lines come from more than one thread).
    pub pid_prefix: bool,
}

/// strace aligns the return value at this column (`acolumn`).
const RETURN_COLUMN: usize = 40;

/// How a process ended, for its `+++` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The process.
    pub pid: i32,
    /// When, ns since the epoch.
    pub exit_ns: Option<i64>,
    /// Exit status, when it exited.
    pub code: Option<i32>,
    /// Fatal signal, when killed.
    pub signal: Option<i32>,
}

/// Writes lines into a buffer, remembering what `-r` and the local clock need.
#[derive(Debug, Default)]
pub struct Lines {
    format: LineFormat,
    previous_ts_ns: Option<i64>,
    /// The last local second converted, and its `HH:MM:SS`.
    local: Option<(i64, [u8; 8])>,
}

impl Lines {
    /// A writer of lines of `format`.
    pub fn new(format: LineFormat) -> Self {
        Self {
            format,
            ..Self::default()
        }
    }

    /// Whether lines carry the `[pid N]` prefix.
    pub fn set_pid_prefix(&mut self, on: bool) {
        self.format.pid_prefix = on;
    }

    fn leader(&mut self, out: &mut String, tid: i32, ts_ns: Option<i64>) {
        if self.format.pid_prefix {
            let _ = write!(out, "[pid {tid:>5}] ");
        }
        let Some(ts) = ts_ns else {
            return;
        };
        let (secs, micros) = (
            ts.div_euclid(1_000_000_000),
            ts.rem_euclid(1_000_000_000) / 1000,
        );
        match self.format.time {
            TimeFormat::None => {}
            TimeFormat::Seconds => {
                out.push_str(self.local_hms(secs));
                out.push(' ');
            }
            TimeFormat::Micros => {
                out.push_str(self.local_hms(secs));
                let _ = write!(out, ".{micros:06} ");
            }
            TimeFormat::Epoch => {
                let _ = write!(out, "{secs}.{micros:06} ");
            }
            TimeFormat::Relative => {
                let delta = self.previous_ts_ns.map_or(0, |p| (ts - p).max(0));
                let _ = write!(
                    out,
                    "{:>6}.{:06} ",
                    delta / 1_000_000_000,
                    delta % 1_000_000_000 / 1000
                );
            }
        }
        self.previous_ts_ns = Some(ts);
    }

    /// `HH:MM:SS` of `secs` in local time (the conversion is cached per second).
    fn local_hms(&mut self, secs: i64) -> &str {
        if self.local.is_none_or(|(s, _)| s != secs) {
            let (h, m, s) = local_time_of_day(secs);
            let mut text = [0u8; 8];
            let digits = [h / 10, h % 10, 0, m / 10, m % 10, 0, s / 10, s % 10];
            for (i, d) in digits.iter().enumerate() {
                text[i] = if i == 2 || i == 5 {
                    b':'
                } else {
                    b'0' + *d as u8
                };
            }
            self.local = Some((secs, text));
        }
        let (_, text) = self.local.as_ref().expect("set above");
        std::str::from_utf8(text).expect("ASCII digits")
    }

    /// Appends the line of call `row` (with its newline).
    pub fn call(
        &mut self,
        out: &mut String,
        ctx: &Context,
        row: &SyscallRow<'_>,
        argv: Option<&[String]>,
    ) {
        self.call_with(
            out,
            ctx,
            row,
            &tracer_dataset::SyscallExtra::default(),
            argv,
        );
    }

    /// `call` with the row's capture-only columns (second path, socket address).
    pub fn call_with(
        &mut self,
        out: &mut String,
        ctx: &Context,
        row: &SyscallRow<'_>,
        extra: &tracer_dataset::SyscallExtra<'_>,
        argv: Option<&[String]>,
    ) {
        let start = out.len();
        self.leader(out, row.tid, row.ts_ns);
        if row.syscall == tracer_dataset::gap::GAP_SYSCALL {
            // Not a call: where the capture lost records (`tracer_dataset::gap`).
            let cpu = row.args.map_or(0, |a| a[2]);
            let lost = row.ret.unwrap_or(0);
            let _ = writeln!(out, "--- {lost} records lost on cpu {cpu} ---");
            return;
        }
        call::open_call_with(out, ctx, row, extra, argv);
        if call::unfinished(row) {
            out.push_str(" <unfinished ...>\n");
            return;
        }
        out.push_str(") ");
        let column = out.len() - start;
        if column < RETURN_COLUMN {
            out.extend(std::iter::repeat_n(' ', RETURN_COLUMN - column));
        }
        out.push_str("= ");
        call::ret(out, ctx, row);
        if self.format.durations
            && let Some(d) = row.duration_ns
        {
            let d = d.max(0);
            let _ = write!(
                out,
                " <{}.{:06}>",
                d / 1_000_000_000,
                d % 1_000_000_000 / 1000
            );
        }
        out.push('\n');
    }

    /// Appends `+++ exited with N +++` or `+++ killed by SIG +++` for `exit` (nothing when
    /// the processes table does not say how it ended).
    pub fn exit(&mut self, out: &mut String, exit: &Exit) {
        let how = match (exit.code, exit.signal) {
            (_, Some(sig)) => match signal_name(i64::from(sig)) {
                Some(name) => format!("killed by {name}"),
                None => format!("killed by signal {sig}"),
            },
            (Some(code), None) => format!("exited with {code}"),
            (None, None) => return,
        };
        self.leader(out, exit.pid, exit.exit_ns);
        let _ = writeln!(out, "+++ {how} +++");
    }
}

/// Hours, minutes and seconds of `secs` (since the epoch) in the local time zone.
fn local_time_of_day(secs: i64) -> (i64, i64, i64) {
    let t = secs as libc::time_t;
    // SAFETY: an all-zero tm is a valid value; localtime_r writes it and reads only `t`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        let day = secs.rem_euclid(86_400);
        return (day / 3600, day / 60 % 60, day % 60);
    }
    (
        i64::from(tm.tm_hour),
        i64::from(tm.tm_min),
        i64::from(tm.tm_sec),
    )
}

/// Seconds east of UTC of the local time zone at `secs` (for time-of-day bounds).
pub fn local_offset_secs(secs: i64) -> i64 {
    let t = secs as libc::time_t;
    // SAFETY: as in `local_time_of_day`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return 0;
    }
    tm.tm_gmtoff
}

#[cfg(test)]
mod tests {
    use tracer_dataset::Arch;

    use super::*;

    const CTX: Context = Context {
        arch: Arch::X86_64,
        path_limit: None,
    };

    fn close(tid: i32, ts_ns: i64, duration_ns: Option<i64>) -> SyscallRow<'static> {
        SyscallRow {
            tid,
            pid: tid,
            ts_ns: Some(ts_ns),
            duration_ns,
            syscall: "close",
            args: Some([3, 0, 0, 0, 0, 0]),
            ret: Some(0),
            ..SyscallRow::default()
        }
    }

    #[test]
    fn returns_align_at_column_40() {
        let mut lines = Lines::new(LineFormat::default());
        let mut out = String::new();
        lines.call(&mut out, &CTX, &close(7, 0, None), None);
        assert_eq!(out, "close(3)                                = 0\n");
        assert_eq!(out.find("= "), Some(40));
        let mut lines = Lines::new(LineFormat {
            pid_prefix: true,
            durations: true,
            ..LineFormat::default()
        });
        let mut out = String::new();
        lines.call(&mut out, &CTX, &close(20670, 0, Some(8_000)), None);
        assert_eq!(
            out,
            "[pid 20670] close(3)                    = 0 <0.000008>\n"
        );
        lines.call(&mut out, &CTX, &close(42, 0, None), None);
        assert!(out.ends_with("[pid    42] close(3)                    = 0\n"));
    }

    #[test]
    fn times_as_strace_prints_them() {
        let ts = 1_764_577_148_960_217_123;
        let mut lines = Lines::new(LineFormat {
            time: TimeFormat::Epoch,
            ..LineFormat::default()
        });
        let mut out = String::new();
        lines.call(&mut out, &CTX, &close(1, ts, None), None);
        assert!(out.starts_with("1764577148.960217 close(3) "), "{out}");
        let mut lines = Lines::new(LineFormat {
            time: TimeFormat::Relative,
            ..LineFormat::default()
        });
        let mut out = String::new();
        lines.call(&mut out, &CTX, &close(1, ts, None), None);
        lines.call(&mut out, &CTX, &close(1, ts + 1_500_123_000, None), None);
        let got: Vec<&str> = out.lines().map(|l| &l[..14]).collect();
        assert_eq!(got, ["     0.000000 ", "     1.500123 "]);
        let mut lines = Lines::new(LineFormat {
            time: TimeFormat::Micros,
            ..LineFormat::default()
        });
        let mut out = String::new();
        lines.call(&mut out, &CTX, &close(1, ts, None), None);
        let (h, m, s) = local_time_of_day(ts / 1_000_000_000);
        assert!(
            out.starts_with(&format!("{h:02}:{m:02}:{s:02}.960217 close(3)")),
            "{out}"
        );
    }

    #[test]
    fn gap_rows_say_what_was_lost() {
        let mut lines = Lines::new(LineFormat::default());
        let mut out = String::new();
        let gap = SyscallRow {
            syscall: tracer_dataset::gap::GAP_SYSCALL,
            nr: tracer_dataset::gap::GAP_NR,
            args: Some([5, 1, 3, 0, 0, 0]),
            ret: Some(6),
            ..close(7, 0, None)
        };
        lines.call(&mut out, &CTX, &gap, None);
        assert_eq!(out, "--- 6 records lost on cpu 3 ---\n");
    }

    #[test]
    fn exit_lines() {
        let mut lines = Lines::new(LineFormat::default());
        let mut out = String::new();
        let exit = Exit {
            pid: 9,
            exit_ns: None,
            code: Some(7),
            signal: None,
        };
        lines.exit(&mut out, &exit);
        lines.exit(
            &mut out,
            &Exit {
                signal: Some(9),
                code: None,
                ..exit
            },
        );
        lines.exit(
            &mut out,
            &Exit {
                signal: None,
                code: None,
                ..exit
            },
        );
        assert_eq!(out, "+++ exited with 7 +++\n+++ killed by SIGKILL +++\n");
    }
}
