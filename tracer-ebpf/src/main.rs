//! syscall-tracer's eBPF programs.
//!
//! Default mode attaches one program, on `raw_syscalls:sys_exit`: at exit the registers still
//! hold the syscall number (`orig_ax`) and arguments, and the return value is the tracepoint's
//! second argument, so one hook records a complete call. Calls that never return (`exit`,
//! `exit_group`) are taken from `sched_process_exit`, where the dying task's saved registers
//! still name the call. Duration mode (`--durations`) adds `sys_enter`, which stores the entry
//! time per thread.
//!
//! Following: `TRACED` holds the thread group ids under capture, and `TRACED_SET` mirrors its
//! keys as one byte per id, the test every syscall on the machine makes. `sched_process_fork`
//! runs in the parent before the child is first woken (kernel/fork.c: `trace_sched_process_fork`
//! precedes `wake_up_new_task`), so a child is known before it can make its first syscall.
//!
//! Records go into per-CPU rings (`RING_DATA`, `RING_POS`), each written by its own CPU's
//! programs only, without a lock: a record is written at its CPU's head and the head is moved
//! past it ([`ring_reserve`], [`ring_commit`]). User space maps the rings and merges them by
//! time. The kernel's BPF ring buffer takes a spin lock per reservation and shares its
//! positions between all CPUs and the reader, about a third of a recorded call's cost on a
//! syscall storm (docs/DESIGN.md).
//!
//! Losses: a record that finds its CPU's ring full is counted (`LOST`) and opens or extends
//! that CPU's pending gap (`GAPS`); the next program on that CPU that gets past its filter
//! writes the gap as a `GapEvent` before its own record ([`flush_gap`]), so the stream says
//! where records are missing. A record whose CPU's gap cannot be written yet is lost into the
//! gap too, so none overtakes it. Tracepoint programs run with preemption disabled
//! (include/linux/tracepoint.h `__DO_TRACE` takes `preempt_notrace`; the syscall tracepoints,
//! which may fault, disable it around each BPF program), so a CPU's gap and ring have one
//! writer at a time.
#![no_std]
#![no_main]
// The bpf target has atomic loads and stores only in `core::sync::atomic`; the add that
// `GAPS_PENDING` needs (a BPF_ATOMIC add, its result unused) is the intrinsic.
#![feature(core_intrinsics)]
#![expect(
    internal_features,
    reason = "core_intrinsics: atomic add on the bpf target"
)]

use core::{
    intrinsics::{AtomicOrdering, atomic_xadd},
    sync::atomic::{AtomicU64, Ordering, compiler_fence},
};

use aya_ebpf::{
    bindings::{
        BPF_EXIST, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_LOCAL_STORAGE_GET_F_CREATE,
        bpf_map_type::BPF_MAP_TYPE_TASK_STORAGE,
    },
    helpers::bpf_get_smp_processor_id,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_task_btf, bpf_ktime_get_ns,
        bpf_probe_read_kernel, bpf_probe_read_kernel_str_bytes, bpf_probe_read_user_buf,
        bpf_probe_read_user_str_bytes,
        generated::{
            bpf_probe_read_kernel as probe_read_kernel_raw, bpf_task_pt_regs, bpf_task_storage_get,
        },
    },
    macros::{btf_tracepoint, map},
    maps::{Array, HashMap, PerCpuArray},
    programs::BtfTracePointContext,
};
use tracer_common::{
    ARGV_BYTES, COMM_BYTES, DATA_CUT, DATA_FAULT, DATA_NULL, DATA_PATH, DATA_SLOT_BYTES,
    DATA_SOCKADDR, ExecEvent, ExitEvent, FLAG_BAD_NR, FLAG_COMPAT, FLAG_ENTRY_DATA,
    FLAG_EXIT_COMPAT, FLAG_EXIT_SECCOMP, FLAG_FORK_UNFOLLOWED, FLAG_GAP_PROCESSES,
    FLAG_GAP_THREADS, FLAG_GROUP_DEAD, FLAG_HAS_DURATION, FLAG_IN_SYSCALL, FLAG_KILLED,
    FLAG_SECCOMP_KILL, FLAG_SECCOMP_TRAP, FLAG_X32, ForkEvent, GapEvent, KIND_ENTRY_DATA,
    KIND_EXEC, KIND_EXIT, KIND_FORK, KIND_GAP, KIND_SYSCALL, KIND_SYSCALL_DATA, KernelOffsets,
    LOST_KINDS, LOST_LIFECYCLE, LOST_SYSCALL, MAX_SYSCALL_NR, MAX_SYSCALL_NR32, RING_CHUNK_BYTES,
    RING_HEADER_BYTES, RING_SLACK_BYTES, RingGeometry, RingPosition, SC_PATH_MASK, SC_PATH_SHIFT,
    SC_PATH2_MASK, SC_PATH2_SHIFT, SC_SOCK_LEN_PTR, SC_SOCK_MASK, SC_SOCK_SHIFT, SC_TRACE,
    SOCKADDR_BYTES, SyscallDataHead, SyscallEvent, TRACED_DYING, TRACED_LIVE, TRACED_SET_PAGE,
    TRACED_SET_PAGES, X32_SYSCALL_BIT, ring_step,
};

/// x86_64 `struct pt_regs` (arch/x86/include/asm/ptrace.h): the user registers saved at kernel
/// entry. `orig_ax` holds the syscall number, `ax` the return value (or `-ENOSYS` before the
/// call ran), and di, si, dx, r10, r8, r9 the six arguments (arch/x86/entry/calling.h).
#[repr(C)]
#[derive(Clone, Copy)]
struct PtRegs {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    bp: u64,
    bx: u64,
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    ax: u64,
    cx: u64,
    dx: u64,
    si: u64,
    di: u64,
    orig_ax: u64,
    ip: u64,
    cs: u64,
    flags: u64,
    sp: u64,
    ss: u64,
}

/// include/linux/errno.h: ERESTARTSYS (512) .. ERESTART_RESTARTBLOCK (516), the codes a call
/// interrupted by a signal returns on its way to signal delivery.
const ERESTART_FIRST: i64 = -516;
const ERESTART_LAST: i64 = -512;
/// Bit of SIGKILL (9) in a `sigset_t`: set in every thread of a dying group (kernel/signal.c
/// complete_signal() and zap_other_threads()).
const SIGKILL_BIT: u64 = 1 << 8;

/// x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl) of the calls handled specially.
const RT_SIGRETURN_NR: u64 = 15;
/// i386 rt_sigreturn (arch/x86/entry/syscalls/syscall_32.tbl).
const IA32_RT_SIGRETURN_NR: u64 = 173;
const EXIT_NR: u64 = 60;
const EXIT_GROUP_NR: u64 = 231;
/// i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl) of exit and exit_group.
const IA32_EXIT_NR: u64 = 1;
const IA32_EXIT_GROUP_NR: u64 = 252;
/// `TS_COMPAT` (arch/x86/include/asm/thread_info.h): set in `thread_info::status` by the
/// 32-bit entry paths (int 0x80, sysenter, 32-bit syscall; arch/x86/entry/common.c
/// `syscall_32_enter`) and cleared only on the way back to user mode, so sys_exit and a task
/// dying inside the call both see it. This, not the code segment, is how the kernel tells a
/// 32-bit call (`in_ia32_syscall()`): `int $0x80` from 64-bit code is one.
const TS_COMPAT: u32 = 0x0002;
/// Bit of SIGSYS (31) in a `sigset_t`: seccomp's RET_TRAP and RET_KILL_* send it.
const SIGSYS_BIT: u64 = 1 << 30;
/// SIGSYS, as `task_struct::exit_code` holds it for a thread seccomp ended.
const SIGSYS: u32 = 31;
/// `SECCOMP_MODE_DEAD` (kernel/seccomp.c): set by a kill action before the task dies.
const SECCOMP_MODE_DEAD: u32 = 3;
/// `-EINTR`: killable waits return it, rather than an -ERESTART* code, when the task is killed.
const NEG_EINTR: i64 = -4;

