//! The connections an executor sends its requests over: a standalone server through
//! redis-rs's `ConnectionManager` (one multiplexed connection, re-established by
//! itself), or a Redis Cluster through redis-rs's async cluster connection (MOVED
//! and ASK followed, slots refreshed, `SCRIPT LOAD` sent to every master, `MGET`
//! split by slot).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::config::Config;

/// One logical connection.
#[derive(Clone)]
pub(crate) enum Connection {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Standalone(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Standalone(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// Opens `count` connections as the configuration says (standalone or cluster).
pub(crate) async fn open(config: &Config, count: usize) -> redis::RedisResult<Vec<Connection>> {
    let mut connections = Vec::with_capacity(count);
    for _ in 0..count {
        connections.push(if config.is_cluster() {
            Connection::Cluster(open_cluster(config).await?)
        } else {
            Connection::Standalone(open_standalone(config).await?)
        });
    }
    Ok(connections)
}

async fn open_standalone(config: &Config) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(config.connection_info.clone())?;
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout()))
        .set_response_timeout(Some(config.command_timeout()))
        // Reconnect attempts are made on demand by later calls, each within its
        // own deadline, so the manager itself tries once per loss.
        .set_number_of_retries(0)
        .set_min_delay(Duration::from_millis(10))
        .set_max_delay(Duration::from_millis(100));
    ConnectionManager::new_with_config(client, manager_config).await
}

async fn open_cluster(config: &Config) -> redis::RedisResult<ClusterConnection> {
    let seeds = config.cluster_seeds();
    let settings = config.connection_info.redis_settings();
    let mut builder = ClusterClientBuilder::new(seeds)
        .connection_timeout(config.connect_timeout())
        .response_timeout(config.command_timeout())
        .tcp_settings(config.connection_info.tcp_settings().clone())
        // Redirections (MOVED/ASK) and TRYAGAIN are followed a bounded number
        // of times; the executor's deadline bounds the whole call anyway.
        .retries(5)
        .min_retry_wait(5)
        .max_retry_wait(200);
    if let Some(user) = settings.username() {
        builder = builder.username(user);
    }
    if let Some(password) = settings.password() {
        builder = builder.password(password);
    }
    if let Some(certs) = &config.tls {
        builder = builder.certs(certs.clone());
    }
    builder.build()?.get_async_connection().await
}

/// Whether a standalone-configured server is in fact a cluster node.
pub(crate) async fn is_cluster_node(connection: &mut Connection) -> redis::RedisResult<bool> {
    let info: String = redis::cmd("INFO")
        .arg("cluster")
        .query_async(connection)
        .await?;
    Ok(info.contains("cluster_enabled:1"))
}
