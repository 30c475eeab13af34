//! What a response must look like: expected statuses, `check` steps (status,
//! body text, JSON path equals/exists) and `poll` conditions. A failed check
//! turns its request into a failure whose reason says what differed.

use std::cell::OnceCell;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use serde_json_path::JsonPath;

/// A completed response, as checks and extractions see it.
#[derive(Debug)]
pub struct Exchange {
    /// Response status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body (empty when no check or extract needed it).
    pub body: Bytes,
    json: OnceCell<Option<Value>>,
}

impl Exchange {
    /// Wraps a response.
    pub fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Exchange {
            status,
            headers,
            body,
            json: OnceCell::new(),
        }
    }

    /// The body parsed as JSON, once, or `None` when it is not JSON.
    pub fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_slice(&self.body).ok())
            .as_ref()
    }
}

/// A set of acceptable statuses: `201`, `2xx`, `200-299`, or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet {
    ranges: Vec<(u16, u16)>,
    text: String,
}

impl StatusSet {
    /// Parses the forms a scenario may use.
    pub fn parse(items: &[String]) -> Result<StatusSet, String> {
        let mut ranges = Vec::new();
        for item in items {
            let item = item.trim();
            let bad = || {
                format!("invalid status '{item}': expected a code like 201, a class like 2xx, or a range like 200-299")
            };
            let range =
                if let Some(class) = item.strip_suffix("xx").or_else(|| item.strip_suffix("XX")) {
                    // One digit, 1 to 5: "700xx" must not overflow into a range.
                    let d: u16 = match class {
                        "1" | "2" | "3" | "4" | "5" => class.parse().map_err(|_| bad())?,
                        _ => return Err(bad()),
                    };
                    (d * 100, d * 100 + 99)
                } else if let Some((a, b)) = item.split_once('-') {
                    (
                        a.trim().parse().map_err(|_| bad())?,
                        b.trim().parse().map_err(|_| bad())?,
                    )
                } else {
                    let c: u16 = item.parse().map_err(|_| bad())?;
                    (c, c)
                };
            if !(100..=599).contains(&range.0)
                || !(100..=599).contains(&range.1)
                || range.0 > range.1
            {
                return Err(bad());
            }
            ranges.push(range);
        }
        if ranges.is_empty() {
            return Err("empty status list: expected at least one status".into());
        }
        Ok(StatusSet {
            ranges,
            text: items.join(", "),
        })
    }

    /// Every status below 400: what counts as success when nothing is said
    /// (as in Locust).
    pub fn below_400() -> StatusSet {
        StatusSet {
            ranges: vec![(100, 399)],
            text: "< 400".into(),
        }
    }

    /// True when `status` is acceptable.
    pub fn contains(&self, status: StatusCode) -> bool {
        let s = status.as_u16();
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&s))
    }
}

impl std::fmt::Display for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A JSON path as written (`$.a.b` or `a.b`), compiled once.
#[derive(Debug)]
pub struct JsonPathExpr {
    path: JsonPath,
    source: String,
}

impl JsonPathExpr {
    /// Compiles `source`; a leading `$.` may be left out.
    pub fn parse(source: &str) -> Result<JsonPathExpr, String> {
        let full = if source.starts_with('$') {
            source.to_string()
        } else {
            format!("$.{source}")
        };
        let path =
            JsonPath::parse(&full).map_err(|e| format!("invalid JSON path '{source}': {e}"))?;
        Ok(JsonPathExpr { path, source: full })
    }

    /// The first value the path selects in `doc`.
    pub fn first<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.path.query(doc).first()
    }

    /// The path as written, with its `$`.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// What a JSON path must select.
#[derive(Debug)]
pub enum JsonExpect {
    /// The path selects something (`true`) or nothing (`false`).
    Exists(bool),
    /// The selected value equals this one.
    Equals(Value),
    /// The selected value differs from this one.
    NotEquals(Value),
}

/// One condition on a JSON body.
#[derive(Debug)]
pub struct JsonCheck {
    /// The path.
    pub path: JsonPathExpr,
    /// The condition.
    pub expect: JsonExpect,
}

/// Why a check failed: a cause that stays the same from one response to
/// the next, and the value seen when it varies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// What differed.
    pub cause: String,
    /// The value seen, when the cause leaves it out.
    pub example: Option<String>,
}

/// Conditions a response must meet; all of them.
#[derive(Debug, Default)]
pub struct Check {
    /// Acceptable statuses.
    pub status: Option<StatusSet>,
    /// Texts the body must contain.
    pub body_contains: Vec<String>,
    /// Conditions on the JSON body.
    pub json: Vec<JsonCheck>,
}

impl Check {
    /// True when a check needs the response body.
    pub fn needs_body(&self) -> bool {
        !self.body_contains.is_empty() || !self.json.is_empty()
    }

    /// `Ok` when every condition holds, else the first that does not.
    pub fn evaluate(&self, ex: &Exchange) -> Result<(), CheckFailure> {
        self.first_failure(ex)
            .map_err(|(cause, example)| CheckFailure { cause, example })
    }

