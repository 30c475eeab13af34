//! The delivery audit: publishers stamp each message with who sent it, its
//! number in that sender's stream and when; subscribers record what they
//! got. At the end the two sides are compared per (publisher, topic) and
//! per subscriber — or per group, for shared subscriptions — into lost,
//! duplicated and out-of-order counts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};

use super::packet::Message;

/// The payload prefix of a stamped MQTT 3.1.1 message.
const PREFIX: &[u8] = b"#cicada:";
/// The MQTT 5 user property that carries a stamp.
pub const PROPERTY: &str = "cicada";

/// Who sent a message, its number in that stream, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The publishing user.
    pub publisher: u64,
    /// 1, 2, 3, ... per (publisher, topic).
    pub seq: u64,
    /// Send time, µs since the Unix epoch.
    pub sent_us: u64,
}

/// Now, µs since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Stamp {
    /// `publisher:seq:sent_us`.
    pub fn text(&self) -> String {
        format!("{}:{}:{}", self.publisher, self.seq, self.sent_us)
    }

    /// Reads `publisher:seq:sent_us`.
    pub fn parse(text: &str) -> Option<Stamp> {
        let mut parts = text.split(':');
        let stamp = Stamp {
            publisher: parts.next()?.parse().ok()?,
            seq: parts.next()?.parse().ok()?,
            sent_us: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(stamp)
    }

    /// `payload` behind the compact prefix `#cicada:p:s:t#` (MQTT 3.1.1
    /// has no properties to carry it).
    pub fn prefixed(&self, payload: &[u8]) -> Bytes {
        let text = self.text();
        let mut out = BytesMut::with_capacity(PREFIX.len() + text.len() + 1 + payload.len());
        out.extend_from_slice(PREFIX);
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"#");
        out.extend_from_slice(payload);
        out.freeze()
    }

    /// The stamp of a received message: its user property, else its
    /// payload prefix.
    pub fn of(m: &Message) -> Option<Stamp> {
        if let Some((_, v)) = m.user_properties.iter().find(|(k, _)| k == PROPERTY) {
            return Stamp::parse(v);
        }
        let rest = m.payload.strip_prefix(PREFIX)?;
        let end = rest.iter().position(|&b| b == b'#')?;
        Stamp::parse(std::str::from_utf8(&rest[..end]).ok()?)
    }
}

/// A set of sequence numbers, as sorted disjoint ranges: in-order traffic
/// stays one range however long the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeqSet {
    ranges: Vec<(u64, u64)>,
}

impl SeqSet {
    /// Adds `n`; false when it was there already.
    pub fn insert(&mut self, n: u64) -> bool {
        // Fast path: the next number in order.
        if let Some(last) = self.ranges.last_mut() {
            if last.1 + 1 == n {
                last.1 = n;
                return true;
            }
            if n > last.1 + 1 {
                self.ranges.push((n, n));
                return true;
            }
        }
        let i = self.ranges.partition_point(|&(_, end)| end < n);
        if i < self.ranges.len() && self.ranges[i].0 <= n {
            return false;
        }
        let joins_left = i > 0 && self.ranges[i - 1].1 + 1 == n;
        let joins_right = i < self.ranges.len() && self.ranges[i].0 == n + 1;
        match (joins_left, joins_right) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 = n,
            (false, true) => self.ranges[i].0 = n,
            (false, false) => self.ranges.insert(i, (n, n)),
        }
        true
    }

    /// How many numbers.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|&(a, b)| b - a + 1).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Adds every number of `other`.
    pub fn union(&mut self, other: &SeqSet) {
        let mut all: Vec<(u64, u64)> = self.ranges.iter().chain(&other.ranges).copied().collect();
        all.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.ranges = merged;
    }

    /// How many numbers of `self` are not in `other` (one sweep over both
    /// sorted range lists).
    pub fn missing_from(&self, other: &SeqSet) -> u64 {
        let mut missing = 0;
        let mut j = 0;
        for &(a, b) in &self.ranges {
            let mut covered = 0;
            while j < other.ranges.len() && other.ranges[j].1 < a {
                j += 1;
            }
            let mut k = j;
            while k < other.ranges.len() && other.ranges[k].0 <= b {
                let (lo, hi) = (a.max(other.ranges[k].0), b.min(other.ranges[k].1));
                covered += hi - lo + 1;
                k += 1;
            }
            missing += (b - a + 1) - covered;
        }
        missing
    }
}

