//! `stateful_redis.Executor`: the synchronous executor.
//!
//! Each method converts its arguments ([`crate::convert`]), releases the GIL and
//! runs the core call on the shared runtime through [`BlockingExecutor`]; other
//! Python threads run meanwhile, so one executor serves many threads. Results come
//! back as plain Python values.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use stateful_redis::BlockingExecutor;

use crate::convert::{pod_loads, try_set, Int, PodLoads, Policy, Str, Strs};
use crate::error::ResultExt;
use crate::monitor::{self, Bool, Float, Json, Seconds, Subscriptions};
use crate::options::config_from_kwargs;

/// A synchronous executor of every stateful-redis operation, safe to share
/// between threads (the GIL is released during every Redis round trip).
///
/// ``Executor(**options)`` connects at once; options are the core's (``url``,
/// ``username``, ``password``, ``database``, ``connect_timeout_ms``,
/// ``command_timeout_ms``, ``connections``, ``max_in_flight``, ``retry``,
/// ``key_schema``, ``monitor``, ``tcp_nodelay``, ``cluster_nodes``, ``tls_ca_file``,
/// ``tls_client_cert_file``, ``tls_client_key_file``); an unknown one raises
/// ``ConfigError``. Use it as a context manager to close it.
#[pyclass(frozen, name = "Executor", module = "stateful_redis._native")]
pub struct PyExecutor {
    pub(crate) inner: BlockingExecutor,
    subscriptions: Subscriptions,
}

#[pymethods]
impl PyExecutor {
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

    /// Sets the state of one pod of a service.
    fn set_service_state(
        &self,
        py: Python<'_>,
        ns: Str,
        svc: Str,
        pod: Int,
        state: Str,
    ) -> PyResult<()> {
        py.detach(|| {
            self.inner
                .call(|e| e.set_service_state(&ns.0, &svc.0, pod.0, &state.0))
        })
        .py()
    }

    /// The state of every pod of a service: ``{pod: state}``.
    fn get_service_state(
        &self,
        py: Python<'_>,
        ns: Str,
        svc: Str,
    ) -> PyResult<std::collections::BTreeMap<i64, String>> {
        py.detach(|| self.inner.call(|e| e.get_service_state(&ns.0, &svc.0)))
            .py()
    }

    /// Sets the state of a service's workload as a whole.
    fn set_workload_state(&self, py: Python<'_>, ns: Str, svc: Str, state: Str) -> PyResult<()> {
        py.detach(|| {
            self.inner
                .call(|e| e.set_workload_state(&ns.0, &svc.0, &state.0))
        })
        .py()
    }

    /// The workload state of a service, or ``None``.
    fn get_workload_state(&self, py: Python<'_>, ns: Str, svc: Str) -> PyResult<Option<String>> {
        py.detach(|| self.inner.call(|e| e.get_workload_state(&ns.0, &svc.0)))
            .py()
    }

    /// Workload states of several services: ``{svc: state}`` (absent ones omitted).
    fn get_workload_states(
        &self,
        py: Python<'_>,
        ns: Str,
        svcs: Strs,
    ) -> PyResult<std::collections::BTreeMap<String, String>> {
        py.detach(|| self.inner.call(|e| e.get_workload_states(&ns.0, &svcs.0)))
            .py()
    }

    /// Writes a pod's load record stamped with the Redis server's clock; returns
    /// the stamp (epoch milliseconds).
    fn set_pod_load(
        &self,
        py: Python<'_>,
        ns: Str,
        svc: Str,
        pod: Int,
        load: Int,
        state: Int,
    ) -> PyResult<i64> {
        py.detach(|| {
            self.inner
                .call(|e| e.set_pod_load(&ns.0, &svc.0, pod.0, load.0, state.0))
        })
        .py()
    }

    /// Load records of a service's pods: ``{pod: {"load", "state", "updated_ms"}}``,
    /// only those updated at or after ``fresh_since_ms`` when given.
    #[pyo3(signature = (ns, svc, fresh_since_ms=None))]
    fn get_pod_loads(
        &self,
        py: Python<'_>,
        ns: Str,
        svc: Str,
        fresh_since_ms: Option<Int>,
    ) -> PyResult<PodLoads> {
        py.detach(|| {
            self.inner
                .call(|e| e.get_pod_loads(&ns.0, &svc.0, fresh_since_ms.map(|i| i.0)))
                .map(pod_loads)
        })
        .py()
    }

