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