/// `-ENOSYS`: what the entry code stores in `ax` before dispatching a syscall; still there if the
/// call never returned.
const NEG_ENOSYS: u64 = (-38i64) as u64;

/// Structure offsets of the running kernel, written by the loader from BTF.
#[unsafe(no_mangle)]
static KERNEL_OFFSETS: KernelOffsets = KernelOffsets {
    task_pid: 0,
    task_tgid: 0,
    task_exit_code: 0,
    task_signal: 0,
    task_mm: 0,
    signal_live: 0,
    mm_arg_start: 0,
    bprm_filename: 0,
    task_pending_signal: 0,
    signal_nr_threads: 0,
    task_ti_status: 0,
    task_seccomp_mode: 0,
    task_real_parent: 0,
};

/// Test hook (`probe::TEST_LOSE_EXITS_ENV`): nonzero makes the exit hook treat every exit record
/// as lost, so tests can check what a capture keeps without it. Zero in every real capture.
#[unsafe(no_mangle)]
static TEST_LOSE_EXITS: u32 = 0;

/// Bench hook (`probe::TEST_NO_CLOCK_ENV`): nonzero makes a plain exit record carry no time
/// (`ts_ns` 0) instead of the clock read that stamps it, so `cargo xtask bench capture` can show
/// what that read costs on its own. The branch is decided when the frozen `.rodata` is verified;
/// zero in every real capture.
#[unsafe(no_mangle)]
static TEST_NO_CLOCK: u32 = 0;

/// Nonzero when `sys_enter` is attached and `ENTRY_TS` holds entry times.
#[unsafe(no_mangle)]
static WANT_DURATIONS: u32 = 0;

/// Nonzero when `sys_enter` reads the calls' path arguments (and given socket addresses) at
/// entry (`--entry-paths`, and `-T`): no other thread can change them between then and the
/// kernel's own read but in a window of a few instructions, where an exit read sees the
/// buffer as it is after the call.
#[unsafe(no_mangle)]
static ENTRY_PATHS: u32 = 0;

/// Geometry of the per-CPU rings, written by the loader (`--ring-bytes` divided among the
/// CPUs).
#[unsafe(no_mangle)]
static RING_GEOMETRY: RingGeometry = RingGeometry {
    mask: 0,
    chunks: 0,
    pad: 0,
};

/// Bytes of a `RING_DATA` element: a chunk and the slack a record starting in it may use.
const RING_ELEMENT_BYTES: usize = (RING_CHUNK_BYTES + RING_SLACK_BYTES) as usize;

/// The per-CPU rings' bytes: CPU `c` owns elements `c * chunks ..` (`RING_GEOMETRY`). Sized by
/// the loader; mapped read-only by user space.
#[map]
static RING_DATA: Array<[u8; RING_ELEMENT_BYTES]> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// Per CPU, its ring's head (written here) and tail (written by user space). Sized by the
/// loader to the possible CPUs.
#[map]
static RING_POS: Array<RingPosition> = Array::with_max_entries(1, BPF_F_MMAPABLE);

/// Room for a record of `size` bytes reserved in this CPU's ring: written at [`Slot::data`],
/// then published with [`ring_commit`]. Tracepoint programs run with preemption disabled and
/// none of ours runs in interrupt context, so between the two nothing else writes this ring.
struct Slot {
    /// The record's header; its bytes follow.
    at: *mut u8,
    /// This CPU's positions.
    pos: *mut RingPosition,
    /// The head past the record.
    next: u64,
}

impl Slot {
    /// Where the record's bytes go (8-aligned, with room for `size` bytes).
    #[inline(always)]
    fn data(&self) -> *mut u8 {
        // SAFETY: the header is inside the element, and the record after it (`ring_reserve`).
        unsafe { self.at.add(RING_HEADER_BYTES as usize) }
    }
}

/// Reserves room for a record of `size` bytes (at most `RING_SLACK_BYTES` with its header) in
/// this CPU's ring; `None` when the ring has no room (the caller counts the record lost).
#[inline(always)]
fn ring_reserve(size: u32) -> Option<Slot> {
    // SAFETY: plain reads of a `.rodata` global (frozen: the verifier knows the values).
    let (mask, chunks) = unsafe {
        (
            core::ptr::read_volatile(core::ptr::addr_of!(RING_GEOMETRY.mask)),
            core::ptr::read_volatile(core::ptr::addr_of!(RING_GEOMETRY.chunks)),
        )
    };
    // SAFETY: helper without preconditions.
    let cpu = unsafe { bpf_get_smp_processor_id() };
    let pos = RING_POS.get_ptr_mut(cpu)?;
    // SAFETY: this CPU's element: `head` is written only here, on this CPU, with preemption
    // disabled; `tail` is written by user space (volatile: read once, now).
    let (head, tail) = unsafe {
        (
            core::ptr::read_volatile(core::ptr::addr_of!((*pos).head)),
            core::ptr::read_volatile(core::ptr::addr_of!((*pos).tail)),
        )
    };
    let need = ring_step(size);
    if head.wrapping_sub(tail).wrapping_add(need) > mask + 1 {
        return None;
    }
    let geometry = RingGeometry {
        mask,
        chunks,
        pad: 0,
    };
    let (element, offset) = geometry.place(cpu, head);
    let base = RING_DATA.get_ptr_mut(element)?.cast::<u8>();
    let offset = offset as usize;
    Some(Slot {
        // SAFETY: `offset` is below RING_CHUNK_BYTES, so the record and its header (at most
        // RING_SLACK_BYTES) end inside the element.
        at: unsafe { base.add(offset) },
        pos,
        next: head + need,
    })
}

/// Publishes a record of `size` bytes written into `slot`: its header, then the head past it.
#[inline(always)]
fn ring_commit(slot: Slot, size: u32) {
    // SAFETY: the header is the slot's first 8 bytes (8-aligned): the length, then a zero u32.
    unsafe { core::ptr::write_volatile(slot.at.cast::<u64>(), u64::from(size)) };
    // The record's bytes before the head that publishes them: the compiler keeps the order, and
    // x86's stores are seen by other CPUs in program order (TSO), so the reader's acquire load
    // of the head pairs with this store.
    compiler_fence(Ordering::Release);
    // SAFETY: this CPU's element (see `ring_reserve`).
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!((*slot.pos).head), slot.next) };
}

/// Writes `value` as one record.
#[inline(always)]
fn ring_output<T: Copy>(value: &T) -> Result<(), ()> {
    let size = core::mem::size_of::<T>() as u32;
    let slot = ring_reserve(size).ok_or(())?;
    // SAFETY: the slot has room for `size` bytes, 8-aligned (every record type is).
    unsafe { core::ptr::write(slot.data().cast::<T>(), *value) };
    ring_commit(slot, size);
    Ok(())
}

/// Thread group ids under capture, `TRACED_LIVE` or `TRACED_DYING`. Preallocated (tracing
/// programs may not allocate on older kernels), so its size is start-up time: 16,384 processes
/// at once (dying ones leave within `DYING_GRACE`) take ~0.4 ms to set up, 65,536 ~1.5 ms. A
/// fork past it is marked in its record (`FLAG_FORK_UNFOLLOWED`) and counted (`UNFOLLOWED`).
#[map]
static TRACED: HashMap<u32, u32> = HashMap::with_max_entries(1 << 14, 0);

