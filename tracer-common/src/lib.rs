//! The kernel/user ABI of syscall-tracer: the records the eBPF programs write into the ring buffer,
//! the maps' value layouts and the constants both sides agree on.
//!
//! Every record starts with a `u32` kind (one of the `KIND_*` constants, never reused) so the
//! collector can dispatch on the first four bytes. All structs are `#[repr(C)]`, made of
//! fixed-width integers only, with padding spelled out and a compile-time size check.
#![no_std]

/// Record kind: a syscall that returned (`SyscallEvent`).
pub const KIND_SYSCALL: u32 = 1;
/// Record kind: a syscall that returned, with its first path argument (`SyscallPathEvent`).
pub const KIND_SYSCALL_PATH: u32 = 2;
/// Record kind: a new task (process or thread) was created (`ForkEvent`).
pub const KIND_FORK: u32 = 3;
/// Record kind: a task replaced its program image (`ExecEvent`).
pub const KIND_EXEC: u32 = 4;
/// Record kind: a task exited (`ExitEvent`).
pub const KIND_EXIT: u32 = 5;
/// Record kind: records of one CPU were lost just before this point of the stream (`GapEvent`).
pub const KIND_GAP: u32 = 6;

/// `SyscallEvent::flags`: `duration_ns` is valid and `ts_ns` is the entry time.
pub const FLAG_HAS_DURATION: u32 = 1 << 0;
/// `SyscallEvent::flags`: reading the path argument failed (bad pointer); `path` is empty.
pub const FLAG_PATH_FAULT: u32 = 1 << 1;
/// `SyscallEvent::flags`: the call was cut short by the thread's death (it returned an
/// `-ERESTART*` code with SIGKILL pending): it never returned to the program.
pub const FLAG_KILLED: u32 = 1 << 2;
/// `SyscallEvent::flags`: a 32-bit (ia32 ABI) call: `nr` is an i386 number and `args` come from
/// bx, cx, dx, si, di, bp.
pub const FLAG_COMPAT: u32 = 1 << 3;

/// `TRACED` value: the process is alive and followed.
pub const TRACED_LIVE: u32 = 1;
/// `TRACED` value: the process's last thread is exiting; its remaining threads' exit events are
/// still recorded. User space removes such entries shortly after (they must not linger, or the
/// pid could be reused by an unrelated process).
pub const TRACED_DYING: u32 = 2;
/// `ExitEvent::flags`: this task was the last of its thread group (the process ended).
pub const FLAG_GROUP_DEAD: u32 = 1 << 0;
/// `ExitEvent::flags`: the task died inside a syscall that never returned (exit, exit_group);
/// `nr` and `args` describe that call.
pub const FLAG_IN_SYSCALL: u32 = 1 << 1;
/// `ExitEvent::flags`: the task was a 32-bit one; `nr` is an i386 number.
pub const FLAG_EXIT_COMPAT: u32 = 1 << 2;

/// Bytes kept of a path argument, including the terminating NUL (docs/DESIGN.md: at most 255 bytes).
pub const PATH_BYTES: usize = 256;
/// Bytes kept of a process's argument block (argv strings, NUL-separated).
pub const ARGV_BYTES: usize = 1024;
/// Bytes of a task's command name, as the kernel's `TASK_COMM_LEN`.
pub const COMM_BYTES: usize = 16;

/// Entries of the per-syscall-number flag table (`SYSCALL_FLAGS`, a `.rodata` global of the eBPF
/// object); covers x86_64's 0..=~470.
pub const MAX_SYSCALL_NR: u32 = 1024;
/// `SYSCALL_FLAGS` bit: record this syscall (cleared for calls left out by `-e trace=`).
pub const SC_TRACE: u8 = 1 << 0;
/// `SYSCALL_FLAGS` bits 1..=3: index + 1 of the argument holding a user-space path (0: none).
pub const SC_PATH_SHIFT: u8 = 1;
/// Mask of the path-argument field in `SYSCALL_FLAGS`.
pub const SC_PATH_MASK: u8 = 0b111 << SC_PATH_SHIFT;

/// `ForkEvent::flags`: the new process could not be followed (`TRACED` was full): it and its
/// descendants run untraced.
pub const FLAG_FORK_UNFOLLOWED: u32 = 1 << 0;

