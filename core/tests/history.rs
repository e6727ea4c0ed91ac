//! Randomized concurrency history test (issue 13), in the spirit of Jepsen/elle:
//! 16 clients run random calls of all 17 operations for a bounded time over a few
//! uids and services (so that they collide) on a real Redis, standalone and on a
//! 3+3 cluster. Every call is recorded with its start and end time and its
//! result; then the history and the final keyspace are checked against the model
//! of SPEC sections 2-3.
//!
//! The check is linearizability, per independent part of the keyspace (the links
//! and index of one uid, the pod-state hash of one service, the workload state of
//! one service): the history passes only if its calls can be put in one order that
//! respects real time (a call that ended before another started comes first) and
//! in which every result is the one the model gives. Every order the timing allows
//! is tried, so an ambiguous history is never reported (no false positives). The
//! keyspace read after the run is the last call of every uid, and the index is
//! compared with the persistent links directly.
//!
//! `STATEFUL_REDIS_HISTORY_SECS` sets the run time per topology (default 10; a
//! longer run is split into rounds of at most 30 s, each in a namespace of its
//! own and checked on its own),
//! `STATEFUL_REDIS_HISTORY_SEED` the seed of the random calls, and
//! `STATEFUL_REDIS_HISTORY_MIX=compute-remove` narrows the mix to the calls of the
//! compute/remove race (set 9, compute with a TTL, remove, read on a service
//! without load records), `STATEFUL_REDIS_HISTORY_REPORT=PREFIX` writes every
//! violation to `PREFIX.TOPOLOGY.txt`. `scripts/history.sh` runs it for longer.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::hash::Hash;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use stateful_redis::{Config, Executor, KeySchema, PodLoad, RoutingPolicy};
use stateful_redis_testkit::{LocalCluster, LocalRedis};

const CLIENTS: usize = 16;
const UIDS: [&str; 8] = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"];
/// `game` has load records (pods 0-3 from the start, pod 4 from its first
/// `set_pod_load`); `chat` never has any, so compute may only return an
/// existing link there.
const SVCS: [&str; 2] = ["game", "chat"];
const GAME: usize = 0;
const CHAT: usize = 1;
/// A service that never gets a workload state (must be left out of reads).
const IDLE_SVC: &str = "idle";
const LINK_PODS: [i64; 7] = [0, 1, 2, 3, 4, 5, 9];
const SETUP_LOAD_PODS: [i64; 4] = [0, 1, 2, 3];
const LOAD_PODS: [i64; 5] = [0, 1, 2, 3, 4];
/// Pods whose field holds a plain state string (never a load record).
const STATE_PODS: [i64; 3] = [10, 11, 12];
/// TTLs long enough that nothing expires during a run: the model has no clock.
const TTL: i64 = 3600;
/// Every load record stays fresh for the whole run.
const POLICY: RoutingPolicy = RoutingPolicy {
    max_age_ms: 86_400_000,
    max_state: i64::MAX,
};
/// Client id of the calls made before and after the concurrent run.
const SETUP: usize = usize::MAX;

// ---- the history ---------------------------------------------------------------

/// One call. Uids and services are indexes into `UIDS` and `SVCS`.
#[derive(Clone, Debug)]
enum Op {
    SetServiceState {
        svc: usize,
        pod: i64,
        state: String,
    },
    GetServiceState {
        svc: usize,
    },
    SetWorkloadState {
        svc: usize,
        state: String,
    },
    GetWorkloadState {
        svc: usize,
    },
    /// Both services and `IDLE_SVC`.
    GetWorkloadStates,
    SetPodLoad {
        svc: usize,
        pod: i64,
        load: i64,
        state: i64,
    },
    GetPodLoads {
        svc: usize,
    },
    SetLinkedPod {
        uid: usize,
        svc: usize,
        pod: i64,
        persist: i64,
    },
    TrySetLinkedPod {
        uid: usize,
        svc: usize,
        pod: i64,
        persist: i64,
    },
    SetLinkedPodIfAbsent {
        uid: usize,
        svc: usize,
        pod: i64,
        persist: i64,
    },
    GetLinkedPod {
        uid: usize,
        svc: usize,
    },
    GetLinkedPodIfPersist {
        uid: usize,
        svc: usize,
    },
    BatchGetLinkedPod {
        svc: usize,
        uids: Vec<usize>,
    },
    RemoveLinkedPod {
        uid: usize,
        svc: usize,
        keep: i64,
    },
    RemoveLinkedPodWithId {
        uid: usize,
        svc: usize,
        keep: i64,
        pod: i64,
    },
    GetLinkService {
        uid: usize,
    },
    ComputeLinkedPod {
        uid: usize,
        svc: usize,
        persist: i64,
    },
    /// Not a library call: the raw keyspace of one uid, read after the run.
    FinalLinks {
        uid: usize,
    },
}

#[derive(Clone, Debug)]
enum Out {
    Unit,
    Pod(Option<i64>),
    TrySet { ok: bool, pod: i64 },
    Linked(i64),
    Removed(bool),
    States(BTreeMap<i64, String>),
    Workload(Option<String>),
    Workloads(BTreeMap<String, String>),
    Stamp(i64),
    Loads(BTreeMap<i64, PodLoad>),
    Batch(BTreeMap<i64, Vec<String>>),
    Services(BTreeMap<String, i64>),
    Final([Link; 2]),
}

#[derive(Clone, Debug)]
struct Call {
    client: usize,
    /// Microseconds since the start of the run.
    start: u64,
    end: u64,
    op: Op,
    /// `Err`: the call failed; a write may or may not have taken effect.
    out: Result<Out, String>,
}

impl Op {
    fn is_write(&self) -> bool {
        matches!(
            self,
            Op::SetServiceState { .. }
                | Op::SetWorkloadState { .. }
                | Op::SetPodLoad { .. }
                | Op::SetLinkedPod { .. }
                | Op::TrySetLinkedPod { .. }
                | Op::SetLinkedPodIfAbsent { .. }
                | Op::RemoveLinkedPod { .. }
                | Op::RemoveLinkedPodWithId { .. }
                | Op::ComputeLinkedPod { .. }
        )
    }
}

