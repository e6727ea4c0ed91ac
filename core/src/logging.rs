//! Forwarding of the core's log events to the logging of the program that uses a
//! binding: Python's `logging`, a Node function, a C callback (see
//! `docs/logging.md`).
//!
//! The core logs through `tracing` (alerts firing and resolving, connections lost,
//! re-established or replaced, the pool resized). A binding calls [`set_sink`]
//! with its [`Sink`]; the first call installs [`Forwarder`] as the process's
//! global `tracing` subscriber, *only if none is set*: a Rust program that
//! installed its own subscriber keeps it and receives the events there.
//!
//! The level mapping and the rendering of fields into the message live here,
//! once: a sink receives a finished [`Record`]. Events above the sink's level
//! are refused by `tracing`'s level check before anything is formatted.
//!
//! One sink per copy of the core: each binding is its own shared library
//! (`_native.so`, the `.node` module, `libstateful_redis.so`) with its own copy
//! of the core and of `tracing`'s globals, so a program that loads the C library
//! and the Python package has two independent forwardings, each receiving the
//! events of the executors made through it.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwapOption;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span;
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

/// The level of an event, most severe first. The numbers are the C ABI's
/// (`SR_LOG_ERROR` = 1 … `SR_LOG_TRACE` = 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    /// Every level, most severe first.
    pub const ALL: [Level; 5] = [
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
        Level::Trace,
    ];

    /// `"error"`, `"warn"`, `"info"`, `"debug"`, `"trace"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }

    /// The level named by [`Level::as_str`] (any case).
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(name))
    }

    /// The level of number `n` (1 = error … 5 = trace).
    pub fn from_number(n: i64) -> Option<Level> {
        Level::ALL.into_iter().find(|l| *l as i64 == n)
    }

    /// Python's `logging` level: ERROR 40, WARNING 30, INFO 20, DEBUG 10 (TRACE too:
    /// Python has no finer level).
    pub fn python_level(self) -> i32 {
        match self {
            Level::Error => 40,
            Level::Warn => 30,
            Level::Info => 20,
            Level::Debug | Level::Trace => 10,
        }
    }

    /// The most verbose level whose events a Python logger at `level` (an
    /// effective level, e.g. `logging.INFO`) handles; `None` when it handles none.
    pub fn most_verbose_for_python(level: i32) -> Option<Level> {
        Level::ALL
            .into_iter()
            .rev()
            .find(|l| l.python_level() >= level)
    }

    fn from_tracing(level: &tracing::Level) -> Level {
        match *level {
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::INFO => Level::Info,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::TRACE => Level::Trace,
        }
    }
}

/// The value of a structured field, typed as the event recorded it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Bool(v) => write!(f, "{v}"),
            FieldValue::I64(v) => write!(f, "{v}"),
            FieldValue::U64(v) => write!(f, "{v}"),
            FieldValue::F64(v) => write!(f, "{v}"),
            // Quoted when a reader could not tell where it ends.
            FieldValue::Str(v)
                if v.is_empty() || v.contains(|c: char| c.is_whitespace() || c == '=') =>
            {
                write!(f, "{v:?}")
            }
            FieldValue::Str(v) => f.write_str(v),
        }
    }
}

/// One event, ready for a sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub level: Level,
    /// The Rust module that logged it, e.g. `stateful_redis::monitor`.
    pub target: &'static str,
    /// The text followed by every field as ` name=value`, e.g.
    /// `alert firing: ... metric=pool.reconnects value=3 threshold=1`.
    pub message: String,
    /// The structured fields, in the order the event recorded them.
    pub fields: Vec<(&'static str, FieldValue)>,
}

impl Record {
    /// The target with `::` replaced by `.` and the crate name as the root,
    /// e.g. `stateful_redis.monitor` (a Python logger name).
    pub fn dotted_target(&self) -> String {
        self.target.replace("::", ".")
    }
}

/// Where a binding wants the events. Called on the thread that logged (often a
/// thread of the core's runtime): it must not block for long, and never on a
/// lock another thread may hold while waiting for the core.
pub trait Sink: Send + Sync + 'static {
    fn log(&self, record: &Record);
}

/// 0 = off, else the most verbose [`Level`] forwarded.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
static SINK: ArcSwapOption<Box<dyn Sink>> = ArcSwapOption::const_empty();
/// Whether [`Forwarder`] became the global subscriber (decided once).
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Sends the core's events at `max_level` and more severe to `sink` (`None`:
/// forward nothing). Returns the sink it replaces; whether the forwarding is in
/// place is [`is_forwarding`]. The first call installs [`Forwarder`] as the
/// global `tracing` subscriber unless the program set one already.
pub fn set_sink(sink: Option<Box<dyn Sink>>, max_level: Level) -> Option<Arc<Box<dyn Sink>>> {
    install();
    let level = if sink.is_some() { max_level as u8 } else { 0 };
    let previous = SINK.swap(sink.map(Arc::new));
    store_level(level);
    previous
}

/// Changes the most verbose level forwarded (`None`: nothing), keeping the sink.
/// Cheap when the level does not change.
pub fn set_max_level(max_level: Option<Level>) {
    store_level(max_level.map_or(0, |l| l as u8));
}

/// The most verbose level forwarded now (`None`: nothing).
pub fn max_level() -> Option<Level> {
    Level::from_number(MAX_LEVEL.load(Ordering::Relaxed).into())
}

/// Whether [`Forwarder`] is the global subscriber (false when the program had
/// installed its own before the first [`set_sink`]).
pub fn is_forwarding() -> bool {
    INSTALLED.get().copied().unwrap_or(false)
}

