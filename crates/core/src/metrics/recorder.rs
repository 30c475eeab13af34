//! The per-worker recorder: every sample of a worker thread lands here, with
//! no lock and no channel message per sample. Once a second the controller
//! takes an [`Interval`] out of each recorder and merges them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::failures::Failures;
use super::latency::Latency;
use super::stat::StatId;
use crate::protocols::mqtt::audit::AuditLog;

/// Counters of one row over some span of time (an interval or the run).
#[derive(Clone, Debug, Default)]
pub struct StatCounters {
    /// Latency of every completed request, successful or failed.
    pub latency: Latency,
    /// Completed requests, including failures.
    pub requests: u64,
    /// Completed requests that failed.
    pub failures: u64,
    /// Response bytes received.
    pub bytes: u64,
    /// Requests cut off by the end of the run: neither success nor failure.
    pub interrupted: u64,
}

impl StatCounters {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &StatCounters) {
        self.latency.merge(&other.latency);
        self.requests += other.requests;
        self.failures += other.failures;
        self.bytes += other.bytes;
        self.interrupted += other.interrupted;
    }

    /// True when nothing happened.
    pub fn is_idle(&self) -> bool {
        self.requests == 0 && self.interrupted == 0
    }
}

/// Connections opened by users: how many, how many failed, how long.
#[derive(Clone, Debug, Default)]
pub struct ConnectTally {
    /// Connections established.
    pub opened: u64,
    /// Connection attempts that failed (refused, timed out, TLS, ...).
    pub failed: u64,
    /// Connections re-opened after the server closed a kept-alive one.
    pub reopened: u64,
    /// Connections lost while in use (an MQTT broker that went away).
    pub dropped: u64,
    /// Time to establish each successful connection (TCP, plus TLS).
    pub latency: Latency,
}

impl ConnectTally {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &ConnectTally) {
        self.opened += other.opened;
        self.failed += other.failed;
        self.reopened += other.reopened;
        self.dropped += other.dropped;
        self.latency.merge(&other.latency);
    }
}

/// How punctually iterations started compared with when they were due.
#[derive(Clone, Debug, Default)]
pub struct ArrivalTally {
    /// Open model: arrivals generated (due); those not started by the end
    /// were still waiting in line.
    pub due: u64,
    /// Iterations started.
    pub started: u64,
    /// Iterations that started more than [`LATE_AFTER`] after they were due.
    pub late: u64,
    /// Open model: arrivals that found no free user and waited in line.
    pub queued: u64,
    /// Delay between the intended and the actual start of each iteration.
    pub delay: Latency,
}

/// An iteration that starts this much after its intended time is "late".
pub const LATE_AFTER: Duration = Duration::from_millis(10);

impl ArrivalTally {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &ArrivalTally) {
        self.due += other.due;
        self.started += other.started;
        self.late += other.late;
        self.queued += other.queued;
        self.delay.merge(&other.delay);
    }
}

/// Everything one worker recorded during one interval.
#[derive(Debug, Default)]
pub struct Interval {
    /// Rows that saw activity, with their counters.
    pub stats: Vec<(StatId, StatCounters)>,
    /// Failures by (row, cause), and scenario errors (row `None`).
    pub failures: Failures,
    /// Connections opened.
    pub connections: ConnectTally,
    /// Iteration punctuality.
    pub arrivals: ArrivalTally,
    /// Event-loop lag of the worker, sampled by its probe.
    pub lag: Latency,
    /// The delivery audit, in the last interval only.
    pub audit: AuditLog,
}

/// One worker's recorder. Users of a worker share it through
/// `Rc<RefCell<Recorder>>`; it is never touched by two threads.
#[derive(Debug)]
pub struct Recorder {
    stats: Vec<StatCounters>,
    failures: Failures,
    audit: AuditLog,
    connections: ConnectTally,
    arrivals: ArrivalTally,
    lag: Latency,
}

