//! `stateful_redis.AsyncExecutor`: every operation as an asyncio awaitable.
//!
//! Each method converts its arguments while it holds the GIL, then hands an owned
//! core future to [`crate::aio::spawn`], which runs it on the core's runtime and
//! completes an `asyncio.Future` on the caller's loop. Nothing blocks the loop.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use stateful_redis::runtime::ForkGuard;
use stateful_redis::Executor;

use crate::aio::{ready, spawn};
use crate::convert::{pod_loads, try_set, Int, Policy, Str, Strs};
use crate::error::IntoPyErr;
use crate::monitor::{self, Bool, Float, Json, Seconds, Subscriptions};
use crate::operations::none;
use crate::options::config_from_kwargs;

/// An asyncio executor of every stateful-redis operation; one instance serves any
/// number of concurrent tasks (calls share pipelined connections).
///
/// Create it with ``await AsyncExecutor.connect(**options)`` (the same options as
/// ``Executor``); use it as an async context manager to close it.
#[pyclass(frozen, name = "AsyncExecutor", module = "stateful_redis._native")]
pub struct PyAsyncExecutor {
    pub(crate) executor: Executor,
    fork_guard: ForkGuard,
    subscriptions: Subscriptions,
}

impl PyAsyncExecutor {
    /// The core executor, refusing an executor inherited across `fork()`.
    fn core(&self) -> PyResult<Executor> {
        self.fork_guard.check().map_err(|e| e.into_py_err())?;
        Ok(self.executor.clone())
    }
}

/// Generates the `#[pymethods]` of `AsyncExecutor`: the class's own methods
/// (`$methods`) and one method per row of the operations table, each converting
/// its arguments with the GIL held, then handing the owned core future to
/// [`spawn`], which completes an `asyncio.Future` of the caller's loop.
macro_rules! async_executor_methods {
    ([$($methods:tt)*] $(
        doc $doc:literal
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty
            = |$e:ident| $call:expr $(=> $convert:expr)?;
    )*) => {
        #[pymethods]
        impl PyAsyncExecutor {
            $($methods)*

            $(
                #[doc = $doc]
                $(#[$attr])*
                fn $name<'py>(&self, py: Python<'py>, $($arg: $ty),*) -> PyResult<Bound<'py, PyAny>> {
                    let $e = self.core()?;
                    spawn(py, async move { $call.await$(.map($convert))? })
                }
            )*
        }
    };
}

with_python_operations!(async_executor_methods! {
    /// Connects (awaitable): ``executor = await AsyncExecutor.connect(url=...)``.
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn connect<'py>(
        py: Python<'py>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let config = config_from_kwargs(options)?;
        let fork_guard = ForkGuard::new();
        spawn(py, async move {
            Executor::connect(config)
                .await
                .map(|executor| PyAsyncExecutor {
                    executor,
                    fork_guard,
                    subscriptions: Subscriptions::default(),
                })
        })
    }

    // ----- performance monitor -----------------------------------------------------

    /// The monitor's snapshot as a dict; it validates against
    /// ``schemas/metrics_snapshot.schema.json`` (the same snapshot in every binding).
    fn metrics(&self, py: Python<'_>) -> Json {
        monitor::metrics(py, &self.executor)
    }

    /// The metrics as Prometheus text exposition.
    fn metrics_prometheus(&self, py: Python<'_>) -> String {
        monitor::metrics_prometheus(py, &self.executor)
    }

    /// Starts a new measurement period; returns the final snapshot of the last one.
    fn reset_metrics(&self, py: Python<'_>) -> Json {
        monitor::reset_metrics(py, &self.executor)
    }

    /// Records one of the application's own operations: ``duration`` in seconds
    /// (e.g. a ``time.perf_counter()`` difference) or a ``datetime.timedelta``.
    fn record_operation(&self, name: Str, duration: Seconds, success: Bool) {
        monitor::record_operation(&self.executor, name, duration, success)
    }

    /// Alerts when ``metric`` (``"set_linked_pod.p99_ms"``, ``"*.error_rate"``,
    /// ``"pool.wait_ms_p99"``, ...) goes above ``threshold``; resolves 10% below.
    fn set_alert_threshold(&self, metric: Str, threshold: Float) -> PyResult<()> {
        monitor::set_alert_threshold(&self.executor, metric, threshold)
    }

    /// Sets the alert rule for ``metric`` with all its options: how long the value
    /// must stay past the threshold (``sustain_ms``), the relative hysteresis band
    /// (default 0.1) and the bad side (``"above"``, default, or ``"below"``).
    #[pyo3(signature = (metric, threshold, *, sustain_ms=None, hysteresis=None, direction=None))]
    fn set_alert(
        &self,
        metric: Str,
        threshold: Float,
        sustain_ms: Option<Int>,
        hysteresis: Option<Float>,
        direction: Option<Str>,
    ) -> PyResult<()> {
        monitor::set_alert(
            &self.executor,
            metric,
            threshold,
            sustain_ms,
            hysteresis,
            direction,
        )
    }

    /// Removes the alert rule for ``metric``; whether there was one.
    fn remove_alert(&self, metric: Str) -> bool {
        monitor::remove_alert(&self.executor, metric)
    }

    /// Calls ``callback(event)`` for every alert event (a dict: ``metric``, ``rule``,
    /// ``state`` pending/firing/resolved, ``value``, ``threshold``, ``at_ms``,
    /// ``message``), on a delivery thread of its own; returns a subscription id.
    fn subscribe_alerts(&self, callback: Bound<'_, PyAny>) -> PyResult<u64> {
        monitor::subscribe_alerts(&self.executor, &self.subscriptions, callback)
    }

    /// Ends a subscription; whether it existed.
    fn unsubscribe_alerts(&self, subscription: u64) -> bool {
        monitor::unsubscribe_alerts(&self.executor, &self.subscriptions, subscription)
    }

    /// Evaluates the alert rules now (done every second anyway); returns the events.
    fn evaluate_alerts(&self, py: Python<'_>) -> Json {
        monitor::evaluate_alerts(py, &self.executor)
    }

    /// Suggestions from the metrics and the settings: a list of dicts with ``id``,
    /// ``severity``, ``message`` and ``evidence`` (the metric values behind it).
    fn optimization_suggestions(&self, py: Python<'_>) -> Json {
        monitor::optimization_suggestions(py, &self.executor)
    }

    /// Resizes the connection pool to the measured concurrency; reports what changed.
    fn optimize_connection_pool<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.optimize_connection_pool().await.map(|c| Json::of(&c))
        })
    }

    /// Loads every Lua script the server lacks; reports what changed.
    fn optimize_lua_scripts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.optimize_lua_scripts().await.map(|c| Json::of(&c))
        })
    }

    /// Refuses every later call with ``ClosedError``; calls in flight finish.
    fn close(&self) {
        self.executor.close();
    }

    /// Whether ``close()`` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.executor.is_closed()
    }

    fn __aenter__<'py>(slf: Py<Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        ready(py, slf.into_any())
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.executor.close();
        ready(py, false.into_pyobject(py)?.to_owned().into_any().unbind())
    }

    fn __repr__(&self) -> String {
        format!(
            "<stateful_redis.AsyncExecutor {}{}>",
            self.executor.config().server_label(),
            if self.executor.is_closed() {
                " closed"
            } else {
                ""
            }
        )
    }
});
