//! The executor handle and the 17 operations of SPEC section 3.
//!
//! Each function converts its arguments, makes one call of the core's
//! [`BlockingExecutor`] on the caller's thread and converts the result; the core
//! does all the work (validation, keys, scripts, retries, deadlines, metrics).

use std::ffi::c_char;

use stateful_redis::{BlockingExecutor, Error, Operation, Options};

use crate::error::{ffi_guard, ffi_guard_or, SrStatus};
use crate::ffi::{arg_ref, arg_str, arg_strs, c_string, Out};
use crate::types::{
    self, SrPodGroups, SrPodLoads, SrPodStates, SrRoutingPolicy, SrServicePods, SrServiceStates,
    SR_NO_POD,
};

/// An executor: a connection to Redis and the performance monitor, shared by
/// every thread of the process. Opaque: create it with `sr_executor_new`, free
/// it with `sr_executor_free`.
pub struct SrExecutor {
    pub(crate) blocking: BlockingExecutor,
}

/// Runs the body of an operation: conversion errors get the operation's name
/// like the core's own errors do.
fn operation(op: Operation, body: impl FnOnce() -> Result<(), Error>) -> SrStatus {
    ffi_guard(|| {
        body().map_err(|e| {
            if e.operation().is_empty() {
                e.with_operation(op.name())
            } else {
                e
            }
        })
    })
}

/// # Safety
/// `p` is NULL or a live executor.
pub(crate) unsafe fn executor<'a>(p: *const SrExecutor) -> Result<&'a BlockingExecutor, Error> {
    Ok(&arg_ref("executor", p)?.blocking)
}

fn pod_or_none(pod: Option<i64>) -> i64 {
    pod.unwrap_or(SR_NO_POD)
}

/// Creates an executor from a JSON configuration and connects it (bounded by
/// `connect_timeout_ms`); the Lua scripts are loaded on the server.
///
/// `config_json` is an object with the options of every binding (see
/// `docs/c-abi.md` and `core/src/config.rs`), e.g.
/// `{"url": "redis://127.0.0.1:6379/0", "command_timeout_ms": 500}`. An empty
/// string or `{}` means the defaults (URL from `STATEFUL_REDIS_URL`, else
/// `redis://127.0.0.1:6379`). Unknown options and malformed JSON are
/// `SR_CONFIG`; a server that cannot be reached is `SR_CONNECTION`.
///
/// # Safety
/// `config_json` is a NUL-terminated string; `out_executor` is valid for writes.
///
/// # Ownership
/// On success `*out_executor` receives a new executor owned by the caller, to be
/// freed once with `sr_executor_free`. The configuration string is only read
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn sr_executor_new(
    config_json: *const c_char,
    out_executor: *mut *mut SrExecutor,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_executor", out_executor)?;
        let json = arg_str("config_json", config_json)?;
        let mut options = Options::from_json(json)?;
        // The blocking API has no event loop: accepted, and nothing opened for it.
        options.event_loop_connection = false;
        let config = options.build()?;
        let blocking = BlockingExecutor::connect(config)?;
        out.write(Box::into_raw(Box::new(SrExecutor { blocking })));
        Ok(())
    })
}

/// Closes an executor: every later call on it fails with `SR_CLOSED`; calls in
/// flight on other threads finish. The handle must still be freed.
///
/// # Safety
/// `executor` is a live executor.
///
/// # Ownership
/// Borrows `executor`; nothing is freed.
#[no_mangle]
pub unsafe extern "C" fn sr_executor_close(executor: *const SrExecutor) -> SrStatus {
    ffi_guard(|| {
        self::executor(executor)?.close();
        Ok(())
    })
}

/// Frees an executor and its connections.
///
/// # Safety
/// `executor` is NULL or was returned by `sr_executor_new` and not freed yet.
/// No other thread may be using it or use it afterwards (close it and join
/// them first). Alert subscriptions and recorders keep what they need alive:
/// they may be freed before or after it (its connections close once the
/// executor and every subscription are freed).
///
/// # Ownership
/// Takes back ownership of `executor`. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sr_executor_free(executor: *mut SrExecutor) {
    ffi_guard_or((), || {
        if !executor.is_null() {
            drop(Box::from_raw(executor));
        }
    })
}

// ----- pod and workload state ----------------------------------------------------

