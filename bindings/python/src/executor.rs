//! `stateful_redis.Executor`: the synchronous executor.
//!
//! Each method converts its arguments ([`crate::convert`]), releases the GIL and
//! runs the core call on the shared runtime through [`BlockingExecutor`]; other
//! Python threads run meanwhile, so one executor serves many threads. Results come
//! back as plain Python values.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use stateful_redis::BlockingExecutor;

use crate::convert::{pod_loads, try_set, Int, PodLoads, Policy, Str, Strs};
use crate::error::ResultExt;
use crate::monitor::{self, Bool, Float, Json, Seconds, Subscriptions};
use crate::operations::none;
use crate::options::config_from_kwargs;

/// A synchronous executor of every stateful-redis operation, safe to share
/// between threads (the GIL is released during every Redis round trip).
///
/// ``Executor(**options)`` connects at once; options are the core's (``url``,
/// ``username``, ``password``, ``database``, ``connect_timeout_ms``,
/// ``command_timeout_ms``, ``connections``, ``thread_connections`` (up to that
/// many connections for round trips on the calling thread itself, one per
/// thread in a call, instead of handing each call to the runtime's thread;
/// 0, the default, is off), ``max_in_flight``, ``retry``,
/// ``key_schema``, ``monitor``, ``tcp_nodelay``, ``client_name``, ``metrics_labels``, ``cluster_nodes``, ``tls_ca_file``,
/// ``tls_client_cert_file``, ``tls_client_key_file``); an unknown one raises
/// ``ConfigError``. Use it as a context manager to close it.
#[pyclass(frozen, name = "Executor", module = "stateful_redis._native")]
pub struct PyExecutor {
    pub(crate) inner: BlockingExecutor,
    subscriptions: Subscriptions,
}

/// Generates the `#[pymethods]` of `Executor`: the class's own methods
/// (`$methods`) and one method per row of the operations table, each converting
/// its arguments with the GIL held, then releasing the GIL while the core call
/// blocks on the shared runtime.
macro_rules! executor_methods {
    ([$($methods:tt)*] $(
        doc $doc:literal
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty
            = |$e:ident| $call:expr $(=> $convert:expr)?;
    )*) => {
        #[pymethods]
        impl PyExecutor {
            $($methods)*

            $(
                #[doc = $doc]
                $(#[$attr])*
                fn $name(&self, py: Python<'_>, $($arg: $ty),*) -> PyResult<$ret> {
                    py.detach(|| self.inner.call(|$e| $call)$(.map($convert))?).py()
                }
            )*
        }
    };
}

with_python_operations!(executor_methods! {
    #[new]
    #[pyo3(signature = (**options))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = config_from_kwargs(options)?;
        let inner = py.detach(|| BlockingExecutor::connect(config)).py()?;
        Ok(PyExecutor {
            inner,
            subscriptions: Subscriptions::default(),
        })
    }

    // ----- performance monitor -----------------------------------------------------

    /// The monitor's snapshot as a dict; it validates against
    /// ``schemas/metrics_snapshot.schema.json`` (the same snapshot in every binding).
    fn metrics(&self, py: Python<'_>) -> Json {
        monitor::metrics(py, self.inner.executor().monitor())
    }

    /// The metrics as Prometheus text exposition.
    fn metrics_prometheus(&self, py: Python<'_>) -> String {
        monitor::metrics_prometheus(py, self.inner.executor().monitor())
    }

    /// The metric families of the Prometheus exposition (const labels of the
    /// option ``metrics_labels`` included) as a list of dicts ``{name, type,
    /// help, samples: [{name, labels, value}]}``: what
    /// ``stateful_redis.prometheus.StatefulRedisCollector`` hands to
    /// ``prometheus_client``.
    fn metrics_families(&self, py: Python<'_>) -> Json {
        monitor::metrics_families(py, self.inner.executor().monitor())
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
        monitor::otel_metrics(py, self.inner.executor().monitor(), histograms_as_counters)
    }

    /// Starts a new measurement period; returns the final snapshot of the last one.
    fn reset_metrics(&self, py: Python<'_>) -> Json {
        monitor::reset_metrics(py, self.inner.executor().monitor())
    }

    /// Records one of the application's own operations: ``duration`` in seconds
    /// (e.g. a ``time.perf_counter()`` difference) or a ``datetime.timedelta``.
    fn record_operation(&self, name: Str, duration: Seconds, success: Bool) {
        monitor::record_operation(self.inner.executor().monitor(), name, duration, success)
    }

    /// Alerts when ``metric`` (``"set_linked_pod.p99_ms"``, ``"*.error_rate"``,
    /// ``"pool.wait_ms_p99"``, ...) goes above ``threshold``; resolves 10% below.
    fn set_alert_threshold(&self, metric: Str, threshold: Float) -> PyResult<()> {
        monitor::set_alert_threshold(self.inner.executor().monitor(), metric, threshold)
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
            self.inner.executor().monitor(),
            metric,
            threshold,
            sustain_ms,
            hysteresis,
            direction,
        )
    }

    /// Removes the alert rule for ``metric``; whether there was one.
    fn remove_alert(&self, metric: Str) -> bool {
        monitor::remove_alert(self.inner.executor().monitor(), metric)
    }

    /// Calls ``callback(event)`` for every alert event (a dict: ``metric``, ``rule``,
    /// ``state`` pending/firing/resolved, ``value``, ``threshold``, ``at_ms``,
    /// ``message``), on a delivery thread of its own; returns a subscription id.
    fn subscribe_alerts(&self, callback: Bound<'_, PyAny>) -> PyResult<u64> {
        monitor::subscribe_alerts(self.inner.executor().monitor(), &self.subscriptions, callback)
    }

    /// Ends a subscription; whether it existed.
    fn unsubscribe_alerts(&self, subscription: u64) -> bool {
        monitor::unsubscribe_alerts(self.inner.executor().monitor(), &self.subscriptions, subscription)
    }

    /// Evaluates the alert rules now (done every second anyway); returns the events.
    fn evaluate_alerts(&self, py: Python<'_>) -> Json {
        monitor::evaluate_alerts(py, self.inner.executor().monitor())
    }

    /// Suggestions from the metrics and the settings: a list of dicts with ``id``,
    /// ``severity``, ``message`` and ``evidence`` (the metric values behind it).
    fn optimization_suggestions(&self, py: Python<'_>) -> Json {
        monitor::optimization_suggestions(py, self.inner.executor().monitor())
    }

    /// Resizes the connection pool to the measured concurrency; reports what changed.
    fn optimize_connection_pool(&self, py: Python<'_>) -> PyResult<Json> {
        py.detach(|| {
            self.inner
                .call(|e| e.optimize_connection_pool())
                .map(|c| Json::of(&c))
        })
        .py()
    }

    /// Loads every Lua script the server lacks; reports what changed.
    fn optimize_lua_scripts(&self, py: Python<'_>) -> PyResult<Json> {
        py.detach(|| {
            self.inner
                .call(|e| e.optimize_lua_scripts())
                .map(|c| Json::of(&c))
        })
        .py()
    }

    /// Refuses every later call with ``ClosedError``; calls in flight finish.
    fn close(&self) {
        self.inner.close();
    }

    /// Whether ``close()`` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.executor().is_closed()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
        self.inner.close();
        false
    }

    fn __repr__(&self) -> String {
        let e = self.inner.executor();
        format!(
            "<stateful_redis.Executor {}{}>",
            e.config().server_label(),
            if e.is_closed() { " closed" } else { "" }
        )
    }
});
