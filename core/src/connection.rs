//! The connections an executor sends its requests over: a standalone server through
//! redis-rs's `ConnectionManager` (one multiplexed connection, re-established by
//! itself), or a Redis Cluster through redis-rs's async cluster connection (MOVED
//! and ASK followed, slots refreshed; the executor splits batch reads by slot).
//!
//! This file holds one connection: opening it, and the watch that tells a
//! stalled connection from a slow call. The pool that picks, replaces and
//! resizes them is [`crate::pool`].
//!
//! A connection that stops answering is replaced (see [`PooledConnection`]):
//! requests its callers gave up on would otherwise pile up inside a multiplexed
//! connection for as long as the server is stalled, and a cluster connection of
//! redis-rs 1.8 can wedge itself during a failover (see `docs/reliability.md`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::config::Config;

/// One logical connection.
#[derive(Clone)]
pub(crate) enum Connection {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Standalone(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Standalone(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// One connection of an executor's pool, with what tells a stalled connection
/// from a slow call.
///
/// A multiplexed connection keeps every request it wrote until its reply comes.
/// When the server stalls (stopped, paused, a half-open peer), callers give up
/// at their deadline but their requests stay queued, so memory would grow with
/// the length of the stall. A request that waited at least half the command
/// timeout, ending without a reply while the connection had answered nothing
/// for that long, marks it stalled; the next call that picks it replaces it with
/// a new connection. The old one closes, its queue freed, once its last call has
/// returned.
///
/// A replacement that has not answered yet may still be connecting (its
/// callers wait for the handshake, nothing queues), so it is only judged once
/// the connect timeout has passed: during a long stall a slot makes a new
/// connection at most about once per connect timeout.
/// Bit 0 of [`PooledConnection::reply_state`]: the connection was lost since
/// the last reply.
const LOST: u64 = 1;

pub(crate) struct PooledConnection {
    pub(crate) connection: Connection,
    /// Unique in the process (tests tell connections apart by it).
    pub(crate) id: u64,
    origin: Instant,
    /// The last news of the connection, in one word so that a reply and a
    /// failure are judged against each other atomically (see
    /// [`ReplyWatch::failed`]). High 63 bits: when the request of the last
    /// reply (a value or a server error) was sent, in nanoseconds since
    /// `origin`, 0 before the first (the send time stands for the reply's: it
    /// is known already, so the reply path reads no clock). With bit 0
    /// ([`LOST`]) set, it is instead the send time of a request that found the
    /// connection lost, after that last reply.
    reply_state: AtomicU64,
    stalled: AtomicBool,
    /// The cluster connection opened in its place, once it is: callers that
    /// pick this connection after it was found stalled wait for it together.
    pub(crate) replacement: tokio::sync::OnceCell<Arc<PooledConnection>>,
    /// For a replacement: before this instant, no reply yet is no evidence.
    connecting_until: Option<Instant>,
    /// The connection still has to take the configured `client_name`: a
    /// replacement connects on first use, and a re-established connection is
    /// a new, unnamed one on the server.
    name_pending: AtomicBool,
}

impl PooledConnection {
    fn new(connection: Connection, connecting_until: Option<Instant>) -> PooledConnection {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        PooledConnection {
            connection,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            origin: Instant::now(),
            reply_state: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            replacement: tokio::sync::OnceCell::new(),
            name_pending: AtomicBool::new(connecting_until.is_some()),
            connecting_until,
        }
    }

    /// Marks the connection as re-established: it takes its name again.
    pub(crate) fn rename_later(&self) {
        self.name_pending.store(true, Ordering::Relaxed);
    }

    /// Clears the mark; true for the one caller that should name the connection.
    #[inline]
    pub(crate) fn take_name_pending(&self) -> bool {
        // Read first: every reply passes here, and a compare-and-swap would
        // take the cache line exclusively even when it fails.
        self.name_pending.load(Ordering::Relaxed)
            && self
                .name_pending
                .compare_exchange(true, false, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    /// Starts watching one request sent on this connection.
    pub(crate) fn watch(&self, stall_after: Duration) -> ReplyWatch<'_> {
        ReplyWatch {
            pooled: self,
            started: Some(Instant::now()),
            stall_after,
        }
    }

    /// Found stalled, or already replaced (a cluster connection's callers then
    /// go to its replacement).
    pub(crate) fn needs_replacement(&self) -> bool {
        self.stalled.load(Ordering::Relaxed) || self.replacement.initialized()
    }

    /// Clears the mark; true for the one caller that should replace it.
    pub(crate) fn take_stalled(&self) -> bool {
        self.stalled
            .compare_exchange(true, false, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// Whether the connection answered nothing during the `quiet` before `now`.
    fn silent_for(&self, quiet: Duration, now: Instant) -> bool {
        match self.last_reply_ns() {
            // Never answered: a replacement may still be connecting.
            0 => self.connecting_until.is_none_or(|until| now >= until),
            last => {
                let since_origin = now.saturating_duration_since(self.origin);
                since_origin.saturating_sub(Duration::from_nanos(last)) >= quiet
            }
        }
    }

    /// The send time of the last reply, or of a later request that found the
    /// connection lost (a stall is judged from then: a lost connection fails
    /// its requests at once, it does not leave them waiting).
    fn last_reply_ns(&self) -> u64 {
        self.reply_state.load(Ordering::Relaxed) >> 1
    }
}

/// One request on a [`PooledConnection`]. Dropped without [`ReplyWatch::replied`]
/// (the caller gave up, or the response timed out) after the stall period, with
/// no reply on the connection during that period, it marks the connection
/// stalled. A cluster connection counts the replies of every node: it is stalled
/// only when no node answers (one stopped node leaves the others answering).
pub(crate) struct ReplyWatch<'a> {
    pooled: &'a PooledConnection,
    /// `None` once replied.
    started: Option<Instant>,
    stall_after: Duration,
}

impl ReplyWatch<'_> {
    /// The request was answered (with a value or a server error). True for the
    /// first reply after the connection was lost (see [`ReplyWatch::failed`])
    /// to a request sent after the one that found it lost: the
    /// `ConnectionManager` re-established the connection.
    pub(crate) fn replied(mut self) -> bool {
        let Some(started) = self.started.take() else {
            return false;
        };
        let sent = self.pooled.sent_ns(started);
        // Only forward: a late reply of an older request must neither make the
        // connection look silent since that older send nor count as news
        // after a loss.
        let update =
            self.pooled
                .reply_state
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
                    (sent > state >> 1).then_some(sent << 1)
                });
        let reconnected = matches!(update, Ok(before) if before & LOST != 0);
        if reconnected {
            tracing::info!(
                target: "stateful_redis::connection",
                connection = self.pooled.id,
                "connection re-established after a loss"
            );
        }
        reconnected
    }

    /// The request failed without an answer (`error` is no server reply). A
    /// lost connection (not a timeout, which leaves it open) is re-established
    /// by its `ConnectionManager`; [`ReplyWatch::replied`] tells when. A loss
    /// is old news, and ignored, when a request sent after this one was
    /// answered already (callers that waited on the dead connection learn of
    /// it after others were served by the new one). A replacement that never
    /// connected has nothing to re-establish. A cluster connection reconnects
    /// its nodes inside redis-rs, out of sight, while other nodes keep
    /// answering: only its replacement counts.
    pub(crate) fn failed(self, error: &redis::RedisError) {
        let pooled = self.pooled;
        let Some(started) = self.started else {
            return;
        };
        let never_up = pooled.connecting_until.is_some() && pooled.last_reply_ns() == 0;
        if !error.is_io_error()
            || error.is_timeout()
            || never_up
            || !matches!(pooled.connection, Connection::Standalone(_))
        {
            return;
        }
        let sent = pooled.sent_ns(started);
        let update =
            pooled
                .reply_state
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
                    (sent > state >> 1).then_some(sent << 1 | LOST)
                });
        if matches!(update, Ok(before) if before & LOST == 0) {
            // Once per loss: later requests that find it lost say nothing new.
            tracing::warn!(
                target: "stateful_redis::connection",
                connection = pooled.id,
                error = %crate::error::scrub(&error.to_string()),
                "connection lost; it is re-established on the next request"
            );
        }
        // Dropped here: the stall rule still judges this request.
    }
}

