//! # stateful-redis-testkit
//!
//! Test utilities of the stateful-redis workspace; not part of the published
//! library (`publish = false`).
//!
//! - [`local_redis`]: [`LocalRedis`] and [`LocalCluster`], private `redis-server`
//!   processes on free loopback ports that die with the process that started them
//!   (parent-death signal, pidfile in a 0700 folder, optional password; see
//!   `docs/testing.md`). Used by the core's tests, benches and examples, the C
//!   binding's schema test, and the CLI's private server (`bench`, `dashboard`,
//!   `doctor`). They need nothing of the core.
//! - `fuzz_checks` (feature `fuzz-checks`): the properties the cargo-fuzz targets
//!   (`fuzz/`) and `core/tests/fuzz_props.rs` check, through the core's public API.

pub mod local_redis;

#[cfg(feature = "fuzz-checks")]
pub mod fuzz_checks;

pub use local_redis::{LocalCluster, LocalRedis, LocalRedisBuilder, SERVER_ENV};
