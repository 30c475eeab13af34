//! The driver of one MQTT connection: a task that owns the socket. It
//! connects (CONNECT → CONNACK, timed as the `connect` row), writes what
//! the steps queued, reads what the broker sends, keeps the connection
//! alive, times out unacknowledged publishes, and reconnects with a
//! growing pause when the connection drops.

mod events;
mod serve;

use events::apply;
use serve::{serve_plain, serve_tls};

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_rustls::client::TlsStream;

use super::packet::{self, ConnectOptions, Incoming};
use super::session::{Link, Status};
use super::settings::Settings;
use super::shutdown::DriverAlive;
use crate::metrics::{Recorder, StatId};
use crate::protocols::http::connect_failure;
use crate::protocols::tls;
use crate::units::format_duration;

/// First pause before reconnecting; doubles up to [`MAX_PAUSE`].
const MIN_PAUSE: Duration = Duration::from_millis(100);
/// Longest pause between reconnects.
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// Bytes asked of the socket per read.
const READ: usize = 4096;

/// Connects, serves and reconnects until the session closes.
pub async fn run(
    link: Rc<Link>,
    settings: Arc<Settings>,
    client_id: String,
    user: u64,
    recorder: Rc<RefCell<Recorder>>,
    connect_stat: StatId,
) {
    let _alive = DriverAlive::enter();
    let mut pause = MIN_PAUSE;
    let mut first = true;
    loop {
        if link.shared.borrow().closing {
            return;
        }
        set_status(&link, Status::Connecting);
        let started = Instant::now();
        // Boxed: the connect (TLS handshake included) is large and brief;
        // a held connection should not carry its space.
        let connecting = Box::pin(open(&settings, &client_id));
        let opened = match timeout(settings.connect_timeout, connecting).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no CONNACK within {}",
                format_duration(settings.connect_timeout)
            )),
        };
        match opened {
            Err(why) => {
                let mut rec = recorder.borrow_mut();
                rec.failure(connect_stat, started.elapsed(), 0, &why, None);
                rec.connect_failed();
                drop(rec);
                set_status(&link, Status::Down(why));
            }
            Ok((stream, inbound, receive_max)) => {
                // Never more in flight than the broker takes (MQTT 5).
                link.shared.borrow_mut().window = settings
                    .max_inflight
                    .min(receive_max.map_or(usize::MAX, usize::from));
                {
                    let mut rec = recorder.borrow_mut();
                    rec.success(connect_stat, started.elapsed(), 0);
                    rec.connected(started.elapsed(), !first);
                }
                first = false;
                pause = MIN_PAUSE;
                resubscribe(&link);
                set_status(&link, Status::Up);
                let why = match stream {
                    Stream::Plain(tcp) => serve_plain(&link, &tcp, inbound, &recorder, user).await,
                    Stream::Tls(tls) => {
                        Box::pin(serve_tls(&link, *tls, inbound, &recorder, user)).await
                    }
                };
                if link.shared.borrow().closing {
                    return;
                }
                recorder.borrow_mut().connection_dropped();
                let lost = link.shared.borrow_mut().state.lost(&why);
                for e in lost {
                    let _ = apply(&link, e, &recorder, user);
                }
                set_status(&link, Status::Down(why));
            }
        }
        let until = Instant::now() + pause;
        while Instant::now() < until && !link.shared.borrow().closing {
            tokio::select! {
                _ = sleep_until(until) => {}
                _ = link.to_driver.notified() => {}
            }
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

fn set_status(link: &Link, status: Status) {
    link.shared.borrow_mut().status = status;
    link.to_user.notify_waiters();
}

/// After a reconnect, the subscriptions are made again.
fn resubscribe(link: &Link) {
    let mut s = link.shared.borrow_mut();
    let filters: Vec<(String, u8)> = s
        .subscriptions
        .iter()
        .map(|x| (x.filter.clone(), x.qos))
        .collect();
    if !filters.is_empty() {
        let _ = s.state.subscribe(&filters);
    }
}

/// A connected socket.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// TCP (and TLS) connect, CONNECT, CONNACK. Returns the socket and any
/// bytes read past the CONNACK, and the broker's Receive Maximum.
async fn open(
    settings: &Settings,
    client_id: &str,
) -> Result<(Stream, BytesMut, Option<u16>), String> {
    let b = &settings.broker;
    let tcp = TcpStream::connect((b.host.as_str(), b.port))
        .await
        .map_err(|e| connect_failure(&e).to_string())?;
    let _ = tcp.set_nodelay(true);
    let options = ConnectOptions {
        client_id: client_id.to_string(),
        keep_alive: u16::try_from(settings.keep_alive.as_secs()).unwrap_or(u16::MAX),
        clean: settings.clean,
        login: settings.login.clone(),
        will: settings.will.clone(),
    };
    let mut out = BytesMut::new();
    packet::connect(settings.version, &options, &mut out)?;
    let mut stream = match &settings.tls {
        Some(config) => Stream::Tls(Box::new(
            tls::connect(config.clone(), &b.host, tcp)
                .await
                .map_err(|e| format!("tls: {e}"))?,
        )),
        None => Stream::Plain(tcp),
    };
    let io_error = |e: io::Error| e.to_string();
    match &mut stream {
        Stream::Plain(s) => s.write_all(&out).await.map_err(io_error)?,
        Stream::Tls(s) => {
            s.write_all(&out).await.map_err(io_error)?;
            s.flush().await.map_err(io_error)?;
        }
    }
    let mut buf = BytesMut::with_capacity(READ);
    loop {
        let n = match &mut stream {
            Stream::Plain(s) => s.read_buf(&mut buf).await,
            Stream::Tls(s) => s.read_buf(&mut buf).await,
        }
        .map_err(io_error)?;
        if n == 0 {
            return Err("connection closed before CONNACK".into());
        }
        match packet::decode(settings.version, &mut buf)? {
            None => continue,
            Some(Incoming::ConnAck(Ok(receive_max))) => return Ok((stream, buf, receive_max)),
            Some(Incoming::ConnAck(Err(why))) => return Err(format!("CONNACK refused: {why}")),
            Some(other) => return Err(format!("expected CONNACK, got {other:?}")),
        }
    }
}
