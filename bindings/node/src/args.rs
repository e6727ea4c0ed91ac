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
    if value.get_type().ok() != Some(ValueType::String) {
        return Err(wrong_type(name, "a string", value));
    }
    unsafe { String::from_napi_value(value.value().env, value.raw()) }
        .map_err(|e| CoreError::invalid_argument(format!("{name}: {}", e.reason)))
}

/// An integer argument (a JS number with an integral value).
pub(crate) fn integer(value: &Unknown, name: &str) -> Result<i64> {
    if value.get_type().ok() != Some(ValueType::Number) {
        return Err(wrong_type(name, "an integer", value));
    }
    let number = unsafe { f64::from_napi_value(value.value().env, value.raw()) }
        .map_err(|e| CoreError::invalid_argument(format!("{name}: {}", e.reason)))?;
    if number.fract() != 0.0 || number.abs() > MAX_SAFE_INTEGER {
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
        let element = unsafe { Unknown::from_raw_unchecked(env, element) };
        out.push(string(&element, &format!("{name}[{i}]"))?);
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
