//! The reading side of the dataset for the analysis: run selection and the streaming reader.
//! The contract itself (schema, metadata keys, writers, layout) is the `tracer_dataset` crate.

mod columns;
pub mod footer;
mod prescan;
pub mod reader;
pub mod select;
mod sorted;

pub use reader::{Dataset, RowChunk, RowConsumer, ScanStats};
pub use select::{RunMeta, Selection};
