//! The MQTT steps: `mqtt.connect`, `mqtt.publish`, `mqtt.subscribe`,
//! `mqtt.expect`. The user's connection opens on its first MQTT step.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tokio::time::Instant;

use super::audit::strip_stamp;
use super::packet::{Message, Properties};
use super::session::{MqttSession, Publish};
use super::settings::Settings;
use super::topic::matches;
use crate::metrics::StatId;
use crate::protocols::http::{Check, Exchange, Extract};
use crate::protocols::{Context, Flow};
use crate::template::{Text, ValueTemplate};
use crate::units::format_duration;

/// What every MQTT step needs to open the user's connection.
#[derive(Debug, Clone)]
pub struct Conn {
    /// How to connect.
    pub settings: Arc<Settings>,
    /// Row of CONNECT → CONNACK.
    pub connect_stat: StatId,
}

/// An MQTT step.
#[derive(Debug)]
pub enum MqttStep {
    /// Open the connection (and wait for it).
    Connect(Conn),
    /// Publish.
    Publish(Box<PublishStep>),
    /// Subscribe.
    Subscribe(SubscribeStep),
    /// Wait for a message.
    Expect(Box<ExpectStep>),
}

/// A payload as the scenario gives it.
#[derive(Debug)]
pub enum Payload {
    /// Text, maybe templated.
    Text(Text),
    /// JSON, maybe with templates inside.
    Json(ValueTemplate),
    /// Random bytes, sized uniformly in the range.
    Random(usize, usize),
}

/// `mqtt.publish`.
#[derive(Debug)]
pub struct PublishStep {
    /// Connection.
    pub conn: Conn,
    /// Topic.
    pub topic: Text,
    /// Payload.
    pub payload: Payload,
    /// QoS.
    pub qos: u8,
    /// Retained.
    pub retain: bool,
    /// MQTT 5 properties.
    pub properties: Option<Properties>,
    /// Ack timeout.
    pub timeout: Duration,
    /// Publishes per step.
    pub repeat: u64,
    /// Row.
    pub stat: StatId,
    /// Wait for each ack.
    pub wait_ack: bool,
    /// Stamp for the audit.
    pub audit: bool,
}

/// `mqtt.subscribe`.
#[derive(Debug)]
pub struct SubscribeStep {
    /// Connection.
    pub conn: Conn,
    /// Filters (templates) and QoS.
    pub filters: Vec<(Text, u8)>,
    /// Audit what arrives.
    pub audit: bool,
    /// Row of the SUBACK wait.
    pub stat: StatId,
    /// Row of end-to-end latency (audited subscriptions).
    pub e2e: Option<StatId>,
    /// SUBACK timeout.
    pub timeout: Duration,
    /// Keep messages for `mqtt.expect` steps of this user.
    pub keep_messages: bool,
}

/// `mqtt.expect`.
#[derive(Debug)]
pub struct ExpectStep {
    /// Connection.
    pub conn: Conn,
    /// Topic filter (a template).
    pub filter: Text,
    /// Conditions on the payload.
    pub check: Check,
    /// Time allowed.
    pub timeout: Duration,
    /// Row.
    pub stat: StatId,
    /// Values to take from the message.
    pub extracts: Vec<Extract>,
}

impl MqttStep {
    /// Runs the step for this user.
    pub async fn run(&self, cx: &mut Context) -> Flow {
        match self {
            MqttStep::Connect(conn) => connect(conn, cx).await,
            MqttStep::Publish(p) => p.run(cx).await,
            MqttStep::Subscribe(s) => s.run(cx).await,
            MqttStep::Expect(e) => e.run(cx).await,
        }
    }
}

/// The user's session, opened on first use; `None` when the client id
/// does not render (recorded as a failure of `stat`).
fn session<'a>(cx: &'a mut Context, conn: &Conn, stat: StatId) -> Option<&'a mut MqttSession> {
    if cx.mqtt.is_none() {
        let client_id = match conn.settings.client_id.render(&cx.vars) {
            Ok(id) => id.into_owned(),
            Err(e) => {
                cx.recorder.borrow_mut().failure(
                    stat,
                    Duration::ZERO,
                    0,
                    &format!("client_id {e}"),
                    None,
                );
                return None;
            }
        };
        let user = cx.vars.user_id;
        cx.mqtt = Some(MqttSession::start(
            conn.settings.clone(),
            client_id,
            user,
            cx.recorder.clone(),
            conn.connect_stat,
        ));
    }
    cx.mqtt.as_mut()
}

/// `mqtt.connect`: the connection is up before the next step, or the
/// iteration ends (the driver recorded why in the `connect` row).
async fn connect(conn: &Conn, cx: &mut Context) -> Flow {
    let Some(s) = session(cx, conn, conn.connect_stat) else {
        return Flow::Abort;
    };
    let deadline = Instant::now() + conn.settings.connect_timeout;
    match s.until_up(deadline).await {
        Ok(()) => Flow::Continue,
        Err(_) => Flow::Abort,
    }
}

thread_local! {
    /// Random bytes for `payload_size` payloads, made once per worker.
    static NOISE: Bytes = Bytes::from((0..64 * 1024).map(|_| fastrand::u8(..)).collect::<Vec<u8>>());
}

