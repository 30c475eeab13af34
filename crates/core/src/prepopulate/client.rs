//! The prepopulator's requests: cicada's own HTTP/1.1 client (one
//! keep-alive connection per concurrent task), with retries and backoff
//! for the failures that may pass (connect errors, timeouts, 5xx, 429).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::metrics::Recorder;
use crate::protocols::http::{encode_request, ClientSettings, Keep, Origin, Session};

/// The first pause before a retry; it doubles with each attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Where requests go and how long they may take.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Scheme, host and port.
    pub origin: Origin,
    /// The URL's path before `/queues/…` (empty for the root).
    pub base: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts after the first for a failure that may pass.
    pub retries: u32,
}

/// How one attempt ended.
enum Attempt {
    /// A 2xx answer with its body.
    Done(Bytes),
    /// A failure that may pass: try again.
    Again(String),
    /// A failure that will not pass (a 4xx): stop.
    Fatal(String),
}

/// The result of a request after its retries.
#[derive(Debug)]
pub struct Outcome {
    /// The body of the 2xx answer, or the last failure's cause.
    pub result: Result<Bytes, Failed>,
    /// Attempts made beyond the first.
    pub retries: u32,
}

/// A request that failed for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    /// Why, in words that group (`503 Service Unavailable`, `connection refused`).
    pub cause: String,
    /// True when retrying cannot help (the target refused the request).
    pub fatal: bool,
}

/// One task's connection to the target.
pub struct Client {
    session: Session,
    endpoint: Rc<Endpoint>,
    head: HeaderMap,
    request: Vec<u8>,
}

impl Client {
    /// A client with no connection open yet.
    pub fn new(endpoint: Rc<Endpoint>, settings: Arc<ClientSettings>) -> Client {
        // The session counts connects into a recorder; nobody reads it here.
        let recorder = Rc::new(RefCell::new(Recorder::new(0)));
        let mut head = HeaderMap::new();
        head.insert(http::header::HOST, endpoint.origin.host_header());
        head.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Client {
            session: Session::new(settings, recorder),
            endpoint,
            head,
            request: Vec::new(),
        }
    }

    /// `method path` with `body`, retried with backoff while the failure
    /// may pass.
    pub async fn send(&mut self, method: &Method, path: &str, body: &[u8]) -> Outcome {
        let target = format!("{}{path}", self.endpoint.base);
        self.request.clear();
        encode_request(&mut self.request, method, &target, &self.head, body);
        let mut retries = 0;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let cause = match self.attempt(method).await {
                Attempt::Done(body) => {
                    return Outcome {
                        result: Ok(body),
                        retries,
                    }
                }
                Attempt::Fatal(cause) => {
                    return Outcome {
                        result: Err(Failed { cause, fatal: true }),
                        retries,
                    }
                }
                Attempt::Again(cause) => cause,
            };
            if retries >= self.endpoint.retries {
                return Outcome {
                    result: Err(Failed {
                        cause,
                        fatal: false,
                    }),
                    retries,
                };
            }
            retries += 1;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One try of the request on the kept connection (opened first if
    /// needed), bounded by the endpoint's timeout.
    async fn attempt(&mut self, method: &Method) -> Attempt {
        let deadline = tokio::time::Instant::now() + self.endpoint.timeout;
        let keep = Keep {
            body: true,
            headers: false,
        };
        match self
            .session
            .send(&self.endpoint.origin, &self.request, method, keep, deadline)
            .await
        {
            Err(f) => Attempt::Again(f.to_string()),
            Ok(r) if r.status.is_success() => Attempt::Done(r.body),
            Ok(r) => {
                let cause = describe(r.status, &r.body);
                if retryable(r.status) {
                    Attempt::Again(cause)
                } else {
                    Attempt::Fatal(cause)
                }
            }
        }
    }
}

/// Statuses worth another attempt: the target is busy or briefly down.
fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// `400 Bad Request: {"error": …}`, the body cut to a line.
fn describe(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.lines().next().unwrap_or("").trim();
    let text: String = text.chars().take(200).collect();
    if status.is_server_error() || text.is_empty() {
        // Server errors group by status alone: their bodies vary.
        status.to_string()
    } else {
        format!("{status}: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passing_failures_are_retried() {
        assert!(retryable(StatusCode::SERVICE_UNAVAILABLE));
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(!retryable(StatusCode::BAD_REQUEST));
        assert!(!retryable(StatusCode::NOT_FOUND));
    }

    #[test]
    fn causes_group_by_status_and_keep_client_errors_readable() {
        assert_eq!(
            describe(StatusCode::SERVICE_UNAVAILABLE, b"db down at 12:00:01"),
            "503 Service Unavailable"
        );
        assert_eq!(
            describe(StatusCode::BAD_REQUEST, b"{\"error\":\"priority\"}\nmore"),
            "400 Bad Request: {\"error\":\"priority\"}"
        );
    }
}
