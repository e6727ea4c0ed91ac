//! Alerts: pending → firing → resolved, with sustain and hysteresis, driven by an
//! injected clock, then by real conditions (`DEBUG SLEEP`, a stopped server).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stateful_redis::monitor::{AlertEvent, AlertOptions, AlertState, Clock, ManualClock, Monitor};
use stateful_redis::{Config, Executor, RetryPolicy};
use stateful_redis_testkit::LocalRedis;

mod common;
use common::Sleeper;

fn states(events: &[AlertEvent], metric: &str) -> Vec<AlertState> {
    events
        .iter()
        .filter(|e| e.metric == metric)
        .map(|e| e.state)
        .collect()
}

/// One second of traffic of `name` at `ms` milliseconds per call.
fn second_of(monitor: &Monitor, clock: &ManualClock, name: &str, ms: f64, fail: bool) {
    for _ in 0..50 {
        monitor.record_operation(name, Duration::from_secs_f64(ms / 1e3), !fail);
    }
    clock.advance(Duration::from_secs(1));
}

#[test]
fn sustain_then_fire_then_resolve_outside_the_band_only() {
    let clock = ManualClock::new();
    let monitor = Monitor::with_clock(Clock::Manual(clock.clone()));
    let (_, rx) = monitor.subscribe_channel();
    monitor
        .set_alert(
            "login.p99_ms",
            AlertOptions::above(100.0)
                .sustain(Duration::from_secs(2))
                .hysteresis(0.2),
        )
        .unwrap();
    let m = "login.p99_ms";
    let mut all = Vec::new();
    let mut step = |ms: f64| {
        second_of(&monitor, &clock, "login", ms, false);
        let e = monitor.evaluate_alerts();
        all.extend(e.clone());
        states(&e, m)
    };
    assert_eq!(step(10.0), vec![]);
    assert_eq!(step(150.0), vec![AlertState::Pending]);
    let snap = monitor.snapshot();
    assert_eq!(snap.alerts.len(), 1);
    assert_eq!(snap.alerts[0].state, AlertState::Pending);
    assert_eq!(step(150.0), vec![], "still pending: 1 s of 2 s");
    assert_eq!(step(150.0), vec![AlertState::Firing]);
    assert_eq!(monitor.snapshot().alerts[0].state, AlertState::Firing);
    // Inside the band (80, 100]: and even back above: no event, still firing.
    for ms in [95.0, 85.0, 120.0, 81.0, 99.0, 90.0] {
        assert_eq!(step(ms), vec![], "no flapping at {ms} ms");
    }
    assert_eq!(monitor.snapshot().alerts[0].state, AlertState::Firing);
    // A window without calls changes nothing.
    clock.advance(Duration::from_secs(1));
    assert!(monitor.evaluate_alerts().is_empty());
    assert_eq!(step(79.0), vec![AlertState::Resolved]);
    assert!(monitor.snapshot().alerts.is_empty());
    // Oscillating around the threshold, each breach shorter than the sustain
    // duration: pending at most, never firing.
    for i in 0..10 {
        let s = step(if i % 2 == 0 { 105.0 } else { 95.0 });
        assert!(
            !s.contains(&AlertState::Firing),
            "fired while oscillating: {s:?}"
        );
    }
    let received: Vec<AlertEvent> = rx.try_iter().collect();
    assert_eq!(received, all, "subscribers get every event, in order");
    let firing = all.iter().find(|e| e.state == AlertState::Firing).unwrap();
    assert_eq!(firing.rule, "login.p99_ms");
    assert_eq!(firing.threshold, 100.0);
    assert!(firing.value > 100.0);
}

#[test]
fn wildcard_error_rate_fires_per_operation() {
    let clock = ManualClock::new();
    let monitor = Monitor::with_clock(Clock::Manual(clock.clone()));
    monitor.set_alert_threshold("*.error_rate", 0.5).unwrap();
    second_of(&monitor, &clock, "pay", 1.0, true);
    second_of(&monitor, &clock, "browse", 1.0, false);
    let e = monitor.evaluate_alerts();
    assert_eq!(states(&e, "pay.error_rate"), vec![AlertState::Firing]);
    assert!(states(&e, "browse.error_rate").is_empty());
    second_of(&monitor, &clock, "pay", 1.0, false);
    let e = monitor.evaluate_alerts();
    assert_eq!(states(&e, "pay.error_rate"), vec![AlertState::Resolved]);
}

