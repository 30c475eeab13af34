//! MQTT ingestion (seed 004) against the embedded broker on a free port:
//! messages published at QoS 1 to `queues/q7/push` all arrive in queue q7,
//! each exactly once; malformed ones are counted and acknowledged.

mod queue_support;

use std::collections::HashSet;
use std::time::Duration;

use cicada_targets::broker::{self, BrokerOptions};
use cicada_targets::queue::{IngestConfig, QueueConfig};
use hyper::{Method, StatusCode};
use queue_support::{Backend, Server, POLL_EVERY, POLL_LIMIT};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};

/// Publishes `payloads` to `topic` at QoS 1 and returns once the broker has
/// acknowledged every one.
async fn publish_all(port: u16, topic: &str, payloads: Vec<Vec<u8>>) {
    let mut options = MqttOptions::new("queue-test-publisher", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, payloads.len() + 10);
    let total = payloads.len();
    let topic = topic.to_string();
    tokio::spawn(async move {
        for payload in payloads {
            client
                .publish(topic.as_str(), QoS::AtLeastOnce, false, payload)
                .await
                .expect("queued");
        }
    });
    let mut acked = 0;
    let mut polls = 0;
    while acked < total {
        polls += 1;
        assert!(
            polls < 100_000,
            "the broker did not acknowledge every publish"
        );
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) => panic!("disconnected"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("publisher connection: {e}"),
            Err(_) => panic!("no progress publishing for 10 s ({acked}/{total} acknowledged)"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_messages_arrive_in_their_queue_exactly_once() {
    const N: usize = 300;
    let broker = broker::start(&BrokerOptions::new("127.0.0.1:0".parse().expect("addr")))
        .expect("the embedded broker starts");
    let mqtt = IngestConfig::new(&format!("mqtt://{}", broker.addr), None, None).expect("valid");
    let s = Server::start(QueueConfig {
        mqtt: Some(mqtt),
        ..Backend::file().config
    })
    .await;

    // Wait for the target's subscription before publishing (messages to a
    // topic nobody subscribes to are dropped by the broker).
    let mut connected = false;
    for _ in 0..POLL_LIMIT {
        let (_, stats) = s.call(Method::GET, "/ingest/stats", "").await;
        if stats["connected"] == true {
            connected = true;
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    assert!(connected, "the target subscribed at the broker");

    let mut payloads: Vec<Vec<u8>> = (0..N)
        .map(|n| format!(r#"{{"item": {{"n": {n}}}, "priority": {}}}"#, n % 3).into_bytes())
        .collect();
    payloads.push(b"not json".to_vec());
    payloads.push(br#"{"item": [1], "priority": 0}"#.to_vec());
    payloads.push(br#"{"n": 1000}"#.to_vec()); // a bare object: the item itself, priority 5
    publish_all(broker.addr.port(), "queues/q7/push", payloads).await;

    let mut stats = serde_json::Value::Null;
    for _ in 0..POLL_LIMIT {
        (_, stats) = s.call(Method::GET, "/ingest/stats", "").await;
        if stats["ingested"] == N + 1 && stats["rejected"] == 2 {
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    assert_eq!(stats["ingested"], N + 1, "{stats}");
    assert_eq!(stats["rejected"], 2, "{stats}");
    assert_eq!(stats["subscription"], "queues/+/push");

    let mut seen = Vec::new();
    loop {
        let (status, popped) = s.call(Method::POST, "/queues/q7/pop?depth=100", "").await;
        assert_eq!(status, StatusCode::OK);
        let items = popped["items"].as_array().expect("items").clone();
        if items.is_empty() {
            break;
        }
        for item in items {
            let n = item["item"]["n"].as_u64().expect("n");
            let expected = if n == 1000 { 5 } else { n % 3 };
            assert_eq!(item["priority"], expected, "{item}");
            seen.push(n);
        }
        assert!(seen.len() <= N + 1, "more items than messages");
    }
    let unique: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no message stored twice");
    let expected: HashSet<u64> = (0..N as u64).chain([1000]).collect();
    assert_eq!(unique, expected, "every message arrived");
    s.stop().await;
}
