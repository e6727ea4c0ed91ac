//! SPEC section 4: every bad input gets its error code and writes nothing.

mod common;

use common::*;
use stateful_redis::{Config, ErrorCode, Executor, Options, RoutingPolicy};

/// Fills the keyspace with one of everything, so "nothing written" is checked
/// against a realistic state.
async fn populated() -> Harness {
    let h = harness().await;
    let e = &h.exec;
    e.set_linked_pod(NS, "u1", "chat", 1, -1).await.unwrap();
    e.set_linked_pod(NS, "u1", "match", 2, 300).await.unwrap();
    e.set_service_state(NS, "chat", 1, "online").await.unwrap();
    e.set_pod_load(NS, "game", 1, 10, 0).await.unwrap();
    e.set_workload_state(NS, "chat", "running").await.unwrap();
    h
}

#[tokio::test]
async fn invalid_arguments_write_nothing() {
    let mut h = populated().await;
    let before = h.dump().await;
    let e = h.exec.clone();
    let long = "x".repeat(513);
    let policy = RoutingPolicy::default();
    let zero_age = RoutingPolicy {
        max_age_ms: 0,
        max_state: 0,
    };
    let cases: Vec<(&str, stateful_redis::Result<()>)> = vec![
        (
            "empty ns",
            e.set_linked_pod("", "u1", "chat", 1, -1).await.map(drop),
        ),
        (
            "empty uid",
            e.set_linked_pod(NS, "", "chat", 1, -1).await.map(drop),
        ),
        (
            "empty svc",
            e.set_linked_pod(NS, "u1", "", 1, -1).await.map(drop),
        ),
        (
            "long uid",
            e.set_linked_pod(NS, &long, "chat", 1, -1).await.map(drop),
        ),
        (
            "control char",
            e.set_linked_pod(NS, "u\u{1}", "chat", 1, -1)
                .await
                .map(drop),
        ),
        (
            "negative pod",
            e.set_linked_pod(NS, "u1", "chat", -1, -1).await.map(drop),
        ),
        (
            "persist 0",
            e.set_linked_pod(NS, "u1", "chat", 1, 0).await.map(drop),
        ),
        (
            "persist -2",
            e.set_linked_pod(NS, "u1", "chat", 1, -2).await.map(drop),
        ),
        (
            "try persist 0",
            e.try_set_linked_pod(NS, "u1", "chat", 2, 0).await.map(drop),
        ),
        (
            "if absent pod",
            e.set_linked_pod_if_absent(NS, "u9", "chat", -3, -1)
                .await
                .map(drop),
        ),
        (
            "remove keep 0",
            e.remove_linked_pod(NS, "u1", "chat", 0).await.map(drop),
        ),
        (
            "remove id keep",
            e.remove_linked_pod_with_id(NS, "u1", "chat", -7, 1)
                .await
                .map(drop),
        ),
        (
            "remove id pod",
            e.remove_linked_pod_with_id(NS, "u1", "chat", -1, -1)
                .await
                .map(drop),
        ),
        (
            "batch bad uid",
            e.batch_get_linked_pod(NS, &["u1", ""], "chat")
                .await
                .map(drop),
        ),
        (
            "state control",
            e.set_service_state(NS, "chat", 1, "a\nb").await.map(drop),
        ),
        (
            "state pod",
            e.set_service_state(NS, "chat", -1, "x").await.map(drop),
        ),
        (
            "workload svc",
            e.set_workload_state(NS, "", "x").await.map(drop),
        ),
        (
            "load negative",
            e.set_pod_load(NS, "game", 1, -1, 0).await.map(drop),
        ),
        (
            "load state",
            e.set_pod_load(NS, "game", 1, 1, -1).await.map(drop),
        ),
        (
            "compute persist",
            e.compute_linked_pod(NS, "u7", "game", 0, policy)
                .await
                .map(drop),
        ),
        (
            "compute policy",
            e.compute_linked_pod(NS, "u7", "game", -1, zero_age)
                .await
                .map(drop),
        ),
        (
            "workloads svc",
            e.get_workload_states(NS, &["ok", "\u{7f}"]).await.map(drop),
        ),
    ];
    for (name, result) in cases {
        let err = result.expect_err(name);
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{name}: {err}");
        assert!(!err.retryable(), "{name}");
        assert!(
            !err.operation().is_empty(),
            "{name}: the operation is named"
        );
    }
    assert_eq!(
        h.dump().await,
        before,
        "an invalid call changed the keyspace"
    );
}

