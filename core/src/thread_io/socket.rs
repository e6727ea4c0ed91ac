//! The socket of a thread connection. TCP and Unix sockets are read and
//! written here, through redis-rs's RESP parser: a read that a signal
//! interrupts (`EINTR`) is resumed, and a socket the server closed while it was
//! idle is found with one `recv(MSG_PEEK)` before it is used. redis-rs's sync
//! connection can do neither: it reports `EINTR` as a failure (and then skips
//! the next reply), and it exposes no socket to peek. TLS goes through it
//! anyway (`rediss://`), with the application's signals held off during each
//! round trip ([`SignalsDeferred`]) and a `PING` after an idle period instead of
//! the peek.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use redis::{ConnectionAddr, RedisResult, Value};

/// One thread connection's socket.
pub(super) enum Socket {
    Plain(Plain),
    Tls(redis::Connection),
}

impl Socket {
    /// Connects to `client`'s server and authenticates (`AUTH`, `SELECT`),
    /// all within `timeout`.
    pub(super) fn open(
        client: &redis::Client,
        timeout: Duration,
        nodelay: bool,
    ) -> RedisResult<Socket> {
        let info = client.get_connection_info();
        let stream = match info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                Stream::Tcp(connect_tcp(host, *port, timeout, nodelay)?)
            }
            ConnectionAddr::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
            _ => {
                let _signals = SignalsDeferred::new();
                return Ok(Socket::Tls(client.get_connection_with_timeout(timeout)?));
            }
        };
        let settings = info.redis_settings();
        let mut plain = Plain {
            stream,
            parser: redis::Parser::new(),
            db: settings.db(),
            open: true,
        };
        plain.set_timeouts(timeout)?;
        if let Some(password) = settings.password() {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = settings.username() {
                auth.arg(user);
            }
            auth.arg(password).exec(&mut plain)?;
        }
        if settings.db() != 0 {
            redis::cmd("SELECT").arg(settings.db()).exec(&mut plain)?;
        }
        Ok(Socket::Plain(plain))
    }

    /// As [`Socket::open`], then gives the connection `client_name`
    /// (`CLIENT SETNAME`, within `timeout` too). A refused name is logged,
    /// not a failure; a name left unanswered is.
    pub(super) fn open_named(
        client: &redis::Client,
        timeout: Duration,
        nodelay: bool,
        client_name: Option<&str>,
    ) -> RedisResult<Socket> {
        let mut socket = Socket::open(client, timeout, nodelay)?;
        if let Some(name) = client_name {
            if let Err(e) = redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(name)
                .exec(&mut socket)
            {
                if crate::connection::unanswered(&e) {
                    return Err(e);
                }
                tracing::warn!(
                    target: "stateful_redis::connection",
                    error = %crate::error::scrub(&e.to_string()),
                    "could not set the client name"
                );
            }
        }
        Ok(socket)
    }

    /// The TCP or Unix stream, set non-blocking, for the event-loop
    /// connection; `None` for TLS.
    pub(super) fn into_nonblocking_stream(self) -> RedisResult<Option<Stream>> {
        match self {
            Socket::Plain(plain) => {
                plain.stream.set_nonblocking()?;
                Ok(Some(plain.stream))
            }
            Socket::Tls(_) => Ok(None),
        }
    }

    /// Sets the read and write timeouts of the socket.
    pub(super) fn set_timeouts(&mut self, timeout: Duration) -> RedisResult<()> {
        match self {
            Socket::Plain(plain) => plain.set_timeouts(timeout),
            Socket::Tls(tls) => {
                tls.set_read_timeout(Some(timeout))?;
                tls.set_write_timeout(Some(timeout))
            }
        }
    }

    /// Whether the server closed the socket (or sent what nobody asked for)
    /// while it was idle. One non-blocking `recv(MSG_PEEK)`; `None` for TLS,
    /// which cannot tell without a round trip.
    pub(super) fn closed_by_server(&self) -> Option<bool> {
        match self {
            Socket::Plain(plain) => Some(plain.closed_by_server()),
            Socket::Tls(_) => None,
        }
    }
}

