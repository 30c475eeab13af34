//! The job server of seed 001: an endpoint that looks fast while its queue drowns.
//!
//! `POST /jobs` accepts a job in microseconds and returns its id; a single
//! background worker completes jobs in FIFO order at a fixed
//! [`completion_rate`](JobsConfig::completion_rate). Clients that submit faster
//! than that see flat request latency while the backlog (`GET /stats`,
//! `queue_depth`) and the time until `GET /jobs/{id}` says `done` grow without
//! bound: exactly what cicada's submit→completed metric and backlog warning
//! are meant to reveal.
//!
//! | Method and path         | Answer                                                    |
//! |-------------------------|-----------------------------------------------------------|
//! | `POST /jobs?message=…`  | 201, `{"id","status":"new"}`, `Location: /jobs/<id>`      |
//! | `GET /jobs/{id}`        | 200 `{"id","status","message"}`, or 404 `{"error"}`       |
//! | `GET /stats`            | 200 `{"queue_depth","submitted","completed","completion_rate"}` |
//! | `GET /health`           | 200 `{"status":"ok"}`                                     |

mod routes;
mod store;
mod worker;

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use routes::router;
use store::{Job, Store};

/// Settings of the job server, so the binary and tests can choose how fast
/// the worker drains the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct JobsConfig {
    /// Jobs the worker completes per second, on average; fractional rates
    /// such as 0.5 (one job every two seconds) are fine. Must be finite and
    /// greater than zero (see [`JobsConfig::validate`]).
    pub completion_rate: f64,
}

impl Default for JobsConfig {
    /// Ten jobs per second: slow enough that a modest load test builds a
    /// visible backlog, fast enough that a single user is served promptly.
    fn default() -> Self {
        Self {
            completion_rate: 10.0,
        }
    }
}

impl JobsConfig {
    /// Checks the settings before anything is started, so a bad rate is
    /// reported to the user instead of producing a worker that never (or
    /// instantly) completes jobs.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rate = self.completion_rate;
        if rate.is_finite() && rate > 0.0 {
            Ok(())
        } else {
            Err(ConfigError::CompletionRate(rate))
        }
    }
}

/// Why a [`JobsConfig`] was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The completion rate is zero, negative, infinite or NaN.
    #[error(
        "invalid completion_rate {0}: expected a finite number of jobs per second greater than 0, such as 10 or 0.5"
    )]
    CompletionRate(f64),
}

/// Counters shown by `GET /stats`, also available to the embedding program
/// (e.g. to print the backlog when the target stops).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobsStats {
    /// Jobs submitted but not yet completed: the backlog.
    pub queue_depth: usize,
    /// Jobs ever submitted.
    pub submitted: u64,
    /// Jobs ever completed.
    pub completed: u64,
    /// The configured completion rate in jobs per second.
    pub completion_rate: f64,
}

/// Shared state of one job server: the configuration and the store, shared by
/// the HTTP handlers and the worker. Cloning is cheap (an [`Arc`] inside).
#[derive(Debug, Clone)]
pub struct JobsState {
    /// The one shared allocation.
    inner: Arc<Shared>,
}

/// What every clone of a [`JobsState`] points to.
#[derive(Debug)]
struct Shared {
    /// Settings, fixed for the life of the server.
    config: JobsConfig,
    /// The jobs; locked briefly and never across an await.
    store: Mutex<Store>,
}

impl JobsState {
    /// Creates an empty server state. The config is not checked here; call
    /// [`JobsConfig::validate`] first ([`serve`] does).
    pub fn new(config: JobsConfig) -> Self {
        Self {
            inner: Arc::new(Shared {
                config,
                store: Mutex::new(Store::default()),
            }),
        }
    }

    /// The settings this server was created with.
    pub fn config(&self) -> &JobsConfig {
        &self.inner.config
    }

    /// A consistent snapshot of the counters (taken under one lock).
    pub fn stats(&self) -> JobsStats {
        self.with_store(|store| JobsStats {
            queue_depth: store.queue_depth(),
            submitted: store.submitted(),
            completed: store.completed(),
            completion_rate: self.inner.config.completion_rate,
        })
    }

    /// Starts the background worker that completes queued jobs at the
    /// configured rate, until `shutdown` resolves. Separate from [`serve`] so
    /// that tests and embedders can drive the [`router`] themselves.
    pub fn spawn_worker(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(worker::run(self.clone(), shutdown))
    }

    /// Queues a new job and returns its id.
    pub(crate) fn submit(&self, message: String) -> Uuid {
        self.with_store(|store| store.submit(message))
    }

    /// A copy of the job with this id, if any.
    pub(crate) fn job(&self, id: &Uuid) -> Option<Job> {
        self.with_store(|store| store.get(id).cloned())
    }

    /// Runs `f` with the store locked. A poisoned lock is recovered: every
    /// store operation leaves it consistent, so a panic elsewhere must not
    /// take the whole server down.
    fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut guard = self
            .inner
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

/// Serves the job server on `listener` and runs its worker until `shutdown`
/// resolves, then finishes in-flight requests and returns. The caller binds
/// the listener so it can report the actual port (e.g. after binding `:0`)
/// before serving.
///
/// Fails with [`std::io::ErrorKind::InvalidInput`] if the config is invalid,
/// or with the server's I/O error.
pub async fn serve(
    listener: TcpListener,
    config: JobsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    config
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    serve_state(listener, JobsState::new(config), shutdown).await
}

/// Like [`serve`], with a state the caller keeps a handle on (to read
/// [`JobsState::stats`] while or after serving). The state's config must be
/// valid (see [`JobsConfig::validate`]).
pub async fn serve_state(
    listener: TcpListener,
    state: JobsState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // One shutdown future, two listeners: the server and the worker. If the
    // server fails, `stop` is dropped and the worker stops as well.
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let worker = state.spawn_worker(async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    });
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop.send(true);
        })
        .await;
    worker.await.map_err(std::io::Error::other)?;
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rate_is_ten_per_second_and_valid() {
        let config = JobsConfig::default();
        assert_eq!(config.completion_rate, 10.0);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn fractional_and_high_rates_are_valid() {
        for rate in [0.5, 0.001, 5000.0] {
            let config = JobsConfig {
                completion_rate: rate,
            };
            assert_eq!(config.validate(), Ok(()), "{rate}");
        }
    }

    #[test]
    fn non_positive_or_non_finite_rates_are_refused() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let config = JobsConfig {
                completion_rate: rate,
            };
            let err = config.validate().expect_err("should be refused");
            let msg = err.to_string();
            assert!(msg.contains("completion_rate"), "{msg}");
            assert!(msg.contains("greater than 0"), "{msg}");
        }
    }

    #[tokio::test]
    async fn serve_refuses_an_invalid_config() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let config = JobsConfig {
            completion_rate: 0.0,
        };
        let err = serve(listener, config, async {})
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}
