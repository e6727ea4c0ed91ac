//! What a rule watches: the metric names of the grammar (see [`super`]), parsed.

use crate::error::{Error, Result};
use crate::monitor::names;

/// A statistic of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpStat {
    P50,
    P90,
    P99,
    P999,
    Mean,
    Max,
    ErrorRate,
    Qps,
    Errors,
}

/// What a rule watches (the parsed metric name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricSelector {
    /// An operation's statistic; `None` = every operation (`*`).
    Operation(Option<String>, OpStat),
    PoolInFlight,
    PoolInUse,
    PoolWaitP99,
    PoolReconnects,
    ScriptReloads,
}

/// Parses a metric name of the grammar (see [`super`]).
pub fn parse_metric(metric: &str) -> Result<MetricSelector> {
    let bad = || {
        Error::invalid_argument(format!(
            "unknown alert metric {metric:?}: expected <operation>.<p50_ms|p90_ms|p99_ms|p999_ms|\
             mean_ms|max_ms|error_rate|qps|errors> (operation may be *), pool.<in_flight|in_use|\
             wait_ms_p99|reconnects> or scripts.noscript_reloads"
        ))
    };
    let (head, stat) = metric.rsplit_once('.').ok_or_else(bad)?;
    match head {
        "pool" => {
            return match stat {
                "in_flight" => Ok(MetricSelector::PoolInFlight),
                "in_use" => Ok(MetricSelector::PoolInUse),
                "wait_ms_p99" => Ok(MetricSelector::PoolWaitP99),
                "reconnects" => Ok(MetricSelector::PoolReconnects),
                _ => Err(bad()),
            }
        }
        "scripts" => {
            return match stat {
                "noscript_reloads" => Ok(MetricSelector::ScriptReloads),
                _ => Err(bad()),
            }
        }
        _ => {}
    }
    let stat = match stat {
        "p50_ms" => OpStat::P50,
        "p90_ms" => OpStat::P90,
        "p99_ms" => OpStat::P99,
        "p999_ms" => OpStat::P999,
        "mean_ms" => OpStat::Mean,
        "max_ms" => OpStat::Max,
        "error_rate" => OpStat::ErrorRate,
        "qps" => OpStat::Qps,
        "errors" => OpStat::Errors,
        _ => return Err(bad()),
    };
    if head == "*" {
        Ok(MetricSelector::Operation(None, stat))
    } else if names::valid_name(head) {
        Ok(MetricSelector::Operation(Some(head.to_string()), stat))
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(
            parse_metric("set_linked_pod.p99_ms").unwrap(),
            MetricSelector::Operation(Some("set_linked_pod".into()), OpStat::P99)
        );
        assert_eq!(
            parse_metric("*.error_rate").unwrap(),
            MetricSelector::Operation(None, OpStat::ErrorRate)
        );
        assert_eq!(
            parse_metric("pool.wait_ms_p99").unwrap(),
            MetricSelector::PoolWaitP99
        );
        assert_eq!(
            parse_metric("pool.in_flight").unwrap(),
            MetricSelector::PoolInFlight
        );
        for bad in [
            "",
            "p99_ms",
            "x.p98_ms",
            "pool.nope",
            "a b.qps",
            "scripts.x",
        ] {
            assert!(parse_metric(bad).is_err(), "{bad}");
        }
    }
}
