//! The workload generator behind `stateful-redis bench` and the benchmarks in
//! `benches/`: a weighted mix of operations over a space of uids and services,
//! N calls in flight, for a duration. Latencies go to one histogram per operation,
//! shared by the run's workers behind a lock: uncontended on the current-thread
//! runtime the benchmark uses, and a few hot histograms instead of one set per
//! worker (64 workers x 5 operations of 20 KiB each cost about 0.1 µs more per
//! recorded call in a profile at 64 in flight; `benches/RESULTS.md`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use stateful_redis::{Executor, Operation, RoutingPolicy};

/// What to run.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// The namespace (with `namespaces` > 1: the last namespace part gets a number).
    pub ns: String,
    /// How many namespaces the uids are spread over.
    pub namespaces: usize,
    pub uids: usize,
    pub services: usize,
    pub pods: i64,
    pub batch_size: usize,
    /// Share of link writes that are persistent (the rest get TTL 300 s).
    pub persistent_ratio: f64,
    /// Operations and their weights.
    pub mix: Vec<(Operation, u32)>,
}

impl WorkloadSpec {
    /// The comparison workload of PERFORMANCE.md: 10,000 uids x 4 services,
    /// 32 pods; 40% get, 25% set, 15% set-if-absent, 10% remove, 10% batch of 100.
    pub fn mixed() -> WorkloadSpec {
        WorkloadSpec {
            ns: "bench:region:logic".to_string(),
            namespaces: 1,
            uids: 10_000,
            services: 4,
            pods: 32,
            batch_size: 100,
            persistent_ratio: 0.5,
            mix: vec![
                (Operation::GetLinkedPod, 40),
                (Operation::SetLinkedPod, 25),
                (Operation::SetLinkedPodIfAbsent, 15),
                (Operation::RemoveLinkedPod, 10),
                (Operation::BatchGetLinkedPod, 10),
            ],
        }
    }

    /// A named workload: `mixed`, `all` (every operation), or one operation name.
    pub fn named(name: &str) -> Option<WorkloadSpec> {
        let mut spec = WorkloadSpec::mixed();
        match name {
            "mixed" => {}
            "all" => spec.mix = Operation::ALL.iter().map(|op| (*op, 1)).collect(),
            "get" => spec.mix = vec![(Operation::GetLinkedPod, 1)],
            "set" => spec.mix = vec![(Operation::SetLinkedPod, 1)],
            other => spec.mix = vec![(Operation::from_name(other)?, 1)],
        }
        Some(spec)
    }

    /// Parses `op=weight,op=weight`.
    pub fn with_mix(mut self, mix: &str) -> Result<WorkloadSpec, String> {
        let mut parsed = Vec::new();
        for part in mix.split(',').filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected operation=weight"))?;
            let op = Operation::from_name(name.trim())
                .ok_or_else(|| format!("`{name}` is not an operation"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("`{weight}` is not a weight"))?;
            parsed.push((op, weight));
        }
        if parsed.iter().map(|(_, w)| *w).sum::<u32>() == 0 {
            return Err("the mix needs at least one operation with a positive weight".into());
        }
        self.mix = parsed;
        Ok(self)
    }

    /// The namespaces used, in order.
    pub fn namespace_names(&self) -> Vec<String> {
        if self.namespaces <= 1 {
            return vec![self.ns.clone()];
        }
        (0..self.namespaces)
            .map(|i| format!("{}{i}", self.ns))
            .collect()
    }

    fn service(&self, i: usize) -> String {
        format!("svc{i}")
    }

    fn uid(&self, i: usize) -> String {
        format!("u{i}")
    }
}

/// Links half of the (uid, service) pairs, half of those persistent: the state
/// every comparison run starts from.
pub async fn prepare(exec: &Executor, spec: &WorkloadSpec) -> stateful_redis::Result<()> {
    for ns in spec.namespace_names() {
        prepare_namespace(exec, spec, &ns).await?;
    }
    Ok(())
}