/// The keys of `TRACED` as one byte per thread group id (nonzero: traced), what every syscall's
/// filter reads ([`is_traced`]): an array lookup the verifier inlines and one load, where the
/// hash lookup is a call into the map's code, a hash and a key compare (about a tenth of a
/// traced call's cost on a syscall storm). `TRACED` stays the set's authority (its capacity,
/// the dying state, what user space lists); every change to its keys, here and in user space
/// (which writes its bytes through a memory mapping, never a whole element), is made to this
/// set too: a byte is set after its key is added and cleared before its key is removed.
#[map]
static TRACED_SET: Array<[u8; TRACED_SET_PAGE as usize]> =
    Array::with_max_entries(TRACED_SET_PAGES, BPF_F_MMAPABLE);

/// Per syscall number: `SC_TRACE` and the indexes of the arguments read from user memory
/// (`SC_PATH*`, `SC_SOCK*`). A `.rodata` global written by the loader with the rest of the
/// section (one map update, then frozen), rather than an array map filled one `bpf()` call per
/// entry; read with [`syscall_flags`].
#[unsafe(no_mangle)]
static SYSCALL_FLAGS: [u16; MAX_SYSCALL_NR as usize] = [0; MAX_SYSCALL_NR as usize];

/// The same for i386 numbers (32-bit calls).
#[unsafe(no_mangle)]
static SYSCALL_FLAGS32: [u16; MAX_SYSCALL_NR32 as usize] = [0; MAX_SYSCALL_NR32 as usize];

/// `SC_TRACE` when numbers outside the tables (and invalid ones) are recorded: always, unless
/// `-e trace=` chose a set.
#[unsafe(no_mangle)]
static TRACE_UNKNOWN: u16 = 0;

/// A `KIND_SYSCALL_DATA` record being built: its head and two slots.
#[repr(C)]
struct DataScratch {
    head: SyscallDataHead,
    data: [u8; 2 * DATA_SLOT_BYTES],
}

/// Per-CPU room to build a data record in (larger than the BPF stack), copied into the ring at
/// its real length, so a short path costs a short record.
#[map]
static SCRATCH: PerCpuArray<DataScratch> = PerCpuArray::with_max_entries(1, 0);

/// Records that did not fit in their CPU's ring, per CPU, per `LOST_*` kind.
#[map]
static LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(LOST_KINDS, 0);

/// Per CPU, the gap being counted (its `lost` all zero when none is pending).
#[map]
static GAPS: PerCpuArray<GapEvent> = PerCpuArray::with_max_entries(1, 0);

/// CPUs with a pending gap. A `.bss` global, so a program on a machine that loses nothing pays
/// one plain load for the check ([`flush_gap`]), not a map lookup. Changed by atomic adds, on
/// the first loss of a gap and when it is written.
static GAPS_PENDING: AtomicU64 = AtomicU64::new(0);

/// New processes that could not be followed (`TRACED` full), per CPU; each is also marked in its
/// fork record (`FLAG_FORK_UNFOLLOWED`), but this count survives the fork record's loss.
#[map]
static UNFOLLOWED: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// A BTF-defined task-local storage map (libbpf's map definition convention: each field's
/// array length encodes one attribute). Task storage lives in the task itself, so a lookup is
/// a pointer walk, not a hash: the cheapest per-thread slot a tracing program can have.
#[repr(C)]
struct TaskStorageDef {
    r#type: *const [i32; BPF_MAP_TYPE_TASK_STORAGE as usize],
    map_flags: *const [i32; BPF_F_NO_PREALLOC as usize],
    key: *const i32,
    value: *const u64,
}

// SAFETY: the fields are BTF placeholders the loader reads; they are never dereferenced.
unsafe impl Sync for TaskStorageDef {}

/// Duration mode: entry time of each thread's current syscall.
#[unsafe(link_section = ".maps")]
#[unsafe(export_name = "ENTRY_TS")]
static ENTRY_TS: TaskStorageDef = TaskStorageDef {
    r#type: core::ptr::null(),
    map_flags: core::ptr::null(),
    key: core::ptr::null(),
    value: core::ptr::null(),
};

#[inline(always)]
fn entry_ts_slot(create: bool) -> *mut u64 {
    let flags = if create {
        BPF_LOCAL_STORAGE_GET_F_CREATE as u64
    } else {
        0
    };
    // SAFETY: ENTRY_TS is a task storage map; the task is the current one as a BTF pointer.
    unsafe {
        bpf_task_storage_get(
            core::ptr::from_ref(&ENTRY_TS).cast_mut().cast(),
            bpf_get_current_task_btf(),
            core::ptr::null_mut(),
            flags,
        )
    }
    .cast()
}

#[inline(always)]
fn offsets() -> KernelOffsets {
    // SAFETY: a plain read of a `.rodata` global; volatile so the compiler does not fold the
    // zero initialiser the loader overwrites.
    unsafe { core::ptr::read_volatile(&KERNEL_OFFSETS) }
}

/// The `SYSCALL_FLAGS` entry of 64-bit call `nr` (0 past the table).
#[inline(always)]
fn syscall_flags(nr: u64) -> u16 {
    if nr >= MAX_SYSCALL_NR as u64 {
        return 0;
    }
    // SAFETY: `nr` is inside the table; volatile for the same reason as `offsets`: the compiler
    // must not fold the zero initialiser the loader overwrites.
    unsafe { core::ptr::read_volatile(SYSCALL_FLAGS.as_ptr().add(nr as usize)) }
}

/// The `SYSCALL_FLAGS32` entry of i386 call `nr` (0 past the table).
#[inline(always)]
fn syscall_flags32(nr: u64) -> u16 {
    if nr >= MAX_SYSCALL_NR32 as u64 {
        return 0;
    }
    // SAFETY: as in `syscall_flags`.
    unsafe { core::ptr::read_volatile(SYSCALL_FLAGS32.as_ptr().add(nr as usize)) }
}

#[inline(always)]
fn trace_unknown() -> u16 {
    // SAFETY: plain read of a `.rodata` global, volatile as in `offsets`.
    unsafe { core::ptr::read_volatile(&TRACE_UNKNOWN) }
}

/// Whether the current thread is in a 32-bit syscall (`TS_COMPAT`).
#[inline(always)]
fn in_compat_syscall(task: *const u8) -> bool {
    // One field of the offsets, not a copy of them all: this runs on every call.
    // SAFETY: a plain read of a `.rodata` global, volatile as in `offsets`.
    let at =
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!(KERNEL_OFFSETS.task_ti_status)) };
    // A direct load through the task's BTF pointer (the offset comes from the frozen `.rodata`,
    // so the verifier knows it and checks it against `task_struct`'s type): on every call, this
    // is several times cheaper than a probe-read helper.
    // SAFETY: `task` is `bpf_get_current_task_btf()`; the verifier checks the access.
    let status = unsafe { core::ptr::read_volatile(task.add(at as usize).cast::<u32>()) };
    status & TS_COMPAT != 0
}

