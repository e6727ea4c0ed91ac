//! `stateful_redis.AsyncExecutor`: every operation as an asyncio awaitable.
//!
//! Each method converts its arguments while it holds the GIL, then hands an owned
//! core future to [`crate::aio::spawn`], which runs it on the core's runtime and
//! completes an `asyncio.Future` on the caller's loop. Nothing blocks the loop.
//!
//! Like `redis.asyncio.Redis`, ``AsyncExecutor(**options)`` checks its options at
//! once and connects on first use (or in ``async with``); ``AsyncExecutor.connect``
//! returns an object that is both awaitable (connected executor) and an async
//! context manager. The monitor exists from construction (the executor records
//! into it once connected), so its methods work before the first call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use stateful_redis::runtime::ForkGuard;
use stateful_redis::{Config, Error, Executor, Monitor};

use crate::aio::{ready, spawn};
use crate::convert::{pod_loads, try_set, Int, Policy, Str, Strs};
use crate::error::IntoPyErr;
use crate::monitor::{self, Bool, Float, Json, Seconds, Subscriptions};
use crate::operations::none;
use crate::options::config_from_kwargs;

/// An asyncio executor of every stateful-redis operation; one instance serves any
/// number of concurrent tasks (calls share pipelined connections).
///
/// ``AsyncExecutor(**options)`` (the same options as ``Executor``) connects on
/// first use or in ``async with``; ``await AsyncExecutor.connect(**options)``
/// connects at once, and ``async with AsyncExecutor.connect(**options) as ex``
/// works too. ``close()`` / ``await aclose()`` or ``async with`` closes it.
#[pyclass(frozen, name = "AsyncExecutor", module = "stateful_redis._native")]
pub struct PyAsyncExecutor {
    lazy: Lazy,
    fork_guard: ForkGuard,
    subscriptions: Subscriptions,
}

/// The executor of a [`PyAsyncExecutor`], connected by the first call that needs
/// it; a failed connect leaves it unconnected (the next call tries again). Every
/// call clones it: only reference counts (the configuration is copied once, by
/// the call that connects).
#[derive(Clone)]
struct Lazy {
    config: Arc<Config>,
    monitor: Arc<Monitor>,
    executor: Arc<tokio::sync::OnceCell<Executor>>,
    closed: Arc<AtomicBool>,
}

impl Lazy {
    /// The connected executor; `CLOSED` (naming `operation`) once closed.
    async fn get(self, operation: &'static str) -> stateful_redis::Result<Executor> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::closed().with_operation(operation));
        }
        let executor = self
            .executor
            .get_or_try_init(|| {
                Executor::connect_with_monitor(Config::clone(&self.config), self.monitor)
            })
            .await?
            .clone();
        // Closed while connecting: the executor refuses the call itself.
        if self.closed.load(Ordering::Acquire) {
            executor.close();
        }
        Ok(executor)
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(executor) = self.executor.get() {
            executor.close();
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl PyAsyncExecutor {
    fn new_lazy(options: Option<&Bound<'_, PyDict>>) -> PyResult<PyAsyncExecutor> {
        let config = config_from_kwargs(options)?;
        let monitor = Executor::monitor_for(&config).map_err(|e| e.into_py_err())?;
        Ok(PyAsyncExecutor {
            lazy: Lazy {
                config: Arc::new(config),
                monitor: Arc::new(monitor),
                executor: Arc::new(tokio::sync::OnceCell::new()),
                closed: Arc::new(AtomicBool::new(false)),
            },
            fork_guard: ForkGuard::new(),
            subscriptions: Subscriptions::default(),
        })
    }

    /// The executor's handle, refusing an executor inherited across `fork()`.
    fn core(&self) -> PyResult<Lazy> {
        self.fork_guard.check().map_err(|e| e.into_py_err())?;
        Ok(self.lazy.clone())
    }

    /// An `asyncio.Future` completed with `slf` once it is connected.
    fn connected<'py>(slf: Py<Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let lazy = slf.get().core()?;
        spawn(py, async move { lazy.get("connect").await.map(|_| slf) })
    }
}

/// What ``AsyncExecutor.connect(**options)`` returns: awaiting it connects and
/// gives the executor; ``async with`` connects, gives the executor and closes it.
#[pyclass(frozen, name = "_Connecting", module = "stateful_redis._native")]
pub struct PyConnecting {
    executor: Py<PyAsyncExecutor>,
}

#[pymethods]
impl PyConnecting {
    fn __await__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyAsyncExecutor::connected(self.executor.clone_ref(py), py)?
            .call_method0(pyo3::intern!(py, "__await__"))
    }

    fn __aenter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyAsyncExecutor::connected(self.executor.clone_ref(py), py)
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.executor.get().lazy.close();
        ready(py, false.into_pyobject(py)?.to_owned().into_any().unbind())
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
                    let lazy = self.core()?;
                    spawn(py, async move {
                        let $e = lazy.get(stringify!($name)).await?;
                        $call.await$(.map($convert))?
                    })
                }
            )*
        }
    };
}

