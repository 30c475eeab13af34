//! The regression rules and how one row is judged by them.
//!
//! - A latency percentile (p50, p95, p99) regresses when NEW exceeds BASE by
//!   more than `max_regression` (a fraction of BASE) *and* by at least
//!   `min_delta_ms`: a 0.2 ms row that becomes 0.4 ms is noise, not a 100 %
//!   regression.
//! - Throughput (rps) regresses when NEW is below BASE by more than
//!   `max_regression` of BASE.
//! - The error rate regresses when it grows by more than
//!   `max_error_increase` percentage points (1 by default once
//!   `max_regression` is given): 0 % → 0.5 % passes, 0 % → 5 % fails,
//!   whatever the relative change.
//! - The same changes in the other direction mark the metric `improved`.
//! - Metrics missing on a side (no requests) and rows on one side only are
//!   listed but never judged. Without any rule nothing is judged.

use serde::Serialize;

use super::{Mark, Measures, Metric, MetricDelta, Presence, RowComparison};

/// The error-rate budget, in percentage points, when only
/// `max_regression` is given.
pub const DEFAULT_MAX_ERROR_INCREASE: f64 = 1.0;

/// What counts as a regression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rules {
    /// Largest allowed relative change of latency (up) and rps (down), as a
    /// fraction (0.1 = 10 %); none: latency and rps are not judged.
    pub max_regression: Option<f64>,
    /// Largest allowed growth of the error rate, percentage points; none:
    /// [`DEFAULT_MAX_ERROR_INCREASE`] when `max_regression` is given, else
    /// the error rate is not judged.
    pub max_error_increase: Option<f64>,
    /// Latency changes smaller than this (ms) never count.
    pub min_delta_ms: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            max_regression: None,
            max_error_increase: None,
            min_delta_ms: 1.0,
        }
    }
}

impl Rules {
    /// Whether any rule is set (otherwise compare only reports).
    pub fn judging(&self) -> bool {
        self.max_regression.is_some() || self.max_error_increase.is_some()
    }

    /// The error-rate budget in force, percentage points.
    pub fn error_limit(&self) -> Option<f64> {
        self.max_error_increase
            .or(self.max_regression.map(|_| DEFAULT_MAX_ERROR_INCREASE))
    }

    /// The rules in words, for the table's heading.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = self.max_regression {
            parts.push(format!(
                "latency up or rps down by more than {}% (latency changes under {} ms ignored)",
                trim(r * 100.0),
                trim(self.min_delta_ms)
            ));
        }
        if let Some(e) = self.error_limit() {
            parts.push(format!(
                "error rate up by more than {} percentage point{}",
                trim(e),
                if e == 1.0 { "" } else { "s" }
            ));
        }
        if parts.is_empty() {
            "no regression rule (--max-regression): report only".into()
        } else {
            format!("regression: {}", parts.join("; "))
        }
    }

    /// Judges one metric.
    fn judge(&self, metric: Metric, base: f64, new: f64) -> Mark {
        let delta = new - base;
        match metric {
            Metric::P50 | Metric::P95 | Metric::P99 => match self.max_regression {
                None => Mark::Unjudged,
                Some(r) if delta >= self.min_delta_ms && new > base * (1.0 + r) => Mark::Regressed,
                Some(r) if -delta >= self.min_delta_ms && new < base * (1.0 - r) => Mark::Improved,
                Some(_) => Mark::Ok,
            },
            Metric::Rps => match self.max_regression {
                None => Mark::Unjudged,
                Some(r) if new < base * (1.0 - r) => Mark::Regressed,
                Some(r) if new > base * (1.0 + r) => Mark::Improved,
                Some(_) => Mark::Ok,
            },
            Metric::ErrorRate => match self.error_limit() {
                None => Mark::Unjudged,
                Some(pp) if delta > pp => Mark::Regressed,
                Some(pp) if -delta > pp => Mark::Improved,
                Some(_) => Mark::Ok,
            },
        }
    }
}

/// `12.50` → `12.5`, `10.00` → `10`.
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Compares one row; none when it is on neither side.
pub(super) fn row(
    base: Option<&Measures>,
    new: Option<&Measures>,
    rules: &Rules,
) -> Option<RowComparison> {
    let any = base.or(new)?;
    let presence = match (base, new) {
        (Some(_), Some(_)) => Presence::Both,
        (None, _) => Presence::Added,
        (_, None) => Presence::Removed,
    };
    let metrics: Vec<MetricDelta> = Metric::ALL
        .iter()
        .map(|&metric| {
            let b = base.and_then(|m| m.value(metric));
            let n = new.and_then(|m| m.value(metric));
            let delta = b.zip(n).map(|(b, n)| n - b);
            let percent = b
                .zip(n)
                .filter(|(b, _)| *b > 0.0)
                .map(|(b, n)| 100.0 * (n - b) / b);
            let mark = match (b, n) {
                (Some(b), Some(n)) => rules.judge(metric, b, n),
                _ => Mark::Unjudged,
            };
            MetricDelta {
                metric,
                base: b,
                new: n,
                delta,
                percent,
                mark,
            }
        })
        .collect();
    let marks = || metrics.iter().map(|m| m.mark);
    let verdict = if marks().any(|m| m == Mark::Regressed) {
        Mark::Regressed
    } else if marks().any(|m| m == Mark::Improved) {
        Mark::Improved
    } else if marks().any(|m| m == Mark::Ok) {
        Mark::Ok
    } else {
        Mark::Unjudged
    };
    Some(RowComparison {
        kind: any.kind.clone(),
        name: any.name.clone(),
        presence,
        metrics,
        verdict,
    })
}

