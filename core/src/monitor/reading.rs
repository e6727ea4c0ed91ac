//! One read of a measurement period's counters, turned into a
//! [`MetricsSnapshot`] here or into a Prometheus exposition (`prometheus`).

use std::collections::BTreeMap;

use super::alerts::ActiveAlert;
use super::collector::FailedReading;
use super::histogram::HistogramData;
use super::snapshot::{
    self, Latency, MetricsSnapshot, OperationKind, OperationMetrics, PoolMetrics, ScriptMetrics,
    Throughput,
};
use crate::error::ErrorCode;

/// One operation's figures, read from a period.
pub(crate) struct SlotReading {
    pub name: String,
    pub kind: OperationKind,
    pub latency: HistogramData,
    pub errors: u64,
    pub errors_by_code: [u64; ErrorCode::ALL.len()],
    pub batch_items: u64,
    pub batch_max: u64,
    pub throughput: Throughput,
    /// Failed calls' durations by error class (see `collector::SlotStats::failed`).
    pub failed: [FailedReading; super::otel::ERROR_CLASSES],
}

/// A period's figures, read once and turned into a snapshot or an exposition.
pub(crate) struct Reading {
    pub taken_at_ms: u64,
    /// Wall-clock start of the period and time of the reading, Unix epoch
    /// nanoseconds (the monitor's creation time plus its monotonic clock).
    pub period_start_unix_nanos: u64,
    pub taken_at_unix_nanos: u64,
    pub uptime_seconds: f64,
    pub period_seconds: f64,
    pub slots: Vec<SlotReading>,
    pub pool: PoolMetrics,
    pub scripts: ScriptMetrics,
    pub active: Vec<ActiveAlert>,
    pub firing: usize,
    pub pending: usize,
}

impl Reading {
    pub(super) fn into_snapshot(self) -> MetricsSnapshot {
        let mut errors_by_code: BTreeMap<String, u64> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), 0))
            .collect();
        let operations = self
            .slots
            .into_iter()
            .map(|s| {
                let l = &s.latency;
                let mut by_code = BTreeMap::new();
                for (c, n) in ErrorCode::ALL.iter().zip(s.errors_by_code) {
                    if n > 0 {
                        by_code.insert(c.as_str().to_string(), n);
                        *errors_by_code.get_mut(c.as_str()).unwrap() += n;
                    }
                }
                let ms = |ns: f64| ns / 1e6;
                let qs = l.quantiles(&[0.5, 0.9, 0.99, 0.999]);
                OperationMetrics {
                    name: s.name,
                    kind: s.kind,
                    count: l.count,
                    errors: s.errors,
                    error_rate: if l.count == 0 {
                        0.0
                    } else {
                        s.errors as f64 / l.count as f64
                    },
                    errors_by_code: by_code,
                    throughput: s.throughput,
                    latency_ms: if l.count == 0 {
                        Latency::default()
                    } else {
                        Latency {
                            min: ms(l.min as f64),
                            mean: ms(l.mean()),
                            p50: ms(qs[0]),
                            p90: ms(qs[1]),
                            p99: ms(qs[2]),
                            p999: ms(qs[3]),
                            max: ms(l.max as f64),
                        }
                    },
                    batch_items: s.batch_items,
                    batch_max: s.batch_max,
                }
            })
            .collect();
        MetricsSnapshot {
            schema_version: snapshot::SCHEMA_VERSION,
            taken_at_ms: self.taken_at_ms,
            uptime_seconds: self.uptime_seconds,
            period_seconds: self.period_seconds,
            operations,
            errors_by_code,
            pool: self.pool,
            scripts: self.scripts,
            alerts: self.active,
        }
    }
}
