//! The performance monitor through the C ABI (SPEC section 6).
//!
//! The core aggregates; this module converts. Documents cross as JSON text with
//! the serde form of the core's types, so C sees exactly the schema Rust,
//! Python and Node see: the snapshot (`schemas/metrics_snapshot.schema.json`),
//! suggestions, optimize reports, alert events, alert options. Every JSON or
//! text string returned is freed with `sr_string_free`.
//!
//! Alert callbacks: a C function pointer plus a `userdata` pointer, wrapped in a
//! [`Delivery`] that serialises calls of one subscription and lets
//! `sr_alert_subscription_free` wait until a call in progress has returned, so
//! the caller may free `userdata` as soon as it returns.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use stateful_redis::alert_input::alert_options_from_json;
use stateful_redis::monitor::{AlertEvent, Recorder, SubscriptionId};
use stateful_redis::{Error, ErrorCode, Executor};

use crate::error::{ffi_guard, ffi_guard_or, SrStatus};
use crate::executor::{executor, SrExecutor};
use crate::ffi::{arg_str, c_string, Out};

fn json<T: Serialize>(what: &str, value: &T) -> Result<*mut c_char, Error> {
    let text = serde_json::to_string(value).map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("cannot encode {what} as JSON: {e}"),
        )
    })?;
    Ok(c_string(what, text)?.into_raw())
}

/// # Safety
/// As [`executor`].
unsafe fn core<'a>(p: *const SrExecutor) -> Result<&'a Executor, Error> {
    Ok(executor(p)?.executor())
}

/// The metrics snapshot as JSON (schema `schemas/metrics_snapshot.schema.json`,
/// the same as every binding's): uptime, per-operation counts, errors, rates,
/// latency percentiles, errors by code, pool and script statistics, active
/// alerts. Reading it does not reset anything.
///
/// # Safety
/// `executor` is a live executor; `out_json` is valid for writes.
///
/// # Ownership
/// On success `*out_json` receives a string owned by the caller, to be freed
/// with `sr_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_metrics(
    executor: *const SrExecutor,
    out_json: *mut *mut c_char,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_json", out_json)?;
        let exec = core(executor)?;
        out.write(json("the metrics snapshot", &exec.metrics())?);
        Ok(())
    })
}

/// The metrics in the Prometheus text exposition format.
///
/// # Safety
/// `executor` is a live executor; `out_text` is valid for writes.
///
/// # Ownership
/// On success `*out_text` receives a string owned by the caller, to be freed
/// with `sr_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_metrics_prometheus(
    executor: *const SrExecutor,
    out_text: *mut *mut c_char,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_text", out_text)?;
        let exec = core(executor)?;
        out.write(c_string("the exposition", exec.metrics_prometheus())?.into_raw());
        Ok(())
    })
}

/// Starts a new measurement period. `*out_json` receives the final snapshot of
/// the period that ended (same schema as `sr_metrics`).
///
/// # Safety
/// `executor` is a live executor; `out_json` is valid for writes.
///
/// # Ownership
/// On success `*out_json` receives a string owned by the caller, to be freed
/// with `sr_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_reset_metrics(
    executor: *const SrExecutor,
    out_json: *mut *mut c_char,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_json", out_json)?;
        let exec = core(executor)?;
        out.write(json("the metrics snapshot", &exec.reset_metrics())?);
        Ok(())
    })
}

/// Records one of the application's own operations: its name, how long it took
/// (nanoseconds) and whether it succeeded. It then appears in the snapshot like
/// the built-in operations. Names the core does not accept, or past its limit of
/// distinct names, are counted as `other` (see `docs/monitor.md`).
///
/// # Safety
/// `executor` is a live executor; `name` is a NUL-terminated string.
///
/// # Ownership
/// Borrows `name` for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn sr_record_operation(
    executor: *const SrExecutor,
    name: *const c_char,
    duration_ns: u64,
    success: bool,
) -> SrStatus {
    ffi_guard(|| {
        let exec = core(executor)?;
        let name = arg_str("name", name)?;
        exec.record_operation(name, Duration::from_nanos(duration_ns), success);
        Ok(())
    })
}

