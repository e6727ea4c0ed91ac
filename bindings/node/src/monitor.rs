//! The performance monitor on the `Executor` class (SPEC section 6). The core
//! aggregates; this file converts. The snapshot, suggestions, alert events and
//! optimizer reports are the core's serde types passed through as plain JS objects
//! with the core's (snake_case) field names, so every binding returns the same
//! snapshot and it validates against `schemas/metrics_snapshot.schema.json`.
//!
//! Snapshots and optimizations run on the core's runtime (they return Promises);
//! recording and setting thresholds are cheap and synchronous. Alert events reach a
//! JS callback through a thread-safe function that never keeps the process alive.

use std::ptr;
use std::time::Duration;

use napi::bindgen_prelude::{Function, PromiseRaw, ToNapiValue, Unknown};
use napi::{sys, Env, JsValue, Status, ValueType};
use napi_derive::napi;
use serde::Serialize;
use stateful_redis::alert_input::alert_options_from_json;
use stateful_redis::monitor::AlertOptions;
use stateful_redis::{AlertEvent, Error as CoreError, ErrorCode};

use crate::args::string;
use crate::callback::{JsArgument, ThreadsafeCallback};
use crate::error::{check, js_error};
use crate::executor::Executor;

/// A serde value as JSON text, made on the runtime's thread and turned into a
/// plain JS object by `JSON.parse` on the JS thread. (napi-rs's serde serializer
/// would turn the `u64`s above 2^32, such as epoch milliseconds, into BigInts.)
pub struct JsonText(String);

pub(crate) fn json<T: Serialize>(value: &T) -> Result<JsonText, CoreError> {
    serde_json::to_string(value)
        .map(JsonText)
        .map_err(|e| CoreError::new(ErrorCode::Internal, format!("cannot encode: {e}")))
}

impl ToNapiValue for JsonText {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        parse_json(env, &val.0)
    }
}

/// `JSON.parse(text)` in `env`.
unsafe fn parse_json(env: sys::napi_env, text: &str) -> napi::Result<sys::napi_value> {
    let mut global = ptr::null_mut();
    check(sys::napi_get_global(env, &mut global))?;
    let mut json = ptr::null_mut();
    check(sys::napi_get_named_property(
        env,
        global,
        c"JSON".as_ptr(),
        &mut json,
    ))?;
    let mut parse = ptr::null_mut();
    check(sys::napi_get_named_property(
        env,
        json,
        c"parse".as_ptr(),
        &mut parse,
    ))?;
    let mut arg = ptr::null_mut();
    check(sys::napi_create_string_utf8(
        env,
        text.as_ptr().cast(),
        text.len() as isize,
        &mut arg,
    ))?;
    let mut result = ptr::null_mut();
    check(sys::napi_call_function(
        env,
        json,
        parse,
        1,
        &arg,
        &mut result,
    ))?;
    Ok(result)
}

/// Throws `error` as this package's JS error from a synchronous method.
fn throw(env: &Env, error: &CoreError) -> napi::Error {
    unsafe {
        sys::napi_throw(env.raw(), js_error(env.raw(), error));
    }
    napi::Error::new(Status::PendingException, error.to_string())
}

#[napi]
impl Executor {
    /// The monitor's snapshot (`schemas/metrics_snapshot.schema.json`; snake_case
    /// keys, the same object in every binding).
    #[napi(ts_return_type = "Promise<MetricsSnapshot>")]
    pub fn metrics<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, JsonText>> {
        self.monitor_call(env, "metrics", |exec| async move { json(&exec.metrics()) })
    }

