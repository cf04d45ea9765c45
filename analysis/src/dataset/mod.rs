//! The data contract of ../shared/DESIGN.md: the Arrow schemas of the `syscalls` and `processes`
//! tables, the file-level metadata keys, and the Parquet writers every producer uses (capture,
//! strace ingest, dataset importers, experiments, tests); and on the reading side, run selection
//! and the streaming reader the analysis uses.

pub mod reader;
pub mod schema;
pub mod select;
pub mod writer;

pub use reader::{Dataset, RowChunk, RowConsumer, ScanStats};
pub use schema::{SCHEMA_VERSION, meta, processes_schema, syscalls_schema};
pub use select::{RunMeta, Selection};
pub use writer::{ProcessRow, ProcessSink, RunInfo, SinkError, SyscallRow, SyscallSink};
