//! The blocking facade: many threads on one executor, and fork().

mod common;

use std::time::Duration;

use stateful_redis::{BlockingExecutor, Config, ErrorCode};

#[test]
fn eight_threads_share_one_blocking_executor() {
    let server = common::start_server();
    let exec =
        BlockingExecutor::connect(Config::builder().url(server.url()).build().unwrap()).unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let exec = &exec;
            s.spawn(move || {
                for i in 0..200 {
                    let uid = format!("t{t}-u{i}");
                    exec.call(|e| e.set_linked_pod("ns", &uid, "chat", t, -1))
                        .unwrap();
                    assert_eq!(
                        exec.call(|e| e.get_linked_pod("ns", &uid, "chat")).unwrap(),
                        Some(t)
                    );
                }
            });
        }
    });
    let links = exec
        .call(|e| e.batch_get_linked_pod("ns", &["t3-u0", "t5-u9"], "chat"))
        .unwrap();
    assert_eq!(links.get(&3).unwrap(), &vec!["t3-u0".to_string()]);
}

#[test]
fn blocking_inside_a_runtime_is_an_error_not_a_panic() {
    let server = common::start_server();
    let exec =
        BlockingExecutor::connect(Config::builder().url(server.url()).build().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(async { exec.call(|e| e.get_linked_pod("ns", "u", "chat")) })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Internal);
}

/// A child process can create and use its own executor; the parent's executor
/// refuses to run in the child instead of hanging.
#[test]
fn fork_child_creates_its_own_executor() {
    let server = common::start_server();
    let config = Config::builder().url(server.url()).build().unwrap();
    let parent = BlockingExecutor::connect(config.clone()).unwrap();
    parent
        .call(|e| e.set_linked_pod("ns", "u1", "chat", 4, -1))
        .unwrap();

    // SAFETY: the child only calls into the library and then _exit()s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = (|| {
            let inherited = parent.call(|e| e.get_linked_pod("ns", "u1", "chat"));
            if !matches!(inherited, Err(ref e) if e.code() == ErrorCode::Closed) {
                return 10;
            }
            let Ok(child) = BlockingExecutor::connect(config) else {
                return 11;
            };
            match child.call(|e| e.get_linked_pod("ns", "u1", "chat")) {
                Ok(Some(4)) => 0,
                _ => 12,
            }
        })();
        unsafe { libc::_exit(code) };
    }
    // Wait with a bound, so a hang fails the test instead of freezing CI.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut status = 0;
    loop {
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            break;
        }
        if std::time::Instant::now() > deadline {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the forked child hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(libc::WIFEXITED(status), "child crashed: {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child failed");
    // The parent still works.
    assert_eq!(
        parent
            .call(|e| e.get_linked_pod("ns", "u1", "chat"))
            .unwrap(),
        Some(4)
    );
}
