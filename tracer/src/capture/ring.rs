//! The consumer side of the `EVENTS` ring buffer, read in place with the kernel's protocol
//! (kernel/bpf/ringbuf.c; libbpf's `ringbuf_process_ring` does the same).
//!
//! Two choices differ from aya's `RingBuf`:
//! - the data pages are mapped once, not twice: a record that wraps past the end is copied in
//!   two pieces instead, so the ring is resident once (an 8 MiB ring costs 8 MiB of RSS, not
//!   16), and start-up maps half as many pages;
//! - the consumer position is published once per pass (at most `PUBLISH_BYTES`), not after
//!   every record: each publication is a cache line the producing CPUs must fetch again.

use std::{
    io,
    os::fd::{AsFd as _, AsRawFd as _},
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};

use aya::maps::MapData;

use super::drain::Batch;

/// Record header bits (include/uapi/linux/bpf.h): reserved and not yet committed, and
/// discarded by its producer.
const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
/// Bytes of a record header (`BPF_RINGBUF_HDR_SZ`): length and flags, then the page offset.
const HEADER_BYTES: u64 = 8;
/// Bytes read before the consumer position is published within one pass.
const PUBLISH_BYTES: u64 = 64 << 10;

/// A shared mapping of part of the ring buffer map.
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(map: &MapData, len: usize, prot: libc::c_int, offset: usize) -> io::Result<Self> {
        // SAFETY: a fresh shared mapping of the map's fd; checked for failure.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                map.fd().as_fd().as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once; nothing borrowed from it outlives `self`.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// The consumer of the ring buffer.
pub struct EventRing {
    /// The consumer page: `consumer_pos` at its start, the only part user space writes.
    consumer: Mapping,
    /// The producer page (`producer_pos` at its start) and the data pages after it.
    producer: Mapping,
    /// Offset of the data pages in `producer`.
    data_offset: usize,
    /// Data bytes (a power of two).
    size: u64,
    /// Our position: records before it are read (published or not).
    pos: u64,
    /// Keeps the map, and so the mappings' file, open.
    _map: MapData,
}

// SAFETY: the mappings are owned by this value alone and only touched through `&mut self` (and
// the kernel, through atomics).
unsafe impl Send for EventRing {}

impl EventRing {
    /// Maps ring buffer `map` of `size` data bytes.
    pub fn new(map: MapData, size: u32) -> io::Result<Self> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let consumer = Mapping::new(&map, page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer = Mapping::new(&map, page + size as usize, libc::PROT_READ, page)?;
        let mut ring = Self {
            consumer,
            producer,
            data_offset: page,
            size: u64::from(size),
            pos: 0,
            _map: map,
        };
        ring.pos = ring.consumer_pos().load(Ordering::Acquire);
        Ok(ring)
    }

    fn consumer_pos(&self) -> &AtomicU64 {
        // SAFETY: the consumer page starts with the kernel's `unsigned long consumer_pos`,
        // page-aligned and mapped for the life of `self`.
        unsafe { &*self.consumer.ptr.cast::<AtomicU64>() }
    }

    fn producer_pos(&self) -> &AtomicU64 {
        // SAFETY: as above, for `producer_pos` at the start of the producer page (read-only:
        // only loaded).
        unsafe { &*self.producer.ptr.cast::<AtomicU64>() }
    }

    /// `len` data bytes from ring offset `offset` (below `size`): one slice, or two when they
    /// wrap past the end.
    fn data(&self, offset: u64, len: u64) -> (&[u8], &[u8]) {
        let first = len.min(self.size - offset) as usize;
        let second = (len as usize - first).min(self.size as usize);
        // SAFETY: `offset + first <= size` and `second <= size`: inside the data pages, which
        // stay mapped for the life of `self`. The kernel does not write a committed record
        // before we publish a position past it.
        unsafe {
            let data = self.producer.ptr.cast::<u8>().add(self.data_offset);
            (
                std::slice::from_raw_parts(data.add(offset as usize), first),
                std::slice::from_raw_parts(data, second),
            )
        }
    }

    /// Throws away every committed record (of a capture that has ended: see
    /// `capture::Session`). Returns how many there were.
    pub fn discard_all(&mut self) -> u64 {
        let mut scratch = Batch::default();
        let mut records = 0;
        loop {
            let n = self.drain_into(&mut scratch, 1 << 20);
            scratch.clear();
            records += n;
            if n == 0 {
                return records;
            }
        }
    }

    /// Copies committed records into `batch`, in ring order, until it holds `limit` bytes or
    /// the ring has no more (a record still being written ends the pass too), and gives their
    /// space back to the kernel. Returns the number of records.
    pub fn drain_into(&mut self, batch: &mut Batch, limit: usize) -> u64 {
        let mask = self.size - 1;
        let mut records = 0;
        let mut unpublished = 0;
        let mut producer = self.producer_pos().load(Ordering::Acquire);
        while batch.byte_len() < limit {
            if self.pos == producer {
                producer = self.producer_pos().load(Ordering::Acquire);
                if self.pos == producer {
                    break;
                }
            }
            let at = self.pos & mask;
            // SAFETY: headers are 8-aligned inside the data pages (positions advance in
            // multiples of 8 and the data size is a multiple of the page size); the kernel
            // commits a record by clearing BUSY_BIT with a full barrier, paired with this
            // acquire load.
            let header = unsafe {
                (*self
                    .producer
                    .ptr
                    .cast::<u8>()
                    .add(self.data_offset + at as usize)
                    .cast::<AtomicU32>())
                .load(Ordering::Acquire)
            };
            if header & BUSY_BIT != 0 {
                break;
            }
            let len = u64::from(header & !(BUSY_BIT | DISCARD_BIT));
            if header & DISCARD_BIT == 0 {
                let (first, second) = self.data((at + HEADER_BYTES) & mask, len);
                batch.push_parts(first, second);
                records += 1;
            }
            let step = (HEADER_BYTES + len).next_multiple_of(8);
            self.pos += step;
            unpublished += step;
            if unpublished >= PUBLISH_BYTES {
                self.consumer_pos().store(self.pos, Ordering::Release);
                unpublished = 0;
            }
        }
        if unpublished > 0 {
            self.consumer_pos().store(self.pos, Ordering::Release);
        }
        records
    }
}