/// Sets (or replaces) the alert rule of `metric`: it fires as soon as the value
/// goes above `threshold` and resolves 10% below it. Metric names:
/// `<operation>.<p50_ms|p90_ms|p99_ms|p999_ms|mean_ms|max_ms|error_rate|qps|errors>`
/// (operation may be `*`), `pool.<in_flight|in_use|wait_ms_p99|reconnects>`,
/// `scripts.noscript_reloads`; anything else is `SR_INVALID_ARGUMENT`.
///
/// # Safety
/// `executor` is a live executor; `metric` is a NUL-terminated string.
///
/// # Ownership
/// Borrows `metric` for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn sr_set_alert_threshold(
    executor: *const SrExecutor,
    metric: *const c_char,
    threshold: f64,
) -> SrStatus {
    ffi_guard(|| {
        let exec = core(executor)?;
        let metric = arg_str("metric", metric)?;
        exec.set_alert_threshold(metric, threshold)
    })
}

/// As `sr_set_alert_threshold`, with every option of a rule as JSON:
/// `{"threshold": 5.0, "sustain": 3000, "hysteresis": 0.1, "direction":
/// "above"}` (`sustain` in milliseconds; `direction` `above` or `below`;
/// omitted fields take these defaults, threshold 0; `sustain_ms` is accepted
/// for `sustain`). Malformed JSON, an unknown field or a field of the wrong type
/// is `SR_INVALID_ARGUMENT`; the message names the field, never its value.
///
/// # Safety
/// `executor` is a live executor; `metric` and `options_json` are
/// NUL-terminated strings.
///
/// # Ownership
/// Borrows its arguments for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn sr_set_alert(
    executor: *const SrExecutor,
    metric: *const c_char,
    options_json: *const c_char,
) -> SrStatus {
    ffi_guard(|| {
        let exec = core(executor)?;
        let metric = arg_str("metric", metric)?;
        // Parsed by the core's one parser of alert options (as in every binding).
        let options: serde_json::Value =
            serde_json::from_str(arg_str("options_json", options_json)?)
                .map_err(|e| Error::invalid_argument(format!("invalid alert options: {e}")))?;
        let options = alert_options_from_json(&options)?;
        exec.set_alert(metric, options)
    })
}

/// Removes the alert rule of `metric` (and its alerts). `*out_removed` tells
/// whether there was one.
///
/// # Safety
/// `executor` is a live executor; `metric` is a NUL-terminated string;
/// `out_removed` is valid for writes.
///
/// # Ownership
/// Nothing is allocated.
#[no_mangle]
pub unsafe extern "C" fn sr_remove_alert(
    executor: *const SrExecutor,
    metric: *const c_char,
    out_removed: *mut bool,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_removed", out_removed)?;
        let exec = core(executor)?;
        let metric = arg_str("metric", metric)?;
        out.write(exec.remove_alert(metric));
        Ok(())
    })
}

/// Evaluates the alert rules now (the executor also does it once a second) and
/// delivers the changes to the subscribers, on the calling thread.
/// `*out_events_json` receives them as a JSON array of events (see
/// `SrAlertCallback`), `[]` when nothing changed.
///
/// # Safety
/// `executor` is a live executor; `out_events_json` is valid for writes.
///
/// # Ownership
/// On success `*out_events_json` receives a string owned by the caller, to be
/// freed with `sr_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_evaluate_alerts(
    executor: *const SrExecutor,
    out_events_json: *mut *mut c_char,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_events_json", out_events_json)?;
        let exec = core(executor)?;
        out.write(json("alert events", &exec.evaluate_alerts())?);
        Ok(())
    })
}

/// Optimisation suggestions from the current metrics and the executor's
/// settings, as a JSON array of `{"id", "severity", "message", "evidence"}`
/// (`evidence`: the metric values behind it).
///
/// # Safety
/// `executor` is a live executor; `out_json` is valid for writes.
///
/// # Ownership
/// On success `*out_json` receives a string owned by the caller, to be freed
/// with `sr_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_optimization_suggestions(
    executor: *const SrExecutor,
    out_json: *mut *mut c_char,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_json", out_json)?;
        let exec = core(executor)?;
        out.write(json("suggestions", &exec.optimization_suggestions())?);
        Ok(())
    })
}

/// Sizes the connection pool to the concurrency measured in the current period
/// (safe at run time: calls in progress are not disturbed). `*out_json`
/// receives the report: `{"changed", "connections_before",
/// "connections_after", "in_flight_peak", "calls", "reason"}`.
///
/// # Safety
/// `executor` is a live executor; `out_json` is valid for writes.
///
/// # Ownership
/// On success `*out_json` receives a string owned by the caller, to be freed
/// with `sr_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_optimize_connection_pool(
    executor: *const SrExecutor,
    out_json: *mut *mut c_char,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_json", out_json)?;
        let exec = self::executor(executor)?;
        let change = exec.call(|e| e.optimize_connection_pool())?;
        out.write(json("the pool report", &change)?);
        Ok(())
    })
}

