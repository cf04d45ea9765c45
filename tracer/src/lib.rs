//! The `tracer` library: eBPF capture (`record`), strace and dataset ingest (`ingest`), capture
//! comparison (`parity`), reading a capture as strace output (`show`), and experiments; `cli`
//! holds the command line and all printing.

pub mod btf;
pub mod cli;
pub mod clock;
pub mod collector;
pub mod experiment;
pub mod ingest;
pub mod launch;
pub mod parity;
pub mod path_limit;
pub mod preflight;
pub mod probe;
pub mod record;
pub mod show;
pub mod summary;
pub mod syscall_table;
pub mod user;