#[tokio::test]
async fn configuration_errors_are_config() {
    for json in [
        r#"{"url": "http://127.0.0.1:6379"}"#,
        r#"{"connections": 0}"#,
        r#"{"connections": 1000}"#,
        r#"{"no_such_option": true}"#,
        r#"{"command_timeout_ms": 0}"#,
        r#"{"retry": {"max_attempts": 0}}"#,
        r#"{"url": 5}"#,
        "{not json",
    ] {
        let err = Options::from_json(json)
            .and_then(Options::build)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Config, "{json}: {err}");
    }
}

#[tokio::test]
async fn unreachable_server_is_a_connection_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = Config::builder()
        .url(format!("redis://127.0.0.1:{port}"))
        .connect_timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = Executor::connect(config).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Connection, "{err}");
    assert!(err.retryable());
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn closed_executor_refuses_calls() {
    let h = harness().await;
    h.exec.close();
    let err = h.exec.get_linked_pod(NS, "u1", "chat").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Closed);
    assert_eq!(err.operation(), "get_linked_pod");
}

#[tokio::test]
async fn wrong_password_is_auth_and_never_printed() {
    let server = stateful_redis_testkit::LocalRedis::builder()
        .args(["--requirepass", "right-horse-battery"])
        .start()
        .unwrap();
    let secret = "wrong-staple-secret";
    let config = Config::builder()
        .url(format!("redis://:{secret}@127.0.0.1:{}", server.port()))
        .build()
        .unwrap();
    assert!(!format!("{config:?}").contains(secret));
    let err = Executor::connect(config).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Auth, "{err}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(secret), "{shown}");
    }
    // And the right password works.
    let config = Config::builder()
        .url(server.url())
        .password("right-horse-battery")
        .build()
        .unwrap();
    let exec = Executor::connect(config).await.unwrap();
    exec.set_workload_state(NS, "chat", "ok").await.unwrap();
}

/// Every DATA error names the key that holds what cannot be read (SPEC 4),
/// whether a plain command or a script met it, and carries no script location.
#[tokio::test]
async fn data_errors_name_the_key() {
    let mut h = harness().await;
    let link = format!("sf:{{{NS}:lk:u1}}chat");
    let index = format!("sf:{{{NS}:lk:u2}}");
    let state = format!("sf:{{{NS}:state:game}}");
    let workload = format!("sf:{{{NS}:workload:game}}");
    h.cmd(&["HSET", &link, "f", "v"]).await;
    h.cmd(&["SET", &index, "x"]).await;
    h.cmd(&["SET", &state, "x"]).await;
    h.cmd(&["HSET", &workload, "f", "v"]).await;
    let policy = RoutingPolicy::default();
    let e = &h.exec;
    let cases: Vec<(&str, stateful_redis::Error)> = vec![
        (&link, e.get_linked_pod(NS, "u1", "chat").await.unwrap_err()),
        (
            &link,
            e.get_linked_pod_if_persist(NS, "u1", "chat")
                .await
                .unwrap_err(),
        ),
        (
            &link,
            e.set_linked_pod(NS, "u1", "chat", 1, -1).await.unwrap_err(),
        ),
        (
            &link,
            e.remove_linked_pod(NS, "u1", "chat", -1).await.unwrap_err(),
        ),
        (
            &link,
            e.compute_linked_pod(NS, "u1", "chat", -1, policy)
                .await
                .unwrap_err(),
        ),
        (
            &link,
            e.compute_linked_pod(NS, "u1", "chat", 60, policy)
                .await
                .unwrap_err(),
        ),
        (
            &index,
            e.set_linked_pod(NS, "u2", "chat", 1, -1).await.unwrap_err(),
        ),
        (
            &index,
            e.try_set_linked_pod(NS, "u2", "chat", 1, 60)
                .await
                .unwrap_err(),
        ),
        (
            &index,
            e.remove_linked_pod(NS, "u2", "chat", -1).await.unwrap_err(),
        ),
        (&index, e.get_link_service(NS, "u2").await.unwrap_err()),
        (&state, e.get_service_state(NS, "game").await.unwrap_err()),
        (
            &state,
            e.set_service_state(NS, "game", 1, "up").await.unwrap_err(),
        ),
        (
            &state,
            e.set_pod_load(NS, "game", 1, 1, 0).await.unwrap_err(),
        ),
        (&state, e.get_pod_loads(NS, "game", None).await.unwrap_err()),
        (
            &workload,
            e.get_workload_state(NS, "game").await.unwrap_err(),
        ),
    ];
    for (key, err) in cases {
        assert_eq!(err.code(), ErrorCode::Data, "{}: {err}", err.operation());
        assert!(
            err.message().contains(key),
            "{}: {:?} does not name {key}",
            err.operation(),
            err.message()
        );
        assert!(
            !err.message().contains("script:"),
            "{}: {:?}",
            err.operation(),
            err.message()
        );
        // The server's own error stays reachable as the cause.
        assert!(
            std::error::Error::source(&err).is_some(),
            "{}: no cause",
            err.operation()
        );
    }
}