/// Counts a record of `kind` the ring had no room for, and adds it to this CPU's pending gap.
#[inline(always)]
fn count_lost(kind: u32) {
    if let Some(counter) = LOST.get_ptr_mut(kind) {
        // SAFETY: per-CPU slot, no concurrent writer on this CPU while the program runs.
        unsafe { *counter += 1 };
    }
    let Some(gap) = GAPS.get_ptr_mut(0) else {
        return;
    };
    let pid_tgid = bpf_get_current_pid_tgid();
    let (tgid, tid) = ((pid_tgid >> 32) as u32, pid_tgid as u32);
    // SAFETY: helper without preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    // SAFETY: this CPU's slot; its only writer runs here, with preemption disabled.
    unsafe {
        let lost = &mut (*gap).lost;
        if lost[0] == 0 && lost[1] == 0 {
            (*gap).kind = KIND_GAP;
            (*gap).flags = 0;
            (*gap).cpu = bpf_get_smp_processor_id();
            (*gap).tgid = tgid;
            (*gap).tid = tid;
            (*gap).pad = 0;
            (*gap).first_ts_ns = now;
            pending_cpus_add(1);
        } else {
            if (*gap).tid != tid {
                (*gap).flags |= FLAG_GAP_THREADS;
            }
            if (*gap).tgid != tgid {
                (*gap).flags |= FLAG_GAP_PROCESSES;
            }
        }
        (*gap).last_ts_ns = now;
        if kind == LOST_SYSCALL {
            lost[0] += 1;
        } else {
            lost[1] += 1;
        }
    }
}

/// Zeroes the `N` words at `at` with one store each. A zero array in a struct literal or an
/// assignment is lowered to a call of aya-ebpf's `memset`, a byte loop that runs (and that the
/// verifier walks, once per state reaching it) 8 iterations per word.
#[inline(always)]
fn zero_words<const N: usize>(at: *mut [u64; N]) {
    let at = at.cast::<u64>();
    for i in 0..N {
        // SAFETY: `at` points at `N` writable words (the caller's field).
        unsafe { core::ptr::write_volatile(at.add(i), 0) };
    }
}

/// Adds `n` (wrapping: `u64::MAX` subtracts one) to `GAPS_PENDING`, atomically.
#[inline(always)]
fn pending_cpus_add(n: u64) {
    // SAFETY: an aligned `.bss` global; the result is unused, so this is a plain BPF_ATOMIC add.
    unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(GAPS_PENDING.as_ptr(), n) };
}

/// Writes this CPU's pending gap, if any, before the caller's own record (of `kind`). Costs one
/// plain load while nothing is lost anywhere. If the gap cannot be written (the ring is still
/// full), the caller's record is counted lost into it and `Err` returned: the caller writes
/// nothing, so no record of this CPU ever precedes the gap before it.
#[inline(always)]
fn flush_gap(kind: u32) -> Result<(), i32> {
    // SAFETY: a plain read of a `.bss` global that only atomic adds change.
    if unsafe { core::ptr::read_volatile(GAPS_PENDING.as_ptr()) } == 0 {
        return Ok(());
    }
    let Some(gap) = GAPS.get_ptr_mut(0) else {
        return Ok(());
    };
    // SAFETY: this CPU's slot (see `count_lost`).
    let event = unsafe { *gap };
    if event.lost[0] == 0 && event.lost[1] == 0 {
        // The pending gap is another CPU's.
        return Ok(());
    }
    if ring_output(&event).is_err() {
        count_lost(kind);
        return Err(0);
    }
    // SAFETY: as above.
    zero_words(unsafe { core::ptr::addr_of_mut!((*gap).lost) });
    pending_cpus_add(u64::MAX);
    Ok(())
}

#[inline(always)]
fn is_traced(tgid: u32) -> bool {
    let Some(page) = TRACED_SET.get_ptr(tgid / TRACED_SET_PAGE) else {
        // Past PID_MAX_LIMIT: no such process can exist, but the set's authority answers.
        // SAFETY: the value is only tested for presence.
        return unsafe { TRACED.get(&tgid) }.is_some();
    };
    let at = (tgid % TRACED_SET_PAGE) as usize;
    // SAFETY: `page` is an element of the array, `at` inside it (no reference is made: user
    // space writes the bytes meanwhile, through its mapping).
    unsafe { core::ptr::read_volatile(page.cast::<u8>().add(at)) != 0 }
}

/// Sets (or clears) `tgid`'s byte in `TRACED_SET`.
#[inline(always)]
fn set_traced(tgid: u32, traced: bool) {
    if let Some(page) = TRACED_SET.get_ptr_mut(tgid / TRACED_SET_PAGE) {
        let at = (tgid % TRACED_SET_PAGE) as usize;
        // SAFETY: as in `is_traced`; a byte store leaves the other ids' bytes alone.
        unsafe { core::ptr::write_volatile(page.cast::<u8>().add(at), u8::from(traced)) };
    }
}

/// The current task's thread group id and thread id, read through its BTF pointer: two direct
/// loads, where `bpf_get_current_pid_tgid` is one more helper call on a path that already has
/// the task.
#[inline(always)]
fn task_ids(task: *const u8) -> (u32, u32) {
    // SAFETY: plain reads of `.rodata` globals, volatile as in `offsets`.
    let (tgid_at, pid_at) = unsafe {
        (
            core::ptr::read_volatile(core::ptr::addr_of!(KERNEL_OFFSETS.task_tgid)),
            core::ptr::read_volatile(core::ptr::addr_of!(KERNEL_OFFSETS.task_pid)),
        )
    };
    // SAFETY: `task` is `bpf_get_current_task_btf()`; the verifier checks both accesses
    // against `task_struct` (the offsets are known: the `.rodata` is frozen).
    unsafe {
        (
            core::ptr::read_volatile(task.add(tgid_at as usize).cast::<u32>()),
            core::ptr::read_volatile(task.add(pid_at as usize).cast::<u32>()),
        )
    }
}

/// Reads a `T` at `base + offset` in kernel memory.
#[inline(always)]
unsafe fn read_field<T>(base: *const u8, offset: u32) -> Result<T, i32> {
    // SAFETY: bpf_probe_read_kernel faults safely on a bad address.
    unsafe { bpf_probe_read_kernel(base.add(offset as usize) as *const T) }
}

/// Reads one register through the BTF-typed `pt_regs` pointer: a direct, verifier-checked load
/// (tp_btf programs may dereference their typed arguments), cheaper than a probe-read helper.
macro_rules! reg {
    ($regs:expr, $field:ident) => {
        // SAFETY: `$regs` is the tracepoint's `struct pt_regs *` (a BTF pointer); the verifier
        // checks the offset against the kernel's type, and faults read as zero.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*$regs).$field)) }
    };
}

/// The six argument registers of the call in `regs`: bx, cx, dx, si, di, bp for a 32-bit call
/// (arch/x86/entry/entry_64_compat.S), di, si, dx, r10, r8, r9 otherwise.
#[inline(always)]
fn call_args(regs: *const PtRegs, compat: bool) -> [u64; 6] {
    if compat {
        [
            reg!(regs, bx),
            reg!(regs, cx),
            reg!(regs, dx),
            reg!(regs, si),
            reg!(regs, di),
            reg!(regs, bp),
        ]
    } else {
        [
            reg!(regs, di),
            reg!(regs, si),
            reg!(regs, dx),
            reg!(regs, r10),
            reg!(regs, r8),
            reg!(regs, r9),
        ]
    }
}

#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter(ctx: BtfTracePointContext) -> i32 {
    match try_sys_enter(&ctx) {
        Ok(ret) | Err(ret) => ret,
    }
}

