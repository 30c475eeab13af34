//! A user's HTTP connections: one keep-alive HTTP/1.1 connection per origin,
//! re-opened transparently when the server closes it, every connect counted
//! and timed.
//!
//! Built directly on hyper's connection API rather than a pooled client: a
//! simulated user owns exactly one connection, like a browser tab or a
//! device, and the pool's bookkeeping would only cost CPU on the hot path.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use super::failure::{self, Failure};
use super::tls;
use crate::metrics::Recorder;

/// Where requests go: scheme, host and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// `https`.
    pub tls: bool,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Origin {
    /// Splits `http://host:port/base` into its origin and base path.
    pub fn parse(url: &str) -> Result<(Origin, String), String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("invalid URL '{url}': {e}"))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(format!(
                    "unsupported scheme '{other}' in '{url}': expected http:// or https://"
                ))
            }
            None => {
                return Err(format!(
                    "invalid URL '{url}': expected http://host[:port][/path]"
                ))
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("invalid URL '{url}': no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let base = uri.path().trim_end_matches('/').to_string();
        Ok((Origin { tls, host, port }, base))
    }

    /// The `Host` header value: the port is omitted when it is the default.
    pub fn host_header(&self) -> HeaderValue {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if self.tls { 443 } else { 80 };
        let text = if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        };
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("localhost"))
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// Settings shared by every user's connections.
#[derive(Debug, Default)]
pub struct ClientSettings {
    /// Accept any server certificate (self-signed test servers).
    pub insecure: bool,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
}

impl ClientSettings {
    /// Settings; `insecure` skips certificate verification.
    pub fn new(insecure: bool) -> Self {
        ClientSettings {
            insecure,
            tls: OnceLock::new(),
        }
    }

    fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        self.tls
            .get_or_init(|| tls::client_config(self.insecure))
            .clone()
    }
}

/// One open connection.
struct Conn {
    origin: Origin,
    sender: http1::SendRequest<Full<Bytes>>,
}

/// The connections of one user.
pub struct Session {
    settings: Arc<ClientSettings>,
    conns: Vec<Conn>,
    recorder: Rc<RefCell<Recorder>>,
}

impl Session {
    /// A user's session with no connection open yet.
    pub fn new(settings: Arc<ClientSettings>, recorder: Rc<RefCell<Recorder>>) -> Self {
        Session {
            settings,
            conns: Vec::new(),
            recorder,
        }
    }

    /// Sends `request` to `origin` on the user's connection, opening or
    /// re-opening it when needed, and returns the response head by
    /// `deadline`.
    pub async fn send(
        &mut self,
        origin: &Origin,
        request: Request<Full<Bytes>>,
        deadline: Instant,
    ) -> Result<Response<Incoming>, Failure> {
        let mut request = request;
        // A second attempt happens only when the request was never written:
        // the kept-alive connection turned out to be closed.
        for attempt in 0..2 {
            let index = self.ready_connection(origin, deadline).await?;
            let sender = &mut self.conns[index].sender;
            match timeout_at(deadline, sender.try_send_request(request)).await {
                Err(_) => return Err(Failure::Timeout("waiting for the response")),
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(mut e)) => match e.take_message() {
                    Some(unsent) if attempt == 0 => {
                        self.conns.swap_remove(index);
                        request = unsent;
                    }
                    _ => {
                        self.conns.swap_remove(index);
                        return Err(failure::from_hyper(e.error()));
                    }
                },
            }
        }
        Err(Failure::Closed)
    }

    /// Index of an open, ready connection to `origin`, connecting if needed.
    async fn ready_connection(
        &mut self,
        origin: &Origin,
        deadline: Instant,
    ) -> Result<usize, Failure> {
        let mut reopened = false;
        if let Some(i) = self.conns.iter().position(|c| &c.origin == origin) {
            let ready = timeout_at(deadline, self.conns[i].sender.ready()).await;
            match ready {
                Ok(Ok(())) => return Ok(i),
                Err(_) => return Err(Failure::Timeout("waiting for the connection")),
                Ok(Err(_)) => {
                    self.conns.swap_remove(i);
                    reopened = true;
                }
            }
        }
        let started = Instant::now();
        match timeout_at(deadline, self.connect(origin)).await {
            Ok(Ok(sender)) => {
                self.recorder
                    .borrow_mut()
                    .connected(started.elapsed(), reopened);
                self.conns.push(Conn {
                    origin: origin.clone(),
                    sender,
                });
                Ok(self.conns.len() - 1)
            }
            Ok(Err(f)) => {
                self.recorder.borrow_mut().connect_failed();
                Err(f)
            }
            Err(_) => {
                self.recorder.borrow_mut().connect_failed();
                Err(Failure::Timeout("connecting"))
            }
        }
    }

    async fn connect(&self, origin: &Origin) -> Result<http1::SendRequest<Full<Bytes>>, Failure> {
        let tcp = TcpStream::connect((origin.host.as_str(), origin.port))
            .await
            .map_err(|e| failure::from_connect(&e))?;
        let _ = tcp.set_nodelay(true);
        let mut builder = http1::Builder::new();
        // A fixed, small read buffer keeps idle users cheap; responses
        // larger than it are read in several passes.
        builder.read_buf_exact_size(Some(READ_BUFFER));
        if origin.tls {
            let stream = tls::connect(self.settings.tls_config(), &origin.host, tcp).await?;
            let (sender, conn) = builder
                .handshake(TokioIo::new(stream))
                .await
                .map_err(|e| failure::from_hyper(&e))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(sender)
        } else {
            let (sender, conn) = builder
                .handshake(TokioIo::new(tcp))
                .await
                .map_err(|e| failure::from_hyper(&e))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(sender)
        }
    }

    /// Closes every connection (a user that stops).
    pub fn close(&mut self) {
        self.conns.clear();
    }
}

/// Read buffer per connection.
const READ_BUFFER: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_origins_and_base_paths() {
        let (o, base) = Origin::parse("http://127.0.0.1:8080/api/").expect("parses");
        assert_eq!(
            o,
            Origin {
                tls: false,
                host: "127.0.0.1".into(),
                port: 8080
            }
        );
        assert_eq!(base, "/api");
        let (o, base) = Origin::parse("https://example.com").expect("parses");
        assert_eq!((o.tls, o.port, base.as_str()), (true, 443, ""));
        assert_eq!(o.host_header(), "example.com");
        let (o, _) = Origin::parse("http://[::1]:9000").expect("parses");
        assert_eq!(o.host, "::1");
        assert_eq!(o.host_header(), "[::1]:9000");
    }

    #[test]
    fn rejects_what_is_not_an_http_url() {
        let e = Origin::parse("mqtt://h:1883").expect_err("scheme");
        assert!(e.contains("expected http:// or https://"), "{e}");
        assert!(Origin::parse("127.0.0.1:8080").is_err());
        assert!(Origin::parse("/just/a/path").is_err());
    }
}
