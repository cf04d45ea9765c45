//! The reader of the per-CPU rings (`RING_DATA`, `RING_POS`; the writer's side is in
//! tracer-ebpf): each CPU's programs append records to that CPU's ring without a lock, and this
//! side merges the rings by time into one stream.
//!
//! Layout: a CPU's ring is a run of logical positions, `head` (written by its programs) and
//! `tail` (written here) counting bytes ever written and read. A record is an 8-byte header
//! (its length) and its bytes, 8-aligned, stored whole in the `RING_DATA` element where it
//! starts: an element is `RING_CHUNK_BYTES` of ring and `RING_SLACK_BYTES` that a record
//! starting near its end runs into (the next element's first bytes then go unused).
//!
//! Order: each CPU's records are in time order (each is stamped in the program that writes it,
//! and a CPU runs one program at a time). A pass reads the clock, then every head, and takes
//! records in time order across CPUs only while they are older than that clock reading. That
//! keeps each thread's records, and a parent's fork record before its child's first, in their
//! order exactly: a thread's next record is stamped only after its previous one was published
//! (on whichever CPU), so a record this pass cannot see yet was published after the clock was
//! read, and every record stamped after it is held back too. `GRACE_NS` more is held back for
//! unrelated threads: a record stamped on one CPU just before the clock reading but published
//! after the heads were read would otherwise come after younger records of other CPUs.
//! docs/DESIGN.md says what remains.

use std::{
    io,
    mem::offset_of,
    sync::atomic::{AtomicU64, Ordering},
};

use tracer_common::{
    ExecEvent, ExitEvent, FLAG_HAS_DURATION, ForkEvent, GapEvent, KIND_ENTRY_DATA, KIND_EXEC,
    KIND_EXIT, KIND_FORK, KIND_GAP, KIND_SYSCALL, KIND_SYSCALL_DATA, KIND_SYSCALL_PATH,
    RING_CHUNK_BYTES, RING_HEADER_BYTES, RING_MAX_RECORD_BYTES, RING_SLACK_BYTES, RingPosition,
    SyscallEvent, ring_step,
};

use super::drain::Batch;
use crate::probe::{MapMemory, RingLayout, RingMaps};

/// Bytes of a `RING_DATA` element.
const ELEMENT_BYTES: u64 = (RING_CHUNK_BYTES + RING_SLACK_BYTES) as u64;
/// Bytes read from one CPU's ring before its tail is published within a pass.
const PUBLISH_BYTES: u64 = 64 << 10;
/// Records younger than this (by the clock read at the start of a pass) wait for the next
/// pass: room for a record stamped on one CPU but not yet published when the heads were read.
/// Publishing takes well under a microsecond; an interrupt in between, tens (the single ring
/// this replaced showed at most 27 µs of such disorder). Short, as every byte a record waits
/// is a byte of its ring the programs cannot use.
const GRACE_NS: u64 = 100_000;
/// A record stamped this far past the pass's clock reading is taken as it comes rather than
/// held: no program stamps one (it would hold its CPU's ring until the capture ends).
const FUTURE_NS: u64 = 1_000_000_000;

/// The rings' memory: `RING_DATA`'s elements and `RING_POS`'s positions, as laid out by
/// `layout`. Mapped from the maps, or (in tests) any memory so laid out.
struct Rings {
    data: *const u8,
    positions: *mut RingPosition,
    layout: RingLayout,
}

impl Rings {
    /// CPU `cpu`'s head (`tail: false`) or tail, as an atomic: the memory is shared with the
    /// programs, so no reference to the `RingPosition` itself is made.
    fn position(&self, cpu: u32, tail: bool) -> &AtomicU64 {
        assert!(cpu < self.layout.cpus && !self.positions.is_null());
        // SAFETY: `positions` holds `layout.cpus` elements, 128-aligned inside a page-aligned
        // mapping that lives as long as `self` points at it (`EventRing::park` clears it).
        unsafe {
            let at = self.positions.add(cpu as usize);
            AtomicU64::from_ptr(if tail {
                std::ptr::addr_of_mut!((*at).tail)
            } else {
                std::ptr::addr_of_mut!((*at).head)
            })
        }
    }

