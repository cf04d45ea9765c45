//! The drain thread: empties the per-CPU rings into batches, merged by time (`ring`), as fast
//! as it can (it only copies).
//! A batch keeps each record's length beside its bytes, so the writer never re-derives where a
//! record ends from its kind, and one record it cannot decode costs that record only.
//!
//! Plain syscall records, the bulk of a busy capture, are kept as the 8-byte words that differ
//! from the batch's previous one (a storm's calls differ in their timestamp and little else):
//! the queue to the writer holds five to ten times more of them in the same memory, so a
//! writer that falls behind for a while costs neither records nor memory.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::Duration,
};

use tracer_common::{KIND_SYSCALL, SyscallEvent};

use super::ring::EventRing;

/// Bytes collected before a batch is handed to the writer.
const BATCH_BYTES: usize = 1 << 20;
/// Room above `BATCH_BYTES`: the record that crosses it still fits without a reallocation.
const BATCH_SLACK: usize = 4096;
/// Records a batch is sized for: a storm's syscall records take about 13 bytes each as deltas
/// (a 1 MiB batch holds ~79,000), so room for 1 MiB / 12 of them fills without ever doubling
/// (at 1 MiB / 16 each batch of the queue reallocated its lengths to 512 KiB).
const BATCH_RECORDS: usize = BATCH_BYTES / 12;
/// Sleep of the drain thread when no record is ready. Programs never wake us (a wakeup per
/// event would cost the traced program), so we poll.
const IDLE_POLL: Duration = Duration::from_micros(500);

/// Bytes of a plain syscall record, the kind kept as a delta.
const SYSCALL_BYTES: usize = size_of::<SyscallEvent>();
/// Bytes of a delta's word.
const WORD: usize = 8;
/// `lens` bit of a record kept as a delta: a `u16` mask of the words that differ from the
/// previous delta's record, then those words.
const DELTA: u32 = 1 << 31;

/// Ring-buffer records back to back, with the length of each.
#[derive(Clone, Debug)]
pub struct Batch {
    bytes: Vec<u8>,
    /// Per record, its length, with `DELTA` set for a record kept as a delta.
    lens: Vec<u32>,
    /// The last record kept as a delta: the base of the next one.
    last: [u8; SYSCALL_BYTES],
}

impl Default for Batch {
    fn default() -> Self {
        Self::with_capacity(0, 0)
    }
}

impl Batch {
    /// An empty batch with room for `bytes` bytes in `records` records.
    pub fn with_capacity(bytes: usize, records: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            lens: Vec::with_capacity(records),
            last: [0; SYSCALL_BYTES],
        }
    }

    /// An empty batch of the drain's size.
    fn for_drain() -> Self {
        Self::with_capacity(BATCH_BYTES + BATCH_SLACK, BATCH_RECORDS)
    }

    /// Appends one record.
    pub fn push(&mut self, record: &[u8]) {
        self.push_parts(record, &[]);
    }

    /// Appends one record given in two pieces (one that wrapped past the ring's end).
    pub fn push_parts(&mut self, first: &[u8], second: &[u8]) {
        let len = first.len() + second.len();
        if len == SYSCALL_BYTES && kind(first, second) == Some(KIND_SYSCALL) {
            let mut record = [0u8; SYSCALL_BYTES];
            record[..first.len()].copy_from_slice(first);
            record[first.len()..].copy_from_slice(second);
            self.push_delta(&record);
            return;
        }
        let len = u32::try_from(len)
            .ok()
            .filter(|len| len & DELTA == 0)
            .expect("a ring-buffer record is below 2 GiB");
        self.bytes.extend_from_slice(first);
        self.bytes.extend_from_slice(second);
        self.lens.push(len);
    }

    /// Appends a plain syscall record as the words that differ from the last one.
    fn push_delta(&mut self, record: &[u8; SYSCALL_BYTES]) {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&[0, 0]);
        let mut mask = 0u16;
        for (i, (word, last)) in record
            .chunks_exact(WORD)
            .zip(self.last.chunks_exact_mut(WORD))
            .enumerate()
        {
            if word != last {
                mask |= 1 << i;
                self.bytes.extend_from_slice(word);
                last.copy_from_slice(word);
            }
        }
        self.bytes[at..at + 2].copy_from_slice(&mask.to_le_bytes());
        self.lens.push(SYSCALL_BYTES as u32 | DELTA);
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.lens.clear();
        self.last = [0; SYSCALL_BYTES];
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.lens.len()
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// Bytes the records take in the batch.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The records, in ring order, as the programs wrote them.
    pub fn records(&self) -> Records<'_> {
        Records {
            bytes: &self.bytes,
            lens: self.lens.iter(),
            last: [0; SYSCALL_BYTES],
        }
    }
}

