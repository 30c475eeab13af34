//! How much memory one held MQTT connection costs, with rumqttc's client (an
//! `AsyncClient` and its `EventLoop` per connection, as rumqttc is meant to
//! be used) and with cicada's own session (one small driver task on
//! rumqttc's codec). The measurement behind docs/mqtt-client.md.
//!
//!   cargo run --release -p cicada-core --example mqtt_client_memory -- rumqttc 127.0.0.1:1883 5000
//!   cargo run --release -p cicada-core --example mqtt_client_memory -- cicada 127.0.0.1:1883 5000
//!
//! Each connection connects, publishes one 100-byte QoS 1 message, and is
//! held idle; the program prints (RSS when all are up − RSS before) / N.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cicada_core::engine::rss_bytes;
use cicada_core::metrics::{Recorder, RowKind, StatTable};
use cicada_core::protocols::mqtt::session::{MqttSession, Publish};
use cicada_core::protocols::mqtt::settings::{Broker, Settings};
use cicada_core::template::Compiler;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: mqtt_client_memory rumqttc|cicada HOST:PORT CONNECTIONS";
    let (client, addr, n) = match args.as_slice() {
        [_, c, a, n] => (
            c.clone(),
            a.clone(),
            n.parse::<usize>().map_err(|e| format!("{usage}: {e}"))?,
        ),
        _ => return Err(usage.into()),
    };
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    let before = rss_bytes();
    let up = local.block_on(&rt, async {
        match client.as_str() {
            "rumqttc" => rumqttc_connections(&addr, n).await,
            "cicada" => cicada_connections(&addr, n).await,
            _ => Err(usage.to_string()),
        }
    })?;
    let after = rss_bytes();
    println!(
        "{client}: {up} of {n} connections up; RSS {:.1} MB before, {:.1} MB after: {:.2} KB per connection",
        before as f64 / 1e6,
        after as f64 / 1e6,
        after.saturating_sub(before) as f64 / 1024.0 / n as f64
    );
    Ok(())
}

/// rumqttc as documented: a client and its event loop per connection, the
/// loop polled by a task of its own.
async fn rumqttc_connections(addr: &str, n: usize) -> Result<usize, String> {
    let (host, port) = addr.rsplit_once(':').ok_or("HOST:PORT")?;
    let port: u16 = port.parse().map_err(|_| "bad port")?;
    let up = Rc::new(RefCell::new(0usize));
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        let mut options = rumqttc::MqttOptions::new(format!("rumqttc-mem-{i}"), host, port);
        options.set_keep_alive(Duration::from_secs(60));
        let (client, mut events) = rumqttc::AsyncClient::new(options, 10);
        let up = up.clone();
        tokio::task::spawn_local(async move {
            let mut counted = false;
            while let Ok(e) = events.poll().await {
                if !counted && matches!(e, rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) {
                    *up.borrow_mut() += 1;
                    counted = true;
                }
            }
        });
        let _ = client
            .publish(
                "mem/rumqttc",
                rumqttc::QoS::AtLeastOnce,
                false,
                vec![0u8; 100],
            )
            .await;
        clients.push(client);
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    settle(|| *up.borrow(), n).await;
    let count = *up.borrow();
    std::mem::forget(clients);
    Ok(count)
}

/// cicada's session: what a simulated device holds.
async fn cicada_connections(addr: &str, n: usize) -> Result<usize, String> {
    let mut table = StatTable::default();
    let connect = table.intern("MQTT", "connect", RowKind::Request);
    let publish = table.intern("MQTT", "publish", RowKind::Request);
    let recorder = Rc::new(RefCell::new(Recorder::new(table.len())));
    let broker = Broker::parse(&format!("mqtt://{addr}"))?;
    let mut settings = Settings::new(
        broker,
        Compiler::new().text("x").map_err(|e| e.to_string())?.item,
    );
    settings.keep_alive = Duration::from_secs(60);
    let settings = Arc::new(settings);
    let payload = bytes::Bytes::from(vec![0u8; 100]);
    let mut sessions = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = MqttSession::start(
            settings.clone(),
            format!("cicada-mem-{i}"),
            i as u64,
            recorder.clone(),
            connect,
        );
        let p = Publish {
            topic: "mem/cicada",
            payload: payload.clone(),
            qos: 1,
            retain: false,
            properties: None,
            stat: publish,
            timeout: Duration::from_secs(30),
            wait_ack: false,
            audit: false,
        };
        let _ = s.publish(&p).await;
        sessions.push(s);
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let connected = || recorder.borrow_mut().take_interval().connections.opened as usize;
    let mut total = 0;
    settle(
        || {
            total += connected();
            total
        },
        n,
    )
    .await;
    std::mem::forget(sessions);
    Ok(total)
}

/// Waits until `count()` reaches `n` (or 60 s), then 2 s more.
async fn settle(mut count: impl FnMut() -> usize, n: usize) {
    let until = Instant::now() + Duration::from_secs(60);
    while count() < n && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
}
