//! A small HTTP server for the end-to-end tests, on a free loopback port,
//! that records what it received.
//!
//! Routes:
//! - `GET /ok` → 200 `ok`
//! - `GET /status/{code}` → that status
//! - `POST /items` → 201 `{"id": "item-N"}` with `Location: /items/item-N`
//! - `GET /items/{id}` → 200 `{"id": id}`
//! - `GET /slow/{ms}` → 200 after `ms` milliseconds
//! - `GET /close` → 200; every third response carries `Connection: close`
//! - `ANY /echo` → 200, the request as JSON
//! - `GET /log` → 200 (the query is recorded)
//! - `GET /chunked` → 200, a body of 3 × 1000 bytes in chunked encoding
//! - `POST /login` → 200, sets cookie `session=s-N`
//! - `GET /whoami` → 200, the `Cookie` header it received (or `nobody`)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Headers, lowercase names.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Seen>>,
    items: AtomicU64,
    closes: AtomicU64,
}

/// The running server; stops on drop.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
    /// Serving until dropped.
    _served: Served,
}

impl TestServer {
    /// Starts the server on a free port.
    pub fn start() -> TestServer {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route("/status/{code}", get(status))
            .route("/items", post(create_item))
            .route(
                "/items/{id}",
                get(|Path(id): Path<String>| async move { Json(serde_json::json!({ "id": id })) }),
            )
            .route("/slow/{ms}", get(slow))
            .route("/close", get(close))
            .route("/echo", any(echo))
            .route("/log", get(|| async { "logged" }))
            .route("/chunked", get(chunked))
            .route("/login", post(login))
            .route("/whoami", get(whoami))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
            .with_state(shared.clone());
        let served = Served::start(app);
        TestServer {
            url: served.url.clone(),
            shared,
            _served: served,
        }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("lock").clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn seen_at(&self, prefix: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.uri.starts_with(prefix))
            .collect()
    }
}

/// An axum app served on a free loopback port by a thread of its own,
/// until dropped.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    /// Serves `app` on a free port.
    pub fn start(app: Router) -> Served {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Served {
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    shared.seen.lock().expect("lock").push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

async fn status(Path(code): Path<u16>) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

async fn create_item(State(shared): State<Arc<Shared>>) -> Response {
    let n = shared.items.fetch_add(1, Ordering::SeqCst);
    let id = format!("item-{n}");
    (
        StatusCode::CREATED,
        [("location", format!("/items/{id}"))],
        Json(serde_json::json!({ "id": id })),
    )
        .into_response()
}

async fn slow(Path(ms): Path<u64>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slow"
}

async fn close(State(shared): State<Arc<Shared>>) -> Response {
    let n = shared.closes.fetch_add(1, Ordering::SeqCst) + 1;
    if n % 3 == 0 {
        ([("connection", "close")], "closing").into_response()
    } else {
        "open".into_response()
    }
}

async fn echo(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Json<serde_json::Value> {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v.to_str().unwrap_or(""))))
        .collect();
    Json(serde_json::json!({
        "method": method.to_string(),
        "uri": uri.to_string(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

async fn chunked() -> axum::body::Body {
    let parts = (0..3).map(|i| Ok::<_, std::io::Error>(Bytes::from(vec![b'a' + i; 1000])));
    axum::body::Body::from_stream(futures_util::stream::iter(parts))
}

async fn login(State(shared): State<Arc<Shared>>) -> Response {
    let n = shared.items.fetch_add(1, Ordering::SeqCst);
    (
        [("set-cookie", format!("session=s-{n}; Path=/; HttpOnly"))],
        "welcome",
    )
        .into_response()
}

async fn whoami(headers: HeaderMap) -> String {
    headers
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("nobody")
        .to_string()
}
