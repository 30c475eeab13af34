//! Where requests go: the scheme, host and port of a URL, and its `Host`
//! header.

use http::HeaderValue;

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

    /// Splits an absolute URL into its origin and the request target: path
    /// and query, `/` when the URL has no path (`http://h:1?q=1` → `/?q=1`).
    pub fn split_url(url: &str) -> Result<(Origin, String), String> {
        let (origin, _) = Origin::parse(url)?;
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("invalid URL '{url}': {e}"))?;
        let mut target = uri.path().to_string();
        if !target.starts_with('/') {
            target.insert(0, '/');
        }
        if let Some(q) = uri.query() {
            target.push('?');
            target.push_str(q);
        }
        Ok((origin, target))
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
    fn splits_urls_into_origin_and_target() {
        let (o, t) = Origin::split_url("http://127.0.0.1:9?q=1").expect("parses");
        assert_eq!((o.port, t.as_str()), (9, "/?q=1"));
        let (_, t) = Origin::split_url("http://h/a/b?x=1&y=2").expect("parses");
        assert_eq!(t, "/a/b?x=1&y=2");
        let (_, t) = Origin::split_url("https://h").expect("parses");
        assert_eq!(t, "/");
    }

    #[test]
    fn rejects_what_is_not_an_http_url() {
        let e = Origin::parse("mqtt://h:1883").expect_err("scheme");
        assert!(e.contains("expected http:// or https://"), "{e}");
        assert!(Origin::parse("127.0.0.1:8080").is_err());
        assert!(Origin::parse("/just/a/path").is_err());
    }
}
