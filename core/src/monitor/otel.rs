//! The monitor's figures as OpenTelemetry metrics following the database client
//! semantic conventions (`db.client.operation.duration` and the connection pool
//! metrics), built once here; the bindings hand them to the OpenTelemetry SDKs
//! (Python `stateful_redis.otel`, Node `otel.js`). `docs/opentelemetry.md` has
//! the mapping table and the reasons.
//!
//! **Buckets.** The duration histogram has 17 explicit bounds near the
//! Prometheus exposition's (50 µs to 10 s, 1–2.5–5 steps), each moved to the
//! nearest edge of the monitor's fine histogram: bound `i` is the last
//! nanosecond of a fine bucket, `bucket_low(EDGES[i]) - 1` ns, written in seconds
//! (the integer divided by 1e9, one correctly rounded division). So every fine
//! bucket lies wholly inside one exported bucket and the exported counts are
//! exact (`value <= bound` is decided on the integer nanoseconds the monitor
//! recorded), unlike the Prometheus buckets, which are folded by bucket
//! midpoints. The bounds are a few tenths of a percent off the round numbers
//! (0.000050175 s for 50 µs).
//!
//! **error.type.** The fine histogram counts every call; the failed ones are
//! also counted by error class in these buckets (`collector::FailedLatency`,
//! written only when a call fails). The point without `error.type` is the
//! difference: all calls minus the failed ones, bucket by bucket. A call
//! recorded while the figures are read may show in one and not yet in the other;
//! the difference is clamped at zero.
//!
//! **Temporality.** Cumulative: every point starts at the period's start (the
//! monitor's creation or the last `reset_metrics`); after a reset the values
//! restart from zero with a new start time.

use std::sync::OnceLock;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::histogram::{bucket_low, bucket_of, bucket_width, BUCKETS as FINE_BUCKETS};
use super::pool::PoolFacts;
use super::reading::Reading;
use crate::error::ErrorCode;

/// Explicit bounds of the duration histogram (so `BOUNDS + 1` buckets).
pub const BOUNDS: usize = 17;
/// Buckets of the duration histogram, the last one unbounded.
pub const BUCKETS: usize = BOUNDS + 1;
/// Error classes: the error codes, then failures without a code
/// (`record_operation(..., success=false)`), exported as `_OTHER`.
pub const ERROR_CLASSES: usize = ErrorCode::ALL.len() + 1;

/// The round durations the bounds are placed near, in nanoseconds (those of
/// the Prometheus exposition).
const TARGETS_NANOS: [u64; BOUNDS] = [
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// For each bound, the first fine bucket above it: a fine bucket `f` is in
/// exported bucket `EDGES.partition_point(|e| *e <= f)`.
fn edges() -> &'static [usize; BOUNDS] {
    static EDGES: OnceLock<[usize; BOUNDS]> = OnceLock::new();
    EDGES.get_or_init(|| {
        std::array::from_fn(|i| {
            let target = TARGETS_NANOS[i];
            let f = bucket_of(target);
            let (low, high) = (bucket_low(f), bucket_low(f) + bucket_width(f));
            // The fine edge nearest the target.
            if target - low <= high - target {
                f
            } else {
                f + 1
            }
        })
    })
}

/// The exported bucket of fine bucket `fine`.
#[inline]
pub fn bucket_of_fine(fine: usize) -> usize {
    edges().partition_point(|e| *e <= fine)
}

/// The explicit bounds in nanoseconds: the last nanosecond of the fine bucket
/// below each edge.
pub fn bounds_nanos() -> [u64; BOUNDS] {
    std::array::from_fn(|i| bucket_low(edges()[i]) - 1)
}

/// The explicit bounds in seconds.
pub fn bounds_seconds() -> [f64; BOUNDS] {
    bounds_nanos().map(|n| n as f64 / 1e9)
}

/// The server an executor talks to, for the attributes: set by the executor
/// once connected (`Monitor::set_server`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// `server.address`, `server.port`, `db.namespace` (the database index):
    /// a standalone server only. In cluster mode each call may go to another
    /// node, so they are left out.
    pub standalone: Option<(String, Option<u16>, i64)>,
    /// `db.client.connection.pool.name`: `host:port/db` (or `path/db`) of the
    /// address the executor was given (the first seed in cluster mode).
    pub pool_name: String,
}

/// An attribute value: a string or an integer (`server.port`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttributeValue {
    Str(String),
    Int(i64),
}

