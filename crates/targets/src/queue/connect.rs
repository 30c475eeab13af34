//! Opening the queue's database: the connection settings that make the
//! store safe under load and quick to report an outage.
//!
//! Two typed sqlx pools rather than sqlx's `Any` driver: `Any` would take
//! SQLite's settings only through a URL (WAL mode, the busy timeout and the
//! file name would be round-tripped through URL encoding), while the SQL
//! text is shared anyway (`$N` placeholders work in both).
//!
//! SQLite gets exactly one connection: every statement runs one after the
//! other, so no request can meet `SQLITE_BUSY` from a sibling connection and
//! each pop (one `DELETE … RETURNING`) is atomic. WAL mode and a busy timeout
//! still guard against other processes opening the same file. PostgreSQL
//! gets a pool whose short acquire timeout makes requests fail fast with 503
//! while the server is down; connections are tested before use, so the
//! target recovers by itself when the server is back.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Connection as _;

use super::database::{redact, Database};
use super::error::QueueError;

/// How long a PostgreSQL request waits for a connection: short, so that
/// while the server is down clients get a 503 quickly instead of hanging.
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// PostgreSQL connections: enough for dozens of concurrent users, few
/// enough not to exhaust a default server's 100.
const PG_CONNECTIONS: u32 = 16;
/// How long an SQLite request waits for the single connection. A local file
/// is never "down", so waiting means load, not an outage: be patient.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long SQLite waits on a lock held by another process.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The open database, typed by family.
#[derive(Debug, Clone)]
pub(super) enum Pool {
    /// One connection to an SQLite file or memory database.
    Sqlite(SqlitePool),
    /// A pool of PostgreSQL connections.
    Postgres(PgPool),
}

/// Opens `database`: the SQLite file is created if missing; PostgreSQL is
/// tried once directly so that a wrong URL fails now, with its real reason.
pub(super) async fn connect(database: &Database) -> Result<Pool, QueueError> {
    let pool = match database {
        Database::SqliteFile(_) | Database::SqliteMemory => {
            let options = match database {
                Database::SqliteFile(path) => SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true),
                _ => SqliteConnectOptions::from_str("sqlite::memory:")
                    .map_err(|e| open_error(database, e))?,
            };
            let options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            // One connection kept for the life of the store: a memory
            // database lives only as long as its connection.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
                .idle_timeout(None)
                .max_lifetime(None)
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .map_err(|e| open_error(database, e))?;
            Pool::Sqlite(pool)
        }
        Database::Postgres(url) => {
            let options = PgConnectOptions::from_str(url).map_err(|e| {
                QueueError::Config(format!(
                    "--database '{}': not a PostgreSQL URL: {e}",
                    redact(url)
                ))
            })?;
            // One direct connection first, for a precise error (refused,
            // authentication, no such database) instead of a pool timeout.
            let probe = sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(|e| open_error(database, e))?;
            let _ = probe.close().await;
            let pool = PgPoolOptions::new()
                .max_connections(PG_CONNECTIONS)
                .acquire_timeout(PG_ACQUIRE_TIMEOUT)
                .test_before_acquire(true)
                .connect_lazy_with(options);
            Pool::Postgres(pool)
        }
    };
    Ok(pool)
}

/// The error of a database that could not be opened, naming it.
fn open_error(database: &Database, source: sqlx::Error) -> QueueError {
    match database {
        Database::Postgres(url) => QueueError::ConnectPostgres {
            url: redact(url),
            source,
        },
        other => QueueError::OpenSqlite {
            database: other.to_string(),
            source,
        },
    }
}
