//! MQTT packets as cicada uses them, for both protocol versions: encoded and
//! decoded with the codec of rumqttc (3.1.1 and 5), translated into a small
//! set of types so the rest of the driver never looks at a version.

use bytes::{Bytes, BytesMut};
use rumqttc::v5::mqttbytes::v5 as m5;
use rumqttc::v5::mqttbytes::QoS as Q5;
use rumqttc::{self as m4, QoS as Q4};

/// Largest packet accepted from a broker.
const MAX_INCOMING: usize = 16 * 1024 * 1024;

/// The protocol version of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Version {
    /// MQTT 3.1.1 (protocol level 4).
    #[default]
    V311,
    /// MQTT 5.
    V5,
}

/// A last-will message.
#[derive(Clone, Debug, PartialEq)]
pub struct Will {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// QoS 0, 1 or 2.
    pub qos: u8,
    /// Retained.
    pub retain: bool,
}

/// What goes into CONNECT.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectOptions {
    /// Client identifier.
    pub client_id: String,
    /// Keep-alive, seconds (0: none).
    pub keep_alive: u16,
    /// Clean session (3.1.1) / clean start (5).
    pub clean: bool,
    /// User name and password.
    pub login: Option<(String, String)>,
    /// Last will.
    pub will: Option<Will>,
}

/// MQTT 5 publish properties.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Properties {
    /// Content type.
    pub content_type: Option<String>,
    /// Response topic.
    pub response_topic: Option<String>,
    /// Correlation data.
    pub correlation_data: Option<Bytes>,
    /// Message expiry, seconds.
    pub message_expiry: Option<u32>,
    /// User properties.
    pub user_properties: Vec<(String, String)>,
}

/// A message received from the broker.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// QoS it was delivered with.
    pub qos: u8,
    /// Packet id (QoS 1 and 2).
    pub pkid: u16,
    /// The retained flag.
    pub retain: bool,
    /// MQTT 5 user properties.
    pub user_properties: Vec<(String, String)>,
}

/// Acknowledgements cicada sends or receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ack {
    /// QoS 1: publish acknowledged.
    PubAck,
    /// QoS 2, step 1: publish received.
    PubRec,
    /// QoS 2, step 2: release.
    PubRel,
    /// QoS 2, step 3: complete.
    PubComp,
}

/// What a broker sends.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// Answer to CONNECT; `Err` carries the refusal in words.
    ConnAck(Result<(), String>),
    /// A message for one of our subscriptions.
    Publish(Message),
    /// An acknowledgement; `Err` carries a refusal (MQTT 5 reason codes).
    Ack(Ack, u16, Result<(), String>),
    /// Answer to SUBSCRIBE: granted QoS per filter, or why not.
    SubAck(u16, Vec<Result<u8, String>>),
    /// Answer to PINGREQ.
    PingResp,
    /// The broker closes the connection, saying why (MQTT 5).
    Disconnect(String),
    /// Anything cicada does not act on.
    Other,
}

fn q4(qos: u8) -> Q4 {
    match qos {
        0 => Q4::AtMostOnce,
        1 => Q4::AtLeastOnce,
        _ => Q4::ExactlyOnce,
    }
}

fn q5(qos: u8) -> Q5 {
    match qos {
        0 => Q5::AtMostOnce,
        1 => Q5::AtLeastOnce,
        _ => Q5::ExactlyOnce,
    }
}

/// `NotAuthorized` → `not authorized`.
fn words(debug: impl std::fmt::Debug) -> String {
    let text = format!("{debug:?}");
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Appends CONNECT.
pub fn connect(version: Version, o: &ConnectOptions, out: &mut BytesMut) -> Result<(), String> {
    let result = match version {
        Version::V311 => {
            let mut c = m4::Connect::new(o.client_id.clone());
            c.keep_alive = o.keep_alive;
            c.clean_session = o.clean;
            c.login = o
                .login
                .as_ref()
                .map(|(u, p)| m4::Login::new(u.clone(), p.clone()));
            c.last_will = o.will.as_ref().map(|w| m4::LastWill {
                topic: w.topic.clone(),
                message: w.payload.clone(),
                qos: q4(w.qos),
                retain: w.retain,
            });
            m4::Packet::Connect(c).write(out, MAX_INCOMING).map(|_| ())
        }
        Version::V5 => {
            let c = m5::Connect {
                keep_alive: o.keep_alive,
                client_id: o.client_id.clone(),
                clean_start: o.clean,
                properties: None,
            };
            let will = o.will.as_ref().map(|w| m5::LastWill {
                topic: Bytes::from(w.topic.clone()),
                message: w.payload.clone(),
                qos: q5(w.qos),
                retain: w.retain,
                properties: None,
            });
            let login = o
                .login
                .as_ref()
                .map(|(u, p)| m5::Login::new(u.clone(), p.clone()));
            return m5::Packet::Connect(c, will, login)
                .write(out, None)
                .map(|_| ())
                .map_err(|e| format!("cannot encode CONNECT: {e:?}"));
        }
    };
    result.map_err(|e| format!("cannot encode CONNECT: {e:?}"))
}

/// A PUBLISH to encode.
#[derive(Debug)]
pub struct OutPublish<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Payload.
    pub payload: Bytes,
    /// QoS 0, 1 or 2.
    pub qos: u8,
    /// Retained.
    pub retain: bool,
    /// Packet id (QoS 1 and 2).
    pub pkid: u16,
    /// MQTT 5 properties.
    pub properties: Option<&'a Properties>,
}

