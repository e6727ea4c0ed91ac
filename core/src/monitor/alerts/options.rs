//! A rule's options: threshold, direction, sustain duration, hysteresis band.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which side of the threshold is bad.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Alert when the value rises above the threshold.
    #[default]
    Above,
    /// Alert when the value falls below the threshold.
    Below,
}

/// A rule's options.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertOptions {
    pub threshold: f64,
    /// How long the value must stay past the threshold before the alert fires.
    #[serde(with = "millis")]
    pub sustain: Duration,
    /// Relative width of the band the value must leave to resolve (0.1 = 10%).
    pub hysteresis: f64,
    pub direction: Direction,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            threshold: 0.0,
            sustain: Duration::ZERO,
            hysteresis: 0.1,
            direction: Direction::Above,
        }
    }
}

impl AlertOptions {
    /// Fires as soon as the value is above `threshold`; 10% hysteresis.
    pub fn above(threshold: f64) -> AlertOptions {
        AlertOptions {
            threshold,
            ..AlertOptions::default()
        }
    }

    pub fn sustain(mut self, sustain: Duration) -> AlertOptions {
        self.sustain = sustain;
        self
    }

    pub fn hysteresis(mut self, hysteresis: f64) -> AlertOptions {
        self.hysteresis = hysteresis;
        self
    }

    pub fn direction(mut self, direction: Direction) -> AlertOptions {
        self.direction = direction;
        self
    }

    pub(super) fn breached(&self, v: f64) -> bool {
        match self.direction {
            Direction::Above => v > self.threshold,
            Direction::Below => v < self.threshold,
        }
    }

    pub(super) fn cleared(&self, v: f64) -> bool {
        match self.direction {
            Direction::Above => v <= self.threshold * (1.0 - self.hysteresis),
            Direction::Below => v >= self.threshold * (1.0 + self.hysteresis),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
