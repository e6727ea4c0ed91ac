//! The operations of SPEC section 3, as a closed set and as data: this file is
//! the one list of operations. Each entry gives the operation's name, whether it
//! is idempotent, a one-line description, its arguments and its result; the
//! bindings' surfaces, their type stubs and the surface-parity test
//! (`core/tests/surface_parity.rs`) are checked against it. The monitor keeps one
//! slot of counters per operation, indexed without hashing or locking.
//!
//! Adding an operation: see "Adding an operation" in `docs/architecture.md`.

/// What an argument of an operation holds; every binding converts it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// A namespace, uid or service name: a non-empty string (validated, then
    /// percent-encoded into keys).
    Name,
    /// A list of names.
    Names,
    /// A pod id: an integer in `0..=i64::MAX`.
    PodId,
    /// A state, as the caller's text (`"ready"`, `"draining"`, ...).
    StateText,
    /// An integer load (bigger is busier).
    Load,
    /// A pod's state as an integer (bigger is worse).
    LoadState,
    /// The lifetime of a link: -1 persistent, > 0 temporary for that many seconds.
    TtlSeconds,
    /// How long a removed link stays readable: -1 not at all, > 0 seconds.
    KeepSeconds,
    /// A point in time, epoch milliseconds of the Redis server's clock.
    EpochMs,
    /// The routing policy of `compute_linked_pod` (`max_age_ms`, `max_state`).
    RoutingPolicy,
}

/// One argument of an operation, in call order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arg {
    /// snake_case, as in the vectors and the Python binding.
    pub name: &'static str,
    pub kind: ArgKind,
    /// May be left out (`None`/`null`/`NULL` gives the default).
    pub optional: bool,
}

/// What an operation returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultKind {
    /// Nothing (`None`, `undefined`, only a status in C).
    Nothing,
    /// `{pod: state}`.
    PodStates,
    /// A state, or none.
    OptionalState,
    /// `{svc: state}`, services without a state left out.
    ServiceStates,
    /// Epoch milliseconds of the Redis server's clock.
    EpochMs,
    /// `{pod: {load, state, updated_ms}}`.
    PodLoads,
    /// A pod id, or none.
    OptionalPod,
    /// A pod id.
    Pod,
    /// `(ok, pod)`: whether the link was set and the pod linked after the call.
    TrySet,
    /// `{pod: [uid, ...]}`, uids in input order.
    UidsByPod,
    /// `{svc: pod}`.
    PodsByService,
    /// Whether something existed / was done.
    Flag,
}

/// One operation as data: the row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationSpec {
    pub operation: Operation,
    /// snake_case name (every binding, metrics, errors, vectors).
    pub name: &'static str,
    /// See [`Operation::is_idempotent`].
    pub idempotent: bool,
    /// One line, the same in every binding's documentation.
    pub doc: &'static str,
    pub args: &'static [Arg],
    pub result: ResultKind,
}

/// `optional` after an argument's kind marks it as one that may be left out.
macro_rules! is_optional {
    () => {
        false
    };
    (optional) => {
        true
    };
}

/// Generates the `Operation` enum, `Operation::ALL` and [`OPERATIONS`] from one
/// list, so that a variant, its name and its row cannot drift apart.
macro_rules! operations {
    ($(
        $variant:ident = $name:literal, idempotent: $idempotent:literal,
            ($($arg:ident: $kind:ident $($optional:ident)?),*) -> $result:ident,
            $doc:literal;
    )*) => {
        /// One of the executor's operations.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Operation {
            $(#[doc = $doc] $variant,)*
        }

        /// Every operation as data, in SPEC order (the order of [`Operation::ALL`]).
        pub const OPERATIONS: &[OperationSpec] = &[$(OperationSpec {
            operation: Operation::$variant,
            name: $name,
            idempotent: $idempotent,
            doc: $doc,
            args: &[$(Arg {
                name: stringify!($arg),
                kind: ArgKind::$kind,
                optional: is_optional!($($optional)?),
            }),*],
            result: ResultKind::$result,
        }),*];

        impl Operation {
            /// Every operation, in SPEC order.
            pub const ALL: [Operation; OPERATIONS.len()] = [$(Operation::$variant),*];
        }
    };
}