/// Attributes in order, serialized as a JSON object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributes(pub Vec<(String, AttributeValue)>);

impl Attributes {
    fn with(&self, key: &str, value: impl Into<String>) -> Attributes {
        let mut a = self.clone();
        a.0.push((key.to_string(), AttributeValue::Str(value.into())));
        a
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&AttributeValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A number: counts are integers, durations in seconds are floats.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Number {
    Int(u64),
    Float(f64),
}

/// The instrument a metric is: `counter` (monotonic sum), `updowncounter`
/// (non-monotonic sum), `gauge`, `histogram` (explicit buckets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Counter,
    UpDownCounter,
    Gauge,
    Histogram,
}

/// One point: a value (sums, gauges) or a histogram's count, sum (seconds)
/// and per-bucket counts (not cumulative; `BOUNDS + 1` of them).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    pub attributes: Attributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_counts: Option<Vec<u64>>,
}

impl Point {
    fn value(attributes: Attributes, value: Number) -> Point {
        Point {
            attributes,
            value: Some(value),
            count: None,
            sum: None,
            bucket_counts: None,
        }
    }
}

/// One metric: name, description, unit (UCUM), instrument kind, the explicit
/// bounds of a histogram (seconds), and its points.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metric {
    pub name: &'static str,
    pub description: &'static str,
    pub unit: &'static str,
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundaries: Option<Vec<f64>>,
    pub points: Vec<Point>,
}

/// A Unix time: whole seconds and nanoseconds (Node's `HrTime`; exact where a
/// JavaScript number of nanoseconds would not be).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Timestamp {
    pub seconds: u64,
    pub nanos: u32,
}

impl Timestamp {
    fn of_nanos(n: u64) -> Timestamp {
        Timestamp {
            seconds: n / 1_000_000_000,
            nanos: (n % 1_000_000_000) as u32,
        }
    }
}

/// Every metric of one read, with the cumulative period they cover.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OtelMetrics {
    /// Start of the period (the monitor's creation or the last reset).
    pub start_time: Timestamp,
    /// When the figures were read.
    pub time: Timestamp,
    pub metrics: Vec<Metric>,
}

pub const DURATION: &str = "db.client.operation.duration";
pub const OPERATION_COUNT: &str = "stateful_redis.client.operation.count";
pub const DURATION_SUM: &str = "stateful_redis.client.operation.duration.sum";
pub const DURATION_BUCKET: &str = "stateful_redis.client.operation.duration.bucket";
pub const CONNECTION_COUNT: &str = "db.client.connection.count";
pub const CONNECTION_MAX: &str = "db.client.connection.max";
pub const IN_FLIGHT: &str = "stateful_redis.client.requests.in_flight";
pub const RECONNECTS: &str = "stateful_redis.client.reconnects";

/// The `error.type` of error class `class`.
fn error_type(class: usize) -> &'static str {
    ErrorCode::ALL.get(class).map_or("_OTHER", |c| c.as_str())
}

