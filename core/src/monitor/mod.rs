//! The performance monitor: what the executor records about every call.
//!
//! **Pull, not push.** Recording only bumps atomic counters in place; nothing is
//! sent anywhere and no thread is woken. Whoever wants figures pulls them:
//! [`Monitor::snapshot`] (one [`MetricsSnapshot`], the type every binding converts),
//! [`Monitor::prometheus`] (text exposition for a scraper), the alert evaluation
//! tick and the [`recorder`]. So a process that never looks pays only for the
//! counters.
//!
//! **Precision.** Latency is kept per operation in a log-linear histogram
//! ([`histogram`]) whose percentiles are within 0.8% of the exact value from 1 µs to
//! 137 s; minimum, maximum, counts and error counts are exact. Throughput is counted
//! per whole second in a ring of 64 seconds ([`collector::RateRing`]).
//!
//! **Cost.** One record: a clock read, an `ArcSwap` load (no reference count
//! traffic), one bucket `fetch_add`, one sum `fetch_add`, a compare-and-swap on the
//! second's counter, and two plain loads for min/max. No lock, no allocation
//! (tested with a counting allocator; timed in `benches/monitor.rs`). Memory: about
//! 1.55 MB per measurement period (82 operation slots of 2,048 buckets, and the
//! failed calls' OpenTelemetry buckets, see [`otel`]).
//!
//! **Periods.** [`Monitor::reset`] swaps in a fresh set of counters; a record lands
//! wholly in the old period or wholly in the new one, and `reset` returns the final
//! figures of the period it closed.
//!
//! See `docs/monitor.md` for the metric grammar of alerts, the suggestion rules
//! and the reasons behind each dependency.

pub mod alerts;
pub mod clock;
pub mod collector;
pub mod histogram;
pub mod names;
pub mod otel;
mod pool;
pub mod prometheus;
mod reading;
pub mod recorder;
pub mod snapshot;
mod subscribers;
pub mod suggestions;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

pub use alerts::{ActiveAlert, AlertEvent, AlertOptions, AlertState, Direction};
pub use clock::{Clock, ManualClock};
pub use pool::{PoolFacts, PoolProbe};
pub use recorder::{read_recording, Recorder};
pub use snapshot::{
    Latency, MetricsSnapshot, OperationKind, OperationMetrics, PoolMetrics, ScriptMetrics,
    Throughput,
};
pub use subscribers::{AlertSubscriber, SubscriptionId};
pub use suggestions::{Severity, Suggestion};

use crate::error::{ErrorCode, Result};
use crate::operation::Operation;
use alerts::{AlertManager, Sample, SlotSample};
use collector::{Generation, SLOTS};
use names::{NameRegistry, APP_BASE};
use reading::{Reading, SlotReading};
use subscribers::Subscribers;

/// Longest `reset` waits for recorders still writing into the closed period.
const RESET_WAIT: Duration = Duration::from_secs(10);

/// Aggregates measurements of the executor's and the application's operations.
pub struct Monitor {
    clock: Clock,
    created_wall_ms: u64,
    current: ArcSwap<Generation>,
    resets: Mutex<u64>,
    names: NameRegistry,
    alerts: Mutex<AlertManager>,
    subscribers: Subscribers,
    probe: RwLock<Option<Weak<dyn PoolProbe>>>,
    /// Const labels of the exposition (option `metrics_labels`), checked.
    const_labels: Vec<(String, String)>,
    /// The server the executor talks to, for the OpenTelemetry attributes
    /// (set by the executor once connected).
    server: RwLock<Option<otel::Server>>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor::new()
    }
}

fn wall_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[inline]
fn nanos_of(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(d.subsec_nanos() as u64)
}

impl Monitor {
    pub fn new() -> Monitor {
        Monitor::with_clock(Clock::monotonic())
    }

    /// A monitor reading the given clock (tests inject a [`ManualClock`]).
    pub fn with_clock(clock: Clock) -> Monitor {
        let now = clock.now_nanos();
        Monitor {
            created_wall_ms: wall_now_ms().saturating_sub(now / 1_000_000),
            current: ArcSwap::from_pointee(Generation::new(0, now)),
            clock,
            resets: Mutex::new(0),
            names: NameRegistry::default(),
            alerts: Mutex::new(AlertManager::default()),
            subscribers: Subscribers::default(),
            probe: RwLock::new(None),
            const_labels: Vec::new(),
            server: RwLock::new(None),
        }
    }