/// Sets the state of one pod of a service (SPEC 3.1).
///
/// # Safety
/// `executor` is a live executor; `ns`, `svc` and `state` are NUL-terminated
/// strings.
///
/// # Ownership
/// Borrows every argument for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn sr_set_service_state(
    executor: *const SrExecutor,
    ns: *const c_char,
    svc: *const c_char,
    pod: i64,
    state: *const c_char,
) -> SrStatus {
    operation(Operation::SetServiceState, || {
        let exec = self::executor(executor)?;
        let (ns, svc) = (arg_str("ns", ns)?, arg_str("svc", svc)?);
        let state = arg_str("state", state)?;
        exec.call(|e| e.set_service_state(ns, svc, pod, state))
    })
}

/// The state of every pod of a service, by ascending pod id (SPEC 3.2); fields
/// that are not pod ids are skipped.
///
/// # Safety
/// `executor` is a live executor; `ns` and `svc` are NUL-terminated strings;
/// `out_states` is valid for writes.
///
/// # Ownership
/// On success `*out_states` receives a list owned by the caller, to be freed
/// once with `sr_pod_states_free` (its strings go with it).
#[no_mangle]
pub unsafe extern "C" fn sr_get_service_state(
    executor: *const SrExecutor,
    ns: *const c_char,
    svc: *const c_char,
    out_states: *mut *mut SrPodStates,
) -> SrStatus {
    operation(Operation::GetServiceState, || {
        let out = Out::new("out_states", out_states)?;
        let exec = self::executor(executor)?;
        let (ns, svc) = (arg_str("ns", ns)?, arg_str("svc", svc)?);
        let states = exec.call(|e| e.get_service_state(ns, svc))?;
        out.write(types::pod_states(states)?);
        Ok(())
    })
}

/// Sets the state of a service's workload as a whole (SPEC 3.3).
///
/// # Safety
/// `executor` is a live executor; `ns`, `svc` and `state` are NUL-terminated
/// strings.
///
/// # Ownership
/// Borrows every argument for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn sr_set_workload_state(
    executor: *const SrExecutor,
    ns: *const c_char,
    svc: *const c_char,
    state: *const c_char,
) -> SrStatus {
    operation(Operation::SetWorkloadState, || {
        let exec = self::executor(executor)?;
        let (ns, svc) = (arg_str("ns", ns)?, arg_str("svc", svc)?);
        let state = arg_str("state", state)?;
        exec.call(|e| e.set_workload_state(ns, svc, state))
    })
}

/// The workload state of a service (SPEC 3.4): `*out_state` is NULL when none
/// is set.
///
/// # Safety
/// `executor` is a live executor; `ns` and `svc` are NUL-terminated strings;
/// `out_state` is valid for writes.
///
/// # Ownership
/// On success `*out_state` receives NULL or a string owned by the caller, to be
/// freed once with `sr_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_get_workload_state(
    executor: *const SrExecutor,
    ns: *const c_char,
    svc: *const c_char,
    out_state: *mut *mut c_char,
) -> SrStatus {
    operation(Operation::GetWorkloadState, || {
        let out = Out::new("out_state", out_state)?;
        let exec = self::executor(executor)?;
        let (ns, svc) = (arg_str("ns", ns)?, arg_str("svc", svc)?);
        let state = exec.call(|e| e.get_workload_state(ns, svc))?;
        out.write(match state {
            Some(state) => c_string("the workload state", state)?.into_raw(),
            None => std::ptr::null_mut(),
        });
        Ok(())
    })
}

/// Workload states of several services, by ascending service name (SPEC 3.5);
/// services without a state are left out.
///
/// # Safety
/// `executor` is a live executor; `ns` is a NUL-terminated string; `svcs`
/// points to `svcs_len` NUL-terminated strings (it may be NULL when `svcs_len`
/// is 0); `out_states` is valid for writes.
///
/// # Ownership
/// On success `*out_states` receives a list owned by the caller, to be freed
/// once with `sr_service_states_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_get_workload_states(
    executor: *const SrExecutor,
    ns: *const c_char,
    svcs: *const *const c_char,
    svcs_len: usize,
    out_states: *mut *mut SrServiceStates,
) -> SrStatus {
    operation(Operation::GetWorkloadStates, || {
        let out = Out::new("out_states", out_states)?;
        let exec = self::executor(executor)?;
        let ns = arg_str("ns", ns)?;
        let svcs = arg_strs("svcs", svcs, svcs_len)?;
        let states = exec.call(|e| e.get_workload_states(ns, &svcs))?;
        out.write(types::service_states(states)?);
        Ok(())
    })
}