/// `GapEvent::flags`: the lost records are of more than one thread (`tid` is the first's).
pub const FLAG_GAP_THREADS: u32 = 1 << 0;
/// `GapEvent::flags`: the lost records are of more than one process (`tgid` is the first's).
pub const FLAG_GAP_PROCESSES: u32 = 1 << 1;

/// Index of the loss counter in `LOST` for syscall records.
pub const LOST_SYSCALL: u32 = 0;
/// Index of the loss counter in `LOST` for lifecycle records (fork, exec, and exit records that
/// carry no row; an exit record carrying its thread's exit or exit_group row counts as a syscall).
pub const LOST_LIFECYCLE: u32 = 1;
/// Number of loss counters in the per-CPU `LOST` array.
pub const LOST_KINDS: u32 = 2;

/// One completed syscall, written at `sys_exit`. 96 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallEvent {
    /// `KIND_SYSCALL` or `KIND_SYSCALL_PATH`.
    pub kind: u32,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// Thread group id (the process id users see).
    pub tgid: u32,
    /// Thread id.
    pub tid: u32,
    /// Syscall number for the traced architecture (`orig_ax` on x86_64).
    pub nr: i32,
    /// Length of the path that follows in `SyscallPathEvent`, without its NUL; 0 otherwise.
    pub path_len: u32,
    /// `CLOCK_MONOTONIC` nanoseconds: entry time with `FLAG_HAS_DURATION`, otherwise exit time.
    pub ts_ns: u64,
    /// Entry-to-exit time, valid with `FLAG_HAS_DURATION`.
    pub duration_ns: u64,
    /// Return value as the kernel returned it (negative errno on failure).
    pub ret: i64,
    /// The six argument registers.
    pub args: [u64; 6],
}
const _: () = assert!(core::mem::size_of::<SyscallEvent>() == 96);

/// A completed syscall with its first path argument. 352 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallPathEvent {
    /// The call itself; `event.kind == KIND_SYSCALL_PATH`.
    pub event: SyscallEvent,
    /// NUL-terminated path bytes, `event.path_len` of them meaningful.
    pub path: [u8; PATH_BYTES],
}
const _: () = assert!(core::mem::size_of::<SyscallPathEvent>() == 96 + PATH_BYTES);

/// A task was created by fork/vfork/clone, written at `sched_process_fork` (in the caller,
/// before the child can run). 56 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ForkEvent {
    /// `KIND_FORK`.
    pub kind: u32,
    /// `FLAG_FORK_UNFOLLOWED`.
    pub flags: u32,
    /// `CLOCK_MONOTONIC` nanoseconds.
    pub ts_ns: u64,
    /// Parent's thread group id.
    pub parent_tgid: u32,
    /// Parent's thread id.
    pub parent_tid: u32,
    /// Child's thread group id (equals `parent_tgid` for a new thread).
    pub child_tgid: u32,
    /// Child's thread id.
    pub child_tid: u32,
    /// The parent's command name, which the child inherits.
    pub comm: [u8; COMM_BYTES],
    /// The child's real parent's thread group id (`child->real_parent->tgid`): the caller's
    /// parent for `CLONE_PARENT` (and `CLONE_THREAD`), else the caller.
    pub real_parent_tgid: u32,
    /// Reserved, zero.
    pub pad: u32,
}
const _: () = assert!(core::mem::size_of::<ForkEvent>() == 56);

/// A task executed a new program, written at `sched_process_exec`. 1336 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExecEvent {
    /// `KIND_EXEC`.
    pub kind: u32,
    /// Reserved, zero.
    pub flags: u32,
    /// `CLOCK_MONOTONIC` nanoseconds.
    pub ts_ns: u64,
    /// Thread group id.
    pub tgid: u32,
    /// Thread id after exec (a non-leader thread that execs takes over the leader's id).
    pub tid: u32,
    /// Thread id before exec.
    pub old_tid: u32,
    /// Length of `filename` without its NUL.
    pub filename_len: u32,
    /// Meaningful bytes of `argv`.
    pub argv_len: u32,
    /// Reserved, zero.
    pub pad: u32,
    /// New command name.
    pub comm: [u8; COMM_BYTES],
    /// The executed file as the kernel resolved it (`linux_binprm::filename`).
    pub filename: [u8; PATH_BYTES],
    /// The new program's argv strings, NUL-separated (`mm->arg_start..arg_end`), truncated.
    pub argv: [u8; ARGV_BYTES],
}
const _: () = assert!(core::mem::size_of::<ExecEvent>() == 56 + PATH_BYTES + ARGV_BYTES);

