//! The `client_name` option: every connection of the executor is named with it
//! in `CLIENT LIST`, also once re-established after `CLIENT KILL`; a name Redis
//! would refuse is refused before anything connects.

mod common;

use std::time::{Duration, Instant};

use common::*;
use stateful_redis::{Config, ErrorCode, Executor};

/// The `name=` of every connection but the inspecting one.
async fn other_client_names(raw: &mut redis::aio::MultiplexedConnection) -> Vec<String> {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(raw)
        .await
        .unwrap();
    let own: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(raw)
        .await
        .unwrap();
    list.lines()
        .filter(|line| !line.starts_with(&format!("id={own} ")))
        .map(|line| {
            line.split(' ')
                .find_map(|field| field.strip_prefix("name="))
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_carries_the_client_name_also_after_a_reconnect() {
    let mut h = harness_with(|b| b.client_name("router-7").connections(3)).await;
    h.exec
        .set_linked_pod(NS, "u1", "chat", 1, -1)
        .await
        .unwrap();
    let names = other_client_names(&mut h.raw).await;
    assert_eq!(names, vec!["router-7"; 3], "{names:?}");

    h.cmd(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        .await;
    // Calls after the kill re-establish the connections (a first call may see the loss).
    let started = Instant::now();
    loop {
        for _ in 0..6 {
            let _ = h.exec.get_linked_pod(NS, "u1", "chat").await;
        }
        let names = other_client_names(&mut h.raw).await;
        if names.len() == 3 && names.iter().all(|n| n == "router-7") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not renamed after the reconnect: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_option_connections_are_unnamed() {
    let mut h = harness().await;
    h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap();
    let names = other_client_names(&mut h.raw).await;
    assert_eq!(names, vec![""], "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_name_is_refused_with_nothing_connected() {
    let server = start_server();
    let mut raw = raw_connection(&server).await;
    for name in ["two words", "line\nbreak", ""] {
        let err = config_for(&server).client_name(name).build().unwrap_err();
        assert_eq!(err.code(), ErrorCode::Config, "{name:?}");
        assert!(err.message().contains("client_name"), "{}", err.message());
    }
    // From JSON (the C ABI's and the bindings' form) too, at connect.
    let options = stateful_redis::Options::from_json(&format!(
        r#"{{"url":"{}","client_name":"two words"}}"#,
        server.url()
    ))
    .unwrap();
    let err = Config::from_options(options).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config);
    assert!(!err.message().contains("two words"), "{}", err.message());
    assert!(other_client_names(&mut raw).await.is_empty());
    // A good one connects.
    let exec = Executor::connect(config_for(&server).client_name("ok").build().unwrap())
        .await
        .unwrap();
    exec.get_linked_pod(NS, "u", "chat").await.unwrap();
    assert_eq!(other_client_names(&mut raw).await, vec!["ok"]);
}
