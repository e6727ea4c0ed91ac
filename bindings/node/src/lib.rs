//! Node binding of stateful-redis (napi-rs). A thin layer: it converts JS values to
//! the core's types and back, and core errors to JS `Error`s; every operation,
//! check and measurement lives in the core (`core/`). See `docs/node.md`.
//!
//! One file per concept: [`executor`] (the `Executor` class), [`args`] (argument
//! conversion), [`options`] (the options object), [`error`] (JS errors and codes),
//! [`promise`] (promises settled from the core's runtime), [`monitor`] (the
//! performance monitor), [`logging`] (the core's log events to a JS function),
//! [`event_loop`] (calls polled on the JS thread, option `eventLoopConnection`).

pub mod args;
mod callback;
pub mod error;
mod event_loop;
pub mod executor;
pub mod logging;
pub mod monitor;
pub mod options;
pub mod promise;

use napi_derive::napi;

/// mimalloc for the addon's Rust allocations: a call allocates its future,
/// its request and its reply's values, and glibc's allocator took about a
/// sixth of the client's CPU at 64 calls in flight (benches/RESULTS.md,
/// "Calls on the event loop").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The version of the native library (the core's `Cargo.toml` version).
#[napi]
pub fn native_version() -> &'static str {
    stateful_redis::VERSION
}
