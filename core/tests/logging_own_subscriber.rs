//! A Rust program's own `tracing` subscriber is kept: a binding's sink set later
//! does not replace it (its own binary: the global subscriber is per process).

use std::sync::{Arc, Mutex};

use stateful_redis::logging::{self, Level, Record, Sink};

struct Collect(Arc<Mutex<Vec<Record>>>);

impl Sink for Collect {
    fn log(&self, record: &Record) {
        self.0.lock().unwrap().push(record.clone());
    }
}

#[test]
fn an_existing_global_subscriber_is_not_replaced() {
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_test_writer()
        .finish()
        .init();
    let seen = Arc::new(Mutex::new(Vec::new()));
    logging::set_sink(Some(Box::new(Collect(seen.clone()))), Level::Trace);
    assert!(!logging::is_forwarding());
    tracing::warn!("goes to the program's subscriber");
    assert!(seen.lock().unwrap().is_empty());
}
