//! Conversions at the boundary: C arguments in, C outputs out.
//!
//! Inputs are checked (NULL, UTF-8) before anything else happens and reported as
//! `INVALID_ARGUMENT` naming the parameter. Output pointers are checked first
//! too, and written only once the whole call has succeeded.

use std::ffi::{c_char, CStr, CString};
use std::ptr::NonNull;

use stateful_redis::{Error, ErrorCode};

/// A borrowed C string as `&str`: NULL or invalid UTF-8 is `INVALID_ARGUMENT`.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn arg_str<'a>(name: &str, p: *const c_char) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::invalid_argument(format!("{name} is not valid UTF-8")))
}

/// A borrowed array of C strings. `p` may be NULL only when `len` is 0.
///
/// # Safety
/// `p` is NULL or points to `len` pointers, each NULL or a NUL-terminated
/// string, all outliving `'a`.
pub(crate) unsafe fn arg_strs<'a>(
    name: &str,
    p: *const *const c_char,
    len: usize,
) -> Result<Vec<&'a str>, Error> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Error::invalid_argument(format!(
            "{name} is NULL but {name}_len is {len}"
        )));
    }
    std::slice::from_raw_parts(p, len)
        .iter()
        .enumerate()
        .map(|(i, &s)| arg_str(&format!("{name}[{i}]"), s))
        .collect()
}

/// A borrowed reference: NULL is `INVALID_ARGUMENT`.
///
/// # Safety
/// `p` is NULL or valid for reads for `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(name: &str, p: *const T) -> Result<&'a T, Error> {
    p.as_ref()
        .ok_or_else(|| Error::invalid_argument(format!("{name} is NULL")))
}

/// An output parameter, checked before the call and written after it.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// # Safety
    /// `p` is NULL or valid for writes of a `T`.
    pub(crate) unsafe fn new(name: &str, p: *mut T) -> Result<Out<T>, Error> {
        NonNull::new(p)
            .map(Out)
            .ok_or_else(|| Error::invalid_argument(format!("{name} is NULL")))
    }

    /// Writes the value without reading or dropping what was there (the caller's
    /// memory may be uninitialised).
    pub(crate) fn write(self, value: T) {
        // SAFETY: checked non-NULL in `new`; the caller promised it is writable.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// An owned C string for the caller (freed with `sr_string_free`).
pub(crate) fn c_string(what: &str, text: String) -> Result<CString, Error> {
    CString::new(text).map_err(|_| {
        Error::new(
            ErrorCode::Data,
            format!("{what} contains a NUL byte, which a C string cannot carry"),
        )
    })
}

/// Frees a string returned by the library.
///
/// # Safety
/// `s` is NULL or a string returned by this library (`char **out_...` of an
/// `sr_` function) that was not freed yet. It must not be used afterwards.
///
/// # Ownership
/// Takes back ownership of `s`. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sr_string_free(s: *mut c_char) {
    crate::error::ffi_guard_or((), || {
        if !s.is_null() {
            drop(CString::from_raw(s));
        }
    })
}
