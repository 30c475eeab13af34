//! Shared helpers of the queue target's tests: the stores to run against
//! (SQLite in memory, an SQLite file, and PostgreSQL when
//! `CICADA_TEST_POSTGRES` holds a URL) and the target served on loopback
//! with a small HTTP/1.1 client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use cicada_targets::queue::{Database, QueueConfig, QueueService, QueueState, Store};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The environment variable naming a PostgreSQL server for the tests.
pub const PG_ENV: &str = "CICADA_TEST_POSTGRES";

/// One database to run a test against, cleaned up by [`Backend::finish`]
/// (a temp SQLite file is removed on drop in any case).
pub struct Backend {
    /// What the test names in its messages.
    pub name: &'static str,
    /// The database and a table of the test's own.
    pub config: QueueConfig,
    /// Holds a temp SQLite file's folder.
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    /// SQLite in memory.
    pub fn memory() -> Backend {
        Backend {
            name: "sqlite memory",
            config: QueueConfig {
                database: Database::SqliteMemory,
                ..QueueConfig::default()
            },
            _dir: None,
        }
    }

    /// An SQLite file in a fresh temp folder.
    pub fn file() -> Backend {
        let dir = tempfile::tempdir().expect("temp dir");
        Backend {
            name: "sqlite file",
            config: QueueConfig {
                database: Database::SqliteFile(dir.path().join("queue.db")),
                ..QueueConfig::default()
            },
            _dir: Some(dir),
        }
    }

    /// PostgreSQL from `CICADA_TEST_POSTGRES`, in a table of this test's
    /// own so parallel tests never meet; `None` (with a note) when unset.
    pub fn postgres() -> Option<Backend> {
        let Ok(url) = std::env::var(PG_ENV) else {
            eprintln!("note: {PG_ENV} is not set, so the PostgreSQL store tests are skipped");
            return None;
        };
        let unique = uuid::Uuid::new_v4().simple().to_string();
        Some(Backend {
            name: "postgres",
            config: QueueConfig {
                database: Database::Postgres(url),
                table: format!("cicada_test_{}", &unique[..16]),
                ..QueueConfig::default()
            },
            _dir: None,
        })
    }

    /// SQLite in memory, an SQLite file, and PostgreSQL when configured.
    pub fn all() -> Vec<Backend> {
        let mut all = vec![Backend::memory(), Backend::file()];
        all.extend(Backend::postgres());
        all
    }

    /// Opens the store.
    pub async fn open(&self) -> Store {
        Store::open(&self.config.database, &self.config.table)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// Drops a PostgreSQL test table and closes the store.
    pub async fn finish(&self, store: &Store) {
        if matches!(self.config.database, Database::Postgres(_)) {
            store.drop_table().await.expect("drop the test table");
        }
        store.close().await;
    }
}

/// Upper bound of every polling loop: generous for a slow machine, finite
/// so that a broken target fails instead of hanging.
pub const POLL_LIMIT: usize = 500;
/// Pause between polls.
pub const POLL_EVERY: Duration = Duration::from_millis(20);

/// The queue target served on a free loopback port, stopped by [`Server::stop`].
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its shared state (the store).
    pub state: QueueState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), cicada_targets::queue::QueueError>>,
}

impl Server {
    /// Opens `config` and serves it (sweeper and ingestion included).
    pub async fn start(config: QueueConfig) -> Server {
        let service = QueueService::open(config).await.expect("the store opens");
        let state = service.state().clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(service.serve(listener, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            state,
            stop,
            task,
        }
    }

    /// One request on a fresh connection: the status and the JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: &str,
    ) -> (StatusCode, serde_json::Value) {
        call(self.addr, method, path, body).await
    }

    /// Stops serving and waits for the target to close its store.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("joined").expect("served");
    }
}

/// One request to `addr` on a fresh connection: status and JSON body.
pub async fn call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, json)
}

/// The ids of a pop or lease answer's items, in order.
pub fn ids(answer: &serde_json::Value) -> Vec<i64> {
    answer["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {answer}"))
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}
