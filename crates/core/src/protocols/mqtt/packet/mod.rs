//! MQTT packets as cicada uses them, for both protocol versions: encoded and
//! decoded with the codec of rumqttc (3.1.1 and 5), translated into a small
//! set of types so the rest of the driver never looks at a version.

mod decode;
mod encode;

pub use decode::decode;
pub use encode::{ack, connect, disconnect, ping, publish, subscribe, OutPublish};

use bytes::Bytes;

/// Largest packet accepted from a broker (and sent to one).
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
    /// Answer to CONNECT: the broker's Receive Maximum (MQTT 5: how many
    /// QoS 1/2 publishes it takes in flight), or the refusal in words.
    ConnAck(Result<Option<u16>, String>),
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

#[cfg(test)]
mod tests;
