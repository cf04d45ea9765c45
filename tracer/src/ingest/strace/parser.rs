//! Zero-copy parser of one line of strace output.
//!
//! A line is `[PID-PREFIX] [TIMESTAMP] BODY [<DURATION>]`, where
//! - PID-PREFIX is `[pid N] ` (output to a terminal with `-f`), or `N ` (with `-o` and `-f`), each
//!   with an optional `<comm>` after N when strace ran with `-Y`;
//! - TIMESTAMP is `HH:MM:SS` (`-t`), `HH:MM:SS.ffffff` (`-tt`), `SSSSSSSSSS.ffffff` (`-ttt`) or a
//!   relative `S.ffffff` (`-r`, told from `-ttt` by its size: under 10^8 s); `-tt -r` adds
//!   `(+ S.ffffff)`, which is skipped;
//! - `-n` `[ NR]` and `-i` `[IP]` brackets before the body are skipped, and `-k` stack-frame
//!   lines (` > /lib/libc.so.6(write+0x14) [0x10e014]`) carry no call;
//! - BODY is a call `name(args) = ret`, its first half `name(args <unfinished ...>`, its second
//!   half `<... name resumed>args) = ret`, a signal `--- SIGX {...} ---`, or an exit
//!   `+++ exited with N +++` / `+++ killed by SIGX +++`.
//!
//! The arguments can hold anything (strings with `)`, `=`, `...`, structures), so the return
//! value is found from the end: the last ` = ` that follows a `)` and is followed by a number or
//! `?`. Return parts are a number or `?`, then an errno, a `(flags ...)` or a `-y` `<fd>`
//! decoration; only a decoration holding a file name with `) = <digit>` in it could still fool
//! this, the one known limit.

use tracer_dataset::arch::errno_by_name;

/// Nanoseconds per second.
const NS_PER_S: i64 = 1_000_000_000;
/// Relative (`-r`) stamps are told from `-ttt` epoch stamps by size: anything under this many
/// seconds (1973-03-03) is relative.
const RELATIVE_LIMIT_S: i64 = 100_000_000;

/// The timestamp a line starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// `-t` / `-tt`: nanoseconds since local midnight of an unknown day.
    TimeOfDay(i64),
    /// `-ttt`: nanoseconds since the Unix epoch.
    Epoch(i64),
    /// `-r`: nanoseconds since the previous line.
    Relative(i64),
}

/// A call's return as strace printed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// A value; `-1 ENOENT (...)` is stored as the kernel returned it, `-2`, and
    /// `? ERESTARTSYS (...)` as the kernel-internal `-512`.
    Value(i64),
    /// `= ?`: the call never returned (exit, exit_group, killed).
    Unknown,
}

/// What a line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// A whole call.
    Call {
        /// Syscall name as printed.
        name: &'a str,
        /// Text between the parentheses.
        args: &'a str,
        /// Return value.
        ret: Ret,
        /// `-T` duration.
        duration_ns: Option<i64>,
    },
    /// The first half of a call: `name(args <unfinished ...>`.
    Unfinished {
        /// Syscall name.
        name: &'a str,
        /// Arguments printed so far.
        args: &'a str,
    },
    /// The second half: `<... name resumed>args) = ret`.
    Resumed {
        /// Syscall name.
        name: &'a str,
        /// The rest of the arguments.
        args: &'a str,
        /// Return value.
        ret: Ret,
        /// `-T` duration of the whole call.
        duration_ns: Option<i64>,
    },
    /// `--- SIGX {...} ---`: a signal was delivered.
    Signal {
        /// Signal name.
        signal: &'a str,
    },
    /// `+++ exited with N +++`.
    Exited {
        /// Exit status.
        code: i32,
    },
    /// `+++ killed by SIGX [(core dumped)] +++`.
    Killed {
        /// Signal name.
        signal: &'a str,
    },
    /// A line that carries no call: strace's own messages (`strace: Process N attached`),
    /// `+++ superseded by execve +++`, `--- stopped by SIGSTOP ---`, `<detached ...>`, blank.
    Note,
}

