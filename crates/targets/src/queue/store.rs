//! The queue's store: items in one SQL table, in SQLite or PostgreSQL.
//!
//! The SQL is shared by both families (see [`super::sql`]) and so is the
//! Rust: the `with_pool!` macro runs one body against whichever typed pool
//! is open (see [`super::connect`] for why two typed pools), so every
//! operation is written once.
//!
//! Times are passed in (milliseconds since the Unix epoch), so lease expiry
//! is tested without waiting.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use sqlx::Row as _;
use uuid::Uuid;

use super::connect::{connect, Pool};
use super::database::{table_name, Database};
use super::error::{QueueError, StoreError};
use super::outage::OutageSwitch;
use super::sql::{insert_rows, Dialect, Statements, INSERT_CHUNK};
use super::validate::NewItem;

/// Runs `$body` with `$p` bound to the open pool, whichever family it is:
/// the body is compiled once per family with concrete types.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

/// An item as handed out by pop and lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popped {
    /// The item id (never reused).
    pub id: i64,
    /// Its priority.
    pub priority: i32,
    /// Its JSON text, as pushed.
    pub item: String,
}

/// What a lease took: the items and, if there were any, the lease id to ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The lease, or `None` when the queue had nothing available (there is
    /// then nothing to ack).
    pub id: Option<Uuid>,
    /// The leased items, highest priority first, FIFO within one.
    pub items: Vec<Popped>,
}

/// Depth of one queue, as `GET /queues/{id}/stats` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// The queue id.
    pub queue: String,
    /// Items available to pop or lease (not counting leased ones).
    pub depth: u64,
    /// Available items per priority (`"0"`..`"9"`), priorities with none left out.
    pub by_priority: BTreeMap<String, u64>,
    /// Items under an unexpired lease: stored, but invisible to pop.
    pub leased: u64,
}

/// The queue store: a table of items in SQLite or PostgreSQL, plus the
/// outage switch that every operation checks first.
#[derive(Debug)]
pub struct Store {
    /// The database connection(s).
    pool: Pool,
    /// Every statement, for this dialect and table.
    sql: Statements,
    /// The table name, for statements built on the fly.
    table: String,
    /// The simulated outage, if any.
    outage: OutageSwitch,
    /// Items handed out and taken for good since the start (or the last
    /// reset): what a delivery audit compares with what was sent.
    counters: Counters,
}

/// Delivery totals over every queue, since the start or the last reset.
#[derive(Debug, Default)]
struct Counters {
    /// Items handed out by pop or lease (an item leased again after its
    /// lease expired counts again).
    delivered: std::sync::atomic::AtomicU64,
    /// Items taken for good: popped, or acked within their lease.
    consumed: std::sync::atomic::AtomicU64,
}

/// `GET /counters`: delivered and consumed items over every queue since
/// the start (or the last reset). `delivered − consumed − leased` items
/// were handed out more than once (a consumer's lease expired).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliveryCounters {
    /// Items handed out by pop or lease.
    pub delivered: u64,
    /// Items popped or acked.
    pub consumed: u64,
}

