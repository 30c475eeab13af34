//! The `monitor:` section — what to watch besides the load — as written,
//! and its validation into a [`MonitorSpec`]: the broker's `$SYS` topics,
//! processes, HTTP JSON gauges and SQL gauges, sampled every `every`.
//!
//! ```yaml
//! monitor:
//!   mqtt_sys: true
//!   process: target                  # or {pid: 1234}, {name: postgres}, 1234
//!   processes: [{name: postgres, label: db}]
//!   http:
//!     - {name: depth, url: /queues/q1/stats, json: $.depth}   # relative: against host
//!   sql:
//!     - {name: pg_connections, url: "postgres://postgres@127.0.0.1:5432/test",
//!        query: "select count(*) from pg_stat_activity"}
//!   every: 1s
//! ```

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, value::MapAccessDeserializer, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::error::{Loc, Problem};
use super::values::DurationValue;
use crate::monitor::{
    json_path, HttpGauge, MonitorSpec, ProcessRef, ProcessSpec, SqlGauge, DEFAULT_EVERY, MIN_EVERY,
};
use crate::protocols::http::Origin;

/// `monitor:` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonitor {
    /// Subscribe to `$SYS/#` on the broker under test.
    #[serde(default)]
    pub mqtt_sys: bool,
    /// One process to sample.
    pub process: Option<Spanned<ProcessValue>>,
    /// More processes to sample.
    #[serde(default)]
    pub processes: Vec<Spanned<ProcessValue>>,
    /// HTTP JSON gauges.
    #[serde(default)]
    pub http: Vec<Spanned<RawHttpGauge>>,
    /// SQL gauges.
    #[serde(default)]
    pub sql: Vec<Spanned<RawSqlGauge>>,
    /// Time between samples (default 1s).
    pub every: Option<Spanned<DurationValue>>,
}

/// A process as written: `target`, a pid, or `{pid | name | target, label}`.
#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProcess {
    /// A process id.
    pub pid: Option<u64>,
    /// A process name (`/proc/PID/comm` or its program's file name).
    pub name: Option<String>,
    /// The process the suite started.
    #[serde(default)]
    pub target: bool,
    /// Label of its series.
    pub label: Option<String>,
}

/// `target`, `1234` or a map: a hand-written visitor, because an untagged
/// enum would lose the location and say only "did not match any variant".
#[derive(Debug, PartialEq, Eq)]
pub struct ProcessValue(pub RawProcess);

