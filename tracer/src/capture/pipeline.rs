//! The drain and writer threads as one unit: started once the targets are registered, watched
//! by the main loop, stopped once at the end.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
    thread::{self, JoinHandle},
};

use super::{
    drain::{self, DrainCounters},
    ring::EventRing,
    writer::{self, Collected, WriteFailure, Writer},
};

/// Batches queued between the drain and writer threads (1 MiB each): with the ring buffer, the
/// slack for a writer that falls behind for a moment (a Parquet flush, a busy CPU). When the
/// writer falls further behind, the drain waits, the ring buffer fills and further records are
/// counted as lost: memory stays bounded (ring + this many MiB) and losses stay visible.
const QUEUED_BATCHES: usize = 16;

/// The running threads.
pub struct Pipeline {
    stop: Arc<AtomicBool>,
    counters: Arc<DrainCounters>,
    /// Records the drain appends after its last pass.
    tail: Arc<Mutex<Vec<Vec<u8>>>>,
    drain: JoinHandle<EventRing>,
    writer: JoinHandle<Result<Collected, Box<WriteFailure>>>,
}

/// How the threads ended.
pub struct Joined {
    /// The drain thread, which gives the ring back (an error is its panic).
    pub drain: thread::Result<EventRing>,
    /// The writer thread (an error is its panic).
    pub writer: thread::Result<Result<Collected, Box<WriteFailure>>>,
}

impl Pipeline {
    /// Starts draining `ring` into `writer`.
    pub fn start(ring: EventRing, writer: Writer) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(DrainCounters::default());
        let (tx, rx) = mpsc::sync_channel(QUEUED_BATCHES);
        // Written batches go back to the drain to be filled again: no allocation (and no fresh
        // pages to fault in) per MiB of records.
        let (spare_tx, spare_rx) = mpsc::sync_channel(QUEUED_BATCHES + 2);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let to_writer = drain::ToWriter {
            batches: tx,
            spare: spare_rx,
            in_flight: in_flight.clone(),
        };
        let tail = Arc::new(Mutex::new(Vec::new()));
        let drain = drain::spawn_drain(
            ring,
            stop.clone(),
            counters.clone(),
            to_writer,
            tail.clone(),
        );
        let writer = writer::spawn_writer(
            writer,
            writer::FromDrain {
                batches: rx,
                spare: spare_tx,
                in_flight,
            },
        );
        Self {
            stop,
            counters,
            tail,
            drain,
            writer,
        }
    }

    /// Records drained from the ring so far.
    pub fn records_drained(&self) -> u64 {
        self.counters.records.load(Ordering::Relaxed)
    }

    /// Whether the writer has ended; before `stop`, only an error ends it.
    pub fn writer_finished(&self) -> bool {
        self.writer.is_finished()
    }

    /// Stops the drain after a last pass over the ring, so every record committed before now
    /// reaches the writer, then `tail` (records written here rather than by a program: the gaps
    /// still pending when nothing is traced any more), and waits for both threads.
    pub fn stop(self, tail: Vec<Vec<u8>>) -> Joined {
        *self.tail.lock().unwrap_or_else(|e| e.into_inner()) = tail;
        self.stop.store(true, Ordering::Release);
        self.drain.thread().unpark();
        Joined {
            drain: self.drain.join(),
            writer: self.writer.join(),
        }
    }
}
