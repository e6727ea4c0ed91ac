//! A loopback TCP proxy that can misbehave on demand, for fault tests:
//! stop forwarding with every connection left open (a half-open peer), or let a
//! request through and drop its reply by cutting the connection (the ambiguous
//! failure: the server ran the command, the client never hears of it).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Default)]
struct State {
    /// Nothing is forwarded in either direction; connections stay open.
    stalled: AtomicBool,
    /// The next reply from the server is dropped and its connection cut.
    cut_next_reply: AtomicBool,
    /// Replies dropped so far.
    cut_replies: AtomicU64,
    /// Client connections accepted so far.
    accepted: AtomicU64,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// A running proxy to `127.0.0.1:upstream`; stops (with every connection) on drop.
pub struct Proxy {
    pub port: u16,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy in front of `127.0.0.1:upstream` (inside a tokio runtime).
    pub async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let accept = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    state.accepted.fetch_add(1, Ordering::SeqCst);
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        continue; // the client sees its connection closed
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let task = tokio::spawn(pump_pair(client, server, state.clone()));
                    let mut tasks = state.tasks.lock().unwrap();
                    tasks.retain(|t| !t.is_finished());
                    tasks.push(task);
                }
            }
        });
        Proxy {
            port,
            state,
            accept,
        }
    }

    /// `redis://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops (`true`) or resumes (`false`) forwarding; connections stay open.
    pub fn stall(&self, stalled: bool) {
        self.state.stalled.store(stalled, Ordering::SeqCst);
    }

    /// The next reply of the server is dropped and that connection cut.
    pub fn cut_next_reply(&self) {
        self.state.cut_next_reply.store(true, Ordering::SeqCst);
    }

    /// Whether the reply armed by [`Proxy::cut_next_reply`] was dropped yet.
    pub fn cut_pending(&self) -> bool {
        self.state.cut_next_reply.load(Ordering::SeqCst)
    }

    /// Replies dropped so far.
    pub fn cut_replies(&self) -> u64 {
        self.state.cut_replies.load(Ordering::SeqCst)
    }

    /// Client connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Closes every open connection (new ones are accepted).
    pub fn cut_all(&self) {
        for task in self.state.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}

async fn pump_pair(client: TcpStream, server: TcpStream, state: Arc<State>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = {
        let state = state.clone();
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                wait_while_stalled(&state).await;
                let n = match client_read.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                wait_while_stalled(&state).await;
                if server_write.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let replies = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            wait_while_stalled(&state).await;
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if state
                .cut_next_reply
                .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                state.cut_replies.fetch_add(1, Ordering::SeqCst);
                return; // both halves drop: the client sees the connection lost
            }
            wait_while_stalled(&state).await;
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Either direction ending closes both sockets.
    tokio::select! {
        _ = requests => {}
        _ = replies => {}
    }
}

async fn wait_while_stalled(state: &State) {
    while state.stalled.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
