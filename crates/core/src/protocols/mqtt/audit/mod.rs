//! The delivery audit: publishers stamp each message with who sent it, its
//! number in that sender's stream and when; subscribers record what they
//! got. At the end the two sides are compared per (publisher, topic) and
//! per subscriber — or per group, for shared subscriptions — into lost,
//! duplicated and out-of-order counts.

mod seqs;
mod stamp;
mod summary;

use std::collections::HashMap;
use std::sync::Arc;

pub use seqs::SeqSet;
pub use stamp::{now_us, strip_stamp, Stamp, PROPERTY};
pub use summary::{AuditSummary, Consumer, StreamAudit};

/// One publisher's stream on one topic. A stream may mix QoS levels
/// (seed 000's lamps publish QoS 0, 1 and 2 to one topic), so what the
/// broker owes is kept per message.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// The highest QoS it was published with.
    pub qos: u8,
    /// Sequence numbers handed to the broker.
    pub sent: SeqSet,
    /// Sequence numbers the broker acknowledged (QoS 1 and 2).
    pub acked: SeqSet,
    /// Sequence numbers published with QoS 0.
    pub at_qos0: SeqSet,
    /// Sequence numbers published with QoS 2.
    pub at_qos2: SeqSet,
    /// When the stream's first message was sent, µs since the Unix epoch.
    pub first_us: u64,
}

impl Sent {
    /// Records that `seq` was handed to the connection with `qos` at
    /// `now_us`.
    pub fn record(&mut self, qos: u8, seq: u64, now_us: u64) {
        if self.sent.is_empty() {
            self.first_us = now_us;
        }
        self.qos = self.qos.max(qos);
        self.sent.insert(seq);
        match qos {
            0 => drop(self.at_qos0.insert(seq)),
            2 => drop(self.at_qos2.insert(seq)),
            _ => {}
        }
    }

    /// Adds another worker's record of the same stream.
    fn merge(&mut self, other: &Sent) {
        if self.sent.is_empty() || (other.first_us != 0 && other.first_us < self.first_us) {
            self.first_us = other.first_us;
        }
        self.qos = self.qos.max(other.qos);
        self.sent.union(&other.sent);
        self.acked.union(&other.acked);
        self.at_qos0.union(&other.at_qos0);
        self.at_qos2.union(&other.at_qos2);
    }

    /// Of `set`, what an audience that subscribed at `since_us` and
    /// received `got` can be held to. A stream that began before the
    /// subscription counts from the first message the audience received:
    /// which of its earlier messages came after the subscription is not
    /// known.
    fn since(&self, set: &SeqSet, since_us: u64, got: &SeqSet) -> SeqSet {
        if self.first_us >= since_us {
            set.clone()
        } else {
            got.first()
                .map_or_else(SeqSet::default, |first| set.at_least(first))
        }
    }

    /// What the broker owes such an audience: every acknowledged QoS 1/2
    /// message, and every QoS 0 message (at most once: a loss is allowed,
    /// but still counted) — and, of those, the ones it must not lose.
    fn owed(&self, since_us: u64, got: &SeqSet) -> (SeqSet, SeqSet) {
        let mut all = self.acked.clone();
        all.union(&self.at_qos0);
        (
            self.since(&all, since_us, got),
            self.since(&self.acked, since_us, got),
        )
    }
}

/// What one subscriber got of one stream.
#[derive(Clone, Debug, Default)]
pub struct Received {
    /// Distinct sequence numbers.
    pub seqs: SeqSet,
    /// Deliveries of a number already seen.
    pub duplicates: u64,
    /// The numbers delivered more than once.
    pub repeated: SeqSet,
    /// Deliveries after a higher number of the same stream at the same
    /// QoS (MQTT orders messages per topic and QoS, not across QoS levels).
    pub out_of_order: u64,
    highest: [u64; 3],
}

impl Received {
    /// Records one delivery of `seq`, delivered with `qos`.
    pub fn record(&mut self, seq: u64, qos: u8) {
        let highest = &mut self.highest[usize::from(qos.min(2))];
        if !self.seqs.insert(seq) {
            self.duplicates += 1;
            self.repeated.insert(seq);
        } else if seq < *highest {
            self.out_of_order += 1;
        }
        *highest = (*highest).max(seq);
    }

