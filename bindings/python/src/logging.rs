//! The core's log events into Python's `logging` (see `docs/logging.md`).
//!
//! The core logs on whatever thread the event happens, mostly a thread of its
//! runtime. Such a thread must never wait for the GIL: a Python thread may hold it
//! while it waits for that very runtime (a blocking call, interpreter shutdown),
//! and the runtime would stop for everyone. So the sink only puts the finished
//! record on a bounded queue (`try_send`: never blocks; when full the record is
//! dropped and counted), and a Python daemon thread (`stateful_redis._logging`)
//! takes records off it, with the GIL released while it waits, and hands them to
//! `logging`. The same thread re-reads the loggers' effective level at least once
//! a second, so events the user's loggers would discard are not even formatted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use stateful_redis::logging::{self, FieldValue, Level, Record, Sink};

/// Records waiting for the Python thread; beyond this, new ones are dropped.
const QUEUE_CAPACITY: usize = 4096;
/// Records handed to Python in one batch at most.
const BATCH: usize = 512;

struct QueueSink {
    sender: SyncSender<Record>,
    dropped: Arc<AtomicU64>,
}

impl Sink for QueueSink {
    fn log(&self, record: &Record) {
        if let Err(TrySendError::Full(_)) = self.sender.try_send(record.clone()) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct Channel {
    receiver: Mutex<Receiver<Record>>,
    dropped: Arc<AtomicU64>,
}

/// The queue the Python thread drains. Only touched with the GIL held (never
/// across a wait), so no thread holds this lock when the process forks.
static CHANNEL: Mutex<Option<Arc<Channel>>> = Mutex::new(None);

/// The most verbose core level a Python logger at effective `level` handles.
fn core_level(level: i32) -> Option<Level> {
    Level::most_verbose_for_python(level)
}

/// Starts forwarding into a new queue, for loggers at effective level `level`.
/// Called at import and again in a forked child, whose copy of the old queue may
/// have been locked by a thread that does not exist there: the old queue and
/// sink are leaked, never touched again. Returns whether the forwarding is in
/// place (false when the process installed its own `tracing` subscriber).
#[pyfunction]
fn _log_open(level: i32) -> bool {
    let (sender, receiver) = sync_channel(QUEUE_CAPACITY);
    let dropped = Arc::new(AtomicU64::new(0));
    let sink = QueueSink {
        sender,
        dropped: dropped.clone(),
    };
    let previous = logging::set_sink(Some(Box::new(sink)), Level::Error);
    logging::set_max_level(core_level(level));
    std::mem::forget(previous);
    let channel = Arc::new(Channel {
        receiver: Mutex::new(receiver),
        dropped,
    });
    let mut slot = CHANNEL.lock().unwrap_or_else(|p| p.into_inner());
    std::mem::forget(slot.replace(channel));
    logging::is_forwarding()
}

/// Follows the loggers' effective level (cheap when unchanged).
#[pyfunction]
fn _log_level(level: i32) {
    logging::set_max_level(core_level(level));
}

/// One record as Python sees it: `(levelno, logger name, message, fields)`.
type PyRecord = (i32, String, String, Py<PyDict>);

/// Waits up to `timeout_s` for records (the GIL released meanwhile); returns
/// them with the number dropped since the last call (`[]` on a timeout), or
/// `None` when forwarding is not open.
#[pyfunction]
fn _log_records(py: Python<'_>, timeout_s: f64) -> PyResult<Option<(Vec<PyRecord>, u64)>> {
    let Some(channel) = CHANNEL.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
        return Ok(None);
    };
    let timeout = Duration::from_secs_f64(timeout_s.clamp(0.0, 60.0));
    let batch = py.detach(|| {
        let receiver = channel.receiver.lock().unwrap_or_else(|p| p.into_inner());
        match receiver.recv_timeout(timeout) {
            Ok(first) => {
                let mut batch = vec![first];
                batch.extend(receiver.try_iter().take(BATCH - 1));
                batch
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => Vec::new(),
        }
    });
    let dropped = channel.dropped.swap(0, Ordering::Relaxed);
    let mut records = Vec::with_capacity(batch.len());
    for record in batch {
        let fields = PyDict::new(py);
        for (name, value) in &record.fields {
            match value {
                FieldValue::Bool(v) => fields.set_item(name, v)?,
                FieldValue::I64(v) => fields.set_item(name, v)?,
                FieldValue::U64(v) => fields.set_item(name, v)?,
                FieldValue::F64(v) => fields.set_item(name, v)?,
                FieldValue::Str(v) => fields.set_item(name, v)?,
            }
        }
        records.push((
            record.level.python_level(),
            record.dotted_target(),
            record.message,
            fields.unbind(),
        ));
    }
    Ok(Some((records, dropped)))
}

/// Adds the functions `stateful_redis._logging` drives (as attributes: `add`
/// would list them in `__all__`).
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.setattr("_log_open", wrap_pyfunction!(_log_open, m)?)?;
    m.setattr("_log_level", wrap_pyfunction!(_log_level, m)?)?;
    m.setattr("_log_records", wrap_pyfunction!(_log_records, m)?)?;
    Ok(())
}
