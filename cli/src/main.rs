//! `stateful-redis`: the command-line tool (SPEC section 7). Thin over the core:
//! every command is a few executor or monitor calls; see `docs/cli.md`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use serde_json::json;
use stateful_redis::monitor::read_recording;
use stateful_redis::{Config, Executor, RoutingPolicy};
use stateful_redis_cli::dashboard::Dashboard;
use stateful_redis_cli::progress::{Progress, ProgressMode};
use stateful_redis_cli::workload::{self, RunLimit, WorkloadSpec};
use stateful_redis_cli::{doctor, report, CliError};
use stateful_redis_testkit::LocalRedis;

mod args;
mod shutdown;

#[derive(Parser)]
#[command(
    name = "stateful-redis",
    version,
    about = "Routing facts of stateful services in Redis: bench, dashboard, reports, inspection, doctor"
)]
struct Cli {
    /// Redis URL. Default: $STATEFUL_REDIS_URL, else a private redis-server
    /// started for the lifetime of this command.
    #[arg(long, global = true)]
    url: Option<String>,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a workload and print what was measured (table, JSON, report, recording).
    Bench(BenchArgs),
    /// Build the Markdown report with charts from a recording made earlier.
    Report(ReportArgs),
    /// Serve /metrics (Prometheus), /metrics.json and a live HTML page.
    Dashboard(DashboardArgs),
    /// Links of users to pods.
    #[command(subcommand)]
    Link(LinkCmd),
    /// Pod states of a service.
    #[command(subcommand)]
    State(StateCmd),
    /// Workload state of services.
    #[command(subcommand)]
    Workload(WorkloadCmd),
    /// Pod load records.
    #[command(subcommand)]
    Load(LoadCmd),
    /// Route a user: its link, else the least-loaded eligible pod (compute_linked_pod).
    Compute(ComputeArgs),
    /// Check connectivity, server version and mode, scripts, cluster slots, suggestions.
    Doctor,
}

/// The workload options shared by `bench` and `dashboard --workload`.
#[derive(Args, Clone)]
struct WorkloadArgs {
    /// Explicit mix, e.g. `get_linked_pod=80,set_linked_pod=20` (overrides the workload name).
    #[arg(long)]
    mix: Option<String>,
    /// Calls in flight at once (1 to 100000).
    #[arg(long, default_value_t = 64, value_parser = args::count(1, 100_000), allow_negative_numbers = true)]
    concurrency: usize,
    /// Distinct uids (1 to 10000000).
    #[arg(long, default_value_t = 10_000, value_parser = args::count(1, 10_000_000), allow_negative_numbers = true)]
    uids: usize,
    /// Namespaces the uids are spread over (1 to 10000).
    #[arg(long, default_value_t = 1, value_parser = args::count(1, 10_000), allow_negative_numbers = true)]
    namespaces: usize,
    /// Services per namespace (1 to 10000).
    #[arg(long, default_value_t = 4, value_parser = args::count(1, 10_000), allow_negative_numbers = true)]
    services: usize,
    /// Pods per service (1 to 100000).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(i64).range(1..=100_000), allow_negative_numbers = true)]
    pods: i64,
    /// Uids per batch_get_linked_pod call (1 to 100000).
    #[arg(long, default_value_t = 100, value_parser = args::count(1, 100_000), allow_negative_numbers = true)]
    batch_size: usize,
    /// Share of link writes that are persistent (the rest get a TTL of 300 s), 0 to 1.
    #[arg(long, default_value_t = 0.5, value_parser = args::ratio, allow_hyphen_values = true)]
    persistent_ratio: f64,
    /// Skip the set-up (link half of the pairs) before the run.
    #[arg(long)]
    no_prepare: bool,
    /// An alert threshold, `METRIC=VALUE` (e.g. `set_linked_pod.p99_ms=5`); repeatable.
    #[arg(long = "alert", value_name = "METRIC=VALUE")]
    alerts: Vec<String>,
}