#[test]
fn bad_rules_are_refused_and_pool_metrics_accepted() {
    let monitor = Monitor::new();
    for bad in ["p99", "x.p42_ms", "pool.nothing", "a b.qps"] {
        let err = monitor.set_alert_threshold(bad, 1.0).unwrap_err();
        assert_eq!(
            err.code(),
            stateful_redis::ErrorCode::InvalidArgument,
            "{bad}"
        );
    }
    assert!(monitor.set_alert_threshold("x.qps", f64::NAN).is_err());
    for good in [
        "pool.wait_ms_p99",
        "pool.in_flight",
        "pool.in_use",
        "pool.reconnects",
        "scripts.noscript_reloads",
        "*.qps",
        "get_linked_pod.p999_ms",
    ] {
        monitor.set_alert_threshold(good, 1.0).unwrap();
    }
    assert_eq!(monitor.alert_rules().len(), 7);
    assert!(monitor.remove_alert("*.qps"));
}

/// Collects events from the subscriber (the executor's tick evaluates too).
fn collect(rx: &std::sync::mpsc::Receiver<AlertEvent>, into: &mut Vec<AlertEvent>) {
    into.extend(rx.try_iter());
}

/// Evaluates once the shortest window has passed since any earlier evaluation.
async fn evaluate_after_min_window(executor: &Executor) {
    tokio::time::sleep(stateful_redis::monitor::alerts::MIN_WINDOW + Duration::from_millis(20))
        .await;
    executor.evaluate_alerts();
}

