//! The performance monitor for Python: the core's snapshot, Prometheus text,
//! alerts, suggestions and optimizers, converted (serde → Python values), nothing
//! recomputed here.
//!
//! Alert events reach a Python callable on a dedicated delivery thread per
//! subscription (`stateful-redis-alerts`), which takes the GIL for each event: the
//! core's runtime thread, which evaluates alerts and also drives the connections,
//! never waits for the GIL. An exception raised by the callable is reported with
//! `sys.unraisablehook` and does not end the subscription.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDelta;
use serde::Serialize;
use serde_json::Value;
use stateful_redis::alert_input::alert_options_from_json;
use stateful_redis::monitor::{AlertEvent, SubscriptionId};
use stateful_redis::Monitor;

use crate::convert::Str;
use crate::error::{invalid_argument, ResultExt};
use crate::options::from_json;

/// A serde value on its way to Python (dicts, lists, numbers, strings).
pub struct Json(pub Value);

impl Json {
    pub fn of<T: Serialize>(value: &T) -> Json {
        Json(serde_json::to_value(value).unwrap_or(Value::Null))
    }
}

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        from_json(py, &self.0)
    }
}

/// A duration given as seconds (`float`/`int`, e.g. a `time.perf_counter()`
/// difference) or as a `datetime.timedelta`.
pub struct Seconds(pub Duration);

impl<'a, 'py> FromPyObject<'a, 'py> for Seconds {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let secs: f64 = if obj.is_instance_of::<PyDelta>() {
            obj.call_method0("total_seconds")?.extract()?
        } else if obj.is_instance_of::<pyo3::types::PyBool>() {
            return Err(invalid_argument(
                "duration must be seconds (float) or a timedelta, not bool",
            ));
        } else {
            obj.extract::<f64>()
                .map_err(|_| invalid_argument("duration must be seconds (float) or a timedelta"))?
        };
        Duration::try_from_secs_f64(secs)
            .map(Seconds)
            .map_err(|_| invalid_argument("duration must be finite and not negative"))
    }
}

/// A bool that must really be a `bool`.
pub struct Bool(pub bool);

impl<'a, 'py> FromPyObject<'a, 'py> for Bool {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        obj.cast::<pyo3::types::PyBool>()
            .map(|b| Bool(b.is_true()))
            .map_err(|_| invalid_argument("success must be a bool"))
    }
}

/// A float threshold (`int` accepted, `bool` refused).
pub struct Float(pub f64);

impl<'a, 'py> FromPyObject<'a, 'py> for Float {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<pyo3::types::PyBool>() {
            return Err(invalid_argument("expected a number, not bool"));
        }
        obj.extract::<f64>()
            .map(Float)
            .map_err(|_| invalid_argument("expected a number"))
    }
}

/// Alert subscriptions of one executor object: Python-visible ids → core ids.
#[derive(Default)]
pub struct Subscriptions {
    next: AtomicU64,
    ids: Mutex<HashMap<u64, SubscriptionId>>,
}

pub fn metrics(py: Python<'_>, e: &Monitor) -> Json {
    py.detach(|| Json::of(&e.snapshot()))
}

pub fn metrics_prometheus(py: Python<'_>, e: &Monitor) -> String {
    py.detach(|| e.prometheus())
}

pub fn metrics_families(py: Python<'_>, e: &Monitor) -> Json {
    py.detach(|| Json::of(&e.prometheus_families()))
}

pub fn otel_metrics(py: Python<'_>, e: &Monitor, histograms_as_counters: bool) -> Json {
    py.detach(|| Json::of(&e.otel_metrics(histograms_as_counters)))
}

pub fn reset_metrics(py: Python<'_>, e: &Monitor) -> Json {
    py.detach(|| Json::of(&e.reset()))
}

pub fn record_operation(e: &Monitor, name: Str, duration: Seconds, success: Bool) {
    e.record_operation(&name.0, duration.0, success.0);
}

pub fn set_alert_threshold(e: &Monitor, metric: Str, threshold: Float) -> PyResult<()> {
    e.set_alert_threshold(&metric.0, threshold.0).py()
}

pub fn set_alert(
    e: &Monitor,
    metric: Str,
    threshold: Float,
    sustain_ms: Option<crate::convert::Int>,
    hysteresis: Option<Float>,
    direction: Option<Str>,
) -> PyResult<()> {
    // The keywords as JSON; the core's one parser checks and reads them. A
    // non-finite float has no JSON form: it is sent as a string so that the
    // core refuses it by name instead of reading it as omitted.
    let number = |x: f64| serde_json::Number::from_f64(x).map_or(Value::from("NaN"), Value::from);
    let options = serde_json::json!({
        "sustain_ms": sustain_ms.map(|ms| ms.0),
        "hysteresis": hysteresis.map(|h| number(h.0)),
        "direction": direction.map(|d| d.0),
    });
    let mut options = alert_options_from_json(&options).py()?;
    options.threshold = threshold.0;
    e.set_alert(&metric.0, options).py()
}

pub fn remove_alert(e: &Monitor, metric: Str) -> bool {
    e.remove_alert(&metric.0)
}

pub fn evaluate_alerts(py: Python<'_>, e: &Monitor) -> Json {
    py.detach(|| Json::of(&e.evaluate_alerts()))
}

pub fn optimization_suggestions(py: Python<'_>, e: &Monitor) -> Json {
    py.detach(|| Json::of(&e.optimization_suggestions()))
}

/// Delivers alert events to `callback` (a callable taking one dict) until
/// unsubscribed; returns the subscription id.
pub fn subscribe_alerts(
    e: &Monitor,
    subs: &Subscriptions,
    callback: Bound<'_, PyAny>,
) -> PyResult<u64> {
    if !callback.is_callable() {
        return Err(invalid_argument("the alert callback must be callable"));
    }
    let callback = callback.unbind();
    let (tx, rx) = mpsc::channel::<AlertEvent>();
    std::thread::Builder::new()
        .name("stateful-redis-alerts".into())
        .spawn(move || {
            // Ends when the subscription (and with it the sender) is dropped.
            for event in rx {
                Python::attach(|py| {
                    let delivered = Json::of(&event)
                        .into_pyobject(py)
                        .and_then(|event| callback.bind(py).call1((event,)));
                    if let Err(err) = delivered {
                        err.write_unraisable(py, Some(callback.bind(py)));
                    }
                });
            }
        })
        .map_err(|e| invalid_argument(format!("cannot start the alert delivery thread: {e}")))?;
    let core_id = e.subscribe(Box::new(move |event: &AlertEvent| {
        let _ = tx.send(event.clone());
    }));
    let id = subs.next.fetch_add(1, Ordering::Relaxed) + 1;
    subs.ids
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, core_id);
    Ok(id)
}

pub fn unsubscribe_alerts(e: &Monitor, subs: &Subscriptions, id: u64) -> bool {
    let core_id = subs
        .ids
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    core_id.is_some_and(|core_id| e.unsubscribe(core_id))
}
