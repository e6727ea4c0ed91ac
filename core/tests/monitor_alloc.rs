//! Recording allocates nothing: a counting global allocator, in a test binary of
//! its own so no other test allocates on the measured thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use stateful_redis::monitor::Monitor;
use stateful_redis::{ErrorCode, Operation};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                ALLOCATIONS.with(|a| a.set(a.get() + 1));
            }
        });
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                ALLOCATIONS.with(|a| a.set(a.get() + 1));
            }
        });
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(|a| a.get())
}

#[test]
fn recording_allocates_nothing() {
    let monitor = Monitor::new();
    // Warm-up: the first record on a thread registers the thread with arc-swap
    // (once per thread), and the first sighting of an application name copies it.
    monitor.record(Operation::GetLinkedPod, Duration::from_micros(1), Ok(()));
    monitor.record_operation("checkout", Duration::from_micros(1), true);
    for i in 0..64 {
        monitor.record_operation(&format!("filler{i}"), Duration::from_micros(1), true);
    }

    let n = allocations_in(|| {
        for i in 0..100_000u64 {
            let d = Duration::from_nanos(1_000 + i * 997);
            monitor.record(Operation::GetLinkedPod, d, Ok(()));
            monitor.record(Operation::SetLinkedPod, d, Err(ErrorCode::Timeout));
            monitor.record_operation("checkout", d, i % 3 != 0);
            // Beyond the cap and invalid names: counted as "other", still no allocation.
            monitor.record_operation("never-registered", d, true);
            monitor.record_operation("bad name!", d, false);
            monitor.script_call();
            monitor.script_reload();
            monitor.reconnect();
            monitor.pool_wait(d);
            monitor.call_started(3, 1);
            monitor.batch(Operation::BatchGetLinkedPod, 100);
        }
    });
    assert_eq!(n, 0, "allocations while recording");
    let s = monitor.snapshot();
    assert_eq!(s.operation("checkout").unwrap().count, 100_001);
    // filler63 was the 65th name: beyond the cap of 64, so it went to "other" too.
    assert_eq!(s.operation("other").unwrap().count, 200_001);
}
