//! The result types of the operations: plain C structs.
//!
//! Lists and maps cross the boundary as a struct `{items, len}` of fixed-layout
//! items, ordered as in every binding (by pod id, or by service name). One call
//! returns one heap block: the struct, its items and every string in them are
//! freed together by the list's own `sr_..._free` function. A single item or
//! string of a list is never freed on its own.
//!
//! Why structs and not JSON: the shapes are fixed by SPEC section 3 and small, a
//! C caller reads them without a JSON parser, and nothing is encoded or parsed on
//! the hot path. Documents whose schema grows over time (the metrics snapshot,
//! suggestions, optimize reports) cross as JSON text instead (see `monitor.rs`).

use std::collections::BTreeMap;
use std::ffi::{c_char, CString};

use stateful_redis::{Error, PodLoad};

use crate::error::ffi_guard_or;
use crate::ffi::c_string;

/// The pod id that means "none" in outputs (as on the wire).
pub const SR_NO_POD: i64 = -1;

/// One pod's state (an item of `SrPodStates`).
#[repr(C)]
pub struct SrPodState {
    /// Pod id (>= 0).
    pub pod: i64,
    /// The state string (NUL-terminated UTF-8), owned by the list.
    pub state: *const c_char,
}

/// The states of a service's pods, by ascending pod id
/// (`sr_get_service_state`). Freed with `sr_pod_states_free`.
#[repr(C)]
pub struct SrPodStates {
    /// `len` items; NULL when `len` is 0.
    pub items: *const SrPodState,
    pub len: usize,
}

/// One service's workload state (an item of `SrServiceStates`).
#[repr(C)]
pub struct SrServiceState {
    /// Service name, owned by the list.
    pub svc: *const c_char,
    /// Workload state, owned by the list.
    pub state: *const c_char,
}

/// Workload states by ascending service name (`sr_get_workload_states`);
/// services without a state are left out. Freed with `sr_service_states_free`.
#[repr(C)]
pub struct SrServiceStates {
    /// `len` items; NULL when `len` is 0.
    pub items: *const SrServiceState,
    pub len: usize,
}

/// A pod's load record (an item of `SrPodLoads`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrPodLoad {
    pub pod: i64,
    pub load: i64,
    /// A bigger state is a worse state.
    pub state: i64,
    /// Server time of the update, epoch milliseconds.
    pub updated_ms: i64,
}

/// Load records by ascending pod id (`sr_get_pod_loads`). Freed with
/// `sr_pod_loads_free`.
#[repr(C)]
pub struct SrPodLoads {
    /// `len` items; NULL when `len` is 0.
    pub items: *const SrPodLoad,
    pub len: usize,
}

/// The uids linked to one pod (an item of `SrPodGroups`).
#[repr(C)]
pub struct SrPodGroup {
    pub pod: i64,
    /// `uids_len` uids in the order they were given, owned by the list.
    pub uids: *const *const c_char,
    pub uids_len: usize,
}

/// Links of many uids grouped by pod, by ascending pod id
/// (`sr_batch_get_linked_pod`); uids without a link are left out. Freed with
/// `sr_pod_groups_free`.
#[repr(C)]
pub struct SrPodGroups {
    /// `len` items; NULL when `len` is 0.
    pub items: *const SrPodGroup,
    pub len: usize,
}

/// One persistent link of a uid (an item of `SrServicePods`).
#[repr(C)]
pub struct SrServicePod {
    /// Service name, owned by the list.
    pub svc: *const c_char,
    pub pod: i64,
}

/// A uid's persistent links by ascending service name (`sr_get_link_service`).
/// Freed with `sr_service_pods_free`.
#[repr(C)]
pub struct SrServicePods {
    /// `len` items; NULL when `len` is 0.
    pub items: *const SrServicePod,
    pub len: usize,
}

/// How `sr_compute_linked_pod` chooses a pod. Start from
/// `sr_routing_policy_default()` and change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrRoutingPolicy {
    /// A load record older than this (against the Redis server's clock) is
    /// ignored; must be > 0.
    pub max_age_ms: i64,
    /// Pods whose state is above this are not chosen.
    pub max_state: i64,
}

impl From<stateful_redis::RoutingPolicy> for SrRoutingPolicy {
    fn from(p: stateful_redis::RoutingPolicy) -> Self {
        SrRoutingPolicy {
            max_age_ms: p.max_age_ms,
            max_state: p.max_state,
        }
    }
}

