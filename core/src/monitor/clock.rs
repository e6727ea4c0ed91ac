//! The monitor's clock: monotonic time since the monitor was created, or a manual
//! clock that tests move by hand (throughput windows, alert sustain durations).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the monitor reads the time.
#[derive(Clone, Debug)]
pub enum Clock {
    /// The monotonic clock (`Instant`), from the monitor's creation.
    Monotonic(Instant),
    /// A clock that only moves when told to.
    Manual(Arc<ManualClock>),
}

impl Clock {
    pub fn monotonic() -> Clock {
        Clock::Monotonic(Instant::now())
    }

    /// Nanoseconds since the clock's origin.
    #[inline]
    pub fn now_nanos(&self) -> u64 {
        match self {
            Clock::Monotonic(origin) => origin.elapsed().as_nanos() as u64,
            Clock::Manual(manual) => manual.nanos.load(Relaxed),
        }
    }

    /// Whole seconds since the clock's origin.
    #[inline]
    pub fn now_secs(&self) -> u64 {
        match self {
            Clock::Monotonic(origin) => origin.elapsed().as_secs(),
            Clock::Manual(manual) => manual.nanos.load(Relaxed) / 1_000_000_000,
        }
    }

    /// The time since `started` and the whole seconds since the clock's
    /// origin, from one reading of the monotonic clock (a recorded call's
    /// duration and the second it counts in).
    #[inline]
    pub fn since(&self, started: Instant) -> (Duration, u64) {
        match self {
            Clock::Monotonic(origin) => {
                let now = Instant::now();
                (
                    now.saturating_duration_since(started),
                    now.saturating_duration_since(*origin).as_secs(),
                )
            }
            Clock::Manual(_) => (started.elapsed(), self.now_secs()),
        }
    }
}

/// A clock for tests: starts at 0, moves with [`ManualClock::advance`].
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock::default())
    }

    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(by.as_nanos() as u64, Relaxed);
    }

    pub fn set(&self, since_origin: Duration) {
        self.nanos.store(since_origin.as_nanos() as u64, Relaxed);
    }

    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Relaxed))
    }
}
