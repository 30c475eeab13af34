//! The request an `http` step sends, compiled once: whatever is fixed (URI,
//! headers, body) is prepared at plan time, and only template parts are
//! rendered per request.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::failure::Failure;
use super::origin::Origin;
use super::wire::encode_request;
use crate::template::{Text, ValueTemplate, Vars};

/// `User-Agent` of every request.
const AGENT: &str = concat!("cicada/", env!("CARGO_PKG_VERSION"));

/// Where a request goes.
#[derive(Debug)]
pub enum Target {
    /// A path (maybe templated) under the scenario's host.
    Path {
        /// The host's origin.
        origin: Origin,
        /// The host's base path (`/api` in `http://h/api`), or empty.
        base: String,
        /// The path under the base.
        path: Text,
    },
    /// A full URL (maybe templated), for requests to another host.
    Url(Text),
}

/// A request body.
#[derive(Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// Text, maybe templated.
    Text(Text),
    /// JSON, maybe with templates inside; sent as `application/json`.
    Json(ValueTemplate),
}

/// A compiled request.
#[derive(Debug)]
pub struct RequestTemplate {
    method: Method,
    target: Target,
    query: Vec<(String, Text)>,
    dynamic_headers: Vec<(HeaderName, Text)>,
    body: Body,
    /// Headers fixed at plan time (with `Host` when the origin is fixed).
    fixed_headers: HeaderMap,
    /// The URI when neither path nor query is a template.
    fixed_uri: Option<Uri>,
    /// The body when it is not a template.
    fixed_body: Option<Bytes>,
    /// The whole encoded request when nothing in it is a template.
    fixed_request: Option<Bytes>,
    /// The path or URL as written in the scenario.
    written: String,
}

