//! The asyncio bridge: a core future runs on the core's shared tokio runtime
//! ([`stateful_redis::runtime::shared`], fork-safe) and its result is delivered to
//! an `asyncio.Future` on the caller's event loop.
//!
//! Calls do not become tokio tasks of their own (issue 14): the loop's thread
//! queues each call (a boxed future) for the loop's one driver task, the core's
//! [`CallQueue`] (the Node binding's promises use the same), so their requests
//! reach the connection's task together. A task per call cost a spawn from a foreign thread (the runtime's
//! inject queue, a wake-up of the runtime's thread) and two copies of the
//! call's future (into the task, and out of it when it finished): measured with
//! `perf`, see `benches/RESULTS.md`.
//!
//! Delivery is batched per loop: a finished call is pushed onto the loop's
//! [`LoopQueue`] *without* the GIL; only the push that finds the queue empty wakes
//! the loop, by writing one byte to a socket pair the loop watches
//! (`loop.add_reader`). The queue then drains on the loop's own thread, converting
//! results to Python objects there. The runtime's thread (which also drives the
//! Redis connections) never waits for the GIL, and under load one wake-up of the
//! loop completes many futures. Loops without `add_reader` (e.g. Windows'
//! proactor) are woken with `loop.call_soon_threadsafe`, which takes the GIL once
//! per batch.
//!
//! A future is never completed on a closed loop: a queue whose loop is closed drops
//! its completions; a future cancelled by its awaiter is skipped (the call itself
//! runs to its end, bounded by the command timeout). A call that panics completes
//! its future with `InternalError` instead of leaving it pending.

use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use pyo3::prelude::*;
use pyo3::sync::{MutexExt, PyOnceLock};
use pyo3::BoundObject;
use stateful_redis::call_queue::{Call, CallQueue};
use stateful_redis::{runtime, Error, ErrorCode};

use crate::error::{IntoPyErr, ResultExt};

type Convert = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

struct Completion {
    future: Py<PyAny>,
    convert: Convert,
}

/// How a queue wakes its event loop.
enum Wake {
    /// A socket pair whose read end the loop watches (`loop.add_reader`): the
    /// runtime's thread writes one byte and never waits for the GIL.
    Socket {
        reader: UnixStream,
        writer: UnixStream,
    },
    /// `loop.call_soon_threadsafe`, for loops without `add_reader`; takes the GIL.
    Threadsafe,
}

/// Delivers the result of one call, or `INTERNAL` if the call ended without one
/// (a panic, or the runtime shutting down).
struct Guard {
    queue: Py<LoopQueue>,
    future: Option<Py<PyAny>>,
}

impl Guard {
    fn finish(&mut self, convert: Convert) {
        if let Some(future) = self.future.take() {
            LoopQueue::push(&self.queue, Completion { future, convert });
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.future.is_some() {
            self.finish(Box::new(|_py| {
                Err(Error::new(
                    ErrorCode::Internal,
                    "the call ended without a result (panic or runtime shutdown)",
                )
                .into_py_err())
            }));
        }
    }
}

/// Completions waiting for one event loop; calling it drains them (on the loop).
/// It also owns the loop's driver task (see the module's documentation).
#[pyclass(frozen, module = "stateful_redis._native")]
pub struct LoopQueue {
    event_loop: Py<PyAny>,
    pending: Mutex<Vec<Completion>>,
    wake: Wake,
    /// The calls of this loop, for its driver task on the runtime.
    calls: Arc<CallQueue>,
    /// The fork generation whose runtime runs the driver.
    generation: u64,
}

impl Drop for LoopQueue {
    fn drop(&mut self) {
        // No call is left (each holds a reference to this queue): the driver ends.
        self.calls.close();
    }
}

impl LoopQueue {
    fn push(slf: &Py<LoopQueue>, completion: Completion) {
        let queue = slf.get();
        let first = {
            let mut pending = queue.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.push(completion);
            pending.len() == 1
        };
        if !first {
            return; // a wake-up is already on its way
        }
        match &queue.wake {
            // A full buffer (WouldBlock) means wake-ups are pending already.
            Wake::Socket { writer, .. } => drop((&*writer).write(&[1])),
            Wake::Threadsafe => Python::attach(|py| {
                let event_loop = queue.event_loop.bind(py);
                let scheduled = event_loop.is_closed_loop().and_then(|closed| {
                    if closed {
                        return Ok(false);
                    }
                    event_loop
                        .call_method1(
                            pyo3::intern!(py, "call_soon_threadsafe"),
                            (slf.clone_ref(py),),
                        )
                        .map(|_| true)
                });
                if !matches!(scheduled, Ok(true)) {
                    // The loop is closed (or closing): nobody can await these futures.
                    let dropped = std::mem::take(
                        &mut *queue.pending.lock().unwrap_or_else(|p| p.into_inner()),
                    );
                    drop(dropped);
                }
            }),
        }
    }

    /// Queues `call` for the loop's driver.
    fn submit(&self, call: Call) {
        self.calls.submit(call);
    }

