//! Pass/fail criteria: `p95<100ms`, `p99.9<1s`, `errors<1%`, `rps>500`,
//! optionally for one row (`"POST /jobs": p99<200ms`) or the rows whose
//! names start with a prefix (`"publish*": p99<50ms`, `e2e.p99<50ms`);
//! and on the MQTT delivery audit: `lost=0`, `lost<0.1%`, `duplicated=0`,
//! `out_of_order=0`.

use std::fmt;

use crate::metrics::StatCounters;
use crate::protocols::mqtt::audit::AuditSummary;
use crate::units;

/// What a threshold measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// A latency percentile (0..=100), ms.
    Percentile(f64),
    /// Mean latency, ms.
    Mean,
    /// Smallest latency, ms.
    Min,
    /// Largest latency, ms.
    Max,
    /// Failed share of requests, percent.
    ErrorRate,
    /// Failed requests, count.
    Errors,
    /// Requests per second over the run.
    Rps,
    /// Completed requests, count.
    Requests,
    /// Audited MQTT messages owed and never delivered, count.
    Lost,
    /// Lost share of the owed audited messages, percent.
    LostRate,
    /// Duplicate deliveries of audited messages, count.
    Duplicated,
    /// Out-of-order deliveries of audited messages, count.
    OutOfOrder,
}

