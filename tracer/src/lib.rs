//! The `tracer` library: eBPF capture (`record`), strace and dataset ingest (`ingest`), capture
//! comparison (`parity`), and experiments.

pub mod ingest;
pub mod parity;