    fn new_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Py<LoopQueue>> {
        let handle = runtime::shared().py()?;
        let generation = runtime::generation();
        // Each queue made here has its own driver: a queue dropped below (its loop
        // refused `add_reader`) ends its own driver, not the next queue's.
        let make = |wake| {
            let queue = Py::new(
                py,
                LoopQueue {
                    event_loop: event_loop.clone().unbind(),
                    pending: Mutex::new(Vec::new()),
                    wake,
                    calls: CallQueue::start(handle.handle()),
                    generation,
                },
            )?;
            Ok::<_, PyErr>(queue)
        };
        let pair = UnixStream::pair().and_then(|(reader, writer)| {
            reader.set_nonblocking(true)?;
            writer.set_nonblocking(true)?;
            Ok((reader, writer))
        });
        if let Ok((reader, writer)) = pair {
            let fd = reader.as_raw_fd();
            let queue = make(Wake::Socket { reader, writer })?;
            let watched =
                event_loop.call_method1(pyo3::intern!(py, "add_reader"), (fd, queue.clone_ref(py)));
            if watched.is_ok() {
                return Ok(queue);
            }
        }
        make(Wake::Threadsafe)
    }
}

trait LoopExt {
    fn is_closed_loop(&self) -> PyResult<bool>;
}

impl LoopExt for Bound<'_, PyAny> {
    fn is_closed_loop(&self) -> PyResult<bool> {
        self.call_method0(pyo3::intern!(self.py(), "is_closed"))?
            .is_truthy()
    }
}

#[pymethods]
impl LoopQueue {
    /// Completes every waiting future (runs on the event loop's thread).
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        if let Wake::Socket { reader, .. } = &self.wake {
            let mut buf = [0u8; 256];
            while matches!((&*reader).read(&mut buf), Ok(n) if n > 0) {}
        }
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for Completion { future, convert } in batch {
            let future = future.bind(py);
            if future
                .call_method0(pyo3::intern!(py, "done"))?
                .is_truthy()?
            {
                continue; // cancelled by its awaiter
            }
            match convert(py) {
                Ok(value) => future.call_method1(pyo3::intern!(py, "set_result"), (value,))?,
                Err(err) => future
                    .call_method1(pyo3::intern!(py, "set_exception"), (err.into_value(py),))?,
            };
        }
        Ok(())
    }
}

/// One queue per live event loop (usually one in all).
static QUEUES: Mutex<Vec<Py<LoopQueue>>> = Mutex::new(Vec::new());
static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn queue_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Py<LoopQueue>> {
    // Waits for the lock with the GIL released: a holder may be waiting for the GIL.
    let mut queues = QUEUES
        .lock_py_attached(py)
        .unwrap_or_else(|p| p.into_inner());
    // The driver of a queue made before a fork() ran on the parent's runtime,
    // whose threads do not exist in this process.
    let generation = runtime::generation();
    if let Some(queue) = queues
        .iter()
        .find(|q| q.get().generation == generation && q.get().event_loop.bind(py).is(event_loop))
    {
        return Ok(queue.clone_ref(py));
    }
    // A new loop: forget the queues of loops that have been closed since (and
    // those of an earlier fork generation).
    queues.retain(|q| {
        q.get().generation == generation
            && !q.get().event_loop.bind(py).is_closed_loop().unwrap_or(true)
    });
    let queue = LoopQueue::new_for(py, event_loop)?;
    queues.push(queue.clone_ref(py));
    Ok(queue)
}

/// The running event loop of this thread (`RuntimeError` outside a coroutine).
pub fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    GET_RUNNING_LOOP
        .import(py, "asyncio", "get_running_loop")?
        .call0()
}

pin_project_lite::pin_project! {
    /// A call and the guard that delivers its result, polled in place in the box
    /// the loop's thread made (an `async` block awaiting the call would move the
    /// call's future once more, on its first poll).
    struct Tracked<F> {
        #[pin]
        call: F,
        guard: Guard,
    }
}

impl<F, T> Future for Tracked<F>
where
    F: Future<Output = stateful_redis::Result<T>>,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let result = match this.call.poll(cx) {
            Poll::Ready(result) => result,
            Poll::Pending => return Poll::Pending,
        };
        this.guard.finish(Box::new(move |py| match result {
            Ok(value) => value
                .into_pyobject(py)
                .map(|v| v.into_any().unbind())
                .map_err(Into::into),
            Err(err) => Err(err.into_py_err()),
        }));
        Poll::Ready(())
    }
}

/// Runs `call` on the shared runtime (the caller's loop's driver task); returns
/// an `asyncio.Future` of the caller's loop that completes with the result
/// converted by `IntoPyObject`.
pub fn spawn<'py, T, F>(py: Python<'py>, call: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = stateful_redis::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = running_loop(py)?;
    let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let queue = queue_for(py, &event_loop)?;
    let guard = Guard {
        queue: queue.clone_ref(py),
        future: Some(future.clone().unbind()),
    };
    queue.get().submit(Box::pin(Tracked { call, guard }));
    Ok(future)
}

/// An already completed `asyncio.Future` holding `value` (for `__aenter__`).
pub fn ready<'py>(py: Python<'py>, value: Py<PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let future = running_loop(py)?.call_method0(pyo3::intern!(py, "create_future"))?;
    future.call_method1(pyo3::intern!(py, "set_result"), (value,))?;
    Ok(future)
}
