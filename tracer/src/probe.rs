//! Loading and attaching the eBPF programs, and the user side of their maps: the traced-process
//! set, the per-syscall flags, the ring buffer and the loss counters.
//!
//! Start-up is on the user's clock (`tracer record -- true` should take a few tens of ms): the
//! kernel's BTF is mapped once for our own reads of it and not parsed by aya at all
//! (`LoaderThread`), the programs attach through a BTF reduced to their targets' ids and are
//! verified on two threads, and the per-syscall flags are part of the object's `.rodata`,
//! written with it in one map update, not one `bpf()` call per entry.

use aya::{
    Btf as AyaBtf, Ebpf, EbpfLoader, Endianness,
    maps::{HashMap, Map, MapData, PerCpuArray},
    programs::BtfTracePoint,
};
use tracer_common::{
    GapEvent, KernelOffsets, LOST_KINDS, MAX_SYSCALL_NR, MAX_SYSCALL_NR32, RING_CHUNK_BYTES,
    RING_HEADER_BYTES, RING_MAX_RECORD_BYTES, RING_SLACK_BYTES, RingGeometry, SC_PATH_SHIFT,
    SC_PATH2_SHIFT, SC_SOCK_LEN_PTR, SC_SOCK_SHIFT, SC_TRACE, TRACED_DYING, TRACED_LIVE,
    TRACED_SET_PAGE, TRACED_SET_PAGES,
};

use tracer_dataset::Arch;

use crate::btf::{self, Btf, BtfBytes, BtfError};

/// The compiled eBPF object (built by build.rs).
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(env!("TRACER_EBPF_OBJECT"));

