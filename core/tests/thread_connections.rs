//! The option `thread_connections`: calls of the blocking facade that do their
//! round trip on the caller's thread (`thread_io.rs`). Each test states what a
//! caller depends on whichever connection served the call.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::tls::{TestPki, TlsRedis};
use stateful_redis::{BlockingExecutor, ErrorCode};
use stateful_redis_testkit::LocalRedis;

fn connect(server: &LocalRedis, thread_connections: usize) -> BlockingExecutor {
    let config = common::config_for(server)
        .thread_connections(thread_connections)
        .client_name("thread-io")
        .build()
        .unwrap();
    BlockingExecutor::connect(config).unwrap()
}

/// Links `uid` to `pod` and reads the link back; returns the pod the write
/// replaced.
fn link_and_read_back(exec: &BlockingExecutor, uid: &str, pod: i64) -> Option<i64> {
    let previous = exec
        .call(|e| e.set_linked_pod("ns", uid, "chat", pod, -1))
        .unwrap();
    assert_eq!(
        exec.call(|e| e.get_linked_pod("ns", uid, "chat")).unwrap(),
        Some(pod)
    );
    previous
}

/// Clients of `CLIENT LIST` named `thread-io` (the executor's connections).
fn named_clients(server: &LocalRedis) -> usize {
    let list = server.command(&["CLIENT", "LIST"]).unwrap();
    list.matches(" name=thread-io ").count()
}

#[test]
fn every_conformance_vector_holds_on_a_thread_connection() {
    let server = common::start_server();
    let exec = connect(&server, 1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (files, steps) = runtime.block_on(async {
        let mut raw = common::raw_connection(&server).await;
        common::vectors::run_all(exec.caller_thread_executor(), &mut raw).await
    });
    assert!(files > 0 && steps > 0);
    // They ran on the thread connection: the shared one and it, no more.
    assert_eq!(named_clients(&server), 2);
    let sent = stateful_redis::Operation::ALL
        .iter()
        .map(|&op| exec.executor().requests_sent(op))
        .sum::<u64>();
    assert!(
        sent as usize >= steps / 2,
        "{sent} requests for {steps} steps"
    );
}

#[test]
fn threads_share_at_most_the_configured_connections_and_see_their_own_writes() {
    let server = common::start_server();
    let exec = connect(&server, 3);
    std::thread::scope(|s| {
        for t in 0..8 {
            let exec = &exec;
            s.spawn(move || {
                for i in 0..300 {
                    let uid = format!("t{t}-u{i}");
                    assert_eq!(link_and_read_back(exec, &uid, t), None);
                }
            });
        }
    });
    // One shared connection plus at most three on the threads (and with eight
    // threads, the three were all opened).
    assert_eq!(named_clients(&server), 4);
    let batch = exec
        .call(|e| e.batch_get_linked_pod("ns", &["t3-u0", "t5-u299", "none"], "chat"))
        .unwrap();
    assert_eq!(batch.get(&3).unwrap(), &vec!["t3-u0".to_string()]);
    assert_eq!(batch.get(&5).unwrap(), &vec!["t5-u299".to_string()]);
    // Closing closes the idle ones at once.
    exec.close();
    assert_eq!(named_clients(&server), 1);
    let err = exec.call(|e| e.get_linked_pod("ns", "t1-u1", "chat"));
    assert_eq!(err.unwrap_err().code(), ErrorCode::Closed);
}

/// A call that timed out leaves its reply behind on the socket: the connection
/// must not serve another call, or that call would read the old reply.
#[test]
fn a_timed_out_connection_is_never_reused_and_the_call_ends_on_time() {
    let server = common::start_server();
    let config = common::config_for(&server)
        .thread_connections(1)
        .command_timeout(Duration::from_millis(300))
        .retry(stateful_redis::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        })
        .build()
        .unwrap();
    let exec = BlockingExecutor::connect(config).unwrap();
    exec.call(|e| e.set_linked_pod("ns", "old", "chat", 1, -1))
        .unwrap();
    exec.call(|e| e.set_linked_pod("ns", "new", "chat", 2, -1))
        .unwrap();
    let paused = Instant::now();
    server
        .command(&["CLIENT", "PAUSE", "3000", "WRITE"])
        .unwrap();
    // A write is held by the pause; the call gives up at its deadline.
    let started = Instant::now();
    let err = exec
        .call(|e| e.set_linked_pod("ns", "old", "chat", 9, -1))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert!(!err.retryable(), "a write whose reply was lost: {err}");
    assert!(
        // 300 ms timeout; the pause lasts 3 s. The slack is for a busy machine.
        started.elapsed() < Duration::from_millis(2_800),
        "the call waited for the pause to end ({:?})",
        started.elapsed()
    );
    // Had the socket been reused, the held write's reply (pod 1, the
    // previous value of "old") would be read as the answer below.
    while paused.elapsed() < Duration::from_millis(3_100) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        exec.call(|e| e.get_linked_pod("ns", "new", "chat"))
            .unwrap(),
        Some(2)
    );
    // Whether the held write ran is unknown (Redis drops a closed client's
    // pending command), which is what the error said.
    let old = exec
        .call(|e| e.get_linked_pod("ns", "old", "chat"))
        .unwrap();
    assert!(matches!(old, Some(1) | Some(9)), "{old:?}");
}

