//! HTTP handlers of the queue target (the table is in [`super`]).
//!
//! Paths, queries and bodies are taken raw and checked by
//! [`super::validate`], so that every malformed request is a JSON 400 naming
//! its field (never axum's plain-text 400/415/422), and validation happens
//! before the store is touched: a refused request writes nothing.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::error::StoreError;
use super::lease::now_ms;
use super::store::Popped;
use super::validate::{self, Invalid, MAX_TTL};
use super::QueueState;

/// Largest request body: a full batch of 10,000 items of a few KB each.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Builds the routes over `state`; the `/admin` ones only with `--admin`.
pub fn router(state: QueueState) -> Router {
    let mut router = Router::new()
        .route("/queues/{id}", delete(delete_queue))
        .route("/queues/{id}/push", post(push))
        .route("/queues/{id}/push_batch", post(push_batch))
        .route("/queues/{id}/pop", post(pop))
        .route("/queues/{id}/lease", post(lease))
        .route("/queues/{id}/stats", get(stats))
        .route("/leases/{id}/ack", post(ack))
        .route("/health", get(health))
        .route("/ingest/stats", get(ingest_stats))
        .route("/counters", get(counters));
    if state.config().admin {
        router = router
            .route("/admin/outage", post(outage))
            .route("/admin/reset", post(reset));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Why a request was not served, as a JSON answer.
#[derive(Debug)]
enum ApiError {
    /// 400 naming the field.
    Invalid(Invalid),
    /// 503 or 500 from the store.
    Store(StoreError),
    /// Any other status with a message.
    Status(StatusCode, String),
}

impl From<Invalid> for ApiError {
    /// A validation failure is a 400.
    fn from(e: Invalid) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<StoreError> for ApiError {
    /// A store failure is a 503 or 500.
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl IntoResponse for ApiError {
    /// `{"error": …}`, plus `"field"` for a 400.
    fn into_response(self) -> Response {
        match self {
            ApiError::Invalid(e) => (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": e.error, "field": e.field})),
            )
                .into_response(),
            ApiError::Store(e) => {
                (e.status(), Json(json!({"error": e.to_string()}))).into_response()
            }
            ApiError::Status(status, error) => {
                (status, Json(json!({"error": error}))).into_response()
            }
        }
    }
}

/// What every handler returns.
type Reply = Result<Response, ApiError>;

/// The queue id of the path, checked.
fn queue(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) =
        path.map_err(|e| Invalid::new("queue", format!("invalid path: {}", e.body_text())))?;
    validate::queue_id(&id)?;
    Ok(id)
}

/// The query parameters; a malformed query string is the `query` field's fault.
fn params(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    match query {
        Ok(Query(q)) => Ok(q),
        Err(e) => {
            Err(Invalid::new("query", format!("invalid query string: {}", e.body_text())).into())
        }
    }
}

/// The body bytes; one too large is a 413, one that could not be read a 400.
fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::Status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} MB", BODY_LIMIT >> 20),
        ),
        _ => Invalid::new("body", format!("cannot read the body: {}", e.body_text())).into(),
    })
}

/// Sleeps for `--delay`, if set: the injected regression.
async fn delay(state: &QueueState) {
    if let Some(d) = state.config().delay {
        tokio::time::sleep(d).await;
    }
}

/// An item as pop and lease show it.
#[derive(Debug, Serialize)]
struct ItemView {
    /// The object pushed, as pushed.
    item: Box<RawValue>,
    /// Its priority.
    priority: i32,
    /// Its id.
    id: i64,
}

/// The items as JSON; a stored item that is not JSON (only possible if the
/// table was written by something else) is a 500.
fn views(items: Vec<Popped>) -> Result<Vec<ItemView>, ApiError> {
    items
        .into_iter()
        .map(|p| {
            let item = RawValue::from_string(p.item).map_err(|e| {
                ApiError::Store(StoreError::Failed(format!(
                    "item {} is not JSON: {e}",
                    p.id
                )))
            })?;
            Ok(ItemView {
                item,
                priority: p.priority,
                id: p.id,
            })
        })
        .collect()
}