impl Metric {
    /// True for the metrics of the MQTT delivery audit, which are measured
    /// on the audit, not on rows.
    pub fn is_audit(self) -> bool {
        matches!(
            self,
            Metric::Lost | Metric::LostRate | Metric::Duplicated | Metric::OutOfOrder
        )
    }
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=` or `==`
    Eq,
}

impl Op {
    fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
            Op::Eq => (actual - limit).abs() < 1e-9,
        }
    }
}

/// One criterion.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// The row it applies to, or all requests.
    pub name: Option<String>,
    /// What it measures.
    pub metric: Metric,
    /// How it compares.
    pub op: Op,
    /// The limit, in the metric's unit (ms, percent, count, per second).
    pub limit: f64,
    /// The expression as written.
    pub text: String,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) if n == E2E_ROWS => f.write_str(&self.text),
            Some(n) => write!(f, "\"{n}\": {}", self.text),
            None => f.write_str(&self.text),
        }
    }
}

const FORMS: &str = "expected METRIC OP VALUE such as p95<100ms, p99.9<1s, avg<50ms, max<2s, errors<1%, errors=0, rps>500, requests>=1000, e2e.p99<50ms, lost=0, lost<0.1%, duplicated=0, out_of_order=0";

/// The rows `e2e.METRIC` applies to: every end-to-end latency row.
const E2E_ROWS: &str = "e2e*";

/// Parses a command-line threshold: `EXPR` or `NAME: EXPR` (the name may be
/// quoted: `"POST /jobs": p99<200ms`).
pub fn parse(text: &str) -> Result<Threshold, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('"') {
        let (name, tail) = rest
            .split_once('"')
            .ok_or_else(|| format!("invalid threshold '{text}': unterminated quote"))?;
        let expr = tail.trim_start().strip_prefix(':').ok_or_else(|| {
            format!("invalid threshold '{text}': expected ':' after the quoted name")
        })?;
        return parse_expr(Some(name.to_string()), expr);
    }
    match text.rsplit_once(':') {
        Some((name, expr)) => parse_expr(Some(name.trim().to_string()), expr),
        None => parse_expr(None, text),
    }
}

/// Parses `METRIC OP VALUE` for the row `name` (or all requests).
pub fn parse_expr(name: Option<String>, expr: &str) -> Result<Threshold, String> {
    let expr = expr.trim();
    let bad = |why: &str| format!("invalid threshold '{expr}': {why}; {FORMS}");
    let op_at = expr
        .find(['<', '>', '='])
        .ok_or_else(|| bad("no comparison"))?;
    let metric_text = expr[..op_at].trim().to_ascii_lowercase();
    let rest = &expr[op_at..];
    if let Some(metric) = metric_text.strip_prefix("e2e.") {
        if name.is_some() {
            return Err(bad("`e2e.` already names the rows (every e2e row)"));
        }
        let mut t = parse_expr(Some(E2E_ROWS.to_string()), &format!("{metric}{rest}"))?;
        t.text = expr.to_string();
        return Ok(t);
    }
    let (op, value_text) = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("=", Op::Eq),
    ]
    .iter()
    .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (*op, v.trim())))
    .ok_or_else(|| bad("no comparison"))?;
    let latency = |v: &str| -> Result<f64, String> {
        if let Ok(n) = v.parse::<f64>() {
            return Ok(n); // bare numbers are milliseconds
        }
        units::parse_duration(v)
            .map(|d| d.as_secs_f64() * 1000.0)
            .map_err(|_| bad(&format!("'{v}' is not a duration")))
    };
    let number = |v: &str| -> Result<f64, String> {
        let v = v.strip_suffix("/s").unwrap_or(v);
        units::parse_count(v)
            .map(|n| n as f64)
            .or_else(|_| v.parse::<f64>())
            .map_err(|_| bad(&format!("'{v}' is not a number")))
    };
    let (metric, limit) = match metric_text.as_str() {
        "median" => (Metric::Percentile(50.0), latency(value_text)?),
        "avg" | "mean" => (Metric::Mean, latency(value_text)?),
        "min" => (Metric::Min, latency(value_text)?),
        "max" => (Metric::Max, latency(value_text)?),
        "rps" => (Metric::Rps, number(value_text)?),
        "requests" => (Metric::Requests, number(value_text)?),
        "errors" | "failures" | "error_rate" => match value_text.strip_suffix('%') {
            Some(p) => (
                Metric::ErrorRate,
                p.trim()
                    .parse::<f64>()
                    .map_err(|_| bad(&format!("'{value_text}' is not a percentage")))?,
            ),
            None if metric_text == "error_rate" => {
                return Err(bad("error_rate needs a percentage such as 1%"))
            }
            None => (Metric::Errors, number(value_text)?),
        },
        "lost" => match value_text.strip_suffix('%') {
            Some(p) => (
                Metric::LostRate,
                p.trim()
                    .parse::<f64>()
                    .map_err(|_| bad(&format!("'{value_text}' is not a percentage")))?,
            ),
            None => (Metric::Lost, number(value_text)?),
        },
        "duplicated" | "duplicates" => (Metric::Duplicated, number(value_text)?),
        "out_of_order" => (Metric::OutOfOrder, number(value_text)?),
        m => match m.strip_prefix('p').and_then(|p| p.parse::<f64>().ok()) {
            Some(p) if (0.0..=100.0).contains(&p) => (Metric::Percentile(p), latency(value_text)?),
            _ => return Err(bad(&format!("unknown metric '{m}'"))),
        },
    };
    let name = name.filter(|n| !n.is_empty());
    if name.is_some() && metric.is_audit() {
        return Err(bad(&format!(
            "'{metric_text}' counts the whole delivery audit; it takes no row name"
        )));
    }
    Ok(Threshold {
        name,
        metric,
        op,
        limit,
        text: expr.to_string(),
    })
}

impl Threshold {
    /// The measured value for `counters` over `seconds` of run time, in the
    /// metric's unit.
    pub fn measure(&self, counters: &StatCounters, seconds: f64) -> f64 {
        let l = &counters.latency;
        match self.metric {
            Metric::Percentile(p) => l.percentile_ms(p),
            Metric::Mean => l.mean_ms(),
            Metric::Min => l.min_ms(),
            Metric::Max => l.max_ms(),
            Metric::ErrorRate if counters.requests == 0 => 0.0,
            Metric::ErrorRate => 100.0 * counters.failures as f64 / counters.requests as f64,
            Metric::Errors => counters.failures as f64,
            Metric::Rps if seconds > 0.0 => counters.requests as f64 / seconds,
            Metric::Rps => 0.0,
            Metric::Requests => counters.requests as f64,
            // Measured on the audit, not on rows (see `measure_audit`).
            Metric::Lost | Metric::LostRate | Metric::Duplicated | Metric::OutOfOrder => 0.0,
        }
    }

    /// True for the metrics of the MQTT delivery audit.
    pub fn on_audit(&self) -> bool {
        self.metric.is_audit()
    }

    /// The measured value of an audit metric.
    pub fn measure_audit(&self, a: &AuditSummary) -> f64 {
        match self.metric {
            Metric::Lost => a.lost as f64,
            Metric::LostRate if a.owed == 0 => 0.0,
            Metric::LostRate => 100.0 * a.lost as f64 / a.owed as f64,
            Metric::Duplicated => a.duplicated as f64,
            Metric::OutOfOrder => a.out_of_order as f64,
            _ => 0.0,
        }
    }

    /// True for latency metrics, which cannot hold without samples.
    pub fn needs_samples(&self) -> bool {
        matches!(
            self.metric,
            Metric::Percentile(_) | Metric::Mean | Metric::Min | Metric::Max
        )
    }

    /// True when `actual` meets the criterion.
    pub fn passes(&self, actual: f64) -> bool {
        self.op.holds(actual, self.limit)
    }

    /// `actual` formatted in the metric's unit.
    pub fn format_value(&self, actual: f64) -> String {
        match self.metric {
            Metric::Percentile(_) | Metric::Mean | Metric::Min | Metric::Max => {
                units::format_duration(std::time::Duration::from_secs_f64(actual.max(0.0) / 1000.0))
            }
            Metric::ErrorRate | Metric::LostRate => format!("{actual:.2}%"),
            Metric::Rps => format!("{actual:.1}/s"),
            Metric::Errors
            | Metric::Requests
            | Metric::Lost
            | Metric::Duplicated
            | Metric::OutOfOrder => format!("{actual:.0}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_every_form() {
        let t = parse("p95<100ms").expect("valid");
        assert_eq!(
            (t.metric, t.op, t.limit, t.name.clone()),
            (Metric::Percentile(95.0), Op::Lt, 100.0, None)
        );
        assert_eq!(parse("p99.9 < 1s").expect("valid").limit, 1000.0);
        assert_eq!(parse("errors<1%").expect("valid").metric, Metric::ErrorRate);
        assert_eq!(parse("errors=0").expect("valid").metric, Metric::Errors);
        assert_eq!(parse("rps>500").expect("valid").op, Op::Gt);
        assert_eq!(parse("rps>=2k").expect("valid").limit, 2000.0);
        assert_eq!(parse("avg<=50").expect("valid").limit, 50.0);
        let t = parse("\"POST /jobs\": p99<200ms").expect("valid");
        assert_eq!(t.name.as_deref(), Some("POST /jobs"));
        assert_eq!(t.to_string(), "\"POST /jobs\": p99<200ms");
        let t = parse("job completed: p95 < 5s").expect("valid");
        assert_eq!(
            (t.name.as_deref(), t.limit),
            (Some("job completed"), 5000.0)
        );
        let t = parse("http://x/y: max<1s").expect("valid");
        assert_eq!(t.name.as_deref(), Some("http://x/y"));
    }

    #[test]
    fn parses_the_mqtt_forms() {
        let t = parse("e2e.p99<50ms").expect("valid");
        assert_eq!(
            (t.name.as_deref(), t.metric, t.limit),
            (Some("e2e*"), Metric::Percentile(99.0), 50.0)
        );
        assert_eq!(t.to_string(), "e2e.p99<50ms");
        assert_eq!(parse("lost=0").expect("valid").metric, Metric::Lost);
        assert_eq!(parse("lost<0.1%").expect("valid").metric, Metric::LostRate);
        assert_eq!(
            parse("duplicated=0").expect("valid").metric,
            Metric::Duplicated
        );
        assert_eq!(parse("out_of_order<=3").expect("valid").limit, 3.0);
        let a = AuditSummary {
            owed: 1000,
            lost: 2,
            ..AuditSummary::default()
        };
        let rate = parse("lost<0.1%").expect("valid");
        assert_eq!(rate.measure_audit(&a), 0.2);
        assert!(!rate.passes(0.2));
        assert!(parse("\"x\": lost=0")
            .expect_err("no row")
            .contains("takes no row name"));
    }

    #[test]
    fn rejects_with_the_accepted_forms() {
        for bad in [
            "p95",
            "p95<fast",
            "q95<1s",
            "p101<1s",
            "errors<lots",
            "\"x: p95<1s",
            "error_rate<3",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains("invalid threshold"), "{e}");
        }
        assert!(parse("latency<1s")
            .expect_err("unknown")
            .contains("p95<100ms"));
    }

    #[test]
    fn measures_and_compares() {
        let mut c = StatCounters::default();
        for ms in 1..=100 {
            c.latency.record(Duration::from_millis(ms));
        }
        c.requests = 100;
        c.failures = 2;
        let p95 = parse("p95<100ms").expect("valid");
        let v = p95.measure(&c, 10.0);
        assert!((v - 95.0).abs() < 0.2 && p95.passes(v));
        let errors = parse("errors<1%").expect("valid");
        assert_eq!(errors.measure(&c, 10.0), 2.0);
        assert!(!errors.passes(2.0));
        assert_eq!(parse("rps>5").expect("valid").measure(&c, 10.0), 10.0);
        assert_eq!(errors.format_value(2.0), "2.00%");
    }
}
