//! Validation of the MQTT parts: connection settings from `mqtt:` (and a
//! user's `mqtt.connect`), and the `mqtt.*` steps with their report rows.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use serde_saphyr::Spanned;

use super::build::Ctx;
use super::checks::{check, extract};
use super::error::Loc;
use super::raw::{RawCheck, RawStep};
use super::raw_mqtt::{RawExpect, RawMqtt, RawPublish, RawSubscribe};
use super::steps::Scope;
use crate::metrics::RowKind;
use crate::protocols::mqtt::packet::{Properties, Version, Will};
use crate::protocols::mqtt::settings::{Broker, Settings};
use crate::protocols::mqtt::steps::{
    Conn, ExpectStep, MqttStep, Payload, PublishStep, SubscribeStep,
};
use crate::protocols::tls::TlsOptions;
use crate::units;

/// The MQTT defaults of a scenario: its `mqtt:` section and its broker.
#[derive(Debug, Default)]
pub struct MqttDefaults {
    /// The `mqtt:` section as written.
    pub raw: Option<Spanned<RawMqtt>>,
    /// `host` when it is an `mqtt(s)://` URL.
    pub host: Option<String>,
    /// Folder that relative TLS file paths start from.
    pub base_dir: PathBuf,
}

/// Connection settings from the `mqtt:` section overridden by `over` (a
/// `mqtt.connect` step), or `None` with a problem recorded.
pub fn settings(
    cx: &mut Ctx,
    d: &MqttDefaults,
    over: Option<&Spanned<RawMqtt>>,
    loc: Loc,
    scope: &Scope,
) -> Option<Arc<Settings>> {
    let base = d.raw.as_ref().map(|r| &r.value);
    let over = over.map(|r| &r.value);
    macro_rules! pick {
        ($field:ident) => {
            over.and_then(|o| o.$field.as_ref())
                .or_else(|| base.and_then(|b| b.$field.as_ref()))
        };
    }
    let Some(url) = pick!(broker)
        .map(|b| (b.value.clone(), Loc::of(b)))
        .or_else(|| d.host.clone().map(|h| (h, loc)))
    else {
        cx.problem(loc, "no MQTT broker: set `host: mqtt://host:1883` or `mqtt: { broker: ... }`, or pass --host");
        return None;
    };
    let broker = Broker::parse(&url.0)
        .map_err(|e| cx.problem(url.1, e))
        .ok()?;
    // Two runs against one broker must not take over each other's
    // sessions: the default id carries a token of this run.
    let default_id = format!(
        "cicada-{:06x}-{{{{ user_id }}}}",
        fastrand::u32(..0x100_0000)
    );
    let client_id_src =
        pick!(client_id).map_or((default_id, loc), |c| (c.value.clone(), Loc::of(c)));
    let client_id = cx.text(&client_id_src.0, client_id_src.1, scope)?;
    let mut s = Settings::new(broker, client_id);
    if let Some(p) = pick!(protocol) {
        s.version = match p.value.trim() {
            "3.1.1" | "4" | "3" => Version::V311,
            "5" | "5.0" => Version::V5,
            other => {
                cx.problem(
                    Loc::of(p),
                    format!("unknown MQTT protocol '{other}': expected 3.1.1 or 5"),
                );
                return None;
            }
        };
    }
    if let Some(k) = pick!(keep_alive) {
        s.keep_alive = k.0;
    }
    if let Some(c) = pick!(clean) {
        s.clean = *c;
    }
    if let Some(t) = pick!(connect_timeout) {
        s.connect_timeout = t.0;
    }
    if let Some(m) = pick!(max_inflight) {
        s.max_inflight = usize::try_from(m.0).unwrap_or(usize::MAX).max(1);
    }
    if let Some(user) = pick!(username) {
        s.login = Some((user.clone(), pick!(password).cloned().unwrap_or_default()));
    }
    if let Some(w) = pick!(will) {
        if w.qos > 2 {
            cx.problem(loc, format!("will: qos {} is not 0, 1 or 2", w.qos));
        }
        s.will = Some(Will {
            topic: w.topic.clone(),
            payload: Bytes::from(w.payload.clone()),
            qos: w.qos.min(2),
            retain: w.retain,
        });
    }
    let tls = pick!(tls);
    let options = tls.map_or_else(TlsOptions::default, |t| TlsOptions {
        ca_file: t.value.ca.as_ref().map(|p| d.base_dir.join(p)),
        cert_file: t.value.cert.as_ref().map(|p| d.base_dir.join(p)),
        key_file: t.value.key.as_ref().map(|p| d.base_dir.join(p)),
        insecure: t.value.insecure,
    });
    let tls_loc = tls.map_or(url.1, Loc::of);
    if tls.is_some() && !s.broker.tls {
        cx.problem(tls_loc, "`tls` needs an mqtts:// broker");
    }
    s.with_tls(&options)
        .map_err(|e| cx.problem(tls_loc, format!("tls: {e}")))
        .ok()
        .map(Arc::new)
}