fn try_sys_enter(ctx: &BtfTracePointContext) -> Result<i32, i32> {
    // SAFETY: helper returning the current task as a BTF pointer.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    let (tgid, tid) = task_ids(task);
    if !is_traced(tgid) {
        return Ok(0);
    }
    // SAFETY: helper without preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    let slot = entry_ts_slot(true);
    if !slot.is_null() {
        // SAFETY: a non-null task storage slot of the current task, sized for a u64. Bit 0 is
        // kept clear: it marks a call whose arguments the exit must read (below).
        unsafe { *slot = now & !1 };
    }
    // SAFETY: plain read of a `.rodata` global.
    if unsafe { core::ptr::read_volatile(&ENTRY_PATHS) } == 0 {
        return Ok(0);
    }
    // include/trace/events/syscalls.h: TP_PROTO(struct pt_regs *regs, long id). At entry the
    // number is the one the program asked for (no rt_sigreturn ambiguity yet).
    let regs: *const PtRegs = ctx.arg(0);
    let compat = in_compat_syscall(task);
    let raw_nr = reg!(regs, orig_ax);
    let sc = if compat {
        syscall_flags32(u64::from(raw_nr as u32))
    } else if raw_nr & X32_SYSCALL_BIT != 0 && raw_nr < X32_SYSCALL_BIT + MAX_SYSCALL_NR as u64 {
        syscall_flags(raw_nr & (MAX_SYSCALL_NR as u64 - 1))
    } else {
        syscall_flags(raw_nr)
    };
    let (path, path2, sock) = entry_arguments(sc);
    if sc & SC_TRACE == 0 || path | path2 | sock == 0 {
        return Ok(0);
    }
    flush_gap(LOST_SYSCALL)?;
    let args = call_args(regs, compat);
    let head = SyscallEvent {
        kind: KIND_ENTRY_DATA,
        flags: if compat { FLAG_COMPAT } else { 0 },
        tgid,
        tid,
        nr: raw_nr as i32,
        path_len: 0,
        ts_ns: now,
        // Zeros the compiler cannot see, or the two adjacent ones become a `memset` call (see
        // `zero_words`).
        duration_ns: core::hint::black_box(0),
        ret: core::hint::black_box(0),
        args,
    };
    if !write_data(KIND_ENTRY_DATA, head, &args, path, path2, sock, sc) && !slot.is_null() {
        // No entry record: the exit reads the arguments (bit 0 of the entry time says so).
        // SAFETY: as above.
        unsafe { *slot = now | 1 };
    }
    Ok(0)
}

/// The arguments `sys_enter` reads (1-based indexes, 0: none) of a call with flags `sc`: its
/// paths and a socket address the program gives (connect, bind, sendto), not one the kernel
/// fills in (accept, recvfrom: read at exit).
#[inline(always)]
fn entry_arguments(sc: u16) -> (u16, u16, u16) {
    let sock = if sc & SC_SOCK_LEN_PTR != 0 {
        0
    } else {
        (sc & SC_SOCK_MASK) >> SC_SOCK_SHIFT
    };
    (
        (sc & SC_PATH_MASK) >> SC_PATH_SHIFT,
        (sc & SC_PATH2_MASK) >> SC_PATH2_SHIFT,
        sock,
    )
}

#[btf_tracepoint(function = "sys_exit")]
pub fn sys_exit(ctx: BtfTracePointContext) -> i32 {
    match try_sys_exit(&ctx) {
        Ok(ret) | Err(ret) => ret,
    }
}

fn try_sys_exit(ctx: &BtfTracePointContext) -> Result<i32, i32> {
    // SAFETY: helper returning the current task as a BTF pointer.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    let (tgid, tid) = task_ids(task);
    if !is_traced(tgid) {
        return Ok(0);
    }
    flush_gap(LOST_SYSCALL)?;
    // include/trace/events/syscalls.h: TP_PROTO(struct pt_regs *regs, long ret).
    let regs: *const PtRegs = ctx.arg(0);
    let ret: i64 = ctx.arg(1);
    // A 32-bit call has i386 numbers and argument registers (arch/x86/entry/entry_64_compat.S,
    // and `int $0x80` from 64-bit code: entry_64_compat.S entry_INT80_compat).
    let compat = in_compat_syscall(task);
    let raw_nr = reg!(regs, orig_ax);
    let mut flags = 0;
    let (nr, sc) = if compat {
        flags |= FLAG_COMPAT;
        // The 32-bit entry zero-extends eax into orig_ax; restore_sigcontext stores -1.
        let nr = raw_nr as u32;
        if nr == u32::MAX {
            sigreturn_or_invalid(ret, IA32_RT_SIGRETURN_NR, &mut flags)
        } else if u64::from(nr) >= MAX_SYSCALL_NR32 as u64 {
            flags |= FLAG_BAD_NR;
            (u64::from(nr), trace_unknown())
        } else {
            (u64::from(nr), syscall_flags32(u64::from(nr)))
        }
    } else if raw_nr == u64::MAX {
        sigreturn_or_invalid(ret, RT_SIGRETURN_NR, &mut flags)
    } else if raw_nr & X32_SYSCALL_BIT != 0 && raw_nr < X32_SYSCALL_BIT + MAX_SYSCALL_NR as u64 {
        // An x32 call: x86_64's numbers (and its own from 512) with the x32 bit; the flags of
        // the number without it (the path arguments are the same).
        flags |= FLAG_X32;
        (raw_nr, syscall_flags(raw_nr & (MAX_SYSCALL_NR as u64 - 1)))
    } else if raw_nr >= MAX_SYSCALL_NR as u64 {
        // Out of every table (`syscall(5000)`): the kernel saw it and returned -ENOSYS.
        flags |= FLAG_BAD_NR;
        (raw_nr, trace_unknown())
    } else {
        (raw_nr, syscall_flags(raw_nr))
    };
    if sc & SC_TRACE == 0 {
        return Ok(0);
    }
    // SAFETY: plain reads of `.rodata` globals.
    let (durations, entry_paths) = unsafe {
        (
            core::ptr::read_volatile(&WANT_DURATIONS) != 0,
            core::ptr::read_volatile(&ENTRY_PATHS) != 0,
        )
    };
    // The exit time, now only when an entry time is compared with it. Otherwise the record is
    // stamped once, as it enters the ring (below, and in `write_data`): one clock read a call
    // (a serialising TSC read, a few percent of a file-walking workload's time) where there
    // were two on every path record.
    let now = if durations || entry_paths {
        // SAFETY: helper without preconditions.
        unsafe { bpf_ktime_get_ns() }
    } else {
        0
    };
    if (ERESTART_FIRST..=ERESTART_LAST).contains(&ret) || ret == NEG_EINTR {
        // Rare path: was the call cut short because the thread is being killed?
        let off = offsets();
        // SAFETY: the read faults safely.
        if let Ok(pending) = unsafe { read_field::<u64>(task, off.task_pending_signal) }
            && pending & SIGKILL_BIT != 0
        {
            flags |= FLAG_KILLED;
        }
    } else if ret as u32 == raw_nr as u32 {
        // seccomp's RET_TRAP and RET_KILL_* roll the number back into the return register
        // (syscall_rollback) and send SIGSYS to the thread before skipping the call
        // (kernel/seccomp.c __seccomp_filter): "returned its own number" plus SIGSYS pending is
        // a call that never ran; a kill action also marks the task SECCOMP_MODE_DEAD. (A call
        // that really returns its own number while a SIGSYS is pending would be taken for a
        // trap: docs/DESIGN.md.)
        let off = offsets();
        // SAFETY: the reads fault safely.
        if let Ok(pending) = unsafe { read_field::<u64>(task, off.task_pending_signal) }
            && pending & SIGSYS_BIT != 0
        {
            // SAFETY: as above.
            let mode = unsafe { read_field::<u32>(task, off.task_seccomp_mode) }.unwrap_or(0);
            flags |= if mode == SECCOMP_MODE_DEAD {
                FLAG_SECCOMP_KILL
            } else {
                FLAG_SECCOMP_TRAP
            };
        }
    }
    let mut ts_ns = now;
    let mut duration_ns = 0;
    // Whether sys_enter saw this call (seccomp-stopped calls skip it) and wrote its arguments
    // (bit 0 of the entry time clear).
    let mut entered = false;
    if durations || entry_paths {
        let slot = entry_ts_slot(false);
        if !slot.is_null() {
            // SAFETY: a non-null task storage slot of the current task.
            let entry = unsafe { *slot };
            // Cleared so a call that skips sys_enter (seccomp, ptrace) is not paired with the
            // previous call's entry.
            // SAFETY: as above.
            unsafe { *slot = 0 };
            if entry != 0 && entry <= now {
                entered = entry & 1 == 0;
                let entry = entry & !1;
                if durations {
                    ts_ns = entry;
                    duration_ns = now - entry;
                    flags |= FLAG_HAS_DURATION;
                }
            }
        }
    }
    let args = call_args(regs, compat);
    let head = SyscallEvent {
        kind: KIND_SYSCALL,
        flags,
        tgid,
        tid,
        nr: nr as i32,
        path_len: 0,
        ts_ns,
        duration_ns,
        ret,
        args,
    };
    let mut path_arg = (sc & SC_PATH_MASK) >> SC_PATH_SHIFT;
    let mut path2_arg = (sc & SC_PATH2_MASK) >> SC_PATH2_SHIFT;
    let mut sock_arg = (sc & SC_SOCK_MASK) >> SC_SOCK_SHIFT;
    if entry_paths && entered && flags & FLAG_BAD_NR == 0 {
        let (p, p2, s) = entry_arguments(sc);
        if p | p2 | s != 0 {
            // Read at entry: the record before this one of the thread holds them.
            flags |= FLAG_ENTRY_DATA;
            path_arg = 0;
            path2_arg = 0;
            if s != 0 {
                sock_arg = 0;
            }
        }
    }
    let head = SyscallEvent { flags, ..head };
    if path_arg | path2_arg | sock_arg == 0 {
        let head = if now == 0 {
            // SAFETY: a plain read of a `.rodata` global; the helper has no preconditions.
            let ts_ns = if unsafe { core::ptr::read_volatile(&TEST_NO_CLOCK) } != 0 {
                0
            } else {
                unsafe { bpf_ktime_get_ns() }
            };
            SyscallEvent { ts_ns, ..head }
        } else {
            head
        };
        if ring_output(&head).is_err() {
            count_lost(LOST_SYSCALL);
        }
        return Ok(0);
    }
    write_data(
        KIND_SYSCALL_DATA,
        head,
        &args,
        path_arg,
        path2_arg,
        sock_arg,
        sc,
    );
    Ok(0)
}

