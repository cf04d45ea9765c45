//! Reading strace's rendering of a call's arguments: splitting them at top-level commas, the
//! numeric value of each (for the `args` column), the first path argument, execve's argv and
//! clone's `CLONE_THREAD` flag.
//!
//! `args` holds an argument's value only where strace printed it as a number: decimal, hex,
//! octal (`0644`), negative (two's complement), the number before a `-X verbose` comment, the fd
//! of a `-y` decoration (`3</etc/passwd>`), `NULL` (0) and `AT_FDCWD` (-100). An argument strace
//! decoded into a string, a structure or flag names is 0: the column is a fixed list of six
//! registers and its items cannot be null. Under `-X raw` every argument is numeric.

use std::borrow::Cow;

/// Longest path kept, in bytes (docs/DESIGN.md: at most 255).
pub const PATH_MAX_BYTES: usize = 255;

/// `CLONE_THREAD` from `<linux/sched.h>`.
const CLONE_THREAD: u64 = 0x0001_0000;

/// Calls `f(index, text)` for each top-level argument (trimmed), at most `limit` of them.
pub fn for_each_arg<'a>(args: &'a str, limit: usize, mut f: impl FnMut(usize, &'a str)) {
    let b = args.as_bytes();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut start = 0;
    let mut idx = 0;
    let mut i = 0;
    while i < b.len() && idx < limit {
        let c = b[i];
        if in_str {
            // Jump to the next quote or backslash: strings are most of the text.
            match memchr::memchr2(b'"', b'\\', &b[i..]) {
                Some(n) if b[i + n] == b'\\' => i += n + 1,
                Some(n) => {
                    i += n;
                    in_str = false;
                }
                None => break,
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth <= 0 => {
                    f(idx, args[start..i].trim());
                    idx += 1;
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    if idx < limit && start <= b.len() {
        let last = args.get(start..).unwrap_or("").trim();
        if !last.is_empty() {
            f(idx, last);
        }
    }
}

/// The value of an argument strace printed as a number (see the module doc).
pub fn numeric(arg: &str) -> Option<u64> {
    let b = arg.as_bytes();
    match b.first()? {
        b'-' | b'0'..=b'9' => {}
        _ => {
            // A name, perhaps decorated by -y: `AT_FDCWD</tmp>`.
            let name = arg.split(['<', ' ']).next().unwrap_or(arg);
            return match name {
                "NULL" => Some(0),
                "AT_FDCWD" => Some(-100i64 as u64),
                _ => None,
            };
        }
    }
    let (neg, body) = match arg.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, arg),
    };
    let v = if let Some(hex) = body.strip_prefix("0x") {
        let end = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
        u64::from_str_radix(&hex[..end], 16).ok()?
    } else {
        let end = body.bytes().take_while(u8::is_ascii_digit).count();
        let digits = &body[..end];
        // A digit directly followed by a letter or '.' is not a plain number (e.g. `1.5`).
        if body[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.') {
            return None;
        }
        if digits.len() > 1 && digits.starts_with('0') {
            u64::from_str_radix(digits, 8).ok()?
        } else {
            digits.parse::<u64>().ok()?
        }
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The six argument registers as far as strace printed them as numbers.
pub fn numeric_args(args: &str) -> [u64; 6] {
    let mut out = [0u64; 6];
    for_each_arg(args, 6, |i, a| {
        if let Some(v) = numeric(a) {
            out[i] = v;
        }
    });
    out
}

/// Decodes a quoted strace string at the start of `arg` (`"..."`, with C escapes and `\ooo` /
/// `\xNN`), cut to `PATH_MAX_BYTES` at a character boundary. `None` if `arg` is not a string.
pub fn unquote(arg: &str) -> Option<Cow<'_, str>> {
    let body = arg.strip_prefix('"')?;
    let b = body.as_bytes();
    let close = {
        let mut i = 0;
        loop {
            match b.get(i)? {
                b'\\' => i += 2,
                b'"' => break i,
                _ => i += 1,
            }
        }
    };
    let raw = &body[..close];
    let s = if raw.contains('\\') {
        Cow::Owned(unescape(raw))
    } else {
        Cow::Borrowed(raw)
    };
    Some(truncate(s))
}

fn truncate(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.len() <= PATH_MAX_BYTES {
        return s;
    }
    let mut end = PATH_MAX_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(&b[..end]),
        Cow::Owned(mut o) => {
            o.truncate(end);
            Cow::Owned(o)
        }
    }
}

fn unescape(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'x' => {
                let end = (i..b.len().min(i + 2))
                    .take_while(|&j| b[j].is_ascii_hexdigit())
                    .last()
                    .map_or(i, |j| j + 1);
                match u8::from_str_radix(&raw[i..end], 16) {
                    Ok(v) => out.push(v),
                    Err(_) => out.extend_from_slice(b"\\x"),
                }
                i = end;
            }
            b'0'..=b'7' => {
                let mut v: u32 = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path argument at `index` of `args`, decoded.
pub fn path_at(args: &str, index: u8) -> Option<Cow<'_, str>> {
    let mut found = None;
    for_each_arg(args, usize::from(index) + 1, |i, a| {
        if i == usize::from(index) {
            found = Some(a);
        }
    });
    unquote(found?)
}

/// The strings of a `["a", "b"...]` list (execve's argv), each decoded; a string strace cut
/// short (`"abc"...`) is kept as printed.
pub fn string_list(arg: &str) -> Option<Vec<String>> {
    let inner = arg.strip_prefix('[')?;
    let inner = inner.rfind(']').map_or(inner, |e| &inner[..e]);
    let mut out = Vec::new();
    for_each_arg(inner, usize::MAX, |_, a| {
        if let Some(s) = unquote(a) {
            out.push(s.into_owned());
        }
    });
    Some(out)
}

/// Whether a clone/clone3 call with these arguments creates a thread (`CLONE_THREAD`).
pub fn creates_thread(name: &str, args: &str) -> bool {
    if !name.starts_with("clone") {
        return false;
    }
    if args.contains("CLONE_THREAD") {
        return true;
    }
    // `-X raw`: flags as a number, positional for clone (x86_64 order), `flags=0x...` for clone3.
    if let Some(p) = args.find("flags=") {
        return numeric(&args[p + 6..]).is_some_and(|f| f & CLONE_THREAD != 0);
    }
    let mut first = 0;
    for_each_arg(args, 1, |_, a| first = numeric(a).unwrap_or(0));
    name == "clone" && first & CLONE_THREAD != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_only() {
        let mut parts = Vec::new();
        for_each_arg(
            r#"3, "a, \"b\", (c", {x=1, y=[2, 3]}, 0x10 /* O_X */"#,
            6,
            |i, a| parts.push((i, a.to_string())),
        );
        assert_eq!(
            parts,
            vec![
                (0, "3".to_string()),
                (1, r#""a, \"b\", (c""#.to_string()),
                (2, "{x=1, y=[2, 3]}".to_string()),
                (3, "0x10 /* O_X */".to_string())
            ]
        );
    }

    #[test]
    fn numbers_in_every_rendering() {
        assert_eq!(numeric("3</etc/passwd>"), Some(3));
        assert_eq!(numeric("-100 /* AT_FDCWD */</tmp>"), Some(-100i64 as u64));
        assert_eq!(numeric("0x3 /* PROT_READ|PROT_WRITE */"), Some(3));
        assert_eq!(numeric("0644"), Some(0o644));
        assert_eq!(numeric("AT_FDCWD"), Some(-100i64 as u64));
        assert_eq!(numeric("AT_FDCWD</tmp/x>"), Some(-100i64 as u64));
        assert_eq!(numeric("NULL"), Some(0));
        assert_eq!(numeric("O_RDONLY"), None);
        assert_eq!(numeric("\"abc\""), None);
        assert_eq!(numeric("1.5"), None);
        assert_eq!(
            numeric_args("AT_FDCWD, \"/x\", O_RDONLY, 0"),
            [-100i64 as u64, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn paths_are_unescaped_and_cut() {
        assert_eq!(
            path_at(r#"AT_FDCWD, "/tmp/a\"b\\c\n\303\251", O_RDONLY"#, 1).as_deref(),
            Some("/tmp/a\"b\\c\né")
        );
        assert_eq!(
            path_at(r#""/bin/true", ["true"], 0x7ff /* 3 vars */"#, 0).as_deref(),
            Some("/bin/true")
        );
        assert_eq!(path_at("3, NULL", 1), None);
        let long = format!("\"{}\"", "a".repeat(300));
        assert_eq!(path_at(&long, 0).map(|p| p.len()), Some(PATH_MAX_BYTES));
    }

    #[test]
    fn argv_and_clone_flags() {
        assert_eq!(
            string_list(r#"["sh", "-c", "echo \"hi\""...]"#),
            Some(vec!["sh".into(), "-c".into(), "echo \"hi\"".into()])
        );
        assert!(creates_thread(
            "clone3",
            "{flags=CLONE_VM|CLONE_THREAD|CLONE_SYSVSEM, child_tid=0x1}, 88"
        ));
        assert!(!creates_thread(
            "clone",
            "child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD"
        ));
        assert!(creates_thread("clone", "0x3d0f00, 0x7f00"));
        assert!(!creates_thread("fork", ""));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::{creates_thread, numeric_args, path_at, string_list, unquote};

    proptest! {
        /// The argument helpers return on any text.
        #[test]
        fn never_panic(s in "\\PC*", i in 0u8..6) {
            let _ = numeric_args(&s);
            let _ = path_at(&s, i);
            let _ = unquote(&s);
            let _ = string_list(&s);
            let _ = creates_thread("clone", &s);
        }
    }
}