/// Writes a pod's load record `LOAD-MILLIS-STATE`, stamped with the Redis
/// server's clock (SPEC 3.6); `*out_updated_ms` receives the stamp (epoch ms).
///
/// # Safety
/// `executor` is a live executor; `ns` and `svc` are NUL-terminated strings;
/// `out_updated_ms` is valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_set_pod_load(
    executor: *const SrExecutor,
    ns: *const c_char,
    svc: *const c_char,
    pod: i64,
    load: i64,
    state: i64,
    out_updated_ms: *mut i64,
) -> SrStatus {
    operation(Operation::SetPodLoad, || {
        let out = Out::new("out_updated_ms", out_updated_ms)?;
        let exec = self::executor(executor)?;
        let (ns, svc) = (arg_str("ns", ns)?, arg_str("svc", svc)?);
        out.write(exec.call(|e| e.set_pod_load(ns, svc, pod, load, state))?);
        Ok(())
    })
}

/// Load records of a service's pods, by ascending pod id (SPEC 3.7).
/// `fresh_since_ms` is NULL (every record) or points to an epoch-millisecond
/// bound: older records are left out. Values that are not load records are
/// left out.
///
/// # Safety
/// `executor` is a live executor; `ns` and `svc` are NUL-terminated strings;
/// `fresh_since_ms` is NULL or readable; `out_loads` is valid for writes.
///
/// # Ownership
/// On success `*out_loads` receives a list owned by the caller, to be freed once
/// with `sr_pod_loads_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_get_pod_loads(
    executor: *const SrExecutor,
    ns: *const c_char,
    svc: *const c_char,
    fresh_since_ms: *const i64,
    out_loads: *mut *mut SrPodLoads,
) -> SrStatus {
    operation(Operation::GetPodLoads, || {
        let out = Out::new("out_loads", out_loads)?;
        let exec = self::executor(executor)?;
        let (ns, svc) = (arg_str("ns", ns)?, arg_str("svc", svc)?);
        let since = fresh_since_ms.as_ref().copied();
        let loads = exec.call(|e| e.get_pod_loads(ns, svc, since))?;
        out.write(types::pod_loads(loads));
        Ok(())
    })
}

// ----- links ------------------------------------------------------------------

/// Links `uid` to `pod` of `svc` (SPEC 3.8). `persist`: -1 persistent (no TTL,
/// recorded in the uid's index), > 0 a temporary link with that TTL in seconds.
/// `*out_previous_pod` receives the previous pod, or `SR_NO_POD`.
///
/// # Safety
/// `executor` is a live executor; `ns`, `uid` and `svc` are NUL-terminated
/// strings; `out_previous_pod` is valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_set_linked_pod(
    executor: *const SrExecutor,
    ns: *const c_char,
    uid: *const c_char,
    svc: *const c_char,
    pod: i64,
    persist: i64,
    out_previous_pod: *mut i64,
) -> SrStatus {
    operation(Operation::SetLinkedPod, || {
        let out = Out::new("out_previous_pod", out_previous_pod)?;
        let exec = self::executor(executor)?;
        let (ns, uid, svc) = (
            arg_str("ns", ns)?,
            arg_str("uid", uid)?,
            arg_str("svc", svc)?,
        );
        let previous = exec.call(|e| e.set_linked_pod(ns, uid, svc, pod, persist))?;
        out.write(pod_or_none(previous));
        Ok(())
    })
}

/// Links `uid` to `pod` unless an existing *persistent* link points to another
/// pod (SPEC 3.9). `*out_ok` tells whether the link was set; `*out_pod`
/// receives the pod linked after the call (the existing one when refused).
///
/// # Safety
/// `executor` is a live executor; `ns`, `uid` and `svc` are NUL-terminated
/// strings; `out_ok` and `out_pod` are valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_try_set_linked_pod(
    executor: *const SrExecutor,
    ns: *const c_char,
    uid: *const c_char,
    svc: *const c_char,
    pod: i64,
    persist: i64,
    out_ok: *mut bool,
    out_pod: *mut i64,
) -> SrStatus {
    operation(Operation::TrySetLinkedPod, || {
        let out_ok = Out::new("out_ok", out_ok)?;
        let out_pod = Out::new("out_pod", out_pod)?;
        let exec = self::executor(executor)?;
        let (ns, uid, svc) = (
            arg_str("ns", ns)?,
            arg_str("uid", uid)?,
            arg_str("svc", svc)?,
        );
        let outcome = exec.call(|e| e.try_set_linked_pod(ns, uid, svc, pod, persist))?;
        out_ok.write(outcome.ok);
        out_pod.write(outcome.pod);
        Ok(())
    })
}