/// One publisher's stream on one topic.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// QoS it was published with.
    pub qos: u8,
    /// Sequence numbers handed to the broker.
    pub sent: SeqSet,
    /// Sequence numbers the broker acknowledged (QoS 1 and 2).
    pub acked: SeqSet,
}

impl Sent {
    /// What the broker owes every subscriber: all sent (QoS 0, at most
    /// once, so a loss is allowed but still counted) or all acknowledged.
    fn owed(&self) -> &SeqSet {
        if self.qos == 0 {
            &self.sent
        } else {
            &self.acked
        }
    }
}

/// What one subscriber got of one stream.
#[derive(Clone, Debug, Default)]
pub struct Received {
    /// Distinct sequence numbers.
    pub seqs: SeqSet,
    /// Deliveries of a number already seen.
    pub duplicates: u64,
    /// Deliveries after a higher number of the same stream.
    pub out_of_order: u64,
    highest: u64,
}

impl Received {
    /// Records one delivery of `seq`.
    pub fn record(&mut self, seq: u64) {
        if !self.seqs.insert(seq) {
            self.duplicates += 1;
        } else if seq < self.highest {
            self.out_of_order += 1;
        }
        self.highest = self.highest.max(seq);
    }

    fn merge(&mut self, other: &Received) {
        let before = self.seqs.len() + other.seqs.len();
        self.seqs.union(&other.seqs);
        self.duplicates += other.duplicates + (before - self.seqs.len());
        self.out_of_order += other.out_of_order;
        self.highest = self.highest.max(other.highest);
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
            },
            None => Audience {
                subscriber,
                filter: filter.to_string(),
                group: None,
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
    /// True when nothing was audited.
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty() && self.received.is_empty() && self.audiences.is_empty()
    }

