//! What the monitor saw: one series per number watched, each sample
//! stamped on the run's clock (seconds since the run started) and in Unix
//! time, with a summary per series and the failures counted. The JSON
//! report embeds it as is; the CSV file and the terminal summary read it.

use std::fmt::Write as _;

use serde::ser::SerializeTuple;
use serde::{Serialize, Serializer};

/// Everything the monitor recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MonitorLog {
    /// Seconds between samples.
    pub every_s: f64,
    /// Unix time (seconds) of elapsed 0, the run's start: a point's Unix
    /// time is this plus its elapsed seconds.
    pub start_unix_s: f64,
    /// One series per number, in the order of the `monitor:` section.
    pub series: Vec<Series>,
    /// Why the monitor recorded nothing at all, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Where a series comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    /// A process's CPU or memory, from `/proc`.
    Process,
    /// A number in a JSON document over HTTP.
    Http,
    /// A number returned by an SQL query.
    Sql,
}

/// One watched number over time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// `target cpu`, `target rss`, or the gauge's name.
    pub name: String,
    /// `%`, `bytes`, or the gauge's unit (may be empty).
    pub unit: String,
    /// Where it comes from.
    pub kind: SeriesKind,
    /// What exactly: `pid 1234`, `name postgres`, `target`, the URL and
    /// JSON path, or the query.
    pub source: String,
    /// Min, mean, max, first and last of the samples present.
    pub summary: SeriesSummary,
    /// Samples that failed.
    pub errors: u64,
    /// Why the last failed sample failed.
    pub last_error: Option<String>,
    /// `[elapsed_s, value]` pairs, `null` for a missing sample.
    pub points: Vec<Point>,
}

/// One sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Seconds since the run started (ms precision).
    pub elapsed_s: f64,
    /// Unix time, seconds (ms precision).
    pub unix_s: f64,
    /// The value; `None` when the sample failed or has no value yet (the
    /// first CPU sample of a process).
    pub value: Option<f64>,
}

impl Serialize for Point {
    /// `[elapsed_s, value]`: compact for a report with thousands of points.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.elapsed_s)?;
        t.serialize_element(&self.value)?;
        t.end()
    }
}

/// Summary of the samples present in a series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct SeriesSummary {
    /// Samples with a value.
    pub samples: u64,
    /// Samples without one.
    pub missing: u64,
    /// Smallest value.
    pub min: Option<f64>,
    /// Mean of the values.
    pub mean: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// First value.
    pub first: Option<f64>,
    /// Last value.
    pub last: Option<f64>,
}

impl SeriesSummary {
    /// The summary of `points`.
    pub fn of(points: &[Point]) -> SeriesSummary {
        let values: Vec<f64> = points.iter().filter_map(|p| p.value).collect();
        let n = values.len();
        SeriesSummary {
            samples: n as u64,
            missing: (points.len() - n) as u64,
            min: values.iter().copied().reduce(f64::min),
            mean: (n > 0).then(|| values.iter().sum::<f64>() / n as f64),
            max: values.iter().copied().reduce(f64::max),
            first: values.first().copied(),
            last: values.last().copied(),
        }
    }
}

impl Series {
    /// An empty series.
    pub fn new(name: String, unit: &str, kind: SeriesKind, source: String) -> Series {
        Series {
            name,
            unit: unit.to_string(),
            kind,
            source,
            summary: SeriesSummary::default(),
            errors: 0,
            last_error: None,
            points: Vec::new(),
        }
    }

    /// Records a sample (`None`: no value, but not a failure).
    pub fn push(&mut self, elapsed_s: f64, unix_s: f64, value: Option<f64>) {
        self.points.push(Point {
            elapsed_s,
            unix_s,
            value: value.filter(|v| v.is_finite()),
        });
    }

    /// Records a failed sample and why it failed.
    pub fn fail(&mut self, elapsed_s: f64, unix_s: f64, why: &str) {
        self.push(elapsed_s, unix_s, None);
        self.errors += 1;
        if self.last_error.as_deref() != Some(why) {
            self.last_error = Some(why.to_string());
        }
    }
}

impl MonitorLog {
    /// Computes every series' summary (after the last sample).
    pub fn summarize(&mut self) {
        for s in &mut self.series {
            s.summary = SeriesSummary::of(&s.points);
        }
    }

    /// The series called `name`.
    pub fn series(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.name == name)
    }

    /// Short lines for the terminal summary, one per process and one per
    /// gauge: `target: cpu 35 % avg / 80 % max, rss 42.0 MB max` and
    /// `depth: 0 → 9,950, max 10,000`, with failed samples counted.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(p) = &self.problem {
            lines.push(format!("monitor: {p}"));
        }
        let mut i = 0;
        while i < self.series.len() {
            let s = &self.series[i];
            let rss = self
                .series
                .get(i + 1)
                .filter(|r| s.kind == SeriesKind::Process && r.kind == SeriesKind::Process);
            match rss {
                Some(rss) => {
                    lines.push(process_line(s, rss));
                    i += 2;
                }
                None => {
                    lines.push(gauge_line(s));
                    i += 1;
                }
            }
        }
        lines
    }
}