    /// Acquire: paired with the programs' store of the head after the record's bytes.
    fn head(&self, cpu: u32) -> u64 {
        self.position(cpu, false).load(Ordering::Acquire)
    }

    fn tail(&self, cpu: u32) -> u64 {
        self.position(cpu, true).load(Ordering::Acquire)
    }

    /// Gives the bytes before `pos` back to CPU `cpu`'s programs (release: the records' bytes
    /// are read before they are written again).
    fn set_tail(&self, cpu: u32, pos: u64) {
        self.position(cpu, true).store(pos, Ordering::Release);
    }

    /// The record at position `pos` of CPU `cpu`'s ring, whose head is `head`, and the
    /// position after it; `None` if its header is damaged (a length no program writes, or one
    /// past the head).
    fn record(&self, cpu: u32, pos: u64, head: u64) -> Option<(&[u8], u64)> {
        if !pos.is_multiple_of(8) {
            // Only a tail or head not written by this side or the programs.
            return None;
        }
        let (element, offset) = self.layout.geometry().place(cpu, pos);
        let offset = u64::from(element) * ELEMENT_BYTES + u64::from(offset);
        // SAFETY: `offset` is inside element `element` of the data mapping (below
        // RING_CHUNK_BYTES into it); headers are 8-aligned.
        let len = unsafe { self.data.add(offset as usize).cast::<u32>().read() };
        let next = pos + ring_step(len);
        if len > RING_MAX_RECORD_BYTES || next > head {
            return None;
        }
        // SAFETY: the record's bytes follow its header inside the same element (a record and
        // its header fit in RING_SLACK_BYTES); the programs do not write them again before
        // the tail moves past them.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                self.data
                    .add((offset + u64::from(RING_HEADER_BYTES)) as usize),
                len as usize,
            )
        };
        Some((bytes, next))
    }
}

/// The time a record sorts by: when its program wrote it (a call's exit, with or without a
/// duration), as its CPU's ring is ordered. A gap sorts by its last loss.
fn sort_time(record: &[u8]) -> u64 {
    let u32_at = |at: usize| {
        record
            .get(at..at + 4)
            .map_or(0, |b| u32::from_ne_bytes(b.try_into().expect("4 bytes")))
    };
    let u64_at = |at: usize| {
        record
            .get(at..at + 8)
            .map_or(0, |b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
    };
    // Each kind's fields where tracer-common lays them out (every record starts with a
    // `SyscallEvent` or its own struct).
    match u32_at(offset_of!(SyscallEvent, kind)) {
        KIND_SYSCALL | KIND_SYSCALL_PATH | KIND_SYSCALL_DATA | KIND_ENTRY_DATA => {
            let ts = u64_at(offset_of!(SyscallEvent, ts_ns));
            if u32_at(offset_of!(SyscallEvent, flags)) & FLAG_HAS_DURATION != 0 {
                ts.saturating_add(u64_at(offset_of!(SyscallEvent, duration_ns)))
            } else {
                ts
            }
        }
        KIND_FORK => u64_at(offset_of!(ForkEvent, ts_ns)),
        KIND_EXEC => u64_at(offset_of!(ExecEvent, ts_ns)),
        KIND_EXIT => u64_at(offset_of!(ExitEvent, ts_ns)),
        KIND_GAP => u64_at(offset_of!(GapEvent, last_ts_ns)),
        _ => 0,
    }
}

/// What this process's `CLOCK_MONOTONIC` is ahead of the kernel's own (`bpf_ktime_get_ns`,
/// which time namespaces do not shift): the `monotonic` line of `/proc/self/timens_offsets`,
/// 0 outside a time namespace or on a kernel without them.
fn time_namespace_offset_ns() -> i64 {
    let Ok(offsets) = std::fs::read_to_string("/proc/self/timens_offsets") else {
        return 0;
    };
    parse_monotonic_offset(&offsets).unwrap_or(0)
}

/// The monotonic offset of a `timens_offsets` file ("monotonic SECS NSECS" lines).
fn parse_monotonic_offset(offsets: &str) -> Option<i64> {
    offsets.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != "monotonic" {
            return None;
        }
        let secs: i64 = words.next()?.parse().ok()?;
        let nanos: i64 = words.next()?.parse().ok()?;
        secs.checked_mul(1_000_000_000)?.checked_add(nanos)
    })
}