fn persist_text(p: i64) -> String {
    if p == -1 {
        "-1".into()
    } else {
        p.to_string()
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (u, s) = (|i: &usize| UIDS[*i], |i: &usize| SVCS[*i]);
        match self {
            Op::SetServiceState { svc, pod, state } => {
                write!(f, "set_service_state({}, {pod}, {state:?})", s(svc))
            }
            Op::GetServiceState { svc } => write!(f, "get_service_state({})", s(svc)),
            Op::SetWorkloadState { svc, state } => {
                write!(f, "set_workload_state({}, {state:?})", s(svc))
            }
            Op::GetWorkloadState { svc } => write!(f, "get_workload_state({})", s(svc)),
            Op::GetWorkloadStates => write!(f, "get_workload_states({SVCS:?} + {IDLE_SVC})"),
            Op::SetPodLoad {
                svc,
                pod,
                load,
                state,
            } => write!(f, "set_pod_load({}, {pod}, {load}, {state})", s(svc)),
            Op::GetPodLoads { svc } => write!(f, "get_pod_loads({}, None)", s(svc)),
            Op::SetLinkedPod {
                uid,
                svc,
                pod,
                persist,
            } => write!(
                f,
                "set_linked_pod({}, {}, {pod}, {})",
                u(uid),
                s(svc),
                persist_text(*persist)
            ),
            Op::TrySetLinkedPod {
                uid,
                svc,
                pod,
                persist,
            } => write!(
                f,
                "try_set_linked_pod({}, {}, {pod}, {})",
                u(uid),
                s(svc),
                persist_text(*persist)
            ),
            Op::SetLinkedPodIfAbsent {
                uid,
                svc,
                pod,
                persist,
            } => write!(
                f,
                "set_linked_pod_if_absent({}, {}, {pod}, {})",
                u(uid),
                s(svc),
                persist_text(*persist)
            ),
            Op::GetLinkedPod { uid, svc } => write!(f, "get_linked_pod({}, {})", u(uid), s(svc)),
            Op::GetLinkedPodIfPersist { uid, svc } => {
                write!(f, "get_linked_pod_if_persist({}, {})", u(uid), s(svc))
            }
            Op::BatchGetLinkedPod { svc, uids } => {
                let names: Vec<&str> = uids.iter().map(u).collect();
                write!(f, "batch_get_linked_pod({names:?}, {})", s(svc))
            }
            Op::RemoveLinkedPod { uid, svc, keep } => {
                write!(f, "remove_linked_pod({}, {}, keep={keep})", u(uid), s(svc))
            }
            Op::RemoveLinkedPodWithId {
                uid,
                svc,
                keep,
                pod,
            } => write!(
                f,
                "remove_linked_pod_with_id({}, {}, keep={keep}, pod={pod})",
                u(uid),
                s(svc)
            ),
            Op::GetLinkService { uid } => write!(f, "get_link_service({})", u(uid)),
            Op::ComputeLinkedPod { uid, svc, persist } => write!(
                f,
                "compute_linked_pod({}, {}, persist={})",
                u(uid),
                s(svc),
                persist_text(*persist)
            ),
            Op::FinalLinks { uid } => write!(f, "<keyspace after the run>({})", u(uid)),
        }
    }
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let client = if self.client == SETUP {
            "setup".to_string()
        } else {
            format!("client {:2}", self.client)
        };
        let secs = |us: u64| us as f64 / 1e6;
        write!(
            f,
            "[{client}] {:.6}-{:.6} s  {}  -> ",
            secs(self.start),
            secs(self.end),
            self.op
        )?;
        match &self.out {
            Ok(out) => write!(f, "{out:?}"),
            Err(e) => write!(f, "FAILED ({e})"),
        }
    }
}

// ---- the run ---------------------------------------------------------------------

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// A random call of the default mix; link operations weigh most.
fn random_op(rng: &mut StdRng, client: usize, seq: u64) -> Op {
    let uid = rng.random_range(0..UIDS.len());
    let svc = rng.random_range(0..SVCS.len());
    let pod = pick(rng, &LINK_PODS);
    let persist = pick(rng, &[-1, TTL]);
    let keep = pick(rng, &[-1, TTL]);
    // Unique values make every read point at the one write it saw.
    let unique = format!("c{client}n{seq}");
    const WEIGHTS: [u32; 17] = [1, 1, 1, 1, 1, 2, 1, 3, 3, 3, 2, 2, 1, 3, 2, 2, 4];
    let mut k = rng.random_range(0..WEIGHTS.iter().sum::<u32>());
    let mut which = 0;
    while k >= WEIGHTS[which] {
        k -= WEIGHTS[which];
        which += 1;
    }
    match which {
        0 => Op::SetServiceState {
            svc,
            pod: pick(rng, &STATE_PODS),
            state: unique,
        },
        1 => Op::GetServiceState { svc },
        2 => Op::SetWorkloadState { svc, state: unique },
        3 => Op::GetWorkloadState { svc },
        4 => Op::GetWorkloadStates,
        5 => Op::SetPodLoad {
            svc: GAME,
            pod: pick(rng, &LOAD_PODS),
            load: rng.random_range(0..100),
            state: rng.random_range(0..3),
        },
        6 => Op::GetPodLoads { svc },
        7 => Op::SetLinkedPod {
            uid,
            svc,
            pod,
            persist,
        },
        8 => Op::TrySetLinkedPod {
            uid,
            svc,
            pod,
            persist,
        },
        9 => Op::SetLinkedPodIfAbsent {
            uid,
            svc,
            pod,
            persist,
        },
        10 => Op::GetLinkedPod { uid, svc },
        11 => Op::GetLinkedPodIfPersist { uid, svc },
        12 => {
            let mut uids: Vec<usize> = (0..UIDS.len()).collect();
            uids.shuffle(rng);
            uids.truncate(rng.random_range(1..=UIDS.len()));
            Op::BatchGetLinkedPod { svc, uids }
        }
        13 => Op::RemoveLinkedPod { uid, svc, keep },
        14 => Op::RemoveLinkedPodWithId {
            uid,
            svc,
            keep,
            pod,
        },
        15 => Op::GetLinkService { uid },
        _ => Op::ComputeLinkedPod { uid, svc, persist },
    }
}

/// The mix of the compute/remove race: on the service without load records, a
/// link to pod 9, compute with a TTL (which refreshes the link) and removal.
fn race_op(rng: &mut StdRng) -> Op {
    let uid = rng.random_range(0..2);
    match rng.random_range(0..4) {
        0 => Op::SetLinkedPod {
            uid,
            svc: CHAT,
            pod: 9,
            persist: TTL,
        },
        1 => Op::ComputeLinkedPod {
            uid,
            svc: CHAT,
            persist: TTL,
        },
        2 => Op::RemoveLinkedPod {
            uid,
            svc: CHAT,
            keep: -1,
        },
        _ => Op::GetLinkedPod { uid, svc: CHAT },
    }
}

