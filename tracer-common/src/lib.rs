//! The kernel/user ABI of syscall-tracer: the records the eBPF programs write into their CPUs'
//! rings, the maps' value layouts and the constants both sides agree on.
//!
//! Every record starts with a `u32` kind (one of the `KIND_*` constants, never reused) so the
//! collector can dispatch on the first four bytes. All structs are `#[repr(C)]`, made of
//! fixed-width integers only, with padding spelled out and a compile-time size check.
#![no_std]

/// Record kind: a syscall that returned (`SyscallEvent`).
pub const KIND_SYSCALL: u32 = 1;
/// Record kind: a syscall that returned, with its first path argument (`SyscallPathEvent`).
/// Written by earlier versions; decoded still, written no more.
pub const KIND_SYSCALL_PATH: u32 = 2;
/// Record kind: a new task (process or thread) was created (`ForkEvent`).
pub const KIND_FORK: u32 = 3;
/// Record kind: a task replaced its program image (`ExecEvent`).
pub const KIND_EXEC: u32 = 4;
/// Record kind: a task exited (`ExitEvent`).
pub const KIND_EXIT: u32 = 5;
/// Record kind: records of one CPU were lost just before this point of the stream (`GapEvent`).
pub const KIND_GAP: u32 = 6;
/// Record kind: a syscall that returned, with what it pointed at in user memory (paths, a
/// socket address): a `SyscallDataHead` and then its slots' bytes (variable length).
pub const KIND_SYSCALL_DATA: u32 = 7;
/// Record kind: what a call's arguments pointed at, read at its entry (`--entry-paths`, `-T`):
/// a `SyscallDataHead` (whose `event` holds the entry time, number and arguments, `ret` 0) and
/// its slots, as `KIND_SYSCALL_DATA`. The thread's exit record of the same call follows it with
/// `FLAG_ENTRY_DATA`.
pub const KIND_ENTRY_DATA: u32 = 8;

/// `SyscallEvent::flags`: `duration_ns` is valid and `ts_ns` is the entry time.
pub const FLAG_HAS_DURATION: u32 = 1 << 0;
/// `SyscallEvent::flags`: reading the path argument failed (bad pointer); `path` is empty.
pub const FLAG_PATH_FAULT: u32 = 1 << 1;
/// `SyscallEvent::flags`: the call was cut short by the thread's death (it returned an
/// `-ERESTART*` code with SIGKILL pending): it never returned to the program.
pub const FLAG_KILLED: u32 = 1 << 2;
/// `SyscallEvent::flags`: a 32-bit (ia32 ABI) call: `nr` is an i386 number and `args` come from
/// bx, cx, dx, si, di, bp. Decided as the kernel decides (`TS_COMPAT` in the thread's status),
/// so `int $0x80` from 64-bit code is a 32-bit call.
pub const FLAG_COMPAT: u32 = 1 << 3;
/// `SyscallEvent::flags`: an x32 call (`__X32_SYSCALL_BIT` set in the number); `nr` keeps the
/// bit.
pub const FLAG_X32: u32 = 1 << 4;
/// `SyscallEvent::flags`: the number is outside the ABI's table range (or -1, an invalid call
/// rather than rt_sigreturn: see the sys_exit program); `nr` is the register as the program set it.
pub const FLAG_BAD_NR: u32 = 1 << 5;
/// `SyscallEvent::flags`: seccomp stopped the call (SECCOMP_RET_TRAP: SIGSYS pending and the
/// number rolled back into the return register); the call never ran.
pub const FLAG_SECCOMP_TRAP: u32 = 1 << 6;
/// `SyscallEvent::flags`: seccomp killed the thread or process at this call
/// (SECCOMP_RET_KILL_*); the call never ran.
pub const FLAG_SECCOMP_KILL: u32 = 1 << 7;
/// `SyscallEvent::flags`: the call's path arguments (and given socket address) were read at its
/// entry: they are in the `KIND_ENTRY_DATA` record of the same thread just before.
pub const FLAG_ENTRY_DATA: u32 = 1 << 8;

/// `TRACED` value: the process is alive and followed.
pub const TRACED_LIVE: u32 = 1;
/// `TRACED` value: the process's last thread is exiting; its remaining threads' exit events are
/// still recorded. User space removes such entries shortly after (they must not linger, or the
/// pid could be reused by an unrelated process).
pub const TRACED_DYING: u32 = 2;
/// `TRACED_SET`: bytes per element (one byte per thread group id).
pub const TRACED_SET_PAGE: u32 = 4096;
/// `TRACED_SET`: elements, so that every thread group id below PID_MAX_LIMIT (2^22 on 64-bit,
/// include/linux/threads.h) has its byte.
pub const TRACED_SET_PAGES: u32 = (1 << 22) / TRACED_SET_PAGE;
/// `ExitEvent::flags`: this task was the last of its thread group (the process ended).
pub const FLAG_GROUP_DEAD: u32 = 1 << 0;
/// `ExitEvent::flags`: the task died inside a syscall that never returned (exit, exit_group);
/// `nr` and `args` describe that call.
pub const FLAG_IN_SYSCALL: u32 = 1 << 1;
/// `ExitEvent::flags`: the task was a 32-bit one; `nr` is an i386 number.
pub const FLAG_EXIT_COMPAT: u32 = 1 << 2;
/// `ExitEvent::flags` with `FLAG_IN_SYSCALL`: the call that never returned is not exit or
/// exit_group but one seccomp killed the thread at (SECCOMP_RET_KILL_THREAD in a process with
/// other threads ends the thread inside the seccomp check, before sys_exit).
pub const FLAG_EXIT_SECCOMP: u32 = 1 << 3;

