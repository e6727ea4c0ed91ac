//! Faults during a run: restarts, SCRIPT FLUSH, slow servers, overload, OOM.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use stateful_redis::ErrorCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_fails_with_connection_or_timeout_then_recovers() {
    let mut h = harness_with(|b| b.command_timeout(Duration::from_millis(300))).await;
    h.exec
        .set_linked_pod(NS, "u1", "chat", 1, -1)
        .await
        .unwrap();
    h.server.stop();
    // While the server is down, every call fails in time with a clear code.
    for _ in 0..20 {
        let started = Instant::now();
        let err = h
            .exec
            .set_linked_pod(NS, "u1", "chat", 2, -1)
            .await
            .unwrap_err();
        assert!(
            matches!(err.code(), ErrorCode::Connection | ErrorCode::Timeout),
            "{err}"
        );
        assert!(
            // The deadline plus slack for a busy 2-core CI machine (steal
            // time, neighbours' builds); a call that hung would wait for the
            // restart, which comes only after this loop. The exact figure is
            // measured by scripts/faults.sh, not bounded here.
            started.elapsed() < Duration::from_millis(300 + 1_700),
            "{:?}",
            started.elapsed()
        );
        let err = h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap_err();
        assert!(
            matches!(err.code(), ErrorCode::Connection | ErrorCode::Timeout),
            "{err}"
        );
        assert!(err.retryable(), "a failed read may be retried");
    }
    h.server.restart().unwrap();
    // Service resumes by itself (the restarted server is empty: nothing persisted).
    let back = Instant::now();
    loop {
        match h.exec.set_linked_pod(NS, "u1", "chat", 3, -1).await {
            Ok(_) => break,
            Err(e) => {
                assert!(back.elapsed() < Duration::from_secs(5), "no recovery: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    assert_eq!(
        h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap(),
        Some(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_flush_during_a_run_is_invisible() {
    let mut h = harness().await;
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (e, stop, calls) = (h.exec.clone(), stop.clone(), calls.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let uid = format!("u{w}-{}", i % 50);
                    e.set_linked_pod(NS, &uid, "chat", (i % 7) as i64, -1)
                        .await
                        .unwrap();
                    e.remove_linked_pod(NS, &uid, "chat", 30).await.unwrap();
                    e.set_linked_pod_if_absent(NS, &uid, "chat", 1, 60)
                        .await
                        .unwrap();
                    calls.fetch_add(3, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        h.cmd(&["SCRIPT", "FLUSH"]).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("no call saw NOSCRIPT");
    }
    let (_, reloads) = h.exec.monitor().script_counts();
    assert!(
        reloads >= 1,
        "the flushes were noticed and scripts reloaded"
    );
    assert!(calls.load(Ordering::Relaxed) > 100);
}

#[tokio::test]
async fn slow_server_times_out_on_time() {
    let mut h = harness_with(|b| b.command_timeout(Duration::from_millis(200))).await;
    // The server holds every command for 3 s (`CLIENT PAUSE` is in effect once
    // it has answered, unlike a `DEBUG SLEEP` sent from another task), so both
    // calls below meet a stalled server however slow this machine is.
    pause_all_clients(&h.server, 3_000).await;
    let paused = Instant::now();
    let started = Instant::now();
    let err = h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    // Not before the deadline, and while the server still holds the call (a
    // call that waited for the server would take the rest of the 3 s).
    assert!(took >= Duration::from_millis(190), "{took:?}");
    assert!(
        paused.elapsed() < Duration::from_millis(3_000),
        "{took:?}: the call waited for the pause to end"
    );
    let err = h
        .exec
        .set_linked_pod(NS, "u1", "chat", 1, -1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout);
    assert!(
        !err.retryable(),
        "a write that may have run is not blindly retryable"
    );
    // After the stall the executor works again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.exec.get_linked_pod(NS, "u1", "chat").await.is_err() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = h.keys().await;
}

/// A connection that answers nothing while calls wait out their deadline is
/// replaced (so requests given up on do not pile up in it); a reply that is
/// merely slow is not a stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_connection_is_replaced_but_a_slow_reply_is_not() {
    let h = harness_with(|b| b.command_timeout(Duration::from_millis(400))).await;
    let port = h.server.port();
    // Slow: the server sleeps 300 ms (more than half the timeout), then answers.
    // The call must overlap the sleep for the case to mean anything; on a busy
    // machine the sleeper's command can arrive after the call, so a round whose
    // call came back early is run again rather than judged.
    let mut overlapped = false;
    for _ in 0..5 {
        let sleeper = std::thread::spawn(move || LocalRedisClient(port).debug_sleep("0.3"));
        std::thread::sleep(Duration::from_millis(30));
        let started = Instant::now();
        h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap();
        overlapped = started.elapsed() >= Duration::from_millis(200);
        sleeper.join().unwrap();
        if overlapped {
            break;
        }
    }
    assert!(
        overlapped,
        "no call overlapped a 300 ms server sleep in 5 rounds"
    );
    assert_eq!(h.exec.connections_replaced(), 0, "a slow reply is no stall");

    // Stalled: the server sleeps past the deadline.
    let sleeper = std::thread::spawn(move || LocalRedisClient(port).debug_sleep("1.2"));
    std::thread::sleep(Duration::from_millis(30));
    let err = h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert_eq!(
        h.exec.connections_replaced(),
        0,
        "replaced at the next call"
    );
    // The next call replaces the connection; the new one connects when the
    // server answers again (this call may time out waiting for that).
    let _ = h.exec.get_linked_pod(NS, "u1", "chat").await;
    assert_eq!(h.exec.connections_replaced(), 1);
    sleeper.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while let Err(e) = h.exec.set_linked_pod(NS, "u1", "chat", 4, -1).await {
        assert!(Instant::now() < deadline, "no recovery: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap(),
        Some(4)
    );
    // A replacement still connecting was not judged stalled: one replacement.
    assert_eq!(h.exec.connections_replaced(), 1);
    assert!(h.exec.metrics().pool.reconnects >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_limit_refuses_with_busy_at_once() {
    // No timing bound: the server is held by `CLIENT PAUSE` (in effect once the
    // command has answered), the admitted calls are counted rather than waited
    // for with a sleep, and "at once" means the refusal came back while the
    // admitted calls were still held.
    let h = harness_with(|b| {
        b.max_in_flight(4)
            .command_timeout(Duration::from_millis(10_000))
    })
    .await;
    pause_all_clients(&h.server, 3_000).await;
    let stuck: Vec<_> = (0..4)
        .map(|_| {
            let e = h.exec.clone();
            tokio::spawn(async move { e.get_linked_pod(NS, "u1", "chat").await })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while h.exec.in_flight() < 4 {
        assert!(Instant::now() < deadline, "the 4 calls were never admitted");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let err = h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Busy);
    assert!(err.retryable());
    // Refused without waiting for a slot: the admitted calls are still held.
    assert_eq!(h.exec.in_flight(), 4);
    assert!(stuck.iter().all(|t| !t.is_finished()));
    // They are served when the pause ends (`CLIENT UNPAUSE` would wait for it
    // too: the pause holds every client's commands).
    for t in stuck {
        t.await.unwrap().unwrap();
    }
    assert_eq!(h.exec.in_flight(), 0);
}

#[tokio::test]
async fn out_of_memory_is_busy() {
    let mut h = harness().await;
    h.cmd(&["CONFIG", "SET", "maxmemory", "1"]).await;
    let err = h
        .exec
        .set_linked_pod(NS, "u1", "chat", 1, -1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Busy, "{err}");
    let err = h
        .exec
        .set_workload_state(NS, "chat", "x")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Busy, "{err}");
    h.cmd(&["CONFIG", "SET", "maxmemory", "0"]).await;
    assert!(h.keys().await.is_empty(), "nothing was written");
    h.exec
        .set_linked_pod(NS, "u1", "chat", 1, -1)
        .await
        .unwrap();
}

#[tokio::test]
async fn killed_connection_is_reestablished() {
    let mut h = harness().await;
    h.exec
        .set_linked_pod(NS, "u1", "chat", 1, -1)
        .await
        .unwrap();
    h.cmd(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        .await;
    // The first call after the kill may see the loss; reads retry by themselves.
    assert_eq!(
        h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap(),
        Some(1)
    );
    h.exec
        .set_linked_pod(NS, "u1", "chat", 2, -1)
        .await
        .unwrap();
}
