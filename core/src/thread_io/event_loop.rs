//! The event-loop connection (option `event_loop_connection`): the calls of
//! an event loop's thread (Node's JS thread) write their requests and read
//! their replies on that thread, pipelined on one non-blocking socket that
//! the loop watches, with no hand-over to the runtime's thread.
//!
//! Through the runtime, every call crosses from the loop's thread to the
//! runtime's thread and its result crosses back: at one call in flight that
//! is about six context switches per call against one for a client that does
//! its I/O on the loop (benches/RESULTS.md, "Why Node at 1 in flight stays
//! behind ioredis"). This connection is sans-loop: the binding owns the
//! loop. It polls the calls' futures on its thread (with the core's runtime
//! entered, for their timers), watches [`EventLoopConnection::readiness`]'s
//! socket, and calls [`EventLoopConnection::on_readable`] and
//! [`EventLoopConnection::flush`] when the socket is ready and before the
//! loop waits. A call appends its request to the write buffer, so the calls
//! made in one turn of the loop go out in one write.
//!
//! What the executor promises holds here as on its shared connections:
//! - replies are matched to requests in order; a call that timed out leaves
//!   its slot, and its late reply is dropped;
//! - a connection whose oldest request has waited longer than the command
//!   timeout is replaced (a stalled server or a half-open peer);
//! - a connection the server closed while it was idle is found with one
//!   `recv(MSG_PEEK)` before it serves a call, as the thread connections do;
//! - when a connection fails, a request not yet written fails as "not sent"
//!   (retried for any call), one written fails with the I/O error (its
//!   outcome is unknown: a write is not retried);
//! - a lost connection is re-opened on the runtime (not on the loop, which
//!   must not block); meanwhile calls go through the shared connections. The
//!   first reply after it counts as a reconnect; it takes the `client_name`.
//!
//! A failed socket is not closed at once: the binding may still watch its
//! descriptor, and a descriptor closed while watched (or reused by a new
//! socket) confuses the loop. It is kept until the binding, having seen the
//! generation change, calls [`EventLoopConnection::release_retired`].
//!
//! TCP and Unix sockets on a standalone server only: TLS and clusters go
//! through the shared connections.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use redis::{RedisError, RedisResult, Value};
use tokio::sync::oneshot;

use super::socket::{closed_by_server, Socket, Stream};
use super::PEEK_AFTER;
use crate::config::Config;

/// Wait after a failed reconnect before the next call tries again.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(100);

/// The reply of one request, awaited by its call.
pub(crate) type Reply = oneshot::Receiver<RedisResult<Value>>;

/// What the binding's loop should watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// The socket; `None` while there is none (being re-opened, or shut down).
    pub fd: Option<RawFd>,
    /// Changes whenever the socket does: the binding stops watching the old
    /// one, calls `release_retired`, and watches the new one.
    pub generation: u64,
    /// Replies are awaited.
    pub readable: bool,
    /// Requests wait to be written.
    pub writable: bool,
}

/// One executor's event-loop connection.
pub struct EventLoopConnection {
    state: Mutex<State>,
    client: redis::Client,
    nodelay: bool,
    connect_timeout: Duration,
    command_timeout: Duration,
    client_name: Option<String>,
    runtime: tokio::runtime::Handle,
    /// Counts a reconnect in the monitor.
    reconnected: Box<dyn Fn() + Send + Sync>,
}

struct State {
    stream: Option<Stream>,
    /// Failed sockets, open until the binding has stopped watching them.
    retired: Vec<Stream>,
    generation: u64,
    parser: redis::Parser,
    /// Requests not written yet.
    out: Vec<u8>,
    /// Bytes written and appended on this socket.
    sent: u64,
    queued: u64,
    /// Calls awaiting a reply, oldest first.
    pending: VecDeque<Pending>,
    /// When the last reply came (or the socket opened) with nothing pending.
    idle_since: Instant,
    /// The socket was opened after a loss: its first reply tells it is back.
    after_loss: bool,
    /// A loss was logged and no connection opened since has answered.
    lost: bool,
    reconnecting: bool,
    /// No reconnect before this.
    retry_at: Option<Instant>,
    shut_down: bool,
}

struct Pending {
    /// Where its request starts among the bytes appended on this socket.
    start: u64,
    since: Instant,
    reply: oneshot::Sender<RedisResult<Value>>,
}

