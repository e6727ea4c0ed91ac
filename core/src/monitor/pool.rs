//! What the monitor learns from the executor rather than from its own counters:
//! the pool's size and limits, asked for when a snapshot is taken.

use serde::{Deserialize, Serialize};

/// Facts about the executor's configuration and pool that metrics alone do not
/// tell: the executor provides them through a [`PoolProbe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolFacts {
    /// Connections open now.
    pub connections: u64,
    /// Upper bound of connections (`config::MAX_CONNECTIONS`).
    pub max_connections: u64,
    /// Calls in flight now.
    pub in_flight: u64,
    pub max_in_flight: u64,
    pub command_timeout_ms: u64,
    /// Whether the executor records its operations.
    pub monitor_enabled: bool,
}

/// Gives the monitor the executor's [`PoolFacts`] when it takes a snapshot.
pub trait PoolProbe: Send + Sync {
    fn pool_facts(&self) -> PoolFacts;
}