impl RequestTemplate {
    /// Compiles a request; fails on a header or URI that can never be valid.
    pub fn new(
        method: Method,
        target: Target,
        query: Vec<(String, Text)>,
        headers: Vec<(String, Text)>,
        body: Body,
    ) -> Result<Self, String> {
        let written = match &target {
            Target::Path { path, .. } => path.source().to_string(),
            Target::Url(u) => u.source().to_string(),
        };
        // A full URL without templates goes where a path does: its request
        // is then encoded once, like any fixed request.
        let target = match target {
            Target::Url(Text::Static(url)) => {
                let (origin, path) = Origin::split_url(&url)?;
                Target::Path {
                    origin,
                    base: String::new(),
                    path: Text::Static(path.into()),
                }
            }
            other => other,
        };
        let mut fixed_headers = HeaderMap::new();
        fixed_headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
        if let Target::Path { origin, .. } = &target {
            fixed_headers.insert(HOST, origin.host_header());
        }
        if matches!(body, Body::Json(_)) {
            fixed_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let mut dynamic_headers = Vec::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name '{name}'"))?;
            match value.as_static() {
                Some(v) => {
                    let v = HeaderValue::from_str(v)
                        .map_err(|_| format!("invalid value for header '{name}': '{v}'"))?;
                    fixed_headers.insert(name, v);
                }
                None => dynamic_headers.push((name, value)),
            }
        }
        let fixed_uri = match &target {
            Target::Path { base, path, .. } => match path.as_static() {
                Some(p) if query.iter().all(|(_, v)| v.as_static().is_some()) => {
                    let rendered: Vec<(&str, Cow<str>)> = query
                        .iter()
                        .map(|(k, v)| (k.as_str(), Cow::Borrowed(v.source())))
                        .collect();
                    let uri = join_path(base, p, &rendered);
                    Some(
                        uri.parse::<Uri>()
                            .map_err(|e| format!("invalid path '{p}': {e}"))?,
                    )
                }
                _ => None,
            },
            Target::Url(_) => None,
        };
        let fixed_body = match &body {
            Body::Empty => Some(Bytes::new()),
            Body::Text(t) => t.as_static().map(|s| Bytes::copy_from_slice(s.as_bytes())),
            Body::Json(ValueTemplate::Literal(v)) => Some(Bytes::from(v.to_string())),
            Body::Json(_) => None,
        };
        let fixed_request = match (&target, &fixed_uri, &fixed_body) {
            (Target::Path { .. }, Some(uri), Some(body)) if dynamic_headers.is_empty() => {
                let mut out = Vec::new();
                encode_request(&mut out, &method, path_and_query(uri), &fixed_headers, body);
                Some(Bytes::from(out))
            }
            _ => None,
        };
        Ok(RequestTemplate {
            method,
            target,
            query,
            dynamic_headers,
            body,
            fixed_headers,
            fixed_uri,
            fixed_body,
            fixed_request,
            written,
        })
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path or URL as written, for the default row name.
    pub fn display_target(&self) -> &str {
        &self.written
    }

    /// The request for this user, encoded for the wire, and where it goes.
    /// A request without templates was encoded once at plan time.
    pub fn build(&self, vars: &Arc<Vars>) -> Result<(Cow<'_, Origin>, Bytes), Failure> {
        if let (Some(bytes), Target::Path { origin, .. }) = (&self.fixed_request, &self.target) {
            return Ok((Cow::Borrowed(origin), bytes.clone()));
        }
        let body = match &self.fixed_body {
            Some(b) => b.clone(),
            None => match &self.body {
                Body::Text(t) => Bytes::from(render(t, vars)?.into_owned()),
                Body::Json(j) => {
                    let value = j
                        .render_json(vars)
                        .map_err(|e| Failure::Request(e.to_string()))?;
                    Bytes::from(value.to_string())
                }
                Body::Empty => Bytes::new(),
            },
        };
        let mut headers = Cow::Borrowed(&self.fixed_headers);
        for (name, value) in &self.dynamic_headers {
            let v = render(value, vars)?;
            let v = HeaderValue::from_str(&v).map_err(|_| {
                Failure::Request(format!("invalid value for header '{name}': '{v}'"))
            })?;
            headers.to_mut().insert(name.clone(), v);
        }
        let (origin, uri) = match (&self.target, &self.fixed_uri) {
            (Target::Path { origin, .. }, Some(uri)) => (Cow::Borrowed(origin), uri.clone()),
            (Target::Path { origin, base, path }, None) => {
                let uri = self.render_uri(base, &render(path, vars)?, vars)?;
                (Cow::Borrowed(origin), uri)
            }
            (Target::Url(url), _) => {
                let url = render(url, vars)?;
                let (origin, path) = Origin::split_url(&url).map_err(Failure::Request)?;
                headers.to_mut().insert(HOST, origin.host_header());
                let uri = self.render_uri("", &path, vars)?;
                (Cow::Owned(origin), uri)
            }
        };
        let mut out = Vec::new();
        encode_request(
            &mut out,
            &self.method,
            path_and_query(&uri),
            &headers,
            &body,
        );
        Ok((origin, Bytes::from(out)))
    }

    fn render_uri(&self, base: &str, path: &str, vars: &Arc<Vars>) -> Result<Uri, Failure> {
        let mut query = Vec::with_capacity(self.query.len());
        for (k, v) in &self.query {
            query.push((k.as_str(), render(v, vars)?));
        }
        let text = join_path(base, path, &query);
        text.parse::<Uri>()
            .map_err(|e| Failure::Request(format!("invalid URL path '{text}': {e}")))
    }
}

/// The request target of an origin-form URI.
fn path_and_query(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |p| p.as_str())
}

/// Renders a text field; a template error fails the request.
fn render<'a>(text: &'a Text, vars: &Arc<Vars>) -> Result<Cow<'a, str>, Failure> {
    text.render(vars)
        .map_err(|e| Failure::Request(e.to_string()))
}