impl From<SrRoutingPolicy> for stateful_redis::RoutingPolicy {
    fn from(p: SrRoutingPolicy) -> Self {
        stateful_redis::RoutingPolicy {
            max_age_ms: p.max_age_ms,
            max_state: p.max_state,
        }
    }
}

/// The default routing policy (`max_age_ms` 60000, `max_state` INT64_MAX).
///
/// # Safety
/// Always safe to call.
///
/// # Ownership
/// Returned by value; nothing to free.
#[no_mangle]
pub extern "C" fn sr_routing_policy_default() -> SrRoutingPolicy {
    let default = stateful_redis::RoutingPolicy::default();
    ffi_guard_or(default.into(), || default.into())
}

// ----- one heap block per list ---------------------------------------------------

/// A list header followed by the storage its pointers point into. `repr(C)` puts
/// the header first, so a pointer to the block is a pointer to the header.
#[repr(C)]
struct Block<H, S> {
    header: H,
    _storage: S,
}

fn into_block<H, S>(header: H, storage: S) -> *mut H {
    Box::into_raw(Box::new(Block {
        header,
        _storage: storage,
    }))
    .cast::<H>()
}

/// # Safety
/// `p` is NULL or came from `into_block::<H, S>` and was not freed yet.
unsafe fn free_block<H, S>(p: *mut H) {
    if !p.is_null() {
        drop(Box::from_raw(p.cast::<Block<H, S>>()));
    }
}

fn items_ptr<T>(items: &[T]) -> *const T {
    if items.is_empty() {
        std::ptr::null()
    } else {
        items.as_ptr()
    }
}

type PodStatesStorage = (Vec<SrPodState>, Vec<CString>);
type ServiceStatesStorage = (Vec<SrServiceState>, Vec<CString>);
type PodLoadsStorage = Vec<SrPodLoad>;
type PodGroupsStorage = (Vec<SrPodGroup>, Vec<*const c_char>, Vec<CString>);
type ServicePodsStorage = (Vec<SrServicePod>, Vec<CString>);

// The heap buffers of a `Vec` and a `CString` do not move when the value itself
// moves into the block, so pointers taken before the move stay valid.

pub(crate) fn pod_states(map: BTreeMap<i64, String>) -> Result<*mut SrPodStates, Error> {
    let mut strings = Vec::with_capacity(map.len());
    let mut items = Vec::with_capacity(map.len());
    for (pod, state) in map {
        let state = c_string("a pod state", state)?;
        items.push(SrPodState {
            pod,
            state: state.as_ptr(),
        });
        strings.push(state);
    }
    let header = SrPodStates {
        items: items_ptr(&items),
        len: items.len(),
    };
    Ok(into_block::<_, PodStatesStorage>(header, (items, strings)))
}

pub(crate) fn service_states(map: BTreeMap<String, String>) -> Result<*mut SrServiceStates, Error> {
    let mut strings = Vec::with_capacity(map.len() * 2);
    let mut items = Vec::with_capacity(map.len());
    for (svc, state) in map {
        let svc = c_string("a service name", svc)?;
        let state = c_string("a workload state", state)?;
        items.push(SrServiceState {
            svc: svc.as_ptr(),
            state: state.as_ptr(),
        });
        strings.push(svc);
        strings.push(state);
    }
    let header = SrServiceStates {
        items: items_ptr(&items),
        len: items.len(),
    };
    Ok(into_block::<_, ServiceStatesStorage>(
        header,
        (items, strings),
    ))
}

pub(crate) fn pod_loads(map: BTreeMap<i64, PodLoad>) -> *mut SrPodLoads {
    let items: Vec<SrPodLoad> = map
        .into_iter()
        .map(|(pod, l)| SrPodLoad {
            pod,
            load: l.load,
            state: l.state,
            updated_ms: l.updated_ms,
        })
        .collect();
    let header = SrPodLoads {
        items: items_ptr(&items),
        len: items.len(),
    };
    into_block::<_, PodLoadsStorage>(header, items)
}

pub(crate) fn pod_groups(map: BTreeMap<i64, Vec<String>>) -> Result<*mut SrPodGroups, Error> {
    let total: usize = map.values().map(Vec::len).sum();
    let mut strings = Vec::with_capacity(total);
    for uid in map.values().flatten() {
        strings.push(c_string("a uid", uid.clone())?);
    }
    // Every group's `uids` is a slice of one pointer array, filled before any
    // pointer into it is taken (it never reallocates afterwards).
    let pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    let mut items = Vec::with_capacity(map.len());
    let mut start = 0;
    for (pod, uids) in &map {
        items.push(SrPodGroup {
            pod: *pod,
            uids: items_ptr(&pointers[start..start + uids.len()]),
            uids_len: uids.len(),
        });
        start += uids.len();
    }
    let header = SrPodGroups {
        items: items_ptr(&items),
        len: items.len(),
    };
    Ok(into_block::<_, PodGroupsStorage>(
        header,
        (items, pointers, strings),
    ))
}

