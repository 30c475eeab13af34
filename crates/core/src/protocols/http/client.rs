//! A user's HTTP connections: one keep-alive HTTP/1.1 connection per origin,
//! re-opened transparently when the server closes it, every connect counted
//! and timed. A connection owns its socket and nothing else: responses are
//! read into a buffer lent by the worker thread (see `wire`).

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::client::TlsStream;

use super::cookies::CookieJar;
use super::failure::{self, Failure};
use super::origin::Origin;
use super::wire::{with_cookie, Keep, Parsed, ResponseParser};
use crate::metrics::Recorder;
use crate::protocols::tls::{self, TlsOptions};

/// Settings shared by every user's connections.
#[derive(Debug, Default)]
pub struct ClientSettings {
    /// Accept any server certificate (self-signed test servers).
    pub insecure: bool,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
}

impl ClientSettings {
    /// Settings; `insecure` skips certificate verification.
    pub fn new(insecure: bool) -> Self {
        ClientSettings {
            insecure,
            tls: OnceLock::new(),
        }
    }

    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, Failure> {
        if let Some(config) = self.tls.get() {
            return Ok(config.clone());
        }
        let options = TlsOptions {
            insecure: self.insecure,
            ..TlsOptions::default()
        };
        let config = tls::client_config(&options).map_err(Failure::Tls)?;
        Ok(self.tls.get_or_init(|| config).clone())
    }
}

/// A socket, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read_buf(buf).await,
            Stream::Tls(s) => s.read_buf(buf).await,
        }
    }

    /// True when the server closed an idle plain connection (it reads as
    /// end-of-file). TLS connections are not probed: the retry covers them.
    fn closed_while_idle(&self) -> bool {
        match self {
            Stream::Plain(s) => {
                !matches!(s.try_read(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
            Stream::Tls(_) => false,
        }
    }
}

/// One open connection.
struct Conn {
    origin: Origin,
    stream: Stream,
    /// When the last response ended: only a connection idle for a while is
    /// probed before reuse (servers close idle ones), which spares a system
    /// call on back-to-back requests.
    idle_since: Instant,
}

/// Idle time after which a connection is probed before it is reused.
const PROBE_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// The connections of one user.
pub struct Session {
    settings: Arc<ClientSettings>,
    conns: Vec<Conn>,
    recorder: Rc<RefCell<Recorder>>,
    /// The server closed a connection; the next connect re-opens it.
    reopen: bool,
    /// The user's cookies.
    cookies: CookieJar,
}

impl Session {
    /// A user's session with no connection open yet.
    pub fn new(settings: Arc<ClientSettings>, recorder: Rc<RefCell<Recorder>>) -> Self {
        Session {
            settings,
            conns: Vec::new(),
            recorder,
            reopen: false,
            cookies: CookieJar::default(),
        }
    }

    /// Sends the encoded `request` to `origin` and reads the response by
    /// `deadline`, opening or re-opening the connection as needed.
    pub async fn send(
        &mut self,
        origin: &Origin,
        request: &[u8],
        method: &http::Method,
        keep: Keep,
        deadline: Instant,
    ) -> Result<Parsed, Failure> {
        let head = *method == http::Method::HEAD;
        // Retrying after the server closed a kept-alive connection must not
        // send a POST twice: it may have been received.
        let idempotent = method.is_idempotent();
        let with_jar;
        let request = match self.cookies.header(origin) {
            None => request,
            Some(cookie) => {
                with_jar = with_cookie(request, &cookie);
                &with_jar[..]
            }
        };
        for attempt in 0..2 {
            let (index, reused) = self.connection(origin, deadline).await?;
            let result =
                exchange(&mut self.conns[index].stream, request, head, keep, deadline).await;
            match result {
                Ok(parsed) => {
                    if !parsed.set_cookies.is_empty() {
                        self.cookies.store(origin, &parsed.set_cookies);
                    }
                    if parsed.keep_alive {
                        self.conns[index].idle_since = Instant::now();
                    } else {
                        self.conns.swap_remove(index);
                        self.reopen = true;
                    }
                    return Ok(parsed);
                }
                Err((f, answered)) => {
                    self.conns.swap_remove(index);
                    // Only a connection the server closed counts as re-opened;
                    // one cicada dropped after a timeout does not.
                    self.reopen = matches!(f, Failure::Closed | Failure::Reset);
                    // A kept-alive connection the server closed just before
                    // our request: nothing was answered, so try once more.
                    let retry = idempotent
                        && reused
                        && !answered
                        && attempt == 0
                        && matches!(f, Failure::Closed | Failure::Reset);
                    if !retry {
                        return Err(f);
                    }
                }
            }
        }
        Err(Failure::Closed)
    }

    /// An open connection to `origin` (index, and whether it was reused).
    async fn connection(
        &mut self,
        origin: &Origin,
        deadline: Instant,
    ) -> Result<(usize, bool), Failure> {
        if let Some(i) = self.conns.iter().position(|c| &c.origin == origin) {
            let conn = &self.conns[i];
            if conn.idle_since.elapsed() < PROBE_AFTER || !conn.stream.closed_while_idle() {
                return Ok((i, true));
            }
            self.conns.swap_remove(i);
            self.reopen = true;
        }
        let started = Instant::now();
        let result = match timeout_at(deadline, self.connect(origin)).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Timeout("connecting")),
        };
        let mut recorder = self.recorder.borrow_mut();
        match result {
            Ok(stream) => {
                recorder.connected(started.elapsed(), std::mem::take(&mut self.reopen));
                self.conns.push(Conn {
                    origin: origin.clone(),
                    stream,
                    idle_since: Instant::now(),
                });
                Ok((self.conns.len() - 1, false))
            }
            Err(f) => {
                recorder.connect_failed();
                Err(f)
            }
        }
    }

    async fn connect(&self, origin: &Origin) -> Result<Stream, Failure> {
        let tcp = TcpStream::connect((origin.host.as_str(), origin.port))
            .await
            .map_err(|e| failure::from_connect(&e))?;
        let _ = tcp.set_nodelay(true);
        if origin.tls {
            let stream = tls::connect(self.settings.tls_config()?, &origin.host, tcp)
                .await
                .map_err(Failure::Tls)?;
            Ok(Stream::Tls(Box::new(stream)))
        } else {
            Ok(Stream::Plain(tcp))
        }
    }
}

