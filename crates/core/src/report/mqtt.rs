//! The MQTT parts of a report: the delivery audit (what it found, when it
//! fails a run, how the summary shows it).

use std::fmt::Write;

use crate::engine::RunOutcome;
use crate::protocols::mqtt::audit::AuditSummary;

/// The delivery audit of the run, if anything was audited.
pub fn audit(outcome: &RunOutcome) -> Option<AuditSummary> {
    let log = outcome.aggregate.audit();
    (!log.is_empty()).then(|| log.summarize())
}

/// Why the audit fails a run without thresholds: a QoS 1 or 2 message the
/// broker acknowledged and never delivered, or a QoS 2 message delivered
/// twice. QoS 0 losses and QoS 1 duplicates are allowed by MQTT (they are
/// reported, and thresholds can judge them).
pub fn audit_failure(a: &AuditSummary) -> Option<String> {
    let lost = a.lost - a.lost_qos0;
    match (lost, a.duplicated_qos2) {
        (0, 0) => None,
        (lost, 0) => Some(format!(
            "the broker acknowledged {lost} QoS 1/2 messages that never reached a subscriber"
        )),
        (0, dup) => Some(format!("{dup} QoS 2 messages were delivered more than once")),
        (lost, dup) => Some(format!(
            "the broker lost {lost} acknowledged QoS 1/2 messages and delivered {dup} QoS 2 messages more than once"
        )),
    }
}

/// The audit's lines of the summary.
pub fn render_audit(a: &AuditSummary, out: &mut String) {
    let _ = writeln!(
        out,
        " Audit        {} published, {} owed to subscribers, {} received; lost {}{}, duplicated {}, out of order {}",
        a.published,
        a.owed,
        a.received,
        a.lost,
        if a.lost_qos0 > 0 {
            format!(" ({} at QoS 0)", a.lost_qos0)
        } else {
            String::new()
        },
        a.duplicated,
        a.out_of_order,
    );
    let mut groups: Vec<&str> = a.consumers.iter().map(|c| c.group.as_str()).collect();
    groups.dedup();
    for g in groups {
        let shares: Vec<u64> = a
            .consumers
            .iter()
            .filter(|c| c.group == g)
            .map(|c| c.received)
            .collect();
        let (min, max) = (
            shares.iter().min().copied().unwrap_or(0),
            shares.iter().max().copied().unwrap_or(0),
        );
        let _ = writeln!(
            out,
            "              shared group '{g}': {} members took {min}..{max} messages each",
            shares.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_losses_mqtt_does_not_allow_fail_the_run() {
        let mut a = AuditSummary {
            lost: 3,
            lost_qos0: 3,
            duplicated: 5,
            ..AuditSummary::default()
        };
        assert_eq!(audit_failure(&a), None, "QoS 0 loss, QoS 1 duplicates");
        a.lost = 4;
        assert_eq!(
            audit_failure(&a).as_deref(),
            Some("the broker acknowledged 1 QoS 1/2 messages that never reached a subscriber")
        );
        a.lost = 3;
        a.duplicated_qos2 = 2;
        assert_eq!(
            audit_failure(&a).as_deref(),
            Some("2 QoS 2 messages were delivered more than once")
        );
    }
}