/// `POST /queues/{id}/push`.
async fn push(
    State(state): State<QueueState>,
    path: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    delay(&state).await;
    let queue = queue(path)?;
    let item = validate::push_body(&body(bytes)?)?;
    let id = state.store().push(&queue, &item).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `POST /queues/{id}/push_batch`: all items in one transaction.
async fn push_batch(
    State(state): State<QueueState>,
    path: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    delay(&state).await;
    let queue = queue(path)?;
    let items = validate::batch_body(&body(bytes)?)?;
    let pushed = state.store().push_batch(&queue, &items).await?;
    Ok((StatusCode::CREATED, Json(json!({ "pushed": pushed }))).into_response())
}

/// `POST /queues/{id}/pop?depth=N`.
async fn pop(
    State(state): State<QueueState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Reply {
    delay(&state).await;
    let queue = queue(path)?;
    let params = params(query)?;
    let depth = validate::depth(params.get("depth").map(String::as_str))?;
    let items = state.store().pop(&queue, depth, now_ms()).await?;
    Ok(Json(json!({ "items": views(items)? })).into_response())
}

/// `POST /queues/{id}/lease?depth=N&ttl=30s`.
async fn lease(
    State(state): State<QueueState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Reply {
    delay(&state).await;
    let queue = queue(path)?;
    let params = params(query)?;
    let depth = validate::depth(params.get("depth").map(String::as_str))?;
    let ttl = validate::ttl(params.get("ttl").map(String::as_str))?;
    let leased = state.store().lease(&queue, depth, now_ms(), ttl).await?;
    Ok(Json(json!({
        "lease_id": leased.id.map(|id| id.to_string()),
        "ttl_ms": ttl.as_millis() as u64,
        "items": views(leased.items)?,
    }))
    .into_response())
}

/// `POST /leases/{id}/ack`: deletes the lease's items.
async fn ack(State(state): State<QueueState>, path: Result<Path<String>, PathRejection>) -> Reply {
    let Path(raw) =
        path.map_err(|e| Invalid::new("lease", format!("invalid path: {}", e.body_text())))?;
    let id = validate::lease_id(&raw)?;
    match state.store().ack(id, now_ms()).await? {
        0 => Err(ApiError::Status(
            StatusCode::NOT_FOUND,
            format!("no lease {id}: unknown, already acked, or expired (its items are back in the queue)"),
        )),
        acked => Ok(Json(json!({ "acked": acked })).into_response()),
    }
}

/// `GET /queues/{id}/stats`.
async fn stats(
    State(state): State<QueueState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    let queue = queue(path)?;
    let stats = state.store().stats(&queue, now_ms()).await?;
    Ok(Json(stats).into_response())
}

/// `DELETE /queues/{id}`: empties one queue, leased items included.
async fn delete_queue(
    State(state): State<QueueState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    let queue = queue(path)?;
    let deleted = state.store().delete_queue(&queue).await?;
    Ok(Json(json!({ "queue": queue, "deleted": deleted })).into_response())
}

/// `GET /health`: 200 when the store answers, 503 otherwise.
async fn health(State(state): State<QueueState>) -> Response {
    match state.store().ping().await {
        Ok(()) => Json(json!({
            "status": "ok",
            "store": state.config().database.to_string(),
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// `GET /counters`: items delivered and consumed over every queue.
async fn counters(State(state): State<QueueState>) -> Response {
    Json(state.store().counters()).into_response()
}

/// `GET /ingest/stats`: the MQTT ingestion counters.
async fn ingest_stats(State(state): State<QueueState>) -> Response {
    Json(state.ingest_stats()).into_response()
}

/// `POST /admin/outage?for=5s`: the store is unavailable for that long
/// (`for=0s` ends an outage early).
async fn outage(
    State(state): State<QueueState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Reply {
    let params = params(query)?;
    let bad = || {
        Invalid::new(
            "for",
            "'for' must be a duration such as 500ms, 5s or 1m, at most 1h",
        )
    };
    let length = params
        .get("for")
        .and_then(|v| validate::duration(v))
        .filter(|d| *d <= MAX_TTL)
        .ok_or_else(bad)?;
    state.store().outage().start(length);
    Ok(Json(json!({ "outage_ms": length.as_millis() as u64 })).into_response())
}

/// `POST /admin/reset`: empties every queue.
async fn reset(State(state): State<QueueState>) -> Reply {
    let deleted = state.store().reset().await?;
    Ok(Json(json!({ "deleted": deleted })).into_response())
}

/// Any other path: a JSON 404 naming it.
async fn not_found(uri: Uri) -> Response {
    ApiError::Status(
        StatusCode::NOT_FOUND,
        format!("no route for {}", uri.path()),
    )
    .into_response()
}

/// A known path with the wrong method: a JSON 405.
async fn method_not_allowed(uri: Uri) -> Response {
    ApiError::Status(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed for {}", uri.path()),
    )
    .into_response()
}
