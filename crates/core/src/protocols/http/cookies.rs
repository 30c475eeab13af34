//! A user's cookie jar, as a browser or Locust's session keeps one: cookies
//! set by responses are sent back with later requests to the same origin,
//! until they are deleted or expire (`Max-Age`, `Expires`).

use std::time::SystemTime;

use super::origin::Origin;

/// One stored cookie.
#[derive(Debug, Clone, PartialEq)]
struct Cookie {
    origin: Origin,
    name: String,
    value: String,
    expires: Option<SystemTime>,
}

/// The cookies of one user.
#[derive(Debug, Default)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    /// Stores what `Set-Cookie` headers from `origin` say.
    pub fn store(&mut self, origin: &Origin, set_cookie: &[String]) {
        let now = SystemTime::now();
        for header in set_cookie {
            let Some(cookie) = parse(origin, header) else {
                continue;
            };
            self.cookies
                .retain(|c| !(c.origin == cookie.origin && c.name == cookie.name));
            if cookie.expires.is_none_or(|t| t > now) {
                self.cookies.push(cookie);
            }
        }
    }

    /// The `Cookie` header value for a request to `origin`, if any cookie
    /// applies.
    pub fn header(&self, origin: &Origin) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        let now = SystemTime::now();
        let mut out = String::new();
        for c in self
            .cookies
            .iter()
            .filter(|c| &c.origin == origin && c.expires.is_none_or(|t| t > now))
        {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(&c.name);
            out.push('=');
            out.push_str(&c.value);
        }
        (!out.is_empty()).then_some(out)
    }
}

/// `name=value; Path=/; Max-Age=60; Expires=…` → a cookie. An expiry in
/// the past deletes it; `Max-Age` wins over `Expires`.
fn parse(origin: &Origin, header: &str) -> Option<Cookie> {
    let mut parts = header.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut expires = None;
    let mut max_age = None;
    for attribute in parts {
        let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
        match key.trim().to_ascii_lowercase().as_str() {
            "max-age" => max_age = val.trim().parse::<i64>().ok(),
            "expires" => expires = httpdate::parse_http_date(val.trim()).ok(),
            _ => {}
        }
    }
    let now = SystemTime::now();
    if let Some(seconds) = max_age {
        expires = Some(if seconds <= 0 {
            SystemTime::UNIX_EPOCH
        } else {
            now + std::time::Duration::from_secs(seconds.unsigned_abs())
        });
    }
    Some(Cookie {
        origin: origin.clone(),
        name: name.to_string(),
        value: value.trim().to_string(),
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(port: u16) -> Origin {
        Origin {
            tls: false,
            host: "h".into(),
            port,
        }
    }

    fn jar(headers: &[&str]) -> CookieJar {
        let mut jar = CookieJar::default();
        jar.store(
            &origin(1),
            &headers.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
        );
        jar
    }

    #[test]
    fn cookies_go_back_to_their_origin_only() {
        let j = jar(&["sid=abc; Path=/; HttpOnly", "theme=dark"]);
        assert_eq!(j.header(&origin(1)).as_deref(), Some("sid=abc; theme=dark"));
        assert_eq!(j.header(&origin(2)), None);
    }

    #[test]
    fn a_new_value_replaces_the_old() {
        let mut j = jar(&["sid=abc"]);
        j.store(&origin(1), &["sid=def".into()]);
        assert_eq!(j.header(&origin(1)).as_deref(), Some("sid=def"));
    }

    #[test]
    fn max_age_zero_and_past_expiry_delete() {
        let mut j = jar(&["sid=abc", "other=1"]);
        j.store(&origin(1), &["sid=; Max-Age=0".into()]);
        assert_eq!(j.header(&origin(1)).as_deref(), Some("other=1"));
        j.store(
            &origin(1),
            &["other=deleted; Expires=Thu, 01 Jan 1970 00:00:00 GMT".into()],
        );
        assert_eq!(j.header(&origin(1)), None);
        let j = jar(&["later=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT"]);
        assert_eq!(j.header(&origin(1)).as_deref(), Some("later=1"));
    }

    #[test]
    fn nonsense_is_ignored() {
        assert_eq!(jar(&["no equals sign", "=value"]).header(&origin(1)), None);
    }
}
