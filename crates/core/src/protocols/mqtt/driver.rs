//! The driver of one MQTT connection: a task that owns the socket. It
//! connects (CONNECT → CONNACK, timed as the `connect` row), writes what
//! the steps queued, reads what the broker sends, keeps the connection
//! alive, times out unacknowledged publishes, and reconnects with a
//! growing pause when the connection drops.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_rustls::client::TlsStream;

use super::audit::{now_us, Stamp};
use super::packet::{self, ConnectOptions, Incoming};
use super::session::{keep, DriverAlive, Link, Status};
use super::settings::Settings;
use super::state::Event;
use super::topic::matches;
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
            Ok((stream, inbound)) => {
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
/// bytes read past the CONNACK.
async fn open(settings: &Settings, client_id: &str) -> Result<(Stream, BytesMut), String> {
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
            Some(Incoming::ConnAck(Ok(()))) => return Ok((stream, buf)),
            Some(Incoming::ConnAck(Err(why))) => return Err(format!("CONNACK refused: {why}")),
            Some(other) => return Err(format!("expected CONNACK, got {other:?}")),
        }
    }
}

/// Serves a plain TCP connection until it fails or the session closes;
/// returns why it ended. Reads and writes proceed together, so a broker
/// slow to read never blocks the acks it sends.
async fn serve_plain(
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
        let far = Instant::now() + Duration::from_secs(3600);
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
            _ = sleep_until(deadline.unwrap_or(far)) => {}
        }
    }
}

/// Writes as much of the queued bytes as the socket takes now.
fn write_plain(
    link: &Link,
    tcp: &TcpStream,
    recorder: &Rc<RefCell<Recorder>>,
) -> Result<(), String> {
    loop {
        let mut s = link.shared.borrow_mut();
        if s.state.out.is_empty() {
            return Ok(());
        }
        match tcp.try_write(&s.state.out) {
            Ok(n) => {
                let done = s.state.wrote(n, Instant::now());
                drop(s);
                let mut rec = recorder.borrow_mut();
                for (stat, took, bytes) in done {
                    rec.success(stat, took, bytes);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Serves a TLS connection (writes are flushed in full between reads).
async fn serve_tls(
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
            let done = link
                .shared
                .borrow_mut()
                .state
                .wrote(data.len(), Instant::now());
            let mut rec = recorder.borrow_mut();
            for (stat, took, bytes) in done {
                rec.success(stat, took, bytes);
            }
        }
        if closing {
            return "closed".into();
        }
        if inbound.capacity() - inbound.len() < READ / 2 {
            inbound.reserve(READ);
        }
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            r = rd.read_buf(&mut inbound) => match r {
                Ok(0) => return "closed by the broker".into(),
                Ok(_) => {}
                Err(e) => return e.to_string(),
            },
            _ = link.to_driver.notified() => {}
            _ = sleep_until(deadline.unwrap_or(far)) => {}
        }
    }
}

/// Handles every complete packet in `inbound`.
fn process(
    link: &Link,
    inbound: &mut BytesMut,
    recorder: &Rc<RefCell<Recorder>>,
    user: u64,
) -> Result<(), String> {
    let version = link.shared.borrow().state.version();
    while let Some(packet) = packet::decode(version, inbound)? {
        let event = link
            .shared
            .borrow_mut()
            .state
            .incoming(packet, Instant::now());
        if let Some(e) = event {
            apply(link, e, recorder, user)?;
        }
    }
    if inbound.is_empty() {
        // Idle connections hold no buffer.
        *inbound = BytesMut::new();
    }
    Ok(())
}

/// Timeouts and keep-alive.
fn tick(link: &Link, recorder: &Rc<RefCell<Recorder>>, user: u64) -> Result<(), String> {
    let now = Instant::now();
    let expired = {
        let mut s = link.shared.borrow_mut();
        s.state.keep_alive(now)?;
        s.state.expire(now)
    };
    for e in expired {
        apply(link, e, recorder, user)?;
    }
    Ok(())
}

/// Records what happened and wakes the user when it concerns it.
fn apply(
    link: &Link,
    event: Event,
    recorder: &Rc<RefCell<Recorder>>,
    user: u64,
) -> Result<(), String> {
    let now = Instant::now();
    let mut rec = recorder.borrow_mut();
    let mut s = link.shared.borrow_mut();
    match event {
        Event::Acked(p) => {
            rec.success(p.stat, now.duration_since(p.started), p.bytes);
            if let Some((topic, seq)) = &p.audit {
                rec.audit()
                    .sent
                    .entry((user, topic.clone()))
                    .or_default()
                    .acked
                    .insert(*seq);
            }
            if p.waited {
                s.outcomes.push((p.pkid, Ok(())));
            }
        }
        Event::Failed(p, why) => {
            rec.failure(p.stat, now.duration_since(p.started), p.bytes, &why, None);
            if p.waited {
                s.outcomes.push((p.pkid, Err(why)));
            }
        }
        Event::Message(m) => {
            let audited = s.subscriptions.iter().find(|x| {
                x.audit
                    .as_ref()
                    .is_some_and(|a| matches(&a.filter, &m.topic))
            });
            if let (Some(sub), Some(stamp)) = (audited, Stamp::of(&m)) {
                let topic = Arc::from(m.topic.as_str());
                rec.audit()
                    .received
                    .entry((user, stamp.publisher, topic))
                    .or_default()
                    .record(stamp.seq);
                if let Some(e2e) = sub.e2e {
                    let micros = now_us().saturating_sub(stamp.sent_us);
                    rec.success(e2e, Duration::from_micros(micros), m.payload.len() as u64);
                }
            }
            keep(&mut s, m);
        }
        Event::SubAck(pkid, granted) => s.subacks.push((pkid, granted)),
        Event::Disconnect(why) => return Err(format!("the broker disconnected: {why}")),
    }
    drop(s);
    link.to_user.notify_waiters();
    Ok(())
}
