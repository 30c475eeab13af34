//! Requests that steer or watch the system under test rather than load it:
//! readiness checks, setup (prepopulate, reset), fault switches, monitor
//! gauges. They are not measured, so they go through hyper's pooled client
//! instead of the users' hand-made one (see `protocols::http`), which
//! records every request into the run's metrics.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

/// Why a control request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The URL or method could not be used.
    #[error("invalid request to {url}: {reason}")]
    Invalid {
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// No answer within the time allowed.
    #[error("{method} {url}: no answer within {}", crate::units::format_duration(*.timeout))]
    Timeout {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// Connecting, sending or reading failed.
    #[error("{method} {url}: {reason}")]
    Failed {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// No async runtime could be started for a blocking call.
    #[error("could not start a runtime for control requests: {0}")]
    Runtime(std::io::Error),
}

/// A status and a body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
}

impl Reply {
    /// True for 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text, cut to `max` characters (for error messages).
    pub fn text(&self, max: usize) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(max)
            .collect()
    }
}

/// A pooled HTTP/1.1 client for control requests (plain HTTP: the bundled
/// targets and loopback services). Cheap to clone.
#[derive(Clone, Debug)]
pub struct ControlClient {
    /// hyper's pooled client.
    inner: Client<HttpConnector, Full<Bytes>>,
}

impl Default for ControlClient {
    fn default() -> Self {
        ControlClient::new()
    }
}

impl ControlClient {
    /// A client; call from within a tokio runtime.
    pub fn new() -> ControlClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        ControlClient {
            inner: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Sends `method url` with an optional JSON `body`, waits at most
    /// `timeout` for the whole reply.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Reply, ControlError> {
        let invalid = |reason: String| ControlError::Invalid {
            url: url.to_string(),
            reason,
        };
        let failed = |reason: String| ControlError::Failed {
            method: method.to_string(),
            url: url.to_string(),
            reason,
        };
        let mut request = hyper::Request::builder().method(method).uri(url);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| invalid(e.to_string()))?;
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| failed(error_chain(&e)))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| failed(e.to_string()))?
                .to_bytes();
            Ok(Reply { status, body })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ControlError::Timeout {
                method: method.to_string(),
                url: url.to_string(),
                timeout,
            })?
    }
}

/// One request from a thread without a runtime (readiness checks and fault
/// switches of a suite).
pub fn blocking(
    method: &str,
    url: &str,
    body: Option<Bytes>,
    timeout: Duration,
) -> Result<Reply, ControlError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ControlError::Runtime)?;
    runtime.block_on(ControlClient::new().send(method, url, body, timeout))
}

/// An error and its causes on one line ("client error (Connect): tcp
/// connect error: Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_is_an_error_naming_the_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let url = format!("http://127.0.0.1:{port}/health");
        let e = blocking("GET", &url, None, Duration::from_secs(2)).expect_err("refused");
        let text = e.to_string();
        assert!(
            text.contains(&url) && text.to_lowercase().contains("refused"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_url_is_invalid() {
        let e = blocking("GET", "not a url", None, Duration::from_secs(1)).expect_err("bad");
        assert!(matches!(e, ControlError::Invalid { .. }), "{e}");
    }
}
