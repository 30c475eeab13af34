//! `cicada target`: the bundled systems under test, as standalone servers.

use std::time::Duration;

use anyhow::Context as _;
use cicada_core::units::parse_duration;
use cicada_targets::addr::parse_listen_addr;
use cicada_targets::jobs::{self, JobsConfig};
use cicada_targets::queue::{self, Database, IngestConfig, QueueConfig, QueueService};
use clap::{Args, Subcommand};

use super::{bad_input, could_not_run, Exit, Failure};

/// Arguments of `cicada target`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Which target.
    #[command(subcommand)]
    pub which: Which,
}

/// The bundled targets.
#[derive(Debug, Subcommand)]
pub enum Which {
    /// Seed 001's job service: POST /jobs, GET /jobs/{id}, a FIFO worker.
    #[command(after_help = "\
Endpoints:
  POST /jobs?message=…   201 {\"id\": …, \"status\": \"new\"}
  GET  /jobs/{id}        200 {\"id\", \"status\": \"new\"|\"done\", \"message\"}; 404 if unknown
  GET  /stats            queue_depth, submitted, completed, completion_rate
  GET  /health           {\"status\": \"ok\"}

Examples:
  cicada target jobs                         # 127.0.0.1:8080, 10 completions/s
  cicada target jobs --addr :0               # a free port, printed on the first line
  cicada target jobs --completion-rate 100")]
    Jobs {
        /// Listen address: HOST:PORT, or :PORT for loopback (:0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Jobs the background worker completes per second.
        #[arg(long, default_value_t = 10.0)]
        completion_rate: f64,
    },
    /// Seed 002's priority push/pop queue on SQLite or PostgreSQL, with
    /// leases and MQTT ingestion (seed 004).
    #[command(after_help = "\
Endpoints (errors are JSON: 400 {\"error\", \"field\"}, 503 {\"error\"} while the store is down):
  POST   /queues/{id}/push              {\"item\": {…}, \"priority\": 0..9} → 201 {\"id\": n}
  POST   /queues/{id}/push_batch        {\"items\": [{\"item\", \"priority\"}, …]} or a bare list,
                                        up to 10,000, all or none → 201 {\"pushed\": n}
  POST   /queues/{id}/pop?depth=N       N in 1..100 (default 1), priority 0 first, FIFO within one
                                        → 200 {\"items\": [{\"item\", \"priority\", \"id\"}, …]}
  POST   /queues/{id}/lease?depth=N&ttl=30s
                                        → 200 {\"lease_id\" (null if empty), \"ttl_ms\", \"items\"};
                                        hidden until acked, back in the queue after the ttl
  POST   /leases/{id}/ack               → 200 {\"acked\": n}; 404 if unknown or expired
  GET    /queues/{id}/stats             → {\"queue\", \"depth\", \"by_priority\": {\"0\": n, …}, \"leased\"}
  DELETE /queues/{id}                   → {\"queue\", \"deleted\": n}
  GET    /health                        → 200 {\"status\": \"ok\"}, 503 when the store does not answer
  GET    /ingest/stats                  → MQTT ingestion: connected, connects, received, ingested, rejected
  POST   /admin/outage?for=5s           (--admin) the store is unavailable for that long
  POST   /admin/reset                   (--admin) empties every queue

MQTT messages: the push body, or a bare JSON object taken as the item (its own
\"priority\" field if any, else 5). Each is acknowledged after it is stored.

Examples:
  cicada target queue                                   # 127.0.0.1:8081, ./cicada-queue.db
  cicada target queue --addr :0 --database sqlite::memory:
  cicada target queue --database postgres://postgres@127.0.0.1:5432/test
  cicada target queue --mqtt mqtt://127.0.0.1:1883      # ingest queues/+/push
  cicada target queue --admin --reset --delay 20ms      # for suites and compare")]
    Queue {
        /// Listen address: HOST:PORT, or :PORT for loopback (:0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8081")]
        addr: String,
        /// Where items are kept: an SQLite file (PATH, sqlite:PATH,
        /// sqlite://PATH), sqlite::memory:, or postgres://USER@HOST:PORT/DB.
        #[arg(long, default_value = queue::DEFAULT_SQLITE_FILE)]
        database: String,
        /// Ingest messages from this MQTT broker: mqtt://HOST:PORT.
        #[arg(long, value_name = "URL")]
        mqtt: Option<String>,
        /// Topic filter to ingest; its one '+' level names the queue.
        #[arg(long, value_name = "FILTER", requires = "mqtt")]
        ingest: Option<String>,
        /// Shared-subscription group ($share/NAME/FILTER), so several
        /// targets split the stream.
        #[arg(long, value_name = "NAME", requires = "mqtt")]
        ingest_group: Option<String>,
        /// A fixed MQTT client id: the broker keeps a persistent session, so
        /// jobs published while the target is down are not lost.
        #[arg(long, value_name = "ID", requires = "mqtt")]
        ingest_client_id: Option<String>,
        /// Enable the /admin routes (simulated store outage, reset).
        #[arg(long)]
        admin: bool,
        /// Sleep this long in every push, push_batch, pop and lease: an
        /// injected regression (e.g. 20ms) for `cicada compare`.
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        delay: Option<Duration>,
        /// Empty the store at start.
        #[arg(long)]
        reset: bool,
        /// Table holding the items.
        #[arg(long, default_value = queue::DEFAULT_TABLE, hide = true)]
        table: String,
    },
}

/// Runs a target until Ctrl-C.
pub fn run(args: TargetArgs) -> Result<Exit, Failure> {
    match args.which {
        Which::Queue {
            addr,
            database,
            mqtt,
            ingest,
            ingest_group,
            ingest_client_id,
            admin,
            delay,
            reset,
            table,
        } => {
            let addr = parse_listen_addr(&addr).map_err(bad_input)?;
            let database: Database = database.parse().map_err(bad_input)?;
            let mqtt = mqtt
                .map(|url| IngestConfig::new(&url, ingest.as_deref(), ingest_group.as_deref()))
                .transpose()
                .map_err(bad_input)?
                .map(|c| IngestConfig {
                    client_id: ingest_client_id,
                    ..c
                });
            let config = QueueConfig {
                database,
                table,
                mqtt,
                admin,
                delay: delay.filter(|d| !d.is_zero()),
                reset,
            };
            run_queue(addr, config)
        }
        Which::Jobs {
            addr,
            completion_rate,
        } => {
            let addr = parse_listen_addr(&addr).map_err(bad_input)?;
            let config = JobsConfig { completion_rate };
            config.validate().map_err(bad_input)?;
            on_runtime(async move {
                let (listener, local) = listen(addr).await?;
                println!(
                    "jobs target listening on http://{local} (completion rate {completion_rate}/s)"
                );
                jobs::serve(listener, config, ctrl_c())
                    .await
                    .map_err(could_not_run)?;
                Ok(Exit::Ok)
            })
        }
    }
}

/// Opens the queue's store, then listens and serves until Ctrl-C. The store
/// opens first so that the "listening" line means ready.
fn run_queue(addr: std::net::SocketAddr, config: QueueConfig) -> Result<Exit, Failure> {
    on_runtime(async move {
        let service = QueueService::open(config).await.map_err(could_not_run)?;
        let (listener, local) = listen(addr).await?;
        println!(
            "queue target listening on http://{local} ({})",
            service.describe()
        );
        service
            .serve(listener, ctrl_c())
            .await
            .map_err(could_not_run)?;
        Ok(Exit::Ok)
    })
}

/// Runs a target's `serve` on a multi-threaded runtime.
fn on_runtime(
    serve: impl std::future::Future<Output = Result<Exit, Failure>>,
) -> Result<Exit, Failure> {
    tokio::runtime::Runtime::new()
        .context("starting the runtime")
        .map_err(could_not_run)?
        .block_on(serve)
}

/// Binds `addr`; a taken port is an error naming it.
async fn listen(
    addr: std::net::SocketAddr,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), Failure> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
        .map_err(could_not_run)?;
    let local = listener.local_addr().map_err(could_not_run)?;
    Ok((listener, local))
}

/// Resolves on Ctrl-C: a target serves until then.
async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}