#[derive(Args)]
struct BenchArgs {
    /// `mixed` (the comparison workload), `all`, `get`, `set`, or an operation name.
    #[arg(long, default_value = "mixed")]
    workload: String,
    /// Set TCP_NODELAY on the connection (`false` lets Nagle's algorithm batch;
    /// see docs/performance.md).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    tcp_nodelay: bool,
    #[command(flatten)]
    load: WorkloadArgs,
    /// Seconds to run, up to 365 days (default 5; with --count: no time limit unless given).
    #[arg(long, value_parser = args::seconds, allow_hyphen_values = true)]
    duration_s: Option<f64>,
    /// Stop after this many calls (at least 1).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    count: Option<u64>,
    /// Seconds of warm-up before measuring (not counted), up to 365 days.
    #[arg(long, default_value_t = 1.0, value_parser = args::seconds, allow_hyphen_values = true)]
    warmup_s: f64,
    /// Tokio runtime flavour: `current` (one thread, batches best) or `multi`.
    #[arg(long, default_value = "current")]
    runtime: String,
    /// Live progress on stderr: `auto` (when stderr is a terminal), `always`, `never`.
    #[arg(long, default_value = "auto")]
    progress: String,
    /// Write a Markdown report with SVG charts into this folder.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Record the monitor's snapshots (JSON lines) into this file.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Milliseconds between recorded snapshots (10 to 86400000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=86_400_000), allow_negative_numbers = true)]
    record_interval_ms: u64,
}

#[derive(Args)]
struct ReportArgs {
    /// A recording (`bench --record`, or `Executor::start_recording`).
    file: PathBuf,
    /// Folder to write into (default: `<FILE without extension>-report`).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct DashboardArgs {
    /// Address to serve on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:9464")]
    listen: String,
    /// Run this workload in the background (`mixed`, `all`, ...), so the page moves.
    #[arg(long)]
    workload: Option<String>,
    #[command(flatten)]
    load: WorkloadArgs,
    /// Stop after this many seconds, up to 365 days (default: until Ctrl-C).
    #[arg(long, value_parser = args::seconds, allow_hyphen_values = true)]
    duration_s: Option<f64>,
}

#[derive(Subcommand)]
enum LinkCmd {
    /// The pod UID is linked to for SVC (`--persistent-only`: only a persistent link).
    Get {
        ns: String,
        uid: String,
        svc: String,
        #[arg(long)]
        persistent_only: bool,
    },
    /// Link UID to POD for SVC; prints the previous pod (or the outcome with --mode).
    Set {
        ns: String,
        uid: String,
        svc: String,
        #[arg(allow_hyphen_values = true)]
        pod: i64,
        /// -1: persistent; > 0: a temporary link for this many seconds.
        #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
        persist: i64,
        /// `set` (set_linked_pod), `try` (try_set_linked_pod), `if-absent`.
        #[arg(long, default_value = "set")]
        mode: String,
    },
    /// Remove the link (`--pod`: only when it points to that pod).
    Remove {
        ns: String,
        uid: String,
        svc: String,
        /// -1: delete now; > 0: keep it readable as a temporary link this long.
        #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
        keep: i64,
        #[arg(long, allow_hyphen_values = true)]
        pod: Option<i64>,
    },
    /// The persistent links of UID, by service (get_link_service).
    List { ns: String, uid: String },
    /// Pods of many uids at once (batch_get_linked_pod).
    Batch {
        ns: String,
        svc: String,
        #[arg(required = true)]
        uids: Vec<String>,
    },
}

#[derive(Subcommand)]
enum StateCmd {
    /// Every pod's state.
    Get { ns: String, svc: String },
    /// Set one pod's state.
    Set {
        ns: String,
        svc: String,
        #[arg(allow_hyphen_values = true)]
        pod: i64,
        state: String,
    },
}

#[derive(Subcommand)]
enum WorkloadCmd {
    /// The workload state of one or more services.
    Get {
        ns: String,
        #[arg(required = true)]
        svcs: Vec<String>,
    },
    /// Set a service's workload state.
    Set {
        ns: String,
        svc: String,
        state: String,
    },
}

#[derive(Subcommand)]
enum LoadCmd {
    /// Load records of every pod (`--fresh-since-ms`: only those updated since).
    Get {
        ns: String,
        svc: String,
        #[arg(long, allow_hyphen_values = true)]
        fresh_since_ms: Option<i64>,
    },
    /// Write a load record (stamped with the server's clock).
    Set {
        ns: String,
        svc: String,
        #[arg(allow_hyphen_values = true)]
        pod: i64,
        #[arg(allow_hyphen_values = true)]
        load: i64,
        #[arg(default_value_t = 0, allow_hyphen_values = true)]
        state: i64,
    },
}

