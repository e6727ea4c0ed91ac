//! The executor's side of the performance monitor: what bindings call
//! (`metrics()`, `metrics_prometheus()`, alerts, suggestions), the facts of the
//! pool the suggestion rules read, and the two run-time optimizers (the pool's
//! sizing itself is in `crate::pool`). `mod.rs` does not call into this file.

use std::path::Path;
use std::time::Duration;

use super::{Executor, Inner};
use crate::config::MAX_CONNECTIONS;
use crate::error::{Error, Result};
use crate::monitor::otel::OtelMetrics;
use crate::monitor::prometheus::MetricFamily;
use crate::monitor::{
    AlertEvent, AlertOptions, MetricsSnapshot, PoolFacts, PoolProbe, Recorder, SubscriptionId,
    Suggestion,
};
use crate::pool::PoolChange;
use crate::scripts::{self, ScriptsReport};

impl PoolProbe for Inner {
    fn pool_facts(&self) -> PoolFacts {
        PoolFacts {
            connections: self.pool.len() as u64,
            max_connections: MAX_CONNECTIONS as u64,
            in_flight: self.in_flight.load(std::sync::atomic::Ordering::Relaxed) as u64,
            max_in_flight: self.config.options.max_in_flight as u64,
            command_timeout_ms: self.config.options.command_timeout_ms,
            monitor_enabled: self.config.options.monitor,
        }
    }
}

impl Executor {
    /// The monitor's snapshot (the type every binding converts).
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.monitor.snapshot()
    }

    /// Prometheus text exposition of the metrics.
    pub fn metrics_prometheus(&self) -> String {
        self.inner.monitor.prometheus()
    }

    /// The metric families of the exposition (const labels included), for the
    /// bindings' registries (`prometheus_client`, `prom-client`).
    pub fn metrics_families(&self) -> Vec<MetricFamily> {
        self.inner.monitor.prometheus_families()
    }

    /// The metrics as OpenTelemetry metrics following the database client
    /// semantic conventions (see `monitor::otel`); with
    /// `histograms_as_counters`, the duration histogram as three counters (for
    /// SDKs that take observable instruments only).
    pub fn otel_metrics(&self, histograms_as_counters: bool) -> OtelMetrics {
        self.inner.monitor.otel_metrics(histograms_as_counters)
    }

    /// Starts a new measurement period; returns the final figures of the last one.
    pub fn reset_metrics(&self) -> MetricsSnapshot {
        self.inner.monitor.reset()
    }

    /// Records one of the application's own operations.
    pub fn record_operation(&self, name: &str, duration: Duration, success: bool) {
        self.inner.monitor.record_operation(name, duration, success);
    }

    /// Alerts when `metric` goes above `threshold` (see `monitor::alerts` for the
    /// grammar).
    pub fn set_alert_threshold(&self, metric: &str, threshold: f64) -> Result<()> {
        self.inner.monitor.set_alert_threshold(metric, threshold)
    }

    /// Alerts on `metric` with a sustain duration, hysteresis and direction.
    pub fn set_alert(&self, metric: &str, options: AlertOptions) -> Result<()> {
        self.inner.monitor.set_alert(metric, options)
    }

    /// Removes the alert rule for `metric`; whether there was one. (Every
    /// binding reaches the monitor through these methods of the executor.)
    pub fn remove_alert(&self, metric: &str) -> bool {
        self.inner.monitor.remove_alert(metric)
    }

    /// Calls `subscriber` on every alert event.
    pub fn subscribe_alerts(
        &self,
        subscriber: Box<dyn Fn(&AlertEvent) + Send + Sync>,
    ) -> SubscriptionId {
        self.inner.monitor.subscribe(subscriber)
    }

    pub fn unsubscribe_alerts(&self, id: SubscriptionId) -> bool {
        self.inner.monitor.unsubscribe(id)
    }

    /// Evaluates the alert rules now (the tick does it every second).
    pub fn evaluate_alerts(&self) -> Vec<AlertEvent> {
        self.inner.monitor.evaluate_alerts()
    }

    /// Suggestions from the metrics and this executor's settings.
    pub fn optimization_suggestions(&self) -> Vec<Suggestion> {
        self.inner.monitor.optimization_suggestions()
    }

    /// Records snapshots to `path` (JSON lines) every `interval`.
    pub fn start_recording(&self, path: impl AsRef<Path>, interval: Duration) -> Result<Recorder> {
        Recorder::start(self.inner.monitor.clone(), path, interval)
    }

    /// Sizes the pool to the concurrency observed in the current period: one
    /// multiplexed connection per [`CALLS_PER_CONNECTION`](crate::pool::CALLS_PER_CONNECTION)
    /// calls in flight at the peak, between 1 and `MAX_CONNECTIONS`. New
    /// connections are opened before they are used; removed ones close once
    /// their calls in flight are done. Calls in progress are never disturbed.
    pub async fn optimize_connection_pool(&self) -> Result<PoolChange> {
        if self.is_closed() {
            return Err(Error::closed().with_operation("optimize_connection_pool"));
        }
        let snapshot = self.metrics();
        let calls: u64 = snapshot.operations.iter().map(|o| o.count).sum();
        self.inner
            .pool
            .resize(&self.inner.config, calls, snapshot.pool.in_flight_peak)
            .await
    }

    /// Checks which scripts the server lacks (`SCRIPT EXISTS`) and loads every
    /// script (`SCRIPT LOAD`), so that no later call pays a `NOSCRIPT` round trip.
    pub async fn optimize_lua_scripts(&self) -> Result<ScriptsReport> {
        if self.is_closed() {
            return Err(Error::closed().with_operation("optimize_lua_scripts"));
        }
        let deadline = self.inner.config.command_timeout();
        let all = scripts::all();
        let mut exists = redis::cmd("SCRIPT");
        exists.arg("EXISTS");
        for script in all {
            exists.arg(script.sha());
        }
        let mut connection = self.connection().await.connection.clone();
        let present: Vec<bool> =
            tokio::time::timeout(deadline, exists.query_async(&mut connection))
                .await
                .map_err(|_| Error::timeout(deadline))?
                .map_err(Error::from_redis)
                .map_err(|e| e.with_operation("optimize_lua_scripts"))?;
        let missing_before: Vec<String> = all
            .iter()
            .zip(&present)
            .filter(|(_, here)| !**here)
            .map(|(s, _)| s.name.to_string())
            .collect();
        let loaded = self
            .load_scripts()
            .await
            .map_err(|e| e.with_operation("optimize_lua_scripts"))?;
        let (_, reloads) = self.inner.monitor.script_counts();
        if !missing_before.is_empty() {
            tracing::info!(target: "stateful_redis::executor", missing = ?missing_before, "scripts preloaded");
        }
        Ok(ScriptsReport {
            scripts: all.len() as u64,
            changed: !missing_before.is_empty(),
            missing_before,
            loaded: loaded as u64,
            noscript_reloads: reloads,
        })
    }
}
