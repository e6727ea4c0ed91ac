//! The asynchronous executor: every operation of SPEC section 3.
//!
//! A call flows through [`Executor::run`] (closed check, in-flight limit, deadline,
//! measurement), validates its input before anything is sent, builds its keys
//! ([`KeySchema`]) and sends one command or one script ([`Executor::eval`]) over a
//! multiplexed connection kept alive by redis-rs's `ConnectionManager`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use redis::{Cmd, FromRedisValue, ServerErrorKind, ToRedisArgs};

use crate::config::Config;
use crate::connection::{self, PooledConnection};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{cluster_slot, validate_name, validate_state, KeySchema, NameKind};
use crate::monitor::Monitor;
use crate::operation::Operation;
use crate::scripts::{self, LuaScript};

mod monitor_ops;
pub use monitor_ops::{PoolChange, ScriptsReport};

/// Largest pod id (pods are Java `int`s in the reference versions).
pub const MAX_POD: i64 = i32::MAX as i64;
/// Largest TTL, in seconds, for `persist` and `keep`.
pub const MAX_TTL_SECONDS: i64 = i32::MAX as i64;
/// Most uids in one `batch_get_linked_pod` call.
pub const MAX_BATCH: usize = 100_000;
/// Uids per `MGET` inside one batch call.
pub const BATCH_CHUNK: usize = 1_000;
/// Most services in one `get_workload_states` call.
pub const MAX_SERVICES: usize = 10_000;

/// A pod's load record (`LOAD-MILLIS-STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PodLoad {
    pub load: i64,
    pub state: i64,
    /// Server time of the update, epoch milliseconds.
    pub updated_ms: i64,
}

impl PodLoad {
    /// Parses `LOAD-MILLIS-STATE`: three decimal integers joined by `-`.
    pub fn parse(record: &str) -> Option<PodLoad> {
        let mut parts = record.split('-');
        let load = parse_decimal(parts.next()?)?;
        let updated_ms = parse_decimal(parts.next()?)?;
        let state = parse_decimal(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(PodLoad {
            load,
            state,
            updated_ms,
        })
    }
}

/// A non-negative decimal integer without sign or spaces.
fn parse_decimal(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// How `compute_linked_pod` chooses a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingPolicy {
    /// A load record older than this (against the server's clock) is ignored.
    pub max_age_ms: i64,
    /// Pods whose state is above this are not chosen.
    pub max_state: i64,
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        RoutingPolicy {
            max_age_ms: 60_000,
            max_state: i64::MAX,
        }
    }
}

/// Result of `try_set_linked_pod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrySetOutcome {
    /// Whether the link was set.
    pub ok: bool,
    /// The pod the uid is linked to after the call.
    pub pod: i64,
}

/// The executor: cheap to clone, shared by every task and thread.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    schema: KeySchema,
    /// Swapped as a whole by `optimize_connection_pool` (see `monitor_ops.rs`).
    /// A stalled connection is replaced in it (see `replace_stalled`).
    connections: ArcSwap<Vec<Arc<PooledConnection>>>,
    next_connection: AtomicUsize,
    in_flight: AtomicUsize,
    closed: AtomicBool,
    monitor: Arc<Monitor>,
    /// Requests written per operation, retries included (see `requests_sent`).
    requests_sent: [AtomicU64; Operation::ALL.len()],
    connections_replaced: AtomicU64,
}

