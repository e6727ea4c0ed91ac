//! The values the operations take and return — a pod's load record, the routing
//! policy, the outcome of `try_set_linked_pod` — and the parsing of what Redis
//! holds into them (pod ids, links, load records). Anything read that does not
//! parse is left out or is `DATA`, never misread (`docs/decisions.md`).

use redis::{FromRedisValue, ParsingError, Value};

use crate::error::{Error, Result};
use crate::validate::MAX_POD;

/// A pod's load record (`LOAD-MILLIS-STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PodLoad {
    pub load: i64,
    pub state: i64,
    /// Server time of the update, epoch milliseconds.
    pub updated_ms: i64,
}

impl PodLoad {
    /// Parses `LOAD-MILLIS-STATE`: three decimal integers joined by `-`.
    pub fn parse(record: &str) -> Option<PodLoad> {
        let mut parts = record.split('-');
        let load = parse_decimal(parts.next()?)?;
        let updated_ms = parse_decimal(parts.next()?)?;
        let state = parse_decimal(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(PodLoad {
            load,
            state,
            updated_ms,
        })
    }
}

/// A non-negative decimal integer without sign or spaces.
fn parse_decimal(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// How `compute_linked_pod` chooses a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingPolicy {
    /// A load record older than this (against the server's clock) is ignored.
    pub max_age_ms: i64,
    /// Pods whose state is above this are not chosen.
    pub max_state: i64,
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        RoutingPolicy {
            max_age_ms: 60_000,
            max_state: i64::MAX,
        }
    }
}

/// Result of `try_set_linked_pod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrySetOutcome {
    /// Whether the link was set.
    pub ok: bool,
    /// The pod the uid is linked to after the call.
    pub pod: i64,
}

/// A pod id in canonical form: decimal digits without sign, spaces or leading
/// zeros, within `0..=MAX_POD` (the same range as for inputs). Anything else
/// read from Redis is not a pod id: `07` must not collide with `7`, and an id
/// beyond the range must not be misread.
#[inline]
pub fn parse_pod_id(text: &str) -> Option<i64> {
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    parse_decimal(text).filter(|pod| *pod <= MAX_POD)
}

/// A link value read from `key`: a pod id, or `DATA` naming the key.
#[inline]
pub(crate) fn parse_pod(key: &str, value: Option<StoredLink>) -> Result<Option<i64>> {
    parse_pod_keyed(value, || key.to_string())
}

/// As [`parse_pod`], the key's name made only for the error (a batch read
/// keeps no key strings).
#[inline]
pub(crate) fn parse_pod_keyed(
    value: Option<StoredLink>,
    key: impl FnOnce() -> String,
) -> Result<Option<i64>> {
    match value {
        None => Ok(None),
        Some(StoredLink::Pod(pod)) => Ok(Some(pod)),
        Some(StoredLink::NotAPod) => Err(Error::data(format!(
            "key {} holds a link that is not a pod id",
            key()
        ))),
    }
}

/// A link value as a read receives it, parsed straight from the reply (no
/// string made for it): a pod id, or a value that is not one, which the
/// caller reports as `DATA` naming its key ([`parse_pod`]). The same rules as
/// [`parse_pod_id`]; bytes that are not UTF-8 are not a pod id either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoredLink {
    Pod(i64),
    NotAPod,
}

impl FromRedisValue for StoredLink {
    fn from_redis_value_ref(value: &Value) -> std::result::Result<Self, ParsingError> {
        let pod = match value {
            Value::BulkString(bytes) => std::str::from_utf8(bytes).ok().and_then(parse_pod_id),
            // Not what MGET answers; read as the string it converts to.
            other => parse_pod_id(&String::from_redis_value_ref(other)?),
        };
        Ok(pod.map_or(StoredLink::NotAPod, StoredLink::Pod))
    }

    fn from_redis_value(value: Value) -> std::result::Result<Self, ParsingError> {
        Self::from_redis_value_ref(&value)
    }
}

/// Pod-state fields that are load records, keyed by pod id.
pub(crate) fn parse_loads(
    fields: impl IntoIterator<Item = (String, String)>,
) -> impl Iterator<Item = (i64, PodLoad)> {
    fields
        .into_iter()
        .filter_map(|(field, value)| Some((parse_pod_id(&field)?, PodLoad::parse(&value)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_records_parse_strictly() {
        assert_eq!(
            PodLoad::parse("12-1700000000000-2"),
            Some(PodLoad {
                load: 12,
                state: 2,
                updated_ms: 1_700_000_000_000
            })
        );
        for bad in [
            "", "1-2", "1-2-3-4", "a-2-3", "-1-2-3", "1--3", "1-2-", "1-2-+3", "online",
        ] {
            assert_eq!(PodLoad::parse(bad), None, "{bad}");
        }
    }
}
