//! Packets cicada sends, appended to a connection's output buffer.

use bytes::{Bytes, BytesMut};
use rumqttc::v5::mqttbytes::v5 as m5;
use rumqttc::v5::mqttbytes::QoS as Q5;
use rumqttc::{self as m4, QoS as Q4};

use super::{Ack, ConnectOptions, Properties, Version, MAX_INCOMING};

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

/// Encodes CONNECT for `version` into `out`; the error says which option
/// the codec refused.
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