/// A call whose `orig_ax` is -1 at exit: rt_sigreturn (restore_sigcontext sets orig_ax to -1,
/// arch/x86/kernel/signal_64.c, so at exit it names no call) or a call made with number -1,
/// which the kernel answers with -ENOSYS. rt_sigreturn returns the restored ax instead: the
/// interrupted context's, which is -ENOSYS only if that context was itself an unknown call's
/// return (the remaining ambiguity, docs/DESIGN.md).
#[inline(always)]
fn sigreturn_or_invalid(ret: i64, sigreturn_nr: u64, flags: &mut u32) -> (u64, u16) {
    if ret == NEG_ENOSYS as i64 {
        *flags |= FLAG_BAD_NR;
        (u64::MAX, trace_unknown())
    } else if *flags & FLAG_COMPAT != 0 {
        (sigreturn_nr, syscall_flags32(sigreturn_nr))
    } else {
        (sigreturn_nr, syscall_flags(sigreturn_nr))
    }
}

/// Argument `idx` (1-based, as the flag tables store it) of `args`.
#[inline(always)]
fn arg_at(args: &[u64; 6], idx: u16) -> u64 {
    match idx {
        1 => args[0],
        2 => args[1],
        3 => args[2],
        4 => args[3],
        5 => args[4],
        _ => args[5],
    }
}

/// Reads the NUL-terminated string at `ptr` into `dest` (one slot); returns its length and
/// status. A string that fills the slot is looked at one byte further: only if that byte is not
/// its NUL was it cut.
#[inline(always)]
fn read_string(ptr: u64, dest: &mut [u8; DATA_SLOT_BYTES]) -> (u32, u16) {
    if ptr == 0 {
        return (0, DATA_NULL);
    }
    // SAFETY: the helper faults safely on a bad user address.
    match unsafe { bpf_probe_read_user_str_bytes(ptr as *const u8, dest) } {
        Ok(bytes) => {
            let len = bytes.len() as u32;
            let mut status = 0;
            if len as usize == DATA_SLOT_BYTES - 1 {
                // SAFETY: as above.
                let next = unsafe {
                    aya_ebpf::helpers::bpf_probe_read_user::<u8>(
                        (ptr + DATA_SLOT_BYTES as u64 - 1) as *const u8,
                    )
                };
                if next != Ok(0) {
                    status |= DATA_CUT;
                }
            }
            (len, status)
        }
        Err(_) => (0, DATA_FAULT),
    }
}

/// Reads the socket address of `len` bytes at `ptr` (at most `SOCKADDR_BYTES`).
#[inline(always)]
fn read_sockaddr(ptr: u64, len: u64, dest: &mut [u8; DATA_SLOT_BYTES]) -> (u32, u16) {
    if ptr == 0 || len == 0 {
        return (0, DATA_NULL);
    }
    let mut status = 0;
    let mut n = len as usize;
    if n > SOCKADDR_BYTES {
        n = SOCKADDR_BYTES;
        status |= DATA_CUT;
    }
    // Bounded for the verifier: 0 < n <= SOCKADDR_BYTES, a power of two.
    let read = if n == SOCKADDR_BYTES {
        // SAFETY: the helper faults safely.
        unsafe { bpf_probe_read_user_buf(ptr as *const u8, &mut dest[..SOCKADDR_BYTES]) }
    } else {
        let n = n & (SOCKADDR_BYTES - 1);
        // SAFETY: as above.
        unsafe { bpf_probe_read_user_buf(ptr as *const u8, &mut dest[..n]) }
    };
    match read {
        Ok(()) => (n as u32, status),
        Err(_) => (0, DATA_FAULT),
    }
}

