//! Every limit on the arguments of an operation, and the checks that enforce
//! them: the one place that sets them. An argument out of bounds is refused with
//! `INVALID_ARGUMENT` before anything is sent (`docs/decisions.md` says why each
//! bound is what it is).
//!
//! | argument | accepted | constant | check |
//! |---|---|---|---|
//! | `ns`, `svc`, `uid` | 1..=512 bytes of UTF-8, no control characters | [`MAX_NAME_LEN`] | [`validate_name`] |
//! | `ns`, Java key schema | as above, and exactly three non-empty `:`-separated parts | | [`validate_java_namespace`] (through `KeySchema::validate_namespace`) |
//! | pod or workload state | 0..=4096 bytes, no control characters | [`MAX_STATE_LEN`] | [`validate_state`] |
//! | `pod` | 0..=2,147,483,647 (also bounds pod ids read from Redis, see `model::parse_pod_id`, and the scripts' `MAX_POD`) | [`MAX_POD`] | `validate_pod` |
//! | `persist`, `keep` | -1 (persistent / now), or 1..=2,147,483,647 seconds | [`MAX_TTL_SECONDS`] | `validate_ttl` |
//! | `load`, `state` of `set_pod_load` | >= 0 | | `validate_non_negative` |
//! | `policy.max_age_ms` | > 0 | | `validate_max_age` |
//! | uids of `batch_get_linked_pod` | at most 100,000 | [`MAX_BATCH`] | `validate_uid_count` |
//! | services of `get_workload_states` | at most 10,000 | [`MAX_SERVICES`] | `validate_service_count` |
//! | const labels of the metrics (option `metrics_labels`) | at most 16; names `[a-zA-Z_][a-zA-Z0-9_]*`, not `__…` nor a label of the exposition (`operation`, `code`, `le`, `quantile`, `version`); values 1..=256 bytes | [`MAX_METRIC_LABELS`], [`MAX_METRIC_LABEL_VALUE_LEN`], [`RESERVED_METRIC_LABELS`] | [`validate_metric_labels`] |
//!
//! The options of an executor (timeouts, `connections` up to
//! `config::MAX_CONNECTIONS`, ...) are checked when the configuration is built
//! (`Config::from_options`), with `CONFIG`, not here.
//!
//! This module depends on nothing but [`crate::error`]: key building
//! ([`crate::keys`]), parsing ([`crate::model`]) and the scripts
//! ([`crate::scripts`]) take their bounds from here.

use crate::error::{Error, Result};

/// Longest accepted namespace, service or user id, in bytes (after UTF-8 encoding,
/// before percent-encoding).
pub const MAX_NAME_LEN: usize = 512;

/// Longest accepted state string (pod state or workload state), in bytes.
pub const MAX_STATE_LEN: usize = 4096;

/// Largest pod id (pods are Java `int`s in the reference versions).
pub const MAX_POD: i64 = i32::MAX as i64;

/// Largest TTL, in seconds, for `persist` and `keep`.
pub const MAX_TTL_SECONDS: i64 = i32::MAX as i64;

/// Most uids in one `batch_get_linked_pod` call.
pub const MAX_BATCH: usize = 100_000;

/// Most services in one `get_workload_states` call.
pub const MAX_SERVICES: usize = 10_000;

/// Most const labels of the metrics (option `metrics_labels`).
pub const MAX_METRIC_LABELS: usize = 16;

/// Longest value of a const label of the metrics, in bytes.
pub const MAX_METRIC_LABEL_VALUE_LEN: usize = 256;

/// Label names a const label cannot take: the labels of the exposition's own
/// series (`operation`, `code`, the build's `version`) and those Prometheus
/// gives a meaning (`le` of histogram buckets, `quantile` of summaries).
pub const RESERVED_METRIC_LABELS: [&str; 5] = ["operation", "code", "le", "quantile", "version"];

