//! Column names, Arrow types and metadata keys of the dataset, defined once (docs/DESIGN.md,
//! "Data contract").

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Version of the data contract written into every file (`meta::SCHEMA_VERSION`).
pub const SCHEMA_VERSION: &str = "1";

/// Number of argument registers in the `args` column.
pub const ARG_COUNT: i32 = 6;

/// Column names of the `syscalls` table.
pub mod col {
    /// One capture or one ingested log.
    pub const RUN_ID: &str = "run_id";
    /// `ebpf`, `strace`, or an imported dataset's name.
    pub const SOURCE: &str = "source";
    /// Experiment category.
    pub const SCENARIO: &str = "scenario";
    /// `ms` or `mr`.
    pub const MODE: &str = "mode";
    /// Order of the call within the run (the interleaved, system-wide order).
    pub const SEQ: &str = "seq";
    /// Wall-clock time of the call.
    pub const TS_NS: &str = "ts_ns";
    /// Entry-to-exit time.
    pub const DURATION_NS: &str = "duration_ns";
    /// Process id (tgid).
    pub const PID: &str = "pid";
    /// Thread id.
    pub const TID: &str = "tid";
    /// Process name.
    pub const COMM: &str = "comm";
    /// Syscall name.
    pub const SYSCALL: &str = "syscall";
    /// Syscall number.
    pub const NR: &str = "nr";
    /// Raw argument registers.
    pub const ARGS: &str = "args";
    /// Return value.
    pub const RET: &str = "ret";
    /// First path argument.
    pub const PATH: &str = "path";
    /// The calling convention the kernel ran the call under: `x86_64`, `i386` (a 32-bit call,
    /// `int $0x80` from 64-bit code included), `x32` (captures; null for ingested sources).
    pub const ABI: &str = "abi";
    /// Second path argument (rename, link, symlink families: the new name / the link).
    pub const PATH2: &str = "path2";
    /// Address family of the socket address argument (`AF_INET`, `AF_INET6`, `AF_UNIX`, ...;
    /// `AF_<n>` for others) of connect, bind, sendto, accept, accept4, recvfrom.
    pub const SOCK_FAMILY: &str = "sock_family";
    /// The address: an IPv4 or IPv6 address, a Unix socket path (`@name` for the abstract
    /// namespace), or the address bytes in hex for other families.
    pub const SOCK_ADDR: &str = "sock_addr";
    /// The port of an IPv4 or IPv6 address.
    pub const SOCK_PORT: &str = "sock_port";
    /// What the capture could not see as it was, or how the kernel ended the call (`mark`
    /// values); null when nothing is to be said.
    pub const MARKS: &str = "marks";
    /// Parent process id (processes table).
    pub const PPID: &str = "ppid";
    /// Process start (processes table).
    pub const START_NS: &str = "start_ns";
    /// Process end (processes table).
    pub const EXIT_NS: &str = "exit_ns";
    /// Exit status (processes table).
    pub const EXIT_CODE: &str = "exit_code";
    /// Terminating signal (processes table).
    pub const SIGNAL: &str = "signal";
    /// Executable (processes table).
    pub const EXE: &str = "exe";
    /// Argument vector (processes table).
    pub const ARGV: &str = "argv";
    /// Whether the process was followed (processes table): `false` for a child the kernel's
    /// filter had no room for, which ran untraced with its descendants; null where the source
    /// does not say (strace logs, imports).
    pub const FOLLOWED: &str = "followed";
    /// Whether `exit_code`/`signal` come from the tracer's own `waitpid` (processes table):
    /// `true` for a launched command whose exit record was lost; `false` when the kernel's exit
    /// record gave them; null without a status.
    pub const EXIT_FROM_WAIT: &str = "exit_from_wait";
    /// Dataset split of an imported trace: `training`, `validation`, `test` (runs table).
    pub const SPLIT: &str = "split";
    /// `normal` or `attack` (runs table).
    pub const LABEL: &str = "label";
    /// Attack family of an attack trace (`hydra_ftp`, `cve-2017-7529`, ...) (runs table).
    pub const ATTACK: &str = "attack";
    /// The part of the distribution a trace belongs to: a LID-DS scenario, a UNM set (runs table).
    pub const SUBSET: &str = "subset";
    /// Where the trace is in the distribution as given: its path, through archives (runs table).
    pub const ORIGIN: &str = "origin";
    /// Rows the run has in the syscalls table (runs table).
    pub const CALLS: &str = "calls";
    /// When the (first) exploit of an attack recording started (LID-DS; runs table).
    pub const EXPLOIT_START_NS: &str = "exploit_start_ns";
    /// When the recording's warm-up ended (LID-DS; runs table).
    pub const WARMUP_END_NS: &str = "warmup_end_ns";
    /// When the recorded containers were ready (LID-DS 2021; runs table).
    pub const CONTAINER_READY_NS: &str = "container_ready_ns";
}

