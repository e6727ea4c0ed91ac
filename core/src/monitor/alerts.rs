//! Alert rules over the monitor's metrics: pending → firing → resolved.
//!
//! # Metric grammar
//!
//! ```text
//! metric    := op "." op_stat | "pool." pool_stat | "scripts." script_stat
//! op        := an operation name (built-in, or recorded with record_operation) | "*"
//! op_stat   := p50_ms | p90_ms | p99_ms | p999_ms | mean_ms | max_ms
//!            | error_rate | qps | errors
//! pool_stat := in_flight | in_use | wait_ms_p99 | reconnects
//! script_stat := noscript_reloads
//! ```
//!
//! `*` stands for every operation with calls in the window; each one becomes an
//! alert of its own (`get_linked_pod.error_rate`, ...). `pool.` and `scripts.` are
//! reserved prefixes.
//!
//! Values are taken over the window since the previous evaluation (normally one
//! second, by the executor's tick; an evaluation less than [`MIN_WINDOW`] after the
//! previous one does nothing): latency percentiles of the calls completed in
//! the window, `error_rate` = failed / completed in the window, `qps` = completed
//! per second, `errors`, `reconnects` and `noscript_reloads` = how many in the
//! window. `pool.in_flight` and `pool.in_use` are the gauges at evaluation time.
//! A window without completed calls gives no value for latency, error rate and
//! qps: the alert then keeps its state, pending or firing (it changes only on
//! evidence; calls stuck behind a slow server complete later and count then).
//!
//! # States
//!
//! A value past the threshold makes the alert *pending*; it *fires* once the value
//! has stayed past it for the sustain duration (at once when that is zero). A
//! pending alert whose value comes back is dropped silently. A firing alert
//! *resolves* only when the value is back past the hysteresis band: for an
//! `above` rule, at most `threshold * (1 - hysteresis)`. Values inside the band
//! change nothing, so an alert does not flap.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::histogram::HistogramData;
use crate::error::{Error, Result};

/// Shortest evaluation window: an evaluation sooner than this after the previous
/// one does nothing (the executor's tick and explicit calls may interleave).
pub const MIN_WINDOW: Duration = Duration::from_millis(250);

/// Which side of the threshold is bad.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Alert when the value rises above the threshold.
    #[default]
    Above,
    /// Alert when the value falls below the threshold.
    Below,
}

/// A rule's options.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertOptions {
    pub threshold: f64,
    /// How long the value must stay past the threshold before the alert fires.
    #[serde(with = "millis")]
    pub sustain: Duration,
    /// Relative width of the band the value must leave to resolve (0.1 = 10%).
    pub hysteresis: f64,
    pub direction: Direction,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            threshold: 0.0,
            sustain: Duration::ZERO,
            hysteresis: 0.1,
            direction: Direction::Above,
        }
    }
}

impl AlertOptions {
    /// Fires as soon as the value is above `threshold`; 10% hysteresis.
    pub fn above(threshold: f64) -> AlertOptions {
        AlertOptions {
            threshold,
            ..AlertOptions::default()
        }
    }

    pub fn sustain(mut self, sustain: Duration) -> AlertOptions {
        self.sustain = sustain;
        self
    }

    pub fn hysteresis(mut self, hysteresis: f64) -> AlertOptions {
        self.hysteresis = hysteresis;
        self
    }

    pub fn direction(mut self, direction: Direction) -> AlertOptions {
        self.direction = direction;
        self
    }

    fn breached(&self, v: f64) -> bool {
        match self.direction {
            Direction::Above => v > self.threshold,
            Direction::Below => v < self.threshold,
        }
    }