async fn perform(e: &Executor, ns: &str, op: &Op) -> Result<Out, stateful_redis::Error> {
    let (u, s) = (|i: &usize| UIDS[*i], |i: &usize| SVCS[*i]);
    Ok(match op {
        Op::SetServiceState { svc, pod, state } => {
            e.set_service_state(ns, s(svc), *pod, state).await?;
            Out::Unit
        }
        Op::GetServiceState { svc } => Out::States(e.get_service_state(ns, s(svc)).await?),
        Op::SetWorkloadState { svc, state } => {
            e.set_workload_state(ns, s(svc), state).await?;
            Out::Unit
        }
        Op::GetWorkloadState { svc } => Out::Workload(e.get_workload_state(ns, s(svc)).await?),
        Op::GetWorkloadStates => Out::Workloads(
            e.get_workload_states(ns, &[SVCS[0], SVCS[1], IDLE_SVC])
                .await?,
        ),
        Op::SetPodLoad {
            svc,
            pod,
            load,
            state,
        } => Out::Stamp(e.set_pod_load(ns, s(svc), *pod, *load, *state).await?),
        Op::GetPodLoads { svc } => Out::Loads(e.get_pod_loads(ns, s(svc), None).await?),
        Op::SetLinkedPod {
            uid,
            svc,
            pod,
            persist,
        } => Out::Pod(e.set_linked_pod(ns, u(uid), s(svc), *pod, *persist).await?),
        Op::TrySetLinkedPod {
            uid,
            svc,
            pod,
            persist,
        } => {
            let o = e
                .try_set_linked_pod(ns, u(uid), s(svc), *pod, *persist)
                .await?;
            Out::TrySet {
                ok: o.ok,
                pod: o.pod,
            }
        }
        Op::SetLinkedPodIfAbsent {
            uid,
            svc,
            pod,
            persist,
        } => Out::Linked(
            e.set_linked_pod_if_absent(ns, u(uid), s(svc), *pod, *persist)
                .await?,
        ),
        Op::GetLinkedPod { uid, svc } => Out::Pod(e.get_linked_pod(ns, u(uid), s(svc)).await?),
        Op::GetLinkedPodIfPersist { uid, svc } => {
            Out::Pod(e.get_linked_pod_if_persist(ns, u(uid), s(svc)).await?)
        }
        Op::BatchGetLinkedPod { svc, uids } => {
            let names: Vec<&str> = uids.iter().map(u).collect();
            Out::Batch(e.batch_get_linked_pod(ns, &names, s(svc)).await?)
        }
        Op::RemoveLinkedPod { uid, svc, keep } => {
            Out::Removed(e.remove_linked_pod(ns, u(uid), s(svc), *keep).await?)
        }
        Op::RemoveLinkedPodWithId {
            uid,
            svc,
            keep,
            pod,
        } => Out::Removed(
            e.remove_linked_pod_with_id(ns, u(uid), s(svc), *keep, *pod)
                .await?,
        ),
        Op::GetLinkService { uid } => Out::Services(e.get_link_service(ns, u(uid)).await?),
        Op::ComputeLinkedPod { uid, svc, persist } => Out::Pod(
            e.compute_linked_pod(ns, u(uid), s(svc), *persist, POLICY)
                .await?,
        ),
        Op::FinalLinks { .. } => unreachable!("not a library call"),
    })
}

/// Runs `op` and records it.
async fn record(e: &Executor, ns: &str, client: usize, t0: Instant, op: Op) -> Call {
    let start = t0.elapsed().as_micros() as u64;
    let out = perform(e, ns, &op).await.map_err(|e| e.to_string());
    let end = t0.elapsed().as_micros() as u64;
    Call {
        client,
        start,
        end,
        op,
        out,
    }
}

/// The raw keyspace of every uid after the run: the link values with their
/// persistence, as the last call of each uid, and the index checked against them.
async fn read_final_links<C: redis::aio::ConnectionLike + Send>(
    raw: &mut C,
    ns: &str,
    t0: Instant,
) -> (Vec<Call>, Vec<String>) {
    let schema = KeySchema::Default;
    let mut calls = Vec::new();
    let mut violations = Vec::new();
    for (uid, name) in UIDS.iter().enumerate() {
        let start = t0.elapsed().as_micros() as u64;
        let mut links = [Link::Absent; 2];
        let mut details = Vec::new();
        for (svc, svc_name) in SVCS.iter().enumerate() {
            let key = schema.link_key(ns, name, svc_name);
            let value: Option<String> = redis::cmd("GET").arg(&key).query_async(raw).await.unwrap();
            let pttl: i64 = redis::cmd("PTTL").arg(&key).query_async(raw).await.unwrap();
            details.push(format!("{key} = {value:?} (pttl {pttl})"));
            links[svc] = match value {
                None => Link::Absent,
                Some(v) => {
                    let pod: i64 = v.parse().unwrap_or_else(|_| panic!("{key} holds {v:?}"));
                    if pttl == -1 {
                        Link::Persist(pod)
                    } else {
                        Link::Temp(pod)
                    }
                }
            };
        }
        let index_key = schema.index_key(ns, name);
        let index: BTreeMap<String, String> = redis::cmd("HGETALL")
            .arg(&index_key)
            .query_async(raw)
            .await
            .unwrap();
        // Check (1): the index holds exactly the persistent links, same pods.
        let expected: BTreeMap<String, String> = links
            .iter()
            .enumerate()
            .filter_map(|(svc, l)| match l {
                Link::Persist(p) => Some((SVCS[svc].to_string(), p.to_string())),
                _ => None,
            })
            .collect();
        if index != expected {
            violations.push(format!(
                "final keyspace of uid {name}: the index {index_key} holds {index:?}, \
                 but the persistent links are {expected:?}; links: {}",
                details.join(", ")
            ));
        }
        let end = t0.elapsed().as_micros() as u64;
        calls.push(Call {
            client: SETUP,
            start,
            end,
            op: Op::FinalLinks { uid },
            out: Ok(Out::Final(links)),
        });
    }
    (calls, violations)
}

struct Report {
    calls: usize,
    failed: usize,
    violations: Vec<String>,
}

/// Longest round: each round is checked on its own (a new namespace, so an
/// empty keyspace), which bounds the memory of a long run.
const ROUND_SECS: u64 = 30;

/// Runs the clients for `STATEFUL_REDIS_HISTORY_SECS` and checks what they did.
async fn run_history<C: redis::aio::ConnectionLike + Send>(
    topology: &str,
    exec: Executor,
    raw: &mut C,
) -> Report {
    let secs = env_u64("STATEFUL_REDIS_HISTORY_SECS", 10);
    let seed = env_u64("STATEFUL_REDIS_HISTORY_SEED", rand::random::<u32>() as u64);
    let race_mix = match std::env::var("STATEFUL_REDIS_HISTORY_MIX").as_deref() {
        Ok("compute-remove") => true,
        Ok("default") | Err(_) => false,
        Ok(other) => panic!("STATEFUL_REDIS_HISTORY_MIX: unknown mix {other:?}"),
    };
    println!(
        "history {topology}: {CLIENTS} clients for {secs} s, seed {seed}{}",
        if race_mix { ", compute-remove mix" } else { "" }
    );
    let mut report = Report {
        calls: 0,
        failed: 0,
        violations: Vec::new(),
    };
    let mut round = 0;
    let mut left = secs;
    while left > 0 {
        let round_secs = left.min(ROUND_SECS);
        left -= round_secs;
        let ns = format!("hist:r{round}:logic");
        let round_seed = seed.wrapping_add(round);
        let (history, mut violations) =
            run_round(&exec, raw, &ns, round_secs, round_seed, race_mix).await;
        let started = Instant::now();
        violations.extend(check(&history));
        let failed = history.iter().filter(|c| c.out.is_err()).count();
        println!(
            "history {topology} round {round} (namespace {ns}, seed {round_seed}, {round_secs} s): \
             {} operations ({failed} failed), {} violations; checked in {:.1} s",
            history.len(),
            violations.len(),
            started.elapsed().as_secs_f64()
        );
        report.calls += history.len();
        report.failed += failed;
        report.violations.extend(violations);
        round += 1;
    }
    println!(
        "history {topology}: {} operations ({} failed), {} violations",
        report.calls,
        report.failed,
        report.violations.len(),
    );
    for v in report.violations.iter().take(20) {
        println!("{v}\n");
    }
    // Every violation, for a long run that finds many.
    if let Ok(path) = std::env::var("STATEFUL_REDIS_HISTORY_REPORT") {
        let path = format!("{path}.{topology}.txt");
        std::fs::write(&path, report.violations.join("\n\n") + "\n").unwrap();
        println!("history {topology}: every violation written to {path}");
    }
    report
}

