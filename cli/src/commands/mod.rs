//! One module per command of the binary: each turns its parsed flags (defined in
//! `main.rs`) into calls of the library side (`stateful_redis_cli`: workload
//! generator, reports, dashboard server, doctor's checks) and the core, and prints
//! the result. Helpers shared by several commands live here.

pub mod bench;
pub mod dashboard;
pub mod docs;
pub mod doctor;
pub mod inspect;
pub mod report;

use stateful_redis::config::Options;
use stateful_redis::Executor;
use stateful_redis_cli::workload::WorkloadSpec;
use stateful_redis_cli::CliError;

use crate::WorkloadArgs;

/// The one-thread runtime of every command but `bench --runtime multi`.
fn current_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new("INTERNAL", format!("cannot start a runtime: {e}")))
}

async fn connect(options: &Options) -> Result<Executor, CliError> {
    connect_with(options, true).await
}

/// Connects with the options of the connection flags (`server.rs`); the core
/// checks them.
async fn connect_with(options: &Options, tcp_nodelay: bool) -> Result<Executor, CliError> {
    let config = Options {
        tcp_nodelay,
        ..options.clone()
    }
    .build()?;
    Ok(Executor::connect(config).await?)
}

/// The workload of `bench` and `dashboard --workload`: a named one, shaped by the
/// shared workload flags.
fn workload_spec(name: &str, args: &WorkloadArgs) -> Result<WorkloadSpec, CliError> {
    let mut spec = WorkloadSpec::named(name).ok_or_else(|| {
        CliError::new(
            "INVALID_ARGUMENT",
            format!("unknown workload `{name}`: mixed, all, get, set or an operation name"),
        )
    })?;
    if let Some(mix) = &args.mix {
        spec = spec
            .with_mix(mix)
            .map_err(|m| CliError::new("INVALID_ARGUMENT", m))?;
    }
    // Ranges are checked by the parsers (args.rs).
    spec.uids = args.uids;
    spec.namespaces = args.namespaces;
    spec.services = args.services;
    spec.pods = args.pods;
    spec.batch_size = args.batch_size;
    spec.persistent_ratio = args.persistent_ratio;
    Ok(spec)
}

/// Applies `--alert METRIC=VALUE` options.
fn set_alerts(exec: &Executor, alerts: &[String]) -> Result<(), CliError> {
    for alert in alerts {
        let (metric, value) = alert.split_once('=').ok_or_else(|| {
            CliError::new(
                "INVALID_ARGUMENT",
                format!("--alert `{alert}`: expected METRIC=VALUE"),
            )
        })?;
        let value: f64 = value.trim().parse().map_err(|_| {
            CliError::new(
                "INVALID_ARGUMENT",
                format!("--alert `{alert}`: `{value}` is not a number"),
            )
        })?;
        exec.set_alert_threshold(metric.trim(), value)?;
    }
    Ok(())
}