/// One CPU's ring, as this side reads it.
#[derive(Clone, Copy, Debug, Default)]
struct Cursor {
    /// Position of the next record to read.
    pos: u64,
    /// The head as this pass read it.
    head: u64,
    /// Bytes read since the tail was last published.
    unpublished: u64,
}

/// The maps of the rings, and their mappings while mapped.
struct Mapped {
    maps: RingMaps,
    /// The data and positions mappings; `None` while parked.
    mappings: Option<(MapMemory, MapMemory)>,
}

impl Mapped {
    /// Maps the rings (again), returning where.
    fn map(&mut self) -> io::Result<Rings> {
        let layout = self.maps.layout;
        if self.mappings.is_none() {
            let data = MapMemory::new(
                &self.maps.data,
                (u64::from(layout.elements()) * ELEMENT_BYTES) as usize,
                libc::PROT_READ,
            )?;
            let positions = MapMemory::new(
                &self.maps.positions,
                layout.cpus as usize * size_of::<RingPosition>(),
                libc::PROT_READ | libc::PROT_WRITE,
            )?;
            self.mappings = Some((data, positions));
        }
        let (data, positions) = self.mappings.as_ref().expect("mapped above");
        Ok(Rings {
            data: data.ptr().cast(),
            positions: positions.ptr().cast(),
            layout,
        })
    }
}

/// The reader of the per-CPU rings.
pub struct EventRing {
    rings: Rings,
    cursors: Vec<Cursor>,
    /// CPUs with records this pass.
    active: Vec<usize>,
    /// `time_namespace_offset_ns`, read once.
    clock_offset_ns: i64,
    /// Damaged headers seen since the rings were last resumed (the first is reported).
    damaged: u64,
    /// The maps and mappings behind `rings` (`None` in tests over plain memory).
    mapped: Option<Mapped>,
}

// SAFETY: the mappings are owned by this value alone and only touched through `&mut self` (and
// by the programs, through atomics and the protocol above).
unsafe impl Send for EventRing {}

impl EventRing {
    /// Maps the rings of `maps`.
    pub fn new(maps: RingMaps) -> io::Result<Self> {
        let mut mapped = Mapped {
            maps,
            mappings: None,
        };
        let rings = mapped.map()?;
        Ok(Self::over(rings, Some(mapped)))
    }

    fn over(rings: Rings, mapped: Option<Mapped>) -> Self {
        let cursors: Vec<Cursor> = (0..rings.layout.cpus)
            .map(|cpu| Cursor {
                pos: rings.tail(cpu),
                ..Cursor::default()
            })
            .collect();
        let cpus = cursors.len();
        Self {
            rings,
            cursors,
            active: Vec::with_capacity(cpus),
            clock_offset_ns: time_namespace_offset_ns(),
            damaged: 0,
            mapped,
        }
    }

    /// Unmaps the rings until [`EventRing::resume`] (a capture that has ended keeps its
    /// programs for the next one, not their rings' pages in its memory while it closes its
    /// files). Records the programs write meanwhile stay in the rings.
    pub fn park(&mut self) {
        if let Some(mapped) = &mut self.mapped {
            mapped.mappings = None;
            self.rings.data = std::ptr::null();
            self.rings.positions = std::ptr::null_mut();
        }
    }