/// Counts a call in flight for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("server", &self.inner.config.server_label())
            .field("connections", &self.inner.connections.load().len())
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Executor {
    /// Connects (bounded by the connect timeout) and loads the scripts.
    /// Must run inside a tokio runtime, which then drives the connections.
    pub async fn connect(config: Config) -> Result<Executor> {
        Executor::connect_with_monitor(config, Arc::new(Monitor::new())).await
    }

    /// As [`Executor::connect`], recording into a given monitor.
    pub async fn connect_with_monitor(config: Config, monitor: Arc<Monitor>) -> Result<Executor> {
        let connect_timeout = config.connect_timeout();
        let mut config = config;
        let connect = async {
            let mut connections = connection::open(&config, config.options.connections).await?;
            // A URL that points at a cluster node: use it as the cluster's seed.
            let mut first = connections[0].connection.clone();
            if !config.is_cluster() && connection::is_cluster_node(&mut first).await? {
                let seed = config.connection_info.clone();
                config = config.clone().into_cluster(vec![seed]).map_err(|e| {
                    redis::RedisError::from((
                        redis::ErrorKind::InvalidClientConfig,
                        "refused",
                        e.message().to_string(),
                    ))
                })?;
                connections = connection::open(&config, config.options.connections).await?;
            }
            Ok::<_, redis::RedisError>(connections)
        };
        let connections = match tokio::time::timeout(connect_timeout, connect).await {
            Ok(Ok(connections)) => connections,
            Ok(Err(e)) => {
                let err = Error::from_redis(e);
                let code = match err.code() {
                    ErrorCode::Internal | ErrorCode::Timeout => ErrorCode::Connection,
                    code => code,
                };
                return Err(Error::new(
                    code,
                    format!(
                        "cannot connect to {}: {}",
                        config.server_label(),
                        err.message()
                    ),
                ));
            }
            Err(_) => {
                return Err(Error::new(
                    ErrorCode::Connection,
                    format!(
                        "cannot connect to {} within {} ms",
                        config.server_label(),
                        connect_timeout.as_millis()
                    ),
                ))
            }
        };
        let executor = Executor {
            inner: Arc::new(Inner {
                schema: config.key_schema(),
                config,
                connections: ArcSwap::from_pointee(connections),
                next_connection: AtomicUsize::new(0),
                in_flight: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
                monitor,
                requests_sent: std::array::from_fn(|_| AtomicU64::new(0)),
                connections_replaced: AtomicU64::new(0),
            }),
        };
        // A user the ACL does not allow SCRIPT LOAD can still run the scripts:
        // each loads on first use (EVAL after NOSCRIPT).
        if let Err(e) = executor.load_scripts().await {
            if e.code() != ErrorCode::Auth {
                return Err(e);
            }
            tracing::warn!(error = %e, "scripts not preloaded; each loads on first use");
        }
        executor.start_monitor();
        Ok(executor)
    }

    /// Loads every script on the server (done at connect; safe to repeat).
    pub async fn load_scripts(&self) -> Result<usize> {
        let deadline = self.inner.config.command_timeout();
        let mut connection = self.connection().await.connection.clone();
        let load = async {
            for script in scripts::all() {
                let sha: String = redis::cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(&script.source)
                    .query_async(&mut connection)
                    .await?;
                debug_assert_eq!(sha, script.sha());
            }
            Ok::<_, redis::RedisError>(scripts::all().len())
        };
        match tokio::time::timeout(deadline, load).await {
            Ok(result) => result.map_err(Error::from_redis),
            Err(_) => Err(Error::timeout(deadline)),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The monitor this executor records into.
    pub fn monitor(&self) -> &Arc<Monitor> {
        &self.inner.monitor
    }

    /// Requests of `op` handed to a connection so far: every attempt, retries and
    /// `EVAL` after `NOSCRIPT` included. The server ran at most this many,
    /// which is how the tests show that no write is executed twice (G3 in
    /// `docs/reliability.md`).
    pub fn requests_sent(&self, op: Operation) -> u64 {
        self.inner.requests_sent[op.index()].load(Ordering::Relaxed)
    }

    /// Calls in flight right now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    /// Refuses every later call with `CLOSED`. Calls in flight finish.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// The connection for the next request: round robin over the pool. The
    /// caller replaces it first when [`PooledConnection::needs_replacement`].
    fn pick_connection(&self) -> Arc<PooledConnection> {
        let connections = self.inner.connections.load();
        if connections.len() == 1 {
            connections[0].clone()
        } else {
            let i = self.inner.next_connection.fetch_add(1, Ordering::Relaxed);
            connections[i % connections.len()].clone()
        }
    }

    /// The connection for the next request, a stalled one replaced first.
    async fn connection(&self) -> Arc<PooledConnection> {
        let pooled = self.pick_connection();
        if pooled.needs_replacement() {
            return Box::pin(self.replace_stalled(&pooled)).await;
        }
        pooled
    }

    /// Puts a new connection in the place of one that stopped answering (see
    /// [`PooledConnection`]). The old one serves its calls in flight, then closes.
    /// A standalone replacement is made at once (it connects on first use). A
    /// cluster one is opened by the first caller that finds the connection
    /// stalled, every other caller waiting for it (within its own deadline; if
    /// that caller gives up, the next one opens it).
    #[cold]
    async fn replace_stalled(&self, stalled: &Arc<PooledConnection>) -> Arc<PooledConnection> {
        if self.inner.config.is_cluster() {
            let config = &self.inner.config;
            let opened = stalled
                .replacement
                .get_or_try_init(|| async {
                    let started = Instant::now();
                    let fresh =
                        tokio::time::timeout(config.connect_timeout(), connection::open(config, 1))
                            .await
                            .map_err(|_| "not connected within the connect timeout".to_string())?
                            .map_err(|e| crate::error::scrub(&e.to_string()))?
                            .swap_remove(0);
                    tracing::debug!(
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "a cluster connection opened in place of a stalled one"
                    );
                    self.swap_connection(stalled, fresh.clone());
                    Ok::<_, String>(fresh)
                })
                .await;
            return match opened {
                Ok(fresh) => fresh.clone(),
                Err(error) => {
                    tracing::warn!(%error, "cannot replace a stalled cluster connection");
                    stalled.clone()
                }
            };
        }
        if !stalled.take_stalled() {
            // Another call is replacing it.
            return stalled.clone();
        }
        match connection::open_standalone_replacement(&self.inner.config) {
            Ok(fresh) => {
                self.swap_connection(stalled, fresh.clone());
                fresh
            }
            Err(e) => {
                tracing::warn!(error = %crate::error::scrub(&e.to_string()), "cannot replace a stalled connection");
                stalled.clone()
            }
        }
    }

    fn swap_connection(&self, stalled: &Arc<PooledConnection>, fresh: Arc<PooledConnection>) {
        self.inner.connections.rcu(|current| {
            current
                .iter()
                .map(|c| {
                    if Arc::ptr_eq(c, stalled) {
                        fresh.clone()
                    } else {
                        c.clone()
                    }
                })
                .collect::<Vec<_>>()
        });
        self.inner.monitor.reconnect();
        self.inner
            .connections_replaced
            .fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            server = %self.inner.config.server_label(),
            "a connection answered nothing for half the command timeout while calls waited: replaced"
        );
    }

    /// Connections replaced because they stopped answering (see
    /// [`PooledConnection`](crate::connection)): a stalled server, a half-open peer.
    pub fn connections_replaced(&self) -> u64 {
        self.inner.connections_replaced.load(Ordering::Relaxed)
    }

    /// Runs one operation: refuses it when closed or over the in-flight limit,
    /// bounds it by the command timeout, names it in errors and measures it.
    async fn run<T>(&self, op: Operation, call: impl Future<Output = Result<T>>) -> Result<T> {
        let inner = &*self.inner;
        let start = Instant::now();
        let result = if inner.closed.load(Ordering::Acquire) {
            Err(Error::closed())
        } else if inner
            .in_flight
            // Admit only below the limit: the count never exceeds it, even for
            // an instant (a refused call used to add one and take it back).
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < inner.config.options.max_in_flight).then_some(n + 1)
            })
            .is_err()
        {
            Err(Error::new(
                ErrorCode::Busy,
                format!(
                    "{} calls already in flight (max_in_flight)",
                    inner.config.options.max_in_flight
                ),
            ))
        } else {
            let _in_flight = InFlight(&inner.in_flight);
            if inner.config.options.monitor {
                self.note_call_started();
            }
            let deadline = inner.config.command_timeout();
            match tokio::time::timeout(deadline, call).await {
                Ok(result) => result,
                Err(_) => Err(Error::timeout(deadline).with_retryable(op.is_idempotent())),
            }
        };
        if inner.config.options.monitor {
            let outcome = match &result {
                Ok(_) => Ok(()),
                Err(e) => Err(e.code()),
            };
            inner.monitor.record(op, start.elapsed(), outcome);
        }
        result.map_err(|e| e.with_operation(op.name()))
    }

    /// Sends one request, retrying as the retry policy allows (see
    /// `docs/reliability.md`): any call whose request surely never reached the
    /// server, and idempotent calls on any transient failure.
    async fn query<T: FromRedisValue + 'static, R: Request>(
        &self,
        op: Operation,
        request: &R,
    ) -> Result<T> {
        self.query_raw(op, request)
            .await
            .map_err(|e| classify_failure(op, e))
    }

    async fn query_raw<T: FromRedisValue + 'static, R: Request>(
        &self,
        op: Operation,
        request: &R,
    ) -> redis::RedisResult<T> {
        let retry = self.inner.config.options.retry;
        let stall_after = self.inner.config.command_timeout() / 2;
        let mut attempt = 1;
        loop {
            let mut pooled = self.pick_connection();
            if pooled.needs_replacement() {
                // Boxed: the cold path's future (a cluster connect) would
                // otherwise make every call's future bigger.
                pooled = Box::pin(self.replace_stalled(&pooled)).await;
            }
            let mut connection = pooled.connection.clone();
            self.inner.requests_sent[op.index()].fetch_add(1, Ordering::Relaxed);
            let watch = pooled.watch(stall_after);
            let result = request.send::<T>(&mut connection).await;
            if connection::answered(&result) {
                if watch.replied() {
                    // The first reply since the connection was re-established.
                    self.inner.monitor.reconnect();
                }
            } else if let Err(e) = &result {
                watch.failed(e);
            }
            match result {
                Ok(value) => return Ok(value),
                Err(e) => {
                    if may_retry(op, &e) && attempt < retry.max_attempts {
                        let backoff = retry.backoff(attempt + 1);
                        self.inner.monitor.pool_wait(backoff);
                        tokio::time::sleep(backoff).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Runs a script with `EVALSHA`; on `NOSCRIPT` (after `SCRIPT FLUSH`, a
    /// restart, or on a replica just promoted) runs it once with `EVAL` and its
    /// source, which also caches it on that server. Safe: `NOSCRIPT` means the
    /// script did not run. `EVAL` is routed by its keys like `EVALSHA`, so on a
    /// cluster the script reaches exactly the node that lacked it.
    async fn eval<T: FromRedisValue + 'static>(
        &self,
        op: Operation,
        script: &LuaScript,
        keys: &[&str],
        args: &[&dyn ToRedisArgsDyn],
    ) -> Result<T> {
        let command = |name: &str, script_ref: &str| {
            let mut cmd = redis::cmd(name);
            cmd.arg(script_ref).arg(keys.len()).arg(keys);
            for arg in args {
                arg.write_to(&mut cmd);
            }
            cmd
        };
        self.inner.monitor.script_call();
        match self.query_raw(op, &command("EVALSHA", script.sha())).await {
            Err(e) if is_noscript(&e) => {
                self.inner.monitor.script_reload();
                self.inner.monitor.script_call();
                self.query(op, &command("EVAL", &script.source)).await
            }
            other => other.map_err(|e| classify_failure(op, e)),
        }
        .map_err(without_script_location)
    }

    /// The values of many keys, in their order. On one server: a pipeline of
    /// `MGET`s of [`BATCH_CHUNK`] keys, one round trip. On a cluster: one `MGET`
    /// per hash slot (and chunk), all sent at once, each routed and redirected
    /// (MOVED/ASK) on its own. redis-rs can split a multi-slot `MGET` itself, but
    /// when one of its parts was redirected during a failover it failed to put
    /// the replies back together ("Mismatch in the number of multi-slot
    /// results"), so the core does the split.
    async fn mget(&self, op: Operation, keys: &[String]) -> Result<Vec<Option<String>>> {
        if !self.inner.config.is_cluster() {
            let mut pipe = redis::pipe();
            for chunk in keys.chunks(BATCH_CHUNK) {
                pipe.cmd("MGET").arg(chunk);
            }
            let chunks: Vec<Vec<Option<String>>> = self.query(op, &pipe).await?;
            return Ok(chunks.into_iter().flatten().collect());
        }
        let mut by_slot: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
        for (i, key) in keys.iter().enumerate() {
            by_slot.entry(cluster_slot(key)).or_default().push(i);
        }
        let parts: Vec<(&[usize], Cmd)> = by_slot
            .values()
            .flat_map(|indexes| indexes.chunks(BATCH_CHUNK))
            .map(|indexes| {
                let mut cmd = redis::cmd("MGET");
                for &i in indexes {
                    cmd.arg(&keys[i]);
                }
                (indexes, cmd)
            })
            .collect();
        let replies = futures_util::future::try_join_all(
            parts
                .iter()
                .map(|(_, cmd)| self.query::<Vec<Option<String>>, _>(op, cmd)),
        )
        .await?;
        let mut values = vec![None; keys.len()];
        for ((indexes, _), reply) in parts.iter().zip(replies) {
            if reply.len() != indexes.len() {
                return Err(Error::new(
                    ErrorCode::Internal,
                    format!(
                        "MGET of {} keys answered {} values",
                        indexes.len(),
                        reply.len()
                    ),
                ));
            }
            for (&i, value) in indexes.iter().zip(reply) {
                values[i] = value;
            }
        }
        Ok(values)
    }

    fn keys(&self) -> KeySchema {
        self.inner.schema
    }

    // ----- pod and workload state ------------------------------------------------

    /// Sets the state of one pod of a service.
    pub async fn set_service_state(
        &self,
        ns: &str,
        svc: &str,
        pod: i64,
        state: &str,
    ) -> Result<()> {
        self.run(Operation::SetServiceState, async {
            self.validate_ns_svc(ns, svc)?;
            validate_pod(pod)?;
            validate_state(state)?;
            let key = self.keys().state_key(ns, svc);
            let cmd = redis::cmd("HSET").arg(&key).arg(pod).arg(state).clone();
            self.query::<i64, _>(Operation::SetServiceState, &cmd)
                .await
                .map_err(wrong_type_names(&key))?;
            Ok(())
        })
        .await
    }

    /// The state of every pod of a service; fields that are not pod ids are skipped.
    pub async fn get_service_state(&self, ns: &str, svc: &str) -> Result<BTreeMap<i64, String>> {
        self.run(Operation::GetServiceState, async {
            self.validate_ns_svc(ns, svc)?;
            let key = self.keys().state_key(ns, svc);
            let cmd = redis::cmd("HGETALL").arg(&key).clone();
            let fields: Vec<(String, String)> = self
                .query(Operation::GetServiceState, &cmd)
                .await
                .map_err(wrong_type_names(&key))?;
            Ok(fields
                .into_iter()
                .filter_map(|(field, value)| parse_pod_id(&field).map(|pod| (pod, value)))
                .collect())
        })
        .await
    }

    /// Sets the state of a service's workload as a whole.
    pub async fn set_workload_state(&self, ns: &str, svc: &str, state: &str) -> Result<()> {
        self.run(Operation::SetWorkloadState, async {
            self.validate_ns_svc(ns, svc)?;
            validate_state(state)?;
            let key = self.keys().workload_key(ns, svc);
            let cmd = redis::cmd("SET").arg(&key).arg(state).clone();
            self.query::<(), _>(Operation::SetWorkloadState, &cmd).await
        })
        .await
    }

    /// The workload state of a service, if set.
    pub async fn get_workload_state(&self, ns: &str, svc: &str) -> Result<Option<String>> {
        self.run(Operation::GetWorkloadState, async {
            self.validate_ns_svc(ns, svc)?;
            let key = self.keys().workload_key(ns, svc);
            let cmd = redis::cmd("GET").arg(&key).clone();
            self.query(Operation::GetWorkloadState, &cmd)
                .await
                .map_err(wrong_type_names(&key))
        })
        .await
    }

    /// Workload states of several services; services without one are omitted.
    pub async fn get_workload_states<S: AsRef<str>>(
        &self,
        ns: &str,
        services: &[S],
    ) -> Result<BTreeMap<String, String>> {
        self.run(Operation::GetWorkloadStates, async {
            self.keys().validate_namespace(ns)?;
            if services.len() > MAX_SERVICES {
                return Err(Error::invalid_argument(format!(
                    "{} services in one call; the limit is {MAX_SERVICES}",
                    services.len()
                )));
            }
            for svc in services {
                validate_name(NameKind::Service, svc.as_ref())?;
            }
            self.inner
                .monitor
                .batch(Operation::GetWorkloadStates, services.len());
            let mut states = BTreeMap::new();
            if services.is_empty() {
                return Ok(states);
            }
            let keys: Vec<String> = services
                .iter()
                .map(|svc| self.keys().workload_key(ns, svc.as_ref()))
                .collect();
            let values = self.mget(Operation::GetWorkloadStates, &keys).await?;
            for (svc, value) in services.iter().zip(values) {
                if let Some(state) = value {
                    states.insert(svc.as_ref().to_string(), state);
                }
            }
            Ok(states)
        })
        .await
    }

    /// Writes a pod's load record, stamped with the server's clock. Returns the
    /// stamp (epoch milliseconds).
    pub async fn set_pod_load(
        &self,
        ns: &str,
        svc: &str,
        pod: i64,
        load: i64,
        state: i64,
    ) -> Result<i64> {
        self.run(Operation::SetPodLoad, async {
            self.validate_ns_svc(ns, svc)?;
            validate_pod(pod)?;
            validate_non_negative("load", load)?;
            validate_non_negative("state", state)?;
            let key = self.keys().state_key(ns, svc);
            self.eval(
                Operation::SetPodLoad,
                &scripts::SET_POD_LOAD,
                &[&key],
                &[&pod, &load, &state],
            )
            .await
        })
        .await
    }

    /// Load records of a service's pods, optionally only those updated at or after
    /// `fresh_since_ms` (epoch milliseconds). Values that are not load records are
    /// left out.
    pub async fn get_pod_loads(
        &self,
        ns: &str,
        svc: &str,
        fresh_since_ms: Option<i64>,
    ) -> Result<BTreeMap<i64, PodLoad>> {
        self.run(Operation::GetPodLoads, async {
            self.validate_ns_svc(ns, svc)?;
            let key = self.keys().state_key(ns, svc);
            let cmd = redis::cmd("HGETALL").arg(&key).clone();
            let fields: Vec<(String, String)> = self
                .query(Operation::GetPodLoads, &cmd)
                .await
                .map_err(wrong_type_names(&key))?;
            let since = fresh_since_ms.unwrap_or(i64::MIN);
            Ok(parse_loads(fields)
                .filter(|(_, load)| load.updated_ms >= since)
                .collect())
        })
        .await
    }

    // ----- links -----------------------------------------------------------------

    /// Links `uid` to `pod` of `svc` (`persist`: -1 persistent, > 0 TTL seconds).
    /// Returns the previous pod.
    pub async fn set_linked_pod(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        pod: i64,
        persist: i64,
    ) -> Result<Option<i64>> {
        let op = Operation::SetLinkedPod;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            validate_pod(pod)?;
            validate_ttl("persist", persist)?;
            let previous: Option<String> = self
                .eval(
                    op,
                    &scripts::SET_LINKED_POD,
                    &[&keys.link, &keys.index],
                    &[&svc, &pod, &persist],
                )
                .await?;
            parse_pod(&keys.link, previous)
        })
        .await
    }

    /// Links `uid` to `pod` unless a persistent link points to another pod.
    pub async fn try_set_linked_pod(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        pod: i64,
        persist: i64,
    ) -> Result<TrySetOutcome> {
        let op = Operation::TrySetLinkedPod;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            validate_pod(pod)?;
            validate_ttl("persist", persist)?;
            let (ok, current): (i64, String) = self
                .eval(
                    op,
                    &scripts::TRY_SET_LINKED_POD,
                    &[&keys.link, &keys.index],
                    &[&svc, &pod, &persist],
                )
                .await?;
            let pod = parse_pod(&keys.link, Some(current))?.unwrap_or(pod);
            Ok(TrySetOutcome { ok: ok == 1, pod })
        })
        .await
    }

    /// Links `uid` to `pod` only if it has no link; returns the pod actually linked.
    pub async fn set_linked_pod_if_absent(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        pod: i64,
        persist: i64,
    ) -> Result<i64> {
        let op = Operation::SetLinkedPodIfAbsent;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            validate_pod(pod)?;
            validate_ttl("persist", persist)?;
            let linked = self
                .link_if_absent(op, &keys, svc, Some(pod), persist)
                .await?;
            Ok(linked.unwrap_or(pod))
        })
        .await
    }

    /// Runs `set_linked_pod_if_absent.lua`: links `pod` unless a link exists, and
    /// returns the pod linked after the call. With `pod` = `None` it only returns
    /// (and refreshes, as "if absent" does) an existing link.
    async fn link_if_absent(
        &self,
        op: Operation,
        keys: &crate::keys::LinkKeys,
        svc: &str,
        pod: Option<i64>,
        persist: i64,
    ) -> Result<Option<i64>> {
        let pod = pod.map_or_else(String::new, |pod| pod.to_string());
        let linked: Option<String> = self
            .eval(
                op,
                &scripts::SET_LINKED_POD_IF_ABSENT,
                &[&keys.link, &keys.index],
                &[&svc, &pod, &persist],
            )
            .await?;
        parse_pod(&keys.link, linked)
    }

    /// The pod `uid` is linked to for `svc`, persistent or temporary.
    pub async fn get_linked_pod(&self, ns: &str, uid: &str, svc: &str) -> Result<Option<i64>> {
        let op = Operation::GetLinkedPod;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            self.read_link(op, &keys).await
        })
        .await
    }

    /// The link's pod, read with one `GET`: `DATA` naming the key when it
    /// holds the wrong type or something that is not a pod id.
    async fn read_link(&self, op: Operation, keys: &crate::keys::LinkKeys) -> Result<Option<i64>> {
        let cmd = redis::cmd("GET").arg(&keys.link).clone();
        let value: Option<String> = self
            .query(op, &cmd)
            .await
            .map_err(wrong_type_names(&keys.link))?;
        parse_pod(&keys.link, value)
    }

    /// The pod `uid` is linked to for `svc`, only if the link is persistent.
    pub async fn get_linked_pod_if_persist(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
    ) -> Result<Option<i64>> {
        let op = Operation::GetLinkedPodIfPersist;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            // One script reads the value and its TTL at one instant.
            let value: Option<String> = self
                .eval(op, &scripts::READ_PERSISTENT_LINK, &[&keys.link], &[])
                .await?;
            parse_pod(&keys.link, value)
        })
        .await
    }

    /// Links of many uids for one service, grouped by pod; uids keep their input
    /// order; uids without a link are left out.
    pub async fn batch_get_linked_pod<U: AsRef<str>>(
        &self,
        ns: &str,
        uids: &[U],
        svc: &str,
    ) -> Result<BTreeMap<i64, Vec<String>>> {
        let op = Operation::BatchGetLinkedPod;
        self.run(op, async {
            self.validate_ns_svc(ns, svc)?;
            if uids.len() > MAX_BATCH {
                return Err(Error::invalid_argument(format!(
                    "{} uids in one call; the limit is {MAX_BATCH}",
                    uids.len()
                )));
            }
            for uid in uids {
                validate_name(NameKind::Uid, uid.as_ref())?;
            }
            self.inner.monitor.batch(op, uids.len());
            let mut by_pod: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            if uids.is_empty() {
                return Ok(by_pod);
            }
            let keys: Vec<String> = uids
                .iter()
                .map(|uid| self.keys().link_key(ns, uid.as_ref(), svc))
                .collect();
            let values = self.mget(op, &keys).await?;
            for ((uid, key), value) in uids.iter().zip(&keys).zip(values) {
                if let Some(pod) = parse_pod(key, value)? {
                    by_pod
                        .entry(pod)
                        .or_default()
                        .push(uid.as_ref().to_string());
                }
            }
            Ok(by_pod)
        })
        .await
    }

    /// Removes the link (`keep`: -1 now, > 0 readable as temporary for that many
    /// seconds). Returns whether a link existed.
    pub async fn remove_linked_pod(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        keep: i64,
    ) -> Result<bool> {
        let op = Operation::RemoveLinkedPod;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            validate_ttl("keep", keep)?;
            let removed: i64 = self
                .eval(
                    op,
                    &scripts::REMOVE_LINKED_POD,
                    &[&keys.link, &keys.index],
                    &[&svc, &keep, &""],
                )
                .await?;
            Ok(removed == 1)
        })
        .await
    }

    /// As [`Executor::remove_linked_pod`], only when the link points to `pod`.
    pub async fn remove_linked_pod_with_id(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        keep: i64,
        pod: i64,
    ) -> Result<bool> {
        let op = Operation::RemoveLinkedPodWithId;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            validate_ttl("keep", keep)?;
            validate_pod(pod)?;
            let removed: i64 = self
                .eval(
                    op,
                    &scripts::REMOVE_LINKED_POD,
                    &[&keys.link, &keys.index],
                    &[&svc, &keep, &pod],
                )
                .await?;
            Ok(removed == 1)
        })
        .await
    }

    /// The persistent links of `uid`: service -> pod.
    pub async fn get_link_service(&self, ns: &str, uid: &str) -> Result<BTreeMap<String, i64>> {
        let op = Operation::GetLinkService;
        self.run(op, async {
            self.keys().validate_namespace(ns)?;
            validate_name(NameKind::Uid, uid)?;
            let key = self.keys().index_key(ns, uid);
            let cmd = redis::cmd("HGETALL").arg(&key).clone();
            let fields: Vec<(String, String)> =
                self.query(op, &cmd).await.map_err(wrong_type_names(&key))?;
            fields
                .into_iter()
                .map(|(svc, pod)| match parse_pod_id(&pod) {
                    Some(pod) => Ok((svc, pod)),
                    None => Err(Error::data(format!(
                        "key {key} field {svc:?} holds a value that is not a pod id"
                    ))),
                })
                .collect()
        })
        .await
    }

    /// Returns the uid's link for `svc`, or links it to the least-loaded eligible
    /// pod (if it still has no link) and returns the pod actually linked.
    /// `None`: no link and no eligible pod; nothing was written.
    pub async fn compute_linked_pod(
        &self,
        ns: &str,
        uid: &str,
        svc: &str,
        persist: i64,
        policy: RoutingPolicy,
    ) -> Result<Option<i64>> {
        let op = Operation::ComputeLinkedPod;
        self.run(op, async {
            let keys = self.link_keys(ns, uid, svc)?;
            validate_ttl("persist", persist)?;
            if policy.max_age_ms <= 0 {
                return Err(Error::invalid_argument(
                    "policy.max_age_ms must be positive",
                ));
            }
            // An existing link wins. No round trip here may write a pod read in
            // an earlier one: a link removed in between would come back.
            let existing = if persist == -1 {
                // Nothing to refresh: a read is enough.
                self.read_link(op, &keys).await?
            } else {
                // Returns and refreshes a temporary link in one script, only if
                // the link still exists when it runs.
                self.link_if_absent(op, &keys, svc, None, persist).await?
            };
            if existing.is_some() {
                return Ok(existing);
            }
            // The pod states live in another slot: read them with the server's
            // clock in one call, then set-if-absent in a second.
            let state_key = self.keys().state_key(ns, svc);
            let (now_ms, flat): (i64, Vec<String>) = self
                .eval(op, &scripts::READ_POD_LOADS, &[&state_key], &[])
                .await?;
            let fields = flat
                .chunks_exact(2)
                .map(|pair| (pair[0].clone(), pair[1].clone()));
            let oldest = now_ms.saturating_sub(policy.max_age_ms);
            let chosen = parse_loads(fields)
                .filter(|(_, load)| load.updated_ms >= oldest && load.state <= policy.max_state)
                .min_by_key(|(pod, load)| (load.load, *pod))
                .map(|(pod, _)| pod);
            match chosen {
                None => Ok(None),
                // Set-if-absent: a link made meanwhile by another caller wins.
                Some(pod) => {
                    self.link_if_absent(op, &keys, svc, Some(pod), persist)
                        .await
                }
            }
        })
        .await
    }

    fn validate_ns_svc(&self, ns: &str, svc: &str) -> Result<()> {
        self.keys().validate_namespace(ns)?;
        validate_name(NameKind::Service, svc)
    }

    fn link_keys(&self, ns: &str, uid: &str, svc: &str) -> Result<crate::keys::LinkKeys> {
        self.keys().validate_namespace(ns)?;
        validate_name(NameKind::Uid, uid)?;
        validate_name(NameKind::Service, svc)?;
        Ok(self.keys().link_keys(ns, uid, svc))
    }
}

