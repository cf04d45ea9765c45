//! `tracer parity`: compare two captures of the same workload.