    fn cleared(&self, v: f64) -> bool {
        match self.direction {
            Direction::Above => v <= self.threshold * (1.0 - self.hysteresis),
            Direction::Below => v >= self.threshold * (1.0 + self.hysteresis),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// A statistic of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpStat {
    P50,
    P90,
    P99,
    P999,
    Mean,
    Max,
    ErrorRate,
    Qps,
    Errors,
}

/// What a rule watches (the parsed metric name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricSelector {
    /// An operation's statistic; `None` = every operation (`*`).
    Operation(Option<String>, OpStat),
    PoolInFlight,
    PoolInUse,
    PoolWaitP99,
    PoolReconnects,
    ScriptReloads,
}

/// Parses a metric name of the grammar above.
pub fn parse_metric(metric: &str) -> Result<MetricSelector> {
    let bad = || {
        Error::invalid_argument(format!(
            "unknown alert metric {metric:?}: expected <operation>.<p50_ms|p90_ms|p99_ms|p999_ms|\
             mean_ms|max_ms|error_rate|qps|errors> (operation may be *), pool.<in_flight|in_use|\
             wait_ms_p99|reconnects> or scripts.noscript_reloads"
        ))
    };
    let (head, stat) = metric.rsplit_once('.').ok_or_else(bad)?;
    match head {
        "pool" => {
            return match stat {
                "in_flight" => Ok(MetricSelector::PoolInFlight),
                "in_use" => Ok(MetricSelector::PoolInUse),
                "wait_ms_p99" => Ok(MetricSelector::PoolWaitP99),
                "reconnects" => Ok(MetricSelector::PoolReconnects),
                _ => Err(bad()),
            }
        }
        "scripts" => {
            return match stat {
                "noscript_reloads" => Ok(MetricSelector::ScriptReloads),
                _ => Err(bad()),
            }
        }
        _ => {}
    }
    let stat = match stat {
        "p50_ms" => OpStat::P50,
        "p90_ms" => OpStat::P90,
        "p99_ms" => OpStat::P99,
        "p999_ms" => OpStat::P999,
        "mean_ms" => OpStat::Mean,
        "max_ms" => OpStat::Max,
        "error_rate" => OpStat::ErrorRate,
        "qps" => OpStat::Qps,
        "errors" => OpStat::Errors,
        _ => return Err(bad()),
    };
    if head == "*" {
        Ok(MetricSelector::Operation(None, stat))
    } else if super::names::valid_name(head) {
        Ok(MetricSelector::Operation(Some(head.to_string()), stat))
    } else {
        Err(bad())
    }
}

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

/// One operation's cumulative figures at an evaluation.
#[derive(Clone, Debug)]
pub(crate) struct SlotSample {
    pub name: String,
    pub latency: HistogramData,
    pub errors: u64,
}

/// Cumulative figures at an evaluation.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    pub at_nanos: u64,
    pub period_start_nanos: u64,
    pub generation: u64,
    pub slots: Vec<SlotSample>,
    pub wait: HistogramData,
    pub reconnects: u64,
    pub reloads: u64,
    pub in_flight: Option<u64>,
    pub in_use: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    Pending { since: u64 },
    Firing { since: u64 },
}

#[derive(Clone, Debug)]
struct Instance {
    rule: String,
    phase: Phase,
    value: f64,
}

/// The rules and the state of every alert.
#[derive(Default)]
pub(crate) struct AlertManager {
    rules: BTreeMap<String, (MetricSelector, AlertOptions)>,
    instances: BTreeMap<String, Instance>,
    previous: Option<Sample>,
}

impl AlertManager {
    pub fn set(&mut self, metric: &str, options: AlertOptions) -> Result<()> {
        if !options.threshold.is_finite() {
            return Err(Error::invalid_argument(
                "alert threshold must be a finite number",
            ));
        }
        if !(0.0..1.0).contains(&options.hysteresis) {
            return Err(Error::invalid_argument(
                "alert hysteresis must be at least 0 and below 1",
            ));
        }
        let selector = parse_metric(metric)?;
        self.instances.retain(|_, i| i.rule != metric);
        self.rules.insert(metric.to_string(), (selector, options));
        Ok(())
    }

    pub fn remove(&mut self, metric: &str) -> bool {
        self.instances.retain(|_, i| i.rule != metric);
        self.rules.remove(metric).is_some()
    }

    pub fn rules(&self) -> Vec<(String, AlertOptions)> {
        self.rules
            .iter()
            .map(|(m, (_, o))| (m.clone(), *o))
            .collect()
    }

