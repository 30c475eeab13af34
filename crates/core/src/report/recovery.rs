//! Recovery from faults: for each fault a run suffered, how long until
//! requests succeeded again and until latency was back under its
//! threshold, and which errors the fault caused — read from the run's own
//! per-second history, so to the second.

use serde::Serialize;

use super::model::{FailureRow, HistoryEntry};

/// A fault as it was carried out (by a suite).
#[derive(Clone, Debug, Serialize)]
pub struct FaultEvent {
    /// The action, in words.
    pub action: String,
    /// When it was planned, seconds since the start of the run.
    pub planned_s: f64,
    /// When it started.
    pub at_s: f64,
    /// When it was over (the command returned, the target was ready again,
    /// the pause or outage ended).
    pub done_s: f64,
    /// An error carrying it out, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A fault and the run's recovery from it.
#[derive(Clone, Debug, Serialize)]
pub struct FaultRecovery {
    /// What was done, and when.
    #[serde(flatten)]
    pub event: FaultEvent,
    /// Seconds from the fault until requests succeeded again (0 when the
    /// fault disturbed nothing); `None`: not by the end of the run.
    pub first_success_s: Option<f64>,
    /// Seconds from the fault until a whole second passed without failures
    /// and with p95 under `p95_limit_ms` (when given).
    pub recovery_s: Option<f64>,
    /// The p95 limit recovery was judged against, ms.
    pub p95_limit_ms: Option<f64>,
    /// Failed requests in the seconds from the fault to its recovery.
    pub failed_requests: u64,
    /// The errors first seen after the fault, with their counts over the run.
    pub errors: Vec<CauseCount>,
}

/// An error and how often it occurred.
#[derive(Clone, Debug, Serialize)]
pub struct CauseCount {
    /// The cause.
    pub error: String,
    /// Occurrences.
    pub count: u64,
}

/// Index of p95 in the report's percentile arrays.
const P95: usize = 5;

/// The recovery from each of `events`.
pub fn recoveries(
    events: &[FaultEvent],
    history: &[HistoryEntry],
    failures: &[FailureRow],
    started_at_unix: f64,
    p95_limit_ms: Option<f64>,
) -> Vec<FaultRecovery> {
    // (end of the second, requests, failures, p95) of the Aggregated rows.
    let seconds: Vec<(f64, u64, u64, f64)> = history
        .iter()
        .filter_map(|h| {
            let total = h
                .rows
                .iter()
                .find(|r| r.name == "Aggregated" && r.kind.is_empty())?;
            Some((
                h.elapsed_s,
                total.requests,
                total.failures,
                total.percentiles_ms.0[P95],
            ))
        })
        .collect();
    let disturbed = |&(_, requests, failures, p95): &(f64, u64, u64, f64)| {
        failures > 0 || requests == 0 || p95_limit_ms.is_some_and(|limit| p95 > limit)
    };
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let at = event.at_s;
            // A fault's window ends at the next fault; a `start_target`
            // belongs to the `kill_target` before it, whose recovery runs
            // on through it.
            let window_end = events[i + 1..]
                .iter()
                .find(|e| e.action != "start_target")
                .map_or(f64::INFINITY, |e| e.at_s);
            let after: Vec<_> = seconds
                .iter()
                .filter(|s| s.0 > at && s.0 - 1.0 < window_end)
                .collect();
            let first_bad = after.iter().position(|s| disturbed(s));
            let (first_success_s, recovery_s, failed_requests) = match first_bad {
                // The run ended before a whole second after the fault: no
                // evidence either way.
                None if after.is_empty() => (None, None, 0),
                None => (Some(0.0), Some(0.0), 0),
                Some(d) => {
                    let bad = after[d];
                    // A success in the first disturbed second may predate
                    // the fault; count it only when that second failed
                    // nothing.
                    let ok = after
                        .iter()
                        .enumerate()
                        .skip(d)
                        .position(|(j, s)| s.1 > s.2 && (j > d || bad.2 == 0));
                    let first_ok = ok.map(|o| d + o);
                    let back = first_ok.and_then(|f| {
                        after
                            .iter()
                            .skip(f)
                            .position(|s| !disturbed(s))
                            .map(|o| f + o)
                    });
                    let failed = after[d..back.unwrap_or(after.len())]
                        .iter()
                        .map(|s| s.2)
                        .sum();
                    (
                        first_ok.map(|f| round1(after[f].0 - at)),
                        back.map(|b| round1(after[b].0 - at)),
                        failed,
                    )
                }
            };
            let from = started_at_unix + at;
            let until = started_at_unix + window_end;
            let errors = failures
                .iter()
                .filter(|f| f.first_seen >= from - 0.5 && f.first_seen < until)
                .map(|f| CauseCount {
                    error: format!("{} {}: {}", f.method, f.name, f.error),
                    count: f.occurrences,
                })
                .collect();
            FaultRecovery {
                event: event.clone(),
                first_success_s,
                recovery_s,
                p95_limit_ms,
                failed_requests,
                errors,
            }
        })
        .collect()
}