impl EventLoopConnection {
    /// Opens the connection (on a blocking thread of `runtime`): `None` when
    /// the option is off, on a cluster, or over TLS.
    pub(crate) async fn open(
        config: &Config,
        runtime: tokio::runtime::Handle,
        reconnected: Box<dyn Fn() + Send + Sync>,
    ) -> RedisResult<Option<Arc<EventLoopConnection>>> {
        let plain = matches!(
            config.connection_info.addr(),
            redis::ConnectionAddr::Tcp(..) | redis::ConnectionAddr::Unix(..)
        );
        if !config.options.event_loop_connection || config.is_cluster() || !plain {
            return Ok(None);
        }
        let connection = EventLoopConnection {
            state: Mutex::new(State {
                stream: None,
                retired: Vec::new(),
                generation: 0,
                parser: redis::Parser::new(),
                out: Vec::new(),
                sent: 0,
                queued: 0,
                pending: VecDeque::new(),
                idle_since: Instant::now(),
                after_loss: false,
                lost: false,
                reconnecting: false,
                retry_at: None,
                shut_down: false,
            }),
            client: redis::Client::open(config.connection_info.clone())?,
            nodelay: config.options.tcp_nodelay,
            connect_timeout: config.connect_timeout(),
            command_timeout: config.command_timeout(),
            client_name: config.options.client_name.clone(),
            runtime,
            reconnected,
        };
        let connection = Arc::new(connection);
        let opening = connection.clone();
        let stream = connection
            .runtime
            .spawn_blocking(move || opening.open_stream())
            .await
            .map_err(|e| io::Error::other(format!("the connect task failed: {e}")))??;
        let Some(stream) = stream else {
            return Ok(None);
        };
        connection.install(stream);
        Ok(Some(connection))
    }

