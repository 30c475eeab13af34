//! MQTT ingestion (seed 004): the bridge that turns pub/sub into a queue.
//!
//! With `--mqtt mqtt://HOST:PORT --ingest 'queues/+/push'` the target
//! subscribes at QoS 1 and pushes every message into the queue named by the
//! topic level under `+`. A message is acknowledged (PUBACK) only after its
//! item is committed. With `--ingest-client-id ID` the session is
//! persistent (clean session off, the same id at every start), so a target
//! that dies mid-way leaves its unacknowledged messages, and those published
//! while it is down, with the broker to deliver when it is back: nothing is
//! lost, at worst an item is stored twice. Without it each start is a fresh
//! session, and what the broker sent an earlier one is gone with it. While
//! the store is unavailable a message is retried, not dropped. A malformed message is counted, logged and acknowledged, so it
//! is not redelivered forever. With `--ingest-group NAME` the subscription
//! is `$share/NAME/<filter>`, so several targets split the stream.
//!
//! Payloads: the push body, or a bare JSON object taken as the item (see
//! `parse_message` in the validation module).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::error::QueueError;
use super::store::Store;
use super::validate::{parse_message, queue_id};

/// The default `--ingest` filter.
pub const DEFAULT_FILTER: &str = "queues/+/push";
/// Largest MQTT packet accepted: room for 10 KB items and big envelopes.
const MAX_PACKET: usize = 1024 * 1024;
/// Messages received but not yet stored. Brokers hold back more than their
/// in-flight window (Mosquitto 20, the embedded broker 1,000) until acks come,
/// so the poller practically never waits on this.
const BACKLOG: usize = 4096;
/// Rejected messages logged in full before logging only every 100th.
const LOGGED_REJECTS: u64 = 10;

/// Where and what to ingest, checked before anything starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// The topic filter, with exactly one `+` level: the queue id.
    pub filter: String,
    /// Shared-subscription group, if several targets split the stream.
    pub group: Option<String>,
    /// A client id that stays the same across restarts: the target then
    /// asks for a persistent session (clean session off), so the broker
    /// keeps the QoS 1 messages published while the target is down and
    /// hands them over when it is back. Without it: a fresh id and a clean
    /// session each start.
    pub client_id: Option<String>,
}

impl IngestConfig {
    /// Parses `--mqtt mqtt://HOST[:PORT]` (port 1883 by default),
    /// `--ingest FILTER` (default [`DEFAULT_FILTER`]) and `--ingest-group`.
    pub fn new(mqtt: &str, filter: Option<&str>, group: Option<&str>) -> Result<Self, QueueError> {
        let bad_url = || {
            QueueError::Config(format!(
                "--mqtt '{mqtt}': expected mqtt://HOST:PORT such as mqtt://127.0.0.1:1883"
            ))
        };
        let rest = mqtt
            .strip_prefix("mqtt://")
            .or_else(|| mqtt.strip_prefix("tcp://"))
            .ok_or_else(bad_url)?
            .trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') => {
                (host, port.parse::<u16>().map_err(|_| bad_url())?)
            }
            _ => (rest, 1883),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(bad_url());
        }
        let filter = filter.unwrap_or(DEFAULT_FILTER).to_string();
        let levels: Vec<&str> = filter.split('/').collect();
        if levels.iter().filter(|l| **l == "+").count() != 1
            || levels.iter().any(|l| *l != "+" && l.contains(['+', '#']))
            || filter.starts_with('$')
        {
            return Err(QueueError::Config(format!(
                "--ingest '{filter}': expected a topic filter with exactly one '+' level for the queue id and no '#', such as {DEFAULT_FILTER} (use --ingest-group for a shared subscription)"
            )));
        }
        if let Some(g) = group {
            if g.is_empty() || g.contains(['/', '+', '#']) {
                return Err(QueueError::Config(format!(
                    "--ingest-group '{g}': expected a name without '/', '+' or '#'"
                )));
            }
        }
        Ok(IngestConfig {
            host: host.to_string(),
            port,
            filter,
            group: group.map(str::to_string),
            client_id: None,
        })
    }

    /// What to subscribe to: the filter, shared if a group is set.
    pub fn subscription(&self) -> String {
        match &self.group {
            Some(g) => format!("$share/{g}/{}", self.filter),
            None => self.filter.clone(),
        }
    }

    /// The queue id in `topic`: the level under the filter's `+`, or `None`
    /// when the topic does not match the filter.
    pub fn queue_of<'t>(&self, topic: &'t str) -> Option<&'t str> {
        let filter = self.filter.split('/');
        let levels = topic.split('/');
        if filter.clone().count() != levels.clone().count() {
            return None;
        }
        let mut queue = None;
        for (f, l) in filter.zip(levels) {
            if f == "+" {
                queue = Some(l);
            } else if f != l {
                return None;
            }
        }
        queue
    }
}

/// Counters shown by `GET /ingest/stats`.
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Messages received from the broker (redeliveries included).
    received: AtomicU64,
    /// Messages stored as items and acknowledged.
    ingested: AtomicU64,
    /// Malformed messages acknowledged without storing.
    rejected: AtomicU64,
    /// Whether the broker connection is up and the subscription acknowledged.
    connected: AtomicBool,
    /// Subscriptions acknowledged: 1, plus one per reconnection.
    connects: AtomicU64,
}

/// Body of `GET /ingest/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestStats {
    /// Whether `--mqtt` was given.
    pub enabled: bool,
    /// The subscription, when enabled.
    pub subscription: Option<String>,
    /// Whether the broker connection is up and the subscription
    /// acknowledged (messages published from then on are ingested).
    pub connected: bool,
    /// Subscriptions acknowledged: 1 after the first connection, one more
    /// after each reconnection.
    pub connects: u64,
    /// Messages received (redeliveries included).
    pub received: u64,
    /// Messages stored and acknowledged.
    pub ingested: u64,
    /// Malformed messages, acknowledged without storing.
    pub rejected: u64,
}