    fn first_failure(&self, ex: &Exchange) -> Result<(), (String, Option<String>)> {
        if let Some(s) = &self.status {
            if !s.contains(ex.status) {
                return Err((format!("status {}, expected {s}", ex.status.as_u16()), None));
            }
        }
        for text in &self.body_contains {
            if !contains(&ex.body, text.as_bytes()) {
                return Err((format!("body does not contain '{text}'"), None));
            }
        }
        for check in &self.json {
            let Some(doc) = ex.json() else {
                return Err(("response body is not JSON".into(), None));
            };
            let found = check.path.first(doc);
            let path = check.path.source();
            match (&check.expect, found) {
                (JsonExpect::Exists(true), None) => {
                    return Err((format!("{path} not found"), None))
                }
                (JsonExpect::Exists(false), Some(_)) => {
                    return Err((format!("{path} exists, expected absent"), None))
                }
                (JsonExpect::Equals(want), None) => {
                    return Err((format!("{path} not found, expected {want}"), None))
                }
                (JsonExpect::Equals(want), Some(got)) if !loosely_equal(got, want) => {
                    // The value seen varies (ids, timestamps): an example, not
                    // part of the cause, so failures group.
                    return Err((format!("{path} is not {want}"), Some(shorten(got))));
                }
                (JsonExpect::NotEquals(bad), Some(got)) if loosely_equal(got, bad) => {
                    return Err((format!("{path} is {bad}, expected anything else"), None));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// JSON equality that forgives `5` vs `5.0` and `"5"` vs `5`, since YAML
/// and JSON disagree about what a scalar is.
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), other) | (other, Value::String(s)) if !other.is_string() => {
            s == &other.to_string()
        }
        _ => a == b,
    }
}

/// A value for a failure message, cut so messages stay groupable.
fn shorten(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(37).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: u16, body: &str) -> Exchange {
        Exchange::new(
            StatusCode::from_u16(status).expect("valid"),
            HeaderMap::new(),
            Bytes::from(body.to_string()),
        )
    }

    /// The failure as one string: `cause [seen example]`.
    fn why(r: Result<(), CheckFailure>) -> Result<(), String> {
        r.map_err(|f| match f.example {
            Some(e) => format!("{} [seen {e}]", f.cause),
            None => f.cause,
        })
    }

    fn set(items: &[&str]) -> StatusSet {
        StatusSet::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("valid")
    }

    #[test]
    fn status_sets() {
        let s = set(&["201", "3xx", "400-404"]);
        for ok in [201, 302, 404] {
            assert!(s.contains(StatusCode::from_u16(ok).expect("valid")));
        }
        for bad in [200, 405, 500] {
            assert!(!s.contains(StatusCode::from_u16(bad).expect("valid")));
        }
        assert!(StatusSet::below_400().contains(StatusCode::FOUND));
        assert!(!StatusSet::below_400().contains(StatusCode::NOT_FOUND));
        for bad in [
            "abc", "99", "600", "300-200", "7xx", "700xx", "657xx", "0xx",
        ] {
            let e = StatusSet::parse(&[bad.to_string()]).expect_err(bad);
            assert!(e.contains("expected a code like 201"), "{e}");
        }
    }

    #[test]
    fn checks_say_what_differed() {
        let check = Check {
            status: Some(set(&["200"])),
            body_contains: vec!["done".into()],
            json: vec![JsonCheck {
                path: JsonPathExpr::parse("status").expect("valid"),
                expect: JsonExpect::Equals(Value::from("done")),
            }],
        };
        assert_eq!(
            why(check.evaluate(&exchange(500, ""))),
            Err("status 500, expected 200".into())
        );
        assert_eq!(
            why(check.evaluate(&exchange(200, r#"{"status":"new"}"#))),
            Err("body does not contain 'done'".into())
        );
        assert_eq!(
            why(check.evaluate(&exchange(200, r#"{"status":"new","x":"done"}"#))),
            Err(r#"$.status is not "done" [seen "new"]"#.into())
        );
        assert_eq!(
            why(check.evaluate(&exchange(200, r#"{"status":"done"}"#))),
            Ok(())
        );
        assert_eq!(
            why(check.evaluate(&exchange(200, "done, not json"))),
            Err("response body is not JSON".into())
        );
    }

    #[test]
    fn exists_and_loose_equality() {
        let check = Check {
            json: vec![
                JsonCheck {
                    path: JsonPathExpr::parse("$.id").expect("valid"),
                    expect: JsonExpect::Exists(true),
                },
                JsonCheck {
                    path: JsonPathExpr::parse("$.n").expect("valid"),
                    expect: JsonExpect::Equals(Value::from(5)),
                },
                JsonCheck {
                    path: JsonPathExpr::parse("$.err").expect("valid"),
                    expect: JsonExpect::Exists(false),
                },
            ],
            ..Check::default()
        };
        assert_eq!(
            why(check.evaluate(&exchange(200, r#"{"id":1,"n":5.0}"#))),
            Ok(())
        );
        assert_eq!(
            why(check.evaluate(&exchange(200, r#"{"id":1,"n":"5"}"#))),
            Ok(())
        );
        assert_eq!(
            why(check.evaluate(&exchange(200, r#"{"n":5}"#))),
            Err("$.id not found".into())
        );
        assert_eq!(
            why(check.evaluate(&exchange(200, r#"{"id":1,"n":5,"err":"x"}"#))),
            Err("$.err exists, expected absent".into())
        );
        assert!(JsonPathExpr::parse("$[").is_err());
    }
}
