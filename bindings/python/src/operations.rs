//! The one definition of every operation of the Python surface: its name, its
//! arguments (Python-facing conversions from [`crate::convert`]), the core call
//! and the conversion of the result. [`crate::executor`] (sync: GIL released,
//! blocking on the shared runtime) and [`crate::async_executor`] (asyncio) are
//! both generated from it; so is the operations part of `_native.pyi`
//! (see `src/stubs.rs`).
//!
//! A row reads:
//!
//! ```text
//! doc "<the core table's one-line doc>"            (checked equal by a test)
//! [#[pyo3(signature = ...)]]                        (only for optional arguments)
//! fn <name>(<arg>: <conversion type>, ...) -> <sync result type>
//!     = |e| <call of the core executor `e`> [=> <conversion of the result>];
//! ```

/// Calls `$generate!` with `[$passthrough]` followed by every row of the table.
macro_rules! with_python_operations {
    ($generate:ident! { $($passthrough:tt)* }) => {
        $generate! {
            [$($passthrough)*]

            doc "Sets the state of one pod of a service."
            fn set_service_state(ns: Str, svc: Str, pod: Int, state: Str) -> Option<bool>
                = |e| e.set_service_state(&ns.0, &svc.0, pod.0, &state.0) => none;

            doc "The state of every pod of a service: {pod: state}."
            fn get_service_state(ns: Str, svc: Str) -> BTreeMap<i64, String>
                = |e| e.get_service_state(&ns.0, &svc.0);

            doc "Sets the state of a service's workload as a whole."
            fn set_workload_state(ns: Str, svc: Str, state: Str) -> Option<bool>
                = |e| e.set_workload_state(&ns.0, &svc.0, &state.0) => none;

            doc "The workload state of a service, or none."
            fn get_workload_state(ns: Str, svc: Str) -> Option<String>
                = |e| e.get_workload_state(&ns.0, &svc.0);

            doc "Workload states of several services: {svc: state} (absent ones omitted)."
            fn get_workload_states(ns: Str, svcs: Strs) -> BTreeMap<String, String>
                = |e| e.get_workload_states(&ns.0, &svcs.0);

            doc "Writes a pod's load record stamped with the Redis server's clock; returns the stamp (epoch ms)."
            fn set_pod_load(ns: Str, svc: Str, pod: Int, load: Int, state: Int) -> i64
                = |e| e.set_pod_load(&ns.0, &svc.0, pod.0, load.0, state.0);

            doc "Load records of a service's pods: {pod: {load, state, updated_ms}}, only those updated at or after fresh_since_ms when given."
            #[pyo3(signature = (ns, svc, fresh_since_ms=None))]
            fn get_pod_loads(ns: Str, svc: Str, fresh_since_ms: Option<Int>) -> PodLoads
                = |e| e.get_pod_loads(&ns.0, &svc.0, fresh_since_ms.map(|i| i.0)) => pod_loads;

            doc "Links uid to pod of svc (persist: -1 persistent, > 0 TTL in seconds); returns the previous pod or none."
            fn set_linked_pod(ns: Str, uid: Str, svc: Str, pod: Int, persist: Int) -> Option<i64>
                = |e| e.set_linked_pod(&ns.0, &uid.0, &svc.0, pod.0, persist.0);

            doc "Links uid to pod unless a persistent link points to another pod; returns (ok, current pod)."
            fn try_set_linked_pod(ns: Str, uid: Str, svc: Str, pod: Int, persist: Int) -> (bool, i64)
                = |e| e.try_set_linked_pod(&ns.0, &uid.0, &svc.0, pod.0, persist.0) => try_set;

            doc "Links uid to pod only if it has no link (a temporary link gets its TTL refreshed when persist > 0); returns the pod actually linked."
            fn set_linked_pod_if_absent(ns: Str, uid: Str, svc: Str, pod: Int, persist: Int) -> i64
                = |e| e.set_linked_pod_if_absent(&ns.0, &uid.0, &svc.0, pod.0, persist.0);

            doc "The pod uid is linked to for svc (persistent or temporary), or none."
            fn get_linked_pod(ns: Str, uid: Str, svc: Str) -> Option<i64>
                = |e| e.get_linked_pod(&ns.0, &uid.0, &svc.0);

            doc "The pod uid is linked to for svc only if the link is persistent, or none."
            fn get_linked_pod_if_persist(ns: Str, uid: Str, svc: Str) -> Option<i64>
                = |e| e.get_linked_pod_if_persist(&ns.0, &uid.0, &svc.0);

            doc "Links of many uids for one service: {pod: [uid, ...]} (input order kept, uids without a link left out)."
            fn batch_get_linked_pod(ns: Str, uids: Strs, svc: Str) -> BTreeMap<i64, Vec<String>>
                = |e| e.batch_get_linked_pod(&ns.0, &uids.0, &svc.0);

            doc "Removes the link (keep: -1 now, > 0 readable as a temporary link for that many seconds); returns whether a link existed."
            fn remove_linked_pod(ns: Str, uid: Str, svc: Str, keep: Int) -> bool
                = |e| e.remove_linked_pod(&ns.0, &uid.0, &svc.0, keep.0);

            doc "As remove_linked_pod, only when the link points to pod; returns whether it was removed."
            fn remove_linked_pod_with_id(ns: Str, uid: Str, svc: Str, keep: Int, pod: Int) -> bool
                = |e| e.remove_linked_pod_with_id(&ns.0, &uid.0, &svc.0, keep.0, pod.0);

            doc "The persistent links of uid: {svc: pod}."
            fn get_link_service(ns: Str, uid: Str) -> BTreeMap<String, i64>
                = |e| e.get_link_service(&ns.0, &uid.0);

            doc "Returns uid's link for svc, or links it to the least-loaded eligible pod (fresh within max_age_ms, state <= max_state) and returns that pod; none when no pod is eligible."
            #[pyo3(signature = (ns, uid, svc, persist, policy=None))]
            fn compute_linked_pod(ns: Str, uid: Str, svc: Str, persist: Int, policy: Option<Policy>) -> Option<i64>
                = |e| e.compute_linked_pod(&ns.0, &uid.0, &svc.0, persist.0, policy.map(|p| p.0).unwrap_or_default());
        }
    };
}

