//! `plain-redis-rs`: the mixed workload of PERFORMANCE.md written the way a Rust user
//! without this library would: the `redis` crate alone, one multiplexed connection on a
//! current-thread tokio runtime, the core's link scripts run by EVALSHA through
//! `redis::Script` (the exact text the core sends: `stateful_redis::scripts`), `GET` and
//! `MGET` for the reads; no validation, no monitor, no parsing beyond the reply type.
//! It is the "plain redis-rs" contender of `benches/contenders.py`.
//!
//! ```text
//! plain-redis-rs --url redis://127.0.0.1:6399 --concurrency 64 --duration-s 5 [--warmup-s 1]
//!                [--tcp-nodelay false|true]
//! ```
//!
//! `--tcp-nodelay` defaults to `false`, the `redis` crate's default (Nagle's algorithm
//! on); the core turns `TCP_NODELAY` on by default (`docs/performance.md`), so the
//! `plain-redis-rs-*-nodelay` contenders compare on the same socket option.
//!
//! The data set is the one `stateful-redis bench` prepares (the driver writes it first).
//! The mix, the random choices and the output (one JSON line: ops, ops_per_s, p50_us,
//! p99_us, errors) follow `cli/src/workload.rs`: 40% get, 25% set, 15% set-if-absent,
//! 10% remove, 10% batch-get of 100 random uids; 10,000 uids x 4 services, 32 pods; half
//! of the writes persistent, half TTL 300; removes keep -1 or 60.

use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use redis::aio::MultiplexedConnection;
use redis::io::tcp::TcpSettings;
use redis::Script;
use stateful_redis::{scripts, KeySchema};

const NS: &str = "bench:region:logic";
const UIDS: usize = 10_000;
const SERVICES: [&str; 4] = ["svc0", "svc1", "svc2", "svc3"];
const PODS: i64 = 32;
const BATCH: usize = 100;
const USAGE: &str =
    "usage: plain-redis-rs --url URL [--concurrency N] [--duration-s S] [--warmup-s S] [--tcp-nodelay B]";

