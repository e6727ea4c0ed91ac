//! Redis Cluster: every conformance vector and the race tests on a real local
//! cluster (3 masters, 3 replicas), failover under load (manual, and a killed
//! master), and the Java schema refused.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stateful_redis::{Config, Error, ErrorCode, Executor, KeySchemaName, RoutingPolicy};
use stateful_redis_testkit::LocalCluster;

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

/// Call number `i` of worker `w` during a failover: the 17 operations in turn,
/// on the worker's 100 uids (spread over every master's slots) and 4 services.
async fn any_operation(e: &Executor, prefix: &str, w: usize, i: u64) -> Result<(), Error> {
    let uid = format!("{prefix}{w}-{}", i % 100);
    let svc = format!("svc{}", w % 4);
    let pod = (i % 5) as i64;
    // Links alternate between persistent and temporary (60 s), removals between
    // deleting and keeping the link readable for 30 s.
    let persist = if i % 3 == 0 { 60 } else { -1 };
    let keep = if i % 4 == 0 { 30 } else { -1 };
    match i % 17 {
        0 => e.set_service_state("c", &svc, pod, "UP").await,
        1 => e.get_service_state("c", &svc).await.map(drop),
        2 => e.set_workload_state("c", &svc, "RUNNING").await,
        3 => e.get_workload_state("c", &svc).await.map(drop),
        4 => e
            .get_workload_states("c", &["svc0", "svc1", "svc2", "svc3"])
            .await
            .map(drop),
        5 => e
            .set_pod_load("c", &svc, pod, i as i64 % 100, 0)
            .await
            .map(drop),
        6 => e.get_pod_loads("c", &svc, None).await.map(drop),
        7 => e
            .set_linked_pod("c", &uid, "chat", pod, persist)
            .await
            .map(drop),
        8 => e
            .try_set_linked_pod("c", &uid, "chat", pod, persist)
            .await
            .map(drop),
        9 => e
            .set_linked_pod_if_absent("c", &uid, "chat", pod, persist)
            .await
            .map(drop),
        10 => e.get_linked_pod("c", &uid, "chat").await.map(drop),
        11 => e
            .get_linked_pod_if_persist("c", &uid, "chat")
            .await
            .map(drop),
        12 => {
            let uids: Vec<String> = (0..20).map(|k| format!("{prefix}{w}-{k}")).collect();
            e.batch_get_linked_pod("c", &uids, "chat").await.map(drop)
        }
        13 => e.remove_linked_pod("c", &uid, "chat", keep).await.map(drop),
        14 => e
            .remove_linked_pod_with_id("c", &uid, "chat", keep, pod)
            .await
            .map(drop),
        15 => e.get_link_service("c", &uid).await.map(drop),
        _ => e
            .compute_linked_pod("c", &uid, "chat", persist, RoutingPolicy::default())
            .await
            .map(drop),
    }
}

/// The link/index invariant for the failover uids: a uid's index holds a
/// service exactly when its link to that service is persistent, with the same pod.
async fn assert_links_match_index(e: &Executor, prefix: &str) {
    for w in 0..16 {
        for i in 0..100 {
            let uid = format!("{prefix}{w}-{i}");
            let persistent = e
                .get_linked_pod_if_persist("c", &uid, "chat")
                .await
                .unwrap();
            let index = e.get_link_service("c", &uid).await.unwrap();
            assert_eq!(persistent, index.get("chat").copied(), "{uid}");
        }
    }
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

    // The core's hash slots (used to split batch reads) are the server's.
    let schema = stateful_redis::KeySchema::Default;
    for i in 0..200 {
        let key = schema.link_key("c", &format!("slot{i}:é{{}}"), "chat");
        let server = cluster.nodes[0]
            .command(&["CLUSTER", "KEYSLOT", &key])
            .unwrap();
        assert_eq!(
            server,
            format!(":{}\r\n", stateful_redis::keys::cluster_slot(&key)),
            "{key}"
        );
    }

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
                    let started = Instant::now();
                    let result = any_operation(&e, "fo", w, i).await;
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
    println!(
        "G5 manual failover under load: {ok} ok, {failed} failed, {late} past the deadline; \
         {} connections replaced",
        exec.connections_replaced()
    );
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
    assert_links_match_index(&exec, "fo").await;
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
                    let started = Instant::now();
                    let result = any_operation(&e, "km", w, i).await;
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
         promotion; {} calls in {} ms: {by_code:?}; {late} past T + 100 ms; {} connections \
         replaced",
        promoted_at - killed_at,
        recovered_after_promotion,
        log.len(),
        ended_at - killed_at + 500,
        exec.connections_replaced(),
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
    assert_links_match_index(&exec, "km").await;
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

#[tokio::test]
async fn the_client_name_reaches_every_node() {
    let cluster = LocalCluster::start(3).expect("a local cluster");
    let config = Config::builder()
        .cluster_nodes(cluster.urls())
        .client_name("cluster-router")
        .command_timeout(Duration::from_millis(1_000))
        .build()
        .unwrap();
    let exec = Executor::connect(config).await.unwrap();
    exec.set_linked_pod("app:eu:logic", "u1", "chat", 1, -1)
        .await
        .unwrap();
    let mut masters = 0;
    for url in cluster.urls() {
        let mut node = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        // The executor reads from masters only: replicas see no connection of it.
        let role: redis::Value = redis::cmd("ROLE").query_async(&mut node).await.unwrap();
        let redis::Value::Array(role) = role else {
            panic!("ROLE: {role:?}")
        };
        if role.first() != Some(&redis::Value::BulkString(b"master".to_vec())) {
            continue;
        }
        masters += 1;
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut node)
            .await
            .unwrap();
        assert!(list.contains(" name=cluster-router "), "{url}: {list}");
    }
    assert!(masters >= 3, "{masters} masters");
}

/// In cluster mode the OpenTelemetry points name no server (each call goes to
/// its slot's node); the pool is named after the first seed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_metrics_name_no_server_in_cluster_mode() {
    let cluster = LocalCluster::start(3).unwrap();
    let e = cluster_executor(&cluster).await;
    e.set_linked_pod("app:eu:logic", "u1", "chat", 1, -1)
        .await
        .unwrap();
    let m = e.otel_metrics(false);
    let h = &m.metrics[0];
    assert_eq!(h.name, "db.client.operation.duration");
    assert!(!h.points.is_empty());
    for metric in &m.metrics {
        for p in &metric.points {
            assert!(p.attributes.get("server.address").is_none());
            assert!(p.attributes.get("server.port").is_none());
            assert!(p.attributes.get("db.namespace").is_none());
        }
    }
    let seed = cluster.urls()[0].trim_start_matches("redis://").to_string();
    let count = m
        .metrics
        .iter()
        .find(|x| x.name == "db.client.connection.count")
        .unwrap();
    assert_eq!(
        count.points[0]
            .attributes
            .get("db.client.connection.pool.name"),
        Some(&stateful_redis::monitor::otel::AttributeValue::Str(
            format!("{seed}/0")
        ))
    );
}