/// One parsed line, borrowing from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// The thread id of the prefix (strace prints the tid, not the tgid).
    pub tid: Option<i32>,
    /// The `-Y` command name of the prefix.
    pub comm: Option<&'a str>,
    /// The timestamp.
    pub stamp: Option<Stamp>,
    /// The rest.
    pub body: Body<'a>,
}

/// Why a line could not be parsed: what the parser expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}")]
pub struct ParseError {
    /// What was expected where the line went wrong.
    pub expected: &'static str,
}

fn fail<T>(expected: &'static str) -> Result<T, ParseError> {
    Err(ParseError { expected })
}

fn digits_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

fn skip_spaces(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i
}

/// Parses decimal digits `b[from..to]`; `None` on overflow or when empty.
fn parse_u64(b: &[u8], from: usize, to: usize) -> Option<u64> {
    if from >= to || to - from > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &b[from..to] {
        v = v * 10 + u64::from(c - b'0');
    }
    Some(v)
}

/// Parses a fraction `b[from..to]` (digits after the dot) into nanoseconds.
fn fraction_ns(b: &[u8], from: usize, to: usize) -> Option<i64> {
    let n = to - from;
    if n == 0 || n > 9 {
        return None;
    }
    let v = parse_u64(b, from, to)? as i64;
    Some(v * 10i64.pow(9 - n as u32))
}

/// Parses `[pid N<comm>] ` or `N<comm> ` at the start; returns (tid, comm, next index).
fn parse_prefix(s: &str) -> Result<(Option<i32>, Option<&str>, usize), ParseError> {
    let b = s.as_bytes();
    let (start, bracket) = if s.starts_with("[pid ") {
        (skip_spaces(b, 5), true)
    } else if b.first().is_some_and(u8::is_ascii_digit) {
        (0, false)
    } else {
        return Ok((None, None, 0));
    };
    let end = digits_end(b, start);
    match b.get(end) {
        Some(b' ' | b'<' | b']') => {}
        // Digits followed by ':' or '.' are a timestamp, not a pid.
        _ if !bracket => return Ok((None, None, 0)),
        _ => return fail("a pid number after '[pid'"),
    }
    let Some(pid) = parse_u64(b, start, end).and_then(|v| i32::try_from(v).ok()) else {
        return fail("a pid number");
    };
    let mut i = end;
    let mut comm = None;
    if b.get(i) == Some(&b'<') {
        let Some(close) = s[i..].find('>') else {
            return fail("'>' closing the -Y command name");
        };
        comm = Some(&s[i + 1..i + close]);
        i += close + 1;
    }
    if bracket {
        if b.get(i) != Some(&b']') {
            return fail("']' closing '[pid N'");
        }
        i += 1;
    }
    Ok((Some(pid), comm, skip_spaces(b, i)))
}