/// Writes a `KIND_SYSCALL_DATA` record: the call and the user memory its arguments point at
/// (first and second path, or a socket address), read now, at exit (docs/DESIGN.md says what
/// that can and cannot show).
#[inline(always)]
/// At entry (`KIND_ENTRY_DATA`), a read that faults writes nothing and returns `false`: the
/// page was not resident yet (a string constant the program never touched), and the exit read,
/// after the kernel's own copy faulted it in, takes its place.
fn write_data(
    kind: u32,
    head: SyscallEvent,
    args: &[u64; 6],
    path: u16,
    path2: u16,
    sock: u16,
    sc: u16,
) -> bool {
    let Some(scratch) = SCRATCH.get_ptr_mut(0) else {
        count_lost(LOST_SYSCALL);
        return false;
    };
    // SAFETY: the per-CPU slot is this program's alone while it runs (no preemption of a BPF
    // program by another on the same CPU touching SCRATCH: only this one does).
    let scratch = unsafe { &mut *scratch };
    scratch.head.event = SyscallEvent { kind, ..head };
    // `len`, `what` and `status`: the head's last 16 bytes, two words from an 8-byte offset.
    const TAIL: usize = core::mem::offset_of!(SyscallDataHead, len);
    const _: () = assert!(
        TAIL % 8 == 0 && TAIL + 16 == core::mem::size_of::<SyscallDataHead>(),
        "len, what and status are the head's two last words"
    );
    // SAFETY: a pointer to the whole head, so both words are inside what it may write
    // (asserted above).
    zero_words(unsafe {
        core::ptr::addr_of_mut!(scratch.head)
            .cast::<u8>()
            .add(TAIL)
            .cast::<[u64; 2]>()
    });
    // SAFETY: `data` is 2 * DATA_SLOT_BYTES long: two slot-sized halves.
    let (slot0, slot1) = unsafe {
        let base = scratch.data.as_mut_ptr();
        (
            &mut *(base as *mut [u8; DATA_SLOT_BYTES]),
            &mut *(base.add(DATA_SLOT_BYTES) as *mut [u8; DATA_SLOT_BYTES]),
        )
    };
    let mut size = core::mem::size_of::<SyscallDataHead>();
    if sock != 0 {
        let ptr = arg_at(args, sock);
        let mut len = arg_at(args, sock + 1);
        if sc & SC_SOCK_LEN_PTR != 0 {
            // accept/accept4: the length the kernel wrote back (0 when the pointer is NULL).
            len = if len == 0 {
                0
            } else {
                // SAFETY: the helper faults safely.
                unsafe { aya_ebpf::helpers::bpf_probe_read_user::<u32>(len as *const u32) }
                    .map_or(0, u64::from)
            };
        }
        let (n, status) = read_sockaddr(ptr, len, slot0);
        scratch.head.len[0] = n;
        scratch.head.what[0] = DATA_SOCKADDR;
        scratch.head.status[0] = status;
        size += n as usize;
    } else if path != 0 {
        let (n, status) = read_string(arg_at(args, path), slot0);
        scratch.head.len[0] = n;
        scratch.head.what[0] = DATA_PATH;
        scratch.head.status[0] = status;
        size += n as usize;
    }
    if path2 != 0 {
        let (n, status) = read_string(arg_at(args, path2), slot1);
        scratch.head.len[1] = n;
        scratch.head.what[1] = DATA_PATH;
        scratch.head.status[1] = status;
        size = core::mem::size_of::<SyscallDataHead>() + DATA_SLOT_BYTES + n as usize;
    }
    if size > core::mem::size_of::<DataScratch>() {
        return false;
    }
    if kind == KIND_ENTRY_DATA
        && (scratch.head.status[0] | scratch.head.status[1]) & DATA_FAULT != 0
    {
        return false;
    }
    if kind == KIND_SYSCALL_DATA && scratch.head.event.flags & FLAG_HAS_DURATION == 0 {
        // The exit time as the record enters the ring, after the string reads: each CPU's ring
        // stays in time order, which the reader's merge of the CPUs' rings relies on.
        // SAFETY: helper without preconditions.
        scratch.head.event.ts_ns = unsafe { bpf_ktime_get_ns() };
    }
    let size = size as u32;
    let Some(slot) = ring_reserve(size) else {
        count_lost(LOST_SYSCALL);
        return true;
    };
    // SAFETY: `size` bytes from the start of the scratch value are inside it (checked above),
    // and the slot has room for them; the helper copies kernel memory without faulting.
    unsafe {
        probe_read_kernel_raw(
            slot.data().cast(),
            size,
            core::ptr::from_ref(scratch).cast(),
        )
    };
    ring_commit(slot, size);
    true
}

#[btf_tracepoint(function = "sched_process_fork")]
pub fn sched_process_fork(ctx: BtfTracePointContext) -> i32 {
    match try_sched_process_fork(&ctx) {
        Ok(ret) | Err(ret) => ret,
    }
}

fn try_sched_process_fork(ctx: &BtfTracePointContext) -> Result<i32, i32> {
    let pid_tgid = bpf_get_current_pid_tgid();
    let parent_tgid = (pid_tgid >> 32) as u32;
    if !is_traced(parent_tgid) {
        return Ok(0);
    }
    let off = offsets();
    // include/trace/events/sched.h: TP_PROTO(struct task_struct *parent, struct task_struct *child).
    // kernel/fork.c calls it from the caller of fork/clone with `current` as `parent`, whatever
    // the child's real parent is (CLONE_PARENT, CLONE_THREAD: the caller's own parent).
    let child: *const u8 = ctx.arg(1);
    // SAFETY: BTF pointer to the new task; reads fault safely.
    let child_tid: u32 = unsafe { read_field(child, off.task_pid) }.map_err(|_| 0)?;
    // SAFETY: as above.
    let child_tgid: u32 = unsafe { read_field(child, off.task_tgid) }.map_err(|_| 0)?;
    // kernel/fork.c copy_process(): `p->real_parent` is set (to `current->real_parent` under
    // CLONE_PARENT|CLONE_THREAD, else `current`) before the tracepoint.
    // SAFETY: as above.
    let real_parent_tgid = match unsafe { read_field::<*const u8>(child, off.task_real_parent) } {
        // SAFETY: as above.
        Ok(parent) => unsafe { read_field::<u32>(parent, off.task_tgid) }.unwrap_or(parent_tgid),
        Err(_) => parent_tgid,
    };
    let mut flags = 0;
    // A new process: follow it before it is woken.
    if child_tid == child_tgid {
        if TRACED.insert(&child_tgid, &TRACED_LIVE, 0).is_ok() {
            set_traced(child_tgid, true);
        } else {
            // The map is full: the child runs untraced. Marked in its record and counted.
            flags |= FLAG_FORK_UNFOLLOWED;
            if let Some(counter) = UNFOLLOWED.get_ptr_mut(0) {
                // SAFETY: per-CPU slot, no concurrent writer on this CPU while the program runs.
                unsafe { *counter += 1 };
            }
        }
    }
    let comm = bpf_get_current_comm().unwrap_or([0; COMM_BYTES]);
    let event = ForkEvent {
        kind: KIND_FORK,
        flags,
        // SAFETY: helper without preconditions.
        ts_ns: unsafe { bpf_ktime_get_ns() },
        parent_tgid,
        parent_tid: pid_tgid as u32,
        child_tgid,
        child_tid,
        comm,
        real_parent_tgid,
        pad: 0,
    };
    // The gap goes after the filter update: a child is followed even when its record is lost.
    if flush_gap(LOST_LIFECYCLE).is_ok() && ring_output(&event).is_err() {
        count_lost(LOST_LIFECYCLE);
    }
    Ok(0)
}

#[btf_tracepoint(function = "sched_process_exec")]
pub fn sched_process_exec(ctx: BtfTracePointContext) -> i32 {
    match try_sched_process_exec(&ctx) {
        Ok(ret) | Err(ret) => ret,
    }
}