    /// The same monitor with const labels (label name → value) on every series
    /// of its exposition, e.g. `executor="orders"`; `INVALID_ARGUMENT` for a
    /// name outside the Prometheus grammar, a reserved one or a bad value (see
    /// [`crate::validate::validate_metric_labels`]). `Executor::connect` makes
    /// its monitor with the option `metrics_labels`.
    pub fn labelled<'a>(
        mut self,
        labels: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Result<Monitor> {
        let labels: Vec<(String, String)> = labels
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        crate::validate::validate_metric_labels(
            labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        self.const_labels = labels;
        Ok(self)
    }

    /// The const labels of the exposition, in the order they were given.
    pub fn const_labels(&self) -> &[(String, String)] {
        &self.const_labels
    }

    /// Lets the monitor ask the executor for pool facts (done by the executor).
    pub fn attach(&self, probe: Weak<dyn PoolProbe>) {
        *self.probe.write().unwrap_or_else(|e| e.into_inner()) = Some(probe);
    }

    /// The executor's pool facts, if one is attached and alive.
    pub fn pool_facts(&self) -> Option<PoolFacts> {
        let probe = self.probe.read().unwrap_or_else(|e| e.into_inner());
        probe.as_ref()?.upgrade().map(|p| p.pool_facts())
    }

    // ----- recording (hot path) ----------------------------------------------------

    /// Records one call of an executor operation.
    #[inline]
    pub fn record(&self, op: Operation, duration: Duration, outcome: Result<(), ErrorCode>) {
        self.record_in(op, duration, self.clock.now_secs(), outcome);
    }

    /// As [`Monitor::record`], for a call that started at `started` and ends
    /// now: one clock read gives both its duration and the second it counts in.
    #[inline]
    pub fn record_since(&self, op: Operation, started: Instant, outcome: Result<(), ErrorCode>) {
        let (duration, sec) = self.clock.since(started);
        self.record_in(op, duration, sec, outcome);
    }

    /// Records one call of `op` that took `duration`, in second `sec` of the clock.
    #[inline]
    fn record_in(
        &self,
        op: Operation,
        duration: Duration,
        sec: u64,
        outcome: Result<(), ErrorCode>,
    ) {
        let code = outcome.err();
        self.current
            .load()
            .record(op.index(), nanos_of(duration), sec, code.is_some(), code);
    }

    /// Records one call of an application operation. At most
    /// [`names::MAX_APP_OPERATIONS`] distinct names are kept apart; later or
    /// invalid names are counted as `other`. A built-in operation's name records
    /// into that operation.
    #[inline]
    pub fn record_operation(&self, name: &str, duration: Duration, success: bool) {
        let slot = self.names.index_of(name);
        let sec = self.clock.now_secs();
        self.current
            .load()
            .record(slot, nanos_of(duration), sec, !success, None);
    }

    /// An `EVALSHA` was sent.
    #[inline]
    pub fn script_call(&self) {
        self.current.load().evalsha_calls.fetch_add(1, Relaxed);
    }

    /// A script was reloaded after `NOSCRIPT`.
    pub fn script_reload(&self) {
        self.current.load().noscript_reloads.fetch_add(1, Relaxed);
    }

    /// A lost connection was re-established, or a stalled one replaced.
    pub fn reconnect(&self) {
        self.current.load().reconnects.fetch_add(1, Relaxed);
    }

    /// A call started with `in_flight` calls in flight (itself included) over
    /// `connections` connections.
    #[inline]
    pub fn call_started(&self, in_flight: usize, connections: usize) {
        let g = self.current.load();
        let in_flight = in_flight as u64;
        if in_flight > g.in_flight_peak.load(Relaxed) {
            g.in_flight_peak.fetch_max(in_flight, Relaxed);
        }
        if in_flight > connections as u64 {
            g.contended_calls.fetch_add(1, Relaxed);
        }
    }

    /// A request waited `duration` before being sent again (retry backoff).
    pub fn pool_wait(&self, duration: Duration) {
        let g = self.current.load();
        g.waits.fetch_add(1, Relaxed);
        g.wait.record(nanos_of(duration));
    }

    /// A batch call of `op` carried `items` items.
    #[inline]
    pub fn batch(&self, op: Operation, items: usize) {
        let g = self.current.load();
        let slot = &g.slots[op.index()];
        slot.batch_items.fetch_add(items as u64, Relaxed);
        if items as u64 > slot.batch_max.load(Relaxed) {
            slot.batch_max.fetch_max(items as u64, Relaxed);
        }
    }

    /// Calls of `op` recorded so far in this period, and how many failed.
    pub fn operation_counts(&self, op: Operation) -> (u64, u64) {
        let g = self.current.load();
        let slot = &g.slots[op.index()];
        (slot.latency.read().count, slot.errors.load(Relaxed))
    }

    /// `EVALSHA` calls and `NOSCRIPT` reloads so far in this period.
    pub fn script_counts(&self) -> (u64, u64) {
        let g = self.current.load();
        (
            g.evalsha_calls.load(Relaxed),
            g.noscript_reloads.load(Relaxed),
        )
    }

    // ----- reading -------------------------------------------------------------------

    fn wall_ms(&self, nanos: u64) -> u64 {
        self.created_wall_ms + nanos / 1_000_000
    }

    /// Everything the monitor knows now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let generation = self.current.load_full();
        self.reading(&generation, self.clock.now_nanos())
            .into_snapshot()
    }

