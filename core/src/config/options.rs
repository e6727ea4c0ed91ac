//! The options of an executor, as every front end gives them: [`Options`] (with
//! its [`RetryPolicy`] and [`KeySchemaName`]), read from JSON by the C ABI and
//! from a JSON value by Python and Node, refusing unknown options with `CONFIG`
//! and never printing a value given (a password). They are checked when
//! they become a [`Config`](super::Config).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{scrub_url, Error, Result};
use crate::keys::KeySchema;

/// Bounded retries with exponential backoff and full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the second attempt, in milliseconds; doubles each time.
    pub base_backoff_ms: u64,
    /// Upper bound of one backoff, in milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff_ms: 5,
            max_backoff_ms: 100,
        }
    }
}

impl RetryPolicy {
    /// The jittered pause before attempt number `attempt` (1-based; attempt 2 is the
    /// first retry).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(2).min(20);
        let cap = self
            .base_backoff_ms
            .saturating_mul(1u64 << exp)
            .min(self.max_backoff_ms);
        if cap == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::random_range(0..=cap))
    }
}

/// Every option of an executor. Field names are the option names of every binding
/// (`command_timeout_ms`, ...).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// `redis://[user:password@]host:port[/db]`, `rediss://...` or `unix:///path`.
    /// `None`: [`URL_ENV`](super::URL_ENV), else [`DEFAULT_URL`](super::DEFAULT_URL).
    pub url: Option<String>,
    /// Seed nodes of a Redis Cluster (`redis://host:port` each). Empty: `url` is
    /// used, and a cluster node found there is used as the seed.
    pub cluster_nodes: Vec<String>,
    /// ACL user name; overrides the URL's.
    pub username: Option<String>,
    /// Password; overrides the URL's. Never printed.
    pub password: Option<String>,
    /// Database number; overrides the URL's.
    pub database: Option<i64>,
    /// Bound on establishing a connection, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Bound on one call, retries included, in milliseconds: no call waits longer.
    pub command_timeout_ms: u64,
    /// Multiplexed connections to the server (1 ..= 64). One connection already
    /// pipelines concurrent calls; more rarely help (see `docs/performance.md`).
    pub connections: usize,
    /// Connections the blocking API (the C ABI, Python's `Executor`) may open
    /// besides those, for calls made on the caller's own thread: a call takes
    /// an idle one (or opens one, up to this many) and does its round trip on
    /// its thread, with no hand-over to the runtime's thread; when all are busy
    /// it goes through the runtime as usual. 0 (the default): off. Standalone
    /// servers only (see `docs/performance.md`, "Calls on the caller's thread").
    pub thread_connections: usize,
    /// One more connection, for the calls an event loop's thread makes
    /// (Node's JS thread): their requests are written and their replies read
    /// on that thread, with no hand-over to the runtime's thread. Calls go
    /// through the shared connections while it is being re-opened. Default
    /// false. Standalone TCP and Unix servers only (not TLS); no effect in
    /// the blocking API (see `docs/performance.md`, "Calls on the event loop").
    pub event_loop_connection: bool,
    /// Calls in flight at once; beyond that a call fails at once with `BUSY`.
    pub max_in_flight: usize,
    /// Retries of calls that are safe to repeat (see `docs/reliability.md`).
    pub retry: RetryPolicy,
    /// Key layout.
    pub key_schema: KeySchemaName,
    /// Record every operation in the performance monitor.
    pub monitor: bool,
    /// Set `TCP_NODELAY` on connections (see `docs/performance.md`).
    pub tcp_nodelay: bool,
    /// Name every connection takes with `CLIENT SETNAME` (shown as `name=` by
    /// `CLIENT LIST`), also after a reconnect. 1 ..= [`MAX_CLIENT_NAME_LEN`](super::MAX_CLIENT_NAME_LEN)
    /// printable ASCII characters, no spaces (what Redis accepts). `None`: unnamed.
    pub client_name: Option<String>,
    /// Const labels of the metrics (label name → value, e.g. `executor` →
    /// `orders`), added to every series of the Prometheus exposition so that two
    /// executors of one process do not collide. At most 16; names follow the
    /// Prometheus grammar, not `__…` nor `operation`, `code`, `le`, `quantile`,
    /// `version` (see `validate::validate_metric_labels`). Empty: no labels.
    pub metrics_labels: BTreeMap<String, String>,
    /// `rediss://` only: PEM file of the CA(s) that signed the server's certificate.
    /// `None`: the Mozilla root certificates built into the library (webpki-roots).
    pub tls_ca_file: Option<String>,
    /// `rediss://` only: PEM file of a client certificate (chain), for servers that
    /// authenticate clients (`tls-auth-clients yes`). Needs `tls_client_key_file`.
    pub tls_client_cert_file: Option<String>,
    /// `rediss://` only: PEM file of the client certificate's private key (its
    /// path may be printed in errors, never the file's contents).
    pub tls_client_key_file: Option<String>,
}

/// Name of a key schema in the options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySchemaName {
    #[default]
    Default,
    /// The Java version's keys (standalone servers only).
    Java,
}