/// A value the user gave for a budget that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{input}': expected {expected}")]
pub struct BudgetError {
    what: &'static str,
    input: String,
    expected: &'static str,
}

/// Parses a relative budget: `10%` or `0.1` (both a tenth); a bare number
/// above 1 is refused because `10` would mean 1000 %.
pub fn parse_fraction(input: &str) -> Result<f64, BudgetError> {
    let err = || BudgetError {
        what: "fraction",
        input: input.into(),
        expected: "a percentage such as 10% or 2.5%, or a fraction such as 0.1",
    };
    let s = input.trim();
    let value = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map_err(|_| err())? / 100.0,
        None => {
            let v = s.parse::<f64>().map_err(|_| err())?;
            if v > 1.0 {
                return Err(err());
            }
            v
        }
    };
    (value.is_finite() && value >= 0.0)
        .then_some(value)
        .ok_or_else(err)
}

/// Parses percentage points: `1%`, `0.5%`, or the bare number `1`.
pub fn parse_points(input: &str) -> Result<f64, BudgetError> {
    let err = || BudgetError {
        what: "percentage points",
        input: input.into(),
        expected: "percentage points such as 1%, 0.5% or 2",
    };
    let s = input.trim();
    let s = s.strip_suffix('%').unwrap_or(s).trim();
    let v = s.parse::<f64>().map_err(|_| err())?;
    (v.is_finite() && (0.0..=100.0).contains(&v))
        .then_some(v)
        .ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(max: f64) -> Rules {
        Rules {
            max_regression: Some(max),
            ..Rules::default()
        }
    }

    #[test]
    fn latency_regresses_beyond_the_fraction_and_the_floor() {
        let r = rules(0.10);
        assert_eq!(r.judge(Metric::P95, 50.0, 56.0), Mark::Regressed);
        assert_eq!(r.judge(Metric::P95, 50.0, 54.0), Mark::Ok);
        assert_eq!(r.judge(Metric::P95, 50.0, 40.0), Mark::Improved);
        // +100 % but only 0.4 ms: under the 1 ms floor.
        assert_eq!(r.judge(Metric::P50, 0.4, 0.8), Mark::Ok);
        let fine = Rules {
            min_delta_ms: 0.1,
            ..rules(0.10)
        };
        assert_eq!(fine.judge(Metric::P50, 0.4, 0.8), Mark::Regressed);
    }

    #[test]
    fn throughput_regresses_when_it_drops() {
        let r = rules(0.10);
        assert_eq!(r.judge(Metric::Rps, 100.0, 85.0), Mark::Regressed);
        assert_eq!(r.judge(Metric::Rps, 100.0, 95.0), Mark::Ok);
        assert_eq!(r.judge(Metric::Rps, 100.0, 150.0), Mark::Improved);
    }

    #[test]
    fn error_rate_regresses_by_percentage_points() {
        let r = rules(0.10);
        assert_eq!(r.error_limit(), Some(DEFAULT_MAX_ERROR_INCREASE));
        assert_eq!(r.judge(Metric::ErrorRate, 0.0, 0.5), Mark::Ok);
        assert_eq!(r.judge(Metric::ErrorRate, 0.0, 5.0), Mark::Regressed);
        assert_eq!(r.judge(Metric::ErrorRate, 5.0, 0.0), Mark::Improved);
        let only_errors = Rules {
            max_error_increase: Some(0.1),
            ..Rules::default()
        };
        assert!(only_errors.judging());
        assert_eq!(
            only_errors.judge(Metric::ErrorRate, 0.0, 0.5),
            Mark::Regressed
        );
        assert_eq!(only_errors.judge(Metric::P99, 1.0, 100.0), Mark::Unjudged);
    }

    #[test]
    fn without_rules_nothing_is_judged() {
        let r = Rules::default();
        assert!(!r.judging());
        for m in Metric::ALL {
            assert_eq!(r.judge(m, 1.0, 1000.0), Mark::Unjudged);
        }
        assert!(r.describe().contains("report only"));
    }

    #[test]
    fn a_row_takes_its_worst_mark_and_skips_missing_metrics() {
        let base = super::super::tests::row("GET", "/a", [10.0, 20.0, 30.0], 100.0, 100, 0);
        let mut new = base.clone();
        new.p99_ms = Some(60.0);
        new.rps = 200.0;
        let c = row(Some(&base), Some(&new), &rules(0.1)).expect("a row");
        assert_eq!(c.verdict, Mark::Regressed);
        let p99 = &c.metrics[2];
        assert_eq!((p99.delta, p99.percent), (Some(30.0), Some(100.0)));
        let empty = Measures {
            requests: 0,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            rps: 0.0,
            ..base.clone()
        };
        let c = row(Some(&empty), Some(&new), &rules(0.1)).expect("a row");
        assert_eq!(c.metrics[0].mark, Mark::Unjudged);
        assert_eq!(c.metrics[3].percent, None, "no percentage of zero");
        assert_eq!(c.verdict, Mark::Improved, "rps 0 → 200");
    }

    #[test]
    fn budgets_parse_as_percentages_or_fractions() {
        assert_eq!(parse_fraction("10%"), Ok(0.1));
        assert_eq!(parse_fraction("0.25"), Ok(0.25));
        assert_eq!(parse_fraction(" 2.5 % "), Ok(0.025));
        for bad in ["10", "-5%", "x", "", "%"] {
            let e = parse_fraction(bad).expect_err(bad);
            assert!(e.to_string().contains("10%"), "{e}");
        }
        assert_eq!(parse_points("1%"), Ok(1.0));
        assert_eq!(parse_points("0.5"), Ok(0.5));
        assert!(parse_points("150%").is_err());
    }
}
