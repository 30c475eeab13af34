//! Assembles the [`Report`] of a run: rows, history, failures, connections,
//! arrivals, the generator's health, warnings, thresholds and the verdict.

use serde::Serialize;

use super::analysis;
use super::broker::{self, BrokerWatch};
use super::files::rfc3339;
use super::model::{round3, FailureRow, HistoryEntry, Row, ThresholdResult, Warning};
use super::mqtt;
use super::threshold::Threshold;
use crate::engine::{Model, RunOutcome, StopReason};
use crate::metrics::{unix_now, Latency, RowKind, StatCounters, LATE_AFTER};
use crate::protocols::mqtt::audit::AuditSummary;
use crate::scenario::Plan;

/// Everything about one run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The cicada version that produced it.
    pub cicada_version: &'static str,
    /// The scenario file (or `--url`).
    pub scenario: String,
    /// The host under test.
    pub host: Option<String>,
    /// Start, RFC 3339 UTC.
    pub started_at: String,
    /// Start, Unix seconds.
    pub started_at_unix: f64,
    /// Length of the run, seconds.
    pub duration_s: f64,
    /// How the load was applied.
    pub load: LoadInfo,
    /// All request rows together (`Aggregated`).
    pub total: Row,
    /// One entry per (type, name), in first-seen order.
    pub stats: Vec<Row>,
    /// Failures by (method, name, error).
    pub failures: Vec<FailureRow>,
    /// Scenario errors outside requests.
    pub errors: Vec<ErrorRow>,
    /// Connections users opened.
    pub connections: Connections,
    /// When iterations started compared with when they were due.
    pub arrivals: Arrivals,
    /// The generator's own resource use.
    pub generator: Generator,
    /// Things the reader must know, in words.
    pub warnings: Vec<Warning>,
    /// Each threshold and whether it held.
    pub thresholds: Vec<ThresholdResult>,
    /// `pass` or `fail`.
    pub verdict: Verdict,
    /// Why the verdict is what it is.
    pub verdict_reason: String,
    /// The MQTT delivery audit, when a subscription audits messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSummary>,
    /// The broker's `$SYS` topics during the run, when watched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerWatch>,
    /// What the resource monitor sampled, when the run had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<crate::monitor::MonitorLog>,
    /// The faults the run suffered (a suite's), and the recovery from each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<super::FaultRecovery>,
    /// One entry per second.
    pub history: Vec<HistoryEntry>,
}

/// Pass or fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every threshold held (or, without thresholds, nothing failed).
    Pass,
    /// A threshold failed (or, without thresholds, something failed).
    Fail,
}

/// How the load was applied.
#[derive(Clone, Debug, Serialize)]
pub struct LoadInfo {
    /// `closed` or `open`.
    pub model: &'static str,
    /// In words.
    pub description: String,
    /// Worker threads.
    pub threads: usize,
    /// Most users alive at once.
    pub peak_users: u64,
    /// Why the run ended.
    pub stopped_by: StopReason,
}

/// A scenario error and how often it happened.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorRow {
    /// What went wrong.
    pub message: String,
    /// How often.
    pub count: u64,
}

/// Three numbers summarising a latency distribution, ms.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of a histogram.
    pub(crate) fn of(h: &Latency) -> Spread {
        Spread {
            p50: round3(h.percentile_ms(50.0)),
            p99: round3(h.percentile_ms(99.0)),
            max: round3(h.max_ms()),
        }
    }
}

/// Connections opened by users.
#[derive(Clone, Debug, Serialize)]
pub struct Connections {
    /// Established.
    pub opened: u64,
    /// Attempts that failed.
    pub failed: u64,
    /// Re-opened after the server closed a kept-alive connection (HTTP),
    /// or reconnected after a drop (MQTT).
    pub reopened: u64,
    /// MQTT connections lost mid-session (each then reconnects).
    pub dropped: u64,
    /// Time to connect, ms.
    pub connect_ms: Spread,
}

