//! The MQTT connection of one simulated device, as its steps see it: wait
//! until connected, publish (without waiting for the ack unless asked),
//! subscribe, expect a message. A driver task owns the socket (see
//! `driver`); the two share a [`Link`].

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::{timeout_at, Instant};

use super::audit::{now_us, Audience, Stamp, PROPERTY};
use super::driver;
use super::packet::{Message, Properties, Version};
use super::settings::Settings;
use super::shutdown;
use super::state::{PublishRequest, State};
use crate::metrics::{Recorder, StatId};

/// Bytes queued for the socket beyond which a publish waits for it.
pub(crate) const UNSENT_LIMIT: usize = 64 * 1024;

/// Messages kept for `mqtt.expect`, at most, per connection.
const KEPT_MESSAGES: usize = 1024;

/// Where the connection is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Connecting (first time or again).
    Connecting,
    /// Connected: CONNACK received.
    Up,
    /// Lost or refused; the driver retries after a pause.
    Down(String),
}

/// A subscription, kept to subscribe again after a reconnect.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// Filter as sent (maybe `$share/group/...`).
    pub filter: String,
    /// Requested QoS.
    pub qos: u8,
    /// Audited: messages are checked against their stamps.
    pub audit: Option<Audience>,
    /// Row of the end-to-end latency of audited messages.
    pub e2e: Option<StatId>,
}

/// What the driver and the user share.
#[derive(Debug)]
pub struct Shared {
    /// Protocol state, including the bytes to write.
    pub state: State,
    /// Connection status.
    pub status: Status,
    /// Subscriptions made so far.
    pub subscriptions: Vec<Subscription>,
    /// Messages kept for `mqtt.expect`.
    pub messages: VecDeque<Message>,
    /// Whether to keep messages at all.
    pub keep_messages: bool,
    /// Outcomes of publishes a user waits for, by packet id.
    pub outcomes: Vec<(u16, Result<(), String>)>,
    /// SUBACKs, by packet id.
    pub subacks: Vec<(u16, Vec<Result<u8, String>>)>,
    /// The user is gone: disconnect and stop.
    pub closing: bool,
    /// QoS 1/2 publishes allowed in flight: `max_inflight`, or less when
    /// the broker's Receive Maximum says so.
    pub window: usize,
}

/// The shared state and the two wake-up signals.
#[derive(Debug)]
pub struct Link {
    /// State shared by user and driver (never borrowed across an await).
    pub shared: RefCell<Shared>,
    /// Wakes the driver: bytes to write, or close.
    pub to_driver: Notify,
    /// Wakes the user: status, outcome, SUBACK or message.
    pub to_user: Notify,
}

/// The MQTT side of one user.
pub struct MqttSession {
    link: Rc<Link>,
    settings: Arc<Settings>,
    recorder: Rc<RefCell<Recorder>>,
    user: u64,
    seqs: HashMap<Arc<str>, u64>,
    listening: bool,
}

/// A publish ready to queue: its payload (stamped or shared), the audited
/// (topic, sequence) when stamped, MQTT 5 properties carrying the stamp.
type Stamped = (Bytes, Option<(Arc<str>, u64)>, Option<Properties>);

/// A publish as a step asks for it.
#[derive(Debug)]
pub struct Publish<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Payload (before any stamp); shared, not copied, unless stamped.
    pub payload: Bytes,
    /// QoS.
    pub qos: u8,
    /// Retained.
    pub retain: bool,
    /// MQTT 5 properties.
    pub properties: Option<&'a Properties>,
    /// Row.
    pub stat: StatId,
    /// Ack timeout, and bound on waiting for a connection or a free slot.
    pub timeout: std::time::Duration,
    /// Wait for the ack.
    pub wait_ack: bool,
    /// Stamp for the audit.
    pub audit: bool,
}

