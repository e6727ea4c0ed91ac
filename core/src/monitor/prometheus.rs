//! Prometheus exposition of the current period: the metric families
//! ([`MetricFamily`], built once here) and their text format 0.0.4 ([`render`]).
//! The bindings hand the same families to the registries users run (Python
//! `prometheus_client`, Node `prom-client`), so the names and labels are the same
//! whichever way they are scraped.
//!
//! Conventions: every name starts with `stateful_redis_`; durations are in seconds
//! (`_seconds`); counters end in `_total`; the labels are `operation` (the 17
//! built-in operations, at most 64 application names and `other`), `code` (the
//! 11 error codes), `version` on `stateful_redis_build_info`, and the executor's
//! const labels (option `metrics_labels`) on every series, so the series count is
//! bounded: 17 operations × 20 histogram
//! series plus a few dozen others at defaults (about 400), under 2,000 with every
//! application slot in use. Histogram buckets are log-spaced from 50 µs to 10 s
//! (1–2.5–5 steps); they are folded from the fine histogram, so a value within 1/64
//! of a bucket bound may be counted on the other side of it.
//!
//! Counters restart from zero after `reset_metrics()`, which Prometheus's `rate()`
//! treats as a counter reset.

use std::fmt::Write;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

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
pub const FAMILIES: [(&str, &str); 21] = [
    ("stateful_redis_build_info", "gauge"),
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

/// Name of the histogram family and of its samples.
const DURATION: &str = "stateful_redis_operation_duration_seconds";
const DURATION_BUCKET: &str = "stateful_redis_operation_duration_seconds_bucket";
const DURATION_SUM: &str = "stateful_redis_operation_duration_seconds_sum";
const DURATION_COUNT: &str = "stateful_redis_operation_duration_seconds_count";

/// Labels of one sample, in order: the series' own (`operation`, `code`, `le`,
/// `version`), then the const labels. Serialized as a JSON object. Names and
/// values are shared (`Arc<str>`): a few dozen distinct strings make the ~2,000
/// labels of an exposition, so one is allocated once per exposition, not once
/// per sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels(pub Vec<(Arc<str>, Arc<str>)>);

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(&**k, &**v)?;
        }
        map.end()
    }
}

/// One sample: a series and its value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSample {
    /// The family's name; for a histogram, it with `_bucket`, `_sum` or `_count`.
    pub name: &'static str,
    pub labels: Labels,
    pub value: f64,
}

/// One metric family: its name, type (`counter`, `gauge`, `histogram`), help
/// text and samples. What [`render`] writes, and what the bindings convert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricFamily {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub help: &'static str,
    pub samples: Vec<MetricSample>,
}

/// Builds the families, adding `const_labels` to every sample.
struct Builder {
    families: Vec<MetricFamily>,
    const_labels: Vec<(Arc<str>, Arc<str>)>,
}

impl Builder {
    fn family(&mut self, name: &'static str, kind: &'static str, help: &'static str) {
        self.families.push(MetricFamily {
            name,
            kind,
            help,
            samples: Vec::new(),
        });
    }

    /// A sample of the last family, with its own labels.
    fn sample(&mut self, name: &'static str, own: &[(&Arc<str>, &Arc<str>)], value: f64) {
        let mut labels = Vec::with_capacity(own.len() + self.const_labels.len());
        labels.extend(own.iter().map(|(k, v)| (Arc::clone(k), Arc::clone(v))));
        labels.extend_from_slice(&self.const_labels);
        let family = self.families.last_mut().expect("a family first");
        family.samples.push(MetricSample {
            name,
            labels: Labels(labels),
            value,
        });
    }