/// Errors while setting up the kernel side.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// This binary was built without the eBPF object (build.rs stub mode).
    #[error(
        "this tracer was built without its eBPF programs ({0}); install the toolchain with \
         `cargo xtask setup` and rebuild"
    )]
    NoObject(&'static str),
    /// Kernel structure offsets could not be read.
    #[error("reading kernel structure layout from BTF")]
    Btf(#[from] BtfError),
    /// aya's BTF loader failed.
    #[error("loading kernel BTF for BTF tracepoints")]
    AyaBtf(#[source] aya::BtfError),
    /// The object or its maps could not be loaded.
    #[error("loading the eBPF object into the kernel")]
    Load(#[source] aya::EbpfError),
    /// A program failed to load or attach.
    #[error("loading or attaching eBPF program {name}")]
    Program {
        /// The program.
        name: &'static str,
        /// The cause.
        #[source]
        source: aya::programs::ProgramError,
    },
    /// A map operation failed.
    #[error("eBPF map {name}")]
    Map {
        /// The map.
        name: &'static str,
        /// The cause.
        #[source]
        source: aya::maps::MapError,
    },
    /// A program the object must define is missing.
    #[error("eBPF object has no program {0}")]
    MissingProgram(&'static str),
    /// A map the object must define is missing.
    #[error("eBPF object has no map {0}")]
    MissingMap(&'static str),
    /// The traced-process set could not be mapped into this process.
    #[error("mapping eBPF map TRACED_SET into memory")]
    MapMemory(#[source] std::io::Error),
    /// The requested ring size is not usable.
    #[error("--ring-bytes {0}: must be a power of two of at least 4096 bytes")]
    RingSize(u64),
    /// The possible CPUs (one ring each) could not be read.
    #[error("reading the possible CPUs from /sys/devices/system/cpu/possible")]
    Cpus(#[source] std::io::Error),
}

/// What the kernel side records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Ring buffer size in bytes (power of two, page multiple).
    pub ring_bytes: u32,
    /// Attach `sys_enter` too, for entry timestamps and durations.
    pub durations: bool,
    /// Attach `sys_enter` and read path arguments (and given socket addresses) there.
    pub entry_paths: bool,
    /// Syscall numbers to record; `None` for all.
    pub filter: Option<Vec<i32>>,
    /// Architecture of the syscall table.
    pub arch: Arch,
}

/// Test hook: the number of processes `TRACED` holds (the object's own 16,384 otherwise), so a
/// test can fill it with a few children (tests/tests/capture_fidelity.rs).
pub const TEST_TRACED_ENTRIES_ENV: &str = "TRACER_TEST_TRACED_ENTRIES";
/// Test hook: `1` makes the exit hook treat every exit record as lost (counted, and a gap), so a
/// test can check what a capture keeps without them (tests/tests/capture_fidelity.rs).
pub const TEST_LOSE_EXITS_ENV: &str = "TRACER_TEST_LOSE_EXITS";
/// Bench hook: `1` makes the exit hook skip the clock read of a plain record (its `ts_ns` is 0),
/// so `cargo xtask bench capture` can show what the read costs (xtask/src/capture_bench.rs).
/// The rows it leaves have no time: never for a real capture.
pub const TEST_NO_CLOCK_ENV: &str = "TRACER_TEST_NO_CLOCK";

/// The kernel structures whose members the programs read (`kernel_offsets`).
pub const KERNEL_STRUCTS: [&str; 7] = [
    "task_struct",
    "signal_struct",
    "mm_struct",
    "linux_binprm",
    "sigpending",
    "thread_info",
    "seccomp",
];

/// Reads the kernel structure offsets the programs need from the running kernel's BTF, parsed
/// for (at least) `KERNEL_STRUCTS`.
pub fn kernel_offsets(btf: &Btf) -> Result<KernelOffsets, BtfError> {
    Ok(KernelOffsets {
        task_pid: btf.member_offset("task_struct", "pid")?,
        task_tgid: btf.member_offset("task_struct", "tgid")?,
        task_exit_code: btf.member_offset("task_struct", "exit_code")?,
        task_signal: btf.member_offset("task_struct", "signal")?,
        task_mm: btf.member_offset("task_struct", "mm")?,
        signal_live: btf.member_offset("signal_struct", "live")?,
        mm_arg_start: btf.member_offset("mm_struct", "arg_start")?,
        bprm_filename: btf.member_offset("linux_binprm", "filename")?,
        task_pending_signal: btf.member_offset("task_struct", "pending")?
            + btf.member_offset("sigpending", "signal")?,
        signal_nr_threads: btf.member_offset("signal_struct", "nr_threads")?,
        task_ti_status: btf.member_offset("task_struct", "thread_info")?
            + btf.member_offset("thread_info", "status")?,
        task_seccomp_mode: btf.member_offset("task_struct", "seccomp")?
            + btf.member_offset("seccomp", "mode")?,
        task_real_parent: btf.member_offset("task_struct", "real_parent")?,
    })
}

/// What the programs need from the running kernel's BTF: the structure offsets, and the type
/// id of each hook's `btf_trace_<hook>` typedef (what a BTF tracepoint program attaches by).
fn kernel_layout(hooks: &[&str]) -> Result<(KernelOffsets, Vec<(String, u32)>), BtfError> {
    let typedefs: Vec<String> = hooks.iter().map(|h| format!("btf_trace_{h}")).collect();
    let mut names: Vec<&str> = KERNEL_STRUCTS.to_vec();
    names.extend(typedefs.iter().map(String::as_str));
    let bytes = BtfBytes::from_sys_fs()?;
    let btf = Btf::parse(&bytes, &names)?;
    let targets = typedefs
        .iter()
        .map(|name| {
            let id = btf
                .typedef_id(name)
                .ok_or_else(|| BtfError::NoTypedef(name.clone()))?;
            Ok((name.clone(), id))
        })
        .collect::<Result<_, BtfError>>()?;
    Ok((kernel_offsets(&btf)?, targets))
}

/// What the programs read of call `name`'s arguments: its path arguments and socket address
/// (`SC_PATH*`, `SC_SOCK*` bits of the flag tables).
fn argument_flags(name: &str) -> u16 {
    let mut f = 0;
    if let Some(idx) = tracer_dataset::arch::path_arg(name) {
        f |= (u16::from(idx) + 1) << SC_PATH_SHIFT;
    }
    if let Some(idx) = tracer_dataset::arch::second_path_arg(name) {
        f |= (u16::from(idx) + 1) << SC_PATH2_SHIFT;
    }
    if let Some((idx, len_is_ptr)) = tracer_dataset::arch::sockaddr_arg(name) {
        f |= (u16::from(idx) + 1) << SC_SOCK_SHIFT;
        if len_is_ptr {
            f |= SC_SOCK_LEN_PTR;
        }
    }
    f
}

/// A flag table (`SYSCALL_FLAGS`, `SYSCALL_FLAGS32`) of `N` entries for `arch`'s numbers:
/// `SC_TRACE` for the calls recorded (all, or those of the -e filter, matched by name) and the
/// arguments read from user memory.
fn flag_table<const N: usize>(arch: Arch, filter: Option<&[&str]>) -> [u16; N] {
    let mut table = [0u16; N];
    if filter.is_none() {
        table.iter_mut().for_each(|f| *f = SC_TRACE);
    }
    for (nr, name) in arch.all() {
        let Some(f) = usize::try_from(nr).ok().and_then(|i| table.get_mut(i)) else {
            continue;
        };
        if filter.is_some_and(|names| names.contains(&name)) {
            *f |= SC_TRACE;
        }
        *f |= argument_flags(name);
    }
    table
}

/// The flag tables of the eBPF object: 64-bit numbers, i386 numbers (the -e filter applies to
/// both, by name), and the flag of numbers in neither (recorded unless -e chose a set).
fn syscall_flags(
    config: &ProbeConfig,
) -> (
    [u16; MAX_SYSCALL_NR as usize],
    [u16; MAX_SYSCALL_NR32 as usize],
    u16,
) {
    let names: Option<Vec<&str>> = config.filter.as_ref().map(|nrs| {
        nrs.iter()
            .filter_map(|nr| config.arch.name_of(i64::from(*nr)))
            .collect()
    });
    let table = flag_table(config.arch, names.as_deref());
    let compat = if config.arch == Arch::X86_64 {
        flag_table(Arch::X86, names.as_deref())
    } else {
        [0; MAX_SYSCALL_NR32 as usize]
    };
    let unknown = if config.filter.is_none() { SC_TRACE } else { 0 };
    (table, compat, unknown)
}

/// The programs by the verifier's time on them, longest first (measured on 6.18: the exit hook
/// about 11 ms, sys_exit 7, the others 1-3), so that two loading threads finish together.
const VERIFY_ORDER: [&str; 5] = [
    "sched_process_exit",
    "sys_exit",
    "sys_enter",
    "sched_process_fork",
    "sched_process_exec",
];

/// The loaded and attached programs with their maps.
pub struct Probe {
    ebpf: Ebpf,
    set: TracedSet,
    rings: RingLayout,
}

/// How `--ring-bytes` is laid out as per-CPU rings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingLayout {
    /// CPU ids a program can run on (the last possible id + 1, the kernel's `nr_cpu_ids`): one
    /// ring each.
    pub cpus: u32,
    /// Bytes of each CPU's ring (a power of two).
    pub bytes: u64,
    /// `RING_DATA` elements each CPU's ring takes.
    pub chunks: u32,
}

impl RingLayout {
    /// Smallest ring a CPU gets: room for the largest record (a call with two paths) and its
    /// header, rounded up to a power of two, so no record is too large for its ring.
    pub const MIN_BYTES: u64 =
        (RING_HEADER_BYTES as u64 + RING_MAX_RECORD_BYTES as u64).next_power_of_two();

    /// `total` bytes divided among `cpus` rings: each the largest power of two at most its
    /// share, and at least `MIN_BYTES`.
    pub fn new(total: u64, cpus: u32) -> Self {
        let cpus = cpus.max(1);
        let share = (total / u64::from(cpus)).max(Self::MIN_BYTES);
        let bytes = 1u64 << share.ilog2();
        let chunks = bytes.div_ceil(u64::from(RING_CHUNK_BYTES)) as u32;
        Self {
            cpus,
            bytes,
            chunks,
        }
    }

    /// Elements of the `RING_DATA` array.
    pub fn elements(&self) -> u32 {
        self.cpus * self.chunks
    }

    /// Kernel memory the rings take: every CPU's elements, slack included (a CPU's ring
    /// smaller than a chunk still takes a whole element).
    pub fn allocated_bytes(&self) -> u64 {
        u64::from(self.elements()) * u64::from(RING_CHUNK_BYTES + RING_SLACK_BYTES)
    }

    /// The layout as the dataset's metadata gives it: "CPUS x BYTES".
    pub fn describe(&self) -> String {
        format!("{} x {}", self.cpus, self.bytes)
    }

    pub fn geometry(&self) -> RingGeometry {
        RingGeometry {
            mask: self.bytes - 1,
            chunks: self.chunks,
            pad: 0,
        }
    }
}

/// The CPUs the kernel could ever run (`nr_cpu_ids` is its last id + 1).
const POSSIBLE_CPUS: &str = "/sys/devices/system/cpu/possible";

/// The CPU ids a list like `0-3,6` covers: its last id + 1 (a list with holes still has ids up
/// to its last).
fn cpu_ids(list: &str) -> std::io::Result<u32> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{list:?}"));
    let last = list
        .trim()
        .split(',')
        .map(|range| {
            let end = range.rsplit('-').next().unwrap_or(range);
            end.trim().parse::<u32>().map_err(|_| bad())
        })
        .try_fold(0u32, |max, id| id.map(|id| max.max(id)))?;
    last.checked_add(1).ok_or_else(bad)
}

/// The per-CPU rings' maps, for the drain thread.
pub struct RingMaps {
    /// `RING_DATA`: the rings' bytes.
    pub data: MapData,
    /// `RING_POS`: each CPU's head and tail.
    pub positions: MapData,
    /// Their layout.
    pub layout: RingLayout,
}

/// `TRACED`, the traced-process set's authority, as a typed map.
fn traced_map(ebpf: &mut Ebpf) -> Result<HashMap<&mut MapData, u32, u32>, ProbeError> {
    let map = ebpf
        .map_mut("TRACED")
        .ok_or(ProbeError::MissingMap("TRACED"))?;
    HashMap::try_from(map).map_err(|source| ProbeError::Map {
        name: "TRACED",
        source,
    })
}

/// Bytes of `TRACED_SET`: one per thread group id below PID_MAX_LIMIT.
const TRACED_SET_BYTES: usize = TRACED_SET_PAGE as usize * TRACED_SET_PAGES as usize;

/// The programs' per-syscall filter, `TRACED_SET` (one byte per thread group id, mirroring
/// `TRACED`'s keys), mapped into this process: a process's byte is written alone, where a map
/// update would rewrite its whole element, and with it the bytes of neighbouring ids the
/// programs may be setting at that moment (pids are handed out in sequence, so a traced
/// program's new children are its neighbours).
struct TracedSet {
    bytes: std::ptr::NonNull<u8>,
    /// The mapping `bytes` points into.
    _memory: MapMemory,
    /// The map, kept open for as long as it is mapped.
    _map: MapData,
}

// SAFETY: the mapping is owned by this value alone and unmapped once, on drop; its bytes are
// shared with the kernel only, and written and read with volatile single-byte accesses.
unsafe impl Send for TracedSet {}

impl TracedSet {
    fn map(map: MapData) -> Result<Self, ProbeError> {
        let memory = MapMemory::new(&map, TRACED_SET_BYTES, libc::PROT_READ | libc::PROT_WRITE)
            .map_err(ProbeError::MapMemory)?;
        let bytes =
            std::ptr::NonNull::new(memory.ptr().cast()).expect("mmap gave a non-null address");
        Ok(Self {
            bytes,
            _memory: memory,
            _map: map,
        })
    }

    /// Sets (or clears) `tgid`'s byte.
    fn set(&self, tgid: u32, traced: bool) {
        let at = tgid as usize;
        if at < TRACED_SET_BYTES {
            // SAFETY: inside the mapping, which lives as long as `self`; the programs access
            // it with single-byte loads and stores, as this one.
            let byte =
                unsafe { std::sync::atomic::AtomicU8::from_ptr(self.bytes.as_ptr().add(at)) };
            byte.store(u8::from(traced), std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Whether `tgid`'s byte is set.
    #[cfg(test)]
    fn get(&self, tgid: u32) -> bool {
        let at = tgid as usize;
        // SAFETY: inside the mapping, read as `set` writes.
        at < TRACED_SET_BYTES
            && unsafe { std::sync::atomic::AtomicU8::from_ptr(self.bytes.as_ptr().add(at)) }
                .load(std::sync::atomic::Ordering::Relaxed)
                != 0
    }

    /// Whether no byte is set (read word by word: about a quarter of a millisecond).
    fn is_empty(&self) -> bool {
        let words = self.bytes.as_ptr().cast::<u64>();
        (0..TRACED_SET_BYTES / 8).all(|i| {
            // SAFETY: the mapping is page aligned and TRACED_SET_BYTES long, a multiple of 8.
            let word = unsafe { std::sync::atomic::AtomicU64::from_ptr(words.add(i)) };
            word.load(std::sync::atomic::Ordering::Relaxed) == 0
        })
    }
}

/// A shared mapping of an mmapable array map's values (`TRACED_SET`, the per-CPU rings), which
/// the traced command, forked from this process, does not inherit: it must not get a way to
/// write the filter or the rings (it execs at once, which drops mappings too; this covers the
/// moments before). Unmapped on drop.
pub(crate) struct MapMemory {
    ptr: *mut libc::c_void,
    len: usize,
}

impl MapMemory {
    /// Maps the first `len` bytes (rounded up to a page) of `map` with protection `prot`.
    pub(crate) fn new(map: &MapData, len: usize, prot: libc::c_int) -> std::io::Result<Self> {
        use std::os::fd::{AsFd as _, AsRawFd as _};
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let len = len.next_multiple_of(page);
        // SAFETY: a fresh shared mapping of the map's fd; checked for failure.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                map.fd().as_fd().as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let memory = Self { ptr, len };
        // SAFETY: advice on the mapping just made (unmapped by `memory`'s drop on failure).
        if unsafe { libc::madvise(ptr, len, libc::MADV_DONTFORK) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(memory)
    }

    /// The mapping's first byte.
    pub(crate) fn ptr(&self) -> *mut libc::c_void {
        self.ptr
    }
}

impl Drop for MapMemory {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once; its users hold it as long as they use it.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// aya's loader, prepared on a thread of its own from the start of a capture so that it
/// overlaps the capture's other set-up. `Probe::load` joins it; so does dropping it, so the
/// launcher, which forks after, always does so from a single-threaded process.
///
/// aya 0.14's `EbpfLoader::new` reads and parses the kernel's whole BTF (about 20 ms here, the
/// largest part of start-up) for CO-RE relocations, which our object does not have (a test
/// checks): the offsets it needs come from our own read of the BTF (`kernel_layout`) and the
/// programs attach through a BTF of their targets' ids only. So the loader is made on a
/// thread whose root directory is `/proc/self/fdinfo` (its own filesystem attributes,
/// `unshare(CLONE_FS)`), where `/sys/kernel/btf/vmlinux` does not exist: aya's read fails and
/// the loader holds no BTF. Without CAP_SYS_CHROOT the loader reads it as before. (aya 0.15 reads
/// the BTF only for objects that need it, but needs rustc 1.98.)
pub struct LoaderThread(Option<std::thread::JoinHandle<EbpfLoader<'static>>>);

/// Makes aya's loader without its parse of the kernel's BTF where the thread may change its own
/// root, with it otherwise (see `LoaderThread`). Runs on a thread that ends right after.
fn loader_without_kernel_btf() -> EbpfLoader<'static> {
    hide_kernel_btf_from_this_thread();
    EbpfLoader::new()
}

/// Gives the calling thread its own filesystem attributes with its root at `/proc/self/fdinfo`
/// (only numbered entries: no `sys/kernel/btf/vmlinux`). The rest of the process keeps its root.
/// False when the thread could not (no CAP_SYS_CHROOT): nothing changed then.
fn hide_kernel_btf_from_this_thread() -> bool {
    // SAFETY: unshare(CLONE_FS) gives this thread its own root, cwd and umask; chroot then
    // changes only this thread's root. Neither touches memory. A thread that could not
    // unshare does not chroot (that would change the root of the whole process).
    unsafe {
        libc::unshare(libc::CLONE_FS) == 0 && libc::chroot(c"/proc/self/fdinfo".as_ptr()) == 0
    }
}

impl LoaderThread {
    /// Starts the loader's preparation.
    pub fn start() -> Self {
        Self(Some(
            std::thread::Builder::new()
                .name("tracer-loader".into())
                .spawn(loader_without_kernel_btf)
                .expect("spawning the eBPF loader thread"),
        ))
    }

    /// The prepared loader.
    fn join(mut self) -> EbpfLoader<'static> {
        self.0
            .take()
            .expect("joined once")
            .join()
            .expect("the eBPF loader thread panicked")
    }
}

impl Drop for LoaderThread {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

impl Probe {
    /// Loads the object with its syscall table and attaches every program, with the loader
    /// `loader` has prepared. Nothing is recorded until a process is added with `trace_pid`.
    pub fn load(config: &ProbeConfig, loader: LoaderThread) -> Result<Self, ProbeError> {
        if EBPF_OBJECT.is_empty() {
            return Err(ProbeError::NoObject(
                option_env!("TRACER_EBPF_STUB_REASON").unwrap_or("stub build"),
            ));
        }
        let ring = config.ring_bytes as u64;
        if ring < 4096 || !ring.is_power_of_two() {
            return Err(ProbeError::RingSize(ring));
        }
        let cpus = std::fs::read_to_string(POSSIBLE_CPUS)
            .and_then(|list| cpu_ids(&list))
            .map_err(ProbeError::Cpus)?;
        let rings = RingLayout::new(ring, cpus);
        let geometry = rings.geometry();
        let (flags, flags32, trace_unknown) = syscall_flags(config);
        let durations: u32 = config.durations.into();
        let entry_paths: u32 = config.entry_paths.into();
        // Process lifecycle hooks, then raw_syscalls:sys_exit (and sys_enter with -T). All are
        // BTF tracepoints: no tracefs needed, typed arguments, and each program is named as its
        // tracepoint.
        let mut hooks = vec![
            "sched_process_fork",
            "sched_process_exec",
            "sched_process_exit",
            "sys_exit",
        ];
        if config.durations || config.entry_paths {
            hooks.push("sys_enter");
        }
        // Meanwhile, what the programs need from the kernel's BTF, from one mapping of it.
        let layout = kernel_layout(&hooks);
        let loader = loader.join();
        let (offsets, targets) = layout?;
        let mut loader = loader;
        let lose_exits: u32 = (std::env::var(TEST_LOSE_EXITS_ENV).as_deref() == Ok("1")).into();
        let no_clock: u32 = (std::env::var(TEST_NO_CLOCK_ENV).as_deref() == Ok("1")).into();
        if no_clock != 0 {
            eprintln!(
                "tracer: warning: {TEST_NO_CLOCK_ENV}=1: rows are recorded without their time (a bench hook)"
            );
        }
        if let Some(entries) = std::env::var(TEST_TRACED_ENTRIES_ENV)
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
        {
            loader.map_max_entries("TRACED", entries);
        }
        let loaded = loader
            .override_global("KERNEL_OFFSETS", &offsets, true)
            .override_global("WANT_DURATIONS", &durations, true)
            .override_global("ENTRY_PATHS", &entry_paths, true)
            .override_global("SYSCALL_FLAGS", &flags, true)
            .override_global("SYSCALL_FLAGS32", &flags32, true)
            .override_global("TRACE_UNKNOWN", &trace_unknown, true)
            .override_global("TEST_LOSE_EXITS", &lose_exits, true)
            .override_global("TEST_NO_CLOCK", &no_clock, true)
            .override_global("RING_GEOMETRY", &geometry, true)
            .map_max_entries("RING_DATA", rings.elements())
            .map_max_entries("RING_POS", rings.cpus)
            // ENTRY_TS is task storage, which aya does not wrap on the user side; we never
            // touch it from here.
            .allow_unsupported_maps()
            .load(EBPF_OBJECT)
            .map_err(ProbeError::Load)?;
        let mut loaded = loaded;
        let set = match loaded.take_map("TRACED_SET") {
            Some(Map::Array(data)) => TracedSet::map(data)?,
            Some(_) => {
                return Err(ProbeError::Map {
                    name: "TRACED_SET",
                    source: aya::maps::MapError::InvalidMapType { map_type: 0 },
                });
            }
            None => return Err(ProbeError::MissingMap("TRACED_SET")),
        };
        let mut probe = Self {
            ebpf: loaded,
            set,
            rings,
        };
        let targets: Vec<(&str, u32)> = targets.iter().map(|(n, id)| (n.as_str(), *id)).collect();
        let btf = AyaBtf::parse(&btf::typedefs_only(&targets), Endianness::default())
            .map_err(ProbeError::AyaBtf)?;
        std::thread::scope(|scope| {
            // Where the loader still holds aya's parse of the kernel's BTF (no CAP_SYS_CHROOT),
            // freeing it takes a few ms, done meanwhile on a second thread (joined here, before
            // anything forks).
            scope.spawn(move || drop(loader));
            probe.attach(&hooks, &btf)
        })?;
        Ok(probe)
    }

    /// Loads and attaches the program of each of `hooks`, named as its tracepoint, whose
    /// `btf_trace_<hook>` ids `btf` holds. The verifier runs in the loading thread, so two
    /// threads take the programs from one queue, the costliest to verify first
    /// (`VERIFY_ORDER`), and each attaches what it loaded.
    fn attach(&mut self, hooks: &[&'static str], btf: &AyaBtf) -> Result<(), ProbeError> {
        let mut programs = Vec::new();
        for (name, program) in self.ebpf.programs_mut() {
            if let Some(&hook) = hooks.iter().find(|h| **h == name) {
                let prog: &mut BtfTracePoint = program
                    .try_into()
                    .map_err(|source| ProbeError::Program { name: hook, source })?;
                programs.push((hook, prog));
            }
        }
        if let Some(&missing) = hooks
            .iter()
            .find(|h| !programs.iter().any(|(name, _)| name == *h))
        {
            return Err(ProbeError::MissingProgram(missing));
        }
        programs.sort_by_key(|(name, _)| VERIFY_ORDER.iter().position(|h| h == name));
        let queue = std::sync::Mutex::new(programs.into_iter());
        let work = || -> Result<(), ProbeError> {
            loop {
                let Some((name, prog)) = queue.lock().expect("queue lock").next() else {
                    return Ok(());
                };
                let started = std::time::Instant::now();
                prog.load(name, btf)
                    .map_err(|source| ProbeError::Program { name, source })?;
                let verified = started.elapsed();
                prog.attach()
                    .map_err(|source| ProbeError::Program { name, source })?;
                log::debug!(
                    "program {name}: loaded (verifier) in {} us, attached in {} us",
                    verified.as_micros(),
                    (started.elapsed() - verified).as_micros()
                );
            }
        };
        std::thread::scope(|scope| {
            let other = scope.spawn(work);
            let here = work();
            here.and(other.join().expect("a program-loading thread panicked"))
        })
    }

    fn traced(&mut self) -> Result<HashMap<&mut MapData, u32, u32>, ProbeError> {
        traced_map(&mut self.ebpf)
    }

    /// Starts recording process `tgid` (all its threads) and, from now on, its new children.
    pub fn trace_pid(&mut self, tgid: u32) -> Result<(), ProbeError> {
        self.traced()?
            .insert(tgid, TRACED_LIVE, 0)
            .map_err(|source| ProbeError::Map {
                name: "TRACED",
                source,
            })?;
        self.set.set(tgid, true);
        Ok(())
    }

    /// Stops following `tgid` (a process that already left the filter is no error).
    pub fn untrace(&mut self, tgid: u32) -> Result<(), ProbeError> {
        self.set.set(tgid, false);
        match self.traced()?.remove(&tgid) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(aya::maps::MapError::SyscallError(e))
                if e.io_error.raw_os_error() == Some(libc::ENOENT) =>
            {
                Ok(())
            }
            Err(source) => Err(ProbeError::Map {
                name: "TRACED",
                source,
            }),
        }
    }

    /// Traced process ids, alive and dying.
    pub fn traced_pids(&mut self) -> Result<Vec<u32>, ProbeError> {
        Ok(self.traced()?.keys().filter_map(Result::ok).collect())
    }

    /// Removes processes that have been dying for at least `grace` (every thread's exit event
    /// has been written by then), so their pids cannot be reused by an unrelated process while
    /// still in the filter. `dying_since` remembers when each was first seen dying.
    pub fn prune_dying(
        &mut self,
        dying_since: &mut std::collections::HashMap<u32, std::time::Instant>,
        grace: std::time::Duration,
    ) -> Result<(), ProbeError> {
        let now = std::time::Instant::now();
        let set = &self.set;
        let mut traced = traced_map(&mut self.ebpf)?;
        let dying: Vec<u32> = traced
            .iter()
            .filter_map(Result::ok)
            .filter(|(_, v)| *v == TRACED_DYING)
            .map(|(k, _)| k)
            .collect();
        dying_since.retain(|k, _| dying.contains(k));
        for k in dying {
            let since = *dying_since.entry(k).or_insert(now);
            if now.duration_since(since) >= grace {
                set.set(k, false);
                let _ = traced.remove(&k);
                dying_since.remove(&k);
            }
        }
        Ok(())
    }

    /// Stops recording every process (used when the capture ends before they do).
    pub fn untrace_all(&mut self) -> Result<(), ProbeError> {
        let keys: Vec<u32> = self.traced()?.keys().filter_map(Result::ok).collect();
        for k in keys {
            // Best effort, as teardown: a key another path removed meanwhile is no error.
            let _ = self.untrace(k);
        }
        Ok(())
    }

    /// How the rings are laid out.
    pub fn ring_layout(&self) -> RingLayout {
        self.rings
    }

    /// Takes the per-CPU rings' maps for the drain thread.
    pub fn take_ring(&mut self) -> Result<RingMaps, ProbeError> {
        let mut take = |name: &'static str| match self.ebpf.take_map(name) {
            Some(Map::Array(data)) => Ok(data),
            Some(_) => Err(ProbeError::Map {
                name,
                source: aya::maps::MapError::InvalidMapType { map_type: 0 },
            }),
            None => Err(ProbeError::MissingMap(name)),
        };
        let data = take("RING_DATA")?;
        let positions = take("RING_POS")?;
        Ok(RingMaps {
            data,
            positions,
            layout: self.rings,
        })
    }

    /// Lost records: `[cpu][kind]` with kinds `LOST_SYSCALL`, `LOST_LIFECYCLE`.
    pub fn lost(&mut self) -> Result<Vec<[u64; LOST_KINDS as usize]>, ProbeError> {
        let map = self
            .ebpf
            .map_mut("LOST")
            .ok_or(ProbeError::MissingMap("LOST"))?;
        let lost: PerCpuArray<&mut MapData, u64> =
            PerCpuArray::try_from(map).map_err(|source| ProbeError::Map {
                name: "LOST",
                source,
            })?;
        let mut per_cpu: Vec<[u64; LOST_KINDS as usize]> = Vec::new();
        for kind in 0..LOST_KINDS {
            let values = lost.get(&kind, 0).map_err(|source| ProbeError::Map {
                name: "LOST",
                source,
            })?;
            for (cpu, v) in values.iter().enumerate() {
                if per_cpu.len() <= cpu {
                    per_cpu.push([0; LOST_KINDS as usize]);
                }
                per_cpu[cpu][kind as usize] = *v;
            }
        }
        Ok(per_cpu)
    }

    /// The gaps still pending (lost records not yet followed by a record of their CPU), as the
    /// records the programs would have written; read at the end, once nothing is traced.
    pub fn pending_gaps(&mut self) -> Result<Vec<GapEvent>, ProbeError> {
        let map = self
            .ebpf
            .map_mut("GAPS")
            .ok_or(ProbeError::MissingMap("GAPS"))?;
        let gaps: PerCpuArray<&mut MapData, GapEvent> =
            PerCpuArray::try_from(map).map_err(|source| ProbeError::Map {
                name: "GAPS",
                source,
            })?;
        let values = gaps.get(&0, 0).map_err(|source| ProbeError::Map {
            name: "GAPS",
            source,
        })?;
        Ok(values
            .iter()
            .filter(|g| g.lost.iter().any(|n| *n > 0))
            .copied()
            .collect())
    }

    /// Whether the maps are as a fresh load leaves them: nothing traced (in `TRACED` or its
    /// mirror), nothing lost, no gap pending, no process unfollowed (see `capture::Session`).
    /// False when a map cannot be read.
    pub fn is_fresh(&mut self) -> bool {
        self.traced_pids().is_ok_and(|t| t.is_empty())
            && self.set.is_empty()
            && self
                .lost()
                .is_ok_and(|l| l.iter().flatten().all(|n| *n == 0))
            && self.pending_gaps().is_ok_and(|g| g.is_empty())
            && matches!(self.unfollowed(), Ok(0))
    }

    /// New processes that could not be followed because `TRACED` was full.
    pub fn unfollowed(&mut self) -> Result<u64, ProbeError> {
        let map = self
            .ebpf
            .map_mut("UNFOLLOWED")
            .ok_or(ProbeError::MissingMap("UNFOLLOWED"))?;
        let counts: PerCpuArray<&mut MapData, u64> =
            PerCpuArray::try_from(map).map_err(|source| ProbeError::Map {
                name: "UNFOLLOWED",
                source,
            })?;
        let values = counts.get(&0, 0).map_err(|source| ProbeError::Map {
            name: "UNFOLLOWED",
            source,
        })?;
        Ok(values.iter().sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_needs_no_kernel_btf_and_every_program_has_a_verify_slot() {
        assert!(!EBPF_OBJECT.is_empty(), "built with the eBPF object");
        let obj = aya_obj::Object::parse(EBPF_OBJECT).expect("the object parses");
        assert!(
            !obj.has_btf_relocations(),
            "CO-RE relocations need the kernel's BTF in aya's loader (LoaderThread)"
        );
        let mut names: Vec<&str> = obj.programs.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut order = VERIFY_ORDER.to_vec();
        order.sort_unstable();
        assert_eq!(names, order);
    }

    /// The `/proc/self/smaps` entry of the mapping at `at`: its header line to the next one's.
    fn smaps_entry(at: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let start = format!("{at:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&start));
        let mut entry: Vec<&str> = lines.next().into_iter().collect();
        // The entry's own lines are "Name: value"; the next entry starts with an address range.
        entry.extend(lines.take_while(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|name| name.ends_with(':'))
        }));
        entry.join("\n")
    }

    #[test]
    fn the_traced_set_follows_trace_and_untrace_and_is_not_inherited() {
        let config = ProbeConfig {
            ring_bytes: 1 << 16,
            durations: false,
            entry_paths: false,
            filter: None,
            arch: Arch::X86_64,
        };
        let mut probe = Probe::load(&config, LoaderThread::start()).expect("loads (as root)");
        assert!(probe.is_fresh(), "a fresh load traces nothing");
        // Ids at the end of an element and the start of the next, with neighbours, and the
        // set's last: each is one byte of its own. Ids of no process, so that nothing is
        // recorded into the ring no one drains here.
        let free = |id: u32| !std::path::Path::new(&format!("/proc/{id}")).exists();
        let edge = (1..TRACED_SET_PAGES)
            .map(|n| n * TRACED_SET_PAGE)
            .find(|&e| (e - 2..=e + 2).all(free))
            .expect("a free element boundary");
        let mut ids = vec![edge - 1, edge, edge + 1];
        let last = (1 << 22) - 1;
        if free(last) {
            ids.push(last);
        }
        for &id in &ids {
            probe.trace_pid(id).expect("trace");
        }
        let at = probe.set.bytes.as_ptr() as usize;
        let byte = |probe: &Probe, id: u32| u8::from(probe.set.get(id));
        for &id in &ids {
            assert_eq!(byte(&probe, id), 1, "{id} is in the set");
        }
        assert_eq!(
            byte(&probe, edge - 2) + byte(&probe, edge + 2),
            0,
            "neighbours untouched"
        );
        assert!(!probe.is_fresh());
        probe.untrace(edge).expect("untrace");
        assert_eq!(
            (
                byte(&probe, edge - 1),
                byte(&probe, edge),
                byte(&probe, edge + 1)
            ),
            (1, 0, 1)
        );
        // A byte set without its key (as a program would leave a stale one) is not fresh.
        probe.untrace_all().expect("untrace all");
        assert!(probe.is_fresh(), "{:?}", probe.traced_pids());
        probe.set.set(edge + 2, true);
        assert!(!probe.is_fresh(), "a set byte alone makes the probe stale");
        probe.set.set(edge + 2, false);
        assert!(probe.is_fresh());
        // The traced command is forked from this process: it must not get the mapping (`dc`:
        // VM_DONTCOPY, include/linux/mm.h), through which the filter could be rewritten.
        let entry = smaps_entry(at);
        let flags = entry
            .lines()
            .find_map(|l| l.strip_prefix("VmFlags:"))
            .unwrap_or_else(|| panic!("no VmFlags in {entry}"));
        assert!(
            flags.split_whitespace().any(|f| f == "dc"),
            "mapping not marked do-not-copy: {entry}"
        );
    }

    #[test]
    fn only_the_loader_thread_loses_sight_of_the_kernel_btf() {
        let vmlinux = std::path::Path::new("/sys/kernel/btf/vmlinux");
        assert!(vmlinux.exists(), "this kernel has BTF");
        let (hidden, seen, loader_without_btf) = std::thread::spawn(move || {
            let hidden = hide_kernel_btf_from_this_thread();
            let loader = EbpfLoader::new();
            (
                hidden,
                vmlinux.exists(),
                format!("{loader:?}").starts_with("EbpfLoader { btf: None,"),
            )
        })
        .join()
        .expect("thread");
        assert!(hidden, "tests run as root: the thread may chroot");
        assert!(
            !seen && loader_without_btf,
            "the thread's loader read no BTF"
        );
        assert!(vmlinux.exists(), "the process keeps its root");
        assert!(std::path::Path::new("/proc/self/status").exists());
    }

    #[test]
    fn cpu_ids_run_to_the_last_possible_one() {
        assert_eq!(cpu_ids("0-1\n").unwrap(), 2);
        assert_eq!(cpu_ids("0").unwrap(), 1);
        assert_eq!(cpu_ids("0-3,6").unwrap(), 7, "a hole still has ids past it");
        assert_eq!(cpu_ids("0,2-5,8-11").unwrap(), 12);
        assert!(cpu_ids("").is_err());
        assert!(cpu_ids("0-x").is_err());
    }

    #[test]
    fn syscall_flags_record_the_filter_and_mark_path_arguments() {
        let arch = Arch::X86_64;
        let nr = |name| arch.number(name).expect("x86_64 call") as usize;
        let nr32 = |name| Arch::X86.number(name).expect("i386 call") as usize;
        let (all, all32, unknown) = syscall_flags(&ProbeConfig {
            ring_bytes: 4096,
            durations: false,
            entry_paths: false,
            filter: None,
            arch,
        });
        assert_eq!(all[nr("getppid")], SC_TRACE, "recorded, no path");
        assert_eq!(
            all[nr("openat")],
            SC_TRACE | (2 << SC_PATH_SHIFT),
            "openat's path is its second argument"
        );
        assert_eq!(
            all[nr("renameat2")],
            SC_TRACE | (2 << SC_PATH_SHIFT) | (4 << SC_PATH2_SHIFT),
            "renameat2's new name is its fourth argument"
        );
        assert_eq!(
            all[nr("connect")],
            SC_TRACE | (2 << SC_SOCK_SHIFT),
            "connect's address is its second argument, the length the third"
        );
        assert_eq!(
            all[nr("accept4")],
            SC_TRACE | (2 << SC_SOCK_SHIFT) | SC_SOCK_LEN_PTR,
            "accept4's length is a pointer"
        );
        assert_eq!(
            all32[nr32("open")],
            SC_TRACE | (1 << SC_PATH_SHIFT),
            "the i386 table has its own numbers and paths"
        );
        assert_eq!(
            unknown, SC_TRACE,
            "unknown numbers recorded without a filter"
        );
        let (some, some32, unknown) = syscall_flags(&ProbeConfig {
            ring_bytes: 4096,
            durations: false,
            entry_paths: false,
            filter: Some(vec![nr("getppid") as i32]),
            arch,
        });
        assert_eq!(some[nr("getppid")], SC_TRACE, "kept by the filter");
        assert_eq!(some[nr("read")] & SC_TRACE, 0, "left out by the filter");
        assert_eq!(
            some32[nr32("getppid")],
            SC_TRACE,
            "the filter applies to i386 calls by name"
        );
        assert_eq!(some32[nr32("read")] & SC_TRACE, 0);
        assert_eq!(unknown, 0, "a filter leaves unknown numbers out");
    }
}