fn try_sched_process_exec(ctx: &BtfTracePointContext) -> Result<i32, i32> {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !is_traced(tgid) {
        return Ok(0);
    }
    flush_gap(LOST_LIFECYCLE)?;
    let off = offsets();
    // include/trace/events/sched.h: TP_PROTO(struct task_struct *p, pid_t old_pid,
    // struct linux_binprm *bprm).
    let task: *const u8 = ctx.arg(0);
    let old_pid: u64 = ctx.arg(1);
    let bprm: *const u8 = ctx.arg(2);
    let size = core::mem::size_of::<ExecEvent>() as u32;
    let Some(slot) = ring_reserve(size) else {
        count_lost(LOST_LIFECYCLE);
        return Ok(0);
    };
    let event = slot.data().cast::<ExecEvent>();
    // SAFETY: `event` is reserved ring memory of the right size, 8-aligned; kernel and user
    // reads fault safely.
    unsafe {
        (*event).kind = KIND_EXEC;
        (*event).flags = 0;
        (*event).ts_ns = bpf_ktime_get_ns();
        (*event).tgid = tgid;
        (*event).tid = pid_tgid as u32;
        (*event).old_tid = old_pid as u32;
        (*event).pad = 0;
        (*event).comm = bpf_get_current_comm().unwrap_or([0; COMM_BYTES]);
        (*event).filename_len = 0;
        (*event).filename[0] = 0;
        if let Ok(name) = read_field::<*const u8>(bprm, off.bprm_filename)
            && let Ok(bytes) = bpf_probe_read_kernel_str_bytes(name, &mut (*event).filename)
        {
            (*event).filename_len = bytes.len() as u32;
        }
        (*event).argv_len = 0;
        if let Ok(mm) = read_field::<*const u8>(task, off.task_mm)
            && let Ok(start) = read_field::<u64>(mm, off.mm_arg_start)
            && let Ok(end) = read_field::<u64>(mm, off.mm_arg_start + 8)
            && end > start
        {
            let mut len = (end - start) as usize;
            if len > ARGV_BYTES {
                len = ARGV_BYTES;
            }
            // Bounded for the verifier: ARGV_BYTES is a power of two, and len <= ARGV_BYTES.
            let buf = &mut (*event).argv;
            if len == ARGV_BYTES {
                if bpf_probe_read_user_buf(start as *const u8, buf).is_ok() {
                    (*event).argv_len = ARGV_BYTES as u32;
                }
            } else {
                let len = len & (ARGV_BYTES - 1);
                if bpf_probe_read_user_buf(start as *const u8, &mut buf[..len]).is_ok() {
                    (*event).argv_len = len as u32;
                }
            }
        }
    }
    ring_commit(slot, size);
    Ok(0)
}

#[btf_tracepoint(function = "sched_process_exit")]
pub fn sched_process_exit(ctx: BtfTracePointContext) -> i32 {
    match try_sched_process_exit(&ctx) {
        Ok(ret) | Err(ret) => ret,
    }
}

fn try_sched_process_exit(_ctx: &BtfTracePointContext) -> Result<i32, i32> {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !is_traced(tgid) {
        return Ok(0);
    }
    let tid = pid_tgid as u32;
    let off = offsets();
    // kernel/exit.c do_exit(): `group_dead = atomic_dec_and_test(&tsk->signal->live)` and
    // `tsk->exit_code = code` both precede trace_sched_process_exit(), so `live == 0` here means
    // every thread of the group is exiting: the process ended.
    // SAFETY: helper returning the current task as a BTF pointer.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    // SAFETY: reads of the current task's fields fault safely.
    let exit_code: u32 = unsafe { read_field(task, off.task_exit_code) }.unwrap_or(0);
    let mut flags = 0;
    let mut last_thread = false;
    // SAFETY: as above.
    if let Ok(signal) = unsafe { read_field::<*const u8>(task, off.task_signal) }
        // SAFETY: as above.
        && let Ok(live) = unsafe { read_field::<i32>(signal, off.signal_live) }
        && live == 0
    {
        flags |= FLAG_GROUP_DEAD;
        // kernel/exit.c: `signal->nr_threads` drops in release_task(), after this tracepoint,
        // so 1 here means no other thread of the group exists: none has an exit record to
        // come.
        // SAFETY: as above.
        last_thread = unsafe { read_field::<i32>(signal, off.signal_nr_threads) } == Ok(1);
    }
    let mut nr: i32 = -1;
    let mut args = [0u64; 6];
    // Read through the BTF pointer the helper returns (direct, verifier-checked loads, as
    // `sys_exit` reads its `regs`): no 168-byte copy on the stack, which the verifier would
    // carry through every state of this program.
    // SAFETY: bpf_task_pt_regs takes the BTF task pointer from bpf_get_current_task_btf.
    let regs = unsafe { bpf_task_pt_regs(task as *mut _) } as *const PtRegs;
    // `ax` still -ENOSYS: the task entered a syscall that never returned (exit, exit_group).
    // A call interrupted by a fatal signal returns through sys_exit first. Since ENOSYS is 32
    // bits, compare only the low half (a 32-bit task's ax is zero-extended).
    let enosys = reg!(regs, ax) as u32 == NEG_ENOSYS as u32;
    if enosys {
        let compat = in_compat_syscall(task);
        let raw_nr = reg!(regs, orig_ax);
        let (call, exits) = if compat {
            let nr32 = u64::from(raw_nr as u32);
            (nr32, nr32 == IA32_EXIT_NR || nr32 == IA32_EXIT_GROUP_NR)
        } else {
            (raw_nr, raw_nr == EXIT_NR || raw_nr == EXIT_GROUP_NR)
        };
        // SECCOMP_RET_KILL_THREAD in a process with other threads: do_exit(SIGSYS) inside the
        // seccomp check, before sys_exit: this is the call's only trace.
        let seccomp =
            !exits && exit_code & 0x7f == SIGSYS && (compat || raw_nr < MAX_SYSCALL_NR as u64);
        if exits || seccomp {
            nr = call as i32;
            args = call_args(regs, compat);
            let sc = if compat {
                syscall_flags32(call)
            } else {
                syscall_flags(call)
            };
            if sc & SC_TRACE != 0 {
                flags |= FLAG_IN_SYSCALL;
                if compat {
                    flags |= FLAG_EXIT_COMPAT;
                }
                if seccomp {
                    flags |= FLAG_EXIT_SECCOMP;
                }
            }
        }
    }
    let mut event = core::mem::MaybeUninit::<ExitEvent>::uninit();
    let at = event.as_mut_ptr();
    // SAFETY: every field of `event` is written here, `pad` word by word (see `zero_words`).
    let event = unsafe {
        core::ptr::addr_of_mut!((*at).kind).write(KIND_EXIT);
        core::ptr::addr_of_mut!((*at).flags).write(flags);
        core::ptr::addr_of_mut!((*at).ts_ns).write(bpf_ktime_get_ns());
        core::ptr::addr_of_mut!((*at).tgid).write(tgid);
        core::ptr::addr_of_mut!((*at).tid).write(tid);
        core::ptr::addr_of_mut!((*at).exit_code).write(exit_code);
        core::ptr::addr_of_mut!((*at).nr).write(nr);
        core::ptr::addr_of_mut!((*at).args).write(args);
        zero_words(core::ptr::addr_of_mut!((*at).pad));
        // A reference, not a copy (a copy of a struct with a zero array is a `memset` again).
        event.assume_init_ref()
    };
    // A record carrying the thread's exit or exit_group row loses that row: a syscall.
    let kind = if flags & FLAG_IN_SYSCALL != 0 {
        LOST_SYSCALL
    } else {
        LOST_LIFECYCLE
    };
    // SAFETY: plain read of a `.rodata` global.
    if unsafe { core::ptr::read_volatile(&TEST_LOSE_EXITS) } != 0 {
        count_lost(kind);
    } else if flush_gap(kind).is_ok() && ring_output(event).is_err() {
        // (The gap is written here, once the record's kind is known, and the filter below is
        // updated whatever happens to the record.)
        count_lost(kind);
    }
    // After the record is in the ring: user space ends a capture once the filter is empty.
    if last_thread {
        // The process has ended and its last record is written: it leaves the filter now,
        // before its pid can be reused.
        set_traced(tgid, false);
        let _ = TRACED.remove(&tgid);
    } else if flags & FLAG_GROUP_DEAD != 0 {
        // Other threads of the group may still reach this tracepoint after us (each decrements
        // `live` earlier, in do_exit). User space removes dying entries after a grace period.
        // BPF_EXIST: only while still followed; if user space has just removed it, this must
        // not bring back a key without its `TRACED_SET` byte.
        let _ = TRACED.insert(&tgid, &TRACED_DYING, BPF_EXIST as u64);
    }
    Ok(0)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