async fn prepare_namespace(
    exec: &Executor,
    spec: &WorkloadSpec,
    ns: &str,
) -> stateful_redis::Result<()> {
    let services: Vec<String> = (0..spec.services).map(|s| spec.service(s)).collect();
    let mut pending = Vec::new();
    for uid in (0..spec.uids).step_by(2) {
        let exec = exec.clone();
        let (uid_name, services, pods) = (spec.uid(uid), services.clone(), spec.pods);
        let ns = ns.to_string();
        pending.push(tokio::spawn(async move {
            for (s, svc) in services.iter().enumerate() {
                let persist = if (uid / 2 + s) % 2 == 0 { -1 } else { 300 };
                let pod = ((uid + s) as i64) % pods;
                exec.set_linked_pod(&ns, &uid_name, svc, pod, persist)
                    .await?;
            }
            Ok::<_, stateful_redis::Error>(())
        }));
        if pending.len() >= 64 {
            for task in pending.drain(..) {
                task.await.expect("prepare task")?;
            }
        }
    }
    for task in pending {
        task.await.expect("prepare task")?;
    }
    for s in 0..spec.services {
        for pod in 0..spec.pods {
            exec.set_pod_load(ns, &spec.service(s), pod, pod * 3 % 17, 0)
                .await?;
            exec.set_service_state(ns, &spec.service(s), pod, "online")
                .await?;
        }
        exec.set_workload_state(ns, &spec.service(s), "running")
            .await?;
    }
    Ok(())
}

/// Per-operation results of a run.
#[derive(Debug, Clone, Serialize)]
pub struct OperationResult {
    pub count: u64,
    pub errors: u64,
    pub ops_per_s: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

/// Results of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    #[serde(rename = "impl")]
    pub implementation: String,
    pub concurrency: usize,
    pub duration_s: f64,
    pub ops: u64,
    pub errors: u64,
    pub ops_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub per_op: BTreeMap<String, OperationResult>,
    /// Errors by code.
    pub error_codes: BTreeMap<String, u64>,
}

#[derive(Default)]
struct RunStats {
    latencies: Vec<Histogram<u64>>,
    errors: Vec<u64>,
    error_codes: BTreeMap<String, u64>,
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 60 s at 2 significant digits (at most 1% error), in nanoseconds:
    // ~20 KiB each. Workers x operations of them exist at once, so 3 digits
    // (~140 KiB each) made a 64-caller run hold ~150 MiB of counters.
    Histogram::new_with_bounds(1_000, 60_000_000_000, 2).expect("valid bounds")
}

/// When a run stops: at a deadline, after a number of calls, or when cancelled,
/// whichever comes first.
#[derive(Debug, Clone)]
pub struct RunLimit {
    pub duration: Duration,
    /// Calls to start in all (None: no limit).
    pub max_ops: Option<u64>,
    /// Set to stop the run early (Ctrl-C, the dashboard's end).
    pub cancel: Arc<AtomicBool>,
}

