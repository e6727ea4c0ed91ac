//! Calls queued by a binding's thread for one driver task on the core's runtime.
//!
//! A binding that spawned one tokio task per call paid for it on every call: the
//! spawn went through the runtime's inject queue and woke its thread, the call's
//! future was moved into the task and out again, and tokio ran the connection's
//! task right after each call's (its LIFO slot), so every request went out in a
//! write of its own. Instead, the binding's thread (Node's JS thread, a Python
//! event loop's thread) pushes its calls onto a [`CallQueue`] and wakes the
//! queue's one driver task only when the queue was empty; the driver polls up to
//! [`SUBMIT_PER_POLL`] new calls before it yields, so their requests reach the
//! connection's task together and go out in one write (measured in
//! `benches/RESULTS.md`, "Node against ioredis" and "Python asyncio: one driver
//! task per event loop"). A call that panics ends only itself: the binding's guard
//! inside the call then reports `INTERNAL` for it.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::task::AtomicWaker;

/// New calls the driver polls before it lets the connection's task write their
/// requests (it yields, then takes the next ones). All at once, the server
/// waited for the whole batch and the client then for all the replies. Node,
/// mixed workload at 64 in flight, medians of 3 interleaved rounds (busy
/// machine): 1, 4, 16 and all at once gave 42k, 50k, 44k and 36k ops/s against
/// 43k with a task per call; in a second run 4 and 8 gave 40k and 42k against
/// 30k (benches/RESULTS.md, issue 14).
pub const SUBMIT_PER_POLL: usize = 8;

/// A call as the binding queues it: it delivers its own result.
pub type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The calls of one caller context, not yet picked up by its driver task.
pub struct CallQueue {
    calls: Mutex<Vec<Call>>,
    /// The driver task's waker.
    driver: AtomicWaker,
    /// No more calls will come: the driver ends once its calls are done.
    closing: AtomicBool,
}

impl CallQueue {
    /// A queue with its driver task spawned on `runtime`.
    pub fn start(runtime: &tokio::runtime::Handle) -> Arc<CallQueue> {
        let queue = Arc::new(CallQueue {
            calls: Mutex::new(Vec::new()),
            driver: AtomicWaker::new(),
            closing: AtomicBool::new(false),
        });
        runtime.spawn(Driver {
            queue: queue.clone(),
            running: FuturesUnordered::new(),
        });
        queue
    }

    /// Queues `call`; wakes the driver only when the queue was empty (later
    /// calls of the same turn join it without another wake-up).
    pub fn submit(&self, call: Call) {
        let first = {
            let mut calls = self.calls();
            calls.push(call);
            calls.len() == 1
        };
        if first {
            self.driver.wake();
        }
    }

    /// No more calls: the driver ends once those it has are done.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.driver.wake();
    }

    fn calls(&self) -> MutexGuard<'_, Vec<Call>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Picks up what was queued, polls every call, and ends when the queue is closed
/// and its calls are done.
struct Driver {
    queue: Arc<CallQueue>,
    running: FuturesUnordered<Unwinding>,
}

impl Future for Driver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.queue.driver.register(cx.waker());
        loop {
            let (calls, more) = {
                let mut queued = this.queue.calls();
                if queued.len() > SUBMIT_PER_POLL {
                    let rest = queued.split_off(SUBMIT_PER_POLL);
                    (std::mem::replace(&mut *queued, rest), true)
                } else {
                    (std::mem::take(&mut *queued), false)
                }
            };
            let picked = !calls.is_empty();
            this.running.extend(calls.into_iter().map(Unwinding));
            // Polls the new calls and those that were woken; Pending when none
            // is ready.
            while let Poll::Ready(Some(())) = this.running.poll_next_unpin(cx) {}
            if more {
                // Lets the connection's task write these before the next ones.
                cx.waker().wake_by_ref();
                break;
            }
            if !picked {
                break;
            }
        }
        if this.running.is_empty()
            && this.queue.closing.load(Ordering::Acquire)
            && this.queue.calls().is_empty()
        {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// A call whose panic ends only that call, not the driver and every other call.
struct Unwinding(Call);

impl Future for Unwinding {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let call = &mut self.0;
        catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(cx))).unwrap_or(Poll::Ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Every queued call runs, a panicking one ends alone, and the driver ends
    /// once the queue is closed and its calls are done.
    #[test]
    fn calls_run_a_panic_ends_only_its_call_and_close_ends_the_driver() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let queue = CallQueue::start(rt.handle());
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..100 {
            let done = done.clone();
            queue.submit(Box::pin(async move {
                tokio::task::yield_now().await;
                if i == 50 {
                    panic!("call {i} fails alone");
                }
                done.fetch_add(1, Ordering::SeqCst);
            }));
        }
        let weak = Arc::downgrade(&queue);
        queue.close();
        drop(queue);
        rt.block_on(async {
            // The driver holds the queue until it ends.
            while weak.strong_count() > 0 {
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 99);
    }
}