/// Parses a timestamp at `i` if there is one; returns it and the index after it.
fn parse_stamp(s: &str, i: usize) -> Result<(Option<Stamp>, usize), ParseError> {
    let b = s.as_bytes();
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return Ok((None, i));
    }
    let e = digits_end(b, i);
    let (stamp, mut j) = match b.get(e) {
        Some(b':') => {
            // HH:MM:SS[.f]
            let m_end = digits_end(b, e + 1);
            if b.get(m_end) != Some(&b':') {
                return fail("a time HH:MM:SS");
            }
            let s_end = digits_end(b, m_end + 1);
            let (h, m, sec) = match (
                parse_u64(b, i, e),
                parse_u64(b, e + 1, m_end),
                parse_u64(b, m_end + 1, s_end),
            ) {
                (Some(h), Some(m), Some(sec)) if h < 24 && m < 60 && sec < 61 => (h, m, sec),
                _ => return fail("a time HH:MM:SS"),
            };
            let mut ns = ((h * 60 + m) * 60 + sec) as i64 * NS_PER_S;
            let mut j = s_end;
            if b.get(j) == Some(&b'.') {
                let f_end = digits_end(b, j + 1);
                ns += fraction_ns(b, j + 1, f_end).ok_or(ParseError {
                    expected: "up to 9 fraction digits",
                })?;
                j = f_end;
            }
            (Stamp::TimeOfDay(ns), j)
        }
        Some(b'.') => {
            let f_end = digits_end(b, e + 1);
            let secs = parse_u64(b, i, e)
                .and_then(|v| i64::try_from(v).ok())
                .filter(|v| *v < i64::MAX / NS_PER_S)
                .ok_or(ParseError {
                    expected: "a timestamp in seconds",
                })?;
            let frac = fraction_ns(b, e + 1, f_end).ok_or(ParseError {
                expected: "up to 9 fraction digits",
            })?;
            let ns = secs * NS_PER_S + frac;
            let stamp = if secs < RELATIVE_LIMIT_S {
                Stamp::Relative(ns)
            } else {
                Stamp::Epoch(ns)
            };
            (stamp, f_end)
        }
        _ => return fail("a timestamp (HH:MM:SS or seconds.fraction)"),
    };
    if b.get(j) != Some(&b' ') {
        return fail("a space after the timestamp");
    }
    j = skip_spaces(b, j);
    // `-tt -r`: `(+     0.000313)` after the time of day.
    if s[j..].starts_with("(+") {
        let Some(close) = s[j..].find(')') else {
            return fail("')' closing '(+ relative)'");
        };
        j = skip_spaces(b, j + close + 1);
    }
    Ok((Some(stamp), j))
}

/// Parses `<0.000012>` at the end of a line (`-T`).
fn parse_duration(s: &str) -> Option<i64> {
    let body = s.strip_suffix('>')?;
    let open = body.rfind('<')?;
    if open == 0 || body.as_bytes()[open - 1] != b' ' {
        return None;
    }
    let b = body.as_bytes();
    let e = digits_end(b, open + 1);
    if b.get(e) != Some(&b'.') {
        return None;
    }
    let f_end = digits_end(b, e + 1);
    if f_end != b.len() {
        return None;
    }
    let secs = parse_u64(b, open + 1, e)? as i64;
    Some(secs.checked_mul(NS_PER_S)? + fraction_ns(b, e + 1, f_end)?)
}

