//! Load shapes in the `load:` section: `users:` or `rate:` given as a
//! number, or as one of `sine`, `square`, `spike` and `custom`:
//!
//! ```yaml
//! load:
//!   rate: { sine: { min: 10, max: 200, period: 5m } }
//!   run_time: 5m
//! ```
//!
//! The raw forms are read here with a location for every error; the
//! validated [`ShapeSpec`] is what a suite scales and what the engine turns
//! into a [`Shape`](crate::engine::Shape).

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, value::MapAccessDeserializer, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::values::{CountValue, DurationValue, RateValue};
use crate::units;

/// A target that changes over time, in users or arrivals per second.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeSpec {
    /// Starts at `min`, peaks at `max` half a period later, back at `min`
    /// after a full period: `min + (max − min)·(1 − cos 2πt/P)/2`.
    Sine {
        /// Lowest value.
        min: f64,
        /// Highest value.
        max: f64,
        /// Length of one full wave.
        period: Duration,
    },
    /// `high` for `high_for`, then `low` for `low_for`, repeated.
    Square {
        /// The high level.
        high: f64,
        /// The low level.
        low: f64,
        /// Time at the high level in each cycle.
        high_for: Duration,
        /// Time at the low level in each cycle.
        low_for: Duration,
    },
    /// `base`, except `peak` from `at` for `length`.
    Spike {
        /// The level outside the spike.
        base: f64,
        /// The level during the spike.
        peak: f64,
        /// When the spike starts.
        at: Duration,
        /// How long it lasts.
        length: Duration,
    },
    /// Straight lines between (time, value) points; the first value holds
    /// before the first point, and the shape ends at the last point.
    Custom(Vec<(Duration, f64)>),
}

impl ShapeSpec {
    /// The same shape with every time multiplied by `factor` (a suite's
    /// `--scale`); values are unchanged. Times never drop below `floor`
    /// unless they were zero.
    pub fn scaled(&self, factor: f64, floor: Duration) -> ShapeSpec {
        let s = |d: Duration| scale_duration(d, factor, floor);
        match self.clone() {
            ShapeSpec::Sine { min, max, period } => ShapeSpec::Sine {
                min,
                max,
                period: s(period),
            },
            ShapeSpec::Square {
                high,
                low,
                high_for,
                low_for,
            } => ShapeSpec::Square {
                high,
                low,
                high_for: s(high_for),
                low_for: s(low_for),
            },
            ShapeSpec::Spike {
                base,
                peak,
                at,
                length,
            } => ShapeSpec::Spike {
                base,
                peak,
                at: s(at),
                length: s(length),
            },
            ShapeSpec::Custom(points) => {
                ShapeSpec::Custom(points.into_iter().map(|(t, v)| (s(t), v)).collect())
            }
        }
    }

    /// Every value the shape takes at its corners (for checks such as
    /// "users are whole and not negative").
    pub fn levels(&self) -> Vec<f64> {
        match self {
            ShapeSpec::Sine { min, max, .. } => vec![*min, *max],
            ShapeSpec::Square { high, low, .. } => vec![*high, *low],
            ShapeSpec::Spike { base, peak, .. } => vec![*base, *peak],
            ShapeSpec::Custom(points) => points.iter().map(|p| p.1).collect(),
        }
    }

    /// The highest value the shape reaches.
    pub fn peak(&self) -> f64 {
        self.levels().into_iter().fold(0.0, f64::max)
    }

    /// When the shape ends by itself (only `custom` does).
    pub fn duration(&self) -> Option<Duration> {
        match self {
            ShapeSpec::Custom(points) => points.last().map(|p| p.0),
            _ => None,
        }
    }

