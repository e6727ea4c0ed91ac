//! `stateful-redis dashboard`: serves the metrics (Prometheus, JSON, a live page)
//! until the duration ends or a signal comes, optionally under a workload.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use stateful_redis::config::Options;
use stateful_redis_cli::dashboard::Dashboard;
use stateful_redis_cli::workload::{self, RunLimit};
use stateful_redis_cli::CliError;

use super::{connect, current_runtime, set_alerts, workload_spec};
use crate::{args, shutdown, DashboardArgs};

pub fn run(options: &Options, args: DashboardArgs) -> Result<(), CliError> {
    let spec = match &args.workload {
        Some(name) => Some(workload_spec(name, &args.load)?),
        None => None,
    };
    let runtime = current_runtime()?;
    runtime.block_on(async {
        let exec = connect(options).await?;
        set_alerts(&exec, &args.load.alerts)?;
        // From the moment the address is printed, a signal stops serving cleanly.
        let duration = Duration::from_secs_f64(args.duration_s.unwrap_or(args::MAX_SECONDS));
        let limit = RunLimit::duration(duration);
        shutdown::cancel_on_signal(limit.cancel.clone());
        let dash = Dashboard::start(&args.listen, exec.clone())
            .map_err(|m| CliError::new("CONFIG", m))?;
        if !dash.addr().ip().is_loopback() {
            eprintln!(
                "stateful-redis: warning: serving on {}, not a loopback address: whoever reaches it \
                 sees the metrics",
                dash.addr()
            );
        }
        println!("http://{}/", dash.addr());
        let _ = std::io::stdout().flush();
        eprintln!(
            "stateful-redis: dashboard on http://{0}/ (Prometheus: http://{0}/metrics, snapshot: http://{0}/metrics.json){1}",
            dash.addr(),
            if args.duration_s.is_some() { "" } else { "; Ctrl-C to stop" }
        );
        let started = Instant::now();
        if let Some(spec) = &spec {
            if !args.load.no_prepare {
                workload::prepare(&exec, spec).await?;
                exec.reset_metrics();
            }
            workload::run_with(&exec, spec, args.load.concurrency, limit.clone()).await;
        }
        while !limit.cancel.load(Ordering::Relaxed) && started.elapsed() < duration {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        dash.stop();
        exec.close();
        Ok(())
    })
}
