//! A request whose reply is lost (the proxy lets it through, then cuts the
//! connection before the reply): reads are sent again, writes never, not even
//! the idempotent-looking state writes (a newer write by another process
//! between the two attempts would be undone by the resend).

mod common;

use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{start_server, NS};
use stateful_redis::{Config, ErrorCode, Executor, Operation};

async fn executor_behind(proxy: &Proxy) -> Executor {
    Executor::connect(
        Config::builder()
            .url(proxy.url())
            .command_timeout(Duration::from_millis(2_000))
            .build()
            .unwrap(),
    )
    .await
    .unwrap()
}

/// Makes sure the connection is up (so the cut hits a reply, not a
/// handshake), then arms the proxy.
async fn arm(exec: &Executor, proxy: &Proxy) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while exec.get_workload_states(NS, &["warm"]).await.is_err() {
        assert!(Instant::now() < deadline, "no connection");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.cut_next_reply();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_write_whose_reply_was_lost_is_not_sent_again() {
    let server = start_server();
    let proxy = Proxy::start(server.port()).await;
    let exec = executor_behind(&proxy).await;
    let writes: [(Operation, &str); 2] = [
        (Operation::SetWorkloadState, "workload"),
        (Operation::SetServiceState, "service"),
    ];
    for (op, what) in writes {
        arm(&exec, &proxy).await;
        let sent = exec.requests_sent(op);
        let err = match op {
            Operation::SetWorkloadState => exec.set_workload_state(NS, "chat", "new").await,
            _ => exec.set_service_state(NS, "chat", 1, "new").await,
        }
        .unwrap_err();
        assert!(
            !proxy.cut_pending(),
            "{what}: the reply was not the one cut"
        );
        assert_eq!(exec.requests_sent(op) - sent, 1, "{what}: sent again");
        assert_eq!(err.code(), ErrorCode::Connection, "{what}: {err}");
        assert!(!err.retryable(), "{what}: {err:?}");
        assert!(
            err.message().contains("outcome is unknown"),
            "{what}: {err}"
        );
        assert_eq!(err.operation(), op.name());
    }
    // The server did run both writes once.
    assert_eq!(
        exec.get_workload_state(NS, "chat")
            .await
            .unwrap()
            .as_deref(),
        Some("new")
    );
    assert_eq!(
        exec.get_service_state(NS, "chat")
            .await
            .unwrap()
            .get(&1)
            .map(String::as_str),
        Some("new")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_whose_reply_was_lost_is_sent_again() {
    let server = start_server();
    let proxy = Proxy::start(server.port()).await;
    let exec = executor_behind(&proxy).await;
    exec.set_workload_state(NS, "chat", "up").await.unwrap();
    arm(&exec, &proxy).await;
    let sent = exec.requests_sent(Operation::GetWorkloadState);
    assert_eq!(
        exec.get_workload_state(NS, "chat")
            .await
            .unwrap()
            .as_deref(),
        Some("up")
    );
    assert!(!proxy.cut_pending());
    assert_eq!(exec.requests_sent(Operation::GetWorkloadState) - sent, 2);
}

/// A write the server refused (here OOM) did not run: calling again is safe
/// and may succeed, so the error is retryable (unlike a lost reply's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_server_refused_is_retryable() {
    let server = start_server();
    let exec = Executor::connect(common::config_for(&server).build().unwrap())
        .await
        .unwrap();
    server
        .command(&["CONFIG", "SET", "maxmemory", "1"])
        .unwrap();
    let refused = [
        exec.set_workload_state(NS, "chat", "x").await.unwrap_err(),
        exec.set_service_state(NS, "chat", 1, "x")
            .await
            .unwrap_err(),
        exec.set_linked_pod(NS, "u1", "chat", 1, -1)
            .await
            .map(|_| ())
            .unwrap_err(),
    ];
    server
        .command(&["CONFIG", "SET", "maxmemory", "0"])
        .unwrap();
    for err in refused {
        assert_eq!(err.code(), ErrorCode::Busy, "{err}");
        assert!(err.retryable(), "{err:?}");
        assert!(!err.message().contains("outcome is unknown"), "{err}");
    }
    exec.set_workload_state(NS, "chat", "x").await.unwrap();
}
