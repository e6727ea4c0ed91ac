//! The counters one measurement period writes into (a "generation").
//!
//! Every slot (one per operation: the 17 built-in ones, the capped application
//! names and `other`) holds a latency histogram, error counters by code and a ring
//! of per-second completion counts. [`crate::monitor::Monitor::reset`] swaps in a
//! fresh generation; recording threads that still hold the old one finish writing
//! into it, so each record lands wholly in one period.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::histogram::{bucket_of, AtomicHistogram};
use super::names::OTHER_SLOT;
use super::otel;
use crate::error::ErrorCode;

/// Slots: built-in operations, then application names, then `other`.
pub const SLOTS: usize = OTHER_SLOT + 1;
/// Seconds kept by the throughput ring (>= 60 + 1).
pub const RING: usize = 64;

/// A ring of per-second counts. Each cell packs `second << 32 | count`; a cell
/// whose second is not the current one is restarted with a compare-and-swap.
pub struct RateRing {
    cells: [AtomicU64; RING],
}

impl Default for RateRing {
    fn default() -> Self {
        RateRing {
            cells: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl RateRing {
    /// Counts one completion in second `sec` (seconds since the monitor's origin).
    #[inline]
    pub fn add(&self, sec: u64) {
        let stamp = (sec + 1) & 0xffff_ffff; // +1: an all-zero cell means "never used"
        let cell = &self.cells[sec as usize % RING];
        let mut current = cell.load(Relaxed);
        loop {
            let next = if current >> 32 == stamp {
                current + 1
            } else {
                (stamp << 32) | 1
            };
            match cell.compare_exchange_weak(current, next, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Completions in the whole seconds `[from, to)`; `to - from` must be <= 60.
    pub fn count(&self, from: u64, to: u64) -> u64 {
        (from..to)
            .map(|sec| {
                let v = self.cells[sec as usize % RING].load(Relaxed);
                if v >> 32 == (sec + 1) & 0xffff_ffff {
                    v & 0xffff_ffff
                } else {
                    0
                }
            })
            .sum()
    }
}

/// Counters of one operation.
#[derive(Default)]
pub struct SlotStats {
    pub latency: AtomicHistogram,
    pub errors: AtomicU64,
    pub errors_by_code: [AtomicU64; ErrorCode::ALL.len()],
    pub rate: RateRing,
    /// Items in batch calls (`batch_get_linked_pod` uids, `get_workload_states` services).
    pub batch_items: AtomicU64,
    pub batch_max: AtomicU64,
    /// Durations of the failed calls by error class (the error codes in
    /// `ErrorCode::ALL` order, then failures without a code: `record_operation`),
    /// in the OpenTelemetry buckets (see [`otel`]): what lets the exported
    /// histogram carry `error.type`. Written only when a call fails.
    pub failed: [FailedLatency; otel::ERROR_CLASSES],
}

/// Durations of failed calls of one error class: counts in the
/// [`otel::BUCKETS`] buckets and their sum in nanoseconds.
#[derive(Default)]
pub struct FailedLatency {
    pub buckets: [AtomicU64; otel::BUCKETS],
    pub sum: AtomicU64,
}

impl FailedLatency {
    #[inline]
    fn record(&self, nanos: u64) {
        self.buckets[otel::bucket_of_fine(bucket_of(nanos))].fetch_add(1, Relaxed);
        self.sum.fetch_add(nanos, Relaxed);
    }

    /// A plain copy.
    pub fn read(&self) -> FailedReading {
        FailedReading {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Relaxed)),
            sum: self.sum.load(Relaxed),
        }
    }
}

/// A copy of a [`FailedLatency`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FailedReading {
    pub buckets: [u64; otel::BUCKETS],
    pub sum: u64,
}

/// Everything one measurement period counts.
pub struct Generation {
    /// Counts resets: 0 for the first period.
    pub id: u64,
    /// The monitor clock's reading when the period began (nanoseconds).
    pub started_nanos: u64,
    pub slots: Box<[SlotStats]>,
    pub evalsha_calls: AtomicU64,
    pub noscript_reloads: AtomicU64,
    pub reconnects: AtomicU64,
    /// Calls that started while every connection already carried a call.
    pub contended_calls: AtomicU64,
    /// Highest number of calls in flight seen.
    pub in_flight_peak: AtomicU64,
    /// Pauses before re-sending a request (retry backoff while reconnecting).
    pub waits: AtomicU64,
    pub wait: AtomicHistogram,
}

impl Generation {
    pub fn new(id: u64, started_nanos: u64) -> Generation {
        Generation {
            id,
            started_nanos,
            slots: (0..SLOTS).map(|_| SlotStats::default()).collect(),
            evalsha_calls: AtomicU64::new(0),
            noscript_reloads: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            contended_calls: AtomicU64::new(0),
            in_flight_peak: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            wait: AtomicHistogram::new(),
        }
    }

    /// Records one completed call in slot `slot`.
    #[inline]
    pub fn record(&self, slot: usize, nanos: u64, sec: u64, failed: bool, code: Option<ErrorCode>) {
        let s = &self.slots[slot];
        s.latency.record(nanos);
        s.rate.add(sec);
        if failed {
            s.errors.fetch_add(1, Relaxed);
            if let Some(code) = code {
                s.errors_by_code[code.index()].fetch_add(1, Relaxed);
            }
            s.failed[code.map_or(otel::ERROR_CLASSES - 1, |c| c.index())].record(nanos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_counts_whole_seconds_and_forgets_old_ones() {
        let r = RateRing::default();
        for sec in 0..70 {
            for _ in 0..sec {
                r.add(sec);
            }
        }
        assert_eq!(r.count(69, 70), 69);
        assert_eq!(r.count(60, 70), (60..70).sum::<u64>());
        assert_eq!(r.count(0, 1), 0); // overwritten by second 64
        assert_eq!(r.count(5, 6), 0); // overwritten by second 69
        assert_eq!(r.count(10, 11), 10);
    }
}