    /// Evaluates every rule over the window since the previous sample.
    /// `wall_ms(nanos)` turns a monitor-clock reading into epoch milliseconds.
    pub fn evaluate(&mut self, sample: Sample, wall_ms: impl Fn(u64) -> u64) -> Vec<AlertEvent> {
        let now = sample.at_nanos;
        if let Some(p) = &self.previous {
            if p.generation == sample.generation
                && p.at_nanos <= now
                && now - p.at_nanos < MIN_WINDOW.as_nanos() as u64
            {
                // Too soon after the previous evaluation: a window this short says
                // little; keep accumulating.
                return Vec::new();
            }
        }
        let previous = self
            .previous
            .take()
            .filter(|p| p.generation == sample.generation && p.at_nanos <= now);
        let window_start = previous
            .as_ref()
            .map_or(sample.period_start_nanos, |p| p.at_nanos);
        let window_secs = now.saturating_sub(window_start) as f64 / 1e9;
        let empty = HistogramData::empty();
        let delta = |i: usize| -> (HistogramData, u64) {
            let cur = &sample.slots[i];
            match previous.as_ref().and_then(|p| p.slots.get(i)) {
                Some(p) => (
                    cur.latency.since(&p.latency),
                    cur.errors.saturating_sub(p.errors),
                ),
                None => (cur.latency.since(&empty), cur.errors),
            }
        };
        let mut values: Vec<(String, String, f64, AlertOptions)> = Vec::new();
        let rules = self.rules.clone();
        for (rule, (selector, options)) in &rules {
            match selector {
                MetricSelector::Operation(name, stat) => {
                    for (i, slot) in sample.slots.iter().enumerate() {
                        if name.as_ref().is_some_and(|n| *n != slot.name) {
                            continue;
                        }
                        let (latency, errors) = delta(i);
                        if name.is_none() && latency.count == 0 {
                            continue;
                        }
                        let ms = |q: f64| (latency.count > 0).then(|| latency.quantile(q) / 1e6);
                        let value = match stat {
                            OpStat::P50 => ms(0.5),
                            OpStat::P90 => ms(0.9),
                            OpStat::P99 => ms(0.99),
                            OpStat::P999 => ms(0.999),
                            OpStat::Mean => (latency.count > 0).then(|| latency.mean() / 1e6),
                            OpStat::Max => (latency.count > 0).then(|| latency.max as f64 / 1e6),
                            OpStat::ErrorRate => {
                                (latency.count > 0).then(|| errors as f64 / latency.count as f64)
                            }
                            OpStat::Qps => {
                                (window_secs > 0.0).then(|| latency.count as f64 / window_secs)
                            }
                            OpStat::Errors => Some(errors as f64),
                        };
                        let metric = format!("{}.{}", slot.name, rule.rsplit_once('.').unwrap().1);
                        self.step(&metric, rule, value, *options, now, &mut values);
                    }
                }
                other => {
                    let prev = previous.as_ref();
                    let value = match other {
                        MetricSelector::PoolInFlight => sample.in_flight.map(|v| v as f64),
                        MetricSelector::PoolInUse => sample.in_use.map(|v| v as f64),
                        MetricSelector::PoolWaitP99 => {
                            let w = sample.wait.since(prev.map_or(&empty, |p| &p.wait));
                            Some(w.quantile(0.99) / 1e6)
                        }
                        MetricSelector::PoolReconnects => Some(
                            sample
                                .reconnects
                                .saturating_sub(prev.map_or(0, |p| p.reconnects))
                                as f64,
                        ),
                        MetricSelector::ScriptReloads => {
                            Some(sample.reloads.saturating_sub(prev.map_or(0, |p| p.reloads)) as f64)
                        }
                        MetricSelector::Operation(..) => unreachable!(),
                    };
                    self.step(rule, rule, value, *options, now, &mut values);
                }
            }
        }
        self.previous = Some(sample);
        values
            .into_iter()
            .map(|(metric, rule, value, options)| {
                let state = match self.instances.get(&metric).map(|i| i.phase) {
                    Some(Phase::Pending { .. }) => AlertState::Pending,
                    Some(Phase::Firing { .. }) => AlertState::Firing,
                    None => AlertState::Resolved,
                };
                let message = match state {
                    AlertState::Pending => format!(
                        "{metric} = {value:.3} is past the threshold {}; firing if it stays there for {} ms",
                        options.threshold,
                        options.sustain.as_millis()
                    ),
                    AlertState::Firing => format!(
                        "{metric} = {value:.3} is past the threshold {}",
                        options.threshold
                    ),
                    AlertState::Resolved => format!(
                        "{metric} = {value:.3} is back within the threshold {} (hysteresis {})",
                        options.threshold, options.hysteresis
                    ),
                };
                AlertEvent {
                    metric,
                    rule,
                    state,
                    value,
                    threshold: options.threshold,
                    at_ms: wall_ms(now),
                    message,
                }
            })
            .collect()
    }

