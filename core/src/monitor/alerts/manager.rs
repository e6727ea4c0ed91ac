//! The alert state machine: the rules set, the phase of every alert
//! (pending, firing), and their evaluation over the window since the previous
//! one.

use std::collections::BTreeMap;
use std::time::Duration;

use super::events::{ActiveAlert, AlertEvent, AlertState};
use super::metric::{parse_metric, MetricSelector, OpStat};
use super::options::AlertOptions;
use crate::error::{Error, Result};
use crate::monitor::histogram::HistogramData;

/// Shortest evaluation window: an evaluation sooner than this after the previous
/// one does nothing (the executor's tick and explicit calls may interleave).
pub const MIN_WINDOW: Duration = Duration::from_millis(250);

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
