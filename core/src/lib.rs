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
//! Module map (see `docs/architecture.md`): [`config`] → [`executor`] (validation
//! from [`keys`], scripts from [`scripts`], errors from [`error`], measurements into
//! [`monitor`]); [`blocking`] and [`runtime`] for callers without async;
//! [`local_redis`] starts a private `redis-server` for tests and the CLI;
//! [`logging`] forwards the core's log events to a binding's logging.

pub mod blocking;
pub mod config;
mod connection;
pub mod error;
pub mod executor;
#[doc(hidden)]
pub mod fuzz_checks;
pub mod keys;
pub mod local_redis;
pub mod logging;
pub mod monitor;
pub mod operation;
pub mod runtime;
pub mod scripts;
mod tls;

pub use blocking::BlockingExecutor;
pub use config::{Config, ConfigBuilder, KeySchemaName, Options, RetryPolicy};
pub use error::{Error, ErrorCode, Result};
pub use executor::{Executor, PodLoad, PoolChange, RoutingPolicy, ScriptsReport, TrySetOutcome};
pub use keys::KeySchema;
pub use monitor::{AlertEvent, AlertOptions, MetricsSnapshot, Monitor, Suggestion};
pub use operation::Operation;

/// The library version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