/// Appends PUBLISH.
pub fn publish(version: Version, p: &OutPublish<'_>, out: &mut BytesMut) -> Result<(), String> {
    let result = match version {
        Version::V311 => {
            let mut m = m4::Publish::from_bytes(p.topic, q4(p.qos), p.payload.clone());
            m.retain = p.retain;
            m.pkid = p.pkid;
            m.write(out).map(|_| ()).map_err(|e| format!("{e:?}"))
        }
        Version::V5 => {
            let properties = p.properties.map(|pr| m5::PublishProperties {
                content_type: pr.content_type.clone(),
                response_topic: pr.response_topic.clone(),
                correlation_data: pr.correlation_data.clone(),
                message_expiry_interval: pr.message_expiry,
                user_properties: pr.user_properties.clone(),
                ..Default::default()
            });
            let mut m = m5::Publish::new(p.topic, q5(p.qos), p.payload.clone(), properties);
            m.retain = p.retain;
            m.pkid = p.pkid;
            m5::Packet::Publish(m)
                .write(out, None)
                .map(|_| ())
                .map_err(|e| format!("{e:?}"))
        }
    };
    result.map_err(|e| format!("cannot encode PUBLISH to '{}': {e}", p.topic))
}

/// Appends an acknowledgement.
pub fn ack(version: Version, kind: Ack, pkid: u16, out: &mut BytesMut) {
    // Acks of a valid packet id always encode.
    let _ = match (version, kind) {
        (Version::V311, Ack::PubAck) => m4::PubAck::new(pkid).write(out),
        (Version::V311, Ack::PubRec) => m4::PubRec::new(pkid).write(out),
        (Version::V311, Ack::PubRel) => m4::PubRel::new(pkid).write(out),
        (Version::V311, Ack::PubComp) => m4::PubComp::new(pkid).write(out),
        (Version::V5, Ack::PubAck) => m5::Packet::PubAck(m5::PubAck::new(pkid, None))
            .write(out, None)
            .map_err(|_| m4::Error::MalformedPacket),
        (Version::V5, Ack::PubRec) => m5::Packet::PubRec(m5::PubRec::new(pkid, None))
            .write(out, None)
            .map_err(|_| m4::Error::MalformedPacket),
        (Version::V5, Ack::PubRel) => m5::Packet::PubRel(m5::PubRel::new(pkid, None))
            .write(out, None)
            .map_err(|_| m4::Error::MalformedPacket),
        (Version::V5, Ack::PubComp) => m5::Packet::PubComp(m5::PubComp::new(pkid, None))
            .write(out, None)
            .map_err(|_| m4::Error::MalformedPacket),
    };
}

/// Appends SUBSCRIBE for `filters` (filter, QoS).
pub fn subscribe(
    version: Version,
    pkid: u16,
    filters: &[(String, u8)],
    out: &mut BytesMut,
) -> Result<(), String> {
    let result = match version {
        Version::V311 => {
            let mut s = m4::Subscribe::new_many(
                filters
                    .iter()
                    .map(|(f, q)| m4::SubscribeFilter::new(f.clone(), q4(*q))),
            );
            s.pkid = pkid;
            s.write(out).map(|_| ()).map_err(|e| format!("{e:?}"))
        }
        Version::V5 => {
            let mut s = m5::Subscribe::new_many(
                filters
                    .iter()
                    .map(|(f, q)| m5::Filter::new(f.clone(), q5(*q))),
                None,
            );
            s.pkid = pkid;
            m5::Packet::Subscribe(s)
                .write(out, None)
                .map(|_| ())
                .map_err(|e| format!("{e:?}"))
        }
    };
    result.map_err(|e| format!("cannot encode SUBSCRIBE: {e}"))
}

