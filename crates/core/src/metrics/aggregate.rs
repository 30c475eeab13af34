//! The controller's side of metrics: merges the workers' intervals into run
//! totals and a per-second history. Histograms are merged, never averaged.

use std::sync::Arc;
use std::time::Duration;

use super::failures::{Failure, Failures};
use super::latency::Latency;
use super::recorder::{unix_now, ArrivalTally, ConnectTally, Interval, StatCounters};
use super::stat::{RowKind, StatId, StatTable};
use crate::protocols::mqtt::audit::AuditLog;

/// The percentiles every report shows (Locust's set), as numbers.
pub const PERCENTILES: [f64; 11] = [
    50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.9, 99.99, 100.0,
];

/// The same percentiles as labels: `"50"`, ..., `"99.9"`, `"100"`.
pub const PERCENTILE_LABELS: [&str; 11] = [
    "50", "66", "75", "80", "90", "95", "98", "99", "99.9", "99.99", "100",
];

/// The numbers of one row over a span of time, ready to print.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Completed requests (successes and failures).
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Requests cut off by the end of the run.
    pub interrupted: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Requests per second over the span.
    pub rps: f64,
    /// Failures per second over the span.
    pub fail_per_s: f64,
    /// Mean latency, ms.
    pub mean_ms: f64,
    /// Smallest latency, ms.
    pub min_ms: f64,
    /// Largest latency, ms.
    pub max_ms: f64,
    /// Latency at each of [`PERCENTILES`], ms.
    pub percentiles_ms: [f64; 11],
}

impl Summary {
    /// Summarises `c` over `seconds` of wall time.
    pub fn of(c: &StatCounters, seconds: f64) -> Summary {
        let per_s = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        let mut percentiles_ms = [0.0; 11];
        for (slot, p) in percentiles_ms.iter_mut().zip(PERCENTILES) {
            *slot = c.latency.percentile_ms(p);
        }
        Summary {
            requests: c.requests,
            failures: c.failures,
            interrupted: c.interrupted,
            bytes: c.bytes,
            rps: per_s(c.requests),
            fail_per_s: per_s(c.failures),
            mean_ms: c.latency.mean_ms(),
            min_ms: c.latency.min_ms(),
            max_ms: c.latency.max_ms(),
            percentiles_ms,
        }
    }

    /// The median, ms.
    pub fn median_ms(&self) -> f64 {
        self.percentiles_ms[0]
    }

    /// Mean response size in bytes.
    pub fn avg_bytes(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.bytes as f64 / self.requests as f64
        }
    }

    /// Share of failed requests, 0..=1.
    pub fn failure_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failures as f64 / self.requests as f64
        }
    }

    /// The latency at `percentile` if it is one of [`PERCENTILES`].
    pub fn percentile(&self, percentile: f64) -> Option<f64> {
        PERCENTILES
            .iter()
            .position(|&p| (p - percentile).abs() < 1e-9)
            .map(|i| self.percentiles_ms[i])
    }
}

/// One row of one second of history.
#[derive(Clone, Debug)]
pub struct HistoryRow {
    /// The row, or `None` for the `Aggregated` row of all requests.
    pub stat: Option<StatId>,
    /// What happened during this interval.
    pub interval: Summary,
    /// Cumulative from the start of the run to the end of this interval.
    pub total: Summary,
}

/// One second of history.
#[derive(Clone, Debug)]
pub struct HistoryPoint {
    /// Time since the start of the run at the end of the interval.
    pub elapsed: Duration,
    /// Unix time at the end of the interval, seconds.
    pub timestamp: u64,
    /// Users alive at the end of the interval.
    pub users: u64,
    /// What the load shape asked for then: users (closed model) or
    /// arrivals per second (open model), to set beside what was achieved.
    pub target: f64,
    /// The rows that saw activity, then the `Aggregated` row.
    pub rows: Vec<HistoryRow>,
}

/// Run totals and history, built by merging the workers' intervals.
#[derive(Debug)]
pub struct Aggregate {
    table: Arc<StatTable>,
    totals: Vec<StatCounters>,
    all_requests: StatCounters,
    pending: Vec<Option<StatCounters>>,
    failures: Failures,
    connections: ConnectTally,
    arrivals: ArrivalTally,
    lag: Latency,
    audit: AuditLog,
    history: Vec<HistoryPoint>,
    closed_at: Duration,
}

impl Aggregate {
    /// An empty aggregate for the rows of `table`.
    pub fn new(table: Arc<StatTable>) -> Self {
        let rows = table.len();
        Aggregate {
            totals: (0..rows).map(|_| StatCounters::default()).collect(),
            pending: (0..rows).map(|_| None).collect(),
            table,
            all_requests: StatCounters::default(),
            failures: Failures::default(),
            connections: ConnectTally::default(),
            arrivals: ArrivalTally::default(),
            lag: Latency::new(),
            audit: AuditLog::default(),
            history: Vec::new(),
            closed_at: Duration::ZERO,
        }
    }

    /// Merges one worker's interval into the totals and the open interval.
    pub fn absorb(&mut self, interval: Interval) {
        for (id, counters) in interval.stats {
            self.totals[id.index()].merge(&counters);
            if self.table.key(id).row == RowKind::Request {
                self.all_requests.merge(&counters);
            }
            match &mut self.pending[id.index()] {
                Some(p) => p.merge(&counters),
                slot => *slot = Some(counters),
            }
        }
        self.failures.merge(interval.failures);
        self.connections.merge(&interval.connections);
        self.arrivals.merge(&interval.arrivals);
        self.lag.merge(&interval.lag);
        self.audit.merge(interval.audit);
    }