/// A gap row of the `syscalls` table: where records of one CPU were lost (its ring full),
/// in stream order, just before that CPU's next record (docs/DESIGN.md, "Losses in the stream").
///
/// `syscall` is [`GAP_SYSCALL`] (no call has that name), `nr` is [`GAP_NR`]; `ts_ns` is the first
/// loss and `duration_ns` the time to the last (the lost records lie in that range); `ret` is
/// the number of records lost, and `args` `[syscall records, lifecycle records, cpu, flags, 0,
/// 0]` (flags: [`GAP_THREADS`], [`GAP_PROCESSES`]); `pid`/`tid` are the first lost record's task,
/// 0 when records of more than one process/thread were lost (`tid` 0: the gap breaks every
/// stream of the run). `comm` is that thread's name when known; `path` is null.
pub mod gap {
    /// The `syscall` value of a gap row.
    pub const GAP_SYSCALL: &str = "<gap>";
    /// The `nr` value of a gap row.
    pub const GAP_NR: i32 = -1;
    /// `args[3]` bit: records of more than one thread were lost (`tid` is 0).
    pub const GAP_THREADS: u64 = 1 << 0;
    /// `args[3]` bit: records of more than one process were lost (`pid` is 0).
    pub const GAP_PROCESSES: u64 = 1 << 1;
}

/// Values of the label columns of imported datasets: `split`, `label`, and the `scenario` column
/// that the analysis selects on (`training`, `validation`, `test`, `normal`, `attack:<family>`).
pub mod value {
    /// Split (and scenario) of training traces.
    pub const TRAINING: &str = "training";
    /// Split (and scenario) of validation traces.
    pub const VALIDATION: &str = "validation";
    /// Split of test traces; scenario of the normal ones among them.
    pub const TEST: &str = "test";
    /// Label of normal traces; scenario of normal traces of a dataset without splits (UNM).
    pub const NORMAL: &str = "normal";
    /// Label of attack traces.
    pub const ATTACK: &str = "attack";
    /// Scenario of attack traces: `attack:` and the family.
    pub const ATTACK_SCENARIO_PREFIX: &str = "attack:";
}

