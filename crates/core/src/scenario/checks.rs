//! `check` and `extract` as the scenario gives them, turned into the
//! checks and extractions that read a response (or an MQTT message).

use regex::Regex;
use serde_saphyr::Spanned;

use super::build::Ctx;
use super::error::Loc;
use super::raw::{RawCheck, RawExtract};
use crate::protocols::http::{
    default_group, Check, Extract, JsonCheck, JsonExpect, JsonPathExpr, Source, StatusSet,
};

/// Builds a check, recording problems in `cx`.
pub fn check(cx: &mut Ctx, c: &RawCheck) -> Check {
    let status = c
        .status
        .as_ref()
        .and_then(|s| match StatusSet::parse(&s.value.0) {
            Ok(set) => Some(set),
            Err(e) => {
                cx.problem(Loc::of(s), e);
                None
            }
        });
    let mut json = Vec::new();
    let (loc, checks) = match &c.json {
        Some(j) => (Loc::of(j), j.value.0.as_slice()),
        None => (Loc { line: 1, column: 1 }, &[][..]),
    };
    for j in checks {
        let path = match JsonPathExpr::parse(&j.path) {
            Ok(p) => p,
            Err(e) => {
                cx.problem(loc, e);
                continue;
            }
        };
        let expect = match (&j.equals, &j.not_equals, j.exists) {
            (Some(v), None, None) => JsonExpect::Equals(v.clone()),
            (None, Some(v), None) => JsonExpect::NotEquals(v.clone()),
            (None, None, Some(e)) => JsonExpect::Exists(e),
            _ => {
                cx.problem(
                    loc,
                    "a json check needs exactly one of `equals`, `not_equals` or `exists`",
                );
                continue;
            }
        };
        json.push(JsonCheck { path, expect });
    }
    Check {
        status,
        body_contains: c.body_contains.0.clone(),
        json,
    }
}

/// Builds the extraction of `var`, or `None` with a problem recorded.
pub fn extract(cx: &mut Ctx, var: &str, spec: &Spanned<RawExtract>) -> Option<Extract> {
    let loc = Loc::of(spec);
    let s = &spec.value;
    let source = match (&s.json, &s.regex, &s.header) {
        (Some(path), None, None) => Source::Json(
            JsonPathExpr::parse(path)
                .map_err(|e| cx.problem(loc, e))
                .ok()?,
        ),
        (None, Some(re), None) => {
            let re = Regex::new(re)
                .map_err(|e| cx.problem(loc, format!("invalid regex for {var}: {e}")))
                .ok()?;
            let group = s.group.unwrap_or_else(|| default_group(&re));
            if group >= re.captures_len() {
                cx.problem(loc, format!("regex for {var} has no group {group}"));
                return None;
            }
            Source::Regex(re, group)
        }
        (None, None, Some(h)) => match http::HeaderName::from_bytes(h.as_bytes()) {
            Ok(name) => Source::Header(name),
            Err(_) => {
                cx.problem(loc, format!("invalid header name '{h}'"));
                return None;
            }
        },
        _ => {
            cx.problem(
                loc,
                format!("extract {var}: expected exactly one of `json`, `regex` or `header`"),
            );
            return None;
        }
    };
    if s.group.is_some() && s.regex.is_none() {
        cx.problem(loc, "`group` only applies to `regex`");
    }
    Some(Extract {
        var: var.to_string(),
        source,
    })
}