    /// Links ``uid`` to ``pod`` of ``svc`` (``persist``: -1 persistent, > 0 TTL in
    /// seconds); returns the previous pod or ``None``.
    fn set_linked_pod(
        &self,
        py: Python<'_>,
        ns: Str,
        uid: Str,
        svc: Str,
        pod: Int,
        persist: Int,
    ) -> PyResult<Option<i64>> {
        py.detach(|| {
            self.inner
                .call(|e| e.set_linked_pod(&ns.0, &uid.0, &svc.0, pod.0, persist.0))
        })
        .py()
    }

    /// Links ``uid`` to ``pod`` unless a persistent link points to another pod;
    /// returns ``(ok, current_pod)``.
    fn try_set_linked_pod(
        &self,
        py: Python<'_>,
        ns: Str,
        uid: Str,
        svc: Str,
        pod: Int,
        persist: Int,
    ) -> PyResult<(bool, i64)> {
        py.detach(|| {
            self.inner
                .call(|e| e.try_set_linked_pod(&ns.0, &uid.0, &svc.0, pod.0, persist.0))
                .map(try_set)
        })
        .py()
    }

    /// Links ``uid`` to ``pod`` only if it has no link (a temporary link gets its
    /// TTL refreshed when ``persist`` > 0); returns the pod actually linked.
    fn set_linked_pod_if_absent(
        &self,
        py: Python<'_>,
        ns: Str,
        uid: Str,
        svc: Str,
        pod: Int,
        persist: Int,
    ) -> PyResult<i64> {
        py.detach(|| {
            self.inner
                .call(|e| e.set_linked_pod_if_absent(&ns.0, &uid.0, &svc.0, pod.0, persist.0))
        })
        .py()
    }

    /// The pod ``uid`` is linked to for ``svc`` (persistent or temporary), or ``None``.
    fn get_linked_pod(&self, py: Python<'_>, ns: Str, uid: Str, svc: Str) -> PyResult<Option<i64>> {
        py.detach(|| self.inner.call(|e| e.get_linked_pod(&ns.0, &uid.0, &svc.0)))
            .py()
    }

    /// The pod ``uid`` is linked to for ``svc`` only if the link is persistent.
    fn get_linked_pod_if_persist(
        &self,
        py: Python<'_>,
        ns: Str,
        uid: Str,
        svc: Str,
    ) -> PyResult<Option<i64>> {
        py.detach(|| {
            self.inner
                .call(|e| e.get_linked_pod_if_persist(&ns.0, &uid.0, &svc.0))
        })
        .py()
    }

    /// Links of many uids for one service: ``{pod: [uid, ...]}`` (input order kept,
    /// uids without a link left out).
    fn batch_get_linked_pod(
        &self,
        py: Python<'_>,
        ns: Str,
        uids: Strs,
        svc: Str,
    ) -> PyResult<std::collections::BTreeMap<i64, Vec<String>>> {
        py.detach(|| {
            self.inner
                .call(|e| e.batch_get_linked_pod(&ns.0, &uids.0, &svc.0))
        })
        .py()
    }

    /// Removes the link (``keep``: -1 now, > 0 readable as a temporary link for that
    /// many seconds); returns whether a link existed.
    fn remove_linked_pod(
        &self,
        py: Python<'_>,
        ns: Str,
        uid: Str,
        svc: Str,
        keep: Int,
    ) -> PyResult<bool> {
        py.detach(|| {
            self.inner
                .call(|e| e.remove_linked_pod(&ns.0, &uid.0, &svc.0, keep.0))
        })
        .py()
    }

    /// As ``remove_linked_pod``, only when the link points to ``pod``; returns
    /// whether it was removed.
    fn remove_linked_pod_with_id(
        &self,
        py: Python<'_>,
        ns: Str,
        uid: Str,
        svc: Str,
        keep: Int,
        pod: Int,
    ) -> PyResult<bool> {
        py.detach(|| {
            self.inner
                .call(|e| e.remove_linked_pod_with_id(&ns.0, &uid.0, &svc.0, keep.0, pod.0))
        })
        .py()
    }