    /// Maps the rings again after [`EventRing::park`].
    pub fn resume(&mut self) -> io::Result<()> {
        if let Some(mapped) = &mut self.mapped {
            self.rings = mapped.map()?;
        }
        self.damaged = 0;
        Ok(())
    }

    /// Throws away every published record (of a capture that has ended: see
    /// `capture::Session`), mapping the rings again if parked. Returns how many there were.
    pub fn discard_all(&mut self) -> io::Result<u64> {
        self.resume()?;
        let mut scratch = Batch::default();
        let mut records = 0;
        loop {
            let n = self.drain_into(&mut scratch, 1 << 20, true);
            scratch.clear();
            records += n;
            if n == 0 {
                return Ok(records);
            }
        }
    }

    /// The sort time of CPU `cpu`'s next record, if it has one this pass (a damaged header
    /// gives up the rest of that ring).
    fn next_time(&mut self, cpu: usize) -> Option<u64> {
        let cursor = self.cursors[cpu];
        if cursor.pos >= cursor.head {
            return None;
        }
        match self.rings.record(cpu as u32, cursor.pos, cursor.head) {
            Some((record, _)) => Some(sort_time(record)),
            None => {
                self.give_up(cpu);
                None
            }
        }
    }

    /// Skips the rest of CPU `cpu`'s ring after a damaged header (only a program with the
    /// maps' descriptors, that is root, can write one).
    fn give_up(&mut self, cpu: usize) {
        if self.damaged == 0 {
            log::warn!(
                "CPU {cpu}'s ring has a damaged record header at {}: its records to {} are \
                 skipped",
                self.cursors[cpu].pos,
                self.cursors[cpu].head
            );
        }
        self.damaged += 1;
        let cursor = &mut self.cursors[cpu];
        cursor.unpublished += cursor.head - cursor.pos;
        cursor.pos = cursor.head;
    }

    /// Copies records into `batch`, merged by time across the CPUs' rings, until it holds
    /// `limit` bytes or no record is ready, and gives their space back to the programs.
    /// `all`: every published record is ready (the capture has ended); otherwise only those
    /// older than the pass's start less `GRACE_NS`. Returns the number of records.
    pub fn drain_into(&mut self, batch: &mut Batch, limit: usize, all: bool) -> u64 {
        if self.rings.data.is_null() {
            // Parked: nothing is read until `resume`.
            return 0;
        }
        // The clock before the heads (see the module's comment), in the programs' clock.
        let now = crate::clock::monotonic_ns().saturating_add_signed(-self.clock_offset_ns);
        let ready_before = if all {
            u64::MAX
        } else {
            now.saturating_sub(GRACE_NS)
        };
        let future = now.saturating_add(FUTURE_NS);
        let ready = |time: u64| time < ready_before || time > future;
        self.active.clear();
        for (cpu, cursor) in self.cursors.iter_mut().enumerate() {
            cursor.head = self.rings.head(cpu as u32);
            if cursor.head.wrapping_sub(cursor.pos) > self.rings.layout.bytes {
                // A head behind the tail, or more than a ring ahead: not the programs' writing.
                if self.damaged == 0 {
                    log::warn!(
                        "CPU {cpu}'s ring head {} is not within a ring of its tail {}: its \
                         records are not read",
                        cursor.head,
                        cursor.pos
                    );
                }
                self.damaged += 1;
                cursor.head = cursor.pos;
            }
            if cursor.pos < cursor.head {
                self.active.push(cpu);
            }
        }
        let mut records = 0;
        'pass: while batch.byte_len() < limit {
            // The CPU with the oldest next record, and the next oldest time among the others.
            let mut best: Option<(usize, u64)> = None;
            let mut second = u64::MAX;
            let mut i = 0;
            while i < self.active.len() {
                let cpu = self.active[i];
                let Some(time) = self.next_time(cpu) else {
                    self.active.swap_remove(i);
                    continue;
                };
                i += 1;
                match best {
                    Some((_, t)) if time >= t => second = second.min(time),
                    _ => {
                        if let Some((_, t)) = best {
                            second = second.min(t);
                        }
                        best = Some((cpu, time));
                    }
                }
            }
            let Some((cpu, _)) = best else {
                break;
            };
            // Then that CPU's records, for as long as they come first: each read once, for its
            // time and its bytes.
            let mut first = true;
            loop {
                let cursor = self.cursors[cpu];
                if cursor.pos >= cursor.head {
                    break;
                }
                let Some((record, next)) = self.rings.record(cpu as u32, cursor.pos, cursor.head)
                else {
                    self.give_up(cpu);
                    break;
                };
                let time = sort_time(record);
                if !ready(time) {
                    break 'pass;
                }
                if !first && time > second {
                    break;
                }
                first = false;
                batch.push(record);
                records += 1;
                let cursor = &mut self.cursors[cpu];
                cursor.unpublished += next - cursor.pos;
                cursor.pos = next;
                if cursor.unpublished >= PUBLISH_BYTES {
                    self.rings.set_tail(cpu as u32, next);
                    self.cursors[cpu].unpublished = 0;
                }
                if batch.byte_len() >= limit {
                    break 'pass;
                }
            }
        }
        for (cpu, cursor) in self.cursors.iter_mut().enumerate() {
            if cursor.unpublished > 0 {
                self.rings.set_tail(cpu as u32, cursor.pos);
                cursor.unpublished = 0;
            }
        }
        records
    }
}

