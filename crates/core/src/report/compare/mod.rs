//! `cicada compare`: two runs side by side, row by row, with a regression
//! verdict a CI job can gate on.
//!
//! Each side is loaded into the few numbers compare needs ([`Measures`]:
//! p50, p95, p99, rps, error rate per (type, name)) from a cicada JSON report
//! or a Locust-compatible `_stats.csv` ([`load()`]); [`compare()`] pairs the rows
//! and judges each metric by the [`Rules`]; [`render`] prints the result.
//! Everything here is pure: no printing, no exit codes.

mod judge;
pub mod load;
pub mod render;

use serde::Serialize;

pub use judge::{parse_fraction, parse_points, Rules, DEFAULT_MAX_ERROR_INCREASE};
pub use load::{load, Input, LoadError, SuiteRun};

/// One row of one side, reduced to what compare reads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measures {
    /// The row's type (`GET`, `POLL`, …; empty for `Aggregated`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The row's name.
    pub name: String,
    /// Requests completed, failures included.
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Requests per second over the run.
    pub rps: f64,
    /// Median latency, ms (none when the row has no requests).
    pub p50_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
}

impl Measures {
    /// Failures as a percentage of requests (none without requests).
    pub fn error_percent(&self) -> Option<f64> {
        (self.requests > 0).then(|| 100.0 * self.failures as f64 / self.requests as f64)
    }

    /// The value of `metric` on this row.
    pub fn value(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::P50 => self.p50_ms,
            Metric::P95 => self.p95_ms,
            Metric::P99 => self.p99_ms,
            Metric::Rps => Some(self.rps),
            Metric::ErrorRate => self.error_percent(),
        }
    }

    /// True for the `Aggregated` total, which is always listed last.
    pub fn is_total(&self) -> bool {
        self.kind.is_empty() && self.name == "Aggregated"
    }
}

/// One side as loaded: where it came from and its rows, `Aggregated` last.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Loaded {
    /// The file it was read from, as given.
    pub source: String,
    /// The rows.
    pub rows: Vec<Measures>,
}

/// The metrics compared, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Median latency.
    P50,
    /// 95th percentile latency.
    P95,
    /// 99th percentile latency.
    P99,
    /// Throughput.
    Rps,
    /// Failed requests, percent.
    ErrorRate,
}

impl Metric {
    /// Every metric, in the order the tables show them.
    pub const ALL: [Metric; 5] = [
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::Rps,
        Metric::ErrorRate,
    ];

    /// The label in tables, with its unit.
    pub fn label(self) -> &'static str {
        match self {
            Metric::P50 => "p50 ms",
            Metric::P95 => "p95 ms",
            Metric::P99 => "p99 ms",
            Metric::Rps => "rps",
            Metric::ErrorRate => "errors %",
        }
    }

    /// Whether it is a latency (judged with the absolute floor).
    pub fn is_latency(self) -> bool {
        matches!(self, Metric::P50 | Metric::P95 | Metric::P99)
    }
}

/// The judgement of one metric, or of a whole row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// No rule given, or nothing to judge (a side without requests).
    Unjudged,
    /// Within the allowed change.
    Ok,
    /// Better by more than the allowed change.
    Improved,
    /// Worse by more than the allowed change.
    Regressed,
}

/// One metric of one row on both sides.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricDelta {
    /// Which metric.
    pub metric: Metric,
    /// Its value in BASE.
    pub base: Option<f64>,
    /// Its value in NEW.
    pub new: Option<f64>,
    /// NEW − BASE (percentage points for the error rate).
    pub delta: Option<f64>,
    /// The change relative to BASE, percent (none when BASE is 0).
    pub percent: Option<f64>,
    /// The judgement.
    pub mark: Mark,
}

/// Whether a row (or a suite's run) is on both sides or only one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// In BASE and NEW.
    Both,
    /// Only in NEW.
    Added,
    /// Only in BASE.
    Removed,
}

/// One (type, name) row compared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowComparison {
    /// The row's type (empty for `Aggregated`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The row's name.
    pub name: String,
    /// On which sides it appears.
    pub presence: Presence,
    /// Each metric, in [`Metric::ALL`] order.
    pub metrics: Vec<MetricDelta>,
    /// The row's verdict: regressed if any metric regressed, improved if
    /// one improved and none regressed; rows on one side only are unjudged.
    pub verdict: Mark,
}

impl RowComparison {
    /// The metrics that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &MetricDelta> {
        self.metrics.iter().filter(|m| m.mark == Mark::Regressed)
    }
}

/// One run compared: the only run of two reports, or one run id of two
/// suite outputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunComparison {
    /// The suite's run id (none when two single reports are compared).
    pub id: Option<String>,
    /// On which sides the run appears.
    pub presence: Presence,
    /// Why there are no rows, when a side has no report for the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The rows, sorted by name then type, `Aggregated` last.
    pub rows: Vec<RowComparison>,
}