/// `base` + `path` + `?k=v&...`, the query form-encoded.
fn join_path(base: &str, path: &str, query: &[(&str, Cow<str>)]) -> String {
    let mut out = String::with_capacity(base.len() + path.len() + 16);
    out.push_str(base);
    if !path.starts_with('/') {
        out.push('/');
    }
    out.push_str(path);
    if !query.is_empty() {
        let mut encoder = form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            encoder.append_pair(k, v);
        }
        out.push(if path.contains('?') { '&' } else { '?' });
        out.push_str(&encoder.finish());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Compiler;

    fn origin() -> Origin {
        Origin::parse("http://127.0.0.1:8080").expect("origin").0
    }

    fn vars() -> Arc<Vars> {
        let mut v = Vars::new(1, Arc::new(Vec::new()));
        v.set("id", "a b".into());
        Arc::new(v)
    }

    /// An encoded request: method, target, headers (lowercase), body.
    struct Decoded {
        method: String,
        target: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Decoded {
        fn header(&self, name: &str) -> &str {
            self.headers
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, v)| v.as_str())
        }
    }

    fn decode(bytes: &[u8]) -> Decoded {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut slots);
        let httparse::Status::Complete(n) = req.parse(bytes).expect("valid HTTP") else {
            panic!("partial")
        };
        Decoded {
            method: req.method.expect("method").to_string(),
            target: req.path.expect("path").to_string(),
            headers: req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            body: bytes[n..].to_vec(),
        }
    }

    #[test]
    fn fixed_requests_are_prepared_once() {
        let c = Compiler::new();
        let t = RequestTemplate::new(
            Method::POST,
            Target::Path {
                origin: origin(),
                base: "/api".into(),
                path: c.text("/jobs").expect("ok").item,
            },
            vec![("message".into(), c.text("hello world").expect("ok").item)],
            vec![("X-Test".into(), c.text("1").expect("ok").item)],
            Body::Json(c.value(&serde_json::json!({"a": 1})).expect("ok").item),
        )
        .expect("valid");
        assert!(t.fixed_request.is_some(), "encoded at plan time");
        let (o, bytes) = t.build(&vars()).expect("builds");
        let req = decode(&bytes);
        assert_eq!(*o, origin());
        assert_eq!(
            (req.method.as_str(), req.target.as_str()),
            ("POST", "/api/jobs?message=hello+world")
        );
        assert_eq!(req.header("host"), "127.0.0.1:8080");
        assert_eq!(req.header("x-test"), "1");
        assert_eq!(req.header("content-type"), "application/json");
        assert_eq!(req.header("content-length"), "7");
        assert!(req.header("user-agent").starts_with("cicada/"));
        assert_eq!(req.body, br#"{"a":1}"#);
    }

    #[test]
    fn templated_parts_render_per_request() {
        let c = Compiler::new();
        let t = RequestTemplate::new(
            Method::GET,
            Target::Path {
                origin: origin(),
                base: String::new(),
                path: c.text("/jobs/{{ id | urlencode }}").expect("ok").item,
            },
            vec![("u".into(), c.text("{{ user_id }}").expect("ok").item)],
            vec![("X-User".into(), c.text("u{{ user_id }}").expect("ok").item)],
            Body::Text(c.text("id={{ id }}").expect("ok").item),
        )
        .expect("valid");
        let (_, bytes) = t.build(&vars()).expect("builds");
        let req = decode(&bytes);
        assert_eq!(req.target, "/jobs/a%20b?u=1");
        assert_eq!(req.header("x-user"), "u1");
        assert_eq!(req.body, b"id=a b");
    }

    #[test]
    fn full_urls_set_their_own_host() {
        let c = Compiler::new();
        let t = RequestTemplate::new(
            Method::GET,
            Target::Url(
                c.text("http://10.0.0.1:9000/x?y={{ user_id }}")
                    .expect("ok")
                    .item,
            ),
            vec![],
            vec![],
            Body::Empty,
        )
        .expect("valid");
        let (o, bytes) = t.build(&vars()).expect("builds");
        let req = decode(&bytes);
        assert_eq!(o.port, 9000);
        assert_eq!(req.target, "/x?y=1");
        assert_eq!(t.display_target(), "http://10.0.0.1:9000/x?y={{ user_id }}");
        assert_eq!(req.header("host"), "10.0.0.1:9000");
    }

    #[test]
    fn a_fixed_full_url_is_encoded_once() {
        let c = Compiler::new();
        let t = RequestTemplate::new(
            Method::GET,
            Target::Url(c.text("http://10.0.0.1:9000?q=1").expect("ok").item),
            vec![],
            vec![],
            Body::Empty,
        )
        .expect("valid");
        assert!(t.fixed_request.is_some());
        let (o, bytes) = t.build(&vars()).expect("builds");
        let req = decode(&bytes);
        assert_eq!(
            (o.port, req.target.as_str(), req.header("host")),
            (9000, "/?q=1", "10.0.0.1:9000")
        );
    }

    #[test]
    fn bad_headers_are_rejected_at_plan_time() {
        let c = Compiler::new();
        let e = RequestTemplate::new(
            Method::GET,
            Target::Path {
                origin: origin(),
                base: String::new(),
                path: c.text("/").expect("ok").item,
            },
            vec![],
            vec![("bad header".into(), c.text("x").expect("ok").item)],
            Body::Empty,
        )
        .expect_err("invalid name");
        assert!(e.contains("invalid header name"), "{e}");
    }

    #[test]
    fn render_failures_become_request_failures() {
        let c = Compiler::new();
        let t = RequestTemplate::new(
            Method::GET,
            Target::Path {
                origin: origin(),
                base: String::new(),
                path: c.text("/{{ missing }}").expect("ok").item,
            },
            vec![],
            vec![],
            Body::Empty,
        )
        .expect("valid");
        let e = t.build(&vars()).expect_err("undefined");
        assert!(e.to_string().contains("{{ missing }}"), "{e}");
    }
}
