//! `extract` steps: take a value out of the previous response (JSON path,
//! regex, header) and store it in a variable for later templates.

use http::HeaderName;
use minijinja::value::{Serde, Value};
use regex::Regex;

use super::check::{Exchange, JsonPathExpr};

/// Where an extracted value comes from.
#[derive(Debug)]
pub enum Source {
    /// The first value a JSON path selects in the body.
    Json(JsonPathExpr),
    /// A regex capture group over the body (group 0 is the whole match).
    Regex(Regex, usize),
    /// A response header.
    Header(HeaderName),
}

/// One variable to extract.
#[derive(Debug)]
pub struct Extract {
    /// The variable's name.
    pub var: String,
    /// Where its value comes from.
    pub source: Source,
}

impl Extract {
    /// True when the extraction needs the response body.
    pub fn needs_body(&self) -> bool {
        !matches!(self.source, Source::Header(_))
    }

    /// The value, or why there is none.
    pub fn apply(&self, ex: &Exchange) -> Result<Value, String> {
        let missing = |what: &str| format!("extract {}: {what}", self.var);
        match &self.source {
            Source::Json(path) => {
                let doc = ex
                    .json()
                    .ok_or_else(|| missing("response body is not JSON"))?;
                match path.first(doc) {
                    Some(serde_json::Value::String(s)) => Ok(Value::from(s.as_str())),
                    Some(other) => Ok(Value::from(Serde(other))),
                    None => Err(missing(&format!("{} not found", path.source()))),
                }
            }
            Source::Regex(re, group) => {
                let text = String::from_utf8_lossy(&ex.body);
                re.captures(&text)
                    .and_then(|c| c.get(*group))
                    .map(|m| Value::from(m.as_str()))
                    .ok_or_else(|| missing(&format!("no match for /{}/", re.as_str())))
            }
            Source::Header(name) => ex
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(Value::from)
                .ok_or_else(|| missing(&format!("no header {name}"))),
        }
    }
}

/// The capture group a regex extraction uses when none is named: the first
/// group if there is one, else the whole match.
pub fn default_group(re: &Regex) -> usize {
    usize::from(re.captures_len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue, StatusCode};

    fn exchange(body: &str) -> Exchange {
        let mut headers = HeaderMap::new();
        headers.insert("location", HeaderValue::from_static("/jobs/42"));
        Exchange::new(StatusCode::OK, headers, Bytes::from(body.to_string()))
    }

    #[test]
    fn json_regex_and_header() {
        let ex = exchange(r#"{"id":"abc","n":3,"tags":["x"]}"#);
        let json = |p: &str| Extract {
            var: "v".into(),
            source: Source::Json(JsonPathExpr::parse(p).expect("valid")),
        };
        assert_eq!(json("$.id").apply(&ex), Ok(Value::from("abc")));
        assert_eq!(json("n").apply(&ex).map(|v| v.to_string()), Ok("3".into()));
        assert_eq!(json("$.tags[0]").apply(&ex), Ok(Value::from("x")));
        assert_eq!(
            json("$.nope").apply(&ex),
            Err("extract v: $.nope not found".into())
        );

        let re = Regex::new(r#""id":"(\w+)""#).expect("valid");
        let group = default_group(&re);
        let r = Extract {
            var: "id".into(),
            source: Source::Regex(re, group),
        };
        assert_eq!(r.apply(&ex), Ok(Value::from("abc")));

        let h = Extract {
            var: "loc".into(),
            source: Source::Header(HeaderName::from_static("location")),
        };
        assert_eq!(h.apply(&ex), Ok(Value::from("/jobs/42")));
        assert!(!h.needs_body());
    }

    #[test]
    fn non_json_body_is_a_clear_failure() {
        let e = Extract {
            var: "id".into(),
            source: Source::Json(JsonPathExpr::parse("$.id").expect("valid")),
        };
        assert_eq!(
            e.apply(&exchange("<html>")),
            Err("extract id: response body is not JSON".into())
        );
    }
}