/// Parses the text after `= `.
fn parse_ret(s: &str) -> Result<Ret, ParseError> {
    let b = s.as_bytes();
    if b.first() == Some(&b'?') {
        // `? ERESTARTSYS (To be restarted if SA_RESTART is set)`: the kernel's value.
        let name = errno_token(&s[1..]);
        return Ok(match name.and_then(errno_by_name) {
            Some(n) => Ret::Value(-n),
            None => Ret::Unknown,
        });
    }
    let (neg, start) = if b.first() == Some(&b'-') {
        (true, 1)
    } else {
        (false, 0)
    };
    let value = if s[start..].starts_with("0x") {
        let h_end = start
            + 2
            + b[start + 2..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
        if h_end == start + 2 || h_end - start - 2 > 16 {
            return fail("a hexadecimal return value");
        }
        let v = u64::from_str_radix(&s[start + 2..h_end], 16).map_err(|_| ParseError {
            expected: "a hexadecimal return value",
        })? as i64;
        if neg { v.wrapping_neg() } else { v }
    } else {
        let e = digits_end(b, start);
        let Some(v) = parse_u64(b, start, e) else {
            return fail("a return value (number or '?') after '= '");
        };
        let v = v as i64;
        if neg { v.wrapping_neg() } else { v }
    };
    let after = if s[start..].starts_with("0x") {
        start
            + 2
            + b[start + 2..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count()
    } else {
        digits_end(b, start)
    };
    if !matches!(b.get(after), None | Some(b' ' | b'<')) {
        return fail("a return value (number or '?') after '= '");
    }
    if value == -1 {
        // `-1 ENOENT (No such file or directory)`: store what the kernel returned.
        let e = after;
        if let Some(n) = errno_token(&s[e..]).and_then(errno_by_name) {
            return Ok(Ret::Value(-n));
        }
    }
    Ok(Ret::Value(value))
}

/// The errno name after a return value: ` ENOENT (` -> `ENOENT`.
fn errno_token(s: &str) -> Option<&str> {
    let t = s.strip_prefix(' ')?;
    let end = t
        .bytes()
        .position(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'))
        .unwrap_or(t.len());
    (end > 1 && t.starts_with('E')).then(|| &t[..end])
}

/// Splits `args) = ret [<dur>]` into its parts. The separator is the last ` = ` that follows a
/// `)` and is followed by a return value: a later ` = ` can only sit inside a `-y` decoration of
/// the return (`= 3</tmp/a = b>`), which never starts with a number.
fn split_return(rest: &str) -> Result<(&str, Ret, Option<i64>), ParseError> {
    let b = rest.as_bytes();
    let mut end = b.len();
    let mut first_err = None;
    while let Some(eq) = memchr::memmem::rfind(&b[..end], b" = ") {
        let head = rest[..eq].trim_end_matches(' ');
        match (head.strip_suffix(')'), parse_ret(&rest[eq + 3..])) {
            (Some(args), Ok(ret)) => return Ok((args, ret, parse_duration(rest))),
            (None, _) => {
                first_err.get_or_insert(ParseError {
                    expected: "')' closing the arguments before ' = '",
                });
            }
            (_, Err(e)) => {
                first_err.get_or_insert(e);
            }
        }
        end = eq;
    }
    Err(first_err.unwrap_or(ParseError {
        expected: "' = RET' or '<unfinished ...>' after the arguments",
    }))
}

const UNFINISHED: &str = "<unfinished ...>";

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'?'
}

/// Parses the body of a line (after prefix and timestamp).
fn parse_body(body: &str) -> Result<Body<'_>, ParseError> {
    let b = body.as_bytes();
    match b.first() {
        None => Ok(Body::Note),
        // `-k`: a stack frame of the call above, ` > /lib/libc.so.6(write+0x14) [0x10e014]`.
        Some(b'>') if body.starts_with("> ") => Ok(Body::Note),
        Some(b'+') => {
            let Some(inner) = body
                .strip_prefix("+++ ")
                .and_then(|t| t.strip_suffix(" +++"))
            else {
                return fail("'+++ ... +++'");
            };
            if let Some(code) = inner.strip_prefix("exited with ") {
                let code = code.parse::<i32>().map_err(|_| ParseError {
                    expected: "an exit status after 'exited with'",
                })?;
                Ok(Body::Exited { code })
            } else if let Some(sig) = inner.strip_prefix("killed by ") {
                let end = sig.find(' ').unwrap_or(sig.len());
                Ok(Body::Killed {
                    signal: &sig[..end],
                })
            } else {
                Ok(Body::Note)
            }
        }
        Some(b'-') => {
            let Some(inner) = body.strip_prefix("--- ") else {
                return fail("'--- SIGNAL ... ---'");
            };
            if !body.ends_with(" ---") {
                return fail("' ---' ending a signal line");
            }
            if inner.starts_with("SIG") {
                let end = inner.find(' ').unwrap_or(inner.len());
                Ok(Body::Signal {
                    signal: &inner[..end],
                })
            } else {
                Ok(Body::Note)
            }
        }
        Some(b'<') => {
            let Some(after) = body.strip_prefix("<... ") else {
                return if body.starts_with("<detached") {
                    Ok(Body::Note)
                } else {
                    fail("'<... NAME resumed>'")
                };
            };
            let Some(r) = after.find(" resumed>") else {
                return fail("' resumed>' after '<... NAME'");
            };
            let name = &after[..r];
            if name.is_empty() || !name.bytes().all(is_name_byte) {
                return fail("a syscall name after '<...'");
            }
            let rest = &after[r + " resumed>".len()..];
            let (args, ret, duration_ns) = split_return(rest)?;
            Ok(Body::Resumed {
                name,
                args,
                ret,
                duration_ns,
            })
        }
        Some(_) if body.starts_with("strace: ") => Ok(Body::Note),
        Some(c) if is_name_byte(*c) => {
            let end = b.iter().position(|c| !is_name_byte(*c)).unwrap_or(b.len());
            if b.get(end) != Some(&b'(') {
                return fail("'(' after the syscall name");
            }
            let name = &body[..end];
            let rest = &body[end + 1..];
            let trimmed = rest.trim_end_matches(' ');
            if let Some(args) = trimmed.strip_suffix(UNFINISHED) {
                return Ok(Body::Unfinished {
                    name,
                    args: args.trim_end_matches(' '),
                });
            }
            let (args, ret, duration_ns) = split_return(rest)?;
            Ok(Body::Call {
                name,
                args,
                ret,
                duration_ns,
            })
        }
        Some(_) => fail("a syscall name, '<... NAME resumed>', '--- SIGNAL' or '+++'"),
    }
}

/// Skips `-n` syscall numbers `[  59] ` and `-i` instruction pointers `[00007f943c3acad7] `
/// (`[????????????????]` where strace could not read it).
fn skip_brackets(mut body: &str) -> &str {
    while let Some(rest) = body.strip_prefix('[') {
        let Some(close) = rest.find(']') else { break };
        let inner = &rest[..close];
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|c| c == b' ' || c == b'?' || c.is_ascii_hexdigit())
        {
            break;
        }
        body = rest[close + 1..].trim_start_matches(' ');
    }
    body
}