    /// The persistent links of ``uid``: ``{svc: pod}``.
    fn get_link_service(
        &self,
        py: Python<'_>,
        ns: Str,
        uid: Str,
    ) -> PyResult<std::collections::BTreeMap<String, i64>> {
        py.detach(|| self.inner.call(|e| e.get_link_service(&ns.0, &uid.0)))
            .py()
    }

    /// Returns the uid's link for ``svc``, or links it to the least-loaded eligible
    /// pod (fresh within ``policy["max_age_ms"]``, state <= ``policy["max_state"]``)
    /// and returns the pod actually linked; ``None`` when no pod is eligible.
    #[pyo3(signature = (ns, uid, svc, persist, policy=None))]
    fn compute_linked_pod(
        &self,
        py: Python<'_>,
        ns: Str,
        uid: Str,
        svc: Str,
        persist: Int,
        policy: Option<Policy>,
    ) -> PyResult<Option<i64>> {
        let policy = policy.map(|p| p.0).unwrap_or_default();
        py.detach(|| {
            self.inner
                .call(|e| e.compute_linked_pod(&ns.0, &uid.0, &svc.0, persist.0, policy))
        })
        .py()
    }

    // ----- performance monitor -----------------------------------------------------

    /// The monitor's snapshot as a dict; it validates against
    /// ``schemas/metrics_snapshot.schema.json`` (the same snapshot in every binding).
    fn metrics(&self, py: Python<'_>) -> Json {
        monitor::metrics(py, self.inner.executor())
    }

    /// The metrics as Prometheus text exposition.
    fn metrics_prometheus(&self, py: Python<'_>) -> String {
        monitor::metrics_prometheus(py, self.inner.executor())
    }

    /// Starts a new measurement period; returns the final snapshot of the last one.
    fn reset_metrics(&self, py: Python<'_>) -> Json {
        monitor::reset_metrics(py, self.inner.executor())
    }

    /// Records one of the application's own operations: ``duration`` in seconds
    /// (e.g. a ``time.perf_counter()`` difference) or a ``datetime.timedelta``.
    fn record_operation(&self, name: Str, duration: Seconds, success: Bool) {
        monitor::record_operation(self.inner.executor(), name, duration, success)
    }

    /// Alerts when ``metric`` (``"set_linked_pod.p99_ms"``, ``"*.error_rate"``,
    /// ``"pool.wait_ms_p99"``, ...) goes above ``threshold``; resolves 10% below.
    fn set_alert_threshold(&self, metric: Str, threshold: Float) -> PyResult<()> {
        monitor::set_alert_threshold(self.inner.executor(), metric, threshold)
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
            self.inner.executor(),
            metric,
            threshold,
            sustain_ms,
            hysteresis,
            direction,
        )
    }

    /// Removes the alert rule for ``metric``; whether there was one.
    fn remove_alert(&self, metric: Str) -> bool {
        monitor::remove_alert(self.inner.executor(), metric)
    }

    /// Calls ``callback(event)`` for every alert event (a dict: ``metric``, ``rule``,
    /// ``state`` pending/firing/resolved, ``value``, ``threshold``, ``at_ms``,
    /// ``message``), on a delivery thread of its own; returns a subscription id.
    fn subscribe_alerts(&self, callback: Bound<'_, PyAny>) -> PyResult<u64> {
        monitor::subscribe_alerts(self.inner.executor(), &self.subscriptions, callback)
    }

    /// Ends a subscription; whether it existed.
    fn unsubscribe_alerts(&self, subscription: u64) -> bool {
        monitor::unsubscribe_alerts(self.inner.executor(), &self.subscriptions, subscription)
    }

    /// Evaluates the alert rules now (done every second anyway); returns the events.
    fn evaluate_alerts(&self, py: Python<'_>) -> Json {
        monitor::evaluate_alerts(py, self.inner.executor())
    }

    /// Suggestions from the metrics and the settings: a list of dicts with ``id``,
    /// ``severity``, ``message`` and ``evidence`` (the metric values behind it).
    fn optimization_suggestions(&self, py: Python<'_>) -> Json {
        monitor::optimization_suggestions(py, self.inner.executor())
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
}
