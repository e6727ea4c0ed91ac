//! The executor's side of the performance monitor: what bindings call
//! (`metrics()`, `metrics_prometheus()`, alerts, suggestions) and the two run-time
//! optimizers. Kept apart from `executor.rs`, which only calls the hooks.

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Executor, Inner};
use crate::config::MAX_CONNECTIONS;
use crate::connection;
use crate::error::{Error, ErrorCode, Result};
use crate::monitor::suggestions::{CALLS_PER_CONNECTION, MIN_CALLS};
use crate::monitor::{
    AlertEvent, AlertOptions, MetricsSnapshot, PoolFacts, PoolProbe, Recorder, SubscriptionId,
    Suggestion,
};
use crate::scripts;

/// How often the executor evaluates alert rules.
pub const ALERT_TICK: Duration = Duration::from_secs(1);

impl PoolProbe for Inner {
    fn pool_facts(&self) -> PoolFacts {
        PoolFacts {
            connections: self.connections.load().len() as u64,
            max_connections: MAX_CONNECTIONS as u64,
            in_flight: self.in_flight.load(std::sync::atomic::Ordering::Relaxed) as u64,
            max_in_flight: self.config.options.max_in_flight as u64,
            command_timeout_ms: self.config.options.command_timeout_ms,
            monitor_enabled: self.config.options.monitor,
        }
    }
}

/// What `optimize_connection_pool` did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolChange {
    pub changed: bool,
    pub connections_before: u64,
    pub connections_after: u64,
    /// The evidence: most calls in flight at once in the current period.
    pub in_flight_peak: u64,
    /// Calls measured in the current period.
    pub calls: u64,
    pub reason: String,
}

/// What `optimize_lua_scripts` did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptsReport {
    /// Scripts of the library.
    pub scripts: u64,
    /// Scripts the server did not have (`SCRIPT EXISTS`), by name.
    pub missing_before: Vec<String>,
    /// Scripts loaded (`SCRIPT LOAD`; every script is loaded, loading is idempotent).
    pub loaded: u64,
    /// `NOSCRIPT` reloads seen in the current period.
    pub noscript_reloads: u64,
    pub changed: bool,
}

impl Executor {
    /// Attaches the pool probe and, with the monitor on, starts the alert tick:
    /// a task that evaluates alert rules every [`ALERT_TICK`] and ends once the
    /// executor is closed or dropped.
    pub(super) fn start_monitor(&self) {
        let probe: Weak<dyn PoolProbe> = Arc::downgrade(&self.inner) as Weak<Inner>;
        self.inner.monitor.attach(probe);
        if !self.inner.config.options.monitor {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(ALERT_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                if inner.closed.load(std::sync::atomic::Ordering::Acquire) {
                    break;
                }
                inner.monitor.evaluate_alerts();
            }
        });
    }

    /// Tells the monitor a call started (peak in-flight, contention).
    #[inline]
    pub(super) fn note_call_started(&self) {
        let inner = &*self.inner;
        inner.monitor.call_started(
            inner.in_flight.load(std::sync::atomic::Ordering::Relaxed),
            inner.connections.load().len(),
        );
    }

    /// The monitor's snapshot (the type every binding converts).
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.monitor.snapshot()
    }

    /// Prometheus text exposition of the metrics.
    pub fn metrics_prometheus(&self) -> String {
        self.inner.monitor.prometheus()
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
    /// multiplexed connection per [`CALLS_PER_CONNECTION`] calls in flight at the
    /// peak, between 1 and `MAX_CONNECTIONS`. New connections are opened before
    /// they are used; removed ones close once their calls in flight are done.
    /// Calls in progress are never disturbed.
    pub async fn optimize_connection_pool(&self) -> Result<PoolChange> {
        if self.is_closed() {
            return Err(Error::closed().with_operation("optimize_connection_pool"));
        }
        let snapshot = self.metrics();
        let calls: u64 = snapshot.operations.iter().map(|o| o.count).sum();
        let peak = snapshot.pool.in_flight_peak;
        let before = self.inner.connections.load().len() as u64;
        let unchanged = |reason: String| PoolChange {
            changed: false,
            connections_before: before,
            connections_after: before,
            in_flight_peak: peak,
            calls,
            reason,
        };
        if !self.inner.config.options.monitor {
            return Ok(unchanged(
                "the monitor is off: no concurrency was measured".into(),
            ));
        }
        if calls < MIN_CALLS {
            return Ok(unchanged(format!(
                "only {calls} calls measured in this period (at least {MIN_CALLS} needed)"
            )));
        }
        let target = peak
            .div_ceil(CALLS_PER_CONNECTION)
            .clamp(1, MAX_CONNECTIONS as u64);
        if target == before {
            return Ok(unchanged(format!(
                "{before} connection(s) fit the peak of {peak} calls in flight \
                 ({CALLS_PER_CONNECTION} per connection)"
            )));
        }
        let mut opened = Vec::new();
        if target > before {
            let deadline = self.inner.config.connect_timeout();
            opened = tokio::time::timeout(
                deadline,
                connection::open(&self.inner.config, (target - before) as usize),
            )
            .await
            .map_err(|_| Error::new(ErrorCode::Connection, "cannot open new connections in time"))?
            .map_err(Error::from_redis)
            .map_err(|e| e.with_operation("optimize_connection_pool"))?;
        }
        // Resize the pool as it is now, not as it was before the await: a
        // stalled connection replaced meanwhile stays replaced, and a
        // concurrent call's resize is built on, not overwritten (new
        // connections this call does not need then close).
        let wanted = target as usize;
        let previous = self.inner.connections.rcu(|now| {
            let mut next: Vec<_> = now.iter().take(wanted).cloned().collect();
            let missing = wanted.saturating_sub(next.len());
            next.extend(opened.iter().take(missing).cloned());
            next
        });
        // What this call changed, from the pool it actually resized.
        let before = previous.len() as u64;
        let after = target.min(before + opened.len() as u64);
        if after == before {
            return Ok(PoolChange {
                connections_before: before,
                connections_after: before,
                ..unchanged(format!(
                    "{before} connection(s) fit the peak of {peak} calls in flight \
                     (another call resized the pool meanwhile)"
                ))
            });
        }
        let reason = if after > before {
            format!(
                "peak of {peak} calls in flight over {before} connection(s) is more than \
                 {CALLS_PER_CONNECTION} per connection: opened {}",
                after - before
            )
        } else {
            format!(
                "peak of {peak} calls in flight needs only {after} connection(s): closed {}",
                before - after
            )
        };
        tracing::info!(before, after, "connection pool resized: {reason}");
        Ok(PoolChange {
            changed: true,
            connections_before: before,
            connections_after: after,
            in_flight_peak: peak,
            calls,
            reason,
        })
    }

    /// The pool's connections, by a process-unique id, in pool order (tests).
    #[doc(hidden)]
    pub fn pool_connection_ids(&self) -> Vec<u64> {
        self.inner.connections.load().iter().map(|c| c.id).collect()
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
            tracing::info!(missing = ?missing_before, "scripts preloaded");
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
