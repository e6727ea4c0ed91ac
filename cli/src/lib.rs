//! Library side of the `stateful-redis` command, shared with the benchmarks.

pub mod workload;
