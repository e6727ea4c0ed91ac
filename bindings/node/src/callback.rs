//! A JS function the core's threads call: the one holder of a raw thread-safe
//! function, shared by the logger (`setLogger`) and alert subscriptions.
//!
//! Values are queued in non-blocking mode: a core thread never waits for the JS
//! thread, and a full queue drops the value. The function is unreferenced, so it
//! never keeps the process alive; it is released when the holder is dropped. napi
//! may finalize it first (at environment teardown): the handle is then cleared
//! under the lock, and later sends do nothing.

use std::marker::PhantomData;
use std::os::raw::c_void;
use std::ptr;
use std::sync::{Arc, Mutex};

use napi::{sys, Env};

use crate::error::check;

/// A value the JS function receives as its one argument.
pub(crate) trait JsArgument: Send + 'static {
    /// Builds the argument on the JS thread; `None` skips the call.
    ///
    /// # Safety
    /// `env` is the environment of the JS thread, inside a napi callback.
    unsafe fn to_js(&self, env: sys::napi_env) -> Option<sys::napi_value>;
}

/// A JS function callable from any thread with values of type `T`.
pub(crate) struct ThreadsafeCallback<T: JsArgument> {
    handle: Arc<Mutex<Handle>>,
    values: PhantomData<fn(T)>,
}

struct Handle(sys::napi_threadsafe_function);
// SAFETY: thread-safe functions may be called and released from any thread.
unsafe impl Send for Handle {}

impl<T: JsArgument> ThreadsafeCallback<T> {
    /// Wraps `function`; `label` names it in diagnostics; `queue_capacity` 0 means
    /// unbounded.
    pub(crate) fn new(
        env: &Env,
        function: sys::napi_value,
        label: &str,
        queue_capacity: usize,
    ) -> napi::Result<ThreadsafeCallback<T>> {
        let handle = Arc::new(Mutex::new(Handle(ptr::null_mut())));
        // napi owns one reference, given back (and the handle cleared) at finalize.
        let context = Arc::into_raw(handle.clone()) as *mut c_void;
        let mut name = ptr::null_mut();
        let mut tsfn = ptr::null_mut();
        unsafe {
            check(sys::napi_create_string_utf8(
                env.raw(),
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            ))?;
            let status = sys::napi_create_threadsafe_function(
                env.raw(),
                function,
                ptr::null_mut(),
                name,
                queue_capacity,
                1,
                context,
                Some(finalize),
                ptr::null_mut(),
                Some(deliver::<T>),
                &mut tsfn,
            );
            if status != sys::Status::napi_ok {
                drop(Arc::from_raw(context as *const Mutex<Handle>));
                check(status)?;
            }
            check(sys::napi_unref_threadsafe_function(env.raw(), tsfn))?;
        }
        lock(&handle).0 = tsfn;
        Ok(ThreadsafeCallback {
            handle,
            values: PhantomData,
        })
    }

    /// Queues `value` for the function; dropped when the queue is full or the
    /// function is gone.
    pub(crate) fn send(&self, value: T) {
        let handle = lock(&self.handle);
        if handle.0.is_null() {
            return;
        }
        let data = Box::into_raw(Box::new(value)) as *mut c_void;
        let status = unsafe {
            sys::napi_call_threadsafe_function(
                handle.0,
                data,
                sys::ThreadsafeFunctionCallMode::nonblocking,
            )
        };
        if status != sys::Status::napi_ok {
            drop(unsafe { Box::from_raw(data as *mut T) });
        }
    }
}

impl<T: JsArgument> Drop for ThreadsafeCallback<T> {
    fn drop(&mut self) {
        let handle = lock(&self.handle);
        if !handle.0.is_null() {
            unsafe {
                sys::napi_release_threadsafe_function(
                    handle.0,
                    sys::ThreadsafeFunctionReleaseMode::release,
                );
            }
        }
    }
}

fn lock(handle: &Mutex<Handle>) -> std::sync::MutexGuard<'_, Handle> {
    handle.lock().unwrap_or_else(|p| p.into_inner())
}

unsafe extern "C" fn deliver<T: JsArgument>(
    env: sys::napi_env,
    js_callback: sys::napi_value,
    _context: *mut c_void,
    data: *mut c_void,
) {
    if data.is_null() {
        return;
    }
    let value = Box::from_raw(data as *mut T);
    if env.is_null() || js_callback.is_null() {
        return;
    }
    let Some(arg) = value.to_js(env) else {
        return;
    };
    let mut undefined = ptr::null_mut();
    sys::napi_get_undefined(env, &mut undefined);
    let mut result = ptr::null_mut();
    // An exception thrown by the function surfaces as an uncaught exception.
    sys::napi_call_function(env, undefined, js_callback, 1, &arg, &mut result);
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        let handle = Arc::from_raw(data as *const Mutex<Handle>);
        lock(&handle).0 = ptr::null_mut();
    }
}
