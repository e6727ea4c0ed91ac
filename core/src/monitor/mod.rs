//! The performance monitor: what the executor records about every call.
//!
//! The executor calls [`Monitor::record`] once per operation, and the script and
//! connection hooks below when those events happen. Recording touches only atomics.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::error::ErrorCode;
use crate::operation::Operation;

/// Counters of one operation.
#[derive(Default)]
struct OperationSlot {
    count: AtomicU64,
    errors: AtomicU64,
    total_nanos: AtomicU64,
}

/// Aggregates measurements of the executor's operations.
pub struct Monitor {
    operations: [OperationSlot; Operation::ALL.len()],
    errors_by_code: [AtomicU64; ErrorCode::ALL.len()],
    evalsha_calls: AtomicU64,
    noscript_reloads: AtomicU64,
    reconnects: AtomicU64,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor::new()
    }
}

impl Monitor {
    pub fn new() -> Monitor {
        Monitor {
            operations: std::array::from_fn(|_| OperationSlot::default()),
            errors_by_code: std::array::from_fn(|_| AtomicU64::new(0)),
            evalsha_calls: AtomicU64::new(0),
            noscript_reloads: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
        }
    }

    /// Records one call of an executor operation.
    pub fn record(&self, op: Operation, duration: Duration, outcome: Result<(), ErrorCode>) {
        let slot = &self.operations[op.index()];
        slot.count.fetch_add(1, Relaxed);
        slot.total_nanos
            .fetch_add(duration.as_nanos().min(u64::MAX as u128) as u64, Relaxed);
        if let Err(code) = outcome {
            slot.errors.fetch_add(1, Relaxed);
            self.errors_by_code[code.index()].fetch_add(1, Relaxed);
        }
    }

    /// An `EVALSHA` was sent.
    pub fn script_call(&self) {
        self.evalsha_calls.fetch_add(1, Relaxed);
    }

    /// A script was reloaded after `NOSCRIPT`.
    pub fn script_reload(&self) {
        self.noscript_reloads.fetch_add(1, Relaxed);
    }

    /// A lost connection was noticed (it is re-established by the connection manager).
    pub fn reconnect(&self) {
        self.reconnects.fetch_add(1, Relaxed);
    }

    /// Calls of `op` recorded so far, and how many failed.
    pub fn operation_counts(&self, op: Operation) -> (u64, u64) {
        let slot = &self.operations[op.index()];
        (slot.count.load(Relaxed), slot.errors.load(Relaxed))
    }

    /// `EVALSHA` calls and `NOSCRIPT` reloads so far.
    pub fn script_counts(&self) -> (u64, u64) {
        (
            self.evalsha_calls.load(Relaxed),
            self.noscript_reloads.load(Relaxed),
        )
    }
}
