//! The option `event_loop_connection`: calls polled on an event loop's thread
//! that write and read on one non-blocking socket the loop watches
//! (`thread_io/event_loop.rs`). The loop here is a plain `poll(2)` loop, the
//! way a binding's loop (Node's libuv) drives the connection. Each test
//! states what a caller depends on whichever connection served the call.

mod common;

use std::future::Future;
use std::os::fd::RawFd;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::tls::{TestPki, TlsRedis};
use stateful_redis::{BlockingExecutor, ErrorCode, EventLoopConnection, Executor};
use stateful_redis_testkit::LocalRedis;

const NAME: &str = "event-loop";

fn connect(
    server: &LocalRedis,
    timeout_ms: u64,
) -> (BlockingExecutor, Executor, Arc<EventLoopConnection>) {
    let config = common::config_for(server)
        .event_loop_connection(true)
        .command_timeout(Duration::from_millis(timeout_ms))
        .client_name(NAME)
        .build()
        .unwrap();
    let exec = BlockingExecutor::connect(config).unwrap();
    let (handle, connection) = exec.executor().on_event_loop().expect("the option is on");
    (exec, handle, connection)
}

/// Polls `future` on this thread as a binding's loop does: with the core's
/// runtime entered, flushing before it waits, reading when the socket is
/// readable, and closing sockets that failed once it stops watching them.
fn drive<T>(connection: &EventLoopConnection, future: impl Future<Output = T>) -> T {
    let runtime = stateful_redis::runtime::shared().unwrap();
    let _entered = runtime.handle().enter();
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        connection.flush();
        connection.release_retired();
        let ready = connection.readiness();
        let Some(fd) = ready.fd else {
            // Re-opening, or the call waits on a shared connection or a timer.
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        let mut events = 0;
        if ready.readable {
            events |= libc::POLLIN;
        }
        if ready.writable {
            events |= libc::POLLOUT;
        }
        let mut poll_fd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // Short waits: a call on a shared connection or a timer wakes nobody here.
        unsafe { libc::poll(&mut poll_fd, 1, 2) };
        if poll_fd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            connection.on_readable();
        }
    }
}

/// The local port of the event-loop connection's socket.
fn local_port(fd: RawFd) -> u16 {
    let mut address: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockname(
            fd,
            (&mut address as *mut libc::sockaddr_in).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0);
    u16::from_be(address.sin_port)
}

/// The `CLIENT LIST` line of the client whose address ends in `:port`.
fn client_line(server: &LocalRedis, port: u16) -> Option<String> {
    let list = server.command(&["CLIENT", "LIST"]).unwrap();
    let needle = format!(":{port} ");
    list.lines()
        .find(|l| l.contains(&needle))
        .map(str::to_string)
}

#[test]
fn every_conformance_vector_holds_on_the_event_loop_connection() {
    let server = common::start_server();
    let (exec, handle, connection) = connect(&server, 1_000);
    let runtime = stateful_redis::runtime::shared().unwrap();
    let mut raw = runtime.block_on(common::raw_connection(&server));
    let (files, steps) = drive(&connection, common::vectors::run_all(&handle, &mut raw));
    assert!(files > 0 && steps > 0);
    // The shared connection and the event-loop one, both named.
    let list = server.command(&["CLIENT", "LIST"]).unwrap();
    assert_eq!(list.matches(&format!(" name={NAME} ")).count(), 2);
    // The vectors' commands went on the event-loop connection.
    let line = client_line(&server, local_port(connection.readiness().fd.unwrap())).unwrap();
    assert!(line.contains(&format!(" name={NAME} ")), "{line}");
    assert!(
        !line.contains(" cmd=client|setname "),
        "no call went on it: {line}"
    );
    drop(exec);
}

#[test]
fn a_thousand_calls_in_flight_each_get_their_own_answer() {
    let server = common::start_server();
    let (_exec, handle, connection) = connect(&server, 5_000);
    let calls = (0..1_000).map(|i| {
        let handle = handle.clone();
        async move {
            let uid = format!("u{i}");
            let previous = handle.set_linked_pod("ns", &uid, "chat", i, -1).await?;
            let read = handle.get_linked_pod("ns", &uid, "chat").await?;
            Ok::<_, stateful_redis::Error>((previous, read))
        }
    });
    let results = drive(&connection, futures_util::future::join_all(calls));
    for (i, result) in results.into_iter().enumerate() {
        assert_eq!(result.unwrap(), (None, Some(i as i64)), "call {i}");
    }
    // A batch read whose reply spans many reads of the socket.
    let uids: Vec<String> = (0..1_000).map(|i| format!("u{i}")).collect();
    let batch = drive(
        &connection,
        handle.batch_get_linked_pod("ns", &uids, "chat"),
    )
    .unwrap();
    assert_eq!(batch.len(), 1_000);
    for (i, uid) in uids.iter().enumerate() {
        assert_eq!(batch[&(i as i64)], vec![uid.clone()], "uid {i}");
    }
}

