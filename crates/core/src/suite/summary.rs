//! The suite's summary: one row per run with its verdict, latency, rate,
//! errors (and the errors it provoked on purpose) and recovery from faults —
//! as a terminal table, `summary.md` and `summary.json`.

use std::fmt::Write as _;

use serde::Serialize;

use super::queue_audit::QueueAudit;
use crate::report::{clip, Report, Table, Verdict};
use crate::units::format_ms;

/// The whole suite.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteSummary {
    /// The suite's name.
    pub suite: String,
    /// The suite file.
    pub file: String,
    /// Unix time it started.
    pub started_at_unix: f64,
    /// The `--scale` it ran at.
    pub scale: f64,
    /// `pass` when every run passed.
    pub verdict: RunVerdict,
    /// One entry per run, in order.
    pub runs: Vec<RunSummary>,
}

/// A run's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunVerdict {
    /// Every threshold held.
    Pass,
    /// A threshold failed.
    Fail,
    /// It could not run (setup failed, the target did not start, ...).
    Error,
}

/// One run's line.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// Its id.
    pub id: String,
    /// What it tests.
    pub title: String,
    /// Pass, fail or error.
    pub verdict: RunVerdict,
    /// Why it failed: the thresholds that did not hold, or the error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Requests completed.
    pub requests: u64,
    /// Median latency of all requests, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
    /// Requests per second.
    pub rps: f64,
    /// Failed requests.
    pub errors: u64,
    /// Errors provoked on purpose and answered as expected (`expected_error`).
    pub expected_errors: u64,
    /// Seconds until the run recovered from its faults, the slowest of them
    /// (none: no fault; a fault never recovered from counts as the rest of
    /// the run, and fails it).
    pub recovery_s: Option<f64>,
    /// Seconds until requests succeeded again after a fault, the slowest.
    pub first_success_s: Option<f64>,
    /// Length of the run, s.
    pub duration_s: f64,
    /// The run's JSON report, relative to the summary (none when it could
    /// not run).
    pub report: Option<String>,
    /// The delivery audit of a queue fed over MQTT, when the run has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<QueueAudit>,
}

impl RunSummary {
    /// The line of a run that produced `report`, written to `path`.
    pub fn of(id: &str, title: &str, report: &Report, path: String) -> RunSummary {
        let t = &report.total;
        let mut reasons: Vec<String> = report
            .thresholds
            .iter()
            .filter(|r| !r.pass)
            .map(|r| format!("{} (was {})", r.threshold, r.actual_text))
            .collect();
        if reasons.is_empty() && report.verdict == Verdict::Fail {
            reasons.push(report.verdict_reason.clone());
        }
        // The slowest recovery of the run's faults; one never recovered from
        // counts as the rest of the run, and fails it.
        let mut recovery_s: Option<f64> = None;
        for f in &report.faults {
            let took = f.recovery_s.unwrap_or_else(|| {
                reasons.push(format!(
                    "did not recover from {} by the end of the run",
                    f.event.action
                ));
                report.duration_s - f.event.at_s
            });
            recovery_s = Some(recovery_s.map_or(took, |r: f64| r.max(took)));
        }
        let first_success_s = report
            .faults
            .iter()
            .filter_map(|f| f.first_success_s)
            .reduce(f64::max);
        for f in report.faults.iter().filter_map(|f| f.event.error.as_ref()) {
            reasons.push(format!("fault: {f}"));
        }
        let failed = report.verdict == Verdict::Fail
            || report
                .faults
                .iter()
                .any(|f| f.recovery_s.is_none() || f.event.error.is_some());
        RunSummary {
            id: id.to_string(),
            title: title.to_string(),
            verdict: if failed {
                RunVerdict::Fail
            } else {
                RunVerdict::Pass
            },
            reasons,
            requests: t.requests,
            p50_ms: t.median_ms(),
            p95_ms: t.percentile(95.0),
            p99_ms: t.percentile(99.0),
            max_ms: t.max_ms,
            rps: (t.rps * 10.0).round() / 10.0,
            errors: t.failures,
            expected_errors: report.stats.iter().filter_map(|r| r.expected_errors).sum(),
            recovery_s,
            first_success_s,
            duration_s: report.duration_s,
            report: Some(path),
            audit: None,
        }
    }