/// Only the transitions that matter for flapping: firing and resolved.
fn fired_and_resolved(events: &[AlertEvent], metric: &str) -> Vec<AlertState> {
    states(events, metric)
        .into_iter()
        .filter(|s| *s != AlertState::Pending)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_alert_driven_by_debug_sleep() {
    let redis = LocalRedis::start().unwrap();
    let config = Config::builder()
        .url(redis.url())
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let executor = Executor::connect(config).await.unwrap();
    let (_, rx) = executor.monitor().subscribe_channel();
    executor
        .set_alert(
            "get_linked_pod.p99_ms",
            AlertOptions::above(100.0).sustain(Duration::from_millis(600)),
        )
        .unwrap();
    let metric = "get_linked_pod.p99_ms";
    let mut events = Vec::new();

    // Continuous traffic from 4 tasks for the whole test.
    let running = Arc::new(AtomicBool::new(true));
    let traffic: Vec<_> = (0..4)
        .map(|i| {
            let (e, running) = (executor.clone(), running.clone());
            tokio::spawn(async move {
                while running.load(Ordering::Relaxed) {
                    e.get_linked_pod("ns", &format!("u{i}"), "chat")
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let evaluate_for = |d: Duration| {
        let executor = executor.clone();
        async move {
            let start = Instant::now();
            while start.elapsed() < d {
                tokio::time::sleep(Duration::from_millis(300)).await;
                executor.evaluate_alerts();
            }
        }
    };

    // Fast traffic: nothing.
    evaluate_for(Duration::from_millis(700)).await;
    collect(&rx, &mut events);
    assert!(states(&events, metric).is_empty(), "{events:#?}");

    // The server sleeps 250 ms at a time: calls queue behind it.
    let sleeper = Sleeper::start(redis.port(), "0.25");
    evaluate_for(Duration::from_millis(2_000)).await;
    collect(&rx, &mut events);
    drop(sleeper);
    assert_eq!(
        states(&events, metric).first(),
        Some(&AlertState::Pending),
        "pending first, for the sustain duration: {events:#?}"
    );
    assert_eq!(
        fired_and_resolved(&events, metric),
        vec![AlertState::Firing]
    );
    assert!(executor
        .metrics()
        .alerts
        .iter()
        .any(|a| a.metric == metric && a.state == AlertState::Firing));

    // Fast again: resolved, once.
    evaluate_for(Duration::from_millis(1_200)).await;
    collect(&rx, &mut events);
    running.store(false, Ordering::Relaxed);
    for t in traffic {
        t.await.unwrap();
    }
    assert_eq!(
        fired_and_resolved(&events, metric),
        vec![AlertState::Firing, AlertState::Resolved],
        "{events:#?}"
    );
    assert_eq!(states(&events, metric).last(), Some(&AlertState::Resolved));
    assert!(executor.metrics().alerts.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_alert_driven_by_a_stopped_server() {
    let mut redis = LocalRedis::start().unwrap();
    let config = Config::builder()
        .url(redis.url())
        .command_timeout(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(300))
        .retry(RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let executor = Executor::connect(config).await.unwrap();
    let (_, rx) = executor.monitor().subscribe_channel();
    executor.set_alert_threshold("*.error_rate", 0.5).unwrap();
    let metric = "get_linked_pod.error_rate";
    let mut events = Vec::new();
    for _ in 0..20 {
        executor.get_linked_pod("ns", "u1", "chat").await.unwrap();
    }
    evaluate_after_min_window(&executor).await;
    collect(&rx, &mut events);
    assert!(states(&events, metric).is_empty());

    redis.stop();
    let mut failures = 0;
    for _ in 0..20 {
        if executor.get_linked_pod("ns", "u1", "chat").await.is_err() {
            failures += 1;
        }
    }
    assert!(
        failures >= 19,
        "calls fail while the server is down ({failures})"
    );
    evaluate_after_min_window(&executor).await;
    collect(&rx, &mut events);
    assert_eq!(
        states(&events, metric),
        vec![AlertState::Firing],
        "{events:#?}"
    );

    redis.restart().unwrap();
    // Until the connection is re-established some calls may still fail: keep
    // calling until a window is clean.
    let deadline = Instant::now() + Duration::from_secs(10);
    while states(&events, metric).len() < 2 && Instant::now() < deadline {
        for _ in 0..20 {
            let _ = executor.get_linked_pod("ns", "u1", "chat").await;
        }
        evaluate_after_min_window(&executor).await;
        collect(&rx, &mut events);
    }
    assert_eq!(
        states(&events, metric),
        vec![AlertState::Firing, AlertState::Resolved],
        "{events:#?}"
    );
}

#[tokio::test]
async fn the_executor_tick_evaluates_alerts_every_second() {
    let redis = LocalRedis::start().unwrap();
    let executor = Executor::connect(Config::builder().url(redis.url()).build().unwrap())
        .await
        .unwrap();
    let (_, rx) = executor.monitor().subscribe_channel();
    executor.set_alert_threshold("*.qps", 1.0).unwrap();
    for _ in 0..50 {
        executor.get_linked_pod("ns", "u1", "chat").await.unwrap();
    }
    // No explicit evaluation: the tick fires within ~2 s.
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut events = Vec::new();
    while events.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        collect(&rx, &mut events);
    }
    assert_eq!(
        states(&events, "get_linked_pod.qps"),
        vec![AlertState::Firing],
        "{events:#?}"
    );
}

#[tokio::test]
async fn the_tick_ends_when_the_executor_is_closed_or_dropped() {
    let redis = LocalRedis::start().unwrap();
    let alive = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let config = |monitor: bool| {
        Config::builder()
            .url(redis.url())
            .monitor(monitor)
            .build()
            .unwrap()
    };
    let base = alive();
    let quiet = Executor::connect(config(false)).await.unwrap();
    let per_executor = alive() - base; // the connection's own tasks
    let closed = Executor::connect(config(true)).await.unwrap();
    assert_eq!(alive() - base, 2 * per_executor + 1, "one tick task");
    let dropped = Executor::connect(config(true)).await.unwrap();
    assert_eq!(alive() - base, 3 * per_executor + 2);
    closed.close();
    drop(dropped);
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive() - base > 3 * per_executor && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        alive() - base <= 3 * per_executor,
        "tick tasks still alive: {}",
        alive() - base
    );
    drop((quiet, closed));
}
