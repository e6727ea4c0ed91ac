//! The `Executor` class: every operation of SPEC section 3, in camelCase, returning
//! Promises. Each method converts its arguments on the JS thread (a wrong type gives
//! a rejected promise with `INVALID_ARGUMENT`, nothing sent), runs the core's call
//! on the core's runtime and converts the result; nothing blocks the event loop.
//!
//! Results: `null` for "no pod"/"no state", plain objects for maps (keys are pod ids
//! or service names), arrays of uids in input order.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue, Unknown};
use napi::Env;
use napi_derive::napi;
use stateful_redis::{Error as CoreError, Executor as CoreExecutor, Operation};

use crate::args::{integer, optional_integer, policy, string, strings};
use crate::event_loop::LoopSlot;
use crate::options;
use crate::promise::Completer;

/// A pod's load record.
#[napi(object)]
pub struct PodLoad {
    pub load: i64,
    /// A bigger state is a worse state.
    pub state: i64,
    /// Server time of the update, epoch milliseconds.
    pub updated_ms: i64,
}

/// Result of `trySetLinkedPod`.
#[napi(object)]
pub struct TrySetResult {
    /// Whether the link was set.
    pub ok: bool,
    /// The pod the uid is linked to after the call.
    pub pod: i64,
}

/// Routing policy of `computeLinkedPod`.
#[napi(object, object_to_js = false)]
pub struct RoutingPolicy {
    /// A load record older than this (server clock) is ignored. Default 60000.
    pub max_age_ms: Option<i64>,
    /// Pods whose state is above this are not chosen. Default: no limit.
    pub max_state: Option<i64>,
}

/// Pod ids as object keys.
fn by_pod<V>(map: BTreeMap<i64, V>) -> BTreeMap<String, V> {
    map.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A connection to Redis and the operations on it. Create one with
/// `Executor.connect(options)`, share it, `close()` it when done.
#[napi]
pub struct Executor {
    pub(crate) inner: Option<CoreExecutor>,
    pub(crate) completer: Arc<Completer>,
    /// With the option `eventLoopConnection`: the calls' driver on the JS
    /// thread (`event_loop.rs`), started at the first call.
    pub(crate) event_loop: LoopSlot,
}

impl Executor {
    /// Converts arguments (`convert`, on the JS thread), then runs `call` on the
    /// core's runtime. Any failure before the call rejects the promise.
    fn call<'env, A, T, R, F, Fut>(
        &self,
        env: &'env Env,
        op: Operation,
        convert: A,
        call: F,
    ) -> napi::Result<PromiseRaw<'env, T>>
    where
        A: FnOnce() -> Result<R, CoreError>,
        F: FnOnce(CoreExecutor, R) -> Fut,
        Fut: Future<Output = Result<T, CoreError>> + Send + 'static,
        T: ToNapiValue + Send + 'static,
    {
        let Some(exec) = &self.inner else {
            return Completer::rejected(env, &CoreError::closed().with_operation(op.name()));
        };
        let args = match convert() {
            Ok(args) => args,
            Err(e) => return Completer::rejected(env, &e.with_operation(op.name())),
        };
        match self.event_loop.get(env, exec, &self.completer)? {
            Some(driver) => driver.spawn(env, call(driver.executor().clone(), args)),
            None => self.completer.spawn(env, call(exec.clone(), args)),
        }
    }
}