/// Links `uid` to `pod` only if it has no link for `svc` (SPEC 3.10); an
/// existing link is kept (a temporary one gets its TTL refreshed to `persist`
/// when `persist` > 0). `*out_pod` receives the pod actually linked.
///
/// # Safety
/// `executor` is a live executor; `ns`, `uid` and `svc` are NUL-terminated
/// strings; `out_pod` is valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_set_linked_pod_if_absent(
    executor: *const SrExecutor,
    ns: *const c_char,
    uid: *const c_char,
    svc: *const c_char,
    pod: i64,
    persist: i64,
    out_pod: *mut i64,
) -> SrStatus {
    operation(Operation::SetLinkedPodIfAbsent, || {
        let out = Out::new("out_pod", out_pod)?;
        let exec = self::executor(executor)?;
        let (ns, uid, svc) = (
            arg_str("ns", ns)?,
            arg_str("uid", uid)?,
            arg_str("svc", svc)?,
        );
        out.write(exec.call(|e| e.set_linked_pod_if_absent(ns, uid, svc, pod, persist))?);
        Ok(())
    })
}

/// The pod `uid` is linked to for `svc`, persistent or temporary (SPEC 3.11):
/// `*out_pod` receives it, or `SR_NO_POD`.
///
/// # Safety
/// `executor` is a live executor; `ns`, `uid` and `svc` are NUL-terminated
/// strings; `out_pod` is valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_get_linked_pod(
    executor: *const SrExecutor,
    ns: *const c_char,
    uid: *const c_char,
    svc: *const c_char,
    out_pod: *mut i64,
) -> SrStatus {
    operation(Operation::GetLinkedPod, || {
        let out = Out::new("out_pod", out_pod)?;
        let exec = self::executor(executor)?;
        let (ns, uid, svc) = (
            arg_str("ns", ns)?,
            arg_str("uid", uid)?,
            arg_str("svc", svc)?,
        );
        out.write(pod_or_none(exec.call(|e| e.get_linked_pod(ns, uid, svc))?));
        Ok(())
    })
}

/// The pod `uid` is linked to for `svc`, only if the link is persistent
/// (SPEC 3.12): `*out_pod` receives it, or `SR_NO_POD`.
///
/// # Safety
/// `executor` is a live executor; `ns`, `uid` and `svc` are NUL-terminated
/// strings; `out_pod` is valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_get_linked_pod_if_persist(
    executor: *const SrExecutor,
    ns: *const c_char,
    uid: *const c_char,
    svc: *const c_char,
    out_pod: *mut i64,
) -> SrStatus {
    operation(Operation::GetLinkedPodIfPersist, || {
        let out = Out::new("out_pod", out_pod)?;
        let exec = self::executor(executor)?;
        let (ns, uid, svc) = (
            arg_str("ns", ns)?,
            arg_str("uid", uid)?,
            arg_str("svc", svc)?,
        );
        out.write(pod_or_none(
            exec.call(|e| e.get_linked_pod_if_persist(ns, uid, svc))?,
        ));
        Ok(())
    })
}

/// Links of many uids for one service, grouped by pod (SPEC 3.13): groups by
/// ascending pod id, uids in their input order, uids without a link left out.
///
/// # Safety
/// `executor` is a live executor; `ns` and `svc` are NUL-terminated strings;
/// `uids` points to `uids_len` NUL-terminated strings (it may be NULL when
/// `uids_len` is 0); `out_groups` is valid for writes.
///
/// # Ownership
/// On success `*out_groups` receives a list owned by the caller, to be freed
/// once with `sr_pod_groups_free` (the uid strings are copies).
#[no_mangle]
pub unsafe extern "C" fn sr_batch_get_linked_pod(
    executor: *const SrExecutor,
    ns: *const c_char,
    uids: *const *const c_char,
    uids_len: usize,
    svc: *const c_char,
    out_groups: *mut *mut SrPodGroups,
) -> SrStatus {
    operation(Operation::BatchGetLinkedPod, || {
        let out = Out::new("out_groups", out_groups)?;
        let exec = self::executor(executor)?;
        let ns = arg_str("ns", ns)?;
        let uids = arg_strs("uids", uids, uids_len)?;
        let svc = arg_str("svc", svc)?;
        let groups = exec.call(|e| e.batch_get_linked_pod(ns, &uids, svc))?;
        out.write(types::pod_groups(groups)?);
        Ok(())
    })
}