impl Store {
    /// Opens (creating if needed) the database and the table `table`. Errors
    /// name the database and what failed.
    pub async fn open(database: &Database, table: &str) -> Result<Store, QueueError> {
        table_name(table).map_err(QueueError::Config)?;
        let pool = connect(database).await?;
        let dialect = match pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        };
        let store = Store {
            pool,
            sql: Statements::new(dialect, table),
            table: table.to_string(),
            outage: OutageSwitch::new(),
            counters: Counters::default(),
        };
        for statement in &store.sql.schema {
            with_pool!(&store.pool, p => sqlx::query(statement).execute(p).await.map(drop))
                .map_err(|e| QueueError::Schema {
                    table: table.to_string(),
                    database: database.to_string(),
                    source: e,
                })?;
        }
        Ok(store)
    }

    /// The outage switch of this store (`POST /admin/outage`).
    pub fn outage(&self) -> &OutageSwitch {
        &self.outage
    }

    /// Fails with [`StoreError::Outage`] during a simulated outage.
    fn up(&self) -> Result<(), StoreError> {
        match self.outage.remaining() {
            Some(left) => Err(StoreError::Outage {
                ms_left: left.as_millis().max(1) as u64,
            }),
            None => Ok(()),
        }
    }

    /// Answers when the database does (`GET /health`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.up()?;
        with_pool!(&self.pool, p => sqlx::query(self.sql.ping).execute(p).await.map(drop))?;
        Ok(())
    }

    /// Appends one item to `queue` and returns its id.
    pub async fn push(&self, queue: &str, item: &NewItem) -> Result<i64, StoreError> {
        self.up()?;
        let row = with_pool!(&self.pool, p => {
            let row = sqlx::query(&self.sql.push)
                .bind(queue)
                .bind(item.priority)
                .bind(item.item.as_str())
                .fetch_one(p)
                .await?;
            row.try_get::<i64, _>(0)?
        });
        Ok(row)
    }

    /// Appends `items` to `queue` in one transaction: all of them or none.
    pub async fn push_batch(&self, queue: &str, items: &[NewItem]) -> Result<u64, StoreError> {
        self.up()?;
        with_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            for chunk in items.chunks(INSERT_CHUNK) {
                let odd;
                let sql = if chunk.len() == INSERT_CHUNK {
                    self.sql.push_chunk.as_str()
                } else {
                    odd = insert_rows(&self.table, chunk.len());
                    odd.as_str()
                };
                let mut query = sqlx::query(sql)
                    .persistent(chunk.len() == INSERT_CHUNK)
                    .bind(queue);
                for item in chunk {
                    query = query.bind(item.priority).bind(item.item.as_str());
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(items.len() as u64)
    }

    /// Removes and returns up to `depth` available items of `queue`,
    /// highest priority (0) first, FIFO within a priority.
    pub async fn pop(
        &self,
        queue: &str,
        depth: i64,
        now_ms: i64,
    ) -> Result<Vec<Popped>, StoreError> {
        self.up()?;
        let rows = with_pool!(&self.pool, p => sqlx::query_as(&self.sql.pop)
            .bind(queue)
            .bind(now_ms)
            .bind(depth)
            .fetch_all(p)
            .await?);
        Ok(self.hand_out(rows, true))
    }

    /// The items of `rows` (id, priority, item) in the order they are
    /// handed out — priority 0 first, FIFO within one — counted as
    /// delivered (and as consumed, for a pop).
    fn hand_out(&self, rows: Vec<(i64, i32, String)>, consumed: bool) -> Vec<Popped> {
        let mut items: Vec<Popped> = rows
            .into_iter()
            .map(|(id, priority, item)| Popped { id, priority, item })
            .collect();
        items.sort_by_key(|i| (i.priority, i.id));
        let n = items.len() as u64;
        self.count(n, if consumed { n } else { 0 });
        items
    }

    /// Adds to the delivery totals.
    fn count(&self, delivered: u64, consumed: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.counters.delivered.fetch_add(delivered, Relaxed);
        self.counters.consumed.fetch_add(consumed, Relaxed);
    }

    /// The delivery totals.
    pub fn counters(&self) -> DeliveryCounters {
        use std::sync::atomic::Ordering::Relaxed;
        DeliveryCounters {
            delivered: self.counters.delivered.load(Relaxed),
            consumed: self.counters.consumed.load(Relaxed),
        }
    }

    /// Leases up to `depth` available items of `queue` until `now_ms + ttl`:
    /// they stay stored but invisible to pop and lease until acked (then
    /// deleted) or expired (then available again, in their old place).
    pub async fn lease(
        &self,
        queue: &str,
        depth: i64,
        now_ms: i64,
        ttl: Duration,
    ) -> Result<Leased, StoreError> {
        self.up()?;
        let id = Uuid::new_v4();
        let expires = now_ms.saturating_add(ttl.as_millis() as i64);
        let rows = with_pool!(&self.pool, p => sqlx::query_as(&self.sql.lease)
            .bind(queue)
            .bind(now_ms)
            .bind(depth)
            .bind(id.to_string())
            .bind(expires)
            .fetch_all(p)
            .await?);
        let items = self.hand_out(rows, false);
        Ok(Leased {
            id: (!items.is_empty()).then_some(id),
            items,
        })
    }

    /// Deletes the items of an unexpired lease; the count is 0 for an
    /// unknown or expired lease.
    pub async fn ack(&self, lease: Uuid, now_ms: i64) -> Result<u64, StoreError> {
        self.up()?;
        let done = with_pool!(&self.pool, p => sqlx::query(&self.sql.ack)
            .bind(lease.to_string())
            .bind(now_ms)
            .execute(p)
            .await?
            .rows_affected());
        self.count(0, done);
        Ok(done)
    }

    /// Clears expired leases, returning how many items came back. Pop and
    /// lease already see such items as available; this keeps the lease
    /// columns (and the partial index on them) small.
    pub async fn sweep(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.up()?;
        let back = with_pool!(&self.pool, p => sqlx::query(&self.sql.sweep)
            .bind(now_ms)
            .execute(p)
            .await?
            .rows_affected());
        Ok(back)
    }

    /// The depth of `queue` per priority and its leased count.
    pub async fn stats(&self, queue: &str, now_ms: i64) -> Result<QueueStats, StoreError> {
        self.up()?;
        let rows: Vec<(i32, i64, i64)> = with_pool!(&self.pool, p => {
            let rows = sqlx::query(&self.sql.stats)
                .bind(queue)
                .bind(now_ms)
                .fetch_all(p)
                .await?;
            rows.iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        let mut stats = QueueStats {
            queue: queue.to_string(),
            depth: 0,
            by_priority: BTreeMap::new(),
            leased: 0,
        };
        for (priority, available, leased) in rows {
            let available = available.max(0) as u64;
            if available > 0 {
                stats.by_priority.insert(priority.to_string(), available);
            }
            stats.depth += available;
            stats.leased += leased.max(0) as u64;
        }
        Ok(stats)
    }

    /// Deletes every item of `queue`, leased or not; returns how many.
    pub async fn delete_queue(&self, queue: &str) -> Result<u64, StoreError> {
        self.up()?;
        let gone = with_pool!(&self.pool, p => sqlx::query(&self.sql.delete_queue)
            .bind(queue)
            .execute(p)
            .await?
            .rows_affected());
        Ok(gone)
    }

    /// Deletes every item of every queue; returns how many.
    pub async fn reset(&self) -> Result<u64, StoreError> {
        self.up()?;
        let gone = with_pool!(&self.pool, p => sqlx::query(&self.sql.delete_all)
            .execute(p)
            .await?
            .rows_affected());
        use std::sync::atomic::Ordering::Relaxed;
        self.counters.delivered.store(0, Relaxed);
        self.counters.consumed.store(0, Relaxed);
        Ok(gone)
    }

    /// Drops the table: for tests that made a table of their own in a
    /// shared PostgreSQL database.
    pub async fn drop_table(&self) -> Result<(), StoreError> {
        let sql = format!("DROP TABLE IF EXISTS {}", self.table);
        with_pool!(&self.pool, p => sqlx::query(&sql).execute(p).await.map(drop))?;
        Ok(())
    }

    /// Closes the connections (after in-flight statements finish), so an
    /// SQLite file is checkpointed and left clean.
    pub async fn close(&self) {
        with_pool!(&self.pool, p => p.close().await)
    }
}