    /// Adds the queue audit: a lost job fails the run.
    pub fn with_audit(mut self, audit: Result<QueueAudit, String>) -> RunSummary {
        match audit {
            Ok(a) => {
                if a.lost > 0 {
                    self.verdict = RunVerdict::Fail;
                    self.reasons.push(format!("{} jobs lost", a.lost));
                }
                self.audit = Some(a);
            }
            Err(e) => {
                self.verdict = RunVerdict::Error;
                self.reasons.push(format!("queue audit: {e}"));
            }
        }
        self
    }

    /// The line of a run that could not run.
    pub fn error(id: &str, title: &str, why: String) -> RunSummary {
        RunSummary {
            id: id.to_string(),
            title: title.to_string(),
            verdict: RunVerdict::Error,
            reasons: vec![why],
            requests: 0,
            p50_ms: 0.0,
            p95_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            rps: 0.0,
            errors: 0,
            expected_errors: 0,
            recovery_s: None,
            first_success_s: None,
            duration_s: 0.0,
            report: None,
            audit: None,
        }
    }
}

impl SuiteSummary {
    /// The summary of `runs`.
    pub fn new(
        suite: &str,
        file: &str,
        started_at_unix: f64,
        scale: f64,
        runs: Vec<RunSummary>,
    ) -> Self {
        let verdict = if runs.iter().all(|r| r.verdict == RunVerdict::Pass) {
            RunVerdict::Pass
        } else {
            RunVerdict::Fail
        };
        SuiteSummary {
            suite: suite.to_string(),
            file: file.to_string(),
            started_at_unix,
            scale,
            verdict,
            runs,
        }
    }

    /// The cells of each run.
    fn cells(&self) -> Vec<Vec<String>> {
        self.runs
            .iter()
            .map(|r| {
                let opt = |v: Option<f64>| v.map_or("-".into(), |s| format!("{s:.1}"));
                vec![
                    r.id.clone(),
                    clip(&r.title, 44),
                    verdict_word(r.verdict).to_string(),
                    r.requests.to_string(),
                    format!("{:.1}", r.rps),
                    format_ms(r.p50_ms),
                    format_ms(r.p95_ms),
                    format_ms(r.p99_ms),
                    format_ms(r.max_ms),
                    r.errors.to_string(),
                    r.expected_errors.to_string(),
                    opt(r.recovery_s),
                ]
            })
            .collect()
    }

    /// The terminal table, then the reasons of runs that did not pass.
    pub fn render(&self) -> String {
        let mut t = Table::new(&HEADER, 3);
        for row in self.cells() {
            t.push(row);
        }
        let mut out = format!(
            "\ncicada suite {} ({}, scale {})\n\n",
            self.suite, self.file, self.scale
        );
        t.render(&mut out);
        self.reasons(&mut out, "");
        for r in &self.runs {
            if let Some(a) = &r.audit {
                let _ = writeln!(
                    out,
                    "\n {} queue audit: {} jobs published, {} consumed, {} still queued, {} leased: {} lost, {} duplicated (handed out again after a lease expired, or stored twice)",
                    r.id, a.published, a.consumed, a.remaining, a.leased, a.lost, a.duplicated
                );
            }
        }
        let passed = self
            .runs
            .iter()
            .filter(|r| r.verdict == RunVerdict::Pass)
            .count();
        let _ = writeln!(
            out,
            "\n {passed} of {} runs passed: {}",
            self.runs.len(),
            verdict_word(self.verdict).to_uppercase()
        );
        out
    }

    /// `summary.md`: a markdown table for CI comments.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# cicada suite `{}`\n\n`{}` at scale {}: **{}**\n\n",
            self.suite,
            self.file,
            self.scale,
            verdict_word(self.verdict)
        );
        let _ = writeln!(out, "| {} |", HEADER.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(HEADER.len()));
        for row in self.cells() {
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        self.reasons(&mut out, "- ");
        out
    }

    /// Lines saying why runs failed.
    fn reasons(&self, out: &mut String, bullet: &str) {
        let failing: Vec<&RunSummary> =
            self.runs.iter().filter(|r| !r.reasons.is_empty()).collect();
        if failing.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n");
        for r in failing {
            let _ = writeln!(
                out,
                "{bullet}{} {}: {}",
                r.id,
                verdict_word(r.verdict),
                r.reasons.join("; ")
            );
        }
    }
}

/// Column headers.
const HEADER: [&str; 12] = [
    "Run",
    "What",
    "Verdict",
    "# reqs",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "errors",
    "expected",
    "recovery s",
];

/// `pass`, `fail`, `error`.
fn verdict_word(v: RunVerdict) -> &'static str {
    match v {
        RunVerdict::Pass => "pass",
        RunVerdict::Fail => "fail",
        RunVerdict::Error => "error",
    }
}
