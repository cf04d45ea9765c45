//! Decoding one ring-buffer record (the bytes the eBPF programs wrote, `tracer-common`'s ABI)
//! into a typed [`Record`]. Each record arrives with its own length (see `drain::Batch`), so
//! an unknown kind or a short record is an error for that record alone: the caller counts it
//! and goes on with the next.

use std::borrow::Cow;

use tracer_common::{
    DATA_NONE, DATA_SLOT_BYTES, ExecEvent, ExitEvent, FLAG_FORK_UNFOLLOWED, FLAG_PATH_FAULT,
    ForkEvent, GapEvent, KIND_ENTRY_DATA, KIND_EXEC, KIND_EXIT, KIND_FORK, KIND_GAP, KIND_SYSCALL,
    KIND_SYSCALL_DATA, KIND_SYSCALL_PATH, SyscallDataHead, SyscallEvent, SyscallPathEvent,
};

/// One decoded record.
#[derive(Clone, Debug)]
pub enum Record<'a> {
    /// A syscall that returned (`KIND_SYSCALL`).
    Syscall(SyscallEvent),
    /// A syscall that returned, with its first path argument (`KIND_SYSCALL_PATH`).
    SyscallPath {
        /// The call.
        call: SyscallEvent,
        /// The path, up to its NUL (invalid UTF-8 replaced); `None` when reading it faulted.
        path: Option<Cow<'a, str>>,
    },
    /// A syscall that returned, with the user memory its arguments point at
    /// (`KIND_SYSCALL_DATA`).
    SyscallData {
        /// The call.
        call: SyscallEvent,
        /// Its two slots: first path or socket address, second path.
        slots: [Slot<'a>; 2],
    },
    /// What a call's arguments pointed at, read at its entry (`KIND_ENTRY_DATA`); its exit
    /// record follows with `FLAG_ENTRY_DATA`.
    EntryData {
        /// The call at entry (`ret` 0).
        call: SyscallEvent,
        /// Its slots, as in `SyscallData`.
        slots: [Slot<'a>; 2],
    },
    /// A new process or thread (`KIND_FORK`).
    Fork(ForkRecord),
    /// A new program image (`KIND_EXEC`).
    Exec(ExecRecord),
    /// A thread exited (`KIND_EXIT`).
    Exit(ExitEvent),
    /// Records of one CPU were lost here (`KIND_GAP`).
    Gap(GapEvent),
}

/// One slot of a data record, borrowed from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot<'a> {
    /// `DATA_NONE`, `DATA_PATH`, `DATA_SOCKADDR`.
    pub what: u16,
    /// `DATA_FAULT`, `DATA_CUT`, `DATA_NULL` bits.
    pub status: u16,
    /// The bytes read (a path without its NUL).
    pub bytes: &'a [u8],
}

/// A `ForkEvent` with its name decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkRecord {
    /// `CLOCK_MONOTONIC` ns.
    pub ts_ns: u64,
    /// The caller's process id (the task that ran fork/clone).
    pub parent_tgid: u32,
    /// The child's real parent's process id: the caller's own parent under `CLONE_PARENT`.
    pub real_parent_tgid: u32,
    /// Whether the new process is followed (`false`: the kernel's filter was full, it runs
    /// untraced).
    pub followed: bool,
    /// The child's process id (the parent's for a new thread).
    pub child_tgid: u32,
    /// The child's thread id.
    pub child_tid: u32,
    /// The parent's command name, which the child inherits.
    pub comm: String,
}

/// An `ExecEvent` with its strings decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecRecord {
    /// `CLOCK_MONOTONIC` ns.
    pub ts_ns: u64,
    /// Process id.
    pub tgid: u32,
    /// Thread id after the exec (a non-leader thread that execs takes the leader's id).
    pub tid: u32,
    /// Thread id before the exec.
    pub old_tid: u32,
    /// The new command name.
    pub comm: String,
    /// The executed file as the kernel resolved it.
    pub filename: String,
    /// The new program's arguments (truncated with the kernel record).
    pub argv: Vec<String>,
}

/// Why a record could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The kind is none of `tracer-common`'s.
    #[error("unknown record kind {kind}")]
    UnknownKind {
        /// The kind read.
        kind: u32,
    },
    /// The record is shorter than its kind's struct (or than the kind itself).
    #[error("record of {len} bytes is shorter than the {need} its kind needs")]
    Short {
        /// Its length.
        len: usize,
        /// The length its kind needs.
        need: usize,
    },
}

