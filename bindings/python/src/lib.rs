//! Python bindings of stateful-redis: the extension module `stateful_redis._native`.
//!
//! Thin by design: the core does the work; this crate converts arguments
//! ([`convert`], [`options`]), results and errors ([`error`]), and bridges calls to
//! Python threads ([`executor`], GIL released) and to asyncio ([`aio`],
//! [`async_executor`]), and the core's log events to `logging` ([`logging`]).
//! The public package `stateful_redis` (in `python/`)
//! re-exports these and adds the exception classes and the type stubs.

/// mimalloc for the extension's Rust allocations (each call allocates its
/// future, request and reply values): see docs/dependencies.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[macro_use]
pub mod operations;

pub mod aio;
pub mod async_executor;
pub mod convert;
pub mod error;
pub mod executor;
pub mod logging;
pub mod monitor;
pub mod options;
#[cfg(test)]
mod stubs;

use pyo3::prelude::*;

/// The native module; import `stateful_redis` instead.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", stateful_redis::VERSION)?;
    m.add("__all__", vec!["Executor", "AsyncExecutor", "__version__"])?;
    m.add_class::<executor::PyExecutor>()?;
    m.add_class::<async_executor::PyAsyncExecutor>()?;
    m.add_class::<async_executor::PyConnecting>()?;
    logging::register(m)?;
    Ok(())
}
