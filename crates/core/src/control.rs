//! Requests that steer or watch the system under test rather than load it:
//! readiness checks, setup (reset), fault switches, the queue audit. They
//! go through cicada's own HTTP/1.1 client (`protocols::http::Session`),
//! like the prepopulator's and the monitor's, with connects counted into a
//! recorder nobody reads: they are not part of the measurement.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};

use crate::metrics::Recorder;
use crate::protocols::http::{encode_request, ClientSettings, Keep, Origin, Session};

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
    /// Connecting, sending or reading failed, or no answer in time.
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

/// One request from a thread without a runtime (readiness checks, setup,
/// fault switches): `method url`, no body, the whole reply within `timeout`.
pub fn blocking(
    method: &str,
    url: &str,
    body: Option<Bytes>,
    timeout: Duration,
) -> Result<Reply, ControlError> {
    let invalid = |reason: String| ControlError::Invalid {
        url: url.to_string(),
        reason,
    };
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let (origin, target) = Origin::split_url(url).map_err(invalid)?;
    let mut head = HeaderMap::new();
    head.insert(http::header::HOST, origin.host_header());
    let body = body.unwrap_or_default();
    if !body.is_empty() {
        head.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let mut request = Vec::new();
    encode_request(&mut request, &method, &target, &head, &body);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ControlError::Runtime)?;
    let keep = Keep {
        body: true,
        headers: false,
    };
    let settings = Arc::new(ClientSettings::new(false));
    let recorder = Rc::new(RefCell::new(Recorder::new(0)));
    let answer = runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + timeout;
        Session::new(settings, recorder)
            .send(&origin, &request, &method, keep, deadline)
            .await
    });
    match answer {
        Ok(parsed) => Ok(Reply {
            status: parsed.status.as_u16(),
            body: parsed.body,
        }),
        Err(failure) => Err(ControlError::Failed {
            method: method.to_string(),
            url: url.to_string(),
            reason: failure.to_string(),
        }),
    }
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