/// One round: set-up, the clients for `secs` seconds, the final reads. Returns
/// the history and the violations of the final index check.
async fn run_round<C: redis::aio::ConnectionLike + Send>(
    exec: &Executor,
    raw: &mut C,
    ns: &str,
    secs: u64,
    seed: u64,
    race_mix: bool,
) -> (Vec<Call>, Vec<String>) {
    let t0 = Instant::now();
    let mut history = Vec::new();
    for pod in SETUP_LOAD_PODS {
        let op = Op::SetPodLoad {
            svc: GAME,
            pod,
            load: 50 + pod,
            state: 0,
        };
        let call = record(exec, ns, SETUP, t0, op).await;
        assert!(call.out.is_ok(), "set-up failed: {call}");
        history.push(call);
    }

    let deadline = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let e = exec.clone();
            let ns = ns.to_string();
            tokio::spawn(async move {
                let mut rng =
                    StdRng::seed_from_u64(seed.wrapping_mul(1000).wrapping_add(client as u64));
                let mut calls = Vec::new();
                let mut seq = 0;
                while Instant::now() < deadline {
                    let op = if race_mix {
                        race_op(&mut rng)
                    } else {
                        random_op(&mut rng, client, seq)
                    };
                    seq += 1;
                    calls.push(record(&e, &ns, client, t0, op).await);
                }
                calls
            })
        })
        .collect();
    for t in tasks {
        history.extend(t.await.unwrap());
    }

    // The final state of the hashes and workloads, read through the library
    // after every client stopped; the links raw, with their TTLs.
    for svc in 0..SVCS.len() {
        for op in [Op::GetServiceState { svc }, Op::GetWorkloadState { svc }] {
            history.push(record(exec, ns, SETUP, t0, op).await);
        }
    }
    let (finals, violations) = read_final_links(raw, ns, t0).await;
    history.extend(finals);
    (history, violations)
}

