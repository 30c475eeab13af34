//! Leases (seed 004): a consumer that dies loses nothing.
//!
//! `POST /queues/{id}/lease` hides items from other consumers until the
//! lease is acked (the items are then deleted) or its ttl passes (the items
//! are available again, at their old priority and FIFO place). Expiry needs
//! no timer per lease: pop, lease and stats treat an expired lease's items
//! as available straight away (see [`super::sql`]), and the sweeper here
//! clears expired leases every [`SWEEP_EVERY`] so the lease columns stay
//! small and `leased` in the stats is exact.
//!
//! Lease times are wall-clock milliseconds since the Unix epoch, stored in
//! the database, so leases survive a restart of the target and several
//! targets sharing one PostgreSQL database agree on them.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::store::Store;

/// How often expired leases are cleared.
pub const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// Now, in milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Clears expired leases every [`SWEEP_EVERY`] until the task is aborted.
/// Failures (an outage, a database restart) are skipped silently: the next
/// round tries again, and pop/lease do not depend on the sweeper.
pub async fn sweeper(store: Arc<Store>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let _ = store.sweep(now_ms()).await;
    }
}
