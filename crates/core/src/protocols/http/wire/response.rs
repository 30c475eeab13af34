//! Responses on the wire: a parser fed whatever bytes have arrived, for the
//! head (`httparse`) and a body framed by Content-Length, chunked encoding
//! or the end of the connection.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most response headers accepted.
const MAX_HEADERS: usize = 100;
/// Largest body kept for checks and extractions; larger ones fail the
/// request instead of filling memory. Bodies only counted are not limited.
pub const MAX_KEPT_BODY: usize = 16 * 1024 * 1024;

/// A response that is not valid HTTP/1.1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body (HEAD, 204, 304).
    Empty,
    /// This many bytes remain.
    Length(u64),
    /// Chunked: reading a chunk-size line.
    ChunkSize,
    /// Chunked: this many bytes of the current chunk remain.
    ChunkData(u64),
    /// Chunked: the CRLF after a chunk's data.
    ChunkEnd,
    /// Chunked: trailer lines up to an empty line.
    Trailers,
    /// Until the server closes the connection.
    UntilClose,
}

/// What to keep of a response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keep {
    /// The body bytes (for checks and extractions).
    pub body: bool,
    /// The headers (for header extractions).
    pub headers: bool,
}

/// A parsed response.
#[derive(Debug)]
pub struct Parsed {
    /// Status.
    pub status: StatusCode,
    /// Headers, if kept.
    pub headers: HeaderMap,
    /// Body, if kept.
    pub body: Bytes,
    /// Body size in bytes.
    pub size: u64,
    /// Whether the connection can carry another request.
    pub keep_alive: bool,
    /// The response's `Set-Cookie` header values, for the cookie jar.
    pub set_cookies: Vec<String>,
}

/// Parses one response incrementally.
#[derive(Debug)]
pub struct ResponseParser {
    keep: Keep,
    head_request: bool,
    status: Option<StatusCode>,
    headers: HeaderMap,
    framing: Framing,
    body: Vec<u8>,
    size: u64,
    keep_alive: bool,
    set_cookies: Vec<String>,
    done: bool,
}

impl ResponseParser {
    /// A parser for the response to a request (`head_request`: a HEAD,
    /// whose response has no body whatever its headers say).
    pub fn new(keep: Keep, head_request: bool) -> Self {
        ResponseParser {
            keep,
            head_request,
            status: None,
            headers: HeaderMap::new(),
            framing: Framing::Empty,
            body: Vec::new(),
            size: 0,
            keep_alive: true,
            set_cookies: Vec::new(),
            done: false,
        }
    }

    /// True once any part of a response head has been parsed.
    pub fn started(&self) -> bool {
        self.status.is_some()
    }

    /// Consumes what it can from `buf`; true when the response is complete.
    pub fn advance(&mut self, buf: &mut BytesMut) -> Result<bool, ParseError> {
        while !self.done {
            let progressed = if self.status.is_none() {
                self.head(buf)?
            } else {
                self.body_step(buf)?
            };
            if !progressed {
                break;
            }
        }
        Ok(self.done)
    }

    /// The peer closed the connection: ends a close-delimited body; any
    /// other incomplete response is an error.
    pub fn eof(&mut self) -> Result<(), ParseError> {
        match (self.status, self.framing) {
            (Some(_), Framing::UntilClose) => {
                self.done = true;
                self.keep_alive = false;
                Ok(())
            }
            _ if self.done => Ok(()),
            (None, _) => Err(ParseError("connection closed before the response".into())),
            _ => Err(ParseError(
                "connection closed in the middle of the body".into(),
            )),
        }
    }

    /// The finished response.
    pub fn finish(self) -> Parsed {
        Parsed {
            status: self.status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: self.headers,
            body: Bytes::from(self.body),
            size: self.size,
            keep_alive: self.keep_alive && self.done,
            set_cookies: self.set_cookies,
        }
    }

