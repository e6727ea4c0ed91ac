//! `stateful_redis.AsyncExecutor`: every operation as an asyncio awaitable.
//!
//! Each method converts its arguments while it holds the GIL, then hands an owned
//! core future to [`crate::aio::spawn`], which runs it on the core's runtime and
//! completes an `asyncio.Future` on the caller's loop. Nothing blocks the loop.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use stateful_redis::{runtime, Error, ErrorCode, Executor};

use crate::aio::{ready, spawn};
use crate::convert::{pod_loads, try_set, Int, Policy, Str, Strs};
use crate::error::IntoPyErr;
use crate::monitor::{self, Bool, Float, Json, Seconds, Subscriptions};
use crate::options::config_from_kwargs;

/// An asyncio executor of every stateful-redis operation; one instance serves any
/// number of concurrent tasks (calls share pipelined connections).
///
/// Create it with ``await AsyncExecutor.connect(**options)`` (the same options as
/// ``Executor``); use it as an async context manager to close it.
#[pyclass(frozen, name = "AsyncExecutor", module = "stateful_redis._native")]
pub struct PyAsyncExecutor {
    pub(crate) executor: Executor,
    generation: u64,
    subscriptions: Subscriptions,
}

/// `()` → Python `None` (PyO3 would make an empty tuple of it).
fn none(_: ()) -> Option<bool> {
    None
}

impl PyAsyncExecutor {
    /// The core executor, refusing an executor inherited across `fork()`.
    fn core(&self) -> PyResult<Executor> {
        if runtime::generation() != self.generation {
            return Err(Error::new(
                ErrorCode::Closed,
                "this executor was created before fork(); create a new one in the child process",
            )
            .into_py_err());
        }
        Ok(self.executor.clone())
    }
}

#[pymethods]
impl PyAsyncExecutor {
    /// Connects (awaitable): ``executor = await AsyncExecutor.connect(url=...)``.
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn connect<'py>(
        py: Python<'py>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let config = config_from_kwargs(options)?;
        let generation = runtime::generation();
        spawn(py, async move {
            Executor::connect(config)
                .await
                .map(|executor| PyAsyncExecutor {
                    executor,
                    generation,
                    subscriptions: Subscriptions::default(),
                })
        })
    }

    /// Sets the state of one pod of a service.
    fn set_service_state<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        svc: Str,
        pod: Int,
        state: Str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.set_service_state(&ns.0, &svc.0, pod.0, &state.0)
                .await
                .map(none)
        })
    }

    /// The state of every pod of a service: ``{pod: state}``.
    fn get_service_state<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        svc: Str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move { e.get_service_state(&ns.0, &svc.0).await })
    }

    /// Sets the state of a service's workload as a whole.
    fn set_workload_state<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        svc: Str,
        state: Str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.set_workload_state(&ns.0, &svc.0, &state.0)
                .await
                .map(none)
        })
    }

    /// The workload state of a service, or ``None``.
    fn get_workload_state<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        svc: Str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move { e.get_workload_state(&ns.0, &svc.0).await })
    }

    /// Workload states of several services: ``{svc: state}`` (absent ones omitted).
    fn get_workload_states<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        svcs: Strs,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(
            py,
            async move { e.get_workload_states(&ns.0, &svcs.0).await },
        )
    }

    /// Writes a pod's load record stamped with the Redis server's clock; returns
    /// the stamp (epoch milliseconds).
    fn set_pod_load<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        svc: Str,
        pod: Int,
        load: Int,
        state: Int,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.set_pod_load(&ns.0, &svc.0, pod.0, load.0, state.0).await
        })
    }

    /// Load records of a service's pods: ``{pod: {"load", "state", "updated_ms"}}``.
    #[pyo3(signature = (ns, svc, fresh_since_ms=None))]
    fn get_pod_loads<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        svc: Str,
        fresh_since_ms: Option<Int>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.get_pod_loads(&ns.0, &svc.0, fresh_since_ms.map(|i| i.0))
                .await
                .map(pod_loads)
        })
    }

    /// Links ``uid`` to ``pod``; returns the previous pod or ``None``.
    fn set_linked_pod<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uid: Str,
        svc: Str,
        pod: Int,
        persist: Int,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.set_linked_pod(&ns.0, &uid.0, &svc.0, pod.0, persist.0)
                .await
        })
    }

    /// Links ``uid`` to ``pod`` unless a persistent link points to another pod;
    /// returns ``(ok, current_pod)``.
    fn try_set_linked_pod<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uid: Str,
        svc: Str,
        pod: Int,
        persist: Int,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.try_set_linked_pod(&ns.0, &uid.0, &svc.0, pod.0, persist.0)
                .await
                .map(try_set)
        })
    }

    /// Links ``uid`` to ``pod`` only if it has no link; returns the pod actually linked.
    fn set_linked_pod_if_absent<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uid: Str,
        svc: Str,
        pod: Int,
        persist: Int,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.set_linked_pod_if_absent(&ns.0, &uid.0, &svc.0, pod.0, persist.0)
                .await
        })
    }

    /// The pod ``uid`` is linked to for ``svc``, or ``None``.
    fn get_linked_pod<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uid: Str,
        svc: Str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(
            py,
            async move { e.get_linked_pod(&ns.0, &uid.0, &svc.0).await },
        )
    }

    /// The pod ``uid`` is linked to for ``svc`` only if the link is persistent.
    fn get_linked_pod_if_persist<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uid: Str,
        svc: Str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.get_linked_pod_if_persist(&ns.0, &uid.0, &svc.0).await
        })
    }

    /// Links of many uids for one service: ``{pod: [uid, ...]}``.
    fn batch_get_linked_pod<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uids: Strs,
        svc: Str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.batch_get_linked_pod(&ns.0, &uids.0, &svc.0).await
        })
    }

    /// Removes the link; returns whether a link existed.
    fn remove_linked_pod<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uid: Str,
        svc: Str,
        keep: Int,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.remove_linked_pod(&ns.0, &uid.0, &svc.0, keep.0).await
        })
    }

    /// As ``remove_linked_pod``, only when the link points to ``pod``.
    fn remove_linked_pod_with_id<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uid: Str,
        svc: Str,
        keep: Int,
        pod: Int,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.remove_linked_pod_with_id(&ns.0, &uid.0, &svc.0, keep.0, pod.0)
                .await
        })
    }

    /// The persistent links of ``uid``: ``{svc: pod}``.
    fn get_link_service<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uid: Str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        spawn(py, async move {
            e.get_link_service(&ns.0, &uid.0)
                .await
                .map(|m: BTreeMap<String, i64>| m)
        })
    }

    /// Returns the uid's link for ``svc``, or links it to the least-loaded eligible
    /// pod and returns it; ``None`` when no pod is eligible.
    #[pyo3(signature = (ns, uid, svc, persist, policy=None))]
    fn compute_linked_pod<'py>(
        &self,
        py: Python<'py>,
        ns: Str,
        uid: Str,
        svc: Str,
        persist: Int,
        policy: Option<Policy>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.core()?;
        let policy = policy.map(|p| p.0).unwrap_or_default();
        spawn(py, async move {
            e.compute_linked_pod(&ns.0, &uid.0, &svc.0, persist.0, policy)
                .await
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
}