    fn single(&mut self, name: &'static str, kind: &'static str, help: &'static str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// The families of a reading; every sample carries `const_labels` (checked by
/// `validate::validate_metric_labels`) after its own labels.
pub(crate) fn families(r: &Reading, const_labels: &[(String, String)]) -> Vec<MetricFamily> {
    let mut b = Builder {
        families: Vec::with_capacity(FAMILIES.len()),
        const_labels: const_labels
            .iter()
            .map(|(k, v)| (Arc::from(k.as_str()), Arc::from(v.as_str())))
            .collect(),
    };
    // Each label name and value once (the samples share them).
    let text = |s: &str| -> Arc<str> { Arc::from(s) };
    let (operation, code, le) = (text("operation"), text("code"), text("le"));
    let les: Vec<Arc<str>> = BUCKETS_LE
        .iter()
        .chain(&["+Inf"])
        .map(|l| text(l))
        .collect();
    let codes: Vec<Arc<str>> = ErrorCode::ALL.iter().map(|c| text(c.as_str())).collect();
    let application = text("APPLICATION");
    let ops: Vec<Arc<str>> = r.slots.iter().map(|s| text(&s.name)).collect();
    b.family(
        "stateful_redis_build_info",
        "gauge",
        "Version of the stateful-redis core; always 1.",
    );
    b.sample(
        "stateful_redis_build_info",
        &[(&text("version"), &text(env!("CARGO_PKG_VERSION")))],
        1.0,
    );
    b.single(
        "stateful_redis_uptime_seconds",
        "gauge",
        "Seconds since the monitor was created.",
        r.uptime_seconds,
    );
    b.single(
        "stateful_redis_period_seconds",
        "gauge",
        "Seconds since the last reset of the metrics.",
        r.period_seconds,
    );

    b.family(
        "stateful_redis_operations_total",
        "counter",
        "Completed calls by operation (failed ones included).",
    );
    for (s, op) in r.slots.iter().zip(&ops) {
        b.sample(
            "stateful_redis_operations_total",
            &[(&operation, op)],
            s.latency.count as f64,
        );
    }

    b.family(
        "stateful_redis_operation_errors_total",
        "counter",
        "Failed calls by operation and error code (code \"APPLICATION\" for record_operation failures).",
    );
    for (s, op) in r.slots.iter().zip(&ops) {
        let mut coded = 0;
        for (c, n) in codes.iter().zip(s.errors_by_code) {
            if n > 0 {
                coded += n;
                b.sample(
                    "stateful_redis_operation_errors_total",
                    &[(&operation, op), (&code, c)],
                    n as f64,
                );
            }
        }
        if s.errors > coded {
            b.sample(
                "stateful_redis_operation_errors_total",
                &[(&operation, op), (&code, &application)],
                (s.errors - coded) as f64,
            );
        }
    }

    b.family(
        DURATION,
        "histogram",
        "Duration of calls by operation, in seconds.",
    );
    for (s, op) in r.slots.iter().zip(&ops) {
        let cumulative = s.latency.cumulative_at(&BUCKETS_NANOS);
        let count = s.latency.count as f64;
        // The +Inf bucket is the count.
        let counts = cumulative.iter().map(|n| *n as f64).chain([count]);
        for (bound, n) in les.iter().zip(counts) {
            b.sample(DURATION_BUCKET, &[(&operation, op), (&le, bound)], n);
        }
        b.sample(
            DURATION_SUM,
            &[(&operation, op)],
            s.latency.sum as f64 / 1e9,
        );
        b.sample(DURATION_COUNT, &[(&operation, op)], count);
    }

    b.family(
        "stateful_redis_batch_items_total",
        "counter",
        "Items (uids, services) passed to batch operations.",
    );
    for (s, op) in r.slots.iter().zip(&ops).filter(|(s, _)| {
        s.batch_items > 0 || s.name == "batch_get_linked_pod" || s.name == "get_workload_states"
    }) {
        b.sample(
            "stateful_redis_batch_items_total",
            &[(&operation, op)],
            s.batch_items as f64,
        );
    }

    b.family(
        "stateful_redis_errors_total",
        "counter",
        "Failed calls by error code, over every operation.",
    );
    for (i, c) in codes.iter().enumerate() {
        let n: u64 = r.slots.iter().map(|s| s.errors_by_code[i]).sum();
        b.sample("stateful_redis_errors_total", &[(&code, c)], n as f64);
    }

    let p = &r.pool;
    let gauges: [(&'static str, &'static str, &'static str, f64); 13] = [
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
        b.single(name, kind, help, value);
    }
    b.families
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A sample value as the text format writes it (`+Inf`, `-Inf`, `NaN`).
fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{value}");
    }
}

/// The text format 0.0.4 of `families`.
pub fn render(families: &[MetricFamily]) -> String {
    let mut out = String::with_capacity(64 * 1024);
    for f in families {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        for s in &f.samples {
            out.push_str(s.name);
            if !s.labels.0.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.0.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push_str("=\"");
                    escape(v, &mut out);
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            write_value(&mut out, s.value);
            out.push('\n');
        }
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
