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
use stateful_redis::local_redis::LocalRedis;
use stateful_redis::{Config, Executor};

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
        assert!(ok);
        ops += 1;
    }
    ops
}

async fn run(e: &Executor, seconds: u64, seed: u64) -> f64 {
    let until = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|i| tokio::spawn(worker(e.clone(), seed * 1000 + i as u64, until)))
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
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
            Executor::connect(Config::builder().url(redis.url()).monitor(monitor).build().unwrap())
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
            if r % 2 == 0 {
                with.push(run(&on, seconds, r as u64).await);
                without.push(run(&off, seconds, r as u64).await);
            } else {
                without.push(run(&off, seconds, r as u64).await);
                with.push(run(&on, seconds, r as u64).await);
            }
            println!(
                "run {}: monitor on {:.0} ops/s, off {:.0} ops/s",
                r + 1,
                with[r],
                without[r]
            );
        }
        let ratios: Vec<f64> = with.iter().zip(&without).map(|(a, b)| a / b).collect();
        let (m_on, m_off, m_ratio) = (median(with), median(without), median(ratios));
        println!(
            "median of {runs} pairs x {seconds} s: monitor on {m_on:.0} ops/s, off {m_off:.0} ops/s, \
             ratio of medians {:.1}%, median of pair ratios {:.1}%",
            100.0 * m_on / m_off,
            100.0 * m_ratio
        );
        let s = on.metrics();
        let calls: u64 = s.operations.iter().map(|o| o.count).sum();
        println!("monitor saw {calls} calls; get_linked_pod p50 {:.3} ms p99 {:.3} ms",
            s.operation("get_linked_pod").unwrap().latency_ms.p50,
            s.operation("get_linked_pod").unwrap().latency_ms.p99);
    });
}
