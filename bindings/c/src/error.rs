//! Status codes and the per-thread last error.
//!
//! Every function that can fail returns an [`SrStatus`]: `SR_OK` (0) or one of the
//! core's stable error codes (SPEC section 4), with the same numbers as
//! `stateful_redis::ErrorCode`. The message, operation name and `retryable` flag
//! of the failure are kept per thread, like `errno`: a thread reads them with
//! `sr_last_error_*` after the failing call, and they stay until the next failing
//! call *on that thread*. Successful calls leave them alone. Thread-local storage
//! needs no lock and lets one executor be shared by many threads.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};

use stateful_redis::{Error, ErrorCode};

use crate::panic::catch_panic;

/// The outcome of a call: `SR_OK` or an error code. The numbers are stable
/// (never renumbered or reused); new codes may be added at the end.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrStatus {
    /// Success.
    SR_OK = 0,
    /// Invalid input: empty, over-long or control-character names, a negative pod,
    /// a bad persist/keep, a NULL pointer, a string that is not UTF-8.
    SR_INVALID_ARGUMENT = 1,
    /// Invalid configuration: malformed JSON, an unknown option, a bad URL, an
    /// impossible pool size.
    SR_CONFIG = 2,
    /// Cannot connect, or the connection was lost.
    SR_CONNECTION = 3,
    /// The command's deadline passed.
    SR_TIMEOUT = 4,
    /// NOAUTH, WRONGPASS, NOPERM.
    SR_AUTH = 5,
    /// A Lua script failed.
    SR_SCRIPT = 6,
    /// CROSSSLOT, CLUSTERDOWN, redirections exhausted.
    SR_CLUSTER = 7,
    /// BUSY, LOADING, OOM and similar server refusals; too many calls in flight.
    SR_BUSY = 8,
    /// Redis holds something the operation cannot read (the message names the key).
    SR_DATA = 9,
    /// The executor was closed.
    SR_CLOSED = 10,
    /// A bug in the library (a caught panic included).
    SR_INTERNAL = 11,
}

impl SrStatus {
    /// The status of a core error code (same number).
    pub(crate) fn from_code(code: ErrorCode) -> SrStatus {
        match code {
            ErrorCode::InvalidArgument => SrStatus::SR_INVALID_ARGUMENT,
            ErrorCode::Config => SrStatus::SR_CONFIG,
            ErrorCode::Connection => SrStatus::SR_CONNECTION,
            ErrorCode::Timeout => SrStatus::SR_TIMEOUT,
            ErrorCode::Auth => SrStatus::SR_AUTH,
            ErrorCode::Script => SrStatus::SR_SCRIPT,
            ErrorCode::Cluster => SrStatus::SR_CLUSTER,
            ErrorCode::Busy => SrStatus::SR_BUSY,
            ErrorCode::Data => SrStatus::SR_DATA,
            ErrorCode::Closed => SrStatus::SR_CLOSED,
            ErrorCode::Internal => SrStatus::SR_INTERNAL,
        }
    }
}

/// The last failure on this thread, with its strings ready for C.
struct LastError {
    code: ErrorCode,
    message: CString,
    operation: CString,
    retryable: bool,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// A C string from arbitrary text: interior NUL bytes (never expected in a
/// message) are replaced so the rest of the text survives.
fn c_string_lossy(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// Records `error` as this thread's last error and returns its status.
pub(crate) fn set_last_error(error: &Error) -> SrStatus {
    let last = LastError {
        code: error.code(),
        message: c_string_lossy(error.message()),
        operation: c_string_lossy(error.operation()),
        retryable: error.retryable(),
    };
    // try_with: during thread teardown the slot may be gone; the status still
    // tells the caller what happened.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = Some(last));
    SrStatus::from_code(error.code())
}

/// Runs `body`; maps its error (recorded as the thread's last error) or a panic
/// (recorded as `SR_INTERNAL`, see [`crate::panic`]) to a status.
pub(crate) fn ffi_guard(body: impl FnOnce() -> Result<(), Error>) -> SrStatus {
    match catch_panic(body).and_then(|result| result) {
        Ok(()) => SrStatus::SR_OK,
        Err(error) => set_last_error(&error),
    }
}

/// Runs `body`, which cannot fail; a panic is recorded as the thread's last
/// error and returns `fallback`.
pub(crate) fn ffi_guard_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_panic(body).unwrap_or_else(|error| {
        set_last_error(&error);
        fallback
    })
}

fn with_last<T>(read: impl FnOnce(&LastError) -> T, none: T) -> T {
    // try_with fails only while this thread's thread-locals are being destroyed.
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ref().map(read))
        .ok()
        .flatten()
        .unwrap_or(none)
}

const EMPTY: &std::ffi::CStr = c"";

/// The message of the last failed call on this thread, or "" if none failed.
///
/// # Safety
/// Always safe to call.
///
/// # Ownership
/// The string belongs to the library: it stays valid until the next failing
/// `sr_` call on the same thread (or the thread's end). Copy it to keep it; never
/// free it.
#[no_mangle]
pub extern "C" fn sr_last_error_message() -> *const c_char {
    ffi_guard_or(EMPTY.as_ptr(), || {
        with_last(|last| last.message.as_ptr(), EMPTY.as_ptr())
    })
}

