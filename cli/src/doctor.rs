//! `stateful-redis doctor`: is the server reachable, which version and mode, are
//! the scripts loaded, are all cluster slots served, what does the monitor suggest.
//!
//! Checks run on plain `redis` connections with short timeouts, so an unreachable
//! or paused server gives a clear answer in seconds; then an executor connects
//! (which loads the scripts, as every client does), makes a few calls and the
//! monitor's suggestions are printed.

use std::time::{Duration, Instant};

use redis::Value;
use serde::Serialize;
use stateful_redis::config::Options;
use stateful_redis::{scripts, Executor};

/// One line of the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    /// `ok`, `warning` or `error`.
    pub status: &'static str,
    pub detail: String,
}

/// Everything doctor found.
#[derive(Debug, Default, Serialize)]
pub struct Diagnosis {
    pub target: String,
    pub checks: Vec<Check>,
    pub suggestions: Vec<stateful_redis::Suggestion>,
}

impl Diagnosis {
    fn push(&mut self, name: &str, status: &'static str, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_string(),
            status,
            detail: detail.into(),
        });
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == "error")
    }

    /// The human-readable verdict.
    pub fn text(&self) -> String {
        let mut out = format!("stateful-redis doctor: {}\n", self.target);
        for c in &self.checks {
            let mark = match c.status {
                "ok" => "ok  ",
                "warning" => "WARN",
                _ => "FAIL",
            };
            out.push_str(&format!("  [{mark}] {:<12} {}\n", c.name, c.detail));
        }
        if !self.suggestions.is_empty() {
            out.push_str("  suggestions:\n");
            for s in &self.suggestions {
                out.push_str(&format!("    - {:?} {}: {}\n", s.severity, s.id, s.message));
            }
        }
        let verdict = if self.failed() {
            "something is wrong"
        } else if self.checks.iter().any(|c| c.status == "warning") {
            "healthy, with warnings"
        } else {
            "healthy"
        };
        out.push_str(&format!("  verdict: {verdict}\n"));
        out
    }
}

const TIMEOUT: Duration = Duration::from_secs(2);

/// How doctor's own connections log in: the user and password of the options,
/// which override the URL's (as in the core), and the TLS certificates of
/// `rediss://` addresses.
#[derive(Clone, Default)]
struct Login {
    username: Option<String>,
    password: Option<String>,
    tls: Option<redis::TlsCertificates>,
}

impl Login {
    /// From options the core has already checked (so the files are readable PEM).
    fn of(options: &Options) -> std::io::Result<Login> {
        let read = |path: &Option<String>| path.as_ref().map(std::fs::read).transpose();
        let ca = read(&options.tls_ca_file)?;
        let cert = read(&options.tls_client_cert_file)?;
        let key = read(&options.tls_client_key_file)?;
        let client_tls = match (cert, key) {
            (Some(client_cert), Some(client_key)) => Some(redis::ClientTlsConfig {
                client_cert,
                client_key,
            }),
            _ => None,
        };
        let tls = (ca.is_some() || client_tls.is_some()).then_some(redis::TlsCertificates {
            client_tls,
            root_cert: ca,
        });
        Ok(Login {
            username: options.username.clone(),
            password: options.password.clone(),
            tls,
        })
    }
}

fn open(url: &str, login: &Login) -> redis::RedisResult<redis::Connection> {
    use redis::IntoConnectionInfo;
    let info = url.into_connection_info()?;
    let mut settings = info.redis_settings().clone();
    if let Some(user) = &login.username {
        settings = settings.set_username(user);
    }
    if let Some(password) = &login.password {
        settings = settings.set_password(password);
    }
    let info = info.set_redis_settings(settings);
    let client = match (&login.tls, info.addr()) {
        (Some(tls), redis::ConnectionAddr::TcpTls { .. }) => {
            redis::Client::build_with_tls(info, tls.clone())?
        }
        _ => redis::Client::open(info)?,
    };
    let con = client.get_connection_with_timeout(TIMEOUT)?;
    con.set_read_timeout(Some(TIMEOUT))?;
    con.set_write_timeout(Some(TIMEOUT))?;
    Ok(con)
}

fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
}

/// The URL as printed: the core's scrub hides its user information and any
/// `pass=` parameter, also when the URL does not parse (`docs/secrets.md`).
pub fn redact(url: &str) -> String {
    stateful_redis::error::scrub_url(url)
}

/// A redis-rs error as printed: it may quote the URL.
fn shown(e: &redis::RedisError) -> String {
    stateful_redis::error::scrub(&e.to_string())
}

fn node_url(url: &str, host: &str, port: i64) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_host(Some(host));
            let _ = u.set_port(Some(port as u16));
            u.to_string()
        }
        Err(_) => format!("redis://{host}:{port}"),
    }
}

/// (slots served, masters as (host, port)) from `CLUSTER SLOTS`.
fn cluster_slots(con: &mut redis::Connection) -> redis::RedisResult<(u64, Vec<(String, i64)>)> {
    let ranges: Vec<Vec<Value>> = redis::cmd("CLUSTER").arg("SLOTS").query(con)?;
    let mut served = 0u64;
    let mut masters: Vec<(String, i64)> = Vec::new();
    for range in ranges {
        let (Some(Value::Int(start)), Some(Value::Int(end))) = (range.first(), range.get(1)) else {
            continue;
        };
        served += (end - start + 1) as u64;
        if let Some(Value::Array(node)) = range.get(2) {
            let host = match node.first() {
                Some(Value::BulkString(b)) => String::from_utf8_lossy(b).to_string(),
                Some(Value::SimpleString(s)) => s.clone(),
                _ => continue,
            };
            if let Some(Value::Int(port)) = node.get(1) {
                if !masters.iter().any(|(h, p)| h == &host && p == port) {
                    masters.push((host, *port));
                }
            }
        }
    }
    Ok((served, masters))
}

fn scripts_loaded(con: &mut redis::Connection) -> redis::RedisResult<Vec<bool>> {
    let mut cmd = redis::cmd("SCRIPT");
    cmd.arg("EXISTS");
    for s in scripts::all() {
        cmd.arg(s.sha());
    }
    let found: Vec<i64> = cmd.query(con)?;
    Ok(found.into_iter().map(|f| f == 1).collect())
}

/// Runs every check against `url`.
pub fn diagnose(url: &str, runtime: &tokio::runtime::Runtime) -> Diagnosis {
    diagnose_options(
        &Options {
            url: Some(url.to_string()),
            ..Options::default()
        },
        runtime,
    )
}

