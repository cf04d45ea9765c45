//! The data contract of syscall-tracer (docs/DESIGN.md, "Data contract"), in one crate that every
//! producer (capture, strace ingest, dataset importers, experiments) and every reader (the
//! analysis, `tracer parity`, the tests) depends on:
//!
//! - [`schema`]: column names, Arrow schemas, every file-metadata key;
//! - [`sink`]: the Parquet writers of the `syscalls` and `processes` tables;
//! - [`run`]: the run writer, both files of one run written safely and committed together;
//! - [`layout`]: where files go (processes beside syscalls, dataset folders) and the one walker;
//! - [`arch`]: syscall tables per architecture and the one path-argument table;
//! - [`rows`]: the full-row reader; [`stream`]: the batch-at-a-time reader of large files;
//! - [`intern`] and [`hash`]: syscall-name ids and the fast hasher of the hot maps.
//!
//! No aya, no root: the analysis builds on machines without the eBPF toolchain.

pub mod arch;
pub mod hash;
pub mod intern;
pub mod layout;
pub mod rows;
pub mod run;
pub mod schema;
pub mod sink;
pub mod stream;

pub use arch::Arch;
pub use run::RunFiles;
pub use schema::{SCHEMA_VERSION, col, meta, processes_schema, syscalls_schema, table};
pub use sink::{ProcessRow, ProcessSink, RunInfo, SinkError, SyscallKey, SyscallRow, SyscallSink};