/// The metrics of a reading. `const_labels` become attributes of every point;
/// `server`, when known, adds `server.address`, `server.port`, `db.namespace`
/// and names the pool; `facts` (an executor attached) gives the pool metrics.
pub(crate) fn metrics(
    r: &Reading,
    const_labels: &[(String, String)],
    server: Option<&Server>,
    facts: Option<&PoolFacts>,
    histograms_as_counters: bool,
) -> OtelMetrics {
    let mut common = Attributes(vec![(
        "db.system.name".into(),
        AttributeValue::Str("redis".into()),
    )]);
    if let Some((address, port, db)) = server.and_then(|s| s.standalone.as_ref()) {
        common.0.push((
            "server.address".into(),
            AttributeValue::Str(address.clone()),
        ));
        if let Some(port) = port {
            common
                .0
                .push(("server.port".into(), AttributeValue::Int(i64::from(*port))));
        }
        common
            .0
            .push(("db.namespace".into(), AttributeValue::Str(db.to_string())));
    }
    let labels: Vec<(String, AttributeValue)> = const_labels
        .iter()
        .map(|(k, v)| (k.clone(), AttributeValue::Str(v.clone())))
        .collect();
    let finish = |mut a: Attributes| {
        a.0.extend(labels.iter().cloned());
        a
    };

    // The duration histogram: per operation, one point for the calls that
    // succeeded and one per error class that failed; empty points left out.
    let edges = edges();
    let mut points = Vec::new();
    for s in &r.slots {
        let op = common.with("db.operation.name", s.name.clone());
        let mut ok = [0u64; BUCKETS];
        let mut bucket = 0;
        for (fine, n) in s.latency.counts.iter().enumerate().take(FINE_BUCKETS) {
            while bucket < BOUNDS && edges[bucket] <= fine {
                bucket += 1;
            }
            ok[bucket] += n;
        }
        let mut ok_sum = s.latency.sum;
        let mut failures = Vec::new();
        for (class, failed) in s.failed.iter().enumerate() {
            let count: u64 = failed.buckets.iter().sum();
            if count == 0 {
                continue;
            }
            for (o, f) in ok.iter_mut().zip(&failed.buckets) {
                *o = o.saturating_sub(*f);
            }
            ok_sum = ok_sum.saturating_sub(failed.sum);
            failures.push(Point {
                attributes: finish(op.with("error.type", error_type(class))),
                value: None,
                count: Some(count),
                sum: Some(failed.sum as f64 / 1e9),
                bucket_counts: Some(failed.buckets.to_vec()),
            });
        }
        let ok_count: u64 = ok.iter().sum();
        if ok_count > 0 {
            points.push(Point {
                attributes: finish(op),
                value: None,
                count: Some(ok_count),
                sum: Some(ok_sum as f64 / 1e9),
                bucket_counts: Some(ok.to_vec()),
            });
        }
        points.extend(failures);
    }
    let mut metrics = Vec::new();
    if histograms_as_counters {
        let bounds = bounds_seconds();
        let (mut counts, mut sums, mut buckets) = (Vec::new(), Vec::new(), Vec::new());
        for p in points {
            let per_bucket = p.bucket_counts.as_deref().unwrap_or_default();
            let mut cumulative = 0;
            for (i, n) in per_bucket.iter().enumerate() {
                cumulative += n;
                let le = bounds.get(i).map_or("+Inf".to_string(), |b| b.to_string());
                buckets.push(Point::value(
                    p.attributes.with("le", le),
                    Number::Int(cumulative),
                ));
            }
            counts.push(Point::value(
                p.attributes.clone(),
                Number::Int(p.count.unwrap_or(0)),
            ));
            sums.push(Point::value(
                p.attributes,
                Number::Float(p.sum.unwrap_or(0.0)),
            ));
        }
        metrics.push(Metric {
            name: OPERATION_COUNT,
            description: "Completed calls (the count of db.client.operation.duration).",
            unit: "{operation}",
            kind: Kind::Counter,
            boundaries: None,
            points: counts,
        });
        metrics.push(Metric {
            name: DURATION_SUM,
            description: "Total duration of the calls (the sum of db.client.operation.duration).",
            unit: "s",
            kind: Kind::Counter,
            boundaries: None,
            points: sums,
        });
        metrics.push(Metric {
            name: DURATION_BUCKET,
            description: "Calls that took at most `le` seconds (the cumulative buckets of db.client.operation.duration).",
            unit: "{operation}",
            kind: Kind::Counter,
            boundaries: None,
            points: buckets,
        });
    } else {
        metrics.push(Metric {
            name: DURATION,
            description: "Duration of database client operations.",
            unit: "s",
            kind: Kind::Histogram,
            boundaries: Some(bounds_seconds().to_vec()),
            points,
        });
    }

    // The pool's metrics are always listed (an SDK's instruments are made
    // once); they have points once an executor is attached.
    let pool = match server {
        Some(s) => common.with("db.client.connection.pool.name", s.pool_name.clone()),
        None => common.clone(),
    };
    let p = &r.pool;
    let attached = |points: Vec<Point>| if facts.is_some() { points } else { Vec::new() };
    metrics.push(Metric {
        name: CONNECTION_COUNT,
        description:
            "Multiplexed connections open, by state: used (carrying at least one call) or idle.",
        unit: "{connection}",
        kind: Kind::UpDownCounter,
        boundaries: None,
        points: attached(vec![
            Point::value(
                finish(pool.with("db.client.connection.state", "idle")),
                Number::Int(p.connections.saturating_sub(p.in_use)),
            ),
            Point::value(
                finish(pool.with("db.client.connection.state", "used")),
                Number::Int(p.in_use),
            ),
        ]),
    });
    metrics.push(Metric {
        name: CONNECTION_MAX,
        description: "The most connections the pool may open.",
        unit: "{connection}",
        kind: Kind::UpDownCounter,
        boundaries: None,
        points: attached(vec![Point::value(
            finish(pool.clone()),
            Number::Int(facts.map_or(0, |f| f.max_connections)),
        )]),
    });
    metrics.push(Metric {
        name: IN_FLIGHT,
        description: "Calls in flight now.",
        unit: "{request}",
        kind: Kind::UpDownCounter,
        boundaries: None,
        points: attached(vec![Point::value(
            finish(pool.clone()),
            Number::Int(p.in_flight),
        )]),
    });
    metrics.push(Metric {
        name: RECONNECTS,
        description: "Lost connections re-established and stalled ones replaced.",
        unit: "{reconnect}",
        kind: Kind::Counter,
        boundaries: None,
        points: attached(vec![Point::value(finish(pool), Number::Int(p.reconnects))]),
    });

    OtelMetrics {
        start_time: Timestamp::of_nanos(r.period_start_unix_nanos),
        time: Timestamp::of_nanos(r.taken_at_unix_nanos),
        metrics,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::monitor::Monitor;
    use crate::operation::Operation;

    #[test]
    fn bounds_are_fine_bucket_edges_near_the_round_durations() {
        let nanos = bounds_nanos();
        for i in 0..BOUNDS {
            // The last nanosecond of one fine bucket: the next one starts above it.
            assert_ne!(bucket_of(nanos[i]), bucket_of(nanos[i] + 1), "bound {i}");
            let off = (nanos[i] as f64 - TARGETS_NANOS[i] as f64).abs() / TARGETS_NANOS[i] as f64;
            assert!(off <= 1.0 / 64.0, "bound {i} is {off} off");
            if i > 0 {
                assert!(nanos[i] > nanos[i - 1]);
            }
            // Seconds keep the order of the nanoseconds around each bound.
            let s = |n: u64| n as f64 / 1e9;
            assert!(s(nanos[i]) < s(nanos[i] + 1) && s(nanos[i] - 1) < s(nanos[i]));
        }
        assert_eq!(bounds_nanos()[0], 50_175);
        assert_eq!(bounds_seconds()[0], 0.000050175);
    }

    #[test]
    fn a_value_is_counted_in_the_bucket_its_bound_says() {
        let nanos = bounds_nanos();
        for (i, b) in nanos.iter().enumerate() {
            assert_eq!(bucket_of_fine(bucket_of(*b)), i, "at bound {i}");
            assert_eq!(bucket_of_fine(bucket_of(b + 1)), i + 1, "above bound {i}");
        }
        assert_eq!(bucket_of_fine(0), 0);
        assert_eq!(bucket_of_fine(bucket_of(u64::MAX)), BOUNDS);
    }

    fn histogram<'a>(m: &'a OtelMetrics, name: &str) -> &'a Metric {
        m.metrics.iter().find(|x| x.name == name).unwrap()
    }

    fn attr<'a>(p: &'a Point, key: &str) -> Option<&'a str> {
        match p.attributes.get(key) {
            Some(AttributeValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    #[test]
    fn successes_and_failures_are_split_by_error_type_with_exact_buckets() {
        let labels = [("executor".to_string(), "orders".to_string())];
        let m = Monitor::new()
            .labelled(labels.iter().map(|(k, v)| (k, v)))
            .unwrap();
        let bounds = bounds_nanos();
        let op = Operation::ALL[0];
        // Exactly on a bound, one above it, and far out.
        m.record(op, Duration::from_nanos(bounds[3]), Ok(()));
        m.record(op, Duration::from_nanos(bounds[3] + 1), Ok(()));
        m.record(op, Duration::from_secs(20), Ok(()));
        m.record(op, Duration::from_nanos(bounds[0]), Err(ErrorCode::Timeout));
        m.record(op, Duration::from_nanos(bounds[5]), Err(ErrorCode::Timeout));
        m.record(
            op,
            Duration::from_micros(700),
            Err(ErrorCode::InvalidArgument),
        );
        m.record_operation("checkout", Duration::from_millis(3), false);
        m.record_operation("checkout", Duration::from_millis(3), true);

        let out = m.otel_metrics(false);
        let h = histogram(&out, DURATION);
        assert_eq!((h.unit, h.kind), ("s", Kind::Histogram));
        assert_eq!(h.boundaries.as_deref().unwrap(), &bounds_seconds()[..]);
        let points: Vec<&Point> = h
            .points
            .iter()
            .filter(|p| attr(p, "db.operation.name") == Some(op.name()))
            .collect();
        assert_eq!(points.len(), 3, "{points:?}");
        let ok = points[0];
        assert_eq!(attr(ok, "error.type"), None);
        assert_eq!(attr(ok, "db.system.name"), Some("redis"));
        assert_eq!(attr(ok, "executor"), Some("orders"));
        assert_eq!(ok.count, Some(3));
        let mut expected = [0u64; BUCKETS];
        expected[3] = 1;
        expected[4] = 1;
        expected[BOUNDS] = 1;
        assert_eq!(ok.bucket_counts.as_deref().unwrap(), &expected[..]);
        let sum = (2 * bounds[3] + 1 + 20_000_000_000) as f64 / 1e9;
        assert_eq!(ok.sum, Some(sum));
        let timeout = points
            .iter()
            .find(|p| attr(p, "error.type") == Some("TIMEOUT"))
            .unwrap();
        let mut expected = [0u64; BUCKETS];
        expected[0] = 1;
        expected[5] = 1;
        assert_eq!(timeout.bucket_counts.as_deref().unwrap(), &expected[..]);
        assert_eq!(timeout.count, Some(2));
        let invalid = points
            .iter()
            .find(|p| attr(p, "error.type") == Some("INVALID_ARGUMENT"))
            .unwrap();
        assert_eq!(invalid.count, Some(1));
        assert_eq!(invalid.sum, Some(0.0007));
        // An application failure has no code: `_OTHER`.
        let checkout: Vec<&Point> = h
            .points
            .iter()
            .filter(|p| attr(p, "db.operation.name") == Some("checkout"))
            .collect();
        assert_eq!(checkout.len(), 2);
        assert_eq!(attr(checkout[1], "error.type"), Some("_OTHER"));
        assert_eq!((checkout[0].count, checkout[1].count), (Some(1), Some(1)));
        // Operations without calls have no point; no executor, no pool metrics.
        assert!(h.points.iter().all(|p| p.count.unwrap() > 0));
        let names: Vec<&str> = out.metrics.iter().map(|x| x.name).collect();
        assert_eq!(
            names,
            [
                DURATION,
                CONNECTION_COUNT,
                CONNECTION_MAX,
                IN_FLIGHT,
                RECONNECTS
            ]
        );
        assert!(out.metrics[1..].iter().all(|x| x.points.is_empty()));
        // The snapshot agrees.
        let snap = m.snapshot();
        let total: u64 = points.iter().map(|p| p.count.unwrap()).sum();
        assert_eq!(total, snap.operation(op.name()).unwrap().count);
        assert!(out.start_time.seconds > 0 && out.time.seconds >= out.start_time.seconds);
    }

    #[test]
    fn histogram_as_counters_and_reset() {
        let m = Monitor::new();
        let op = Operation::ALL[1];
        m.record(op, Duration::from_millis(2), Ok(()));
        m.record(op, Duration::from_millis(2), Err(ErrorCode::Data));
        let out = m.otel_metrics(true);
        let names: Vec<&str> = out.metrics.iter().map(|x| x.name).collect();
        assert_eq!(names[..3], [OPERATION_COUNT, DURATION_SUM, DURATION_BUCKET]);
        let counts = &out.metrics[0].points;
        assert_eq!(counts.len(), 2);
        assert!(counts.iter().all(|p| p.value == Some(Number::Int(1))));
        let buckets = &out.metrics[2].points;
        assert_eq!(buckets.len(), 2 * BUCKETS);
        let last = &buckets[BUCKETS - 1];
        assert_eq!(attr(last, "le"), Some("+Inf"));
        assert_eq!(last.value, Some(Number::Int(1)));
        assert_eq!(attr(&buckets[0], "le"), Some("0.000050175"));
        let before = out.start_time;
        std::thread::sleep(Duration::from_millis(2));
        m.reset();
        let after = m.otel_metrics(false);
        assert!(after.metrics[0].points.is_empty());
        assert!(
            (after.start_time.seconds, after.start_time.nanos) > (before.seconds, before.nanos)
        );
        let json = serde_json::to_value(&after).unwrap();
        assert_eq!(json["metrics"][0]["type"], "histogram");
    }
}