/// Decodes one record.
#[inline]
pub fn decode(record: &[u8]) -> Result<Record<'_>, DecodeError> {
    let Some(kind) = record.first_chunk::<4>().map(|b| u32::from_ne_bytes(*b)) else {
        return Err(DecodeError::Short {
            len: record.len(),
            need: 4,
        });
    };
    match kind {
        KIND_SYSCALL => Ok(Record::Syscall(read(record)?)),
        KIND_SYSCALL_PATH => syscall_path(record),
        KIND_SYSCALL_DATA => syscall_data(record),
        KIND_ENTRY_DATA => match syscall_data(record)? {
            Record::SyscallData { call, slots } => Ok(Record::EntryData { call, slots }),
            other => Ok(other),
        },
        KIND_FORK => Ok(Record::Fork(fork(&read(record)?))),
        KIND_EXEC => Ok(Record::Exec(exec(&read(record)?))),
        KIND_EXIT => Ok(Record::Exit(read(record)?)),
        KIND_GAP => Ok(Record::Gap(read(record)?)),
        kind => Err(DecodeError::UnknownKind { kind }),
    }
}

/// Reads a `T` from the start of `record`, if it is long enough.
#[inline]
fn read<T: aya::Pod>(record: &[u8]) -> Result<T, DecodeError> {
    let need = std::mem::size_of::<T>();
    if record.len() < need {
        return Err(DecodeError::Short {
            len: record.len(),
            need,
        });
    }
    // SAFETY: length checked; `aya::Pod` types (tracer-common's records) are valid for any bit
    // pattern; the read is unaligned.
    Ok(unsafe { std::ptr::read_unaligned(record.as_ptr().cast::<T>()) })
}

/// The call and its path, borrowed from the record (no copy of the path buffer).
fn syscall_path(record: &[u8]) -> Result<Record<'_>, DecodeError> {
    let need = std::mem::size_of::<SyscallPathEvent>();
    if record.len() < need {
        return Err(DecodeError::Short {
            len: record.len(),
            need,
        });
    }
    let call: SyscallEvent = read(record)?;
    let path = (call.flags & FLAG_PATH_FAULT == 0).then(|| {
        let bytes = &record[std::mem::size_of::<SyscallEvent>()..need];
        text(&bytes[..(call.path_len as usize).min(bytes.len())])
    });
    Ok(Record::SyscallPath { call, path })
}

/// The call and its slots, borrowed from the record. Slot 0's bytes follow the head; slot 1's
/// start `DATA_SLOT_BYTES` after them. A slot that claims more bytes than the record holds is
/// an error for the record.
fn syscall_data(record: &[u8]) -> Result<Record<'_>, DecodeError> {
    let head: SyscallDataHead = read(record)?;
    let start = std::mem::size_of::<SyscallDataHead>();
    let mut slots = [Slot::default(); 2];
    for (i, slot) in slots.iter_mut().enumerate() {
        if head.what[i] == DATA_NONE {
            continue;
        }
        let at = start + i * DATA_SLOT_BYTES;
        let end = at + head.len[i] as usize;
        let bytes = record.get(at..end).ok_or(DecodeError::Short {
            len: record.len(),
            need: end,
        })?;
        *slot = Slot {
            what: head.what[i],
            status: head.status[i],
            bytes,
        };
    }
    Ok(Record::SyscallData {
        call: head.event,
        slots,
    })
}

fn fork(e: &ForkEvent) -> ForkRecord {
    ForkRecord {
        ts_ns: e.ts_ns,
        parent_tgid: e.parent_tgid,
        real_parent_tgid: e.real_parent_tgid,
        followed: e.flags & FLAG_FORK_UNFOLLOWED == 0,
        child_tgid: e.child_tgid,
        child_tid: e.child_tid,
        comm: text(&e.comm).into_owned(),
    }
}

fn exec(e: &ExecEvent) -> ExecRecord {
    let filename_len = (e.filename_len as usize).min(e.filename.len());
    let argv_len = (e.argv_len as usize).min(e.argv.len());
    let mut argv: Vec<String> = e.argv[..argv_len]
        .split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    if argv.last().is_some_and(String::is_empty) {
        argv.pop();
    }
    ExecRecord {
        ts_ns: e.ts_ns,
        tgid: e.tgid,
        tid: e.tid,
        old_tid: e.old_tid,
        comm: text(&e.comm).into_owned(),
        filename: text(&e.filename[..filename_len]).into_owned(),
        argv,
    }
}

