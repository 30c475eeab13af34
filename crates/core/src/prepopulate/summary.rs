//! What the prepopulator tells its caller: progress while it runs, and
//! the summary with the verdict on the depths at the end.

use std::time::Duration;

/// Where the load stands, passed to the progress callback a few times a
/// second and once at the end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Items stored (acknowledged by the target).
    pub pushed: u64,
    /// Items given up on.
    pub failed: u64,
    /// Items to push in all.
    pub total: u64,
    /// Time since the first push.
    pub elapsed: Duration,
}

impl Progress {
    /// Items stored per second so far.
    pub fn items_per_s(&self) -> f64 {
        per_second(self.pushed, self.elapsed)
    }

    /// The fraction done (pushed or given up), 0..=1.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            ((self.pushed + self.failed) as f64 / self.total as f64).min(1.0)
        }
    }

    /// Time left at the rate so far (none before the first item).
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.items_per_s();
        let left = self.total.saturating_sub(self.pushed + self.failed);
        (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / rate))
    }
}

/// `n` per second of `d` (0 before any time has passed).
pub(super) fn per_second(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

/// The depth of one queue before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueDepth {
    /// The queue id.
    pub queue: String,
    /// Its depth before the load.
    pub before: u64,
    /// Its depth after.
    pub after: u64,
}

/// How the load went.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Items asked for, all queues together.
    pub requested: u64,
    /// Items the target acknowledged.
    pub pushed: u64,
    /// Items given up on after their retries (or after a refusal).
    pub failed: u64,
    /// Requests repeated after a failure that may pass.
    pub retries: u64,
    /// Items per request actually used.
    pub batch: usize,
    /// Failed items by cause, most frequent first.
    pub failures: Vec<(String, u64)>,
    /// The load stopped early because the target refused a batch.
    pub refused: bool,
    /// Total depth of the queues before.
    pub depth_before: u64,
    /// Total depth after.
    pub depth_after: u64,
    /// Each queue's depth.
    pub queues: Vec<QueueDepth>,
    /// Time from the first push to the last answer.
    pub elapsed: Duration,
    /// Items stored per second.
    pub items_per_s: f64,
}

impl Summary {
    /// True when every queue grew by exactly the items asked for it.
    pub fn verified(&self) -> bool {
        self.problem().is_none()
    }

    /// What went wrong, in words; none when the load is verified.
    pub fn problem(&self) -> Option<String> {
        let per_queue = self.requested / self.queues.len().max(1) as u64;
        let off: Vec<String> = self
            .queues
            .iter()
            .filter(|q| i128::from(q.after) - i128::from(q.before) != i128::from(per_queue))
            .map(|q| {
                let grew = i128::from(q.after) - i128::from(q.before);
                format!("queue {} grew by {grew}, expected {per_queue}", q.queue)
            })
            .collect();
        if off.is_empty() && self.failed == 0 {
            return None;
        }
        let mut parts = Vec::new();
        if self.failed > 0 {
            let causes: Vec<String> = self
                .failures
                .iter()
                .map(|(cause, n)| format!("{n} × {cause}"))
                .collect();
            parts.push(format!(
                "{} of {} items failed ({})",
                self.failed,
                self.requested,
                causes.join(", ")
            ));
        }
        if !off.is_empty() {
            parts.push(format!(
                "{} (did something else push or pop meanwhile?)",
                off.join("; ")
            ));
        }
        Some(parts.join("; "))
    }
}
