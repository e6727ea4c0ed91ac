//! Prometheus text exposition (format 0.0.4) of the current period.
//!
//! Conventions: every name starts with `stateful_redis_`; durations are in seconds
//! (`_seconds`); counters end in `_total`; the only labels are `operation` (the 17
//! built-in operations, at most 64 application names and `other`) and `code` (the
//! 11 error codes), so the series count is bounded: 17 operations × 20 histogram
//! series plus a few dozen others at defaults (about 400), under 2,000 with every
//! application slot in use. Histogram buckets are log-spaced from 50 µs to 10 s
//! (1–2.5–5 steps); they are folded from the fine histogram, so a value within 1/64
//! of a bucket bound may be counted on the other side of it.
//!
//! Counters restart from zero after `reset_metrics()`, which Prometheus's `rate()`
//! treats as a counter reset.

use std::fmt::Write;

use super::reading::Reading;
use crate::error::ErrorCode;

/// Upper bounds of the exported duration buckets, in seconds.
pub const BUCKETS_SECONDS: [f64; 17] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// [`BUCKETS_SECONDS`] as written in `le` labels.
const BUCKETS_LE: [&str; 17] = [
    "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
];

/// [`BUCKETS_SECONDS`] in nanoseconds.
const BUCKETS_NANOS: [f64; 17] = [
    5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7, 2.5e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 2.5e9, 5e9, 1e10,
];