    /// Ends the open interval at `elapsed` with `users` alive (the shape
    /// asking for `target`) and appends it to the history.
    pub fn close_interval(&mut self, elapsed: Duration, users: u64, target: f64) -> &HistoryPoint {
        let seconds = elapsed.saturating_sub(self.closed_at).as_secs_f64();
        let total_seconds = elapsed.as_secs_f64();
        self.closed_at = elapsed;
        let mut rows = Vec::new();
        let mut interval_requests = StatCounters::default();
        for (i, slot) in self.pending.iter_mut().enumerate() {
            let id = StatId(i as u32);
            // Every row seen so far gets a line, active this second or not.
            let counters = match slot.take() {
                Some(c) => c,
                None if self.totals[i].is_idle() => continue,
                None => StatCounters::default(),
            };
            if self.table.key(id).row == RowKind::Request {
                interval_requests.merge(&counters);
            }
            rows.push(HistoryRow {
                stat: Some(id),
                interval: Summary::of(&counters, seconds),
                total: Summary::of(&self.totals[i], total_seconds),
            });
        }
        rows.push(HistoryRow {
            stat: None,
            interval: Summary::of(&interval_requests, seconds),
            total: Summary::of(&self.all_requests, total_seconds),
        });
        self.history.push(HistoryPoint {
            elapsed,
            timestamp: unix_now() as u64,
            users,
            target,
            rows,
        });
        let last = self.history.len() - 1;
        &self.history[last]
    }

    /// The table of rows.
    pub fn table(&self) -> &Arc<StatTable> {
        &self.table
    }

    /// Cumulative counters of one row.
    pub fn total(&self, id: StatId) -> &StatCounters {
        &self.totals[id.index()]
    }

    /// Cumulative counters of all request rows together (`Aggregated`).
    pub fn all_requests(&self) -> &StatCounters {
        &self.all_requests
    }

    /// Failures of requests and derived measures, by (row, cause), in
    /// order of first appearance.
    pub fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.failures.iter().filter(|f| f.row.is_some())
    }

    /// Connections opened over the run.
    pub fn connections(&self) -> &ConnectTally {
        &self.connections
    }

    /// Iteration punctuality over the run.
    pub fn arrivals(&self) -> &ArrivalTally {
        &self.arrivals
    }

    /// Event-loop lag of all workers over the run.
    pub fn lag(&self) -> &Latency {
        &self.lag
    }

    /// Scenario errors outside requests, by message.
    pub fn errors(&self) -> impl Iterator<Item = &Failure> {
        self.failures.iter().filter(|f| f.row.is_none())
    }

    /// The MQTT delivery audit.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Every closed second, oldest first.
    pub fn history(&self) -> &[HistoryPoint] {
        &self.history
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::recorder::Recorder;

    fn table() -> Arc<StatTable> {
        let mut t = StatTable::default();
        t.intern("GET", "/a", RowKind::Request);
        t.intern("POLL", "done", RowKind::Derived);
        Arc::new(t)
    }

    #[test]
    fn merges_workers_and_keeps_derived_rows_out_of_aggregated() {
        let mut agg = Aggregate::new(table());
        for _ in 0..2 {
            let mut r = Recorder::new(2);
            r.success(StatId(0), Duration::from_millis(10), 10);
            r.failure(StatId(0), Duration::from_millis(30), 0, "HTTP 500", None);
            r.success(StatId(1), Duration::from_secs(2), 0);
            agg.absorb(r.take_interval());
        }
        let point = agg.close_interval(Duration::from_secs(2), 7, 7.0).clone();
        assert_eq!(point.users, 7);
        assert_eq!(point.rows.len(), 3, "GET, POLL, Aggregated");
        let aggregated = point.rows.last().expect("aggregated row");
        assert!(aggregated.stat.is_none());
        assert_eq!(aggregated.interval.requests, 4);
        assert_eq!(aggregated.interval.failures, 2);
        assert!((aggregated.interval.rps - 2.0).abs() < 1e-9);
        assert!(aggregated.interval.max_ms < 100.0, "POLL kept out");
        assert_eq!(agg.total(StatId(1)).requests, 2);
        let failures: Vec<_> = agg.failures().collect();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].tally.count, 2);
    }

    #[test]
    fn history_rows_for_rows_seen_so_far_and_totals_accumulate() {
        let mut agg = Aggregate::new(table());
        let mut r = Recorder::new(2);
        r.success(StatId(0), Duration::from_millis(1), 0);
        agg.absorb(r.take_interval());
        agg.close_interval(Duration::from_secs(1), 1, 1.0);
        agg.absorb(r.take_interval());
        let p = agg.close_interval(Duration::from_secs(2), 1, 1.0).clone();
        assert_eq!(
            p.rows.len(),
            2,
            "the row seen before, idle now, and Aggregated"
        );
        assert_eq!(p.rows[0].stat, Some(StatId(0)));
        assert_eq!(p.rows[0].interval.requests, 0);
        assert_eq!(p.rows[1].interval.requests, 0);
        assert_eq!(p.rows[1].total.requests, 1);
        assert!((p.rows[1].total.rps - 0.5).abs() < 1e-9);
        assert_eq!(agg.history().len(), 2);
    }

    #[test]
    fn summary_percentile_lookup() {
        let mut c = StatCounters::default();
        for ms in 1..=100 {
            c.latency.record(Duration::from_millis(ms));
            c.requests += 1;
        }
        let s = Summary::of(&c, 10.0);
        assert!((s.rps - 10.0).abs() < 1e-9);
        assert!(s.percentile(95.0).is_some_and(|v| (v - 95.0).abs() < 0.1));
        assert!(s.percentile(42.0).is_none());
    }
}