fn assert_clean(report: &Report) {
    assert!(
        report.violations.is_empty(),
        "{} violations in {} operations; the first:\n{}",
        report.violations.len(),
        report.calls,
        report.violations[..report.violations.len().min(3)].join("\n\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_standalone() {
    let server = LocalRedis::start().expect("a private redis-server");
    let config = Config::builder()
        .url(server.url())
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let exec = Executor::connect(config).await.unwrap();
    let mut raw = common::raw_connection(&server).await;
    let report = run_history("standalone", exec, &mut raw).await;
    assert_clean(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_cluster() {
    let cluster = LocalCluster::start(3).expect("a local cluster");
    let config = Config::builder()
        .cluster_nodes(cluster.urls())
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let exec = Executor::connect(config).await.unwrap();
    let mut raw = redis::cluster::ClusterClient::new(cluster.urls())
        .unwrap()
        .get_async_connection()
        .await
        .unwrap();
    let report = run_history("cluster", exec, &mut raw).await;
    assert_clean(&report);
}

// ---- the model -------------------------------------------------------------------

/// A link of one uid for one service, as the model sees it. `Unknown` is used
/// only to resynchronise after a violation (anything is allowed until a call
/// tells again what the link is).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Link {
    Absent,
    Temp(i64),
    Persist(i64),
    Unknown,
}

impl Link {
    fn set(pod: i64, persist: i64) -> Link {
        if persist == -1 {
            Link::Persist(pod)
        } else {
            Link::Temp(pod)
        }
    }

    /// Whether a read of the pod (persistent or temporary) may return `seen`.
    fn reads_as(self, seen: Option<i64>) -> bool {
        match (self, seen) {
            (Link::Unknown, _) => true,
            (Link::Absent, None) => true,
            (Link::Temp(p) | Link::Persist(p), Some(q)) => p == q,
            _ => false,
        }
    }
}

/// A string value (workload state or pod-state field) as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Val {
    Absent,
    Is(String),
    /// A load record whose write failed: its stamp is unknown.
    LoadAnyStamp {
        load: i64,
        state: i64,
    },
    Unknown,
}

impl Val {
    fn reads_as(&self, seen: Option<&str>) -> bool {
        match (self, seen) {
            (Val::Unknown, _) | (Val::Absent, None) => true,
            (Val::Is(v), Some(s)) => v == s,
            (Val::LoadAnyStamp { load, state }, Some(s)) => {
                PodLoad::parse(s).is_some_and(|r| r.load == *load && r.state == *state)
            }
            _ => false,
        }
    }

    /// What `get_pod_loads` may return for this field.
    fn reads_as_load(&self, seen: Option<&PodLoad>) -> bool {
        match (self, seen) {
            (Val::Unknown, _) => true,
            (Val::Is(v), seen) => PodLoad::parse(v).as_ref() == seen,
            (Val::LoadAnyStamp { load, state }, Some(r)) => r.load == *load && r.state == *state,
            (Val::Absent, None) => true,
            _ => false,
        }
    }
}

/// The pod-state hash of a service: its only fields are these pods.
const HASH_FIELDS: [i64; 8] = [0, 1, 2, 3, 4, 10, 11, 12];
type HashState = [Val; 8];

fn field(pod: i64) -> usize {
    HASH_FIELDS
        .iter()
        .position(|&p| p == pod)
        .expect("a field of the model")
}

/// What a call of the links of one uid may leave, from `s`; empty: the result
/// is impossible from `s`. `out` is `None` when the call failed (its effect, if
/// any, is unknown). `part` is the uid for a batch read.
fn link_step(s: &[Link; 2], call: &Call, part: usize, compute: &ComputeRules) -> Vec<[Link; 2]> {
    let out = call.out.as_ref().ok();
    let with = |svc: usize, l: Link| {
        let mut n = *s;
        n[svc] = l;
        n
    };
    let same = || vec![*s];
    let none = Vec::new;
    match &call.op {
        Op::SetLinkedPod {
            svc, pod, persist, ..
        } => match out {
            Some(Out::Pod(prev)) if !s[*svc].reads_as(*prev) => none(),
            _ => vec![with(*svc, Link::set(*pod, *persist))],
        },
        Op::TrySetLinkedPod {
            svc, pod, persist, ..
        } => {
            let cur = s[*svc];
            // Refused only by a persistent link to another pod.
            let may_refuse = |q: i64| {
                (q != *pod && matches!(cur, Link::Persist(c) if c == q)) || cur == Link::Unknown
            };
            let may_set = !matches!(cur, Link::Persist(c) if c != *pod);
            match out {
                Some(Out::TrySet { ok: true, pod: p }) if *p == *pod && may_set => {
                    vec![with(*svc, Link::set(*pod, *persist))]
                }
                Some(Out::TrySet { ok: false, pod: q }) if *q != *pod && may_refuse(*q) => {
                    vec![with(*svc, Link::Persist(*q))]
                }
                None if may_set => vec![with(*svc, Link::set(*pod, *persist))],
                _ => none(),
            }
        }
        Op::SetLinkedPodIfAbsent {
            svc, pod, persist, ..
        } => match out {
            Some(out) => if_absent(s, *svc, out, |p| p == *pod, *persist),
            // Failed: it may have linked its pod if there was no link.
            None if matches!(s[*svc], Link::Absent | Link::Unknown) => {
                vec![with(*svc, Link::set(*pod, *persist))]
            }
            None => same(),
        },
        Op::ComputeLinkedPod { svc, persist, .. } => {
            let allowed = compute.allowed(call);
            match out {
                Some(Out::Pod(None)) => {
                    let ok =
                        compute.none_ok(*svc) && matches!(s[*svc], Link::Absent | Link::Unknown);
                    if ok {
                        vec![with(*svc, Link::Absent)]
                    } else {
                        none()
                    }
                }
                Some(Out::Pod(Some(p))) => if_absent(
                    s,
                    *svc,
                    &Out::Linked(*p),
                    |q| allowed.contains(&q),
                    *persist,
                ),
                _ => {
                    // Failed: it linked one of the allowed pods, if any.
                    let mut next = vec![];
                    if matches!(s[*svc], Link::Absent | Link::Unknown) {
                        for &p in &allowed {
                            next.push(with(*svc, Link::set(p, *persist)));
                        }
                    }
                    next
                }
            }
        }
        Op::GetLinkedPod { svc, .. } => match out {
            Some(Out::Pod(seen)) => read_link(s, *svc, *seen),
            _ => same(),
        },
        Op::BatchGetLinkedPod { svc, .. } => match out {
            Some(Out::Batch(by_pod)) => {
                let seen = by_pod
                    .iter()
                    .find(|(_, uids)| uids.iter().any(|u| u == UIDS[part]))
                    .map(|(p, _)| *p);
                read_link(s, *svc, seen)
            }
            _ => same(),
        },
        Op::GetLinkedPodIfPersist { svc, .. } => match (out, s[*svc]) {
            (Some(Out::Pod(Some(p))), Link::Unknown) => vec![with(*svc, Link::Persist(*p))],
            (Some(Out::Pod(Some(p))), Link::Persist(q)) if *p == q => same(),
            (Some(Out::Pod(None)), Link::Absent | Link::Temp(_) | Link::Unknown) => same(),
            (Some(_), _) => none(),
            (None, _) => same(),
        },
        Op::RemoveLinkedPod { svc, keep, .. } => remove(s, *svc, *keep, None, out),
        Op::RemoveLinkedPodWithId { svc, keep, pod, .. } => remove(s, *svc, *keep, Some(*pod), out),
        Op::GetLinkService { .. } => match out {
            Some(Out::Services(map)) => {
                if map.keys().any(|k| !SVCS.contains(&k.as_str())) {
                    return none();
                }
                let mut n = *s;
                for (svc, name) in SVCS.iter().enumerate() {
                    let seen = map.get(*name).copied();
                    n[svc] = match (s[svc], seen) {
                        (Link::Unknown, Some(p)) => Link::Persist(p),
                        (Link::Unknown, None) => Link::Unknown,
                        (Link::Persist(p), Some(q)) if p == q => s[svc],
                        (Link::Absent | Link::Temp(_), None) => s[svc],
                        _ => return none(),
                    };
                }
                vec![n]
            }
            _ => same(),
        },
        Op::FinalLinks { .. } => match out {
            Some(Out::Final(seen)) => {
                let ok = (0..2).all(|i| s[i] == Link::Unknown || s[i] == seen[i]);
                if ok {
                    vec![*seen]
                } else {
                    none()
                }
            }
            _ => same(),
        },
        other => unreachable!("not a link call: {other}"),
    }
}

/// `set_linked_pod_if_absent` (and compute's link step) that returned `out`:
/// an existing link is kept and returned; otherwise a pod that `may_link`
/// allows is set.
fn if_absent(
    s: &[Link; 2],
    svc: usize,
    out: &Out,
    may_link: impl Fn(i64) -> bool,
    persist: i64,
) -> Vec<[Link; 2]> {
    let with = |l: Link| {
        let mut n = *s;
        n[svc] = l;
        n
    };
    let Out::Linked(p) = *out else {
        return vec![];
    };
    match s[svc] {
        Link::Temp(q) | Link::Persist(q) if p == q => vec![*s],
        Link::Absent if may_link(p) => vec![with(Link::set(p, persist))],
        Link::Unknown => {
            let mut next = vec![with(Link::Temp(p)), with(Link::Persist(p))];
            if may_link(p) {
                next.push(with(Link::set(p, persist)));
            }
            next
        }
        _ => vec![],
    }
}

fn read_link(s: &[Link; 2], svc: usize, seen: Option<i64>) -> Vec<[Link; 2]> {
    let with = |l: Link| {
        let mut n = *s;
        n[svc] = l;
        n
    };
    match (s[svc], seen) {
        (Link::Unknown, None) => vec![with(Link::Absent)],
        (Link::Unknown, Some(p)) => vec![with(Link::Temp(p)), with(Link::Persist(p))],
        (l, seen) if l.reads_as(seen) => vec![*s],
        _ => vec![],
    }
}

/// `remove_linked_pod` (`expected` None) and `remove_linked_pod_with_id`.
fn remove(
    s: &[Link; 2],
    svc: usize,
    keep: i64,
    expected: Option<i64>,
    out: Option<&Out>,
) -> Vec<[Link; 2]> {
    let with = |l: Link| {
        let mut n = *s;
        n[svc] = l;
        n
    };
    let cur = s[svc];
    // keep > 0: the link stays, as a temporary one, out of the index.
    let removed = |pod: Option<i64>| match (keep, pod) {
        (-1, _) => Link::Absent,
        (_, Some(p)) => Link::Temp(p),
        (_, None) => Link::Unknown,
    };
    let matches = |p: i64| expected.is_none_or(|e| e == p);
    match (out, cur) {
        (Some(Out::Removed(true)) | None, Link::Temp(p) | Link::Persist(p)) if matches(p) => {
            vec![with(removed(Some(p)))]
        }
        (Some(Out::Removed(true)), Link::Unknown) => vec![with(removed(expected))],
        (Some(Out::Removed(false)), Link::Absent) => vec![*s],
        (Some(Out::Removed(false)), Link::Temp(p) | Link::Persist(p)) if !matches(p) => vec![*s],
        (Some(Out::Removed(false)), Link::Unknown) => match expected {
            None => vec![with(Link::Absent)],
            Some(_) => vec![*s],
        },
        (None, _) => vec![*s],
        _ => vec![],
    }
}

fn hash_step(s: &HashState, call: &Call) -> Vec<HashState> {
    let out = call.out.as_ref().ok();
    let with = |pod: i64, v: Val| {
        let mut n = s.clone();
        n[field(pod)] = v;
        vec![n]
    };
    match (&call.op, out) {
        (Op::SetServiceState { pod, state, .. }, _) => with(*pod, Val::Is(state.clone())),
        (
            Op::SetPodLoad {
                pod, load, state, ..
            },
            Some(Out::Stamp(ms)),
        ) => with(*pod, Val::Is(format!("{load}-{ms}-{state}"))),
        (
            Op::SetPodLoad {
                pod, load, state, ..
            },
            _,
        ) => with(
            *pod,
            Val::LoadAnyStamp {
                load: *load,
                state: *state,
            },
        ),
        (Op::GetServiceState { .. }, Some(Out::States(map))) => {
            if map.keys().any(|p| !HASH_FIELDS.contains(p)) {
                return vec![];
            }
            let mut n = s.clone();
            for (i, pod) in HASH_FIELDS.iter().enumerate() {
                let seen = map.get(pod).map(String::as_str);
                if !s[i].reads_as(seen) {
                    return vec![];
                }
                // A full view: it tells an unknown field again.
                if s[i] == Val::Unknown {
                    n[i] = seen.map_or(Val::Absent, |v| Val::Is(v.to_string()));
                }
            }
            vec![n]
        }
        (Op::GetPodLoads { .. }, Some(Out::Loads(map))) => {
            let ok = map.keys().all(|p| HASH_FIELDS.contains(p))
                && HASH_FIELDS
                    .iter()
                    .enumerate()
                    .all(|(i, pod)| s[i].reads_as_load(map.get(pod)));
            if ok {
                vec![s.clone()]
            } else {
                vec![]
            }
        }
        (_, None) => vec![s.clone()],
        (op, _) => unreachable!("not a pod-state call: {op}"),
    }
}

fn workload_step(s: &Val, call: &Call, part: usize) -> Vec<Val> {
    let out = call.out.as_ref().ok();
    let seen = match (&call.op, out) {
        (Op::SetWorkloadState { state, .. }, _) => return vec![Val::Is(state.clone())],
        (_, None) => return vec![s.clone()],
        (Op::GetWorkloadState { .. }, Some(Out::Workload(seen))) => seen.clone(),
        (Op::GetWorkloadStates, Some(Out::Workloads(map))) => map.get(SVCS[part]).cloned(),
        (op, _) => unreachable!("not a workload call: {op}"),
    };
    if !s.reads_as(seen.as_deref()) {
        return vec![];
    }
    vec![seen.map_or(Val::Absent, Val::Is)]
}

/// Which pods compute may link when the uid has no link: pods of the service
/// with a load record written by a call that started before compute ended.
struct ComputeRules {
    /// The earliest start of a `set_pod_load` of `game`, per pod.
    first_load: BTreeMap<i64, u64>,
}

impl ComputeRules {
    fn new(history: &[Call]) -> ComputeRules {
        let mut first_load = BTreeMap::new();
        for c in history {
            if let Op::SetPodLoad { svc: GAME, pod, .. } = c.op {
                let t = first_load.entry(pod).or_insert(c.start);
                *t = (*t).min(c.start);
            }
        }
        ComputeRules { first_load }
    }

    fn allowed(&self, call: &Call) -> BTreeSet<i64> {
        match call.op {
            Op::ComputeLinkedPod { svc: GAME, .. } => self
                .first_load
                .iter()
                .filter(|(_, start)| **start < call.end)
                .map(|(pod, _)| *pod)
                .collect(),
            _ => BTreeSet::new(),
        }
    }

    /// `game` has load records from the set-up on, so compute always finds a
    /// pod there; `chat` never has any.
    fn none_ok(&self, svc: usize) -> bool {
        svc == CHAT
    }
}

// ---- the linearizability check ----------------------------------------------------

/// One call as seen by one part of the keyspace.
#[derive(Clone, Copy, Debug)]
struct Entry {
    call: usize,
    /// The uid or service of a multi-key read.
    part: usize,
    start: u64,
    /// `u64::MAX`: a failed write, which may take effect at any later time.
    end: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Links(usize),
    Hash(usize),
    Workload(usize),
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Group::Links(u) => write!(f, "the links and index of uid {}", UIDS[*u]),
            Group::Hash(s) => write!(f, "the pod-state hash of service {}", SVCS[*s]),
            Group::Workload(s) => write!(f, "the workload state of service {}", SVCS[*s]),
        }
    }
}

