//! Packets a broker sends, read off a connection's input buffer.

use bytes::BytesMut;
use rumqttc::v5::mqttbytes::v5 as m5;
use rumqttc::{self as m4};

use super::{words, Ack, Incoming, Message, Version, MAX_INCOMING};

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
            m4::ConnectReturnCode::Success => Ok(None),
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
            m5::ConnectReturnCode::Success => Ok(a.properties.and_then(|p| p.receive_max)),
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