/// Seconds since the Unix epoch, for failure timestamps.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Recorder {
    /// A recorder for a table of `rows` rows.
    pub fn new(rows: usize) -> Self {
        Recorder {
            stats: (0..rows).map(|_| StatCounters::default()).collect(),
            failures: Failures::default(),
            audit: AuditLog::default(),
            connections: ConnectTally::default(),
            arrivals: ArrivalTally::default(),
            lag: Latency::new(),
        }
    }

    /// A request of row `id` succeeded after `elapsed`, receiving `bytes`.
    #[inline]
    pub fn success(&mut self, id: StatId, elapsed: Duration, bytes: u64) {
        let s = &mut self.stats[id.index()];
        s.latency.record(elapsed);
        s.requests += 1;
        s.bytes += bytes;
    }

    /// A request of row `id` failed after `elapsed` because of `cause`
    /// (`example`: what was seen, when the cause leaves it out).
    pub fn failure(
        &mut self,
        id: StatId,
        elapsed: Duration,
        bytes: u64,
        cause: &str,
        example: Option<&str>,
    ) {
        let s = &mut self.stats[id.index()];
        s.latency.record(elapsed);
        s.requests += 1;
        s.failures += 1;
        s.bytes += bytes;
        self.failures.add(Some(id), cause, example, unix_now());
    }

    /// A request of row `id` was cut off by the end of the run.
    pub fn interrupted(&mut self, id: StatId) {
        self.stats[id.index()].interrupted += 1;
    }

    /// A connection was established in `elapsed`.
    pub fn connected(&mut self, elapsed: Duration, reopened: bool) {
        self.connections.opened += 1;
        self.connections.reopened += u64::from(reopened);
        self.connections.latency.record(elapsed);
    }

    /// A connection attempt failed.
    pub fn connect_failed(&mut self) {
        self.connections.failed += 1;
    }

    /// A connection in use was lost.
    pub fn connection_dropped(&mut self) {
        self.connections.dropped += 1;
    }

    /// The MQTT delivery audit of this worker.
    pub fn audit(&mut self) -> &mut AuditLog {
        &mut self.audit
    }

    /// Takes the audit log (once, at the end of the run).
    pub fn take_audit(&mut self) -> AuditLog {
        std::mem::take(&mut self.audit)
    }

    /// An iteration started `delay` after it was due; `queued` when it had
    /// to wait for a free user.
    pub fn arrival(&mut self, delay: Duration, queued: bool) {
        self.arrivals.started += 1;
        self.arrivals.late += u64::from(delay > LATE_AFTER);
        self.arrivals.queued += u64::from(queued);
        self.arrivals.delay.record(delay);
    }

    /// Open model: an arrival was generated.
    pub fn arrival_due(&mut self) {
        self.arrivals.due += 1;
    }

    /// The worker's event loop woke up `lag` later than asked.
    pub fn lag(&mut self, lag: Duration) {
        self.lag.record(lag);
    }

    /// A scenario error outside any request (counted, never a panic).
    pub fn error(&mut self, message: &str) {
        self.failures.add(None, message, None, unix_now());
    }

    /// Takes what was recorded since the last call and starts afresh.
    pub fn take_interval(&mut self) -> Interval {
        let stats = self
            .stats
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| !s.is_idle())
            .map(|(i, s)| (StatId(i as u32), std::mem::take(s)))
            .collect();
        let failures = std::mem::take(&mut self.failures);
        Interval {
            stats,
            failures,
            connections: std::mem::take(&mut self.connections),
            arrivals: std::mem::take(&mut self.arrivals),
            lag: std::mem::take(&mut self.lag),
            audit: AuditLog::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_by_row_and_groups_failures() {
        let mut r = Recorder::new(2);
        let a = StatId(0);
        let b = StatId(1);
        r.success(a, Duration::from_millis(2), 100);
        r.failure(a, Duration::from_millis(3), 0, "HTTP 500", None);
        r.failure(a, Duration::from_millis(4), 0, "HTTP 500", None);
        r.failure(a, Duration::from_millis(4), 0, "connection refused", None);
        r.interrupted(b);
        let i = r.take_interval();
        assert_eq!(i.stats.len(), 2);
        let (_, sa) = &i.stats[0];
        assert_eq!((sa.requests, sa.failures, sa.bytes), (4, 3, 100));
        assert_eq!(sa.latency.count(), 4);
        let (_, sb) = &i.stats[1];
        assert_eq!((sb.requests, sb.interrupted), (0, 1));
        let mut f: Vec<_> = i
            .failures
            .iter()
            .map(|f| (f.cause.clone(), f.tally.count))
            .collect();
        f.sort();
        assert_eq!(
            f,
            vec![
                ("HTTP 500".to_string(), 2),
                ("connection refused".to_string(), 1)
            ]
        );
    }

    #[test]
    fn taking_an_interval_resets_it() {
        let mut r = Recorder::new(1);
        r.success(StatId(0), Duration::from_millis(1), 1);
        r.arrival(Duration::from_millis(50), true);
        r.arrival(Duration::from_millis(1), false);
        let first = r.take_interval();
        assert_eq!(first.arrivals.started, 2);
        assert_eq!(first.arrivals.late, 1);
        assert_eq!(first.arrivals.queued, 1);
        let second = r.take_interval();
        assert!(second.stats.is_empty());
        assert_eq!(second.arrivals.started, 0);
    }
}
