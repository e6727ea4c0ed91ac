//! Who hears alert events: the subscribers, and the log. Events are published on
//! the thread that evaluated them; a panicking subscriber loses the event, the
//! others still get it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

use super::alerts::{AlertEvent, AlertState};

/// An alert subscriber: called on the thread that evaluates alerts (the
/// executor's tick task, or the caller of `evaluate_alerts`). Keep it short.
pub type AlertSubscriber = Box<dyn Fn(&AlertEvent) + Send + Sync>;

/// Identifies a subscription, for [`Monitor::unsubscribe`](crate::monitor::Monitor::unsubscribe).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriptionId(u64);

/// The subscribers of one monitor.
pub(super) struct Subscribers {
    list: RwLock<Vec<(u64, Arc<AlertSubscriber>)>>,
    next_id: AtomicU64,
}

impl Default for Subscribers {
    fn default() -> Self {
        Subscribers {
            list: RwLock::new(Vec::new()),
            next_id: AtomicU64::new(1),
        }
    }
}

impl Subscribers {
    pub fn subscribe(&self, subscriber: AlertSubscriber) -> SubscriptionId {
        let id = self.next_id.fetch_add(1, Relaxed);
        self.list
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, Arc::new(subscriber)));
        SubscriptionId(id)
    }

    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        let before = list.len();
        list.retain(|(i, _)| *i != id.0);
        list.len() != before
    }

    /// Logs the events and hands each to every subscriber.
    pub fn publish(&self, events: &[AlertEvent]) {
        if events.is_empty() {
            return;
        }
        for e in events {
            match e.state {
                AlertState::Firing => tracing::warn!(
                    target: "stateful_redis::monitor",
                    metric = %e.metric, value = e.value, threshold = e.threshold,
                    "alert firing: {}", e.message
                ),
                AlertState::Resolved => tracing::info!(
                    target: "stateful_redis::monitor",
                    metric = %e.metric, value = e.value, threshold = e.threshold,
                    "alert resolved: {}", e.message
                ),
                AlertState::Pending => tracing::debug!(
                    target: "stateful_redis::monitor",
                    metric = %e.metric, value = e.value, threshold = e.threshold,
                    "alert pending: {}", e.message
                ),
            }
        }
        // Called outside the lock: a subscriber may subscribe or unsubscribe.
        let subscribers: Vec<Arc<AlertSubscriber>> = self
            .list
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        for s in subscribers {
            for e in events {
                if catch_unwind(AssertUnwindSafe(|| s(e))).is_err() {
                    tracing::error!(target: "stateful_redis::monitor", "an alert subscriber panicked; event dropped for it");
                }
            }
        }
    }
}
