//! The operations of SPEC section 3, as a closed set: the monitor keeps one slot of
//! counters per operation, indexed without hashing or locking.

/// One of the executor's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Operation {
    SetServiceState,
    GetServiceState,
    SetWorkloadState,
    GetWorkloadState,
    GetWorkloadStates,
    SetPodLoad,
    GetPodLoads,
    SetLinkedPod,
    TrySetLinkedPod,
    SetLinkedPodIfAbsent,
    GetLinkedPod,
    GetLinkedPodIfPersist,
    BatchGetLinkedPod,
    RemoveLinkedPod,
    RemoveLinkedPodWithId,
    GetLinkService,
    ComputeLinkedPod,
}

impl Operation {
    /// Every operation, in SPEC order.
    pub const ALL: [Operation; 17] = [
        Operation::SetServiceState,
        Operation::GetServiceState,
        Operation::SetWorkloadState,
        Operation::GetWorkloadState,
        Operation::GetWorkloadStates,
        Operation::SetPodLoad,
        Operation::GetPodLoads,
        Operation::SetLinkedPod,
        Operation::TrySetLinkedPod,
        Operation::SetLinkedPodIfAbsent,
        Operation::GetLinkedPod,
        Operation::GetLinkedPodIfPersist,
        Operation::BatchGetLinkedPod,
        Operation::RemoveLinkedPod,
        Operation::RemoveLinkedPodWithId,
        Operation::GetLinkService,
        Operation::ComputeLinkedPod,
    ];

    /// The snake_case name used in every binding, in metrics and in errors.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::SetServiceState => "set_service_state",
            Operation::GetServiceState => "get_service_state",
            Operation::SetWorkloadState => "set_workload_state",
            Operation::GetWorkloadState => "get_workload_state",
            Operation::GetWorkloadStates => "get_workload_states",
            Operation::SetPodLoad => "set_pod_load",
            Operation::GetPodLoads => "get_pod_loads",
            Operation::SetLinkedPod => "set_linked_pod",
            Operation::TrySetLinkedPod => "try_set_linked_pod",
            Operation::SetLinkedPodIfAbsent => "set_linked_pod_if_absent",
            Operation::GetLinkedPod => "get_linked_pod",
            Operation::GetLinkedPodIfPersist => "get_linked_pod_if_persist",
            Operation::BatchGetLinkedPod => "batch_get_linked_pod",
            Operation::RemoveLinkedPod => "remove_linked_pod",
            Operation::RemoveLinkedPodWithId => "remove_linked_pod_with_id",
            Operation::GetLinkService => "get_link_service",
            Operation::ComputeLinkedPod => "compute_linked_pod",
        }
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
        matches!(
            self,
            Operation::GetServiceState
                | Operation::GetWorkloadState
                | Operation::GetWorkloadStates
                | Operation::GetPodLoads
                | Operation::GetLinkedPod
                | Operation::GetLinkedPodIfPersist
                | Operation::BatchGetLinkedPod
                | Operation::GetLinkService
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_indexes_are_consistent() {
        for (i, op) in Operation::ALL.into_iter().enumerate() {
            assert_eq!(op.index(), i);
            assert_eq!(Operation::from_name(op.name()), Some(op));
        }
    }
}