impl Group {
    /// How to read a model state of the group.
    fn legend(&self) -> &'static str {
        match self {
            Group::Links(_) => "[link of game, link of chat]",
            Group::Hash(_) => "[fields 0, 1, 2, 3, 4, 10, 11, 12]",
            Group::Workload(_) => "",
        }
    }
}

/// The parts of the keyspace a call touches (a failed read touches none).
fn groups(call: &Call) -> Vec<(Group, usize)> {
    if call.out.is_err() && !call.op.is_write() {
        return vec![];
    }
    match &call.op {
        Op::SetServiceState { svc, .. }
        | Op::GetServiceState { svc }
        | Op::SetPodLoad { svc, .. }
        | Op::GetPodLoads { svc } => vec![(Group::Hash(*svc), 0)],
        Op::SetWorkloadState { svc, .. } | Op::GetWorkloadState { svc } => {
            vec![(Group::Workload(*svc), *svc)]
        }
        Op::GetWorkloadStates => (0..SVCS.len()).map(|s| (Group::Workload(s), s)).collect(),
        Op::BatchGetLinkedPod { uids, .. } => uids.iter().map(|u| (Group::Links(*u), *u)).collect(),
        Op::SetLinkedPod { uid, .. }
        | Op::TrySetLinkedPod { uid, .. }
        | Op::SetLinkedPodIfAbsent { uid, .. }
        | Op::GetLinkedPod { uid, .. }
        | Op::GetLinkedPodIfPersist { uid, .. }
        | Op::RemoveLinkedPod { uid, .. }
        | Op::RemoveLinkedPodWithId { uid, .. }
        | Op::GetLinkService { uid }
        | Op::ComputeLinkedPod { uid, .. }
        | Op::FinalLinks { uid } => vec![(Group::Links(*uid), *uid)],
    }
}

/// Checks that do not depend on order: the shape of a result.
fn shape_violation(call: &Call) -> Option<String> {
    match (&call.op, call.out.as_ref().ok()?) {
        (Op::BatchGetLinkedPod { uids, .. }, Out::Batch(by_pod)) => {
            let asked: Vec<&str> = uids.iter().map(|u| UIDS[*u]).collect();
            let mut seen = BTreeSet::new();
            for list in by_pod.values() {
                let positions: Vec<Option<usize>> = list
                    .iter()
                    .map(|u| asked.iter().position(|a| a == u))
                    .collect();
                let in_order = positions.windows(2).all(|w| w[0] < w[1]);
                if positions.contains(&None) || !in_order || !list.iter().all(|u| seen.insert(u)) {
                    return Some("a uid not asked for, twice, or out of input order".into());
                }
            }
            None
        }
        (Op::GetWorkloadStates, Out::Workloads(map)) if map.contains_key(IDLE_SVC) => {
            Some(format!("{IDLE_SVC} never had a workload state"))
        }
        _ => None,
    }
}

