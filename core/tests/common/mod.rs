//! Shared set-up of the integration tests: a private redis-server per test and an
//! executor connected to it, plus a raw redis-rs connection to inspect the keyspace.
#![allow(dead_code)]

pub mod proxy;
pub mod tls;
pub mod vectors;

use std::time::Duration;

use stateful_redis::{Config, ConfigBuilder, Executor};
use stateful_redis_testkit::LocalRedis;

pub const NS: &str = "app:eu:logic";

pub struct Harness {
    pub server: LocalRedis,
    pub exec: Executor,
    pub raw: redis::aio::MultiplexedConnection,
}

pub fn start_server() -> LocalRedis {
    LocalRedis::start().unwrap_or_else(|e| panic!("cannot start a private redis-server: {e}"))
}

pub fn config_for(server: &LocalRedis) -> ConfigBuilder {
    Config::builder()
        .url(server.url())
        .command_timeout(Duration::from_millis(1_000))
        .connect_timeout(Duration::from_millis(1_000))
}

/// Holds every client's commands for `ms` (`CLIENT PAUSE ms ALL`): in effect once
/// this returns, unlike a `DEBUG SLEEP` sent from another task, which a busy
/// machine may start late. (`CLIENT UNPAUSE` would itself wait for the pause.)
pub async fn pause_all_clients(server: &LocalRedis, ms: u64) {
    let mut raw = raw_connection(server).await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("ALL")
        .query_async(&mut raw)
        .await
        .unwrap();
}

pub async fn raw_connection(server: &LocalRedis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection_with_config(
            // No response timeout: tests send DEBUG SLEEP on this connection.
            &redis::AsyncConnectionConfig::new().set_response_timeout(None),
        )
        .await
        .unwrap()
}

pub async fn harness() -> Harness {
    harness_with(|b| b).await
}

pub async fn harness_with(configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Harness {
    let server = start_server();
    let exec = Executor::connect(configure(config_for(&server)).build().unwrap())
        .await
        .unwrap();
    let raw = raw_connection(&server).await;
    Harness { server, exec, raw }
}

impl Harness {
    /// Every key in the database, sorted.
    pub async fn keys(&mut self) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut self.raw)
            .await
            .unwrap();
        keys.sort();
        keys
    }

    pub async fn get(&mut self, key: &str) -> Option<String> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.raw)
            .await
            .unwrap()
    }

    pub async fn pttl(&mut self, key: &str) -> i64 {
        redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut self.raw)
            .await
            .unwrap()
    }

    pub async fn hgetall(&mut self, key: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(key)
            .query_async(&mut self.raw)
            .await
            .unwrap();
        v.sort();
        v
    }

    pub async fn cmd(&mut self, args: &[&str]) -> redis::Value {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query_async(&mut self.raw).await.unwrap()
    }

    /// A dump of the whole keyspace (keys, types, values, TTL presence), to show
    /// that a failed call wrote nothing.
    pub async fn dump(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for key in self.keys().await {
            let value: Option<Vec<u8>> = redis::cmd("DUMP")
                .arg(&key)
                .query_async(&mut self.raw)
                .await
                .unwrap();
            let ttl = self.pttl(&key).await;
            out.push(format!("{key} {:?} ttl={}", value, ttl > 0));
        }
        out
    }
}

// ---- helpers of the monitor tests ----

/// A blocking `DEBUG SLEEP` on a connection of its own.
pub struct LocalRedisClient(pub u16);

impl LocalRedisClient {
    /// Sends one command on a connection of its own; returns the raw reply.
    pub fn command(&self, args: &[&str]) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.0)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{}\r\n", arg.len(), arg));
        }
        s.write_all(request.as_bytes()).unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    pub fn debug_sleep(&self, seconds: &str) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.0)).unwrap();
        let cmd = format!(
            "*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n${}\r\n{}\r\n",
            seconds.len(),
            seconds
        );
        s.write_all(cmd.as_bytes()).unwrap();
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
    }
}

/// Runs futures concurrently on the current task.
pub async fn futures_join<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.map(Box::pin).collect();
    let mut out = Vec::new();
    let mut pending: Vec<Option<_>> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().map(Option::unwrap));
    out
}

/// A thread that keeps the server busy with `DEBUG SLEEP seconds` until dropped.
pub struct Sleeper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sleeper {
    pub fn start(port: u16, seconds: &'static str) -> Sleeper {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let (started, first_sent) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // One connection for every sleep: no reconnection gap between them.
            use std::io::{Read, Write};
            let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let cmd = format!(
                "*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n${}\r\n{}\r\n",
                seconds.len(),
                seconds
            );
            let mut buf = [0u8; 16];
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                conn.write_all(cmd.as_bytes()).unwrap();
                let _ = started.send(());
                let _ = conn.read(&mut buf);
            }
        });
        // Return once the first DEBUG SLEEP is on its way.
        let _ = first_sent.recv();
        std::thread::sleep(std::time::Duration::from_millis(10));
        Sleeper {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