#[derive(Args)]
struct ComputeArgs {
    ns: String,
    uid: String,
    svc: String,
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    persist: i64,
    /// Load records older than this are ignored.
    #[arg(long, default_value_t = 60_000, allow_hyphen_values = true)]
    max_age_ms: i64,
    /// Pods in a worse state than this are not chosen.
    #[arg(long, default_value_t = i64::MAX, allow_hyphen_values = true)]
    max_state: i64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = shutdown::install().and_then(|()| {
        // Stops the private server even when `run` panics.
        struct StopServer;
        impl Drop for StopServer {
            fn drop(&mut self) {
                shutdown::stop_server();
            }
        }
        let _stop = StopServer;
        run(cli)
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stateful-redis: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The server to talk to; a private one is kept in `shutdown` until the end.
fn server_url(url: Option<String>) -> Result<String, CliError> {
    if let Some(url) = url.or_else(|| std::env::var(stateful_redis::config::URL_ENV).ok()) {
        return Ok(url);
    }
    // Held while starting, so a signal handled meanwhile still stops the server.
    let mut slot = shutdown::server_slot();
    // A password keeps other local users out (docs/cli.md).
    let server = LocalRedis::builder().password().start().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::new(
                "CONNECTION",
                "no --url and no $STATEFUL_REDIS_URL, and redis-server is not on PATH to start a \
                 private one: install it (Debian: apt-get install redis-server; or \
                 bash scripts/lib/install-redis.sh) or pass --url redis://HOST:PORT",
            )
        } else {
            CliError::new(
                "CONNECTION",
                format!("cannot start a private redis-server: {e}"),
            )
        }
    })?;
    eprintln!(
        "stateful-redis: no --url given: started a private redis-server on {} for this command",
        server.address()
    );
    let url = server.url();
    *slot = Some(server);
    Ok(url)
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    // Commands that need no server.
    if let Command::Report(args) = &cli.command {
        return report_cmd(args, cli.json).map(|()| ExitCode::SUCCESS);
    }
    let url = server_url(cli.url)?;
    let json = cli.json;
    match cli.command {
        Command::Report(_) => unreachable!("handled above"),
        Command::Bench(args) => bench(&url, args, json).map(|()| ExitCode::SUCCESS),
        Command::Dashboard(args) => dashboard(&url, args).map(|()| ExitCode::SUCCESS),
        Command::Doctor => {
            let runtime = current_runtime()?;
            let d = doctor::diagnose(&url, &runtime);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&d).expect("serializable")
                );
            } else {
                print!("{}", d.text());
            }
            Ok(if d.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        command => {
            let runtime = current_runtime()?;
            runtime.block_on(async {
                let exec = connect(&url).await?;
                let value = inspect(&exec, command).await?;
                print_value(&value, json);
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

fn current_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new("INTERNAL", format!("cannot start a runtime: {e}")))
}

async fn connect(url: &str) -> Result<Executor, CliError> {
    connect_with(url, true).await
}

async fn connect_with(url: &str, tcp_nodelay: bool) -> Result<Executor, CliError> {
    let config = Config::builder()
        .url(url)
        .command_timeout(Duration::from_secs(5))
        .tcp_nodelay(tcp_nodelay)
        .build()?;
    Ok(Executor::connect(config).await?)
}

fn print_value(value: &serde_json::Value, json: bool) {
    if json {
        println!("{value}");
        return;
    }
    match value {
        serde_json::Value::Null => println!("(none)"),
        serde_json::Value::String(s) => println!("{s}"),
        serde_json::Value::Object(map) if map.is_empty() => println!("(none)"),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) => println!("{k}\t{s}"),
                    serde_json::Value::Null => println!("{k}\t(none)"),
                    other => println!("{k}\t{other}"),
                }
            }
        }
        other => println!("{other}"),
    }
}