    /// Prometheus text exposition of the metrics.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn metrics_prometheus<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        self.monitor_call(env, "metrics_prometheus", |exec| async move {
            Ok(exec.metrics_prometheus())
        })
    }

    /// The metric families of the Prometheus exposition, the const labels of
    /// the option `metricsLabels` included: `[{name, type, help, samples:
    /// [{name, labels, value}]}]`, what `metricsPrometheus()` renders and what
    /// `registerMetrics` hands to a prom-client registry.
    #[napi(ts_return_type = "Promise<MetricFamily[]>")]
    pub fn metrics_families<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, JsonText>> {
        self.monitor_call(env, "metrics_families", |exec| async move {
            json(&exec.metrics_families())
        })
    }

    /// The metrics as OpenTelemetry metrics following the database client
    /// semantic conventions: `{start_time, time, metrics: [{name, description,
    /// unit, type, boundaries?, points: [{attributes, value | count, sum,
    /// bucket_counts}]}]}` (times as `{seconds, nanos}` since the Unix epoch).
    /// With `histogramsAsCounters`, the duration histogram comes as three
    /// counters (for observable instruments). What `otel.js` hands to the
    /// OpenTelemetry SDK.
    #[napi(ts_return_type = "Promise<OtelMetrics>")]
    pub fn otel_metrics<'env>(
        &self,
        env: &'env Env,
        histograms_as_counters: Option<bool>,
    ) -> napi::Result<PromiseRaw<'env, JsonText>> {
        let as_counters = histograms_as_counters.unwrap_or(false);
        self.monitor_call(env, "otel_metrics", move |exec| async move {
            json(&exec.otel_metrics(as_counters))
        })
    }

    /// Starts a new measurement period; resolves to the last period's snapshot.
    #[napi(ts_return_type = "Promise<MetricsSnapshot>")]
    pub fn reset_metrics<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, JsonText>> {
        self.monitor_call(env, "reset_metrics", |exec| async move {
            json(&exec.reset_metrics())
        })
    }

    /// Records one of the application's own operations (`durationMs` may have a
    /// fraction). Synchronous and cheap.
    #[napi]
    pub fn record_operation(
        &self,
        env: &Env,
        #[napi(ts_arg_type = "string")] name: Unknown,
        #[napi(ts_arg_type = "number")] duration_ms: Unknown,
        #[napi(ts_arg_type = "boolean")] success: Unknown,
    ) -> napi::Result<()> {
        let exec = self
            .handle("record_operation")
            .map_err(|e| throw(env, &e))?;
        let convert = || -> Result<(String, Duration, bool), CoreError> {
            let name = string(&name, "name")?;
            let ms = number(&duration_ms, "durationMs")?;
            if !(ms.is_finite() && ms >= 0.0) {
                return Err(CoreError::invalid_argument(format!(
                    "durationMs must be a finite number >= 0, not {ms}"
                )));
            }
            let success = boolean(&success, "success")?;
            Ok((name, Duration::from_secs_f64(ms / 1000.0), success))
        };
        let (name, duration, success) =
            convert().map_err(|e| throw(env, &e.with_operation("record_operation")))?;
        exec.record_operation(&name, duration, success);
        Ok(())
    }

    /// Alerts when `metric` (`set_linked_pod.p99_ms`, `*.error_rate`,
    /// `pool.wait_ms_p99`, ... see docs/monitor.md) crosses `threshold`.
    /// `options`: `sustainMs` (how long it must stay past the threshold),
    /// `hysteresis` (relative band to leave to resolve, default 0.1), `direction`
    /// (`"above"`, the default, or `"below"`). Throws `INVALID_ARGUMENT` for an
    /// unknown metric.
    #[napi]
    pub fn set_alert_threshold(
        &self,
        env: &Env,
        #[napi(ts_arg_type = "string")] metric: Unknown,
        #[napi(ts_arg_type = "number")] threshold: Unknown,
        #[napi(ts_arg_type = "AlertOptions | undefined | null")] options: Option<Unknown>,
    ) -> napi::Result<()> {
        let op = "set_alert_threshold";
        let exec = self.handle(op).map_err(|e| throw(env, &e))?;
        let convert = || -> Result<(String, AlertOptions), CoreError> {
            let metric = string(&metric, "metric")?;
            let threshold = number(&threshold, "threshold")?;
            // The object as JSON; the core's one parser checks and reads it.
            let mut rule = match options.filter(|o| !nullish(o)) {
                None => AlertOptions::default(),
                Some(options) => {
                    let options: serde_json::Value = env
                        .from_js_value(options)
                        .map_err(|_| CoreError::invalid_argument("options must be an object"))?;
                    alert_options_from_json(&options)?
                }
            };
            rule.threshold = threshold;
            Ok((metric, rule))
        };
        let (metric, rule) = convert().map_err(|e| throw(env, &e.with_operation(op)))?;
        exec.set_alert(&metric, rule)
            .map_err(|e| throw(env, &e.with_operation(op)))
    }

    /// Removes the alert rule for `metric` (and its alerts); whether there was one.
    #[napi]
    pub fn remove_alert(
        &self,
        env: &Env,
        #[napi(ts_arg_type = "string")] metric: Unknown,
    ) -> napi::Result<bool> {
        let op = "remove_alert";
        let exec = self.handle(op).map_err(|e| throw(env, &e))?;
        let metric = string(&metric, "metric").map_err(|e| throw(env, &e.with_operation(op)))?;
        Ok(exec.remove_alert(&metric))
    }

    /// Calls `callback(event)` on every alert event (`{metric, rule, state, value,
    /// threshold, at_ms, message}`, `state` one of `"pending"`, `"firing"`,
    /// `"resolved"`), on the JS thread. A subscription never keeps the process
    /// alive. Returns a function that unsubscribes.
    #[napi(ts_return_type = "() => boolean")]
    pub fn on_alert<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "(event: AlertEvent) => void")] callback: Function<'env>,
    ) -> napi::Result<Function<'env, (), bool>> {
        let exec = self.handle("on_alert").map_err(|e| throw(env, &e))?;
        // The subscription holds the function; it is released with the subscription.
        let sink = ThreadsafeCallback::new(env, callback.raw(), "stateful-redis alerts", 0)?;
        let id = exec.subscribe_alerts(Box::new(move |event: &AlertEvent| {
            if let Ok(text) = serde_json::to_string(event) {
                sink.send(AlertJson(text));
            }
        }));
        // The monitor, not the executor: holding the unsubscribe function must not
        // keep the connections open after `close()`.
        let monitor = exec.monitor().clone();
        env.create_function_from_closure("unsubscribe", move |_ctx| Ok(monitor.unsubscribe(id)))
    }

    /// Suggestions from the metrics and the configuration: `[{id, severity,
    /// message, evidence}]`.
    #[napi(ts_return_type = "Promise<Suggestion[]>")]
    pub fn optimization_suggestions<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, JsonText>> {
        self.monitor_call(env, "optimization_suggestions", |exec| async move {
            json(&exec.optimization_suggestions())
        })
    }

    /// Sizes the connection pool to the concurrency measured in this period;
    /// resolves to what changed.
    #[napi(ts_return_type = "Promise<PoolChange>")]
    pub fn optimize_connection_pool<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, JsonText>> {
        self.monitor_call(env, "optimize_connection_pool", |exec| async move {
            json(&exec.optimize_connection_pool().await?)
        })
    }

    /// Loads every script the server lacks; resolves to what changed.
    #[napi(ts_return_type = "Promise<ScriptsReport>")]
    pub fn optimize_lua_scripts<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, JsonText>> {
        self.monitor_call(env, "optimize_lua_scripts", |exec| async move {
            json(&exec.optimize_lua_scripts().await?)
        })
    }
}