#[test]
fn a_killed_connection_is_replaced_a_read_retried_and_the_reconnect_counted() {
    let server = common::start_server();
    let exec = connect(&server, 1);
    exec.call(|e| e.set_linked_pod("ns", "u1", "chat", 1, -1))
        .unwrap();
    let before = exec.executor().metrics().pool.reconnects;
    server
        .command(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        .unwrap();
    // The read finds its connection gone and retries on a new one.
    assert_eq!(
        exec.call(|e| e.get_linked_pod("ns", "u1", "chat")).unwrap(),
        Some(1)
    );
    assert_eq!(exec.executor().metrics().pool.reconnects, before + 1);
    // The new connection took the client name too.
    assert!(named_clients(&server) >= 1);
    let list = server.command(&["CLIENT", "LIST"]).unwrap();
    assert!(
        list.lines()
            .filter(|l| l.contains("cmd=get") || l.contains("cmd=evalsha"))
            .all(|l| l.contains(" name=thread-io ")),
        "{list}"
    );
}

#[test]
fn a_script_flushed_from_the_server_runs_again_and_a_wrong_type_is_data() {
    let server = common::start_server();
    let exec = connect(&server, 1);
    server.command(&["SCRIPT", "FLUSH"]).unwrap();
    assert_eq!(link_and_read_back(&exec, "u1", 4), None);
    // A server error is an answer: the connection stays and serves on.
    let link = stateful_redis::KeySchema::Default.link_key("ns", "u2", "chat");
    server.command(&["HSET", &link, "f", "v"]).unwrap();
    let err = exec
        .call(|e| e.get_linked_pod("ns", "u2", "chat"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Data, "{err}");
    assert_eq!(
        exec.call(|e| e.get_linked_pod("ns", "u1", "chat")).unwrap(),
        Some(4)
    );
    assert_eq!(named_clients(&server), 2);
}

#[test]
fn the_option_is_checked() {
    let err = stateful_redis::Config::builder()
        .thread_connections(1_025)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config);
    assert!(err.message().contains("thread_connections"), "{err}");
}

/// With the only thread connection held by a call, another thread's call goes
/// through the runtime instead of waiting for it (and opens nothing more).
#[test]
fn a_call_finding_every_thread_connection_busy_goes_through_the_runtime() {
    let server = common::start_server();
    let config = common::config_for(&server)
        .thread_connections(1)
        .client_name("thread-io")
        .command_timeout(Duration::from_millis(10_000))
        .build()
        .unwrap();
    let exec = BlockingExecutor::connect(config).unwrap();
    exec.call(|e| e.set_linked_pod("ns", "u1", "chat", 1, -1))
        .unwrap();
    let writer_done = AtomicBool::new(false);
    std::thread::scope(|s| {
        // Writes are held for 3 s; reads are not.
        server
            .command(&["CLIENT", "PAUSE", "3000", "WRITE"])
            .unwrap();
        s.spawn(|| {
            let previous = exec.call(|e| e.set_linked_pod("ns", "u2", "chat", 2, -1));
            writer_done.store(true, Ordering::SeqCst);
            assert_eq!(previous.unwrap(), None);
        });
        while exec.executor().in_flight() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Let the writer take the thread connection and send its write.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            exec.call(|e| e.get_linked_pod("ns", "u1", "chat")).unwrap(),
            Some(1)
        );
        assert!(
            !writer_done.load(Ordering::SeqCst),
            "the read was served after the held write, not beside it"
        );
        assert_eq!(named_clients(&server), 2);
    });
    assert_eq!(
        exec.call(|e| e.get_linked_pod("ns", "u2", "chat")).unwrap(),
        Some(2)
    );
}

