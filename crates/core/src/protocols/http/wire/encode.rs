//! Requests on the wire: the head and body of one request, and the cookie
//! line added to an encoded request.

use http::HeaderMap;

/// Appends a request head and body to `out`.
pub fn encode_request(
    out: &mut Vec<u8>,
    method: &http::Method,
    target: &str,
    headers: &HeaderMap,
    body: &[u8],
) {
    out.reserve(64 + target.len() + body.len() + headers.len() * 32);
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let sends_length = !body.is_empty()
        || matches!(
            *method,
            http::Method::POST | http::Method::PUT | http::Method::PATCH
        );
    if sends_length && !headers.contains_key(http::header::CONTENT_LENGTH) {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Inserts a `cookie: {value}` header line into an encoded request.
pub fn with_cookie(request: &[u8], value: &str) -> Vec<u8> {
    let head_end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(request.len(), |i| i + 2);
    let mut out = Vec::with_capacity(request.len() + value.len() + 10);
    out.extend_from_slice(&request[..head_end]);
    out.extend_from_slice(b"cookie: ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&request[head_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn requests_are_encoded_with_length_when_needed() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("h:1"));
        let mut out = Vec::new();
        encode_request(&mut out, &http::Method::POST, "/a?b=1", &headers, b"xy");
        assert_eq!(
            out,
            b"POST /a?b=1 HTTP/1.1\r\nhost: h:1\r\ncontent-length: 2\r\n\r\nxy"
        );
        out.clear();
        encode_request(&mut out, &http::Method::GET, "/", &headers, b"");
        assert_eq!(out, b"GET / HTTP/1.1\r\nhost: h:1\r\n\r\n");
        out.clear();
        encode_request(&mut out, &http::Method::POST, "/", &headers, b"");
        assert!(out.ends_with(b"content-length: 0\r\n\r\n"));
    }

    #[test]
    fn cookies_are_inserted_before_the_end_of_the_head() {
        let req = with_cookie(b"GET / HTTP/1.1\r\nhost: h\r\n\r\nbody", "a=1; b=2");
        assert_eq!(
            req,
            b"GET / HTTP/1.1\r\nhost: h\r\ncookie: a=1; b=2\r\n\r\nbody"
        );
    }
}