/// Punctuality of iterations.
#[derive(Clone, Debug, Serialize)]
pub struct Arrivals {
    /// Open model: arrivals generated.
    pub due: u64,
    /// Iterations started.
    pub started: u64,
    /// Started more than `late_after_ms` after they were due.
    pub late: u64,
    /// Open model: waited in line for a free user.
    pub queued: u64,
    /// Open model: still waiting when the run ended.
    pub never_started: u64,
    /// The lateness limit, ms.
    pub late_after_ms: f64,
    /// Start delays, ms.
    pub delay_ms: Spread,
}

/// The generator watching itself.
#[derive(Clone, Debug, Serialize)]
pub struct Generator {
    /// Worker threads.
    pub threads: usize,
    /// Mean CPU, percent of one core.
    pub cpu_percent_avg: f64,
    /// Highest one-second CPU, percent of one core.
    pub cpu_percent_max: f64,
    /// Peak resident memory, MB.
    pub rss_mb_peak: f64,
    /// How late worker event loops woke timers, ms.
    pub lag_ms: Spread,
    /// True when the generator itself was the bottleneck.
    pub saturated: bool,
}

impl Report {
    /// Builds the report of `outcome` for `plan`, judging `thresholds`
    /// (the plan's own plus the command line's).
    pub fn build(plan: &Plan, outcome: &RunOutcome, thresholds: &[Threshold]) -> Report {
        let agg = &outcome.aggregate;
        let seconds = outcome.elapsed.as_secs_f64();
        let stats: Vec<Row> = agg
            .table()
            .iter()
            .filter(|(id, _)| !agg.total(*id).is_idle())
            .map(|(id, k)| {
                let row = Row::new(&k.kind, &k.name, k.row, agg.total(id), seconds);
                Row {
                    qos: k.qos,
                    expected_errors: k.expected_error.then(|| row.requests - row.failures),
                    ..row
                }
            })
            .collect();
        let total = Row::new(
            "",
            "Aggregated",
            RowKind::Request,
            agg.all_requests(),
            seconds,
        );
        let failures = agg
            .failures()
            .filter_map(|f| {
                let k = agg.table().key(f.row?);
                Some(FailureRow {
                    method: k.kind.clone(),
                    name: k.name.clone(),
                    error: f.message(),
                    occurrences: f.tally.count,
                    first_seen: f.tally.first_seen,
                    last_seen: f.tally.last_seen,
                })
            })
            .collect();
        let a = agg.arrivals();
        let open = matches!(outcome.config.model, Model::Open { .. });
        let arrivals = Arrivals {
            due: a.due,
            started: a.started,
            late: a.late,
            queued: a.queued,
            never_started: if open {
                a.due.saturating_sub(a.started)
            } else {
                0
            },
            late_after_ms: LATE_AFTER.as_secs_f64() * 1000.0,
            delay_ms: Spread::of(&a.delay),
        };
        let generator = analysis::generator(outcome);
        let audit = mqtt::audit(outcome);
        let results: Vec<ThresholdResult> = thresholds
            .iter()
            .map(|t| judge(t, outcome, audit.as_ref()))
            .collect();
        let audit_failure = audit.as_ref().and_then(mqtt::audit_failure);
        let any_failure = agg.all_requests().failures > 0 || stats.iter().any(|r| r.failures > 0);
        let errors: u64 = agg.errors().map(|e| e.tally.count).sum();
        let attempted = agg.arrivals().started > 0 || stats.iter().any(|r| r.interrupted > 0);
        // Open model: arrivals still waiting at the end are load that was
        // asked for and never applied; a handful in flight at the cut-off
        // is not a finding.
        let dropped = arrivals.never_started > 2 && arrivals.never_started * 100 > arrivals.due;
        let (verdict, verdict_reason) = if total.requests == 0 && attempted {
            (Verdict::Fail, "no request completed".to_string())
        } else if total.requests > 0 && total.failures == total.requests {
            // A dead target answers every request fast: latency thresholds
            // alone would call that a pass.
            (
                Verdict::Fail,
                format!("no request succeeded ({} failed)", total.failures),
            )
        } else if dropped {
            let reason = format!(
                "{} of {} arrivals never started (no free user: raise --max-users, or the target is too slow for the rate)",
                arrivals.never_started, arrivals.due
            );
            (Verdict::Fail, reason)
        } else if !results.is_empty() {
            let failed = results.iter().filter(|r| !r.pass).count();
            if failed == 0 {
                (
                    Verdict::Pass,
                    format!("all {} thresholds held", results.len()),
                )
            } else {
                (
                    Verdict::Fail,
                    format!("{failed} of {} thresholds failed", results.len()),
                )
            }
        } else if any_failure || errors > 0 {
            let n: u64 = stats.iter().map(|r| r.failures).sum::<u64>() + errors;
            (
                Verdict::Fail,
                format!(
                    "{n} failures and errors, and no thresholds set (any failure fails the run)"
                ),
            )
        } else if let Some(why) = audit_failure {
            (Verdict::Fail, format!("{why}, and no thresholds set"))
        } else {
            (Verdict::Pass, "no failures".to_string())
        };
        let mut report = Report {
            cicada_version: env!("CARGO_PKG_VERSION"),
            scenario: plan.source.clone(),
            host: plan.host.clone(),
            started_at: rfc3339(unix_from(outcome.started_at)),
            started_at_unix: unix_from(outcome.started_at),
            duration_s: round3(seconds),
            load: LoadInfo {
                model: if open { "open" } else { "closed" },
                description: outcome.config.describe(),
                threads: outcome.config.threads,
                peak_users: outcome.peak_users,
                stopped_by: outcome.stopped_by,
            },
            total,
            stats,
            failures,
            errors: agg
                .errors()
                .map(|e| ErrorRow {
                    message: e.message(),
                    count: e.tally.count,
                })
                .collect(),
            connections: Connections {
                opened: agg.connections().opened,
                failed: agg.connections().failed,
                reopened: agg.connections().reopened,
                dropped: agg.connections().dropped,
                connect_ms: Spread::of(&agg.connections().latency),
            },
            arrivals,
            generator,
            warnings: Vec::new(),
            thresholds: results,
            verdict,
            verdict_reason,
            audit,
            broker: outcome.broker.as_ref().map(broker::watch),
            monitor: None,
            faults: Vec::new(),
            history: agg
                .history()
                .iter()
                .map(|p| HistoryEntry::new(p, agg))
                .collect(),
        };
        report.warnings = analysis::warnings(&report, outcome);
        if let Some(problem) = report.broker.as_ref().and_then(|b| b.problem.clone()) {
            report.warnings.push(Warning {
                kind: "broker_monitor",
                message: format!("$SYS monitor: {problem}"),
            });
        }
        report
    }
}

