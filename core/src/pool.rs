//! The connection pool of an executor, all of it: which connection the next
//! request goes over (round robin), putting a new connection in the place of
//! one that stopped answering, and resizing the pool to the concurrency
//! measured (`optimize_connection_pool`). One connection, its opening and the
//! watch that finds it stalled are in `connection.rs`.
//!
//! The pool knows nothing of the executor or the monitor: the executor hands it
//! what it measured, and the suggestion rules of the monitor read the pool's
//! sizing constants from here ([`CALLS_PER_CONNECTION`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use crate::config::{Config, MAX_CONNECTIONS};
use crate::connection::{self, PooledConnection};
use crate::error::{Error, ErrorCode, Result};

/// Concurrent calls one multiplexed connection pipelines well: the pool is
/// sized to one connection per this many calls in flight at the peak.
pub const CALLS_PER_CONNECTION: u64 = 64;

/// Calls measured in a period before the pool is resized: fewer say nothing of
/// the concurrency. The same number of calls the monitor's suggestion rules
/// wait for (`monitor::suggestions::MIN_CALLS`; a test keeps them equal), so
/// the optimizer acts when the `pool_contention` rule speaks.
pub const MIN_CALLS_TO_RESIZE: u64 = 20;

/// What `optimize_connection_pool` did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolChange {
    pub changed: bool,
    pub connections_before: u64,
    pub connections_after: u64,
    /// The evidence: most calls in flight at once in the current period.
    pub in_flight_peak: u64,
    /// Calls measured in the current period.
    pub calls: u64,
    pub reason: String,
}

/// The connections of one executor.
pub(crate) struct Pool {
    /// Swapped as a whole by [`Pool::resize`]; a stalled connection is replaced
    /// in it ([`Pool::replace_stalled`]).
    connections: ArcSwap<Vec<Arc<PooledConnection>>>,
    next_connection: AtomicUsize,
    replaced: AtomicU64,
}

impl Pool {
    pub(crate) fn new(connections: Vec<Arc<PooledConnection>>) -> Pool {
        Pool {
            connections: ArcSwap::from_pointee(connections),
            next_connection: AtomicUsize::new(0),
            replaced: AtomicU64::new(0),
        }
    }

