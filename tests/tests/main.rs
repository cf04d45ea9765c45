//! The end-to-end tests as one binary, a module per area; the helpers they share (binaries,
//! C programs, live captures, reading files back) are the `tests` library (`src/lib.rs`).

mod capture;
mod capture_cost;
mod capture_fidelity;
mod eval_lidds;
mod experiment;
mod fidelity;
mod ingest_datasets;
mod ingest_fixtures;
mod ingest_import;
mod ingest_lidds;
mod ingest_strace;
mod parity_compare;
mod parity_live;
mod report;
mod safety;
mod show;
mod spark_agreement;
