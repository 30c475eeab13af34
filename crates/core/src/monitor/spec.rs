//! What to watch: the validated form of a `monitor:` section. Every URL and
//! JSON path is checked here, before any load starts, so that a typo is a
//! scenario error rather than a run of missing samples.

use std::fmt;
use std::time::Duration;

use serde_json_path::JsonPath;

use crate::protocols::http::Origin;

/// Sampling interval when the file gives none: once a second, like the
/// report's history.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(1);

/// Shortest interval accepted: below it, /proc scans and gauge round trips
/// would cost more than they tell.
pub const MIN_EVERY: Duration = Duration::from_millis(100);

/// Longest an HTTP or SQL gauge may take, so that one slow gauge never
/// delays the next sample.
pub const MAX_GAUGE_TIMEOUT: Duration = Duration::from_millis(900);

/// Everything one monitor watches.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorSpec {
    /// Time between samples.
    pub every: Duration,
    /// Processes sampled for CPU % and resident memory.
    pub processes: Vec<ProcessSpec>,
    /// Numbers read from JSON documents over HTTP.
    pub http: Vec<HttpGauge>,
    /// Numbers read by SQL queries.
    pub sql: Vec<SqlGauge>,
    /// Accept any TLS certificate from `https://` gauges (the scenario's
    /// `insecure`).
    pub insecure: bool,
}

impl Default for MonitorSpec {
    /// Nothing to watch, sampled every second: the value of a scenario
    /// without `monitor:`.
    fn default() -> Self {
        MonitorSpec {
            every: DEFAULT_EVERY,
            processes: Vec::new(),
            http: Vec::new(),
            sql: Vec::new(),
            insecure: false,
        }
    }
}

impl MonitorSpec {
    /// True when there is nothing to sample (no thread needs starting).
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty() && self.http.is_empty() && self.sql.is_empty()
    }

    /// True when a process is "the target": the suite must say its pid.
    pub fn uses_target(&self) -> bool {
        self.processes.iter().any(|p| p.what == ProcessRef::Target)
    }

    /// Time allowed to one HTTP or SQL gauge: under the interval, so that
    /// sampling never falls behind.
    pub fn gauge_timeout(&self) -> Duration {
        MAX_GAUGE_TIMEOUT.min(self.every.mul_f64(0.9))
    }

    /// The names of every series the monitor will record, in order (for
    /// checking that they are unique).
    pub fn series_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for p in &self.processes {
            names.push(p.cpu_name());
            names.push(p.rss_name());
        }
        names.extend(self.http.iter().map(|g| g.name.clone()));
        names.extend(self.sql.iter().map(|g| g.name.clone()));
        names
    }
}

/// Which process to sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessRef {
    /// One process id; once it exits the samples stay missing.
    Pid(u32),
    /// Every process whose name (`/proc/PID/comm`, or the file name of its
    /// first command-line word) is this, summed; looked up again at every
    /// sample so a restarted process is followed.
    Name(String),
    /// The process a suite started (and restarts): its pid is given to the
    /// running monitor through [`crate::monitor::TargetPid`].
    Target,
}

impl fmt::Display for ProcessRef {
    /// `pid 1234`, `name postgres` or `target`: how reports say where a
    /// series came from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessRef::Pid(pid) => write!(f, "pid {pid}"),
            ProcessRef::Name(name) => write!(f, "name {name}"),
            ProcessRef::Target => f.write_str("target"),
        }
    }
}

/// A process to sample and the label its series carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Which process.
    pub what: ProcessRef,
    /// Label of its series (`target`, `postgres`, `pid 1234` unless given).
    pub label: String,
}

impl ProcessSpec {
    /// A process labelled by what it is, unless `label` says otherwise.
    pub fn new(what: ProcessRef, label: Option<String>) -> ProcessSpec {
        let label = label.unwrap_or_else(|| match &what {
            ProcessRef::Pid(pid) => format!("pid {pid}"),
            ProcessRef::Name(name) => name.clone(),
            ProcessRef::Target => "target".into(),
        });
        ProcessSpec { what, label }
    }

    /// Name of its CPU series.
    pub fn cpu_name(&self) -> String {
        format!("{} cpu", self.label)
    }

    /// Name of its resident-memory series.
    pub fn rss_name(&self) -> String {
        format!("{} rss", self.label)
    }
}