fn install() {
    INSTALLED.get_or_init(|| {
        tracing::dispatcher::set_global_default(tracing::Dispatch::new(Forwarder)).is_ok()
    });
}

fn store_level(level: u8) {
    if MAX_LEVEL.swap(level, Ordering::Relaxed) != level {
        // `tracing` caches the global maximum level and each call site's
        // interest: recompute them so a level turned off costs no call.
        tracing::callsite::rebuild_interest_cache();
    }
}

/// The `tracing` subscriber that hands events to the [`Sink`] set by
/// [`set_sink`]. It keeps no spans (the core opens none).
pub struct Forwarder;

impl Forwarder {
    fn level_filter() -> LevelFilter {
        match max_level() {
            None => LevelFilter::OFF,
            Some(Level::Error) => LevelFilter::ERROR,
            Some(Level::Warn) => LevelFilter::WARN,
            Some(Level::Info) => LevelFilter::INFO,
            Some(Level::Debug) => LevelFilter::DEBUG,
            Some(Level::Trace) => LevelFilter::TRACE,
        }
    }
}

impl Subscriber for Forwarder {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level can change at any time: ask `enabled` (behind the global
        // level check, see `max_level_hint`).
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        (Level::from_tracing(metadata.level()) as u8) <= MAX_LEVEL.load(Ordering::Relaxed)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(Forwarder::level_filter())
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        if let Some(sink) = SINK.load().as_ref() {
            sink.log(&render(event));
        }
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// The record of `event`: its message followed by its fields.
pub fn render(event: &Event<'_>) -> Record {
    let metadata = event.metadata();
    let mut fields = Fields::default();
    event.record(&mut fields);
    let mut message = fields.message;
    for (name, value) in &fields.values {
        if !message.is_empty() {
            message.push(' ');
        }
        let _ = write!(message, "{name}={value}");
    }
    Record {
        level: Level::from_tracing(metadata.level()),
        target: metadata.target(),
        message,
        fields: fields.values,
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    values: Vec<(&'static str, FieldValue)>,
}

impl Fields {
    fn push(&mut self, field: &Field, value: FieldValue) {
        if field.name() == "message" {
            self.message = value.to_plain_string();
        } else {
            self.values.push((field.name(), value));
        }
    }
}

impl FieldValue {
    fn to_plain_string(&self) -> String {
        match self {
            FieldValue::Str(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, FieldValue::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::U64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, FieldValue::Str(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%x` fields and the message arrive here; their `Debug` is the `Display`.
        self.push(field, FieldValue::Str(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Renders the events of `log` through a local (not global) forwarder.
    fn records(max_level: Level, log: impl FnOnce()) -> Vec<Record> {
        struct Collect(Arc<Mutex<Vec<Record>>>);
        impl Sink for Collect {
            fn log(&self, record: &Record) {
                self.0.lock().unwrap().push(record.clone());
            }
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        struct Local(Arc<Mutex<Vec<Record>>>, Level);
        impl Subscriber for Local {
            fn enabled(&self, m: &Metadata<'_>) -> bool {
                Level::from_tracing(m.level()) <= self.1
            }
            fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
                span::Id::from_u64(1)
            }
            fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
            fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
            fn event(&self, event: &Event<'_>) {
                Collect(self.0.clone()).log(&render(event));
            }
            fn enter(&self, _: &span::Id) {}
            fn exit(&self, _: &span::Id) {}
        }
        tracing::subscriber::with_default(Local(seen.clone(), max_level), log);
        let out = seen.lock().unwrap().clone();
        out
    }

    #[test]
    fn fields_follow_the_message_typed_and_quoted_when_needed() {
        let got = records(Level::Trace, || {
            let error = "connection reset by peer";
            tracing::warn!(metric = "pool.reconnects", value = 3.5, threshold = 1u64, ok = true,
                %error, "alert firing: {}", "too many");
        });
        assert_eq!(got.len(), 1);
        let r = &got[0];
        assert_eq!(r.level, Level::Warn);
        assert_eq!(r.target, "stateful_redis::logging::tests");
        assert_eq!(
            r.message,
            "alert firing: too many metric=pool.reconnects value=3.5 threshold=1 ok=true \
             error=\"connection reset by peer\""
        );
        assert_eq!(r.fields[1], ("value", FieldValue::F64(3.5)));
        assert_eq!(r.fields[2], ("threshold", FieldValue::U64(1)));
        assert_eq!(r.dotted_target(), "stateful_redis.logging.tests");
    }

    #[test]
    fn levels_map_to_python_and_back() {
        assert_eq!(Level::Warn.python_level(), 30);
        assert_eq!(Level::Trace.python_level(), 10);
        assert_eq!(Level::most_verbose_for_python(0), Some(Level::Trace));
        assert_eq!(Level::most_verbose_for_python(10), Some(Level::Trace));
        assert_eq!(Level::most_verbose_for_python(15), Some(Level::Info));
        assert_eq!(Level::most_verbose_for_python(30), Some(Level::Warn));
        assert_eq!(Level::most_verbose_for_python(40), Some(Level::Error));
        assert_eq!(Level::most_verbose_for_python(50), None);
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
            assert_eq!(Level::from_number(l as i64), Some(l));
        }
        assert_eq!(Level::parse("WARN"), Some(Level::Warn));
        assert_eq!(Level::parse("warning"), None);
    }

    #[test]
    fn a_message_without_fields_is_the_text_alone() {
        let got = records(Level::Info, || {
            tracing::info!("scripts preloaded");
            tracing::debug!("not enabled");
        });
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].message, "scripts preloaded");
        assert!(got[0].fields.is_empty());
    }
}