impl IngestCounters {
    /// A snapshot for `config` (disabled when `None`).
    pub fn snapshot(&self, config: Option<&IngestConfig>) -> IngestStats {
        IngestStats {
            enabled: config.is_some(),
            subscription: config.map(IngestConfig::subscription),
            connected: self.connected.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            ingested: self.ingested.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}

/// Starts ingestion: a task polling the broker and a task storing messages
/// in order. Both run until aborted (the returned handles).
pub fn spawn(
    config: IngestConfig,
    store: Arc<Store>,
    counters: Arc<IngestCounters>,
) -> [JoinHandle<()>; 2] {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let client_id = config
        .client_id
        .clone()
        .unwrap_or_else(|| format!("cicada-queue-{}", &id[..12]));
    let mut options = MqttOptions::new(client_id, &config.host, config.port);
    options
        .set_clean_session(config.client_id.is_none())
        .set_keep_alive(Duration::from_secs(30))
        .set_manual_acks(true)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET);
    let (client, eventloop) = AsyncClient::new(options, BACKLOG);
    let (tx, rx) = mpsc::channel(BACKLOG);
    let poller = tokio::spawn(poll(
        eventloop,
        client.clone(),
        config.subscription(),
        tx,
        counters.clone(),
    ));
    let storer = tokio::spawn(store_messages(config, client, rx, store, counters));
    [poller, storer]
}

/// Drives the connection: (re)subscribes on every connect, forwards
/// publishes, and reconnects after a pause when the broker goes away.
async fn poll(
    mut eventloop: EventLoop,
    client: AsyncClient,
    subscription: String,
    tx: mpsc::Sender<Publish>,
    counters: Arc<IngestCounters>,
) {
    let mut logged_down = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if logged_down {
                    eprintln!("queue target: MQTT broker connection is back");
                    logged_down = false;
                }
                let _ = client
                    .subscribe(subscription.as_str(), QoS::AtLeastOnce)
                    .await;
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                counters.connected.store(true, Ordering::Relaxed);
                counters.connects.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                counters.received.fetch_add(1, Ordering::Relaxed);
                if tx.send(publish).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                counters.connected.store(false, Ordering::Relaxed);
                if !logged_down {
                    eprintln!("queue target: MQTT broker connection lost or refused ({e}); retrying every second");
                    logged_down = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Stores each message, then acknowledges it.
async fn store_messages(
    config: IngestConfig,
    client: AsyncClient,
    mut rx: mpsc::Receiver<Publish>,
    store: Arc<Store>,
    counters: Arc<IngestCounters>,
) {
    while let Some(publish) = rx.recv().await {
        let parsed = match config.queue_of(&publish.topic) {
            None => Err(format!("topic does not match {}", config.filter)),
            Some(queue) => queue_id(queue)
                .and_then(|()| parse_message(&publish.payload))
                .map(|item| (queue.to_string(), item))
                .map_err(|e| e.to_string()),
        };
        match parsed {
            Ok((queue, item)) => {
                let mut pause = Duration::from_millis(100);
                let mut logged = false;
                while let Err(e) = store.push(&queue, &item).await {
                    if !logged {
                        eprintln!("queue target: cannot store an MQTT message yet ({e}); retrying until the store answers");
                        logged = true;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                counters.ingested.fetch_add(1, Ordering::Relaxed);
            }
            Err(why) => {
                let n = counters.rejected.fetch_add(1, Ordering::Relaxed) + 1;
                if n <= LOGGED_REJECTS || n % 100 == 0 {
                    eprintln!(
                        "queue target: rejected MQTT message #{n} on {}: {why}",
                        publish.topic
                    );
                }
            }
        }
        let _ = client.ack(&publish).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_and_filters() {
        let c = IngestConfig::new("mqtt://127.0.0.1:1884", None, None).expect("valid");
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 1884));
        assert_eq!(c.subscription(), "queues/+/push");
        let c = IngestConfig::new("mqtt://broker", Some("jobs/+"), Some("workers")).expect("valid");
        assert_eq!((c.host.as_str(), c.port), ("broker", 1883));
        assert_eq!(c.subscription(), "$share/workers/jobs/+");
        let c = IngestConfig::new("tcp://[::1]:1883", None, None).expect("valid");
        assert_eq!(c.host, "::1");
        for bad in [
            "127.0.0.1:1883",
            "http://h:1",
            "mqtt://",
            "mqtt://h:port",
            "mqtt://h:70000",
        ] {
            let err = IngestConfig::new(bad, None, None)
                .expect_err(bad)
                .to_string();
            assert!(err.starts_with("--mqtt"), "{err}");
        }
        for bad in [
            "queues/push",
            "queues/+/+",
            "queues/#",
            "q/a+/+",
            "$share/g/q/+",
        ] {
            let err = IngestConfig::new("mqtt://h", Some(bad), None)
                .expect_err(bad)
                .to_string();
            assert!(err.starts_with("--ingest"), "{err}");
        }
        assert!(IngestConfig::new("mqtt://h", None, Some("a/b")).is_err());
    }

    #[test]
    fn the_queue_is_the_plus_level() {
        let c = IngestConfig::new("mqtt://h", Some("queues/+/push"), None).expect("valid");
        assert_eq!(c.queue_of("queues/q7/push"), Some("q7"));
        assert_eq!(c.queue_of("queues/q7/pop"), None);
        assert_eq!(c.queue_of("queues/q7/push/x"), None);
        assert_eq!(c.queue_of("queues//push"), Some(""));
    }
}
