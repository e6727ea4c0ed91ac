//! Forwarding of log events to a sink (`stateful_redis::logging`), as every
//! binding uses it: an alert firing and a reconnect arrive with their level,
//! target, message and fields; a level turned down stops them. One test in
//! this binary: the forwarder is the process's global subscriber.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stateful_redis::logging::{self, FieldValue, Level, Record, Sink};

mod common;
use common::{harness, NS};

struct Collect(Arc<Mutex<Vec<Record>>>);

impl Sink for Collect {
    fn log(&self, record: &Record) {
        self.0.lock().unwrap().push(record.clone());
    }
}

/// Waits (generously: a busy machine is slow) for a record that `matches`.
async fn wait_for(
    seen: &Mutex<Vec<Record>>,
    what: &str,
    matches: impl Fn(&Record) -> bool,
) -> Record {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(r) = seen.lock().unwrap().iter().find(|r| matches(r)) {
            return r.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no {what} was logged: {:?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_and_reconnects_reach_the_sink() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    logging::set_sink(Some(Box::new(Collect(seen.clone()))), Level::Info);
    assert!(logging::is_forwarding());
    assert_eq!(logging::max_level(), Some(Level::Info));

    let mut h = harness().await;
    h.exec
        .set_linked_pod(NS, "u1", "chat", 1, -1)
        .await
        .unwrap();
    h.exec
        .set_alert_threshold("set_linked_pod.p99_ms", 0.000_001)
        .unwrap();
    h.exec.evaluate_alerts();
    let fired = wait_for(&seen, "alert", |r| r.message.starts_with("alert firing")).await;
    assert_eq!(fired.level, Level::Warn);
    assert_eq!(fired.target, "stateful_redis::monitor");
    assert!(
        fired.message.contains(" metric=set_linked_pod.p99_ms "),
        "{}",
        fired.message
    );
    assert_eq!(
        fired.fields[0],
        ("metric", FieldValue::Str("set_linked_pod.p99_ms".into()))
    );

    h.cmd(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        .await;
    // A read retries by itself after the loss.
    assert_eq!(
        h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap(),
        Some(1)
    );
    let lost = wait_for(&seen, "loss", |r| r.message.starts_with("connection lost")).await;
    assert_eq!(lost.level, Level::Warn);
    let back = wait_for(&seen, "reconnect", |r| {
        r.message.starts_with("connection re-established")
    })
    .await;
    assert_eq!(back.level, Level::Info);
    assert_eq!(back.target, "stateful_redis::connection");

    // Turned down: info events are not even rendered.
    logging::set_max_level(Some(Level::Error));
    let before = seen.lock().unwrap().len();
    tracing::info!("not forwarded");
    tracing::warn!("not forwarded either");
    assert_eq!(seen.lock().unwrap().len(), before);
    logging::set_sink(None, Level::Trace);
    assert_eq!(logging::max_level(), None);
    tracing::error!("no sink");
    assert_eq!(seen.lock().unwrap().len(), before);
}
