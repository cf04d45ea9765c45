//! analysis's integration tests as one binary, a module per area; `common` writes the small
//! datasets they share.

mod cli;
mod common;
mod duckdb_agreement;
mod properties;
mod reader;
mod stide_agreement;
