//! `stateful-redis`: the command-line tool (SPEC section 7).

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use stateful_redis::local_redis::LocalRedis;
use stateful_redis::{Config, Executor};
use stateful_redis_cli::workload::{self, WorkloadSpec};

#[derive(Parser)]
#[command(
    name = "stateful-redis",
    version,
    about = "Routing facts of stateful services in Redis"
)]
struct Cli {
    /// Redis URL. Default: $STATEFUL_REDIS_URL, else a private redis-server
    /// started for the lifetime of this command.
    #[arg(long, global = true)]
    url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a workload and print what was measured.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// `mixed` (the comparison workload), `all`, `get`, `set`, or an operation name.
    #[arg(long, default_value = "mixed")]
    workload: String,
    /// Explicit mix, e.g. `get_linked_pod=80,set_linked_pod=20` (overrides --workload).
    #[arg(long)]
    mix: Option<String>,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 5.0)]
    duration_s: f64,
    /// Seconds of warm-up before measuring (not counted).
    #[arg(long, default_value_t = 1.0)]
    warmup_s: f64,
    #[arg(long, default_value_t = 10_000)]
    uids: usize,
    #[arg(long, default_value_t = 4)]
    services: usize,
    #[arg(long, default_value_t = 32)]
    pods: i64,
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Share of link writes that are persistent.
    #[arg(long, default_value_t = 0.5)]
    persistent_ratio: f64,
    /// Skip the set-up (link half of the pairs) before the run.
    #[arg(long)]
    no_prepare: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Tokio runtime flavour: `current` (one thread, batches best) or `multi`.
    #[arg(long, default_value = "current")]
    runtime: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stateful-redis: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    // The embedded default: a private server for our own lifetime.
    let mut _server = None;
    let url = match cli
        .url
        .or_else(|| std::env::var(stateful_redis::config::URL_ENV).ok())
    {
        Some(url) => url,
        None => {
            let server = LocalRedis::start().map_err(|e| e.to_string())?;
            eprintln!(
                "stateful-redis: no --url given: started a private redis-server on {} for this run",
                server.url()
            );
            let url = server.url();
            _server = Some(server);
            url
        }
    };
    match cli.command {
        Command::Bench(args) => bench(&url, args),
    }
}

fn bench(url: &str, args: BenchArgs) -> Result<(), String> {
    let mut spec = WorkloadSpec::named(&args.workload)
        .ok_or_else(|| format!("unknown workload `{}`", args.workload))?;
    if let Some(mix) = &args.mix {
        spec = spec.with_mix(mix)?;
    }
    spec.uids = args.uids.max(1);
    spec.services = args.services.max(1);
    spec.pods = args.pods.max(1);
    spec.batch_size = args.batch_size;
    spec.persistent_ratio = args.persistent_ratio.clamp(0.0, 1.0);
    let runtime = match args.runtime.as_str() {
        "current" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        "multi" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        other => return Err(format!("unknown runtime `{other}`: current or multi")),
    }
    .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let config = Config::builder()
            .url(url)
            .command_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let exec = Executor::connect(config).await.map_err(|e| e.to_string())?;
        if !args.no_prepare {
            workload::prepare(&exec, &spec)
                .await
                .map_err(|e| e.to_string())?;
        }
        if args.warmup_s > 0.0 {
            workload::run(
                &exec,
                &spec,
                args.concurrency,
                Duration::from_secs_f64(args.warmup_s),
            )
            .await;
        }
        let result = workload::run(
            &exec,
            &spec,
            args.concurrency,
            Duration::from_secs_f64(args.duration_s),
        )
        .await;
        if args.json {
            println!("{}", serde_json::to_string(&result).expect("serializable"));
        } else {
            print!("{}", workload::table(&result));
        }
        Ok(())
    })
}
