//! Scalar forms of the scenario format that YAML has no type for —
//! durations, rates, counts, waits, statuses — each with a deserializer that
//! fails on the exact node with a message saying what was expected.
//!
//! Hand-written visitors rather than `#[serde(untagged)]` enums: untagged
//! enums lose the location and replace every message with "did not match
//! any variant".

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, value::MapAccessDeserializer, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::units;

/// Reads a scalar written as text or as a YAML number (`30s`, `200/s`,
/// `10k`, `50`) through one of the `units` parsers, so every quantity takes
/// the same forms and fails with the same kind of message.
struct UnitVisitor<T> {
    parse: fn(&str) -> Result<T, units::UnitError>,
    expecting: &'static str,
}

impl<T> Visitor<'_> for UnitVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        (self.parse)(s).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<T, E> {
        self.visit_str(&n.to_string())
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<T, E> {
        self.visit_str(&n.to_string())
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<T, E> {
        self.visit_str(&n.to_string())
    }
}

/// A duration written as `500ms`, `2s`, `1m30s` (or `0`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DurationValue(pub Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            parse: units::parse_duration,
            expecting: "a duration such as 500ms, 2s or 1m30s",
        })
        .map(DurationValue)
    }
}

/// A rate in events per second, written `200`, `200/s`, `6000/m`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateValue(pub f64);

impl<'de> Deserialize<'de> for RateValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            parse: units::parse_rate,
            expecting: "a rate such as 200/s or 6000/m",
        })
        .map(RateValue)
    }
}

/// A count written `50`, `10k`, `1.5m`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CountValue(pub u64);

impl<'de> Deserialize<'de> for CountValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            parse: units::parse_count,
            expecting: "a whole number such as 50 or 10k",
        })
        .map(CountValue)
    }
}

/// A wait between tasks or a `sleep`: `1s` (constant),
/// `{between: [1s, 3s]}`, `{pacing: 1s}` or `{constant: 1s}`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WaitValue {
    /// Always the same pause.
    Constant(Duration),
    /// A uniformly random pause in the range.
    Between(Duration, Duration),
    /// Start an iteration every interval, whatever the task took.
    Pacing(Duration),
}

impl<'de> Deserialize<'de> for WaitValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WaitValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration (2s), {between: [1s, 3s]}, {pacing: 1s} or {constant: 1s}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<WaitValue, E> {
                units::parse_duration(s)
                    .map(WaitValue::Constant)
                    .map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<WaitValue, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WaitValue, A::Error> {
                let key: String = map.next_key()?.ok_or_else(|| {
                    de::Error::custom("empty wait: expected between, pacing or constant")
                })?;
                let value = match key.as_str() {
                    "between" => {
                        let bounds: Vec<DurationValue> = map.next_value()?;
                        match bounds.as_slice() {
                            [a, b] if a.0 <= b.0 => WaitValue::Between(a.0, b.0),
                            [_, _] => {
                                return Err(de::Error::custom(
                                    "between: the first duration must not exceed the second",
                                ))
                            }
                            _ => {
                                return Err(de::Error::custom(
                                    "between: expected two durations, e.g. [1s, 3s]",
                                ))
                            }
                        }
                    }
                    "pacing" => WaitValue::Pacing(map.next_value::<DurationValue>()?.0),
                    "constant" => WaitValue::Constant(map.next_value::<DurationValue>()?.0),
                    other => {
                        return Err(de::Error::unknown_field(
                            other,
                            &["between", "pacing", "constant"],
                        ))
                    }
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "unexpected '{extra}': a wait has exactly one of between, pacing, constant"
                    )));
                }
                Ok(value)
            }
        }
        d.deserialize_any(V)
    }
}

/// Expected statuses: `201`, `"2xx"`, `"200-299"` or a list of those.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusValue(pub Vec<String>);

