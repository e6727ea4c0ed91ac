//! The core's log events to a C callback: [`sr_set_log_callback`] (see
//! `docs/logging.md` and `docs/c-abi.md`).

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Mutex;

use stateful_redis::logging::{self, Level, Record, Sink};
use stateful_redis::Error;

use crate::error::ffi_guard;
use crate::error::SrStatus;

/// Log level: no event (as `min_level`, turns the forwarding off).
pub const SR_LOG_OFF: c_int = 0;
/// Log level: errors.
pub const SR_LOG_ERROR: c_int = 1;
/// Log level: warnings (alerts firing, a connection lost or replaced).
pub const SR_LOG_WARN: c_int = 2;
/// Log level: information (alerts resolved, a connection re-established, the
/// pool resized).
pub const SR_LOG_INFO: c_int = 3;
/// Log level: details for debugging (alerts pending).
pub const SR_LOG_DEBUG: c_int = 4;
/// Log level: the finest details.
pub const SR_LOG_TRACE: c_int = 5;

/// Receives one log event: `level` is one of `SR_LOG_ERROR` … `SR_LOG_TRACE`;
/// `target` the module that logged it (`"stateful_redis::monitor"`, …);
/// `message` the text followed by the event's fields as ` name=value`
/// (`"alert firing: ... metric=set_linked_pod.p99_ms value=2.5 threshold=1"`).
/// Both strings are valid only during the call. `user_data` is the pointer given
/// to `sr_set_log_callback`.
///
/// Runs on the thread that logged: a thread of the library's runtime (named
/// `stateful-redis`) or a thread inside a call of the library. Calls never
/// overlap (the library serialises them). Return quickly and never block: the
/// library's threads wait meanwhile. It must not throw (C++) or unwind; events
/// caused by library calls made from inside the callback are dropped.
pub type SrLogCallback = Option<
    unsafe extern "C" fn(
        level: c_int,
        target: *const c_char,
        message: *const c_char,
        user_data: *mut c_void,
    ),
>;

struct Target {
    callback: unsafe extern "C" fn(c_int, *const c_char, *const c_char, *mut c_void),
    user_data: *mut c_void,
}

// SAFETY: `user_data` is only handed back to the caller's callback, which the
// caller promised (documented on sr_set_log_callback) may run on any thread.
unsafe impl Send for Target {}

/// The callback; its lock is held during each call, which serialises them and
/// lets `sr_set_log_callback` wait for a call in progress.
static TARGET: Mutex<Option<Target>> = Mutex::new(None);

thread_local! {
    /// Whether this thread is inside the log callback now.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

struct CallbackSink;

impl Sink for CallbackSink {
    fn log(&self, record: &Record) {
        if IN_CALLBACK.with(Cell::get) {
            // Logged by a library call the callback made: calling it again here
            // would recurse (and deadlock on the lock this thread holds).
            return;
        }
        let Ok(target) = CString::new(record.target) else {
            return;
        };
        let message = CString::new(record.message.replace('\0', " ")).unwrap_or_default();
        let slot = TARGET.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = slot.as_ref() {
            IN_CALLBACK.with(|c| c.set(true));
            // SAFETY: the caller's callback, with its own user_data.
            unsafe {
                (t.callback)(
                    record.level as c_int,
                    target.as_ptr(),
                    message.as_ptr(),
                    t.user_data,
                )
            };
            IN_CALLBACK.with(|c| c.set(false));
        }
    }
}

/// Sends the library's log events at `min_level` and more severe
/// (`SR_LOG_ERROR` … `SR_LOG_TRACE`) to `callback` with `user_data`, replacing
/// the callback set before. A NULL `callback` or `SR_LOG_OFF` turns the
/// forwarding off. One callback per process: it receives the events of every
/// executor. See `SrLogCallback` for the thread it runs on.
///
/// When this function returns, the previous callback is not running on any
/// thread and will not be called again, so its `user_data` may be freed. It
/// cannot be called from inside the log callback (`SR_INVALID_ARGUMENT`); a
/// `min_level` outside 0 … 5 is `SR_INVALID_ARGUMENT` too.
///
/// # Safety
/// `callback` is NULL or a function that may be called from any thread with
/// `user_data` until this function is called again.
///
/// # Ownership
/// Nothing is allocated; the library never frees `user_data`.
#[no_mangle]
pub unsafe extern "C" fn sr_set_log_callback(
    min_level: c_int,
    callback: SrLogCallback,
    user_data: *mut c_void,
) -> SrStatus {
    ffi_guard(|| {
        if IN_CALLBACK.with(Cell::get) {
            return Err(Error::invalid_argument(
                "sr_set_log_callback cannot be called from inside the log callback",
            ));
        }
        let level = match min_level {
            SR_LOG_OFF => None,
            n => Some(Level::from_number(n.into()).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "min_level must be SR_LOG_OFF (0) … SR_LOG_TRACE (5), not {n}"
                ))
            })?),
        };
        let target = callback.map(|callback| Target {
            callback,
            user_data,
        });
        let level = if target.is_some() { level } else { None };
        // Taking the lock waits for a call in progress.
        *TARGET.lock().unwrap_or_else(|p| p.into_inner()) = target;
        match level {
            Some(level) if logging::max_level().is_none() => {
                logging::set_sink(Some(Box::new(CallbackSink)), level);
            }
            level => logging::set_max_level(level),
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::sync::Mutex as StdMutex;

    static SEEN: StdMutex<Vec<(c_int, String, String)>> = StdMutex::new(Vec::new());

    unsafe extern "C" fn collect(
        level: c_int,
        target: *const c_char,
        message: *const c_char,
        _user_data: *mut c_void,
    ) {
        let target = CStr::from_ptr(target).to_string_lossy().into_owned();
        let message = CStr::from_ptr(message).to_string_lossy().into_owned();
        SEEN.lock().unwrap().push((level, target, message));
        // Inside the callback: refused, and its own event is not delivered.
        assert_eq!(
            sr_set_log_callback(SR_LOG_OFF, None, std::ptr::null_mut()),
            SrStatus::SR_INVALID_ARGUMENT
        );
        tracing::error!("from inside the callback");
    }

    #[test]
    fn events_reach_the_callback_at_its_level_until_it_is_removed() {
        unsafe {
            assert_eq!(
                sr_set_log_callback(9, Some(collect), std::ptr::null_mut()),
                SrStatus::SR_INVALID_ARGUMENT
            );
            assert_eq!(
                sr_set_log_callback(SR_LOG_INFO, Some(collect), std::ptr::null_mut()),
                SrStatus::SR_OK
            );
        }
        tracing::warn!(value = 3, "alert firing: too slow");
        tracing::debug!("below the level");
        unsafe {
            assert_eq!(
                sr_set_log_callback(SR_LOG_TRACE, None, std::ptr::null_mut()),
                SrStatus::SR_OK
            );
        }
        tracing::error!("after the callback was removed");
        let seen = SEEN.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![(
                SR_LOG_WARN,
                "stateful_redis_c::logging::tests".to_string(),
                "alert firing: too slow value=3".to_string()
            )]
        );
    }
}
