//! The performance monitor on the `Executor` class (SPEC section 6). The core
//! aggregates; this file converts. The snapshot, suggestions, alert events and
//! optimizer reports are the core's serde types passed through as plain JS objects
//! with the core's (snake_case) field names, so every binding returns the same
//! snapshot and it validates against `schemas/metrics_snapshot.schema.json`.
//!
//! Snapshots and optimizations run on the core's runtime (they return Promises);
//! recording and setting thresholds are cheap and synchronous. Alert events reach a
//! JS callback through a thread-safe function that never keeps the process alive.

use std::os::raw::c_void;
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::{Function, PromiseRaw, ToNapiValue, Unknown};
use napi::{sys, Env, JsValue, Status, ValueType};
use napi_derive::napi;
use serde::Serialize;
use stateful_redis::alert_input::alert_options_from_json;
use stateful_redis::monitor::AlertOptions;
use stateful_redis::{AlertEvent, Error as CoreError, ErrorCode};

use crate::args::string;
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
        let sink = AlertSink::new(env, &callback)?;
        let id = exec.subscribe_alerts(Box::new(move |event: &AlertEvent| sink.send(event)));
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

/// Delivers alert events to a JS function from any thread, through a thread-safe
/// function that is unreferenced (never keeps the event loop alive) and released
/// when the subscription is dropped.
struct AlertSink {
    tsfn: Arc<Mutex<Tsfn>>,
}

struct Tsfn(sys::napi_threadsafe_function);
// SAFETY: thread-safe functions may be called and released from any thread.
unsafe impl Send for Tsfn {}

impl AlertSink {
    fn new(env: &Env, callback: &Function) -> napi::Result<AlertSink> {
        let holder = Arc::new(Mutex::new(Tsfn(ptr::null_mut())));
        // napi owns one reference, given back (and the handle cleared) at finalize.
        let context = Arc::into_raw(holder.clone()) as *mut c_void;
        let mut name = ptr::null_mut();
        let label = "stateful-redis alerts";
        let mut tsfn = ptr::null_mut();
        unsafe {
            check(sys::napi_create_string_utf8(
                env.raw(),
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            ))?;
            let status = sys::napi_create_threadsafe_function(
                env.raw(),
                callback.raw(),
                ptr::null_mut(),
                name,
                0,
                1,
                context,
                Some(finalize_sink),
                ptr::null_mut(),
                Some(deliver),
                &mut tsfn,
            );
            if status != sys::Status::napi_ok {
                drop(Arc::from_raw(context as *const Mutex<Tsfn>));
                check(status)?;
            }
            check(sys::napi_unref_threadsafe_function(env.raw(), tsfn))?;
        }
        holder.lock().unwrap_or_else(|p| p.into_inner()).0 = tsfn;
        Ok(AlertSink { tsfn: holder })
    }

    fn send(&self, event: &AlertEvent) {
        let tsfn = self.tsfn.lock().unwrap_or_else(|p| p.into_inner());
        if tsfn.0.is_null() {
            return;
        }
        let Ok(text) = serde_json::to_string(event) else {
            return;
        };
        let data = Box::into_raw(Box::new(text)) as *mut c_void;
        let status = unsafe {
            sys::napi_call_threadsafe_function(
                tsfn.0,
                data,
                sys::ThreadsafeFunctionCallMode::nonblocking,
            )
        };
        if status != sys::Status::napi_ok {
            drop(unsafe { Box::from_raw(data as *mut String) });
        }
    }
}

impl Drop for AlertSink {
    fn drop(&mut self) {
        let tsfn = self.tsfn.lock().unwrap_or_else(|p| p.into_inner());
        if !tsfn.0.is_null() {
            unsafe {
                sys::napi_release_threadsafe_function(
                    tsfn.0,
                    sys::ThreadsafeFunctionReleaseMode::release,
                );
            }
        }
    }
}

unsafe extern "C" fn deliver(
    env: sys::napi_env,
    js_callback: sys::napi_value,
    _context: *mut c_void,
    data: *mut c_void,
) {
    if data.is_null() {
        return;
    }
    let event = Box::from_raw(data as *mut String);
    if env.is_null() || js_callback.is_null() {
        return;
    }
    let Ok(arg) = parse_json(env, &event) else {
        return;
    };
    let mut undefined = ptr::null_mut();
    sys::napi_get_undefined(env, &mut undefined);
    let mut result = ptr::null_mut();
    // An exception thrown by the callback surfaces as an uncaught exception.
    sys::napi_call_function(env, undefined, js_callback, 1, &arg, &mut result);
}

unsafe extern "C" fn finalize_sink(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        let holder = Arc::from_raw(data as *const Mutex<Tsfn>);
        holder.lock().unwrap_or_else(|p| p.into_inner()).0 = ptr::null_mut();
    }
}