/// One line per fault for the terminal summary, and its errors.
pub fn render(f: &FaultRecovery, out: &mut String) {
    use std::fmt::Write as _;
    let secs =
        |v: Option<f64>| v.map_or("not by the end of the run".into(), |s| format!("{s:.1} s"));
    let limit = f.p95_limit_ms.map_or(String::new(), |l| {
        format!(" and p95 under {} ms", crate::units::format_ms(l))
    });
    let _ = writeln!(
        out,
        " Fault        {} at {:.1} s{}: first success after {}, recovered (no failures{limit}) after {}; {} failed requests",
        f.event.action,
        f.event.at_s,
        f.event.error.as_ref().map_or(String::new(), |e| format!(" (FAILED: {e})")),
        secs(f.first_success_s),
        secs(f.recovery_s),
        f.failed_requests,
    );
    for e in f.errors.iter().take(5) {
        let _ = writeln!(out, "                {} × {}", e.count, e.error);
    }
}

/// Rounds to a tenth.
fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{HistoryRow, HistoryTotal, Percentiles};

    fn second(end: f64, requests: u64, failures: u64, p95: f64) -> HistoryEntry {
        let mut p = [1.0; 11];
        p[P95] = p95;
        HistoryEntry {
            elapsed_s: end,
            timestamp: 1_000 + end as u64,
            users: 1,
            target: 1.0,
            rows: vec![HistoryRow {
                kind: String::new(),
                name: "Aggregated".into(),
                requests,
                failures,
                rps: requests as f64,
                fail_per_s: failures as f64,
                percentiles_ms: Percentiles(p),
                total: HistoryTotal {
                    requests: 0,
                    failures: 0,
                    median_ms: 0.0,
                    mean_ms: 0.0,
                    min_ms: 0.0,
                    max_ms: 0.0,
                    avg_bytes: 0.0,
                },
            }],
        }
    }

    fn event(at: f64) -> FaultEvent {
        FaultEvent {
            action: "restart_target".into(),
            planned_s: at,
            at_s: at,
            done_s: at,
            error: None,
        }
    }

    #[test]
    fn a_restart_recovers_when_errors_stop_and_latency_settles() {
        let history = vec![
            second(1.0, 100, 0, 2.0),
            second(2.0, 100, 0, 2.0),
            second(3.0, 40, 30, 2.0),  // the kill: failures
            second(4.0, 50, 50, 1.0),  // refused
            second(5.0, 60, 10, 80.0), // back, slow
            second(6.0, 100, 0, 70.0), // slow
            second(7.0, 100, 0, 3.0),  // recovered
        ];
        let failures = vec![FailureRow {
            method: "POST".into(),
            name: "push".into(),
            error: "connection refused".into(),
            occurrences: 90,
            first_seen: 1_002.3,
            last_seen: 1_004.2,
        }];
        let r = recoveries(&[event(2.2)], &history, &failures, 1_000.0, Some(50.0));
        assert_eq!(r[0].first_success_s, Some(2.8), "{r:?}");
        assert_eq!(r[0].recovery_s, Some(4.8));
        assert_eq!(r[0].failed_requests, 90);
        assert_eq!(r[0].errors.len(), 1);
        assert_eq!(r[0].errors[0].count, 90);
    }

    #[test]
    fn a_fault_that_disturbs_nothing_recovers_at_once_and_one_that_never_ends_does_not() {
        let calm = vec![second(1.0, 10, 0, 1.0), second(2.0, 10, 0, 1.0)];
        let r = recoveries(&[event(0.5)], &calm, &[], 0.0, Some(50.0));
        assert_eq!(
            (r[0].first_success_s, r[0].recovery_s),
            (Some(0.0), Some(0.0))
        );
        let dead = vec![
            second(1.0, 10, 0, 1.0),
            second(2.0, 5, 5, 1.0),
            second(3.0, 0, 0, 0.0),
        ];
        let r = recoveries(&[event(1.2)], &dead, &[], 0.0, None);
        assert_eq!((r[0].first_success_s, r[0].recovery_s), (None, None));
    }

    #[test]
    fn a_pause_counts_from_the_stall_to_the_first_answers() {
        let history = vec![
            second(1.0, 50, 0, 1.0),
            second(2.0, 10, 0, 1.0),    // paused at 1.5
            second(3.0, 0, 0, 0.0),     // nothing answers
            second(4.0, 60, 0, 2100.0), // the backlog completes, slow
            second(5.0, 50, 0, 1.0),
        ];
        let r = recoveries(&[event(1.5)], &history, &[], 0.0, Some(50.0));
        assert_eq!(r[0].first_success_s, Some(2.5));
        assert_eq!(r[0].recovery_s, Some(3.5));
    }

    #[test]
    fn a_pause_then_a_kill_and_start_each_recover() {
        let rows = [
            (1.004, 40, 0, 5.3),
            (2.005, 0, 0, 0.0),
            (3.004, 80, 0, 917.5),
            (4.005, 40, 0, 5.6),
            (5.004, 41, 1, 5.8),
            (6.004, 40, 40, 0.5),
            (7.004, 40, 0, 7.3),
        ];
        let history: Vec<HistoryEntry> = rows
            .iter()
            .map(|&(e, r, f, p)| second(e, r, f, p))
            .collect();
        let named = |at: f64, action: &str| FaultEvent {
            action: action.into(),
            ..event(at)
        };
        let events = [
            named(1.0001, "pause_target 1.00s"),
            named(5.0001, "kill_target"),
            named(6.0001, "start_target"),
        ];
        let r = recoveries(&events, &history, &[], 0.0, None);
        assert_eq!(r[0].first_success_s, Some(2.0), "{:?}", r[0]);
        assert_eq!(r[0].recovery_s, Some(2.0), "{:?}", r[0]);
        assert_eq!(
            r[1].recovery_s,
            Some(2.0),
            "the kill runs on through the start"
        );
        assert_eq!(r[2].recovery_s, Some(1.0));
    }
}
