//! Promises of calls that run on the core's runtime, settled in batches on the JS
//! thread.
//!
//! Why not napi-rs's `async fn`: it creates one thread-safe function (a libuv async
//! handle) per call and spawns two tokio tasks per call. Here every executor has one
//! thread-safe function; a finished call pushes its result onto a queue and wakes the
//! JS thread only when the queue was empty, and the JS thread settles everything
//! queued in one turn. With many calls in flight, one wake-up settles many promises
//! (see `docs/node.md`).
//!
//! The thread-safe function is referenced (keeps the process alive) only while a
//! call is in flight, so an idle executor never holds the process open.

use std::future::Future;
use std::os::raw::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{sys, Env, Status};
use stateful_redis::{Error as CoreError, ErrorCode};

use crate::error::{check, js_error};

/// A result ready to be delivered on the JS thread.
trait Settle: Send {
    /// # Safety
    /// Runs on the JS thread of `env`, inside a handle scope.
    unsafe fn settle(self: Box<Self>, env: sys::napi_env);
}

/// `napi_deferred` is a plain handle; it is only used on the JS thread.
struct Deferred(sys::napi_deferred);
// SAFETY: the handle is only dereferenced by napi on the JS thread (in `settle`).
unsafe impl Send for Deferred {}

struct Done<T> {
    deferred: Deferred,
    result: Result<T, CoreError>,
}

impl<T: ToNapiValue + Send> Settle for Done<T> {
    unsafe fn settle(self: Box<Self>, env: sys::napi_env) {
        let Done { deferred, result } = *self;
        let value = match result {
            Ok(value) => match T::to_napi_value(env, value) {
                Ok(v) => Ok(v),
                Err(e) => Err(CoreError::new(
                    ErrorCode::Internal,
                    format!("cannot convert the result: {}", e.reason),
                )),
            },
            Err(e) => Err(e),
        };
        // A failing settle only happens while the environment shuts down.
        let _ = match value {
            Ok(v) => sys::napi_resolve_deferred(env, deferred.0, v),
            Err(e) => sys::napi_reject_deferred(env, deferred.0, js_error(env, &e)),
        };
    }
}

/// State shared by the JS thread, the runtime's tasks and the thread-safe function.
struct Shared {
    queue: Mutex<Vec<Box<dyn Settle>>>,
    /// Calls whose promise is not settled yet (changed on the JS thread only).
    in_flight: AtomicUsize,
    /// The thread-safe function; null once napi has finalized it (at the latest
    /// when the environment shuts down, possibly before executors are collected).
    /// Held locked while it is used, so it cannot be finalized meanwhile.
    tsfn: Mutex<Tsfn>,
}

struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: napi documents thread-safe functions as callable from any thread.
unsafe impl Send for Tsfn {}

