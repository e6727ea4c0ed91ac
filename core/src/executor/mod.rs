//! The asynchronous executor: the façade every binding calls.
//!
//! A call flows through `Executor::run` here (closed check, in-flight limit,
//! deadline, measurement) into its operation (`crate::ops`: validates the
//! input, builds the keys, parses the reply), which sends one command or one
//! script through the transport (`transport.rs`: retries, `NOSCRIPT`, batch
//! reads by hash slot, failure classification) over a connection of the pool
//! ([`crate::pool`]).
//!
//! This file holds the [`Executor`] itself: connecting, `run`, and the
//! accessors. The measurements the bindings read and the two run-time
//! optimizers are in `monitor_ops.rs`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::connection::{self, PooledConnection};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::KeySchema;
use crate::monitor::{Monitor, PoolProbe};
use crate::operation::Operation;
use crate::pool::Pool;
use crate::scripts;
use crate::thread_io::event_loop::EventLoopConnection;
use crate::thread_io::{CallDeadline, ThreadConnections};

mod monitor_ops;
mod transport;

// The types, limits and parsers of the operations, under the paths they have
// always had.
pub use crate::model::{parse_pod_id, PodLoad, RoutingPolicy, TrySetOutcome};
pub use crate::pool::PoolChange;
pub use crate::scripts::ScriptsReport;
pub use crate::validate::{MAX_BATCH, MAX_POD, MAX_SERVICES, MAX_TTL_SECONDS};
pub use transport::BATCH_CHUNK;

/// How often the executor evaluates alert rules.
const ALERT_TICK: Duration = Duration::from_secs(1);

/// The executor: cheap to clone, shared by every task and thread.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
    /// Where this handle's calls are polled, and so which connections they
    /// may use besides the shared ones.
    driven_by: DrivenBy,
}

/// Who polls a handle's calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DrivenBy {
    /// Any task of any runtime: the shared connections only.
    Runtime,
    /// The blocking facade, on the caller's thread (`BlockingExecutor::call`):
    /// the thread connections too (`crate::thread_io`).
    CallerThread,
    /// A binding's event loop, on its thread: the event-loop connection too
    /// (`crate::thread_io::event_loop`).
    EventLoop,
}