    /// Moves one alert; pushes (metric, rule, value, options) when its state changed.
    fn step(
        &mut self,
        metric: &str,
        rule: &str,
        value: Option<f64>,
        options: AlertOptions,
        now: u64,
        changed: &mut Vec<(String, String, f64, AlertOptions)>,
    ) {
        let current = self.instances.get(metric).map(|i| i.phase);
        let Some(v) = value else {
            // No data (no call completed in the window): nothing changes.
            return;
        };
        let sustain = options.sustain.as_nanos() as u64;
        let next = match current {
            None if options.breached(v) => Some(if sustain == 0 {
                Phase::Firing { since: now }
            } else {
                Phase::Pending { since: now }
            }),
            None => None,
            Some(Phase::Pending { since }) if options.breached(v) => {
                if now.saturating_sub(since) >= sustain {
                    Some(Phase::Firing { since: now })
                } else {
                    Some(Phase::Pending { since })
                }
            }
            Some(Phase::Pending { .. }) => None,
            Some(Phase::Firing { .. }) if options.cleared(v) => None,
            Some(firing @ Phase::Firing { .. }) => Some(firing),
        };
        let kind = |p: Option<Phase>| match p {
            None => 0,
            Some(Phase::Pending { .. }) => 1,
            Some(Phase::Firing { .. }) => 2,
        };
        let (was, is) = (kind(current), kind(next));
        match next {
            Some(phase) => {
                self.instances.insert(
                    metric.to_string(),
                    Instance {
                        rule: rule.to_string(),
                        phase,
                        value: v,
                    },
                );
            }
            None => {
                self.instances.remove(metric);
            }
        }
        // Report pending and firing when entered; resolved only after firing.
        if was != is && !(was == 1 && is == 0) {
            changed.push((metric.to_string(), rule.to_string(), v, options));
        }
    }

    /// Alerts pending or firing now.
    pub fn active(&self, wall_ms: impl Fn(u64) -> u64) -> Vec<ActiveAlert> {
        self.instances
            .iter()
            .map(|(metric, i)| {
                let (state, since) = match i.phase {
                    Phase::Pending { since } => (AlertState::Pending, since),
                    Phase::Firing { since } => (AlertState::Firing, since),
                };
                ActiveAlert {
                    metric: metric.clone(),
                    rule: i.rule.clone(),
                    state,
                    value: i.value,
                    threshold: self.rules.get(&i.rule).map_or(0.0, |(_, o)| o.threshold),
                    since_ms: wall_ms(since),
                }
            })
            .collect()
    }

    /// How many alerts are firing and pending.
    pub fn counts(&self) -> (usize, usize) {
        let firing = self
            .instances
            .values()
            .filter(|i| matches!(i.phase, Phase::Firing { .. }))
            .count();
        (firing, self.instances.len() - firing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(
            parse_metric("set_linked_pod.p99_ms").unwrap(),
            MetricSelector::Operation(Some("set_linked_pod".into()), OpStat::P99)
        );
        assert_eq!(
            parse_metric("*.error_rate").unwrap(),
            MetricSelector::Operation(None, OpStat::ErrorRate)
        );
        assert_eq!(
            parse_metric("pool.wait_ms_p99").unwrap(),
            MetricSelector::PoolWaitP99
        );
        assert_eq!(
            parse_metric("pool.in_flight").unwrap(),
            MetricSelector::PoolInFlight
        );
        for bad in [
            "",
            "p99_ms",
            "x.p98_ms",
            "pool.nope",
            "a b.qps",
            "scripts.x",
        ] {
            assert!(parse_metric(bad).is_err(), "{bad}");
        }
    }
}
