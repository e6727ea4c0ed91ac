//! Which server a command talks to, and how: the connection flags (`ConnArgs`
//! in `main.rs`, each with an environment variable) fill the core's `Options`,
//! which the core checks when it builds the `Config`. The server is `--url`,
//! else `$STATEFUL_REDIS_URL`, else the `--cluster-node` seeds, else a private
//! `redis-server` started for the lifetime of the command (kept in `shutdown` so
//! that a signal can stop it; see docs/cli.md). Writes refuse the private server.

use std::collections::BTreeMap;

use stateful_redis::config::{KeySchemaName, Options};
use stateful_redis_cli::CliError;
use stateful_redis_testkit::LocalRedis;

use crate::{shutdown, ConnArgs};

/// The password's environment variable (as redis-cli's `REDISCLI_AUTH`): never
/// a flag, so that it does not show in `ps`.
pub const AUTH_ENV: &str = "STATEFUL_REDIS_AUTH";

/// What the command is about to do with the server.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Reads, or a workload on data of its own (`bench`, `dashboard`, `doctor`):
    /// a private server will do.
    Private,
    /// Writes that must outlive the command: a private server is refused.
    Write,
}

/// The executor options given by the flags and the environment, without the
/// private server (whose URL is filled in by [`options`]).
pub fn given_options(conn: &ConnArgs) -> Result<Options, CliError> {
    let mut o = Options {
        url: conn
            .url
            .clone()
            .or_else(|| std::env::var(stateful_redis::config::URL_ENV).ok()),
        cluster_nodes: conn
            .cluster_nodes
            .iter()
            .map(|n| node_url(n.trim()))
            .filter(|n| !n.is_empty())
            .collect(),
        username: conn.user.clone(),
        password: password(conn)?,
        tls_ca_file: conn.tls_ca.clone(),
        tls_client_cert_file: conn.tls_cert.clone(),
        tls_client_key_file: conn.tls_key.clone(),
        client_name: conn.client_name.clone(),
        // Checked by the core (names, reserved `le`, duplicates) with the rest.
        metrics_labels: metrics_labels(conn)?,
        // The CLI's own default: a command waits longer than a service would.
        command_timeout_ms: 5_000,
        ..Options::default()
    };
    if let Some(schema) = &conn.key_schema {
        o.key_schema = match schema.as_str() {
            "java" => KeySchemaName::Java,
            _ => KeySchemaName::Default,
        };
    }
    if let Some(n) = conn.connections {
        o.connections = n;
    }
    if let Some(ms) = conn.command_timeout_ms {
        o.command_timeout_ms = ms;
    }
    if let Some(ms) = conn.connect_timeout_ms {
        o.connect_timeout_ms = ms;
    }
    Ok(o)
}

/// The `--metrics-label` pairs as a map; a key given twice is refused rather
/// than one value silently winning.
fn metrics_labels(conn: &ConnArgs) -> Result<BTreeMap<String, String>, CliError> {
    let mut labels = BTreeMap::new();
    for (key, value) in &conn.metrics_labels {
        if labels.insert(key.clone(), value.clone()).is_some() {
            return Err(CliError::new(
                "INVALID_ARGUMENT",
                format!("--metrics-label `{key}` is given twice"),
            ));
        }
    }
    Ok(labels)
}

/// `HOST:PORT` as a seed URL; a URL (`redis://`, `rediss://`) is kept.
fn node_url(node: &str) -> String {
    if node.is_empty() || node.contains("://") {
        node.to_string()
    } else {
        format!("redis://{node}")
    }
}

/// The password: `$STATEFUL_REDIS_AUTH` or the first line of `--password-file`
/// (one of them; neither is ever printed).
fn password(conn: &ConnArgs) -> Result<Option<String>, CliError> {
    let from_env = std::env::var(AUTH_ENV).ok().filter(|p| !p.is_empty());
    let Some(path) = &conn.password_file else {
        return Ok(from_env);
    };
    if from_env.is_some() {
        return Err(CliError::new(
            "INVALID_ARGUMENT",
            format!("both ${AUTH_ENV} and --password-file give a password: keep one"),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        // The error names the file, never its contents.
        CliError::new(
            "INVALID_ARGUMENT",
            format!("--password-file: cannot read {}: {e}", path.display()),
        )
    })?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(CliError::new(
            "INVALID_ARGUMENT",
            format!("--password-file: {} is empty", path.display()),
        ));
    }
    Ok(Some(line.to_string()))
}

/// The options to connect with: the given ones, or a private server's URL when
/// they name no server (refused for [`Use::Write`]).
pub fn options(conn: &ConnArgs, usage: Use) -> Result<Options, CliError> {
    let mut options = given_options(conn)?;
    if options.url.is_some() || !options.cluster_nodes.is_empty() {
        return Ok(options);
    }
    if usage == Use::Write {
        return Err(CliError::new(
            "INVALID_ARGUMENT",
            "writes need --url or STATEFUL_REDIS_URL (or --cluster-node): a private server \
             would vanish when the command exits",
        ));
    }
    let credentials = options.username.is_some()
        || options.password.is_some()
        || options.tls_ca_file.is_some()
        || options.tls_client_cert_file.is_some()
        || options.tls_client_key_file.is_some();
    if credentials {
        return Err(CliError::new(
            "INVALID_ARGUMENT",
            format!(
                "--user, --password-file, ${AUTH_ENV} and --tls-* need a server: give --url, \
                 STATEFUL_REDIS_URL or --cluster-node (without one a private server is started, \
                 with a password of its own)"
            ),
        ));
    }
    options.url = Some(private_url()?);
    Ok(options)
}

/// Starts the private server; it is kept in `shutdown` until the end.
fn private_url() -> Result<String, CliError> {
    // Held while starting, so a signal handled meanwhile still stops the server.
    let mut slot = shutdown::server_slot();
    // A password keeps other local users out (docs/cli.md).
    let server = LocalRedis::builder().password().start().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::new(
                "CONNECTION",
                "no --url and no $STATEFUL_REDIS_URL, and redis-server is not on PATH to start a \
                 private one: install it (Debian: apt-get install redis-server; or \
                 bash scripts/lib/install-redis.sh) or pass --url redis://HOST:PORT",
            )
        } else {
            CliError::new(
                "CONNECTION",
                format!("cannot start a private redis-server: {e}"),
            )
        }
    })?;
    eprintln!(
        "stateful-redis: no --url given: started a private redis-server on {} for this command",
        server.address()
    );
    let url = server.url();
    *slot = Some(server);
    Ok(url)
}
