//! The transport: how an operation's request reaches the server and how its
//! failure comes back. One request over a connection of the pool, retried as
//! the retry policy allows ([`Executor::query`]); a script by `EVALSHA`, once
//! more by `EVAL` after `NOSCRIPT` ([`Executor::eval`]); many keys by `MGET`,
//! split by hash slot on a cluster ([`Executor::mget`]); and the
//! classification of a redis-rs failure into an [`Error`] with its code and
//! `retryable` flag (`classify_failure`).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::Ordering;

use redis::{Cmd, FromRedisValue, ServerErrorKind, ToRedisArgs};

use super::Executor;
use crate::connection;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::cluster_slot;
use crate::operation::Operation;
use crate::scripts::LuaScript;

/// Uids per `MGET` inside one batch call.
pub const BATCH_CHUNK: usize = 1_000;

/// Script arguments of mixed types.
pub(crate) trait ToRedisArgsDyn: Sync {
    fn write_to(&self, cmd: &mut Cmd);
}

impl<T: ToRedisArgs + Sync> ToRedisArgsDyn for T {
    fn write_to(&self, cmd: &mut Cmd) {
        cmd.arg(self);
    }
}

/// A request to the server: one command or a pipeline, sent on a shared
/// connection (`send`) or on a thread connection, blocking (`send_blocking`).
pub(crate) trait Request: Sync {
    fn send<'a, T: FromRedisValue + 'static>(
        &'a self,
        connection: &'a mut connection::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send + 'a;

    fn send_blocking<T: FromRedisValue>(
        &self,
        connection: &mut dyn redis::ConnectionLike,
    ) -> redis::RedisResult<T>;

    /// Appends the packed request for the event-loop connection, whose
    /// reply is one value; false when it cannot go there.
    fn write_packed(&self, out: &mut Vec<u8>) -> bool;

    /// The result of a request sent by `write_packed`, from its reply.
    fn from_reply<T: FromRedisValue>(reply: redis::Value) -> redis::RedisResult<T>;
}

impl Request for Cmd {
    fn send<'a, T: FromRedisValue + 'static>(
        &'a self,
        connection: &'a mut connection::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send + 'a {
        self.query_async(connection)
    }

    fn send_blocking<T: FromRedisValue>(
        &self,
        connection: &mut dyn redis::ConnectionLike,
    ) -> redis::RedisResult<T> {
        self.query(connection)
    }

    fn write_packed(&self, out: &mut Vec<u8>) -> bool {
        self.write_packed_command(out);
        true
    }

    fn from_reply<T: FromRedisValue>(reply: redis::Value) -> redis::RedisResult<T> {
        Ok(redis::from_redis_value(reply.extract_error()?)?)
    }
}

impl Request for redis::Pipeline {
    fn send<'a, T: FromRedisValue + 'static>(
        &'a self,
        connection: &'a mut connection::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send + 'a {
        self.query_async(connection)
    }

    fn send_blocking<T: FromRedisValue>(
        &self,
        connection: &mut dyn redis::ConnectionLike,
    ) -> redis::RedisResult<T> {
        self.query(connection)
    }

    /// Pipelines (more than [`BATCH_CHUNK`] keys) go through the shared
    /// connections: their replies are many values.
    fn write_packed(&self, _out: &mut Vec<u8>) -> bool {
        false
    }

    fn from_reply<T: FromRedisValue>(_reply: redis::Value) -> redis::RedisResult<T> {
        unreachable!("a pipeline is never written to the event-loop connection")
    }
}

impl Executor {
    /// Sends one request, retrying as the retry policy allows (see
    /// `docs/reliability.md`): any call whose request surely never reached the
    /// server, and idempotent calls on any transient failure.
    pub(crate) async fn query<T: FromRedisValue + 'static, R: Request>(
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
        let mut attempt = 1;
        loop {
            let result = if let Some(reply) = self
                .event_loop_connection()
                .and_then(|connection| connection.submit(|out| request.write_packed(out)))
            {
                self.inner.requests_sent[op.index()].fetch_add(1, Ordering::Relaxed);
                match reply.await {
                    Ok(reply) => reply.and_then(R::from_reply),
                    // The connection was dropped with the call waiting.
                    Err(_) => {
                        Err(std::io::Error::from(std::io::ErrorKind::ConnectionAborted).into())
                    }
                }
            } else if let Some(result) = self.thread_connections().and_then(|connections| {
                connections.attempt(
                    |connection| {
                        self.inner.requests_sent[op.index()].fetch_add(1, Ordering::Relaxed);
                        request.send_blocking::<T>(connection)
                    },
                    || self.inner.monitor.reconnect(),
                )
            }) {
                result
            } else {
                self.send_shared(op, request).await
            };
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

    /// One attempt over a connection of the pool (see `PooledConnection` for
    /// the watch that finds a stalled connection).
    async fn send_shared<T: FromRedisValue + 'static, R: Request>(
        &self,
        op: Operation,
        request: &R,
    ) -> redis::RedisResult<T> {
        let stall_after = self.inner.config.command_timeout() / 2;
        let mut pooled = self.inner.pool.pick();
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
                pooled.rename_later();
            }
            if pooled.take_name_pending() {
                // Boxed: cold path, as above.
                Box::pin(self.rename(&mut connection)).await;
            }
        } else if let Err(e) = &result {
            watch.failed(e);
        }
        result
    }

