//! What can go wrong in the queue target: at start-up ([`QueueError`],
//! shown to the user and ending the program) and per request
//! ([`StoreError`], answered as 503 or 500 while the target keeps running).

use axum::http::StatusCode;

/// Why the queue target could not start or stopped; every message names
/// what failed so it can be printed as is.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A setting is malformed (`--database`, `--mqtt`, `--ingest`, the table).
    #[error("{0}")]
    Config(String),
    /// The SQLite file could not be opened or created.
    #[error("cannot open the SQLite database {database}: {source}")]
    OpenSqlite {
        /// The database as given (`sqlite:PATH`).
        database: String,
        /// sqlx's error.
        source: sqlx::Error,
    },
    /// PostgreSQL did not accept a connection.
    #[error("cannot connect to PostgreSQL at {url}: {source}")]
    ConnectPostgres {
        /// The URL, password hidden.
        url: String,
        /// sqlx's error.
        source: sqlx::Error,
    },
    /// The table or its indexes could not be created.
    #[error("cannot create the queue table {table} in {database}: {source}")]
    Schema {
        /// The table name.
        table: String,
        /// The database, password hidden.
        database: String,
        /// sqlx's error.
        source: sqlx::Error,
    },
    /// `--reset` could not empty the store.
    #[error("cannot empty the queue store (--reset): {0}")]
    Reset(StoreError),
    /// The HTTP server failed.
    #[error("the queue target's HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// A store operation that failed; the request gets [`StoreError::status`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The outage switch is on (`POST /admin/outage`).
    #[error("store unavailable (simulated outage, {ms_left} ms left)")]
    Outage {
        /// How long the outage still lasts.
        ms_left: u64,
    },
    /// The database does not answer (down, restarting, unreachable, locked
    /// by another process): worth retrying later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The database answered with an error that retrying will not fix.
    #[error("store error: {0}")]
    Failed(String),
}

impl StoreError {
    /// 503 for an unavailable store (the client may retry), 500 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            StoreError::Outage { .. } | StoreError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            StoreError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether waiting may help (MQTT ingestion retries such errors rather
    /// than dropping the message).
    pub fn is_unavailable(&self) -> bool {
        self.status() == StatusCode::SERVICE_UNAVAILABLE
    }
}

impl From<sqlx::Error> for StoreError {
    /// Sorts sqlx's errors into "the database is not there" and the rest.
    fn from(e: sqlx::Error) -> Self {
        let unavailable = match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
            _ => false,
        };
        if unavailable {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Failed(e.to_string())
        }
    }
}

/// Database error codes that mean "not available right now": PostgreSQL's
/// connection exceptions (class 08), shutdowns and "cannot connect now"
/// (57P01–57P03), too many connections (53300); SQLite's BUSY (5) and
/// LOCKED (6), plain or extended (low byte).
fn unavailable_code(code: &str) -> bool {
    if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300") {
        return true;
    }
    code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_and_lost_connections_are_503s() {
        assert_eq!(
            StoreError::Outage { ms_left: 5 }.to_string(),
            "store unavailable (simulated outage, 5 ms left)"
        );
        assert_eq!(
            StoreError::from(sqlx::Error::PoolTimedOut).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(StoreError::from(sqlx::Error::Io(io)).is_unavailable());
        assert_eq!(
            StoreError::from(sqlx::Error::RowNotFound).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn unavailable_codes() {
        for code in ["08006", "57P01", "57P03", "53300", "5", "517", "6", "262"] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["23505", "42P01", "1", "19"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
