//! Alert rule options as a binding receives them — a Python keyword set, a JS
//! object, C's JSON text — turned into the core's [`AlertOptions`]: the one
//! parser of every front end. The binding converts what the user gave to a JSON
//! value; this checks each option's type (an error names the option as the
//! caller spelled it and the type it needs, never the value, which may be a
//! secret pasted by mistake) and lets `AlertOptions` deserialise the result.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::monitor::AlertOptions;

/// The option names, as a caller may spell them, and the core field each sets.
const OPTIONS: &[(&str, &str)] = &[
    ("threshold", "threshold"),
    ("sustain_ms", "sustain"),
    ("sustainMs", "sustain"),
    ("sustain", "sustain"),
    ("hysteresis", "hysteresis"),
    ("direction", "direction"),
];

/// `{"threshold"?, "sustain_ms"|"sustainMs"|"sustain"? (ms), "hysteresis"?,
/// "direction"? ("above" | "below")}` → the rule; omitted options take the
/// defaults of [`AlertOptions::default`]. `null` options count as omitted.
pub fn alert_options_from_json(value: &Value) -> Result<AlertOptions> {
    let Some(given) = value.as_object() else {
        return Err(Error::invalid_argument("alert options must be an object"));
    };
    let mut options = Map::new();
    for (name, value) in given {
        let Some((_, field)) = OPTIONS.iter().find(|(spelling, _)| spelling == name) else {
            return Err(Error::invalid_argument(format!(
                "unknown alert option {name:?} (threshold, sustain_ms, hysteresis, direction)"
            )));
        };
        if value.is_null() {
            continue;
        }
        let checked = match *field {
            "threshold" | "hysteresis" => value
                .as_f64()
                .filter(|n| n.is_finite())
                .map(Value::from)
                .ok_or_else(|| format!("{name} must be a finite number")),
            "sustain" => value
                .as_f64()
                .filter(|ms| *ms >= 0.0 && ms.fract() == 0.0 && *ms <= u64::MAX as f64)
                .map(|ms| Value::from(ms as u64))
                .ok_or_else(|| format!("{name} must be a whole number of milliseconds >= 0")),
            _ => value
                .as_str()
                .filter(|d| matches!(*d, "above" | "below"))
                .map(Value::from)
                .ok_or_else(|| format!("{name} must be \"above\" or \"below\"")),
        };
        options.insert(field.to_string(), checked.map_err(Error::invalid_argument)?);
    }
    // The types are checked above, so the message of a failure here (which
    // could quote a value) is never shown.
    serde_json::from_value(Value::Object(options))
        .map_err(|_| Error::invalid_argument("invalid alert options"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::monitor::Direction;
    use crate::ErrorCode;

    #[test]
    fn every_spelling_sets_the_rule() {
        let rule = alert_options_from_json(&json!({
            "threshold": 5, "sustainMs": 3000.0, "hysteresis": 0.2, "direction": "below"
        }))
        .unwrap();
        assert_eq!(rule.threshold, 5.0);
        assert_eq!(rule.sustain, Duration::from_secs(3));
        assert_eq!(rule.hysteresis, 0.2);
        assert_eq!(rule.direction, Direction::Below);
        let rule = alert_options_from_json(&json!({"sustain_ms": 10, "direction": null})).unwrap();
        assert_eq!(rule.sustain, Duration::from_millis(10));
        assert_eq!(rule.direction, Direction::Above);
        assert_eq!(rule.hysteresis, AlertOptions::default().hysteresis);
        let rule = alert_options_from_json(&json!({"sustain": 7})).unwrap();
        assert_eq!(rule.sustain, Duration::from_millis(7));
    }

    #[test]
    fn errors_name_the_option_and_type_never_the_value() {
        for (options, expected) in [
            (
                json!({"direction": "s3cret"}),
                "direction must be \"above\" or \"below\"",
            ),
            (json!({"sustainMs": -1}), "sustainMs must be a whole number"),
            (
                json!({"sustain_ms": 1.5}),
                "sustain_ms must be a whole number",
            ),
            (
                json!({"hysteresis": "s3cret"}),
                "hysteresis must be a finite number",
            ),
            (json!({"s3cret": 1}), "unknown alert option \"s3cret\""),
            (json!(["s3cret"]), "alert options must be an object"),
        ] {
            let err = alert_options_from_json(&options).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidArgument);
            assert!(err.message().contains(expected), "{}", err.message());
            if !expected.contains("s3cret") {
                assert!(!err.message().contains("s3cret"), "{}", err.message());
            }
        }
    }
}