impl redis::ConnectionLike for Socket {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match self {
            Socket::Plain(plain) => plain.req_packed_command(cmd),
            Socket::Tls(tls) => {
                let _signals = SignalsDeferred::new();
                tls.req_packed_command(cmd)
            }
        }
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match self {
            Socket::Plain(plain) => plain.req_packed_commands(cmd, offset, count),
            Socket::Tls(tls) => {
                let _signals = SignalsDeferred::new();
                tls.req_packed_commands(cmd, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Socket::Plain(plain) => plain.db,
            Socket::Tls(tls) => tls.get_db(),
        }
    }

    fn check_connection(&mut self) -> bool {
        redis::cmd("PING").query::<String>(self).is_ok()
    }

    fn is_open(&self) -> bool {
        match self {
            Socket::Plain(plain) => plain.open,
            Socket::Tls(tls) => tls.is_open(),
        }
    }
}

/// A TCP or Unix socket and the parser of its replies (RESP2).
pub(super) struct Plain {
    stream: Stream,
    parser: redis::Parser,
    db: i64,
    /// False once a failure left the stream in an unknown state.
    open: bool,
}

pub(super) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(true),
            Stream::Unix(s) => s.set_nonblocking(true),
        }
    }

    fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))
            }
            Stream::Unix(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl Plain {
    fn set_timeouts(&mut self, timeout: Duration) -> RedisResult<()> {
        Ok(self.stream.set_timeouts(timeout)?)
    }

    fn send(&mut self, bytes: &[u8]) -> RedisResult<()> {
        // write_all resumes after EINTR by itself.
        self.stream.write_all(bytes).map_err(|e| {
            self.open = false;
            e.into()
        })
    }

    fn read_reply(&mut self) -> RedisResult<Value> {
        let reply = self.parser.parse_value(ResumeAfterSignal(&mut self.stream));
        if reply.is_err() {
            // A partial reply, a timeout, a lost peer: the stream is out of step.
            self.open = false;
        }
        reply
    }

    fn closed_by_server(&self) -> bool {
        closed_by_server(self.stream.as_raw_fd())
    }
}

/// Whether the server closed the socket `fd` (or sent what nobody asked
/// for) while it was idle: one non-blocking `recv(MSG_PEEK)`.
pub(super) fn closed_by_server(fd: RawFd) -> bool {
    let mut byte = 0u8;
    // SAFETY: a one-byte peek into a local buffer on a socket owned here.
    let n = unsafe {
        libc::recv(
            fd,
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match n {
        // Nothing to read: open and quiet, as an idle connection is.
        -1 => !matches!(
            io::Error::last_os_error().kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
        ),
        // 0: the server closed it; more: bytes no request asked for.
        _ => true,
    }
}

impl redis::ConnectionLike for Plain {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.send(cmd)?;
        self.read_reply()
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.send(cmd)?;
        let mut replies = Vec::with_capacity(count);
        for i in 0..offset + count {
            let reply = self.read_reply()?;
            if i >= offset {
                replies.push(reply);
            } else {
                // The replies a transaction's MULTI and QUEUED give.
                reply.extract_error()?;
            }
        }
        Ok(replies)
    }

    fn get_db(&self) -> i64 {
        self.db
    }

    fn check_connection(&mut self) -> bool {
        redis::cmd("PING").query::<String>(self).is_ok()
    }

    fn is_open(&self) -> bool {
        self.open
    }
}

/// The stream, read again after a signal interrupted the read (`EINTR`): a
/// handler installed without `SA_RESTART`, as CPython installs its handlers,
/// must not fail the round trip.
struct ResumeAfterSignal<'a>(&'a mut Stream);

impl Read for ResumeAfterSignal<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

/// Connects to the first address of `host` that answers within `timeout`.
fn connect_tcp(host: &str, port: u16, timeout: Duration, nodelay: bool) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"));
    for address in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => {
                stream.set_nodelay(nodelay)?;
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Holds the application's asynchronous signals off this thread while it
/// lives (`pthread_sigmask`), then lets them in: for TLS round trips, whose
/// reads redis-rs does. A handler installed without `SA_RESTART` would
/// otherwise interrupt its blocking `read()` with `EINTR`, which redis-rs
/// reports as a failed connection: the call would fail, a write as "outcome
/// unknown". A held signal is delivered when the round trip ends, as on the
/// shared path once the call returns. Signals a fault raises (`SIGSEGV`,
/// `SIGBUS`, `SIGFPE`, `SIGILL`, `SIGTRAP`) are not held.
struct SignalsDeferred(libc::sigset_t);

impl SignalsDeferred {
    fn new() -> SignalsDeferred {
        // SAFETY: plain libc calls on sets owned here.
        unsafe {
            let mut held: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut held);
            for fault in [
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGFPE,
                libc::SIGILL,
                libc::SIGTRAP,
            ] {
                libc::sigdelset(&mut held, fault);
            }
            let mut before: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &held, &mut before);
            SignalsDeferred(before)
        }
    }
}

impl Drop for SignalsDeferred {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `new`.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut());
        }
    }
}