/// Values of the `marks` column, each a bit of `SyscallExtra::marks` (docs/DESIGN.md, "What a
/// row can be trusted for").
pub mod mark {
    /// The number is in no table of its ABI (or -1, an invalid call): `syscall` is null.
    pub const UNKNOWN_NR: u32 = 1 << 0;
    /// seccomp's RET_TRAP stopped the call: it never ran, `ret` is null.
    pub const SECCOMP_TRAP: u32 = 1 << 1;
    /// seccomp's RET_KILL_THREAD/RET_KILL_PROCESS ended the caller at this call: it never ran.
    pub const SECCOMP_KILL: u32 = 1 << 2;
    /// The path was longer than the capture keeps (4095 bytes, or `-s N`): `path` is its start.
    pub const PATH_CUT: u32 = 1 << 3;
    /// The path could not be read (page not resident or already unmapped at exit); the kernel
    /// may have read it: `path` is null.
    pub const PATH_UNREADABLE: u32 = 1 << 4;
    /// The path pointer was one the kernel could not read either (the call returned EFAULT):
    /// `path` is null.
    pub const PATH_BAD_POINTER: u32 = 1 << 5;
    /// As `PATH_CUT`, for `path2`.
    pub const PATH2_CUT: u32 = 1 << 6;
    /// As `PATH_UNREADABLE`, for `path2`.
    pub const PATH2_UNREADABLE: u32 = 1 << 7;
    /// As `PATH_BAD_POINTER`, for `path2`.
    pub const PATH2_BAD_POINTER: u32 = 1 << 8;
    /// The socket address could not be read.
    pub const SOCKADDR_UNREADABLE: u32 = 1 << 9;
    /// The socket address was longer than the 128 bytes kept.
    pub const SOCKADDR_CUT: u32 = 1 << 10;
    /// The call was cut short by the thread's death and never returned: `ret` is null.
    pub const KILLED: u32 = 1 << 11;

    /// Every mark with its name in the `marks` column, in bit order.
    pub const NAMES: &[(u32, &str)] = &[
        (UNKNOWN_NR, "unknown_nr"),
        (SECCOMP_TRAP, "seccomp_trap"),
        (SECCOMP_KILL, "seccomp_kill"),
        (PATH_CUT, "path_cut"),
        (PATH_UNREADABLE, "path_unreadable"),
        (PATH_BAD_POINTER, "path_bad_pointer"),
        (PATH2_CUT, "path2_cut"),
        (PATH2_UNREADABLE, "path2_unreadable"),
        (PATH2_BAD_POINTER, "path2_bad_pointer"),
        (SOCKADDR_UNREADABLE, "sockaddr_unreadable"),
        (SOCKADDR_CUT, "sockaddr_cut"),
        (KILLED, "killed"),
    ];

    /// The bit of mark `name`.
    pub fn by_name(name: &str) -> Option<u32> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(b, _)| *b)
    }
}

