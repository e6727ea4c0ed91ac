//! Executor throughput with the monitor on versus off, same run, same server:
//! the workload of `shared/PERFORMANCE.md` (10,000 uids x 4 services; 40%
//! get_linked_pod, 25% set_linked_pod, 15% set_linked_pod_if_absent, 10%
//! remove_linked_pod, 10% batch_get_linked_pod of 100 uids), 64 calls in flight on
//! a current-thread runtime. Runs come in pairs (on, off; the order alternates) so
//! both sides of a pair see the same machine; the result is the median of each side
//! and the median of the per-pair ratios.
//!
//! Run: `taskset -c 1 cargo bench -p stateful-redis --bench monitor_overhead`
//! (the private redis-server is pinned to CPU 0). Environment: `RUNS` pairs
//! (default 11), `SECONDS` per run (default 2).

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use stateful_redis::{Config, Executor};
use stateful_redis_testkit::LocalRedis;

const NS: &str = "app:region:logic";
const SERVICES: [&str; 4] = ["chat", "game", "match", "shop"];
const UIDS: usize = 10_000;
const IN_FLIGHT: usize = 64;

fn uid(i: usize) -> String {
    format!("u{i}")
}

async fn prepare(e: &Executor) {
    e.load_scripts().await.unwrap();
    for i in (0..UIDS).step_by(2) {
        for (s, svc) in SERVICES.iter().enumerate() {
            let persist = if (i / 2 + s) % 2 == 0 { -1 } else { 300 };
            e.set_linked_pod(NS, &uid(i), svc, (i % 32) as i64, persist)
                .await
                .unwrap();
        }
    }
}

async fn worker(e: Executor, seed: u64, until: Instant) -> u64 {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut ops = 0;
    while Instant::now() < until {
        let u = uid(rng.random_range(0..UIDS));
        let svc = SERVICES[rng.random_range(0..SERVICES.len())];
        let pod = rng.random_range(0..32);
        let persist = if rng.random_bool(0.5) { -1 } else { 300 };
        let roll = rng.random_range(0..100);
        let ok = if roll < 40 {
            e.get_linked_pod(NS, &u, svc).await.is_ok()
        } else if roll < 65 {
            e.set_linked_pod(NS, &u, svc, pod, persist).await.is_ok()
        } else if roll < 80 {
            e.set_linked_pod_if_absent(NS, &u, svc, pod, persist)
                .await
                .is_ok()
        } else if roll < 90 {
            let keep = if rng.random_bool(0.5) { -1 } else { 60 };
            e.remove_linked_pod(NS, &u, svc, keep).await.is_ok()
        } else {
            let start = rng.random_range(0..UIDS - 100);
            let uids: Vec<String> = (start..start + 100).map(uid).collect();
            e.batch_get_linked_pod(NS, &uids, svc).await.is_ok()
        };
        if ok {
            ops += 1;
        }
    }
    ops
}

/// CPU time of this process (the client; the server is another process).
fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One run: (operations per second of wall time, client CPU microseconds per operation).
async fn run(e: &Executor, seconds: u64, seed: u64) -> (f64, f64) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let cpu = process_cpu();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|i| tokio::spawn(worker(e.clone(), seed * 1000 + i as u64, until)))
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let cpu = (process_cpu() - cpu).as_secs_f64();
    (
        total as f64 / start.elapsed().as_secs_f64(),
        cpu * 1e6 / total as f64,
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then do
    // nothing rather than run a minute-long benchmark inside the tests.
    if !std::env::args().any(|a| a == "--bench") {
        println!("monitor_overhead: run it with `cargo bench` (skipped)");
        return;
    }
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let seconds: u64 = std::env::var("SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let redis = LocalRedis::builder().cpu(0).start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let connect = |monitor: bool| {
            Executor::connect(
                Config::builder()
                    .url(redis.url())
                    .monitor(monitor)
                    // A busy shared machine can stall the server for a while.
                    .command_timeout(Duration::from_secs(10))
                    .build()
                    .unwrap(),
            )
        };
        let on = connect(true).await.unwrap();
        let off = connect(false).await.unwrap();
        prepare(&on).await;
        // Warm-up.
        run(&on, 1, 1).await;
        run(&off, 1, 1).await;
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for r in 0..runs {
            // Alternate which goes first.
            let (a, b) = if r % 2 == 0 {
                let a = run(&on, seconds, r as u64).await;
                (a, run(&off, seconds, r as u64).await)
            } else {
                let b = run(&off, seconds, r as u64).await;
                (run(&on, seconds, r as u64).await, b)
            };
            println!(
                "pair {}: monitor on {:.0} ops/s {:.2} us CPU/op; off {:.0} ops/s {:.2} us CPU/op",
                r + 1,
                a.0,
                a.1,
                b.0,
                b.1
            );
            with.push(a);
            without.push(b);
        }
        let ratio = |f: fn(&(f64, f64)) -> f64| {
            median(
                with.iter()
                    .zip(&without)
                    .map(|(a, b)| f(a) / f(b))
                    .collect(),
            )
        };
        let med = |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(v.iter().map(f).collect());
        println!(
            "median of {runs} pairs x {seconds} s: throughput on {:.0} / off {:.0} ops/s \
             (median of pair ratios {:.1}%); client CPU on {:.3} / off {:.3} us per op \
             (median of pair ratios {:.1}%)",
            med(&with, |x| x.0),
            med(&without, |x| x.0),
            100.0 * ratio(|x| x.0),
            med(&with, |x| x.1),
            med(&without, |x| x.1),
            100.0 * ratio(|x| x.1),
        );
        let s = on.metrics();
        let calls: u64 = s.operations.iter().map(|o| o.count).sum();
        println!(
            "monitor saw {calls} calls; get_linked_pod p50 {:.3} ms p99 {:.3} ms",
            s.operation("get_linked_pod").unwrap().latency_ms.p50,
            s.operation("get_linked_pod").unwrap().latency_ms.p99
        );
    });
}
