//! Building the `syscalls` rows: numbering them (`seq`), turning kernel times into wall time,
//! naming each call from its architecture's table and writing it. A name's dictionary key is
//! looked up in the sink once per syscall number (64-bit and 32-bit numbers have their own
//! slots) and handed to `push_keyed`, so no row is hashed by name.

use std::collections::HashMap;

use tracer_common::{
    FLAG_GAP_PROCESSES, FLAG_GAP_THREADS, GapEvent, MAX_SYSCALL_NR, X32_SYSCALL_BIT,
};
use tracer_dataset::{
    Arch, SinkError, SyscallExtra, SyscallKey, SyscallRow, SyscallSink, arch::x32_name, gap,
};

/// Slots of the per-number caches: 64-bit numbers, then 32-bit ones.
pub const SLOTS: usize = 2 * MAX_SYSCALL_NR as usize;

/// One row to write, as both record kinds (returned calls, calls that never returned) give it.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// Process id.
    pub tgid: u32,
    /// Thread id.
    pub tid: u32,
    /// Syscall number.
    pub nr: i32,
    /// A 32-bit call: named from the i386 table.
    pub compat: bool,
    /// An x32 call (`nr` with the x32 bit): named from the x32 table.
    pub x32: bool,
    /// Kernel `CLOCK_MONOTONIC` time of the row.
    pub ts_mono: u64,
    /// Entry-to-exit ns.
    pub duration_ns: Option<i64>,
    /// Argument registers.
    pub args: Option<[u64; 6]>,
    /// Return value; `None`: never returned.
    pub ret: Option<i64>,
    /// First path argument.
    pub path: Option<&'a str>,
    /// The capture-only columns (`abi` is set by `Rows::push`).
    pub extra: SyscallExtra<'a>,
}

/// How a row was named: its slot (`None` for numbers outside the tables) and name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named {
    /// See [`slot`].
    pub slot: Option<usize>,
    /// The syscall name (`syscall_<nr>` for a number in no table, whose row has no name).
    pub name: &'static str,
    /// Whether a table named it.
    pub known: bool,
}

/// The cache slot of call `nr`: 64-bit numbers first, then 32-bit ones; `None` out of range.
#[inline]
pub fn slot(nr: i32, compat: bool) -> Option<usize> {
    let nr = usize::try_from(nr)
        .ok()
        .filter(|nr| *nr < MAX_SYSCALL_NR as usize)?;
    Some(if compat {
        MAX_SYSCALL_NR as usize + nr
    } else {
        nr
    })
}

/// The name of call `nr` in `arch`'s table (the x32 one for `x32`), or `None` when no table
/// has it.
fn table_name(arch: Arch, nr: i32, compat: bool, x32: bool) -> Option<&'static str> {
    if x32 {
        return x32_name((nr as u32 as u64 & !X32_SYSCALL_BIT) as i64);
    }
    slot(nr, compat)?;
    arch.name_of(i64::from(nr))
}

/// The name of call `nr` in `arch`'s table, or `syscall_<nr>` (`ia32_syscall_<nr>` for a
/// 32-bit call) when the table has none or `nr` has no slot: what `--summary` shows for a row
/// whose `syscall` is null.
fn name_of(arch: Arch, nr: i32, compat: bool, x32: bool) -> (&'static str, bool) {
    if let Some(name) = table_name(arch, nr, compat, x32) {
        return (name, true);
    }
    let prefix = if compat { "ia32_syscall" } else { "syscall" };
    // Leaked once per distinct unknown number and capture (see the key caches): a few bytes.
    (Box::leak(format!("{prefix}_{nr}").into_boxed_str()), false)
}

/// The `abi` column's value: null for the run's own ABI (`meta::ARCH`), so the common row costs
/// no dictionary lookup in the Parquet writer; `i386` and `x32` otherwise.
fn abi_name(compat: bool, x32: bool) -> Option<&'static str> {
    if compat {
        Some("i386")
    } else if x32 {
        Some("x32")
    } else {
        None
    }
}