/// Keys of the Parquet key-value metadata, all prefixed `syscall_tracer.`.
pub mod meta {
    /// Data contract version (`SCHEMA_VERSION`).
    pub const SCHEMA_VERSION: &str = "syscall_tracer.schema_version";
    /// Version of the program that wrote the file.
    pub const TRACER_VERSION: &str = "syscall_tracer.tracer_version";
    /// `ebpf`, `strace`, or a dataset name.
    pub const SOURCE: &str = "syscall_tracer.source";
    /// The run's id (of the first run, in a file holding several: see `RUNS`).
    pub const RUN_ID: &str = "syscall_tracer.run_id";
    /// How many runs a file holds, when more than one (an imported dataset, or
    /// `SyscallSink::next_run`); the label columns say which rows belong to which. Absent from
    /// one-run files.
    pub const RUNS: &str = "syscall_tracer.runs";
    /// Which table the file holds: `syscalls` or `processes`.
    pub const TABLE: &str = "syscall_tracer.table";
    /// `uname -r` of the capturing machine.
    pub const KERNEL_RELEASE: &str = "syscall_tracer.kernel_release";
    /// Architecture whose syscall table names the calls (`x86_64`, `x86`, ...).
    pub const ARCH: &str = "syscall_tracer.arch";
    /// The traced command line (JSON array) or the ingested file.
    pub const COMMAND_LINE: &str = "syscall_tracer.command_line";
    /// Nanoseconds added to kernel `CLOCK_MONOTONIC` stamps to get `ts_ns` (UTC).
    pub const CLOCK_OFFSET_NS: &str = "syscall_tracer.clock_offset_ns";
    /// Which moment `ts_ns` marks: `entry` or `exit`.
    pub const TS_POINT: &str = "syscall_tracer.ts_point";
    /// `--ring-bytes`: bytes of the kernel-to-tracer rings, divided among the CPUs.
    pub const RING_BYTES: &str = "syscall_tracer.ring_bytes";
    /// The rings as laid out: "CPUS x BYTES" (one ring per CPU id, each of BYTES).
    pub const RING_LAYOUT: &str = "syscall_tracer.ring_layout";
    /// Rows written to the syscalls table.
    pub const EVENTS_WRITTEN: &str = "syscall_tracer.events_written";
    /// Records the kernel could not deliver (their CPU's ring full); 0 means complete.
    pub const EVENTS_LOST: &str = "syscall_tracer.events_lost";
    /// Lost records per CPU and kind (JSON object).
    pub const EVENTS_LOST_DETAIL: &str = "syscall_tracer.events_lost_detail";
    /// Capture start, ns since the Unix epoch.
    pub const START_NS: &str = "syscall_tracer.start_ns";
    /// Capture end, ns since the Unix epoch.
    pub const END_NS: &str = "syscall_tracer.end_ns";
    /// `true` when the capture ended early (signal) rather than with the traced processes, or
    /// when the file was recovered from a crash journal (`RECOVERED`).
    pub const INTERRUPTED: &str = "syscall_tracer.interrupted";
    /// `true` when `tracer recover` made the file from the crash journal of a capture that did
    /// not end normally; the losses are those known at the journal's last part.
    pub const RECOVERED: &str = "syscall_tracer.recovered";
    /// Index of a rotated capture's file (`--rotate`), from 0.
    pub const CHUNK: &str = "syscall_tracer.chunk";
    /// Malformed input lines skipped by `--lenient` ingest.
    pub const LINES_SKIPPED: &str = "syscall_tracer.lines_skipped";
    /// Experiment scenario of the run.
    pub const SCENARIO: &str = "syscall_tracer.scenario";
    /// Experiment mode of the run.
    pub const MODE: &str = "syscall_tracer.mode";
    /// Repetition number of an experiment run.
    pub const REP: &str = "syscall_tracer.rep";
    /// Milliseconds between the releases of an M.R run's commands (0: all at once).
    pub const SPACING_MS: &str = "syscall_tracer.spacing_ms";
    /// CPUs an experiment run's commands were pinned to (comma-separated), absent: all.
    pub const CPUS: &str = "syscall_tracer.cpus";
    /// The `-e trace=` expression a capture was filtered with.
    pub const FILTER: &str = "syscall_tracer.filter";
    /// Calls the launched command made before its `execve` (the tracer's own set-up), dropped.
    pub const PRE_EXEC_DROPPED: &str = "syscall_tracer.pre_exec_dropped";
    /// strace lines cut short (the log ended inside them) that could not be completed, dropped.
    pub const LINES_TRUNCATED: &str = "syscall_tracer.lines_truncated";
    /// Files of an imported distribution that are not traces (syscall lists, READMEs, pcaps, ...),
    /// skipped.
    pub const FILES_SKIPPED: &str = "syscall_tracer.files_skipped";
    /// The skipped files by kind (JSON object, kind -> count; the kind is the file's extension).
    pub const FILES_SKIPPED_DETAIL: &str = "syscall_tracer.files_skipped_detail";
    /// Gap rows written to the `syscalls` table (see `gap`); their `ret` sums to `EVENTS_LOST`.
    pub const GAP_ROWS: &str = "syscall_tracer.gap_rows";
    /// New processes the capture could not follow (the kernel's filter was full); each is a
    /// `processes` row with `followed` false unless its fork record was lost too.
    pub const UNFOLLOWED: &str = "syscall_tracer.unfollowed";
    /// `path` values were cut to at most this many bytes (`tracer record -s N`); absent: kept up
    /// to the capture's limit (255 bytes).
    pub const PATH_LIMIT: &str = "syscall_tracer.path_limit";
}

/// Values of `meta::TABLE`.
pub mod table {
    /// The `syscalls` table.
    pub const SYSCALLS: &str = "syscalls";
    /// The `processes` table.
    pub const PROCESSES: &str = "processes";
    /// The `runs` table: one row of labels per run of an imported dataset.
    pub const RUNS: &str = "runs";
}

