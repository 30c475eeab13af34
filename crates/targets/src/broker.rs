//! The embedded MQTT broker (rumqttd): the default system under test for
//! MQTT scenarios, the demo and the tests, so nothing has to be installed.
//! MQTT 3.1.1 on one address, MQTT 5 optionally on another (rumqttd serves
//! one protocol version per listener).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use rumqttd::{Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Where and how the broker listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerOptions {
    /// MQTT 3.1.1 listener (port 0: a free port).
    pub addr: SocketAddr,
    /// MQTT 5 listener, if wanted.
    pub v5_addr: Option<SocketAddr>,
    /// Most clients at once.
    pub max_connections: usize,
}

impl BrokerOptions {
    /// 3.1.1 on `addr`, room for 50,000 clients.
    pub fn new(addr: SocketAddr) -> BrokerOptions {
        BrokerOptions {
            addr,
            v5_addr: None,
            max_connections: 50_000,
        }
    }
}

/// A broker that could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source} (is another broker running there? pick another --addr, or :0 for a free port)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The broker did not come up.
    #[error("the broker did not start listening on {0} within 5 s")]
    NotListening(SocketAddr),
    /// Its thread did not start.
    #[error("could not start the broker thread: {0}")]
    Thread(std::io::Error),
}

/// A broker running in this process (until the process ends: rumqttd has
/// no shutdown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningBroker {
    /// The MQTT 3.1.1 address.
    pub addr: SocketAddr,
    /// The MQTT 5 address.
    pub v5_addr: Option<SocketAddr>,
}

/// Checks that `addr` is free (and picks the port for port 0).
fn reserve(addr: SocketAddr) -> Result<SocketAddr, BrokerError> {
    let l = TcpListener::bind(addr).map_err(|source| BrokerError::Bind { addr, source })?;
    l.local_addr()
        .map_err(|source| BrokerError::Bind { addr, source })
}

fn server(name: &str, listen: SocketAddr) -> ServerSettings {
    ServerSettings {
        name: name.to_string(),
        listen,
        tls: None,
        next_connection_delay_ms: 0,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 1024 * 1024,
            max_inflight_count: 1000,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    }
}

fn wait_listening(addr: SocketAddr) -> Result<(), BrokerError> {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(BrokerError::NotListening(addr))
}

/// Starts the broker on its own threads and returns once it listens.
pub fn start(options: &BrokerOptions) -> Result<RunningBroker, BrokerError> {
    let addr = reserve(options.addr)?;
    let v5_addr = options.v5_addr.map(reserve).transpose()?;
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: options.max_connections,
            max_outgoing_packet_count: 1000,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("v4".to_string(), server("v4", addr))])),
        v5: v5_addr.map(|a| HashMap::from([("v5".to_string(), server("v5", a))])),
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                eprintln!("cicada: the embedded broker stopped: {e}");
            }
        })
        .map_err(BrokerError::Thread)?;
    wait_listening(addr)?;
    if let Some(a) = v5_addr {
        wait_listening(a)?;
    }
    Ok(RunningBroker { addr, v5_addr })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_a_clear_error() {
        let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr");
        let e = start(&BrokerOptions::new(addr)).expect_err("taken");
        assert!(
            e.to_string()
                .starts_with(&format!("cannot listen on {addr}")),
            "{e}"
        );
    }

    #[test]
    fn starts_on_a_free_port_and_accepts_connections() {
        let b = start(&BrokerOptions::new("127.0.0.1:0".parse().expect("addr"))).expect("starts");
        assert_ne!(b.addr.port(), 0);
        TcpStream::connect(b.addr).expect("listening");
    }
}
