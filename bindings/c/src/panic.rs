//! The panic boundary: no panic ever unwinds into C.
//!
//! Every exported function runs its body inside [`ffi_guard`] (functions that
//! return an [`SrStatus`]) or [`ffi_guard_or`] (the few that return a value and
//! cannot fail). A caught panic becomes `SR_INTERNAL` with the panic's message as
//! the thread's last error; in the value-returning functions it becomes their
//! documented fallback value.

use std::panic::{catch_unwind, AssertUnwindSafe};

use stateful_redis::{Error, ErrorCode};

use crate::error::{set_last_error, SrStatus};

/// Runs `body`; maps its error (recorded as the thread's last error) or a panic
/// (recorded as `SR_INTERNAL`) to a status.
pub(crate) fn ffi_guard(body: impl FnOnce() -> Result<(), Error>) -> SrStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => SrStatus::SR_OK,
        Ok(Err(error)) => set_last_error(&error),
        Err(payload) => set_last_error(&panic_error(payload.as_ref())),
    }
}

/// Runs `body`, which cannot fail; a panic returns `fallback`.
pub(crate) fn ffi_guard_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            set_last_error(&panic_error(payload.as_ref()));
            fallback
        }
    }
}

fn panic_error(payload: &(dyn std::any::Any + Send)) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    Error::new(
        ErrorCode::Internal,
        format!("a bug in stateful-redis: panic caught at the C boundary: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{sr_last_error_message, sr_last_error_status};
    use std::ffi::CStr;

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
