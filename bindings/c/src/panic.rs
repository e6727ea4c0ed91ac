//! The panic boundary: no panic ever unwinds into C.
//!
//! [`catch_panic`] turns a panic into an `INTERNAL` error carrying the panic's
//! message. Every exported function runs its body through
//! [`crate::error::ffi_guard`] or [`crate::error::ffi_guard_or`], which build on
//! it and record the error as the thread's last error. This module depends on
//! nothing else of the crate (the error module depends on it, not the reverse).

use std::panic::{catch_unwind, AssertUnwindSafe};

use stateful_redis::{Error, ErrorCode};

/// Runs `body`; a panic becomes `Err` with an `INTERNAL` error naming it.
pub(crate) fn catch_panic<T>(body: impl FnOnce() -> T) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(body)).map_err(|payload| panic_error(payload.as_ref()))
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

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let error = catch_panic(|| panic!("boom {}", 42)).unwrap_err();
        assert_eq!(error.code(), ErrorCode::Internal);
        assert!(error.message().contains("boom 42"));
        let error = catch_panic(|| panic!("static")).unwrap_err();
        assert!(error.message().contains("static"));
        assert_eq!(catch_panic(|| 7).unwrap(), 7);
    }
}
