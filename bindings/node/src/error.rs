//! Core errors as JS `Error` objects.
//!
//! Every rejection is an `Error` with `.code` (one of [`ErrorCode`], the stable codes
//! of SPEC section 4), `.retryable`, `.operation` (snake_case, as in every binding,
//! `""` outside an operation) and, when the core kept one, `.cause` (an `Error` with
//! the underlying client error's message).

use std::error::Error as _;
use std::ptr;

use napi::{sys, Status};
use napi_derive::napi;
use stateful_redis::error::scrub;
use stateful_redis::{Error as CoreError, ErrorCode as CoreCode};

/// The stable error codes (`err.code`), the same in every binding.
#[napi(string_enum)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Debug, PartialEq, Eq)]
pub enum ErrorCode {
    INVALID_ARGUMENT,
    CONFIG,
    CONNECTION,
    TIMEOUT,
    AUTH,
    SCRIPT,
    CLUSTER,
    BUSY,
    DATA,
    CLOSED,
    INTERNAL,
}

impl From<CoreCode> for ErrorCode {
    fn from(code: CoreCode) -> ErrorCode {
        match code {
            CoreCode::InvalidArgument => ErrorCode::INVALID_ARGUMENT,
            CoreCode::Config => ErrorCode::CONFIG,
            CoreCode::Connection => ErrorCode::CONNECTION,
            CoreCode::Timeout => ErrorCode::TIMEOUT,
            CoreCode::Auth => ErrorCode::AUTH,
            CoreCode::Script => ErrorCode::SCRIPT,
            CoreCode::Cluster => ErrorCode::CLUSTER,
            CoreCode::Busy => ErrorCode::BUSY,
            CoreCode::Data => ErrorCode::DATA,
            CoreCode::Closed => ErrorCode::CLOSED,
            CoreCode::Internal => ErrorCode::INTERNAL,
        }
    }
}

/// A napi status as a `Result`.
pub(crate) fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            Status::from(status),
            "a Node-API call failed",
        ))
    }
}

unsafe fn js_string(env: sys::napi_env, s: &str) -> sys::napi_value {
    let mut value = ptr::null_mut();
    sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut value);
    value
}

unsafe fn set(
    env: sys::napi_env,
    object: sys::napi_value,
    name: &std::ffi::CStr,
    value: sys::napi_value,
) {
    sys::napi_set_named_property(env, object, name.as_ptr(), value);
}

/// Builds the JS `Error` for a core error.
///
/// # Safety
/// Runs on the JS thread of `env`.
pub(crate) unsafe fn js_error(env: sys::napi_env, e: &CoreError) -> sys::napi_value {
    let code = js_string(env, e.code().as_str());
    let message = js_string(env, &e.to_string());
    let mut error = ptr::null_mut();
    sys::napi_create_error(env, code, message, &mut error);
    let mut retryable = ptr::null_mut();
    sys::napi_get_boolean(env, e.retryable(), &mut retryable);
    set(env, error, c"retryable", retryable);
    set(env, error, c"operation", js_string(env, e.operation()));
    if let Some(source) = e.source() {
        // The cause's text is a dependency's, not the core's: scrub it too.
        let mut cause = ptr::null_mut();
        sys::napi_create_error(
            env,
            ptr::null_mut(),
            js_string(env, &scrub(&source.to_string())),
            &mut cause,
        );
        set(env, error, c"cause", cause);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_code_has_the_same_name_in_js() {
        for code in CoreCode::ALL {
            assert_eq!(format!("{:?}", ErrorCode::from(code)), code.as_str());
        }
    }
}
