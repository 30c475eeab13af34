//! Stop signals: one per user (stop after the current iteration, wake from
//! a wait at once), used for ramp-down and for the end of the run.

use std::cell::Cell;

use tokio::sync::Notify;

/// Asks one user to stop after its current iteration.
#[derive(Debug, Default)]
pub struct StopFlag {
    stop: Cell<bool>,
    notify: Notify,
}

impl StopFlag {
    /// Requests the stop and wakes the user if it is waiting.
    pub fn request(&self) {
        self.stop.set(true);
        self.notify.notify_waiters();
    }

    /// True once a stop was requested.
    pub fn is_set(&self) -> bool {
        self.stop.get()
    }

    /// Completes when a stop is requested. Users run on one thread, so no
    /// request can slip between the check and the registration.
    pub async fn requested(&self) {
        if self.is_set() {
            return;
        }
        self.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[tokio::test(flavor = "current_thread")]
    async fn wakes_a_waiting_user() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let flag = Rc::new(StopFlag::default());
                let waiter = tokio::task::spawn_local({
                    let flag = flag.clone();
                    async move { flag.requested().await }
                });
                tokio::task::yield_now().await;
                assert!(!flag.is_set());
                flag.request();
                waiter.await.expect("woken");
                assert!(flag.is_set());
                flag.requested().await;
            })
            .await;
    }
}
