//! Serving a connection once it is up: plain TCP reads and writes side by
//! side; TLS flushes its writes between reads.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant};
use tokio_rustls::client::TlsStream;

use super::events::{process, tick};
use super::READ;
use crate::metrics::Recorder;
use crate::protocols::mqtt::packet;
use crate::protocols::mqtt::session::{Link, UNSENT_LIMIT};

/// Serves a plain TCP connection until it fails or the session closes;
/// returns why it ended. Reads and writes proceed together, so a broker
/// slow to read never blocks the acks it sends.
pub(super) async fn serve_plain(
    link: &Link,
    tcp: &TcpStream,
    mut inbound: BytesMut,
    recorder: &Rc<RefCell<Recorder>>,
    user: u64,
) -> String {
    loop {
        if let Err(why) =
            process(link, &mut inbound, recorder, user).and_then(|()| tick(link, recorder, user))
        {
            return why;
        }
        let (closing, deadline) = {
            let s = link.shared.borrow();
            (s.closing, s.state.next_deadline())
        };
        if closing {
            let mut s = link.shared.borrow_mut();
            let version = s.state.version();
            packet::disconnect(version, &mut s.state.out);
            let _ = tcp.try_write(&s.state.out);
            return "closed".into();
        }
        match write_plain(link, tcp, recorder) {
            Ok(()) => {}
            Err(e) => return e,
        }
        let want_write = !link.shared.borrow().state.out.is_empty();
        let interest = if want_write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        tokio::select! {
            ready = tcp.ready(interest) => {
                let ready = match ready {
                    Ok(r) => r,
                    Err(e) => return e.to_string(),
                };
                if ready.is_readable() {
                    if inbound.capacity() - inbound.len() < READ / 2 {
                        inbound.reserve(READ);
                    }
                    match tcp.try_read_buf(&mut inbound) {
                        Ok(0) => return "closed by the broker".into(),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return e.to_string(),
                    }
                }
            }
            _ = link.to_driver.notified() => {}
            _ = sleep_until(deadline.unwrap_or_else(far)) => {}
        }
    }
}

/// An hour from now: the wake-up of a connection with nothing due.
fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// Writes as much of the queued bytes as the socket takes now.
fn write_plain(
    link: &Link,
    tcp: &TcpStream,
    recorder: &Rc<RefCell<Recorder>>,
) -> Result<(), String> {
    loop {
        let s = link.shared.borrow();
        if s.state.out.is_empty() {
            return Ok(());
        }
        match tcp.try_write(&s.state.out) {
            Ok(n) => {
                drop(s);
                wrote(link, recorder, n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Takes `n` written bytes off the queue: QoS 0 publishes they complete are
/// recorded, and a publish waiting for the socket to catch up is woken —
/// only then (a wake per write costs QoS 1 users, who wait for acks, a
/// fifth of their CPU).
fn wrote(link: &Link, recorder: &Rc<RefCell<Recorder>>, n: usize) {
    let mut s = link.shared.borrow_mut();
    let was_full = s.state.out.len() >= UNSENT_LIMIT;
    let done = s.state.wrote(n, Instant::now());
    let has_room = s.state.out.len() < UNSENT_LIMIT;
    drop(s);
    if was_full && has_room {
        link.to_user.notify_waiters();
    }
    let mut rec = recorder.borrow_mut();
    for (stat, took, bytes) in done {
        rec.success(stat, took, bytes);
    }
}

/// Serves a TLS connection (writes are flushed in full between reads).
pub(super) async fn serve_tls(
    link: &Link,
    stream: TlsStream<TcpStream>,
    mut inbound: BytesMut,
    recorder: &Rc<RefCell<Recorder>>,
    user: u64,
) -> String {
    let (mut rd, mut wr) = tokio::io::split(stream);
    loop {
        if let Err(why) =
            process(link, &mut inbound, recorder, user).and_then(|()| tick(link, recorder, user))
        {
            return why;
        }
        let (closing, deadline) = {
            let mut s = link.shared.borrow_mut();
            if s.closing {
                let version = s.state.version();
                packet::disconnect(version, &mut s.state.out);
            }
            (s.closing, s.state.next_deadline())
        };
        let data = link.shared.borrow().state.out.clone();
        if !data.is_empty() {
            if let Err(e) = async {
                wr.write_all(&data).await?;
                wr.flush().await
            }
            .await
            {
                return e.to_string();
            }
            wrote(link, recorder, data.len());
        }
        if closing {
            return "closed".into();
        }
        if inbound.capacity() - inbound.len() < READ / 2 {
            inbound.reserve(READ);
        }
        tokio::select! {
            r = rd.read_buf(&mut inbound) => match r {
                Ok(0) => return "closed by the broker".into(),
                Ok(_) => {}
                Err(e) => return e.to_string(),
            },
            _ = link.to_driver.notified() => {}
            _ = sleep_until(deadline.unwrap_or_else(far)) => {}
        }
    }
}
