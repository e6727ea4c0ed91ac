//! The options object of `Executor.connect` → the core's one set of [`Options`].
//!
//! Keys are the core's option names in camelCase (`commandTimeoutMs`); snake_case
//! keys are accepted too. The object goes through serde into [`Options`], which
//! refuses unknown keys: no option is interpreted here.

use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;
use serde_json::{Map, Value};
use stateful_redis::error::scrub;
use stateful_redis::{Config, Error as CoreError, Options};

/// Retry policy of calls that are safe to repeat (see `docs/reliability.md`).
#[napi(object, object_to_js = false)]
pub struct RetryOptions {
    /// Attempts in all, the first included (1 = never retry). Default 3.
    pub max_attempts: Option<u32>,
    /// Backoff before the second attempt, in milliseconds; doubles each time. Default 5.
    pub base_backoff_ms: Option<u32>,
    /// Upper bound of one backoff, in milliseconds. Default 100.
    pub max_backoff_ms: Option<u32>,
}

/// Options of `Executor.connect`. Unknown keys are refused with `CONFIG`.
#[napi(object, object_to_js = false)]
pub struct ExecutorOptions {
    /// `redis://[user:password@]host:port[/db]` or `unix:///path`; default: the
    /// `STATEFUL_REDIS_URL` environment variable, else `redis://127.0.0.1:6379`.
    pub url: Option<String>,
    /// Seed nodes of a Redis Cluster (`redis://host:port` each). Empty: `url` is
    /// used, and a cluster node found there is used as the seed.
    pub cluster_nodes: Option<Vec<String>>,
    /// ACL user name; overrides the URL's.
    pub username: Option<String>,
    /// Password; overrides the URL's. Never printed.
    pub password: Option<String>,
    /// Database number; overrides the URL's.
    pub database: Option<u32>,
    /// Bound on establishing a connection, in milliseconds. Default 2000.
    pub connect_timeout_ms: Option<u32>,
    /// Bound on one call, retries included, in milliseconds. Default 1000.
    pub command_timeout_ms: Option<u32>,
    /// Multiplexed connections (1..=64). Default 1.
    pub connections: Option<u32>,
    /// For the blocking API only (C, Python's `Executor`): connections for
    /// round trips on the calling thread. No effect here: a Node call never
    /// blocks the event loop. Default 0.
    pub thread_connections: Option<u32>,
    /// One more connection whose requests are written and replies read on
    /// the JS thread (watched by the event loop), with no hand-over to the
    /// core's thread: faster, most of all at one call in flight. While it is
    /// being re-opened after a loss, calls go through the shared connections.
    /// Standalone servers over TCP or Unix sockets (not TLS, not a cluster).
    /// Default true.
    pub event_loop_connection: Option<bool>,
    /// Calls in flight at once; beyond that a call fails at once with `BUSY`.
    pub max_in_flight: Option<u32>,
    /// Retries of calls that are safe to repeat.
    pub retry: Option<RetryOptions>,
    /// Key layout: `"default"`, or `"java"` (the Java version's keys; standalone
    /// servers only).
    #[napi(ts_type = "'default' | 'java'")]
    pub key_schema: Option<String>,
    /// Record every operation in the performance monitor. Default true.
    pub monitor: Option<bool>,
    /// Set `TCP_NODELAY` on connections. Default true.
    pub tcp_nodelay: Option<bool>,
    /// Name every connection takes (`CLIENT SETNAME`, shown by `CLIENT LIST`),
    /// also after a reconnect: 1..=128 printable ASCII characters, no spaces.
    /// Default: unnamed.
    pub client_name: Option<String>,
    /// Const labels of the metrics (label name → value, e.g. `{ executor:
    /// 'orders' }`) on every series of the Prometheus exposition, so that two
    /// executors of one process do not collide: at most 16, names
    /// `[a-zA-Z_][a-zA-Z0-9_]*` (not `__…`, `operation`, `code`, `le`,
    /// `quantile`, `version`), values 1..=256 bytes. Names are kept as given
    /// (not made snake_case).
    #[napi(ts_type = "Record<string, string>")]
    pub metrics_labels: Option<std::collections::HashMap<String, String>>,
    /// PEM file of the CA(s) that sign the server's certificate (`rediss://`);
    /// default: the compiled-in Mozilla roots.
    pub tls_ca_file: Option<String>,
    /// PEM file of a client certificate, for servers that require one.
    pub tls_client_cert_file: Option<String>,
    /// PEM file of the client certificate's private key.
    pub tls_client_key_file: Option<String>,
}

