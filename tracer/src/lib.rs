//! The `tracer` library: eBPF capture (`capture`), strace and dataset ingest (`ingest`), capture
//! comparison (`parity`), reading a capture as strace output (`show`), and experiments; `cli`
//! holds the command line and all printing.

pub mod btf;
pub mod capture;
pub mod cli;
pub mod clock;
pub mod experiment;
pub mod ingest;
pub mod parity;
pub mod path_limit;
pub mod preflight;
pub mod probe;
pub mod show;
pub mod summary;
pub mod syscall_table;
pub mod user;