#[cfg(test)]
mod tests {
    use tracer_common::{ForkEvent, GapEvent, SyscallEvent};

    use super::*;

    /// Memory laid out as the rings of `layout`, and a writer that appends records as the
    /// programs do.
    /// (Written and read through raw pointers only, as the reader's are.)
    struct Fake {
        data: *mut u8,
        positions: *mut RingPosition,
        layout: RingLayout,
        _memory: (Vec<u64>, Vec<RingPosition>),
    }

    impl Fake {
        fn new(layout: RingLayout) -> Self {
            let mut data = vec![0u64; (u64::from(layout.elements()) * ELEMENT_BYTES / 8) as usize];
            let mut positions = vec![RingPosition::default(); layout.cpus as usize];
            Self {
                data: data.as_mut_ptr().cast(),
                positions: positions.as_mut_ptr(),
                layout,
                _memory: (data, positions),
            }
        }

        fn rings(&self) -> Rings {
            Rings {
                data: self.data,
                positions: self.positions,
                layout: self.layout,
            }
        }

        /// CPU `cpu`'s positions, as they are now.
        fn pos(&self, cpu: u32) -> RingPosition {
            assert!(cpu < self.layout.cpus);
            // SAFETY: one of the `layout.cpus` positions (the tests are single-threaded).
            unsafe { self.positions.add(cpu as usize).read() }
        }

        /// Copies `bytes` into the data memory at `offset`.
        fn put(&self, offset: usize, bytes: &[u8]) {
            let len = (u64::from(self.layout.elements()) * ELEMENT_BYTES) as usize;
            assert!(offset + bytes.len() <= len);
            // SAFETY: inside the data memory (checked), which `bytes` does not overlap.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.data.add(offset), bytes.len())
            };
        }

