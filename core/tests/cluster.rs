//! Redis Cluster: every conformance vector and the race tests on a real local
//! cluster (3 masters, 3 replicas), failover under load, and the Java schema
//! refused.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stateful_redis::local_redis::LocalCluster;
use stateful_redis::{Config, ErrorCode, Executor, KeySchemaName, RoutingPolicy};

async fn cluster_executor(cluster: &LocalCluster) -> Executor {
    let config = Config::builder()
        .cluster_nodes(cluster.urls())
        .command_timeout(Duration::from_millis(1_000))
        .build()
        .unwrap();
    Executor::connect(config).await.unwrap()
}

async fn raw_cluster(cluster: &LocalCluster) -> redis::cluster_async::ClusterConnection {
    redis::cluster::ClusterClient::new(cluster.urls())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_runs_every_vector_races_and_failover() {
    let cluster = LocalCluster::start(3).expect("a local cluster");
    let exec = cluster_executor(&cluster).await;
    assert!(exec.config().is_cluster());
    let mut raw = raw_cluster(&cluster).await;

    // 1. The conformance vectors, unchanged.
    let (files, steps) = common::vectors::run_all(&exec, &mut raw).await;
    println!("cluster: {files} vector files, {steps} steps");

    // 2. Multi-slot reads: uids and services spread over every master.
    let uids: Vec<String> = (0..500).map(|i| format!("spread{i}")).collect();
    for (i, uid) in uids.iter().enumerate() {
        exec.set_linked_pod("c", uid, "chat", (i % 4) as i64, -1)
            .await
            .unwrap();
    }
    let by_pod = exec.batch_get_linked_pod("c", &uids, "chat").await.unwrap();
    assert_eq!(by_pod.values().map(Vec::len).sum::<usize>(), 500);
    assert_eq!(by_pod[&1][0], "spread1", "input order kept");
    let svcs: Vec<String> = (0..50).map(|i| format!("svc{i}")).collect();
    for svc in &svcs {
        exec.set_workload_state("c", svc, "up").await.unwrap();
    }
    assert_eq!(
        exec.get_workload_states("c", &svcs).await.unwrap().len(),
        50
    );

    // 3. Races: 200 concurrent callers for one uid end on one pod.
    for pod in 0..8 {
        exec.set_pod_load("c", "game", pod, 50 - pod, 0)
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..200i64)
        .map(|i| {
            let e = exec.clone();
            tokio::spawn(async move {
                match i % 3 {
                    0 => e
                        .set_linked_pod_if_absent("c", "race", "chat", i, -1)
                        .await
                        .unwrap(),
                    1 => {
                        e.try_set_linked_pod("c", "race", "chat", i, -1)
                            .await
                            .unwrap()
                            .pod
                    }
                    _ => e
                        .compute_linked_pod("c", "race", "chat", -1, RoutingPolicy::default())
                        .await
                        .unwrap()
                        .unwrap_or(-1),
                }
            })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for t in tasks {
        let pod = t.await.unwrap();
        if pod >= 0 {
            seen.insert(pod);
        }
    }
    assert_eq!(seen.len(), 1, "callers saw {seen:?}");

    // 4. SCRIPT FLUSH on every node is invisible.
    for node in &cluster.nodes {
        node.command(&["SCRIPT", "FLUSH"]).unwrap();
    }
    exec.set_linked_pod("c", "after-flush", "chat", 1, -1)
        .await
        .unwrap();

    // 5. Failover of a master under load: few failures, all classified, none
    //    past the deadline; the link/index invariant holds afterwards.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed, late) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (e, stop, ok, failed, late) = (
                exec.clone(),
                stop.clone(),
                ok.clone(),
                failed.clone(),
                late.clone(),
            );
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let uid = format!("fo{w}-{}", i % 100);
                    let started = Instant::now();
                    let result = if i % 2 == 0 {
                        e.set_linked_pod("c", &uid, "chat", (i % 5) as i64, -1)
                            .await
                            .map(drop)
                    } else {
                        e.get_linked_pod("c", &uid, "chat").await.map(drop)
                    };
                    if started.elapsed() > Duration::from_millis(1_100) {
                        late.fetch_add(1, Ordering::Relaxed);
                    }
                    match result {
                        Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            assert!(
                                matches!(
                                    e.code(),
                                    ErrorCode::Connection
                                        | ErrorCode::Timeout
                                        | ErrorCode::Cluster
                                        | ErrorCode::Busy
                                ),
                                "unclassified failure: {e}"
                            );
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    i += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Fail over each original master in turn: CLUSTER FAILOVER on its replica.
    let original_masters: Vec<u16> = cluster.masters().iter().map(|m| m.port()).collect();
    for master_port in original_masters {
        let replica = cluster
            .nodes
            .iter()
            .find(|n| {
                n.command(&["ROLE"]).is_ok_and(|r| {
                    r.contains("slave") && r.contains(&format!(":{master_port}\r\n"))
                })
            })
            .unwrap_or_else(|| panic!("a replica of {master_port}"));
        assert!(replica
            .command(&["CLUSTER", "FAILOVER"])
            .unwrap()
            .starts_with("+OK"));
        let promoted = Instant::now();
        while !replica.command(&["ROLE"]).unwrap().contains("master") {
            assert!(
                promoted.elapsed() < Duration::from_secs(10),
                "failover did not happen"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let (ok, failed, late) = (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        late.load(Ordering::Relaxed),
    );
    println!("failover under load: {ok} ok, {failed} failed, {late} past the deadline");
    assert!(ok > 100);
    assert_eq!(late, 0, "no call outlived its deadline");
    // During a manual failover the old master holds its clients until the
    // replica has taken over, so each worker can lose the call it had in flight
    // then (TIMEOUT); measured rates are in the issue notes. The bound here is
    // loose enough for a loaded CI machine.
    assert!(
        (failed as f64) <= 0.01 * ((ok + failed) as f64),
        "{failed} of {} calls failed",
        ok + failed
    );
    // Invariant: every persistent link is in its uid's index with the same pod.
    for w in 0..16 {
        for i in 0..100 {
            let uid = format!("fo{w}-{i}");
            let link = exec.get_linked_pod("c", &uid, "chat").await.unwrap();
            let index = exec.get_link_service("c", &uid).await.unwrap();
            assert_eq!(link, index.get("chat").copied(), "{uid}");
        }
    }
}

#[tokio::test]
async fn java_schema_is_refused_on_a_cluster() {
    let cluster = LocalCluster::start(3).expect("a local cluster");
    // Explicit seed nodes: refused when the configuration is built.
    let err = Config::builder()
        .cluster_nodes(cluster.urls())
        .key_schema(KeySchemaName::Java)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config);
    // A plain URL that turns out to be a cluster node: refused at connect.
    let config = Config::builder()
        .url(cluster.urls()[0].clone())
        .key_schema(KeySchemaName::Java)
        .build()
        .unwrap();
    let err = Executor::connect(config).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    // The same URL with the default schema is used as the cluster's seed.
    let config = Config::builder()
        .url(cluster.urls()[0].clone())
        .build()
        .unwrap();
    let exec = Executor::connect(config).await.unwrap();
    assert!(exec.config().is_cluster());
    for i in 0..50 {
        exec.set_linked_pod("c", &format!("u{i}"), "chat", 1, -1)
            .await
            .unwrap();
    }
}