#[test]
fn thread_connections_speak_tls_with_a_client_certificate() {
    let pki = TestPki::new();
    let redis = TlsRedis::start(&pki, "yes");
    let config = common::config_for(&redis.server)
        .url(redis.tls_url())
        .tls_ca_file(pki.path("ca.crt"))
        .tls_client_cert(pki.path("client.crt"), pki.path("client.key"))
        .thread_connections(1)
        .client_name("thread-io")
        .build()
        .unwrap();
    let exec = BlockingExecutor::connect(config).unwrap();
    assert_eq!(link_and_read_back(&exec, "u1", 5), None);
    // The shared connection and the thread connection, both over TLS.
    assert_eq!(named_clients(&redis.server), 2);
}

/// A thread connection the server closed while it sat idle (a restart,
/// `CLIENT KILL`, the server's idle `timeout`) does not cost the next write its
/// outcome: it is found dead before the write is sent (a peek), and the write
/// goes on a new connection.
#[test]
fn a_write_after_the_server_closed_an_idle_thread_connection_is_sent_on_a_new_one() {
    let server = common::start_server();
    let exec = connect(&server, 1);
    exec.call(|e| e.set_linked_pod("ns", "u1", "chat", 1, -1))
        .unwrap();
    let before = exec.executor().metrics().pool.reconnects;
    let killed = server
        .command(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        .unwrap();
    assert!(killed.starts_with(':'), "{killed}");
    // Idle for a moment: the close has reached the socket.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        exec.call(|e| e.set_linked_pod("ns", "u1", "chat", 2, -1))
            .unwrap(),
        Some(1)
    );
    assert_eq!(exec.executor().metrics().pool.reconnects, before + 1);
    assert_eq!(
        exec.call(|e| e.get_linked_pod("ns", "u1", "chat")).unwrap(),
        Some(2)
    );
}

/// `close()` while threads are in calls on their thread connections: every
/// call either completes or is `CLOSED`, nothing panics, and once the calls
/// have returned no thread connection is left open (the shared one is, until
/// the executor is dropped).
#[test]
fn close_during_calls_leaves_no_thread_connection_open() {
    let server = common::start_server();
    let exec = connect(&server, 4);
    let calls = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..6 {
            let (exec, calls) = (&exec, &calls);
            s.spawn(move || {
                for i in 0.. {
                    let uid = format!("c{t}-{i}");
                    match exec.call(|e| e.set_linked_pod("ns", &uid, "chat", t, -1)) {
                        Ok(_) => calls.fetch_add(1, Ordering::Relaxed),
                        Err(e) if e.code() == ErrorCode::Closed => break,
                        Err(e) => panic!("{e}"),
                    };
                }
            });
        }
        while calls.load(Ordering::Relaxed) < 500 {
            std::thread::sleep(Duration::from_millis(5));
        }
        exec.close();
    });
    // The server notices the closes a moment later.
    let deadline = Instant::now() + Duration::from_secs(10);
    while named_clients(&server) > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(named_clients(&server), 1);
}

extern "C" fn note_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
}

static SIGNALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A signal handled by the application (installed without `SA_RESTART`, as
/// CPython installs its handlers) that arrives while a thread waits for its
/// reply interrupts `read()` with `EINTR`. That is no lost connection: the call
/// goes on, a write is not reported as "outcome unknown", and the handler runs.
#[test]
fn a_signal_during_a_round_trip_is_no_failure() {
    // SAFETY: installs a handler that only touches an atomic.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = note_signal as *const () as usize;
        action.sa_flags = 0; // no SA_RESTART
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    let server = common::start_server();
    let config = common::config_for(&server)
        .thread_connections(1)
        .command_timeout(Duration::from_millis(10_000))
        .build()
        .unwrap();
    let exec = BlockingExecutor::connect(config).unwrap();
    exec.call(|e| e.set_linked_pod("ns", "u1", "chat", 1, -1))
        .unwrap();
    let reconnects = exec.executor().metrics().pool.reconnects;
    let before = SIGNALS.load(Ordering::SeqCst);
    server
        .command(&["CLIENT", "PAUSE", "3000", "WRITE"])
        .unwrap();
    let caller = {
        let exec = exec.clone();
        std::thread::spawn(move || exec.call(|e| e.set_linked_pod("ns", "u1", "chat", 2, -1)))
    };
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: the thread is alive until joined below.
    let thread = std::os::unix::thread::JoinHandleExt::as_pthread_t(&caller);
    assert_eq!(unsafe { libc::pthread_kill(thread, libc::SIGUSR1) }, 0);
    let previous = caller.join().unwrap();
    assert_eq!(previous.as_ref().ok(), Some(&Some(1)), "{previous:?}");
    assert_eq!(
        SIGNALS.load(Ordering::SeqCst),
        before + 1,
        "the handler ran"
    );
    assert_eq!(exec.executor().metrics().pool.reconnects, reconnects);
}

/// A password (`AUTH`), a database (`SELECT`) and a Unix socket: the thread
/// connection authenticates and selects as the shared one does.
#[test]
fn thread_connections_authenticate_select_and_use_unix_sockets() {
    let server = LocalRedis::builder().password().start().unwrap();
    let connect_to = |url: String| {
        let config = stateful_redis::Config::builder()
            .url(url)
            .thread_connections(1)
            .client_name("thread-io")
            .build()
            .unwrap();
        BlockingExecutor::connect(config).unwrap()
    };
    let exec = connect_to(format!("{}/3", server.url()));
    assert_eq!(link_and_read_back(&exec, "u1", 6), None);
    // Both connections, the thread connection too, in database 3.
    let list = server.command(&["CLIENT", "LIST"]).unwrap();
    let in_db3 = list
        .lines()
        .filter(|l| l.contains(" name=thread-io ") && l.contains(" db=3 "))
        .count();
    assert_eq!(in_db3, 2, "{list}");
    drop(exec);

    let socket = server.dir().join("redis.sock");
    let unix = LocalRedis::builder()
        .args(["--unixsocket".to_string(), socket.display().to_string()])
        .start()
        .unwrap();
    let exec = connect_to(format!("unix://{}", socket.display()));
    assert_eq!(link_and_read_back(&exec, "u2", 7), None);
    assert_eq!(named_clients(&unix), 2);
}

/// Timeouts of `u64::MAX` milliseconds ("never", as a caller may write it) are
/// accepted and work: every deadline is computed without overflowing the
/// clock, on a thread connection and on the shared connection, and when a
/// killed connection is replaced. (Adding such a timeout to an `Instant`
/// panics.)
#[test]
fn timeouts_of_u64_max_milliseconds_work() {
    let server = common::start_server();
    let never = Duration::from_millis(u64::MAX);
    for thread_connections in [0, 1] {
        let config = common::config_for(&server)
            .command_timeout(never)
            .connect_timeout(never)
            .thread_connections(thread_connections)
            .build()
            .unwrap();
        let exec = BlockingExecutor::connect(config).unwrap();
        let uid = format!("never-{thread_connections}");
        assert_eq!(link_and_read_back(&exec, &uid, 4), None);
        server
            .command(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
            .unwrap();
        // The read finds its connection gone and is retried on a new one.
        assert_eq!(
            exec.call(|e| e.get_linked_pod("ns", &uid, "chat")).unwrap(),
            Some(4),
            "thread_connections {thread_connections}"
        );
    }
}
