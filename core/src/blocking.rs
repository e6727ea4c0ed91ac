//! A blocking facade over the async executor, for callers without an async
//! runtime (the C ABI, Python threads). Calls run on the shared runtime
//! ([`crate::runtime`]); the caller's thread blocks until the answer is there.
//! With the option `thread_connections`, a call does its round trip on the
//! caller's thread itself (`crate::thread_io`).

use std::future::Future;

use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::executor::Executor;
use crate::runtime::{self, ForkGuard};

/// An [`Executor`] driven by the shared runtime, usable from any thread.
#[derive(Clone, Debug)]
pub struct BlockingExecutor {
    executor: Executor,
    /// The same executor, its calls polled on the caller's thread only.
    on_caller_thread: Executor,
    fork_guard: ForkGuard,
}

impl BlockingExecutor {
    /// Connects on the shared runtime.
    pub fn connect(config: Config) -> Result<BlockingExecutor> {
        let fork_guard = ForkGuard::new();
        let executor = block_on_shared(Executor::connect(config))?;
        Ok(BlockingExecutor {
            on_caller_thread: executor.on_caller_thread(),
            executor,
            fork_guard,
        })
    }

    /// Wraps an executor created on the shared runtime (see [`runtime::shared`]).
    pub fn from_executor(executor: Executor) -> BlockingExecutor {
        BlockingExecutor {
            on_caller_thread: executor.on_caller_thread(),
            executor,
            fork_guard: ForkGuard::new(),
        }
    }

    /// The async executor underneath (to await it from the shared runtime).
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// Tests only: the handle [`BlockingExecutor::call`] polls, whose calls
    /// may block the thread that polls them (to run async test code through
    /// the thread connections on a current-thread runtime).
    #[doc(hidden)]
    pub fn caller_thread_executor(&self) -> &Executor {
        &self.on_caller_thread
    }

    /// Runs one call of the executor and waits for it:
    /// `blocking.call(|e| e.get_linked_pod("ns", "u1", "chat"))`.
    pub fn call<'a, T, F>(&'a self, call: impl FnOnce(&'a Executor) -> F) -> Result<T>
    where
        F: Future<Output = Result<T>> + 'a,
    {
        self.fork_guard.check()?;
        block_on_shared(call(&self.on_caller_thread))
    }

    /// Refuses every later call with `CLOSED`.
    pub fn close(&self) {
        self.executor.close();
    }
}

/// Drives a future to completion on the shared runtime from a thread outside it.
pub fn block_on_shared<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::new(
            ErrorCode::Internal,
            "a blocking call was made from inside an async runtime; use the async executor there",
        ));
    }
    runtime::shared()?.block_on(future)
}