/// The first `mqtt.connect` step of a user type, if any.
pub fn connect_step<'a>(
    lists: impl Iterator<Item = &'a [Spanned<RawStep>]>,
) -> Option<&'a Spanned<RawMqtt>> {
    lists.flatten().find_map(|s| match &s.value {
        RawStep::MqttConnect(c) => Some(&**c),
        _ => None,
    })
}

/// True when any of the lists has an `mqtt.*` step.
pub fn uses_mqtt<'a>(mut lists: impl Iterator<Item = &'a [Spanned<RawStep>]>) -> bool {
    lists.any(|l| {
        l.iter().any(|s| {
            matches!(
                s.value,
                RawStep::MqttConnect(_)
                    | RawStep::MqttPublish(_)
                    | RawStep::MqttSubscribe(_)
                    | RawStep::MqttExpect(_)
            )
        })
    })
}

/// True when any of the lists has an `mqtt.expect` step.
pub fn expects<'a>(mut lists: impl Iterator<Item = &'a [Spanned<RawStep>]>) -> bool {
    lists.any(|l| l.iter().any(|s| matches!(s.value, RawStep::MqttExpect(_))))
}

/// Builds one `mqtt.*` step (`None` for other kinds, or on a problem).
pub fn step(cx: &mut Ctx, scope: &Scope, raw: &RawStep, loc: Loc) -> Option<MqttStep> {
    let Some(conn) = scope.mqtt.clone() else {
        // The user type's connection settings already carry the problem.
        return None;
    };
    match raw {
        RawStep::MqttConnect(_) => Some(MqttStep::Connect(conn)),
        RawStep::MqttPublish(p) => {
            publish(cx, scope, conn, p, loc).map(|p| MqttStep::Publish(Box::new(p)))
        }
        RawStep::MqttSubscribe(s) => subscribe(cx, scope, conn, s, loc).map(MqttStep::Subscribe),
        RawStep::MqttExpect(e) => {
            expect(cx, scope, conn, e, loc).map(|e| MqttStep::Expect(Box::new(e)))
        }
        _ => None,
    }
}

fn publish(
    cx: &mut Ctx,
    scope: &Scope,
    conn: Conn,
    p: &RawPublish,
    loc: Loc,
) -> Option<PublishStep> {
    if p.qos > 2 {
        cx.problem(loc, format!("qos {} is not 0, 1 or 2", p.qos));
        return None;
    }
    let topic = cx.text(&p.topic.value, Loc::of(&p.topic), scope)?;
    let payload = match (&p.payload, &p.json, &p.payload_size) {
        (None, None, None) => Payload::Text(cx.text("", loc, scope)?),
        (Some(t), None, None) => Payload::Text(cx.text(&t.value, Loc::of(t), scope)?),
        (None, Some(j), None) => Payload::Json(cx.value(&j.value, Loc::of(j), scope)?),
        (None, None, Some(size)) => {
            let (min, max) = payload_size(&size.value)
                .map_err(|e| cx.problem(Loc::of(size), e))
                .ok()?;
            Payload::Random(min, max)
        }
        _ => {
            cx.problem(
                loc,
                "a publish has one of `payload`, `json` or `payload_size`",
            );
            return None;
        }
    };
    let timeout = p.timeout.map_or(cx.timeout, |t| t.0);
    let repeat = p.repeat.map_or(1, |r| r.0);
    if timeout.is_zero() || repeat == 0 {
        cx.problem(loc, "`timeout` must be above 0 and `repeat` at least 1");
        return None;
    }
    let name = p
        .name
        .clone()
        .unwrap_or_else(|| format!("publish {} qos{}", p.topic.value, p.qos));
    let stat = cx.stats.intern("MQTT", &name, RowKind::Request);
    cx.stats.set_qos(stat, p.qos);
    let properties = p.properties.as_ref().map(|r| Properties {
        content_type: r.content_type.clone(),
        response_topic: r.response_topic.clone(),
        correlation_data: r.correlation_data.clone().map(Bytes::from),
        message_expiry: r
            .message_expiry
            .map(|d| u32::try_from(d.0.as_secs()).unwrap_or(u32::MAX)),
        user_properties: r
            .user_properties
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    });
    Some(PublishStep {
        conn,
        topic,
        payload,
        qos: p.qos,
        retain: p.retain,
        properties,
        timeout,
        repeat,
        stat,
        wait_ack: p.wait_ack,
        audit: p.audit,
    })
}

