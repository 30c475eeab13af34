//! Listen addresses for the bundled targets.
//!
//! Targets are started from the command line (`cicada target jobs --listen :0`),
//! so the accepted forms are the ones people type: `127.0.0.1:8080`,
//! `0.0.0.0:80`, `[::1]:9000`, `localhost:8080` and the short `:PORT`, which
//! means loopback on that port (`:0` asks the OS for a free one). Host names
//! other than `localhost` are refused rather than resolved: a target binds a
//! local interface, and silently binding whatever DNS answers would surprise.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What the user is shown after the offending input, so every error says what
/// a good address looks like.
const EXPECTED: &str = "expected HOST:PORT such as 127.0.0.1:8080 or :0";

/// Why a listen address was refused; the message names the input and the
/// expected form so it can be printed to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    /// The input is not shaped like `HOST:PORT` at all (no colon, no port,
    /// an unbracketed IPv6 address, an empty string).
    #[error("invalid listen address '{input}': {EXPECTED}")]
    Malformed {
        /// The address exactly as given.
        input: String,
    },
    /// The part after the last colon is not a port number.
    #[error("invalid listen address '{input}': port '{port}' is not a number from 0 to 65535; {EXPECTED}")]
    BadPort {
        /// The address exactly as given.
        input: String,
        /// The part that should have been the port.
        port: String,
    },
    /// The host is neither an IP address nor `localhost`.
    #[error("invalid listen address '{input}': host '{host}' is not an IP address or 'localhost'; {EXPECTED}")]
    BadHost {
        /// The address exactly as given.
        input: String,
        /// The part that should have been the host.
        host: String,
    },
}

/// Parses a listen address as typed on the command line into the socket
/// address to bind, so every target accepts the same forms with the same
/// error messages.
///
/// Accepts `IPv4:PORT`, `[IPv6]:PORT`, `localhost:PORT` (loopback) and `:PORT`
/// (also loopback; `:0` picks a free port). Surrounding whitespace is ignored.
///
/// ```
/// use cicada_targets::addr::parse_listen_addr;
/// assert_eq!(parse_listen_addr(":0").unwrap().to_string(), "127.0.0.1:0");
/// assert!(parse_listen_addr("abc").is_err());
/// ```
pub fn parse_listen_addr(s: &str) -> Result<SocketAddr, AddrError> {
    let input = s.trim();
    let malformed = || AddrError::Malformed {
        input: s.to_owned(),
    };
    let (host, port) = input.rsplit_once(':').ok_or_else(malformed)?;
    if port.is_empty() || port.ends_with(']') {
        return Err(malformed());
    }
    let port: u16 = port.parse().map_err(|_| AddrError::BadPort {
        input: s.to_owned(),
        port: port.to_owned(),
    })?;
    let ip = parse_host(host).ok_or_else(|| {
        if host.contains(':') && !host.starts_with('[') {
            // `::1:9000` cannot be split unambiguously; ask for brackets.
            malformed()
        } else {
            AddrError::BadHost {
                input: s.to_owned(),
                host: host.to_owned(),
            }
        }
    })?;
    Ok(SocketAddr::new(ip, port))
}

/// The IP address a host part stands for, or `None` if it is not one we accept.
fn parse_host(host: &str) -> Option<IpAddr> {
    if host.is_empty() || host.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        match parse_listen_addr(s) {
            Ok(addr) => addr.to_string(),
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn err(s: &str) -> AddrError {
        match parse_listen_addr(s) {
            Ok(addr) => panic!("{s:?} should be refused, got {addr}"),
            Err(e) => e,
        }
    }

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(ok("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(ok("0.0.0.0:80"), "0.0.0.0:80");
        assert_eq!(ok("[::1]:9000"), "[::1]:9000");
        assert_eq!(ok("[::]:0"), "[::]:0");
        assert_eq!(ok("localhost:8080"), "127.0.0.1:8080");
        assert_eq!(ok("LocalHost:1"), "127.0.0.1:1");
        assert_eq!(ok(":0"), "127.0.0.1:0");
        assert_eq!(ok(":65535"), "127.0.0.1:65535");
        assert_eq!(ok("  :8080\n"), "127.0.0.1:8080");
    }

    #[test]
    fn refuses_shapes_that_are_not_host_port() {
        for s in [
            "",
            "abc",
            "8080",
            "127.0.0.1",
            "127.0.0.1:",
            "[::1]",
            "::1:9000",
        ] {
            assert!(
                matches!(err(s), AddrError::Malformed { .. }),
                "{s:?} should be malformed"
            );
        }
    }

    #[test]
    fn refuses_bad_ports() {
        for s in [":abc", ":65536", "127.0.0.1:-1", "localhost:80x"] {
            assert!(
                matches!(err(s), AddrError::BadPort { .. }),
                "{s:?} should have a bad port"
            );
        }
    }

    #[test]
    fn refuses_hosts_that_are_not_ip_addresses() {
        for s in [
            "example.com:80",
            "256.0.0.1:80",
            "[127.0.0.1]:80",
            "[zz]:80",
        ] {
            assert!(
                matches!(err(s), AddrError::BadHost { .. }),
                "{s:?} should have a bad host"
            );
        }
    }

    #[test]
    fn messages_name_the_input_and_the_expected_form() {
        assert_eq!(
            err("abc").to_string(),
            "invalid listen address 'abc': expected HOST:PORT such as 127.0.0.1:8080 or :0"
        );
        let msg = err(":99999").to_string();
        assert!(msg.contains("':99999'") && msg.contains("'99999'"), "{msg}");
        assert!(msg.contains(EXPECTED), "{msg}");
        let msg = err("example.com:80").to_string();
        assert!(msg.contains("host 'example.com'"), "{msg}");
    }
}