/// `target: cpu 35 % avg / 80 % max, rss 42.0 MB max`.
fn process_line(cpu: &Series, rss: &Series) -> String {
    let label = cpu.name.strip_suffix(" cpu").unwrap_or(&cpu.name);
    let mut line = format!("{label}:");
    let (c, r) = (&cpu.summary, &rss.summary);
    match (c.mean, c.max) {
        (Some(mean), Some(max)) => {
            let _ = write!(line, " cpu {mean:.0} % avg / {max:.0} % max,");
        }
        _ => line.push_str(" cpu -,"),
    }
    match r.max {
        Some(max) => {
            let _ = write!(line, " rss {:.1} MB max", max / 1e6);
        }
        None => line.push_str(" rss -"),
    }
    line + &failed(rss)
}

/// `depth: 0 → 9,950, max 10,000`.
fn gauge_line(s: &Series) -> String {
    let unit = if s.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", s.unit)
    };
    let m = &s.summary;
    let mut line = format!("{}:", s.name);
    match (m.first, m.last, m.max) {
        (Some(first), Some(last), Some(max)) if m.samples > 1 => {
            let _ = write!(
                line,
                " {} → {}{unit}, max {}",
                number(first),
                number(last),
                number(max)
            );
        }
        (_, Some(last), _) => {
            let _ = write!(line, " {}{unit}", number(last));
        }
        _ => line.push_str(" no samples"),
    }
    line + &failed(s)
}

/// ` (3 of 60 samples failed: connection refused)`, or nothing.
fn failed(s: &Series) -> String {
    match (&s.last_error, s.errors) {
        (Some(why), n) if n > 0 => {
            format!(" ({n} of {} samples failed, last: {why})", s.points.len())
        }
        _ => String::new(),
    }
}

/// A value for people: whole numbers with thousands separators, others
/// with two or three significant digits.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let digits = format!("{}", v.abs() as u64);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        return if v < 0.0 { format!("-{out}") } else { out };
    }
    match v.abs() {
        a if a >= 100.0 => number(v.round()),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, unit: &str, kind: SeriesKind, values: &[Option<f64>]) -> Series {
        let mut s = Series::new(name.into(), unit, kind, "x".into());
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(_) => s.push(i as f64, 1e9 + i as f64, *v),
                None => s.fail(i as f64, 1e9 + i as f64, "connection refused"),
            }
        }
        s
    }

    #[test]
    fn summaries_skip_missing_samples() {
        let s = series(
            "d",
            "",
            SeriesKind::Http,
            &[Some(2.0), None, Some(4.0), Some(0.0)],
        );
        let m = SeriesSummary::of(&s.points);
        assert_eq!((m.samples, m.missing), (3, 1));
        assert_eq!((m.min, m.mean, m.max), (Some(0.0), Some(2.0), Some(4.0)));
        assert_eq!((m.first, m.last), (Some(2.0), Some(0.0)));
        assert_eq!(SeriesSummary::of(&[]).mean, None);
    }

    #[test]
    fn json_points_are_pairs_with_null_for_missing() {
        let mut log = MonitorLog {
            every_s: 1.0,
            series: vec![series(
                "depth",
                "items",
                SeriesKind::Http,
                &[Some(5.0), None],
            )],
            ..MonitorLog::default()
        };
        log.summarize();
        let v = serde_json::to_value(&log).expect("serializes");
        let s = &v["series"][0];
        assert_eq!(s["points"], serde_json::json!([[0.0, 5.0], [1.0, null]]));
        assert_eq!(
            (s["kind"].as_str(), s["errors"].as_u64()),
            (Some("http"), Some(1))
        );
        assert_eq!(s["last_error"], "connection refused");
        assert_eq!(s["summary"]["max"], 5.0);
        assert!(v.get("problem").is_none());
    }

    #[test]
    fn summary_lines_read_like_sentences() {
        let mut log = MonitorLog {
            every_s: 1.0,
            series: vec![
                series(
                    "target cpu",
                    "%",
                    SeriesKind::Process,
                    &[Some(20.0), Some(50.0)],
                ),
                series(
                    "target rss",
                    "bytes",
                    SeriesKind::Process,
                    &[Some(4.2e7), Some(4e7)],
                ),
                series(
                    "depth",
                    "",
                    SeriesKind::Http,
                    &[Some(0.0), Some(10_000.0), Some(9_950.0)],
                ),
                series("pg", "", SeriesKind::Sql, &[Some(12.0), None]),
                series("gone", "", SeriesKind::Sql, &[None, None]),
            ],
            ..MonitorLog::default()
        };
        log.summarize();
        assert_eq!(
            log.summary_lines(),
            [
                "target: cpu 35 % avg / 50 % max, rss 42.0 MB max",
                "depth: 0 → 9,950, max 10,000",
                "pg: 12 (1 of 2 samples failed, last: connection refused)",
                "gone: no samples (2 of 2 samples failed, last: connection refused)",
            ]
        );
    }

    #[test]
    fn numbers_are_grouped_and_rounded() {
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(-1000.0), "-1,000");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(123.4), "123");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(1.234), "1.23");
    }
}