impl MqttSession {
    /// Starts the connection of user `user` as `client_id`; connects are
    /// measured in row `connect_stat`.
    pub fn start(
        settings: Arc<Settings>,
        client_id: String,
        user: u64,
        recorder: Rc<RefCell<Recorder>>,
        connect_stat: StatId,
    ) -> MqttSession {
        let link = Rc::new(Link {
            shared: RefCell::new(Shared {
                state: State::new(settings.version, settings.keep_alive, Instant::now()),
                status: Status::Connecting,
                subscriptions: Vec::new(),
                messages: VecDeque::new(),
                keep_messages: false,
                outcomes: Vec::new(),
                subacks: Vec::new(),
                closing: false,
                window: settings.max_inflight,
            }),
            to_driver: Notify::new(),
            to_user: Notify::new(),
        });
        tokio::task::spawn_local(driver::run(
            link.clone(),
            settings.clone(),
            client_id,
            user,
            recorder.clone(),
            connect_stat,
        ));
        MqttSession {
            link,
            settings,
            recorder,
            user,
            seqs: HashMap::new(),
            listening: false,
        }
    }

    /// Waits until `ready` holds for the shared state, or `deadline`.
    async fn until<T>(
        &self,
        deadline: Instant,
        mut ready: impl FnMut(&mut Shared) -> Option<T>,
    ) -> Option<T> {
        loop {
            if let Some(v) = ready(&mut self.link.shared.borrow_mut()) {
                return Some(v);
            }
            // Single-threaded: nothing runs between the check above and the
            // registration of this wait.
            timeout_at(deadline, self.link.to_user.notified())
                .await
                .ok()?;
        }
    }

    /// Waits for the connection, up to `deadline`: a publish during a
    /// reconnect waits for it instead of failing as "not connected".
    pub async fn until_up(&self, deadline: Instant) -> Result<(), String> {
        let up = self
            .until(deadline, |s| (s.status == Status::Up).then_some(()))
            .await;
        up.ok_or_else(|| match &self.link.shared.borrow().status {
            Status::Down(why) => format!("not connected: {why}"),
            _ => format!(
                "not connected: no CONNACK yet from {}",
                self.settings.broker
            ),
        })
    }