/// A task exited, written at `sched_process_exit` in the dying task. 96 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExitEvent {
    /// `KIND_EXIT`.
    pub kind: u32,
    /// `FLAG_GROUP_DEAD`, `FLAG_IN_SYSCALL`.
    pub flags: u32,
    /// `CLOCK_MONOTONIC` nanoseconds.
    pub ts_ns: u64,
    /// Thread group id.
    pub tgid: u32,
    /// Thread id.
    pub tid: u32,
    /// `task_struct::exit_code`: `status << 8` for exit/exit_group, the signal number otherwise.
    pub exit_code: u32,
    /// With `FLAG_IN_SYSCALL`: the syscall that never returned.
    pub nr: i32,
    /// With `FLAG_IN_SYSCALL`: its argument registers.
    pub args: [u64; 6],
    /// Reserved, zero.
    pub pad: [u64; 2],
}
const _: () = assert!(core::mem::size_of::<ExitEvent>() == 96);

/// Records of one CPU that did not fit in the ring buffer, written before that CPU's next record
/// that does (so the gap sits where the records are missing), by any program. The same struct is
/// the per-CPU pending state (`GAPS`) while the gap is open. 56 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GapEvent {
    /// `KIND_GAP`.
    pub kind: u32,
    /// `FLAG_GAP_*`.
    pub flags: u32,
    /// The CPU whose records were lost.
    pub cpu: u32,
    /// Thread group id of the first lost record's task.
    pub tgid: u32,
    /// Thread id of the first lost record's task.
    pub tid: u32,
    /// Reserved, zero.
    pub pad: u32,
    /// `CLOCK_MONOTONIC` ns of the first loss.
    pub first_ts_ns: u64,
    /// `CLOCK_MONOTONIC` ns of the last loss.
    pub last_ts_ns: u64,
    /// Lost records per `LOST_*` kind.
    pub lost: [u64; LOST_KINDS as usize],
}
const _: () = assert!(core::mem::size_of::<GapEvent>() == 56);

/// Kernel structure offsets, read by the collector from the running kernel's BTF and written
/// into the eBPF object's `.rodata` before loading (a small CO-RE of our own: aya's Rust eBPF
/// side has no field relocations). All offsets in bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelOffsets {
    /// `task_struct::pid`.
    pub task_pid: u32,
    /// `task_struct::tgid`.
    pub task_tgid: u32,
    /// `task_struct::exit_code`.
    pub task_exit_code: u32,
    /// `task_struct::signal`.
    pub task_signal: u32,
    /// `task_struct::mm`.
    pub task_mm: u32,
    /// `signal_struct::live` (an `atomic_t`).
    pub signal_live: u32,
    /// `mm_struct::arg_start` (`arg_end` follows it).
    pub mm_arg_start: u32,
    /// `linux_binprm::filename`.
    pub bprm_filename: u32,
    /// `task_struct::pending` + `sigpending::signal`: the thread's own pending signal set.
    pub task_pending_signal: u32,
    /// `signal_struct::nr_threads` (an `int`): the group's threads not yet released.
    pub signal_nr_threads: u32,
    /// `task_struct::real_parent` (a `task_struct *`).
    pub task_real_parent: u32,
}
const _: () = assert!(core::mem::size_of::<KernelOffsets>() == 44);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all these types are `repr(C)`, made of integers and integer arrays, with explicit
    // padding, so every bit pattern is valid.
    unsafe impl aya::Pod for super::SyscallEvent {}
    unsafe impl aya::Pod for super::SyscallPathEvent {}
    unsafe impl aya::Pod for super::ForkEvent {}
    unsafe impl aya::Pod for super::ExecEvent {}
    unsafe impl aya::Pod for super::ExitEvent {}
    unsafe impl aya::Pod for super::GapEvent {}
    unsafe impl aya::Pod for super::KernelOffsets {}
}
