//! The SQL gauge: a query returning one number (PostgreSQL's
//! `select count(*) from pg_stat_activity`, or a row count in the queue
//! target's SQLite file), over one connection kept between samples and
//! opened again after any failure, so a database restart is followed.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{Column, Connection, Row, TypeInfo, ValueRef};

use super::spec::SqlGauge;

/// A database URL sqlx understands.
enum Options {
    Postgres(PgConnectOptions),
    Sqlite(SqliteConnectOptions),
}

/// Parses `url` without connecting: `postgres://…`, `postgresql://…` or
/// `sqlite:…` (opened read-only: the gauge only reads).
fn options(url: &str) -> Result<Options, String> {
    let bad = |e: sqlx::Error| format!("invalid database URL '{url}': {e}");
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        PgConnectOptions::from_str(url)
            .map(Options::Postgres)
            .map_err(bad)
    } else if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url)
            .map(|o| Options::Sqlite(o.read_only(true)))
            .map_err(bad)
    } else {
        Err(format!(
            "unsupported database URL '{url}': expected postgres://user@host:port/db or sqlite:path"
        ))
    }
}

/// Checks a gauge's URL before the run (see [`SqlGauge::new`]).
pub(super) fn check_url(url: &str) -> Result<(), String> {
    options(url).map(|_| ())
}

/// `url` with its password (if any) replaced by `***`, for reports.
pub(super) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

/// An open connection.
enum Conn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Reads one [`SqlGauge`], keeping its connection between samples.
pub(super) struct SqlProbe {
    gauge: SqlGauge,
    conn: Option<Conn>,
}

impl SqlProbe {
    /// A probe with no connection yet.
    pub fn new(gauge: SqlGauge) -> SqlProbe {
        SqlProbe { gauge, conn: None }
    }

    /// One reading within `timeout`, or why there is none. After a failure
    /// the connection is dropped and the next sample connects again.
    pub async fn sample(&mut self, timeout: Duration) -> Result<f64, String> {
        let result = match tokio::time::timeout(timeout, self.query()).await {
            Ok(r) => r,
            Err(_) => Err(format!("timeout after {} ms", timeout.as_millis())),
        };
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    /// Connects if needed, then runs the query once.
    async fn query(&mut self) -> Result<f64, String> {
        if self.conn.is_none() {
            let conn = match options(&self.gauge.url)? {
                Options::Postgres(o) => PgConnection::connect_with(&o).await.map(Conn::Postgres),
                Options::Sqlite(o) => SqliteConnection::connect_with(&o).await.map(Conn::Sqlite),
            };
            self.conn = Some(conn.map_err(|e| format!("cannot connect: {e}"))?);
        }
        let query = self.gauge.query.as_str();
        match self.conn.as_mut() {
            Some(Conn::Postgres(c)) => {
                let row = sqlx::query(query)
                    .fetch_optional(c)
                    .await
                    .map_err(|e| e.to_string())?;
                row.as_ref().map_or(Err(NO_ROW.into()), pg_number)
            }
            Some(Conn::Sqlite(c)) => {
                let row = sqlx::query(query)
                    .fetch_optional(c)
                    .await
                    .map_err(|e| e.to_string())?;
                row.as_ref().map_or(Err(NO_ROW.into()), sqlite_number)
            }
            None => Err("not connected".into()),
        }
    }
}

/// Why a query that returned nothing has no reading.
const NO_ROW: &str = "the query returned no row";

/// The first column of `row` as a number, from whichever type it has.
macro_rules! first_number {
    ($row:expr, $($ty:ty),+) => {{
        let row = $row;
        let column = row
            .columns()
            .first()
            .ok_or_else(|| "the query returned no column".to_string())?;
        let type_name = column.type_info().name().to_string();
        let raw = row.try_get_raw(0).map_err(|e| e.to_string())?;
        if raw.is_null() {
            return Err("the query returned NULL".into());
        }
        $(
            if let Ok(v) = row.try_get::<$ty, _>(0) {
                return Ok(v as f64);
            }
        )+
        if let Ok(s) = row.try_get::<String, _>(0) {
            return s
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("the query returned the text '{s}', not a number"));
        }
        Err(format!(
            "the query returned a {type_name}, not a number: cast it (e.g. `::float8` or `::bigint`)"
        ))
    }};
}

/// The number in a PostgreSQL row (`count(*)` is a bigint).
fn pg_number(row: &PgRow) -> Result<f64, String> {
    first_number!(row, i64, i32, i16, f64, f32)
}

/// The number in an SQLite row (integers and reals).
fn sqlite_number(row: &SqliteRow) -> Result<f64, String> {
    first_number!(row, i64, f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_without_connecting() {
        assert!(check_url("postgres://postgres@127.0.0.1:5432/test").is_ok());
        assert!(check_url("postgresql://u:p@db/x?sslmode=disable").is_ok());
        assert!(check_url("sqlite:queue.db").is_ok());
        let e = check_url("mysql://h/db").expect_err("unsupported");
        assert!(
            e.starts_with("unsupported database URL 'mysql://h/db'"),
            "{e}"
        );
        let e = check_url("postgres://h:notaport/db").expect_err("bad port");
        assert!(e.starts_with("invalid database URL"), "{e}");
    }

    #[test]
    fn passwords_are_hidden_in_reports() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:q.db"), "sqlite:q.db");
    }

    #[tokio::test]
    async fn sqlite_gauges_read_a_number_and_say_why_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("q.db");
        let url = format!("sqlite:{}", path.display());
        let create = SqliteConnectOptions::from_str(&url)
            .expect("url")
            .create_if_missing(true);
        let mut c = SqliteConnection::connect_with(&create)
            .await
            .expect("opens");
        sqlx::query("create table items (id integer primary key, v text)")
            .execute(&mut c)
            .await
            .expect("creates");
        sqlx::query("insert into items (v) values ('a'), ('b'), ('c')")
            .execute(&mut c)
            .await
            .expect("inserts");
        let gauge = |q: &str| SqlGauge::new("n", &url, q, None).expect("valid");
        let timeout = Duration::from_millis(900);
        let mut probe = SqlProbe::new(gauge("select count(*) from items"));
        assert_eq!(probe.sample(timeout).await, Ok(3.0));
        assert_eq!(probe.sample(timeout).await, Ok(3.0));
        let mut probe = SqlProbe::new(gauge("select avg(id) * 1.5 from items"));
        assert_eq!(probe.sample(timeout).await, Ok(3.0));
        let mut probe = SqlProbe::new(gauge("select v from items limit 1"));
        let e = probe.sample(timeout).await.expect_err("text");
        assert_eq!(e, "the query returned the text 'a', not a number");
        let mut probe = SqlProbe::new(gauge("select id from items where id > 9"));
        assert_eq!(probe.sample(timeout).await, Err(NO_ROW.into()));
        let mut probe = SqlProbe::new(gauge("select max(id) from items where id > 9"));
        assert_eq!(
            probe.sample(timeout).await,
            Err("the query returned NULL".into())
        );
        let mut probe = SqlProbe::new(gauge("select count(*) from no_such_table"));
        let e = probe.sample(timeout).await.expect_err("no table");
        assert!(e.contains("no_such_table"), "{e}");
    }
}