#[test]
fn a_connection_killed_while_idle_loses_no_write_and_comes_back_named() {
    let server = common::start_server();
    let (exec, handle, connection) = connect(&server, 2_000);
    assert_eq!(
        drive(&connection, handle.set_linked_pod("ns", "u", "chat", 1, -1)).unwrap(),
        None
    );
    let first = connection.readiness();
    let port = local_port(first.fd.unwrap());
    let reconnects = exec.executor().metrics().pool.reconnects;
    server
        .command(&["CLIENT", "KILL", "ADDR", &format!("127.0.0.1:{port}")])
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // The write is not sent on the dead socket: it answers, with the pod it replaced.
    assert_eq!(
        drive(&connection, handle.set_linked_pod("ns", "u", "chat", 2, -1)).unwrap(),
        Some(1)
    );
    // The connection is re-opened on the runtime; calls go on it again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert_eq!(
            drive(&connection, handle.get_linked_pod("ns", "u", "chat")).unwrap(),
            Some(2)
        );
        let now = connection.readiness();
        if now.fd.is_some() && now.generation > first.generation + 1 {
            break;
        }
        assert!(Instant::now() < deadline, "not re-opened: {now:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Its first reply counts as a reconnect.
    assert_eq!(
        drive(&connection, handle.get_linked_pod("ns", "u", "chat")).unwrap(),
        Some(2)
    );
    assert_eq!(exec.executor().metrics().pool.reconnects, reconnects + 1);
    let line = client_line(&server, local_port(connection.readiness().fd.unwrap())).unwrap();
    assert!(line.contains(&format!(" name={NAME} ")), "{line}");
}

#[test]
fn a_timed_out_call_leaves_its_reply_to_nobody_else() {
    let server = common::start_server();
    let (_exec, handle, connection) = connect(&server, 1_000);
    assert_eq!(
        drive(&connection, handle.set_linked_pod("ns", "u", "chat", 1, -1)).unwrap(),
        None
    );
    server
        .command(&["CLIENT", "PAUSE", "2500", "WRITE"])
        .unwrap();
    let started = Instant::now();
    let held = drive(&connection, handle.set_linked_pod("ns", "u", "chat", 9, -1)).unwrap_err();
    assert_eq!(held.code(), ErrorCode::Timeout, "{held}");
    assert!(!held.retryable());
    assert!(started.elapsed() < Duration::from_millis(2_400));
    // Once the pause is over, each call reads its own answer, not the held
    // write's reply.
    std::thread::sleep(Duration::from_millis(2_600).saturating_sub(started.elapsed()));
    let pod = drive(&connection, handle.get_linked_pod("ns", "u", "chat")).unwrap();
    assert_eq!(pod, Some(9), "the held write ran once the pause ended");
    assert_eq!(
        drive(&connection, handle.set_linked_pod("ns", "u", "chat", 3, -1)).unwrap(),
        Some(9)
    );
    assert_eq!(
        drive(&connection, handle.get_linked_pod("ns", "u", "chat")).unwrap(),
        Some(3)
    );
}

#[test]
fn over_tls_the_option_opens_nothing_and_calls_use_the_shared_connection() {
    let pki = TestPki::new();
    let redis = TlsRedis::start(&pki, "no");
    let config = common::config_for(&redis.server)
        .url(redis.tls_url())
        .tls_ca_file(pki.path("ca.crt"))
        .event_loop_connection(true)
        .client_name(NAME)
        .build()
        .unwrap();
    let exec = BlockingExecutor::connect(config).unwrap();
    assert!(exec.executor().on_event_loop().is_none());
    assert_eq!(
        exec.call(|e| e.set_linked_pod("ns", "u", "chat", 4, -1))
            .unwrap(),
        None
    );
    let list = redis.server.command(&["CLIENT", "LIST"]).unwrap();
    assert_eq!(list.matches(&format!(" name={NAME} ")).count(), 1, "{list}");
}

#[test]
fn the_option_is_off_by_default_and_off_on_the_handle_of_the_runtime() {
    let server = common::start_server();
    let exec = BlockingExecutor::connect(common::config_for(&server).build().unwrap()).unwrap();
    assert!(exec.executor().on_event_loop().is_none());
}