impl Shared {
    fn tsfn(&self) -> MutexGuard<'_, Tsfn> {
        self.tsfn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Creates promises and settles them from any thread. One per executor.
pub(crate) struct Completer {
    shared: Arc<Shared>,
}

impl Completer {
    /// Must run on the JS thread.
    pub(crate) fn new(env: &Env) -> napi::Result<Arc<Completer>> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            tsfn: Mutex::new(Tsfn(ptr::null_mut())),
        });
        let raw_env = env.raw();
        let mut name = ptr::null_mut();
        let label = "stateful-redis";
        let mut tsfn = ptr::null_mut();
        // The thread-safe function owns one reference to `shared`, given back in
        // `finalize` once napi has delivered every queued call.
        let context = Arc::into_raw(shared.clone()) as *mut c_void;
        unsafe {
            check(sys::napi_create_string_utf8(
                raw_env,
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            ))?;
            let status = sys::napi_create_threadsafe_function(
                raw_env,
                ptr::null_mut(),
                ptr::null_mut(),
                name,
                0,
                1,
                context,
                Some(finalize),
                context,
                Some(drain),
                &mut tsfn,
            );
            if status != sys::Status::napi_ok {
                drop(Arc::from_raw(context as *const Shared));
                check(status)?;
            }
            // Idle: the event loop may exit.
            check(sys::napi_unref_threadsafe_function(raw_env, tsfn))?;
        }
        shared.tsfn().0 = tsfn;
        Ok(Arc::new(Completer { shared }))
    }

    /// A promise already rejected with `error` (bad arguments, closed executor).
    pub(crate) fn rejected<'env, T>(
        env: &'env Env,
        error: &CoreError,
    ) -> napi::Result<PromiseRaw<'env, T>> {
        let (deferred, promise) = create_promise(env)?;
        unsafe {
            check(sys::napi_reject_deferred(
                env.raw(),
                deferred.0,
                js_error(env.raw(), error),
            ))?;
        }
        Ok(PromiseRaw::new(env.raw(), promise))
    }

    /// Runs `call` on the core's runtime; the promise settles with its result.
    /// Must run on the JS thread.
    pub(crate) fn spawn<'env, T, F>(
        self: &Arc<Self>,
        env: &'env Env,
        call: F,
    ) -> napi::Result<PromiseRaw<'env, T>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T, CoreError>> + Send + 'static,
    {
        let runtime = stateful_redis::runtime::shared()
            .map_err(|e| napi::Error::new(Status::GenericFailure, e.to_string()))?;
        let (deferred, promise) = create_promise(env)?;
        if self.shared.in_flight.fetch_add(1, Ordering::Relaxed) == 0 {
            // A call in flight keeps the process alive until its promise settles.
            let tsfn = self.shared.tsfn();
            if !tsfn.0.is_null() {
                unsafe {
                    sys::napi_ref_threadsafe_function(env.raw(), tsfn.0);
                }
            }
        }
        let guard = Guard {
            completer: self.clone(),
            deferred: Some(deferred),
        };
        runtime.spawn(async move {
            let mut guard = guard;
            let result = call.await;
            guard.finish(result);
        });
        Ok(PromiseRaw::new(env.raw(), promise))
    }

    /// Queues a result; wakes the JS thread when the queue was empty.
    fn push(&self, done: Box<dyn Settle>) {
        let was_empty = {
            let mut queue = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = queue.is_empty();
            queue.push(done);
            was_empty
        };
        if was_empty {
            let tsfn = self.shared.tsfn();
            if !tsfn.0.is_null() {
                unsafe {
                    sys::napi_call_threadsafe_function(
                        tsfn.0,
                        ptr::null_mut(),
                        sys::ThreadsafeFunctionCallMode::nonblocking,
                    );
                }
            }
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        // Allowed from any thread; napi finalizes once queued calls are delivered.
        let tsfn = self.shared.tsfn();
        if !tsfn.0.is_null() {
            unsafe {
                sys::napi_release_threadsafe_function(
                    tsfn.0,
                    sys::ThreadsafeFunctionReleaseMode::release,
                );
            }
        }
    }
}

/// Delivers the result of one call, or `INTERNAL` if the task ended without one
/// (a panic, or the runtime shutting down).
struct Guard {
    completer: Arc<Completer>,
    deferred: Option<Deferred>,
}

impl Guard {
    fn finish<T: ToNapiValue + Send + 'static>(&mut self, result: Result<T, CoreError>) {
        if let Some(deferred) = self.deferred.take() {
            self.completer.push(Box::new(Done { deferred, result }));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.deferred.is_some() {
            self.finish::<()>(Err(CoreError::new(
                ErrorCode::Internal,
                "the call ended without a result (panic or runtime shutdown)",
            )));
        }
    }
}

fn create_promise(env: &Env) -> napi::Result<(Deferred, sys::napi_value)> {
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    unsafe {
        check(sys::napi_create_promise(
            env.raw(),
            &mut deferred,
            &mut promise,
        ))?;
    }
    Ok((Deferred(deferred), promise))
}

/// The thread-safe function's callback, on the JS thread: settles every queued call.
unsafe extern "C" fn drain(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() || context.is_null() {
        // The environment is shutting down: nothing can be settled any more.
        return;
    }
    let shared = &*(context as *const Shared);
    let batch = std::mem::take(&mut *shared.queue.lock().unwrap_or_else(|p| p.into_inner()));
    let settled = batch.len();
    for done in batch {
        let mut scope = ptr::null_mut();
        sys::napi_open_handle_scope(env, &mut scope);
        done.settle(env);
        sys::napi_close_handle_scope(env, scope);
    }
    let before = shared.in_flight.fetch_sub(settled, Ordering::Relaxed);
    if before == settled {
        let tsfn = shared.tsfn();
        if !tsfn.0.is_null() {
            sys::napi_unref_threadsafe_function(env, tsfn.0);
        }
    }
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        let shared = Arc::from_raw(data as *const Shared);
        shared.tsfn().0 = ptr::null_mut();
    }
}