    /// Connections in the pool now.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.connections.load().len()
    }

    /// The connection for the next request: round robin over the pool. The
    /// caller replaces it first when [`PooledConnection::needs_replacement`].
    #[inline]
    pub(crate) fn pick(&self) -> Arc<PooledConnection> {
        let connections = self.connections.load();
        if connections.len() == 1 {
            connections[0].clone()
        } else {
            let i = self.next_connection.fetch_add(1, Ordering::Relaxed);
            connections[i % connections.len()].clone()
        }
    }

    /// Connections replaced because they stopped answering.
    pub(crate) fn replaced(&self) -> u64 {
        self.replaced.load(Ordering::Relaxed)
    }

    /// The connections' process-unique ids, in pool order (tests).
    pub(crate) fn connection_ids(&self) -> Vec<u64> {
        self.connections.load().iter().map(|c| c.id).collect()
    }

    /// Puts a new connection in the place of one that stopped answering (see
    /// [`PooledConnection`]); `on_replaced` runs once the new one is in. The
    /// old one serves its calls in flight, then closes. A standalone
    /// replacement is made at once (it connects on first use). A cluster one
    /// is opened by the first caller that finds the connection stalled, every
    /// other caller waiting for it (within its own deadline; if that caller
    /// gives up, the next one opens it).
    #[cold]
    pub(crate) async fn replace_stalled(
        &self,
        config: &Config,
        stalled: &Arc<PooledConnection>,
        on_replaced: impl FnOnce(),
    ) -> Arc<PooledConnection> {
        if config.is_cluster() {
            let opened = stalled
                .replacement
                .get_or_try_init(|| async {
                    let started = Instant::now();
                    let fresh =
                        tokio::time::timeout(config.connect_timeout(), connection::open(config, 1))
                            .await
                            .map_err(|_| "not connected within the connect timeout".to_string())?
                            .map_err(|e| crate::error::scrub(&e.to_string()))?
                            .swap_remove(0);
                    tracing::debug!(
                        target: "stateful_redis::pool",
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "a cluster connection opened in place of a stalled one"
                    );
                    self.swap_connection(config, stalled, fresh.clone(), on_replaced);
                    Ok::<_, String>(fresh)
                })
                .await;
            return match opened {
                Ok(fresh) => fresh.clone(),
                Err(error) => {
                    tracing::warn!(target: "stateful_redis::pool", %error, "cannot replace a stalled cluster connection");
                    stalled.clone()
                }
            };
        }
        if !stalled.take_stalled() {
            // Another call is replacing it.
            return stalled.clone();
        }
        match connection::open_standalone_replacement(config) {
            Ok(fresh) => {
                self.swap_connection(config, stalled, fresh.clone(), on_replaced);
                fresh
            }
            Err(e) => {
                tracing::warn!(target: "stateful_redis::pool", error = %crate::error::scrub(&e.to_string()), "cannot replace a stalled connection");
                stalled.clone()
            }
        }
    }

    fn swap_connection(
        &self,
        config: &Config,
        stalled: &Arc<PooledConnection>,
        fresh: Arc<PooledConnection>,
        on_replaced: impl FnOnce(),
    ) {
        self.connections.rcu(|current| {
            current
                .iter()
                .map(|c| {
                    if Arc::ptr_eq(c, stalled) {
                        fresh.clone()
                    } else {
                        c.clone()
                    }
                })
                .collect::<Vec<_>>()
        });
        on_replaced();
        self.replaced.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            target: "stateful_redis::pool",
            server = %config.server_label(),
            "a connection answered nothing for half the command timeout while calls waited: replaced"
        );
    }

    /// Sizes the pool to the concurrency measured in the current period
    /// (`calls` calls, at most `in_flight_peak` of them in flight at once): one
    /// multiplexed connection per [`CALLS_PER_CONNECTION`] calls in flight at
    /// the peak, between 1 and `MAX_CONNECTIONS`. New connections are opened
    /// before they are used; removed ones close once their calls in flight are
    /// done. Calls in progress are never disturbed.
    pub(crate) async fn resize(
        &self,
        config: &Config,
        calls: u64,
        in_flight_peak: u64,
    ) -> Result<PoolChange> {
        let peak = in_flight_peak;
        let before = self.len() as u64;
        let unchanged = |reason: String| PoolChange {
            changed: false,
            connections_before: before,
            connections_after: before,
            in_flight_peak: peak,
            calls,
            reason,
        };
        if !config.options.monitor {
            return Ok(unchanged(
                "the monitor is off: no concurrency was measured".into(),
            ));
        }
        if calls < MIN_CALLS_TO_RESIZE {
            return Ok(unchanged(format!(
                "only {calls} calls measured in this period (at least {MIN_CALLS_TO_RESIZE} needed)"
            )));
        }
        let target = peak
            .div_ceil(CALLS_PER_CONNECTION)
            .clamp(1, MAX_CONNECTIONS as u64);
        if target == before {
            return Ok(unchanged(format!(
                "{before} connection(s) fit the peak of {peak} calls in flight \
                 ({CALLS_PER_CONNECTION} per connection)"
            )));
        }
        let mut opened = Vec::new();
        if target > before {
            let deadline = config.connect_timeout();
            opened = tokio::time::timeout(
                deadline,
                connection::open(config, (target - before) as usize),
            )
            .await
            .map_err(|_| Error::new(ErrorCode::Connection, "cannot open new connections in time"))?
            .map_err(Error::from_redis)
            .map_err(|e| e.with_operation("optimize_connection_pool"))?;
        }
        // Resize the pool as it is now, not as it was before the await: a
        // stalled connection replaced meanwhile stays replaced, and a
        // concurrent call's resize is built on, not overwritten (new
        // connections this call does not need then close).
        let wanted = target as usize;
        let previous = self.connections.rcu(|now| {
            let mut next: Vec<_> = now.iter().take(wanted).cloned().collect();
            let missing = wanted.saturating_sub(next.len());
            next.extend(opened.iter().take(missing).cloned());
            next
        });
        // What this call changed, from the pool it actually resized.
        let before = previous.len() as u64;
        let after = target.min(before + opened.len() as u64);
        if after == before {
            return Ok(PoolChange {
                connections_before: before,
                connections_after: before,
                ..unchanged(format!(
                    "{before} connection(s) fit the peak of {peak} calls in flight \
                     (another call resized the pool meanwhile)"
                ))
            });
        }
        let reason = if after > before {
            format!(
                "peak of {peak} calls in flight over {before} connection(s) is more than \
                 {CALLS_PER_CONNECTION} per connection: opened {}",
                after - before
            )
        } else {
            format!(
                "peak of {peak} calls in flight needs only {after} connection(s): closed {}",
                before - after
            )
        };
        tracing::info!(target: "stateful_redis::pool", before, after, "connection pool resized: {reason}");
        Ok(PoolChange {
            changed: true,
            connections_before: before,
            connections_after: after,
            in_flight_peak: peak,
            calls,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_resizes_when_the_suggestion_rules_speak() {
        assert_eq!(MIN_CALLS_TO_RESIZE, crate::monitor::suggestions::MIN_CALLS);
    }
}