/// Bytes kept of a path argument by earlier versions (`SyscallPathEvent`), NUL included.
pub const PATH_BYTES: usize = 256;
/// Bytes of one data slot of a `KIND_SYSCALL_DATA` record: the kernel's `PATH_MAX` (a path the
/// kernel accepts, NUL included, always fits; a longer one is cut and marked `DATA_CUT`).
pub const DATA_SLOT_BYTES: usize = 4096;
/// Bytes of a socket address kept (`sockaddr_storage`).
pub const SOCKADDR_BYTES: usize = 128;
/// `SyscallDataHead::what`: the slot is unused.
pub const DATA_NONE: u16 = 0;
/// `SyscallDataHead::what`: the slot holds a NUL-terminated path (or string) argument.
pub const DATA_PATH: u16 = 1;
/// `SyscallDataHead::what`: the slot holds a socket address (`len` bytes of it).
pub const DATA_SOCKADDR: u16 = 2;
/// `SyscallDataHead::status`: reading the user memory failed; `len` is 0. Whether the kernel
/// could read it either is told by the call's return (-EFAULT: a bad pointer).
pub const DATA_FAULT: u16 = 1 << 0;
/// `SyscallDataHead::status`: the string filled the slot: cut at `DATA_SLOT_BYTES - 1` bytes.
pub const DATA_CUT: u16 = 1 << 1;
/// `SyscallDataHead::status`: the pointer was NULL; nothing was read.
pub const DATA_NULL: u16 = 1 << 2;
/// Bytes kept of a process's argument block (argv strings, NUL-separated).
pub const ARGV_BYTES: usize = 1024;
/// Bytes of a task's command name, as the kernel's `TASK_COMM_LEN`.
pub const COMM_BYTES: usize = 16;

/// Entries of the per-syscall-number flag table (`SYSCALL_FLAGS`, a `.rodata` global of the eBPF
/// object); covers x86_64's 0..=~470.
pub const MAX_SYSCALL_NR: u32 = 1024;
/// Entries of the i386 flag table (`SYSCALL_FLAGS32`); covers i386's 0..=~470.
pub const MAX_SYSCALL_NR32: u32 = 512;
/// The x32 bit of an x86_64 syscall number (arch/x86/include/uapi/asm/unistd.h).
pub const X32_SYSCALL_BIT: u64 = 0x4000_0000;
/// `SYSCALL_FLAGS` bit: record this syscall (cleared for calls left out by `-e trace=`).
pub const SC_TRACE: u16 = 1 << 0;
/// `SYSCALL_FLAGS` bits 1..=3: index + 1 of the argument holding a user-space path (0: none).
pub const SC_PATH_SHIFT: u16 = 1;
/// Mask of the path-argument field in `SYSCALL_FLAGS`.
pub const SC_PATH_MASK: u16 = 0b111 << SC_PATH_SHIFT;
/// `SYSCALL_FLAGS` bits 4..=6: index + 1 of a second path argument (rename, link, symlink
/// families), 0: none.
pub const SC_PATH2_SHIFT: u16 = 4;
/// Mask of the second-path field.
pub const SC_PATH2_MASK: u16 = 0b111 << SC_PATH2_SHIFT;
/// `SYSCALL_FLAGS` bits 7..=9: index + 1 of a socket-address argument; its length is the next
/// argument (connect, bind, sendto) or, with `SC_SOCK_LEN_PTR`, what the next argument points
/// at (accept, accept4: the address the kernel filled in).
pub const SC_SOCK_SHIFT: u16 = 7;
/// Mask of the socket-address field.
pub const SC_SOCK_MASK: u16 = 0b111 << SC_SOCK_SHIFT;
/// `SYSCALL_FLAGS` bit: the socket address's length argument is a pointer to it.
pub const SC_SOCK_LEN_PTR: u16 = 1 << 10;

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

/// The fixed part of a `KIND_SYSCALL_DATA` record, followed by the bytes of slot 0 and, when
/// slot 1 is used, slot 0 padded to `DATA_SLOT_BYTES` and then slot 1's bytes. 112 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SyscallDataHead {
    /// The call; `event.kind == KIND_SYSCALL_DATA`, `event.path_len` unused (0).
    pub event: SyscallEvent,
    /// Meaningful bytes of each slot (a path without its NUL).
    pub len: [u32; 2],
    /// What each slot holds (`DATA_*` kinds).
    pub what: [u16; 2],
    /// `DATA_FAULT`, `DATA_CUT`, `DATA_NULL` per slot.
    pub status: [u16; 2],
}
const _: () = assert!(core::mem::size_of::<SyscallDataHead>() == 112);

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

