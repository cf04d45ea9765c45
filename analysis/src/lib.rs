//! Offline behaviour metrics over syscall-tracer datasets: the data contract (schema, writers),
//! and the analysis built on it. Reads and writes Parquet only: no aya, no root.

pub mod dataset;