/// The rows of one `syscalls` file.
pub struct Rows {
    sink: SyscallSink,
    clock_offset_ns: i64,
    /// The run's architecture (64-bit calls).
    arch: Arch,
    seq: u64,
    /// Name and dictionary key per slot, filled on first use.
    keys: Vec<Option<(SyscallKey, &'static str, bool)>>,
    /// Name and key of numbers without a slot (and of x32 calls), by (compat, x32, nr).
    other_keys: HashMap<(bool, bool, i32), (SyscallKey, &'static str, bool)>,
    /// Key of the gap rows' name, on first use.
    gap_key: Option<SyscallKey>,
}

/// The `(pid, tid)` of a gap row: the first lost record's task, 0 where records of more than one
/// process or thread were lost (`tracer_dataset::gap`).
pub fn gap_task(g: &GapEvent) -> (u32, u32) {
    let pid = if g.flags & FLAG_GAP_PROCESSES != 0 {
        0
    } else {
        g.tgid
    };
    let tid = if g.flags & (FLAG_GAP_THREADS | FLAG_GAP_PROCESSES) != 0 {
        0
    } else {
        g.tid
    };
    (pid, tid)
}

impl Rows {
    /// Rows into `sink`; `clock_offset_ns` turns kernel monotonic stamps into wall time.
    pub fn new(sink: SyscallSink, arch: Arch, clock_offset_ns: i64) -> Self {
        Self {
            sink,
            clock_offset_ns,
            arch,
            seq: 0,
            keys: vec![None; SLOTS],
            other_keys: HashMap::new(),
            gap_key: None,
        }
    }

    /// The table of a call: the run's own, or i386 for 32-bit calls.
    fn table(&self, compat: bool) -> Arch {
        if compat { Arch::X86 } else { self.arch }
    }

    /// The key and name of call `nr`, from the cache or (once per number) the sink.
    #[inline]
    fn key(&mut self, nr: i32, compat: bool, x32: bool) -> (SyscallKey, Named) {
        let slot = if x32 { None } else { slot(nr, compat) };
        let cached = match slot {
            Some(i) => self.keys[i],
            None => self.other_keys.get(&(compat, x32, nr)).copied(),
        };
        let (key, name, known) = match cached {
            Some(hit) => hit,
            None => {
                let (name, known) = name_of(self.table(compat), nr, compat, x32);
                let key = if known {
                    self.sink.syscall_key(name)
                } else {
                    SyscallKey::NONE
                };
                let entry = (key, name, known);
                match slot {
                    Some(i) => self.keys[i] = Some(entry),
                    None => {
                        self.other_keys.insert((compat, x32, nr), entry);
                    }
                }
                entry
            }
        };
        (key, Named { slot, name, known })
    }

    /// Writes `call` as the next row, with thread name `comm`; returns how it was named.
    #[inline]
    pub fn push(&mut self, call: &Call<'_>, comm: Option<&str>) -> Result<Named, SinkError> {
        let (key, named) = self.key(call.nr, call.compat, call.x32);
        let seq = self.seq;
        self.seq += 1;
        let row = SyscallRow {
            seq,
            ts_ns: Some(call.ts_mono as i64 + self.clock_offset_ns),
            duration_ns: call.duration_ns,
            pid: call.tgid as i32,
            tid: call.tid as i32,
            comm,
            syscall: named.name,
            nr: call.nr,
            args: call.args,
            ret: call.ret,
            path: call.path,
        };
        let mut extra = call.extra;
        extra.abi = abi_name(call.compat, call.x32);
        if !named.known {
            extra.marks |= tracer_dataset::schema::mark::UNKNOWN_NR;
        }
        self.sink.push_keyed_with(&row, key, &extra)?;
        Ok(named)
    }

    /// Writes gap `g` as the next row (`tracer_dataset::gap`), with thread name `comm`.
    pub fn push_gap(&mut self, g: &GapEvent, comm: Option<&str>) -> Result<(), SinkError> {
        let key = match self.gap_key {
            Some(key) => key,
            None => *self.gap_key.insert(self.sink.syscall_key(gap::GAP_SYSCALL)),
        };
        let (pid, tid) = gap_task(g);
        let mut flags = 0;
        if g.flags & FLAG_GAP_THREADS != 0 {
            flags |= gap::GAP_THREADS;
        }
        if g.flags & FLAG_GAP_PROCESSES != 0 {
            flags |= gap::GAP_PROCESSES | gap::GAP_THREADS;
        }
        let seq = self.seq;
        self.seq += 1;
        let row = SyscallRow {
            seq,
            ts_ns: Some(g.first_ts_ns as i64 + self.clock_offset_ns),
            duration_ns: Some(g.last_ts_ns.saturating_sub(g.first_ts_ns) as i64),
            pid: pid as i32,
            tid: tid as i32,
            comm,
            syscall: gap::GAP_SYSCALL,
            nr: gap::GAP_NR,
            args: Some([g.lost[0], g.lost[1], u64::from(g.cpu), flags, 0, 0]),
            ret: Some((g.lost[0] + g.lost[1]) as i64),
            path: None,
        };
        self.sink.push_keyed(&row, key)
    }

    /// The run's architecture (64-bit calls).
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The sink, still open (for the footer metadata).
    pub fn into_sink(self) -> SyscallSink {
        self.sink
    }

    /// The sink being written.
    pub fn sink_mut(&mut self) -> &mut SyscallSink {
        &mut self.sink
    }

    /// Writes the next rows into `sink` (the next file of a rotating capture; `seq` goes on);
    /// returns the previous sink, still open.
    pub fn replace_sink(&mut self, sink: SyscallSink) -> SyscallSink {
        // Dictionary keys belong to their sink.
        self.keys.fill(None);
        self.other_keys.clear();
        self.gap_key = None;
        std::mem::replace(&mut self.sink, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_separate_64_and_32_bit_numbers() {
        assert_eq!(slot(0, false), Some(0), "first 64-bit slot");
        assert_eq!(
            slot(0, true),
            Some(MAX_SYSCALL_NR as usize),
            "first 32-bit slot"
        );
        assert_eq!(slot(-1, false), None, "negative: no slot");
        assert_eq!(
            slot(MAX_SYSCALL_NR as i32, true),
            None,
            "past the table: no slot"
        );
    }

    #[test]
    fn unknown_numbers_are_named_by_number() {
        assert_eq!(
            name_of(Arch::X86_64, 39, false, false),
            ("getpid", true),
            "known 64-bit call"
        );
        assert_eq!(
            name_of(Arch::X86, 20, true, false),
            ("getpid", true),
            "known i386 call"
        );
        assert_eq!(
            name_of(Arch::X86_64, 1000, false, false),
            ("syscall_1000", false),
            "unknown 64-bit"
        );
        assert_eq!(
            name_of(Arch::X86, 1000, true, false),
            ("ia32_syscall_1000", false),
            "unknown 32-bit"
        );
        assert_eq!(
            name_of(Arch::X86_64, 0x4000_0002, false, true),
            ("open", true),
            "x32 open: x86_64's number with the x32 bit"
        );
        assert_eq!(
            name_of(Arch::X86_64, 0x4000_0200, false, true),
            ("rt_sigaction", true),
            "x32's own 512"
        );
        assert_eq!(
            name_of(Arch::X86_64, -1, false, false),
            ("syscall_-1", false),
            "invalid -1"
        );
    }
}
