//! The reliability targets of issue 9 (see `docs/reliability.md`), against real
//! servers on loopback:
//!
//! - G1: no call outlives its deadline under `CLIENT PAUSE`, `DEBUG SLEEP`,
//!   SIGSTOP and a half-open proxy;
//! - G2: after a restart the first success comes quickly, and calls during the
//!   outage fail fast with a retryable `CONNECTION`;
//! - G3: a reply lost after the request reached the server never makes a write run
//!   twice (server `INFO commandstats` = the client's `requests_sent`);
//! - G4: `SCRIPT FLUSH` during load never shows callers `NOSCRIPT` (standalone and
//!   cluster);
//! - nothing lost: with `appendfsync always`, every acknowledged write survives a
//!   SIGKILL and restart, and every failure was reported.
//!
//! CI runs modest counts with loose time bounds (a loaded 2-core machine);
//! `scripts/faults.sh` runs the same tests with the target counts (environment
//! variables below) and prints the exact figures.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::*;
use stateful_redis::{Config, ErrorCode, Executor, Operation, RoutingPolicy};
use stateful_redis_testkit::{LocalCluster, LocalRedis};

/// A count from the environment (the long runs of `scripts/faults.sh`), else `ci`.
fn env_count(name: &str, ci: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci)
}

/// Slack over the deadline allowed in CI. The target is 50 ms; the measured
/// figure is printed and reported by `scripts/faults.sh`. The slack is wide
/// because a busy 2-core CI machine can hold a thread for a tenth of a second
/// and more; the faults of G1 last [`G1_FAULT`], so a call that waited for the
/// server instead of its deadline still takes longer than the deadline plus
/// this slack (up to `G1_FAULT`, T + 1.3 s).
const CI_SLACK: Duration = Duration::from_millis(600);

/// How long each fault of G1 holds the server (pause, sleep, stop, stall).
const G1_FAULT: Duration = Duration::from_millis(1_500);

// ----- G1: deadlines -----------------------------------------------------------

#[derive(Default, Debug)]
struct Durations {
    all: Vec<Duration>,
    by_code: BTreeMap<String, u64>,
}

impl Durations {
    fn max(&self) -> Duration {
        self.all.iter().copied().max().unwrap_or_default()
    }
    fn percentile(&self, p: f64) -> Duration {
        let mut v = self.all.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
    }
}