struct Inner {
    config: Config,
    schema: KeySchema,
    pool: Pool,
    /// The option `thread_connections`; `None` when off or on a cluster.
    thread_connections: Option<ThreadConnections>,
    /// The option `event_loop_connection`; `None` when off, on a cluster or TLS.
    event_loop: Option<Arc<EventLoopConnection>>,
    in_flight: AtomicUsize,
    closed: AtomicBool,
    monitor: Arc<Monitor>,
    /// Requests written per operation, retries included (see `requests_sent`).
    requests_sent: [AtomicU64; Operation::ALL.len()],
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
            .field("connections", &self.inner.pool.len())
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Executor {
    /// Connects (bounded by the connect timeout) and loads the scripts.
    /// Must run inside a tokio runtime, which then drives the connections.
    pub async fn connect(config: Config) -> Result<Executor> {
        let monitor = Executor::monitor_for(&config)?;
        Executor::connect_with_monitor(config, Arc::new(monitor)).await
    }

    /// A new monitor for `config`: its const labels are the option
    /// `metrics_labels` (already checked by [`Config`]).
    pub fn monitor_for(config: &Config) -> Result<Monitor> {
        Monitor::new()
            .labelled(&config.options.metrics_labels)
            .map_err(|e| Error::config(e.message().to_string()))
    }

    /// As [`Executor::connect`], recording into a given monitor, which must
    /// have the const labels of the option `metrics_labels` (made by
    /// [`Executor::monitor_for`], or `Monitor::labelled`): else `CONFIG`.
    pub async fn connect_with_monitor(config: Config, monitor: Arc<Monitor>) -> Result<Executor> {
        let same_labels = monitor.const_labels().len() == config.options.metrics_labels.len()
            && monitor
                .const_labels()
                .iter()
                .zip(&config.options.metrics_labels)
                .all(|((a, b), (c, d))| a == c && b == d);
        if !same_labels {
            return Err(Error::config(
                "the monitor's const labels differ from the option metrics_labels \
                 (make the monitor with Executor::monitor_for)",
            ));
        }
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
        monitor.set_server(otel_server(&config));
        let thread_connections = ThreadConnections::new(&config).map_err(Error::from_redis)?;
        let counts_reconnect = monitor.clone();
        let event_loop = EventLoopConnection::open(
            &config,
            tokio::runtime::Handle::current(),
            Box::new(move || counts_reconnect.reconnect()),
        )
        .await
        .map_err(|e| {
            let err = Error::from_redis(e);
            Error::new(
                ErrorCode::Connection,
                format!(
                    "cannot connect to {}: {}",
                    config.server_label(),
                    err.message()
                ),
            )
        })?;
        let executor = Executor {
            driven_by: DrivenBy::Runtime,
            inner: Arc::new(Inner {
                schema: config.key_schema(),
                config,
                pool: Pool::new(connections),
                thread_connections,
                event_loop,
                in_flight: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
                monitor,
                requests_sent: std::array::from_fn(|_| AtomicU64::new(0)),
            }),
        };
        // A user the ACL does not allow SCRIPT LOAD can still run the scripts:
        // each loads on first use (EVAL after NOSCRIPT).
        if let Err(e) = executor.load_scripts().await {
            if e.code() != ErrorCode::Auth {
                return Err(e);
            }
            tracing::warn!(target: "stateful_redis::executor", error = %e, "scripts not preloaded; each loads on first use");
        }
        executor.start_monitor();
        Ok(executor)
    }

    /// Attaches the pool probe and, with the monitor on, starts the alert tick:
    /// a task that evaluates alert rules every [`ALERT_TICK`] and ends once the
    /// executor is closed or dropped.
    fn start_monitor(&self) {
        let probe: Weak<dyn PoolProbe> = Arc::downgrade(&self.inner) as Weak<Inner>;
        self.inner.monitor.attach(probe);
        if !self.inner.config.options.monitor {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(ALERT_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                if inner.closed.load(Ordering::Acquire) {
                    break;
                }
                inner.monitor.evaluate_alerts();
            }
        });
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
    #[inline]
    pub fn monitor(&self) -> &Arc<Monitor> {
        &self.inner.monitor
    }

    /// The key layout in use.
    #[inline]
    pub(crate) fn keys(&self) -> KeySchema {
        self.inner.schema
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
        if let Some(thread_connections) = &self.inner.thread_connections {
            thread_connections.close();
        }
    }

    /// A handle whose calls may do their I/O on the calling thread (option
    /// `thread_connections`): for the blocking facade, which polls every call
    /// on its caller's thread, never for a future spawned on a runtime.
    pub(crate) fn on_caller_thread(&self) -> Executor {
        Executor {
            inner: self.inner.clone(),
            driven_by: DrivenBy::CallerThread,
        }
    }

    /// With the option `event_loop_connection`: a handle whose calls do
    /// their I/O on the event-loop connection, and that connection, for a
    /// binding whose event loop watches its socket. The handle's futures must
    /// be polled on the loop's thread only, with the core's runtime entered
    /// (their timers are the runtime's). `None` when the option is off, on a
    /// cluster, or over TLS.
    pub fn on_event_loop(&self) -> Option<(Executor, Arc<EventLoopConnection>)> {
        let connection = self.inner.event_loop.clone()?;
        let handle = Executor {
            inner: self.inner.clone(),
            driven_by: DrivenBy::EventLoop,
        };
        Some((handle, connection))
    }

    /// The thread connections, for a call on the caller's thread.
    #[inline]
    fn thread_connections(&self) -> Option<&ThreadConnections> {
        if self.driven_by == DrivenBy::CallerThread {
            self.inner.thread_connections.as_ref()
        } else {
            None
        }
    }

    /// The event-loop connection, for a call on the loop's thread.
    #[inline]
    fn event_loop_connection(&self) -> Option<&Arc<EventLoopConnection>> {
        if self.driven_by == DrivenBy::EventLoop {
            self.inner.event_loop.as_ref()
        } else {
            None
        }
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Connections replaced because they stopped answering (see
    /// `PooledConnection` in `connection.rs`): a stalled server, a half-open peer.
    pub fn connections_replaced(&self) -> u64 {
        self.inner.pool.replaced()
    }

    /// The pool's connections, by a process-unique id, in pool order (tests).
    #[doc(hidden)]
    pub fn pool_connection_ids(&self) -> Vec<u64> {
        self.inner.pool.connection_ids()
    }

    /// The connection for the next request, a stalled one replaced first.
    async fn connection(&self) -> Arc<PooledConnection> {
        let pooled = self.inner.pool.pick();
        if pooled.needs_replacement() {
            return Box::pin(self.replace_stalled(&pooled)).await;
        }
        pooled
    }

    /// Replaces a stalled connection in the pool (see [`Pool::replace_stalled`]),
    /// counting it as a reconnect in the monitor.
    #[cold]
    async fn replace_stalled(&self, stalled: &Arc<PooledConnection>) -> Arc<PooledConnection> {
        let inner = &*self.inner;
        inner
            .pool
            .replace_stalled(&inner.config, stalled, || inner.monitor.reconnect())
            .await
    }

    /// Runs one operation: refuses it when closed or over the in-flight limit,
    /// bounds it by the command timeout, names it in errors and measures it.
    pub(crate) async fn run<T>(
        &self,
        op: Operation,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
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
            // From `start`, read once for the deadline and the duration.
            let deadline = inner.config.command_deadline(start);
            // The round trips on this thread bound their sockets by it
            // (nothing to set when they cannot use a thread connection).
            let _deadline = self
                .thread_connections()
                .map(|_| CallDeadline::set(deadline));
            match tokio::time::timeout_at(deadline.into(), call).await {
                Ok(result) => result,
                Err(_) => Err(Error::timeout(inner.config.command_timeout())
                    .with_retryable(op.is_idempotent())),
            }
        };
        if inner.config.options.monitor {
            let outcome = match &result {
                Ok(_) => Ok(()),
                Err(e) => Err(e.code()),
            };
            inner.monitor.record_since(op, start, outcome);
        }
        result.map_err(|e| e.with_operation(op.name()))
    }

    /// Tells the monitor a call started (peak in-flight, contention).
    #[inline]
    fn note_call_started(&self) {
        let inner = &*self.inner;
        inner
            .monitor
            .call_started(inner.in_flight.load(Ordering::Relaxed), inner.pool.len());
    }
}

/// The server of the OpenTelemetry attributes: address, port and database
/// index when standalone (a cluster's calls go to many nodes), and the
/// pool's name (`host:port/db` or `path/db`; the first seed in cluster
/// mode). No credentials.
fn otel_server(config: &Config) -> crate::monitor::otel::Server {
    let info = config
        .cluster_seeds
        .first()
        .unwrap_or(&config.connection_info);
    let db = info.redis_settings().db();
    let (address, port) = match info.addr() {
        redis::ConnectionAddr::Tcp(host, port)
        | redis::ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), Some(*port)),
        redis::ConnectionAddr::Unix(path) => (path.display().to_string(), None),
        _ => ("unknown".to_string(), None),
    };
    let pool_name = match port {
        Some(port) => format!("{address}:{port}/{db}"),
        None => format!("{address}/{db}"),
    };
    crate::monitor::otel::Server {
        standalone: (!config.is_cluster()).then_some((address, port, db)),
        pool_name,
    }
}