#[napi]
impl Executor {
    /// Connects (bounded by `connectTimeoutMs`) and loads the scripts.
    #[napi(ts_return_type = "Promise<Executor>")]
    pub fn connect<'env>(
        env: &'env Env,
        #[napi(ts_arg_type = "ExecutorOptions | undefined | null")] options: Option<Unknown>,
    ) -> napi::Result<PromiseRaw<'env, Executor>> {
        let completer = Completer::new(env)?;
        let config = match options::config(env, options.as_ref()) {
            Ok(config) => config,
            Err(e) => return Completer::rejected(env, &e),
        };
        let for_executor = completer.clone();
        completer.spawn(env, async move {
            let inner = CoreExecutor::connect(config).await?;
            Ok(Executor {
                inner: Some(inner),
                completer: for_executor,
                event_loop: LoopSlot::default(),
            })
        })
    }

    /// Refuses every later call with `CLOSED`. Calls already made finish; the
    /// connections close when the last of them has.
    #[napi]
    pub fn close(&mut self) {
        // Dropping the handle is the whole of it: every call made before holds its
        // own clone of the core's executor. (The core's `close()` would also refuse
        // calls made before but not yet started on the runtime.)
        self.inner = None;
        self.event_loop.close();
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_none()
    }

    // ----- pod and workload state ------------------------------------------------

    /// Sets the state of one pod of a service.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_service_state<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "number")] pod: Unknown,
        #[napi(ts_arg_type = "string")] state: Unknown,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        self.call(
            env,
            Operation::SetServiceState,
            || {
                Ok((
                    string(&ns, "ns")?,
                    string(&svc, "svc")?,
                    integer(&pod, "pod")?,
                    string(&state, "state")?,
                ))
            },
            |exec, (ns, svc, pod, state)| async move {
                exec.set_service_state(&ns, &svc, pod, &state).await
            },
        )
    }

    /// The state of every pod of a service: `{pod: state}`.
    #[napi(ts_return_type = "Promise<Record<string, string>>")]
    pub fn get_service_state<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
    ) -> napi::Result<PromiseRaw<'env, BTreeMap<String, String>>> {
        self.call(
            env,
            Operation::GetServiceState,
            || Ok((string(&ns, "ns")?, string(&svc, "svc")?)),
            |exec, (ns, svc)| async move { exec.get_service_state(&ns, &svc).await.map(by_pod) },
        )
    }

    /// Sets the state of a service's workload.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_workload_state<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "string")] state: Unknown,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        self.call(
            env,
            Operation::SetWorkloadState,
            || {
                Ok((
                    string(&ns, "ns")?,
                    string(&svc, "svc")?,
                    string(&state, "state")?,
                ))
            },
            |exec, (ns, svc, state)| async move {
                exec.set_workload_state(&ns, &svc, &state).await
            },
        )
    }

    /// The workload state of a service, or `null`.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn get_workload_state<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
    ) -> napi::Result<PromiseRaw<'env, Option<String>>> {
        self.call(
            env,
            Operation::GetWorkloadState,
            || Ok((string(&ns, "ns")?, string(&svc, "svc")?)),
            |exec, (ns, svc)| async move { exec.get_workload_state(&ns, &svc).await },
        )
    }

    /// Workload states of several services: `{svc: state}`, absent ones omitted.
    #[napi(ts_return_type = "Promise<Record<string, string>>")]
    pub fn get_workload_states<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string[]")] svcs: Unknown,
    ) -> napi::Result<PromiseRaw<'env, BTreeMap<String, String>>> {
        self.call(
            env,
            Operation::GetWorkloadStates,
            || Ok((string(&ns, "ns")?, strings(&svcs, "svcs")?)),
            |exec, (ns, svcs)| async move { exec.get_workload_states(&ns, &svcs).await },
        )
    }

    /// Writes a pod's load record stamped with the server's clock; resolves to the
    /// stamp (epoch milliseconds).
    #[napi(ts_return_type = "Promise<number>")]
    pub fn set_pod_load<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "number")] pod: Unknown,
        #[napi(ts_arg_type = "number")] load: Unknown,
        #[napi(ts_arg_type = "number")] state: Unknown,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        self.call(
            env,
            Operation::SetPodLoad,
            || {
                Ok((
                    string(&ns, "ns")?,
                    string(&svc, "svc")?,
                    integer(&pod, "pod")?,
                    integer(&load, "load")?,
                    integer(&state, "state")?,
                ))
            },
            |exec, (ns, svc, pod, load, state)| async move {
                exec.set_pod_load(&ns, &svc, pod, load, state).await
            },
        )
    }

    /// Load records of a service's pods: `{pod: {load, state, updatedMs}}`, only
    /// those updated at or after `freshSinceMs` (epoch ms) when given.
    #[napi(ts_return_type = "Promise<Record<string, PodLoad>>")]
    pub fn get_pod_loads<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "number | null")] fresh_since_ms: Option<Unknown>,
    ) -> napi::Result<PromiseRaw<'env, BTreeMap<String, PodLoad>>> {
        self.call(
            env,
            Operation::GetPodLoads,
            || {
                Ok((
                    string(&ns, "ns")?,
                    string(&svc, "svc")?,
                    optional_integer(fresh_since_ms.as_ref(), "freshSinceMs")?,
                ))
            },
            |exec, (ns, svc, since)| async move {
                let loads = exec.get_pod_loads(&ns, &svc, since).await?;
                Ok(loads
                    .into_iter()
                    .map(|(pod, l)| {
                        (
                            pod.to_string(),
                            PodLoad {
                                load: l.load,
                                state: l.state,
                                updated_ms: l.updated_ms,
                            },
                        )
                    })
                    .collect())
            },
        )
    }

    // ----- links -----------------------------------------------------------------

    /// Links `uid` to `pod` of `svc` (`persist`: -1 persistent, > 0 TTL seconds);
    /// resolves to the previous pod or `null`.
    #[napi(ts_return_type = "Promise<number | null>")]
    pub fn set_linked_pod<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] uid: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "number")] pod: Unknown,
        #[napi(ts_arg_type = "number")] persist: Unknown,
    ) -> napi::Result<PromiseRaw<'env, Option<i64>>> {
        self.call(
            env,
            Operation::SetLinkedPod,
            || link_args(&ns, &uid, &svc, &pod, &persist, "persist"),
            |exec, (ns, uid, svc, pod, persist)| async move {
                exec.set_linked_pod(&ns, &uid, &svc, pod, persist).await
            },
        )
    }

    /// Links `uid` to `pod` unless a persistent link points to another pod:
    /// `{ok, pod}` with the pod linked after the call.
    #[napi(ts_return_type = "Promise<TrySetResult>")]
    pub fn try_set_linked_pod<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] uid: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "number")] pod: Unknown,
        #[napi(ts_arg_type = "number")] persist: Unknown,
    ) -> napi::Result<PromiseRaw<'env, TrySetResult>> {
        self.call(
            env,
            Operation::TrySetLinkedPod,
            || link_args(&ns, &uid, &svc, &pod, &persist, "persist"),
            |exec, (ns, uid, svc, pod, persist)| async move {
                let out = exec
                    .try_set_linked_pod(&ns, &uid, &svc, pod, persist)
                    .await?;
                Ok(TrySetResult {
                    ok: out.ok,
                    pod: out.pod,
                })
            },
        )
    }

    /// Links `uid` to `pod` only if it has no link; resolves to the pod actually
    /// linked.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn set_linked_pod_if_absent<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] uid: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "number")] pod: Unknown,
        #[napi(ts_arg_type = "number")] persist: Unknown,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        self.call(
            env,
            Operation::SetLinkedPodIfAbsent,
            || link_args(&ns, &uid, &svc, &pod, &persist, "persist"),
            |exec, (ns, uid, svc, pod, persist)| async move {
                exec.set_linked_pod_if_absent(&ns, &uid, &svc, pod, persist)
                    .await
            },
        )
    }

    /// The pod `uid` is linked to for `svc`, or `null`.
    #[napi(ts_return_type = "Promise<number | null>")]
    pub fn get_linked_pod<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] uid: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
    ) -> napi::Result<PromiseRaw<'env, Option<i64>>> {
        self.call(
            env,
            Operation::GetLinkedPod,
            || uid_args(&ns, &uid, &svc),
            |exec, (ns, uid, svc)| async move { exec.get_linked_pod(&ns, &uid, &svc).await },
        )
    }

    /// The pod `uid` is linked to for `svc` if the link is persistent, else `null`.
    #[napi(ts_return_type = "Promise<number | null>")]
    pub fn get_linked_pod_if_persist<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] uid: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
    ) -> napi::Result<PromiseRaw<'env, Option<i64>>> {
        self.call(
            env,
            Operation::GetLinkedPodIfPersist,
            || uid_args(&ns, &uid, &svc),
            |exec, (ns, uid, svc)| async move {
                exec.get_linked_pod_if_persist(&ns, &uid, &svc).await
            },
        )
    }

    /// Links of many uids for one service: `{pod: [uid, ...]}`, uids in input
    /// order, uids without a link left out.
    #[napi(ts_return_type = "Promise<Record<string, string[]>>")]
    pub fn batch_get_linked_pod<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string[]")] uids: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
    ) -> napi::Result<PromiseRaw<'env, BTreeMap<String, Vec<String>>>> {
        self.call(
            env,
            Operation::BatchGetLinkedPod,
            || {
                Ok((
                    string(&ns, "ns")?,
                    strings(&uids, "uids")?,
                    string(&svc, "svc")?,
                ))
            },
            |exec, (ns, uids, svc)| async move {
                exec.batch_get_linked_pod(&ns, &uids, &svc)
                    .await
                    .map(by_pod)
            },
        )
    }

    /// Removes the link (`keep`: -1 now, > 0 readable as a temporary link for that
    /// many seconds); resolves to whether a link existed.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn remove_linked_pod<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] uid: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "number")] keep: Unknown,
    ) -> napi::Result<PromiseRaw<'env, bool>> {
        self.call(
            env,
            Operation::RemoveLinkedPod,
            || {
                let (ns, uid, svc) = uid_args(&ns, &uid, &svc)?;
                Ok((ns, uid, svc, integer(&keep, "keep")?))
            },
            |exec, (ns, uid, svc, keep)| async move {
                exec.remove_linked_pod(&ns, &uid, &svc, keep).await
            },
        )
    }

    /// As `removeLinkedPod`, only when the link points to `pod`; resolves to whether
    /// it was removed.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn remove_linked_pod_with_id<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] uid: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "number")] keep: Unknown,
        #[napi(ts_arg_type = "number")] pod: Unknown,
    ) -> napi::Result<PromiseRaw<'env, bool>> {
        self.call(
            env,
            Operation::RemoveLinkedPodWithId,
            || {
                let (ns, uid, svc) = uid_args(&ns, &uid, &svc)?;
                Ok((ns, uid, svc, integer(&keep, "keep")?, integer(&pod, "pod")?))
            },
            |exec, (ns, uid, svc, keep, pod)| async move {
                exec.remove_linked_pod_with_id(&ns, &uid, &svc, keep, pod)
                    .await
            },
        )
    }

    /// The persistent links of `uid`: `{svc: pod}`.
    #[napi(ts_return_type = "Promise<Record<string, number>>")]
    pub fn get_link_service<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] uid: Unknown,
    ) -> napi::Result<PromiseRaw<'env, BTreeMap<String, i64>>> {
        self.call(
            env,
            Operation::GetLinkService,
            || Ok((string(&ns, "ns")?, string(&uid, "uid")?)),
            |exec, (ns, uid)| async move { exec.get_link_service(&ns, &uid).await },
        )
    }

    /// The uid's link for `svc`, or a link to the least-loaded eligible pod (made
    /// only if the uid still has none); `null` when there is no link and no
    /// eligible pod (nothing written).
    #[napi(ts_return_type = "Promise<number | null>")]
    pub fn compute_linked_pod<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] ns: Unknown,
        #[napi(ts_arg_type = "string")] uid: Unknown,
        #[napi(ts_arg_type = "string")] svc: Unknown,
        #[napi(ts_arg_type = "number")] persist: Unknown,
        #[napi(ts_arg_type = "RoutingPolicy | null")] policy: Option<Unknown>,
    ) -> napi::Result<PromiseRaw<'env, Option<i64>>> {
        self.call(
            env,
            Operation::ComputeLinkedPod,
            || {
                let (ns, uid, svc) = uid_args(&ns, &uid, &svc)?;
                let persist = integer(&persist, "persist")?;
                Ok((ns, uid, svc, persist, self::policy(env, policy.as_ref())?))
            },
            |exec, (ns, uid, svc, persist, policy)| async move {
                exec.compute_linked_pod(&ns, &uid, &svc, persist, policy)
                    .await
            },
        )
    }
}

type UidArgs = (String, String, String);

fn uid_args(ns: &Unknown, uid: &Unknown, svc: &Unknown) -> Result<UidArgs, CoreError> {
    Ok((string(ns, "ns")?, string(uid, "uid")?, string(svc, "svc")?))
}

type LinkArgs = (String, String, String, i64, i64);

fn link_args(
    ns: &Unknown,
    uid: &Unknown,
    svc: &Unknown,
    pod: &Unknown,
    persist: &Unknown,
    persist_name: &str,
) -> Result<LinkArgs, CoreError> {
    let (ns, uid, svc) = uid_args(ns, uid, svc)?;
    Ok((
        ns,
        uid,
        svc,
        integer(pod, "pod")?,
        integer(persist, persist_name)?,
    ))
}
