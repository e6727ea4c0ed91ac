//! Executor configuration (SPEC section 5).
//!
//! One set of options, [`Options`], serves every front end: the Rust builder fills
//! it, the C ABI parses it from JSON, Python from keyword arguments and Node from an
//! options object (both through serde). Unknown options are refused with `CONFIG`.

use std::fmt;
use std::time::{Duration, Instant};

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};

use crate::error::{scrub, scrub_url, Error, Result};
use crate::keys::KeySchema;

mod options;
mod tls;

pub use options::{KeySchemaName, Options, RetryPolicy};

/// Environment variable read for the URL when none is given.
pub const URL_ENV: &str = "STATEFUL_REDIS_URL";

/// The URL used when neither the options nor [`URL_ENV`] give one.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// Upper bound of `connections`.
pub const MAX_CONNECTIONS: usize = 64;

/// Upper bound of `thread_connections`.
pub const MAX_THREAD_CONNECTIONS: usize = 1_024;

/// Upper bound of `client_name`, in bytes.
pub const MAX_CLIENT_NAME_LEN: usize = 128;

impl Options {
    /// Checks the options and resolves the URL into a [`Config`].
    pub fn build(self) -> Result<Config> {
        Config::from_options(self)
    }
}

/// A checked configuration, ready to connect.
#[derive(Clone)]
pub struct Config {
    pub(crate) options: Options,
    pub(crate) connection_info: ConnectionInfo,
    /// Seed nodes when the executor talks to a Redis Cluster; empty otherwise.
    pub(crate) cluster_seeds: Vec<ConnectionInfo>,
    /// CA and client certificate of `rediss://` connections, when configured.
    pub(crate) tls: Option<redis::TlsCertificates>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("options", &self.options)
            .field("server", &self.server_label())
            .field("cluster", &self.is_cluster())
            .finish()
    }
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            options: Options::default(),
        }
    }

    /// Checks options; the URL comes from them, else from `STATEFUL_REDIS_URL`.
    pub fn from_options(options: Options) -> Result<Config> {
        let url = match &options.url {
            Some(url) => url.clone(),
            None => std::env::var(URL_ENV).unwrap_or_else(|_| DEFAULT_URL.to_string()),
        };
        if options.command_timeout_ms == 0 {
            return Err(Error::config("command_timeout_ms must be at least 1"));
        }
        if options.connect_timeout_ms == 0 {
            return Err(Error::config("connect_timeout_ms must be at least 1"));
        }
        if options.connections == 0 || options.connections > MAX_CONNECTIONS {
            return Err(Error::config(format!(
                "connections must be between 1 and {MAX_CONNECTIONS}, not {}",
                options.connections
            )));
        }
        if options.thread_connections > MAX_THREAD_CONNECTIONS {
            return Err(Error::config(format!(
                "thread_connections must be between 0 and {MAX_THREAD_CONNECTIONS}, not {}",
                options.thread_connections
            )));
        }
        if options.max_in_flight == 0 {
            return Err(Error::config("max_in_flight must be at least 1"));
        }
        if options.retry.max_attempts == 0 {
            return Err(Error::config("retry.max_attempts must be at least 1"));
        }
        if options.database.is_some_and(|db| db < 0) {
            return Err(Error::config("database must not be negative"));
        }
        if let Some(name) = &options.client_name {
            check_client_name(name)?;
        }
        crate::validate::validate_metric_labels(
            options
                .metrics_labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .map_err(|e| Error::config(e.message().to_string()))?;
        let tls = tls::certificates(&options)?;
        let connection_info = tls::apply(apply_options(parse_url(&url)?, &options), &tls)?;
        let cluster_seeds = options
            .cluster_nodes
            .iter()
            .map(|node| {
                parse_url(node).and_then(|info| tls::apply(apply_options(info, &options), &tls))
            })
            .collect::<Result<Vec<_>>>()?;
        tls::check_schemes(&options, &connection_info, &cluster_seeds)?;
        let config = Config {
            options,
            connection_info,
            cluster_seeds: Vec::new(),
            tls,
        };
        if cluster_seeds.is_empty() {
            Ok(config)
        } else {
            config.into_cluster(cluster_seeds)
        }
    }

    /// The same configuration, talking to a cluster through `seeds`. Refused
    /// with `CONFIG` when the key schema is not cluster-safe or a database other
    /// than 0 is asked for (a cluster has only database 0).
    pub(crate) fn into_cluster(mut self, seeds: Vec<ConnectionInfo>) -> Result<Config> {
        if !self.key_schema().is_cluster_safe() {
            return Err(Error::config(
                "the java key schema cannot be used with Redis Cluster: a link and its index \
                 are in different hash slots, so the link scripts would fail half-way",
            ));
        }
        if self.options.database.is_some_and(|db| db != 0) {
            return Err(Error::config("Redis Cluster has only database 0"));
        }
        self.cluster_seeds = seeds;
        Ok(self)
    }

    /// Whether the executor talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        !self.cluster_seeds.is_empty()
    }

    pub(crate) fn cluster_seeds(&self) -> Vec<ConnectionInfo> {
        self.cluster_seeds.clone()
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.options.command_timeout_ms)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.options.connect_timeout_ms)
    }

    /// When the command timeout of a call that started at `start` runs out.
    pub fn command_deadline(&self, start: Instant) -> Instant {
        instant_after(start, self.command_timeout())
    }

    /// When a connection opened at `start` must have connected.
    pub fn connect_deadline(&self, start: Instant) -> Instant {
        instant_after(start, self.connect_timeout())
    }

    pub fn key_schema(&self) -> KeySchema {
        self.options.key_schema.schema()
    }

    /// `host:port` or the socket path, without credentials: safe to print.
    pub fn server_label(&self) -> String {
        match self.connection_info.addr() {
            ConnectionAddr::Tcp(host, port) => format!("{host}:{port}"),
            ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port} (TLS)"),
            ConnectionAddr::Unix(path) => path.display().to_string(),
            _ => "unknown address".to_string(),
        }
    }
}