    /// A new socket, authenticated and named, non-blocking; `None` over TLS.
    fn open_stream(&self) -> RedisResult<Option<Stream>> {
        let socket = Socket::open_named(
            &self.client,
            self.connect_timeout,
            self.nodelay,
            self.client_name.as_deref(),
        )?;
        socket.into_nonblocking_stream()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn install(&self, stream: Stream) {
        let mut state = self.state();
        state.reconnecting = false;
        if state.shut_down {
            return;
        }
        state.stream = Some(stream);
        state.generation += 1;
        state.parser = redis::Parser::new();
        state.idle_since = Instant::now();
        state.after_loss = state.lost;
    }

    /// Queues a request (`write` appends it packed, or returns false when it
    /// cannot go on this connection); `None` when there is no usable socket
    /// (the call then goes through the shared connections).
    pub(crate) fn submit(
        self: &Arc<Self>,
        write: impl FnOnce(&mut Vec<u8>) -> bool,
    ) -> Option<Reply> {
        let mut state = self.state();
        if state.shut_down {
            return None;
        }
        let now = Instant::now();
        if let Some(fd) = state.stream.as_ref().map(AsRawFd::as_raw_fd) {
            let idle = state.pending.is_empty() && state.out.is_empty();
            if idle && now.duration_since(state.idle_since) >= PEEK_AFTER && closed_by_server(fd) {
                self.fail(
                    &mut state,
                    io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "closed by the server while idle",
                    )
                    .into(),
                );
            } else if state
                .pending
                .front()
                .is_some_and(|oldest| now.duration_since(oldest.since) > self.command_timeout)
            {
                self.fail(
                    &mut state,
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "no reply within the command timeout of {} ms; the connection is replaced",
                            self.command_timeout.as_millis()
                        ),
                    )
                    .into(),
                );
            }
        }
        if state.stream.is_none() {
            self.reconnect(&mut state, now);
            return None;
        }
        let before = state.out.len();
        if !write(&mut state.out) {
            state.out.truncate(before);
            return None;
        }
        let start = state.queued;
        state.queued += (state.out.len() - before) as u64;
        let (reply, receiver) = oneshot::channel();
        state.pending.push_back(Pending {
            start,
            since: now,
            reply,
        });
        Some(receiver)
    }

    /// What the loop should watch now.
    pub fn readiness(&self) -> Readiness {
        let state = self.state();
        Readiness {
            fd: state.stream.as_ref().map(AsRawFd::as_raw_fd),
            generation: state.generation,
            readable: !state.pending.is_empty(),
            writable: !state.out.is_empty(),
        }
    }

    /// Writes what the calls queued, as far as the socket takes it.
    pub fn flush(&self) {
        let mut state = self.state();
        let state = &mut *state;
        let Some(stream) = state.stream.as_mut() else {
            return;
        };
        let mut written = 0;
        let failure = loop {
            if written == state.out.len() {
                break None;
            }
            match stream.write(&state.out[written..]) {
                Ok(0) => break Some(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break None,
                Err(e) => break Some(e),
            }
        };
        state.out.drain(..written);
        state.sent += written as u64;
        if let Some(e) = failure {
            self.fail(state, e.into());
        }
    }

    /// Reads what the socket has and completes the calls whose replies came.
    pub fn on_readable(&self) {
        let mut state = self.state();
        let state = &mut *state;
        let mut drained = false;
        loop {
            let Some(stream) = state.stream.as_mut() else {
                return;
            };
            let mut would_block = false;
            let parsed = state.parser.parse_value(NonBlocking {
                stream,
                drained: &mut drained,
                would_block: &mut would_block,
            });
            match parsed {
                Ok(value) => match state.pending.pop_front() {
                    Some(pending) => {
                        if state.after_loss {
                            state.after_loss = false;
                            if std::mem::take(&mut state.lost) {
                                tracing::info!(
                                    target: "stateful_redis::connection",
                                    "connection re-established after a loss"
                                );
                                (self.reconnected)();
                            }
                        }
                        // A call that timed out has dropped its receiver.
                        let _ = pending.reply.send(Ok(value));
                        if state.pending.is_empty() {
                            state.idle_since = Instant::now();
                        }
                    }
                    None => {
                        let e = io::Error::new(
                            io::ErrorKind::InvalidData,
                            "the server sent a reply no request asked for",
                        );
                        self.fail(state, e.into());
                        return;
                    }
                },
                Err(_) if would_block => return,
                Err(e) => {
                    self.fail(state, e);
                    return;
                }
            }
        }
    }

    /// The socket failed: fails every call waiting on it (a request not
    /// written yet as "not sent"), retires it, and logs the loss once.
    fn fail(&self, state: &mut State, error: RedisError) {
        if let Some(stream) = state.stream.take() {
            state.retired.push(stream);
            state.generation += 1;
        }
        state.out.clear();
        for pending in state.pending.drain(..) {
            let e = if pending.start >= state.sent {
                RedisError::from(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "not sent: the connection failed before the request was written",
                ))
            } else {
                error.clone()
            };
            let _ = pending.reply.send(Err(e));
        }
        state.sent = 0;
        state.queued = 0;
        if !state.lost && !state.shut_down {
            state.lost = true;
            tracing::warn!(
                target: "stateful_redis::connection",
                error = %crate::error::scrub(&error.to_string()),
                "connection lost; it is re-established on the next request"
            );
        }
    }

    /// Opens a new socket on the runtime, unless one is being opened or the
    /// last attempt failed less than [`RECONNECT_BACKOFF`] ago.
    fn reconnect(self: &Arc<Self>, state: &mut State, now: Instant) {
        if state.reconnecting || state.shut_down || state.retry_at.is_some_and(|at| now < at) {
            return;
        }
        state.reconnecting = true;
        let connection = self.clone();
        self.runtime
            .spawn_blocking(move || match connection.open_stream() {
                Ok(Some(stream)) => connection.install(stream),
                other => {
                    if let Err(e) = other {
                        tracing::debug!(
                            target: "stateful_redis::connection",
                            error = %crate::error::scrub(&e.to_string()),
                            "could not re-open the event-loop connection"
                        );
                    }
                    let mut state = connection.state();
                    state.reconnecting = false;
                    state.retry_at = Some(Instant::now() + RECONNECT_BACKOFF);
                }
            });
    }

    /// Closes the sockets that failed; the binding calls it once it no
    /// longer watches them.
    pub fn release_retired(&self) {
        let retired = std::mem::take(&mut self.state().retired);
        drop(retired);
    }

    /// No more calls: fails any still waiting and retires the socket (closed
    /// by `release_retired`). Later calls go through the shared connections.
    pub fn shut_down(&self) {
        let mut state = self.state();
        state.shut_down = true;
        let closed = io::Error::new(io::ErrorKind::ConnectionAborted, "the executor is closed");
        self.fail(&mut state, closed.into());
    }
}

/// The non-blocking socket as the parser reads it: resumed after a signal,
/// and noting that it would block (no whole reply yet) apart from a failure.
/// A read that filled less than the buffer emptied the socket: the next one
/// of the same readiness would only say so (`EAGAIN`), so it is not made (one
/// system call per reply saved at one call in flight). Bytes that arrive
/// later make the socket readable again, and the loop calls back.
struct NonBlocking<'a> {
    stream: &'a mut Stream,
    drained: &'a mut bool,
    would_block: &'a mut bool,
}

impl Read for NonBlocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if *self.drained {
            *self.would_block = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        loop {
            match self.stream.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    *self.would_block = true;
                    return Err(e);
                }
                Ok(n) => {
                    *self.drained = n > 0 && n < buf.len();
                    return Ok(n);
                }
                other => return other,
            }
        }
    }
}