operations! {
    SetServiceState = "set_service_state", idempotent: false,
        (ns: Name, svc: Name, pod: PodId, state: StateText) -> Nothing,
        "Sets the state of one pod of a service.";
    GetServiceState = "get_service_state", idempotent: true,
        (ns: Name, svc: Name) -> PodStates,
        "The state of every pod of a service: {pod: state}.";
    SetWorkloadState = "set_workload_state", idempotent: false,
        (ns: Name, svc: Name, state: StateText) -> Nothing,
        "Sets the state of a service's workload as a whole.";
    GetWorkloadState = "get_workload_state", idempotent: true,
        (ns: Name, svc: Name) -> OptionalState,
        "The workload state of a service, or none.";
    GetWorkloadStates = "get_workload_states", idempotent: true,
        (ns: Name, svcs: Names) -> ServiceStates,
        "Workload states of several services: {svc: state} (absent ones omitted).";
    SetPodLoad = "set_pod_load", idempotent: false,
        (ns: Name, svc: Name, pod: PodId, load: Load, state: LoadState) -> EpochMs,
        "Writes a pod's load record stamped with the Redis server's clock; returns the stamp (epoch ms).";
    GetPodLoads = "get_pod_loads", idempotent: true,
        (ns: Name, svc: Name, fresh_since_ms: EpochMs optional) -> PodLoads,
        "Load records of a service's pods: {pod: {load, state, updated_ms}}, only those updated at or after fresh_since_ms when given.";
    SetLinkedPod = "set_linked_pod", idempotent: false,
        (ns: Name, uid: Name, svc: Name, pod: PodId, persist: TtlSeconds) -> OptionalPod,
        "Links uid to pod of svc (persist: -1 persistent, > 0 TTL in seconds); returns the previous pod or none.";
    TrySetLinkedPod = "try_set_linked_pod", idempotent: false,
        (ns: Name, uid: Name, svc: Name, pod: PodId, persist: TtlSeconds) -> TrySet,
        "Links uid to pod unless a persistent link points to another pod; returns (ok, current pod).";
    SetLinkedPodIfAbsent = "set_linked_pod_if_absent", idempotent: false,
        (ns: Name, uid: Name, svc: Name, pod: PodId, persist: TtlSeconds) -> Pod,
        "Links uid to pod only if it has no link (a temporary link gets its TTL refreshed when persist > 0); returns the pod actually linked.";
    GetLinkedPod = "get_linked_pod", idempotent: true,
        (ns: Name, uid: Name, svc: Name) -> OptionalPod,
        "The pod uid is linked to for svc (persistent or temporary), or none.";
    GetLinkedPodIfPersist = "get_linked_pod_if_persist", idempotent: true,
        (ns: Name, uid: Name, svc: Name) -> OptionalPod,
        "The pod uid is linked to for svc only if the link is persistent, or none.";
    BatchGetLinkedPod = "batch_get_linked_pod", idempotent: true,
        (ns: Name, uids: Names, svc: Name) -> UidsByPod,
        "Links of many uids for one service: {pod: [uid, ...]} (input order kept, uids without a link left out).";
    RemoveLinkedPod = "remove_linked_pod", idempotent: false,
        (ns: Name, uid: Name, svc: Name, keep: KeepSeconds) -> Flag,
        "Removes the link (keep: -1 now, > 0 readable as a temporary link for that many seconds); returns whether a link existed.";
    RemoveLinkedPodWithId = "remove_linked_pod_with_id", idempotent: false,
        (ns: Name, uid: Name, svc: Name, keep: KeepSeconds, pod: PodId) -> Flag,
        "As remove_linked_pod, only when the link points to pod; returns whether it was removed.";
    GetLinkService = "get_link_service", idempotent: true,
        (ns: Name, uid: Name) -> PodsByService,
        "The persistent links of uid: {svc: pod}.";
    ComputeLinkedPod = "compute_linked_pod", idempotent: false,
        (ns: Name, uid: Name, svc: Name, persist: TtlSeconds, policy: RoutingPolicy optional) -> OptionalPod,
        "Returns uid's link for svc, or links it to the least-loaded eligible pod (fresh within max_age_ms, state <= max_state) and returns that pod; none when no pod is eligible.";
}

impl Operation {
    /// The operation's row of [`OPERATIONS`].
    pub const fn spec(self) -> &'static OperationSpec {
        &OPERATIONS[self.index()]
    }

    /// The snake_case name used in every binding, in metrics and in errors.
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The one-line description, the same in every binding's documentation.
    pub const fn doc(self) -> &'static str {
        self.spec().doc
    }

    /// The arguments, in call order.
    pub const fn args(self) -> &'static [Arg] {
        self.spec().args
    }

    /// Dense index `0..ALL.len()`.
    pub const fn index(self) -> usize {
        self as usize
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether running the operation again, after its first run and a write by
    /// another process in between, changes nothing that process or the caller
    /// would see: only reads. Only these are sent again after a lost reply or
    /// a timeout, and only their errors of that kind are `retryable` (see
    /// "Which calls are retried" in `docs/reliability.md`).
    ///
    /// `set_service_state` and `set_workload_state` are not: run twice in a
    /// row they leave Redis as one run does, but a newer state written by
    /// another process between the two runs would be overwritten by the older
    /// one.
    pub const fn is_idempotent(self) -> bool {
        self.spec().idempotent
    }
}

/// `set_linked_pod` → `setLinkedPod` (the Node binding's method names).
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_indexes_are_consistent() {
        assert_eq!(OPERATIONS.len(), Operation::ALL.len());
        for (i, op) in Operation::ALL.into_iter().enumerate() {
            assert_eq!(op.index(), i);
            assert_eq!(op.spec().operation, op);
            assert_eq!(Operation::from_name(op.name()), Some(op));
        }
    }

    #[test]
    fn idempotent_operations_are_the_reads() {
        let idempotent: Vec<&str> = Operation::ALL
            .into_iter()
            .filter(|op| op.is_idempotent())
            .map(|op| op.name())
            .collect();
        assert_eq!(
            idempotent,
            [
                "get_service_state",
                "get_workload_state",
                "get_workload_states",
                "get_pod_loads",
                "get_linked_pod",
                "get_linked_pod_if_persist",
                "batch_get_linked_pod",
                "get_link_service",
            ]
        );
    }

    #[test]
    fn every_operation_takes_a_namespace_first_and_has_a_one_line_doc() {
        for spec in OPERATIONS {
            assert_eq!(spec.args[0].name, "ns", "{}", spec.name);
            assert!(!spec.doc.contains('\n'), "{}", spec.name);
            assert!(spec.doc.ends_with('.'), "{}", spec.name);
        }
    }

    #[test]
    fn camel_case_names() {
        assert_eq!(
            camel_case("set_linked_pod_if_absent"),
            "setLinkedPodIfAbsent"
        );
        assert_eq!(camel_case("get_pod_loads"), "getPodLoads");
    }
}
