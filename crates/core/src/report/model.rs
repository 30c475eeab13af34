//! The report of one run: every number the terminal, CSV and JSON show,
//! computed once from the merged measurements. Serialized as is to JSON.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::metrics::{Aggregate, HistoryPoint, RowKind, StatCounters, Summary, PERCENTILE_LABELS};

/// Latency percentiles in ms, serialized as an ordered map
/// (`{"50": 1.2, ..., "100": 9.9}`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Percentiles(pub [f64; 11]);

impl Serialize for Percentiles {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(11))?;
        for (label, value) in PERCENTILE_LABELS.iter().zip(self.0) {
            map.serialize_entry(label, &round3(value))?;
        }
        map.end()
    }
}

/// Rounds to microseconds for output.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One row: a (type, name) pair, or the `Aggregated` total.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// CSV `Type`: `GET`, `POST`, `POLL`, ... (empty for `Aggregated`).
    #[serde(rename = "type")]
    pub kind: String,
    /// CSV `Name`.
    pub name: String,
    /// Request rows enter `Aggregated`; derived rows (POLL) do not.
    pub row: RowKind,
    /// QoS of an MQTT publish row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<u8>,
    /// Of a step marked `expected_error`: the answers that were the errors
    /// it provokes (they are not failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_errors: Option<u64>,
    /// Completed requests, including failures.
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Cut off by the end of the run (neither success nor failure).
    pub interrupted: u64,
    /// Requests per second over the run.
    pub rps: f64,
    /// Failures per second over the run.
    pub fail_per_s: f64,
    /// Failures / requests, percent.
    pub failure_percent: f64,
    /// Bytes received.
    pub bytes: u64,
    /// Mean response size, bytes.
    pub avg_bytes: f64,
    /// Mean latency, ms.
    pub mean_ms: f64,
    /// Smallest latency, ms.
    pub min_ms: f64,
    /// Largest latency, ms.
    pub max_ms: f64,
    /// Latency percentiles, ms.
    pub percentiles_ms: Percentiles,
    /// The whole histogram, lossless (HdrHistogram V2, deflate, base64).
    pub histogram: String,
}

impl Row {
    /// The row of `counters` over `seconds` of run time.
    pub fn new(kind: &str, name: &str, row: RowKind, counters: &StatCounters, seconds: f64) -> Row {
        let s = Summary::of(counters, seconds);
        Row {
            kind: kind.to_string(),
            name: name.to_string(),
            row,
            qos: None,
            expected_errors: None,
            requests: s.requests,
            failures: s.failures,
            interrupted: s.interrupted,
            rps: s.rps,
            fail_per_s: s.fail_per_s,
            failure_percent: 100.0 * s.failure_ratio(),
            bytes: s.bytes,
            avg_bytes: s.avg_bytes(),
            mean_ms: round3(s.mean_ms),
            min_ms: round3(s.min_ms),
            max_ms: round3(s.max_ms),
            percentiles_ms: Percentiles(s.percentiles_ms),
            histogram: counters.latency.encode(),
        }
    }

    /// The median, ms.
    pub fn median_ms(&self) -> f64 {
        self.percentiles_ms.0[0]
    }

    /// The value at one of the reported percentiles, ms.
    pub fn percentile(&self, p: f64) -> f64 {
        crate::metrics::PERCENTILES
            .iter()
            .position(|&q| (q - p).abs() < 1e-9)
            .map_or(0.0, |i| self.percentiles_ms.0[i])
    }
}

/// One row of one second of history.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryRow {
    /// Row type (empty for `Aggregated`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Row name.
    pub name: String,
    /// Requests completed during this second.
    pub requests: u64,
    /// Failures during this second.
    pub failures: u64,
    /// Requests per second during this second.
    pub rps: f64,
    /// Failures per second during this second.
    pub fail_per_s: f64,
    /// Latency percentiles of this second, ms.
    pub percentiles_ms: Percentiles,
    /// Cumulative counts and latency up to the end of this second.
    pub total: HistoryTotal,
}

/// Cumulative numbers of a history row.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryTotal {
    /// Requests so far.
    pub requests: u64,
    /// Failures so far.
    pub failures: u64,
    /// Median so far, ms.
    pub median_ms: f64,
    /// Mean so far, ms.
    pub mean_ms: f64,
    /// Smallest so far, ms.
    pub min_ms: f64,
    /// Largest so far, ms.
    pub max_ms: f64,
    /// Mean response size so far, bytes.
    pub avg_bytes: f64,
}

/// One second of history.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryEntry {
    /// Seconds since the start of the run.
    pub elapsed_s: f64,
    /// Unix time, seconds.
    pub timestamp: u64,
    /// Users alive.
    pub users: u64,
    /// What the load shape asked for: users (closed model) or arrivals
    /// per second (open model); the `Aggregated` row's `rps` is what was
    /// achieved.
    pub target: f64,
    /// Rows active in this second, then `Aggregated`.
    pub rows: Vec<HistoryRow>,
}

impl HistoryEntry {
    /// The history entry of `point`.
    pub fn new(point: &HistoryPoint, aggregate: &Aggregate) -> HistoryEntry {
        let rows = point
            .rows
            .iter()
            .map(|r| {
                let (kind, name) = match r.stat {
                    Some(id) => {
                        let k = aggregate.table().key(id);
                        (k.kind.clone(), k.name.clone())
                    }
                    None => (String::new(), "Aggregated".to_string()),
                };
                HistoryRow {
                    kind,
                    name,
                    requests: r.interval.requests,
                    failures: r.interval.failures,
                    rps: r.interval.rps,
                    fail_per_s: r.interval.fail_per_s,
                    percentiles_ms: Percentiles(r.interval.percentiles_ms),
                    total: HistoryTotal {
                        requests: r.total.requests,
                        failures: r.total.failures,
                        median_ms: r.total.median_ms(),
                        mean_ms: round3(r.total.mean_ms),
                        min_ms: r.total.min_ms,
                        max_ms: r.total.max_ms,
                        avg_bytes: r.total.avg_bytes(),
                    },
                }
            })
            .collect();
        HistoryEntry {
            elapsed_s: round3(point.elapsed.as_secs_f64()),
            timestamp: point.timestamp,
            users: point.users,
            target: round3(point.target),
            rows,
        }
    }
}

/// Failures grouped by (method, name, error).
#[derive(Clone, Debug, Serialize)]
pub struct FailureRow {
    /// The row's type (the HTTP method).
    pub method: String,
    /// The row's name.
    pub name: String,
    /// The cause.
    pub error: String,
    /// How often.
    pub occurrences: u64,
    /// Unix time of the first occurrence.
    pub first_seen: f64,
    /// Unix time of the last occurrence.
    pub last_seen: f64,
}

/// A warning for the reader, in words.
#[derive(Clone, Debug, Serialize)]
pub struct Warning {
    /// `backlog`, `generator_saturated`, `late_arrivals`, `no_success`, ...
    pub kind: &'static str,
    /// What happened and what it means.
    pub message: String,
}

/// The result of one threshold.
#[derive(Clone, Debug, Serialize)]
pub struct ThresholdResult {
    /// The threshold as written (with its row name, if any).
    pub threshold: String,
    /// The row it applied to, if any.
    pub name: Option<String>,
    /// The measured value, in the threshold's unit.
    pub actual: f64,
    /// The measured value, formatted.
    pub actual_text: String,
    /// Whether it held.
    pub pass: bool,
}