/// The kind (first `u32`) of a record given in two pieces, if it has one.
fn kind(first: &[u8], second: &[u8]) -> Option<u32> {
    let mut head = [0u8; 4];
    let from_first = first.len().min(4);
    head[..from_first].copy_from_slice(&first[..from_first]);
    let rest = 4 - from_first;
    head[from_first..].copy_from_slice(second.get(..rest)?);
    Some(u32::from_ne_bytes(head))
}

/// The records of a [`Batch`], one at a time: a record kept as a delta is rebuilt in place, so
/// each borrows this reader until the next (not an `Iterator`).
pub struct Records<'a> {
    bytes: &'a [u8],
    lens: std::slice::Iter<'a, u32>,
    /// The last record rebuilt from a delta.
    last: [u8; SYSCALL_BYTES],
}

impl Records<'_> {
    /// The next record, as the program wrote it.
    #[inline]
    pub fn next_record(&mut self) -> Option<&[u8]> {
        let len = *self.lens.next()?;
        if len & DELTA == 0 {
            // `Batch::push_parts` keeps the lengths summing to the bytes.
            let (record, rest) = self.bytes.split_at(len as usize);
            self.bytes = rest;
            return Some(record);
        }
        let mask = u16::from_le_bytes([self.bytes[0], self.bytes[1]]);
        let mut at = 2;
        for (i, last) in self.last.chunks_exact_mut(WORD).enumerate() {
            if mask & (1 << i) != 0 {
                last.copy_from_slice(&self.bytes[at..at + WORD]);
                at += WORD;
            }
        }
        self.bytes = &self.bytes[at..];
        Some(&self.last)
    }
}

/// Counters of the drain, shared with the progress display.
#[derive(Debug, Default)]
pub struct DrainCounters {
    /// Records drained from the ring buffer.
    pub records: AtomicU64,
}

/// The drain's side of the queue to the writer: full batches, and the written ones back.
pub struct ToWriter {
    /// Batches to write.
    pub batches: mpsc::SyncSender<Batch>,
    /// Written batches, emptied, to be filled again.
    pub spare: mpsc::Receiver<Batch>,
    /// Batches sent and not yet written (the writer counts them down).
    pub in_flight: Arc<AtomicUsize>,
}

impl ToWriter {
    /// Sends `batch`, leaving an empty one in its place; `None` once the writer has hung up.
    fn send(&self, batch: &mut Batch) -> Option<()> {
        let next = self.spare.try_recv().unwrap_or_else(|_| Batch::for_drain());
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.batches.send(std::mem::replace(batch, next)).ok()
    }

    /// Whether the writer has nothing left to write.
    fn writer_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }
}

