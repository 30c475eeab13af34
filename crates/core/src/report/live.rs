//! What the terminal shows during a run: a table redrawn every two seconds
//! on a TTY, or one line per interval when headless or piped.

use std::io::Write;

use super::summary::{clip, Table};
use crate::engine::{Model, Observer, Progress};
use crate::metrics::{HistoryPoint, RowKind};
use crate::units::{format_duration, format_ms};

/// Seconds between two updates.
const EVERY: u64 = 2;

/// The status line shared by both views.
fn status(p: &Progress<'_>) -> String {
    let point = p.aggregate.history().last();
    let all = point.and_then(|pt| pt.rows.iter().find(|r| r.stat.is_none()));
    let rps = all.map_or(0.0, |r| r.interval.rps);
    let total = p.aggregate.all_requests();
    let fail_pct = if total.requests > 0 {
        100.0 * total.failures as f64 / total.requests as f64
    } else {
        0.0
    };
    let when = match p.planned {
        Some(d) => format!("{} / {}", format_duration(p.elapsed), format_duration(d)),
        None => format_duration(p.elapsed),
    };
    let load = match p.config.model {
        Model::Closed { .. } => format!("users {} (target {:.0})", p.users, p.target),
        Model::Open { .. } => format!("rate {:.1}/s of {:.1}/s, users {}", rps, p.target, p.users),
    };
    let ending = if p.draining { "  [stopping]" } else { "" };
    format!(
        "{when}  {load}  {rps:.1} req/s  failures {} ({fail_pct:.2}%)  cpu {:.0}%  rss {:.0} MB{ending}",
        total.failures,
        p.resources.cpu_percent,
        p.resources.rss_bytes as f64 / 1e6
    )
}

/// The rows of the latest second: current rate, cumulative latency.
fn table(point: &HistoryPoint, p: &Progress<'_>) -> String {
    let mut t = Table::new(
        &[
            "Type", "Name", "# reqs", "# fails", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
        ],
        2,
    );
    for r in &point.rows {
        let (kind, name) = match r.stat {
            Some(id) => {
                let k = p.aggregate.table().key(id);
                (k.kind.clone(), clip(&k.name, 36))
            }
            None => (String::new(), "Aggregated".into()),
        };
        t.push(vec![
            kind,
            name,
            r.total.requests.to_string(),
            r.total.failures.to_string(),
            format!("{:.1}", r.interval.rps),
            format_ms(r.total.median_ms()),
            format_ms(r.total.percentiles_ms[5]),
            format_ms(r.total.percentiles_ms[7]),
            format_ms(r.total.max_ms),
        ]);
    }
    let mut out = String::new();
    t.render(&mut out);
    out
}

/// The live table on a terminal, redrawn in place.
#[derive(Debug, Default)]
pub struct LiveView {
    lines_drawn: usize,
    seconds: u64,
}

impl Observer for LiveView {
    fn interval(&mut self, p: &Progress<'_>) {
        self.seconds += 1;
        if self.seconds % EVERY != 0 {
            return;
        }
        let Some(point) = p.aggregate.history().last() else {
            return;
        };
        let text = format!(" {}\n{}", status(p), table(point, p));
        let mut err = std::io::stderr().lock();
        if self.lines_drawn > 0 {
            // Back to the first line drawn last time, and clear below.
            let _ = write!(err, "\x1b[{}F\x1b[J", self.lines_drawn);
        }
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
        self.lines_drawn = text.lines().count();
    }
}

/// One line per interval, for CI logs and pipes.
#[derive(Debug, Default)]
pub struct Headless {
    seconds: u64,
}

impl Observer for Headless {
    fn interval(&mut self, p: &Progress<'_>) {
        self.seconds += 1;
        if self.seconds % EVERY != 0 {
            return;
        }
        let mut line = format!("[cicada] {}", status(p));
        if let Some(point) = p.aggregate.history().last() {
            if let Some(all) = point.rows.iter().find(|r| r.stat.is_none()) {
                let pc = &all.total.percentiles_ms;
                line.push_str(&format!(
                    "  p50 {} p95 {} p99 {} ms",
                    format_ms(pc[0]),
                    format_ms(pc[5]),
                    format_ms(pc[7])
                ));
            }
            for r in &point.rows {
                let Some(id) = r.stat else { continue };
                let k = p.aggregate.table().key(id);
                if k.row == RowKind::Derived && r.total.requests > 0 {
                    line.push_str(&format!(
                        "  '{}' p50 {}",
                        k.name,
                        format_duration(std::time::Duration::from_secs_f64(
                            r.total.median_ms() / 1000.0
                        ))
                    ));
                }
            }
        }
        eprintln!("{line}");
    }
}