/// Every row of the table as data (name, doc, argument names), for the stub
/// renderer and the tests that hold the table to the core's.
#[derive(Debug, Clone, Copy)]
pub struct PythonOperation {
    pub name: &'static str,
    pub doc: &'static str,
    pub args: &'static [&'static str],
}

macro_rules! operation_rows {
    ([] $(
        doc $doc:literal
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty
            = |$e:ident| $call:expr $(=> $convert:expr)?;
    )*) => {
        /// The rows of [`with_python_operations`], in its order.
        pub const PYTHON_OPERATIONS: &[PythonOperation] = &[$(PythonOperation {
            name: stringify!($name),
            doc: $doc,
            args: &[$(stringify!($arg)),*],
        }),*];
    };
}

with_python_operations!(operation_rows! {});

/// `()` → Python `None` (PyO3 would make an empty tuple of it in a future's result).
pub fn none(_: ()) -> Option<bool> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateful_redis::OPERATIONS;

    /// The Python table has the core's operations, in its order, with its docs
    /// and its argument names (the keyword names Python callers use).
    #[test]
    fn the_table_is_the_cores() {
        let python: Vec<&str> = PYTHON_OPERATIONS.iter().map(|o| o.name).collect();
        let core: Vec<&str> = OPERATIONS.iter().map(|o| o.name).collect();
        assert_eq!(
            python, core,
            "the Python operations differ from the core table"
        );
        for (py_op, core_op) in PYTHON_OPERATIONS.iter().zip(OPERATIONS) {
            assert_eq!(py_op.doc, core_op.doc, "doc of {}", py_op.name);
            let core_args: Vec<&str> = core_op.args.iter().map(|a| a.name).collect();
            assert_eq!(
                py_op.args,
                core_args.as_slice(),
                "arguments of {}",
                py_op.name
            );
        }
    }
}