/// A C string's text: the bytes up to the first NUL, invalid UTF-8 replaced.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::testing::{
        bytes, exec_event, fork_event, gap_event, path_event, syscall_event,
    };

    #[test]
    fn decodes_every_kind() {
        let call = syscall_event(10, 11, 39, 10);
        match decode(bytes(&call)) {
            Ok(Record::Syscall(e)) => assert_eq!((e.tgid, e.tid, e.nr, e.ret), (10, 11, 39, 10)),
            other => panic!("a syscall record: {other:?}"),
        }
        match decode(bytes(&path_event(10, 10, 257, 3, b"/etc/hosts"))) {
            Ok(Record::SyscallPath { call, path }) => {
                assert_eq!(call.nr, 257, "the call");
                assert_eq!(
                    path.as_deref(),
                    Some("/etc/hosts"),
                    "the path up to its length"
                );
            }
            other => panic!("a path record: {other:?}"),
        }
        match decode(bytes(&fork_event(10, 10, 12, 12, "sh"))) {
            Ok(Record::Fork(f)) => assert_eq!((f.child_tgid, f.comm.as_str()), (12, "sh")),
            other => panic!("a fork record: {other:?}"),
        }
        match decode(bytes(&exec_event(12, 12, "/bin/ls", &["ls", "-l"]))) {
            Ok(Record::Exec(e)) => {
                assert_eq!(e.filename, "/bin/ls", "filename");
                assert_eq!(
                    e.argv,
                    vec!["ls", "-l"],
                    "argv without the trailing empty string"
                );
                assert_eq!(e.comm, "ls", "comm is the file name");
            }
            other => panic!("an exec record: {other:?}"),
        }
    }

    #[test]
    fn decodes_gaps_and_the_forks_real_parent_and_follow_mark() {
        let gap = gap_event(
            3,
            10,
            11,
            tracer_common::FLAG_GAP_THREADS,
            (500, 900),
            [7, 2],
        );
        match decode(bytes(&gap)) {
            Ok(Record::Gap(g)) => assert_eq!(
                (
                    g.cpu,
                    g.tgid,
                    g.tid,
                    g.flags,
                    g.first_ts_ns,
                    g.last_ts_ns,
                    g.lost
                ),
                (3, 10, 11, tracer_common::FLAG_GAP_THREADS, 500, 900, [7, 2]),
                "every field of the gap"
            ),
            other => panic!("a gap record: {other:?}"),
        }
        assert_eq!(
            decode(&bytes(&gap)[..40]).map(|_| ()),
            Err(DecodeError::Short { len: 40, need: 56 }),
            "a short gap record"
        );
        let mut fork = fork_event(10, 10, 12, 12, "sh");
        fork.real_parent_tgid = 4;
        fork.flags = FLAG_FORK_UNFOLLOWED;
        match decode(bytes(&fork)) {
            Ok(Record::Fork(f)) => assert_eq!(
                (f.parent_tgid, f.real_parent_tgid, f.followed),
                (10, 4, false),
                "caller, real parent, not followed"
            ),
            other => panic!("a fork record: {other:?}"),
        }
        match decode(bytes(&fork_event(10, 10, 12, 12, "sh"))) {
            Ok(Record::Fork(f)) => assert!(f.followed, "followed without the flag"),
            other => panic!("a fork record: {other:?}"),
        }
    }

    #[test]
    fn a_faulted_path_is_none_and_bad_utf8_is_replaced() {
        let mut e = path_event(10, 10, 257, -14, b"/x");
        e.event.flags |= FLAG_PATH_FAULT;
        match decode(bytes(&e)) {
            Ok(Record::SyscallPath { path, .. }) => assert_eq!(path, None, "fault: no path"),
            other => panic!("a path record: {other:?}"),
        }
        let e = path_event(10, 10, 257, 3, b"/tmp/\xff");
        match decode(bytes(&e)) {
            Ok(Record::SyscallPath { path, .. }) => {
                assert_eq!(path.as_deref(), Some("/tmp/\u{fffd}"), "lossy path")
            }
            other => panic!("a path record: {other:?}"),
        }
    }

    #[test]
    fn unknown_and_short_records_are_errors() {
        let mut e = syscall_event(10, 10, 39, 10);
        e.kind = 99;
        assert_eq!(
            decode(bytes(&e)).map(|_| ()),
            Err(DecodeError::UnknownKind { kind: 99 }),
            "unknown kind"
        );
        let full = bytes(&syscall_event(10, 10, 39, 10)).to_vec();
        assert_eq!(
            decode(&full[..50]).map(|_| ()),
            Err(DecodeError::Short { len: 50, need: 96 }),
            "short syscall record"
        );
        let path = bytes(&path_event(10, 10, 257, 3, b"/etc")).to_vec();
        assert_eq!(
            decode(&path[..200]).map(|_| ()),
            Err(DecodeError::Short {
                len: 200,
                need: 352
            }),
            "a path record cut inside its path"
        );
        assert_eq!(
            decode(&[1, 0]).map(|_| ()),
            Err(DecodeError::Short { len: 2, need: 4 }),
            "no room for a kind"
        );
    }
}
