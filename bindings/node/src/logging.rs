//! The core's log events to a JS function: `setLogger(fn, level)` (see
//! `docs/logging.md`).
//!
//! Events happen on the core's threads. Each one is queued to a thread-safe
//! function in non-blocking mode: the core's thread never waits for the JS
//! thread, and a full queue ([`QUEUE_CAPACITY`]) drops the event. The function is
//! unreferenced, so a logger never keeps the process alive; it is released when
//! another logger replaces it.

use std::ptr;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue, Status, ValueType};
use napi_derive::napi;
use stateful_redis::logging::{self, FieldValue, Level, Record, Sink};
use stateful_redis::Error as CoreError;

use crate::args::string;
use crate::callback::{JsArgument, ThreadsafeCallback};
use crate::error::js_error;

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
            let sink = LogSink(ThreadsafeCallback::new(
                env,
                logger.raw(),
                "stateful-redis logger",
                QUEUE_CAPACITY,
            )?);
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

struct LogSink(ThreadsafeCallback<Record>);

impl Sink for LogSink {
    fn log(&self, record: &Record) {
        self.0.send(record.clone());
    }
}

impl JsArgument for Record {
    unsafe fn to_js(&self, env: sys::napi_env) -> Option<sys::napi_value> {
        Some(js_event(env, self))
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
