//! The final summary printed after every run: request table, percentiles,
//! failures, connections, arrivals, the generator's health, warnings,
//! thresholds and the verdict.

use std::fmt::Write;

use super::build::{Report, Verdict};
use super::model::Row;
use crate::units::format_ms;

/// A simple text table with right-aligned numbers.
pub struct Table {
    rows: Vec<Vec<String>>,
    left: usize,
}

impl Table {
    /// A table whose first `left` columns are left-aligned.
    pub fn new(header: &[&str], left: usize) -> Table {
        Table {
            rows: vec![header.iter().map(|s| s.to_string()).collect()],
            left,
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as lines, two spaces between columns.
    pub fn render(&self, out: &mut String) {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c].saturating_sub(cell.chars().count());
                if c < self.left {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
                line.push_str("  ");
            }
            out.push(' ');
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

/// Shortens a name for a table cell.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

/// Rows in report order, then `Aggregated`.
fn rows(report: &Report) -> impl Iterator<Item = &Row> {
    report.stats.iter().chain([&report.total])
}

/// The summary text.
pub fn render(report: &Report, files: &[std::path::PathBuf]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\ncicada: {} → {} — {}; {:.1}s, ended by {}\n",
        report.scenario,
        report.host.as_deref().unwrap_or("-"),
        report.load.description,
        report.duration_s,
        serde_json::to_value(report.load.stopped_by)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
    );
    let mut t = Table::new(
        &[
            "Type", "Name", "# reqs", "# fails", "fail %", "req/s", "avg ms", "min ms", "max ms",
            "med ms", "p95 ms", "p99 ms",
        ],
        2,
    );
    for r in rows(report) {
        t.push(vec![
            r.kind.clone(),
            clip(&r.name, 40),
            r.requests.to_string(),
            r.failures.to_string(),
            format!("{:.2}", r.failure_percent),
            format!("{:.1}", r.rps),
            format_ms(r.mean_ms),
            format_ms(r.min_ms),
            format_ms(r.max_ms),
            format_ms(r.median_ms()),
            format_ms(r.percentile(95.0)),
            format_ms(r.percentile(99.0)),
        ]);
    }
    t.render(&mut out);
    let _ = writeln!(out, "\n Response time percentiles (ms)");
    let mut p = Table::new(
        &[
            "Type", "Name", "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%",
            "99.99%", "100%", "# reqs",
        ],
        2,
    );
    for r in rows(report) {
        let mut cells = vec![r.kind.clone(), clip(&r.name, 40)];
        cells.extend(r.percentiles_ms.0.iter().map(|&v| format_ms(v)));
        cells.push(r.requests.to_string());
        p.push(cells);
    }
    p.render(&mut out);
    let interrupted = report.interrupted_requests();
    if interrupted > 0 {
        let _ = writeln!(out, "\n {interrupted} requests were cut off by the end of the run (interrupted: not counted as failures)");
    }
    for r in report.stats.iter() {
        if let Some(n) = r.expected_errors {
            let _ = writeln!(
                out,
                "\n {n} expected errors on {} {} (declared with expected_error: counted apart, not as failures)",
                r.kind, r.name
            );
        }
    }
    if !report.failures.is_empty() {
        let _ = writeln!(out, "\n Failures");
        let mut f = Table::new(&["# occurrences", "Type", "Name", "Error"], 0);
        let mut sorted: Vec<_> = report.failures.iter().collect();
        sorted.sort_by_key(|f| std::cmp::Reverse(f.occurrences));
        for x in sorted.iter().take(20) {
            f.push(vec![
                x.occurrences.to_string(),
                x.method.clone(),
                clip(&x.name, 40),
                x.error.clone(),
            ]);
        }
        f.render(&mut out);
    }
    let c = &report.connections;
    let dropped = if c.dropped > 0 {
        format!(", {} dropped mid-session", c.dropped)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\n Connections  {} opened ({} re-opened after the server closed them{dropped}, {} failed); connect p50 {} ms, p99 {} ms",
        c.opened, c.reopened, c.failed, format_ms(c.connect_ms.p50), format_ms(c.connect_ms.p99)
    );
    let a = &report.arrivals;
    let _ = writeln!(
        out,
        " Iterations   {} started, {} late by more than {} ms (delay p99 {} ms){}",
        a.started,
        a.late,
        a.late_after_ms,
        format_ms(a.delay_ms.p99),
        if report.load.model == "open" {
            format!(
                "; {} due, {} waited for a free user, {} never started",
                a.due, a.queued, a.never_started
            )
        } else {
            String::new()
        }
    );
    if let Some(a) = &report.audit {
        super::mqtt::render_audit(a, &mut out);
    }
    if let Some(b) = report.broker.as_ref().filter(|b| b.problem.is_none()) {
        super::broker::render(b, &mut out);
    }
    if let Some(m) = &report.monitor {
        for line in m.summary_lines() {
            let _ = writeln!(out, " Monitor      {line}");
        }
    }
    for f in &report.faults {
        super::recovery::render(f, &mut out);
    }
    let g = &report.generator;
    let _ = writeln!(
        out,
        " Generator    CPU {:.0}% avg, {:.0}% max on {} thread(s); RSS {:.1} MB peak; event-loop lag p99 {} ms{}",
        g.cpu_percent_avg,
        g.cpu_percent_max,
        g.threads,
        g.rss_mb_peak,
        format_ms(g.lag_ms.p99),
        if g.saturated { " — SATURATED" } else { "" }
    );
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\n Warnings");
        for w in &report.warnings {
            let _ = writeln!(out, "  ! {}", w.message);
        }
    }
    if !report.thresholds.is_empty() {
        let _ = writeln!(out, "\n Thresholds");
        let mut th = Table::new(&["", "threshold", "actual"], 2);
        for r in &report.thresholds {
            th.push(vec![
                if r.pass { "PASS" } else { "FAIL" }.into(),
                r.threshold.clone(),
                r.actual_text.clone(),
            ]);
        }
        th.render(&mut out);
    }
    let verdict = match report.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    };
    let _ = writeln!(out, "\n Verdict: {verdict} ({})", report.verdict_reason);
    if !files.is_empty() {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let _ = writeln!(out, " Reports: {}", names.join(", "));
    }
    out
}