impl PublishStep {
    fn payload(&self, cx: &Context) -> Result<Bytes, String> {
        Ok(match &self.payload {
            Payload::Text(t) => {
                Bytes::from(t.render(&cx.vars).map_err(|e| e.to_string())?.into_owned())
            }
            Payload::Json(j) => Bytes::from(
                j.render_json(&cx.vars)
                    .map_err(|e| e.to_string())?
                    .to_string(),
            ),
            Payload::Random(min, max) => {
                let size = fastrand::usize(*min..=*max);
                NOISE.with(|n| {
                    if size <= n.len() {
                        n.slice(..size)
                    } else {
                        Bytes::from((0..size).map(|_| fastrand::u8(..)).collect::<Vec<u8>>())
                    }
                })
            }
        })
    }

    async fn run(&self, cx: &mut Context) -> Flow {
        let rendered = self
            .topic
            .render(&cx.vars)
            .map(|t| t.into_owned())
            .map_err(|e| e.to_string())
            .and_then(|topic| Ok((topic, self.payload(cx)?)));
        let (topic, payload) = match rendered {
            Ok(ok) => ok,
            Err(why) => {
                cx.recorder
                    .borrow_mut()
                    .failure(self.stat, Duration::ZERO, 0, &why, None);
                return Flow::Continue;
            }
        };
        let recorder = cx.recorder.clone();
        for _ in 0..self.repeat {
            let started = cx.begin(self.stat);
            let Some(s) = session(cx, &self.conn, self.stat) else {
                return Flow::Abort;
            };
            let p = Publish {
                topic: &topic,
                payload: payload.clone(),
                qos: self.qos,
                retain: self.retain,
                properties: self.properties.as_ref(),
                stat: self.stat,
                timeout: self.timeout,
                wait_ack: self.wait_ack,
                audit: self.audit,
            };
            let result = s.publish(&p).await;
            cx.end(self.stat);
            if let Err(why) = result {
                recorder
                    .borrow_mut()
                    .failure(self.stat, started.elapsed(), 0, &why, None);
            }
        }
        Flow::Continue
    }
}

/// `text` for this user, or the failure recorded in `stat`.
fn render(text: &Text, cx: &Context, stat: StatId) -> Option<String> {
    match text.render(&cx.vars) {
        Ok(t) => Some(t.into_owned()),
        Err(e) => {
            cx.recorder
                .borrow_mut()
                .failure(stat, Duration::ZERO, 0, &e.to_string(), None);
            None
        }
    }
}

impl SubscribeStep {
    async fn run(&self, cx: &mut Context) -> Flow {
        let mut filters = Vec::with_capacity(self.filters.len());
        for (f, q) in &self.filters {
            let Some(f) = render(f, cx, self.stat) else {
                return Flow::Abort;
            };
            filters.push((f, *q));
        }
        let started = cx.begin(self.stat);
        let Some(s) = session(cx, &self.conn, self.stat) else {
            return Flow::Abort;
        };
        let granted = s
            .subscribe(
                &filters,
                self.audit,
                self.e2e,
                self.keep_messages,
                self.timeout,
            )
            .await;
        cx.end(self.stat);
        let mut rec = cx.recorder.borrow_mut();
        match granted {
            Ok(_) => {
                rec.success(self.stat, started.elapsed(), 0);
                Flow::Continue
            }
            Err(why) => {
                rec.failure(
                    self.stat,
                    started.elapsed(),
                    0,
                    &format!("SUBACK: {why}"),
                    None,
                );
                Flow::Abort
            }
        }
    }
}

/// A message as checks and extractions see it: its payload, without a
/// stamp, as the body of a 200 response.
fn as_exchange(m: &Message) -> Exchange {
    Exchange::new(StatusCode::OK, HeaderMap::new(), strip_stamp(&m.payload))
}

impl ExpectStep {
    async fn run(&self, cx: &mut Context) -> Flow {
        let Some(filter) = render(&self.filter, cx, self.stat) else {
            return Flow::Abort;
        };
        let started = cx.begin(self.stat);
        let Some(s) = session(cx, &self.conn, self.stat) else {
            return Flow::Abort;
        };
        let deadline = started + self.timeout;
        let found = s
            .expect(deadline, |m| {
                matches(&filter, &m.topic) && self.check.evaluate(&as_exchange(m)).is_ok()
            })
            .await;
        cx.end(self.stat);
        let elapsed = started.elapsed();
        let Some(message) = found else {
            let why = format!(
                "no message on '{}' matching within {}",
                filter,
                format_duration(self.timeout)
            );
            cx.recorder
                .borrow_mut()
                .failure(self.stat, elapsed, 0, &why, None);
            return Flow::Abort;
        };
        let ex = as_exchange(&message);
        for extract in &self.extracts {
            match extract.apply(&ex) {
                Ok(value) => cx.vars_mut().set(&extract.var, value),
                Err(why) => {
                    cx.recorder.borrow_mut().failure(
                        self.stat,
                        elapsed,
                        message.payload.len() as u64,
                        &why,
                        None,
                    );
                    return Flow::Abort;
                }
            }
        }
        cx.recorder
            .borrow_mut()
            .success(self.stat, elapsed, message.payload.len() as u64);
        Flow::Continue
    }
}