/// Checks the const labels of the metrics (label name → value): the Prometheus
/// label name grammar, no reserved name, no name starting with `__` (reserved
/// for Prometheus's own use), non-empty values of at most
/// [`MAX_METRIC_LABEL_VALUE_LEN`] bytes (any text: the exposition escapes it).
/// Errors name the label, never its value.
pub fn validate_metric_labels<'a>(
    labels: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    if labels.len() > MAX_METRIC_LABELS {
        return Err(Error::invalid_argument(format!(
            "metrics_labels has {} labels; the limit is {MAX_METRIC_LABELS}",
            labels.len()
        )));
    }
    for (name, value) in labels {
        let mut chars = name.chars();
        let grammar = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !grammar {
            // The name is not a valid label name: say so without echoing it
            // whole (it may be anything, of any length).
            let shown: String = name
                .chars()
                .take(64)
                .flat_map(char::escape_default)
                .collect();
            return Err(Error::invalid_argument(format!(
                "metrics_labels: \"{shown}\" is not a Prometheus label name \
                 ([a-zA-Z_][a-zA-Z0-9_]*)"
            )));
        }
        if name.starts_with("__") || RESERVED_METRIC_LABELS.contains(&name) {
            return Err(Error::invalid_argument(format!(
                "metrics_labels: the label name \"{name}\" is reserved (names starting with \
                 __, and {})",
                RESERVED_METRIC_LABELS.join(", ")
            )));
        }
        if value.is_empty() || value.len() > MAX_METRIC_LABEL_VALUE_LEN {
            return Err(Error::invalid_argument(format!(
                "metrics_labels: the value of \"{name}\" must be 1 to \
                 {MAX_METRIC_LABEL_VALUE_LEN} bytes long"
            )));
        }
    }
    Ok(())
}

/// Which kind of name is being checked: used in error messages and, by
/// [`crate::keys::encode`], to decide whether `:` is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Namespace,
    Service,
    Uid,
}

impl NameKind {
    fn label(self) -> &'static str {
        match self {
            NameKind::Namespace => "ns",
            NameKind::Service => "svc",
            NameKind::Uid => "uid",
        }
    }
}

/// Checks a name: non-empty, at most [`MAX_NAME_LEN`] bytes, no control characters.
pub fn validate_name(kind: NameKind, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid_argument(format!(
            "{} must not be empty",
            kind.label()
        )));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid_argument(format!(
            "{} is {} bytes long; the limit is {MAX_NAME_LEN}",
            kind.label(),
            name.len()
        )));
    }
    if has_control_character(name) {
        return Err(Error::invalid_argument(format!(
            "{} must not contain control characters",
            kind.label()
        )));
    }
    Ok(())
}

/// Whether `text` holds a control character (Unicode category Cc). Names are
/// checked on every call, and nearly all of them are printable ASCII: one
/// byte scan shows that, and only a name with another byte (an ASCII control,
/// DEL, or any non-ASCII character) is checked character by character.
#[inline]
fn has_control_character(text: &str) -> bool {
    text.bytes().any(|b| !(b' '..=b'~').contains(&b)) && text.chars().any(char::is_control)
}

/// The Java key schema's namespace shape: `appId:regionId:logicType`, exactly
/// three non-empty parts (the name itself is checked by [`validate_name`]).
pub fn validate_java_namespace(ns: &str) -> Result<()> {
    if ns.split(':').count() != 3 || ns.split(':').any(str::is_empty) {
        return Err(Error::invalid_argument(format!(
            "the Java key schema needs ns = appId:regionId:logicType (three parts), not {ns:?}"
        )));
    }
    Ok(())
}

/// Checks a state string: at most [`MAX_STATE_LEN`] bytes, no control characters.
/// An empty state is allowed (it is a value, not a name).
pub fn validate_state(state: &str) -> Result<()> {
    if state.len() > MAX_STATE_LEN {
        return Err(Error::invalid_argument(format!(
            "state is {} bytes long; the limit is {MAX_STATE_LEN}",
            state.len()
        )));
    }
    if has_control_character(state) {
        return Err(Error::invalid_argument(
            "state must not contain control characters",
        ));
    }
    Ok(())
}

/// A pod id within `0..=MAX_POD`.
#[inline]
pub(crate) fn validate_pod(pod: i64) -> Result<()> {
    if !(0..=MAX_POD).contains(&pod) {
        return Err(Error::invalid_argument(format!(
            "pod must be between 0 and {MAX_POD}, not {pod}"
        )));
    }
    Ok(())
}

/// A TTL argument (`persist`, `keep`): -1, or 1..=[`MAX_TTL_SECONDS`].
#[inline]
pub(crate) fn validate_ttl(name: &str, seconds: i64) -> Result<()> {
    if seconds == -1 || (1..=MAX_TTL_SECONDS).contains(&seconds) {
        return Ok(());
    }
    Err(Error::invalid_argument(format!(
        "{name} must be -1 (persistent) or between 1 and {MAX_TTL_SECONDS} seconds, not {seconds}"
    )))
}