    /// Gives a new or re-established connection its `client_name` again; a
    /// failure is logged, the call that found the connection is not failed.
    async fn rename(&self, connection: &mut connection::Connection) {
        if let Err(e) = connection::set_name(&self.inner.config, connection).await {
            tracing::warn!(
                target: "stateful_redis::connection",
                error = %crate::error::scrub(&e.to_string()),
                "could not set the client name"
            );
        }
    }

    /// Runs a script with `EVALSHA`; on `NOSCRIPT` (after `SCRIPT FLUSH`, a
    /// restart, or on a replica just promoted) runs it once with `EVAL` and its
    /// source, which also caches it on that server. Safe: `NOSCRIPT` means the
    /// script did not run. `EVAL` is routed by its keys like `EVALSHA`, so on a
    /// cluster the script reaches exactly the node that lacked it.
    pub(crate) async fn eval<T: FromRedisValue + 'static>(
        &self,
        op: Operation,
        script: &LuaScript,
        keys: &[&str],
        args: &[&dyn ToRedisArgsDyn],
    ) -> Result<T> {
        let command = |name: &str, script_ref: &str| {
            // Sized once: grown argument by argument it was reallocated about
            // five times per call (issue 14).
            let data = name.len()
                + script_ref.len()
                + keys.iter().map(|k| k.len()).sum::<usize>()
                + 16 * (args.len() + 1);
            let mut cmd = Cmd::with_capacity(3 + keys.len() + args.len(), data);
            cmd.arg(name).arg(script_ref).arg(keys.len()).arg(keys);
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

    /// As [`Executor::mget`], for `count` keys that `key` writes (key `i`,
    /// appended to an empty buffer; `key_len` a usual key's length, to size
    /// the request). On one server each key is written straight
    /// into the request, none kept as a string of its own, and up to
    /// [`BATCH_CHUNK`] keys go as one plain `MGET` (no pipeline around it): a
    /// batch of 100 used to make 100 key strings and a pipeline per call
    /// (issue 14). On a cluster the keys are made and split by slot as
    /// [`Executor::mget`] does.
    pub(crate) async fn mget_keys<V: FromRedisValue + 'static>(
        &self,
        op: Operation,
        count: usize,
        key_len: usize,
        key: impl Fn(usize, &mut String),
    ) -> Result<Vec<Option<V>>> {
        let make = |i| {
            let mut k = String::new();
            key(i, &mut k);
            k
        };
        if self.inner.config.is_cluster() {
            let keys: Vec<String> = (0..count).map(make).collect();
            return self.mget(op, &keys).await;
        }
        self.mget_one_server(op, count, key_len, key).await
    }

    /// The standalone half of [`Executor::mget_keys`] and [`Executor::mget`]:
    /// up to [`BATCH_CHUNK`] keys as one plain `MGET`, more as a pipeline of
    /// such `MGET`s (one round trip).
    async fn mget_one_server<V: FromRedisValue + 'static>(
        &self,
        op: Operation,
        count: usize,
        key_len: usize,
        key: impl Fn(usize, &mut String),
    ) -> Result<Vec<Option<V>>> {
        let mut buffer = String::new();
        let mut command = |indexes: std::ops::Range<usize>| {
            let mut cmd = Cmd::with_capacity(indexes.len() + 1, 4 + key_len * indexes.len());
            cmd.arg("MGET");
            for i in indexes {
                buffer.clear();
                key(i, &mut buffer);
                cmd.arg(buffer.as_str());
            }
            cmd
        };
        if count <= BATCH_CHUNK {
            let cmd = command(0..count);
            return self.query(op, &cmd).await;
        }
        let mut pipe = redis::pipe();
        for start in (0..count).step_by(BATCH_CHUNK) {
            pipe.add_command(command(start..count.min(start + BATCH_CHUNK)));
        }
        let chunks: Vec<Vec<Option<V>>> = self.query(op, &pipe).await?;
        Ok(chunks.into_iter().flatten().collect())
    }

    /// The values of many keys, in their order. On one server: `MGET`s of
    /// [`BATCH_CHUNK`] keys in one round trip ([`Executor::mget_keys`]'s way).
    /// On a cluster: one `MGET`
    /// per hash slot (and chunk), all sent at once, each routed and redirected
    /// (MOVED/ASK) on its own. redis-rs can split a multi-slot `MGET` itself, but
    /// when one of its parts was redirected during a failover it failed to put
    /// the replies back together ("Mismatch in the number of multi-slot
    /// results"), so the core does the split.
    pub(crate) async fn mget<V: FromRedisValue + 'static>(
        &self,
        op: Operation,
        keys: &[String],
    ) -> Result<Vec<Option<V>>> {
        if !self.inner.config.is_cluster() {
            let key_len = keys.first().map_or(0, String::len);
            return self
                .mget_one_server(op, keys.len(), key_len, |i, key| key.push_str(&keys[i]))
                .await;
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
                .map(|(_, cmd)| self.query::<Vec<Option<V>>, _>(op, cmd)),
        )
        .await?;
        let mut values: Vec<Option<V>> = std::iter::repeat_with(|| None).take(keys.len()).collect();
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