struct Args {
    url: String,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
    tcp_nodelay: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: "redis://127.0.0.1:6379".to_string(),
        concurrency: 1,
        duration: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        tcp_nodelay: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let seconds = |v: &str| {
            v.parse::<f64>()
                .map(Duration::from_secs_f64)
                .map_err(|_| format!("{flag}: not a number of seconds"))
        };
        match flag.as_str() {
            "--url" => args.url = value,
            "--concurrency" => {
                args.concurrency = value.parse().map_err(|_| "--concurrency: a count")?
            }
            "--duration-s" => args.duration = seconds(&value)?,
            "--warmup-s" => args.warmup = seconds(&value)?,
            "--tcp-nodelay" => {
                args.tcp_nodelay = value.parse().map_err(|_| "--tcp-nodelay: true or false")?
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(args)
}

/// The three link scripts, as the core sends them.
struct Scripts {
    set: Script,
    if_absent: Script,
    remove: Script,
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 60_000_000_000, 2).expect("valid bounds")
}

/// One caller: issues its next call when the previous one returns, until `deadline`.
async fn caller(
    mut con: MultiplexedConnection,
    scripts: Rc<Scripts>,
    worker: usize,
    deadline: Instant,
) -> (Histogram<u64>, u64) {
    let mut rng = SmallRng::seed_from_u64(0x5eed ^ worker as u64);
    let mut hist = new_histogram();
    let mut errors = 0;
    let keys = KeySchema::Default;
    while Instant::now() < deadline {
        let pick = rng.random_range(0..100u32);
        let uid = format!("u{}", rng.random_range(0..UIDS));
        let svc = SERVICES[rng.random_range(0..SERVICES.len())];
        let pod = rng.random_range(0..PODS);
        let persist: i64 = if rng.random_bool(0.5) { -1 } else { 300 };
        let batch: Vec<String> = if pick >= 90 {
            (0..BATCH)
                .map(|_| format!("u{}", rng.random_range(0..UIDS)))
                .collect()
        } else {
            Vec::new()
        };
        let started = Instant::now();
        let outcome: redis::RedisResult<()> = if pick < 40 {
            redis::cmd("GET")
                .arg(keys.link_key(NS, &uid, svc))
                .query_async::<Option<i64>>(&mut con)
                .await
                .map(drop)
        } else if pick < 80 {
            let script = if pick < 65 {
                &scripts.set
            } else {
                &scripts.if_absent
            };
            let link = keys.link_keys(NS, &uid, svc);
            script
                .key(&link.link)
                .key(&link.index)
                .arg(svc)
                .arg(pod)
                .arg(persist)
                .invoke_async::<Option<i64>>(&mut con)
                .await
                .map(drop)
        } else if pick < 90 {
            let keep: i64 = if rng.random_bool(0.5) { -1 } else { 60 };
            let link = keys.link_keys(NS, &uid, svc);
            scripts
                .remove
                .key(&link.link)
                .key(&link.index)
                .arg(svc)
                .arg(keep)
                .arg("")
                .invoke_async::<i64>(&mut con)
                .await
                .map(drop)
        } else {
            let links: Vec<String> = batch.iter().map(|u| keys.link_key(NS, u, svc)).collect();
            redis::cmd("MGET")
                .arg(&links)
                .query_async::<Vec<Option<i64>>>(&mut con)
                .await
                .map(drop)
        };
        hist.saturating_record((started.elapsed().as_nanos() as u64).max(1_000));
        if outcome.is_err() {
            errors += 1;
        }
    }
    (hist, errors)
}

/// Runs `concurrency` callers on the one connection until `duration` has passed.
async fn run(
    con: &MultiplexedConnection,
    scripts: &Rc<Scripts>,
    concurrency: usize,
    duration: Duration,
) -> (Histogram<u64>, u64, f64) {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|worker| {
            tokio::task::spawn_local(caller(con.clone(), scripts.clone(), worker, deadline))
        })
        .collect();
    let mut all = new_histogram();
    let mut errors = 0;
    for task in tasks {
        let (hist, errs) = task.await.expect("caller task");
        all.add(&hist).expect("same bounds");
        errors += errs;
    }
    (all, errors, started.elapsed().as_secs_f64())
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("plain-redis-rs: {e}\n{USAGE}");
        std::process::exit(2)
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let info = redis::IntoConnectionInfo::into_connection_info(args.url.as_str())
            .expect("valid url")
            .set_tcp_settings(TcpSettings::default().set_nodelay(args.tcp_nodelay));
        let client = redis::Client::open(info).expect("valid url");
        let con = client
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| {
                eprintln!("plain-redis-rs: cannot connect to {}: {e}", args.url);
                std::process::exit(2)
            });
        let scripts = Rc::new(Scripts {
            set: Script::new(&scripts::SET_LINKED_POD.source),
            if_absent: Script::new(&scripts::SET_LINKED_POD_IF_ABSENT.source),
            remove: Script::new(&scripts::REMOVE_LINKED_POD.source),
        });
        if !args.warmup.is_zero() {
            run(&con, &scripts, args.concurrency, args.warmup).await;
        }
        let (hist, errors, elapsed) = run(&con, &scripts, args.concurrency, args.duration).await;
        let micros = |q: f64| hist.value_at_quantile(q) as f64 / 1_000.0;
        let out = serde_json::json!({
            "impl": "plain-redis-rs",
            "concurrency": args.concurrency,
            "duration_s": elapsed,
            "ops": hist.len(),
            "errors": errors,
            "ops_per_s": hist.len() as f64 / elapsed,
            "p50_us": micros(0.5),
            "p99_us": micros(0.99),
        });
        println!("{out}");
    });
}
