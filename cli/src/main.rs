//! `stateful-redis`: the command-line tool (SPEC section 7). Thin over the core:
//! every command is a few executor or monitor calls; see `docs/cli.md`.
//!
//! This file holds the flags and the dispatch; each command lives in a module
//! of `commands/`, the server it talks to is chosen in `server.rs`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use stateful_redis_cli::CliError;

mod args;
mod commands;
mod server;
mod shutdown;

#[derive(Parser)]
#[command(
    name = "stateful-redis",
    version,
    about = "Routing facts of stateful services in Redis: bench, dashboard, reports, inspection, doctor"
)]
struct Cli {
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    command: Command,
}

/// How to reach the server: each flag fills one of the core's `Options`, which
/// the core checks (docs/cli.md). The password is never a flag: it would show in
/// `ps`; it comes from `$STATEFUL_REDIS_AUTH` or `--password-file`.
#[derive(Args)]
#[command(next_help_heading = "Connection")]
struct ConnArgs {
    /// Redis URL (`redis://`, `rediss://`, `unix://`). Default: $STATEFUL_REDIS_URL,
    /// else the --cluster-node seeds, else a private redis-server started for the
    /// lifetime of this command (refused for writes).
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// A seed node of a Redis Cluster, `HOST:PORT` or a URL; repeatable (env: a
    /// comma-separated list).
    #[arg(
        long = "cluster-node",
        global = true,
        value_name = "HOST:PORT",
        env = "STATEFUL_REDIS_CLUSTER_NODES",
        hide_env_values = true,
        value_delimiter = ','
    )]
    cluster_nodes: Vec<String>,
    /// ACL user name (overrides the URL's).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "STATEFUL_REDIS_USER",
        hide_env_values = true
    )]
    user: Option<String>,
    /// File whose first line is the password (else $STATEFUL_REDIS_AUTH; never a flag).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "STATEFUL_REDIS_PASSWORD_FILE",
        hide_env_values = true
    )]
    password_file: Option<PathBuf>,
    /// `rediss://` only: PEM file of the CA(s) that signed the server's certificate.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "STATEFUL_REDIS_TLS_CA",
        hide_env_values = true
    )]
    tls_ca: Option<String>,
    /// `rediss://` only: PEM file of a client certificate (needs --tls-key).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "STATEFUL_REDIS_TLS_CERT",
        hide_env_values = true
    )]
    tls_cert: Option<String>,
    /// `rediss://` only: PEM file of the client certificate's private key.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "STATEFUL_REDIS_TLS_KEY",
        hide_env_values = true
    )]
    tls_key: Option<String>,
    /// Key layout: `default`, or `java` (the Java version's keys; not on a cluster).
    #[arg(
        long,
        global = true,
        value_name = "SCHEMA",
        env = "STATEFUL_REDIS_KEY_SCHEMA",
        hide_env_values = true,
        value_parser = ["default", "java"]
    )]
    key_schema: Option<String>,
    /// Multiplexed connections to the server (1 to 64; default 1).
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "STATEFUL_REDIS_CONNECTIONS",
        hide_env_values = true
    )]
    connections: Option<usize>,
    /// Bound on one call, retries included, in milliseconds (default 5000).
    #[arg(
        long,
        global = true,
        value_name = "MS",
        env = "STATEFUL_REDIS_COMMAND_TIMEOUT_MS",
        hide_env_values = true
    )]
    command_timeout_ms: Option<u64>,
    /// Bound on establishing a connection, in milliseconds (default 2000).
    #[arg(
        long,
        global = true,
        value_name = "MS",
        env = "STATEFUL_REDIS_CONNECT_TIMEOUT_MS",
        hide_env_values = true
    )]
    connect_timeout_ms: Option<u64>,
    /// Name every connection takes (`CLIENT SETNAME`, shown by `CLIENT LIST`):
    /// 1 to 128 printable ASCII characters, no spaces.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "STATEFUL_REDIS_CLIENT_NAME",
        hide_env_values = true
    )]
    client_name: Option<String>,
    /// A const label on every series of the Prometheus exposition (`dashboard`'s
    /// /metrics), `KEY=VALUE`, e.g. `executor=orders`; repeatable (the
    /// environment variable takes them comma-separated).
    #[arg(
        long = "metrics-label",
        global = true,
        value_name = "KEY=VALUE",
        env = "STATEFUL_REDIS_METRICS_LABELS",
        value_delimiter = ',',
        value_parser = args::label
    )]
    metrics_labels: Vec<(String, String)>,
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(hide = true)]
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) on stdout: `stateful-redis man > stateful-redis.1`.
    #[command(hide = true)]
    Man,
    /// Print the executor options the flags and environment give (password as
    /// `***`), without connecting.
    #[command(hide = true)]
    Options,
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

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    // Commands that need no server.
    match &cli.command {
        Command::Report(args) => {
            return commands::report::run(args, cli.json).map(|()| ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            return commands::docs::completions(Cli::command(), *shell).map(|()| ExitCode::SUCCESS);
        }
        Command::Man => return commands::docs::man(Cli::command()).map(|()| ExitCode::SUCCESS),
        Command::Options => {
            println!("{:#?}", server::given_options(&cli.conn)?);
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let usage = if commands::inspect::writes(&cli.command) {
        server::Use::Write
    } else {
        server::Use::Private
    };
    let options = server::options(&cli.conn, usage)?;
    let json = cli.json;
    match cli.command {
        Command::Bench(args) => {
            commands::bench::run(&options, args, json).map(|()| ExitCode::SUCCESS)
        }
        Command::Dashboard(args) => {
            commands::dashboard::run(&options, args).map(|()| ExitCode::SUCCESS)
        }
        Command::Doctor => commands::doctor::run(&options, json),
        command => commands::inspect::run(&options, command, json),
    }
}
