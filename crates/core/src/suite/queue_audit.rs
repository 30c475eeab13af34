//! The delivery audit of a queue fed over MQTT (seed 004): every job the
//! producers got acknowledged by the broker must have been consumed by
//! someone or still be in the queue — none lost, even when a consumer
//! dies holding a lease; items handed out more than once are duplicates.
//!
//! It joins what cicada counted (the publishes the broker acknowledged)
//! with what the queue target counted (`/counters`, `/queues/{id}/stats`,
//! `/ingest/stats`), after the run.

use std::time::Duration;

use serde::Serialize;

use crate::control;
use crate::report::Report;

/// What to audit (a suite run's `audit_queue:`).
#[derive(Clone, Debug, PartialEq)]
pub struct QueueAuditSpec {
    /// The queue the jobs go to.
    pub queue: String,
    /// Report rows whose name starts with this count the jobs sent (MQTT
    /// publish rows; a QoS 1/2 publish counts once the broker acked it).
    pub published: String,
}

/// The verdict on delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueAudit {
    /// Jobs sent and acknowledged by the broker.
    pub published: u64,
    /// Jobs the target stored from MQTT.
    pub ingested: u64,
    /// Items handed out (pop or lease; again after an expired lease).
    pub delivered: u64,
    /// Items popped or acked: done.
    pub consumed: u64,
    /// Still waiting in the queue.
    pub remaining: u64,
    /// Under a lease at the end.
    pub leased: u64,
    /// Sent, and neither consumed nor still in the queue.
    pub lost: u64,
    /// Handed out more than once, or stored twice.
    pub duplicated: u64,
}

impl QueueAudit {
    /// The audit from the counts (pure, for tests).
    pub fn of(
        published: u64,
        ingested: u64,
        delivered: u64,
        consumed: u64,
        remaining: u64,
        leased: u64,
    ) -> QueueAudit {
        let accounted = consumed + remaining + leased;
        QueueAudit {
            published,
            ingested,
            delivered,
            consumed,
            remaining,
            leased,
            lost: published.saturating_sub(accounted),
            duplicated: delivered.saturating_sub(consumed + leased)
                + ingested.saturating_sub(published),
        }
    }
}

/// Audits `spec` for the run that produced `report`, asking the target at
/// `host`.
pub fn audit(spec: &QueueAuditSpec, report: &Report, host: &str) -> Result<QueueAudit, String> {
    let published: u64 = report
        .stats
        .iter()
        .filter(|r| r.kind == "MQTT" && r.name.starts_with(&spec.published))
        .map(|r| r.requests - r.failures)
        .sum();
    let base = host.trim_end_matches('/');
    let get = |path: &str| -> Result<serde_json::Value, String> {
        let url = format!("{base}{path}");
        let reply = control::blocking("GET", &url, None, Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        if !reply.ok() {
            return Err(format!(
                "GET {url} answered {}: {}",
                reply.status,
                reply.text(200)
            ));
        }
        reply.json().ok_or_else(|| format!("GET {url}: not JSON"))
    };
    let number = |v: &serde_json::Value, key: &str| {
        v[key]
            .as_u64()
            .ok_or_else(|| format!("the queue target's answer has no count `{key}`: {v}"))
    };
    let stats = get(&format!("/queues/{}/stats", spec.queue))?;
    let counters = get("/counters")?;
    let ingest = get("/ingest/stats")?;
    Ok(QueueAudit::of(
        published,
        number(&ingest, "ingested")?,
        number(&counters, "delivered")?,
        number(&counters, "consumed")?,
        number(&stats, "depth")?,
        number(&stats, "leased")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_consumers_redelivered_items_are_duplicates_not_losses() {
        // 1000 sent; a consumer leased 50 and died; the lease expired and
        // the 50 went to others: delivered 1050, all 1000 consumed.
        let a = QueueAudit::of(1000, 1000, 1050, 1000, 0, 0);
        assert_eq!((a.lost, a.duplicated), (0, 50));
    }

    #[test]
    fn items_still_queued_or_leased_are_not_lost_but_missing_ones_are() {
        let a = QueueAudit::of(1000, 1000, 900, 880, 80, 20);
        assert_eq!((a.lost, a.duplicated), (20, 0));
        let stored_twice = QueueAudit::of(1000, 1003, 1003, 1003, 0, 0);
        assert_eq!((stored_twice.lost, stored_twice.duplicated), (0, 3));
    }
}
