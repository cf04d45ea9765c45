//! The data contract of ../shared/DESIGN.md: the Arrow schemas of the `syscalls` and `processes`
//! tables, the file-level metadata keys, and the Parquet writers every producer uses (capture,
//! strace ingest, dataset importers, experiments, tests).

pub mod schema;
pub mod writer;

pub use schema::{meta, processes_schema, syscalls_schema, SCHEMA_VERSION};
pub use writer::{ProcessRow, ProcessSink, RunInfo, SinkError, SyscallRow, SyscallSink};
