//! Optimisation suggestions: rules over a snapshot and the executor's settings.
//!
//! Each rule has a stable id; its suggestion carries a severity, a message that
//! says what to do, and the metric values that triggered it. The table of rules
//! is in `docs/monitor.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::pool::PoolFacts;
use super::snapshot::MetricsSnapshot;

/// How urgent a suggestion is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// One suggestion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The rule's stable id (`error_rate_high`, ...).
    pub id: String,
    pub severity: Severity,
    pub message: String,
    /// The metric values behind it.
    pub evidence: BTreeMap<String, f64>,
}

/// Ids of every rule, in evaluation order.
pub const RULES: [&str; 12] = [
    "monitor_disabled",
    "error_rate_high",
    "timeouts",
    "timeout_tight",
    "tail_latency",
    "noscript_reloads",
    "reconnects",
    "large_batches",
    "in_flight_limit",
    "pool_contention",
    "pool_oversized",
    "stale_period",
];

/// Calls needed before latency or error-rate rules speak.
pub const MIN_CALLS: u64 = 20;
/// A batch call with more items than this is "large".
pub const LARGE_BATCH: u64 = 10_000;
/// Concurrent calls one multiplexed connection pipelines well.
pub use crate::pool::CALLS_PER_CONNECTION;

fn evidence<const N: usize>(pairs: [(&str, f64); N]) -> BTreeMap<String, f64> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn suggestion(
    id: &str,
    severity: Severity,
    message: String,
    evidence: BTreeMap<String, f64>,
) -> Suggestion {
    Suggestion {
        id: id.to_string(),
        severity,
        message,
        evidence,
    }
}