/// The operation (`"set_linked_pod"`, ...) of the last failed call on this
/// thread; "" when the failure was outside an operation (e.g. a NULL argument or
/// a configuration error) or when nothing failed.
///
/// # Safety
/// Always safe to call.
///
/// # Ownership
/// As `sr_last_error_message()`: owned by the library, valid until the next
/// failing call on this thread; never free it.
#[no_mangle]
pub extern "C" fn sr_last_error_operation() -> *const c_char {
    ffi_guard_or(EMPTY.as_ptr(), || {
        with_last(|last| last.operation.as_ptr(), EMPTY.as_ptr())
    })
}

/// The status of the last failed call on this thread (`SR_OK` if none failed).
///
/// # Safety
/// Always safe to call.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub extern "C" fn sr_last_error_status() -> SrStatus {
    ffi_guard_or(SrStatus::SR_INTERNAL, || {
        with_last(|last| SrStatus::from_code(last.code), SrStatus::SR_OK)
    })
}

/// Whether the last failed call on this thread may succeed if made again
/// (the condition is transient *and* repeating the call is safe).
///
/// # Safety
/// Always safe to call.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub extern "C" fn sr_last_error_retryable() -> bool {
    ffi_guard_or(false, || with_last(|last| last.retryable, false))
}

/// The name of a status as written in every binding: `"OK"`,
/// `"INVALID_ARGUMENT"`, ..., `"INTERNAL"`; `"UNKNOWN"` for a number that is not
/// a status. Takes an `int` so any value is safe to pass.
///
/// # Safety
/// Always safe to call.
///
/// # Ownership
/// A static string: never free it.
#[no_mangle]
pub extern "C" fn sr_status_name(status: c_int) -> *const c_char {
    const NAMES: [&std::ffi::CStr; 12] = [
        c"OK",
        c"INVALID_ARGUMENT",
        c"CONFIG",
        c"CONNECTION",
        c"TIMEOUT",
        c"AUTH",
        c"SCRIPT",
        c"CLUSTER",
        c"BUSY",
        c"DATA",
        c"CLOSED",
        c"INTERNAL",
    ];
    ffi_guard_or(c"UNKNOWN".as_ptr(), || {
        usize::try_from(status)
            .ok()
            .and_then(|i| NAMES.get(i))
            .unwrap_or(&c"UNKNOWN")
            .as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn statuses_have_the_core_numbers_and_names() {
        for code in ErrorCode::ALL {
            let status = SrStatus::from_code(code);
            assert_eq!(status as i32, code as i32);
            let name = unsafe { CStr::from_ptr(sr_status_name(status as c_int)) };
            assert_eq!(name.to_str().unwrap(), code.as_str());
        }
        let ok = unsafe { CStr::from_ptr(sr_status_name(0)) };
        assert_eq!(ok.to_str().unwrap(), "OK");
        for bad in [-1, 12, c_int::MAX, c_int::MIN] {
            let name = unsafe { CStr::from_ptr(sr_status_name(bad)) };
            assert_eq!(name.to_str().unwrap(), "UNKNOWN");
        }
    }

    #[test]
    fn last_error_is_per_thread() {
        let err =
            Error::new(ErrorCode::Data, "key k\0 holds junk").with_operation("get_linked_pod");
        assert_eq!(set_last_error(&err), SrStatus::SR_DATA);
        assert_eq!(sr_last_error_status(), SrStatus::SR_DATA);
        let message = unsafe { CStr::from_ptr(sr_last_error_message()) };
        assert_eq!(message.to_str().unwrap(), "key k\u{FFFD} holds junk");
        let op = unsafe { CStr::from_ptr(sr_last_error_operation()) };
        assert_eq!(op.to_str().unwrap(), "get_linked_pod");
        std::thread::spawn(|| {
            assert_eq!(sr_last_error_status(), SrStatus::SR_OK);
            let message = unsafe { CStr::from_ptr(sr_last_error_message()) };
            assert!(message.to_bytes().is_empty());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_panic_becomes_sr_internal() {
        let status = ffi_guard(|| panic!("boom {}", 42));
        assert_eq!(status, SrStatus::SR_INTERNAL);
        assert_eq!(sr_last_error_status(), SrStatus::SR_INTERNAL);
        let message = unsafe { CStr::from_ptr(sr_last_error_message()) };
        assert!(message.to_str().unwrap().contains("boom 42"));
        assert_eq!(ffi_guard_or(7, || panic!("static")), 7);
        let message = unsafe { CStr::from_ptr(sr_last_error_message()) };
        assert!(message.to_str().unwrap().contains("static"));
    }

    #[test]
    fn errors_and_success_map_to_statuses() {
        assert_eq!(ffi_guard(|| Ok(())), SrStatus::SR_OK);
        let status = ffi_guard(|| Err(Error::new(ErrorCode::Timeout, "slow")));
        assert_eq!(status, SrStatus::SR_TIMEOUT);
    }
}