/// Redis refuses a `CLIENT SETNAME` with spaces, newlines or other characters
/// outside `!`..=`~`; the name is checked here, before anything connects. The
/// error names the option, never the value.
fn check_client_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_CLIENT_NAME_LEN {
        return Err(Error::config(format!(
            "client_name must be 1 to {MAX_CLIENT_NAME_LEN} bytes long"
        )));
    }
    if !name.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
        return Err(Error::config(
            "client_name must be printable ASCII without spaces or newlines",
        ));
    }
    Ok(())
}

/// Applies credentials, database, client name and TCP settings of the options.
fn apply_options(info: ConnectionInfo, options: &Options) -> ConnectionInfo {
    let mut redis_settings = info.redis_settings().clone();
    if let Some(user) = &options.username {
        redis_settings = redis_settings.set_username(user);
    }
    if let Some(password) = &options.password {
        redis_settings = redis_settings.set_password(password);
    }
    if let Some(db) = options.database {
        redis_settings = redis_settings.set_db(db);
    }
    redis_settings = redis_settings.set_lib_name("stateful-redis", env!("CARGO_PKG_VERSION"));
    let tcp = redis::io::tcp::TcpSettings::default().set_nodelay(options.tcp_nodelay);
    info.set_redis_settings(redis_settings)
        .set_tcp_settings(tcp)
}

/// `start + timeout`, or 30 years on when that is past the clock's range (a
/// timeout of `u64::MAX` ms means "never"; where `Instant` counts nanoseconds in
/// 64 bits, adding it would panic).
fn instant_after(start: Instant, timeout: Duration) -> Instant {
    start
        .checked_add(timeout)
        .unwrap_or_else(|| start + Duration::from_secs(30 * 365 * 86_400))
}

fn parse_url(url: &str) -> Result<ConnectionInfo> {
    redis::parse_redis_url(url).ok_or_else(|| {
        Error::config(format!(
            "invalid Redis URL {:?}: expected redis://, rediss:// or unix://",
            scrub_url(url)
        ))
    })?;
    url.into_connection_info().map_err(|e| {
        Error::config(format!(
            "invalid Redis URL {:?}: {}",
            scrub_url(url),
            scrub(&e.to_string())
        ))
    })
}

/// Builds a [`Config`] step by step.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    options: Options,
}

