//! Python arguments → core types, refusing wrong types with `INVALID_ARGUMENT`.
//!
//! PyO3's own extraction raises a bare `TypeError` (and accepts `True` as an int);
//! these newtypes raise the binding's `InvalidArgumentError` (also a `TypeError` and
//! a `ValueError`) so that every front end reports the same code for the same
//! mistake, as `tests/vectors/wrong_types.json` requires.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString, PyTuple};
use stateful_redis::RoutingPolicy;

use crate::error::invalid_argument;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn to_string(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    match obj.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(invalid_argument(format!(
            "{what} must be a str, not {}",
            type_name(obj)
        ))),
    }
}

fn to_i64(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(invalid_argument(format!(
            "{what} must be an int, not {}",
            type_name(obj)
        )));
    }
    obj.extract::<i64>()
        .map_err(|_| invalid_argument(format!("{what} is out of the 64-bit integer range")))
}

/// A name or state: a `str`.
pub struct Str(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for Str {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        to_string(&obj, "this argument").map(Str)
    }
}

/// An integer (pod, persist, keep, load, state, ms): an `int`, never a `bool`.
#[derive(Clone, Copy)]
pub struct Int(pub i64);

impl<'a, 'py> FromPyObject<'a, 'py> for Int {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        to_i64(&obj, "this argument").map(Int)
    }
}

/// A list of names: a `list` or `tuple` of `str` (a lone `str` is refused, not
/// taken as a sequence of characters).
pub struct Strs(pub Vec<String>);

impl<'a, 'py> FromPyObject<'a, 'py> for Strs {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let items = if let Ok(list) = obj.cast::<PyList>() {
            let mut out = Vec::with_capacity(list.len());
            for item in list.iter() {
                out.push(to_string(&item, "every item")?);
            }
            out
        } else if let Ok(tuple) = obj.cast::<PyTuple>() {
            let mut out = Vec::with_capacity(tuple.len());
            for item in tuple.iter() {
                out.push(to_string(&item, "every item")?);
            }
            out
        } else {
            return Err(invalid_argument(format!(
                "expected a list of str, not {}",
                type_name(&obj)
            )));
        };
        Ok(Strs(items))
    }
}

/// The routing policy of `compute_linked_pod`: `None` (defaults) or a dict with
/// `max_age_ms` and/or `max_state`.
pub struct Policy(pub RoutingPolicy);

impl<'a, 'py> FromPyObject<'a, 'py> for Policy {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let mut policy = RoutingPolicy::default();
        if obj.is_none() {
            return Ok(Policy(policy));
        }
        let dict = obj.cast::<PyDict>().map_err(|_| {
            invalid_argument(format!(
                "policy must be a dict with max_age_ms and max_state, not {}",
                type_name(&obj)
            ))
        })?;
        for (key, value) in dict.iter() {
            let key = to_string(&key, "a policy key")?;
            match key.as_str() {
                "max_age_ms" => policy.max_age_ms = to_i64(&value, "policy.max_age_ms")?,
                "max_state" => policy.max_state = to_i64(&value, "policy.max_state")?,
                other => {
                    return Err(invalid_argument(format!(
                        "unknown policy key {other:?}; expected max_age_ms, max_state"
                    )))
                }
            }
        }
        Ok(Policy(policy))
    }
}

/// `get_pod_loads` result: `{pod: {"load", "state", "updated_ms"}}`.
pub type PodLoads = std::collections::BTreeMap<i64, std::collections::BTreeMap<&'static str, i64>>;

pub fn pod_loads(loads: std::collections::BTreeMap<i64, stateful_redis::PodLoad>) -> PodLoads {
    loads
        .into_iter()
        .map(|(pod, l)| {
            let record = [
                ("load", l.load),
                ("state", l.state),
                ("updated_ms", l.updated_ms),
            ];
            (pod, record.into_iter().collect())
        })
        .collect()
}

/// `try_set_linked_pod` result: `(ok, pod)`.
pub fn try_set(outcome: stateful_redis::TrySetOutcome) -> (bool, i64) {
    (outcome.ok, outcome.pod)
}