with_python_operations!(async_executor_methods! {
    /// Checks the options; connects on first use or in ``async with``.
    #[new]
    #[pyo3(signature = (**options))]
    fn new(options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        PyAsyncExecutor::new_lazy(options)
    }

    /// Connects: ``executor = await AsyncExecutor.connect(url=...)``, or
    /// ``async with AsyncExecutor.connect(url=...) as executor``.
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn connect(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<PyConnecting> {
        let executor = Py::new(py, PyAsyncExecutor::new_lazy(options)?)?;
        Ok(PyConnecting { executor })
    }

    // ----- performance monitor -----------------------------------------------------

    /// The monitor's snapshot as a dict; it validates against
    /// ``schemas/metrics_snapshot.schema.json`` (the same snapshot in every binding).
    fn metrics(&self, py: Python<'_>) -> Json {
        monitor::metrics(py, &self.lazy.monitor)
    }

    /// The metrics as Prometheus text exposition.
    fn metrics_prometheus(&self, py: Python<'_>) -> String {
        monitor::metrics_prometheus(py, &self.lazy.monitor)
    }

    /// The metric families of the Prometheus exposition (const labels of the
    /// option ``metrics_labels`` included) as a list of dicts ``{name, type,
    /// help, samples: [{name, labels, value}]}``: what
    /// ``stateful_redis.prometheus.StatefulRedisCollector`` hands to
    /// ``prometheus_client``.
    fn metrics_families(&self, py: Python<'_>) -> Json {
        monitor::metrics_families(py, &self.lazy.monitor)
    }

    /// The metrics as OpenTelemetry metrics following the database client
    /// semantic conventions: ``{start_time, time, metrics: [{name, description,
    /// unit, type, boundaries?, points: [{attributes, value | count, sum,
    /// bucket_counts}]}]}`` (times as ``{seconds, nanos}`` since the Unix epoch).
    /// With ``histograms_as_counters=True`` the duration histogram comes as
    /// three counters: what ``stateful_redis.otel`` hands to the OpenTelemetry
    /// SDK's observable instruments.
    #[pyo3(signature = (histograms_as_counters=false))]
    fn otel_metrics(&self, py: Python<'_>, histograms_as_counters: bool) -> Json {
        monitor::otel_metrics(py, &self.lazy.monitor, histograms_as_counters)
    }

    /// Starts a new measurement period; returns the final snapshot of the last one.
    fn reset_metrics(&self, py: Python<'_>) -> Json {
        monitor::reset_metrics(py, &self.lazy.monitor)
    }

    /// Records one of the application's own operations: ``duration`` in seconds
    /// (e.g. a ``time.perf_counter()`` difference) or a ``datetime.timedelta``.
    fn record_operation(&self, name: Str, duration: Seconds, success: Bool) {
        monitor::record_operation(&self.lazy.monitor, name, duration, success)
    }

    /// Alerts when ``metric`` (``"set_linked_pod.p99_ms"``, ``"*.error_rate"``,
    /// ``"pool.wait_ms_p99"``, ...) goes above ``threshold``; resolves 10% below.
    fn set_alert_threshold(&self, metric: Str, threshold: Float) -> PyResult<()> {
        monitor::set_alert_threshold(&self.lazy.monitor, metric, threshold)
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
            &self.lazy.monitor,
            metric,
            threshold,
            sustain_ms,
            hysteresis,
            direction,
        )
    }

    /// Removes the alert rule for ``metric``; whether there was one.
    fn remove_alert(&self, metric: Str) -> bool {
        monitor::remove_alert(&self.lazy.monitor, metric)
    }

    /// Calls ``callback(event)`` for every alert event (a dict: ``metric``, ``rule``,
    /// ``state`` pending/firing/resolved, ``value``, ``threshold``, ``at_ms``,
    /// ``message``), on a delivery thread of its own; returns a subscription id.
    fn subscribe_alerts(&self, callback: Bound<'_, PyAny>) -> PyResult<u64> {
        monitor::subscribe_alerts(&self.lazy.monitor, &self.subscriptions, callback)
    }

    /// Ends a subscription; whether it existed.
    fn unsubscribe_alerts(&self, subscription: u64) -> bool {
        monitor::unsubscribe_alerts(&self.lazy.monitor, &self.subscriptions, subscription)
    }

    /// Evaluates the alert rules now (done every second anyway); returns the events.
    fn evaluate_alerts(&self, py: Python<'_>) -> Json {
        monitor::evaluate_alerts(py, &self.lazy.monitor)
    }

    /// Suggestions from the metrics and the settings: a list of dicts with ``id``,
    /// ``severity``, ``message`` and ``evidence`` (the metric values behind it).
    fn optimization_suggestions(&self, py: Python<'_>) -> Json {
        monitor::optimization_suggestions(py, &self.lazy.monitor)
    }

    /// Resizes the connection pool to the measured concurrency; reports what changed.
    fn optimize_connection_pool<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let lazy = self.core()?;
        spawn(py, async move {
            let e = lazy.get("optimize_connection_pool").await?;
            e.optimize_connection_pool().await.map(|c| Json::of(&c))
        })
    }

    /// Loads every Lua script the server lacks; reports what changed.
    fn optimize_lua_scripts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let lazy = self.core()?;
        spawn(py, async move {
            let e = lazy.get("optimize_lua_scripts").await?;
            e.optimize_lua_scripts().await.map(|c| Json::of(&c))
        })
    }

    /// Refuses every later call with ``ClosedError``; calls in flight finish.
    fn close(&self) {
        self.lazy.close();
    }

    /// ``close()`` as a coroutine, as ``redis.asyncio.Redis.aclose()``.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.lazy.close();
        ready(py, py.None())
    }

    /// Whether ``close()`` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.lazy.is_closed()
    }

    /// Connects (when not yet connected) and gives the executor.
    fn __aenter__<'py>(slf: Py<Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyAsyncExecutor::connected(slf, py)
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.lazy.close();
        ready(py, false.into_pyobject(py)?.to_owned().into_any().unbind())
    }

    fn __repr__(&self) -> String {
        format!(
            "<stateful_redis.AsyncExecutor {}{}>",
            self.lazy.config.server_label(),
            if self.lazy.is_closed() {
                " closed"
            } else if self.lazy.executor.get().is_none() {
                " not connected"
            } else {
                ""
            }
        )
    }
});
