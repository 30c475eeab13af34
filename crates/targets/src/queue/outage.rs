//! The outage switch: a fault that makes the queue's store unavailable for a
//! while, so suites can rehearse a database outage (seed 002's S7d) against
//! the embedded SQLite store, which has no server to stop.
//!
//! It is armed by `POST /admin/outage?for=5s` (only with `--admin`) and ends
//! by itself: there is nothing to remember to switch back. Time comes from
//! tokio's clock, so tests can pause and advance it.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// When the current simulated outage ends, if one is under way.
#[derive(Debug, Default)]
pub struct OutageSwitch {
    /// The end of the outage; `None` (or a past instant) when the store is up.
    until: Mutex<Option<Instant>>,
}

impl OutageSwitch {
    /// A switch with no outage.
    pub fn new() -> OutageSwitch {
        OutageSwitch::default()
    }

    /// Makes the store unavailable from now for `length`, replacing any
    /// outage under way (a zero length ends it at once).
    pub fn start(&self, length: Duration) {
        *self.lock() = Some(Instant::now() + length);
    }

    /// How long the current outage still lasts, or `None` when the store is
    /// up. Checked by every store operation before it touches the database.
    pub fn remaining(&self) -> Option<Duration> {
        let mut until = self.lock();
        let left = (*until)?.checked_duration_since(Instant::now());
        match left {
            Some(left) if !left.is_zero() => Some(left),
            _ => {
                *until = None;
                None
            }
        }
    }

    /// The lock; a poisoned one is recovered, since an `Option<Instant>` is
    /// always consistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.until.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_outage_ends_by_itself() {
        let switch = OutageSwitch::new();
        assert_eq!(switch.remaining(), None);
        switch.start(Duration::from_secs(5));
        assert_eq!(switch.remaining(), Some(Duration::from_secs(5)));
        tokio::time::advance(Duration::from_millis(4_900)).await;
        assert_eq!(switch.remaining(), Some(Duration::from_millis(100)));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(switch.remaining(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_outage_replaces_the_old_and_zero_ends_it() {
        let switch = OutageSwitch::new();
        switch.start(Duration::from_secs(60));
        switch.start(Duration::from_secs(1));
        assert_eq!(switch.remaining(), Some(Duration::from_secs(1)));
        switch.start(Duration::ZERO);
        assert_eq!(switch.remaining(), None);
    }
}
