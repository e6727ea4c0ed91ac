//! A blocking facade over the async executor, for callers without an async
//! runtime (the C ABI, Python threads). Calls run on the shared runtime
//! ([`crate::runtime`]); the caller's thread blocks until the answer is there.

use std::future::Future;

use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::executor::Executor;
use crate::runtime;

/// An [`Executor`] driven by the shared runtime, usable from any thread.
#[derive(Clone, Debug)]
pub struct BlockingExecutor {
    executor: Executor,
    generation: u64,
}

impl BlockingExecutor {
    /// Connects on the shared runtime.
    pub fn connect(config: Config) -> Result<BlockingExecutor> {
        let generation = runtime::generation();
        let executor = block_on_shared(Executor::connect(config))?;
        Ok(BlockingExecutor {
            executor,
            generation,
        })
    }

    /// Wraps an executor created on the shared runtime (see [`runtime::shared`]).
    pub fn from_executor(executor: Executor) -> BlockingExecutor {
        BlockingExecutor {
            executor,
            generation: runtime::generation(),
        }
    }

    /// The async executor underneath (to await it from the shared runtime).
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// Runs one call of the executor and waits for it:
    /// `blocking.call(|e| e.get_linked_pod("ns", "u1", "chat"))`.
    pub fn call<'a, T, F>(&'a self, call: impl FnOnce(&'a Executor) -> F) -> Result<T>
    where
        F: Future<Output = Result<T>> + 'a,
    {
        if runtime::generation() != self.generation {
            return Err(Error::new(
                ErrorCode::Closed,
                "this executor was created before fork(); create a new one in the child process",
            ));
        }
        block_on_shared(call(&self.executor))
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