/// Runs every check against the server of `options` (its URL, else its first
/// cluster seed), logging in with its user and password; the executor probe
/// uses all the options (TLS, key schema, ...).
pub fn diagnose_options(options: &Options, runtime: &tokio::runtime::Runtime) -> Diagnosis {
    let url = options
        .url
        .clone()
        .or_else(|| options.cluster_nodes.first().cloned())
        .or_else(|| std::env::var(stateful_redis::config::URL_ENV).ok())
        .unwrap_or_else(|| stateful_redis::config::DEFAULT_URL.to_string());
    let url = url.as_str();
    let mut d = Diagnosis {
        target: redact(url),
        ..Diagnosis::default()
    };
    // The core checks the options first (and installs rustls's crypto provider
    // for rediss://); doctor's plain connections then use what it accepted.
    if let Err(e) = options.clone().build() {
        d.push("config", "error", format!("{}: {}", e.code(), e.message()));
        return d;
    }
    let login = match Login::of(options) {
        Ok(login) => login,
        Err(e) => {
            d.push("config", "error", format!("cannot read a TLS file: {e}"));
            return d;
        }
    };
    let mut con = match open(url, &login) {
        Ok(con) => con,
        Err(e) => {
            d.push(
                "connect",
                "error",
                format!("cannot reach {}: {}", redact(url), shown(&e)),
            );
            return d;
        }
    };
    let started = Instant::now();
    match redis::cmd("PING").query::<String>(&mut con) {
        Ok(_) => d.push(
            "connect",
            "ok",
            format!("PONG in {:.2} ms", started.elapsed().as_secs_f64() * 1e3),
        ),
        Err(e) => {
            d.push("connect", "error", format!("PING failed: {}", shown(&e)));
            return d;
        }
    }
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(&mut con)
        .unwrap_or_default();
    let version = info_field(&info, "redis_version").unwrap_or_else(|| "unknown".into());
    let mode = info_field(&info, "redis_mode").unwrap_or_else(|| "unknown".into());
    d.push("server", "ok", format!("redis {version}, mode {mode}"));
    let mut script_nodes = vec![(redact(url), url.to_string())];
    if mode == "cluster" {
        match cluster_slots(&mut con) {
            Ok((served, masters)) => {
                let status = if served == 16384 { "ok" } else { "error" };
                d.push(
                    "cluster",
                    status,
                    format!(
                        "{served} of 16384 slots served by {} master(s): {}",
                        masters.len(),
                        masters
                            .iter()
                            .map(|(h, p)| format!("{h}:{p}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                script_nodes = masters
                    .iter()
                    .map(|(h, p)| (format!("{h}:{p}"), node_url(url, h, *p)))
                    .collect();
            }
            Err(e) => d.push(
                "cluster",
                "error",
                format!("CLUSTER SLOTS failed: {}", shown(&e)),
            ),
        }
    }
    let mut missing_before = 0;
    for (label, node) in &script_nodes {
        match open(node, &login).and_then(|mut c| scripts_loaded(&mut c)) {
            Ok(found) => {
                let names: Vec<&str> = scripts::all()
                    .iter()
                    .zip(&found)
                    .filter(|(_, f)| !**f)
                    .map(|(s, _)| s.name)
                    .collect();
                missing_before += names.len();
                if names.is_empty() {
                    d.push(
                        "scripts",
                        "ok",
                        format!("{label}: all {} loaded", found.len()),
                    );
                } else {
                    d.push(
                        "scripts",
                        "warning",
                        format!(
                            "{label}: {} of {} not loaded ({}); clients load them when they connect \
                             and again on NOSCRIPT",
                            names.len(),
                            found.len(),
                            names.join(", ")
                        ),
                    );
                }
            }
            Err(e) => d.push(
                "scripts",
                "error",
                format!("{label}: SCRIPT EXISTS failed: {}", shown(&e)),
            ),
        }
    }
    // An executor: what every client does (connect, load scripts, call).
    let probe = runtime.block_on(async {
        let config = Options {
            connect_timeout_ms: TIMEOUT.as_millis() as u64,
            command_timeout_ms: TIMEOUT.as_millis() as u64,
            ..options.clone()
        }
        .build()?;
        let exec = Executor::connect(config).await?;
        for i in 0..20 {
            exec.get_workload_state("doctor:probe:check", &format!("svc{i}"))
                .await?;
        }
        Ok::<_, stateful_redis::Error>(exec)
    });
    match probe {
        Ok(exec) => {
            let snap = exec.metrics();
            let p99 = snap
                .operation("get_workload_state")
                .map(|o| o.latency_ms.p99)
                .unwrap_or(0.0);
            let loaded = if missing_before > 0 {
                " (the executor loaded the missing scripts)"
            } else {
                ""
            };
            d.push(
                "executor",
                "ok",
                format!("connected, 20 reads, p99 {p99:.3} ms{loaded}"),
            );
            d.suggestions = exec.optimization_suggestions();
            exec.close();
        }
        Err(e) => d.push(
            "executor",
            "error",
            format!("{}: {}", e.code(), e.message()),
        ),
    }
    d
}
