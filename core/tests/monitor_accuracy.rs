//! Accuracy of the monitor: percentiles, exact counts under concurrency, rates under
//! an injected clock, and reset atomicity.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use stateful_redis::monitor::{Clock, ManualClock, Monitor};
use stateful_redis::{ErrorCode, Operation};

fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[test]
fn percentiles_within_one_percent_over_1us_to_10s() {
    let monitor = Monitor::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let (lo, hi) = ((1_000f64).ln(), (10_000_000_000f64).ln());
    let mut values: Vec<u64> = (0..1_000_000)
        .map(|_| rng.random_range(lo..hi).exp().round() as u64)
        .collect();
    for &v in &values {
        monitor.record_operation("lognormal", Duration::from_nanos(v), true);
    }
    values.sort_unstable();
    let s = monitor.snapshot();
    let op = s.operation("lognormal").unwrap();
    assert_eq!(op.count, 1_000_000);
    let l = op.latency_ms;
    assert_eq!(l.min, values[0] as f64 / 1e6, "min is exact");
    assert_eq!(l.max, *values.last().unwrap() as f64 / 1e6, "max is exact");
    let exact_mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
    assert!((l.mean * 1e6 - exact_mean).abs() / exact_mean < 1e-9);
    for (q, got) in [(0.5, l.p50), (0.9, l.p90), (0.99, l.p99), (0.999, l.p999)] {
        let exact = exact_quantile(&values, q) as f64 / 1e6;
        let err = (got - exact).abs() / exact;
        assert!(
            err <= 0.01,
            "q={q}: got {got} ms, exact {exact} ms, error {err}"
        );
    }
}

#[test]
fn every_percentile_within_one_percent() {
    // The same property over a grid of quantiles, through the histogram directly.
    use stateful_redis::monitor::histogram::AtomicHistogram;
    let h = AtomicHistogram::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (lo, hi) = ((1_000f64).ln(), (60_000_000_000f64).ln());
    let mut values: Vec<u64> = (0..200_000)
        .map(|_| rng.random_range(lo..hi).exp().round() as u64)
        .collect();
    for &v in &values {
        h.record(v);
    }
    values.sort_unstable();
    let d = h.read();
    for i in 1..=1000 {
        let q = i as f64 / 1000.0;
        let exact = exact_quantile(&values, q) as f64;
        let got = d.quantile(q);
        assert!(
            (got - exact).abs() / exact <= 0.01,
            "q={q}: {got} vs {exact}"
        );
    }
}

#[test]
fn counts_are_exact_under_8_threads() {
    let monitor = Arc::new(Monitor::new());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let m = monitor.clone();
            std::thread::spawn(move || {
                for i in 0..100_000u64 {
                    let d = Duration::from_nanos(1_000 + (i * 7919) % 5_000_000);
                    let outcome = if i % 10 == 0 {
                        Err(ErrorCode::Timeout)
                    } else {
                        Ok(())
                    };
                    m.record(Operation::GetLinkedPod, d, outcome);
                    m.record_operation(if t % 2 == 0 { "even" } else { "odd" }, d, i % 4 != 0);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = monitor.snapshot();
    let get = s.operation("get_linked_pod").unwrap();
    assert_eq!(get.count, 800_000);
    assert_eq!(get.errors, 80_000);
    assert_eq!(get.errors_by_code["TIMEOUT"], 80_000);
    assert_eq!(s.errors_by_code["TIMEOUT"], 80_000);
    for name in ["even", "odd"] {
        let op = s.operation(name).unwrap();
        assert_eq!(op.count, 400_000, "{name}");
        assert_eq!(op.errors, 100_000, "{name}");
    }
}

/// Records `counts[s]` operations during second `s` (at spread-out instants) and
/// checks every window at the end.
fn check_rates(counts: &[u32]) {
    let clock = ManualClock::new();
    let monitor = Monitor::with_clock(Clock::Manual(clock.clone()));
    for (sec, &n) in counts.iter().enumerate() {
        for k in 0..n {
            let frac = (k as u64 * 1_000_000_000) / n as u64;
            clock.set(Duration::from_nanos(sec as u64 * 1_000_000_000 + frac));
            monitor.record(Operation::SetLinkedPod, Duration::from_micros(50), Ok(()));
        }
    }
    let end = counts.len() as u64;
    clock.set(Duration::from_secs(end) + Duration::from_millis(500));
    let t = monitor
        .snapshot()
        .operation("set_linked_pod")
        .unwrap()
        .throughput;
    for (window, rate) in [(1u64, t.last_1s), (10, t.last_10s), (60, t.last_60s)] {
        let from = end.saturating_sub(window);
        let secs = end - from;
        let exact: u64 = counts[from as usize..].iter().map(|&c| c as u64).sum();
        let got = rate * secs.max(1) as f64;
        assert!(
            (got - exact as f64).abs() <= 1.0,
            "window {window}s: {got} vs exact {exact} (counts {counts:?})"
        );
    }
}

#[test]
fn rates_are_exact_under_an_injected_clock() {
    check_rates(&[5; 3]);
    check_rates(&(0..70).map(|s| s % 13).collect::<Vec<_>>());
    check_rates(&[0, 0, 100, 0, 7]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn rates_property(counts in proptest::collection::vec(0u32..40, 1..80)) {
        check_rates(&counts);
    }
}

#[test]
fn reset_is_atomic_against_concurrent_recording() {
    let monitor = Arc::new(Monitor::new());
    let done = Arc::new(AtomicBool::new(false));
    let closed = Arc::new(Mutex::new(Vec::new()));
    let resetter = {
        let (m, done, closed) = (monitor.clone(), done.clone(), closed.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                closed.lock().unwrap().push(m.reset());
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let m = monitor.clone();
            std::thread::spawn(move || {
                for i in 0..100_000u64 {
                    // Every record is 1 µs and every third fails: in any period the
                    // mean is exactly 1 µs and errors match their codes.
                    let outcome = if i % 3 == 0 {
                        Err(ErrorCode::Busy)
                    } else {
                        Ok(())
                    };
                    m.record(Operation::GetLinkedPod, Duration::from_micros(1), outcome);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    resetter.join().unwrap();
    let mut periods = closed.lock().unwrap().clone();
    periods.push(monitor.snapshot());
    assert!(periods.len() > 2, "resets happened during recording");
    let (mut count, mut errors) = (0, 0);
    for p in &periods {
        let op = p.operation("get_linked_pod").unwrap();
        count += op.count;
        errors += op.errors;
        assert_eq!(
            op.errors_by_code.get("BUSY").copied().unwrap_or(0),
            op.errors
        );
        if op.count > 0 {
            assert_eq!(op.latency_ms.mean, 0.001, "a record split across periods");
            assert_eq!(op.latency_ms.min, 0.001);
            assert_eq!(op.latency_ms.max, 0.001);
        }
    }
    assert_eq!(count, 800_000, "every record in exactly one period");
    assert_eq!(errors, 8 * 33_334);
}