    /// Starts a new measurement period and returns the final figures of the one it
    /// closes. Atomic against concurrent recording: every record counts in exactly
    /// one of the two periods.
    pub fn reset(&self) -> MetricsSnapshot {
        let mut resets = self.resets.lock().unwrap_or_else(|e| e.into_inner());
        *resets += 1;
        let now = self.clock.now_nanos();
        let old = self.current.swap(Arc::new(Generation::new(*resets, now)));
        drop(resets);
        // Writers that loaded the old period before the swap hold a reference
        // until their record is complete: wait for them. A record takes tens of
        // nanoseconds, but its thread may be preempted in the middle on a busy
        // machine, so the wait is generous; no code path holds a reference while
        // calling `reset`, so it cannot wait on itself.
        let start = Instant::now();
        let mut spins = 0u32;
        while Arc::strong_count(&old) > 1 {
            if start.elapsed() > RESET_WAIT {
                tracing::warn!(
                    target: "stateful_redis::monitor",
                    "reset_metrics: a recorder kept the closed period for over {} s; \
                     its figures may miss that record",
                    RESET_WAIT.as_secs()
                );
                break;
            }
            spins += 1;
            if spins < 1_000 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        self.reading(&old, now).into_snapshot()
    }

    /// Prometheus text exposition of the current period (see [`prometheus`]).
    pub fn prometheus(&self) -> String {
        prometheus::render(&self.prometheus_families())
    }

    /// The metric families of the exposition, const labels included: what
    /// [`Monitor::prometheus`] writes, and what the bindings hand to their
    /// registries (`prometheus_client`, `prom-client`).
    pub fn prometheus_families(&self) -> Vec<prometheus::MetricFamily> {
        let generation = self.current.load_full();
        let reading = self.reading(&generation, self.clock.now_nanos());
        prometheus::families(&reading, &self.const_labels)
    }

    /// The current period as OpenTelemetry metrics following the database
    /// client semantic conventions (see [`otel`]); with `histograms_as_counters`,
    /// the duration histogram as three counters, for SDKs that take no
    /// ready-made histogram (observable instruments only).
    pub fn otel_metrics(&self, histograms_as_counters: bool) -> otel::OtelMetrics {
        let generation = self.current.load_full();
        let reading = self.reading(&generation, self.clock.now_nanos());
        drop(generation);
        let server = self
            .server
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let facts = self.pool_facts();
        otel::metrics(
            &reading,
            &self.const_labels,
            server.as_ref(),
            facts.as_ref(),
            histograms_as_counters,
        )
    }

    /// Sets the server of the OpenTelemetry attributes (`server.address`,
    /// `server.port`, `db.namespace`, the pool's name): the executor does it
    /// once connected.
    pub fn set_server(&self, server: otel::Server) {
        *self.server.write().unwrap_or_else(|e| e.into_inner()) = Some(server);
    }

    /// Suggestions over the current snapshot and the executor's pool facts.
    pub fn optimization_suggestions(&self) -> Vec<Suggestion> {
        suggestions::suggest(&self.snapshot(), self.pool_facts().as_ref())
    }

    /// Suggestions over a snapshot taken earlier (a recording), without pool
    /// facts: the rules that need the executor's settings stay silent.
    pub fn suggestions_for(snapshot: &MetricsSnapshot) -> Vec<Suggestion> {
        suggestions::suggest(snapshot, None)
    }

    fn slot_name(&self, slot: usize) -> Option<&str> {
        self.names.name(slot)
    }

    pub(crate) fn reading(&self, g: &Generation, now: u64) -> Reading {
        let facts = self.pool_facts();
        let now_sec = now / 1_000_000_000;
        let start_sec = g.started_nanos / 1_000_000_000;
        let rate = |ring: &collector::RateRing, window: u64| {
            let from = now_sec.saturating_sub(window).max(start_sec);
            let secs = now_sec.saturating_sub(from);
            if secs == 0 {
                0.0
            } else {
                ring.count(from, now_sec) as f64 / secs as f64
            }
        };
        let mut slots = Vec::with_capacity(SLOTS);
        for (i, s) in g.slots.iter().enumerate() {
            let Some(name) = self.slot_name(i) else {
                continue;
            };
            let latency = s.latency.read();
            if i == names::OTHER_SLOT && latency.count == 0 {
                continue;
            }
            slots.push(SlotReading {
                name: name.to_string(),
                kind: if i < APP_BASE {
                    OperationKind::Builtin
                } else {
                    OperationKind::Application
                },
                errors: s.errors.load(Relaxed),
                errors_by_code: std::array::from_fn(|c| s.errors_by_code[c].load(Relaxed)),
                batch_items: s.batch_items.load(Relaxed),
                batch_max: s.batch_max.load(Relaxed),
                failed: std::array::from_fn(|c| s.failed[c].read()),
                throughput: Throughput {
                    last_1s: rate(&s.rate, 1),
                    last_10s: rate(&s.rate, 10),
                    last_60s: rate(&s.rate, 60),
                },
                latency,
            });
        }
        let wait = g.wait.read();
        let in_flight = facts.map_or(0, |f| f.in_flight);
        let connections = facts.map_or(0, |f| f.connections);
        let alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        let active = alerts.active(|n| self.wall_ms(n));
        let (firing, pending) = alerts.counts();
        drop(alerts);
        let origin = self.created_wall_ms.saturating_mul(1_000_000);
        Reading {
            taken_at_ms: wall_now_ms(),
            period_start_unix_nanos: origin.saturating_add(g.started_nanos),
            taken_at_unix_nanos: origin.saturating_add(now),
            uptime_seconds: now as f64 / 1e9,
            period_seconds: now.saturating_sub(g.started_nanos) as f64 / 1e9,
            pool: PoolMetrics {
                connections,
                in_use: in_flight.min(connections),
                in_flight,
                in_flight_peak: g.in_flight_peak.load(Relaxed),
                max_in_flight: facts.map_or(0, |f| f.max_in_flight),
                contended_calls: g.contended_calls.load(Relaxed),
                waits: g.waits.load(Relaxed),
                wait_ms_total: wait.sum as f64 / 1e6,
                wait_ms_p99: wait.quantile(0.99) / 1e6,
                reconnects: g.reconnects.load(Relaxed),
            },
            scripts: ScriptMetrics {
                evalsha_calls: g.evalsha_calls.load(Relaxed),
                noscript_reloads: g.noscript_reloads.load(Relaxed),
            },
            slots,
            active,
            firing,
            pending,
        }
    }

    // ----- alerts --------------------------------------------------------------------

    /// Alerts when `metric` (see [`alerts`] for the grammar) goes above
    /// `threshold`, at once, resolving 10% below it.
    pub fn set_alert_threshold(&self, metric: &str, threshold: f64) -> Result<()> {
        self.set_alert(metric, AlertOptions::above(threshold))
    }

    /// Sets (or replaces) the rule for `metric`.
    pub fn set_alert(&self, metric: &str, options: AlertOptions) -> Result<()> {
        self.alerts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set(metric, options)
    }

    /// Removes the rule for `metric` (and its alerts); false if there was none.
    pub fn remove_alert(&self, metric: &str) -> bool {
        self.alerts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(metric)
    }

    /// The rules set.
    pub fn alert_rules(&self) -> Vec<(String, AlertOptions)> {
        self.alerts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .rules()
    }

    /// Calls `subscriber` on every alert event (pending, firing, resolved).
    pub fn subscribe(&self, subscriber: AlertSubscriber) -> SubscriptionId {
        self.subscribers.subscribe(subscriber)
    }

    /// Alert events as a channel.
    pub fn subscribe_channel(&self) -> (SubscriptionId, std::sync::mpsc::Receiver<AlertEvent>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let id = self.subscribe(Box::new(move |e| {
            let _ = tx.send(e.clone());
        }));
        (id, rx)
    }

    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.subscribers.unsubscribe(id)
    }

