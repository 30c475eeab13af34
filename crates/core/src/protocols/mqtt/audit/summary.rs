//! The comparison at the end of the run: per stream and audience, what the
//! broker owed and what arrived.

use std::sync::Arc;

use super::{Audience, AuditLog, Received};
use crate::protocols::mqtt::topic::matches;

/// The audit of one stream for one audience (a subscriber, or a group).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StreamAudit {
    /// The publishing user.
    pub publisher: u64,
    /// The topic.
    pub topic: String,
    /// QoS of the delivery: the lower of the publish's and the grant's.
    pub qos: u8,
    /// The subscriber, for a plain subscription.
    pub subscriber: Option<u64>,
    /// The group, for a shared subscription.
    pub group: Option<String>,
    /// Messages handed to the broker.
    pub published: u64,
    /// Messages the broker owed this audience (all for QoS 0, the
    /// acknowledged ones for QoS 1 and 2).
    pub owed: u64,
    /// Distinct messages received.
    pub received: u64,
    /// Owed messages never received.
    pub lost: u64,
    /// Deliveries of a message already received.
    pub duplicated: u64,
    /// Deliveries after a later message of the stream.
    pub out_of_order: u64,
}

/// How many messages each member of a shared group took (fairness).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Consumer {
    /// The group.
    pub group: String,
    /// The member.
    pub subscriber: u64,
    /// Distinct messages it received.
    pub received: u64,
}

/// The audit of a run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct AuditSummary {
    /// Messages handed to the broker, all audited streams.
    pub published: u64,
    /// Messages the broker owed the audiences, over all of them.
    pub owed: u64,
    /// Distinct messages received, over all audiences.
    pub received: u64,
    /// Owed messages never received.
    pub lost: u64,
    /// Lost messages delivered at QoS 0 (allowed by MQTT).
    pub lost_qos0: u64,
    /// Duplicate deliveries.
    pub duplicated: u64,
    /// QoS 2 messages delivered more than once (exactly once: a violation).
    pub duplicated_qos2: u64,
    /// Out-of-order deliveries.
    pub out_of_order: u64,
    /// Per stream and audience.
    pub streams: Vec<StreamAudit>,
    /// Per member of shared groups.
    pub consumers: Vec<Consumer>,
}

