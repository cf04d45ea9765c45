//! `tracer ingest`: strace logs and public syscall datasets into the dataset schema.