impl<'de> Deserialize<'de> for StatusValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StatusValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a status (201), a class (2xx), a range (200-299) or a list of them")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StatusValue, E> {
                Ok(StatusValue(vec![s.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<StatusValue, E> {
                Ok(StatusValue(vec![n.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusValue, A::Error> {
                let mut out = Vec::new();
                while let Some(StatusValue(mut one)) = seq.next_element::<StatusValue>()? {
                    out.append(&mut one);
                }
                Ok(StatusValue(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One item or a list of items (`body_contains: done` or `[a, b]`).
#[derive(Clone, Debug, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("one item or a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                Ok(OneOrMany(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OneOrMany<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| OneOrMany(vec![t]))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<OneOrMany<T>, E> {
                T::deserialize(de::value::StrDeserializer::<E>::new(s)).map(|t| OneOrMany(vec![t]))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<OneOrMany<T>, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<OneOrMany<T>, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<OneOrMany<T>, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<OneOrMany<T>, E> {
                self.visit_str(&b.to_string())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A `thresholds:` entry: `"p95<100ms"`, or `{NAME: "p99<200ms"}` /
/// `{NAME: [..]}` for one row.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdEntry(pub Vec<(Option<String>, String)>);

impl<'de> Deserialize<'de> for ThresholdEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ThresholdEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a threshold such as \"p95<100ms\", or {\"NAME\": \"p99<200ms\"}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ThresholdEntry, E> {
                Ok(ThresholdEntry(vec![(None, s.to_string())]))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ThresholdEntry, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    let OneOrMany(exprs) = map.next_value::<OneOrMany<String>>()?;
                    out.extend(exprs.into_iter().map(|e| (Some(name.clone()), e)));
                }
                Ok(ThresholdEntry(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        d: Option<DurationValue>,
        w: Option<WaitValue>,
        s: Option<StatusValue>,
        r: Option<RateValue>,
        c: Option<CountValue>,
        m: Option<OneOrMany<String>>,
        t: Option<Vec<ThresholdEntry>>,
    }

    fn parse(y: &str) -> Result<Doc, String> {
        serde_saphyr::from_str::<Doc>(y).map_err(|e| e.without_snippet().to_string())
    }

    #[test]
    fn accepted_forms() {
        let doc = parse(
            "d: 1m30s\nw: {between: [1s, 3s]}\ns: [200, 2xx]\nr: 6000/m\nc: 10k\nm: done\nt: [p95<1s, {POST /jobs: [p99<2s, errors<1%]}]\n",
        )
        .expect("valid");
        assert_eq!(doc.d, Some(DurationValue(Duration::from_secs(90))));
        assert_eq!(
            doc.w,
            Some(WaitValue::Between(
                Duration::from_secs(1),
                Duration::from_secs(3)
            ))
        );
        assert_eq!(doc.s, Some(StatusValue(vec!["200".into(), "2xx".into()])));
        assert_eq!(doc.r, Some(RateValue(100.0)));
        assert_eq!(doc.c, Some(CountValue(10_000)));
        assert_eq!(doc.m, Some(OneOrMany(vec!["done".into()])));
        let t = doc.t.expect("thresholds");
        assert_eq!(t[0].0, vec![(None, "p95<1s".into())]);
        assert_eq!(t[1].0.len(), 2);
        assert_eq!(t[1].0[1], (Some("POST /jobs".into()), "errors<1%".into()));
        let doc = parse("w: 2s\ns: 201\n").expect("valid");
        assert_eq!(doc.w, Some(WaitValue::Constant(Duration::from_secs(2))));
        assert_eq!(doc.s, Some(StatusValue(vec!["201".into()])));
        assert_eq!(
            parse("w: {pacing: 1s}\n").expect("valid").w,
            Some(WaitValue::Pacing(Duration::from_secs(1)))
        );
    }

    #[test]
    fn errors_point_at_the_node_and_say_what_was_expected() {
        let e = parse("d: 5x\n").expect_err("bad duration");
        assert!(
            e.contains("invalid duration '5x'") && e.contains("line 1, column 4"),
            "{e}"
        );
        let e = parse("w: {betwen: [1s, 2s]}\n").expect_err("unknown key");
        assert!(e.contains("betwen") && e.contains("between"), "{e}");
        let e = parse("w: {between: [3s, 1s]}\n").expect_err("reversed");
        assert!(e.contains("must not exceed"), "{e}");
        let e = parse("c: lots\n").expect_err("bad count");
        assert!(e.contains("invalid count 'lots'"), "{e}");
        let e = parse("d: 5\n").expect_err("no unit");
        assert!(e.contains("expected a number with a unit"), "{e}");
    }
}