/// Records of one CPU that did not fit in its ring, written before that CPU's next record
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

/// Bytes of one element of the `RING_DATA` array: a chunk of a CPU's ring. A CPU's ring is
/// `RING_CHUNK_BYTES` times its chunk count, or one smaller power of two in its first chunk.
pub const RING_CHUNK_BYTES: u32 = 1 << 18;
/// Bytes past each chunk that a record starting in it may run into: the ring's logical
/// positions are contiguous, and a record is stored whole in the chunk where it starts (the
/// next chunk's first bytes then go unused), so a program writes it with one bounded pointer.
/// At least the largest record and its header.
pub const RING_SLACK_BYTES: u32 = 12 << 10;
/// Bytes before each record in a CPU's ring: its length (`u32`) and a reserved zero `u32`.
pub const RING_HEADER_BYTES: u32 = 8;
/// Largest record a program writes (a data record with both slots), so a reader can tell a
/// damaged header from a record.
pub const RING_MAX_RECORD_BYTES: u32 = 112 + 2 * DATA_SLOT_BYTES as u32;
const _: () = assert!(RING_HEADER_BYTES + RING_MAX_RECORD_BYTES <= RING_SLACK_BYTES);
const _: () = assert!(core::mem::size_of::<ExecEvent>() as u32 <= RING_MAX_RECORD_BYTES);

/// One CPU's positions in its ring (`RING_POS`, an element per CPU): `head`, written by that
/// CPU's programs only, is where the next record goes; `tail`, written by user space only, is
/// the first byte not yet read. Each on a cache line of its own, so the producing CPU does not
/// fetch the line the reader writes on every record. 128 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RingPosition {
    /// Bytes ever written (a logical position; the ring offset is it modulo the ring's size).
    pub head: u64,
    /// Reserved, zero.
    pub pad_head: [u64; 7],
    /// Bytes ever read.
    pub tail: u64,
    /// Reserved, zero.
    pub pad_tail: [u64; 7],
}
const _: () = assert!(core::mem::size_of::<RingPosition>() == 128);

/// Geometry of the per-CPU rings, written by the loader into the programs' `.rodata`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RingGeometry {
    /// Bytes of each CPU's ring, minus one (its size is a power of two).
    pub mask: u64,
    /// `RING_DATA` elements per CPU: CPU `c`'s ring is elements `c * chunks ..`.
    pub chunks: u32,
    /// Reserved, zero.
    pub pad: u32,
}
const _: () = assert!(core::mem::size_of::<RingGeometry>() == 16);

impl RingGeometry {
    /// Where logical position `pos` of CPU `cpu`'s ring is stored: its `RING_DATA` element and
    /// the offset in it (below `RING_CHUNK_BYTES`, so the record there, at most
    /// `RING_SLACK_BYTES` with its header, ends inside the element). The programs write and
    /// user space reads through this one function.
    #[inline(always)]
    pub const fn place(&self, cpu: u32, pos: u64) -> (u32, u32) {
        let at = pos & self.mask;
        let element = cpu
            .wrapping_mul(self.chunks)
            .wrapping_add((at / RING_CHUNK_BYTES as u64) as u32);
        (element, (at & (RING_CHUNK_BYTES as u64 - 1)) as u32)
    }
}

/// Ring bytes a record of `len` bytes takes: its header and its bytes, 8-aligned.
#[inline(always)]
pub const fn ring_step(len: u32) -> u64 {
    (RING_HEADER_BYTES as u64 + len as u64 + 7) & !7
}

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
    /// `task_struct::thread_info` + `thread_info::status` (x86: `TS_COMPAT` is set there for
    /// the duration of a 32-bit syscall).
    pub task_ti_status: u32,
    /// `task_struct::seccomp` + `seccomp::mode` (`SECCOMP_MODE_DEAD` once a kill action ran).
    pub task_seccomp_mode: u32,
    /// `task_struct::real_parent` (a `task_struct *`).
    pub task_real_parent: u32,
}
const _: () = assert!(core::mem::size_of::<KernelOffsets>() == 52);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all these types are `repr(C)`, made of integers and integer arrays, with explicit
    // padding, so every bit pattern is valid.
    unsafe impl aya::Pod for super::SyscallEvent {}
    unsafe impl aya::Pod for super::SyscallPathEvent {}
    unsafe impl aya::Pod for super::SyscallDataHead {}
    unsafe impl aya::Pod for super::ForkEvent {}
    unsafe impl aya::Pod for super::ExecEvent {}
    unsafe impl aya::Pod for super::ExitEvent {}
    unsafe impl aya::Pod for super::GapEvent {}
    unsafe impl aya::Pod for super::KernelOffsets {}
    unsafe impl aya::Pod for super::RingPosition {}
    unsafe impl aya::Pod for super::RingGeometry {}
}
