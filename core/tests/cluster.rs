//! Redis Cluster: every conformance vector and the race tests on a real local
//! cluster (3 masters, 3 replicas), failover under load (manual, and a killed
//! master), and the Java schema refused.

mod common;

use std::collections::{BTreeMap, BTreeSet};
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

/// A master stopped under load (killed, not a manual failover): its replica takes
/// over after `cluster-node-timeout` (1 s here), and every operation succeeds
/// again within a bounded time after the promotion; the errors seen during the
/// switch are counted by code and reported, none outlives its deadline, and the
/// link/index invariant holds afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_is_replaced_by_its_replica_under_load() {
    let mut cluster = LocalCluster::start(3).expect("a local cluster");
    let exec = cluster_executor(&cluster).await;
    let timeout = exec.config().command_timeout();
    let epoch = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    // (milliseconds since `epoch` the call ended, its outcome)
    type Log = Vec<(u64, Result<(), ErrorCode>)>;
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (e, stop) = (exec.clone(), stop.clone());
            tokio::spawn(async move {
                let mut log: Log = Vec::new();
                let mut late = 0u64;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // 100 uids per worker: spread over every master's slots.
                    let uid = format!("km{w}-{}", i % 100);
                    let started = Instant::now();
                    let result = if i % 2 == 0 {
                        e.set_linked_pod("c", &uid, "chat", (i % 5) as i64, -1)
                            .await
                            .map(drop)
                    } else {
                        e.get_linked_pod("c", &uid, "chat").await.map(drop)
                    };
                    if started.elapsed() > timeout + Duration::from_millis(100) {
                        late += 1;
                    }
                    let failed = result.is_err();
                    log.push((
                        epoch.elapsed().as_millis() as u64,
                        result.map_err(|e| e.code()),
                    ));
                    if failed {
                        // A failing caller backs off a little, as a service would.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    i += 1;
                }
                (log, late)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let victim = cluster
        .nodes
        .iter()
        .position(|n| n.command(&["ROLE"]).is_ok_and(|r| r.contains("master")))
        .unwrap();
    let victim_port = cluster.nodes[victim].port();
    let replica = cluster
        .nodes
        .iter()
        .position(|n| {
            n.command(&["ROLE"])
                .is_ok_and(|r| r.contains("slave") && r.contains(&format!(":{victim_port}\r\n")))
        })
        .expect("a replica of the victim");
    let killed_at = epoch.elapsed().as_millis() as u64;
    cluster.nodes[victim].stop();
    let promoted_at = loop {
        if cluster.nodes[replica]
            .command(&["ROLE"])
            .is_ok_and(|r| r.contains("master"))
        {
            break epoch.elapsed().as_millis() as u64;
        }
        assert!(
            epoch.elapsed().as_millis() as u64 - killed_at < 15_000,
            "the replica was not promoted: {:?} {:?}",
            cluster.nodes[replica].command(&["ROLE"]),
            cluster.nodes[replica].command(&["CLUSTER", "NODES"]),
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Keep the load on for a while after the promotion.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let mut log: Log = Vec::new();
    let mut late = 0;
    for w in workers {
        let (worker_log, worker_late) = w.await.unwrap();
        log.extend(worker_log);
        late += worker_late;
    }
    let ended_at = epoch.elapsed().as_millis() as u64;

    let mut by_code: BTreeMap<String, u64> = BTreeMap::new();
    for (_, outcome) in &log {
        let name = match outcome {
            Ok(()) => "ok".to_string(),
            Err(code) => code.as_str().to_string(),
        };
        *by_code.entry(name).or_default() += 1;
    }
    let last_failure = log
        .iter()
        .filter(|(_, outcome)| outcome.is_err())
        .map(|(at, _)| *at)
        .max();
    let recovered_after_promotion = last_failure.map_or(0, |at| at.saturating_sub(promoted_at));
    println!(
        "G5 killed master: promoted {} ms after the kill; last failure {} ms after the \
         promotion; {} calls in {} ms: {by_code:?}; {late} past T + 100 ms",
        promoted_at - killed_at,
        recovered_after_promotion,
        log.len(),
        ended_at - killed_at + 500,
    );
    for (_, outcome) in &log {
        if let Err(code) = outcome {
            assert!(
                matches!(
                    code,
                    ErrorCode::Connection | ErrorCode::Timeout | ErrorCode::Cluster
                ),
                "unclassified failure during the switch: {code:?}"
            );
        }
    }
    assert_eq!(late, 0, "no call outlived its deadline");
    // Service is back within a bounded time after the promotion (the client
    // learns the new slot map), and stays back.
    assert!(
        recovered_after_promotion < 2_000,
        "calls still failed {recovered_after_promotion} ms after the promotion"
    );
    let after: Vec<_> = log
        .iter()
        .filter(|(at, _)| *at > promoted_at + 2_000)
        .collect();
    assert!(after.len() > 100, "load continued after the switch");
    // Invariant: every link is in its uid's index with the same pod.
    for w in 0..16 {
        for i in 0..100 {
            let uid = format!("km{w}-{i}");
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
