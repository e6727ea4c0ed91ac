//! The process-wide tokio runtime used by the blocking facade (C, Python), created
//! lazily and made safe across `fork()`.
//!
//! A tokio runtime's threads do not survive `fork()`: a child that used the
//! parent's runtime would hang. The runtime therefore lives behind a replaceable
//! pointer; an at-fork handler in the child (touching only atomics, as at-fork
//! handlers must) forgets it and bumps a generation counter. The parent's runtime
//! is leaked in the child on purpose: dropping it would join threads that do not
//! exist there. Executors remember the generation they were created in and refuse
//! to run in a later one, with a clear error instead of a hang.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Mutex, Once};

use tokio::runtime::{Builder, Runtime};

use crate::error::{Error, Result};

static RUNTIME: AtomicPtr<Runtime> = AtomicPtr::new(std::ptr::null_mut());
static GENERATION: AtomicU64 = AtomicU64::new(0);
static CREATE: Mutex<()> = Mutex::new(());
static AT_FORK: Once = Once::new();

/// Environment variable: worker threads of the shared runtime (default 1; see
/// `docs/performance.md` for why one worker batches best).
pub const WORKERS_ENV: &str = "STATEFUL_REDIS_WORKER_THREADS";

extern "C" fn forget_runtime_in_child() {
    RUNTIME.store(std::ptr::null_mut(), Ordering::SeqCst);
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The current fork generation: 0 in the original process, +1 in each forked child.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// The shared runtime, created on first use.
pub fn shared() -> Result<&'static Runtime> {
    let current = RUNTIME.load(Ordering::Acquire);
    if !current.is_null() {
        // SAFETY: a runtime once stored is never freed (it is leaked on purpose).
        return Ok(unsafe { &*current });
    }
    let _guard = CREATE.lock().unwrap_or_else(|p| p.into_inner());
    let current = RUNTIME.load(Ordering::Acquire);
    if !current.is_null() {
        // SAFETY: as above.
        return Ok(unsafe { &*current });
    }
    AT_FORK.call_once(|| {
        // SAFETY: registering a handler that only touches atomics.
        unsafe {
            libc::pthread_atfork(None, None, Some(forget_runtime_in_child));
        }
    });
    let workers = std::env::var(WORKERS_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(1);
    let runtime = Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("stateful-redis")
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                crate::ErrorCode::Internal,
                format!("cannot start the runtime: {e}"),
            )
        })?;
    let leaked: &'static Runtime = Box::leak(Box::new(runtime));
    RUNTIME.store(leaked as *const Runtime as *mut Runtime, Ordering::Release);
    Ok(leaked)
}
