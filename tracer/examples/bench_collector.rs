//! Collector throughput: synthetic ring-buffer records (the exact bytes the eBPF programs write)
//! decoded and written to Parquet by the capture writer, on one core.
//!
//! `cargo run --release -p tracer --example bench_collector -- [--events N]`

use std::time::Instant;

use tracer::capture::{Batch, Writer};
use tracer_common::{KIND_SYSCALL, KIND_SYSCALL_PATH, PATH_BYTES, SyscallEvent, SyscallPathEvent};
use tracer_dataset::Arch;
use tracer_dataset::{RunInfo, SyscallSink};

/// The DESIGN.md target: records decoded and written per second on one core.
const TARGET_PER_S: f64 = 3_000_000.0;

fn as_bytes<T>(v: &T) -> &[u8] {
    // SAFETY: T is a repr(C) integer-only record; viewing it as bytes is sound.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

fn main() {
    let mut events: u64 = 5_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--events" {
            events = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--events N");
        }
    }
    // A realistic mix: mostly plain calls from a few threads, one in ten with a path.
    // Batches as the drain thread builds them: about 1 MiB of records, each with its length.
    let new_batch = || Batch::with_capacity((1 << 20) + 4096, 1 << 14);
    let mut batches: Vec<Batch> = Vec::new();
    let mut batch = new_batch();
    let nrs = [0i32, 1, 3, 9, 10, 12, 202, 228, 232, 110];
    for i in 0..events {
        let head = SyscallEvent {
            kind: KIND_SYSCALL,
            flags: 0,
            tgid: 1000 + (i % 4) as u32,
            tid: 1000 + (i % 8) as u32,
            nr: nrs[(i % nrs.len() as u64) as usize],
            path_len: 0,
            ts_ns: 1_000_000_000 + i * 150,
            duration_ns: 0,
            ret: (i % 7) as i64 - 2,
            args: [i, i * 3, 4096, 0, 0, i ^ 0xdead_beef],
        };
        if i % 10 == 9 {
            let mut path = [0u8; PATH_BYTES];
            let p = format!("/usr/lib/x86_64-linux-gnu/lib{}.so.6", i % 97);
            path[..p.len()].copy_from_slice(p.as_bytes());
            let e = SyscallPathEvent {
                event: SyscallEvent {
                    kind: KIND_SYSCALL_PATH,
                    nr: 257,
                    path_len: p.len() as u32,
                    ..head
                },
                path,
            };
            batch.push(as_bytes(&e));
        } else {
            batch.push(as_bytes(&head));
        }
        if batch.byte_len() >= 1 << 20 {
            batches.push(std::mem::replace(&mut batch, new_batch()));
        }
    }
    batches.push(batch);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("bench.parquet");
    let sink = SyscallSink::create(
        &out,
        RunInfo {
            run_id: "bench".into(),
            source: "ebpf".into(),
            scenario: None,
            mode: None,
        },
        &[],
    )
    .expect("sink");
    let started = Instant::now();
    let mut writer = Writer::new(sink, Arch::X86_64, 0);
    for b in &batches {
        writer.write_batch(b).expect("write");
    }
    let collected = writer.finish();
    let stats = collected.stats;
    let rows = collected.sink.close().expect("close");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(rows, events);
    assert_eq!(stats.rows, events);
    let rate = events as f64 / secs;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "collector: {events} records decoded and written in {secs:.2} s = {:.2} M records/s \
         (target {:.1} M/s: {:.2}x of target), {:.1} bytes/row on disk",
        rate / 1e6,
        TARGET_PER_S / 1e6,
        rate / TARGET_PER_S,
        size as f64 / events as f64
    );
}