/// Makes sure the server holds every Lua script (`SCRIPT EXISTS`, then
/// `SCRIPT LOAD`), so no later call pays a `NOSCRIPT` round trip. `*out_json`
/// receives the report: `{"scripts", "missing_before", "loaded",
/// "noscript_reloads", "changed"}`.
///
/// # Safety
/// `executor` is a live executor; `out_json` is valid for writes.
///
/// # Ownership
/// On success `*out_json` receives a string owned by the caller, to be freed
/// with `sr_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_optimize_lua_scripts(
    executor: *const SrExecutor,
    out_json: *mut *mut c_char,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_json", out_json)?;
        let exec = self::executor(executor)?;
        let report = exec.call(|e| e.optimize_lua_scripts())?;
        out.write(json("the scripts report", &report)?);
        Ok(())
    })
}

// ----- alert subscriptions ---------------------------------------------------------

/// Receives one alert event: `event_json` is `{"metric", "rule", "state"
/// ("pending" | "firing" | "resolved"), "value", "threshold", "at_ms",
/// "message"}`, valid only during the call; `userdata` is the pointer given to
/// `sr_subscribe_alerts`.
///
/// Runs on the executor's alert tick (a thread of the library's runtime, once a
/// second) or on a thread calling `sr_evaluate_alerts`; calls for one
/// subscription never overlap. Keep it short and do not block: it delays the
/// tick. It must not throw (C++) or unwind, must not call operations that talk
/// to Redis (on the runtime's thread they fail with `SR_INTERNAL`), and may call
/// the monitor functions (`sr_metrics`, ...).
pub type SrAlertCallback =
    Option<unsafe extern "C" fn(event_json: *const c_char, userdata: *mut c_void)>;

/// A subscription to alert events. Opaque: created by `sr_subscribe_alerts`,
/// ended and freed by `sr_alert_subscription_free`.
pub struct SrAlertSubscription {
    executor: Executor,
    id: SubscriptionId,
    delivery: Arc<Delivery>,
}

struct Target {
    callback: unsafe extern "C" fn(*const c_char, *mut c_void),
    userdata: *mut c_void,
}

/// Serialises the calls of one subscription; `None` once it is freed.
struct Delivery {
    target: Mutex<Option<Target>>,
    closed: AtomicBool,
}

// SAFETY: `userdata` is only handed back to the caller's callback, which the
// caller promised (documented on sr_subscribe_alerts) may run on another thread.
unsafe impl Send for Delivery {}
unsafe impl Sync for Delivery {}

thread_local! {
    /// The delivery whose callback runs on this thread right now, if any.
    static DELIVERING: Cell<*const Delivery> = const { Cell::new(std::ptr::null()) };
}

impl Delivery {
    fn deliver(&self, event: &AlertEvent) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let Ok(text) = serde_json::to_string(event) else {
            return;
        };
        let Ok(text) = CString::new(text) else {
            return;
        };
        let target = self.target.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = target.as_ref() {
            let previous = DELIVERING.with(|d| d.replace(self as *const Delivery));
            // SAFETY: the caller's callback, with its own userdata.
            unsafe { (t.callback)(text.as_ptr(), t.userdata) };
            DELIVERING.with(|d| d.set(previous));
        }
    }

    /// Stops delivering; waits for a call in progress on another thread.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let inside_own_callback = DELIVERING.with(|d| std::ptr::eq(d.get(), self));
        if !inside_own_callback {
            // Taking the lock waits for a call in progress.
            *self.target.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// Calls `callback(event_json, userdata)` on every alert event (pending, firing,
/// resolved) of this executor; see `SrAlertCallback` for the thread it runs on.
///
/// # Safety
/// `executor` is a live executor; `callback` is a function that may be called
/// from another thread with `userdata`, until `sr_alert_subscription_free`
/// returns; `out_subscription` is valid for writes.
///
/// # Ownership
/// On success `*out_subscription` receives a subscription owned by the caller,
/// to be freed once with `sr_alert_subscription_free` (which ends it). The
/// library never frees `userdata`. The subscription keeps the executor's
/// connections alive until it is freed.
#[no_mangle]
pub unsafe extern "C" fn sr_subscribe_alerts(
    executor: *const SrExecutor,
    callback: SrAlertCallback,
    userdata: *mut c_void,
    out_subscription: *mut *mut SrAlertSubscription,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_subscription", out_subscription)?;
        let exec = core(executor)?.clone();
        let callback = callback.ok_or_else(|| Error::invalid_argument("callback is NULL"))?;
        let delivery = Arc::new(Delivery {
            target: Mutex::new(Some(Target { callback, userdata })),
            closed: AtomicBool::new(false),
        });
        let for_monitor = delivery.clone();
        let id = exec.subscribe_alerts(Box::new(move |event| for_monitor.deliver(event)));
        out.write(Box::into_raw(Box::new(SrAlertSubscription {
            executor: exec,
            id,
            delivery,
        })));
        Ok(())
    })
}

