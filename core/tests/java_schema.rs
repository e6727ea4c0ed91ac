//! The Java version's key schema: same operations, the Java keys.

mod common;

use common::*;
use stateful_redis::{ErrorCode, KeySchemaName, RoutingPolicy};

const JNS: &str = "app:eu:logic";

#[tokio::test]
async fn operations_use_the_java_keys() {
    let mut h = harness_with(|b| b.key_schema(KeySchemaName::Java)).await;
    let e = h.exec.clone();
    assert_eq!(
        e.set_linked_pod(JNS, "u1", "chat", 3, -1).await.unwrap(),
        None
    );
    assert_eq!(
        h.get("slug-lk:{app:eu:logic:u1:chat}").await.as_deref(),
        Some("3")
    );
    assert_eq!(h.pttl("slug-lk:{app:eu:logic:u1:chat}").await, -1);
    assert_eq!(
        h.hgetall("slug-lk:{app:eu:logic:u1}").await,
        vec![("chat".to_string(), "3".to_string())]
    );
    e.set_linked_pod(JNS, "u2", "chat", 4, 60).await.unwrap();
    assert!(h.pttl("slug-lk:{app:eu:logic:u2:chat}").await > 0);
    e.set_service_state(JNS, "chat", 1, "online").await.unwrap();
    assert_eq!(
        h.hgetall("slug-state:{app:eu:logic:chat}").await,
        vec![("1".to_string(), "online".to_string())]
    );
    e.set_workload_state(JNS, "chat", "running").await.unwrap();
    assert_eq!(
        h.get("slug-workload:{app:eu:logic:chat}").await.as_deref(),
        Some("running")
    );
    e.set_pod_load(JNS, "game", 2, 5, 0).await.unwrap();
    assert_eq!(
        e.compute_linked_pod(JNS, "u3", "game", -1, RoutingPolicy::default())
            .await
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        e.get_link_service(JNS, "u3").await.unwrap().get("game"),
        Some(&2)
    );
    assert!(e.remove_linked_pod(JNS, "u1", "chat", -1).await.unwrap());
    assert_eq!(
        h.cmd(&["EXISTS", "slug-lk:{app:eu:logic:u1}"]).await,
        redis::Value::Int(0)
    );
    let by_pod = e
        .batch_get_linked_pod(JNS, &["u2", "u3"], "chat")
        .await
        .unwrap();
    assert_eq!(by_pod.get(&4), Some(&vec!["u2".to_string()]));
}

#[tokio::test]
async fn java_namespace_must_have_three_parts() {
    let mut h = harness_with(|b| b.key_schema(KeySchemaName::Java)).await;
    for ns in ["app:eu", "app", "a:b:c:d", "a::c"] {
        let err = h
            .exec
            .set_linked_pod(ns, "u1", "chat", 1, -1)
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{ns}");
        let err = h.exec.get_service_state(ns, "chat").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{ns}");
    }
    assert!(h.keys().await.is_empty());
}
