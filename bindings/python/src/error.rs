//! Core errors → Python exceptions.
//!
//! The exception classes are defined in Python (`stateful_redis/errors.py`), where
//! multiple inheritance is plain (`InvalidArgumentError` is also a `ValueError` and a
//! `TypeError`); this file only maps a core [`Error`] onto the class of its code, in
//! one place, through [`IntoPyErr`]. The cause chain of the core error survives as
//! `__cause__`.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple};
use stateful_redis::error::scrub;
use stateful_redis::{Error, ErrorCode};

/// The exception classes, indexed by [`ErrorCode::index`], plus the root last.
static CLASSES: PyOnceLock<Py<PyTuple>> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Bound<'_, PyTuple>> {
    CLASSES
        .get_or_try_init(py, || {
            let module = py.import("stateful_redis.errors")?;
            let by_code = module.getattr("_CLASSES_BY_CODE")?;
            let list = PyList::empty(py);
            for code in ErrorCode::ALL {
                list.append(by_code.get_item(code.as_str())?)?;
            }
            Ok::<_, PyErr>(list.to_tuple().unbind())
        })
        .map(|t| t.bind(py))
}

/// Converts a core error into the Python exception of its code.
pub trait IntoPyErr {
    fn into_py_err(self) -> PyErr;
}

impl IntoPyErr for Error {
    fn into_py_err(self) -> PyErr {
        Python::attach(|py| match make(py, &self) {
            Ok(err) => err,
            // The class table could not be read (interpreter shutting down, a broken
            // install): never lose the error itself.
            Err(_) => PyException::new_err(self.to_string()),
        })
    }
}

fn make(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let class = classes(py)?.get_item(err.code().index())?;
    let value = class.call1((
        err.message(),
        err.code().as_str(),
        err.operation(),
        err.retryable(),
    ))?;
    let py_err = PyErr::from_value(value);
    if let Some(source) = std::error::Error::source(err) {
        py_err.set_cause(py, Some(cause_chain(source)));
    }
    Ok(py_err)
}

/// The chain of causes of a core error, as plain Python exceptions. A cause's
/// text is a dependency's, not ours: it goes through the core's scrub.
fn cause_chain(source: &(dyn std::error::Error + 'static)) -> PyErr {
    let err = PyException::new_err(scrub(&source.to_string()));
    if let Some(next) = source.source() {
        Python::attach(|py| err.set_cause(py, Some(cause_chain(next))));
    }
    err
}

/// `Result` of the core → `PyResult`.
pub trait ResultExt<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> ResultExt<T> for stateful_redis::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(IntoPyErr::into_py_err)
    }
}

/// An `INVALID_ARGUMENT` error raised by the binding's own type checks.
pub fn invalid_argument(message: impl Into<String>) -> PyErr {
    Error::invalid_argument(message.into()).into_py_err()
}

/// A `CONFIG` error raised by the binding's option conversion.
pub fn config_error(message: impl Into<String>) -> PyErr {
    Error::config(message.into()).into_py_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core code maps to its own exception class, with the attributes set
    /// (codes that no Python test can provoke, such as CLUSTER or INTERNAL, too).
    #[test]
    fn every_code_maps_to_its_class() {
        Python::initialize();
        Python::attach(|py| {
            // Load errors.py alone (the package's __init__ needs the built module).
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/python/stateful_redis/errors.py"
            );
            let util = py.import("importlib.util").unwrap();
            let spec = util
                .call_method1("spec_from_file_location", ("stateful_redis.errors", path))
                .unwrap();
            let module = util.call_method1("module_from_spec", (&spec,)).unwrap();
            let modules = py.import("sys").unwrap().getattr("modules").unwrap();
            let package = pyo3::types::PyModule::new(py, "stateful_redis").unwrap();
            package.setattr("__path__", Vec::<String>::new()).unwrap();
            modules.set_item("stateful_redis", package).unwrap();
            modules.set_item("stateful_redis.errors", &module).unwrap();
            spec.getattr("loader")
                .unwrap()
                .call_method1("exec_module", (&module,))
                .unwrap();
            for code in ErrorCode::ALL {
                if let Err(e) = py.import("stateful_redis.errors") {
                    panic!("{e}");
                }
                let err = Error::new(code, "boom")
                    .with_operation("get_linked_pod")
                    .into_py_err();
                let value = err.value(py);
                let class = value.get_type().name().unwrap().to_string();
                assert!(class.ends_with("Error"), "{class}");
                let got: String = value.getattr("code").unwrap().extract().unwrap();
                assert_eq!(got, code.as_str());
                let op: String = value.getattr("operation").unwrap().extract().unwrap();
                assert_eq!(op, "get_linked_pod");
                let retryable: bool = value.getattr("retryable").unwrap().extract().unwrap();
                assert_eq!(retryable, code.is_transient());
                let root = py
                    .import("stateful_redis.errors")
                    .unwrap()
                    .getattr("StatefulRedisError")
                    .unwrap();
                assert!(value.is_instance(&root).unwrap());
            }
        });
    }
}
