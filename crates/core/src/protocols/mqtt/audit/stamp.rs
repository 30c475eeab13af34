//! The stamp a publisher puts on an audited message: who sent it, its
//! number in that sender's stream, and when.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};

use crate::protocols::mqtt::packet::Message;

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

/// A payload without its stamp prefix (for checks on the message).
pub fn strip_stamp(payload: &Bytes) -> Bytes {
    if let Some(rest) = payload.strip_prefix(PREFIX) {
        if let Some(end) = rest.iter().position(|&b| b == b'#') {
            return payload.slice(PREFIX.len() + end + 1..);
        }
    }
    payload.clone()
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
        assert_eq!(&strip_stamp(&m.payload)[..], b"{}");
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
}
