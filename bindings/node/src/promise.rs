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
//!
//! Calls do not become tokio tasks of their own: the JS thread queues them for the
//! executor's one driver task (the core's [`CallQueue`], shared with the Python
//! binding's asyncio bridge), so their requests reach the connection's task
//! together and go out in one write; with a task per call, tokio wrote every
//! request alone (one `writev` per call, measured with `perf stat`).
//!
//! One turn of the event loop settles at most [`SETTLE_PER_TURN`] calls and
//! leaves the rest to a `setImmediate` callback, so timers and I/O run between
//! batches however many calls finish at once. (Calling the thread-safe function
//! again would not do: Node delivers up to 1,000 queued calls of a thread-safe
//! function in one go, without a turn of the loop in between.)

use std::future::Future;
use std::os::raw::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{sys, Env, Status};
use stateful_redis::call_queue::{Call, CallQueue};
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

/// Calls settled per turn of the event loop at most; the rest wait for a later
/// turn (a `setImmediate` callback), so that a burst of finished calls never
/// holds the loop for long.
const SETTLE_PER_TURN: usize = 512;

/// State shared by the JS thread, the runtime's tasks and the thread-safe function.
struct Shared {
    queue: Mutex<Vec<Box<dyn Settle>>>,
    /// Calls made on the JS thread, for the executor's driver task.
    calls: Arc<CallQueue>,
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

    /// Queues a call finished on the JS thread: whoever polled it settles
    /// the queue before it returns (`Completer::settle_local`).
    fn push_local(&self, done: Box<dyn Settle>) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(done);
    }

    /// Queues finished calls; wakes the JS thread when the queue was empty.
    fn push(&self, done: impl IntoIterator<Item = Box<dyn Settle>>) {
        let was_empty = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = queue.is_empty();
            queue.extend(done);
            was_empty && !queue.is_empty()
        };
        if was_empty {
            let tsfn = self.tsfn();
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

/// Creates promises and settles them from any thread. One per executor.
pub(crate) struct Completer {
    shared: Arc<Shared>,
}

impl Completer {
    /// Must run on the JS thread.
    pub(crate) fn new(env: &Env) -> napi::Result<Arc<Completer>> {
        let runtime = stateful_redis::runtime::shared()
            .map_err(|e| napi::Error::new(Status::GenericFailure, e.to_string()))?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            calls: CallQueue::start(runtime.handle()),
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
        let (promise, call) = self.promised(env, call, false)?;
        self.shared.calls.submit(call);
        Ok(promise)
    }

    /// For a call polled on the JS thread (`event_loop.rs`): its promise, and
    /// the call, which queues its result without waking the JS thread; the
    /// driver that polls it then calls [`Completer::settle_local`].
    pub(crate) fn local_call<'env, T, F>(
        self: &Arc<Self>,
        env: &'env Env,
        call: F,
    ) -> napi::Result<(PromiseRaw<'env, T>, Call)>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T, CoreError>> + Send + 'static,
    {
        self.promised(env, call, true)
    }

    /// A promise, and `call` wrapped to deliver its result to it.
    fn promised<'env, T, F>(
        self: &Arc<Self>,
        env: &'env Env,
        call: F,
        local: bool,
    ) -> napi::Result<(PromiseRaw<'env, T>, Call)>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T, CoreError>> + Send + 'static,
    {
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
            local,
        };
        let call: Call = Box::pin(async move {
            let mut guard = guard;
            let result = call.await;
            guard.finish(result);
        });
        Ok((PromiseRaw::new(env.raw(), promise), call))
    }

    /// Settles the calls finished on the JS thread (and any others queued).
    /// Must run on the JS thread, inside a handle scope.
    pub(crate) fn settle_local(&self, env: sys::napi_env) {
        let queued = !self
            .shared
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        if queued {
            unsafe {
                drain(
                    env,
                    ptr::null_mut(),
                    Arc::as_ptr(&self.shared) as *mut c_void,
                    ptr::null_mut(),
                );
            }
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        // The driver ends once the calls it runs are done (each holds a clone of
        // this completer, so none is left when this runs).
        self.shared.calls.close();
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
    /// Finishes on the JS thread (`Completer::local_call`).
    local: bool,
}

impl Guard {
    fn finish<T: ToNapiValue + Send + 'static>(&mut self, result: Result<T, CoreError>) {
        if let Some(deferred) = self.deferred.take() {
            let done: Box<dyn Settle> = Box::new(Done { deferred, result });
            if self.local {
                self.completer.shared.push_local(done);
            } else {
                self.completer.shared.push([done]);
            }
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
    let (batch, more) = {
        let mut queue = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() > SETTLE_PER_TURN {
            let rest = queue.split_off(SETTLE_PER_TURN);
            (std::mem::replace(&mut *queue, rest), true)
        } else {
            (std::mem::take(&mut *queue), false)
        }
    };
    if more {
        // The rest on a later turn: the queue is not empty, so no finishing call
        // would wake the loop for it.
        settle_later(env, context);
    }
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

/// Drains the queue again from a `setImmediate` callback (a later turn of the
/// event loop). Falls back to the thread-safe function (settled in this turn)
/// if the callback cannot be scheduled.
unsafe fn settle_later(env: sys::napi_env, context: *mut c_void) {
    // The callback holds a reference to `Shared` until it runs.
    Arc::increment_strong_count(context as *const Shared);
    let name = "settleLater";
    let mut callback = ptr::null_mut();
    let mut global = ptr::null_mut();
    let mut set_immediate = ptr::null_mut();
    let mut ignored = ptr::null_mut();
    let scheduled = sys::napi_create_function(
        env,
        name.as_ptr().cast(),
        name.len() as isize,
        Some(drain_later),
        context,
        &mut callback,
    ) == sys::Status::napi_ok
        && sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
        && sys::napi_get_named_property(env, global, c"setImmediate".as_ptr(), &mut set_immediate)
            == sys::Status::napi_ok
        && sys::napi_call_function(env, global, set_immediate, 1, &callback, &mut ignored)
            == sys::Status::napi_ok;
    if !scheduled {
        let mut exception = ptr::null_mut();
        sys::napi_get_and_clear_last_exception(env, &mut exception);
        Arc::decrement_strong_count(context as *const Shared);
        let shared = &*(context as *const Shared);
        let tsfn = shared.tsfn();
        if !tsfn.0.is_null() {
            sys::napi_call_threadsafe_function(
                tsfn.0,
                ptr::null_mut(),
                sys::ThreadsafeFunctionCallMode::nonblocking,
            );
        }
    }
}

/// The `setImmediate` callback of [`settle_later`].
unsafe extern "C" fn drain_later(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut context = ptr::null_mut();
    let mut argc = 0usize;
    if sys::napi_get_cb_info(
        env,
        info,
        &mut argc,
        ptr::null_mut(),
        ptr::null_mut(),
        &mut context,
    ) == sys::Status::napi_ok
        && !context.is_null()
    {
        drain(env, ptr::null_mut(), context, ptr::null_mut());
        Arc::decrement_strong_count(context as *const Shared);
    }
    ptr::null_mut()
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        let shared = Arc::from_raw(data as *const Shared);
        shared.tsfn().0 = ptr::null_mut();
    }
}