/// Script arguments of mixed types.
pub(crate) trait ToRedisArgsDyn: Sync {
    fn write_to(&self, cmd: &mut Cmd);
}

impl<T: ToRedisArgs + Sync> ToRedisArgsDyn for T {
    fn write_to(&self, cmd: &mut Cmd) {
        cmd.arg(self);
    }
}

/// A request to the server: one command or a pipeline.
trait Request: Sync {
    fn send<'a, T: FromRedisValue + 'static>(
        &'a self,
        connection: &'a mut connection::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send + 'a;
}

impl Request for Cmd {
    fn send<'a, T: FromRedisValue + 'static>(
        &'a self,
        connection: &'a mut connection::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send + 'a {
        self.query_async(connection)
    }
}

impl Request for redis::Pipeline {
    fn send<'a, T: FromRedisValue + 'static>(
        &'a self,
        connection: &'a mut connection::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send + 'a {
        self.query_async(connection)
    }
}

fn is_noscript(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(ServerErrorKind::NoScript)
}

/// Whether the request surely never reached the server (nothing ran).
fn surely_not_sent(e: &redis::RedisError) -> bool {
    e.is_connection_refusal() || e.kind() == redis::ErrorKind::Server(ServerErrorKind::BusyLoading)
}

/// Whether a failed request may be sent again: always when it surely never ran,
/// and reads on any transient failure. A write whose reply was lost is never
/// sent again, idempotent or not: another process may have written in between,
/// and the resend would undo that newer write (`docs/reliability.md`, "Which
/// calls are retried"). NOSCRIPT is handled by `eval`.
fn may_retry(op: Operation, e: &redis::RedisError) -> bool {
    if is_noscript(e) {
        return false;
    }
    surely_not_sent(e) || (op.is_idempotent() && (e.is_io_error() || e.is_timeout()))
}

/// Turns a redis-rs failure into our error; `retryable` tells the caller whether
/// calling again is safe *and* may succeed: the failure is transient and the
/// operation a read, or the request surely never ran, or the server answered
/// it with a refusal (a transient server error such as OOM, LOADING, MOVED is
/// given before the command runs). A write whose reply was lost is not.
fn classify_failure(op: Operation, e: redis::RedisError) -> Error {
    let reply_lost = e.is_io_error() || e.is_timeout() || e.is_connection_dropped();
    let safe_to_repeat = op.is_idempotent() || surely_not_sent(&e) || !reply_lost;
    // Redis 7.0 reports a command refused by the ACL inside a script as a plain
    // `ERR The user executing the script can't run this command ...`: the same
    // refusal as NOPERM.
    let refused_in_script = e.kind() == redis::ErrorKind::Server(ServerErrorKind::ResponseError)
        && e.detail()
            .is_some_and(|d| d.contains("The user executing the script can't run"));
    let classified = Error::from_redis(e.clone());
    let code = if refused_in_script {
        ErrorCode::Auth
    } else {
        classified.code()
    };
    let message = if reply_lost && !safe_to_repeat {
        format!(
            "{}; the request may have run: its outcome is unknown (read before writing again)",
            classified.message()
        )
    } else {
        classified.message().to_string()
    };
    let retryable = code.is_transient() && safe_to_repeat;
    Error::new(code, message)
        .with_source(e)
        .with_retryable(retryable)
}

fn validate_pod(pod: i64) -> Result<()> {
    if !(0..=MAX_POD).contains(&pod) {
        return Err(Error::invalid_argument(format!(
            "pod must be between 0 and {MAX_POD}, not {pod}"
        )));
    }
    Ok(())
}

fn validate_ttl(name: &str, seconds: i64) -> Result<()> {
    if seconds == -1 || (1..=MAX_TTL_SECONDS).contains(&seconds) {
        return Ok(());
    }
    Err(Error::invalid_argument(format!(
        "{name} must be -1 (persistent) or between 1 and {MAX_TTL_SECONDS} seconds, not {seconds}"
    )))
}

fn validate_non_negative(name: &str, value: i64) -> Result<()> {
    if value < 0 {
        return Err(Error::invalid_argument(format!(
            "{name} must not be negative, not {value}"
        )));
    }
    Ok(())
}

/// A pod id in canonical form: decimal digits without sign, spaces or leading
/// zeros, within `0..=MAX_POD` (the same range as for inputs). Anything else
/// read from Redis is not a pod id: `07` must not collide with `7`, and an id
/// beyond the range must not be misread.
pub fn parse_pod_id(text: &str) -> Option<i64> {
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    parse_decimal(text).filter(|pod| *pod <= MAX_POD)
}

/// A link value read from `key`: a pod id, or `DATA` naming the key.
fn parse_pod(key: &str, value: Option<String>) -> Result<Option<i64>> {
    match value {
        None => Ok(None),
        Some(text) => match parse_pod_id(&text) {
            Some(pod) => Ok(Some(pod)),
            None => Err(Error::data(format!(
                "key {key} holds a link that is not a pod id"
            ))),
        },
    }
}

/// Pod-state fields that are load records, keyed by pod id.
fn parse_loads(
    fields: impl IntoIterator<Item = (String, String)>,
) -> impl Iterator<Item = (i64, PodLoad)> {
    fields
        .into_iter()
        .filter_map(|(field, value)| Some((parse_pod_id(&field)?, PodLoad::parse(&value)?)))
}

/// `WRONGTYPE` from a command on one key: `DATA` naming the key (SPEC 4).
fn wrong_type_names(key: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |err| {
        if err.code() == ErrorCode::Data {
            err.with_message(format!(
                "key {key} holds a value of the wrong type for this operation"
            ))
        } else {
            err
        }
    }
}

/// A `DATA` error raised by a script names its key; Redis appends where in
/// which script it was raised (" script: <sha>, on @user_script:N."), which
/// tells the caller nothing.
fn without_script_location(err: Error) -> Error {
    if err.code() != ErrorCode::Data {
        return err;
    }
    match err.message().find(" script: ") {
        Some(at) => {
            let message = err.message()[..at].to_string();
            err.with_message(message)
        }
        None => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_records_parse_strictly() {
        assert_eq!(
            PodLoad::parse("12-1700000000000-2"),
            Some(PodLoad {
                load: 12,
                state: 2,
                updated_ms: 1_700_000_000_000
            })
        );
        for bad in [
            "", "1-2", "1-2-3-4", "a-2-3", "-1-2-3", "1--3", "1-2-", "1-2-+3", "online",
        ] {
            assert_eq!(PodLoad::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ttl_and_pod_bounds() {
        assert!(validate_ttl("persist", -1).is_ok());
        assert!(validate_ttl("persist", 1).is_ok());
        assert!(validate_ttl("persist", 0).is_err());
        assert!(validate_ttl("persist", -2).is_err());
        assert!(validate_pod(0).is_ok());
        assert!(validate_pod(-1).is_err());
        assert!(validate_pod(MAX_POD + 1).is_err());
    }
}