    /// Publishes once; the outcome of QoS 1/2 is recorded by the driver
    /// when the ack comes (or does not). `Err` is a failure before the
    /// message could be sent, for the caller to record.
    pub async fn publish(&mut self, p: &Publish<'_>) -> Result<(), String> {
        let deadline = Instant::now() + p.timeout;
        self.until_up(deadline).await?;
        // Room for it: fewer than the window awaiting acks (QoS 1/2), and
        // the socket keeping up with what was queued before (every QoS: a
        // QoS 0 publish is done when the socket takes it, so a user that
        // never waits must not queue without end).
        let room = self
            .until(deadline, |s| {
                let unsent = s.state.out.len() < UNSENT_LIMIT;
                (unsent && (p.qos == 0 || s.state.pending.len() < s.window)).then_some(())
            })
            .await;
        if room.is_none() {
            let s = self.link.shared.borrow();
            return Err(if s.state.out.len() >= UNSENT_LIMIT {
                format!(
                    "the connection did not take the publish within {} ({} KB queued unsent: the broker reads slower than this user publishes)",
                    crate::units::format_duration(p.timeout),
                    s.state.out.len() / 1024
                )
            } else {
                format!(
                    "{} publishes already awaiting their acks (max_inflight, or the broker's Receive Maximum)",
                    s.window
                )
            });
        }
        let (payload, audit, props) = self.stamp(p);
        let properties = props.as_ref().or(p.properties);
        let pkid = {
            let mut s = self.link.shared.borrow_mut();
            let request = PublishRequest {
                topic: p.topic,
                payload,
                qos: p.qos,
                retain: p.retain,
                properties,
                stat: p.stat,
                timeout: p.timeout,
                waited: p.wait_ack,
                audit: audit.clone(),
            };
            s.state.publish(request, Instant::now())?;
            s.state.pending.last().filter(|_| p.qos > 0).map(|x| x.pkid)
        };
        if let Some((topic, seq)) = audit {
            let mut rec = self.recorder.borrow_mut();
            let sent = rec.audit().sent.entry((self.user, topic)).or_default();
            sent.record(p.qos, seq, now_us());
        }
        self.link.to_driver.notify_one();
        match pkid {
            Some(id) if p.wait_ack => {
                // The driver records the outcome; the user only waits for it.
                let take = |s: &mut Shared| {
                    let i = s.outcomes.iter().position(|(k, _)| *k == id)?;
                    Some(s.outcomes.swap_remove(i).1)
                };
                let _ = self.until(deadline + p.timeout, take).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The payload with the audit stamp (a payload prefix for MQTT 3.1.1,
    /// a user property for MQTT 5), and the audited (topic, sequence) when
    /// it is stamped. Unaudited publishes share the step's payload as is.
    fn stamp(&mut self, p: &Publish<'_>) -> Stamped {
        if !p.audit {
            return (p.payload.clone(), None, None);
        }
        let topic: Arc<str> = Arc::from(p.topic);
        let seq = self.seqs.entry(topic.clone()).or_insert(0);
        *seq += 1;
        let stamp = Stamp {
            publisher: self.user,
            seq: *seq,
            sent_us: now_us(),
        };
        let audit = Some((topic, stamp.seq));
        match self.settings.version {
            Version::V311 => (stamp.prefixed(&p.payload), audit, None),
            Version::V5 => {
                let mut props = p.properties.cloned().unwrap_or_default();
                props
                    .user_properties
                    .push((PROPERTY.to_string(), stamp.text()));
                (p.payload.clone(), audit, Some(props))
            }
        }
    }

    /// Subscribes and waits for the SUBACK; returns the granted QoS per
    /// filter, or why not.
    pub async fn subscribe(
        &mut self,
        filters: &[(String, u8)],
        audit: bool,
        e2e: Option<StatId>,
        keep_messages: bool,
        timeout: std::time::Duration,
    ) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + timeout;
        self.until_up(deadline).await?;
        let pkid = {
            let mut s = self.link.shared.borrow_mut();
            s.keep_messages |= keep_messages;
            for (filter, qos) in filters {
                let audience = audit.then(|| Audience::new(self.user, filter));
                // Subscribing again replaces the subscription.
                s.subscriptions.retain(|x| x.filter != *filter);
                s.subscriptions.push(Subscription {
                    filter: filter.clone(),
                    qos: *qos,
                    audit: audience,
                    e2e,
                });
            }
            s.state.subscribe(filters)?
        };
        self.listening |= audit;
        self.link.to_driver.notify_one();
        let take = |s: &mut Shared| {
            let i = s.subacks.iter().position(|(k, _)| *k == pkid)?;
            Some(s.subacks.swap_remove(i).1)
        };
        let granted = self.until(deadline, take).await.ok_or_else(|| {
            format!(
                "no SUBACK within {}",
                crate::units::format_duration(timeout)
            )
        })?;
        let granted: Vec<u8> = granted.into_iter().collect::<Result<_, _>>()?;
        if audit {
            let since = now_us();
            let mut rec = self.recorder.borrow_mut();
            for ((filter, _), qos) in filters.iter().zip(&granted) {
                rec.audit()
                    .listen(Audience::new(self.user, filter), since, *qos);
            }
        }
        Ok(granted)
    }

    /// Waits for a kept message that `accept` takes, up to `deadline`.
    pub async fn expect(
        &self,
        deadline: Instant,
        accept: impl Fn(&Message) -> bool,
    ) -> Option<Message> {
        self.link.shared.borrow_mut().keep_messages = true;
        self.until(deadline, |s| {
            let i = s.messages.iter().position(&accept)?;
            s.messages.remove(i)
        })
        .await
    }
}

/// Keeps `m` for `mqtt.expect`, dropping the oldest beyond the limit.
pub fn keep(shared: &mut Shared, m: Message) {
    if shared.keep_messages {
        if shared.messages.len() >= KEPT_MESSAGES {
            shared.messages.pop_front();
        }
        shared.messages.push_back(m);
    }
}

impl Drop for MqttSession {
    /// The user is gone (or was cut off): publishes still awaiting their
    /// acks are interrupted, and the connection closes — unless it audits
    /// a subscription, then it listens until the run ends.
    fn drop(&mut self) {
        {
            let mut s = self.link.shared.borrow_mut();
            let mut rec = self.recorder.borrow_mut();
            for p in s.state.pending.drain(..) {
                rec.interrupted(p.stat);
            }
            for (stat, _, _, _) in s.state.qos0.drain(..) {
                rec.interrupted(stat);
            }
            if !self.listening {
                s.closing = true;
            }
        }
        if self.listening {
            shutdown::keep_listening(self.link.clone());
        }
        self.link.to_driver.notify_one();
    }
}
