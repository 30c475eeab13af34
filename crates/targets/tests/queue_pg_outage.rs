//! A PostgreSQL outage, for real: the target reaches the server through a
//! loopback proxy that the test cuts (every connection dropped, new ones
//! closed at once) and restores. While cut, requests get a JSON 503; once
//! restored, the target recovers by itself. Runs when
//! `CICADA_TEST_POSTGRES` holds a URL, skipped with a note otherwise.

mod queue_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cicada_targets::queue::{Database, QueueConfig};
use hyper::{Method, StatusCode};
use queue_support::{Backend, Server};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy to `upstream` that can be cut and restored.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped on every cut, so forwarding tasks drop their connections.
    cuts: watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let (accept_up, accept_cuts) = (up.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut = accept_cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, up, cuts }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `url` with its host:port replaced by `addr`, and the host:port it had.
fn through(url: &str, addr: std::net::SocketAddr) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (user, rest) = match rest.rsplit_once('@') {
        Some((user, rest)) => (format!("{user}@"), rest),
        None => (String::new(), rest),
    };
    let (host, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let upstream = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    (format!("{scheme}://{user}{addr}{path}"), upstream)
}

async fn push(s: &Server) -> (StatusCode, serde_json::Value) {
    s.call(
        Method::POST,
        "/queues/pg/push",
        r#"{"item": {}, "priority": 0}"#,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_gives_503s_and_the_target_recovers_by_itself() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let Database::Postgres(url) = &backend.config.database else {
        unreachable!()
    };
    let (_, upstream) = through(url, "127.0.0.1:1".parse().expect("addr"));
    let proxy = Proxy::start(upstream).await;
    let (proxied, _) = through(url, proxy.addr);
    let s = Server::start(QueueConfig {
        database: Database::Postgres(proxied),
        ..backend.config.clone()
    })
    .await;
    assert_eq!(push(&s).await.0, StatusCode::CREATED);

    proxy.cut();
    let deadline = Instant::now() + Duration::from_secs(30);
    let down = loop {
        let (status, body) = push(&s).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            break body;
        }
        assert_eq!(status, StatusCode::CREATED, "only 201 or 503: {body}");
        assert!(
            Instant::now() < deadline,
            "no 503 while the database is cut off"
        );
    };
    assert!(
        down["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("store unavailable")),
        "{down}"
    );
    let (status, _) = s.call(Method::GET, "/health", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = push(&s).await;
        if status == StatusCode::CREATED {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(Instant::now() < deadline, "the target did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = s.call(Method::GET, "/health", "").await;
    assert_eq!(status, StatusCode::OK);
    s.stop().await;
    // The test's table is dropped through a direct connection.
    let cleanup = backend.open().await;
    backend.finish(&cleanup).await;
}

#[test]
fn urls_are_rewritten_to_the_proxy() {
    let addr: std::net::SocketAddr = "127.0.0.1:9".parse().expect("addr");
    assert_eq!(
        through("postgres://postgres@127.0.0.1:5432/test", addr),
        (
            "postgres://postgres@127.0.0.1:9/test".to_string(),
            "127.0.0.1:5432".to_string()
        )
    );
    assert_eq!(
        through("postgresql://db/q?sslmode=disable", addr).0,
        "postgresql://127.0.0.1:9/q?sslmode=disable"
    );
}