/// Every violation of the model in `history`, each with the calls a developer
/// needs to see.
fn check(history: &[Call]) -> Vec<String> {
    let mut violations: Vec<String> = history
        .iter()
        .filter_map(|c| {
            shape_violation(c).map(|why| format!("VIOLATION: impossible result ({why}):\n  {c}"))
        })
        .collect();
    let mut by_group: BTreeMap<Group, Vec<Entry>> = BTreeMap::new();
    for (i, call) in history.iter().enumerate() {
        for (group, part) in groups(call) {
            let end = if call.out.is_err() {
                u64::MAX
            } else {
                call.end
            };
            by_group.entry(group).or_default().push(Entry {
                call: i,
                part,
                start: call.start,
                end,
            });
        }
    }
    let compute = ComputeRules::new(history);
    for (group, entries) in by_group {
        let found = match group {
            Group::Links(_) => linearize(
                group,
                history,
                entries,
                [Link::Absent; 2],
                |s, e| link_step(s, &history[e.call], e.part, &compute),
                |_| [Link::Unknown; 2],
            ),
            Group::Hash(_) => linearize(
                group,
                history,
                entries,
                std::array::from_fn(|_| Val::Absent),
                |s, e| hash_step(s, &history[e.call]),
                |_| std::array::from_fn(|_| Val::Unknown),
            ),
            Group::Workload(_) => linearize(
                group,
                history,
                entries,
                Val::Absent,
                |s, e| workload_step(s, &history[e.call], e.part),
                |_| Val::Unknown,
            ),
        };
        violations.extend(found);
    }
    violations
}

/// Whether a call, with its result, leaves every state it fits as it is (a
/// read, a refused or no-op write), so that placing it early never forbids
/// an order that placing it later allows.
fn read_only(call: &Call) -> bool {
    match (&call.op, &call.out) {
        (_, Err(_)) => false,
        (Op::RemoveLinkedPod { .. } | Op::RemoveLinkedPodWithId { .. }, Ok(out)) => {
            matches!(out, Out::Removed(false))
        }
        (Op::TrySetLinkedPod { .. }, Ok(out)) => matches!(out, Out::TrySet { ok: false, .. }),
        (Op::ComputeLinkedPod { .. }, Ok(out)) => matches!(out, Out::Pod(None)),
        (op, _) => !op.is_write(),
    }
}

/// Most configurations kept at once; past it the group is reported unchecked.
const MAX_CONFIGS: usize = 200_000;

/// Linearizability of one group's entries (the algorithm of Knossos' "linear"
/// checker): events in time order; a configuration is a model state plus the
/// calls already started but not yet placed in the order. When a call returns,
/// every configuration is extended by placing pending calls, in every order,
/// until the returning call is placed. No configuration left: no order explains
/// the history; the model then forgets the group's state (`havoc`) and goes on,
/// so one fault is reported once rather than at every later read.
fn linearize<S: Clone + Eq + Hash + std::fmt::Debug>(
    group: Group,
    history: &[Call],
    mut entries: Vec<Entry>,
    init: S,
    step: impl Fn(&S, &Entry) -> Vec<S>,
    havoc: impl Fn(&S) -> S,
) -> Vec<String> {
    entries.sort_by_key(|e| (e.start, e.call));
    // (time, 0 = call / 1 = return, entry): at equal times calls come first, so
    // calls that touch in time count as concurrent.
    let mut events: Vec<(u64, u8, usize)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        events.push((e.start, 0, i));
        if e.end != u64::MAX {
            events.push((e.end, 1, i));
        }
    }
    events.sort();
    type Config<S> = (S, Vec<usize>);
    // A read-only call (see `read_only`) that fits the state is placed at once:
    // a configuration with it placed allows all that the same one with it
    // pending allows. This keeps the configurations few when many calls overlap.
    let leaves =
        |s: &S, p: usize| read_only(&history[entries[p].call]) && step(s, &entries[p]).contains(s);
    let mut configs: HashSet<Config<S>> = HashSet::from([(init, Vec::new())]);
    let mut violations = Vec::new();
    for (_, kind, x) in events {
        if kind == 0 {
            configs = configs
                .into_iter()
                .map(|(s, mut pending)| {
                    if !leaves(&s, x) {
                        pending.push(x);
                    }
                    (s, pending)
                })
                .collect();
            continue;
        }
        let mut next: HashSet<Config<S>> = HashSet::new();
        let mut seen: HashSet<Config<S>> = HashSet::new();
        let mut stack: Vec<Config<S>> = Vec::new();
        for c in &configs {
            if !c.1.contains(&x) {
                next.insert(c.clone());
            } else if seen.insert(c.clone()) {
                stack.push(c.clone());
            }
        }
        while let Some((s, pending)) = stack.pop() {
            for (k, &p) in pending.iter().enumerate() {
                for ns in step(&s, &entries[p]) {
                    let mut rest = pending.clone();
                    rest.remove(k);
                    let mut placed = p == x;
                    rest.retain(|&q| {
                        let now = leaves(&ns, q);
                        placed |= now && q == x;
                        !now
                    });
                    let c = (ns, rest);
                    if placed {
                        next.insert(c);
                    } else if seen.insert(c.clone()) {
                        stack.push(c);
                    }
                }
            }
            if seen.len() > MAX_CONFIGS {
                violations.push(format!(
                    "UNCHECKED: {group}: more than {MAX_CONFIGS} possible orders at {}",
                    history[entries[x].call]
                ));
                return violations;
            }
        }
        if next.is_empty() {
            violations.push(explain(group, history, &entries, x, &configs));
            next = configs
                .iter()
                .map(|(s, pending)| {
                    let rest = pending.iter().copied().filter(|&p| p != x).collect();
                    (havoc(s), rest)
                })
                .collect();
        }
        configs = next;
    }
    violations
}

/// The report of a call no order explains: the call, the model states possible
/// just before, the calls still unordered, and the group's recent calls.
fn explain<S: std::fmt::Debug>(
    group: Group,
    history: &[Call],
    entries: &[Entry],
    x: usize,
    configs: &HashSet<(S, Vec<usize>)>,
) -> String {
    let bad = &history[entries[x].call];
    let mut text = format!(
        "VIOLATION in {group}: no order of the calls explains this result\n  {bad}\n  \
         possible model states {} just before it returned (calls in flight not yet \
         applied):",
        group.legend()
    );
    let mut states: Vec<String> = configs.iter().map(|(s, _)| format!("{s:?}")).collect();
    states.sort();
    states.dedup();
    for s in states.iter().take(8) {
        let _ = write!(text, "\n    {s}");
    }
    let _ = write!(
        text,
        "\n  calls in flight with it, and the last calls before it:"
    );
    // Only the calls on the same link, when the offending call is on one link.
    let related = |e: &&Entry| match (link_svc(&bad.op), link_svc(&history[e.call].op)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let mut shown: Vec<usize> = entries
        .iter()
        .filter(related)
        .filter(|e| e.end >= bad.start && e.start <= bad.end && e.call != entries[x].call)
        .map(|e| e.call)
        .collect();
    let mut before: Vec<&Entry> = entries
        .iter()
        .filter(related)
        .filter(|e| e.end < bad.start)
        .collect();
    before.sort_by_key(|e| e.end);
    shown.extend(before.iter().rev().take(16).map(|e| e.call));
    shown.sort_by_key(|&c| (history[c].start, c));
    shown.dedup();
    for c in shown {
        let _ = write!(text, "\n    {}", history[c]);
    }
    text
}

/// The service of a call on the link of one (uid, service) or on a batch.
fn link_svc(op: &Op) -> Option<usize> {
    match op {
        Op::SetLinkedPod { svc, .. }
        | Op::TrySetLinkedPod { svc, .. }
        | Op::SetLinkedPodIfAbsent { svc, .. }
        | Op::GetLinkedPod { svc, .. }
        | Op::GetLinkedPodIfPersist { svc, .. }
        | Op::BatchGetLinkedPod { svc, .. }
        | Op::RemoveLinkedPod { svc, .. }
        | Op::RemoveLinkedPodWithId { svc, .. }
        | Op::ComputeLinkedPod { svc, .. } => Some(*svc),
        _ => None,
    }
}

// ---- the checker on histories written by hand -------------------------------------

/// A call of a hand-written history (times in microseconds).
fn call(start: u64, end: u64, op: Op, out: Out) -> Call {
    Call {
        client: 0,
        start,
        end,
        op,
        out: Ok(out),
    }
}

fn final_links(t: u64, uid: usize, links: [Link; 2]) -> Call {
    call(t, t + 1, Op::FinalLinks { uid }, Out::Final(links))
}

#[test]
fn checker_finds_a_link_recreated_after_its_removal() {
    // The compute race: compute read link 9, a removal ran, and compute's
    // second round trip set 9 again on a service without load records.
    let set = Op::SetLinkedPod {
        uid: 0,
        svc: CHAT,
        pod: 9,
        persist: TTL,
    };
    let compute = Op::ComputeLinkedPod {
        uid: 0,
        svc: CHAT,
        persist: TTL,
    };
    let remove = Op::RemoveLinkedPod {
        uid: 0,
        svc: CHAT,
        keep: -1,
    };
    let history = vec![
        call(0, 10, set, Out::Pod(None)),
        call(20, 50, compute, Out::Pod(Some(9))),
        call(30, 40, remove, Out::Removed(true)),
        final_links(100, 0, [Link::Absent, Link::Temp(9)]),
    ];
    let violations = check(&history);
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].contains("keyspace after the run"),
        "{}",
        violations[0]
    );
    assert!(violations[0].contains("remove_linked_pod(u0, chat, keep=-1)"));

    // The same calls with the link gone at the end are fine.
    let mut fine = history.clone();
    fine[3] = final_links(100, 0, [Link::Absent, Link::Absent]);
    assert_eq!(check(&fine), Vec::<String>::new());
}