    /// Adds another worker's log.
    pub fn merge(&mut self, other: AuditLog) {
        for (k, s) in other.sent {
            let mine = self.sent.entry(k).or_default();
            mine.qos = mine.qos.max(s.qos);
            mine.sent.union(&s.sent);
            mine.acked.union(&s.acked);
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

/// The audit of one stream for one audience (a subscriber, or a group).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StreamAudit {
    /// The publishing user.
    pub publisher: u64,
    /// The topic.
    pub topic: String,
    /// QoS it was published with.
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
    /// Distinct messages received, over all audiences.
    pub received: u64,
    /// Owed messages never received.
    pub lost: u64,
    /// Lost messages that were published with QoS 0 (allowed by MQTT).
    pub lost_qos0: u64,
    /// Duplicate deliveries.
    pub duplicated: u64,
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
                let members: Vec<u64> = match &a.group {
                    Some(g) if groups.contains(&g.as_str()) => continue,
                    Some(g) => {
                        groups.push(g);
                        self.audiences
                            .iter()
                            .filter(|m| {
                                m.group.as_deref() == Some(g.as_str()) && matches(&m.filter, topic)
                            })
                            .map(|m| m.subscriber)
                            .collect()
                    }
                    None => vec![a.subscriber],
                };
                let mut got = Received::default();
                for m in &members {
                    if let Some(r) = self.received.get(&(*m, publisher, topic.clone())) {
                        got.merge(r);
                    }
                }
                let lost = sent.owed().missing_from(&got.seqs);
                let row = StreamAudit {
                    publisher,
                    topic: topic.to_string(),
                    qos: sent.qos,
                    subscriber: a.group.is_none().then_some(a.subscriber),
                    group: a.group.clone(),
                    published: sent.sent.len(),
                    owed: sent.owed().len(),
                    received: got.seqs.len(),
                    lost,
                    duplicated: got.duplicates,
                    out_of_order: got.out_of_order,
                };
                out.received += row.received;
                out.lost += row.lost;
                if sent.qos == 0 {
                    out.lost_qos0 += row.lost;
                }
                out.duplicated += row.duplicated;
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

/// True when `topic` matches the MQTT `filter` (`+` one level, `#` the
/// rest); wildcards do not match `$SYS`-style topics at the first level.
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_in_payload_and_property() {
        let s = Stamp {
            publisher: 7,
            seq: 42,
            sent_us: 1_700_000_000_000_000,
        };
        let m = Message {
            topic: "t".into(),
            payload: s.prefixed(b"{}"),
            qos: 1,
            pkid: 1,
            retain: false,
            user_properties: vec![],
        };
        assert_eq!(Stamp::of(&m), Some(s));
        let m5 = Message {
            payload: Bytes::from_static(b"{}"),
            user_properties: vec![(PROPERTY.into(), s.text())],
            ..m
        };
        assert_eq!(Stamp::of(&m5), Some(s));
        let plain = Message {
            user_properties: vec![],
            ..m5
        };
        assert_eq!(Stamp::of(&plain), None);
    }

    #[test]
    fn seq_sets_stay_small_and_count_right() {
        let mut s = SeqSet::default();
        for n in 1..=1000 {
            assert!(s.insert(n));
        }
        assert_eq!(s.ranges.len(), 1);
        assert!(!s.insert(500));
        s.insert(1005);
        s.insert(1003);
        s.insert(1004);
        assert_eq!(s.len(), 1003);
        let mut all = SeqSet::default();
        for n in 1..=1005 {
            all.insert(n);
        }
        assert_eq!(all.missing_from(&s), 2, "1001 and 1002");
        assert_eq!(s.missing_from(&all), 0);
    }

    #[test]
    fn deliveries_count_duplicates_and_disorder() {
        let mut r = Received::default();
        for seq in [1, 2, 4, 3, 4, 5] {
            r.record(seq);
        }
        assert_eq!((r.seqs.len(), r.duplicates, r.out_of_order), (5, 1, 1));
    }

    #[test]
    fn merging_two_shared_members_finds_cross_duplicates() {
        let mut a = Received::default();
        a.record(1);
        a.record(2);
        let mut b = Received::default();
        b.record(2);
        b.record(3);
        a.merge(&b);
        assert_eq!((a.seqs.len(), a.duplicates), (3, 1));
    }

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
    fn the_audit_compares_what_was_owed_with_what_arrived() {
        let topic: Arc<str> = Arc::from("lamp/set_config");
        let mut log = AuditLog::default();
        log.sent
            .insert((1, topic.clone()), sent(1, &[1, 2, 3, 4], &[1, 2, 3]));
        log.audiences.push(Audience::new(9, "lamp/#"));
        let r = log.received.entry((9, 1, topic.clone())).or_default();
        for seq in [1, 3, 3] {
            r.record(seq);
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
            .record(1);
        log.received
            .entry((7, 1, topic.clone()))
            .or_default()
            .record(3);
        log.received
            .entry((8, 1, topic.clone()))
            .or_default()
            .record(2);
        let a = log.summarize();
        assert_eq!(a.streams.len(), 1);
        assert_eq!((a.received, a.lost), (3, 1));
        assert_eq!(
            a.consumers.iter().map(|c| c.received).collect::<Vec<_>>(),
            [2, 1]
        );
    }

    #[test]
    fn topic_filters() {
        assert!(matches("lamp/#", "lamp/set_config"));
        assert!(matches("lamp/#", "lamp"));
        assert!(matches("lamp/+/state", "lamp/7/state"));
        assert!(!matches("lamp/+/state", "lamp/7/config"));
        assert!(!matches("#", "$SYS/broker/load"));
        assert!(matches("$SYS/#", "$SYS/broker/load"));
        assert_eq!(
            Audience::new(1, "$share/g/jobs/#").group.as_deref(),
            Some("g")
        );
    }
}