pub(crate) fn service_pods(map: BTreeMap<String, i64>) -> Result<*mut SrServicePods, Error> {
    let mut strings = Vec::with_capacity(map.len());
    let mut items = Vec::with_capacity(map.len());
    for (svc, pod) in map {
        let svc = c_string("a service name", svc)?;
        items.push(SrServicePod {
            svc: svc.as_ptr(),
            pod,
        });
        strings.push(svc);
    }
    let header = SrServicePods {
        items: items_ptr(&items),
        len: items.len(),
    };
    Ok(into_block::<_, ServicePodsStorage>(
        header,
        (items, strings),
    ))
}

// ----- free functions ---------------------------------------------------------

/// Frees the result of `sr_get_service_state`.
///
/// # Safety
/// `states` is NULL or was returned by `sr_get_service_state` and not freed yet.
///
/// # Ownership
/// Frees the list, its items and their strings. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sr_pod_states_free(states: *mut SrPodStates) {
    ffi_guard_or((), || free_block::<_, PodStatesStorage>(states))
}

/// Frees the result of `sr_get_workload_states`.
///
/// # Safety
/// `states` is NULL or was returned by `sr_get_workload_states` and not freed yet.
///
/// # Ownership
/// Frees the list, its items and their strings. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sr_service_states_free(states: *mut SrServiceStates) {
    ffi_guard_or((), || free_block::<_, ServiceStatesStorage>(states))
}

/// Frees the result of `sr_get_pod_loads`.
///
/// # Safety
/// `loads` is NULL or was returned by `sr_get_pod_loads` and not freed yet.
///
/// # Ownership
/// Frees the list and its items. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sr_pod_loads_free(loads: *mut SrPodLoads) {
    ffi_guard_or((), || free_block::<_, PodLoadsStorage>(loads))
}

/// Frees the result of `sr_batch_get_linked_pod`.
///
/// # Safety
/// `groups` is NULL or was returned by `sr_batch_get_linked_pod` and not freed yet.
///
/// # Ownership
/// Frees the list, its groups, their uid arrays and the uid strings. NULL is
/// ignored.
#[no_mangle]
pub unsafe extern "C" fn sr_pod_groups_free(groups: *mut SrPodGroups) {
    ffi_guard_or((), || free_block::<_, PodGroupsStorage>(groups))
}

/// Frees the result of `sr_get_link_service`.
///
/// # Safety
/// `links` is NULL or was returned by `sr_get_link_service` and not freed yet.
///
/// # Ownership
/// Frees the list, its items and their strings. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sr_service_pods_free(links: *mut SrServicePods) {
    ffi_guard_or((), || free_block::<_, ServicePodsStorage>(links))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    unsafe fn s(p: *const c_char) -> &'static str {
        CStr::from_ptr(p).to_str().unwrap()
    }

    #[test]
    fn pod_groups_point_into_their_own_block() {
        let mut map = BTreeMap::new();
        map.insert(2, vec!["b".to_string(), "a".to_string()]);
        map.insert(0, vec!["z".to_string()]);
        let groups = pod_groups(map).unwrap();
        unsafe {
            let g = &*groups;
            assert_eq!(g.len, 2);
            let items = std::slice::from_raw_parts(g.items, g.len);
            assert_eq!(items[0].pod, 0);
            assert_eq!(s(*items[0].uids), "z");
            assert_eq!(items[1].pod, 2);
            let uids = std::slice::from_raw_parts(items[1].uids, items[1].uids_len);
            assert_eq!((s(uids[0]), s(uids[1])), ("b", "a"));
            sr_pod_groups_free(groups);
        }
    }

    #[test]
    fn empty_lists_have_null_items_and_nul_bytes_are_data_errors() {
        let states = pod_states(BTreeMap::new()).unwrap();
        unsafe {
            assert!((*states).items.is_null());
            assert_eq!((*states).len, 0);
            sr_pod_states_free(states);
        }
        let mut map = BTreeMap::new();
        map.insert(1, "a\0b".to_string());
        let err = pod_states(map).unwrap_err();
        assert_eq!(err.code(), stateful_redis::ErrorCode::Data);
    }
}
