//! The connection pool: what `pool.reconnects` counts, and
//! `optimize_connection_pool` against stalled-connection replacement.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{config_for, start_server, NS};
use stateful_redis::Executor;
use stateful_redis_testkit::LocalRedis;

/// Connections the server has open, not counting the one asking.
fn connected_clients(server: &LocalRedis) -> u64 {
    let info = server.command(&["INFO", "clients"]).unwrap();
    let n: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    n - 1
}

/// `pool.reconnects` counts connections re-established, not failed attempts:
/// 8 callers keep calling through a restart; each of the 2 connections comes
/// back once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_count_connections_re_established_not_failed_calls() {
    let mut server = start_server();
    let exec = Executor::connect(config_for(&server).connections(2).build().unwrap())
        .await
        .unwrap();
    exec.set_linked_pod(NS, "u1", "chat", 1, -1).await.unwrap();
    assert_eq!(exec.metrics().pool.reconnects, 0);

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let successes_after_restart = Arc::new(AtomicU64::new(0));
    let restarted = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let (exec, stop, failures) = (exec.clone(), stop.clone(), failures.clone());
            let (restarted, ok_after) = (restarted.clone(), successes_after_restart.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let after = restarted.load(Ordering::Relaxed);
                    match exec.get_linked_pod(NS, "u1", "chat").await {
                        Ok(_) if after => {
                            ok_after.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(_) => {
                            failures.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop();
    // The outage lasts until the callers have failed many times.
    let deadline = Instant::now() + Duration::from_secs(10);
    while failures.load(Ordering::Relaxed) < 50 {
        assert!(
            Instant::now() < deadline,
            "the callers did not notice the outage"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.restart().unwrap();
    restarted.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(10);
    while successes_after_restart.load(Ordering::Relaxed) < 200 {
        assert!(Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for caller in callers {
        caller.await.unwrap();
    }
    let failed = failures.load(Ordering::Relaxed);
    let reconnects = exec.metrics().pool.reconnects;
    let reopened = connected_clients(&server);
    eprintln!("{failed} failed calls during the outage; reconnects = {reconnects}; connections open after it = {reopened}");
    assert_eq!(reopened, 2, "each connection of the pool came back once");
    assert_eq!(reconnects, reopened, "{failed} failed calls");
    assert_eq!(exec.connections_replaced(), 0);
}

/// `optimize_connection_pool` opens its new connections, then puts them in the
/// pool as it is *then*: a stalled connection replaced while it waited stays
/// replaced, and two calls at once add what the target needs, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_the_pool_keeps_a_replacement_made_meanwhile() {
    let server = start_server();
    let proxy = common::proxy::Proxy::start(server.port()).await;
    let exec = Executor::connect(
        stateful_redis::Config::builder()
            .url(proxy.url())
            .command_timeout(Duration::from_millis(400))
            // Long: the new connections wait behind the stalled proxy.
            .connect_timeout(Duration::from_secs(20))
            .connections(1)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    // About 200 calls in flight at the peak: the pool should grow (one
    // connection per 64).
    let calls = (0..200).map(|_| exec.get_linked_pod(NS, "u1", "chat"));
    for result in common::futures_join(calls).await {
        result.unwrap();
    }
    let peak = exec.metrics().pool.in_flight_peak;
    assert!(peak > 64, "peak {peak}");
    let expected = peak.div_ceil(64) as usize;
    let [stalled] = exec.pool_connection_ids()[..] else {
        panic!("one connection")
    };

    proxy.stall(true);
    let accepted = proxy.accepted();
    let optimizers: Vec<_> = (0..2)
        .map(|_| {
            let exec = exec.clone();
            tokio::spawn(async move { exec.optimize_connection_pool().await })
        })
        .collect();
    // Both are opening their first new connection: their view of the pool is
    // taken.
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.accepted() < accepted + 2 {
        assert!(Instant::now() < deadline, "the optimizers opened nothing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Meanwhile the connection stalls and is replaced.
    let err = exec.get_linked_pod(NS, "u1", "chat").await.unwrap_err();
    assert_eq!(err.code(), stateful_redis::ErrorCode::Timeout, "{err}");
    let _ = exec.get_linked_pod(NS, "u1", "chat").await;
    assert_eq!(exec.connections_replaced(), 1);
    let [replacement] = exec.pool_connection_ids()[..] else {
        panic!("one connection")
    };
    assert_ne!(replacement, stalled);

    proxy.stall(false);
    for optimizer in optimizers {
        let change = optimizer.await.unwrap().unwrap();
        assert_eq!(change.connections_after as usize, expected, "{change:?}");
    }
    let pool = exec.pool_connection_ids();
    assert_eq!(pool.len(), expected, "{pool:?}");
    assert!(
        pool.contains(&replacement),
        "the replacement was lost: {pool:?}"
    );
    assert!(
        !pool.contains(&stalled),
        "the stalled connection is back: {pool:?}"
    );
    exec.get_linked_pod(NS, "u1", "chat").await.unwrap();
}
