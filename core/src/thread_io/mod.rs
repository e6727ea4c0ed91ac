//! Calls on the caller's own thread (option `thread_connections`), for the
//! blocking facade ([`crate::blocking`]): the C ABI and Python's `Executor`.
//!
//! Through the shared runtime, a blocking call hands its request to the
//! runtime's thread, which writes it, waits for the reply and wakes the caller:
//! two threads woken per call. With a thread connection the caller writes the
//! request and reads the reply itself, blocked in `read()`: one thread, no
//! hand-over. A connection serves one call at a time (no pipelining), so a
//! call takes an idle one, opens one while fewer than `thread_connections` are
//! open, and otherwise goes through the runtime as before. Standalone servers
//! only: a cluster call may need several nodes and redirections.
//!
//! What the executor promises holds here as on its shared connections: a call
//! ends by its deadline (each round trip's socket timeouts are the time the
//! call has left, give or take [`TIMEOUT_SLACK`]); a connection that timed out
//! or failed is closed, never reused (its late reply would answer the next
//! request); a loss is logged once and the first reply of a connection opened
//! after it counts as a reconnect; every connection takes the `client_name`.
//!
//! A connection that sat idle is checked before it serves a call (a peek, or
//! a `PING` for TLS; see `socket.rs`): a server restarted (or a `CLIENT KILL`,
//! or its idle `timeout`) while the application was quiet has closed it, and a
//! write sent on it would fail as "outcome unknown" although it never reached
//! the server. A dead one is dropped and the call goes on a new connection. A
//! signal that interrupts a round trip does not fail it (`socket.rs`).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Config;

pub mod event_loop;
mod socket;
use socket::Socket;

/// How far a socket timeout may exceed the time a call has left: setting the
/// timeouts costs two system calls, and the first round trip of a call nearly
/// always has the whole command timeout left, which the socket already has.
const TIMEOUT_SLACK: Duration = Duration::from_millis(1);

/// Idle time after which a TCP or Unix connection is checked before it
/// serves a call (one non-blocking `recv(MSG_PEEK)`): a connection that
/// threads keep busy is not.
const PEEK_AFTER: Duration = Duration::from_millis(1);

/// Idle time after which a TLS connection is checked before it serves a call
/// (one `PING`, a round trip): at most once per this period.
const PING_AFTER: Duration = Duration::from_secs(1);

