//! The MQTT protocol state of one connection, without I/O: packet ids,
//! publishes awaiting PUBACK or PUBREC/PUBCOMP with their deadlines,
//! QoS 2 deliveries awaiting PUBREL, keep-alive. It takes requests and
//! incoming packets, writes what must be sent into `out`, and says what
//! happened as [`Event`]s; the driver does the reading and writing.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use super::packet::{self, Ack, Incoming, Message, OutPublish, Properties, Version};
use crate::metrics::StatId;

/// A publish awaiting its acknowledgement.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// Packet id.
    pub pkid: u16,
    /// Row it is measured in.
    pub stat: StatId,
    /// When it was handed to the connection.
    pub started: Instant,
    /// When it fails if not acknowledged.
    pub deadline: Instant,
    /// Its timeout, for the failure message.
    pub timeout: Duration,
    /// QoS 1 or 2.
    pub qos: u8,
    /// Which acknowledgement it waits for.
    pub stage: Ack,
    /// Payload bytes, for the report.
    pub bytes: u64,
    /// True when its user waits for the outcome (`wait_ack`).
    pub waited: bool,
    /// Audit stream (topic) and sequence number, if stamped.
    pub audit: Option<(Arc<str>, u64)>,
}

/// What happened on the connection.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// A QoS 1/2 publish was acknowledged (PUBACK or PUBCOMP).
    Acked(Pending),
    /// A QoS 1/2 publish failed: refused, or not acknowledged in time.
    Failed(Pending, String),
    /// A message arrived on a subscription.
    Message(Message),
    /// The broker answered a SUBSCRIBE.
    SubAck(u16, Vec<Result<u8, String>>),
    /// The broker closed the session.
    Disconnect(String),
}

/// A publish to make.
#[derive(Debug)]
pub struct PublishRequest<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Payload (stamp included).
    pub payload: Bytes,
    /// QoS.
    pub qos: u8,
    /// Retained.
    pub retain: bool,
    /// MQTT 5 properties.
    pub properties: Option<&'a Properties>,
    /// Row it is measured in.
    pub stat: StatId,
    /// Time allowed for the acknowledgement.
    pub timeout: Duration,
    /// The user waits for the outcome.
    pub waited: bool,
    /// Audit stream and sequence.
    pub audit: Option<(Arc<str>, u64)>,
}

/// The protocol state of one connection.
#[derive(Debug)]
pub struct State {
    version: Version,
    next_pkid: u16,
    /// Publishes awaiting acknowledgement.
    pub pending: Vec<Pending>,
    incoming_qos2: Vec<u16>,
    /// Bytes waiting to be written.
    pub out: BytesMut,
    /// QoS 0 publishes not yet written: (row, enqueued at, payload bytes,
    /// the byte count written once it is out), timed when written.
    pub qos0: Vec<(StatId, Instant, u64, u64)>,
    /// Bytes written to the socket so far.
    pub written: u64,
    keep_alive: Duration,
    last_sent: Instant,
    ping_sent: Option<Instant>,
}

