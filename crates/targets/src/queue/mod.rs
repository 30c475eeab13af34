//! The priority push/pop queue of seed 002, with the reliable consumption
//! and MQTT ingestion of seed 004.
//!
//! Items are JSON objects with a priority from 0 (served first) to 9, kept
//! in an SQLite file by default or in PostgreSQL (`--database
//! postgres://…`). Pop is atomic: no item is handed out twice, none is lost.
//! A lease hides items until acked or until its ttl passes, so a consumer
//! that dies loses nothing. Every malformed request gets a 400 whose JSON
//! names the field; an unavailable store gets a 503. Two knobs exist for
//! test campaigns: `--admin` routes (a simulated store outage, a reset) and
//! `--delay` (an injected regression, for `cicada compare`).
//!
//! | Method and path                     | Answer                                                      |
//! |-------------------------------------|-------------------------------------------------------------|
//! | `POST /queues/{id}/push`            | body `{"item": {…}, "priority": 0..=9}` → 201 `{"id": n}`   |
//! | `POST /queues/{id}/push_batch`      | body `{"items": [entry, …]}` or `[entry, …]`, 1..=10,000, all or none → 201 `{"pushed": n}` |
//! | `POST /queues/{id}/pop?depth=N`     | N in 1..=100 (default 1) → 200 `{"items": [{"item", "priority", "id"}, …]}`, `[]` if empty |
//! | `POST /queues/{id}/lease?depth=N&ttl=30s` | 200 `{"lease_id": "…" or null when empty, "ttl_ms", "items": [as pop]}` |
//! | `POST /leases/{id}/ack`             | 200 `{"acked": n}`; 404 unknown or expired; 400 malformed   |
//! | `GET /queues/{id}/stats`            | 200 `{"queue", "depth", "by_priority": {"0": n, …}, "leased"}` |
//! | `DELETE /queues/{id}`               | 200 `{"queue", "deleted": n}`                               |
//! | `GET /health`                       | 200 `{"status": "ok", "store"}`; 503 `{"status": "unavailable", "error"}` |
//! | `GET /ingest/stats`                 | 200 `{"enabled", "subscription", "connected", "connects", "received", "ingested", "rejected"}` |
//! | `POST /admin/outage?for=5s`         | `--admin` only: 200 `{"outage_ms": n}`; store-backed routes answer 503 meanwhile |
//! | `POST /admin/reset`                 | `--admin` only: 200 `{"deleted": n}`                        |
//!
//! Errors are JSON: `{"error": "…", "field": "priority"}` for a 400 (the
//! field is the query parameter, body field or path part at fault),
//! `{"error": "store unavailable …"}` for a 503.

mod connect;
mod database;
mod error;
mod ingest;
mod lease;
mod outage;
mod routes;
mod sql;
mod store;
mod validate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use database::{Database, DatabaseError, DEFAULT_SQLITE_FILE, DEFAULT_TABLE};
pub use error::{QueueError, StoreError};
pub use ingest::{IngestConfig, IngestStats, DEFAULT_FILTER};
pub use lease::now_ms;
pub use outage::OutageSwitch;
pub use store::{Leased, Popped, QueueStats, Store};
pub use validate::{
    Invalid, NewItem, DEFAULT_MQTT_PRIORITY, DEFAULT_TTL, MAX_BATCH, MAX_DEPTH, MAX_PRIORITY,
    MAX_TTL,
};

use ingest::IngestCounters;

/// Settings of one queue target, as the command line gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Where items are kept.
    pub database: Database,
    /// The table holding the items (default [`DEFAULT_TABLE`]); tests that
    /// share a PostgreSQL database use one table each.
    pub table: String,
    /// MQTT ingestion, if wanted.
    pub mqtt: Option<IngestConfig>,
    /// Whether the `/admin` routes (outage switch, reset) exist.
    pub admin: bool,
    /// A pause at the start of every push, push_batch, pop and lease: a
    /// regression injected on purpose, for `cicada compare` tests.
    pub delay: Option<Duration>,
    /// Empty the store at start.
    pub reset: bool,
}

