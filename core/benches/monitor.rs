//! Cost of the monitor: one record (built-in and application operations, one
//! thread and under contention), and reading it (`metrics()` plus
//! `metrics_prometheus()`, `otel_metrics()` with 64 operations holding data).
//!
//! Run: `taskset -c 1 cargo bench -p stateful-redis --bench monitor`
//! Results: `benches/RESULTS.md`, section "Monitor".

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use stateful_redis::monitor::Monitor;
use stateful_redis::{ErrorCode, Operation};

fn record(c: &mut Criterion) {
    let monitor = Monitor::new();
    let d = Duration::from_micros(180);
    monitor.record_operation("checkout", d, true);
    let mut g = c.benchmark_group("record");
    g.bench_function("record builtin ok", |b| {
        b.iter(|| monitor.record(black_box(Operation::GetLinkedPod), black_box(d), Ok(())))
    });
    g.bench_function("record builtin error", |b| {
        b.iter(|| {
            monitor.record(
                black_box(Operation::SetLinkedPod),
                black_box(d),
                Err(ErrorCode::Timeout),
            )
        })
    });
    g.bench_function("record_operation registered name", |b| {
        b.iter(|| monitor.record_operation(black_box("checkout"), black_box(d), true))
    });
    g.bench_function("record_operation builtin name", |b| {
        b.iter(|| monitor.record_operation(black_box("get_linked_pod"), black_box(d), true))
    });
    g.finish();
}

fn record_contended(c: &mut Criterion) {
    // The same operation recorded by a second thread all along (on a 2-core
    // machine pinned to one CPU this measures sharing, not parallel contention).
    let monitor = Arc::new(Monitor::new());
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let (m, stop) = (monitor.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..1000 {
                    m.record(Operation::GetLinkedPod, Duration::from_micros(90), Ok(()));
                }
            }
        })
    };
    let d = Duration::from_micros(180);
    c.bench_function("record builtin ok, second thread recording", |b| {
        b.iter(|| monitor.record(black_box(Operation::GetLinkedPod), black_box(d), Ok(())))
    });
    stop.store(true, Ordering::Relaxed);
    other.join().unwrap();
}

fn read(c: &mut Criterion) {
    let monitor = Monitor::new();
    // 64 operations with data: the 17 built-in ones and 47 application names,
    // each with latencies spread over 4 decades and a few failures.
    for i in 0..10_000u64 {
        let d = Duration::from_nanos(20_000 + (i * 7919) % 20_000_000);
        for op in Operation::ALL {
            monitor.record(
                op,
                d,
                if i % 50 == 0 {
                    Err(ErrorCode::Timeout)
                } else {
                    Ok(())
                },
            );
        }
        for n in 0..47 {
            monitor.record_operation(&format!("app_{n}"), d, i % 40 != 0);
        }
    }
    let mut g = c.benchmark_group("read 64 operations");
    g.bench_function("metrics()", |b| b.iter(|| black_box(monitor.snapshot())));
    g.bench_function("metrics_prometheus()", |b| {
        b.iter(|| black_box(monitor.prometheus()))
    });
    g.bench_function("metrics() + metrics_prometheus()", |b| {
        b.iter(|| {
            black_box(monitor.snapshot());
            black_box(monitor.prometheus());
        })
    });
    g.bench_function("metrics() + serde_json", |b| {
        b.iter(|| black_box(serde_json::to_string(&monitor.snapshot()).unwrap()))
    });
    g.bench_function("otel_metrics()", |b| {
        b.iter(|| black_box(monitor.otel_metrics(false)))
    });
    g.finish();
}

/// CPU time of the calling thread: unlike wall time, it does not count the time
/// the thread was preempted, so it stays meaningful on a shared, busy machine.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn cpu_time(c: &mut Criterion) {
    let monitor = Monitor::new();
    let d = Duration::from_micros(180);
    monitor.record_operation("checkout", d, true);
    let mut g = c.benchmark_group("thread CPU time");
    g.bench_function("record builtin ok", |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu();
            for _ in 0..iters {
                monitor.record(black_box(Operation::GetLinkedPod), black_box(d), Ok(()));
            }
            thread_cpu() - start
        })
    });
    g.bench_function("record_operation registered name", |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu();
            for _ in 0..iters {
                monitor.record_operation(black_box("checkout"), black_box(d), true);
            }
            thread_cpu() - start
        })
    });
    let full = Monitor::new();
    for i in 0..10_000u64 {
        let d = Duration::from_nanos(20_000 + (i * 7919) % 20_000_000);
        for op in Operation::ALL {
            full.record(op, d, Ok(()));
        }
        for n in 0..47 {
            full.record_operation(&format!("app_{n}"), d, i % 40 != 0);
        }
    }
    g.bench_function("metrics() + metrics_prometheus(), 64 operations", |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu();
            for _ in 0..iters {
                black_box(full.snapshot());
                black_box(full.prometheus());
            }
            thread_cpu() - start
        })
    });
    g.finish();
}

criterion_group!(benches, record, record_contended, read, cpu_time);
criterion_main!(benches);
