//! # The C ABI of stateful-redis
//!
//! `extern "C"` functions over the core's [`stateful_redis::BlockingExecutor`];
//! the header `include/stateful_redis.h` is generated from this crate by
//! cbindgen (see `build.rs`). This crate only converts types and errors: every
//! decision is the core's.
//!
//! Conventions (after rustls-ffi; the full text is `docs/c-abi.md`):
//! - names: functions `sr_`, types `Sr`, constants `SR_`;
//! - every fallible function returns an [`error::SrStatus`]; the message of a
//!   failure is read with `sr_last_error_message()` on the same thread;
//! - inputs come before outputs; outputs are pointers the caller provides,
//!   checked for NULL first and written only on success;
//! - every allocation returned has exactly one free function, named in its
//!   `# Ownership` section; free functions accept NULL;
//! - no panic unwinds into C ([`panic`], used by `error::ffi_guard`); a caught one is `SR_INTERNAL`;
//! - lists and maps are plain C structs ([`types`]); monitor documents are JSON.
//!
//! Module map: [`error`] (statuses, last error), [`panic`] (boundary), [`ffi`]
//! (argument/output conversion, strings), [`types`] (result structs),
//! [`executor`] (the handle and the 17 operations), [`monitor`] (metrics,
//! alerts, suggestions, optimizers, recording), [`logging`] (log events to a
//! C callback).

pub mod abi;
pub mod error;
pub mod executor;
pub mod ffi;
pub mod logging;
pub mod monitor;
pub mod panic;
pub mod types;

use std::ffi::{c_char, CStr};

pub use abi::SR_ABI_VERSION;
pub use error::SrStatus;
pub use executor::SrExecutor;

const VERSION_C: &CStr = {
    // The crate version, NUL-terminated, checked at compile time.
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => panic!("the crate version contains a NUL byte"),
    }
};

/// The library's version, e.g. `"0.1.0"` (the same as the `SR_VERSION` macro of
/// the header the program was compiled with, unless it runs with another build
/// of the library).
///
/// # Safety
/// Always safe to call.
///
/// # Ownership
/// A static string: never free it.
#[no_mangle]
pub extern "C" fn sr_version() -> *const c_char {
    VERSION_C.as_ptr()
}

/// The library's ABI version (`SR_ABI_VERSION` of the header it was built
/// with). A program compiled against a header whose `SR_ABI_VERSION` differs
/// must not use this library.
///
/// # Safety
/// Always safe to call.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub extern "C" fn sr_abi_version() -> u32 {
    SR_ABI_VERSION
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_matches_the_crate() {
        let v = unsafe { std::ffi::CStr::from_ptr(super::sr_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
