//! A stand-in for the queue target's bulk-load routes, for the
//! prepopulator's tests: it stores what `push_batch` receives per queue,
//! answers `stats` with the depth, and can fail or lose on purpose.
//!
//! Routes:
//! - `POST /queues/{id}/push_batch` `{"items":[{"item":{…},"priority":p},…]}`
//!   → 201 `{"pushed": n}` (503 while `fail_first` lasts; 400 when an entry
//!   has no object `item` or no integer `priority` 0..=9)
//! - `GET /queues/{id}/stats` → 200 `{"queue", "depth", "by_priority"}`

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::common::server::Served;

/// How the fake misbehaves.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// The first this many `push_batch` requests get 503 (`u64::MAX`: all).
    pub fail_first: u64,
    /// The first this many accepted batches are answered 201 but not
    /// stored (a target that loses writes).
    pub lose_first: u64,
    /// Items already in queues before the test: (queue, count).
    pub initial: Vec<(String, u64)>,
}

/// One stored item.
#[derive(Clone, Debug)]
pub struct Stored {
    /// Its `seq` field.
    pub seq: u64,
    /// Its priority.
    pub priority: u64,
    /// Its size as JSON, bytes.
    pub size: usize,
}

#[derive(Default)]
struct Shared {
    behaviour: Mutex<Behaviour>,
    queues: Mutex<HashMap<String, Vec<Stored>>>,
    failures_sent: Mutex<u64>,
    batches: Mutex<u64>,
}

/// The running fake; stops on drop.
pub struct FakeQueue {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
    /// Serving until dropped.
    _served: Served,
}

impl FakeQueue {
    /// Starts the fake on a free port.
    pub fn start(behaviour: Behaviour) -> FakeQueue {
        let shared = Arc::new(Shared::default());
        {
            let mut queues = shared.queues.lock().expect("lock");
            for (q, n) in &behaviour.initial {
                let items = (0..*n).map(|seq| Stored {
                    seq,
                    priority: 0,
                    size: 0,
                });
                queues.entry(q.clone()).or_default().extend(items);
            }
        }
        *shared.behaviour.lock().expect("lock") = behaviour;
        let app = Router::new()
            .route("/queues/{id}/push_batch", post(push_batch))
            .route("/queues/{id}/stats", get(stats))
            .with_state(shared.clone());
        let served = Served::start(app);
        FakeQueue {
            url: served.url.clone(),
            shared,
            _served: served,
        }
    }

    /// The items stored in `queue`, in arrival order.
    pub fn items(&self, queue: &str) -> Vec<Stored> {
        let queues = self.shared.queues.lock().expect("lock");
        queues.get(queue).cloned().unwrap_or_default()
    }

    /// How many 503s were sent.
    pub fn failures_sent(&self) -> u64 {
        *self.shared.failures_sent.lock().expect("lock")
    }

    /// How many batches were accepted (stored or lost).
    pub fn batches(&self) -> u64 {
        *self.shared.batches.lock().expect("lock")
    }
}

async fn push_batch(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    {
        let mut behaviour = shared.behaviour.lock().expect("lock");
        if behaviour.fail_first > 0 {
            behaviour.fail_first -= 1;
            *shared.failures_sent.lock().expect("lock") += 1;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "store unavailable"})),
            );
        }
    }
    let parsed: Option<Vec<Stored>> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("items").and_then(Value::as_array).cloned())
        .and_then(|entries| entries.iter().map(entry).collect());
    let Some(items) = parsed else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "items: expected a list of {item, priority}"})),
        );
    };
    let n = items.len();
    *shared.batches.lock().expect("lock") += 1;
    let lose = {
        let mut behaviour = shared.behaviour.lock().expect("lock");
        let lose = behaviour.lose_first > 0;
        behaviour.lose_first = behaviour.lose_first.saturating_sub(1);
        lose
    };
    if !lose {
        let mut queues = shared.queues.lock().expect("lock");
        queues.entry(id).or_default().extend(items);
    }
    (StatusCode::CREATED, Json(json!({ "pushed": n })))
}

/// One `{"item": {…}, "priority": p}` entry, if valid.
fn entry(e: &Value) -> Option<Stored> {
    let item = e.get("item").filter(|i| i.is_object())?;
    let priority = e
        .get("priority")
        .and_then(Value::as_u64)
        .filter(|p| *p <= 9)?;
    Some(Stored {
        seq: item.get("seq").and_then(Value::as_u64).unwrap_or(u64::MAX),
        priority,
        size: serde_json::to_vec(item).map_or(0, |b| b.len()),
    })
}

async fn stats(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Json<Value> {
    let queues = shared.queues.lock().expect("lock");
    let items = queues.get(&id).map(Vec::as_slice).unwrap_or_default();
    let mut by_priority = serde_json::Map::new();
    for p in 0..=9u64 {
        let n = items.iter().filter(|i| i.priority == p).count();
        if n > 0 {
            by_priority.insert(p.to_string(), json!(n));
        }
    }
    Json(json!({ "queue": id, "depth": items.len(), "by_priority": by_priority }))
}