    fn merge(&mut self, other: &Received) {
        let before = self.seqs.len() + other.seqs.len();
        self.repeated.union(&self.seqs.intersection(&other.seqs));
        self.repeated.union(&other.repeated);
        self.seqs.union(&other.seqs);
        self.duplicates += other.duplicates + (before - self.seqs.len());
        self.out_of_order += other.out_of_order;
        for (mine, theirs) in self.highest.iter_mut().zip(other.highest) {
            *mine = (*mine).max(theirs);
        }
    }
}

/// An audited subscription: who listens to what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience {
    /// The subscribing user.
    pub subscriber: u64,
    /// The topic filter, without a `$share/group/` prefix.
    pub filter: String,
    /// The shared-subscription group, if any.
    pub group: Option<String>,
    /// When the broker granted the subscription, µs since the Unix epoch:
    /// messages published before are not owed to it.
    pub since_us: u64,
    /// The QoS the broker granted.
    pub qos: u8,
}

impl Audience {
    /// The audience of a subscription to `filter` (maybe `$share/g/f`).
    pub fn new(subscriber: u64, filter: &str) -> Audience {
        match filter
            .strip_prefix("$share/")
            .and_then(|rest| rest.split_once('/'))
        {
            Some((group, f)) => Audience {
                subscriber,
                filter: f.to_string(),
                group: Some(group.to_string()),
                since_us: 0,
                qos: 2,
            },
            None => Audience {
                subscriber,
                filter: filter.to_string(),
                group: None,
                since_us: 0,
                qos: 2,
            },
        }
    }
}

/// Both sides of the audit, as recorded by one worker (or merged).
#[derive(Clone, Debug, Default)]
pub struct AuditLog {
    /// Per (publisher, topic).
    pub sent: HashMap<(u64, Arc<str>), Sent>,
    /// Per (subscriber, publisher, topic).
    pub received: HashMap<(u64, u64, Arc<str>), Received>,
    /// Audited subscriptions.
    pub audiences: Vec<Audience>,
}

impl AuditLog {
    /// Adds an audited subscription granted at `since_us` with `qos`
    /// (once per subscriber and filter, however often it subscribes).
    pub fn listen(&mut self, mut audience: Audience, since_us: u64, qos: u8) {
        let same = |a: &Audience| {
            a.subscriber == audience.subscriber
                && a.filter == audience.filter
                && a.group == audience.group
        };
        if !self.audiences.iter().any(same) {
            audience.since_us = since_us;
            audience.qos = qos;
            self.audiences.push(audience);
        }
    }

    /// True when nothing was audited.
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty() && self.received.is_empty() && self.audiences.is_empty()
    }

    /// Adds another worker's log.
    pub fn merge(&mut self, other: AuditLog) {
        for (k, s) in other.sent {
            self.sent.entry(k).or_default().merge(&s);
        }
        for (k, r) in other.received {
            self.received.entry(k).or_default().merge(&r);
        }
        for a in other.audiences {
            if !self.audiences.contains(&a) {
                self.audiences.push(a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_count_duplicates_and_disorder() {
        let mut r = Received::default();
        for seq in [1, 2, 4, 3, 4, 5] {
            r.record(seq, 1);
        }
        assert_eq!((r.seqs.len(), r.duplicates, r.out_of_order), (5, 1, 1));
        // A QoS 0 message may overtake QoS 1 ones: not out of order.
        r.record(7, 1);
        r.record(6, 0);
        assert_eq!(r.out_of_order, 1);
    }

    #[test]
    fn merging_two_shared_members_finds_cross_duplicates() {
        let mut a = Received::default();
        a.record(1, 1);
        a.record(2, 1);
        let mut b = Received::default();
        b.record(2, 1);
        b.record(3, 1);
        a.merge(&b);
        assert_eq!((a.seqs.len(), a.duplicates), (3, 1));
    }

    #[test]
    fn shared_subscriptions_name_their_group() {
        assert_eq!(
            Audience::new(1, "$share/g/jobs/#").group.as_deref(),
            Some("g")
        );
        assert_eq!(Audience::new(1, "jobs/#").group, None);
    }
}