    /// Checks what serde cannot: ordering of points, lengths above zero,
    /// values not negative. Returns what is wrong, in words.
    pub fn check(&self) -> Result<(), String> {
        if let Some(v) = self
            .levels()
            .into_iter()
            .find(|v| !v.is_finite() || *v < 0.0)
        {
            return Err(format!("shape values must not be negative, got {v}"));
        }
        match self {
            ShapeSpec::Sine { min, max, period } => {
                if min > max {
                    return Err(format!("sine: min ({min}) is above max ({max})"));
                }
                if period.is_zero() {
                    return Err("sine: period must be above 0".into());
                }
            }
            ShapeSpec::Square {
                high_for, low_for, ..
            } if (*high_for + *low_for).is_zero() => {
                return Err("square: high_for and low_for cannot both be 0".into());
            }
            ShapeSpec::Custom(points) => {
                if points.is_empty() {
                    return Err("custom: give at least one point".into());
                }
                if points.windows(2).any(|w| w[1].0 < w[0].0) {
                    return Err("custom: points must be in time order".into());
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `d · factor`, at least `floor` (unless `d` is zero).
pub fn scale_duration(d: Duration, factor: f64, floor: Duration) -> Duration {
    if d.is_zero() {
        return d;
    }
    d.mul_f64(factor.max(0.0)).max(floor.min(d))
}

/// `users:` or `rate:` — a plain number, or a shape.
#[derive(Clone, Debug, PartialEq)]
pub enum Level<T> {
    /// The same value for the whole run.
    Fixed(T),
    /// A value that changes over time.
    Shaped(ShapeSpec),
}

/// The scalar forms a [`Level`] takes (a count of users, or a rate).
pub trait Scalar: Sized {
    /// What the scalar looks like, for messages.
    const EXPECTING: &'static str;
    /// Reads the scalar.
    fn parse(text: &str) -> Result<Self, units::UnitError>;
}

impl Scalar for CountValue {
    const EXPECTING: &'static str =
        "a number of users (50, 10k) or a shape {sine|square|spike|custom: …}";
    fn parse(text: &str) -> Result<Self, units::UnitError> {
        units::parse_count(text).map(CountValue)
    }
}

impl Scalar for RateValue {
    const EXPECTING: &'static str =
        "a rate (200/s, 6000/m) or a shape {sine|square|spike|custom: …}";
    fn parse(text: &str) -> Result<Self, units::UnitError> {
        units::parse_rate(text).map(RateValue)
    }
}

impl<'de, T: Scalar> Deserialize<'de> for Level<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Hand-written rather than `untagged`, which would lose the
        /// location and the message of whatever went wrong inside a shape.
        struct V<T>(PhantomData<T>);
        impl<'de, T: Scalar> Visitor<'de> for V<T> {
            type Value = Level<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Level<T>, E> {
                T::parse(s).map(Level::Fixed).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Level<T>, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Level<T>, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Level<T>, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Level<T>, A::Error> {
                let raw = RawShape::deserialize(MapAccessDeserializer::new(map))?;
                let spec = raw.into_spec();
                spec.check().map_err(de::Error::custom)?;
                Ok(Level::Shaped(spec))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A shape as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum RawShape {
    /// `sine: {min, max, period}`.
    Sine {
        /// Lowest value.
        min: RateValue,
        /// Highest value.
        max: RateValue,
        /// One full wave.
        period: DurationValue,
    },
    /// `square: {high, low, high_for, low_for}`.
    Square {
        /// High level.
        high: RateValue,
        /// Low level.
        low: RateValue,
        /// Time high.
        high_for: DurationValue,
        /// Time low.
        low_for: DurationValue,
    },
    /// `spike: {base, peak, at, for}`.
    Spike {
        /// Level outside the spike.
        base: RateValue,
        /// Level in the spike.
        peak: RateValue,
        /// Start of the spike.
        at: DurationValue,
        /// Length of the spike.
        #[serde(rename = "for")]
        length: DurationValue,
    },
    /// `custom: [{at: 0s, value: 10}, …]`.
    Custom(Vec<RawPoint>),
}

/// One point of a `custom` shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    /// Time since the start.
    at: DurationValue,
    /// Users or rate at that time.
    value: RateValue,
}

impl RawShape {
    /// The validated form (times and values unwrapped).
    fn into_spec(self) -> ShapeSpec {
        match self {
            RawShape::Sine { min, max, period } => ShapeSpec::Sine {
                min: min.0,
                max: max.0,
                period: period.0,
            },
            RawShape::Square {
                high,
                low,
                high_for,
                low_for,
            } => ShapeSpec::Square {
                high: high.0,
                low: low.0,
                high_for: high_for.0,
                low_for: low_for.0,
            },
            RawShape::Spike {
                base,
                peak,
                at,
                length,
            } => ShapeSpec::Spike {
                base: base.0,
                peak: peak.0,
                at: at.0,
                length: length.0,
            },
            RawShape::Custom(points) => {
                ShapeSpec::Custom(points.into_iter().map(|p| (p.at.0, p.value.0)).collect())
            }
        }
    }
}

#[cfg(test)]
#[path = "shape_tests.rs"]
mod tests;