impl KeySchemaName {
    pub fn schema(self) -> KeySchema {
        match self {
            KeySchemaName::Default => KeySchema::Default,
            KeySchemaName::Java => KeySchema::Java,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: None,
            cluster_nodes: Vec::new(),
            username: None,
            password: None,
            database: None,
            connect_timeout_ms: 2_000,
            command_timeout_ms: 1_000,
            connections: 1,
            thread_connections: 0,
            event_loop_connection: false,
            max_in_flight: 100_000,
            retry: RetryPolicy::default(),
            key_schema: KeySchemaName::Default,
            monitor: true,
            tcp_nodelay: true,
            client_name: None,
            metrics_labels: BTreeMap::new(),
            tls_ca_file: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("url", &self.url.as_deref().map(scrub_url))
            .field(
                "cluster_nodes",
                &self
                    .cluster_nodes
                    .iter()
                    .map(|u| scrub_url(u))
                    .collect::<Vec<_>>(),
            )
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("database", &self.database)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("command_timeout_ms", &self.command_timeout_ms)
            .field("connections", &self.connections)
            .field("thread_connections", &self.thread_connections)
            .field("event_loop_connection", &self.event_loop_connection)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .field("key_schema", &self.key_schema)
            .field("monitor", &self.monitor)
            .field("tcp_nodelay", &self.tcp_nodelay)
            .field("client_name", &self.client_name)
            .field("metrics_labels", &self.metrics_labels)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_client_cert_file", &self.tls_client_cert_file)
            .field("tls_client_key_file", &self.tls_client_key_file)
            .finish()
    }
}

impl Options {
    /// Parses options from JSON (the C ABI's form). Unknown keys are refused.
    pub fn from_json(json: &str) -> Result<Options> {
        if json.trim().is_empty() {
            return Ok(Options::default());
        }
        if !json.trim_start().starts_with('{') {
            return Err(not_an_object());
        }
        match serde_json::from_str::<Options>(json) {
            Ok(options) => Ok(options),
            // A syntax error names a line and column, never the text.
            Err(e) if e.is_syntax() || e.is_eof() => {
                Err(Error::config(format!("invalid configuration: {e}")))
            }
            Err(e) => Err(option_error(
                serde_json::from_str::<serde_json::Value>(json)
                    .ok()
                    .as_ref(),
                &e,
            )),
        }
    }

    /// Options from a JSON value (the Python and Node bindings' form: keyword
    /// arguments and the options object become one). Unknown keys are refused.
    pub fn from_json_value(value: &serde_json::Value) -> Result<Options> {
        if !value.is_object() {
            return Err(not_an_object());
        }
        Options::deserialize(value).map_err(|e| option_error(Some(value), &e))
    }
}

/// The `CONFIG` error of options serde refused, without the value given: serde
/// says `invalid type: string "<value>", expected ...`, which prints a password
/// given where a number was due, or a number given as the password. This names
/// the option and what was expected instead.
fn option_error(value: Option<&serde_json::Value>, err: &serde_json::Error) -> Error {
    let message = err.to_string();
    // These name a key, never a value.
    let names_a_key = ["unknown field", "missing field", "duplicate field"]
        .iter()
        .any(|p| message.starts_with(p));
    if names_a_key {
        return Error::config(format!("invalid configuration: {message}"));
    }
    // After the last ", expected " comes serde's fixed description of the type
    // wanted; the value is before it.
    let expected = match message.rfind(", expected ") {
        Some(i) => &message[i + 2..],
        None => "a value of another type",
    };
    match value.and_then(|v| failing_option(v, "")) {
        Some(path) => Error::config(format!(
            "invalid configuration: option `{path}`: {expected}"
        )),
        None => Error::config(format!("invalid configuration: {expected}")),
    }
}

/// serde would also read a struct from an array, by position: `["<password>"]`
/// would be a URL.
fn not_an_object() -> Error {
    Error::config("invalid configuration: the options must be a JSON object")
}

/// The path (`password`, `retry.max_attempts`) of the first option of `value`
/// that serde refuses on its own, found by deserialising one option at a time.
fn failing_option(value: &serde_json::Value, prefix: &str) -> Option<String> {
    // Whether `key: inner` alone, nested back under `prefix`, is accepted.
    let accepted = |key: &str, inner: serde_json::Value| {
        let mut probe = serde_json::json!({ key: inner });
        for part in prefix.split('.').filter(|p| !p.is_empty()).rev() {
            probe = serde_json::json!({ part: probe });
        }
        Options::deserialize(&probe).is_ok()
    };
    for (key, inner) in value.as_object()? {
        if accepted(key, inner.clone()) {
            continue;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        // Look inside only an option that is itself a set of options (`retry`).
        if inner.is_object() && accepted(key, serde_json::json!({})) {
            return failing_option(inner, &path).or(Some(path));
        }
        return Some(path);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn json_options_parse_and_refuse_unknown_keys() {
        let o = Options::from_json(r#"{"url":"redis://127.0.0.1:7000/2","command_timeout_ms":50}"#)
            .unwrap();
        assert_eq!(o.command_timeout_ms, 50);
        let err = Options::from_json(r#"{"nope":1}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Config);
        assert!(err.message().contains("nope"), "{}", err.message());
    }
}