impl AuditLog {
    /// Compares what was sent with what each audience received.
    pub fn summarize(&self) -> AuditSummary {
        let mut out = AuditSummary::default();
        let mut keys: Vec<&(u64, Arc<str>)> = self.sent.keys().collect();
        keys.sort();
        for key in keys {
            let sent = &self.sent[key];
            let (publisher, topic) = (key.0, &key.1);
            out.published += sent.sent.len();
            // One audience per plain subscriber, one per shared group.
            let mut groups: Vec<&str> = Vec::new();
            for a in self.audiences.iter().filter(|a| matches(&a.filter, topic)) {
                let members: Vec<&Audience> = match &a.group {
                    Some(g) if groups.contains(&g.as_str()) => continue,
                    Some(g) => {
                        groups.push(g);
                        self.audiences
                            .iter()
                            .filter(|m| {
                                m.group.as_deref() == Some(g.as_str()) && matches(&m.filter, topic)
                            })
                            .collect()
                    }
                    None => vec![a],
                };
                let mut got = Received::default();
                for m in &members {
                    if let Some(r) = self.received.get(&(m.subscriber, publisher, topic.clone())) {
                        got.merge(r);
                    }
                }
                // A group is owed what was sent after its first member joined.
                let since = members.iter().map(|m| m.since_us).min().unwrap_or(0);
                // Delivered with the lower of the publish's and the grant's
                // QoS: a QoS 0 grant makes every loss allowed.
                let granted = members.iter().map(|m| m.qos).max().unwrap_or(0);
                let qos = sent.qos.min(granted);
                let (owed, must) = sent.owed(since, &got.seqs);
                let lost = owed.missing_from(&got.seqs);
                let lost_allowed = if granted == 0 {
                    lost
                } else {
                    lost - must.missing_from(&got.seqs)
                };
                let repeated_qos2 = if granted == 2 {
                    got.repeated.intersection(&sent.at_qos2).len()
                } else {
                    0
                };
                let row = StreamAudit {
                    publisher,
                    topic: topic.to_string(),
                    qos,
                    subscriber: a.group.is_none().then_some(a.subscriber),
                    group: a.group.clone(),
                    published: sent.sent.len(),
                    owed: owed.len(),
                    received: got.seqs.len(),
                    lost,
                    duplicated: got.duplicates,
                    out_of_order: got.out_of_order,
                };
                out.owed += row.owed;
                out.received += row.received;
                out.lost += row.lost;
                out.lost_qos0 += lost_allowed;
                out.duplicated += row.duplicated;
                out.duplicated_qos2 += repeated_qos2;
                out.out_of_order += row.out_of_order;
                out.streams.push(row);
            }
        }
        for a in self.audiences.iter().filter(|a| a.group.is_some()) {
            let received = self
                .received
                .iter()
                .filter(|((s, _, _), _)| *s == a.subscriber)
                .map(|(_, r)| r.seqs.len())
                .sum();
            out.consumers.push(Consumer {
                group: a.group.clone().unwrap_or_default(),
                subscriber: a.subscriber,
                received,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::mqtt::audit::Sent;

    fn sent(qos: u8, sent: &[u64], acked: &[u64]) -> Sent {
        let mut s = Sent {
            qos,
            ..Sent::default()
        };
        for n in sent {
            s.sent.insert(*n);
        }
        for n in acked {
            s.acked.insert(*n);
        }
        s
    }

    #[test]
    fn a_stream_mixing_qos_levels_is_judged_per_message() {
        // Seed 000's lamps: QoS 0, 1 and 2 publishes on one topic.
        let topic: Arc<str> = Arc::from("lamp/set_config");
        let mut s = Sent::default();
        for (seq, qos) in [(1, 0), (2, 0), (3, 1), (4, 1), (5, 2), (6, 2)] {
            s.record(qos, seq, 10);
        }
        for seq in [3, 4, 5, 6] {
            s.acked.insert(seq);
        }
        let mut log = AuditLog::default();
        log.sent.insert((1, topic.clone()), s);
        log.listen(Audience::new(9, "lamp/#"), 5, 2);
        for seq in [2, 3, 5, 6, 6, 1] {
            log.received
                .entry((9, 1, topic.clone()))
                .or_default()
                .record(seq, 1);
        }
        let a = log.summarize();
        assert_eq!(
            (a.owed, a.lost, a.lost_qos0),
            (6, 1, 0),
            "seq 4 (QoS 1) lost"
        );
        assert_eq!((a.duplicated, a.duplicated_qos2, a.out_of_order), (1, 1, 1));
        assert_eq!(a.streams[0].qos, 2);
    }

    #[test]
    fn a_qos0_grant_allows_every_loss() {
        let topic: Arc<str> = Arc::from("t");
        let mut log = AuditLog::default();
        log.sent
            .insert((1, topic.clone()), sent(2, &[1, 2], &[1, 2]));
        log.listen(Audience::new(9, "t"), 0, 0);
        let a = log.summarize();
        assert_eq!((a.lost, a.lost_qos0, a.streams[0].qos), (2, 2, 0));
    }

    #[test]
    fn the_audit_compares_what_was_owed_with_what_arrived() {
        let topic: Arc<str> = Arc::from("lamp/set_config");
        let mut log = AuditLog::default();
        log.sent
            .insert((1, topic.clone()), sent(1, &[1, 2, 3, 4], &[1, 2, 3]));
        log.audiences.push(Audience::new(9, "lamp/#"));
        let r = log.received.entry((9, 1, topic.clone())).or_default();
        for seq in [1, 3, 3] {
            r.record(seq, 1);
        }
        let a = log.summarize();
        assert_eq!(
            (a.published, a.received, a.lost, a.duplicated),
            (4, 2, 1, 1),
            "seq 2 was acked and lost; 4 was never acked"
        );
        assert_eq!(a.streams[0].owed, 3);
    }

    #[test]
    fn a_stream_older_than_the_subscription_is_owed_from_its_first_arrival() {
        let topic: Arc<str> = Arc::from("lamp/1");
        let mut log = AuditLog::default();
        let mut early = sent(1, &[1, 2, 3, 4, 5, 6], &[1, 2, 3, 4, 5, 6]);
        early.first_us = 1_000;
        log.sent.insert((1, topic.clone()), early);
        let mut late = sent(1, &[1, 2, 3], &[1, 2, 3]);
        late.first_us = 3_000;
        log.sent.insert((2, topic.clone()), late);
        log.listen(Audience::new(9, "lamp/#"), 2_000, 1);
        log.listen(Audience::new(9, "lamp/#"), 2_500, 1);
        assert_eq!(
            log.audiences.len(),
            1,
            "one audience per subscriber and filter"
        );
        for seq in [3, 4, 6] {
            log.received
                .entry((9, 1, topic.clone()))
                .or_default()
                .record(seq, 1);
        }
        log.received
            .entry((9, 2, topic.clone()))
            .or_default()
            .record(2, 1);
        let a = log.summarize();
        let owed: Vec<u64> = a.streams.iter().map(|s| s.owed).collect();
        assert_eq!(
            owed,
            vec![4, 3],
            "publisher 1 from seq 3 on; publisher 2 all of it"
        );
        assert_eq!(
            a.lost,
            1 + 2,
            "seq 5 of publisher 1; seqs 1 and 3 of publisher 2"
        );
    }

    #[test]
    fn a_shared_group_is_one_audience_and_its_members_are_counted() {
        let topic: Arc<str> = Arc::from("jobs/new");
        let mut log = AuditLog::default();
        log.sent
            .insert((1, topic.clone()), sent(1, &[1, 2, 3, 4], &[1, 2, 3, 4]));
        log.audiences
            .push(Audience::new(7, "$share/workers/jobs/#"));
        log.audiences
            .push(Audience::new(8, "$share/workers/jobs/#"));
        log.received
            .entry((7, 1, topic.clone()))
            .or_default()
            .record(1, 1);
        log.received
            .entry((7, 1, topic.clone()))
            .or_default()
            .record(3, 1);
        log.received
            .entry((8, 1, topic.clone()))
            .or_default()
            .record(2, 1);
        let a = log.summarize();
        assert_eq!(a.streams.len(), 1);
        assert_eq!((a.received, a.lost), (3, 1));
        assert_eq!(
            a.consumers.iter().map(|c| c.received).collect::<Vec<_>>(),
            [2, 1]
        );
    }
}