/// Removes the link of `uid` for `svc` (SPEC 3.14). `keep`: -1 deletes it now,
/// a positive number keeps it readable as a temporary link for that many
/// seconds. The index entry goes at once. `*out_existed` tells whether a link
/// existed.
///
/// # Safety
/// `executor` is a live executor; `ns`, `uid` and `svc` are NUL-terminated
/// strings; `out_existed` is valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_remove_linked_pod(
    executor: *const SrExecutor,
    ns: *const c_char,
    uid: *const c_char,
    svc: *const c_char,
    keep: i64,
    out_existed: *mut bool,
) -> SrStatus {
    operation(Operation::RemoveLinkedPod, || {
        let out = Out::new("out_existed", out_existed)?;
        let exec = self::executor(executor)?;
        let (ns, uid, svc) = (
            arg_str("ns", ns)?,
            arg_str("uid", uid)?,
            arg_str("svc", svc)?,
        );
        out.write(exec.call(|e| e.remove_linked_pod(ns, uid, svc, keep))?);
        Ok(())
    })
}

/// As `sr_remove_linked_pod`, only when the link points to `pod` (SPEC 3.15).
/// `*out_removed` tells whether it was removed.
///
/// # Safety
/// `executor` is a live executor; `ns`, `uid` and `svc` are NUL-terminated
/// strings; `out_removed` is valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_remove_linked_pod_with_id(
    executor: *const SrExecutor,
    ns: *const c_char,
    uid: *const c_char,
    svc: *const c_char,
    keep: i64,
    pod: i64,
    out_removed: *mut bool,
) -> SrStatus {
    operation(Operation::RemoveLinkedPodWithId, || {
        let out = Out::new("out_removed", out_removed)?;
        let exec = self::executor(executor)?;
        let (ns, uid, svc) = (
            arg_str("ns", ns)?,
            arg_str("uid", uid)?,
            arg_str("svc", svc)?,
        );
        out.write(exec.call(|e| e.remove_linked_pod_with_id(ns, uid, svc, keep, pod))?);
        Ok(())
    })
}

/// The persistent links of `uid`, by ascending service name (SPEC 3.16).
///
/// # Safety
/// `executor` is a live executor; `ns` and `uid` are NUL-terminated strings;
/// `out_links` is valid for writes.
///
/// # Ownership
/// On success `*out_links` receives a list owned by the caller, to be freed once
/// with `sr_service_pods_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_get_link_service(
    executor: *const SrExecutor,
    ns: *const c_char,
    uid: *const c_char,
    out_links: *mut *mut SrServicePods,
) -> SrStatus {
    operation(Operation::GetLinkService, || {
        let out = Out::new("out_links", out_links)?;
        let exec = self::executor(executor)?;
        let (ns, uid) = (arg_str("ns", ns)?, arg_str("uid", uid)?);
        let links = exec.call(|e| e.get_link_service(ns, uid))?;
        out.write(types::service_pods(links)?);
        Ok(())
    })
}

/// Returns the link of `uid` for `svc`, or links it to the least-loaded eligible
/// pod if it still has none (SPEC 3.17). `policy` is NULL (the default policy)
/// or the policy to apply. `*out_pod` receives the pod actually linked, or
/// `SR_NO_POD` when no pod is eligible (nothing was written then).
///
/// # Safety
/// `executor` is a live executor; `ns`, `uid` and `svc` are NUL-terminated
/// strings; `policy` is NULL or readable; `out_pod` is valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_compute_linked_pod(
    executor: *const SrExecutor,
    ns: *const c_char,
    uid: *const c_char,
    svc: *const c_char,
    persist: i64,
    policy: *const SrRoutingPolicy,
    out_pod: *mut i64,
) -> SrStatus {
    operation(Operation::ComputeLinkedPod, || {
        let out = Out::new("out_pod", out_pod)?;
        let exec = self::executor(executor)?;
        let (ns, uid, svc) = (
            arg_str("ns", ns)?,
            arg_str("uid", uid)?,
            arg_str("svc", svc)?,
        );
        let policy = policy.as_ref().copied().map(Into::into).unwrap_or_default();
        let pod = exec.call(|e| e.compute_linked_pod(ns, uid, svc, persist, policy))?;
        out.write(pod_or_none(pod));
        Ok(())
    })
}
