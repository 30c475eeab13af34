//! Why a request failed, in words that stay the same from one occurrence to
//! the next so that failures group by cause in every report.

use std::io;

/// The cause of a failed HTTP exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Nothing listens on the port.
    #[error("connection refused")]
    Refused,
    /// The peer reset the connection.
    #[error("connection reset by peer")]
    Reset,
    /// The server closed the connection before a complete response.
    #[error("connection closed before the response was complete")]
    Closed,
    /// The step's timeout expired during the named stage.
    #[error("timeout {0}")]
    Timeout(&'static str),
    /// The host name did not resolve.
    #[error("dns lookup failed: {0}")]
    Dns(String),
    /// Another connect error.
    #[error("connect failed: {0}")]
    Connect(String),
    /// The TLS handshake failed.
    #[error("tls: {0}")]
    Tls(String),
    /// The response was not valid HTTP.
    #[error("invalid response: {0}")]
    Protocol(String),
    /// The request could not be built (bad URL after rendering, ...).
    #[error("{0}")]
    Request(String),
    /// Any other I/O error.
    #[error("{0}")]
    Other(String),
}

/// Classifies an error from `TcpStream::connect`.
pub fn from_connect(e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Failure::Refused,
        io::ErrorKind::ConnectionReset => Failure::Reset,
        io::ErrorKind::TimedOut => Failure::Timeout("connecting"),
        _ => {
            let text = e.to_string();
            if text.contains("lookup") || text.contains("resolve") {
                Failure::Dns(text)
            } else {
                Failure::Connect(text)
            }
        }
    }
}

/// Classifies an I/O error while writing a request or reading a response.
pub fn from_io(e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionAborted => Failure::Reset,
        io::ErrorKind::UnexpectedEof => Failure::Closed,
        _ => Failure::Other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_errors_by_kind() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "x");
        assert_eq!(from_connect(&refused), Failure::Refused);
        assert_eq!(from_connect(&refused).to_string(), "connection refused");
        let dns =
            io::Error::other("failed to lookup address information: Name or service not known");
        assert!(matches!(from_connect(&dns), Failure::Dns(_)));
        let timeout = io::Error::new(io::ErrorKind::TimedOut, "x");
        assert_eq!(from_connect(&timeout).to_string(), "timeout connecting");
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "x");
        assert_eq!(from_io(&reset), Failure::Reset);
    }
}
