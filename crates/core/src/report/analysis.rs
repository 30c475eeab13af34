//! Reading the numbers for the user: a backlog hidden behind fast requests
//! (seed 001's lesson), a saturated generator, late arrivals, a dead target.

use super::build::{Generator, Report, Spread};
use super::model::Warning;
use crate::engine::{Model, RunOutcome};
use crate::metrics::{HistoryPoint, RowKind};
use crate::units::{format_duration, format_ms};

/// Generator CPU above this share of its threads counts as saturated.
const SATURATED_CPU: f64 = 0.9;
/// Event-loop lag above this (p99, ms) counts as saturated.
const SATURATED_LAG_MS: f64 = 50.0;

/// The generator's resource use over the run.
pub fn generator(outcome: &RunOutcome) -> Generator {
    let samples = &outcome.resources;
    let cpu: Vec<f64> = samples.iter().map(|s| s.cpu_percent).collect();
    let cpu_avg = if cpu.is_empty() {
        0.0
    } else {
        cpu.iter().sum::<f64>() / cpu.len() as f64
    };
    let cpu_max = cpu.iter().copied().fold(0.0, f64::max);
    let rss = samples.iter().map(|s| s.rss_bytes).max().unwrap_or(0);
    let lag = outcome.aggregate.lag();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let usable = outcome.config.threads.min(cores).max(1) as f64;
    let saturated =
        cpu_avg >= SATURATED_CPU * 100.0 * usable || lag.percentile_ms(99.0) > SATURATED_LAG_MS;
    Generator {
        threads: outcome.config.threads,
        cpu_percent_avg: round1(cpu_avg),
        cpu_percent_max: round1(cpu_max),
        rss_mb_peak: round1(rss as f64 / 1e6),
        lag_ms: Spread::of(lag),
        saturated,
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Every warning that applies to this run.
pub fn warnings(report: &Report, outcome: &RunOutcome) -> Vec<Warning> {
    let mut out = Vec::new();
    let total = &report.total;
    if total.requests > 0 && total.failures == total.requests {
        let top = report.failures.iter().max_by_key(|f| f.occurrences);
        let cause = top.map_or(String::new(), |f| {
            format!(": {} ({}×)", f.error, f.occurrences)
        });
        // Answers that were wrong (a status, a check) say the target is up;
        // only transport failures raise the question whether it is.
        let answered = top.is_some_and(|f| {
            ["HTTP ", "check failed", "extract ", "template "]
                .iter()
                .any(|p| f.error.starts_with(p))
        });
        let host = report.host.as_deref().unwrap_or("the target");
        let hint = if answered {
            String::new()
        } else {
            format!(" — is {host} up and reachable?")
        };
        out.push(Warning {
            kind: "no_success",
            message: format!("no request succeeded{cause}{hint}"),
        });
    }
    let interrupted = report.interrupted_requests();
    if total.requests == 0 && interrupted > 0 {
        let host = report.host.as_deref().unwrap_or("the target");
        out.push(Warning {
            kind: "no_response",
            message: format!(
                "no request completed: {interrupted} were still waiting for {host} when the run ended — it accepted connections but did not answer within the run"
            ),
        });
    }
    let history = outcome.aggregate.history();
    for (id, key) in outcome.aggregate.table().iter() {
        // Completion times (POLL rows) are where a backlog shows.
        if key.row != RowKind::Derived {
            continue;
        }
        if let Some(message) = backlog(&key.name, history, |p| row_median(p, Some(id))) {
            out.push(Warning {
                kind: "backlog",
                message,
            });
        }
        let unfinished = outcome.aggregate.total(id).interrupted;
        if unfinished > 0 {
            out.push(Warning {
                kind: "unfinished",
                message: format!(
                    "{unfinished} '{}' measurements were still waiting when the run ended; their times are not in the percentiles, which therefore understate it",
                    key.name
                ),
            });
        }
    }
    let g = &report.generator;
    if g.saturated {
        out.push(Warning {
            kind: "generator_saturated",
            message: format!(
                "the generator was saturated (CPU {:.0}% of {} thread(s), event-loop lag p99 {} ms): its own queueing is in the latencies, so they overstate the target's and the throughput understates it; add --threads or machines, or lower the load",
                g.cpu_percent_avg, g.threads, format_ms(g.lag_ms.p99)
            ),
        });
    }
    let a = &report.arrivals;
    if let Model::Open { max_users } = outcome.config.model {
        if a.late > 0 || a.never_started > 0 {
            out.push(Warning {
                kind: "late_arrivals",
                message: format!(
                    "open model: {} of {} arrivals started more than {} ms late (delay p99 {} ms, max {} ms), {} waited for a free user (max-users {max_users}), {} never started; latencies count from the intended start, so the percentiles include that wait",
                    a.late, a.started, a.late_after_ms, format_ms(a.delay_ms.p99), format_ms(a.delay_ms.max), a.queued, a.never_started
                ),
            });
        }
    } else if a.started > 0 && a.late * 100 > a.started {
        out.push(Warning {
            kind: "late_arrivals",
            message: format!(
                "{} of {} iterations started more than {} ms after they were due (delay p99 {} ms): the pacing could not be kept, or the generator was busy",
                a.late, a.started, a.late_after_ms, format_ms(a.delay_ms.p99)
            ),
        });
    }
    for e in &report.errors {
        out.push(Warning {
            kind: "scenario_error",
            message: format!("{} ({}×)", e.message, e.count),
        });
    }
    out
}

/// Growth of completion time, in ms per second of load, below which it is
/// noise rather than a backlog.
const MIN_GROWTH_MS_PER_S: f64 = 50.0;

/// Median latency of a row (or of all requests) in one second, if any.
fn row_median(p: &HistoryPoint, stat: Option<crate::metrics::StatId>) -> Option<f64> {
    p.rows
        .iter()
        .find(|r| r.stat == stat && r.interval.requests > 0)
        .map(|r| r.interval.median_ms())
}

/// The backlog warning for one completion metric, if its latency kept
/// rising while request latency stayed flat.
fn backlog(
    name: &str,
    history: &[HistoryPoint],
    completion: impl Fn(&HistoryPoint) -> Option<f64>,
) -> Option<String> {
    let series: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|p| completion(p).map(|v| (p.elapsed.as_secs_f64(), v)))
        .collect();
    let (early, late) = early_late(&series)?;
    // Still rising in the second half: a queue that filled up and then held
    // steady (users that each wait for their own job) is not a backlog.
    let slope = slope(&series[series.len() / 2..]);
    let grew = late > early * 1.5 && late - early > 200.0 && slope > MIN_GROWTH_MS_PER_S;
    if !grew {
        return None;
    }
    let requests: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|p| row_median(p, None).map(|v| (p.elapsed.as_secs_f64(), v)))
        .collect();
    let (req_early, req_late) = early_late(&requests).unwrap_or((0.0, 0.0));
    let flat = req_late <= req_early * 1.5 + 5.0 || req_late - req_early < 0.1 * (late - early);
    if !flat {
        return None;
    }
    let ms = |v: f64| format_duration(std::time::Duration::from_secs_f64(v / 1000.0));
    Some(format!(
        "backlog: '{name}' took {} early in the run and {} at the end (+{:.2} s for every second of load) while request latency stayed flat (median {} → {}); the system accepts work faster than it completes it and falls about {:.2} s further behind every second — the queue keeps growing for as long as this load lasts",
        ms(early),
        ms(late),
        slope / 1000.0,
        ms(req_early),
        ms(req_late),
        slope / 1000.0,
    ))
}

