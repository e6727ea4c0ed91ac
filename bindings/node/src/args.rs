//! JS arguments to Rust values. A value of the wrong JS type is refused with
//! `INVALID_ARGUMENT` (as a rejected promise, before anything is sent); the ranges
//! (pod >= 0, persist -1 or > 0, name lengths, ...) are checked by the core.
//!
//! Integers are JS numbers with an integral value (a `1.5` pod is refused, never
//! truncated) in the safe-integer range.

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::{sys, Env, JsValue, ValueType};
use stateful_redis::{Error as CoreError, RoutingPolicy};

use crate::options::snake_case_keys;

type Result<T> = std::result::Result<T, CoreError>;

/// 2^53 - 1: integers beyond it are not exact as JS numbers.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn type_name(value: &Unknown) -> &'static str {
    match value.get_type() {
        Ok(ValueType::Undefined) => "undefined",
        Ok(ValueType::Null) => "null",
        Ok(ValueType::Boolean) => "a boolean",
        Ok(ValueType::Number) => "a number",
        Ok(ValueType::String) => "a string",
        Ok(ValueType::Symbol) => "a symbol",
        Ok(ValueType::Object) => "an object",
        Ok(ValueType::Function) => "a function",
        Ok(ValueType::BigInt) => "a bigint",
        _ => "a value of another type",
    }
}

fn wrong_type(name: &str, expected: &str, value: &Unknown) -> CoreError {
    CoreError::invalid_argument(format!(
        "{name} must be {expected}, not {}",
        type_name(value)
    ))
}

/// A string argument.
pub(crate) fn string(value: &Unknown, name: &str) -> Result<String> {
    read_string(value.value().env, value.raw()).ok_or_else(|| wrong_type(name, "a string", value))
}

/// The string value of `raw`, or `None` if it is not a string. One Node-API call
/// for strings that fit a stack buffer (names do), instead of napi-rs's two calls
/// (length, then copy) and a type check.
fn read_string(env: sys::napi_env, raw: sys::napi_value) -> Option<String> {
    let mut buf = [0u8; 1024];
    let mut len = 0usize;
    let status = unsafe {
        sys::napi_get_value_string_utf8(env, raw, buf.as_mut_ptr().cast(), buf.len(), &mut len)
    };
    if status != sys::Status::napi_ok {
        return None;
    }
    // Node writes whole characters only: a string cut short left fewer than 4
    // bytes (one character) unused of the `buf.len() - 1` usable.
    if len + 4 < buf.len() {
        // Node-API strings are valid UTF-8 (lone surrogates are replaced).
        return String::from_utf8(buf[..len].to_vec()).ok();
    }
    unsafe { String::from_napi_value(env, raw) }.ok()
}

/// An integer argument (a JS number with an integral value).
pub(crate) fn integer(value: &Unknown, name: &str) -> Result<i64> {
    let mut number = 0f64;
    let status = unsafe { sys::napi_get_value_double(value.value().env, value.raw(), &mut number) };
    if status != sys::Status::napi_ok {
        return Err(wrong_type(name, "an integer", value));
    }
    if number.fract() != 0.0 || number.abs() > MAX_SAFE_INTEGER || number.is_nan() {
        return Err(CoreError::invalid_argument(format!(
            "{name} must be an integer, not {number}"
        )));
    }
    Ok(number as i64)
}

/// An optional integer: `undefined` and `null` are "not given".
pub(crate) fn optional_integer(value: Option<&Unknown>, name: &str) -> Result<Option<i64>> {
    match value {
        None => Ok(None),
        Some(v) if is_nullish(v) => Ok(None),
        Some(v) => integer(v, name).map(Some),
    }
}

fn is_nullish(value: &Unknown) -> bool {
    matches!(
        value.get_type(),
        Ok(ValueType::Undefined) | Ok(ValueType::Null)
    )
}

/// An array of strings.
pub(crate) fn strings(value: &Unknown, name: &str) -> Result<Vec<String>> {
    let env = value.value().env;
    let raw = value.raw();
    let mut is_array = false;
    unsafe { sys::napi_is_array(env, raw, &mut is_array) };
    if !is_array {
        return Err(wrong_type(name, "an array of strings", value));
    }
    let mut len = 0u32;
    unsafe { sys::napi_get_array_length(env, raw, &mut len) };
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let mut element = ptr::null_mut();
        unsafe { sys::napi_get_element(env, raw, i, &mut element) };
        match read_string(env, element) {
            Some(s) => out.push(s),
            None => {
                let element = unsafe { Unknown::from_raw_unchecked(env, element) };
                return Err(wrong_type(&format!("{name}[{i}]"), "a string", &element));
            }
        }
    }
    Ok(out)
}

/// The routing policy of `computeLinkedPod`: `{maxAgeMs?, maxState?}` (snake_case
/// keys are accepted too); unknown keys are refused.
pub(crate) fn policy(env: &Env, value: Option<&Unknown>) -> Result<RoutingPolicy> {
    let value = match value {
        None => return Ok(RoutingPolicy::default()),
        Some(v) if is_nullish(v) => return Ok(RoutingPolicy::default()),
        Some(v) => v,
    };
    if value.get_type().ok() != Some(ValueType::Object) {
        return Err(wrong_type("policy", "an object", value));
    }
    let json: serde_json::Value = env
        .from_js_value(unsafe { Unknown::from_raw_unchecked(env.raw(), value.raw()) })
        .map_err(|e| CoreError::invalid_argument(format!("policy: {}", e.reason)))?;
    serde_json::from_value(snake_case_keys(json))
        .map_err(|e| CoreError::invalid_argument(format!("policy: {e}")))
}
