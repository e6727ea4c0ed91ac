//! Live progress of a run on stderr: calls, ops/s over the last second and errors,
//! read from the monitor's counters (two atomic loads per operation, no lock).
//!
//! On a terminal it is an `indicatif` line redrawn 5 times a second; with
//! `--progress always` and no terminal (CI logs, tests) a plain line each second.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stateful_redis::{Executor, Operation};

/// When to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Only when stderr is a terminal.
    Auto,
    Always,
    Never,
}

impl ProgressMode {
    pub fn parse(s: &str) -> Option<ProgressMode> {
        match s {
            "auto" => Some(ProgressMode::Auto),
            "always" => Some(ProgressMode::Always),
            "never" => Some(ProgressMode::Never),
            _ => None,
        }
    }
}

/// Calls and errors so far, over every operation.
pub fn totals(exec: &Executor) -> (u64, u64) {
    Operation::ALL.iter().fold((0, 0), |(c, e), op| {
        let (count, errors) = exec.monitor().operation_counts(*op);
        (c + count, e + errors)
    })
}

/// A running display; [`Progress::finish`] stops it.
pub struct Progress {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts the display (a task on the current tokio runtime), if `mode` wants one.
    pub fn start(mode: ProgressMode, exec: Executor, total: Option<u64>) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let stop = Arc::new(AtomicBool::new(false));
        let task = match (mode, terminal) {
            (ProgressMode::Never, _) | (ProgressMode::Auto, false) => None,
            (_, true) => Some(tokio::spawn(bar(exec, total, stop.clone()))),
            (ProgressMode::Always, false) => Some(tokio::spawn(lines(exec, stop.clone()))),
        };
        Progress { stop, task }
    }

    /// Stops the display and waits for its last update.
    pub async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.task {
            let _ = task.await;
        }
    }
}

/// Ops/s over roughly the last second, from a window of samples.
struct Rate {
    samples: std::collections::VecDeque<(Instant, u64)>,
}

impl Rate {
    fn new() -> Rate {
        Rate {
            samples: std::collections::VecDeque::new(),
        }
    }

    fn push(&mut self, now: Instant, count: u64) -> f64 {
        self.samples.push_back((now, count));
        while self.samples.len() > 2
            && now.duration_since(self.samples[0].0) > Duration::from_secs(1)
        {
            self.samples.pop_front();
        }
        let (t0, c0) = self.samples[0];
        let dt = now.duration_since(t0).as_secs_f64();
        if dt > 0.0 {
            (count - c0) as f64 / dt
        } else {
            0.0
        }
    }
}

async fn bar(exec: Executor, total: Option<u64>, stop: Arc<AtomicBool>) {
    let bar = match total {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if total.is_some() {
        "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} calls  {msg}"
    } else {
        "{spinner} {elapsed_precise} {pos} calls  {msg}"
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .progress_chars("=> "),
    );
    let mut rate = Rate::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let (count, errors) = totals(&exec);
        let per_s = rate.push(Instant::now(), count);
        bar.set_position(count);
        bar.set_message(format!("{per_s:>9.0} ops/s  {errors} errors"));
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    bar.finish_and_clear();
}

async fn lines(exec: Executor, stop: Arc<AtomicBool>) {
    let started = Instant::now();
    let mut rate = Rate::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut next_print = Duration::from_secs(1);
    loop {
        tick.tick().await;
        let (count, errors) = totals(&exec);
        let per_s = rate.push(Instant::now(), count);
        let stopping = stop.load(Ordering::Relaxed);
        if started.elapsed() >= next_print || stopping {
            next_print += Duration::from_secs(1);
            eprintln!(
                "progress: {:.1} s, {count} calls, {per_s:.0} ops/s, {errors} errors",
                started.elapsed().as_secs_f64()
            );
        }
        if stopping {
            break;
        }
    }
}
