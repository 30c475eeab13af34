//! The MQTT parts of the scenario format, as written: the `mqtt:` section
//! (how devices connect), and the `mqtt.connect`,
//! `mqtt.publish`, `mqtt.subscribe` and `mqtt.expect` steps.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::raw::{RawExtract, RawJsonCheck};
use super::values::{CountValue, DurationValue, OneOrMany};

/// `mqtt:` at the top, or the body of `mqtt.connect`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
    /// `mqtt://host:1883` or `mqtts://host:8883` (default: `host`).
    pub broker: Option<Spanned<String>>,
    /// `3.1.1` (or `4`) or `5`.
    pub protocol: Option<Spanned<String>>,
    /// Client id template.
    pub client_id: Option<Spanned<String>>,
    /// Keep-alive interval.
    pub keep_alive: Option<DurationValue>,
    /// Clean session / clean start.
    pub clean: Option<bool>,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Last will.
    pub will: Option<RawWill>,
    /// TLS for `mqtts://`.
    pub tls: Option<Spanned<RawTls>>,
    /// Time allowed for CONNACK.
    pub connect_timeout: Option<DurationValue>,
    /// QoS 1/2 publishes awaiting acks at once, per connection.
    pub max_inflight: Option<CountValue>,
}

/// A last will.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWill {
    /// Topic.
    pub topic: String,
    /// Payload.
    #[serde(default)]
    pub payload: String,
    /// QoS.
    #[serde(default)]
    pub qos: u8,
    /// Retained.
    #[serde(default)]
    pub retain: bool,
}

/// TLS files and options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// CA certificates (PEM).
    pub ca: Option<String>,
    /// Client certificate (PEM).
    pub cert: Option<String>,
    /// Client key (PEM).
    pub key: Option<String>,
    /// Accept any server certificate.
    #[serde(default)]
    pub insecure: bool,
}

/// `mqtt.publish:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublish {
    /// Topic template.
    pub topic: Spanned<String>,
    /// Text payload template.
    pub payload: Option<Spanned<String>>,
    /// JSON payload (templates inside).
    pub json: Option<Spanned<serde_json::Value>>,
    /// Random bytes: `100B`, or a range `1KB..10KB`.
    pub payload_size: Option<Spanned<String>>,
    /// QoS 0, 1 or 2.
    #[serde(default)]
    pub qos: u8,
    /// Retained.
    #[serde(default)]
    pub retain: bool,
    /// Time allowed for PUBACK / PUBCOMP.
    pub timeout: Option<DurationValue>,
    /// Publish this many times.
    pub repeat: Option<CountValue>,
    /// Row name.
    pub name: Option<String>,
    /// Wait for the ack before the next step.
    #[serde(default)]
    pub wait_ack: bool,
    /// Stamp messages for the delivery audit.
    #[serde(default)]
    pub audit: bool,
    /// MQTT 5 properties.
    pub properties: Option<RawProperties>,
}

/// MQTT 5 publish properties.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProperties {
    /// Content type.
    pub content_type: Option<String>,
    /// Response topic.
    pub response_topic: Option<String>,
    /// Correlation data.
    pub correlation_data: Option<String>,
    /// Message expiry.
    pub message_expiry: Option<DurationValue>,
    /// User properties.
    #[serde(default)]
    pub user_properties: BTreeMap<String, String>,
}

/// One filter of `mqtt.subscribe`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilter {
    /// Topic filter (wildcards, `$share/group/...`).
    pub topic: String,
    /// QoS requested.
    pub qos: Option<u8>,
}

/// `mqtt.subscribe:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubscribe {
    /// One filter.
    pub topic: Option<String>,
    /// Several filters.
    pub filters: Option<OneOrMany<RawFilter>>,
    /// QoS for `topic` (and filters without one).
    #[serde(default)]
    pub qos: u8,
    /// Audit the messages and time them end to end.
    #[serde(default)]
    pub audit: bool,
    /// Row name.
    pub name: Option<String>,
    /// Time allowed for SUBACK.
    pub timeout: Option<DurationValue>,
}

/// `mqtt.expect:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// Topic filter the message must match.
    pub topic: String,
    /// Texts the payload must contain.
    #[serde(default)]
    pub body_contains: OneOrMany<String>,
    /// Conditions on the JSON payload.
    pub json: Option<Spanned<OneOrMany<RawJsonCheck>>>,
    /// Time allowed.
    pub timeout: DurationValue,
    /// Row name.
    pub name: Option<String>,
    /// Values to take from the message.
    #[serde(default)]
    pub extract: BTreeMap<String, Spanned<RawExtract>>,
}