/// Runs `calls` calls (reads and link writes, `concurrency` at a time) and
/// records how long each took; every outcome must be a success, `TIMEOUT` or
/// `CONNECTION`.
async fn timed_calls(exec: &Executor, calls: u64, concurrency: u64) -> Durations {
    let next = Arc::new(AtomicU64::new(0));
    let out = Arc::new(Mutex::new(Durations::default()));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (exec, next, out) = (exec.clone(), next.clone(), out.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= calls {
                        return;
                    }
                    let uid = format!("u{}", i % 100);
                    let started = Instant::now();
                    let outcome = match i % 3 {
                        0 => exec
                            .set_linked_pod(NS, &uid, "chat", 1, -1)
                            .await
                            .map(|_| ()),
                        1 => exec.get_linked_pod(NS, &uid, "chat").await.map(|_| ()),
                        _ => exec.get_link_service(NS, &uid).await.map(|_| ()),
                    };
                    let took = started.elapsed();
                    let code = match &outcome {
                        Ok(()) => "ok".to_string(),
                        Err(e) => {
                            assert!(
                                matches!(e.code(), ErrorCode::Timeout | ErrorCode::Connection),
                                "{e}"
                            );
                            e.code().as_str().to_string()
                        }
                    };
                    let mut out = out.lock().unwrap();
                    out.all.push(took);
                    *out.by_code.entry(code).or_default() += 1;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    Arc::try_unwrap(out).unwrap().into_inner().unwrap()
}

fn g1_report(fault: &str, timeout: Duration, d: &Durations) {
    eprintln!(
        "G1 {fault}: {} calls, T = {} ms, p50 {:.1} ms, p99 {:.1} ms, p100 {:.1} ms (T + {:.1} ms), outcomes {:?}",
        d.all.len(),
        timeout.as_millis(),
        d.percentile(0.50).as_secs_f64() * 1e3,
        d.percentile(0.99).as_secs_f64() * 1e3,
        d.max().as_secs_f64() * 1e3,
        (d.max().as_secs_f64() - timeout.as_secs_f64()) * 1e3,
        d.by_code
    );
    assert!(
        d.max() < timeout + CI_SLACK,
        "G1 {fault}: a call took {:?} with a deadline of {timeout:?}",
        d.max()
    );
}

const G1_TIMEOUT: Duration = Duration::from_millis(200);

async fn g1_executor(url: String) -> Executor {
    Executor::connect(
        Config::builder()
            .url(url)
            .command_timeout(G1_TIMEOUT)
            .connect_timeout(Duration::from_millis(1_000))
            .build()
            .unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_deadline_under_client_pause() {
    let server = start_server();
    let exec = g1_executor(server.url()).await;
    let stop = Arc::new(AtomicBool::new(false));
    // Pause all clients for G1_FAULT, again and again, with 50 ms gaps.
    let pauser = std::thread::spawn({
        let (stop, port) = (stop.clone(), server.port());
        move || {
            let admin = LocalRedisClient(port);
            while !stop.load(Ordering::Relaxed) {
                let ms = G1_FAULT.as_millis().to_string();
                admin.command(&["CLIENT", "PAUSE", &ms, "ALL"]);
                std::thread::sleep(G1_FAULT + Duration::from_millis(50));
            }
        }
    });
    let d = timed_calls(&exec, env_count("SR_G1_CALLS", 300), 20).await;
    stop.store(true, Ordering::Relaxed);
    pauser.join().unwrap();
    g1_report("CLIENT PAUSE", G1_TIMEOUT, &d);
    assert!(
        d.by_code.contains_key("TIMEOUT"),
        "the pause was felt: {d:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_deadline_under_debug_sleep() {
    let server = start_server();
    let exec = g1_executor(server.url()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sleeper = std::thread::spawn({
        let (stop, port) = (stop.clone(), server.port());
        move || {
            let admin = LocalRedisClient(port);
            while !stop.load(Ordering::Relaxed) {
                admin.debug_sleep(&G1_FAULT.as_secs_f64().to_string());
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    let d = timed_calls(&exec, env_count("SR_G1_CALLS", 300), 20).await;
    stop.store(true, Ordering::Relaxed);
    sleeper.join().unwrap();
    g1_report("DEBUG SLEEP", G1_TIMEOUT, &d);
    assert!(
        d.by_code.contains_key("TIMEOUT"),
        "the sleep was felt: {d:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_deadline_with_the_server_stopped() {
    let server = start_server();
    let exec = g1_executor(server.url()).await;
    let pid = server.pid().unwrap() as libc::pid_t;
    // Stopped for the whole run, except a 100 ms window after each G1_FAULT.
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = std::thread::spawn({
        let stop = stop.clone();
        move || {
            while !stop.load(Ordering::Relaxed) {
                unsafe { libc::kill(pid, libc::SIGSTOP) };
                std::thread::sleep(G1_FAULT);
                unsafe { libc::kill(pid, libc::SIGCONT) };
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    let d = timed_calls(&exec, env_count("SR_G1_CALLS", 300), 20).await;
    stop.store(true, Ordering::Relaxed);
    stopper.join().unwrap();
    unsafe { libc::kill(pid, libc::SIGCONT) };
    g1_report("SIGSTOP", G1_TIMEOUT, &d);
    assert!(
        d.by_code.contains_key("TIMEOUT"),
        "the stop was felt: {d:?}"
    );
    recovers(&exec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_deadline_behind_a_half_open_proxy() {
    let server = start_server();
    let proxy = Proxy::start(server.port()).await;
    let exec = g1_executor(proxy.url()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let toggler = tokio::spawn({
        let stop = stop.clone();
        let proxy = Arc::new(proxy);
        let p = proxy.clone();
        async move {
            while !stop.load(Ordering::Relaxed) {
                p.stall(true);
                tokio::time::sleep(G1_FAULT).await;
                p.stall(false);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            proxy
        }
    });
    let d = timed_calls(&exec, env_count("SR_G1_CALLS", 300), 20).await;
    stop.store(true, Ordering::Relaxed);
    let proxy = toggler.await.unwrap();
    proxy.stall(false);
    g1_report("half-open proxy", G1_TIMEOUT, &d);
    assert!(
        d.by_code.contains_key("TIMEOUT"),
        "the stall was felt: {d:?}"
    );
    recovers(&exec).await;
}

/// The executor works again after a fault (within 5 s).
async fn recovers(exec: &Executor) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match exec.set_linked_pod(NS, "after", "chat", 1, -1).await {
            Ok(_) => return,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("no recovery: {e}"),
        }
    }
}

// ----- G2: recovery after a restart ----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g2_first_success_soon_after_a_restart_and_fast_failures_meanwhile() {
    let mut server = start_server();
    let port = server.port();
    let exec = Executor::connect(
        config_for(&server)
            .command_timeout(Duration::from_millis(1_000))
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let restarts = env_count("SR_G2_RESTARTS", 5);
    let origin = Instant::now();
    let nanos = move || origin.elapsed().as_nanos() as u64;
    // Load: 4 callers in a loop; each success notes its time.
    let stop = Arc::new(AtomicBool::new(false));
    // The earliest success since the last reset (u64::MAX: none).
    let first_ok = Arc::new(AtomicU64::new(u64::MAX));
    let outage = Arc::new(AtomicBool::new(false));
    let outage_failures = Arc::new(Mutex::new(Vec::<(Duration, String, bool)>::new()));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (exec, stop, first_ok, outage, failures) = (
                exec.clone(),
                stop.clone(),
                first_ok.clone(),
                outage.clone(),
                outage_failures.clone(),
            );
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let uid = format!("w{w}-{}", i % 20);
                    let started = Instant::now();
                    let result = if i % 2 == 0 {
                        exec.get_linked_pod(NS, &uid, "chat").await.map(|_| ())
                    } else {
                        exec.set_linked_pod(NS, &uid, "chat", 1, -1)
                            .await
                            .map(|_| ())
                    };
                    match result {
                        Ok(()) => {
                            first_ok.fetch_min(nanos(), Ordering::Relaxed);
                        }
                        Err(e) => {
                            if outage.load(Ordering::Relaxed) {
                                failures.lock().unwrap().push((
                                    started.elapsed(),
                                    e.code().as_str().to_string(),
                                    e.retryable(),
                                ));
                            }
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                }
            })
        })
        .collect();
    let mut recoveries = Vec::new();
    for _ in 0..restarts {
        tokio::time::sleep(Duration::from_millis(200)).await;
        server.stop();
        tokio::time::sleep(Duration::from_millis(100)).await;
        first_ok.store(u64::MAX, Ordering::Relaxed);
        outage.store(true, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        outage.store(false, Ordering::Relaxed);
        // The moment the new server accepts connections, seen by a prober that
        // connects every millisecond.
        let accepted = Arc::new(AtomicU64::new(0));
        let prober = std::thread::spawn({
            let accepted = accepted.clone();
            move || loop {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    accepted.store(nanos(), Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        tokio::task::block_in_place(|| server.restart()).unwrap();
        prober.join().unwrap();
        let accepted = accepted.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while first_ok.load(Ordering::Relaxed) == u64::MAX {
            assert!(
                Instant::now() < deadline,
                "no success within 5 s of the restart"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let first = first_ok.load(Ordering::Relaxed);
        recoveries.push(Duration::from_nanos(first.saturating_sub(accepted)));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    recoveries.sort();
    let failures = outage_failures.lock().unwrap();
    let slowest_failure = failures.iter().map(|f| f.0).max().unwrap_or_default();
    eprintln!(
        "G2: {} restarts; first success after the server accepts: min {:?}, p50 {:?}, p99/max {:?}; \
         {} calls failed during the outages, slowest {:?}",
        recoveries.len(),
        recoveries[0],
        recoveries[recoveries.len() / 2],
        recoveries[recoveries.len() - 1],
        failures.len(),
        slowest_failure,
    );
    assert!(!failures.is_empty(), "the outages were felt");
    for (took, code, retryable) in failures.iter() {
        assert_eq!(code, "CONNECTION", "outage failures are CONNECTION");
        assert!(*retryable, "nothing was sent, so even writes are retryable");
        assert!(
            *took < Duration::from_millis(500),
            "a call during the outage took {took:?}: it must fail fast"
        );
    }
    // CI bound; the target (250 ms p99 over 20 restarts) is measured by the script.
    assert!(
        recoveries[recoveries.len() - 1] < Duration::from_millis(1_000),
        "{recoveries:?}"
    );
}

// ----- G3: honest delivery -----------------------------------------------------

/// `calls` of one command in `INFO commandstats`, 0 when absent.
fn commandstat(server: &LocalRedis, command: &str) -> u64 {
    let info = server.command(&["INFO", "commandstats"]).unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g3_a_lost_reply_never_makes_a_write_run_twice() {
    let server = start_server();
    let proxy = Proxy::start(server.port()).await;
    let exec = Executor::connect(
        Config::builder()
            .url(proxy.url())
            .command_timeout(Duration::from_millis(2_000))
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let rounds = env_count("SR_G3_ROUNDS", 30);
    let stats = || {
        [
            commandstat(&server, "evalsha"),
            commandstat(&server, "get"),
            commandstat(&server, "set"),
        ]
    };
    // Phase 1: script writes whose reply is lost. Each ran once, and the caller
    // is told it failed and that calling again is not known to be safe.
    exec.get_workload_states(NS, &["warm"]).await.unwrap();
    server.command(&["CONFIG", "RESETSTAT"]).unwrap();
    let sent_before = exec.requests_sent(Operation::SetLinkedPod);
    for i in 0..rounds {
        arm(&exec, &proxy).await;
        let err = exec
            .set_linked_pod(NS, &format!("u{i}"), "chat", 7, -1)
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Connection, "{err}");
        assert!(!err.retryable(), "{err:?}");
        assert!(!proxy.cut_pending());
    }
    let sent_writes = exec.requests_sent(Operation::SetLinkedPod) - sent_before;
    let [evalsha, ..] = stats();
    // Phase 2 (the scripts' own GET/SET calls are counted by the server too, so
    // the phases are apart): a read whose reply is lost is retried by the
    // library, a state write is not, and the server ran each attempt once.
    server.command(&["CONFIG", "RESETSTAT"]).unwrap();
    let reads_before = exec.requests_sent(Operation::GetLinkedPod);
    let sets_before = exec.requests_sent(Operation::SetWorkloadState);
    for i in 0..rounds {
        arm(&exec, &proxy).await;
        assert_eq!(
            exec.get_linked_pod(NS, &format!("u{i}"), "chat")
                .await
                .unwrap(),
            Some(7),
            "the write whose reply was lost did run"
        );
        // A write whose reply is lost is not sent again (a newer write by
        // another process in between would be undone): it fails, and says so.
        arm(&exec, &proxy).await;
        let err = exec
            .set_workload_state(NS, &format!("s{i}"), "up")
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Connection, "{err}");
        assert!(!err.retryable(), "{err:?}");
    }
    let sent_reads = exec.requests_sent(Operation::GetLinkedPod) - reads_before;
    let sent_sets = exec.requests_sent(Operation::SetWorkloadState) - sets_before;
    let [_, gets, sets] = stats();
    eprintln!(
        "G3: {rounds} rounds, {} replies dropped; requests sent by the client \
         (set_linked_pod, get_linked_pod, set_workload_state) = [{sent_writes}, {sent_reads}, {sent_sets}]; \
         executed by the server (evalsha, get, set) = [{evalsha}, {gets}, {sets}]",
        proxy.cut_replies()
    );
    assert_eq!([sent_writes, sent_reads, sent_sets], [evalsha, gets, sets]);
    // Each link write ran exactly once: no duplicate execution.
    assert_eq!(evalsha, rounds);
    assert_eq!(sets, rounds, "each state write ran once");
    assert_eq!(proxy.cut_replies(), 3 * rounds);
}

/// Makes sure the executor's connection is up (so the cut hits a reply, not the
/// handshake of a new connection), then arms the proxy.
async fn arm(exec: &Executor, proxy: &Proxy) {
    let deadline = Instant::now() + Duration::from_secs(5);
    // MGET: a command none of the scripts uses.
    while exec.get_workload_states(NS, &["warm"]).await.is_err() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.cut_next_reply();
}

// ----- G4: NOSCRIPT is invisible ---------------------------------------------

/// Runs the script operations from 8 tasks while `flush` runs every `period`
/// for `duration`; returns (calls, NOSCRIPT errors seen by callers, other errors).
async fn load_during_flushes(
    exec: &Executor,
    flush: impl Fn() + Send + 'static,
    duration: Duration,
    period: Duration,
) -> (u64, u64, Vec<String>) {
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let noscript = Arc::new(AtomicU64::new(0));
    let other = Arc::new(Mutex::new(Vec::new()));
    for pod in 0..4 {
        exec.set_pod_load(NS, "game", pod, pod * 3, 0)
            .await
            .unwrap();
    }
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (e, stop, calls, noscript, other) = (
                exec.clone(),
                stop.clone(),
                calls.clone(),
                noscript.clone(),
                other.clone(),
            );
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let uid = format!("u{w}-{}", i % 50);
                    let result = match i % 5 {
                        0 => e.set_linked_pod(NS, &uid, "chat", 1, -1).await.map(|_| ()),
                        1 => e.remove_linked_pod(NS, &uid, "chat", 30).await.map(|_| ()),
                        2 => e
                            .set_linked_pod_if_absent(NS, &uid, "chat", 2, 60)
                            .await
                            .map(|_| ()),
                        3 => e
                            .compute_linked_pod(NS, &uid, "game", -1, RoutingPolicy::default())
                            .await
                            .map(|_| ()),
                        _ => e
                            .set_pod_load(NS, "game", (i % 4) as i64, 1, 0)
                            .await
                            .map(|_| ()),
                    };
                    if let Err(err) = result {
                        if err.message().contains("NOSCRIPT") {
                            noscript.fetch_add(1, Ordering::Relaxed);
                        } else {
                            other.lock().unwrap().push(err.to_string());
                        }
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    let flusher = std::thread::spawn(move || {
        let end = Instant::now() + duration;
        let mut flushes = 0u64;
        while Instant::now() < end {
            std::thread::sleep(period);
            flush();
            flushes += 1;
        }
        flushes
    });
    let flushes = tokio::task::block_in_place(|| flusher.join().unwrap());
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    eprintln!("G4: {flushes} flushes");
    let other = other.lock().unwrap().clone();
    (
        calls.load(Ordering::Relaxed),
        noscript.load(Ordering::Relaxed),
        other,
    )
}

fn g4_duration() -> (Duration, Duration) {
    (
        Duration::from_secs(env_count("SR_G4_SECONDS", 2)),
        Duration::from_millis(env_count("SR_G4_PERIOD_MS", 200)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g4_script_flush_during_load_standalone() {
    let server = start_server();
    let exec = Executor::connect(config_for(&server).build().unwrap())
        .await
        .unwrap();
    let port = server.port();
    let (duration, period) = g4_duration();
    let (calls, noscript, other) = load_during_flushes(
        &exec,
        move || {
            LocalRedisClient(port).command(&["SCRIPT", "FLUSH"]);
        },
        duration,
        period,
    )
    .await;
    let (_, reloads) = exec.monitor().script_counts();
    eprintln!(
        "G4 standalone: {calls} calls, {reloads} NOSCRIPT reloads, {noscript} NOSCRIPT errors, {} other errors",
        other.len()
    );
    assert_eq!(noscript, 0);
    assert!(other.is_empty(), "{other:?}");
    assert!(reloads >= 1, "the flushes were noticed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g4_script_flush_during_load_cluster() {
    let cluster = tokio::task::block_in_place(|| LocalCluster::start(3)).unwrap();
    let exec = Executor::connect(
        Config::builder()
            .cluster_nodes(cluster.urls())
            .command_timeout(Duration::from_millis(2_000))
            .connect_timeout(Duration::from_millis(2_000))
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.port()).collect();
    let (duration, period) = g4_duration();
    let (calls, noscript, other) = load_during_flushes(
        &exec,
        move || {
            for &port in &ports {
                LocalRedisClient(port).command(&["SCRIPT", "FLUSH"]);
            }
        },
        duration,
        period,
    )
    .await;
    let (_, reloads) = exec.monitor().script_counts();
    eprintln!(
        "G4 cluster: {calls} calls, {reloads} NOSCRIPT reloads, {noscript} NOSCRIPT errors, {} other errors",
        other.len()
    );
    assert_eq!(noscript, 0);
    assert!(other.is_empty(), "{other:?}");
    assert!(reloads >= 1, "the flushes were noticed");
    drop(cluster);
}

// ----- nothing lost ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_kill_and_restart() {
    let mut server = LocalRedis::builder()
        .args(["--appendonly", "yes", "--appendfsync", "always"])
        .start()
        .unwrap();
    let exec = Executor::connect(
        config_for(&server)
            .command_timeout(Duration::from_millis(500))
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    // uid -> (pod, outcome): Ok, or the failure's code and retryable flag.
    type Outcomes = Vec<(String, i64, Result<(), (ErrorCode, bool)>)>;
    let outcomes = Arc::new(Mutex::new(Outcomes::new()));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (exec, stop, next, outcomes) =
                (exec.clone(), stop.clone(), next.clone(), outcomes.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let uid = format!("u{i}");
                    let pod = (i % 1000) as i64;
                    let outcome = match exec.set_linked_pod(NS, &uid, "chat", pod, -1).await {
                        Ok(previous) => {
                            assert_eq!(previous, None, "each uid is written once");
                            Ok(())
                        }
                        Err(e) => {
                            tokio::time::sleep(Duration::from_millis(2)).await;
                            Err((e.code(), e.retryable()))
                        }
                    };
                    outcomes.lock().unwrap().push((uid, pod, outcome));
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::block_in_place(|| {
        server.stop(); // SIGKILL
        std::thread::sleep(Duration::from_millis(200));
        server.restart()
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let acked = outcomes.iter().filter(|o| o.2.is_ok()).count();
    let failed: Vec<_> = outcomes.iter().filter(|o| o.2.is_err()).collect();
    let mut lost = Vec::new();
    let mut ran_after_never_sent = Vec::new();
    for (uid, pod, outcome) in outcomes.iter() {
        let now = exec.get_linked_pod(NS, uid, "chat").await.unwrap();
        match outcome {
            Ok(()) => {
                if now != Some(*pod) {
                    lost.push(uid.clone());
                }
            }
            // "Surely not sent" (retryable write failure): it must not have run.
            Err((_, true)) if now.is_some() => ran_after_never_sent.push(uid.clone()),
            Err(_) => {}
        }
    }
    eprintln!(
        "nothing lost: {} writes, {acked} acknowledged, {} failed ({} retryable, i.e. surely not run); \
         lost {}, ran though reported as not sent {}",
        outcomes.len(),
        failed.len(),
        failed.iter().filter(|o| matches!(o.2, Err((_, true)))).count(),
        lost.len(),
        ran_after_never_sent.len()
    );
    assert!(
        acked > 50,
        "writes were acknowledged before and after the restart"
    );
    assert!(!failed.is_empty(), "the kill was felt");
    for (_, _, outcome) in failed.iter() {
        let (code, _) = outcome.as_ref().unwrap_err();
        assert!(
            matches!(
                code,
                ErrorCode::Connection | ErrorCode::Timeout | ErrorCode::Busy
            ),
            "{code:?}"
        );
    }
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(ran_after_never_sent.is_empty(), "{ran_after_never_sent:?}");
}