/// Bytes read per call.
const READ_CHUNK: usize = 16 * 1024;
/// Buffers kept per worker thread for reuse.
const POOLED: usize = 64;

thread_local! {
    /// Read buffers lent to responses being read on this worker thread.
    static BUFFERS: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// A read buffer from the worker's pool, returned on drop (also when the
/// request is cut off).
struct Lent(BytesMut);

impl Lent {
    fn take() -> Lent {
        Lent(
            BUFFERS
                .with(|b| b.borrow_mut().pop())
                .unwrap_or_else(|| BytesMut::with_capacity(READ_CHUNK)),
        )
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.0);
        buf.clear();
        if buf.capacity() <= 4 * READ_CHUNK {
            BUFFERS.with(|b| {
                let mut pool = b.borrow_mut();
                if pool.len() < POOLED {
                    pool.push(buf);
                }
            });
        }
    }
}

/// Writes one request and reads its response. On failure, also says
/// whether any of the response had arrived.
async fn exchange(
    stream: &mut Stream,
    request: &[u8],
    head: bool,
    keep: Keep,
    deadline: Instant,
) -> Result<Parsed, (Failure, bool)> {
    match timeout_at(deadline, stream.write_all(request)).await {
        Err(_) => return Err((Failure::Timeout("sending the request"), false)),
        Ok(Err(e)) => return Err((failure::from_io(&e), false)),
        Ok(Ok(())) => {}
    }
    let mut buf = Lent::take();
    let mut parser = ResponseParser::new(keep, head);
    loop {
        match parser.advance(&mut buf.0) {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => return Err((Failure::Protocol(e.0), true)),
        }
        if buf.0.capacity() - buf.0.len() < 1024 {
            buf.0.reserve(READ_CHUNK);
        }
        let stage = if parser.started() {
            "reading the body"
        } else {
            "waiting for the response"
        };
        let n = match timeout_at(deadline, stream.read_buf(&mut buf.0)).await {
            Err(_) => return Err((Failure::Timeout(stage), parser.started())),
            Ok(Err(e)) => return Err((failure::from_io(&e), parser.started())),
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            let started = parser.started();
            if parser.eof().is_err() {
                return Err((Failure::Closed, started));
            }
            break;
        }
    }
    let leftover = !buf.0.is_empty();
    let mut parsed = parser.finish();
    // Bytes after the response mean the connection is out of step.
    parsed.keep_alive &= !leftover;
    Ok(parsed)
}
