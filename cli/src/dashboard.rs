//! `stateful-redis dashboard`: a small HTTP server over the executor's monitor.
//!
//! - `/metrics`: Prometheus text exposition (`Executor::metrics_prometheus`);
//! - `/metrics.json`: the snapshot (`Executor::metrics`, schema in `schemas/`);
//! - `/suggestions.json`: `Executor::optimization_suggestions`;
//! - `/history.json`: one point a second over the last 2 minutes (ops/s, worst
//!   p50/p99, errors), sampled by the server so a page opened late has a past;
//! - `/`: a self-contained HTML page (no CDN: the page, its script and its charts
//!   are embedded) that polls the two JSON endpoints every second.
//!
//! The server (`tiny_http`) runs on its own thread; every request is answered from
//! the monitor, which is lock-free to read, so serving never slows the workload.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use stateful_redis::Executor;
use tiny_http::{Header, Response, Server};

/// The embedded page.
pub const PAGE: &str = include_str!("dashboard.html");

/// A running dashboard server; stops when [`Dashboard::stop`] is called or dropped.
pub struct Dashboard {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

impl Dashboard {
    /// Binds `listen` (e.g. `127.0.0.1:9464`; port 0 picks a free one) and serves.
    pub fn start(listen: &str, exec: Executor) -> Result<Dashboard, String> {
        let server = Server::http(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| format!("{listen} is not an IP address"))?;
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (server, stop) = (server.clone(), stop.clone());
            std::thread::Builder::new()
                .name("stateful-redis-dashboard".into())
                .spawn(move || serve(&server, &stop, &exec))
                .map_err(|e| format!("cannot start the dashboard thread: {e}"))?
        };
        Ok(Dashboard {
            addr,
            stop,
            server,
            thread: Some(thread),
        })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the server thread.
    pub fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.finish();
    }
}

fn header(value: &str) -> Header {
    Header::from_bytes("Content-Type", value).expect("a valid header")
}

/// Points kept by `/history.json`.
pub const HISTORY_POINTS: usize = 120;

/// One point of `/history.json`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct HistoryPoint {
    pub taken_at_ms: u64,
    /// Sum over operations of the calls completed in the last whole second.
    pub ops_per_s: f64,
    /// Worst p50 and p99 over the operations that ran (milliseconds).
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Failed calls so far.
    pub errors: u64,
}

/// The point of a snapshot.
pub fn history_point(snap: &stateful_redis::MetricsSnapshot) -> HistoryPoint {
    let ran = || snap.operations.iter().filter(|o| o.count > 0);
    HistoryPoint {
        taken_at_ms: snap.taken_at_ms,
        ops_per_s: snap.operations.iter().map(|o| o.throughput.last_1s).sum(),
        p50_ms: ran().map(|o| o.latency_ms.p50).fold(0.0, f64::max),
        p99_ms: ran().map(|o| o.latency_ms.p99).fold(0.0, f64::max),
        errors: snap.operations.iter().map(|o| o.errors).sum(),
    }
}

fn serve(server: &Server, stop: &AtomicBool, exec: &Executor) {
    let mut history: VecDeque<HistoryPoint> = VecDeque::with_capacity(HISTORY_POINTS);
    let mut next_sample = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() >= next_sample {
            next_sample += Duration::from_secs(1);
            if history.len() == HISTORY_POINTS {
                history.pop_front();
            }
            history.push_back(history_point(&exec.metrics()));
        }
        let wait = next_sample
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(200));
        let request = match server.recv_timeout(wait) {
            Ok(Some(request)) => request,
            Ok(None) => continue,
            Err(_) => break,
        };
        let path = request.url().split('?').next().unwrap_or("/").to_string();
        let response = match path.as_str() {
            "/" | "/index.html" => {
                Response::from_string(PAGE).with_header(header("text/html; charset=utf-8"))
            }
            "/metrics" => Response::from_string(exec.metrics_prometheus())
                .with_header(header("text/plain; version=0.0.4; charset=utf-8")),
            "/metrics.json" => Response::from_string(exec.metrics().to_json())
                .with_header(header("application/json")),
            "/history.json" => Response::from_string(
                serde_json::to_string(&history).unwrap_or_else(|_| "[]".into()),
            )
            .with_header(header("application/json")),
            "/suggestions.json" => Response::from_string(
                serde_json::to_string(&exec.optimization_suggestions())
                    .unwrap_or_else(|_| "[]".into()),
            )
            .with_header(header("application/json")),
            _ => Response::from_string("not found\n")
                .with_status_code(404)
                .with_header(header("text/plain; charset=utf-8")),
        };
        let _ = request.respond(response);
    }
}