impl RunLimit {
    pub fn duration(duration: Duration) -> RunLimit {
        RunLimit {
            duration,
            max_ops: None,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

struct Budget {
    deadline: Instant,
    remaining: Option<AtomicU64>,
    cancel: Arc<AtomicBool>,
}

impl Budget {
    /// Whether one more call may start (takes it from the budget).
    fn take(&self) -> bool {
        if self.cancel.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
            return false;
        }
        match &self.remaining {
            None => true,
            Some(left) => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
        }
    }
}

/// Runs the workload with `concurrency` calls in flight for `duration`.
pub async fn run(
    exec: &Executor,
    spec: &WorkloadSpec,
    concurrency: usize,
    duration: Duration,
) -> RunResult {
    run_with(exec, spec, concurrency, RunLimit::duration(duration)).await
}

/// Runs the workload with `concurrency` calls in flight until `limit`.
pub async fn run_with(
    exec: &Executor,
    spec: &WorkloadSpec,
    concurrency: usize,
    limit: RunLimit,
) -> RunResult {
    let started = Instant::now();
    let budget = Arc::new(Budget {
        deadline: started + limit.duration,
        remaining: limit.max_ops.map(AtomicU64::new),
        cancel: limit.cancel,
    });
    let total_weight: u32 = spec.mix.iter().map(|(_, w)| *w).sum();
    let stats = Arc::new(Mutex::new(RunStats::for_mix(spec)));
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|worker| {
            let (exec, spec, budget, stats) =
                (exec.clone(), spec.clone(), budget.clone(), stats.clone());
            tokio::spawn(async move {
                worker_loop(exec, spec, worker, total_weight, budget, stats).await
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker task");
    }
    let merged = std::mem::take(&mut *stats.lock().unwrap_or_else(PoisonError::into_inner));
    let elapsed = started.elapsed().as_secs_f64();
    summarize(merged, concurrency, elapsed)
}

impl RunStats {
    /// Histograms only for the operations the mix can pick.
    fn for_mix(spec: &WorkloadSpec) -> RunStats {
        RunStats {
            latencies: Operation::ALL
                .iter()
                .map(|op| {
                    if spec.mix.iter().any(|(m, w)| m == op && *w > 0) {
                        new_histogram()
                    } else {
                        // Never recorded into: a minimal, empty histogram.
                        Histogram::new(2).expect("valid precision")
                    }
                })
                .collect(),
            errors: vec![0; Operation::ALL.len()],
            error_codes: BTreeMap::new(),
        }
    }
}

async fn worker_loop(
    exec: Executor,
    spec: WorkloadSpec,
    worker: usize,
    total_weight: u32,
    budget: Arc<Budget>,
    stats: Arc<Mutex<RunStats>>,
) {
    let mut rng = SmallRng::seed_from_u64(0x5eed ^ worker as u64);
    let services: Vec<String> = (0..spec.services).map(|s| spec.service(s)).collect();
    let namespaces = spec.namespace_names();
    let mut batch: Vec<String> = Vec::with_capacity(spec.batch_size);
    while budget.take() {
        let mut pick = rng.random_range(0..total_weight);
        let op = spec
            .mix
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map(|(op, _)| *op)
            .expect("weights cover the range");
        let uid = spec.uid(rng.random_range(0..spec.uids));
        let svc = &services[rng.random_range(0..services.len())];
        let pod = rng.random_range(0..spec.pods);
        let persist = if rng.random_bool(spec.persistent_ratio) {
            -1
        } else {
            300
        };
        let ns = namespaces[rng.random_range(0..namespaces.len())].as_str();
        if op == Operation::BatchGetLinkedPod {
            batch.clear();
            batch.extend((0..spec.batch_size).map(|_| spec.uid(rng.random_range(0..spec.uids))));
        }
        let call_started = Instant::now();
        let outcome = match op {
            Operation::GetLinkedPod => exec.get_linked_pod(ns, &uid, svc).await.map(drop),
            Operation::SetLinkedPod => exec
                .set_linked_pod(ns, &uid, svc, pod, persist)
                .await
                .map(drop),
            Operation::SetLinkedPodIfAbsent => exec
                .set_linked_pod_if_absent(ns, &uid, svc, pod, persist)
                .await
                .map(drop),
            Operation::RemoveLinkedPod => {
                let keep = if rng.random_bool(0.5) { -1 } else { 60 };
                exec.remove_linked_pod(ns, &uid, svc, keep).await.map(drop)
            }
            Operation::BatchGetLinkedPod => {
                exec.batch_get_linked_pod(ns, &batch, svc).await.map(drop)
            }
            Operation::TrySetLinkedPod => exec
                .try_set_linked_pod(ns, &uid, svc, pod, persist)
                .await
                .map(drop),
            Operation::GetLinkedPodIfPersist => exec
                .get_linked_pod_if_persist(ns, &uid, svc)
                .await
                .map(drop),
            Operation::RemoveLinkedPodWithId => exec
                .remove_linked_pod_with_id(ns, &uid, svc, -1, pod)
                .await
                .map(drop),
            Operation::GetLinkService => exec.get_link_service(ns, &uid).await.map(drop),
            Operation::ComputeLinkedPod => exec
                .compute_linked_pod(ns, &uid, svc, persist, RoutingPolicy::default())
                .await
                .map(drop),
            Operation::SetServiceState => exec
                .set_service_state(ns, svc, pod, "online")
                .await
                .map(drop),
            Operation::GetServiceState => exec.get_service_state(ns, svc).await.map(drop),
            Operation::SetWorkloadState => {
                exec.set_workload_state(ns, svc, "running").await.map(drop)
            }
            Operation::GetWorkloadState => exec.get_workload_state(ns, svc).await.map(drop),
            Operation::GetWorkloadStates => exec.get_workload_states(ns, &services).await.map(drop),
            Operation::SetPodLoad => exec
                .set_pod_load(ns, svc, pod, rng.random_range(0..100), 0)
                .await
                .map(drop),
            Operation::GetPodLoads => exec.get_pod_loads(ns, svc, None).await.map(drop),
        };
        let nanos = call_started.elapsed().as_nanos() as u64;
        let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
        stats.latencies[op.index()].saturating_record(nanos.max(1_000));
        if let Err(e) = outcome {
            stats.errors[op.index()] += 1;
            *stats
                .error_codes
                .entry(e.code().as_str().to_string())
                .or_default() += 1;
        }
    }
}

fn micros(h: &Histogram<u64>, quantile: f64) -> f64 {
    h.value_at_quantile(quantile) as f64 / 1_000.0
}

fn summarize(stats: RunStats, concurrency: usize, elapsed: f64) -> RunResult {
    let mut all = new_histogram();
    let mut per_op = BTreeMap::new();
    let mut errors = 0;
    for op in Operation::ALL {
        let h = &stats.latencies[op.index()];
        if h.is_empty() {
            continue;
        }
        all.add(h).expect("same bounds");
        errors += stats.errors[op.index()];
        per_op.insert(
            op.name().to_string(),
            OperationResult {
                count: h.len(),
                errors: stats.errors[op.index()],
                ops_per_s: h.len() as f64 / elapsed,
                p50_us: micros(h, 0.5),
                p90_us: micros(h, 0.9),
                p99_us: micros(h, 0.99),
                p999_us: micros(h, 0.999),
                max_us: h.max() as f64 / 1_000.0,
            },
        );
    }
    RunResult {
        implementation: "rust".to_string(),
        concurrency,
        duration_s: elapsed,
        ops: all.len(),
        errors,
        ops_per_s: all.len() as f64 / elapsed,
        p50_us: micros(&all, 0.5),
        p99_us: micros(&all, 0.99),
        per_op,
        error_codes: stats.error_codes,
    }
}

/// The final table: one row per operation.
pub fn table(result: &RunResult) -> String {
    let mut out = format!(
        "{:<28} {:>10} {:>11} {:>9} {:>9} {:>9} {:>9} {:>8}\n",
        "operation", "count", "ops/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "errors"
    );
    let mut row = |name: &str, r: &OperationResult| {
        out.push_str(&format!(
            "{:<28} {:>10} {:>11.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>8}\n",
            name, r.count, r.ops_per_s, r.p50_us, r.p90_us, r.p99_us, r.p999_us, r.errors
        ));
    };
    for (name, r) in &result.per_op {
        row(name, r);
    }
    out.push_str(&format!(
        "{:<28} {:>10} {:>11.0} {:>9.1} {:>9} {:>9.1} {:>9} {:>8}\n",
        "all", result.ops, result.ops_per_s, result.p50_us, "", result.p99_us, "", result.errors
    ));
    out
}
