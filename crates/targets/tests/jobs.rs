//! End-to-end tests of the jobs target over real HTTP/1.1 on loopback.
//!
//! Nothing here asserts timings: progress is awaited with bounded polling
//! loops and only counts and states are checked.

use std::net::SocketAddr;
use std::time::Duration;

use cicada_targets::jobs::{serve, JobsConfig};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound on any polling loop: generous, so a slow machine cannot fail a
/// test, yet finite, so a broken worker cannot hang one.
const POLL_LIMIT: usize = 1000;
const POLL_EVERY: Duration = Duration::from_millis(10);

/// A running server and the means to stop it.
struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(completion_rate: f64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let config = JobsConfig { completion_rate };
        let task = tokio::spawn(serve(listener, config, async move {
            let _ = stopped.await;
        }));
        Self { addr, stop, task }
    }

    /// One request on a fresh connection: status, `Location` and JSON body.
    async fn call(
        &self,
        method: Method,
        path: &str,
    ) -> (StatusCode, Option<String>, serde_json::Value) {
        let stream = TcpStream::connect(self.addr).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.addr.to_string())
            .body(Empty::<Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("response");
        let status = response.status();
        let location = response
            .headers()
            .get(hyper::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let json = serde_json::from_slice(&bytes).expect("JSON body");
        (status, location, json)
    }

    async fn submit(&self, message: &str) -> String {
        let (status, _, body) = self
            .call(Method::POST, &format!("/jobs?message={message}"))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        body["id"].as_str().expect("id").to_owned()
    }

    async fn stats(&self) -> serde_json::Value {
        let (status, _, body) = self.call(Method::GET, "/stats").await;
        assert_eq!(status, StatusCode::OK);
        body
    }

    async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.task.await.expect("server task")
    }
}

#[tokio::test]
async fn post_returns_201_with_id_and_location() {
    let server = Server::start(10.0).await;
    let (status, location, body) = server.call(Method::POST, "/jobs?message=hi").await;
    assert_eq!(status, StatusCode::CREATED);
    let id = body["id"].as_str().expect("id");
    let uuid = uuid::Uuid::parse_str(id).expect("uuid");
    assert_eq!(uuid.get_version_num(), 4);
    assert_eq!(body["status"], "new");
    assert_eq!(location, Some(format!("/jobs/{id}")));
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn job_goes_from_new_to_done() {
    // A slow first look, then a fast worker: start at a rate low enough that
    // the first GET certainly sees `new`, on a separate server from the one
    // that completes.
    let slow = Server::start(0.001).await;
    let id = slow.submit("slow").await;
    let (status, _, body) = slow.call(Method::GET, &format!("/jobs/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["status"], "new");
    assert_eq!(body["message"], "slow");
    slow.shutdown().await.expect("clean shutdown");

    let fast = Server::start(1000.0).await;
    let id = fast.submit("fast").await;
    let mut last = serde_json::Value::Null;
    for _ in 0..POLL_LIMIT {
        let (status, _, body) = fast.call(Method::GET, &format!("/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        last = body;
        if last["status"] == "done" {
            break;
        }
        assert_eq!(last["status"], "new");
        tokio::time::sleep(POLL_EVERY).await;
    }
    assert_eq!(last["status"], "done", "job never completed: {last}");
    assert_eq!(last["message"], "fast");
    fast.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn unknown_id_is_a_json_404() {
    let server = Server::start(10.0).await;
    let unknown = uuid::Uuid::new_v4();
    let (status, _, body) = server.call(Method::GET, &format!("/jobs/{unknown}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], format!("no job with id {unknown}"));
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn stats_counts_are_consistent() {
    let server = Server::start(0.001).await;
    let fresh = server.stats().await;
    assert_eq!(fresh["submitted"], 0);
    assert_eq!(fresh["completed"], 0);
    assert_eq!(fresh["queue_depth"], 0);
    assert_eq!(fresh["completion_rate"], 0.001);
    for i in 0..5 {
        server.submit(&format!("m{i}")).await;
    }
    let stats = server.stats().await;
    assert_eq!(stats["submitted"], 5);
    let completed = stats["completed"].as_u64().expect("completed");
    let depth = stats["queue_depth"].as_u64().expect("queue_depth");
    assert_eq!(completed + depth, 5, "{stats}");
    server.shutdown().await.expect("clean shutdown");

    let server = Server::start(2000.0).await;
    for i in 0..50 {
        server.submit(&format!("m{i}")).await;
    }
    let mut stats = serde_json::Value::Null;
    for _ in 0..POLL_LIMIT {
        stats = server.stats().await;
        let completed = stats["completed"].as_u64().expect("completed");
        let depth = stats["queue_depth"].as_u64().expect("queue_depth");
        assert_eq!(stats["submitted"], 50);
        assert_eq!(completed + depth, 50, "{stats}");
        if completed == 50 {
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    assert_eq!(stats["completed"], 50, "queue never drained: {stats}");
    assert_eq!(stats["queue_depth"], 0);
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn concurrent_clients_all_get_distinct_jobs() {
    let server = std::sync::Arc::new(Server::start(0.001).await);
    let mut tasks = Vec::new();
    for c in 0..16 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..10 {
                ids.push(server.submit(&format!("c{c}-{i}")).await);
            }
            ids
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.extend(task.await.expect("client task"));
    }
    assert_eq!(ids.len(), 160);
    assert_eq!(server.stats().await["submitted"], 160);
    let server = std::sync::Arc::into_inner(server).expect("sole owner");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn health_is_ok() {
    let server = Server::start(10.0).await;
    let (status, _, body) = server.call(Method::GET, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn graceful_shutdown_returns_ok_and_closes_the_port() {
    let server = Server::start(10.0).await;
    let addr = server.addr;
    server.submit("before").await;
    server.shutdown().await.expect("clean shutdown");
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}