    fn head(&mut self, buf: &mut BytesMut) -> Result<bool, ParseError> {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut slots);
        let consumed = match response.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(ParseError(format!(
                    "response head larger than {MAX_HEAD} bytes"
                )));
            }
            Ok(httparse::Status::Partial) => return Ok(false),
            Err(e) => return Err(ParseError(format!("invalid response head: {e}"))),
        };
        let code = response.code.unwrap_or(500);
        let status =
            StatusCode::from_u16(code).map_err(|_| ParseError(format!("invalid status {code}")))?;
        if status.is_informational() && code != 101 {
            buf.advance(consumed); // 100 Continue and friends: the real head follows
            return Ok(true);
        }
        let http10 = response.version == Some(0);
        let mut length: Option<u64> = None;
        let mut chunked = false;
        let mut connection_close = http10;
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let text = std::str::from_utf8(h.value).unwrap_or("").trim();
                length = Some(
                    text.parse()
                        .map_err(|_| ParseError(format!("invalid content-length '{text}'")))?,
                );
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = h
                    .value
                    .rsplit(|&b| b == b',')
                    .next()
                    .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if h.name.eq_ignore_ascii_case("set-cookie") {
                self.set_cookies
                    .push(String::from_utf8_lossy(h.value).into_owned());
            } else if h.name.eq_ignore_ascii_case("connection") {
                let v = h.value.trim_ascii();
                if v.eq_ignore_ascii_case(b"close") {
                    connection_close = true;
                } else if v.eq_ignore_ascii_case(b"keep-alive") {
                    connection_close = false;
                }
            }
            if self.keep.headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(h.name.as_bytes()),
                    HeaderValue::from_bytes(h.value),
                ) {
                    self.headers.append(name, value);
                }
            }
        }
        buf.advance(consumed);
        self.status = Some(status);
        self.keep_alive = !connection_close;
        self.framing = if self.head_request || code == 204 || code == 304 {
            Framing::Empty
        } else if chunked {
            Framing::ChunkSize
        } else if let Some(n) = length {
            Framing::Length(n)
        } else {
            self.keep_alive = false;
            Framing::UntilClose
        };
        if self.framing == Framing::Empty || self.framing == Framing::Length(0) {
            self.done = true;
        }
        Ok(true)
    }

    fn take_body(&mut self, buf: &mut BytesMut, n: usize) -> Result<(), ParseError> {
        if self.keep.body {
            if self.body.len() + n > MAX_KEPT_BODY {
                return Err(ParseError(format!(
                    "body larger than {} MB, too large to check",
                    MAX_KEPT_BODY >> 20
                )));
            }
            self.body.extend_from_slice(&buf[..n]);
        }
        self.size += n as u64;
        buf.advance(n);
        Ok(())
    }

    fn body_step(&mut self, buf: &mut BytesMut) -> Result<bool, ParseError> {
        match self.framing {
            Framing::Empty => {
                self.done = true;
                Ok(true)
            }
            Framing::Length(remaining) | Framing::ChunkData(remaining) => {
                if buf.is_empty() {
                    return Ok(false);
                }
                let n = buf
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                self.take_body(buf, n)?;
                let left = remaining - n as u64;
                self.framing = match self.framing {
                    Framing::Length(_) if left == 0 => {
                        self.done = true;
                        Framing::Length(0)
                    }
                    Framing::Length(_) => Framing::Length(left),
                    _ if left == 0 => Framing::ChunkEnd,
                    _ => Framing::ChunkData(left),
                };
                Ok(true)
            }
            Framing::UntilClose => {
                if buf.is_empty() {
                    return Ok(false);
                }
                let n = buf.len();
                self.take_body(buf, n)?;
                Ok(true)
            }
            Framing::ChunkSize => match httparse::parse_chunk_size(buf) {
                Ok(httparse::Status::Complete((used, size))) => {
                    buf.advance(used);
                    self.framing = if size == 0 {
                        Framing::Trailers
                    } else {
                        Framing::ChunkData(size)
                    };
                    Ok(true)
                }
                Ok(httparse::Status::Partial) if buf.len() > 1024 => {
                    Err(ParseError("chunk size line too long".into()))
                }
                Ok(httparse::Status::Partial) => Ok(false),
                Err(_) => Err(ParseError("invalid chunk size".into())),
            },
            Framing::ChunkEnd => {
                if buf.len() < 2 {
                    return Ok(false);
                }
                if &buf[..2] != b"\r\n" {
                    return Err(ParseError("missing CRLF after a chunk".into()));
                }
                buf.advance(2);
                self.framing = Framing::ChunkSize;
                Ok(true)
            }
            Framing::Trailers => {
                let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
                    return if buf.len() > MAX_HEAD {
                        Err(ParseError("trailers too long".into()))
                    } else {
                        Ok(false)
                    };
                };
                buf.advance(end + 2);
                if end == 0 {
                    self.done = true;
                }
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes.
    fn parse(input: &[u8], step: usize, keep: Keep, head: bool) -> Result<Parsed, ParseError> {
        let mut p = ResponseParser::new(keep, head);
        let mut buf = BytesMut::new();
        for piece in input.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            if p.advance(&mut buf)? {
                assert!(buf.is_empty(), "nothing left over: {buf:?}");
                return Ok(p.finish());
            }
        }
        p.eof()?;
        Ok(p.finish())
    }

    const KEEP_ALL: Keep = Keep {
        body: true,
        headers: true,
    };

    #[test]
    fn content_length_in_any_pieces() {
        let input = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        for step in [1, 3, 7, input.len()] {
            let r = parse(input, step, KEEP_ALL, false).expect("parses");
            assert_eq!(
                (r.status.as_u16(), &r.body[..], r.size, r.keep_alive),
                (200, &b"hello"[..], 5, true)
            );
            assert_eq!(r.headers["x-a"], "b");
        }
    }

    #[test]
    fn chunked_bodies_with_extensions_and_trailers() {
        let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n";
        for step in [1, 2, 5, input.len()] {
            let r = parse(input, step, KEEP_ALL, false).expect("parses");
            assert_eq!(&r.body[..], b"Wikipedia");
            assert_eq!(r.size, 9);
            assert!(r.keep_alive);
        }
    }

    #[test]
    fn close_delimited_bodies_end_at_eof() {
        let r = parse(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", 4, KEEP_ALL, false).expect("parses");
        assert_eq!(&r.body[..], b"until the end");
        assert!(!r.keep_alive);
    }

    #[test]
    fn connection_close_http10_head_and_no_content() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            100,
            KEEP_ALL,
            false,
        )
        .expect("parses");
        assert!(!r.keep_alive);
        let r = parse(
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
            100,
            KEEP_ALL,
            false,
        )
        .expect("parses");
        assert!(!r.keep_alive);
        let r = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
            100,
            KEEP_ALL,
            true,
        )
        .expect("HEAD has no body");
        assert_eq!(r.size, 0);
        assert!(r.keep_alive);
        let r = parse(b"HTTP/1.1 204 No Content\r\n\r\n", 100, KEEP_ALL, false).expect("parses");
        assert_eq!(r.status.as_u16(), 204);
    }

    #[test]
    fn continue_is_skipped() {
        let r = parse(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
            5,
            KEEP_ALL,
            false,
        )
        .expect("parses");
        assert_eq!(r.status.as_u16(), 201);
    }

    #[test]
    fn bodies_are_counted_but_not_kept_unless_asked() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX: y\r\n\r\nabc",
            2,
            Keep::default(),
            false,
        )
        .expect("parses");
        assert_eq!((r.size, r.body.len(), r.headers.len()), (3, 0, 0));
    }

    #[test]
    fn broken_responses_are_errors_not_panics() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"[..],
            b"garbage\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
            b"",
        ] {
            assert!(
                parse(bad, 3, KEEP_ALL, false).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn cookies_are_read() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=abc; Path=/; HttpOnly\r\nSet-Cookie: old=x; Max-Age=0\r\nContent-Length: 0\r\n\r\n",
            100,
            Keep::default(),
            false,
        )
        .expect("parses");
        assert_eq!(
            r.set_cookies,
            ["sid=abc; Path=/; HttpOnly", "old=x; Max-Age=0"]
        );
    }
}