/// Parses one line (without its newline).
pub fn parse_line(line: &str) -> Result<Line<'_>, ParseError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (tid, comm, i) = parse_prefix(line)?;
    let i = skip_spaces(line.as_bytes(), i);
    let (stamp, i) = parse_stamp(line, i)?;
    let body = parse_body(skip_brackets(&line[i..]))?;
    Ok(Line {
        tid,
        comm,
        stamp,
        body,
    })
}

/// Parses the last line of a log that was cut short while strace was still writing it: when the
/// line is not whole but starts a call (`name(args...`), that call is taken as unfinished (its
/// entry is known, its return is not). `None` when not even that much is there.
pub fn parse_cut_line(line: &str) -> Option<Line<'_>> {
    let (tid, comm, i) = parse_prefix(line).ok()?;
    let i = skip_spaces(line.as_bytes(), i);
    let (stamp, i) = parse_stamp(line, i).ok()?;
    let body = &line[i..];
    let open = body.find('(')?;
    let name = &body[..open];
    if name.is_empty() || !name.bytes().all(is_name_byte) {
        return None;
    }
    Some(Line {
        tid,
        comm,
        stamp,
        body: Body::Unfinished {
            name,
            args: body[open + 1..].trim_end_matches(' '),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(line: &str) -> (Option<i32>, Option<Stamp>, &str, &str, Ret, Option<i64>) {
        let l = parse_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        match l.body {
            Body::Call {
                name,
                args,
                ret,
                duration_ns,
            } => (l.tid, l.stamp, name, args, ret, duration_ns),
            other => panic!("{line}: not a call: {other:?}"),
        }
    }

    #[test]
    fn plain_call_with_padding() {
        let (tid, stamp, name, args, ret, d) =
            call("brk(NULL)                      = 0x5604ed3e6000");
        assert_eq!(
            (tid, stamp, name, args, d),
            (None, None, "brk", "NULL", None)
        );
        assert_eq!(ret, Ret::Value(0x5604ed3e6000));
    }

    #[test]
    fn errno_and_restart_values() {
        let (.., ret, _) =
            call(r#"access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)"#);
        assert_eq!(ret, Ret::Value(-2));
        let (.., ret, _) =
            call("read(0, 0x7ffd, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
        assert_eq!(ret, Ret::Value(-512));
        let (.., ret, _) = call("exit_group(0)                           = ?");
        assert_eq!(ret, Ret::Unknown);
        let (.., ret, _) = call("lseek(3, -5, SEEK_END) = -22");
        assert_eq!(ret, Ret::Value(-22));
    }

    #[test]
    fn prefixes_and_stamps() {
        let (tid, stamp, name, ..) = call("[pid  7566] set_robust_list(0x7fbe0b7b9a20, 24) = 0");
        assert_eq!((tid, stamp, name), (Some(7566), None, "set_robust_list"));
        let (tid, stamp, ..) = call(
            "7543  13:44:57.649731 (+     0.000000) execve(\"/bin/true\", [\"/bin/true\"], 0x7ffd /* 39 vars */) = 0",
        );
        assert_eq!(tid, Some(7543));
        assert_eq!(
            stamp,
            Some(Stamp::TimeOfDay(
                ((13 * 60 + 44) * 60 + 57) * NS_PER_S + 649_731_000
            ))
        );
        let (tid, stamp, ..) = call("7543       0.000403 brk(NULL) = 0x1");
        assert_eq!((tid, stamp), (Some(7543), Some(Stamp::Relative(403_000))));
        let (tid, stamp, ..) = call("     0.000403 brk(NULL) = 0x1");
        assert_eq!((tid, stamp), (None, Some(Stamp::Relative(403_000))));
        let (tid, stamp, .., d) =
            call("1795700697.656925 brk(NULL)             = 0x559f517d6000 <0.000007>");
        assert_eq!(
            (tid, stamp, d),
            (
                None,
                Some(Stamp::Epoch(1_795_700_697_656_925_000)),
                Some(7_000)
            )
        );
        let (_, stamp, ..) = call("13:45:01 brk(NULL) = 0x1");
        assert_eq!(
            stamp,
            Some(Stamp::TimeOfDay(((13 * 60 + 45) * 60 + 1) * NS_PER_S))
        );
        let l = parse_line("7656<sh> getpid() = 7665<sh>").unwrap();
        assert_eq!((l.tid, l.comm), (Some(7656), Some("sh")));
        let l = parse_line("[pid  7666<my prog>] getppid() = 1").unwrap();
        assert_eq!((l.tid, l.comm), (Some(7666), Some("my prog")));
    }

    #[test]
    fn tricky_arguments() {
        let (.., name, args, ret, _) = call(r#"write(1, "x) = 5 \"(...)\" = ?\n", 17) = 17"#);
        assert_eq!((name, ret), ("write", Ret::Value(17)));
        assert_eq!(args, r#"1, "x) = 5 \"(...)\" = ?\n", 17"#);
        let (.., args, ret, d) = call(
            "openat(-100 /* AT_FDCWD */</tmp/st>, \"/etc/ld.so.cache\", 0x80000 /* O_RDONLY|O_CLOEXEC */) = 3</etc/ld.so.cache> <0.000008>",
        );
        assert!(args.starts_with("-100 /* AT_FDCWD */</tmp/st>"));
        assert_eq!((ret, d), (Ret::Value(3), Some(8_000)));
        let (.., ret, _) = call("fcntl(3, F_GETFL) = 0x8000 (flags O_RDONLY|O_LARGEFILE)");
        assert_eq!(ret, Ret::Value(0x8000));
        let (.., args, ret, d) =
            call(r#"openat(AT_FDCWD, "/t/a (1) = x", O_RDONLY) = 3</t/a (1) = x> <0.000002>"#);
        assert_eq!(
            (args, ret, d),
            (
                r#"AT_FDCWD, "/t/a (1) = x", O_RDONLY"#,
                Ret::Value(3),
                Some(2_000)
            )
        );
    }

    #[test]
    fn unfinished_resumed_and_events() {
        let l = parse_line("[pid  7565] wait4(-1,  <unfinished ...>").unwrap();
        assert_eq!(
            l.body,
            Body::Unfinished {
                name: "wait4",
                args: "-1,"
            }
        );
        let l = parse_line("7565  <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 7566 <0.000732>").unwrap();
        assert_eq!(
            l.body,
            Body::Resumed {
                name: "wait4",
                args: "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL",
                ret: Ret::Value(7566),
                duration_ns: Some(732_000)
            }
        );
        assert_eq!(
            parse_line("+++ exited with 3 +++").unwrap().body,
            Body::Exited { code: 3 }
        );
        assert_eq!(
            parse_line("7 +++ killed by SIGSEGV (core dumped) +++")
                .unwrap()
                .body,
            Body::Killed { signal: "SIGSEGV" }
        );
        assert_eq!(
            parse_line("--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=7566} ---")
                .unwrap()
                .body,
            Body::Signal { signal: "SIGCHLD" }
        );
        assert_eq!(
            parse_line("strace: Process 7566 attached").unwrap().body,
            Body::Note
        );
        let (.., name, args, _, _) =
            call("restart_syscall(<... resuming interrupted clock_nanosleep ...>) = 0");
        assert_eq!(
            (name, args),
            (
                "restart_syscall",
                "<... resuming interrupted clock_nanosleep ...>"
            )
        );
    }

    #[test]
    fn syscall_numbers_instruction_pointers_and_stack_frames() {
        let (tid, _, name, _, ret, _) =
            call("21068 14:15:17.278629 [  12] [00007f5050a26c47] brk(NULL) = 0x5633d4e40000");
        assert_eq!(
            (tid, name, ret),
            (Some(21068), "brk", Ret::Value(0x5633d4e40000))
        );
        assert_eq!(
            parse_line(" > /usr/lib/x86_64-linux-gnu/libc.so.6(write+0x14) [0x10e014]")
                .unwrap()
                .body,
            Body::Note
        );
    }

    #[test]
    fn malformed_lines_say_what_was_expected() {
        assert_eq!(
            parse_line("brk(NULL").unwrap_err().expected,
            "' = RET' or '<unfinished ...>' after the arguments"
        );
        assert_eq!(
            parse_line("brk NULL) = 0").unwrap_err().expected,
            "'(' after the syscall name"
        );
        assert_eq!(
            parse_line("brk(NULL) = zz").unwrap_err().expected,
            "a return value (number or '?') after '= '"
        );
        assert_eq!(
            parse_line("[pid x] brk() = 0").unwrap_err().expected,
            "a pid number after '[pid'"
        );
        assert!(parse_line("12:61:00 brk() = 0").is_err());
        assert!(parse_line("+++ exited with x +++").is_err());
        assert!(parse_line("%%%").is_err());
    }

    #[test]
    fn cut_lines_become_unfinished_calls() {
        let l = parse_cut_line("123 1795700697.656925 read(3, \"ab").unwrap();
        assert_eq!(l.tid, Some(123));
        assert_eq!(
            l.body,
            Body::Unfinished {
                name: "read",
                args: "3, \"ab"
            }
        );
        assert!(parse_cut_line("123 1795700697.65").is_none());
        assert!(parse_cut_line("<... read resum").is_none());
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::{parse_cut_line, parse_line};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Any text at all: the parser returns, it never panics.
        #[test]
        fn never_panics_on_arbitrary_text(s in "\\PC*") {
            let _ = parse_line(&s);
            let _ = parse_cut_line(&s);
        }

        /// Text built from strace's own pieces, where slicing mistakes would show.
        #[test]
        fn never_panics_on_strace_like_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("[pid "), Just("123"), Just(" "), Just("<"), Just(">"), Just("("), Just(")"),
                    Just(" = "), Just("?"), Just("-1 ENOENT (x)"), Just("0x"), Just("\""), Just("\\"),
                    Just("<unfinished ...>"), Just("<... read resumed>"), Just("+++ "), Just(" +++"),
                    Just("--- "), Just(" ---"), Just("12:34:56.789"), Just("1700000000.123456"),
                    Just("."), Just(":"), Just("read"), Just("é"), Just("<0.000001>"), Just("(+ 0.1)"),
                ],
                0..24,
            )
        ) {
            let s: String = parts.concat();
            let _ = parse_line(&s);
            let _ = parse_cut_line(&s);
        }
    }
}