impl Report {
    /// Requests (not derived measures) cut off by the end of the run.
    pub fn interrupted_requests(&self) -> u64 {
        self.stats
            .iter()
            .filter(|r| r.row == RowKind::Request)
            .map(|r| r.interrupted)
            .sum()
    }
}

fn unix_from(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or_else(|_| unix_now(), |d| d.as_secs_f64())
}

/// Measures one threshold: on its rows, or on all requests.
fn judge(t: &Threshold, outcome: &RunOutcome, audit: Option<&AuditSummary>) -> ThresholdResult {
    let agg = &outcome.aggregate;
    if t.on_audit() {
        let actual = audit.map(|a| t.measure_audit(a));
        return ThresholdResult {
            threshold: t.to_string(),
            name: None,
            actual: actual.map_or(0.0, round3),
            actual_text: actual.map_or("nothing audited".into(), |v| t.format_value(v)),
            pass: actual.is_some_and(|v| t.passes(v)),
        };
    }
    let seconds = outcome.elapsed.as_secs_f64();
    let counters = match &t.name {
        None => agg.all_requests().clone(),
        Some(n) if n == "Aggregated" => agg.all_requests().clone(),
        Some(n) => {
            let mut c = StatCounters::default();
            for id in agg.table().find(n) {
                c.merge(agg.total(id));
            }
            c
        }
    };
    if counters.requests == 0 && t.needs_samples() {
        return ThresholdResult {
            threshold: t.to_string(),
            name: t.name.clone(),
            actual: 0.0,
            actual_text: "no samples".into(),
            pass: false,
        };
    }
    let actual = t.measure(&counters, seconds);
    ThresholdResult {
        threshold: t.to_string(),
        name: t.name.clone(),
        actual: round3(actual),
        actual_text: t.format_value(actual),
        pass: t.passes(actual),
    }
}