/// Every suggestion the rules make for this snapshot and these settings.
pub fn suggest(s: &MetricsSnapshot, facts: Option<&PoolFacts>) -> Vec<Suggestion> {
    let mut out = Vec::new();
    let total: u64 = s.operations.iter().map(|o| o.count).sum();

    if let Some(f) = facts {
        if !f.monitor_enabled {
            out.push(suggestion(
                "monitor_disabled",
                Severity::Warning,
                "the monitor is off (option monitor = false): executor operations are not measured, \
                 so no other rule can speak; turn it on (it costs well under a microsecond per call)"
                    .into(),
                evidence([("monitor_enabled", 0.0)]),
            ));
        }
    }

    for op in s.operations.iter().filter(|o| o.count >= MIN_CALLS) {
        if op.error_rate > 0.05 {
            let severity = if op.error_rate > 0.5 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            out.push(suggestion(
                "error_rate_high",
                severity,
                format!(
                    "{} fails in {:.1}% of calls ({} of {}); see errors_by_code for the cause",
                    op.name,
                    op.error_rate * 100.0,
                    op.errors,
                    op.count
                ),
                evidence([
                    (&format!("{}.error_rate", op.name) as &str, op.error_rate),
                    (&format!("{}.errors", op.name), op.errors as f64),
                    (&format!("{}.count", op.name), op.count as f64),
                ]),
            ));
        }
    }

    let timeouts = s.errors_by_code.get("TIMEOUT").copied().unwrap_or(0);
    if timeouts >= 5 && total > 0 && timeouts as f64 / total as f64 >= 0.01 {
        let mut ev = evidence([
            ("errors.TIMEOUT", timeouts as f64),
            ("timeout_rate", timeouts as f64 / total as f64),
        ]);
        if let Some(f) = facts {
            ev.insert("command_timeout_ms".into(), f.command_timeout_ms as f64);
        }
        out.push(suggestion(
            "timeouts",
            Severity::Warning,
            format!(
                "{:.1}% of calls hit the command timeout: the server is slow or paused (check SLOWLOG, \
                 persistence forks, CPU), or command_timeout_ms is too small",
                100.0 * timeouts as f64 / total as f64
            ),
            ev,
        ));
    }

    if let Some(f) = facts {
        let timeout_ms = f.command_timeout_ms as f64;
        if let Some(op) = s
            .operations
            .iter()
            .filter(|o| o.count >= MIN_CALLS)
            .max_by(|a, b| a.latency_ms.p999.total_cmp(&b.latency_ms.p999))
        {
            if op.latency_ms.p999 > 0.5 * timeout_ms {
                out.push(suggestion(
                    "timeout_tight",
                    Severity::Warning,
                    format!(
                        "{}'s p99.9 latency ({:.1} ms) is more than half the command timeout ({} ms): \
                         slow calls will soon fail with TIMEOUT; raise command_timeout_ms or find the slowness",
                        op.name, op.latency_ms.p999, f.command_timeout_ms
                    ),
                    evidence([
                        (&format!("{}.p999_ms", op.name) as &str, op.latency_ms.p999),
                        ("command_timeout_ms", timeout_ms),
                    ]),
                ));
            }
        }
    }

    // With fewer than 100 calls the p99 is simply the slowest call: wait for more.
    for op in s.operations.iter().filter(|o| o.count >= 100) {
        let l = op.latency_ms;
        if l.p99 >= 1.0 && l.p50 > 0.0 && l.p99 > 10.0 * l.p50 {
            out.push(suggestion(
                "tail_latency",
                Severity::Info,
                format!(
                    "{}'s p99 ({:.2} ms) is {:.0}x its median ({:.3} ms): a few calls are much slower \
                     (slow commands on the server, large values, or a busy client runtime)",
                    op.name,
                    l.p99,
                    l.p99 / l.p50,
                    l.p50
                ),
                evidence([
                    (&format!("{}.p50_ms", op.name) as &str, l.p50),
                    (&format!("{}.p99_ms", op.name), l.p99),
                ]),
            ));
        }
    }

    if s.scripts.noscript_reloads > 0 {
        let ratio = s.scripts.noscript_reloads as f64 / s.scripts.evalsha_calls.max(1) as f64;
        out.push(suggestion(
            "noscript_reloads",
            if ratio >= 0.01 {
                Severity::Warning
            } else {
                Severity::Info
            },
            format!(
                "{} NOSCRIPT reloads: the server lost its scripts (restart, failover or SCRIPT FLUSH); \
                 call optimize_lua_scripts() after such events to preload them on every node",
                s.scripts.noscript_reloads
            ),
            evidence([
                ("scripts.noscript_reloads", s.scripts.noscript_reloads as f64),
                ("scripts.evalsha_calls", s.scripts.evalsha_calls as f64),
            ]),
        ));
    }

    if s.pool.reconnects >= 3 {
        out.push(suggestion(
            "reconnects",
            Severity::Warning,
            format!(
                "{} connections lost and re-established (or stalled and replaced) in {:.0} s: \
                 the network or the server is unstable \
                 (check timeouts of proxies, maxclients, server restarts)",
                s.pool.reconnects, s.period_seconds
            ),
            evidence([
                ("pool.reconnects", s.pool.reconnects as f64),
                ("period_seconds", s.period_seconds),
            ]),
        ));
    }

    for op in s.operations.iter().filter(|o| o.batch_items > 0) {
        let mean = op.batch_items as f64 / op.count.max(1) as f64;
        if op.batch_max > LARGE_BATCH {
            out.push(suggestion(
                "large_batches",
                Severity::Info,
                format!(
                    "{} received batches of up to {} items (mean {:.0}): one call holds the server \
                     and the connection for its whole reply; split into batches of at most {LARGE_BATCH}",
                    op.name, op.batch_max, mean
                ),
                evidence([
                    (&format!("{}.batch_max", op.name) as &str, op.batch_max as f64),
                    (&format!("{}.batch_mean", op.name), mean),
                ]),
            ));
        }
    }

    let busy = s.errors_by_code.get("BUSY").copied().unwrap_or(0);
    if let Some(f) = facts {
        let near = f.max_in_flight > 0 && s.pool.in_flight_peak * 10 >= f.max_in_flight * 8;
        if busy > 0 || near {
            out.push(suggestion(
                "in_flight_limit",
                Severity::Warning,
                format!(
                    "calls in flight reached {} of max_in_flight {} ({} calls refused with BUSY): \
                     raise max_in_flight or slow the callers down",
                    s.pool.in_flight_peak, f.max_in_flight, busy
                ),
                evidence([
                    ("pool.in_flight_peak", s.pool.in_flight_peak as f64),
                    ("max_in_flight", f.max_in_flight as f64),
                    ("errors.BUSY", busy as f64),
                ]),
            ));
        }

        let conns = f.connections.max(1);
        if total >= MIN_CALLS
            && conns < f.max_connections
            && s.pool.in_flight_peak >= CALLS_PER_CONNECTION * conns
            && s.pool.contended_calls * 2 > total
        {
            out.push(suggestion(
                "pool_contention",
                Severity::Info,
                format!(
                    "up to {} calls in flight share {} connection(s) (more than {CALLS_PER_CONNECTION} each): \
                     optimize_connection_pool() can open more",
                    s.pool.in_flight_peak, conns
                ),
                evidence([
                    ("pool.in_flight_peak", s.pool.in_flight_peak as f64),
                    ("pool.connections", conns as f64),
                    ("pool.contended_calls", s.pool.contended_calls as f64),
                ]),
            ));
        }

        if total >= MIN_CALLS && conns > 1 && s.pool.in_flight_peak < conns {
            out.push(suggestion(
                "pool_oversized",
                Severity::Info,
                format!(
                    "{} connections but never more than {} calls in flight: one multiplexed \
                     connection batches better; optimize_connection_pool() can close the extra ones",
                    conns, s.pool.in_flight_peak
                ),
                evidence([
                    ("pool.in_flight_peak", s.pool.in_flight_peak as f64),
                    ("pool.connections", conns as f64),
                ]),
            ));
        }
    }

    let last_60s: f64 = s.operations.iter().map(|o| o.throughput.last_60s).sum();
    if total > 0 && s.period_seconds >= 60.0 && last_60s == 0.0 {
        out.push(suggestion(
            "stale_period",
            Severity::Info,
            format!(
                "no call in the last 60 s but {total} in the {:.0} s period: the cumulative figures \
                 describe old traffic; call reset_metrics() to start a new period",
                s.period_seconds
            ),
            evidence([
                ("calls_in_period", total as f64),
                ("period_seconds", s.period_seconds),
                ("qps_60s", 0.0),
            ]),
        ));
    } else if s.period_seconds >= 86_400.0 {
        out.push(suggestion(
            "stale_period",
            Severity::Info,
            format!(
                "the measurement period has lasted {:.1} days without reset_metrics(): percentiles \
                 mix old and new traffic",
                s.period_seconds / 86_400.0
            ),
            evidence([("period_seconds", s.period_seconds)]),
        ));
    }

    out
}
