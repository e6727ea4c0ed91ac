//! # stateful-redis
//!
//! The routing facts of stateful services, kept in Redis: which pod each user is
//! linked to, the state and load of every pod, the state of each workload. Every
//! change is one atomic Lua script; every call is measured by the [`monitor`].
//!
//! ```no_run
//! # async fn demo() -> stateful_redis::Result<()> {
//! use stateful_redis::{Config, Executor};
//! let executor = Executor::connect(Config::builder().url("redis://127.0.0.1:6379").build()?).await?;
//! executor.set_linked_pod("app:eu:logic", "u42", "chat", 3, -1).await?;
//! assert_eq!(executor.get_linked_pod("app:eu:logic", "u42", "chat").await?, Some(3));
//! # Ok(()) }
//! ```
//!
//! Module map (see `docs/architecture.md`; imports go one way, down this list,
//! and `tests/module_graph.rs` fails on a cycle):
//! - [`error`], [`operation`]: error codes; the closed set of operations.
//! - [`validate`]: every limit on an argument and its check. [`keys`]: key
//!   building. [`model`]: the values of the operations and the parsing of what
//!   Redis holds. [`scripts`]: the Lua scripts.
//! - [`config`]: options, TLS, the checked configuration.
//! - `connection` (one connection and its reply watch) under [`pool`] (pick,
//!   replace a stalled connection, resize).
//! - [`monitor`]: measurements, alerts, suggestions.
//! - [`executor`]: the façade (`run`) and its transport (retries, `NOSCRIPT`,
//!   batch reads); `ops`: the 17 operations, as methods of [`Executor`].
//! - [`logging`]: forwards the core's log events to a binding's logging.
//! - [`blocking`] and [`runtime`] for callers without async; `thread_io`:
//!   their calls on the caller's own thread (option `thread_connections`). Test fixtures (a
//!   private `redis-server`) live in the unpublished `testkit/` crate.

pub mod alert_input;
pub mod blocking;
pub mod call_queue;
pub mod config;
mod connection;
pub mod error;
pub mod executor;
pub mod keys;
pub mod logging;
pub mod model;
pub mod monitor;
pub mod operation;
mod ops;
pub mod pool;
pub mod runtime;
pub mod scripts;
mod thread_io;
pub mod validate;

pub use blocking::BlockingExecutor;
pub use config::{Config, ConfigBuilder, KeySchemaName, Options, RetryPolicy};
pub use error::{Error, ErrorCode, Result};
pub use executor::{Executor, PodLoad, PoolChange, RoutingPolicy, ScriptsReport, TrySetOutcome};
pub use keys::KeySchema;
pub use monitor::{AlertEvent, AlertOptions, MetricsSnapshot, Monitor, Suggestion};
pub use operation::{Operation, OperationSpec, OPERATIONS};
pub use thread_io::event_loop::{EventLoopConnection, Readiness};

/// The library version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
