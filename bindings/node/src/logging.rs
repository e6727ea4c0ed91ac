//! The core's log events to a JS function: `setLogger(fn, level)` (see
//! `docs/logging.md`).
//!
//! Events happen on the core's threads. Each one is queued to a thread-safe
//! function in non-blocking mode: the core's thread never waits for the JS
//! thread, and a full queue ([`QUEUE_CAPACITY`]) drops the event. The function is
//! unreferenced, so a logger never keeps the process alive; it is released when
//! another logger replaces it.

use std::os::raw::c_void;
use std::ptr;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue, Status, ValueType};
use napi_derive::napi;
use stateful_redis::logging::{self, FieldValue, Level, Record, Sink};
use stateful_redis::Error as CoreError;

use crate::args::string;
use crate::error::{check, js_error};

/// Events waiting for the JS thread; beyond this, new ones are dropped.
const QUEUE_CAPACITY: usize = 4096;

/// Sends the core's log events at `level` (`'error'`, `'warn'`, `'info'`, the
/// default, `'debug'`, `'trace'`) and more severe to `logger({level, target,
/// message, fields})` on the JS thread; `null` stops. One logger per process:
/// the last call wins. The logger never keeps the process alive; an exception it
/// throws surfaces as an uncaught exception.
#[napi(ts_args_type = "logger: ((event: LogEvent) => void) | null, level?: LogLevel")]
pub fn set_logger(env: &Env, logger: Unknown, level: Option<Unknown>) -> napi::Result<()> {
    let throw = |error: CoreError| {
        let error = error.with_operation("set_logger");
        unsafe {
            sys::napi_throw(env.raw(), js_error(env.raw(), &error));
        }
        napi::Error::new(Status::PendingException, error.to_string())
    };
    let level = match level.filter(|l| !matches!(l.get_type(), Ok(ValueType::Undefined))) {
        None => Level::Info,
        Some(l) => {
            let name = string(&l, "level").map_err(throw)?;
            Level::parse(&name).ok_or_else(|| {
                throw(CoreError::invalid_argument(format!(
                    "level must be 'error', 'warn', 'info', 'debug' or 'trace', not {name:?}"
                )))
            })?
        }
    };
    match logger.get_type()? {
        ValueType::Null | ValueType::Undefined => {
            // The previous logger is released when dropped here (or by the
            // thread delivering to it now).
            drop(logging::set_sink(None, level));
        }
        ValueType::Function => {
            let sink = LogSink::new(env, logger.raw())?;
            drop(logging::set_sink(Some(Box::new(sink)), level));
        }
        _ => {
            return Err(throw(CoreError::invalid_argument(
                "logger must be a function or null",
            )))
        }
    }
    Ok(())
}

struct LogSink {
    tsfn: Arc<Mutex<Tsfn>>,
}

struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: thread-safe functions may be called and released from any thread.
unsafe impl Send for Tsfn {}

impl LogSink {
    fn new(env: &Env, function: sys::napi_value) -> napi::Result<LogSink> {
        let holder = Arc::new(Mutex::new(Tsfn(ptr::null_mut())));
        // napi owns one reference, given back (and the handle cleared) at finalize.
        let context = Arc::into_raw(holder.clone()) as *mut c_void;
        let mut name = ptr::null_mut();
        let label = "stateful-redis logger";
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
                QUEUE_CAPACITY,
                1,
                context,
                Some(finalize_sink),
                ptr::null_mut(),
                Some(deliver),
                &mut tsfn,
            );
            if status != sys::Status::napi_ok {
                drop(Arc::from_raw(context as *const Mutex<Tsfn>));
                check(status)?;
            }
            check(sys::napi_unref_threadsafe_function(env.raw(), tsfn))?;
        }
        holder.lock().unwrap_or_else(|p| p.into_inner()).0 = tsfn;
        Ok(LogSink { tsfn: holder })
    }
}

impl Sink for LogSink {
    fn log(&self, record: &Record) {
        let tsfn = self.tsfn.lock().unwrap_or_else(|p| p.into_inner());
        if tsfn.0.is_null() {
            return;
        }
        let data = Box::into_raw(Box::new(record.clone())) as *mut c_void;
        // Non-blocking: a full queue drops the event rather than stall the core.
        let status = unsafe {
            sys::napi_call_threadsafe_function(
                tsfn.0,
                data,
                sys::ThreadsafeFunctionCallMode::nonblocking,
            )
        };
        if status != sys::Status::napi_ok {
            drop(unsafe { Box::from_raw(data as *mut Record) });
        }
    }
}

impl Drop for LogSink {
    fn drop(&mut self) {
        let tsfn = self.tsfn.lock().unwrap_or_else(|p| p.into_inner());
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

unsafe fn js_string(env: sys::napi_env, s: &str) -> sys::napi_value {
    let mut value = ptr::null_mut();
    sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut value);
    value
}

unsafe fn js_field(env: sys::napi_env, value: &FieldValue) -> sys::napi_value {
    let mut out = ptr::null_mut();
    match value {
        FieldValue::Bool(v) => {
            sys::napi_get_boolean(env, *v, &mut out);
        }
        FieldValue::I64(v) => {
            sys::napi_create_double(env, *v as f64, &mut out);
        }
        FieldValue::U64(v) => {
            sys::napi_create_double(env, *v as f64, &mut out);
        }
        FieldValue::F64(v) => {
            sys::napi_create_double(env, *v, &mut out);
        }
        FieldValue::Str(v) => out = js_string(env, v),
    }
    out
}

/// `{level, target, message, fields}` of `record`.
unsafe fn js_event(env: sys::napi_env, record: &Record) -> sys::napi_value {
    let mut event = ptr::null_mut();
    sys::napi_create_object(env, &mut event);
    sys::napi_set_named_property(
        env,
        event,
        c"level".as_ptr(),
        js_string(env, record.level.as_str()),
    );
    sys::napi_set_named_property(
        env,
        event,
        c"target".as_ptr(),
        js_string(env, record.target),
    );
    sys::napi_set_named_property(
        env,
        event,
        c"message".as_ptr(),
        js_string(env, &record.message),
    );
    let mut fields = ptr::null_mut();
    sys::napi_create_object(env, &mut fields);
    for (name, value) in &record.fields {
        sys::napi_set_property(env, fields, js_string(env, name), js_field(env, value));
    }
    sys::napi_set_named_property(env, event, c"fields".as_ptr(), fields);
    event
}

unsafe extern "C" fn deliver(
    env: sys::napi_env,
    js_callback: sys::napi_value,
    _context: *mut c_void,
    data: *mut c_void,
) {
    if data.is_null() {
        return;
    }
    let record = Box::from_raw(data as *mut Record);
    if env.is_null() || js_callback.is_null() {
        return;
    }
    let event = js_event(env, &record);
    let mut undefined = ptr::null_mut();
    sys::napi_get_undefined(env, &mut undefined);
    let mut result = ptr::null_mut();
    // An exception thrown by the logger surfaces as an uncaught exception.
    sys::napi_call_function(env, undefined, js_callback, 1, &event, &mut result);
}

unsafe extern "C" fn finalize_sink(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        let holder = Arc::from_raw(data as *const Mutex<Tsfn>);
        holder.lock().unwrap_or_else(|p| p.into_inner()).0 = ptr::null_mut();
    }
}
