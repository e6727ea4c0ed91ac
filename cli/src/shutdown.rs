//! How the command ends on SIGINT, SIGTERM and SIGHUP: all three like Ctrl-C.
//!
//! A thread of its own waits for the signals, so they are handled the same way
//! whatever the command is doing. A long-running command (`bench`,
//! `dashboard`) registers a cancel flag: the first signal sets it and the
//! command finishes normally (table printed, report written). Otherwise, or on
//! a second signal, the private redis-server is stopped, its folder removed,
//! and the process exits with 128 + the signal number.
//!
//! The private server is kept here rather than on `main`'s stack so that this
//! thread can stop it. SIGKILL cannot be handled: then the server dies through
//! its parent-death signal (`stateful_redis_testkit::local_redis`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use stateful_redis_testkit::LocalRedis;
use tokio::signal::unix::{signal, SignalKind};

use stateful_redis_cli::CliError;

static SERVER: Mutex<Option<LocalRedis>> = Mutex::new(None);
static CANCEL: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts handling the signals; returns once they are handled.
pub fn install() -> Result<(), CliError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                let (int, term, hup) = (
                    SignalKind::interrupt(),
                    SignalKind::terminate(),
                    SignalKind::hangup(),
                );
                let streams = (signal(int), signal(term), signal(hup));
                let (mut on_int, mut on_term, mut on_hup) = match streams {
                    (Ok(a), Ok(b), Ok(c)) => (a, b, c),
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                loop {
                    let kind = tokio::select! {
                        _ = on_int.recv() => int,
                        _ = on_term.recv() => term,
                        _ = on_hup.recv() => hup,
                    };
                    on_signal(kind.as_raw_value());
                }
            });
        })
        .map_err(|e| CliError::new("INTERNAL", format!("cannot start a thread: {e}")))?;
    ready_rx
        .recv()
        .map_err(|_| CliError::new("INTERNAL", "the signal thread ended"))?
        .map_err(|e| CliError::new("INTERNAL", format!("cannot handle signals: {e}")))
}

fn on_signal(signo: i32) {
    if let Some(cancel) = lock(&CANCEL).take() {
        cancel.store(true, Ordering::Relaxed);
        return;
    }
    // Waits while `main` is starting the server, so it is never missed.
    let mut server = lock(&SERVER);
    drop(server.take());
    // Exits with the lock held: `main`, failing meanwhile for want of a
    // server, waits for it in `stop_server` instead of exiting with 1.
    std::process::exit(128 + signo);
}

/// The slot of the private server: hold the guard while starting it.
pub fn server_slot() -> MutexGuard<'static, Option<LocalRedis>> {
    lock(&SERVER)
}

/// Stops the private server, if any, and removes its folder.
pub fn stop_server() {
    drop(lock(&SERVER).take());
}

/// The next signal sets `cancel` instead of ending the process.
pub fn cancel_on_signal(cancel: Arc<AtomicBool>) {
    *lock(&CANCEL) = Some(cancel);
}
