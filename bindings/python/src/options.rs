//! Keyword arguments → the core's [`Options`] (the one option set every front end
//! fills). The kwargs become a JSON value and serde does the rest, so names, types
//! and the refusal of unknown options (`CONFIG`) are exactly the core's.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};
use stateful_redis::{Config, Options};

use crate::error::{config_error, ResultExt};

/// Builds a checked [`Config`] from `**options`.
pub fn config_from_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Config> {
    let value = match kwargs {
        Some(dict) => to_json(dict.as_any(), "options")?,
        None => Value::Object(Map::new()),
    };
    // The core's parser: its errors name the option, never the value given.
    let mut options = Options::from_json_value(&value).py()?;
    // No event loop drives an event-loop connection here (asyncio's calls go
    // through the core's runtime): accepted, and nothing opened for it.
    options.event_loop_connection = false;
    options.build().py()
}

/// A Python value (None, bool, int, float, str, list/tuple, dict with str keys) as
/// JSON; anything else is a `CONFIG` error naming the option.
pub fn to_json(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(config_error(format!("{path} is out of range")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| config_error(format!("{path} is not a finite number")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        // Python's UnicodeEncodeError keeps the string (`.object`): drop it.
        let text = s
            .to_cow()
            .map_err(|_| config_error(format!("{path} is not valid UTF-8 text")))?;
        return Ok(Value::String(text.into_owned()));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return list
            .iter()
            .map(|item| to_json(&item, path))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple
            .iter()
            .map(|item| to_json(&item, path))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, value) in dict.iter() {
            let key = key
                .cast::<PyString>()
                .map_err(|_| config_error(format!("{path}: keys must be str")))?
                .to_cow()
                .map_err(|_| config_error(format!("{path}: a key is not valid UTF-8 text")))?
                .into_owned();
            let inner = format!("{path}.{key}");
            map.insert(key, to_json(&value, &inner)?);
        }
        return Ok(Value::Object(map));
    }
    let type_name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    Err(config_error(format!(
        "{path} has a value of type {type_name}, which is not an option value"
    )))
}

/// JSON → Python (the metrics snapshot and other serde values of the core).
pub fn from_json<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(from_json(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, from_json(py, v)?)?;
            }
            dict.into_any()
        }
    })
}