/// A number read from a JSON document fetched with `GET`.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpGauge {
    /// Series name.
    pub name: String,
    /// The absolute URL.
    pub url: String,
    /// Where the request goes.
    pub origin: Origin,
    /// Path and query of the request.
    pub target: String,
    /// Where the number is in the document (`$` for a bare number).
    pub json: JsonPath,
    /// The path as written, with its `$`.
    pub json_text: String,
    /// Unit shown beside the values (may be empty).
    pub unit: String,
}

impl HttpGauge {
    /// Checks `url` (absolute, `http://` or `https://`) and the JSON path
    /// (`$.a.b`, or `a.b`; none means the whole body is the number).
    pub fn new(
        name: &str,
        url: &str,
        json: Option<&str>,
        unit: Option<&str>,
    ) -> Result<HttpGauge, String> {
        let (origin, target) = Origin::split_url(url)?;
        let (path, json_text) = json_path(json.unwrap_or_default())?;
        Ok(HttpGauge {
            name: name.to_string(),
            url: url.to_string(),
            origin,
            target,
            json: path,
            json_text,
            unit: unit.unwrap_or_default().to_string(),
        })
    }
}

/// Compiles a gauge's JSON path (`$.a.b`, or `a.b`; empty for the whole
/// document) and returns it with its text as shown in reports.
pub fn json_path(text: &str) -> Result<(JsonPath, String), String> {
    let text = match text.trim() {
        "" => "$".to_string(),
        p if p.starts_with('$') => p.to_string(),
        p => format!("$.{p}"),
    };
    let path = JsonPath::parse(&text).map_err(|e| format!("invalid JSON path '{text}': {e}"))?;
    Ok((path, text))
}

/// A number read by an SQL query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlGauge {
    /// Series name.
    pub name: String,
    /// `postgres://…` or `sqlite:…`.
    pub url: String,
    /// A query whose first row's first column is the number.
    pub query: String,
    /// Unit shown beside the values (may be empty).
    pub unit: String,
}

impl SqlGauge {
    /// Checks the URL (a scheme sqlx supports here, parsable options) and
    /// that the query is not empty.
    pub fn new(name: &str, url: &str, query: &str, unit: Option<&str>) -> Result<SqlGauge, String> {
        super::sql::check_url(url)?;
        if query.trim().is_empty() {
            return Err(
                "the query is empty: expected e.g. `select count(*) from pg_stat_activity`".into(),
            );
        }
        Ok(SqlGauge {
            name: name.to_string(),
            url: url.to_string(),
            query: query.to_string(),
            unit: unit.unwrap_or_default().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_gauges_take_paths_with_or_without_dollar() {
        let g = HttpGauge::new("d", "http://127.0.0.1:9/q/stats?x=1", Some("depth"), None)
            .expect("valid");
        assert_eq!(g.json_text, "$.depth");
        assert_eq!(g.target, "/q/stats?x=1");
        assert_eq!(g.origin.port, 9);
        let g = HttpGauge::new("d", "http://h/", None, Some("items")).expect("valid");
        assert_eq!((g.json_text.as_str(), g.unit.as_str()), ("$", "items"));
        let e = HttpGauge::new("d", "http://h/", Some("$.[["), None).expect_err("bad path");
        assert!(e.starts_with("invalid JSON path '$.[['"), "{e}");
        let e = HttpGauge::new("d", "ftp://h/", None, None).expect_err("bad scheme");
        assert!(e.contains("expected http:// or https://"), "{e}");
    }

    #[test]
    fn processes_are_labelled_by_what_they_are() {
        assert_eq!(ProcessSpec::new(ProcessRef::Pid(7), None).label, "pid 7");
        let p = ProcessSpec::new(ProcessRef::Name("postgres".into()), None);
        assert_eq!(
            (p.cpu_name(), p.rss_name()),
            ("postgres cpu".into(), "postgres rss".into())
        );
        let p = ProcessSpec::new(ProcessRef::Target, Some("queue".into()));
        assert_eq!(p.label, "queue");
        let spec = MonitorSpec {
            processes: vec![p],
            ..MonitorSpec::default()
        };
        assert!(spec.uses_target() && !spec.is_empty());
        assert_eq!(spec.series_names(), ["queue cpu", "queue rss"]);
        assert_eq!(spec.gauge_timeout(), MAX_GAUGE_TIMEOUT);
    }
}
