//! Every suggestion rule, triggered by inducing its condition (against a real
//! server where one is involved), and the two run-time optimizers.

use std::sync::Arc;
use std::time::Duration;

use stateful_redis::monitor::suggestions::RULES;
use stateful_redis::monitor::{Clock, ManualClock, Monitor, Severity, Suggestion};
use stateful_redis::{Config, ConfigBuilder, Executor, RetryPolicy};
use stateful_redis_testkit::LocalRedis;

mod common;
use common::{futures_join, Sleeper};

fn builder(redis: &LocalRedis) -> ConfigBuilder {
    Config::builder().url(redis.url())
}

async fn connect(b: ConfigBuilder) -> Executor {
    Executor::connect(b.build().unwrap()).await.unwrap()
}

fn find<'a>(s: &'a [Suggestion], id: &str) -> &'a Suggestion {
    assert!(RULES.contains(&id), "{id} is a documented rule");
    s.iter().find(|x| x.id == id).unwrap_or_else(|| {
        panic!(
            "no {id} suggestion in {:#?}",
            s.iter().map(|x| &x.id).collect::<Vec<_>>()
        )
    })
}

fn ids(s: &[Suggestion]) -> Vec<&str> {
    s.iter().map(|x| x.id.as_str()).collect()
}

async fn sequential_calls(e: &Executor, n: usize) {
    for i in 0..n {
        e.get_linked_pod("ns", &format!("u{i}"), "chat")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_healthy_executor_gets_no_suggestion() {
    let redis = LocalRedis::start().unwrap();
    let e = connect(builder(&redis)).await;
    sequential_calls(&e, 50).await;
    let s = e.optimization_suggestions();
    assert!(s.is_empty(), "{s:#?}");
}

#[tokio::test]
async fn monitor_disabled() {
    let redis = LocalRedis::start().unwrap();
    let e = connect(builder(&redis).monitor(false)).await;
    sequential_calls(&e, 5).await;
    let s = e.optimization_suggestions();
    assert_eq!(find(&s, "monitor_disabled").severity, Severity::Warning);
    assert_eq!(e.metrics().operation("get_linked_pod").unwrap().count, 0);
}

#[tokio::test]
async fn error_rate_high_and_reconnects_with_a_stopped_server() {
    let mut redis = LocalRedis::start().unwrap();
    let e = connect(
        builder(&redis)
            .command_timeout(Duration::from_millis(300))
            .connect_timeout(Duration::from_millis(300))
            .retry(RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            }),
    )
    .await;
    sequential_calls(&e, 10).await;
    // Three outages: the connection comes back after each (a reconnect each;
    // the failed calls during an outage are no reconnects).
    for _ in 0..3 {
        redis.stop();
        for _ in 0..10 {
            let _ = e.get_linked_pod("ns", "u1", "chat").await;
        }
        redis.restart().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while e.get_linked_pod("ns", "u1", "chat").await.is_err() {
            assert!(std::time::Instant::now() < deadline, "no recovery");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    redis.stop();
    for _ in 0..30 {
        let _ = e.get_linked_pod("ns", "u1", "chat").await;
    }
    let s = e.optimization_suggestions();
    let err = find(&s, "error_rate_high");
    assert_eq!(err.severity, Severity::Critical);
    assert!(err.evidence["get_linked_pod.error_rate"] > 0.5);
    let rec = find(&s, "reconnects");
    assert_eq!(rec.evidence["pool.reconnects"], 3.0);
}

#[tokio::test]
async fn timeouts() {
    let redis = LocalRedis::start().unwrap();
    let e = connect(builder(&redis).command_timeout(Duration::from_millis(50))).await;
    sequential_calls(&e, 20).await;
    let sleeper = Sleeper::start(redis.port(), "0.2");
    let mut failed = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while failed < 5 && std::time::Instant::now() < deadline {
        let calls =
            (0..20).map(|i| e.get_linked_pod("ns", if i % 2 == 0 { "a" } else { "b" }, "chat"));
        failed += futures_join(calls)
            .await
            .iter()
            .filter(|r| r.is_err())
            .count();
    }
    drop(sleeper);
    assert!(failed >= 5, "{failed} timeouts");
    let s = e.optimization_suggestions();
    let t = find(&s, "timeouts");
    assert!(t.evidence["errors.TIMEOUT"] >= 5.0);
    assert_eq!(t.evidence["command_timeout_ms"], 50.0);
}

#[tokio::test]
async fn timeout_tight_and_tail_latency() {
    let redis = LocalRedis::start().unwrap();
    let e = connect(builder(&redis).command_timeout(Duration::from_millis(1_000))).await;
    sequential_calls(&e, 150).await;
    // A few calls behind 600 ms sleeps: p99.9 > half the timeout, p99 >> p50.
    let sleeper = Sleeper::start(redis.port(), "0.6");
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    let p99 = |e: &Executor| {
        e.metrics()
            .operation("get_linked_pod")
            .unwrap()
            .latency_ms
            .p99
    };
    while p99(&e) < 500.0 && std::time::Instant::now() < deadline {
        // A call queued behind two sleeps may time out: it is measured all the same.
        let _ = e.get_linked_pod("ns", "slow", "chat").await;
    }
    drop(sleeper);
    let s = e.optimization_suggestions();
    let tight = find(&s, "timeout_tight");
    assert!(tight.evidence["get_linked_pod.p999_ms"] > 500.0);
    let tail = find(&s, "tail_latency");
    assert!(tail.evidence["get_linked_pod.p99_ms"] > 10.0 * tail.evidence["get_linked_pod.p50_ms"]);
}

#[tokio::test]
async fn noscript_reloads_and_optimize_lua_scripts() {
    let redis = LocalRedis::start().unwrap();
    let e = connect(builder(&redis)).await;
    let report = e.optimize_lua_scripts().await.unwrap();
    assert!(
        !report.changed && report.missing_before.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.scripts, 7);

    redis.command(&["SCRIPT", "FLUSH"]).unwrap();
    e.set_linked_pod("ns", "u1", "chat", 1, -1).await.unwrap();
    let s = e.optimization_suggestions();
    assert!(find(&s, "noscript_reloads").evidence["scripts.noscript_reloads"] >= 1.0);

    redis.command(&["SCRIPT", "FLUSH"]).unwrap();
    let report = e.optimize_lua_scripts().await.unwrap();
    assert!(report.changed);
    assert_eq!(report.missing_before.len(), 7, "{report:?}");
    assert_eq!(report.loaded, 7);
    let reloads_before = e.metrics().scripts.noscript_reloads;
    e.set_linked_pod("ns", "u1", "chat", 2, -1).await.unwrap();
    e.try_set_linked_pod("ns", "u2", "chat", 2, -1)
        .await
        .unwrap();
    assert_eq!(
        e.metrics().scripts.noscript_reloads,
        reloads_before,
        "no NOSCRIPT after preloading"
    );
    let report = e.optimize_lua_scripts().await.unwrap();
    assert!(report.missing_before.is_empty());
}

#[tokio::test]
async fn large_batches() {
    let redis = LocalRedis::start().unwrap();
    let e = connect(builder(&redis)).await;
    let uids: Vec<String> = (0..10_001).map(|i| format!("u{i}")).collect();
    e.batch_get_linked_pod("ns", &uids, "chat").await.unwrap();
    let s = e.optimization_suggestions();
    assert_eq!(
        find(&s, "large_batches").evidence["batch_get_linked_pod.batch_max"],
        10_001.0
    );
}

#[tokio::test]
async fn in_flight_limit() {
    let redis = LocalRedis::start().unwrap();
    let e = connect(builder(&redis).max_in_flight(4)).await;
    let calls = (0..20).map(|i| e.get_linked_pod("ns", if i % 2 == 0 { "a" } else { "b" }, "chat"));
    let busy = futures_join(calls)
        .await
        .iter()
        .filter(|r| r.is_err())
        .count();
    assert_eq!(busy, 16);
    let s = e.optimization_suggestions();
    let l = find(&s, "in_flight_limit");
    assert_eq!(l.evidence["errors.BUSY"], 16.0);
    assert_eq!(l.evidence["max_in_flight"], 4.0);
}

#[tokio::test]
async fn pool_contention_and_growing_the_pool() {
    let redis = LocalRedis::start().unwrap();
    let e = connect(builder(&redis)).await;
    let uids: Vec<String> = (0..200).map(|i| format!("u{i}")).collect();
    let calls = uids.iter().map(|u| e.get_linked_pod("ns", u, "chat"));
    for r in futures_join(calls).await {
        r.unwrap();
    }
    let s = e.optimization_suggestions();
    let c = find(&s, "pool_contention");
    assert_eq!(c.evidence["pool.in_flight_peak"], 200.0);
    assert_eq!(c.evidence["pool.connections"], 1.0);

    let change = e.optimize_connection_pool().await.unwrap();
    assert!(change.changed, "{change:?}");
    assert_eq!(
        (change.connections_before, change.connections_after),
        (1, 4)
    );
    assert_eq!(e.metrics().pool.connections, 4);
    // The new connections work; the answer is the same.
    e.set_linked_pod("ns", "u1", "chat", 7, -1).await.unwrap();
    for _ in 0..8 {
        assert_eq!(e.get_linked_pod("ns", "u1", "chat").await.unwrap(), Some(7));
    }
    let again = e.optimize_connection_pool().await.unwrap();
    assert!(!again.changed, "stable: {again:?}");
}

#[tokio::test]
async fn pool_oversized_and_shrinking_the_pool() {
    let redis = LocalRedis::start().unwrap();
    let e = connect(builder(&redis).connections(4)).await;
    let early = e.optimize_connection_pool().await.unwrap();
    assert!(!early.changed, "too few calls yet: {early:?}");
    sequential_calls(&e, 30).await;
    let s = e.optimization_suggestions();
    assert_eq!(find(&s, "pool_oversized").evidence["pool.connections"], 4.0);
    let change = e.optimize_connection_pool().await.unwrap();
    assert_eq!(
        (change.connections_before, change.connections_after),
        (4, 1)
    );
    assert_eq!(e.metrics().pool.connections, 1);
    sequential_calls(&e, 5).await;
    assert!(!ids(&e.optimization_suggestions()).contains(&"pool_oversized"));
}

#[tokio::test]
async fn stale_period() {
    let redis = LocalRedis::start().unwrap();
    let clock = ManualClock::new();
    let monitor = Arc::new(Monitor::with_clock(Clock::Manual(clock.clone())));
    let e = Executor::connect_with_monitor(builder(&redis).build().unwrap(), monitor)
        .await
        .unwrap();
    sequential_calls(&e, 10).await;
    clock.advance(Duration::from_secs(30));
    assert!(!ids(&e.optimization_suggestions()).contains(&"stale_period"));
    clock.advance(Duration::from_secs(90));
    let s = e.optimization_suggestions();
    assert_eq!(find(&s, "stale_period").evidence["calls_in_period"], 10.0);
    e.reset_metrics();
    assert!(!ids(&e.optimization_suggestions()).contains(&"stale_period"));
}

#[test]
fn every_rule_has_a_test_above() {
    let source = include_str!("monitor_suggestions.rs");
    for rule in RULES {
        assert!(
            source.contains(&format!("find(&s, \"{rule}\")")),
            "rule {rule} is not exercised here"
        );
    }
}

/// A snapshot read back from a recording (what `stateful-redis report FILE`
/// has) goes through the same rules, without the pool facts of an executor.
#[test]
fn suggestions_for_a_recorded_snapshot() {
    let monitor = Monitor::new();
    for _ in 0..100 {
        monitor.record(
            stateful_redis::Operation::GetLinkedPod,
            Duration::from_micros(100),
            Err(stateful_redis::ErrorCode::Timeout),
        );
    }
    let recorded: stateful_redis::MetricsSnapshot =
        serde_json::from_str(&serde_json::to_string(&monitor.snapshot()).unwrap()).unwrap();
    let s = Monitor::suggestions_for(&recorded);
    assert_eq!(find(&s, "error_rate_high").severity, Severity::Critical);
    // Rules on the executor's settings need its pool facts: silent here.
    assert!(!ids(&s).contains(&"monitor_disabled"), "{s:#?}");
}