/// `100B` → (100, 100); `1KB..10KB` → (1024, 10240).
fn payload_size(text: &str) -> Result<(usize, usize), String> {
    let (a, b) = text.split_once("..").unwrap_or((text, text));
    let min = units::parse_size(a).map_err(|e| e.to_string())? as usize;
    let max = units::parse_size(b).map_err(|e| e.to_string())? as usize;
    if min > max {
        return Err(format!(
            "payload_size '{text}': the smaller size comes first, e.g. 1KB..10KB"
        ));
    }
    Ok((min, max))
}

fn subscribe(
    cx: &mut Ctx,
    scope: &Scope,
    conn: Conn,
    s: &RawSubscribe,
    loc: Loc,
) -> Option<SubscribeStep> {
    let filters: Vec<(String, u8)> = match (&s.topic, &s.filters) {
        (Some(t), None) => vec![(t.clone(), s.qos)],
        (None, Some(list)) if !list.0.is_empty() => list
            .0
            .iter()
            .map(|f| (f.topic.clone(), f.qos.unwrap_or(s.qos)))
            .collect(),
        _ => {
            cx.problem(loc, "a subscribe has `topic` or a non-empty `filters` list");
            return None;
        }
    };
    if let Some((f, q)) = filters.iter().find(|(f, q)| f.is_empty() || *q > 2) {
        cx.problem(
            loc,
            format!("invalid filter '{f}' with qos {q}: expected a topic filter and qos 0, 1 or 2"),
        );
        return None;
    }
    let joined: Vec<&str> = filters.iter().map(|(f, _)| f.as_str()).collect();
    let joined = joined.join(", ");
    let mut compiled = Vec::with_capacity(filters.len());
    for (f, q) in &filters {
        compiled.push((cx.text(f, loc, scope)?, *q));
    }
    let name = s
        .name
        .clone()
        .unwrap_or_else(|| format!("subscribe {joined}"));
    let stat = cx.stats.intern("MQTT", &name, RowKind::Request);
    cx.audit |= s.audit;
    let e2e = s.audit.then(|| {
        cx.stats
            .intern("MQTT", &format!("e2e {joined}"), RowKind::Derived)
    });
    let timeout = s.timeout.map_or(cx.timeout, |t| t.0);
    Some(SubscribeStep {
        conn,
        filters: compiled,
        audit: s.audit,
        stat,
        e2e,
        timeout,
        keep_messages: scope.expects,
    })
}

fn expect(cx: &mut Ctx, scope: &Scope, conn: Conn, e: &RawExpect, loc: Loc) -> Option<ExpectStep> {
    let filter = cx.text(&e.topic, loc, scope)?;
    let raw_check = RawCheck {
        status: None,
        body_contains: e.body_contains.clone(),
        json: e.json.clone(),
    };
    let check = check(cx, &raw_check);
    let extracts = e
        .extract
        .iter()
        .filter_map(|(var, spec)| extract(cx, var, spec))
        .collect();
    if e.timeout.0.is_zero() {
        cx.problem(loc, "`timeout` must be above 0");
    }
    let name = format!("expect {}", e.name.as_deref().unwrap_or(&e.topic));
    let stat = cx.stats.intern("MQTT", &name, RowKind::Request);
    Some(ExpectStep {
        conn,
        filter,
        check,
        timeout: e.timeout.0,
        stat,
        extracts,
    })
}
