//! What the alerts tell the world: state changes (events, for the log and the
//! subscribers) and the alerts active now (in the snapshot).

use serde::{Deserialize, Serialize};

/// The state an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Pending,
    Firing,
    Resolved,
}

/// A change of an alert's state, sent to the log and to subscribers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// The concrete metric (`get_linked_pod.p99_ms`).
    pub metric: String,
    /// The rule's metric as set (`*.error_rate`).
    pub rule: String,
    pub state: AlertState,
    pub value: f64,
    pub threshold: f64,
    /// Wall-clock time, Unix epoch milliseconds.
    pub at_ms: u64,
    pub message: String,
}

/// An alert pending or firing, as listed in the snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveAlert {
    pub metric: String,
    pub rule: String,
    pub state: AlertState,
    /// The last value seen.
    pub value: f64,
    pub threshold: f64,
    /// Wall-clock time the current state began, Unix epoch milliseconds.
    pub since_ms: u64,
}