/// Medians of the first and last third of a series (at least 4 points).
fn early_late(series: &[(f64, f64)]) -> Option<(f64, f64)> {
    if series.len() < 4 {
        return None;
    }
    let third = (series.len() / 3).max(1);
    let median = |part: &[(f64, f64)]| {
        let mut v: Vec<f64> = part.iter().map(|&(_, y)| y).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Some((
        median(&series[..third]),
        median(&series[series.len() - third..]),
    ))
}

/// Least-squares slope of y over x.
fn slope(series: &[(f64, f64)]) -> f64 {
    let n = series.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = series.iter().map(|p| p.0).sum::<f64>() / n;
    let my = series.iter().map(|p| p.1).sum::<f64>() / n;
    let num: f64 = series.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let den: f64 = series.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{HistoryRow, StatId, Summary};
    use std::time::Duration;

    fn point(t: u64, poll_ms: Option<f64>, request_ms: f64) -> HistoryPoint {
        let summary = |ms: f64| {
            let mut s = Summary {
                requests: 10,
                ..Summary::default()
            };
            s.percentiles_ms[0] = ms;
            s
        };
        let mut rows = Vec::new();
        if let Some(ms) = poll_ms {
            rows.push(HistoryRow {
                stat: Some(StatId(1)),
                interval: summary(ms),
                total: Summary::default(),
            });
        }
        rows.push(HistoryRow {
            stat: None,
            interval: summary(request_ms),
            total: Summary::default(),
        });
        HistoryPoint {
            elapsed: Duration::from_secs(t),
            timestamp: t,
            users: 1,
            target: 1.0,
            rows,
        }
    }

    fn warn(history: &[HistoryPoint]) -> Option<String> {
        backlog("job completed", history, |p| row_median(p, Some(StatId(1))))
    }

    #[test]
    fn rising_completion_with_flat_requests_is_a_backlog() {
        let h: Vec<_> = (1..=8)
            .map(|t| point(t, Some(400.0 * t as f64), 1.0))
            .collect();
        let w = warn(&h).expect("backlog");
        assert!(w.starts_with("backlog: 'job completed'"), "{w}");
        assert!(w.contains("+0.40 s for every second"), "{w}");
    }

    #[test]
    fn a_queue_that_filled_up_and_held_is_not() {
        let h: Vec<_> = (1..=20)
            .map(|t| point(t, Some(200.0 * t.min(8) as f64), 1.0))
            .collect();
        assert_eq!(warn(&h), None);
    }

    #[test]
    fn steady_completion_is_not() {
        let h: Vec<_> = (1..=8)
            .map(|t| point(t, Some(500.0 + (t % 2) as f64 * 50.0), 1.0))
            .collect();
        assert_eq!(warn(&h), None);
    }

    #[test]
    fn everything_slowing_down_is_overload_not_backlog() {
        let h: Vec<_> = (1..=8)
            .map(|t| point(t, Some(400.0 * t as f64), 300.0 * t as f64))
            .collect();
        assert_eq!(warn(&h), None);
    }

    #[test]
    fn too_few_points_say_nothing() {
        let h: Vec<_> = (1..=3)
            .map(|t| point(t, Some(1000.0 * t as f64), 1.0))
            .collect();
        assert_eq!(warn(&h), None);
    }

    #[test]
    fn slope_of_a_line() {
        assert!((slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) - 2.0).abs() < 1e-9);
    }
}