fn dict_utf8() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The element field of the `args` fixed-size list.
pub fn args_item_field() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::UInt64, false))
}

/// Type of the `args` column.
pub fn args_type() -> DataType {
    DataType::FixedSizeList(args_item_field(), ARG_COUNT)
}

static SYSCALLS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new(col::RUN_ID, dict_utf8(), false),
        Field::new(col::SOURCE, dict_utf8(), false),
        Field::new(col::SCENARIO, dict_utf8(), true),
        Field::new(col::MODE, dict_utf8(), true),
        Field::new(col::SEQ, DataType::UInt64, false),
        Field::new(
            col::TS_NS,
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
        Field::new(col::DURATION_NS, DataType::Int64, true),
        Field::new(col::PID, DataType::Int32, false),
        Field::new(col::TID, DataType::Int32, false),
        Field::new(col::COMM, dict_utf8(), true),
        Field::new(col::SYSCALL, dict_utf8(), true),
        Field::new(col::NR, DataType::Int32, false),
        Field::new(col::ARGS, args_type(), true),
        Field::new(col::RET, DataType::Int64, true),
        Field::new(col::PATH, DataType::Utf8, true),
        Field::new(col::ABI, dict_utf8(), true),
        Field::new(col::PATH2, DataType::Utf8, true),
        Field::new(col::SOCK_FAMILY, dict_utf8(), true),
        Field::new(col::SOCK_ADDR, DataType::Utf8, true),
        Field::new(col::SOCK_PORT, DataType::Int32, true),
        Field::new(col::MARKS, marks_type(), true),
    ]))
});

/// Arrow type of the `marks` column: a list of mark names.
pub fn marks_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, false)))
}

static PROCESSES: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new(col::RUN_ID, dict_utf8(), false),
        Field::new(col::PID, DataType::Int32, false),
        Field::new(col::PPID, DataType::Int32, true),
        Field::new(
            col::START_NS,
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            col::EXIT_NS,
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
        Field::new(col::EXIT_CODE, DataType::Int32, true),
        Field::new(col::SIGNAL, DataType::Int32, true),
        Field::new(col::COMM, DataType::Utf8, true),
        Field::new(col::EXE, DataType::Utf8, true),
        Field::new(
            col::ARGV,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
        Field::new(col::FOLLOWED, DataType::Boolean, true),
        Field::new(col::EXIT_FROM_WAIT, DataType::Boolean, true),
    ]))
});

static RUNS: LazyLock<SchemaRef> = LazyLock::new(|| {
    let ts = || DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new(col::RUN_ID, dict_utf8(), false),
        Field::new(col::SOURCE, dict_utf8(), false),
        Field::new(col::SCENARIO, dict_utf8(), true),
        Field::new(col::SPLIT, dict_utf8(), true),
        Field::new(col::LABEL, dict_utf8(), true),
        Field::new(col::ATTACK, dict_utf8(), true),
        Field::new(col::SUBSET, dict_utf8(), true),
        Field::new(col::ORIGIN, DataType::Utf8, false),
        Field::new(col::CALLS, DataType::UInt64, false),
        Field::new(col::EXPLOIT_START_NS, ts(), true),
        Field::new(col::WARMUP_END_NS, ts(), true),
        Field::new(col::CONTAINER_READY_NS, ts(), true),
    ]))
});

/// Schema of the `syscalls` table: one row per syscall.
pub fn syscalls_schema() -> SchemaRef {
    SYSCALLS.clone()
}

/// Schema of the `processes` table: one row per process lifetime.
pub fn processes_schema() -> SchemaRef {
    PROCESSES.clone()
}

/// Schema of the `runs` table: one row of labels per run of an imported dataset, joinable with
/// the other tables on `run_id`.
pub fn runs_schema() -> SchemaRef {
    RUNS.clone()
}