/// The whole comparison: what `cicada compare` prints and writes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// BASE as given.
    pub base: String,
    /// NEW as given.
    pub new: String,
    /// The rules applied.
    pub rules: Rules,
    /// One entry per run.
    pub runs: Vec<RunComparison>,
    /// True when any row regressed (the exit code is 1).
    pub regressed: bool,
}

impl Comparison {
    /// Every regressed row with its run id.
    pub fn regressions(&self) -> impl Iterator<Item = (Option<&str>, &RowComparison)> {
        self.runs.iter().flat_map(|run| {
            run.rows
                .iter()
                .filter(|r| r.verdict == Mark::Regressed)
                .map(move |r| (run.id.as_deref(), r))
        })
    }
}

/// Why two inputs cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    /// One side is a suite's output, the other a single report.
    #[error("{suite} is a suite's output (summary.json) but {single} is a single report: compare a suite folder with a suite folder, or one report with another")]
    Mixed {
        /// The suite side.
        suite: String,
        /// The single-report side.
        single: String,
    },
}

/// The `--only-names` filter: a regular expression rows' names must match.
pub fn name_filter(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(pattern)
}

/// Compares two inputs (two reports, or two suite outputs run by run).
pub fn compare(
    base: &Input,
    new: &Input,
    rules: &Rules,
    names: Option<&regex::Regex>,
) -> Result<Comparison, CompareError> {
    let runs = match (base, new) {
        (Input::Report(b), Input::Report(n)) => vec![RunComparison {
            id: None,
            presence: Presence::Both,
            note: None,
            rows: compare_reports(b, n, rules, names),
        }],
        (Input::Suite { runs: b, .. }, Input::Suite { runs: n, .. }) => {
            compare_suites(b, n, rules, names)
        }
        (Input::Suite { source, .. }, Input::Report(r)) => {
            return Err(CompareError::Mixed {
                suite: source.clone(),
                single: r.source.clone(),
            })
        }
        (Input::Report(r), Input::Suite { source, .. }) => {
            return Err(CompareError::Mixed {
                suite: source.clone(),
                single: r.source.clone(),
            })
        }
    };
    let regressed = runs
        .iter()
        .any(|r| r.rows.iter().any(|row| row.verdict == Mark::Regressed));
    Ok(Comparison {
        base: base.source().to_string(),
        new: new.source().to_string(),
        rules: rules.clone(),
        runs,
        regressed,
    })
}

/// Pairs two suites' runs by id: BASE's order, then runs only in NEW.
fn compare_suites(
    base: &[SuiteRun],
    new: &[SuiteRun],
    rules: &Rules,
    names: Option<&regex::Regex>,
) -> Vec<RunComparison> {
    let mut runs = Vec::new();
    for b in base {
        let n = new.iter().find(|n| n.id == b.id);
        let (presence, rows, note) = match (n, &b.report) {
            (None, _) => (Presence::Removed, Vec::new(), None),
            (Some(n), Some(br)) => match &n.report {
                Some(nr) => (Presence::Both, compare_reports(br, nr, rules, names), None),
                None => (Presence::Both, Vec::new(), Some("no report in NEW".into())),
            },
            (Some(_), None) => (Presence::Both, Vec::new(), Some("no report in BASE".into())),
        };
        runs.push(RunComparison {
            id: Some(b.id.clone()),
            presence,
            note,
            rows,
        });
    }
    for n in new.iter().filter(|n| !base.iter().any(|b| b.id == n.id)) {
        runs.push(RunComparison {
            id: Some(n.id.clone()),
            presence: Presence::Added,
            note: None,
            rows: Vec::new(),
        });
    }
    runs
}

/// Pairs two reports' rows by (type, name) and judges each metric.
pub fn compare_reports(
    base: &Loaded,
    new: &Loaded,
    rules: &Rules,
    names: Option<&regex::Regex>,
) -> Vec<RowComparison> {
    let wanted = |m: &Measures| m.is_total() || names.is_none_or(|re| re.is_match(&m.name));
    let find = |side: &Loaded, m: &Measures| {
        side.rows
            .iter()
            .find(|o| o.kind == m.kind && o.name == m.name)
            .cloned()
    };
    let mut pairs: Vec<(Option<Measures>, Option<Measures>)> = Vec::new();
    for b in base.rows.iter().filter(|m| wanted(m)) {
        pairs.push((Some(b.clone()), find(new, b)));
    }
    for n in new.rows.iter().filter(|m| wanted(m)) {
        if find(base, n).is_none() {
            pairs.push((None, Some(n.clone())));
        }
    }
    let mut rows: Vec<RowComparison> = pairs
        .into_iter()
        .filter_map(|(b, n)| judge::row(b.as_ref(), n.as_ref(), rules))
        .collect();
    rows.sort_by(|a, b| {
        let total = |r: &RowComparison| r.kind.is_empty() && r.name == "Aggregated";
        (total(a), &a.name, &a.kind).cmp(&(total(b), &b.name, &b.kind))
    });
    rows
}

#[cfg(test)]
mod tests;