impl Default for QueueConfig {
    /// The SQLite file [`DEFAULT_SQLITE_FILE`], no MQTT, no admin routes,
    /// no delay, items kept from earlier runs.
    fn default() -> Self {
        QueueConfig {
            database: Database::default(),
            table: DEFAULT_TABLE.to_string(),
            mqtt: None,
            admin: false,
            delay: None,
            reset: false,
        }
    }
}

/// What the handlers share: the store, the settings, the ingest counters.
/// Cloning is cheap (an [`Arc`] inside).
#[derive(Debug, Clone)]
pub struct QueueState {
    /// The one shared allocation.
    inner: Arc<Shared>,
}

/// What every clone of a [`QueueState`] points to.
#[derive(Debug)]
struct Shared {
    /// Settings, fixed for the life of the target.
    config: QueueConfig,
    /// The items.
    store: Arc<Store>,
    /// MQTT ingestion counters (zero without `--mqtt`).
    ingest: Arc<IngestCounters>,
}

impl QueueState {
    /// The settings this target was opened with.
    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    /// The store, e.g. for tests that check what was written.
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// MQTT ingestion counters, as `GET /ingest/stats` shows them.
    pub fn ingest_stats(&self) -> IngestStats {
        self.inner.ingest.snapshot(self.inner.config.mqtt.as_ref())
    }
}

/// An opened queue target, ready to serve: the store is open and its table
/// exists, so the caller can announce readiness before serving.
#[derive(Debug)]
pub struct QueueService {
    /// Shared with the handlers.
    state: QueueState,
}

impl QueueService {
    /// Opens the store (creating the SQLite file or the PostgreSQL table if
    /// missing) and empties it if `config.reset`.
    pub async fn open(config: QueueConfig) -> Result<QueueService, QueueError> {
        let store = Store::open(&config.database, &config.table).await?;
        if config.reset {
            store.reset().await.map_err(QueueError::Reset)?;
        }
        Ok(QueueService {
            state: QueueState {
                inner: Arc::new(Shared {
                    config,
                    store: Arc::new(store),
                    ingest: Arc::new(IngestCounters::default()),
                }),
            },
        })
    }

    /// The shared state (store, settings, counters).
    pub fn state(&self) -> &QueueState {
        &self.state
    }

    /// The HTTP routes, for tests that drive them without a socket. The
    /// lease sweeper and MQTT ingestion run only under [`QueueService::serve`]
    /// (pop and lease see expired leases without the sweeper).
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// One line saying how the target runs, for its start-up message:
    /// `store sqlite:cicada-queue.db, mqtt ingest off`.
    pub fn describe(&self) -> String {
        let config = self.state.config();
        let mut text = format!("store {}", config.database);
        match &config.mqtt {
            Some(m) => text.push_str(&format!(
                ", ingesting mqtt://{}:{} {}",
                m.host,
                m.port,
                m.subscription()
            )),
            None => text.push_str(", mqtt ingest off"),
        }
        if config.admin {
            text.push_str(", admin routes on");
        }
        if let Some(d) = config.delay {
            text.push_str(&format!(", delay {} ms", d.as_millis()));
        }
        text
    }

    /// Serves on `listener` with the lease sweeper and (if configured) MQTT
    /// ingestion, until `shutdown` resolves; then finishes in-flight
    /// requests, stops the background tasks and closes the store.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), QueueError> {
        let state = self.state.clone();
        let store = state.store().clone();
        let mut tasks = vec![tokio::spawn(lease::sweeper(store.clone()))];
        if let Some(mqtt) = &state.config().mqtt {
            tasks.extend(ingest::spawn(
                mqtt.clone(),
                store.clone(),
                state.inner.ingest.clone(),
            ));
        }
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
        store.close().await;
        served.map_err(QueueError::Serve)
    }
}

/// Opens the store for `config` and serves on `listener` until `shutdown`
/// resolves (see [`QueueService::open`] and [`QueueService::serve`]). The
/// caller binds the listener, so it can report the port of `:0`.
pub async fn serve(
    listener: TcpListener,
    config: QueueConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), QueueError> {
    QueueService::open(config)
        .await?
        .serve(listener, shutdown)
        .await
}