impl ConfigBuilder {
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.options.url = Some(url.into());
        self
    }
    /// Seed nodes of a Redis Cluster.
    pub fn cluster_nodes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, nodes: I) -> Self {
        self.options.cluster_nodes = nodes.into_iter().map(Into::into).collect();
        self
    }
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.options.username = Some(username.into());
        self
    }
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.options.password = Some(password.into());
        self
    }
    pub fn database(mut self, database: i64) -> Self {
        self.options.database = Some(database);
        self
    }
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout_ms = timeout.as_millis() as u64;
        self
    }
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.options.command_timeout_ms = timeout.as_millis() as u64;
        self
    }
    pub fn connections(mut self, connections: usize) -> Self {
        self.options.connections = connections;
        self
    }
    pub fn thread_connections(mut self, thread_connections: usize) -> Self {
        self.options.thread_connections = thread_connections;
        self
    }
    pub fn event_loop_connection(mut self, on: bool) -> Self {
        self.options.event_loop_connection = on;
        self
    }
    pub fn max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.options.max_in_flight = max_in_flight;
        self
    }
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.options.retry = retry;
        self
    }
    pub fn monitor(mut self, enabled: bool) -> Self {
        self.options.monitor = enabled;
        self
    }
    pub fn tcp_nodelay(mut self, nodelay: bool) -> Self {
        self.options.tcp_nodelay = nodelay;
        self
    }
    /// Adds a const label to every series of the metrics (option `metrics_labels`).
    pub fn metrics_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options
            .metrics_labels
            .insert(name.into(), value.into());
        self
    }
    /// The name every connection takes (`CLIENT SETNAME`).
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.options.client_name = Some(name.into());
        self
    }
    /// `rediss://` only: PEM file of the CA(s) to trust instead of the system's.
    pub fn tls_ca_file(mut self, path: impl Into<String>) -> Self {
        self.options.tls_ca_file = Some(path.into());
        self
    }
    /// `rediss://` only: a client certificate and its private key (PEM files).
    pub fn tls_client_cert(mut self, cert: impl Into<String>, key: impl Into<String>) -> Self {
        self.options.tls_client_cert_file = Some(cert.into());
        self.options.tls_client_key_file = Some(key.into());
        self
    }
    pub fn key_schema(mut self, schema: KeySchemaName) -> Self {
        self.options.key_schema = schema;
        self
    }
    pub fn build(self) -> Result<Config> {
        Config::from_options(self.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn bad_urls_and_pool_sizes_are_config_errors() {
        for url in ["http://x", "not a url"] {
            let err = Config::builder().url(url).build().unwrap_err();
            assert_eq!(err.code(), ErrorCode::Config, "{url}");
        }
        for n in [0, MAX_CONNECTIONS + 1] {
            let err = Config::builder().connections(n).build().unwrap_err();
            assert_eq!(err.code(), ErrorCode::Config);
        }
    }

    #[test]
    fn passwords_never_print() {
        let c = Config::builder()
            .url("redis://bob:s3cr3t-url@127.0.0.1:6379/1")
            .password("s3cr3t-opt")
            .build()
            .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        let err = Config::builder()
            .url("http://bob:s3cr3t@h")
            .build()
            .unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"));
        assert!(!format!("{err:?}").contains("s3cr3t"));
    }

    #[test]
    fn bad_client_names_are_config_errors_that_do_not_print_them() {
        let long = "n".repeat(MAX_CLIENT_NAME_LEN + 1);
        for name in [
            "",
            "has space",
            "new\nline",
            "tab\there",
            "caf\u{e9}",
            long.as_str(),
        ] {
            let err = Config::builder().client_name(name).build().unwrap_err();
            assert_eq!(err.code(), ErrorCode::Config, "{name:?}");
            assert!(err.message().contains("client_name"), "{}", err.message());
            if !name.is_empty() {
                assert!(!err.message().contains(name), "{}", err.message());
            }
        }
        let ok = "n".repeat(MAX_CLIENT_NAME_LEN);
        for name in ["router-7", "svc:pod_1", ok.as_str()] {
            Config::builder().client_name(name).build().unwrap();
        }
    }

    #[test]
    fn java_schema_is_refused_in_cluster_mode() {
        let err = Config::builder()
            .cluster_nodes(["redis://127.0.0.1:7000"])
            .key_schema(KeySchemaName::Java)
            .build()
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Config);
        assert!(Config::builder()
            .cluster_nodes(["redis://127.0.0.1:7000"])
            .build()
            .unwrap()
            .is_cluster());
    }

    #[test]
    fn unix_urls_are_accepted() {
        let c = Config::builder()
            .url("unix:///tmp/redis.sock")
            .build()
            .unwrap();
        assert_eq!(c.server_label(), "/tmp/redis.sock");
    }
}
