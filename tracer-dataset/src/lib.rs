//! The data contract of syscall-tracer (docs/DESIGN.md, "Data contract"), in one crate that every
//! producer (capture, strace ingest, dataset importers, experiments) and every reader (the
//! analysis, `tracer parity`, the tests) depends on:
//!
//! - [`schema`]: column names, Arrow schemas, every file-metadata key;
//! - [`sink`] and [`process_sink`]: the Parquet writers of the `syscalls` and `processes` tables;
//! - [`labels`]: the `runs` table of an imported dataset's labels (split, attack, exploit time);
//! - [`run`]: the run writer, both files of one run written safely and committed together;
//! - [`mode`]: labels of the `mode` column, M.R sweep points included;
//! - [`outdir`]: output folders written by a privileged tracer (no link followed, no reopening
//!   by path, the user's filesystem identity);
//! - [`journal`] and [`recover`]: the crash journal of a capture, and turning one that was left
//!   behind into the run's files;
//! - [`layout`]: where files go (processes beside syscalls, dataset folders) and the one walker;
//! - [`arch`]: syscall tables per architecture and the one path-argument table;
//! - [`rows`]: the full-row reader; [`stream`]: the batch-at-a-time reader of large files;
//! - [`intern`] and [`hash`]: syscall-name ids and the fast hasher of the hot maps.
//!
//! No aya, no root: the analysis builds on machines without the eBPF toolchain.

pub mod arch;
pub mod hash;
pub mod intern;
pub mod journal;
pub mod labels;
pub mod layout;
pub mod mode;
pub mod outdir;
pub mod process_sink;
pub mod recover;
pub mod rows;
pub mod run;
pub mod schema;
pub mod sink;
pub mod stream;

pub use arch::Arch;
pub use labels::{RunLabels, RunsSink};
pub use run::{RunFiles, RunOptions};
pub use schema::{SCHEMA_VERSION, col, gap, meta, processes_schema, syscalls_schema, table};
pub use sink::{
    ProcessRow, ProcessSink, RunInfo, SinkError, SyscallExtra, SyscallKey, SyscallRow, SyscallSink,
};