/// Ends a subscription and frees it. When it returns, the callback is not
/// running on any other thread and will not be called again, so `userdata` may
/// be freed. Called from inside the subscription's own callback, it ends the
/// subscription without waiting (the current call finishes normally).
///
/// # Safety
/// `subscription` is NULL or was returned by `sr_subscribe_alerts` and not
/// freed yet.
///
/// # Ownership
/// Takes back ownership of `subscription`. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sr_alert_subscription_free(subscription: *mut SrAlertSubscription) {
    ffi_guard_or((), || {
        if subscription.is_null() {
            return;
        }
        let subscription = Box::from_raw(subscription);
        subscription.executor.unsubscribe_alerts(subscription.id);
        subscription.delivery.close();
    })
}

// ----- recording ---------------------------------------------------------------

/// Records snapshots of the metrics to a file, one JSON line each.
/// Opaque: created by `sr_start_recording`, freed by `sr_recorder_free`.
pub struct SrRecorder {
    recorder: Option<Recorder>,
}

/// Starts recording a snapshot (the JSON of `sr_metrics`) every `interval_ms`
/// milliseconds into the file at `path` (created if missing, appended to), on a
/// thread of its own. An interval of 0 or a file that cannot be opened is
/// `SR_INVALID_ARGUMENT`.
///
/// # Safety
/// `executor` is a live executor; `path` is a NUL-terminated string;
/// `out_recorder` is valid for writes.
///
/// # Ownership
/// On success `*out_recorder` receives a recorder owned by the caller, to be
/// freed once with `sr_recorder_free` (which stops it if still running).
#[no_mangle]
pub unsafe extern "C" fn sr_start_recording(
    executor: *const SrExecutor,
    path: *const c_char,
    interval_ms: u64,
    out_recorder: *mut *mut SrRecorder,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_recorder", out_recorder)?;
        let exec = core(executor)?;
        let path = arg_str("path", path)?;
        let recorder = exec.start_recording(path, Duration::from_millis(interval_ms))?;
        out.write(Box::into_raw(Box::new(SrRecorder {
            recorder: Some(recorder),
        })));
        Ok(())
    })
}

/// Writes a last snapshot and stops the recorder; `*out_snapshots` receives how
/// many snapshots it wrote in all. Stopping a stopped recorder writes 0.
///
/// # Safety
/// `recorder` is a live recorder; `out_snapshots` is valid for writes.
///
/// # Ownership
/// Borrows `recorder`; it must still be freed with `sr_recorder_free`.
#[no_mangle]
pub unsafe extern "C" fn sr_recorder_stop(
    recorder: *mut SrRecorder,
    out_snapshots: *mut u64,
) -> SrStatus {
    ffi_guard(|| {
        let out = Out::new("out_snapshots", out_snapshots)?;
        let recorder = recorder
            .as_mut()
            .ok_or_else(|| Error::invalid_argument("recorder is NULL"))?;
        let written = match recorder.recorder.take() {
            Some(r) => r.stop()?,
            None => 0,
        };
        out.write(written);
        Ok(())
    })
}

/// Frees a recorder, stopping it first if it is still running.
///
/// # Safety
/// `recorder` is NULL or was returned by `sr_start_recording` and not freed yet.
///
/// # Ownership
/// Takes back ownership of `recorder`. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sr_recorder_free(recorder: *mut SrRecorder) {
    ffi_guard_or((), || {
        if !recorder.is_null() {
            drop(Box::from_raw(recorder));
        }
    })
}