/// A number that must not be negative (a load record's `load` and `state`).
#[inline]
pub(crate) fn validate_non_negative(name: &str, value: i64) -> Result<()> {
    if value < 0 {
        return Err(Error::invalid_argument(format!(
            "{name} must not be negative, not {value}"
        )));
    }
    Ok(())
}

/// A routing policy's `max_age_ms`: positive.
#[inline]
pub(crate) fn validate_max_age(max_age_ms: i64) -> Result<()> {
    if max_age_ms <= 0 {
        return Err(Error::invalid_argument(
            "policy.max_age_ms must be positive",
        ));
    }
    Ok(())
}

/// The number of uids of one batch call: at most [`MAX_BATCH`].
#[inline]
pub(crate) fn validate_uid_count(count: usize) -> Result<()> {
    validate_count("uids", count, MAX_BATCH)
}

/// The number of services of one call: at most [`MAX_SERVICES`].
#[inline]
pub(crate) fn validate_service_count(count: usize) -> Result<()> {
    validate_count("services", count, MAX_SERVICES)
}

fn validate_count(what: &str, count: usize, limit: usize) -> Result<()> {
    if count > limit {
        return Err(Error::invalid_argument(format!(
            "{count} {what} in one call; the limit is {limit}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_labels() {
        let check = |pairs: &[(&str, &str)]| validate_metric_labels(pairs.iter().copied());
        assert!(check(&[]).is_ok());
        assert!(check(&[("executor", "orders"), ("_x9", "a \"b\"\n\\")]).is_ok());
        for bad in [
            "",
            "9a",
            "a-b",
            "é",
            "__name__",
            "le",
            "quantile",
            "operation",
            "code",
            "version",
        ] {
            let err = check(&[(bad, "v")]).unwrap_err();
            assert_eq!(
                err.code(),
                crate::error::ErrorCode::InvalidArgument,
                "{bad}"
            );
            assert!(
                err.message().starts_with("metrics_labels"),
                "{}",
                err.message()
            );
        }
        let secret = "s3cret-value";
        for value in [String::new(), "x".repeat(MAX_METRIC_LABEL_VALUE_LEN + 1)] {
            assert!(check(&[("executor", &value)]).is_err());
        }
        let err = check(&[("bad name", secret)]).unwrap_err();
        assert!(!err.message().contains(secret));
        let many: Vec<(String, &str)> = (0..=MAX_METRIC_LABELS)
            .map(|i| (format!("l{i}"), "v"))
            .collect();
        assert!(validate_metric_labels(many.iter().map(|(k, v)| (k.as_str(), *v))).is_err());
    }

    #[test]
    fn ttl_and_pod_bounds() {
        assert!(validate_ttl("persist", -1).is_ok());
        assert!(validate_ttl("persist", 1).is_ok());
        assert!(validate_ttl("persist", 0).is_err());
        assert!(validate_ttl("persist", -2).is_err());
        assert!(validate_pod(0).is_ok());
        assert!(validate_pod(-1).is_err());
        assert!(validate_pod(MAX_POD + 1).is_err());
    }

    #[test]
    fn validation_rejects_bad_names() {
        assert!(validate_name(NameKind::Uid, "").is_err());
        assert!(validate_name(NameKind::Uid, "a\nb").is_err());
        assert!(validate_name(NameKind::Uid, &"x".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(validate_name(NameKind::Uid, &"x".repeat(MAX_NAME_LEN)).is_ok());
        assert!(validate_name(NameKind::Uid, "ünï{c}ode:%").is_ok());
    }

    #[test]
    fn control_characters_are_refused_in_ascii_and_beyond() {
        for bad in ["a\tb", "a\u{7f}", "\u{0}", "é\u{85}", "\u{9f}x"] {
            assert!(validate_name(NameKind::Uid, bad).is_err(), "{bad:?}");
            assert!(validate_state(bad).is_err(), "{bad:?}");
        }
        for good in ["u42", "é-ü:{}%", "\u{a0}", "~"] {
            assert!(validate_name(NameKind::Uid, good).is_ok(), "{good:?}");
            assert!(validate_state(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn batch_limits_name_the_count_and_the_limit() {
        assert!(validate_uid_count(MAX_BATCH).is_ok());
        let err = validate_uid_count(MAX_BATCH + 1).unwrap_err();
        assert_eq!(
            err.message(),
            format!(
                "{} uids in one call; the limit is {MAX_BATCH}",
                MAX_BATCH + 1
            )
        );
        assert!(validate_service_count(MAX_SERVICES).is_ok());
        assert!(validate_service_count(MAX_SERVICES + 1).is_err());
    }
}
