//! `fork()` while another thread is creating the shared runtime: the child must
//! not inherit a lock that thread held (it does not exist in the child, so the
//! lock would stay taken forever). The only test of its binary: the runtime is
//! created in a fresh child, never in the test process itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use stateful_redis::runtime;

/// The creating thread is inside the creation, waiting for the fork.
static IN_CREATION: AtomicBool = AtomicBool::new(false);
static FORKED: AtomicBool = AtomicBool::new(false);
static PAUSED_ONCE: AtomicBool = AtomicBool::new(false);

fn pause_until_forked() {
    // Only the first creation pauses (the child inherits this flag set).
    if PAUSED_ONCE.swap(true, Ordering::SeqCst) {
        return;
    }
    IN_CREATION.store(true, Ordering::SeqCst);
    while !FORKED.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `f` in a forked child and returns its exit code, or -1 if it had not
/// exited within `limit` (then it is killed: a hang fails instead of freezing).
fn in_child(limit: Duration, f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child runs `f` and then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = f();
        unsafe { libc::_exit(code) };
    }
    let deadline = Instant::now() + limit;
    let mut status = 0;
    loop {
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            return if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -2
            };
        }
        if Instant::now() > deadline {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return -1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn runtime_works() -> bool {
    match runtime::shared() {
        Ok(rt) => rt.block_on(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            tokio::spawn(async { 7 }).await.ok() == Some(7)
        }),
        Err(_) => false,
    }
}

#[test]
fn a_fork_while_another_thread_creates_the_runtime_leaves_the_child_working() {
    let code = in_child(Duration::from_secs(60), || {
        runtime::set_before_build_hook(pause_until_forked);
        let creator = std::thread::spawn(runtime_works);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !IN_CREATION.load(Ordering::SeqCst) {
            if Instant::now() > deadline {
                return 20;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // The other thread is inside the creation now.
        let grandchild = in_child(Duration::from_secs(20), || {
            if runtime_works() {
                0
            } else {
                31
            }
        });
        FORKED.store(true, Ordering::SeqCst);
        if !creator.join().unwrap_or(false) {
            return 21;
        }
        match grandchild {
            0 => 0,
            -1 => 22, // hung
            _ => 23,
        }
    });
    assert_eq!(
        code, 0,
        "22: the child of the fork hung creating its runtime"
    );
}