/// Every metric family exported, with its type: what dashboards may query.
pub const FAMILIES: [(&str, &str); 20] = [
    ("stateful_redis_uptime_seconds", "gauge"),
    ("stateful_redis_period_seconds", "gauge"),
    ("stateful_redis_operations_total", "counter"),
    ("stateful_redis_operation_errors_total", "counter"),
    ("stateful_redis_operation_duration_seconds", "histogram"),
    ("stateful_redis_batch_items_total", "counter"),
    ("stateful_redis_errors_total", "counter"),
    ("stateful_redis_in_flight", "gauge"),
    ("stateful_redis_in_flight_peak", "gauge"),
    ("stateful_redis_max_in_flight", "gauge"),
    ("stateful_redis_pool_connections", "gauge"),
    ("stateful_redis_pool_connections_in_use", "gauge"),
    ("stateful_redis_pool_contended_calls_total", "counter"),
    ("stateful_redis_pool_waits_total", "counter"),
    ("stateful_redis_pool_wait_seconds_total", "counter"),
    ("stateful_redis_reconnects_total", "counter"),
    ("stateful_redis_script_calls_total", "counter"),
    ("stateful_redis_script_reloads_total", "counter"),
    ("stateful_redis_alerts_firing", "gauge"),
    ("stateful_redis_alerts_pending", "gauge"),
];

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn single(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Escapes a label value (names are already restricted, but be safe).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) fn render(r: &Reading) -> String {
    let mut out = String::with_capacity(64 * 1024);
    single(
        &mut out,
        "stateful_redis_uptime_seconds",
        "gauge",
        "Seconds since the monitor was created.",
        r.uptime_seconds,
    );
    single(
        &mut out,
        "stateful_redis_period_seconds",
        "gauge",
        "Seconds since the last reset of the metrics.",
        r.period_seconds,
    );

    header(
        &mut out,
        "stateful_redis_operations_total",
        "counter",
        "Completed calls by operation (failed ones included).",
    );
    for s in &r.slots {
        let _ = writeln!(
            out,
            "stateful_redis_operations_total{{operation=\"{}\"}} {}",
            escape(&s.name),
            s.latency.count
        );
    }

    header(
        &mut out,
        "stateful_redis_operation_errors_total",
        "counter",
        "Failed calls by operation and error code (code \"APPLICATION\" for record_operation failures).",
    );
    for s in &r.slots {
        let mut coded = 0;
        for (c, n) in ErrorCode::ALL.iter().zip(s.errors_by_code) {
            if n > 0 {
                coded += n;
                let _ = writeln!(
                    out,
                    "stateful_redis_operation_errors_total{{operation=\"{}\",code=\"{}\"}} {n}",
                    escape(&s.name),
                    c.as_str()
                );
            }
        }
        if s.errors > coded {
            let _ = writeln!(
                out,
                "stateful_redis_operation_errors_total{{operation=\"{}\",code=\"APPLICATION\"}} {}",
                escape(&s.name),
                s.errors - coded
            );
        }
    }

    header(
        &mut out,
        "stateful_redis_operation_duration_seconds",
        "histogram",
        "Duration of calls by operation, in seconds.",
    );
    for s in &r.slots {
        let name = escape(&s.name);
        let cumulative = s.latency.cumulative_at(&BUCKETS_NANOS);
        for (le, n) in BUCKETS_LE.iter().zip(cumulative) {
            let _ = writeln!(
                out,
                "stateful_redis_operation_duration_seconds_bucket{{operation=\"{name}\",le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "stateful_redis_operation_duration_seconds_bucket{{operation=\"{name}\",le=\"+Inf\"}} {}",
            s.latency.count
        );
        let _ = writeln!(
            out,
            "stateful_redis_operation_duration_seconds_sum{{operation=\"{name}\"}} {}",
            s.latency.sum as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "stateful_redis_operation_duration_seconds_count{{operation=\"{name}\"}} {}",
            s.latency.count
        );
    }

    header(
        &mut out,
        "stateful_redis_batch_items_total",
        "counter",
        "Items (uids, services) passed to batch operations.",
    );
    for s in r.slots.iter().filter(|s| {
        s.batch_items > 0 || s.name == "batch_get_linked_pod" || s.name == "get_workload_states"
    }) {
        let _ = writeln!(
            out,
            "stateful_redis_batch_items_total{{operation=\"{}\"}} {}",
            escape(&s.name),
            s.batch_items
        );
    }

    header(
        &mut out,
        "stateful_redis_errors_total",
        "counter",
        "Failed calls by error code, over every operation.",
    );
    for (i, c) in ErrorCode::ALL.iter().enumerate() {
        let n: u64 = r.slots.iter().map(|s| s.errors_by_code[i]).sum();
        let _ = writeln!(
            out,
            "stateful_redis_errors_total{{code=\"{}\"}} {n}",
            c.as_str()
        );
    }

    let p = &r.pool;
    let gauges: [(&str, &str, &str, f64); 13] = [
        (
            "stateful_redis_in_flight",
            "gauge",
            "Calls in flight now.",
            p.in_flight as f64,
        ),
        (
            "stateful_redis_in_flight_peak",
            "gauge",
            "Most calls in flight at once in this period.",
            p.in_flight_peak as f64,
        ),
        (
            "stateful_redis_max_in_flight",
            "gauge",
            "The max_in_flight option.",
            p.max_in_flight as f64,
        ),
        (
            "stateful_redis_pool_connections",
            "gauge",
            "Multiplexed connections open.",
            p.connections as f64,
        ),
        (
            "stateful_redis_pool_connections_in_use",
            "gauge",
            "Connections carrying at least one call.",
            p.in_use as f64,
        ),
        (
            "stateful_redis_pool_contended_calls_total",
            "counter",
            "Calls started while every connection carried a call.",
            p.contended_calls as f64,
        ),
        (
            "stateful_redis_pool_waits_total",
            "counter",
            "Pauses before re-sending a request.",
            p.waits as f64,
        ),
        (
            "stateful_redis_pool_wait_seconds_total",
            "counter",
            "Time spent in those pauses, in seconds.",
            p.wait_ms_total / 1e3,
        ),
        (
            "stateful_redis_reconnects_total",
            "counter",
            "Lost connections noticed.",
            p.reconnects as f64,
        ),
        (
            "stateful_redis_script_calls_total",
            "counter",
            "EVALSHA calls.",
            r.scripts.evalsha_calls as f64,
        ),
        (
            "stateful_redis_script_reloads_total",
            "counter",
            "Scripts reloaded after NOSCRIPT.",
            r.scripts.noscript_reloads as f64,
        ),
        (
            "stateful_redis_alerts_firing",
            "gauge",
            "Alerts firing now.",
            r.firing as f64,
        ),
        (
            "stateful_redis_alerts_pending",
            "gauge",
            "Alerts pending now.",
            r.pending as f64,
        ),
    ];
    for (name, kind, help, value) in gauges {
        single(&mut out, name, kind, help, value);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bucket_bounds_agree() {
        for (i, s) in super::BUCKETS_SECONDS.iter().enumerate() {
            assert!((s * 1e9 - super::BUCKETS_NANOS[i]).abs() < 1e-3);
            assert_eq!(super::BUCKETS_LE[i].parse::<f64>().unwrap(), *s);
        }
    }
}