impl<'de> Deserialize<'de> for ProcessValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProcessValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`target`, a pid, {pid: 1234}, {name: postgres} or {target: true}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ProcessValue, E> {
                match s {
                    "target" => Ok(ProcessValue(RawProcess {
                        target: true,
                        ..RawProcess::default()
                    })),
                    other => Err(E::custom(format!(
                        "unexpected '{other}': expected `target`, a pid, {{pid: 1234}} or {{name: {other}}}"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ProcessValue, E> {
                Ok(ProcessValue(RawProcess {
                    pid: Some(n),
                    ..RawProcess::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProcessValue, A::Error> {
                RawProcess::deserialize(MapAccessDeserializer::new(map)).map(ProcessValue)
            }
        }
        d.deserialize_any(V)
    }
}

/// An HTTP JSON gauge as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpGauge {
    /// Series name.
    pub name: Spanned<String>,
    /// Absolute URL, or a path resolved against the scenario's host.
    pub url: Spanned<String>,
    /// JSON path of the number (default: the body is the number).
    pub json: Option<Spanned<String>>,
    /// Unit shown beside the values.
    pub unit: Option<String>,
}

/// An SQL gauge as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSqlGauge {
    /// Series name.
    pub name: Spanned<String>,
    /// `postgres://…` or `sqlite:…`.
    pub url: Spanned<String>,
    /// A query returning one number.
    pub query: Spanned<String>,
    /// Unit shown beside the values.
    pub unit: Option<String>,
}

/// Validates `raw` into the spec of what to sample; `None` when it samples
/// nothing (only `mqtt_sys`, or nothing at all) or has problems, which go
/// to `problems`. Relative gauge URLs resolve against `host`.
pub(super) fn monitor_spec(
    raw: &RawMonitor,
    host: Option<&(Origin, String)>,
    insecure: bool,
    problems: &mut Vec<Problem>,
) -> Option<MonitorSpec> {
    let before = problems.len();
    let mut problem = |loc: Loc, message: String| problems.push(Problem { loc, message });
    let mut spec = MonitorSpec {
        insecure,
        ..MonitorSpec::default()
    };
    if let Some(every) = &raw.every {
        if every.value.0 < MIN_EVERY {
            problem(
                Loc::of(every),
                format!(
                    "`every` must be at least {} ms (default {} s)",
                    MIN_EVERY.as_millis(),
                    DEFAULT_EVERY.as_secs()
                ),
            );
        }
        spec.every = every.value.0;
    }
    // Every series name, so that no two series share one.
    let mut names = BTreeSet::new();
    for p in raw.process.iter().chain(&raw.processes) {
        let loc = Loc::of(p);
        match process(&p.value.0) {
            Ok(process) => {
                let (cpu, rss) = (process.cpu_name(), process.rss_name());
                if !names.insert(cpu) || !names.insert(rss) {
                    problem(
                        loc,
                        format!(
                            "two processes are labelled '{}': give one of them a `label`",
                            process.label
                        ),
                    );
                }
                spec.processes.push(process);
            }
            Err(message) => problem(loc, message),
        }
    }
    let mut gauge_name = |problem: &mut dyn FnMut(Loc, String), name: &Spanned<String>| {
        let text = name.value.trim();
        if text.is_empty() {
            problem(Loc::of(name), "a gauge's `name` must not be empty".into());
        } else if !names.insert(text.to_string()) {
            problem(
                Loc::of(name),
                format!("two monitor series are called '{text}': give each gauge its own name"),
            );
        }
        text.to_string()
    };
    for g in &raw.http {
        let g = &g.value;
        let name = gauge_name(&mut problem, &g.name);
        let json = match &g.json {
            Some(json) => match json_path(&json.value) {
                Ok(_) => Some(json.value.as_str()),
                Err(e) => {
                    problem(Loc::of(json), e);
                    continue;
                }
            },
            None => None,
        };
        let gauge = resolve(&g.url.value, host)
            .and_then(|url| HttpGauge::new(&name, &url, json, g.unit.as_deref()));
        match gauge {
            Ok(gauge) => spec.http.push(gauge),
            Err(e) => problem(Loc::of(&g.url), e),
        }
    }
    for g in &raw.sql {
        let g = &g.value;
        let name = gauge_name(&mut problem, &g.name);
        if g.query.value.trim().is_empty() {
            problem(
                Loc::of(&g.query),
                "the query is empty: expected e.g. `select count(*) from pg_stat_activity`".into(),
            );
            continue;
        }
        match SqlGauge::new(&name, &g.url.value, &g.query.value, g.unit.as_deref()) {
            Ok(gauge) => spec.sql.push(gauge),
            Err(e) => problem(Loc::of(&g.url), e),
        }
    }
    (problems.len() == before && !spec.is_empty()).then_some(spec)
}

/// A process as written, checked: exactly one of `pid`, `name`, `target`.
fn process(raw: &RawProcess) -> Result<ProcessSpec, String> {
    let what = match (raw.pid, &raw.name, raw.target) {
        (Some(pid), None, false) => match u32::try_from(pid) {
            Ok(pid) if pid > 0 => ProcessRef::Pid(pid),
            _ => return Err(format!("pid {pid} is not a process id (1 to {})", u32::MAX)),
        },
        (None, Some(name), false) if name.trim().is_empty() => {
            return Err("a process `name` must not be empty".into())
        }
        (None, Some(name), false) => ProcessRef::Name(name.trim().to_string()),
        (None, None, true) => ProcessRef::Target,
        (None, None, false) => {
            return Err(
                "which process? give `pid: 1234`, `name: postgres` or `target: true`".into(),
            )
        }
        _ => return Err("give one of `pid`, `name` or `target`, not several".into()),
    };
    let label = raw.label.as_deref().map(str::trim);
    if label.is_some_and(str::is_empty) {
        return Err("a process `label` must not be empty".into());
    }
    Ok(ProcessSpec::new(what, label.map(str::to_string)))
}

/// `url`, or a path (`/queues/q1/stats`) joined to the scenario's host and
/// its base path.
fn resolve(url: &str, host: Option<&(Origin, String)>) -> Result<String, String> {
    if url.contains("://") {
        return Ok(url.to_string());
    }
    let path = if url.starts_with('/') {
        url.to_string()
    } else {
        format!("/{url}")
    };
    let Some((origin, base)) = host else {
        return Err(format!(
            "'{url}' is relative and the scenario has no HTTP `host:`: give an absolute URL (http://host:port{path})"
        ));
    };
    let scheme = if origin.tls { "https" } else { "http" };
    let authority = origin.host_header();
    let authority = authority.to_str().unwrap_or(&origin.host);
    Ok(format!("{scheme}://{authority}{base}{path}"))
}

/// Validates a `monitor:` section outside a scenario (a suite's): the spec,
/// `None` when it samples nothing, or every problem found. `host` (a base
/// URL) resolves relative gauge URLs; `insecure` accepts any certificate.
pub fn build_monitor(
    raw: &RawMonitor,
    host: Option<&str>,
    insecure: bool,
) -> Result<Option<MonitorSpec>, Vec<Problem>> {
    let host = host.and_then(|h| Origin::parse(h).ok());
    let mut problems = Vec::new();
    let spec = monitor_spec(raw, host.as_ref(), insecure, &mut problems);
    if problems.is_empty() {
        Ok(spec)
    } else {
        problems.sort_by_key(|p| (p.loc.line, p.loc.column));
        Err(problems)
    }
}

#[cfg(test)]
#[path = "monitor_tests.rs"]
mod tests;