/// Appends PINGREQ.
pub fn ping(version: Version, out: &mut BytesMut) {
    let _ = match version {
        Version::V311 => m4::PingReq.write(out),
        Version::V5 => m5::Packet::PingReq(m5::PingReq)
            .write(out, None)
            .map_err(|_| m4::Error::MalformedPacket),
    };
}

/// Appends DISCONNECT.
pub fn disconnect(version: Version, out: &mut BytesMut) {
    let _ = match version {
        Version::V311 => m4::Disconnect.write(out),
        Version::V5 => m5::Packet::Disconnect(m5::Disconnect::new(
            m5::DisconnectReasonCode::NormalDisconnection,
        ))
        .write(out, None)
        .map_err(|_| m4::Error::MalformedPacket),
    };
}

/// Takes one packet off the front of `buf`: `Ok(None)` when more bytes
/// are needed, `Err` when the bytes are not MQTT.
pub fn decode(version: Version, buf: &mut BytesMut) -> Result<Option<Incoming>, String> {
    match version {
        Version::V311 => match m4::Packet::read(buf, MAX_INCOMING) {
            Err(m4::Error::InsufficientBytes(_)) => Ok(None),
            Err(e) => Err(format!("invalid packet from the broker: {e:?}")),
            Ok(p) => Ok(Some(from_v4(p))),
        },
        Version::V5 => match m5::Packet::read(buf, Some(MAX_INCOMING as u32)) {
            Err(rumqttc::v5::mqttbytes::Error::InsufficientBytes(_)) => Ok(None),
            Err(e) => Err(format!("invalid packet from the broker: {e:?}")),
            Ok(p) => Ok(Some(from_v5(p))),
        },
    }
}

fn from_v4(p: m4::Packet) -> Incoming {
    match p {
        m4::Packet::ConnAck(a) => Incoming::ConnAck(match a.code {
            m4::ConnectReturnCode::Success => Ok(()),
            code => Err(format!("{} ({})", words(code), code as u8)),
        }),
        m4::Packet::Publish(m) => Incoming::Publish(Message {
            topic: m.topic,
            payload: m.payload,
            qos: m.qos as u8,
            pkid: m.pkid,
            retain: m.retain,
            user_properties: Vec::new(),
        }),
        m4::Packet::PubAck(a) => Incoming::Ack(Ack::PubAck, a.pkid, Ok(())),
        m4::Packet::PubRec(a) => Incoming::Ack(Ack::PubRec, a.pkid, Ok(())),
        m4::Packet::PubRel(a) => Incoming::Ack(Ack::PubRel, a.pkid, Ok(())),
        m4::Packet::PubComp(a) => Incoming::Ack(Ack::PubComp, a.pkid, Ok(())),
        m4::Packet::SubAck(a) => Incoming::SubAck(
            a.pkid,
            a.return_codes
                .into_iter()
                .map(|c| match c {
                    m4::SubscribeReasonCode::Success(q) => Ok(q as u8),
                    m4::SubscribeReasonCode::Failure => Err("refused (128)".to_string()),
                })
                .collect(),
        ),
        m4::Packet::PingResp => Incoming::PingResp,
        m4::Packet::Disconnect => Incoming::Disconnect("disconnect".into()),
        _ => Incoming::Other,
    }
}

