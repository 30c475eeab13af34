//! How a simulated device connects: the broker's URL, the protocol version,
//! the client id template, keep-alive, session, login, last will, TLS, and
//! the timeouts and in-flight window cicada applies.

use std::sync::Arc;
use std::time::Duration;

use super::packet::{Version, Will};
use crate::protocols::tls::{self, TlsOptions};
use crate::template::Text;

/// Where a broker listens: `mqtt://host:1883` or `mqtts://host:8883`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broker {
    /// TLS (`mqtts://`).
    pub tls: bool,
    /// Host name or IP literal.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Broker {
    /// True when `url` names an MQTT broker (`mqtt://`, `mqtts://`,
    /// `tcp://`, `ssl://`) rather than an HTTP host.
    pub fn is_mqtt(url: &str) -> bool {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        matches!(
            scheme.to_ascii_lowercase().as_str(),
            "mqtt" | "mqtts" | "tcp" | "ssl"
        )
    }

    /// Parses `mqtt://host[:port]` or `mqtts://host[:port]`.
    pub fn parse(url: &str) -> Result<Broker, String> {
        let bad = |why: &str| {
            format!(
                "invalid MQTT URL '{url}': {why}; expected mqtt://host:1883 or mqtts://host:8883"
            )
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let tls = match scheme {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            _ => return Err(bad(&format!("unsupported scheme '{scheme}'"))),
        };
        let authority = rest.split('/').next().unwrap_or("");
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        let default_port = if tls { 8883 } else { 1883 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, tail) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            let port = match tail.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad(&format!("bad port '{p}'")))?,
                None => default_port,
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| bad(&format!("bad port '{p}'")))?,
                ),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Broker { tls, host, port })
    }
}

impl std::fmt::Display for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// Everything a connection needs, fixed at plan time.
#[derive(Debug)]
pub struct Settings {
    /// The broker.
    pub broker: Broker,
    /// 3.1.1 or 5.
    pub version: Version,
    /// Client id template (`lamp-{{ user_id }}`).
    pub client_id: Text,
    /// Keep-alive interval (pings when idle this long).
    pub keep_alive: Duration,
    /// Clean session (3.1.1) / clean start (5).
    pub clean: bool,
    /// User name and password.
    pub login: Option<(String, String)>,
    /// Last will.
    pub will: Option<Will>,
    /// TLS client configuration, for `mqtts://`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Time allowed from TCP connect to CONNACK.
    pub connect_timeout: Duration,
    /// QoS 1/2 publishes awaiting their acks at once, per connection.
    pub max_inflight: usize,
}

impl Settings {
    /// Settings for `broker` with cicada's defaults: MQTT 3.1.1, client id
    /// `cicada-{{ user_id }}`, keep-alive 30 s, clean session, CONNACK
    /// timeout 30 s, 100 publishes in flight.
    pub fn new(broker: Broker, client_id: Text) -> Settings {
        Settings {
            broker,
            version: Version::V311,
            client_id,
            keep_alive: Duration::from_secs(30),
            clean: true,
            login: None,
            will: None,
            tls: None,
            connect_timeout: Duration::from_secs(30),
            max_inflight: 100,
        }
    }

    /// Loads the TLS configuration (files read now, errors before load).
    pub fn with_tls(mut self, options: &TlsOptions) -> Result<Settings, String> {
        if self.broker.tls {
            self.tls = Some(tls::client_config(options)?);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        assert_eq!(
            Broker::parse("mqtt://127.0.0.1:1884"),
            Ok(Broker {
                tls: false,
                host: "127.0.0.1".into(),
                port: 1884
            })
        );
        assert_eq!(
            Broker::parse("mqtts://broker.example").map(|b| (b.tls, b.port)),
            Ok((true, 8883))
        );
        assert_eq!(
            Broker::parse("mqtt://[::1]:9").map(|b| (b.host, b.port)),
            Ok(("::1".into(), 9))
        );
        assert_eq!(
            Broker::parse("mqtt://h").map(|b| b.to_string()),
            Ok("mqtt://h:1883".into())
        );
        for bad in [
            "http://h:1",
            "h:1883",
            "mqtt://",
            "mqtt://h:x",
            "mqtt://:1883",
        ] {
            let e = Broker::parse(bad).expect_err(bad);
            assert!(e.contains("expected mqtt://host:1883"), "{e}");
        }
    }
}
