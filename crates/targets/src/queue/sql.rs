//! The SQL of the queue store, written once for SQLite and PostgreSQL.
//!
//! Both dialects take the same statements: sqlx's SQLite driver reads `$N`
//! placeholders as PostgreSQL does, and `DELETE/UPDATE … RETURNING` exists
//! in both (SQLite ≥ 3.35, bundled). The only differences are the table's
//! key column and row locking: PostgreSQL pops with `FOR UPDATE SKIP LOCKED`
//! so concurrent poppers on many connections never take the same row, while
//! SQLite needs no lock clause because all its statements run one at a time
//! on a single connection (see the store).
//!
//! One table holds every queue. A row is an item: its queue, priority, the
//! JSON text as pushed, and, while leased, the lease id and its expiry in
//! milliseconds since the Unix epoch. `seq` orders items FIFO within a
//! priority and is the item id clients see; it is never reused (SQLite
//! `AUTOINCREMENT`, a PostgreSQL identity), so ids stay unique for audits.
//!
//! An item is *available* when it is not leased or its lease has expired:
//! pop, lease and stats use that condition directly, so an expired lease's
//! items come back at once, in their old FIFO place, whether or not the
//! sweeper has cleared the lease columns yet.

/// The database family, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, through a single connection.
    Sqlite,
    /// PostgreSQL, through a pool.
    Postgres,
}

/// The condition for an available item, with the current time as `$2`.
const AVAILABLE: &str = "(lease_id IS NULL OR lease_expires <= $2)";

/// Rows per multi-row `INSERT` of a batch: 3,000 parameters, well under
/// SQLite's 32,766 and PostgreSQL's 65,535.
pub const INSERT_CHUNK: usize = 1000;

/// Every statement of the store, with the table name spliced in once.
#[derive(Debug, Clone)]
pub struct Statements {
    /// Creates the table and its indexes, one statement each.
    pub schema: Vec<String>,
    /// `$1` queue, `$2` priority, `$3` item → `seq`.
    pub push: String,
    /// A multi-row insert of [`INSERT_CHUNK`] rows (`$1` queue, then
    /// priority and item per row).
    pub push_chunk: String,
    /// `$1` queue, `$2` now, `$3` limit → deleted `seq, priority, item`.
    pub pop: String,
    /// `$1` queue, `$2` now, `$3` limit, `$4` lease id, `$5` expiry →
    /// leased `seq, priority, item`.
    pub lease: String,
    /// `$1` lease id, `$2` now: deletes the lease's unexpired items.
    pub ack: String,
    /// `$1` now: clears the lease columns of expired leases.
    pub sweep: String,
    /// `$1` queue, `$2` now → `priority, available, leased`.
    pub stats: String,
    /// `$1` queue: deletes its items.
    pub delete_queue: String,
    /// Deletes every item.
    pub delete_all: String,
    /// Answers when the database does.
    pub ping: &'static str,
}

impl Statements {
    /// The statements for `table` (already checked to be a plain identifier)
    /// in `dialect`.
    pub fn new(dialect: Dialect, table: &str) -> Statements {
        let (key, lock) = match dialect {
            Dialect::Sqlite => ("seq INTEGER PRIMARY KEY AUTOINCREMENT", ""),
            Dialect::Postgres => (
                "seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                " FOR UPDATE SKIP LOCKED",
            ),
        };
        let next = format!(
            "SELECT seq FROM {table} WHERE queue = $1 AND {AVAILABLE} \
             ORDER BY priority, seq LIMIT $3{lock}"
        );
        Statements {
            schema: vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {table} ({key}, queue TEXT NOT NULL, \
                     priority INTEGER NOT NULL, item TEXT NOT NULL, lease_id TEXT, \
                     lease_expires BIGINT)"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {table}_order ON {table} (queue, priority, seq)"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {table}_lease ON {table} (lease_id) \
                     WHERE lease_id IS NOT NULL"
                ),
                format!(
                    "CREATE INDEX IF NOT EXISTS {table}_expiry ON {table} (lease_expires) \
                     WHERE lease_id IS NOT NULL"
                ),
            ],
            push: format!(
                "INSERT INTO {table} (queue, priority, item) VALUES ($1, $2, $3) RETURNING seq"
            ),
            push_chunk: insert_rows(table, INSERT_CHUNK),
            pop: format!("DELETE FROM {table} WHERE seq IN ({next}) RETURNING seq, priority, item"),
            lease: format!(
                "UPDATE {table} SET lease_id = $4, lease_expires = $5 WHERE seq IN ({next}) \
                 RETURNING seq, priority, item"
            ),
            ack: format!("DELETE FROM {table} WHERE lease_id = $1 AND lease_expires > $2"),
            sweep: format!(
                "UPDATE {table} SET lease_id = NULL, lease_expires = NULL \
                 WHERE lease_id IS NOT NULL AND lease_expires <= $1"
            ),
            stats: format!(
                "SELECT priority, \
                 SUM(CASE WHEN {AVAILABLE} THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN {AVAILABLE} THEN 0 ELSE 1 END) \
                 FROM {table} WHERE queue = $1 GROUP BY priority"
            ),
            delete_queue: format!("DELETE FROM {table} WHERE queue = $1"),
            delete_all: format!("DELETE FROM {table}"),
            ping: "SELECT 1",
        }
    }
}

/// A multi-row insert of `rows` items into one queue: `$1` is the queue,
/// then `$2k` and `$2k+1` the priority and item of row k (k from 1).
pub fn insert_rows(table: &str, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} (queue, priority, item) VALUES ");
    for k in 1..=rows {
        if k > 1 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("($1, ${}, ${})", 2 * k, 2 * k + 1));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_postgres_locks_rows() {
        let sqlite = Statements::new(Dialect::Sqlite, "t");
        let pg = Statements::new(Dialect::Postgres, "t");
        assert!(!sqlite.pop.contains("SKIP LOCKED"));
        assert!(pg.pop.contains("FOR UPDATE SKIP LOCKED"));
        assert!(pg.lease.contains("FOR UPDATE SKIP LOCKED"));
        assert_eq!(sqlite.ack, pg.ack);
        assert_eq!(sqlite.stats, pg.stats);
    }

    #[test]
    fn insert_rows_numbers_its_parameters() {
        assert_eq!(
            insert_rows("t", 2),
            "INSERT INTO t (queue, priority, item) VALUES ($1, $2, $3), ($1, $4, $5)"
        );
    }
}
