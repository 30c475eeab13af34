//! A small MQTT 3.1.1 broker whose faults the tests choose: one that never
//! acknowledges a publish, and a relay that drops or duplicates chosen
//! messages on their way to subscribers. Mosquitto and rumqttd behave too
//! well to test ack timeouts and the delivery audit. It can also "restart":
//! close every connection and refuse new ones for a while.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::{
    ConnAck, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, Publish, QoS, SubAck,
    SubscribeReasonCode,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use cicada_core::protocols::mqtt::topic::matches;

/// What the broker does wrong.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Accepts connections and publishes, and never acknowledges one.
    NeverAck,
    /// Answers CONNECT, then never reads again (a broker that cannot keep
    /// up, at the extreme).
    Stalled,
    /// Acknowledges every publish and relays it to subscribers, except
    /// that every `drop_every`-th message is not relayed and every
    /// `duplicate_every`-th is relayed twice.
    Relay {
        /// Drop each n-th message (0: none).
        drop_every: u64,
        /// Deliver each n-th message twice (0: none).
        duplicate_every: u64,
    },
}

/// What the broker did, for the tests to compare with the report.
#[derive(Debug, Default)]
pub struct Counts {
    /// Publishes received.
    pub published: AtomicU64,
    /// Messages acknowledged and deliberately not relayed.
    pub dropped: AtomicU64,
    /// Messages relayed twice (per subscriber).
    pub duplicated: AtomicU64,
    /// Connections accepted.
    pub connections: AtomicU64,
}

/// The running broker (its thread ends with the test process).
pub struct FakeBroker {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it did.
    pub counts: Arc<Counts>,
    restart: mpsc::UnboundedSender<Duration>,
}

type Subscribers = Arc<Mutex<Vec<(String, mpsc::UnboundedSender<Publish>)>>>;

impl FakeBroker {
    /// Starts the broker on a free loopback port.
    pub fn start(fault: Fault) -> FakeBroker {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = std_listener.local_addr().expect("addr");
        drop(std_listener);
        let counts = Arc::new(Counts::default());
        let (restart, mut restarts) = mpsc::unbounded_channel::<Duration>();
        let c = counts.clone();
        let (ready, is_ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                loop {
                    let listener = TcpListener::bind(addr).await.expect("bind again");
                    let _ = ready.send(());
                    let subscribers: Subscribers = Arc::default();
                    let mut connections = JoinSet::new();
                    let pause = loop {
                        tokio::select! {
                            accepted = listener.accept() => {
                                let Ok((tcp, _)) = accepted else { continue };
                                c.connections.fetch_add(1, Ordering::Relaxed);
                                connections.spawn(serve(tcp, fault, subscribers.clone(), c.clone()));
                            }
                            pause = restarts.recv() => match pause {
                                Some(p) => break p,
                                None => return,
                            },
                        }
                    };
                    connections.abort_all();
                    drop(listener);
                    tokio::time::sleep(pause).await;
                }
            });
        });
        is_ready.recv().expect("the fake broker listens");
        FakeBroker {
            addr,
            counts,
            restart,
        }
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.addr)
    }

    /// Closes every connection, refuses new ones for `down`, then listens
    /// again on the same port (a broker restart, as clients see it).
    pub fn restart(&self, down: Duration) {
        let _ = self.restart.send(down);
    }

    /// A count.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

async fn serve(tcp: TcpStream, fault: Fault, subscribers: Subscribers, counts: Arc<Counts>) {
    let (mut rd, mut wr) = tcp.into_split();
    let (to_client, mut outgoing) = mpsc::unbounded_channel::<Publish>();
    let (replies, mut reply_rx) = mpsc::unbounded_channel::<BytesMut>();
    // The writer: relayed messages (each with a packet id) and replies.
    tokio::spawn(async move {
        let mut pkid: u16 = 0;
        loop {
            let bytes = tokio::select! {
                Some(mut m) = outgoing.recv() => {
                    pkid = pkid % u16::MAX + 1;
                    m.pkid = pkid;
                    let mut b = BytesMut::new();
                    let _ = m.write(&mut b);
                    b
                }
                Some(b) = reply_rx.recv() => b,
                else => return,
            };
            if wr.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        let packet = match Packet::read(&mut buf, 1 << 20) {
            Ok(p) => p,
            Err(rumqttc::Error::InsufficientBytes(_)) => match rd.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            },
            Err(_) => return,
        };
        let mut out = BytesMut::new();
        match packet {
            Packet::Connect(_) => {
                let _ = ConnAck::new(ConnectReturnCode::Success, false).write(&mut out);
                if let Fault::Stalled = fault {
                    let _ = replies.send(std::mem::take(&mut out));
                    std::future::pending::<()>().await;
                }
            }
            Packet::Subscribe(s) => {
                let mut codes = Vec::new();
                for f in &s.filters {
                    subscribers
                        .lock()
                        .expect("lock")
                        .push((f.path.clone(), to_client.clone()));
                    codes.push(SubscribeReasonCode::Success(QoS::AtLeastOnce));
                }
                let _ = SubAck::new(s.pkid, codes).write(&mut out);
            }
            Packet::Publish(p) => {
                let n = counts.published.fetch_add(1, Ordering::Relaxed) + 1;
                let Fault::Relay {
                    drop_every,
                    duplicate_every,
                } = fault
                else {
                    continue; // NeverAck
                };
                match p.qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => drop(PubAck::new(p.pkid).write(&mut out)),
                    QoS::ExactlyOnce => drop(PubRec::new(p.pkid).write(&mut out)),
                }
                if drop_every > 0 && n % drop_every == 0 {
                    counts.dropped.fetch_add(1, Ordering::Relaxed);
                } else {
                    let copies = if duplicate_every > 0 && n % duplicate_every == 0 {
                        counts.duplicated.fetch_add(1, Ordering::Relaxed);
                        2
                    } else {
                        1
                    };
                    let mut relayed =
                        Publish::new(p.topic.clone(), QoS::AtLeastOnce, p.payload.to_vec());
                    relayed.retain = false;
                    for (filter, client) in subscribers.lock().expect("lock").iter() {
                        if matches(filter, &p.topic) {
                            for _ in 0..copies {
                                let _ = client.send(relayed.clone());
                            }
                        }
                    }
                }
            }
            Packet::PubRel(r) => drop(PubComp::new(r.pkid).write(&mut out)),
            Packet::PingReq => out.extend_from_slice(&[0xD0, 0x00]),
            Packet::Disconnect => return,
            _ => {}
        }
        if !out.is_empty() && replies.send(out).is_err() {
            return;
        }
    }
}
