//! Value parsers of the numeric flags. A value out of range is a usage error
//! (clap's message, exit code 2) before anything starts, never a panic later
//! (`Duration::from_secs_f64` panics on infinite or huge values) nor a silent
//! correction. The ranges are wide: they only keep out what cannot work.

use clap::builder::RangedU64ValueParser;

/// The longest `--duration-s`/`--warmup-s`: 365 days, also what "no time
/// limit" means.
pub const MAX_SECONDS: f64 = 365.0 * 86_400.0;

/// Seconds: a finite number from 0 to [`MAX_SECONDS`].
pub fn seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    // `contains` is false for NaN.
    if !(0.0..=MAX_SECONDS).contains(&v) {
        return Err(format!(
            "expected seconds from 0 to {MAX_SECONDS} (365 days)"
        ));
    }
    Ok(v)
}

/// A share: a finite number from 0 to 1.
pub fn ratio(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if !(0.0..=1.0).contains(&v) {
        return Err("expected a number from 0 to 1".into());
    }
    Ok(v)
}

/// A count from `min` to `max`.
pub fn count(min: u64, max: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::<usize>::new().range(min..=max)
}

/// A const label of the metrics, `KEY=VALUE` (the core checks the name and the
/// value when it builds the configuration). The value may contain `=`.
pub fn label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}