        /// Appends `record` to `cpu`'s ring as `ring_reserve` and `ring_commit` do; `false`
        /// when it has no room.
        /// (The placement is derived here again from the layout's description, not taken from
        /// `RingGeometry::place`, so the reader is checked against it.)
        fn write(&self, cpu: u32, record: &[u8]) -> bool {
            let mut pos = self.pos(cpu);
            let need = (record.len() as u64 + 8).next_multiple_of(8);
            if pos.head - pos.tail + need > self.layout.bytes {
                return false;
            }
            let at = pos.head & (self.layout.bytes - 1);
            let element = u64::from(cpu * self.layout.chunks) + at / u64::from(RING_CHUNK_BYTES);
            let offset = (element * ELEMENT_BYTES + at % u64::from(RING_CHUNK_BYTES)) as usize;
            self.put(offset, &(record.len() as u64).to_ne_bytes());
            self.put(offset + 8, record);
            pos.head += need;
            // SAFETY: as in `pos`.
            unsafe { self.positions.add(cpu as usize).write(pos) };
            true
        }
    }

    fn as_bytes<T: Copy>(value: &T) -> Vec<u8> {
        // SAFETY: the record types are repr(C) integers without padding.
        unsafe {
            std::slice::from_raw_parts(std::ptr::from_ref(value).cast::<u8>(), size_of::<T>())
        }
        .to_vec()
    }

    fn call(tid: u32, ts_ns: u64, nr: i32) -> Vec<u8> {
        as_bytes(&SyscallEvent {
            kind: KIND_SYSCALL,
            flags: 0,
            tgid: tid,
            tid,
            nr,
            path_len: 0,
            ts_ns,
            duration_ns: 0,
            ret: 0,
            args: [0; 6],
        })
    }

    fn drained(ring: &mut EventRing, all: bool) -> Vec<Vec<u8>> {
        let mut batch = Batch::default();
        ring.drain_into(&mut batch, usize::MAX, all);
        let mut records = batch.records();
        let mut out = Vec::new();
        while let Some(r) = records.next_record() {
            out.push(r.to_vec());
        }
        out
    }

    #[test]
    fn layout_divides_the_ring_among_cpus_in_powers_of_two() {
        let l = RingLayout::new(8 << 20, 2);
        assert_eq!((l.bytes, l.chunks), (4 << 20, 16));
        let l = RingLayout::new(8 << 20, 3);
        assert_eq!(l.bytes, 2 << 20, "a third of 8 MiB, down to a power of two");
        let l = RingLayout::new(4096, 2);
        assert_eq!(
            (l.bytes, l.chunks),
            (16 << 10, 1),
            "no CPU gets less than 16 KiB"
        );
        assert!(
            RingLayout::MIN_BYTES >= u64::from(RING_HEADER_BYTES + RING_MAX_RECORD_BYTES),
            "the smallest ring holds the largest record"
        );
        assert_eq!(RingLayout::new(1 << 20, 0).cpus, 1);
        assert_eq!(RingLayout::new(8 << 20, 2).describe(), "2 x 4194304");
    }

    #[test]
    fn rings_are_merged_by_time_and_each_cpus_order_is_kept() {
        let layout = RingLayout::new(1 << 20, 3);
        let fake = Fake::new(layout);
        // CPU 0: times 10, 40, 50; CPU 1: 20, 30; CPU 2: a fork at 35, then a gap whose last
        // loss is at 36 and the call after it at 60.
        for (cpu, ts) in [(0, 10), (0, 40), (0, 50), (1, 20), (1, 30)] {
            assert!(fake.write(cpu, &call(cpu + 1, ts, ts as i32)));
        }
        let fork = ForkEvent {
            kind: KIND_FORK,
            flags: 0,
            ts_ns: 35,
            parent_tgid: 3,
            parent_tid: 3,
            child_tgid: 9,
            child_tid: 9,
            comm: [0; 16],
            real_parent_tgid: 3,
            pad: 0,
        };
        let gap = GapEvent {
            kind: KIND_GAP,
            flags: 0,
            cpu: 2,
            tgid: 3,
            tid: 3,
            pad: 0,
            first_ts_ns: 36,
            last_ts_ns: 37,
            lost: [2, 0],
        };
        assert!(fake.write(2, &as_bytes(&fork)));
        assert!(fake.write(2, &as_bytes(&gap)));
        assert!(fake.write(2, &call(3, 60, 60)));
        let mut ring = EventRing::over(fake.rings(), None);
        let got: Vec<u64> = drained(&mut ring, true)
            .iter()
            .map(|r| sort_time(r))
            .collect();
        assert_eq!(got, vec![10, 20, 30, 35, 37, 40, 50, 60]);
        for cpu in 0..3 {
            assert_eq!(
                fake.pos(cpu).tail,
                fake.pos(cpu).head,
                "every record's space is given back"
            );
        }
    }

    #[test]
    fn records_younger_than_the_grace_wait_for_a_later_pass() {
        let layout = RingLayout::new(1 << 16, 2);
        let fake = Fake::new(layout);
        let now = crate::clock::monotonic_ns();
        let old = now - 10 * GRACE_NS;
        assert!(fake.write(0, &call(1, old, 1)));
        assert!(fake.write(1, &call(2, old + 1, 2)));
        // Stamped now: a record on CPU 0 may still be on its way older than it.
        assert!(fake.write(1, &call(2, now, 3)));
        let mut ring = EventRing::over(fake.rings(), None);
        let first: Vec<u64> = drained(&mut ring, false)
            .iter()
            .map(|r| sort_time(r))
            .collect();
        assert_eq!(first, vec![old, old + 1], "the young record waits");
        assert_eq!(
            fake.pos(1).tail,
            96 + 8,
            "only the read record's space is back"
        );
        let rest: Vec<u64> = drained(&mut ring, true)
            .iter()
            .map(|r| sort_time(r))
            .collect();
        assert_eq!(rest, vec![now]);
        // A time no program stamps (far ahead of the clock) does not hold its ring.
        assert!(fake.write(0, &call(1, now + 100 * FUTURE_NS, 4)));
        assert!(fake.write(0, &call(1, now + 100 * FUTURE_NS + 1, 5)));
        assert_eq!(drained(&mut ring, false).len(), 2);
    }

    #[test]
    fn a_time_namespace_offset_is_read_from_its_file() {
        assert_eq!(
            parse_monotonic_offset("monotonic   -3600  5\nboottime 0 0\n"),
            Some(-3_599_999_999_995)
        );
        assert_eq!(
            parse_monotonic_offset("boottime 1 0\nmonotonic 2 0\n"),
            Some(2_000_000_000)
        );
        assert_eq!(parse_monotonic_offset(""), None);
        assert_eq!(parse_monotonic_offset("monotonic x 0\n"), None);
    }

    #[test]
    fn records_wrap_across_chunks_and_the_ring_end_and_come_back_whole() {
        // Two chunks per CPU; records of odd sizes so that they straddle chunk ends.
        let layout = RingLayout::new(2 * u64::from(RING_CHUNK_BYTES), 1);
        assert_eq!(layout.chunks, 2);
        let fake = Fake::new(layout);
        let mut ring = EventRing::over(fake.rings(), None);
        let mut written = Vec::new();
        let mut read = Vec::new();
        let mut ts = 1u64;
        // Four times around the ring, draining as it fills.
        while fake.pos(0).head < 4 * layout.bytes {
            let mut record = call(1, ts, 1);
            record.extend(std::iter::repeat_n((ts % 251) as u8, (ts % 4000) as usize));
            if fake.write(0, &record) {
                written.push(record);
                ts += 1;
            } else {
                read.extend(drained(&mut ring, true));
            }
        }
        read.extend(drained(&mut ring, true));
        assert_eq!(read.len(), written.len());
        assert!(read == written, "every record back byte for byte, in order");
    }

    #[test]
    fn a_damaged_header_skips_its_ring_only() {
        let layout = RingLayout::new(1 << 16, 2);
        let fake = Fake::new(layout);
        assert!(fake.write(0, &call(1, 5, 1)));
        assert!(fake.write(1, &call(2, 6, 2)));
        // CPU 0's header claims more than a record can be.
        fake.put(0, &u32::MAX.to_ne_bytes());
        let mut ring = EventRing::over(fake.rings(), None);
        let got: Vec<u64> = drained(&mut ring, true)
            .iter()
            .map(|r| sort_time(r))
            .collect();
        assert_eq!(got, vec![6]);
        assert_eq!(fake.pos(0).tail, fake.pos(0).head, "CPU 0 skipped");
    }
}