impl State {
    /// State for a fresh connection.
    pub fn new(version: Version, keep_alive: Duration, now: Instant) -> State {
        State {
            version,
            next_pkid: 0,
            pending: Vec::new(),
            incoming_qos2: Vec::new(),
            out: BytesMut::new(),
            qos0: Vec::new(),
            written: 0,
            keep_alive,
            last_sent: now,
            ping_sent: None,
        }
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    fn pkid(&mut self) -> u16 {
        loop {
            self.next_pkid = self.next_pkid.wrapping_add(1).max(1);
            let id = self.next_pkid;
            if !self.pending.iter().any(|p| p.pkid == id) {
                return id;
            }
        }
    }

    /// Encodes a publish; QoS 1/2 ones are tracked until acknowledged.
    pub fn publish(&mut self, r: PublishRequest<'_>, now: Instant) -> Result<(), String> {
        let pkid = if r.qos > 0 { self.pkid() } else { 0 };
        let bytes = r.payload.len() as u64;
        let p = OutPublish {
            topic: r.topic,
            payload: r.payload,
            qos: r.qos,
            retain: r.retain,
            pkid,
            properties: r.properties,
        };
        packet::publish(self.version, &p, &mut self.out)?;
        if r.qos == 0 {
            let end = self.written + self.out.len() as u64;
            self.qos0.push((r.stat, now, bytes, end));
        } else {
            self.pending.push(Pending {
                pkid,
                stat: r.stat,
                started: now,
                deadline: now + r.timeout,
                timeout: r.timeout,
                qos: r.qos,
                stage: if r.qos == 1 { Ack::PubAck } else { Ack::PubRec },
                bytes,
                waited: r.waited,
                audit: r.audit,
            });
        }
        Ok(())
    }

    /// Encodes a SUBSCRIBE and returns its packet id.
    pub fn subscribe(&mut self, filters: &[(String, u8)]) -> Result<u16, String> {
        let pkid = self.pkid();
        packet::subscribe(self.version, pkid, filters, &mut self.out)?;
        Ok(pkid)
    }

    /// Takes an incoming packet; answers what must be answered.
    pub fn incoming(&mut self, packet: Incoming) -> Option<Event> {
        match packet {
            Incoming::Publish(m) => match m.qos {
                0 => Some(Event::Message(m)),
                1 => {
                    packet::ack(self.version, Ack::PubAck, m.pkid, &mut self.out);
                    Some(Event::Message(m))
                }
                _ => {
                    packet::ack(self.version, Ack::PubRec, m.pkid, &mut self.out);
                    // A resent PUBLISH before our PUBREC arrived is the same
                    // message: delivered once (exactly-once).
                    if self.incoming_qos2.contains(&m.pkid) {
                        None
                    } else {
                        self.incoming_qos2.push(m.pkid);
                        Some(Event::Message(m))
                    }
                }
            },
            Incoming::Ack(Ack::PubRel, pkid, _) => {
                self.incoming_qos2.retain(|p| *p != pkid);
                packet::ack(self.version, Ack::PubComp, pkid, &mut self.out);
                None
            }
            Incoming::Ack(kind, pkid, result) => {
                let i = self
                    .pending
                    .iter()
                    .position(|p| p.pkid == pkid && p.stage == kind)?;
                if let Err(reason) = result {
                    let p = self.pending.swap_remove(i);
                    let what = format!("{kind:?}").to_ascii_uppercase();
                    return Some(Event::Failed(p, format!("{what}: {reason}")));
                }
                match kind {
                    Ack::PubRec => {
                        self.pending[i].stage = Ack::PubComp;
                        packet::ack(self.version, Ack::PubRel, pkid, &mut self.out);
                        None
                    }
                    _ => Some(Event::Acked(self.pending.swap_remove(i))),
                }
            }
            Incoming::SubAck(pkid, granted) => Some(Event::SubAck(pkid, granted)),
            Incoming::PingResp => {
                self.ping_sent = None;
                None
            }
            Incoming::Disconnect(reason) => Some(Event::Disconnect(reason)),
            Incoming::ConnAck(_) | Incoming::Other => None,
        }
    }

    /// Publishes whose deadline passed, as failures.
    pub fn expire(&mut self, now: Instant) -> Vec<Event> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].deadline <= now {
                let p = self.pending.swap_remove(i);
                let what = format!("{:?}", p.stage).to_ascii_uppercase();
                let reason = format!(
                    "no {what} within {}",
                    crate::units::format_duration(p.timeout)
                );
                out.push(Event::Failed(p, reason));
            } else {
                i += 1;
            }
        }
        out
    }

    /// `n` bytes of `out` were written: returns the QoS 0 publishes now
    /// handed to the socket, as (row, time taken, payload bytes).
    pub fn wrote(&mut self, n: usize, now: Instant) -> Vec<(StatId, Duration, u64)> {
        use bytes::Buf;
        self.out.advance(n);
        self.written += n as u64;
        self.last_sent = now;
        if self.out.is_empty() {
            // Idle connections hold no buffer.
            self.out = BytesMut::new();
        }
        let written = self.written;
        let done = self.qos0.iter().take_while(|q| q.3 <= written).count();
        self.qos0
            .drain(..done)
            .map(|(stat, at, bytes, _)| (stat, now.duration_since(at), bytes))
            .collect()
    }

    /// Keep-alive: sends PINGREQ after `keep_alive` without sending; an
    /// error when a ping went unanswered for `keep_alive`.
    pub fn keep_alive(&mut self, now: Instant) -> Result<(), String> {
        if self.keep_alive.is_zero() {
            return Ok(());
        }
        if let Some(sent) = self.ping_sent {
            if now.duration_since(sent) >= self.keep_alive {
                return Err("no PINGRESP within the keep-alive interval".into());
            }
        } else if now.duration_since(self.last_sent) >= self.keep_alive {
            packet::ping(self.version, &mut self.out);
            self.ping_sent = Some(now);
        }
        Ok(())
    }

    /// The next moment something is due (a deadline or a ping).
    pub fn next_deadline(&self) -> Option<Instant> {
        let ping = (!self.keep_alive.is_zero()).then(|| match self.ping_sent {
            Some(sent) => sent + self.keep_alive,
            None => self.last_sent + self.keep_alive,
        });
        self.pending.iter().map(|p| p.deadline).chain(ping).min()
    }

    /// The connection is gone: every publish awaiting an ack fails.
    pub fn lost(&mut self, reason: &str) -> Vec<Event> {
        self.out.clear();
        self.qos0.clear();
        self.incoming_qos2.clear();
        self.ping_sent = None;
        self.pending
            .drain(..)
            .map(|p| Event::Failed(p, format!("connection lost before the ack: {reason}")))
            .collect()
    }
}

#[cfg(test)]
mod tests;
