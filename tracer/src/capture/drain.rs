//! The drain thread: empties the ring buffer into batches as fast as it can (it only copies).
//! A batch keeps each record's length beside its bytes, so the writer never re-derives where a
//! record ends from its kind, and one record it cannot decode costs that record only.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
    thread,
    time::Duration,
};

use super::ring::EventRing;

/// Bytes collected before a batch is handed to the writer.
const BATCH_BYTES: usize = 1 << 20;
/// Room above `BATCH_BYTES`: the record that crosses it still fits without a reallocation.
const BATCH_SLACK: usize = 4096;
/// Records a batch is sized for (most are 96-byte syscall records).
const BATCH_RECORDS: usize = BATCH_BYTES / 64;
/// Sleep of the drain thread when the ring is empty. Programs submit without waking us
/// (`BPF_RB_NO_WAKEUP`: a wakeup per event would cost the traced program), so we poll.
const IDLE_POLL: Duration = Duration::from_micros(500);

/// Ring-buffer records back to back, with the length of each.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    bytes: Vec<u8>,
    lens: Vec<u32>,
}

impl Batch {
    /// An empty batch with room for `bytes` bytes in `records` records.
    pub fn with_capacity(bytes: usize, records: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            lens: Vec::with_capacity(records),
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
        let len = u32::try_from(first.len() + second.len())
            .expect("a ring-buffer record is below 4 GiB");
        self.bytes.extend_from_slice(first);
        self.bytes.extend_from_slice(second);
        self.lens.push(len);
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.lens.clear();
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.lens.len()
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// Bytes of all records.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The records, in ring order.
    pub fn records(&self) -> Records<'_> {
        Records {
            bytes: &self.bytes,
            lens: self.lens.iter(),
        }
    }
}

/// Iterator over the records of a [`Batch`].
pub struct Records<'a> {
    bytes: &'a [u8],
    lens: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for Records<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = *self.lens.next()? as usize;
        // `Batch::push` keeps the lengths summing to the bytes.
        let (record, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Some(record)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.lens.size_hint()
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

/// Spawns the drain thread. It runs until `stop` is set, then empties the ring once more and
/// ends, so every record committed before `stop` reaches the writer.
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
) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name("tracer-drain".into())
        .spawn(move || {
            let mut batch = Batch::for_drain();
            loop {
                let stopping = stop.load(Ordering::Acquire);
                let mut drained = 0u64;
                loop {
                    drained += ring.drain_into(&mut batch, BATCH_BYTES);
                    if batch.byte_len() < BATCH_BYTES {
                        // The ring is empty (or its next record is still being written).
                        break;
                    }
                    if to_writer.send(&mut batch).is_none() {
                        return;
                    }
                }
                if drained > 0 {
                    counters.records.fetch_add(drained, Ordering::Relaxed);
                }
                if !batch.is_empty()
                    && (stopping || to_writer.writer_idle())
                    && to_writer.send(&mut batch).is_none()
                {
                    return;
                }
                if stopping {
                    return;
                }
                if drained == 0 {
                    thread::sleep(IDLE_POLL);
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
        assert_eq!(batch.len(), 3, "three records");
        assert_eq!(batch.byte_len(), 99, "their bytes back to back");
        let records: Vec<&[u8]> = batch.records().collect();
        assert_eq!(
            records,
            vec![&[1u8, 2, 3][..], &[][..], &[4u8; 96][..]],
            "each record comes back whole, in order"
        );
    }
}
