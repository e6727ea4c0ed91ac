//! The one snapshot type every binding converts: [`MetricsSnapshot`].
//!
//! Its JSON form is described by `schemas/metrics_snapshot.schema.json`; change
//! both together and bump [`SCHEMA_VERSION`] on any incompatible change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alerts::ActiveAlert;

/// Version of the snapshot's JSON form.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything the monitor knows at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSnapshot {
    pub schema_version: u32,
    /// Wall-clock time of the snapshot, Unix epoch milliseconds.
    pub taken_at_ms: u64,
    /// Seconds since the monitor was created.
    pub uptime_seconds: f64,
    /// Seconds since the last `reset_metrics()` (or creation).
    pub period_seconds: f64,
    /// Built-in operations always (in SPEC order), then application operations.
    pub operations: Vec<OperationMetrics>,
    /// Failed calls by error code, over every operation (every code listed).
    pub errors_by_code: BTreeMap<String, u64>,
    pub pool: PoolMetrics,
    pub scripts: ScriptMetrics,
    /// Alerts pending or firing now.
    pub alerts: Vec<ActiveAlert>,
}

/// Where an operation's measurements come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// An executor operation, measured by the core.
    Builtin,
    /// Recorded by the application with `record_operation`.
    Application,
}

/// Measurements of one operation over the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationMetrics {
    pub name: String,
    pub kind: OperationKind,
    pub count: u64,
    pub errors: u64,
    /// errors / count (0 when count is 0).
    pub error_rate: f64,
    /// Failed calls by error code (codes with at least one failure).
    pub errors_by_code: BTreeMap<String, u64>,
    pub throughput: Throughput,
    pub latency_ms: Latency,
    /// Items passed in batch calls (uids, services), 0 for other operations.
    pub batch_items: u64,
    /// Largest batch seen.
    pub batch_max: u64,
}

/// Completed calls per second over the last whole 1, 10 and 60 seconds (while the
/// period is younger than the window, over the whole seconds it has lasted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throughput {
    pub last_1s: f64,
    pub last_10s: f64,
    pub last_60s: f64,
}

/// Latency in milliseconds (0 everywhere when count is 0). Min and max are exact;
/// percentiles are within 0.8% of the exact value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Connection statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolMetrics {
    /// Multiplexed connections open now.
    pub connections: u64,
    /// Connections carrying at least one call now (min(in_flight, connections)).
    pub in_use: u64,
    /// Calls in flight now.
    pub in_flight: u64,
    /// Highest number of calls in flight during the period.
    pub in_flight_peak: u64,
    /// The `max_in_flight` option (0 when no executor is attached).
    pub max_in_flight: u64,
    /// Calls that started while every connection already carried a call.
    pub contended_calls: u64,
    /// Pauses before re-sending a request (retry backoff, reconnection).
    pub waits: u64,
    /// Total time of those pauses, in milliseconds.
    pub wait_ms_total: f64,
    /// 99th percentile of one pause, in milliseconds.
    pub wait_ms_p99: f64,
    /// Connections re-established after a loss (counted at their first reply,
    /// however many calls failed meanwhile) and stalled connections replaced.
    pub reconnects: u64,
}

/// Script statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptMetrics {
    pub evalsha_calls: u64,
    /// Scripts loaded again after a `NOSCRIPT` reply.
    pub noscript_reloads: u64,
}

impl MetricsSnapshot {
    /// The named operation, if listed.
    pub fn operation(&self, name: &str) -> Option<&OperationMetrics> {
        self.operations.iter().find(|o| o.name == name)
    }

    /// The snapshot as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a snapshot always serializes")
    }
}
