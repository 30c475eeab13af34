//! HTTP handlers of the job server. Each handler takes the store lock once,
//! copies what it needs and lets go before building the response, so no lock
//! is ever held across an await.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::store::JobStatus;
use super::{JobsState, JobsStats};

/// Builds the job server's routes over `state`, so it can be served by
/// [`serve`](super::serve) or driven directly in tests.
pub fn router(state: JobsState) -> Router {
    Router::new()
        .route("/jobs", post(submit))
        .route("/jobs/{id}", get(job))
        .route("/stats", get(stats))
        .route("/health", get(health))
        .fallback(not_found)
        .with_state(state)
}

/// Query string of `POST /jobs`.
#[derive(Debug, Deserialize)]
struct SubmitQuery {
    /// Free text stored with the job; empty when absent.
    #[serde(default)]
    message: Option<String>,
}

/// Body of the `POST /jobs` answer.
#[derive(Debug, Serialize)]
struct Submitted {
    /// The new job's id.
    id: String,
    /// Always `new`.
    status: JobStatus,
}

/// Body of the `GET /jobs/{id}` answer.
#[derive(Debug, Serialize)]
struct JobView {
    /// The job's id.
    id: String,
    /// `new` or `done`.
    status: JobStatus,
    /// The submitted message.
    message: String,
}

/// Body of every error answer, so clients always get JSON.
#[derive(Debug, Serialize)]
struct ErrorBody {
    /// What went wrong, in words.
    error: String,
}

/// A JSON error answer with the given status.
fn error(status: StatusCode, message: String) -> Response {
    (status, Json(ErrorBody { error: message })).into_response()
}

/// `POST /jobs?message=…`: queues a job and says where to poll it.
async fn submit(
    State(state): State<JobsState>,
    query: Result<Query<SubmitQuery>, QueryRejection>,
) -> Response {
    let message = match query {
        Ok(Query(q)) => q.message.unwrap_or_default(),
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid query string: {}", rejection.body_text()),
            )
        }
    };
    let id = state.submit(message).to_string();
    let location = format!("/jobs/{id}");
    let body = Submitted {
        id,
        status: JobStatus::New,
    };
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// `GET /jobs/{id}`: the job's status, or 404 for an unknown or malformed id.
async fn job(State(state): State<JobsState>, Path(raw): Path<String>) -> Response {
    let found = Uuid::parse_str(&raw)
        .ok()
        .and_then(|id| state.job(&id).map(|job| (id, job)));
    match found {
        Some((id, job)) => Json(JobView {
            id: id.to_string(),
            status: job.status,
            message: job.message,
        })
        .into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no job with id {raw}")),
    }
}

/// `GET /stats`: the backlog and counters.
async fn stats(State(state): State<JobsState>) -> Json<JobsStats> {
    Json(state.stats())
}

/// Body of `GET /health`.
#[derive(Debug, Serialize)]
struct Health {
    /// Always `ok` while the server answers.
    status: &'static str,
}

/// `GET /health`: liveness for scripts waiting on the target to start.
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Any other path: a JSON 404 naming it.
async fn not_found(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no route for {}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobsConfig;
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(
        state: &JobsState,
        method: Method,
        uri: &str,
    ) -> (StatusCode, Option<String>, serde_json::Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let response = router(state.clone())
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
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

    fn state() -> JobsState {
        JobsState::new(JobsConfig::default())
    }

    #[tokio::test]
    async fn submit_without_message_stores_an_empty_one() {
        let state = state();
        let (status, location, body) = call(&state, Method::POST, "/jobs").await;
        assert_eq!(status, StatusCode::CREATED);
        let id = body["id"].as_str().expect("id");
        assert_eq!(body["status"], "new");
        assert_eq!(location.as_deref(), Some(format!("/jobs/{id}").as_str()));
        let (status, _, body) = call(&state, Method::GET, &format!("/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["message"], "");
        assert_eq!(body["status"], "new");
    }

    #[tokio::test]
    async fn submit_decodes_the_message() {
        let state = state();
        let (_, location, _) = call(&state, Method::POST, "/jobs?message=hello%20world").await;
        let location = location.expect("location");
        let (_, _, body) = call(&state, Method::GET, &location).await;
        assert_eq!(body["message"], "hello world");
    }

    #[tokio::test]
    async fn unknown_and_malformed_ids_are_json_404s() {
        let state = state();
        let unknown = Uuid::new_v4();
        let (status, _, body) = call(&state, Method::GET, &format!("/jobs/{unknown}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], format!("no job with id {unknown}"));
        let (status, _, body) = call(&state, Method::GET, "/jobs/not-a-uuid").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "no job with id not-a-uuid");
    }

    #[tokio::test]
    async fn other_paths_are_json_404s() {
        let (status, _, body) = call(&state(), Method::GET, "/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "no route for /nope");
    }

    #[tokio::test]
    async fn stats_and_health_answer_json() {
        let state = state();
        call(&state, Method::POST, "/jobs?message=a").await;
        let (status, _, body) = call(&state, Method::GET, "/stats").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["submitted"], 1);
        assert_eq!(body["completed"], 0);
        assert_eq!(body["queue_depth"], 1);
        assert_eq!(body["completion_rate"], 10.0);
        let (status, _, body) = call(&state, Method::GET, "/health").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ok");
    }
}