fn from_v5(p: m5::Packet) -> Incoming {
    let ack = |kind, pkid, ok: bool, reason: String| {
        Incoming::Ack(kind, pkid, if ok { Ok(()) } else { Err(reason) })
    };
    match p {
        m5::Packet::ConnAck(a) => Incoming::ConnAck(match a.code {
            m5::ConnectReturnCode::Success => Ok(()),
            code => Err(words(code)),
        }),
        m5::Packet::Publish(m) => Incoming::Publish(Message {
            topic: String::from_utf8_lossy(&m.topic).into_owned(),
            payload: m.payload,
            qos: m.qos as u8,
            pkid: m.pkid,
            retain: m.retain,
            user_properties: m.properties.map(|p| p.user_properties).unwrap_or_default(),
        }),
        m5::Packet::PubAck(a) => {
            let ok = matches!(
                a.reason,
                m5::PubAckReason::Success | m5::PubAckReason::NoMatchingSubscribers
            );
            ack(Ack::PubAck, a.pkid, ok, words(a.reason))
        }
        m5::Packet::PubRec(a) => {
            let ok = matches!(
                a.reason,
                m5::PubRecReason::Success | m5::PubRecReason::NoMatchingSubscribers
            );
            ack(Ack::PubRec, a.pkid, ok, words(a.reason))
        }
        m5::Packet::PubRel(a) => ack(Ack::PubRel, a.pkid, true, String::new()),
        m5::Packet::PubComp(a) => {
            let ok = matches!(a.reason, m5::PubCompReason::Success);
            ack(Ack::PubComp, a.pkid, ok, words(a.reason))
        }
        m5::Packet::SubAck(a) => Incoming::SubAck(
            a.pkid,
            a.return_codes
                .into_iter()
                .map(|c| match c {
                    m5::SubscribeReasonCode::Success(q) => Ok(q as u8),
                    other => Err(words(other)),
                })
                .collect(),
        ),
        m5::Packet::PingResp(_) => Incoming::PingResp,
        m5::Packet::Disconnect(d) => Incoming::Disconnect(words(d.reason_code)),
        _ => Incoming::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ConnectOptions {
        ConnectOptions {
            client_id: "lamp-1".into(),
            keep_alive: 30,
            clean: true,
            login: Some(("u".into(), "p".into())),
            will: Some(Will {
                topic: "lamp/gone".into(),
                payload: Bytes::from_static(b"bye"),
                qos: 1,
                retain: false,
            }),
        }
    }

    #[test]
    fn both_versions_encode_connect_and_publish() {
        for v in [Version::V311, Version::V5] {
            let mut out = BytesMut::new();
            connect(v, &options(), &mut out).expect("encodes");
            assert_eq!(out[0] >> 4, 1, "CONNECT");
            let props = Properties {
                content_type: Some("application/json".into()),
                ..Default::default()
            };
            let mut out = BytesMut::new();
            let p = OutPublish {
                topic: "lamp/set_config",
                payload: Bytes::from_static(b"{}"),
                qos: 1,
                retain: true,
                pkid: 7,
                properties: Some(&props),
            };
            publish(v, &p, &mut out).expect("encodes");
            assert_eq!(out[0], 0x30 | 0x02 | 0x01, "PUBLISH, QoS 1, retain");
        }
    }

    #[test]
    fn decodes_what_a_broker_sends_in_pieces() {
        // PUBLISH encoded by the same codec, as a broker would forward it.
        let mut wire = BytesMut::new();
        let p = OutPublish {
            topic: "t",
            payload: Bytes::from_static(b"hello"),
            qos: 1,
            retain: false,
            pkid: 3,
            properties: None,
        };
        publish(Version::V311, &p, &mut wire).expect("encodes");
        ack(Version::V311, Ack::PubAck, 9, &mut wire);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for byte in wire.iter() {
            buf.extend_from_slice(&[*byte]);
            while let Some(packet) = decode(Version::V311, &mut buf).expect("valid") {
                got.push(packet);
            }
        }
        assert_eq!(got.len(), 2);
        let Incoming::Publish(m) = &got[0] else {
            panic!("publish first")
        };
        assert_eq!(
            (m.topic.as_str(), &m.payload[..], m.qos, m.pkid),
            ("t", &b"hello"[..], 1, 3)
        );
        assert_eq!(got[1], Incoming::Ack(Ack::PubAck, 9, Ok(())));
    }

    #[test]
    fn refusals_are_in_words() {
        let mut buf = BytesMut::from(&[0x20, 0x02, 0x00, 0x05][..]);
        assert_eq!(
            decode(Version::V311, &mut buf),
            Ok(Some(Incoming::ConnAck(Err("not authorized (5)".into()))))
        );
        let mut junk = BytesMut::from(&[0xF0, 0x00][..]);
        assert!(decode(Version::V311, &mut junk).is_err());
    }

    #[test]
    fn mqtt5_user_properties_come_through() {
        let props = Properties {
            user_properties: vec![("cicada".into(), "1:2:3".into())],
            ..Default::default()
        };
        let mut wire = BytesMut::new();
        let p = OutPublish {
            topic: "t",
            payload: Bytes::new(),
            qos: 0,
            retain: false,
            pkid: 0,
            properties: Some(&props),
        };
        publish(Version::V5, &p, &mut wire).expect("encodes");
        let Some(Incoming::Publish(m)) = decode(Version::V5, &mut wire).expect("valid") else {
            panic!("publish")
        };
        assert_eq!(
            m.user_properties,
            vec![("cicada".to_string(), "1:2:3".to_string())]
        );
    }
}
