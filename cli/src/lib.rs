//! Library side of the `stateful-redis` command, shared with the benchmarks and
//! the end-to-end tests: the workload generator, reports, the dashboard server,
//! doctor's checks and the live progress display.

pub mod dashboard;
pub mod doctor;
pub mod progress;
pub mod report;
pub mod workload;

use std::fmt;

/// An error as the command prints it: `stateful-redis: CODE: message`. Codes are
/// the core's stable error codes (`docs/reliability.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub code: String,
    pub message: String,
}

impl CliError {
    pub fn new(code: &str, message: impl Into<String>) -> CliError {
        CliError {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CliError {}

impl From<stateful_redis::Error> for CliError {
    fn from(e: stateful_redis::Error) -> CliError {
        CliError::new(e.code().as_str(), e.message())
    }
}