/// Spawns the drain thread. It runs until `stop` is set (`Pipeline::stop` also unparks it from
/// its poll), then empties the ring once more, appends the records in `tail` (the gaps no
/// program wrote, see `Pipeline::stop`) and ends, so every record committed before `stop`
/// reaches the writer.
///
/// A batch goes to the writer when it is full, or when the ring is empty and the writer idle
/// (so a quiet capture's records are written within a poll). While the writer is busy the
/// drain keeps filling the batch it has instead: the queue then holds full batches, and its
/// bound in batches is one in MiB.
pub fn spawn_drain(
    mut ring: EventRing,
    stop: Arc<AtomicBool>,
    counters: Arc<DrainCounters>,
    to_writer: ToWriter,
    tail: Arc<Mutex<Vec<Vec<u8>>>>,
) -> thread::JoinHandle<EventRing> {
    thread::Builder::new()
        .name("tracer-drain".into())
        .spawn(move || {
            let mut batch = Batch::for_drain();
            loop {
                let stopping = stop.load(Ordering::Acquire);
                let mut drained = 0u64;
                loop {
                    drained += ring.drain_into(&mut batch, BATCH_BYTES, stopping);
                    if batch.byte_len() < BATCH_BYTES {
                        // No record is ready (the rings are empty, or what is left is younger
                        // than the merge's grace).
                        break;
                    }
                    if to_writer.send(&mut batch).is_none() {
                        return ring;
                    }
                }
                if stopping {
                    let tail = std::mem::take(&mut *tail.lock().unwrap_or_else(|e| e.into_inner()));
                    for record in &tail {
                        batch.push(record);
                    }
                }
                if drained > 0 {
                    counters.records.fetch_add(drained, Ordering::Relaxed);
                }
                if !batch.is_empty()
                    && (stopping || to_writer.writer_idle())
                    && to_writer.send(&mut batch).is_none()
                {
                    return ring;
                }
                if stopping {
                    return ring;
                }
                if drained == 0 {
                    // Unparked early by `Pipeline::stop`.
                    thread::park_timeout(IDLE_POLL);
                }
            }
        })
        .expect("spawning the drain thread")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_keeps_each_records_length() {
        let mut batch = Batch::default();
        batch.push(&[1, 2, 3]);
        batch.push(&[]);
        batch.push(&[4; 96]);
        batch.push_parts(&[5; 10], &[6; 20]);
        assert_eq!(batch.len(), 4, "four records");
        assert_eq!(batch.byte_len(), 129, "their bytes back to back");
        let mut records = batch.records();
        let mut got: Vec<Vec<u8>> = Vec::new();
        while let Some(r) = records.next_record() {
            got.push(r.to_vec());
        }
        let mut wrapped = vec![5u8; 10];
        wrapped.extend([6u8; 20]);
        assert_eq!(
            got,
            vec![vec![1u8, 2, 3], vec![], vec![4u8; 96], wrapped],
            "each record comes back whole, in order"
        );
    }

    fn syscall(ts_ns: u64, nr: i32, ret: i64) -> [u8; SYSCALL_BYTES] {
        let e = SyscallEvent {
            kind: KIND_SYSCALL,
            flags: 0,
            tgid: 7,
            tid: 8,
            nr,
            path_len: 0,
            ts_ns,
            duration_ns: 0,
            ret,
            args: [1, 2, 3, 4, 5, ts_ns ^ 0xff],
        };
        // SAFETY: SyscallEvent is repr(C) of integers without padding (size checked in
        // tracer-common).
        unsafe { std::mem::transmute::<SyscallEvent, [u8; SYSCALL_BYTES]>(e) }
    }

    #[test]
    fn syscall_records_are_kept_as_deltas_and_come_back_whole() {
        let mut batch = Batch::default();
        let calls: Vec<[u8; SYSCALL_BYTES]> = (0..1000)
            .map(|i| syscall(1_000_000 + i * 150, 110, (i % 3) as i64))
            .collect();
        batch.push(&calls[0]);
        batch.push(&[9; 40]);
        // The next call arrives split, as a record wrapping past the ring's end does.
        batch.push_parts(&calls[1][..50], &calls[1][50..]);
        for c in &calls[2..] {
            batch.push(c);
        }
        assert!(
            batch.byte_len() < 1000 * 30,
            "{} bytes for 1000 calls that differ in time, ret and one argument",
            batch.byte_len()
        );
        let mut records = batch.records();
        assert_eq!(records.next_record(), Some(&calls[0][..]), "first call");
        assert_eq!(records.next_record(), Some(&[9u8; 40][..]), "raw record");
        for (i, c) in calls[1..].iter().enumerate() {
            assert_eq!(records.next_record(), Some(&c[..]), "call {}", i + 1);
        }
        assert_eq!(records.next_record(), None, "no more");
        batch.clear();
        batch.push(&calls[5]);
        assert_eq!(
            batch.records().next_record(),
            Some(&calls[5][..]),
            "a cleared batch starts from nothing"
        );
    }
}