impl PooledConnection {
    /// When a request started at `started` was sent, as stamped (at least 1).
    fn sent_ns(&self, started: Instant) -> u64 {
        (started.saturating_duration_since(self.origin).as_nanos() as u64).max(1)
    }
}

impl Drop for ReplyWatch<'_> {
    fn drop(&mut self) {
        if let Some(started) = self.started {
            let now = Instant::now();
            if now.saturating_duration_since(started) >= self.stall_after
                && self.pooled.silent_for(self.stall_after, now)
            {
                self.pooled.stalled.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// Whether a request's outcome came from the server (a value or a server error),
/// as opposed to a lost connection or a timeout.
pub(crate) fn answered<T>(result: &redis::RedisResult<T>) -> bool {
    match result {
        Ok(_) => true,
        Err(e) => !unanswered(e),
    }
}

/// Whether a failure is no reply of the server: a lost connection or a timeout.
pub(crate) fn unanswered(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped()
}

/// Opens `count` connections as the configuration says (standalone or cluster).
pub(crate) async fn open(
    config: &Config,
    count: usize,
) -> redis::RedisResult<Vec<Arc<PooledConnection>>> {
    let mut connections = Vec::with_capacity(count);
    for _ in 0..count {
        let mut connection = if config.is_cluster() {
            Connection::Cluster(open_cluster(config).await?)
        } else {
            let client = redis::Client::open(config.connection_info.clone())?;
            Connection::Standalone(
                ConnectionManager::new_with_config(client, manager_config(config)).await?,
            )
        };
        set_name(config, &mut connection).await?;
        connections.push(Arc::new(PooledConnection::new(connection, None)));
    }
    Ok(connections)
}

/// Gives `connection` the configured `client_name` (`CLIENT SETNAME`; on a
/// cluster, redis-rs sends it to every node). Nothing to do without one.
///
/// redis-rs 1.8 has no client name in its connection settings, so a connection
/// takes its name once opened, and again once it answers after a loss (see
/// [`PooledConnection::rename_later`]): requests sent between the reconnect
/// and that first reply run under no name. A cluster node that redis-rs
/// reconnects by itself, out of sight, stays unnamed until the cluster
/// connection is replaced.
pub(crate) async fn set_name(
    config: &Config,
    connection: &mut Connection,
) -> redis::RedisResult<()> {
    match &config.options.client_name {
        Some(name) => {
            redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(name)
                .exec_async(connection)
                .await
        }
        None => Ok(()),
    }
}

/// A new standalone connection in place of a stalled one; it connects on first
/// use, so opening it never waits. (A cluster connection is opened with
/// [`open`], in the background.)
pub(crate) fn open_standalone_replacement(
    config: &Config,
) -> redis::RedisResult<Arc<PooledConnection>> {
    let client = redis::Client::open(config.connection_info.clone())?;
    let manager = ConnectionManager::new_lazy_with_config(client, manager_config(config))?;
    Ok(Arc::new(PooledConnection::new(
        Connection::Standalone(manager),
        Some(config.connect_deadline(Instant::now())),
    )))
}

fn manager_config(config: &Config) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        // Bounds the connect and its handshake (AUTH, SELECT).
        .set_connection_timeout(Some(config.connect_timeout()))
        // No response timeout of redis-rs's own: every request on a standalone
        // connection is already bounded by the command timeout of its call
        // (`Executor::run`) or by a `tokio::time::timeout` of its own (script
        // loading, the connect-time checks), and a second timer of the same
        // length, started later, only cost a timer-wheel entry per request
        // (issue 14). A caller that gives up drops its request, which the
        // stall rule judges as before (`ReplyWatch`).
        .set_response_timeout(None)
        // Reconnect attempts are made on demand by later calls, each within its
        // own deadline, so the manager itself tries once per loss.
        .set_number_of_retries(0)
        .set_min_delay(Duration::from_millis(10))
        .set_max_delay(Duration::from_millis(100))
}

async fn open_cluster(config: &Config) -> redis::RedisResult<ClusterConnection> {
    let seeds = config.cluster_seeds();
    let settings = config.connection_info.redis_settings();
    let mut builder = ClusterClientBuilder::new(seeds)
        .connection_timeout(config.connect_timeout())
        .response_timeout(config.command_timeout())
        .tcp_settings(config.connection_info.tcp_settings().clone())
        // Redirections (MOVED/ASK) and TRYAGAIN are followed a bounded number
        // of times; the executor's deadline bounds the whole call anyway.
        .retries(5)
        .min_retry_wait(5)
        .max_retry_wait(200);
    if let Some(user) = settings.username() {
        builder = builder.username(user);
    }
    if let Some(password) = settings.password() {
        builder = builder.password(password);
    }
    if let Some(certs) = &config.tls {
        builder = builder.certs(certs.clone());
    }
    builder.build()?.get_async_connection().await
}

/// Whether a standalone-configured server is in fact a cluster node. A user the
/// ACL does not allow `INFO` (the operations do not need it) is taken to be on
/// a standalone server: see "Access control" in `docs/reliability.md`.
pub(crate) async fn is_cluster_node(connection: &mut Connection) -> redis::RedisResult<bool> {
    let info: redis::RedisResult<String> = redis::cmd("INFO")
        .arg("cluster")
        .query_async(connection)
        .await;
    match info {
        Ok(info) => Ok(info.contains("cluster_enabled:1")),
        Err(e) if is_no_perm(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A command the ACL refused (`NOPERM`).
pub(crate) fn is_no_perm(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoPerm)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that never connects (lazy, to a port nobody listens on):
    /// only its reply stamps are used.
    fn pooled() -> PooledConnection {
        let client = redis::Client::open("redis://127.0.0.1:1").unwrap();
        let manager =
            ConnectionManager::new_lazy_with_config(client, ConnectionManagerConfig::new())
                .unwrap();
        PooledConnection::new(Connection::Standalone(manager), None)
    }

    #[tokio::test]
    async fn a_late_reply_of_an_older_request_does_not_move_the_stamp_back() {
        let pooled = pooled();
        let stall_after = Duration::from_secs(1);
        let older = pooled.watch(stall_after);
        // Instants are monotonic: the newer request is sent strictly later.
        std::thread::sleep(Duration::from_millis(2));
        let newer = pooled.watch(stall_after);
        assert!(!newer.replied(), "nothing was lost");
        let stamp = pooled.last_reply_ns();
        assert!(stamp > 0);
        // The older request's reply comes last.
        older.replied();
        assert_eq!(pooled.last_reply_ns(), stamp);
    }

    #[tokio::test]
    async fn the_first_reply_after_a_lost_connection_counts_once_a_timeout_never() {
        let pooled = pooled();
        let stall_after = Duration::from_secs(1);
        let io = |kind| redis::RedisError::from(std::io::Error::from(kind));
        let later = || {
            // Instants are monotonic: each request is sent strictly later.
            std::thread::sleep(Duration::from_millis(1));
            pooled.watch(stall_after)
        };
        assert!(!later().replied(), "nothing was lost");
        later().failed(&io(std::io::ErrorKind::TimedOut));
        assert!(!later().replied(), "a timeout loses nothing");
        // Sent before the loss, answered after it: no news.
        let old = later();
        later().failed(&io(std::io::ErrorKind::ConnectionReset));
        later().failed(&io(std::io::ErrorKind::ConnectionRefused));
        assert!(!old.replied());
        assert!(later().replied(), "back");
        assert!(!later().replied(), "counted once");
        // A loss found by a request sent before the last answered one is old news.
        let stale = later();
        assert!(!later().replied());
        stale.failed(&io(std::io::ErrorKind::ConnectionReset));
        assert!(!later().replied());
    }
}
