//! Records for the unit tests, built as the eBPF programs build them and serialised to the
//! bytes the ring buffer carries.

use tracer_common::{
    ARGV_BYTES, COMM_BYTES, ExecEvent, ExitEvent, ForkEvent, GapEvent, KIND_EXEC, KIND_EXIT,
    KIND_FORK, KIND_GAP, KIND_SYSCALL, KIND_SYSCALL_PATH, LOST_KINDS, PATH_BYTES, SyscallEvent,
    SyscallPathEvent,
};

/// The bytes of a record, as the ring buffer carries them.
pub fn bytes<T: aya::Pod>(record: &T) -> &[u8] {
    // SAFETY: `aya::Pod` records are repr(C) integers with explicit padding: every byte is
    // initialised.
    unsafe {
        std::slice::from_raw_parts((record as *const T).cast::<u8>(), std::mem::size_of::<T>())
    }
}

fn comm(name: &str) -> [u8; COMM_BYTES] {
    let mut c = [0; COMM_BYTES];
    c[..name.len()].copy_from_slice(name.as_bytes());
    c
}

/// A returned call `nr` of thread `tid` in process `tgid`, returning `ret`.
pub fn syscall_event(tgid: u32, tid: u32, nr: i32, ret: i64) -> SyscallEvent {
    SyscallEvent {
        kind: KIND_SYSCALL,
        flags: 0,
        tgid,
        tid,
        nr,
        path_len: 0,
        ts_ns: 1_000,
        duration_ns: 0,
        ret,
        args: [1, 2, 3, 4, 5, 6],
    }
}

/// A returned call with path argument `path`.
pub fn path_event(tgid: u32, tid: u32, nr: i32, ret: i64, path: &[u8]) -> SyscallPathEvent {
    let mut buf = [0; PATH_BYTES];
    buf[..path.len()].copy_from_slice(path);
    SyscallPathEvent {
        event: SyscallEvent {
            kind: KIND_SYSCALL_PATH,
            path_len: path.len() as u32,
            ..syscall_event(tgid, tid, nr, ret)
        },
        path: buf,
    }
}

/// `parent_tgid` created thread `child_tid` of process `child_tgid`; `name` is inherited.
pub fn fork_event(
    parent_tgid: u32,
    parent_tid: u32,
    child_tgid: u32,
    child_tid: u32,
    name: &str,
) -> ForkEvent {
    ForkEvent {
        kind: KIND_FORK,
        flags: 0,
        ts_ns: 2_000,
        parent_tgid,
        parent_tid,
        child_tgid,
        child_tid,
        comm: comm(name),
        real_parent_tgid: parent_tgid,
        pad: 0,
    }
}

/// `lost` records (per `LOST_*` kind) of CPU `cpu` were lost, the first of thread `tid` of
/// `tgid`, between `first_ts_ns` and `last_ts_ns`; `flags`: `FLAG_GAP_*`.
pub fn gap_event(
    cpu: u32,
    tgid: u32,
    tid: u32,
    flags: u32,
    (first_ts_ns, last_ts_ns): (u64, u64),
    lost: [u64; LOST_KINDS as usize],
) -> GapEvent {
    GapEvent {
        kind: KIND_GAP,
        flags,
        cpu,
        tgid,
        tid,
        pad: 0,
        first_ts_ns,
        last_ts_ns,
        lost,
    }
}

/// Thread `tid` of `tgid` executed `filename` with `argv`; its comm becomes the file name.
pub fn exec_event(tgid: u32, tid: u32, filename: &str, argv: &[&str]) -> ExecEvent {
    let mut file = [0; PATH_BYTES];
    file[..filename.len()].copy_from_slice(filename.as_bytes());
    let mut args = [0; ARGV_BYTES];
    let mut len = 0;
    for a in argv {
        args[len..len + a.len()].copy_from_slice(a.as_bytes());
        len += a.len() + 1;
    }
    ExecEvent {
        kind: KIND_EXEC,
        flags: 0,
        ts_ns: 3_000,
        tgid,
        tid,
        old_tid: tid,
        filename_len: filename.len() as u32,
        argv_len: len as u32,
        pad: 0,
        comm: comm(filename.rsplit('/').next().unwrap_or(filename)),
        filename: file,
        argv: args,
    }
}

/// Thread `tid` of `tgid` exited with `task_struct::exit_code` `code` and `flags`; `nr`: the
/// call it died in (with `FLAG_IN_SYSCALL`).
pub fn exit_event(tgid: u32, tid: u32, code: u32, flags: u32, nr: i32) -> ExitEvent {
    ExitEvent {
        kind: KIND_EXIT,
        flags,
        ts_ns: 9_000,
        tgid,
        tid,
        exit_code: code,
        nr,
        args: [0; 6],
        pad: [0; 2],
    }
}
