//! Performance data persistence: snapshots appended to a JSON-lines file at an
//! interval, and the reader the report tools use.
//!
//! One line per snapshot, each a complete [`MetricsSnapshot`] in JSON; the file is
//! opened in append mode, so a recording survives restarts of the process and
//! several recordings may follow each other in one file. The recorder runs on a
//! thread of its own (the core never creates an async runtime) and writes a last
//! snapshot when stopped.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::snapshot::MetricsSnapshot;
use super::Monitor;
use crate::error::{Error, ErrorCode, Result};

/// Appends a snapshot to a file every interval until stopped or dropped.
pub struct Recorder {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<io::Result<u64>>>,
    path: PathBuf,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish()
    }
}

fn append(file: &mut File, snapshot: &MetricsSnapshot) -> io::Result<()> {
    let mut line = serde_json::to_vec(snapshot).map_err(io::Error::other)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.flush()
}

impl Recorder {
    /// Starts recording `monitor` into `path` (created if missing, appended to)
    /// every `interval`, the first snapshot after one interval.
    pub fn start(
        monitor: Arc<Monitor>,
        path: impl AsRef<Path>,
        interval: Duration,
    ) -> Result<Recorder> {
        if interval.is_zero() {
            return Err(Error::invalid_argument(
                "recording interval must be above zero",
            ));
        }
        let path = path.as_ref().to_path_buf();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                Error::new(
                    ErrorCode::InvalidArgument,
                    format!("cannot open {} for recording: {e}", path.display()),
                )
            })?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("stateful-redis-recorder".into())
            .spawn(move || {
                let mut lines = 0u64;
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(interval),
                        Err(RecvTimeoutError::Timeout)
                    );
                    append(&mut file, &monitor.snapshot())?;
                    lines += 1;
                    if last {
                        return Ok(lines);
                    }
                }
            })
            .map_err(|e| {
                Error::new(
                    ErrorCode::Internal,
                    format!("cannot start the recorder: {e}"),
                )
            })?;
        Ok(Recorder {
            stop: Some(stop),
            thread: Some(thread),
            path,
        })
    }

    /// The file recorded into.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a last snapshot, stops, and returns how many snapshots were written.
    pub fn stop(mut self) -> Result<u64> {
        self.finish()
    }

    fn finish(&mut self) -> Result<u64> {
        drop(self.stop.take());
        match self.thread.take() {
            Some(thread) => match thread.join() {
                Ok(result) => result.map_err(|e| {
                    Error::new(
                        ErrorCode::Internal,
                        format!("recording to {} failed: {e}", self.path.display()),
                    )
                }),
                Err(_) => Err(Error::new(
                    ErrorCode::Internal,
                    "the recorder thread panicked",
                )),
            },
            None => Ok(0),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Reads every snapshot of a recording, in order. A last line cut short (the
/// process died while writing it) is skipped; any other bad line is an error
/// naming its line number.
pub fn read_recording(path: impl AsRef<Path>) -> Result<Vec<MetricsSnapshot>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| {
        Error::invalid_argument(format!("cannot open recording {}: {e}", path.display()))
    })?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<io::Result<_>>()
        .map_err(|e| Error::data(format!("cannot read recording {}: {e}", path.display())))?;
    let mut snapshots = Vec::with_capacity(lines.len());
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(s) => snapshots.push(s),
            Err(e) if i == last && e.is_eof() => break,
            Err(e) => {
                return Err(Error::data(format!(
                    "recording {} line {}: not a metrics snapshot: {e}",
                    path.display(),
                    i + 1
                )))
            }
        }
    }
    Ok(snapshots)
}