#[test]
fn noscript_reloads_and_a_wrong_type_is_data_on_the_event_loop_connection() {
    let server = common::start_server();
    let (exec, handle, connection) = connect(&server, 2_000);
    assert_eq!(
        drive(&connection, handle.set_linked_pod("ns", "u", "chat", 1, -1)).unwrap(),
        None
    );
    server.command(&["SCRIPT", "FLUSH"]).unwrap();
    // EVALSHA answers NOSCRIPT; the script runs once by EVAL, on this connection.
    assert_eq!(
        drive(&connection, handle.set_linked_pod("ns", "u", "chat", 2, -1)).unwrap(),
        Some(1)
    );
    assert_eq!(exec.executor().metrics().scripts.noscript_reloads, 1);
    // A key of the wrong type is DATA, and the connection keeps serving.
    server.command(&["DEL", "sf:{ns:lk:w}chat"]).unwrap();
    server
        .command(&["HSET", "sf:{ns:lk:w}chat", "f", "v"])
        .unwrap();
    let wrong = drive(&connection, handle.get_linked_pod("ns", "w", "chat")).unwrap_err();
    assert_eq!(wrong.code(), ErrorCode::Data, "{wrong}");
    let generation = connection.readiness().generation;
    assert_eq!(
        drive(&connection, handle.get_linked_pod("ns", "u", "chat")).unwrap(),
        Some(2)
    );
    assert_eq!(
        connection.readiness().generation,
        generation,
        "the same socket"
    );
}

#[test]
fn a_connection_stalled_behind_a_held_request_is_replaced_by_the_next_call() {
    let server = common::start_server();
    let (_exec, handle, connection) = connect(&server, 500);
    assert_eq!(
        drive(&connection, handle.set_linked_pod("ns", "u", "chat", 1, -1)).unwrap(),
        None
    );
    server
        .command(&["CLIENT", "PAUSE", "3000", "WRITE"])
        .unwrap();
    let held = drive(&connection, handle.set_linked_pod("ns", "u", "chat", 9, -1)).unwrap_err();
    assert_eq!(held.code(), ErrorCode::Timeout, "{held}");
    let generation = connection.readiness().generation;
    // Past the command timeout of the held write, measured from when it was
    // queued (a little after its call started).
    std::thread::sleep(Duration::from_millis(100));
    // A read is not held by the pause, but on the same connection it would
    // wait behind the held write until the pause ends. The oldest request has
    // waited longer than the command timeout: the connection is replaced and
    // the read answers at once, through the shared connection.
    let started = Instant::now();
    assert_eq!(
        drive(&connection, handle.get_linked_pod("ns", "u", "chat")).unwrap(),
        Some(1)
    );
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert!(connection.readiness().generation > generation, "replaced");
}

/// A password (`AUTH`), a database (`SELECT`) and a Unix socket: the
/// event-loop connection authenticates and selects as the shared one does.
#[test]
fn the_event_loop_connection_authenticates_selects_and_uses_unix_sockets() {
    let server = LocalRedis::builder().password().start().unwrap();
    let connect_to = |url: String| {
        let config = stateful_redis::Config::builder()
            .url(url)
            .event_loop_connection(true)
            .client_name(NAME)
            .build()
            .unwrap();
        let exec = BlockingExecutor::connect(config).unwrap();
        let (handle, connection) = exec.executor().on_event_loop().expect("the option is on");
        (exec, handle, connection)
    };
    let (exec, handle, connection) = connect_to(format!("{}/3", server.url()));
    assert_eq!(
        drive(
            &connection,
            handle.set_linked_pod("ns", "u1", "chat", 6, -1)
        )
        .unwrap(),
        None
    );
    assert_eq!(
        drive(&connection, handle.get_linked_pod("ns", "u1", "chat")).unwrap(),
        Some(6)
    );
    // Both connections in database 3; the event-loop one served the calls.
    let list = server.command(&["CLIENT", "LIST"]).unwrap();
    let in_db3: Vec<&str> = list
        .lines()
        .filter(|l| l.contains(&format!(" name={NAME} ")) && l.contains(" db=3 "))
        .collect();
    assert_eq!(in_db3.len(), 2, "{list}");
    let line = client_line(&server, local_port(connection.readiness().fd.unwrap())).unwrap();
    assert!(
        line.contains(" db=3 ") && line.contains(" cmd=get "),
        "{line}"
    );
    drop((exec, handle, connection));

    let socket = server.dir().join("redis.sock");
    let unix = LocalRedis::builder()
        .args(["--unixsocket".to_string(), socket.display().to_string()])
        .start()
        .unwrap();
    let (_exec, handle, connection) = connect_to(format!("unix://{}", socket.display()));
    assert_eq!(
        drive(
            &connection,
            handle.set_linked_pod("ns", "u2", "chat", 7, -1)
        )
        .unwrap(),
        None
    );
    assert_eq!(
        drive(&connection, handle.get_linked_pod("ns", "u2", "chat")).unwrap(),
        Some(7)
    );
    let list = unix.command(&["CLIENT", "LIST"]).unwrap();
    assert_eq!(list.matches(&format!(" name={NAME} ")).count(), 2, "{list}");
}