async fn inspect(exec: &Executor, command: Command) -> Result<serde_json::Value, CliError> {
    Ok(match command {
        Command::Link(LinkCmd::Get {
            ns,
            uid,
            svc,
            persistent_only,
        }) => {
            let pod = if persistent_only {
                exec.get_linked_pod_if_persist(&ns, &uid, &svc).await?
            } else {
                exec.get_linked_pod(&ns, &uid, &svc).await?
            };
            json!(pod)
        }
        Command::Link(LinkCmd::Set {
            ns,
            uid,
            svc,
            pod,
            persist,
            mode,
        }) => match mode.as_str() {
            "set" => {
                json!({ "previous": exec.set_linked_pod(&ns, &uid, &svc, pod, persist).await? })
            }
            "try" => {
                let o = exec
                    .try_set_linked_pod(&ns, &uid, &svc, pod, persist)
                    .await?;
                json!({ "ok": o.ok, "pod": o.pod })
            }
            "if-absent" => json!({
                "pod": exec.set_linked_pod_if_absent(&ns, &uid, &svc, pod, persist).await?
            }),
            other => {
                return Err(CliError::new(
                    "INVALID_ARGUMENT",
                    format!("--mode `{other}`: expected set, try or if-absent"),
                ))
            }
        },
        Command::Link(LinkCmd::Remove {
            ns,
            uid,
            svc,
            keep,
            pod,
        }) => {
            let removed = match pod {
                Some(pod) => {
                    exec.remove_linked_pod_with_id(&ns, &uid, &svc, keep, pod)
                        .await?
                }
                None => exec.remove_linked_pod(&ns, &uid, &svc, keep).await?,
            };
            json!({ "removed": removed })
        }
        Command::Link(LinkCmd::List { ns, uid }) => json!(exec.get_link_service(&ns, &uid).await?),
        Command::Link(LinkCmd::Batch { ns, svc, uids }) => {
            json!(exec.batch_get_linked_pod(&ns, &uids, &svc).await?)
        }
        Command::State(StateCmd::Get { ns, svc }) => {
            json!(exec.get_service_state(&ns, &svc).await?)
        }
        Command::State(StateCmd::Set {
            ns,
            svc,
            pod,
            state,
        }) => {
            exec.set_service_state(&ns, &svc, pod, &state).await?;
            json!({ "ok": true })
        }
        Command::Workload(WorkloadCmd::Get { ns, svcs }) => {
            if svcs.len() == 1 {
                json!(exec.get_workload_state(&ns, &svcs[0]).await?)
            } else {
                json!(exec.get_workload_states(&ns, &svcs).await?)
            }
        }
        Command::Workload(WorkloadCmd::Set { ns, svc, state }) => {
            exec.set_workload_state(&ns, &svc, &state).await?;
            json!({ "ok": true })
        }
        Command::Load(LoadCmd::Get {
            ns,
            svc,
            fresh_since_ms,
        }) => {
            let loads = exec.get_pod_loads(&ns, &svc, fresh_since_ms).await?;
            let map: serde_json::Map<String, serde_json::Value> = loads
                .into_iter()
                .map(|(pod, l)| {
                    (
                        pod.to_string(),
                        json!({ "load": l.load, "state": l.state, "updated_ms": l.updated_ms }),
                    )
                })
                .collect();
            serde_json::Value::Object(map)
        }
        Command::Load(LoadCmd::Set {
            ns,
            svc,
            pod,
            load,
            state,
        }) => {
            exec.set_pod_load(&ns, &svc, pod, load, state).await?;
            json!({ "ok": true })
        }
        Command::Compute(a) => {
            let policy = RoutingPolicy {
                max_age_ms: a.max_age_ms,
                max_state: a.max_state,
            };
            json!(
                exec.compute_linked_pod(&a.ns, &a.uid, &a.svc, a.persist, policy)
                    .await?
            )
        }
        Command::Bench(_) | Command::Report(_) | Command::Dashboard(_) | Command::Doctor => {
            unreachable!("not an inspection command")
        }
    })
}

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

fn bench(url: &str, args: BenchArgs, json: bool) -> Result<(), CliError> {
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
        let exec = connect_with(url, args.tcp_nodelay).await?;
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

fn report_cmd(args: &ReportArgs, json: bool) -> Result<(), CliError> {
    let snapshots = read_recording(&args.file)?;
    let last = snapshots.last().ok_or_else(|| {
        CliError::new(
            "DATA",
            format!("{}: the recording holds no snapshot", args.file.display()),
        )
    })?;
    let suggestions = stateful_redis::monitor::suggestions::suggest(last, None);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_report_dir(&args.file));
    let files = report::write(
        &out,
        &report::ReportInput {
            source: format!("recording {}", args.file.display()),
            snapshots: &snapshots,
            bench: None,
            suggestions: &suggestions,
        },
    )
    .map_err(|m| CliError::new("INTERNAL", m))?;
    if json {
        println!(
            "{}",
            json!({
                "markdown": files.markdown,
                "json": files.json,
                "charts": files.charts,
                "snapshots": snapshots.len(),
            })
        );
    } else {
        println!("{}", files.markdown.display());
        println!("{}", files.json.display());
        for chart in &files.charts {
            println!("{}", chart.display());
        }
    }
    Ok(())
}

fn default_report_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "recording".into());
    file.with_file_name(format!("{stem}-report"))
}

fn dashboard(url: &str, args: DashboardArgs) -> Result<(), CliError> {
    let spec = match &args.workload {
        Some(name) => Some(workload_spec(name, &args.load)?),
        None => None,
    };
    let runtime = current_runtime()?;
    runtime.block_on(async {
        let exec = connect(url).await?;
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
