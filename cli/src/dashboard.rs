//! `stateful-redis dashboard`: a small HTTP server over the executor's monitor.
//!
//! - `/metrics`: Prometheus text exposition (`Executor::metrics_prometheus`);
//! - `/metrics.json`: the snapshot (`Executor::metrics`, schema in `schemas/`);
//! - `/suggestions.json`: `Executor::optimization_suggestions`;
//! - `/`: a self-contained HTML page (no CDN: the page, its script and its charts
//!   are embedded) that polls the two JSON endpoints every second.
//!
//! The server (`tiny_http`) runs on its own thread; every request is answered from
//! the monitor, which is lock-free to read, so serving never slows the workload.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

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

fn serve(server: &Server, stop: &AtomicBool, exec: &Executor) {
    while !stop.load(Ordering::Relaxed) {
        let request = match server.recv_timeout(Duration::from_millis(200)) {
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
