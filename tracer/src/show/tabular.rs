//! `--format csv` and `--format jsonl`: one row per call with the columns of the `syscalls`
//! table and the decoded strace text (`text`), for spreadsheets, pandas and jq. Nulls are
//! empty CSV fields and JSON `null`; `ts_ns` is an integer of nanoseconds since the epoch
//! (UTC), `args` the six registers as a list (`[1,2,3,4,5,6]`).

use std::fmt::Write as _;

use tracer_dataset::{SyscallRow, col, stream::SyscallBatch};

/// The columns, in the order of the Parquet file, then `text`.
pub const COLUMNS: [&str; 22] = [
    col::RUN_ID,
    col::SOURCE,
    col::SCENARIO,
    col::MODE,
    col::SEQ,
    col::TS_NS,
    col::DURATION_NS,
    col::PID,
    col::TID,
    col::COMM,
    col::SYSCALL,
    col::NR,
    col::ARGS,
    col::RET,
    col::PATH,
    col::ABI,
    col::PATH2,
    col::SOCK_FAMILY,
    col::SOCK_ADDR,
    col::SOCK_PORT,
    col::MARKS,
    TEXT,
];

/// The column of the decoded call.
pub const TEXT: &str = "text";

/// The output format of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// RFC 4180 CSV with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// One field's value.
enum Field<'a> {
    Str(Option<&'a str>),
    Int(Option<i64>),
    Uint(u64),
    Args(Option<[u64; 6]>),
}

/// The header line (CSV only; JSON Lines has none).
pub fn header(out: &mut String, table: Table) {
    if table == Table::Csv {
        out.push_str(&COLUMNS.join(","));
        out.push('\n');
    }
}

/// Appends row `i` of `batch` (`row`, already read) with its decoded `text`.
pub fn row(
    out: &mut String,
    table: Table,
    batch: &SyscallBatch,
    i: usize,
    row: &SyscallRow<'_>,
    text: &str,
) {
    let extra = batch.extra(i);
    // The marks as one field, `|`-separated in bit order (`schema::mark::NAMES`).
    let marks: String = tracer_dataset::schema::mark::NAMES
        .iter()
        .filter(|(bit, _)| extra.marks & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join("|");
    let fields = [
        Field::Str(Some(batch.run_id(i))),
        Field::Str(Some(batch.source(i))),
        Field::Str(batch.scenario(i)),
        Field::Str(batch.mode(i)),
        Field::Uint(row.seq),
        Field::Int(row.ts_ns),
        Field::Int(row.duration_ns),
        Field::Int(Some(i64::from(row.pid))),
        Field::Int(Some(i64::from(row.tid))),
        Field::Str(row.comm),
        Field::Str((!row.syscall.is_empty()).then_some(row.syscall)),
        Field::Int(Some(i64::from(row.nr))),
        Field::Args(row.args),
        Field::Int(row.ret),
        Field::Str(row.path),
        Field::Str(extra.abi),
        Field::Str(extra.path2),
        Field::Str(extra.sock_family),
        Field::Str(extra.sock_addr),
        Field::Int(extra.sock_port.map(i64::from)),
        Field::Str((!marks.is_empty()).then_some(marks.as_str())),
        Field::Str(Some(text)),
    ];
    match table {
        Table::Csv => {
            for (k, f) in fields.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                csv_field(out, f);
            }
        }
        Table::Jsonl => {
            out.push('{');
            for (k, (name, f)) in COLUMNS.iter().zip(&fields).enumerate() {
                if k > 0 {
                    out.push(',');
                }
                json_string(out, name);
                out.push(':');
                json_field(out, f);
            }
            out.push('}');
        }
    }
    out.push('\n');
}

fn args_list(out: &mut String, a: &[u64; 6]) {
    out.push('[');
    for (k, v) in a.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let _ = write!(out, "{v}");
    }
    out.push(']');
}

/// A CSV field: empty for null; quoted when it holds a comma, quote, CR or LF, or is an empty
/// string (so readers can tell it from null), with quotes doubled (RFC 4180).
fn csv_field(out: &mut String, f: &Field<'_>) {
    match f {
        Field::Str(None) | Field::Int(None) | Field::Args(None) => {}
        Field::Str(Some(s)) => {
            if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
                out.push('"');
                for c in s.chars() {
                    if c == '"' {
                        out.push('"');
                    }
                    out.push(c);
                }
                out.push('"');
            } else {
                out.push_str(s);
            }
        }
        Field::Int(Some(v)) => {
            let _ = write!(out, "{v}");
        }
        Field::Uint(v) => {
            let _ = write!(out, "{v}");
        }
        Field::Args(Some(a)) => {
            out.push('"');
            args_list(out, a);
            out.push('"');
        }
    }
}

fn json_field(out: &mut String, f: &Field<'_>) {
    match f {
        Field::Str(None) | Field::Int(None) | Field::Args(None) => out.push_str("null"),
        Field::Str(Some(s)) => json_string(out, s),
        Field::Int(Some(v)) => {
            let _ = write!(out, "{v}");
        }
        Field::Uint(v) => {
            let _ = write!(out, "{v}");
        }
        Field::Args(Some(a)) => args_list(out, a),
    }
}

/// A JSON string (RFC 8259): quotes, backslashes and control characters escaped.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(f: Field<'_>) -> String {
        let mut out = String::new();
        csv_field(&mut out, &f);
        out
    }

    fn json(f: Field<'_>) -> String {
        let mut out = String::new();
        json_field(&mut out, &f);
        out
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv(Field::Str(Some("plain"))), "plain");
        assert_eq!(csv(Field::Str(None)), "");
        assert_eq!(csv(Field::Str(Some(""))), "\"\"");
        assert_eq!(
            csv(Field::Str(Some("openat(AT_FDCWD, \"/x\", O_RDONLY) = 3"))),
            "\"openat(AT_FDCWD, \"\"/x\"\", O_RDONLY) = 3\""
        );
        assert_eq!(csv(Field::Str(Some("a\nb"))), "\"a\nb\"");
        assert_eq!(csv(Field::Int(Some(-2))), "-2");
        assert_eq!(
            csv(Field::Args(Some([1, 2, 3, 4, 5, u64::MAX]))),
            "\"[1,2,3,4,5,18446744073709551615]\""
        );
    }

    #[test]
    fn json_values() {
        assert_eq!(json(Field::Str(None)), "null");
        assert_eq!(
            json(Field::Str(Some("a\"b\\\u{1}"))),
            "\"a\\\"b\\\\\\u0001\""
        );
        assert_eq!(json(Field::Args(Some([0, 1, 2, 3, 4, 5]))), "[0,1,2,3,4,5]");
        assert_eq!(json(Field::Uint(7)), "7");
    }
}
