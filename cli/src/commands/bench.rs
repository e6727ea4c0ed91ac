//! `stateful-redis bench`: prepare, warm up, run a workload, print what was
//! measured; optionally record the monitor's snapshots and write a report.

use std::time::Duration;

use stateful_redis::config::Options;
use stateful_redis::monitor::read_recording;
use stateful_redis_cli::progress::{Progress, ProgressMode};
use stateful_redis_cli::workload::{self, RunLimit};
use stateful_redis_cli::{report, CliError};

use super::{connect_with, set_alerts, workload_spec};
use crate::{args, shutdown, BenchArgs};

pub fn run(options: &Options, args: BenchArgs, json: bool) -> Result<(), CliError> {
    let spec = workload_spec(&args.workload, &args.load)?;
    let mode = ProgressMode::parse(&args.progress)
        .ok_or_else(|| CliError::new("INVALID_ARGUMENT", "--progress: auto, always or never"))?;
    let runtime = match args.runtime.as_str() {
        "current" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        "multi" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        other => {
            return Err(CliError::new(
                "INVALID_ARGUMENT",
                format!("unknown runtime `{other}`: current or multi"),
            ))
        }
    }
    .map_err(|e| CliError::new("INTERNAL", e.to_string()))?;
    let concurrency = args.load.concurrency;
    runtime.block_on(async {
        let exec = connect_with(options, args.tcp_nodelay).await?;
        set_alerts(&exec, &args.load.alerts)?;
        if !args.load.no_prepare {
            workload::prepare(&exec, &spec).await?;
        }
        if args.warmup_s > 0.0 {
            workload::run(
                &exec,
                &spec,
                concurrency,
                Duration::from_secs_f64(args.warmup_s),
            )
            .await;
        }
        exec.reset_metrics();
        let record_path = match (&args.record, &args.report) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(dir)) => Some(dir.join("recording.jsonl")),
            (None, None) => None,
        };
        let recorder = match &record_path {
            Some(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        CliError::new(
                            "INVALID_ARGUMENT",
                            format!("cannot create {}: {e}", parent.display()),
                        )
                    })?;
                }
                let _ = std::fs::remove_file(path);
                Some(exec.start_recording(path, Duration::from_millis(args.record_interval_ms))?)
            }
            None => None,
        };
        let limit = RunLimit {
            duration: Duration::from_secs_f64(match (args.duration_s, args.count) {
                (Some(seconds), _) => seconds,
                (None, Some(_)) => args::MAX_SECONDS,
                (None, None) => 5.0,
            }),
            max_ops: args.count,
            cancel: RunLimit::duration(Duration::ZERO).cancel,
        };
        shutdown::cancel_on_signal(limit.cancel.clone());
        let progress = Progress::start(mode, exec.clone(), args.count);
        let result = workload::run_with(&exec, &spec, concurrency, limit).await;
        progress.finish().await;
        if let Some(recorder) = recorder {
            recorder.stop()?;
        }
        if json {
            println!("{}", serde_json::to_string(&result).expect("serializable"));
        } else {
            print!("{}", workload::table(&result));
        }
        if let (Some(dir), Some(path)) = (&args.report, &record_path) {
            let snapshots = read_recording(path)?;
            let files = report::write(
                dir,
                &report::ReportInput {
                    source: format!("bench run, recording {}", path.display()),
                    snapshots: &snapshots,
                    bench: Some(&result),
                    suggestions: &exec.optimization_suggestions(),
                },
            )
            .map_err(|m| CliError::new("INTERNAL", m))?;
            eprintln!(
                "stateful-redis: report written to {}",
                files.markdown.display()
            );
        }
        if let Some(path) = &args.record {
            eprintln!("stateful-redis: recording written to {}", path.display());
        }
        exec.close();
        Ok(())
    })
}