fn nullish(value: &Unknown) -> bool {
    matches!(
        value.get_type(),
        Ok(ValueType::Undefined) | Ok(ValueType::Null)
    )
}

fn number(value: &Unknown, name: &str) -> Result<f64, CoreError> {
    let mut n = 0f64;
    let status = unsafe { sys::napi_get_value_double(value.value().env, value.raw(), &mut n) };
    if status != sys::Status::napi_ok {
        return Err(CoreError::invalid_argument(format!(
            "{name} must be a number"
        )));
    }
    Ok(n)
}

fn boolean(value: &Unknown, name: &str) -> Result<bool, CoreError> {
    let mut b = false;
    let status = unsafe { sys::napi_get_value_bool(value.value().env, value.raw(), &mut b) };
    if status != sys::Status::napi_ok {
        return Err(CoreError::invalid_argument(format!(
            "{name} must be a boolean"
        )));
    }
    Ok(b)
}

impl Executor {
    /// The core's executor, or `CLOSED` naming `op`.
    pub(crate) fn handle(&self, op: &'static str) -> Result<&stateful_redis::Executor, CoreError> {
        self.inner
            .as_ref()
            .ok_or_else(|| CoreError::closed().with_operation(op))
    }

    fn monitor_call<'env, T, F, Fut>(
        &self,
        env: &'env Env,
        op: &'static str,
        call: F,
    ) -> napi::Result<PromiseRaw<'env, T>>
    where
        F: FnOnce(stateful_redis::Executor) -> Fut,
        Fut: std::future::Future<Output = Result<T, CoreError>> + Send + 'static,
        T: ToNapiValue + Send + 'static,
    {
        match self.handle(op) {
            Ok(exec) => {
                let call = call(exec.clone());
                self.completer.spawn(
                    env,
                    async move { call.await.map_err(|e| e.with_operation(op)) },
                )
            }
            Err(e) => crate::promise::Completer::rejected(env, &e),
        }
    }
}

/// An alert event for a subscriber's function, as the JSON object of the
/// core's `AlertEvent`.
struct AlertJson(String);

impl JsArgument for AlertJson {
    unsafe fn to_js(&self, env: sys::napi_env) -> Option<sys::napi_value> {
        parse_json(env, &self.0).ok()
    }
}