    /// Evaluates every alert rule over the window since the previous evaluation,
    /// logs and publishes the changes, and returns them. The executor calls this
    /// once a second.
    pub fn evaluate_alerts(&self) -> Vec<AlertEvent> {
        let generation = self.current.load_full();
        let now = self.clock.now_nanos();
        let facts = self.pool_facts();
        let mut alerts = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        if alerts.rules().is_empty() {
            return Vec::new();
        }
        let slots = (0..SLOTS)
            .filter_map(|i| {
                Some(SlotSample {
                    name: self.slot_name(i)?.to_string(),
                    latency: generation.slots[i].latency.read(),
                    errors: generation.slots[i].errors.load(Relaxed),
                })
            })
            .collect();
        let sample = Sample {
            at_nanos: now,
            period_start_nanos: generation.started_nanos,
            generation: generation.id,
            slots,
            wait: generation.wait.read(),
            reconnects: generation.reconnects.load(Relaxed),
            reloads: generation.noscript_reloads.load(Relaxed),
            in_flight: facts.map(|f| f.in_flight),
            in_use: facts.map(|f| f.in_flight.min(f.connections)),
        };
        drop(generation);
        let events = alerts.evaluate(sample, |n| self.wall_ms(n));
        drop(alerts);
        self.subscribers.publish(&events);
        events
    }
}