thread_local! {
    /// The deadline of the call this thread is making (see [`CallDeadline`]).
    static CALL_DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Makes `deadline` the one of the call on this thread while it lives. The
/// executor sets it in `run` for calls on the caller's thread: their futures
/// are polled on that thread only (`BlockingExecutor::call`).
pub(crate) struct CallDeadline(Option<Instant>);

impl CallDeadline {
    pub(crate) fn set(deadline: Instant) -> CallDeadline {
        CallDeadline(CALL_DEADLINE.with(|d| d.replace(Some(deadline))))
    }
}

impl Drop for CallDeadline {
    fn drop(&mut self) {
        CALL_DEADLINE.with(|d| d.set(self.0));
    }
}

/// The thread connections of one executor.
pub(crate) struct ThreadConnections {
    /// The server and credentials; redis-rs opens the TLS connections.
    client: redis::Client,
    nodelay: bool,
    idle: Mutex<Vec<ThreadConnection>>,
    /// Open now: idle, in use, or being opened.
    open: AtomicUsize,
    max: usize,
    command_timeout: Duration,
    connect_timeout: Duration,
    client_name: Option<String>,
    /// A connection was lost and none opened since has answered yet.
    lost: AtomicBool,
    closed: AtomicBool,
}

/// One connection, used by one call at a time.
pub(crate) struct ThreadConnection {
    socket: Socket,
    /// The read and write timeout its socket has now.
    timeout: Duration,
    /// Opened after a loss: its first reply tells the connection is back.
    after_loss: bool,
    /// When it last went back to the idle ones.
    idle_since: Instant,
}

impl ThreadConnections {
    /// `None` when the option is off or the server is a cluster.
    pub(crate) fn new(config: &Config) -> redis::RedisResult<Option<ThreadConnections>> {
        let max = config.options.thread_connections;
        if max == 0 || config.is_cluster() {
            return Ok(None);
        }
        Ok(Some(ThreadConnections {
            client: redis::Client::open(config.connection_info.clone())?,
            nodelay: config.options.tcp_nodelay,
            idle: Mutex::new(Vec::new()),
            open: AtomicUsize::new(0),
            max,
            command_timeout: config.command_timeout(),
            connect_timeout: config.connect_timeout(),
            client_name: config.options.client_name.clone(),
            lost: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }))
    }

    /// One attempt of a call on this thread: takes a connection ([`take`])
    /// and makes the round trip ([`round_trip`]); `None` when every
    /// connection is busy (the call then goes through the runtime).
    ///
    /// [`take`]: ThreadConnections::take
    /// [`round_trip`]: ThreadConnections::round_trip
    pub(crate) fn attempt<T>(
        &self,
        send: impl FnOnce(&mut dyn redis::ConnectionLike) -> redis::RedisResult<T>,
        reconnected: impl FnOnce(),
    ) -> Option<redis::RedisResult<T>> {
        let taken = self.take()?;
        Some(taken.and_then(|taken| self.round_trip(taken, send, reconnected)))
    }

    /// An idle connection, else a new one while fewer than the maximum are
    /// open (a failure to open is the attempt's failure); `None` when all
    /// are busy.
    fn take(&self) -> Option<redis::RedisResult<ThreadConnection>> {
        while let Some(mut idle) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            let idle_for = idle.idle_since.elapsed();
            if idle_for < PEEK_AFTER {
                return Some(Ok(idle));
            }
            match idle.socket.closed_by_server() {
                Some(false) => return Some(Ok(idle)),
                Some(true) => {
                    let closed = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
                    self.discard(idle, &closed.into());
                    continue;
                }
                None if idle_for < PING_AFTER => return Some(Ok(idle)),
                None => {}
            }
            match idle
                .bound_by_deadline(self.command_timeout)
                .and_then(|()| redis::cmd("PING").query::<String>(&mut idle.socket))
            {
                // Answered, even with an error (an ACL without PING): alive.
                Ok(_) => return Some(Ok(idle)),
                Err(e) if !crate::connection::unanswered(&e) => return Some(Ok(idle)),
                Err(e) => {
                    self.discard(idle, &e);
                    if e.is_timeout() {
                        // The server is stalled, or the call's time is up: a
                        // new connection would wait as long.
                        return Some(Err(e));
                    }
                }
            }
        }
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        let opened = self.open_one();
        if opened.is_err() {
            self.open.fetch_sub(1, Ordering::AcqRel);
        }
        Some(opened)
    }

    /// Opens a connection within the connect timeout and what the call has
    /// left, and gives it the client name.
    fn open_one(&self) -> redis::RedisResult<ThreadConnection> {
        let left = call_time_left(self.command_timeout)?;
        let mut socket = Socket::open_named(
            &self.client,
            self.connect_timeout.min(left),
            self.nodelay,
            self.client_name.as_deref(),
        )?;
        socket.set_timeouts(self.command_timeout)?;
        Ok(ThreadConnection {
            socket,
            timeout: self.command_timeout,
            after_loss: self.lost.load(Ordering::Acquire),
            idle_since: Instant::now(),
        })
    }

    /// Sends `send`'s request on `taken` and reads the reply, on this thread.
    /// An answered connection goes back to the idle ones; one that failed or
    /// timed out is closed.
    fn round_trip<T>(
        &self,
        mut taken: ThreadConnection,
        send: impl FnOnce(&mut dyn redis::ConnectionLike) -> redis::RedisResult<T>,
        reconnected: impl FnOnce(),
    ) -> redis::RedisResult<T> {
        let result = taken
            .bound_by_deadline(self.command_timeout)
            .and_then(|()| send(&mut taken.socket));
        if crate::connection::answered(&result) {
            if taken.after_loss {
                taken.after_loss = false;
                if self.lost.swap(false, Ordering::AcqRel) {
                    tracing::info!(
                        target: "stateful_redis::connection",
                        "connection re-established after a loss"
                    );
                    reconnected();
                }
            }
            if !self.closed.load(Ordering::Acquire) {
                taken.idle_since = Instant::now();
                self.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(taken);
                return result;
            }
            self.release(taken);
        } else if let Err(e) = &result {
            self.discard(taken, e);
        }
        result
    }

    /// Closes a connection that failed with `error` (noting a loss).
    fn discard(&self, connection: ThreadConnection, error: &redis::RedisError) {
        self.lost(error);
        self.release(connection);
    }

    /// Closes a connection taken from the open ones.
    fn release(&self, connection: ThreadConnection) {
        drop(connection);
        self.open.fetch_sub(1, Ordering::AcqRel);
    }

    /// Notes a failure without a reply: a lost connection (not a timeout: the
    /// server is slow, not gone) is logged once per loss.
    fn lost(&self, e: &redis::RedisError) {
        if e.is_io_error() && !e.is_timeout() && !self.lost.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                target: "stateful_redis::connection",
                error = %crate::error::scrub(&e.to_string()),
                "connection lost; it is re-established on the next request"
            );
        }
    }

    /// Closes the idle connections; those in use close when their call ends.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        self.open.fetch_sub(idle.len(), Ordering::AcqRel);
    }
}

impl ThreadConnection {
    /// Sets the socket's timeouts to what the call has left, when the ones
    /// it has would end the round trip more than [`TIMEOUT_SLACK`] after the
    /// deadline or before it (the connection served a call that had less).
    fn bound_by_deadline(&mut self, command_timeout: Duration) -> redis::RedisResult<()> {
        let left = call_time_left(command_timeout)?;
        if self.timeout > left + TIMEOUT_SLACK || self.timeout + TIMEOUT_SLACK < left {
            self.socket.set_timeouts(left)?;
            self.timeout = left;
        }
        Ok(())
    }
}

/// What the call on this thread has left before its deadline (the command
/// timeout outside a call); a timeout error once it has passed.
fn call_time_left(command_timeout: Duration) -> redis::RedisResult<Duration> {
    let left = match CALL_DEADLINE.with(Cell::get) {
        Some(deadline) => deadline.saturating_duration_since(Instant::now()),
        None => command_timeout,
    };
    if left.is_zero() {
        return Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no reply within the command timeout of {} ms",
                command_timeout.as_millis()
            ),
        )));
    }
    Ok(left)
}