/// `commandTimeoutMs` → `command_timeout_ms`.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Renames every object key of a JSON value to snake_case, but for the keys
/// inside `metrics_labels` (label names, the user's own).
pub(crate) fn snake_case_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let k = snake_case(&k);
                    let v = if k == "metrics_labels" {
                        v
                    } else {
                        snake_case_keys(v)
                    };
                    (k, v)
                })
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

/// Node's default of `eventLoopConnection` (the core's is false: the blocking
/// API has no event loop). On, a call's I/O stays on the JS thread, as a
/// Node user expects of a Node client (see `docs/node.md`).
const NODE_EVENT_LOOP_CONNECTION: bool = true;

/// Checks the options object and builds the configuration.
pub(crate) fn config(env: &Env, options: Option<&Unknown>) -> Result<Config, CoreError> {
    let options = match options {
        Some(value)
            if !matches!(
                value.get_type(),
                Ok(ValueType::Undefined) | Ok(ValueType::Null)
            ) =>
        {
            if value.get_type().ok() != Some(ValueType::Object) {
                return Err(CoreError::invalid_argument("the options must be an object"));
            }
            // napi's reasons name a JS type ("typeof Symbol value ..."), not a value.
            let json: Value = env
                .from_js_value(unsafe { Unknown::from_raw_unchecked(env.raw(), value.raw()) })
                .map_err(|e| CoreError::config(format!("invalid options: {}", scrub(&e.reason))))?;
            let mut json = snake_case_keys(json);
            if let Value::Object(map) = &mut json {
                map.entry("event_loop_connection")
                    .or_insert(Value::Bool(NODE_EVENT_LOOP_CONNECTION));
            }
            // The core's parser: its errors name the option, never the value given.
            Options::from_json_value(&json)?
        }
        _ => Options {
            event_loop_connection: NODE_EVENT_LOOP_CONNECTION,
            ..Options::default()
        },
    };
    options.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_snake_case() {
        assert_eq!(snake_case("commandTimeoutMs"), "command_timeout_ms");
        assert_eq!(snake_case("url"), "url");
        assert_eq!(snake_case("max_attempts"), "max_attempts");
        let labels = snake_case_keys(serde_json::json!({"metricsLabels": {"regionName": "eu"}}));
        assert_eq!(
            labels,
            serde_json::json!({"metrics_labels": {"regionName": "eu"}})
        );
    }

    /// The TypeScript interface (generated from `ExecutorOptions`) lists exactly
    /// the core's options.
    #[test]
    fn typed_options_match_the_core() {
        let core = serde_json::to_value(Options::default()).unwrap();
        let mut core_keys: Vec<String> = core.as_object().unwrap().keys().cloned().collect();
        core_keys.sort();
        let mut ours = vec![
            "url",
            "cluster_nodes",
            "username",
            "password",
            "database",
            "connect_timeout_ms",
            "command_timeout_ms",
            "connections",
            "thread_connections",
            "event_loop_connection",
            "max_in_flight",
            "retry",
            "key_schema",
            "monitor",
            "tcp_nodelay",
            "client_name",
            "metrics_labels",
            "tls_ca_file",
            "tls_client_cert_file",
            "tls_client_key_file",
        ];
        ours.sort();
        assert_eq!(core_keys, ours);
        let retry = core["retry"].as_object().unwrap();
        let mut retry_keys: Vec<&str> = retry.keys().map(String::as_str).collect();
        retry_keys.sort();
        assert_eq!(
            retry_keys,
            ["base_backoff_ms", "max_attempts", "max_backoff_ms"]
        );
        let source = include_str!("options.rs");
        for key in ours.iter().chain(retry_keys.iter()) {
            assert!(
                source.contains(&format!("pub {key}: Option<")),
                "ExecutorOptions lacks {key}"
            );
        }
    }
}
