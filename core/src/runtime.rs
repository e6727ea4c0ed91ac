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
//!
//! Creating the runtime takes no lock (issue 13, defect 8): a lock held by
//! another thread at the moment of a `fork()` stays held forever in the child,
//! where that thread does not exist, so the child's first call would hang. Two
//! threads that find no runtime at once each build one; the first to publish
//! its pointer wins, the other shuts its own down without waiting.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use tokio::runtime::{Builder, Runtime};

use crate::error::{Error, ErrorCode, Result};

static RUNTIME: AtomicPtr<Runtime> = AtomicPtr::new(std::ptr::null_mut());
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The at-fork handler is registered in this process (or its parent).
static AT_FORK: AtomicBool = AtomicBool::new(false);
/// The process whose generation the handler bumped last.
static FORKED_PID: AtomicU32 = AtomicU32::new(0);

/// Environment variable: worker threads of the shared runtime (default 1; see
/// `docs/performance.md` for why one worker batches best).
pub const WORKERS_ENV: &str = "STATEFUL_REDIS_WORKER_THREADS";

extern "C" fn forget_runtime_in_child() {
    // Registered more than once when threads raced to register it: count
    // each child once. getpid() is async-signal-safe.
    let pid = unsafe { libc::getpid() } as u32;
    if FORKED_PID.swap(pid, Ordering::SeqCst) != pid {
        RUNTIME.store(std::ptr::null_mut(), Ordering::SeqCst);
        GENERATION.fetch_add(1, Ordering::SeqCst);
    }
}

/// Registers the at-fork handler before any runtime is published. The flag
/// is set after registering: a child forked in between registers again (the
/// handler tolerates that) rather than trusting a flag without a handler.
fn register_at_fork() {
    if !AT_FORK.load(Ordering::Acquire) {
        // SAFETY: registering a handler that only touches atomics and getpid().
        unsafe {
            libc::pthread_atfork(None, None, Some(forget_runtime_in_child));
        }
        AT_FORK.store(true, Ordering::Release);
    }
}

/// The current fork generation: 0 in the original process, +1 in each forked child.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// The fork generation an executor was created in: the one fork check of every
/// binding (the blocking facade, Python's asyncio executor). An executor used in
/// a child process forked after it was created fails with `CLOSED` instead of
/// hanging on the parent's runtime threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkGuard {
    generation: u64,
}

impl ForkGuard {
    /// Remembers the current generation (call it where the executor is created).
    pub fn new() -> ForkGuard {
        ForkGuard {
            generation: generation(),
        }
    }

    /// `CLOSED` when this process is a child forked after [`ForkGuard::new`].
    pub fn check(&self) -> Result<()> {
        if generation() == self.generation {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::Closed,
                "this executor was created before fork(); create a new one in the child process",
            ))
        }
    }
}

impl Default for ForkGuard {
    fn default() -> ForkGuard {
        ForkGuard::new()
    }
}

/// The shared runtime, created on first use.
pub fn shared() -> Result<&'static Runtime> {
    let current = RUNTIME.load(Ordering::Acquire);
    if !current.is_null() {
        // SAFETY: a runtime once published is never freed (it is leaked on purpose).
        return Ok(unsafe { &*current });
    }
    register_at_fork();
    run_before_build_hook();
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
    let ours = Box::into_raw(Box::new(runtime));
    match RUNTIME.compare_exchange(
        std::ptr::null_mut(),
        ours,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        // SAFETY: published, never freed.
        Ok(_) => Ok(unsafe { &*ours }),
        Err(winner) => {
            // Another thread published first. SAFETY: `ours` was never shared.
            let ours = unsafe { Box::from_raw(ours) };
            // Without waiting: this may run where blocking is not allowed.
            ours.shutdown_background();
            // SAFETY: as above.
            Ok(unsafe { &*winner })
        }
    }
}

/// A function the tests run while the runtime is being created (0: none).
static BEFORE_BUILD: AtomicUsize = AtomicUsize::new(0);

/// Tests only: `hook` runs on the creating thread just before the runtime is
/// built, so that a test can fork while another thread is creating it.
#[doc(hidden)]
pub fn set_before_build_hook(hook: fn()) {
    BEFORE_BUILD.store(hook as usize, Ordering::SeqCst);
}

fn run_before_build_hook() {
    let hook = BEFORE_BUILD.load(Ordering::SeqCst);
    if hook != 0 {
        // SAFETY: only `set_before_build_hook` stores here, and it stores a `fn()`.
        let hook: fn() = unsafe { std::mem::transmute::<usize, fn()>(hook) };
        hook();
    }
}