/// A batch larger than one `MGET` (`BATCH_CHUNK` keys) reads every uid, names
/// that need encoding included, grouped by pod in input order; and a link that
/// is not a pod id in its second chunk fails the batch with `DATA` naming that
/// link's key. (The keys of a batch are written into one reused buffer.)
#[tokio::test]
async fn a_batch_past_one_mget_reads_every_uid_and_names_a_bad_key() {
    let mut h = harness().await;
    let n = stateful_redis::executor::BATCH_CHUNK * 2 + 37;
    let uids: Vec<String> = (0..n)
        .map(|i| match i % 4 {
            0 => format!("u{i}"),
            1 => format!("{{u}}:{i}%"),
            2 => format!("ü{i}"),
            _ => format!("long-user-name-{i}-{}", "x".repeat(i % 50)),
        })
        .collect();
    let mut expected: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    for (i, uid) in uids.iter().enumerate() {
        if i % 3 == 0 {
            let pod = (i % 7) as i64;
            let persist = if i % 2 == 0 { -1 } else { 300 };
            h.exec
                .set_linked_pod(NS, uid, "chat", pod, persist)
                .await
                .unwrap();
            expected.entry(pod).or_default().push(uid.clone());
        }
    }
    // Links of another service must not show.
    h.exec
        .set_linked_pod(NS, &uids[1], "match", 9, -1)
        .await
        .unwrap();
    let by_pod = h
        .exec
        .batch_get_linked_pod(NS, &uids, "chat")
        .await
        .unwrap();
    assert_eq!(by_pod, expected);

    // uid 1,501 (1 mod 4, in the second MGET): "{u}:1501%", encoded in its key.
    let bad = 1_501;
    assert_eq!(uids[bad], "{u}:1501%");
    let key = format!("sf:{{{NS}:lk:%7Bu%7D%3A1501%25}}chat");
    h.cmd(&["SET", &key, "garbage"]).await;
    let before = h.dump().await;
    let err = h
        .exec
        .batch_get_linked_pod(NS, &uids, "chat")
        .await
        .unwrap_err();
    assert_eq!(err.code(), stateful_redis::ErrorCode::Data, "{err}");
    assert!(
        err.message().contains(&format!("key {key} holds a link")),
        "{}",
        err.message()
    );
    assert_eq!(h.dump().await, before, "a read writes nothing");
}

/// A link holding bytes that are not UTF-8 (written by another program) is
/// `DATA` naming its key for every operation that reads it, single or batch,
/// and the writes that find it write nothing. Before the link reads were
/// parsed from the reply's bytes, the single reads failed with the string
/// conversion's own message, which named no key.
#[tokio::test]
async fn a_link_that_is_not_utf8_is_data_naming_its_key() {
    let mut h = populated().await;
    let key = format!("sf:{{{NS}:lk:u9}}chat");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(&b"7\xff\xfe"[..])
        .query_async(&mut h.raw)
        .await
        .unwrap();
    let before = h.dump().await;
    let e = h.exec.clone();
    let uids = ["u1", "u9"];
    let cases: Vec<(&str, stateful_redis::Result<()>)> = vec![
        ("get", e.get_linked_pod(NS, "u9", "chat").await.map(drop)),
        (
            "get if persist",
            e.get_linked_pod_if_persist(NS, "u9", "chat")
                .await
                .map(drop),
        ),
        (
            "batch",
            e.batch_get_linked_pod(NS, &uids, "chat").await.map(drop),
        ),
        (
            "set",
            e.set_linked_pod(NS, "u9", "chat", 1, -1).await.map(drop),
        ),
        (
            "set if absent",
            e.set_linked_pod_if_absent(NS, "u9", "chat", 1, -1)
                .await
                .map(drop),
        ),
        (
            "try set",
            e.try_set_linked_pod(NS, "u9", "chat", 1, -1)
                .await
                .map(drop),
        ),
    ];
    for (name, result) in cases {
        let err = result.expect_err(name);
        assert_eq!(err.code(), ErrorCode::Data, "{name}: {err}");
        assert!(
            err.message().contains(&format!("key {key}")),
            "{name}: {:?} does not name {key}",
            err.message()
        );
    }
    assert_eq!(h.dump().await, before, "nothing written");
}
