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

mod events;
mod manager;
mod metric;
mod options;

pub use events::{ActiveAlert, AlertEvent, AlertState};
pub use manager::MIN_WINDOW;
pub(crate) use manager::{AlertManager, Sample, SlotSample};
pub use metric::{parse_metric, MetricSelector, OpStat};
pub use options::{AlertOptions, Direction};