#[test]
fn checker_allows_only_one_persistent_try_set_winner() {
    let try_set = |pod| Op::TrySetLinkedPod {
        uid: 1,
        svc: GAME,
        pod,
        persist: -1,
    };
    let two_winners = vec![
        call(0, 10, try_set(1), Out::TrySet { ok: true, pod: 1 }),
        call(5, 15, try_set(2), Out::TrySet { ok: true, pod: 2 }),
    ];
    assert_eq!(check(&two_winners).len(), 1);
    let one_winner = vec![
        call(0, 10, try_set(1), Out::TrySet { ok: true, pod: 1 }),
        call(5, 15, try_set(2), Out::TrySet { ok: false, pod: 1 }),
        final_links(20, 1, [Link::Persist(1), Link::Absent]),
    ];
    assert_eq!(check(&one_winner), Vec::<String>::new());
}

#[test]
fn checker_allows_concurrent_orders_and_refuses_stale_reads() {
    let set = |state: &str| Op::SetWorkloadState {
        svc: GAME,
        state: state.into(),
    };
    let get = Op::GetWorkloadState { svc: GAME };
    let read = |v: &str| Out::Workload(Some(v.into()));
    // Concurrent writes: a read after both may see either.
    for seen in ["a", "b"] {
        let h = vec![
            call(0, 10, set("a"), Out::Unit),
            call(5, 15, set("b"), Out::Unit),
            call(20, 30, get.clone(), read(seen)),
        ];
        assert_eq!(check(&h), Vec::<String>::new());
    }
    // Sequential writes: the older value is stale.
    let stale = vec![
        call(0, 10, set("a"), Out::Unit),
        call(11, 15, set("b"), Out::Unit),
        call(20, 30, get.clone(), read("a")),
    ];
    assert_eq!(check(&stale).len(), 1);
}

#[test]
fn checker_limits_compute_to_loaded_pods_or_the_existing_link() {
    let compute = |svc| Op::ComputeLinkedPod {
        uid: 2,
        svc,
        persist: -1,
    };
    let load = |pod| Op::SetPodLoad {
        svc: GAME,
        pod,
        load: 1,
        state: 0,
    };
    // No link, no load record on chat: compute must not invent pod 3.
    let invented = vec![call(0, 10, compute(CHAT), Out::Pod(Some(3)))];
    assert_eq!(check(&invented).len(), 1);
    // game: pod 4 only once its load record was written.
    let early = vec![
        call(20, 30, load(4), Out::Stamp(1)),
        call(0, 10, compute(GAME), Out::Pod(Some(4))),
    ];
    assert_eq!(check(&early).len(), 1);
    let late = vec![
        call(0, 10, load(4), Out::Stamp(1)),
        call(5, 30, compute(GAME), Out::Pod(Some(4))),
        final_links(40, 2, [Link::Persist(4), Link::Absent]),
    ];
    assert_eq!(check(&late), Vec::<String>::new());
    // None on game (which always has load records) is wrong; on chat it is right.
    assert_eq!(
        check(&[call(0, 10, compute(GAME), Out::Pod(None))]).len(),
        1
    );
    assert_eq!(
        check(&[call(0, 10, compute(CHAT), Out::Pod(None))]),
        Vec::<String>::new()
    );
}

#[test]
fn checker_keeps_a_removed_link_readable_with_keep() {
    let h = vec![
        call(
            0,
            10,
            Op::SetLinkedPod {
                uid: 3,
                svc: GAME,
                pod: 5,
                persist: -1,
            },
            Out::Pod(None),
        ),
        call(
            20,
            30,
            Op::RemoveLinkedPod {
                uid: 3,
                svc: GAME,
                keep: TTL,
            },
            Out::Removed(true),
        ),
        call(
            40,
            50,
            Op::GetLinkService { uid: 3 },
            Out::Services(BTreeMap::new()),
        ),
        call(
            60,
            70,
            Op::GetLinkedPod { uid: 3, svc: GAME },
            Out::Pod(Some(5)),
        ),
        final_links(80, 3, [Link::Temp(5), Link::Absent]),
    ];
    assert_eq!(check(&h), Vec::<String>::new());
    // The index still listing it after the removal is a violation.
    let mut wrong = h.clone();
    wrong[2].out = Ok(Out::Services(BTreeMap::from([("game".to_string(), 5)])));
    assert_eq!(check(&wrong).len(), 1);
}

#[test]
fn checker_does_not_place_a_write_early_because_it_changes_nothing_then() {
    // Setting the temporary link 9 over itself changes nothing when the call
    // starts, but placed after the persistent set it makes the link temporary
    // again, which the last read needs.
    let set = |persist| Op::SetLinkedPod {
        uid: 4,
        svc: GAME,
        pod: 9,
        persist,
    };
    let h = vec![
        call(0, 10, set(TTL), Out::Pod(None)),
        call(20, 100, set(TTL), Out::Pod(Some(9))),
        call(30, 40, set(-1), Out::Pod(Some(9))),
        call(
            50,
            60,
            Op::GetLinkedPodIfPersist { uid: 4, svc: GAME },
            Out::Pod(None),
        ),
        final_links(200, 4, [Link::Temp(9), Link::Absent]),
    ];
    assert_eq!(check(&h), Vec::<String>::new());
}
